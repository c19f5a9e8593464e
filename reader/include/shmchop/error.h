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
 * shmchop_err_name(), shmchop_strerror() and shmchop_err_rule() follow.
 * Each row is XX(NAME, message, rule): the rule is the SPEC rule most
 * closely tied to the code, "" for the codes no single rule owns (a
 * reader limit, a bad argument). Codes are stable: new ones go at the
 * end, none is ever renumbered. A code the library no longer returns is
 * retired, not deleted: its row becomes RETIRED_<name> so that every
 * later code keeps its value (INACTIVE was never returned: an inactive
 * reader's cook returns 0 and keeps its output, SPEC 4.1).
 */
#define SHMCHOP_ERR_BASE (-1000)

#define SHMCHOP_ERRNO_MAP(XX)                                                  \
    /* section 1: the CHOP image */                                            \
    XX(TRUNCATED, "image is truncated", "R1.3")                                \
    XX(BAD_MAGIC, "bad magic number", "R1.1")                                  \
    XX(BAD_VERSION, "unsupported version", "R1.2")                             \
    XX(BAD_SIZE, "bad image size", "R1.3")                                     \
    XX(BAD_NUM_CHANS, "bad channel count", "R1.4")                             \
    XX(BAD_LENGTH, "bad channel length", "R1.5")                               \
    XX(BAD_RATE, "bad sample rate", "R1.6")                                    \
    XX(BAD_NAMES_SENT, "unusual namesSent value", "R1.7")                      \
    XX(BAD_DATA_OFFSET, "bad channel data offset", "R1.8")                     \
    XX(BAD_NAME_OFFSET, "bad name data offset", "R1.9")                        \
    XX(OVERFLOW, "size arithmetic overflows", "R1.10")                         \
    XX(OVERLAP, "areas overlap", "R1.11")                                      \
    XX(NAME_UNTERMINATED, "channel name is not terminated", "R1.13")           \
    XX(NAME_EMPTY, "channel name is empty", "R1.14")                           \
    XX(NAME_TOO_LONG, "channel name is too long", "R1.14")                     \
    XX(NAME_ILLEGAL, "channel name has illegal bytes", "R1.14")                \
    XX(EXT_INVALID, "extension block ignored", "R1.16")                        \
    XX(CHECKSUM, "checksum mismatch", "R1.16a")                                \
    XX(NONFINITE, "non-finite samples", "R1.12")                               \
    XX(LIMIT, "beyond the reader's limits", "")                                \
    /* section 2: live segments */                                             \
    XX(BAD_SHM_NAME, "bad shared memory name", "R2")                           \
    XX(NO_WRITER, "no writer", "R2.5")                                         \
    XX(DETACHED, "writer detached", "R2.7")                                    \
    XX(LOCK_TIMEOUT, "lock timeout", "R2.1")                                   \
    XX(NAME_IN_USE, "name is in use", "R2.11")                                 \
    XX(SEGMENT_SHORT, "segment is shorter than its image", "R2.10")            \
    XX(SEGMENT_GONE, "segment vanished", "R2.10")                              \
    XX(BAD_INFO, "bad info object", "R2.5")                                    \
    XX(NOT_READY, "object is not initialised", "R2.2")                         \
    XX(TORN, "image kept changing while read", "R1.17")                        \
    XX(UNSAFE_OBJECT, "unsafe shared memory object", "R2.11")                  \
    /* sections 3 and 4: global mode and the cook */                           \
    XX(BAD_GLOBAL, "bad global segment", "R3")                                 \
    XX(NO_ENTRY, "no such global entry", "R3.1")                               \
    XX(RATES_DIFFER, "sample rates differ", "R4.9")                            \
    XX(BAD_PATTERN, "bad scope pattern", "R4.12")                              \
    XX(BAD_TABLE, "bad export table", "R4.14")                                 \
    XX(RETIRED_INACTIVE, "retired code", "")                                   \
    XX(USAGE, "invalid argument", "")

/* Internal: the position of each code in the table. */
#define SHMCHOP__XX_INDEX(name, msg, rule) SHMCHOP__IDX_##name,
enum shmchop__err_index { SHMCHOP_ERRNO_MAP(SHMCHOP__XX_INDEX) SHMCHOP__IDX_COUNT };
#undef SHMCHOP__XX_INDEX

/* SHMCHOP_E_TRUNCATED = -1001, SHMCHOP_E_BAD_MAGIC = -1002, ... in table
 * order, so the values are constant expressions usable in a switch. */
#define SHMCHOP__XX_ENUM(name, msg, rule)                                            \
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
