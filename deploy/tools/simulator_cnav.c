/* The simulated CNAV's decision on a confirmed pension de réversion claim
 * (CnavSurvivorClaim), as deterministic as a test needs and documented in
 * the README ("The CNAV's decision"): the simulator knows a career at the
 * régime général for a deceased born in an even year, none for one born in
 * an odd year. With a career, the deceased's pension is taken as
 * 1 000 € + 20 € × their day of birth a month, the réversion is 54 % of it
 * (RULES-REFERENCE: régime général), due from the first day of the month
 * after the claim. Without one, the claim is refused with its reason.
 * The decision goes to the claimant the claim names, at its address: the
 * log says whether the claim named them (never who they are). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/partner/v1/partner.pb-c.h"
#include "mdv/log.h"
#include "simulator.h"

#define RATE_PERCENT 54
#define PENSION_BASE_CENTS 100000L
#define PENSION_PER_DAY_CENTS 2000L

int sim_cnav_monthly_cents(const char *birth_date)
{
    int year = 0, month = 0, day = 0;
    if (sscanf(birth_date, "%4d-%2d-%2d", &year, &month, &day) != 3 || year % 2 != 0)
        return -1;
    return (int)((PENSION_BASE_CENTS + PENSION_PER_DAY_CENTS * day) * RATE_PERCENT / 100);
}

/* DD/MM/YYYY of the first day of the month after the ISO date. */
static int month_after(const char *date, char out[11])
{
    int year = 0, month = 0;
    if (sscanf(date, "%4d-%2d", &year, &month) != 2 || month < 1 || month > 12)
        return -1;
    if (++month > 12) {
        month = 1;
        year++;
    }
    snprintf(out, 11, "01/%02d/%04d", month, year);
    return 0;
}

/* Where the CNAV sends its decision letter, as the log tells it. */
static void log_addressee(const Mdv__Partner__V1__CnavSurvivorClaim *claim)
{
    int named = claim->claimant_family_name[0] != '\0' && claim->n_claimant_given_names > 0;
    if (named && claim->n_address_lines > 0)
        mdv_info("claim %s: file opened for the claimant, decision letter to %s %s",
                 claim->journey_id, claim->postal_code, claim->city);
    else if (named)
        mdv_info("claim %s: file opened for the claimant, no address: decision on the journey only",
                 claim->journey_id);
    else
        mdv_info("claim %s: no claimant named: decision on the journey only", claim->journey_id);
}

int sim_cnav_decide(const void *value, size_t len, char *detail, size_t detail_len)
{
    Mdv__Partner__V1__CnavSurvivorClaim *claim =
        mdv__partner__v1__cnav_survivor_claim__unpack(NULL, len, value);
    char from[11];
    int rc = -1;
    if (!claim || month_after(claim->claimed_on, from) != 0)
        goto out;
    log_addressee(claim);
    int cents = sim_cnav_monthly_cents(claim->birth_date);
    if (cents < 0)
        snprintf(detail, detail_len,
                 "Pension de réversion refusée : aucune carrière au régime général n'est connue"
                 " pour la personne décédée");
    else
        snprintf(detail, detail_len,
                 "Pension de réversion accordée : %d,%02d € par mois à compter du %s", cents / 100,
                 cents % 100, from);
    rc = 0;
out:
    mdv__partner__v1__cnav_survivor_claim__free_unpacked(claim, NULL);
    return rc;
}
