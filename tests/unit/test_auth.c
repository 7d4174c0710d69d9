/* Unit tests of shared/auth.c: bearer tokens minted and verified with key
 * pairs the test generates (OpenSSL) in a private temporary folder. */
#include "unit.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <time.h>

#include "mdv/auth.h"
#include "mdv/util.h"

#define ISSUER "https://auth.mdv.test"
#define AUDIENCE "mdv-gateway"

struct keys {
    char *dir;
    char *ec_private, *ec_public;   /* the configured key pair */
    char *other_private;            /* another P-256 key */
    char *rsa_private, *rsa_public; /* RS256 */
    struct mdv_auth *auth;          /* checks against ec_public */
};

static void write_key(EVP_PKEY *pkey, const char *path, int private_part)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    int ok = private_part ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_PUBKEY(f, pkey);
    fclose(f);
    assert_int_equal(ok, 1);
}

static void generate(EVP_PKEY *pkey, const char *private_path, const char *public_path)
{
    assert_non_null(pkey);
    write_key(pkey, private_path, 1);
    if (public_path)
        write_key(pkey, public_path, 0);
    EVP_PKEY_free(pkey);
}

static int make_keys(void **state)
{
    static struct keys k;
    k.dir = make_temp_dir("mdv-unit-auth");
    k.ec_private = mdv_xasprintf("%s/ec-private.pem", k.dir);
    k.ec_public = mdv_xasprintf("%s/ec-public.pem", k.dir);
    k.other_private = mdv_xasprintf("%s/other-private.pem", k.dir);
    k.rsa_private = mdv_xasprintf("%s/rsa-private.pem", k.dir);
    k.rsa_public = mdv_xasprintf("%s/rsa-public.pem", k.dir);
    generate(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), k.ec_private, k.ec_public);
    generate(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), k.other_private, NULL);
    generate(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), k.rsa_private, k.rsa_public);
    k.auth = mdv_auth_new(k.ec_public, ISSUER, AUDIENCE);
    *state = &k;
    return k.auth ? 0 : -1;
}

static int remove_keys(void **state)
{
    struct keys *k = *state;
    mdv_auth_destroy(k->auth);
    char *files[] = {k->ec_private, k->ec_public, k->other_private, k->rsa_private, k->rsa_public};
    for (size_t i = 0; i < MDV_ARRAY_LEN(files); i++) {
        unlink(files[i]);
        free(files[i]);
    }
    rmdir(k->dir);
    free(k->dir);
    return 0;
}

/* "Bearer <token>"; frees the token. */
static char *bearer(char *token)
{
    assert_non_null(token);
    char *header = mdv_xasprintf("Bearer %s", token);
    free(token);
    return header;
}

/* Verifies; returns 0 or -1 and leaves sub and err filled. */
static int verify(const struct keys *k, const char *authorization, char sub[MDV_AUTH_SUB_LEN],
                  char err[256])
{
    sub[0] = err[0] = '\0';
    return mdv_auth_verify(k->auth, authorization, sub, MDV_AUTH_SUB_LEN, err, 256);
}

/* A token built directly with libjwt, for the shapes mdv_auth_mint never
 * makes. claims is a JSON object; key may be NULL for "none". */
static char *forge(jwt_alg_t alg, const char *key_file_or_null, const unsigned char *raw_key,
                   size_t raw_len, const char *claims)
{
    jwt_t *jwt = NULL;
    size_t len = 0;
    char *file_key = key_file_or_null ? mdv_read_file(key_file_or_null, &len) : NULL;
    const unsigned char *key = file_key ? (const unsigned char *)file_key : raw_key;
    if (!file_key)
        len = raw_len;
    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, key, (int)len), 0);
    assert_int_equal(jwt_add_grants_json(jwt, claims), 0);
    char *token = jwt_encode_str(jwt);
    jwt_free(jwt);
    free(file_key);
    assert_non_null(token);
    return token;
}

static char *claims_expiring_in(long seconds, const char *aud_json)
{
    return mdv_xasprintf("{\"iss\":\"%s\",\"aud\":%s,\"sub\":\"usager-1\",\"exp\":%lld}", ISSUER,
                         aud_json, (long long)(time(NULL) + seconds));
}

