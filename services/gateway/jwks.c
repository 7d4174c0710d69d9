/* The OpenID provider's signing keys (its JWKS), fetched with libcurl,
 * kept by kid and fetched again when an ID token names a kid not among
 * them (the provider rotated its key), at most once per REFRESH_MIN_S so
 * that tokens naming random kids cannot make the gateway hammer it. Each
 * key becomes a PEM public key checked by mdv_auth (libjwt + OpenSSL). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/httpc.h"
#include "mdv/log.h"
#include "oidc.h"

#define MAX_KEYS 16
#define KID_LEN 128
#define REFRESH_MIN_S 5.0

struct key {
    char kid[KID_LEN];
    struct mdv_auth *auth;
};

struct gateway_jwks {
    pthread_mutex_t lock;
    char *uri, *issuer, *audience;
    struct key keys[MAX_KEYS];
    int count;
    double fetched_at; /* monotonic; 0: never */
};

struct gateway_jwks *gateway_jwks_new(const char *uri, const char *issuer, const char *audience)
{
    struct gateway_jwks *jwks = mdv_xcalloc(1, sizeof(*jwks));
    pthread_mutex_init(&jwks->lock, NULL);
    jwks->uri = mdv_xstrdup(uri);
    jwks->issuer = mdv_xstrdup(issuer);
    jwks->audience = mdv_xstrdup(audience);
    return jwks;
}

static void forget_keys(struct gateway_jwks *jwks)
{
    for (int i = 0; i < jwks->count; i++)
        mdv_auth_destroy(jwks->keys[i].auth);
    jwks->count = 0;
}

void gateway_jwks_destroy(struct gateway_jwks *jwks)
{
    if (!jwks)
        return;
    forget_keys(jwks);
    pthread_mutex_destroy(&jwks->lock);
    free(jwks->uri);
    free(jwks->issuer);
    free(jwks->audience);
    free(jwks);
}

/* A base64url member of a JWK as bytes; NULL when absent or malformed. */
static unsigned char *member_bytes(const json_t *jwk, const char *name, size_t *len)
{
    const char *text = json_string_value(json_object_get(jwk, name));
    size_t n = text ? strlen(text) : 0;
    if (n == 0 || n > 2048 || n % 4 == 1)
        return NULL;
    size_t padded = (n + 3) / 4 * 4;
    char *b64 = mdv_xmalloc(padded + 1);
    unsigned char *raw = mdv_xmalloc(padded / 4 * 3 + 1);
    for (size_t i = 0; i < padded; i++) {
        char c = i < n ? text[i] : '=';
        b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    b64[padded] = '\0';
    int got = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)padded);
    free(b64);
    if (got < 0 ||
        strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n) {
        free(raw);
        return NULL;
    }
    *len = (size_t)got - (padded - n);
    return raw;
}

/* An EC P-256 public key: the point 04 || x || y. */
static int ec_params(OSSL_PARAM_BLD *bld, const json_t *jwk, unsigned char **point)
{
    size_t xlen = 0, ylen = 0;
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    unsigned char *x = member_bytes(jwk, "x", &xlen), *y = member_bytes(jwk, "y", &ylen);
    int rc = -1;
    if (crv && strcmp(crv, "P-256") == 0 && x && y && xlen == 32 && ylen == 32) {
        *point = mdv_xmalloc(65);
        (*point)[0] = 0x04;
        memcpy(*point + 1, x, 32);
        memcpy(*point + 33, y, 32);
        rc = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
                     OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, *point, 65)
                 ? 0
                 : -1;
    }
    free(x);
    free(y);
    return rc;
}

static int rsa_params(OSSL_PARAM_BLD *bld, const json_t *jwk, BIGNUM **n, BIGNUM **e)
{
    size_t nlen = 0, elen = 0;
    unsigned char *nb = member_bytes(jwk, "n", &nlen), *eb = member_bytes(jwk, "e", &elen);
    int rc = -1;
    if (nb && eb && nlen >= 256) {
        *n = BN_bin2bn(nb, (int)nlen, NULL);
        *e = BN_bin2bn(eb, (int)elen, NULL);
        rc = *n && *e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, *n) &&
                     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, *e)
                 ? 0
                 : -1;
    }
    free(nb);
    free(eb);
    return rc;
}

