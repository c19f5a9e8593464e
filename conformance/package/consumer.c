/* SPDX-License-Identifier: MIT */
/* A program outside the project: builds an image with the installed libshmchop and parses it back. */
#include <shmchop/chop.h>
#include <shmchop/error.h>
#include <shmchop/image.h>

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    shmchop_chop chop, back;
    shmchop_image_info info;
    shmchop_build_opts opts = { .ext = true };
    size_t written = 0;
    unsigned char buf[4096];
    int64_t size;
    int rc;

    shmchop_chop_init(&chop);
    shmchop_chop_init(&back);
    if (shmchop_chop_reserve(&chop, 2, 3, 0) != 0)
        return 1;
    for (uint32_t c = 0; c < 2; c++)
        for (uint32_t i = 0; i < 3; i++)
            shmchop_chop_channel(&chop, c)[i] = (float)(c * 10 + i);
    chop.rate = 60.0;
    size = shmchop_image_size(&chop, &opts);
    if (size <= 0 || (size_t)size > sizeof(buf) ||
        shmchop_image_build(buf, sizeof(buf), &chop, &opts, &written) != 0) {
        fprintf(stderr, "consumer: build failed\n");
        return 1;
    }
    rc = shmchop_image_parse(buf, written, NULL, &back, &info, NULL);
    if (rc != 0) {
        fprintf(stderr, "consumer: parse: %s\n", shmchop_err_name(rc));
        return 1;
    }
    printf("consumer: %u channels x %u samples at %g Hz, checksum %s, last %g\n", back.num_chans,
           back.length, back.rate, info.checksum_ok ? "ok" : "bad", shmchop_chop_channel(&back, 1)[2]);
    rc = back.num_chans == 2 && info.checksum_ok && shmchop_chop_channel(&back, 1)[2] == 12.0f ? 0 : 1;
    shmchop_chop_free(&chop);
    shmchop_chop_free(&back);
    return rc;
}
