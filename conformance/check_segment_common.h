/* SPDX-License-Identifier: MIT */
/* Helpers shared by the live-segment suites: unique names, cleanup, images, children. */
#ifndef SHMCHOP_CHECK_SEGMENT_COMMON_H
#define SHMCHOP_CHECK_SEGMENT_COMMON_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/counter.h>
#include <shmchop/image.h>
#include <shmchop/segment.h>
#include "helpers.h"
#include "segment_fault.h"

/* Built with a sanitizer? Its runtime handles SIGBUS itself (it reports
 * and exits 1) and makes system calls of its own. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SCT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
#define SCT_SANITIZED 1
#endif
#endif
#ifndef SCT_SANITIZED
#define SCT_SANITIZED 0
#endif

/* Did a child die of an unhandled SIGBUS? (Under a sanitizer: its report
 * and exit status 1.) */
static inline bool sct_died_of_sigbus(int status)
{
    if (status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
        return true;
    /* ASan reports the fault itself, then exits non-zero, or aborts when
     * ASAN_OPTIONS has abort_on_error=1 (as `make test` sets it). */
    if (!SCT_SANITIZED || status < 0)
        return false;
    return (WIFEXITED(status) && WEXITSTATUS(status) != 0) ||
           (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

/*
 * Every object of a run carries the tag "sct<runner pid>_": the runner is
 * the process that started the suite (Check forks one child per test), so
 * the final check and the safety cleanup in main() find all of them.
 */
static pid_t sct_runner_pid;

static inline void sct_init_runner(void)
{
    sct_runner_pid = getpid();
}

/* A fresh Shared Mem Name: "sct<runner>_<tag><test pid>x<n>_"; the final
 * "_" keeps one name from being a prefix of another (x1_ vs x10_). */
static inline void sct_name(char *out, size_t cap, const char *tag)
{
    static unsigned n;
    snprintf(out, cap, "sct%ld_%s%ldx%u_", (long)sct_runner_pid, tag, (long)getpid(), n++);
}

static inline double sct_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline uint64_t sct_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void sct_sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Does /dev/shm/<obj> exist? Its size and mode into *size / *mode. */
static inline bool sct_obj(const char *obj, off_t *size, mode_t *mode)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof(path), "/dev/shm/%s", obj);
    if (stat(path, &sb) != 0)
        return false;
    if (size)
        *size = sb.st_size;
    if (mode)
        *mode = sb.st_mode & 07777;
    return true;
}

/* Count (and with do_unlink remove) /dev/shm entries containing `needle`. */
static inline unsigned sct_sweep(const char *needle, bool do_unlink, bool print)
{
    unsigned n = 0;
    struct dirent *de;
    DIR *d = opendir("/dev/shm");
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, needle))
            continue;
        n++;
        if (print)
            fprintf(stderr, "left in /dev/shm: %s\n", de->d_name);
        if (do_unlink)
            shm_unlink(de->d_name);
    }
    closedir(d);
    return n;
}

/* Remove every object of one Shared Mem Name, strays included. */
static inline void sct_cleanup(const char *name)
{
    char needle[300];
    snprintf(needle, sizeof(needle), "%s", name);
    sct_sweep(needle, true, false);
}

/* The runner's tag, for the final check. */
static inline void sct_run_tag(char *out, size_t cap)
{
    snprintf(out, cap, "sct%ld_", (long)sct_runner_pid);
}

/* A child that dies with the test process (no orphans on failure). */
static inline pid_t sct_fork(void)
{
    return th_fork_tied();
}

/* Wait for a child at most ms; SIGKILL it at the deadline. Returns the
 * raw wait status, or -1 when it had to be killed. */
static inline int sct_reap(pid_t pid, unsigned ms)
{
    int status = 0;
    double end = sct_now_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -2;
        if (sct_now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sct_sleep_ms(2);
    }
}

/* A pipe used as a one-shot "go" / "ready" signal between processes. */
typedef struct sct_pipe {
    int fd[2];
} sct_pipe;

static inline void sct_pipe_open(sct_pipe *p)
{
    ck_assert_int_eq(pipe(p->fd), 0);
}

static inline void sct_pipe_close(sct_pipe *p)
{
    close(p->fd[0]);
    close(p->fd[1]);
}

static inline void sct_signal(sct_pipe *p, char c)
{
    ssize_t r = write(p->fd[1], &c, 1);
    (void)r;
}

/* Wait for one byte at most ms; returns it, or -1 on timeout/EOF. */
static inline int sct_wait(sct_pipe *p, unsigned ms)
{
    double end = sct_now_ms() + ms;
    for (;;) {
        struct timeval tv = { 0, 2000 };
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(p->fd[0], &fds);
        if (select(p->fd[0] + 1, &fds, NULL, NULL, &tv) == 1) {
            char c;
            return read(p->fd[0], &c, 1) == 1 ? (unsigned char)c : -1;
        }
        if (sct_now_ms() >= end)
            return -1;
    }
}

