/* The gateway's declaration body: mdv_http_read_json, the body reader of
 * POST /v1/declarations (jansson parsing, the object check, the 400 and 422
 * problems), with declaration_validate, on the input as the request body.
 *
 * The reader asks libmicrohttpd for the Content-Type, which needs a live
 * connection: this target is linked with --wrap=mdv_http_header, and the
 * wrapper below answers "application/json" as a client would. It is linked
 * with --wrap=mdv_http_field_error too, to count the errors reported.
 *
 * Invariants: a refusal is a 400 or a 422 problem that holds every error
 * reported (none lost on the way), each naming a field; a body with a field the API does not know
 * is refused; a bereavement body the gateway accepts is one the bereavement service accepts too,
 * and whose deceased has a pivot key (else the usager gets 202 and the declaration is dead-lettered
 * downstream); the DeclarationSubmitted of any other kind it accepts carries that kind's body,
 * whose person has a pivot key and whose address is in France (a commune of the COG) or abroad (a
 * country) as the kind wants, and that its owner (identity, abroad or housing) accepts. The COG
 * tables are the real ones. */
#include "fuzz.h"

#include <jansson.h>
#include <strings.h>

#include "mdv/pivot.h"

#include "../../services/abroad/abroad.h"
#include "../../services/bereavement/messages.h"
#include "../../services/gateway/cog.h"
#include "../../services/gateway/renovation_items.h"
#include "../../services/gateway/gateway.h"
#include "../../services/gateway/submission.h"
#include "../../services/housing/housing.h"
#include "../../services/identity/identity.h"

#define JOURNEY "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7"

static size_t errors_reported;

const char *__wrap_mdv_http_header(const struct mdv_http_request *req, const char *name);
void __real_mdv_http_field_error(json_t *errors, const char *field, const char *message);
void __wrap_mdv_http_field_error(json_t *errors, const char *field, const char *message);

void __wrap_mdv_http_field_error(json_t *errors, const char *field, const char *message)
{
    errors_reported++;
    __real_mdv_http_field_error(errors, field, message);
}

const char *__wrap_mdv_http_header(const struct mdv_http_request *req, const char *name)
{
    (void)req;
    return strcasecmp(name, "Content-Type") == 0 ? "application/json; charset=utf-8" : NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_set_locale();
    if (cog_load(FUZZ_COG_COMMUNES, FUZZ_COG_COUNTRIES) != 0 ||
        renovation_items_load(FUZZ_RENOVATION_RULES) != 0)
        abort();
    return 0;
}

/* Every error names a field (an unknown field may be named "") and says
 * what is wrong with it. */
static void check_errors(const json_t *errors)
{
    size_t i;
    const json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));
        const char *message = json_string_value(json_object_get(e, "message"));
        FUZZ_REQUIRE(field && message && *message);
    }
}

static int only_known(json_t *obj, const char *const *known, size_t n)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        (void)value;
        size_t i = 0;
        while (i < n && strcmp(key, known[i]) != 0)
            i++;
        if (i == n)
            return 0;
    }
    return 1;
}

static void check_known_fields(json_t *body)
{
    static const char *const top[] = {"kind", "deceased", "death_date", "death_place",
                                      "declarant_relationship"};
    static const char *const deceased[] = {"family_name", "given_names", "sex", "birth_date",
                                           "birth_place"};
    FUZZ_REQUIRE(only_known(body, top, MDV_ARRAY_LEN(top)));
    FUZZ_REQUIRE(only_known(json_object_get(body, "deceased"), deceased, MDV_ARRAY_LEN(deceased)));
}

static char *field(json_t *obj, const char *key)
{
    return (char *)json_string_value(json_object_get(obj, key));
}

/* The DeclarationSubmitted the gateway publishes for an accepted body, as
 * bereavement decodes it. */
