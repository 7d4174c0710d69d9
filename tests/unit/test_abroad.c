/* Unit tests of the abroad service's checks and rules, without a server:
 * the consular post of a residence (rules/consulates.json as shipped),
 * French dates, and the decoders that turn a bad message into a dead
 * letter. */
#include "unit.h"

#include <locale.h>

#include "../../services/abroad/abroad.h"
#include "mdv/plan.h"

#define JOURNEY "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7"

static struct abroad_consulates *posts;

static int setup(void **state)
{
    (void)state;
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        return -1;
    posts = abroad_consulates_load(MDV_TEST_ABROAD_RULES "/consulates.json");
    return posts ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    abroad_consulates_free(posts);
    return 0;
}

struct post_row {
    const char *country, *city, *post;
};

static void test_post_is_the_citys_consulate_then_the_countrys_then_the_embassy(void **state)
{
    static const struct post_row rows[] = {
        {"99401", "Montréal", "Consulat général de France à Montréal"},
        {"99401", "TORONTO", "Consulat général de France à Toronto"},
        {"99401", "Saskatoon", "Consulat général de France à Montréal"},
        {"99401", NULL, "Consulat général de France à Montréal"},
        {"99109", "München", "Consulat général de France à Munich"},
        {"99109", "Berlin", "Ambassade de France en Allemagne"},
        {"99217", "Tokyo", "Ambassade de France au Japon"},
        {"99404", "new york", "Consulat général de France à New York"},
        {"99404", "San Francisco", "Consulat général de France à San Francisco"},
        {"99135", "Utrecht", "Consulat général de France à Amsterdam"},
        {"99436", "Nassau", "Ambassade de France aux Bahamas"},
        {"99129", "Vatican", "Ambassade de France près le Saint-Siège"},
        /* A territory is in the charge of its state's post. */
        {"99425", "Hamilton", "Consulat général de France à Londres"},
        {"99230", "Hong Kong", "Consulat général de France à Hong Kong et Macao"},
        /* A code the file lacks (ended, say): the embassy, unnamed. */
        {"99115", "Prague", "Ambassade de France"},
    };
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char *post = abroad_consulate(posts, rows[i].country, rows[i].city);
        if (strcmp(post, rows[i].post) != 0)
            ROW_FAILED(failures, "%s %s: expected « %s », got « %s »", rows[i].country,
                       rows[i].city ? rows[i].city : "(no city)", rows[i].post, post);
        free(post);
    }
    assert_int_equal(failures, 0);
}

static void test_country_names_come_from_the_file(void **state)
{
    (void)state;
    assert_string_equal(abroad_country_name(posts, "99401"), "Canada");
    assert_string_equal(abroad_country_name(posts, "99404"), "États-Unis");
    assert_string_equal(abroad_country_name(posts, "99115"), "99115");
}

static void test_a_country_with_neither_in_nor_parent_is_refused(void **state)
{
    char path[] = "/tmp/mdv-consulates-XXXXXX";
    int fd = mkstemp(path);
    static const char text[] = "{\"year\": 2026, \"source\": \"test\", \"countries\": {\"99401\": "
                               "{\"name\": \"Canada\"}}}";
    struct capture c;
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    capture_start(&c);
    struct abroad_consulates *bad = abroad_consulates_load(path);
    char *said = capture_end(&c);
    unlink(path);
    assert_null(bad);
    assert_non_null(strstr(said, "countries.99401"));
    free(said);
}

static void test_plans_of_both_journeys_load(void **state)
{
    (void)state;
    struct mdv_plans *plans = mdv_plans_load(MDV_TEST_ABROAD_RULES "/plans.json");
    assert_non_null(plans);
    const struct mdv_plan *departure = mdv_plans_find(plans, "departure_abroad");
    const struct mdv_plan *back = mdv_plans_find(plans, "return_to_france");
    assert_non_null(departure);
    assert_non_null(back);
    assert_non_null(mdv_plan_step(departure, ABROAD_STEP_OPENED));
    assert_non_null(mdv_plan_step(back, ABROAD_STEP_CLOSED));
    assert_int_equal(departure->count, 4);
    assert_int_equal(back->count, 4);
    mdv_plans_free(plans);
}

static void test_dates_read_as_french_writes_them(void **state)
{
    char out[ABROAD_DATE_LEN];
    (void)state;
    abroad_date_french("2026-12-01", out);
    assert_string_equal(out, "1er décembre 2026");
    abroad_date_french("2027-02-14", out);
    assert_string_equal(out, "14 février 2027");
    abroad_date_french("2026-08-31", out);
    assert_string_equal(out, "31 août 2026");
    abroad_date_french("2026-02-30", out);
    assert_string_equal(out, "2026-02-30");
}

/* Messages: a valid one of each kind, then changed one field at a time. */
static char *given[] = {"Jeanne", "Marie"};
static char *lines[] = {"1200 rue Sherbrooke Ouest"};

static void person(Mdv__Journey__V1__PivotIdentity *p)
{
    mdv__journey__v1__pivot_identity__init(p);
    p->family_name = "Martin";
    p->n_given_names = 2;
    p->given_names = given;
    p->sex = "F";
    p->birth_date = "1990-03-02";
    p->birth_place = "75056";
}

static void address_abroad(Mdv__Journey__V1__Address *a)
{
    mdv__journey__v1__address__init(a);
    a->n_lines = 1;
    a->lines = lines;
    a->city = "Montréal";
    a->postal_code = "H3A 1G1";
    a->country_code = "99401";
}

