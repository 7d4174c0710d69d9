/* Unit tests of the producers' contracts as their consumers link them
 * (services/<producer>/contract.c, on shared/contract.c): the gateway's
 * declarations and confirmations as each owner reads them, bereavement's
 * DeathRecorded, partners' RecipientNotified as the gateway reads it, and
 * the reasons a dead letter carries. */
#include "unit.h"

#include "bereavement/contract.h"
#include "gateway/contract.h"
#include "identity/contract.h"
#include "partners/contract.h"

#define JOURNEY "7d0c8f4e-5b7a-4c1e-9a51-3f1a2b6c9d10"

static char *given[] = {"Jeanne"};

static Mdv__Journey__V1__PivotIdentity person(void)
{
    Mdv__Journey__V1__PivotIdentity p = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    p.family_name = "Martin";
    p.n_given_names = 1;
    p.given_names = given;
    p.sex = "F";
    p.birth_date = "1948-03-02";
    p.birth_place = "75056";
    return p;
}

static size_t pack(const ProtobufCMessage *m, uint8_t *buf, size_t size)
{
    assert_true(protobuf_c_message_get_packed_size(m) <= size);
    return protobuf_c_message_pack(m, buf);
}

static int checked; /* how many times body_ok ran */

static const char *body_ok(const Mdv__Gateway__V1__DeclarationSubmitted *d)
{
    (void)d;
    checked++;
    return NULL;
}

static const char *const bereavement_kinds[] = {"bereavement", NULL};

/* Decodes d as the owner of bereavement: 1 accepted, 0 not its kind, -1
 * refused (err says why). */
static int decode(const Mdv__Gateway__V1__DeclarationSubmitted *d, char *err, size_t errlen)
{
    uint8_t buf[1024];
    Mdv__Gateway__V1__DeclarationSubmitted *out = NULL;
    size_t len = pack(&d->base, buf, sizeof(buf));
    int rc =
        mdv_gateway_declaration_decode(buf, len, bereavement_kinds, body_ok, &out, err, errlen);
    int accepted = out != NULL;
    mdv__gateway__v1__declaration_submitted__free_unpacked(out, NULL);
    return rc != 0 ? -1 : accepted;
}

static void test_an_owner_gets_its_kinds_with_their_body_and_a_usager(void **state)
{
    (void)state;
    Mdv__Journey__V1__PivotIdentity p = person();
    Mdv__Gateway__V1__BereavementDeclaration b = MDV__GATEWAY__V1__BEREAVEMENT_DECLARATION__INIT;
    Mdv__Gateway__V1__AddressChangeDeclaration a =
        MDV__GATEWAY__V1__ADDRESS_CHANGE_DECLARATION__INIT;
    Mdv__Gateway__V1__DeclarationSubmitted d = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__INIT;
    char err[256];
    b.deceased = &p;
    d.journey_id = JOURNEY;
    d.usager_id = "usager-1";
    d.kind = "bereavement";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_BEREAVEMENT;
    d.bereavement = &b;
    checked = 0;
    assert_int_equal(decode(&d, err, sizeof(err)), 1);
    assert_int_equal(checked, 1);

    d.usager_id = ""; /* the gateway always names the usager */
    assert_int_equal(decode(&d, err, sizeof(err)), -1);
    assert_string_equal(err, "bereavement declaration invalid: usager_id missing");
    d.usager_id = "usager-1";

    a.person = &p; /* another kind's body under the kind bereavement */
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_ADDRESS_CHANGE;
    d.address_change = &a;
    assert_int_equal(decode(&d, err, sizeof(err)), -1);
    assert_string_equal(err, "bereavement declaration invalid: the kind's body missing");

    d.kind = "address_change"; /* another owner's journey: ignored, not refused */
    checked = 0;
    assert_int_equal(decode(&d, err, sizeof(err)), 0);
    assert_int_equal(checked, 0);
}

