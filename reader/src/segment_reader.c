/* SPDX-License-Identifier: MIT */
/* The reader side of a live segment: lazy attach, info checks, guarded copy out (R2.5-R2.11). */
#include <shmchop/segment.h>

#include "image_internal.h"
#include "payload_layout.h"
#include "shm_access.h"
#include "shm_info.h"
#include "shm_mutex.h"
#include "shm_object.h"
#include "shm_util.h"

#include <shmchop/image.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

/*
 * The lock-free copy is the reader half of the sequence lock (R1.17);
 * the protocol and the argument for it are in shm_access.h. After
 * seq_retries failures the reader takes the data mutex instead.
 */

struct shmchop_segment {
    char name[SHMCHOP_SHM_NAME_MAX + 1];
    shmchop_segment_opts o;
    const shmchop__payload_layout *lay; /* where seq, size, pid live (o.payload) */
    shmchop_shm_names names;
    char postfix[SHMCHOP_POSTFIX_SIZE];
    /* The info object's postfix bytes as the last locked check found them
     * healthy and unchanged (info_unchanged); known_raw false: none yet. */
    char info_raw[SHMCHOP_POSTFIX_SIZE];
    bool known_raw;
    bool attached, ever_attached;
    shmchop__mutex data_mx, info_mx;
    shmchop__info info;
    int data_fd;
    const unsigned char *data;
    size_t map_size;
    uint64_t next_probe_ns;     /* next fstat of the objects */
    uint64_t next_pid_probe_ns; /* next kill(pid, 0) */
    uint32_t probe_pid;
    int probe_alive;
    unsigned char *own;
    size_t own_cap;
    shmchop_segment_stats stats;
    char errmsg[SHMCHOP_MESSAGE_MAX];
};

static void drop(shmchop_segment *seg)
{
    if (seg->data)
        munmap((void *)seg->data, seg->map_size);
    if (seg->data_fd >= 0)
        close(seg->data_fd);
    seg->data = NULL;
    seg->data_fd = -1;
    seg->map_size = 0;
    shmchop__info_close(&seg->info);
    shmchop__mutex_close(&seg->data_mx);
    shmchop__mutex_close(&seg->info_mx);
    seg->postfix[0] = '\0';
    seg->known_raw = false;
    seg->attached = false;
    /* Forget the old writer too (R2.7a). */
    seg->probe_pid = 0;
    seg->probe_alive = -1;
}

int shmchop_segment_open(const char *name, const shmchop_segment_opts *opts,
                         shmchop_segment **out, char *err, size_t errlen)
{
    shmchop_segment *seg;
    int rc;

    *out = NULL;
    if ((rc = shmchop_shm_name_check(name, err, errlen)) != 0)
        return rc;
    if (opts && (opts->mode & ~07777u)) {
        shmchop__errf(err, errlen, "TouchSHM%s: mode 0%o is not a permission mode", name,
                      opts->mode);
        return SHMCHOP_E_USAGE;
    }
    if ((rc = shmchop__sigbus_install()) != 0) {
        shmchop__errf(err, errlen, "cannot install the SIGBUS handler: %s", strerror(-rc));
        return rc;
    }
    if (!shmchop__payload_layout_of(opts ? opts->payload : SHMCHOP_PAYLOAD_CHOP)) {
        shmchop__errf(err, errlen, "TouchSHM%s: payload %d is not a payload kind", name,
                      (int)opts->payload);
        return SHMCHOP_E_USAGE;
    }
    seg = calloc(1, sizeof(*seg));
    if (!seg)
        return -ENOMEM;
    snprintf(seg->name, sizeof(seg->name), "%s", name);
    if (opts)
        seg->o = *opts;
    seg->lay = shmchop__payload_layout_of(seg->o.payload);
    if (!seg->o.lock_timeout_ms)
        seg->o.lock_timeout_ms = SHMCHOP__LOCK_TIMEOUT_MS;
    if (!seg->o.seq_retries)
        seg->o.seq_retries = 64;
    if (!seg->o.probe_interval_ms)
        seg->o.probe_interval_ms = 500;
    if (!seg->o.heartbeat_timeout_ms)
        seg->o.heartbeat_timeout_ms = 2000;
    if (!seg->o.max_size || seg->o.max_size > INT32_MAX)
        seg->o.max_size = INT32_MAX;
    if (!seg->o.mode)
        seg->o.mode = SHMCHOP__DEFAULT_MODE;
    seg->data_fd = -1;
    seg->info.fd = -1;
    seg->probe_alive = -1;
    seg->stats.writer_alive = -1;
    shmchop_shm_names_make(name, NULL, &seg->names, NULL, 0);
    *out = seg;
    return 0;
}

