/* SPDX-License-Identifier: MIT */
/* Live segments (SPEC section 2, R2.1-R2.11): names, layout, locks, info, resize, faults, cleanup. */
#include "check_segment_common.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "shm_info.h"
#include "shm_mutex.h"
#include "shm_util.h"
#include "sigbus_guard.h"

#define ERRLEN SHMCHOP_MESSAGE_MAX

/* ---- names ------------------------------------------------------------ */

/* SPEC 2 table: the four object names, no leading slash. */
START_TEST(r2_names_of_the_four_objects)
{
    shmchop_shm_names nn;
    char err[ERRLEN];

    ck_assert_int_eq(shmchop_shm_names_make("foo", NULL, &nn, err, sizeof(err)), 0);
    ck_assert_str_eq(nn.data, "TouchSHMfoo");
    ck_assert_str_eq(nn.data_mutex, "TouchSHMfooMutex");
    ck_assert_str_eq(nn.info, "TouchSHMTouchSHMfoo4jhd783h");
    ck_assert_str_eq(nn.info_mutex, "TouchSHMTouchSHMfoo4jhd783hMutex");
    ck_assert_int_eq(shmchop_shm_names_make("foo", "abcdefghijklmnopqrstuvwxyzabcde", &nn, err,
                                            sizeof(err)), 0);
    ck_assert_str_eq(nn.data, "TouchSHMfooabcdefghijklmnopqrstuvwxyzabcde");
    /* The postfix never reaches a mutex or info name (R2.7a). */
    ck_assert_str_eq(nn.data_mutex, "TouchSHMfooMutex");
    ck_assert_str_eq(nn.info, "TouchSHMTouchSHMfoo4jhd783h");
    /* A postfix with a '/' or of 32 bytes is refused. */
    ck_assert_int_eq(shmchop_shm_names_make("foo", "ab/c", &nn, err, sizeof(err)),
                     SHMCHOP_E_BAD_INFO);
    ck_assert_int_eq(shmchop_shm_names_make("foo", "abcdefghijklmnopqrstuvwxyzabcdef", &nn, err,
                                            sizeof(err)), SHMCHOP_E_BAD_INFO);
}
END_TEST

/* SPEC 2: 1 to 200 bytes, no '/', no NUL. */
START_TEST(r2_name_rules)
{
    char n200[201], n201[202], err[ERRLEN];

    memset(n200, 'a', 200);
    n200[200] = '\0';
    memset(n201, 'a', 201);
    n201[201] = '\0';
    ck_assert_int_eq(shmchop_shm_name_check(n200, err, sizeof(err)), 0);
    ck_assert_int_eq(shmchop_shm_name_check("x", err, sizeof(err)), 0);
    ck_assert_int_eq(shmchop_shm_name_check(n201, err, sizeof(err)), SHMCHOP_E_BAD_SHM_NAME);
    ck_assert_ptr_nonnull(strstr(err, "201"));
    ck_assert_int_eq(shmchop_shm_name_check("", err, sizeof(err)), SHMCHOP_E_BAD_SHM_NAME);
    ck_assert_int_eq(shmchop_shm_name_check(NULL, err, sizeof(err)), SHMCHOP_E_BAD_SHM_NAME);
    ck_assert_int_eq(shmchop_shm_name_check("a/b", err, sizeof(err)), SHMCHOP_E_BAD_SHM_NAME);
    ck_assert_ptr_nonnull(strstr(err, "'/'"));
    ck_assert_int_eq(shmchop_shm_name_check_n("a\0b", 3, err, sizeof(err)),
                     SHMCHOP_E_BAD_SHM_NAME);
    ck_assert_ptr_nonnull(strstr(err, "NUL"));
    /* The longest name gives object names glibc accepts (< NAME_MAX). */
    shmchop_shm_names nn;
    ck_assert_int_eq(shmchop_shm_names_make(n200, "abcdefghijklmnopqrstuvwxyzabcde", &nn, err,
                                            sizeof(err)), 0);
    ck_assert_uint_eq(strlen(nn.data), 239);
    ck_assert_uint_eq(strlen(nn.info_mutex), 229);
}
END_TEST

/*
 * SPEC 2: "anything else is an error before any system call". A child
 * installs a seccomp filter that fails system calls with ENOSYS: a bad
 * name must still come back as BAD_SHM_NAME, not as an errno from a call
 * that was attempted. Plain builds fail every call but exit; sanitizer
 * builds (whose runtime needs memory and a way to report) fail the calls
 * the library would make: files, shm, sizes, signals, locks, randomness.
 */
static const int denied_nrs[] = { __NR_openat, __NR_open, __NR_ftruncate, __NR_fstat,
                                  __NR_newfstatat, __NR_fcntl, __NR_kill, __NR_rt_sigaction,
                                  __NR_getrandom, __NR_unlink, __NR_unlinkat, __NR_read,
                                  __NR_getdents64, __NR_nanosleep, __NR_clock_nanosleep,
                                  __NR_fchmod, __NR_futex };

static int install_deny_filter(void)
{
    struct sock_filter f[64];
    unsigned n = 0;

    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, nr));
    if (SCT_SANITIZED) {
        for (size_t i = 0; i < sizeof(denied_nrs) / sizeof(denied_nrs[0]); i++) {
            f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                                  (unsigned)denied_nrs[i], 0, 1);
            f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
        }
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    } else {
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 0, 1);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 0, 1);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    }
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

START_TEST(r2_bad_name_fails_before_any_system_call)
{
    pid_t pid = sct_fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char long_name[260], err[ERRLEN];
        shmchop_writer_opts wo = { .initial_size = 100 };
        shmchop_writer *w = NULL;
        shmchop_segment *seg = NULL;
        memset(long_name, 'n', 259);
        long_name[259] = '\0';
        if (install_deny_filter() != 0)
            _exit(77);
        if (shmchop_writer_open("a/b", &wo, &w, err, sizeof(err)) != SHMCHOP_E_BAD_SHM_NAME)
            _exit(1);
        if (shmchop_writer_open(long_name, &wo, &w, err, sizeof(err)) != SHMCHOP_E_BAD_SHM_NAME)
            _exit(2);
        if (shmchop_writer_open("", &wo, &w, err, sizeof(err)) != SHMCHOP_E_BAD_SHM_NAME)
            _exit(3);
        if (shmchop_segment_open("x/y", NULL, &seg, err, sizeof(err)) != SHMCHOP_E_BAD_SHM_NAME)
            _exit(4);
        if (shmchop_segment_open(long_name, NULL, &seg, err, sizeof(err)) !=
            SHMCHOP_E_BAD_SHM_NAME)
            _exit(5);
        if (shmchop_shm_gc("a/b", true, NULL, NULL, NULL, err, sizeof(err)) !=
            SHMCHOP_E_BAD_SHM_NAME)
            _exit(6);
        if (shmchop_shm_break_lock("a/b", NULL, err, sizeof(err)) != SHMCHOP_E_BAD_SHM_NAME)
            _exit(7);
        /* The filter bites: the calls the library would make fail. */
        if (shm_open("sct_seccomp_probe", O_RDONLY, 0) != -1 || errno != ENOSYS)
            _exit(8);
        _exit(0);
    }
    int st = sct_reap(pid, 10000);
    ck_assert_msg(WIFEXITED(st), "child status %d", st);
    if (WEXITSTATUS(st) == 77)
        return; /* seccomp unavailable: nothing to prove here */
    ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/* ---- layout ----------------------------------------------------------- */

/* SPEC 2.1, 2.2, R2.3a: field offsets of the shared structs (x86-64 glibc). */
START_TEST(r2_3a_struct_layout)
{
#if defined(__x86_64__)
    ck_assert_uint_eq(offsetof(struct shmchop__mutex_obj, c.mutex), 0);
    ck_assert_uint_eq(offsetof(struct shmchop__mutex_obj, c.cond), 40);
    ck_assert_uint_eq(offsetof(struct shmchop__mutex_obj, c.locked), 88);
    ck_assert_uint_eq(sizeof(struct shmchop__mutex_compat), 96);
    ck_assert_uint_eq(offsetof(struct shmchop__mutex_obj, holder_pid), 96);
    ck_assert_uint_eq(offsetof(struct shmchop__mutex_obj, holder_start), 104);
    ck_assert_uint_eq(sizeof(struct shmchop__mutex_obj), 128);
    ck_assert_uint_eq(offsetof(struct shmchop__info_obj, supported), 8);
    ck_assert_uint_eq(offsetof(struct shmchop__info_obj, postfix), 9);
    ck_assert_uint_eq(offsetof(struct shmchop__info_obj, detach), 41);
    ck_assert_uint_eq(sizeof(struct shmchop__info_obj), 44);
#endif
}
END_TEST

/* SPEC 2 table, R2.4, R2.11: a running writer has the four objects with
 * their sizes, mode 0600 by default. */
