/* SPDX-License-Identifier: MIT */
/* Fuzz harness: any bytes as a global image (SPEC 3, R3.1, R3.4), validated, parsed per entry and rebuilt. */

/*
 * The input is the global image itself, so the corpus and any saved
 * global segment are inputs as they are. A table the validator accepts is
 * checked against what R3.4 says it must be, written out again here
 * rather than taken from the library: every entry inside `size` and after
 * the header, names 1 to 63 bytes, unique (R3.1), and found by exact name.
 * Every entry is then parsed as a CHOP image; its entries are laid out
 * again by shmchop_global_build, which must give a valid image whose
 * entries parse to the same verdicts.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/global.h>
#include <shmchop/image.h>

#include "fuzz_common.h"

#define OBJECT "fuzzglobal"

/* R3.4 and R3.1 on a validated table, written out again here. */
static void check_table(const uint8_t *buf, size_t len, const shmchop_global_header *h)
{
    FUZZ_CHECK(h->size <= len && h->size >= SHMCHOP_GLOBAL_HEADER_SIZE);
    FUZZ_CHECK(h->table_offset % 8 == 0 && h->table_offset >= SHMCHOP_GLOBAL_HEADER_SIZE);
    for (uint32_t i = 0; i < h->entry_count; i++) {
        shmchop_global_entry e;
        size_t n;

        shmchop_global_entry_decode(buf, h->table_offset, i, &e);
        n = strlen(e.name);
        FUZZ_CHECK(n >= 1 && n < SHMCHOP_GLOBAL_NAME_BYTES);
        FUZZ_CHECK(e.offset >= SHMCHOP_GLOBAL_HEADER_SIZE);
        FUZZ_CHECK((uint64_t)e.offset + e.span <= h->size);
        FUZZ_CHECK_EQ(shmchop_global_find(buf, h, e.name), i);
    }
}

/* Parse every entry; verdicts[i] gets the result. */
static void parse_entries(const uint8_t *buf, const shmchop_global_header *h, int *verdicts)
{
    shmchop_parse_opts o = { .object = OBJECT };
    shmchop_diag d;
    shmchop_chop chop;

    shmchop_chop_init(&chop);
    for (uint32_t i = 0; i < h->entry_count; i++) {
        verdicts[i] = shmchop_global_entry_parse(buf, h, i, &o, &chop, NULL, &d);
        FUZZ_CHECK(verdicts[i] <= 0);
        FUZZ_CHECK(verdicts[i] == 0 || d.n_errors > 0);
    }
    shmchop_chop_free(&chop);
}

/* Lay the entries out again: the result is valid and parses the same. */
static void rebuild(const uint8_t *buf, const shmchop_global_header *h, const int *verdicts)
{
    shmchop_global_build_entry *e = calloc(h->entry_count + 1, sizeof(*e));
    shmchop_global_entry *raw = calloc(h->entry_count + 1, sizeof(*raw));
    int *again = calloc(h->entry_count + 1, sizeof(*again));
    shmchop_global_header h2;
    uint8_t *out = NULL;
    size_t written = 0;
    int64_t size;

    FUZZ_CHECK(e && raw && again);
    for (uint32_t i = 0; i < h->entry_count; i++) {
        shmchop_global_entry_decode(buf, h->table_offset, i, &raw[i]);
        e[i] = (shmchop_global_build_entry){ raw[i].name, buf + raw[i].offset, raw[i].span,
                                             raw[i].frame };
    }
    size = shmchop_global_size(e, h->entry_count);
    FUZZ_CHECK(size >= SHMCHOP_GLOBAL_HEADER_SIZE);
    out = malloc((size_t)size);
    FUZZ_CHECK(out);
    FUZZ_CHECK_EQ(shmchop_global_build(out, (size_t)size, e, h->entry_count, NULL, &written), 0);
    FUZZ_CHECK_EQ(written, size);
    FUZZ_CHECK_EQ(shmchop_global_validate(out, written, OBJECT, &h2, NULL), 0);
    FUZZ_CHECK_EQ(h2.entry_count, h->entry_count);
    parse_entries(out, &h2, again);
    for (uint32_t i = 0; i < h->entry_count; i++)
        FUZZ_CHECK_EQ(again[i], verdicts[i]);
    free(out), free(e), free(raw), free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    shmchop_global_header h;
    shmchop_diag d;
    int *verdicts;
    int rc = shmchop_global_validate(data, size, OBJECT, &h, &d);

    FUZZ_CHECK(rc <= 0);
    FUZZ_CHECK((rc == 0) == (d.n_errors == 0));
    if (rc)
        return 0;
    check_table(data, size, &h);
    verdicts = calloc(h.entry_count + 1, sizeof(*verdicts));
    FUZZ_CHECK(verdicts);
    parse_entries(data, &h, verdicts);
    rebuild(data, &h, verdicts);
    free(verdicts);
    return 0;
}