void shmchop_segment_close(shmchop_segment *seg)
{
    if (!seg)
        return;
    drop(seg);
    free(seg->own);
    free(seg);
}

#define SERR(seg) (seg)->errmsg, sizeof((seg)->errmsg)

static void note_lock(shmchop_segment *seg, shmchop_segment_status *st,
                      const shmchop__lock_stats *ls, int rc)
{
    seg->stats.lock_breaks_total += ls->breaks;
    st->lock_wait_ms += ls->wait_ms;
    if (rc == SHMCHOP_E_LOCK_TIMEOUT)
        seg->stats.lock_timeouts_total++;
}

static void warn(shmchop_segment_status *st, const char *msg)
{
    if (st->n_warnings++ == 0)
        snprintf(st->warning, sizeof(st->warning), "%s", msg);
}

/* Open, check and map the data object named by the postfix; the caller
 * holds the info mutex, so the postfix cannot move meanwhile. */
static int open_data(shmchop_segment *seg, shmchop_segment_status *st)
{
    char w[SHMCHOP_MESSAGE_MAX];
    struct stat sb;
    int fd, rc;

    /* Kind before use (R2.12): a FIFO here fails at once, never waits. */
    rc = shmchop__obj_open(seg->names.data, O_RDONLY, &fd, &sb, SERR(seg));
    if (rc == -ENOENT) {
        shmchop__errf(SERR(seg), "%s: data object is missing", seg->names.data);
        return SHMCHOP_E_SEGMENT_GONE;
    }
    if (rc != 0)
        return rc;
    rc = shmchop__check_object(seg->names.data, &sb, seg->o.strict, w, sizeof(w));
    if (rc < 0) {
        shmchop__errf(SERR(seg), "%s", w);
        goto fail;
    }
    if (rc > 0)
        warn(st, w);
    if (shmchop__obj_check_links(&sb, seg->names.data, w, sizeof(w)) != 0)
        warn(st, w);
    rc = 0;
    if (sb.st_size == 0) {
        shmchop__errf(SERR(seg), "%s: has size 0 (being created?)", seg->names.data);
        rc = SHMCHOP_E_NOT_READY;
    } else if ((uint64_t)sb.st_size < seg->lay->min_size) {
        shmchop__errf(SERR(seg), "%s: size %lld is smaller than the %zu-byte header of a %s",
                      seg->names.data, (long long)sb.st_size, seg->lay->min_size,
                      seg->lay->what);
        rc = SHMCHOP_E_SEGMENT_SHORT;
    } else if ((uint64_t)sb.st_size > seg->o.max_size) {
        shmchop__errf(SERR(seg), "%s: size %lld exceeds the limit %zu", seg->names.data,
                      (long long)sb.st_size, seg->o.max_size);
        rc = SHMCHOP_E_LIMIT;
    }
    if (rc != 0)
        goto fail;
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        shmchop__errf(SERR(seg), "%s: cannot map: %s", seg->names.data, strerror(errno));
        goto fail;
    }
    seg->data = p;
    seg->data_fd = fd;
    seg->map_size = (size_t)sb.st_size;
    return 0;
fail:
    close(fd);
    return rc;
}

/* The info object was truncated under its mapping (R2.15): this read
 * fails, the next attaches from scratch (R2.7a). */
static int info_gone(shmchop_segment *seg)
{
    seg->stats.sigbus_total++;
    shmchop__errf(SERR(seg), "%s: info object was truncated under the reader", seg->info.name);
    return SHMCHOP_E_SEGMENT_GONE;
}

/* Under the info mutex: check the info (R2.5), set supported, and open
 * the data object it names. */
