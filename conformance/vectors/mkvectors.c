/* SPDX-License-Identifier: MIT */
/* Generates the golden CHOP images of conformance/vectors and their MANIFEST.tsv (SPEC section 1). */
/*
 * Usage: shmchop-mkvectors OUTDIR SHMCHOP_OUT
 *
 * Valid images come from the writer simulator (`SHMCHOP_OUT image`, the
 * valid_out_* files) and, for layouts it has no option for, from the
 * library's builder (shmchop_image_build) that it uses. Every one is
 * checked here byte by byte against an independent encoding of SPEC
 * 1.1-1.3 (own little-endian decoder, own CRC-32C), so a writer or builder
 * bug stops the generator instead of ending up in the golden files.
 * Invalid and warning images are valid ones with header or body bytes
 * patched by hand, one fault each.
 *
 * Output is fully deterministic: no clock, no pid, no libm transcendental.
 * The vectors_fresh ctest regenerates into a scratch directory and compares
 * byte for byte with the committed files.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/chop.h>
#include <shmchop/error.h>
#include <shmchop/image.h>

/* Golden files stay small (README: every vector under 64 KiB). */
#define IMG_CAP 65536

typedef struct img {
    uint8_t b[IMG_CAP];
    size_t len; /* bytes of the file (may exceed the header's size) */
} img;