START_TEST(r2_4_writer_objects_in_dev_shm)
{
    char name[128];
    shmchop_shm_names nn;
    off_t size;
    mode_t mode;
    sct_img im;

    sct_name(name, sizeof(name), "lay");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 3, 10, 1, true);
    mode_t old = umask(0);
    umask(old);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_shm_names_make(name, NULL, &nn, NULL, 0);
    ck_assert(sct_obj(nn.data, &size, &mode));
    ck_assert_int_eq(size, (off_t)sz);
    ck_assert_int_eq(mode, 0600);
    ck_assert(sct_obj(nn.info, &size, &mode));
    ck_assert_int_eq(size, 44);
    ck_assert_int_eq(mode, 0600);
    ck_assert(sct_obj(nn.data_mutex, &size, &mode));
    ck_assert_int_eq(size, 128);
    ck_assert_int_eq(mode, 0600);
    ck_assert(sct_obj(nn.info_mutex, &size, NULL));
    ck_assert_int_eq(size, 128);

    /* R2.4: magic, version 2, supported false, postfix empty, detach false. */
    char path[512];
    unsigned char raw[44];
    snprintf(path, sizeof(path), "/dev/shm/%s", nn.info);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(raw, 1, 44, f), 44);
    fclose(f);
    int32_t magic, version;
    memcpy(&magic, raw, 4);
    memcpy(&version, raw + 4, 4);
    ck_assert_int_eq(magic, (int32_t)SHMCHOP_INFO_MAGIC);
    ck_assert_int_eq(version, 2);
    ck_assert_int_eq(raw[8], 0);
    for (int i = 9; i < 41; i++)
        ck_assert_int_eq(raw[i], 0);
    ck_assert_int_eq(raw[41], 0);

    /* R2.5: a reader's attach sets supported. */
    shmchop_segment *seg = sct_reader(name, NULL);
    unsigned char buf[4096];
    size_t len;
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, NULL), 0);
    ck_assert_uint_eq(len, sz);
    ck_assert_int_eq(memcmp(buf, im.buf, 48), 0);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(raw, 1, 44, f), 44);
    fclose(f);
    ck_assert_int_eq(raw[8], 1);
    shmchop_segment_close(seg);

    /* R2.8: close removes data and info; the mutex objects stay. */
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    ck_assert(!sct_obj(nn.data, NULL, NULL));
    ck_assert(!sct_obj(nn.info, NULL, NULL));
    ck_assert(sct_obj(nn.data_mutex, NULL, NULL));
    ck_assert(sct_obj(nn.info_mutex, NULL, NULL));
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* R2.4, R2.11: NULL writer options are the defaults (segment.h): mode
 * 0600, a header-sized data object, and the first publish resizes it
 * (R2.6). Sizes 1..35 stay a usage error. */
START_TEST(r2_4_null_writer_options_are_defaults)
{
    char name[128], err[ERRLEN] = "";
    shmchop_shm_names nn;
    shmchop_writer *w = NULL;
    off_t size;
    mode_t mode;
    sct_img im;

    sct_name(name, sizeof(name), "nullopts");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 2, 8, 1, true);
    int rc = shmchop_writer_open(name, NULL, &w, err, sizeof(err));
    ck_assert_msg(rc == 0, "writer_open(NULL opts): %d %s", rc, err);
    shmchop_shm_names_make(name, NULL, &nn, NULL, 0);
    ck_assert(sct_obj(nn.data, &size, &mode));
    ck_assert_int_eq(size, SHMCHOP_HEADER_SIZE);
    ck_assert_int_eq(mode, 0600);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    ck_assert(sct_obj(nn.data, &size, NULL));
    ck_assert_int_eq(size, (off_t)sz);
    ck_assert_int_eq(shmchop_writer_close(w), 0);

    shmchop_writer_opts small = { .initial_size = SHMCHOP_HEADER_SIZE - 1 };
    ck_assert_int_eq(shmchop_writer_open(name, &small, &w, err, sizeof(err)), SHMCHOP_E_USAGE);
    ck_assert_ptr_nonnull(strstr(err, "initial size 35"));
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* R2.11: --mode sets another mode, not narrowed by the umask; a reader
 * warns about group/other-writable objects, and fails with strict. */
START_TEST(r2_11_mode_and_reader_checks)
{
    char name[128], err[ERRLEN];
    shmchop_shm_names nn;
    mode_t mode;
    sct_img im;

    sct_name(name, sizeof(name), "mode");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 2, 4, 1, false);
    mode_t old = umask(022);
    shmchop_writer *w = sct_writer(name, sz, 0666);
    umask(old);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_shm_names_make(name, NULL, &nn, NULL, 0);
    ck_assert(sct_obj(nn.data, NULL, &mode));
    ck_assert_int_eq(mode, 0666);
    ck_assert(sct_obj(nn.info, NULL, &mode));
    ck_assert_int_eq(mode, 0666);

    shmchop_segment *seg = sct_reader(name, NULL);
    shmchop_segment_status st;
    unsigned char buf[1024];
    size_t len;
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_uint_ge(st.n_warnings, 1);
    ck_assert_msg(strstr(st.warning, "writable by group or others") != NULL, "%s", st.warning);
    ck_assert_msg(strstr(st.warning, "0666") != NULL, "%s", st.warning);
    /* Warnings come with an attach, not with every read. */
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_uint_eq(st.n_warnings, 0);
    shmchop_segment_close(seg);

    shmchop_segment_opts so = { .strict = true };
    seg = sct_reader(name, &so);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st),
                     SHMCHOP_E_UNSAFE_OBJECT);
    ck_assert_ptr_nonnull(strstr(st.message, "writable"));
    shmchop_segment_close(seg);

    /* "A size within bounds": an object larger than the reader's limit. */
    shmchop_segment_opts lo = { .max_size = sz - 1 };
    seg = sct_reader(name, &lo);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), SHMCHOP_E_LIMIT);
    ck_assert_ptr_nonnull(strstr(st.message, "exceeds the limit"));
    shmchop_segment_close(seg);

    /* Owned by another user: a warning (root can hand the objects over). */
    if (geteuid() == 0) {
        char path[512];
        snprintf(path, sizeof(path), "/dev/shm/%s", nn.data);
        ck_assert_int_eq(chmod(path, 0600), 0);
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        snprintf(path, sizeof(path), "/dev/shm/%s", nn.info);
        ck_assert_int_eq(chmod(path, 0600), 0);
        seg = sct_reader(name, NULL);
        ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
        ck_assert_uint_eq(st.n_warnings, 1);
        ck_assert_msg(strstr(st.warning, "owned by uid 65534") != NULL, "%s", st.warning);
        shmchop_segment_close(seg);
    }
    shmchop_writer_close(w);

    /* O_EXCL (R2.11): a leftover data object without an info object is
     * replaced, not reused: fresh size and mode. */
    int fd = shm_open(nn.data, O_RDWR | O_CREAT | O_EXCL, 0666);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fchmod(fd, 0666), 0);
    ck_assert_int_eq(ftruncate(fd, 5000), 0);
    close(fd);
    w = sct_writer(name, sz, 0);
    off_t osz;
    ck_assert(sct_obj(nn.data, &osz, &mode));
    ck_assert_int_eq(osz, (off_t)sz);
    ck_assert_int_eq(mode, 0600);
    shmchop_writer_close(w);

    /* A bad mode is a usage error. */
    shmchop_writer_opts wo = { .initial_size = 64, .mode = 010000 };
    ck_assert_int_eq(shmchop_writer_open(name, &wo, &w, err, sizeof(err)), SHMCHOP_E_USAGE);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* ---- the shared mutex ------------------------------------------------- */

static void open_mx(shmchop__mutex *m, const char *obj)
{
    char err[ERRLEN] = "";
    int rc = shmchop__mutex_open(m, obj, true, 0600, 1000, err, sizeof(err));
    ck_assert_msg(rc == 0, "%d %s", rc, err);
}

/* R2.2: many processes opening the same new object at once: exactly one
 * creates it, nobody uses it half-made, all can lock it. */
START_TEST(r2_2_creation_race)
{
    char name[128], obj[256];
    enum { KIDS = 8, ROUNDS = 12 };

    sct_name(name, sizeof(name), "race");
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    for (int round = 0; round < ROUNDS; round++) {
        sct_pipe go;
        pid_t kids[KIDS];
        sct_pipe_open(&go);
        for (int k = 0; k < KIDS; k++) {
            kids[k] = sct_fork();
            ck_assert_int_ge(kids[k], 0);
            if (kids[k] == 0) {
                shmchop__mutex m;
                shmchop__lock_stats ls = { 0 };
                close(go.fd[1]);
                char c;
                if (read(go.fd[0], &c, 1) != 0) /* EOF = go */
                    _exit(10);
                char kerr[ERRLEN] = "";
                if (shmchop__mutex_open(&m, obj, true, 0600, 3000, kerr, sizeof(kerr)) != 0) {
                    fprintf(stderr, "kid: %s\n", kerr);
                    _exit(1);
                }
                if (!m.ours || __atomic_load_n(&m.obj->init_magic, __ATOMIC_ACQUIRE) !=
                                   SHMCHOP__MUTEX_READY)
                    _exit(2);
                for (int i = 0; i < 50; i++) {
                    if (shmchop__mutex_lock(&m, 3000, &ls, NULL, 0) != 0)
                        _exit(3);
                    if (shmchop__mutex_unlock(&m, NULL, 0) != 0)
                        _exit(4);
                }
                shmchop__mutex_close(&m);
                _exit(0);
            }
        }
        sct_pipe_close(&go); /* EOF releases all children at once */
        for (int k = 0; k < KIDS; k++) {
            int st = sct_reap(kids[k], 10000);
            ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %d kid %d status %d",
                          round, k, st);
        }
        off_t size;
        ck_assert(sct_obj(obj, &size, NULL));
        ck_assert_int_eq(size, 128);
        shm_unlink(obj);
    }
    sct_cleanup(name);
}
END_TEST

/* R2.2: size 0 or not yet initialised is waited for (bounded), never used;
 * a half-made object whose creator died is reported at once. */
