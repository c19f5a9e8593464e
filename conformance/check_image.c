/* SPDX-License-Identifier: MIT */
/* Unit tests of shmchop_image_parse/shmchop_image_build, one or more per rule R1.1-R1.17 (SPEC 1, R6.1). */
/*
 * Images are encoded here by hand (own little-endian writer, own bitwise
 * CRC-32C), independently of image_build.c, so parse and build are each
 * checked against the SPEC rather than against each other. Every parse
 * reads an exact-size heap copy, so a sanitizer catches any over-read.
 */
#include <check.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/chop.h>
#include <shmchop/error.h>
#include <shmchop/image.h>

#include "image_internal.h"

#define IMG_MAX 8192
#define OBJ "TouchSHMfoo"

typedef struct img {
    uint8_t b[IMG_MAX];
    size_t len; /* bytes available to the parser */
} img;

/* ---- hand encoding ---------------------------------------------------------- */

static void put_u32(img *m, size_t off, uint32_t v)
{
    ck_assert_uint_le(off + 4, IMG_MAX);
    for (int i = 0; i < 4; i++)
        m->b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void put_i32(img *m, size_t off, int32_t v)
{
    put_u32(m, off, (uint32_t)v);
}

static void put_u64(img *m, size_t off, uint64_t v)
{
    put_u32(m, off, (uint32_t)v);
    put_u32(m, off + 4, (uint32_t)(v >> 32));
}

static void put_f32(img *m, size_t off, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(m, off, u);
}

static uint32_t get_u32(const img *m, size_t off)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)m->b[off + (size_t)i] << (8 * i);
    return v;
}

static uint32_t ref_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static float ramp(uint32_t c, uint32_t i)
{
    return (float)c * 1000.0f + (float)i * 0.5f - 3.0f;
}

static void header(img *m, int32_t size, int32_t nch, int32_t len, float rate, int32_t ns,
                   int32_t cdo, int32_t ndo)
{
    put_u32(m, 0, SHMCHOP_MAGIC);
    put_i32(m, 4, 1);
    put_i32(m, 8, size);
    put_i32(m, 12, nch);
    put_i32(m, 16, len);
    put_f32(m, 20, rate);
    put_i32(m, 24, ns);
    put_i32(m, 28, cdo);
    put_i32(m, 32, ndo);
}

static void put_ramp(img *m, size_t off, uint32_t nch, uint32_t len)
{
    for (uint32_t c = 0; c < nch; c++)
        for (uint32_t i = 0; i < len; i++)
            put_f32(m, off + 4u * (c * len + i), ramp(c, i));
}

/* Write packed names ("a\0b\0") at off; returns the offset after them. */
static size_t put_names(img *m, size_t off, const char *packed, size_t n)
{
    ck_assert_uint_le(off + n, IMG_MAX);
    memcpy(m->b + off, packed, n);
    return off + n;
}

/* 3x8 at 60 Hz, data 36-131, names "tx ty tz" 132-140, size 141. */
static void mk_base(img *m)
{
    memset(m, 0, sizeof *m);
    header(m, 141, 3, 8, 60.0f, 1, 36, 132);
    put_ramp(m, 36, 3, 8);
    put_names(m, 132, "tx\0ty\0tz", 9);
    m->len = 141;
}

/* The same without names: size 132. */
static void mk_unnamed(img *m)
{
    memset(m, 0, sizeof *m);
    header(m, 132, 3, 8, 60.0f, 0, 36, 0);
    put_ramp(m, 36, 3, 8);
    m->len = 132;
}

/* n channels of length `len` whose packed names are given; TD layout. */
static void mk_named(img *m, uint32_t nch, uint32_t len, const char *packed, size_t nbytes)
{
    memset(m, 0, sizeof *m);
    size_t ndo = 36 + 4u * nch * len;
    header(m, (int32_t)(ndo + nbytes), (int32_t)nch, (int32_t)len, 60.0f, 1, 36, (int32_t)ndo);
    put_ramp(m, 36, nch, len);
    m->len = put_names(m, ndo, packed, nbytes);
}

/* Extension block fields used by mk_ext. */
#define EXT_SEQ 8u
#define EXT_FRAME 3u
#define EXT_TIME 77u
#define EXT_PID 99u
#define EXT_HEART 88u

static void ext_checksum(img *m, size_t data_off, size_t data_bytes, size_t name_off,
                         size_t name_bytes)
{
    uint32_t crc = ref_crc32c(0, m->b + data_off, data_bytes);
    put_u32(m, 88, ref_crc32c(crc, m->b + name_off, name_bytes));
}

/* Base CHOP with an extension block: data 104-199, names 200-208, size 209. */
static void mk_ext(img *m, int64_t start)
{
    memset(m, 0, sizeof *m);
    header(m, 209, 3, 8, 60.0f, 1, 104, 200);
    put_u32(m, 40, SHMCHOP_EXT_MAGIC);
    put_u32(m, 44, 64);
    put_u64(m, 48, EXT_SEQ);
    put_u64(m, 56, EXT_FRAME);
    put_u64(m, 64, (uint64_t)start);
    put_u64(m, 72, EXT_TIME);
    put_u32(m, 80, EXT_PID);
    put_u32(m, 84, SHMCHOP_EXT_FLAG_CHECKSUM);
    put_u64(m, 96, EXT_HEART);
    put_ramp(m, 104, 3, 8);
    put_names(m, 200, "tx\0ty\0tz", 9);
    m->len = 209;
    ext_checksum(m, 104, 96, 200, 9);
}

/* ---- parsing ---------------------------------------------------------------- */

typedef struct result {
    int rc;
    shmchop_diag d;
    shmchop_image_info info;
} result;

typedef struct popts {
    const char *object; /* NULL: OBJ; "" : pass NULL */
    bool strict;
    bool nonfinite;
} popts;

/* Parse an exact-size heap copy of m into chop. */
static int parse_into(const img *m, popts o, shmchop_chop *chop, result *r)
{
    uint8_t *copy = malloc(m->len ? m->len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, m->b, m->len);
    shmchop_parse_opts po = {.object = o.object ? (*o.object ? o.object : NULL) : OBJ,
                             .strict = o.strict, .count_nonfinite = o.nonfinite};
    memset(r, 0xA5, sizeof *r); /* the parser must set what it reports */
    r->rc = shmchop_image_parse(copy, m->len, &po, chop, &r->info, &r->d);
    free(copy);
    return r->rc;
}

static int parse(const img *m, shmchop_chop *chop, result *r)
{
    return parse_into(m, (popts){0}, chop, r);
}

static bool contains(const char *hay, const char *needle)
{
    return needle == NULL || strstr(hay, needle) != NULL;
}

/* Case-insensitive substring, for hex values. */
static bool contains_ci(const char *hay, const char *needle)
{
    return strcasestr(hay, needle) != NULL;
}

/*
 * m must fail with `code` as its first error, tied to `rule` and `field`
 * (NULL: not checked), with a message "TouchSHMfoo: ..." containing the
 * needles (R6.1); a fresh CHOP stays untouched.
 */
static void expect_error(const img *m, int code, const char *rule, const char *field,
                         const char *needle1, const char *needle2, const char *what)
{
    shmchop_chop chop, zero;
    result r;
    shmchop_chop_init(&chop);
    shmchop_chop_init(&zero);
    parse(m, &chop, &r);
    ck_assert_msg(r.rc == code, "%s: expected %s, got %s (%s)", what, shmchop_err_name(code),
                  r.rc ? shmchop_err_name(r.rc) : "success",
                  r.d.n_errors ? r.d.errors[0].message : "no finding");
    ck_assert_msg(r.d.n_errors >= 1 && r.d.errors[0].code == code,
                  "%s: first error finding is not %s", what, shmchop_err_name(code));
    const shmchop_finding *f = &r.d.errors[0];
    ck_assert_msg(f->rule && strcmp(f->rule, rule) == 0, "%s: rule '%s', expected %s", what,
                  f->rule ? f->rule : "(null)", rule);
    if (field)
        ck_assert_msg(f->field && strcmp(f->field, field) == 0, "%s: field '%s', expected %s",
                      what, f->field ? f->field : "(null)", field);
    ck_assert_msg(strncmp(f->message, OBJ ": ", strlen(OBJ) + 2) == 0,
                  "%s: message '%s' does not start with the object (R6.1)", what, f->message);
    ck_assert_msg(contains(f->message, needle1) && contains(f->message, needle2),
                  "%s: message '%s' lacks '%s'/'%s' (R6.1)", what, f->message,
                  needle1 ? needle1 : "", needle2 ? needle2 : "");
    ck_assert_msg(memcmp(&chop, &zero, sizeof chop) == 0, "%s: failed parse touched the CHOP",
                  what);
}

/* m parses with no error and exactly the warnings given (0-terminated list). */
static void expect_ok(const img *m, shmchop_chop *chop, result *r, const int *warnings,
                      const char *what)
{
    parse_into(m, (popts){.nonfinite = true}, chop, r);
    ck_assert_msg(r->rc == 0, "%s: expected valid, got %s (%s)", what, shmchop_err_name(r->rc),
                  r->d.n_errors ? r->d.errors[0].message : "no finding");
    ck_assert_uint_eq(r->d.n_errors, 0);
    unsigned n = 0;
    while (warnings && warnings[n])
        n++;
    ck_assert_msg(r->d.n_warnings == n, "%s: %u warnings (first: %s), expected %u", what,
                  r->d.n_warnings, r->d.n_warnings ? r->d.warnings[0].message : "-", n);
    for (unsigned i = 0; i < n && i < SHMCHOP_DIAG_KEEP; i++)
        ck_assert_msg(r->d.warnings[i].code == warnings[i], "%s: warning %u is %s, expected %s",
                      what, i, shmchop_err_name(r->d.warnings[i].code),
                      shmchop_err_name(warnings[i]));
}

