/* Sessions: opened at the end of a sign-in (oidc.c), kept in the gateway's
 * database under the SHA-256 of their cookie (a copy of the table opens no
 * session), each with its CSRF token, ended by sign-out or expiry. Every
 * route authenticates its caller here: a bearer token (programs), else the
 * session cookie, which on POST, PUT, PATCH and DELETE must come with the
 * session's CSRF token (X-CSRF-Token, or the form field csrf_token). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"
#include "mdv/log.h"
#include "mdv/pivot.h"
#include "oidc.h"

#define CSRF_FIELD "csrf_token"
#define FORM_TYPE "application/x-www-form-urlencoded"

/* The pivot identity's matching key (mdv/pivot.h) from FranceConnect's
 * claims: the first given name, F or M, the commune of birth or, for a
 * person born abroad (no birthplace), the country. */
int gateway_pivot_key_of_claims(const json_t *claims, char key[MDV_PIVOT_KEY_LEN])
{
    const char *given = json_string_value(json_object_get(claims, "given_name"));
    const char *family = json_string_value(json_object_get(claims, "family_name"));
    const char *birthdate = json_string_value(json_object_get(claims, "birthdate"));
    const char *gender = json_string_value(json_object_get(claims, "gender"));
    const char *place = json_string_value(json_object_get(claims, "birthplace"));
    char first[MDV_PIVOT_NAME_MAX * 4];

    if (!place || !*place)
        place = json_string_value(json_object_get(claims, "birthcountry"));
    if (!given || !family || !birthdate || !gender || !place)
        return -1;
    const char *sex = strcmp(gender, "female") == 0 ? "F"
                      : strcmp(gender, "male") == 0 ? "M"
                                                    : NULL;
    size_t n = strcspn(given, " ");
    if (!sex || n == 0 || n >= sizeof(first))
        return -1;
    memcpy(first, given, n);
    first[n] = '\0';
    return mdv_pivot_key(family, first, sex, birthdate, place, key);
}

static const char *role_of(const json_t *claims)
{
    const char *role = json_string_value(json_object_get(claims, "mdv_role"));
    return role && strcmp(role, "agent") == 0 ? "agent" : "usager";
}

/* A usager's sub and pivot key, so that a mandate recorded before or after
 * their first sign-in finds them (mandates.c). */
static int remember_usager(PGconn *conn, const char *sub, const char *key)
{
    const char *params[] = {sub, key};
    if (mdv_pg_exec(conn,
                    "INSERT INTO usagers (sub, pivot_key) VALUES ($1, $2) ON CONFLICT (sub)"
                    " DO UPDATE SET pivot_key = excluded.pivot_key, signed_in_at = now()",
                    2, params) != 0)
        return -1;
    return mdv_pg_exec(conn,
                       "UPDATE mandates SET usager_sub = $1 WHERE pivot_key = $2"
                       " AND usager_sub IS NULL",
                       2, params);
}

static int insert_session(PGconn *conn, const char *hash, const json_t *claims, const char *role,
                          const char *id_token, long ttl)
{
    char csrf[GATEWAY_TOKEN_LEN], ttl_text[24];
    char *claims_text = json_dumps(claims, JSON_COMPACT);
    gateway_random_token(csrf);
    snprintf(ttl_text, sizeof(ttl_text), "%ld", ttl);
    const char *params[] = {hash,     json_string_value(json_object_get(claims, "sub")),
                            role,     claims_text,
                            id_token, csrf,
                            ttl_text};
    int rc = mdv_pg_exec(conn,
                         "INSERT INTO sessions (session_hash, sub, role, claims, id_token,"
                         " csrf_token, expires_at) VALUES ($1, $2, $3, $4, $5, $6,"
                         " now() + $7 * interval '1 second')",
                         7, params);
    free(claims_text);
    return rc;
}

