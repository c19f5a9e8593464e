/* SPDX-License-Identifier: MIT */
/* The writer side of a live segment: take a name, publish, resize, close (R2.4, R2.6, R2.8, R2.11). */
#include <shmchop/segment.h>

#include "segment_writer_internal.h"
#include "image_internal.h"
#include "shm_access.h"
#include "shm_util.h"

#include <shmchop/image.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Every change of a mapped image that carries the extension block is the
 * writer half of the sequence lock (R1.17): shmchop__seq_write_begin,
 * the bytes, shmchop__seq_write_end; shm_access.h gives the protocol and
 * the argument. The writer also holds the data mutex (R2.1) around it,
 * for readers that do not use the sequence lock (the compatible peer).
 */

int shmchop__writer_check_size(shmchop_writer *w, size_t size)
{
    if (size < SHMCHOP_HEADER_SIZE || size > INT32_MAX) {
        shmchop__errf(WERR(w), "%s: image size %zu is outside 36..2147483647", w->names.data,
                      size);
        return SHMCHOP_E_USAGE;
    }
    return 0;
}

/* Create a data object of `size` bytes with O_EXCL (R2.11) and map it.
 * -EEXIST goes back to the caller; other failures unlink what was made. */
static int data_create(shmchop_writer *w, const char *dname, size_t size, int *fd_out,
                       unsigned char **map_out)
{
    int fd = shm_open(dname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)w->mode);
    void *p;
    int rc;

    if (fd < 0) {
        rc = -errno;
        if (rc != -EEXIST)
            shmchop__errf(WERR(w), "%s: cannot create: %s", dname, strerror(errno));
        return rc;
    }
    if (fchmod(fd, (mode_t)w->mode) != 0 || ftruncate(fd, (off_t)size) != 0)
        goto fail;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        goto fail;
    *fd_out = fd;
    *map_out = p;
    return 0;
fail:
    rc = -errno;
    shmchop__errf(WERR(w), "%s: cannot size %zu bytes: %s", dname, size, strerror(errno));
    shm_unlink(dname);
    close(fd);
    return rc;
}

static void data_drop(shmchop_writer *w)
{
    if (w->data)
        munmap(w->data, w->map_size);
    if (w->data_fd >= 0)
        close(w->data_fd);
    w->data = NULL;
    w->data_fd = -1;
    w->map_size = w->obj_size = 0;
}

static void stats_lock(shmchop_writer *w, const shmchop__lock_stats *ls, int rc)
{
    w->stats.lock_breaks_total += ls->breaks;
    w->stats.lock_wait_ms = ls->wait_ms;
    if (ls->wait_ms > w->stats.lock_wait_ms_max)
        w->stats.lock_wait_ms_max = ls->wait_ms;
    if (rc == SHMCHOP_E_LOCK_TIMEOUT)
        w->stats.lock_timeouts_total++;
}

int shmchop__writer_lock(shmchop_writer *w, shmchop__mutex *m, unsigned timeout_ms)
{
    shmchop__lock_stats ls = { 0 };
    int rc = shmchop__mutex_lock(m, timeout_ms ? timeout_ms : w->timeout_ms, &ls, WERR(w));

    stats_lock(w, &ls, rc);
    return rc;
}

static void unlock_mx(shmchop_writer *w, shmchop__mutex *m)
{
    shmchop__mutex_unlock(m, WERR(w));
}

/* Copy the image in: the caller holds the data mutex. */
static void copy_in(shmchop_writer *w, unsigned char *dst, const unsigned char *src, size_t size,
                    bool ext)
{
    if (!ext) {
        memcpy(dst, src, size);
        return;
    }
    shmchop__seq_write_begin(dst, w->seq);
    shmchop__image_copy_but_seq(dst, src, size);
    w->seq = shmchop__seq_write_end(dst, w->seq);
}

/* Fill a new object: the image, or (image NULL) the old bytes, guarded
 * because a truncate fault may have cut the old object under the mapping. */
