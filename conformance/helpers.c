/* SPDX-License-Identifier: MIT */
/* Shared helpers of the conformance suites: files, temp dirs, child processes, the vector manifest. */
#include "helpers.h"

#include <sys/mman.h>
#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/error.h>

extern char **environ;

#define TH_DEFAULT_TIMEOUT_MS 10000
#define TH_DEFAULT_CAPTURE_MAX ((size_t)64 << 20)

/* ---- files ------------------------------------------------------------ */

int th_read_file(const char *path, uint8_t **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        if (n + 1 >= cap) {
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb)
                goto fail_nomem;
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = -errno;
            free(b);
            close(fd);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;

fail_nomem:
    free(b);
    close(fd);
    return -ENOMEM;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int th_write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, buf, len);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

int th_path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    return 0;
}

/* ---- temp dirs and unique names ------------------------------------------ */

int th_make_temp_dir(char *out, size_t cap, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(out, cap, "%s/shmchop-%s-%ld-XXXXXX", tmp, tag ? tag : "test",
                     (long)getpid());
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    if (!mkdtemp(out))
        return -errno;
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = (type == FTW_DP) ? rmdir(path) : unlink(path);
    return rc < 0 && errno != ENOENT ? -1 : 0;
}

int th_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return errno ? -errno : -EIO;
    return 0;
}

int th_unique_name(char *out, size_t cap, const char *prefix)
{
    static unsigned counter;
    int n = snprintf(out, cap, "%s%ldx%u", prefix ? prefix : "", (long)getpid(), counter++);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    return 0;
}

/* ---- paths ---------------------------------------------------------------- */

int th_tool_path(char *out, size_t cap, const char *tool)
{
    return th_path_join(out, cap, SHMCHOP_BIN_DIR, tool);
}

int th_vector_path(char *out, size_t cap, const char *file)
{
    return th_path_join(out, cap, SHMCHOP_VECTORS_DIR, file);
}

/* ---- running programs ------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* A growable capture buffer that keeps at most `max` bytes. */
typedef struct capture {
    char *buf;
    size_t len, cap, max;
} capture;

static int capture_init(capture *c, size_t max)
{
    c->cap = 256;
    c->len = 0;
    c->max = max;
    c->buf = malloc(c->cap);
    if (!c->buf)
        return -ENOMEM;
    c->buf[0] = 0;
    return 0;
}

