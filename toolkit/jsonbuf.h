/* SPDX-License-Identifier: MIT */
/* A reusable text buffer with JSON and CSV writers, for output built every frame without allocating. */
#ifndef SHMCHOP_JSONBUF_H
#define SHMCHOP_JSONBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * jansson builds a tree of heap objects for every document, which is fine
 * for a tool that prints once but not for `watch`, which prints a line per
 * frame and must not allocate in its steady state. A tk_buf is one growable
 * byte buffer: it grows (allocates) only when a line is longer than every
 * line before it, so once the output has its shape no call allocates.
 *
 * Appending never fails on the spot: when growing fails the buffer is
 * marked `failed` and later appends are ignored; check tk_buf_failed()
 * once the line is complete. Numbers are formatted without the C library's
 * printf family for integers; doubles go through snprintf with a bounded
 * precision, which glibc formats in a stack buffer.
 */
typedef struct tk_buf {
    char *data; /* NUL-terminated after every append */
    size_t len;
    size_t cap;
    bool failed;
} tk_buf;

/* Allocate `cap` bytes up front (at least 64). Returns 0 or -ENOMEM. */
int tk_buf_init(tk_buf *b, size_t cap);
void tk_buf_free(tk_buf *b);

/* Empty the buffer for the next line (keeps the storage, clears `failed`). */
void tk_buf_reset(tk_buf *b);

static inline bool tk_buf_failed(const tk_buf *b)
{
    return b->failed;
}

/* Raw bytes, a raw string, one byte. */
void tk_buf_mem(tk_buf *b, const void *p, size_t n);
void tk_buf_str(tk_buf *b, const char *s);
void tk_buf_char(tk_buf *b, char c);

/* printf-style append (for human output; may use the C library's printf). */
void tk_buf_printf(tk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decimal integers. */
void tk_buf_u64(tk_buf *b, uint64_t v);
void tk_buf_i64(tk_buf *b, int64_t v);

/* ---- JSON values ---- */

/* A JSON string: quoted, with ", \ and control bytes escaped; bytes that
 * are not valid UTF-8 become U+FFFD (as tk_json_str() does). */
void tk_buf_json_str(tk_buf *b, const char *s);
/* A number: integers print exactly (up to 2^53), others with 15
 * significant digits; NaN and +-Inf print null. */
void tk_buf_json_double(tk_buf *b, double v);
/* A float32 sample: 9 significant digits, enough to give the same float
 * back; NaN and +-Inf print null. */
void tk_buf_json_float(tk_buf *b, float v);
void tk_buf_json_bool(tk_buf *b, bool v);
void tk_buf_json_null(tk_buf *b);
/* `"key":` (the key escaped like a string). */
void tk_buf_json_key(tk_buf *b, const char *key);

/* ---- CSV fields (RFC 4180) ---- */

/* s as one field: quoted when it holds a comma, a quote, CR or LF, with
 * quotes doubled. */
void tk_buf_csv_str(tk_buf *b, const char *s);

/* Write the whole buffer to fd (restarting on EINTR and short writes).
 * Returns 0 or -errno. */
int tk_buf_write(const tk_buf *b, int fd);

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0 when invalid:
 * no overlong forms, no surrogates, nothing past U+10FFFF. The NUL that
 * ends s fails every continuation test, so no read goes past it. */
size_t tk_utf8_seq(const unsigned char *s);

#endif
