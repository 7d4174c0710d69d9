/* The pivot identity, normalised for matching across administrations
 * (DESIGN.md §2): upper case, accents and punctuation folded, first given
 * name only. Each service stores the key beside its records. */
#ifndef MDV_PIVOT_H
#define MDV_PIVOT_H

#include <stddef.h>

#include "mdv/util.h"

#define MDV_PIVOT_KEY_LEN 320

/* Writes "FAMILY|FIRSTGIVEN|SEX|YYYY-MM-DD|PLACE". Returns 0, or -1 when a
 * part is missing or cannot be folded. */
int mdv_pivot_key(const char *family_name, const char *first_given_name, const char *sex,
                  const char *birth_date, const char *birth_place,
                  char out[MDV_PIVOT_KEY_LEN]) MDV_MUSTCHECK;

/* Folds a name to upper-case ASCII letters only ("Hélène d'Arc" ->
 * "HELENEDARC"). Returns 0 or -1. */
int mdv_pivot_fold(const char *name, char *out, size_t outlen) MDV_MUSTCHECK;

#endif