static int attach_locked(shmchop_segment *seg, shmchop_segment_status *st)
{
    shmchop__info_view v;
    char pf[SHMCHOP_POSTFIX_SIZE];
    int rc;

    if (shmchop__info_read(&seg->info, &v) != 0)
        return info_gone(seg);
    if (v.magic == 0) {
        shmchop__errf(SERR(seg), "%s: not initialised yet", seg->info.name);
        return SHMCHOP_E_NOT_READY;
    }
    if (v.magic != SHMCHOP_INFO_MAGIC || v.version != SHMCHOP_INFO_VERSION) {
        shmchop__errf(SERR(seg), "%s: magicNumber 0x%08X version %d, expected 0x%08X version %d",
                      seg->info.name, (unsigned)v.magic, v.version, SHMCHOP_INFO_MAGIC,
                      SHMCHOP_INFO_VERSION);
        return SHMCHOP_E_BAD_INFO;
    }
    if (shmchop__info_set_supported(&seg->info) != 0)
        return info_gone(seg);
    if (v.detach) {
        shmchop__errf(SERR(seg), "%s: writer detached", seg->info.name);
        return SHMCHOP_E_DETACHED;
    }
    if ((rc = shmchop__postfix_take(v.postfix_raw, pf, seg->info.name, SERR(seg))) != 0)
        return rc;
    shmchop_shm_names_make(seg->name, pf, &seg->names, NULL, 0);
    if ((rc = open_data(seg, st)) != 0)
        return rc;
    memcpy(seg->postfix, pf, sizeof(pf));
    return 0;
}

/* R2.5 from scratch (R2.7a). Creates no object but, when the info object
 * exists, a missing mutex object (R2.2, R2.8); never a postfixed one. */
static int attach(shmchop_segment *seg, shmchop_segment_status *st)
{
    char w[SHMCHOP_MESSAGE_MAX] = "";
    shmchop__lock_stats ls = { 0 };
    unsigned warned = 0;
    int rc;

    drop(seg);
    shmchop_shm_names_make(seg->name, NULL, &seg->names, NULL, 0);
    rc = shmchop__info_open(&seg->info, seg->names.info, true, seg->o.strict, &warned, w,
                            sizeof(w), SERR(seg));
    if (rc == -ENOENT) {
        shmchop__errf(SERR(seg), "no writer for %s", seg->name);
        return SHMCHOP_E_NO_WRITER;
    }
    if (rc != 0)
        return rc;
    if (warned)
        warn(st, w);
    rc = shmchop__mutex_open(&seg->info_mx, seg->names.info_mutex, true, seg->o.mode,
                             seg->o.lock_timeout_ms, SERR(seg));
    if (rc != 0)
        goto fail;
    rc = shmchop__mutex_lock(&seg->info_mx, seg->o.lock_timeout_ms, &ls, SERR(seg));
    note_lock(seg, st, &ls, rc);
    if (rc != 0)
        goto fail;
    rc = attach_locked(seg, st);
    shmchop__mutex_unlock(&seg->info_mx, NULL, 0);
    if (rc != 0)
        goto fail;
    rc = shmchop__mutex_open(&seg->data_mx, seg->names.data_mutex, true, seg->o.mode,
                             seg->o.lock_timeout_ms, SERR(seg));
    if (rc != 0)
        goto fail;
    seg->attached = true;
    if (seg->ever_attached)
        seg->stats.reattach_total++;
    seg->ever_attached = true;
    seg->next_probe_ns = shmchop__now_ns() + (uint64_t)seg->o.probe_interval_ms * 1000000u;
    st->attached = true;
    return 0;
fail:
    drop(seg);
    return rc;
}

/*
 * R2.7 without the info mutex, the steady state's check: the info object
 * exactly as the last locked check left it (the magic, supported, no
 * detach, the same postfix bytes) needs nothing more. The fields come in
 * one guarded copy (R2.15). A writer changing them meanwhile may leave
 * the copy torn, which reads as a change, and the locked check then reads
 * them whole; a change caught half-written and read as none is seen by
 * the next read, and this one copies a whole frame of the old object
 * (the sequence lock, or the data mutex), which the writer unlinks only
 * after the change.
 */
static bool info_unchanged(const shmchop_segment *seg)
{
    shmchop__info_view v;

    return seg->known_raw && shmchop__info_read(&seg->info, &v) == 0 &&
           v.magic == SHMCHOP_INFO_MAGIC && v.supported && !v.detach &&
           memcmp(v.postfix_raw, seg->info_raw, sizeof(seg->info_raw)) == 0;
}

