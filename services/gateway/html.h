/* HTML built in C for the server-rendered pages (pages.c): a growing
 * buffer where markup the code writes goes in as is and every value goes
 * in escaped, so that nothing a usager, an administration or a partner
 * typed can become markup. */
#ifndef GATEWAY_HTML_H
#define GATEWAY_HTML_H

#include <stddef.h>
#include <time.h>

#include "mdv/util.h"

struct html {
    char *buf; /* NUL-terminated; owned */
    size_t len, cap;
};

/* Markup written by the code: never a value from outside. */
void html_raw(struct html *h, const char *markup);
/* A value: &, <, >, " and ' escaped, so it is safe in text and in a
 * quoted attribute. NULL writes nothing. */
void html_text(struct html *h, const char *value);
/* Formatted markup; every %s is passed through html_text, so a format
 * holds markup and its arguments are values. Only %s, %d and %%. */
void html_printf(struct html *h, const char *format, ...);
/* The text built so far, which the caller now owns (h is emptied). */
char *html_take(struct html *h);
void html_free(struct html *h);

/* value escaped as html_text does, in a new string the caller frees. */
char *html_escape(const char *value);

/* A délai for the usager, in French: "12 min" under an hour (at least 1
 * for any time at all), "5 h" under two days, else days with one decimal
 * ("3,5 jours"). */
void html_duration(double seconds, char *out, size_t len);
/* An RFC 3339 UTC time as the API writes it ("2026-12-01T15:02:11.48Z")
 * in *out, to the second: 0, or -1 when it is not one. */
int html_parse_time(const char *rfc3339, time_t *out) MDV_MUSTCHECK;
/* That time for the usager: "1er décembre 2026 à 15 h 02 (UTC)"; "" when
 * it is not a time. */
void html_date(const char *rfc3339, char *out, size_t len);

#endif
