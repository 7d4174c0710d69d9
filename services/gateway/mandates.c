/* Mandates: a France services agent (a session whose claims said
 * mdv_role agent) records that a usager who is present at their desk asks
 * them to declare one kind of démarche for them (POST /v1/mandates), then
 * declares it (POST /v1/declarations with mandate_id). The journey is the
 * usager's: its owner is their sub when they have signed in once, else
 * "mandate:<id>" until they do; either way the journeys the mandate covers
 * are seen by the usager it names and, until it expires, by the agent who
 * recorded it (GATEWAY_CALLER_SEES). Either of them may end it sooner
 * (POST /v1/mandates/{id}/end): it then expires at once, and says when and
 * by whom it was ended. A mandate names its usager by their pivot
 * identity; a usager's sign-in matches it on the pivot key (mdv/pivot.h,
 * the key every administration matches records on) and records their sub
 * on it (session.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cog.h"
#include "gateway.h"
#include "mdv/log.h"
#include "mdv/pivot.h"
#include "mdv/validate.h"
#include "validation.h"

/* A mandate covers declaring while the usager is at the desk: a day. */
#define MANDATE_TTL "1 day"
#define FRANCE "99100"

int gateway_pivot_key_of_claims(const json_t *claims, char key[MDV_PIVOT_KEY_LEN]);

#define MANDATE_COLUMNS                                                                            \
    "m.mandate_id, m.kind, m.site, m.agent_sub, m.usager::text,"                                   \
    " to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"              \
    " to_char(m.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"              \
    " (SELECT coalesce(json_agg(j.journey_id ORDER BY j.created_at), '[]')::text"                  \
    "  FROM journeys j WHERE j.mandate_id = m.mandate_id),"                                        \
    " to_char(m.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), m.ended_by"

static json_t *text_or_null(PGresult *r, int row, int column)
{
    return PQgetisnull(r, row, column) ? json_null() : json_string(PQgetvalue(r, row, column));
}

static json_t *mandate_from_row(PGresult *r, int row)
{
    char self[80];
    snprintf(self, sizeof(self), "/v1/mandates/%s", PQgetvalue(r, row, 0));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:{s:s}}", "id", PQgetvalue(r, row, 0),
        "kind", PQgetvalue(r, row, 1), "site", PQgetvalue(r, row, 2), "agent",
        PQgetvalue(r, row, 3), "usager", json_loads(PQgetvalue(r, row, 4), 0, NULL), "created_at",
        PQgetvalue(r, row, 5), "expires_at", PQgetvalue(r, row, 6), "journeys",
        json_loads(PQgetvalue(r, row, 7), 0, NULL), "ended_at", text_or_null(r, row, 8), "ended_by",
        text_or_null(r, row, 9), "links", "self", self);
}

json_t *gateway_mandates_json(PGconn *conn, const struct gateway_caller *caller, int *failed)
{
    const char *params[] = {caller->sub};
    PGresult *r = mdv_pg_query(conn,
                               "SELECT " MANDATE_COLUMNS " FROM mandates m"
                               " WHERE m.agent_sub = $1 OR m.usager_sub = $1"
                               " ORDER BY m.created_at DESC LIMIT 100",
                               1, params);
    *failed = !r;
    if (!r)
        return NULL;
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(items, mandate_from_row(r, i));
    PQclear(r);
    return items;
}