/* R2.7: the info object, checked before every read. The inner mutex is
 * enough when nobody holds the R2.1 lock (see shmchop__mutex_peek). */
static int check_info(shmchop_segment *seg, shmchop_segment_status *st, bool *moved)
{
    shmchop__lock_stats ls = { 0 };
    shmchop__info_view v;
    char pf[SHMCHOP_POSTFIX_SIZE];
    bool got, peeked;
    int rc;

    *moved = false;
    if (info_unchanged(seg))
        return 0;
    rc = shmchop__mutex_peek(&seg->info_mx, seg->o.lock_timeout_ms, &ls, &got, SERR(seg));
    note_lock(seg, st, &ls, rc);
    if (rc != 0)
        return rc;
    peeked = got;
    if (!peeked) {
        rc = shmchop__mutex_lock(&seg->info_mx, seg->o.lock_timeout_ms, &ls, SERR(seg));
        note_lock(seg, st, &ls, rc);
        if (rc != 0)
            return rc;
    }
    rc = shmchop__info_read(&seg->info, &v);
    /* A peer restarted on the same info object clears supported: say
     * again that we follow postfixes. */
    if (rc == 0 && v.magic == SHMCHOP_INFO_MAGIC && !v.supported)
        rc = shmchop__info_set_supported(&seg->info);
    if (peeked)
        shmchop__mutex_peek_end(&seg->info_mx);
    else
        shmchop__mutex_unlock(&seg->info_mx, NULL, 0);
    if (rc != 0)
        return info_gone(seg);
    if (v.magic != SHMCHOP_INFO_MAGIC) {
        shmchop__errf(SERR(seg), "%s: magicNumber changed to 0x%08X", seg->info.name,
                      (unsigned)v.magic);
        return SHMCHOP_E_BAD_INFO;
    }
    if (v.detach) {
        shmchop__errf(SERR(seg), "%s: writer detached", seg->info.name);
        return SHMCHOP_E_DETACHED;
    }
    /* Compared after normalising: bytes after the NUL do not count. */
    if ((rc = shmchop__postfix_take(v.postfix_raw, pf, seg->info.name, SERR(seg))) != 0)
        return rc;
    if (strcmp(pf, seg->postfix) != 0) {
        *moved = true;
        return 0;
    }
    /* Healthy and unchanged: what the next reads compare with. */
    memcpy(seg->info_raw, v.postfix_raw, sizeof(seg->info_raw));
    seg->known_raw = true;
    return 0;
}

/* Every probe_interval_ms: did somebody unlink or truncate the objects
 * under our mappings (gc, a fault, a crash and a cleanup)? fstat is a
 * system call, hence the rate limit. Returns true when they did. */
static bool objects_vanished(shmchop_segment *seg)
{
    struct stat sb;

    if (fstat(seg->info.fd, &sb) != 0 || sb.st_nlink == 0) {
        shmchop__errf(SERR(seg), "%s: info object vanished", seg->info.name);
        return true;
    }
    if (fstat(seg->data_fd, &sb) != 0 || sb.st_nlink == 0) {
        shmchop__errf(SERR(seg), "%s: data object vanished", seg->names.data);
        return true;
    }
    if ((uint64_t)sb.st_size < seg->map_size) {
        shmchop__errf(SERR(seg), "%s: data object shrank from %zu to %lld bytes", seg->names.data,
                      seg->map_size, (long long)sb.st_size);
        return true;
    }
    return false;
}

enum copy_state { C_OK, C_ODD, C_CHANGED, C_NOEXT, C_SHORT };

struct copy_ctx {
    const shmchop__payload_layout *lay;
    const unsigned char *src;
    size_t map;
    unsigned char *dst;
    size_t n;          /* bytes copied */
    int64_t size_field;
    uint64_t s1;
    enum copy_state state;
    bool sum;          /* a CHOP image: CRC its data area on the way */
    size_t sum_off, sum_end;
    uint32_t crc;      /* of dst[sum_off, sum_end) */
};

/*
 * The data area the header of the copy claims, when it lies wholly after
 * the head (the extension block) and inside the bytes copied: the part of
 * the copy whose CRC the validation needs (SPEC 1.3). Anything else (an
 * image the parser will refuse, or one laid out oddly) gets no CRC here
 * and the validation reads its bytes itself.
 */
