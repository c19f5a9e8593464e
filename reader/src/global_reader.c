/* SPDX-License-Identifier: MIT */
/* The per-process shared global reader (SPEC R3.2, R3.5, R3.6): registry, frame copy, entry service. */
#include "global_reader.h"

#include <shmchop/global.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * How it works.
 *
 * The registry is a list of shared objects, one per segment name G,
 * guarded by registry_lock; readers of one process may live on different
 * threads, so every reference count change happens under it.
 *
 * Each object has its own mutex (a process-private one: uncontended, it
 * makes no system call). Under it, the first take of a reader frame
 * (a new key) reads the segment once (shmchop_segment_read_owned: one
 * sequence-lock pass or one data-mutex hold, R3.2), validates the
 * global header and table once, and remembers the result, failure
 * included: a frame whose read failed fails every source of G in that
 * frame without trying again, so a lock timeout is waited once per
 * frame, not once per In node. Each take then copies its own entry's
 * span out of the frame's copy into the source's buffer. That small copy
 * is what lets readers on other threads go on parsing their entries
 * while a later frame replaces the segment's buffer.
 *
 * The frame key is (absolute frame at the reader's fps, fps): readers
 * that cook with one now_ns and one fps share a copy; a reader at another
 * fps has other frame boundaries and takes its own copy when its key
 * differs from the latest one (R3.2 holds among readers of one fps).
 */

struct shmchop__global {
    struct shmchop__global *next;  /* registry list */
    char *name;                    /* G */
    unsigned refs;                 /* under registry_lock */
    pthread_mutex_t lock;          /* everything below */
    shmchop_segment *seg;
    bool have_key;
    shmchop__global_key key;       /* frame of the current copy */
    uint64_t gen;                  /* copies taken */
    unsigned served;               /* takes of the current copy */
    uint64_t served_total;
    int rc;                        /* the current copy's read + validation */
    char msg[SHMCHOP_MESSAGE_MAX];
    const unsigned char *img;      /* the segment's buffer (valid until the next read) */
    size_t len;
    shmchop_global_header hdr;
    unsigned char *layout;         /* layout of the latest copy that validated */
    size_t layout_len, layout_cap;
    shmchop_segment_status st;
    shmchop_segment_stats stats;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static shmchop__global *registry;

static void object_free(shmchop__global *g)
{
    shmchop_segment_close(g->seg);
    free(g->layout);
    pthread_mutex_destroy(&g->lock);
    free(g->name);
    free(g);
}

static int object_new(const char *name, const shmchop_segment_opts *opts, shmchop__global **out,
                      char *err, size_t errlen)
{
    shmchop_segment_opts o = opts ? *opts : (shmchop_segment_opts){ 0 };
    shmchop__global *g = calloc(1, sizeof(*g));
    int rc;

    if (!g || !(g->name = strdup(name)) || pthread_mutex_init(&g->lock, NULL) != 0) {
        if (g)
            free(g->name);
        free(g);
        snprintf(err, errlen, "%s%s: out of memory for the global reader", SHMCHOP_SHM_PREFIX,
                 name);
        return -ENOMEM;
    }
    o.payload = SHMCHOP_PAYLOAD_GLOBAL;
    rc = shmchop_segment_open(name, &o, &g->seg, err, errlen);
    if (rc) {
        object_free(g);
        return rc;
    }
    g->refs = 1;
    *out = g;
    return 0;
}

/* The segment's options are the first reader's: later readers of G with
 * other lock or strict options share them (README, design notes). */
int shmchop__global_acquire(const char *name, const shmchop_segment_opts *opts,
                            shmchop__global **out, char *err, size_t errlen)
{
    shmchop__global *g;
    int rc = 0;

    pthread_mutex_lock(&registry_lock);
    for (g = registry; g && strcmp(g->name, name) != 0; g = g->next)
        ;
    if (g) {
        g->refs++;
    } else if ((rc = object_new(name, opts, &g, err, errlen)) == 0) {
        g->next = registry;
        registry = g;
    }
    pthread_mutex_unlock(&registry_lock);
    *out = rc ? NULL : g;
    return rc;
}

void shmchop__global_release(shmchop__global *g)
{
    shmchop__global **p;
    bool last;

    if (!g)
        return;
    pthread_mutex_lock(&registry_lock);
    last = --g->refs == 0;
    if (last) {
        for (p = &registry; *p && *p != g; p = &(*p)->next)
            ;
        if (*p)
            *p = g->next;
    }
    pthread_mutex_unlock(&registry_lock);
    if (last)
        object_free(g);
}

/*
 * The layout of a global image: what shmchop_global_validate's verdict on
 * the header and the table depends on, apart from the entries' own image
 * sizes (which every entry parse checks against its span anyway). The
 * header's seq, frame, times, pid and fps and each entry's frame change
 * every publish and are left out, so a steady writer keeps one layout and
 * the reader validates (and allocates) only when the layout changes.
 */
#define LAYOUT_HEADER_BYTES 24 /* magic, version, size, entry_count, table_offset, flags */
#define LAYOUT_ENTRY_BYTES 72  /* name[64], offset, span */

static void layout_header(const unsigned char *img, unsigned char *out)
{
    memcpy(out, img, 16);
    memcpy(out + 16, img + 44, 4);
    memcpy(out + 20, img + 52, 4);
}

static size_t layout_bytes(uint32_t entry_count)
{
    return LAYOUT_HEADER_BYTES + (size_t)entry_count * LAYOUT_ENTRY_BYTES;
}

/* Whether img[0, len) has the layout of the latest validated copy. */
static bool layout_same(const shmchop__global *g, const unsigned char *img, size_t len)
{
    unsigned char head[LAYOUT_HEADER_BYTES];
    uint32_t n;

    if (!g->layout_len || len < SHMCHOP_GLOBAL_HEADER_SIZE || len < g->hdr.size)
        return false;
    layout_header(img, head);
    if (memcmp(head, g->layout, sizeof(head)) != 0)
        return false;
    /* Same size, table_offset and count as a validated copy: the table
     * lies inside the copy. */
    n = g->hdr.entry_count;
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *e = img + g->hdr.table_offset + (size_t)i * SHMCHOP_GLOBAL_ENTRY_SIZE;
        if (memcmp(e, g->layout + layout_bytes(i), LAYOUT_ENTRY_BYTES) != 0)
            return false;
    }
    return true;
}

/* Remember the layout of a copy that validated (g->hdr decoded from it). */
static void layout_store(shmchop__global *g, const unsigned char *img)
{
    size_t need = layout_bytes(g->hdr.entry_count);

    g->layout_len = 0;
    if (need > g->layout_cap) {
        unsigned char *p = realloc(g->layout, need);
        if (!p)
            return; /* no cache: the next copy is validated again */
        g->layout = p;
        g->layout_cap = need;
    }
    layout_header(img, g->layout);
    for (uint32_t i = 0; i < g->hdr.entry_count; i++)
        memcpy(g->layout + layout_bytes(i),
               img + g->hdr.table_offset + (size_t)i * SHMCHOP_GLOBAL_ENTRY_SIZE,
               LAYOUT_ENTRY_BYTES);
    g->layout_len = need;
}

/* The header and table check of one copy: the full validation when the
 * layout changed, else only the header decode. */
static int check_copy(shmchop__global *g, const unsigned char *img, size_t len)
{
    int rc;

    if (layout_same(g, img, len)) {
        shmchop_global_header_decode(img, &g->hdr);
        return 0;
    }
    g->layout_len = 0;
    rc = shmchop_global_validate(img, len, shmchop_segment_name(g->seg), &g->hdr, NULL);
    if (!rc)
        layout_store(g, img);
    return rc;
}

/* Read and validate the segment for a new frame; g->lock is held. */
static void fresh_copy(shmchop__global *g)
{
    const void *img = NULL;
    size_t len = 0;

    g->gen++;
    g->served = 0;
    g->img = NULL;
    g->len = 0;
    g->msg[0] = '\0';
    g->rc = shmchop_segment_read_owned(g->seg, &img, &len, &g->st);
    shmchop_segment_get_stats(g->seg, &g->stats);
    if (g->rc) {
        snprintf(g->msg, sizeof(g->msg), "%s",
                 g->st.message[0] ? g->st.message : shmchop_strerror(g->rc));
        return;
    }
    g->img = img;
    g->len = len;
    /* Once per copy: a bad header or table fails every source of G. */
    g->rc = check_copy(g, img, len);
    if (g->rc)
        snprintf(g->msg, sizeof(g->msg), "%s%s: invalid global header or table: %s",
                 SHMCHOP_SHM_PREFIX, g->name, shmchop_strerror(g->rc));
}

/* Table index of `name`: the hint first (entries rarely move), then a scan. */
static int find_entry(const shmchop__global *g, const char *name, uint32_t hint)
{
    shmchop_global_entry e;

    if (hint < g->hdr.entry_count) {
        shmchop_global_entry_decode(g->img, g->hdr.table_offset, hint, &e);
        if (strcmp(e.name, name) == 0)
            return (int)hint;
    }
    return shmchop_global_find(g->img, &g->hdr, name);
}

/* Copy the entry into t from the current copy; g->lock is held. */
static int serve(shmchop__global *g, const char *name, shmchop__global_take *t, char *msg,
                 size_t msglen)
{
    shmchop_global_entry e;
    int i;

    t->seg_stats = g->stats;
    t->n_warnings = g->served == 0 ? g->st.n_warnings : 0; /* reported once per copy */
    snprintf(t->warning, sizeof(t->warning), "%s", t->n_warnings ? g->st.warning : "");
    if (g->rc) {
        snprintf(msg, msglen, "%s", g->msg);
        return g->rc;
    }
    if ((i = find_entry(g, name, t->hint)) < 0) {
        snprintf(msg, msglen, "no entry %s in %s", name, g->name);
        return SHMCHOP_E_NO_ENTRY;
    }
    shmchop_global_entry_decode(g->img, g->hdr.table_offset, (uint32_t)i, &e);
    if (e.span > t->cap) {
        unsigned char *p = realloc(t->buf, e.span);
        if (!p) {
            snprintf(msg, msglen, "%s%s:%s: out of memory for %u bytes", SHMCHOP_SHM_PREFIX,
                     g->name, name, (unsigned)e.span);
            return -ENOMEM;
        }
        t->buf = p;
        t->cap = e.span;
    }
    /* validate() placed every entry inside the copy. */
    memcpy(t->buf, g->img + e.offset, e.span);
    t->len = e.span;
    t->hint = (uint32_t)i;
    t->frame = g->hdr.frame;
    t->gen = g->gen;
    g->served++;
    g->served_total++;
    return 0;
}

static bool same_key(const shmchop__global *g, const shmchop__global_key *key)
{
    return g->have_key && g->key.abs_frame == key->abs_frame && g->key.fps == key->fps;
}

int shmchop__global_take_entry(shmchop__global *g, const shmchop__global_key *key,
                               const char *name, shmchop__global_take *t, char *msg,
                               size_t msglen)
{
    int rc;

    pthread_mutex_lock(&g->lock);
    if (!same_key(g, key)) {
        fresh_copy(g);
        g->key = *key;
        g->have_key = true;
    }
    rc = serve(g, name, t, msg, msglen);
    pthread_mutex_unlock(&g->lock);
    return rc;
}

int shmchop__global_retake(shmchop__global *g, const char *name, shmchop__global_take *t,
                           bool *retaken, char *msg, size_t msglen)
{
    int rc = 0;

    pthread_mutex_lock(&g->lock);
    /* Only the sole taker of the current copy may replace it: anyone
     * served before would otherwise be on another writer frame. */
    *retaken = t->gen == g->gen && g->served == 1;
    if (*retaken) {
        fresh_copy(g);
        rc = serve(g, name, t, msg, msglen);
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

void shmchop__global_counts(shmchop__global *g, uint64_t *copies, uint64_t *served)
{
    pthread_mutex_lock(&g->lock);
    *copies = g->gen;
    *served = g->served_total;
    pthread_mutex_unlock(&g->lock);
}
