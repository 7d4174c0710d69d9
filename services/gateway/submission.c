/* Building the DeclarationSubmitted of each kind (submission.h). Only a
 * validated body comes here: every field it reads is present and of its
 * type, except the optional ones (city, postal_code abroad, study_mobility). */
#include "submission.h"

#include <string.h>

#include "cog.h"

static char *text(json_t *obj, const char *key)
{
    return (char *)json_string_value(json_object_get(obj, key));
}

/* out from p, its given names in names (SUBMISSION_MAX_GIVEN_NAMES). */
static Mdv__Journey__V1__PivotIdentity *pivot(Mdv__Journey__V1__PivotIdentity *out, char **names,
                                              json_t *p)
{
    json_t *list = json_object_get(p, "given_names");
    *out = (Mdv__Journey__V1__PivotIdentity)MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    out->n_given_names = json_array_size(list);
    for (size_t i = 0; i < out->n_given_names && i < SUBMISSION_MAX_GIVEN_NAMES; i++)
        names[i] = (char *)json_string_value(json_array_get(list, i));
    out->given_names = names;
    out->family_name = text(p, "family_name");
    out->sex = text(p, "sex");
    out->birth_date = text(p, "birth_date");
    out->birth_place = text(p, "birth_place");
    return out;
}

static Mdv__Journey__V1__PivotIdentity *person(struct submission *s, json_t *p)
{
    return pivot(&s->person, s->given_names, p);
}

/* In France the city defaults to the commune's COG name; abroad there is
 * no commune, and the country is the COG code. */
static Mdv__Journey__V1__Address *address(struct submission *s, json_t *a)
{
    json_t *lines = json_object_get(a, "lines");
    s->address.n_lines = json_array_size(lines);
    for (size_t i = 0; i < s->address.n_lines && i < SUBMISSION_MAX_LINES; i++)
        s->lines[i] = (char *)json_string_value(json_array_get(lines, i));
    s->address.lines = s->lines;
    s->address.postal_code = text(a, "postal_code") ? text(a, "postal_code") : "";
    s->address.commune_code = text(a, "commune_code") ? text(a, "commune_code") : "";
    s->address.country_code = text(a, "country_code") ? text(a, "country_code") : "";
    s->address.city = text(a, "city");
    if (!s->address.city) {
        const struct cog_commune *commune = cog_commune_find(s->address.commune_code);
        s->address.city = commune ? (char *)cog_commune_city(commune) : "";
    }
    return &s->address;
}

/* Only a surviving spouse's identity and address have a use (their
 * réversion claim names them and is written to them there): anyone else's
 * are not passed on. */
static void spouse_declarant(struct submission *s, Mdv__Gateway__V1__BereavementDeclaration *b,
                             json_t *declarant)
{
    if (!declarant || strcmp(b->declarant_relationship, "spouse") != 0)
        return;
    b->declarant = pivot(&s->declarant, s->declarant_given_names, declarant);
    json_t *where = json_object_get(declarant, "address");
    if (where)
        b->declarant_address = address(s, where);
}

static void bereavement(struct submission *s, json_t *body)
{
    Mdv__Gateway__V1__BereavementDeclaration *b = &s->bereavement;
    b->deceased = person(s, json_object_get(body, "deceased"));
    b->death_date = text(body, "death_date");
    b->death_place = text(body, "death_place");
    b->declarant_relationship = text(body, "declarant_relationship");
    spouse_declarant(s, b, json_object_get(body, "declarant"));
    s->message.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_BEREAVEMENT;
    s->message.bereavement = b;
}

static void address_change(struct submission *s, json_t *body)
{
    Mdv__Gateway__V1__AddressChangeDeclaration *a = &s->address_change;
    a->person = person(s, json_object_get(body, "person"));
    a->address = address(s, json_object_get(body, "address"));
    a->effective_date = text(body, "effective_date");
    s->message.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_ADDRESS_CHANGE;
    s->message.address_change = a;
}

static void name_change(struct submission *s, json_t *body)
{
    Mdv__Gateway__V1__NameChangeDeclaration *n = &s->name_change;
    n->person = person(s, json_object_get(body, "person"));
    n->name_type = text(body, "name_type");
    n->new_family_name = text(body, "new_family_name");
    n->effective_date = text(body, "effective_date");
    s->message.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_NAME_CHANGE;
    s->message.name_change = n;
}

static void identity_document(struct submission *s, json_t *body)
{
    Mdv__Gateway__V1__IdentityDocumentDeclaration *d = &s->identity_document;
    d->person = person(s, json_object_get(body, "person"));
    d->document_type = text(body, "document_type");
    d->reason = text(body, "reason");
    s->message.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_IDENTITY_DOCUMENT;
    s->message.identity_document = d;
}

static void departure_abroad(struct submission *s, json_t *body)
{
    Mdv__Gateway__V1__DepartureAbroadDeclaration *d = &s->departure_abroad;
    d->person = person(s, json_object_get(body, "person"));
    d->address = address(s, json_object_get(body, "address"));
    d->departure_date = text(body, "departure_date");
    d->consular_registration = json_is_true(json_object_get(body, "consular_registration"));
    d->study_mobility = json_is_true(json_object_get(body, "study_mobility"));
    s->message.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_DEPARTURE_ABROAD;
    s->message.departure_abroad = d;
}

static void return_to_france(struct submission *s, json_t *body)
{
    Mdv__Gateway__V1__ReturnToFranceDeclaration *r = &s->return_to_france;
    r->person = person(s, json_object_get(body, "person"));
    r->address = address(s, json_object_get(body, "address"));
    r->return_date = text(body, "return_date");
    s->message.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RETURN_TO_FRANCE;
    s->message.return_to_france = r;
}

