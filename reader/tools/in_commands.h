/* SPDX-License-Identifier: MIT */
/* The subcommands of shmchop-in: one line each in the table below. */
#ifndef SHMCHOP_IN_COMMANDS_H
#define SHMCHOP_IN_COMMANDS_H

/*
 * To add a command `foo`: add X(foo, "one-line summary") here and define
 * `int in_foo_main(int argc, char **argv)` in reader/tools/in_foo.c
 * (argv[0] is "foo"; return the exit code, SPEC R6.2). The order here is
 * the order of `shmchop-in --help`.
 */
#define SHMCHOP_IN_COMMANDS(X)                                                  \
    X(check, "validate an image file or a live segment")                      \
    X(dump, "print one frame: header, names, statistics, samples")            \
    X(watch, "cook In nodes on live segments once per frame and print them")  \
    X(ls, "list the live-segment objects in /dev/shm")                        \
    X(gc, "remove objects of writers that are gone; break stuck locks")

#include <stddef.h>

#include <shmchop/segment.h>

/* "locked by pid 12 (dead)", "free", "not initialised": one mutex's state
 * in words, for `ls` and `gc --break-lock --dry-run` (in_ls.c). */
void in_lock_note(const shmchop_shm_lock_state *ls, char *out, size_t len);

#define SHMCHOP_IN_DECLARE(name, summary) int in_##name##_main(int argc, char **argv);
SHMCHOP_IN_COMMANDS(SHMCHOP_IN_DECLARE)
#undef SHMCHOP_IN_DECLARE

#endif
