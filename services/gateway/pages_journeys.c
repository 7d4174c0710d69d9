/* /parcours and /parcours/{id}: a signed-in usager's journeys for reading
 * without JavaScript (the page links them inside <noscript>), and the
 * rating form as a plain HTML form (POST /parcours/{id}/avis, with the
 * session's CSRF token as a form field). Someone else's journey is 404, as
 * in the API. Every value goes through html_text. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pages.h"

#define LIST_MAX 50

static const struct {
    const char *status, *label, *badge;
} step_statuses[] = {
    {"pending", "En attente", "fr-badge--new"},
    {"received", "Reçue", "fr-badge--info"},
    {"in_progress", "En cours", "fr-badge--info"},
    {"done", "Terminée", "fr-badge--success"},
    {"not_applicable", "Sans objet", ""},
    {"action_required", "Action requise", "fr-badge--warning"},
    {"failed", "Échec", "fr-badge--error"},
    {"completed", "Terminée", "fr-badge--success"},
};

static void badge(struct html *h, const char *status)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(step_statuses); i++) {
        if (status && strcmp(step_statuses[i].status, status) == 0) {
            html_printf(h, "<p class=\"fr-badge fr-badge--sm %s\">%s</p>", step_statuses[i].badge,
                        step_statuses[i].label);
            return;
        }
    }
    html_printf(h, "<p class=\"fr-badge fr-badge--sm\">%s</p>", status);
}

/* Authenticates the caller for a page, on the page's own connection; their
 * session's CSRF token goes to csrf ("" for a bearer token). Answers a
 * page and returns -1 when not. */
static int page_caller(struct gateway *gw, const struct mdv_http_request *req,
                       struct mdv_http_response *res, struct gateway_caller *caller, PGconn *conn,
                       char *csrf, size_t len)
{
    csrf[0] = '\0';
    if (gateway_caller_get_on(gw, conn, req, res, caller) != 0) {
        if (res->status == 401)
            page_message(res, 401, "Connexion requise",
                         "Identifiez-vous pour consulter vos démarches.", "/auth/login",
                         "S'identifier avec FranceConnect");
        else if (res->status == 403)
            page_message(res, 403, "Requête refusée",
                         "Le formulaire a expiré ou ne vient pas de cette page : revenez à la "
                         "démarche et recommencez.",
                         "/parcours", "Mes démarches");
        else
            page_unavailable(res, "Réessayez dans quelques instants.");
        return -1;
    }
    json_t *me = gateway_me_json(conn, caller, NULL);
    const char *token = json_string_value(json_object_get(me, "csrf_token"));
    mdv_strlcpy(csrf, token ? token : "", len);
    json_decref(me);
    return 0;
}

static void unavailable(struct mdv_http_response *res)
{
    page_unavailable(res, "Vos démarches ne peuvent pas être lues pour l'instant : réessayez dans "
                          "quelques instants.");
}

static void journey_item(struct html *h, json_t *journey)
{
    char created[64];
    const char *id = json_string_value(json_object_get(journey, "id"));
    html_date(json_string_value(json_object_get(journey, "created_at")), created, sizeof(created));
    html_printf(h, "<li class=\"fr-mb-2w\"><a class=\"fr-link\" href=\"/parcours/%s\">%s</a>", id,
                page_kind_label(json_string_value(json_object_get(journey, "kind"))));
    html_printf(h, " <span class=\"fr-text--sm\">déclarée le %s</span>", created);
    badge(h, json_string_value(json_object_get(journey, "status")));
    html_raw(h, "</li>");
}

#define LIST_SQL                                                                                   \
    "SELECT j.journey_id FROM journeys j WHERE " GATEWAY_CALLER_SEES(                              \
        "1") " ORDER BY j.created_at DESC, j.journey_id DESC LIMIT " MDV_STR(LIST_MAX)

/* The caller's newest journeys, those declared for them under a mandate
 * (or, for an agent, under theirs) included; -1 on a database error. */
static int list_items(PGconn *conn, const char *usager, struct html *h)
{
    const char *params[] = {usager};
    PGresult *ids = mdv_pg_query(conn, LIST_SQL, 1, params);
    if (!ids)
        return -1;
    int failed = 0;
    if (PQntuples(ids) == 0)
        html_raw(h, "<p>Vous n'avez encore déclaré aucune démarche.</p>");
    else
        html_raw(h, "<ul>");
    for (int i = 0; i < PQntuples(ids) && !failed; i++) {
        json_t *journey = journey_json(conn, PQgetvalue(ids, i, 0), usager, &failed);
        if (journey)
            journey_item(h, journey);
        json_decref(journey);
    }
    if (PQntuples(ids) > 0)
        html_raw(h, "</ul>");
    PQclear(ids);
    return failed ? -1 : 0;
}

