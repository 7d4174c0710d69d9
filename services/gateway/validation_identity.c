/* The declarations of « J'établis mon identité » (owner: identity): a new
 * address in France, a new nom d'usage or nom de naissance, a CNI or
 * passport pré-demande. */
#include <string.h>

#include "gateway.h"
#include "mdv/pivot.h"
#include "mdv/validate.h"
#include "validation.h"

static const char *const name_types[] = {"usage", "birth"};
static const char *const document_types[] = {"cni", "passport"};
static const char *const reasons[] = {"first", "renewal", "loss", "theft"};

void address_change_check(json_t *body, json_t *errors)
{
    static const char *const known[] = {"kind", "recipients", "person", "address",
                                        "effective_date"};
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    const char *birth = person_check(body, "person", errors);
    date_not_future("person.birth_date", birth, errors);
    address_france_check(body, "address", errors);
    const char *date = date_field(body, "effective_date", errors);
    date_within_a_year("effective_date", date, errors);
    date_not_before("effective_date", date, birth, errors);
}

/* A nom de naissance changed to the same name, once folded for matching
 * (« Martin » is « MARTIN »), changes nothing: it is refused. */
static void new_name_differs(json_t *body, const char *new_name, json_t *errors)
{
    char old_key[MDV_PIVOT_KEY_LEN], new_key[MDV_PIVOT_KEY_LEN];
    const char *old_name =
        json_string_value(json_object_get(json_object_get(body, "person"), "family_name"));
    if (!old_name || mdv_validate_name(old_name) ||
        mdv_pivot_fold(old_name, old_key, sizeof(old_key)) != 0 ||
        mdv_pivot_fold(new_name, new_key, sizeof(new_key)) != 0)
        return;
    if (strcmp(old_key, new_key) == 0)
        mdv_http_field_error(errors, "new_family_name", "must differ from the current family name");
}

void name_change_check(json_t *body, json_t *errors)
{
    static const char *const known[] = {"kind",      "recipients",      "person",
                                        "name_type", "new_family_name", "effective_date"};
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    const char *birth = person_check(body, "person", errors);
    date_not_future("person.birth_date", birth, errors);
    enum_field(body, "name_type", name_types, MDV_ARRAY_LEN(name_types), errors);
    const char *name = string_field(body, "new_family_name", "new_family_name", 1, errors);
    check(errors, "new_family_name", name, mdv_validate_name);
    const char *type = json_string_value(json_object_get(body, "name_type"));
    if (name && !mdv_validate_name(name) && type && strcmp(type, "birth") == 0)
        new_name_differs(body, name, errors);
    const char *date = date_field(body, "effective_date", errors);
    date_not_future("effective_date", date, errors);
    date_not_before("effective_date", date, birth, errors);
}

void identity_document_check(json_t *body, json_t *errors)
{
    static const char *const known[] = {"kind", "recipients", "person", "document_type", "reason"};
    unknown_fields(body, "", known, MDV_ARRAY_LEN(known), errors);
    const char *birth = person_check(body, "person", errors);
    date_not_future("person.birth_date", birth, errors);
    enum_field(body, "document_type", document_types, MDV_ARRAY_LEN(document_types), errors);
    enum_field(body, "reason", reasons, MDV_ARRAY_LEN(reasons), errors);
}
