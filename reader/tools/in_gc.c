/* SPDX-License-Identifier: MIT */
/* `shmchop-in gc`: remove the objects of writers that are gone, break stuck locks (SPEC 7, R2.2, R2.3b, R2.8). */
#include "in_commands.h"
#include "toolkit.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>
#include <shmchop/segment.h>

static const char gc_usage[] =
    "Usage: shmchop-in gc [--dry-run] [--break-lock NAME]... [--repair NAME]... [NAME...]\n"
    "\n"
    "Remove the objects nobody uses (SPEC R2.2, R2.8): for each NAME (every name\n"
    "in /dev/shm when none is given, and no --break-lock either) whose writer is\n"
    "gone, set detach in its info object so attached readers let go, then unlink\n"
    "its data objects (stray postfixed ones included), its info object, and its\n"
    "mutex objects when no live process holds them. A name held by a live\n"
    "writer is left alone.\n"
    "\n"
    "  --dry-run          say what would be removed (or broken), change nothing\n"
    "  --break-lock NAME  clear the data and info locks of NAME by hand, whoever\n"
    "                     holds them (R2.3b); repeatable. Without NAME arguments\n"
    "                     nothing else is collected.\n"
    "  --repair NAME      re-initialise the condition variables of NAME's mutex\n"
    "                     objects (after a waiter died inside pthread_cond_wait,\n"
    "                     R2.16), each only when no process maps it; repeatable.\n"
    "\n"
    "Exit status: 0 done, 1 something could not be removed or broken, 2 usage\n"
    "error.\n";

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static int names_add(name_list *l, const char *name)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **p = realloc(l->v, nc * sizeof(*p));
        if (!p)
            return -ENOMEM;
        l->v = p;
        l->cap = nc;
    }
    if (!(l->v[l->n] = strdup(name)))
        return -ENOMEM;
    l->n++;
    return 0;
}

static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int collect_name(const shmchop_shm_status *st, void *arg)
{
    return names_add(arg, st->name);
}

typedef struct gc_args {
    bool dry_run;
    const char **break_names;
    size_t n_break;
    const char **repair_names;
    size_t n_repair;
    name_list names; /* NAME arguments, or every name listed */
} gc_args;

static void gc_report(const char *object, const char *why, void *arg)
{
    const bool *dry_run = arg;

    printf("%s %s (%s)\n", *dry_run ? "would remove" : "removed", object, why);
}

/* Collect one name; returns 0, or 1 after a failure (reported). */
static int gc_one(const char *name, bool dry_run, unsigned *total)
{
    char err[SHMCHOP_MESSAGE_MAX] = "";
    shmchop_shm_status st;
    unsigned removed = 0;
    int rc;

    rc = shmchop_shm_inspect(name, &st, err, sizeof(err));
    if (rc == 0 && st.writer_alive == 1) {
        if (st.writer_pid)
            printf("%s: in use by live writer pid %" PRIu32 ", left alone\n", name,
                   st.writer_pid);
        else
            printf("%s: in use by a live writer, left alone\n", name);
        return 0;
    }
    if (rc == 0)
        rc = shmchop_shm_gc(name, dry_run, gc_report, &dry_run, &removed, err, sizeof(err));
    *total += removed;
    if (rc) {
        tk_error("%s", *err ? err : shmchop_strerror(rc));
        return 1;
    }
    return 0;
}

static int break_one(const char *name, bool dry_run)
{
    char err[SHMCHOP_MESSAGE_MAX] = "";
    shmchop_shm_status st;
    unsigned broken = 0;
    int rc;

    if (dry_run) {
        rc = shmchop_shm_inspect(name, &st, err, sizeof(err));
        if (rc == 0) {
            char dn[96], in[96];
            in_lock_note(&st.data_mutex, dn, sizeof(dn));
            in_lock_note(&st.info_mutex, in, sizeof(in));
            printf("%s: data mutex %s, info mutex %s (dry run: nothing broken)\n", name,
                   st.data_mutex.exists ? dn : "absent", st.info_mutex.exists ? in : "absent");
        }
    } else {
        rc = shmchop_shm_break_lock(name, &broken, err, sizeof(err));
        if (rc == 0)
            printf("%s: broke %u lock%s\n", name, broken, broken == 1 ? "" : "s");
    }
    if (rc) {
        tk_error("%s", *err ? err : shmchop_strerror(rc));
        return 1;
    }
    return 0;
}

