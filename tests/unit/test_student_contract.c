/* Unit tests of student's contract (services/student/contract.c): what
 * identity accepts of a StudentGrantRequested, and what a consumer accepts
 * of a StudentGrantDecided; anything else is a dead letter, with a
 * reason. */
#include "unit.h"

#include <locale.h>

#include "../../services/student/contract.h"

#define JOURNEY "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7"
#define OTHER "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static char *given[] = {"Léa"};

static Mdv__Journey__V1__PivotIdentity student(void)
{
    Mdv__Journey__V1__PivotIdentity p = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    p.family_name = "PETIT";
    p.n_given_names = 1;
    p.given_names = given;
    p.sex = "F";
    p.birth_date = "2006-05-14";
    p.birth_place = "69123";
    return p;
}

/* Packs m into buf; returns its length. */
static size_t pack(const ProtobufCMessage *m, uint8_t *buf, size_t cap)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    assert_true(n <= cap);
    return protobuf_c_message_pack(m, buf);
}

static int decode_requested(const char *journey, const char *year)
{
    Mdv__Journey__V1__PivotIdentity p = student();
    Mdv__Student__V1__StudentGrantRequested m = MDV__STUDENT__V1__STUDENT_GRANT_REQUESTED__INIT;
    Mdv__Student__V1__StudentGrantRequested *out = NULL;
    uint8_t buf[512];
    char key[MDV_PIVOT_KEY_LEN], err[256] = "";
    m.journey_id = (char *)journey;
    m.person = &p;
    m.academic_year = (char *)year;
    size_t n = pack(&m.base, buf, sizeof(buf));
    int rc = mdv_student_grant_requested_decode(buf, n, &out, key, err, sizeof(err));
    if (rc == 0) {
        assert_string_equal(out->academic_year, year);
        assert_non_null(strstr(key, "PETIT"));
        mdv__student__v1__student_grant_requested__free_unpacked(out, NULL);
    } else {
        assert_null(out);
        assert_non_null(strstr(err, "StudentGrantRequested"));
    }
    return rc;
}

static void test_a_request_names_a_journey_a_student_and_an_academic_year(void **state)
{
    (void)state;
    assert_int_equal(decode_requested(JOURNEY, "2025-2026"), 0);
    assert_int_equal(decode_requested("not-a-uuid", "2025-2026"), -1);
    assert_int_equal(decode_requested(JOURNEY, "2025-2027"), -1);
    assert_int_equal(decode_requested(JOURNEY, "2025"), -1);
    assert_int_equal(decode_requested(JOURNEY, ""), -1);
}

static void test_bytes_that_are_no_message_are_refused_with_a_reason(void **state)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01};
    Mdv__Student__V1__StudentGrantRequested *r = NULL;
    Mdv__Student__V1__StudentGrantDecided *d = NULL;
    char key[MDV_PIVOT_KEY_LEN], err[256] = "";
    (void)state;
    assert_int_equal(
        mdv_student_grant_requested_decode(junk, sizeof(junk), &r, key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "protobuf"));
    assert_int_equal(
        mdv_student_grant_decided_decode(junk, sizeof(junk), &d, key, err, sizeof(err)), -1);
    assert_null(r);
    assert_null(d);
}

struct decided_row {
    const char *echelon;
    unsigned amount;
    const char *reason, *grant;
    int rc;
};

static void test_a_decision_has_an_echelon_with_its_amount_or_none_and_a_known_reason(void **state)
{
    static const struct decided_row rows[] = {
        {"4", 4587, "initial", JOURNEY, 0}, {"0bis", 1754, "parent_death", OTHER, 0},
        {"", 0, "initial", JOURNEY, 0},     {"4", 0, "initial", JOURNEY, -1},
        {"", 300, "initial", JOURNEY, -1},  {"8", 7000, "initial", JOURNEY, -1},
        {"7", 6335, "appeal", JOURNEY, -1}, {"7", 6335, "initial", "x", -1},
    };
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        Mdv__Journey__V1__PivotIdentity p = student();
        Mdv__Student__V1__StudentGrantDecided m = MDV__STUDENT__V1__STUDENT_GRANT_DECIDED__INIT;
        Mdv__Student__V1__StudentGrantDecided *out = NULL;
        uint8_t buf[512];
        char key[MDV_PIVOT_KEY_LEN], err[256] = "";
        m.journey_id = JOURNEY;
        m.person = &p;
        m.academic_year = "2025-2026";
        m.echelon = (char *)rows[i].echelon;
        m.annual_amount_eur = rows[i].amount;
        m.reason = (char *)rows[i].reason;
        m.grant_journey_id = (char *)rows[i].grant;
        size_t n = pack(&m.base, buf, sizeof(buf));
        int rc = mdv_student_grant_decided_decode(buf, n, &out, key, err, sizeof(err));
        mdv__student__v1__student_grant_decided__free_unpacked(out, NULL);
        if (rc != rows[i].rc)
            ROW_FAILED(failures, "row %zu (%s, %u €, %s): rc %d, expected %d (%s)", i,
                       rows[i].echelon, rows[i].amount, rows[i].reason, rc, rows[i].rc, err);
    }
    assert_int_equal(failures, 0);
}

/* Names are checked as UTF-8 letters. */
static int setup(void **state)
{
    (void)state;
    return setlocale(LC_CTYPE, "C.UTF-8") ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_request_names_a_journey_a_student_and_an_academic_year),
        cmocka_unit_test(test_bytes_that_are_no_message_are_refused_with_a_reason),
        cmocka_unit_test(test_a_decision_has_an_echelon_with_its_amount_or_none_and_a_known_reason),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
