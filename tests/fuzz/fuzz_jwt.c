/* JWT verification (mdv_auth_verify) against the fixed test key in keys/.
 * The input's first byte says what it is:
 *   'E'  claims (JSON) that this target signs with the test private key
 *        (ES256), so fuzzing reaches the checks behind the signature;
 *   'H'  claims signed HS256 with the public key as the secret, the
 *        confusion attack, which must never verify;
 *   else the whole Authorization header value, as a client sends it.
 *
 * Invariants: a verified token has a subject that fits and is the token's
 * sub; an HS256 token never verifies. */
#include "fuzz.h"

#include <jwt.h>

#include "mdv/auth.h"

#define ISSUER "https://auth.mdv.test"
#define AUDIENCE "mdv-gateway"

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

static void check_verified(const char *header, const char *sub)
{
    jwt_t *jwt = NULL;
    const char *token = header + strlen("Bearer ");
    FUZZ_REQUIRE(*sub && strlen(sub) < MDV_AUTH_SUB_LEN);
    FUZZ_REQUIRE(jwt_decode(&jwt, token, (const unsigned char *)public_key, (int)public_len) == 0);
    const char *claimed = jwt_get_grant(jwt, "sub");
    FUZZ_REQUIRE(claimed && strcmp(claimed, sub) == 0);
    FUZZ_REQUIRE(jwt_get_alg(jwt) != JWT_ALG_HS256);
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