static void fill_new(shmchop_writer *w, unsigned char *dst, size_t size, const void *image,
                     bool ext)
{
    if (image) {
        memcpy(dst, image, size);
    } else if (w->data) {
        size_t n = w->obj_size < w->map_size ? w->obj_size : w->map_size;
        if (shmchop__guarded_memcpy(dst, w->data, n < size ? n : size, w->data, w->map_size) != 0)
            memset(dst, 0, size);
    }
    /* Nobody sees the new object before its postfix is published (or its
     * name exists): no sequence lock, but the seq still moves on by 2. */
    if (ext) {
        w->seq += 2;
        shmchop__seq_store(dst, w->seq);
    }
}

/*
 * R2.6. The info mutex is held throughout, so `supported` cannot change
 * between reading it and acting on it, and a reader attaching meanwhile
 * waits and then finds the new object complete.
 */
int shmchop__writer_resize_to(shmchop_writer *w, const void *image, size_t size, bool ext)
{
    shmchop_shm_names nn = w->names;
    char pf[SHMCHOP_POSTFIX_SIZE] = "";
    unsigned char *map = NULL;
    int fd = -1, rc;

    if ((rc = shmchop__writer_lock(w, &w->info_mx, 0)) != 0)
        return rc;
    shmchop__info_view v;
    shmchop__info_read(&w->info, &v);
    w->supported = v.supported;
    if (v.supported) {
        rc = -EEXIST;
        for (int round = 0; round < 16 && rc == -EEXIST; round++) {
            if ((rc = shmchop__postfix_random(pf)) != 0)
                break;
            shmchop_shm_names_make(w->name, pf, &nn, NULL, 0);
            rc = data_create(w, nn.data, size, &fd, &map);
        }
    } else {
        /* Nobody understands postfixes: same name, new object. */
        memcpy(pf, w->postfix, sizeof(pf));
        shm_unlink(w->names.data);
        rc = data_create(w, nn.data, size, &fd, &map);
        if (rc == -EEXIST) {
            shm_unlink(nn.data);
            rc = data_create(w, nn.data, size, &fd, &map);
        }
    }
    if (rc != 0) {
        if (rc == -EEXIST)
            shmchop__errf(WERR(w), "%s: no free postfix found", w->names.data);
        unlock_mx(w, &w->info_mx);
        return rc;
    }
    fill_new(w, map, size, image, ext);
    if (v.supported)
        shmchop__info_set_postfix(&w->info, pf);
    unlock_mx(w, &w->info_mx);
    /* Readers now follow the postfix; the old object may go. */
    if (v.supported && !w->data_unlinked)
        shm_unlink(w->names.data);
    data_drop(w);
    w->data = map;
    w->data_fd = fd;
    w->map_size = w->obj_size = size;
    w->data_unlinked = false;
    w->has_ext = ext;
    w->names = nn;
    memcpy(w->postfix, pf, sizeof(pf));
    w->stats.resizes_total++;
    return 0;
}

/* Is the existing name held by a live writer? Clean it when not (R2.11).
 * The caller holds the info mutex, which every writer of ours holds
 * while it takes a name, so two of them never clean at once. */
