/* SPDX-License-Identifier: MIT */
/* Administration of live-segment objects for shmchop-in ls / gc (R2.2, R2.3b, R2.8, R2.11). */
#include <shmchop/global.h>
#include <shmchop/image.h>
#include <shmchop/segment.h>

#include "shm_info.h"
#include "shm_mutex.h"
#include "payload_layout.h"
#include "shm_object.h"
#include "shm_util.h"
#include "sigbus_guard.h"

#include <dirent.h>
#include <stddef.h>
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

/* What one inspection found, object by object (R2.12-R2.14). */
typedef struct name_probe {
    shmchop_shm_names nn;       /* data carries the postfix found */
    shmchop__obj_probe info, data, data_mx, info_mx;
} name_probe;

/* The lock word of a sound mutex object; a foreign one is not mapped. */
static void lock_state(const char *object, const shmchop__obj_probe *p, shmchop_shm_lock_state *ls)
{
    shmchop__mutex m;
    int rc;

    memset(ls, 0, sizeof(*ls));
    ls->holder_alive = -1;
    if (!p->exists)
        return;
    ls->exists = true;
    ls->size = (uint64_t)p->sb.st_size;
    if (!p->sound) {
        /* Not a mutex object (R2.13): never mapped or locked, so it can
         * neither hang nor fault us; reported as held, never removed. */
        ls->ready = true;
        ls->locked = true;
        return;
    }
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
    ls->size = (uint64_t)p->sb.st_size;
    shmchop__mutex_close(&m);
}

/* The info object's fields, from the bytes the probe read (no mapping). */
static void info_fields(const name_probe *np, shmchop_shm_status *st, uint32_t *magic)
{
    struct shmchop__info_obj raw;
    shmchop__info in = { .obj = &raw, .fd = -1 };
    shmchop__info_view v;

    *magic = 0;
    if (!np->info.sound || np->info.head_len < sizeof(raw))
        return;
    memcpy(&raw, np->info.head, sizeof(raw));
    shmchop__info_read(&in, &v);
    *magic = (uint32_t)v.magic;
    st->info_valid = v.magic == SHMCHOP_INFO_MAGIC && v.version == SHMCHOP_INFO_VERSION;
    st->supported = v.supported;
    st->detach = v.detach;
    if (shmchop__postfix_take(v.postfix_raw, st->postfix, np->nn.info, NULL, 0) != 0)
        st->postfix[0] = '\0';
}

/* 1 when one of our writers holds the OFD lock on the info object. */
static int info_ofd_held(const name_probe *np)
{
    struct stat sb;
    int fd, held;

    if (!np->info.sound || shmchop__obj_open(np->nn.info, O_RDONLY, &fd, &sb, NULL, 0) != 0)
        return 0;
    held = shmchop__info_held(fd);
    close(fd);
    return held;
}

/* The writer pid the data object records (0 without one): a CHOP image's
 * extension block, or a global image's header (SPEC 3). */
static uint32_t block_pid(const shmchop__obj_probe *data)
{
    static const shmchop_payload kinds[] = { SHMCHOP_PAYLOAD_CHOP, SHMCHOP_PAYLOAD_GLOBAL };
    shmchop__payload_fields f;

    if (!data->sound)
        return 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (shmchop__payload_find(shmchop__payload_layout_of(kinds[i]), data->head,
                                  data->head_len, &f))
            return f.writer_pid;
    return 0;
}

static void note_foreign(shmchop_shm_status *st, const shmchop__obj_probe *p)
{
    if (!p->exists || p->sound)
        return;
    if (st->foreign++ == 0)
        snprintf(st->foreign_why, sizeof(st->foreign_why), "%s", p->why);
}

static void note_users(shmchop_shm_status *st, const shmchop__obj_probe *p)
{
    if (p->use.users == 1 && st->in_use != 1) {
        st->in_use = 1;
        st->user_pid = p->use.user_pid;
    } else if (p->use.users < 0 && st->in_use == 0) {
        st->in_use = -1;
        st->user_pid = p->use.user_pid;
    }
}

