/* SPDX-License-Identifier: MIT */
/* Live segments (SPEC section 2): object names, the writer side, the reader side, ls/gc. */
#ifndef SHMCHOP_SEGMENT_H
#define SHMCHOP_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shmchop/chop.h>
#include <shmchop/defs.h>
#include <shmchop/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions of this header.
 *
 * Every function returns 0 or a negative code: -errno for a failed system
 * call, SHMCHOP_E_* otherwise. Functions that may fail before a handle
 * exists take `err, errlen` (err may be NULL): on failure they write a
 * one-line message naming the object and the value at fault (SPEC R6.1),
 * e.g. "TouchSHMfoo: mode 0666 is writable by group or others". A handle
 * keeps the message of its latest failure (shmchop_*_errmsg()).
 *
 * Timeouts are in milliseconds; 0 in an options struct means the default.
 * A NULL options pointer means all defaults. Every wait is bounded (R2.1).
 *
 * Threads: a handle is used by one thread at a time; different handles
 * may be used from different threads. The SIGBUS guard is per thread.
 */

/* ------------------------------------------------------------------ */
/* Names (SPEC section 2, table)                                       */
/* ------------------------------------------------------------------ */

#define SHMCHOP_SHM_NAME_MAX 200  /* bytes of a Shared Mem Name N */
#define SHMCHOP_POSTFIX_LEN 31    /* letters of a postfix this project makes (R2.6) */
#define SHMCHOP_POSTFIX_SIZE 32   /* namePostFix field of the info object */
/* Longest object name with its NUL: "TouchSHM" + N + a 31-byte postfix. */
#define SHMCHOP_SHM_OBJ_NAME_SIZE 256

#define SHMCHOP_SHM_PREFIX "TouchSHM"
#define SHMCHOP_SHM_INFO_SUFFIX "4jhd783h"
#define SHMCHOP_SHM_MUTEX_SUFFIX "Mutex"
#define SHMCHOP_SHM_DIR "/dev/shm"

/* Sizes of the objects (x86-64 glibc; checked by static asserts). */
#define SHMCHOP_SHM_MUTEX_COMPAT_SIZE 96 /* the compatible peer's shared mutex */
#define SHMCHOP_SHM_MUTEX_SIZE 128       /* ours: + holder pid and start time, R2.3a */
#define SHMCHOP_SHM_INFO_SIZE 44         /* the info object, R2.2 */
#define SHMCHOP_INFO_MAGIC 0x56ED34BA
#define SHMCHOP_INFO_VERSION 2

/*
 * Check a Shared Mem Name: 1 to 200 bytes, no '/', no NUL. Makes no system
 * call, so it runs before any (SPEC section 2). Returns 0 or
 * SHMCHOP_E_BAD_SHM_NAME with a message naming the offending byte.
 * The _n form takes an explicit length, so a name with an embedded NUL
 * (from JSON, say) is rejected too.
 */
SHMCHOP_API int shmchop_shm_name_check(const char *name, char *err, size_t errlen);
SHMCHOP_API int shmchop_shm_name_check_n(const char *name, size_t len, char *err, size_t errlen);

/* The four POSIX shm names of a Shared Mem Name, without a leading slash
 * (glibc strips one anyway and maps each to /dev/shm/<name>). */
typedef struct shmchop_shm_names {
    char data[SHMCHOP_SHM_OBJ_NAME_SIZE];       /* TouchSHM + N + P */
    char data_mutex[SHMCHOP_SHM_OBJ_NAME_SIZE]; /* TouchSHM + N + Mutex */
    char info[SHMCHOP_SHM_OBJ_NAME_SIZE];       /* TouchSHMTouchSHM + N + 4jhd783h */
    char info_mutex[SHMCHOP_SHM_OBJ_NAME_SIZE]; /* ... + Mutex */
} shmchop_shm_names;

/*
 * Fill `out` for name N and postfix P (NULL or "" for none). Checks N as
 * shmchop_shm_name_check() does, and P: at most 31 printable ASCII bytes,
 * no '/'. Returns 0, SHMCHOP_E_BAD_SHM_NAME or SHMCHOP_E_BAD_INFO (bad P).
 */
