/* SPDX-License-Identifier: MIT */
/* Administration of live-segment objects for shmchop-in ls / gc (R2.2, R2.3b, R2.8, R2.11). */
#include <shmchop/segment.h>

#include "shm_info.h"
#include "shm_mutex.h"
#include "shm_util.h"
#include "sigbus_guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Short bound for admin waits: ls and gc must not hang on a stuck object. */
#define ADMIN_TIMEOUT_MS 200u

/* Whether s is exactly 31 letters a-z: a postfix this project makes. */
static bool is_our_postfix(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (s[n] < 'a' || s[n] > 'z')
            return false;
    return n == SHMCHOP_POSTFIX_LEN;
}

/* Call fn for every /dev/shm entry that is a stray data object of name:
 * TouchSHM + name + 31 letters, other than the current postfix. */
static int for_each_stray(const char *name, const char *postfix,
                          int (*fn)(const char *object, void *arg), void *arg, unsigned *count)
{
    char prefix[SHMCHOP_SHM_OBJ_NAME_SIZE];
    size_t plen;
    struct dirent *de;
    DIR *d;
    int rc = 0;

    *count = 0;
    plen = (size_t)snprintf(prefix, sizeof(prefix), "%s%s", SHMCHOP_SHM_PREFIX, name);
    d = opendir(SHMCHOP_SHM_DIR);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, plen) != 0)
            continue;
        const char *rest = de->d_name + plen;
        if (!is_our_postfix(rest) || strcmp(rest, postfix) == 0)
            continue;
        (*count)++;
        if (fn && (rc = fn(de->d_name, arg)) != 0)
            break;
    }
    closedir(d);
    return rc;
}

static void lock_state(const char *object, shmchop_shm_lock_state *ls)
{
    shmchop__mutex m;
    struct stat sb;
    int rc, fd;

    memset(ls, 0, sizeof(*ls));
    ls->holder_alive = -1;
    rc = shmchop__shm_open_stat(object, O_RDONLY, 0, &fd, &sb);
    if (rc != 0)
        return;
    close(fd);
    ls->exists = true;
    ls->size = (uint64_t)sb.st_size;
    rc = shmchop__mutex_open(&m, object, false, 0, ADMIN_TIMEOUT_MS, NULL, 0);
    if (rc == SHMCHOP_E_NOT_READY)
        return; /* half-made: ready stays false */
    if (rc != 0) {
        /* Not ours to map read-write: unknown, so treated as held. */
        ls->ready = true;
        ls->locked = true;
        return;
    }
    shmchop__mutex_state(&m, ADMIN_TIMEOUT_MS, ls);
    ls->size = (uint64_t)sb.st_size;
    shmchop__mutex_close(&m);
}

int shmchop_shm_inspect(const char *name, shmchop_shm_status *st, char *err, size_t errlen)
{
    shmchop_shm_names nn;
    struct stat sb;
    uint32_t magic = 0;
    int rc, fd, ofd_held = 0;

    memset(st, 0, sizeof(*st));
    if ((rc = shmchop_shm_names_make(name, NULL, &nn, err, errlen)) != 0)
        return rc;
    if ((rc = shmchop__sigbus_install()) != 0)
        return rc;
    snprintf(st->name, sizeof(st->name), "%s", name);
    rc = shmchop__shm_open_stat(nn.info, O_RDONLY, 0, &fd, &sb);
    if (rc == 0) {
        st->info = true;
        ofd_held = shmchop__info_held(fd);
        if (sb.st_size >= SHMCHOP_SHM_INFO_SIZE) {
            void *p = mmap(NULL, SHMCHOP_SHM_INFO_SIZE, PROT_READ, MAP_SHARED, fd, 0);
            if (p != MAP_FAILED) {
                shmchop__info in = { .obj = p, .fd = -1 };
                shmchop__info_view v;
                shmchop__info_read(&in, &v);
                munmap(p, SHMCHOP_SHM_INFO_SIZE);
                magic = v.magic;
                st->info_valid = v.magic == SHMCHOP_INFO_MAGIC && v.version == SHMCHOP_INFO_VERSION;
                st->supported = v.supported;
                st->detach = v.detach;
                if (shmchop__postfix_take(v.postfix_raw, st->postfix, nn.info, NULL, 0) != 0)
                    st->postfix[0] = '\0';
            }
        }
        close(fd);
    } else if (rc != -ENOENT) {
        shmchop__errf(err, errlen, "%s: cannot open: %s", nn.info, strerror(-rc));
        return rc;
    }
    shmchop_shm_names_make(name, st->postfix, &nn, NULL, 0);
    memcpy(st->data_name, nn.data, sizeof(st->data_name));
    rc = shmchop__data_ext_pid(nn.data, &st->writer_pid, &st->data_size);
    st->data = rc == 0;
    st->writer_alive = shmchop__name_held(ofd_held, magic, st->detach, st->writer_pid);
    for_each_stray(name, st->postfix, NULL, NULL, &st->stray_data);
    lock_state(nn.data_mutex, &st->data_mutex);
    lock_state(nn.info_mutex, &st->info_mutex);
    return 0;
}

