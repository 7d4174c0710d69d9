/* The bourse sur critères sociaux from rules/bourse.json: per academic
 * year, the resource ceilings by points de charge and échelon, the annual
 * amounts, the points de charge (distance bands, children, disability,
 * carer) and the outre-mer supplement. Everything is copied out of the
 * JSON at load and checked there, so an assessment cannot fail on the
 * data. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grant.h"

#define ECHELONS 8
#define YEARS_MAX 8
#define ROWS_MAX 40
#define BANDS_MAX 8
#define RULES_FILE "bourse.json"

struct grant_year {
    char name[10]; /* « 2025-2026 » */
    unsigned long ceilings[ROWS_MAX][ECHELONS];
    size_t n_rows; /* points beyond the last row use the last row */
    unsigned amounts[ECHELONS];
    unsigned months; /* the bourse is paid in that many monthly payments */
    struct {
        unsigned from_km, points;
    } bands[BANDS_MAX];
    size_t n_bands;
    unsigned per_child, per_student, disability, carer, overseas_eur;
};

static struct {
    struct grant_year years[YEARS_MAX];
    size_t n_years;
} rules;

static const char *const echelon_names[ECHELONS] = {"0bis", "1", "2", "3", "4", "5", "6", "7"};

/* Where a check failed: the file, the year and the table, for the
 * message. */
struct load {
    const char *path, *year;
    char *err;
    size_t errlen;
};

static int fail(const struct load *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const struct load *l, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(l->err, l->errlen, "%s: %s%s%s", l->path, l->year ? "academic year " : "",
             l->year ? l->year : "", what);
    return -1;
}

/* A whole number in [min, max], else -1. */
static long long bounded(const json_t *v, long long min, long long max)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return -1;
    return json_integer_value(v);
}

static int load_row(const struct load *l, const json_t *row, size_t p, struct grant_year *y)
{
    if (json_array_size(row) != ECHELONS)
        return fail(l, ", ceilings, by_points[%zu]: %d ceilings expected", p, ECHELONS);
    for (size_t e = 0; e < ECHELONS; e++) {
        long long c = bounded(json_array_get(row, e), 1, 10000000);
        if (c < 0)
            return fail(l, ", ceilings, by_points[%zu], échelon %s: not a positive amount", p,
                        echelon_names[e]);
        y->ceilings[p][e] = (unsigned long)c;
        /* A higher échelon has a lower ceiling; more points, a higher one. */
        if (e > 0 && y->ceilings[p][e] >= y->ceilings[p][e - 1])
            return fail(l, ", ceilings, by_points[%zu], échelon %s: not below échelon %s", p,
                        echelon_names[e], echelon_names[e - 1]);
        if (p > 0 && y->ceilings[p][e] <= y->ceilings[p - 1][e])
            return fail(l, ", ceilings, by_points[%zu], échelon %s: not above %zu points", p,
                        echelon_names[e], p - 1);
    }
    return 0;
}

static int load_ceilings(const struct load *l, const json_t *t, struct grant_year *y)
{
    const json_t *names = json_object_get(t, "echelons"), *rows = json_object_get(t, "by_points");
    if (json_array_size(names) != ECHELONS)
        return fail(l, ", ceilings: echelons must list %d échelons", ECHELONS);
    for (size_t e = 0; e < ECHELONS; e++) {
        const char *name = json_string_value(json_array_get(names, e));
        if (!name || strcmp(name, echelon_names[e]) != 0)
            return fail(l, ", ceilings, echelons[%zu]: « %s » expected", e, echelon_names[e]);
    }
    if (json_array_size(rows) == 0 || json_array_size(rows) > ROWS_MAX)
        return fail(l, ", ceilings: by_points must have 1 to %d rows", ROWS_MAX);
    y->n_rows = json_array_size(rows);
    for (size_t p = 0; p < y->n_rows; p++)
        if (load_row(l, json_array_get(rows, p), p, y) != 0)
            return -1;
    return 0;
}

