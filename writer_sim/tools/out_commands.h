/* SPDX-License-Identifier: MIT */
/* The subcommands of shmchop-out: one line each in the table below. */
#ifndef SHMCHOP_OUT_COMMANDS_H
#define SHMCHOP_OUT_COMMANDS_H

/*
 * To add a command `foo`: add X(foo, "one-line summary") here and define
 * `int out_foo_main(int argc, char **argv)` in writer_sim/out_foo.c
 * (argv[0] is "foo"; return the exit code, SPEC R6.2). Shape options come
 * from shape.h. The order here is the order of `shmchop-out --help`.
 */
#define SHMCHOP_OUT_COMMANDS(X)                                                 \
    X(image, "write one CHOP image to a file")                                \
    X(run, "publish a live CHOP segment frame after frame, with faults")

#define SHMCHOP_OUT_DECLARE(name, summary) int out_##name##_main(int argc, char **argv);
SHMCHOP_OUT_COMMANDS(SHMCHOP_OUT_DECLARE)
#undef SHMCHOP_OUT_DECLARE

#endif
