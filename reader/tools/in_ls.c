/* SPDX-License-Identifier: MIT */
/* `shmchop-in ls`: list the live-segment objects in /dev/shm (SPEC 7, R2.2, R2.3b, R2.8). */
#include "in_commands.h"
#include "toolkit.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <shmchop/error.h>
#include <shmchop/segment.h>

static const char ls_usage[] =
    "Usage: shmchop-in ls [--json]\n"
    "\n"
    "List every Shared Mem Name that has objects in /dev/shm (SPEC section 2):\n"
    "its state, the writer's pid, and each object's kind, size, mode and owner.\n"
    "\n"
    "States: alive (a live writer holds the name: one of ours, or any process\n"
    "that maps its data object writable, R2.14), stale (objects of a writer\n"
    "that is gone: `gc` removes those nobody maps), idle (only the mutex\n"
    "objects, which a writer leaves behind on a clean exit, R2.8), unknown.\n"
    "\"in use by pid N\": a reader still maps the objects; \"foreign\": an object\n"
    "at the name's path is not what it should be (R2.12, R2.13), never touched.\n"
    "A global segment (SPEC 3) lists its entries on the line after its own.\n"
    "\n"
    "  --json   one JSON object: {\"names\": [{\"name\", \"state\", \"writer_pid\",\n"
    "           \"writer_alive\", \"in_use\", \"user_pid\", \"foreign\",\n"
    "           \"objects\": [{\"object\", \"kind\", \"size\",\n"
    "           \"mode\", \"owner\", ...}], ...}]}; a global segment's\n"
    "           object also has \"entries\": [entry names, table order]\n"
    "\n"
    "Exit status: 0 listed, 2 usage error or /dev/shm could not be read.\n";

/* ---- ls ---- */

/* The entry names of a global segment, collected for one name. */
typedef struct entry_list {
    bool json;
    json_t *arr;   /* --json */
    unsigned n;
} entry_list;

static int entry_one(const char *entry, void *arg)
{
    entry_list *l = arg;
    char shown[300];

    if (l->json)
        return tk_json_append(l->arr, tk_json_str(entry)) ? -ENOMEM : 0;
    tk_printable(shown, sizeof(shown), entry);
    printf("%s%s", l->n++ ? ", " : "  entries: ", shown);
    return 0;
}

/* A global segment's entries (SPEC 3): a line after the name's (human),
 * or o's "entries" array (JSON); nothing for a local segment or one whose
 * table cannot be read now. Returns 0 or -ENOMEM. */
static int ls_entries(const shmchop_shm_status *st, json_t *o)
{
    entry_list l = { .json = o != NULL };
    int rc;

    if (l.json && !(l.arr = json_array()))
        return -ENOMEM;
    rc = shmchop_shm_global_entries(st, entry_one, &l);
    if (!l.json) {
        if (rc == 0)
            printf("  entries: (none)\n");
        else if (l.n)
            putchar('\n');
        return 0;
    }
    if (rc < 0) {
        json_decref(l.arr);
        return rc == -ENOMEM ? -ENOMEM : 0;
    }
    return tk_json_set(o, "entries", l.arr) ? -ENOMEM : 0;
}

typedef struct ls_ctx {
    bool json;
    json_t *names; /* --json: the array being filled */
    unsigned count;
    int rc;        /* first failure inside the walk */
} ls_ctx;

static const char *state_of(const shmchop_shm_status *st)
{
    if (st->writer_alive == 1)
        return "alive";
    if (st->writer_alive < 0)
        return "unknown";
    if (st->info || st->data || st->stray_data)
        return "stale";
    return "idle";
}

/* What stat says about one object in /dev/shm. */
typedef struct obj_stat {
    bool ok;
    uint64_t size;
    unsigned mode;
    unsigned uid;
    char owner[64];
} obj_stat;