static void expect_names(const shmchop_chop *chop, const char *const *names, uint32_t n,
                         const char *what)
{
    ck_assert_msg(chop->num_chans == n, "%s: %u channels, expected %u", what, chop->num_chans, n);
    for (uint32_t i = 0; i < n; i++)
        ck_assert_msg(strcmp(shmchop_chop_name(chop, i), names[i]) == 0,
                      "%s: channel %u is named '%s', expected '%s'", what, i,
                      shmchop_chop_name(chop, i), names[i]);
}

static const char *const TXYZ[] = {"tx", "ty", "tz"};
static const int NO_WARNINGS[] = {0};

/* ---- R1.1 magic --------------------------------------------------------------- */

/* SPEC 1.1: the one table of header fields (SHMCHOP_HEADER_FIELDS) says
 * what the SPEC's table says, in its order; the decoded struct has one
 * member per row at the row's position; encode is the inverse of decode. */
#define HF_ROW(id, member, name, off, type, rule)                              \
    {SHMCHOP_HF_##id, SHMCHOP_OFF_##id, offsetof(shmchop_header, member), name, off, #type, rule},
static const struct {
    unsigned index, off_enum;
    size_t member_off;
    const char *name;
    unsigned off;
    const char *type, *rule;
} hf_rows[] = {SHMCHOP_HEADER_FIELDS(HF_ROW)};
#undef HF_ROW

START_TEST(s1_1_header_table_is_the_spec_table)
{
    static const struct {
        const char *name, *type, *rule;
    } spec[] = {
        {"magicNumber", "I32", "R1.1"},      {"version", "I32", "R1.2"},
        {"size", "I32", "R1.3"},             {"numChans", "I32", "R1.4"},
        {"length", "I32", "R1.5"},           {"sampleRate", "F32", "R1.6"},
        {"namesSent", "I32", "R1.7"},        {"channelDataOffset", "I32", "R1.8"},
        {"nameDataOffset", "I32", "R1.9"},
    };
    ck_assert_uint_eq(sizeof hf_rows / sizeof hf_rows[0], SHMCHOP_HF_COUNT);
    ck_assert_uint_eq(sizeof spec / sizeof spec[0], SHMCHOP_HF_COUNT);
    for (unsigned i = 0; i < SHMCHOP_HF_COUNT; i++) {
        ck_assert_uint_eq(hf_rows[i].index, i);
        ck_assert_uint_eq(hf_rows[i].off, 4 * i);
        ck_assert_uint_eq(hf_rows[i].off_enum, 4 * i);
        ck_assert_uint_eq(hf_rows[i].member_off, 4 * i);
        ck_assert_str_eq(hf_rows[i].name, spec[i].name);
        ck_assert_str_eq(hf_rows[i].type, spec[i].type);
        ck_assert_str_eq(hf_rows[i].rule, spec[i].rule);
    }
    ck_assert_uint_eq(sizeof(shmchop_header), SHMCHOP_HEADER_SIZE);
    /* Any 36 bytes (a NaN rate included) decode and encode back unchanged. */
    uint8_t in[SHMCHOP_HEADER_SIZE], out[SHMCHOP_HEADER_SIZE];
    uint32_t x = 0x9E3779B9u;
    for (int round = 0; round < 64; round++) {
        for (size_t k = 0; k < sizeof in; k++) {
            x = x * 1664525u + 1013904223u;
            in[k] = (uint8_t)(x >> 24);
        }
        shmchop_header h;
        shmchop_header_decode(in, &h);
        memset(out, 0xA5, sizeof out);
        shmchop__header_encode(out, &h);
        ck_assert_mem_eq(out, in, sizeof in);
    }
}
END_TEST

START_TEST(r1_1_magic_accepted)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_base(&m);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "base image");
    expect_names(&chop, TXYZ, 3, "base image");
    ck_assert_int_eq(r.info.header.magic, SHMCHOP_MAGIC);
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_1_bad_magic)
{
    img m;
    mk_base(&m);
    put_u32(&m, 0, 0x12ED54CEu);
    expect_error(&m, SHMCHOP_E_BAD_MAGIC, "R1.1", "magicNumber", "magicNumber", NULL, "0x12ED54CE");
    shmchop_diag d;
    shmchop_chop chop;
    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_image_parse(m.b, m.len, NULL, &chop, NULL, &d), SHMCHOP_E_BAD_MAGIC);
    ck_assert_msg(contains_ci(d.errors[0].message, "12ED54CE"),
                  "message '%s' does not show the magic found", d.errors[0].message);
    mk_base(&m);
    put_u32(&m, 0, 0xCF54ED12u); /* big-endian writer */
    expect_error(&m, SHMCHOP_E_BAD_MAGIC, "R1.1", "magicNumber", NULL, NULL, "byte-swapped magic");
}
END_TEST

/* ---- R1.2 version --------------------------------------------------------------- */

START_TEST(r1_2_version_other_than_1_unsupported)
{
    static const int32_t bad[] = {0, 2, -1, 0x7fffffff};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        img m;
        char want[64];
        mk_base(&m);
        put_i32(&m, 4, bad[k]);
        snprintf(want, sizeof want, "unsupported version %d", bad[k]);
        expect_error(&m, SHMCHOP_E_BAD_VERSION, "R1.2", "version", want, NULL, want);
    }
}
END_TEST

/* ---- R1.3 size ------------------------------------------------------------------ */

START_TEST(r1_3_fewer_bytes_than_header)
{
    static const size_t lens[] = {0, 1, 4, 35};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        img m;
        char want[16];
        mk_base(&m);
        m.len = lens[k];
        snprintf(want, sizeof want, "%zu", lens[k]);
        expect_error(&m, SHMCHOP_E_TRUNCATED, "R1.3", NULL, want, NULL, "short buffer");
    }
}
END_TEST

START_TEST(r1_3_size_below_header)
{
    static const int32_t bad[] = {35, 0, -1, -2147483647 - 1};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        img m;
        char want[32];
        mk_base(&m);
        put_i32(&m, 8, bad[k]);
        snprintf(want, sizeof want, "size %d", bad[k]);
        expect_error(&m, SHMCHOP_E_BAD_SIZE, "R1.3", "size", want, NULL, want);
    }
}
END_TEST

/* size beyond the bytes available (mapped or read): truncated image. */
START_TEST(r1_3_size_past_available_bytes)
{
    img m;
    mk_base(&m);
    put_i32(&m, 8, 142);
    expect_error(&m, SHMCHOP_E_TRUNCATED, "R1.3", "size", "142", "141", "size 142, 141 bytes");
    mk_base(&m);
    m.len = 36;
    expect_error(&m, SHMCHOP_E_TRUNCATED, "R1.3", "size", "141", NULL, "header only");
    mk_base(&m);
    put_i32(&m, 8, 0x7fffffff);
    expect_error(&m, SHMCHOP_E_TRUNCATED, "R1.3", "size", "2147483647", NULL, "size INT32_MAX");
}
END_TEST

/* SPEC 1.4: bytes after size are ignored, whatever they hold. */
START_TEST(r1_3_trailing_bytes_ignored)
{
    img m;
    shmchop_chop a, b;
    result r;
    mk_base(&m);
    shmchop_chop_init(&a);
    shmchop_chop_init(&b);
    expect_ok(&m, &a, &r, NO_WARNINGS, "exact");
    memset(m.b + 141, 0xFF, 300);
    m.len = 441;
    expect_ok(&m, &b, &r, NO_WARNINGS, "300 trailing bytes");
    ck_assert_uint_eq(b.num_chans, 3);
    ck_assert_mem_eq(a.data, b.data, 3 * 8 * 4);
    expect_names(&b, TXYZ, 3, "trailing bytes");
    shmchop_chop_free(&a);
    shmchop_chop_free(&b);
}
END_TEST

START_TEST(r1_3_header_only_image_is_valid)
{
    img m;
    shmchop_chop chop;
    result r;
    memset(&m, 0, sizeof m);
    header(&m, 36, 0, 0, 30.0f, 0, 36, 0);
    m.len = 36;
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "36-byte image");
    ck_assert_uint_eq(chop.num_chans, 0);
    shmchop_chop_free(&chop);
}
END_TEST

/* ---- R1.4 numChans, R1.5 length ---------------------------------------------------- */

START_TEST(r1_4_num_chans_negative)
{
    static const int32_t bad[] = {-1, -2147483647 - 1};
    for (size_t k = 0; k < 2; k++) {
        img m;
        char want[32];
        mk_base(&m);
        put_i32(&m, 12, bad[k]);
        snprintf(want, sizeof want, "numChans %d", bad[k]);
        expect_error(&m, SHMCHOP_E_BAD_NUM_CHANS, "R1.4", "numChans", want, NULL, want);
    }
}
END_TEST

START_TEST(r1_4_num_chans_zero_is_valid)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_unnamed(&m);
    put_i32(&m, 12, 0);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "numChans 0");
    ck_assert_uint_eq(chop.num_chans, 0);
    ck_assert_uint_eq(chop.length, 8);
    shmchop_chop_free(&chop);
}
END_TEST

