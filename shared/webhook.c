/* Standard Webhooks signing and verifying (include/mdv/webhook.h). The
 * secret's key is the base64 after "whsec_", decoded: the same bytes the
 * standardwebhooks libraries use, so a partner verifies with theirs. */
#include "mdv/webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define KEY_BYTES 32
#define KEY_MIN 24
#define KEY_MAX 64
#define PREFIX_LEN (sizeof(MDV_WEBHOOK_SECRET_PREFIX) - 1)

int mdv_webhook_secret_new(char out[MDV_WEBHOOK_SECRET_LEN])
{
    unsigned char key[KEY_BYTES];
    if (RAND_bytes(key, sizeof(key)) != 1)
        return -1;
    memcpy(out, MDV_WEBHOOK_SECRET_PREFIX, PREFIX_LEN);
    EVP_EncodeBlock((unsigned char *)out + PREFIX_LEN, key, sizeof(key));
    OPENSSL_cleanse(key, sizeof(key));
    return 0;
}

/* The key of a secret, into key (KEY_MAX bytes); its length, or -1. */
static int secret_key(const char *secret, unsigned char key[KEY_MAX + 3])
{
    if (strncmp(secret, MDV_WEBHOOK_SECRET_PREFIX, PREFIX_LEN) != 0)
        return -1;
    const char *b64 = secret + PREFIX_LEN;
    size_t len = strlen(b64);
    if (len == 0 || len % 4 != 0 || len > 4 * ((KEY_MAX + 2) / 3))
        return -1;
    int n = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding's bytes too. */
    for (size_t i = len; i > 0 && b64[i - 1] == '='; i--)
        n--;
    return n;
}

int mdv_webhook_secret_valid(const char *secret)
{
    unsigned char key[KEY_MAX + 3];
    int n = secret_key(secret, key);
    OPENSSL_cleanse(key, sizeof(key));
    return n >= KEY_MIN && n <= KEY_MAX;
}

/* The raw MAC of id.timestamp.body; 0 or -1. */
static int mac_of(const char *secret, const char *id, long long timestamp, const void *body,
                  size_t body_len, unsigned char mac[EVP_MAX_MD_SIZE], unsigned *mac_len)
{
    unsigned char key[KEY_MAX + 3];
    char head[160];
    int rc = -1;
    int key_len = secret_key(secret, key);
    int head_len = snprintf(head, sizeof(head), "%s.%lld.", id, timestamp);
    if (key_len < 1 || head_len < 0 || (size_t)head_len >= sizeof(head))
        goto out;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    size_t got = 0;
    if (ctx && EVP_MAC_init(ctx, key, (size_t)key_len, params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)head, (size_t)head_len) == 1 &&
        EVP_MAC_update(ctx, body, body_len) == 1 &&
        EVP_MAC_final(ctx, mac, &got, EVP_MAX_MD_SIZE) == 1) {
        *mac_len = (unsigned)got;
        rc = 0;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
out:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int mdv_webhook_sign(const char *secret, const char *id, long long timestamp, const void *body,
                     size_t body_len, char out[MDV_WEBHOOK_SIGNATURE_LEN])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (mac_of(secret, id, timestamp, body, body_len, mac, &mac_len) != 0)
        return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mac_len);
    return 0;
}

int mdv_webhook_verify(const char *secret, const char *header, const char *id, long long timestamp,
                       const void *body, size_t body_len)
{
    char want[MDV_WEBHOOK_SIGNATURE_LEN];
    int ok = 0;
    if (!header || mdv_webhook_sign(secret, id, timestamp, body, body_len, want) != 0)
        return 0;
    size_t want_len = strlen(want);
    for (const char *p = header; *p;) {
        size_t n = strcspn(p, " ");
        /* Every candidate is compared, so the time says nothing of which. */
        if (n == want_len && CRYPTO_memcmp(p, want, n) == 0)
            ok = 1;
        p += n;
        p += strspn(p, " ");
    }
    return ok;
}
