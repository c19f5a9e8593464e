/* SPDX-License-Identifier: MIT */
/* Collecting findings: one-line messages that name the object and value. */
#include "image_internal.h"

#include <stdio.h>
#include <string.h>

void shmchop__diag_add(shmchop_diag *diag, int is_error, int code, const char *rule,
                       const char *field, const char *object, const char *fmt, ...)
{
    unsigned *count;
    shmchop_finding *f;
    va_list ap;
    int n;

    if (!diag)
        return;
    count = is_error ? &diag->n_errors : &diag->n_warnings;
    if (*count >= SHMCHOP_DIAG_KEEP) {
        ++*count;
        return;
    }
    f = is_error ? &diag->errors[*count] : &diag->warnings[*count];
    ++*count;
    f->code = code;
    f->rule = rule;
    f->field = field ? field : "";
    n = snprintf(f->message, sizeof(f->message), "%s: ", object ? object : "image");
    if (n < 0 || (size_t)n >= sizeof(f->message))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(f->message + n, sizeof(f->message) - (size_t)n, fmt, ap);
    va_end(ap);
    /* One line, whatever the object name held. */
    for (char *p = f->message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

void shmchop__printable(char *out, size_t outlen, const char *bytes, size_t len)
{
    static const size_t shown_max = 48;
    size_t o = 0;

    if (outlen == 0)
        return;
    for (size_t i = 0; i < len && i < shown_max; i++) {
        unsigned char c = (unsigned char)bytes[i];
        int w;
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            w = snprintf(out + o, outlen - o, "%c", c);
        else
            w = snprintf(out + o, outlen - o, "\\x%02x", c);
        if (w < 0 || (size_t)w >= outlen - o)
            break;
        o += (size_t)w;
    }
    if (len > shown_max && o + 4 < outlen)
        memcpy(out + o, "...", 4), o += 3;
    out[o < outlen ? o : outlen - 1] = '\0';
}
