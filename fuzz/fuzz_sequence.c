/* SPDX-License-Identifier: MIT */
/* Fuzz harness: a sequence of images cooked by one reader, frame after frame (SPEC section 4). */

/*
 * Input:
 *   [0..2]  reader parameters, as fuzz_cook_params_decode (fuzz_cook.h):
 *           scope, output rate, 1-4 sources (each the record's image),
 *           srselect, strict, time slicing, fps, maxslice, maxqueue
 *   [3]     bit 0: counter mode (below)
 *   then records, each one cook:
 *           u16 LE  image length L
 *           u32 LE  time step in microseconds from the previous cook
 *           L bytes the image (a short last record takes what is left)
 * at most MAX_RECORDS of them. Every record's image gets its own exact-size
 * heap copy, so a read past it is an ASan report.
 *
 * The state a reader carries from frame to frame is what this harness is
 * about: names kept from the previous read (R1.15), the queue (R4.5-R4.7),
 * the timeline (R4.4), resampling across slices (R4.10). After every cook
 * fuzz_cook_step checks R4.2, the output's bounds and names, R4.7 exactly.
 * Besides:
 * - a cook on an image the parser refuses never produces output;
 * - without time slicing or a forced rate, the output is the record's
 *   image passed through (R4.3, R4.11) with, when it sends no names, the
 *   names of the previous successful parse (R1.15): the harness keeps its
 *   own carried parse, as the reader does per source;
 * - every source is the same image, so all sources' counters are equal;
 * - counter mode: each record that parses is rebuilt as an ext-block,
 *   time-sliced image of one writer (same pid, frame +1 per record, the
 *   first such record's rate) whose `start` only advances and whose every
 *   sample is its own absolute index (mod 2^24). With time slicing and the
 *   sources' own rate, the samples a cook delivers (delivered_total's
 *   increase, at the head of the slice, R4.6) are then strictly increasing
 *   within and across cooks: nothing is delivered twice or out of order.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/image.h>

#include "fuzz_common.h"
#include "fuzz_cook.h"

#define HEADER_BYTES (FUZZ_COOK_PARAM_BYTES + 1)
#define RECORD_HEAD 6
#define MAX_RECORDS 64
#define COUNTER_MOD (1u << 24) /* floats hold every integer below it */
#define COUNTER_PID 4242u
#define MAX_ADVANCE (1u << 16) /* MAX_RECORDS of them stay below COUNTER_MOD / 2 */
_Static_assert((uint64_t)MAX_RECORDS * MAX_ADVANCE < COUNTER_MOD / 2, "index wrap undetectable");

typedef struct seq_state {
    fuzz_cook fc;
    bool counter;
    /* plain mode: the parse the reader's sources carry (R1.15) */
    bool plain;
    shmchop_chop carried;
    /* counter mode: the writer being simulated */
    bool have_writer;
    double writer_rate;
    int64_t writer_start;
    uint64_t writer_frame;
    bool have_last;
    uint32_t last_index; /* the last delivered sample, mod COUNTER_MOD */
} seq_state;

/* Rebuild the parsed record as the next image of the counter writer.
 * Returns the image (caller frees) or NULL when it cannot be built. */