static int repair_one_name(const char *name, bool dry_run)
{
    char err[SHMCHOP_MESSAGE_MAX] = "";
    unsigned repaired = 0;
    int rc;

    if (dry_run) {
        printf("%s: would repair the condition variables nobody uses (dry run)\n", name);
        return 0;
    }
    rc = shmchop_shm_repair(name, &repaired, err, sizeof(err));
    if (rc) {
        tk_error("%s", *err ? err : shmchop_strerror(rc));
        return 1;
    }
    printf("%s: repaired %u condition variable%s\n", name, repaired, repaired == 1 ? "" : "s");
    return 0;
}

/* Returns 0 to go on, -1 after --help, or TK_EXIT_USAGE. */
static int gc_parse(int argc, char **argv, gc_args *a)
{
    static const struct option opts[] = {
        { "dry-run", no_argument, NULL, 'n' },
        { "break-lock", required_argument, NULL, 'b' },
        { "repair", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char err[SHMCHOP_MESSAGE_MAX];
    int c;

    a->break_names = calloc((size_t)argc, sizeof(*a->break_names));
    a->repair_names = calloc((size_t)argc, sizeof(*a->repair_names));
    if (!a->break_names || !a->repair_names) {
        tk_error("out of memory");
        return TK_EXIT_USAGE;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            a->dry_run = true;
            break;
        case 'b':
            if (shmchop_shm_name_check(optarg, err, sizeof(err)))
                return tk_usage_error("--break-lock: %s", err);
            a->break_names[a->n_break++] = optarg;
            break;
        case 'r':
            if (shmchop_shm_name_check(optarg, err, sizeof(err)))
                return tk_usage_error("--repair: %s", err);
            a->repair_names[a->n_repair++] = optarg;
            break;
        case 'h':
            fputs(gc_usage, stdout);
            return -1;
        default:
            return tk_getopt_error(c, argv);
        }
    }
    for (; optind < argc; optind++) {
        if (shmchop_shm_name_check(argv[optind], err, sizeof(err)))
            return tk_usage_error("%s", err);
        if (names_add(&a->names, argv[optind])) {
            tk_error("out of memory");
            return TK_EXIT_USAGE;
        }
    }
    return 0;
}

static int gc_run(gc_args *a)
{
    char err[SHMCHOP_MESSAGE_MAX] = "";
    unsigned total = 0;
    int failed = 0, rc;

    for (size_t i = 0; i < a->n_break; i++)
        failed |= break_one(a->break_names[i], a->dry_run);
    for (size_t i = 0; i < a->n_repair; i++)
        failed |= repair_one_name(a->repair_names[i], a->dry_run);
    if ((a->n_break || a->n_repair) && a->names.n == 0)
        return failed ? TK_EXIT_INVALID : TK_EXIT_OK;
    if (a->names.n == 0) {
        rc = shmchop_shm_list(collect_name, &a->names, err, sizeof(err));
        if (rc) {
            tk_error("%s", *err ? err : shmchop_strerror(rc));
            return TK_EXIT_USAGE;
        }
    }
    for (size_t i = 0; i < a->names.n; i++)
        failed |= gc_one(a->names.v[i], a->dry_run, &total);
    printf("gc: %s %u object%s of %zu name%s\n", a->dry_run ? "would remove" : "removed", total,
           total == 1 ? "" : "s", a->names.n, a->names.n == 1 ? "" : "s");
    return failed ? TK_EXIT_INVALID : TK_EXIT_OK;
}

int in_gc_main(int argc, char **argv)
{
    gc_args a = { 0 };
    int rc = gc_parse(argc, argv, &a);

    if (rc == 0)
        rc = gc_run(&a);
    else if (rc < 0)
        rc = TK_EXIT_OK;
    names_free(&a.names);
    free(a.break_names);
    free(a.repair_names);
    return rc;
}
