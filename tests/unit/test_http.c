/* Unit tests of shared/http.c through its public API: a server started on
 * 127.0.0.1 and raw HTTP/1.1 requests written on a local socket. */
#include "unit.h"

#include <errno.h>
#include <poll.h>
#include <sys/resource.h>

#include "http_client.h"

#include "mdv/http.h"
#include "mdv/log.h"

struct server_ctx {
    int ready; /* what the readiness callback answers */
    char addr[64];
    unsigned short port;
    struct mdv_http_server *server;
    char handler_ctx[16]; /* what handlers get as ctx: not this struct */
};

static unsigned short port_of(const struct server_ctx *sc)
{
    return sc->port;
}

/* ---- routes of the server under test ---- */

static void echo_param(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)ctx;
    mdv_http_json(res, 200, json_pack("{s:s?}", "param", req->param));
}

static void echo_body(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)ctx;
    mdv_http_json(res, 201,
                  json_pack("{s:I, s:s?}", "length", (json_int_t)req->body_len, "body", req->body));
    mdv_strlcpy(res->location, "/v1/echo/1", sizeof(res->location));
}

static void echo_query_and_header(const struct mdv_http_request *req, struct mdv_http_response *res,
                                  void *ctx)
{
    (void)ctx;
    mdv_http_json(res, 200,
                  json_pack("{s:s?, s:s?}", "q", mdv_http_query(req, "q"), "key",
                            mdv_http_header(req, "Idempotency-Key")));
}

static void invalid_fields(const struct mdv_http_request *req, struct mdv_http_response *res,
                           void *ctx)
{
    (void)req;
    (void)ctx;
    json_t *errors = json_array();
    mdv_http_field_error(errors, "deceased.family_name", "must not be empty");
    mdv_http_problem(res, 422, "invalid-fields", "Champs invalides", "Some fields are invalid.",
                     errors);
}

static void unauthorized(const struct mdv_http_request *req, struct mdv_http_response *res,
                         void *ctx)
{
    (void)req;
    (void)ctx;
    mdv_http_problem(res, 401, "unauthorized", "Authentification requise", "No bearer token.",
                     NULL);
}

/* As a handler does whose helper already answered unavailable (a failed
 * session lookup) before it answers so itself. */
static void unavailable_twice(const struct mdv_http_request *req, struct mdv_http_response *res,
                              void *ctx)
{
    (void)req;
    (void)ctx;
    mdv_http_unavailable(res);
    mdv_http_unavailable(res);
}

/* Answers the text its ctx points to: the handlers' context, not readiness's. */
static void echo_ctx(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)req;
    mdv_http_json(res, 200, json_pack("{s:s}", "ctx", (const char *)ctx));
}

static void header_length(const struct mdv_http_request *req, struct mdv_http_response *res,
                          void *ctx)
{
    (void)ctx;
    const char *value = mdv_http_header(req, "Authorization");
    mdv_http_json(res, 200, json_pack("{s:I}", "length", (json_int_t)(value ? strlen(value) : 0)));
}

static const struct mdv_http_route routes[] = {
    {"GET", "/v1/ctx", "GET /v1/ctx", echo_ctx},
    {"GET", "/v1/journeys/{}", "GET /v1/journeys/{id}", echo_param},
    {"DELETE", "/v1/journeys/{}", "DELETE /v1/journeys/{id}", echo_param},
    {"GET", "/v1/journeys/{}/steps", "GET /v1/journeys/{id}/steps", echo_param},
    {"POST", "/v1/echo", "POST /v1/echo", echo_body},
    {"GET", "/v1/query", "GET /v1/query", echo_query_and_header},
    {"POST", "/v1/invalid", "POST /v1/invalid", invalid_fields},
    {"GET", "/v1/private", "GET /v1/private", unauthorized},
    {"GET", "/v1/header-length", "GET /v1/header-length", header_length},
    {"GET", "/v1/unavailable", "GET /v1/unavailable", unavailable_twice},
    {NULL, NULL, NULL, NULL},
};

