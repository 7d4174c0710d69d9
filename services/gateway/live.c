/* GET /v1/journeys/{id}/events: the journey as server-sent events, an
 * event each time it changes.
 *
 * How the HTTP side learns of a change: the projection's write of a
 * journey (touch_journey, in every handler's transaction) calls
 * pg_notify('mdv_journey_changed', id). PostgreSQL delivers it at commit,
 * never for a write rolled back, to every session listening on the
 * gateway's database: so to every gateway instance, whichever of them
 * consumed the partition. Each process has one listening connection (the
 * thread below) that wakes the streams of that journey; a stream then
 * reads the journey again and sends it if it is newer than what it sent.
 * A notification is only a hint: the thread wakes every stream after it
 * reconnects, and each heartbeat reads the journey again, so a lost one
 * delays an event by a heartbeat at most.
 *
 * The journeys' cache relies on the same connection and cannot wait for a
 * heartbeat: a connection that died without a word (the server's host
 * gone, a firewall's state dropped, its backend stuck) would leave it
 * serving answers no notification will ever correct. So a connection quiet
 * for LIVE_PING_MS is asked a question, and one that does not answer
 * within LIVE_PING_TIMEOUT_MS counts as lost, as a broken one does.
 *
 * The same session listens for the outbox relay (mdv_outbox, outbox.h):
 * every session that LISTENs in a database pays a transaction for each
 * notifying commit there, and the projection's transactions all notify,
 * so the relay does not listen on a session of its own; it is woken from
 * here, once after each LISTEN too (what other replicas committed while
 * no one listened), and polls every 5 s while this connection is lost.
 *
 * Event ids are the journey's updated_at (RFC 3339 in µs, strictly
 * increasing per journey), so Last-Event-ID tells what the client has. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "journey_cache.h"
#include "mdv/log.h"

#define LIVE_CHANNEL "mdv_journey_changed"
#define OUTBOX_CHANNEL "mdv_outbox"
#define LIVE_MAX_STREAMS 512  /* at once, in this process */
#define LIVE_MAX_PER_USAGER 8 /* at once, for one usager */
#define LIVE_HEARTBEAT_S 15.0 /* a comment when nothing else was sent */
#define LIVE_LIFETIME_S 600.0 /* then the stream ends; EventSource reconnects */
#define LIVE_RETRY_MS "3000"  /* EventSource's wait before reconnecting */
#define LIVE_TICK_MS 1000
#define LIVE_PING_MS 5000                          /* quiet that long, the connection is asked */
#define LIVE_PING_TIMEOUT_MS 5000                  /* unanswered that long, it counts as lost */
#define LIVE_APPLICATION_NAME "mdv-gateway-listen" /* in pg_stat_activity */
#define STR_(x) #x
#define STR(x) STR_(x)

struct live_stream {
    struct live_stream *prev, *next;
    struct mdv_http_stream *http;
    struct gateway *gw;
    char journey_id[MDV_UUID_LEN];
    char usager[MDV_AUTH_SUB_LEN];
    char last_id[MDV_TIME_LEN]; /* updated_at of the last journey sent */
    int changed, beat, ending;  /* under the live lock */
    double opened_at, sent_at;  /* under the live lock */
    char *out;                  /* what is still to send */
    size_t out_len, out_off;
};

struct live {
    pthread_mutex_t lock;
    struct live_stream *streams;
    unsigned count;
    pthread_t thread;
    int running, stopping;
    char *dsn;
    struct journey_cache *cache; /* invalidated by the notifications */
};

/* ---- the listening thread ---- */

static void wake_where(struct live *lv, const char *journey_id)
{
    pthread_mutex_lock(&lv->lock);
    for (struct live_stream *s = lv->streams; s; s = s->next)
        if (!journey_id || strcmp(s->journey_id, journey_id) == 0) {
            s->changed = 1;
            if (s->http) /* else its first read sees changed */
                mdv_http_stream_wake(s->http);
        }
    pthread_mutex_unlock(&lv->lock);
}

/* Heartbeats and the end of a stream's lifetime. */
static void tick(struct live *lv)
{
    double now = mdv_monotonic_seconds();
    pthread_mutex_lock(&lv->lock);
    for (struct live_stream *s = lv->streams; s; s = s->next) {
        int beat = now - s->sent_at >= LIVE_HEARTBEAT_S;
        int end = now - s->opened_at >= LIVE_LIFETIME_S;
        if ((beat || end) && s->http) {
            s->beat |= beat;
            s->ending |= end;
            mdv_http_stream_wake(s->http);
        }
    }
    pthread_mutex_unlock(&lv->lock);
}

