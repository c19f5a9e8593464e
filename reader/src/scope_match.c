/* SPDX-License-Identifier: MIT */
/* Scope pattern matcher: one channel name against a compiled pattern, without allocating. */
#include "scope_internal.h"

#include <string.h>

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool in_ranges(const struct shmchop_scope *sc, const struct scope_tok *t, uint32_t v)
{
    const struct scope_range *r = sc->ranges + t->arg;
    for (uint32_t k = 0; k < t->count; k++)
        if (v >= r[k].lo && v <= r[k].hi && (v - r[k].lo) % r[k].step == 0)
            return true;
    return false;
}

/*
 * A numeric set at s[i]: the whole digit run starting there, which must not
 * follow another digit. A run too long for 2^31-1 keeps being scanned (so
 * *adv is right) but matches nothing, as no set holds such a value.
 */
static bool digit_run(const struct shmchop_scope *sc, const struct scope_tok *t,
                      const unsigned char *s, size_t n, size_t i, size_t *adv)
{
    if (i >= n || !is_digit(s[i]) || (i > 0 && is_digit(s[i - 1])))
        return false;
    uint64_t v = 0;
    bool too_big = false;
    size_t j = i;
    for (; j < n && is_digit(s[j]); j++) {
        if (too_big)
            continue;
        v = v * 10 + (uint64_t)(s[j] - '0');
        too_big = v > INT32_MAX;
    }
    *adv = j - i;
    return !too_big && in_ranges(sc, t, (uint32_t)v);
}

/* Whether token t (not a star) matches at s[i]; *adv gets the bytes it takes. */
static bool tok_step(const struct shmchop_scope *sc, const struct scope_tok *t,
                     const unsigned char *s, size_t n, size_t i, size_t *adv)
{
    *adv = 1;
    switch (t->kind) {
    case SCOPE_TOK_LIT:
        return i < n && s[i] == t->byte;
    case SCOPE_TOK_ANY:
        return i < n;
    case SCOPE_TOK_CSET:
        return i < n && (sc->csets[t->arg].bits[s[i] >> 3] >> (s[i] & 7) & 1);
    case SCOPE_TOK_NSET:
        return digit_run(sc, t, s, n, i, adv);
    default:
        return false;
    }
}

/*
 * A glob against the whole name, by the classic single-star backtrack: on
 * a mismatch, only the most recent '*' takes one more byte. This is exact,
 * and O(tokens x name), because every other token is deterministic: it
 * matches at a given position in at most one way (a numeric set takes the
 * whole digit run or nothing). Then the earliest match of the tokens
 * between two stars also ends earliest (two numeric sets starting at
 * different run starts end in that same order), and whatever the rest
 * "*..." matches from a later position it also matches from an earlier one
 * (its star takes the gap; a numeric set looks at the neighbouring bytes of
 * the name, not of the match, so the gap changes nothing). So earlier
 * stars never need to be revisited.
 */
static bool glob_match(const struct shmchop_scope *sc, const struct scope_tok *t, size_t nt,
                       const unsigned char *s, size_t n)
{
    size_t ti = 0, si = 0;
    size_t star_t = SIZE_MAX, star_s = 0;
    for (;;) {
        size_t adv;
        if (ti < nt && t[ti].kind == SCOPE_TOK_STAR) {
            star_t = ++ti;
            star_s = si;
            continue;
        }
        if (ti == nt && si == n)
            return true;
        if (ti < nt && tok_step(sc, &t[ti], s, n, si, &adv)) {
            si += adv;
            ti++;
            continue;
        }
        if (star_t == SIZE_MAX || star_s >= n)
            return false;
        si = ++star_s;
        ti = star_t;
    }
}

static bool eval_list(const struct shmchop_scope *sc, uint32_t t, const unsigned char *s,
                      size_t n);

static bool eval_atom(const struct shmchop_scope *sc, const struct scope_term *tm,
                      const unsigned char *s, size_t n)
{
    if (tm->atom == SCOPE_ATOM_GROUP)
        return eval_list(sc, tm->first, s, n);
    return glob_match(sc, sc->toks + tm->first, tm->count, s, n);
}

/* The boolean fold of scope_internal.h; recursion depth is bounded by SHMCHOP_SCOPE_MAX_DEPTH. */
static bool eval_list(const struct shmchop_scope *sc, uint32_t t, const unsigned char *s,
                      size_t n)
{
    bool m = false;
    for (; t != SCOPE_NONE; t = sc->terms[t].next) {
        const struct scope_term *tm = &sc->terms[t];
        if (tm->op == SCOPE_OP_FIRST)
            m = eval_atom(sc, tm, s, n) != (bool)tm->neg;
        else if (tm->neg || tm->op == SCOPE_OP_DIFF)
            m = m && !eval_atom(sc, tm, s, n);
        else if (tm->op == SCOPE_OP_UNION)
            m = m || eval_atom(sc, tm, s, n);
        else
            m = m && eval_atom(sc, tm, s, n);
    }
    return m;
}

bool shmchop_scope_match(const shmchop_scope *scope, const char *name)
{
    if (!scope || !name)
        return false;
    return eval_list(scope, scope->root, (const unsigned char *)name, strlen(name));
}
