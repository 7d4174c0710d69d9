/* The optional recipients each kind of declaration may name
 * (rules/recipients.tsv, which tests/static checks against the partners'
 * entitlements): the gateway refuses a partner the usager cannot choose
 * before anything is recorded. */
#ifndef GATEWAY_RECIPIENTS_H
#define GATEWAY_RECIPIENTS_H

#include <jansson.h>

#include "mdv/util.h"

/* Loads the file at path; says what is wrong (file and line) on stderr and
 * returns -1. */
int recipients_load(const char *path) MDV_MUSTCHECK;
void recipients_unload(void);

/* The body's "recipients" (absent: none): a list of distinct partner ids,
 * each one this kind may name; reports each problem into errors. */
void recipients_check(json_t *body, const char *kind, json_t *errors);

#endif
