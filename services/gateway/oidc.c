/* GET /auth/login, GET /auth/callback, POST /auth/logout: authorization
 * code with PKCE (S256), state and nonce kept in the gateway's database
 * (single use, LOGIN_TTL_S), the code exchanged at the token endpoint with
 * the client's secret (client_secret_basic), the ID token checked against
 * the provider's keys (jwks.c) and its nonce; then the claims read from
 * the userinfo endpoint with the access token, as FranceConnect gives the
 * pivot identity there and not in the ID token; then a session
 * (session.c).
 * The provider's endpoints come from its discovery document, fetched at the
 * first sign-in (the provider may start after the gateway). */
#include "oidc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "mdv/httpc.h"
#include "mdv/log.h"

#define LOGIN_TTL_S 600
#define RETURN_TO_MAX 512
#define LOGIN_COOKIE "mdv_login"

struct gateway_oidc {
    char *issuer, *client_id, *client_secret, *redirect_uri, *post_logout_uri, *scopes;
    long session_ttl;
    pthread_mutex_t lock; /* discovery */
    char *authorization_endpoint, *token_endpoint, *end_session_endpoint, *userinfo_endpoint;
    struct gateway_jwks *jwks;
};

static int is_url(const char *value)
{
    return strncmp(value, "http://", 7) == 0 || strncmp(value, "https://", 8) == 0;
}

int gateway_check_optional_url(const char *value, char *err, size_t errlen)
{
    if (!*value || (is_url(value) && !strpbrk(value, " \t\r\n?#")))
        return 0;
    snprintf(err, errlen, "want an http:// or https:// URL without query or fragment");
    return -1;
}

int gateway_check_optional_file(const char *value, char *err, size_t errlen)
{
    return *value ? mdv_check_readable_file(value, err, errlen) : 0;
}

void gateway_random_token(char out[GATEWAY_TOKEN_LEN])
{
    unsigned char raw[32], b64[48];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        abort(); /* no randomness: nothing safe to hand out */
    EVP_EncodeBlock(b64, raw, sizeof(raw));
    size_t n = 0;
    for (const unsigned char *c = b64; *c && *c != '=' && n < GATEWAY_TOKEN_LEN - 1; c++)
        out[n++] = *c == '+' ? '-' : *c == '/' ? '_' : (char)*c;
    out[n] = '\0';
}

static void sha256(const char *text, unsigned char digest[32])
{
    unsigned int len = 0;
    EVP_Digest(text, strlen(text), digest, &len, EVP_sha256(), NULL);
}