void pages_journeys(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;
    char csrf[128];
    struct html h = {0};
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn) {
        unavailable(res);
        return;
    }
    if (page_caller(gw, req, res, &caller, conn, csrf, sizeof(csrf)) != 0)
        goto out;
    page_begin(&h, "Mes démarches", csrf[0] ? csrf : NULL);
    html_raw(&h, "<h1>Mes démarches</h1>");
    if (list_items(conn, caller.sub, &h) != 0) {
        html_free(&h);
        unavailable(res);
        goto out;
    }
    page_end(&h);
    page_send(res, 200, &h);
out:
    mdv_pg_pool_put(gw->pool, conn);
}

/* The délai constaté of a final step: receipt to its final report. */
static void observed_cell(struct html *h, json_t *step)
{
    const char *status = json_string_value(json_object_get(step, "status"));
    int final = status && (strcmp(status, "done") == 0 || strcmp(status, "failed") == 0 ||
                           strcmp(status, "not_applicable") == 0);
    time_t received, updated;
    char text[32] = "—";
    if (final &&
        html_parse_time(json_string_value(json_object_get(step, "received_at")), &received) == 0 &&
        html_parse_time(json_string_value(json_object_get(step, "updated_at")), &updated) == 0)
        html_duration(difftime(updated, received), text, sizeof(text));
    html_printf(h, "<td>%s</td>", text);
}

static void step_row(struct html *h, json_t *step)
{
    char due[64];
    const char *label = json_string_value(json_object_get(step, "label"));
    html_date(json_string_value(json_object_get(step, "due_at")), due, sizeof(due));
    html_printf(h, "<tr><td>%s</td><td>%s</td><td>",
                json_string_value(json_object_get(step, "administration")),
                label ? label : json_string_value(json_object_get(step, "code")));
    badge(h, json_string_value(json_object_get(step, "status")));
    html_printf(h, "</td><td>%s</td><td>%s</td>",
                json_string_value(json_object_get(step, "detail")), due[0] ? due : "—");
    observed_cell(h, step);
    html_raw(h, "</tr>");
}

static void steps_table(struct html *h, json_t *steps)
{
    size_t i;
    json_t *step;
    html_raw(h, "<div class=\"fr-table\"><table><caption>Ce que chaque administration a fait de "
                "votre déclaration</caption><thead><tr><th scope=\"col\">Administration</th>"
                "<th scope=\"col\">Étape</th><th scope=\"col\">Statut</th>"
                "<th scope=\"col\">Détail</th><th scope=\"col\">Délai annoncé</th>"
                "<th scope=\"col\">Délai constaté</th></tr></thead><tbody>");
    json_array_foreach(steps, i, step) step_row(h, step);
    html_raw(h, "</tbody></table></div>");
}

