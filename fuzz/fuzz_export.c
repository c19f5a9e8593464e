/* SPDX-License-Identifier: MIT */
/* Fuzz harness: export tables parsed and bound to channels (SPEC R4.13-R4.14). */

/*
 * Input: byte 0 chooses the method (bits 0-1, 3 = autoname), the root
 * (bit 2: "/" or "/root/") and the output length (bits 4-5: 1..4 samples).
 * The rest is the table text; when it holds a line "%%", the lines after
 * it are the channel names instead of a fixed set (at most MAX_NAMES, each
 * cut to a legal name as the image parser would make it). The table gets
 * an exact-size heap copy, so a read past it is an ASan report.
 *
 * Beyond "never crash, never hang, never leak" it checks the contract of
 * export.h: the load and update never fail (a bad table is a warning,
 * R4.14); messages are one line; bindings name a real channel, in channel
 * order, at most one each, with non-empty strings and absolute paths under
 * an absolute root, and the channel's last sample as value; a malformed
 * table binds nothing; export_sernum moves only when the set changes (not
 * on new values, not on reloading the same text, not on a round trip of
 * methods that ends where it started); a CHOP of length 0 binds nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/chop.h>
#include <shmchop/error.h>
#include <shmchop/export.h>

#include "fuzz_common.h"

#define MAX_NAMES 64
#define NAMES_SEP "\n%%\n"

static const char *const DEFAULT_NAMES[] = { "tx", "ty", "tz", "geo1:tx", "/a/b:c", "chan1" };

/* Legal channel-name bytes (R1.14); others become '_' as the parser does. */
static char legal(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '_' || c == ':' || c == '/')
        return c;
    return '_';
}

/* Packed names: the fixed set, or the input's lines after "%%". */
static size_t pack_names(const uint8_t *s, size_t n, bool given, char *out, uint32_t *count)
{
    size_t o = 0;
    *count = 0;
    if (!given) {
        for (size_t i = 0; i < sizeof DEFAULT_NAMES / sizeof DEFAULT_NAMES[0]; i++) {
            size_t l = strlen(DEFAULT_NAMES[i]) + 1;
            memcpy(out + o, DEFAULT_NAMES[i], l);
            o += l;
            ++*count;
        }
        return o;
    }
    for (size_t pos = 0; pos < n && *count < MAX_NAMES;) {
        const uint8_t *nl = memchr(s + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (s + pos)) : n - pos;
        size_t keep = len < SHMCHOP_NAME_MAX ? len : SHMCHOP_NAME_MAX;
        if (keep) { /* an empty name is not a name (R1.14) */
            for (size_t k = 0; k < keep; k++)
                out[o++] = legal((char)s[pos + k]);
            out[o++] = '\0';
            ++*count;
        }
        pos += len + 1;
    }
    return o;
}

static void fill(shmchop_chop *c, const char *names, size_t bytes, uint32_t count,
                 uint32_t length, float base)
{
    FUZZ_CHECK_EQ(shmchop_chop_reserve(c, count, length, bytes), 0);
    FUZZ_CHECK_EQ(shmchop_chop_set_names(c, names, bytes), 0);
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t j = 0; j < length; j++)
            shmchop_chop_channel(c, i)[j] = base + (float)i * 1.5f + (float)j;
    c->rate = 60;
}

static void check_line(const char *msg)
{
    FUZZ_CHECK(msg != NULL);
    FUZZ_CHECK(strchr(msg, '\n') == NULL && strchr(msg, '\r') == NULL);
}

/* Update: never an error, warnings one line each. */
static void update(shmchop_export *ex, const shmchop_chop *c)
{
    static shmchop_diag d;
    shmchop_diag_clear(&d);
    int rc = shmchop_export_update(ex, c, &d);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    FUZZ_CHECK(rc != 0 || d.n_errors == 0);
    for (unsigned k = 0; k < shmchop_diag_kept_warnings(&d); k++) {
        check_line(d.warnings[k].message);
        FUZZ_CHECK(d.warnings[k].message[0] != '\0');
    }
}

/* FNV-1a over the binding set (channel, path, parameter). */
static uint64_t set_hash(const shmchop_export *ex)
{
    const shmchop_binding *b;
    uint32_t n = shmchop_export_bindings(ex, &b);
    uint64_t h = 1469598103934665603ull;
    for (uint32_t k = 0; k < n; k++) {
        const char *parts[2] = { b[k].path, b[k].parameter };
        h = (h ^ b[k].channel) * 1099511628211ull;
        for (int p = 0; p < 2; p++)
            for (const char *s = parts[p];; s++) {
                h = (h ^ (unsigned char)*s) * 1099511628211ull;
                if (!*s)
                    break;
            }
    }
    return h ^ n;
}

