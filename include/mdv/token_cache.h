/* Verified bearer tokens, kept until they expire so that a usager's next
 * request skips the signature check (an ECDSA or RSA verification and a
 * PEM key decoded by libjwt each time). Keyed by the SHA-256 of the
 * token's bytes; bounded (a fixed number of slots, a newer token taking an
 * older one's slot); safe to use from several threads. */
#ifndef MDV_TOKEN_CACHE_H
#define MDV_TOKEN_CACHE_H

#include <stddef.h>

#include "mdv/util.h"

struct mdv_token_cache;

/* A cache of slots entries (rounded up to a power of two, at least 1). The
 * caller destroys it with mdv_token_cache_destroy. */
struct mdv_token_cache *mdv_token_cache_new(size_t slots);
void mdv_token_cache_destroy(struct mdv_token_cache *cache);

/* 1 when token was stored with an exp still after now (seconds since the
 * epoch): its subject is then in sub. 0 otherwise (never seen, replaced,
 * expired, or a subject longer than sublen allows), sub left empty. */
int mdv_token_cache_get(struct mdv_token_cache *cache, const char *token, double now, char *sub,
                        size_t sublen) MDV_MUSTCHECK;

/* Keeps token, verified, with its exp and subject (copied). */
void mdv_token_cache_put(struct mdv_token_cache *cache, const char *token, double exp,
                         const char *sub);

#endif