int gateway_session_open(struct gateway *gw, const json_t *claims, const char *id_token,
                         char cookie[GATEWAY_TOKEN_LEN])
{
    char key[MDV_PIVOT_KEY_LEN], hash[65];
    const char *role = role_of(claims);
    const char *sub = json_string_value(json_object_get(claims, "sub"));

    if (gateway_pivot_key_of_claims(claims, key) != 0)
        return 1;
    gateway_random_token(cookie);
    gateway_sha256_hex(cookie, hash);
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn)
        return -1;
    int rc = mdv_pg_begin(conn);
    if (rc == 0)
        rc = mdv_pg_exec(conn, "DELETE FROM sessions WHERE expires_at < now()", 0, NULL);
    if (rc == 0 && strcmp(role, "usager") == 0)
        rc = remember_usager(conn, sub, key);
    if (rc == 0)
        rc = insert_session(conn, hash, claims, role, id_token, gateway_oidc_session_ttl(gw->oidc));
    if (rc == 0)
        rc = mdv_pg_commit(conn);
    else
        mdv_pg_rollback(conn);
    mdv_pg_pool_put(gw->pool, conn);
    if (rc == 0)
        mdv_info("session opened for %s (%s)", sub, role);
    return rc;
}

int gateway_session_close(struct gateway *gw, const char *hash, char **id_token)
{
    const char *params[] = {hash};
    *id_token = NULL;
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn)
        return -1;
    PGresult *r = mdv_pg_query(
        conn, "DELETE FROM sessions WHERE session_hash = $1 RETURNING id_token", 1, params);
    mdv_pg_pool_put(gw->pool, conn);
    if (!r)
        return -1;
    if (PQntuples(r) == 1)
        *id_token = mdv_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static int method_is_safe(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}

/* The csrf_token field of a form body, decoded into out; "" when none. */
static void form_csrf(const struct mdv_http_request *req, char *out, size_t outlen)
{
    const char *type = mdv_http_header(req, "Content-Type");
    out[0] = '\0';
    if (!req->body || !type || strncasecmp(type, FORM_TYPE, strlen(FORM_TYPE)) != 0)
        return;
    for (const char *p = req->body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        size_t n = strlen(CSRF_FIELD);
        if (strncmp(p, CSRF_FIELD, n) != 0 || p[n] != '=')
            continue;
        size_t len = strcspn(p + n + 1, "&");
        if (len < outlen) {
            memcpy(out, p + n + 1, len);
            out[len] = '\0';
            mdv_http_unescape_form(out);
        }
        return;
    }
}

static int csrf_ok(const struct mdv_http_request *req, const char *expected)
{
    char field[GATEWAY_TOKEN_LEN * 3];
    const char *got = mdv_http_header(req, "X-CSRF-Token");
    if (!got) {
        form_csrf(req, field, sizeof(field));
        got = field;
    }
    size_t n = strlen(expected);
    return strlen(got) == n && n > 0 && CRYPTO_memcmp(got, expected, n) == 0;
}

/* 1 and the caller when the cookie names a live session; 0 when not; -1
 * on a database error. */
static int session_lookup(PGconn *conn, const char *cookie, struct gateway_caller *caller,
                          char csrf[GATEWAY_TOKEN_LEN])
{
    char hash[65];
    gateway_sha256_hex(cookie, hash);
    const char *params[] = {hash};
    PGresult *r = mdv_pg_query(conn,
                               "SELECT sub, role, csrf_token FROM sessions"
                               " WHERE session_hash = $1 AND expires_at > now()",
                               1, params);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        mdv_strlcpy(caller->sub, PQgetvalue(r, 0, 0), sizeof(caller->sub));
        caller->agent = strcmp(PQgetvalue(r, 0, 1), "agent") == 0;
        mdv_strlcpy(caller->session, hash, sizeof(caller->session));
        mdv_strlcpy(csrf, PQgetvalue(r, 0, 2), GATEWAY_TOKEN_LEN);
    }
    PQclear(r);
    return found;
}

