/* The journeys' answers (version and body) kept in the process, for their
 * owners: a GET of a journey that did not change costs no database round
 * trip.
 *
 * Invalidation is exact, never a time to live. Every transaction that
 * changes what a GET shows notifies mdv_journey_changed with the journey's
 * id; the gateway's listening connection (live.c) invalidates the journey
 * here as the notification arrives, and resets the whole cache whenever
 * that connection is lost or made again (notifications may have been lost
 * meanwhile), serving nothing while it is down.
 *
 * The race this closes: a GET misses, reads version V, the change to V+1
 * commits and is invalidated, then the GET would store V. A miss hands
 * out a ticket (its bucket's invalidation epoch and the cache's
 * generation, read before the query); the put is refused if either moved
 * since, so what is stored was read after the last invalidation of its
 * bucket. PostgreSQL delivers a notification only once its transaction is
 * visible to every later snapshot, so a read that begins after the
 * invalidation sees the change.
 *
 * Bounded: a fixed number of entries, the oldest unreferenced one evicted
 * when full (clock). One mutex: what it guards is a hash lookup and the
 * copy of a body of a few kilobytes. */
#include "journey_cache.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/metrics.h"

struct entry {
    char journey_id[MDV_UUID_LEN];
    char etag[JOURNEY_CACHE_ETAG_LEN];
    char *owner; /* the owner, a NUL, then the body: one allocation */
    const char *body;
    size_t body_len;
    long next;      /* in its bucket's chain, or in the free list; -1 ends */
    int referenced; /* read since the clock's hand last passed */
};

struct journey_cache {
    pthread_mutex_t lock;
    struct entry *entries;
    size_t capacity, count, hand;
    long free_head;
    long *heads;           /* per bucket, its chain's first entry */
    unsigned long *epochs; /* per bucket, bumped at each invalidation there */
    size_t buckets;        /* a power of two */
    unsigned long generation;
    int serving;
    struct journey_cache_stats stats;
};

/* The key of a journey id: its lowercase text, as PostgreSQL writes a
 * uuid in the notification's payload. A client may ask with capitals
 * (mdv_uuid_valid takes them, and so does the database): kept under those,
 * its entry would never be invalidated. 0, or -1 for a text too long to
 * be an id. */
static int key_of(const char *journey_id, char key[MDV_UUID_LEN])
{
    size_t i = 0;
    for (; journey_id[i]; i++) {
        if (i + 1 >= MDV_UUID_LEN)
            return -1;
        key[i] = (char)tolower((unsigned char)journey_id[i]);
    }
    key[i] = '\0';
    return 0;
}

/* FNV-1a: journey ids are random UUIDs, any spread will do. */
static size_t bucket_of(const struct journey_cache *c, const char *journey_id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)journey_id; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)(h & (c->buckets - 1));
}

struct journey_cache *journey_cache_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    struct journey_cache *c = mdv_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity;
    c->entries = mdv_xcalloc(capacity, sizeof(*c->entries));
    for (size_t i = 0; i < capacity; i++)
        c->entries[i].next = i + 1 < capacity ? (long)(i + 1) : -1;
    c->buckets = 16;
    while (c->buckets < 2 * capacity)
        c->buckets *= 2;
    c->heads = mdv_xmalloc(c->buckets * sizeof(*c->heads));
    for (size_t b = 0; b < c->buckets; b++)
        c->heads[b] = -1;
    c->epochs = mdv_xcalloc(c->buckets, sizeof(*c->epochs));
    return c;
}

static void drop(struct journey_cache *c, long i)
{
    struct entry *e = &c->entries[i];
    free(e->owner);
    *e = (struct entry){.next = c->free_head};
    c->free_head = i;
    c->count--;
}

/* Unlinks entry i from its bucket's chain and frees it. */
static void unlink_entry(struct journey_cache *c, size_t bucket, long i)
{
    long *link = &c->heads[bucket];
    while (*link != i)
        link = &c->entries[*link].next;
    *link = c->entries[i].next;
    drop(c, i);
}

static void empty(struct journey_cache *c)
{
    for (size_t b = 0; b < c->buckets; b++) {
        while (c->heads[b] >= 0)
            unlink_entry(c, b, c->heads[b]);
    }
}

void journey_cache_destroy(struct journey_cache *c)
{
    if (!c)
        return;
    empty(c);
    pthread_mutex_destroy(&c->lock);
    free(c->entries);
    free(c->heads);
    free(c->epochs);
    free(c);
}

static long find(const struct journey_cache *c, size_t bucket, const char *journey_id)
{
    long i = c->heads[bucket];
    while (i >= 0 && strcmp(c->entries[i].journey_id, journey_id) != 0)
        i = c->entries[i].next;
    return i;
}

/* Under the lock: the entry of journey_id when it is owner's. */
static const struct entry *lookup(struct journey_cache *c, size_t bucket, const char *journey_id,
                                  const char *owner)
{
    if (!c->serving)
        return NULL;
    long i = find(c, bucket, journey_id);
    if (i < 0 || strcmp(c->entries[i].owner, owner) != 0)
        return NULL;
    c->entries[i].referenced = 1;
    return &c->entries[i];
}

