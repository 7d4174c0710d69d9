/* The gateway: declarations intake (declarations.c), the journeys read
 * model served over HTTP (journeys.c) and fed from every service's events
 * (projection.c). */
#ifndef GATEWAY_H
#define GATEWAY_H

#include "known.h"
#include "mdv/auth.h"
#include "mdv/http.h"
#include "mdv/journey/v1/journey.pb-c.h"
#include "mdv/pg.h"
#include "mdv/service.h"

struct gateway_oidc;
struct journey_cache;

struct gateway {
    struct mdv_service svc;
    struct mdv_pg_pool *pool; /* for HTTP handler threads */
    struct mdv_auth *auth;
    const char *web_dir;         /* the page's files (web.c) */
    struct gateway_oidc *oidc;   /* sign-in (oidc.c) */
    double indicators_max_age;   /* seconds the public indicators are kept */
    struct live *live;           /* the journeys followed live (live.c) */
    struct journey_cache *cache; /* owners' answers of GET /v1/journeys/{id}; NULL: none */
    struct gateway_known known;  /* who to ask what is known of a usager (known.c) */
};

#define GATEWAY_SESSION_COOKIE "mdv_session"

/* The journeys a caller ($N, their sub) may see: their own, and those
 * declared under a mandate that names them (a usager, for good) or that
 * they recorded and has not expired (an agent: a mandate covers the day
 * the usager is at their desk, not their démarche ever after).
 * ARRAY(...) is computed once, so both indexes serve the OR. */
#define GATEWAY_CALLER_SEES(n)                                                                     \
    "(j.usager_id = $" n " OR j.mandate_id = ANY (ARRAY(SELECT m.mandate_id FROM mandates m"       \
    " WHERE (m.agent_sub = $" n " AND m.expires_at > now()) OR m.usager_sub = $" n ")))"

/* Who calls: a bearer token's sub (a usager), or a session's (session.c),
 * a usager or a France services agent. */
struct gateway_caller {
    char sub[MDV_AUTH_SUB_LEN];
    int agent;
    char session[65]; /* the session's hash; "" for a bearer token */
};

/* Authenticates the caller: bearer token, else session cookie (with its
 * CSRF token on unsafe methods). On failure answers 401 or 403 and
 * returns -1. */
int gateway_caller_get(struct gateway *gw, const struct mdv_http_request *req,
                       struct mdv_http_response *res, struct gateway_caller *caller) MDV_MUSTCHECK;
/* The same for a request that holds a pooled connection already: the
 * session is read on conn rather than on a second connection of the pool
 * (each request holds one at most, so that the pool's holders never wait
 * for each other). */
int gateway_caller_get_on(struct gateway *gw, PGconn *conn, const struct mdv_http_request *req,
                          struct mdv_http_response *res,
                          struct gateway_caller *caller) MDV_MUSTCHECK;
/* Opens the session of a checked ID token's claims, writing its cookie
 * value: 0; 1 when the claims hold no usable pivot identity; -1 on a
 * database error. */
int gateway_session_open(struct gateway *gw, const json_t *claims, const char *id_token,
                         char cookie[44]) MDV_MUSTCHECK;
/* Ends the session of that hash; gives its ID token (NULL when it had
 * ended already), which the caller frees. -1 on a database error. */
int gateway_session_close(struct gateway *gw, const char *hash, char **id_token) MDV_MUSTCHECK;
/* Set-Cookie for the session cookie (max_age 0: removes it). */
void gateway_set_session_cookie(struct gateway *gw, struct mdv_http_response *res,
                                const char *value, long max_age);
/* GET /v1/me's body for the caller; NULL on a database error. */
json_t *gateway_me_json(PGconn *conn, const struct gateway_caller *caller, const char *cookie);

