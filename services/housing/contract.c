/* The decode and check of housing's events (see contract.h), compiled
 * into each service that consumes them. */
#include "contract.h"

#include <stdio.h>
#include <string.h>

#include "mdv/reaction.h"

static int person_key(const Mdv__Journey__V1__PivotIdentity *p, char key[MDV_PIVOT_KEY_LEN])
{
    if (!p || p->n_given_names == 0)
        return -1;
    return mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                         key);
}

static const char *check_requested(const Mdv__Housing__V1__RenovationGrantRequested *m,
                                   char key[MDV_PIVOT_KEY_LEN])
{
    if (!mdv_uuid_valid(m->journey_id))
        return "journey_id is not a UUID";
    if (person_key(m->person, key) != 0)
        return "person missing or its identity cannot be normalised";
    if (!m->dwelling)
        return "dwelling missing";
    return mdv_reaction_address_problem(m->dwelling);
}

int mdv_housing_requested_decode(const void *value, size_t len,
                                 Mdv__Housing__V1__RenovationGrantRequested **out,
                                 char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    Mdv__Housing__V1__RenovationGrantRequested *m =
        mdv__housing__v1__renovation_grant_requested__unpack(NULL, len, value);
    const char *problem = m ? check_requested(m, key) : "value is not a RenovationGrantRequested";
    *out = NULL;
    if (problem) {
        snprintf(err, errlen, "RenovationGrantRequested invalid: %s", problem);
        mdv__housing__v1__renovation_grant_requested__free_unpacked(m, NULL);
        return -1;
    }
    *out = m;
    return 0;
}

static const char *check_items(const Mdv__Housing__V1__RenovationGrantEstimated *m)
{
    uint64_t total = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        const Mdv__Housing__V1__WorkItemEstimate *it = m->items[i];
        if (!*it->code)
            return "an item without a code";
        if (it->amount_eur > it->eligible_eur || it->eligible_eur > it->cost_eur ||
            it->eligible_eur > it->cap_eur)
            return "an item's aid exceeds what is eligible, or what is eligible its quote or cap";
        total += it->amount_eur;
    }
    return total == m->total_eur ? NULL : "total_eur is not the sum of the items' aid";
}

static const char *check_estimated(const Mdv__Housing__V1__RenovationGrantEstimated *m,
                                   char key[MDV_PIVOT_KEY_LEN])
{
    static const char *const categories[] = {"bleu", "jaune", "violet", "rose"};
    size_t c = 0;
    if (!mdv_uuid_valid(m->journey_id))
        return "journey_id is not a UUID";
    if (person_key(m->person, key) != 0)
        return "person missing or its identity cannot be normalised";
    if (!*m->file_number)
        return "file_number missing";
    while (c < MDV_ARRAY_LEN(categories) && strcmp(m->category, categories[c]) != 0)
        c++;
    if (c == MDV_ARRAY_LEN(categories))
        return "category is not bleu, jaune, violet or rose";
    if (m->n_items == 0)
        return "no item";
    return check_items(m);
}

int mdv_housing_estimated_decode(const void *value, size_t len,
                                 Mdv__Housing__V1__RenovationGrantEstimated **out,
                                 char key[MDV_PIVOT_KEY_LEN], char *err, size_t errlen)
{
    Mdv__Housing__V1__RenovationGrantEstimated *m =
        mdv__housing__v1__renovation_grant_estimated__unpack(NULL, len, value);
    const char *problem = m ? check_estimated(m, key) : "value is not a RenovationGrantEstimated";
    *out = NULL;
    if (problem) {
        snprintf(err, errlen, "RenovationGrantEstimated invalid: %s", problem);
        mdv__housing__v1__renovation_grant_estimated__free_unpacked(m, NULL);
        return -1;
    }
    *out = m;
    return 0;
}
