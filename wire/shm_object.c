/* SPDX-License-Identifier: MIT */
/* A name's objects as hostile input: kind before use, identity by content, who uses them, reserved creation (SPEC 2.3). */
#include "shm_object.h"

#include "shm_util.h"

#include <shmchop/error.h>
#include <shmchop/image.h>
#include <shmchop/segment.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

const char *shmchop__obj_kind_name(shmchop__obj_kind kind)
{
    switch (kind) {
    case SHMCHOP__OBJ_DATA: return "data object";
    case SHMCHOP__OBJ_INFO: return "info object";
    case SHMCHOP__OBJ_MUTEX: return "mutex object";
    }
    return "object";
}

/* The global segment's magic, "SMG1" (SPEC 3): its data object is a data object too. */
#define GLOBAL_MAGIC 0x31474D53u

const char *shmchop_file_kind(unsigned mode)
{
    if (S_ISREG(mode))
        return "a regular file";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "an object of unknown kind";
}

int shmchop__obj_open(const char *name, int flags, int *fd, struct stat *sb, char *err,
                      size_t errlen)
{
    int f = shm_open(name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);

    if (f < 0) {
        int e = -errno;
        /* O_NOFOLLOW on a symlink: say what it is, not "too many links". */
        if (e == -ELOOP) {
            shmchop__errf(err, errlen, "%s: is a symbolic link, not a regular file", name);
            return SHMCHOP_E_UNSAFE_OBJECT;
        }
        if (e == -EISDIR) {
            shmchop__errf(err, errlen, "%s: is a directory, not a regular file", name);
            return SHMCHOP_E_UNSAFE_OBJECT;
        }
        shmchop__errf(err, errlen, "%s: cannot open: %s", name, strerror(-e));
        return e;
    }
    if (fstat(f, sb) != 0) {
        int e = -errno;
        shmchop__errf(err, errlen, "%s: cannot stat: %s", name, strerror(-e));
        close(f);
        return e;
    }
    if (!S_ISREG(sb->st_mode)) {
        shmchop__errf(err, errlen, "%s: is %s, not a regular file", name,
                      shmchop_file_kind(sb->st_mode));
        close(f);
        return SHMCHOP_E_UNSAFE_OBJECT;
    }
    *fd = f;
    return 0;
}

int shmchop__obj_check_links(const struct stat *sb, const char *name, char *err, size_t errlen)
{
    if (sb->st_nlink <= 1)
        return 0;
    shmchop__errf(err, errlen, "%s: has %ju hard links: it is another file too", name,
                  (uintmax_t)sb->st_nlink);
    return 1;
}