static void check_bereavement_accepts(json_t *body)
{
    Mdv__Gateway__V1__DeclarationSubmitted d = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__INIT;
    Mdv__Gateway__V1__BereavementDeclaration b = MDV__GATEWAY__V1__BEREAVEMENT_DECLARATION__INIT;
    Mdv__Journey__V1__PivotIdentity p = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    json_t *deceased = json_object_get(body, "deceased");
    json_t *names = json_object_get(deceased, "given_names");
    char *given[10];
    char err[256];

    p.n_given_names = json_array_size(names);
    FUZZ_REQUIRE(p.n_given_names <= MDV_ARRAY_LEN(given));
    for (size_t i = 0; i < p.n_given_names; i++)
        given[i] = (char *)json_string_value(json_array_get(names, i));
    p.given_names = given;
    p.family_name = field(deceased, "family_name");
    p.sex = field(deceased, "sex");
    p.birth_date = field(deceased, "birth_date");
    p.birth_place = field(deceased, "birth_place");
    b.deceased = &p;
    b.death_date = field(body, "death_date");
    b.death_place = field(body, "death_place");
    b.declarant_relationship = field(body, "declarant_relationship");
    d.journey_id = JOURNEY;
    d.usager_id = "usager-fuzz";
    d.kind = "bereavement";
    d.submitted_at = "2026-01-01T00:00:00Z";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_BEREAVEMENT;
    d.bereavement = &b;

    size_t len = mdv__gateway__v1__declaration_submitted__get_packed_size(&d);
    uint8_t *packed = mdv_xmalloc(len ? len : 1);
    mdv__gateway__v1__declaration_submitted__pack(&d, packed);
    declaration_t *decoded = NULL;
    int rc = bereavement_declaration_decode(packed, len, &decoded, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "accepted by the gateway, refused by bereavement: %s\n", err);
    FUZZ_REQUIRE(rc == 0 && decoded);
    /* Bereavement and every administration match the deceased on the
     * pivot key; one that cannot be made is a dead letter. */
    char key[MDV_PIVOT_KEY_LEN];
    const Mdv__Journey__V1__PivotIdentity *q = decoded->bereavement->deceased;
    FUZZ_REQUIRE(mdv_pivot_key(q->family_name, q->given_names[0], q->sex, q->birth_date,
                               q->birth_place, key) == 0);
    mdv__gateway__v1__declaration_submitted__free_unpacked(decoded, NULL);
    free(packed);
}

static int has_pivot_key(const Mdv__Journey__V1__PivotIdentity *p)
{
    char key[MDV_PIVOT_KEY_LEN];
    return p && p->n_given_names > 0 &&
           mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                         key) == 0;
}

/* abroad: a country and no commune; in France: a commune of the COG and
 * one of its postcodes, and a city (the commune's name when left out). */
static void check_address(const Mdv__Journey__V1__Address *a, int abroad)
{
    FUZZ_REQUIRE(a && a->n_lines >= 1 && a->n_lines <= 3 && a->city && *a->city);
    if (abroad) {
        FUZZ_REQUIRE(!*a->commune_code && cog_country_find(a->country_code) &&
                     strcmp(a->country_code, "99100") != 0);
        return;
    }
    const struct cog_commune *commune = cog_commune_find(a->commune_code);
    FUZZ_REQUIRE(!*a->country_code && commune && cog_commune_addressable(commune) &&
                 cog_commune_has_postcode(commune, a->postal_code));
}

/* The owner's own decode-and-check of the packed message, as its handler
 * runs it. */
static void check_owner_accepts(const uint8_t *packed, size_t len)
{
    identity_declaration_t *mine = NULL;
    abroad_declaration_t *theirs = NULL;
    char err[256] = "";
    int identity = identity_declaration_decode(packed, len, &mine, err, sizeof(err));
    if (identity != 0)
        fprintf(stderr, "accepted by the gateway, refused by identity: %s\n", err);
    int abroad = abroad_declaration_decode(packed, len, &theirs, err, sizeof(err));
    if (abroad != 0)
        fprintf(stderr, "accepted by the gateway, refused by abroad: %s\n", err);
    housing_declaration_t *anah = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    int housing = housing_declaration_decode(packed, len, &anah, key, err, sizeof(err));
    if (housing != 0)
        fprintf(stderr, "accepted by the gateway, refused by housing: %s\n", err);
    FUZZ_REQUIRE(identity == 0 && abroad == 0 && housing == 0);
    /* one owner, and only one */
    FUZZ_REQUIRE((mine != NULL) + (theirs != NULL) + (anah != NULL) == 1);
    mdv__gateway__v1__declaration_submitted__free_unpacked(mine, NULL);
    mdv__gateway__v1__declaration_submitted__free_unpacked(theirs, NULL);
    mdv__gateway__v1__declaration_submitted__free_unpacked(anah, NULL);
}

