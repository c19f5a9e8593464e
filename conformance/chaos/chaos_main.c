/* SPDX-License-Identifier: MIT */
/* shmchop-chaos: runs the chaos scenarios under watchdogs and prints one summary line each plus a report. */
#include "chaos.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*scn_fn)(const chaos_cfg *cfg, chaos_result *r);

static void scn_writer_kill_ext(const chaos_cfg *c, chaos_result *r) { chaos_scn_writer_kill(c, r, true); }
static void scn_writer_kill_noext(const chaos_cfg *c, chaos_result *r) { chaos_scn_writer_kill(c, r, false); }

/* The scenarios, and each one's share of a --duration budget. */
static const struct scenario {
    const char *name;
    scn_fn fn;
    double share;
} scenarios[] = {
    { "writer-kill", scn_writer_kill_ext, 0.25 },
    { "writer-kill-noext", scn_writer_kill_noext, 0.25 },
    { "reader-kill", chaos_scn_reader_kill, 0.1 },
    { "adversary", chaos_scn_adversary, 0.2 },
    { "peer", chaos_scn_peer, 0.1 },
    { "full-shm", chaos_scn_full_shm, 0.02 },
    { "double-fetch", chaos_scn_double_fetch, 0.08 },
};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static const char usage[] =
    "Usage: shmchop-chaos [--soak] [--duration S] [--seconds S] [--seed N]\n"
    "                     [--writer-kills N] [--reader-kills N] [--actions N]\n"
    "                     [--peer-kills N] [--iterations N] SCENARIO...|all\n"
    "\n"
    "Scenarios: writer-kill, writer-kill-noext, reader-kill, adversary, peer,\n"
    "full-shm, double-fetch. Each runs in a child under a watchdog and prints one\n"
    "summary line; with several, a final report line follows. Counts default to\n"
    "the `make test` scale; --soak selects the `make soak` scale (10,000 writer\n"
    "kills, 100,000 adversary actions). --duration S shares S seconds among the\n"
    "scenarios run (a scenario stops its loop early when its share is spent);\n"
    "--seconds S gives each scenario S seconds. Exit 0 all passed (or skipped),\n"
    "1 any failed, 2 usage, 77 when every scenario run was skipped.\n";

typedef struct totals {
    unsigned run, passed, failed, skipped;
    chaos_result sum;
} totals;

static void print_line(const char *name, const chaos_result *r)
{
    const char *v = r->verdict == CHAOS_PASS ? "PASS" : r->verdict == CHAOS_SKIP ? "SKIP" : "FAIL";
    printf("chaos %s: %s kills=%llu recoveries=%llu frames=%llu torn=%llu corrupt=%llu "
           "deaths=%llu hangs=%llu actions=%llu errors=%llu restarts=%llu stall_ms=%.1f%s%s%s%s\n",
           name, v, (unsigned long long)r->kills, (unsigned long long)r->recoveries,
           (unsigned long long)r->frames, (unsigned long long)r->torn,
           (unsigned long long)r->corrupt, (unsigned long long)r->deaths,
           (unsigned long long)r->hangs, (unsigned long long)r->actions,
           (unsigned long long)r->errors, (unsigned long long)r->restarts, r->stall_ms,
           r->note[0] ? " [" : "", r->note, r->note[0] ? "]" : "",
           r->verdict != CHAOS_PASS ? "" : "");
    if (r->verdict != CHAOS_PASS)
        printf("chaos %s: %s: %s\n", name, v, r->reason);
    fflush(stdout);
}

/* Run one scenario in a child; the watchdog kills it (and, through the
 * death signal, whatever it started) past its bound. */
static void run_one(const struct scenario *s, chaos_cfg cfg, double seconds, chaos_result *r)
{
    cfg.seconds = seconds;
    memset(r, 0, sizeof(*r));
    pid_t pid = chaos_fork();
    if (pid == 0) {
        chaos_rand_seed(cfg.seed ^ (uint64_t)(uintptr_t)s->name);
        s->fn(&cfg, r);
        fflush(NULL);
        _exit(0);
    }
    unsigned bound = (unsigned)(seconds * 1e3) + 60000;
    int st = pid < 0 ? -1 : chaos_reap(pid, bound);
    if (st == -1)
        chaos_fail(r, "watchdog: still running after %u s, killed", bound / 1000);
    else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        chaos_fail(r, "the scenario process itself ended with status 0x%x", (unsigned)st);
    char first[256];
    if (th_shm_find_tagged(cfg.tag, first, sizeof(first)) > 0)
        chaos_fail(r, "%u objects of the scenario left in /dev/shm, first %s",
                   chaos_sweep(cfg.tag), first);
}

