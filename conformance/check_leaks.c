/* SPDX-License-Identifier: MIT */
/* Leak gate (issue 9 part 3): 10,000 attach/detach/resize cycles with no fd, mapping or RSS growth and nothing left in /dev/shm. */
#include "check_segment_common.h"
#include "helpers.h"

#include <malloc.h>

#define CYCLES 10000
#define WARMUP 1000
/* Allocator noise (arenas, the page cache of malloc's top chunk) moves RSS
 * by a few pages; a leak of even 8 bytes per cycle over 9,000 cycles is
 * 72 KiB and shows. */
/* The heap in use must not grow at all beyond the allocator's rounding
 * (mallinfo2, exact); RSS also counts page-table and allocator-arena noise
 * that is not a leak, so it gets a wider bound. 8 bytes lost per cycle
 * would be 80,000 bytes of heap. */
#define HEAP_SLACK_BYTES (4 * 1024)
#define RSS_SLACK_BYTES (256 * 1024)

static unsigned count_fds(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static unsigned count_maps(void)
{
    unsigned n = 0;
    int c;
    FILE *f = fopen("/proc/self/maps", "re");
    ck_assert_ptr_nonnull(f);
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static long rss_bytes(void)
{
    long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &rss), 2);
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

typedef struct usage {
    unsigned fds, maps;
    long rss;
    long heap;
} usage;

static usage measure(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (usage){ count_fds(), count_maps(), rss_bytes(), (long)mi.uordblks };
}

/* One cycle: the writer takes the name, a reader attaches and reads, the
 * writer resizes, the reader re-attaches and reads, both let go. */
static void cycle(const char *name, sct_img *a, sct_img *b)
{
    shmchop_segment_opts so = { .probe_interval_ms = 1 };
    const void *img;
    size_t len;

    shmchop_writer *w = sct_writer(name, a->size, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, a->buf, a->size), 0);
    shmchop_segment *seg = sct_reader(name, &so);
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, NULL), 0);
    ck_assert_uint_eq(len, a->size);
    ck_assert_int_eq(shmchop_writer_publish(w, b->buf, b->size), 0);
    int rc = shmchop_segment_read_owned(seg, &img, &len, NULL);
    ck_assert_msg(rc == 0 && len == b->size, "read after resize: %d %s", rc,
                  shmchop_segment_errmsg(seg));
    shmchop_segment_close(seg);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
}

/* 10,000 cycles on one name: after the warm-up nothing grows, and gc
 * leaves nothing of the name (the mutex objects stay between cycles, R2.8). */
START_TEST(leak_gate_attach_detach_resize_cycles)
{
    char name[128], left[256];
    sct_img a, b;
    usage base = { 0 };

    sct_name(name, sizeof(name), "leak");
    sct_img_init(&a);
    sct_img_init(&b);
    sct_img_counter(&a, 4, 64, 1, true);
    sct_img_counter(&b, 6, 96, 2, true);
    for (unsigned i = 0; i < CYCLES; i++) {
        if (i == WARMUP)
            base = measure();
        cycle(name, &a, &b);
    }
    usage end = measure();
    fprintf(stderr, "after %u cycles: fds %u -> %u, maps %u -> %u, rss %ld -> %ld KiB, heap %ld -> %ld\n",
            CYCLES, base.fds, end.fds, base.maps, end.maps, base.rss / 1024, end.rss / 1024,
            base.heap, end.heap);
    ck_assert_uint_eq(end.fds, base.fds);
    ck_assert_uint_eq(end.maps, base.maps);
    /* Under ASan freed memory sits in its quarantine, so RSS says nothing;
     * LeakSanitizer checks the heap at exit instead. */
    if (!SCT_SANITIZED)
    {
        ck_assert_msg(end.heap - base.heap <= HEAP_SLACK_BYTES, "heap in use grew by %ld bytes",
                      end.heap - base.heap);
        ck_assert_msg(end.rss - base.rss <= RSS_SLACK_BYTES, "RSS grew by %ld KiB",
                      (end.rss - base.rss) / 1024);
    }
    ck_assert_int_eq(shmchop_shm_gc(name, false, NULL, NULL, NULL, NULL, 0), 0);
    ck_assert_msg(th_shm_find_tagged(name, left, sizeof(left)) == 0, "left in /dev/shm: %s", left);
    sct_img_free(&a);
    sct_img_free(&b);
}
END_TEST

SCT_FINAL_SWEEP_TEST

int main(void)
{
    char tag[64];
    sct_init_runner();
    Suite *s = suite_create("leaks");
    TCase *tc = tcase_create("cycles");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, leak_gate_attach_detach_resize_cycles);
    suite_add_tcase(s, tc);
    tc = tcase_create("final");
    tcase_add_test(tc, final_nothing_left_in_dev_shm);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sct_run_tag(tag, sizeof(tag));
    sct_sweep(tag, true, false);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
