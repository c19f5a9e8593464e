/* SPDX-License-Identifier: MIT */
/* A name's objects as hostile input: kind before use, identity by content, who uses them, reserved creation (SPEC 2.3). */
#ifndef SHMCHOP_SHM_OBJECT_H
#define SHMCHOP_SHM_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* What an object of a name is supposed to be (R2.13). */
typedef enum shmchop__obj_kind {
    SHMCHOP__OBJ_DATA,  /* starts with the CHOP or the global magic, or is empty, or
                           reads as zeros there at a size no mutex object has
                           (created, never published) */
    SHMCHOP__OBJ_INFO,  /* at least 44 bytes, the info magic first */
    SHMCHOP__OBJ_MUTEX, /* exactly 96 (compatible peer) or 128 (ours) bytes */
} shmchop__obj_kind;

/* "data object", "info object", "mutex object". */
const char *shmchop__obj_kind_name(shmchop__obj_kind kind);

/*
 * R2.12: shm_open(name, flags) with O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC added,
 * then fstat, before anything reads, maps or writes the object: a FIFO at
 * the path cannot block the open, a symlink is not followed, and anything
 * but a regular file is SHMCHOP_E_UNSAFE_OBJECT ("NAME: is a FIFO, not a
 * regular file"), closed at once. On 0 the caller owns *fd; *sb is its
 * fstat. -errno for the system's failures (-ENOENT: no such object).
 */
int shmchop__obj_open(const char *name, int flags, int *fd, struct stat *sb, char *err,
                      size_t errlen);

/*
 * R2.13: whether the object open as fd (sb its fstat) has the content of
 * `kind`, read with pread (never through a mapping, so a truncation
 * cannot fault). Returns 0, or SHMCHOP_E_UNSAFE_OBJECT with "NAME: is
 * not a data object (...)" naming what was found, or -errno.
 */
int shmchop__obj_identify(int fd, const struct stat *sb, shmchop__obj_kind kind, const char *name,
                          char *err, size_t errlen);

/*
 * R2.12: an object with more than one hard link is another file too.
 * Returns 0 when sb has one link, else 1 with the warning in err.
 */
int shmchop__obj_check_links(const struct stat *sb, const char *name, char *err, size_t errlen);

/* Who uses one object (R2.14): 1 yes (the first pid found), 0 no, -1
 * unknown; the writers the same, counting only writable mappings and
 * descriptors open for writing. */
typedef struct shmchop__obj_use {
    int users;
    uint32_t user_pid;
    int writers;
    uint32_t writer_pid;
} shmchop__obj_use;

/* shmchop__obj_in_use() for n objects in one pass over /proc (NULL
 * entries are skipped and read as unused). */
void shmchop__objs_in_use(const struct stat *const sbs[], size_t n, shmchop__obj_use out[]);

/*
 * R2.14: whether a live process other than this one maps or holds open
 * the object whose fstat is sb, as /proc/<pid>/maps and /proc/<pid>/fd
 * show (matched by device and inode, so a rename or a collision cannot
 * fool it). With writers_only, only a writable shared mapping or a
 * descriptor open for writing counts. Returns 1 (the first such pid in
 * *pid, may be NULL), 0 none, or -1 unknown: some process's maps could not
 * be read (another user's, without privilege), in which case *pid is that
 * process. Makes many system calls: for attach, ls, gc and take-over,
 * never for a steady-state read.
 */
int shmchop__obj_in_use(const struct stat *sb, bool writers_only, uint32_t *pid);

/*
 * R2.14: whether process pid maps or holds open the object (sb): 1 yes,
 * 0 no (or no such process), -1 unknown (not allowed to look). A pid
 * recorded in an object counts only when this says 1.
 */
int shmchop__pid_uses_object(uint32_t pid, const struct stat *sb, bool writers_only);

/*
 * R2.15: create the object with O_EXCL, mode `mode` (umask does not
 * apply), and reserve its `size` bytes with posix_fallocate, so a full
 * /dev/shm is an error here ("no space in /dev/shm for N bytes of NAME",
 * -ENOSPC) and never a SIGBUS later. Nothing half-made is left on
 * failure. -EEXIST when the name exists. On 0 the caller owns *fd.
 */
int shmchop__obj_create(const char *name, unsigned mode, size_t size, int *fd, char *err,
                        size_t errlen);

/*
 * R2.15: grow or shrink an object we own to size bytes, reserved like a
 * new one. Returns 0, -ENOSPC with the message, or -errno.
 */
int shmchop__obj_resize(int fd, const char *name, size_t size, char *err, size_t errlen);

/*
 * One object of a name as found, for the decisions of ls, gc and the
 * writer taking a name: nothing is mapped, written or locked.
 */
typedef struct shmchop__obj_probe {
    bool exists;
    bool sound;              /* a regular file with one link, identified as its kind */
    char why[256];           /* when exists && !sound: the finding, naming the object */
    struct stat sb;          /* when it could be opened */
    unsigned char head[128]; /* its first bytes (pread), head_len of them */
    size_t head_len;
    shmchop__obj_use use;    /* set by shmchop__probes_in_use() */
} shmchop__obj_probe;

/* Probe object `name` of `kind` into *p (always filled). Returns 0, or
 * -errno when /dev/shm itself cannot be asked. */
int shmchop__obj_probe_one(const char *name, shmchop__obj_kind kind, shmchop__obj_probe *p);

/* Unlink name only while it still is the object open as fd (a writer
 * removing its own objects must not remove whatever replaced them).
 * Returns 0 (also when name is gone or is another object now) or -errno. */
int shmchop__obj_unlink_own(const char *name, int fd);

/*
 * R2.14 for a lock whose holder is not recorded (a compatible peer's
 * 96-byte mutex object): 1 when it is provably dead -- every other live
 * process that maps or holds the object is one of this project's (marked
 * with shmchop__obj_mark) and none of them holds the lock -- else 0. A
 * scan of /proc: for a wait that has lasted, never for a fast path.
 */
int shmchop__obj_unknown_holder_dead(const struct stat *sb);

/* Set (on) or clear this process's mark on a mutex object's descriptor:
 * holder false, "one of ours maps it" (read lock, byte 1); holder true,
 * "one of ours holds its R2.1 lock" (write lock, byte 0). OFD locks: the
 * kernel drops them with the process. 0 or -errno. */
int shmchop__obj_mark(int fd, bool holder, bool on);

/* Who uses each probed object, in one pass over /proc. */
void shmchop__probes_in_use(shmchop__obj_probe *const ps[], size_t n);

/* Whether gc may unlink what it probed: sound and nobody maps or holds it. */
bool shmchop__obj_removable(const shmchop__obj_probe *p);

#endif
