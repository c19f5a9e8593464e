/* SPDX-License-Identifier: MIT */
/* Peer: iceoryx 2 (C binding) zero-copy publish/subscribe, with its own iox-roudi per row. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/image.h>

#ifdef SHMCHOP_BENCH_HAVE_ICEORYX
#include <iceoryx_binding_c/publisher.h>
#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/runtime.h>
#include <iceoryx_binding_c/subscriber.h>
#endif

#define IOX_ROUDI "/usr/bin/iox-roudi"
#define IOX_MGMT_SHM "/dev/shm/iceoryx_mgmt"
#define IOX_ROUDI_SOCKET "/tmp/roudi"
#define IOX_ROUDI_LOCK "/tmp/roudi.lock"

#define ICEORYX_ROW(shape, ch, len)                                                              \
    { .name = "peer_iceoryx_" shape, .baseline = "latency_" shape, .kind = BENCH_LATENCY,       \
      .run = bench_peer_iceoryx, .chans = ch, .length = len,                                    \
      .what = "iceoryx loan + copy-in + publish, child takes and acks via a cache line (RTT/2)" },
const bench_def bench_rows_iceoryx[BENCH_ROWS_ICEORYX_N] = { BENCH_SHAPES(ICEORYX_ROW) };

/* Why the iceoryx rows cannot run here and now, or NULL (bench_peer_missing). */
#ifdef SHMCHOP_BENCH_HAVE_ICEORYX
/* Is a process named iox-roudi running (ours are reaped before a row ends)? */
static bool roudi_process_running(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    bool found = false;

    if (!d)
        return false;
    while (!found && (e = readdir(d)) != NULL) {
        char path[300], comm[32] = "";
        FILE *f;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(comm, sizeof(comm), f))
            found = strncmp(comm, "iox-roudi", 9) == 0;
        fclose(f);
    }
    closedir(d);
    return found;
}

#endif

const char *bench_iceoryx_missing(const bench_def *d)
{
    if (d->run != bench_peer_iceoryx)
        return NULL;
#ifndef SHMCHOP_BENCH_HAVE_ICEORYX
    return "built without iceoryx (Debian packages libiceoryx-binding-c-dev, iceoryx)";
#else
    if (access(IOX_ROUDI, X_OK) != 0)
        return "no " IOX_ROUDI " (Debian package iceoryx)";
    /* One RouDi per machine: never start a second one or touch another's. */
    if (access(IOX_MGMT_SHM, F_OK) == 0 || access(IOX_ROUDI_SOCKET, F_OK) == 0 ||
        roudi_process_running())
        return "another iox-roudi is running (or left " IOX_MGMT_SHM " / " IOX_ROUDI_SOCKET ")";
    return NULL;
#endif
}

#ifdef SHMCHOP_BENCH_HAVE_ICEORYX

#define IOX_WAIT_MS 5000   /* longest any side waits for another */
#define IOX_REAP_MS 5000
#define IOX_BATCH_MAX 256  /* round trips per batch the publisher times */
#define IOX_BATCH_NS 2000000u
#define IOX_STOP UINT64_MAX
#define IOX_SERVICE "shmchop", "bench", "frame"

/*
 * Three processes besides RouDi: the parent only coordinates (it never
 * inits an iceoryx runtime, which is once per process and aborts or
 * blocks when RouDi misbehaves). The publisher child times batches of
 * round trips and leaves the samples here; the parent records them.
 */
typedef struct iox_shared {
    bench_line req;   /* v = batch number asked for, aux = 1 while measuring */
    bench_line done;  /* v = batch number finished, aux = samples in it */
    bench_line ack;   /* v = frame the subscriber took and checked */
    bench_line ready; /* v = bit 1 subscriber subscribed, bit 2 publisher matched */
    bench_line fail;  /* v = a child's error line (non-zero) */
    bench_line cpu;   /* the subscriber's CPU */
    bench_line same;  /* v = same-CPU trips, aux = measured trips (publisher's count) */
    double samples[IOX_BATCH_MAX];
} iox_shared;

/* Also wakes a publisher waiting for an ack that will not come. */
static _Noreturn void child_fail(iox_shared *sh, int line)
{
    __atomic_store_n(&sh->ack.v, IOX_STOP, __ATOMIC_RELEASE);
    __atomic_store_n(&sh->fail.v, (uint64_t)line, __ATOMIC_RELEASE);
    exit(6); /* as sub_child's end: RouDi must hear that we left */
}

