/* What the unit tests share: cmocka with the headers it needs first, a way
 * to report every failing row of a table before failing the test, and a
 * capture of stderr for the functions that explain themselves there. */
#ifndef MDV_TESTS_UNIT_H
#define MDV_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Table rows: print each mismatch, count it; assert the count at the end
 * so one run shows every wrong row, not only the first. */
#define ROW_FAILED(failures, ...)                                                                  \
    do {                                                                                           \
        print_error(__VA_ARGS__);                                                                  \
        print_error("\n");                                                                         \
        (failures)++;                                                                              \
    } while (0)

/* Redirects stderr into a temporary file between capture_start and
 * capture_end. Put no assertion in between: a failing one would leave
 * stderr redirected. */
struct capture {
    int saved_fd;
    FILE *file;
};

static inline void capture_start(struct capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was written there (the caller frees). */
static inline char *capture_end(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved_fd, STDERR_FILENO);
    close(c->saved_fd);
    long size = ftell(c->file);
    char *text = malloc(size > 0 ? (size_t)size + 1 : 1);
    assert_non_null(text);
    rewind(c->file);
    size_t got = size > 0 ? fread(text, 1, (size_t)size, c->file) : 0;
    text[got] = '\0';
    fclose(c->file);
    return text;
}

/* Number of non-overlapping occurrences of needle in haystack. */
static inline int count_occurrences(const char *haystack, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

/* Creates a private folder under $TMPDIR (or /tmp); returns its path, which
 * the caller frees after removing what it put there. */
static inline char *make_temp_dir(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    size_t len = strlen(tmp && *tmp ? tmp : "/tmp") + strlen(name) + 16;
    char *path = malloc(len);
    assert_non_null(path);
    snprintf(path, len, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    assert_non_null(mkdtemp(path));
    return path;
}

#endif
