/* SPDX-License-Identifier: MIT */
/* The reader (Shared Mem In CHOP): parameters, sources and the cook (SPEC 4.1-4.5). */
#include "image_internal.h"
#include "reader_internal.h"
#include "shm_util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GLOBAL_NAME_DEFAULT "shmchop_global"
#define MAXSLICE_MS_MAX 3600000.0 /* one hour */

/* ---- findings and failures -------------------------------------------- */

/* Record a failure whose message is ready; the first one becomes the cook's message. */
static int fail_msg(shmchop_reader *r, int code, const char *rule, const char *msg)
{
    shmchop_diag_add(&r->diag, true, code, rule, "", msg);
    if (!r->err[0])
        snprintf(r->err, sizeof(r->err), "%s", msg);
    return code;
}

/* Record a failure of the reader itself: "reader 'a b': <text>". */
__attribute__((format(printf, 4, 5))) static int fail(shmchop_reader *r, int code,
                                                      const char *rule, const char *fmt, ...)
{
    char msg[SHMCHOP_MESSAGE_MAX];
    va_list ap;
    int n;

    n = snprintf(msg, sizeof(msg), "reader '%s': ", r->p.name ? r->p.name : "");
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    return fail_msg(r, code, rule, msg);
}

/* "reader '<name>': <msg>" into dst, cut to fit. */
static void reader_msg(char *dst, size_t cap, const char *name, const char *msg)
{
    int n = snprintf(dst, cap, "reader '%s': ", name ? name : "");

    if (n >= 0 && (size_t)n < cap)
        snprintf(dst + n, cap - (size_t)n, "%s", msg);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* ---- parameters ------------------------------------------------------- */

void shmchop_reader_params_init(shmchop_reader_params *p)
{
    memset(p, 0, sizeof(*p));
    p->active = true;
    p->memtype = SHMCHOP_MEMTYPE_LOCAL;
    p->srselect = SHMCHOP_SRSELECT_FIRST;
    p->exportmethod = SHMCHOP_EXPORT_DATINDEX;
    p->fps = 60.0;
    p->maxslice_ms = 200.0;
    p->maxqueue = 3.0;
}

/* The numbers and enums of p; 0 or SHMCHOP_E_USAGE with a message. */
static int check_params(const shmchop_reader_params *p, char *msg, size_t len)
{
    if ((unsigned)p->memtype > SHMCHOP_MEMTYPE_GLOBAL)
        return snprintf(msg, len, "memtype %d is not local or global", (int)p->memtype),
               SHMCHOP_E_USAGE;
    if ((unsigned)p->srselect > SHMCHOP_SRSELECT_ERR)
        return snprintf(msg, len, "srselect %d is not first, max, min or err", (int)p->srselect),
               SHMCHOP_E_USAGE;
    if ((unsigned)p->exportmethod > SHMCHOP_EXPORT_AUTONAME)
        return snprintf(msg, len, "exportmethod %d is not datindex, datname or autoname",
                        (int)p->exportmethod),
               SHMCHOP_E_USAGE;
    if (!(p->fps > 0.0 && p->fps <= SHMCHOP_READER_MAX_FPS))
        return snprintf(msg, len, "fps %g is not in (0, %g]", p->fps, SHMCHOP_READER_MAX_FPS),
               SHMCHOP_E_USAGE;
    if (!(p->maxslice_ms > 0.0 && p->maxslice_ms <= MAXSLICE_MS_MAX))
        return snprintf(msg, len, "maxslice %g ms is not in (0, %g]", p->maxslice_ms,
                        MAXSLICE_MS_MAX),
               SHMCHOP_E_USAGE;
    if (!(p->maxqueue >= 0.0 && p->maxqueue <= SHMCHOP_READER_MAX_MAXQUEUE))
        return snprintf(msg, len, "maxqueue %g slices is not in [0, %g]", p->maxqueue,
                        SHMCHOP_READER_MAX_MAXQUEUE),
               SHMCHOP_E_USAGE;
    if (!(p->rate >= 0.0 && isfinite(p->rate)))
        return snprintf(msg, len, "rate %g is not 0 (srselect) or a finite rate > 0", p->rate),
               SHMCHOP_E_USAGE;
    return 0;
}

const char *shmchop_reader_next_name(const char **list, size_t *len)
{
    const char *s = *list;

    if (!s)
        return NULL;
    while (*s == ' ')
        s++;
    if (!*s) {
        *list = s;
        return NULL;
    }
    *len = strcspn(s, " ");
    *list = s + *len;
    return s;
}

/* Count the names in s (NULL: none). */
static unsigned count_names(const char *s)
{
    unsigned n = 0;
    size_t len;

    while (shmchop_reader_next_name(&s, &len))
        n++;
    return n;
}

static void source_free(shmchop__source *s)
{
    if (!s)
        return;
    shmchop_segment_close(s->seg);
    shmchop__global_release(s->global);
    free(s->gtake.buf);
    free(s->snap[0]);
    free(s->snap[1]);
    free(s->aligned);
    shmchop_chop_free(&s->chop);
    shmchop__stream_free(&s->stream);
    free(s->prev);
    free(s->chunk);
    free(s->chunk_rows);
    free(s->name);
    free(s->object);
    free(s);
}

static shmchop__source *source_new(const char *name, size_t len, shmchop_memtype memtype,
                                   const char *global)
{
    shmchop__source *s = calloc(1, sizeof(*s));
    int n;

    if (!s)
        return NULL;
    s->name = strndup(name, len);
    s->snap_cur = -1;
    shmchop_chop_init(&s->chop);
    shmchop__stream_init(&s->stream);
    if (!s->name)
        goto fail;
    /* Local: the data object's name; global: the entry inside G. */
    if (memtype == SHMCHOP_MEMTYPE_LOCAL)
        n = asprintf(&s->object, "%s%s", SHMCHOP_SHM_PREFIX, s->name);
    else
        n = asprintf(&s->object, "%s%s:%s", SHMCHOP_SHM_PREFIX, global, s->name);
    if (n < 0) {
        s->object = NULL;
        goto fail;
    }
    return s;
fail:
    source_free(s);
    return NULL;
}

/* Copy of a parameter string (NULL stays NULL); false only when out of memory. */
static bool dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return true;
    *out = strdup(s);
    return *out != NULL;
}

