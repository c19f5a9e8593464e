/* SPDX-License-Identifier: MIT */
/* Validating the header and entry table of a global image (SPEC 3, R3.1, R3.4). */
#include "image_internal.h"

#include <shmchop/global.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field offsets inside one table entry (SPEC 3; the header's are in
 * global.h). */
enum {
    E_OFF_NAME = 0, E_OFF_OFFSET = 64, E_OFF_SPAN = 68, E_OFF_FRAME = 72,
};

/* One byte range of the image, for the overlap check: the header, the
 * table or entry `idx`. */
typedef struct g_range {
    uint64_t start, end;
    int64_t idx; /* -2 header, -1 table, else the entry */
} g_range;

typedef struct g_ctx {
    const unsigned char *buf;
    size_t avail;
    const char *object;
    shmchop_diag *diag;
    shmchop_global_header h;
    int first_error;
} g_ctx;

#define GERR(ctx, code, rule, field, ...)                                                    \
    do {                                                                                     \
        if (!(ctx)->first_error)                                                             \
            (ctx)->first_error = (code);                                                     \
        shmchop__diag_add((ctx)->diag, 1, (code), (rule), (field), (ctx)->object,            \
                          __VA_ARGS__);                                                      \
    } while (0)

void shmchop_global_header_decode(const void *buf, shmchop_global_header *hdr)
{
    const unsigned char *p = buf;

    hdr->magic = shmchop__le32(p + SHMCHOP_GLOBAL_OFF_MAGIC);
    hdr->version = shmchop__le32(p + SHMCHOP_GLOBAL_OFF_VERSION);
    hdr->size = shmchop__le32(p + SHMCHOP_GLOBAL_OFF_SIZE);
    hdr->entry_count = shmchop__le32(p + SHMCHOP_GLOBAL_OFF_COUNT);
    hdr->seq = shmchop__le64(p + SHMCHOP_GLOBAL_OFF_SEQ);
    hdr->frame = shmchop__le64(p + SHMCHOP_GLOBAL_OFF_FRAME);
    hdr->time_ns = shmchop__le64(p + SHMCHOP_GLOBAL_OFF_TIME);
    hdr->writer_pid = shmchop__le32(p + SHMCHOP_GLOBAL_OFF_PID);
    hdr->table_offset = shmchop__le32(p + SHMCHOP_GLOBAL_OFF_TABLE);
    memcpy(&hdr->fps, p + SHMCHOP_GLOBAL_OFF_FPS, sizeof(hdr->fps));
    hdr->flags = shmchop__le32(p + SHMCHOP_GLOBAL_OFF_FLAGS);
    hdr->heartbeat_ns = shmchop__le64(p + SHMCHOP_GLOBAL_OFF_HEARTBEAT);
}

void shmchop_global_entry_decode(const void *buf, uint32_t table_offset, uint32_t i,
                                 shmchop_global_entry *entry)
{
    const unsigned char *p =
        (const unsigned char *)buf + table_offset + (size_t)i * SHMCHOP_GLOBAL_ENTRY_SIZE;

    memcpy(entry->name, p + E_OFF_NAME, SHMCHOP_GLOBAL_NAME_BYTES);
    entry->name[SHMCHOP_GLOBAL_NAME_BYTES] = '\0';
    entry->offset = shmchop__le32(p + E_OFF_OFFSET);
    entry->span = shmchop__le32(p + E_OFF_SPAN);
    entry->frame = shmchop__le64(p + E_OFF_FRAME);
}

/* The header's own fields; returns nonzero when the table cannot be read. */
static int check_header(g_ctx *c)
{
    const shmchop_global_header *h = &c->h;

    if (h->magic != SHMCHOP_GLOBAL_MAGIC) {
        GERR(c, SHMCHOP_E_BAD_MAGIC, "R3", "magic", "global magic is 0x%08" PRIx32
             ", not 0x%08x", h->magic, SHMCHOP_GLOBAL_MAGIC);
        return 1;
    }
    if (h->version != SHMCHOP_GLOBAL_VERSION)
        GERR(c, SHMCHOP_E_BAD_VERSION, "R3", "version", "global version is %" PRIu32
             ", not %d", h->version, SHMCHOP_GLOBAL_VERSION);
    if (h->size < SHMCHOP_GLOBAL_HEADER_SIZE || h->size > c->avail)
        GERR(c, SHMCHOP_E_BAD_SIZE, "R3.4", "size", "global size %" PRIu32
             " is outside [%d, %zu]", h->size, SHMCHOP_GLOBAL_HEADER_SIZE, c->avail);
    if (h->flags != 0)
        GERR(c, SHMCHOP_E_BAD_GLOBAL, "R3", "flags", "global flags are 0x%" PRIx32
             ", not zero", h->flags);
    if (h->table_offset < SHMCHOP_GLOBAL_HEADER_SIZE || h->table_offset % 8 != 0)
        GERR(c, SHMCHOP_E_BAD_GLOBAL, "R3.4", "table_offset", "table_offset %" PRIu32
             " is not a multiple of 8 at or after the %d-byte header", h->table_offset,
             SHMCHOP_GLOBAL_HEADER_SIZE);
    if (h->entry_count > SHMCHOP_GLOBAL_MAX_ENTRIES)
        GERR(c, SHMCHOP_E_LIMIT, "R3.4", "entry_count", "%" PRIu32
             " entries, more than the reader's limit of %u", h->entry_count,
             SHMCHOP_GLOBAL_MAX_ENTRIES);
    if (c->first_error)
        return 1;
    if ((uint64_t)h->table_offset + (uint64_t)h->entry_count * SHMCHOP_GLOBAL_ENTRY_SIZE >
        h->size) {
        GERR(c, SHMCHOP_E_BAD_GLOBAL, "R3.4", "entry_count", "a table of %" PRIu32
             " entries at %" PRIu32 " ends past size %" PRIu32, h->entry_count,
             h->table_offset, h->size);
        return 1;
    }
    return 0;
}

