/* SPDX-License-Identifier: MIT */
/* The compiled form of a scope pattern, shared by its compiler and its matcher. */
#ifndef SHMCHOP_SCOPE_INTERNAL_H
#define SHMCHOP_SCOPE_INTERNAL_H

#include <shmchop/scope.h>

#include <stdint.h>

/*
 * A pattern compiles to a forest of terms. A list of terms (the whole
 * pattern, or the inside of a pair of parentheses) is a chain linked by
 * `next`; each term carries the operator that joins it to the terms before
 * it, a '^' flag and an atom: either a glob (a run of tokens) or a group
 * (the head of a nested chain).
 *
 * The set algebra of PATTERNS.md, folded left to right, reduces for one
 * name to a boolean fold, so matching needs no set and no memory:
 *   first term      m = in(S)          (with '^': m = !in(S))
 *   ' ' or '|'      m = m || in(S)
 *   '&'             m = m && in(S)
 *   '~' or any '^'  m = m && !in(S)
 * A group is a nested fold.
 */

#define SCOPE_NONE UINT32_MAX

enum scope_tok_kind {
    SCOPE_TOK_LIT,  /* one byte equal to `byte` */
    SCOPE_TOK_ANY,  /* '?': any one byte */
    SCOPE_TOK_STAR, /* '*': any run of bytes, the empty run included */
    SCOPE_TOK_CSET, /* '[xyz]': one byte in csets[arg] */
    SCOPE_TOK_NSET, /* '[2-5,9]': a whole digit run whose value is in ranges[arg .. arg+count) */
};

struct scope_tok {
    uint8_t kind;
    uint8_t byte;
    uint32_t arg;
    uint32_t count;
};

enum scope_op {
    SCOPE_OP_FIRST, /* first term of its list: no operator */
    SCOPE_OP_UNION, /* spaces or '|' */
    SCOPE_OP_AND,   /* '&' */
    SCOPE_OP_DIFF,  /* '~' */
};

enum scope_atom {
    SCOPE_ATOM_GLOB,  /* tokens toks[first .. first+count) */
    SCOPE_ATOM_GROUP, /* nested chain starting at terms[first] */
};

struct scope_term {
    uint8_t op;   /* enum scope_op */
    uint8_t neg;  /* led by '^' */
    uint8_t atom; /* enum scope_atom */
    uint32_t first;
    uint32_t count;
    uint32_t next; /* next term of the same list, or SCOPE_NONE */
};

/* Members lo, lo+step, ... up to hi; a single number n is n-n:1. */
struct scope_range {
    uint32_t lo;
    uint32_t hi;
    uint32_t step;
};

/* One bit per byte value. */
struct scope_cset {
    uint8_t bits[32];
};

/* One allocation holds the struct, its arrays and the source text. */
struct shmchop_scope {
    uint32_t root; /* head of the top-level chain; SCOPE_NONE selects nothing */
    uint32_t n_terms, n_toks, n_ranges, n_csets;
    struct scope_term *terms;
    struct scope_tok *toks;
    struct scope_range *ranges;
    struct scope_cset *csets;
    char *source;
};

#endif