static int ready_callback(void *ctx, json_t *checks)
{
    const struct server_ctx *sc = ctx;
    json_object_set_new(checks, "database", json_string(sc->ready ? "ok" : "unreachable"));
    return sc->ready;
}

static void assert_problem(const struct reply *r, int status)
{
    char content_type[128];
    assert_int_equal(r->status, status);
    assert_non_null(header_value(r, "Content-Type", content_type, sizeof(content_type)));
    assert_string_equal(content_type, "application/problem+json");
    assert_non_null(r->json);
    assert_true(json_is_string(json_object_get(r->json, "type")));
    assert_true(json_is_string(json_object_get(r->json, "title")));
    assert_true(json_is_string(json_object_get(r->json, "detail")));
    assert_int_equal(json_integer_value(json_object_get(r->json, "status")), status);
}

/* ---- server start ---- */

static int start_server(void **state)
{
    static struct server_ctx sc;
    mdv_strlcpy(sc.handler_ctx, "handlers", sizeof(sc.handler_ctx));
    for (int attempt = 0; attempt < 10 && !sc.server; attempt++) {
        sc.port = free_port();
        if (!sc.port)
            continue;
        snprintf(sc.addr, sizeof(sc.addr), "127.0.0.1:%u", sc.port);
        sc.server = mdv_http_start(sc.addr, routes, &sc.handler_ctx, ready_callback, &sc);
    }
    *state = &sc;
    return sc.server ? 0 : -1;
}

static int stop_server(void **state)
{
    struct server_ctx *sc = *state;
    mdv_http_stop(sc->server);
    return 0;
}

/* ---- tests ---- */

static void test_healthz_answers_200_json(void **state)
{
    char content_type[128];
    struct reply r = get(port_of(*state), "/healthz");
    assert_int_equal(r.status, 200);
    assert_string_equal(header_value(&r, "Content-Type", content_type, sizeof(content_type)),
                        "application/json");
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    reply_free(&r);
}

static void test_metrics_answers_200_prometheus_text_counting_requests(void **state)
{
    char content_type[128];
    struct reply first = get(port_of(*state), "/healthz");
    reply_free(&first);
    struct reply r = get(port_of(*state), "/metrics");
    assert_int_equal(r.status, 200);
    assert_non_null(header_value(&r, "Content-Type", content_type, sizeof(content_type)));
    assert_true(strncmp(content_type, "text/plain", 10) == 0);
    assert_non_null(strstr(r.body, "# TYPE mdv_http_requests_total counter"));
    assert_non_null(
        strstr(r.body, "mdv_http_requests_total{route=\"GET /healthz\",status=\"200\"}"));
    assert_non_null(strstr(r.body, "# TYPE mdv_processing_seconds histogram"));
    reply_free(&r);
}

static void test_unknown_path_is_404_problem_json(void **state)
{
    struct reply r = get(port_of(*state), "/no/such/path");
    assert_problem(&r, 404);
    reply_free(&r);
}

static void test_known_path_with_wrong_method_is_405_with_allow(void **state)
{
    char allow[64];
    struct reply r = request(port_of(*state), "POST", "/healthz", NULL, "{}", 2);
    assert_problem(&r, 405);
    assert_string_equal(header_value(&r, "Allow", allow, sizeof(allow)), "GET");
    reply_free(&r);

    r = request(port_of(*state), "PUT", "/v1/journeys/abc", NULL, "{}", 2);
    assert_problem(&r, 405);
    assert_string_equal(header_value(&r, "Allow", allow, sizeof(allow)), "GET, DELETE");
    reply_free(&r);
}

/* Regression (shared/http.c): the route lookup collected the methods of
 * the routes before the match, and that Allow went out with the matched
 * route's answer too (DELETE /v1/journeys/abc: "Allow: GET"). Allow belongs
 * on the 405 alone (RFC 9110 §10.2.1). */
