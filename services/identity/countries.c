/* The French names of the countries of the INSEE COG (rules/countries.tsv,
 * the same list as the gateway's), for the usager's details: « Adresse à
 * l'étranger enregistrée (Canada) ». Loaded once at start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

struct country {
    char code[6];
    char *name; /* points into text */
};

static struct country *countries;
static size_t country_count;
static char *text;

/* Reads one "code<TAB>name<TAB>..." line in place; 0 when it is one. */
static int read_line(char *line, struct country *out)
{
    char *tab = strchr(line, '\t');
    if (!tab || tab - line != 5)
        return -1;
    memcpy(out->code, line, 5);
    out->code[5] = '\0';
    out->name = tab + 1;
    tab = strchr(out->name, '\t');
    if (tab)
        *tab = '\0';
    return *out->name ? 0 : -1;
}

int identity_countries_load(const char *path)
{
    size_t lineno = 0;
    text = mdv_read_file(path, NULL);
    if (!text) {
        fprintf(stderr, "%s: cannot be read\n", path);
        return -1;
    }
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (*line == '#' || !*line)
            continue;
        countries = mdv_xrealloc(countries, (country_count + 1) * sizeof(*countries));
        if (read_line(line, &countries[country_count]) != 0) {
            fprintf(stderr, "%s:%zu: not a code, a tab and a name\n", path, lineno);
            return -1;
        }
        country_count++;
    }
    if (country_count == 0) {
        fprintf(stderr, "%s: no country\n", path);
        return -1;
    }
    return 0;
}

void identity_countries_free(void)
{
    free(countries);
    free(text);
    countries = NULL;
    text = NULL;
    country_count = 0;
}

const char *identity_country_name(const char *code)
{
    for (size_t i = 0; i < country_count; i++)
        if (strcmp(countries[i].code, code) == 0)
            return countries[i].name;
    return code;
}
