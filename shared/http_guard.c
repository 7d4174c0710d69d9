/* Guard of the HTTP server's connections.
 *
 * libmicrohttpd's connection timeout counts silence only: a client that
 * trickles a header line every few seconds keeps its connection for ever,
 * and enough of them take every slot. So every connection has a record
 * here, kept in libmicrohttpd's socket context, with the time its current
 * request started (the connection's opening, then each previous answer); a
 * watchdog thread shuts down the socket of any request still incomplete
 * past the deadline, and libmicrohttpd closes the connection when its read
 * fails. The records live under one mutex that libmicrohttpd's closing
 * notice also takes, and that notice comes before it closes the descriptor:
 * the watchdog never shuts down a descriptor that was reused. */
#include "mdv/http_guard.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "mdv/log.h"

#define WATCH_INTERVAL_MS 500
/* The log budget: lines a window, then one line counting what was left out. */
#define LOG_WINDOW_S 10.0
#define LOG_LINES_PER_WINDOW 20

struct conn_record {
    struct conn_record *prev, *next;
    int fd;
    double since;  /* the current request's start (monotonic seconds) */
    int receiving; /* 1 until the whole request arrived */
    int cut;       /* already shut down by the watchdog */
};

struct mdv_http_guard {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int stopping;
    int running;
    double deadline;
    struct conn_record *records;
    unsigned count;
};

/* ---- rate-limited log ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static double log_window_start;
static unsigned log_lines, log_left_out;

/* Under log_lock: starts a new window when the current one is over,
 * first telling how many lines the old one left out. */
static void log_window_roll(double now)
{
    if (now - log_window_start < LOG_WINDOW_S)
        return;
    if (log_left_out)
        mdv_warn("HTTP: %u more messages in the last %.0f s were not logged", log_left_out,
                 LOG_WINDOW_S);
    log_window_start = now;
    log_lines = 0;
    log_left_out = 0;
}

static void log_budgeted(const char *prefix, const char *fmt, va_list ap)
{
    char message[1024];
    vsnprintf(message, sizeof(message), fmt, ap);
    size_t len = strlen(message);
    while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == '\r'))
        message[--len] = '\0';

    pthread_mutex_lock(&log_lock);
    log_window_roll(mdv_monotonic_seconds());
    if (log_lines < LOG_LINES_PER_WINDOW) {
        log_lines++;
        mdv_warn("%s%s", prefix, message);
    } else {
        log_left_out++;
    }
    pthread_mutex_unlock(&log_lock);
}

void mdv_http_guard_log_library(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    log_budgeted("libmicrohttpd: ", fmt, ap);
}

void mdv_http_guard_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_budgeted("HTTP: ", fmt, ap);
    va_end(ap);
}

/* So that a burst's count is logged even when nothing follows it. */
static void log_flush(void)
{
    pthread_mutex_lock(&log_lock);
    log_window_roll(mdv_monotonic_seconds());
    pthread_mutex_unlock(&log_lock);
}

/* ---- descriptor limit ---- */

unsigned long mdv_http_guard_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t soft = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            mdv_warn("cannot raise the open files limit from %lu to %lu", (unsigned long)soft,
                     (unsigned long)rl.rlim_max);
            rl.rlim_cur = soft;
        }
    }
    return (unsigned long)rl.rlim_cur;
}

/* ---- the watchdog ---- */

/* Under guard->lock. Returns how many requests were cut. */
static unsigned cut_late_requests(struct mdv_http_guard *guard, double now)
{
    unsigned cut = 0;
    for (struct conn_record *r = guard->records; r; r = r->next) {
        if (!r->receiving || r->cut || now - r->since <= guard->deadline || r->fd < 0)
            continue;
        /* shutdown, not close: the descriptor stays libmicrohttpd's to close. */
        shutdown(r->fd, SHUT_RDWR);
        r->cut = 1;
        cut++;
    }
    return cut;
}