static bool parent_gone_or_stopped(iox_shared *sh)
{
    return getppid() == 1 || __atomic_load_n(&sh->req.v, __ATOMIC_ACQUIRE) == IOX_STOP;
}

static uint64_t frame_of(const void *img)
{
    const unsigned char *p = (const unsigned char *)img + SHMCHOP_OFF_EXT_FRAME;
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Busy-polls take_chunk; a frame counts once its number is checked. */
static void sub_child(iox_shared *sh)
{
    iox_sub_storage_t storage;
    iox_sub_options_t o;
    uint64_t last = 0, quiet_since = shmchop_clock_ns();
    char name[64];
    int cpu = -1;

    snprintf(name, sizeof(name), "shmchop_bench_sub_%d", (int)getpid());
    iox_set_loglevel(Iceoryx_LogLevel_Warn);
    iox_runtime_init(name);
    iox_sub_options_init(&o);
    o.queueCapacity = 1;
    o.historyRequest = 0;
    iox_sub_t sub = iox_sub_init(&storage, IOX_SERVICE, &o);
    __atomic_fetch_or(&sh->ready.v, 1, __ATOMIC_RELEASE);
    for (uint64_t k = 0;; k++) {
        const void *chunk = NULL;
        if (iox_sub_take_chunk(sub, &chunk) == ChunkReceiveResult_SUCCESS) {
            uint64_t f = frame_of(chunk);
            iox_sub_release_chunk(sub, chunk);
            if (f <= last)
                child_fail(sh, __LINE__); /* a frame twice, or out of order */
            last = f;
            quiet_since = shmchop_clock_ns();
            __atomic_store_n(&sh->ack.v, f, __ATOMIC_RELEASE);
            cpu_publish(&sh->cpu, &cpu);
        }
        if ((k & 63) == 0) {
            uint64_t quiet = shmchop_clock_ns() - quiet_since;
            if (parent_gone_or_stopped(sh))
                break;
            if (quiet > BENCH_SPIN_NS)
                sched_yield(); /* as bench_spin_until(): the publisher may need our core */
        }
    }
    iox_sub_deinit(sub);
    iox_runtime_shutdown();
    exit(0); /* not _exit: iceoryx's destructors deregister from RouDi */
}

/* One round trip: patch, loan, copy in, publish, wait for the ack. */
static double pub_trip(iox_shared *sh, iox_pub_t pub, void *img, size_t len, uint64_t frame)
{
    void *chunk = NULL;
    uint64_t t0 = shmchop_clock_ns();

    bench_image_set_frame(img, frame, (int64_t)frame, t0);
    if (iox_pub_loan_chunk(pub, &chunk, (uint32_t)len) != AllocationResult_SUCCESS)
        child_fail(sh, __LINE__);
    memcpy(chunk, img, len); /* a user's CHOP is in its own buffer: the copy is paid */
    iox_pub_publish_chunk(pub, chunk);
    if (bench_spin_until(&sh->ack.v, frame, IOX_STOP, IOX_WAIT_MS) != 0)
        child_fail(sh, __LINE__);
    return (double)(shmchop_clock_ns() - t0) / 2.0;
}

static void pub_child(bench_ctx *c, iox_shared *sh, void *img, size_t len)
{
    iox_pub_storage_t storage;
    iox_pub_options_t o;
    uint64_t frame = 1, batch = 0, same = 0, trips = 0;
    uint64_t t_end = shmchop_clock_ns() + (uint64_t)IOX_WAIT_MS * 1000000u;
    char name[64];

    snprintf(name, sizeof(name), "shmchop_bench_pub_%d", (int)getpid());
    iox_set_loglevel(Iceoryx_LogLevel_Warn);
    iox_runtime_init(name);
    iox_pub_options_init(&o);
    o.historyCapacity = 0;
    iox_pub_t pub = iox_pub_init(&storage, IOX_SERVICE, &o);
    while (!iox_pub_has_subscribers(pub)) {
        if (shmchop_clock_ns() > t_end || parent_gone_or_stopped(sh))
            child_fail(sh, __LINE__);
        nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
    }
    __atomic_fetch_or(&sh->ready.v, 2, __ATOMIC_RELEASE);
    for (;;) {
        uint64_t r = __atomic_load_n(&sh->req.v, __ATOMIC_ACQUIRE);
        if (r == IOX_STOP)
            break;
        if (r == batch) {
            if (bench_spin_until(&sh->req.v, batch + 1, IOX_STOP, IOX_WAIT_MS) < 0)
                child_fail(sh, __LINE__);
            continue;
        }
        c->measuring = sh->req.aux != 0; /* this copy of c only counts CPUs */
        uint64_t t_batch = shmchop_clock_ns(), n = 0;
        do {
            sh->samples[n++] = pub_trip(sh, pub, img, len, ++frame);
            cpu_compare(c, &sh->cpu, &same, &trips);
        } while (n < IOX_BATCH_MAX && shmchop_clock_ns() - t_batch < IOX_BATCH_NS);
        batch = r;
        sh->same.v = same;
        sh->same.aux = trips;
        sh->done.aux = n;
        __atomic_store_n(&sh->done.v, batch, __ATOMIC_RELEASE);
    }
    iox_pub_deinit(pub);
    iox_runtime_shutdown();
    exit(0); /* not _exit: iceoryx's destructors deregister from RouDi */
}

/* ---- RouDi -------------------------------------------------------------------- */

typedef struct iox_roudi {
    char dir[64], cfg[96], log[96];
    pid_t pid;
} iox_roudi;

/* Mempools for a 4 MB frame plus chunk header, and small ones RouDi's own
 * introspection uses. */
static const char ROUDI_CONFIG[] =
    "[general]\nversion = 1\n\n[[segment]]\n\n"
    "[[segment.mempool]]\nsize = 128\ncount = 1000\n\n"
    "[[segment.mempool]]\nsize = 1024\ncount = 100\n\n"
    "[[segment.mempool]]\nsize = 16384\ncount = 32\n\n"
    "[[segment.mempool]]\nsize = 131072\ncount = 16\n\n"
    "[[segment.mempool]]\nsize = 4400000\ncount = 4\n";

static int roudi_write_config(bench_ctx *c, iox_roudi *r)
{
    snprintf(r->dir, sizeof(r->dir), "/tmp/shmchop-iox-XXXXXX");
    if (!mkdtemp(r->dir)) {
        r->dir[0] = '\0';
        return bench_fail(c, "mkdtemp: %s", strerror(errno));
    }
    snprintf(r->cfg, sizeof(r->cfg), "%s/roudi.toml", r->dir);
    snprintf(r->log, sizeof(r->log), "%s/roudi.log", r->dir);
    FILE *f = fopen(r->cfg, "w");
    if (!f || fputs(ROUDI_CONFIG, f) < 0) {
        if (f)
            fclose(f);
        return bench_fail(c, "write %s: %s", r->cfg, strerror(errno));
    }
    return fclose(f) == 0 ? 0 : bench_fail(c, "write %s: %s", r->cfg, strerror(errno));
}

/* Ready once the management segment and RouDi's socket exist: a runtime
 * init before that would wait for RouDi without a bound. */
static int roudi_wait_ready(bench_ctx *c, iox_roudi *r)
{
    uint64_t t_end = shmchop_clock_ns() + (uint64_t)IOX_WAIT_MS * 1000000u;

    while (access(IOX_MGMT_SHM, F_OK) != 0 || access(IOX_ROUDI_SOCKET, F_OK) != 0) {
        if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
            r->pid = -1;
            return bench_fail(c, "iox-roudi exited at start (log %s removed)", r->log);
        }
        if (shmchop_clock_ns() > t_end || bench_stop)
            return bench_fail(c, "iox-roudi not ready within %d ms", IOX_WAIT_MS);
        nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
    }
    return 0;
}