static uint8_t *counter_image(seq_state *st, shmchop_chop *chop, const shmchop_image_info *info,
                              uint64_t now_ns, size_t *len)
{
    if (!st->have_writer) {
        st->writer_rate = chop->rate;
        st->writer_start = info->has_ext ? (int64_t)((uint64_t)chop->start & 0xffffffu) : 0;
        st->have_writer = true;
    } else {
        /* The record says how far the writer moved on: by its own ext
         * start (low bits) or, without a block, by one whole image. The
         * samples carry their index mod 2^24, so check_in_order can tell
         * forward from backward only while everything the writer moves on
         * between two delivered samples stays under COUNTER_MOD / 2: each
         * record moves it at most MAX_ADVANCE (a channel-less image can
         * claim any length). */
        uint64_t advance = info->has_ext ? ((uint64_t)chop->start & 0xfffu) : chop->length;
        st->writer_start += (int64_t)(advance < MAX_ADVANCE ? advance : MAX_ADVANCE);
    }
    st->writer_frame++;
    chop->rate = st->writer_rate;
    chop->start = st->writer_start;
    for (uint32_t c = 0; c < chop->num_chans; c++) {
        float *row = shmchop_chop_channel(chop, c);
        for (uint32_t i = 0; i < chop->length; i++)
            row[i] = (float)(((uint64_t)st->writer_start + i) % COUNTER_MOD);
    }
    shmchop_build_opts bo;
    memset(&bo, 0, sizeof bo);
    bo.names = true;
    bo.ext = true;
    bo.seq = 2 * st->writer_frame;
    bo.frame = st->writer_frame;
    bo.time_ns = now_ns;
    bo.heartbeat_ns = now_ns;
    bo.writer_pid = COUNTER_PID;
    bo.flags = SHMCHOP_EXT_FLAG_TIMESLICE;
    int64_t sz = shmchop_image_size(chop, &bo);
    if (sz < SHMCHOP_HEADER_SIZE)
        return NULL; /* too big for int32: the parser took it, the builder cannot */
    uint8_t *img = malloc((size_t)sz);
    FUZZ_CHECK(img != NULL);
    size_t written = 0;
    FUZZ_CHECK_EQ(shmchop_image_build(img, (size_t)sz, chop, &bo, &written), 0);
    *len = written;
    return img;
}

/* Counter mode, time slicing at the sources' rate: the delivered head of
 * every output channel continues the strictly increasing run. */
static void check_in_order(seq_state *st, const shmchop_chop *out, uint64_t delivered)
{
    FUZZ_CHECK(delivered <= out->length);
    if (delivered == 0)
        return;
    uint32_t last = 0;
    for (uint32_t c = 0; c < out->num_chans; c++) {
        const float *row = shmchop_chop_channel(out, c);
        bool have = st->have_last;
        uint32_t prev = st->last_index;
        for (uint64_t i = 0; i < delivered; i++) {
            float v = row[i];
            FUZZ_CHECK(v >= 0.0f && v < (float)COUNTER_MOD && v == floorf(v));
            uint32_t idx = (uint32_t)v;
            if (have) {
                uint32_t step = (idx - prev) % COUNTER_MOD;
                FUZZ_CHECK(step > 0 && step < COUNTER_MOD / 2);
            }
            prev = idx;
            have = true;
        }
        /* The same samples went to every channel and every source. */
        if (c > 0)
            FUZZ_CHECK_EQ(prev, last);
        last = prev;
    }
    if (out->num_chans) {
        st->last_index = last;
        st->have_last = true;
    }
}