/* Text that may span lines: each line escaped, <br> between them. */
static void lines(struct html *h, const char *text)
{
    char *copy = mdv_xstrdup(text), *save = NULL;
    int first = 1;
    for (char *line = strtok_r(copy, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        html_raw(h, first ? "" : "<br>");
        html_text(h, line);
        first = 0;
    }
    free(copy);
}

static void rating_form(struct html *h, const char *id, const char *csrf)
{
    html_printf(h, "<form method=\"post\" action=\"/parcours/%s/avis\">", id);
    if (csrf[0])
        html_printf(h, "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\">", csrf);
    html_raw(h, "<div class=\"fr-select-group\"><label class=\"fr-label\" for=\"note\">Quelle "
                "note donnez-vous à cette démarche ?<span class=\"fr-hint-text\">De 0 (très "
                "insatisfait) à 10 (très satisfait)</span></label>"
                "<select class=\"fr-select\" id=\"note\" name=\"score\" required>"
                "<option value=\"\" selected disabled>Choisir une note</option>");
    for (int score = 0; score <= 10; score++)
        html_printf(h, "<option value=\"%d\">%d</option>", score, score);
    html_raw(h, "</select></div><div class=\"fr-input-group\"><label class=\"fr-label\" "
                "for=\"commentaire\">Commentaire (facultatif)<span class=\"fr-hint-text\">1 000 "
                "caractères au plus</span></label><textarea class=\"fr-input\" id=\"commentaire\" "
                "name=\"comment\" maxlength=\"1000\" rows=\"4\"></textarea></div>"
                "<button class=\"fr-btn\" type=\"submit\">Envoyer mon avis</button></form>");
}

static void rating_section(struct html *h, json_t *journey, const char *csrf, int agent)
{
    json_t *rating = json_object_get(journey, "rating");
    const char *status = json_string_value(json_object_get(journey, "status"));
    html_raw(h, "<h2 id=\"avis\">Votre avis sur cette démarche</h2>");
    if (json_is_object(rating)) {
        html_printf(h, "<p>Vous avez donné la note de %d sur 10.</p>",
                    (int)json_integer_value(json_object_get(rating, "score")));
        const char *comment = json_string_value(json_object_get(rating, "comment"));
        if (comment) {
            html_raw(h, "<blockquote class=\"fr-quote\"><p>");
            lines(h, comment);
            html_raw(h, "</p></blockquote>");
        }
    } else if (agent) {
        html_raw(h, "<p>L'usager pourra donner son avis sur cette démarche depuis son propre "
                    "espace : c'est à lui d'en juger.</p>");
    } else if (status && strcmp(status, "completed") == 0) {
        rating_form(h, json_string_value(json_object_get(journey, "id")), csrf);
    } else {
        html_raw(h, "<p>Vous pourrez donner votre avis une fois la démarche terminée.</p>");
    }
}

/* mandate: the page's mandate section (page_mandate_section), taken;
 * agent: the caller is a France services agent (who does not rate). */
static void journey_page(struct mdv_http_response *res, json_t *journey, const char *csrf,
                         char *mandate, int agent)
{
    struct html h = {0};
    char created[64];
    const char *title = page_kind_label(json_string_value(json_object_get(journey, "kind")));
    html_date(json_string_value(json_object_get(journey, "created_at")), created, sizeof(created));
    page_begin(&h, title, csrf[0] ? csrf : NULL);
    html_raw(&h, "<nav role=\"navigation\" class=\"fr-breadcrumb\" aria-label=\"vous êtes ici :\">"
                 "<ol class=\"fr-breadcrumb__list\"><li><a class=\"fr-breadcrumb__link\" "
                 "href=\"/parcours\">Mes démarches</a></li><li><a class=\"fr-breadcrumb__link\" "
                 "aria-current=\"page\">");
    html_text(&h, title);
    html_printf(&h, "</a></li></ol></nav><h1>%s</h1><p>Déclarée le %s.</p>", title, created);
    badge(&h, json_string_value(json_object_get(journey, "status")));
    html_raw(&h, mandate);
    free(mandate);
    steps_table(&h, json_object_get(journey, "steps"));
    pages_recipients_section(&h, journey);
    rating_section(&h, journey, csrf, agent);
    page_end(&h);
    page_send(res, 200, &h);
}

static void not_found(struct mdv_http_response *res)
{
    page_message(res, 404, "Démarche introuvable", "Aucune de vos démarches ne porte ce numéro.",
                 "/parcours", "Mes démarches");
}

void pages_journey(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;
    char csrf[128];
    int failed = 0;
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn) {
        unavailable(res);
        return;
    }
    if (page_caller(gw, req, res, &caller, conn, csrf, sizeof(csrf)) != 0)
        goto out;
    json_t *journey =
        mdv_uuid_valid(req->param) ? journey_json(conn, req->param, caller.sub, &failed) : NULL;
    struct html mandate = {0};
    if (journey && page_mandate_section(&mandate, conn, &caller, req->param, csrf) != 0)
        failed = 1;
    if (journey && !failed)
        journey_page(res, journey, csrf, html_take(&mandate), caller.agent);
    else if (failed)
        unavailable(res);
    else
        not_found(res);
    html_free(&mandate);
    json_decref(journey);
out:
    mdv_pg_pool_put(gw->pool, conn);
}

/* A field of a form-encoded body, decoded, in a string the caller frees;
 * NULL when the body has none (or is not a form). */