static void stat_object(const char *object, obj_stat *os)
{
    char path[SHMCHOP_SHM_OBJ_NAME_SIZE + sizeof(SHMCHOP_SHM_DIR) + 1];
    struct passwd pw, *res = NULL;
    char pwbuf[1024];
    struct stat sb;

    memset(os, 0, sizeof(*os));
    snprintf(path, sizeof(path), "%s/%s", SHMCHOP_SHM_DIR, object);
    if (lstat(path, &sb) != 0)
        return;
    os->ok = true;
    os->size = (uint64_t)sb.st_size;
    os->mode = (unsigned)sb.st_mode & 07777u;
    os->uid = (unsigned)sb.st_uid;
    if (getpwuid_r(sb.st_uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
        snprintf(os->owner, sizeof(os->owner), "%s", pw.pw_name);
    else
        snprintf(os->owner, sizeof(os->owner), "%u", os->uid);
}

/* The objects of one name: kind, object name, and its lock state (mutexes). */
typedef struct obj_row {
    const char *kind;
    const char *object;
    const shmchop_shm_lock_state *lock; /* NULL for data and info */
} obj_row;

static unsigned object_rows(const shmchop_shm_status *st, const shmchop_shm_names *nn,
                            obj_row rows[4])
{
    unsigned n = 0;

    if (st->data)
        rows[n++] = (obj_row){ "data", st->data_name, NULL };
    if (st->info)
        rows[n++] = (obj_row){ "info", nn->info, NULL };
    if (st->data_mutex.exists)
        rows[n++] = (obj_row){ "data-mutex", nn->data_mutex, &st->data_mutex };
    if (st->info_mutex.exists)
        rows[n++] = (obj_row){ "info-mutex", nn->info_mutex, &st->info_mutex };
    return n;
}

static const char *alive_word(int alive)
{
    return alive == 1 ? "alive" : alive == 0 ? "dead" : "unknown";
}

void in_lock_note(const shmchop_shm_lock_state *ls, char *out, size_t len)
{
    if (!ls->ready)
        snprintf(out, len, "not initialised");
    else if (!ls->locked)
        snprintf(out, len, "free");
    else if (ls->holder_pid)
        snprintf(out, len, "locked by pid %" PRIu32 " (%s)", ls->holder_pid,
                 alive_word(ls->holder_alive));
    else
        snprintf(out, len, "locked (holder unknown)");
}

static void ls_print_name(const shmchop_shm_status *st, const shmchop_shm_names *nn)
{
    obj_row rows[4];
    unsigned n = object_rows(st, nn, rows);
    char writer[32], note[96];

    if (st->writer_pid)
        snprintf(writer, sizeof(writer), "%" PRIu32, st->writer_pid);
    else
        snprintf(writer, sizeof(writer), "-");
    printf("%s  %s  writer %s", st->name, state_of(st), writer);
    if (st->postfix[0])
        printf("  postfix %s", st->postfix);
    if (st->detach)
        printf("  detach");
    if (st->stray_data)
        printf("  %u stray data object%s", st->stray_data, st->stray_data == 1 ? "" : "s");
    if (st->in_use == 1 && st->writer_alive != 1)
        printf("  in use by pid %" PRIu32, st->user_pid);
    else if (st->in_use < 0)
        printf("  maybe in use by pid %" PRIu32 " (cannot look)", st->user_pid);
    putchar('\n');
    ls_entries(st, NULL);
    if (st->foreign)
        printf("  foreign: %s%s\n", st->foreign_why, st->foreign > 1 ? " (and more)" : "");
    for (unsigned i = 0; i < n; i++) {
        obj_stat os;
        stat_object(rows[i].object, &os);
        note[0] = '\0';
        if (rows[i].lock)
            in_lock_note(rows[i].lock, note, sizeof(note));
        if (!os.ok) {
            printf("  %-10s %s  (vanished)\n", rows[i].kind, rows[i].object);
            continue;
        }
        printf("  %-10s %10" PRIu64 "  %04o  %-8s  %s%s%s\n", rows[i].kind, os.size, os.mode,
               os.owner, rows[i].object, *note ? "  " : "", note);
    }
}

static json_t *ls_json_object(const obj_row *row)
{
    json_t *o = json_object();
    obj_stat os;
    char mode[8];

    if (!o)
        return NULL;
    stat_object(row->object, &os);
    snprintf(mode, sizeof(mode), "%04o", os.mode);
    if (tk_json_set(o, "object", tk_json_str(row->object)) ||
        tk_json_set(o, "kind", json_string(row->kind)) ||
        tk_json_set(o, "exists", json_boolean(os.ok)) ||
        tk_json_set(o, "size", os.ok ? tk_json_u64(os.size) : json_null()) ||
        tk_json_set(o, "mode", os.ok ? json_string(mode) : json_null()) ||
        tk_json_set(o, "uid", os.ok ? json_integer(os.uid) : json_null()) ||
        tk_json_set(o, "owner", os.ok ? tk_json_str(os.owner) : json_null()))
        goto fail;
    if (row->lock &&
        (tk_json_set(o, "ready", json_boolean(row->lock->ready)) ||
         tk_json_set(o, "locked", json_boolean(row->lock->locked)) ||
         tk_json_set(o, "holder_pid",
                     row->lock->holder_pid ? json_integer(row->lock->holder_pid) : json_null()) ||
         tk_json_set(o, "holder_alive", json_integer(row->lock->holder_alive))))
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *ls_json_name(const shmchop_shm_status *st, const shmchop_shm_names *nn)
{
    json_t *o = json_object(), *objs = json_array();
    obj_row rows[4];
    unsigned n = object_rows(st, nn, rows);

    if (!o || !objs)
        goto fail;
    for (unsigned i = 0; i < n; i++)
        if (tk_json_append(objs, ls_json_object(&rows[i])))
            goto fail;
    if (tk_json_set(o, "name", tk_json_str(st->name)) ||
        tk_json_set(o, "state", json_string(state_of(st))) ||
        tk_json_set(o, "writer_pid", st->writer_pid ? json_integer(st->writer_pid) : json_null()) ||
        tk_json_set(o, "writer_alive", json_integer(st->writer_alive)) ||
        tk_json_set(o, "info_valid", json_boolean(st->info_valid)) ||
        tk_json_set(o, "supported", json_boolean(st->supported)) ||
        tk_json_set(o, "detach", json_boolean(st->detach)) ||
        tk_json_set(o, "postfix", tk_json_str(st->postfix)) ||
        tk_json_set(o, "data_size", st->data ? tk_json_u64(st->data_size) : json_null()) ||
        tk_json_set(o, "stray_data", json_integer(st->stray_data)) ||
        tk_json_set(o, "in_use", json_integer(st->in_use)) ||
        tk_json_set(o, "user_pid", st->user_pid ? json_integer(st->user_pid) : json_null()) ||
        tk_json_set(o, "foreign", json_integer(st->foreign)) ||
        tk_json_set(o, "foreign_why", st->foreign ? tk_json_str(st->foreign_why) : json_null()))
        goto fail;
    if (tk_json_set(o, "objects", objs))
        goto fail_o;
    if (ls_entries(st, o))
        goto fail_o;
    return o;
fail:
    json_decref(objs);
fail_o:
    json_decref(o);
    return NULL;
}

static int ls_one(const shmchop_shm_status *st, void *arg)
{
    ls_ctx *c = arg;
    shmchop_shm_names nn;

    if (shmchop_shm_names_make(st->name, st->postfix, &nn, NULL, 0) != 0 &&
        shmchop_shm_names_make(st->name, NULL, &nn, NULL, 0) != 0)
        return 0; /* cannot happen: the walk only yields valid names */
    c->count++;
    if (!c->json) {
        ls_print_name(st, &nn);
        return 0;
    }
    if (tk_json_append(c->names, ls_json_name(st, &nn))) {
        c->rc = -ENOMEM;
        return -ENOMEM;
    }
    return 0;
}

static int ls_parse(int argc, char **argv, bool *json)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            *json = true;
            break;
        case 'h':
            fputs(ls_usage, stdout);
            return -1;
        default:
            return tk_getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return tk_usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}

int in_ls_main(int argc, char **argv)
{
    ls_ctx c = { 0 };
    char err[SHMCHOP_MESSAGE_MAX];
    json_t *root = NULL;
    int rc = ls_parse(argc, argv, &c.json);

    if (rc)
        return rc < 0 ? TK_EXIT_OK : rc;
    if (c.json) {
        root = json_object();
        c.names = json_array();
        if (!root || !c.names || tk_json_set(root, "names", c.names)) {
            json_decref(root);
            tk_error("out of memory");
            return TK_EXIT_USAGE;
        }
    }
    err[0] = '\0';
    rc = shmchop_shm_list(ls_one, &c, err, sizeof(err));
    if (rc) {
        tk_error("%s", *err ? err : shmchop_strerror(rc));
        json_decref(root);
        return TK_EXIT_USAGE;
    }
    if (c.json) {
        rc = tk_json_print(root);
        json_decref(root);
        if (rc) {
            tk_error("out of memory or write error printing JSON");
            return TK_EXIT_USAGE;
        }
    } else if (c.count == 0) {
        printf("no shared memory CHOP objects in %s\n", SHMCHOP_SHM_DIR);
    }
    return TK_EXIT_OK;
}