START_TEST(r2_2_half_made_objects)
{
    char name[128], obj[256], err[ERRLEN];
    shmchop__mutex m;

    sct_name(name, sizeof(name), "half");
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    int fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    /* The creator is another live process holding the object open (a
     * half-made object nobody holds would be replaced, R2.14). */
    pid_t creator = sct_fork();
    if (creator == 0) {
        for (;;)
            pause();
    }
    double t0 = sct_now_ms();
    ck_assert_int_eq(shmchop__mutex_open(&m, obj, true, 0600, 150, err, sizeof(err)),
                     SHMCHOP_E_NOT_READY);
    double dt = sct_now_ms() - t0;
    ck_assert_msg(dt >= 140 && dt < 2000, "waited %.1f ms", dt);
    ck_assert_ptr_nonnull(strstr(err, "size 0"));

    /* Sized but never initialised, by a creator still alive (us): waits. */
    ck_assert_int_eq(ftruncate(fd, 128), 0);
    struct shmchop__mutex_obj *o = mmap(NULL, 128, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(o, MAP_FAILED);
    o->creator_pid = (uint32_t)getpid();
    ck_assert_int_eq(shmchop__mutex_open(&m, obj, true, 0600, 100, err, sizeof(err)),
                     SHMCHOP_E_NOT_READY);

    /* A child finishes the initialisation 60 ms later: the wait succeeds. */
    pid_t pid = sct_fork();
    if (pid == 0) {
        sct_sleep_ms(60);
        pthread_mutexattr_t ma;
        pthread_condattr_t ca;
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(&o->c.mutex, &ma);
        pthread_condattr_init(&ca);
        pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
        pthread_cond_init(&o->c.cond, &ca);
        __atomic_store_n(&o->init_magic, SHMCHOP__MUTEX_READY, __ATOMIC_RELEASE);
        _exit(0);
    }
    ck_assert_int_eq(shmchop__mutex_open(&m, obj, true, 0600, 3000, err, sizeof(err)), 0);
    ck_assert(m.ours);
    shmchop__mutex_close(&m);
    ck_assert(WIFEXITED(sct_reap(pid, 5000)));

    /* Creator dead before finishing: NOT_READY without waiting it out. */
    memset(o, 0, 128);
    pid = sct_fork();
    if (pid == 0)
        _exit(0);
    sct_reap(pid, 5000);
    o->creator_pid = (uint32_t)pid;
    t0 = sct_now_ms();
    ck_assert_int_eq(shmchop__mutex_open(&m, obj, true, 0600, 5000, err, sizeof(err)),
                     SHMCHOP_E_NOT_READY);
    ck_assert_msg(sct_now_ms() - t0 < 1000, "should not wait for a dead creator");
    ck_assert_ptr_nonnull(strstr(err, "dead pid"));

    /* A size that is no mutex object is refused while somebody holds it. */
    ck_assert_int_eq(ftruncate(fd, 50), 0);
    ck_assert_int_eq(shmchop__mutex_open(&m, obj, true, 0600, 100, err, sizeof(err)),
                     SHMCHOP_E_UNSAFE_OBJECT);
    /* Once nobody else holds the wreck, a creator makes it anew (R2.14). */
    munmap(o, 128);
    kill(creator, SIGKILL);
    sct_reap(creator, 5000);
    ck_assert_int_eq(shmchop__mutex_open(&m, obj, true, 0600, 100, err, sizeof(err)), 0);
    ck_assert(m.ours);
    shmchop__mutex_close(&m);
    close(fd);
    shm_unlink(obj);
    sct_cleanup(name);
}
END_TEST

/* R2.1/R2.3b: a live holder makes a bounded wait end in LOCK_TIMEOUT
 * naming its pid. */
START_TEST(r2_1_live_holder_times_out_naming_pid)
{
    char name[128], obj[256], err[ERRLEN] = "";
    shmchop__mutex m;
    shmchop__lock_stats ls = { 0 };
    sct_pipe ready;

    sct_name(name, sizeof(name), "live");
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    open_mx(&m, obj);
    sct_pipe_open(&ready);
    pid_t pid = sct_fork();
    if (pid == 0) {
        shmchop__mutex cm;
        if (shmchop__mutex_open(&cm, obj, true, 0600, 1000, NULL, 0) != 0 ||
            shmchop__mutex_lock(&cm, 1000, NULL, NULL, 0) != 0)
            _exit(1);
        sct_signal(&ready, 'r');
        pause();
        _exit(0);
    }
    ck_assert_int_eq(sct_wait(&ready, 5000), 'r');
    double t0 = sct_now_ms();
    ck_assert_int_eq(shmchop__mutex_lock(&m, 200, &ls, err, sizeof(err)), SHMCHOP_E_LOCK_TIMEOUT);
    double dt = sct_now_ms() - t0;
    ck_assert_msg(dt >= 190 && dt < 1500, "waited %.1f ms", dt);
    char want[64];
    snprintf(want, sizeof(want), "pid %d", (int)pid);
    ck_assert_msg(strstr(err, want) != NULL, "message '%s' lacks '%s'", err, want);
    ck_assert_msg(strstr(err, obj) != NULL, "message '%s' lacks the object", err);
    ck_assert_uint_eq(ls.breaks, 0);
    ck_assert(ls.wait_ms >= 150);
    kill(pid, SIGKILL);
    sct_reap(pid, 5000);
    /* Dead now: the next lock breaks it (R2.3b). */
    ck_assert_int_eq(shmchop__mutex_lock(&m, 1000, &ls, err, sizeof(err)), 0);
    ck_assert_uint_eq(ls.breaks, 1);
    ck_assert_int_eq(shmchop__mutex_unlock(&m, err, sizeof(err)), 0);
    shmchop__mutex_close(&m);
    sct_pipe_close(&ready);
    shm_unlink(obj);
    sct_cleanup(name);
}
END_TEST

/* R2.3b: a holder that exited (zombie, not yet reaped) or was SIGKILLed
 * is provably dead: its lock is broken fast and counted. */
START_TEST(r2_3b_dead_holder_is_broken)
{
    char name[128], obj[256], err[ERRLEN] = "";
    shmchop__mutex m;

    sct_name(name, sizeof(name), "dead");
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    open_mx(&m, obj);
    for (int how = 0; how < 3; how++) {
        pid_t pid = sct_fork();
        if (pid == 0) {
            shmchop__mutex cm;
            if (shmchop__mutex_open(&cm, obj, true, 0600, 1000, NULL, 0) != 0 ||
                shmchop__mutex_lock(&cm, 1000, NULL, NULL, 0) != 0)
                _exit(1);
            if (how == 1)
                kill(getpid(), SIGKILL);
            _exit(0);
        }
        /* how 0/1: still a zombie while we lock; how 2: reaped first. */
        siginfo_t si;
        ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
        if (how == 2)
            sct_reap(pid, 5000);
        ck_assert(m.obj->c.locked);
        ck_assert_uint_eq(m.obj->holder_pid, (uint32_t)pid);
        shmchop__lock_stats ls = { 0 };
        double t0 = sct_now_ms();
        ck_assert_int_eq(shmchop__mutex_lock(&m, 2000, &ls, err, sizeof(err)), 0);
        ck_assert_msg(sct_now_ms() - t0 < 500, "dead holder waited out (how %d)", how);
        ck_assert_uint_eq(ls.breaks, 1);
        ck_assert_uint_eq(m.obj->holder_pid, (uint32_t)getpid());
        ck_assert_int_eq(shmchop__mutex_unlock(&m, err, sizeof(err)), 0);
        ck_assert(!m.obj->c.locked);
        ck_assert_uint_eq(m.obj->holder_pid, 0);
        if (how != 2)
            sct_reap(pid, 5000);
    }
    shmchop__mutex_close(&m);
    shm_unlink(obj);
    sct_cleanup(name);
}
END_TEST

/* R2.3a/R2.3b: a reused pid is not the holder: same pid, other start
 * time means the recorded holder is dead. Unknown holders are not broken. */
START_TEST(r2_3a_start_time_tells_reused_pid)
{
    char name[128], obj[256], err[ERRLEN] = "";
    shmchop__mutex m;
    shmchop__lock_stats ls = { 0 };

    sct_name(name, sizeof(name), "reuse");
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    open_mx(&m, obj);
    ck_assert_uint_ne(shmchop__self_start(), 0);
    m.obj->c.locked = true;
    m.obj->holder_pid = (uint32_t)getpid();
    m.obj->holder_start = shmchop__self_start() + 1;
    ck_assert_int_eq(shmchop__mutex_lock(&m, 1000, &ls, err, sizeof(err)), 0);
    ck_assert_uint_eq(ls.breaks, 1);
    ck_assert_int_eq(shmchop__mutex_unlock(&m, err, sizeof(err)), 0);

    /* Holder unknown (pid 0, as the compatible peer leaves it) while
     * another live process maps the object: no break, a timeout with a
     * message saying so (R2.3b). */
    m.obj->c.locked = true;
    m.obj->holder_pid = 0;
    sct_pipe mapped;
    sct_pipe_open(&mapped);
    pid_t peer = sct_fork();
    if (peer == 0) {
        close(m.fd); /* ours, with our marks: the peer is another program */
        int fd = shm_open(obj, O_RDWR, 0);
        if (fd < 0 || mmap(NULL, 96, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED)
            _exit(1);
        close(fd);
        sct_signal(&mapped, 'm');
        for (;;)
            pause();
    }
    ck_assert_int_eq(sct_wait(&mapped, 5000), 'm');
    ck_assert_int_eq(shmchop__mutex_lock(&m, 100, &ls, err, sizeof(err)), SHMCHOP_E_LOCK_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(err, "unknown holder"));
    /* R2.14: once no live process but us maps it, the unknown holder is
     * dead and the lock is broken like any dead holder's. */
    kill(peer, SIGKILL);
    sct_reap(peer, 5000);
    sct_pipe_close(&mapped);
    ls.breaks = 0;
    ck_assert_int_eq(shmchop__mutex_lock(&m, 2000, &ls, err, sizeof(err)), 0);
    ck_assert_uint_eq(ls.breaks, 1);
    ck_assert_int_eq(shmchop__mutex_unlock(&m, err, sizeof(err)), 0);
    shmchop__mutex_close(&m);
    shm_unlink(obj);
    sct_cleanup(name);
}
END_TEST

/* R2.3a: a process dying while it owns the inner pthread mutex leaves it
 * EOWNERDEAD; the next locker repairs `locked` and makes it consistent. */
START_TEST(r2_3a_eownerdead_is_repaired)
{
    char name[128], obj[256], err[ERRLEN] = "";
    shmchop__mutex m;

    sct_name(name, sizeof(name), "eod");
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    open_mx(&m, obj);
    pid_t pid = sct_fork();
    if (pid == 0) {
        shmchop__mutex cm;
        if (shmchop__mutex_open(&cm, obj, true, 0600, 1000, NULL, 0) != 0)
            _exit(1);
        /* Die in the middle of the flip: inner mutex owned, locked set. */
        pthread_mutex_lock(&cm.obj->c.mutex);
        cm.obj->holder_pid = (uint32_t)getpid();
        cm.obj->holder_start = shmchop__self_start();
        cm.obj->c.locked = true;
        _exit(0);
    }
    ck_assert(WIFEXITED(sct_reap(pid, 5000)));
    shmchop__lock_stats ls = { 0 };
    double t0 = sct_now_ms();
    ck_assert_int_eq(shmchop__mutex_lock(&m, 1000, &ls, err, sizeof(err)), 0);
    ck_assert(sct_now_ms() - t0 < 500);
    ck_assert_uint_eq(ls.breaks, 1);
    ck_assert_int_eq(shmchop__mutex_unlock(&m, err, sizeof(err)), 0);
    /* Consistent again: plain lock/unlock work, no ENOTRECOVERABLE. */
    ck_assert_int_eq(pthread_mutex_lock(&m.obj->c.mutex), 0);
    ck_assert_int_eq(pthread_mutex_unlock(&m.obj->c.mutex), 0);
    ck_assert_int_eq(shmchop__mutex_lock(&m, 1000, &ls, err, sizeof(err)), 0);
    ck_assert_int_eq(shmchop__mutex_unlock(&m, err, sizeof(err)), 0);
    shmchop__mutex_close(&m);
    shm_unlink(obj);
    sct_cleanup(name);
}
END_TEST

/* R2.3c: we never sleep on `cond`, but unlock signals it, so a compatible
 * peer waiting on it (in the peer's way) wakes up; and a peer's 96-byte
 * object (no holder fields) works. */
START_TEST(r2_3c_unlock_wakes_a_peer_waiting_on_cond)
{
    char name[128], obj[256], err[ERRLEN] = "";
    shmchop__mutex m;

    sct_name(name, sizeof(name), "cond");
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    /* The peer's object: 96 bytes, process-shared, not robust. */
    int fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 96), 0);
    struct shmchop__mutex_compat *pc = mmap(NULL, 96, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(pc, MAP_FAILED);
    close(fd);
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&pc->mutex, &ma);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&pc->cond, &ca);
    pc->locked = false;

    open_mx(&m, obj);
    ck_assert(!m.ours);
    ck_assert_uint_eq(m.map_size, 96);
    ck_assert_int_eq(shmchop__mutex_lock(&m, 1000, NULL, err, sizeof(err)), 0);
    ck_assert(pc->locked);

    sct_pipe ready, done;
    sct_pipe_open(&ready);
    sct_pipe_open(&done);
    pid_t pid = sct_fork();
    if (pid == 0) {
        /* The peer's lock: sleep on cond while locked (bounded here). */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 5;
        pthread_mutex_lock(&pc->mutex);
        sct_signal(&ready, 'r');
        while (pc->locked)
            if (pthread_cond_timedwait(&pc->cond, &pc->mutex, &ts) == ETIMEDOUT)
                _exit(2);
        pc->locked = true;
        pthread_mutex_unlock(&pc->mutex);
        sct_signal(&done, 'd');
        _exit(0);
    }
    ck_assert_int_eq(sct_wait(&ready, 5000), 'r');
    sct_sleep_ms(50); /* let it get into the wait */
    double t0 = sct_now_ms();
    ck_assert_int_eq(shmchop__mutex_unlock(&m, err, sizeof(err)), 0);
    ck_assert_int_eq(sct_wait(&done, 3000), 'd');
    ck_assert_msg(sct_now_ms() - t0 < 1000, "the peer was not woken by the signal");
    ck_assert(WIFEXITED(sct_reap(pid, 5000)));
    /* The peer took the lock and exited holding it: nobody else maps the
     * object, so its unknown holder is dead and the lock is broken
     * (R2.14, R2.3b). */
    shmchop__lock_stats ls = { 0 };
    ck_assert_int_eq(shmchop__mutex_lock(&m, 2000, &ls, err, sizeof(err)), 0);
    ck_assert_uint_eq(ls.breaks, 1);
    ck_assert_int_eq(shmchop__mutex_unlock(&m, err, sizeof(err)), 0);
    shmchop__mutex_close(&m);
    munmap(pc, 96);
    sct_pipe_close(&ready);
    sct_pipe_close(&done);
    shm_unlink(obj);
    sct_cleanup(name);
}
END_TEST

