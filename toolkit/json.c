/* SPDX-License-Identifier: MIT */
/* JSON output of the tools (jansson) and findings for humans. */
#include "toolkit.h"
#include "jsonbuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>

json_t *tk_json_str(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), o = 0;
    char *fixed;
    json_t *j;

    j = json_string(s);
    if (j)
        return j;
    /* Invalid UTF-8 (a file name, say): every bad byte becomes U+FFFD,
     * three bytes, so the copy is at most three times as long. The NUL
     * ends every check above, so no sequence reads past it. */
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    fixed = malloc(len * 3 + 1);
    if (!fixed)
        return NULL;
    while (*p) {
        size_t n = tk_utf8_seq(p);
        if (n) {
            memcpy(fixed + o, p, n);
            o += n;
            p += n;
        } else {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        }
    }
    j = json_stringn(fixed, o);
    free(fixed);
    return j;
}

json_t *tk_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *tk_json_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    return json_real((double)v);
}

int tk_json_set(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return -1;
    return json_object_set_new(obj, key, value) ? -1 : 0;
}

int tk_json_append(json_t *arr, json_t *value)
{
    if (!value)
        return -1;
    return json_array_append_new(arr, value) ? -1 : 0;
}

json_t *tk_json_finding(const shmchop_finding *f)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    if (tk_json_set(o, "rule", tk_json_str(f->rule ? f->rule : "")) ||
        tk_json_set(o, "field", tk_json_str(f->field ? f->field : "")) ||
        tk_json_set(o, "message", tk_json_str(f->message)) ||
        tk_json_set(o, "code", tk_json_str(shmchop_err_name(f->code)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *tk_json_findings(const shmchop_diag *d, bool errors)
{
    unsigned n = errors ? shmchop_diag_kept_errors(d) : shmchop_diag_kept_warnings(d);
    const shmchop_finding *list = errors ? d->errors : d->warnings;
    json_t *arr = json_array();

    if (!arr)
        return NULL;
    for (unsigned i = 0; i < n; i++) {
        if (tk_json_append(arr, tk_json_finding(&list[i]))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int tk_json_print(const json_t *root)
{
    /* Default real precision is 17 digits: every float and double prints
     * exactly, so a reader gets back the very value the image held. */
    if (json_dumpf(root, stdout, JSON_COMPACT) < 0)
        return -1;
    if (putchar('\n') == EOF)
        return -1;
    return 0;
}

void tk_print_finding(FILE *f, const char *kind, const shmchop_finding *fi)
{
    const char *rule = fi->rule ? fi->rule : "";
    const char *field = fi->field ? fi->field : "";

    fprintf(f, "%s%s%s%s%s: %s\n", kind, *rule ? " " : "", rule, *field ? " " : "", field,
            fi->message);
}

void tk_print_findings(FILE *f, const shmchop_diag *d)
{
    unsigned ke = shmchop_diag_kept_errors(d), kw = shmchop_diag_kept_warnings(d);

    for (unsigned i = 0; i < ke; i++)
        tk_print_finding(f, "error", &d->errors[i]);
    if (d->n_errors > ke)
        fprintf(f, "error: %u more errors not shown\n", d->n_errors - ke);
    for (unsigned i = 0; i < kw; i++)
        tk_print_finding(f, "warning", &d->warnings[i]);
    if (d->n_warnings > kw)
        fprintf(f, "warning: %u more warnings not shown\n", d->n_warnings - kw);
}

int tk_finish(int code)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        tk_error("error writing to standard output: %s", e ? strerror(e) : "I/O error");
        return TK_EXIT_USAGE;
    }
    return code;
}