/* image.h: beyond SHMCHOP_MAX_CHANS is LIMIT; the limit itself is read. */
START_TEST(r1_4_num_chans_reader_limit)
{
    img m;
    mk_unnamed(&m);
    put_i32(&m, 12, (int32_t)SHMCHOP_MAX_CHANS + 1);
    put_i32(&m, 16, 0);
    expect_error(&m, SHMCHOP_E_LIMIT, "R1.4", "numChans", "1048577", NULL, "MAX_CHANS + 1");
    mk_unnamed(&m);
    put_i32(&m, 12, 0x7fffffff);
    put_i32(&m, 16, 0x7fffffff);
    expect_error(&m, SHMCHOP_E_LIMIT, "R1.4", "numChans", NULL, NULL, "INT32_MAX squared");

    shmchop_chop chop;
    result r;
    mk_unnamed(&m);
    put_i32(&m, 12, (int32_t)SHMCHOP_MAX_CHANS);
    put_i32(&m, 16, 0);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "MAX_CHANS unnamed channels of length 0");
    ck_assert_uint_eq(chop.num_chans, SHMCHOP_MAX_CHANS);
    ck_assert_str_eq(shmchop_chop_name(&chop, SHMCHOP_MAX_CHANS - 1), "chan1048576");
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_5_length_negative)
{
    static const int32_t bad[] = {-1, -2147483647 - 1};
    for (size_t k = 0; k < 2; k++) {
        img m;
        char want[32];
        mk_base(&m);
        put_i32(&m, 16, bad[k]);
        snprintf(want, sizeof want, "length %d", bad[k]);
        expect_error(&m, SHMCHOP_E_BAD_LENGTH, "R1.5", "length", want, NULL, want);
    }
}
END_TEST

START_TEST(r1_5_length_zero_is_valid)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_named(&m, 3, 0, "tx\0ty\0tz", 9);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "length 0");
    ck_assert_uint_eq(chop.length, 0);
    expect_names(&chop, TXYZ, 3, "length 0");
    shmchop_chop_free(&chop);
}
END_TEST

/* ---- R1.6 sampleRate ------------------------------------------------------------- */

START_TEST(r1_6_rate_must_be_finite_and_positive)
{
    static const uint32_t bad[] = {0x00000000u, 0x80000000u, 0xbf800000u, 0x7fc00000u,
                                   0x7f800000u, 0xff800000u, 0xff7fffffu};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        img m;
        char what[48];
        mk_base(&m);
        put_u32(&m, 20, bad[k]);
        snprintf(what, sizeof what, "sampleRate bits 0x%08x", bad[k]);
        expect_error(&m, SHMCHOP_E_BAD_RATE, "R1.6", "sampleRate", "sampleRate", NULL, what);
    }
}
END_TEST

START_TEST(r1_6_tiny_and_huge_rates_are_valid)
{
    static const uint32_t ok[] = {0x00000001u, 0x00800000u, 0x7f7fffffu, 0x3f800000u};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        img m;
        shmchop_chop chop;
        result r;
        float f;
        mk_base(&m);
        put_u32(&m, 20, ok[k]);
        memcpy(&f, &ok[k], 4);
        shmchop_chop_init(&chop);
        expect_ok(&m, &chop, &r, NO_WARNINGS, "legal rate");
        ck_assert_msg(chop.rate == (double)f, "rate %g read as %g", (double)f, chop.rate);
        shmchop_chop_free(&chop);
    }
}
END_TEST

/* ---- R1.7 namesSent ---------------------------------------------------------------- */

START_TEST(r1_7_names_sent_other_than_0_1_warns)
{
    static const int32_t odd[] = {7, 2, -1, 0x7fffffff};
    for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
        img m;
        shmchop_chop chop;
        result r;
        char want[32];
        mk_base(&m);
        put_i32(&m, 24, odd[k]);
        shmchop_chop_init(&chop);
        expect_ok(&m, &chop, &r, (const int[]){SHMCHOP_E_BAD_NAMES_SENT, 0}, "odd namesSent");
        expect_names(&chop, TXYZ, 3, "odd namesSent reads the names");
        ck_assert_str_eq(r.d.warnings[0].rule, "R1.7");
        ck_assert_str_eq(r.d.warnings[0].field, "namesSent");
        snprintf(want, sizeof want, "namesSent %d", odd[k]);
        ck_assert_msg(strstr(r.d.warnings[0].message, want), "warning '%s' lacks '%s'",
                      r.d.warnings[0].message, want);
        shmchop_chop_free(&chop);

        /* --strict makes the warning an error. */
        shmchop_chop_init(&chop);
        parse_into(&m, (popts){.strict = true}, &chop, &r);
        ck_assert_int_eq(r.rc, SHMCHOP_E_BAD_NAMES_SENT);
        ck_assert_uint_eq(chop.num_chans, 0);
        shmchop_chop_free(&chop);
    }
}
END_TEST

START_TEST(r1_7_names_sent_0_and_1_are_quiet)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_base(&m);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "namesSent 1");
    expect_names(&chop, TXYZ, 3, "namesSent 1");
    shmchop_chop_free(&chop);
    put_i32(&m, 24, 0);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "namesSent 0");
    expect_names(&chop, (const char *const[]){"chan1", "chan2", "chan3"}, 3, "namesSent 0");
    shmchop_chop_free(&chop);
}
END_TEST

/* ---- R1.8 channelDataOffset ---------------------------------------------------------- */

START_TEST(r1_8_offset_not_multiple_of_4)
{
    static const int32_t bad[] = {38, 37, 39, 41};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        img m;
        char want[48];
        mk_unnamed(&m);
        put_i32(&m, 28, bad[k]);
        snprintf(want, sizeof want, "channelDataOffset %d", bad[k]);
        expect_error(&m, SHMCHOP_E_BAD_DATA_OFFSET, "R1.8", "channelDataOffset", want,
                     "multiple of 4", want);
    }
}
END_TEST

START_TEST(r1_8_offset_below_header)
{
    static const int32_t bad[] = {32, 0, -4, -2147483647 - 1};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        img m;
        char want[48];
        mk_unnamed(&m);
        put_i32(&m, 28, bad[k]);
        snprintf(want, sizeof want, "channelDataOffset %d", bad[k]);
        expect_error(&m, SHMCHOP_E_BAD_DATA_OFFSET, "R1.8", "channelDataOffset", want, NULL,
                     want);
    }
}
END_TEST

START_TEST(r1_8_data_past_size)
{
    img m;
    mk_unnamed(&m);
    put_i32(&m, 28, 40); /* data 40-135, size 132 */
    expect_error(&m, SHMCHOP_E_BAD_DATA_OFFSET, "R1.8", "channelDataOffset", "132", NULL,
                 "data 4 bytes past size");
    mk_unnamed(&m);
    put_i32(&m, 12, 1000);
    put_i32(&m, 16, 1000);
    expect_error(&m, SHMCHOP_E_BAD_DATA_OFFSET, "R1.8", NULL, NULL, NULL, "4 MB of data");
}
END_TEST

START_TEST(r1_8_data_ending_at_size_and_gaps_are_valid)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_unnamed(&m); /* data ends exactly at size */
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "data ends at size");
    shmchop_chop_free(&chop);

    /* data at 52 after a 16-byte gap; names at odd offset 151 */
    memset(&m, 0x5A, sizeof m);
    header(&m, 160, 3, 8, 60.0f, 1, 52, 151);
    put_ramp(&m, 52, 3, 8);
    put_names(&m, 151, "tx\0ty\0tz", 9);
    m.len = 160;
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "gaps");
    expect_names(&chop, TXYZ, 3, "gaps");
    ck_assert(shmchop_chop_channel(&chop, 2)[7] == ramp(2, 7));
    shmchop_chop_free(&chop);

    /* length 0: an empty data area may sit at size */
    mk_unnamed(&m);
    put_i32(&m, 16, 0);
    put_i32(&m, 28, 132);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "empty data area at size");
    shmchop_chop_free(&chop);
}
END_TEST

/* ---- R1.9 nameDataOffset -------------------------------------------------------------- */

START_TEST(r1_9_name_offset_checked_with_names)
{
    static const int32_t bad[] = {0, 35, 20, -1, 142, 0x7fffffff};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        img m;
        char want[48];
        mk_base(&m);
        put_i32(&m, 32, bad[k]);
        snprintf(want, sizeof want, "nameDataOffset %d", bad[k]);
        expect_error(&m, SHMCHOP_E_BAD_NAME_OFFSET, "R1.9", "nameDataOffset", want, NULL, want);
    }
}
END_TEST

START_TEST(r1_9_name_offset_ignored_when_names_sent_0)
{
    static const int32_t any[] = {0, -7, 35, 133, 0x7fffffff, -2147483647 - 1};
    for (size_t k = 0; k < sizeof any / sizeof any[0]; k++) {
        img m;
        shmchop_chop chop;
        result r;
        mk_unnamed(&m);
        put_i32(&m, 32, any[k]);
        shmchop_chop_init(&chop);
        expect_ok(&m, &chop, &r, NO_WARNINGS, "nameDataOffset with namesSent 0");
        ck_assert_uint_eq(chop.num_chans, 3);
        shmchop_chop_free(&chop);
    }
}
END_TEST

START_TEST(r1_9_name_offset_equal_to_size)
{
    img m;
    shmchop_chop chop;
    result r;
    /* numChans 0 with names: the empty name area may start at size */
    memset(&m, 0, sizeof m);
    header(&m, 36, 0, 8, 60.0f, 1, 36, 36);
    m.len = 36;
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "numChans 0, names at size");
    shmchop_chop_free(&chop);
    /* with channels there is no room for a name: R1.13 */
    mk_base(&m);
    put_i32(&m, 32, 141);
    expect_error(&m, SHMCHOP_E_NAME_UNTERMINATED, "R1.13", NULL, "channel 0", NULL,
                 "3 names at size");
}
END_TEST

/* ---- R1.10 64-bit arithmetic ------------------------------------------------------------ */

