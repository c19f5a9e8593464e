/* SPDX-License-Identifier: MIT */
/* `shmchop-out image`: write one CHOP image to a file (SPEC R5.6, 1.4). */
#include "mix.h"
#include "out_commands.h"
#include "shape.h"
#include "toolkit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shmchop/error.h>
#include <shmchop/global.h>
#include <shmchop/image.h>

static const char usage[] =
    "Usage: shmchop-out image -o FILE [--memtype local|global] [shape options]\n"
    "\n"
    "Write the image of one CHOP, as a local segment would hold it, to FILE.\n"
    "The file is replaced atomically (written beside it, then renamed).\n"
    "With the extension block, seq is 2*(frame+1), and time_ns, heartbeat_ns\n"
    "and writer_pid are 0: the same options always give the same bytes.\n"
    "Several --chop generators are merged into the one CHOP as the reader merges\n"
    "several sources (R5.2, R4.9-R4.11); --scope keeps the channels it matches.\n"
    "\n"
    "  -o, --output FILE  where to write\n"
    "  --memtype M        local (default): one CHOP; global: a global image\n"
    "                     (SPEC 3) with one entry per --chop, called NAME\n"
    "                     and built alone from that generator\n" SHAPE_USAGE "\n"
    "Exit status: 0 written, 2 usage error or the file could not be written.\n";

enum { OPT_MEMTYPE = 0x100, OPT_HELP };

static const struct option long_options[] = {
    { "output", required_argument, NULL, 'o' },
    { "memtype", required_argument, NULL, OPT_MEMTYPE },
    { "help", no_argument, NULL, OPT_HELP },
    SHAPE_LONG_OPTIONS,
    { NULL, 0, NULL, 0 },
};

typedef struct image_args {
    const char *output;
    bool global; /* --memtype global */
    shape shape;
} image_args;

/* Returns 0 to go on, -1 after --help, or TK_EXIT_USAGE. */
static int parse_args(int argc, char **argv, image_args *a)
{
    static const char *const memtypes[] = { "local", "global", NULL };
    int c, idx, rc;

    shape_defaults(&a->shape);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", long_options, NULL)) != -1) {
        switch (c) {
        case 'o':
            a->output = optarg;
            break;
        case OPT_MEMTYPE:
            if (tk_parse_choice("--memtype", optarg, memtypes, &idx))
                return TK_EXIT_USAGE;
            a->global = idx == 1;
            break;
        case 'h':
        case OPT_HELP:
            fputs(usage, stdout);
            return -1;
        default:
            rc = shape_option(&a->shape, c, optarg);
            if (rc == SHAPE_NOT_MINE)
                return tk_getopt_error(c, argv);
            if (rc)
                return rc;
        }
    }
    if (optind < argc)
        return tk_usage_error("unexpected argument '%s'", argv[optind]);
    if (!a->output)
        return tk_usage_error("-o FILE is required");
    if (!*a->output)
        return tk_usage_error("-o: the file name is empty");
    if (a->global && a->shape.n_chops == 0)
        return tk_usage_error("--memtype global: give each entry as --chop NAME:C:L:R:WAVE");
    return shape_validate(&a->shape);
}

/* Merge the generators of the shape (R5.2); the image must fit an int32
 * size (R1.3). Returns 0 or TK_EXIT_USAGE after printing why. */
static int open_mix(const shape *s, mix *m)
{
    char err[SHMCHOP_MESSAGE_MAX];
    uint64_t len, bytes;
    int64_t start;
    int rc = mix_open(m, s, err, sizeof(err));

    if (rc)
        return tk_usage_error("%s", err);
    if (mix_whole_span(m, &start, &len))
        return tk_usage_error("--start %" PRId64 ": the CHOP merged at %.9g Hz reaches "
                              "indices beyond +-2^62", s->start, m->rate);
    bytes = len > UINT32_MAX ? UINT64_MAX : mix_image_bytes(m, (uint32_t)len, s);
    if (bytes > INT32_MAX)
        return tk_usage_error("the merged CHOP of %" PRIu32 " channels x %" PRIu64
                              " samples would be an image of more than %d bytes (R1.3)",
                              m->sel_count, len, INT32_MAX);
    return 0;
}

