/* What the Anah makes of a renovation_grant before anything is stored
 * (estimate.c, no database): whether the file can be registered, and
 * why not; the household's category, Île-de-France or not; each work
 * item's aid from the barème; and the French sentences the journey
 * shows. */
#ifndef HOUSING_ESTIMATE_H
#define HOUSING_ESTIMATE_H

#include <stddef.h>

#include "bareme.h"
#include "mdv/gateway/v1/declarations.pb-c.h"

#define ESTIMATE_MAX_ITEMS 10

struct estimate {
    int filing_year;
    char reasons[384]; /* why the file cannot be registered, "" when it can */
    int idf;
    enum housing_category category;
    struct housing_item_estimate items[ESTIMATE_MAX_ITEMS];
    size_t n_items;
    uint64_t total;
};

/* Assesses r filed at submitted_at (RFC 3339) against the barème. Returns
 * 0, or -1 when an item is not the barème's or its surface does not fit
 * its unit (what writes into err: the message is a dead letter). */
int estimate_assess(const struct housing_bareme *b,
                    const Mdv__Gateway__V1__RenovationGrantDeclaration *r, const char *submitted_at,
                    struct estimate *e, char *err, size_t errlen) MDV_MUSTCHECK;

/* « Catégorie jaune (hors Île-de-France) : pompe à chaleur air/eau 4 000 € ;
 * … ; total 7 600 € ». The caller frees the text. */
char *estimate_detail(const struct estimate *e);

/* 12345 → « 12 345 » (out holds 32 bytes). */
void estimate_euros(uint64_t amount, char out[32]);

#endif
