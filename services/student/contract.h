/* student's contract with the services that react to its events: the
 * decode and check of StudentGrantRequested (identity checks the student's
 * identity against its records) and StudentGrantDecided, beside their
 * producer. The services that consume mdv.student.events.v1 compile this
 * file in (the Makefile's CONTRACTS_<service>); the library knows no
 * service. */
#ifndef MDV_STUDENT_CONTRACT_H
#define MDV_STUDENT_CONTRACT_H

#include <stddef.h>

#include "mdv/pivot.h"
#include "mdv/student/v1/student.pb-c.h"
#include "mdv/util.h"

/* Each decoder: on success gives the checked message in *out (free it with
 * the message's __free_unpacked) and writes the student's matching key; on
 * a value that is not a valid message writes why into err and returns -1
 * (a dead letter). */

/* A journey, the student, an academic year « AAAA-AAAA ». */
int mdv_student_grant_requested_decode(const void *value, size_t len,
                                       Mdv__Student__V1__StudentGrantRequested **out,
                                       char key[MDV_PIVOT_KEY_LEN], char *err,
                                       size_t errlen) MDV_MUSTCHECK;
/* Besides: an échelon « 0bis », « 1 »… « 7 » with an amount, or none with
 * 0 €; a reason « initial » or « parent_death »; the grant's journey. */
int mdv_student_grant_decided_decode(const void *value, size_t len,
                                     Mdv__Student__V1__StudentGrantDecided **out,
                                     char key[MDV_PIVOT_KEY_LEN], char *err,
                                     size_t errlen) MDV_MUSTCHECK;

#endif
