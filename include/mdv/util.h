/* Small helpers every module uses: allocation that aborts on failure (so
 * call sites stay readable), UUIDs, RFC 3339 times, bounded strings. */
#ifndef MDV_UTIL_H
#define MDV_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MDV_MUSTCHECK __attribute__((warn_unused_result))
#define MDV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MDV_XSTR(x) #x
#define MDV_STR(x) MDV_XSTR(x)
#define MDV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define MDV_UUID_LEN 37 /* 36 characters and the terminating NUL */
#define MDV_TIME_LEN 32 /* "2026-11-23T14:27:09.123456Z" and NUL */

void *mdv_xmalloc(size_t n);
void *mdv_xcalloc(size_t count, size_t n);
void *mdv_xrealloc(void *p, size_t n);
/* Returns a copy the caller frees; NULL stays NULL. */
char *mdv_xstrdup(const char *s);
/* Returns a formatted string the caller frees. */
char *mdv_xasprintf(const char *fmt, ...) MDV_PRINTF(1, 2);

/* Writes a new random (version 4) UUID, lower case. */
void mdv_uuid_new(char out[MDV_UUID_LEN]);
/* 1 when s is a canonical UUID (any version), else 0. */
int mdv_uuid_valid(const char *s);

/* Writes the current UTC time as RFC 3339 with microseconds. */
void mdv_time_now(char out[MDV_TIME_LEN]);
/* Writes t + days as RFC 3339 (UTC, whole seconds). */
void mdv_time_plus_days(time_t t, int days, char out[MDV_TIME_LEN]);
double mdv_monotonic_seconds(void);
void mdv_sleep_ms(long ms);

/* Reads a whole file; returns a NUL-terminated copy the caller frees (len,
 * if not NULL, gets its size), or NULL when it cannot be opened. */
char *mdv_read_file(const char *path, size_t *len);

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t mdv_strlcpy(char *dst, const char *src, size_t size);

#endif