static void sum_range(struct copy_ctx *c)
{
    shmchop_header h;

    c->sum_off = c->sum_end = 0;
    c->crc = 0;
    if (!c->sum)
        return;
    shmchop_header_decode(c->dst, &h);
    if (h.channel_data_offset < (int32_t)c->lay->head || h.num_chans <= 0 || h.length <= 0)
        return;
    uint64_t off = (uint64_t)h.channel_data_offset;
    uint64_t samples = (uint64_t)h.num_chans * (uint64_t)h.length; /* < 2^62 */
    if (off > c->n || samples > (c->n - off) / 4)
        return;
    c->sum_off = (size_t)off;
    c->sum_end = (size_t)(off + samples * 4);
}

/*
 * Copy src[from, to) into dst a chunk at a time, and CRC each chunk's part
 * of the data area right after copying it, while it is still in L1: one
 * pass over the frame instead of a copy and then a CRC reading it back
 * (a 4 MB read took 1.57x a plain copy of it that way, the fused one
 * ~1.1x). The CRC is of dst, the private copy (R2.9).
 */
#define SUM_CHUNK ((size_t)16384)

static void copy_summing(struct copy_ctx *c, size_t from, size_t to)
{
    while (from < to) {
        size_t n = to - from < SUM_CHUNK ? to - from : SUM_CHUNK;
        memcpy(c->dst + from, c->src + from, n);
        size_t a = from > c->sum_off ? from : c->sum_off;
        size_t b = from + n < c->sum_end ? from + n : c->sum_end;
        if (a < b)
            c->crc = shmchop_crc32c(c->crc, c->dst + a, b - a);
        from += n;
    }
}

/* Bytes to copy for a header size field: the image, clamped to the object;
 * an absurd size still gets the header (min bytes) copied, for the parser
 * to report. */
static size_t copy_len(int64_t size, size_t min, size_t map, bool *short_)
{
    *short_ = false;
    if (size < (int64_t)min)
        return map < min ? map : min;
    if ((uint64_t)size > map) {
        *short_ = true;
        return map;
    }
    return (size_t)size;
}

static void seq_copy_fn(void *arg)
{
    struct copy_ctx *c = arg;
    const shmchop__payload_layout *l = c->lay;
    bool short_;

    /* Without the block (or the global magic), the seq offset is somebody's
     * data, not a seq: leave at once for the mutex (the copy re-checks the
     * magic below). */
    if (shmchop__img_load_u32(c->src, l->magic_off) != l->magic) {
        c->state = C_NOEXT;
        return;
    }
    c->s1 = shmchop__seq_read_begin_at(c->src, l->seq_off);
    if (c->s1 & 1) {
        c->state = C_ODD;
        return;
    }
    memcpy(c->dst, c->src, l->head); /* R2, first part */
    c->size_field = shmchop__payload_size(l, c->dst);
    if (!shmchop__payload_find(l, c->dst, l->head, NULL) || c->size_field < (int64_t)l->head) {
        c->state = C_NOEXT;
        return;
    }
    c->n = copy_len(c->size_field, l->min_size, c->map, &short_);
    sum_range(c);
    copy_summing(c, l->head, c->n); /* R2, the rest */
    if (shmchop__seq_read_retry_at(c->src, l->seq_off, c->s1)) {
        c->state = C_CHANGED;
        return;
    }
    memcpy(c->dst + l->seq_off, &c->s1, sizeof(c->s1));
    c->state = short_ ? C_SHORT : C_OK;
}

static void locked_copy_fn(void *arg)
{
    struct copy_ctx *c = arg;
    const size_t min = c->lay->min_size; /* open_data: map >= min */
    bool short_;

    memcpy(c->dst, c->src, min);
    c->size_field = shmchop__payload_size(c->lay, c->dst);
    c->n = copy_len(c->size_field, min, c->map, &short_);
    sum_range(c);
    if (c->n > min)
        copy_summing(c, min, c->n);
    c->state = short_ ? C_SHORT : C_OK;
}

static void retry_pause(unsigned attempt)
{
    /* Spin briefly (the writer is mid-copy, typically microseconds), then
     * give the CPU away so a preempted writer can finish. */
    if (attempt < 6) {
        for (unsigned i = 0; i < (8u << attempt); i++)
            cpu_relax();
    } else {
        sched_yield();
    }
}