static int stopping(struct live *lv)
{
    pthread_mutex_lock(&lv->lock);
    int stop = lv->stopping;
    pthread_mutex_unlock(&lv->lock);
    return stop;
}

/* The listening connection's question, while it is quiet. */
struct ping {
    double heard_at; /* the last answer or notification */
    double sent_at;  /* the question in flight, 0 when none */
};

/* Reads the question's answer if it came, asks one when the connection
 * has been quiet too long. -1 when the connection counts as lost. */
static int ping_step(PGconn *conn, struct ping *p, double now)
{
    while (p->sent_at && !PQisBusy(conn)) {
        PGresult *res = PQgetResult(conn);
        if (!res) { /* the whole answer is in */
            p->sent_at = 0;
            p->heard_at = now;
            break;
        }
        int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
        if (!ok)
            return -1;
    }
    if (p->sent_at)
        return (now - p->sent_at) * 1000.0 < LIVE_PING_TIMEOUT_MS ? 0 : -1;
    if ((now - p->heard_at) * 1000.0 < LIVE_PING_MS)
        return 0;
    if (!PQsendQuery(conn, "SELECT 1"))
        return -1;
    p->sent_at = now;
    return 0;
}

/* Listens until the connection breaks, falls silent or the gateway stops:
 * 1 once it listened (the cache served meanwhile), 0 when LISTEN failed. */
static int listen_on(struct live *lv, PGconn *conn)
{
    PGresult *res = PQexec(conn, "LISTEN " LIVE_CHANNEL "; LISTEN " OUTBOX_CHANNEL);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        mdv_warn("live: LISTEN failed: %s", PQerrorMessage(conn));
        return 0;
    }
    /* What changed while no one listened: the cache starts again empty,
     * and serves from now on, since every later change is notified; the
     * relay reads the outbox again. */
    journey_cache_reset(lv->cache, 1);
    wake_where(lv, NULL);
    mdv_relay_wake();
    struct ping ping = {.heard_at = mdv_monotonic_seconds()};
    while (!stopping(lv)) {
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        if (poll(&pfd, 1, LIVE_TICK_MS) < 0 || PQconsumeInput(conn) == 0)
            return 1;
        PGnotify *n;
        while ((n = PQnotifies(conn)) != NULL) {
            if (strcmp(n->relname, OUTBOX_CHANNEL) == 0) {
                mdv_relay_wake();
            } else {
                /* The cache first: a stream woken here, then a GET, must
                 * not find the old answer. */
                journey_cache_invalidate(lv->cache, n->extra);
                wake_where(lv, n->extra);
            }
            PQfreemem(n);
            ping.heard_at = mdv_monotonic_seconds();
        }
        if (ping_step(conn, &ping, mdv_monotonic_seconds()) < 0) {
            mdv_warn("live: the listening connection did not answer within %d ms: taken as lost",
                     LIVE_PING_TIMEOUT_MS);
            return 1;
        }
        tick(lv);
    }
    return 1;
}

/* The listening connection, named so that an operator (and a test) can
 * tell it from the pool's in pg_stat_activity. */
static PGconn *listen_connect(const char *dsn)
{
    return mdv_pg_open(dsn, LIVE_APPLICATION_NAME, 0);
}

static void *listen_loop(void *arg)
{
    struct live *lv = arg;
    while (!stopping(lv)) {
        PGconn *conn = listen_connect(lv->dsn);
        int listened = 0;
        if (PQstatus(conn) == CONNECTION_OK)
            listened = listen_on(lv, conn);
        else
            mdv_warn("live: cannot connect to listen: %s", PQerrorMessage(conn));
        /* No one listens now: a change would go unnoticed. */
        if (listened)
            journey_cache_reset(lv->cache, 0);
        PQfinish(conn);
        tick(lv);
        if (!stopping(lv))
            mdv_sleep_ms(LIVE_TICK_MS);
    }
    return NULL;
}

struct live *live_new(const char *dsn, struct journey_cache *cache)
{
    struct live *lv = mdv_xcalloc(1, sizeof(*lv));
    lv->cache = cache;
    pthread_mutex_init(&lv->lock, NULL);
    lv->dsn = mdv_xstrdup(dsn);
    if (pthread_create(&lv->thread, NULL, listen_loop, lv) != 0) {
        mdv_error("live: cannot start the listening thread");
        live_destroy(lv);
        return NULL;
    }
    lv->running = 1;
    return lv;
}

