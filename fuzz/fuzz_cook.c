/* SPDX-License-Identifier: MIT */
/* Shared by the cook harnesses: reader parameters from input bytes, and the checks of every cook. */
#include "fuzz_cook.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <shmchop/image.h>

#include "fuzz_common.h"

/* Patterns that select all, some or none of the names the corpora carry
 * (chan<i>, the vectors' names, prev_a...), with every operator of R4.12. */
static const char *const scopes[] = {
    "*",           "chan[1-3]",  "^chan2",        "t* | r*",      "(a*|b*) ~ ?y",
    "chan*",       "*1 *3",      "[a-m]*",        "",             "c* & *[0-9]",
    "chan[1-9:2]", "^*",         "?",             "chan[2,3,13]", "* ~ chan1",
    "(*) ^(s*)",
};
#define NSCOPES (sizeof scopes / sizeof scopes[0])

static const double fps_list[] = {60.0, 24.0, 1000.0, 60.0};
static const double maxslice_list[] = {200.0, 50.0, 1000.0, 5.0};
static const double maxqueue_list[] = {3.0, 0.0, 1.0, 0.5, 10.0, 1000.0, 2.0, 3.0};

/* Output samples plus queued samples one execution may cost (floats). */
#define FUZZ_COOK_BUDGET (1u << 20)
/* Channels of all sources one cook may cost: each one is a name (made up
 * when the image sends none) and a scope match, some microseconds under
 * ASan, and an image without samples claims up to SHMCHOP_MAX_CHANS of
 * them in 36 bytes (a single such cook took 1.4 s in the AFL smoke). */
#define FUZZ_COOK_CHAN_BUDGET (1u << 14)

void fuzz_cook_params_decode(const uint8_t *p, size_t n, fuzz_cook_params *out)
{
    uint8_t b[FUZZ_COOK_PARAM_BYTES] = {0};
    if (p && n)
        memcpy(b, p, n < sizeof b ? n : sizeof b);
    out->scope = scopes[b[0] % NSCOPES];
    out->rate_mode = (enum fuzz_rate_mode)((b[1] & 7u) % FUZZ_RATE_MODES);
    out->nsrc = 1 + ((b[1] >> 3) & 3u);
    out->srselect = (shmchop_srselect)((b[1] >> 5) & 3u);
    out->strict = (b[1] >> 7) & 1u;
    out->timeslice = b[2] & 1u;
    out->fps = fps_list[(b[2] >> 1) & 3u];
    out->maxslice_ms = maxslice_list[(b[2] >> 3) & 3u];
    out->maxqueue = maxqueue_list[(b[2] >> 5) & 7u];
}