static int gone(shmchop_segment *seg)
{
    seg->stats.sigbus_total++;
    shmchop__errf(SERR(seg), "%s: data object was truncated under the reader", seg->names.data);
    return SHMCHOP_E_SEGMENT_GONE;
}

/* R1.17: the sequence lock. Returns 0 with c->state C_OK/C_SHORT, 1 when
 * the caller must take the mutex instead, or an error. */
static int copy_seq(shmchop_segment *seg, struct copy_ctx *c, shmchop_segment_status *st)
{
    for (unsigned attempt = 0; attempt < seg->o.seq_retries; attempt++) {
        if (shmchop__guarded(seg->data, seg->map_size, seq_copy_fn, c) != 0)
            return gone(seg);
        if (c->state == C_OK || c->state == C_SHORT)
            return 0;
        if (c->state == C_NOEXT)
            return 1;
        st->torn_retries++;
        seg->stats.torn_retries_total++;
        retry_pause(attempt);
    }
    seg->stats.seq_fallbacks_total++;
    return 1;
}

/* R2.9: under the data mutex, bounded wait. */
static int copy_locked(shmchop_segment *seg, struct copy_ctx *c, shmchop_segment_status *st)
{
    shmchop__lock_stats ls = { 0 };
    int rc = shmchop__mutex_lock(&seg->data_mx, seg->o.lock_timeout_ms, &ls, SERR(seg));

    note_lock(seg, st, &ls, rc);
    if (rc != 0)
        return rc;
    rc = shmchop__guarded(seg->data, seg->map_size, locked_copy_fn, c);
    shmchop__mutex_unlock(&seg->data_mx, NULL, 0);
    return rc != 0 ? gone(seg) : 0;
}

static int copy_out(shmchop_segment *seg, void *buf, size_t *len, shmchop__payload_fields *f,
                    shmchop_segment_status *st)
{
    struct copy_ctx c = { .lay = seg->lay, .src = seg->data, .map = seg->map_size, .dst = buf,
                          .sum = seg->o.payload == SHMCHOP_PAYLOAD_CHOP };
    int rc = 1;

    if (!seg->o.no_seqlock && seg->map_size >= seg->lay->head) {
        rc = copy_seq(seg, &c, st);
        if (rc < 0)
            return rc;
        st->seqlock = rc == 0;
    }
    if (rc == 1 && (rc = copy_locked(seg, &c, st)) != 0)
        return rc;
    if (c.state == C_SHORT) {
        shmchop__errf(SERR(seg), "%s: image size %lld exceeds the object's %zu bytes",
                      seg->names.data, (long long)c.size_field, seg->map_size);
        return SHMCHOP_E_SEGMENT_SHORT;
    }
    st->has_ext = shmchop__payload_find(seg->lay, buf, c.n, f);
    st->seq = st->has_ext ? f->seq : 0;
    if (st->has_ext && !st->seqlock && (st->seq & 1)) {
        /* Under the mutex, yet mid-change: the writer died while writing
         * (its lock was broken) or writes without the lock. */
        shmchop__errf(SERR(seg), "%s: seq %llu is odd: the image was left half-written",
                      seg->names.data, (unsigned long long)st->seq);
        return SHMCHOP_E_TORN;
    }
    *len = c.n;
    st->data_crc = (shmchop_crc_span){ c.sum_off, c.sum_end - c.sum_off, c.crc };
    return 0;
}

/* R2.7b: liveness from the block's (or global header's) pid and heartbeat;
 * kill(pid, 0) at most every probe_interval_ms, or at once when the pid
 * changes. */
static void update_alive(shmchop_segment *seg, const shmchop__payload_fields *f, uint64_t now,
                         shmchop_segment_status *st)
{
    if (!st->has_ext) {
        st->writer_alive = -1;
        seg->stats.writer_pid = 0;
        return;
    }
    uint32_t pid = f->writer_pid;
    uint64_t hb = f->heartbeat_ns;
    if (pid != seg->probe_pid || now >= seg->next_pid_probe_ns) {
        seg->probe_alive = shmchop__pid_alive(pid, 0);
        seg->probe_pid = pid;
        seg->next_pid_probe_ns = now + (uint64_t)seg->o.probe_interval_ms * 1000000u;
    }
    int alive = seg->probe_alive;
    if (hb != 0 && alive != 0) {
        bool stale = now > hb && now - hb > (uint64_t)seg->o.heartbeat_timeout_ms * 1000000u;
        alive = stale ? 0 : 1;
    }
    st->writer_alive = alive;
    seg->stats.writer_pid = pid;
    seg->stats.seq = st->seq;
}

