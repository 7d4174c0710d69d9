/* The mandate on a server-rendered journey page (/parcours/{id}): for a
 * journey a France services agent declared under a mandate, who it was for,
 * who declared it, when and for which démarche, as the page's script shows
 * it (web/static/agent.js); while it is in force, a button for the usager
 * or the agent to end it (POST /parcours/{id}/fin-du-mandat). */
#include <stdlib.h>
#include <string.h>

#include "pages.h"

/* The caller's mandate (gateway_mandates_json) covering journey_id, or
 * NULL; borrowed from mandates. */
static json_t *covering(json_t *mandates, const char *journey_id)
{
    size_t i, k;
    json_t *mandate, *id;
    json_array_foreach(mandates, i, mandate)
    {
        json_array_foreach(json_object_get(mandate, "journeys"), k, id)
        {
            if (strcmp(json_string_value(id), journey_id) == 0)
                return mandate;
        }
    }
    return NULL;
}

static const char *member(const json_t *obj, const char *name)
{
    const char *v = json_string_value(json_object_get(obj, name));
    return v ? v : "";
}

static int in_force(const json_t *mandate)
{
    char now[MDV_TIME_LEN];
    mdv_time_now(now);
    return json_is_null(json_object_get(mandate, "ended_at")) &&
           strcmp(member(mandate, "expires_at"), now) > 0;
}

/* Who ended it, as the reader of the page says it. */
static const char *ended_by(const json_t *mandate, int for_agent)
{
    int by_agent = strcmp(member(mandate, "ended_by"), "agent") == 0;
    if (by_agent == for_agent)
        return "par vous";
    return by_agent ? "par l'agent" : "par l'usager";
}

static void facts(struct html *h, const json_t *mandate, int for_agent)
{
    const json_t *usager = json_object_get(mandate, "usager");
    char birth[64], created[64], expires[64];
    /* birthdate is a date: the time parser wants a time of day too. */
    char *birth_time = mdv_xasprintf("%sT12:00:00Z", member(usager, "birthdate"));
    html_date(birth_time, birth, sizeof(birth));
    free(birth_time);
    char *cut = strstr(birth, " à ");
    if (cut)
        *cut = '\0';
    html_date(member(mandate, "created_at"), created, sizeof(created));
    html_date(member(mandate, "expires_at"), expires, sizeof(expires));
    html_raw(h, "<dl class=\"mdv-facts\"><dt>Pour</dt><dd>");
    html_printf(h, "%s%s %s, %s le %s%s", for_agent ? "" : "vous (", member(usager, "given_name"),
                member(usager, "family_name"),
                strcmp(member(usager, "gender"), "female") == 0 ? "née" : "né", birth,
                for_agent ? "" : ")");
    html_printf(h, "</dd><dt>Par</dt><dd>un agent de %s</dd>", member(mandate, "site"));
    html_printf(h, "<dt>Mandat donné le</dt><dd>%s</dd>", created);
    html_printf(h, "<dt>Pour la démarche</dt><dd>%s</dd>",
                page_kind_label(member(mandate, "kind")));
    if (json_is_null(json_object_get(mandate, "ended_at")))
        html_printf(h, "<dt>Valable jusqu'au</dt><dd>%s</dd></dl>", expires);
    else
        html_printf(h, "<dt>Fin du mandat</dt><dd>le %s, %s</dd></dl>", expires,
                    ended_by(mandate, for_agent));
}

static void end_form(struct html *h, const char *journey_id, const char *csrf, int for_agent)
{
    html_printf(h, "<form method=\"post\" action=\"/parcours/%s/fin-du-mandat\">", journey_id);
    if (csrf[0])
        html_printf(h, "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\">", csrf);
    html_printf(h, "<p class=\"fr-text--sm\">%s</p>",
                for_agent ? "Fin du rendez-vous : vous ne verrez plus cette démarche, qui reste "
                            "celle de l'usager."
                          : "L'agent ne verra plus cette démarche ni ne pourra déclarer pour "
                            "vous sous ce mandat ; la démarche reste la vôtre.");
    html_raw(h, "<button class=\"fr-btn fr-btn--secondary\" type=\"submit\">Mettre fin au "
                "mandat</button></form>");
}

int page_mandate_section(struct html *h, PGconn *conn, const struct gateway_caller *caller,
                         const char *journey_id, const char *csrf)
{
    int failed = 0;
    json_t *mandates = gateway_mandates_json(conn, caller, &failed);
    if (failed)
        return -1;
    json_t *mandate = covering(mandates, journey_id);
    if (mandate) {
        html_raw(h, "<section class=\"fr-callout fr-my-4w\" id=\"mandat\" "
                    "aria-labelledby=\"mandat-titre\"><h2 class=\"fr-callout__title fr-h5\" "
                    "id=\"mandat-titre\">");
        html_raw(h,
                 caller->agent ? "Déclarée sous mandat" : "Déclarée pour vous par France services");
        html_raw(h, "</h2>");
        facts(h, mandate, caller->agent);
        if (in_force(mandate))
            end_form(h, journey_id, csrf, caller->agent);
        html_raw(h, "</section>");
    }
    json_decref(mandates);
    return 0;
}

int page_mandate_end(PGconn *conn, const struct gateway_caller *caller, const char *journey_id)
{
    int failed = 0;
    json_t *mandates = gateway_mandates_json(conn, caller, &failed);
    if (failed)
        return -1;
    json_t *mandate = covering(mandates, journey_id);
    int rc = 1;
    if (mandate) {
        json_t *ended = gateway_mandate_end(conn, caller, member(mandate, "id"), &failed);
        rc = failed ? -1 : 0;
        json_decref(ended);
    }
    json_decref(mandates);
    return rc;
}
