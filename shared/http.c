/* HTTP adapter on libmicrohttpd (0.9.75 in Debian bookworm). The access
 * handler is called several times per request (headers, body chunks, end of
 * body); state lives in a struct request_state made when the request line
 * arrives (the URI log callback, which sees the target before libmicrohttpd
 * decodes it) and kept in *con_cls. Connections are watched by http_guard.c. */
#include "mdv/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mdv/http_guard.h"
#include "mdv/http_stream.h"
#include "mdv/log.h"
#include "mdv/metrics.h"

#define THREADS 4
/* Descriptors kept for the rest of the process (database, broker, files). */
#define FD_RESERVE 256

/* Chosen in README, "HTTP limits". */
const struct mdv_http_limits mdv_http_default_limits = {
    .connections = 4096,
    .per_address = 128,
    .keepalive_max = 256,
    .request_deadline_s = 20,
    .idle_timeout_s = 10,
    .target_max = 8 * 1024,
    .head_max = 112 * 1024,
    .connection_memory = 128 * 1024,
};

struct mdv_http_server {
    struct MHD_Daemon *daemon;
    struct mdv_http_guard *guard;
    const struct mdv_http_route *routes;
    void *ctx; /* the handlers' */
    mdv_http_ready_fn ready;
    void *ready_ctx;
    struct mdv_http_limits limits;
};

struct request_state {
    const char *target; /* as received, inside libmicrohttpd's buffer */
    size_t target_len;  /* up to its first NUL */
    size_t path_len;    /* up to its '?' (libmicrohttpd makes it a NUL) */
    int path_clean;
    int head_seen; /* the first call (headers complete) is over */
    int refusal;   /* an HTTP status decided before the body, or 0 */
    char *body;
    size_t len;
};