static const char *g_outdir;
static const char *g_writer; /* path of shmchop-out */
static FILE *g_manifest;
static unsigned g_count;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("shmchop-mkvectors: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- little-endian access, independent of the library ---------------- */

static void put_u32(img *m, size_t off, uint32_t v)
{
    if (off + 4 > IMG_CAP)
        die("put_u32 at %zu out of range", off);
    for (int i = 0; i < 4; i++)
        m->b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void put_i32(img *m, size_t off, int32_t v)
{
    put_u32(m, off, (uint32_t)v);
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

static int32_t get_i32(const img *m, size_t off)
{
    return (int32_t)get_u32(m, off);
}

static uint64_t get_u64(const img *m, size_t off)
{
    return get_u32(m, off) | (uint64_t)get_u32(m, off + 4) << 32;
}

/* CRC-32C, bitwise, reflected polynomial 0x82F63B78 (independent of crc32c.c). */
static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* ---- shapes built through the library ------------------------------------ */

typedef struct shape {
    uint32_t chans, length;
    double rate;
    int64_t start;
    bool names;                 /* send names */
    const char *prefix;         /* names are prefix1, prefix2, ...; NULL: "chan" */
    const char *const *list;    /* explicit names (overrides prefix) */
    shmchop_build_opts opts;    /* names is copied from .names */
    float (*sample)(uint32_t c, uint32_t i); /* NULL: default ramp */
} shape;

/* Exactly representable values, different per channel and index. */
static float ramp(uint32_t c, uint32_t i)
{
    return (float)c * 1000.0f + (float)i * 0.5f - 3.0f;
}

static size_t pack_names(const shape *s, char *out, size_t cap)
{
    size_t n = 0;
    for (uint32_t c = 0; c < s->chans; c++) {
        char one[SHMCHOP_NAME_MAX + 1];
        if (s->list)
            snprintf(one, sizeof one, "%s", s->list[c]);
        else
            snprintf(one, sizeof one, "%s%u", s->prefix ? s->prefix : "chan", c + 1);
        size_t l = strlen(one) + 1;
        if (n + l > cap)
            die("names too long");
        memcpy(out + n, one, l);
        n += l;
    }
    return n;
}

/* The layout SPEC 1.1/1.3 prescribes for the options, computed here. */
typedef struct layout {
    uint32_t data_off, data_bytes, name_off, name_bytes, size;
} layout;

static layout expected_layout(const shape *s, size_t name_bytes)
{
    layout l;
    l.data_bytes = s->chans * s->length * 4u;
    l.data_off = s->opts.channel_data_offset
                     ? (uint32_t)s->opts.channel_data_offset
                     : (s->opts.ext ? SHMCHOP_EXT_OFFSET + SHMCHOP_EXT_SIZE : SHMCHOP_HEADER_SIZE);
    l.name_bytes = s->names ? (uint32_t)name_bytes : 0;
    l.name_off = s->opts.name_data_offset ? (uint32_t)s->opts.name_data_offset
                                          : l.data_off + l.data_bytes;
    uint32_t end = l.data_off + l.data_bytes;
    if (s->names && l.name_off + l.name_bytes > end)
        end = l.name_off + l.name_bytes;
    l.size = end;
    return l;
}

static uint32_t area_crc(const img *m, const layout *l)
{
    uint32_t crc = crc32c(0, m->b + l->data_off, l->data_bytes);
    return crc32c(crc, m->b + l->name_off, l->name_bytes);
}

/* Check the builder's bytes against SPEC, field by field. */
static void verify_built(const char *what, const img *m, const shape *s, const char *names,
                         size_t name_bytes)
{
    layout l = expected_layout(s, name_bytes);
    float rate = (float)s->rate;
    int32_t ns = s->opts.names_sent_value ? s->opts.names_sent_value : (s->names ? 1 : 0);

    if (get_u32(m, 0) != SHMCHOP_MAGIC || get_i32(m, 4) != 1)
        die("%s: builder wrote a bad magic/version", what);
    if (get_u32(m, 8) != l.size || m->len != l.size)
        die("%s: builder size %u / %zu, SPEC layout says %u", what, get_u32(m, 8), m->len, l.size);
    if (get_u32(m, 12) != s->chans || get_u32(m, 16) != s->length)
        die("%s: builder numChans/length differ", what);
    if (memcmp(m->b + 20, &rate, 4) != 0 || get_i32(m, 24) != ns)
        die("%s: builder sampleRate/namesSent differ", what);
    if (get_u32(m, 28) != l.data_off)
        die("%s: builder channelDataOffset %u, expected %u", what, get_u32(m, 28), l.data_off);
    if (s->names && get_u32(m, 32) != l.name_off)
        die("%s: builder nameDataOffset %u, expected %u", what, get_u32(m, 32), l.name_off);
    for (uint32_t c = 0; c < s->chans; c++)
        for (uint32_t i = 0; i < s->length; i++) {
            float v = (s->sample ? s->sample : ramp)(c, i);
            if (memcmp(m->b + l.data_off + 4u * (c * s->length + i), &v, 4) != 0)
                die("%s: builder sample %u/%u is not planar or not bit-exact", what, c, i);
        }
    if (s->names && memcmp(m->b + l.name_off, names, name_bytes) != 0)
        die("%s: builder names differ", what);
    if (!s->opts.ext)
        return;
    const shmchop_build_opts *o = &s->opts;
    if (get_u32(m, 36) != 0 || get_u32(m, 40) != SHMCHOP_EXT_MAGIC || get_u32(m, 44) != 64 ||
        get_u64(m, 48) != o->seq || get_u64(m, 56) != o->frame ||
        get_u64(m, 64) != (uint64_t)s->start || get_u64(m, 72) != o->time_ns ||
        get_u32(m, 80) != o->writer_pid ||
        get_u32(m, 84) != (o->flags | SHMCHOP_EXT_FLAG_CHECKSUM) || get_u32(m, 92) != 0 ||
        get_u64(m, 96) != o->heartbeat_ns)
        die("%s: builder extension block differs from SPEC 1.3", what);
    if (get_u32(m, 88) != area_crc(m, &l))
        die("%s: builder checksum 0x%08x, CRC-32C of data+names is 0x%08x", what,
            get_u32(m, 88), area_crc(m, &l));
}

/* Deterministic extension-block fields for every vector that has one. */
static void ext_defaults(shmchop_build_opts *o)
{
    o->ext = true;
    if (!o->seq)
        o->seq = 42;
    if (!o->frame)
        o->frame = 21;
    o->time_ns = 1000000000ull;
    o->heartbeat_ns = 1000500000ull;
    o->writer_pid = 4242;
}

static void build(img *m, const char *what, shape s)
{
    shmchop_chop chop;
    char names[IMG_CAP];
    size_t name_bytes = pack_names(&s, names, sizeof names);
    int rc;

    s.opts.names = s.names;
    if (s.opts.ext)
        ext_defaults(&s.opts);
    shmchop_chop_init(&chop);
    if ((rc = shmchop_chop_reserve(&chop, s.chans, s.length, name_bytes)) < 0 ||
        (rc = shmchop_chop_set_names(&chop, names, name_bytes)) < 0)
        die("%s: chop setup: %s", what, shmchop_strerror(rc));
    chop.rate = s.rate;
    chop.start = s.start;
    for (uint32_t c = 0; c < s.chans; c++)
        for (uint32_t i = 0; i < s.length; i++)
            shmchop_chop_channel(&chop, c)[i] = (s.sample ? s.sample : ramp)(c, i);
    memset(m->b, 0, sizeof m->b);
    int64_t size = shmchop_image_size(&chop, &s.opts);
    if (size < 0 || size > IMG_CAP)
        die("%s: shmchop_image_size: %lld", what, (long long)size);
    size_t written = 0;
    rc = shmchop_image_build(m->b, IMG_CAP, &chop, &s.opts, &written);
    if (rc < 0 || written != (size_t)size)
        die("%s: shmchop_image_build: %s (written %zu of %lld)", what, shmchop_strerror(rc),
            written, (long long)size);
    m->len = written;
    shmchop_chop_free(&chop);
    verify_built(what, m, &s, names, name_bytes);
}

/* Recompute the extension block's checksum after patching data or names. */
static void fix_checksum(img *m)
{
    layout l = {.data_off = get_u32(m, 28), .name_off = get_u32(m, 32)};
    l.data_bytes = get_u32(m, 12) * get_u32(m, 16) * 4u;
    l.name_bytes = 0;
    if (get_i32(m, 24) != 0)
        for (uint32_t k = 0, c = 0; c < get_u32(m, 12); k++)
            if (m->b[l.name_off + k] == 0) {
                c++;
                l.name_bytes = k + 1;
            }
    put_u32(m, 88, area_crc(m, &l));
}

/* ---- output --------------------------------------------------------------- */

static void emit(const img *m, const char *file, const char *verdict, const char *error,
                 const char *warnings, const char *rule, const char *desc)
{
    char path[4096];
    if (m->len > IMG_CAP)
        die("%s: %zu bytes is over the 64 KiB budget", file, m->len);
    snprintf(path, sizeof path, "%s/%s", g_outdir, file);
    FILE *f = fopen(path, "wb");
    if (!f || (m->len && fwrite(m->b, 1, m->len, f) != m->len) || fclose(f) != 0)
        die("%s: %s", path, strerror(errno));
    fprintf(g_manifest, "%s\t%s\t%s\t%s\t%s\t%s\n", file, verdict, error, warnings, rule, desc);
    g_count++;
}

static void valid(const img *m, const char *file, const char *warnings, const char *rule,
                  const char *desc)
{
    emit(m, file, "valid", "-", warnings, rule, desc);
}

static void invalid(const img *m, const char *file, const char *error, const char *rule,
                    const char *desc)
{
    emit(m, file, "invalid", error, "-", rule, desc);
}

/* ---- the vectors ---------------------------------------------------------- */

static img W; /* the image being made; one at a time */

static const char *const XYZ[] = {"tx", "ty", "tz"};

/* 3 channels x 8 samples at 60 Hz, names tx ty tz: TouchDesigner's layout,
 * header 0-35, data 36-131, names 132-140, size 141. */
static shape base_shape(void)
{
    return (shape){.chans = 3, .length = 8, .rate = 60.0, .names = true, .list = XYZ};
}

static void base(void)
{
    build(&W, "base", base_shape());
}

/* The same without names: size 132. */
static void base_unnamed(void)
{
    shape s = base_shape();
    s.names = false;
    build(&W, "base_unnamed", s);
}

static float nonfinite_sample(uint32_t c, uint32_t i)
{
    static const uint32_t bits[] = {0x7fc00000u, 0x7f800000u, 0xff800000u, 0x7f800001u,
                                    0xffc12345u};
    if (c == 1 && i < 5) {
        float f;
        memcpy(&f, &bits[i], 4);
        return f;
    }
    return ramp(c, i);
}

static void gen_valid_shapes(void)
{
    shape s;

    base();
    valid(&W, "valid_names_on.img", "-", "R1.13",
          "3x8 at 60 Hz, names tx ty tz after the data (TouchDesigner layout)");
    base_unnamed();
    valid(&W, "valid_names_off.img", "-", "R1.15",
          "3x8 without names: a fresh reader names them chan1 chan2 chan3");
    s = base_shape();
    s.chans = 4;
    s.list = NULL;
    s.prefix = "sig";
    build(&W, "prefix", s);
    valid(&W, "valid_names_prefix.img", "-", "R1.13", "4x8 named sig1..sig4");

    s = base_shape();
    s.opts.ext = true;
    s.start = 12345;
    build(&W, "ext", s);
    valid(&W, "valid_ext_on.img", "-", "R1.17",
          "extension block at 40: seq 42, frame 21, start 12345, checksum valid, data at 104");
    s = base_shape();
    s.opts.ext = true;
    s.opts.flags = SHMCHOP_EXT_FLAG_TIMESLICE;
    s.start = (int64_t)1 << 40;
    s.opts.seq = 1000;
    build(&W, "ext_slice", s);
    valid(&W, "valid_ext_timeslice.img", "-", "R1.17",
          "extension block with the time-slice flag and start 2^40");

    s = base_shape();
    s.chans = 0;
    s.names = false;
    build(&W, "zero_chans_off", s);
    valid(&W, "valid_zero_chans_names_off.img", "-", "R1.4", "numChans 0, length 8, no names");
    s.names = true;
    build(&W, "zero_chans_on", s);
    valid(&W, "valid_zero_chans_names_on.img", "-", "R1.13",
          "numChans 0 with namesSent 1: the name area is empty, nameDataOffset == size");
    s = base_shape();
    s.length = 0;
    build(&W, "zero_length", s);
    valid(&W, "valid_zero_length.img", "-", "R1.5", "3 named channels of length 0");

    static const char *const X[] = {"x"};
    s = (shape){.chans = 1, .length = 1, .rate = 1.0, .names = true, .list = X};
    build(&W, "1x1", s);
    valid(&W, "valid_1x1.img", "-", "R1.12", "one channel 'x' of one sample at 1 Hz");

    s = (shape){.chans = 15, .length = 1000, .rate = 48000.0, .names = true, .prefix = "ch"};
    s.opts.ext = true;
    build(&W, "large", s);
    valid(&W, "valid_large.img", "-", "R1.12",
          "15x1000 at 48 kHz with names and extension block (about 60 KB)");

    s = base_shape();
    s.opts.name_data_offset = 36;
    s.opts.channel_data_offset = 48;
    build(&W, "names_first", s);
    valid(&W, "valid_names_before_data.img", "-", "R1.11",
          "names at 36-44, data at 48 after them");
    s = base_shape();
    s.opts.ext = true;
    s.opts.name_data_offset = 104;
    s.opts.channel_data_offset = 116;
    build(&W, "names_first_ext", s);
    valid(&W, "valid_names_before_data_ext.img", "-", "R1.11",
          "extension block, names at 104, data at 116");

    s = base_shape();
    s.opts.channel_data_offset = 52;
    s.opts.name_data_offset = 151;
    build(&W, "odd_offsets", s);
    valid(&W, "valid_odd_offsets.img", "-", "R1.8",
          "gaps: data at 52 (multiple of 4, not 36), names at odd offset 151");

    s = base_shape();
    s.list = (const char *const[]){"a", "b", "c"};
    build(&W, "names_1", s);
    valid(&W, "valid_names_1_byte.img", "-", "R1.14", "three 1-byte names a b c");

    static char n255[256];
    memset(n255, 'n', 255);
    s = base_shape();
    s.chans = 2;
    s.list = (const char *const[]){n255, "b"};
    build(&W, "name_255", s);
    valid(&W, "valid_name_255_bytes.img", "-", "R1.14", "a 255-byte name then 'b'");

    s = base_shape();
    s.sample = nonfinite_sample;
    build(&W, "nonfinite", s);
    valid(&W, "valid_nonfinite.img", "SHMCHOP_E_NONFINITE", "R1.12",
          "channel ty holds quiet NaN, +Inf, -Inf, signalling NaN, NaN with payload: passed through, one warning");
}

static void gen_valid_patched(void)
{
    base();
    put_i32(&W, 24, 7);
    valid(&W, "valid_names_sent_7.img", "SHMCHOP_E_BAD_NAMES_SENT", "R1.7",
          "namesSent 7: names present, warning");
    base();
    put_i32(&W, 24, -1);
    valid(&W, "valid_names_sent_neg1.img", "SHMCHOP_E_BAD_NAMES_SENT", "R1.7",
          "namesSent -1: names present, warning");

    /* "tx" -> "t x" needs room: make names "a b", "x.y", "ok" in the base slot. */
    shape s = base_shape();
    s.list = (const char *const[]){"aab", "xxy", "ok"};
    build(&W, "illegal", s);
    W.b[132 + 1] = ' ';   /* "a b" */
    W.b[132 + 4 + 1] = '.'; /* "x.y" */
    valid(&W, "valid_name_illegal.img", "SHMCHOP_E_NAME_ILLEGAL,SHMCHOP_E_NAME_ILLEGAL", "R1.14",
          "names 'a b' and 'x.y' have illegal bytes (become a_b, x_y), 'ok' is fine: two warnings");
    s.list = (const char *const[]){"cafee", "ok:/-_9", "Z"};
    build(&W, "utf8", s);
    W.b[132 + 3] = 0xc3;  /* "caf\xc3\xa9" */
    W.b[132 + 4] = 0xa9;
    valid(&W, "valid_name_utf8.img", "SHMCHOP_E_NAME_ILLEGAL", "R1.14",
          "name 'caf\\xc3\\xa9' (UTF-8) becomes caf__; 'ok:/-_9' uses every legal punctuation byte");

    base();
    W.b[140] = 0;
    memcpy(W.b + 141, "junk", 4);
    put_i32(&W, 8, 145);
    W.len = 145;
    valid(&W, "valid_trailing_name_bytes.img", "-", "R1.13",
          "4 non-NUL bytes after the last name's NUL, before size: ignored");
    base();
    memset(W.b + W.len, 0xEE, 100);
    W.len += 100;
    valid(&W, "valid_trailing_file_bytes.img", "-", "R1.3",
          "file is 100 bytes longer than size (SPEC 1.4): ignored");

    base_unnamed();
    put_i32(&W, 32, -7);
    valid(&W, "valid_name_offset_ignored.img", "-", "R1.9",
          "namesSent 0 and nameDataOffset -7: the offset is not read");
    base_unnamed();
    put_i32(&W, 32, 0x7fffffff);
    valid(&W, "valid_name_offset_ignored_huge.img", "-", "R1.9",
          "namesSent 0 and nameDataOffset INT32_MAX: the offset is not read");

    base();
    put_u32(&W, 20, 0x00000001u);
    valid(&W, "valid_rate_denormal.img", "-", "R1.6", "sampleRate is the smallest subnormal float (> 0)");
    base();
    put_f32(&W, 20, FLT_MAX);
    valid(&W, "valid_rate_flt_max.img", "-", "R1.6", "sampleRate FLT_MAX");

    /* numChans 0 with a huge length: 0 bytes of data. */
    base_unnamed();
    put_i32(&W, 12, 0);
    put_i32(&W, 16, 0x7fffffff);
    W.len = 36;
    put_i32(&W, 8, 36);
    valid(&W, "valid_zero_chans_huge_length.img", "-", "R1.10",
          "numChans 0, length INT32_MAX: empty data area, size 36");
    /* length 0, data offset == size: an empty data area at the very end. */
    base_unnamed();
    put_i32(&W, 16, 0);
    put_i32(&W, 28, 40);
    put_i32(&W, 8, 40);
    W.len = 40;
    valid(&W, "valid_empty_data_at_size.img", "-", "R1.8",
          "3 unnamed channels of length 0, channelDataOffset 40 == size");
}

static void gen_valid_ext(void)
{
    shape s = base_shape();
    s.opts.ext = true;

    build(&W, "ext_bad_size", s);
    put_u32(&W, 44, 60);
    valid(&W, "valid_ext_size_60.img", "SHMCHOP_E_EXT_INVALID", "R1.16",
          "ext_magic matches but ext_size 60 < 64: block ignored, image valid");
    build(&W, "ext_odd_size", s);
    put_u32(&W, 44, 68);
    valid(&W, "valid_ext_size_68.img", "SHMCHOP_E_EXT_INVALID", "R1.16",
          "ext_size 68 is not a multiple of 8: block ignored");
    build(&W, "ext_big", s);
    put_u32(&W, 44, 4096);
    valid(&W, "valid_ext_size_past_data.img", "SHMCHOP_E_EXT_INVALID", "R1.16",
          "ext_size 4096 runs past channelDataOffset 104: block ignored");

    s.opts.channel_data_offset = 168;
    build(&W, "ext_128", s);
    put_u32(&W, 44, 128);
    valid(&W, "valid_ext_size_128.img", "-", "R1.16",
          "ext_size 128, data at 168: block recognised");

    base();
    W.len = 96 + 96 + 9;
    memmove(W.b + 96, W.b + 36, 96 + 9);
    memset(W.b + 36, 0, 60);
    put_u32(&W, 40, SHMCHOP_EXT_MAGIC);
    put_u32(&W, 44, 64);
    put_i32(&W, 8, (int32_t)W.len);
    put_i32(&W, 28, 96);
    put_i32(&W, 32, 192);
    valid(&W, "valid_ext_data_overlap.img", "SHMCHOP_E_EXT_INVALID", "R1.11",
          "SMX1 block at 40 (size 64) but data at 96 overlaps it: block ignored, data read from 96");

    base();
    /* names at 88 (inside the would-be block), data at 104 right after it. */
    W.len = 104 + 96;
    memmove(W.b + 104, W.b + 36, 96);
    memset(W.b + 36, 0, 68);
    memcpy(W.b + 88, "tx\0ty\0tz", 9);
    put_u32(&W, 40, SHMCHOP_EXT_MAGIC);
    put_u32(&W, 44, 64);
    put_i32(&W, 8, (int32_t)W.len);
    put_i32(&W, 28, 104);
    put_i32(&W, 32, 88);
    valid(&W, "valid_ext_names_overlap.img", "SHMCHOP_E_EXT_INVALID", "R1.11",
          "SMX1 block at 40-103, data at 104, but names at 88 overlap it: block ignored");

    s = base_shape();
    s.opts.ext = true;
    build(&W, "checksum", s);
    put_u32(&W, 88, get_u32(&W, 88) ^ 0x1u);
    invalid(&W, "invalid_checksum_mismatch.img", "SHMCHOP_E_CHECKSUM", "R1.16a",
          "checksum flag set, checksum off by one bit: an error since SPEC 1.1");
    build(&W, "checksum_off", s);
    put_u32(&W, 84, 0);
    put_u32(&W, 88, 0xdeadbeefu);
    valid(&W, "valid_checksum_flag_off.img", "-", "R1.16",
          "checksum flag clear: the checksum field is not checked");

    base();
    W.len = 36 + 68 + 96 + 9;
    memmove(W.b + 104, W.b + 36, 96 + 9);
    memset(W.b + 36, 0, 68);
    put_u32(&W, 40, 0x31584D54u); /* "TMX1": not ours */
    put_u32(&W, 44, 64);
    put_i32(&W, 8, (int32_t)W.len);
    put_i32(&W, 28, 104);
    put_i32(&W, 32, 200);
    valid(&W, "valid_ext_other_magic.img", "-", "R1.16",
          "bytes 36-103 hold a non-SMX1 block: not an extension block, no warning");

    s = base_shape();
    s.opts.ext = true;
    s.sample = nonfinite_sample;
    build(&W, "combined", s);
    put_i32(&W, 24, 2);
    W.b[104 + 96 + 1] = '!'; /* "t!" */
    fix_checksum(&W);
    valid(&W, "valid_warnings_combined.img", "SHMCHOP_E_BAD_NAMES_SENT,SHMCHOP_E_NAME_ILLEGAL,SHMCHOP_E_NONFINITE",
          "R1.7", "namesSent 2, name 't!' and non-finite samples: three warnings, header, names, then data");
}

/* Header-field faults on the base image (size 141). */
static void gen_invalid_header(void)
{
    W.len = 0;
    invalid(&W, "invalid_empty.img", "SHMCHOP_E_TRUNCATED", "R1.3", "empty file");
    base();
    W.len = 1;
    invalid(&W, "invalid_1_byte.img", "SHMCHOP_E_TRUNCATED", "R1.3", "one byte (0xCF)");
    base();
    W.len = 35;
    invalid(&W, "invalid_35_bytes.img", "SHMCHOP_E_TRUNCATED", "R1.3",
            "the first 35 bytes of a valid header");

    base();
    put_u32(&W, 0, 0x12ED54CEu);
    invalid(&W, "invalid_magic_off_by_one.img", "SHMCHOP_E_BAD_MAGIC", "R1.1", "magic 0x12ED54CE");
    base();
    put_u32(&W, 0, 0xCF54ED12u);
    invalid(&W, "invalid_magic_big_endian.img", "SHMCHOP_E_BAD_MAGIC", "R1.1",
            "magic written big-endian (0xCF54ED12 read little-endian)");
    base();
    memset(W.b, 0, W.len);
    invalid(&W, "invalid_all_zero.img", "SHMCHOP_E_BAD_MAGIC", "R1.1", "141 zero bytes");

    static const int32_t versions[] = {0, 2, -1};
    static const char *const vfile[] = {"invalid_version_0.img", "invalid_version_2.img",
                                        "invalid_version_neg1.img"};
    for (int k = 0; k < 3; k++) {
        char d[64];
        base();
        put_i32(&W, 4, versions[k]);
        snprintf(d, sizeof d, "version %d: unsupported version", versions[k]);
        invalid(&W, vfile[k], "SHMCHOP_E_BAD_VERSION", "R1.2", d);
    }

    static const struct {
        int32_t size;
        const char *file, *desc;
    } sizes[] = {
        {35, "invalid_size_35.img", "size 35 < 36 (file has 141 bytes)"},
        {0, "invalid_size_0.img", "size 0"},
        {-1, "invalid_size_neg1.img", "size -1"},
        {INT32_MIN, "invalid_size_int_min.img", "size INT32_MIN"},
        {142, "invalid_size_past_file.img", "size 142, one byte more than the file"},
        {0x7fffffff, "invalid_size_int_max.img", "size INT32_MAX, far past the file"},
    };
    /* size beyond the bytes available: the image is truncated. */
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        base();
        put_i32(&W, 8, sizes[k].size);
        invalid(&W, sizes[k].file,
                sizes[k].size > 141 ? "SHMCHOP_E_TRUNCATED" : "SHMCHOP_E_BAD_SIZE", "R1.3",
                sizes[k].desc);
    }
    base();
    W.len = 36;
    invalid(&W, "invalid_header_only.img", "SHMCHOP_E_TRUNCATED", "R1.3",
            "only the 36-byte header of a 141-byte image: size past the file");

    base();
    put_i32(&W, 12, -1);
    invalid(&W, "invalid_num_chans_neg1.img", "SHMCHOP_E_BAD_NUM_CHANS", "R1.4", "numChans -1");
    base();
    put_i32(&W, 12, INT32_MIN);
    invalid(&W, "invalid_num_chans_int_min.img", "SHMCHOP_E_BAD_NUM_CHANS", "R1.4",
            "numChans INT32_MIN");
    base();
    put_i32(&W, 16, -1);
    invalid(&W, "invalid_length_neg1.img", "SHMCHOP_E_BAD_LENGTH", "R1.5", "length -1");
    base();
    put_i32(&W, 16, INT32_MIN);
    invalid(&W, "invalid_length_int_min.img", "SHMCHOP_E_BAD_LENGTH", "R1.5", "length INT32_MIN");

    static const struct {
        uint32_t bits;
        const char *file, *desc;
    } rates[] = {
        {0x00000000u, "invalid_rate_0.img", "sampleRate 0"},
        {0x80000000u, "invalid_rate_neg0.img", "sampleRate -0.0"},
        {0xbf800000u, "invalid_rate_neg1.img", "sampleRate -1"},
        {0x7fc00000u, "invalid_rate_nan.img", "sampleRate NaN"},
        {0x7f800000u, "invalid_rate_inf.img", "sampleRate +Inf"},
        {0xff800000u, "invalid_rate_neg_inf.img", "sampleRate -Inf"},
    };
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        base();
        put_u32(&W, 20, rates[k].bits);
        invalid(&W, rates[k].file, "SHMCHOP_E_BAD_RATE", "R1.6", rates[k].desc);
    }
}

/* Offsets, arithmetic and overlap (base_unnamed: data 36-131, size 132). */
static void gen_invalid_offsets(void)
{
    static const struct {
        int32_t off;
        const char *file, *desc;
    } cdo[] = {
        {38, "invalid_data_offset_38.img", "channelDataOffset 38 is not a multiple of 4"},
        {37, "invalid_data_offset_37.img", "channelDataOffset 37 is not a multiple of 4"},
        {32, "invalid_data_offset_32.img", "channelDataOffset 32 < 36: data would overlap the header"},
        {0, "invalid_data_offset_0.img", "channelDataOffset 0"},
        {-4, "invalid_data_offset_neg4.img", "channelDataOffset -4 (a multiple of 4, negative)"},
        {INT32_MIN, "invalid_data_offset_int_min.img", "channelDataOffset INT32_MIN"},
        {40, "invalid_data_past_size.img", "channelDataOffset 40: data ends at 136 > size 132"},
        {0x7ffffffc, "invalid_data_offset_int_max.img",
         "channelDataOffset 0x7ffffffc: the data would end past INT32_MAX (a 32-bit sum wraps)"},
    };
    for (size_t k = 0; k < sizeof cdo / sizeof cdo[0]; k++) {
        base_unnamed();
        put_i32(&W, 28, cdo[k].off);
        bool wraps = cdo[k].off == 0x7ffffffc;
        invalid(&W, cdo[k].file, wraps ? "SHMCHOP_E_OVERFLOW" : "SHMCHOP_E_BAD_DATA_OFFSET",
                wraps ? "R1.10" : "R1.8", cdo[k].desc);
    }

    static const struct {
        int32_t off;
        const char *file, *desc;
    } ndo[] = {
        {0, "invalid_name_offset_0.img", "namesSent 1, nameDataOffset 0"},
        {35, "invalid_name_offset_35.img", "nameDataOffset 35 < 36"},
        {32, "invalid_name_offset_32.img", "nameDataOffset 32: names would overlap the header"},
        {-1, "invalid_name_offset_neg1.img", "nameDataOffset -1"},
        {142, "invalid_name_offset_past_size.img", "nameDataOffset 142 > size 141"},
        {0x7fffffff, "invalid_name_offset_int_max.img", "nameDataOffset INT32_MAX"},
    };
    for (size_t k = 0; k < sizeof ndo / sizeof ndo[0]; k++) {
        base();
        put_i32(&W, 32, ndo[k].off);
        invalid(&W, ndo[k].file, "SHMCHOP_E_BAD_NAME_OFFSET", "R1.9", ndo[k].desc);
    }

    /* numChans*length*4 that wraps 32 bits to a small value: a 32-bit
     * reader would accept these; in 64 bits the data ends past INT32_MAX,
     * which no int32 size can hold (OVERFLOW). */
    static const struct {
        int32_t chans, length;
        const char *file, *desc;
    } ovf[] = {
        {65536, 65536, "invalid_overflow_2p34.img",
         "numChans 65536 x length 65536 x 4 = 2^34 (0 in 32 bits), size 36"},
        {1, 0x40000000, "invalid_overflow_length_2p30.img",
         "numChans 1 x length 2^30 x 4 = 2^32 (0 in 32 bits)"},
        {3, 0x55555556, "invalid_overflow_wraps_to_8.img",
         "numChans 3 x length 0x55555556 x 4 = 0x400000008 (8 in 32 bits)"},
        {1048576, 0x7fffffff, "invalid_overflow_max_chans.img",
         "numChans 2^20 (the limit) x length INT32_MAX: 2^53-ish bytes"},
    };
    for (size_t k = 0; k < sizeof ovf / sizeof ovf[0]; k++) {
        base_unnamed();
        put_i32(&W, 12, ovf[k].chans);
        put_i32(&W, 16, ovf[k].length);
        put_i32(&W, 8, 44);
        W.len = 44;
        invalid(&W, ovf[k].file, "SHMCHOP_E_OVERFLOW", "R1.10", ovf[k].desc);
    }
    /* Large but representable: 4 MB of data in a 44-byte image. */
    base_unnamed();
    put_i32(&W, 12, 1000);
    put_i32(&W, 16, 1000);
    put_i32(&W, 8, 44);
    W.len = 44;
    invalid(&W, "invalid_data_4mb_past_size.img", "SHMCHOP_E_BAD_DATA_OFFSET", "R1.8",
            "numChans 1000 x length 1000: 4 MB of data in a 44-byte image");
    base_unnamed();
    put_i32(&W, 12, 0x7fffffff);
    put_i32(&W, 16, 0x7fffffff);
    put_i32(&W, 8, 36);
    W.len = 36;
    invalid(&W, "invalid_overflow_int_max_squared.img", "SHMCHOP_E_LIMIT", "R1.10",
            "numChans INT32_MAX x length INT32_MAX (~2^64 bytes): beyond SHMCHOP_MAX_CHANS first");

    /* R1.11 overlap pairs. */
    /* The name bytes are made proper names (they overwrite samples), so
     * the overlap is the only fault. */
    base();
    memcpy(W.b + 100, "tx\0ty\0tz", 9);
    put_i32(&W, 32, 100);
    invalid(&W, "invalid_names_inside_data.img", "SHMCHOP_E_OVERLAP", "R1.11",
            "nameDataOffset 100 inside the data area 36-131 (the bytes there spell tx ty tz)");
    base();
    memcpy(W.b + 36, "tx\0ty\0tz", 9);
    put_i32(&W, 32, 36);
    invalid(&W, "invalid_names_at_data_start.img", "SHMCHOP_E_OVERLAP", "R1.11",
            "nameDataOffset == channelDataOffset == 36 (the bytes there spell tx ty tz)");
    base();
    /* names "tx ty tz" (9 bytes) at 128-136 overlap the last data word 128-131. */
    memmove(W.b + 128, W.b + 132, 9);
    put_i32(&W, 32, 128);
    put_i32(&W, 8, 137);
    W.len = 137;
    invalid(&W, "invalid_names_overlap_data_end.img", "SHMCHOP_E_OVERLAP", "R1.11",
            "names start at 128, 4 bytes before the data ends");
    shape s = base_shape();
    s.opts.name_data_offset = 36;
    s.opts.channel_data_offset = 48;
    build(&W, "names_first_overlap", s);
    put_i32(&W, 28, 44);
    invalid(&W, "invalid_data_overlap_names_end.img", "SHMCHOP_E_OVERLAP", "R1.11",
            "names at 36-44 then data moved to 44: the last name's NUL is inside the data");
}

/* Names (base: names tx ty tz at 132-140, size 141). */
static void gen_invalid_names(void)
{
    base();
    W.b[140] = 'z';
    invalid(&W, "invalid_name_unterminated.img", "SHMCHOP_E_NAME_UNTERMINATED", "R1.13",
            "last name 'tzz' has no NUL before size");
    base();
    put_i32(&W, 12, 4);
    put_i32(&W, 16, 6); /* 4 x 6 x 4 = 96: the data area keeps its size */
    invalid(&W, "invalid_too_few_names.img", "SHMCHOP_E_NAME_UNTERMINATED", "R1.13",
            "numChans 4 (length 6) but only 3 names before size");
    base();
    put_i32(&W, 32, 141);
    invalid(&W, "invalid_names_at_size.img", "SHMCHOP_E_NAME_UNTERMINATED", "R1.13",
            "nameDataOffset == size with 3 channels: no room for any name");
    base();
    put_i32(&W, 8, 139);
    W.len = 141;
    invalid(&W, "invalid_names_past_size.img", "SHMCHOP_E_NAME_UNTERMINATED", "R1.13",
            "size 139 cuts the last name; the NUL at 140 lies past size in the file");

    base();
    memcpy(W.b + 132, "tx\0\0tz\0", 7);
    put_i32(&W, 8, 139);
    W.len = 139;
    invalid(&W, "invalid_name_empty_middle.img", "SHMCHOP_E_NAME_EMPTY", "R1.14",
            "channel 1's name is empty");
    base();
    memcpy(W.b + 132, "\0ty\0tz\0", 7);
    put_i32(&W, 8, 139);
    W.len = 139;
    invalid(&W, "invalid_name_empty_first.img", "SHMCHOP_E_NAME_EMPTY", "R1.14",
            "channel 0's name is empty");

    static char n256[257];
    memset(n256, 'm', 256);
    shape s = base_shape();
    s.chans = 2;
    s.list = (const char *const[]){"a", "bb"};
    build(&W, "long", s);
    /* replace "bb" by a 256-byte name */
    size_t at = 36 + 2 * 8 * 4 + 2;
    memcpy(W.b + at, n256, 256);
    W.b[at + 256] = 0;
    W.len = at + 257;
    put_i32(&W, 8, (int32_t)W.len);
    invalid(&W, "invalid_name_256_bytes.img", "SHMCHOP_E_NAME_TOO_LONG", "R1.14",
            "channel 1's name is 256 bytes");
    build(&W, "longer", s);
    memset(W.b + at, 'q', 1000);
    W.b[at + 1000] = 0;
    W.len = at + 1001;
    put_i32(&W, 8, (int32_t)W.len);
    invalid(&W, "invalid_name_1000_bytes.img", "SHMCHOP_E_NAME_TOO_LONG", "R1.14",
            "channel 1's name is 1000 bytes");

    base_unnamed();
    put_i32(&W, 12, (int32_t)SHMCHOP_MAX_CHANS + 1);
    put_i32(&W, 16, 0);
    invalid(&W, "invalid_num_chans_over_limit.img", "SHMCHOP_E_LIMIT", "R1.4",
            "numChans SHMCHOP_MAX_CHANS+1 of length 0: legal per SPEC, beyond the reader's limit");
    base_unnamed();
    put_i32(&W, 12, 0x7fffffff);
    put_i32(&W, 16, 0);
    invalid(&W, "invalid_num_chans_int_max.img", "SHMCHOP_E_LIMIT", "R1.4",
            "numChans INT32_MAX of length 0: beyond the reader's limit");
}

/* ---- vectors written by shmchop-out image ------------------------------------ */

/* Run argv to completion within 30 s; kill and reap it past that. */
static void run_bounded(const char *const *argv)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        /* Its summary line is not ours to print; errors still show. dup2,
         * not freopen: a stdio flush here would repeat our buffered output. */
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd < 0 || dup2(null_fd, STDOUT_FILENO) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "shmchop-mkvectors: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st = 0;
    for (int waited_ms = 0;; waited_ms += 5) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            die("waitpid: %s", strerror(errno));
        if (waited_ms >= 30000) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            die("%s did not finish within 30 s", argv[0]);
        }
        nanosleep(&(struct timespec){0, 5000000L}, NULL);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("%s %s failed (status 0x%x)", argv[0], argv[1], st);
}

