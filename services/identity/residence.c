/* Whether a declared dwelling is the main address the register holds
 * (identity.h, identity_address_same), without a database. Addresses are
 * typed by people: the lines are compared once folded (case and accents
 * folded, punctuation and spacing collapsed, the lines joined), so that
 * « 12, Rue des Lilas » is « 12 rue des lilas »; the postcode must be the
 * same, and the commune the same or the Paris, Lyon or Marseille commune
 * of the other's arrondissement municipal (INSEE COG: 75101-75120 in
 * 75056, 69381-69389 in 69123, 13201-13216 in 13055). Abbreviations are
 * not expanded: « bd » is not « boulevard », and the usager is then asked
 * for a proof of residence, never refused. */
#include <stdlib.h>
#include <string.h>

#include "identity.h"

/* Appends c to out (at most size - 1 bytes, NUL-terminated). */
static void put(char *out, size_t size, size_t *n, char c)
{
    if (*n + 1 < size)
        out[(*n)++] = c;
    out[*n] = '\0';
}

/* A separator, once between words and never leading. */
static void separate(char *out, size_t size, size_t *n)
{
    if (*n > 0 && out[*n - 1] != ' ')
        put(out, size, n, ' ');
}

/* The bytes of the UTF-8 character at s (1 for a stray byte). */
static size_t char_len(const unsigned char *s)
{
    size_t len = *s >= 0xF0 ? 4 : *s >= 0xE0 ? 3 : *s >= 0xC0 ? 2 : 1;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return len;
}

/* A letter beyond ASCII as the matching key folds it (« é » → E, « œ » →
 * OE), else a separator. */
static void fold_wide(const char *s, size_t len, char *out, size_t size, size_t *n)
{
    char one[8], folded[16];
    memcpy(one, s, len);
    one[len] = '\0';
    if (mdv_pivot_fold(one, folded, sizeof(folded)) != 0) {
        separate(out, size, n);
        return;
    }
    for (const char *f = folded; *f; f++)
        put(out, size, n, *f);
}

void identity_address_fold(const char *text, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        size_t len = char_len(p);
        if (len > 1)
            fold_wide((const char *)p, len, out, size, &n);
        else if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z'))
            put(out, size, &n, (char)*p);
        else if (*p >= 'a' && *p <= 'z')
            put(out, size, &n, (char)(*p - 'a' + 'A'));
        else
            separate(out, size, &n);
        p += len;
    }
    if (n > 0 && out[n - 1] == ' ')
        out[--n] = '\0';
}

/* The commune an arrondissement municipal belongs to, else the code. */
static const char *commune_of(const char *code)
{
    static const struct {
        const char *commune;
        int first, last;
    } cities[] = {{"75056", 75101, 75120}, {"69123", 69381, 69389}, {"13055", 13201, 13216}};
    int value = atoi(code);
    if (strlen(code) != 5 || strspn(code, "0123456789") != 5)
        return code;
    for (size_t i = 0; i < MDV_ARRAY_LEN(cities); i++)
        if (value >= cities[i].first && value <= cities[i].last)
            return cities[i].commune;
    return code;
}

int identity_address_same(const identity_address_t *dwelling, const char *lines,
                          const char *postal_code, const char *commune_code)
{
    char declared[1024] = "", recorded[1024];
    size_t n = 0;
    if (strcmp(dwelling->postal_code, postal_code) != 0 ||
        strcmp(commune_of(dwelling->commune_code), commune_of(commune_code)) != 0)
        return 0;
    for (size_t i = 0; i < dwelling->n_lines; i++) {
        char line[512];
        identity_address_fold(dwelling->lines[i], line, sizeof(line));
        if (*line)
            n += (size_t)snprintf(declared + n, sizeof(declared) - n, "%s%s", n ? " " : "", line);
        if (n >= sizeof(declared))
            return 0;
    }
    identity_address_fold(lines, recorded, sizeof(recorded));
    return strcmp(declared, recorded) == 0;
}
