/* rules/recipients.tsv and the check of a declaration's "recipients"
 * (recipients.h). */
#include "recipients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/http.h"

#define MAX_LINES 64
#define LINE_MAX_LEN 512
#define MAX_CHOSEN 16

struct line {
    char *kind, *partner;
};

static struct line lines[MAX_LINES];
static size_t line_count;

static int allowed(const char *kind, const char *partner)
{
    for (size_t i = 0; i < line_count; i++)
        if (strcmp(lines[i].kind, kind) == 0 && strcmp(lines[i].partner, partner) == 0)
            return 1;
    return 0;
}

/* "kind\tpartner\tevent": three non-empty fields. */
static int add_line(char *text)
{
    char *save = NULL;
    char *kind = strtok_r(text, "\t\n", &save);
    char *partner = kind ? strtok_r(NULL, "\t\n", &save) : NULL;
    char *event = partner ? strtok_r(NULL, "\t\n", &save) : NULL;
    if (!event || strtok_r(NULL, "\t\n", &save) || line_count == MAX_LINES ||
        allowed(kind, partner))
        return -1;
    lines[line_count++] = (struct line){mdv_xstrdup(kind), mdv_xstrdup(partner)};
    return 0;
}

int recipients_load(const char *path)
{
    char text[LINE_MAX_LEN];
    FILE *f = fopen(path, "r");
    int rc = 0, n = 0;
    if (!f) {
        fprintf(stderr, "%s: cannot be read\n", path);
        return -1;
    }
    while (rc == 0 && fgets(text, sizeof(text), f)) {
        n++;
        if (text[0] == '#' || text[0] == '\n')
            continue;
        if (add_line(text) != 0) {
            fprintf(stderr, "%s:%d: want kind, partner and event, tab-separated, once each\n", path,
                    n);
            rc = -1;
        }
    }
    fclose(f);
    if (rc != 0)
        recipients_unload();
    return rc;
}

void recipients_unload(void)
{
    for (size_t i = 0; i < line_count; i++) {
        free(lines[i].kind);
        free(lines[i].partner);
    }
    line_count = 0;
}

/* "must be one of cnav, dgfip", or that this kind names none. */
static void not_choosable(json_t *errors, const char *field, const char *kind)
{
    char message[256] = "";
    for (size_t i = 0; i < line_count; i++) {
        size_t len = strlen(message);
        if (strcmp(lines[i].kind, kind) == 0)
            snprintf(message + len, sizeof(message) - len, "%s%s",
                     len ? ", " : "is not a recipient this declaration may name: one of ",
                     lines[i].partner);
    }
    mdv_http_field_error(errors, field,
                         *message ? message : "is not a recipient: this declaration names none");
}

static void check_entry(json_t *list, size_t i, const char *kind, json_t *errors)
{
    char field[48];
    const char *partner = json_string_value(json_array_get(list, i));
    snprintf(field, sizeof(field), "recipients[%zu]", i);
    if (!partner) {
        mdv_http_field_error(errors, field, "must be a string");
        return;
    }
    for (size_t j = 0; j < i; j++)
        if (json_equal(json_array_get(list, j), json_array_get(list, i))) {
            mdv_http_field_error(errors, field, "is named twice");
            return;
        }
    if (!allowed(kind, partner))
        not_choosable(errors, field, kind);
}

void recipients_check(json_t *body, const char *kind, json_t *errors)
{
    json_t *list = json_object_get(body, "recipients");
    if (!list)
        return;
    if (!json_is_array(list) || json_array_size(list) > MAX_CHOSEN) {
        mdv_http_field_error(errors, "recipients", "must be a list of at most 16 partner ids");
        return;
    }
    for (size_t i = 0; i < json_array_size(list); i++)
        check_entry(list, i, kind, errors);
}