static void load(img *m, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    m->len = fread(m->b, 1, IMG_CAP, f);
    int more = fgetc(f);
    fclose(f);
    if (more != EOF)
        die("%s: over the 64 KiB budget", path);
}

/* What a shmchop-out image must hold, by SPEC 1.1-1.3. */
typedef struct out_shape {
    uint32_t chans, length;
    float rate;
    const char *prefix; /* NULL: names off */
    bool ext;
    uint64_t frame;
    int64_t start;
} out_shape;

static void verify_writer(const char *file, const img *m, const out_shape *o)
{
    uint32_t data_off = o->ext ? 104 : 36, data_bytes = o->chans * o->length * 4;
    uint32_t name_off = data_off + data_bytes, name_bytes = 0;
    char want[32];

    if (get_u32(m, 0) != SHMCHOP_MAGIC || get_i32(m, 4) != 1 || get_u32(m, 8) != m->len)
        die("%s: shmchop-out wrote a bad magic, version or size", file);
    if (get_u32(m, 12) != o->chans || get_u32(m, 16) != o->length ||
        memcmp(m->b + 20, &o->rate, 4) != 0)
        die("%s: shmchop-out numChans/length/sampleRate differ from the options", file);
    if (get_i32(m, 24) != (o->prefix ? 1 : 0) || get_u32(m, 28) != data_off)
        die("%s: shmchop-out namesSent %d / channelDataOffset %u, expected %d / %u", file,
            get_i32(m, 24), get_u32(m, 28), o->prefix ? 1 : 0, data_off);
    for (uint32_t k = 0; k < data_bytes; k += 4) {
        uint32_t bits = get_u32(m, data_off + k);
        if ((bits & 0x7f800000u) == 0x7f800000u)
            die("%s: shmchop-out wrote a non-finite sample", file);
    }
    if (o->prefix) {
        if (get_u32(m, 32) != name_off)
            die("%s: shmchop-out nameDataOffset %u, expected %u", file, get_u32(m, 32), name_off);
        for (uint32_t c = 0; c < o->chans; c++) {
            int n = snprintf(want, sizeof want, "%s%u", o->prefix, c + 1);
            if (memcmp(m->b + name_off + name_bytes, want, (size_t)n + 1) != 0)
                die("%s: shmchop-out name %u is not %s", file, c, want);
            name_bytes += (uint32_t)n + 1;
        }
    }
    if (name_off + name_bytes != m->len)
        die("%s: shmchop-out size %zu, SPEC layout gives %u", file, m->len,
            name_off + name_bytes);
    if (!o->ext)
        return;
    if (get_u32(m, 36) != 0 || get_u32(m, 40) != SHMCHOP_EXT_MAGIC || get_u32(m, 44) != 64 ||
        get_u64(m, 48) % 2 != 0 || get_u64(m, 56) != o->frame ||
        get_u64(m, 64) != (uint64_t)o->start || get_u64(m, 72) != 0 || get_u32(m, 80) != 0 ||
        !(get_u32(m, 84) & SHMCHOP_EXT_FLAG_CHECKSUM) || get_u32(m, 92) != 0 ||
        get_u64(m, 96) != 0)
        die("%s: shmchop-out extension block differs from SPEC 1.3 (or is not reproducible)",
            file);
    layout l = {.data_off = data_off, .data_bytes = data_bytes, .name_off = name_off,
                .name_bytes = name_bytes};
    if (get_u32(m, 88) != area_crc(m, &l))
        die("%s: shmchop-out checksum 0x%08x, CRC-32C of data+names is 0x%08x", file,
            get_u32(m, 88), area_crc(m, &l));
}