/* ---- reader / writer protocol ----------------------------------------- */

/* R2.5/R2.7a: no writer is an error "no writer for N", not a failure to
 * open; and the reader creates no object at all while there is none. */
START_TEST(r2_5_no_writer_creates_nothing)
{
    char name[128];
    shmchop_segment_status st;
    unsigned char buf[256];
    size_t len;

    sct_name(name, sizeof(name), "nowr");
    shmchop_segment *seg = sct_reader(name, NULL);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st),
                         SHMCHOP_E_NO_WRITER);
        ck_assert_int_eq(st.code, SHMCHOP_E_NO_WRITER);
        char want[200];
        snprintf(want, sizeof(want), "no writer for %s", name);
        ck_assert_str_eq(st.message, want);
        ck_assert_str_eq(shmchop_segment_errmsg(seg), want);
        ck_assert_int_eq(st.writer_alive, 0);
    }
    ck_assert_uint_eq(sct_sweep(name, false, true), 0);
    ck_assert_uint_eq(shmchop_segment_capacity(seg), 0);
    shmchop_segment_close(seg);
}
END_TEST

/* R2.9: the copy is private; a small buffer gets -ENOBUFS and the needed
 * capacity; read_owned allocates only on growth. */
START_TEST(r2_9_private_copy_and_capacity)
{
    char name[128];
    sct_img im;
    unsigned char small[16], *buf;
    size_t len = 0;
    shmchop_chop chop;
    uint64_t frame;

    sct_name(name, sizeof(name), "copy");
    sct_img_init(&im);
    shmchop_chop_init(&chop);
    size_t sz = sct_img_counter(&im, 4, 32, 7, true);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_segment *seg = sct_reader(name, NULL);
    ck_assert_int_eq(shmchop_segment_read(seg, small, sizeof(small), &len, NULL), -ENOBUFS);
    ck_assert_uint_eq(len, sz);
    ck_assert_uint_eq(shmchop_segment_capacity(seg), sz);
    buf = malloc(len);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, len, &len, NULL), 0);
    ck_assert_int_eq(sct_verify_copy(buf, len, &chop, &frame, NULL), 0);
    ck_assert_uint_eq(frame, 7);
    /* The writer moves on; our copy does not. */
    sct_img_counter(&im, 4, 32, 8, true);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    ck_assert_int_eq(sct_verify_copy(buf, len, &chop, &frame, NULL), 0);
    ck_assert_uint_eq(frame, 7);
    /* The seq moved by 2 per publish and the copy carries it. */
    shmchop_segment_status st;
    const void *img;
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), 0);
    ck_assert(st.has_ext);
    ck_assert(st.seqlock);
    ck_assert_uint_eq(st.seq, 4);
    ck_assert_int_eq(sct_verify_copy(img, len, &chop, &frame, NULL), 0);
    ck_assert_uint_eq(frame, 8);
    const void *img2;
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img2, &len, &st), 0);
    ck_assert_ptr_eq(img, img2);
    free(buf);
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    shmchop_chop_free(&chop);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* Only the object names of `name` that a writer, its reader and the
 * spec's table allow: no stray postfixed mutex or info object (R2.7a). */
static void assert_no_stray(const char *name, const char *postfix)
{
    char needle[256];
    struct dirent *de;
    DIR *d = opendir("/dev/shm");
    shmchop_shm_names nn;

    shmchop_shm_names_make(name, postfix, &nn, NULL, 0);
    snprintf(needle, sizeof(needle), "%s", name);
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, needle))
            continue;
        bool ok = !strcmp(de->d_name, nn.data) || !strcmp(de->d_name, nn.data_mutex) ||
                  !strcmp(de->d_name, nn.info) || !strcmp(de->d_name, nn.info_mutex);
        ck_assert_msg(ok, "stray object %s", de->d_name);
    }
    closedir(d);
}

/* R2.6: with a supporting reader, a resize makes a fresh 31-letter
 * postfix, the old object goes, the reader follows (reattach counted). */
