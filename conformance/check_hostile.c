/* SPDX-License-Identifier: MIT */
/* Hostile and broken objects (SPEC 2.3, R2.12-R2.18) and corrupt frames (R1.16a): never a hang, a crash or lost data. */
#include "helpers.h"
#include "reader_testutil.h"
#include "segment_fault.h"
#include "cond_signal.h"
#include "shm_mutex.h"
#include "shm_object.h"

#include <shmchop/error.h>
#include <shmchop/image.h>
#include <shmchop/reader.h>
#include <shmchop/segment.h>

#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1000000000ull
#define FRAME_NS 16666667ull

static float gen_index(uint32_t c, int64_t index, void *arg)
{
    (void)arg;
    return (float)(c * 1000 + index);
}

/* Remove what a name's writer and readers leave (mutex objects, R2.8). */
static void gc_name(const char *name)
{
    char err[256];
    unsigned removed = 0;

    ck_assert_msg(shmchop_shm_gc(name, false, NULL, NULL, &removed, err, sizeof(err)) == 0, "%s",
                  err);
}

/* ---- R1.16a: a checksum mismatch is an error, retried, then held ---- */

START_TEST(r1_16a_live_checksum_mismatch_fails_the_cook_and_holds_the_output)
{
    char name[64], err[256];
    shmchop_writer *w = NULL;
    shmchop_writer_opts wo = { 0 };
    shmchop_reader *r;
    void *map;
    size_t n, map_size;
    void *img;
    int rc;

    ck_assert_int_eq(th_unique_name(name, sizeof(name), "hcrc"), 0);
    img = tu_image_make(2, 64, 1000, 0, "p q", gen_index, NULL, true, false, 1, (uint32_t)getpid(),
                        &n);
    wo.initial_size = n;
    rc = shmchop_writer_open(name, &wo, &w, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_int_eq(shmchop_writer_publish(w, img, n), 0);
    r = tu_reader(name, false);
    rc = shmchop_reader_cook(r, T0);
    ck_assert_msg(rc == 0, "%s", shmchop_reader_errmsg(r));
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 1)[63], 1063.0f);

    /* A hostile writer changes a sample behind the sequence lock: every
     * copy is consistent, none matches the published checksum. */
    ck_assert_int_eq(shmchop_writer_mapping(w, &map, &map_size), 0);
    ((float *)((unsigned char *)map + 104))[64 + 63] = -1.0f;
    rc = shmchop_reader_cook(r, T0 + FRAME_NS);
    ck_assert_msg(rc == SHMCHOP_E_CHECKSUM, "cook: %s (%s)", shmchop_err_name(rc),
                  shmchop_reader_errmsg(r));
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(r), "checksum"));
    /* retried like a torn copy, then failed: the output is the last good one (R4.2) */
    ck_assert(tu_info(r, "torn_retries_total") >= 8);
    ck_assert_double_eq(tu_info(r, "errors"), 1);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 1)[63], 1063.0f);

    /* The next good publication is read again. */
    ck_assert_int_eq(shmchop_writer_publish(w, img, n), 0);
    rc = shmchop_reader_cook(r, T0 + 2 * FRAME_NS);
    ck_assert_msg(rc == 0, "%s", shmchop_reader_errmsg(r));
    shmchop_reader_close(r);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    free(img);
    gc_name(name);
}
END_TEST