/* Whether the name is held by a writer (R2.11, R2.14): one of ours (OFD
 * lock, or the block's pid mapping the data object), or any process that
 * maps the data object writable or holds it open for writing: the
 * compatible peer's writer, block or not. Readers map read-only. */
static int writer_held(const name_probe *np, shmchop_shm_status *st, uint32_t magic)
{
    uint32_t pid = block_pid(&np->data);
    /* R2.14: a recorded pid counts only while it maps the data object (a
     * reused pid holds nothing); it is still shown. */
    uint32_t counted = shmchop__pid_uses_object(pid, &np->data.sb, false) == 1 ? pid : 0;

    st->writer_pid = pid;
    if (shmchop__name_held(info_ofd_held(np), magic, st->detach, counted))
        return 1;
    if (np->data.use.writers == 1) {
        st->writer_pid = np->data.use.writer_pid;
        return 1;
    }
    return np->data.use.writers < 0 ? -1 : 0;
}

static int inspect(const char *name, shmchop_shm_status *st, name_probe *np, char *err,
                   size_t errlen)
{
    shmchop__obj_probe *all[4] = { &np->info, &np->data, &np->data_mx, &np->info_mx };
    uint32_t magic;
    int rc;

    memset(st, 0, sizeof(*st));
    memset(np, 0, sizeof(*np));
    if ((rc = shmchop_shm_names_make(name, NULL, &np->nn, err, errlen)) != 0)
        return rc;
    snprintf(st->name, sizeof(st->name), "%s", name);
    shmchop__obj_probe_one(np->nn.info, SHMCHOP__OBJ_INFO, &np->info);
    st->info = np->info.exists;
    info_fields(np, st, &magic);
    shmchop_shm_names_make(name, st->postfix, &np->nn, NULL, 0);
    memcpy(st->data_name, np->nn.data, sizeof(st->data_name));
    shmchop__obj_probe_one(np->nn.data, SHMCHOP__OBJ_DATA, &np->data);
    shmchop__obj_probe_one(np->nn.data_mutex, SHMCHOP__OBJ_MUTEX, &np->data_mx);
    shmchop__obj_probe_one(np->nn.info_mutex, SHMCHOP__OBJ_MUTEX, &np->info_mx);
    shmchop__probes_in_use(all, 4);
    st->data = np->data.exists;
    st->data_size = np->data.exists ? (uint64_t)np->data.sb.st_size : 0;
    st->writer_alive = writer_held(np, st, magic);
    for (int i = 0; i < 4; i++) {
        note_foreign(st, all[i]);
        note_users(st, all[i]);
    }
    for_each_stray(name, st->postfix, NULL, NULL, &st->stray_data);
    lock_state(np->nn.data_mutex, &np->data_mx, &st->data_mutex);
    lock_state(np->nn.info_mutex, &np->info_mx, &st->info_mutex);
    return 0;
}

int shmchop_shm_inspect(const char *name, shmchop_shm_status *st, char *err, size_t errlen)
{
    name_probe np;

    return inspect(name, st, &np, err, errlen);
}

/* ---- the entries of a global segment (ls) ---- */

/* The global header's seq, read by its own pread: each pread is one
 * system call, so the copy between two of them cannot be reordered
 * around them (the writer makes seq odd before and even after it
 * writes, R1.17). */
static int read_seq(int fd, uint64_t *seq)
{
    unsigned char b[8];

    if (pread(fd, b, sizeof(b), SHMCHOP_GLOBAL_OFF_SEQ) != (ssize_t)sizeof(b))
        return SHMCHOP_E_BAD_GLOBAL;
    memcpy(seq, b, sizeof(b));
    return 0;
}

/* Header and table copied into *out (malloc'd) in one sequence-lock
 * pass; *h decoded. */
