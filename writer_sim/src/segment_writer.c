/* SPDX-License-Identifier: MIT */
/* The writer side of a live segment: take a name, publish, resize, close (R2.4, R2.6, R2.8, R2.11). */
#include <shmchop/segment.h>

#include "segment_writer_internal.h"
#include "image_internal.h"
#include "shm_access.h"
#include "shm_object.h"
#include "shm_util.h"
#include "sigbus_guard.h"

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
    if (size < w->lay->min_size || size > INT32_MAX) {
        shmchop__errf(WERR(w), "%s: image size %zu is outside %zu..2147483647", w->names.data,
                      size, w->lay->min_size);
        return SHMCHOP_E_USAGE;
    }
    return 0;
}

/* Create a data object of `size` bytes with O_EXCL (R2.11), reserved so
 * a full /dev/shm fails here and not later (R2.15), and map it. -EEXIST
 * goes back to the caller; other failures unlink what was made. */
static int data_create(shmchop_writer *w, const char *dname, size_t size, int *fd_out,
                       unsigned char **map_out)
{
    int fd, rc = shmchop__obj_create(dname, w->mode, size, &fd, WERR(w));
    void *p;

    if (rc != 0)
        return rc;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        shmchop__errf(WERR(w), "%s: cannot map %zu bytes: %s", dname, size, strerror(-rc));
        shm_unlink(dname);
        close(fd);
        return rc;
    }
    *fd_out = fd;
    *map_out = p;
    return 0;
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

/* Unlock; an abandoned signal on the object's cond (R2.16) becomes the
 * writer's pending warning, once. */
static void unlock_mx(shmchop_writer *w, shmchop__mutex *m)
{
    shmchop__mutex_unlock(m, WERR(w));
    if (shmchop__mutex_cond_report(m, w->warning, sizeof(w->warning)))
        w->stats.cond_abandoned_total++;
}

struct copy_in_ctx {
    shmchop_writer *w;
    unsigned char *dst;
    const unsigned char *src;
    size_t size;
    bool ext;
};

static void copy_in_fn(void *arg)
{
    struct copy_in_ctx *c = arg;

    if (!c->ext) {
        memcpy(c->dst, c->src, c->size);
        return;
    }
    const size_t off = c->w->lay->seq_off;

    shmchop__seq_write_begin_at(c->dst, off, c->w->seq);
    shmchop__image_copy_but_seq_at(c->dst, c->src, c->size, off);
    c->w->seq = shmchop__seq_write_end_at(c->dst, off, c->w->seq);
}

/* Somebody truncated the data object under our mapping (R2.15): this
 * write fails, and the next publish writes a new object (R2.6). */
static int data_gone(shmchop_writer *w)
{
    w->data_broken = true;
    w->stats.sigbus_total++;
    shmchop__errf(WERR(w), "%s: data object was truncated under the writer", w->names.data);
    return SHMCHOP_E_SEGMENT_GONE;
}

/* Copy the image in, guarded: the caller holds the data mutex. */
static int copy_in(shmchop_writer *w, unsigned char *dst, const unsigned char *src, size_t size,
                   bool ext)
{
    struct copy_in_ctx c = { w, dst, src, size, ext };

    if (shmchop__guarded(w->data, w->map_size, copy_in_fn, &c) != 0)
        return data_gone(w);
    return 0;
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
        shmchop__seq_store_at(dst, w->lay->seq_off, w->seq);
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
    if (shmchop__info_read(&w->info, &v) != 0) {
        unlock_mx(w, &w->info_mx);
        shmchop__errf(WERR(w), "%s: info object was truncated under the writer", w->names.info);
        return SHMCHOP_E_SEGMENT_GONE;
    }
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
        shmchop__obj_unlink_own(w->names.data, w->data_fd);
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
    if (v.supported && shmchop__info_set_postfix(&w->info, pf) != 0) {
        unlock_mx(w, &w->info_mx);
        shm_unlink(nn.data);
        munmap(map, size);
        close(fd);
        shmchop__errf(WERR(w), "%s: info object was truncated under the writer", w->names.info);
        return SHMCHOP_E_SEGMENT_GONE;
    }
    unlock_mx(w, &w->info_mx);
    /* Readers now follow the postfix; the old object may go. */
    if (v.supported && !w->data_unlinked)
        shmchop__obj_unlink_own(w->names.data, w->data_fd);
    data_drop(w);
    w->data = map;
    w->data_fd = fd;
    w->map_size = w->obj_size = size;
    w->data_unlinked = false;
    w->data_broken = false;
    w->has_ext = ext;
    w->names = nn;
    memcpy(w->postfix, pf, sizeof(pf));
    w->stats.resizes_total++;
    return 0;
}

