/* Request bodies: JSON only, parsed with jansson, checked field by field,
 * every problem named (DESIGN.md §6). The gateway's and the partners'
 * APIs read their bodies alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mdv/http.h"

static int is_json(const char *content_type)
{
    static const char expected[] = "application/json";
    size_t n = strlen(expected);
    return content_type && strncasecmp(content_type, expected, n) == 0 &&
           (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

/* jansson reads "\u0000" only with JSON_ALLOW_NUL, and every C string
 * function then stops at it, so a validator would check a shortened
 * value. Such strings are refused here, each naming its field, before any
 * validator reads them. path is the field's name ("" for the body). */
static void nul_strings(json_t *value, const char *path, json_t *errors)
{
    const char *key;
    size_t i;
    json_t *child;

    if (json_is_string(value) && memchr(json_string_value(value), '\0', json_string_length(value)))
        mdv_http_field_error(errors, path, "must not contain the NUL character (\\u0000)");
    json_array_foreach(value, i, child)
    {
        char *name = mdv_xasprintf("%s[%zu]", path, i);
        nul_strings(child, name, errors);
        free(name);
    }
    json_object_foreach(value, key, child)
    {
        char *name = mdv_xasprintf("%s%s%s", path, *path ? "." : "", key);
        nul_strings(child, name, errors);
        free(name);
    }
}

/* Any JSON value parses (JSON_DECODE_ANY), so that a number or a string
 * where an object belongs is a 422 naming the body, like any other wrong
 * type, rather than "malformed JSON". */
static json_t *parse(const struct mdv_http_request *req, struct mdv_http_response *res)
{
    json_error_t error;
    json_t *body =
        req->body ? json_loadb(req->body, req->body_len,
                               JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &error)
                  : NULL;
    if (!body) {
        char *detail = mdv_xasprintf("The body is not valid JSON: %s (line %d, column %d).",
                                     req->body ? error.text : "empty body",
                                     req->body ? error.line : 0, req->body ? error.column : 0);
        mdv_http_problem(res, 400, "malformed-json", "Requête illisible", detail, NULL);
        free(detail);
    }
    return body;
}

json_t *mdv_http_read_json(const struct mdv_http_request *req, struct mdv_http_response *res,
                           mdv_http_validate_fn validate, const char *invalid_title)
{
    if (!is_json(mdv_http_header(req, "Content-Type"))) {
        mdv_http_problem(res, 415, "unsupported-media-type", "Format non pris en charge",
                         "Send the body as application/json.", NULL);
        return NULL;
    }
    json_t *body = parse(req, res);
    if (!body)
        return NULL;
    json_t *errors = json_array();
    if (!json_is_object(body))
        mdv_http_field_error(errors, "body", "must be a JSON object");
    else
        nul_strings(body, "", errors);
    if (json_array_size(errors) == 0)
        validate(body, errors);
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return body;
    }
    mdv_http_problem(res, 422, "validation", invalid_title,
                     "Some fields are missing or invalid; see errors.", errors);
    json_decref(body);
    return NULL;
}
