/* SPDX-License-Identifier: MIT */
/* Scope patterns: select channels by name (SPEC R4.12, PATTERNS.md). */
#ifndef SHMCHOP_SCOPE_H
#define SHMCHOP_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include <shmchop/defs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest pattern accepted, in bytes without the NUL. */
#define SHMCHOP_SCOPE_MAX_LEN 4096
/* Deepest nesting of parentheses accepted. */
#define SHMCHOP_SCOPE_MAX_DEPTH 64

/* A compiled pattern; opaque, immutable once compiled. */
typedef struct shmchop_scope shmchop_scope;

/*
 * Compile `pattern` into *out (owned by the caller, released with
 * shmchop_scope_free()). A pattern of blanks only (or "") compiles and
 * selects nothing.
 *
 * Returns 0; SHMCHOP_E_BAD_PATTERN with a one-line message in err (errlen
 * bytes, always NUL-terminated, may be NULL) naming the pattern, the 0-based
 * byte position and the fault, e.g. "scope 'chan[': unbalanced '[' at 4";
 * -ENOMEM; or SHMCHOP_E_USAGE when pattern or out is NULL. *out is NULL on
 * every failure.
 */
SHMCHOP_API int shmchop_scope_compile(const char *pattern, shmchop_scope **out, char *err,
                                      size_t errlen);

/* Release a compiled pattern; NULL is accepted. */
SHMCHOP_API void shmchop_scope_free(shmchop_scope *scope);

/*
 * Whether channel `name` is selected. Allocates nothing and makes no system
 * call (it runs on every cook); the scope is not modified, so any number of
 * threads may match against one scope at once. Time is O(pattern x name)
 * in the worst case, never exponential. A NULL scope or name selects nothing.
 */
SHMCHOP_API bool shmchop_scope_match(const shmchop_scope *scope, const char *name);

/* The pattern text the scope was compiled from (a copy owned by the scope). */
SHMCHOP_API const char *shmchop_scope_source(const shmchop_scope *scope);

#ifdef __cplusplus
}
#endif
#endif