static void test_a_matched_route_answers_without_allow(void **state)
{
    char allow[64] = "";
    struct reply r = request(port_of(*state), "DELETE", "/v1/journeys/abc", NULL, NULL, 0);
    int status = r.status;
    int has_allow = header_value(&r, "Allow", allow, sizeof(allow)) != NULL;
    reply_free(&r); /* before asserting: a failure must not leak */
    assert_int_equal(status, 200);
    if (has_allow)
        print_error("DELETE /v1/journeys/abc carries Allow: %s\n", allow);
    assert_false(has_allow);
}

/* Regression (shared/http.c dispatch): /readyz is matched before the
 * route tables and only for GET, so another method on it falls through to
 * 404 instead of the 405 with "Allow: GET" every other known path gives
 * (DESIGN.md §6: wrong method 405 with Allow). */
static void test_readyz_with_wrong_method_is_405_with_allow(void **state)
{
    char allow[64] = "";
    struct reply r = request(port_of(*state), "POST", "/readyz", NULL, "{}", 2);
    int status = r.status;
    int has_allow = header_value(&r, "Allow", allow, sizeof(allow)) != NULL;
    if (status != 405)
        print_error("POST /readyz: %d %s\n", status, r.body);
    reply_free(&r); /* before asserting: a failure must not leak */
    assert_int_equal(status, 405);
    assert_true(has_allow);
    assert_string_equal(allow, "GET");
}

static void test_route_parameter_captures_one_non_empty_segment(void **state)
{
    static const struct {
        const char *target;
        int status;
        const char *param;
    } rows[] = {
        {"/v1/journeys/6f1c2a3b-4d5e", 200, "6f1c2a3b-4d5e"},
        {"/v1/journeys/abc/steps", 200, "abc"},
        {"/v1/journeys/abc?cursor=2", 200, "abc"}, /* the query is not part of the path */
        {"/v1/journeys/", 404, NULL},              /* empty segment */
        {"/v1/journeys", 404, NULL},
        {"/v1/journeys/a/b", 404, NULL}, /* two segments */
        {"/v1/journeys/abc/", 404, NULL},
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        struct reply r = get(port_of(*state), rows[i].target);
        const char *param = json_string_value(json_object_get(r.json, "param"));
        if (r.status != rows[i].status ||
            (rows[i].param && (!param || strcmp(param, rows[i].param) != 0)))
            ROW_FAILED(failures, "GET %s: %d %s, expected %d with param %s", rows[i].target,
                       r.status, r.body, rows[i].status, rows[i].param ? rows[i].param : "-");
        reply_free(&r);
    }
    assert_int_equal(failures, 0);
}

static void test_body_reaches_the_handler_with_its_length_and_location_is_sent(void **state)
{
    char location[128];
    const char body[] = "{\"kind\":\"bereavement\"}";
    struct reply r = request(port_of(*state), "POST", "/v1/echo",
                             "Content-Type: application/json\r\n", body, strlen(body));
    assert_int_equal(r.status, 201);
    assert_int_equal(json_integer_value(json_object_get(r.json, "length")), strlen(body));
    assert_string_equal(json_string_value(json_object_get(r.json, "body")), body);
    assert_string_equal(header_value(&r, "Location", location, sizeof(location)), "/v1/echo/1");
    reply_free(&r);
}

static void test_body_of_exactly_64_kib_is_accepted(void **state)
{
    size_t len = MDV_HTTP_BODY_LIMIT;
    char *body = mdv_xmalloc(len);
    memset(body, 'a', len);
    struct reply r = request(port_of(*state), "POST", "/v1/echo", NULL, body, len);
    assert_int_equal(r.status, 201);
    assert_int_equal(json_integer_value(json_object_get(r.json, "length")), len);
    reply_free(&r);
    free(body);
}

