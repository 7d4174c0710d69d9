/* The declarations of « Je pars, je vis, je reviens de l'étranger »
 * (owner: abroad): settling abroad, coming back to France. */
#include "gateway.h"
#include "validation.h"

void departure_abroad_check(json_t *body, json_t *errors)
{
    static const char *const known[] = {"kind",          "recipients",     "person",
                                        "address",       "departure_date", "consular_registration",
                                        "study_mobility"};
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    const char *birth = person_check(body, "person", errors);
    date_not_future("person.birth_date", birth, errors);
    address_abroad_check(body, "address", errors);
    const char *date = date_field(body, "departure_date", errors);
    date_within_a_year("departure_date", date, errors);
    date_not_before("departure_date", date, birth, errors);
    (void)bool_field(body, "consular_registration", 1, 0, errors);
    (void)bool_field(body, "study_mobility", 0, 0, errors);
}

void return_to_france_check(json_t *body, json_t *errors)
{
    static const char *const known[] = {"kind", "recipients", "person", "address", "return_date"};
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    const char *birth = person_check(body, "person", errors);
    date_not_future("person.birth_date", birth, errors);
    address_france_check(body, "address", errors);
    const char *date = date_field(body, "return_date", errors);
    date_within_a_year("return_date", date, errors);
    date_not_before("return_date", date, birth, errors);
}