static void test_a_confirmation_names_a_journey_a_usager_and_a_step(void **state)
{
    (void)state;
    Mdv__Gateway__V1__StepConfirmed c = MDV__GATEWAY__V1__STEP_CONFIRMED__INIT;
    Mdv__Gateway__V1__StepConfirmed *out = NULL;
    uint8_t buf[256];
    char err[256];
    c.journey_id = JOURNEY;
    c.usager_id = "usager-1";
    c.code = "bereavement.survivor_pension";
    size_t len = pack(&c.base, buf, sizeof(buf));
    assert_int_equal(mdv_gateway_confirmation_decode(buf, len, &out, err, sizeof(err)), 0);
    mdv__gateway__v1__step_confirmed__free_unpacked(out, NULL);
    c.code = "";
    len = pack(&c.base, buf, sizeof(buf));
    assert_int_equal(mdv_gateway_confirmation_decode(buf, len, &out, err, sizeof(err)), -1);
    assert_null(out);
    assert_string_equal(err, "StepConfirmed invalid: no journey id, usager or step");
}

static void test_a_death_gives_the_deceaseds_key_and_a_dead_letter_its_reason(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0xff, 0xff, 0xff};
    Mdv__Journey__V1__PivotIdentity p = person();
    Mdv__Bereavement__V1__DeathRecorded d = MDV__BEREAVEMENT__V1__DEATH_RECORDED__INIT;
    Mdv__Bereavement__V1__DeathRecorded *out = NULL;
    Mdv__Identity__V1__AddressChanged *a = NULL;
    char key[MDV_PIVOT_KEY_LEN], err[256];
    uint8_t buf[512];
    d.journey_id = JOURNEY;
    d.deceased = &p;
    d.death_date = "2026-11-20";
    size_t len = pack(&d.base, buf, sizeof(buf));
    assert_int_equal(mdv_bereavement_death_decode(buf, len, &out, key, err, sizeof(err)), 0);
    assert_string_equal(key, "MARTIN|JEANNE|F|1948-03-02|75056");
    mdv__bereavement__v1__death_recorded__free_unpacked(out, NULL);
    d.death_date = "2026-02-30";
    len = pack(&d.base, buf, sizeof(buf));
    assert_int_equal(mdv_bereavement_death_decode(buf, len, &out, key, err, sizeof(err)), -1);
    assert_string_equal(err, "DeathRecorded invalid: birth_date or death_date is not a date");
    assert_int_equal(mdv_bereavement_death_decode(junk, sizeof(junk), &out, key, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "value is not a DeathRecorded protobuf");
    assert_int_equal(
        mdv_identity_address_changed_decode(junk, sizeof(junk), &a, key, err, sizeof(err)), -1);
    assert_string_equal(err, "value is not an AddressChanged protobuf");
}

static void test_a_name_change_reads_the_same_in_every_administration(void **state)
{
    (void)state;
    Mdv__Journey__V1__PivotIdentity current = person();
    Mdv__Identity__V1__PersonNameChanged m = MDV__IDENTITY__V1__PERSON_NAME_CHANGED__INIT;
    struct {
        int birth;
        const char *family, *usage, *detail;
    } rows[] = {
        {1, "Dupont", "", "Nom mis à jour dans le dossier étudiant : Dupont"},
        {0, "Martin", "Durand", "Nom d'usage enregistré dans le dossier étudiant : Durand"},
        {0, "Martin", "", "Nom d'usage retiré du dossier étudiant"},
    };
    int failures = 0;
    m.current = &current;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        struct mdv_effect out = {MDV_STEP_NOT_APPLICABLE, ""};
        m.birth_name_changed = rows[i].birth;
        current.family_name = (char *)rows[i].family;
        m.usage_name = (char *)rows[i].usage;
        mdv_name_change_detail(&m, "le dossier étudiant", "du dossier étudiant", &out);
        if (out.status != MDV_STEP_DONE || strcmp(out.detail, rows[i].detail) != 0)
            ROW_FAILED(failures, "row %zu: %s", i, out.detail);
    }
    assert_int_equal(failures, 0);
}

