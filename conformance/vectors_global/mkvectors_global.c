/* SPDX-License-Identifier: MIT */
/* Generator of the golden global images (SPEC 3): conformance/vectors_global/ and its MANIFEST.tsv. */
/*
 * Usage: shmchop-mkvectors-global OUTDIR SHMCHOP_OUT (the second argument
 * is accepted for the shared fresh.cmake and unused: every entry is built
 * by the library's shmchop_image_build, the layout by
 * shmchop_global_build). One valid image per shape and one invalid image
 * per R3.4 check, each made from a valid one by patching a few bytes;
 * the manifest says the expected verdict and first error, in the format
 * of conformance/vectors/MANIFEST.tsv.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/chop.h>
#include <shmchop/global.h>
#include <shmchop/image.h>

#define CAP 4096

typedef struct gvec {
    unsigned char b[CAP];
    size_t len;
} gvec;

static const char *g_outdir;
static FILE *g_manifest;
static unsigned g_count;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("shmchop-mkvectors-global: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void put32(gvec *g, size_t off, uint32_t v)
{
    if (off + 4 > CAP)
        die("patch at %zu is out of the buffer", off);
    memcpy(g->b + off, &v, 4);
}

static uint32_t get32(const gvec *g, size_t off)
{
    uint32_t v;

    memcpy(&v, g->b + off, 4);
    return v;
}

/* Offset of field `field_off` of table entry i (the table is at 64). */
static size_t row(uint32_t i, size_t field_off)
{
    return SHMCHOP_GLOBAL_HEADER_SIZE + (size_t)i * SHMCHOP_GLOBAL_ENTRY_SIZE + field_off;
}

/* An image of `chans` channels of `len` ramp samples called NAME1.. */
static size_t chop_image(unsigned char *dst, const char *name, uint32_t chans, uint32_t len)
{
    shmchop_chop chop;
    shmchop_build_opts o = { .names = true, .ext = true, .seq = 2, .frame = 0 };
    char names[256];
    size_t pos = 0, written = 0;

    shmchop_chop_init(&chop);
    for (uint32_t c = 0; c < chans; c++)
        pos += (size_t)snprintf(names + pos, sizeof(names) - pos, "%s%u", name, c + 1) + 1;
    if (shmchop_chop_reserve(&chop, chans, len, pos) || shmchop_chop_set_names(&chop, names, pos))
        die("out of memory");
    chop.rate = 60;
    for (uint32_t k = 0; k < chans * len; k++)
        chop.data[k] = (float)k / 8.0f;
    if (shmchop_image_build(dst, 1024, &chop, &o, &written))
        die("cannot build the image of %s", name);
    shmchop_chop_free(&chop);
    return written;
}

/* A global image of n entries e0, e1, ... at frame 5. */
static void make(gvec *g, uint32_t n)
{
    static unsigned char imgs[4][1024];
    static const char *const names[] = { "e0", "e1", "e2", "e3" };
    shmchop_global_build_entry e[4];
    shmchop_global_build_opts o = { .seq = 12, .frame = 5, .fps = 60.0f };

    if (n > 4)
        die("at most 4 entries");
    for (uint32_t i = 0; i < n; i++)
        e[i] = (shmchop_global_build_entry){ names[i], imgs[i],
                                             chop_image(imgs[i], names[i], 1 + i, 4), 5 };
    memset(g, 0, sizeof(*g));
    if (shmchop_global_build(g->b, CAP, e, n, &o, &g->len))
        die("cannot lay out %u entries", n);
}

static void emit(const gvec *g, const char *file, const char *verdict, const char *error,
                 const char *rule, const char *desc)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", g_outdir, file);
    f = fopen(path, "wb");
    if (!f || (g->len && fwrite(g->b, 1, g->len, f) != g->len) || fclose(f) != 0)
        die("%s: %s", path, strerror(errno));
    fprintf(g_manifest, "%s\t%s\t%s\t-\t%s\t%s\n", file, verdict, error, rule, desc);
    g_count++;
}

static void gen_valid(void)
{
    gvec g;

    make(&g, 0);
    emit(&g, "valid_global_empty.img", "valid", "-", "R3.4", "no entries: header and an empty table");
    make(&g, 1);
    emit(&g, "valid_global_one.img", "valid", "-", "R3.4", "one entry e0 (1x4, names, block)");
    make(&g, 3);
    emit(&g, "valid_global_three.img", "valid", "-", "R3.1", "entries e0 e1 e2 of 1, 2, 3 channels");
}

static void gen_invalid_header(void)
{
    gvec g;

    make(&g, 2);
    put32(&g, 0, SHMCHOP_MAGIC);
    emit(&g, "invalid_global_magic.img", "invalid", "BAD_MAGIC", "R3", "magic is a CHOP image's, not SMG1");
    make(&g, 2);
    put32(&g, 4, 2);
    emit(&g, "invalid_global_version.img", "invalid", "BAD_VERSION", "R3", "version 2");
    make(&g, 2);
    put32(&g, 8, (uint32_t)g.len + 8);
    emit(&g, "invalid_global_size_past_end.img", "invalid", "BAD_SIZE", "R3.4", "size 8 bytes past the end of the image");
    make(&g, 2);
    put32(&g, 52, 1);
    emit(&g, "invalid_global_flags.img", "invalid", "BAD_GLOBAL", "R3", "flags 1, not zero");
    make(&g, 2);
    g.len = 40;
    emit(&g, "invalid_global_truncated.img", "invalid", "TRUNCATED", "R3.4", "40 bytes, shorter than the header");
}