/* The message of another kind, packed and read back as its owner would. */
static void check_other_kind(json_t *body)
{
    struct submission s;
    submission_build(&s, body, JOURNEY, "usager-fuzz", "2026-01-01T00:00:00Z");
    size_t len = mdv__gateway__v1__declaration_submitted__get_packed_size(&s.message);
    uint8_t *packed = mdv_xmalloc(len ? len : 1);
    mdv__gateway__v1__declaration_submitted__pack(&s.message, packed);
    declaration_t *d = mdv__gateway__v1__declaration_submitted__unpack(NULL, len, packed);
    FUZZ_REQUIRE(d && strcmp(d->kind, field(body, "kind")) == 0);
    switch (d->body_case) {
    case MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_ADDRESS_CHANGE:
        FUZZ_REQUIRE(has_pivot_key(d->address_change->person));
        check_address(d->address_change->address, 0);
        break;
    case MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_NAME_CHANGE:
        FUZZ_REQUIRE(has_pivot_key(d->name_change->person));
        break;
    case MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_IDENTITY_DOCUMENT:
        FUZZ_REQUIRE(has_pivot_key(d->identity_document->person));
        break;
    case MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_DEPARTURE_ABROAD:
        FUZZ_REQUIRE(has_pivot_key(d->departure_abroad->person));
        check_address(d->departure_abroad->address, 1);
        break;
    case MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RETURN_TO_FRANCE:
        FUZZ_REQUIRE(has_pivot_key(d->return_to_france->person));
        check_address(d->return_to_france->address, 0);
        break;
    case MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RENOVATION_GRANT:
        FUZZ_REQUIRE(has_pivot_key(d->renovation_grant->person));
        check_address(d->renovation_grant->dwelling, 0);
        break;
    default:
        FUZZ_REQUIRE(!"an accepted body of no known kind");
    }
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    check_owner_accepts(packed, len);
    free(packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mdv_http_request req = {0};
    struct mdv_http_response res = {0};

    if (size > MDV_HTTP_BODY_LIMIT)
        return -1; /* the HTTP layer refuses a larger body */
    char *text = size ? fuzz_cstring(data, size) : NULL;
    req.method = "POST";
    req.path = "/v1/declarations";
    req.body = text; /* NULL: no body at all */
    req.body_len = size;
    errors_reported = 0;
    json_t *body =
        mdv_http_read_json(&req, &res, declaration_validate, "Déclaration incomplète ou invalide");
    if (body) {
        FUZZ_REQUIRE(res.json == NULL && errors_reported == 0);
        if (strcmp(field(body, "kind"), "bereavement") == 0) {
            check_known_fields(body);
            check_bereavement_accepts(body);
        } else {
            check_other_kind(body);
        }
    } else {
        FUZZ_REQUIRE(res.status == 400 || res.status == 422);
        FUZZ_REQUIRE(json_is_object(res.json));
        json_t *errors = json_object_get(res.json, "errors");
        FUZZ_REQUIRE(res.status == 400 || json_array_size(errors) > 0);
        FUZZ_REQUIRE(json_array_size(errors) == errors_reported);
        check_errors(errors);
        char *dumped = json_dumps(res.json, 0);
        FUZZ_REQUIRE(dumped);
        free(dumped);
    }
    json_decref(body);
    json_decref(res.json);
    free(text);
    return 0;
}
