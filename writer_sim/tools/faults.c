/* SPDX-License-Identifier: MIT */
/* Strict parsing of the --fault SPEC values of `shmchop-out run` (SPEC R5.5). */
#include "faults.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/chop.h>
#include <shmchop/image.h>

/* The default corrupt values, one per field of SHMCHOP_HEADER_FIELDS (a
 * field without one does not compile): each breaks the field's rule, so
 * a reader has one specific finding to report. */
#define DEFAULT_BITS_MAGIC 0x0BADF00Du
#define DEFAULT_BITS_VERSION 2u
#define DEFAULT_BITS_SIZE 0x7FFFFFFFu
#define DEFAULT_BITS_NUM_CHANS 0xFFFFFFFFu   /* -1 */
#define DEFAULT_BITS_LENGTH 0xFFFFFFFFu      /* -1 */
#define DEFAULT_BITS_SAMPLE_RATE 0x00000000u /* 0.0f */
#define DEFAULT_BITS_NAMES_SENT 2u           /* a warning */
#define DEFAULT_BITS_DATA_OFFSET 38u
#define DEFAULT_BITS_NAME_OFFSET 0x7FFFFFF0u

#define IS_FLOAT_I32 false
#define IS_FLOAT_F32 true

/* Name, offset, type and rule from the one table in image.h. */
#define OUT_FIELD(id, member, name, off, type, rule)                           \
    { name, off, IS_FLOAT_##type, DEFAULT_BITS_##id, rule },
const out_field out_fields[] = { SHMCHOP_HEADER_FIELDS(OUT_FIELD) };
#undef OUT_FIELD
const size_t out_fields_count = sizeof(out_fields) / sizeof(out_fields[0]);

static const char *const kind_names[] = {
    [OUT_FAULT_HOLD_LOCK] = "hold-lock",   [OUT_FAULT_DIE_LOCKED] = "die-locked",
    [OUT_FAULT_UNLOCKED_WRITE] = "unlocked-write", [OUT_FAULT_CORRUPT] = "corrupt",
    [OUT_FAULT_TRUNCATE] = "truncate",     [OUT_FAULT_UNLINK] = "unlink",
    [OUT_FAULT_RESIZE] = "resize",         [OUT_FAULT_STALL] = "stall",
    [OUT_FAULT_LEAVE_STALE] = "leave-stale",
};

/* The parts each kind takes after KIND:FRAME (the usage shown in errors). */
static const char *const kind_usage[] = {
    [OUT_FAULT_HOLD_LOCK] = "hold-lock:FRAME:MS",
    [OUT_FAULT_DIE_LOCKED] = "die-locked:FRAME",
    [OUT_FAULT_UNLOCKED_WRITE] = "unlocked-write:FRAME",
    [OUT_FAULT_CORRUPT] = "corrupt:FRAME:FIELD[=VALUE]",
    [OUT_FAULT_TRUNCATE] = "truncate:FRAME[:BYTES]",
    [OUT_FAULT_UNLINK] = "unlink:FRAME",
    [OUT_FAULT_RESIZE] = "resize:FRAME:CHANS:LENGTH",
    [OUT_FAULT_STALL] = "stall:FRAME:MS",
    [OUT_FAULT_LEAVE_STALE] = "leave-stale:FRAME",
};

#define KIND_COUNT (sizeof(kind_names) / sizeof(kind_names[0]))

const char *out_fault_name(out_fault_kind kind)
{
    return (size_t)kind < KIND_COUNT ? kind_names[kind] : "?";
}

out_fault_phase out_fault_phase_of(const out_fault *f)
{
    switch (f->kind) {
    case OUT_FAULT_RESIZE:
    case OUT_FAULT_HOLD_LOCK:
    case OUT_FAULT_STALL:
    case OUT_FAULT_DIE_LOCKED:
        return OUT_PHASE_BEFORE;
    case OUT_FAULT_UNLOCKED_WRITE:
        return OUT_PHASE_INSTEAD;
    default:
        return OUT_PHASE_AFTER;
    }
}

/* The SPEC split at ':' into at most `max` parts (the last part keeps any
 * further ':'). Part texts point into buf. */
#define MAX_PARTS 5

typedef struct parts {
    char buf[512];
    char *p[MAX_PARTS];
    unsigned n;
} parts;

static int split(const char *spec, parts *ps)
{
    size_t len = strlen(spec);
    char *s;

    if (len >= sizeof(ps->buf))
        return -1;
    memcpy(ps->buf, spec, len + 1);
    ps->n = 0;
    s = ps->buf;
    for (;;) {
        char *colon = strchr(s, ':');
        if (ps->n == MAX_PARTS)
            return -1;
        ps->p[ps->n++] = s;
        if (!colon)
            return 0;
        *colon = '\0';
        s = colon + 1;
    }
}

/* Decimal digits only, within [0, max]. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (v > (max - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* An int32 field value: decimal (-2147483648 .. 4294967295, the upper
 * half stored as its two's complement bits) or 0x followed by up to 8 hex
 * digits. */
static bool parse_int_bits(const char *s, uint32_t *bits)
{
    uint64_t v;
    bool neg = false;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        char *end;
        if (!s[2] || strlen(s + 2) > 8 || strspn(s + 2, "0123456789abcdefABCDEF") != strlen(s + 2))
            return false;
        errno = 0;
        v = strtoull(s + 2, &end, 16);
        if (errno || *end)
            return false;
        *bits = (uint32_t)v;
        return true;
    }
    if (*s == '-') {
        neg = true;
        s++;
    }
    if (!parse_u64(s, neg ? 2147483648u : 4294967295u, &v))
        return false;
    *bits = neg ? (uint32_t)(0u - (uint32_t)v) : (uint32_t)v;
    return true;
}