/* The Shared Mem Name an object name belongs to, or false. */
static bool name_of(const char *obj, char *out)
{
    const size_t p1 = strlen(SHMCHOP_SHM_PREFIX);
    const size_t p2 = 2 * p1;
    const char *info_mx = SHMCHOP_SHM_INFO_SUFFIX SHMCHOP_SHM_MUTEX_SUFFIX;
    size_t len = strlen(obj);
    const char *suffixes[3] = { info_mx, SHMCHOP_SHM_INFO_SUFFIX, SHMCHOP_SHM_MUTEX_SUFFIX };
    size_t starts[3] = { p2, p2, p1 };

    if (strncmp(obj, SHMCHOP_SHM_PREFIX, p1) != 0)
        return false;
    for (int i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (i < 2 && strncmp(obj + p1, SHMCHOP_SHM_PREFIX, p1) != 0)
            continue;
        if (len <= starts[i] + sl || strcmp(obj + len - sl, suffixes[i]) != 0)
            continue;
        size_t nl = len - starts[i] - sl;
        if (nl > SHMCHOP_SHM_NAME_MAX)
            return false;
        memcpy(out, obj + starts[i], nl);
        out[nl] = '\0';
        return shmchop_shm_name_check(out, NULL, 0) == 0;
    }
    return false;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int shmchop_shm_list(shmchop_shm_list_cb cb, void *arg, char *err, size_t errlen)
{
    char name[SHMCHOP_SHM_NAME_MAX + 1];
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    DIR *d = opendir(SHMCHOP_SHM_DIR);

    if (!d) {
        if (errno == ENOENT)
            return 0;
        rc = -errno;
        shmchop__errf(err, errlen, "%s: cannot list: %s", SHMCHOP_SHM_DIR, strerror(errno));
        return rc;
    }
    while ((de = readdir(d)) != NULL) {
        if (!name_of(de->d_name, name))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **p = realloc(names, nc * sizeof(*names));
            if (!p) {
                rc = -ENOMEM;
                goto out;
            }
            names = p;
            cap = nc;
        }
        if (!(names[n] = strdup(name))) {
            rc = -ENOMEM;
            goto out;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n && rc == 0; i++) {
        shmchop_shm_status st;
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue;
        if (shmchop_shm_inspect(names[i], &st, NULL, 0) == 0)
            rc = cb(&st, arg);
    }
out:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == -ENOMEM)
        shmchop__errf(err, errlen, "out of memory listing %s", SHMCHOP_SHM_DIR);
    return rc;
}

struct gc_ctx {
    bool dry_run;
    shmchop_shm_gc_cb cb;
    void *arg;
    unsigned removed;
};

static int gc_remove(struct gc_ctx *g, const char *object, const char *why)
{
    if (!g->dry_run && shm_unlink(object) != 0)
        return errno == ENOENT ? 0 : -errno;
    g->removed++;
    if (g->cb)
        g->cb(object, why, g->arg);
    return 0;
}

static int gc_stray(const char *object, void *arg)
{
    return gc_remove(arg, object, "stray data object of an old postfix");
}

