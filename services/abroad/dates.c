/* Dates as the usager reads them in a step's detail: « 1er décembre
 * 2026 » (the first of the month is « 1er », as French writes it). */
#include "abroad.h"

#include <stdio.h>

#include "mdv/validate.h"

void abroad_date_french(const char *iso, char out[ABROAD_DATE_LEN])
{
    static const char *const months[] = {"janvier",   "février", "mars",     "avril",
                                         "mai",       "juin",    "juillet",  "août",
                                         "septembre", "octobre", "novembre", "décembre"};
    int year, month, day;
    if (!iso || mdv_validate_date(iso) || sscanf(iso, "%4d-%2d-%2d", &year, &month, &day) != 3) {
        snprintf(out, ABROAD_DATE_LEN, "%s", iso ? iso : "");
        return;
    }
    if (day == 1)
        snprintf(out, ABROAD_DATE_LEN, "1er %s %d", months[month - 1], year);
    else
        snprintf(out, ABROAD_DATE_LEN, "%d %s %d", day, months[month - 1], year);
}
