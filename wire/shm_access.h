/* SPDX-License-Identifier: MIT */
/* Every access to shared memory: the sequence lock, the acquire/release accessors, the guarded copy. */
#ifndef SHMCHOP_SHM_ACCESS_H
#define SHMCHOP_SHM_ACCESS_H

#include "sigbus_guard.h"

#include <shmchop/image.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * This header is the only place that says how shared memory is read and
 * written (SPEC R1.17, R2.1, R2.9, R2.10); the rest of the code calls the
 * functions below and never dereferences a shared field itself. The
 * argument for the lock-free read is written once, here, in the manner of
 * liburing's barrier.h and LMDB's notes.
 *
 * Which atomics. GCC's __atomic builtins, not C11 <stdatomic.h>: every
 * shared field is a plain member of a struct whose layout a compatible
 * peer fixes (the info object's bools, the mutex object's `locked`) or a
 * word at an offset of a byte image. C11 atomics act only on _Atomic
 * objects, and reading a plain object through an _Atomic pointer is not
 * defined; the builtins act on plain objects, which is exactly our case
 * (liburing makes the same choice for its rings). gcc and clang both
 * provide them.
 *
 * The sequence lock (R1.17). The writer, holding the data mutex, does for
 * each change of an image that carries the extension block:
 *     W1  seq = s+1            relaxed store (odd: "changing")
 *     W2  fence(release)
 *     W3  store the image bytes (everything but seq)
 *     W4  seq = s+2            release store
 * (shmchop__seq_write_begin is W1-W2, shmchop__seq_write_end is W4.)
 * The reader, without any lock, does:
 *     R1  s1 = seq             acquire load; retry if odd
 *     R2  load the image bytes into a private buffer
 *     R3  fence(acquire)
 *     R4  s2 = seq             relaxed load; accept the copy iff s1 == s2
 * (shmchop__seq_read_begin is R1, shmchop__seq_read_retry is R3-R4.)
 *
 * Claim: an accepted copy equals the image of one publish.
 * - R1 reads W4 of publish k (even s1): by release/acquire every W3 store
 *   of publish k happens-before R2, so R2 sees publish k's bytes or later
 *   ones; never earlier ones.
 * - If any load in R2 saw a byte stored by a later publish k+1 (its W3),
 *   then W2 of k+1 (the release fence after W1) pairs with R3 (the
 *   acquire fence after that load): W1 of k+1 happens-before R4, so R4
 *   reads s+1 or later, s2 != s1, and the copy is dropped.
 * So an accepted copy saw exactly publish k. The image loads in R2 race
 * with W3 in the C11 sense (plain memcpy, not atomics); that is the
 * usual seqlock compromise (Linux, Boehm's "Can seqlocks get along with
 * programming language memory models?"): memcpy is an opaque call the
 * compiler cannot move across the fences, the hardware loads are plain
 * loads, and a torn value is never used because the copy is discarded.
 * The copy is guarded against SIGBUS (R2.10), and it is private, so
 * validation afterwards reads each field once from stable memory (R2.9).
 * A reader that fails the sequence lock too often takes the data mutex
 * instead, so a writer that never stops changing cannot starve it.
 *
 * An object nobody can see yet (a new data object before its name or
 * postfix is published) needs no sequence lock: shmchop__seq_store. What
 * publishes it (the info mutex, the shm_open of its name) orders it.
 *
 * The other shared fields (the info object's fields, the mutex object's
 * `locked` and holder fields) are only touched under a lock: the info
 * mutex, or the mutex object's inner pthread mutex. The lock orders them,
 * so their accessors are relaxed: atomic only so that the compiler emits
 * one load or store of the whole field, never caches, splits or invents
 * one, because a compatible peer or a crashed holder may not keep to the
 * lock. The two exceptions say why at their use: the mutex object's
 * init_magic (release by its creator, acquire by whoever waits for it,
 * R2.2) and the info object's magic (written last, release).
 *
 * Layout: seq is a naturally aligned uint64 at offset 48 (CHOP) or 16
 * (global) of a page-aligned mapping, so the atomic loads and stores on
 * it are single instructions, and they are plain loads, not a locked
 * read-modify-write, which a read-only mapping would fault on.
 */
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0), "lock-free 64-bit atomics");
_Static_assert(SHMCHOP_OFF_EXT_SEQ % 8 == 0, "seq is 8-byte aligned");

/* ---- relaxed accessors: ordered by a lock held around them ---- */

