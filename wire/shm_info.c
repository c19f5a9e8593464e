/* SPDX-License-Identifier: MIT */
/* The info object: create, open, fields, and the OFD lock marking a live writer (R2.4-R2.8, R2.11). */
#include "shm_info.h"

#include "image_internal.h"
#include "shm_access.h"
#include "shm_util.h"

#include <shmchop/image.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
_Static_assert(offsetof(struct shmchop__info_obj, supported) == 8, "supported at 8 (SPEC 2.2)");
_Static_assert(offsetof(struct shmchop__info_obj, postfix) == 9, "namePostFix at 9 (SPEC 2.2)");
_Static_assert(offsetof(struct shmchop__info_obj, detach) == 41, "detach at 41 (SPEC 2.2)");
_Static_assert(sizeof(struct shmchop__info_obj) == SHMCHOP_SHM_INFO_SIZE, "44 bytes (SPEC 2.2)");
#endif

/*
 * Why an OFD lock: after a SIGKILL the writer's objects look healthy
 * (R2.7b), and an image without the extension block names no pid. The
 * kernel drops an open-file-description lock when the last descriptor of
 * that description closes, which process exit does, so "somebody holds
 * the lock" is an exact liveness test that needs no pid. The compatible
 * peer never looks at it. (A writer that forks shares the description
 * with its child until the child closes it or execs: O_CLOEXEC.)
 */
static int ofd_lock(int fd)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

    return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

int shmchop__info_held(int fd)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return -errno;
    return fl.l_type != F_UNLCK;
}

static int map_info(shmchop__info *in, char *err, size_t errlen)
{
    void *p = mmap(NULL, SHMCHOP_SHM_INFO_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, in->fd, 0);

    if (p == MAP_FAILED) {
        int e = -errno;
        shmchop__errf(err, errlen, "%s: cannot map: %s", in->name, strerror(-e));
        return e;
    }
    in->obj = p;
    return 0;
}

int shmchop__info_create(shmchop__info *in, const char *name, unsigned mode, char *err,
                         size_t errlen)
{
    int rc;

    memset(in, 0, sizeof(*in));
    in->fd = -1;
    snprintf(in->name, sizeof(in->name), "%s", name);
    in->fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (in->fd < 0) {
        rc = -errno;
        if (rc != -EEXIST)
            shmchop__errf(err, errlen, "%s: cannot create: %s", name, strerror(-rc));
        return rc;
    }
    /* The lock first: a rival inspecting the name sees it held at once. */
    if ((rc = ofd_lock(in->fd)) != 0 || fchmod(in->fd, (mode_t)mode) != 0 ||
        ftruncate(in->fd, SHMCHOP_SHM_INFO_SIZE) != 0) {
        rc = rc ? rc : -errno;
        shmchop__errf(err, errlen, "%s: cannot set up: %s", name, strerror(-rc));
        goto fail;
    }
    if ((rc = map_info(in, err, errlen)) != 0)
        goto fail;
    return 0;
fail:
    shm_unlink(name);
    close(in->fd);
    in->fd = -1;
    return rc;
}

int shmchop__info_open(shmchop__info *in, const char *name, bool checks, bool strict,
                       unsigned *warned, char *warn, size_t warnlen, char *err, size_t errlen)
{
    struct stat sb;
    int rc;

    memset(in, 0, sizeof(*in));
    in->fd = -1;
    snprintf(in->name, sizeof(in->name), "%s", name);
    rc = shmchop__shm_open_stat(name, O_RDWR, 0, &in->fd, &sb);
    if (rc != 0) {
        in->fd = -1;
        if (rc != -ENOENT)
            shmchop__errf(err, errlen, "%s: cannot open: %s", name, strerror(-rc));
        return rc;
    }
    if (checks) {
        rc = shmchop__check_object(name, &sb, strict, warn, warnlen);
        if (rc < 0) {
            shmchop__errf(err, errlen, "%s", warn);
            goto fail;
        }
        if (rc > 0 && warned)
            (*warned)++;
    }
    if (sb.st_size < SHMCHOP_SHM_INFO_SIZE) {
        shmchop__errf(err, errlen, "%s: size %lld, smaller than the %d-byte info (being created?)",
                      name, (long long)sb.st_size, SHMCHOP_SHM_INFO_SIZE);
        rc = SHMCHOP_E_NOT_READY;
        goto fail;
    }
    if ((rc = map_info(in, err, errlen)) != 0)
        goto fail;
    return 0;
fail:
    close(in->fd);
    in->fd = -1;
    return rc;
}