static int capture_add(capture *c, const char *data, size_t n)
{
    if (c->len + n > c->max)
        n = c->max - c->len; /* the rest is drained and dropped */
    if (c->len + n + 1 > c->cap) {
        size_t nc = c->cap;
        while (c->len + n + 1 > nc)
            nc *= 2;
        char *nb = realloc(c->buf, nc);
        if (!nb)
            return -ENOMEM;
        c->buf = nb;
        c->cap = nc;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    c->buf[c->len] = 0;
    return 0;
}

/* In the child: apply "K=V" overrides on top of the inherited environment. */
static void child_apply_env(const char *const *env)
{
    for (; env && *env; env++) {
        char kv[4096];
        snprintf(kv, sizeof kv, "%s", *env);
        char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        *eq = 0;
        setenv(kv, eq + 1, 1);
    }
}

/* In the child: point fd `target` at `fd`, or at /dev/null when fd < 0. */
static void child_redirect(int fd, int target, int flags)
{
    if (fd < 0)
        fd = open("/dev/null", flags);
    if (fd >= 0 && fd != target) {
        dup2(fd, target);
        close(fd);
    }
}

static void child_exec(const char *const argv[])
{
    execv(argv[0], (char *const *)argv);
    /* Report the exec failure the way a shell would. */
    dprintf(STDERR_FILENO, "th_run: cannot execute %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static void fill_result(th_proc_result *res, int status)
{
    res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    res->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* Close *fd when open and mark it closed. */
static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Read what is ready on *fd into c; close it at end of file. */
static int drain_ready(int *fd, capture *c)
{
    char chunk[65536];
    ssize_t got = read(*fd, chunk, sizeof chunk);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (got <= 0) {
        close_fd(fd);
        return 0;
    }
    return capture_add(c, chunk, (size_t)got);
}

/* Feed the child's stdin; close it when all is written or the child left. */
static void feed_ready(int *fd, const uint8_t *in, size_t in_len, size_t *off, short revents)
{
    ssize_t w = (revents & POLLOUT) ? write(*fd, in + *off, in_len - *off) : -1;
    if (w > 0)
        *off += (size_t)w;
    else if (w < 0 && errno != EINTR && errno != EAGAIN)
        *off = in_len; /* child closed its stdin: stop feeding */
    if (*off >= in_len)
        close_fd(fd);
}

/*
 * Pump the pipes until stdout and stderr both reach end of file (0), the
 * deadline passes (1) or something fails (-errno). Finished fds are closed
 * and set to -1.
 */
static int pump(int fds[3], const uint8_t *in, size_t in_len, capture *out, capture *err,
                int64_t deadline)
{
    size_t in_off = 0;
    capture *caps[2] = {out, err};
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[3];
        for (int k = 0; k < 3; k++)
            p[k] = (struct pollfd){.fd = fds[k], .events = k < 2 ? POLLIN : POLLOUT};
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 1;
        int r = poll(p, 3, (int)(left > 1000 ? 1000 : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        for (int k = 0; k < 2; k++) {
            if (fds[k] < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (drain_ready(&fds[k], caps[k]) < 0)
                return -ENOMEM;
        }
        if (fds[2] >= 0 && p[2].revents)
            feed_ready(&fds[2], in, in_len, &in_off, p[2].revents);
    }
    return 0;
}

/* Wait for pid until deadline; on timeout SIGKILL its group and reap. */
static int reap_by(pid_t pid, int64_t deadline, th_proc_result *res)
{
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            fill_result(res, status);
            return 0;
        }
        if (w < 0 && errno != EINTR)
            return -errno;
        if (now_ms() >= deadline)
            break;
        sleep_ms(2);
    }
    res->timed_out = true;
    int st = th_kill_reap(pid);
    if (st < 0)
        return st;
    fill_result(res, st);
    return 0;
}

/* The child side of th_run(): never returns. */
static void run_child(const char *const argv[], int po[2], int pe[2], int pi[2],
                      const char *const *env)
{
    setpgid(0, 0);
    close_fd(&po[0]);
    close_fd(&pe[0]);
    close_fd(&pi[1]);
    child_redirect(pi[0], STDIN_FILENO, O_RDONLY);
    child_redirect(po[1], STDOUT_FILENO, O_WRONLY);
    child_redirect(pe[1], STDERR_FILENO, O_WRONLY);
    child_apply_env(env);
    child_exec(argv);
}

int th_run(const char *const argv[], const th_run_opts *opts, th_proc_result *res)
{
    th_run_opts o = opts ? *opts : (th_run_opts){0};
    int timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : TH_DEFAULT_TIMEOUT_MS;
    size_t cap_max = o.capture_max ? o.capture_max : TH_DEFAULT_CAPTURE_MAX;
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, pi[2] = {-1, -1};
    capture out = {0}, err = {0};
    int rc;

    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    if ((rc = capture_init(&out, cap_max)) < 0 || (rc = capture_init(&err, cap_max)) < 0)
        goto done;
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 ||
        (o.stdin_data && pipe2(pi, O_CLOEXEC) < 0)) {
        rc = -errno;
        goto done;
    }
    /* A child that exits before reading its stdin must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    int64_t deadline = now_ms() + timeout_ms;
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        goto done;
    }
    if (pid == 0)
        run_child(argv, po, pe, pi, o.env);
    setpgid(pid, pid); /* also here, so an early kill cannot miss the group */
    close_fd(&po[1]);
    close_fd(&pe[1]);
    close_fd(&pi[0]);
    if (pi[1] >= 0)
        fcntl(pi[1], F_SETFL, O_NONBLOCK);
    int fds[3] = {po[0], pe[0], pi[1]};
    int pr = pump(fds, o.stdin_data, o.stdin_len, &out, &err, deadline);
    po[0] = fds[0];
    pe[0] = fds[1];
    pi[1] = fds[2];
    /* Timed out or failed while reading: kill at once rather than wait. */
    rc = reap_by(pid, pr == 0 ? deadline : now_ms(), res);
    if (pr < 0 && rc == 0)
        rc = pr;
done:
    for (int i = 0; i < 2; i++) {
        close_fd(&po[i]);
        close_fd(&pe[i]);
        close_fd(&pi[i]);
    }
    res->out = out.buf;
    res->out_len = out.len;
    res->err = err.buf;
    res->err_len = err.len;
    if (rc < 0) {
        th_proc_result_free(res);
        res->exit_code = -1;
    }
    return rc;
}

void th_proc_result_free(th_proc_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

int th_spawn(const char *const argv[], const char *out_path, const char *err_path, pid_t *pid)
{
    pid_t p = fork();
    if (p < 0)
        return -errno;
    if (p == 0) {
        setpgid(0, 0);
        int ofd = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
        int efd = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
        child_redirect(-1, STDIN_FILENO, O_RDONLY);
        child_redirect(ofd, STDOUT_FILENO, O_WRONLY);
        child_redirect(efd, STDERR_FILENO, O_WRONLY);
        child_exec(argv);
    }
    setpgid(p, p);
    *pid = p;
    return 0;
}

int th_wait_pid(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            if (status)
                *status = st;
            return 0;
        }
        if (w < 0 && errno != EINTR)
            return -errno;
        if (now_ms() >= deadline)
            return -ETIMEDOUT;
        sleep_ms(2);
    }
}

int th_kill_reap(pid_t pid)
{
    /* The group first (grandchildren), then the child itself in case it
     * left the group. */
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, 0);
        if (w == pid)
            return st;
        if (w < 0 && errno != EINTR)
            return -errno;
    }
}