static inline uint32_t shmchop__shm_load_u32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline int32_t shmchop__shm_load_i32(const int32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline uint64_t shmchop__shm_load_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline bool shmchop__shm_load_bool(const bool *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void shmchop__shm_store_u32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void shmchop__shm_store_i32(int32_t *p, int32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void shmchop__shm_store_u64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void shmchop__shm_store_bool(bool *p, bool v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* ---- acquire/release: a flag that publishes what was written before ---- */

static inline uint32_t shmchop__shm_load_u32_acquire(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void shmchop__shm_store_u32_release(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void shmchop__shm_store_i32_release(int32_t *p, int32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* ---- words of a mapped image (offsets of SPEC 1.1/1.3, naturally aligned) ---- */

static inline uint32_t shmchop__img_load_u32(const unsigned char *img, size_t off)
{
    return shmchop__shm_load_u32((const uint32_t *)(const void *)(img + off));
}

static inline void shmchop__img_store_u32(unsigned char *img, size_t off, uint32_t v)
{
    shmchop__shm_store_u32((uint32_t *)(void *)(img + off), v);
}

static inline void shmchop__img_store_u64(unsigned char *img, size_t off, uint64_t v)
{
    shmchop__shm_store_u64((uint64_t *)(void *)(img + off), v);
}

/*
 * The seq word sits at offset 48 of a CHOP image's extension block and at
 * offset 16 of a global header (SPEC 3); the _at forms take its offset
 * (payload_layout.h), the others are the CHOP image's.
 */
static inline uint64_t *shmchop__seq_word_at(unsigned char *img, size_t off)
{
    return (uint64_t *)(void *)(img + off);
}

static inline const uint64_t *shmchop__seq_word_c_at(const unsigned char *img, size_t off)
{
    return (const uint64_t *)(const void *)(img + off);
}

/* ---- the sequence lock, writer half (caller holds the data mutex) ---- */

/* W1-W2: seq (even, the published one) becomes odd; no store after this
 * becomes visible before the odd value. */
static inline void shmchop__seq_write_begin_at(unsigned char *img, size_t off, uint64_t seq)
{
    __atomic_store_n(shmchop__seq_word_at(img, off), seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void shmchop__seq_write_begin(unsigned char *img, uint64_t seq)
{
    shmchop__seq_write_begin_at(img, SHMCHOP_OFF_EXT_SEQ, seq);
}

/* W4: publish; returns the new even seq (seq + 2). */
static inline uint64_t shmchop__seq_write_end_at(unsigned char *img, size_t off, uint64_t seq)
{
    __atomic_store_n(shmchop__seq_word_at(img, off), seq + 2, __ATOMIC_RELEASE);
    return seq + 2;
}

static inline uint64_t shmchop__seq_write_end(unsigned char *img, uint64_t seq)
{
    return shmchop__seq_write_end_at(img, SHMCHOP_OFF_EXT_SEQ, seq);
}

/* seq of an object nobody can see yet, or of an unlocked-write fault. */
static inline void shmchop__seq_store_at(unsigned char *img, size_t off, uint64_t seq)
{
    shmchop__shm_store_u64(shmchop__seq_word_at(img, off), seq);
}

static inline void shmchop__seq_store(unsigned char *img, uint64_t seq)
{
    shmchop__seq_store_at(img, SHMCHOP_OFF_EXT_SEQ, seq);
}

/* W3: the image bytes of src into the mapping dst, all but the seq word
 * at offset off (size >= off + 8). */
static inline void shmchop__image_copy_but_seq_at(unsigned char *dst, const unsigned char *src,
                                                  size_t size, size_t off)
{
    const size_t after = off + sizeof(uint64_t);

    memcpy(dst, src, off);
    memcpy(dst + after, src + after, size - after);
}

static inline void shmchop__image_copy_but_seq(unsigned char *dst, const unsigned char *src,
                                               size_t size)
{
    shmchop__image_copy_but_seq_at(dst, src, size, SHMCHOP_OFF_EXT_SEQ);
}

/* ---- the sequence lock, reader half (no lock held) ---- */

/* R1: the seq to compare with; odd means "changing, retry". */
static inline uint64_t shmchop__seq_read_begin_at(const unsigned char *img, size_t off)
{
    return __atomic_load_n(shmchop__seq_word_c_at(img, off), __ATOMIC_ACQUIRE);
}

/* R3-R4, after the copy: true when the copy must be dropped (seq moved). */
static inline bool shmchop__seq_read_retry_at(const unsigned char *img, size_t off, uint64_t s1)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(shmchop__seq_word_c_at(img, off), __ATOMIC_RELAXED) != s1;
}

static inline uint64_t shmchop__seq_read_begin(const unsigned char *img)
{
    return shmchop__seq_read_begin_at(img, SHMCHOP_OFF_EXT_SEQ);
}

static inline bool shmchop__seq_read_retry(const unsigned char *img, uint64_t s1)
{
    return shmchop__seq_read_retry_at(img, SHMCHOP_OFF_EXT_SEQ, s1);
}

/* ---- the guarded copy (R2.10) ---- */

struct shmchop__guarded_memcpy_args {
    void *dst;
    const void *src;
    size_t n;
};

static inline void shmchop__guarded_memcpy_fn(void *arg)
{
    const struct shmchop__guarded_memcpy_args *a = arg;

    memcpy(a->dst, a->src, a->n);
}

/*
 * memcpy(dst, src, n) out of a mapping [map, map + map_len) that someone
 * else may truncate: 0, or SHMCHOP_E_SEGMENT_GONE when a page was gone
 * (dst then holds a partial copy). Through shmchop__guarded, the one entry
 * point of the SIGBUS guard; the handler must be installed.
 */
static inline int shmchop__guarded_memcpy(void *dst, const void *src, size_t n, const void *map,
                                          size_t map_len)
{
    struct shmchop__guarded_memcpy_args a = { dst, src, n };

    return shmchop__guarded(map, map_len, shmchop__guarded_memcpy_fn, &a);
}

#endif
