/* SPDX-License-Identifier: MIT */
/* Loading an image file (SPEC 1.4) for the reader tool's commands. */
#include "toolkit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <shmchop/error.h>

int tk_load_image(const char *path, const shmchop_parse_opts *opts, shmchop_chop *chop,
                  shmchop_image_info *info, shmchop_diag *diag, int *parse_rc)
{
    unsigned char *buf = NULL;
    char err[256];
    size_t len = 0;
    int rc;

    shmchop_diag_clear(diag);
    rc = tk_read_file(path, &buf, &len, err, sizeof(err));
    if (rc) {
        tk_error("%s: %s", path, err);
        return TK_EXIT_USAGE;
    }
    rc = shmchop_image_parse(buf, len, opts, chop, info, diag);
    free(buf);
    if (parse_rc)
        *parse_rc = rc;
    if (rc == -ENOMEM) {
        /* Not a fault of the image: the tool could not do its job. */
        tk_error("%s: out of memory", path);
        return TK_EXIT_USAGE;
    }
    return rc ? TK_EXIT_INVALID : TK_EXIT_OK;
}

/* Copies taken again when the checksum does not match (R1.16a), as the
 * reader's cook does. */
#define TK_CHECKSUM_RETRIES 8

/* Whether the copy's block says it carries a checksum that does not match. */
static bool checksum_mismatch(const void *img, size_t len)
{
    shmchop_parse_opts po = { 0 };
    shmchop_chop chop;
    int rc;

    shmchop_chop_init(&chop);
    rc = shmchop_image_parse(img, len, &po, &chop, NULL, NULL);
    shmchop_chop_free(&chop);
    return rc == SHMCHOP_E_CHECKSUM;
}

int tk_read_live(shmchop_segment *seg, const void **img, size_t *len, shmchop_segment_status *st)
{
    unsigned warnings = 0;
    char warning[SHMCHOP_MESSAGE_MAX] = "";
    int rc = shmchop_segment_read_owned(seg, img, len, st);

    /* The attach's findings belong to the result, whichever copy it is. */
    warnings = st->n_warnings;
    snprintf(warning, sizeof(warning), "%s", st->warning);
    for (int retry = 0; rc == 0 && retry < TK_CHECKSUM_RETRIES && checksum_mismatch(*img, *len);
         retry++)
        rc = shmchop_segment_read_owned(seg, img, len, st);
    if (!st->n_warnings && warnings) {
        st->n_warnings = warnings;
        snprintf(st->warning, sizeof(st->warning), "%s", warning);
    }
    return rc;
}
