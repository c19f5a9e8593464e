/* SPDX-License-Identifier: MIT */
/* Names, messages and rules of the error codes, from the one table. */
#include <shmchop/error.h>

#include <errno.h>
#include <string.h>

#define SHMCHOP__XX_NAME(name, msg) #name,
static const char *const err_names[] = { SHMCHOP_ERRNO_MAP(SHMCHOP__XX_NAME) };
#undef SHMCHOP__XX_NAME

#define SHMCHOP__XX_MSG(name, msg) msg,
static const char *const err_messages[] = { SHMCHOP_ERRNO_MAP(SHMCHOP__XX_MSG) };
#undef SHMCHOP__XX_MSG

/* Index of a library code in the table, or -1 when code is not one. */
static int own_index(int code)
{
    /* In 64 bits: code may be any int, INT_MAX included. */
    long long idx = (long long)SHMCHOP_ERR_BASE - 1 - code;
    return idx >= 0 && idx < SHMCHOP__IDX_COUNT ? (int)idx : -1;
}

/* The common errno names; the rest are answered as "E<number>"-less "ERRNO". */
static const char *errno_name(int err)
{
    switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOBUFS: return "ENOBUFS";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case EOVERFLOW: return "EOVERFLOW";
    default: return "ERRNO";
    }
}

const char *shmchop_err_name(int code)
{
    int idx = own_index(code);
    if (code == 0)
        return "OK";
    if (idx >= 0)
        return err_names[idx];
    /* -code would overflow for INT_MIN; no errno is that large anyway. */
    return code < 0 && code > -4096 ? errno_name(-code) : "UNKNOWN";
}

const char *shmchop_strerror(int code)
{
    int idx = own_index(code);
    if (code == 0)
        return "success";
    if (idx >= 0)
        return err_messages[idx];
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}

const char *shmchop_err_rule(int code)
{
    switch (code) {
    case SHMCHOP_E_TRUNCATED: return "R1.3";
    case SHMCHOP_E_BAD_MAGIC: return "R1.1";
    case SHMCHOP_E_BAD_VERSION: return "R1.2";
    case SHMCHOP_E_BAD_SIZE: return "R1.3";
    case SHMCHOP_E_BAD_NUM_CHANS: return "R1.4";
    case SHMCHOP_E_BAD_LENGTH: return "R1.5";
    case SHMCHOP_E_BAD_RATE: return "R1.6";
    case SHMCHOP_E_BAD_NAMES_SENT: return "R1.7";
    case SHMCHOP_E_BAD_DATA_OFFSET: return "R1.8";
    case SHMCHOP_E_BAD_NAME_OFFSET: return "R1.9";
    case SHMCHOP_E_OVERFLOW: return "R1.10";
    case SHMCHOP_E_OVERLAP: return "R1.11";
    case SHMCHOP_E_NONFINITE: return "R1.12";
    case SHMCHOP_E_NAME_UNTERMINATED: return "R1.13";
    case SHMCHOP_E_NAME_EMPTY: return "R1.14";
    case SHMCHOP_E_NAME_TOO_LONG: return "R1.14";
    case SHMCHOP_E_NAME_ILLEGAL: return "R1.14";
    case SHMCHOP_E_EXT_INVALID: return "R1.16";
    case SHMCHOP_E_CHECKSUM: return "R1.16a";
    case SHMCHOP_E_BAD_SHM_NAME: return "R2";
    case SHMCHOP_E_NO_WRITER: return "R2.5";
    case SHMCHOP_E_DETACHED: return "R2.7";
    case SHMCHOP_E_LOCK_TIMEOUT: return "R2.1";
    case SHMCHOP_E_NAME_IN_USE: return "R2.11";
    case SHMCHOP_E_SEGMENT_SHORT: return "R2.10";
    case SHMCHOP_E_SEGMENT_GONE: return "R2.10";
    case SHMCHOP_E_BAD_INFO: return "R2.5";
    case SHMCHOP_E_NOT_READY: return "R2.2";
    case SHMCHOP_E_TORN: return "R1.17";
    case SHMCHOP_E_UNSAFE_OBJECT: return "R2.11";
    case SHMCHOP_E_RATES_DIFFER: return "R4.9";
    case SHMCHOP_E_BAD_PATTERN: return "R4.12";
    case SHMCHOP_E_BAD_TABLE: return "R4.14";
    default: return "";
    }
}