static void status_reset(shmchop_segment_status *st, int alive)
{
    st->code = 0;
    st->message[0] = '\0';
    st->n_warnings = 0;
    st->warning[0] = '\0';
    st->attached = false;
    st->seqlock = false;
    st->has_ext = false;
    st->seq = 0;
    st->torn_retries = 0;
    st->lock_wait_ms = 0;
    st->writer_alive = alive;
    st->data_crc = (shmchop_crc_span){ 0, 0, 0 };
}

/* Make sure we are attached to the writer's current data object. */
static int ensure_attached(shmchop_segment *seg, uint64_t now, shmchop_segment_status *st)
{
    bool moved = false;
    int rc;

    if (!seg->attached)
        return attach(seg, st);
    if ((rc = check_info(seg, st, &moved)) != 0)
        return rc;
    if (!moved && now >= seg->next_probe_ns) {
        seg->next_probe_ns = now + (uint64_t)seg->o.probe_interval_ms * 1000000u;
        if (objects_vanished(seg)) {
            /* A resize may have unlinked the old object just after the
             * check above: ask the info once more before calling it gone. */
            char why[SHMCHOP_MESSAGE_MAX];
            snprintf(why, sizeof(why), "%s", seg->errmsg);
            if ((rc = check_info(seg, st, &moved)) != 0)
                return rc;
            if (!moved) {
                /* An error for this cook; the next attaches from scratch
                 * (R2.7a). */
                snprintf(seg->errmsg, sizeof(seg->errmsg), "%s", why);
                drop(seg);
                return SHMCHOP_E_SEGMENT_GONE;
            }
        }
    }
    return moved ? attach(seg, st) : 0;
}

/* R2.16: a signal abandoned on a mutex object's cond is said once, as a
 * warning of the read that abandoned it. No system call. */
static void report_conds(shmchop_segment *seg, shmchop_segment_status *st)
{
    char msg[SHMCHOP_MESSAGE_MAX];

    if (shmchop__mutex_cond_report(&seg->info_mx, msg, sizeof(msg)))
        warn(st, msg);
    if (shmchop__mutex_cond_report(&seg->data_mx, msg, sizeof(msg)))
        warn(st, msg);
}

static int do_read(shmchop_segment *seg, void *buf, size_t cap, size_t *len,
                   shmchop_segment_status *st)
{
    uint64_t now = shmchop__now_ns();
    shmchop__payload_fields f = { 0 };
    int rc;

    *len = 0;
    seg->errmsg[0] = '\0';
    rc = ensure_attached(seg, now, st);
    if (rc == 0 && cap < seg->map_size) {
        *len = seg->map_size;
        shmchop__errf(SERR(seg), "%s: buffer of %zu bytes, %zu needed", seg->names.data, cap,
                      seg->map_size);
        return -ENOBUFS;
    }
    if (rc == 0)
        rc = copy_out(seg, buf, len, &f, st);
    report_conds(seg, st);
    if (rc == 0) {
        update_alive(seg, &f, now, st);
        return 0;
    }
    if (rc == SHMCHOP_E_NO_WRITER || rc == SHMCHOP_E_DETACHED)
        st->writer_alive = 0;
    /* A lock timeout says nothing about the attachment; anything else
     * makes the next read start from scratch (R2.7a). */
    if (rc != SHMCHOP_E_LOCK_TIMEOUT)
        drop(seg);
    return rc;
}

int shmchop_segment_read(shmchop_segment *seg, void *buf, size_t cap, size_t *len,
                         shmchop_segment_status *st)
{
    shmchop_segment_status local;
    size_t n = 0;
    int rc;

    if (!st)
        st = &local;
    status_reset(st, seg->stats.writer_alive);
    rc = do_read(seg, buf, cap, &n, st);
    if (len)
        *len = n;
    st->code = rc;
    if (rc != 0)
        snprintf(st->message, sizeof(st->message), "%s", seg->errmsg);
    seg->stats.reads_total++;
    if (rc != 0)
        seg->stats.reads_failed_total++;
    seg->stats.writer_alive = st->writer_alive;
    seg->stats.lock_wait_ms = st->lock_wait_ms;
    if (st->lock_wait_ms > seg->stats.lock_wait_ms_max)
        seg->stats.lock_wait_ms_max = st->lock_wait_ms;
    return rc;
}