static void test_minted_token_verifies_and_gives_its_subject(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *header = bearer(mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-42", 300));
    assert_int_equal(verify(k, header, sub, err), 0);
    assert_string_equal(sub, "usager-42");
    free(header);
}

/* RFC 9110 §11.1: the scheme name is case-insensitive. */
static void test_bearer_scheme_is_case_insensitive(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *token = mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-42", 300);
    assert_non_null(token);
    char *header = mdv_xasprintf("bearer %s", token);
    free(token);
    assert_int_equal(verify(k, header, sub, err), 0);
    assert_string_equal(sub, "usager-42");
    free(header);
}

/* RFC 7518 §3.4: an ES256 signature is R || S, 64 bytes, 86 base64url
 * characters; a DER signature would not verify elsewhere. */
static void test_minted_token_is_es256_with_a_raw_64_byte_signature(void **state)
{
    struct keys *k = *state;
    char *token = mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-42", 300);
    assert_non_null(token);
    assert_int_equal(count_occurrences(token, "."), 2);
    assert_int_equal(strlen(strrchr(token, '.') + 1), 86);
    size_t len = 0;
    char *pem = mdv_read_file(k->ec_public, &len);
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_decode(&jwt, token, (const unsigned char *)pem, (int)len), 0);
    assert_int_equal(jwt_get_alg(jwt), JWT_ALG_ES256);
    assert_string_equal(jwt_get_grant(jwt, "iss"), ISSUER);
    assert_string_equal(jwt_get_grant(jwt, "aud"), AUDIENCE);
    long iat = jwt_get_grant_int(jwt, "iat"), exp = jwt_get_grant_int(jwt, "exp");
    assert_int_equal(exp - iat, 300);
    jwt_free(jwt);
    free(pem);
    free(token);
}