/* session_lookup on conn, the connection the request holds; without one,
 * on a pooled connection given back at once. A request holding one and
 * waiting for a second would wait for requests like itself: with every
 * connection held that way, none would come back before the pool's wait
 * ran out. */
static int session_find(struct gateway *gw, PGconn *conn, const char *cookie,
                        struct gateway_caller *caller, char csrf[GATEWAY_TOKEN_LEN])
{
    if (conn)
        return session_lookup(conn, cookie, caller, csrf);
    PGconn *pooled = mdv_pg_pool_get(gw->pool);
    if (!pooled)
        return -1;
    int found = session_lookup(pooled, cookie, caller, csrf);
    mdv_pg_pool_put(gw->pool, pooled);
    return found;
}

static void unauthorized(struct mdv_http_response *res, const char *detail)
{
    mdv_http_problem(res, 401, "unauthorized", "Connexion requise", detail, NULL);
}

static int by_session(struct gateway *gw, PGconn *conn, const struct mdv_http_request *req,
                      struct mdv_http_response *res, const char *cookie,
                      struct gateway_caller *caller)
{
    char csrf[GATEWAY_TOKEN_LEN];
    int found = session_find(gw, conn, cookie, caller, csrf);
    if (found < 0) {
        mdv_http_unavailable(res);
        return -1;
    }
    if (!found) {
        unauthorized(res, "The session has ended or expired: sign in again.");
        return -1;
    }
    if (!method_is_safe(req->method) && !csrf_ok(req, csrf)) {
        mdv_http_problem(res, 403, "csrf",
                         "Requête refusée : jeton anti-falsification absent ou invalide",
                         "A request authenticated by the session cookie must carry the session's"
                         " CSRF token (X-CSRF-Token header or csrf_token form field).",
                         NULL);
        return -1;
    }
    return 0;
}

int gateway_caller_get(struct gateway *gw, const struct mdv_http_request *req,
                       struct mdv_http_response *res, struct gateway_caller *caller)
{
    return gateway_caller_get_on(gw, NULL, req, res, caller);
}

int gateway_caller_get_on(struct gateway *gw, PGconn *conn, const struct mdv_http_request *req,
                          struct mdv_http_response *res, struct gateway_caller *caller)
{
    char why[128];
    const char *authorization = mdv_http_header(req, "Authorization");
    const char *cookie = mdv_http_cookie(req, GATEWAY_SESSION_COOKIE);

    memset(caller, 0, sizeof(*caller));
    if (!authorization && cookie && *cookie)
        return by_session(gw, conn, req, res, cookie, caller);
    if (mdv_auth_verify(gw->auth, authorization, caller->sub, sizeof(caller->sub), why,
                        sizeof(why)) == 0)
        return 0;
    char *detail = mdv_xasprintf("A valid bearer token or session is required: %s.", why);
    unauthorized(res, detail);
    free(detail);
    return -1;
}

/* GET /v1/me: who is signed in, their pivot identity and CSRF token. */
void me_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    const char *cookie = mdv_http_cookie(req, GATEWAY_SESSION_COOKIE);
    struct gateway_caller caller;

    if (gateway_caller_get(gw, req, res, &caller) != 0)
        return;
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn) {
        mdv_http_unavailable(res);
        return;
    }
    json_t *me = gateway_me_json(conn, &caller, cookie);
    mdv_pg_pool_put(gw->pool, conn);
    if (!me) {
        mdv_http_unavailable(res);
        return;
    }
    /* Only a signed-in usager's own identity is looked up (an agent's is
     * no usager's; a bearer token brings no pivot identity), and with the
     * connection given back: identity may take up to its timeout. */
    if (caller.session[0] && !caller.agent)
        json_object_set_new(me, "known", gateway_known_json(&gw->known, me));
    mdv_http_json(res, 200, me);
}