START_TEST(r2_6_resize_with_postfix)
{
    char name[128];
    sct_img im;
    unsigned char buf[65536];
    size_t len;
    shmchop_chop chop;
    uint64_t frame;
    shmchop_segment_status st;
    shmchop_segment_stats ss;
    shmchop_writer_stats ws;
    char seen[4][SHMCHOP_POSTFIX_SIZE];

    sct_name(name, sizeof(name), "rsz");
    sct_img_init(&im);
    shmchop_chop_init(&chop);
    size_t sz = sct_img_counter(&im, 2, 8, 1, true);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_segment *seg = sct_reader(name, NULL);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(st.attached);
    char old_data[256];
    shmchop_writer_get_stats(w, &ws);
    snprintf(old_data, sizeof(old_data), "%s", ws.data_name);
    for (int k = 0; k < 4; k++) {
        sz = sct_img_counter(&im, 2, 8 + 16 * (uint32_t)(k + 1), 2 + (uint64_t)k, true);
        ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
        shmchop_writer_get_stats(w, &ws);
        ck_assert(ws.supported);
        ck_assert_uint_eq(strlen(ws.postfix), 31);
        for (int i = 0; i < 31; i++)
            ck_assert(ws.postfix[i] >= 'a' && ws.postfix[i] <= 'z');
        for (int j = 0; j < k; j++)
            ck_assert_str_ne(seen[j], ws.postfix);
        snprintf(seen[k], sizeof(seen[k]), "%s", ws.postfix);
        off_t osz;
        ck_assert(sct_obj(ws.data_name, &osz, NULL));
        ck_assert_int_eq(osz, (off_t)sz);
        ck_assert(!sct_obj(old_data, NULL, NULL)); /* the old one is unlinked */
        snprintf(old_data, sizeof(old_data), "%s", ws.data_name);
        ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
        ck_assert(st.attached);
        ck_assert_uint_eq(len, sz);
        ck_assert_int_eq(sct_verify_copy(buf, len, &chop, &frame, NULL), 0);
        ck_assert_uint_eq(frame, 2 + (uint64_t)k);
        shmchop_segment_get_stats(seg, &ss);
        ck_assert_uint_eq(ss.reattach_total, (uint64_t)k + 1);
        ck_assert_str_eq(ss.postfix, ws.postfix);
        ck_assert_uint_eq(ss.mapped_size, sz);
        assert_no_stray(name, ws.postfix);
    }
    ck_assert_uint_eq(ws.resizes_total, 4);
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    shmchop_chop_free(&chop);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* R2.6: without a supporting reader the same name is recreated. */
START_TEST(r2_6_resize_without_support_keeps_the_name)
{
    char name[128];
    sct_img im;
    shmchop_shm_names nn;
    shmchop_writer_stats ws;
    off_t osz;

    sct_name(name, sizeof(name), "rsn");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 2, 8, 1, false);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    sz = sct_img_counter(&im, 2, 100, 2, false);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_writer_get_stats(w, &ws);
    ck_assert(!ws.supported);
    ck_assert_str_eq(ws.postfix, "");
    shmchop_shm_names_make(name, NULL, &nn, NULL, 0);
    ck_assert_str_eq(ws.data_name, nn.data);
    ck_assert(sct_obj(nn.data, &osz, NULL));
    ck_assert_int_eq(osz, (off_t)sz);
    /* A reader arriving now reads the new object. */
    shmchop_segment *seg = sct_reader(name, NULL);
    unsigned char buf[4096];
    size_t len;
    shmchop_chop chop;
    uint64_t frame;
    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, NULL), 0);
    ck_assert_int_eq(sct_verify_copy(buf, len, &chop, &frame, NULL), 0);
    ck_assert_uint_eq(frame, 2);
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    shmchop_chop_free(&chop);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* R2.7/R2.7a/R2.8: detach is "writer detached"; then the reader forgets
 * the writer and picks up a new one, also after the old one resized. */
START_TEST(r2_7a_detach_then_new_writer_is_picked_up)
{
    char name[128];
    sct_img im;
    unsigned char buf[65536];
    size_t len;
    shmchop_chop chop;
    uint64_t frame;
    shmchop_segment_status st;
    shmchop_writer_stats ws;

    sct_name(name, sizeof(name), "det");
    sct_img_init(&im);
    shmchop_chop_init(&chop);
    size_t sz = sct_img_counter(&im, 2, 8, 1, true);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_segment *seg = sct_reader(name, NULL);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, NULL), 0);
    sz = sct_img_counter(&im, 2, 64, 2, true); /* resize: postfix */
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, NULL), 0);
    shmchop_writer_get_stats(w, &ws);
    ck_assert_uint_eq(strlen(ws.postfix), 31);
    char old_pf[SHMCHOP_POSTFIX_SIZE];
    snprintf(old_pf, sizeof(old_pf), "%s", ws.postfix);
    ck_assert_int_eq(shmchop_writer_close(w), 0);

    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), SHMCHOP_E_DETACHED);
    ck_assert_ptr_nonnull(strstr(st.message, "writer detached"));
    ck_assert_int_eq(st.writer_alive, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st),
                         SHMCHOP_E_NO_WRITER);
    assert_no_stray(name, NULL);

    /* A new writer on the same name: picked up without a postfix. */
    sz = sct_img_counter(&im, 3, 8, 50, true);
    w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(st.attached);
    ck_assert_int_eq(sct_verify_copy(buf, len, &chop, &frame, NULL), 0);
    ck_assert_uint_eq(frame, 50);
    assert_no_stray(name, NULL);
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    shmchop_chop_free(&chop);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* R2.7: a changed postfix made by someone else than our writer (written
 * into the info object directly) is followed too. */
START_TEST(r2_7_changed_postfix_reattaches)
{
    char name[128];
    sct_img im;
    unsigned char buf[4096];
    size_t len;
    shmchop_segment_status st;
    shmchop_shm_names nn;

    sct_name(name, sizeof(name), "pfx");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 1, 4, 1, false);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_segment *seg = sct_reader(name, NULL);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);

    /* A peer-made postfix object "Q1" with another frame in it. */
    sct_img im2;
    sct_img_init(&im2);
    size_t sz2 = sct_img_counter(&im2, 1, 4, 9, false);
    shmchop_shm_names_make(name, "Q1", &nn, NULL, 0);
    int fd = shm_open(nn.data, O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, im2.buf, sz2), (ssize_t)sz2);
    close(fd);
    shmchop__info in;
    ck_assert_int_eq(shmchop__info_open(&in, nn.info, false, false, NULL, NULL, 0, NULL, 0), 0);
    memcpy(in.obj->postfix, "Q1\0garbage-after-the-nul", 25);
    shmchop__info_close(&in);

    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(st.attached);
    shmchop_chop chop;
    uint64_t frame;
    shmchop_chop_init(&chop);
    ck_assert_int_eq(sct_verify_copy(buf, len, &chop, &frame, NULL), 0);
    ck_assert_uint_eq(frame, 9);
    /* Bytes after the NUL do not count: no re-attach on every read. */
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(!st.attached);
    /* A postfix with a '/' is a bad info object. */
    ck_assert_int_eq(shmchop__info_open(&in, nn.info, false, false, NULL, NULL, 0, NULL, 0), 0);
    memcpy(in.obj->postfix, "a/b", 4);
    shmchop__info_close(&in);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), SHMCHOP_E_BAD_INFO);
    ck_assert_ptr_nonnull(strstr(st.message, "namePostFix"));
    shm_unlink(nn.data);
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    shmchop_chop_free(&chop);
    sct_img_free(&im);
    sct_img_free(&im2);
    sct_cleanup(name);
}
END_TEST

/* R2.7b: with the block, writer_alive follows the pid and the heartbeat;
 * without it, unknown. */