void gateway_sha256_hex(const char *text, char out[65])
{
    unsigned char digest[32];
    sha256(text, digest);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* RFC 7636 §4.2: BASE64URL(SHA256(verifier)). */
static void pkce_challenge(const char *verifier, char out[GATEWAY_TOKEN_LEN])
{
    unsigned char digest[32], b64[48];
    sha256(verifier, digest);
    EVP_EncodeBlock(b64, digest, sizeof(digest));
    size_t n = 0;
    for (const unsigned char *c = b64; *c && *c != '=' && n < GATEWAY_TOKEN_LEN - 1; c++)
        out[n++] = *c == '+' ? '-' : *c == '/' ? '_' : (char)*c;
    out[n] = '\0';
}

static char *read_secret(const char *file)
{
    size_t len = 0;
    char *secret = mdv_read_file(file, &len);
    while (secret && len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r'))
        secret[--len] = '\0';
    if (secret && len == 0) {
        free(secret);
        secret = NULL;
    }
    return secret;
}

static int require(const char *value, const char *name)
{
    if (value && *value)
        return 0;
    fprintf(stderr, "configuration: %s is required when MDV_OIDC_ISSUER is set\n", name);
    return -1;
}

struct gateway_oidc *gateway_oidc_new(const struct gateway_oidc_settings *s)
{
    struct gateway_oidc *oidc = mdv_xcalloc(1, sizeof(*oidc));
    pthread_mutex_init(&oidc->lock, NULL);
    oidc->session_ttl = atol(s->session_ttl_s);
    if (!*s->issuer)
        return oidc; /* bearer tokens only */
    if (require(s->client_id, "MDV_OIDC_CLIENT_ID") |
        require(s->redirect_uri, "MDV_OIDC_REDIRECT_URI") |
        require(s->post_logout_uri, "MDV_OIDC_POST_LOGOUT_URI") |
        require(s->client_secret_file, "MDV_OIDC_CLIENT_SECRET_FILE")) {
        gateway_oidc_destroy(oidc);
        return NULL;
    }
    oidc->client_secret = read_secret(s->client_secret_file);
    if (!oidc->client_secret) {
        fprintf(stderr, "configuration: MDV_OIDC_CLIENT_SECRET_FILE=\"%s\" holds no secret\n",
                s->client_secret_file);
        gateway_oidc_destroy(oidc);
        return NULL;
    }
    oidc->issuer = mdv_xstrdup(s->issuer);
    oidc->client_id = mdv_xstrdup(s->client_id);
    oidc->redirect_uri = mdv_xstrdup(s->redirect_uri);
    oidc->post_logout_uri = mdv_xstrdup(s->post_logout_uri);
    oidc->scopes = mdv_xstrdup(s->scopes);
    return oidc;
}

void gateway_oidc_destroy(struct gateway_oidc *oidc)
{
    if (!oidc)
        return;
    gateway_jwks_destroy(oidc->jwks);
    pthread_mutex_destroy(&oidc->lock);
    if (oidc->client_secret)
        OPENSSL_cleanse(oidc->client_secret, strlen(oidc->client_secret));
    free(oidc->client_secret);
    free(oidc->issuer);
    free(oidc->client_id);
    free(oidc->redirect_uri);
    free(oidc->post_logout_uri);
    free(oidc->scopes);
    free(oidc->authorization_endpoint);
    free(oidc->token_endpoint);
    free(oidc->end_session_endpoint);
    free(oidc->userinfo_endpoint);
    free(oidc);
}

int gateway_oidc_secure(const struct gateway_oidc *oidc)
{
    return oidc->redirect_uri && strncmp(oidc->redirect_uri, "https://", 8) == 0;
}

long gateway_oidc_session_ttl(const struct gateway_oidc *oidc)
{
    return oidc->session_ttl;
}

static char *endpoint(const json_t *doc, const char *name)
{
    const char *v = json_string_value(json_object_get(doc, name));
    return v && is_url(v) ? mdv_xstrdup(v) : NULL;
}

/* OpenID Connect Discovery 1.0 §4: the document's issuer must be ours. */
static int discover_locked(struct gateway_oidc *oidc)
{
    char err[256];
    json_t *doc = NULL;
    char *url = mdv_xasprintf("%s/.well-known/openid-configuration", oidc->issuer);
    int rc = -1;

    if (mdv_httpc_get_json(url, &doc, err, sizeof(err)) != 0) {
        mdv_warn("cannot read the provider's discovery document %s: %s", url, err);
        goto out;
    }
    const char *issuer = json_string_value(json_object_get(doc, "issuer"));
    char *jwks_uri = endpoint(doc, "jwks_uri");
    oidc->authorization_endpoint = endpoint(doc, "authorization_endpoint");
    oidc->token_endpoint = endpoint(doc, "token_endpoint");
    oidc->end_session_endpoint = endpoint(doc, "end_session_endpoint");
    oidc->userinfo_endpoint = endpoint(doc, "userinfo_endpoint");
    if (!issuer || strcmp(issuer, oidc->issuer) != 0 || !jwks_uri ||
        !oidc->authorization_endpoint || !oidc->token_endpoint) {
        mdv_warn("the discovery document %s lacks an endpoint or names another issuer", url);
        free(jwks_uri);
        goto out;
    }
    oidc->jwks = gateway_jwks_new(jwks_uri, oidc->issuer, oidc->client_id);
    free(jwks_uri);
    mdv_info("OpenID provider %s discovered", oidc->issuer);
    rc = 0;
out:
    if (rc != 0) {
        free(oidc->authorization_endpoint);
        free(oidc->token_endpoint);
        free(oidc->end_session_endpoint);
        free(oidc->userinfo_endpoint);
        oidc->authorization_endpoint = oidc->token_endpoint = oidc->end_session_endpoint = NULL;
        oidc->userinfo_endpoint = NULL;
    }
    json_decref(doc);
    free(url);
    return rc;
}

/* 0 once the provider is known; else answers 503 and returns -1. */
static int discover(struct gateway_oidc *oidc, struct mdv_http_response *res)
{
    int rc = -1;
    if (!oidc->issuer) {
        mdv_http_problem(res, 404, "not-found", "Connexion indisponible",
                         "Sign-in is not configured on this gateway (MDV_OIDC_ISSUER).", NULL);
        return -1;
    }
    pthread_mutex_lock(&oidc->lock);
    rc = oidc->jwks ? 0 : discover_locked(oidc);
    pthread_mutex_unlock(&oidc->lock);
    if (rc != 0)
        mdv_http_problem(res, 503, "provider-unavailable", "Service d'identification indisponible",
                         "The identity provider cannot be reached; try again shortly.", NULL);
    return rc;
}

/* A local path only: "/" then anything but a second "/" or "\" (which a
 * browser would read as another host), printable ASCII without "\" (the
 * contract's pattern). */
static int return_to_is_local(const char *path)
{
    if (!path || path[0] != '/' || path[1] == '/' || strlen(path) > RETURN_TO_MAX)
        return 0;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++)
        if (*c < 0x20 || *c > 0x7e || *c == '\\')
            return 0;
    return 1;
}

static char *query_append(char *url, const char *name, const char *value)
{
    char *escaped = mdv_httpc_escape(value);
    char *next = mdv_xasprintf("%s%c%s=%s", url, strchr(url, '?') ? '&' : '?', name, escaped);
    free(escaped);
    free(url);
    return next;
}

static int remember_login(struct gateway *gw, const char *state, const char *nonce,
                          const char *verifier, const char *return_to)
{
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", LOGIN_TTL_S);
    const char *params[] = {state, nonce, verifier, return_to, ttl};
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn)
        return -1;
    /* Logins never finished are dropped as new ones come. */
    int rc = mdv_pg_exec(conn, "DELETE FROM oidc_logins WHERE expires_at < now()", 0, NULL);
    if (rc == 0)
        rc = mdv_pg_exec(conn,
                         "INSERT INTO oidc_logins (state, nonce, code_verifier, return_to,"
                         " expires_at) VALUES ($1, $2, $3, $4, now() + $5 * interval '1 second')",
                         5, params);
    mdv_pg_pool_put(gw->pool, conn);
    return rc;
}

