/* SPDX-License-Identifier: MIT */
/* CHOP storage that only grows, and the findings of a validation. */
#include <shmchop/chop.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void shmchop_chop_init(shmchop_chop *chop)
{
    memset(chop, 0, sizeof(*chop));
}

void shmchop_chop_free(shmchop_chop *chop)
{
    free(chop->data);
    free(chop->name_buf);
    free(chop->name_off);
    shmchop_chop_init(chop);
}

/* Grow *buf to hold at least `need` elements of `elem` bytes. */
static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    void *p;

    if (need <= *cap)
        return 0;
    if (need > SIZE_MAX / elem)
        return -ENOMEM;
    p = realloc(*buf, need * elem);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = need;
    return 0;
}

int shmchop_chop_reserve(shmchop_chop *chop, uint32_t num_chans, uint32_t length,
                         size_t name_bytes)
{
    size_t samples = (size_t)num_chans * length;
    int rc;

    if (length && samples / length != num_chans)
        return -ENOMEM;
    rc = grow((void **)&chop->data, &chop->data_cap, samples, sizeof(float));
    if (!rc)
        rc = grow((void **)&chop->name_buf, &chop->name_buf_cap, name_bytes, 1);
    if (!rc)
        rc = grow((void **)&chop->name_off, &chop->name_off_cap, num_chans,
                  sizeof(uint32_t));
    if (rc)
        return rc;
    chop->num_chans = num_chans;
    chop->length = length;
    return 0;
}

int shmchop_chop_set_names(shmchop_chop *chop, const char *packed, size_t bytes)
{
    size_t pos = 0;
    int rc;

    rc = grow((void **)&chop->name_buf, &chop->name_buf_cap, bytes, 1);
    if (rc)
        return rc;
    if (bytes)
        memcpy(chop->name_buf, packed, bytes);
    for (uint32_t i = 0; i < chop->num_chans; i++) {
        if (pos >= bytes)
            return -EINVAL;
        chop->name_off[i] = (uint32_t)pos;
        pos += strnlen(packed + pos, bytes - pos) + 1;
    }
    return 0;
}

/* Bytes taken by all names of chop, NULs included. */
static size_t names_size(const shmchop_chop *chop)
{
    if (chop->num_chans == 0)
        return 0;
    uint32_t last = chop->num_chans - 1;
    return chop->name_off[last] + strlen(shmchop_chop_name(chop, last)) + 1;
}

int shmchop_chop_copy(shmchop_chop *dst, const shmchop_chop *src)
{
    size_t nbytes = names_size(src);
    int rc = shmchop_chop_reserve(dst, src->num_chans, src->length, nbytes);

    if (rc)
        return rc;
    dst->rate = src->rate;
    dst->start = src->start;
    if (src->num_chans && src->length)
        memcpy(dst->data, src->data, (size_t)src->num_chans * src->length * sizeof(float));
    if (nbytes)
        memcpy(dst->name_buf, src->name_buf, nbytes);
    if (src->num_chans)
        memcpy(dst->name_off, src->name_off, src->num_chans * sizeof(uint32_t));
    return 0;
}

void shmchop_chop_swap(shmchop_chop *a, shmchop_chop *b)
{
    shmchop_chop t = *a;
    *a = *b;
    *b = t;
}

void shmchop_diag_clear(shmchop_diag *diag)
{
    diag->n_errors = 0;
    diag->n_warnings = 0;
}
