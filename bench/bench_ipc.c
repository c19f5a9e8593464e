/* SPDX-License-Identifier: MIT */
/* Cross-process latency: the cache-line floor and a shmchop publish seen by a reader process. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmchop/image.h>
#include <shmchop/segment.h>

#define WAIT_MS 5000    /* longest a side waits for the other before giving up */
#define REAP_MS 5000
#define STOP UINT64_MAX /* "the run is over", in a shared counter */

/* ---- pingpong_cacheline ------------------------------------------------------ */

typedef struct pp_shared {
    bench_line ping;
    bench_line cpu; /* the child's CPU */
} pp_shared;

/* The child answers every odd value n with n + 1 until the parent
 * stores STOP. */
static void cacheline_child(pp_shared *sh)
{
    int cpu = -1;

    for (uint64_t want = 1;; want += 2) {
        int r = bench_spin_until(&sh->ping.v, want, STOP, WAIT_MS);
        if (r == 1)
            _exit(0);
        if (r < 0)
            _exit(3); /* the parent went quiet */
        __atomic_store_n(&sh->ping.v, want + 1, __ATOMIC_RELEASE);
        cpu_publish(&sh->cpu, &cpu);
    }
}

/* RTT: the parent's store travels to the child's core and the answer
 * travels back; no system call and no library on the path. */
int bench_pingpong_cacheline(bench_ctx *c)
{
    pp_shared *sh = bench_shared_alloc(sizeof(pp_shared));
    uint64_t n = 1, same = 0, trips = 0;
    pid_t pid;
    int rc = 0;

    if (!sh)
        return bench_fail(c, "mmap of two lines failed");
    sh->cpu.v = UINT64_MAX;
    if ((pid = bench_fork()) < 0) {
        bench_shared_free(sh, sizeof(pp_shared));
        return bench_fail(c, "fork: %s", strerror(errno));
    }
    if (pid == 0)
        cacheline_child(sh);
    c->bytes = sizeof(uint64_t);
    while (rc == 0 && bench_running(c)) {
        uint64_t t0 = shmchop_clock_ns();
        __atomic_store_n(&sh->ping.v, n, __ATOMIC_RELEASE);
        if (bench_spin_until(&sh->ping.v, n + 1, n + 1, WAIT_MS) != 0) {
            rc = bench_fail(c, "no answer to %" PRIu64 " within %u ms", n, WAIT_MS);
            break;
        }
        uint64_t t1 = shmchop_clock_ns();
        bench_record(c, (double)(t1 - t0) / 2.0, 1);
        cpu_compare(c, &sh->cpu, &same, &trips);
        n += 2;
    }
    cpu_note(c, same, trips);
    __atomic_store_n(&sh->ping.v, STOP, __ATOMIC_RELEASE);
    if (bench_reap(c, pid, REAP_MS) != 0)
        rc = -1;
    bench_shared_free(sh, sizeof(pp_shared));
    return rc;
}

/* ---- latency_publish_read ---------------------------------------------------------- */

/*
 * The parent is the writer; the child opens a reader on the segment and
 * reads as fast as it can. When a read returns a seq it has not seen it
 * stores the time and then the seq in `seen` (release, so the time is
 * visible before the seq), and the parent, spinning on `seen`, stops its
 * clock. RTT = publish + the reader noticing + one cache-line hop back;
 * RTT/2 is what the brief compares with the cache-line floor. The aux
 * series is the direct one-way time, publish start to the reader holding
 * the copy, both ends on CLOCK_MONOTONIC.
 */
typedef struct lat_shared {
    bench_line seen; /* v = seq seen, aux = its CLOCK_MONOTONIC */
    bench_line stop; /* v = STOP when the parent is done */
    bench_line fail; /* v = the child's error code (non-zero), aux = line number */
    bench_line cpu;  /* the child's CPU */
} lat_shared;

