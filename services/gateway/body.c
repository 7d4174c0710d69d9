/* Request bodies: JSON only, parsed with jansson, checked field by field,
 * every problem named (DESIGN.md §6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"

static int is_json(const char *content_type)
{
    static const char expected[] = "application/json";
    size_t n = strlen(expected);
    return content_type && strncasecmp(content_type, expected, n) == 0 &&
           (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

json_t *gateway_read_json(const struct mdv_http_request *req, struct mdv_http_response *res,
                          gateway_validate_fn validate, const char *invalid_title)
{
    json_error_t error;
    if (!is_json(mdv_http_header(req, "Content-Type"))) {
        mdv_http_problem(res, 415, "unsupported-media-type", "Format non pris en charge",
                         "Send the body as application/json.", NULL);
        return NULL;
    }
    json_t *body =
        req->body ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &error) : NULL;
    if (!body) {
        char *detail = mdv_xasprintf("The body is not valid JSON: %s (line %d, column %d).",
                                     req->body ? error.text : "empty body",
                                     req->body ? error.line : 0, req->body ? error.column : 0);
        mdv_http_problem(res, 400, "malformed-json", "Requête illisible", detail, NULL);
        free(detail);
        return NULL;
    }
    json_t *errors = json_array();
    if (!json_is_object(body))
        mdv_http_field_error(errors, "body", "must be a JSON object");
    else
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