/* ---- images --------------------------------------------------------- */

typedef struct sct_img {
    shmchop_chop chop;
    shmchop_build_opts bo;
    unsigned char *buf;
    size_t cap;
    size_t size;
} sct_img;

static inline void sct_img_init(sct_img *im)
{
    memset(im, 0, sizeof(*im));
    shmchop_chop_init(&im->chop);
}

static inline void sct_img_free(sct_img *im)
{
    shmchop_chop_free(&im->chop);
    free(im->buf);
    memset(im, 0, sizeof(*im));
}

/* Build a counter image of frame `frame` (R5.3), with or without the
 * extension block; names on. Returns the image size. */
static inline size_t sct_img_counter(sct_img *im, uint32_t chans, uint32_t length, uint64_t frame,
                              bool ext)
{
    ck_assert_int_eq(shmchop_chop_reserve(&im->chop, chans, length, 0), 0);
    im->chop.rate = 1000.0;
    im->chop.start = (int64_t)frame * length;
    shmchop_counter_fill(&im->chop, frame);
    memset(&im->bo, 0, sizeof(im->bo));
    im->bo.names = false;
    im->bo.ext = ext;
    im->bo.frame = frame;
    im->bo.writer_pid = (uint32_t)getpid();
    im->bo.time_ns = sct_now_ns();
    im->bo.heartbeat_ns = im->bo.time_ns;
    int64_t sz = shmchop_image_size(&im->chop, &im->bo);
    ck_assert_int_gt(sz, 0);
    if ((size_t)sz > im->cap) {
        im->buf = realloc(im->buf, (size_t)sz);
        ck_assert_ptr_nonnull(im->buf);
        im->cap = (size_t)sz;
    }
    size_t written = 0;
    ck_assert_int_eq(shmchop_image_build(im->buf, im->cap, &im->chop, &im->bo, &written), 0);
    im->size = written;
    return written;
}

/* Parse a copy and check it is one whole counter frame; *frame gets it.
 * Returns 0, or the parse / verify code. Usable in children (no ck_). */
static inline int sct_verify_copy(const void *buf, size_t len, shmchop_chop *chop, uint64_t *frame,
                           bool *has_ext)
{
    shmchop_image_info info;
    int rc = shmchop_image_parse(buf, len, NULL, chop, &info, NULL);
    if (rc != 0)
        return rc;
    if (has_ext)
        *has_ext = info.has_ext;
    rc = shmchop_counter_verify(chop, frame);
    if (rc != 0)
        return rc;
    /* The block's frame must be the samples' frame too. */
    if (info.has_ext && *frame != (info.ext.frame & SHMCHOP_COUNTER_MASK))
        return SHMCHOP_E_TORN;
    return 0;
}

/* Open a writer with the given initial size; asserts success. */
static inline shmchop_writer *sct_writer(const char *name, size_t size, unsigned mode)
{
    shmchop_writer_opts o = { .initial_size = size, .mode = mode, .lock_timeout_ms = 2000 };
    shmchop_writer *w = NULL;
    char err[SHMCHOP_MESSAGE_MAX] = "";
    int rc = shmchop_writer_open(name, &o, &w, err, sizeof(err));
    ck_assert_msg(rc == 0, "writer_open %s: %d %s", name, rc, err);
    return w;
}

static inline shmchop_segment *sct_reader(const char *name, const shmchop_segment_opts *opts)
{
    shmchop_segment *seg = NULL;
    char err[SHMCHOP_MESSAGE_MAX] = "";
    int rc = shmchop_segment_open(name, opts, &seg, err, sizeof(err));
    ck_assert_msg(rc == 0, "segment_open %s: %d %s", name, rc, err);
    return seg;
}

/* Runs last in every suite that uses this header: every test removed what
 * it created (the tests' own tag, never anybody else's objects). */
#define SCT_FINAL_SWEEP_TEST                                                   \
    START_TEST(final_nothing_left_in_dev_shm)                                  \
    {                                                                          \
        char tag[64];                                                          \
        sct_run_tag(tag, sizeof(tag));                                         \
        ck_assert_uint_eq(sct_sweep(tag, false, true), 0);                     \
    }                                                                          \
    END_TEST

/* main() of a live suite: the runner's pid for the names, the suite run
 * with Check's per-test fork, then whatever a failed test left of the
 * runner's objects swept. Returns the exit status. */
static inline int sct_run_suite(Suite *(*make)(void))
{
    char tag[64];
    SRunner *sr;
    int failed;

    sct_init_runner();
    sr = srunner_create(make());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sct_run_tag(tag, sizeof(tag));
    sct_sweep(tag, true, false);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