/* One record: parse it as the reader will, maybe rebuild it, cook it, check. */
static void run_record(seq_state *st, const uint8_t *rec, size_t len, uint64_t now_ns)
{
    fuzz_cook *fc = &st->fc;
    if (!fuzz_cook_chans_affordable(fc, rec, len))
        return; /* fuzz_image parses such images; 64 of them here would be a hang */
    uint8_t *img = malloc(len ? len : 1);
    FUZZ_CHECK(img != NULL);
    if (len)
        memcpy(img, rec, len);

    shmchop_parse_opts opts = {.object = "fuzzseq", .strict = fc->prm.strict};
    shmchop_chop chop;
    shmchop_image_info info;
    shmchop_diag diag;
    shmchop_chop_init(&chop);
    memset(&info, 0, sizeof info);
    shmchop_diag_clear(&diag);
    /* Into a copy of the carried parse: the names R1.15 keeps. */
    FUZZ_CHECK_EQ(shmchop_chop_copy(&chop, &st->carried), 0);
    int prc = shmchop_image_parse(img, len, &opts, &chop, &info, &diag);
    if (prc == -ENOMEM)
        goto out;
    if (st->counter) {
        if (prc != 0)
            goto out; /* counter mode feeds only what it can rebuild */
        size_t blen = 0;
        uint8_t *built = counter_image(st, &chop, &info, now_ns, &blen);
        if (!built)
            goto out;
        free(img);
        img = built;
        len = blen;
        shmchop_chop_free(&chop);
        shmchop_chop_init(&chop);
        FUZZ_CHECK_EQ(shmchop_chop_copy(&chop, &st->carried), 0);
        prc = shmchop_image_parse(img, len, &opts, &chop, &info, &diag);
        FUZZ_CHECK_EQ(prc, 0);
    }
    if (!fuzz_cook_affordable(fc, img, len))
        goto out;

    const void *images[FUZZ_COOK_MAX_SOURCES];
    size_t lens[FUZZ_COOK_MAX_SOURCES];
    for (unsigned i = 0; i < fc->prm.nsrc; i++) {
        images[i] = img;
        lens[i] = len;
    }
    fuzz_cook_input in = {0, 0, 0};
    if (prc == 0) {
        in.chans = (uint64_t)fc->prm.nsrc * chop.num_chans;
        in.max_len = chop.length;
        in.samples = in.chans * chop.length;
    }
    uint64_t delivered_before = fc->st[0].delivered_total;
    bool cooked;
    int rc = fuzz_cook_step(fc, now_ns, images, lens, &in, &cooked);
    if (prc != 0)
        FUZZ_CHECK(rc != 0 || !cooked);
    for (unsigned i = 1; i < fc->prm.nsrc; i++)
        FUZZ_CHECK(memcmp(&fc->st[i], &fc->st[0], sizeof fc->st[0]) == 0);

    /* The reader parsed (into its sources' CHOPs) whenever it read. */
    bool read = rc != 0 || cooked;
    if (read && prc == 0)
        FUZZ_CHECK_EQ(shmchop_chop_copy(&st->carried, &chop), 0);
    bool near0 = prc == 0 && chop.start > -(INT64_C(1) << 61) && chop.start < (INT64_C(1) << 61);
    if (st->plain && near0) {
        FUZZ_CHECK_EQ(rc, 0);
        fuzz_check_pass_through(shmchop_reader_output(fc->r), &chop, fc->scope, fc->prm.nsrc);
    }
    if (st->counter && fc->prm.timeslice && fc->forced_rate == 0.0 && rc == 0 && cooked)
        check_in_order(st, shmchop_reader_output(fc->r),
                       fc->st[0].delivered_total - delivered_before);
out:
    shmchop_chop_free(&chop);
    free(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER_BYTES)
        return 0;
    seq_state st;
    memset(&st, 0, sizeof st);
    fuzz_cook_params prm;
    fuzz_cook_params_decode(data, FUZZ_COOK_PARAM_BYTES, &prm);
    st.counter = data[FUZZ_COOK_PARAM_BYTES] & 1u;
    /* 0.5x / 3x multiply the first record's claimed rate, when it has one. */
    double base = 48000.0;
    if (size >= HEADER_BYTES + RECORD_HEAD + SHMCHOP_HEADER_SIZE) {
        uint32_t bits = fuzz_le32(data + HEADER_BYTES + RECORD_HEAD + SHMCHOP_OFF_SAMPLE_RATE);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (f > 0.0f && isfinite(f))
            base = f;
    }
    fuzz_cook_open(&st.fc, &prm, base);
    st.plain = !prm.timeslice && st.fc.forced_rate == 0.0;
    shmchop_chop_init(&st.carried);

    size_t pos = HEADER_BYTES;
    uint64_t now = UINT64_C(1000000000000);
    for (unsigned k = 0; k < MAX_RECORDS && size - pos >= RECORD_HEAD; k++) {
        size_t len = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
        uint32_t step_us = fuzz_le32(data + pos + 2);
        pos += RECORD_HEAD;
        if (len > size - pos)
            len = size - pos;
        now += (uint64_t)step_us * 1000u;
        run_record(&st, data + pos, len, now);
        pos += len;
    }
    shmchop_chop_free(&st.carried);
    fuzz_cook_close(&st.fc);
    return 0;
}