static void address_france(Mdv__Journey__V1__Address *a)
{
    mdv__journey__v1__address__init(a);
    a->n_lines = 1;
    a->lines = lines;
    a->postal_code = "75011";
    a->commune_code = "75056";
    a->city = "Paris";
}

/* Packs m and decodes it as a declaration: 1 accepted for abroad, 0 not
 * abroad's kind, -1 refused (with a reason). */
static int decode_declaration(const ProtobufCMessage *m)
{
    uint8_t buf[2048];
    size_t len = protobuf_c_message_pack(m, buf);
    abroad_declaration_t *d = NULL;
    char err[256] = "";
    int rc = abroad_declaration_decode(buf, len, &d, err, sizeof(err));
    if (rc != 0) {
        assert_null(d);
        assert_true(*err);
        return -1;
    }
    int accepted = d != NULL;
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
    return accepted;
}

static void test_departure_declarations_are_checked(void **state)
{
    Mdv__Journey__V1__PivotIdentity p;
    Mdv__Journey__V1__Address a;
    Mdv__Gateway__V1__DepartureAbroadDeclaration b =
        MDV__GATEWAY__V1__DEPARTURE_ABROAD_DECLARATION__INIT;
    Mdv__Gateway__V1__DeclarationSubmitted d = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__INIT;
    char bad_utf8[] = "rue \xC3(";
    char past_unicode[] = "3\xF5\x8F\x93\x9E rue du Marché";
    char surrogate[] = "rue \xED\xA0\x80";
    (void)state;
    person(&p);
    address_abroad(&a);
    b.person = &p;
    b.address = &a;
    b.departure_date = "2026-11-15";
    b.consular_registration = 1;
    d.journey_id = JOURNEY;
    d.usager_id = "usager-1";
    d.kind = "departure_abroad";
    d.submitted_at = "2026-11-15T10:00:00Z";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_DEPARTURE_ABROAD;
    d.departure_abroad = &b;
    assert_int_equal(decode_declaration(&d.base), 1);

    a.country_code = "99100"; /* France is not abroad */
    assert_int_equal(decode_declaration(&d.base), -1);
    a.country_code = "75056";
    assert_int_equal(decode_declaration(&d.base), -1);
    a.country_code = "99401";
    a.city = "";
    assert_int_equal(decode_declaration(&d.base), -1);
    a.city = "Montréal";
    lines[0] = bad_utf8;
    assert_int_equal(decode_declaration(&d.base), -1);
    lines[0] = past_unicode; /* decodes in glibc, but is no Unicode */
    assert_int_equal(decode_declaration(&d.base), -1);
    lines[0] = surrogate;
    assert_int_equal(decode_declaration(&d.base), -1);
    lines[0] = "1200 rue Sherbrooke Ouest";
    b.departure_date = "2026-02-30";
    assert_int_equal(decode_declaration(&d.base), -1);
    b.departure_date = "2026-11-15";
    given[1] = "O'Neil\\";
    assert_int_equal(decode_declaration(&d.base), -1);
    given[1] = "Marie";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY__NOT_SET;
    assert_int_equal(decode_declaration(&d.base), -1);
    d.kind = "bereavement"; /* not ours: ignored, not refused */
    assert_int_equal(decode_declaration(&d.base), 0);
}

static void test_return_declarations_want_an_address_in_france(void **state)
{
    Mdv__Journey__V1__PivotIdentity p;
    Mdv__Journey__V1__Address a;
    Mdv__Gateway__V1__ReturnToFranceDeclaration b =
        MDV__GATEWAY__V1__RETURN_TO_FRANCE_DECLARATION__INIT;
    Mdv__Gateway__V1__DeclarationSubmitted d = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__INIT;
    (void)state;
    person(&p);
    address_france(&a);
    b.person = &p;
    b.address = &a;
    b.return_date = "2026-11-15";
    d.journey_id = JOURNEY;
    d.usager_id = "usager-1";
    d.kind = "return_to_france";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RETURN_TO_FRANCE;
    d.return_to_france = &b;
    assert_int_equal(decode_declaration(&d.base), 1);
    /* The gateway fills it from the COG; the ResidenceAbroadEnded this
     * address goes into needs it (abroad's contract). */
    a.city = "";
    assert_int_equal(decode_declaration(&d.base), -1);
    a.city = "Paris";
    a.country_code = "99401";
    assert_int_equal(decode_declaration(&d.base), -1);
    a.country_code = "";
    a.commune_code = "99401";
    assert_int_equal(decode_declaration(&d.base), -1);
    a.commune_code = "75056";
    a.postal_code = "7501";
    assert_int_equal(decode_declaration(&d.base), -1);
    a.postal_code = "75011";
    d.journey_id = "not-a-uuid";
    assert_int_equal(decode_declaration(&d.base), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_is_the_citys_consulate_then_the_countrys_then_the_embassy),
        cmocka_unit_test(test_country_names_come_from_the_file),
        cmocka_unit_test(test_a_country_with_neither_in_nor_parent_is_refused),
        cmocka_unit_test(test_plans_of_both_journeys_load),
        cmocka_unit_test(test_dates_read_as_french_writes_them),
        cmocka_unit_test(test_departure_declarations_are_checked),
        cmocka_unit_test(test_return_declarations_want_an_address_in_france),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
