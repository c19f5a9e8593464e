/* SPDX-License-Identifier: MIT */
/* Building CHOP images: the writer's side of SPEC section 1. */
#include "image_internal.h"

#include <errno.h>
#include <string.h>

/* Where each part of an image goes. */
typedef struct layout {
    int32_t names_sent;
    uint64_t data_off, data_bytes;
    uint64_t name_off, name_bytes; /* name_bytes 0 without names */
    uint64_t size;
} layout;

static uint64_t all_names_bytes(const shmchop_chop *chop)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < chop->num_chans; i++)
        n += strlen(shmchop_chop_name(chop, i)) + 1;
    return n;
}

static bool ranges_overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
    return a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1;
}

/* Work out the layout; TouchDesigner's by default (data, then names). */
static int plan(const shmchop_chop *chop, const shmchop_build_opts *o, layout *l)
{
    uint64_t first_free = o->ext ? SHMCHOP_EXT_OFFSET + SHMCHOP_EXT_SIZE : SHMCHOP_HEADER_SIZE;
    bool names = o->names || o->names_sent_value != 0;

    if (chop->num_chans > INT32_MAX || chop->length > INT32_MAX)
        return SHMCHOP_E_OVERFLOW;
    l->names_sent = o->names_sent_value ? o->names_sent_value : names;
    l->data_off = o->channel_data_offset ? (uint64_t)o->channel_data_offset : first_free;
    l->data_bytes = (uint64_t)chop->num_chans * chop->length * 4u;
    l->name_bytes = names ? all_names_bytes(chop) : 0;
    l->name_off = o->name_data_offset ? (uint64_t)o->name_data_offset
                                      : l->data_off + l->data_bytes;
    if (o->channel_data_offset < 0 || o->name_data_offset < 0 || l->data_off % 4 ||
        l->data_off < first_free || (names && l->name_off < first_free))
        return SHMCHOP_E_USAGE;
    if (names && ranges_overlap(l->data_off, l->data_off + l->data_bytes, l->name_off,
                                l->name_off + l->name_bytes))
        return SHMCHOP_E_USAGE;
    l->size = l->data_off + l->data_bytes;
    if (names && l->name_off + l->name_bytes > l->size)
        l->size = l->name_off + l->name_bytes;
    if (o->pad_to > l->size)
        l->size = o->pad_to;
    if (l->size > INT32_MAX)
        return SHMCHOP_E_OVERFLOW;
    return 0;
}

int64_t shmchop_image_size(const shmchop_chop *chop, const shmchop_build_opts *opts)
{
    shmchop_build_opts zero = { 0 };
    layout l;
    int rc = plan(chop, opts ? opts : &zero, &l);
    return rc ? rc : (int64_t)l.size;
}

static void wr32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void wr64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void write_header(unsigned char *p, const shmchop_chop *chop, const layout *l)
{
    const shmchop_header h = {
        .magic = SHMCHOP_MAGIC,
        .version = SHMCHOP_VERSION,
        .size = (int32_t)l->size,
        .num_chans = (int32_t)chop->num_chans,
        .length = (int32_t)chop->length,
        .sample_rate = (float)chop->rate,
        .names_sent = l->names_sent,
        .channel_data_offset = (int32_t)l->data_off,
        .name_data_offset = (int32_t)(l->names_sent ? l->name_off : 0),
    };

    shmchop__header_encode(p, &h);
}

/* The extension block (SPEC 1.3), its checksum computed over the image. */
static void write_ext(unsigned char *p, const shmchop_chop *chop,
                      const shmchop_build_opts *o)
{
    shmchop_header h;

    wr32(p + SHMCHOP_OFF_EXT_MAGIC, SHMCHOP_EXT_MAGIC);
    wr32(p + SHMCHOP_OFF_EXT_SIZE, SHMCHOP_EXT_SIZE);
    wr64(p + SHMCHOP_OFF_EXT_SEQ, o->seq);
    wr64(p + SHMCHOP_OFF_EXT_FRAME, o->frame);
    wr64(p + SHMCHOP_OFF_EXT_START, (uint64_t)chop->start);
    wr64(p + SHMCHOP_OFF_EXT_TIME_NS, o->time_ns);
    wr32(p + SHMCHOP_OFF_EXT_PID, o->writer_pid);
    wr32(p + SHMCHOP_OFF_EXT_FLAGS, o->flags | SHMCHOP_EXT_FLAG_CHECKSUM);
    wr32(p + SHMCHOP_OFF_EXT_RESERVED, 0);
    wr64(p + SHMCHOP_OFF_EXT_HEARTBEAT, o->heartbeat_ns);
    shmchop_header_decode(p, &h);
    wr32(p + SHMCHOP_OFF_EXT_CHECKSUM, shmchop_image_checksum(p, &h));
}

int shmchop_image_build(void *buf, size_t cap, const shmchop_chop *chop,
                        const shmchop_build_opts *opts, size_t *written)
{
    shmchop_build_opts zero = { 0 };
    const shmchop_build_opts *o = opts ? opts : &zero;
    unsigned char *p = buf;
    layout l;
    int rc = plan(chop, o, &l);

    if (rc)
        return rc;
    if (l.size > cap)
        return SHMCHOP_E_LIMIT;
    memset(p, 0, (size_t)l.size);
    write_header(p, chop, &l);
    if (l.data_bytes)
        memcpy(p + l.data_off, chop->data, (size_t)l.data_bytes);
    if (l.name_bytes)
        for (uint32_t i = 0; i < chop->num_chans; i++) {
            const char *name = shmchop_chop_name(chop, i);
            size_t len = strlen(name) + 1;
            memcpy(p + l.name_off, name, len);
            l.name_off += len;
        }
    if (o->ext)
        write_ext(p, chop, o);
    if (written)
        *written = (size_t)l.size;
    return 0;
}
