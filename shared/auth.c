/* JWT verification and (for the local tool) minting, with libjwt.
 *
 * libjwt 1.10 is lenient where an attacker gains: the token's header picks
 * the algorithm (HS256 keyed with our public PEM verifies), compared without
 * case; base64 is decoded up to the first character it does not know, so
 * trailing garbage or a fourth part goes unseen; of a duplicate member the
 * last wins; and a claim that is not an integer reads as 0, so a string or
 * fractional nbf is no nbf at all. Hence the token's form, header and claims
 * are read here, strictly, with OpenSSL's base64 and jansson; libjwt only
 * checks the signature, with the one algorithm the configured key implies. */
#include "mdv/auth.h"

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mdv/log.h"
#include "mdv/metrics.h"
#include "mdv/token_cache.h"

/* Tolerated difference between our clock and the token issuer's. */
#define CLOCK_SKEW_S 60
/* Verified bearer tokens kept (token_cache.h): about 1 MiB, a slot per
 * usager active at once on one gateway instance, with room to spare. */
#define TOKEN_CACHE_SLOTS 4096

static const char B64URL_ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_";

struct mdv_auth {
    unsigned char *key;
    size_t key_len;
    jwt_alg_t alg; /* implied by the key, never by a token */
    char *issuer;
    char *audience;
    struct mdv_token_cache *cache; /* bearer tokens this key verified, or NULL */
};

/* One base64url part of a compact JWS, inside the token's text. */
struct part {
    const char *text;
    size_t len;
};

/* The only algorithm a key verifies: RS256 for RSA, ES256 for P-256. */
static int key_algorithm(const char *pem, size_t len, jwt_alg_t *alg)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    char group[64] = "";
    int rc = -1;

    if (!pkey)
        goto out;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        *alg = JWT_ALG_RS256;
        rc = 0;
    } else if (EVP_PKEY_is_a(pkey, "EC") &&
               EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1 &&
               strcmp(group, SN_X9_62_prime256v1) == 0) {
        *alg = JWT_ALG_ES256;
        rc = 0;
    }
out:
    /* Leave no failure queued for the next OpenSSL caller to misread. */
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return rc;
}

struct mdv_auth *mdv_auth_new_pem(const char *pem, size_t len, const char *issuer,
                                  const char *audience)
{
    jwt_alg_t alg = JWT_ALG_NONE;
    if (key_algorithm(pem, len, &alg) != 0)
        return NULL;
    struct mdv_auth *auth = mdv_xcalloc(1, sizeof(*auth));
    auth->key = mdv_xmalloc(len + 1);
    memcpy(auth->key, pem, len);
    auth->key[len] = '\0';
    auth->key_len = len;
    auth->alg = alg;
    auth->issuer = mdv_xstrdup(issuer);
    auth->audience = mdv_xstrdup(audience);
    return auth;
}

struct mdv_auth *mdv_auth_new(const char *public_key_file, const char *issuer, const char *audience)
{
    size_t len = 0;
    char *key = mdv_read_file(public_key_file, &len);
    if (!key) {
        mdv_error("cannot read the token public key %s", public_key_file);
        return NULL;
    }
    struct mdv_auth *auth = mdv_auth_new_pem(key, len, issuer, audience);
    /* The configured key checks every request's bearer token: those it
     * verified are kept (a JWKS key checks one ID token at a sign-in). */
    if (auth)
        auth->cache = mdv_token_cache_new(TOKEN_CACHE_SLOTS);
    if (!auth)
        mdv_error("the token public key %s is neither an RSA nor a P-256 EC public key (PEM)",
                  public_key_file);
    free(key);
    return auth;
}

void mdv_auth_destroy(struct mdv_auth *auth)
{
    if (!auth)
        return;
    free(auth->key);
    free(auth->issuer);
    free(auth->audience);
    mdv_token_cache_destroy(auth->cache);
    free(auth);
}

/* RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, the scheme without
 * case (RFC 9110 §11.1). Returns the token's start, or NULL. */
static const char *bearer_token(const char *authorization)
{
    static const char scheme[] = "Bearer";
    size_t n = strlen(scheme);
    if (!authorization || strncasecmp(authorization, scheme, n) != 0 || authorization[n] != ' ')
        return NULL;
    const char *token = authorization + n;
    while (*token == ' ')
        token++;
    return token;
}

/* A compact JWS is exactly three non-empty base64url parts without
 * padding (RFC 7515 §7.1), and nothing after them. */
