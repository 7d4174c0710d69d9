/* What every route of the partners' HTTP API shares: the partner's
 * authentication (a bearer JWT of the partners' own issuer and audience,
 * checked like the usagers' by shared/auth.c, whose subject is a partner
 * id of rules/partners.tsv), the answer when the database is away, and the
 * stand-in for a consumed message that lets a request report a step
 * through the same functions as the consumer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partners.h"

static const struct partners_partner *partner_named(const char *id)
{
    for (size_t i = 0; i < partners_rules->n_partners; i++)
        if (strcmp(partners_rules->partners[i].id, id) == 0)
            return &partners_rules->partners[i];
    return NULL;
}

const struct partners_partner *partners_api_authenticate(struct partners_api *api,
                                                         const struct mdv_http_request *req,
                                                         struct mdv_http_response *res)
{
    char sub[MDV_AUTH_SUB_LEN], why[128];
    if (mdv_auth_verify(api->auth, mdv_http_header(req, "Authorization"), sub, sizeof(sub), why,
                        sizeof(why)) != 0) {
        char *detail = mdv_xasprintf("A valid partner's bearer token is required: %s.", why);
        mdv_http_problem(res, 401, "unauthorized", "Authentification du partenaire requise", detail,
                         NULL);
        free(detail);
        return NULL;
    }
    const struct partners_partner *p = partner_named(sub);
    if (!p)
        mdv_http_problem(res, 403, "forbidden", "Accès réservé aux partenaires",
                         "The token's subject is no partner of this service.", NULL);
    return p;
}

void partners_api_msg(struct partners_api *api, PGconn *conn, const char *journey_id,
                      struct mdv_msg *msg)
{
    memset(msg, 0, sizeof(*msg));
    msg->svc = api->svc;
    msg->conn = conn;
    mdv_uuid_new(msg->ev.id);
    msg->log.journey_id = journey_id;
    msg->log.ce_id = msg->ev.id;
}