START_TEST(r1_10_product_does_not_wrap)
{
    static const struct {
        int32_t nch, len;
    } cases[] = {
        {65536, 65536},             /* 2^34: 0 in 32 bits */
        {1, 0x40000000},            /* 2^32: 0 in 32 bits */
        {3, 0x55555556},            /* 0x400000008: 8 in 32 bits */
        {1048576, 0x7fffffff},      /* the channel limit times INT32_MAX */
        {0x100000, 0x400},          /* 2^32 again, from the other side */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        img m;
        mk_unnamed(&m);
        put_i32(&m, 12, cases[k].nch);
        put_i32(&m, 16, cases[k].len);
        put_i32(&m, 8, 44);
        m.len = 44;
        expect_error(&m, SHMCHOP_E_OVERFLOW, "R1.10", NULL, NULL, NULL, "wrapping product");
    }
}
END_TEST

START_TEST(r1_10_offset_sum_does_not_wrap)
{
    img m;
    mk_unnamed(&m);
    put_i32(&m, 28, 0x7ffffffc);
    expect_error(&m, SHMCHOP_E_OVERFLOW, "R1.10", NULL, NULL, NULL, "offset INT32_MAX-3 + 96");
    /* one channel, length 1, at the very top: still past any int32 size */
    mk_unnamed(&m);
    put_i32(&m, 12, 1);
    put_i32(&m, 16, 1);
    put_i32(&m, 28, 0x7ffffffc);
    expect_error(&m, SHMCHOP_E_OVERFLOW, "R1.10", NULL, NULL, NULL, "offset INT32_MAX-3 + 4");
}
END_TEST

START_TEST(r1_10_zero_factor_is_no_data)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_unnamed(&m);
    put_i32(&m, 12, 0);
    put_i32(&m, 16, 0x7fffffff);
    put_i32(&m, 8, 36);
    m.len = 36;
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "0 x INT32_MAX");
    ck_assert_uint_eq(chop.num_chans, 0);
    ck_assert_uint_eq(chop.length, 0x7fffffff);
    shmchop_chop_free(&chop);
}
END_TEST

/* ---- R1.11 overlap, every pair ---------------------------------------------------------- */

START_TEST(r1_11_names_inside_data)
{
    img m;
    mk_base(&m);
    put_names(&m, 100, "tx\0ty\0tz", 9); /* proper names, so overlap is the only fault */
    put_i32(&m, 32, 100);
    expect_error(&m, SHMCHOP_E_OVERLAP, "R1.11", NULL, "100", NULL, "names inside data");
}
END_TEST

START_TEST(r1_11_names_at_data_start)
{
    img m;
    mk_base(&m);
    put_names(&m, 36, "tx\0ty\0tz", 9);
    put_i32(&m, 32, 36);
    expect_error(&m, SHMCHOP_E_OVERLAP, "R1.11", NULL, NULL, NULL, "names at data start");
}
END_TEST

START_TEST(r1_11_names_run_into_data)
{
    img m;
    /* names first at 36-44, data moved to 44: the last NUL is data */
    memset(&m, 0, sizeof m);
    header(&m, 140, 3, 8, 60.0f, 1, 44, 36);
    put_names(&m, 36, "tx\0ty\0tz", 9);
    m.len = 140;
    expect_error(&m, SHMCHOP_E_OVERLAP, "R1.11", NULL, NULL, NULL, "names run into data");
}
END_TEST

START_TEST(r1_11_data_runs_into_names)
{
    img m;
    mk_base(&m);
    put_names(&m, 128, "tx\0ty\0tz", 9); /* names 128-136, data 36-131 */
    put_i32(&m, 32, 128);
    put_i32(&m, 8, 137);
    m.len = 137;
    expect_error(&m, SHMCHOP_E_OVERLAP, "R1.11", NULL, NULL, NULL, "data runs into names");
}
END_TEST

START_TEST(r1_11_data_or_names_overlapping_header)
{
    img m;
    mk_unnamed(&m);
    put_i32(&m, 28, 32);
    expect_error(&m, SHMCHOP_E_BAD_DATA_OFFSET, "R1.8", NULL, NULL, NULL, "data over header");
    mk_base(&m);
    put_i32(&m, 32, 20);
    expect_error(&m, SHMCHOP_E_BAD_NAME_OFFSET, "R1.9", NULL, NULL, NULL, "names over header");
}
END_TEST

START_TEST(r1_11_names_before_data_are_valid)
{
    img m;
    shmchop_chop chop;
    result r;
    memset(&m, 0, sizeof m);
    header(&m, 144, 3, 8, 60.0f, 1, 48, 36);
    put_names(&m, 36, "tx\0ty\0tz", 9);
    put_ramp(&m, 48, 3, 8);
    m.len = 144;
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "names then data");
    expect_names(&chop, TXYZ, 3, "names then data");
    ck_assert(shmchop_chop_channel(&chop, 1)[3] == ramp(1, 3));
    shmchop_chop_free(&chop);
}
END_TEST

/* An empty data area (length 0) overlaps nothing, even where the names are. */
START_TEST(r1_11_empty_data_area_overlaps_nothing)
{
    img m;
    shmchop_chop chop;
    result r;
    memset(&m, 0, sizeof m);
    header(&m, 45, 3, 0, 60.0f, 1, 36, 36);
    put_names(&m, 36, "tx\0ty\0tz", 9);
    m.len = 45;
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "empty data area under the names");
    expect_names(&chop, TXYZ, 3, "empty data area");
    shmchop_chop_free(&chop);
}
END_TEST

/* R1.11 + R1.16: overlapping the block makes the block not present (warning), not the image invalid. */
START_TEST(r1_11_data_or_names_over_ext_block_ignore_it)
{
    img m;
    shmchop_chop chop;
    result r;

    mk_ext(&m, 500);
    /* data moved to 96: overlaps the block's last 8 bytes */
    memmove(m.b + 96, m.b + 104, 96);
    put_i32(&m, 28, 96);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, (const int[]){SHMCHOP_E_EXT_INVALID, 0}, "data over block");
    ck_assert(!r.info.has_ext);
    ck_assert_int_eq(chop.start, 0);
    ck_assert(shmchop_chop_channel(&chop, 0)[0] == ramp(0, 0));
    shmchop_chop_free(&chop);

    mk_ext(&m, 500);
    put_names(&m, 90, "tx\0ty\0tz", 9); /* names 90-98, inside the block */
    put_i32(&m, 32, 90);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, (const int[]){SHMCHOP_E_EXT_INVALID, 0}, "names over block");
    ck_assert(!r.info.has_ext);
    expect_names(&chop, TXYZ, 3, "names over block");
    shmchop_chop_free(&chop);
}
END_TEST

/* R1.16: in a TouchDesigner layout (data at 36) bytes 40..43 are channel
 * 0's sample 1; a sample whose bits read "SMX1" is data, never a block,
 * and must not warn -- nor fail --strict. (Found by fuzz_image.) */
START_TEST(r1_16_smx1_sample_in_data_is_not_a_block)
{
    img m;
    shmchop_chop chop;
    result r;

    mk_unnamed(&m);
    put_u32(&m, 40, SHMCHOP_EXT_MAGIC);
    put_u32(&m, 44, 64);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NULL, "SMX1 sample");
    ck_assert(!r.info.has_ext);
    uint32_t bits;
    memcpy(&bits, &shmchop_chop_channel(&chop, 0)[1], 4);
    ck_assert_uint_eq(bits, SHMCHOP_EXT_MAGIC);
    parse_into(&m, (popts){.strict = true}, &chop, &r);
    ck_assert_msg(r.rc == 0, "strict: %s", r.d.n_errors ? r.d.errors[0].message : "-");
    shmchop_chop_free(&chop);
}
END_TEST

/* ---- R1.12 planar data, pass-through ----------------------------------------------------- */

START_TEST(r1_12_planar_layout)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_base(&m);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "planar");
    for (uint32_t c = 0; c < 3; c++)
        for (uint32_t i = 0; i < 8; i++) {
            ck_assert(shmchop_chop_channel(&chop, c)[i] == ramp(c, i));
            ck_assert(chop.data[c * 8 + i] == ramp(c, i));
        }
    ck_assert(chop.rate == 60.0);
    ck_assert_int_eq(chop.start, 0);
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_12_nan_and_inf_pass_through_bit_exact)
{
    static const uint32_t bits[] = {0x7fc00000u, 0x7fc00001u, 0xffc12345u, 0x7f800001u,
                                    0xff800001u, 0x7f800000u, 0xff800000u, 0x80000000u};
    img m;
    shmchop_chop chop;
    result r;
    mk_base(&m);
    for (size_t k = 0; k < 8; k++)
        put_u32(&m, 36 + 32 + 4 * k, bits[k]); /* channel 1 */
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, (const int[]){SHMCHOP_E_NONFINITE, 0}, "non-finite counted");
    ck_assert_uint_eq(r.info.nonfinite, 7);
    ck_assert_str_eq(r.d.warnings[0].rule, "R1.12");
    ck_assert_mem_eq(chop.data, m.b + 36, 96);
    shmchop_chop_free(&chop);

    /* The cook's path does not count, and still passes every bit through. */
    shmchop_chop_init(&chop);
    parse_into(&m, (popts){0}, &chop, &r);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_uint_eq(r.d.n_warnings, 0);
    ck_assert_mem_eq(chop.data, m.b + 36, 96);
    shmchop_chop_free(&chop);

    /* --strict: a warning is an error. */
    shmchop_chop_init(&chop);
    parse_into(&m, (popts){.strict = true, .nonfinite = true}, &chop, &r);
    ck_assert_int_eq(r.rc, SHMCHOP_E_NONFINITE);
    shmchop_chop_free(&chop);
}
END_TEST