static void test_expired_token_is_refused(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *header = bearer(mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-42", -60));
    assert_int_equal(verify(k, header, sub, err), -1);
    assert_non_null(strstr(err, "expired"));
    assert_string_equal(sub, "");
    free(header);
}

/* Regression (shared/auth.c check_claims): RFC 7519 §4.1.4 says a
 * token must not be accepted on or after exp; the check is exp < now, so
 * a token is still accepted during the second of its exp. */
static void test_token_is_refused_at_its_exp_second(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *header = bearer(mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-42", 0));
    int rc = verify(k, header, sub, err);
    free(header);
    assert_int_equal(rc, -1);
}

/* Clocks differ: nbf up to a minute ahead is tolerated, further is not. */
static void test_token_not_yet_valid_is_refused_beyond_the_clock_skew(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    static const struct {
        long nbf_from_now;
        int rc;
    } rows[] = {{-3600, 0}, {0, 0}, {30, 0}, {600, -1}, {86400, -1}};
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        long long now = (long long)time(NULL);
        char *claims = mdv_xasprintf("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"usager-1\","
                                     "\"exp\":%lld,\"nbf\":%lld}",
                                     ISSUER, AUDIENCE, now + 7200, now + rows[i].nbf_from_now);
        char *header = bearer(forge(JWT_ALG_ES256, k->ec_private, NULL, 0, claims));
        int rc = verify(k, header, sub, err);
        if (rc != rows[i].rc)
            ROW_FAILED(failures, "nbf now%+ld: %d (%s), expected %d", rows[i].nbf_from_now, rc, err,
                       rows[i].rc);
        free(header);
        free(claims);
    }
    assert_int_equal(failures, 0);
}

static void test_token_for_another_audience_is_refused(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *header = bearer(mdv_auth_mint(k->ec_private, ISSUER, "another-api", "usager-42", 300));
    assert_int_equal(verify(k, header, sub, err), -1);
    assert_non_null(strstr(err, "audience"));
    free(header);
}

static void test_audience_may_be_a_list_containing_ours(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *claims = claims_expiring_in(300, "[\"another-api\",\"" AUDIENCE "\"]");
    char *header = bearer(forge(JWT_ALG_ES256, k->ec_private, NULL, 0, claims));
    assert_int_equal(verify(k, header, sub, err), 0);
    free(header);
    free(claims);

    claims = claims_expiring_in(300, "[\"another-api\",\"yet-another\"]");
    header = bearer(forge(JWT_ALG_ES256, k->ec_private, NULL, 0, claims));
    assert_int_equal(verify(k, header, sub, err), -1);
    free(header);
    free(claims);
}

static void test_token_from_another_issuer_is_refused(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *header =
        bearer(mdv_auth_mint(k->ec_private, "https://evil.test", AUDIENCE, "usager-42", 300));
    assert_int_equal(verify(k, header, sub, err), -1);
    assert_non_null(strstr(err, "issuer"));
    free(header);
}

static void test_token_signed_by_another_key_is_refused(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *header = bearer(mdv_auth_mint(k->other_private, ISSUER, AUDIENCE, "usager-42", 300));
    assert_int_equal(verify(k, header, sub, err), -1);
    assert_non_null(strstr(err, "signature"));
    free(header);
}

static void test_tampered_payload_is_refused(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *token = mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-42", 300);
    assert_non_null(token);
    /* Replace the payload with one naming another subject. */
    char *claims = mdv_xasprintf("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"usager-666\","
                                 "\"exp\":%lld}",
                                 ISSUER, AUDIENCE, (long long)time(NULL) + 300);
    char *other = forge(JWT_ALG_ES256, k->other_private, NULL, 0, claims);
    char *first_dot = strchr(token, '.'), *last_dot = strrchr(token, '.');
    char *other_first = strchr(other, '.'), *other_last = strrchr(other, '.');
    char *spliced = mdv_xasprintf("Bearer %.*s%.*s%s", (int)(first_dot - token), token,
                                  (int)(other_last - other_first), other_first, last_dot);
    assert_int_equal(verify(k, spliced, sub, err), -1);
    free(spliced);
    free(other);
    free(claims);
    free(token);
}

static void test_missing_or_non_bearer_authorization_is_refused(void **state)
{
    struct keys *k = *state;
    static const char *const rows[] = {
        "Basic x", "Basic dXNhZ2VyOnNlY3JldA==", "",           "Bearer",
        "Bearer ", "Bearer not.a.jwt",           "Bearer abc", "Token abc",
    };
    char sub[MDV_AUTH_SUB_LEN], err[256];
    int failures = 0;
    assert_int_equal(verify(k, NULL, sub, err), -1);
    assert_string_not_equal(err, "");
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++)
        if (verify(k, rows[i], sub, err) != -1 || err[0] == '\0')
            ROW_FAILED(failures, "Authorization \"%s\" was not refused with a reason", rows[i]);
    assert_int_equal(failures, 0);
}

/* The algorithm-confusion attack: HS256 with the public key PEM (which is
 * public) as the HMAC secret. libjwt verifies it; the module must not. */
static void test_hs256_token_keyed_with_the_public_key_is_refused(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    size_t len = 0;
    char *pem = mdv_read_file(k->ec_public, &len);
    char *claims = claims_expiring_in(300, "\"" AUDIENCE "\"");
    char *header = bearer(forge(JWT_ALG_HS256, NULL, (const unsigned char *)pem, len, claims));
    assert_int_equal(verify(k, header, sub, err), -1);
    assert_string_equal(sub, "");
    /* Refused for its algorithm: libjwt itself let the signature through. */
    assert_non_null(strstr(err, "algorithm"));
    free(header);
    free(claims);
    free(pem);
}

static void test_unsigned_token_is_refused(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *claims = claims_expiring_in(300, "\"" AUDIENCE "\"");
    char *header = bearer(forge(JWT_ALG_NONE, NULL, NULL, 0, claims));
    assert_int_equal(verify(k, header, sub, err), -1);
    free(header);
    free(claims);
}

static void test_token_without_exp_or_sub_is_refused(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *header = bearer(forge(JWT_ALG_ES256, k->ec_private, NULL, 0,
                                "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\","
                                "\"sub\":\"usager-1\"}"));
    assert_int_equal(verify(k, header, sub, err), -1);
    free(header);

    char *claims = mdv_xasprintf("{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld}", ISSUER, AUDIENCE,
                                 (long long)time(NULL) + 300);
    header = bearer(forge(JWT_ALG_ES256, k->ec_private, NULL, 0, claims));
    assert_int_equal(verify(k, header, sub, err), -1);
    assert_non_null(strstr(err, "subject"));
    free(header);
    free(claims);
}

