/* HTTP layer on libmicrohttpd: a route table, request bodies with a hard
 * cap, JSON and RFC 9457 problem responses, the endpoints every service
 * serves (/healthz, /readyz, /metrics), and the limits that keep one client
 * from taking the server from the others. */
#ifndef MDV_HTTP_H
#define MDV_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mdv/util.h"

#define MDV_HTTP_BODY_LIMIT (64 * 1024)
#define MDV_HTTP_HEADERS_MAX 12

struct MHD_Connection;

struct mdv_http_request {
    const char *method;
    const char *path;
    const char *param; /* the "{}" segment of the route, or NULL */
    const char *body;  /* NUL-terminated; NULL when there was none */
    size_t body_len;
    struct MHD_Connection *connection;
};

struct mdv_http_stream;
/* An entity tag's opaque part (between the quotes), NUL included. */
#define MDV_HTTP_ETAG_LEN 72

struct mdv_http_response {
    int status;
    json_t *json; /* owned: freed after sending */
    const char *content_type;
    char *text; /* owned: a body already serialised (metrics, JSON from SQL) */
    char location[256];
    struct {
        const char *name; /* a string that outlives the answer */
        char *value;      /* owned */
    } headers[MDV_HTTP_HEADERS_MAX];
    unsigned header_count;
    int file_open;                  /* 1: file_fd is sent as the body, and closed */
    int file_fd;                    /* owned when file_open */
    uint64_t file_size;             /* bytes of file_fd to send */
    struct mdv_http_stream *stream; /* a body written as it comes (mdv_http_stream_start) */
};

typedef void (*mdv_http_handler)(const struct mdv_http_request *req, struct mdv_http_response *res,
                                 void *ctx);

/* A route: pattern is a path where "{}" matches one segment, and a final
 * "{*}" the rest of the path (one or more segments). */
struct mdv_http_route {
    const char *method;
    const char *pattern;
    const char *name; /* for metrics, e.g. "GET /v1/journeys/{id}" */
    mdv_http_handler handler;
};

/* Returns 1 when the service can take work (database and broker reachable). */
typedef int (*mdv_http_ready_fn)(void *ctx, json_t *checks);

struct mdv_http_server;

/* What one client may hold of the server (README, "HTTP limits"). */
struct mdv_http_limits {
    unsigned connections;        /* at once, capped by the descriptor limit */
    unsigned per_address;        /* at once from one client address */
    unsigned keepalive_max;      /* past this many open, answers close their
                                    connection: an idle one keeps its whole
                                    buffer (connection_memory) */
    unsigned request_deadline_s; /* a request's line, headers and body must have
                                    arrived within this, counted from the
                                    connection's opening or its previous answer */
    unsigned idle_timeout_s;     /* a connection silent this long is closed */
    size_t target_max;           /* path and query; longer: 414 */
    size_t head_max;             /* request line and headers; larger: 431 */
    size_t connection_memory;    /* libmicrohttpd's buffer for one connection;
                                    a head past it gets libmicrohttpd's own answer */
};

extern const struct mdv_http_limits mdv_http_default_limits;

/* Listens on addr ("host:port") with a pool of threads, under the default
 * limits. routes ends with a {NULL} entry; every handler gets ctx, ready
 * (may be NULL) gets ready_ctx. routes and both contexts must outlive the
 * server. Returns NULL on error. */
struct mdv_http_server *mdv_http_start(const char *addr, const struct mdv_http_route *routes,
                                       void *ctx, mdv_http_ready_fn ready,
                                       void *ready_ctx) MDV_MUSTCHECK;
/* The same under limits (copied). */
struct mdv_http_server *mdv_http_start_limited(const char *addr,
                                               const struct mdv_http_route *routes, void *ctx,
                                               mdv_http_ready_fn ready, void *ready_ctx,
                                               const struct mdv_http_limits *limits) MDV_MUSTCHECK;
void mdv_http_stop(struct mdv_http_server *server);

/* A request header, or NULL. */
const char *mdv_http_header(const struct mdv_http_request *req, const char *name);
/* A query-string argument, or NULL. */
const char *mdv_http_query(const struct mdv_http_request *req, const char *name);

/* A cookie sent by the client, or NULL. */
const char *mdv_http_cookie(const struct mdv_http_request *req, const char *name);

/* Decodes a form-encoded (application/x-www-form-urlencoded) value in
 * place: '+' is a space, then percent-escapes. */
void mdv_http_unescape_form(char *value);

/* A redirect (302, 303) to url, of any length, with an empty body. */
void mdv_http_redirect(struct mdv_http_response *res, int status, const char *url);

