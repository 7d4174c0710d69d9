/* The Anah's reading of a renovation_grant (estimate.h). The rules are
 * the barème's; the choices of wording are here. */
#include "estimate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The year of an RFC 3339 time, else this year. */
static int year_of(const char *t)
{
    int year = 0;
    if (t && sscanf(t, "%4d-", &year) == 1 && year > 1900)
        return year;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    return tm.tm_year + 1900;
}

static void add_reason(struct estimate *e, const char *reason)
{
    size_t len = strlen(e->reasons);
    snprintf(e->reasons + len, sizeof(e->reasons) - len, "%s%s", len ? " ; " : "", reason);
}

/* The Anah's three conditions, each stated when unmet. */
static void eligibility(const struct housing_bareme *b,
                        const Mdv__Gateway__V1__RenovationGrantDeclaration *r, struct estimate *e)
{
    char age[160];
    e->reasons[0] = '\0';
    if (!r->owner_occupier)
        add_reason(e, "le demandeur n'est pas propriétaire occupant du logement");
    if (!housing_bareme_old_enough(b, r->construction_year, e->filing_year)) {
        snprintf(age, sizeof(age),
                 "logement construit en %u : moins de %d ans à la date de la demande",
                 r->construction_year, housing_bareme_min_age(b));
        add_reason(e, age);
    }
    if (!r->main_residence)
        add_reason(e, "le logement n'est pas la résidence principale du demandeur");
}

int estimate_assess(const struct housing_bareme *b,
                    const Mdv__Gateway__V1__RenovationGrantDeclaration *r, const char *submitted_at,
                    struct estimate *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof(*e));
    if (r->n_items > ESTIMATE_MAX_ITEMS) {
        snprintf(err, errlen, "more than %d work items", ESTIMATE_MAX_ITEMS);
        return -1;
    }
    e->filing_year = year_of(submitted_at);
    eligibility(b, r, e);
    e->idf = housing_bareme_ile_de_france(b, r->dwelling->commune_code);
    e->category =
        housing_bareme_category(b, e->idf, r->household_size, r->reference_tax_income_eur);
    for (size_t i = 0; i < r->n_items; i++) {
        const Mdv__Gateway__V1__RenovationWorkItem *it = r->items[i];
        if (housing_bareme_item(b, e->category, it->code, it->surface_m2, it->cost_eur,
                                &e->items[i]) != 0) {
            snprintf(err, errlen,
                     "work item %.64s is not in the barème, or its surface does not "
                     "fit its unit",
                     it->code);
            return -1;
        }
        e->total += e->items[i].amount;
    }
    e->n_items = r->n_items;
    return 0;
}

void estimate_euros(uint64_t amount, char out[32])
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)amount), o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ' ';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* One item: « pompe à chaleur air/eau 4 000 € », « isolation … 60 m² ×
 * 60 € = 3 600 € », with the cap when the quote passes it and the
 * écrêtement when it cuts the flat amount. */
static void item_text(const struct housing_item_estimate *it, char *out, size_t len)
{
    char flat[32], amount[32], rate[32], cap[32], eligible[32];
    estimate_euros(it->flat, flat);
    estimate_euros(it->amount, amount);
    estimate_euros(it->rate, rate);
    estimate_euros(it->cap, cap);
    estimate_euros(it->eligible, eligible);
    int n = it->per_m2
                ? snprintf(out, len, "%s %u m² × %s € = %s €", it->label, it->surface, rate, flat)
                : snprintf(out, len, "%s %s €", it->label, flat);
    if (n < 0 || (size_t)n >= len)
        return;
    if (it->cost > it->cap)
        n += snprintf(out + n, len - (size_t)n, " (dépense retenue plafonnée à %s €)", cap);
    if (n >= 0 && (size_t)n < len && it->amount < it->flat)
        snprintf(out + n, len - (size_t)n,
                 ", ramenée à %s € par l'écrêtement (part maximale de %s € de dépense éligible)",
                 amount, eligible);
}

char *estimate_detail(const struct estimate *e)
{
    size_t size = 256 + e->n_items * 384;
    char *out = mdv_xmalloc(size), total[32];
    int n = snprintf(out, size, "Catégorie %s (%s) : ", housing_category_name(e->category),
                     e->idf ? "Île-de-France" : "hors Île-de-France");
    estimate_euros(e->total, total);
    if (e->total == 0 && e->category == HOUSING_ROSE) {
        snprintf(out + n, size - (size_t)n,
                 "pas de prime par geste pour les ménages aux revenus supérieurs ; total 0 €");
        return out;
    }
    for (size_t i = 0; i < e->n_items; i++) {
        char item[384];
        item_text(&e->items[i], item, sizeof(item));
        n += snprintf(out + n, size - (size_t)n, "%s ; ", item);
    }
    snprintf(out + n, size - (size_t)n, "total %s €", total);
    return out;
}