static int roudi_start(bench_ctx *c, iox_roudi *r)
{
    if (roudi_write_config(c, r) != 0)
        return -1;
    if ((r->pid = bench_fork()) < 0)
        return bench_fail(c, "fork: %s", strerror(errno));
    if (r->pid == 0) {
        int fd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execl(IOX_ROUDI, "iox-roudi", "-c", r->cfg, (char *)NULL);
        _exit(127);
    }
    return roudi_wait_ready(c, r);
}

/* SIGTERM (RouDi removes its segments, socket and lock), then a bounded
 * reap; the temp dir goes whatever happened. */
static int roudi_stop(bench_ctx *c, iox_roudi *r)
{
    int rc = 0;

    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        rc = bench_reap(c, r->pid, IOX_REAP_MS);
    }
    if (r->dir[0]) {
        unlink(r->cfg);
        unlink(r->log);
        rmdir(r->dir);
    }
    if (access(IOX_MGMT_SHM, F_OK) == 0 || access(IOX_ROUDI_SOCKET, F_OK) == 0)
        rc = bench_fail(c, "iox-roudi left %s or %s behind", IOX_MGMT_SHM, IOX_ROUDI_SOCKET);
    return rc;
}

/* ---- the row -------------------------------------------------------------------- */

static int wait_line(bench_ctx *c, iox_shared *sh, volatile uint64_t *p, uint64_t want,
                     const char *what)
{
    uint64_t t_end = shmchop_clock_ns() + (uint64_t)IOX_WAIT_MS * 1000000u;

    /* Short sleeps: the parent keeps off the cores the two children spin on. */
    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != want) {
        uint64_t f = __atomic_load_n(&sh->fail.v, __ATOMIC_ACQUIRE);
        if (f)
            return bench_fail(c, "iceoryx child failed at bench_iceoryx.c:%" PRIu64, f);
        if (shmchop_clock_ns() > t_end || bench_stop)
            return bench_fail(c, "iceoryx: %s not within %d ms", what, IOX_WAIT_MS);
        nanosleep(&(struct timespec){ .tv_nsec = 20000 }, NULL);
    }
    return 0;
}

