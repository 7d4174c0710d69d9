/* Unit tests of shared/auth.c: bearer tokens minted and verified with key
 * pairs the test generates (OpenSSL) in a private temporary folder. */
#include "unit.h"

#include <jwt.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <time.h>

#include "mdv/auth.h"
#include "mdv/metrics.h"
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

/* base64url without padding (RFC 7515 §2), through OpenSSL's encoder. */
static char *b64url(const unsigned char *data, size_t len)
{
    char *text = mdv_xmalloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)text, data, (int)len);
    assert_true(n >= 0);
    while (n > 0 && text[n - 1] == '=')
        n--;
    text[n] = '\0';
    for (char *c = text; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return text;
}

/* ECDSA signatures leave OpenSSL in DER; JWS wants R || S (RFC 7518 §3.4). */
static unsigned char *der_to_raw(const unsigned char *der, size_t der_len, size_t *len)
{
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)der_len);
    assert_non_null(sig);
    unsigned char *raw = mdv_xmalloc(64);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32), 32);
    ECDSA_SIG_free(sig);
    *len = 64;
    return raw;
}

/* A compact JWS of exactly these header and payload texts (duplicate
 * members and odd types included, which libjwt's encoder cannot make),
 * signed with SHA-256 by the PEM private key file (EC or RSA). */
static char *sign_raw(const char *private_key_file, const char *header, const char *payload)
{
    char *h = b64url((const unsigned char *)header, strlen(header));
    char *p = b64url((const unsigned char *)payload, strlen(payload));
    char *input = mdv_xasprintf("%s.%s", h, p);
    FILE *f = fopen(private_key_file, "r");
    assert_non_null(f);
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pkey);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sig_len = 0;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
    assert_int_equal(EVP_DigestSign(ctx, NULL, &sig_len, (unsigned char *)input, strlen(input)), 1);
    unsigned char *sig = mdv_xmalloc(sig_len);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)input, strlen(input)), 1);
    if (EVP_PKEY_is_a(pkey, "EC")) {
        unsigned char *raw = der_to_raw(sig, sig_len, &sig_len);
        free(sig);
        sig = raw;
    }
    char *s = b64url(sig, sig_len);
    char *token = mdv_xasprintf("%s.%s", input, s);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    free(sig);
    free(s);
    free(input);
    free(p);
    free(h);
    return token;
}

/* Expands every "{+N}" or "{-N}" (N may have a fraction) of a JSON
 * template into now + N, written with as many decimals as N has, so table
 * rows can name times relative to now. Other braces are left as they are. */
