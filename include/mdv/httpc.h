/* An HTTP client on libcurl, for the few calls a service makes to another
 * server (the gateway to its OpenID provider, and to identity for what
 * the register knows of a usager): JSON answers with a size cap
 * and short timeouts. */
#ifndef MDV_HTTPC_H
#define MDV_HTTPC_H

#include <jansson.h>
#include <stddef.h>

#include "mdv/util.h"

/* Largest answer read; a longer one is an error. */
#define MDV_HTTPC_BODY_MAX (256 * 1024)

/* Once per process, before any thread calls the others. */
int mdv_httpc_init(void) MDV_MUSTCHECK;
void mdv_httpc_cleanup(void);

/* GET url; the answer must be 200 and a JSON object, given in *out (the
 * caller decrefs it). Else -1 with why in err. */
int mdv_httpc_get_json(const char *url, json_t **out, char *err, size_t errlen) MDV_MUSTCHECK;
/* The same with an OAuth 2.0 access token (Authorization: Bearer). */
int mdv_httpc_get_json_bearer(const char *url, const char *token, json_t **out, char *err,
                              size_t errlen) MDV_MUSTCHECK;

/* POSTs fields (name, value, name, value..., NULL), form-encoded, with
 * HTTP Basic user:password (RFC 6749 §2.3.1: each form-encoded first).
 * Any status with a JSON object body gives 0, the status in *status and
 * the object in *out; else -1 with why in err. */
int mdv_httpc_post_form(const char *url, const char *user, const char *password,
                        const char *const *fields, long *status, json_t **out, char *err,
                        size_t errlen) MDV_MUSTCHECK;

/* POSTs body as JSON with "Authorization: Bearer <bearer>", the whole call
 * (connection included) bounded by timeout_ms. Any status with a JSON
 * object body gives 0, the status in *status and the object in *out (the
 * caller decrefs it); else -1 with why in err. */
int mdv_httpc_post_json(const char *url, const char *bearer, const json_t *body, long timeout_ms,
                        long *status, json_t **out, char *err, size_t errlen) MDV_MUSTCHECK;

/* text percent-encoded for a URL's query (RFC 3986 unreserved kept); the
 * caller frees it. */
char *mdv_httpc_escape(const char *text);

#endif
