/* SPDX-License-Identifier: MIT */
/* Export (R4.13-R4.14): parameters, table file, bindings resolved on change, export_sernum. */
#include "export_internal.h"
#include "shm_util.h"
#include "image_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What poll compares to notice a table file edited on disk. */
typedef struct file_id {
    int err; /* errno of the failed stat/open, 0 when the fields below hold */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} file_id;

/* A binding list with its strings; built whole, then swapped in. */
typedef struct bindset {
    shmchop_binding *b;
    uint32_t n, cap;
    char *text;
    size_t text_cap;
} bindset;

/* A warning the export raises on every update while it holds. */
typedef struct xwarn {
    int code;               /* 0: none */
    const char *rule;       /* static */
    const char *field;      /* static */
    char object[SHMCHOP_MESSAGE_MAX / 2];
    char msg[SHMCHOP_MESSAGE_MAX];
    char full[SHMCHOP_MESSAGE_MAX]; /* "object: msg" for shmchop_export_warning() */
} xwarn;

struct shmchop_export {
    shmchop_exportmethod method;
    char *root;               /* autoexportroot as given ("/" for none) */
    size_t root_keep;         /* root bytes before its trailing '/'s: the join prefix */
    char *table_path;         /* NULL: no table file */
    shmchop__xtable *tbl;     /* NULL: no table */
    shmchop__xcheck chk;      /* tbl against method */
    file_id fid;              /* of the loaded table file */
    bool polled;
    uint64_t poll_ns;

    /* the output the bindings were resolved for */
    bool resolved;            /* false: resolve at the next update */
    uint32_t nchans;
    bool empty;               /* length 0 */
    char *names;              /* its channel names, packed */
    size_t names_len, names_cap;

    bindset cur, next;
    uint64_t sernum;
    xwarn twarn;              /* the table's */
    xwarn rwarn;              /* the latest resolve's */
};

static void warn_set(xwarn *w, int code, const char *rule, const char *field,
                     const char *object, const char *msg)
{
    w->code = code;
    w->rule = rule;
    w->field = field;
    snprintf(w->object, sizeof(w->object), "%s", object);
    snprintf(w->msg, sizeof(w->msg), "%s", msg);
    /* A long file name may cut the message: it stays one readable line. */
    if (snprintf(w->full, sizeof(w->full), "%s: %s", w->object, w->msg) < 0)
        w->full[0] = '\0';
    for (char *p = w->full; *p; p++) /* one line, whatever the file name held */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static void warn_report(const xwarn *w, shmchop_diag *diag)
{
    if (w->code)
        shmchop__diag_add(diag, 0, w->code, w->rule, w->field, w->object, "%s", w->msg);
}

static bool uses_table(shmchop_exportmethod m)
{
    return m == SHMCHOP_EXPORT_DATINDEX || m == SHMCHOP_EXPORT_DATNAME;
}

/* The table's warning follows the table and the method. */
static void table_warning(shmchop_export *ex)
{
    memset(&ex->twarn, 0, sizeof(ex->twarn));
    if (ex->tbl && uses_table(ex->method) && ex->chk.code)
        warn_set(&ex->twarn, ex->chk.code, "R4.13", "exporttable", ex->tbl->object,
                 ex->chk.msg);
}

/* ---- the table file ------------------------------------------------------- */

static void fid_from_stat(file_id *id, const struct stat *st)
{
    memset(id, 0, sizeof(*id));
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
    id->ctime = st->st_ctim;
}

static bool fid_equal(const file_id *a, const file_id *b)
{
    if (a->err || b->err)
        return a->err == b->err;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Read all of fd, at most SHMCHOP_EXPORT_MAX_FILE + 1 bytes (one more shows
 * a file that grew past the bound). Returns 0, -errno or -EFBIG. */
static int read_all(int fd, size_t hint, char **buf, size_t *len)
{
    size_t cap = hint + 1, n = 0;
    char *b = malloc(cap);

    if (!b)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > SHMCHOP_EXPORT_MAX_FILE) {
                free(b);
                return -EFBIG;
            }
            size_t ncap = cap * 2 > SHMCHOP_EXPORT_MAX_FILE + 1 ? SHMCHOP_EXPORT_MAX_FILE + 1
                                                                : cap * 2;
            char *nb = realloc(b, ncap);
            if (!nb) {
                free(b);
                return -ENOMEM;
            }
            b = nb, cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *buf = b;
    *len = n;
    return 0;
}

/*
 * Load the table file `path` into a new table (*out), recording its
 * identity in *id. A file that cannot be read gives a table holding the
 * fault (a warning). Returns 0 or -ENOMEM.
 */
static int load_file(const char *path, shmchop__xtable **out, file_id *id)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, rc;

    memset(id, 0, sizeof(*id));
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        /* A file that exists but cannot be opened (no permission) still has
         * an identity: poll then rereads it only once it changes. */
        if (stat(path, &st) == 0)
            fid_from_stat(id, &st);
        else
            id->err = errno;
        return shmchop__xtable_fault(path, out, "cannot open: %s", strerror(e));
    }
    if (fstat(fd, &st) != 0) {
        id->err = errno;
        close(fd);
        return shmchop__xtable_fault(path, out, "cannot stat: %s", strerror(id->err));
    }
    fid_from_stat(id, &st);
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return shmchop__xtable_fault(path, out, "not a regular file");
    }
    if (st.st_size > (off_t)SHMCHOP_EXPORT_MAX_FILE) {
        close(fd);
        return shmchop__xtable_fault(path, out, "file is %lld bytes, more than the limit of %u",
                                     (long long)st.st_size, SHMCHOP_EXPORT_MAX_FILE);
    }
    rc = read_all(fd, (size_t)st.st_size, &buf, &len);
    close(fd);
    if (rc == -ENOMEM)
        return rc;
    if (rc == -EFBIG)
        return shmchop__xtable_fault(path, out, "file grew past the limit of %u bytes",
                                     SHMCHOP_EXPORT_MAX_FILE);
    if (rc)
        return shmchop__xtable_fault(path, out, "cannot read: %s", strerror(-rc));
    rc = shmchop__xtable_parse(buf, len, path, out);
    free(buf);
    return rc;
}

