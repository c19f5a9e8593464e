/* SPDX-License-Identifier: MIT */
/* Chaos scenarios: writers SIGKILLed at random points with readers attached, and readers SIGKILLed under a writer. */
#include "chaos.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define READER_LOCK_MS 200
/* A read makes at most a few bounded waits (info mutex, data mutex,
 * attach); one that takes longer than this waited past its timeout. */
#define READ_BOUND_MS 2000.0
#define PICKUP_MS 5000.0
#define RUN_BITS 12 /* --frame of run k is (k mod 4096) << 12: frame >> 12 names the run */

enum kill_mode { KILL_SIGNAL, KILL_IN_LOCK, KILL_MID_RESIZE, KILL_MODES };

typedef struct argv_buf {
    const char *v[160];
    char store[150][48];
    int n, ns;
} argv_buf;

static void arg(argv_buf *a, const char *s)
{
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

__attribute__((format(printf, 2, 3))) static void argf(argv_buf *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->store[a->ns], sizeof(a->store[0]), fmt, ap);
    va_end(ap);
    arg(a, a->store[a->ns++]);
}

static void writer_argv(argv_buf *a, const char *name, bool ext, uint64_t base, enum kill_mode m)
{
    memset(a, 0, sizeof(*a));
    const char *fixed[] = { "shmchop-out", "run", "--name", name, "--wave", "counter", "--chans",
                            "4", "--length", "64", "--fps", "1000", "--lock-timeout", "200",
                            "--ext", ext ? "on" : "off", "--frame" };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        arg(a, fixed[i]);
    argf(a, "%llu", (unsigned long long)base);
    if (m == KILL_IN_LOCK) {
        arg(a, "--fault");
        argf(a, "die-locked:%llu", (unsigned long long)(base + chaos_rand_range(5, 40)));
    }
    /* Mid-resize: a new shape every frame for a while, killed in there. */
    for (unsigned f = 2; m == KILL_MID_RESIZE && f < 40; f++) {
        arg(a, "--fault");
        if (f % 2)
            argf(a, "resize:%llu:4:64", (unsigned long long)(base + f));
        else
            argf(a, "resize:%llu:6:40", (unsigned long long)(base + f));
    }
}

/* Have both readers output a frame of run `id`? */
static bool picked_up(const chaos_board *b, uint64_t id)
{
    for (int i = 0; i < 2; i++) {
        uint64_t f = __atomic_load_n(&b->slot[i].last_frame, __ATOMIC_ACQUIRE);
        if (f == UINT64_MAX || (f >> RUN_BITS) != id)
            return false;
    }
    return true;
}

/* Wait until the readers show run `id`, or the writer ended by itself
 * (*status set, returns false). */
static bool wait_pickup(const chaos_board *b, uint64_t id, pid_t w, int *status, bool *exited)
{
    double end = chaos_now_ms() + PICKUP_MS;
    *exited = false;
    while (chaos_now_ms() < end) {
        if (picked_up(b, id))
            return true;
        if (waitpid(w, status, WNOHANG) == w) {
            *exited = true;
            return picked_up(b, id);
        }
        chaos_sleep_us(200);
    }
    return false;
}

/* One writer life: start, wait to be seen, die. Returns false on a failure. */
static bool writer_life(const char *name, bool ext, unsigned k, chaos_board *b, chaos_result *r,
                        const char *errf)
{
    enum kill_mode m = (enum kill_mode)(k % KILL_MODES);
    uint64_t id = k % (1u << RUN_BITS);
    argv_buf a;
    int st = 0;
    bool exited;

    writer_argv(&a, name, ext, id << RUN_BITS, m);
    pid_t w = chaos_spawn(a.v, NULL, errf, -1);
    if (w < 0) {
        chaos_fail(r, "cannot start shmchop-out");
        return false;
    }
    bool seen = wait_pickup(b, id, w, &st, &exited);
    if (seen)
        r->recoveries++;
    if (!exited) {
        if (m != KILL_IN_LOCK)
            chaos_sleep_us(chaos_rand_range(0, 4000));
        kill(w, SIGKILL);
        st = chaos_reap(w, 5000);
    }
    r->kills++;
    char line[200];
    if (st < 0 || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
        chaos_first_line(errf, line, sizeof(line));
        chaos_fail(r, "writer run %u (mode %d) ended with status 0x%x, not SIGKILL: %s", k, m,
                   (unsigned)st, line);
        return false;
    }
    if (!seen && m != KILL_IN_LOCK) {
        chaos_fail(r, "writer run %u: readers did not pick up the restarted writer within %.0f ms "
                   "(R2.7a)", k, PICKUP_MS);
        return false;
    }
    return true;
}