static _Noreturn void lat_child_fail(lat_shared *sh, int rc, int where)
{
    sh->fail.aux = (uint64_t)where;
    __atomic_store_n(&sh->fail.v, (uint64_t)(int64_t)rc, __ATOMIC_RELEASE);
    _exit(6);
}

/*
 * A reader polling under the data mutex as fast as it can takes the lock
 * again before the woken writer runs (glibc's mutex is not fair), and a
 * 4 MB frame's writer then waited past its lock timeout. After a read that
 * found nothing new, the reader leaves the lock free for as long as that
 * read held it (at most 1 ms): half the time, whatever the frame's size.
 */
static void leave_lock_free(uint64_t t_read)
{
    uint64_t now = shmchop_clock_ns(), held = now - t_read;
    uint64_t until = now + (held < 1000000u ? held : 1000000u);

    while (shmchop_clock_ns() < until)
        ;
}

/* Every 64 polls: true when the parent says stop; yields when nothing
 * came for a while, and gives up when nothing came for too long. */
static bool lat_child_idle(lat_shared *sh, uint64_t quiet_since)
{
    uint64_t quiet = shmchop_clock_ns() - quiet_since;

    if (__atomic_load_n(&sh->stop.v, __ATOMIC_ACQUIRE) == STOP)
        return true;
    if (quiet > (uint64_t)WAIT_MS * 1000000u)
        _exit(7); /* no publish for too long: the parent is stuck */
    if (quiet > BENCH_SPIN_NS)
        sched_yield(); /* as bench_spin_until(): the writer may need our core */
    return false;
}

/* The reader holds a frame once it has copied it (one copy, R2.9) and
 * validated the copy, as the In CHOP does before it cooks. */
static void lat_child(lat_shared *sh, const char *name, bool mutex_path)
{
    shmchop_segment_opts so = { .no_seqlock = mutex_path };
    shmchop_segment *seg = NULL;
    shmchop_segment_status st;
    shmchop_parse_opts po = { .object = name };
    shmchop_image_view view;
    char err[SHMCHOP_MESSAGE_MAX];
    uint64_t last = 0, quiet_since = shmchop_clock_ns();
    size_t cap = 0, n;
    void *buf = NULL;
    int rc, cpu = -1;

    memset(&view, 0, sizeof(view));
    if (shmchop_segment_open(name, &so, &seg, err, sizeof(err)) != 0)
        _exit(5);
    for (uint64_t k = 0;; k++) {
        /* A poller copies only what it does not hold (one load of seq). */
        if (last && !shmchop_segment_may_have_changed(seg, last)) {
            if ((k & 63) == 0 && lat_child_idle(sh, quiet_since))
                break;
            continue;
        }
        uint64_t t_read = shmchop_clock_ns();
        rc = shmchop_segment_read_grow(seg, &buf, &cap, &n, &st);
        if (rc != 0)
            lat_child_fail(sh, rc, __LINE__);
        if (mutex_path && st.seq == last)
            leave_lock_free(t_read);
        if (st.seq != last) {
            view.known_data_crc = st.data_crc;
            if ((rc = shmchop_image_validate(buf, n, &po, &view, NULL, NULL)) != 0)
                lat_child_fail(sh, rc, __LINE__);
            uint64_t t = shmchop_clock_ns();
            last = st.seq;
            quiet_since = t;
            sh->seen.aux = t;
            __atomic_store_n(&sh->seen.v, st.seq, __ATOMIC_RELEASE);
            cpu_publish(&sh->cpu, &cpu);
        }
        if ((k & 63) == 0 && lat_child_idle(sh, quiet_since))
            break;
    }
    shmchop_segment_close(seg);
    free(buf);
    _exit(0);
}

typedef struct lat_run {
    lat_shared *sh;
    shmchop_writer *w;
    void *img;
    size_t len;
    uint64_t seq, frame;
    uint64_t same_cpu, trips;
} lat_run;