void mandates_post(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void mandates_list(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void mandates_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void mandates_end(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
/* Ends mandate id now, for its agent or its usager (a mandate already
 * over is left as it was): the mandate after, NULL when it is not the
 * caller's or on a database error (*failed). */
json_t *gateway_mandate_end(PGconn *conn, const struct gateway_caller *caller, const char *id,
                            int *failed);
/* For a declaration under a mandate (its body's mandate_id, taken out of
 * body): checks that the agent may (403, 404, 409, 422 answered: -1) and
 * writes the journey's owner (the usager's sub, or "mandate:<id>" until
 * they sign in). 0 when the body names no mandate and the caller is a
 * usager (owner: their sub). */
int gateway_mandate_owner(PGconn *conn, const struct gateway_caller *caller, json_t *body,
                          struct mdv_http_response *res, char owner[MDV_AUTH_SUB_LEN],
                          char mandate_id[MDV_UUID_LEN]) MDV_MUSTCHECK;
/* The mandates naming the caller (a usager) or recorded by them (an agent). */
json_t *gateway_mandates_json(PGconn *conn, const struct gateway_caller *caller, int *failed);
/* declaration_validate, with an optional mandate_id beside the kind's fields. */
void declaration_validate_mandated(json_t *body, json_t *errors);

void auth_login(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void auth_callback(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void auth_logout(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void me_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);

/* Authenticates the caller (gateway_caller_get) and gives their sub; on
 * failure answers 401 (or 403) and returns -1. */
int gateway_authenticate(struct gateway *gw, const struct mdv_http_request *req,
                         struct mdv_http_response *res, char *sub, size_t sublen);
/* The request's Idempotency-Key in *key, NULL when it has none (the
 * string belongs to req). A malformed key is answered 422: returns -1. */
int gateway_idempotency_key(const struct mdv_http_request *req, struct mdv_http_response *res,
                            const char **key) MDV_MUSTCHECK;
/* Answers 404 for a journey that is unknown or someone else's (never 403,
 * which would tell that it exists). */
void gateway_not_found(struct mdv_http_response *res);

void declarations_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                       void *ctx);
void journeys_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void journeys_list(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);

/* Builds the JSON of one journey of usager, or NULL when there is none
 * (or it is someone else's). Sets *failed on a database error. */
json_t *journey_json(PGconn *conn, const char *journey_id, const char *usager, int *failed);

/* The statements the HTTP handlers run, prepared on each connection of
 * the pool (main.c names them): get_journey ($1 journey, $2 usager, $3 the
 * client's tags) and list_page ($1 usager, $2 and $3 the cursor, $4 the
 * limit + 1). */
extern const char gateway_get_journey_sql[];
extern const char gateway_list_page_sql[];
/* And POST /v1/declarations' (declarations.c says their parameters). */
extern const char gateway_insert_journey_sql[];
extern const char gateway_claim_and_insert_journey_sql[];
extern const char gateway_previous_claim_sql[];

/* Decode and check JourneyPlanned and StepReported values, without a
 * database: 0 and the message in *out (the caller frees it with its
 * free_unpacked), or -1 with why in err (the message is a dead letter).
 * status gets the step's status name. */
int projection_planned_decode(const void *value, size_t len, Mdv__Journey__V1__JourneyPlanned **out,
                              char *err, size_t errlen) MDV_MUSTCHECK;
int projection_step_decode(const void *value, size_t len, Mdv__Journey__V1__StepReported **out,
                           const char **status, char *err, size_t errlen) MDV_MUSTCHECK;
enum mdv_outcome projection_on_planned(struct mdv_msg *msg);
enum mdv_outcome projection_on_step(struct mdv_msg *msg);
int projection_added_decode(const void *value, size_t len, Mdv__Journey__V1__StepsAdded **out,
                            char *err, size_t errlen);
enum mdv_outcome projection_on_steps_added(struct mdv_msg *msg);
/* RecipientNotified (projection_recipients.c): a recipient of the journey. */
enum mdv_outcome projection_on_recipient(struct mdv_msg *msg);

void declaration_validate(json_t *body, json_t *errors);
/* 1 when kind is one of the declaration kinds (DESIGN.md §3). */
int declaration_kind_known(const char *kind);
void confirmation_validate(json_t *body, json_t *errors);

void confirmations_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                        void *ctx);

/* Journeys followed live (live.c): the thread that listens for the
 * projection's notifications on the database of dsn, and invalidates
 * cache (journey_cache.h; NULL: none) by them. NULL on error. */
struct live *live_new(const char *dsn, struct journey_cache *cache);
/* Stops the thread; once the HTTP server (whose streams it wakes) stopped. */
void live_destroy(struct live *live);
/* GET /v1/journeys/{id}/events: text/event-stream of the journey. */
void live_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);

/* The page's policy: the identity provider of issuer (a URL, or "" when
 * there is none) may receive the sign-out's redirect. */
void web_init(const char *issuer);
/* The page's files: GET / (index.html) and GET /static/... (web.c). */
void web_index(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void web_static(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
/* 1 when rel (a path under static/) names a file of the folder: segments
 * of [A-Za-z0-9._-] not starting with a dot, nothing empty. */
int web_path_is_safe(const char *rel);
/* The headers every page answer carries: CSP, nosniff, no framing. */
void web_security_headers(struct mdv_http_response *res);
/* Ratings (ratings.c). */
enum rating_result {
    RATING_RECORDED,
    RATING_NOT_FOUND,     /* unknown, or someone else's journey */
    RATING_NOT_COMPLETED, /* some step is not done or not applicable yet */
    RATING_ALREADY,       /* the journey has its rating: the first stands */
    RATING_BY_AGENT,      /* an agent, who sees it under a mandate: the usager rates */
    RATING_FAILED,        /* database error */
};
void rating_validate(json_t *body, json_t *errors);
/* The problem with a comment, or NULL; *blank set when it is only white
 * space (recorded as no comment). */
const char *rating_comment_problem(const char *text, int *blank);
/* Records the caller's rating of their journey (score 0..10 and comment,
 * NULL for none, both checked by rating_validate) when the rules allow it:
 * a journey declared under a mandate is the usager's to rate, not the
 * agent's. The journey is invalidated in cache (NULL: none). */
enum rating_result rating_record(PGconn *conn, struct journey_cache *cache, const char *journey_id,
                                 const struct gateway_caller *caller, int score,
                                 const char *comment);
/* Public indicators (indicators.c): the JSON text of GET /v1/indicators,
 * at most indicators_max_age old (or the previous answer while another
 * request computes the next), which the caller frees; NULL when the
 * database cannot be reached and nothing was computed yet. */
char *indicators_text(struct gateway *gw);
void indicators_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void ratings_post(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);

#endif
