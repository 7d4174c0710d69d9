/* JWT verification and (for the local tool) minting, with libjwt. */
#include "mdv/auth.h"

#include <jansson.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mdv/log.h"

/* Tolerated difference between our clock and the token issuer's. */
#define CLOCK_SKEW_S 60

struct mdv_auth {
    unsigned char *key;
    size_t key_len;
    char *issuer;
    char *audience;
};

struct mdv_auth *mdv_auth_new(const char *public_key_file, const char *issuer, const char *audience)
{
    size_t len = 0;
    char *key = mdv_read_file(public_key_file, &len);
    if (!key) {
        mdv_error("cannot read the token public key %s", public_key_file);
        return NULL;
    }
    struct mdv_auth *auth = mdv_xcalloc(1, sizeof(*auth));
    auth->key = (unsigned char *)key;
    auth->key_len = len;
    auth->issuer = mdv_xstrdup(issuer);
    auth->audience = mdv_xstrdup(audience);
    return auth;
}

void mdv_auth_destroy(struct mdv_auth *auth)
{
    if (!auth)
        return;
    free(auth->key);
    free(auth->issuer);
    free(auth->audience);
    free(auth);
}

/* aud may be a string or a list of strings (RFC 7519 §4.1.3). */
static int audience_matches(jwt_t *jwt, const char *audience)
{
    char *aud_json = jwt_get_grants_json(jwt, "aud");
    json_t *aud = aud_json ? json_loads(aud_json, JSON_DECODE_ANY, NULL) : NULL;
    int ok = 0;
    if (json_is_string(aud)) {
        ok = strcmp(json_string_value(aud), audience) == 0;
    } else if (json_is_array(aud)) {
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v) ok |=
            json_is_string(v) && !strcmp(json_string_value(v), audience);
    }
    json_decref(aud);
    free(aud_json);
    return ok;
}

static int check_claims(const struct mdv_auth *auth, jwt_t *jwt, char *sub, size_t sublen,
                        char *err, size_t errlen)
{
    /* libjwt verifies with whatever algorithm the token names; HS256 with
     * our public key as the secret would verify too. Only asymmetric
     * algorithms are acceptable. */
    jwt_alg_t alg = jwt_get_alg(jwt);
    const char *iss = jwt_get_grant(jwt, "iss");
    const char *subject = jwt_get_grant(jwt, "sub");
    long exp = jwt_get_grant_int(jwt, "exp");
    long nbf = jwt_get_grant_int(jwt, "nbf"); /* 0 when absent */
    long now = (long)time(NULL);

    if (alg != JWT_ALG_ES256 && alg != JWT_ALG_RS256)
        snprintf(err, errlen, "algorithm not accepted");
    else if (!iss || strcmp(iss, auth->issuer) != 0)
        snprintf(err, errlen, "wrong issuer");
    else if (!audience_matches(jwt, auth->audience))
        snprintf(err, errlen, "wrong audience");
    else if (exp <= 0 || exp <= now)
        snprintf(err, errlen, "token expired or without expiry");
    else if (nbf > now + CLOCK_SKEW_S)
        snprintf(err, errlen, "token not yet valid");
    else if (!subject || !*subject || strlen(subject) >= sublen)
        snprintf(err, errlen, "missing or oversized subject");
    else {
        mdv_strlcpy(sub, subject, sublen);
        return 0;
    }
    return -1;
}

int mdv_auth_verify(const struct mdv_auth *auth, const char *authorization, char *sub,
                    size_t sublen, char *err, size_t errlen)
{
    static const char prefix[] = "Bearer ";
    jwt_t *jwt = NULL;

    /* The scheme is case-insensitive (RFC 9110 §11.1). */
    if (!authorization || strncasecmp(authorization, prefix, strlen(prefix)) != 0) {
        snprintf(err, errlen, "no bearer token");
        return -1;
    }
    if (jwt_decode(&jwt, authorization + strlen(prefix), auth->key, (int)auth->key_len) != 0 ||
        !jwt) {
        snprintf(err, errlen, "token signature or format invalid");
        return -1;
    }
    int rc = check_claims(auth, jwt, sub, sublen, err, errlen);
    jwt_free(jwt);
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