void shmchop__info_close(shmchop__info *in)
{
    if (in->obj)
        munmap(in->obj, SHMCHOP_SHM_INFO_SIZE);
    if (in->fd >= 0)
        close(in->fd);
    in->obj = NULL;
    in->fd = -1;
}

void shmchop__info_read(const shmchop__info *in, shmchop__info_view *v)
{
    const struct shmchop__info_obj *o = in->obj;

    /* Field by field, each once: the view is what gets validated. */
    v->magic = shmchop__shm_load_i32(&o->magic);
    v->version = shmchop__shm_load_i32(&o->version);
    v->supported = shmchop__shm_load_bool(&o->supported);
    memcpy(v->postfix_raw, o->postfix, sizeof(v->postfix_raw));
    v->detach = shmchop__shm_load_bool(&o->detach);
}

void shmchop__info_init_fields(shmchop__info *in)
{
    struct shmchop__info_obj *o = in->obj;

    shmchop__shm_store_i32(&o->version, SHMCHOP_INFO_VERSION);
    shmchop__shm_store_bool(&o->supported, false);
    memset(o->postfix, 0, sizeof(o->postfix));
    shmchop__shm_store_bool(&o->detach, false);
    /* Last, with release: whoever sees the magic sees the fields above. */
    shmchop__shm_store_i32_release(&o->magic, SHMCHOP_INFO_MAGIC);
}

void shmchop__info_set_supported(shmchop__info *in)
{
    shmchop__shm_store_bool(&in->obj->supported, true);
}

void shmchop__info_set_detach(shmchop__info *in)
{
    shmchop__shm_store_bool(&in->obj->detach, true);
}

void shmchop__info_set_postfix(shmchop__info *in, const char postfix[SHMCHOP_POSTFIX_SIZE])
{
    memcpy(in->obj->postfix, postfix, SHMCHOP_POSTFIX_SIZE);
}

int shmchop__data_ext_pid(const char *data_name, uint32_t *pid, uint64_t *size)
{
    const size_t head = SHMCHOP_EXT_OFFSET + SHMCHOP_EXT_SIZE;
    unsigned char copy[SHMCHOP_EXT_OFFSET + SHMCHOP_EXT_SIZE];
    shmchop_ext ext;
    struct stat sb;
    int fd, rc;

    *pid = 0;
    *size = 0;
    rc = shmchop__shm_open_stat(data_name, O_RDONLY, 0, &fd, &sb);
    if (rc != 0)
        return rc;
    *size = (uint64_t)sb.st_size;
    if (!S_ISREG(sb.st_mode) || sb.st_size < (off_t)head) {
        close(fd);
        return 0;
    }
    void *p = mmap(NULL, head, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -errno;
    /* Copied out guarded, then decoded from the copy; without the data
     * mutex, so a torn pid only makes one liveness answer wrong. */
    if ((rc = shmchop__sigbus_install()) == 0 &&
        shmchop__guarded_memcpy(copy, p, head, p, head) == 0 &&
        shmchop__ext_find(copy, head, &ext))
        *pid = ext.writer_pid;
    munmap(p, head);
    return rc;
}

bool shmchop__name_held(int ofd_held, uint32_t info_magic, bool detach, uint32_t block_pid)
{
    if (ofd_held == 1)
        return true;
    return info_magic == SHMCHOP_INFO_MAGIC && !detach && block_pid != 0 &&
           block_pid != shmchop__self_pid() && shmchop__pid_alive(block_pid, 0) == 1;
}