static const char *string_member(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* The birthplace: a commune of the COG for a person born in France, none
 * for one born abroad (FranceConnect gives it empty). */
static void check_birthplace(const json_t *usager, json_t *errors)
{
    const char *country = string_member(usager, "birthcountry");
    const char *place = string_member(usager, "birthplace");
    if (!country || strlen(country) != 5 || strspn(country, "0123456789") != 5 ||
        strncmp(country, "99", 2) != 0) {
        mdv_http_field_error(errors, "usager.birthcountry", "must be a COG country code (99XXX)");
        return;
    }
    if (strcmp(country, FRANCE) != 0) {
        if (place && *place)
            mdv_http_field_error(errors, "usager.birthplace",
                                 "must be empty for a person born abroad");
        return;
    }
    const char *why = place ? mdv_validate_cog(place) : "is required for a person born in France";
    if (!why && !cog_commune_find(place))
        why = "is not a commune of the COG";
    if (why)
        mdv_http_field_error(errors, "usager.birthplace", why);
}

static void check_usager(const json_t *usager, json_t *errors)
{
    static const char *const names[] = {"given_name", "family_name"};
    char field[64], today[11];
    for (size_t i = 0; i < MDV_ARRAY_LEN(names); i++) {
        const char *v = string_member(usager, names[i]);
        const char *why = v ? mdv_validate_name(v) : "is required";
        snprintf(field, sizeof(field), "usager.%s", names[i]);
        if (why)
            mdv_http_field_error(errors, field, why);
    }
    const char *birthdate = string_member(usager, "birthdate");
    const char *why = birthdate ? mdv_validate_date(birthdate) : "is required";
    mdv_date_today(today);
    if (!why && mdv_date_compare(birthdate, today) > 0)
        why = "must not be in the future";
    if (why)
        mdv_http_field_error(errors, "usager.birthdate", why);
    const char *gender = string_member(usager, "gender");
    if (!gender || (strcmp(gender, "female") != 0 && strcmp(gender, "male") != 0))
        mdv_http_field_error(errors, "usager.gender", "must be female or male");
    check_birthplace(usager, errors);
}

static void mandate_validate(json_t *body, json_t *errors)
{
    static const char *const known[] = {"usager", "kind"};
    static const char *const usager_known[] = {"given_name", "family_name", "birthdate",
                                               "gender",     "birthplace",  "birthcountry"};
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    const char *kind = string_member(body, "kind");
    if (!kind || !declaration_kind_known(kind))
        mdv_http_field_error(errors, "kind", "must be one of the declaration kinds");
    json_t *usager = json_object_get(body, "usager");
    if (!json_is_object(usager)) {
        mdv_http_field_error(errors, "usager", "must be the usager's pivot identity (an object)");
        return;
    }
    unknown_fields(usager, "usager.", usager_known, MDV_ARRAY_LEN(usager_known), errors);
    check_usager(usager, errors);
}

static int require_agent(const struct gateway_caller *caller, struct mdv_http_response *res)
{
    if (caller->agent)
        return 0;
    mdv_http_problem(res, 403, "agents-only", "Réservé aux agents France services",
                     "Only a France services agent, signed in as one, acts under a mandate.", NULL);
    return -1;
}

/* The agent's site, from their session's claims. */
static PGresult *insert_mandate(PGconn *conn, const struct gateway_caller *caller, json_t *body,
                                const char *key)
{
    char id[MDV_UUID_LEN];
    mdv_uuid_new(id);
    char *usager = json_dumps(json_object_get(body, "usager"), JSON_COMPACT | JSON_SORT_KEYS);
    const char *params[] = {id,     caller->sub, string_member(body, "kind"),
                            usager, key,         caller->session};
    PGresult *r = mdv_pg_query(
        conn,
        "WITH m AS (INSERT INTO mandates (mandate_id, agent_sub, site, kind, usager, pivot_key,"
        " usager_sub, expires_at) SELECT $1, $2, coalesce(s.claims->>'mdv_site', ''), $3, $4, $5,"
        " (SELECT u.sub FROM usagers u WHERE u.pivot_key = $5 ORDER BY u.signed_in_at DESC"
        " LIMIT 1), now() + interval '" MANDATE_TTL "' FROM sessions s WHERE s.session_hash = $6"
        " RETURNING *) SELECT " MANDATE_COLUMNS " FROM m",
        6, params);
    free(usager);
    return r;
}

void mandates_post(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;
    char key[MDV_PIVOT_KEY_LEN];

    if (gateway_caller_get(gw, req, res, &caller) != 0 || require_agent(&caller, res) != 0)
        return;
    json_t *body = mdv_http_read_json(req, res, mandate_validate, "Mandat incomplet ou invalide");
    if (!body)
        return;
    if (gateway_pivot_key_of_claims(json_object_get(body, "usager"), key) != 0) {
        json_t *errors = json_array();
        mdv_http_field_error(errors, "usager", "cannot be matched (a name without Latin letters)");
        mdv_http_problem(res, 422, "validation", "Mandat incomplet ou invalide",
                         "The usager's identity cannot be matched.", errors);
        json_decref(body);
        return;
    }
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    PGresult *r = conn ? insert_mandate(conn, &caller, body, key) : NULL;
    if (conn)
        mdv_pg_pool_put(gw->pool, conn);
    if (r && PQntuples(r) == 1) {
        json_t *mandate = mandate_from_row(r, 0);
        mdv_strlcpy(res->location,
                    json_string_value(json_object_get(json_object_get(mandate, "links"), "self")),
                    sizeof(res->location));
        mdv_info("mandate %s recorded by agent %s", PQgetvalue(r, 0, 0), caller.sub);
        mdv_http_json(res, 201, mandate);
    } else {
        mdv_http_unavailable(res);
    }
    PQclear(r);
    json_decref(body);
}

void mandates_list(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;
    int failed = 0;

    if (gateway_caller_get(gw, req, res, &caller) != 0)
        return;
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    json_t *items = conn ? gateway_mandates_json(conn, &caller, &failed) : NULL;
    if (conn)
        mdv_pg_pool_put(gw->pool, conn);
    if (items)
        mdv_http_json(res, 200, json_pack("{s:o}", "items", items));
    else
        mdv_http_unavailable(res);
}

static void mandate_not_found(struct mdv_http_response *res)
{
    mdv_http_problem(res, 404, "not-found", "Mandat introuvable",
                     "No mandate with this id among yours.", NULL);
}

/* The mandate id, if the caller recorded it or it names them. */
static PGresult *select_mandate(PGconn *conn, const struct gateway_caller *caller, const char *id)
{
    const char *params[] = {id, caller->sub};
    return mdv_pg_query(conn,
                        "SELECT " MANDATE_COLUMNS " FROM mandates m"
                        " WHERE m.mandate_id = $1 AND (m.agent_sub = $2 OR m.usager_sub = $2)",
                        2, params);
}

void mandates_get(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;

    if (gateway_caller_get(gw, req, res, &caller) != 0)
        return;
    if (!mdv_uuid_valid(req->param)) {
        mandate_not_found(res);
        return;
    }
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    PGresult *r = conn ? select_mandate(conn, &caller, req->param) : NULL;
    if (conn)
        mdv_pg_pool_put(gw->pool, conn);
    if (!r)
        mdv_http_unavailable(res);
    else if (PQntuples(r) == 1)
        mdv_http_json(res, 200, mandate_from_row(r, 0));
    else
        mandate_not_found(res);
    PQclear(r);
}

/* Ends the mandate now if it is still in force: it expires at once, so
 * every rule that reads expires_at (declaring under it, the agent seeing
 * its journeys) holds from this commit. The row as it is after, none when
 * it is not the caller's. A mandate already over is left as it was. */
static PGresult *end_mandate(PGconn *conn, const struct gateway_caller *caller, const char *id)
{
    const char *params[] = {id, caller->sub};
    PGresult *r = mdv_pg_query(
        conn,
        "WITH m AS (UPDATE mandates SET ended_at = now(), expires_at = now(),"
        " ended_by = CASE WHEN agent_sub = $2 THEN 'agent' ELSE 'usager' END"
        " WHERE mandate_id = $1 AND (agent_sub = $2 OR usager_sub = $2) AND expires_at > now()"
        " RETURNING *) SELECT " MANDATE_COLUMNS " FROM m",
        2, params);
    if (r && PQntuples(r) == 1) {
        mdv_info("mandate %s ended by its %s", id, PQgetvalue(r, 0, 9));
        return r;
    }
    PQclear(r);
    return r ? select_mandate(conn, caller, id) : NULL;
}

json_t *gateway_mandate_end(PGconn *conn, const struct gateway_caller *caller, const char *id,
                            int *failed)
{
    PGresult *r = end_mandate(conn, caller, id);
    *failed = !r;
    json_t *mandate = r && PQntuples(r) == 1 ? mandate_from_row(r, 0) : NULL;
    PQclear(r);
    return mandate;
}

void mandates_end(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;
    int failed = 0;

    if (gateway_caller_get(gw, req, res, &caller) != 0)
        return;
    if (!mdv_uuid_valid(req->param)) {
        mandate_not_found(res);
        return;
    }
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    json_t *mandate = conn ? gateway_mandate_end(conn, &caller, req->param, &failed) : NULL;
    if (conn)
        mdv_pg_pool_put(gw->pool, conn);
    if (mandate)
        mdv_http_json(res, 200, mandate);
    else if (!conn || failed)
        mdv_http_unavailable(res);
    else
        mandate_not_found(res);
}

void declaration_validate_mandated(json_t *body, json_t *errors)
{
    json_t *mandate = json_object_get(body, "mandate_id");
    if (!mandate) {
        declaration_validate(body, errors);
        return;
    }
    json_incref(mandate);
    json_object_del(body, "mandate_id");
    declaration_validate(body, errors);
    if (!json_is_string(mandate) || !mdv_uuid_valid(json_string_value(mandate)))
        mdv_http_field_error(errors, "mandate_id", "must be the id of a mandate (a UUID)");
    json_object_set_new(body, "mandate_id", mandate);
}

/* The agent's own mandate, unexpired, for this kind. */
static int mandate_check(PGconn *conn, const struct gateway_caller *caller, const char *id,
                         const char *kind, struct mdv_http_response *res, char *owner)
{
    const char *params[] = {id, caller->sub};
    PGresult *r = mdv_pg_query(conn,
                               "SELECT kind, coalesce(usager_sub, 'mandate:' || mandate_id),"
                               " expires_at > now(), ended_by FROM mandates"
                               " WHERE mandate_id = $1 AND agent_sub = $2",
                               2, params);
    int rc = -1;
    if (!r)
        mdv_http_unavailable(res);
    else if (PQntuples(r) != 1)
        mdv_http_problem(res, 404, "mandate-not-found", "Mandat introuvable",
                         "No mandate with this id recorded by you.", NULL);
    else if (!PQgetisnull(r, 0, 3))
        mdv_http_problem(res, 409, "mandate-ended", "Mandat terminé",
                         strcmp(PQgetvalue(r, 0, 3), "agent") == 0
                             ? "You ended this mandate: record a new one with the usager."
                             : "The usager ended this mandate: record a new one with them.",
                         NULL);
    else if (strcmp(PQgetvalue(r, 0, 2), "t") != 0)
        mdv_http_problem(res, 409, "mandate-expired", "Mandat expiré",
                         "This mandate has expired: record a new one with the usager.", NULL);
    else if (strcmp(PQgetvalue(r, 0, 0), kind) != 0) {
        json_t *errors = json_array();
        mdv_http_field_error(errors, "kind", "is not the kind of the mandate");
        mdv_http_problem(res, 422, "mandate-kind", "Ce mandat ne couvre pas cette démarche",
                         "The declaration's kind is not the mandate's.", errors);
    } else {
        mdv_strlcpy(owner, PQgetvalue(r, 0, 1), MDV_AUTH_SUB_LEN);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int gateway_mandate_owner(PGconn *conn, const struct gateway_caller *caller, json_t *body,
                          struct mdv_http_response *res, char owner[MDV_AUTH_SUB_LEN],
                          char mandate_id[MDV_UUID_LEN])
{
    const char *id = string_member(body, "mandate_id");
    mandate_id[0] = '\0';
    if (!caller->agent) {
        mdv_strlcpy(owner, caller->sub, MDV_AUTH_SUB_LEN);
        return id ? require_agent(caller, res) : 0;
    }
    if (!id) {
        json_t *errors = json_array();
        mdv_http_field_error(errors, "mandate_id",
                             "an agent declares for a usager under a mandate: it is required");
        mdv_http_problem(res, 422, "validation", "Mandat requis",
                         "A France services agent declares only under a mandate.", errors);
        return -1;
    }
    mdv_strlcpy(mandate_id, id, MDV_UUID_LEN);
    int rc = mandate_check(conn, caller, mandate_id, string_member(body, "kind"), res, owner);
    json_object_del(body, "mandate_id");
    return rc;
}