/* ---- parameters ------------------------------------------------------------ */

static size_t root_prefix(const char *root)
{
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/')
        n--;
    return n;
}

/* Replace the table (and its check); the bindings follow at the next update. */
static void install_table(shmchop_export *ex, shmchop__xtable *t, const shmchop__xcheck *chk)
{
    if (ex->tbl != t)
        shmchop__xtable_free(ex->tbl);
    ex->tbl = t;
    if (chk)
        ex->chk = *chk;
    else
        memset(&ex->chk, 0, sizeof(ex->chk));
    ex->resolved = false;
    table_warning(ex);
}

/* Check t for method into *chk: 0, or -ENOMEM (with a message in err). */
static int check_table(shmchop__xtable *t, shmchop_exportmethod m, shmchop__xcheck *chk)
{
    memset(chk, 0, sizeof(*chk));
    if (!t || !uses_table(m))
        return 0;
    shmchop__xtable_check(t, m, chk);
    return chk->code == -ENOMEM ? -ENOMEM : 0;
}

static int validate(shmchop_exportmethod method, const char *root, char *err, size_t errlen)
{
    if ((unsigned)method > SHMCHOP_EXPORT_AUTONAME) {
        shmchop__errf(err, errlen, "exportmethod %d is not datindex, datname or autoname",
                (int)method);
        return SHMCHOP_E_USAGE;
    }
    if (root && strlen(root) > SHMCHOP_EXPORT_MAX_ROOT) {
        shmchop__errf(err, errlen, "autoexportroot is %zu bytes, longer than the limit of %u",
                strlen(root), SHMCHOP_EXPORT_MAX_ROOT);
        return SHMCHOP_E_USAGE;
    }
    return 0;
}

