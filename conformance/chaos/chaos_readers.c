/* SPDX-License-Identifier: MIT */
/* Readers of the chaos scenarios: library-direct children that check every sample, and watch output tallies. */
#include "chaos.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include <shmchop/counter.h>
#include <shmchop/image.h>

chaos_board *chaos_board_new(void)
{
    chaos_board *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    if (b == MAP_FAILED)
        return NULL;
    memset(b, 0, sizeof(*b));
    return b;
}

void chaos_board_free(chaos_board *b)
{
    if (b)
        munmap(b, sizeof(*b));
}

static uint64_t now_ns(void)
{
    return (uint64_t)(chaos_now_ms() * 1e6);
}

static void note_bad(chaos_slot *s, const char *what, int rc, const char *msg)
{
    if (s->first_bad[0] == 0)
        snprintf(s->first_bad, sizeof(s->first_bad), "%s (code %d) %.150s", what, rc, msg);
}

/*
 * One output: parse the private copy, then check it sample by sample. An
 * image that does not parse is not an output (the cook would fail and
 * hold, R4.2). A parsed one must be one whole counter frame whose block
 * (when present) names the same frame; a checksum flag with a mismatch
 * that the parser let through is corrupt (R1.16a).
 */
static void check_output(chaos_slot *s, const void *img, size_t len, shmchop_chop *chop)
{
    shmchop_image_info info;
    uint64_t frame = 0;

    if (shmchop_image_parse(img, len, NULL, chop, &info, NULL) != 0)
        return;
    s->ok++;
    if (info.has_ext && (info.ext.flags & SHMCHOP_EXT_FLAG_CHECKSUM) && !info.checksum_ok) {
        s->corrupt++;
        note_bad(s, "checksum mismatch in an ok output", 0, "R1.16a");
        return;
    }
    int rc = shmchop_counter_verify(chop, &frame);
    if (rc == 0 && info.has_ext && frame != (info.ext.frame & SHMCHOP_COUNTER_MASK))
        rc = SHMCHOP_E_TORN;
    if (rc != 0) {
        s->torn++;
        note_bad(s, "torn output", rc, "counter samples of several frames");
        return;
    }
    if (frame != s->last_frame)
        s->frames++;
    __atomic_store_n(&s->last_frame, frame, __ATOMIC_RELEASE);
}

static void reader_loop(chaos_board *b, chaos_slot *s, shmchop_segment *seg)
{
    shmchop_segment_status st;
    shmchop_chop chop;
    const void *img;
    size_t len;

    shmchop_chop_init(&chop);
    s->last_frame = UINT64_MAX;
    while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
        uint64_t t0 = now_ns();
        int rc = shmchop_segment_read_owned(seg, &img, &len, &st);
        uint64_t dt = now_ns() - t0;
        if (dt > s->max_read_ns)
            s->max_read_ns = dt;
        __atomic_add_fetch(&s->reads, 1, __ATOMIC_RELEASE);
        if (rc == 0)
            check_output(s, img, len, &chop);
        else
            s->errors++;
        if ((s->reads & 7) == 0 || rc != 0)
            sched_yield(); /* two cores are shared with the writer and the adversary */
    }
    shmchop_chop_free(&chop);
}

pid_t chaos_reader_start(chaos_board *b, int id, const char *name, unsigned lock_timeout_ms,
                         bool no_seqlock)
{
    pid_t pid = chaos_fork();
    if (pid != 0)
        return pid;
    chaos_slot *s = &b->slot[id];
    shmchop_segment_opts so = { .lock_timeout_ms = lock_timeout_ms, .probe_interval_ms = 20,
                                .no_seqlock = no_seqlock };
    shmchop_segment *seg;
    char err[SHMCHOP_MESSAGE_MAX];
    if (shmchop_segment_open(name, &so, &seg, err, sizeof(err)) != 0) {
        note_bad(s, "segment_open", -1, err);
        _exit(3);
    }
    s->pid = getpid();
    reader_loop(b, s, seg);
    shmchop_segment_close(seg);
    _exit(0);
}

void chaos_readers_finish(chaos_board *b, const pid_t *pids, int n, chaos_result *r)
{
    __atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < n; i++) {
        int st = chaos_reap(pids[i], 5000);
        chaos_slot *s = &b->slot[i];
        r->frames += s->frames;
        r->torn += s->torn;
        r->corrupt += s->corrupt;
        if ((double)s->max_read_ns / 1e6 > r->stall_ms)
            r->stall_ms = (double)s->max_read_ns / 1e6;
        if (st == -1) {
            r->hangs++;
            chaos_fail(r, "reader %d did not stop within 5 s of being asked (hung)", i);
        } else if (chaos_died(st) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            r->deaths++;
            chaos_fail(r, "reader %d ended with status 0x%x: %s", i, (unsigned)st, s->first_bad);
        }
        if (s->torn || s->corrupt)
            chaos_fail(r, "reader %d: %llu torn, %llu corrupt outputs; first: %s", i,
                       (unsigned long long)s->torn, (unsigned long long)s->corrupt, s->first_bad);
    }
}

/* ---- shmchop-in watch --json --verify-counter ---- */

static void tally_line(const char *line, chaos_watch_tally *t)
{
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    if (!o)
        return; /* a line cut by the final SIGTERM */
    json_t *nd = json_array_get(json_object_get(o, "nodes"), 0);
    t->lines++;
    if (json_is_true(json_object_get(nd, "ok")))
        t->ok++;
    else if (t->first_error[0] == 0 && json_is_string(json_object_get(nd, "error")))
        snprintf(t->first_error, sizeof(t->first_error), "%s",
                 json_string_value(json_object_get(nd, "error")));
    json_t *torn = json_object_get(nd, "torn_total");
    if (json_is_integer(torn) && (uint64_t)json_integer_value(torn) > t->torn_total)
        t->torn_total = (uint64_t)json_integer_value(torn);
    json_decref(o);
}

int chaos_watch_tally_file(const char *path, chaos_watch_tally *t)
{
    memset(t, 0, sizeof(*t));
    char *s = chaos_slurp(path);
    if (!s)
        return -errno;
    for (char *line = s, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break; /* the unfinished last line */
        *nl = 0;
        tally_line(line, t);
    }
    free(s);
    return 0;
}
