/* The HTTP server's guard over its connections (used by http.c only): the
 * deadline of each request, enforced by a watchdog thread; the descriptor
 * limit; and the rate-limited log of what clients make the server say,
 * libmicrohttpd's own messages included. */
#ifndef MDV_HTTP_GUARD_H
#define MDV_HTTP_GUARD_H

#include <stdarg.h>

#include "mdv/util.h"

struct MHD_Connection;
struct mdv_http_guard;

/* Starts the watchdog; NULL when the thread cannot start. */
struct mdv_http_guard *mdv_http_guard_new(unsigned request_deadline_s) MDV_MUSTCHECK;
/* Stops the watchdog; call it before the daemon stops. Accepts NULL. */
void mdv_http_guard_stop(struct mdv_http_guard *guard);
/* Frees the guard once the daemon (which reports closings) has stopped. */
void mdv_http_guard_destroy(struct mdv_http_guard *guard);

/* A connection opened / closed: *socket_context receives (gives back) the
 * guard's record of it. */
void mdv_http_guard_opened(struct mdv_http_guard *guard, struct MHD_Connection *connection,
                           void **socket_context);
void mdv_http_guard_closed(struct mdv_http_guard *guard, void **socket_context);
/* The whole request arrived: its deadline no longer runs. */
void mdv_http_guard_arrived(struct mdv_http_guard *guard, struct MHD_Connection *connection);
/* The answer went out: the next request's deadline starts now. */
void mdv_http_guard_answered(struct mdv_http_guard *guard, struct MHD_Connection *connection);

/* Connections open now. */
unsigned mdv_http_guard_connections(struct mdv_http_guard *guard);

/* Raises the soft descriptor limit to the hard one; returns the limit in
 * force afterwards. */
unsigned long mdv_http_guard_raise_fd_limit(void);

/* libmicrohttpd's logger (MHD_OPTION_EXTERNAL_LOGGER): JSON lines, at most
 * a few a second, then one line telling how many were left out. */
void mdv_http_guard_log_library(void *cls, const char *fmt, va_list ap);
/* The same budget for the server's own messages about clients. */
void mdv_http_guard_log(const char *fmt, ...) MDV_PRINTF(1, 2);

#endif