/* ---- the manifest ---------------------------------------------------------- */

#define TH_XX_NAME(name, msg, rule) {#name, SHMCHOP_E_##name},
static const struct {
    const char *name;
    int code;
} th_codes[] = {SHMCHOP_ERRNO_MAP(TH_XX_NAME)};
#undef TH_XX_NAME

int th_code_from_name(const char *name)
{
    if (strcmp(name, "-") == 0)
        return 0;
    if (strncmp(name, "SHMCHOP_E_", 10) == 0)
        name += 10;
    for (size_t i = 0; i < sizeof th_codes / sizeof th_codes[0]; i++)
        if (strcmp(th_codes[i].name, name) == 0)
            return th_codes[i].code;
    return 1;
}

/* Split line in place at tabs into at most max fields; returns the count. */
static int split_tabs(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = 0;
        p = tab + 1;
    }
    return strchr(p, '\t') ? max + 1 : n;
}

static int copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

static int parse_warnings(th_vector *v, char *list)
{
    v->n_warnings = 0;
    if (strcmp(list, "-") == 0)
        return 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int code = th_code_from_name(tok);
        if (code >= 0 || v->n_warnings >= TH_MANIFEST_MAX_WARNINGS)
            return -1;
        v->warnings[v->n_warnings++] = code;
    }
    return 0;
}

