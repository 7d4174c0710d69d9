/* The pivot identity, normalised for matching across administrations
 * (DESIGN.md §2): upper case, accents and punctuation folded, first given
 * name only. Each service stores the key beside its records. */
#ifndef MDV_PIVOT_H
#define MDV_PIVOT_H

#include <stddef.h>

#include "mdv/util.h"

/* The most letters a name may have once folded: the one limit on a name's
 * part of a matching key. The gateway refuses a longer name
 * (mdv_validate_name, through mdv_pivot_name_problem), so that every
 * service can key whatever was accepted. */
#define MDV_PIVOT_NAME_MAX 128
/* Room for two folded names and the rest of the key, NUL included. */
#define MDV_PIVOT_KEY_LEN 320

/* Writes "FAMILY|FIRSTGIVEN|SEX|YYYY-MM-DD|PLACE". Returns 0, or -1 when a
 * part is missing or cannot be folded. */
int mdv_pivot_key(const char *family_name, const char *first_given_name, const char *sex,
                  const char *birth_date, const char *birth_place,
                  char out[MDV_PIVOT_KEY_LEN]) MDV_MUSTCHECK;

/* Folds a name to upper-case ASCII letters only ("Hélène d'Arc" ->
 * "HELENEDARC"). Returns 0, or -1 when the name cannot be part of a key
 * (see mdv_pivot_name_problem) or its folded form does not fit in out. */
int mdv_pivot_fold(const char *name, char *out, size_t outlen) MDV_MUSTCHECK;

/* Why name cannot be part of a matching key, as a short English reason, or
 * NULL when it can: a letter with no Latin transliteration, no letter at
 * all, or more than MDV_PIVOT_NAME_MAX letters once folded ("Œ" folds to
 * two). */
const char *mdv_pivot_name_problem(const char *name);

#endif
