/* SPDX-License-Identifier: MIT */
/* Fuzz harness: any bytes as a CHOP image (SPEC section 1), parsed and cross-checked. */

/*
 * The input is the image itself, with no parameter bytes in front, so the
 * corpus, the golden vectors and any saved segment are valid inputs as they
 * are (SPEC 1.4). Every input is parsed four ways (strict or not, into a
 * fresh CHOP or into one that carries names from a previous read, R1.15,
 * counting NaN/Inf samples or not); an accepted image is then checked
 * against what the spec says such an image must be, rebuilt with
 * shmchop_image_build and parsed again (stages 1-3).
 *
 * Stage 4 cooks the input through a reader (shmchop_reader_cook_images,
 * SPEC section 4). Its parameters come from the TRAILING bytes, those after
 * the header's `size`: SPEC 1.4 lets an image file carry them and the
 * parser ignores them, so every input stays a plain image and an image
 * without trailing bytes cooks with the defaults. When `size` is not in
 * [36, input length] there are no trailing bytes. The trailing bytes are
 *   [0..2]  reader parameters, see fuzz_cook_params_decode (fuzz_cook.h):
 *           scope, output rate (keep, 1, 60, 44100, 0.5x, 3x the image's),
 *           1-4 sources (the same image passed n times) and srselect,
 *           strict, time slicing, fps 60/24/1000, maxslice, maxqueue
 *   [3]     bits 0-2: cooks - 1 (1-8)
 *   [4..]   one byte per cook after the first: the time step to it, an
 *           index into steps_us (default: one frame at fps)
 * After every cook fuzz_cook_step checks R4.2 (a failed cook leaves the
 * output and the stream state as they were), the output's bounds, names
 * (R4.12) and info channels, and R4.7 exactly per source. Here, with the
 * image known, also: a cook never succeeds on an image the parser refuses,
 * and without time slicing or a forced rate the output is the image's
 * selected channels, once per source, bit for bit (R4.3, R4.11).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/image.h>

#include "fuzz_common.h"
#include "fuzz_cook.h"

/* Messages must name the object (R6.1); this is the name we give. */
#define OBJECT "fuzzimg"

/* One parse and everything it produced. */
struct parse {
    int rc;
    bool counted; /* asked to count NaN/Inf samples */
    shmchop_chop chop;
    shmchop_image_info info;
    shmchop_diag diag;
};

/* Legal channel-name bytes (R1.14), written out again here rather than
 * taken from the library: the harness is an independent oracle. */
