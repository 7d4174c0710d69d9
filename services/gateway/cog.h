/* The INSEE Code officiel géographique the gateway checks places against:
 * the communes with their postcodes (made at build time from the pinned
 * npm package, deploy/tools/cog) and the countries and territories abroad
 * (rules/countries.tsv, shipped with the code). */
#ifndef GATEWAY_COG_H
#define GATEWAY_COG_H

#include "mdv/util.h"

enum cog_commune_type {
    COG_COMMUNE = 'A',        /* commune actuelle */
    COG_ARRONDISSEMENT = 'M', /* arrondissement municipal of Paris, Lyon, Marseille */
    COG_DELEGUEE = 'D',       /* commune déléguée of a commune nouvelle */
    COG_ASSOCIEE = 'S',       /* commune associée */
};

struct cog_commune {
    const char *code;
    enum cog_commune_type type;
    const char *parent; /* the commune of an arrondissement or a déléguée, else "" */
    const char *name;
    const char *postcodes; /* comma-separated */
};

struct cog_country {
    const char *code;
    const char *name;
    const char *parent; /* the state a territory belongs to, else "" */
    const char *ended;  /* the date the code stopped, else "" */
};

/* Loads both files, once, before any request is served; afterwards the
 * tables are only read, so threads share them without a lock. Logs what is
 * wrong (file and line) and returns -1. */
int cog_load(const char *communes_path, const char *countries_path) MDV_MUSTCHECK;
void cog_unload(void);

/* The commune of that code, preferring, where a code has two lines (a
 * commune nouvelle and its commune déléguée of the same code), the one an
 * address can name; NULL when the COG has no such code. */
const struct cog_commune *cog_commune_find(const char *code);
/* An address in France names a commune actuelle or an arrondissement
 * municipal, the codes the Base Adresse Nationale and the postcodes are
 * attached to; a commune déléguée or associée no longer has its own. */
int cog_commune_addressable(const struct cog_commune *commune);
int cog_commune_has_postcode(const struct cog_commune *commune, const char *postcode);
/* The name a postal address shows: an arrondissement's commune's
 * ("Paris", not "Paris 11e Arrondissement"). */
const char *cog_commune_city(const struct cog_commune *commune);

const struct cog_country *cog_country_find(const char *code);

#endif