/* A JWK (EC P-256 or RSA of 2048 bits or more) as a PEM public key; the
 * caller frees it. NULL for any other key. */
static char *jwk_pem(const json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    BIGNUM *n = NULL, *e = NULL;
    unsigned char *point = NULL;
    char *pem = NULL;
    int is_ec = kty && strcmp(kty, "EC") == 0;

    if (!bld || !kty ||
        (is_ec                     ? ec_params(bld, jwk, &point)
         : strcmp(kty, "RSA") == 0 ? rsa_params(bld, jwk, &n, &e)
                                   : -1) != 0)
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, is_ec ? "EC" : "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto out;
    bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len = 0;
    if (bio && PEM_write_bio_PUBKEY(bio, pkey) == 1 && (len = BIO_get_mem_data(bio, &data)) > 0) {
        pem = mdv_xmalloc((size_t)len + 1);
        memcpy(pem, data, (size_t)len);
        pem[len] = '\0';
    }
out:
    ERR_clear_error();
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(point);
    return pem;
}

/* Replaces the keys with the set's signing keys; -1 when none is usable. */
static int load_set(struct gateway_jwks *jwks, const json_t *set)
{
    const json_t *keys = json_object_get(set, "keys"), *jwk;
    size_t i;
    forget_keys(jwks);
    json_array_foreach(keys, i, jwk)
    {
        const char *kid = json_string_value(json_object_get(jwk, "kid"));
        const char *use = json_string_value(json_object_get(jwk, "use"));
        if (!kid || strlen(kid) >= KID_LEN || (use && strcmp(use, "sig") != 0) ||
            jwks->count == MAX_KEYS)
            continue;
        char *pem = jwk_pem(jwk);
        struct mdv_auth *auth =
            pem ? mdv_auth_new_pem(pem, strlen(pem), jwks->issuer, jwks->audience) : NULL;
        free(pem);
        if (!auth) {
            mdv_warn("provider key %s is not an EC P-256 or RSA signing key: ignored", kid);
            continue;
        }
        mdv_strlcpy(jwks->keys[jwks->count].kid, kid, KID_LEN);
        jwks->keys[jwks->count++].auth = auth;
    }
    return jwks->count > 0 ? 0 : -1;
}

/* Called with the lock held. */
static int refresh(struct gateway_jwks *jwks)
{
    char err[256];
    json_t *set = NULL;
    double now = mdv_monotonic_seconds();
    if (jwks->fetched_at > 0 && now - jwks->fetched_at < REFRESH_MIN_S)
        return -1;
    jwks->fetched_at = now;
    if (mdv_httpc_get_json(jwks->uri, &set, err, sizeof(err)) != 0) {
        mdv_warn("cannot fetch the provider's keys at %s: %s", jwks->uri, err);
        return -1;
    }
    int rc = load_set(jwks, set);
    json_decref(set);
    mdv_info("provider keys fetched from %s: %d usable", jwks->uri, jwks->count);
    return rc;
}

static const struct mdv_auth *find(const struct gateway_jwks *jwks, const char *kid)
{
    for (int i = 0; i < jwks->count; i++)
        if (strcmp(jwks->keys[i].kid, kid) == 0)
            return jwks->keys[i].auth;
    return NULL;
}

int gateway_jwks_check(struct gateway_jwks *jwks, const char *token, json_t **claims, char *err,
                       size_t errlen)
{
    char kid[KID_LEN];
    int rc = -1;

    *claims = NULL;
    if (mdv_auth_token_kid(token, kid, sizeof(kid)) != 0) {
        snprintf(err, errlen, "ID token without a kid");
        return -1;
    }
    pthread_mutex_lock(&jwks->lock);
    const struct mdv_auth *auth = find(jwks, kid);
    if (!auth && refresh(jwks) == 0)
        auth = find(jwks, kid);
    if (!auth)
        snprintf(err, errlen, "ID token signed by an unknown key (kid %s)", kid);
    else
        rc = mdv_auth_check_jws(auth, token, claims, err, errlen);
    pthread_mutex_unlock(&jwks->lock);
    return rc;
}