/* R3.4: 1 to 63 bytes, then NUL padding to 64. */
static void check_name(g_ctx *c, uint32_t i, const unsigned char *raw)
{
    const void *nul = memchr(raw, '\0', SHMCHOP_GLOBAL_NAME_BYTES);
    size_t len;
    char shown[80];

    if (!nul) {
        shmchop__printable(shown, sizeof(shown), (const char *)raw, 16);
        GERR(c, SHMCHOP_E_NAME_UNTERMINATED, "R3.4", "name", "entry %" PRIu32
             " name \"%s...\" has no NUL in its %d bytes", i, shown,
             SHMCHOP_GLOBAL_NAME_BYTES);
        return;
    }
    len = (size_t)((const unsigned char *)nul - raw);
    if (len == 0) {
        GERR(c, SHMCHOP_E_NAME_EMPTY, "R3.4", "name", "entry %" PRIu32 " has an empty name",
             i);
        return;
    }
    for (size_t k = len; k < SHMCHOP_GLOBAL_NAME_BYTES; k++)
        if (raw[k] != 0) {
            GERR(c, SHMCHOP_E_BAD_GLOBAL, "R3.4", "name", "entry %" PRIu32
                 " name \"%s\" is not NUL-padded (byte %zu is 0x%02x)", i,
                 (const char *)raw, k, raw[k]);
            return;
        }
}

/* Bounds of entry i and its image's size against its span (R3.4);
 * returns whether the entry lies inside the image. */
static bool check_entry_bounds(g_ctx *c, uint32_t i, const shmchop_global_entry *e)
{
    uint64_t end = (uint64_t)e->offset + e->span;
    int32_t image_size;

    if (e->offset < SHMCHOP_GLOBAL_HEADER_SIZE || end > c->h.size) {
        GERR(c, SHMCHOP_E_BAD_GLOBAL, "R3.4", "offset", "entry %" PRIu32 " \"%s\" spans [%"
             PRIu32 ", %" PRIu64 "), outside [%d, %" PRIu32 ")", i, e->name, e->offset, end,
             SHMCHOP_GLOBAL_HEADER_SIZE, c->h.size);
        return false;
    }
    if (e->span < SHMCHOP_HEADER_SIZE) {
        GERR(c, SHMCHOP_E_BAD_GLOBAL, "R3.4", "span", "entry %" PRIu32 " \"%s\" span %"
             PRIu32 " is shorter than a %d-byte CHOP header", i, e->name, e->span,
             SHMCHOP_HEADER_SIZE);
        return true;
    }
    image_size = (int32_t)shmchop__le32(c->buf + e->offset + SHMCHOP_OFF_SIZE);
    if (image_size < 0 || (uint32_t)image_size > e->span)
        GERR(c, SHMCHOP_E_BAD_GLOBAL, "R3.4", "span", "entry %" PRIu32 " \"%s\" image size %"
             PRId32 " exceeds its span %" PRIu32, i, e->name, image_size, e->span);
    return true;
}

