/* SPDX-License-Identifier: MIT */
/* Scope pattern compiler: the PATTERNS.md grammar to the term forest of scope_internal.h. */
#include "scope_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>

/* Pattern bytes quoted in an error message; a longer pattern ends in "...". */
#define SHOWN_MAX 64

/*
 * The parser runs twice over the same text: a first pass only validates and
 * counts (sc == NULL), so the second pass can fill one allocation of exactly
 * the right size and can no longer fail.
 */
struct parser {
    const char *pat;
    size_t pos;
    char *err;
    size_t errlen;
    struct shmchop_scope *sc; /* NULL while counting */
    uint32_t n_terms, n_toks, n_ranges, n_csets;
};

static bool is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_op(int c)
{
    return c == '|' || c == '&' || c == '~';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Bytes that end a glob: what may follow a term. */
static bool ends_glob(int c)
{
    return c == '\0' || is_blank(c) || is_op(c) || c == '(' || c == ')';
}

static int peek(const struct parser *p)
{
    return (unsigned char)p->pat[p->pos];
}

/* Skip blanks; whether there were any. */
static bool skip_blanks(struct parser *p)
{
    size_t start = p->pos;
    while (is_blank(peek(p)))
        p->pos++;
    return p->pos != start;
}

/* The pattern, cut to SHOWN_MAX bytes, with quotes, backslashes and
 * non-printable bytes escaped so the message stays one line. */
static void quote_pattern(char *out, size_t cap, const char *pat)
{
    size_t o = 0, i = 0;
    for (; pat[i] && i < SHOWN_MAX; i++) {
        unsigned char c = (unsigned char)pat[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            o += (size_t)snprintf(out + o, cap - o, "%c", c);
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (pat[i])
        snprintf(out + o, cap - o, "...");
}

/* A byte as a message shows it: 'b', or 0x07 when not printable. */
static const char *byte_name(char buf[16], int c)
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "0x%02x", (unsigned)(unsigned char)c);
    return buf;
}

/* Write "scope '<pattern>': <what> at <pos>" into the caller's buffer. */
__attribute__((format(printf, 3, 4))) static int fail(const struct parser *p, size_t pos,
                                                      const char *fmt, ...)
{
    if (!p->err || !p->errlen)
        return SHMCHOP_E_BAD_PATTERN;
    char what[128];
    char shown[SHOWN_MAX * 4 + 4]; /* "\xNN" per byte, "..." and the NUL */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    quote_pattern(shown, sizeof shown, p->pat);
    snprintf(p->err, p->errlen, "scope '%s': %s at %zu", shown, what, pos);
    return SHMCHOP_E_BAD_PATTERN;
}

static void emit_tok(struct parser *p, enum scope_tok_kind kind, uint8_t byte, uint32_t arg,
                     uint32_t count)
{
    uint32_t i = p->n_toks++;
    if (p->sc)
        p->sc->toks[i] = (struct scope_tok){ .kind = (uint8_t)kind, .byte = byte, .arg = arg,
                                             .count = count };
}

static void emit_range(struct parser *p, uint32_t lo, uint32_t hi, uint32_t step)
{
    uint32_t i = p->n_ranges++;
    if (p->sc)
        p->sc->ranges[i] = (struct scope_range){ .lo = lo, .hi = hi, .step = step };
}

/* A decimal number at *i; the caller has checked there is a first digit. */
static int read_number(const struct parser *p, size_t *i, uint32_t *v)
{
    size_t start = *i;
    uint64_t acc = 0;
    for (; is_digit(p->pat[*i]); (*i)++) {
        acc = acc * 10 + (uint64_t)(p->pat[*i] - '0');
        if (acc > INT32_MAX)
            return fail(p, start, "number beyond 2^31-1");
    }
    *v = (uint32_t)acc;
    return 0;
}

/*
 * One item of a numeric set at *i: n, a-b or a-b:step, followed by ',' or
 * the closing ']' (the caller has checked that only digits , - : come
 * before that ']', so the scan cannot run past it).
 */
static int parse_numeric_item(struct parser *p, size_t *i)
{
    size_t start = *i;
    int c = (unsigned char)p->pat[start];
    if (c == ',' || c == ']')
        return fail(p, start, "empty item in numeric set");
    if (!is_digit(c))
        return fail(p, start, "missing number before '%c'", c);
    uint32_t lo = 0, hi, step = 1;
    int rc = read_number(p, i, &lo);
    if (rc)
        return rc;
    hi = lo;
    if (p->pat[*i] == ':')
        return fail(p, *i, "step ':' without a range");
    if (p->pat[*i] == '-') {
        size_t dash = (*i)++;
        if (!is_digit(p->pat[*i]))
            return fail(p, dash, "missing number after '-'");
        if ((rc = read_number(p, i, &hi)))
            return rc;
        if (lo > hi)
            return fail(p, start, "reversed range %u-%u", lo, hi);
        if (p->pat[*i] == ':') {
            size_t colon = (*i)++;
            if (!is_digit(p->pat[*i]))
                return fail(p, colon, "missing step after ':'");
            size_t step_at = *i;
            if ((rc = read_number(p, i, &step)))
                return rc;
            if (step == 0)
                return fail(p, step_at, "range step 0");
        }
    }
    c = (unsigned char)p->pat[*i];
    if (c != ',' && c != ']')
        return fail(p, *i, "unexpected '%c' in numeric set", c);
    emit_range(p, lo, hi, step);
    return 0;
}

/* The numeric set between '[' at open and ']' at close. */
static int parse_numeric_set(struct parser *p, size_t open, size_t close)
{
    uint32_t first = p->n_ranges;
    size_t i = open + 1;
    for (;;) {
        int rc = parse_numeric_item(p, &i);
        if (rc)
            return rc;
        if (i == close)
            break;
        i++; /* the ',' */
    }
    emit_tok(p, SCOPE_TOK_NSET, 0, first, p->n_ranges - first);
    return 0;
}

/* The character set between '[' at open and ']' at close: the bytes in it, '-' included. */
static void emit_char_set(struct parser *p, size_t open, size_t close)
{
    uint32_t idx = p->n_csets++;
    if (p->sc) {
        struct scope_cset *cs = &p->sc->csets[idx];
        memset(cs, 0, sizeof *cs);
        for (size_t i = open + 1; i < close; i++) {
            unsigned char c = (unsigned char)p->pat[i];
            cs->bits[c >> 3] |= (uint8_t)(1u << (c & 7));
        }
    }
    emit_tok(p, SCOPE_TOK_CSET, 0, idx, 0);
}

/*
 * A '[' set at p->pos. A blank, another '[' or the end before the ']'
 * makes the '[' unbalanced: none of them can be meant inside a set (channel
 * names hold no blanks or brackets), and stopping there points the message
 * at the '[' the user forgot to close.
 */
static int parse_set(struct parser *p)
{
    size_t open = p->pos, i = open + 1;
    bool numeric = true;
    for (; p->pat[i] != ']'; i++) {
        int c = (unsigned char)p->pat[i];
        if (c == '\0' || c == '[' || is_blank(c))
            return fail(p, open, "unbalanced '['");
        if (!is_digit(c) && c != ',' && c != '-' && c != ':')
            numeric = false;
    }
    if (i == open + 1)
        return fail(p, open, "empty '[]'");
    p->pos = i + 1;
    if (numeric)
        return parse_numeric_set(p, open, i);
    emit_char_set(p, open, i);
    return 0;
}

/* A glob at p->pos (the caller has checked it is not empty); "**" is kept as one '*'. */
static int parse_glob(struct parser *p, uint32_t *first, uint32_t *count)
{
    bool after_star = false;
    *first = p->n_toks;
    for (int c = peek(p); !ends_glob(c); c = peek(p)) {
        int rc = 0;
        if (c == '*') {
            if (!after_star)
                emit_tok(p, SCOPE_TOK_STAR, 0, 0, 0);
            after_star = true;
            p->pos++;
            continue;
        }
        after_star = false;
        switch (c) {
        case '?':
            emit_tok(p, SCOPE_TOK_ANY, 0, 0, 0);
            p->pos++;
            break;
        case '[':
            rc = parse_set(p);
            break;
        case ']':
            return fail(p, p->pos, "unbalanced ']'");
        case '^':
            return fail(p, p->pos, "misplaced '^' (it may only start a term)");
        default:
            emit_tok(p, SCOPE_TOK_LIT, (uint8_t)c, 0, 0);
            p->pos++;
            break;
        }
        if (rc)
            return rc;
    }
    *count = p->n_toks - *first;
    return 0;
}

static int parse_list(struct parser *p, unsigned depth, size_t open, uint32_t *head);

/* One term at p->pos: ['^'] then a glob or a parenthesised list. */
static int parse_term(struct parser *p, unsigned depth, enum scope_op op, uint32_t *idx)
{
    bool neg = false;
    if (peek(p) == '^') {
        size_t caret = p->pos++;
        int c = peek(p);
        if (c == '\0' || is_blank(c) || is_op(c) || c == ')')
            return fail(p, caret, "missing pattern after '^'");
        neg = true;
    }
    uint32_t t = p->n_terms++;
    uint32_t first = SCOPE_NONE, count = 0;
    enum scope_atom atom = SCOPE_ATOM_GLOB;
    int rc;
    *idx = t;
    if (peek(p) == '(') {
        if (depth >= SHMCHOP_SCOPE_MAX_DEPTH)
            return fail(p, p->pos, "parentheses nested deeper than %d", SHMCHOP_SCOPE_MAX_DEPTH);
        size_t paren = p->pos++;
        atom = SCOPE_ATOM_GROUP;
        rc = parse_list(p, depth + 1, paren, &first);
    } else {
        rc = parse_glob(p, &first, &count);
    }
    if (rc)
        return rc;
    if (p->sc)
        p->sc->terms[t] = (struct scope_term){ .op = (uint8_t)op, .neg = neg, .atom = (uint8_t)atom,
                                               .first = first, .count = count,
                                               .next = SCOPE_NONE };
    return 0;
}

static enum scope_op op_of(int c)
{
    return c == '&' ? SCOPE_OP_AND : c == '~' ? SCOPE_OP_DIFF : SCOPE_OP_UNION;
}

/*
 * A list of terms joined by separators, up to the end (depth 0) or up to
 * and including the ')' matching the '(' at `open` (depth > 0). *head gets
 * the first term, SCOPE_NONE for a blank pattern.
 */
static int parse_list(struct parser *p, unsigned depth, size_t open, uint32_t *head)
{
    enum scope_op op = SCOPE_OP_FIRST;
    uint32_t prev = SCOPE_NONE;
    char bn[16];
    *head = SCOPE_NONE;
    skip_blanks(p);
    int c = peek(p);
    if (c == '\0')
        return depth ? fail(p, open, "unbalanced '('") : 0;
    if (c == ')')
        return depth ? fail(p, open, "empty group '()'") : fail(p, p->pos, "unbalanced ')'");
    if (is_op(c))
        return fail(p, p->pos, "missing pattern before '%c'", c);
    for (;;) {
        uint32_t t = SCOPE_NONE;
        int rc = parse_term(p, depth, op, &t);
        if (rc)
            return rc;
        if (prev == SCOPE_NONE)
            *head = t;
        else if (p->sc)
            p->sc->terms[prev].next = t;
        prev = t;

        bool spaced = skip_blanks(p);
        c = peek(p);
        if (c == '\0')
            return depth ? fail(p, open, "unbalanced '('") : 0;
        if (c == ')') {
            if (!depth)
                return fail(p, p->pos, "unbalanced ')'");
            p->pos++;
            return 0;
        }
        if (is_op(c)) {
            size_t at = p->pos++;
            op = op_of(c);
            skip_blanks(p);
            int next = peek(p);
            if (next == '\0' || next == ')' || is_op(next))
                return fail(p, at, "missing pattern after '%c'", c);
            continue;
        }
        if (!spaced)
            return fail(p, p->pos, "missing operator before %s", byte_name(bn, c));
        op = SCOPE_OP_UNION;
    }
}

/* One block for the struct, the arrays the counting pass sized, and the source. */
static struct shmchop_scope *alloc_scope(const struct parser *p, const char *pattern, size_t len)
{
    /* Every array element is a multiple of 4 bytes with 4-byte alignment at
     * most, and the struct itself is pointer-aligned, so packing the arrays
     * back to back keeps each one aligned; the bytes come last. */
    size_t off_terms = sizeof(struct shmchop_scope);
    size_t off_toks = off_terms + p->n_terms * sizeof(struct scope_term);
    size_t off_ranges = off_toks + p->n_toks * sizeof(struct scope_tok);
    size_t off_csets = off_ranges + p->n_ranges * sizeof(struct scope_range);
    size_t off_src = off_csets + p->n_csets * sizeof(struct scope_cset);
    char *block = calloc(1, off_src + len + 1);
    if (!block)
        return NULL;
    struct shmchop_scope *sc = (struct shmchop_scope *)(void *)block;
    sc->terms = (struct scope_term *)(void *)(block + off_terms);
    sc->toks = (struct scope_tok *)(void *)(block + off_toks);
    sc->ranges = (struct scope_range *)(void *)(block + off_ranges);
    sc->csets = (struct scope_cset *)(void *)(block + off_csets);
    sc->source = block + off_src;
    memcpy(sc->source, pattern, len);
    sc->n_terms = p->n_terms;
    sc->n_toks = p->n_toks;
    sc->n_ranges = p->n_ranges;
    sc->n_csets = p->n_csets;
    sc->root = SCOPE_NONE;
    return sc;
}

int shmchop_scope_compile(const char *pattern, shmchop_scope **out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (out)
        *out = NULL;
    if (!pattern || !out) {
        if (err && errlen)
            snprintf(err, errlen, "scope: %s is NULL", pattern ? "out" : "pattern");
        return SHMCHOP_E_USAGE;
    }
    struct parser p = { .pat = pattern, .err = err, .errlen = errlen };
    size_t len = strnlen(pattern, SHMCHOP_SCOPE_MAX_LEN + 1);
    if (len > SHMCHOP_SCOPE_MAX_LEN)
        return fail(&p, SHMCHOP_SCOPE_MAX_LEN, "pattern longer than %d bytes",
                    SHMCHOP_SCOPE_MAX_LEN);
    uint32_t root;
    int rc = parse_list(&p, 0, 0, &root);
    if (rc)
        return rc;

    struct shmchop_scope *sc = alloc_scope(&p, pattern, len);
    if (!sc) {
        if (err && errlen)
            snprintf(err, errlen, "scope: out of memory");
        return -ENOMEM;
    }
    p = (struct parser){ .pat = pattern, .err = err, .errlen = errlen, .sc = sc };
    rc = parse_list(&p, 0, 0, &sc->root);
    if (rc) { /* cannot happen: the first pass accepted the same text */
        free(sc);
        return rc;
    }
    *out = sc;
    return 0;
}

void shmchop_scope_free(shmchop_scope *scope)
{
    free(scope);
}

const char *shmchop_scope_source(const shmchop_scope *scope)
{
    return scope ? scope->source : "";
}