/* Set detach in the info object, so attached readers let go (R2.7a). */
static void gc_detach(const shmchop_shm_names *nn)
{
    shmchop__info in;
    shmchop__mutex m;
    int locked;

    if (shmchop__info_open(&in, nn->info, false, false, NULL, NULL, 0, NULL, 0) != 0)
        return;
    locked = shmchop__mutex_open(&m, nn->info_mutex, false, 0, ADMIN_TIMEOUT_MS, NULL, 0) == 0;
    if (locked && shmchop__mutex_lock(&m, ADMIN_TIMEOUT_MS, NULL, NULL, 0) != 0) {
        shmchop__mutex_close(&m);
        locked = 0;
    }
    in.obj->detach = true;
    if (locked) {
        shmchop__mutex_unlock(&m, NULL, 0);
        shmchop__mutex_close(&m);
    }
    shmchop__info_close(&in);
}

/* A mutex object nobody holds may go; a half-made one (not ready) too. */
static bool mutex_unused(const shmchop_shm_lock_state *ls)
{
    if (!ls->exists)
        return false;
    if (!ls->ready)
        return true;
    return !ls->locked || ls->holder_alive == 0;
}

/*
 * gc decides from one inspection and then unlinks: a writer starting on
 * the same name in between could lose its objects (or keep using a mutex
 * object whose name is gone). gc is an administrator's tool, run when the
 * writers are known to be down; `writer_alive` protects the running ones.
 */
int shmchop_shm_gc(const char *name, bool dry_run, shmchop_shm_gc_cb cb, void *arg,
                   unsigned *removed, char *err, size_t errlen)
{
    struct gc_ctx g = { .dry_run = dry_run, .cb = cb, .arg = arg };
    shmchop_shm_status st;
    shmchop_shm_names nn;
    unsigned strays;
    int rc;

    if (removed)
        *removed = 0;
    if ((rc = shmchop_shm_inspect(name, &st, err, errlen)) != 0)
        return rc;
    if (st.writer_alive == 1)
        return 0;
    shmchop_shm_names_make(name, st.postfix, &nn, NULL, 0);
    if (st.info && !dry_run)
        gc_detach(&nn);
    if (st.data && (rc = gc_remove(&g, nn.data, "data object of a dead writer")) != 0)
        goto out;
    if ((rc = for_each_stray(name, st.postfix, gc_stray, &g, &strays)) != 0)
        goto out;
    if (st.info && (rc = gc_remove(&g, nn.info, "info object of a dead writer")) != 0)
        goto out;
    if (mutex_unused(&st.data_mutex) &&
        (rc = gc_remove(&g, nn.data_mutex, "data mutex nobody holds")) != 0)
        goto out;
    if (mutex_unused(&st.info_mutex) &&
        (rc = gc_remove(&g, nn.info_mutex, "info mutex nobody holds")) != 0)
        goto out;
out:
    if (rc != 0)
        shmchop__errf(err, errlen, "%s: cannot remove: %s", name, strerror(-rc));
    if (removed)
        *removed = g.removed;
    return rc;
}

int shmchop_shm_break_lock(const char *name, unsigned *broken, char *err, size_t errlen)
{
    shmchop_shm_names nn;
    const char *objs[2];
    int rc;

    if (broken)
        *broken = 0;
    if ((rc = shmchop_shm_names_make(name, NULL, &nn, err, errlen)) != 0)
        return rc;
    objs[0] = nn.data_mutex;
    objs[1] = nn.info_mutex;
    for (int i = 0; i < 2; i++) {
        shmchop__mutex m;
        bool was = false;
        rc = shmchop__mutex_open(&m, objs[i], false, 0, ADMIN_TIMEOUT_MS, err, errlen);
        if (rc == -ENOENT)
            continue;
        if (rc != 0)
            return rc;
        rc = shmchop__mutex_force_unlock(&m, ADMIN_TIMEOUT_MS, &was, err, errlen);
        shmchop__mutex_close(&m);
        if (rc != 0)
            return rc;
        if (was && broken)
            (*broken)++;
    }
    return 0;
}
