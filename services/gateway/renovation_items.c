/* The barème's work items, as the gateway's checks need them
 * (renovation_items.h): their codes and units only; the amounts are
 * housing's business. */
#include "renovation_items.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 64

struct item {
    char *code;
    enum renovation_unit unit;
};

static struct item items[MAX_ITEMS];
static size_t item_count;

/* One entry of "items": a code and a unit, "unit" or "m2". */
static int item_add(const char *path, size_t i, json_t *entry)
{
    const char *code = json_string_value(json_object_get(entry, "code"));
    const char *unit = json_string_value(json_object_get(entry, "unit"));
    if (!code || !*code || !unit || (strcmp(unit, "unit") != 0 && strcmp(unit, "m2") != 0)) {
        fprintf(stderr, "%s: items[%zu] needs a code and a unit (\"unit\" or \"m2\")\n", path, i);
        return -1;
    }
    if (renovation_item_unit(code) != RENOVATION_UNKNOWN) {
        fprintf(stderr, "%s: items[%zu]: %s is listed twice\n", path, i, code);
        return -1;
    }
    items[item_count].code = mdv_xstrdup(code);
    items[item_count].unit = strcmp(unit, "m2") == 0 ? RENOVATION_PER_M2 : RENOVATION_PER_UNIT;
    item_count++;
    return 0;
}

int renovation_items_load(const char *path)
{
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    json_t *list = json_object_get(root, "items"), *entry;
    size_t i;
    int rc = -1;

    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", path, error.line, error.text);
        return -1;
    }
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > MAX_ITEMS) {
        fprintf(stderr, "%s: \"items\" must be a list of 1 to %d work items\n", path, MAX_ITEMS);
        goto out;
    }
    json_array_foreach(list, i, entry) if (item_add(path, i, entry) != 0) goto out;
    rc = 0;
out:
    if (rc != 0)
        renovation_items_unload();
    json_decref(root);
    return rc;
}

void renovation_items_unload(void)
{
    for (size_t i = 0; i < item_count; i++)
        free(items[i].code);
    item_count = 0;
}

enum renovation_unit renovation_item_unit(const char *code)
{
    for (size_t i = 0; i < item_count; i++)
        if (strcmp(items[i].code, code) == 0)
            return items[i].unit;
    return RENOVATION_UNKNOWN;
}
