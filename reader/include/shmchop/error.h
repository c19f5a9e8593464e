/* SPDX-License-Identifier: MIT */
/* shmchop error codes: one table gives the enum, the names and the messages. */
#ifndef SHMCHOP_ERROR_H
#define SHMCHOP_ERROR_H

#include <shmchop/defs.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every function of the library returns an int: 0 on success, a negative
 * value on failure. System failures are returned as -errno (-ENOMEM, ...);
 * the library's own codes live in a reserved band below
 * SHMCHOP_ERR_BASE, far away from any errno value, so one int carries both
 * and shmchop_strerror() answers either kind.
 *
 * The table is the single source of truth: add a code here and the enum,
 * shmchop_err_name() and shmchop_strerror() follow. Codes are stable: new
 * ones go at the end, none is ever renumbered. A code the library no
 * longer returns is retired, not deleted: its row becomes RETIRED_<name>
 * so that every later code keeps its value (BAD_GLOBAL, NO_ENTRY and
 * INACTIVE were never returned by any function).
 */
#define SHMCHOP_ERR_BASE (-1000)

#define SHMCHOP_ERRNO_MAP(XX)                                                  \
    /* section 1: the CHOP image */                                            \
    XX(TRUNCATED, "image is truncated")                                        \
    XX(BAD_MAGIC, "bad magic number")                                          \
    XX(BAD_VERSION, "unsupported version")                                     \
    XX(BAD_SIZE, "bad image size")                                             \
    XX(BAD_NUM_CHANS, "bad channel count")                                     \
    XX(BAD_LENGTH, "bad channel length")                                       \
    XX(BAD_RATE, "bad sample rate")                                            \
    XX(BAD_NAMES_SENT, "unusual namesSent value")                              \
    XX(BAD_DATA_OFFSET, "bad channel data offset")                             \
    XX(BAD_NAME_OFFSET, "bad name data offset")                                \
    XX(OVERFLOW, "size arithmetic overflows")                                  \
    XX(OVERLAP, "areas overlap")                                               \
    XX(NAME_UNTERMINATED, "channel name is not terminated")                    \
    XX(NAME_EMPTY, "channel name is empty")                                    \
    XX(NAME_TOO_LONG, "channel name is too long")                              \
    XX(NAME_ILLEGAL, "channel name has illegal bytes")                         \
    XX(EXT_INVALID, "extension block ignored")                                 \
    XX(CHECKSUM, "checksum mismatch")                                          \
    XX(NONFINITE, "non-finite samples")                                        \
    XX(LIMIT, "beyond the reader's limits")                                    \
    /* section 2: live segments */                                             \
    XX(BAD_SHM_NAME, "bad shared memory name")                                 \
    XX(NO_WRITER, "no writer")                                                 \
    XX(DETACHED, "writer detached")                                            \
    XX(LOCK_TIMEOUT, "lock timeout")                                           \
    XX(NAME_IN_USE, "name is in use")                                          \
    XX(SEGMENT_SHORT, "segment is shorter than its image")                     \
    XX(SEGMENT_GONE, "segment vanished")                                       \
    XX(BAD_INFO, "bad info object")                                            \
    XX(NOT_READY, "object is not initialised")                                 \
    XX(TORN, "image kept changing while read")                                 \
    XX(UNSAFE_OBJECT, "unsafe shared memory object")                           \
    /* sections 3 and 4: global mode and the cook */                           \
    XX(RETIRED_BAD_GLOBAL, "retired code")                                     \
    XX(RETIRED_NO_ENTRY, "retired code")                                       \
    XX(RATES_DIFFER, "sample rates differ")                                    \
    XX(BAD_PATTERN, "bad scope pattern")                                       \
    XX(BAD_TABLE, "bad export table")                                          \
    XX(RETIRED_INACTIVE, "retired code")                                       \
    XX(USAGE, "invalid argument")

/* Internal: the position of each code in the table. */
#define SHMCHOP__XX_INDEX(name, msg) SHMCHOP__IDX_##name,
enum shmchop__err_index { SHMCHOP_ERRNO_MAP(SHMCHOP__XX_INDEX) SHMCHOP__IDX_COUNT };
#undef SHMCHOP__XX_INDEX

/* SHMCHOP_E_TRUNCATED = -1001, SHMCHOP_E_BAD_MAGIC = -1002, ... in table
 * order, so the values are constant expressions usable in a switch. */
#define SHMCHOP__XX_ENUM(name, msg)                                            \
    SHMCHOP_E_##name = SHMCHOP_ERR_BASE - 1 - SHMCHOP__IDX_##name,
enum shmchop_errno { SHMCHOP_ERRNO_MAP(SHMCHOP__XX_ENUM) };
#undef SHMCHOP__XX_ENUM

/* Short constant name of a code ("BAD_MAGIC", "ENOMEM"); never NULL. */
SHMCHOP_API const char *shmchop_err_name(int code);

/* Human message of a code, the library's own or a -errno; never NULL. */
SHMCHOP_API const char *shmchop_strerror(int code);

/* The SPEC rule most closely tied to a code ("R1.8"), or "" when none. */
SHMCHOP_API const char *shmchop_err_rule(int code);

#ifdef __cplusplus
}
#endif
#endif
