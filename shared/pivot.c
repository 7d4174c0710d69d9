/* Pivot identity normalisation. Accent folding uses iconv's
 * transliteration (glibc, C.UTF-8 rules): "É" -> "E", "Œ" -> "OE". */
#include "mdv/pivot.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

int mdv_pivot_fold(const char *name, char *out, size_t outlen)
{
    char ascii[512];
    char *in = (char *)name, *to = ascii;
    size_t inleft = strlen(name), outleft = sizeof(ascii) - 1;

    /* A descriptor per call: iconv_t is not safe to share across threads. */
    iconv_t cd = iconv_open("ASCII//TRANSLIT", "UTF-8");
    if (cd == (iconv_t)-1)
        return -1;
    size_t r = iconv(cd, &in, &inleft, &to, &outleft);
    iconv_close(cd);
    if (r == (size_t)-1)
        return -1;
    *to = '\0';

    size_t n = 0;
    for (const char *p = ascii; *p; p++) {
        /* iconv writes '?' for a letter it cannot transliterate: such a
         * name cannot be matched reliably, so refuse it. */
        if (*p == '?' && !strchr(name, '?'))
            return -1;
        if (!isalpha((unsigned char)*p))
            continue; /* spaces, hyphens, apostrophes */
        if (n + 1 >= outlen)
            return -1;
        out[n++] = (char)toupper((unsigned char)*p);
    }
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

int mdv_pivot_key(const char *family_name, const char *first_given_name, const char *sex,
                  const char *birth_date, const char *birth_place, char out[MDV_PIVOT_KEY_LEN])
{
    char family[128], given[128];
    if (!family_name || !first_given_name || !sex || !birth_date || !birth_place)
        return -1;
    if (!*sex || !*birth_date || !*birth_place)
        return -1;
    if (mdv_pivot_fold(family_name, family, sizeof(family)) != 0 ||
        mdv_pivot_fold(first_given_name, given, sizeof(given)) != 0)
        return -1;
    int n = snprintf(out, MDV_PIVOT_KEY_LEN, "%s|%s|%c|%.10s|%.5s", family, given,
                     toupper((unsigned char)sex[0]), birth_date, birth_place);
    return n > 0 && n < MDV_PIVOT_KEY_LEN ? 0 : -1;
}