/* ---- R1.13 names area ---------------------------------------------------------------------- */

START_TEST(r1_13_exactly_num_chans_names_trailing_bytes_ignored)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_base(&m);
    memcpy(m.b + 141, "junk\x01\xff", 6); /* not a name, never read as one */
    put_i32(&m, 8, 147);
    m.len = 147;
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "bytes after the last NUL");
    expect_names(&chop, TXYZ, 3, "bytes after the last NUL");
    shmchop_chop_free(&chop);

    mk_named(&m, 4, 2, "a\0bb\0ccc\0dddd", 14);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "back to back");
    expect_names(&chop, (const char *const[]){"a", "bb", "ccc", "dddd"}, 4, "back to back");
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_13_unterminated_last_name)
{
    img m;
    mk_base(&m);
    m.b[140] = 'z';
    expect_error(&m, SHMCHOP_E_NAME_UNTERMINATED, "R1.13", "names", "channel 2", NULL,
                 "last NUL missing");
    /* the NUL exists in the buffer, but past size */
    mk_base(&m);
    put_i32(&m, 8, 139);
    expect_error(&m, SHMCHOP_E_NAME_UNTERMINATED, "R1.13", "names", NULL, NULL,
                 "NUL past size");
}
END_TEST

START_TEST(r1_13_too_few_names)
{
    img m;
    mk_base(&m);
    put_i32(&m, 12, 4);
    put_i32(&m, 16, 6);
    expect_error(&m, SHMCHOP_E_NAME_UNTERMINATED, "R1.13", "names", NULL, NULL,
                 "3 names for 4 channels");
}
END_TEST

/* ---- R1.14 name bytes --------------------------------------------------------------------- */

START_TEST(r1_14_names_of_1_and_255_bytes)
{
    char packed[300];
    char n255[256];
    img m;
    shmchop_chop chop;
    result r;
    memset(n255, 'N', 255);
    n255[255] = 0;
    memcpy(packed, "a\0", 2);
    memcpy(packed + 2, n255, 256);
    mk_named(&m, 2, 1, packed, 258);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "1 and 255 bytes");
    expect_names(&chop, (const char *const[]){"a", n255}, 2, "1 and 255 bytes");
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_14_empty_name_names_channel)
{
    img m;
    mk_named(&m, 3, 1, "tx\0ty\0", 7); /* channel 2's name is empty */
    expect_error(&m, SHMCHOP_E_NAME_EMPTY, "R1.14", "names", "channel 2", NULL, "empty third");
    mk_named(&m, 3, 1, "\0ty\0tz", 7);
    expect_error(&m, SHMCHOP_E_NAME_EMPTY, "R1.14", "names", "channel 0", NULL, "empty first");
}
END_TEST

START_TEST(r1_14_256_byte_name_names_channel)
{
    char packed[600];
    img m;
    memcpy(packed, "a\0", 2);
    memset(packed + 2, 'L', 256);
    packed[258] = 0;
    memcpy(packed + 259, "c", 2);
    mk_named(&m, 3, 1, packed, 261);
    expect_error(&m, SHMCHOP_E_NAME_TOO_LONG, "R1.14", "names", "channel 1", "256",
                 "256-byte name");
    memset(packed + 2, 'L', 500);
    packed[502] = 0;
    mk_named(&m, 2, 1, packed, 503);
    expect_error(&m, SHMCHOP_E_NAME_TOO_LONG, "R1.14", "names", "channel 1", "500",
                 "500-byte name");
}
END_TEST

START_TEST(r1_14_illegal_bytes_replaced_with_warning)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_named(&m, 4, 1, "a b\0x.y\0caf\xc3\xa9\0ok:/-_9Z", 23);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r,
              (const int[]){SHMCHOP_E_NAME_ILLEGAL, SHMCHOP_E_NAME_ILLEGAL,
                            SHMCHOP_E_NAME_ILLEGAL, 0},
              "illegal bytes");
    expect_names(&chop, (const char *const[]){"a_b", "x_y", "caf__", "ok:/-_9Z"}, 4,
                 "replaced by _");
    for (unsigned i = 0; i < 3; i++) {
        char want[16];
        snprintf(want, sizeof want, "channel %u", i);
        ck_assert_str_eq(r.d.warnings[i].rule, "R1.14");
        ck_assert_msg(strstr(r.d.warnings[i].message, want) != NULL, "warning '%s' lacks '%s'",
                      r.d.warnings[i].message, want);
    }
    shmchop_chop_free(&chop);
}
END_TEST

/* The legal set is exactly letters, digits and - _ : / (every byte 1-255 tried). */
START_TEST(r1_14_legal_byte_set_exact)
{
    char packed[2 * 255];
    img m;
    shmchop_chop chop;
    result r;
    unsigned illegal = 0;
    for (int c = 1; c < 256; c++) {
        packed[2 * (c - 1)] = (char)c;
        packed[2 * (c - 1) + 1] = 0;
        bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' || c == '/';
        illegal += !legal;
    }
    mk_named(&m, 255, 1, packed, sizeof packed);
    shmchop_chop_init(&chop);
    parse_into(&m, (popts){0}, &chop, &r);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_uint_eq(r.d.n_warnings, illegal);
    for (int c = 1; c < 256; c++) {
        bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' || c == '/';
        const char *name = shmchop_chop_name(&chop, (uint32_t)(c - 1));
        ck_assert_msg(strlen(name) == 1, "byte %d: name length %zu", c, strlen(name));
        ck_assert_msg((unsigned char)name[0] == (legal ? c : '_'), "byte 0x%02x became 0x%02x",
                      c, (unsigned char)name[0]);
    }
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_14_strict_makes_illegal_names_an_error)
{
    img m;
    shmchop_chop chop, zero;
    result r;
    mk_named(&m, 2, 1, "ok\0a b", 7);
    shmchop_chop_init(&chop);
    shmchop_chop_init(&zero);
    parse_into(&m, (popts){.strict = true}, &chop, &r);
    ck_assert_int_eq(r.rc, SHMCHOP_E_NAME_ILLEGAL);
    ck_assert_uint_ge(r.d.n_errors, 1);
    ck_assert_int_eq(r.d.errors[0].code, SHMCHOP_E_NAME_ILLEGAL);
    ck_assert_msg(strstr(r.d.errors[0].message, "channel 1"), "'%s' lacks the channel",
                  r.d.errors[0].message);
    ck_assert_mem_eq(&chop, &zero, sizeof chop);
}
END_TEST

/* ---- R1.15 unsent names ------------------------------------------------------------------- */

START_TEST(r1_15_fresh_reader_names_chan_i_plus_1)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_unnamed(&m);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "unnamed");
    expect_names(&chop, (const char *const[]){"chan1", "chan2", "chan3"}, 3, "fresh");
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_15_unsent_names_keep_previous)
{
    img named, unnamed, bad;
    shmchop_chop chop;
    result r;
    shmchop_chop_init(&chop);
    mk_base(&named);
    expect_ok(&named, &chop, &r, NO_WARNINGS, "named");

    /* 5 unnamed channels: the first three keep tx ty tz */
    memset(&unnamed, 0, sizeof unnamed);
    header(&unnamed, 36 + 5 * 2 * 4, 5, 2, 60.0f, 0, 36, 0);
    unnamed.len = 76;
    expect_ok(&unnamed, &chop, &r, NO_WARNINGS, "5 unnamed");
    expect_names(&chop, (const char *const[]){"tx", "ty", "tz", "chan4", "chan5"}, 5,
                 "keep then chanN");

    /* a failed read changes nothing */
    mk_base(&bad);
    put_i32(&bad, 4, 9);
    parse(&bad, &chop, &r);
    ck_assert_int_eq(r.rc, SHMCHOP_E_BAD_VERSION);

    /* 2 unnamed channels: tx ty */
    header(&unnamed, 36 + 2 * 2 * 4, 2, 2, 60.0f, 0, 36, 0);
    unnamed.len = 52;
    expect_ok(&unnamed, &chop, &r, NO_WARNINGS, "2 unnamed");
    expect_names(&chop, TXYZ, 2, "fewer channels");

    /* the previous successful read had 2 channels: channel 2 is chan3 again */
    header(&unnamed, 36 + 3 * 2 * 4, 3, 2, 60.0f, 0, 36, 0);
    unnamed.len = 60;
    expect_ok(&unnamed, &chop, &r, NO_WARNINGS, "3 unnamed");
    expect_names(&chop, (const char *const[]){"tx", "ty", "chan3"}, 3, "grow again");

    /* names sent again replace the kept ones */
    mk_named(&named, 2, 1, "p\0q", 4);
    expect_ok(&named, &chop, &r, NO_WARNINGS, "named again");
    expect_names(&chop, (const char *const[]){"p", "q"}, 2, "sent names win");
    shmchop_chop_free(&chop);
}
END_TEST

/* ---- R1.16 extension block ---------------------------------------------------------------- */

