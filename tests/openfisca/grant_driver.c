/* The bourse engine (services/student/grant.c) as a filter, so that an
 * outside model can be held against it household by household: reads one
 * household a line on stdin as a JSON object, writes the engine's answer a
 * line on stdout (tests/openfisca/test_bourse_openfisca.py).
 *
 *   in:  {"id": 7, "academic_year": "2025-2026", "parents_income_eur": 20000,
 *         "children_at_charge": 1, "children_in_higher_education": 0,
 *         "distance_km": 120, "disability": false, "carer": false,
 *         "overseas": false}
 *   out: {"id": 7, "echelon": 2, "echelon_name": "2", "points": 3,
 *         "annual_amount_eur": 3071}
 *
 * A household the engine refuses (unknown academic year) gets
 * {"id": …, "error": "…"}; a line that is not such an object stops the
 * driver with status 1, since the comparison would be meaningless. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/student/grant.h"

static int parse_household(const char *line, json_t **id, char *year, size_t yearlen,
                           struct mdv_grant_household *h)
{
    json_error_t jerr;
    json_t *in = json_loads(line, 0, &jerr);
    json_int_t income = 0, at_charge = 0, higher = 0, distance = 0;
    int disability = 0, carer = 0, overseas = 0;
    const char *y = NULL;
    int rc = -1;

    if (!in) {
        fprintf(stderr, "grant_driver: line %d: %s\n", jerr.line, jerr.text);
        goto out;
    }
    if (json_unpack_ex(in, &jerr, JSON_STRICT, "{s:o, s:s, s:I, s:I, s:I, s:I, s:b, s:b, s:b}",
                       "id", id, "academic_year", &y, "parents_income_eur", &income,
                       "children_at_charge", &at_charge, "children_in_higher_education", &higher,
                       "distance_km", &distance, "disability", &disability, "carer", &carer,
                       "overseas", &overseas) != 0) {
        fprintf(stderr, "grant_driver: %s\n", jerr.text);
        goto out;
    }
    if (income < 0 || at_charge < 0 || higher < 0 || distance < 0 || at_charge > 100 ||
        higher > 100 || distance > 100000) {
        fprintf(stderr, "grant_driver: a count or amount out of range\n");
        goto out;
    }
    json_incref(*id);
    snprintf(year, yearlen, "%s", y);
    *h = (struct mdv_grant_household){
        .parents_income_eur = (unsigned long)income,
        .children_at_charge = (unsigned)at_charge,
        .children_in_higher_education = (unsigned)higher,
        .distance_km = (unsigned)distance,
        .disability = disability,
        .carer = carer,
        .overseas = overseas,
    };
    rc = 0;
out:
    json_decref(in);
    return rc;
}

/* Takes the reference on id. */
static json_t *answer(json_t *id, const char *year, const struct mdv_grant_household *h)
{
    struct mdv_grant_result r;
    if (mdv_grant_assess(year, h, &r) != 0)
        return json_pack("{s:o, s:s}", "id", id, "error", "academic year not in the data");
    return json_pack("{s:o, s:i, s:s, s:I, s:I}", "id", id, "echelon", r.echelon, "echelon_name",
                     r.echelon_name, "points", (json_int_t)r.points, "annual_amount_eur",
                     (json_int_t)r.annual_amount_eur);
}

static int run(FILE *in, FILE *out)
{
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;

    while (getline(&line, &cap, in) > 0) {
        struct mdv_grant_household h;
        char year[32];
        json_t *id = NULL, *a;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        if (parse_household(line, &id, year, sizeof year, &h) != 0) {
            rc = -1;
            break;
        }
        a = answer(id, year, &h);
        if (!a || json_dumpf(a, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF) {
            json_decref(a);
            rc = -1;
            break;
        }
        json_decref(a);
    }
    free(line);
    return rc == 0 && fflush(out) == 0 && !ferror(in) ? 0 : -1;
}

int main(int argc, char **argv)
{
    char err[512];
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: %s RULES_DIR < households.jsonl\n", argv[0]);
        return 2;
    }
    if (mdv_grant_rules_load(argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "grant_driver: %s\n", err);
        return 1;
    }
    rc = run(stdin, stdout);
    mdv_grant_rules_free();
    return rc == 0 ? 0 : 1;
}