void chaos_scn_writer_kill(const chaos_cfg *cfg, chaos_result *r, bool ext)
{
    char name[128], errf[256];
    chaos_board *b = chaos_board_new();
    pid_t readers[2];
    double end = chaos_now_ms() + cfg->seconds * 1e3;

    chaos_name(cfg, ext ? "wk" : "wkx", name, sizeof(name));
    chaos_tmp_path("writer-err", errf, sizeof(errf));
    readers[0] = chaos_reader_start(b, 0, name, READER_LOCK_MS, false);
    readers[1] = chaos_reader_start(b, 1, name, READER_LOCK_MS, true);
    for (unsigned k = 0; k < cfg->writer_kills && chaos_now_ms() < end; k++)
        if (!writer_life(name, ext, k, b, r, errf))
            break;
    chaos_readers_finish(b, readers, 2, r);
    if (r->stall_ms > READ_BOUND_MS)
        chaos_fail(r, "a reader waited %.0f ms in one read, past its %d ms lock timeout",
                   r->stall_ms, READER_LOCK_MS);
    if (r->kills < cfg->writer_kills)
        snprintf(r->note, sizeof(r->note), "time budget spent after %llu of %u kills",
                 (unsigned long long)r->kills, cfg->writer_kills);
    chaos_board_free(b);
    unlink(errf);
    chaos_sweep(name);
}

/* ---- readers killed under a running writer ---- */

static void reader_kill_writer_argv(argv_buf *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    const char *fixed[] = { "shmchop-out", "run", "--name", name, "--wave", "counter", "--chans",
                            "8", "--length", "256", "--fps", "500", "--lock-timeout", "300",
                            "--ext", "off", "--json" };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        arg(a, fixed[i]);
    /* Short lock holds now and then, so that victims die inside a lock wait. */
    for (unsigned f = 20; f <= 20 * 70; f += 20) {
        arg(a, "--fault");
        argf(a, "hold-lock:%u:4", f);
    }
}

/* Kill one victim reader at a random point of its life. */
static void kill_one_reader(chaos_board *b, const char *name, unsigned k, chaos_result *r)
{
    int id = 1 + (int)(k % 3);
    memset(&b->slot[id], 0, sizeof(b->slot[id]));
    pid_t v = chaos_reader_start(b, id, name, READER_LOCK_MS, true);
    chaos_sleep_us(chaos_rand_range(0, 3000));
    kill(v, SIGKILL);
    int st = chaos_reap(v, 5000);
    r->kills++;
    r->torn += b->slot[id].torn;
    if (st >= 0 && WIFEXITED(st))
        chaos_fail(r, "victim reader %u exited by itself (%d): %s", k, WEXITSTATUS(st),
                   b->slot[id].first_bad);
}

void chaos_scn_reader_kill(const chaos_cfg *cfg, chaos_result *r)
{
    char name[128], outf[256], errf[256], line[200];
    chaos_board *b = chaos_board_new();
    argv_buf a;
    double end = chaos_now_ms() + cfg->seconds * 1e3, monitor_stall = 0;
    chaos_progress frames;

    chaos_name(cfg, "rk", name, sizeof(name));
    chaos_tmp_path("rk-out", outf, sizeof(outf));
    chaos_tmp_path("rk-err", errf, sizeof(errf));
    reader_kill_writer_argv(&a, name);
    pid_t w = chaos_spawn(a.v, outf, errf, -1);
    pid_t mon = chaos_reader_start(b, 0, name, READER_LOCK_MS, true);
    chaos_progress_init(&frames);
    for (unsigned k = 0; k < cfg->reader_kills && chaos_now_ms() < end; k++) {
        kill_one_reader(b, name, k, r);
        /* The longest time the monitor saw no new writer frame. */
        double idle = chaos_progress_idle_ms(&frames, __atomic_load_n(&b->slot[0].last_frame,
                                                                       __ATOMIC_ACQUIRE));
        if (idle > monitor_stall)
            monitor_stall = idle;
    }
    r->stall_ms = monitor_stall;
    chaos_readers_finish(b, &mon, 1, r);
    int st = chaos_stop(w, 3000);
    chaos_first_line(errf, line, sizeof(line));
    if (st == -1) {
        r->hangs++;
        chaos_fail(r, "writer did not end within 3 s of SIGTERM (R2.16)");
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        chaos_fail(r, "writer ended with status 0x%x (a publish failed): %s", (unsigned)st, line);
    }
    if (monitor_stall > READ_BOUND_MS)
        chaos_fail(r, "the writer published no frame for %.0f ms while readers died (stalled)",
                   monitor_stall);
    if (b->slot[0].frames < 10)
        chaos_fail(r, "the monitor reader saw only %llu frames",
                   (unsigned long long)b->slot[0].frames);
    chaos_board_free(b);
    unlink(outf);
    unlink(errf);
    chaos_sweep(name);
}