START_TEST(r2_7b_writer_liveness)
{
    char name[128];
    sct_img im;
    unsigned char buf[4096];
    size_t len;
    shmchop_segment_status st;
    shmchop_segment_opts so = { .probe_interval_ms = 1, .heartbeat_timeout_ms = 300 };
    sct_pipe ready;

    sct_name(name, sizeof(name), "live");
    sct_img_init(&im);
    sct_pipe_open(&ready);
    pid_t pid = sct_fork();
    if (pid == 0) {
        size_t sz = sct_img_counter(&im, 1, 4, 1, true);
        shmchop_writer_opts wo = { .initial_size = sz };
        shmchop_writer *w;
        if (shmchop_writer_open(name, &wo, &w, NULL, 0) != 0 ||
            shmchop_writer_publish(w, im.buf, sz) != 0)
            _exit(1);
        sct_signal(&ready, 'r');
        for (;;) {
            sct_sleep_ms(10);
            shmchop_writer_heartbeat(w, sct_now_ns());
        }
    }
    ck_assert_int_eq(sct_wait(&ready, 5000), 'r');
    shmchop_segment *seg = sct_reader(name, &so);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(st.has_ext);
    ck_assert_int_eq(st.writer_alive, 1);
    uint64_t seq0 = st.seq;
    sct_sleep_ms(50);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_uint_gt(st.seq, seq0); /* heartbeats move the seq on */
    ck_assert_int_eq(st.writer_alive, 1);
    kill(pid, SIGKILL);
    sct_reap(pid, 5000);
    sct_sleep_ms(5);
    /* Its objects stay and look healthy; the reader still reads them. */
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_int_eq(st.writer_alive, 0);
    shmchop_segment_stats ss;
    shmchop_segment_get_stats(seg, &ss);
    ck_assert_int_eq(ss.writer_alive, 0);
    ck_assert_uint_eq(ss.writer_pid, (uint32_t)pid);
    shmchop_segment_close(seg);

    /* A live pid with a stale heartbeat: 0 as well. Here the writer is
     * this process, which publishes once and stays silent. */
    char name2[128];
    sct_name(name2, sizeof(name2), "stale");
    size_t sz = sct_img_counter(&im, 1, 4, 1, true);
    shmchop_writer *w = sct_writer(name2, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    seg = sct_reader(name2, &so);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_int_eq(st.writer_alive, 1);
    sct_sleep_ms(400);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_int_eq(st.writer_alive, 0);
    ck_assert_int_eq(shmchop_writer_heartbeat(w, sct_now_ns()), 0);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_int_eq(st.writer_alive, 1);
    /* Without the block: unknown. */
    sz = sct_img_counter(&im, 1, 4, 2, false);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(!st.has_ext);
    ck_assert_int_eq(st.writer_alive, -1);
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    sct_pipe_close(&ready);
    sct_img_free(&im);
    sct_cleanup(name);
    sct_cleanup(name2);
}
END_TEST

/* ---- R2.10: truncation and unlink under the reader -------------------- */

/* A plain copy for shmchop__guarded(). */
struct guard_copy {
    unsigned char *dst;
    const unsigned char *src;
    size_t n;
};

static void guard_copy_fn(void *arg)
{
    struct guard_copy *c = arg;
    memcpy(c->dst, c->src, c->n);
}

/* The guard itself: a truncated file mapping fails the copy; a SIGBUS
 * outside any guard still kills the process as it would have. */
START_TEST(r2_10_sigbus_guard)
{
#ifdef __SANITIZE_THREAD__
    /* gcc 12's TSan kills the process on a SIGBUS raised inside its
     * memcpy interceptor instead of running our handler; the guard is
     * tested by the plain and ASan builds. */
    fprintf(stderr, "r2_10_sigbus_guard: skipped under ThreadSanitizer\n");
    return;
#endif
    static unsigned char dst[3 * 4096];
    char path[] = "/tmp/shmchop-sigbus-XXXXXX";
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(ftruncate(fd, 3 * 4096), 0);
    unsigned char *p = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    ck_assert_int_eq(shmchop__sigbus_install(), 0);
    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    uint64_t before = shmchop__sigbus_caught();
    for (int i = 0; i < 3; i++) {
        struct guard_copy one = { dst, p, 4096 };
        struct guard_copy all = { dst, p, 3 * 4096 };
        ck_assert_int_eq(shmchop__guarded(p, 3 * 4096, guard_copy_fn, &one), 0);
        ck_assert_int_eq(shmchop__guarded(p, 3 * 4096, guard_copy_fn, &all),
                         SHMCHOP_E_SEGMENT_GONE);
    }
    ck_assert_uint_eq(shmchop__sigbus_caught() - before, 3);
    /* A fault outside the guarded range is not ours either. */
    pid_t pid = sct_fork();
    if (pid == 0) {
        struct guard_copy all = { dst, p, 3 * 4096 };
        shmchop__guarded(p, 4096, guard_copy_fn, &all);
        _exit(0);
    }
    int st = sct_reap(pid, 10000);
    ck_assert_msg(sct_died_of_sigbus(st), "status %d", st);

    /* Outside a guard: the process dies of SIGBUS. */
    pid = sct_fork();
    if (pid == 0) {
        volatile unsigned char x = p[2 * 4096];
        (void)x;
        _exit(0);
    }
    st = sct_reap(pid, 10000);
    ck_assert_msg(sct_died_of_sigbus(st), "status %d", st);
    munmap(p, 3 * 4096);
    close(fd);
}
END_TEST

/* R2.10: the writer truncates the data object while a reader is attached:
 * the read fails for that cook (no crash, no SIGBUS death), and the reader
 * recovers after the writer's next resize. Once caught by the guard (no
 * probe), once by the rate-limited probe. */
START_TEST(r2_10_truncate_under_reader)
{
    char name[128];
    sct_img im;
    unsigned char buf[65536];
    size_t len;
    shmchop_segment_status st;
    shmchop_segment_stats ss;
    shmchop_chop chop;
    uint64_t frame;

    shmchop_chop_init(&chop);
    sct_img_init(&im);
    for (int variant = 0; variant < 2; variant++) {
        shmchop_segment_opts so = { .probe_interval_ms = variant == 0 ? 3600000u : 1u };
        sct_name(name, sizeof(name), "trunc");
        size_t sz = sct_img_counter(&im, 4, 2000, 1, variant == 0);
        shmchop_writer *w = sct_writer(name, sz, 0);
        ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
        shmchop_segment *seg = sct_reader(name, &so);
        ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
        ck_assert_int_eq(shmchop_writer_truncate(w, 100), 0);
        sct_sleep_ms(3);
        int rc = shmchop_segment_read(seg, buf, sizeof(buf), &len, &st);
        ck_assert_msg(rc == SHMCHOP_E_SEGMENT_GONE, "rc %d %s", rc, st.message);
        shmchop_segment_get_stats(seg, &ss);
        if (variant == 0) {
            ck_assert_uint_eq(ss.sigbus_total, 1);
            ck_assert_ptr_nonnull(strstr(st.message, "truncated"));
        } else {
            ck_assert_ptr_nonnull(strstr(st.message, "shrank"));
        }
        /* The writer resizes on its next publish; the reader follows. */
        sz = sct_img_counter(&im, 4, 2000, 2, variant == 0);
        ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
        ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
        ck_assert_int_eq(sct_verify_copy(buf, len, &chop, &frame, NULL), 0);
        ck_assert_uint_eq(frame, 2);
        shmchop_segment_close(seg);
        shmchop_writer_close(w);
        sct_cleanup(name);
    }
    shmchop_chop_free(&chop);
    sct_img_free(&im);
}
END_TEST

/* R2.10/R2.7a: an unlinked data object: an attached reader notices at its
 * next probe, a new reader at attach; both fail the cook with an error. */
START_TEST(r2_10_unlink_under_reader)
{
    char name[128];
    sct_img im;
    unsigned char buf[4096];
    size_t len;
    shmchop_segment_status st;
    shmchop_segment_opts so = { .probe_interval_ms = 1 };

    sct_name(name, sizeof(name), "unl");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 1, 16, 1, true);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_segment *seg = sct_reader(name, &so);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_int_eq(shmchop_writer_unlink_data(w), 0);
    sct_sleep_ms(3);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st),
                     SHMCHOP_E_SEGMENT_GONE);
    ck_assert_msg(strstr(st.message, "data object vanished") != NULL, "%s", st.message);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st),
                     SHMCHOP_E_SEGMENT_GONE);
    ck_assert_msg(strstr(st.message, "data object is missing") != NULL, "%s", st.message);
    shmchop_segment *seg2 = sct_reader(name, NULL);
    ck_assert_int_eq(shmchop_segment_read(seg2, buf, sizeof(buf), &len, &st),
                     SHMCHOP_E_SEGMENT_GONE);
    /* The writer recreates it (a forced resize): both recover. */
    ck_assert_int_eq(shmchop_writer_resize(w, sz), 0);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_int_eq(shmchop_segment_read(seg2, buf, sizeof(buf), &len, &st), 0);
    ck_assert_int_eq(memcmp(buf + 56, im.buf + 56, sz - 56), 0);
    shmchop_segment_close(seg);
    shmchop_segment_close(seg2);
    shmchop_writer_close(w);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* R2.10: an image whose size field exceeds the object is a short read. */
START_TEST(r2_10_size_beyond_object_is_short)
{
    char name[128];
    sct_img im;
    unsigned char buf[4096];
    size_t len;
    shmchop_segment_status st;
    void *base;
    size_t msize;

    sct_name(name, sizeof(name), "short");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 1, 16, 1, false);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    ck_assert_int_eq(shmchop_writer_mapping(w, &base, &msize), 0);
    int32_t big = (int32_t)sz + 1000;
    memcpy((unsigned char *)base + 8, &big, 4); /* corrupt header field */
    shmchop_segment *seg = sct_reader(name, NULL);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st),
                     SHMCHOP_E_SEGMENT_SHORT);
    char want[64];
    snprintf(want, sizeof(want), "image size %d exceeds", big);
    ck_assert_msg(strstr(st.message, want) != NULL, "%s", st.message);
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* R1.17/R5.5: an unlocked write keeps the published seq (a reader's
 * sequence lock cannot see it coming), whatever seq the image carries;
 * the rest of the object is the image. store_u32 writes one aligned
 * word inside the object and refuses anything else. */
START_TEST(r1_17_unlocked_write_keeps_published_seq)
{
    char name[128];
    sct_img im;
    shmchop_writer_stats ws;
    void *base;
    size_t msize;
    uint64_t seq, fake = 12345;

    sct_name(name, sizeof(name), "unlocked");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 2, 8, 1, true);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_writer_get_stats(w, &ws);
    ck_assert_uint_eq(ws.seq, 2);
    sct_img_counter(&im, 2, 8, 2, true);
    memcpy(im.buf + SHMCHOP_OFF_EXT_SEQ, &fake, sizeof(fake));
    ck_assert_int_eq(shmchop_writer_write_unlocked(w, im.buf, sz), 0);
    ck_assert_int_eq(shmchop_writer_mapping(w, &base, &msize), 0);
    memcpy(&seq, (unsigned char *)base + SHMCHOP_OFF_EXT_SEQ, sizeof(seq));
    ck_assert_uint_eq(seq, 2);
    ck_assert_mem_eq(base, im.buf, SHMCHOP_OFF_EXT_SEQ);
    ck_assert_mem_eq((unsigned char *)base + SHMCHOP_OFF_EXT_SEQ + 8,
                     im.buf + SHMCHOP_OFF_EXT_SEQ + 8, sz - SHMCHOP_OFF_EXT_SEQ - 8);
    ck_assert_int_eq(shmchop_writer_store_u32(w, SHMCHOP_OFF_VERSION, 2u), 0);
    ck_assert_int_eq(((const unsigned char *)base)[SHMCHOP_OFF_VERSION], 2);
    ck_assert_int_eq(shmchop_writer_store_u32(w, sz - 2, 0), SHMCHOP_E_USAGE);
    ck_assert_int_eq(shmchop_writer_store_u32(w, 6, 0), SHMCHOP_E_USAGE);
    ck_assert_int_eq(shmchop_writer_store_u32(w, sz, 0), SHMCHOP_E_USAGE);
    shmchop_writer_close(w);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* R2.1/R2.9: a writer holding the data lock (live) makes a mutex-path
 * read fail with LOCK_TIMEOUT naming it, bounded; the seq-lock path is not
 * blocked by the mutex at all. */
