/* The journeys' answers kept in the gateway process (journey_cache.c), so
 * that a GET /v1/journeys/{id} of a journey that did not change costs no
 * database round trip. */
#ifndef GATEWAY_JOURNEY_CACHE_H
#define GATEWAY_JOURNEY_CACHE_H

#include <stddef.h>

#include "mdv/util.h"

#define JOURNEY_CACHE_ETAG_LEN 72 /* the version as get_journey gives it, NUL included */

struct journey_cache;

/* What a miss hands to the put that follows it: the invalidation epoch of
 * the journey's bucket and the cache's generation when the read began. */
struct journey_cache_ticket {
    unsigned long generation, epoch;
    size_t bucket;
};

struct journey_cache_stats {
    unsigned long hits, misses, evictions, invalidations, resets;
    size_t entries;
};

/* A cache of at most capacity journeys; NULL for 0 (disabled: every
 * function below takes NULL as a cache that never holds anything). It
 * serves nothing until journey_cache_reset(cache, 1). */
struct journey_cache *journey_cache_new(size_t capacity);
void journey_cache_destroy(struct journey_cache *cache);

/* The owner's answer for journey_id: 1 with its version in etag and, when
 * body is not NULL, a copy of the body in *body (the caller frees it).
 * 0 on a miss (someone else asking included), with the ticket a put of
 * what the caller reads next must present. */
int journey_cache_get(struct journey_cache *cache, const char *journey_id, const char *owner,
                      char etag[JOURNEY_CACHE_ETAG_LEN], char **body,
                      struct journey_cache_ticket *ticket);
/* Keeps a copy of the owner's answer, read from the database after the
 * miss that gave ticket, unless the journey was invalidated or the cache
 * reset since: what was read may then be older than the change. */
void journey_cache_put(struct journey_cache *cache, const struct journey_cache_ticket *ticket,
                       const char *journey_id, const char *owner, const char *etag,
                       const char *body);
/* The journey changed: forgets it, and refuses the puts of reads that
 * began before. */
void journey_cache_invalidate(struct journey_cache *cache, const char *journey_id);
/* Forgets everything and refuses the puts of reads that began before;
 * then serves (serving 1) or not (0: changes may go unnoticed). */
void journey_cache_reset(struct journey_cache *cache, int serving);
void journey_cache_stats(struct journey_cache *cache, struct journey_cache_stats *out);

/* MDV_JOURNEY_CACHE_SIZE: 0 (no cache) to JOURNEY_CACHE_MAX journeys. */
#define JOURNEY_CACHE_MAX 1000000
int journey_cache_check_size(const char *value, char *err, size_t errlen);

#endif
