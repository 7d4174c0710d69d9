/* Unit tests of shared/webhook.c: Standard Webhooks signatures against the
 * specification's own example, verification of one signature among
 * several (a rotation), and the secrets made and accepted. */
#include "unit.h"

#include "mdv/webhook.h"

/* The example of the Standard Webhooks specification and its libraries'
 * tests: this secret, id, timestamp and body sign to this. */
#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TIMESTAMP 1614265330LL
#define SPEC_BODY "{\"test\": 2432232314}"
#define SPEC_SIGNATURE "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void test_sign_gives_the_specification_example(void **state)
{
    char sig[MDV_WEBHOOK_SIGNATURE_LEN];
    (void)state;
    assert_int_equal(
        mdv_webhook_sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, strlen(SPEC_BODY), sig),
        0);
    assert_string_equal(sig, SPEC_SIGNATURE);
}

static void test_verify_finds_the_signature_among_several(void **state)
{
    const char *body = SPEC_BODY;
    size_t len = strlen(body);
    (void)state;
    assert_true(
        mdv_webhook_verify(SPEC_SECRET, SPEC_SIGNATURE, SPEC_ID, SPEC_TIMESTAMP, body, len));
    assert_true(mdv_webhook_verify(SPEC_SECRET, "v1,AAAA " SPEC_SIGNATURE, SPEC_ID, SPEC_TIMESTAMP,
                                   body, len));
    assert_true(mdv_webhook_verify(SPEC_SECRET, SPEC_SIGNATURE " v1,AAAA", SPEC_ID, SPEC_TIMESTAMP,
                                   body, len));
    /* Anything else changed: refused. */
    assert_false(
        mdv_webhook_verify(SPEC_SECRET, SPEC_SIGNATURE, SPEC_ID, SPEC_TIMESTAMP + 1, body, len));
    assert_false(
        mdv_webhook_verify(SPEC_SECRET, SPEC_SIGNATURE, "msg_other", SPEC_TIMESTAMP, body, len));
    assert_false(
        mdv_webhook_verify(SPEC_SECRET, SPEC_SIGNATURE, SPEC_ID, SPEC_TIMESTAMP, body, len - 1));
    assert_false(mdv_webhook_verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx", SPEC_SIGNATURE,
                                    SPEC_ID, SPEC_TIMESTAMP, body, len));
    assert_false(
        mdv_webhook_verify(SPEC_SECRET, "v1,g0hM9SsE", SPEC_ID, SPEC_TIMESTAMP, body, len));
    assert_false(mdv_webhook_verify(SPEC_SECRET, "", SPEC_ID, SPEC_TIMESTAMP, body, len));
    assert_false(mdv_webhook_verify(SPEC_SECRET, NULL, SPEC_ID, SPEC_TIMESTAMP, body, len));
}

static void test_new_secrets_are_valid_and_differ(void **state)
{
    char a[MDV_WEBHOOK_SECRET_LEN], b[MDV_WEBHOOK_SECRET_LEN];
    char sig[MDV_WEBHOOK_SIGNATURE_LEN];
    (void)state;
    assert_int_equal(mdv_webhook_secret_new(a), 0);
    assert_int_equal(mdv_webhook_secret_new(b), 0);
    assert_true(mdv_webhook_secret_valid(a));
    assert_string_not_equal(a, b);
    assert_int_equal(strncmp(a, "whsec_", 6), 0);
    assert_int_equal(mdv_webhook_sign(a, "id", 1, "x", 1, sig), 0);
    assert_true(mdv_webhook_verify(a, sig, "id", 1, "x", 1));
    assert_false(mdv_webhook_verify(b, sig, "id", 1, "x", 1));
}

static void test_malformed_secrets_are_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "whsec_",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8G",
        "whsec_not base64!!!",
        "whsec_AAAAAAAA", /* 6 bytes: too short a key */
    };
    char sig[MDV_WEBHOOK_SIGNATURE_LEN];
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mdv_webhook_secret_valid(bad[i]))
            ROW_FAILED(failures, "'%s' accepted", bad[i]);
    assert_true(mdv_webhook_secret_valid(SPEC_SECRET));
    assert_int_equal(mdv_webhook_sign("whsec_", "id", 1, "x", 1, sig), -1);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_gives_the_specification_example),
        cmocka_unit_test(test_verify_finds_the_signature_among_several),
        cmocka_unit_test(test_new_secrets_are_valid_and_differ),
        cmocka_unit_test(test_malformed_secrets_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
