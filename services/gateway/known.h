/* GET /v1/me's known: what the administrations already know of the
 * signed-in usager, asked of the administration that holds it (known.c). */
#ifndef GATEWAY_KNOWN_H
#define GATEWAY_KNOWN_H

#include <jansson.h>

/* Where to ask and how the gateway proves it is the gateway. */
struct gateway_known {
    const char *identity_url; /* identity's HTTP base URL; "" asks nobody */
    const char *key_file;     /* PEM private key (ES256) of the services' tokens */
    const char *issuer;       /* their iss and aud */
    const char *audience;
    long timeout_ms; /* the whole call's bound: past it, known is null */
};

/* The pivot identity of GET /v1/me's claims (given_name, family_name,
 * birthdate, gender, birthplace, birthcountry) in the contract's words
 * ({family_name, given_names, sex, birth_date, birth_place}), or NULL when
 * a part is missing. The caller decrefs it. */
json_t *gateway_known_pivot(const json_t *me);

/* identity's answer checked for the contract's KnownAddress shape (lines:
 * 1 to 3 strings; postal_code, commune_code, city strings), as a new
 * object of just those members; NULL for any other shape. */
json_t *gateway_known_address(const json_t *answer);

/* {"address": {...}} for the usager of me's claims, or JSON null when
 * nobody is asked, identity does not know them, or it does not answer
 * within the timeout. Never fails; the caller owns the result. */
json_t *gateway_known_json(const struct gateway_known *k, const json_t *me);

#endif
