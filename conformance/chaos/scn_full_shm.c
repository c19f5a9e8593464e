/* SPDX-License-Identifier: MIT */
/* Chaos scenario: a full /dev/shm (a small private tmpfs): every tool fails clearly, nothing crashes, nothing half-made is left (R2.15). */
#include "chaos.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMPFS_BYTES (256 * 1024)
#define FILLER "/dev/shm/chaos-filler"

/* A private mount namespace with its own small tmpfs on /dev/shm: the
 * machine's /dev/shm (and the other engineers' tests) never see it. */
static int private_dev_shm(char *why, size_t cap)
{
    if (geteuid() != 0) {
        snprintf(why, cap, "not root: a private tmpfs on /dev/shm needs CAP_SYS_ADMIN");
        return -1;
    }
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=256k,mode=1777") != 0) {
        snprintf(why, cap, "no private mount namespace: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Fill the tmpfs up to all but `leave` bytes. */
static void fill(size_t leave)
{
    static char block[4096];
    unlink(FILLER);
    int fd = open(FILLER, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return;
    size_t total = 0;
    while (write(fd, block, sizeof(block)) == (ssize_t)sizeof(block))
        total += sizeof(block);
    close(fd);
    if (leave)
        if (truncate(FILLER, total > leave ? (off_t)(total - leave) : 0) != 0)
            unlink(FILLER);
}

/* A tool run: must end by itself (no hang, no signal) with `want` and a
 * message on stderr containing `needle` (when not NULL). */
static void expect_tool(chaos_result *r, const char *what, const char *const argv[], int want,
                        const char *needle)
{
    char errf[256], line[200];
    chaos_tmp_path("full-err", errf, sizeof(errf));
    int st = chaos_reap(chaos_spawn(argv, NULL, errf, -1), 10000);
    chaos_first_line(errf, line, sizeof(line));
    char *all = chaos_slurp(errf);
    r->actions++;
    if (st == -1) {
        r->hangs++;
        chaos_fail(r, "%s: hung on a full /dev/shm", what);
    } else if (WIFSIGNALED(st)) {
        r->deaths++;
        chaos_fail(r, "%s: died of signal %d (%s) on a full /dev/shm (R2.15)", what, WTERMSIG(st),
                   strsignal(WTERMSIG(st)));
    } else if (WEXITSTATUS(st) != want) {
        chaos_fail(r, "%s: exit %d, want %d: %s", what, WEXITSTATUS(st), want, line);
    } else if (needle && (!all || !strstr(all, needle))) {
        chaos_fail(r, "%s: no clear error (want \"%s\"), stderr: %s", what, needle, line);
    }
    free(all);
    unlink(errf);
}

/* Nothing half-made: no data or info object of `name`; a mutex object left
 * must be whole (96 or 128 bytes). */
static void expect_nothing_half_made(chaos_result *r, const char *what, const char *name)
{
    char obj[4][320];
    struct stat sb;
    snprintf(obj[0], sizeof(obj[0]), "/dev/shm/TouchSHM%s", name);
    snprintf(obj[1], sizeof(obj[1]), "/dev/shm/TouchSHMTouchSHM%s4jhd783h", name);
    snprintf(obj[2], sizeof(obj[2]), "/dev/shm/TouchSHM%sMutex", name);
    snprintf(obj[3], sizeof(obj[3]), "/dev/shm/TouchSHMTouchSHM%s4jhd783hMutex", name);
    for (int i = 0; i < 4; i++) {
        if (stat(obj[i], &sb) != 0 || (i >= 2 && (sb.st_size == 96 || sb.st_size == 128)))
            continue;
        chaos_fail(r, "%s: %s left behind half-made (%lld bytes) by a failed creation (R2.15)",
                   what, obj[i] + 9, (long long)sb.st_size);
    }
}

static void writer_cases(const chaos_cfg *cfg, chaos_result *r)
{
    char name[128];
    /* 64 x 4096 floats: a 1 MiB image, four times the whole tmpfs. */
    chaos_name(cfg, "full", name, sizeof(name));
    const char *big[] = { "shmchop-out", "run", "--name", name, "--chans", "64", "--length",
                          "4096", "--frames", "3", "--fps", "100", NULL };
    fill(0);
    expect_tool(r, "run on a full /dev/shm", big, 1, "no space");
    expect_nothing_half_made(r, "run on a full /dev/shm", name);
    fill(16 * 1024); /* room for the small objects, not for the data */
    expect_tool(r, "run with 16 KiB free", big, 1, "no space");
    expect_nothing_half_made(r, "run with 16 KiB free", name);
    fill(64 * 1024);
    chaos_name(cfg, "fullrs", name, sizeof(name));
    const char *grow[] = { "shmchop-out", "run", "--name", name, "--frames", "20", "--fps",
                           "200", "--fault", "resize:5:64:4096", NULL };
    expect_tool(r, "run resizing into a full /dev/shm", grow, 1, "no space");
    chaos_sweep(name);
}

static void reader_cases(const chaos_cfg *cfg, chaos_result *r)
{
    char name[128];
    chaos_name(cfg, "fullrd", name, sizeof(name));
    fill(0);
    const char *watch[] = { "shmchop-in", "watch", name, "--frames", "3", "--fps", "50", "--json",
                            NULL };
    expect_tool(r, "watch on a full /dev/shm", watch, 0, NULL);
    expect_nothing_half_made(r, "watch on a full /dev/shm", name);
    const char *check[] = { "shmchop-in", "check", name, NULL };
    /* Nothing to check: exit 2 ("could not check at all", README design notes). */
    expect_tool(r, "check on a full /dev/shm", check, 2, "no writer");
    const char *ls[] = { "shmchop-in", "ls", NULL };
    expect_tool(r, "ls on a full /dev/shm", ls, 0, NULL);
    const char *gc[] = { "shmchop-in", "gc", name, NULL };
    expect_tool(r, "gc NAME on a full /dev/shm", gc, 0, NULL);
    const char *img[] = { "shmchop-out", "image", "-o", "/dev/shm/chaos-full.img", "--chans",
                          "64", "--length", "4096", NULL };
    expect_tool(r, "image -o onto a full tmpfs", img, 2, "No space left");
    struct stat sb;
    if (stat("/dev/shm/chaos-full.img", &sb) == 0)
        chaos_fail(r, "image -o left a half-written file of %lld bytes (R2.17)",
                   (long long)sb.st_size);
}

void chaos_scn_full_shm(const chaos_cfg *cfg, chaos_result *r)
{
    char why[200];
    pid_t pid = chaos_fork();
    if (pid == 0) {
        /* In the child only: the namespace and the tmpfs end with it. */
        if (private_dev_shm(why, sizeof(why)) != 0) {
            r->verdict = CHAOS_SKIP;
            snprintf(r->reason, sizeof(r->reason), "%s", why);
            _exit(0);
        }
        writer_cases(cfg, r);
        reader_cases(cfg, r);
        unlink(FILLER);
        _exit(0);
    }
    int st = chaos_reap(pid, (unsigned)(cfg->seconds * 1e3) + 30000);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        chaos_fail(r, "the private-namespace child ended with status 0x%x", (unsigned)st);
}