void live_destroy(struct live *lv)
{
    if (!lv)
        return;
    pthread_mutex_lock(&lv->lock);
    lv->stopping = 1;
    pthread_mutex_unlock(&lv->lock);
    if (lv->running)
        pthread_join(lv->thread, NULL);
    pthread_mutex_destroy(&lv->lock);
    free(lv->dsn);
    free(lv);
}

/* ---- one stream ---- */

/* The journey exactly as GET /v1/journeys/{id} serialises it (the pool's
 * prepared "get_journey", holding no tag), or NULL when it is not the
 * usager's; *failed on a database error. */
static json_t *journey_now(PGconn *conn, const char *journey_id, const char *usager, int *failed)
{
    const char *params[] = {journey_id, usager, NULL};
    PGresult *row = mdv_pg_query_prepared(conn, "get_journey", 3, params);
    json_t *journey = NULL;
    *failed = !row;
    if (row && PQntuples(row) == 1) {
        journey = json_loads(PQgetvalue(row, 0, 1), 0, NULL);
        *failed = !journey;
    }
    PQclear(row);
    return journey;
}

static void set_out(struct live_stream *s, char *text)
{
    free(s->out);
    s->out = text;
    s->out_len = strlen(text);
    s->out_off = 0;
}

/* Queues the journey as an event when it is newer than the last one sent. */
static void queue_journey(struct live_stream *s, json_t *journey, const char *prefix)
{
    const char *id = json_string_value(json_object_get(journey, "updated_at"));
    if (!id || strcmp(id, s->last_id) <= 0) {
        if (*prefix)
            set_out(s, mdv_xstrdup(prefix));
        return;
    }
    mdv_strlcpy(s->last_id, id, sizeof(s->last_id));
    char *data = json_dumps(journey, JSON_COMPACT);
    set_out(s, mdv_xasprintf("%sid: %s\nevent: journey\ndata: %s\n\n", prefix, id, data));
    free(data);
}

/* Reads the journey again. -1 when it is no longer the usager's. */
static int refresh(struct live_stream *s, int beat)
{
    int failed = 0;
    json_t *journey = NULL;
    PGconn *conn = mdv_pg_pool_get(s->gw->pool);
    if (conn) {
        journey = journey_now(conn, s->journey_id, s->usager, &failed);
        mdv_pg_pool_put(s->gw->pool, conn);
    }
    if (!journey && conn && !failed)
        return -1;
    if (journey)
        queue_journey(s, journey, beat ? ": heartbeat\n\n" : "");
    else if (beat)
        set_out(s, mdv_xstrdup(": heartbeat\n\n")); /* the database is away: try again later */
    json_decref(journey);
    return 0;
}

static long send_out(struct live_stream *s, char *buf, size_t max)
{
    size_t n = s->out_len - s->out_off;
    if (n > max)
        n = max;
    memcpy(buf, s->out + s->out_off, n);
    s->out_off += n;
    pthread_mutex_lock(&s->gw->live->lock);
    s->sent_at = mdv_monotonic_seconds();
    pthread_mutex_unlock(&s->gw->live->lock);
    return (long)n;
}

static long stream_read(void *cls, char *buf, size_t max)
{
    struct live_stream *s = cls;
    struct live *lv = s->gw->live;
    if (s->out_off < s->out_len)
        return send_out(s, buf, max);
    pthread_mutex_lock(&lv->lock);
    int changed = s->changed, beat = s->beat, end = s->ending;
    s->changed = s->beat = 0;
    pthread_mutex_unlock(&lv->lock);
    if (end)
        return -1;
    if ((changed || beat) && refresh(s, beat) != 0)
        return -1;
    return s->out_off < s->out_len ? send_out(s, buf, max) : 0;
}

