/* Pivot identity normalisation. Accent folding uses iconv's
 * transliteration (glibc, C.UTF-8 rules): "É" -> "E", "Œ" -> "OE". */
#include "mdv/pivot.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

#define STR(x) #x
#define XSTR(x) STR(x)

_Static_assert(MDV_PIVOT_KEY_LEN >= 2 * MDV_PIVOT_NAME_MAX + sizeof("||F|YYYY-MM-DD|2A004"),
               "a key of two names of MDV_PIVOT_NAME_MAX letters fits in MDV_PIVOT_KEY_LEN");

enum fold_result { FOLDED, NOT_LATIN, TOO_LONG };

/* iconv's output for any name short enough, separators included. */
#define ASCII_MAX (4 * MDV_PIVOT_NAME_MAX)

static enum fold_result fold(const char *name, char out[MDV_PIVOT_NAME_MAX + 1])
{
    char ascii[ASCII_MAX + 1];
    char *in = (char *)name, *to = ascii;
    size_t inleft = strlen(name), outleft = ASCII_MAX;

    /* A descriptor per call: iconv_t is not safe to share across threads. */
    iconv_t cd = iconv_open("ASCII//TRANSLIT", "UTF-8");
    if (cd == (iconv_t)-1)
        return NOT_LATIN;
    size_t r = iconv(cd, &in, &inleft, &to, &outleft);
    int error = errno;
    iconv_close(cd);
    if (r == (size_t)-1)
        return error == E2BIG ? TOO_LONG : NOT_LATIN;
    *to = '\0';

    size_t n = 0;
    for (const char *p = ascii; *p; p++) {
        /* iconv writes '?' for a letter it cannot transliterate: such a
         * name cannot be matched reliably, so refuse it. */
        if (*p == '?' && !strchr(name, '?'))
            return NOT_LATIN;
        if (!isalpha((unsigned char)*p))
            continue; /* spaces, hyphens, apostrophes */
        if (n == MDV_PIVOT_NAME_MAX)
            return TOO_LONG;
        out[n++] = (char)toupper((unsigned char)*p);
    }
    out[n] = '\0';
    return n > 0 ? FOLDED : NOT_LATIN;
}

int mdv_pivot_fold(const char *name, char *out, size_t outlen)
{
    char folded[MDV_PIVOT_NAME_MAX + 1];
    if (fold(name, folded) != FOLDED)
        return -1;
    size_t n = strlen(folded);
    if (n >= outlen)
        return -1;
    memcpy(out, folded, n + 1);
    return 0;
}

const char *mdv_pivot_name_problem(const char *name)
{
    char folded[MDV_PIVOT_NAME_MAX + 1];
    switch (fold(name, folded)) {
    case FOLDED:
        return NULL;
    case TOO_LONG:
        return "must have at most " XSTR(MDV_PIVOT_NAME_MAX) " letters once folded to A-Z for "
                                                             "matching (Œ, Æ and ß count as two)";
    default:
        return "must be written in Latin letters, as in the état civil";
    }
}

int mdv_pivot_key(const char *family_name, const char *first_given_name, const char *sex,
                  const char *birth_date, const char *birth_place, char out[MDV_PIVOT_KEY_LEN])
{
    char family[MDV_PIVOT_NAME_MAX + 1], given[MDV_PIVOT_NAME_MAX + 1];
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