START_TEST(r1_16_block_recognised)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_ext(&m, 500);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "with block");
    ck_assert(r.info.has_ext);
    ck_assert(r.info.checksum_ok);
    ck_assert_uint_eq(r.info.ext.ext_magic, SHMCHOP_EXT_MAGIC);
    ck_assert_uint_eq(r.info.ext.ext_size, 64);
    ck_assert_uint_eq(r.info.ext.seq, EXT_SEQ);
    ck_assert_uint_eq(r.info.ext.frame, EXT_FRAME);
    ck_assert_uint_eq(r.info.ext.time_ns, EXT_TIME);
    ck_assert_uint_eq(r.info.ext.writer_pid, EXT_PID);
    ck_assert_uint_eq(r.info.ext.heartbeat_ns, EXT_HEART);
    ck_assert_uint_eq(r.info.ext.flags, SHMCHOP_EXT_FLAG_CHECKSUM);
    expect_names(&chop, TXYZ, 3, "with block");
    ck_assert(shmchop_chop_channel(&chop, 2)[7] == ramp(2, 7));
    shmchop_chop_free(&chop);

    /* a larger block (ext_size 128) before data at 168 */
    memset(&m, 0, sizeof m);
    mk_ext(&m, 1);
    memmove(m.b + 168, m.b + 104, 105);
    memset(m.b + 104, 0, 64);
    put_u32(&m, 44, 128);
    put_i32(&m, 28, 168);
    put_i32(&m, 32, 264);
    put_i32(&m, 8, 273);
    m.len = 273;
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "ext_size 128");
    ck_assert(r.info.has_ext);
    ck_assert(r.info.checksum_ok);
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_16_bad_block_ignored_with_warning)
{
    static const uint32_t sizes[] = {0, 60, 68, 65, 4096, 0xfffffff8u};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        img m;
        shmchop_chop chop;
        result r;
        mk_ext(&m, 500);
        put_u32(&m, 44, sizes[k]);
        shmchop_chop_init(&chop);
        expect_ok(&m, &chop, &r, (const int[]){SHMCHOP_E_EXT_INVALID, 0}, "bad ext_size");
        ck_assert(!r.info.has_ext);
        ck_assert_str_eq(r.d.warnings[0].rule, "R1.16");
        ck_assert_int_eq(chop.start, 0);
        expect_names(&chop, TXYZ, 3, "bad block");
        shmchop_chop_free(&chop);
    }
}
END_TEST

START_TEST(r1_16_foreign_bytes_are_no_block)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_ext(&m, 500);
    put_u32(&m, 40, 0x31584D54u);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "other magic");
    ck_assert(!r.info.has_ext);
    ck_assert_int_eq(chop.start, 0);
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_16_block_never_rescues_or_breaks_header)
{
    img m;
    mk_ext(&m, 500);
    put_i32(&m, 4, 2);
    expect_error(&m, SHMCHOP_E_BAD_VERSION, "R1.2", NULL, NULL, NULL, "bad version with block");
    mk_ext(&m, 500);
    put_i32(&m, 28, 102);
    expect_error(&m, SHMCHOP_E_BAD_DATA_OFFSET, "R1.8", NULL, NULL, NULL, "misaligned with block");
}
END_TEST

START_TEST(r1_16a_checksum_mismatch_is_an_error_checked_only_when_flagged)
{
    img m;
    shmchop_chop chop;
    result r;
    mk_ext(&m, 500);
    put_u32(&m, 88, get_u32(&m, 88) ^ 0x80000000u);
    expect_error(&m, SHMCHOP_E_CHECKSUM, "R1.16a", "checksum", NULL, NULL, "wrong checksum");

    /* a sample changed after the checksum was computed */
    mk_ext(&m, 500);
    m.b[150] ^= 1;
    expect_error(&m, SHMCHOP_E_CHECKSUM, "R1.16a", "checksum", NULL, NULL, "data changed");
    /* a name changed: the names are covered too */
    mk_ext(&m, 500);
    m.b[201] = 'q';
    expect_error(&m, SHMCHOP_E_CHECKSUM, "R1.16a", "checksum", NULL, NULL, "name changed");

    /* only a block without the checksum flag skips the check */
    mk_ext(&m, 500);
    put_u32(&m, 84, 0);
    put_u32(&m, 88, 0xdeadbeefu);
    shmchop_chop_init(&chop);
    expect_ok(&m, &chop, &r, NO_WARNINGS, "flag clear");
    ck_assert(r.info.has_ext);
    ck_assert(!r.info.checksum_ok);
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_16_crc32c_known_answers)
{
    static const char digits[] = "123456789";
    ck_assert_uint_eq(shmchop_crc32c(0, digits, 9), 0xE3069283u);
    ck_assert_uint_eq(shmchop_crc32c(0, "", 0), 0);
    /* continuation: crc(crc(a), b) == crc(ab) */
    ck_assert_uint_eq(shmchop_crc32c(shmchop_crc32c(0, digits, 4), digits + 4, 5), 0xE3069283u);
    uint8_t buf[1031];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131u + 7u);
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= sizeof buf; len += 97) {
            uint32_t want = ref_crc32c(0, buf + off, len);
            ck_assert_uint_eq(shmchop_crc32c(0, buf + off, len), want);
            ck_assert_uint_eq(shmchop__crc32c_soft(0, buf + off, len), want);
        }
    img m;
    shmchop_header h;
    mk_ext(&m, 0);
    shmchop_header_decode(m.b, &h);
    ck_assert_uint_eq(shmchop_image_checksum(m.b, &h), get_u32(&m, 88));
}
END_TEST

/* ---- R1.17 start and seq from the block ----------------------------------------------------- */

START_TEST(r1_17_start_from_block)
{
    static const int64_t starts[] = {0, 12345, -480, (int64_t)1 << 40, INT64_MAX};
    for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
        img m;
        shmchop_chop chop;
        result r;
        mk_ext(&m, starts[k]);
        shmchop_chop_init(&chop);
        expect_ok(&m, &chop, &r, NO_WARNINGS, "start");
        ck_assert_int_eq(chop.start, starts[k]);
        ck_assert_int_eq(r.info.ext.start, starts[k]);
        ck_assert_uint_eq(r.info.ext.seq, EXT_SEQ);
        shmchop_chop_free(&chop);
    }
    img m;
    shmchop_chop chop;
    result r;
    mk_base(&m);
    shmchop_chop_init(&chop);
    chop.start = 99; /* a previous read's start is not kept */
    expect_ok(&m, &chop, &r, NO_WARNINGS, "no block");
    ck_assert_int_eq(chop.start, 0);
    ck_assert(!r.info.has_ext);
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(r1_17_decode_helpers)
{
    img m;
    shmchop_header h;
    shmchop_ext e;
    mk_ext(&m, -3);
    shmchop_header_decode(m.b, &h);
    shmchop_ext_decode(m.b, &e);
    ck_assert_int_eq(h.magic, SHMCHOP_MAGIC);
    ck_assert_int_eq(h.size, 209);
    ck_assert_int_eq(h.num_chans, 3);
    ck_assert_int_eq(h.length, 8);
    ck_assert(h.sample_rate == 60.0f);
    ck_assert_int_eq(h.names_sent, 1);
    ck_assert_int_eq(h.channel_data_offset, 104);
    ck_assert_int_eq(h.name_data_offset, 200);
    ck_assert_uint_eq(e.ext_magic, SHMCHOP_EXT_MAGIC);
    ck_assert_int_eq(e.start, -3);
    ck_assert_uint_eq(e.frame, EXT_FRAME);
    ck_assert_uint_eq(e.checksum, get_u32(&m, 88));
}
END_TEST

/* ---- the builder ------------------------------------------------------------------------- */

static void fill_chop(shmchop_chop *c, uint32_t nch, uint32_t len, const char *packed,
                      size_t nbytes)
{
    shmchop_chop_init(c);
    ck_assert_int_eq(shmchop_chop_reserve(c, nch, len, nbytes), 0);
    ck_assert_int_eq(shmchop_chop_set_names(c, packed, nbytes), 0);
    for (uint32_t ch = 0; ch < nch; ch++)
        for (uint32_t i = 0; i < len; i++)
            shmchop_chop_channel(c, ch)[i] = ramp(ch, i);
    c->rate = 60.0;
}

static size_t build(const shmchop_chop *c, const shmchop_build_opts *o, img *m)
{
    size_t written = 0;
    memset(m, 0xEE, sizeof *m);
    int64_t size = shmchop_image_size(c, o);
    ck_assert_msg(size > 0, "image_size: %s", shmchop_err_name((int)size));
    int rc = shmchop_image_build(m->b, sizeof m->b, c, o, &written);
    ck_assert_msg(rc == 0, "image_build: %s", shmchop_err_name(rc));
    ck_assert_uint_eq(written, (size_t)size);
    m->len = written;
    return written;
}

/* Zeroed options give TouchDesigner's layout: exactly the hand-made base image. */
START_TEST(builder_default_layout_is_touchdesigner)
{
    shmchop_chop c;
    img built, want;
    fill_chop(&c, 3, 8, "tx\0ty\0tz", 9);
    build(&c, &(shmchop_build_opts){.names = true}, &built);
    mk_base(&want);
    ck_assert_uint_eq(built.len, want.len);
    ck_assert_mem_eq(built.b, want.b, want.len);
    build(&c, NULL, &built); /* no names */
    mk_unnamed(&want);
    ck_assert_uint_eq(built.len, 132);
    ck_assert_mem_eq(built.b, want.b, 32); /* nameDataOffset is free without names */
    ck_assert_mem_eq(built.b + 36, want.b + 36, 96);
    shmchop_chop_free(&c);
}
END_TEST

