/* SPDX-License-Identifier: MIT */
/* Shared Mem Names and the POSIX shm names of their four objects (SPEC section 2). */
#include <shmchop/segment.h>

#include "shm_util.h"

#include <stdio.h>
#include <string.h>

int shmchop_shm_name_check_n(const char *name, size_t len, char *err, size_t errlen)
{
    if (!name || len == 0) {
        shmchop__errf(err, errlen, "Shared Mem Name is empty");
        return SHMCHOP_E_BAD_SHM_NAME;
    }
    if (len > SHMCHOP_SHM_NAME_MAX) {
        shmchop__errf(err, errlen, "Shared Mem Name is %zu bytes long, at most %d allowed", len,
                      SHMCHOP_SHM_NAME_MAX);
        return SHMCHOP_E_BAD_SHM_NAME;
    }
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '/') {
            shmchop__errf(err, errlen, "Shared Mem Name %.*s has a '/' at byte %zu", (int)len,
                          name, i);
            return SHMCHOP_E_BAD_SHM_NAME;
        }
        if (name[i] == '\0') {
            shmchop__errf(err, errlen, "Shared Mem Name has a NUL at byte %zu", i);
            return SHMCHOP_E_BAD_SHM_NAME;
        }
    }
    return 0;
}

int shmchop_shm_name_check(const char *name, char *err, size_t errlen)
{
    /* strnlen bounds the scan of an unterminated or huge string. */
    size_t len = name ? strnlen(name, SHMCHOP_SHM_NAME_MAX + 1) : 0;

    return shmchop_shm_name_check_n(name, len, err, errlen);
}

int shmchop_shm_names_make(const char *name, const char *postfix, shmchop_shm_names *out,
                           char *err, size_t errlen)
{
    char pf[SHMCHOP_POSTFIX_SIZE] = "";
    int rc = shmchop_shm_name_check(name, err, errlen);

    if (rc != 0)
        return rc;
    if (postfix) {
        size_t plen = strnlen(postfix, SHMCHOP_POSTFIX_SIZE);
        char raw[SHMCHOP_POSTFIX_SIZE] = "";
        if (plen == SHMCHOP_POSTFIX_SIZE) {
            shmchop__errf(err, errlen, "%s: postfix is longer than %d bytes", name,
                          SHMCHOP_POSTFIX_LEN);
            return SHMCHOP_E_BAD_INFO;
        }
        memcpy(raw, postfix, plen);
        rc = shmchop__postfix_take(raw, pf, name, err, errlen);
        if (rc != 0)
            return rc;
    }
    /* Lengths: 8 + 200 + 31 and 16 + 200 + 13 both fit the 256-byte
     * buffers, and stay below glibc's NAME_MAX limit for shm names. */
    snprintf(out->data, sizeof(out->data), "%s%s%s", SHMCHOP_SHM_PREFIX, name, pf);
    snprintf(out->data_mutex, sizeof(out->data_mutex), "%s%s%s", SHMCHOP_SHM_PREFIX, name,
             SHMCHOP_SHM_MUTEX_SUFFIX);
    snprintf(out->info, sizeof(out->info), "%s%s%s%s", SHMCHOP_SHM_PREFIX, SHMCHOP_SHM_PREFIX,
             name, SHMCHOP_SHM_INFO_SUFFIX);
    snprintf(out->info_mutex, sizeof(out->info_mutex), "%s%s%s%s%s", SHMCHOP_SHM_PREFIX,
             SHMCHOP_SHM_PREFIX, name, SHMCHOP_SHM_INFO_SUFFIX, SHMCHOP_SHM_MUTEX_SUFFIX);
    return 0;
}