static int range_cmp(const void *a, const void *b)
{
    const g_range *x = a, *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static void range_describe(const g_range *r, char *out, size_t outlen)
{
    if (r->idx == -2)
        snprintf(out, outlen, "the header");
    else if (r->idx == -1)
        snprintf(out, outlen, "the table");
    else
        snprintf(out, outlen, "entry %" PRId64, r->idx);
}

/* Sorted by start, a range overlaps another only if it overlaps one that
 * starts before it and reaches furthest: one pass after the sort. */
static void check_overlaps(g_ctx *c, g_range *r, size_t n)
{
    size_t reach = 0;
    char a[32], b[32];

    qsort(r, n, sizeof(*r), range_cmp);
    for (size_t k = 1; k < n; k++) {
        if (r[k].start < r[reach].end && r[k].end > r[k].start) {
            range_describe(&r[reach], a, sizeof(a));
            range_describe(&r[k], b, sizeof(b));
            GERR(c, SHMCHOP_E_OVERLAP, "R3.4", "offset", "%s [%" PRIu64 ", %" PRIu64
                 ") overlaps %s [%" PRIu64 ", %" PRIu64 ")", b, r[k].start, r[k].end, a,
                 r[reach].start, r[reach].end);
        }
        if (r[k].end > r[reach].end)
            reach = k;
    }
}

typedef struct g_named {
    const char *name;
    uint32_t idx;
} g_named;

static int named_cmp(const void *a, const void *b)
{
    const g_named *x = a, *y = b;
    int d = strcmp(x->name, y->name);

    if (d)
        return d;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* R3.1: sorted by name, duplicates are neighbours. */
static void check_duplicates(g_ctx *c, g_named *v, uint32_t n)
{
    qsort(v, n, sizeof(*v), named_cmp);
    for (uint32_t k = 1; k < n; k++)
        if (v[k].name[0] && strcmp(v[k].name, v[k - 1].name) == 0)
            GERR(c, SHMCHOP_E_BAD_GLOBAL, "R3.1", "name", "entries %" PRIu32 " and %" PRIu32
                 " are both called \"%s\"", v[k - 1].idx, v[k].idx, v[k].name);
}

/* Every entry: name, bounds, then overlaps and duplicates over all. */
static int check_table(g_ctx *c)
{
    uint32_t n = c->h.entry_count;
    g_range *ranges = calloc((size_t)n + 2, sizeof(*ranges));
    g_named *named = calloc((size_t)n + 1, sizeof(*named));
    shmchop_global_entry *entries = calloc((size_t)n + 1, sizeof(*entries));
    size_t nr = 2;

    if (!ranges || !named || !entries) {
        free(ranges), free(named), free(entries);
        GERR(c, -ENOMEM, "R3.4", "entry_count", "out of memory for %" PRIu32 " entries", n);
        return -ENOMEM;
    }
    ranges[0] = (g_range){0, SHMCHOP_GLOBAL_HEADER_SIZE, -2};
    ranges[1] = (g_range){c->h.table_offset,
                          c->h.table_offset + (uint64_t)n * SHMCHOP_GLOBAL_ENTRY_SIZE, -1};
    for (uint32_t i = 0; i < n; i++) {
        shmchop_global_entry *e = &entries[i];

        shmchop_global_entry_decode(c->buf, c->h.table_offset, i, e);
        check_name(c, i, c->buf + c->h.table_offset + (size_t)i * SHMCHOP_GLOBAL_ENTRY_SIZE);
        named[i] = (g_named){e->name, i};
        if (check_entry_bounds(c, i, e))
            ranges[nr++] = (g_range){e->offset, (uint64_t)e->offset + e->span, i};
    }
    check_overlaps(c, ranges, nr);
    check_duplicates(c, named, n);
    free(ranges), free(named), free(entries);
    return c->first_error;
}

int shmchop_global_validate(const void *buf, size_t avail, const char *object,
                            shmchop_global_header *hdr, shmchop_diag *diag)
{
    g_ctx c = {.buf = buf, .avail = avail, .object = object ? object : "image", .diag = diag};

    if (diag)
        shmchop_diag_clear(diag);
    if (hdr)
        memset(hdr, 0, sizeof(*hdr));
    if (avail < SHMCHOP_GLOBAL_HEADER_SIZE) {
        GERR(&c, SHMCHOP_E_TRUNCATED, "R3.4", "size", "global image is %zu bytes, shorter "
             "than the %d-byte header", avail, SHMCHOP_GLOBAL_HEADER_SIZE);
        return c.first_error;
    }
    shmchop_global_header_decode(buf, &c.h);
    if (hdr)
        *hdr = c.h;
    if (check_header(&c))
        return c.first_error;
    return check_table(&c);
}

int shmchop_global_find(const void *buf, const shmchop_global_header *hdr, const char *name)
{
    shmchop_global_entry e;

    for (uint32_t i = 0; i < hdr->entry_count; i++) {
        shmchop_global_entry_decode(buf, hdr->table_offset, i, &e);
        if (strcmp(e.name, name) == 0)
            return (int)i;
    }
    return SHMCHOP_E_NO_ENTRY;
}

int shmchop_global_entry_parse(const void *buf, const shmchop_global_header *hdr, uint32_t i,
                               const shmchop_parse_opts *opts, shmchop_chop *chop,
                               shmchop_image_info *info, shmchop_diag *diag)
{
    shmchop_global_entry e;

    if (i >= hdr->entry_count)
        return SHMCHOP_E_NO_ENTRY;
    shmchop_global_entry_decode(buf, hdr->table_offset, i, &e);
    return shmchop_image_parse((const unsigned char *)buf + e.offset, e.span, opts, chop, info,
                               diag);
}
