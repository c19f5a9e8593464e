/* SPDX-License-Identifier: MIT */
/* The info object: create, open, fields, and the OFD lock marking a live writer (R2.4-R2.8, R2.11). */
#include "shm_info.h"

#include "image_internal.h"
#include "shm_access.h"
#include "shm_object.h"
#include "shm_util.h"
#include "sigbus_guard.h"

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
    /* Reserved at creation (R2.15): a full /dev/shm fails here. */
    rc = shmchop__obj_create(name, mode, SHMCHOP_SHM_INFO_SIZE, &in->fd, err, errlen);
    if (rc != 0) {
        in->fd = -1;
        return rc;
    }
    /* The lock before anyone can read the magic: a rival inspecting the
     * name sees it held at once. */
    if ((rc = ofd_lock(in->fd)) != 0) {
        shmchop__errf(err, errlen, "%s: cannot lock: %s", name, strerror(-rc));
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
    /* Kind before use (R2.12): a FIFO here is an error at once. */
    rc = shmchop__obj_open(name, O_RDWR, &in->fd, &sb, err, errlen);
    if (rc != 0) {
        in->fd = -1;
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
    /* A second link is another file too: never written to (R2.12). */
    if (shmchop__obj_check_links(&sb, name, rc > 0 ? NULL : warn, warnlen) != 0) {
        in->read_only = true;
        if (checks && warned && rc == 0)
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

/*
 * Every access to the mapping is guarded (R2.15): whoever may truncate the
 * object (its owner, or anybody with a 0666 one) makes the access fail
 * with SHMCHOP_E_SEGMENT_GONE, never the process. Reads copy the 44
 * bytes out once and decode the copy; writes store through the guard.
 */
static int guarded_store(shmchop__info *in, void *field, const void *src, size_t n)
{
    if (!in->obj || in->read_only)
        return in->obj ? 0 : SHMCHOP_E_SEGMENT_GONE;
    return shmchop__guarded_memcpy(field, src, n, in->obj, SHMCHOP_SHM_INFO_SIZE);
}

int shmchop__info_read(const shmchop__info *in, shmchop__info_view *v)
{
    struct shmchop__info_obj copy;
    int rc;

    memset(v, 0, sizeof(*v));
    if (!in->obj)
        return SHMCHOP_E_SEGMENT_GONE;
    rc = shmchop__guarded_memcpy(&copy, in->obj, sizeof(copy), in->obj, SHMCHOP_SHM_INFO_SIZE);
    if (rc != 0)
        return rc;
    /* Field by field, each once: the view is what gets validated. */
    v->magic = copy.magic;
    v->version = copy.version;
    /* Any byte but 0 is true: a bool's value bits are not trusted. */
    v->supported = *(const unsigned char *)&copy.supported != 0;
    memcpy(v->postfix_raw, copy.postfix, sizeof(v->postfix_raw));
    v->detach = *(const unsigned char *)&copy.detach != 0;
    return 0;
}

int shmchop__info_init_fields(shmchop__info *in)
{
    struct shmchop__info_obj o;
    const int32_t magic = SHMCHOP_INFO_MAGIC;
    int rc;

    memset(&o, 0, sizeof(o));
    o.version = SHMCHOP_INFO_VERSION;
    /* Everything but the magic, then the magic last, with release:
     * whoever sees the magic sees the fields (shm_access.h). */
    rc = guarded_store(in, (char *)in->obj + sizeof(o.magic), (const char *)&o + sizeof(o.magic),
                       sizeof(o) - sizeof(o.magic));
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return rc ? rc : guarded_store(in, &in->obj->magic, &magic, sizeof(magic));
}

int shmchop__info_set_supported(shmchop__info *in)
{
    static const bool yes = true;
    return guarded_store(in, &in->obj->supported, &yes, sizeof(yes));
}

int shmchop__info_set_detach(shmchop__info *in)
{
    static const bool yes = true;
    return guarded_store(in, &in->obj->detach, &yes, sizeof(yes));
}

int shmchop__info_set_postfix(shmchop__info *in, const char postfix[SHMCHOP_POSTFIX_SIZE])
{
    return guarded_store(in, in->obj->postfix, postfix, SHMCHOP_POSTFIX_SIZE);
}

bool shmchop__name_held(int ofd_held, uint32_t info_magic, bool detach, uint32_t block_pid)
{
    if (ofd_held == 1)
        return true;
    return info_magic == SHMCHOP_INFO_MAGIC && !detach && block_pid != 0 &&
           block_pid != shmchop__self_pid() && shmchop__pid_alive(block_pid, 0) == 1;
}