static void set_cookie(struct mdv_http_response *res, const struct gateway_oidc *oidc,
                       const char *name, const char *value, const char *path, long max_age)
{
    char *cookie = mdv_xasprintf("%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Lax%s", name,
                                 value, path, max_age, gateway_oidc_secure(oidc) ? "; Secure" : "");
    mdv_http_add_header(res, "Set-Cookie", cookie);
    free(cookie);
}

void gateway_set_session_cookie(struct gateway *gw, struct mdv_http_response *res,
                                const char *value, long max_age)
{
    set_cookie(res, gw->oidc, GATEWAY_SESSION_COOKIE, value, "/", max_age);
}

void auth_login(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_oidc *oidc = gw->oidc;
    const char *return_to = mdv_http_query(req, "return_to");
    char state[GATEWAY_TOKEN_LEN], nonce[GATEWAY_TOKEN_LEN], verifier[GATEWAY_TOKEN_LEN],
        challenge[GATEWAY_TOKEN_LEN];

    if (!return_to)
        return_to = "/";
    if (!return_to_is_local(return_to)) {
        json_t *errors = json_array();
        mdv_http_field_error(errors, "return_to", "must be a path of this site, starting with /");
        mdv_http_problem(res, 400, "validation", "Adresse de retour invalide",
                         "return_to must be a local path.", errors);
        return;
    }
    if (discover(oidc, res) != 0)
        return;
    gateway_random_token(state);
    gateway_random_token(nonce);
    gateway_random_token(verifier);
    pkce_challenge(verifier, challenge);
    if (remember_login(gw, state, nonce, verifier, return_to) != 0) {
        mdv_http_unavailable(res);
        return;
    }
    char *url = mdv_xstrdup(oidc->authorization_endpoint);
    const char *params[][2] = {
        {"response_type", "code"},
        {"client_id", oidc->client_id},
        {"redirect_uri", oidc->redirect_uri},
        {"scope", oidc->scopes},
        {"state", state},
        {"nonce", nonce},
        {"code_challenge", challenge},
        {"code_challenge_method", "S256"},
    };
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
        url = query_append(url, params[i][0], params[i][1]);
    set_cookie(res, oidc, LOGIN_COOKIE, state, "/auth", LOGIN_TTL_S);
    mdv_http_redirect(res, 302, url);
    free(url);
}

static void login_failed(struct mdv_http_response *res, int status, const char *detail)
{
    mdv_info("sign-in refused: %s", detail);
    mdv_http_problem(res, status, "sign-in-failed", "Connexion impossible, recommencez", detail,
                     NULL);
}