/* Sets a JSON answer; takes ownership of body. */
void mdv_http_json(struct mdv_http_response *res, int status, json_t *body);
/* Sets an RFC 9457 problem. title is for the usager (French); errors is a
 * list of {field, message} or NULL, and is taken. */
void mdv_http_problem(struct mdv_http_response *res, int status, const char *slug,
                      const char *title, const char *detail, json_t *errors);

/* Seconds a 503 of mdv_http_unavailable asks the client to wait
 * (Retry-After): the default statement timeout and pool wait
 * (MDV_PG_STATEMENT_TIMEOUT_MS, MDV_PG_POOL_WAIT_MS), about as long as
 * what made the request fail (a lock held, a stuck or busy server) is
 * worth waiting out before a new try. */
#define MDV_HTTP_RETRY_AFTER_S 5

/* The answer of every service whose database cannot serve the request
 * now (unreachable, a statement past the pool's statement timeout, no
 * pooled connection free in time): 503, problem type
 * urn:mdv:problem:unavailable, with Retry-After. Replaces the body, keeps
 * the headers already added. */
void mdv_http_unavailable(struct mdv_http_response *res);
/* Adds Retry-After: MDV_HTTP_RETRY_AFTER_S unless the answer has one; for
 * a 503 of that kind whose body is no problem (an HTML page). */
void mdv_http_retry_later(struct mdv_http_response *res);

/* Sets a JSON answer already serialised (by PostgreSQL, say); takes
 * ownership of text. */
void mdv_http_json_text(struct mdv_http_response *res, int status, char *text);

/* What an If-None-Match header (RFC 9110 §13.1.2) asks for: "*" (any) or
 * up to MDV_HTTP_INM_MAX entity tags, weak or strong (compared weakly, as
 * the RFC says for this header). A tag too long to be one we made is left
 * out; so is one that is not a quoted tag. */
#define MDV_HTTP_INM_MAX 8
struct mdv_http_inm {
    int any;
    int count;
    char tags[MDV_HTTP_INM_MAX][MDV_HTTP_ETAG_LEN];
};
/* Parses header (NULL: no header, nothing asked) into inm. */
void mdv_http_inm_parse(const char *header, struct mdv_http_inm *inm);
/* 1 when a representation tagged etag (its opaque part) matches. */
int mdv_http_inm_matches(const struct mdv_http_inm *inm, const char *etag);

/* Appends {field, message} to a validation error list. */
void mdv_http_field_error(json_t *errors, const char *field, const char *message);

/* Adds a header to the answer (value copied); past MDV_HTTP_HEADERS_MAX
 * the header is dropped and logged, a programming error. */
void mdv_http_add_header(struct mdv_http_response *res, const char *name, const char *value);
/* Sends size bytes of the open file fd as the body; takes ownership of fd
 * (closed once sent, or when the answer is dropped). */
void mdv_http_file(struct mdv_http_response *res, int status, int fd, uint64_t size,
                   const char *content_type);

/* A streamed body (server-sent events): what it has to send is asked for
 * by read, called in a server thread: it puts up to max bytes in buf and
 * returns their count, 0 when it has nothing now (the connection then
 * waits, holding no thread, until mdv_http_stream_wake), or -1 to end the
 * answer. done is called once when the connection is over (client gone,
 * end, server stopping); cls is the caller's. */
typedef long (*mdv_http_stream_read_fn)(void *cls, char *buf, size_t max);
typedef void (*mdv_http_stream_done_fn)(void *cls);

/* Makes res a streamed answer of status and content_type on req's
 * connection. Returns the stream, which lives until done was called: the
 * caller must not wake it after that (wake and done under one lock of the
 * caller's). */
struct mdv_http_stream *mdv_http_stream_start(struct mdv_http_response *res,
                                              const struct mdv_http_request *req, int status,
                                              const char *content_type,
                                              mdv_http_stream_read_fn read,
                                              mdv_http_stream_done_fn done, void *cls);
/* Asks the server to call the stream's read again; any thread. */
void mdv_http_stream_wake(struct mdv_http_stream *stream);

/* Checks a body; appends {field, message} to errors. */
typedef void (*mdv_http_validate_fn)(json_t *body, json_t *errors);

/* Reads a JSON object body checked by validate (not called when the body
 * is no object, or holds a NUL in a string); answers 415, 400 or 422
 * (titled invalid_title, French) and returns NULL when it is not
 * acceptable. The caller owns the result. */
json_t *mdv_http_read_json(const struct mdv_http_request *req, struct mdv_http_response *res,
                           mdv_http_validate_fn validate, const char *invalid_title);

#endif