static void *watch(void *arg)
{
    struct mdv_http_guard *guard = arg;
    pthread_mutex_lock(&guard->lock);
    while (!guard->stopping) {
        unsigned cut = cut_late_requests(guard, mdv_monotonic_seconds());
        /* Logged unlocked: the server's threads wait on this lock. */
        pthread_mutex_unlock(&guard->lock);
        if (cut)
            mdv_http_guard_log("%u connection(s) closed: request not complete within %.0f s", cut,
                               guard->deadline);
        log_flush();
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WATCH_INTERVAL_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&guard->lock);
        if (!guard->stopping)
            pthread_cond_timedwait(&guard->wake, &guard->lock, &until);
    }
    pthread_mutex_unlock(&guard->lock);
    return NULL;
}

struct mdv_http_guard *mdv_http_guard_new(unsigned request_deadline_s)
{
    struct mdv_http_guard *guard = mdv_xcalloc(1, sizeof(*guard));
    pthread_condattr_t attr;

    guard->deadline = request_deadline_s;
    pthread_mutex_init(&guard->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&guard->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&guard->thread, NULL, watch, guard) != 0) {
        mdv_error("cannot start the HTTP watchdog thread");
        mdv_http_guard_destroy(guard);
        return NULL;
    }
    guard->running = 1;
    return guard;
}

void mdv_http_guard_stop(struct mdv_http_guard *guard)
{
    if (!guard || !guard->running)
        return;
    pthread_mutex_lock(&guard->lock);
    guard->stopping = 1;
    pthread_cond_signal(&guard->wake);
    pthread_mutex_unlock(&guard->lock);
    pthread_join(guard->thread, NULL);
    guard->running = 0;
}

void mdv_http_guard_destroy(struct mdv_http_guard *guard)
{
    if (!guard)
        return;
    mdv_http_guard_stop(guard);
    pthread_cond_destroy(&guard->wake);
    pthread_mutex_destroy(&guard->lock);
    free(guard);
}

/* ---- connection records ---- */

void mdv_http_guard_opened(struct mdv_http_guard *guard, struct MHD_Connection *connection,
                           void **socket_context)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct conn_record *r = mdv_xcalloc(1, sizeof(*r));

    r->fd = info ? info->connect_fd : -1;
    r->since = mdv_monotonic_seconds();
    r->receiving = 1;
    pthread_mutex_lock(&guard->lock);
    r->next = guard->records;
    if (r->next)
        r->next->prev = r;
    guard->records = r;
    guard->count++;
    pthread_mutex_unlock(&guard->lock);
    *socket_context = r;
}

void mdv_http_guard_closed(struct mdv_http_guard *guard, void **socket_context)
{
    struct conn_record *r = *socket_context;
    if (!r)
        return;
    pthread_mutex_lock(&guard->lock);
    if (r->prev)
        r->prev->next = r->next;
    else
        guard->records = r->next;
    if (r->next)
        r->next->prev = r->prev;
    guard->count--;
    pthread_mutex_unlock(&guard->lock);
    free(r);
    *socket_context = NULL;
}

unsigned mdv_http_guard_connections(struct mdv_http_guard *guard)
{
    pthread_mutex_lock(&guard->lock);
    unsigned count = guard->count;
    pthread_mutex_unlock(&guard->lock);
    return count;
}

static void set_receiving(struct mdv_http_guard *guard, struct MHD_Connection *connection,
                          int receiving)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_record *r = info ? info->socket_context : NULL;
    if (!r)
        return;
    pthread_mutex_lock(&guard->lock);
    r->receiving = receiving;
    r->since = mdv_monotonic_seconds();
    pthread_mutex_unlock(&guard->lock);
}

void mdv_http_guard_arrived(struct mdv_http_guard *guard, struct MHD_Connection *connection)
{
    set_receiving(guard, connection, 0);
}

void mdv_http_guard_answered(struct mdv_http_guard *guard, struct MHD_Connection *connection)
{
    set_receiving(guard, connection, 1);
}
