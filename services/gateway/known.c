/* What the administrations already know of the signed-in usager, for
 * GET /v1/me's known (the forms' pre-filled fields): the gateway asks the
 * administration that holds it, for this usager only and when the page
 * asks, as « Dites-le-nous une fois » does. Today that is identity's
 * register, for the current main address (POST /internal/v1/address-lookups,
 * with a service token the gateway mints for the call). Nothing is kept
 * beyond the request. Identity slow, down or confused is no error: known
 * is then null and the page asks the usager. */
#include "known.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/auth.h"
#include "mdv/httpc.h"
#include "mdv/log.h"

/* A service token lives this long: one call, with room for clock skew. */
#define TOKEN_TTL_S 60

json_t *gateway_known_pivot(const json_t *me)
{
    const char *gender = json_string_value(json_object_get(me, "gender"));
    const char *family = json_string_value(json_object_get(me, "family_name"));
    const char *given = json_string_value(json_object_get(me, "given_name"));
    const char *birth_date = json_string_value(json_object_get(me, "birthdate"));
    const char *place = json_string_value(json_object_get(me, "birthplace"));
    const char *country = json_string_value(json_object_get(me, "birthcountry"));
    const char *sex = !gender                     ? NULL
                      : !strcmp(gender, "female") ? "F"
                      : !strcmp(gender, "male")   ? "M"
                                                  : NULL;
    /* FranceConnect's birthplace is empty for a birth abroad: the COG
     * code of the country is then the place, as the page says it. */
    const char *birth_place =
        country && *country && strcmp(country, "99100") != 0 ? country : place;
    if (!sex || !family || !*family || !given || !birth_date || !birth_place || !*birth_place)
        return NULL;
    json_t *names = json_array();
    char *copy = mdv_xstrdup(given), *save = NULL;
    for (char *n = strtok_r(copy, " ", &save); n; n = strtok_r(NULL, " ", &save))
        json_array_append_new(names, json_string(n));
    free(copy);
    if (json_array_size(names) == 0) {
        json_decref(names);
        return NULL;
    }
    return json_pack("{s:s, s:o, s:s, s:s, s:s}", "family_name", family, "given_names", names,
                     "sex", sex, "birth_date", birth_date, "birth_place", birth_place);
}

static int is_text(const json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) <= max;
}

json_t *gateway_known_address(const json_t *answer)
{
    const json_t *lines = json_object_get(answer, "lines");
    const json_t *line;
    size_t i;
    if (!json_is_array(lines) || json_array_size(lines) < 1 || json_array_size(lines) > 3)
        return NULL;
    json_array_foreach(lines, i, line) if (!is_text(line, 200)) return NULL;
    if (!is_text(json_object_get(answer, "postal_code"), 10) ||
        !is_text(json_object_get(answer, "commune_code"), 5) ||
        !is_text(json_object_get(answer, "city"), 200))
        return NULL;
    return json_pack("{s:O, s:O, s:O, s:O}", "lines", lines, "postal_code",
                     json_object_get(answer, "postal_code"), "commune_code",
                     json_object_get(answer, "commune_code"), "city",
                     json_object_get(answer, "city"));
}

/* identity's answer on the person of pivot: their address, or NULL. */
static json_t *ask_identity(const struct gateway_known *k, const json_t *pivot)
{
    char err[256] = "";
    long status = 0;
    json_t *answer = NULL, *address = NULL;
    char *url = mdv_xasprintf("%s/internal/v1/address-lookups", k->identity_url);
    char *token = mdv_auth_mint(k->key_file, k->issuer, k->audience, "gateway", TOKEN_TTL_S);

    if (!token) {
        mdv_warn("cannot sign a service token with %s", k->key_file);
        goto out;
    }
    if (mdv_httpc_post_json(url, token, pivot, k->timeout_ms, &status, &answer, err, sizeof(err)) !=
        0) {
        mdv_warn("identity's address lookup failed: %s", err);
        goto out;
    }
    if (status == 200 && !(address = gateway_known_address(answer)))
        mdv_warn("identity's address lookup answered an address of another shape");
    else if (status != 200 && status != 404)
        mdv_warn("identity's address lookup answered HTTP %ld", status);
out:
    json_decref(answer);
    free(token);
    free(url);
    return address;
}

json_t *gateway_known_json(const struct gateway_known *k, const json_t *me)
{
    if (!k->identity_url || !*k->identity_url || !k->key_file || !*k->key_file)
        return json_null();
    json_t *pivot = gateway_known_pivot(me);
    json_t *address = pivot ? ask_identity(k, pivot) : NULL;
    json_decref(pivot);
    return address ? json_pack("{s:o}", "address", address) : json_null();
}
