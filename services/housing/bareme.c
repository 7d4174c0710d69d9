/* The MaPrimeRénov' barème (bareme.h), read from rules/maprimerenov.json.
 * The checks at load time are what keeps a wrong file from estimating
 * anything: ceilings that rise with the category and the household,
 * amounts that fall with the category, caps and shares in range. */
#include "bareme.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 10
#define MAX_DEPARTMENTS 16
#define MAX_ITEMS 32
#define MAX_EUR 1000000 /* no flat amount, cap or ceiling of the barème comes near */
#define CEILED 3        /* bleu, jaune, violet have ceilings; rose is above */

static const char *const names[HOUSING_CATEGORIES] = {"bleu", "jaune", "violet", "rose"};

struct scale {
    uint64_t ceilings[MAX_ROWS][CEILED]; /* row r: households of r + 1 persons */
    size_t rows;
    uint64_t extra[CEILED]; /* each person past the last row */
};

struct item {
    char *code, *label;
    int per_m2;
    uint64_t amount[HOUSING_CATEGORIES];
    uint64_t cap;         /* per unit, or per m² */
    uint32_t max_surface; /* m² paid at most; 0: no limit */
};

struct housing_bareme {
    char departments[MAX_DEPARTMENTS][4];
    size_t n_departments;
    struct scale scales[2]; /* outside Île-de-France, inside */
    unsigned share[HOUSING_CATEGORIES];
    int min_age;
    struct item items[MAX_ITEMS];
    size_t n_items;
};

/* Where the loader is, for its messages: the file and the table. */
struct place {
    const char *path;
    char where[96];
    char *err;
    size_t errlen;
};

static int fail(const struct place *p, const char *what)
{
    snprintf(p->err, p->errlen, "%s: %s: %s", p->path, p->where, what);
    return -1;
}

/* A whole number of euros at key, 0 to MAX_EUR. */
static int euros(json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MAX_EUR)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* {"bleu": …, "jaune": …, "violet": …} rising from bleu to violet. */
static int ceiled_triple(json_t *obj, uint64_t out[CEILED])
{
    for (int c = 0; c < CEILED; c++)
        if (euros(obj, names[c], &out[c]) != 0 || out[c] == 0 || (c > 0 && out[c] <= out[c - 1]))
            return -1;
    return 0;
}

static int load_scale(struct place *p, json_t *table, struct scale *s)
{
    json_t *rows = json_object_get(table, "ceilings"), *row;
    size_t i;
    if (!json_is_array(rows) || json_array_size(rows) == 0 || json_array_size(rows) > MAX_ROWS)
        return fail(p, "ceilings must list households of 1 person and up");
    size_t base = strlen(p->where);
    json_array_foreach(rows, i, row)
    {
        snprintf(p->where + base, sizeof(p->where) - base, ".ceilings[%zu]", i);
        json_t *persons = json_object_get(row, "persons");
        if (!json_is_integer(persons) || json_integer_value(persons) != (json_int_t)i + 1)
            return fail(p, "rows must be for 1, 2, 3… persons in order");
        if (ceiled_triple(row, s->ceilings[i]) != 0)
            return fail(p, "bleu, jaune and violet must be euros, rising from bleu to violet");
        for (int c = 0; c < CEILED; c++)
            if (i > 0 && s->ceilings[i][c] <= s->ceilings[i - 1][c])
                return fail(p, "each ceiling must rise with the household");
    }
    s->rows = i;
    snprintf(p->where + base, sizeof(p->where) - base, ".per_extra_person");
    if (ceiled_triple(json_object_get(table, "per_extra_person"), s->extra) != 0)
        return fail(p, "bleu, jaune and violet must be euros, rising from bleu to violet");
    return 0;
}

static int load_categories(struct place *p, json_t *root, struct housing_bareme *b)
{
    static const char *const tables[2] = {"outside_ile_de_france", "ile_de_france"};
    json_t *categories = json_object_get(root, "categories");
    for (int t = 0; t < 2; t++) {
        snprintf(p->where, sizeof(p->where), "categories.%s", tables[t]);
        json_t *table = json_object_get(categories, tables[t]);
        if (!json_is_object(table))
            return fail(p, "is missing");
        if (load_scale(p, table, &b->scales[t]) != 0)
            return -1;
    }
    return 0;
}

