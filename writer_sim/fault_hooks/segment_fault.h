/* SPDX-License-Identifier: MIT */
/* Fault injection on a writer (SPEC R5.5): for the simulator and the tests only, not installed. */
#ifndef SHMCHOP_SEGMENT_FAULT_H
#define SHMCHOP_SEGMENT_FAULT_H

#include <shmchop/segment.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * These hooks break the protocol on purpose so that readers can be tested
 * against a misbehaving writer. A well-behaved program never needs them.
 */

/* Take the data mutex as a publish does (R2.1, bounded by timeout_ms, 0 =
 * the writer's default) and keep it until shmchop_writer_unlock(): "hold
 * the lock for a time", "die while holding the lock". Publishing while
 * holding it is not allowed (it would wait for itself). */
int shmchop_writer_lock(shmchop_writer *w, unsigned timeout_ms);
int shmchop_writer_unlock(shmchop_writer *w);

/* The writer's mapping of the current data object and its size: write a
 * corrupt header field through it. *size is the mapped size, which after
 * shmchop_writer_truncate() may exceed the object: touch only
 * [0, stats.data_size). */
int shmchop_writer_mapping(shmchop_writer *w, void **base, size_t *size);

/* Overwrite the 4-byte word at `offset` of the data object in place
 * (corrupt: a header field), through shm_access.h; the caller holds the
 * data lock, the sequence lock is left alone. SHMCHOP_E_USAGE when the
 * word is misaligned or does not lie inside both the object and the
 * mapping (after a truncate). */
int shmchop_writer_store_u32(shmchop_writer *w, size_t offset, uint32_t bits);

/* Copy an image of the current object size in without the lock and
 * without the sequence lock ("write without the lock"). With the
 * extension block, the object's seq word keeps the published seq, so a
 * reader's sequence lock cannot see the write coming. */
int shmchop_writer_write_unlocked(shmchop_writer *w, const void *image, size_t size);

/* ftruncate the data object to new_size (readers that touch the lost
 * pages fault, R2.10). The mapping is kept; the next publish sees the size
 * changed and resizes (R2.6). */
int shmchop_writer_truncate(shmchop_writer *w, size_t new_size);

/* shm_unlink the data object and keep writing into the (now nameless)
 * mapping, as the compatible peer would; new readers fail to attach
 * until shmchop_writer_resize() or a publish of another size. */
int shmchop_writer_unlink_data(shmchop_writer *w);

/* Force a resize (R2.6) to new_size, also when it equals the current
 * size: a new data object, the image bytes copied over (zero-extended or
 * cut). */
int shmchop_writer_resize(shmchop_writer *w, size_t new_size);

/* "Leave stale objects behind": unmap, close and free without detach and
 * without unlinking anything, as if the writer had been killed. The OFD
 * lock that marks the writer alive is released with the descriptor. */
void shmchop_writer_abandon(shmchop_writer *w);

#ifdef __cplusplus
}
#endif
#endif
