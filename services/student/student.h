/* student — CROUS and établissements. The pieces its handlers share: the
 * barème the distance points and the échelon come from (loaded at start),
 * and one handler per event, each in its own file. The checks of the
 * messages are their producers' contracts (services/<producer>/contract.h). */
#ifndef STUDENT_H
#define STUDENT_H

#include <libpq-fe.h>

#include "abroad/contract.h"
#include "identity/contract.h"
#include "mdv/journey.h"
#include "mdv/reaction.h"
#include "mdv/service.h"

#define STUDENT_STEP_DEATH "student.files_updated"
#define STUDENT_STEP_ADDRESS "student.address_updated"
#define STUDENT_STEP_NAME "student.name_updated"
#define STUDENT_STEP_MOBILITY "student.mobility_reviewed"

/* ---- bareme.c: rules/communes.json, and grant.c's latest year ---- */

/* Loads and checks the communes file; says what is wrong on stderr and
 * returns -1. */
int student_bareme_load(const char *path) MDV_MUSTCHECK;
void student_bareme_free(void);
/* Great-circle distance in whole km between the centres of two communes;
 * -1 when the file has no centre for one of them. */
int student_distance_km(const char *commune_a, const char *commune_b);
/* Points de charge for a distance from the family home (latest year). */
int student_distance_points(int km);
/* The échelon (« 0bis », « 1 »… « 7 ») for resources at points de charge,
 * or NULL when the resources are above the 0bis ceiling (no bourse). */
const char *student_echelon(long resources, long points);

/* ---- address.c ---- */

/* Moves the family home of the person's open file, when the family home is
 * their own address, to the commune and postcode given, and re-computes
 * the distance points and the échelon. Writes what changed for the usager
 * (« échelon inchangé », « échelon 3 → 4 »). Returns 1 when the person has
 * an open file, 0 when not, -1 on a database error. */
int student_move_home(PGconn *conn, const char *pivot_key, const Mdv__Journey__V1__Address *a,
                      char *change, size_t changelen) MDV_MUSTCHECK;

/* Moves the family home of the open files whose family home is the
 * parent's (home_of 'parent', parent_pivot_key) to a, re-computing each
 * one's distance points and échelon; writes each file's change, in file
 * order. Returns how many, -1 on a database error. */
long student_move_children(PGconn *conn, const char *parent_key, const Mdv__Journey__V1__Address *a,
                           char *change, size_t changelen) MDV_MUSTCHECK;
/* How many such files the parent has (not locked), -1 on error. */
long student_children_count(PGconn *conn, const char *parent_key) MDV_MUSTCHECK;

/* ---- one file per event ---- */

enum mdv_outcome student_on_death(struct mdv_msg *msg);
enum mdv_outcome student_on_address_changed(struct mdv_msg *msg);
enum mdv_outcome student_on_name_changed(struct mdv_msg *msg);
enum mdv_outcome student_on_abroad_started(struct mdv_msg *msg);
enum mdv_outcome student_on_abroad_ended(struct mdv_msg *msg);

#endif
