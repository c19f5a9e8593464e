/* SPDX-License-Identifier: MIT */
/* The shared mutex object (SPEC 2.1, R2.1-R2.3c): private interface. */
#ifndef SHMCHOP_SHM_MUTEX_H
#define SHMCHOP_SHM_MUTEX_H

#include <shmchop/segment.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * The object in shared memory. The first three fields are the compatible
 * peer's struct (96 bytes on x86-64 glibc); the rest is this project's
 * (R2.3a), never seen by the peer, which maps only 96 bytes.
 */
struct shmchop__mutex_compat {
    pthread_mutex_t mutex;  /* process-shared; robust when we made it */
    pthread_cond_t cond;    /* process-shared; signalled, never waited on */
    bool locked;            /* "the lock is held" (R2.1) */
};

struct shmchop__mutex_obj {
    struct shmchop__mutex_compat c; /* the peer's 96 bytes, its padding included */
    /* --- 96: this project's fields --- */
    uint32_t holder_pid;    /* who set `locked`; 0 unknown */
    uint32_t pad0;
    uint64_t holder_start;  /* its start time, /proc/<pid>/stat field 22 */
    uint32_t init_magic;    /* SHMCHOP__MUTEX_READY once initialised */
    uint32_t creator_pid;   /* who is initialising it */
    uint8_t reserved[8];
};

/* "SMM1": written last by the creator, release ordering (R2.2). */
#define SHMCHOP__MUTEX_READY 0x314D4D53u

/* A process's handle on one mutex object. */
typedef struct shmchop__mutex {
    struct shmchop__mutex_obj *obj; /* NULL when not open */
    size_t map_size;                /* 96 (the peer's object) or 128 (ours) */
    bool ours;                      /* holder fields present */
    bool held;                      /* this handle set `locked` */
    bool broken;                    /* truncated under us (R2.15): never touched again */
    bool retired;                   /* its mapping replaced by private pages, kept */
    bool cond_abandoned;            /* a signal on cond never returned (R2.16) */
    bool cond_unreported;           /* ... and nobody has been told yet */
    struct stat sb;                 /* the object's identity, for who maps it (R2.14) */
    int fd;                         /* kept open with our marks (shmchop__obj_mark) */
    bool has_fd;
    uint64_t next_user_scan_ns;     /* when to ask /proc again about an unknown holder */
    struct {                        /* the inner mutex as glibc left it when we took it */
        bool held, recorded;
        int kind, owner;
        void *prev, *next;          /* its robust-list words (pointers into our memory) */
    } inner;
    char name[SHMCHOP_SHM_OBJ_NAME_SIZE];
} shmchop__mutex;

/* What a lock wait cost, for the statistics. */
typedef struct shmchop__lock_stats {
    uint64_t breaks;   /* dead holders broken, added to */
    double wait_ms;    /* time spent waiting, set */
} shmchop__lock_stats;

/*
 * Open the mutex object `name`, creating it when missing and create is
 * set (R2.2): O_CREAT|O_EXCL, size, initialise, mark ready. An object
 * still being initialised by somebody else is waited for, up to
 * timeout_ms; one never finished is SHMCHOP_E_NOT_READY. Returns 0,
 * -ENOENT (missing, !create), SHMCHOP_E_NOT_READY, SHMCHOP_E_UNSAFE_OBJECT
 * (a size that is no mutex object) or -errno; message in err.
 */
int shmchop__mutex_open(shmchop__mutex *m, const char *name, bool create, unsigned mode,
                        unsigned timeout_ms, char *err, size_t errlen);

/* Unmap (never unlinks; R2.2: mutex objects stay). Safe on a closed one. */
void shmchop__mutex_close(shmchop__mutex *m);

/*
 * R2.1 lock: wait (polling with back-off, never on `cond`, R2.3c) until
 * `locked` is false, then set it. A holder that is provably dead is broken
 * (R2.3b, counted in ls->breaks). Returns 0, or SHMCHOP_E_LOCK_TIMEOUT
 * after timeout_ms with a message naming the holder pid when known.
 */
int shmchop__mutex_lock(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls,
                        char *err, size_t errlen);

/* R2.1 unlock: `locked` = false, signal `cond`. Returns 0 or a code. */
int shmchop__mutex_unlock(shmchop__mutex *m, char *err, size_t errlen);

/*
 * Fast exclusive access for short reads and writes (the info object):
 * take only the inner `mutex`; if `locked` is false nobody holds the R2.1
 * lock and nobody can take it while we hold `mutex`, so *got = true and
 * the caller owns the guarded object until shmchop__mutex_peek_end().
 * If `locked` is true, *got = false and nothing is held (the caller falls
 * back to shmchop__mutex_lock()). No system call when uncontended.
 */
int shmchop__mutex_peek(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls,
                        bool *got, char *err, size_t errlen);
void shmchop__mutex_peek_end(shmchop__mutex *m);

/* Inspect without taking the lock (ls/gc). */
void shmchop__mutex_state(shmchop__mutex *m, unsigned timeout_ms, shmchop_shm_lock_state *st);

/* Clear `locked` whoever holds it (`gc --break-lock`). *was_locked tells. */
int shmchop__mutex_force_unlock(shmchop__mutex *m, unsigned timeout_ms, bool *was_locked,
                                char *err, size_t errlen);

/*
 * Every operation above runs under the SIGBUS guard (R2.15): a mutex
 * object truncated under us fails it with SHMCHOP_E_SEGMENT_GONE and the
 * handle is broken from then on. Unlock signals `cond` for a compatible
 * peer only when glibc counts a waiter, after the inner mutex is released,
 * bounded (R2.16): a signal that does not return within 100 ms is
 * abandoned and never tried again on this handle.
 */

/* Once per abandoned signal: true with the one-line report in msg. */
bool shmchop__mutex_cond_report(shmchop__mutex *m, char *msg, size_t msglen);

/* `gc --repair`: re-initialise cond. The caller makes sure no other
 * process maps the object. 0 or SHMCHOP_E_SEGMENT_GONE. */
int shmchop__mutex_repair_cond(shmchop__mutex *m, char *err, size_t errlen);

#endif