START_TEST(r1_16a_check_of_a_live_mismatch_is_an_error)
{
    char name[64], err[256], tool[512];
    shmchop_writer *w = NULL;
    shmchop_writer_opts wo = { 0 };
    th_proc_result res;
    void *map;
    size_t n, map_size;
    void *img;

    ck_assert_int_eq(th_unique_name(name, sizeof(name), "hcrc"), 0);
    img = tu_image_make(1, 8, 60, 0, "a", gen_index, NULL, true, false, 1, (uint32_t)getpid(), &n);
    wo.initial_size = n;
    ck_assert_msg(shmchop_writer_open(name, &wo, &w, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(shmchop_writer_publish(w, img, n), 0);
    ck_assert_int_eq(shmchop_writer_mapping(w, &map, &map_size), 0);
    ((unsigned char *)map)[104] ^= 0x40;

    ck_assert_int_eq(th_tool_path(tool, sizeof(tool), "shmchop-in"), 0);
    const char *argv[] = { tool, "check", name, "--json", NULL };
    ck_assert_int_eq(th_run(argv, NULL, &res), 0);
    ck_assert_msg(res.exit_code == 1, "exit %d: %s%s", res.exit_code, res.out, res.err);
    ck_assert_ptr_nonnull(strstr(res.out, "\"R1.16a\""));
    ck_assert_msg(strstr(res.out, "\"valid\":false") || strstr(res.out, "\"valid\": false"), "%s", res.out);
    th_proc_result_free(&res);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    free(img);
    gc_name(name);
}
END_TEST

/* ---- R2.11 warnings survive the attach's buffer sizing ---- */

START_TEST(r2_11_watch_reports_the_warning_check_reports)
{
    char name[64], err[256], tool[512];
    shmchop_writer *w = NULL;
    shmchop_writer_opts wo = { .mode = 0666 };
    th_proc_result res;
    size_t n;
    void *img;

    ck_assert_int_eq(th_unique_name(name, sizeof(name), "hwarn"), 0);
    img = tu_image_make(1, 4096, 60, 0, "a", gen_index, NULL, true, false, 1, (uint32_t)getpid(),
                        &n);
    wo.initial_size = n;
    ck_assert_msg(shmchop_writer_open(name, &wo, &w, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(shmchop_writer_publish(w, img, n), 0);

    ck_assert_int_eq(th_tool_path(tool, sizeof(tool), "shmchop-in"), 0);
    const char *argv[] = { tool, "watch", name, "--frames", "1", "--json", NULL };
    ck_assert_int_eq(th_run(argv, NULL, &res), 0);
    ck_assert_msg(res.exit_code == 0, "exit %d: %s", res.exit_code, res.err);
    ck_assert_msg(strstr(res.out, "\"warnings\":0,") == NULL,
                  "watch lost the attach's R2.11 warning: %s", res.out);
    ck_assert_msg(strstr(res.out, "\"warnings\":") != NULL, "no warnings key: %s", res.out);
    th_proc_result_free(&res);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    free(img);
    gc_name(name);
}
END_TEST

/* ---- R2.17: output files ---- */

static int run_image_to(const char *path, th_proc_result *res)
{
    char tool[512];
    const char *argv[] = { NULL, "image", "-o", path, "--chans", "1", "--length", "4", NULL };

    ck_assert_int_eq(th_tool_path(tool, sizeof(tool), "shmchop-out"), 0);
    argv[0] = tool;
    return th_run(argv, NULL, res);
}

START_TEST(r2_17_image_refuses_to_replace_what_is_not_a_regular_file)
{
    char dir[256], fifo[320], link[320], target[320], sub[320];
    th_proc_result res;
    struct stat st;

    ck_assert_int_eq(th_make_temp_dir(dir, sizeof(dir), "hout"), 0);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    snprintf(link, sizeof(link), "%s/link", dir);
    snprintf(target, sizeof(target), "%s/target", dir);
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(th_write_file(target, "keep", 4), 0);
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_int_eq(mkdir(sub, 0700), 0);

    const char *paths[] = { fifo, link, sub, "/dev/null" };
    const char *kinds[] = { "a FIFO", "a symbolic link", "a directory", "a character device" };
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(run_image_to(paths[i], &res), 0);
        ck_assert_msg(res.exit_code == 2 && !res.timed_out, "%s: exit %d", paths[i],
                      res.exit_code);
        ck_assert_msg(strstr(res.err, kinds[i]) && strstr(res.err, paths[i]),
                      "%s: message '%s' names neither the path nor its kind", paths[i], res.err);
        th_proc_result_free(&res);
    }
    /* nothing was replaced, nothing left beside them */
    ck_assert_int_eq(lstat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(th_read_file(target, &buf, &len), 0);
    ck_assert(len == 4 && memcmp(buf, "keep", 4) == 0);
    free(buf);

    /* a regular file is replaced whole */
    ck_assert_int_eq(run_image_to(target, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    th_proc_result_free(&res);
    ck_assert_int_eq(th_read_file(target, &buf, &len), 0);
    ck_assert_uint_gt(len, 36);
    free(buf);
    ck_assert_int_eq(th_remove_tree(dir), 0);
}
END_TEST

/* ---- R2.18: bounded input ---- */

START_TEST(r2_18_check_refuses_devices_at_once)
{
    char tool[512];
    th_proc_result res;
    th_run_opts o = { .timeout_ms = 5000 };

    ck_assert_int_eq(th_tool_path(tool, sizeof(tool), "shmchop-in"), 0);
    const char *devs[] = { "/dev/zero", "/dev/urandom", "/dev/null" };
    for (size_t i = 0; i < 3; i++) {
        const char *argv[] = { tool, "check", "--image", devs[i], NULL };
        ck_assert_int_eq(th_run(argv, &o, &res), 0);
        ck_assert_msg(!res.timed_out && res.exit_code == 2, "%s: exit %d%s", devs[i],
                      res.exit_code, res.timed_out ? " (timed out)" : "");
        ck_assert_msg(strstr(res.err, "character device"), "%s: '%s'", devs[i], res.err);
        th_proc_result_free(&res);
    }
}
END_TEST


/* ---- R2.12-R2.15: the object layer (wire/shm_object.c) ---- */

static void plant_file(const char *name, const void *bytes, size_t len)
{
    char path[320];
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    ck_assert_int_eq(th_write_file(path, bytes, len), 0);
}

START_TEST(r2_12_kind_before_use_never_waits)
{
    char path[320], err[256];
    struct stat sb;
    int fd = -1;

    if (th_private_shm(1024))
        return;
    ck_assert_int_eq(mkfifo("/dev/shm/TouchSHMfifo", 0600), 0);
    ck_assert_int_eq(mkdir("/dev/shm/TouchSHMdir", 0700), 0);
    ck_assert_int_eq(symlink("/etc/passwd", "/dev/shm/TouchSHMlink"), 0);
    plant_file("TouchSHMplain", "x", 1);
    snprintf(path, sizeof(path), "/dev/shm/TouchSHMplain");
    ck_assert_int_eq(link(path, "/dev/shm/TouchSHMhard"), 0);

    /* a FIFO: refused at once, read-write (the writer) or read-only */
    ck_assert_int_eq(shmchop__obj_open("TouchSHMfifo", O_RDWR, &fd, &sb, err, sizeof(err)),
                     SHMCHOP_E_UNSAFE_OBJECT);
    ck_assert_msg(strstr(err, "TouchSHMfifo: is a FIFO"), "%s", err);
    ck_assert_int_eq(shmchop__obj_open("TouchSHMfifo", O_RDONLY, &fd, &sb, err, sizeof(err)),
                     SHMCHOP_E_UNSAFE_OBJECT);
    ck_assert_int_eq(shmchop__obj_open("TouchSHMdir", O_RDONLY, &fd, &sb, err, sizeof(err)),
                     SHMCHOP_E_UNSAFE_OBJECT);
    ck_assert_msg(strstr(err, "TouchSHMdir: is a directory"), "%s", err);
    ck_assert_int_eq(shmchop__obj_open("TouchSHMlink", O_RDONLY, &fd, &sb, err, sizeof(err)),
                     SHMCHOP_E_UNSAFE_OBJECT);
    ck_assert_msg(strstr(err, "TouchSHMlink: is a symbolic link"), "%s", err);
    ck_assert_int_eq(shmchop__obj_open("TouchSHMmissing", O_RDONLY, &fd, &sb, err, sizeof(err)),
                     -ENOENT);
    /* a second hard link: opened, and flagged */
    ck_assert_int_eq(shmchop__obj_open("TouchSHMhard", O_RDONLY, &fd, &sb, err, sizeof(err)), 0);
    ck_assert_int_eq(shmchop__obj_check_links(&sb, "TouchSHMhard", err, sizeof(err)), 1);
    ck_assert_msg(strstr(err, "2 hard links"), "%s", err);
    close(fd);
}
END_TEST

START_TEST(r2_13_objects_are_identified_by_content)
{
    unsigned char chop[36] = { 0xCF, 0x54, 0xED, 0x12 }, info[44] = { 0xBA, 0x34, 0xED, 0x56 };
    unsigned char mutex[96] = { 0 }, junk[200] = { 1, 2, 3, 4 };
    char err[256];
    struct stat sb;
    int fd;

    if (th_private_shm(1024))
        return;
    plant_file("TouchSHMa", chop, sizeof(chop));
    plant_file("TouchSHMTouchSHMa4jhd783h", info, sizeof(info));
    plant_file("TouchSHMaMutex", mutex, sizeof(mutex));
    plant_file("TouchSHMjunk", junk, sizeof(junk));
    plant_file("TouchSHMempty", "", 0);
    static const unsigned char zeros[5000];
    plant_file("TouchSHMzeros", zeros, sizeof(zeros));

    struct { const char *name; shmchop__obj_kind kind; int rc; const char *needle; } cases[] = {
        { "TouchSHMa", SHMCHOP__OBJ_DATA, 0, NULL },
        { "TouchSHMempty", SHMCHOP__OBJ_DATA, 0, NULL },
        /* created and never published: a killed writer's leftover */
        { "TouchSHMzeros", SHMCHOP__OBJ_DATA, 0, NULL },
        /* zeros at a mutex object's size: an unlocked mutex, not data */
        { "TouchSHMaMutex", SHMCHOP__OBJ_DATA, SHMCHOP_E_UNSAFE_OBJECT, "mutex" },
        { "TouchSHMTouchSHMa4jhd783h", SHMCHOP__OBJ_INFO, 0, NULL },
        { "TouchSHMaMutex", SHMCHOP__OBJ_MUTEX, 0, NULL },
        /* name "aMutex"'s data object is name "a"'s data mutex */
        { "TouchSHMaMutex", SHMCHOP__OBJ_DATA, SHMCHOP_E_UNSAFE_OBJECT, "a mutex object" },
        /* name "TouchSHMa4jhd783h"'s data object is name "a"'s info object */
        { "TouchSHMTouchSHMa4jhd783h", SHMCHOP__OBJ_DATA, SHMCHOP_E_UNSAFE_OBJECT,
          "an info object" },
        { "TouchSHMa", SHMCHOP__OBJ_INFO, SHMCHOP_E_UNSAFE_OBJECT, "magic 0x12ED54CF" },
        { "TouchSHMa", SHMCHOP__OBJ_MUTEX, SHMCHOP_E_UNSAFE_OBJECT, "36 bytes" },
        { "TouchSHMjunk", SHMCHOP__OBJ_DATA, SHMCHOP_E_UNSAFE_OBJECT, "200 bytes" },
        { "TouchSHMempty", SHMCHOP__OBJ_INFO, SHMCHOP_E_UNSAFE_OBJECT, "empty" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(shmchop__obj_open(cases[i].name, O_RDONLY, &fd, &sb, err, sizeof(err)), 0);
        int rc = shmchop__obj_identify(fd, &sb, cases[i].kind, cases[i].name, err, sizeof(err));
        close(fd);
        ck_assert_msg(rc == cases[i].rc, "%s as %s: %d (%s)", cases[i].name,
                      shmchop__obj_kind_name(cases[i].kind), rc, err);
        if (cases[i].needle)
            ck_assert_msg(strstr(err, cases[i].needle) && strstr(err, cases[i].name),
                          "%s: '%s' lacks '%s'", cases[i].name, err, cases[i].needle);
    }
}
END_TEST

/* A child that maps name (writable or not), says so through a pipe, and
 * waits to be killed. It closes `inherited`, the parent's descriptor of
 * the object, so only its mapping speaks for it. */
static pid_t child_mapping(const char *name, bool writable, int inherited)
{
    int p[2];
    char c;
    pid_t pid;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(inherited);
        int fd = shm_open(name, writable ? O_RDWR : O_RDONLY, 0);
        void *m = fd < 0 ? MAP_FAILED
                         : mmap(NULL, 4096, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                                MAP_SHARED, fd, 0);
        if (m == MAP_FAILED)
            _exit(1);
        close(fd);
        if (write(p[1], "m", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    close(p[0]);
    return pid;
}

START_TEST(r2_14_users_are_found_by_their_mappings)
{
    char err[256];
    struct stat sb;
    uint32_t pid = 0;
    int fd, status;
    pid_t ro, rw;

    if (th_private_shm(1024))
        return;
    ck_assert_int_eq(shmchop__obj_create("TouchSHMused", 0600, 4096, &fd, err, sizeof(err)), 0);
    ck_assert_int_eq(fstat(fd, &sb), 0);
    ck_assert_int_eq(shmchop__obj_in_use(&sb, false, &pid), 0);

    ro = child_mapping("TouchSHMused", false, fd);
    ck_assert_int_eq(shmchop__obj_in_use(&sb, false, &pid), 1);
    ck_assert_int_eq(pid, (uint32_t)ro);
    /* a read-only mapping is a reader, not a writer */
    pid = 0;
    ck_assert_msg(shmchop__obj_in_use(&sb, true, &pid) == 0, "writer pid %u (self %d, child %d)",
                  pid, (int)getpid(), (int)ro);
    ck_assert_int_eq(shmchop__pid_uses_object((uint32_t)ro, &sb, false), 1);

    rw = child_mapping("TouchSHMused", true, fd);
    ck_assert_int_eq(shmchop__obj_in_use(&sb, true, &pid), 1);
    ck_assert_int_eq(pid, (uint32_t)rw);
    /* a pid that does not map it does not hold it, whatever it is */
    ck_assert_int_eq(shmchop__pid_uses_object((uint32_t)getppid(), &sb, false), 0);

    kill(ro, SIGKILL);
    kill(rw, SIGKILL);
    ck_assert_int_eq(waitpid(ro, &status, 0), ro);
    ck_assert_int_eq(waitpid(rw, &status, 0), rw);
    ck_assert_int_eq(shmchop__obj_in_use(&sb, false, &pid), 0);
    ck_assert_int_eq(shmchop__pid_uses_object((uint32_t)rw, &sb, false), 0);
    close(fd);
}
END_TEST

START_TEST(r2_15_creation_reserves_its_bytes)
{
    char err[256], found[256];
    int fd;

    if (th_private_shm(256))
        return;
    ck_assert_int_eq(shmchop__obj_create("TouchSHMbig", 0600, 1u << 20, &fd, err, sizeof(err)),
                     -ENOSPC);
    ck_assert_msg(strstr(err, "no space in /dev/shm for 1048576 bytes of TouchSHMbig"), "%s", err);
    /* nothing half-made is left */
    ck_assert_int_eq(th_shm_find_tagged("TouchSHMbig", found, sizeof(found)), 0);

    ck_assert_int_eq(shmchop__obj_create("TouchSHMsmall", 0640, 4096, &fd, err, sizeof(err)), 0);
    struct stat sb;
    ck_assert_int_eq(fstat(fd, &sb), 0);
    ck_assert_int_eq(sb.st_size, 4096);
    ck_assert_uint_eq(sb.st_mode & 0777, 0640);
    ck_assert_int_ge((long long)sb.st_blocks * 512, 4096);
    ck_assert_int_eq(shmchop__obj_create("TouchSHMsmall", 0600, 4096, &fd, err, sizeof(err)),
                     -EEXIST);
    ck_assert_int_eq(shmchop__obj_resize(fd, "TouchSHMsmall", 1u << 20, err, sizeof(err)),
                     -ENOSPC);
    close(fd);
}
END_TEST

/* ---- R2.16: a signal on a broken condition variable never hangs us ---- */

struct shared_cond {
    pthread_mutex_t m;
    pthread_cond_t c;
};

static struct shared_cond *corrupt_cond(void)
{
    struct shared_cond *o = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                 -1, 0);
    pthread_condattr_t ca;

    ck_assert_ptr_ne(o, MAP_FAILED);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&o->c, &ca);
    /* bytes a hostile or crashed peer may leave: waiters counted, groups
     * that never drain */
    memset(&o->c, 0x5a, sizeof(o->c));
    return o;
}

START_TEST(r2_16_signal_on_a_corrupt_cond_is_abandoned_not_waited_for)
{
    struct shared_cond *o = corrupt_cond();
    int status;
    pid_t raw;

    /* The attack is real: glibc's own signal does not come back, or
     * aborts the process (which of the two depends on the bytes). */
    raw = fork();
    ck_assert_int_ge(raw, 0);
    if (raw == 0) {
        pthread_cond_signal(&o->c);
        _exit(0);
    }
    int w = th_wait_pid(raw, 500, &status);
    if (w == -ETIMEDOUT) {
        kill(raw, SIGKILL);
        ck_assert_int_eq(waitpid(raw, &status, 0), raw);
    } else {
        ck_assert_int_eq(w, 0);
        ck_assert_msg(WIFSIGNALED(status), "glibc signalled a corrupt cond and returned");
    }
    ck_assert(!shmchop__cond_looks_sane(&o->c));

    /* Ours gives up after its timeout, every time it is asked. */
    ck_assert(shmchop__cond_has_waiters(&o->c));
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(shmchop__cond_signal_bounded(&o->c, 50), 1);

    /* A healthy cond without waiters costs nothing and succeeds. */
    pthread_cond_t ok = PTHREAD_COND_INITIALIZER;
    ck_assert(!shmchop__cond_has_waiters(&ok));
    ck_assert_int_eq(shmchop__cond_signal_bounded(&ok, 50), 0);
    /* A healthy process-shared one keeps the invariants. */
    pthread_condattr_t ca;
    pthread_cond_t shared;
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&shared, &ca);
    ck_assert(shmchop__cond_looks_sane(&shared));
    munmap(o, 4096);
}
END_TEST

/* ---- R2.13, R2.14: ls and gc never destroy what is not theirs ---- */

/* A compatible-peer writer as its sample code leaves it: info object (no
 * OFD lock), a data object without the extension block, mapped
 * writable, 96-byte mutex objects; then it waits to be killed. */
static pid_t compat_writer(const char *name)
{
    char data[300], info[300], dmx[300], imx[300];
    unsigned char img[36 + 8] = { 0 };
    unsigned char inf[44] = { 0 };
    unsigned char mx[96] = { 0 };
    int p[2];
    char c;
    pid_t pid;

    snprintf(data, sizeof(data), "/dev/shm/TouchSHM%s", name);
    snprintf(info, sizeof(info), "/dev/shm/TouchSHMTouchSHM%s4jhd783h", name);
    snprintf(dmx, sizeof(dmx), "/dev/shm/TouchSHM%sMutex", name);
    snprintf(imx, sizeof(imx), "/dev/shm/TouchSHMTouchSHM%s4jhd783hMutex", name);
    const uint32_t magic = 0x12ED54CF, imagic = SHMCHOP_INFO_MAGIC, ver = 2;
    const int32_t one = 1, size = (int32_t)sizeof(img), off = 36;
    const float rate = 60.0f;
    memcpy(img, &magic, 4);
    memcpy(img + 4, &one, 4);
    memcpy(img + 8, &size, 4);
    memcpy(img + 12, &one, 4);
    int32_t two = 2;
    memcpy(img + 16, &two, 4);
    memcpy(img + 20, &rate, 4);
    memcpy(img + 28, &off, 4);
    memcpy(inf, &imagic, 4);
    memcpy(inf + 4, &ver, 4);
    ck_assert_int_eq(th_write_file(data, img, sizeof(img)), 0);
    ck_assert_int_eq(th_write_file(info, inf, sizeof(inf)), 0);
    ck_assert_int_eq(th_write_file(dmx, mx, sizeof(mx)), 0);
    ck_assert_int_eq(th_write_file(imx, mx, sizeof(mx)), 0);
    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The peer maps all four objects while it runs (writable). */
        const char *objs[4] = { data, info, dmx, imx };
        for (int i = 0; i < 4; i++) {
            int fd = open(objs[i], O_RDWR);
            void *m = fd < 0 ? MAP_FAILED
                             : mmap(NULL, 36, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED)
                _exit(1);
            close(fd);
        }
        if (write(p[1], "m", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    close(p[0]);
    return pid;
}

static unsigned shm_count(void)
{
    unsigned n = 0;
    DIR *d = opendir("/dev/shm");
    struct dirent *de;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- R2.15: a mutex object rewritten while we hold its inner mutex ---- */

/* Takes and drops a robust mutex of its own, then ends: glibc links it
 * into this thread's robust list and the kernel walks that list at exit,
 * so a list left pointing into a rewritten object kills the process. */
static void *robust_round_trip(void *arg)
{
    pthread_mutexattr_t ma;
    pthread_mutex_t mu;

    (void)arg;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&mu, &ma);
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
    pthread_mutex_destroy(&mu);
    return NULL;
}

/* In a child: hold the inner mutex of our own object (a peek), zero the
 * object under it as truncate-then-extend does, release. Exit 0 when the
 * release failed cleanly and the robust list still works. */
static int rewrite_under_inner_mutex(const char *obj, bool reinit)
{
    shmchop__mutex m;
    char err[256];
    bool got = false;

    memset(&m, 0, sizeof(m));
    if (shmchop__mutex_open(&m, obj, true, 0600, 1000, err, sizeof(err)) != 0)
        return 10;
    if (shmchop__mutex_peek(&m, 1000, NULL, &got, err, sizeof(err)) != 0 || !got)
        return 11;
    int fd = shm_open(obj, O_RDWR, 0);
    if (fd < 0 || ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)m.map_size) != 0)
        return 12;
    close(fd);
    if (reinit) { /* what a process that took the zeros for a fresh object does */
        pthread_mutexattr_t ma;
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(&m.obj->c.mutex, &ma);
    }
    shmchop__mutex_peek_end(&m);
    if (!m.broken)
        return 13;
    if (shmchop__mutex_lock(&m, 100, NULL, err, sizeof(err)) != SHMCHOP_E_SEGMENT_GONE)
        return 14;
    robust_round_trip(NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, robust_round_trip, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 15;
    shmchop__mutex_close(&m);
    return 0;
}

START_TEST(r2_15_a_mutex_object_rewritten_under_its_holder_kills_nobody)
{
    for (int reinit = 0; reinit < 2; reinit++) {
        char obj[64];
        int status;

        snprintf(obj, sizeof(obj), "TouchSHMrw%d_%dMutex", (int)getpid(), reinit);
        pid_t pid = th_fork_tied();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            _exit(rewrite_under_inner_mutex(obj, reinit));
        int w = th_wait_pid(pid, 5000, &status);
        if (w == -ETIMEDOUT) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        shm_unlink(obj);
        ck_assert_msg(w == 0, "the holder hung (reinit=%d)", reinit);
        ck_assert_msg(!WIFSIGNALED(status), "the holder died of signal %d (reinit=%d)",
                      WIFSIGNALED(status) ? WTERMSIG(status) : 0, reinit);
        ck_assert_msg(WEXITSTATUS(status) == 0, "step %d failed (reinit=%d)",
                      WEXITSTATUS(status), reinit);
    }
}
END_TEST

START_TEST(r2_14_a_compatible_writer_is_alive_and_gc_leaves_it)
{
    char err[256];
    shmchop_shm_status st;
    unsigned removed = 9;
    int status;
    pid_t w;

    if (th_private_shm(4096))
        return;
    w = compat_writer("peer");
    ck_assert_int_eq(shmchop_shm_inspect("peer", &st, err, sizeof(err)), 0);
    ck_assert_int_eq(st.writer_alive, 1);
    ck_assert_uint_eq(st.writer_pid, (uint32_t)w);
    ck_assert_uint_eq(st.foreign, 0);
    /* gc by name and gc of everything: both leave it whole */
    ck_assert_int_eq(shmchop_shm_gc("peer", false, NULL, NULL, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(shm_count(), 4);

    /* once the writer is gone its objects are stale, and gc removes them */
    kill(w, SIGKILL);
    ck_assert_int_eq(waitpid(w, &status, 0), w);
    ck_assert_int_eq(shmchop_shm_inspect("peer", &st, err, sizeof(err)), 0);
    ck_assert_int_eq(st.writer_alive, 0);
    ck_assert_int_eq(shmchop_shm_gc("peer", false, NULL, NULL, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 4);
    ck_assert_uint_eq(shm_count(), 0);
}
END_TEST

START_TEST(r2_13_gc_of_a_colliding_name_touches_nothing_of_the_live_one)
{
    char err[256];
    unsigned removed = 9;
    shmchop_shm_status st;
    int status;
    pid_t w;

    if (th_private_shm(4096))
        return;
    w = compat_writer("X");
    /* "XMutex"'s data object is X's data mutex; "TouchSHMX4jhd783h"'s data
     * object is X's info object. */
    ck_assert_int_eq(shmchop_shm_inspect("XMutex", &st, err, sizeof(err)), 0);
    ck_assert_uint_ge(st.foreign, 1);
    ck_assert_msg(strstr(st.foreign_why, "TouchSHMXMutex") && strstr(st.foreign_why, "mutex"),
                  "%s", st.foreign_why);
    ck_assert_int_eq(shmchop_shm_gc("XMutex", false, NULL, NULL, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(shmchop_shm_gc("TouchSHMX4jhd783h", false, NULL, NULL, &removed, err,
                                    sizeof(err)),
                     0);
    ck_assert_uint_eq(removed, 0);
    ck_assert_uint_eq(shm_count(), 4);
    kill(w, SIGKILL);
    ck_assert_int_eq(waitpid(w, &status, 0), w);
}
END_TEST

START_TEST(r2_14_a_reused_pid_does_not_hold_stale_objects)
{
    char err[256], name[64];
    shmchop_writer *w = NULL;
    shmchop_writer_opts wo = { 0 };
    shmchop_shm_status st;
    unsigned removed = 0;
    size_t n;
    void *img;

    if (th_private_shm(4096))
        return;
    snprintf(name, sizeof(name), "reused");
    /* The block names a live process that has nothing to do with it. */
    img = tu_image_make(1, 8, 60, 0, "a", gen_index, NULL, true, false, 1, (uint32_t)getppid(), &n);
    wo.initial_size = n;
    ck_assert_msg(shmchop_writer_open(name, &wo, &w, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(shmchop_writer_publish(w, img, n), 0);
    shmchop_writer_abandon(w); /* as if killed: objects stay, OFD lock gone */
    ck_assert_int_eq(shmchop_shm_inspect(name, &st, err, sizeof(err)), 0);
    ck_assert_uint_eq(st.writer_pid, (uint32_t)getppid());
    ck_assert_int_eq(st.writer_alive, 0);
    ck_assert_int_eq(shmchop_shm_gc(name, false, NULL, NULL, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 4);
    /* and a new writer takes the name */
    ck_assert_msg(shmchop_writer_open(name, &wo, &w, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    free(img);
}
END_TEST

START_TEST(r2_12_gc_and_ls_survive_fifos_and_links_at_every_path)
{
    char err[256];
    shmchop_shm_status st;
    unsigned removed = 9;
    struct stat sb;
    const char *paths[] = { "/dev/shm/TouchSHMh", "/dev/shm/TouchSHMTouchSHMh4jhd783h",
                            "/dev/shm/TouchSHMhMutex", "/dev/shm/TouchSHMTouchSHMh4jhd783hMutex" };

    if (th_private_shm(4096))
        return;
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(mkfifo(paths[i], 0600), 0);
    ck_assert_int_eq(shmchop_shm_inspect("h", &st, err, sizeof(err)), 0);
    ck_assert_uint_eq(st.foreign, 4);
    ck_assert_msg(strstr(st.foreign_why, "FIFO"), "%s", st.foreign_why);
    ck_assert_int_eq(shmchop_shm_gc("h", false, NULL, NULL, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(lstat(paths[i], &sb), 0);
        ck_assert(S_ISFIFO(sb.st_mode));
        unlink(paths[i]);
    }
    /* an info object that is a second link of another file: not written, not removed */
    unsigned char inf[44] = { 0xBA, 0x34, 0xED, 0x56, 2 };
    ck_assert_int_eq(th_write_file("/dev/shm/victim", inf, sizeof(inf)), 0);
    ck_assert_int_eq(link("/dev/shm/victim", paths[1]), 0);
    ck_assert_int_eq(shmchop_shm_gc("h", false, NULL, NULL, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 0);
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(th_read_file("/dev/shm/victim", &buf, &len), 0);
    ck_assert_msg(len == 44 && memcmp(buf, inf, 44) == 0, "gc wrote into a hard-linked file");
    free(buf);
}
END_TEST

/* ---- R6.1: a bad fault names the fault, not options nobody gave ---- */

START_TEST(r6_1_an_impossible_resize_fault_is_one_error_naming_it)
{
    char tool[512];
    th_proc_result res;

    ck_assert_int_eq(th_tool_path(tool, sizeof(tool), "shmchop-out"), 0);
    const char *argv[] = { tool, "run", "--name", "never", "--frames", "1", "--fault",
                           "resize:1:1048576:1048576", NULL };
    ck_assert_int_eq(th_run(argv, NULL, &res), 0);
    ck_assert_int_eq(res.exit_code, 2);
    ck_assert_msg(strncmp(res.err, "shmchop-out: --fault resize:1:1048576:1048576: ", 47) == 0,
                  "%s", res.err);
    ck_assert_msg(!strstr(res.err, "--chans") && !strstr(res.err, "--length"), "%s", res.err);
    ck_assert_msg(strstr(res.err, "R1.3"), "%s", res.err);
    th_proc_result_free(&res);
}
END_TEST

/* ---- R2.12 through the tools: a FIFO at any path of a name ---- */

struct tool_case {
    const char *what;
    const char *argv[12];
    int want_exit; /* -1: any non-zero exit code */
};

START_TEST(r2_12_every_tool_refuses_a_fifo_at_every_path_at_once)
{
    char in[512], out[512];
    const char *paths[] = { "/dev/shm/TouchSHMf", "/dev/shm/TouchSHMTouchSHMf4jhd783h",
                            "/dev/shm/TouchSHMfMutex", "/dev/shm/TouchSHMTouchSHMf4jhd783hMutex" };
    th_run_opts o = { .timeout_ms = 5000 };

    if (th_private_shm(4096))
        return;
    ck_assert_int_eq(th_tool_path(in, sizeof(in), "shmchop-in"), 0);
    ck_assert_int_eq(th_tool_path(out, sizeof(out), "shmchop-out"), 0);
    struct tool_case cases[] = {
        /* 1 (checked: an unsafe object) or 2 (no writer to check) */
        { "check", { in, "check", "f", NULL }, -1 },
        { "dump", { in, "dump", "f", NULL }, 2 },
        { "watch", { in, "watch", "f", "--frames", "2", "--fps", "50", NULL }, 0 },
        { "ls", { in, "ls", NULL }, 0 },
        { "gc", { in, "gc", "f", NULL }, 0 },
        { "run", { out, "run", "--name", "f", "--frames", "2", NULL }, 1 },
    };
    for (int p = 0; p < 4; p++) {
        ck_assert_int_eq(mkfifo(paths[p], 0600), 0);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            th_proc_result res;
            ck_assert_int_eq(th_run(cases[i].argv, &o, &res), 0);
            ck_assert_msg(!res.timed_out && res.term_signal == 0,
                          "%s with a FIFO at %s: %s (signal %d)", cases[i].what, paths[p],
                          res.timed_out ? "hung" : "died", res.term_signal);
            ck_assert_msg(cases[i].want_exit < 0 ? res.exit_code > 0
                                                 : res.exit_code == cases[i].want_exit,
                          "%s with a FIFO at %s: exit %d, want %d: %s", cases[i].what, paths[p],
                          res.exit_code, cases[i].want_exit, res.err);
            /* whatever fails says why: the FIFO when it reached it, or that
             * there is no writer (a FIFO at the data path alone is never
             * reached: the info object is asked first) */
            if (res.exit_code != 0)
                ck_assert_msg(strstr(res.err, "FIFO") || strstr(res.err, "no writer"),
                              "%s with a FIFO at %s: '%s'", cases[i].what, paths[p], res.err);
            th_proc_result_free(&res);
        }
        struct stat sb;
        ck_assert_int_eq(lstat(paths[p], &sb), 0);
        ck_assert_msg(S_ISFIFO(sb.st_mode), "%s was replaced", paths[p]);
        unlink(paths[p]);
        /* nothing else is left behind but complete mutex objects (R2.8) */
        DIR *d = opendir("/dev/shm");
        for (struct dirent *de; (de = readdir(d)) != NULL;) {
            char path[320];
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "/dev/shm/%s", de->d_name);
            ck_assert_int_eq(stat(path, &sb), 0);
            ck_assert_msg(strstr(de->d_name, "Mutex") && sb.st_size == 128, "left: %s",
                          de->d_name);
            unlink(path);
        }
        closedir(d);
    }
}
END_TEST

/* ---- R2.16: SIGTERM ends a tool within a second, even mid-wait ---- */

START_TEST(r2_16_sigterm_ends_watch_waiting_on_a_held_lock)
{
    char in[512], out[512], name[64];
    int status;
    pid_t w, r;

    ck_assert_int_eq(th_unique_name(name, sizeof(name), "hterm"), 0);
    ck_assert_int_eq(th_tool_path(in, sizeof(in), "shmchop-in"), 0);
    ck_assert_int_eq(th_tool_path(out, sizeof(out), "shmchop-out"), 0);
    /* A writer without the block (readers must take the lock) that holds
     * it for 20 s: the reader waits, times out, waits again. */
    const char *wargv[] = { out, "run", "--name", name, "--ext", "off", "--fps", "50",
                            "--fault", "hold-lock:3:20000", "--seconds", "30", NULL };
    ck_assert_int_eq(th_spawn(wargv, NULL, NULL, &w), 0);
    usleep(300000);
    const char *rargv[] = { in, "watch", name, "--fps", "50", "--frames", "100000", NULL };
    ck_assert_int_eq(th_spawn(rargv, NULL, NULL, &r), 0);
    usleep(500000);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(kill(r, SIGTERM), 0);
    int rc = th_wait_pid(r, 1500, &status);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != 0)
        th_kill_reap(r);
    ck_assert_msg(rc == 0, "watch still ran 1.5 s after SIGTERM");
    ck_assert_int_eq(kill(w, SIGTERM), 0);
    rc = th_wait_pid(w, 1500, &status);
    if (rc != 0)
        th_kill_reap(w);
    ck_assert_msg(rc == 0, "shmchop-out still ran 1.5 s after SIGTERM while holding the lock");
    gc_name(name);
}
END_TEST

/* ---- R2.16: gc --repair re-initialises a cond nobody uses ---- */

START_TEST(r2_16_gc_repair_mends_a_corrupt_cond_nobody_maps)
{
    char in[512], name[64], obj[300], err[256];
    shmchop__mutex m;
    th_proc_result res;
    unsigned repaired = 9;

    ck_assert_int_eq(th_unique_name(name, sizeof(name), "hrep"), 0);
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    ck_assert_int_eq(shmchop__mutex_open(&m, obj, true, 0600, 1000, err, sizeof(err)), 0);
    memset(&m.obj->c.cond, 0x5a, sizeof(m.obj->c.cond));
    ck_assert(!shmchop__cond_looks_sane(&m.obj->c.cond));
    /* While a process (a child, not us) maps it: refused, untouched. */
    pid_t holder = fork();
    ck_assert_int_ge(holder, 0);
    if (holder == 0) {
        for (;;)
            pause();
    }
    ck_assert_int_eq(shmchop_shm_repair(name, &repaired, err, sizeof(err)), SHMCHOP_E_NAME_IN_USE);
    ck_assert_msg(strstr(err, "in use by pid"), "%s", err);
    ck_assert(!shmchop__cond_looks_sane(&m.obj->c.cond));
    kill(holder, SIGKILL);
    waitpid(holder, NULL, 0);
    shmchop__mutex_close(&m);
    /* Nobody maps it any more: the tool repairs it. */
    ck_assert_int_eq(th_tool_path(in, sizeof(in), "shmchop-in"), 0);
    const char *argv[] = { in, "gc", "--repair", name, NULL };
    ck_assert_int_eq(th_run(argv, NULL, &res), 0);
    ck_assert_msg(res.exit_code == 0, "exit %d: %s", res.exit_code, res.err);
    ck_assert_msg(strstr(res.out, "repaired 1 condition variable"), "%s", res.out);
    th_proc_result_free(&res);
    ck_assert_int_eq(shmchop__mutex_open(&m, obj, false, 0600, 1000, err, sizeof(err)), 0);
    ck_assert(shmchop__cond_looks_sane(&m.obj->c.cond));
    ck_assert(!shmchop__cond_has_waiters(&m.obj->c.cond));
    shmchop__mutex_close(&m);
    gc_name(name);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *crc = tcase_create("r1_16a");
    TCase *files = tcase_create("r2_17_r2_18");
    TCase *objects = tcase_create("r2_12_to_r2_15_objects");

    tcase_set_timeout(crc, 60);
    tcase_add_test(crc, r1_16a_live_checksum_mismatch_fails_the_cook_and_holds_the_output);
    tcase_add_test(crc, r1_16a_check_of_a_live_mismatch_is_an_error);
    tcase_add_test(crc, r2_11_watch_reports_the_warning_check_reports);
    suite_add_tcase(s, crc);
    tcase_set_timeout(files, 60);
    tcase_add_test(files, r2_17_image_refuses_to_replace_what_is_not_a_regular_file);
    tcase_add_test(files, r2_18_check_refuses_devices_at_once);
    tcase_add_test(files, r6_1_an_impossible_resize_fault_is_one_error_naming_it);
    suite_add_tcase(s, files);
    tcase_set_timeout(objects, 60);
    tcase_add_test(objects, r2_12_kind_before_use_never_waits);
    tcase_add_test(objects, r2_13_objects_are_identified_by_content);
    tcase_add_test(objects, r2_14_users_are_found_by_their_mappings);
    tcase_add_test(objects, r2_15_creation_reserves_its_bytes);
    tcase_add_test(objects, r2_15_a_mutex_object_rewritten_under_its_holder_kills_nobody);
    tcase_add_test(objects, r2_16_signal_on_a_corrupt_cond_is_abandoned_not_waited_for);
    tcase_add_test(objects, r2_16_gc_repair_mends_a_corrupt_cond_nobody_maps);
    suite_add_tcase(s, objects);
    TCase *admin = tcase_create("r2_13_r2_14_ls_gc");
    tcase_set_timeout(admin, 120);
    tcase_add_test(admin, r2_14_a_compatible_writer_is_alive_and_gc_leaves_it);
    tcase_add_test(admin, r2_13_gc_of_a_colliding_name_touches_nothing_of_the_live_one);
    tcase_add_test(admin, r2_14_a_reused_pid_does_not_hold_stale_objects);
    tcase_add_test(admin, r2_12_gc_and_ls_survive_fifos_and_links_at_every_path);
    tcase_add_test(admin, r2_12_every_tool_refuses_a_fifo_at_every_path_at_once);
    tcase_add_test(admin, r2_16_sigterm_ends_watch_waiting_on_a_held_lock);
    suite_add_tcase(s, admin);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hostile_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