static void test_body_over_64_kib_is_413_problem_json(void **state)
{
    size_t len = 70 * 1024;
    char *body = mdv_xmalloc(len);
    memset(body, 'a', len);
    struct reply r = request(port_of(*state), "POST", "/v1/echo", NULL, body, len);
    assert_problem(&r, 413);
    reply_free(&r);
    free(body);

    /* The server is still serving afterwards. */
    r = get(port_of(*state), "/healthz");
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_query_arguments_and_request_headers_reach_the_handler(void **state)
{
    struct reply r = request(port_of(*state), "GET", "/v1/query?q=caf%C3%A9&x=1",
                             "Idempotency-Key: k-42\r\n", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "q")), "café");
    assert_string_equal(json_string_value(json_object_get(r.json, "key")), "k-42");
    reply_free(&r);

    r = get(port_of(*state), "/v1/query");
    assert_int_equal(r.status, 200);
    assert_true(json_is_null(json_object_get(r.json, "q")) || !json_object_get(r.json, "q"));
    reply_free(&r);
}

static void test_problem_carries_the_field_errors(void **state)
{
    struct reply r = request(port_of(*state), "POST", "/v1/invalid", NULL, "{}", 2);
    assert_problem(&r, 422);
    assert_string_equal(json_string_value(json_object_get(r.json, "type")),
                        "urn:mdv:problem:invalid-fields");
    json_t *errors = json_object_get(r.json, "errors");
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
                        "deceased.family_name");
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "message")),
                        "must not be empty");
    reply_free(&r);
}

static void test_401_names_the_bearer_scheme(void **state)
{
    char challenge[64];
    struct reply r = get(port_of(*state), "/v1/private");
    assert_problem(&r, 401);
    assert_non_null(header_value(&r, "WWW-Authenticate", challenge, sizeof(challenge)));
    assert_string_equal(challenge, "Bearer");
    reply_free(&r);

    r = get(port_of(*state), "/no/such/path"); /* only on 401 */
    assert_null(header_value(&r, "WWW-Authenticate", challenge, sizeof(challenge)));
    reply_free(&r);
}

/* Every service's answer when its database cannot serve (README, "The
 * HTTP API"): one problem type, and one Retry-After however many helpers
 * said so. */
static void test_unavailable_is_a_503_problem_with_one_retry_after(void **state)
{
    char retry[16];
    struct reply r = get(port_of(*state), "/v1/unavailable");
    assert_problem(&r, 503);
    assert_string_equal(json_string_value(json_object_get(r.json, "type")),
                        "urn:mdv:problem:unavailable");
    assert_string_equal(json_string_value(json_object_get(r.json, "title")),
                        "Service momentanément indisponible");
    assert_non_null(header_value(&r, "Retry-After", retry, sizeof(retry)));
    assert_string_equal(retry, "5");
    const char *first = strcasestr(r.head, "\r\nRetry-After:");
    assert_non_null(first);
    assert_null(strcasestr(first + 1, "\r\nRetry-After:"));
    reply_free(&r);
}

static void test_handlers_get_their_context_and_readiness_its_own(void **state)
{
    struct server_ctx *sc = *state;
    struct reply r = get(sc->port, "/v1/ctx");
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "ctx")), "handlers");
    reply_free(&r);
}

static void test_readyz_follows_the_ready_callback(void **state)
{
    struct server_ctx *sc = *state;

    sc->ready = 0;
    struct reply r = get(sc->port, "/readyz");
    assert_int_equal(r.status, 503);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "not ready");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "checks"), "database")),
        "unreachable");
    reply_free(&r);

    sc->ready = 1;
    r = get(sc->port, "/readyz");
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ready");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r.json, "checks"), "database")), "ok");
    reply_free(&r);
}

static void test_start_refuses_a_host_that_is_not_an_ipv4_address(void **state)
{
    (void)state;
    assert_null(mdv_http_start("localhost:8080", routes, NULL, NULL, NULL));
    assert_null(mdv_http_start("no-port", routes, NULL, NULL, NULL));
}