SHMCHOP_API int shmchop_shm_names_make(const char *name, const char *postfix,
                                       shmchop_shm_names *out, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Writer (the Shared Mem Out side; used by shmchop-out and the tests) */
/* ------------------------------------------------------------------ */

typedef struct shmchop_writer shmchop_writer;

/*
 * What a segment's data object holds. Local segments hold one CHOP image
 * (section 1: sequence lock, pid and heartbeat in its extension block);
 * global segments hold a global image (section 3: the same fields in the
 * 64-byte global header, seq at offset 16, size at 8, writer_pid at 40,
 * heartbeat_ns at 56). Naming, mutexes, info, resize and detach are the
 * same for both (SPEC 3: `TouchSHM`+G+P).
 */
typedef enum shmchop_payload {
    SHMCHOP_PAYLOAD_CHOP = 0,   /* default */
    SHMCHOP_PAYLOAD_GLOBAL = 1,
} shmchop_payload;

typedef struct shmchop_writer_opts {
    unsigned mode;            /* permission bits of every object created;
                                 0 = 0600 (R2.11); 0666 behaves like the
                                 compatible peer. Applied with fchmod, so
                                 the umask does not narrow it. */
    unsigned lock_timeout_ms; /* bound of every lock wait; 0 = 1000 */
    size_t initial_size;      /* bytes of the data object created by open;
                                 0 = 36 (global payload: 64), else at
                                 least that and <= INT32_MAX. The
                                 object reads as zeros (an invalid image)
                                 until the first publish: pass the first
                                 image's size to spare a resize. */
    shmchop_payload payload;  /* what publish() is given; 0 = a CHOP image */
} shmchop_writer_opts;

/*
 * Take the name N (R2.4, R2.11). Opens or creates both mutex objects
 * (R2.2), creates the info object with O_EXCL, sets magic, version 2,
 * supported = false, detach = false and an empty postfix under the info
 * mutex, then creates the data object `TouchSHM`+N with O_EXCL.
 *
 * When the info object already exists the name's holder is examined:
 * - held by a live writer (a writer of this project holds an OFD lock on
 *   its info object for as long as it runs; or the extension block's
 *   writer_pid is alive): SHMCHOP_E_NAME_IN_USE, "name N is in use by
 *   pid X" (pid from the extension block; "by a live writer" when the
 *   image has no block);
 * - otherwise (detach set, the block's pid dead, or nobody holding it):
 *   the leftovers are cleaned -- detach is set in the old info object so
 *   readers still attached to it let go (R2.7a), then the old data and
 *   info objects are unlinked -- and the name is created afresh.
 * On success *out is a new handle that shmchop_writer_close() frees.
 */
SHMCHOP_API int shmchop_writer_open(const char *name, const shmchop_writer_opts *opts,
                                    shmchop_writer **out, char *err, size_t errlen);

/*
 * Publish an image that is already built (shmchop_image_build()).
 * size == the current data object size: takes the data mutex (bounded
 * wait, R2.1/R2.3b) and copies the image in. When the image carries an
 * extension block (ext_magic at 40 and size >= 104) the copy is wrapped in
 * the sequence lock (R1.17): the block's `seq` in shared memory becomes
 * odd, the bytes are copied, then `seq` becomes even again, +2 per call;
 * the caller's `seq` value is ignored. With payload GLOBAL the same is
 * done with the global header's seq at 16 when the image starts with the
 * global magic (SPEC 3).
 * A different size resizes first (R2.6): with `supported` set a new data
 * object under a fresh 31-letter postfix (getrandom), filled with the
 * image before its postfix is published, then the old one is unlinked;
 * without `supported`, the old object is unlinked and recreated.
 * Returns 0, SHMCHOP_E_LOCK_TIMEOUT, SHMCHOP_E_USAGE (size < 36, 64 for
 * a global payload, or > INT32_MAX) or -errno.
 */
SHMCHOP_API int shmchop_writer_publish(shmchop_writer *w, const void *image, size_t size);

/*
 * Store heartbeat_ns (extension block offset 96, global header offset 56,
 * R2.7b) without changing
 * anything else; for cooks that publish no new data. Under the data mutex
 * and the sequence lock, like a publish. A no-op (0) when the latest
 * published image has no extension block.
 */
SHMCHOP_API int shmchop_writer_heartbeat(shmchop_writer *w, uint64_t now_ns);

/*
 * Give the name back (R2.8): detach = true under the info mutex, unlink
 * the data object, then the info object; the mutex objects stay. Frees w
 * (NULL is allowed). Returns the first failure, but always finishes the
 * teardown and frees.
 */
SHMCHOP_API int shmchop_writer_close(shmchop_writer *w);

/* One-line message of w's latest failure ("" when none). */
SHMCHOP_API const char *shmchop_writer_errmsg(const shmchop_writer *w);

typedef struct shmchop_writer_stats {
    uint64_t publishes_total;
    uint64_t resizes_total;
    uint64_t lock_breaks_total;   /* dead holders broken (R2.3b) */
    uint64_t lock_timeouts_total;
    double lock_wait_ms;          /* wait of the latest lock */
    double lock_wait_ms_max;
    uint64_t seq;                 /* the latest even seq published */
    size_t data_size;             /* bytes of the current data object */
    bool supported;               /* as seen at the latest resize / open */
    char postfix[SHMCHOP_POSTFIX_SIZE];
    char data_name[SHMCHOP_SHM_OBJ_NAME_SIZE];
    uint64_t sigbus_total;        /* writes that found the object truncated (R2.15) */
    uint64_t cond_abandoned_total; /* signals abandoned on a broken cond (R2.16) */
} shmchop_writer_stats;

SHMCHOP_API void shmchop_writer_get_stats(const shmchop_writer *w, shmchop_writer_stats *st);

/*
 * A warning that does not fail a call, once: today only "a signal on a
 * mutex object's condition variable did not return" (R2.16), which the
 * writer reports once per object and then stops signalling it. Returns
 * the one-line message and forgets it, or "" when there is none.
 */
SHMCHOP_API const char *shmchop_writer_take_warning(shmchop_writer *w);

/* ------------------------------------------------------------------ */
/* Reader (the Shared Mem In side)                                     */
/* ------------------------------------------------------------------ */

typedef struct shmchop_segment shmchop_segment;

typedef struct shmchop_segment_opts {
    unsigned lock_timeout_ms;      /* bound of the data and info mutex
                                      waits; 0 = 1000 */
    unsigned seq_retries;          /* sequence-lock copies tried before
                                      falling back to the data mutex;
                                      0 = 64 */
    unsigned probe_interval_ms;    /* how often a read may make system
                                      calls to look behind the mappings:
                                      kill(pid, 0) for writer_alive and
                                      fstat of the attached objects to
                                      notice one unlinked or truncated
                                      under it (R2.7a); 0 = 500 */
    unsigned heartbeat_timeout_ms; /* heartbeat older than this: writer_alive
                                      = 0 (R2.7b); 0 = 2000 */
    size_t max_size;               /* largest data object accepted (R2.11
                                      "size within bounds"); 0 = INT32_MAX */
    unsigned mode;                 /* mode of a mutex object the reader has
                                      to create (R2.2); 0 = 0600 */
    bool strict;                   /* R2.11 ownership/mode warnings are
                                      errors (SHMCHOP_E_UNSAFE_OBJECT) */
    bool no_seqlock;               /* always copy under the data mutex */
    shmchop_payload payload;       /* what the data object holds; 0 = a
                                      CHOP image */
} shmchop_segment_opts;

/*
 * Make a reader for name N. Checks the name (before any system call) and
 * installs the process's SIGBUS guard (once per process, R2.10). Does not
 * fail when no writer exists: attaching is lazy and retried by every read
 * (R2.5, R2.7a). *out is freed by shmchop_segment_close().
 * Returns 0, SHMCHOP_E_BAD_SHM_NAME, SHMCHOP_E_USAGE or -ENOMEM.
 */
SHMCHOP_API int shmchop_segment_open(const char *name, const shmchop_segment_opts *opts,
                                     shmchop_segment **out, char *err, size_t errlen);

/* Unmap and free (NULL allowed). Never unlinks anything. */
SHMCHOP_API void shmchop_segment_close(shmchop_segment *seg);

/* What one read did; every field is set by every read. */
typedef struct shmchop_segment_status {
    int code;                         /* the read's return value */
    char message[SHMCHOP_MESSAGE_MAX];/* one line when code != 0, else "" */
    unsigned n_warnings;              /* R2.11 findings of an attach in
                                         this read (non-strict) */
    char warning[SHMCHOP_MESSAGE_MAX];/* the first of them, else "" */
    bool attached;                    /* this read (re)attached */
    bool seqlock;                     /* copied under the sequence lock;
                                         false: under the data mutex */
    bool has_ext;                     /* the copy carries ext_magic (a
                                         global payload: the global
                                         magic; seq, pid and heartbeat
                                         are then the header's) */
    uint64_t seq;                     /* the copy's seq (0 without ext) */
    unsigned torn_retries;            /* sequence-lock retries this read */
    double lock_wait_ms;              /* time waited for locks this read */
    int writer_alive;                 /* 1, 0, or -1 unknown (R2.7b) */
    shmchop_crc_span data_crc;        /* a CHOP image's data area, CRC'd a
                                         chunk at a time as it was copied
                                         (len 0 when the header puts it
                                         anywhere but wholly after the
                                         extension block, or for a global
                                         payload): hand it to
                                         shmchop_image_validate() as the
                                         view's known_data_crc */
} shmchop_segment_status;

/*
 * Read the current image (R2.5-R2.10).
 *
 * Attaches when not attached, checks the info object under the info mutex
 * (a changed postfix re-attaches, detach fails with SHMCHOP_E_DETACHED and
 * drops the attachment), then copies the image (the header's `size`
 * bytes, clamped to the object) into buf: with a valid extension block
 * under the sequence lock (bounded retries, then the mutex), otherwise
 * under the data mutex. Nothing is validated but the size; parse the copy
 * with shmchop_image_parse(). The copy out of the mapping is guarded: a
 * segment truncated under the reader fails the read (SEGMENT_GONE), it
 * does not crash the process.
 *
 * buf is the caller's, cap its size; shmchop_segment_capacity() tells
 * how much the current attachment may need. When cap is too small the
 * read returns -ENOBUFS and sets *len to the capacity needed (nothing else
 * changes; call again with a larger buffer).
 *
 * Steady state (attached, nothing changed) makes no system call and no
 * allocation; only every probe_interval_ms a kill(pid, 0) and fstat()s.
 *
 * Returns 0 with *len bytes in buf, or: SHMCHOP_E_NO_WRITER (no info
 * object), SHMCHOP_E_DETACHED, SHMCHOP_E_SEGMENT_GONE (data object
 * missing, truncated or unlinked), SHMCHOP_E_SEGMENT_SHORT (the header's
 * size exceeds the object), SHMCHOP_E_BAD_INFO, SHMCHOP_E_NOT_READY,
 * SHMCHOP_E_LOCK_TIMEOUT (names the holder pid when known),
 * SHMCHOP_E_UNSAFE_OBJECT (strict), SHMCHOP_E_LIMIT (object larger than
 * max_size), SHMCHOP_E_TORN (seq found odd under the mutex: a writer died
 * mid-publish or writes without the lock), -ENOBUFS or -errno. After any
 * failure but -ENOBUFS and LOCK_TIMEOUT the next read attaches from
 * scratch (R2.7a).
 * st may be NULL; the message is also in shmchop_segment_errmsg().
 */
SHMCHOP_API int shmchop_segment_read(shmchop_segment *seg, void *buf, size_t cap, size_t *len,
                                     shmchop_segment_status *st);

/*
 * Like shmchop_segment_read(), into the caller's buffer *buf of *cap bytes
 * (malloc'd or NULL), which it grows with realloc() when the attachment
 * needs more, so steady state allocates nothing. The caller frees it. A
 * reader that keeps two such buffers and reads into the one it is not
 * using gets each frame with one copy and can keep the last good one
 * (libshmchop's reader does). -ENOMEM when growing fails (*buf intact).
 */
SHMCHOP_API int shmchop_segment_read_grow(shmchop_segment *seg, void **buf, size_t *cap,
                                          size_t *len, shmchop_segment_status *st);

/*
 * Whether a read now could bring anything but the frame whose seq is
 * `seq` (shmchop_segment_status.seq of the last read). false only when the
 * segment is attached on the sequence-lock path, its seq in shared memory
 * still equals seq, its info object is unchanged and no liveness probe is
 * due: then a read would copy the frame the caller holds. One guarded load
 * and a clock read; no system call, no lock. true when it cannot tell
 * (not attached, no extension block, no_seqlock): read. For readers that
 * busy-poll (latency_<shape> in shmchop-bench).
 */
SHMCHOP_API bool shmchop_segment_may_have_changed(const shmchop_segment *seg, uint64_t seq);

/*
 * Like shmchop_segment_read(), into a buffer the segment owns. It grows
 * only when an attachment maps a larger object, so steady state allocates
 * nothing. *image stays valid until the next read or close.
 */
SHMCHOP_API int shmchop_segment_read_owned(shmchop_segment *seg, const void **image, size_t *len,
                                           shmchop_segment_status *st);

/* Bytes a read may copy with the current attachment (the data object's
 * size), or 0 when not attached. */
SHMCHOP_API size_t shmchop_segment_capacity(const shmchop_segment *seg);

/* The name N the segment reads. */
SHMCHOP_API const char *shmchop_segment_name(const shmchop_segment *seg);

/* One-line message of the latest failure ("" when the latest read was fine). */
SHMCHOP_API const char *shmchop_segment_errmsg(const shmchop_segment *seg);

/* Counters for the info channels (SPEC 4.7). */
typedef struct shmchop_segment_stats {
    uint64_t reads_total;
    uint64_t reads_failed_total;
    uint64_t torn_retries_total;   /* sequence-lock retries */
    uint64_t seq_fallbacks_total;  /* reads that gave up the sequence lock
                                      and took the mutex */
    uint64_t lock_breaks_total;    /* dead holders broken (R2.3b) */
    uint64_t lock_timeouts_total;
    uint64_t reattach_total;       /* attachments after the first one */
    uint64_t sigbus_total;         /* faults caught in a guarded copy */
    double lock_wait_ms;           /* waited by the latest read */
    double lock_wait_ms_max;
    int writer_alive;              /* 1, 0, -1 (R2.7b) */
    uint32_t writer_pid;           /* from the latest copy's block, else 0 */
    uint64_t seq;                  /* latest copy's seq (ext only) */
    bool attached;
    size_t mapped_size;
    char postfix[SHMCHOP_POSTFIX_SIZE];
    char data_name[SHMCHOP_SHM_OBJ_NAME_SIZE];
} shmchop_segment_stats;

SHMCHOP_API void shmchop_segment_get_stats(const shmchop_segment *seg, shmchop_segment_stats *st);

/* ------------------------------------------------------------------ */
/* Administration: shmchop-in ls / gc                                  */
/* ------------------------------------------------------------------ */

/* State of one shared mutex object. */
typedef struct shmchop_shm_lock_state {
    bool exists;
    uint64_t size;          /* 96: compatible peer's, 128: ours */
    bool ready;             /* initialised (R2.2) */
    bool locked;
    uint32_t holder_pid;    /* 0 unknown (the peer's objects never say) */
    int holder_alive;       /* 1, 0, -1 unknown */
} shmchop_shm_lock_state;

/* What /dev/shm holds for one Shared Mem Name. */
typedef struct shmchop_shm_status {
    char name[SHMCHOP_SHM_NAME_MAX + 1];
    bool info;                 /* info object exists */
    bool info_valid;           /* magic and version right */
    bool supported, detach;
    char postfix[SHMCHOP_POSTFIX_SIZE];
    bool data;                 /* the data object the info names exists */
    uint64_t data_size;
    char data_name[SHMCHOP_SHM_OBJ_NAME_SIZE];
    unsigned stray_data;       /* other TouchSHM+N+<31 letters> objects */
    int writer_alive;          /* 1: held (a writer's OFD lock, or a live
                                  ext pid); 0: detach, dead pid, or nobody
                                  holding it (a peer writer without the
                                  block cannot be told from a dead one) */
    uint32_t writer_pid;       /* from the extension block, 0 unknown */
    shmchop_shm_lock_state data_mutex, info_mutex;
    /* R2.14: a live process other than the caller that maps or holds
     * open one of the name's objects (readers included): 1 (user_pid is
     * the first found), 0 none, -1 cannot tell (not allowed to look). */
    int in_use;
    uint32_t user_pid;
    /* R2.12, R2.13: objects at the name's paths that are not what they
     * should be (another kind of file, another link, another name's
     * object): ls shows them, gc never touches them. */
    unsigned foreign;
    char foreign_why[SHMCHOP_MESSAGE_MAX]; /* the first, naming the object */
} shmchop_shm_status;

/* Examine name N without creating or changing anything. Returns 0 (also
 * when nothing exists), SHMCHOP_E_BAD_SHM_NAME or -errno. */
SHMCHOP_API int shmchop_shm_inspect(const char *name, shmchop_shm_status *st, char *err,
                                    size_t errlen);

/* Call cb once per Shared Mem Name that has any object in /dev/shm (names
 * taken from info and mutex object names), in sorted order. A non-zero
 * return of cb stops the walk and is returned. */
typedef int (*shmchop_shm_list_cb)(const shmchop_shm_status *st, void *arg);
SHMCHOP_API int shmchop_shm_list(shmchop_shm_list_cb cb, void *arg, char *err, size_t errlen);

/*
 * The entry names of the global image (SPEC 3) the data object of st (a
 * shmchop_shm_inspect() or shmchop_shm_list() result) holds now, for ls:
 * cb is called once per entry, in table order, with its name (cut at 63
 * bytes and NUL-terminated). The header and the table are copied with
 * pread inside one sequence-lock pass (seq at 16 even and unchanged, at
 * most 3 tries); no lock is taken and nothing is changed. Returns the
 * number of entries, SHMCHOP_E_NO_WRITER (no data object),
 * SHMCHOP_E_BAD_MAGIC (not a global image: a local segment),
 * SHMCHOP_E_BAD_GLOBAL (a table that does not fit the header or the
 * object), SHMCHOP_E_LIMIT (more entries than SHMCHOP_GLOBAL_MAX_ENTRIES),
 * SHMCHOP_E_TORN (the writer kept writing), a non-zero return of cb, or
 * -errno.
 */
typedef int (*shmchop_shm_entry_cb)(const char *entry, void *arg);
SHMCHOP_API int shmchop_shm_global_entries(const shmchop_shm_status *st,
                                           shmchop_shm_entry_cb cb, void *arg);

/* Called for each object gc removes (or would remove with dry_run). */
typedef void (*shmchop_shm_gc_cb)(const char *object, const char *why, void *arg);

/*
 * Remove what nobody uses for name N: when no live writer holds N, set
 * detach in its info object (so attached readers let go), then unlink its
 * data objects (stray postfixed ones included) and the info object; the
 * mutex objects too when they are not locked by a live holder. A name
 * held by a live writer is left alone (returns 0, removes nothing). An
 * object that any live process maps or holds open, or that is not what
 * its path says (R2.13: another kind of file, a second hard link,
 * another name's object), is never removed (R2.14). *removed (may be
 * NULL) gets the count. Returns 0 or -errno.
 */
SHMCHOP_API int shmchop_shm_gc(const char *name, bool dry_run, shmchop_shm_gc_cb cb, void *arg,
                               unsigned *removed, char *err, size_t errlen);

/*
 * `gc --repair N` (R2.16): re-initialise the condition variable of N's
 * data and info mutex objects -- after a waiter died inside
 * pthread_cond_wait or its bytes were corrupted -- each only when no other
 * live process maps or holds the object (R2.14; nobody can be waiting on
 * it then). *repaired (may be NULL) counts the objects repaired. Returns
 * 0, SHMCHOP_E_NAME_IN_USE with the pid when a process uses one (nothing
 * of that object is touched), or -errno.
 */
SHMCHOP_API int shmchop_shm_repair(const char *name, unsigned *repaired, char *err,
                                   size_t errlen);

/*
 * `gc --break-lock N` (R2.3b): clear `locked` of N's data mutex and info
 * mutex by hand, whoever holds them. *broken (may be NULL) counts the locks
 * that were held. Returns 0, SHMCHOP_E_LOCK_TIMEOUT (the inner mutex itself
 * stayed busy) or -errno.
 */
SHMCHOP_API int shmchop_shm_break_lock(const char *name, unsigned *broken, char *err,
                                       size_t errlen);

/* "a regular file", "a FIFO", "a directory", "a character device", ...:
 * the kind of file an st_mode names, for messages (R2.12, R2.17). */
SHMCHOP_API const char *shmchop_file_kind(unsigned mode);

#ifdef __cplusplus
}
#endif
#endif
