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
#include <shmchop/global.h>
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

/* The global header's uint32 fields with a rule to break (SPEC 3, R3.4);
 * seq, frame, the times, the pid and fps have none a value could break. */
const out_field out_global_fields[] = {
    { "magic", SHMCHOP_GLOBAL_OFF_MAGIC, false, DEFAULT_BITS_MAGIC, "R3" },
    { "version", SHMCHOP_GLOBAL_OFF_VERSION, false, DEFAULT_BITS_VERSION, "R3" },
    { "size", SHMCHOP_GLOBAL_OFF_SIZE, false, DEFAULT_BITS_SIZE, "R3.4" },
    { "entry_count", SHMCHOP_GLOBAL_OFF_COUNT, false, 0xFFFFFFFFu, "R3.4" },
    { "table_offset", SHMCHOP_GLOBAL_OFF_TABLE, false, 60u, "R3.4" },
    { "flags", SHMCHOP_GLOBAL_OFF_FLAGS, false, 1u, "R3" },
};
const size_t out_global_fields_count = sizeof(out_global_fields) / sizeof(out_global_fields[0]);

static const char *const kind_names[] = {
    [OUT_FAULT_HOLD_LOCK] = "hold-lock",   [OUT_FAULT_DIE_LOCKED] = "die-locked",
    [OUT_FAULT_UNLOCKED_WRITE] = "unlocked-write", [OUT_FAULT_CORRUPT] = "corrupt",
    [OUT_FAULT_TRUNCATE] = "truncate",     [OUT_FAULT_UNLINK] = "unlink",
    [OUT_FAULT_RESIZE] = "resize",         [OUT_FAULT_STALL] = "stall",
    [OUT_FAULT_LEAVE_STALE] = "leave-stale", [OUT_FAULT_ADD_CHOP] = "add-chop",
    [OUT_FAULT_REMOVE_CHOP] = "remove-chop",
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
    [OUT_FAULT_ADD_CHOP] = "add-chop:FRAME:NAME:C:L:R:WAVE",
    [OUT_FAULT_REMOVE_CHOP] = "remove-chop:FRAME:NAME",
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
    case OUT_FAULT_ADD_CHOP:
    case OUT_FAULT_REMOVE_CHOP:
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

static const out_field *find_field(const out_field *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(table[i].name, name))
            return &table[i];
    return NULL;
}

/* "a, b, c": the field names of a table, for an error message. */
static void field_list(const out_field *table, size_t n, char *out, size_t cap)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", table[i].name);
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

/* corrupt:FRAME:FIELD[=VALUE]: in global mode a global header field, or
 * with f->entry set a CHOP header field of that entry. */