static void test_start_refuses_a_port_already_in_use(void **state)
{
    const struct server_ctx *sc = *state;
    assert_null(mdv_http_start(sc->addr, routes, NULL, NULL, NULL));
}

/* ---- the edge: raw exchanges, limits, deadline, log ---- */

static int connect_from(const char *source, unsigned short port)
{
    struct sockaddr_in src = {.sin_family = AF_INET};
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, source, &src.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof(dst)), 0);
    return fd;
}

/* Splits an answer read whole; status 0 when it has no head. Takes raw. */
static struct reply parse_reply(char *raw)
{
    struct reply r = {0};
    char *end = strstr(raw, "\r\n\r\n");
    if (!end) {
        r.head = raw;
        r.body = mdv_xstrdup("");
        return r;
    }
    *end = '\0';
    r.head = mdv_xstrdup(raw);
    r.body = mdv_xstrdup(end + 4);
    free(raw);
    if (sscanf(r.head, "HTTP/1.%*d %d", &r.status) != 1)
        r.status = 0;
    r.json = json_loads(r.body, 0, NULL);
    return r;
}

/* Sends the bytes as they are (NUL bytes included) and reads the answer. */
static struct reply exchange(unsigned short port, const char *data, size_t len)
{
    int fd = connect_to(port);
    send_all(fd, data, len);
    char *raw = receive_all(fd);
    close(fd);
    return parse_reply(raw);
}

/* GET target (len bytes, NUL bytes included) with Connection: close. */
static struct reply get_raw(unsigned short port, const char *target, size_t len)
{
    static const char tail[] = " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    size_t n = 4 + len + sizeof(tail) - 1;
    char *data = mdv_xmalloc(n);
    memcpy(data, "GET ", 4);
    memcpy(data + 4, target, len);
    memcpy(data + 4 + len, tail, sizeof(tail) - 1);
    struct reply r = exchange(port, data, n);
    free(data);
    return r;
}

/* 1 when the peer closed the connection (end of file or reset) within ms. */
static int closed_within(int fd, int ms)
{
    char buf[4096];
    double until = mdv_monotonic_seconds() + ms / 1000.0;
    for (;;) {
        int left = (int)((until - mdv_monotonic_seconds()) * 1000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return 0;
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return 1;
    }
}

/* Reads until the end of an answer's head (the connection stays open). */
static char *read_head(int fd)
{
    size_t len = 0;
    char *buf = mdv_xcalloc(1, 8192);
    while (len < 8191 && !strstr(buf, "\r\n\r\n")) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, 8191 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
    }
    return buf;
}

static struct mdv_http_server *start_limited(const struct mdv_http_limits *limits,
                                             unsigned short *port)
{
    struct mdv_http_server *server = NULL;
    for (int attempt = 0; attempt < 10 && !server; attempt++) {
        char addr[64];
        *port = free_port();
        snprintf(addr, sizeof(addr), "127.0.0.1:%u", *port);
        server = mdv_http_start_limited(addr, routes, NULL, NULL, NULL, limits);
    }
    assert_non_null(server);
    return server;
}

/* Issue 6, item 15. Runs first: the log budget is the process's, and later
 * tests spend it. */
static void test_library_messages_are_json_lines_within_a_budget(void **state)
{
    struct capture c;
    static const char partial[] = "GET /v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    capture_start(&c);
    for (int i = 0; i < 60; i++) { /* each drop makes libmicrohttpd say something */
        int fd = connect_to(port_of(*state));
        send_all(fd, partial, sizeof(partial) - 1);
        mdv_sleep_ms(5);
        close(fd);
    }
    mdv_sleep_ms(500);
    char *text = capture_end(&c);

    int lines = 0, not_json = 0, from_library = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        const char *message = json_string_value(json_object_get(j, "message"));
        lines++;
        if (!message || !json_is_string(json_object_get(j, "level"))) {
            not_json++;
            print_error("not a JSON log line: %s\n", line);
        } else if (strncmp(message, "libmicrohttpd: ", 15) == 0) {
            from_library++;
        }
        json_decref(j);
    }
    free(text);
    assert_int_equal(not_json, 0);
    assert_true(from_library >= 1);
    assert_true(lines <= 21); /* the budget of a window, and the line counting the rest */
}

