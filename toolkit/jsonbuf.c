/* SPDX-License-Identifier: MIT */
/* A reusable text buffer with JSON and CSV writers (see jsonbuf.h). */
#include "jsonbuf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tk_buf_init(tk_buf *b, size_t cap)
{
    if (cap < 64)
        cap = 64;
    b->data = malloc(cap);
    b->len = 0;
    b->cap = b->data ? cap : 0;
    b->failed = !b->data;
    if (!b->data)
        return -ENOMEM;
    b->data[0] = '\0';
    return 0;
}

void tk_buf_free(tk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void tk_buf_reset(tk_buf *b)
{
    b->len = 0;
    b->failed = !b->data;
    if (b->data)
        b->data[0] = '\0';
}

/* Make room for n more bytes and the NUL; false (and `failed`) when it
 * cannot. Doubling keeps the number of allocations logarithmic in the
 * longest line. */
static bool room(tk_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (b->failed)
        return false;
    if (n > SIZE_MAX / 2 - b->len)
        goto fail;
    need = b->len + n + 1;
    if (need <= b->cap)
        return true;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p)
        goto fail;
    b->data = p;
    b->cap = cap;
    return true;
fail:
    b->failed = true;
    return false;
}

void tk_buf_mem(tk_buf *b, const void *p, size_t n)
{
    if (!room(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tk_buf_str(tk_buf *b, const char *s)
{
    tk_buf_mem(b, s, strlen(s));
}

void tk_buf_char(tk_buf *b, char c)
{
    tk_buf_mem(b, &c, 1);
}

void tk_buf_printf(tk_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < b->cap - b->len) {
        b->len += (size_t)n;
        return;
    }
    /* Too long: grow, then format again (the bytes written so far are
     * overwritten; the NUL at len is restored by the second pass). */
    if (!room(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tk_buf_u64(tk_buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    tk_buf_mem(b, tmp + i, sizeof(tmp) - i);
}

void tk_buf_i64(tk_buf *b, int64_t v)
{
    if (v < 0) {
        tk_buf_char(b, '-');
        /* -(v + 1) + 1 avoids negating INT64_MIN. */
        tk_buf_u64(b, (uint64_t)(-(v + 1)) + 1u);
        return;
    }
    tk_buf_u64(b, (uint64_t)v);
}

size_t tk_utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

/* One byte below 0x80 as JSON wants it inside a string. */
static void json_ascii(tk_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

    switch (c) {
    case '"':
        tk_buf_mem(b, "\\\"", 2);
        return;
    case '\\':
        tk_buf_mem(b, "\\\\", 2);
        return;
    case '\n':
        tk_buf_mem(b, "\\n", 2);
        return;
    case '\r':
        tk_buf_mem(b, "\\r", 2);
        return;
    case '\t':
        tk_buf_mem(b, "\\t", 2);
        return;
    default:
        break;
    }
    if (c >= 0x20 && c != 0x7f) {
        tk_buf_char(b, (char)c);
        return;
    }
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 0xf];
    tk_buf_mem(b, esc, sizeof(esc));
}

void tk_buf_json_str(tk_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    tk_buf_char(b, '"');
    while (*p) {
        size_t n = tk_utf8_seq(p);
        if (n == 1)
            json_ascii(b, *p);
        else if (n)
            tk_buf_mem(b, p, n);
        else
            tk_buf_mem(b, "\xEF\xBF\xBD", 3);
        p += n ? n : 1;
    }
    tk_buf_char(b, '"');
}

void tk_buf_json_double(tk_buf *b, double v)
{
    char tmp[40];
    int n;

    if (!isfinite(v)) {
        tk_buf_json_null(b);
        return;
    }
    if (v == trunc(v) && fabs(v) <= 9007199254740992.0) {
        tk_buf_i64(b, (int64_t)v);
        return;
    }
    n = snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (n > 0 && (size_t)n < sizeof(tmp))
        tk_buf_mem(b, tmp, (size_t)n);
    else
        tk_buf_json_null(b);
}

void tk_buf_json_float(tk_buf *b, float v)
{
    char tmp[40];
    int n;

    if (!isfinite(v)) {
        tk_buf_json_null(b);
        return;
    }
    if (v == truncf(v) && fabsf(v) <= 16777216.0f) {
        tk_buf_i64(b, (int64_t)v);
        return;
    }
    n = snprintf(tmp, sizeof(tmp), "%.9g", (double)v);
    if (n > 0 && (size_t)n < sizeof(tmp))
        tk_buf_mem(b, tmp, (size_t)n);
    else
        tk_buf_json_null(b);
}

void tk_buf_json_bool(tk_buf *b, bool v)
{
    if (v)
        tk_buf_mem(b, "true", 4);
    else
        tk_buf_mem(b, "false", 5);
}

void tk_buf_json_null(tk_buf *b)
{
    tk_buf_mem(b, "null", 4);
}

void tk_buf_json_key(tk_buf *b, const char *key)
{
    tk_buf_json_str(b, key);
    tk_buf_char(b, ':');
}

void tk_buf_csv_str(tk_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        tk_buf_str(b, s);
        return;
    }
    tk_buf_char(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            tk_buf_char(b, '"');
        tk_buf_char(b, *s);
    }
    tk_buf_char(b, '"');
}

int tk_buf_write(const tk_buf *b, int fd)
{
    size_t off = 0;

    while (off < b->len) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        off += (size_t)n;
    }
    return 0;
}