int shmchop_export_configure(shmchop_export *ex, shmchop_exportmethod method, const char *root,
                             const char *table_path, char *err, size_t errlen)
{
    shmchop__xtable *t = NULL;
    shmchop__xcheck chk;
    file_id fid;
    char *nroot = NULL, *npath = NULL;
    int rc;

    if (!ex) {
        shmchop__errf(err, errlen, "export: no export");
        return SHMCHOP_E_USAGE;
    }
    rc = validate(method, root, err, errlen);
    if (rc)
        return rc;
    if (table_path && !*table_path)
        table_path = NULL;
    bool new_path = !(table_path ? ex->table_path && strcmp(table_path, ex->table_path) == 0
                                 : !ex->table_path);
    nroot = strdup(root && *root ? root : "/");
    if (new_path && table_path && !(npath = strdup(table_path)))
        goto nomem;
    if (!nroot)
        goto nomem;
    fid = ex->fid;
    t = ex->tbl;
    if (new_path) {
        t = NULL;
        memset(&fid, 0, sizeof(fid));
        if (table_path && load_file(table_path, &t, &fid))
            goto nomem;
    }
    if (check_table(t, method, &chk))
        goto nomem;

    /* Commit: nothing below fails. */
    free(ex->root);
    ex->root = nroot;
    ex->root_keep = root_prefix(nroot);
    if (new_path) {
        free(ex->table_path);
        ex->table_path = npath;
        ex->fid = fid;
        ex->polled = false;
    }
    ex->method = method;
    install_table(ex, t, &chk);
    return 0;

nomem:
    if (t != ex->tbl)
        shmchop__xtable_free(t);
    free(nroot);
    free(npath);
    shmchop__errf(err, errlen, "export: out of memory for the parameters");
    return -ENOMEM;
}

int shmchop_export_open(shmchop_exportmethod method, const char *root, const char *table_path,
                        shmchop_export **out, char *err, size_t errlen)
{
    shmchop_export *ex;
    int rc;

    if (!out) {
        shmchop__errf(err, errlen, "export: no place for the export");
        return SHMCHOP_E_USAGE;
    }
    *out = NULL;
    ex = calloc(1, sizeof(*ex));
    if (!ex) {
        shmchop__errf(err, errlen, "export: out of memory");
        return -ENOMEM;
    }
    rc = shmchop_export_configure(ex, method, root, table_path, err, errlen);
    if (rc) {
        shmchop_export_close(ex);
        return rc;
    }
    *out = ex;
    return 0;
}

static void bindset_free(bindset *s)
{
    free(s->b);
    free(s->text);
}

void shmchop_export_close(shmchop_export *ex)
{
    if (!ex)
        return;
    free(ex->root);
    free(ex->table_path);
    shmchop__xtable_free(ex->tbl);
    free(ex->names);
    bindset_free(&ex->cur);
    bindset_free(&ex->next);
    free(ex);
}

int shmchop_export_reload(shmchop_export *ex)
{
    shmchop__xtable *t = NULL;
    shmchop__xcheck chk;
    file_id fid;

    if (!ex)
        return SHMCHOP_E_USAGE;
    if (!ex->table_path)
        return 0;
    if (load_file(ex->table_path, &t, &fid))
        return -ENOMEM;
    if (check_table(t, ex->method, &chk)) {
        shmchop__xtable_free(t);
        return -ENOMEM;
    }
    ex->fid = fid;
    install_table(ex, t, &chk);
    return 0;
}

int shmchop_export_poll(shmchop_export *ex, uint64_t now_ns)
{
    struct stat st;
    file_id now;

    if (!ex || !ex->table_path)
        return 0;
    if (ex->polled && now_ns >= ex->poll_ns && now_ns - ex->poll_ns < SHMCHOP_EXPORT_POLL_NS)
        return 0;
    ex->polled = true;
    ex->poll_ns = now_ns;
    memset(&now, 0, sizeof(now));
    if (stat(ex->table_path, &st) != 0)
        now.err = errno;
    else
        fid_from_stat(&now, &st);
    if (fid_equal(&now, &ex->fid))
        return 0;
    int rc = shmchop_export_reload(ex);
    return rc ? rc : 1;
}

int shmchop_export_load_text(shmchop_export *ex, const char *text, size_t len,
                             const char *object)
{
    shmchop__xtable *t = NULL;
    shmchop__xcheck chk;

    if (!ex || (!text && len))
        return SHMCHOP_E_USAGE;
    if (shmchop__xtable_parse(text, len, object, &t))
        return -ENOMEM;
    if (check_table(t, ex->method, &chk)) {
        shmchop__xtable_free(t);
        return -ENOMEM;
    }
    install_table(ex, t, &chk);
    return 0;
}

/* ---- resolving the bindings ------------------------------------------------- */