START_TEST(builder_round_trip)
{
    shmchop_chop c, back;
    img m;
    result r;
    fill_chop(&c, 4, 5, "a\0bb\0c:d\0e/f", 13);
    c.start = -77;
    shmchop_chop_channel(&c, 3)[4] = NAN;
    shmchop_build_opts o = {.names = true, .ext = true, .seq = 6, .frame = 3, .time_ns = 11,
                            .heartbeat_ns = 12, .writer_pid = 13,
                            .flags = SHMCHOP_EXT_FLAG_TIMESLICE};
    build(&c, &o, &m);
    shmchop_chop_init(&back);
    expect_ok(&m, &back, &r, (const int[]){SHMCHOP_E_NONFINITE, 0}, "round trip");
    expect_names(&back, (const char *const[]){"a", "bb", "c:d", "e/f"}, 4, "round trip");
    ck_assert_uint_eq(back.length, 5);
    ck_assert(back.rate == 60.0);
    ck_assert_int_eq(back.start, -77);
    ck_assert_mem_eq(back.data, c.data, 4 * 5 * 4);
    ck_assert(r.info.has_ext && r.info.checksum_ok);
    ck_assert_uint_eq(r.info.ext.seq, 6);
    ck_assert_uint_eq(r.info.ext.frame, 3);
    ck_assert_uint_eq(r.info.ext.time_ns, 11);
    ck_assert_uint_eq(r.info.ext.heartbeat_ns, 12);
    ck_assert_uint_eq(r.info.ext.writer_pid, 13);
    ck_assert_uint_eq(r.info.ext.flags, SHMCHOP_EXT_FLAG_TIMESLICE | SHMCHOP_EXT_FLAG_CHECKSUM);
    ck_assert_uint_eq(get_u32(&m, 36), 0); /* bytes 36-39 zero */
    ck_assert_int_eq((int32_t)get_u32(&m, 28), 104);
    /* the checksum is CRC-32C of data then names, by the reference CRC */
    uint32_t crc = ref_crc32c(0, m.b + 104, 80);
    ck_assert_uint_eq(get_u32(&m, 88), ref_crc32c(crc, m.b + 184, 13));
    shmchop_chop_free(&c);
    shmchop_chop_free(&back);
}
END_TEST

START_TEST(builder_explicit_offsets_round_trip)
{
    shmchop_chop c, back;
    img m;
    result r;
    fill_chop(&c, 3, 8, "tx\0ty\0tz", 9);
    build(&c, &(shmchop_build_opts){.names = true, .name_data_offset = 36,
                                    .channel_data_offset = 48},
          &m);
    ck_assert_uint_eq(m.len, 144);
    shmchop_chop_init(&back);
    expect_ok(&m, &back, &r, NO_WARNINGS, "names first");
    expect_names(&back, TXYZ, 3, "names first");
    ck_assert_mem_eq(back.data, c.data, 96);
    shmchop_chop_free(&back);

    build(&c, &(shmchop_build_opts){.names = true, .names_sent_value = 7}, &m);
    shmchop_chop_init(&back);
    expect_ok(&m, &back, &r, (const int[]){SHMCHOP_E_BAD_NAMES_SENT, 0}, "namesSent 7");
    shmchop_chop_free(&back);
    shmchop_chop_free(&c);
}
END_TEST

/* R1.9: a built image with names and no channels must still be valid. */
START_TEST(builder_zero_channels_with_names_is_valid)
{
    shmchop_chop c, back;
    img m;
    result r;
    fill_chop(&c, 0, 8, "", 0);
    build(&c, &(shmchop_build_opts){.names = true}, &m);
    shmchop_chop_init(&back);
    expect_ok(&m, &back, &r, NO_WARNINGS, "0 channels, names on, built");
    ck_assert_uint_eq(back.num_chans, 0);
    shmchop_chop_free(&back);
    shmchop_chop_free(&c);
}
END_TEST

/* pad_to: the builder pads a smaller image with zeros and its size says
 * so (bytes past the names are ignored, R1.13); the checksum (R1.16a)
 * still covers only data and names, so the padded image is valid with a
 * matching checksum. A smaller pad_to changes nothing; one past int32 is
 * R1.10's overflow. */
START_TEST(builder_pad_to_pads_and_sets_size)
{
    shmchop_chop c, back;
    img exact, padded;
    result r;
    fill_chop(&c, 2, 4, "a\0b", 4);
    shmchop_build_opts o = {.names = true, .ext = true, .frame = 9};
    size_t n = build(&c, &o, &exact);
    o.pad_to = n + 40;
    ck_assert_int_eq(shmchop_image_size(&c, &o), (int64_t)(n + 40));
    ck_assert_uint_eq(build(&c, &o, &padded), n + 40);
    shmchop_header h;
    shmchop_header_decode(padded.b, &h);
    ck_assert_int_eq(h.size, (int32_t)(n + 40));
    for (size_t i = n; i < n + 40; i++)
        ck_assert_msg(padded.b[i] == 0, "byte %zu of the padding is %u", i, padded.b[i]);
    /* Apart from size, the bytes are the exact image's. */
    ck_assert_mem_eq(padded.b, exact.b, SHMCHOP_OFF_SIZE);
    ck_assert_mem_eq(padded.b + SHMCHOP_OFF_NUM_CHANS, exact.b + SHMCHOP_OFF_NUM_CHANS,
                     n - SHMCHOP_OFF_NUM_CHANS);
    shmchop_chop_init(&back);
    expect_ok(&padded, &back, &r, NO_WARNINGS, "padded image");
    ck_assert(r.info.checksum_ok);
    shmchop_chop_free(&back);
    o.pad_to = n - 1;
    ck_assert_uint_eq(build(&c, &o, &padded), n);
    ck_assert_mem_eq(padded.b, exact.b, n);
    o.pad_to = (size_t)INT32_MAX + 1;
    ck_assert_int_eq(shmchop_image_size(&c, &o), SHMCHOP_E_OVERFLOW);
    shmchop_chop_free(&c);
}
END_TEST

START_TEST(builder_rejects_bad_layouts)
{
    shmchop_chop c;
    uint8_t buf[512];
    size_t written = 0;
    fill_chop(&c, 3, 8, "tx\0ty\0tz", 9);
    static const shmchop_build_opts bad[] = {
        {.channel_data_offset = 38},                        /* misaligned */
        {.channel_data_offset = 32},                        /* over the header */
        {.channel_data_offset = -4},
        {.names = true, .name_data_offset = 40},            /* names inside data */
        {.names = true, .name_data_offset = 20},            /* names over the header */
        {.ext = true, .channel_data_offset = 96},           /* data over the block */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ck_assert_msg(shmchop_image_size(&c, &bad[k]) == SHMCHOP_E_USAGE, "layout %zu: size %lld",
                      k, (long long)shmchop_image_size(&c, &bad[k]));
        ck_assert_int_eq(shmchop_image_build(buf, sizeof buf, &c, &bad[k], &written),
                         SHMCHOP_E_USAGE);
    }
    /* too small a buffer */
    ck_assert_int_eq(shmchop_image_build(buf, 140, &c, &(shmchop_build_opts){.names = true},
                                         &written),
                     SHMCHOP_E_LIMIT);
    shmchop_chop_free(&c);

    /* R1.10: a shape whose size does not fit int32 (no storage needed to ask) */
    shmchop_chop huge;
    shmchop_chop_init(&huge);
    huge.num_chans = 65536;
    huge.length = 65536;
    ck_assert_int_eq(shmchop_image_size(&huge, NULL), SHMCHOP_E_OVERFLOW);
    huge.num_chans = 1;
    huge.length = 0x20000000u; /* 2^31 bytes of data */
    ck_assert_int_eq(shmchop_image_size(&huge, NULL), SHMCHOP_E_OVERFLOW);
}
END_TEST

/* ---- failure leaves the CHOP untouched; R6.1 messages ----------------------------------------- */

START_TEST(parse_failure_leaves_chop_untouched)
{
    img good, bad;
    shmchop_chop chop, snap;
    result r;
    mk_base(&good);
    shmchop_chop_init(&chop);
    expect_ok(&good, &chop, &r, NO_WARNINGS, "good");
    chop.start = 4242;
    shmchop_chop snap_struct = chop;
    shmchop_chop_init(&snap);
    ck_assert_int_eq(shmchop_chop_copy(&snap, &chop), 0);

    for (int k = 0; k < 7; k++) {
        mk_ext(&bad, 5);
        switch (k) {
        case 0: put_u32(&bad, 0, 1); break;
        case 1: put_i32(&bad, 8, 20); break;
        case 2: put_i32(&bad, 12, 4); put_i32(&bad, 16, 6); break; /* too few names */
        case 3: bad.b[203] = 0; break;                              /* empty name */
        case 4: put_i32(&bad, 32, 150); break;                      /* overlap */
        case 5: bad.len = 30; break;
        case 6: put_i32(&bad, 28, 1 << 30); break;
        }
        parse(&bad, &chop, &r);
        ck_assert_msg(r.rc < 0, "fault %d was accepted", k);
        ck_assert_msg(memcmp(&chop, &snap_struct, sizeof chop) == 0, "fault %d: struct changed", k);
        ck_assert_mem_eq(chop.data, snap.data, 96);
        ck_assert_mem_eq(chop.name_buf, snap.name_buf, 9);
    }
    /* strict failure on a warning also leaves it */
    mk_named(&bad, 1, 1, "a b", 4);
    parse_into(&bad, (popts){.strict = true}, &chop, &r);
    ck_assert_int_eq(r.rc, SHMCHOP_E_NAME_ILLEGAL);
    ck_assert(memcmp(&chop, &snap_struct, sizeof chop) == 0);
    ck_assert_mem_eq(chop.name_buf, snap.name_buf, 9);
    shmchop_chop_free(&chop);
    shmchop_chop_free(&snap);
}
END_TEST