static char *form_value(const struct mdv_http_request *req, const char *name)
{
    static const char form[] = "application/x-www-form-urlencoded";
    const char *type = mdv_http_header(req, "Content-Type");
    size_t n = strlen(name);
    if (!req->body || !type || strncasecmp(type, form, strlen(form)) != 0)
        return NULL;
    for (const char *p = req->body; p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, n) != 0 || p[n] != '=')
            continue;
        size_t len = strcspn(p + n + 1, "&");
        char *value = mdv_xmalloc(len + 1);
        memcpy(value, p + n + 1, len);
        value[len] = '\0';
        mdv_http_unescape_form(value);
        return value;
    }
    return NULL;
}

/* The form's score, 0 to 10, or -1 when it is not one. */
static int form_score(const char *text)
{
    if (!text || !*text || strlen(text) > 2 || strspn(text, "0123456789") != strlen(text))
        return -1;
    int score = atoi(text);
    return score <= 10 ? score : -1;
}

static void rating_answer(struct mdv_http_response *res, enum rating_result result, const char *id)
{
    char *back = mdv_xasprintf("/parcours/%s", id);
    switch (result) {
    case RATING_RECORDED: {
        char *to = mdv_xasprintf("/parcours/%s#avis", id);
        mdv_http_redirect(res, 303, to);
        free(to);
        break;
    }
    case RATING_NOT_FOUND:
        not_found(res);
        break;
    case RATING_NOT_COMPLETED:
        page_message(res, 409, "Démarche pas encore terminée",
                     "Vous pourrez donner votre avis une fois la démarche terminée.", back,
                     "Retour à la démarche");
        break;
    case RATING_ALREADY:
        page_message(res, 409, "Avis déjà donné",
                     "Vous avez déjà donné votre avis sur cette démarche : c'est celui-là qui "
                     "compte.",
                     back, "Retour à la démarche");
        break;
    case RATING_BY_AGENT:
        page_message(res, 403, "Avis réservé à l'usager",
                     "L'usager pourra donner son avis sur cette démarche depuis son propre espace.",
                     back, "Retour à la démarche");
        break;
    case RATING_FAILED:
        unavailable(res);
        break;
    }
    free(back);
}

/* The form's fields checked as the API checks a rating; 0 when valid. */
static int form_check(int score, const char *comment, const char *id, struct mdv_http_response *res)
{
    int blank;
    const char *problem = comment ? rating_comment_problem(comment, &blank) : NULL;
    if (score >= 0 && !problem)
        return 0;
    char *back = mdv_xasprintf("/parcours/%s", id);
    page_message(res, 422, "Avis incomplet",
                 score < 0 ? "Choisissez une note de 0 à 10."
                           : "Le commentaire doit compter au plus 1 000 caractères, sans "
                             "caractère de contrôle autre que les retours à la ligne.",
                 back, "Retour à la démarche");
    free(back);
    return -1;
}

void pages_rating_post(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;
    char csrf[128];
    char *score_text = NULL, *comment = NULL;
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn) {
        unavailable(res);
        return;
    }
    if (page_caller(gw, req, res, &caller, conn, csrf, sizeof(csrf)) != 0)
        goto out;
    if (!mdv_uuid_valid(req->param)) {
        not_found(res);
        goto out;
    }
    score_text = form_value(req, "score");
    comment = form_value(req, "comment");
    int score = form_score(score_text);
    if (form_check(score, comment, req->param, res) == 0)
        rating_answer(res, rating_record(conn, gw->cache, req->param, &caller, score, comment),
                      req->param);
out:
    free(score_text);
    free(comment);
    mdv_pg_pool_put(gw->pool, conn);
}

/* The usager, back on their journey, sees the mandate ended; the agent no
 * longer sees it, and is sent to their list. */
void pages_mandate_end_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                            void *ctx)
{
    struct gateway *gw = ctx;
    struct gateway_caller caller;
    char csrf[128];
    PGconn *conn = mdv_pg_pool_get(gw->pool);
    if (!conn) {
        unavailable(res);
        return;
    }
    if (page_caller(gw, req, res, &caller, conn, csrf, sizeof(csrf)) != 0)
        goto out;
    int rc = mdv_uuid_valid(req->param) ? page_mandate_end(conn, &caller, req->param) : 1;
    if (rc < 0) {
        unavailable(res);
    } else if (rc > 0) {
        not_found(res);
    } else {
        char *to = caller.agent ? mdv_xstrdup("/parcours")
                                : mdv_xasprintf("/parcours/%s#mandat", req->param);
        mdv_http_redirect(res, 303, to);
        free(to);
    }
out:
    mdv_pg_pool_put(gw->pool, conn);
}
