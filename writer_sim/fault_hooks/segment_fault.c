/* SPDX-License-Identifier: MIT */
/* Fault injection on a writer (SPEC R5.5): a static library for the simulator and the tests, never in the shared libshmchop. */
#include "segment_fault.h"

#include "segment_writer_internal.h"
#include "image_internal.h"
#include "shm_access.h"
#include "shm_util.h"

#include <shmchop/image.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int shmchop_writer_lock(shmchop_writer *w, unsigned timeout_ms)
{
    return shmchop__writer_lock(w, &w->data_mx, timeout_ms);
}

int shmchop_writer_unlock(shmchop_writer *w)
{
    return shmchop__mutex_unlock(&w->data_mx, WERR(w));
}

int shmchop_writer_mapping(shmchop_writer *w, void **base, size_t *size)
{
    *base = w->data;
    *size = w->map_size;
    return w->data ? 0 : -ENOENT;
}

int shmchop_writer_store_u32(shmchop_writer *w, size_t offset, uint32_t bits)
{
    if (!w->data || offset % 4 != 0 || offset + 4 > w->obj_size || offset + 4 > w->map_size) {
        shmchop__errf(WERR(w), "%s: no 4-byte word at offset %zu of a %zu-byte object",
                      w->names.data, offset, w->obj_size);
        return SHMCHOP_E_USAGE;
    }
    shmchop__img_store_u32(w->data, offset, bits);
    return 0;
}

int shmchop_writer_write_unlocked(shmchop_writer *w, const void *image, size_t size)
{
    if (size != w->obj_size || size > w->map_size) {
        shmchop__errf(WERR(w), "%s: unlocked write of %zu bytes into a %zu-byte object",
                      w->names.data, size, w->obj_size);
        return SHMCHOP_E_USAGE;
    }
    if (!shmchop__payload_find(w->lay, image, size, NULL)) {
        memcpy(w->data, image, size);
        return 0;
    }
    /* No sequence lock, and the published seq stays: a reader's sequence
     * lock cannot see this write coming, only the content can tell (R5.3
     * counter). */
    shmchop__image_copy_but_seq_at(w->data, image, size, w->lay->seq_off);
    shmchop__seq_store_at(w->data, w->lay->seq_off, w->seq);
    return 0;
}

int shmchop_writer_truncate(shmchop_writer *w, size_t new_size)
{
    if (w->data_fd < 0 || ftruncate(w->data_fd, (off_t)new_size) != 0) {
        int e = w->data_fd < 0 ? -EBADF : -errno;
        shmchop__errf(WERR(w), "%s: cannot truncate to %zu: %s", w->names.data, new_size,
                      strerror(-e));
        return e;
    }
    w->obj_size = new_size;
    return 0;
}

int shmchop_writer_unlink_data(shmchop_writer *w)
{
    if (shm_unlink(w->names.data) != 0) {
        int e = -errno;
        shmchop__errf(WERR(w), "%s: cannot unlink: %s", w->names.data, strerror(errno));
        return e;
    }
    w->data_unlinked = true;
    return 0;
}

int shmchop_writer_resize(shmchop_writer *w, size_t new_size)
{
    int rc = shmchop__writer_check_size(w, new_size);

    if (rc != 0)
        return rc;
    return shmchop__writer_resize_to(w, NULL, new_size, w->has_ext && new_size >= w->lay->head);
}

void shmchop_writer_abandon(shmchop_writer *w)
{
    if (w)
        shmchop__writer_free(w);
}