/* One pass over the output: counting (set == NULL) or writing into set,
 * whose storage the counting pass sized. */
typedef struct emit_ctx {
    bindset *set;
    uint32_t n;
    size_t bytes;
} emit_ctx;

static void emit(const shmchop_export *ex, emit_ctx *c, uint32_t ch, const char *path,
                 size_t plen, const char *par, size_t parlen)
{
    if (!plen || !parlen)
        return; /* an empty path or parameter is a placeholder: nothing to bind */
    bool rel = path[0] != '/';
    size_t full = (rel ? ex->root_keep + 1 : 0) + plen;

    if (c->set && c->n < c->set->cap) {
        char *p = c->set->text + c->bytes;
        shmchop_binding *b = &c->set->b[c->n];
        if (rel) {
            memcpy(p, ex->root, ex->root_keep);
            p[ex->root_keep] = '/';
        }
        memcpy(p + full - plen, path, plen);
        p[full] = '\0';
        memcpy(p + full + 1, par, parlen);
        p[full + 1 + parlen] = '\0';
        b->path = p;
        b->parameter = p + full + 1;
        b->value = 0;
        b->channel = ch;
    }
    c->n++;
    c->bytes += full + 1 + parlen + 1;
}

static void emit_row(const shmchop_export *ex, emit_ctx *c, uint32_t ch, const shmchop__xrow *r)
{
    const char *path = shmchop__xcell(ex->tbl, r, SHMCHOP__XCOL_PATH);
    const char *par = shmchop__xcell(ex->tbl, r, SHMCHOP__XCOL_PARAMETER);
    emit(ex, c, ch, path, strlen(path), par, strlen(par));
}

static void walk(const shmchop_export *ex, const shmchop_chop *out, emit_ctx *c)
{
    if (out->length == 0 || out->num_chans == 0)
        return; /* no samples: no last sample to export (R4.14) */
    if (ex->method == SHMCHOP_EXPORT_AUTONAME) {
        for (uint32_t i = 0; i < out->num_chans; i++) {
            const char *name = shmchop_chop_name(out, i);
            const char *colon = strrchr(name, ':');
            if (colon)
                emit(ex, c, i, name, (size_t)(colon - name), colon + 1, strlen(colon + 1));
        }
        return;
    }
    if (!ex->tbl || !ex->chk.usable)
        return;
    if (ex->method == SHMCHOP_EXPORT_DATINDEX) {
        for (uint32_t i = 0; i < out->num_chans && i < ex->tbl->nrows; i++)
            emit_row(ex, c, i, &ex->tbl->rows[i]);
        return;
    }
    for (uint32_t i = 0; i < out->num_chans; i++) {
        const shmchop__xrow *r = shmchop__xtable_find(ex->tbl, shmchop_chop_name(out, i));
        if (r)
            emit_row(ex, c, i, r);
    }
}

static int bindset_reserve(bindset *s, uint32_t n, size_t bytes)
{
    if (n > s->cap) {
        shmchop_binding *b = realloc(s->b, (size_t)n * sizeof(*b));
        if (!b)
            return -ENOMEM;
        s->b = b;
        s->cap = n;
    }
    if (bytes > s->text_cap) {
        char *t = realloc(s->text, bytes);
        if (!t)
            return -ENOMEM;
        s->text = t;
        s->text_cap = bytes;
    }
    return 0;
}

static bool bindset_same(const bindset *a, const bindset *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t k = 0; k < a->n; k++)
        if (a->b[k].channel != b->b[k].channel || strcmp(a->b[k].path, b->b[k].path) != 0 ||
            strcmp(a->b[k].parameter, b->b[k].parameter) != 0)
            return false;
    return true;
}

static size_t names_bytes(const shmchop_chop *out)
{
    size_t n = 0;
    for (uint32_t i = 0; i < out->num_chans; i++)
        n += strlen(shmchop_chop_name(out, i)) + 1;
    return n;
}

/* Whether out has the channels the bindings were resolved for. */
static bool same_output(const shmchop_export *ex, const shmchop_chop *out)
{
    const char *s = ex->names, *end = s ? s + ex->names_len : s;

    if (!ex->resolved || out->num_chans != ex->nchans || (out->length == 0) != ex->empty)
        return false;
    for (uint32_t i = 0; i < out->num_chans; i++) {
        const char *name = shmchop_chop_name(out, i);
        size_t l = strlen(name) + 1;
        if ((size_t)(end - s) < l || memcmp(s, name, l) != 0)
            return false;
        s += l;
    }
    return s == end;
}

