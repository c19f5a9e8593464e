/* SPDX-License-Identifier: MIT */
/* Chaos scenario: an adversary truncates, shrinks, extends, unlinks and re-creates a name's objects under a writer and two readers. */
#include "chaos.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum obj_kind { OBJ_DATA, OBJ_DATA_MUTEX, OBJ_INFO, OBJ_INFO_MUTEX, OBJ_KINDS };
enum action { ACT_TRUNCATE, ACT_SHRINK, ACT_EXTEND, ACT_UNLINK, ACT_RECREATE, ACTIONS };

/* The processes under attack and where their output goes. */
typedef struct victims {
    const char *name;
    chaos_board *b;
    pid_t writer, watch, reader;
    char w_out[256], w_err[256], watch_out[256], watch_err[256];
    uint64_t writer_exits;
    uint64_t watch_torn;
    uint64_t died_writer, died_watch, died_reader; /* deaths by victim */   /* torn_total of watch processes already restarted */
    char writer_error[200];
    chaos_progress reads;
} victims;

/* The current data object: TouchSHM+N, or TouchSHM+N+postfix after a resize. */
static bool find_data(const char *name, char *out, size_t cap)
{
    char prefix[300];
    struct dirent *de;
    bool found = false;
    snprintf(prefix, sizeof(prefix), "TouchSHM%s", name);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return false;
    while (!found && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
            (n < 5 || strcmp(de->d_name + n - 5, "Mutex") != 0)) {
            snprintf(out, cap, "%s", de->d_name);
            found = true;
        }
    }
    closedir(d);
    return found;
}

static bool object_name(const char *name, enum obj_kind k, char *out, size_t cap)
{
    switch (k) {
    case OBJ_DATA: return find_data(name, out, cap);
    case OBJ_DATA_MUTEX: snprintf(out, cap, "TouchSHM%sMutex", name); return true;
    case OBJ_INFO: snprintf(out, cap, "TouchSHMTouchSHM%s4jhd783h", name); return true;
    default: snprintf(out, cap, "TouchSHMTouchSHM%s4jhd783hMutex", name); return true;
    }
}

