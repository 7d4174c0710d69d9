/* Unit tests of identity's and abroad's contracts
 * (services/identity/contract.c, services/abroad/contract.c) on the checks
 * of shared/reaction.c: what student, housing and bereavement run on those
 * events before they touch their databases. What passes holds a matchable
 * person and an address of the right side of the border; anything else is
 * a dead letter, with its reason. */
#include "unit.h"

#include <locale.h>
#include <sys/stat.h>

#include "abroad/contract.h"
#include "identity/contract.h"
#include "mdv/reaction.h"

#define JOURNEY "7d0c8f4e-5b7a-4c1e-9a51-3f1a2b6c9d10"

static char *given[] = {"Jeanne", "Marie"};
static char *lines[] = {"12 rue des Lilas"};

static int set_utf8_locale(void **state)
{
    (void)state;
    return setlocale(LC_CTYPE, "C.UTF-8") ? 0 : -1;
}

static Mdv__Journey__V1__PivotIdentity person(const char *family_name)
{
    Mdv__Journey__V1__PivotIdentity p = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    p.family_name = (char *)family_name;
    p.n_given_names = 2;
    p.given_names = given;
    p.sex = "F";
    p.birth_date = "1988-05-17";
    p.birth_place = "75056";
    return p;
}

static Mdv__Journey__V1__Address france(void)
{
    Mdv__Journey__V1__Address a = MDV__JOURNEY__V1__ADDRESS__INIT;
    a.n_lines = 1;
    a.lines = lines;
    a.postal_code = "75011";
    a.commune_code = "75056";
    a.city = "Paris";
    return a;
}

/* Packs m into buf; returns its length. */
static size_t pack(const ProtobufCMessage *m, uint8_t *buf, size_t size)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    assert_true(len <= size);
    return protobuf_c_message_pack(m, buf);
}

enum breakage {
    NONE,
    BAD_JOURNEY,
    NO_PERSON,
    BAD_BIRTH_DATE,
    ABROAD_ADDRESS,
    BAD_POSTCODE,
    NO_CITY,
    NO_LINE,
    BAD_DATE
};

static int address_changed_accepted(enum breakage b, char *err, size_t errlen)
{
    Mdv__Journey__V1__PivotIdentity p = person("Martin");
    Mdv__Journey__V1__Address a = france();
    Mdv__Identity__V1__AddressChanged m = MDV__IDENTITY__V1__ADDRESS_CHANGED__INIT;
    Mdv__Identity__V1__AddressChanged *out = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    uint8_t buf[1024];
    m.journey_id = b == BAD_JOURNEY ? "not-a-uuid" : JOURNEY;
    m.person = b == NO_PERSON ? NULL : &p;
    p.birth_date = b == BAD_BIRTH_DATE ? "1988-02-30" : p.birth_date;
    a.commune_code = b == ABROAD_ADDRESS ? "" : a.commune_code;
    a.country_code = b == ABROAD_ADDRESS ? "99401" : a.country_code;
    a.postal_code = b == BAD_POSTCODE ? "H2X 1Y4" : a.postal_code;
    a.city = b == NO_CITY ? "" : a.city;
    a.n_lines = b == NO_LINE ? 0 : a.n_lines;
    m.address = &a;
    m.effective_date = b == BAD_DATE ? "2026-13-01" : "2026-12-01";
    size_t len = pack(&m.base, buf, sizeof(buf));
    err[0] = '\0';
    int rc = mdv_identity_address_changed_decode(buf, len, &out, key, err, errlen);
    if (rc == 0) {
        assert_string_equal(key, "MARTIN|JEANNE|F|1988-05-17|75056");
        mdv__identity__v1__address_changed__free_unpacked(out, NULL);
    } else {
        assert_null(out);
    }
    return rc == 0;
}

static void test_address_changed_is_accepted_only_whole_and_in_france(void **state)
{
    (void)state;
    static const struct {
        enum breakage b;
        const char *reason; /* in err when refused, NULL when accepted */
    } rows[] = {
        {NONE, NULL},
        {BAD_JOURNEY, "journey_id"},
        {NO_PERSON, "person"},
        {BAD_BIRTH_DATE, "person identity invalid"},
        {ABROAD_ADDRESS, "address.commune_code"},
        {BAD_POSTCODE, "address.postal_code"},
        {NO_CITY, "address.city"},
        {NO_LINE, "address.lines"},
        {BAD_DATE, "effective_date"},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char err[256];
        int accepted = address_changed_accepted(rows[i].b, err, sizeof(err));
        if (accepted != (rows[i].reason == NULL) ||
            (rows[i].reason && !strstr(err, rows[i].reason)))
            ROW_FAILED(failures, "row %zu: accepted=%d err=\"%s\", expected %s", i, accepted, err,
                       rows[i].reason ? rows[i].reason : "accepted");
    }
    assert_int_equal(failures, 0);
}

