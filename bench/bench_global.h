/* SPDX-License-Identifier: MIT */
/* shmchop-bench: global mode's shared read (SPEC R3.6) against 64 local reads. */
#ifndef SHMCHOP_BENCH_GLOBAL_H
#define SHMCHOP_BENCH_GLOBAL_H

#include "bench.h"

/* Variants of bench_global_read_64. */
enum {
    BV_GLOBAL64 = 0, /* global_read_64: one global copy serves 64 In nodes */
    BV_LOCAL64 = 1,  /* local_read_64: 64 In nodes, 64 local segments */
};

/*
 * One reader frame of 64 In nodes, all cooked at one now_ns: in global
 * mode one copy of a 64-entry segment serves them (R3.2, R3.6); in local
 * mode each reads its own segment. Time per frame (64 cooks). Register as
 *   { "global_read_64", "local_read_64", BENCH_COPY, bench_global_read_64, 0, BV_GLOBAL64, ... }
 *   { "local_read_64", NULL, BENCH_COPY, bench_global_read_64, 0, BV_LOCAL64, ... }
 */
int bench_global_read_64(bench_ctx *c);

#endif
