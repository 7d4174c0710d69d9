/* The body of POST /v1/journeys/{id}/confirmations: mdv_http_read_json with
 * confirmation_validate, on the input as the request body (Content-Type
 * answered through --wrap=mdv_http_header, as in fuzz_declaration.c).
 *
 * Invariants: a refusal is a 400 or a 422 problem whose errors each name
 * a field; an accepted body is {"step": code} and nothing else, the code
 * "<owner>.<what>" in lower-case letters, digits and '_'. */
#include "fuzz.h"

#include <jansson.h>
#include <strings.h>

#include "../../services/gateway/gateway.h"

const char *__wrap_mdv_http_header(const struct mdv_http_request *req, const char *name);

const char *__wrap_mdv_http_header(const struct mdv_http_request *req, const char *name)
{
    (void)req;
    return strcasecmp(name, "Content-Type") == 0 ? "application/json" : NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_code(const char *code)
{
    const char *dot = strchr(code, '.');
    FUZZ_REQUIRE(dot && dot != code && dot[1] && !strchr(dot + 1, '.'));
    FUZZ_REQUIRE(strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_.") == strlen(code));
}

static void check_refusal(const struct mdv_http_response *res)
{
    size_t i;
    const json_t *e;
    const json_t *errors = json_object_get(res->json, "errors");
    FUZZ_REQUIRE(res->status == 400 || res->status == 422);
    FUZZ_REQUIRE(res->status == 400 || json_array_size(errors) > 0);
    json_array_foreach(errors, i, e)
    {
        FUZZ_REQUIRE(json_string_value(json_object_get(e, "field")));
        FUZZ_REQUIRE(json_string_value(json_object_get(e, "message")));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mdv_http_request req = {0};
    struct mdv_http_response res = {0};

    if (size > MDV_HTTP_BODY_LIMIT)
        return -1; /* the HTTP layer refuses a larger body */
    char *text = size ? fuzz_cstring(data, size) : NULL;
    req.method = "POST";
    req.path = "/v1/journeys/6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7/confirmations";
    req.body = text;
    req.body_len = size;
    json_t *body = mdv_http_read_json(&req, &res, confirmation_validate, "Confirmation invalide");
    if (body) {
        FUZZ_REQUIRE(json_object_size(body) == 1);
        const char *code = json_string_value(json_object_get(body, "step"));
        FUZZ_REQUIRE(code);
        check_code(code);
    } else {
        check_refusal(&res);
    }
    json_decref(body);
    json_decref(res.json);
    free(text);
    return 0;
}