static void test_subject_longer_than_the_buffer_is_refused_not_cut(void **state)
{
    struct keys *k = *state;
    char sub[8] = "", err[256] = "";
    char *header = bearer(mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-42", 300));
    assert_int_equal(mdv_auth_verify(k->auth, header, sub, sizeof(sub), err, sizeof(err)), -1);
    assert_string_equal(sub, "");
    free(header);
}

static void test_rs256_token_verifies_against_an_rsa_public_key(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    struct mdv_auth *rsa = mdv_auth_new(k->rsa_public, ISSUER, AUDIENCE);
    assert_non_null(rsa);
    char *claims = claims_expiring_in(300, "\"" AUDIENCE "\"");
    char *header = bearer(forge(JWT_ALG_RS256, k->rsa_private, NULL, 0, claims));
    assert_int_equal(mdv_auth_verify(rsa, header, sub, sizeof(sub), err, sizeof(err)), 0);
    assert_string_equal(sub, "usager-1");
    /* And the EC-configured checker refuses it. */
    assert_int_equal(verify(k, header, sub, err), -1);
    free(header);
    free(claims);
    mdv_auth_destroy(rsa);
}

static void test_new_and_mint_fail_cleanly_on_a_missing_key_file(void **state)
{
    struct keys *k = *state;
    char *missing = mdv_xasprintf("%s/missing.pem", k->dir);
    struct capture c;
    capture_start(&c);
    struct mdv_auth *auth = mdv_auth_new(missing, ISSUER, AUDIENCE);
    char *token = mdv_auth_mint(missing, ISSUER, AUDIENCE, "usager-42", 300);
    char *said = capture_end(&c);
    assert_null(auth);
    assert_null(token);
    free(said);
    free(missing);
    mdv_auth_destroy(NULL); /* accepts NULL */
}

static void test_read_file_returns_the_whole_content_nul_terminated(void **state)
{
    struct keys *k = *state;
    char *path = mdv_xasprintf("%s/big.txt", k->dir);
    size_t size = 10000, len = 0; /* more than the first 4 KiB buffer */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc('a' + (int)(i % 26), f);
    fclose(f);
    char *text = mdv_read_file(path, &len);
    assert_non_null(text);
    assert_int_equal(len, size);
    assert_int_equal(strlen(text), size);
    assert_int_equal(text[size - 1], 'a' + (int)((size - 1) % 26));
    free(text);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_scheme_is_case_insensitive),
        cmocka_unit_test(test_minted_token_verifies_and_gives_its_subject),
        cmocka_unit_test(test_minted_token_is_es256_with_a_raw_64_byte_signature),
        cmocka_unit_test(test_expired_token_is_refused),
        cmocka_unit_test(test_token_is_refused_at_its_exp_second),
        cmocka_unit_test(test_token_not_yet_valid_is_refused_beyond_the_clock_skew),
        cmocka_unit_test(test_token_for_another_audience_is_refused),
        cmocka_unit_test(test_audience_may_be_a_list_containing_ours),
        cmocka_unit_test(test_token_from_another_issuer_is_refused),
        cmocka_unit_test(test_token_signed_by_another_key_is_refused),
        cmocka_unit_test(test_tampered_payload_is_refused),
        cmocka_unit_test(test_missing_or_non_bearer_authorization_is_refused),
        cmocka_unit_test(test_hs256_token_keyed_with_the_public_key_is_refused),
        cmocka_unit_test(test_unsigned_token_is_refused),
        cmocka_unit_test(test_token_without_exp_or_sub_is_refused),
        cmocka_unit_test(test_subject_longer_than_the_buffer_is_refused_not_cut),
        cmocka_unit_test(test_rs256_token_verifies_against_an_rsa_public_key),
        cmocka_unit_test(test_new_and_mint_fail_cleanly_on_a_missing_key_file),
        cmocka_unit_test(test_read_file_returns_the_whole_content_nul_terminated),
    };
    return cmocka_run_group_tests_name("auth", tests, make_keys, remove_keys);
}