static int parse_corrupt(const char *spec, char *arg, bool global, out_fault *f, char *err,
                         size_t errlen)
{
    char *eq = strchr(arg, '=');
    bool hdr = global && !f->entry[0];
    const out_field *table = hdr ? out_global_fields : out_fields;
    size_t n = hdr ? out_global_fields_count : out_fields_count;
    const out_field *fld;
    char names[256];

    if (eq)
        *eq = '\0';
    fld = find_field(table, n, arg);
    if (!fld) {
        field_list(table, n, names, sizeof(names));
        return fail(err, errlen, spec, "unknown %sFIELD '%s' (one of %s)",
                    hdr ? "global header " : "", arg, names);
    }
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
static int parse_rest(const char *spec, parts *ps, bool global, out_fault *f, char *err,
                      size_t errlen)
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
        return parse_corrupt(spec, ps->p[2], global, f, err, errlen);
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

/* NAME of an entry (SPEC 3, R3.4): 1 to 63 bytes. */
static int copy_entry(const char *spec, const char *what, const char *name, out_fault *f,
                      char *err, size_t errlen)
{
    size_t len = strlen(name);

    if (len == 0 || len > OUT_FAULT_ENTRY_MAX)
        return fail(err, errlen, spec, "%s '%s' is not 1 to %d bytes (SPEC 3)", what, name,
                    OUT_FAULT_ENTRY_MAX);
    memcpy(f->entry, name, len + 1);
    return 0;
}

/*
 * add-chop:FRAME:NAME:C:L:R:WAVE and remove-chop:FRAME:NAME: an entry NAME
 * may hold ':' (a channel-name prefix, R1.14), so all after FRAME is kept
 * whole. Returns 1 when spec is neither.
 */
static int parse_chop_fault(const char *spec, bool global, out_fault *f, char *err,
                            size_t errlen)
{
    static const out_fault_kind kinds[] = { OUT_FAULT_ADD_CHOP, OUT_FAULT_REMOVE_CHOP };
    char frame[32];

    for (size_t i = 0; i < 2; i++) {
        const char *kn = kind_names[kinds[i]], *p = spec + strlen(kn), *colon;
        size_t flen;

        if (strncmp(spec, kn, strlen(kn)) || *p != ':')
            continue;
        f->kind = kinds[i];
        if (!global)
            return fail(err, errlen, spec, "%s needs --memtype global (SPEC 3, R3.5)", kn);
        colon = strchr(p + 1, ':');
        flen = colon ? (size_t)(colon - (p + 1)) : 0;
        if (!colon || flen >= sizeof(frame) || !colon[1])
            return fail(err, errlen, spec, "expected %s", kind_usage[kinds[i]]);
        memcpy(frame, p + 1, flen);
        frame[flen] = '\0';
        if (!parse_u64(frame, UINT64_MAX, &f->frame))
            return fail(err, errlen, spec, "FRAME '%s' is not an integer from 0 to 2^64-1",
                        frame);
        if (f->kind == OUT_FAULT_REMOVE_CHOP)
            return copy_entry(spec, "NAME", colon + 1, f, err, errlen);
        if (strlen(colon + 1) > OUT_FAULT_CHOP_SPEC_MAX)
            return fail(err, errlen, spec, "NAME:C:L:R:WAVE is too long");
        memcpy(f->chop_spec, colon + 1, strlen(colon + 1) + 1);
        return 0;
    }
    return 1;
}

int out_fault_parse(const char *spec, bool global, out_fault *f, char *err, size_t errlen)
{
    char buf[sizeof(((parts *)0)->buf)];
    const char *at;
    parts ps;
    unsigned lo, hi;
    size_t k;
    int rc;

    memset(f, 0, sizeof(*f));
    rc = parse_chop_fault(spec, global, f, err, errlen);
    if (rc <= 0)
        return rc;
    /* corrupt:...@ENTRY: FIELD and VALUE hold no '@', an entry NAME may. */
    at = strchr(spec, '@');
    if (at && !strncmp(spec, "corrupt:", 8)) {
        if (!global)
            return fail(err, errlen, spec, "@ENTRY needs --memtype global (SPEC 3)");
        if ((size_t)(at - spec) >= sizeof(buf))
            return fail(err, errlen, spec, "%s", "too long or too many ':' parts");
        if (copy_entry(spec, "ENTRY", at + 1, f, err, errlen))
            return -1;
        memcpy(buf, spec, (size_t)(at - spec));
        buf[at - spec] = '\0';
    } else if (strlen(spec) < sizeof(buf)) {
        memcpy(buf, spec, strlen(spec) + 1);
    } else {
        return fail(err, errlen, spec, "%s", "too long or too many ':' parts");
    }
    if (split(buf, &ps))
        return fail(err, errlen, spec, "%s", "too long or too many ':' parts");
    for (k = 0; k < KIND_COUNT; k++)
        if (!strcmp(ps.p[0], kind_names[k]))
            break;
    if (k == KIND_COUNT)
        return fail(err, errlen, spec,
                    "unknown fault '%s' (one of hold-lock, die-locked, unlocked-write, "
                    "corrupt, truncate, unlink, resize, stall, leave-stale, add-chop, "
                    "remove-chop)",
                    ps.p[0]);
    f->kind = (out_fault_kind)k;
    if (global && f->kind == OUT_FAULT_RESIZE)
        return fail(err, errlen, spec, "resize is a local-mode fault; in global mode the "
                    "segment resizes by add-chop and remove-chop (R3.5)");
    part_counts(f->kind, &lo, &hi);
    if (ps.n < lo || ps.n > hi)
        return fail(err, errlen, spec, "expected %s", kind_usage[k]);
    if (!parse_u64(ps.p[1], UINT64_MAX, &f->frame))
        return fail(err, errlen, spec, "FRAME '%s' is not an integer from 0 to 2^64-1",
                    ps.p[1]);
    return parse_rest(spec, &ps, global, f, err, errlen);
}