/*
 * R2.13: the other Shared Mem Name an object of ours really belongs to.
 * TouchDesigner's names collide: name "XMutex"'s data object is name X's
 * data mutex, "TouchSHMX4jhd783h"'s data object is X's info object (and
 * "TouchSHMX4jhd783hMutex"'s is X's info mutex). Returns false when name
 * has no such twin.
 */
static bool twin_name(const char *name, char *out, size_t cap)
{
    const size_t pl = strlen(SHMCHOP_SHM_PREFIX), il = strlen(SHMCHOP_SHM_INFO_SUFFIX);
    const size_t ml = strlen(SHMCHOP_SHM_MUTEX_SUFFIX);
    char m[SHMCHOP_SHM_NAME_MAX + 1];
    size_t n = strlen(name);

    snprintf(m, sizeof(m), "%s", name);
    if (n > ml && strcmp(m + n - ml, SHMCHOP_SHM_MUTEX_SUFFIX) == 0)
        m[n -= ml] = '\0';
    if (n > pl + il && strncmp(m, SHMCHOP_SHM_PREFIX, pl) == 0 &&
        strcmp(m + n - il, SHMCHOP_SHM_INFO_SUFFIX) == 0) {
        m[n - il] = '\0';
        memmove(m, m + pl, n - pl - il + 1);
    }
    if (strcmp(m, name) == 0 || shmchop_shm_name_check(m, NULL, 0) != 0)
        return false;
    snprintf(out, cap, "%s", m);
    return true;
}

/* An object at one of our paths that is not what it should be: never
 * touched; the name is refused, naming the name it collides with. */
static int refuse_foreign(shmchop_writer *w, const shmchop__obj_probe *p)
{
    char twin[SHMCHOP_SHM_NAME_MAX + 1];

    if (twin_name(w->name, twin, sizeof(twin)))
        shmchop__errf(WERR(w), "name %s collides with the objects of name %s (%s)", w->name,
                      twin, p->why);
    else
        shmchop__errf(WERR(w), "name %s: %s", w->name, p->why);
    return SHMCHOP_E_NAME_IN_USE;
}

/* R2.14: a writer other than us maps or holds the data object writable
 * (the compatible peer's, with or without the block). */
static int refuse_if_written(shmchop_writer *w, shmchop__obj_probe *data)
{
    shmchop__obj_probe *ps[1] = { data };

    if (!data->exists)
        return 0;
    shmchop__probes_in_use(ps, 1);
    if (data->use.writers == 0)
        return 0;
    if (data->use.writers == 1)
        shmchop__errf(WERR(w), "name %s is in use by pid %u", w->name, data->use.writer_pid);
    else
        shmchop__errf(WERR(w), "name %s may be in use by pid %u (not allowed to look)", w->name,
                      data->use.writer_pid);
    return SHMCHOP_E_NAME_IN_USE;
}

/* The recorded pid of the block (or global header) counts only while it
 * maps the object. */
static uint32_t counted_block_pid(const shmchop_writer *w, const shmchop__obj_probe *data)
{
    shmchop__payload_fields f;

    if (!data->sound || !shmchop__payload_find(w->lay, data->head, data->head_len, &f))
        return 0;
    return shmchop__pid_uses_object(f.writer_pid, &data->sb, false) == 1 ? f.writer_pid : 0;
}

/* Is the existing name held by a live writer? Clean it when not (R2.11).
 * Every object is identified before anything is written into it or
 * unlinked (R2.12, R2.13), and liveness is who maps the objects (R2.14).
 * The caller holds the info mutex, which every writer of ours holds
 * while it takes a name, so two of them never clean at once. */
