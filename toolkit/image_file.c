/* SPDX-License-Identifier: MIT */
/* Loading an image file (SPEC 1.4) for the reader tool's commands. */
#include "toolkit.h"

#include <errno.h>
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