/* ---- has it changed? (a busy poller's check before a read) ---- */

struct seq_peek {
    const shmchop__payload_layout *lay;
    const unsigned char *src;
    bool ext;
    uint64_t seq;
};

static void seq_peek_fn(void *arg)
{
    struct seq_peek *p = arg;

    p->ext = shmchop__img_load_u32(p->src, p->lay->magic_off) == p->lay->magic;
    if (p->ext)
        p->seq = shmchop__seq_read_begin_at(p->src, p->lay->seq_off);
}

/*
 * Only the sequence-lock word and the info object's postfix are looked
 * at, lock-free. Everything a read would find besides a new frame (a
 * resize or detach in the info object, an unlinked object or a dead
 * writer, found by the probes) makes the answer true: at the probes'
 * time, as the read would, so a poller sees them as soon as a reader
 * reading every time would.
 */
bool shmchop_segment_may_have_changed(const shmchop_segment *seg, uint64_t seq)
{
    struct seq_peek p = { .lay = seg->lay, .src = seg->data };
    uint64_t now;

    if (!seg->attached || seg->o.no_seqlock || !seg->data || seg->map_size < seg->lay->head ||
        !info_unchanged(seg))
        return true;
    now = shmchop__now_ns();
    if (now >= seg->next_probe_ns || now >= seg->next_pid_probe_ns)
        return true;
    if (shmchop__guarded(seg->data, seg->map_size, seq_peek_fn, &p) != 0 || !p.ext)
        return true;
    return p.seq != seq;
}

int shmchop_segment_read_grow(shmchop_segment *seg, void **buf, size_t *cap, size_t *len,
                              shmchop_segment_status *st)
{
    shmchop_segment_status local;
    unsigned saved_n = 0;
    char saved[SHMCHOP_MESSAGE_MAX];
    size_t n = 0;
    int rc;

    if (!st)
        st = &local;
    *len = 0;
    for (int round = 0; round < 3; round++) {
        rc = shmchop_segment_read(seg, *buf, *cap, &n, st);
        /* The read that attaches reports the R2.11 findings; when it only
         * says how large the buffer must be, the read that copies attaches
         * no more, so the findings are carried over to it. */
        if (st->n_warnings && !saved_n) {
            saved_n = st->n_warnings;
            snprintf(saved, sizeof(saved), "%s", st->warning);
        }
        if (rc != -ENOBUFS)
            break;
        /* Grows only when a (re)attachment maps a larger object. */
        void *p = realloc(*buf, n);
        if (!p)
            return -ENOMEM;
        *buf = p;
        *cap = n;
    }
    if (!st->n_warnings && saved_n) {
        st->n_warnings = saved_n;
        snprintf(st->warning, sizeof(st->warning), "%s", saved);
    }
    if (rc == 0)
        *len = n;
    return rc;
}

int shmchop_segment_read_owned(shmchop_segment *seg, const void **image, size_t *len,
                               shmchop_segment_status *st)
{
    void *own = seg->own;
    int rc = shmchop_segment_read_grow(seg, &own, &seg->own_cap, len, st);

    seg->own = own;
    *image = rc == 0 ? seg->own : NULL;
    return rc;
}

size_t shmchop_segment_capacity(const shmchop_segment *seg)
{
    return seg->attached ? seg->map_size : 0;
}

const char *shmchop_segment_name(const shmchop_segment *seg)
{
    return seg->name;
}

const char *shmchop_segment_errmsg(const shmchop_segment *seg)
{
    return seg->errmsg;
}

void shmchop_segment_get_stats(const shmchop_segment *seg, shmchop_segment_stats *st)
{
    *st = seg->stats;
    st->attached = seg->attached;
    st->mapped_size = seg->attached ? seg->map_size : 0;
    memcpy(st->postfix, seg->postfix, sizeof(st->postfix));
    memcpy(st->data_name, seg->names.data, sizeof(st->data_name));
}
