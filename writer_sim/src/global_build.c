/* SPDX-License-Identifier: MIT */
/* Laying out N CHOP images as one global image (SPEC 3). */
#include <shmchop/global.h>

#include <string.h>

/* Where the image of an entry goes: the next multiple of 8, so every
 * entry's data keeps the alignment it has in a local segment. */
static uint64_t align8(uint64_t v)
{
    return (v + 7) & ~(uint64_t)7;
}

/* R3.1, R3.4: 1 to 63 bytes, unique. */
static int check_names(const shmchop_global_build_entry *e, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        size_t len = e[i].name ? strlen(e[i].name) : 0;

        if (len == 0 || len >= SHMCHOP_GLOBAL_NAME_BYTES)
            return SHMCHOP_E_USAGE;
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(e[k].name, e[i].name) == 0)
                return SHMCHOP_E_USAGE;
    }
    return 0;
}

/* The total size; shmchop_global_build places the images the same way. */
static uint64_t layout(const shmchop_global_build_entry *e, uint32_t n)
{
    uint64_t pos = SHMCHOP_GLOBAL_HEADER_SIZE + (uint64_t)n * SHMCHOP_GLOBAL_ENTRY_SIZE;

    for (uint32_t i = 0; i < n; i++)
        pos = align8(pos) + e[i].size;
    return pos;
}

int64_t shmchop_global_size(const shmchop_global_build_entry *entries, uint32_t n)
{
    uint64_t total;
    int rc;

    if (n > SHMCHOP_GLOBAL_MAX_ENTRIES || (n && !entries))
        return SHMCHOP_E_USAGE;
    rc = check_names(entries, n);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        if (entries[i].size > UINT32_MAX || !entries[i].image)
            return SHMCHOP_E_USAGE;
    total = layout(entries, n);
    return total > UINT32_MAX ? SHMCHOP_E_OVERFLOW : (int64_t)total;
}

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void put64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void write_header(unsigned char *b, uint32_t size, uint32_t n,
                         const shmchop_global_build_opts *o)
{
    put32(b + SHMCHOP_GLOBAL_OFF_MAGIC, SHMCHOP_GLOBAL_MAGIC);
    put32(b + SHMCHOP_GLOBAL_OFF_VERSION, SHMCHOP_GLOBAL_VERSION);
    put32(b + SHMCHOP_GLOBAL_OFF_SIZE, size);
    put32(b + SHMCHOP_GLOBAL_OFF_COUNT, n);
    put64(b + SHMCHOP_GLOBAL_OFF_SEQ, o->seq);
    put64(b + SHMCHOP_GLOBAL_OFF_FRAME, o->frame);
    put64(b + SHMCHOP_GLOBAL_OFF_TIME, o->time_ns);
    put32(b + SHMCHOP_GLOBAL_OFF_PID, o->writer_pid);
    put32(b + SHMCHOP_GLOBAL_OFF_TABLE, SHMCHOP_GLOBAL_HEADER_SIZE);
    memcpy(b + SHMCHOP_GLOBAL_OFF_FPS, &o->fps, sizeof(o->fps));
    put32(b + SHMCHOP_GLOBAL_OFF_FLAGS, 0);
    put64(b + SHMCHOP_GLOBAL_OFF_HEARTBEAT, o->heartbeat_ns);
}

int shmchop_global_build(void *buf, size_t cap, const shmchop_global_build_entry *entries,
                         uint32_t n, const shmchop_global_build_opts *opts, size_t *written)
{
    static const shmchop_global_build_opts zero;
    int64_t size = shmchop_global_size(entries, n);
    unsigned char *b = buf;
    uint64_t off = SHMCHOP_GLOBAL_HEADER_SIZE + (uint64_t)n * SHMCHOP_GLOBAL_ENTRY_SIZE;

    if (size < 0)
        return (int)size;
    if ((uint64_t)size > cap)
        return SHMCHOP_E_LIMIT;
    memset(b, 0, (size_t)size);
    write_header(b, (uint32_t)size, n, opts ? opts : &zero);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *row = b + SHMCHOP_GLOBAL_HEADER_SIZE + (size_t)i * SHMCHOP_GLOBAL_ENTRY_SIZE;

        off = align8(off);
        memcpy(row, entries[i].name, strlen(entries[i].name));
        put32(row + 64, (uint32_t)off);
        put32(row + 68, (uint32_t)entries[i].size);
        put64(row + 72, entries[i].frame);
        memcpy(b + off, entries[i].image, entries[i].size);
        off += entries[i].size;
    }
    if (written)
        *written = (size_t)size;
    return 0;
}
