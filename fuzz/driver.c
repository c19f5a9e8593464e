/* SPDX-License-Identifier: MIT */
/* One main for every fuzz harness: AFL++ persistent mode, or file replay. */

/*
 * Built three ways from one source (zstd, c-ares and AFL++ do the same):
 *
 * - any compiler: `fuzz_<t>_replay FILE|DIR...` runs the harness on every
 *   file (directories recursively, dot files skipped, sorted), each copied
 *   into an exact-size heap buffer so that ASan flags a read one byte past
 *   the input. It prints `fuzz-replay <t>: N inputs, 0 crashes` and exits 0,
 *   or exits non-zero (a crash names the input on stderr first).
 * - afl-clang-fast (which defines __AFL_FUZZ_TESTCASE_LEN): without
 *   arguments it runs AFL++'s shared-memory persistent loop, reading stdin
 *   when started outside afl-fuzz (so afl-tmin and `fuzz_image < crash`
 *   work); with arguments it replays them as above.
 * - clang -fsanitize=fuzzer: this file is not linked; libFuzzer has a main.
 *
 * FUZZ_TARGET_NAME (a string literal) names the harness in messages.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

#ifndef FUZZ_TARGET_NAME
#error "build with -DFUZZ_TARGET_NAME=\"<target>\""
#endif

#if defined(__AFL_FUZZ_TESTCASE_LEN) && !defined(SHMCHOP_FUZZ_REPLAY_ONLY)
#define FUZZ_WITH_AFL 1
__AFL_FUZZ_INIT();
#endif

/* Inputs beyond this are refused rather than read: a corpus file this big
 * is a mistake (AFL++ itself stops at 1 MiB). */
#define FUZZ_MAX_INPUT (64u << 20)

/* The input being replayed, for the crash message. Written before each
 * run, read only by the signal handler. */
static const char *volatile g_current;

static void write_str(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

/* Name the input that crashed, then let the signal take its course (the
 * handler is one-shot, so re-raising kills the process as before). */
static void on_crash(int sig)
{
    write_str("fuzz-replay " FUZZ_TARGET_NAME ": crashed (");
    write_str(sig == SIGABRT ? "SIGABRT" : sig == SIGSEGV ? "SIGSEGV"
              : sig == SIGBUS ? "SIGBUS" : sig == SIGILL ? "SIGILL" : "SIGFPE");
    write_str(") on ");
    write_str(g_current ? g_current : "(no input)");
    write_str("\n");
    raise(sig);
}

/* Install on_crash only where nobody else handles the signal: ASan and
 * UBSan install their own SIGSEGV/SIGBUS handlers, and replacing those
 * would lose their report. Their aborts still arrive as SIGABRT. */
static void install_crash_handlers(void)
{
    static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
            (old.sa_flags & SA_SIGINFO))
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_crash;
        sa.sa_flags = (int)SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

/* Run the harness on a private exact-size copy of data[0, size). */
static void run_one(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size);
    if (!copy && size) {
        fprintf(stderr, "fuzz-replay " FUZZ_TARGET_NAME ": out of memory (%zu bytes)\n", size);
        abort();
    }
    if (size)
        memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
}

/* Read a whole regular file into an exact-size buffer. Returns 0 or -errno. */
static int read_input(const char *path, uint8_t **out, size_t *outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int err = 0;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0) {
        err = -errno;
        goto fail;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > FUZZ_MAX_INPUT) {
        err = -EFBIG;
        goto fail;
    }
    size_t len = (size_t)st.st_size;
    buf = malloc(len ? len : 1);
    if (!buf) {
        err = -ENOMEM;
        goto fail;
    }
    for (size_t got = 0; got < len;) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            err = r < 0 ? -errno : -EIO; /* the file shrank under us */
            goto fail;
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *outlen = len;
    return 0;
fail:
    free(buf);
    close(fd);
    return err;
}

struct replay {
    unsigned inputs;
    unsigned errors;
};

static void replay_path(struct replay *rp, const char *path);

static int skip_dot(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

static void replay_dir(struct replay *rp, const char *path)
{
    struct dirent **list;
    int n = scandir(path, &list, skip_dot, alphasort);
    if (n < 0) {
        fprintf(stderr, "fuzz-replay " FUZZ_TARGET_NAME ": %s: %s\n", path, strerror(errno));
        rp->errors++;
        return;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(path) + strlen(list[i]->d_name) + 2;
        char *child = malloc(len);
        if (!child) {
            fprintf(stderr, "fuzz-replay " FUZZ_TARGET_NAME ": out of memory\n");
            rp->errors++;
        } else {
            snprintf(child, len, "%s/%s", path, list[i]->d_name);
            replay_path(rp, child);
            free(child);
        }
        free(list[i]);
    }
    free(list);
}

static void replay_path(struct replay *rp, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz-replay " FUZZ_TARGET_NAME ": %s: %s\n", path, strerror(errno));
        rp->errors++;
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        replay_dir(rp, path);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "fuzz-replay " FUZZ_TARGET_NAME ": %s: not a regular file\n", path);
        rp->errors++;
        return;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = read_input(path, &buf, &len);
    if (err) {
        fprintf(stderr, "fuzz-replay " FUZZ_TARGET_NAME ": %s: %s\n", path, strerror(-err));
        rp->errors++;
        return;
    }
    g_current = path;
    run_one(buf, len);
    g_current = NULL;
    free(buf);
    rp->inputs++;
}

static int replay_main(int argc, char **argv)
{
    struct replay rp = {0, 0};
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    install_crash_handlers();
    for (int i = 1; i < argc; i++)
        replay_path(&rp, argv[i]);
    if (rp.inputs == 0 && rp.errors == 0) {
        /* A replay of nothing passes vacuously: almost always a wrong path. */
        fprintf(stderr, "fuzz-replay " FUZZ_TARGET_NAME ": no inputs found\n");
        rp.errors++;
    }
    if (rp.errors) {
        printf("fuzz-replay " FUZZ_TARGET_NAME ": %u inputs, 0 crashes, %u errors\n", rp.inputs,
               rp.errors);
        return 1;
    }
    printf("fuzz-replay " FUZZ_TARGET_NAME ": %u inputs, 0 crashes\n", rp.inputs);
    return 0;
}

#ifdef FUZZ_WITH_AFL
/* AFL++ persistent mode: one process runs up to 100000 inputs between forks.
 * The harness gets an exact-size heap copy, not AFL's 1 MiB buffer, so an
 * over-read is an ASan crash instead of a silent read of stale bytes. */
static int afl_main(void)
{
    __AFL_INIT();
    const unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(100000)) {
        size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
        run_one(buf, len);
    }
    return 0;
}
#endif

int main(int argc, char **argv)
{
#ifdef FUZZ_WITH_AFL
    if (argc < 2)
        return afl_main();
#endif
    return replay_main(argc, argv);
}