static int split_compact(const char *token, struct part parts[3], char *err, size_t errlen)
{
    if (strnlen(token, MDV_AUTH_TOKEN_MAX + 1) > MDV_AUTH_TOKEN_MAX) {
        snprintf(err, errlen, "token too long");
        return -1;
    }
    const char *c = token;
    for (int i = 0; i < 3; i++) {
        size_t len = strspn(c, B64URL_ALPHABET);
        /* No base64 text is 1 modulo 4 characters long. */
        if (len == 0 || len % 4 == 1 || *(c + len) != (i < 2 ? '.' : '\0')) {
            snprintf(err, errlen, "token is not a compact JWS");
            return -1;
        }
        parts[i] = (struct part){c, len};
        c += len + 1;
    }
    return 0;
}

/* Decodes one part into a JSON object. A duplicate member is refused:
 * another reader (the issuer's, a proxy's) could take the other one. The
 * caller decrefs the result; NULL when it is no such object. */
static json_t *decode_object(const struct part *part)
{
    size_t padded = (part->len + 3) / 4 * 4;
    char *b64 = mdv_xmalloc(padded + 1);
    unsigned char *raw = mdv_xmalloc(padded / 4 * 3 + 1);
    json_t *obj = NULL;

    for (size_t i = 0; i < padded; i++) {
        char c = i < part->len ? part->text[i] : '=';
        b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    b64[padded] = '\0';
    int n = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)padded);
    /* EVP_DecodeBlock counts a byte for each '=' of padding. */
    if (n >= 0)
        obj =
            json_loadb((char *)raw, (size_t)n - (padded - part->len), JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    free(raw);
    free(b64);
    return obj;
}

/* kid, jku, x5u, x5c and jwk are ignored: the key is the configured one.
 * RFC 7515 §4.1.11: a token whose crit names an extension we do not
 * understand must be refused, and we understand none. */
static int check_header(const struct mdv_auth *auth, const json_t *header, char *err, size_t errlen)
{
    const char *alg = json_string_value(json_object_get(header, "alg"));
    if (!alg || strcmp(alg, jwt_alg_str(auth->alg)) != 0)
        snprintf(err, errlen, "algorithm not accepted");
    else if (json_object_get(header, "crit"))
        snprintf(err, errlen, "critical header extension not supported");
    else
        return 0;
    return -1;
}

/* libjwt checks the signature over the very text checked above. */
static int check_signature(const struct mdv_auth *auth, const char *token, char *err, size_t errlen)
{
    jwt_t *jwt = NULL;
    int rc = 0;
    if (jwt_decode(&jwt, token, auth->key, (int)auth->key_len) != 0 || !jwt ||
        jwt_get_alg(jwt) != auth->alg) {
        snprintf(err, errlen, "token signature invalid");
        rc = -1;
    }
    jwt_free(jwt);
    return rc;
}

/* aud may be a string or a list of strings (RFC 7519 §4.1.3). */
static int audience_matches(const json_t *claims, const char *audience)
{
    const json_t *aud = json_object_get(claims, "aud");
    int ok = 0;
    if (json_is_string(aud)) {
        ok = strcmp(json_string_value(aud), audience) == 0;
    } else if (json_is_array(aud)) {
        size_t i;
        const json_t *v;
        json_array_foreach(aud, i, v) ok |=
            json_is_string(v) && !strcmp(json_string_value(v), audience);
    }
    return ok;
}

/* A NumericDate (RFC 7519 §2) is a JSON number, integer or fractional.
 * Absent: 0 and *present cleared; any other JSON type: -1. */
static int read_date(const json_t *claims, const char *name, double *value, int *present)
{
    const json_t *v = json_object_get(claims, name);
    *present = v != NULL;
    *value = json_is_number(v) ? json_number_value(v) : 0;
    return !v || json_is_number(v) ? 0 : -1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* exp is required and strict (RFC 7519 §4.1.4: not on or after it); nbf
 * and iat get the clock skew; an iat ahead of that is a forged clock. */
static int check_times(const json_t *claims, char *err, size_t errlen)
{
    double exp, nbf, iat, now = now_seconds();
    int has_exp, has_nbf, has_iat;
    if (read_date(claims, "exp", &exp, &has_exp) != 0 ||
        read_date(claims, "nbf", &nbf, &has_nbf) != 0 ||
        read_date(claims, "iat", &iat, &has_iat) != 0)
        snprintf(err, errlen, "exp, nbf and iat must be numbers");
    else if (!has_exp || exp <= now)
        snprintf(err, errlen, "token expired or without expiry");
    else if (has_nbf && nbf > now + CLOCK_SKEW_S)
        snprintf(err, errlen, "token not yet valid");
    else if (has_iat && iat > now + CLOCK_SKEW_S)
        snprintf(err, errlen, "token issued in the future");
    else
        return 0;
    return -1;
}

static int check_claims(const struct mdv_auth *auth, const json_t *claims, char *err, size_t errlen)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));

    if (!iss || strcmp(iss, auth->issuer) != 0)
        snprintf(err, errlen, "wrong issuer");
    else if (!audience_matches(claims, auth->audience))
        snprintf(err, errlen, "wrong audience");
    else
        return check_times(claims, err, errlen);
    return -1;
}

