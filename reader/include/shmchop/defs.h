/* SPDX-License-Identifier: MIT */
/* Definitions every public header needs: symbol visibility. */
#ifndef SHMCHOP_DEFS_H
#define SHMCHOP_DEFS_H

/* The library is built with hidden visibility; SHMCHOP_API marks the
 * public entry points. Internal cross-module functions use the shmchop__
 * prefix and stay hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define SHMCHOP_API __attribute__((visibility("default")))
#else
#define SHMCHOP_API
#endif

#endif
