/* The verified tokens' cache (token_cache.h). Direct-mapped: a token's
 * slot is given by its digest, and a token landing on a taken slot takes
 * it. A hit compares the whole digest, never a part of it, so two tokens
 * share an entry only if SHA-256 collides. Slots are locked in stripes, so
 * that libmicrohttpd's threads seldom wait for one another. */
#include "mdv/token_cache.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/auth.h"

#define DIGEST_LEN 32
#define STRIPES 16

struct slot {
    unsigned char digest[DIGEST_LEN];
    double exp; /* 0: empty */
    char sub[MDV_AUTH_SUB_LEN];
};

struct mdv_token_cache {
    size_t mask; /* slots - 1 */
    struct slot *slots;
    EVP_MD *sha256; /* fetched once: an implicit fetch per digest costs a lock */
    pthread_mutex_t locks[STRIPES];
};

struct mdv_token_cache *mdv_token_cache_new(size_t slots)
{
    size_t n = 1;
    while (n < slots)
        n <<= 1;
    struct mdv_token_cache *cache = mdv_xcalloc(1, sizeof(*cache));
    cache->mask = n - 1;
    cache->slots = mdv_xcalloc(n, sizeof(*cache->slots));
    cache->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    if (!cache->sha256)
        abort(); /* OpenSSL's default provider always has it */
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&cache->locks[i], NULL);
    return cache;
}

void mdv_token_cache_destroy(struct mdv_token_cache *cache)
{
    if (!cache)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&cache->locks[i]);
    EVP_MD_free(cache->sha256);
    free(cache->slots);
    free(cache);
}

/* The token's digest, and the index of its slot. */
static size_t digest_of(const struct mdv_token_cache *cache, const char *token,
                        unsigned char digest[DIGEST_LEN])
{
    unsigned int len = 0;
    if (EVP_Digest(token, strlen(token), digest, &len, cache->sha256, NULL) != 1 ||
        len != DIGEST_LEN)
        abort(); /* SHA-256 of bytes in memory cannot fail but for memory */
    uint32_t index;
    memcpy(&index, digest, sizeof(index));
    return index & cache->mask;
}

int mdv_token_cache_get(struct mdv_token_cache *cache, const char *token, double now, char *sub,
                        size_t sublen)
{
    unsigned char digest[DIGEST_LEN];
    size_t i = digest_of(cache, token, digest);
    struct slot *s = &cache->slots[i];
    pthread_mutex_t *lock = &cache->locks[i % STRIPES];
    int hit = 0;

    if (sublen > 0)
        sub[0] = '\0';
    pthread_mutex_lock(lock);
    if (s->exp > 0 && memcmp(s->digest, digest, DIGEST_LEN) == 0) {
        /* exp is strict, as on a full check: not on or after it. An
         * expired entry is emptied; the full check will refuse the token. */
        if (s->exp <= now)
            s->exp = 0;
        else if (strlen(s->sub) < sublen)
            hit = 1;
    }
    if (hit)
        mdv_strlcpy(sub, s->sub, sublen);
    pthread_mutex_unlock(lock);
    return hit;
}

void mdv_token_cache_put(struct mdv_token_cache *cache, const char *token, double exp,
                         const char *sub)
{
    unsigned char digest[DIGEST_LEN];
    size_t i = digest_of(cache, token, digest);
    struct slot *s = &cache->slots[i];

    if (exp <= 0 || strlen(sub) >= sizeof(s->sub))
        return; /* nothing a full check accepts */
    pthread_mutex_lock(&cache->locks[i % STRIPES]);
    memcpy(s->digest, digest, DIGEST_LEN);
    s->exp = exp;
    mdv_strlcpy(s->sub, sub, sizeof(s->sub));
    pthread_mutex_unlock(&cache->locks[i % STRIPES]);
}
