/* JWT verification (mdv_auth_verify) against the fixed test key in keys/.
 * The input's first byte says what it is:
 *   'E'  claims (JSON) that this target signs with the test private key
 *        (ES256), so fuzzing reaches the checks behind the signature;
 *   'H'  claims signed HS256 with the public key as the secret, the
 *        confusion attack, which must never verify;
 *   'R'  three lines: header JSON, claims JSON, signature bytes, each
 *        base64url-encoded here, so fuzzing reaches the strict reading of
 *        the header and claims without having to spell base64;
 *   else the whole Authorization header value, as a client sends it.
 *
 * Invariants: a verified token is signed ES256 (what the key implies), by
 * our issuer, not expired, and its subject fits and is the token's sub; an
 * HS256 token never verifies. */
#include "fuzz.h"

#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <time.h>

#include "mdv/auth.h"

#define ISSUER "mdv-local" /* as the local stack */
#define AUDIENCE "mdv"

#ifndef FUZZ_KEYS_DIR
#define FUZZ_KEYS_DIR "tests/fuzz/keys"
#endif

static struct mdv_auth *auth;
static char *private_key, *public_key;
static size_t private_len, public_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    auth = mdv_auth_new(FUZZ_KEYS_DIR "/es256-public.pem", ISSUER, AUDIENCE);
    private_key = mdv_read_file(FUZZ_KEYS_DIR "/es256-private.pem", &private_len);
    public_key = mdv_read_file(FUZZ_KEYS_DIR "/es256-public.pem", &public_len);
    if (!auth || !private_key || !public_key) {
        fprintf(stderr, "fuzz-jwt: cannot read the keys in %s\n", FUZZ_KEYS_DIR);
        exit(1);
    }
    return 0;
}

/* Returns "Bearer <token>" for claims signed with alg, or NULL when libjwt
 * will not take the claims. The caller frees it. */
static char *signed_header(const char *claims, jwt_alg_t alg)
{
    jwt_t *jwt = NULL;
    char *token = NULL, *header = NULL;
    const char *key = alg == JWT_ALG_HS256 ? public_key : private_key;
    size_t len = alg == JWT_ALG_HS256 ? public_len : private_len;

    if (jwt_new(&jwt) != 0)
        goto out;
    if (jwt_add_grants_json(jwt, claims) != 0 ||
        jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)len) != 0)
        goto out;
    token = jwt_encode_str(jwt);
    if (token)
        header = mdv_xasprintf("Bearer %s", token);
out:
    free(token);
    jwt_free(jwt);
    return header;
}

/* Appends the base64url form (no padding) of len bytes to out. */
static size_t append_base64url(char *out, const uint8_t *data, size_t len)
{
    size_t n = (size_t)EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    for (size_t i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[n] = '\0';
    return n;
}

/* "Bearer h.c.s" from "header\nclaims\nsignature". The caller frees it. */
static char *assembled_header(const uint8_t *data, size_t size)
{
    char *out = mdv_xmalloc(strlen("Bearer ") + (size / 3 + 3) * 4 + 4);
    size_t len = (size_t)sprintf(out, "Bearer ");
    for (int part = 0; part < 3; part++) {
        const uint8_t *eol = part < 2 ? memchr(data, '\n', size) : NULL;
        size_t n = eol ? (size_t)(eol - data) : size;
        if (part > 0)
            out[len++] = '.';
        len += append_base64url(out + len, data, n);
        data += eol ? n + 1 : n;
        size -= eol ? n + 1 : n;
    }
    return out;
}

/* What the token says, read again through libjwt, against what verify let
 * through. */
static void check_verified(const char *header, const char *sub)
{
    jwt_t *jwt = NULL;
    const char *token = header + strlen("Bearer");
    while (*token == ' ')
        token++;
    FUZZ_REQUIRE(*sub && strlen(sub) < MDV_AUTH_SUB_LEN);
    FUZZ_REQUIRE(jwt_decode(&jwt, token, (const unsigned char *)public_key, (int)public_len) == 0);
    FUZZ_REQUIRE(jwt_get_alg(jwt) == JWT_ALG_ES256);
    char *text = jwt_get_grants_json(jwt, NULL);
    json_t *claims = text ? json_loads(text, 0, NULL) : NULL;
    const char *claimed = json_string_value(json_object_get(claims, "sub"));
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const json_t *exp = json_object_get(claims, "exp");
    FUZZ_REQUIRE(claimed && strcmp(claimed, sub) == 0);
    FUZZ_REQUIRE(iss && strcmp(iss, ISSUER) == 0);
    FUZZ_REQUIRE(json_is_number(exp) && json_number_value(exp) > (double)time(NULL));
    json_decref(claims);
    free(text);
    jwt_free(jwt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char sub[MDV_AUTH_SUB_LEN], err[256];
    char *input = fuzz_cstring(data, size);
    char *header = NULL;
    int hs256 = size > 0 && data[0] == 'H';

    if (size > 0 && (data[0] == 'E' || data[0] == 'H'))
        header = signed_header(input + 1, hs256 ? JWT_ALG_HS256 : JWT_ALG_ES256);
    else if (size > 0 && data[0] == 'R')
        header = assembled_header(data + 1, size - 1);
    else
        header = mdv_xstrdup(input);
    if (header && mdv_auth_verify(auth, header, sub, sizeof(sub), err, sizeof(err)) == 0) {
        FUZZ_REQUIRE(!hs256);
        check_verified(header, sub);
    }
    free(header);
    free(input);
    return 0;
}
