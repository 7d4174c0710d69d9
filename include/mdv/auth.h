/* Bearer tokens (JWT, ES256 or RS256) checked against a configured public
 * key: signature, iss, aud and exp. sub names the usager. */
#ifndef MDV_AUTH_H
#define MDV_AUTH_H

#include <stddef.h>

#include "mdv/util.h"

#define MDV_AUTH_SUB_LEN 256

struct mdv_auth;

/* Reads the PEM public key. Returns NULL (and logs) on error. The caller
 * destroys the result with mdv_auth_destroy. */
struct mdv_auth *mdv_auth_new(const char *public_key_file, const char *issuer,
                              const char *audience) MDV_MUSTCHECK;
void mdv_auth_destroy(struct mdv_auth *auth);

/* Checks an Authorization header value ("Bearer <jwt>"). On success writes
 * the subject into sub and returns 0; else writes why into err, returns -1. */
int mdv_auth_verify(const struct mdv_auth *auth, const char *authorization, char *sub,
                    size_t sublen, char *err, size_t errlen) MDV_MUSTCHECK;

/* Mints a token signed with the PEM private key file (ES256), valid for
 * ttl_seconds (negative: already expired, for tests). Returns a string the
 * caller frees, or NULL. */
char *mdv_auth_mint(const char *private_key_file, const char *issuer, const char *audience,
                    const char *sub, long ttl_seconds) MDV_MUSTCHECK;

#endif