/* Issue 6, item 13: "%00" cut the path, so /v1/journeys%00/x answered the
 * list; an encoded slash would reach another route. Such a path names no
 * resource (404, before any route); the query is the handlers' to judge,
 * but a raw NUL byte there would cut it (400). */
static void test_path_with_a_nul_or_a_bad_escape_is_404_before_any_route(void **state)
{
    static const struct {
        const char *target;
        size_t len; /* 0: strlen */
        int status;
        const char *param;
    } rows[] = {
        {"/v1/journeys/abc%00/x", 0, 404, NULL},
        {"/v1/journeys/abc\0/x", 19, 404, NULL}, /* a raw NUL byte */
        {"/v1/journeys/%zz", 0, 404, NULL},
        {"/v1/journeys/abc%2", 0, 404, NULL},
        {"/v1/journeys/abc%", 0, 404, NULL},
        {"/v1/journeys/abc%2Fsteps", 0, 404, NULL}, /* would be GET /v1/journeys/{id}/steps */
        {"/v1/journeys/abc%2fsteps", 0, 404, NULL},
        {"/v1/journeys/a\x01"
         "b",
         0, 404, NULL},
        {"/v1/query?q=a\0b", 15, 400, NULL},
        {"/v1/query?q=%00", 0, 200, NULL},
        {"/v1/query?q=100%", 0, 200, NULL},
        {"/v1/journeys/caf%C3%A9", 0, 200, "café"},
        {"/v1/journeys/a%20b", 0, 200, "a b"},
        {"/v1/query?q=a%2Fb", 0, 200, NULL}, /* a slash in the query separates nothing */
    };
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        size_t len = rows[i].len ? rows[i].len : strlen(rows[i].target);
        struct reply r = get_raw(port_of(*state), rows[i].target, len);
        char content_type[128] = "";
        header_value(&r, "Content-Type", content_type, sizeof(content_type));
        const char *type = json_string_value(json_object_get(r.json, "type"));
        const char *detail = json_string_value(json_object_get(r.json, "detail"));
        const char *param = json_string_value(json_object_get(r.json, "param"));
        int ok = r.status == rows[i].status;
        if (rows[i].status == 404) /* this answer, not a route's miss */
            ok = ok && strcmp(content_type, "application/problem+json") == 0 && detail &&
                 strstr(detail, "names no resource");
        if (rows[i].status == 400)
            ok = ok && strcmp(content_type, "application/problem+json") == 0 && type &&
                 strcmp(type, "urn:mdv:problem:bad-request-target") == 0;
        if (rows[i].param)
            ok = ok && param && strcmp(param, rows[i].param) == 0;
        if (!ok)
            ROW_FAILED(failures, "row %zu (%.*s): %d %s %s, expected %d", i, (int)len,
                       rows[i].target, r.status, content_type, r.body, rows[i].status);
        reply_free(&r);
    }
    assert_int_equal(failures, 0);
}

/* Issue 6, item 14: a 100 KB target got libmicrohttpd's HTML 414. */
static void test_target_over_8_kib_is_414_problem_json(void **state)
{
    static const size_t lengths[] = {8 * 1024 + 1, 100 * 1024};
    for (size_t i = 0; i < MDV_ARRAY_LEN(lengths); i++) {
        char *target = mdv_xmalloc(lengths[i] + 1);
        memcpy(target, "/v1/journeys/", 13);
        memset(target + 13, 'a', lengths[i] - 13);
        struct reply r = get_raw(port_of(*state), target, lengths[i]);
        free(target);
        assert_problem(&r, 414);
        reply_free(&r);
    }
    /* At the limit, the routes decide. */
    char *target = mdv_xmalloc(8 * 1024);
    memcpy(target, "/v1/journeys/", 13);
    memset(target + 13, 'a', 8 * 1024 - 13);
    struct reply r = get_raw(port_of(*state), target, 8 * 1024);
    free(target);
    assert_problem(&r, 404);
    reply_free(&r);
}

