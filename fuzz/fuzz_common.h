/* SPDX-License-Identifier: MIT */
/* Shared by the fuzz harnesses: checks that stay on in release builds. */
#ifndef SHMCHOP_FUZZ_COMMON_H
#define SHMCHOP_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The one entry point every harness implements (libFuzzer's signature), so
 * the same source links with driver.c, libFuzzer or AFL++. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * FUZZ_CHECK(cond): an invariant of the library that no input may break.
 * Unlike assert() it does not vanish under NDEBUG: the fuzz builds are
 * RelWithDebInfo, and a check that compiles away finds nothing. A violation
 * prints where and what, then abort()s, which every engine records as a
 * crash.
 */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            fuzz_fail(__FILE__, __LINE__, #cond);                              \
    } while (0)

/* FUZZ_CHECK_EQ(a, b): the same for two integers, printing both values. */
#define FUZZ_CHECK_EQ(a, b)                                                    \
    do {                                                                       \
        long long fuzz_a_ = (long long)(a), fuzz_b_ = (long long)(b);          \
        if (fuzz_a_ != fuzz_b_)                                                \
            fuzz_fail_eq(__FILE__, __LINE__, #a, fuzz_a_, #b, fuzz_b_);        \
    } while (0)

static inline _Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", file, line, what);
    abort();
}

static inline _Noreturn void fuzz_fail_eq(const char *file, int line, const char *an,
                                          long long a, const char *bn, long long b)
{
    fprintf(stderr, "%s:%d: fuzz invariant violated: %s == %s (%lld != %lld)\n", file, line,
            an, bn, a, b);
    abort();
}

/* Little-endian reads of the raw input, for harnesses that look at the
 * bytes the library parsed (no alignment assumed). */
static inline uint32_t fuzz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
