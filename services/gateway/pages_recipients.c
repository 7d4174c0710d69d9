/* The « Destinataires » section of a journey's server-rendered page
 * (/parcours/{id}): every partner that received some of the journey's
 * data (its recipients, DESIGN.md §11), what it received under the
 * gateway's French labels, why, when it was sent and when it acknowledged.
 * The same as the page's script shows; every value through html_text. */
#include <string.h>

#include "pages.h"

static void recipient_item(struct html *h, json_t *recipient)
{
    char notified[64], acknowledged[64];
    const char *basis = json_string_value(json_object_get(recipient, "basis"));
    const char *ack = json_string_value(json_object_get(recipient, "acknowledged_at"));
    json_t *fields = json_object_get(recipient, "fields"), *field;
    size_t i;

    html_date(json_string_value(json_object_get(recipient, "notified_at")), notified,
              sizeof(notified));
    html_printf(h,
                "<li class=\"fr-mb-3w\"><h3 class=\"fr-h6 fr-mb-1w\">%s</h3><p class=\"fr-mb-1w\">"
                "Transmis le %s. ",
                json_string_value(json_object_get(recipient, "administration")), notified);
    if (ack) {
        html_date(ack, acknowledged, sizeof(acknowledged));
        html_printf(h, "Accusé de réception le %s.</p>", acknowledged);
    } else {
        html_raw(h, "En attente d'accusé de réception.</p>");
    }
    html_raw(h, "<p class=\"fr-mb-1w\">Informations transmises :</p><ul>");
    json_array_foreach(fields, i, field)
        html_printf(h, "<li>%s</li>", json_string_value(json_object_get(field, "label")));
    html_printf(h, "</ul><p class=\"fr-text--sm\">%s : %s</p></li>",
                basis && strcmp(basis, "chosen") == 0 ? "Transmis avec votre accord"
                                                      : "Transmis en application de la loi",
                json_string_value(json_object_get(recipient, "legal_basis")));
}

void pages_recipients_section(struct html *h, json_t *journey)
{
    json_t *recipients = json_object_get(journey, "recipients"), *recipient;
    size_t i;
    html_raw(h, "<h2 id=\"destinataires\">Destinataires</h2>");
    if (json_array_size(recipients) == 0) {
        html_raw(h, "<p>Aucun organisme partenaire n'a reçu d'informations de cette démarche.</p>");
        return;
    }
    html_raw(h, "<p>Les organismes qui ont reçu des informations de cette démarche, lesquelles, "
                "et pourquoi.</p><ul class=\"fr-raw-list\">");
    json_array_foreach(recipients, i, recipient) recipient_item(h, recipient);
    html_raw(h, "</ul>");
}
