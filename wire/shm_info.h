/* SPDX-License-Identifier: MIT */
/* The info object (SPEC 2.2, R2.4-R2.8) and the writer's liveness mark: private interface. */
#ifndef SHMCHOP_SHM_INFO_H
#define SHMCHOP_SHM_INFO_H

#include <shmchop/segment.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The object in shared memory, in the platform's C ABI (44 bytes on
 * x86-64: supported at 8, namePostFix at 9, detach at 41). */
struct shmchop__info_obj {
    int32_t magic;   /* SHMCHOP_INFO_MAGIC */
    int32_t version; /* SHMCHOP_INFO_VERSION */
    bool supported;  /* a reader that understands postfixes is attached */
    char postfix[SHMCHOP_POSTFIX_SIZE];
    bool detach;     /* the writer is gone */
};

/* The fields copied out (under the info mutex), not yet trusted. */
typedef struct shmchop__info_view {
    int32_t magic;
    int32_t version;
    bool supported;
    bool detach;
    char postfix_raw[SHMCHOP_POSTFIX_SIZE];
} shmchop__info_view;

/* A handle on one info object. */
typedef struct shmchop__info {
    struct shmchop__info_obj *obj; /* NULL when not open */
    int fd;                        /* kept open: the writer's OFD lock, the
                                      reader's unlink check */
    bool read_only;                /* a second hard link (R2.12): never written */
    char name[SHMCHOP_SHM_OBJ_NAME_SIZE];
} shmchop__info;

/*
 * Writer: create the info object with O_EXCL (-EEXIST when it exists),
 * take the OFD write lock that marks a live writer of this project (held
 * until the descriptor closes, also on SIGKILL), set the mode, size it
 * and map it. The fields are left zero for the caller to set under the
 * info mutex.
 */
int shmchop__info_create(shmchop__info *in, const char *name, unsigned mode, char *err,
                         size_t errlen);

/*
 * Open an existing info object read-write. Returns 0, -ENOENT, or
 * SHMCHOP_E_NOT_READY when it is still smaller than the struct (being
 * created). With checks, applies the R2.11 checks: a warning is returned
 * through *warned/warn (or SHMCHOP_E_UNSAFE_OBJECT with strict).
 */
int shmchop__info_open(shmchop__info *in, const char *name, bool checks, bool strict,
                       unsigned *warned, char *warn, size_t warnlen, char *err, size_t errlen);

void shmchop__info_close(shmchop__info *in);

/* Copy the fields out / set them; the caller holds the info mutex.
 * init_fields writes the magic last, with release. Each access is guarded
 * (R2.15): 0, or SHMCHOP_E_SEGMENT_GONE when the object was truncated
 * under the mapping. Setters write nothing into a read_only object (a
 * second hard link, R2.12) and return 0. */
int shmchop__info_read(const shmchop__info *in, shmchop__info_view *v);
int shmchop__info_init_fields(shmchop__info *in);
int shmchop__info_set_supported(shmchop__info *in);
int shmchop__info_set_detach(shmchop__info *in);
int shmchop__info_set_postfix(shmchop__info *in, const char postfix[SHMCHOP_POSTFIX_SIZE]);

/* 1 when another open file description holds the writer's OFD lock on
 * fd (a live writer of this project), 0 when not, -errno on failure. */
int shmchop__info_held(int fd);

/*
 * R2.11: whether a name is held by a live writer, the one rule of the
 * writer taking a name and of `ls`/`gc`. ofd_held is shmchop__info_held()
 * of its info object: 1 means a writer of this project runs. Otherwise a
 * writer that takes no OFD lock (the compatible peer) holds it when the
 * info object carries its magic (whatever its version: an object of
 * another version may well be live, so it is left alone), detach is clear
 * and the extension block's writer pid is alive and not this process (a
 * writer of this process that still ran would hold the lock: a block
 * naming us is a leftover of ours).
 */
bool shmchop__name_held(int ofd_held, uint32_t info_magic, bool detach, uint32_t block_pid);

#endif