/* A float32 value: what strtod accepts (nan and inf included), all of
 * the text, and no overflow to inf from a finite spelling. */
static bool parse_float_bits(const char *s, uint32_t *bits)
{
    char *end;
    double d;
    float f;

    if (!*s || *s == ' ' || *s == '\t')
        return false;
    errno = 0;
    d = strtod(s, &end);
    if (*end || (errno == ERANGE && isinf(d)))
        return false;
    f = (float)d;
    if (isinf(f) && !isinf(d))
        return false;
    memcpy(bits, &f, sizeof(f));
    return true;
}

static const out_field *find_field(const char *name)
{
    for (size_t i = 0; i < out_fields_count; i++)
        if (!strcmp(out_fields[i].name, name))
            return &out_fields[i];
    return NULL;
}

static int fail(char *err, size_t errlen, const char *spec, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *spec, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "--fault '%s': %s", spec, msg);
    return -1;
}

/* corrupt:FRAME:FIELD[=VALUE] */
static int parse_corrupt(const char *spec, char *arg, out_fault *f, char *err, size_t errlen)
{
    char *eq = strchr(arg, '=');
    const out_field *fld;

    if (eq)
        *eq = '\0';
    fld = find_field(arg);
    if (!fld)
        return fail(err, errlen, spec,
                    "unknown FIELD '%s' (one of magicNumber, version, size, numChans, length, "
                    "sampleRate, namesSent, channelDataOffset, nameDataOffset)",
                    arg);
    f->field = fld;
    f->bits = fld->def_bits;
    if (!eq)
        return 0;
    if (fld->is_float ? !parse_float_bits(eq + 1, &f->bits) : !parse_int_bits(eq + 1, &f->bits))
        return fail(err, errlen, spec,
                    fld->is_float ? "VALUE '%s' is not a float32 number"
                                  : "VALUE '%s' is not an int32 (decimal, or 0x and 1 to 8 "
                                    "hex digits)",
                    eq + 1);
    return 0;
}

/* The numeric arguments after FRAME, by kind. */
static int parse_rest(const char *spec, parts *ps, out_fault *f, char *err, size_t errlen)
{
    uint64_t v;

    switch (f->kind) {
    case OUT_FAULT_HOLD_LOCK:
    case OUT_FAULT_STALL:
        if (!parse_u64(ps->p[2], OUT_FAULT_MS_MAX, &v))
            return fail(err, errlen, spec, "MS '%s' is not an integer from 0 to 3600000",
                        ps->p[2]);
        f->ms = (uint32_t)v;
        return 0;
    case OUT_FAULT_CORRUPT:
        return parse_corrupt(spec, ps->p[2], f, err, errlen);
    case OUT_FAULT_TRUNCATE:
        f->bytes = 0;
        if (ps->n == 3 && !parse_u64(ps->p[2], INT32_MAX, &f->bytes))
            return fail(err, errlen, spec, "BYTES '%s' is not an integer from 0 to 2147483647",
                        ps->p[2]);
        return 0;
    case OUT_FAULT_RESIZE:
        if (!parse_u64(ps->p[2], SHMCHOP_MAX_CHANS, &v))
            return fail(err, errlen, spec, "CHANS '%s' is not an integer from 0 to 1048576",
                        ps->p[2]);
        f->chans = (uint32_t)v;
        if (!parse_u64(ps->p[3], INT32_MAX, &v))
            return fail(err, errlen, spec, "LENGTH '%s' is not an integer from 0 to 2147483647",
                        ps->p[3]);
        f->length = (uint32_t)v;
        return 0;
    default:
        return 0;
    }
}

/* How many parts each kind takes, KIND and FRAME included. */
static void part_counts(out_fault_kind k, unsigned *lo, unsigned *hi)
{
    switch (k) {
    case OUT_FAULT_HOLD_LOCK:
    case OUT_FAULT_STALL:
    case OUT_FAULT_CORRUPT:
        *lo = *hi = 3;
        return;
    case OUT_FAULT_TRUNCATE:
        *lo = 2;
        *hi = 3;
        return;
    case OUT_FAULT_RESIZE:
        *lo = *hi = 4;
        return;
    default:
        *lo = *hi = 2;
        return;
    }
}

int out_fault_parse(const char *spec, out_fault *f, char *err, size_t errlen)
{
    parts ps;
    unsigned lo, hi;
    size_t k;

    memset(f, 0, sizeof(*f));
    if (split(spec, &ps))
        return fail(err, errlen, spec, "%s", "too long or too many ':' parts");
    for (k = 0; k < KIND_COUNT; k++)
        if (!strcmp(ps.p[0], kind_names[k]))
            break;
    if (k == KIND_COUNT)
        return fail(err, errlen, spec,
                    "unknown fault '%s' (one of hold-lock, die-locked, unlocked-write, "
                    "corrupt, truncate, unlink, resize, stall, leave-stale)",
                    ps.p[0]);
    f->kind = (out_fault_kind)k;
    part_counts(f->kind, &lo, &hi);
    if (ps.n < lo || ps.n > hi)
        return fail(err, errlen, spec, "expected %s", kind_usage[k]);
    if (!parse_u64(ps.p[1], UINT64_MAX, &f->frame))
        return fail(err, errlen, spec, "FRAME '%s' is not an integer from 0 to 2^64-1",
                    ps.p[1]);
    return parse_rest(spec, &ps, f, err, errlen);
}