static void test_undecodable_bytes_are_refused_with_a_reason(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    char key[MDV_PIVOT_KEY_LEN], previous[MDV_PIVOT_KEY_LEN], current[MDV_PIVOT_KEY_LEN], err[256];
    Mdv__Identity__V1__AddressChanged *a = NULL;
    Mdv__Identity__V1__PersonNameChanged *n = NULL;
    Mdv__Abroad__V1__ResidenceAbroadStarted *s = NULL;
    Mdv__Abroad__V1__ResidenceAbroadEnded *e = NULL;
    Mdv__Journey__V1__JourneyPlanned *p = NULL;
    err[0] = '\0';
    assert_int_equal(
        mdv_identity_address_changed_decode(junk, sizeof(junk), &a, key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an AddressChanged"));
    assert_int_equal(mdv_identity_name_changed_decode(junk, sizeof(junk), &n, previous, current,
                                                      err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "not a PersonNameChanged"));
    assert_int_equal(mdv_abroad_started_decode(junk, sizeof(junk), &s, key, err, sizeof(err)), -1);
    assert_int_equal(mdv_abroad_ended_decode(junk, sizeof(junk), &e, key, err, sizeof(err)), -1);
    assert_int_equal(mdv_reaction_plan_decode(junk, sizeof(junk), &p, err, sizeof(err)), -1);
    assert_true(!a && !n && !s && !e && !p);
}

static int name_changed(const char *previous_name, const char *current_name, int birth,
                        char previous[MDV_PIVOT_KEY_LEN], char current[MDV_PIVOT_KEY_LEN])
{
    Mdv__Journey__V1__PivotIdentity p = person(previous_name), c = person(current_name);
    Mdv__Identity__V1__PersonNameChanged m = MDV__IDENTITY__V1__PERSON_NAME_CHANGED__INIT;
    Mdv__Identity__V1__PersonNameChanged *out = NULL;
    uint8_t buf[1024];
    char err[256];
    m.journey_id = JOURNEY;
    m.previous = &p;
    m.current = &c;
    m.usage_name = birth ? "" : "Durand";
    m.birth_name_changed = birth;
    m.effective_date = "2026-11-20";
    size_t len = pack(&m.base, buf, sizeof(buf));
    int rc = mdv_identity_name_changed_decode(buf, len, &out, previous, current, err, sizeof(err));
    mdv__identity__v1__person_name_changed__free_unpacked(out, NULL);
    return rc;
}

static void test_a_nom_de_naissance_gives_both_keys_a_nom_d_usage_keeps_the_key(void **state)
{
    (void)state;
    char previous[MDV_PIVOT_KEY_LEN], current[MDV_PIVOT_KEY_LEN];
    assert_int_equal(name_changed("Martin", "Dupont", 1, previous, current), 0);
    assert_string_equal(previous, "MARTIN|JEANNE|F|1988-05-17|75056");
    assert_string_equal(current, "DUPONT|JEANNE|F|1988-05-17|75056");
    assert_int_equal(name_changed("Martin", "Martin", 0, previous, current), 0);
    assert_string_equal(previous, current);
    /* A nom d'usage must not move the matching key. */
    assert_int_equal(name_changed("Martin", "Dupont", 0, previous, current), -1);
}

/* A PersonNameChanged whose current identity is previous with one field
 * changed by change. */
static int name_changed_with(void (*change)(Mdv__Journey__V1__PivotIdentity *), int birth,
                             char *err, size_t errlen)
{
    Mdv__Journey__V1__PivotIdentity p = person("Martin"), c = person("Martin");
    Mdv__Identity__V1__PersonNameChanged m = MDV__IDENTITY__V1__PERSON_NAME_CHANGED__INIT;
    Mdv__Identity__V1__PersonNameChanged *out = NULL;
    char previous[MDV_PIVOT_KEY_LEN], current[MDV_PIVOT_KEY_LEN];
    uint8_t buf[1024];
    change(&c);
    m.journey_id = JOURNEY;
    m.previous = &p;
    m.current = &c;
    m.birth_name_changed = birth;
    m.effective_date = "2026-11-20";
    size_t len = pack(&m.base, buf, sizeof(buf));
    int rc = mdv_identity_name_changed_decode(buf, len, &out, previous, current, err, errlen);
    mdv__identity__v1__person_name_changed__free_unpacked(out, NULL);
    return rc;
}

static void born_elsewhere(Mdv__Journey__V1__PivotIdentity *c)
{
    c->birth_date = "1991-03-02";
}

static void upper_case(Mdv__Journey__V1__PivotIdentity *c)
{
    c->family_name = "MARTIN"; /* the same matching key, another spelling */
}

static void test_a_name_change_names_one_person_and_only_a_birth_name_changes_it(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(name_changed_with(born_elsewhere, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not the same person"));
    assert_int_equal(name_changed_with(upper_case, 1, err, sizeof(err)), 0);
    assert_int_equal(name_changed_with(upper_case, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "birth_name_changed is false"));
}

/* An AddressChanged of person p at address a: 0 or -1, err says why. */
static int address_changed_of(Mdv__Journey__V1__PivotIdentity *p, Mdv__Journey__V1__Address *a,
                              char *err, size_t errlen)
{
    Mdv__Identity__V1__AddressChanged m = MDV__IDENTITY__V1__ADDRESS_CHANGED__INIT;
    Mdv__Identity__V1__AddressChanged *out = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    uint8_t buf[1024];
    m.journey_id = JOURNEY;
    m.person = p;
    m.address = a;
    m.effective_date = "2026-12-01";
    size_t len = pack(&m.base, buf, sizeof(buf));
    int rc = mdv_identity_address_changed_decode(buf, len, &out, key, err, errlen);
    mdv__identity__v1__address_changed__free_unpacked(out, NULL);
    return rc;
}

static void test_every_given_name_and_no_control_character_is_checked(void **state)
{
    (void)state;
    static char *bad_second[] = {"Jeanne", "M4rie"};
    static char *tab_line[] = {"12\true des Lilas"};
    Mdv__Journey__V1__PivotIdentity p = person("Martin");
    Mdv__Journey__V1__Address a = france();
    char err[256];
    p.given_names = bad_second; /* the registers store every given name */
    assert_int_equal(address_changed_of(&p, &a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "person.given_names invalid"));
    p = person("Martin");
    a.lines = tab_line; /* the gateway lets no control character through */
    assert_int_equal(address_changed_of(&p, &a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "address.lines"));
}

static void test_an_address_abroad_names_no_commune(void **state)
{
    (void)state;
    static char *abroad_lines[] = {"1234 rue Saint-Denis"};
    Mdv__Journey__V1__PivotIdentity p = person("Martin");
    Mdv__Journey__V1__Address ca = MDV__JOURNEY__V1__ADDRESS__INIT;
    Mdv__Abroad__V1__ResidenceAbroadStarted s = MDV__ABROAD__V1__RESIDENCE_ABROAD_STARTED__INIT;
    Mdv__Abroad__V1__ResidenceAbroadStarted *out = NULL;
    char key[MDV_PIVOT_KEY_LEN], err[256];
    uint8_t buf[1024];
    ca.n_lines = 1;
    ca.lines = abroad_lines;
    ca.city = "Montréal";
    ca.country_code = "99401";
    ca.commune_code = "75056";
    s.journey_id = JOURNEY;
    s.person = &p;
    s.address = &ca;
    s.start_date = "2026-09-01";
    size_t len = pack(&s.base, buf, sizeof(buf));
    assert_int_equal(mdv_abroad_started_decode(buf, len, &out, key, err, sizeof(err)), -1);
    assert_null(out);
    assert_non_null(strstr(err, "commune_code set abroad"));
}

static void test_a_residence_abroad_starts_abroad_and_ends_in_france(void **state)
{
    (void)state;
    static char *abroad_lines[] = {"1234 rue Saint-Denis"};
    Mdv__Journey__V1__PivotIdentity p = person("Martin");
    Mdv__Journey__V1__Address fr = france(), ca = MDV__JOURNEY__V1__ADDRESS__INIT;
    Mdv__Abroad__V1__ResidenceAbroadStarted s = MDV__ABROAD__V1__RESIDENCE_ABROAD_STARTED__INIT;
    Mdv__Abroad__V1__ResidenceAbroadEnded e = MDV__ABROAD__V1__RESIDENCE_ABROAD_ENDED__INIT;
    Mdv__Abroad__V1__ResidenceAbroadStarted *s_out = NULL;
    Mdv__Abroad__V1__ResidenceAbroadEnded *e_out = NULL;
    char key[MDV_PIVOT_KEY_LEN], err[256];
    uint8_t buf[1024];
    ca.n_lines = 1;
    ca.lines = abroad_lines;
    ca.postal_code = "H2X 1Y4";
    ca.city = "Montréal";
    ca.country_code = "99401";
    s.journey_id = e.journey_id = JOURNEY;
    s.person = e.person = &p;
    s.start_date = e.end_date = "2026-09-01";
    struct {
        Mdv__Journey__V1__Address *address;
        int started_ok, ended_ok;
    } rows[] = {{&ca, 1, 0}, {&fr, 0, 1}};
    int failures = 0;
    for (size_t i = 0; i < 2; i++) {
        s.address = e.address = rows[i].address;
        size_t len = pack(&s.base, buf, sizeof(buf));
        int started = mdv_abroad_started_decode(buf, len, &s_out, key, err, sizeof(err));
        len = pack(&e.base, buf, sizeof(buf));
        int ended = mdv_abroad_ended_decode(buf, len, &e_out, key, err, sizeof(err));
        if ((started == 0) != rows[i].started_ok || (ended == 0) != rows[i].ended_ok)
            ROW_FAILED(failures, "row %zu: started %d, ended %d", i, started, ended);
        mdv__abroad__v1__residence_abroad_started__free_unpacked(s_out, NULL);
        mdv__abroad__v1__residence_abroad_ended__free_unpacked(e_out, NULL);
        s_out = NULL;
        e_out = NULL;
    }
    assert_int_equal(failures, 0);
}

static void test_clip_never_cuts_a_character(void **state)
{
    (void)state;
    char out[4];
    mdv_reaction_clip(out, sizeof(out), "AÉÉ"); /* A, then two 2-byte letters */
    assert_string_equal(out, "AÉ");
    mdv_reaction_clip(out, sizeof(out), "ÉÉ");
    assert_string_equal(out, "É");
    mdv_reaction_clip(out, sizeof(out), "AB");
    assert_string_equal(out, "AB");
}

/* The steps a service may add (rules/steps_added.json): each reacting
 * service's file loads; a file without the "added" plan is refused, so a
 * service with a wrong file does not start. */
static void test_added_steps_load_only_with_the_added_plan(void **state)
{
    (void)state;
    static const char *const services[] = {"student", "housing", "bereavement"};
    struct mdv_service svc;
    memset(&svc, 0, sizeof(svc));
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        char *dir = mdv_xasprintf("%s/%s", MDV_TEST_SERVICES, services[i]);
        svc.config.data_dir = dir;
        assert_int_equal(mdv_reaction_added_load(&svc), 0);
        mdv_reaction_added_free();
        free(dir);
    }

    char dir[] = "/tmp/mdv-added-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *rules = mdv_xasprintf("%s/rules", dir),
         *file = mdv_xasprintf("%s/steps_added.json", rules);
    assert_int_equal(mkdir(rules, 0700), 0);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("{\"year\": 2026, \"source\": \"test\", \"plans\": [{\"kind\": \"other\", \"steps\":"
          " [{\"code\": \"x.y\", \"owner\": \"x\", \"administration\": \"A\", \"label\": \"L\","
          " \"due_days\": 1, \"source\": \"s\"}]}]}",
          f);
    fclose(f);
    svc.config.data_dir = dir;
    struct capture c;
    capture_start(&c);
    int rc = mdv_reaction_added_load(&svc);
    char *said = capture_end(&c);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(said, "no plan of kind \"added\""));
    free(said);
    mdv_reaction_added_free();
    unlink(file);
    rmdir(rules);
    rmdir(dir);
    free(file);
    free(rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_changed_is_accepted_only_whole_and_in_france),
        cmocka_unit_test(test_undecodable_bytes_are_refused_with_a_reason),
        cmocka_unit_test(test_a_nom_de_naissance_gives_both_keys_a_nom_d_usage_keeps_the_key),
        cmocka_unit_test(test_a_residence_abroad_starts_abroad_and_ends_in_france),
        cmocka_unit_test(test_a_name_change_names_one_person_and_only_a_birth_name_changes_it),
        cmocka_unit_test(test_every_given_name_and_no_control_character_is_checked),
        cmocka_unit_test(test_an_address_abroad_names_no_commune),
        cmocka_unit_test(test_clip_never_cuts_a_character),
        cmocka_unit_test(test_added_steps_load_only_with_the_added_plan),
    };
    return cmocka_run_group_tests_name("reaction", tests, set_utf8_locale, NULL);
}