const char *mdv_http_header(const struct mdv_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *mdv_http_query(const struct mdv_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

const char *mdv_http_cookie(const struct mdv_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_COOKIE_KIND, name);
}

void mdv_http_unescape_form(char *value)
{
    for (char *c = value; *c; c++)
        if (*c == '+')
            *c = ' ';
    MHD_http_unescape(value);
}

void mdv_http_redirect(struct mdv_http_response *res, int status, const char *url)
{
    json_decref(res->json);
    res->json = NULL;
    res->status = status;
    res->text = mdv_xstrdup("");
    res->content_type = "text/plain; charset=utf-8";
    mdv_http_add_header(res, "Location", url);
}

void mdv_http_json(struct mdv_http_response *res, int status, json_t *body)
{
    json_decref(res->json);
    res->status = status;
    res->json = body;
    res->content_type = "application/json";
}

void mdv_http_json_text(struct mdv_http_response *res, int status, char *text)
{
    json_decref(res->json);
    res->json = NULL;
    free(res->text);
    res->status = status;
    res->text = text;
    res->content_type = "application/json";
}

/* One entity-tag of a list at *p (RFC 9110 §8.8.3: [W/] DQUOTE *etagc
 * DQUOTE), its opaque part in tag when it fits; *p moves past it and the
 * comma after it. Returns 1 for a tag kept, 0 for one skipped, -1 when the
 * rest is not a list of tags. */
static int next_etag(const char **p, char tag[MDV_HTTP_ETAG_LEN])
{
    const char *c = *p + strspn(*p, " \t,");
    if (strncmp(c, "W/", 2) == 0)
        c += 2;
    if (*c != '"')
        return -1;
    const char *end = strchr(c + 1, '"');
    if (!end)
        return -1;
    size_t n = (size_t)(end - c - 1);
    int kept = n > 0 && n < MDV_HTTP_ETAG_LEN;
    if (kept) {
        memcpy(tag, c + 1, n);
        tag[n] = '\0';
    }
    *p = end + 1;
    return kept;
}

/* "*" alone, whitespace around it allowed. */
static int is_any(const char *p)
{
    p += strspn(p, " \t");
    if (*p != '*')
        return 0;
    p++;
    return p[strspn(p, " \t")] == '\0';
}

void mdv_http_inm_parse(const char *header, struct mdv_http_inm *inm)
{
    const char *p = header;
    memset(inm, 0, sizeof(*inm));
    if (!p)
        return;
    if (is_any(p)) {
        inm->any = 1;
        return;
    }
    while (inm->count < MDV_HTTP_INM_MAX && p[strspn(p, " \t,")]) {
        int kept = next_etag(&p, inm->tags[inm->count]);
        if (kept < 0)
            break;
        inm->count += kept;
    }
}

int mdv_http_inm_matches(const struct mdv_http_inm *inm, const char *etag)
{
    if (inm->any)
        return 1;
    for (int i = 0; i < inm->count; i++)
        if (strcmp(inm->tags[i], etag) == 0)
            return 1;
    return 0;
}

void mdv_http_problem(struct mdv_http_response *res, int status, const char *slug,
                      const char *title, const char *detail, json_t *errors)
{
    json_t *p = json_object();
    char *type = mdv_xasprintf("urn:mdv:problem:%s", slug);
    json_object_set_new(p, "type", json_string(type));
    json_object_set_new(p, "title", json_string(title));
    json_object_set_new(p, "status", json_integer(status));
    json_object_set_new(p, "detail", json_string(detail));
    if (errors)
        json_object_set_new(p, "errors", errors);
    free(type);
    mdv_http_json(res, status, p);
    res->content_type = "application/problem+json";
}

static int has_header(const struct mdv_http_response *res, const char *name)
{
    for (unsigned i = 0; i < res->header_count; i++)
        if (strcasecmp(res->headers[i].name, name) == 0)
            return 1;
    return 0;
}

/* Idempotent: a handler that answers unavailable after a helper already
 * did (a failed session lookup, say) sends one Retry-After, not two. */
void mdv_http_retry_later(struct mdv_http_response *res)
{
    if (!has_header(res, "Retry-After"))
        mdv_http_add_header(res, "Retry-After", MDV_STR(MDV_HTTP_RETRY_AFTER_S));
}

void mdv_http_unavailable(struct mdv_http_response *res)
{
    mdv_http_retry_later(res);
    mdv_http_problem(res, 503, "unavailable", "Service momentanément indisponible",
                     "The service's database cannot serve this request now (unreachable, or"
                     " busy past its bounds); try again after Retry-After seconds.",
                     NULL);
}

void mdv_http_field_error(json_t *errors, const char *field, const char *message)
{
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", message));
}

void mdv_http_add_header(struct mdv_http_response *res, const char *name, const char *value)
{
    if (res->header_count == MDV_HTTP_HEADERS_MAX) {
        mdv_error("HTTP answer: header %s dropped, more than %d headers", name,
                  MDV_HTTP_HEADERS_MAX);
        return;
    }
    res->headers[res->header_count].name = name;
    res->headers[res->header_count].value = mdv_xstrdup(value);
    res->header_count++;
}

void mdv_http_file(struct mdv_http_response *res, int status, int fd, uint64_t size,
                   const char *content_type)
{
    if (res->file_open)
        close(res->file_fd);
    res->status = status;
    res->file_open = 1;
    res->file_fd = fd;
    res->file_size = size;
    res->content_type = content_type;
}

/* "{}" in a pattern matches one non-empty path segment, captured in param;
 * a final "{*}" the non-empty rest of the path. */
static int path_matches(const char *pattern, const char *path, char *param, size_t paramlen)
{
    while (*pattern && *path) {
        if (strcmp(pattern, "{*}") == 0) {
            size_t n = strlen(path);
            if (n >= paramlen)
                return 0;
            memcpy(param, path, n + 1);
            return 1;
        }
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t n = strcspn(path, "/");
            if (n == 0 || n >= paramlen)
                return 0;
            memcpy(param, path, n);
            param[n] = '\0';
            path += n;
            pattern += 2;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

static void health(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    mdv_http_json(res, 200, json_pack("{s:s}", "status", "ok"));
}

static void metrics(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)req;
    (void)ctx;
    res->status = 200;
    res->text = mdv_metrics_render();
    res->content_type = "text/plain; version=0.0.4";
}

static const struct mdv_http_route builtin_routes[] = {
    {"GET", "/healthz", "GET /healthz", health},
    {"GET", "/metrics", "GET /metrics", metrics},
    {NULL, NULL, NULL, NULL},
};

static void ready(struct mdv_http_server *server, struct mdv_http_response *res)
{
    json_t *checks = json_object();
    int ok = server->ready ? server->ready(server->ready_ctx, checks) : 1;
    mdv_http_json(res, ok ? 200 : 503,
                  json_pack("{s:s, s:o}", "status", ok ? "ready" : "not ready", "checks", checks));
}

/* Finds the route; on a path known under other methods fills allow. */
static const struct mdv_http_route *route_find(const struct mdv_http_route *routes,
                                               const char *method, const char *path, char *param,
                                               size_t paramlen, char *allow, size_t allowlen)
{
    for (const struct mdv_http_route *r = routes; r->pattern; r++) {
        if (!path_matches(r->pattern, path, param, paramlen))
            continue;
        if (strcmp(r->method, method) == 0)
            return r;
        size_t used = strlen(allow);
        snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", r->method);
    }
    return NULL;
}

static void dispatch(struct mdv_http_server *server, struct mdv_http_request *req,
                     struct mdv_http_response *res, char *allow, size_t allowlen,
                     const char **route_name)
{
    char param[256] = "";
    const struct mdv_http_route *r = NULL;

    if (strcmp(req->path, "/readyz") == 0) {
        if (strcmp(req->method, "GET") == 0) {
            *route_name = "GET /readyz";
            ready(server, res);
            return;
        }
        mdv_strlcpy(allow, "GET", allowlen);
    }
    r = route_find(builtin_routes, req->method, req->path, param, sizeof(param), allow, allowlen);
    if (!r)
        r = route_find(server->routes, req->method, req->path, param, sizeof(param), allow,
                       allowlen);
    if (r) {
        /* The methods of the routes listed before the match: Allow belongs
         * on the 405 alone (RFC 9110 §10.2.1), not on the route's answer. */
        allow[0] = '\0';
        *route_name = r->name;
        req->param = param[0] ? param : NULL;
        r->handler(req, res, server->ctx);
    } else if (allow[0]) {
        mdv_http_problem(res, 405, "method-not-allowed", "Méthode non autorisée",
                         "This path does not accept this method; see the Allow header.", NULL);
    } else {
        mdv_http_problem(res, 404, "not-found", "Ressource introuvable",
                         "No resource at this path.", NULL);
    }
}

/* The body: a stream, a file (whose descriptor libmicrohttpd then owns),
 * text or JSON. */
static struct MHD_Response *make_response(struct mdv_http_response *res)
{
    if (res->stream)
        return mdv_http_stream_response(res->stream);
    if (res->file_open) {
        res->file_open = 0;
        struct MHD_Response *response = MHD_create_response_from_fd64(res->file_size, res->file_fd);
        if (!response)
            close(res->file_fd);
        return response;
    }
    char *body = res->text;
    if (!body)
        body = res->json ? json_dumps(res->json, JSON_COMPACT) : mdv_xstrdup("");
    return MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
}

static void free_headers(struct mdv_http_response *res)
{
    for (unsigned i = 0; i < res->header_count; i++)
        free(res->headers[i].value);
    res->header_count = 0;
}

static enum MHD_Result send_response(struct MHD_Connection *connection,
                                     struct mdv_http_response *res, const char *allow,
                                     int close_after)
{
    struct MHD_Response *response = make_response(res);
    if (!response) {
        free_headers(res);
        json_decref(res->json);
        return MHD_NO;
    }
    for (unsigned i = 0; i < res->header_count; i++)
        MHD_add_response_header(response, res->headers[i].name, res->headers[i].value);
    free_headers(res);
    if (res->status != 304) /* RFC 9110 §15.4.5: no content to describe */
        MHD_add_response_header(response, "Content-Type",
                                res->content_type ? res->content_type : "application/json");
    if (res->location[0])
        MHD_add_response_header(response, "Location", res->location);
    if (allow && allow[0])
        MHD_add_response_header(response, "Allow", allow);
    if (res->status == 401) /* RFC 9110 §15.5.2: name the scheme to use */
        MHD_add_response_header(response, "WWW-Authenticate", "Bearer");
    if (close_after)
        MHD_add_response_header(response, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(connection, (unsigned)res->status, response);
    MHD_destroy_response(response);
    json_decref(res->json);
    return ret;
}

/* Collects body chunks up to the cap; past it the rest is read and dropped,
 * so the client gets a clean 413 rather than a reset connection. */
static void collect_body(struct request_state *st, const char *data, size_t size)
{
    if (st->refusal || st->len + size > MDV_HTTP_BODY_LIMIT) {
        if (!st->refusal)
            st->refusal = 413;
        return;
    }
    st->body = mdv_xrealloc(st->body, st->len + size + 1);
    memcpy(st->body + st->len, data, size);
    st->len += size;
    st->body[st->len] = '\0';
}

static int hex_value(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* libmicrohttpd decodes the path in place into a C string and leaves a bad
 * escape as it is: "%00" would cut the path ("/v1/journeys%00/x" reaching
 * the list), "%2F" would become a separator, and a control character or a
 * space has no place in a path (RFC 9112 §3.2). Such a path names no
 * resource: it is answered 404 before any route is looked at. The query is
 * left to the handlers, which see each argument's decoded value. */
static int path_is_clean(const char *target)
{
    for (const unsigned char *p = (const unsigned char *)target; *p && *p != '?'; p++) {
        if (*p <= ' ' || *p == 0x7f)
            return 0;
        if (*p != '%')
            continue;
        if (!isxdigit(p[1]) || !isxdigit(p[2]))
            return 0;
        int byte = hex_value((char)p[1]) * 16 + hex_value((char)p[2]);
        if (byte == 0 || byte == '/')
            return 0;
        p += 2;
    }
    return 1;
}

/* The URI log callback: the target as it came, before libmicrohttpd cuts
 * the query off and decodes the path. Its return value becomes *con_cls. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *connection)
{
    (void)cls;
    (void)connection;
    struct request_state *st = mdv_xcalloc(1, sizeof(*st));
    st->target = uri;
    st->target_len = strlen(uri);
    st->path_len = strcspn(uri, "?");
    st->path_clean = path_is_clean(uri);
    return st;
}

/* A raw NUL byte in the target ends the C string libmicrohttpd hands over,
 * so the path would be cut without a trace. libmicrohttpd parses the request
 * line in place: the target runs from url to the space it replaced before
 * the version, so a string shorter than that span held a NUL. */
static int target_has_raw_nul(const struct request_state *st, const char *url, const char *version)
{
    if (url != st->target || !version || !*version || version <= url || version[-1] != '\0')
        return 0;
    return st->target_len != (size_t)(version - 1 - url);
}

/* The checks that need the whole head (line and headers) and no body. */
static int refusal_of_head(const struct mdv_http_server *server, struct MHD_Connection *connection,
                           const struct request_state *st, const char *url, const char *version)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);

    if (st->target_len > server->limits.target_max)
        return 414;
    if (info && info->header_size > server->limits.head_max)
        return 431;
    if (!st->path_clean)
        return 404;
    if (target_has_raw_nul(st, url, version)) /* in the path: 404; in the query: 400 */
        return st->path_len < st->target_len ? 400 : 404;
    return 0;
}

static void refuse(const struct mdv_http_server *server, int status, struct mdv_http_response *res)
{
    char detail[128];
    switch (status) {
    case 400:
        mdv_http_problem(res, 400, "bad-request-target", "Adresse de la requête invalide",
                         "The query holds a NUL byte.", NULL);
        break;
    case 404:
        mdv_http_problem(res, 404, "not-found", "Ressource introuvable",
                         "The path holds a NUL byte, a control character, an encoded slash or a "
                         "malformed percent-encoding: it names no resource.",
                         NULL);
        break;
    case 413:
        snprintf(detail, sizeof(detail), "The body exceeds %d bytes.", MDV_HTTP_BODY_LIMIT);
        mdv_http_problem(res, 413, "payload-too-large", "Requête trop volumineuse", detail, NULL);
        break;
    case 414:
        snprintf(detail, sizeof(detail), "The request target exceeds %zu bytes.",
                 server->limits.target_max);
        mdv_http_problem(res, 414, "uri-too-long", "Adresse de la requête trop longue", detail,
                         NULL);
        break;
    default:
        snprintf(detail, sizeof(detail), "The request line and headers exceed %zu bytes.",
                 server->limits.head_max);
        mdv_http_problem(res, 431, "header-fields-too-large",
                         "En-têtes de la requête trop volumineux", detail, NULL);
        break;
    }
}

static void count_request(const char *route, int status)
{
    char labels[160];
    snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%d\"", route, status);
    mdv_metrics_add("mdv_http_requests_total", mdv_metrics_label(labels), 1);
}

static enum MHD_Result answer(struct mdv_http_server *server, struct MHD_Connection *connection,
                              struct request_state *st, const char *url, const char *method)
{
    struct mdv_http_request req = {method, url, NULL, st->body, st->len, connection};
    struct mdv_http_response res = {0};
    char allow[64] = "";
    const char *route_name = "unmatched";

    mdv_http_guard_arrived(server->guard, connection);
    if (st->refusal)
        refuse(server, st->refusal, &res);
    else
        dispatch(server, &req, &res, allow, sizeof(allow), &route_name);
    count_request(route_name, res.status);
    /* libmicrohttpd clears a kept connection's whole buffer for its next
     * request: past keepalive_max open connections, the idle ones would
     * cost that much memory each. */
    int close_after = mdv_http_guard_connections(server->guard) > server->limits.keepalive_max;
    return send_response(connection, &res, allow, close_after);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct mdv_http_server *server = cls;
    struct request_state *st = *con_cls;

    if (!st) /* not seen by on_request_line: nothing to check it against */
        st = *con_cls = mdv_xcalloc(1, sizeof(*st));
    if (!st->head_seen) {
        st->head_seen = 1;
        if (st->target)
            st->refusal = refusal_of_head(server, connection, st, url, version);
        return MHD_YES;
    }
    if (*upload_data_size) {
        collect_body(st, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return answer(server, connection, st, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct mdv_http_server *server = cls;
    (void)toe;
    struct request_state *st = *con_cls;
    if (st) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
    mdv_http_guard_answered(server->guard, connection);
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct mdv_http_server *server = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        mdv_http_guard_opened(server->guard, connection, socket_context);
    else
        mdv_http_guard_closed(server->guard, socket_context);
}

static int parse_addr(const char *addr, struct sockaddr_in *sin)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    size_t hostlen = colon ? (size_t)(colon - addr) : 0;

    if (!colon || hostlen >= sizeof(host))
        return -1;
    memcpy(host, addr, hostlen);
    host[hostlen] = '\0';
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
        mdv_error("HTTP address %s: host must be an IPv4 address", addr);
        return -1;
    }
    return 0;
}

/* libmicrohttpd's default limit is FD_SETSIZE - 4 (1 020) connections even
 * with epoll, and the soft descriptor limit is often 1 024: both would cap
 * the server long before its own limit. */
static unsigned connection_limit(const struct mdv_http_limits *limits)
{
    unsigned long fds = mdv_http_guard_raise_fd_limit();
    unsigned long usable = fds > 2 * FD_RESERVE ? fds - FD_RESERVE : fds / 2;
    return limits->connections < usable ? limits->connections : (unsigned)usable;
}

static struct MHD_Daemon *start_daemon(struct mdv_http_server *server, struct sockaddr_in *sin)
{
    const struct mdv_http_limits *limits = &server->limits;
    /* The logger comes first, so that no start-up message goes to stderr raw. */
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
            MHD_ALLOW_SUSPEND_RESUME,
        0, NULL, NULL, on_request, server, MHD_OPTION_EXTERNAL_LOGGER, mdv_http_guard_log_library,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sin, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)THREADS, MHD_OPTION_CONNECTION_LIMIT, limits->connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits->per_address, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        limits->connection_memory, MHD_OPTION_CONNECTION_TIMEOUT, limits->idle_timeout_s,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, NULL, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, server, MHD_OPTION_NOTIFY_COMPLETED, on_completed, server, MHD_OPTION_END);
}