/* The CRC the copy makes of the data area, a chunk at a time (SPEC 1.3,
 * R2.9: of the private copy), is the CRC of exactly those bytes, on both
 * paths and across chunk boundaries; a data area inside the extension
 * block gets none; validate uses it, so a wrong one shows. */
static void check_copy_crc(const char *name, uint32_t chans, uint32_t length, bool mutex_path)
{
    sct_img im;
    shmchop_segment_opts so = { .no_seqlock = mutex_path };
    shmchop_segment_status st;
    shmchop_header h;
    void *buf = NULL;
    size_t cap = 0, len = 0;

    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, chans, length, 3, true);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_segment *seg = sct_reader(name, &so);
    ck_assert_int_eq(shmchop_segment_read_grow(seg, &buf, &cap, &len, &st), 0);
    ck_assert(st.seqlock == !mutex_path);
    shmchop_header_decode(buf, &h);
    ck_assert_uint_eq(st.data_crc.off, (uint64_t)h.channel_data_offset);
    ck_assert_uint_eq(st.data_crc.len, (uint64_t)chans * length * 4);
    ck_assert_uint_eq(st.data_crc.crc,
                      shmchop_crc32c(0, (unsigned char *)buf + st.data_crc.off, st.data_crc.len));
    shmchop_image_view v = { .known_data_crc = st.data_crc };
    ck_assert_int_eq(shmchop_image_validate(buf, len, NULL, &v, NULL, NULL), 0);
    v.known_data_crc.crc ^= 1;
    ck_assert_int_eq(shmchop_image_validate(buf, len, NULL, &v, NULL, NULL), SHMCHOP_E_CHECKSUM);
    /* A header putting the data at 40, inside the block: nothing CRC'd. */
    const int32_t inside = 40;
    memcpy((unsigned char *)im.buf + SHMCHOP_OFF_DATA_OFFSET, &inside, sizeof(inside));
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    ck_assert_int_eq(shmchop_segment_read_grow(seg, &buf, &cap, &len, &st), 0);
    ck_assert_uint_eq(st.data_crc.len, 0);
    free(buf);
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    sct_img_free(&im);
}

START_TEST(r2_9_copy_crcs_its_data_area)
{
    char name[128];
    /* 4x32: one chunk; 8x20000: 640 KB, forty chunks of 16 KB. */
    static const uint32_t shapes[][2] = { { 4, 32 }, { 8, 20000 } };

    for (int i = 0; i < 2; i++) {
        for (int mutex_path = 0; mutex_path < 2; mutex_path++) {
            sct_name(name, sizeof(name), "crc");
            check_copy_crc(name, shapes[i][0], shapes[i][1], mutex_path);
            sct_cleanup(name);
        }
    }
}
END_TEST

/*
 * R1.17, R2.7: shmchop_segment_may_have_changed is false only while a read
 * would copy the frame the caller holds: before the first read, after a
 * publish, on the mutex path and after the writer detached it says true;
 * a probe interval elapsing makes it true too (the probes run in reads).
 */