/* A per-unit item travels with surface_m2 0 (the contract's "none"). */
static void work_items(struct submission *s, json_t *list)
{
    Mdv__Gateway__V1__RenovationGrantDeclaration *r = &s->renovation_grant;
    r->n_items = json_array_size(list);
    for (size_t i = 0; i < r->n_items && i < SUBMISSION_MAX_WORK_ITEMS; i++) {
        json_t *item = json_array_get(list, i);
        Mdv__Gateway__V1__RenovationWorkItem *w = &s->work_items[i];
        *w = (Mdv__Gateway__V1__RenovationWorkItem)MDV__GATEWAY__V1__RENOVATION_WORK_ITEM__INIT;
        w->code = text(item, "code");
        w->surface_m2 = (uint32_t)json_integer_value(json_object_get(item, "surface_m2"));
        w->cost_eur = (uint64_t)json_integer_value(json_object_get(item, "cost_eur"));
        s->work_item_list[i] = w;
    }
    r->items = s->work_item_list;
}

static void renovation_grant(struct submission *s, json_t *body)
{
    Mdv__Gateway__V1__RenovationGrantDeclaration *r = &s->renovation_grant;
    *r = (Mdv__Gateway__V1__RenovationGrantDeclaration)
        MDV__GATEWAY__V1__RENOVATION_GRANT_DECLARATION__INIT;
    r->person = person(s, json_object_get(body, "person"));
    r->dwelling = address(s, json_object_get(body, "dwelling"));
    r->construction_year = (uint32_t)json_integer_value(json_object_get(body, "construction_year"));
    r->main_residence = json_is_true(json_object_get(body, "main_residence"));
    r->owner_occupier = json_is_true(json_object_get(body, "owner_occupier"));
    r->household_size = (uint32_t)json_integer_value(json_object_get(body, "household_size"));
    r->reference_tax_income_eur =
        (uint64_t)json_integer_value(json_object_get(body, "reference_tax_income_eur"));
    work_items(s, json_object_get(body, "items"));
    s->message.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RENOVATION_GRANT;
    s->message.renovation_grant = r;
}

static uint64_t whole(json_t *body, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(body, key));
    return v > 0 ? (uint64_t)v : 0;
}

static void student_grant(struct submission *s, json_t *body)
{
    Mdv__Gateway__V1__StudentGrantDeclaration *g = &s->student_grant;
    json_t *parents = json_object_get(body, "parents");
    g->person = person(s, json_object_get(body, "person"));
    g->academic_year = text(body, "academic_year");
    g->institution = text(body, "institution");
    g->study_commune_code = text(body, "study_commune_code");
    g->parents_income_eur = whole(body, "parents_income_eur");
    g->children_at_charge = (uint32_t)whole(body, "children_at_charge");
    g->children_in_higher_education = (uint32_t)whole(body, "children_in_higher_education");
    g->family_home_distance_km = (uint32_t)whole(body, "family_home_distance_km");
    g->disability = json_is_true(json_object_get(body, "disability"));
    g->carer = json_is_true(json_object_get(body, "carer"));
    g->housing_wanted = json_is_true(json_object_get(body, "housing_wanted"));
    for (size_t i = 0; i < json_array_size(parents) && i < SUBMISSION_MAX_PARENTS; i++)
        s->parent_list[g->n_parents++] =
            pivot(&s->parents[i], s->parent_given_names[i], json_array_get(parents, i));
    g->parents = s->parent_list;
    s->message.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_STUDENT_GRANT;
    s->message.student_grant = g;
}

static const struct {
    const char *kind;
    void (*build)(struct submission *, json_t *);
} builders[] = {
    {"bereavement", bereavement},           {"address_change", address_change},
    {"name_change", name_change},           {"identity_document", identity_document},
    {"departure_abroad", departure_abroad}, {"return_to_france", return_to_france},
    {"renovation_grant", renovation_grant}, {"student_grant", student_grant},
};

void submission_build(struct submission *s, json_t *body, const char *journey_id,
                      const char *usager, const char *submitted_at)
{
    *s = (struct submission){
        .message = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__INIT,
        .bereavement = MDV__GATEWAY__V1__BEREAVEMENT_DECLARATION__INIT,
        .address_change = MDV__GATEWAY__V1__ADDRESS_CHANGE_DECLARATION__INIT,
        .name_change = MDV__GATEWAY__V1__NAME_CHANGE_DECLARATION__INIT,
        .identity_document = MDV__GATEWAY__V1__IDENTITY_DOCUMENT_DECLARATION__INIT,
        .departure_abroad = MDV__GATEWAY__V1__DEPARTURE_ABROAD_DECLARATION__INIT,
        .return_to_france = MDV__GATEWAY__V1__RETURN_TO_FRANCE_DECLARATION__INIT,
        .student_grant = MDV__GATEWAY__V1__STUDENT_GRANT_DECLARATION__INIT,
        .person = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT,
        .address = MDV__JOURNEY__V1__ADDRESS__INIT,
    };
    s->message.journey_id = (char *)journey_id;
    s->message.usager_id = (char *)usager;
    s->message.kind = text(body, "kind");
    s->message.submitted_at = (char *)submitted_at;
    json_t *chosen = json_object_get(body, "recipients");
    for (size_t i = 0; i < json_array_size(chosen) && i < SUBMISSION_MAX_RECIPIENTS; i++)
        s->recipients[s->message.n_recipients++] =
            (char *)json_string_value(json_array_get(chosen, i));
    s->message.recipients = s->recipients;
    for (size_t i = 0; i < sizeof(builders) / sizeof(builders[0]); i++)
        if (strcmp(s->message.kind, builders[i].kind) == 0)
            builders[i].build(s, body);
}
