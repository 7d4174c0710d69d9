/* Standard Webhooks signatures (www.standardwebhooks.com): the sender
 * signs "<webhook-id>.<webhook-timestamp>.<body>" with HMAC-SHA256 under
 * a secret "whsec_<base64 of the key>", and sends "v1,<base64 of the
 * MAC>" in webhook-signature, several space-separated while two secrets
 * are valid. Both ends are here: the partners service signs, the
 * simulator (and any C receiver) verifies. The HMAC, the base64 and the
 * random key are OpenSSL's. */
#ifndef MDV_WEBHOOK_H
#define MDV_WEBHOOK_H

#include <stddef.h>

#include "mdv/util.h"

#define MDV_WEBHOOK_SECRET_PREFIX "whsec_"
/* Room for a secret of up to 64 key bytes, and for one "v1,<mac>". */
#define MDV_WEBHOOK_SECRET_LEN 96
#define MDV_WEBHOOK_SIGNATURE_LEN 64

/* A new secret of 32 random bytes, "whsec_<base64>". Returns 0 or -1
 * (the random generator failed). */
int mdv_webhook_secret_new(char out[MDV_WEBHOOK_SECRET_LEN]) MDV_MUSTCHECK;

/* 1 when secret is "whsec_" and the base64 of 24 to 64 bytes. */
int mdv_webhook_secret_valid(const char *secret);

/* Writes "v1,<base64 HMAC-SHA256 of id.timestamp.body>" into out.
 * Returns 0, or -1 on a malformed secret. */
int mdv_webhook_sign(const char *secret, const char *id, long long timestamp, const void *body,
                     size_t body_len, char out[MDV_WEBHOOK_SIGNATURE_LEN]) MDV_MUSTCHECK;

/* 1 when one of the space-separated "v1,<mac>" of header is the
 * signature of id.timestamp.body under secret (compared in constant
 * time), else 0. */
int mdv_webhook_verify(const char *secret, const char *header, const char *id, long long timestamp,
                       const void *body, size_t body_len);

#endif