static void gen_invalid_table(void)
{
    gvec g;

    make(&g, 2);
    put32(&g, 44, 68);
    emit(&g, "invalid_global_table_misaligned.img", "invalid", "BAD_GLOBAL", "R3.4", "table_offset 68 is not a multiple of 8");
    make(&g, 2);
    put32(&g, 44, 32);
    emit(&g, "invalid_global_table_in_header.img", "invalid", "BAD_GLOBAL", "R3.4", "table_offset 32 is inside the header");
    make(&g, 2);
    put32(&g, 12, 40);
    emit(&g, "invalid_global_table_past_size.img", "invalid", "BAD_GLOBAL", "R3.4", "40 entries: the table ends past size");
    make(&g, 2);
    put32(&g, 12, SHMCHOP_GLOBAL_MAX_ENTRIES + 1);
    emit(&g, "invalid_global_too_many_entries.img", "invalid", "LIMIT", "R3.4", "4097 entries, beyond the reader's limit");
}

static void gen_invalid_entries(void)
{
    gvec g;

    make(&g, 2);
    put32(&g, row(1, 68), (uint32_t)g.len);
    emit(&g, "invalid_global_entry_past_size.img", "invalid", "BAD_GLOBAL", "R3.4", "entry e1's span reaches past size");
    make(&g, 2);
    put32(&g, row(0, 64), 0);
    emit(&g, "invalid_global_entry_on_header.img", "invalid", "BAD_GLOBAL", "R3.4", "entry e0 at offset 0, over the header");
    make(&g, 2);
    put32(&g, row(0, 64), 64);
    emit(&g, "invalid_global_entry_on_table.img", "invalid", "OVERLAP", "R3.4", "entry e0 at offset 64, over the table");
    make(&g, 2);
    put32(&g, row(1, 64), get32(&g, row(0, 64)) + 8);
    emit(&g, "invalid_global_entries_overlap.img", "invalid", "OVERLAP", "R3.4", "entry e1 starts 8 bytes into e0");
    make(&g, 2);
    put32(&g, row(0, 68), 40);
    emit(&g, "invalid_global_span_short.img", "invalid", "BAD_GLOBAL", "R3.4", "entry e0's span 40 is less than its image's size");
    make(&g, 2);
    put32(&g, row(0, 68), 20);
    emit(&g, "invalid_global_span_below_header.img", "invalid", "BAD_GLOBAL", "R3.4", "entry e0's span 20 cannot hold a CHOP header");
}

static void gen_invalid_names(void)
{
    gvec g;

    make(&g, 2);
    memcpy(g.b + row(1, 0), "e0", 2);
    emit(&g, "invalid_global_duplicate_names.img", "invalid", "BAD_GLOBAL", "R3.1", "entries e0 and e0");
    make(&g, 2);
    memset(g.b + row(1, 0), 0, SHMCHOP_GLOBAL_NAME_BYTES);
    emit(&g, "invalid_global_empty_name.img", "invalid", "NAME_EMPTY", "R3.4", "entry 1 has an empty name");
    make(&g, 2);
    memset(g.b + row(0, 0), 'n', SHMCHOP_GLOBAL_NAME_BYTES);
    emit(&g, "invalid_global_name_unterminated.img", "invalid", "NAME_UNTERMINATED", "R3.4", "entry 0's name has no NUL in 64 bytes");
    make(&g, 2);
    g.b[row(0, 10)] = 'x';
    emit(&g, "invalid_global_name_not_padded.img", "invalid", "BAD_GLOBAL", "R3.4", "entry 0's name e0 has a byte after its NUL");
}

static void gen_invalid_entry_image(void)
{
    gvec g;

    make(&g, 3);
    put32(&g, get32(&g, row(1, 64)), 0x12345678u);
    emit(&g, "invalid_global_entry_image.img", "invalid", "BAD_MAGIC", "R3.3", "entry e1's CHOP magic is broken; e0 and e2 are valid");
}

int main(int argc, char **argv)
{
    char path[4096];

    if (argc != 3) {
        fprintf(stderr, "usage: shmchop-mkvectors-global OUTDIR SHMCHOP_OUT\n");
        return 2;
    }
    g_outdir = argv[1];
    snprintf(path, sizeof(path), "%s/MANIFEST.tsv", g_outdir);
    g_manifest = fopen(path, "w");
    if (!g_manifest)
        die("%s: %s", path, strerror(errno));
    fputs("file\tverdict\terror\twarnings\trule\tdescription\n", g_manifest);
    gen_valid();
    gen_invalid_header();
    gen_invalid_table();
    gen_invalid_entries();
    gen_invalid_names();
    gen_invalid_entry_image();
    if (fclose(g_manifest) != 0)
        die("%s: %s", path, strerror(errno));
    printf("shmchop-mkvectors-global: %u vectors in %s\n", g_count, g_outdir);
    return 0;
}
