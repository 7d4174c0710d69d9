/* POST /internal/v1/address-lookups: what the register knows of a person
 * for another mdv service, the way « Dites-le-nous une fois » does it: the
 * gateway asks, for the signed-in usager only and when it needs it, the
 * administration that holds the data. The body is a pivot identity
 * (lookup_check.c), matched as declarations are; the answer is the
 * person's current main address in France, or 404. Callers are services
 * with a token of the services' own issuer and audience (README, « What
 * the administrations already know »), whose sub is one this route
 * serves; everyone else is 401 (403 for a service it does not serve). The
 * log names the caller and the outcome, never the identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "mdv/auth.h"
#include "mdv/pg.h"

/* The services this route answers: the gateway fills the usager's forms. */
static const char *const callers[] = {"gateway"};

static void unauthorized(struct mdv_http_response *res, const char *why)
{
    char *detail = mdv_xasprintf("A service's bearer token is required: %s.", why);
    mdv_http_problem(res, 401, "unauthorized", "Authentification du service requise", detail, NULL);
    free(detail);
}

/* 0 when the caller is a service this route serves, else answers. */
static int authenticate(struct identity_api *api, const struct mdv_http_request *req,
                        struct mdv_http_response *res, char sub[MDV_AUTH_SUB_LEN])
{
    char why[128];
    if (!api->auth) {
        unauthorized(res, "no service key is configured");
        return -1;
    }
    if (mdv_auth_verify(api->auth, mdv_http_header(req, "Authorization"), sub, MDV_AUTH_SUB_LEN,
                        why, sizeof(why)) != 0) {
        unauthorized(res, why);
        return -1;
    }
    for (size_t i = 0; i < MDV_ARRAY_LEN(callers); i++)
        if (strcmp(sub, callers[i]) == 0)
            return 0;
    mdv_http_problem(res, 403, "forbidden", "Accès réservé aux services autorisés",
                     "The token's subject is no service this route answers.", NULL);
    return -1;
}

/* Checked after the body was read as an object (mdv_http_read_json). */
static void validate(json_t *body, json_t *errors)
{
    char key[MDV_PIVOT_KEY_LEN];
    if (identity_lookup_key(body, errors, key) != 0)
        return; /* the errors say why */
}

/* The current main address in France of the person of key, as the answer;
 * 404 when the register has nobody of that key or no such address. The
 * oldest record of a key is the person, as identity_person_find says. */
static int answer(PGconn *conn, const char *key, struct mdv_http_response *res)
{
    const char *params[] = {key};
    PGresult *r = mdv_pg_query(
        conn,
        "SELECT json_build_object('lines', a.lines, 'postal_code', coalesce(a.postal_code, ''),"
        " 'commune_code', a.commune_code, 'city', a.city)::text"
        " FROM (SELECT person_id FROM persons WHERE pivot_key = $1"
        "       ORDER BY person_id LIMIT 1) p"
        " JOIN addresses a ON a.person_id = p.person_id AND a.valid_to IS NULL"
        " WHERE a.country_code = '99100'",
        1, params);
    if (!r)
        return -1;
    if (PQntuples(r) == 1)
        mdv_http_json_text(res, 200, mdv_xstrdup(PQgetvalue(r, 0, 0)));
    else
        mdv_http_problem(res, 404, "not-found", "Adresse inconnue",
                         "The register knows no current main address in France for this person.",
                         NULL);
    PQclear(r);
    return 0;
}

void identity_lookup_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                          void *ctx)
{
    struct identity_api *api = ctx;
    char sub[MDV_AUTH_SUB_LEN], key[MDV_PIVOT_KEY_LEN];
    if (authenticate(api, req, res, sub) != 0)
        return;
    json_t *body = mdv_http_read_json(req, res, validate, "Identité invalide");
    if (!body)
        return;
    json_t *errors = json_array();
    int keyed = identity_lookup_key(body, errors, key);
    json_decref(errors);
    json_decref(body);
    if (keyed != 0) {
        mdv_http_unavailable(res); /* validate passed: cannot happen */
        return;
    }
    PGconn *conn = mdv_pg_pool_get(api->pool);
    if (!conn || answer(conn, key, res) != 0) {
        json_decref(res->json);
        res->json = NULL;
        mdv_http_unavailable(res);
    }
    if (conn)
        mdv_pg_pool_put(api->pool, conn);
    mdv_info("address lookup by %s: %d", sub, res->status);
}