/* Re-create obj empty, with one of the sizes a tool might take for whole. */
static int recreate(const char *obj, off_t old)
{
    static const off_t sizes[] = { 0, 44, 96, 128 };
    shm_unlink(obj);
    int fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    off_t sz = chaos_rand() % 5 == 4 ? old : sizes[chaos_rand() % 4];
    int rc = ftruncate(fd, sz) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* One action on one object; a missing object is no error (it comes back). */
static void act(const char *name, chaos_result *r)
{
    enum obj_kind k = (enum obj_kind)(chaos_rand() % OBJ_KINDS);
    enum action a = (enum action)(chaos_rand() % ACTIONS);
    char obj[300];
    struct stat sb;

    r->actions++;
    if (!object_name(name, k, obj, sizeof(obj)))
        return;
    if (a == ACT_UNLINK) {
        shm_unlink(obj);
        return;
    }
    int fd = shm_open(obj, O_RDWR | O_NOFOLLOW | O_NONBLOCK, 0);
    if (fd < 0)
        return;
    if (fstat(fd, &sb) == 0) {
        off_t sz = sb.st_size;
        if (a == ACT_TRUNCATE)
            sz = 0;
        else if (a == ACT_SHRINK)
            sz = sz > 1 ? (off_t)(chaos_rand() % (uint64_t)sz) : 0;
        else if (a == ACT_EXTEND)
            sz += 1 + (off_t)(chaos_rand() % 65536);
        if (a == ACT_RECREATE)
            recreate(obj, sz);
        else if (ftruncate(fd, sz) != 0)
            r->errors++;
    }
    close(fd);
}

static void start_writer(victims *v)
{
    const char *argv[] = { "shmchop-out", "run", "--name", v->name, "--wave", "counter", "--chans",
                           "4", "--length", "128", "--fps", "500", "--lock-timeout", "300",
                           "--json", NULL };
    v->writer = chaos_spawn(argv, v->w_out, v->w_err, -1);
}

static void start_watch(victims *v)
{
    const char *argv[] = { "shmchop-in", "watch", v->name, "--json", "--verify-counter", "--fps",
                           "200", "--lock-timeout", "300", NULL };
    v->watch = chaos_spawn(argv, v->watch_out, v->watch_err, -1);
}

/* The new watch rewrites the output file: tally the old one first. */
static void restart_watch(victims *v)
{
    chaos_watch_tally t;
    if (chaos_watch_tally_file(v->watch_out, &t) == 0)
        v->watch_torn += t.torn_total;
    start_watch(v);
}

/* A victim that ended: a signal is a death; an exit is counted. Restart it. */
static void check_ended(victims *v, pid_t *pid, const char *who, chaos_result *r)
{
    int st;
    if (waitpid(*pid, &st, WNOHANG) != *pid)
        return;
    r->restarts++;
    if (WIFSIGNALED(st)) {
        r->deaths++;
        uint64_t *died = pid == &v->writer ? &v->died_writer
                         : pid == &v->watch ? &v->died_watch : &v->died_reader;
        (*died)++;
        chaos_fail(r, "%s died of signal %d (%s) under the adversary after %llu actions", who,
                   WTERMSIG(st), strsignal(WTERMSIG(st)), (unsigned long long)r->actions);
    } else if (pid == &v->writer) {
        v->writer_exits++;
        chaos_first_line(v->w_err, v->writer_error, sizeof(v->writer_error));
    } else if (WEXITSTATUS(st) != 0 || pid == &v->reader) {
        chaos_fail(r, "%s exited %d under the adversary", who, WEXITSTATUS(st));
    }
    if (pid == &v->writer)
        start_writer(v);
    else if (pid == &v->watch)
        restart_watch(v);
    else
        v->reader = chaos_reader_start(v->b, 0, v->name, 300, false);
}

/* The library reader must keep completing reads: every wait is bounded. */
static void check_progress(victims *v, chaos_result *r)
{
    uint64_t reads = __atomic_load_n(&v->b->slot[0].reads, __ATOMIC_ACQUIRE);
    if (chaos_progress_idle_ms(&v->reads, reads) > 5000) {
        r->hangs++;
        chaos_fail(r, "the library reader completed no read for 5 s (a wait not bounded)");
        chaos_progress_init(&v->reads);
    }
}

static void finish(victims *v, chaos_result *r)
{
    chaos_watch_tally t;

    chaos_readers_finish(v->b, &v->reader, 1, r);
    chaos_stop_tool(v->writer, "writer", r);
    chaos_stop_tool(v->watch, "watch", r);
    memset(&t, 0, sizeof(t));
    if (chaos_watch_tally_file(v->watch_out, &t) == 0) {
        t.torn_total += v->watch_torn;
        r->corrupt += t.torn_total;
        if (t.torn_total)
            chaos_fail(r, "watch --verify-counter output %llu corrupt frames as ok (R1.16a)",
                       (unsigned long long)t.torn_total);
    }
    const chaos_slot *s = &v->b->slot[0];
    snprintf(r->note, sizeof(r->note), "died: writer %llu watch %llu reader %llu; reads=%llu "
             "ok=%llu watch_ok=%llu/%llu writer_exits=%llu%s%.80s",
             (unsigned long long)v->died_writer, (unsigned long long)v->died_watch,
             (unsigned long long)v->died_reader,
             (unsigned long long)s->reads, (unsigned long long)s->ok, (unsigned long long)t.ok,
             (unsigned long long)t.lines, (unsigned long long)v->writer_exits,
             v->writer_error[0] ? " last: " : "", v->writer_error);
}

void chaos_scn_adversary(const chaos_cfg *cfg, chaos_result *r)
{
    char name[128];
    victims v = { .name = name, .b = chaos_board_new() };
    double end = chaos_now_ms() + cfg->seconds * 1e3;

    chaos_name(cfg, "adv", name, sizeof(name));
    chaos_tmp_path("adv-wout", v.w_out, sizeof(v.w_out));
    chaos_tmp_path("adv-werr", v.w_err, sizeof(v.w_err));
    chaos_tmp_path("adv-watch", v.watch_out, sizeof(v.watch_out));
    chaos_tmp_path("adv-watcherr", v.watch_err, sizeof(v.watch_err));
    start_writer(&v);
    chaos_sleep_us(100000); /* let the writer take the name before the readers come */
    v.reader = chaos_reader_start(v.b, 0, name, 300, false);
    start_watch(&v);
    chaos_progress_init(&v.reads);
    for (unsigned i = 0; i < cfg->adversary_actions && chaos_now_ms() < end; i++) {
        act(name, r);
        chaos_sleep_us(chaos_rand_range(0, 1500));
        if (i % 64 == 0) {
            check_ended(&v, &v.writer, "writer", r);
            check_ended(&v, &v.watch, "watch", r);
            check_ended(&v, &v.reader, "library reader", r);
            check_progress(&v, r);
        }
    }
    finish(&v, r);
    if (r->frames == 0)
        chaos_fail(r, "the library reader never output a whole frame");
    chaos_board_free(v.b);
    unlink(v.w_out);
    unlink(v.w_err);
    unlink(v.watch_out);
    unlink(v.watch_err);
    chaos_sweep(name);
}
