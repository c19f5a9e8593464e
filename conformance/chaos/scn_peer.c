/* SPDX-License-Identifier: MIT */
/* Chaos scenario: a compatible peer killed inside pthread_cond_wait while shmchop's writer and readers run (R2.16). */
#include "chaos.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOLD_EVERY 10 /* writer frames between lock holds */
/* A hang detector, not a timing goal: readers wait up to their lock
 * timeout (1 s) several times in a row while a dead peer's lock is broken
 * and the machine is busy; a real hang never ends. */
#define NO_FRAME_MS 15000.0

typedef struct peer_run {
    const char *name;
    chaos_board *b;
    pid_t writer, watch, reader;
    char w_err[256], watch_out[256], watch_err[256];
    chaos_progress frames;
} peer_run;

/* The writer holds the data lock 8 ms every HOLD_EVERY frames, so that
 * the peer finds it locked and sleeps on cond. argv is malloc'd. */
static const char **writer_argv(const char *name, unsigned holds, char ***store)
{
    const char *fixed[] = { "shmchop-out", "run", "--name", name, "--wave", "counter", "--chans",
                            "4", "--length", "64", "--fps", "500", "--lock-timeout", "500",
                            "--ext", "off" };
    size_t nf = sizeof(fixed) / sizeof(fixed[0]);
    const char **v = calloc(nf + 2 * holds + 1, sizeof(*v));
    *store = calloc(holds, sizeof(char *));
    for (size_t i = 0; i < nf; i++)
        v[i] = fixed[i];
    for (unsigned h = 0; h < holds; h++) {
        (*store)[h] = malloc(48);
        snprintf((*store)[h], 48, "hold-lock:%u:8", (h + 1) * HOLD_EVERY);
        v[nf + 2 * h] = "--fault";
        v[nf + 2 * h + 1] = (*store)[h];
    }
    return v;
}

static pid_t start_writer(peer_run *p, unsigned holds)
{
    char **store;
    const char **v = writer_argv(p->name, holds, &store);
    pid_t pid = chaos_spawn(v, NULL, p->w_err, -1);
    for (unsigned h = 0; h < holds; h++)
        free(store[h]);
    free(store);
    free(v);
    return pid;
}

/* Wait for the peer's 'W' ("about to sleep on cond") at most ms. */
static bool wait_for_sleep(int fd, int ms)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    char c;
    return poll(&pf, 1, ms) == 1 && read(fd, &c, 1) == 1 && c == 'W';
}

/* One peer life: start it, let it fall asleep on cond, kill it there. */
static void peer_life(peer_run *p, chaos_result *r)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    const char *argv[] = { "shmchop-chaos-peer", "wait", p->name, NULL };
    pid_t peer = chaos_spawn(argv, NULL, NULL, fds[1]);
    close(fds[1]);
    bool asleep = wait_for_sleep(fds[0], 3000);
    if (asleep)
        chaos_sleep_us(chaos_rand_range(0, 2000));
    kill(peer, SIGKILL);
    chaos_reap(peer, 5000);
    close(fds[0]);
    if (asleep)
        r->kills++;
    else
        r->errors++; /* the peer never found the lock held this time */
}

/* Frames must keep coming: a writer stuck in pthread_cond_signal is a hang. */
static bool writer_moving(peer_run *p, chaos_result *r)
{
    uint64_t f = __atomic_load_n(&p->b->slot[0].last_frame, __ATOMIC_ACQUIRE);
    double idle = chaos_progress_idle_ms(&p->frames, f);
    if (idle > r->stall_ms)
        r->stall_ms = idle;
    if (idle < NO_FRAME_MS)
        return true;
    char ww[64], rw[64];
    chaos_wchan(p->writer, ww, sizeof(ww));
    chaos_wchan(p->reader, rw, sizeof(rw));
    r->hangs++;
    chaos_fail(r, "no new frame for %.0f ms after %llu peers died in pthread_cond_wait: a tool "
               "hangs on the corrupt cond (R2.16; writer in %s, reader in %s)", NO_FRAME_MS,
               (unsigned long long)r->kills, ww, rw);
    return false;
}

/* The writer or a reader must have named the broken cond's object (R2.16). */
static void check_reported(peer_run *p, chaos_result *r)
{
    char obj[300];
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", p->name);
    char *we = chaos_slurp(p->w_err), *re = chaos_slurp(p->watch_err);
    bool named = (we && strstr(we, obj)) || (re && strstr(re, obj));
    if (!named && r->kills > 0)
        chaos_fail(r, "%llu peers died inside pthread_cond_wait on %s, yet no tool reported the "
                   "corrupt condition variable (R2.16)", (unsigned long long)r->kills, obj);
    free(we);
    free(re);
}

static void stop_all(peer_run *p, chaos_result *r)
{
    chaos_readers_finish(p->b, &p->reader, 1, r);
    chaos_stop_tool(p->writer, "writer", r);
    chaos_stop_tool(p->watch, "watch", r);
}

void chaos_scn_peer(const chaos_cfg *cfg, chaos_result *r)
{
    char name[128];
    peer_run p = { .name = name, .b = chaos_board_new() };
    double end = chaos_now_ms() + cfg->seconds * 1e3;

    chaos_name(cfg, "peer", name, sizeof(name));
    chaos_tmp_path("peer-werr", p.w_err, sizeof(p.w_err));
    chaos_tmp_path("peer-watch", p.watch_out, sizeof(p.watch_out));
    chaos_tmp_path("peer-watcherr", p.watch_err, sizeof(p.watch_err));
    const char *init[] = { "shmchop-chaos-peer", "init", name, NULL };
    int st = chaos_reap(chaos_spawn(init, NULL, NULL, -1), 5000);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        chaos_fail(r, "the peer could not create its 96-byte mutex objects");
    p.writer = start_writer(&p, cfg->peer_kills * 8 + 100);
    chaos_sleep_us(100000);
    p.reader = chaos_reader_start(p.b, 0, name, 300, true);
    const char *watch[] = { "shmchop-in", "watch", name, "--json", "--verify-counter", "--fps",
                            "100", "--lock-timeout", "300", NULL };
    p.watch = chaos_spawn(watch, p.watch_out, p.watch_err, -1);
    chaos_progress_init(&p.frames);
    for (unsigned k = 0; r->kills < cfg->peer_kills && k < cfg->peer_kills * 4 &&
                         chaos_now_ms() < end && writer_moving(&p, r); k++)
        peer_life(&p, r);
    /* A while longer with the broken cond: later signals are the ones that hang. */
    for (double t = chaos_now_ms() + 1000; chaos_now_ms() < t && writer_moving(&p, r);)
        chaos_sleep_us(20000);
    stop_all(&p, r);
    check_reported(&p, r);
    snprintf(r->note, sizeof(r->note), "peer lives without a sleep on cond: %llu",
             (unsigned long long)r->errors);
    chaos_board_free(p.b);
    unlink(p.w_err);
    unlink(p.watch_out);
    unlink(p.watch_err);
    chaos_sweep(name);
}
