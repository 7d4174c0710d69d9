/* The MaPrimeRénov' barème (rénovation par geste) as the Anah applies it
 * to an application: the household's income category from its revenu
 * fiscal de référence and size, inside or outside Île-de-France; each work
 * item's flat amount for that category, per unit or per m², its cap of
 * eligible spending and the écrêtement; the eligibility age of a
 * dwelling. Everything comes from rules/maprimerenov.json (each table
 * with its source), read at start; no figure lives in the code. */
#ifndef HOUSING_BAREME_H
#define HOUSING_BAREME_H

#include <stddef.h>
#include <stdint.h>

#include "mdv/util.h"

enum housing_category {
    HOUSING_BLEU,   /* très modeste */
    HOUSING_JAUNE,  /* modeste */
    HOUSING_VIOLET, /* intermédiaire */
    HOUSING_ROSE,   /* supérieure: above violet's ceiling */
    HOUSING_CATEGORIES,
};

struct housing_bareme;

/* Loads and checks the file; on a problem writes into err what is wrong
 * (the file and the line of a syntax error, the file, the table and the
 * entry of a wrong value) and returns NULL. Free with
 * housing_bareme_free. */
struct housing_bareme *housing_bareme_load(const char *path, char *err,
                                           size_t errlen) MDV_MUSTCHECK;
void housing_bareme_free(struct housing_bareme *b);

/* "bleu", "jaune", "violet", "rose". */
const char *housing_category_name(enum housing_category c);

/* 1 when the commune (INSEE COG code) is in one of the departments the
 * barème lists as Île-de-France, else 0. */
int housing_bareme_ile_de_france(const struct housing_bareme *b, const char *commune_code);

/* The ceiling of category (bleu, jaune or violet) for a household of
 * persons (1 or more: past the table, each extra person adds the table's
 * increment), inside Île-de-France or not. */
uint64_t housing_bareme_ceiling(const struct housing_bareme *b, int idf, uint32_t persons,
                                enum housing_category c);

/* The household's category: the first whose ceiling its income does not
 * exceed, else rose. persons is at least 1. */
enum housing_category housing_bareme_category(const struct housing_bareme *b, int idf,
                                              uint32_t persons, uint64_t income);

/* 1 when a dwelling built in construction_year is old enough in
 * filing_year, else 0. */
int housing_bareme_old_enough(const struct housing_bareme *b, uint32_t construction_year,
                              int filing_year);
/* The age the barème asks of a dwelling, in years. */
int housing_bareme_min_age(const struct housing_bareme *b);

/* One work item, estimated. */
struct housing_item_estimate {
    const char *code;  /* points into the barème */
    const char *label; /* French, « pompe à chaleur air/eau » */
    int per_m2;        /* priced per m² (else per unit) */
    uint32_t surface;  /* the m² the flat amount is paid on (0 per unit) */
    uint64_t rate;     /* the flat amount, per unit or per m² */
    uint64_t cost;     /* the quote */
    uint64_t cap;      /* the cap of eligible spending for this item */
    uint64_t eligible; /* the spending taken into account: the quote, at most cap */
    uint64_t flat;     /* rate × surface (or rate): the barème's amount */
    uint64_t amount;   /* the aid: flat, at most the écrêtement's share of eligible */
};

/* Estimates the item code for category; surface_m2 is the declared
 * surface (0 for an item priced per unit). Returns 0, or -1 when the
 * barème has no such item or the surface does not fit its unit. */
int housing_bareme_item(const struct housing_bareme *b, enum housing_category c, const char *code,
                        uint32_t surface_m2, uint64_t cost,
                        struct housing_item_estimate *out) MDV_MUSTCHECK;

/* The écrêtement's share of the eligible spending for the category, in
 * percent. */
unsigned housing_bareme_max_share(const struct housing_bareme *b, enum housing_category c);

#endif
