/* GET /v1/me's body: the caller's sub and role, their pivot identity from
 * the provider (for the page's greeting and the forms' pre-filled
 * fields), the session's CSRF token, and what is already known of them. */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

static const char *const pivot_claims[] = {"given_name", "family_name",  "birthdate", "gender",
                                           "birthplace", "birthcountry", "email",     NULL};

static json_t *bare(const struct gateway_caller *caller)
{
    json_t *me =
        json_pack("{s:s, s:s}", "sub", caller->sub, "role", caller->agent ? "agent" : "usager");
    for (const char *const *c = pivot_claims; *c; c++)
        json_object_set_new(me, *c, json_null());
    json_object_set_new(me, "csrf_token", json_null());
    json_object_set_new(me, "known", json_null());
    return me;
}

json_t *gateway_me_json(PGconn *conn, const struct gateway_caller *caller, const char *cookie)
{
    int failed = 0;
    (void)cookie;
    json_t *me = bare(caller);
    json_t *mandates = gateway_mandates_json(conn, caller, &failed);
    if (failed) {
        json_decref(me);
        return NULL;
    }
    json_object_set_new(me, "mandates", mandates);
    if (!caller->session[0])
        return me; /* a bearer token: no pivot identity, no CSRF token */
    const char *params[] = {caller->session};
    PGresult *r = mdv_pg_query(
        conn, "SELECT claims, csrf_token FROM sessions WHERE session_hash = $1", 1, params);
    if (!r) {
        json_decref(me);
        return NULL;
    }
    if (PQntuples(r) == 1) {
        json_t *claims = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        for (const char *const *c = pivot_claims; *c; c++) {
            json_t *v = json_object_get(claims, *c);
            if (json_is_string(v))
                json_object_set(me, *c, v);
        }
        if (caller->agent)
            json_object_set(me, "site", json_object_get(claims, "mdv_site"));
        json_object_set_new(me, "csrf_token", json_string(PQgetvalue(r, 0, 1)));
        json_decref(claims);
    }
    PQclear(r);
    return me;
}