static char *at_now(const char *template, double now)
{
    size_t cap = strlen(template) * 2 + 64, used = 0;
    char *out = mdv_xmalloc(cap);
    for (const char *t = template; *t;) {
        if (t[0] == '{' && (t[1] == '+' || t[1] == '-')) {
            char *end = NULL;
            double offset = strtod(t + 1, &end);
            const char *dot = memchr(t + 1, '.', (size_t)(end - t - 1));
            int decimals = dot ? (int)(end - dot - 1) : 0;
            assert_int_equal(*end, '}');
            used += (size_t)snprintf(out + used, cap - used, "%.*f", decimals, floor(now) + offset);
            t = end + 1;
        } else {
            out[used++] = *t++;
        }
        assert_true(used + 32 < cap);
    }
    out[used] = '\0';
    return out;
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

/* mdv_auth_token_cache_hits_total as /metrics shows it. */
static double cache_hits(void)
{
    char *text = mdv_metrics_render();
    const char *line = strstr(text, "\nmdv_auth_token_cache_hits_total ");
    double hits = line ? strtod(strchr(line + 1, ' ') + 1, NULL) : 0;
    free(text);
    return hits;
}

/* The second check of a token is the cache's; the subject is the token's. */
static void test_a_verified_token_is_served_from_the_cache(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *a = bearer(mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-a", 300));
    char *b = bearer(mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-b", 300));
    assert_int_equal(verify(k, a, sub, err), 0);
    double before = cache_hits();
    assert_int_equal(verify(k, b, sub, err), 0);
    assert_string_equal(sub, "usager-b");
    assert_true(cache_hits() == before);
    assert_int_equal(verify(k, a, sub, err), 0);
    assert_string_equal(sub, "usager-a");
    assert_int_equal(verify(k, b, sub, err), 0);
    assert_string_equal(sub, "usager-b");
    assert_true(cache_hits() == before + 2);
    free(a);
    free(b);
}

/* A token in the cache is refused all the same once its exp has come. */
static void test_a_cached_token_is_refused_past_its_exp(void **state)
{
    struct keys *k = *state;
    char sub[MDV_AUTH_SUB_LEN], err[256];
    /* exp is in whole seconds: a second's token minted late in a second can
     * be expired at its first check; two seconds leave at least one. */
    char *header = bearer(mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-42", 2));
    assert_int_equal(verify(k, header, sub, err), 0);
    double before = cache_hits();
    assert_int_equal(verify(k, header, sub, err), 0);
    assert_true(cache_hits() == before + 1);
    mdv_sleep_ms(2100); /* exp is at most two seconds ahead */
    assert_int_equal(verify(k, header, sub, err), -1);
    assert_non_null(strstr(err, "expired"));
    assert_string_equal(sub, "");
    free(header);
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

/* Verifies a token of these exact header and claims texts, the claims'
 * "{+N}" expanded from now (see at_now), signed by key_file. */
static int verify_raw(const struct keys *k, const struct mdv_auth *auth, const char *key_file,
                      const char *header, const char *claims_template, char err[256])
{
    char sub[MDV_AUTH_SUB_LEN];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char *claims = at_now(claims_template, (double)ts.tv_sec);
    char *header_value = bearer(sign_raw(key_file, header, claims));
    err[0] = '\0';
    int rc = mdv_auth_verify(auth ? auth : k->auth, header_value, sub, sizeof(sub), err, 256);
    free(header_value);
    free(claims);
    return rc;
}

#define ES256_HEADER "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"
#define GOOD_ISS_AUD "\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\""
#define GOOD_CLAIMS GOOD_ISS_AUD ",\"sub\":\"usager-1\""

struct claims_row {
    const char *claims; /* a JSON template for at_now */
    int rc;
};

static int run_claims_rows(const struct keys *k, const struct claims_row *rows, size_t n)
{
    int failures = 0;
    char err[256];
    for (size_t i = 0; i < n; i++) {
        int rc = verify_raw(k, NULL, k->ec_private, ES256_HEADER, rows[i].claims, err);
        if (rc != rows[i].rc)
            ROW_FAILED(failures, "claims %s: %d (%s), expected %d", rows[i].claims, rc, err,
                       rows[i].rc);
        else if (rc != 0 && err[0] == '\0')
            ROW_FAILED(failures, "claims %s: refused without a reason", rows[i].claims);
    }
    return failures;
}

/* RFC 7519 §2: a NumericDate is a JSON number, possibly fractional. A
 * string, boolean or null is no date: refused, never read as 0 (which
 * would make a string nbf "a year from now" valid today). */
static void test_time_claims_are_json_numbers_checked_against_now(void **state)
{
    static const struct claims_row rows[] = {
        {"{" GOOD_CLAIMS ",\"exp\":{+600}}", 0},
        {"{" GOOD_CLAIMS ",\"exp\":{+600.5}}", 0},
        {"{" GOOD_CLAIMS ",\"exp\":{-1.5}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{-0.25}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":\"{+600}\"}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":true}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":null}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":[{+600}]}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":0}", -1},
        {"{" GOOD_CLAIMS "}", -1},
        /* Not valid for a year, however nbf is written. */
        {"{" GOOD_CLAIMS ",\"exp\":{+31622400},\"nbf\":{+31536000}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+31622400},\"nbf\":{+31536000.5}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+31622400},\"nbf\":\"{+31536000}\"}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+31622400},\"nbf\":{+31536000.0}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"nbf\":{+90.5}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"nbf\":{+30.5}}", 0},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"nbf\":{-60.75}}", 0},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"nbf\":\"{-60}\"}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"nbf\":null}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"nbf\":false}", -1},
        /* iat: issued now or before; far in the future is a forged clock. */
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"iat\":{-60}}", 0},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"iat\":{-60.5}}", 0},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"iat\":{+30}}", 0},
        {"{" GOOD_CLAIMS ",\"exp\":{+31622400},\"iat\":{+31536000}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"iat\":{+90.5}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"iat\":\"{-60}\"}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"iat\":false}", -1},
    };
    assert_int_equal(run_claims_rows(*state, rows, MDV_ARRAY_LEN(rows)), 0);
}

static void test_subject_issuer_and_audience_must_be_strings(void **state)
{
    static const struct claims_row rows[] = {
        {"{" GOOD_ISS_AUD ",\"sub\":\"usager-1\",\"exp\":{+600}}", 0},
        {"{" GOOD_ISS_AUD ",\"sub\":42,\"exp\":{+600}}", -1},
        {"{" GOOD_ISS_AUD ",\"sub\":null,\"exp\":{+600}}", -1},
        {"{" GOOD_ISS_AUD ",\"sub\":[\"usager-1\"],\"exp\":{+600}}", -1},
        {"{" GOOD_ISS_AUD ",\"sub\":{\"id\":\"usager-1\"},\"exp\":{+600}}", -1},
        {"{" GOOD_ISS_AUD ",\"sub\":\"\",\"exp\":{+600}}", -1},
        {"{\"iss\":[\"" ISSUER "\"],\"aud\":\"" AUDIENCE "\",\"sub\":\"u\",\"exp\":{+600}}", -1},
        {"{\"iss\":\"" ISSUER "\",\"aud\":[1],\"sub\":\"u\",\"exp\":{+600}}", -1},
        {"{\"iss\":\"" ISSUER "\",\"aud\":null,\"sub\":\"u\",\"exp\":{+600}}", -1},
    };
    assert_int_equal(run_claims_rows(*state, rows, MDV_ARRAY_LEN(rows)), 0);
}