/* Everything set_params builds before it commits. */
typedef struct param_build {
    char *s_name, *s_global, *s_scope, *s_root, *s_table;
    shmchop_scope *scope;
    unsigned nsrc;
    shmchop__source **src;
    bool *reused;            /* per old source: moved into src */
    double *rates;
    shmchop__span *spans;
} param_build;

static void build_free(param_build *b, const shmchop_reader *r)
{
    free(b->s_name);
    free(b->s_global);
    free(b->s_scope);
    free(b->s_root);
    free(b->s_table);
    shmchop_scope_free(b->scope);
    for (unsigned i = 0; b->src && i < b->nsrc; i++) {
        bool old = false;
        for (unsigned k = 0; r && k < r->nsrc; k++)
            old = old || b->src[i] == r->src[k];
        if (!old)
            source_free(b->src[i]);
    }
    free(b->src);
    free(b->reused);
    free(b->rates);
    free(b->spans);
}

/* An old source named name[0, len) that set_params can keep, or NULL. */
static shmchop__source *find_reusable(const shmchop_reader *r, const param_build *b,
                                      const char *name, size_t len)
{
    for (unsigned k = 0; k < r->nsrc; k++) {
        const char *old = r->src[k]->name;
        if (!b->reused[k] && strlen(old) == len && memcmp(old, name, len) == 0) {
            b->reused[k] = true;
            return r->src[k];
        }
    }
    return NULL;
}

