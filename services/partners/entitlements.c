/* The partners' rules, read once at start: rules/partners.tsv (one
 * partner a line: id, administration, channel, consumer group) and
 * rules/entitlements.tsv (one entitlement a line: partner, domain event,
 * projection, the fields it may see, mandatory or optional, the journey
 * step it becomes with its label and délai, its legal basis). Both are
 * tab-separated with # comments. A wrong line stops the service, naming
 * file and line: an entitlement is a legal decision, never guessed. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/util.h"
#include "partners.h"

#define PARTNER_COLUMNS 4
#define ENTITLEMENT_COLUMNS 9
#define MAX_COLUMNS 9
#define MAX_DUE_DAYS 3660

struct partners_rules *partners_rules;

/* Where the reader stands, for the messages. */
struct reader {
    const char *path;
    int line;
    char *err;
    size_t errlen;
};

static int fail(struct reader *r, const char *fmt, ...) MDV_PRINTF(2, 3);

static int fail(struct reader *r, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(r->err, r->errlen, "%s:%d: %s", r->path, r->line, why);
    return -1;
}

/* A partner id: lower-case letters and digits, starting with a letter (it
 * is a certificate's CN and part of topic and group names). */
static int valid_id(const char *s)
{
    if (!islower((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* A field that could hold a numéro de sécurité sociale: never sent. */
static int names_a_nir(const char *field)
{
    static const char *const words[] = {"nir", "nss", "securite_sociale", "social_security"};
    for (size_t i = 0; i < MDV_ARRAY_LEN(words); i++) {
        const char *hit = strstr(field, words[i]);
        size_t n = strlen(words[i]);
        if (hit && (hit == field || hit[-1] == '_') && (hit[n] == '\0' || hit[n] == '_'))
            return 1;
    }
    return 0;
}

/* Splits line (modified) on tabs into at most MAX_COLUMNS columns;
 * returns how many, or MAX_COLUMNS + 1 when there are more. */
static size_t split(char *line, char *cols[MAX_COLUMNS])
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *tab = strchr(p, '\t');
        if (n == MAX_COLUMNS)
            return MAX_COLUMNS + 1;
        cols[n++] = p;
        if (!tab)
            return n;
        *tab = '\0';
        p = tab + 1;
    }
}

static const struct partners_partner *find_partner(const struct partners_rules *rules,
                                                   const char *id)
{
    for (size_t i = 0; i < rules->n_partners; i++)
        if (strcmp(rules->partners[i].id, id) == 0)
            return &rules->partners[i];
    return NULL;
}

/* A Kafka partner's group is under its ACL prefix mdv.partner.<id>. */
static int check_group(struct reader *r, char **cols)
{
    char *prefix = mdv_xasprintf("mdv.partner.%s.", cols[0]);
    int ok = strncmp(cols[3], prefix, strlen(prefix)) == 0 && cols[3][strlen(prefix)] != '\0';
    free(prefix);
    if (!ok)
        return fail(r, "group '%s': want one under mdv.partner.<partner>. (its ACL prefix)",
                    cols[3]);
    return 0;
}

static int read_partner(struct reader *r, struct partners_rules *rules, char **cols)
{
    if (!valid_id(cols[0]))
        return fail(r, "partner id '%s': want lower-case letters and digits", cols[0]);
    if (find_partner(rules, cols[0]))
        return fail(r, "partner %s listed twice", cols[0]);
    if (strcmp(cols[2], "webhook") == 0) {
        if (strcmp(cols[3], "-") != 0)
            return fail(r, "group '%s': a webhook partner has none (want -)", cols[3]);
    } else if (strcmp(cols[2], "kafka") != 0) {
        return fail(r, "channel '%s': want kafka or webhook", cols[2]);
    } else if (check_group(r, cols) != 0) {
        return -1;
    }
    if (!*cols[1])
        return fail(r, "no administration");
    rules->partners =
        mdv_xrealloc(rules->partners, (rules->n_partners + 1) * sizeof(*rules->partners));
    struct partners_partner *p = &rules->partners[rules->n_partners++];
    p->id = mdv_xstrdup(cols[0]);
    p->administration = mdv_xstrdup(cols[1]);
    p->channel = mdv_xstrdup(cols[2]);
    p->group = mdv_xstrdup(cols[3]);
    p->webhook = strcmp(cols[2], "webhook") == 0;
    return 0;
}

static const ProtobufCFieldDescriptor *field_named(const ProtobufCMessageDescriptor *d,
                                                   const char *name)
{
    return protobuf_c_message_descriptor_get_field_by_name(d, name);
}

/* The listed fields are exactly the projection's: a field listed that
 * it cannot carry, or one it carries that is not listed, is refused. */
static int read_fields(struct reader *r, struct partners_entitlement *e, char *list)
{
    const ProtobufCMessageDescriptor *d = e->projection->descriptor;
    for (char *save = NULL, *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (names_a_nir(f))
            return fail(r, "field %s: no NIR is ever sent to a partner", f);
        if (!field_named(d, f))
            return fail(r, "field %s: the projection has no such field", f);
        for (size_t i = 0; i < e->n_fields; i++)
            if (strcmp(e->fields[i], f) == 0)
                return fail(r, "field %s listed twice", f);
        e->fields = mdv_xrealloc(e->fields, (e->n_fields + 1) * sizeof(*e->fields));
        e->fields[e->n_fields++] = mdv_xstrdup(f);
    }
    if (e->n_fields != d->n_fields)
        for (unsigned i = 0; i < d->n_fields; i++) {
            size_t k = 0;
            while (k < e->n_fields && strcmp(e->fields[k], d->fields[i].name) != 0)
                k++;
            if (k == e->n_fields)
                return fail(r, "the projection carries field %s, which is not listed",
                            d->fields[i].name);
        }
    return 0;
}

/* Columns 1-3 and 5-9: everything but the fields. */
static int read_entitlement_head(struct reader *r, const struct partners_rules *rules,
                                 struct partners_entitlement *e, char **cols)
{
    e->partner = find_partner(rules, cols[0]);
    if (!e->partner)
        return fail(r, "partner %s is not in partners.tsv", cols[0]);
    e->projection = partners_projection_find(cols[2]);
    if (!e->projection)
        return fail(r, "projection %s: no such message in proto/mdv/partner/v1", cols[2]);
    if (strcmp(e->projection->event, cols[1]) != 0)
        return fail(r, "event %s: the projection is not built from it", cols[1]);
    if (strcmp(cols[4], "mandatory") != 0 && strcmp(cols[4], "optional") != 0)
        return fail(r, "'%s': want mandatory or optional", cols[4]);
    size_t n = strlen(e->partner->id);
    if (strncmp(cols[5], e->partner->id, n) != 0 || cols[5][n] != '.' || !cols[5][n + 1])
        return fail(r, "step %s: want <partner>.<what>, the partner owning it", cols[5]);
    char *end = NULL;
    long days = strtol(cols[7], &end, 10);
    if (!*cols[7] || *end || days < 0 || days > MAX_DUE_DAYS)
        return fail(r, "due_days '%s': want a whole number of days", cols[7]);
    if (!*cols[6] || !*cols[8])
        return fail(r, "a label and a legal basis are required");
    e->event = mdv_xstrdup(cols[1]);
    e->mandatory = strcmp(cols[4], "mandatory") == 0;
    e->step = mdv_xstrdup(cols[5]);
    e->label = mdv_xstrdup(cols[6]);
    e->due_days = (int)days;
    e->basis = mdv_xstrdup(cols[8]);
    return 0;
}

static int read_entitlement(struct reader *r, struct partners_rules *rules, char **cols)
{
    for (size_t i = 0; i < rules->n_entitlements; i++) {
        const struct partners_entitlement *other = &rules->entitlements[i];
        if (strcmp(other->step, cols[5]) == 0)
            return fail(r, "step %s listed twice", cols[5]);
        if (strcmp(other->partner->id, cols[0]) == 0 && strcmp(other->event, cols[1]) == 0)
            return fail(r, "partner %s entitled twice to that event", cols[0]);
    }
    rules->entitlements = mdv_xrealloc(rules->entitlements,
                                       (rules->n_entitlements + 1) * sizeof(*rules->entitlements));
    struct partners_entitlement *e = &rules->entitlements[rules->n_entitlements++];
    memset(e, 0, sizeof(*e));
    if (read_entitlement_head(r, rules, e, cols) != 0)
        return -1;
    return read_fields(r, e, cols[3]);
}

typedef int (*line_fn)(struct reader *r, struct partners_rules *rules, char **cols);

/* Reads every line of path that is not blank or a comment. */
static int read_file(struct reader *r, struct partners_rules *rules, size_t columns, line_fn fn)
{
    FILE *f = fopen(r->path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0, rows = 0;
    if (!f) {
        snprintf(r->err, r->errlen, "%s: cannot be read", r->path);
        return -1;
    }
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        char *cols[MAX_COLUMNS];
        r->line++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        size_t n = split(line, cols);
        if (n != columns) {
            rc = fail(r, "want %zu tab-separated columns", columns);
        } else {
            rc = fn(r, rules, cols);
            rows++;
        }
    }
    if (rc == 0 && rows == 0)
        rc = fail(r, "no line");
    free(line);
    fclose(f);
    return rc;
}

struct partners_rules *partners_rules_load(const char *dir, char *err, size_t errlen)
{
    struct partners_rules *rules = mdv_xcalloc(1, sizeof(*rules));
    char *partners = mdv_xasprintf("%s/partners.tsv", dir);
    char *entitlements = mdv_xasprintf("%s/entitlements.tsv", dir);
    struct reader r = {partners, 0, err, errlen};
    int rc = read_file(&r, rules, PARTNER_COLUMNS, read_partner);
    if (rc == 0) {
        r = (struct reader){entitlements, 0, err, errlen};
        rc = read_file(&r, rules, ENTITLEMENT_COLUMNS, read_entitlement);
    }
    free(partners);
    free(entitlements);
    if (rc != 0) {
        partners_rules_free(rules);
        return NULL;
    }
    return rules;
}

void partners_rules_free(struct partners_rules *rules)
{
    if (!rules)
        return;
    for (size_t i = 0; i < rules->n_entitlements; i++) {
        struct partners_entitlement *e = &rules->entitlements[i];
        for (size_t k = 0; k < e->n_fields; k++)
            free(e->fields[k]);
        free(e->fields);
        free(e->event);
        free(e->step);
        free(e->label);
        free(e->basis);
    }
    for (size_t i = 0; i < rules->n_partners; i++) {
        free(rules->partners[i].id);
        free(rules->partners[i].administration);
        free(rules->partners[i].channel);
        free(rules->partners[i].group);
    }
    free(rules->entitlements);
    free(rules->partners);
    free(rules);
}
