/* SPDX-License-Identifier: MIT */
/* Collecting findings: one-line messages that name the object and value. */
#include "image_internal.h"

#include <stdio.h>
#include <string.h>

/* Count one finding of the kind; the slot to fill, or NULL when the kept
 * ones are full (it is counted all the same). */
static shmchop_finding *take_slot(shmchop_diag *d, bool is_error, int code, const char *rule,
                                  const char *field)
{
    unsigned *count = is_error ? &d->n_errors : &d->n_warnings;
    shmchop_finding *f;

    if (*count >= SHMCHOP_DIAG_KEEP) {
        ++*count;
        return NULL;
    }
    f = is_error ? &d->errors[*count] : &d->warnings[*count];
    ++*count;
    f->code = code;
    f->rule = rule ? rule : "";
    f->field = field ? field : "";
    return f;
}

/* One line, whatever the object name or the message held. */
static void one_line(char *message)
{
    for (char *p = message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

void shmchop__diag_add(shmchop_diag *diag, int is_error, int code, const char *rule,
                       const char *field, const char *object, const char *fmt, ...)
{
    shmchop_finding *f;
    va_list ap;
    int n;

    if (!diag || !(f = take_slot(diag, is_error, code, rule, field)))
        return;
    n = snprintf(f->message, sizeof(f->message), "%s: ", object ? object : "image");
    if (n < 0 || (size_t)n >= sizeof(f->message))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(f->message + n, sizeof(f->message) - (size_t)n, fmt, ap);
    va_end(ap);
    one_line(f->message);
}

void shmchop_diag_add(shmchop_diag *diag, bool is_error, int code, const char *rule,
                      const char *field, const char *message)
{
    shmchop_finding *f = take_slot(diag, is_error, code, rule, field);

    if (!f)
        return;
    snprintf(f->message, sizeof(f->message), "%s", message);
    one_line(f->message);
}

/* Append the findings of one kind: the kept ones, then the count of the rest. */
static void append_kind(shmchop_diag *dst, const shmchop_diag *src, bool is_error)
{
    const shmchop_finding *f = is_error ? src->errors : src->warnings;
    unsigned kept = is_error ? shmchop_diag_kept_errors(src) : shmchop_diag_kept_warnings(src);
    unsigned counted = is_error ? src->n_errors : src->n_warnings;

    for (unsigned i = 0; i < kept; i++)
        shmchop_diag_add(dst, is_error, f[i].code, f[i].rule, f[i].field, f[i].message);
    if (is_error)
        dst->n_errors += counted - kept;
    else
        dst->n_warnings += counted - kept;
}

void shmchop_diag_append(shmchop_diag *dst, const shmchop_diag *src)
{
    append_kind(dst, src, true);
    append_kind(dst, src, false);
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
