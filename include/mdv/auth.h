/* Bearer tokens (JWT, ES256 or RS256) checked against a configured public
 * key: signature, iss, aud, exp, nbf and iat. sub names the usager. */
#ifndef MDV_AUTH_H
#define MDV_AUTH_H

#include <jansson.h>
#include <stddef.h>

#include "mdv/util.h"

#define MDV_AUTH_SUB_LEN 256
/* Longest token accepted, in characters after "Bearer ": an OIDC token is
 * a few KiB; a longer one is refused before any decoding or hashing. */
#define MDV_AUTH_TOKEN_MAX 8192

struct mdv_auth;

/* Reads the PEM public key: RSA (tokens must then be RS256) or EC P-256
 * (ES256). Returns NULL (and logs) on error, or for any other key. The
 * caller destroys the result with mdv_auth_destroy. */
struct mdv_auth *mdv_auth_new(const char *public_key_file, const char *issuer,
                              const char *audience) MDV_MUSTCHECK;
/* The same from a PEM public key in memory (copied); NULL, without a
 * log, when it is no such key. */
struct mdv_auth *mdv_auth_new_pem(const char *pem, size_t len, const char *issuer,
                                  const char *audience) MDV_MUSTCHECK;
void mdv_auth_destroy(struct mdv_auth *auth);

/* Checks a compact JWS as mdv_auth_verify does (form, alg, signature, iss,
 * aud, exp, nbf, iat) but not sub; on success gives its claims in *claims
 * (the caller decrefs them) and returns 0; else writes why into err. */
int mdv_auth_check_jws(const struct mdv_auth *auth, const char *token, json_t **claims, char *err,
                       size_t errlen) MDV_MUSTCHECK;
/* The kid of a compact JWS's header, unchecked (to pick the key that will
 * check it). Returns -1 when it has none or it does not fit. */
int mdv_auth_token_kid(const char *token, char *kid, size_t kidlen) MDV_MUSTCHECK;

/* Checks an Authorization header value ("Bearer" 1*SP <compact JWS>). The
 * header's alg must be the key's, no crit, no duplicate member in header or
 * claims; exp is required, and exp, nbf, iat are JSON numbers (fractions
 * allowed); sub a non-empty string shorter than sublen. On success writes
 * the subject into sub and returns 0; else writes why into err (sub left
 * empty), returns -1. A checker made by mdv_auth_new keeps the tokens it
 * verified until their exp (token_cache.h): the next check of the same
 * token is a digest and a lookup, and is refused from its exp on. */
int mdv_auth_verify(const struct mdv_auth *auth, const char *authorization, char *sub,
                    size_t sublen, char *err, size_t errlen) MDV_MUSTCHECK;

/* Mints a token signed with the PEM private key file (ES256), valid for
 * ttl_seconds (negative: already expired, for tests). Returns a string the
 * caller frees, or NULL. */
char *mdv_auth_mint(const char *private_key_file, const char *issuer, const char *audience,
                    const char *sub, long ttl_seconds) MDV_MUSTCHECK;

#endif