static char *recipient_fields[] = {"journey_id", "family_name"};

static Mdv__Partner__V1__RecipientNotified recipient(void)
{
    Mdv__Partner__V1__RecipientNotified r = MDV__PARTNER__V1__RECIPIENT_NOTIFIED__INIT;
    r.journey_id = JOURNEY;
    r.partner = "cnav";
    r.administration = "Caisse nationale d'assurance vieillesse (CNAV)";
    r.step_code = "cnav.death_notified";
    r.n_fields = 2;
    r.fields = recipient_fields;
    r.legal_basis = "Code de la sécurité sociale, art. L353-1";
    r.basis = MDV__PARTNER__V1__RECIPIENT_BASIS__RECIPIENT_BASIS_MANDATORY;
    r.notified_at = "2026-11-23T14:49:45.871204Z";
    return r;
}

/* 0 accepted, -1 refused with err. */
static int decode_recipient(const Mdv__Partner__V1__RecipientNotified *r, char *err, size_t errlen)
{
    uint8_t buf[1024];
    Mdv__Partner__V1__RecipientNotified *out = NULL;
    size_t len = pack(&r->base, buf, sizeof(buf));
    int rc = mdv_partners_recipient_decode(buf, len, &out, err, errlen);
    assert_int_equal(rc == 0, out != NULL);
    mdv__partner__v1__recipient_notified__free_unpacked(out, NULL);
    return rc;
}

/* The i-th way a recipient can be wrong, for the table below. */
static void spoil(Mdv__Partner__V1__RecipientNotified *r, size_t i)
{
    static char *unnamed[] = {"journey_id", ""};
    switch (i) {
    case 0:
        r->journey_id = "not-a-uuid";
        break;
    case 1:
        r->step_code = "";
        break;
    case 2:
        r->n_fields = 0;
        break;
    case 3:
        r->fields = unnamed;
        break;
    case 4:
        r->legal_basis = "";
        break;
    case 5:
        r->basis = MDV__PARTNER__V1__RECIPIENT_BASIS__RECIPIENT_BASIS_UNSPECIFIED;
        break;
    default:
        r->notified_at = "";
        break;
    }
}

static void test_a_recipient_names_its_journey_partner_fields_basis_and_notice(void **state)
{
    (void)state;
    static const char *const why[] = {
        "journey_id is not a UUID",
        "partner, administration or step_code missing",
        "no field",
        "a field without a name",
        "legal_basis missing",
        "basis is neither mandatory nor chosen",
        "notified_at missing",
    };
    char err[256];
    Mdv__Partner__V1__RecipientNotified r = recipient();
    Mdv__Partner__V1__RecipientNotified *none = NULL;
    assert_int_equal(decode_recipient(&r, err, sizeof(err)), 0);
    r.acknowledged_at = "2026-11-23T14:49:46.903318Z";
    r.basis = MDV__PARTNER__V1__RECIPIENT_BASIS__RECIPIENT_BASIS_CHOSEN;
    assert_int_equal(decode_recipient(&r, err, sizeof(err)), 0);
    for (size_t i = 0; i < MDV_ARRAY_LEN(why); i++) {
        r = recipient();
        spoil(&r, i);
        assert_int_equal(decode_recipient(&r, err, sizeof(err)), -1);
        assert_non_null(strstr(err, why[i]));
    }
    assert_int_equal(mdv_partners_recipient_decode("\xff\xff", 2, &none, err, sizeof(err)), -1);
    assert_null(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_owner_gets_its_kinds_with_their_body_and_a_usager),
        cmocka_unit_test(test_a_confirmation_names_a_journey_a_usager_and_a_step),
        cmocka_unit_test(test_a_death_gives_the_deceaseds_key_and_a_dead_letter_its_reason),
        cmocka_unit_test(test_a_name_change_reads_the_same_in_every_administration),
        cmocka_unit_test(test_a_recipient_names_its_journey_partner_fields_basis_and_notice),
    };
    return cmocka_run_group_tests_name("contracts", tests, NULL, NULL);
}