static int load_departments(struct place *p, json_t *root, struct housing_bareme *b)
{
    json_t *list = json_object_get(json_object_get(root, "ile_de_france"), "departments"), *d;
    size_t i;
    snprintf(p->where, sizeof(p->where), "ile_de_france.departments");
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > MAX_DEPARTMENTS)
        return fail(p, "must list the departments of Île-de-France");
    json_array_foreach(list, i, d)
    {
        const char *code = json_string_value(d);
        if (!code || strlen(code) < 2 || strlen(code) > 3)
            return fail(p, "each department is a code of 2 or 3 characters");
        snprintf(b->departments[i], sizeof(b->departments[i]), "%s", code);
    }
    b->n_departments = i;
    return 0;
}

/* The écrêtement's shares and the age of a dwelling. */
static int load_limits(struct place *p, json_t *root, struct housing_bareme *b)
{
    json_t *shares = json_object_get(json_object_get(root, "ecretement"), "max_share_percent");
    snprintf(p->where, sizeof(p->where), "ecretement.max_share_percent");
    for (int c = 0; c < HOUSING_CATEGORIES; c++) {
        uint64_t share;
        if (euros(shares, names[c], &share) != 0 || share == 0 || share > 100)
            return fail(p, "each category needs a share from 1 to 100");
        b->share[c] = (unsigned)share;
    }
    json_t *age = json_object_get(json_object_get(root, "eligibility"), "min_dwelling_age_years");
    snprintf(p->where, sizeof(p->where), "eligibility.min_dwelling_age_years");
    if (!json_is_integer(age) || json_integer_value(age) < 0 || json_integer_value(age) > 100)
        return fail(p, "must be a number of years from 0 to 100");
    b->min_age = (int)json_integer_value(age);
    return 0;
}

static int load_item(struct place *p, json_t *entry, struct item *it)
{
    const char *code = json_string_value(json_object_get(entry, "code"));
    const char *label = json_string_value(json_object_get(entry, "label"));
    const char *unit = json_string_value(json_object_get(entry, "unit"));
    json_t *amounts = json_object_get(entry, "amount_eur");
    json_t *max = json_object_get(entry, "max_surface_m2");
    if (!code || !*code || !label || !*label || !unit ||
        (strcmp(unit, "unit") != 0 && strcmp(unit, "m2") != 0))
        return fail(p, "needs a code, a French label and a unit (\"unit\" or \"m2\")");
    for (int c = 0; c < HOUSING_CATEGORIES; c++)
        if (euros(amounts, names[c], &it->amount[c]) != 0 ||
            (c > 0 && it->amount[c] > it->amount[c - 1]))
            return fail(p, "amount_eur must give euros for each category, never rising from bleu "
                           "to rose");
    if (euros(entry, "cap_eur", &it->cap) != 0 || it->cap == 0)
        return fail(p, "cap_eur must be a positive number of euros");
    if (max && (!json_is_integer(max) || json_integer_value(max) < 1 ||
                json_integer_value(max) > 100000 || strcmp(unit, "m2") != 0))
        return fail(p, "max_surface_m2 is a positive surface, for an item priced per m²");
    it->code = mdv_xstrdup(code);
    it->label = mdv_xstrdup(label);
    it->per_m2 = strcmp(unit, "m2") == 0;
    it->max_surface = max ? (uint32_t)json_integer_value(max) : 0;
    return 0;
}

static int load_items(struct place *p, json_t *root, struct housing_bareme *b)
{
    json_t *list = json_object_get(root, "items"), *entry;
    size_t i;
    snprintf(p->where, sizeof(p->where), "items");
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > MAX_ITEMS)
        return fail(p, "must list the work items");
    json_array_foreach(list, i, entry)
    {
        snprintf(p->where, sizeof(p->where), "items[%zu]", i);
        if (load_item(p, entry, &b->items[i]) != 0)
            return -1;
        b->n_items = i + 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(b->items[j].code, b->items[i].code) == 0)
                return fail(p, "its code is listed twice");
    }
    return 0;
}