static uint32_t le32_at(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The first 4 bytes by pread: no mapping, so no fault. */
static int read_magic(int fd, const char *name, uint32_t *magic, char *err, size_t errlen)
{
    unsigned char b[4];
    ssize_t n;

    do
        n = pread(fd, b, sizeof(b), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int e = -errno;
        shmchop__errf(err, errlen, "%s: cannot read: %s", name, strerror(-e));
        return e;
    }
    *magic = n == (ssize_t)sizeof(b) ? le32_at(b) : 0;
    return n == (ssize_t)sizeof(b) ? 0 : 1;
}

static int not_kind(shmchop__obj_kind kind, const char *name, const char *found, char *err,
                    size_t errlen)
{
    shmchop__errf(err, errlen, "%s: is not a %s (%s)", name, shmchop__obj_kind_name(kind), found);
    return SHMCHOP_E_UNSAFE_OBJECT;
}

int shmchop__obj_identify(int fd, const struct stat *sb, shmchop__obj_kind kind, const char *name,
                          char *err, size_t errlen)
{
    char found[96];
    uint32_t magic = 0;
    int rc;

    if (kind == SHMCHOP__OBJ_MUTEX) {
        if (sb->st_size == SHMCHOP_SHM_MUTEX_COMPAT_SIZE || sb->st_size == SHMCHOP_SHM_MUTEX_SIZE)
            return 0;
        snprintf(found, sizeof(found), "%jd bytes, a mutex object has 96 or 128",
                 (intmax_t)sb->st_size);
        return not_kind(kind, name, found, err, errlen);
    }
    if (sb->st_size == 0)
        return kind == SHMCHOP__OBJ_DATA ? 0
                                         : not_kind(kind, name, "empty", err, errlen);
    if ((rc = read_magic(fd, name, &magic, err, errlen)) < 0)
        return rc;
    if (kind == SHMCHOP__OBJ_INFO) {
        if (sb->st_size >= SHMCHOP_SHM_INFO_SIZE && magic == SHMCHOP_INFO_MAGIC)
            return 0;
        snprintf(found, sizeof(found), "%jd bytes, magic 0x%08" PRIX32, (intmax_t)sb->st_size,
                 magic);
        return not_kind(kind, name, found, err, errlen);
    }
    if (rc == 0 && (magic == SHMCHOP_MAGIC || magic == GLOBAL_MAGIC))
        return 0;
    /* Zeros where the magic goes, at a size no mutex object has: a data
     * object created (ftruncate reads as zeros) and never published to,
     * as a writer killed before its first frame leaves it. */
    if (magic == 0 && sb->st_size != SHMCHOP_SHM_MUTEX_COMPAT_SIZE &&
        sb->st_size != SHMCHOP_SHM_MUTEX_SIZE)
        return 0;
    if (sb->st_size == SHMCHOP_SHM_MUTEX_COMPAT_SIZE || sb->st_size == SHMCHOP_SHM_MUTEX_SIZE)
        snprintf(found, sizeof(found), "%jd bytes: a mutex object", (intmax_t)sb->st_size);
    else if (magic == SHMCHOP_INFO_MAGIC)
        snprintf(found, sizeof(found), "the info magic: an info object");
    else
        snprintf(found, sizeof(found), "%jd bytes, magic 0x%08" PRIX32, (intmax_t)sb->st_size,
                 magic);
    return not_kind(kind, name, found, err, errlen);
}

/* ---- who uses an object (R2.14) ---- */

/* One line of /proc/<pid>/maps: "lo-hi perms offset MM:mm inode path".
 * Returns the index of the object it maps, or -1; *writable its perms. */
static int maps_line_object(const char *line, const struct stat *const sbs[], size_t n,
                            bool *writable)
{
    char perms[8];
    unsigned maj, min;
    unsigned long long ino;

    if (sscanf(line, "%*x-%*x %7s %*x %x:%x %llu", perms, &maj, &min, &ino) != 4 || ino == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (sbs[i] && ino == (unsigned long long)sbs[i]->st_ino &&
            maj == major(sbs[i]->st_dev) && min == minor(sbs[i]->st_dev)) {
            *writable = perms[1] == 'w';
            return (int)i;
        }
    return -1;
}

static void note_use(shmchop__obj_use *u, uint32_t pid, bool writable)
{
    if (u->users != 1) {
        u->users = 1;
        u->user_pid = pid;
    }
    if (writable && u->writers != 1) {
        u->writers = 1;
        u->writer_pid = pid;
    }
}

/* Mappings of pid: 0, or -errno when its maps cannot be read. */
static int pid_maps(const char *pid, uint32_t v, const struct stat *const sbs[], size_t n,
                    shmchop__obj_use out[])
{
    char path[300], *line = NULL;
    size_t cap = 0;
    int rc = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%s/maps", pid);
    f = fopen(path, "re");
    if (!f)
        return -errno;
    while (getline(&line, &cap, f) > 0) {
        bool w = false;
        int i = maps_line_object(line, sbs, n, &w);
        if (i >= 0)
            note_use(&out[i], v, w);
    }
    if (ferror(f))
        rc = -EACCES;
    free(line);
    fclose(f);
    return rc;
}

/* Whether descriptor fd of pid was opened for writing (fdinfo "flags:"). */
static bool fd_writable(const char *pid, const char *fd)
{
    char path[320], buf[256];
    unsigned long flags = 0;
    bool writable = true; /* unknown counts as a writer: the safe side */
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
    f = fopen(path, "re");
    if (!f)
        return writable;
    while (fgets(buf, sizeof(buf), f))
        if (sscanf(buf, "flags: %lo", &flags) == 1) {
            writable = (flags & O_ACCMODE) != O_RDONLY;
            break;
        }
    fclose(f);
    return writable;
}

/* Open descriptors of pid: 0, or -errno when they cannot be listed. */
static int pid_fds(const char *pid, uint32_t v, const struct stat *const sbs[], size_t n,
                   shmchop__obj_use out[])
{
    char path[300];
    struct dirent *de;
    int dfd;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%s/fd", pid);
    d = opendir(path);
    if (!d)
        return -errno;
    dfd = dirfd(d);
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.' || fstatat(dfd, de->d_name, &st, 0) != 0)
            continue; /* closed meanwhile */
        for (size_t i = 0; i < n; i++)
            if (sbs[i] && st.st_ino == sbs[i]->st_ino && st.st_dev == sbs[i]->st_dev)
                note_use(&out[i], v, fd_writable(pid, de->d_name));
    }
    closedir(d);
    return 0;
}

/*
 * A process whose /proc entries we may not read (another user's, and we
 * are not privileged) can still use an object when the object's mode
 * lets that user open it. Root's processes are the exception we cannot
 * see: a non-root caller takes them as not using its objects (design
 * notes in the README).
 */
static bool unreadable_may_use(const char *pid, const struct stat *sb)
{
    char path[300];
    struct stat ps;

    snprintf(path, sizeof(path), "/proc/%s", pid);
    if (stat(path, &ps) != 0 || ps.st_uid == 0)
        return false;
    if (ps.st_uid == sb->st_uid)
        return (sb->st_mode & S_IRWXU) != 0;
    return (sb->st_mode & (S_IRWXG | S_IRWXO)) != 0;
}

/* Everything pid does with the objects; unknown ones marked -1. */
static void pid_uses(const char *pid, uint32_t v, const struct stat *const sbs[], size_t n,
                     shmchop__obj_use out[])
{
    int m = pid_maps(pid, v, sbs, n, out);
    int h = pid_fds(pid, v, sbs, n, out);

    if ((m == 0 && h == 0) || m == -ENOENT || h == -ENOENT)
        return; /* fully seen, or gone meanwhile */
    for (size_t i = 0; i < n; i++)
        if (sbs[i] && out[i].users == 0 && unreadable_may_use(pid, sbs[i])) {
            out[i].users = -1;
            out[i].user_pid = v;
            if (out[i].writers == 0) {
                out[i].writers = -1;
                out[i].writer_pid = v;
            }
        }
}

void shmchop__objs_in_use(const struct stat *const sbs[], size_t n, shmchop__obj_use out[])
{
    uint32_t self = shmchop__self_pid();
    struct dirent *de;
    DIR *d;

    memset(out, 0, n * sizeof(*out));
    d = opendir("/proc");
    if (!d) {
        for (size_t i = 0; i < n; i++)
            out[i].users = out[i].writers = sbs[i] ? -1 : 0;
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char *end;
        unsigned long v = strtoul(de->d_name, &end, 10);
        if (*end || v == 0 || v > INT32_MAX || (uint32_t)v == self)
            continue;
        pid_uses(de->d_name, (uint32_t)v, sbs, n, out);
    }
    closedir(d);
}

int shmchop__obj_in_use(const struct stat *sb, bool writers_only, uint32_t *pid)
{
    const struct stat *sbs[1] = { sb };
    shmchop__obj_use u;

    shmchop__objs_in_use(sbs, 1, &u);
    if (pid)
        *pid = writers_only ? u.writer_pid : u.user_pid;
    return writers_only ? u.writers : u.users;
}

int shmchop__pid_uses_object(uint32_t pid, const struct stat *sb, bool writers_only)
{
    const struct stat *sbs[1] = { sb };
    shmchop__obj_use u = { 0 };
    char p[16];

    if (pid == 0 || pid > INT32_MAX)
        return 0;
    snprintf(p, sizeof(p), "%" PRIu32, pid);
    int m = pid_maps(p, pid, sbs, 1, &u);
    int h = pid_fds(p, pid, sbs, 1, &u);
    int r = writers_only ? u.writers : u.users;
    if (r == 1 || m == -ENOENT || h == -ENOENT)
        return r == 1 ? 1 : 0;
    return m < 0 || h < 0 ? -1 : 0;
}

/* ---- reserved creation (R2.15) ---- */

static int reserve(int fd, const char *name, size_t size, char *err, size_t errlen)
{
    int e;

    if (size == 0)
        return 0;
    do
        e = posix_fallocate(fd, 0, (off_t)size);
    while (e == EINTR);
    if (e == ENOSPC) {
        shmchop__errf(err, errlen, "no space in /dev/shm for %zu bytes of %s", size, name);
        return -ENOSPC;
    }
    if (e != 0) {
        shmchop__errf(err, errlen, "%s: cannot reserve %zu bytes: %s", name, size, strerror(e));
        return -e;
    }
    return 0;
}

int shmchop__obj_create(const char *name, unsigned mode, size_t size, int *fd, char *err,
                        size_t errlen)
{
    int f = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    int rc;

    if (f < 0) {
        rc = -errno;
        if (rc != -EEXIST)
            shmchop__errf(err, errlen, "%s: cannot create: %s", name, strerror(-rc));
        return rc;
    }
    /* umask must not narrow --mode (R2.11). */
    if (fchmod(f, (mode_t)mode) != 0) {
        rc = -errno;
        shmchop__errf(err, errlen, "%s: cannot set mode 0%o: %s", name, mode, strerror(-rc));
    } else {
        rc = reserve(f, name, size, err, errlen);
    }
    if (rc != 0) {
        shm_unlink(name);
        close(f);
        return rc;
    }
    *fd = f;
    return 0;
}

int shmchop__obj_resize(int fd, const char *name, size_t size, char *err, size_t errlen)
{
    if (ftruncate(fd, (off_t)size) != 0) {
        int e = -errno;
        shmchop__errf(err, errlen, "%s: cannot resize to %zu bytes: %s", name, size,
                      strerror(-e));
        return e;
    }
    return reserve(fd, name, size, err, errlen);
}

/* ---- probes (ls, gc, taking a name) ---- */

static void probe_head(int fd, shmchop__obj_probe *p)
{
    ssize_t n;

    do
        n = pread(fd, p->head, sizeof(p->head), 0);
    while (n < 0 && errno == EINTR);
    p->head_len = n > 0 ? (size_t)n : 0;
}

int shmchop__obj_probe_one(const char *name, shmchop__obj_kind kind, shmchop__obj_probe *p)
{
    int fd, rc;

    memset(p, 0, sizeof(*p));
    rc = shmchop__obj_open(name, O_RDONLY, &fd, &p->sb, p->why, sizeof(p->why));
    if (rc == -ENOENT) {
        p->why[0] = '\0';
        return 0;
    }
    p->exists = true;
    if (rc != 0)
        return 0; /* not a regular file, or unreadable: not sound, why says */
    if (shmchop__obj_identify(fd, &p->sb, kind, name, p->why, sizeof(p->why)) == 0 &&
        shmchop__obj_check_links(&p->sb, name, p->why, sizeof(p->why)) == 0) {
        p->sound = true;
        p->why[0] = '\0';
    }
    probe_head(fd, p);
    close(fd);
    return 0;
}

void shmchop__probes_in_use(shmchop__obj_probe *const ps[], size_t n)
{
    const struct stat *sbs[8];
    shmchop__obj_use use[8];

    for (size_t base = 0; base < n; base += 8) {
        size_t k = n - base < 8 ? n - base : 8;
        for (size_t i = 0; i < k; i++)
            sbs[i] = ps[base + i]->exists && ps[base + i]->sb.st_nlink ? &ps[base + i]->sb : NULL;
        shmchop__objs_in_use(sbs, k, use);
        for (size_t i = 0; i < k; i++)
            ps[base + i]->use = use[i];
    }
}

bool shmchop__obj_removable(const shmchop__obj_probe *p)
{
    return p->exists && p->sound && p->use.users == 0;
}

int shmchop__obj_unlink_own(const char *name, int fd)
{
    struct stat mine, now;
    int f;

    if (fd < 0 || fstat(fd, &mine) != 0)
        return 0;
    if (shmchop__obj_open(name, O_RDONLY, &f, &now, NULL, 0) != 0)
        return 0;
    close(f);
    if (now.st_dev != mine.st_dev || now.st_ino != mine.st_ino)
        return 0;
    return shm_unlink(name) == 0 || errno == ENOENT ? 0 : -errno;
}

/* ---- unknown lock holders (R2.14, R2.3b) ---- */

/*
 * This project's processes mark the mutex objects they map: an OFD read
 * lock on byte 1, on a descriptor kept open for the mapping's life; and
 * while one of them holds the R2.1 lock of an object that records no
 * holder (a compatible peer's 96 bytes), an OFD write lock on byte 0.
 * The kernel drops both when the process dies. fdinfo shows them as
 * "lock: N: OFDLCK ADVISORY READ -1 MM:mm:ino 1 1".
 */
static void fd_marks(const char *pid, const char *fd, const struct stat *sb, bool *ours,
                     bool *holds)
{
    char path[320], line[256], kind[16], rw[16];
    unsigned maj, min;
    unsigned long long ino, start, end;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
    if (!(f = fopen(path, "re")))
        return;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "lock: %*d: %15s %*s %15s %*d %x:%x:%llu %llu %llu", kind, rw, &maj,
                   &min, &ino, &start, &end) == 7 &&
            strcmp(kind, "OFDLCK") == 0 && ino == (unsigned long long)sb->st_ino &&
            maj == major(sb->st_dev) && min == minor(sb->st_dev)) {
            *ours |= strcmp(rw, "READ") == 0 && start == 1 && end == 1;
            *holds |= strcmp(rw, "WRITE") == 0 && start == 0 && end == 0;
        }
    fclose(f);
}

