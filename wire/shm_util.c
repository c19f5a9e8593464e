/* SPDX-License-Identifier: MIT */
/* Helpers of the live-segment modules: messages, time, process liveness, object checks. */
#include "shm_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void shmchop__errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* One line: a name or a value with a newline must not split it. */
    for (char *p = err; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

uint64_t shmchop__now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void shmchop__sleep_ns(uint64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
                           .tv_nsec = (long)(ns % 1000000000u) };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int shmchop__proc_stat(uint32_t pid, char *state, uint64_t *start)
{
    char path[64], buf[1024];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%u/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return n < 0 ? -errno : -EIO;
    buf[n] = '\0';
    /* comm (field 2) may hold spaces and parentheses: field 3 starts after
     * the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || p[2] == '\0')
        return -EIO;
    p += 2;
    if (state)
        *state = *p;
    /* p is at field 3 (the state); step over 19 fields to field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EIO;
        p++;
    }
    if (start)
        *start = strtoull(p, NULL, 10);
    return 0;
}

/* The cached identity of this process; reset in a fork child. Atomics:
 * several threads may fill it at once (with the same values). */
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static uint32_t self_pid;
static uint64_t self_start;

static void self_reset_in_child(void)
{
    __atomic_store_n(&self_pid, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&self_start, 0, __ATOMIC_RELAXED);
}

static void self_register(void)
{
    pthread_atfork(NULL, NULL, self_reset_in_child);
}

static void self_load(void)
{
    pthread_once(&self_once, self_register);
    if (__atomic_load_n(&self_pid, __ATOMIC_ACQUIRE) != 0)
        return;
    uint32_t pid = (uint32_t)getpid();
    uint64_t start = 0;
    if (shmchop__proc_stat(pid, NULL, &start) != 0)
        start = 0;
    __atomic_store_n(&self_start, start, __ATOMIC_RELAXED);
    __atomic_store_n(&self_pid, pid, __ATOMIC_RELEASE);
}

uint32_t shmchop__self_pid(void)
{
    self_load();
    return __atomic_load_n(&self_pid, __ATOMIC_RELAXED);
}

uint64_t shmchop__self_start(void)
{
    self_load();
    return __atomic_load_n(&self_start, __ATOMIC_RELAXED);
}

int shmchop__pid_alive(uint32_t pid, uint64_t start)
{
    char state = 0;
    uint64_t now_start = 0;

    if (pid == 0)
        return -1;
    if (pid > INT32_MAX)
        return 0; /* no such pid; and kill() would read it as a group */
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 0;
    /* kill() says it exists (or EPERM: exists, another user's). A zombie
     * is dead for our purposes: it holds nothing any more. */
    int rc = shmchop__proc_stat(pid, &state, &now_start);
    if (rc == -ENOENT || rc == -ESRCH)
        return 0;
    if (rc != 0)
        return 1; /* no /proc: trust kill() */
    if (state == 'Z' || state == 'X' || state == 'x')
        return 0;
    if (start != 0 && now_start != 0 && now_start != start)
        return 0; /* the pid was reused by a later process */
    return 1;
}

int shmchop__check_object(const char *name, const struct stat *sb, bool strict, char *warn,
                          size_t warnlen)
{
    if (!S_ISREG(sb->st_mode)) {
        shmchop__errf(warn, warnlen, "%s: not a regular file (mode 0%o)", name,
                      (unsigned)sb->st_mode);
        return SHMCHOP_E_UNSAFE_OBJECT;
    }
    if (sb->st_uid != geteuid()) {
        shmchop__errf(warn, warnlen, "%s: owned by uid %u, not by uid %u", name,
                      (unsigned)sb->st_uid, (unsigned)geteuid());
        return strict ? SHMCHOP_E_UNSAFE_OBJECT : 1;
    }
    if (sb->st_mode & (S_IWGRP | S_IWOTH)) {
        shmchop__errf(warn, warnlen, "%s: mode 0%03o is writable by group or others", name,
                      (unsigned)(sb->st_mode & 0777));
        return strict ? SHMCHOP_E_UNSAFE_OBJECT : 1;
    }
    return 0;
}

int shmchop__postfix_random(char postfix[SHMCHOP_POSTFIX_SIZE])
{
    unsigned char rnd[64];
    size_t have = 0, used = 0;
    int n = 0;

    /* Rejection sampling keeps the 26 letters equally likely: bytes >= 234
     * (9 * 26) are dropped. */
    while (n < SHMCHOP_POSTFIX_LEN) {
        if (used == have) {
            ssize_t got = getrandom(rnd, sizeof(rnd), 0);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                return -errno;
            }
            have = (size_t)got;
            used = 0;
            continue;
        }
        unsigned char b = rnd[used++];
        if (b < 234)
            postfix[n++] = (char)('a' + b % 26);
    }
    memset(postfix + n, 0, SHMCHOP_POSTFIX_SIZE - (size_t)n);
    return 0;
}

int shmchop__postfix_take(const char *raw, char out[SHMCHOP_POSTFIX_SIZE], const char *object,
                          char *err, size_t errlen)
{
    size_t len = 0;

    while (len < SHMCHOP_POSTFIX_SIZE && raw[len] != '\0')
        len++;
    if (len == SHMCHOP_POSTFIX_SIZE) {
        shmchop__errf(err, errlen, "%s: namePostFix is not NUL-terminated within 32 bytes",
                      object);
        return SHMCHOP_E_BAD_INFO;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c <= 0x20 || c >= 0x7f || c == '/') {
            shmchop__errf(err, errlen, "%s: namePostFix has byte 0x%02x at %zu", object, c, i);
            return SHMCHOP_E_BAD_INFO;
        }
    }
    memcpy(out, raw, len);
    memset(out + len, 0, SHMCHOP_POSTFIX_SIZE - len);
    return 0;
}