int journey_cache_get(struct journey_cache *c, const char *id, const char *owner,
                      char etag[JOURNEY_CACHE_ETAG_LEN], char **body,
                      struct journey_cache_ticket *ticket)
{
    char journey_id[MDV_UUID_LEN];
    *ticket = (struct journey_cache_ticket){0};
    if (!c || key_of(id, journey_id) != 0)
        return 0;
    size_t bucket = bucket_of(c, journey_id);
    pthread_mutex_lock(&c->lock);
    const struct entry *e = lookup(c, bucket, journey_id, owner);
    if (e) {
        memcpy(etag, e->etag, JOURNEY_CACHE_ETAG_LEN);
        if (body) {
            *body = mdv_xmalloc(e->body_len + 1);
            memcpy(*body, e->body, e->body_len + 1);
        }
        c->stats.hits++;
    } else {
        *ticket = (struct journey_cache_ticket){c->generation, c->epochs[bucket], bucket};
        c->stats.misses++;
    }
    pthread_mutex_unlock(&c->lock);
    if (e)
        mdv_metrics_add("mdv_journey_cache_hits_total", NULL, 1);
    else
        mdv_metrics_add("mdv_journey_cache_misses_total", NULL, 1);
    return e != NULL;
}

/* Under the lock: a free entry, evicting with the clock when full (an
 * entry read since the hand last passed gets one more turn). */
static long take_entry(struct journey_cache *c)
{
    while (c->free_head < 0) {
        struct entry *e = &c->entries[c->hand];
        long i = (long)c->hand;
        c->hand = (c->hand + 1) % c->capacity;
        if (e->referenced) {
            e->referenced = 0;
            continue;
        }
        unlink_entry(c, bucket_of(c, e->journey_id), i);
        c->stats.evictions++;
        mdv_metrics_add("mdv_journey_cache_evictions_total", NULL, 1);
    }
    long i = c->free_head;
    c->free_head = c->entries[i].next;
    c->count++;
    return i;
}

/* Under the lock. */
static void store(struct journey_cache *c, size_t bucket, const char *journey_id, const char *owner,
                  const char *etag, const char *body)
{
    long old = find(c, bucket, journey_id);
    if (old >= 0)
        unlink_entry(c, bucket, old);
    long i = take_entry(c);
    struct entry *e = &c->entries[i];
    size_t owner_len = strlen(owner), body_len = strlen(body);
    e->owner = mdv_xmalloc(owner_len + 1 + body_len + 1);
    memcpy(e->owner, owner, owner_len + 1);
    memcpy(e->owner + owner_len + 1, body, body_len + 1);
    e->body = e->owner + owner_len + 1;
    e->body_len = body_len;
    mdv_strlcpy(e->journey_id, journey_id, sizeof(e->journey_id));
    mdv_strlcpy(e->etag, etag, sizeof(e->etag));
    e->referenced = 0;
    e->next = c->heads[bucket];
    c->heads[bucket] = i;
}

void journey_cache_put(struct journey_cache *c, const struct journey_cache_ticket *ticket,
                       const char *id, const char *owner, const char *etag, const char *body)
{
    char journey_id[MDV_UUID_LEN];
    if (!c || strlen(etag) >= JOURNEY_CACHE_ETAG_LEN || key_of(id, journey_id) != 0)
        return;
    size_t bucket = bucket_of(c, journey_id);
    pthread_mutex_lock(&c->lock);
    if (c->serving && ticket->bucket == bucket && ticket->generation == c->generation &&
        ticket->epoch == c->epochs[bucket])
        store(c, bucket, journey_id, owner, etag, body);
    pthread_mutex_unlock(&c->lock);
}

void journey_cache_invalidate(struct journey_cache *c, const char *id)
{
    char journey_id[MDV_UUID_LEN];
    if (!c || key_of(id, journey_id) != 0)
        return;
    size_t bucket = bucket_of(c, journey_id);
    pthread_mutex_lock(&c->lock);
    c->epochs[bucket]++;
    long i = find(c, bucket, journey_id);
    if (i >= 0) {
        unlink_entry(c, bucket, i);
        c->stats.invalidations++;
    }
    pthread_mutex_unlock(&c->lock);
    if (i >= 0)
        mdv_metrics_add("mdv_journey_cache_invalidations_total", NULL, 1);
}

void journey_cache_reset(struct journey_cache *c, int serving)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    empty(c);
    c->generation++;
    c->serving = serving;
    c->stats.resets++;
    pthread_mutex_unlock(&c->lock);
    mdv_metrics_add("mdv_journey_cache_resets_total", NULL, 1);
}

void journey_cache_stats(struct journey_cache *c, struct journey_cache_stats *out)
{
    *out = (struct journey_cache_stats){0};
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->entries = c->count;
    pthread_mutex_unlock(&c->lock);
}

int journey_cache_check_size(const char *value, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n < 0 || n > JOURNEY_CACHE_MAX) {
        snprintf(err, errlen, "expected a number of journeys from 0 (no cache) to %d",
                 JOURNEY_CACHE_MAX);
        return -1;
    }
    return 0;
}