/* The source list of the new name; sources of the same name and memtype are kept. */
static int build_sources(const shmchop_reader *r, const shmchop_reader_params *p,
                         param_build *b, bool keep_old)
{
    const char *s = b->s_name;
    const char *global = p->global_name ? p->global_name : GLOBAL_NAME_DEFAULT;

    b->nsrc = count_names(s);
    b->src = calloc(b->nsrc ? b->nsrc : 1, sizeof(*b->src));
    b->reused = calloc(r->nsrc ? r->nsrc : 1, sizeof(*b->reused));
    b->rates = calloc(b->nsrc ? b->nsrc : 1, sizeof(*b->rates));
    b->spans = calloc(b->nsrc ? b->nsrc : 1, sizeof(*b->spans));
    if (!b->src || !b->reused || !b->rates || !b->spans)
        return -ENOMEM;
    for (unsigned i = 0; i < b->nsrc; i++) {
        size_t len;
        /* count_names() counted them: there is a next one. */
        const char *name = shmchop_reader_next_name(&s, &len);
        b->src[i] = keep_old ? find_reusable(r, b, name, len) : NULL;
        if (!b->src[i])
            b->src[i] = source_new(name, len, p->memtype, global);
        if (!b->src[i])
            return -ENOMEM;
    }
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Validate p and build what it needs; nothing of r changes. */
static int build_params(const shmchop_reader *r, const shmchop_reader_params *p, param_build *b,
                        char *msg, size_t len)
{
    unsigned names = count_names(p->name);
    bool keep_old = r->p.memtype == p->memtype && str_eq(r->p.global_name, p->global_name);
    int rc = check_params(p, msg, len);

    if (rc)
        return rc;
    if (names > SHMCHOP_READER_MAX_SOURCES) {
        snprintf(msg, len, "name lists %u sources, more than the limit of %d", names,
                 SHMCHOP_READER_MAX_SOURCES);
        return SHMCHOP_E_USAGE;
    }
    rc = shmchop_scope_compile(p->scope ? p->scope : "*", &b->scope, msg, len);
    if (rc) {
        if (rc == -ENOMEM)
            snprintf(msg, len, "out of memory compiling the scope");
        return rc;
    }
    if (!dup_opt(p->name, &b->s_name) || !dup_opt(p->global_name, &b->s_global) ||
        !dup_opt(p->scope, &b->s_scope) || !dup_opt(p->autoexportroot, &b->s_root) ||
        !dup_opt(p->exporttable, &b->s_table))
        rc = -ENOMEM;
    if (!rc)
        rc = build_sources(r, p, b, keep_old);
    if (rc)
        snprintf(msg, len, "out of memory for the parameters");
    return rc;
}

/* Release the storage the parameters own: sources' tables, strings, scope.
 * The sources themselves are freed by the callers, which know which ones
 * survive. */
static void free_param_storage(shmchop_reader *r)
{
    free(r->src);
    free(r->rates);
    free(r->spans);
    free(r->s_name);
    free(r->s_global);
    free(r->s_scope);
    free(r->s_root);
    free(r->s_table);
    shmchop_scope_free(r->scope);
}

/* ---- output storage ----------------------------------------------------- */

/* The CHOP gets its own samples back; a snapshot it viewed is no longer used. */
static void store_release(shmchop_chop *c, shmchop__out_store *st)
{
    if (st->viewing) {
        c->data = st->own;
        c->data_cap = st->own_cap;
        free(st->orphan);
    }
    *st = (shmchop__out_store){ .names_gen = st->names_gen };
}

/* The CHOP views src's snapshot `snap`, whose samples are at data. */
static void store_view(shmchop_chop *c, shmchop__out_store *st, const shmchop__source *src,
                       int snap, const float *data)
{
    if (!st->viewing) {
        st->own = c->data;
        st->own_cap = c->data_cap;
        st->viewing = true;
    }
    free(st->orphan);
    st->orphan = NULL;
    st->src = src;
    st->snap = snap;
    /* Read only through the const accessors: the snapshot is never written
     * while it is viewed. data_cap 0 keeps it out of any resize. */
    c->data = (float *)data;
    c->data_cap = 0;
}

/* Source s goes away: the output keeps the snapshot it views (R4.2). */
static void forget_source(shmchop_reader *r, shmchop__source *s)
{
    if (r->out_store.viewing && r->out_store.src == s) {
        r->out_store.orphan = s->snap[r->out_store.snap];
        s->snap[r->out_store.snap] = NULL;
        r->out_store.src = NULL;
    }
    if (r->next_store.src == s)
        store_release(&r->next, &r->next_store);
}

/* Swap the built parameters in; what they replace is released. */
static void commit_params(shmchop_reader *r, const shmchop_reader_params *p, param_build *b)
{
    bool ts_on = p->timeslice && !r->p.timeslice;
    bool fps_changed = p->fps != r->p.fps;
    bool seg_opts_changed = p->strict != r->p.strict || p->lock_timeout_ms != r->p.lock_timeout_ms;

    for (unsigned k = 0; k < r->nsrc; k++)
        if (!b->reused[k]) {
            forget_source(r, r->src[k]);
            source_free(r->src[k]);
        }
    free_param_storage(r);

    r->p = *p;
    r->p.name = r->s_name = b->s_name;
    r->p.global_name = r->s_global = b->s_global;
    r->p.scope = r->s_scope = b->s_scope;
    r->p.autoexportroot = r->s_root = b->s_root;
    r->p.exporttable = r->s_table = b->s_table;
    r->scope = b->scope;
    r->nsrc = b->nsrc;
    r->src = b->src;
    r->rates = b->rates;
    r->spans = b->spans;
    free(b->reused);
    memset(b, 0, sizeof(*b));

    if (seg_opts_changed)
        for (unsigned i = 0; i < r->nsrc; i++) {
            /* Segments take these options at open: attach again with the new ones. */
            shmchop_segment_close(r->src[i]->seg);
            r->src[i]->seg = NULL;
        }
    r->sel_valid = false; /* scope or channels may differ: match again */
    if (ts_on) {
        /* Time slicing turned on: a new stream epoch, the first cook one frame. */
        r->ts_restart = true;
        r->ts_have_prev = false;
    }
    if (fps_changed) {
        /* Frame numbers of another rate do not compare: restart the timeline. */
        r->tl_started = false;
        r->ts_have_prev = false;
    }
}

int shmchop_reader_set_params(shmchop_reader *r, const shmchop_reader_params *p)
{
    param_build b = { 0 };
    char msg[SHMCHOP_MESSAGE_MAX] = "";
    int rc;

    if (!r || !p)
        return SHMCHOP_E_USAGE;
    rc = build_params(r, p, &b, msg, sizeof(msg));
    /* configure is all or nothing, and nothing fails after it: set_params stays so. */
    if (!rc)
        rc = shmchop_export_configure(r->ex, p->exportmethod, p->autoexportroot, p->exporttable,
                                      msg, sizeof(msg));
    if (rc) {
        build_free(&b, r);
        reader_msg(r->err, sizeof(r->err), p->name, msg);
        return rc;
    }
    commit_params(r, p, &b);
    r->err[0] = '\0';
    return 0;
}

const shmchop_reader_params *shmchop_reader_get_params(const shmchop_reader *r)
{
    return &r->p;
}

int shmchop_reader_open(const shmchop_reader_params *p, shmchop_reader **out, char *err,
                        size_t errlen)
{
    shmchop_reader *r;
    int rc;

    if (out)
        *out = NULL;
    if (!p || !out) {
        set_err(err, errlen, "reader: no parameters or no place for the reader");
        return SHMCHOP_E_USAGE;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        set_err(err, errlen, "reader: out of memory");
        return -ENOMEM;
    }
    shmchop_reader_params_init(&r->p);
    r->p.timeslice = p->timeslice; /* no "turned on" transition at open */
    r->ts_restart = true;
    shmchop_chop_init(&r->out);
    shmchop_chop_init(&r->next);
    /* No table yet: no system call; set_params configures it. */
    rc = shmchop_export_open(SHMCHOP_EXPORT_DATINDEX, NULL, NULL, &r->ex, err, errlen);
    if (rc) {
        shmchop_reader_close(r);
        return rc;
    }
    rc = shmchop_reader_set_params(r, p);
    if (rc) {
        set_err(err, errlen, r->err);
        shmchop_reader_close(r);
        return rc;
    }
    shmchop__reader_info_fill(r);
    *out = r;
    return 0;
}

void shmchop_reader_close(shmchop_reader *r)
{
    if (!r)
        return;
    store_release(&r->out, &r->out_store);
    store_release(&r->next, &r->next_store);
    for (unsigned i = 0; i < r->nsrc; i++)
        source_free(r->src[i]);
    free_param_storage(r);
    shmchop_chop_free(&r->out);
    shmchop_chop_free(&r->next);
    shmchop_export_close(r->ex);
    free(r->sel);
    free(r->rows);
    free(r);
}

/* ---- reading ------------------------------------------------------------ */

/* Grow *buf to hold `need` elements of `elem` bytes. */
static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    void *p;

    if (need <= *cap)
        return 0;
    p = realloc(*buf, need * elem);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = need;
    return 0;
}


/* A live read's findings and counters, local or global. */
static void note_read(shmchop_reader *r, shmchop__source *s, unsigned n_warnings,
                      const char *warning)
{
    s->live = true;
    if (n_warnings) {
        shmchop_diag_add(&r->diag, false, SHMCHOP_E_UNSAFE_OBJECT, "R2.11", "", warning);
        r->diag.n_warnings += n_warnings - 1;
    }
}

/* Serve one global source its entry of this reader frame's copy of G
 * (R3.2, R3.6; global_reader.c). retry: a checksum retry (R1.16a), which
 * takes a fresh copy only when that keeps R3.2; *again says if it did. */