static int lat_wait_seen(bench_ctx *c, lat_run *l, uint64_t want)
{
    if (bench_spin_until(&l->sh->seen.v, want, want, WAIT_MS) == 0)
        return 0;
    uint64_t f = __atomic_load_n(&l->sh->fail.v, __ATOMIC_ACQUIRE);
    if (f)
        return bench_fail(c, "reader process: %s", shmchop_strerror((int)(int64_t)f));
    return bench_fail(c, "reader did not see seq %" PRIu64 " within %u ms", want, WAIT_MS);
}

static int lat_loop(bench_ctx *c, lat_run *l)
{
    shmchop_writer_stats ws;

    shmchop_writer_get_stats(l->w, &ws);
    l->seq = ws.seq;
    /* The child is attached and reading once it reports the first seq. */
    if (lat_wait_seen(c, l, l->seq) != 0)
        return -1;
    while (bench_running(c)) {
        uint64_t want = l->seq + 2; /* +2 per publish (R1.17) */
        uint64_t t0 = shmchop_clock_ns();
        l->frame++;
        bench_image_set_frame(l->img, l->frame, (int64_t)l->frame, t0);
        if (shmchop_writer_publish(l->w, l->img, l->len) != 0)
            return bench_fail(c, "publish: %s", shmchop_writer_errmsg(l->w));
        if (lat_wait_seen(c, l, want) != 0)
            return -1;
        uint64_t t1 = shmchop_clock_ns();
        bench_record(c, (double)(t1 - t0) / 2.0, 1);
        bench_record_aux(c, (double)(l->sh->seen.aux - t0));
        cpu_compare(c, &l->sh->cpu, &l->same_cpu, &l->trips);
        l->seq = want;
    }
    return c->err[0] ? -1 : 0;
}

int bench_latency_publish_read(bench_ctx *c)
{
    lat_run l = { 0 };
    shmchop_writer_opts wo = { 0 };
    char name[64], err[SHMCHOP_MESSAGE_MAX];
    pid_t pid = -1;
    int rc = -1;

    bench_seg_name(name, sizeof(name));
    l.frame = 1;
    l.img = bench_shape_image(c->def, l.frame, 1, false, &l.len);
    l.sh = bench_shared_alloc(sizeof(lat_shared));
    if (!l.img || !l.sh) {
        bench_fail(c, "out of memory");
        goto out;
    }
    l.sh->cpu.v = UINT64_MAX;
    c->bytes = l.len;
    c->aux_name = "oneway_direct";
    snprintf(c->note, sizeof(c->note),
             "%u channels x %u samples, %zu-byte image with extension block; reader on the %s path",
             c->def->chans, c->def->length, l.len,
             c->def->variant == BV_MUTEX ? "data mutex" : "seqlock");
    wo.initial_size = l.len;
    if (shmchop_writer_open(name, &wo, &l.w, err, sizeof(err)) != 0) {
        bench_fail(c, "writer_open %s: %s", name, err);
        goto out;
    }
    if (shmchop_writer_publish(l.w, l.img, l.len) != 0) {
        bench_fail(c, "publish: %s", shmchop_writer_errmsg(l.w));
        goto out;
    }
    if ((pid = bench_fork()) < 0) {
        bench_fail(c, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        lat_child(l.sh, name, c->def->variant == BV_MUTEX);
    rc = lat_loop(c, &l);
    cpu_note(c, l.same_cpu, l.trips);
out:
    if (l.sh)
        __atomic_store_n(&l.sh->stop.v, STOP, __ATOMIC_RELEASE);
    if (pid > 0 && bench_reap(c, pid, REAP_MS) != 0)
        rc = -1;
    if (l.w)
        shmchop_writer_close(l.w);
    bench_seg_release(name);
    bench_shared_free(l.sh, sizeof(lat_shared));
    free(l.img);
    return rc;
}
