/* SPDX-License-Identifier: MIT */
/* Tool messages and strict parsing of option values (SPEC R6.2). */
#include "toolkit.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>

static const char *g_prog = "shmchop";
static const char *g_cmd;

void tk_set_prog(const char *prog)
{
    g_prog = prog;
}

void tk_set_cmd(const char *cmd)
{
    g_cmd = cmd;
}

const char *tk_prog(void)
{
    return g_prog;
}

/* Format into buf and turn control bytes into spaces: one line always. */
__attribute__((format(printf, 3, 0))) static void one_line(char *buf, size_t len, const char *fmt, va_list ap)
{
    vsnprintf(buf, len, fmt, ap);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

void tk_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    one_line(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", g_prog, msg);
}

__attribute__((format(printf, 1, 0))) static void usage_message(const char *fmt, va_list ap)
{
    char msg[1024];

    one_line(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "%s: %s\n", g_prog, msg);
    if (g_cmd)
        fprintf(stderr, "Try '%s %s --help'.\n", g_prog, g_cmd);
    else
        fprintf(stderr, "Try '%s --help'.\n", g_prog);
}

int tk_usage_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    usage_message(fmt, ap);
    va_end(ap);
    return TK_EXIT_USAGE;
}


void tk_printable(char *out, size_t outlen, const char *s)
{
    static const size_t shown_max = 256;
    size_t o = 0, i;

    if (outlen == 0)
        return;
    for (i = 0; s[i] && i < shown_max; i++) {
        unsigned char c = (unsigned char)s[i];
        int w = (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
                    ? snprintf(out + o, outlen - o, "%c", c)
                    : snprintf(out + o, outlen - o, "\\x%02x", c);
        if (w < 0 || (size_t)w >= outlen - o)
            break;
        o += (size_t)w;
    }
    if (s[i] && o + 4 < outlen) {
        memcpy(out + o, "...", 4);
        o += 3;
    }
    out[o < outlen ? o : outlen - 1] = '\0';
}

/* The one-line complaint about an option value. */
__attribute__((format(printf, 3, 4))) static int bad_value(const char *opt, const char *s,
                                                           const char *fmt, ...)
{
    char shown[300], what[200];
    va_list ap;

    tk_printable(shown, sizeof(shown), s);
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    tk_error("%s: '%s' %s", opt, shown, what);
    return SHMCHOP_E_USAGE;
}

/* Decimal digits only, at least one, no overflow of a uint64. */
static int digits_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (!*s)
        return -1;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int tk_parse_uint64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v;

    if (digits_u64(s, &v) || v < lo || v > hi)
        return bad_value(opt, s, "is not an integer from %" PRIu64 " to %" PRIu64, lo, hi);
    *out = v;
    return 0;
}

int tk_parse_int64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    bool neg = *s == '-';
    uint64_t mag;
    int64_t v;

    if (digits_u64(s + neg, &mag) || mag > (uint64_t)INT64_MAX + neg)
        goto bad;
    /* -2^63 has no positive counterpart: build negatives from -(mag-1)-1. */
    v = neg ? (mag ? -(int64_t)(mag - 1) - 1 : 0) : (int64_t)mag;
    if (v < lo || v > hi)
        goto bad;
    *out = v;
    return 0;
bad:
    return bad_value(opt, s, "is not an integer from %" PRId64 " to %" PRId64, lo, hi);
}

int tk_parse_int32(const char *opt, const char *s, int32_t lo, int32_t hi, int32_t *out)
{
    bool neg = *s == '-';
    uint64_t mag;
    int64_t v;

    if (digits_u64(s + neg, &mag) || mag > (uint64_t)INT32_MAX + neg)
        goto bad;
    v = neg ? -(int64_t)mag : (int64_t)mag;
    if (v < lo || v > hi)
        goto bad;
    *out = (int32_t)v;
    return 0;
bad:
    return bad_value(opt, s, "is not an integer from %" PRId32 " to %" PRId32, lo, hi);
}

int tk_parse_double(const char *opt, const char *s, double lo, double hi, bool lo_open,
                    double *out)
{
    char *end;
    double v;

    /* strtod would skip leading spaces and accept "nan" and "inf". */
    if (!*s || strchr(" \t\n\v\f\r", *s))
        goto bad;
    errno = 0;
    v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
        goto bad;
    *out = v;
    return 0;
bad:
    if (lo_open)
        return bad_value(opt, s, "is not a number greater than %g and at most %g", lo, hi);
    return bad_value(opt, s, "is not a number from %g to %g", lo, hi);
}

int tk_parse_octal(const char *opt, const char *s, unsigned hi, unsigned *out)
{
    unsigned v = 0;
    const char *p = s;

    if (!*p)
        goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '7' || v > hi || v > (UINT_MAX - 7) / 8)
            goto bad;
        v = v * 8 + (unsigned)(*p - '0');
    }
    if (v > hi)
        goto bad;
    *out = v;
    return 0;
bad:
    return bad_value(opt, s, "is not an octal number from 0 to 0%o", hi);
}

int tk_parse_choice(const char *opt, const char *s, const char *const *choices, int *out)
{
    char list[256] = "";
    size_t used = 0;

    for (int i = 0; choices[i]; i++) {
        if (strcmp(s, choices[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    for (int i = 0; choices[i] && used < sizeof(list); i++) {
        int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? "|" : "", choices[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return bad_value(opt, s, "is not one of %s", list);
}

int tk_parse_onoff(const char *opt, const char *s, bool *out)
{
    static const char *const onoff[] = { "off", "on", NULL };
    int idx;

    if (tk_parse_choice(opt, s, onoff, &idx))
        return SHMCHOP_E_USAGE;
    *out = idx == 1;
    return 0;
}

int tk_getopt_error(int c, char *const argv[])
{
    char shown[300];
    const char *arg = optind > 0 ? argv[optind - 1] : "";

    /* A short option's letter is in optopt; a long one's text is the
     * argument getopt just stepped over. */
    if (optopt && optopt < 0x80 && !(arg[0] == '-' && arg[1] == '-')) {
        if (c == ':')
            return tk_usage_error("option -%c needs a value", optopt);
        return tk_usage_error("unknown option -%c", optopt);
    }
    tk_printable(shown, sizeof(shown), arg);
    if (c == ':')
        return tk_usage_error("option '%s' needs a value", shown);
    /* A known long option that getopt still refused was given a value
     * it does not take ("--json=1"). */
    if (optopt)
        return tk_usage_error("option '%s' takes no value", shown);
    return tk_usage_error("unknown or ambiguous option '%s'", shown);
}