static int read_global_source(shmchop_reader *r, shmchop__source *s, bool retry, bool *again)
{
    shmchop__global_key key = { r->abs_frame, r->p.fps };
    char msg[SHMCHOP_MESSAGE_MAX];
    int rc;

    if (!s->global) {
        shmchop_segment_opts o = { .lock_timeout_ms = r->p.lock_timeout_ms,
                                   .strict = r->p.strict };
        rc = shmchop__global_acquire(r->p.global_name ? r->p.global_name : GLOBAL_NAME_DEFAULT,
                                     &o, &s->global, msg, sizeof(msg));
        if (rc)
            return fail_msg(r, rc, shmchop_err_rule(rc), msg);
    }
    msg[0] = '\0';
    if (retry)
        rc = shmchop__global_retake(s->global, s->name, &s->gtake, again, msg, sizeof(msg));
    else
        rc = shmchop__global_take_entry(s->global, &key, s->name, &s->gtake, msg, sizeof(msg));
    s->seg_stats = s->gtake.seg_stats;
    note_read(r, s, s->gtake.n_warnings, s->gtake.warning);
    if (rc)
        return fail_msg(r, rc, rc == SHMCHOP_E_NO_ENTRY ? "R3.5" : shmchop_err_rule(rc),
                        msg[0] ? msg : shmchop_strerror(rc));
    s->img = s->gtake.buf;
    s->img_len = s->gtake.len;
    s->snap_cur = -1; /* the take's buffer is reused by the next take */
    return 0;
}

/* The snapshot a read of s may overwrite: not the one the output views. */
static int free_snapshot(const shmchop_reader *r, const shmchop__source *s)
{
    const shmchop__out_store *o = &r->out_store;

    return o->viewing && o->src == s && o->snap == 0 ? 1 : 0;
}

/* Copy one live source's image out of its segment (section 2): the one
 * copy of the read (R2.9), into a snapshot that the output may then view. */
static int read_source(shmchop_reader *r, shmchop__source *s)
{
    shmchop_segment_status st;
    char msg[SHMCHOP_MESSAGE_MAX];
    int slot = free_snapshot(r, s);
    int rc;

    if (!s->seg) {
        shmchop_segment_opts o = { 0 };
        o.lock_timeout_ms = r->p.lock_timeout_ms;
        o.strict = r->p.strict;
        rc = shmchop_segment_open(s->name, &o, &s->seg, msg, sizeof(msg));
        if (rc)
            return fail_msg(r, rc, shmchop_err_rule(rc), msg);
    }
    s->snap_cur = -1;
    rc = shmchop_segment_read_grow(s->seg, &s->snap[slot], &s->snap_cap[slot], &s->img_len, &st);
    s->img_crc = (shmchop_crc_span){ 0, 0, 0 };
    if (rc == 0) {
        s->img = s->snap[slot];
        s->snap_cur = slot;
        s->img_crc = st.data_crc;
    }
    shmchop_segment_get_stats(s->seg, &s->seg_stats);
    note_read(r, s, st.n_warnings, st.warning);
    if (rc)
        return fail_msg(r, rc, shmchop_err_rule(rc),
                        st.message[0] ? st.message : shmchop_strerror(rc));
    return 0;
}

/* Live sources: one copy each (local), or each its entry of the
 * frame's shared copy (global). */