static void add(totals *t, const char *name, const chaos_result *r)
{
    t->run++;
    t->passed += r->verdict == CHAOS_PASS;
    t->failed += r->verdict == CHAOS_FAIL;
    t->skipped += r->verdict == CHAOS_SKIP;
    chaos_result *s = &t->sum;
    s->kills += r->kills;
    s->recoveries += r->recoveries;
    s->frames += r->frames;
    s->torn += r->torn;
    s->corrupt += r->corrupt;
    s->deaths += r->deaths;
    s->hangs += r->hangs;
    if (strcmp(name, "adversary") == 0)
        s->actions += r->actions;
    if (r->stall_ms > s->stall_ms)
        s->stall_ms = r->stall_ms;
}

static void report(const totals *t, double secs)
{
    const chaos_result *s = &t->sum;
    printf("chaos report: scenarios=%u passed=%u failed=%u skipped=%u kills=%llu "
           "recoveries=%llu frames=%llu torn=%llu corrupt=%llu deaths=%llu hangs=%llu "
           "adversary_actions=%llu longest_stall_ms=%.1f seconds=%.0f\n",
           t->run, t->passed, t->failed, t->skipped, (unsigned long long)s->kills,
           (unsigned long long)s->recoveries, (unsigned long long)s->frames,
           (unsigned long long)s->torn, (unsigned long long)s->corrupt,
           (unsigned long long)s->deaths, (unsigned long long)s->hangs,
           (unsigned long long)s->actions, s->stall_ms, secs);
}

static const struct scenario *find(const char *name)
{
    for (size_t i = 0; i < N_SCENARIOS; i++)
        if (strcmp(scenarios[i].name, name) == 0)
            return &scenarios[i];
    return NULL;
}

static void scale(chaos_cfg *c, bool soak)
{
    c->writer_kills = soak ? 5000 : 500; /* per ext variant: 10,000 / 1,000 in all */
    c->reader_kills = soak ? 3000 : 200;
    c->adversary_actions = soak ? 100000 : 3000;
    c->peer_kills = soak ? 300 : 20;
    c->doublefetch_iters = soak ? 10000000ul : 1000000ul;
    c->seconds = soak ? 600 : 60;
}

static int parse(int argc, char **argv, chaos_cfg *c, double *duration)
{
    static const struct option lo[] = {
        { "soak", no_argument, NULL, 'S' },        { "duration", required_argument, NULL, 'd' },
        { "seconds", required_argument, NULL, 's' }, { "seed", required_argument, NULL, 'r' },
        { "writer-kills", required_argument, NULL, 'w' },
        { "reader-kills", required_argument, NULL, 'k' },
        { "actions", required_argument, NULL, 'a' }, { "peer-kills", required_argument, NULL, 'p' },
        { "iterations", required_argument, NULL, 'i' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    scale(c, false);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--soak") == 0)
            scale(c, true);
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case 'S': break;
        case 'd': *duration = atof(optarg); break;
        case 's': c->seconds = atof(optarg); break;
        case 'r': c->seed = strtoull(optarg, NULL, 0); break;
        case 'w': c->writer_kills = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'k': c->reader_kills = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'a': c->adversary_actions = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'p': c->peer_kills = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'i': c->doublefetch_iters = strtoul(optarg, NULL, 0); break;
        case 'h': fputs(usage, stdout); exit(0);
        default: return -1;
        }
    }
    return optind < argc && c->seconds > 0 ? optind : -1;
}

int main(int argc, char **argv)
{
    chaos_cfg cfg = { .seed = 0 };
    double duration = 0, t0 = chaos_now_ms();
    totals t = { 0 };
    int first = parse(argc, argv, &cfg, &duration);
    if (first < 0) {
        fputs(usage, stderr);
        return 2;
    }
    if (!cfg.seed)
        cfg.seed = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)t0;
    snprintf(cfg.tag, sizeof(cfg.tag), "chx%ld_", (long)getpid());
    printf("chaos: seed %llu\n", (unsigned long long)cfg.seed);
    fflush(stdout);
    chaos_result *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                           -1, 0);
    if (r == MAP_FAILED)
        return 1;
    for (int i = first; i < argc; i++) {
        bool all = strcmp(argv[i], "all") == 0;
        for (size_t k = 0; k < N_SCENARIOS; k++) {
            const struct scenario *s = all ? &scenarios[k] : find(argv[i]);
            if (!s) {
                fprintf(stderr, "shmchop-chaos: unknown scenario '%s'\n", argv[i]);
                return 2;
            }
            run_one(s, cfg, duration > 0 ? duration * s->share : cfg.seconds, r);
            print_line(s->name, r);
            add(&t, s->name, r);
            if (!all)
                break;
        }
    }
    if (t.run > 1)
        report(&t, (chaos_now_ms() - t0) / 1e3);
    if (t.failed)
        return 1;
    return t.skipped == t.run ? CHAOS_SKIP : 0;
}