/* The login of state, taken (single use): 1 and its nonce, verifier and
 * return_to; 0 when unknown, used or expired; -1 on a database error. */
static int take_login(struct gateway *gw, const char *state, char nonce[GATEWAY_TOKEN_LEN],
                      char verifier[GATEWAY_TOKEN_LEN], char return_to[RETURN_TO_MAX + 1])
{
    const char *params[] = {state};
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn)
        return -1;
    PGresult *r = mdv_pg_query(conn,
                               "DELETE FROM oidc_logins WHERE state = $1"
                               " RETURNING nonce, code_verifier, return_to, expires_at > now()",
                               1, params);
    mdv_pg_pool_put(gw->pool, conn);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    if (found) {
        mdv_strlcpy(nonce, PQgetvalue(r, 0, 0), GATEWAY_TOKEN_LEN);
        mdv_strlcpy(verifier, PQgetvalue(r, 0, 1), GATEWAY_TOKEN_LEN);
        mdv_strlcpy(return_to, PQgetvalue(r, 0, 2), RETURN_TO_MAX + 1);
    }
    PQclear(r);
    return found;
}

/* The code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.5); the ID token the
 * answer holds, which the caller frees, or NULL with why in err. The
 * access token goes to *access (NULL when none), which the caller frees. */
static char *exchange(struct gateway_oidc *oidc, const char *code, const char *verifier,
                      char **access, char *err, size_t errlen)
{
    const char *fields[] = {
        "grant_type",       "authorization_code", "code",   code, "redirect_uri",
        oidc->redirect_uri, "code_verifier",      verifier, NULL};
    json_t *answer = NULL;
    long status = 0;
    char *id_token = NULL;

    if (mdv_httpc_post_form(oidc->token_endpoint, oidc->client_id, oidc->client_secret, fields,
                            &status, &answer, err, errlen) != 0)
        return NULL;
    const char *token = json_string_value(json_object_get(answer, "id_token"));
    if (status != 200 || !token) {
        const char *why = json_string_value(json_object_get(answer, "error"));
        snprintf(err, errlen, "token endpoint answered %ld (%s)", status,
                 why ? why : "no ID token");
    } else if (strlen(token) > MDV_AUTH_TOKEN_MAX) {
        snprintf(err, errlen, "ID token too long");
    } else {
        id_token = mdv_xstrdup(token);
        const char *at = json_string_value(json_object_get(answer, "access_token"));
        *access = at && strlen(at) <= MDV_AUTH_TOKEN_MAX ? mdv_xstrdup(at) : NULL;
    }
    json_decref(answer);
    return id_token;
}

/* OpenID Connect Core §5.3: the userinfo endpoint's claims, read with the
 * access token, join the ID token's (theirs win: FranceConnect gives the
 * pivot identity there only). Its sub must be the ID token's (§5.3.2),
 * else the answer is another person's. A provider without the endpoint
 * leaves the ID token's claims alone. 0, or -1 with why in err. */
static int add_userinfo(struct gateway_oidc *oidc, const char *access, json_t *claims, char *err,
                        size_t errlen)
{
    json_t *info = NULL;
    if (!oidc->userinfo_endpoint)
        return 0;
    if (!access) {
        snprintf(err, errlen, "token endpoint gave no access token for the userinfo endpoint");
        return -1;
    }
    if (mdv_httpc_get_json_bearer(oidc->userinfo_endpoint, access, &info, err, errlen) != 0)
        return -1;
    const char *sub = json_string_value(json_object_get(info, "sub"));
    int rc = -1;
    if (!sub || strcmp(sub, json_string_value(json_object_get(claims, "sub"))) != 0) {
        snprintf(err, errlen, "userinfo names another sub than the ID token");
    } else {
        json_object_update(claims, info);
        rc = 0;
    }
    json_decref(info);
    return rc;
}

/* OpenID Connect Core §3.1.3.7: signature, iss, aud, exp (jwks.c), then
 * the nonce this login sent, compared in constant time. */