static bool name_byte_legal(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == ':' || c == '/';
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static bool disjoint(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
    return a0 == a1 || b0 == b1 || a1 <= b0 || b1 <= a0;
}

/*
 * The CHOP of an imagined previous read: three channels, one name of the
 * longest legal length, so that R1.15 has names to keep for images of
 * fewer, as many and more channels.
 */
static void make_prev(shmchop_chop *prev)
{
    char names[7 + SHMCHOP_NAME_MAX + 1 + 8];
    size_t n = 0;
    memcpy(names + n, "prev_a", 7);
    n += 7;
    memset(names + n, 'L', SHMCHOP_NAME_MAX);
    n += SHMCHOP_NAME_MAX;
    names[n++] = '\0';
    memcpy(names + n, "p:q/r-s", 8);
    n += 8;

    shmchop_chop_init(prev);
    FUZZ_CHECK_EQ(shmchop_chop_reserve(prev, 3, 2, n), 0);
    FUZZ_CHECK_EQ(shmchop_chop_set_names(prev, names, n), 0);
    FUZZ_CHECK_EQ(prev->num_chans, 3);
    FUZZ_CHECK_EQ(prev->length, 2);
    prev->rate = 48000.0;
    prev->start = 7;
    for (int i = 0; i < 6; i++)
        prev->data[i] = (float)i - 2.5f;
}

/* Two CHOPs hold the same value: shape, rate and start, names, and the
 * samples bit for bit (NaN payloads included, R1.12). */
static void check_same_chop(const shmchop_chop *a, const shmchop_chop *b)
{
    FUZZ_CHECK_EQ(a->num_chans, b->num_chans);
    FUZZ_CHECK_EQ(a->length, b->length);
    FUZZ_CHECK(memcmp(&a->rate, &b->rate, sizeof a->rate) == 0);
    FUZZ_CHECK_EQ(a->start, b->start);
    size_t samples = (size_t)a->num_chans * a->length;
    if (samples)
        FUZZ_CHECK(memcmp(a->data, b->data, samples * sizeof(float)) == 0);
    for (uint32_t i = 0; i < a->num_chans; i++)
        FUZZ_CHECK(strcmp(shmchop_chop_name(a, i), shmchop_chop_name(b, i)) == 0);
}

static void check_finding(const shmchop_finding *f)
{
    FUZZ_CHECK(f->code < 0);
    FUZZ_CHECK(f->rule != NULL && f->field != NULL);
    size_t n = strnlen(f->message, sizeof f->message);
    FUZZ_CHECK(n < sizeof f->message);
    FUZZ_CHECK(memchr(f->message, '\n', n) == NULL); /* one line, R6.1 */
    FUZZ_CHECK(strncmp(f->message, OBJECT ": ", strlen(OBJECT ": ")) == 0);
    FUZZ_CHECK(shmchop_strerror(f->code) != NULL);
}

/* The findings agree with the return code (image.h: "the code of the first
 * error"); in strict mode a warning alone may be what failed the parse. */
static void check_diag(const struct parse *p, bool strict)
{
    const shmchop_diag *d = &p->diag;
    if (p->rc == 0) {
        FUZZ_CHECK_EQ(d->n_errors, 0);
        if (strict)
            FUZZ_CHECK_EQ(d->n_warnings, 0);
    } else if (p->rc != -ENOMEM) {
        if (strict)
            FUZZ_CHECK(d->n_errors + d->n_warnings > 0);
        else {
            FUZZ_CHECK(d->n_errors > 0);
            FUZZ_CHECK_EQ(p->rc, d->errors[0].code);
        }
    }
    for (unsigned i = 0; i < shmchop_diag_kept_errors(d); i++)
        check_finding(&d->errors[i]);
    for (unsigned i = 0; i < shmchop_diag_kept_warnings(d); i++)
        check_finding(&d->warnings[i]);
}

/* Parse buf[0, len) into a copy of `start` (NULL: a fresh CHOP). */
static void do_parse(struct parse *p, const uint8_t *buf, size_t len, bool strict, bool count,
                     const shmchop_chop *start)
{
    shmchop_parse_opts opts = {.object = OBJECT, .strict = strict, .count_nonfinite = count};
    p->counted = count;
    shmchop_chop_init(&p->chop);
    if (start)
        FUZZ_CHECK_EQ(shmchop_chop_copy(&p->chop, start), 0);
    memset(&p->info, 0, sizeof p->info);
    shmchop_diag_clear(&p->diag);
    p->rc = shmchop_image_parse(buf, len, &opts, &p->chop, &p->info, &p->diag);
    check_diag(p, strict);
    FUZZ_CHECK(p->rc <= 0);
    if (p->rc == 0)
        return;
    /* image.h: on failure the CHOP is left exactly as it was. */
    if (start) {
        check_same_chop(&p->chop, start);
    } else {
        FUZZ_CHECK_EQ(p->chop.num_chans, 0);
        FUZZ_CHECK_EQ(p->chop.length, 0);
        FUZZ_CHECK_EQ(p->chop.start, 0);
    }
}

/* Walk the sent names (R1.13) and compare each, after replacing illegal
 * bytes by '_' (R1.14), with the parsed name. Returns one past the last
 * NUL: the end of the name area. */
static uint64_t check_sent_names(const uint8_t *img, const shmchop_header *h,
                                 const shmchop_chop *chop)
{
    uint64_t pos = (uint64_t)h->name_data_offset;
    for (uint32_t i = 0; i < chop->num_chans; i++) {
        FUZZ_CHECK(pos < (uint64_t)h->size);
        const uint8_t *raw = img + pos;
        const uint8_t *nul = memchr(raw, 0, (size_t)((uint64_t)h->size - pos));
        FUZZ_CHECK(nul != NULL); /* R1.13: every name ends before size */
        size_t len = (size_t)(nul - raw);
        const char *name = shmchop_chop_name(chop, i);
        FUZZ_CHECK_EQ(strlen(name), len);
        for (size_t k = 0; k < len; k++)
            FUZZ_CHECK((unsigned char)name[k] == (name_byte_legal(raw[k]) ? raw[k] : '_'));
        pos += len + 1;
    }
    return pos;
}

/* Names without namesSent (R1.15): kept from `prev` where it had them,
 * else chan<i+1>. */
static void check_unsent_names(const shmchop_chop *chop, const shmchop_chop *prev)
{
    char want[32];
    for (uint32_t i = 0; i < chop->num_chans; i++) {
        const char *name = shmchop_chop_name(chop, i);
        if (prev && i < prev->num_chans) {
            FUZZ_CHECK(strcmp(name, shmchop_chop_name(prev, i)) == 0);
        } else {
            snprintf(want, sizeof want, "chan%lu", (unsigned long)i + 1);
            FUZZ_CHECK(strcmp(name, want) == 0);
        }
    }
}

/* Checks of the header and extension block of an accepted image. */
static void check_header(const uint8_t *img, size_t avail, const struct parse *p)
{
    const shmchop_header *h = &p->info.header;
    shmchop_header raw;
    shmchop_header_decode(img, &raw);
    FUZZ_CHECK(memcmp(&raw, h, sizeof raw) == 0);
    FUZZ_CHECK_EQ(h->magic, SHMCHOP_MAGIC);                      /* R1.1 */
    FUZZ_CHECK_EQ(h->version, SHMCHOP_VERSION);                  /* R1.2 */
    FUZZ_CHECK(h->size >= SHMCHOP_HEADER_SIZE && (uint64_t)h->size <= avail); /* R1.3 */
    FUZZ_CHECK(h->num_chans >= 0 && (uint32_t)h->num_chans <= SHMCHOP_MAX_CHANS);
    FUZZ_CHECK(h->length >= 0);                                  /* R1.5 */
    uint32_t rbits = float_bits(h->sample_rate);                 /* R1.6 */
    FUZZ_CHECK(((rbits >> 23) & 0xff) != 0xff && h->sample_rate > 0.0f);
    FUZZ_CHECK(h->channel_data_offset % 4 == 0 &&                /* R1.8 */
               h->channel_data_offset >= SHMCHOP_HEADER_SIZE);
    uint64_t data_bytes = (uint64_t)h->num_chans * (uint64_t)h->length * 4u;
    FUZZ_CHECK((uint64_t)h->channel_data_offset + data_bytes <= (uint64_t)h->size);

    FUZZ_CHECK_EQ(p->chop.num_chans, h->num_chans);
    FUZZ_CHECK_EQ(p->chop.length, h->length);
    FUZZ_CHECK(p->chop.rate == (double)h->sample_rate);

    if (!p->info.has_ext) {
        FUZZ_CHECK(!p->info.checksum_ok);
        FUZZ_CHECK_EQ(p->chop.start, 0);                         /* R4.3 */
        return;
    }
    shmchop_ext ext;                                             /* R1.16 */
    shmchop_ext_decode(img, &ext);
    FUZZ_CHECK(memcmp(&ext, &p->info.ext, sizeof ext) == 0);
    FUZZ_CHECK_EQ(ext.ext_magic, SHMCHOP_EXT_MAGIC);
    FUZZ_CHECK(ext.ext_size >= SHMCHOP_EXT_SIZE && ext.ext_size % 8 == 0);
    FUZZ_CHECK((uint64_t)SHMCHOP_EXT_OFFSET + ext.ext_size <= (uint64_t)h->size);
    FUZZ_CHECK_EQ(p->chop.start, ext.start);
    if (p->info.checksum_ok)
        FUZZ_CHECK(ext.flags & SHMCHOP_EXT_FLAG_CHECKSUM);
}

/*
 * Everything an accepted image must satisfy: header and block (R1.1-R1.9,
 * R1.16), samples passed through bit for bit (R1.12), names (R1.13-R1.15),
 * no overlapping areas (R1.11), the checksum (1.3) computed without reading
 * past `size`, and trailing bytes ignored (1.4).
 */
static void check_accepted(const uint8_t *img, size_t avail, const struct parse *p,
                           const shmchop_chop *prev)
{
    const shmchop_header *h = &p->info.header;
    const shmchop_chop *chop = &p->chop;
    check_header(img, avail, p);

    size_t samples = (size_t)chop->num_chans * chop->length;
    uint64_t data0 = (uint64_t)h->channel_data_offset, data1 = data0 + samples * 4u;
    if (samples)
        FUZZ_CHECK(memcmp(chop->data, img + data0, samples * 4u) == 0);
    uint64_t nonfinite = 0;
    for (size_t k = 0; k < samples; k++)
        nonfinite += ((float_bits(chop->data[k]) >> 23) & 0xff) == 0xff;
    if (p->counted)
        FUZZ_CHECK_EQ(p->info.nonfinite, nonfinite);

    for (uint32_t i = 0; i < chop->num_chans; i++) {             /* R1.14 */
        const char *name = shmchop_chop_name(chop, i);
        size_t len = strlen(name);
        FUZZ_CHECK(len >= 1 && len <= SHMCHOP_NAME_MAX);
        for (size_t k = 0; k < len; k++)
            FUZZ_CHECK(name_byte_legal((unsigned char)name[k]));
    }
    uint64_t names0 = 0, names1 = 0;
    if (h->names_sent != 0 && chop->num_chans > 0) {
        names0 = (uint64_t)h->name_data_offset;
        FUZZ_CHECK(names0 >= SHMCHOP_HEADER_SIZE && names0 <= (uint64_t)h->size); /* R1.9 */
        names1 = check_sent_names(img, h, chop);
    } else if (h->names_sent == 0) {
        check_unsent_names(chop, prev);
    }

    FUZZ_CHECK(disjoint(data0, data1, names0, names1));          /* R1.11 */
    FUZZ_CHECK(disjoint(data0, data1, 0, SHMCHOP_HEADER_SIZE));
    FUZZ_CHECK(disjoint(names0, names1, 0, SHMCHOP_HEADER_SIZE));
    if (p->info.has_ext) {
        uint64_t ext1 = SHMCHOP_EXT_OFFSET + (uint64_t)p->info.ext.ext_size;
        FUZZ_CHECK(disjoint(data0, data1, SHMCHOP_EXT_OFFSET, ext1));
        FUZZ_CHECK(disjoint(names0, names1, SHMCHOP_EXT_OFFSET, ext1));
    }

    /* An exact-size copy: the checksum and the parse may not look past
     * `size`, and ASan now sees any byte they try to. */
    size_t size = (size_t)h->size;
    uint8_t *exact = malloc(size);
    FUZZ_CHECK(exact != NULL);
    memcpy(exact, img, size);
    uint32_t crc = shmchop_image_checksum(exact, h);
    uint32_t want = shmchop_crc32c(0, img + data0, samples * 4u);
    want = shmchop_crc32c(want, img + names0, (size_t)(names1 - names0));
    FUZZ_CHECK_EQ(crc, want);
    if (p->info.checksum_ok)
        FUZZ_CHECK_EQ(crc, p->info.ext.checksum);

    struct parse again;                                          /* 1.4 */
    do_parse(&again, exact, size, false, p->counted, prev);
    FUZZ_CHECK_EQ(again.rc, 0);
    check_same_chop(&again.chop, chop);
    FUZZ_CHECK(memcmp(&again.info.header, h, sizeof *h) == 0);
    FUZZ_CHECK_EQ(again.info.has_ext, p->info.has_ext);
    FUZZ_CHECK_EQ(again.info.checksum_ok, p->info.checksum_ok);
    FUZZ_CHECK_EQ(again.info.nonfinite, p->info.nonfinite);
    FUZZ_CHECK_EQ(again.diag.n_warnings, p->diag.n_warnings);
    shmchop_chop_free(&again.chop);
    do_parse(&again, exact, size - 1, false, false, prev);              /* R1.3 */
    FUZZ_CHECK(again.rc < 0);
    shmchop_chop_free(&again.chop);
    free(exact);
}

/*
 * Build the image of `chop` with `bo`, check the builder's own promises,
 * parse the result into a copy of `carry` (NULL: fresh) and check it like
 * any accepted image. Returns the parse (caller frees its CHOP).
 */
static void build_and_parse(struct parse *out, const shmchop_chop *chop,
                            const shmchop_build_opts *bo, const shmchop_chop *carry)
{
    int64_t sz = shmchop_image_size(chop, bo);
    FUZZ_CHECK(sz >= SHMCHOP_HEADER_SIZE);
    uint8_t *img = malloc((size_t)sz);
    FUZZ_CHECK(img != NULL);
    size_t written = 0;
    FUZZ_CHECK_EQ(shmchop_image_build(img, (size_t)sz - 1, chop, bo, &written),
                  SHMCHOP_E_LIMIT);
    FUZZ_CHECK_EQ(shmchop_image_build(img, (size_t)sz, chop, bo, &written), 0);
    FUZZ_CHECK_EQ(written, sz);
    do_parse(out, img, (size_t)sz, false, true, carry);
    FUZZ_CHECK_EQ(out->rc, 0);
    check_accepted(img, (size_t)sz, out, carry);
    FUZZ_CHECK_EQ(out->info.header.size, sz);
    FUZZ_CHECK_EQ(out->info.has_ext, bo->ext);
    if (bo->ext) {
        /* The builder always sets and fills the checksum. */
        FUZZ_CHECK(out->info.checksum_ok);
        FUZZ_CHECK_EQ(out->info.ext.seq, bo->seq);
        FUZZ_CHECK_EQ(out->info.ext.frame, bo->frame);
        FUZZ_CHECK_EQ(out->info.ext.time_ns, bo->time_ns);
        FUZZ_CHECK_EQ(out->info.ext.heartbeat_ns, bo->heartbeat_ns);
        FUZZ_CHECK_EQ(out->info.ext.writer_pid, bo->writer_pid);
    }
    /* Built images carry only legal names and a clean header, so a strict
     * parse has nothing to object to but NaN/Inf samples (R1.12), and
     * those only when counted. */
    struct parse strict;
    do_parse(&strict, img, (size_t)sz, true, false, carry);
    FUZZ_CHECK_EQ(strict.rc, 0);
    shmchop_chop_free(&strict.chop);
    do_parse(&strict, img, (size_t)sz, true, true, carry);
    FUZZ_CHECK_EQ(strict.rc == 0, out->info.nonfinite == 0);
    shmchop_chop_free(&strict.chop);
    free(img);
}

/* The accepted CHOP survives shmchop_image_build and a second parse, bit
 * for bit: with names, and without them when the reader keeps the names
 * of its previous read (R1.15). */
static void check_roundtrip(const struct parse *p)
{
    shmchop_build_opts bo;
    memset(&bo, 0, sizeof bo);
    bo.names = true;
    bo.ext = p->info.has_ext;
    if (bo.ext) {
        bo.seq = p->info.ext.seq;
        bo.frame = p->info.ext.frame;
        bo.time_ns = p->info.ext.time_ns;
        bo.heartbeat_ns = p->info.ext.heartbeat_ns;
        bo.writer_pid = p->info.ext.writer_pid;
        bo.flags = p->info.ext.flags & SHMCHOP_EXT_FLAG_TIMESLICE;
    }
    struct parse rt;
    build_and_parse(&rt, &p->chop, &bo, NULL);
    check_same_chop(&rt.chop, &p->chop);
    shmchop_chop_free(&rt.chop);

    bo.names = false;
    build_and_parse(&rt, &p->chop, &bo, &p->chop);
    check_same_chop(&rt.chop, &p->chop);
    shmchop_chop_free(&rt.chop);
}

/*
 * The builder reproduces the accepted image's own layout: same offsets,
 * same namesSent. Every such layout is valid, so the builder may refuse it
 * (SHMCHOP_E_USAGE) only where an area is empty and the parser was lenient
 * about where it points.
 */
static void check_layout_roundtrip(const struct parse *p)
{
    const shmchop_header *h = &p->info.header;
    bool names = h->names_sent != 0;
    shmchop_build_opts bo;
    memset(&bo, 0, sizeof bo);
    bo.names = names;
    bo.ext = p->info.has_ext;
    bo.channel_data_offset = h->channel_data_offset;
    bo.name_data_offset = names ? h->name_data_offset : 0;
    bo.names_sent_value = h->names_sent;
    int64_t sz = shmchop_image_size(&p->chop, &bo);
    bool degenerate = (uint64_t)h->num_chans * (uint64_t)h->length == 0 ||
                      (names && h->num_chans == 0);
    if (sz == SHMCHOP_E_USAGE && degenerate)
        return;
    FUZZ_CHECK(sz >= SHMCHOP_HEADER_SIZE && sz <= h->size);
    uint8_t *img = malloc((size_t)sz);
    FUZZ_CHECK(img != NULL);
    size_t written = 0;
    FUZZ_CHECK_EQ(shmchop_image_build(img, (size_t)sz, &p->chop, &bo, &written), 0);
    FUZZ_CHECK_EQ(written, sz);
    struct parse rt;
    do_parse(&rt, img, (size_t)sz, false, false, names ? NULL : &p->chop);
    FUZZ_CHECK_EQ(rt.rc, 0);
    check_same_chop(&rt.chop, &p->chop);
    FUZZ_CHECK_EQ(rt.info.header.names_sent, h->names_sent);
    FUZZ_CHECK_EQ(rt.info.header.channel_data_offset, h->channel_data_offset);
    if (names)
        FUZZ_CHECK_EQ(rt.info.header.name_data_offset, h->name_data_offset);
    shmchop_chop_free(&rt.chop);
    free(img);
}

/*
 * Whether to leave this input alone: a header claiming more than
 * FUZZ_MAX_CHANS channels but no more than the reader's limit. Such an
 * image can be 36 bytes and still be valid (channels of length 0, names
 * generated by R1.15); parsing it costs time linear in numChans (about
 * 0.7 s at 2^20 channels under ASan), and the dozen parses below would
 * turn every such input into an AFL "hang". The code paths are the ones
 * already run with fewer channels; beyond the limit the parser must
 * refuse, cheaply, so those inputs are still parsed.
 */
#define FUZZ_MAX_CHANS 4096
static bool too_many_chans(const uint8_t *data, size_t size)
{
    if (size < SHMCHOP_HEADER_SIZE)
        return false;
    int32_t n = (int32_t)fuzz_le32(data + SHMCHOP_OFF_NUM_CHANS);
    return n > FUZZ_MAX_CHANS && (uint32_t)n <= SHMCHOP_MAX_CHANS;
}

/* ---- stage 1b: validation in place -------------------------------------- */

/* Bytes of a CHOP's names, NULs included. */
static size_t chop_names_bytes(const shmchop_chop *c)
{
    if (c->num_chans == 0)
        return 0;
    return c->name_off[c->num_chans - 1] + strlen(shmchop_chop_name(c, c->num_chans - 1)) + 1;
}

/*
 * shmchop_image_validate judges buf exactly as the parse `p` did (same
 * code, same number of findings, same header) and views what the parse
 * copied, whether or not the names of `known` (a legal CHOP's: the
 * reader's fast path compares them instead of scanning) are offered.
 */
/* The CRC of the data area the header claims, when it lies in buf. */
static bool claimed_data_crc(const uint8_t *buf, size_t len, shmchop_crc_span *span)
{
    if (len < SHMCHOP_HEADER_SIZE)
        return false;
    int32_t nch = (int32_t)fuzz_le32(buf + SHMCHOP_OFF_NUM_CHANS);
    int32_t length = (int32_t)fuzz_le32(buf + SHMCHOP_OFF_LENGTH);
    int32_t off = (int32_t)fuzz_le32(buf + SHMCHOP_OFF_DATA_OFFSET);
    if (nch <= 0 || length <= 0 || off < 0 || (size_t)off > len)
        return false;
    uint64_t samples = (uint64_t)nch * (uint64_t)length;
    if (samples > (len - (size_t)off) / 4)
        return false;
    span->off = (uint64_t)off;
    span->len = samples * 4;
    span->crc = shmchop_crc32c(0, buf + off, (size_t)span->len);
    return true;
}

static void check_validate_agrees(const uint8_t *buf, size_t len, bool strict,
                                  const struct parse *p, const shmchop_chop *known,
                                  const shmchop_crc_span *crc)
{
    shmchop_parse_opts opts = {.object = OBJECT, .strict = strict, .count_nonfinite = p->counted};
    shmchop_image_view v = {0};
    shmchop_image_info info;
    shmchop_diag d;

    if (crc)
        v.known_data_crc = *crc;
    if (known && known->num_chans) {
        v.known_names = known->name_buf;
        v.known_bytes = chop_names_bytes(known);
        v.known_count = known->num_chans;
    }
    int rc = shmchop_image_validate(buf, len, &opts, &v, &info, &d);
    FUZZ_CHECK_EQ(rc, p->rc);
    FUZZ_CHECK_EQ(d.n_errors, p->diag.n_errors);
    FUZZ_CHECK_EQ(d.n_warnings, p->diag.n_warnings);
    FUZZ_CHECK(memcmp(&info.header, &p->info.header, sizeof info.header) == 0);
    if (rc != 0)
        return;
    FUZZ_CHECK_EQ(info.checksum_ok, p->info.checksum_ok);
    FUZZ_CHECK_EQ(v.num_chans, p->chop.num_chans);
    FUZZ_CHECK_EQ(v.length, p->chop.length);
    FUZZ_CHECK(v.rate == p->chop.rate);
    FUZZ_CHECK_EQ(v.start, p->chop.start);
    size_t samples = (size_t)v.num_chans * v.length;
    FUZZ_CHECK((samples == 0) == (v.data_bytes == NULL));
    if (samples)
        FUZZ_CHECK(memcmp(v.data_bytes, p->chop.data, samples * 4u) == 0);
    if (v.data)
        FUZZ_CHECK((const void *)v.data == (const void *)v.data_bytes);
    if (v.names_known)
        FUZZ_CHECK(known && v.names_bytes == chop_names_bytes(known) &&
                   memcmp(v.names, known->name_buf, v.names_bytes) == 0);
}

/* ---- stage 4: the cook ------------------------------------------------ */

/* Time steps between cooks, in microseconds (index 0: one frame at fps). */
static const uint32_t steps_us[] = {0 /* unused */, 0, 1000, 16667, 41667, 250000, 1000000, 5000000};
#define MAX_COOKS 8

/* The bytes after the header's size (SPEC 1.4), where stage 4's
 * parameters live; none when size is not a plausible image size. */
static size_t trailing(const uint8_t *data, size_t size, const uint8_t **out)
{
    *out = NULL;
    if (size < SHMCHOP_HEADER_SIZE)
        return 0;
    uint32_t claimed = fuzz_le32(data + SHMCHOP_OFF_SIZE);
    if (claimed < SHMCHOP_HEADER_SIZE || claimed >= size)
        return 0;
    *out = data + claimed;
    return size - claimed;
}

static void stage4_cook(const uint8_t *data, size_t size, const struct parse *loose)
{
    const uint8_t *tail;
    size_t ntail = trailing(data, size, &tail);
    fuzz_cook_params prm;
    fuzz_cook_params_decode(tail, ntail, &prm);
    unsigned ncooks = 1 + (ntail > 3 ? (tail[3] & 7u) : 0);

    bool parsed = loose->rc == 0;
    /* The reader parses fresh, not counting NaN/Inf: in strict mode it
     * accepts exactly what the loose parse accepts without a warning. */
    bool parse_ok = parsed && (!prm.strict || loose->diag.n_warnings == 0);
    fuzz_cook fc;
    fuzz_cook_open(&fc, &prm, parsed ? loose->chop.rate : 48000.0);
    if (!fuzz_cook_affordable(&fc, data, size)) {
        fuzz_cook_close(&fc);
        return;
    }
    const void *images[FUZZ_COOK_MAX_SOURCES];
    size_t lens[FUZZ_COOK_MAX_SOURCES];
    for (unsigned i = 0; i < prm.nsrc; i++) {
        images[i] = data;
        lens[i] = size;
    }
    fuzz_cook_input in = {0, 0, 0};
    if (parsed) {
        in.chans = (uint64_t)prm.nsrc * loose->chop.num_chans;
        in.max_len = loose->chop.length;
        in.samples = in.chans * loose->chop.length;
    }
    /* Starts this far from 0 may be refused as beyond the reader's +-2^62
     * (R4.11) or as overflowing (R1.17): no verdict is expected there. */
    bool plain = parsed && !prm.timeslice && fc.forced_rate == 0.0 &&
                 loose->chop.start > -(INT64_C(1) << 61) && loose->chop.start < (INT64_C(1) << 61);
    shmchop_chop first;
    shmchop_chop_init(&first);
    bool have_first = false;
    uint64_t now = UINT64_C(1000000000000);
    for (unsigned k = 0; k < ncooks; k++) {
        if (k > 0) {
            unsigned si = 4 + k - 1 < ntail ? tail[4 + k - 1] & 7u : 0;
            now += si == 0 ? (uint64_t)(1e9 / prm.fps) + 1 : (uint64_t)steps_us[si] * 1000u;
        }
        bool cooked;
        int rc = fuzz_cook_step(&fc, now, images, lens, &in, &cooked);
        if (!parse_ok)
            FUZZ_CHECK(rc != 0);
        if (plain && parse_ok) {
            FUZZ_CHECK_EQ(rc, 0);
            fuzz_check_pass_through(shmchop_reader_output(fc.r), &loose->chop, fc.scope, prm.nsrc);
        }
        if (rc != 0 || prm.timeslice)
            continue;
        /* The same image at any time: the same whole-frame output. */
        if (have_first)
            fuzz_check_same_chop(shmchop_reader_output(fc.r), &first);
        else
            FUZZ_CHECK_EQ(shmchop_chop_copy(&first, shmchop_reader_output(fc.r)), 0);
        have_first = true;
    }
    shmchop_chop_free(&first);
    fuzz_cook_close(&fc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (too_many_chans(data, size))
        return 0;
    shmchop_chop prev;
    make_prev(&prev);

    /*
     * Stage 1: parse four ways, crossing strictness, the CHOP parsed into
     * (fresh or carrying names) and the NaN/Inf count. Only strictness may
     * change the verdict, and a strict parse fails exactly when the loose
     * parse with the same count option warns ("with opts->strict any
     * warning is also an error", image.h).
     */
    struct parse loose, loose_prev, strict, strict_prev;
    do_parse(&loose, data, size, false, false, NULL);
    do_parse(&loose_prev, data, size, false, true, &prev);
    do_parse(&strict, data, size, true, true, NULL);
    do_parse(&strict_prev, data, size, true, false, &prev);
    if (loose.rc == -ENOMEM || loose_prev.rc == -ENOMEM || strict.rc == -ENOMEM ||
        strict_prev.rc == -ENOMEM)
        goto done; /* the machine's limit, not the parser's verdict */
    FUZZ_CHECK_EQ(loose.rc, loose_prev.rc);
    check_validate_agrees(data, size, false, &loose, NULL, NULL);
    check_validate_agrees(data, size, false, &loose, &prev, NULL);
    check_validate_agrees(data, size, true, &strict, &prev, NULL);
    /* The CRC a copy made of the claimed data area, as the segment
     * reader hands it over: no verdict may change. */
    shmchop_crc_span span;
    if (claimed_data_crc(data, size, &span))
        check_validate_agrees(data, size, false, &loose, NULL, &span);
    if (loose.rc == 0) {
        /* Its own names offered as known: compared, not scanned. */
        check_validate_agrees(data, size, false, &loose, &loose.chop, NULL);
        check_validate_agrees(data, size, true, &strict, &loose.chop, NULL);
    }
    if (loose.rc != 0) {
        FUZZ_CHECK(strict.rc != 0 && strict_prev.rc != 0);
        goto done;
    }
    FUZZ_CHECK_EQ(strict.rc == 0, loose_prev.diag.n_warnings == 0);
    FUZZ_CHECK_EQ(strict_prev.rc == 0, loose.diag.n_warnings == 0);

    /* Stage 2: what any accepted image must satisfy. */
    check_accepted(data, size, &loose, NULL);
    check_accepted(data, size, &loose_prev, &prev);
    if (strict.rc == 0)
        check_same_chop(&strict.chop, &loose.chop);
    if (strict_prev.rc == 0)
        check_same_chop(&strict_prev.chop, &loose_prev.chop);

    /* Stage 3: build it again, in the default layout and in its own. */
    check_roundtrip(&loose);
    check_layout_roundtrip(&loose);

done:
    if (loose.rc != -ENOMEM)
        stage4_cook(data, size, &loose);
    shmchop_chop_free(&loose.chop);
    shmchop_chop_free(&loose_prev.chop);
    shmchop_chop_free(&strict.chop);
    shmchop_chop_free(&strict_prev.chop);
    shmchop_chop_free(&prev);
    return 0;
}
