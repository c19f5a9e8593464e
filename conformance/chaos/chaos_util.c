/* SPDX-License-Identifier: MIT */
/* The chaos runner's shared parts: time, randomness, names, child processes, results. */
#include "chaos.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void chaos_fail(chaos_result *r, const char *fmt, ...)
{
    if (r->verdict == CHAOS_FAIL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
    va_end(ap);
    r->verdict = CHAOS_FAIL;
}

/* ---- time and randomness ---- */

double chaos_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void chaos_sleep_us(unsigned us)
{
    struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

void chaos_rand_seed(uint64_t seed)
{
    rng_state = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t chaos_rand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

unsigned chaos_rand_range(unsigned lo, unsigned hi)
{
    if (hi <= lo)
        return lo;
    return lo + (unsigned)(chaos_rand() % ((uint64_t)hi - lo + 1));
}

/* ---- names and objects ---- */

void chaos_name(const chaos_cfg *cfg, const char *what, char *out, size_t cap)
{
    static unsigned n;
    snprintf(out, cap, "%s%s%ldx%u_", cfg->tag, what, (long)getpid(), n++);
}

/* ---- processes ---- */

pid_t chaos_fork(void)
{
    return th_fork_tied();
}

static void redirect(const char *path, int target)
{
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                  : open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, target);
        close(fd);
    }
}

pid_t chaos_spawn(const char *const argv[], const char *out_path, const char *err_path,
                  int extra_fd)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", SHMCHOP_BIN_DIR, argv[0]);
    pid_t pid = chaos_fork();
    if (pid != 0)
        return pid < 0 ? -errno : pid;
    int null_in = open("/dev/null", O_RDONLY);
    if (null_in >= 0) {
        dup2(null_in, STDIN_FILENO);
        close(null_in);
    }
    redirect(out_path, STDOUT_FILENO);
    redirect(err_path, STDERR_FILENO);
    if (extra_fd >= 0 && extra_fd != 3) {
        dup2(extra_fd, 3);
        close(extra_fd);
    }
    execv(path, (char *const *)argv);
    dprintf(STDERR_FILENO, "chaos: cannot execute %s: %s\n", path, strerror(errno));
    _exit(127);
}

int chaos_reap(pid_t pid, unsigned ms)
{
    int status = 0;
    double end = chaos_now_ms() + ms;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return status;
        if (w < 0 && errno != EINTR)
            return -2;
        if (chaos_now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        chaos_sleep_us(500);
    }
}

int chaos_stop(pid_t pid, unsigned ms)
{
    kill(pid, SIGTERM);
    return chaos_reap(pid, ms);
}

bool chaos_died(int status)
{
    if (status < 0)
        return false; /* a hang, counted apart */
    if (WIFSIGNALED(status))
        return WTERMSIG(status) != SIGKILL && WTERMSIG(status) != SIGTERM;
    /* ASan and UBSan report, then exit 1 (or abort: SIGABRT above). */
    return false;
}

char *chaos_slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b)
        b[n] = 0;
    return b;
}

void chaos_first_line(const char *path, char *out, size_t cap)
{
    char *s = chaos_slurp(path);
    out[0] = 0;
    if (!s)
        return;
    size_t n = strcspn(s, "\n");
    snprintf(out, cap, "%.*s", (int)n, s);
    free(s);
}

void chaos_tmp_path(const char *what, char *out, size_t cap)
{
    static unsigned n;
    const char *dir = getenv("TMPDIR");
    snprintf(out, cap, "%s/shmchop-chaos-%s.%ld.%u", dir && *dir ? dir : "/tmp", what,
             (long)getpid(), n++);
}

void chaos_wchan(pid_t pid, char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/wchan", (long)pid);
    chaos_first_line(path, out, cap);
    if (!out[0])
        snprintf(out, cap, "?");
}

void chaos_progress_init(chaos_progress *p)
{
    p->last = UINT64_MAX - 1;
    p->since = chaos_now_ms();
}

double chaos_progress_idle_ms(chaos_progress *p, uint64_t value)
{
    double now = chaos_now_ms();
    if (value != p->last) {
        p->last = value;
        p->since = now;
    }
    return now - p->since;
}

void chaos_stop_tool(pid_t pid, const char *who, chaos_result *r)
{
    int st = chaos_stop(pid, 3000);
    if (st == -1) {
        r->hangs++;
        chaos_fail(r, "%s did not end within 3 s of SIGTERM (R2.16)", who);
    } else if (chaos_died(st)) {
        r->deaths++;
        chaos_fail(r, "%s died of signal %d (%s)", who, WTERMSIG(st), strsignal(WTERMSIG(st)));
    }
}