/* The token's header and claims, each one JSON object, or -1. */
static int decode_token(const char *token, struct part parts[3], json_t **header, json_t **claims,
                        char *err, size_t errlen)
{
    *header = *claims = NULL;
    if (split_compact(token, parts, err, errlen) != 0)
        return -1;
    *header = decode_object(&parts[0]);
    *claims = decode_object(&parts[1]);
    if (*header && *claims)
        return 0;
    snprintf(err, errlen, "token header or claims not one JSON object without duplicates");
    json_decref(*header);
    json_decref(*claims);
    *header = *claims = NULL;
    return -1;
}

int mdv_auth_check_jws(const struct mdv_auth *auth, const char *token, json_t **claims, char *err,
                       size_t errlen)
{
    struct part parts[3];
    json_t *header = NULL, *body = NULL;
    int rc = -1;

    *claims = NULL;
    if (decode_token(token, parts, &header, &body, err, errlen) != 0)
        goto out;
    if (check_header(auth, header, err, errlen) != 0 ||
        check_signature(auth, token, err, errlen) != 0 ||
        check_claims(auth, body, err, errlen) != 0)
        goto out;
    *claims = body;
    body = NULL;
    rc = 0;
out:
    json_decref(header);
    json_decref(body);
    return rc;
}

int mdv_auth_token_kid(const char *token, char *kid, size_t kidlen)
{
    struct part parts[3];
    json_t *header = NULL, *claims = NULL;
    char err[128];
    int rc = -1;

    if (decode_token(token, parts, &header, &claims, err, sizeof(err)) != 0)
        return -1;
    const char *value = json_string_value(json_object_get(header, "kid"));
    if (value && strlen(value) < kidlen) {
        mdv_strlcpy(kid, value, kidlen);
        rc = 0;
    }
    json_decref(header);
    json_decref(claims);
    return rc;
}

/* A bearer token is verified once, then served from the cache until its
 * exp: everything else a full check looks at (signature, header, iss, aud,
 * sub) is the token's own bytes, which the cache's key covers, and nbf or
 * iat only get truer with time. The key is read once, at start: a new key
 * means a new process, hence an empty cache. Refusals are not kept. */
int mdv_auth_verify(const struct mdv_auth *auth, const char *authorization, char *sub,
                    size_t sublen, char *err, size_t errlen)
{
    const char *token = bearer_token(authorization);
    json_t *claims = NULL;
    int rc = -1;

    if (sublen > 0)
        sub[0] = '\0';
    if (!token) {
        snprintf(err, errlen, "no bearer token");
        return -1;
    }
    /* Too long to be one we verified: refused unhashed, by the full check. */
    int cacheable = auth->cache && strnlen(token, MDV_AUTH_TOKEN_MAX + 1) <= MDV_AUTH_TOKEN_MAX;
    if (cacheable && mdv_token_cache_get(auth->cache, token, now_seconds(), sub, sublen)) {
        mdv_metrics_add("mdv_auth_token_cache_hits_total", NULL, 1);
        return 0;
    }
    if (mdv_auth_check_jws(auth, token, &claims, err, errlen) != 0)
        return -1;
    const char *subject = json_string_value(json_object_get(claims, "sub"));
    if (!subject || !*subject || strlen(subject) >= sublen) {
        snprintf(err, errlen, "missing or oversized subject");
    } else {
        mdv_strlcpy(sub, subject, sublen);
        rc = 0;
    }
    /* check_jws held exp to be a number after now. */
    if (rc == 0 && cacheable)
        mdv_token_cache_put(auth->cache, token, json_number_value(json_object_get(claims, "exp")),
                            sub);
    json_decref(claims);
    return rc;
}

char *mdv_auth_mint(const char *private_key_file, const char *issuer, const char *audience,
                    const char *sub, long ttl_seconds)
{
    size_t len = 0;
    char *key = mdv_read_file(private_key_file, &len);
    jwt_t *jwt = NULL;
    char *token = NULL;
    time_t now = time(NULL);

    if (!key || jwt_new(&jwt) != 0)
        goto out;
    if (jwt_set_alg(jwt, JWT_ALG_ES256, (unsigned char *)key, (int)len) != 0 ||
        jwt_add_grant(jwt, "iss", issuer) != 0 || jwt_add_grant(jwt, "aud", audience) != 0 ||
        jwt_add_grant(jwt, "sub", sub) != 0 || jwt_add_grant_int(jwt, "iat", now) != 0 ||
        jwt_add_grant_int(jwt, "exp", now + ttl_seconds) != 0)
        goto out;
    token = jwt_encode_str(jwt);
out:
    jwt_free(jwt);
    free(key);
    return token;
}
