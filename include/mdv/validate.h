/* Checks on the fields of a declaration, shared by the gateway (which
 * answers 422) and the services (which dead-letter a message that fails). */
#ifndef MDV_VALIDATE_H
#define MDV_VALIDATE_H

/* Each returns NULL when the value is valid, else a short English reason. */

/* 1 to 100 letters, with spaces, hyphens and apostrophes inside; Latin
 * letters, accented or not, since matching folds them to A-Z. */
const char *mdv_validate_name(const char *name);
/* A real calendar date written YYYY-MM-DD, not before 1850. */
const char *mdv_validate_date(const char *date);
/* An INSEE COG code: 5 digits, 2A/2B + 3 digits for Corsica, 99xxx abroad. */
const char *mdv_validate_cog(const char *code);
/* "M" or "F". */
const char *mdv_validate_sex(const char *sex);

/* Compares two valid dates; <0, 0, >0 like strcmp. */
int mdv_date_compare(const char *a, const char *b);
/* Writes today's date (UTC) as YYYY-MM-DD. */
void mdv_date_today(char out[11]);

#endif