static int take_over(shmchop_writer *w)
{
    shmchop__obj_probe info, data;
    shmchop__info old;
    shmchop__info_view v = { 0 };
    char pf[SHMCHOP_POSTFIX_SIZE] = "";
    shmchop_shm_names on;
    uint32_t pid;
    int rc, held;

    shmchop__obj_probe_one(w->names.info, SHMCHOP__OBJ_INFO, &info);
    if (!info.exists)
        return 0; /* gone meanwhile: just create it */
    if (!info.sound && info.sb.st_size >= SHMCHOP_SHM_INFO_SIZE)
        return refuse_foreign(w, &info);
    rc = shmchop__info_open(&old, w->names.info, false, false, NULL, NULL, 0, WERR(w));
    if (rc == -ENOENT)
        return 0;
    if (rc != 0 && rc != SHMCHOP_E_NOT_READY)
        return rc;
    if (rc == 0 && shmchop__info_read(&old, &v) == 0 &&
        shmchop__postfix_take(v.postfix_raw, pf, old.name, NULL, 0) != 0)
        pf[0] = '\0';
    shmchop_shm_names_make(w->name, pf, &on, NULL, 0);
    shmchop__obj_probe_one(on.data, SHMCHOP__OBJ_DATA, &data);
    if (data.exists && !data.sound) {
        shmchop__info_close(&old);
        return refuse_foreign(w, &data);
    }
    pid = v.magic == SHMCHOP_INFO_MAGIC && !v.detach ? counted_block_pid(w, &data) : 0;
    held = old.fd >= 0 ? shmchop__info_held(old.fd) : 0;
    if (shmchop__name_held(held, v.magic, v.detach, pid)) {
        if (pid != 0)
            shmchop__errf(WERR(w), "name %s is in use by pid %u", w->name, pid);
        else
            shmchop__errf(WERR(w), "name %s is in use by a live writer (pid unknown)", w->name);
        shmchop__info_close(&old);
        return SHMCHOP_E_NAME_IN_USE;
    }
    if ((rc = refuse_if_written(w, &data)) != 0) {
        shmchop__info_close(&old);
        return rc;
    }
    /* Dead: tell readers still mapping the old info to let go (R2.7a),
     * then remove the leftovers as the dead writer's close would have. */
    if (old.obj)
        shmchop__info_set_detach(&old);
    shmchop__info_close(&old);
    if (data.exists)
        shm_unlink(on.data);
    shm_unlink(w->names.info);
    return 0;
}

/* A data object without an info object: a leftover, ours to replace when
 * it is a data object that no other writer uses (R2.13, R2.14). */
