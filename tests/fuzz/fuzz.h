/* What the fuzz targets share: libFuzzer's entry points, the locale the
 * services run in (name checks depend on it), and a NUL-terminated copy of
 * the input for the APIs that take C strings. */
#ifndef MDV_TESTS_FUZZ_H
#define MDV_TESTS_FUZZ_H

#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As mdv_service_init does: iswalpha must know Unicode letters. */
static inline void fuzz_set_locale(void)
{
    setlocale(LC_CTYPE, "C.UTF-8");
}

/* The caller frees the copy. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = mdv_xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A broken invariant: libFuzzer keeps the input as a crash. */
#define FUZZ_REQUIRE(cond)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
