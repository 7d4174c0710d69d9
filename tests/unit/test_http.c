/* Unit tests of shared/http.c through its public API: a server started on
 * 127.0.0.1 and raw HTTP/1.1 requests written on a local socket. */
#include "unit.h"

#include "http_client.h"

#include "mdv/http.h"

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

/* Answers the text its ctx points to: the handlers' context, not readiness's. */
static void echo_ctx(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)req;
    mdv_http_json(res, 200, json_pack("{s:s}", "ctx", (const char *)ctx));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_answers_200_json),
        cmocka_unit_test(test_metrics_answers_200_prometheus_text_counting_requests),
        cmocka_unit_test(test_unknown_path_is_404_problem_json),
        cmocka_unit_test(test_known_path_with_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_readyz_with_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_route_parameter_captures_one_non_empty_segment),
        cmocka_unit_test(test_body_reaches_the_handler_with_its_length_and_location_is_sent),
        cmocka_unit_test(test_body_of_exactly_64_kib_is_accepted),
        cmocka_unit_test(test_body_over_64_kib_is_413_problem_json),
        cmocka_unit_test(test_query_arguments_and_request_headers_reach_the_handler),
        cmocka_unit_test(test_problem_carries_the_field_errors),
        cmocka_unit_test(test_401_names_the_bearer_scheme),
        cmocka_unit_test(test_readyz_follows_the_ready_callback),
        cmocka_unit_test(test_handlers_get_their_context_and_readiness_its_own),
        cmocka_unit_test(test_start_refuses_a_host_that_is_not_an_ipv4_address),
        cmocka_unit_test(test_start_refuses_a_port_already_in_use),
    };
    return cmocka_run_group_tests_name("http", tests, start_server, stop_server);
}
