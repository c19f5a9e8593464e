/* SPDX-License-Identifier: MIT */
/* Fuzz harness: scope patterns (SPEC R4.12, PATTERNS.md) compiled and matched. */

/*
 * Input: the first line is the pattern, every further line a channel name
 * (at most MAX_NAMES of them, each cut to MAX_NAME bytes so the run time
 * stays bounded). Each string gets its own exact-size heap copy, so a read
 * past its NUL is an ASan report.
 *
 * Beyond "never crash, never hang" the harness checks the compile contract
 * of scope.h and the set algebra of PATTERNS.md with identities that hold
 * for every valid pattern P and its selection S:
 *   (P) = P      (P)|(P) = (P)&(P) = (P) (P) = S
 *   ^(P) = * ~ (P) = all - S      (P) ~ (P) = (P) ^(P) = nothing
 * and that a name of plain letters and digits, used as a pattern, selects
 * itself and nothing longer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>
#include <shmchop/scope.h>

#include "fuzz_common.h"

#define MAX_NAMES 64
#define MAX_NAME 300

/* How a derived pattern relates to P's selection S. */
enum relation { SAME, COMPLEMENT, NOTHING };

static const struct derived {
    const char *before, *after;
    enum relation rel;
} derived[] = {
    {"(", ")", SAME},
    {"(", ") | (P)", SAME}, /* "(P)" stands for the pattern again */
    {"(", ") & (P)", SAME},
    {"(", ") (P)", SAME},
    {"^(", ")", COMPLEMENT},
    {"* ~ (", ")", COMPLEMENT},
    {"(", ") ~ (P)", NOTHING},
    {"(", ") ^(P)", NOTHING},
};

/* A NUL-terminated exact-size heap copy of s[0, len), cut at any NUL. */
static char *dup_exact(const uint8_t *s, size_t len)
{
    const uint8_t *nul = memchr(s, 0, len);
    if (nul)
        len = (size_t)(nul - s);
    char *out = malloc(len + 1);
    FUZZ_CHECK(out != NULL);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

/* Compile, checking scope.h's contract. Returns the scope or NULL. */
static shmchop_scope *compile(const char *pattern)
{
    shmchop_scope *sc = (shmchop_scope *)1; /* must be overwritten */
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = shmchop_scope_compile(pattern, &sc, err, sizeof err);
    if (rc == 0) {
        FUZZ_CHECK(sc != NULL);
        FUZZ_CHECK(strcmp(shmchop_scope_source(sc), pattern) == 0);
        return sc;
    }
    FUZZ_CHECK(sc == NULL);
    FUZZ_CHECK(rc == SHMCHOP_E_BAD_PATTERN || rc == -ENOMEM);
    if (rc == SHMCHOP_E_BAD_PATTERN) {
        size_t n = strnlen(err, sizeof err);
        FUZZ_CHECK(n > 0 && n < sizeof err);   /* NUL-terminated, not empty */
        FUZZ_CHECK(memchr(err, '\n', n) == NULL); /* one line (R6.1) */
    }
    return NULL;
}

/* Replace each "P" in derived[i].after by the pattern itself. */
static char *derive(const struct derived *d, const char *p)
{
    size_t plen = strlen(p), n = strlen(d->before) + plen + 1;
    for (const char *a = d->after; *a; a++)
        n += *a == 'P' ? plen : 1;
    char *out = malloc(n);
    FUZZ_CHECK(out != NULL);
    char *w = out;
    w = stpcpy(w, d->before);
    w = stpcpy(w, p);
    for (const char *a = d->after; *a; a++) {
        if (*a == 'P')
            w = stpcpy(w, p);
        else
            *w++ = *a;
    }
    *w = '\0';
    return out;
}

static bool plain_name(const char *name)
{
    if (!*name)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            return false;
    return true;
}

/* A plain name is a pattern that selects exactly itself. */
static void check_literal(const char *name)
{
    shmchop_scope *sc = compile(name);
    FUZZ_CHECK(sc != NULL);
    FUZZ_CHECK(shmchop_scope_match(sc, name));
    size_t len = strlen(name);
    char *longer = malloc(len + 2);
    FUZZ_CHECK(longer != NULL);
    memcpy(longer, name, len);
    longer[len] = 'x';
    longer[len + 1] = '\0';
    FUZZ_CHECK(!shmchop_scope_match(sc, longer));
    FUZZ_CHECK(!shmchop_scope_match(sc, longer + 1) || strcmp(longer + 1, name) == 0);
    free(longer);
    shmchop_scope_free(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    char *pattern = dup_exact(data, plen);

    char *names[MAX_NAMES];
    size_t n_names = 0;
    size_t pos = nl ? plen + 1 : size;
    while (pos < size && n_names < MAX_NAMES) {
        const uint8_t *end = memchr(data + pos, '\n', size - pos);
        size_t len = end ? (size_t)(end - (data + pos)) : size - pos;
        names[n_names++] = dup_exact(data + pos, len < MAX_NAME ? len : MAX_NAME);
        pos += len + 1;
    }

    shmchop_scope *sc = compile(pattern);
    shmchop_scope *all = compile("*");
    FUZZ_CHECK(all != NULL);
    FUZZ_CHECK(!shmchop_scope_match(sc, NULL));
    bool sel[MAX_NAMES];
    for (size_t i = 0; i < n_names; i++) {
        FUZZ_CHECK(shmchop_scope_match(all, names[i]));
        sel[i] = shmchop_scope_match(sc, names[i]); /* NULL scope: false */
        FUZZ_CHECK(sel[i] == shmchop_scope_match(sc, names[i]));
        if (plain_name(names[i]) && strlen(names[i]) < SHMCHOP_SCOPE_MAX_LEN)
            check_literal(names[i]);
    }

    /* The identities are checked only where the derived pattern compiles:
     * wrapping may cross the length or nesting limits. */
    for (size_t d = 0; sc && d < sizeof derived / sizeof derived[0]; d++) {
        char *text = derive(&derived[d], pattern);
        shmchop_scope *ds = compile(text);
        for (size_t i = 0; ds && i < n_names; i++) {
            bool m = shmchop_scope_match(ds, names[i]);
            bool want = derived[d].rel == SAME ? sel[i]
                        : derived[d].rel == COMPLEMENT ? !sel[i] : false;
            if (m != want) {
                fprintf(stderr, "scope '%s' vs '%s' on name '%s': %d, want %d\n", text, pattern,
                        names[i], m, want);
                FUZZ_CHECK(m == want);
            }
        }
        shmchop_scope_free(ds);
        free(text);
    }

    shmchop_scope_free(all);
    shmchop_scope_free(sc);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(pattern);
    return 0;
}