/* R6.1: one-line messages naming the object and the value; NULL object reads "image". */
START_TEST(r6_1_messages_name_object_and_value)
{
    img m;
    mk_unnamed(&m);
    put_i32(&m, 28, 38);
    shmchop_chop chop;
    result r;
    shmchop_chop_init(&chop);
    parse(&m, &chop, &r);
    ck_assert_str_eq(r.d.errors[0].message, "TouchSHMfoo: channelDataOffset 38 is not a multiple of 4");

    parse_into(&m, (popts){.object = ""}, &chop, &r);
    ck_assert_msg(strncmp(r.d.errors[0].message, "image: ", 7) == 0, "'%s'",
                  r.d.errors[0].message);

    /* an object name with a newline still gives one line */
    parse_into(&m, (popts){.object = "evil\nname"}, &chop, &r);
    ck_assert_ptr_null(strchr(r.d.errors[0].message, '\n'));

    /* several faults at once: each reported, each naming its value */
    mk_base(&m);
    put_i32(&m, 12, -3);
    put_i32(&m, 16, -9);
    put_u32(&m, 20, 0xbf800000u);
    parse(&m, &chop, &r);
    ck_assert_int_eq(r.rc, SHMCHOP_E_BAD_NUM_CHANS);
    ck_assert_uint_ge(r.d.n_errors, 3);
    ck_assert(strstr(r.d.errors[0].message, "-3") != NULL);
    ck_assert(strstr(r.d.errors[1].message, "-9") != NULL);
    ck_assert_int_eq(r.d.errors[2].code, SHMCHOP_E_BAD_RATE);
    ck_assert(strstr(r.d.errors[2].message, "-1") != NULL);
    ck_assert_uint_eq(chop.num_chans, 0);
}
END_TEST

/* More findings than SHMCHOP_DIAG_KEEP are counted, not kept, and nothing overflows. */
START_TEST(r6_1_diag_counts_past_keep)
{
    char packed[64];
    for (int i = 0; i < 20; i++) {
        packed[3 * i] = 'a';
        packed[3 * i + 1] = '.';
        packed[3 * i + 2] = 0;
    }
    img m;
    shmchop_chop chop;
    result r;
    mk_named(&m, 20, 1, packed, 60);
    shmchop_chop_init(&chop);
    parse_into(&m, (popts){0}, &chop, &r);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_uint_eq(r.d.n_warnings, 20);
    ck_assert_uint_eq(shmchop_diag_kept_warnings(&r.d), SHMCHOP_DIAG_KEEP);
    ck_assert_str_eq(shmchop_chop_name(&chop, 19), "a_");
    shmchop_chop_free(&chop);
    /* NULL diag and NULL info are allowed */
    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_image_parse(m.b, m.len, NULL, &chop, NULL, NULL), 0);
    shmchop_chop_free(&chop);
}
END_TEST

/* R6.1: findings added with a ready message follow the parser's rules:
 * one line, counted always, kept up to SHMCHOP_DIAG_KEEP; appending a diag
 * copies the kept ones and keeps the count of the rest. */
START_TEST(r6_1_diag_add_and_append_count_past_the_kept)
{
    shmchop_diag src, dst;

    shmchop_diag_clear(&src);
    shmchop_diag_clear(&dst);
    for (unsigned i = 0; i < SHMCHOP_DIAG_KEEP + 3; i++)
        shmchop_diag_add(&src, true, SHMCHOP_E_BAD_SIZE, "R1.3", "size", "TouchSHMx: size\n9");
    shmchop_diag_add(&src, false, SHMCHOP_E_NONFINITE, NULL, NULL, "TouchSHMx: NaN");
    ck_assert_uint_eq(src.n_errors, SHMCHOP_DIAG_KEEP + 3);
    ck_assert_str_eq(src.errors[0].message, "TouchSHMx: size 9");
    ck_assert_str_eq(src.warnings[0].rule, "");
    ck_assert_str_eq(src.warnings[0].field, "");

    shmchop_diag_add(&dst, true, SHMCHOP_E_USAGE, "", "", "first");
    shmchop_diag_append(&dst, &src);
    ck_assert_uint_eq(dst.n_errors, SHMCHOP_DIAG_KEEP + 4);
    ck_assert_uint_eq(dst.n_warnings, 1);
    ck_assert_str_eq(dst.errors[0].message, "first");
    ck_assert_int_eq(dst.errors[1].code, SHMCHOP_E_BAD_SIZE);
    ck_assert_str_eq(dst.errors[SHMCHOP_DIAG_KEEP - 1].rule, "R1.3");
    ck_assert_str_eq(dst.warnings[0].message, "TouchSHMx: NaN");
}
END_TEST

static Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *hdr = tcase_create("header");
    tcase_add_test(hdr, s1_1_header_table_is_the_spec_table);
    tcase_add_test(hdr, r1_1_magic_accepted);
    tcase_add_test(hdr, r6_1_diag_add_and_append_count_past_the_kept);
    tcase_add_test(hdr, r1_1_bad_magic);
    tcase_add_test(hdr, r1_2_version_other_than_1_unsupported);
    tcase_add_test(hdr, r1_3_fewer_bytes_than_header);
    tcase_add_test(hdr, r1_3_size_below_header);
    tcase_add_test(hdr, r1_3_size_past_available_bytes);
    tcase_add_test(hdr, r1_3_trailing_bytes_ignored);
    tcase_add_test(hdr, r1_3_header_only_image_is_valid);
    tcase_add_test(hdr, r1_4_num_chans_negative);
    tcase_add_test(hdr, r1_4_num_chans_zero_is_valid);
    tcase_add_test(hdr, r1_4_num_chans_reader_limit);
    tcase_add_test(hdr, r1_5_length_negative);
    tcase_add_test(hdr, r1_5_length_zero_is_valid);
    tcase_add_test(hdr, r1_6_rate_must_be_finite_and_positive);
    tcase_add_test(hdr, r1_6_tiny_and_huge_rates_are_valid);
    tcase_add_test(hdr, r1_7_names_sent_other_than_0_1_warns);
    tcase_add_test(hdr, r1_7_names_sent_0_and_1_are_quiet);
    tcase_add_test(hdr, r1_8_offset_not_multiple_of_4);
    tcase_add_test(hdr, r1_8_offset_below_header);
    tcase_add_test(hdr, r1_8_data_past_size);
    tcase_add_test(hdr, r1_8_data_ending_at_size_and_gaps_are_valid);
    tcase_add_test(hdr, r1_9_name_offset_checked_with_names);
    tcase_add_test(hdr, r1_9_name_offset_ignored_when_names_sent_0);
    tcase_add_test(hdr, r1_9_name_offset_equal_to_size);
    tcase_add_test(hdr, r1_10_product_does_not_wrap);
    tcase_add_test(hdr, r1_10_offset_sum_does_not_wrap);
    tcase_add_test(hdr, r1_10_zero_factor_is_no_data);
    suite_add_tcase(s, hdr);

    TCase *areas = tcase_create("areas");
    tcase_add_test(areas, r1_11_names_inside_data);
    tcase_add_test(areas, r1_11_names_at_data_start);
    tcase_add_test(areas, r1_11_names_run_into_data);
    tcase_add_test(areas, r1_11_data_runs_into_names);
    tcase_add_test(areas, r1_11_data_or_names_overlapping_header);
    tcase_add_test(areas, r1_11_names_before_data_are_valid);
    tcase_add_test(areas, r1_11_empty_data_area_overlaps_nothing);
    tcase_add_test(areas, r1_11_data_or_names_over_ext_block_ignore_it);
    tcase_add_test(areas, r1_16_smx1_sample_in_data_is_not_a_block);
    tcase_add_test(areas, r1_12_planar_layout);
    tcase_add_test(areas, r1_12_nan_and_inf_pass_through_bit_exact);
    suite_add_tcase(s, areas);

    TCase *names = tcase_create("names");
    tcase_add_test(names, r1_13_exactly_num_chans_names_trailing_bytes_ignored);
    tcase_add_test(names, r1_13_unterminated_last_name);
    tcase_add_test(names, r1_13_too_few_names);
    tcase_add_test(names, r1_14_names_of_1_and_255_bytes);
    tcase_add_test(names, r1_14_empty_name_names_channel);
    tcase_add_test(names, r1_14_256_byte_name_names_channel);
    tcase_add_test(names, r1_14_illegal_bytes_replaced_with_warning);
    tcase_add_test(names, r1_14_legal_byte_set_exact);
    tcase_add_test(names, r1_14_strict_makes_illegal_names_an_error);
    tcase_add_test(names, r1_15_fresh_reader_names_chan_i_plus_1);
    tcase_add_test(names, r1_15_unsent_names_keep_previous);
    suite_add_tcase(s, names);

    TCase *ext = tcase_create("ext");
    tcase_add_test(ext, r1_16_block_recognised);
    tcase_add_test(ext, r1_16_bad_block_ignored_with_warning);
    tcase_add_test(ext, r1_16_foreign_bytes_are_no_block);
    tcase_add_test(ext, r1_16_block_never_rescues_or_breaks_header);
    tcase_add_test(ext, r1_16a_checksum_mismatch_is_an_error_checked_only_when_flagged);
    tcase_add_test(ext, r1_16_crc32c_known_answers);
    tcase_add_test(ext, r1_17_start_from_block);
    tcase_add_test(ext, r1_17_decode_helpers);
    suite_add_tcase(s, ext);

    TCase *b = tcase_create("builder");
    tcase_add_test(b, builder_default_layout_is_touchdesigner);
    tcase_add_test(b, builder_round_trip);
    tcase_add_test(b, builder_pad_to_pads_and_sets_size);
    tcase_add_test(b, builder_explicit_offsets_round_trip);
    tcase_add_test(b, builder_zero_channels_with_names_is_valid);
    tcase_add_test(b, builder_rejects_bad_layouts);
    suite_add_tcase(s, b);

    TCase *misc = tcase_create("contract");
    tcase_add_test(misc, parse_failure_leaves_chop_untouched);
    tcase_add_test(misc, r6_1_messages_name_object_and_value);
    tcase_add_test(misc, r6_1_diag_counts_past_keep);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(image_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