/* Where pid maps the object (the first mapping): [*lo, *hi) at file
 * offset *off. */
static bool pid_object_range(const char *pid, const struct stat *sb, unsigned long *lo,
                             unsigned long *hi, unsigned long long *off)
{
    char path[300], *line = NULL;
    size_t cap = 0;
    bool found = false;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%s/maps", pid);
    if (!(f = fopen(path, "re")))
        return false;
    while (!found && getline(&line, &cap, f) > 0) {
        unsigned maj, min;
        unsigned long long ino;
        found = sscanf(line, "%lx-%lx %*s %llx %x:%x %llu", lo, hi, off, &maj, &min, &ino) == 6 &&
                ino == (unsigned long long)sb->st_ino && maj == major(sb->st_dev) &&
                min == minor(sb->st_dev);
    }
    free(line);
    fclose(f);
    return found;
}

/*
 * Whether every thread of pid sleeps in futex() on a word of the object's
 * condition variable (bytes 40..87, SPEC 2.1), as /proc/<pid>/task/<tid>/
 * syscall shows. Such a process waits for the lock -- R2.1's lock waits
 * on cond while `locked` is set, and a holder never waits on its own
 * lock -- so it is not the lock's holder.
 */
static bool pid_only_waits_on_cond(const char *pid, const struct stat *sb)
{
    unsigned long lo, hi;
    unsigned long long off;
    char path[300], buf[256];
    struct dirent *de;
    bool all = true;
    int threads = 0;
    DIR *d;

    if (!pid_object_range(pid, sb, &lo, &hi, &off) || off > 40)
        return false;
    snprintf(path, sizeof(path), "/proc/%s/task", pid);
    if (!(d = opendir(path)))
        return false;
    while (all && (de = readdir(d)) != NULL) {
        long nr = -1;
        unsigned long addr = 0;
        if (de->d_name[0] == '.')
            continue;
        threads++;
        snprintf(path, sizeof(path), "/proc/%s/task/%s/syscall", pid, de->d_name);
        FILE *f = fopen(path, "re");
        all = f && fgets(buf, sizeof(buf), f) && sscanf(buf, "%ld %lx", &nr, &addr) == 2 &&
              nr == SYS_futex && addr >= lo + (40 - off) && addr < lo + (88 - off) && addr < hi;
        if (f)
            fclose(f);
    }
    closedir(d);
    return all && threads > 0;
}