/* One `shmchop-out image` run: the shape is given twice, as options and as expectations. */
static void writer_vector(const char *file, const char *const *opts, const out_shape *o,
                          const char *rule, const char *desc)
{
    char path[4096];
    const char *argv[40];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", g_outdir, file);
    argv[n++] = g_writer;
    argv[n++] = "image";
    argv[n++] = "-o";
    argv[n++] = path;
    for (; *opts && n < 39; opts++)
        argv[n++] = *opts;
    argv[n] = NULL;
    run_bounded(argv);
    load(&W, path);
    verify_writer(file, &W, o);
    valid(&W, file, "-", rule, desc);
}

/* The writer's waves are deterministic except sine (libm); sine is left out. */
static void gen_writer(void)
{
    writer_vector("valid_out_ramp.img",
                  (const char *[]){"--chans", "4", "--length", "64", "--wave", "ramp", NULL},
                  &(out_shape){4, 64, 60.0f, "chan", true, 0, 0}, "R1.12",
                  "shmchop-out image: 4x64 ramp, names chan1.., extension block");
    writer_vector("valid_out_names_off_ext_off.img",
                  (const char *[]){"--chans", "3", "--length", "10", "--wave", "const",
                                   "--names", "off", "--ext", "off", NULL},
                  &(out_shape){3, 10, 60.0f, NULL, false, 0, 0}, "R1.15",
                  "shmchop-out image: TouchDesigner layout without names or block");
    writer_vector("valid_out_prefix.img",
                  (const char *[]){"--chans", "3", "--length", "16", "--wave", "square",
                                   "--names", "sig", "--ext", "off", NULL},
                  &(out_shape){3, 16, 60.0f, "sig", false, 0, 0}, "R1.13",
                  "shmchop-out image: names sig1 sig2 sig3, no block");
    writer_vector("valid_out_counter_start.img",
                  (const char *[]){"--chans", "2", "--length", "32", "--wave", "counter",
                                   "--frame", "9", "--start", "123456", "--rate", "1000", NULL},
                  &(out_shape){2, 32, 1000.0f, "chan", true, 9, 123456}, "R1.17",
                  "shmchop-out image: counter wave, frame 9, start 123456 at 1 kHz");
    writer_vector("valid_out_zero_chans.img",
                  (const char *[]){"--chans", "0", "--length", "8", NULL},
                  &(out_shape){0, 8, 60.0f, "chan", true, 0, 0}, "R1.4",
                  "shmchop-out image: no channels, names on (empty name area at size), block");
    writer_vector("valid_out_zero_length.img",
                  (const char *[]){"--chans", "2", "--length", "0", "--wave", "ramp", NULL},
                  &(out_shape){2, 0, 60.0f, "chan", true, 0, 0}, "R1.5",
                  "shmchop-out image: two named channels of length 0");
    writer_vector("valid_out_1x1.img",
                  (const char *[]){"--chans", "1", "--length", "1", "--rate", "1", "--wave",
                                   "const", "--ext", "off", NULL},
                  &(out_shape){1, 1, 1.0f, "chan", false, 0, 0}, "R1.12",
                  "shmchop-out image: one sample of one channel at 1 Hz");
    writer_vector("valid_out_large_noise.img",
                  (const char *[]){"--chans", "15", "--length", "1000", "--rate", "48000",
                                   "--wave", "noise", "--seed", "7", NULL},
                  &(out_shape){15, 1000, 48000.0f, "chan", true, 0, 0}, "R1.12",
                  "shmchop-out image: 15x1000 seeded noise at 48 kHz (about 60 KB)");
}

int main(int argc, char **argv)
{
    char path[4096];

    if (argc != 3) {
        fprintf(stderr, "usage: shmchop-mkvectors OUTDIR SHMCHOP_OUT\n");
        return 2;
    }
    g_outdir = argv[1];
    g_writer = argv[2];
    snprintf(path, sizeof path, "%s/MANIFEST.tsv", g_outdir);
    g_manifest = fopen(path, "w");
    if (!g_manifest)
        die("%s: %s", path, strerror(errno));
    fputs("file\tverdict\terror\twarnings\trule\tdescription\n", g_manifest);

    gen_writer();
    gen_valid_shapes();
    gen_valid_patched();
    gen_valid_ext();
    gen_invalid_header();
    gen_invalid_offsets();
    gen_invalid_names();

    if (fclose(g_manifest) != 0)
        die("%s: %s", path, strerror(errno));
    printf("shmchop-mkvectors: %u vectors in %s\n", g_count, g_outdir);
    return 0;
}
