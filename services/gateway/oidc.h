/* Sign-in (DESIGN.md §13): the gateway as a confidential OpenID client of
 * FranceConnect (locally the stack's provider), then a session kept in its
 * database (session.c). README, "Signing in". */
#ifndef GATEWAY_OIDC_H
#define GATEWAY_OIDC_H

#include <jansson.h>
#include <stddef.h>

#include "mdv/auth.h"
#include "mdv/util.h"

/* The provider's keys, by kid (jwks.c). */
struct gateway_jwks;
struct gateway_jwks *gateway_jwks_new(const char *uri, const char *issuer, const char *audience);
void gateway_jwks_destroy(struct gateway_jwks *jwks);
/* Checks an ID token's form, signature (the key its kid names, the set
 * fetched again once when the kid is unknown), iss, aud and times; gives
 * its claims (the caller decrefs them). */
int gateway_jwks_check(struct gateway_jwks *jwks, const char *token, json_t **claims, char *err,
                       size_t errlen) MDV_MUSTCHECK;

/* The client's settings (environment, validated at start) and what the
 * provider's discovery document says, fetched at the first sign-in. */
struct gateway_oidc;

struct gateway_oidc_settings {
    const char *issuer; /* "": sign-in disabled */
    const char *client_id;
    const char *client_secret_file;
    const char *redirect_uri;
    const char *post_logout_uri;
    const char *scopes;
    const char *session_ttl_s;
};

/* NULL (and a message naming the variable) when the settings are not
 * coherent. The caller destroys the result. */
struct gateway_oidc *gateway_oidc_new(const struct gateway_oidc_settings *s) MDV_MUSTCHECK;
void gateway_oidc_destroy(struct gateway_oidc *oidc);
/* 1 when the session cookie must be Secure (the gateway is reached over
 * TLS: its redirect URI is https). */
int gateway_oidc_secure(const struct gateway_oidc *oidc);
long gateway_oidc_session_ttl(const struct gateway_oidc *oidc);

/* The checks config tables use. */
int gateway_check_optional_url(const char *value, char *err, size_t errlen);
int gateway_check_optional_file(const char *value, char *err, size_t errlen);

/* A random token of 32 bytes, base64url without padding (43 characters). */
#define GATEWAY_TOKEN_LEN 44
void gateway_random_token(char out[GATEWAY_TOKEN_LEN]);
/* Hex SHA-256 of text: a session is stored under the hash of its cookie. */
void gateway_sha256_hex(const char *text, char out[65]);

#endif