START_TEST(r1_17_may_have_changed_only_when_a_read_would_bring_news)
{
    char name[128];
    sct_img im;
    unsigned char buf[4096];
    size_t len;
    shmchop_segment_status st;

    sct_name(name, sizeof(name), "peek");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 1, 16, 1, true);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_segment_opts po = { .probe_interval_ms = 60000 };
    shmchop_segment *seg = sct_reader(name, &po);
    shmchop_segment_opts mo = { .no_seqlock = true };
    shmchop_segment *mseg = sct_reader(name, &mo);
    ck_assert(shmchop_segment_may_have_changed(seg, 0)); /* not attached yet */
    /* The first read attaches; the info object is known healthy from the
     * second one on (check_info), and only then can it tell. */
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(shmchop_segment_may_have_changed(seg, st.seq));
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    uint64_t held = st.seq;
    ck_assert(!shmchop_segment_may_have_changed(seg, held));
    ck_assert(shmchop_segment_may_have_changed(seg, held + 2));
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    ck_assert(shmchop_segment_may_have_changed(seg, held));
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_uint_eq(st.seq, held + 2);
    ck_assert(!shmchop_segment_may_have_changed(seg, st.seq));
    /* The mutex path cannot tell. */
    ck_assert_int_eq(shmchop_segment_read(mseg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(shmchop_segment_may_have_changed(mseg, st.seq));
    /* The writer leaves: the info object says detach, a read would see it. */
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    shmchop_writer_close(w);
    ck_assert(shmchop_segment_may_have_changed(seg, st.seq));
    shmchop_segment_close(seg);
    shmchop_segment_close(mseg);
    /* A probe due makes it true even when nothing else moved. */
    w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_segment_opts fast = { .probe_interval_ms = 1 };
    seg = sct_reader(name, &fast);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
    struct timespec ms5 = { .tv_nsec = 5000000 };
    nanosleep(&ms5, NULL);
    ck_assert(shmchop_segment_may_have_changed(seg, st.seq));
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

START_TEST(r2_9_read_bounded_by_held_lock)
{
    char name[128];
    sct_img im;
    unsigned char buf[4096];
    size_t len;
    shmchop_segment_status st;

    sct_name(name, sizeof(name), "held");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 1, 16, 1, true);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    shmchop_segment_opts mo = { .no_seqlock = true, .lock_timeout_ms = 150 };
    shmchop_segment *mseg = sct_reader(name, &mo);
    shmchop_segment *sseg = sct_reader(name, NULL);
    ck_assert_int_eq(shmchop_segment_read(mseg, buf, sizeof(buf), &len, &st), 0);
    ck_assert_int_eq(shmchop_writer_lock(w, 0), 0);
    double t0 = sct_now_ms();
    ck_assert_int_eq(shmchop_segment_read(mseg, buf, sizeof(buf), &len, &st),
                     SHMCHOP_E_LOCK_TIMEOUT);
    double dt = sct_now_ms() - t0;
    ck_assert_msg(dt >= 140 && dt < 1500, "%.1f ms", dt);
    char want[64];
    snprintf(want, sizeof(want), "pid %d", (int)getpid());
    ck_assert_msg(strstr(st.message, want) != NULL, "%s", st.message);
    ck_assert(st.lock_wait_ms >= 140);
    shmchop_segment_stats ss;
    shmchop_segment_get_stats(mseg, &ss);
    ck_assert_uint_eq(ss.lock_timeouts_total, 1);
    ck_assert(ss.attached); /* a timeout keeps the attachment */
    ck_assert_int_eq(shmchop_segment_read(sseg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(st.seqlock);
    ck_assert_int_eq(shmchop_writer_unlock(w), 0);
    ck_assert_int_eq(shmchop_segment_read(mseg, buf, sizeof(buf), &len, &st), 0);
    ck_assert(!st.seqlock);
    shmchop_segment_close(mseg);
    shmchop_segment_close(sseg);
    shmchop_writer_close(w);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* R1.17 with R2.3b: a writer killed mid-publish leaves seq odd and the
 * lock held; the reader breaks the dead lock and reports the half-written
 * image as TORN instead of using it. */
START_TEST(r2_3b_writer_killed_mid_publish)
{
    char name[128];
    sct_img im;
    unsigned char buf[4096];
    size_t len;
    shmchop_segment_status st;
    sct_pipe ready;

    sct_name(name, sizeof(name), "midp");
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 1, 16, 1, true);
    sct_pipe_open(&ready);
    pid_t pid = sct_fork();
    if (pid == 0) {
        shmchop_writer_opts wo = { .initial_size = sz };
        shmchop_writer *w;
        void *base;
        size_t ms;
        if (shmchop_writer_open(name, &wo, &w, NULL, 0) != 0 ||
            shmchop_writer_publish(w, im.buf, sz) != 0 || shmchop_writer_lock(w, 0) != 0 ||
            shmchop_writer_mapping(w, &base, &ms) != 0)
            _exit(1);
        uint64_t odd = 3;
        memcpy((unsigned char *)base + 48, &odd, 8);
        sct_signal(&ready, 'r');
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    ck_assert_int_eq(sct_wait(&ready, 5000), 'r');
    sct_reap(pid, 5000);
    shmchop_segment *seg = sct_reader(name, NULL);
    double t0 = sct_now_ms();
    ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), SHMCHOP_E_TORN);
    ck_assert(sct_now_ms() - t0 < 1000);
    ck_assert_ptr_nonnull(strstr(st.message, "odd"));
    shmchop_segment_stats ss;
    shmchop_segment_get_stats(seg, &ss);
    ck_assert_uint_eq(ss.lock_breaks_total, 1);
    ck_assert_uint_ge(ss.torn_retries_total, 1);
    ck_assert_uint_eq(ss.seq_fallbacks_total, 1);
    shmchop_segment_close(seg);
    sct_pipe_close(&ready);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* ---- R2.11: names held by live and dead writers ----------------------- */

static pid_t spawn_writer(const char *name, bool ext, sct_pipe *ready)
{
    pid_t pid = sct_fork();
    if (pid == 0) {
        sct_img im;
        sct_img_init(&im);
        size_t sz = sct_img_counter(&im, 1, 8, 1, ext);
        shmchop_writer_opts wo = { .initial_size = sz };
        shmchop_writer *w;
        if (shmchop_writer_open(name, &wo, &w, NULL, 0) != 0 ||
            shmchop_writer_publish(w, im.buf, sz) != 0)
            _exit(1);
        sct_signal(ready, 'r');
        pause();
        _exit(0);
    }
    ck_assert_int_eq(sct_wait(ready, 5000), 'r');
    return pid;
}

/* R2.11: a live writer's name is "in use by pid X"; a dead writer's (with
 * or without the block) is cleaned and taken, and readers still attached
 * to the dead one's objects let go and follow (R2.7a). */
START_TEST(r2_11_live_owner_error_dead_owner_cleanup)
{
    char name[128], err[ERRLEN];
    sct_img im;
    unsigned char buf[4096];
    size_t len;
    shmchop_segment_status st;
    sct_pipe ready;

    sct_img_init(&im);
    sct_pipe_open(&ready);
    for (int ext = 1; ext >= 0; ext--) {
        sct_name(name, sizeof(name), "own");
        pid_t pid = spawn_writer(name, ext, &ready);
        size_t sz = sct_img_counter(&im, 2, 8, 77, true);
        shmchop_writer_opts wo = { .initial_size = sz };
        shmchop_writer *w = NULL;
        ck_assert_int_eq(shmchop_writer_open(name, &wo, &w, err, sizeof(err)),
                         SHMCHOP_E_NAME_IN_USE);
        char want[300];
        if (ext)
            snprintf(want, sizeof(want), "name %s is in use by pid %d", name, (int)pid);
        else
            snprintf(want, sizeof(want), "name %s is in use by a live writer", name);
        ck_assert_msg(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);

        shmchop_segment *seg = sct_reader(name, NULL);
        ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
        kill(pid, SIGKILL);
        sct_reap(pid, 5000);
        ck_assert_int_eq(shmchop_writer_open(name, &wo, &w, err, sizeof(err)), 0);
        ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
        /* The reader mapped the dead writer's objects: detach tells it. */
        ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st),
                         SHMCHOP_E_DETACHED);
        ck_assert_int_eq(shmchop_segment_read(seg, buf, sizeof(buf), &len, &st), 0);
        shmchop_chop chop;
        uint64_t frame;
        shmchop_chop_init(&chop);
        ck_assert_int_eq(sct_verify_copy(buf, len, &chop, &frame, NULL), 0);
        ck_assert_uint_eq(frame, 77);
        shmchop_chop_free(&chop);
        shmchop_segment_close(seg);
        /* Ourselves holding it: a second writer in this process is refused. */
        shmchop_writer *w2 = NULL;
        ck_assert_int_eq(shmchop_writer_open(name, &wo, &w2, err, sizeof(err)),
                         SHMCHOP_E_NAME_IN_USE);
        /* An abandoned writer ("leave stale objects") is dead. */
        shmchop_writer_abandon(w);
        ck_assert_int_eq(shmchop_writer_open(name, &wo, &w2, err, sizeof(err)), 0);
        shmchop_writer_close(w2);
        sct_cleanup(name);
    }
    sct_pipe_close(&ready);
    sct_img_free(&im);
}
END_TEST

/* ---- ls / gc ---------------------------------------------------------- */

struct list_ctx {
    const char *want;
    bool found;
    shmchop_shm_status st;
};

static int list_cb(const shmchop_shm_status *st, void *arg)
{
    struct list_ctx *c = arg;
    if (strcmp(st->name, c->want) == 0) {
        c->found = true;
        c->st = *st;
    }
    return 0;
}

static void gc_cb(const char *object, const char *why, void *arg)
{
    (void)object;
    (void)why;
    (*(unsigned *)arg)++;
}

/* R2.2/R2.3b/R2.8 admin: inspect/list see a name; gc leaves a live one,
 * removes a dead one's objects; break-lock clears a held lock. */
START_TEST(r2_8_inspect_list_gc_break_lock)
{
    char name[128], err[ERRLEN];
    sct_img im;
    shmchop_shm_status st;
    sct_pipe ready;
    unsigned removed = 0, seen = 0, broken = 0;

    sct_name(name, sizeof(name), "gc");
    sct_img_init(&im);
    sct_pipe_open(&ready);
    pid_t pid = spawn_writer(name, true, &ready);
    ck_assert_int_eq(shmchop_shm_inspect(name, &st, err, sizeof(err)), 0);
    ck_assert(st.info && st.info_valid && st.data);
    ck_assert_int_eq(st.writer_alive, 1);
    ck_assert_uint_eq(st.writer_pid, (uint32_t)pid);
    ck_assert(st.data_mutex.exists && st.data_mutex.ready && !st.data_mutex.locked);
    ck_assert_uint_eq(st.data_mutex.size, 128);
    struct list_ctx lc = { .want = name };
    ck_assert_int_eq(shmchop_shm_list(list_cb, &lc, err, sizeof(err)), 0);
    ck_assert(lc.found);
    ck_assert_int_eq(lc.st.writer_alive, 1);
    ck_assert_int_eq(shmchop_shm_gc(name, false, gc_cb, &seen, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 0);

    /* Dead, with the data lock held by a dead process. */
    shmchop__mutex m;
    char obj[256];
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    open_mx(&m, obj);
    m.obj->c.locked = true;
    m.obj->holder_pid = (uint32_t)pid;
    kill(pid, SIGKILL);
    sct_reap(pid, 5000);
    ck_assert_int_eq(shmchop_shm_inspect(name, &st, err, sizeof(err)), 0);
    ck_assert_int_eq(st.writer_alive, 0);
    ck_assert(st.data_mutex.locked);
    ck_assert_int_eq(st.data_mutex.holder_alive, 0);
    ck_assert_int_eq(shmchop_shm_break_lock(name, &broken, err, sizeof(err)), 0);
    ck_assert_uint_eq(broken, 1);
    ck_assert(!m.obj->c.locked);
    shmchop__mutex_close(&m);
    ck_assert_int_eq(shmchop_shm_gc(name, true, gc_cb, &seen, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 4);
    ck_assert_int_eq(shmchop_shm_inspect(name, &st, err, sizeof(err)), 0);
    ck_assert(st.info); /* dry run removed nothing */
    ck_assert_int_eq(shmchop_shm_gc(name, false, gc_cb, &seen, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 4);
    ck_assert_uint_eq(seen, 8);
    ck_assert_uint_eq(sct_sweep(name, false, true), 0);
    sct_pipe_close(&ready);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

SCT_FINAL_SWEEP_TEST

static Suite *segment_suite(void)
{
    Suite *s = suite_create("segment");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, r2_names_of_the_four_objects);
    tcase_add_test(tc, r2_name_rules);
    tcase_add_test(tc, r2_bad_name_fails_before_any_system_call);
    suite_add_tcase(s, tc);

    tc = tcase_create("mutex");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, r2_3a_struct_layout);
    tcase_add_test(tc, r2_2_creation_race);
    tcase_add_test(tc, r2_2_half_made_objects);
    tcase_add_test(tc, r2_1_live_holder_times_out_naming_pid);
    tcase_add_test(tc, r2_3b_dead_holder_is_broken);
    tcase_add_test(tc, r2_3a_start_time_tells_reused_pid);
    tcase_add_test(tc, r2_3a_eownerdead_is_repaired);
    tcase_add_test(tc, r2_3c_unlock_wakes_a_peer_waiting_on_cond);
    suite_add_tcase(s, tc);

    tc = tcase_create("protocol");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, r2_4_writer_objects_in_dev_shm);
    tcase_add_test(tc, r2_4_null_writer_options_are_defaults);
    tcase_add_test(tc, r2_11_mode_and_reader_checks);
    tcase_add_test(tc, r2_5_no_writer_creates_nothing);
    tcase_add_test(tc, r2_9_private_copy_and_capacity);
    tcase_add_test(tc, r2_6_resize_with_postfix);
    tcase_add_test(tc, r2_6_resize_without_support_keeps_the_name);
    tcase_add_test(tc, r2_7a_detach_then_new_writer_is_picked_up);
    tcase_add_test(tc, r2_7_changed_postfix_reattaches);
    tcase_add_test(tc, r2_7b_writer_liveness);
    tcase_add_test(tc, r2_9_read_bounded_by_held_lock);
    tcase_add_test(tc, r1_17_may_have_changed_only_when_a_read_would_bring_news);
    tcase_add_test(tc, r2_9_copy_crcs_its_data_area);
    tcase_add_test(tc, r2_3b_writer_killed_mid_publish);
    tcase_add_test(tc, r2_11_live_owner_error_dead_owner_cleanup);
    tcase_add_test(tc, r2_8_inspect_list_gc_break_lock);
    suite_add_tcase(s, tc);

    tc = tcase_create("faults");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, r2_10_sigbus_guard);
    tcase_add_test(tc, r2_10_truncate_under_reader);
    tcase_add_test(tc, r2_10_unlink_under_reader);
    tcase_add_test(tc, r2_10_size_beyond_object_is_short);
    tcase_add_test(tc, r1_17_unlocked_write_keeps_published_seq);
    suite_add_tcase(s, tc);

    tc = tcase_create("final");
    tcase_add_test(tc, final_nothing_left_in_dev_shm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    char tag[64];
    sct_init_runner();
    SRunner *sr = srunner_create(segment_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    /* Safety net after failures: remove whatever a failed test left. */
    sct_run_tag(tag, sizeof(tag));
    sct_sweep(tag, true, false);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