static int copy_table(int fd, uint64_t obj_size, unsigned char **out, shmchop_global_header *h)
{
    unsigned char head[SHMCHOP_GLOBAL_HEADER_SIZE];
    uint64_t s1, s2, end;
    unsigned char *buf;
    int rc;

    if ((rc = read_seq(fd, &s1)) != 0)
        return rc;
    if (s1 & 1)
        return SHMCHOP_E_TORN;
    if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head))
        return SHMCHOP_E_BAD_GLOBAL;
    shmchop_global_header_decode(head, h);
    if (h->magic != SHMCHOP_GLOBAL_MAGIC)
        return SHMCHOP_E_BAD_MAGIC;
    if (h->entry_count > SHMCHOP_GLOBAL_MAX_ENTRIES)
        return SHMCHOP_E_LIMIT;
    end = (uint64_t)h->table_offset + (uint64_t)h->entry_count * SHMCHOP_GLOBAL_ENTRY_SIZE;
    if (h->table_offset < SHMCHOP_GLOBAL_HEADER_SIZE || end > h->size || end > obj_size)
        return SHMCHOP_E_BAD_GLOBAL;
    if (!(buf = malloc((size_t)end)))
        return -ENOMEM;
    if (pread(fd, buf, (size_t)end, 0) != (ssize_t)end || (rc = read_seq(fd, &s2)) != 0) {
        free(buf);
        return SHMCHOP_E_BAD_GLOBAL;
    }
    if (s2 != s1 || memcmp(buf, head, sizeof(head)) != 0) {
        free(buf);
        return SHMCHOP_E_TORN;
    }
    *out = buf;
    return 0;
}

int shmchop_shm_global_entries(const shmchop_shm_status *st, shmchop_shm_entry_cb cb, void *arg)
{
    shmchop_global_header h;
    shmchop_global_entry e;
    unsigned char *buf = NULL;
    struct stat sb;
    int fd, rc = SHMCHOP_E_TORN;

    if (!st || !st->data || !st->data_name[0])
        return SHMCHOP_E_NO_WRITER;
    if (shmchop__obj_open(st->data_name, O_RDONLY, &fd, &sb, NULL, 0) != 0)
        return SHMCHOP_E_NO_WRITER;
    if (!S_ISREG(sb.st_mode)) { /* R2.12: ls reports it as foreign already */
        close(fd);
        return SHMCHOP_E_BAD_GLOBAL;
    }
    for (int tries = 0; tries < 3 && rc == SHMCHOP_E_TORN; tries++)
        rc = copy_table(fd, (uint64_t)sb.st_size, &buf, &h);
    close(fd);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < h.entry_count && rc == 0; i++) {
        shmchop_global_entry_decode(buf, h.table_offset, i, &e);
        if (cb)
            rc = cb(e.name, arg);
    }
    free(buf);
    return rc ? rc : (int)h.entry_count;
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

/* A stray postfixed data object goes only when it is a data object that
 * nobody maps or holds open (R2.13, R2.14). */
static int gc_stray(const char *object, void *arg)
{
    shmchop__obj_probe p, *pp = &p;

    shmchop__obj_probe_one(object, SHMCHOP__OBJ_DATA, &p);
    shmchop__probes_in_use(&pp, 1);
    if (!shmchop__obj_removable(&p))
        return 0;
    return gc_remove(arg, object, "stray data object of an old postfix");
}

/*
 * Set detach in the info object, so readers still attached let go
 * (R2.7a). Written with pwrite, never through a mapping (a truncated
 * object cannot fault us), and only into a sound info object (R2.13).
 */
static void gc_detach(const name_probe *np)
{
    static const bool yes = true;
    shmchop__mutex m;
    struct stat sb;
    int fd, locked;

    if (!np->info.sound ||
        shmchop__obj_open(np->nn.info, O_RDWR, &fd, &sb, NULL, 0) != 0)
        return;
    locked = shmchop__mutex_open(&m, np->nn.info_mutex, false, 0, ADMIN_TIMEOUT_MS, NULL, 0) == 0;
    if (locked && shmchop__mutex_lock(&m, ADMIN_TIMEOUT_MS, NULL, NULL, 0) != 0) {
        shmchop__mutex_close(&m);
        locked = 0;
    }
    if (sb.st_ino == np->info.sb.st_ino &&
        pwrite(fd, &yes, sizeof(yes), offsetof(struct shmchop__info_obj, detach)) < 0) {
        /* nothing more a cleaner can do for the readers */
    }
    if (locked) {
        shmchop__mutex_unlock(&m, NULL, 0);
        shmchop__mutex_close(&m);
    }
    close(fd);
}