static int parse_row(char *line, th_vector *v, char *err, size_t err_cap, size_t lineno)
{
    char *f[6];
    memset(v, 0, sizeof *v);
    if (split_tabs(line, f, 6) != 6) {
        snprintf(err, err_cap, "MANIFEST.tsv:%zu: expected 6 tab-separated columns", lineno);
        return -EINVAL;
    }
    if (copy_field(v->file, sizeof v->file, f[0]) < 0 ||
        copy_field(v->rule, sizeof v->rule, f[4]) < 0 ||
        copy_field(v->description, sizeof v->description, f[5]) < 0) {
        snprintf(err, err_cap, "MANIFEST.tsv:%zu: a column is too long", lineno);
        return -EINVAL;
    }
    if (strcmp(f[1], "valid") != 0 && strcmp(f[1], "invalid") != 0) {
        snprintf(err, err_cap, "MANIFEST.tsv:%zu: verdict '%s' is neither valid nor invalid",
                 lineno, f[1]);
        return -EINVAL;
    }
    v->valid = strcmp(f[1], "valid") == 0;
    v->error = th_code_from_name(f[2]);
    if (v->error > 0 || (v->valid != (v->error == 0))) {
        snprintf(err, err_cap, "MANIFEST.tsv:%zu: error '%s' is unknown or contradicts the verdict",
                 lineno, f[2]);
        return -EINVAL;
    }
    if (parse_warnings(v, f[3]) < 0) {
        snprintf(err, err_cap, "MANIFEST.tsv:%zu: bad warnings list", lineno);
        return -EINVAL;
    }
    return 0;
}

int th_manifest_load(const char *path, th_vector **rows, size_t *n, char *err, size_t err_cap)
{
    uint8_t *text;
    size_t len;
    int rc = th_read_file(path, &text, &len);
    if (rc < 0) {
        snprintf(err, err_cap, "%s: %s", path, strerror(-rc));
        return rc;
    }
    size_t cap = 16, count = 0, lineno = 0;
    th_vector *v = malloc(cap * sizeof *v);
    if (!v) {
        free(text);
        return -ENOMEM;
    }
    char *line = (char *)text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        lineno++;
        if (lineno > 1 && *line) { /* line 1 is the column header */
            if (count == cap) {
                th_vector *nv = realloc(v, cap * 2 * sizeof *v);
                if (!nv) {
                    rc = -ENOMEM;
                    goto fail;
                }
                v = nv;
                cap *= 2;
            }
            if ((rc = parse_row(line, &v[count], err, err_cap, lineno)) < 0)
                goto fail;
            count++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    *rows = v;
    *n = count;
    return 0;
fail:
    free(text);
    free(v);
    return rc;
}

int th_shm_find_tagged(const char *tag, char *first, size_t cap)
{
    struct dirent *de;
    DIR *d = opendir("/dev/shm");
    int found = 0;

    if (!d)
        return -errno;
    while (!found && (de = readdir(d)) != NULL)
        if (strstr(de->d_name, tag)) {
            snprintf(first, cap, "%s", de->d_name);
            found = 1;
        }
    closedir(d);
    return found;
}

unsigned th_shm_sweep_tagged(const char *tag)
{
    struct dirent *de;
    DIR *d = opendir("/dev/shm");
    unsigned n = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, tag) && shm_unlink(de->d_name) == 0)
            n++;
    closedir(d);
    return n;
}

int th_private_shm(unsigned size_kb)
{
    char opts[64];

    if (geteuid() != 0) {
        fprintf(stderr, "skip: planting hostile objects needs root (a private /dev/shm)\n");
        return 1;
    }
    if (unshare(CLONE_NEWNS) != 0) {
        fprintf(stderr, "skip: unshare(CLONE_NEWNS): %s\n", strerror(errno));
        return 1;
    }
    /* Nothing mounted here may propagate back to the machine. */
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        fprintf(stderr, "skip: making / private: %s\n", strerror(errno));
        return 1;
    }
    snprintf(opts, sizeof(opts), "size=%uk,mode=1777", size_kb);
    if (mount("shmchop-test", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
        fprintf(stderr, "skip: mounting a tmpfs on /dev/shm: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

pid_t th_fork_tied(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99); /* the parent died before the tie was made */
    }
    return pid;
}

bool th_shm_has_magic(const char *name, uint32_t magic)
{
    char path[400];
    uint32_t got = 0;
    int fd;
    bool ok;

    snprintf(path, sizeof(path), "/dev/shm/TouchSHM%s", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ok = pread(fd, &got, sizeof(got), 0) == (ssize_t)sizeof(got) && got == magic;
    close(fd);
    return ok;
}
