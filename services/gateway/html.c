/* The HTML buffer of html.h. */
#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append(struct html *h, const char *s, size_t n)
{
    if (h->len + n + 1 > h->cap) {
        size_t cap = h->cap ? h->cap : 1024;
        while (cap < h->len + n + 1)
            cap *= 2;
        h->buf = mdv_xrealloc(h->buf, cap);
        h->cap = cap;
    }
    memcpy(h->buf + h->len, s, n);
    h->len += n;
    h->buf[h->len] = '\0';
}

void html_raw(struct html *h, const char *markup)
{
    append(h, markup, strlen(markup));
}

/* The entity of a character that must not reach the page as itself. */
static const char *entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

void html_text(struct html *h, const char *value)
{
    if (!value)
        return;
    const char *run = value;
    for (const char *p = value; *p; p++) {
        const char *e = entity(*p);
        if (!e)
            continue;
        append(h, run, (size_t)(p - run));
        append(h, e, strlen(e));
        run = p + 1;
    }
    append(h, run, strlen(run));
}

void html_printf(struct html *h, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    const char *run = format;
    for (const char *p = format; *p; p++) {
        if (p[0] != '%' || (p[1] != 's' && p[1] != 'd' && p[1] != '%'))
            continue;
        append(h, run, (size_t)(p - run));
        if (p[1] == '%') {
            html_raw(h, "%");
        } else if (p[1] == 's') {
            html_text(h, va_arg(ap, const char *));
        } else {
            char number[24];
            snprintf(number, sizeof(number), "%d", va_arg(ap, int));
            html_raw(h, number);
        }
        p++;
        run = p + 1;
    }
    append(h, run, strlen(run));
    va_end(ap);
}

char *html_take(struct html *h)
{
    char *out = h->buf ? h->buf : mdv_xstrdup("");
    h->buf = NULL;
    h->len = h->cap = 0;
    return out;
}

void html_free(struct html *h)
{
    free(h->buf);
    h->buf = NULL;
    h->len = h->cap = 0;
}

char *html_escape(const char *value)
{
    struct html h = {0};
    html_text(&h, value);
    return html_take(&h);
}

void html_duration(double seconds, char *out, size_t len)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds < 3600) {
        snprintf(out, len, "%.0f min", seconds / 60 < 1 && seconds > 0 ? 1 : seconds / 60);
    } else if (seconds < 2 * 86400) {
        snprintf(out, len, "%.0f h", seconds / 3600);
    } else {
        /* Days with one decimal, written the French way (a comma). */
        snprintf(out, len, "%.1f jours", seconds / 86400);
        char *dot = strchr(out, '.');
        if (dot)
            *dot = ',';
    }
}

int html_parse_time(const char *rfc3339, time_t *out)
{
    struct tm tm = {0};
    int n = 0;
    if (!rfc3339 || sscanf(rfc3339, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return 0;
}

void html_date(const char *rfc3339, char *out, size_t len)
{
    static const char *const months[] = {"janvier",   "février", "mars",     "avril",
                                         "mai",       "juin",    "juillet",  "août",
                                         "septembre", "octobre", "novembre", "décembre"};
    time_t t;
    struct tm tm;
    if (html_parse_time(rfc3339, &t) != 0 || !gmtime_r(&t, &tm)) {
        mdv_strlcpy(out, "", len);
        return;
    }
    snprintf(out, len, "%d%s %s %d à %02d h %02d (UTC)", tm.tm_mday, tm.tm_mday == 1 ? "er" : "",
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
}