static void check_bindings(const shmchop_export *ex, const shmchop_chop *c)
{
    const shmchop_binding *b;
    uint32_t n = shmchop_export_bindings(ex, &b);
    const char *msg;
    int code = shmchop_export_warning(ex, &msg);

    check_line(msg);
    FUZZ_CHECK(code == 0 || code == SHMCHOP_E_BAD_TABLE || code == SHMCHOP_E_LIMIT);
    FUZZ_CHECK((code == 0) == (msg[0] == '\0'));
    /* A malformed table binds nothing; only a repeated datname name warns
     * and still binds. */
    if (code == SHMCHOP_E_BAD_TABLE && !strstr(msg, "is listed again"))
        FUZZ_CHECK_EQ(n, 0);
    if (c->length == 0)
        FUZZ_CHECK_EQ(n, 0);
    for (uint32_t k = 0; k < n; k++) {
        FUZZ_CHECK(b[k].channel < c->num_chans);
        FUZZ_CHECK(k == 0 || b[k].channel > b[k - 1].channel);
        FUZZ_CHECK(b[k].path[0] == '/'); /* the roots used are absolute */
        FUZZ_CHECK(b[k].parameter[0] != '\0');
        float last = shmchop_chop_channel(c, b[k].channel)[c->length - 1];
        FUZZ_CHECK(b[k].value == (double)last);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    data++, size--;
    shmchop_exportmethod method = (shmchop_exportmethod)((flags & 3) % 3);
    const char *root = flags & 4 ? "/root/" : "/";
    uint32_t length = 1 + ((flags >> 4) & 3);

    const uint8_t *sep = memmem(data, size, NAMES_SEP, strlen(NAMES_SEP));
    size_t tlen = sep ? (size_t)(sep - data) : size;
    char *text = malloc(tlen ? tlen : 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, tlen);

    static char names[MAX_NAMES * (SHMCHOP_NAME_MAX + 1)];
    uint32_t count;
    size_t after = sep ? (size_t)(sep - data) + strlen(NAMES_SEP) : size;
    size_t nbytes = pack_names(data + after, size - after, sep != NULL, names, &count);

    shmchop_export *ex = NULL;
    char err[256];
    FUZZ_CHECK_EQ(shmchop_export_open(method, root, NULL, &ex, err, sizeof err), 0);
    int rc = shmchop_export_load_text(ex, text, tlen, "fuzz.csv");
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);

    shmchop_chop c;
    shmchop_chop_init(&c);
    fill(&c, names, nbytes, count, length, 0);
    update(ex, &c);
    check_bindings(ex, &c);
    uint64_t sn = shmchop_export_sernum(ex), h = set_hash(ex);
    FUZZ_CHECK(sn <= 1);
    FUZZ_CHECK(sn == 1 || shmchop_export_bindings(ex, NULL) == 0);

    /* New values: same set, same storage. */
    const shmchop_binding *b0, *b1;
    shmchop_export_bindings(ex, &b0);
    fill(&c, names, nbytes, count, length, 7.25f);
    update(ex, &c);
    check_bindings(ex, &c);
    shmchop_export_bindings(ex, &b1);
    FUZZ_CHECK(b0 == b1);
    FUZZ_CHECK_EQ(shmchop_export_sernum(ex), sn);

    /* The same text again: same set. */
    FUZZ_CHECK(shmchop_export_load_text(ex, text, tlen, "fuzz.csv") == 0);
    update(ex, &c);
    FUZZ_CHECK_EQ(shmchop_export_sernum(ex), sn);
    FUZZ_CHECK(set_hash(ex) == h);

    /* A round trip through the other methods ends with the same set. */
    for (int k = 1; k <= 3; k++) {
        shmchop_exportmethod m = (shmchop_exportmethod)(((int)method + k) % 3);
        FUZZ_CHECK_EQ(shmchop_export_configure(ex, m, root, NULL, err, sizeof err), 0);
        update(ex, &c);
        check_bindings(ex, &c);
    }
    FUZZ_CHECK(set_hash(ex) == h);

    /* No samples: nothing to export. */
    fill(&c, names, nbytes, count, 0, 0);
    update(ex, &c);
    check_bindings(ex, &c);

    shmchop_chop_free(&c);
    shmchop_export_close(ex);
    free(text);
    return 0;
}