static void limit_warning(shmchop_export *ex, const emit_ctx *c)
{
    static const char *const methods[] = { "datindex", "datname", "autoname" };
    char msg[SHMCHOP_MESSAGE_MAX];

    if (c->n > SHMCHOP_EXPORT_MAX_BINDINGS)
        snprintf(msg, sizeof(msg), "%u bindings, more than the limit of %u: nothing exported",
                 c->n, SHMCHOP_EXPORT_MAX_BINDINGS);
    else
        snprintf(msg, sizeof(msg),
                 "%zu bytes of binding paths, more than the limit of %u: nothing exported",
                 c->bytes, SHMCHOP_EXPORT_MAX_TEXT);
    char object[64];
    snprintf(object, sizeof(object), "export %s", methods[ex->method]);
    warn_set(&ex->rwarn, SHMCHOP_E_LIMIT, "R4.14", "export", object, msg);
}

/* Resolve the bindings of out into ex->next, then swap them in. */
static int resolve(shmchop_export *ex, const shmchop_chop *out)
{
    emit_ctx c = { NULL, 0, 0 };
    size_t nb = names_bytes(out);

    memset(&ex->rwarn, 0, sizeof(ex->rwarn));
    walk(ex, out, &c);
    if (c.n > SHMCHOP_EXPORT_MAX_BINDINGS || c.bytes > SHMCHOP_EXPORT_MAX_TEXT) {
        limit_warning(ex, &c);
        c.n = 0, c.bytes = 0;
    }
    if (bindset_reserve(&ex->next, c.n, c.bytes))
        return -ENOMEM;
    if (nb > ex->names_cap) {
        char *n = realloc(ex->names, nb);
        if (!n)
            return -ENOMEM;
        ex->names = n;
        ex->names_cap = nb;
    }
    if (c.n) {
        emit_ctx w = { &ex->next, 0, 0 };
        walk(ex, out, &w);
    }
    ex->next.n = c.n;

    if (!bindset_same(&ex->cur, &ex->next))
        ex->sernum++;
    bindset t = ex->cur;
    ex->cur = ex->next;
    ex->next = t;

    char *p = ex->names;
    for (uint32_t i = 0; i < out->num_chans; i++)
        p = stpcpy(p, shmchop_chop_name(out, i)) + 1;
    ex->names_len = nb;
    ex->nchans = out->num_chans;
    ex->empty = out->length == 0;
    ex->resolved = true;
    return 0;
}

int shmchop_export_update(shmchop_export *ex, const shmchop_chop *out, shmchop_diag *diag)
{
    if (!ex || !out)
        return SHMCHOP_E_USAGE;
    if (!same_output(ex, out) && resolve(ex, out)) {
        ex->resolved = false;
        warn_set(&ex->rwarn, -ENOMEM, "R4.14", "export", "export",
                 "out of memory resolving the bindings: the previous ones stay");
        warn_report(&ex->twarn, diag);
        warn_report(&ex->rwarn, diag);
        return -ENOMEM;
    }
    for (uint32_t k = 0; k < ex->cur.n; k++) {
        shmchop_binding *b = &ex->cur.b[k];
        b->value = shmchop_chop_channel(out, b->channel)[out->length - 1];
    }
    warn_report(&ex->twarn, diag);
    warn_report(&ex->rwarn, diag);
    return 0;
}

uint32_t shmchop_export_bindings(const shmchop_export *ex, const shmchop_binding **out)
{
    if (out)
        *out = ex ? ex->cur.b : NULL;
    return ex ? ex->cur.n : 0;
}

uint64_t shmchop_export_sernum(const shmchop_export *ex)
{
    return ex ? ex->sernum : 0;
}

int shmchop_export_warning(const shmchop_export *ex, const char **message)
{
    const xwarn *w = NULL;

    if (ex)
        w = ex->twarn.code ? &ex->twarn : ex->rwarn.code ? &ex->rwarn : NULL;
    if (message)
        *message = w ? w->full : "";
    return w ? w->code : 0;
}