static json_t *check_id_token(struct gateway_oidc *oidc, const char *id_token, const char *nonce,
                              char *err, size_t errlen)
{
    json_t *claims = NULL;
    if (gateway_jwks_check(oidc->jwks, id_token, &claims, err, errlen) != 0)
        return NULL;
    const char *got = json_string_value(json_object_get(claims, "nonce"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (!got || strlen(got) != strlen(nonce) || CRYPTO_memcmp(got, nonce, strlen(nonce)) != 0)
        snprintf(err, errlen, "ID token nonce does not match the login's");
    else if (!sub || !*sub || strlen(sub) >= MDV_AUTH_SUB_LEN)
        snprintf(err, errlen, "ID token without a usable sub");
    else
        return claims;
    json_decref(claims);
    return NULL;
}

/* The state must come back in the browser that started the login (its
 * mdv_login cookie), else someone could sign a victim into their own
 * account with a callback URL of theirs. */
static int callback_state(const struct mdv_http_request *req, struct mdv_http_response *res,
                          const char **state)
{
    const char *cookie = mdv_http_cookie(req, LOGIN_COOKIE);
    const char *error = mdv_http_query(req, "error");
    *state = mdv_http_query(req, "state");
    if (error) {
        login_failed(res, 401, "The identity provider refused the sign-in.");
        return -1;
    }
    if (!*state || !mdv_http_query(req, "code")) {
        login_failed(res, 400, "The callback lacks code or state.");
        return -1;
    }
    if (!cookie || strcmp(cookie, *state) != 0 || strlen(*state) >= GATEWAY_TOKEN_LEN) {
        login_failed(res, 403, "This sign-in was not started by this browser.");
        return -1;
    }
    return 0;
}

void auth_callback(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_oidc *oidc = gw->oidc;
    char nonce[GATEWAY_TOKEN_LEN], verifier[GATEWAY_TOKEN_LEN], return_to[RETURN_TO_MAX + 1];
    char err[256], cookie[GATEWAY_TOKEN_LEN];
    const char *state, *iss = mdv_http_query(req, "iss");
    char *id_token = NULL, *access = NULL;
    json_t *claims = NULL;

    if (discover(oidc, res) != 0 || callback_state(req, res, &state) != 0)
        return;
    int taken = take_login(gw, state, nonce, verifier, return_to);
    if (taken < 0) {
        mdv_http_unavailable(res);
        return;
    }
    if (!taken) {
        login_failed(res, 403, "This sign-in is unknown, expired or already used.");
        return;
    }
    if (iss && strcmp(iss, oidc->issuer) != 0) { /* RFC 9207 */
        login_failed(res, 400, "The callback names another issuer.");
        return;
    }
    id_token = exchange(oidc, mdv_http_query(req, "code"), verifier, &access, err, sizeof(err));
    if (id_token)
        claims = check_id_token(oidc, id_token, nonce, err, sizeof(err));
    if (claims && add_userinfo(oidc, access, claims, err, sizeof(err)) != 0) {
        json_decref(claims);
        claims = NULL;
    }
    if (!claims) {
        login_failed(res, 401, err);
        goto out;
    }
    int rc = gateway_session_open(gw, claims, id_token, cookie);
    if (rc != 0) {
        if (rc > 0)
            login_failed(res, 401, "The identity provider gave no usable pivot identity.");
        else
            mdv_http_unavailable(res);
        goto out;
    }
    set_cookie(res, oidc, LOGIN_COOKIE, "", "/auth", 0);
    gateway_set_session_cookie(gw, res, cookie, oidc->session_ttl);
    mdv_http_redirect(res, 303, return_to);
out:
    json_decref(claims);
    free(id_token);
    free(access);
}

void auth_logout(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_oidc *oidc = gw->oidc;
    struct gateway_caller caller;
    char *id_token = NULL;

    if (discover(oidc, res) != 0 || gateway_caller_get(gw, req, res, &caller) != 0)
        return;
    if (!caller.session[0]) { /* a bearer token: no session to end */
        gateway_set_session_cookie(gw, res, "", 0);
        mdv_http_redirect(res, 303, oidc->post_logout_uri);
        return;
    }
    int rc = gateway_session_close(gw, caller.session, &id_token);
    if (rc < 0) {
        mdv_http_unavailable(res);
        return;
    }
    gateway_set_session_cookie(gw, res, "", 0);
    if (!oidc->end_session_endpoint || !id_token) {
        mdv_http_redirect(res, 303, oidc->post_logout_uri);
        free(id_token);
        return;
    }
    char *url = query_append(mdv_xstrdup(oidc->end_session_endpoint), "id_token_hint", id_token);
    url = query_append(url, "post_logout_redirect_uri", oidc->post_logout_uri);
    url = query_append(url, "client_id", oidc->client_id);
    mdv_http_redirect(res, 303, url);
    free(url);
    free(id_token);
}
