/* Loading and looking up the INSEE COG tables (cog.h). Each file is read
 * whole into one buffer, split in place into tab-separated fields, sorted
 * by code and searched by bisection: about 37 600 communes, 1 MB. */
#include "cog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/log.h"

struct table {
    char *text;   /* the file, owned; every field points into it */
    void *rows;   /* struct cog_commune or struct cog_country, sorted by code */
    size_t count; /* rows */
};

static struct table communes, countries;

/* Reads path whole, NUL-terminated. The caller frees it. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size;

    if (!f) {
        mdv_error("COG: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    text = mdv_xmalloc((size_t)size + 1);
    if (fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
        goto out;
    }
    text[size] = '\0';
out:
    if (!text)
        mdv_error("COG: cannot read %s", path);
    fclose(f);
    return text;
}

/* Splits line at tabs into exactly n fields; returns -1 on another count. */
static int split(char *line, char **fields, size_t n)
{
    size_t i = 0;
    fields[i++] = line;
    for (char *p = line; *p; p++) {
        if (*p != '\t')
            continue;
        if (i == n)
            return -1;
        *p = '\0';
        fields[i++] = p + 1;
    }
    return i == n ? 0 : -1;
}

static int valid_code(const char *code)
{
    return strlen(code) == 5;
}

static int commune_row(char **f, void *row)
{
    struct cog_commune *c = row;
    if (!valid_code(f[0]) || strlen(f[1]) != 1 || !strchr("AMDS", f[1][0]))
        return -1;
    *c = (struct cog_commune){f[0], (enum cog_commune_type)f[1][0], f[2], f[3], f[4]};
    return 0;
}

static int country_row(char **f, void *row)
{
    struct cog_country *c = row;
    if (!valid_code(f[0]) || strncmp(f[0], "99", 2) != 0 || !*f[1])
        return -1;
    *c = (struct cog_country){f[0], f[1], f[2], f[3]};
    return 0;
}

static int by_code(const void *a, const void *b)
{
    /* Both row types start with their code. */
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fills t from path: lines of nfields tab-separated fields, '#' comments. */
static int load_table(struct table *t, const char *path, size_t nfields, size_t rowsize,
                      int (*parse)(char **, void *))
{
    char *fields[8], *next;
    size_t line_no = 0, lines = 1;

    t->text = read_file(path);
    if (!t->text)
        return -1;
    for (const char *p = t->text; *p; p++)
        lines += *p == '\n';
    t->rows = mdv_xmalloc(lines * rowsize);
    t->count = 0;
    for (char *line = t->text; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line_no++;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (split(line, fields, nfields) != 0 ||
            parse(fields, (char *)t->rows + t->count * rowsize) != 0) {
            mdv_error("COG: %s:%zu: not a valid line", path, line_no);
            return -1;
        }
        t->count++;
    }
    if (t->count == 0) {
        mdv_error("COG: %s has no line", path);
        return -1;
    }
    qsort(t->rows, t->count, rowsize, by_code);
    return 0;
}

static void free_table(struct table *t)
{
    free(t->rows);
    free(t->text);
    *t = (struct table){0};
}

int cog_load(const char *communes_path, const char *countries_path)
{
    cog_unload();
    if (load_table(&communes, communes_path, 5, sizeof(struct cog_commune), commune_row) != 0 ||
        load_table(&countries, countries_path, 4, sizeof(struct cog_country), country_row) != 0) {
        cog_unload();
        return -1;
    }
    mdv_info("COG: %zu communes (%s), %zu countries and territories (%s)", communes.count,
             communes_path, countries.count, countries_path);
    return 0;
}

void cog_unload(void)
{
    free_table(&communes);
    free_table(&countries);
}

const struct cog_commune *cog_commune_find(const char *code)
{
    const struct cog_commune *rows = communes.rows;
    const struct cog_commune *hit =
        rows ? bsearch(&code, rows, communes.count, sizeof(*rows), by_code) : NULL;
    if (!hit)
        return NULL;
    /* Rows of one code are neighbours: take the addressable one if any. */
    while (hit > rows && strcmp(hit[-1].code, code) == 0)
        hit--;
    for (const struct cog_commune *c = hit; c < rows + communes.count; c++) {
        if (strcmp(c->code, code) != 0)
            break;
        if (cog_commune_addressable(c))
            return c;
    }
    return hit;
}

int cog_commune_addressable(const struct cog_commune *commune)
{
    return commune->type == COG_COMMUNE || commune->type == COG_ARRONDISSEMENT;
}

int cog_commune_has_postcode(const struct cog_commune *commune, const char *postcode)
{
    size_t n = strlen(postcode);
    for (const char *p = commune->postcodes; n && *p;) {
        if (strncmp(p, postcode, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return 1;
        p = strchr(p, ',');
        if (!p)
            break;
        p++;
    }
    return 0;
}

const char *cog_commune_city(const struct cog_commune *commune)
{
    if (commune->type == COG_ARRONDISSEMENT) {
        const struct cog_commune *parent = cog_commune_find(commune->parent);
        if (parent)
            return parent->name;
    }
    return commune->name;
}

const struct cog_country *cog_country_find(const char *code)
{
    const struct cog_country *rows = countries.rows;
    return rows ? bsearch(&code, rows, countries.count, sizeof(*rows), by_code) : NULL;
}