/* A mutex object nobody holds may go; a half-made one (not ready) too. */
static bool mutex_unused(const shmchop__obj_probe *p, const shmchop_shm_lock_state *ls)
{
    if (!shmchop__obj_removable(p))
        return false;
    if (!ls->ready)
        return true;
    return !ls->locked || ls->holder_alive == 0;
}

/*
 * gc decides from one inspection and then unlinks: a writer starting on
 * the same name in between could lose its objects (or keep using a mutex
 * object whose name is gone). gc is an administrator's tool, run when the
 * writers are known to be down; `writer_alive` and the per-object users
 * (R2.14) protect the running ones.
 */
int shmchop_shm_gc(const char *name, bool dry_run, shmchop_shm_gc_cb cb, void *arg,
                   unsigned *removed, char *err, size_t errlen)
{
    struct gc_ctx g = { .dry_run = dry_run, .cb = cb, .arg = arg };
    shmchop_shm_status st;
    name_probe np;
    unsigned strays;
    int rc;

    if (removed)
        *removed = 0;
    if ((rc = inspect(name, &st, &np, err, errlen)) != 0)
        return rc;
    if (st.writer_alive != 0)
        return 0; /* held, or cannot tell: the safe side */
    if (shmchop__obj_removable(&np.info) && !dry_run)
        gc_detach(&np);
    if (shmchop__obj_removable(&np.data) &&
        (rc = gc_remove(&g, np.nn.data, "data object of a dead writer")) != 0)
        goto out;
    if ((rc = for_each_stray(name, st.postfix, gc_stray, &g, &strays)) != 0)
        goto out;
    if (shmchop__obj_removable(&np.info) &&
        (rc = gc_remove(&g, np.nn.info, "info object of a dead writer")) != 0)
        goto out;
    if (mutex_unused(&np.data_mx, &st.data_mutex) &&
        (rc = gc_remove(&g, np.nn.data_mutex, "data mutex nobody holds")) != 0)
        goto out;
    if (mutex_unused(&np.info_mx, &st.info_mutex) &&
        (rc = gc_remove(&g, np.nn.info_mutex, "info mutex nobody holds")) != 0)
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

/* One mutex object of a name: repaired when it is sound and unused. */
static int repair_one(const char *object, bool *repaired, char *err, size_t errlen)
{
    shmchop__obj_probe p, *pp = &p;
    shmchop__mutex m;
    int rc;

    *repaired = false;
    shmchop__obj_probe_one(object, SHMCHOP__OBJ_MUTEX, &p);
    if (!p.exists)
        return 0;
    if (!p.sound) {
        shmchop__errf(err, errlen, "%s", p.why);
        return SHMCHOP_E_UNSAFE_OBJECT;
    }
    shmchop__probes_in_use(&pp, 1);
    if (p.use.users != 0) {
        shmchop__errf(err, errlen, "%s: %s by pid %u: not repaired (R2.16)", object,
                      p.use.users > 0 ? "in use" : "maybe in use", p.use.user_pid);
        return SHMCHOP_E_NAME_IN_USE;
    }
    if ((rc = shmchop__mutex_open(&m, object, false, 0, ADMIN_TIMEOUT_MS, err, errlen)) != 0)
        return rc;
    rc = shmchop__mutex_repair_cond(&m, err, errlen);
    shmchop__mutex_close(&m);
    *repaired = rc == 0;
    return rc;
}

int shmchop_shm_repair(const char *name, unsigned *repaired, char *err, size_t errlen)
{
    shmchop_shm_names nn;
    int rc, first = 0;

    if (repaired)
        *repaired = 0;
    if ((rc = shmchop_shm_names_make(name, NULL, &nn, err, errlen)) != 0)
        return rc;
    const char *objs[2] = { nn.data_mutex, nn.info_mutex };
    for (int i = 0; i < 2; i++) {
        bool done;
        rc = repair_one(objs[i], &done, first ? NULL : err, errlen);
        if (rc && !first)
            first = rc;
        if (done && repaired)
            (*repaired)++;
    }
    return first;
}
