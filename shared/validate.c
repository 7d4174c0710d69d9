/* Field validation. Names are checked character by character in the
 * C.UTF-8 locale (set by mdv_service_init), where iswalpha knows Unicode. */
#include "mdv/validate.h"

#include "mdv/pivot.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include <wctype.h>

/* Space, hyphen, apostrophe and typographic apostrophe (U+2019). */
static int is_separator(wchar_t c)
{
    return c == L' ' || c == L'-' || c == L'\'' || c == L'\u2019';
}

#define LATIN_ONLY "must be written in Latin letters, as in the état civil"

/* Basic Latin, Latin-1 Supplement, Latin Extended-A and -B, Latin Extended
 * Additional: the état civil writes names in Latin letters. The letters of
 * these blocks that fold to A-Z are the Name pattern of the contract
 * (services/gateway/openapi.yaml); a test checks that both agree. */
static int in_latin_blocks(wchar_t c)
{
    /* Latin-1's letters start at U+00C0: before it, ª, µ and º are
     * "letters" to iswalpha but no name's. */
    return c < 0x80 || (c >= 0xC0 && c < 0x250) || (c >= 0x1E00 && c <= 0x1EFF);
}

const char *mdv_validate_name(const char *name)
{
    mbstate_t state;
    size_t count = 0, left = strlen(name);
    const char *p = name;
    wchar_t c, previous = L' ';

    memset(&state, 0, sizeof(state));
    if (left == 0)
        return "must not be empty";
    while (left > 0) {
        size_t n = mbrtowc(&c, p, left, &state);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0)
            return "must be valid UTF-8 text";
        int separator = is_separator(c);
        if (!separator && !iswalpha((wint_t)c))
            return "may contain only letters, spaces, hyphens and apostrophes";
        if (!separator && !in_latin_blocks(c))
            return LATIN_ONLY;
        if (separator && (count == 0 || is_separator(previous)))
            return "separators must stand between letters";
        previous = c;
        p += n;
        left -= n;
        if (++count > 100)
            return "must be at most 100 characters";
    }
    if (is_separator(previous))
        return "must end with a letter";
    /* Every administration matches on the folded pivot identity; a name
     * that does not fold (a letter iconv cannot transliterate) or folds
     * past the key's limit could never be matched. */
    return mdv_pivot_name_problem(name);
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

const char *mdv_validate_date(const char *date)
{
    int year, month, day;
    if (strlen(date) != 10 || date[4] != '-' || date[7] != '-')
        return "must be a date written YYYY-MM-DD";
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)date[i]))
            return "must be a date written YYYY-MM-DD";
    sscanf(date, "%4d-%2d-%2d", &year, &month, &day);
    if (year < 1850)
        return "must not be before 1850";
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return "is not a real calendar date";
    return NULL;
}

const char *mdv_validate_cog(const char *code)
{
    if (strlen(code) != 5)
        return "must be a 5-character INSEE code";
    int corsica = code[0] == '2' && (code[1] == 'A' || code[1] == 'B');
    for (int i = corsica ? 2 : 0; i < 5; i++)
        if (!isdigit((unsigned char)code[i]))
            return "must be 5 digits (2A or 2B then 3 digits in Corsica)";
    return NULL;
}

const char *mdv_validate_sex(const char *sex)
{
    return strcmp(sex, "M") == 0 || strcmp(sex, "F") == 0 ? NULL : "must be M or F";
}

int mdv_date_compare(const char *a, const char *b)
{
    /* YYYY-MM-DD sorts as text. */
    return strcmp(a, b);
}

void mdv_date_today(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}