struct housing_bareme *housing_bareme_load(const char *path, char *err, size_t errlen)
{
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    struct place p = {path, "year", err, errlen};
    struct housing_bareme *b = NULL;

    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, error.line, error.text);
        return NULL;
    }
    b = mdv_xmalloc(sizeof(*b));
    memset(b, 0, sizeof(*b));
    json_t *year = json_object_get(root, "year");
    if (!json_is_integer(year) || !json_is_string(json_object_get(root, "source")))
        (void)fail(&p, "the file needs its year and its source");
    else if (load_departments(&p, root, b) == 0 && load_categories(&p, root, b) == 0 &&
             load_limits(&p, root, b) == 0 && load_items(&p, root, b) == 0) {
        json_decref(root);
        return b;
    }
    housing_bareme_free(b);
    json_decref(root);
    return NULL;
}

void housing_bareme_free(struct housing_bareme *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_items; i++) {
        free(b->items[i].code);
        free(b->items[i].label);
    }
    free(b);
}

const char *housing_category_name(enum housing_category c)
{
    return c < HOUSING_CATEGORIES ? names[c] : "?";
}

int housing_bareme_ile_de_france(const struct housing_bareme *b, const char *commune_code)
{
    for (size_t i = 0; i < b->n_departments; i++)
        if (strncmp(commune_code, b->departments[i], strlen(b->departments[i])) == 0)
            return 1;
    return 0;
}

uint64_t housing_bareme_ceiling(const struct housing_bareme *b, int idf, uint32_t persons,
                                enum housing_category c)
{
    const struct scale *s = &b->scales[idf ? 1 : 0];
    if (persons < 1)
        persons = 1;
    if (persons <= s->rows)
        return s->ceilings[persons - 1][c];
    return s->ceilings[s->rows - 1][c] + (uint64_t)(persons - s->rows) * s->extra[c];
}

enum housing_category housing_bareme_category(const struct housing_bareme *b, int idf,
                                              uint32_t persons, uint64_t income)
{
    for (int c = 0; c < CEILED; c++)
        if (income <= housing_bareme_ceiling(b, idf, persons, (enum housing_category)c))
            return (enum housing_category)c;
    return HOUSING_ROSE;
}

int housing_bareme_old_enough(const struct housing_bareme *b, uint32_t construction_year,
                              int filing_year)
{
    return (long)construction_year + b->min_age <= (long)filing_year;
}

int housing_bareme_min_age(const struct housing_bareme *b)
{
    return b->min_age;
}

unsigned housing_bareme_max_share(const struct housing_bareme *b, enum housing_category c)
{
    return b->share[c];
}

static const struct item *find_item(const struct housing_bareme *b, const char *code)
{
    for (size_t i = 0; i < b->n_items; i++)
        if (strcmp(b->items[i].code, code) == 0)
            return &b->items[i];
    return NULL;
}

int housing_bareme_item(const struct housing_bareme *b, enum housing_category c, const char *code,
                        uint32_t surface_m2, uint64_t cost, struct housing_item_estimate *out)
{
    const struct item *it = find_item(b, code);
    if (!it || c >= HOUSING_CATEGORIES || (it->per_m2 ? surface_m2 == 0 : surface_m2 != 0))
        return -1;
    uint64_t quantity = 1;
    if (it->per_m2)
        quantity = it->max_surface && surface_m2 > it->max_surface ? it->max_surface : surface_m2;
    *out = (struct housing_item_estimate){
        .code = it->code,
        .label = it->label,
        .per_m2 = it->per_m2,
        .surface = it->per_m2 ? (uint32_t)quantity : 0,
        .rate = it->amount[c],
        .cost = cost,
        .cap = it->cap * quantity,
        .flat = it->amount[c] * quantity,
    };
    out->eligible = cost < out->cap ? cost : out->cap;
    /* The écrêtement: never more than the category's share of what is
     * eligible, rounded down to the euro. */
    uint64_t limit = out->eligible * b->share[c] / 100;
    out->amount = out->flat < limit ? out->flat : limit;
    return 0;
}