/* A claim given twice means what the parser that reads it decides: the
 * issuer's, a proxy's and ours may each take another one. Refused. */
static void test_duplicate_claims_are_refused(void **state)
{
    static const struct claims_row rows[] = {
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"sub\":\"usager-2\"}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{-600},\"exp\":{+600}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"exp\":{-600}}", -1},
        {"{" GOOD_CLAIMS ",\"exp\":{+600},\"aud\":\"another-api\"}", -1},
    };
    assert_int_equal(run_claims_rows(*state, rows, MDV_ARRAY_LEN(rows)), 0);
}

static void test_subject_longer_than_the_limit_is_refused(void **state)
{
    struct keys *k = *state;
    char err[256];
    char long_sub[MDV_AUTH_SUB_LEN + 1];
    memset(long_sub, 'a', sizeof(long_sub) - 1);
    long_sub[sizeof(long_sub) - 1] = '\0';
    char *claims = mdv_xasprintf("{" GOOD_ISS_AUD ",\"sub\":\"%s\",\"exp\":{+600}}", long_sub);
    assert_int_equal(verify_raw(k, NULL, k->ec_private, ES256_HEADER, claims, err), -1);
    free(claims);
}

/* The key is the configured one, whatever the header points to; a
 * critical extension we do not implement must refuse the token
 * (RFC 7515 §4.1.11). */
static void test_header_parameters_cannot_choose_the_key_or_the_algorithm(void **state)
{
    struct keys *k = *state;
    const struct {
        const char *header;
        const char *key;
        int rc;
    } rows[] = {
        {ES256_HEADER, k->ec_private, 0},
        {"{\"alg\":\"ES256\",\"kid\":\"attacker\"}", k->ec_private, 0},
        {"{\"alg\":\"ES256\",\"kid\":\"attacker\"}", k->other_private, -1},
        {"{\"alg\":\"ES256\",\"jku\":\"https://evil.test/jwks.json\",\"kid\":\"k\"}",
         k->other_private, -1},
        {"{\"alg\":\"ES256\",\"x5u\":\"https://evil.test/cert.pem\"}", k->other_private, -1},
        {"{\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}}",
         k->other_private, -1},
        {"{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", k->ec_private, -1},
        {"{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}", k->ec_private, -1},
        {"{\"alg\":\"ES256\",\"crit\":[]}", k->ec_private, -1},
        {"{\"alg\":\"none\",\"alg\":\"ES256\"}", k->ec_private, -1},
        {"{\"alg\":\"ES256\",\"alg\":\"ES256\"}", k->ec_private, -1},
        {"{\"typ\":\"JWT\"}", k->ec_private, -1},
        {"{\"alg\":\"es256\"}", k->ec_private, -1},
        {"{\"alg\":[\"ES256\"]}", k->ec_private, -1},
        {"{\"alg\":\"ES384\"}", k->ec_private, -1},
        {"{\"alg\":\"RS256\"}", k->rsa_private, -1},
        {"\"ES256\"", k->ec_private, -1},
        {"[\"ES256\"]", k->ec_private, -1},
    };
    char err[256];
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        int rc = verify_raw(k, NULL, rows[i].key, rows[i].header,
                            "{" GOOD_CLAIMS ",\"exp\":{+600}}", err);
        if (rc != rows[i].rc)
            ROW_FAILED(failures, "header %s: %d (%s), expected %d", rows[i].header, rc, err,
                       rows[i].rc);
    }
    assert_int_equal(failures, 0);
}

/* The algorithm follows from the configured key: an RSA key accepts RS256
 * only, whatever a token signed otherwise says. */
static void test_rsa_configured_checker_refuses_es256_and_hmac_tokens(void **state)
{
    struct keys *k = *state;
    char err[256];
    struct mdv_auth *rsa = mdv_auth_new(k->rsa_public, ISSUER, AUDIENCE);
    assert_non_null(rsa);
    const char *claims = "{" GOOD_CLAIMS ",\"exp\":{+600}}";
    assert_int_equal(verify_raw(k, rsa, k->rsa_private, "{\"alg\":\"RS256\"}", claims, err), 0);
    assert_int_equal(verify_raw(k, rsa, k->ec_private, ES256_HEADER, claims, err), -1);
    assert_int_equal(verify_raw(k, rsa, k->rsa_private, "{\"alg\":\"RS384\"}", claims, err), -1);

    char sub[MDV_AUTH_SUB_LEN];
    size_t len = 0;
    char *pem = mdv_read_file(k->rsa_public, &len);
    char *hs_claims = claims_expiring_in(300, "\"" AUDIENCE "\"");
    char *header = bearer(forge(JWT_ALG_HS256, NULL, (const unsigned char *)pem, len, hs_claims));
    assert_int_equal(mdv_auth_verify(rsa, header, sub, sizeof(sub), err, sizeof(err)), -1);
    free(header);
    free(hs_claims);
    free(pem);
    mdv_auth_destroy(rsa);
}

/* RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, and a JWS in
 * compact form is exactly three base64url parts. Anything around or after
 * them is refused, not cut off by a lenient decoder. */
static void test_authorization_must_be_bearer_and_one_compact_jws(void **state)
{
    struct keys *k = *state;
    char *token = mdv_auth_mint(k->ec_private, ISSUER, AUDIENCE, "usager-42", 300);
    assert_non_null(token);
    char *second = strchr(token, '.') + 1;
    char *signature = strrchr(token, '.') + 1;
    const struct {
        char *authorization;
        int rc;
    } rows[] = {
        {mdv_xasprintf("Bearer %s", token), 0},
        {mdv_xasprintf("Bearer  %s", token), 0},
        {mdv_xasprintf("Bearer    %s", token), 0},
        {mdv_xasprintf("Bearer\t%s", token), -1},
        {mdv_xasprintf("Bearer %s garbage", token), -1},
        {mdv_xasprintf("Bearer %s ", token), -1},
        {mdv_xasprintf("Bearer %sgarbage", token), -1},
        {mdv_xasprintf("Bearer %s.garbage", token), -1},
        {mdv_xasprintf("Bearer %s.", token), -1},
        {mdv_xasprintf("Bearer %s.%.*s", token, (int)(signature - second - 1), second), -1},
        {mdv_xasprintf("Bearer %s=", token), -1},
        {mdv_xasprintf("Bearer %s\n", token), -1},
        {mdv_xasprintf("Bearer %.*s", (int)(signature - token), token), -1},
        {mdv_xasprintf("Bearer %.*s", (int)(signature - token - 1), token), -1},
        {mdv_xasprintf("Bearer .%s", token), -1},
        {mdv_xasprintf("Bearer%s", token), -1},
        {mdv_xasprintf("Bearer x %s", token), -1},
    };
    char sub[MDV_AUTH_SUB_LEN], err[256];
    int failures = 0;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        int rc = verify(k, rows[i].authorization, sub, err);
        if (rc != rows[i].rc)
            ROW_FAILED(failures, "row %zu \"%s\": %d (%s), expected %d", i, rows[i].authorization,
                       rc, err, rows[i].rc);
        free(rows[i].authorization);
    }
    free(token);
    assert_int_equal(failures, 0);
}

/* A header of 100 KB, even well signed, costs decoding and hashing before
 * anything can refuse it: refused for its length first. */
static void test_oversized_token_is_refused_even_when_signed(void **state)
{
    struct keys *k = *state;
    char err[256];
    size_t pad_len = 100 * 1024;
    char *pad = mdv_xmalloc(pad_len + 1);
    memset(pad, 'x', pad_len);
    pad[pad_len] = '\0';
    char *claims = mdv_xasprintf("{" GOOD_CLAIMS ",\"exp\":{+600},\"pad\":\"%s\"}", pad);
    assert_int_equal(verify_raw(k, NULL, k->ec_private, ES256_HEADER, claims, err), -1);
    assert_non_null(strstr(err, "long"));
    free(claims);
    free(pad);
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
        cmocka_unit_test(test_a_verified_token_is_served_from_the_cache),
        cmocka_unit_test(test_a_cached_token_is_refused_past_its_exp),
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
        cmocka_unit_test(test_time_claims_are_json_numbers_checked_against_now),
        cmocka_unit_test(test_subject_issuer_and_audience_must_be_strings),
        cmocka_unit_test(test_duplicate_claims_are_refused),
        cmocka_unit_test(test_subject_longer_than_the_limit_is_refused),
        cmocka_unit_test(test_header_parameters_cannot_choose_the_key_or_the_algorithm),
        cmocka_unit_test(test_rsa_configured_checker_refuses_es256_and_hmac_tokens),
        cmocka_unit_test(test_authorization_must_be_bearer_and_one_compact_jws),
        cmocka_unit_test(test_oversized_token_is_refused_even_when_signed),
        cmocka_unit_test(test_new_and_mint_fail_cleanly_on_a_missing_key_file),
        cmocka_unit_test(test_read_file_returns_the_whole_content_nul_terminated),
    };
    return cmocka_run_group_tests_name("auth", tests, make_keys, remove_keys);
}