static int take_over(shmchop_writer *w)
{
    shmchop__info old;
    shmchop__info_view v = { 0 };
    char pf[SHMCHOP_POSTFIX_SIZE] = "";
    shmchop_shm_names on;
    uint32_t pid = 0;
    uint64_t dsize = 0;
    int rc, held;

    rc = shmchop__info_open(&old, w->names.info, false, false, NULL, NULL, 0, WERR(w));
    if (rc == -ENOENT)
        return 0; /* gone meanwhile: just create it */
    if (rc != 0 && rc != SHMCHOP_E_NOT_READY)
        return rc;
    if (rc == 0) {
        shmchop__info_read(&old, &v);
        if (shmchop__postfix_take(v.postfix_raw, pf, old.name, NULL, 0) != 0)
            pf[0] = '\0';
    }
    shmchop_shm_names_make(w->name, pf, &on, NULL, 0);
    if (v.magic == SHMCHOP_INFO_MAGIC && !v.detach)
        shmchop__data_ext_pid(on.data, &pid, &dsize);
    held = old.fd >= 0 ? shmchop__info_held(old.fd) : 0;
    if (shmchop__name_held(held, v.magic, v.detach, pid)) {
        if (pid != 0)
            shmchop__errf(WERR(w), "name %s is in use by pid %u", w->name, pid);
        else
            shmchop__errf(WERR(w), "name %s is in use by a live writer (pid unknown)", w->name);
        shmchop__info_close(&old);
        return SHMCHOP_E_NAME_IN_USE;
    }
    /* Dead: tell readers still mapping the old info to let go (R2.7a),
     * then remove the leftovers as the dead writer's close would have. */
    if (old.obj)
        shmchop__info_set_detach(&old);
    shmchop__info_close(&old);
    shm_unlink(on.data);
    shm_unlink(w->names.info);
    return 0;
}

/* Under the info mutex: create the info object (R2.4), taking over a
 * dead writer's name, then the data object. */
static int take_name(shmchop_writer *w, size_t size)
{
    int rc = -EEXIST;

    for (int round = 0; round < 4 && rc == -EEXIST; round++) {
        rc = shmchop__info_create(&w->info, w->names.info, w->mode, WERR(w));
        if (rc == -EEXIST) {
            int t = take_over(w);
            if (t != 0)
                return t;
        }
    }
    if (rc != 0) {
        if (rc == -EEXIST)
            shmchop__errf(WERR(w), "%s: keeps reappearing", w->names.info);
        return rc;
    }
    shmchop__info_init_fields(&w->info);
    rc = data_create(w, w->names.data, size, &w->data_fd, &w->data);
    if (rc == -EEXIST) {
        /* A leftover without an info object: ours now. */
        shm_unlink(w->names.data);
        rc = data_create(w, w->names.data, size, &w->data_fd, &w->data);
    }
    if (rc != 0) {
        shm_unlink(w->names.info);
        shmchop__info_close(&w->info);
        return rc;
    }
    w->map_size = w->obj_size = size;
    return 0;
}

int shmchop_writer_open(const char *name, const shmchop_writer_opts *opts, shmchop_writer **out,
                        char *err, size_t errlen)
{
    shmchop_writer_opts o = { 0 };
    shmchop_writer *w;
    int rc;

    *out = NULL;
    if ((rc = shmchop_shm_name_check(name, err, errlen)) != 0)
        return rc;
    if (opts)
        o = *opts;
    /* NULL options or a zero size: a header's worth, the first publish
     * resizes the object to its image (R2.6). */
    if (o.initial_size == 0)
        o.initial_size = SHMCHOP_HEADER_SIZE;
    if (o.initial_size < SHMCHOP_HEADER_SIZE || o.initial_size > INT32_MAX) {
        shmchop__errf(err, errlen, "TouchSHM%s: initial size %zu is outside 36..2147483647", name,
                      o.initial_size);
        return SHMCHOP_E_USAGE;
    }
    if (o.mode & ~07777u) {
        shmchop__errf(err, errlen, "TouchSHM%s: mode 0%o is not a permission mode", name, o.mode);
        return SHMCHOP_E_USAGE;
    }
    if ((rc = shmchop__sigbus_install()) != 0) {
        shmchop__errf(err, errlen, "cannot install the SIGBUS handler: %s", strerror(-rc));
        return rc;
    }
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    snprintf(w->name, sizeof(w->name), "%s", name);
    w->mode = o.mode ? o.mode : SHMCHOP__DEFAULT_MODE;
    w->timeout_ms = o.lock_timeout_ms ? o.lock_timeout_ms : SHMCHOP__LOCK_TIMEOUT_MS;
    w->data_fd = -1;
    w->info.fd = -1;
    shmchop_shm_names_make(name, NULL, &w->names, NULL, 0);
    rc = shmchop__mutex_open(&w->info_mx, w->names.info_mutex, true, w->mode, w->timeout_ms,
                             WERR(w));
    if (rc == 0)
        rc = shmchop__mutex_open(&w->data_mx, w->names.data_mutex, true, w->mode, w->timeout_ms,
                                 WERR(w));
    if (rc == 0 && (rc = shmchop__writer_lock(w, &w->info_mx, 0)) == 0) {
        rc = take_name(w, o.initial_size);
        unlock_mx(w, &w->info_mx);
    }
    if (rc != 0) {
        shmchop__errf(err, errlen, "%s", w->errmsg);
        shmchop__mutex_close(&w->data_mx);
        shmchop__mutex_close(&w->info_mx);
        free(w);
        return rc;
    }
    w->errmsg[0] = '\0';
    *out = w;
    return 0;
}

