/* The pages' frame (the DSFR's header and footer, as the JavaScript page
 * has them) and /indicateurs, the public indicators in French. Every value
 * goes through html_text. */
#include "pages.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *kind, *label;
} kinds[] = {
    {"bereavement", "Je perds un proche : déclarer un décès"},
    {"address_change", "J'établis mon identité : changer d'adresse"},
    {"name_change", "J'établis mon identité : changer de nom"},
    {"identity_document", "J'établis mon identité : carte d'identité ou passeport"},
    {"departure_abroad", "Je pars à l'étranger"},
    {"return_to_france", "Je reviens en France"},
    {"student_grant", "Je deviens étudiant : dossier social étudiant"},
    {"renovation_grant", "Je rénove mon logement : MaPrimeRénov'"},
};

const char *page_kind_label(const char *kind)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(kinds); i++)
        if (kind && strcmp(kinds[i].kind, kind) == 0)
            return kinds[i].label;
    return kind ? kind : "";
}

static void header_tools(struct html *h, const char *csrf_token)
{
    html_raw(h, "<div class=\"fr-header__tools\"><div class=\"fr-header__tools-links\">"
                "<ul class=\"fr-btns-group\">");
    if (csrf_token) {
        html_raw(h, "<li><a class=\"fr-btn fr-icon-file-text-line\" href=\"/parcours\">"
                    "Mes démarches</a></li><li><form method=\"post\" action=\"/auth/logout\">");
        html_printf(h, "<input type=\"hidden\" name=\"csrf_token\" value=\"%s\">", csrf_token);
        html_raw(h, "<button class=\"fr-btn fr-icon-logout-box-r-line\" type=\"submit\">"
                    "Se déconnecter</button></form></li>");
    } else {
        html_raw(h, "<li><a class=\"fr-btn fr-icon-account-circle-line\" href=\"/auth/login\">"
                    "S'identifier avec FranceConnect</a></li>");
    }
    html_raw(h, "</ul></div></div>");
}