bool fuzz_rate_equal(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

static double forced_rate(enum fuzz_rate_mode m, double base)
{
    switch (m) {
    case FUZZ_RATE_1: return 1.0;
    case FUZZ_RATE_60: return 60.0;
    case FUZZ_RATE_44100: return 44100.0;
    case FUZZ_RATE_HALF: return base * 0.5;
    case FUZZ_RATE_TRIPLE: return base * 3.0;
    default: return 0.0;
    }
}

void fuzz_cook_open(fuzz_cook *fc, const fuzz_cook_params *prm, double base_rate)
{
    char names[FUZZ_COOK_MAX_SOURCES * 4 + 1];
    size_t pos = 0;
    memset(fc, 0, sizeof *fc);
    fc->prm = *prm;
    /* 0.5x of a tiny or 3x of a huge rate may leave (0, inf): keep then. */
    fc->forced_rate = forced_rate(prm->rate_mode, base_rate);
    if (!(fc->forced_rate > 0.0 && isfinite(fc->forced_rate)))
        fc->forced_rate = 0.0;
    for (unsigned i = 0; i < prm->nsrc; i++)
        pos += (size_t)snprintf(names + pos, sizeof names - pos, "%ss%u", i ? " " : "", i);

    shmchop_reader_params p;
    shmchop_reader_params_init(&p);
    p.name = names;
    p.scope = prm->scope;
    p.srselect = prm->srselect;
    p.strict = prm->strict;
    p.timeslice = prm->timeslice;
    p.fps = prm->fps;
    p.maxslice_ms = prm->maxslice_ms;
    p.maxqueue = prm->maxqueue;
    p.rate = fc->forced_rate;
    char err[256];
    FUZZ_CHECK_EQ(shmchop_reader_open(&p, &fc->r, err, sizeof err), 0);
    FUZZ_CHECK_EQ(shmchop_reader_source_count(fc->r), prm->nsrc);
    FUZZ_CHECK_EQ(shmchop_scope_compile(prm->scope, &fc->scope, err, sizeof err), 0);
    shmchop_chop_init(&fc->saved);
    /* Before the first cook: an empty output (reader.h). */
    const shmchop_chop *out = shmchop_reader_output(fc->r);
    FUZZ_CHECK_EQ(out->num_chans, 0);
    FUZZ_CHECK_EQ(out->length, 0);
}

void fuzz_cook_close(fuzz_cook *fc)
{
    shmchop_reader_close(fc->r);
    shmchop_scope_free(fc->scope);
    shmchop_chop_free(&fc->saved);
    fc->r = NULL;
    fc->scope = NULL;
}

bool fuzz_cook_chans_affordable(const fuzz_cook *fc, const uint8_t *img, size_t len)
{
    if (len < SHMCHOP_HEADER_SIZE)
        return true;
    int32_t nch = (int32_t)fuzz_le32(img + SHMCHOP_OFF_NUM_CHANS);
    return nch < 0 || (uint64_t)nch * fc->prm.nsrc <= FUZZ_COOK_CHAN_BUDGET;
}

bool fuzz_cook_affordable(const fuzz_cook *fc, const uint8_t *img, size_t len)
{
    if (len < SHMCHOP_HEADER_SIZE)
        return true;
    if (!fuzz_cook_chans_affordable(fc, img, len))
        return false;
    int32_t nch = (int32_t)fuzz_le32(img + SHMCHOP_OFF_NUM_CHANS);
    int32_t length = (int32_t)fuzz_le32(img + SHMCHOP_OFF_LENGTH);
    uint32_t bits = fuzz_le32(img + SHMCHOP_OFF_SAMPLE_RATE);
    float rs;
    memcpy(&rs, &bits, sizeof rs);
    if (nch < 0 || length < 0 || !(rs > 0.0f) || !isfinite(rs))
        return true; /* refused by the parser, cheaply */
    double chans = fmax(1.0, (double)nch * fc->prm.nsrc);
    double rate = fc->forced_rate > 0.0 ? fc->forced_rate : (double)rs;
    if (!fc->prm.timeslice) {
        double out_len = fc->forced_rate > 0.0 ? (double)length * rate / rs + 2.0 : length;
        return chans * out_len <= FUZZ_COOK_BUDGET;
    }
    /* The first cook's slice is one frame: when that alone is beyond the
     * reader's limit it refuses before allocating anything. */
    double fast = fmax(rate, (double)rs);
    if (fmin(rate, (double)rs) / fc->prm.fps > 4.0 * SHMCHOP_READER_MAX_LENGTH)
        return true;
    double slice = fast * (fc->prm.maxslice_ms / 1000.0 + 2.0 / fc->prm.fps) + 2.0;
    return chans * slice * (fc->prm.maxqueue + 2.0) <= FUZZ_COOK_BUDGET;
}

static bool name_byte_legal(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == ':' || c == '/';
}

void fuzz_check_same_chop(const shmchop_chop *a, const shmchop_chop *b)
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

static double info(const shmchop_reader *r, enum shmchop_info_index i)
{
    const shmchop_info_channel *t;
    FUZZ_CHECK_EQ(shmchop_reader_info(r, &t), SHMCHOP_INFO_COUNT);
    return t[i].value;
}

static void check_same_stats(const shmchop_stream_stats *a, const shmchop_stream_stats *b)
{
    FUZZ_CHECK_EQ(a->written_total, b->written_total);
    FUZZ_CHECK_EQ(a->delivered_total, b->delivered_total);
    FUZZ_CHECK_EQ(a->dropped_total, b->dropped_total);
    FUZZ_CHECK_EQ(a->queue_advanced_total, b->queue_advanced_total);
    FUZZ_CHECK_EQ(a->queue_retarded_total, b->queue_retarded_total);
    FUZZ_CHECK_EQ(a->output_total, b->output_total);
    FUZZ_CHECK_EQ(a->queue_length, b->queue_length);
    FUZZ_CHECK_EQ(a->epochs, b->epochs);
}

/* R4.7, exactly, per source; and no counter ever goes back. */
static void check_stats(const shmchop_stream_stats *now, const shmchop_stream_stats *before)
{
    FUZZ_CHECK_EQ(now->written_total, now->delivered_total + now->dropped_total +
                                          now->queue_advanced_total + now->queue_length);
    FUZZ_CHECK_EQ(now->output_total, now->delivered_total + now->queue_retarded_total);
    FUZZ_CHECK(now->written_total >= before->written_total);
    FUZZ_CHECK(now->delivered_total >= before->delivered_total);
    FUZZ_CHECK(now->dropped_total >= before->dropped_total);
    FUZZ_CHECK(now->queue_advanced_total >= before->queue_advanced_total);
    FUZZ_CHECK(now->queue_retarded_total >= before->queue_retarded_total);
    FUZZ_CHECK(now->epochs >= before->epochs);
}

/* The output of a successful cook: bounds, names, rate, info channels. */
static void check_output(const fuzz_cook *fc, const shmchop_chop *out, const fuzz_cook_input *in)
{
    FUZZ_CHECK(out->num_chans <= in->chans);
    uint64_t max_len = in->max_len > SHMCHOP_READER_MAX_LENGTH ? in->max_len
                                                               : SHMCHOP_READER_MAX_LENGTH;
    uint64_t max_samples = in->samples > SHMCHOP_READER_MAX_SAMPLES ? in->samples
                                                                    : SHMCHOP_READER_MAX_SAMPLES;
    FUZZ_CHECK(out->length <= max_len);
    FUZZ_CHECK((uint64_t)out->num_chans * out->length <= max_samples);
    FUZZ_CHECK(out->rate > 0.0 && isfinite(out->rate));
    if (fc->forced_rate > 0.0)
        FUZZ_CHECK(out->rate == fc->forced_rate);
    for (uint32_t i = 0; i < out->num_chans; i++) {
        const char *name = shmchop_chop_name(out, i);
        size_t len = strlen(name);
        FUZZ_CHECK(len >= 1 && len <= SHMCHOP_NAME_MAX);     /* R1.14 */
        for (size_t k = 0; k < len; k++)
            FUZZ_CHECK(name_byte_legal((unsigned char)name[k]));
        FUZZ_CHECK(shmchop_scope_match(fc->scope, name));    /* R4.12 */
    }
    FUZZ_CHECK_EQ(info(fc->r, SHMCHOP_INFO_NUM_CHANNELS), out->num_chans);
    FUZZ_CHECK_EQ(info(fc->r, SHMCHOP_INFO_LENGTH), out->length);
    FUZZ_CHECK(info(fc->r, SHMCHOP_INFO_SAMPLE_RATE) == out->rate);
    FUZZ_CHECK_EQ(info(fc->r, SHMCHOP_INFO_ERRORS), 0);
    FUZZ_CHECK_EQ(info(fc->r, SHMCHOP_INFO_TIME_SLICE), fc->prm.timeslice);
    FUZZ_CHECK(shmchop_reader_errmsg(fc->r)[0] == '\0');
}

int fuzz_cook_step(fuzz_cook *fc, uint64_t now_ns, const void *const images[],
                   const size_t lens[], const fuzz_cook_input *in, bool *cooked)
{
    unsigned n = fc->prm.nsrc;
    shmchop_stream_stats before[FUZZ_COOK_MAX_SOURCES];
    FUZZ_CHECK_EQ(shmchop_chop_copy(&fc->saved, shmchop_reader_output(fc->r)), 0);
    for (unsigned i = 0; i < n; i++)
        FUZZ_CHECK_EQ(shmchop_reader_get_stream_stats(fc->r, i, &before[i]), 0);
    double cooks_before = info(fc->r, SHMCHOP_INFO_TOTAL_COOKS);

    int rc = shmchop_reader_cook_images(fc->r, now_ns, images, lens, n);
    const shmchop_chop *out = shmchop_reader_output(fc->r);
    FUZZ_CHECK(rc <= 0);
    FUZZ_CHECK(info(fc->r, SHMCHOP_INFO_TOTAL_COOKS) == cooks_before + 1);
    *cooked = info(fc->r, SHMCHOP_INFO_COOKED_THIS_FRAME) != 0.0;
    for (unsigned i = 0; i < n; i++)
        FUZZ_CHECK_EQ(shmchop_reader_get_stream_stats(fc->r, i, &fc->st[i]), 0);

    if (rc != 0 || !*cooked) {
        /* R4.2 and reader.h: a failed cook, or a second time-sliced cook
         * in a frame already cooked, changes neither the output nor the
         * stream state. */
        FUZZ_CHECK(!*cooked);
        fuzz_check_same_chop(out, &fc->saved);
        for (unsigned i = 0; i < n; i++)
            check_same_stats(&fc->st[i], &before[i]);
        if (rc != 0) {
            FUZZ_CHECK(shmchop_reader_errmsg(fc->r)[0] != '\0');
            FUZZ_CHECK(info(fc->r, SHMCHOP_INFO_ERRORS) >= 1.0);
        } else {
            FUZZ_CHECK(fc->prm.timeslice); /* active, so only a repeated frame */
        }
        return rc;
    }
    fc->cooks_ok++;
    check_output(fc, out, in);
    if (!fc->prm.timeslice)
        return rc;
    double written = 0, delivered = 0, qlen = 0;
    for (unsigned i = 0; i < n; i++) {
        check_stats(&fc->st[i], &before[i]);
        /* Every source is the same image, so without a forced rate each is
         * at the output rate and cut on the same timeline: it outputs
         * exactly the slice (R4.4, R4.6). */
        if (fc->forced_rate == 0.0)
            FUZZ_CHECK_EQ(fc->st[i].output_total - before[i].output_total, out->length);
        written += (double)fc->st[i].written_total;
        delivered += (double)fc->st[i].delivered_total;
        qlen += (double)fc->st[i].queue_length;
    }
    FUZZ_CHECK(info(fc->r, SHMCHOP_INFO_WRITTEN_TOTAL) == written);
    FUZZ_CHECK(info(fc->r, SHMCHOP_INFO_DELIVERED_TOTAL) == delivered);
    FUZZ_CHECK(info(fc->r, SHMCHOP_INFO_QUEUE_LENGTH) == qlen);
    return rc;
}

/* Without time slicing or a forced rate, sources that are all this image
 * pass through unchanged, bit for bit (R4.3, R4.11): the output is, per
 * source, the channels the scope selects, with the image's names. */
void fuzz_check_pass_through(const shmchop_chop *out, const shmchop_chop *img,
                               const shmchop_scope *scope, unsigned nsrc)
{
    uint32_t row = 0;
    FUZZ_CHECK_EQ(out->length, img->length);
    FUZZ_CHECK_EQ(out->start, img->start);
    FUZZ_CHECK(out->rate == img->rate);
    for (unsigned s = 0; s < nsrc; s++) {
        for (uint32_t k = 0; k < img->num_chans; k++) {
            const char *name = shmchop_chop_name(img, k);
            if (!shmchop_scope_match(scope, name))
                continue;
            FUZZ_CHECK(row < out->num_chans);
            FUZZ_CHECK(strcmp(shmchop_chop_name(out, row), name) == 0);
            if (img->length)
                FUZZ_CHECK(memcmp(shmchop_chop_channel(out, row), shmchop_chop_channel(img, k),
                                  (size_t)img->length * sizeof(float)) == 0);
            row++;
        }
    }
    FUZZ_CHECK_EQ(out->num_chans, row);
}