static int iox_loop(bench_ctx *c, iox_shared *sh)
{
    uint64_t batch = 0;

    if (wait_line(c, sh, &sh->ready.v, 3, "subscriber and publisher matched") != 0)
        return -1;
    while (bench_running(c)) {
        sh->req.aux = c->measuring;
        __atomic_store_n(&sh->req.v, ++batch, __ATOMIC_RELEASE);
        if (wait_line(c, sh, &sh->done.v, batch, "a batch of round trips") != 0)
            return -1;
        for (uint64_t i = 0; i < sh->done.aux; i++)
            bench_record(c, sh->samples[i], 1);
    }
    cpu_note(c, sh->same.v, sh->same.aux);
    return c->err[0] ? -1 : 0;
}

static int reap_child(bench_ctx *c, pid_t pid)
{
    return pid > 0 ? bench_reap(c, pid, IOX_REAP_MS) : 0;
}

int bench_peer_iceoryx(bench_ctx *c)
{
    iox_roudi roudi = { .pid = -1 };
    iox_shared *sh = bench_shared_alloc(sizeof(iox_shared));
    size_t len = 0;
    void *img = bench_shape_image(c->def, 1, 1, false, &len);
    pid_t sub = -1, pub = -1;
    int rc = -1;

    if (!sh || !img) {
        bench_fail(c, "out of memory");
        goto out;
    }
    sh->cpu.v = UINT64_MAX;
    c->bytes = len;
    snprintf(c->note, sizeof(c->note),
             "%u channels x %u samples, %zu-byte image: loan + memcpy into the chunk + publish; "
             "ack via a cache line", c->def->chans, c->def->length, len);
    if (roudi_start(c, &roudi) != 0)
        goto out;
    fflush(NULL); /* the children leave with exit(): nothing buffered twice */
    if ((sub = bench_fork()) == 0)
        sub_child(sh);
    if (sub > 0 && (pub = bench_fork()) == 0)
        pub_child(c, sh, img, len);
    if (sub < 0 || pub < 0) {
        bench_fail(c, "fork: %s", strerror(errno));
        goto out;
    }
    rc = iox_loop(c, sh);
out:
    if (sh)
        __atomic_store_n(&sh->req.v, IOX_STOP, __ATOMIC_RELEASE);
    if (reap_child(c, pub) != 0)
        rc = -1;
    if (reap_child(c, sub) != 0)
        rc = -1;
    if (roudi_stop(c, &roudi) != 0)
        rc = -1;
    if (sh)
        bench_shared_free(sh, sizeof(iox_shared));
    free(img);
    return rc;
}

#else
int bench_peer_iceoryx(bench_ctx *c)
{
    return bench_fail(c, "%s", bench_iceoryx_missing(c->def));
}
#endif