void page_begin(struct html *h, const char *title, const char *csrf_token)
{
    html_raw(h, "<!doctype html>\n<html lang=\"fr\" data-fr-scheme=\"light\"><head>"
                "<meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    html_printf(h, "<title>%s — Mes démarches</title>", title);
    html_raw(h, "<link rel=\"stylesheet\" href=\"/static/dsfr/dsfr.min.css\">"
                "<link rel=\"stylesheet\" href=\"/static/dsfr/utility/icons/icons.min.css\">"
                "<link rel=\"icon\" href=\"/static/dsfr/favicon/favicon.svg\" "
                "type=\"image/svg+xml\"></head><body>"
                "<div class=\"fr-skiplinks\"><nav class=\"fr-container\" role=\"navigation\" "
                "aria-label=\"Accès rapide\"><ul class=\"fr-skiplinks__list\">"
                "<li><a class=\"fr-link\" href=\"#contenu\">Contenu</a></li>"
                "<li><a class=\"fr-link\" href=\"#pied-de-page\">Pied de page</a></li>"
                "</ul></nav></div>"
                "<header role=\"banner\" class=\"fr-header\"><div class=\"fr-header__body\">"
                "<div class=\"fr-container\"><div class=\"fr-header__body-row\">"
                "<div class=\"fr-header__brand fr-enlarge-link\">"
                "<div class=\"fr-header__brand-top\"><div class=\"fr-header__logo\">"
                "<p class=\"fr-logo\">République<br>Française</p></div></div>"
                "<div class=\"fr-header__service\">"
                "<a href=\"/\" title=\"Accueil — Mes démarches\">"
                "<p class=\"fr-header__service-title\">Mes démarches</p></a>"
                "<p class=\"fr-header__service-tagline\">Dites-le une fois, chaque "
                "administration est prévenue</p></div></div>");
    header_tools(h, csrf_token);
    html_raw(h, "</div></div></div></header>"
                "<main role=\"main\" id=\"contenu\" tabindex=\"-1\" class=\"fr-container "
                "fr-py-4w\">");
}

void page_end(struct html *h)
{
    html_raw(h, "</main><footer class=\"fr-footer\" role=\"contentinfo\" id=\"pied-de-page\">"
                "<div class=\"fr-container\"><div class=\"fr-footer__body\">"
                "<div class=\"fr-footer__brand fr-enlarge-link\">"
                "<a href=\"/\" title=\"Retour à l’accueil — Mes démarches\">"
                "<p class=\"fr-logo\">République<br>Française</p></a></div>"
                "<div class=\"fr-footer__content\"><p class=\"fr-footer__content-desc\">"
                "Un seul parcours pour suivre ce que chaque administration fait de votre "
                "déclaration.</p></div></div><div class=\"fr-footer__bottom\">"
                "<ul class=\"fr-footer__bottom-list\"><li class=\"fr-footer__bottom-item\">"
                "<a class=\"fr-footer__bottom-link\" href=\"/indicateurs\">Indicateurs de "
                "qualité</a></li></ul></div></div></footer></body></html>\n");
}

void page_send(struct mdv_http_response *res, int status, struct html *h)
{
    json_decref(res->json);
    res->json = NULL;
    free(res->text);
    res->status = status;
    res->text = html_take(h);
    res->content_type = "text/html; charset=utf-8";
    mdv_http_add_header(res, "Cache-Control", "no-store");
    web_security_headers(res);
}

void page_message(struct mdv_http_response *res, int status, const char *title, const char *text,
                  const char *href, const char *label)
{
    struct html h = {0};
    page_begin(&h, title, NULL);
    html_printf(&h, "<h1>%s</h1><p>%s</p>", title, text);
    if (href)
        html_printf(&h, "<p><a class=\"fr-link\" href=\"%s\">%s</a></p>", href, label);
    page_end(&h);
    page_send(res, status, &h);
}

void page_unavailable(struct mdv_http_response *res, const char *text)
{
    mdv_http_retry_later(res);
    page_message(res, 503, "Service momentanément indisponible", text, NULL, NULL);
}

/* A délai in seconds (a JSON number) or « — » when not published. */
static void delay_cell(struct html *h, json_t *seconds)
{
    char text[32] = "—";
    if (json_is_number(seconds))
        html_duration(json_number_value(seconds), text, sizeof(text));
    html_printf(h, "<td>%s</td>", text);
}

static void share_cell(struct html *h, json_t *share)
{
    char text[16] = "—";
    if (json_is_number(share))
        snprintf(text, sizeof(text), "%.0f %%", json_number_value(share) * 100);
    html_printf(h, "<td>%s</td>", text);
}

static void steps_table(struct html *h, json_t *steps)
{
    size_t i;
    json_t *row;
    html_raw(h, "<h2>Délais de traitement par administration et par étape</h2>"
                "<div class=\"fr-table\"><table><caption>Délai constaté et délai annoncé, "
                "médianes sur les étapes terminées</caption><thead><tr>"
                "<th scope=\"col\">Administration</th><th scope=\"col\">Étape</th>"
                "<th scope=\"col\">Étapes terminées</th>"
                "<th scope=\"col\">Délai constaté (médiane)</th>"
                "<th scope=\"col\">Délai annoncé (médiane)</th>"
                "<th scope=\"col\">Terminées dans le délai annoncé</th></tr></thead><tbody>");
    json_array_foreach(steps, i, row)
    {
        const char *label = json_string_value(json_object_get(row, "label"));
        html_printf(h, "<tr><td>%s</td><td>%s</td><td>%d</td>",
                    json_string_value(json_object_get(row, "administration")),
                    label ? label : json_string_value(json_object_get(row, "code")),
                    (int)json_integer_value(json_object_get(row, "final_steps")));
        delay_cell(h, json_object_get(row, "median_delay_seconds"));
        delay_cell(h, json_object_get(row, "median_announced_seconds"));
        share_cell(h, json_object_get(row, "within_announced_share"));
        html_raw(h, "</tr>");
    }
    if (json_array_size(steps) == 0)
        html_raw(h, "<tr><td colspan=\"6\">Pas encore assez d'étapes terminées pour publier un "
                    "chiffre.</td></tr>");
    html_raw(h, "</tbody></table></div>");
}

static void ratings_table(struct html *h, json_t *ratings)
{
    size_t i;
    json_t *row;
    html_raw(h, "<h2>Satisfaction des usagers par démarche</h2>"
                "<div class=\"fr-table\"><table><caption>Note moyenne sur 10 donnée à la fin de "
                "la démarche</caption><thead><tr><th scope=\"col\">Démarche</th>"
                "<th scope=\"col\">Avis</th><th scope=\"col\">Note moyenne</th></tr></thead>"
                "<tbody>");
    json_array_foreach(ratings, i, row)
    {
        char average[16];
        snprintf(average, sizeof(average), "%.1f / 10",
                 json_number_value(json_object_get(row, "average_score")));
        char *comma = strchr(average, '.');
        if (comma)
            *comma = ',';
        html_printf(h, "<tr><td>%s</td><td>%d</td><td>%s</td></tr>",
                    page_kind_label(json_string_value(json_object_get(row, "kind"))),
                    (int)json_integer_value(json_object_get(row, "ratings")), average);
    }
    if (json_array_size(ratings) == 0)
        html_raw(h, "<tr><td colspan=\"3\">Pas encore assez d'avis pour publier une note."
                    "</td></tr>");
    html_raw(h, "</tbody></table></div>");
}

void pages_indicators(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)req;
    char *text = indicators_text(ctx);
    json_t *figures = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!figures) {
        page_unavailable(res, "Les indicateurs ne peuvent pas être calculés pour l'instant.");
        return;
    }
    char computed[64];
    html_date(json_string_value(json_object_get(figures, "computed_at")), computed,
              sizeof(computed));
    struct html h = {0};
    page_begin(&h, "Indicateurs de qualité", NULL);
    html_printf(&h,
                "<h1>Indicateurs de qualité</h1><p>Ces indicateurs sont calculés à partir des "
                "démarches suivies ici, comme le demande le programme Services Publics+. Le délai "
                "constaté court de la réception de la déclaration par l'administration à sa "
                "réponse ; une étape sans objet (aucun dossier) n'est pas comptée. Un chiffre "
                "n'est publié qu'à partir de %d étapes ou avis, pour qu'aucun usager ne puisse "
                "être reconnu.</p><p class=\"fr-text--sm\">Calculés le %s.</p>",
                (int)json_integer_value(json_object_get(figures, "minimum_count")), computed);
    steps_table(&h, json_object_get(figures, "steps"));
    ratings_table(&h, json_object_get(figures, "ratings"));
    page_end(&h);
    json_decref(figures);
    page_send(res, 200, &h);
}