/* Build the image of the shape into a new buffer of exactly its size. */
static int build_image(const shape *s, mix *m, unsigned char **out, size_t *len)
{
    shmchop_build_opts o = shape_build_opts(s);
    unsigned char *buf = NULL;
    shmchop_chop chop;
    int64_t size;
    int rc;

    /* An image file stands for a writer that has published frames 0 to
     * `frame`; its other publication fields are left 0 so that the file
     * is reproducible. */
    o.seq = 2 * (s->frame + 1);
    shmchop_chop_init(&chop);
    rc = mix_name(m, &chop);
    if (!rc)
        rc = mix_fill_whole(m, s->frame, &chop);
    if (rc)
        goto out;
    size = shmchop_image_size(&chop, &o);
    if (size < 0) {
        rc = (int)size;
        goto out;
    }
    buf = malloc(size ? (size_t)size : 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    rc = shmchop_image_build(buf, (size_t)size, &chop, &o, len);
out:
    shmchop_chop_free(&chop);
    if (rc) {
        free(buf);
        tk_error("cannot build the image: %s", shmchop_strerror(rc));
        return TK_EXIT_USAGE;
    }
    *out = buf;
    return 0;
}

/* The wave of a single shape, or how many generators were merged. */
static void print_summary(const image_args *a, const mix *m, size_t len)
{
    uint64_t length = 0;
    int64_t start;

    mix_whole_span(m, &start, &length); /* open_mix() checked it */
    printf("%s: %zu bytes, %" PRIu32 " channels x %" PRIu64 " samples at %.9g Hz, ", a->output,
           len, m->sel_count, length, m->rate);
    if (a->shape.n_chops)
        printf("%u generators merged, ", a->shape.n_chops);
    else
        printf("wave %s, ", gen_wave_names[a->shape.wave]);
    printf("frame %" PRIu64 "\n", a->shape.frame);
}

/* Build the image of each --chop alone; returns 0 or TK_EXIT_USAGE. */
static int build_entries(const shape *s, unsigned char **imgs, shmchop_global_build_entry *e)
{
    for (unsigned i = 0; i < s->n_chops; i++) {
        shape one = shape_entry(s, &s->chops[i]);
        mix m = { 0 };
        size_t len = 0;
        int rc = open_mix(&one, &m);

        if (!rc)
            rc = build_image(&one, &m, &imgs[i], &len);
        mix_close(&m);
        if (rc)
            return rc;
        e[i] = (shmchop_global_build_entry){ s->chops[i].name, imgs[i], len, s->frame };
    }
    return 0;
}

/* The global image of every --chop (SPEC 3): the header's frame and seq
 * as a local image's, its other publication fields 0 (reproducible). */
static int build_global(const shape *s, unsigned char **out, size_t *len)
{
    unsigned char *imgs[SHAPE_MAX_CHOPS] = { 0 };
    shmchop_global_build_entry e[SHAPE_MAX_CHOPS];
    shmchop_global_build_opts o = { .seq = 2 * (s->frame + 1), .frame = s->frame };
    int64_t size;
    int rc = build_entries(s, imgs, e);

    size = rc ? 0 : shmchop_global_size(e, s->n_chops);
    if (!rc && size < 0)
        rc = tk_usage_error("--chop: cannot lay out the global image: %s",
                            shmchop_strerror((int)size));
    *out = rc ? NULL : malloc(size ? (size_t)size : 1);
    if (!rc && !*out) {
        tk_error("cannot build the global image: %s", shmchop_strerror(-ENOMEM));
        rc = TK_EXIT_USAGE;
    }
    if (!rc)
        shmchop_global_build(*out, (size_t)size, e, s->n_chops, &o, len);
    for (unsigned i = 0; i < s->n_chops; i++)
        free(imgs[i]);
    return rc;
}

static int global_image_main(const image_args *a)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = build_global(&a->shape, &buf, &len);

    if (!rc)
        rc = tk_write_file(a->output, buf, len);
    free(buf);
    if (!rc)
        printf("%s: %zu bytes, global image of %u entries, frame %" PRIu64 "\n", a->output, len,
               a->shape.n_chops, a->shape.frame);
    return rc ? rc : TK_EXIT_OK;
}

int out_image_main(int argc, char **argv)
{
    image_args a = { 0 };
    unsigned char *buf;
    size_t len;
    mix m = { 0 };
    int rc = parse_args(argc, argv, &a);

    if (rc)
        return rc < 0 ? TK_EXIT_OK : rc;
    if (a.global)
        return global_image_main(&a);
    rc = open_mix(&a.shape, &m);
    if (!rc)
        rc = build_image(&a.shape, &m, &buf, &len);
    if (!rc) {
        rc = tk_write_file(a.output, buf, len);
        free(buf);
    }
    if (!rc)
        print_summary(&a, &m, len);
    mix_close(&m);
    return rc ? rc : TK_EXIT_OK;
}