static int read_live(shmchop_reader *r)
{
    bool global = r->p.memtype == SHMCHOP_MEMTYPE_GLOBAL;

    for (unsigned i = 0; i < r->nsrc; i++) {
        bool again;
        int rc = global ? read_global_source(r, r->src[i], false, &again)
                        : read_source(r, r->src[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Caller-supplied images, one per source. */
static int take_images(shmchop_reader *r, const void *const images[], const size_t lens[],
                       unsigned n)
{
    char msg[SHMCHOP_MESSAGE_MAX];

    if (n != r->nsrc || (n && (!images || !lens)))
        return fail(r, SHMCHOP_E_USAGE, "R4.1", "%u images given for %u sources", n, r->nsrc);
    for (unsigned i = 0; i < n; i++) {
        shmchop__source *s = r->src[i];
        s->live = false;
        s->snap_cur = -1; /* the caller's: not to be kept past the cook */
        if (!images[i]) {
            snprintf(msg, sizeof(msg), "%s: no image to read", s->object);
            return fail_msg(r, SHMCHOP_E_NO_WRITER, "R2.5", msg);
        }
        s->img = images[i];
        s->img_len = lens[i];
    }
    return 0;
}

/* What the stream and tracking need to know of a parsed read. */
static void make_view(shmchop__source *s)
{
    shmchop__view *v = &s->view;

    memset(v, 0, sizeof(*v));
    v->data = s->data;
    v->nch = s->iv.num_chans;
    v->len = s->iv.length;
    v->rate = s->iv.rate;
    v->has_ext = s->info.has_ext;
    v->start = s->iv.start;
    if (v->has_ext) {
        v->indexed = (s->info.ext.flags & SHMCHOP_EXT_FLAG_TIMESLICE) != 0;
        v->frame = s->info.ext.frame;
        v->pid = s->info.ext.writer_pid;
        v->time_ns = s->info.ext.time_ns;
    } else {
        v->crc = shmchop__content_crc(v->data, v->nch, v->len);
    }
}

/* How often a live copy whose checksum does not match is taken again
 * before the cook fails (R1.16a): like a torn copy, the writer may have
 * been caught mid-write without the lock. */
#define CHECKSUM_RETRIES 8

/* Bytes of a CHOP's names, NULs included. */
static size_t names_size(const shmchop_chop *c)
{
    if (c->num_chans == 0)
        return 0;
    return c->name_off[c->num_chans - 1] + strlen(shmchop_chop_name(c, c->num_chans - 1)) + 1;
}

/* The validated image's names into s->chop, unless they are the ones it
 * has (R1.15); its shape and timing always. Fails only with -ENOMEM. */
static int take_names(shmchop__source *s)
{
    const shmchop_image_view *v = &s->iv;
    bool same = v->names ? v->names_known || (v->num_chans == 0 && s->chop.num_chans == 0)
                         : v->num_chans == s->chop.num_chans;
    int rc;

    if (!same) {
        rc = shmchop__image_view_names(v, &s->chop, 0);
        if (rc)
            return rc;
        s->names_bytes = names_size(&s->chop);
        s->names_gen++;
    }
    s->chop.length = v->length;
    s->chop.rate = v->rate;
    s->chop.start = v->start;
    return 0;
}

/* The samples in place; copied only out of an image misaligned for float. */
static int take_samples(shmchop__source *s)
{
    size_t n = (size_t)s->iv.num_chans * s->iv.length;

    s->data = s->iv.data;
    if (s->data || !s->iv.data_bytes)
        return 0;
    if (grow((void **)&s->aligned, &s->aligned_cap, n, sizeof(float)))
        return -ENOMEM;
    memcpy(s->aligned, s->iv.data_bytes, n * sizeof(float));
    s->data = s->aligned;
    return 0;
}

/* Validate the read in place (section 1), the names compared with the
 * ones held rather than scanned again. */
static int parse_source(shmchop_reader *r, shmchop__source *s)
{
    shmchop_parse_opts o = { .object = s->object, .strict = r->p.strict };
    int rc;

    s->iv = (shmchop_image_view){ .known_names = s->chop.num_chans ? s->chop.name_buf : NULL,
                                  .known_bytes = s->names_bytes,
                                  .known_count = s->chop.num_chans,
                                  .known_data_crc = s->snap_cur >= 0 ? s->img_crc
                                                                     : (shmchop_crc_span){ 0, 0, 0 } };
    rc = shmchop_image_validate(s->img, s->img_len, &o, &s->iv, &s->info, &r->pdiag);
    if (rc)
        return rc;
    rc = take_names(s);
    if (!rc)
        rc = take_samples(s);
    if (rc)
        shmchop__diag_add(&r->pdiag, 1, rc, "R4.2", "", s->object,
                          "out of memory for %" PRIu32 " channels of %" PRIu32 " samples",
                          s->iv.num_chans, s->iv.length);
    return rc;
}

/* Validate every read (section 1); the first failure fails the cook. */
static int parse_all(shmchop_reader *r)
{
    for (unsigned i = 0; i < r->nsrc; i++) {
        shmchop__source *s = r->src[i];
        int rc = parse_source(r, s);

        for (unsigned retry = 0; rc == SHMCHOP_E_CHECKSUM && s->live && retry < CHECKSUM_RETRIES;
             retry++) {
            bool again = true;
            int rrc = r->p.memtype == SHMCHOP_MEMTYPE_GLOBAL
                          ? read_global_source(r, s, true, &again)
                          : read_source(r, s);
            if (again)
                s->checksum_retries_total++;
            if (rrc)
                return rrc;
            if (!again)
                break; /* global: a fresh copy would break R3.2; the mismatch stands */
            rc = parse_source(r, s);
        }
        shmchop_diag_append(&r->diag, &r->pdiag);
        if (rc) {
            if (!r->err[0] && r->pdiag.n_errors)
                snprintf(r->err, sizeof(r->err), "%s", r->pdiag.errors[0].message);
            return rc;
        }
        if (s->chop.start > INT64_MAX - (int64_t)s->chop.length)
            return fail(r, SHMCHOP_E_LIMIT, "R1.17", "%s: start %" PRId64 " is too large",
                        s->object, s->chop.start);
        make_view(s);
    }
    return 0;
}

/* R4.9: the output rate (or the forced one, params.rate). */
static int select_rate(shmchop_reader *r, double *rate)
{
    unsigned chosen, other;
    int rc;

    /* A forced output rate: nothing to choose, every source is resampled. */
    if (r->p.rate > 0.0) {
        *rate = r->p.rate;
        return 0;
    }
    for (unsigned i = 0; i < r->nsrc; i++)
        r->rates[i] = r->src[i]->chop.rate;
    rc = shmchop__rate_select(r->rates, r->nsrc, r->p.srselect, rate, &chosen, &other);
    if (rc)
        return fail(r, rc, "R4.9", "sample rates differ: %.10g (%s) vs %.10g (%s)",
                    r->rates[0], r->src[0]->name, r->rates[other], r->src[other]->name);
    return 0;
}

/* ---- merged channels and scope (R4.9, R4.12) ---------------------------- */

/* Whether the merged names are the ones the selection was made for: no
 * source's names changed since (set_params makes a new selection). */
static bool names_unchanged(const shmchop_reader *r)
{
    if (!r->sel_valid)
        return false;
    for (unsigned i = 0; i < r->nsrc; i++)
        if (r->src[i]->sel_names_gen != r->src[i]->names_gen)
            return false;
    return true;
}

/* Match the scope against the merged names again (only when they changed). */
static int update_selection(shmchop_reader *r)
{
    uint64_t total = 0;
    uint32_t m = 0;

    if (names_unchanged(r))
        return 0;
    r->sel_valid = false;
    for (unsigned i = 0; i < r->nsrc; i++)
        total += r->src[i]->chop.num_chans;
    if (total > UINT32_MAX)
        return fail(r, SHMCHOP_E_LIMIT, "R4.9", "%" PRIu64 " channels in all", total);
    if (grow((void **)&r->sel, &r->sel_cap, total ? total : 1, sizeof(bool)) ||
        grow((void **)&r->rows, &r->rows_cap, total ? total : 1, sizeof(float *)))
        return fail(r, -ENOMEM, "R4.2", "out of memory for %" PRIu64 " channels", total);
    r->sel_count = 0;
    r->sel_name_bytes = 0;
    for (unsigned i = 0; i < r->nsrc; i++) {
        shmchop__source *s = r->src[i];
        for (uint32_t k = 0; k < s->chop.num_chans; k++, m++) {
            const char *name = shmchop_chop_name(&s->chop, k);
            r->sel[m] = shmchop_scope_match(r->scope, name);
            if (r->sel[m]) {
                r->sel_count++;
                r->sel_name_bytes += strlen(name) + 1;
            }
        }
        s->sel_names_gen = s->names_gen;
    }
    r->sel_total = (uint32_t)total;
    r->sel_gen++;
    r->sel_valid = true;
    return 0;
}

/*
 * Hold a CHOP of `len` samples x `chans` channels to the reader's limits:
 * as large as the inputs (max_in samples per channel, in_samples in all)
 * is always allowed, beyond that SHMCHOP_READER_MAX_*.
 */
static int check_size(shmchop_reader *r, uint64_t len, uint64_t chans, uint64_t max_in,
                      uint64_t in_samples, const char *what)
{
    if (len <= max_in && chans * len <= in_samples)
        return 0;
    if (len <= SHMCHOP_READER_MAX_LENGTH && chans * len <= SHMCHOP_READER_MAX_SAMPLES)
        return 0;
    return fail(r, SHMCHOP_E_LIMIT, "R4.11",
                "%s of %" PRIu64 " channels x %" PRIu64
                " samples exceeds the reader's limit (%u per channel, %u in all)",
                what, chans, len, SHMCHOP_READER_MAX_LENGTH, SHMCHOP_READER_MAX_SAMPLES);
}

/* The selected names into `next`, unless they are there from a cook of
 * the same selection. */
static void name_next(shmchop_reader *r)
{
    size_t pos = 0;
    uint32_t row = 0, m = 0;

    if (r->next_store.names_gen == r->sel_gen)
        return;
    for (unsigned i = 0; i < r->nsrc; i++) {
        const shmchop_chop *c = &r->src[i]->chop;
        for (uint32_t k = 0; k < c->num_chans; k++, m++) {
            const char *name = shmchop_chop_name(c, k);
            size_t n;
            if (!r->sel[m])
                continue;
            n = strlen(name) + 1;
            memcpy(r->next.name_buf + pos, name, n);
            r->next.name_off[row++] = (uint32_t)pos;
            pos += n;
        }
    }
    r->next_store.names_gen = r->sel_gen;
}

/* Size `next` for the selected channels, name them, and point rows at
 * them; with `view`, its samples will be a snapshot's (no room made). */
static int prepare_next(shmchop_reader *r, uint32_t len, bool view)
{
    uint32_t row = 0;

    store_release(&r->next, &r->next_store);
    if (shmchop_chop_reserve(&r->next, r->sel_count, view ? 0 : len, r->sel_name_bytes))
        return fail(r, -ENOMEM, "R4.2", "out of memory for %" PRIu32 " channels x %" PRIu32
                    " samples", r->sel_count, len);
    r->next.length = len;
    name_next(r);
    if (view)
        return 0;
    for (uint32_t m = 0; m < r->sel_total; m++) {
        /* Length 0: no row to write (and no pointer arithmetic on NULL). */
        r->rows[m] = r->sel[m] && len ? r->next.data + (size_t)row * len : NULL;
        row += r->sel[m];
    }
    return 0;
}

/* ---- the whole frame (R4.3, R4.8, R4.10-R4.11) -------------------------- */

/* Whether the whole output is source 0's frame as it is, so that it can
 * view the snapshot instead of copying it: one source read into a
 * snapshot, every channel selected, nothing shifted or resampled. */
static bool output_views_source(const shmchop_reader *r, double rate, int64_t s0, uint64_t len)
{
    const shmchop__source *s = r->src[0];

    return r->nsrc == 1 && s->snap_cur >= 0 && s->data == s->iv.data && s->data &&
           r->sel_count == s->chop.num_chans && shmchop__rate_equal(s->chop.rate, rate) &&
           s0 == s->chop.start && len == s->chop.length;
}

static int build_whole(shmchop_reader *r, double rate)
{
    uint64_t len, max_in = 0, in_samples = 0;
    int64_t s0;
    uint32_t m = 0;
    bool view;
    int rc;

    for (unsigned i = 0; i < r->nsrc; i++) {
        const shmchop_chop *c = &r->src[i]->chop;
        r->spans[i] = (shmchop__span){ c->start, c->length, c->rate };
        max_in = c->length > max_in ? c->length : max_in;
        in_samples += (uint64_t)c->num_chans * c->length;
    }
    if (shmchop__span_union(r->spans, r->nsrc, rate, &s0, &len))
        return fail(r, SHMCHOP_E_LIMIT, "R4.11", "source starts beyond +-2^62 samples at %g Hz",
                    rate);
    rc = update_selection(r);
    if (!rc)
        rc = check_size(r, len, r->sel_count, max_in, in_samples, "output");
    view = !rc && output_views_source(r, rate, s0, len);
    if (!rc)
        rc = prepare_next(r, (uint32_t)len, view);
    if (rc)
        return rc;
    r->next.rate = rate;
    r->next.start = s0;
    if (view) {
        store_view(&r->next, &r->next_store, r->src[0], r->src[0]->snap_cur, r->src[0]->data);
        return 0;
    }
    for (unsigned i = 0; i < r->nsrc; i++) {
        const shmchop__source *s = r->src[i];
        const shmchop_chop *c = &s->chop;
        for (uint32_t k = 0; k < c->num_chans; k++, m++)
            if (r->rows[m])
                shmchop__resample_row(s->data + (size_t)k * c->length, c->length, NULL,
                                      c->start, c->rate, s0, rate, r->rows[m], (uint32_t)len);
    }
    return 0;
}

/* ---- time slicing (R4.4-R4.7) ------------------------------------------ */

/* The slice of this cook on the reader's timeline. */
typedef struct slice_plan {
    int64_t f, f_start, f_prev;
    int64_t c_start;     /* cursor(f_start) at the output rate: the output start */
    uint64_t length;     /* output samples */
    uint64_t clipped;    /* output samples lost to maxslice */
} slice_plan;

static int plan_slice(shmchop_reader *r, double rate, slice_plan *sp)
{
    int64_t c_f, c_prev;

    sp->f = r->frame;
    sp->f_prev = r->ts_have_prev ? r->ts_prev_frame : r->frame - 1; /* first cook: one frame */
    sp->f_start = shmchop__ts_slice_start(sp->f_prev, sp->f,
                                          shmchop__ts_clip_frames(r->p.maxslice_ms, r->p.fps));
    if (shmchop__ts_cursor(sp->f, rate, r->p.fps, &c_f) ||
        shmchop__ts_cursor(sp->f_start, rate, r->p.fps, &sp->c_start) ||
        shmchop__ts_cursor(sp->f_prev, rate, r->p.fps, &c_prev))
        return fail(r, SHMCHOP_E_LIMIT, "R4.4", "sample rate %g is too high to time slice", rate);
    sp->length = (uint64_t)(c_f - sp->c_start);
    sp->clipped = (uint64_t)(sp->c_start - c_prev);
    return 0;
}

/* The source's rate on the timeline: R when equal to it (R4.9), so both cut alike. */
static double timeline_rate(const shmchop__source *s, double rate)
{
    return shmchop__rate_equal(s->chop.rate, rate) ? rate : s->chop.rate;
}

/* Plan one source's part of the slice and make room for it. */
static int plan_source(shmchop_reader *r, shmchop__source *s, double rate, const slice_plan *sp)
{
    double re = timeline_rate(s, rate);
    int64_t c0, c1;
    uint64_t nch = s->view.nch, keep_max, cap_hint, frames_k;
    int rc;

    if (shmchop__ts_cursor(sp->f, re, r->p.fps, &c1) ||
        shmchop__ts_cursor(sp->f_start, re, r->p.fps, &c0))
        return fail(r, SHMCHOP_E_LIMIT, "R4.4", "%s: sample rate %g is too high to time slice",
                    s->object, re);
    s->take = (uint64_t)(c1 - c0);
    rc = check_size(r, s->take, nch, 0, 0, "time slice");
    if (rc)
        return rc;
    keep_max = shmchop__ts_keep(r->p.maxqueue, s->take, re, r->p.fps);
    /* Room for the longest slice there can be, so jitter does not regrow the ring. */
    frames_k = (uint64_t)shmchop__ts_clip_frames(r->p.maxslice_ms, r->p.fps);
    cap_hint = shmchop__ts_keep(r->p.maxqueue, (uint64_t)ceil((double)frames_k * re / r->p.fps) + 1,
                                re, r->p.fps);
    rc = shmchop__stream_plan(&s->stream, &s->track, &s->view, r->ts_restart, s->take, keep_max,
                              &s->feed);
    if (rc)
        return fail(r, rc, "R4.5", "%s: start %" PRId64 " + length %" PRIu32 " overflows",
                    s->object, s->view.start, s->view.len);
    /* The hint is only a hint: bounded, it never fails a cook; what the
     * queue really has to hold is. */
    if (nch && cap_hint > SHMCHOP_READER_MAX_SAMPLES / nch)
        cap_hint = SHMCHOP_READER_MAX_SAMPLES / nch;
    if (cap_hint > SHMCHOP_READER_MAX_LENGTH)
        cap_hint = SHMCHOP_READER_MAX_LENGTH;
    if (cap_hint < s->feed.keep)
        cap_hint = s->feed.keep;
    rc = check_size(r, s->feed.keep, nch, 0, 0, "queue");
    if (!rc && shmchop__stream_reserve(&s->stream, &s->view, &s->feed, cap_hint))
        rc = fail(r, -ENOMEM, "R4.2", "%s: out of memory for the queue", s->object);
    if (rc || shmchop__rate_equal(s->chop.rate, rate))
        return rc;
    /* Another rate: the slice is taken into `chunk`, then resampled (R4.10). */
    if (grow((void **)&s->chunk, &s->chunk_cap, (size_t)(nch * s->take) + 1, sizeof(float)) ||
        grow((void **)&s->chunk_rows, &s->chunk_rows_cap, (size_t)nch + 1, sizeof(float *)) ||
        grow((void **)&s->prev, &s->prev_cap, (size_t)nch + 1, sizeof(float)))
        return fail(r, -ENOMEM, "R4.2", "%s: out of memory for resampling", s->object);
    return 0;
}

/* Take source s's slice into the output rows of its channels (r->rows + m0). */
static void apply_source(shmchop_reader *r, shmchop__source *s, uint32_t m0, double rate,
                         const slice_plan *sp)
{
    float **out = r->rows + m0;
    uint32_t nch = s->view.nch;
    double re;
    int64_t c0 = 0;

    if (shmchop__rate_equal(s->chop.rate, rate)) {
        shmchop__stream_apply(&s->stream, &s->view, &s->feed, out);
        return;
    }
    /* Another rate: take the slice into chunk, then resample it onto the
     * output's part of the timeline, continuing from the previous slice's
     * last sample (R4.10). */
    re = timeline_rate(s, rate);
    (void)shmchop__ts_cursor(sp->f_start, re, r->p.fps, &c0); /* plan_source checked it */
    for (uint32_t c = 0; c < nch; c++) {
        s->prev[c] = shmchop__stream_hold(&s->stream, c);
        s->chunk_rows[c] = out[c] ? s->chunk + (size_t)c * s->take : NULL;
    }
    shmchop__stream_apply(&s->stream, &s->view, &s->feed, s->chunk_rows);
    for (uint32_t c = 0; c < nch; c++)
        if (out[c])
            shmchop__resample_row(s->chunk_rows[c], (uint32_t)s->take, &s->prev[c], c0, re,
                                  sp->c_start, rate, out[c], r->next.length);
}

static int build_slice(shmchop_reader *r, double rate)
{
    slice_plan sp;
    uint32_t m = 0;
    int rc = plan_slice(r, rate, &sp);

    if (!rc)
        rc = update_selection(r);
    if (!rc)
        rc = check_size(r, sp.length, r->sel_count, 0, 0, "time slice");
    for (unsigned i = 0; !rc && i < r->nsrc; i++)
        rc = plan_source(r, r->src[i], rate, &sp);
    if (!rc)
        rc = prepare_next(r, (uint32_t)sp.length, false);
    if (rc)
        return rc;
    /* Nothing fails from here on: the plan is carried out whole. */
    for (unsigned i = 0; i < r->nsrc; i++) {
        apply_source(r, r->src[i], m, rate, &sp);
        m += r->src[i]->view.nch;
    }
    r->next.rate = rate;
    r->next.start = sp.c_start;
    r->slice_clipped_total += sp.clipped;
    r->ts_prev_frame = sp.f;
    r->ts_have_prev = true;
    r->ts_restart = false;
    return 0;
}

/* ---- the cook ----------------------------------------------------------- */

uint64_t shmchop_clock_ns(void)
{
    return shmchop__now_ns();
}

/* Start a cook: place it on the timeline and clear the last one's findings. */
static void begin(shmchop_reader *r, uint64_t now_ns)
{
    r->total_cooks++;
    r->now_ns = now_ns;
    r->err[0] = '\0';
    shmchop_diag_clear(&r->diag);
    r->cooked_this_frame = false;
    if (!r->tl_started) {
        r->t0_ns = now_ns;
        r->tl_started = true;
    }
    r->frame = shmchop__ts_frame(r->t0_ns, now_ns, r->p.fps);
    r->abs_frame = shmchop__ts_abs_frame(now_ns, r->p.fps);
    r->ms_into_frame = shmchop__ts_ms_into_frame(r->t0_ns, now_ns, r->p.fps, r->frame);
}

/* The cook succeeded: the new output goes out, the reads are recorded. */
static void publish(shmchop_reader *r)
{
    shmchop__out_store t = r->out_store;

    shmchop_chop_swap(&r->out, &r->next);
    r->out_store = r->next_store;
    r->next_store = t;
    for (unsigned i = 0; i < r->nsrc; i++)
        shmchop__track_update(&r->src[i]->track, &r->src[i]->view, r->now_ns);
    r->cooked_this_frame = true;
    /* The output is final: derive the export bindings (R4.13-R4.14). A
     * failure is already a warning in r->diag and never fails the read. */
    (void)shmchop_export_update(r->ex, &r->out, &r->diag);
    r->export_sernum = shmchop_export_sernum(r->ex);
}

static int cook_body(shmchop_reader *r, const void *const images[], const size_t lens[],
                     unsigned n, bool live)
{
    double rate = 0;
    int rc;

    if (!r->p.active)
        return 0; /* off: nothing read, output unchanged (4.1) */
    /* R4.4: TouchDesigner cooks once per frame; a second time-sliced cook
     * in a frame already cooked reads nothing and leaves the output as it
     * is. A failed cook does not count as the frame's cook. */
    if (r->p.timeslice && r->ts_have_prev && r->frame <= r->ts_prev_frame)
        return 0;
    if (r->nsrc == 0)
        return fail(r, SHMCHOP_E_USAGE, "4.1", "no Shared Mem Name set");
    rc = live ? read_live(r) : take_images(r, images, lens, n);
    if (!rc)
        rc = parse_all(r);
    if (!rc)
        rc = select_rate(r, &rate);
    if (!rc)
        rc = r->p.timeslice ? build_slice(r, rate) : build_whole(r, rate);
    if (rc)
        return rc;
    publish(r);
    return 0;
}

static int cook(shmchop_reader *r, uint64_t now_ns, const void *const images[],
                const size_t lens[], unsigned n, bool live)
{
    uint64_t t0 = shmchop__now_ns();
    int rc;

    begin(r, now_ns);
    rc = cook_body(r, images, lens, n, live);
    if (rc && !r->err[0])
        fail(r, rc, shmchop_err_rule(rc), "%s", shmchop_strerror(rc));
    r->cook_ms = (double)(shmchop__now_ns() - t0) / 1e6;
    shmchop__reader_info_fill(r);
    return rc;
}

int shmchop_reader_cook(shmchop_reader *r, uint64_t now_ns)
{
    if (!r)
        return SHMCHOP_E_USAGE;
    /* A table edited on disk is picked up (a stat() every 500 ms at most);
     * only here: the image-fed cook makes no system call. */
    (void)shmchop_export_poll(r->ex, now_ns);
    return cook(r, now_ns, NULL, NULL, 0, true);
}

int shmchop_reader_cook_images(shmchop_reader *r, uint64_t now_ns, const void *const images[],
                               const size_t lens[], unsigned n)
{
    if (!r)
        return SHMCHOP_E_USAGE;
    return cook(r, now_ns, images, lens, n, false);
}

/* ---- accessors ---------------------------------------------------------- */

const shmchop_chop *shmchop_reader_output(const shmchop_reader *r)
{
    return &r->out;
}

const char *shmchop_reader_errmsg(const shmchop_reader *r)
{
    return r->err;
}

const shmchop_diag *shmchop_reader_diag(const shmchop_reader *r)
{
    return &r->diag;
}

const shmchop_export *shmchop_reader_export(const shmchop_reader *r)
{
    return r->ex;
}

unsigned shmchop_reader_source_count(const shmchop_reader *r)
{
    return r->nsrc;
}

const char *shmchop_reader_source_name(const shmchop_reader *r, unsigned i)
{
    return i < r->nsrc ? r->src[i]->name : NULL;
}

int shmchop_reader_get_stream_stats(const shmchop_reader *r, unsigned i, shmchop_stream_stats *st)
{
    const shmchop__source *s;

    if (!r || !st || i >= r->nsrc)
        return SHMCHOP_E_USAGE;
    s = r->src[i];
    *st = s->stream.st;
    st->frames_missed = s->track.frames_missed;
    st->writer_frame = s->track.seen && s->track.has_ext ? (int64_t)s->track.frame : -1;
    return 0;
}
