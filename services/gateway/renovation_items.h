/* The MaPrimeRénov' work items a renovation_grant may list, and how each
 * is priced (per unit or per m²), read at start from the gateway's copy of
 * housing's barème (rules/maprimerenov.json; tests/static checks that the
 * copies are the same): the gateway refuses an item the barème does not
 * know before housing ever sees it. */
#ifndef GATEWAY_RENOVATION_ITEMS_H
#define GATEWAY_RENOVATION_ITEMS_H

#include "mdv/util.h"

enum renovation_unit {
    RENOVATION_UNKNOWN = -1, /* not an item of the barème */
    RENOVATION_PER_UNIT = 0,
    RENOVATION_PER_M2 = 1,
};

/* Loads the items of the barème file at path; says what is wrong (the
 * file and the line, or the entry) on stderr and returns -1. */
int renovation_items_load(const char *path) MDV_MUSTCHECK;
void renovation_items_unload(void);

/* How the item code is priced, or RENOVATION_UNKNOWN. */
enum renovation_unit renovation_item_unit(const char *code);

#endif
