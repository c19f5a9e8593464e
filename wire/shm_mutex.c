/* SPDX-License-Identifier: MIT */
/* The shared mutex object: create/open race, bounded R2.1 lock, dead-holder repair (R2.1-R2.3c). */
#include "shm_mutex.h"

#include "cond_signal.h"
#include "shm_access.h"
#include "shm_object.h"
#include "shm_util.h"
#include "sigbus_guard.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The layout is part of the contract with the compatible peer (SPEC 2.1). */
#if defined(__x86_64__) && defined(__GLIBC__)
_Static_assert(offsetof(struct shmchop__mutex_obj, c.cond) == 40, "cond at 40 (SPEC 2.1)");
_Static_assert(offsetof(struct shmchop__mutex_obj, c.locked) == 88, "locked at 88 (SPEC 2.1)");
_Static_assert(sizeof(struct shmchop__mutex_compat) == SHMCHOP_SHM_MUTEX_COMPAT_SIZE,
               "the peer's struct is 96 bytes (SPEC 2.1)");
_Static_assert(offsetof(struct shmchop__mutex_obj, holder_pid) == SHMCHOP_SHM_MUTEX_COMPAT_SIZE,
               "holder pid at 96 (R2.3a)");
_Static_assert(offsetof(struct shmchop__mutex_obj, holder_start) == 104,
               "holder start time at 104 (R2.3a)");
_Static_assert(sizeof(struct shmchop__mutex_obj) == SHMCHOP_SHM_MUTEX_SIZE, "128 bytes (R2.3a)");
#endif

/*
 * How a half-made object is told from a ready one (R2.2).
 *
 * The creator opens with O_CREAT|O_EXCL, so exactly one process creates.
 * Until it has called ftruncate() the object has size 0; after that it
 * reads as zeros until pthread_mutex_init()/pthread_cond_init() are done.
 * For our 128-byte objects the creator writes `init_magic` last, with a
 * release store, and openers acquire-load it: seeing the magic guarantees
 * seeing the initialised mutex and cond. An opener waits (bounded) while
 * the size is 0 or the magic is missing; `creator_pid`, written before the
 * initialisation, lets it give up at once when the creator died half-way.
 *
 * The compatible peer's 96-byte objects carry no marker: a sized one is
 * assumed initialised. The peer's own window (between its ftruncate and
 * its pthread_mutex_init) cannot be detected; it is short and only exists
 * when the peer creates the object, which it does at its own start.
 */

/*
 * Waiting for a held lock (R2.3c: poll, never sleep on cond). Most holds
 * are one image copy, microseconds long: the first tries only yield the
 * CPU, so the holder can finish (on 2 cores it often shares ours), and a
 * colliding publish is not delayed by a timer sleep, whose slack alone is
 * 50 us or more. Longer holds fall back to sleeps of 20 us doubling to
 * 1 ms. Whether the holder died is first asked after FIRST_LIVENESS_NS,
 * because that costs a /proc read and a kill().
 */
#define YIELD_TRIES 64
#define FIRST_LIVENESS_NS 1000000u

/* A back-off step: 20 us doubling to 1 ms. */
static uint64_t backoff_next(uint64_t step)
{
    return step >= 500000u ? 1000000u : step * 2;
}

/*
 * `locked` and the holder fields, through shm_access.h. Every access is
 * made holding the inner mutex, which orders them: relaxed accessors.
 */
static bool locked_get(const struct shmchop__mutex_obj *o)
{
    return shmchop__shm_load_bool(&o->c.locked);
}

static void locked_set(struct shmchop__mutex_obj *o, bool v)
{
    shmchop__shm_store_bool(&o->c.locked, v);
}

static void holder_get(const struct shmchop__mutex_obj *o, uint32_t *pid, uint64_t *start)
{
    *pid = shmchop__shm_load_u32(&o->holder_pid);
    *start = shmchop__shm_load_u64(&o->holder_start);
}

static void holder_set(struct shmchop__mutex_obj *o, uint32_t pid, uint64_t start)
{
    shmchop__shm_store_u32(&o->holder_pid, pid);
    shmchop__shm_store_u64(&o->holder_start, start);
}

static void mutex_init_obj(struct shmchop__mutex_obj *o)
{
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;

    shmchop__shm_store_u32(&o->creator_pid, shmchop__self_pid());
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&o->c.mutex, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&o->c.cond, &ca);
    pthread_condattr_destroy(&ca);
    locked_set(o, false);
    holder_set(o, 0, 0);
    /* Release: whoever acquires the magic sees the initialised object. */
    shmchop__shm_store_u32_release(&o->init_magic, SHMCHOP__MUTEX_READY);
}

