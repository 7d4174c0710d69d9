/* HTTP adapter on libmicrohttpd. The access handler is called several
 * times per request (headers, body chunks, end of body); state lives in a
 * struct request_state kept in *con_cls. */
#include "mdv/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/log.h"
#include "mdv/metrics.h"

#define THREADS 4

struct mdv_http_server {
    struct MHD_Daemon *daemon;
    const struct mdv_http_route *routes;
    void *ctx; /* the handlers' */
    mdv_http_ready_fn ready;
    void *ready_ctx;
};

struct request_state {
    char *body;
    size_t len;
    int too_large;
};

const char *mdv_http_header(const struct mdv_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *mdv_http_query(const struct mdv_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

void mdv_http_json(struct mdv_http_response *res, int status, json_t *body)
{
    json_decref(res->json);
    res->status = status;
    res->json = body;
    res->content_type = "application/json";
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

void mdv_http_field_error(json_t *errors, const char *field, const char *message)
{
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", message));
}

/* "{}" in a pattern matches one non-empty path segment, captured in param. */
static int path_matches(const char *pattern, const char *path, char *param, size_t paramlen)
{
    while (*pattern && *path) {
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

static enum MHD_Result send_response(struct MHD_Connection *connection,
                                     struct mdv_http_response *res, const char *allow)
{
    char *body = res->text;
    if (!body)
        body = res->json ? json_dumps(res->json, JSON_COMPACT) : mdv_xstrdup("");
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(response, "Content-Type",
                            res->content_type ? res->content_type : "application/json");
    if (res->location[0])
        MHD_add_response_header(response, "Location", res->location);
    if (allow && allow[0])
        MHD_add_response_header(response, "Allow", allow);
    if (res->status == 401) /* RFC 9110 §15.5.2: name the scheme to use */
        MHD_add_response_header(response, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(connection, (unsigned)res->status, response);
    MHD_destroy_response(response);
    json_decref(res->json);
    return ret;
}

/* Collects body chunks up to the cap; past it the rest is read and dropped,
 * so the client gets a clean 413 rather than a reset connection. */
static void collect_body(struct request_state *st, const char *data, size_t size)
{
    if (st->too_large || st->len + size > MDV_HTTP_BODY_LIMIT) {
        st->too_large = 1;
        return;
    }
    st->body = mdv_xrealloc(st->body, st->len + size + 1);
    memcpy(st->body + st->len, data, size);
    st->len += size;
    st->body[st->len] = '\0';
}

static void count_request(const char *route, int status)
{
    char labels[160];
    snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%d\"", route, status);
    mdv_metrics_add("mdv_http_requests_total", mdv_metrics_label(labels), 1);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct mdv_http_server *server = cls;
    struct request_state *st = *con_cls;

    if (!st) {
        *con_cls = mdv_xcalloc(1, sizeof(*st));
        return MHD_YES;
    }
    if (*upload_data_size) {
        collect_body(st, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct mdv_http_request req = {method, url, NULL, st->body, st->len, connection};
    struct mdv_http_response res = {0};
    char allow[64] = "";
    const char *route_name = "unmatched";
    if (st->too_large) {
        mdv_http_problem(&res, 413, "payload-too-large", "Requête trop volumineuse",
                         "The body exceeds 65536 bytes.", NULL);
    } else {
        dispatch(server, &req, &res, allow, sizeof(allow), &route_name);
    }
    count_request(route_name, res.status);
    return send_response(connection, &res, allow);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)connection;
    (void)toe;
    struct request_state *st = *con_cls;
    if (st) {
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
}

struct mdv_http_server *mdv_http_start(const char *addr, const struct mdv_http_route *routes,
                                       void *ctx, mdv_http_ready_fn ready_fn, void *ready_ctx)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    char host[64];
    const char *colon = strrchr(addr, ':');
    size_t hostlen = colon ? (size_t)(colon - addr) : 0;

    if (!colon || hostlen >= sizeof(host))
        return NULL;
    memcpy(host, addr, hostlen);
    host[hostlen] = '\0';
    sin.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        mdv_error("HTTP address %s: host must be an IPv4 address", addr);
        return NULL;
    }
    struct mdv_http_server *server = mdv_xcalloc(1, sizeof(*server));
    server->routes = routes;
    server->ctx = ctx;
    server->ready = ready_fn;
    server->ready_ctx = ready_ctx;
    server->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, server, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)THREADS, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!server->daemon) {
        mdv_error("cannot listen on %s", addr);
        free(server);
        return NULL;
    }
    mdv_info("HTTP listening on %s", addr);
    return server;
}

void mdv_http_stop(struct mdv_http_server *server)
{
    if (!server)
        return;
    MHD_stop_daemon(server->daemon);
    free(server);
}