static int replace_leftover(shmchop_writer *w, size_t size)
{
    shmchop__obj_probe data;
    int rc;

    shmchop__obj_probe_one(w->names.data, SHMCHOP__OBJ_DATA, &data);
    if (data.exists && !data.sound)
        return refuse_foreign(w, &data);
    if ((rc = refuse_if_written(w, &data)) != 0)
        return rc;
    shm_unlink(w->names.data);
    return data_create(w, w->names.data, size, &w->data_fd, &w->data);
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
    if ((rc = shmchop__info_init_fields(&w->info)) == 0) {
        rc = data_create(w, w->names.data, size, &w->data_fd, &w->data);
        if (rc == -EEXIST)
            rc = replace_leftover(w, size);
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
    const shmchop__payload_layout *lay = shmchop__payload_layout_of(o.payload);
    if (!lay) {
        shmchop__errf(err, errlen, "TouchSHM%s: payload %d is not a payload kind", name,
                      (int)o.payload);
        return SHMCHOP_E_USAGE;
    }
    if (o.initial_size == 0)
        o.initial_size = lay->min_size;
    if (o.initial_size < lay->min_size || o.initial_size > INT32_MAX) {
        shmchop__errf(err, errlen, "TouchSHM%s: initial size %zu is outside %zu..2147483647",
                      name, o.initial_size, lay->min_size);
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
    w->lay = lay;
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

/* Whether the object open as fd is still linked and at least min bytes. */
static bool object_intact(int fd, size_t min)
{
    struct stat sb;

    return fd < 0 || (fstat(fd, &sb) == 0 && sb.st_nlink > 0 && (uint64_t)sb.st_size >= min);
}

/*
 * Every WRITER_PROBE_NS, the writer asks whether somebody truncated or
 * unlinked its info or mutex objects (R2.15): readers cannot attach to a
 * name whose info object is cut, and the writer itself never maps the
 * info between resizes, so nothing else would tell it. A damaged name is
 * SHMCHOP_E_SEGMENT_GONE; the caller takes the name afresh. Four fstat
 * calls twice a second; none on the other publishes.
 */
#define WRITER_PROBE_NS 500000000u

static int probe_objects(shmchop_writer *w)
{
    uint64_t now = shmchop__now_ns();
    const char *what = NULL;

    if (now < w->next_probe_ns)
        return 0;
    w->next_probe_ns = now + WRITER_PROBE_NS;
    if (!object_intact(w->info.fd, SHMCHOP_SHM_INFO_SIZE))
        what = w->names.info;
    else if (w->info_mx.has_fd && !object_intact(w->info_mx.fd, w->info_mx.map_size))
        what = w->names.info_mutex;
    else if (w->data_mx.has_fd && !object_intact(w->data_mx.fd, w->data_mx.map_size))
        what = w->names.data_mutex;
    if (!what)
        return 0;
    shmchop__errf(WERR(w), "%s: truncated or unlinked under the writer", what);
    return SHMCHOP_E_SEGMENT_GONE;
}

int shmchop_writer_publish(shmchop_writer *w, const void *image, size_t size)
{
    bool ext;
    int rc;

    if ((rc = shmchop__writer_check_size(w, size)) != 0)
        return rc;
    if ((rc = probe_objects(w)) != 0)
        return rc;
    ext = shmchop__payload_find(w->lay, image, size, NULL);
    if (size != w->obj_size || w->data_broken) {
        if ((rc = shmchop__writer_resize_to(w, image, size, ext)) != 0)
            return rc;
        w->stats.publishes_total++;
        return 0;
    }
    if ((rc = shmchop__writer_lock(w, &w->data_mx, 0)) != 0)
        return rc;
    rc = copy_in(w, w->data, image, size, ext);
    unlock_mx(w, &w->data_mx);
    if (rc != 0)
        return rc;
    w->has_ext = ext;
    w->stats.publishes_total++;
    return 0;
}

struct heartbeat_ctx {
    shmchop_writer *w;
    uint64_t now_ns;
};

static void heartbeat_fn(void *arg)
{
    struct heartbeat_ctx *c = arg;

    const shmchop__payload_layout *l = c->w->lay;

    shmchop__seq_write_begin_at(c->w->data, l->seq_off, c->w->seq);
    shmchop__img_store_u64(c->w->data, l->hb_off, c->now_ns);
    c->w->seq = shmchop__seq_write_end_at(c->w->data, l->seq_off, c->w->seq);
}

int shmchop_writer_heartbeat(shmchop_writer *w, uint64_t now_ns)
{
    struct heartbeat_ctx c = { w, now_ns };
    int rc;

    if (!w->has_ext || w->data_broken || w->obj_size < w->lay->head)
        return 0;
    if ((rc = shmchop__writer_lock(w, &w->data_mx, 0)) != 0)
        return rc;
    if (shmchop__guarded(w->data, w->map_size, heartbeat_fn, &c) != 0)
        rc = data_gone(w);
    unlock_mx(w, &w->data_mx);
    return rc;
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
    /* Only what is still ours: a hostile replacement stays (R2.13). */
    if (!w->data_unlinked && (rc = shmchop__obj_unlink_own(w->names.data, w->data_fd)) != 0 &&
        !first)
        first = rc;
    if ((rc = shmchop__obj_unlink_own(w->names.info, w->info.fd)) != 0 && !first)
        first = rc;
    shmchop__writer_free(w);
    return first;
}

const char *shmchop_writer_take_warning(shmchop_writer *w)
{
    if (!w)
        return "";
    memcpy(w->warning_out, w->warning, sizeof(w->warning_out));
    w->warning[0] = '\0';
    return w->warning_out;
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