static struct reply get_with_authorization(unsigned short port, size_t token_len)
{
    char *token = mdv_xmalloc(token_len + 1);
    memset(token, 'a', token_len);
    token[token_len] = '\0';
    char *header = mdv_xasprintf("Authorization: Bearer %s\r\n", token);
    struct reply r = request(port, "GET", "/v1/header-length", header, NULL, 0);
    free(header);
    free(token);
    return r;
}

/* Issue 6, item 14: a 100 KB bearer token must reach the handler (the
 * authentication answers it), a larger head is 431 as a problem. */
static void test_100_kb_header_reaches_the_handler_and_a_larger_head_is_431_problem(void **state)
{
    struct reply r = get_with_authorization(port_of(*state), 100 * 1024);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "length")), 7 + 100 * 1024);
    reply_free(&r);

    r = get_with_authorization(port_of(*state), 120 * 1024);
    assert_problem(&r, 431);
    reply_free(&r);
}

/* Past the connection's memory libmicrohttpd answers by itself (README). */
static void test_head_past_the_connection_memory_is_still_refused(void **state)
{
    struct reply r = get_with_authorization(port_of(*state), 1024 * 1024);
    assert_int_equal(r.status, 431);
    reply_free(&r);

    r = get(port_of(*state), "/healthz");
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* Issue 6, item 9: the soft limit (often 1 024) capped the connections. */
static void test_start_raises_the_open_files_limit_to_the_hard_limit(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t hard = rl.rlim_max;
    rl.rlim_cur = hard < 512 ? hard : 512;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);

    unsigned short port;
    struct mdv_http_server *server = start_limited(&mdv_http_default_limits, &port);
    mdv_http_stop(server);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(rl.rlim_cur == hard);
}

/* Issue 6, item 9: one client address holds at most per_address
 * connections; another address is still served. */