/* What pid is to the object: 0 unrelated, 1 one of ours not holding the
 * lock, 2 a possible holder (ours holding it, or anybody else who maps
 * or holds it), -1 cannot look. */
static int pid_relation(const char *pid, uint32_t v, const struct stat *sb)
{
    const struct stat *sbs[1] = { sb };
    shmchop__obj_use u = { 0 };
    bool ours = false, holds = false;
    char path[300];
    struct dirent *de;
    DIR *d;

    if (pid_maps(pid, v, sbs, 1, &u) == -ENOENT)
        return 0;
    snprintf(path, sizeof(path), "/proc/%s/fd", pid);
    if (!(d = opendir(path)))
        return errno == ENOENT ? 0 : (u.users ? 2 : -1);
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) != 0 ||
            st.st_ino != sb->st_ino || st.st_dev != sb->st_dev)
            continue;
        u.users = 1;
        fd_marks(pid, de->d_name, sb, &ours, &holds);
    }
    closedir(d);
    if (!u.users)
        return 0;
    if (ours && !holds)
        return 1;
    return !ours && pid_only_waits_on_cond(pid, sb) ? 1 : 2;
}

int shmchop__obj_unknown_holder_dead(const struct stat *sb)
{
    uint32_t self = shmchop__self_pid();
    struct dirent *de;
    int dead = 1;
    DIR *d = opendir("/proc");

    if (!d)
        return 0;
    while (dead && (de = readdir(d)) != NULL) {
        char *end;
        unsigned long v = strtoul(de->d_name, &end, 10);
        if (*end || v == 0 || v > INT32_MAX || (uint32_t)v == self)
            continue;
        int rel = pid_relation(de->d_name, (uint32_t)v, sb);
        if (rel == 2 || (rel < 0 && unreadable_may_use(de->d_name, sb)))
            dead = 0;
    }
    closedir(d);
    return dead;
}

int shmchop__obj_mark(int fd, bool holder, bool on)
{
    struct flock fl = { .l_type = on ? (holder ? F_WRLCK : F_RDLCK) : F_UNLCK,
                        .l_whence = SEEK_SET, .l_start = holder ? 0 : 1, .l_len = 1 };

    return fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}
