/* SPDX-License-Identifier: MIT */
/* shmchop-bench helpers: children, spinning, shared memory, segment names and cleanup, images. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/chop.h>
#include <shmchop/image.h>
#include <shmchop/segment.h>

/* ---- processes ------------------------------------------------------------ */

pid_t bench_fork(void)
{
    pid_t parent = getpid();
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        /* A benchmark parent that dies must not leave a child spinning on
         * one of two cores. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99);
        signal(SIGINT, SIG_IGN); /* the parent stops the run and reaps us */
        if (bench_child_cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(bench_child_cpu, &set);
            if (sched_setaffinity(0, sizeof(set), &set) != 0)
                _exit(98);
        }
    }
    return pid;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int bench_reap(bench_ctx *c, pid_t pid, unsigned ms)
{
    uint64_t end = shmchop_clock_ns() + (uint64_t)ms * 1000000u;
    int status = 0;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return bench_fail(c, "child %ld: waitpid: %s", (long)pid, strerror(errno));
        if (shmchop_clock_ns() >= end) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return bench_fail(c, "child %ld did not exit within %u ms (killed)", (long)pid, ms);
        }
        sleep_ms(1);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        return bench_fail(c, "child %ld died of signal %d", (long)pid, WTERMSIG(status));
    return bench_fail(c, "child %ld exited with status %d", (long)pid, WEXITSTATUS(status));
}

static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

int bench_spin_until(const volatile uint64_t *p, uint64_t want, uint64_t alt,
                     unsigned deadline_ms)
{
    uint64_t start = 0;

    for (unsigned spins = 1;; spins++) {
        uint64_t v = __atomic_load_n(p, __ATOMIC_ACQUIRE);
        if (v == want)
            return 0;
        if (v == alt)
            return 1;
        cpu_pause();
        /* The clock only every 256 spins: a read costs as much as dozens
         * of loads of a line that is not moving. */
        if ((spins & 255) != 0)
            continue;
        uint64_t now = shmchop_clock_ns();
        if (start == 0)
            start = now;
        else if (now - start >= (uint64_t)deadline_ms * 1000000u || bench_stop)
            return -1;
        /* Two cores and other load: the side we wait for may be queued on
         * our core. Past BENCH_SPIN_NS, give the core away at each check,
         * so a hand-over costs a context switch, not a scheduler tick. */
        if (now - start >= BENCH_SPIN_NS)
            sched_yield();
    }
}

void *bench_shared_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 0, n); /* fault the pages in now, not inside a measurement */
    return p;
}

void bench_shared_free(void *p, size_t n)
{
    if (p)
        munmap(p, n);
}

/* ---- names and cleanup ------------------------------------------------------ */

#define MAX_NAMES 64
static char g_names[MAX_NAMES][64];
static unsigned g_nnames, g_counter;
static char g_paths[MAX_NAMES][108];
static unsigned g_npaths;
static pid_t g_owner; /* the process that hands out names: the only one that cleans */

static void run_tag(char *out, size_t cap)
{
    snprintf(out, cap, "shmchopbench%ld_", (long)g_owner);
}

void bench_seg_name(char *out, size_t cap)
{
    char tag[40];

    if (!g_owner)
        g_owner = getpid();
    run_tag(tag, sizeof(tag));
    snprintf(out, cap, "%s%u_", tag, g_counter++);
    if (g_nnames < MAX_NAMES)
        snprintf(g_names[g_nnames++], sizeof(g_names[0]), "%s", out);
}

void bench_seg_release(const char *name)
{
    char err[SHMCHOP_MESSAGE_MAX];

    /* The writer gave back data and info (R2.8); gc takes the mutex
     * objects, which the compatible protocol never unlinks. */
    if (shmchop_shm_gc(name, false, NULL, NULL, NULL, err, sizeof(err)) != 0)
        fprintf(stderr, "shmchop-bench: gc %s: %s\n", name, err);
    for (unsigned i = 0; i < g_nnames; i++) {
        if (strcmp(g_names[i], name) == 0) {
            g_names[i][0] = '\0';
            break;
        }
    }
}

void bench_ipc_path(char *out, size_t cap)
{
    if (!g_owner)
        g_owner = getpid();
    snprintf(out, cap, "/tmp/shmchop-bench-%ld-%u.ipc", (long)g_owner, g_counter++);
    if (g_npaths < MAX_NAMES)
        snprintf(g_paths[g_npaths++], sizeof(g_paths[0]), "%s", out);
}

/* Last resort: unlink every /dev/shm entry carrying the run's tag. */
static unsigned sweep_tag(void)
{
    char tag[40];
    unsigned n = 0;
    struct dirent *de;
    DIR *d = opendir(SHMCHOP_SHM_DIR);

    if (!d)
        return 0;
    run_tag(tag, sizeof(tag));
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, tag) && shm_unlink(de->d_name) == 0)
            n++;
    }
    closedir(d);
    return n;
}

void bench_cleanup_all(void)
{
    if (!g_owner || getpid() != g_owner)
        return; /* a child: the parent owns the objects */
    for (unsigned i = 0; i < g_nnames; i++) {
        if (g_names[i][0])
            bench_seg_release(g_names[i]);
    }
    g_nnames = 0;
    unsigned left = sweep_tag();
    if (left)
        fprintf(stderr, "shmchop-bench: removed %u leftover objects from %s\n", left,
                SHMCHOP_SHM_DIR);
    for (unsigned i = 0; i < g_npaths; i++)
        unlink(g_paths[i]);
    g_npaths = 0;
}