int shmchop_writer_publish(shmchop_writer *w, const void *image, size_t size)
{
    bool ext;
    int rc;

    if ((rc = shmchop__writer_check_size(w, size)) != 0)
        return rc;
    ext = shmchop__ext_find(image, size, NULL);
    if (size != w->obj_size) {
        if ((rc = shmchop__writer_resize_to(w, image, size, ext)) != 0)
            return rc;
        w->stats.publishes_total++;
        return 0;
    }
    if ((rc = shmchop__writer_lock(w, &w->data_mx, 0)) != 0)
        return rc;
    copy_in(w, w->data, image, size, ext);
    unlock_mx(w, &w->data_mx);
    w->has_ext = ext;
    w->stats.publishes_total++;
    return 0;
}

int shmchop_writer_heartbeat(shmchop_writer *w, uint64_t now_ns)
{
    int rc;

    if (!w->has_ext || w->obj_size < SHMCHOP_EXT_OFFSET + SHMCHOP_EXT_SIZE)
        return 0;
    if ((rc = shmchop__writer_lock(w, &w->data_mx, 0)) != 0)
        return rc;
    shmchop__seq_write_begin(w->data, w->seq);
    shmchop__img_store_u64(w->data, SHMCHOP_OFF_EXT_HEARTBEAT, now_ns);
    w->seq = shmchop__seq_write_end(w->data, w->seq);
    unlock_mx(w, &w->data_mx);
    return 0;
}

void shmchop__writer_free(shmchop_writer *w)
{
    data_drop(w);
    shmchop__info_close(&w->info);
    shmchop__mutex_close(&w->data_mx);
    shmchop__mutex_close(&w->info_mx);
    free(w);
}

int shmchop_writer_close(shmchop_writer *w)
{
    int rc, first = 0;

    if (!w)
        return 0;
    /* R2.8. If the info lock cannot be had, detach is still set: one bool
     * store is the best a leaving writer can do for its readers. */
    rc = shmchop__writer_lock(w, &w->info_mx, 0);
    if (w->info.obj)
        shmchop__info_set_detach(&w->info);
    if (rc == 0)
        unlock_mx(w, &w->info_mx);
    else
        first = rc;
    if (!w->data_unlinked && shm_unlink(w->names.data) != 0 && errno != ENOENT && !first)
        first = -errno;
    if (shm_unlink(w->names.info) != 0 && errno != ENOENT && !first)
        first = -errno;
    shmchop__writer_free(w);
    return first;
}

const char *shmchop_writer_errmsg(const shmchop_writer *w)
{
    return w ? w->errmsg : "";
}

void shmchop_writer_get_stats(const shmchop_writer *w, shmchop_writer_stats *st)
{
    *st = w->stats;
    st->seq = w->seq;
    st->data_size = w->obj_size;
    st->supported = w->supported;
    memcpy(st->postfix, w->postfix, sizeof(st->postfix));
    memcpy(st->data_name, w->names.data, sizeof(st->data_name));
}
