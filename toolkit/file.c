/* SPDX-License-Identifier: MIT */
/* Files the tools read and write: whole, bounded, never a device (R2.17, R2.18). */
#include "toolkit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shmchop/error.h>
#include <shmchop/segment.h>

/* Read up to `want` bytes; fewer only at end of file. Returns the count or
 * -errno. */
static ssize_t read_full(int fd, unsigned char *buf, size_t want)
{
    size_t got = 0;

    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/*
 * A pipe or device has no size to ask for: read it in growing chunks, one
 * byte past the limit to tell "exactly the limit" from "more". The result
 * is then moved into a buffer of exactly its size.
 */
static int read_stream(int fd, unsigned char **buf, size_t *len)
{
    size_t cap = 0, used = 0;
    unsigned char *p = NULL, *exact;

    for (;;) {
        ssize_t n;
        if (used == cap) {
            size_t next = cap ? cap * 2 : 65536;
            if (next > TK_FILE_MAX + 1)
                next = TK_FILE_MAX + 1;
            unsigned char *q = realloc(p, next);
            if (!q)
                goto nomem;
            p = q;
            cap = next;
        }
        n = read_full(fd, p + used, cap - used);
        if (n < 0) {
            free(p);
            return (int)n;
        }
        used += (size_t)n;
        if (used > TK_FILE_MAX) {
            free(p);
            return SHMCHOP_E_LIMIT;
        }
        if (used < cap)
            break;
    }
    exact = malloc(used ? used : 1);
    if (!exact)
        goto nomem;
    memcpy(exact, p, used);
    free(p);
    *buf = exact;
    *len = used;
    return 0;
nomem:
    free(p);
    return -ENOMEM;
}

/* A regular file: its size is known, one allocation of exactly that. */
static int read_regular(int fd, off_t size, unsigned char **buf, size_t *len)
{
    unsigned char *p;
    ssize_t n;

    if ((uint64_t)size > TK_FILE_MAX)
        return SHMCHOP_E_LIMIT;
    p = malloc(size ? (size_t)size : 1);
    if (!p)
        return -ENOMEM;
    n = read_full(fd, p, (size_t)size);
    if (n < 0) {
        free(p);
        return (int)n;
    }
    /* A file that shrank meanwhile is read as it now is; one that grew is
     * read up to the size it had, which is what fstat promised. */
    *buf = p;
    *len = (size_t)n;
    return 0;
}

int tk_read_file(const char *path, unsigned char **buf, size_t *len, char *err,
                 size_t errlen)
{
    struct stat st;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open: %s", strerror(-rc));
        return rc;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot stat: %s", strerror(-rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        snprintf(err, errlen, "is %s, not an image file", shmchop_file_kind(st.st_mode));
        goto out;
    }
    /* Only a FIFO may wait for its writer; a regular file never blocks. */
    if (S_ISFIFO(st.st_mode) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot read: %s", strerror(-rc));
        goto out;
    }
    if (S_ISREG(st.st_mode))
        rc = read_regular(fd, st.st_size, buf, len);
    else
        rc = read_stream(fd, buf, len);
    if (rc == SHMCHOP_E_LIMIT && S_ISREG(st.st_mode))
        snprintf(err, errlen, "is %lld bytes, larger than the %zu-byte limit",
                 (long long)st.st_size, (size_t)TK_FILE_MAX);
    else if (rc == SHMCHOP_E_LIMIT)
        snprintf(err, errlen, "is larger than the %zu-byte limit", (size_t)TK_FILE_MAX);
    else if (rc)
        snprintf(err, errlen, "cannot read: %s", strerror(-rc));
out:
    close(fd);
    return rc;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* 0 when path is absent or a regular file; else prints why and fails. */
static int check_replaceable(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        tk_error("%s: cannot stat: %s", path, strerror(errno));
        return TK_EXIT_USAGE;
    }
    if (!S_ISREG(st.st_mode)) {
        tk_error("%s: is %s; only a regular file is replaced", path, shmchop_file_kind(st.st_mode));
        return TK_EXIT_USAGE;
    }
    return 0;
}

int tk_write_file(const char *path, const unsigned char *buf, size_t len)
{
    size_t plen = strlen(path);
    char *tmp;
    mode_t mask;
    int fd, rc;

    if (check_replaceable(path))
        return TK_EXIT_USAGE;
    tmp = malloc(plen + sizeof(".XXXXXX"));
    if (!tmp) {
        tk_error("%s: out of memory", path);
        return TK_EXIT_USAGE;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".XXXXXX", sizeof(".XXXXXX"));
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        tk_error("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(tmp);
        return TK_EXIT_USAGE;
    }
    mask = umask(0);
    umask(mask);
    rc = fchmod(fd, 0666 & ~mask) ? -errno : 0;
    if (!rc)
        rc = write_all(fd, buf, len);
    if (close(fd) && !rc)
        rc = -errno;
    /* Checked again just before the rename: a FIFO or device planted
     * meanwhile is refused too (rename would replace it; the window that
     * remains is the rename itself). */
    if (!rc && check_replaceable(path)) {
        unlink(tmp);
        free(tmp);
        return TK_EXIT_USAGE;
    }
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (rc) {
        tk_error("%s: cannot write: %s", path, strerror(-rc));
        unlink(tmp);
    }
    free(tmp);
    return rc ? TK_EXIT_USAGE : 0;
}