/* ---- images ------------------------------------------------------------------ */

static size_t names_bytes(uint32_t chans)
{
    size_t n = 0;
    char tmp[32];
    for (uint32_t i = 0; i < chans; i++)
        n += (size_t)snprintf(tmp, sizeof(tmp), "chan%u", i + 1) + 1;
    return n;
}

uint32_t bench_image_length_for(size_t target, uint32_t chans)
{
    size_t fixed = SHMCHOP_EXT_OFFSET + SHMCHOP_EXT_SIZE + names_bytes(chans);

    if (target <= fixed + (size_t)chans * 4)
        return 1;
    return (uint32_t)((target - fixed) / ((size_t)chans * 4));
}

/* bench_image_build(), with or without the extension block. */
static void *image_build(uint32_t chans, uint32_t length, double rate, uint64_t frame,
                         int64_t start, bool timeslice, bool ext, size_t *len)
{
    shmchop_chop chop;
    shmchop_build_opts bo = { .names = true, .ext = ext, .frame = frame };
    size_t nb = names_bytes(chans);
    char *names = malloc(nb);
    void *img = NULL;
    int64_t size;
    size_t off = 0;

    shmchop_chop_init(&chop);
    if (!names || shmchop_chop_reserve(&chop, chans, length, nb) != 0)
        goto fail;
    for (uint32_t i = 0; i < chans; i++)
        off += (size_t)snprintf(names + off, nb - off, "chan%u", i + 1) + 1;
    if (shmchop_chop_set_names(&chop, names, nb) != 0)
        goto fail;
    chop.rate = rate;
    chop.start = start;
    /* Values that look like a signal; nothing depends on them. */
    for (size_t i = 0; i < (size_t)chans * length; i++)
        chop.data[i] = (float)sin((double)(i % 4096) * 0.0015);
    bo.writer_pid = (uint32_t)getpid();
    bo.time_ns = shmchop_clock_ns();
    bo.heartbeat_ns = bo.time_ns;
    bo.flags = timeslice ? SHMCHOP_EXT_FLAG_TIMESLICE : 0;
    size = shmchop_image_size(&chop, &bo);
    if (size < 0 || (img = malloc((size_t)size)) == NULL)
        goto fail;
    if (shmchop_image_build(img, (size_t)size, &chop, &bo, len) != 0) {
        free(img);
        img = NULL;
    }
fail:
    shmchop_chop_free(&chop);
    free(names);
    return img;
}

void *bench_image_build(uint32_t chans, uint32_t length, double rate, uint64_t frame,
                        int64_t start, bool timeslice, size_t *len)
{
    return image_build(chans, length, rate, frame, start, timeslice, true, len);
}

void *bench_image_build_compat(uint32_t chans, uint32_t length, double rate, size_t *len)
{
    return image_build(chans, length, rate, 0, 0, false, false, len);
}

void *bench_shape_image(const bench_def *d, uint64_t frame, int64_t start, bool timeslice,
                        size_t *len)
{
    return bench_image_build(d->chans, d->length, (double)d->length * BENCH_SHAPE_FPS, frame,
                             start, timeslice, len);
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void bench_image_set_frame(void *img, uint64_t frame, int64_t start, uint64_t time_ns)
{
    unsigned char *p = img;

    put_le64(p + SHMCHOP_OFF_EXT_FRAME, frame);
    put_le64(p + SHMCHOP_OFF_EXT_START, (uint64_t)start);
    put_le64(p + SHMCHOP_OFF_EXT_TIME_NS, time_ns);
    put_le64(p + SHMCHOP_OFF_EXT_HEARTBEAT, time_ns);
}

/* ---- which CPU each side ran on (bench.h) ---------------------------------- */

void cpu_publish(bench_line *cpu, int *last)
{
    int now = sched_getcpu();
    if (now != *last) {
        *last = now;
        __atomic_store_n(&cpu->v, (uint64_t)(uint32_t)now, __ATOMIC_RELAXED);
    }
}

void cpu_compare(bench_ctx *c, const bench_line *cpu, uint64_t *same, uint64_t *trips)
{
    if (!c->measuring)
        return;
    (*trips)++;
    *same += __atomic_load_n(&cpu->v, __ATOMIC_RELAXED) == (uint64_t)(uint32_t)sched_getcpu();
}

void cpu_note(bench_ctx *c, uint64_t same, uint64_t trips)
{
    size_t n = strlen(c->note);

    c->same_cpu = trips ? (double)same / (double)trips : -1;
    snprintf(c->note + n, sizeof(c->note) - n, "%sboth processes on one CPU in %.1f%% of %" PRIu64
             " measured round trips", n ? "; " : "", trips ? 100.0 * (double)same / (double)trips : 0.0,
             trips);
}

/* ---- the row's watchdog (bench.h) -------------------------------------------- */

static void watchdog_fired(int sig)
{
    (void)sig;
}

void bench_watchdog_arm(const bench_ctx *c, unsigned slack_ms)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = watchdog_fired;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm((unsigned)((c->warmup_ns + c->budget_ns) / 1000000000u) + slack_ms / 1000 + 5);
}

void bench_watchdog_disarm(void)
{
    alarm(0);
}