static void test_one_address_is_held_to_its_limit_while_another_is_served(void **state)
{
    (void)state;
    static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    struct mdv_http_limits limits = mdv_http_default_limits;
    limits.per_address = 2;
    unsigned short port;
    struct mdv_http_server *server = start_limited(&limits, &port);

    int held[2], extra;
    for (int i = 0; i < 2; i++) {
        held[i] = connect_from("127.0.0.2", port);
        send_all(held[i], partial, sizeof(partial) - 1);
    }
    extra = connect_from("127.0.0.2", port);
    int extra_closed = closed_within(extra, 2000);
    int held_closed = closed_within(held[0], 200);

    int other = connect_from("127.0.0.1", port);
    static const char full[] =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    send_all(other, full, sizeof(full) - 1);
    struct reply r = parse_reply(receive_all(other));
    close(other);
    for (int i = 0; i < 2; i++)
        close(held[i]);
    close(extra);
    mdv_http_stop(server);

    assert_true(extra_closed);
    assert_false(held_closed);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* Sends a part every 300 ms (inactivity never fires); returns the seconds
 * until the server closed, or -1 after limit_s. */
static double seconds_until_cut(unsigned short port, const char *first, const char *part,
                                double limit_s)
{
    int fd = connect_to(port);
    double start = mdv_monotonic_seconds();
    double cut = -1;
    send_all(fd, first, strlen(first));
    while (mdv_monotonic_seconds() - start < limit_s) {
        if (closed_within(fd, 300)) {
            cut = mdv_monotonic_seconds() - start;
            break;
        }
        send_all(fd, part, strlen(part));
    }
    close(fd);
    return cut;
}

/* Issue 6, item 9: a client trickling its head (or its body) kept its
 * connection for ever, since every byte reset libmicrohttpd's timeout. */
static void test_request_not_complete_within_the_deadline_is_cut(void **state)
{
    (void)state;
    struct mdv_http_limits limits = mdv_http_default_limits;
    limits.request_deadline_s = 2;
    unsigned short port;
    struct mdv_http_server *server = start_limited(&limits, &port);

    double head = seconds_until_cut(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                    "X-Trickle: y\r\n", 8);
    double body = seconds_until_cut(
        port, "POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n", "{", 8);
    struct reply r = get(port, "/healthz");
    mdv_http_stop(server);

    print_message("cut after %.1f s (head), %.1f s (body); deadline 2 s\n", head, body);
    assert_true(head >= 1.9 && head <= 4);
    assert_true(body >= 1.9 && body <= 4);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static int answer_closes(int fd)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    send_all(fd, req, sizeof(req) - 1);
    char *head = read_head(fd);
    int closes = strstr(head, "Connection: close") != NULL;
    int answered = strncmp(head, "HTTP/1.1 200", 12) == 0;
    free(head);
    return answered ? closes : -1;
}

/* An idle kept connection holds its whole buffer: past keepalive_max open
 * connections, answers close theirs. */
static void test_answers_close_their_connection_past_keepalive_max(void **state)
{
    (void)state;
    struct mdv_http_limits limits = mdv_http_default_limits;
    limits.keepalive_max = 1;
    unsigned short port;
    struct mdv_http_server *server = start_limited(&limits, &port);

    int first = connect_to(port);
    int alone = answer_closes(first);
    int second = connect_to(port);
    int crowded = answer_closes(second);
    close(first);
    close(second);
    mdv_http_stop(server);

    assert_int_equal(alone, 0);
    assert_int_equal(crowded, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library_messages_are_json_lines_within_a_budget),
        cmocka_unit_test(test_healthz_answers_200_json),
        cmocka_unit_test(test_metrics_answers_200_prometheus_text_counting_requests),
        cmocka_unit_test(test_unknown_path_is_404_problem_json),
        cmocka_unit_test(test_known_path_with_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_a_matched_route_answers_without_allow),
        cmocka_unit_test(test_readyz_with_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_route_parameter_captures_one_non_empty_segment),
        cmocka_unit_test(test_body_reaches_the_handler_with_its_length_and_location_is_sent),
        cmocka_unit_test(test_body_of_exactly_64_kib_is_accepted),
        cmocka_unit_test(test_body_over_64_kib_is_413_problem_json),
        cmocka_unit_test(test_query_arguments_and_request_headers_reach_the_handler),
        cmocka_unit_test(test_problem_carries_the_field_errors),
        cmocka_unit_test(test_401_names_the_bearer_scheme),
        cmocka_unit_test(test_unavailable_is_a_503_problem_with_one_retry_after),
        cmocka_unit_test(test_readyz_follows_the_ready_callback),
        cmocka_unit_test(test_handlers_get_their_context_and_readiness_its_own),
        cmocka_unit_test(test_start_refuses_a_host_that_is_not_an_ipv4_address),
        cmocka_unit_test(test_start_refuses_a_port_already_in_use),
        cmocka_unit_test(test_path_with_a_nul_or_a_bad_escape_is_404_before_any_route),
        cmocka_unit_test(test_target_over_8_kib_is_414_problem_json),
        cmocka_unit_test(test_100_kb_header_reaches_the_handler_and_a_larger_head_is_431_problem),
        cmocka_unit_test(test_head_past_the_connection_memory_is_still_refused),
        cmocka_unit_test(test_start_raises_the_open_files_limit_to_the_hard_limit),
        cmocka_unit_test(test_one_address_is_held_to_its_limit_while_another_is_served),
        cmocka_unit_test(test_request_not_complete_within_the_deadline_is_cut),
        cmocka_unit_test(test_answers_close_their_connection_past_keepalive_max),
    };
    return cmocka_run_group_tests_name("http", tests, start_server, stop_server);
}