static void stream_done(void *cls)
{
    struct live_stream *s = cls;
    struct live *lv = s->gw->live;
    pthread_mutex_lock(&lv->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        lv->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    lv->count--;
    pthread_mutex_unlock(&lv->lock);
    free(s->out);
    free(s);
}

/* Ends the oldest stream of s's usager that has started (its EventSource
 * reconnects by itself): a usager who closed tabs or a browser leaves
 * streams the gateway only notices at their next write, a heartbeat
 * away, and the page they open now must not be refused for them. 0 when
 * none could be ended. Under the live lock. */
static int end_oldest_of(struct live *lv, const struct live_stream *s)
{
    struct live_stream *oldest = NULL;
    for (struct live_stream *o = lv->streams; o; o = o->next)
        if (o->http && !o->ending && strcmp(o->usager, s->usager) == 0 &&
            (!oldest || o->opened_at < oldest->opened_at))
            oldest = o;
    if (!oldest)
        return 0;
    oldest->ending = 1;
    mdv_http_stream_wake(oldest->http);
    return 1;
}

/* Registers s unless a bound is reached: 0, or the HTTP status to answer.
 * At the usager's bound the newest stream wins (end_oldest_of). Its http
 * stream comes after: until then nothing wakes it, so it starts marked
 * changed, and its first read after the opening reads the journey again
 * (a write between the opening's read and this registration is not lost). */
static int admit(struct live *lv, struct live_stream *s)
{
    unsigned mine = 0;
    int status = 0;
    pthread_mutex_lock(&lv->lock);
    for (struct live_stream *o = lv->streams; o; o = o->next)
        mine += strcmp(o->usager, s->usager) == 0 && !o->ending;
    if (lv->count >= LIVE_MAX_STREAMS)
        status = 503;
    else if (mine >= LIVE_MAX_PER_USAGER && !end_oldest_of(lv, s))
        status = 429;
    if (status == 0) {
        s->next = lv->streams;
        if (lv->streams)
            lv->streams->prev = s;
        lv->streams = s;
        lv->count++;
        s->changed = 1;
        s->opened_at = s->sent_at = mdv_monotonic_seconds();
    }
    pthread_mutex_unlock(&lv->lock);
    return status;
}

static void refuse(struct mdv_http_response *res, int status)
{
    mdv_http_add_header(res, "Retry-After", "30");
    if (status == 429)
        mdv_http_problem(res, 429, "too-many-streams", "Trop de suivis ouverts",
                         "This usager already follows " STR(
                             LIVE_MAX_PER_USAGER) " journeys live, the most at once; close one.",
                         NULL);
    else
        mdv_http_problem(res, 503, "unavailable", "Service momentanément indisponible",
                         "Too many live journeys on this gateway; try again shortly.", NULL);
}

/* The Last-Event-ID a client sends back: one of our ids, or ignored. */
static void resume_from(const struct mdv_http_request *req, char *last_id)
{
    const char *id = mdv_http_header(req, "Last-Event-ID");
    size_t n = id ? strlen(id) : 0;
    if (n > 0 && n < MDV_TIME_LEN && strspn(id, "0123456789-:.TZ") == n)
        memcpy(last_id, id, n + 1);
}

/* Sends the opening of the stream: the retry delay, then the journey. */
static struct live_stream *stream_new(struct gateway *gw, const struct mdv_http_request *req,
                                      const char *usager, json_t *journey)
{
    struct live_stream *s = mdv_xcalloc(1, sizeof(*s));
    s->gw = gw;
    mdv_strlcpy(s->journey_id, req->param, sizeof(s->journey_id));
    mdv_strlcpy(s->usager, usager, sizeof(s->usager));
    resume_from(req, s->last_id);
    queue_journey(s, journey, "retry: " LIVE_RETRY_MS "\n\n");
    return s;
}

/* A stream never ends by itself: only a client that asks for one (as
 * EventSource does: Accept: text/event-stream) gets it, not one that would
 * wait for the end of the body (a generic HTTP client, Accept: star/star). */
static int accepts_stream(const struct mdv_http_request *req, struct mdv_http_response *res)
{
    const char *accept = mdv_http_header(req, "Accept");
    if (accept && strcasestr(accept, "text/event-stream"))
        return 1;
    mdv_http_problem(res, 406, "not-acceptable", "Format non disponible",
                     "This resource is a text/event-stream: send Accept: text/event-stream.", NULL);
    return 0;
}

void live_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    char usager[MDV_AUTH_SUB_LEN];
    int failed = 0;

    if (gateway_authenticate(gw, req, res, usager, sizeof(usager)) != 0 ||
        !accepts_stream(req, res))
        return;
    if (!mdv_uuid_valid(req->param)) {
        gateway_not_found(res);
        return;
    }
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn) {
        mdv_http_unavailable(res);
        return;
    }
    json_t *journey = journey_now(conn, req->param, usager, &failed);
    mdv_pg_pool_put(gw->pool, conn);
    if (!journey) {
        if (failed)
            mdv_http_unavailable(res);
        else
            gateway_not_found(res);
        return;
    }
    struct live_stream *s = stream_new(gw, req, usager, journey);
    json_decref(journey);
    int status = admit(gw->live, s);
    if (status != 0) {
        free(s->out);
        free(s);
        refuse(res, status);
        return;
    }
    mdv_http_add_header(res, "Cache-Control", "no-store");
    struct mdv_http_stream *http = mdv_http_stream_start(
        res, req, 200, "text/event-stream; charset=utf-8", stream_read, stream_done, s);
    pthread_mutex_lock(&gw->live->lock);
    s->http = http;
    pthread_mutex_unlock(&gw->live->lock);
}
