/* SPDX-License-Identifier: MIT */
/* Names, messages and rules of the error codes, from the one table. */
#include <shmchop/error.h>

#include <errno.h>
#include <string.h>

#define SHMCHOP__XX_NAME(name, msg, rule) #name,
static const char *const err_names[] = { SHMCHOP_ERRNO_MAP(SHMCHOP__XX_NAME) };
#undef SHMCHOP__XX_NAME

#define SHMCHOP__XX_MSG(name, msg, rule) msg,
static const char *const err_messages[] = { SHMCHOP_ERRNO_MAP(SHMCHOP__XX_MSG) };
#undef SHMCHOP__XX_MSG

#define SHMCHOP__XX_RULE(name, msg, rule) rule,
static const char *const err_rules[] = { SHMCHOP_ERRNO_MAP(SHMCHOP__XX_RULE) };
#undef SHMCHOP__XX_RULE

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
    int idx = own_index(code);
    return idx >= 0 ? err_rules[idx] : "";
}
