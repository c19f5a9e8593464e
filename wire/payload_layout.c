/* SPDX-License-Identifier: MIT */
/* The two payload layouts of a data object: a CHOP image, a global image (SPEC 1.3, 3). */
#include "payload_layout.h"

#include "image_internal.h"

#include <shmchop/global.h>
#include <shmchop/image.h>

static const shmchop__payload_layout chop_layout = {
    .what = "CHOP image",
    .min_size = SHMCHOP_HEADER_SIZE,
    .head = SHMCHOP_EXT_OFFSET + SHMCHOP_EXT_SIZE,
    .magic_off = SHMCHOP_OFF_EXT_MAGIC,
    .magic = SHMCHOP_EXT_MAGIC,
    .size_off = SHMCHOP_OFF_SIZE,
    .size_signed = true,
    .seq_off = SHMCHOP_OFF_EXT_SEQ,
    .pid_off = SHMCHOP_OFF_EXT_PID,
    .hb_off = SHMCHOP_OFF_EXT_HEARTBEAT,
};

/* SPEC 3, the global header table. */
static const shmchop__payload_layout global_layout = {
    .what = "global image",
    .min_size = SHMCHOP_GLOBAL_HEADER_SIZE,
    .head = SHMCHOP_GLOBAL_HEADER_SIZE,
    .magic_off = SHMCHOP_GLOBAL_OFF_MAGIC,
    .magic = SHMCHOP_GLOBAL_MAGIC,
    .size_off = SHMCHOP_GLOBAL_OFF_SIZE,
    .size_signed = false,
    .seq_off = SHMCHOP_GLOBAL_OFF_SEQ,
    .pid_off = SHMCHOP_GLOBAL_OFF_PID,
    .hb_off = SHMCHOP_GLOBAL_OFF_HEARTBEAT,
};

_Static_assert(SHMCHOP_GLOBAL_OFF_SEQ % 8 == 0 && SHMCHOP_GLOBAL_OFF_HEARTBEAT % 8 == 0,
               "global seq and heartbeat are 8-byte aligned");

const shmchop__payload_layout *shmchop__payload_layout_of(shmchop_payload payload)
{
    switch (payload) {
    case SHMCHOP_PAYLOAD_CHOP:
        return &chop_layout;
    case SHMCHOP_PAYLOAD_GLOBAL:
        return &global_layout;
    }
    return NULL;
}

bool shmchop__payload_find(const shmchop__payload_layout *l, const void *buf, size_t len,
                           shmchop__payload_fields *out)
{
    const unsigned char *p = buf;

    /* The CHOP block has its own rules (ext_size, R1.16): one place. */
    if (l == &chop_layout) {
        shmchop_ext ext;
        if (!shmchop__ext_find(buf, len, &ext))
            return false;
        if (out)
            *out = (shmchop__payload_fields){ ext.seq, ext.writer_pid, ext.heartbeat_ns };
        return true;
    }
    if (len < l->head || shmchop__le32(p + l->magic_off) != l->magic)
        return false;
    if (out) {
        out->seq = shmchop__le64(p + l->seq_off);
        out->writer_pid = shmchop__le32(p + l->pid_off);
        out->heartbeat_ns = shmchop__le64(p + l->hb_off);
    }
    return true;
}

int64_t shmchop__payload_size(const shmchop__payload_layout *l, const void *buf)
{
    uint32_t v = shmchop__le32((const unsigned char *)buf + l->size_off);

    return l->size_signed ? (int64_t)(int32_t)v : (int64_t)v;
}