static int load_amounts(const struct load *l, const json_t *t, struct grant_year *y)
{
    const json_t *list = json_object_get(t, "annual_eur"), *entry;
    bool seen[ECHELONS] = {false};
    size_t i;
    long long months = bounded(json_object_get(t, "months"), 1, 12);
    if (months < 0)
        return fail(l, ", amounts: months (1 to 12) expected");
    y->months = (unsigned)months;
    if (!json_is_array(list) || json_array_size(list) != ECHELONS)
        return fail(l, ", amounts: annual_eur must give the %d échelons", ECHELONS);
    json_array_foreach(list, i, entry)
    {
        const char *name = json_string_value(json_object_get(entry, "echelon"));
        long long amount = bounded(json_object_get(entry, "amount"), 1, 100000);
        int e = 0;
        while (e < ECHELONS && (!name || strcmp(name, echelon_names[e]) != 0))
            e++;
        if (e == ECHELONS || seen[e])
            return fail(l, ", amounts, annual_eur[%zu]: unknown or repeated échelon", i);
        if (amount < 0)
            return fail(l, ", amounts, échelon %s: not a positive amount", name);
        seen[e] = true;
        y->amounts[e] = (unsigned)amount;
    }
    for (int e = 1; e < ECHELONS; e++)
        if (y->amounts[e] <= y->amounts[e - 1])
            return fail(l, ", amounts, échelon %s: not above échelon %s", echelon_names[e],
                        echelon_names[e - 1]);
    return 0;
}

static int load_bands(const struct load *l, const json_t *t, struct grant_year *y)
{
    const json_t *bands = json_object_get(t, "bands"), *band;
    size_t i;
    if (!json_is_array(bands) || json_array_size(bands) == 0 || json_array_size(bands) > BANDS_MAX)
        return fail(l, ", distance_bands: bands must list 1 to %d bands", BANDS_MAX);
    json_array_foreach(bands, i, band)
    {
        long long from = bounded(json_object_get(band, "from_km"), 0, 40000);
        long long points = bounded(json_object_get(band, "points"), 0, 20);
        if (from < 0 || points < 0)
            return fail(l, ", distance_bands, bands[%zu]: from_km and points expected", i);
        /* Listed from the farthest, each band nearer than the one before. */
        if (i > 0 && (unsigned)from >= y->bands[i - 1].from_km)
            return fail(l, ", distance_bands, bands[%zu]: not nearer than the band before", i);
        y->bands[i].from_km = (unsigned)from;
        y->bands[i].points = (unsigned)points;
    }
    y->n_bands = i;
    if (y->bands[i - 1].from_km != 0)
        return fail(l, ", distance_bands: the last band must start at 0 km");
    return 0;
}

/* One of the flat points de charge: {"points": n} under name. */
static int load_points(const struct load *l, const json_t *t, const char *name, unsigned *out)
{
    long long points = bounded(json_object_get(json_object_get(t, name), "points"), 0, 20);
    if (points < 0)
        return fail(l, ", points_de_charge, %s: points (0 to 20) expected", name);
    *out = (unsigned)points;
    return 0;
}

static int load_charges(const struct load *l, const json_t *t, struct grant_year *y)
{
    if (!json_is_object(t))
        return fail(l, ": points_de_charge missing");
    if (load_bands(l, json_object_get(t, "distance_bands"), y) != 0 ||
        load_points(l, t, "per_child_at_charge", &y->per_child) != 0 ||
        load_points(l, t, "per_child_in_higher_education", &y->per_student) != 0 ||
        load_points(l, t, "disability", &y->disability) != 0 ||
        load_points(l, t, "carer", &y->carer) != 0)
        return -1;
    return 0;
}

/* « 2025-2026 »: two consecutive years. */
static bool year_name_ok(const char *name)
{
    unsigned a, b;
    int end = 0;
    return name && strlen(name) == 9 && sscanf(name, "%4u-%4u%n", &a, &b, &end) == 2 && end == 9 &&
           b == a + 1;
}

static int load_year(struct load *l, const json_t *j, struct grant_year *y)
{
    const char *name = json_string_value(json_object_get(j, "academic_year"));
    if (!year_name_ok(name))
        return fail(l, "academic_years: an entry without academic_year « AAAA-AAAA »");
    l->year = name;
    for (size_t i = 0; i < rules.n_years; i++)
        if (strcmp(rules.years[i].name, name) == 0)
            return fail(l, ": listed twice");
    snprintf(y->name, sizeof(y->name), "%s", name);
    long long overseas =
        bounded(json_object_get(json_object_get(j, "overseas_supplement"), "annual_eur"), 0, 10000);
    if (overseas < 0)
        return fail(l, ", overseas_supplement: annual_eur expected");
    y->overseas_eur = (unsigned)overseas;
    if (!json_is_object(json_object_get(j, "ceilings")) ||
        !json_is_object(json_object_get(j, "amounts")))
        return fail(l, ": ceilings or amounts missing");
    if (load_ceilings(l, json_object_get(j, "ceilings"), y) != 0 ||
        load_amounts(l, json_object_get(j, "amounts"), y) != 0 ||
        load_charges(l, json_object_get(j, "points_de_charge"), y) != 0)
        return -1;
    l->year = NULL;
    return 0;
}