struct mdv_http_server *mdv_http_start_limited(const char *addr,
                                               const struct mdv_http_route *routes, void *ctx,
                                               mdv_http_ready_fn ready_fn, void *ready_ctx,
                                               const struct mdv_http_limits *limits)
{
    struct sockaddr_in sin = {0};
    if (parse_addr(addr, &sin) != 0)
        return NULL;

    struct mdv_http_server *server = mdv_xcalloc(1, sizeof(*server));
    server->routes = routes;
    server->ctx = ctx;
    server->ready = ready_fn;
    server->ready_ctx = ready_ctx;
    server->limits = *limits;
    server->limits.connections = connection_limit(limits);
    server->guard = mdv_http_guard_new(limits->request_deadline_s);
    if (server->guard)
        server->daemon = start_daemon(server, &sin);
    if (!server->daemon) {
        mdv_error("cannot listen on %s", addr);
        mdv_http_guard_destroy(server->guard);
        free(server);
        return NULL;
    }
    mdv_info("HTTP listening on %s (at most %u connections, %u from one address, %u s for a "
             "request)",
             addr, server->limits.connections, server->limits.per_address,
             server->limits.request_deadline_s);
    return server;
}

struct mdv_http_server *mdv_http_start(const char *addr, const struct mdv_http_route *routes,
                                       void *ctx, mdv_http_ready_fn ready_fn, void *ready_ctx)
{
    return mdv_http_start_limited(addr, routes, ctx, ready_fn, ready_ctx, &mdv_http_default_limits);
}

void mdv_http_stop(struct mdv_http_server *server)
{
    if (!server)
        return;
    mdv_http_streams_end();
    mdv_http_guard_stop(server->guard);
    MHD_stop_daemon(server->daemon);
    mdv_http_guard_destroy(server->guard);
    free(server);
}