static void init_fn(void *arg)
{
    mutex_init_obj(arg);
}

/* We won the O_EXCL race (the object is created and reserved, R2.15):
 * map and initialise; on failure unlink what we made, so nobody waits
 * for it. */
static int create_obj(shmchop__mutex *m, int fd, char *err, size_t errlen)
{
    void *p = mmap(NULL, SHMCHOP_SHM_MUTEX_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    if (p == MAP_FAILED) {
        int e = -errno;
        shm_unlink(m->name);
        shmchop__errf(err, errlen, "%s: cannot map: %s", m->name, strerror(-e));
        return e;
    }
    m->obj = p;
    m->map_size = SHMCHOP_SHM_MUTEX_SIZE;
    m->ours = true;
    if (shmchop__guarded(p, SHMCHOP_SHM_MUTEX_SIZE, init_fn, p) != 0) {
        shmchop__errf(err, errlen, "%s: truncated while being initialised", m->name);
        munmap(p, SHMCHOP_SHM_MUTEX_SIZE);
        m->obj = NULL;
        return SHMCHOP_E_SEGMENT_GONE;
    }
    return 0;
}

/* The ready mark, read under the SIGBUS guard (R2.15): an object
 * truncated while we wait for it is an error, not a crash. */
struct ready_ctx {
    struct shmchop__mutex_obj *o;
    bool ready, faulted;
    uint32_t creator;
};

static void ready_fn(void *arg)
{
    struct ready_ctx *c = arg;

    c->ready = shmchop__shm_load_u32_acquire(&c->o->init_magic) == SHMCHOP__MUTEX_READY;
    c->creator = shmchop__shm_load_u32(&c->o->creator_pid);
}

static int read_ready(shmchop__mutex *m, struct ready_ctx *c)
{
    if (shmchop__guarded(m->obj, m->map_size, ready_fn, c) != 0) {
        c->faulted = true;
        c->ready = false;
        return -1;
    }
    return 0;
}

/* Somebody else created it: wait (bounded) until it is sized and ready. */
static int attach_obj(shmchop__mutex *m, int fd, uint64_t deadline, char *err, size_t errlen)
{
    uint64_t step = 20000;
    struct stat sb;

    for (;;) {
        if (fstat(fd, &sb) != 0)
            return -errno;
        if (sb.st_size != 0)
            break;
        if (shmchop__now_ns() >= deadline) {
            shmchop__errf(err, errlen, "%s: still has size 0 (being created?)", m->name);
            return SHMCHOP_E_NOT_READY;
        }
        shmchop__sleep_ns(step);
        step = backoff_next(step);
    }
    /* Identity by content (R2.13): another name's data object of 4 KiB at
     * this path is never mapped and locked as a mutex. */
    int rc = shmchop__obj_identify(fd, &sb, SHMCHOP__OBJ_MUTEX, m->name, err, errlen);
    if (rc != 0)
        return rc;
    m->sb = sb;
    m->ours = sb.st_size == SHMCHOP_SHM_MUTEX_SIZE;
    m->map_size = m->ours ? SHMCHOP_SHM_MUTEX_SIZE : SHMCHOP_SHM_MUTEX_COMPAT_SIZE;
    void *p = mmap(NULL, m->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    m->obj = p;
    if (!m->ours)
        return 0;
    struct ready_ctx rc_ = { .o = m->obj };
    while (read_ready(m, &rc_) == 0 && !rc_.ready) {
        uint32_t creator = rc_.creator;
        /* The creator may have finished and exited since the load above:
         * only a dead creator AND a still missing magic mean half-made. */
        if (creator != 0 && shmchop__pid_alive(creator, 0) == 0 && read_ready(m, &rc_) == 0 &&
            !rc_.ready) {
            shmchop__errf(err, errlen, "%s: left half-made by dead pid %u (gc removes it)",
                          m->name, creator);
            goto not_ready;
        }
        if (shmchop__now_ns() >= deadline) {
            shmchop__errf(err, errlen, "%s: not initialised after waiting", m->name);
            goto not_ready;
        }
        shmchop__sleep_ns(step);
        step = backoff_next(step);
    }
    if (rc_.faulted) {
        shmchop__errf(err, errlen, "%s: truncated while being opened", m->name);
        goto not_ready;
    }
    return 0;
not_ready:
    munmap(m->obj, m->map_size);
    m->obj = NULL;
    return SHMCHOP_E_NOT_READY;
}

/*
 * A mutex object that can never become one -- cut below 96 bytes, or
 * left half-made -- and that no other live process maps or holds open
 * (R2.14) is a wreck (R2.2: gc would remove it): a creator unlinks it and
 * makes it anew rather than fail the name for good. Anything that carries
 * another object's magic is never touched (R2.13).
 */
static bool replaceable(int rc, int fd, const char *name)
{
    struct stat sb;
    uint32_t magic = 0;

    if ((rc != SHMCHOP_E_NOT_READY && rc != SHMCHOP_E_UNSAFE_OBJECT) || fstat(fd, &sb) != 0)
        return false;
    if (rc == SHMCHOP_E_UNSAFE_OBJECT) {
        if (sb.st_size >= SHMCHOP_SHM_MUTEX_COMPAT_SIZE)
            return false; /* a data or info object at this path: another name's */
        if (sb.st_size >= 4 && pread(fd, &magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
            magic != 0)
            return false;
    }
    if (shmchop__obj_in_use(&sb, false, NULL) != 0)
        return false;
    return shmchop__obj_unlink_own(name, fd) == 0;
}

/* The descriptor stays open with this process's "one of ours maps it"
 * mark (R2.14: how an unknown holder is told dead), closed on failure. */
static int keep_fd(shmchop__mutex *m, int fd, int rc)
{
    if (rc != 0) {
        close(fd);
        return rc;
    }
    m->fd = fd;
    m->has_fd = true;
    shmchop__obj_mark(fd, false, true);
    return 0;
}

int shmchop__mutex_open(shmchop__mutex *m, const char *name, bool create, unsigned mode,
                        unsigned timeout_ms, char *err, size_t errlen)
{
    uint64_t deadline;
    int rc = -ENOENT;

    memset(m, 0, sizeof(*m));
    m->fd = -1;
    snprintf(m->name, sizeof(m->name), "%s", name);
    if (mode == 0)
        mode = SHMCHOP__DEFAULT_MODE;
    if (timeout_ms == 0)
        timeout_ms = SHMCHOP__LOCK_TIMEOUT_MS;
    deadline = shmchop__now_ns() + (uint64_t)timeout_ms * 1000000u;
    /* Create-or-open can race with another creator and with gc; a few
     * rounds settle it. */
    if ((rc = shmchop__sigbus_install()) != 0) {
        shmchop__errf(err, errlen, "cannot install the SIGBUS handler: %s", strerror(-rc));
        return rc;
    }
    for (int round = 0; round < 8; round++) {
        struct stat sb;
        int fd;
        if (create) {
            rc = shmchop__obj_create(name, mode, SHMCHOP_SHM_MUTEX_SIZE, &fd, err, errlen);
            if (rc == 0) {
                if (fstat(fd, &m->sb) != 0)
                    memset(&m->sb, 0, sizeof(m->sb));
                rc = create_obj(m, fd, err, errlen);
                return keep_fd(m, fd, rc);
            }
            if (rc != -EEXIST)
                return rc;
        }
        /* Kind before use (R2.12): a FIFO here fails at once. */
        rc = shmchop__obj_open(name, O_RDWR, &fd, &sb, err, errlen);
        if (rc == -ENOENT && create)
            continue; /* unlinked between our two opens: create it */
        if (rc != 0)
            return rc;
        rc = attach_obj(m, fd, deadline, err, errlen);
        if (create && replaceable(rc, fd, name)) {
            close(fd);
            continue; /* a wreck nobody uses: made anew */
        }
        return keep_fd(m, fd, rc);
    }
    shmchop__errf(err, errlen, "%s: keeps vanishing while being opened", name);
    return rc;
}

void shmchop__mutex_close(shmchop__mutex *m)
{
    /* A signal abandoned inside glibc may still touch the cond (R2.16):
     * that mapping stays, 128 bytes per broken object for the process's
     * life, rather than a fault in a thread nobody guards. */
    if (m->obj && !m->cond_abandoned && !m->retired)
        munmap(m->obj, m->map_size);
    /* has_fd, not fd >= 0: a zeroed handle never opened has fd 0. */
    if (m->has_fd)
        close(m->fd);
    m->has_fd = false;
    m->fd = -1;
    m->obj = NULL;
    m->held = false;
}

/* Clear `locked` after a dead owner of the inner mutex (EOWNERDEAD), when
 * its recorded holder is dead, then make the mutex consistent (R2.3a). */
static void repair_owner_dead(shmchop__mutex *m, shmchop__lock_stats *ls)
{
    struct shmchop__mutex_obj *o = m->obj;
    uint32_t pid = 0;
    uint64_t start = 0;

    /* The holder fields exist only in our 128-byte objects. */
    if (locked_get(o) && m->ours)
        holder_get(o, &pid, &start);
    if (pid != 0 && shmchop__pid_alive(pid, start) == 0) {
        locked_set(o, false);
        holder_set(o, 0, 0);
        if (ls)
            ls->breaks++;
    }
    pthread_mutex_consistent(&o->c.mutex);
}

/*
 * A compatible peer's inner mutex is not robust: a peer killed while it
 * holds it (in its lock, its unlock, or waking from pthread_cond_wait)
 * leaves it held for good. glibc records the owner's thread id in every
 * mutex (__owner); when that thread is gone (R2.3b: provably dead; one
 * pid namespace assumed), the mutex is re-initialised and its sleepers
 * woken, so they retry on a free mutex. Our own objects are robust and
 * repaired through EOWNERDEAD instead.
 */
static bool inner_owner_dead(const shmchop__mutex *m)
{
#ifdef __GLIBC__
    int owner = __atomic_load_n(&m->obj->c.mutex.__data.__owner, __ATOMIC_RELAXED);
    return !m->ours && owner > 0 && shmchop__pid_alive((uint32_t)owner, 0) == 0;
#else
    (void)m;
    return false;
#endif
}

static void inner_reinit(shmchop__mutex *m, shmchop__lock_stats *ls)
{
    pthread_mutexattr_t ma;

    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&m->obj->c.mutex, &ma);
    pthread_mutexattr_destroy(&ma);
#ifdef __GLIBC__
    /* Whoever sleeps on the old lock word wakes up and finds it free. */
    syscall(SYS_futex, &m->obj->c.mutex.__data.__lock, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
#endif
    if (ls)
        ls->breaks++;
}

/* Waits on a busy inner mutex are cut into slices: a wake-up lost to a
 * holder killed between its unlock and its wake (the word reads free, the
 * sleepers sleep on), or an owner that died meanwhile, is noticed within
 * one slice rather than at the deadline. */
#define INNER_SLICE_NS 10000000u

/* pthread_mutex_timedlock, not clocklock: race detectors (gcc 12's TSan
 * among them) do not know clocklock, and would see its lock as never
 * taken. A realtime jump can only stretch or cut one slice. */
static struct timespec realtime_after(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t = (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec += (time_t)(t / 1000000000u);
    ts.tv_nsec = (long)(t % 1000000000u);
    return ts;
}

static int inner_wait(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls)
{
    uint64_t now = shmchop__now_ns(), deadline = now + (uint64_t)timeout_ms * 1000000u;
    int rc = EBUSY;

    while (rc == EBUSY || rc == ETIMEDOUT) {
        uint64_t slice = deadline - now < INNER_SLICE_NS ? deadline - now : INNER_SLICE_NS;
        struct timespec end = realtime_after(slice); /* the deadline itself is monotonic */
        rc = pthread_mutex_timedlock(&m->obj->c.mutex, &end);
        if (rc != ETIMEDOUT || (now = shmchop__now_ns()) >= deadline)
            break;
        if (inner_owner_dead(m))
            inner_reinit(m, ls);
        rc = pthread_mutex_trylock(&m->obj->c.mutex);
    }
    return rc;
}

/*
 * A robust mutex sits on its holder thread's robust list, a list glibc
 * links through the mutexes themselves (their __list words) and follows
 * at unlock. For an object in shared memory those words can be rewritten
 * by anybody who can write the object: truncated and extended (zeros),
 * or re-initialised by a process that took the zeros for a fresh object.
 * glibc would then write through a null or foreign pointer and the
 * process would die (R2.15). So the words are recorded when the mutex is
 * taken, compared before it is released, and a handle whose mutex
 * changed is retired with our robust list mended from the record: the
 * neighbours the record points at are this thread's own memory. Only
 * one inner mutex is held per thread at a time, and no foreign code
 * runs while it is, so nothing else can legitimately change the words.
 */
#define GLIBC_KIND_ROBUST 16 /* glibc's PTHREAD_MUTEX_ROBUST_NORMAL_NP bit of __kind */

static void inner_record(shmchop__mutex *m)
{
    m->inner.held = true;
    m->inner.recorded = false;
#ifdef __GLIBC__
    const struct __pthread_mutex_s *d = &m->obj->c.mutex.__data;
    m->inner.kind = __atomic_load_n(&d->__kind, __ATOMIC_RELAXED);
    m->inner.owner = __atomic_load_n(&d->__owner, __ATOMIC_RELAXED);
    m->inner.prev = __atomic_load_n(&d->__list.__prev, __ATOMIC_RELAXED);
    m->inner.next = __atomic_load_n(&d->__list.__next, __ATOMIC_RELAXED);
    m->inner.recorded = true;
#endif
}

static bool inner_intact(const shmchop__mutex *m)
{
#ifdef __GLIBC__
    const struct __pthread_mutex_s *d = &m->obj->c.mutex.__data;
    if (!m->inner.recorded)
        return true;
    return __atomic_load_n(&d->__kind, __ATOMIC_RELAXED) == m->inner.kind &&
           __atomic_load_n(&d->__owner, __ATOMIC_RELAXED) == m->inner.owner &&
           __atomic_load_n(&d->__list.__prev, __ATOMIC_RELAXED) == m->inner.prev &&
           __atomic_load_n(&d->__list.__next, __ATOMIC_RELAXED) == m->inner.next;
#else
    (void)m;
    return true;
#endif
}

/* After a fault or a rewrite while we held a robust inner mutex: take
 * its entry off our robust list as glibc's unlock would have, from the
 * recorded words, never from the object. The lock word is left alone. */
static void inner_unlink(shmchop__mutex *m)
{
#if defined(__GLIBC__) && __PTHREAD_MUTEX_HAVE_PREV
    if (m->inner.held && m->inner.recorded && m->inner.next && m->inner.prev &&
        (m->inner.kind & GLIBC_KIND_ROBUST)) {
        /* The words point at the neighbours' __next fields; __prev is
         * the word before (glibc's QUEUE_PTR_ADJUST). */
        void **next = (void **)((uintptr_t)m->inner.next & ~(uintptr_t)1);
        void **prev = (void **)((uintptr_t)m->inner.prev & ~(uintptr_t)1);
        next[-1] = m->inner.prev;
        *prev = m->inner.next;
    }
#endif
    m->inner.held = false;
    m->inner.recorded = false;
}

/* Take the inner mutex, bounded by timeout_ms. The uncontended case is
 * one trylock: no system call, not even a clock read. */
static int inner_lock(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls, char *err,
                      size_t errlen)
{
    int rc = pthread_mutex_trylock(&m->obj->c.mutex);

    if (rc == EBUSY && inner_owner_dead(m)) {
        inner_reinit(m, ls);
        rc = pthread_mutex_trylock(&m->obj->c.mutex);
    }
    if (rc == EBUSY)
        rc = inner_wait(m, timeout_ms, ls);
    if (rc == EOWNERDEAD) {
        m->inner.held = true; /* on our list already; recorded once consistent */
        repair_owner_dead(m, ls);
        rc = 0;
    }
    if (rc == 0) {
        inner_record(m);
        return 0;
    }
    if (rc == ETIMEDOUT) {
        shmchop__errf(err, errlen, "%s: inner mutex stayed busy for %u ms (holder stopped?)",
                      m->name, timeout_ms);
        return SHMCHOP_E_LOCK_TIMEOUT;
    }
    shmchop__errf(err, errlen, "%s: pthread mutex failed: %s", m->name, strerror(rc));
    return -rc;
}

static void inner_unlock(shmchop__mutex *m)
{
    if (!inner_intact(m))
        shmchop__guard_abandon(); /* as if truncated: the handle is retired */
    /* glibc now follows the words we just checked; a rewrite in between
     * faults into the guard instead of killing us. */
    shmchop__guard_segv_window(true);
    pthread_mutex_unlock(&m->obj->c.mutex);
    shmchop__guard_segv_window(false);
    m->inner.held = false;
}

static void set_held(shmchop__mutex *m)
{
    struct shmchop__mutex_obj *o = m->obj;

    /* Holder first, then `locked`: a crash in between leaves the lock
     * free with stale holder fields, which the next locker overwrites. */
    if (m->ours)
        holder_set(o, shmchop__self_pid(), shmchop__self_start());
    else
        shmchop__obj_mark(m->has_fd ? m->fd : -1, true, true); /* before `locked`, cleared after */
    locked_set(o, true);
    m->held = true;
}

/* Under the inner mutex: break a `locked` whose holder is still the one
 * found dead outside it. Returns true when the lock is now ours. */
static bool break_if_same(shmchop__mutex *m, uint32_t pid, uint64_t start)
{
    struct shmchop__mutex_obj *o = m->obj;
    uint32_t now_pid;
    uint64_t now_start;

    if (!locked_get(o))
        return false;
    holder_get(o, &now_pid, &now_start);
    if (now_pid != pid || now_start != start)
        return false;
    set_held(m);
    return true;
}

/* How often a waiter asks whether the holder is alive (system calls). */
#define LIVENESS_PERIOD_NS 10000000u

/* One look at `locked` under the inner mutex: 0 taken, 1 held by *pid
 * (0 unknown) with start time *start, or an error. */
static int try_take(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls,
                    uint32_t *pid, uint64_t *start, char *err, size_t errlen)
{
    int rc = inner_lock(m, timeout_ms, ls, err, errlen);

    if (rc != 0)
        return rc;
    if (!locked_get(m->obj)) {
        set_held(m);
        inner_unlock(m);
        return 0;
    }
    *pid = 0;
    *start = 0;
    if (m->ours)
        holder_get(m->obj, pid, start);
    inner_unlock(m);
    return 1;
}

/*
 * R2.14, R2.3b: the holder of a compatible peer's 96-byte object is never
 * recorded. It is dead when every live process but us that maps the
 * object is one of ours and none of them holds it (their OFD marks,
 * shmchop__obj_mark): then nobody can clear `locked` but a lock breaker.
 * The scan reads all of /proc, so it is made at most every 100 ms.
 */
static bool holder_unknown_dead(shmchop__mutex *m)
{
    uint64_t now = shmchop__now_ns();

    if (m->sb.st_nlink == 0 || now < m->next_user_scan_ns)
        return false;
    m->next_user_scan_ns = now + 100000000u;
    return shmchop__obj_unknown_holder_dead(&m->sb) == 1;
}

/* Liveness costs system calls: asked outside the inner mutex; then, under
 * it, the lock is broken only if the same holder still has it (R2.3b).
 * Returns 0 when the lock is now ours, 1 when not, or an error. */
static int break_if_dead(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls,
                         uint32_t pid, uint64_t start, char *err, size_t errlen)
{
    int rc;

    if (pid == 0 ? !holder_unknown_dead(m) : shmchop__pid_alive(pid, start) != 0)
        return 1;
    if ((rc = inner_lock(m, timeout_ms, ls, err, errlen)) != 0)
        return rc;
    bool broke = break_if_same(m, pid, start);
    inner_unlock(m);
    if (!broke)
        return 1;
    if (ls)
        ls->breaks++;
    return 0;
}

static int lock_body(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls, char *err,
                     size_t errlen)
{
    uint64_t t0 = 0, deadline = 0, next_check = 0, step = 20000;
    unsigned yields = 0;
    uint32_t pid = 0;
    uint64_t start = 0;
    int rc;

    if (ls)
        ls->wait_ms = 0;
    if (timeout_ms == 0)
        timeout_ms = SHMCHOP__LOCK_TIMEOUT_MS;
    /* The fast path is one trylock and two plain stores: the clock is
     * only read once a wait begins. */
    while ((rc = try_take(m, timeout_ms, ls, &pid, &start, err, errlen)) == 1) {
        uint64_t now = shmchop__now_ns();
        if (t0 == 0) {
            t0 = now;
            deadline = now + (uint64_t)timeout_ms * 1000000u;
            next_check = now + FIRST_LIVENESS_NS;
        }
        if (now >= next_check) {
            next_check = now + LIVENESS_PERIOD_NS;
            if ((rc = break_if_dead(m, timeout_ms, ls, pid, start, err, errlen)) != 1)
                break;
        }
        if (now >= deadline) {
            if (pid != 0)
                shmchop__errf(err, errlen, "%s: lock held by pid %u for more than %u ms", m->name,
                              pid, timeout_ms);
            else
                shmchop__errf(err, errlen, "%s: lock held by an unknown holder for more than %u ms",
                              m->name, timeout_ms);
            rc = SHMCHOP_E_LOCK_TIMEOUT;
            break;
        }
        if (yields < YIELD_TRIES) {
            yields++;
            sched_yield();
            continue;
        }
        shmchop__sleep_ns(step);
        step = backoff_next(step);
    }
    if (ls && t0 != 0)
        ls->wait_ms = (double)(shmchop__now_ns() - t0) / 1e6;
    return rc;
}

/* R2.1 unlock under the inner mutex; the signal for a compatible peer
 * is the caller's, after the inner mutex is released (R2.16: a signal
 * that never returns must hold nothing). */
static int unlock_body(shmchop__mutex *m, bool *waiters, char *err, size_t errlen)
{
    struct shmchop__mutex_obj *o = m->obj;
    int rc = inner_lock(m, SHMCHOP__LOCK_TIMEOUT_MS, NULL, err, errlen);

    if (rc != 0)
        return rc;
    /* If `gc --break-lock` took the lock from us meanwhile, it is not ours
     * to clear any more. The peer's objects cannot tell: clear it. */
    if (!m->ours || shmchop__shm_load_u32(&o->holder_pid) == shmchop__self_pid()) {
        locked_set(o, false);
        if (m->ours)
            holder_set(o, 0, 0);
    }
    inner_unlock(m);
    if (!m->ours && m->has_fd)
        shmchop__obj_mark(m->fd, true, false);
    *waiters = shmchop__cond_has_waiters(&o->c.cond);
    return 0;
}

static int peek_body(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls, bool *got,
                     char *err, size_t errlen)
{
    int rc;

    *got = false;
    if (timeout_ms == 0)
        timeout_ms = SHMCHOP__LOCK_TIMEOUT_MS;
    rc = inner_lock(m, timeout_ms, ls, err, errlen);
    if (rc != 0)
        return rc;
    if (locked_get(m->obj)) {
        inner_unlock(m);
        return 0;
    }
    *got = true;
    return 0;
}

static void state_body(shmchop__mutex *m, unsigned timeout_ms, shmchop_shm_lock_state *st,
                       uint64_t *start)
{
    if (inner_lock(m, timeout_ms ? timeout_ms : 100, NULL, NULL, 0) != 0) {
        st->locked = true; /* the inner mutex is stuck: report as held */
        return;
    }
    st->locked = locked_get(m->obj);
    if (m->ours && st->locked)
        holder_get(m->obj, &st->holder_pid, start);
    inner_unlock(m);
}

static int force_unlock_body(shmchop__mutex *m, unsigned timeout_ms, bool *was_locked,
                             bool *waiters, char *err, size_t errlen)
{
    int rc = inner_lock(m, timeout_ms ? timeout_ms : SHMCHOP__LOCK_TIMEOUT_MS, NULL, err, errlen);

    if (rc != 0)
        return rc;
    *was_locked = locked_get(m->obj);
    locked_set(m->obj, false);
    if (m->ours)
        holder_set(m->obj, 0, 0);
    inner_unlock(m);
    *waiters = shmchop__cond_has_waiters(&m->obj->c.cond);
    return 0;
}

/* ---- every operation guarded (R2.15) ------------------------------------ */

/*
 * Whoever may truncate a mutex object (its owner; anybody, for a 0666
 * one) must not be able to kill us with it: every operation runs under
 * the SIGBUS guard, and a fault fails it with SHMCHOP_E_SEGMENT_GONE and
 * marks the handle broken (never touched again; the owner re-opens).
 * The guard's rule "take no lock inside" is bent for the inner mutex,
 * and this is why that is safe: the 96 or 128 bytes lie in one page, so
 * a truncated object faults on the first access, before anything is
 * taken; a truncation or a rewrite while we hold the inner mutex is
 * mended on our robust list from the words recorded at lock time (see
 * inner_record), and the kernel's walk at thread exit is fault-safe.
 */
enum mutex_op { OP_LOCK, OP_UNLOCK, OP_PEEK, OP_PEEK_END, OP_STATE, OP_FORCE_UNLOCK };

struct op_ctx {
    enum mutex_op op;
    shmchop__mutex *m;
    unsigned timeout_ms;
    shmchop__lock_stats *ls;
    bool *flag;                 /* peek: got; force_unlock: was_locked */
    bool waiters;               /* unlock, force_unlock: a peer waits on cond */
    shmchop_shm_lock_state *st;
    uint64_t start;
    char *err;
    size_t errlen;
    int rc;
};

static void op_run(void *arg)
{
    struct op_ctx *c = arg;

    switch (c->op) {
    case OP_LOCK: c->rc = lock_body(c->m, c->timeout_ms, c->ls, c->err, c->errlen); break;
    case OP_UNLOCK: c->rc = unlock_body(c->m, &c->waiters, c->err, c->errlen); break;
    case OP_PEEK: c->rc = peek_body(c->m, c->timeout_ms, c->ls, c->flag, c->err, c->errlen); break;
    case OP_PEEK_END: inner_unlock(c->m); break;
    case OP_STATE: state_body(c->m, c->timeout_ms, c->st, &c->start); break;
    case OP_FORCE_UNLOCK:
        c->rc = force_unlock_body(c->m, c->timeout_ms, c->flag, &c->waiters, c->err, c->errlen);
        break;
    }
}

/*
 * After a fault the inner mutex may still sit on this thread's robust
 * list (we may have held it), and glibc writes into the list's head entry
 * whenever it takes another robust mutex: left as it is, the truncated
 * page would fault there, outside any guard. So the broken mapping is
 * replaced, at the same address, by private zero pages: the stale entry
 * stays valid memory for glibc and for the kernel's walk at thread exit,
 * and is never unmapped (shmchop__mutex_close keeps it).
 */
static void retire_mapping(shmchop__mutex *m)
{
    if (mmap(m->obj, m->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0) == MAP_FAILED)
        return; /* the old mapping stays; nothing better to do */
    m->retired = true;
}

static int guarded_op(struct op_ctx *c)
{
    shmchop__mutex *m = c->m;

    if (!m->obj || m->broken) {
        shmchop__errf(c->err, c->errlen, "%s: mutex object was truncated under us", m->name);
        return SHMCHOP_E_SEGMENT_GONE;
    }
    if (shmchop__guarded(m->obj, m->map_size, op_run, c) != 0) {
        inner_unlink(m);
        retire_mapping(m);
        m->broken = true;
        m->held = false;
        shmchop__errf(c->err, c->errlen, "%s: mutex object was truncated or rewritten under us",
                      m->name);
        return SHMCHOP_E_SEGMENT_GONE;
    }
    return c->rc;
}

/* R2.16: wake a compatible peer sleeping on cond, never waiting long. */
static void signal_peer(shmchop__mutex *m, bool waiters)
{
    if (!waiters || m->cond_abandoned)
        return;
    if (shmchop__cond_signal_bounded(&m->obj->c.cond, SHMCHOP__COND_SIGNAL_TIMEOUT_MS) == 0)
        return;
    m->cond_abandoned = true;
    m->cond_unreported = true;
}

int shmchop__mutex_lock(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls,
                        char *err, size_t errlen)
{
    struct op_ctx c = { .op = OP_LOCK, .m = m, .timeout_ms = timeout_ms, .ls = ls, .err = err,
                        .errlen = errlen };
    return guarded_op(&c);
}

int shmchop__mutex_unlock(shmchop__mutex *m, char *err, size_t errlen)
{
    struct op_ctx c = { .op = OP_UNLOCK, .m = m, .err = err, .errlen = errlen };
    int rc;

    if (!m->held)
        return 0;
    m->held = false;
    rc = guarded_op(&c);
    if (rc == 0)
        signal_peer(m, c.waiters);
    return rc;
}

int shmchop__mutex_peek(shmchop__mutex *m, unsigned timeout_ms, shmchop__lock_stats *ls,
                        bool *got, char *err, size_t errlen)
{
    struct op_ctx c = { .op = OP_PEEK, .m = m, .timeout_ms = timeout_ms, .ls = ls, .flag = got,
                        .err = err, .errlen = errlen };
    *got = false;
    return guarded_op(&c);
}

void shmchop__mutex_peek_end(shmchop__mutex *m)
{
    struct op_ctx c = { .op = OP_PEEK_END, .m = m };
    guarded_op(&c);
}

void shmchop__mutex_state(shmchop__mutex *m, unsigned timeout_ms, shmchop_shm_lock_state *st)
{
    struct op_ctx c = { .op = OP_STATE, .m = m, .timeout_ms = timeout_ms, .st = st };

    memset(st, 0, sizeof(*st));
    if (!m->obj)
        return;
    st->exists = true;
    st->size = m->map_size;
    st->ready = true;
    st->holder_alive = -1;
    if (guarded_op(&c) != 0) {
        st->locked = true; /* cannot look: report as held */
        return;
    }
    if (st->holder_pid != 0)
        st->holder_alive = shmchop__pid_alive(st->holder_pid, c.start);
}

int shmchop__mutex_force_unlock(shmchop__mutex *m, unsigned timeout_ms, bool *was_locked,
                                char *err, size_t errlen)
{
    struct op_ctx c = { .op = OP_FORCE_UNLOCK, .m = m, .timeout_ms = timeout_ms,
                        .flag = was_locked, .err = err, .errlen = errlen };
    int rc;

    *was_locked = false;
    rc = guarded_op(&c);
    if (rc == 0)
        signal_peer(m, c.waiters);
    return rc;
}

bool shmchop__mutex_cond_report(shmchop__mutex *m, char *msg, size_t msglen)
{
    if (!m->cond_unreported)
        return false;
    m->cond_unreported = false;
    shmchop__errf(msg, msglen,
                  "%s: pthread_cond_signal did not return within %u ms: a waiter died inside "
                  "pthread_cond_wait or the condition variable is corrupt (glibc bug 21422); "
                  "not signalled again (gc --repair %s when nobody maps it)",
                  m->name, SHMCHOP__COND_SIGNAL_TIMEOUT_MS, m->name);
    return true;
}

static void cond_init_fn(void *arg)
{
    pthread_cond_t *cond = arg;
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

int shmchop__mutex_repair_cond(shmchop__mutex *m, char *err, size_t errlen)
{
    /* The caller has made sure no other process maps the object (R2.16):
     * nobody waits on it, so re-initialising strands no waiter. */
    if (!m->obj || m->broken ||
        shmchop__guarded(m->obj, m->map_size, cond_init_fn, &m->obj->c.cond) != 0) {
        m->broken = m->obj != NULL;
        shmchop__errf(err, errlen, "%s: mutex object was truncated under us", m->name);
        return SHMCHOP_E_SEGMENT_GONE;
    }
    return 0;
}