int mdv_grant_rules_load(const char *rules_dir, char *err, size_t errlen)
{
    int rc = -1;
    json_error_t jerr;
    size_t n = 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", rules_dir, RULES_FILE);
    struct load l = {path, NULL, err, errlen};
    mdv_grant_rules_free();
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
        goto out;
    }
    const json_t *years = json_object_get(root, "academic_years"), *year;
    if (!json_is_array(years) || json_array_size(years) == 0 ||
        json_array_size(years) > YEARS_MAX) {
        fail(&l, "academic_years: a list of 1 to %d years expected", YEARS_MAX);
        goto out;
    }
    json_array_foreach(years, n, year)
    {
        if (load_year(&l, year, &rules.years[n]) != 0)
            goto out;
        rules.n_years = n + 1;
    }
    rc = 0;
out:
    if (rc != 0)
        mdv_grant_rules_free();
    json_decref(root);
    return rc;
}

void mdv_grant_rules_free(void)
{
    memset(&rules, 0, sizeof(rules));
}

static const struct grant_year *find_year(const char *name)
{
    for (size_t i = 0; name && i < rules.n_years; i++)
        if (strcmp(rules.years[i].name, name) == 0)
            return &rules.years[i];
    return NULL;
}

const char *mdv_grant_latest_year(void)
{
    const char *latest = NULL;
    for (size_t i = 0; i < rules.n_years; i++)
        if (!latest || strcmp(rules.years[i].name, latest) > 0)
            latest = rules.years[i].name;
    return latest;
}

static unsigned band_points(const struct grant_year *y, unsigned km)
{
    for (size_t i = 0; i < y->n_bands; i++)
        if (km >= y->bands[i].from_km)
            return y->bands[i].points;
    return 0;
}

int mdv_grant_distance_points(const char *academic_year, unsigned distance_km)
{
    const struct grant_year *y = find_year(academic_year);
    return y ? (int)band_points(y, distance_km) : -1;
}

static int echelon_of(const struct grant_year *y, unsigned long resources, unsigned points)
{
    const unsigned long *row = y->ceilings[points < y->n_rows ? points : y->n_rows - 1];
    int echelon = -1;
    for (int e = 0; e < ECHELONS; e++)
        if (resources <= row[e])
            echelon = e; /* the highest échelon whose ceiling holds */
    return echelon;
}

int mdv_grant_echelon(const char *academic_year, unsigned long resources_eur, unsigned points)
{
    const struct grant_year *y = find_year(academic_year);
    return y ? echelon_of(y, resources_eur, points) : -2;
}

unsigned mdv_grant_months(const char *academic_year)
{
    const struct grant_year *y = find_year(academic_year);
    return y ? y->months : 0;
}

unsigned mdv_grant_overseas_supplement(const char *academic_year)
{
    const struct grant_year *y = find_year(academic_year);
    return y ? y->overseas_eur : 0;
}

const char *mdv_grant_echelon_name(int echelon)
{
    return echelon >= 0 && echelon < ECHELONS ? echelon_names[echelon] : "";
}

/* Points de charge of a household, capped at the last row of the
 * ceilings (counted wide so that absurd counts cannot wrap). */
static unsigned household_points(const struct grant_year *y, const struct mdv_grant_household *h)
{
    unsigned long long points = band_points(y, h->distance_km);
    points += (unsigned long long)h->children_at_charge * y->per_child;
    points += (unsigned long long)h->children_in_higher_education * y->per_student;
    points += (h->disability ? y->disability : 0) + (h->carer ? y->carer : 0);
    return points < y->n_rows ? (unsigned)points : (unsigned)(y->n_rows - 1);
}

int mdv_grant_assess(const char *academic_year, const struct mdv_grant_household *h,
                     struct mdv_grant_result *out)
{
    const struct grant_year *y = find_year(academic_year);
    memset(out, 0, sizeof(*out));
    out->echelon = -1;
    if (!y || !h)
        return -1;
    out->points = household_points(y, h);
    out->echelon = echelon_of(y, h->parents_income_eur, out->points);
    snprintf(out->echelon_name, sizeof(out->echelon_name), "%s",
             mdv_grant_echelon_name(out->echelon));
    if (out->echelon >= 0)
        out->annual_amount_eur = y->amounts[out->echelon] + (h->overseas ? y->overseas_eur : 0);
    return 0;
}
