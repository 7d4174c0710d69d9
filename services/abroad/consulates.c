/* The consular post in charge of a residence abroad, from
 * rules/consulates.json:
 *
 *   {"year": 2026, "source": "...",
 *    "countries": {"99401": {"name": "Canada", "in": "au Canada",
 *                            "consulate": "Consulat général de France à Montréal",
 *                            "cities": {"Toronto": "Consulat général de France à Toronto"}},
 *                  "99230": {"name": "Hong Kong", "parent": "99216", ...}}}
 *
 * A country names either "in" (the French words for "in that country",
 * which the embassy's name takes) or "parent" (the state the territory
 * belongs to). Cities are matched folded, as names are ("Montreal" finds
 * "Montréal"). */
#include "abroad.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/validate.h"

struct abroad_consulates {
    json_t *countries; /* owned by root */
    json_t *root;
};

static int check_country(const char *path, const char *code, json_t *c, json_t *all)
{
    json_error_t error;
    const char *name = NULL, *in = NULL, *parent = NULL, *consulate = NULL;
    json_t *cities = NULL;
    if (json_unpack_ex(c, &error, JSON_STRICT, "{s:s, s?s, s?s, s?s, s?o}", "name", &name, "in",
                       &in, "parent", &parent, "consulate", &consulate, "cities", &cities) != 0) {
        fprintf(stderr, "%s: countries.%s: %s\n", path, code, error.text);
        return -1;
    }
    if (mdv_validate_cog(code) || strncmp(code, "99", 2) != 0 || !in == !parent ||
        (parent && !json_object_get(json_object_get(all, parent), "in"))) {
        fprintf(stderr,
                "%s: countries.%s: a country code with either \"in\" or the \"parent\" state\n",
                path, code);
        return -1;
    }
    const char *city;
    json_t *post;
    json_object_foreach(cities, city, post)
    {
        char folded[MDV_PIVOT_KEY_LEN];
        if (!json_is_string(post) || mdv_pivot_fold(city, folded, sizeof(folded)) != 0) {
            fprintf(stderr, "%s: countries.%s.cities.%s: a city name and a post's name\n", path,
                    code, city);
            return -1;
        }
    }
    return 0;
}

struct abroad_consulates *abroad_consulates_load(const char *path)
{
    json_error_t error;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", path, error.line, error.text);
        return NULL;
    }
    json_t *countries = json_object_get(root, "countries");
    if (!json_is_object(countries) || json_object_size(countries) == 0 ||
        !json_is_integer(json_object_get(root, "year")) ||
        !json_is_string(json_object_get(root, "source"))) {
        fprintf(stderr, "%s: needs \"year\", \"source\" and a non-empty \"countries\" object\n",
                path);
        json_decref(root);
        return NULL;
    }
    const char *code;
    json_t *c;
    json_object_foreach(countries, code, c)
    {
        if (check_country(path, code, c, countries) != 0) {
            json_decref(root);
            return NULL;
        }
    }
    struct abroad_consulates *out = mdv_xcalloc(1, sizeof(*out));
    out->root = root;
    out->countries = countries;
    return out;
}

void abroad_consulates_free(struct abroad_consulates *c)
{
    if (!c)
        return;
    json_decref(c->root);
    free(c);
}

static const char *city_post(json_t *country, const char *city)
{
    char want[MDV_PIVOT_KEY_LEN], folded[MDV_PIVOT_KEY_LEN];
    const char *name;
    json_t *post;
    if (!city || mdv_pivot_fold(city, want, sizeof(want)) != 0)
        return NULL;
    json_object_foreach(json_object_get(country, "cities"), name, post)
    {
        if (mdv_pivot_fold(name, folded, sizeof(folded)) == 0 && strcmp(folded, want) == 0)
            return json_string_value(post);
    }
    return NULL;
}

char *abroad_consulate(const struct abroad_consulates *c, const char *country, const char *city)
{
    json_t *entry = json_object_get(c->countries, country);
    if (!entry)
        return mdv_xstrdup("Ambassade de France");
    const char *post = city_post(entry, city);
    if (!post)
        post = json_string_value(json_object_get(entry, "consulate"));
    if (post)
        return mdv_xstrdup(post);
    const char *parent = json_string_value(json_object_get(entry, "parent"));
    if (parent)
        return abroad_consulate(c, parent, city);
    return mdv_xasprintf("Ambassade de France %s", json_string_value(json_object_get(entry, "in")));
}

const char *abroad_country_name(const struct abroad_consulates *c, const char *country)
{
    const char *name =
        json_string_value(json_object_get(json_object_get(c->countries, country), "name"));
    return name ? name : country;
}
