/* SPDX-License-Identifier: MIT */
/* The peers users would pick instead, carrying the same frame bytes: a pipe, a Unix socket, libzmq ipc, liblo OSC over UDP. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/image.h>

#ifdef SHMCHOP_BENCH_HAVE_LIBLO
#include <arpa/inet.h>
#include <lo/lo.h>
#include <netinet/in.h>
#endif
#ifdef SHMCHOP_BENCH_HAVE_ZMQ
#include <zmq.h>
#endif

/*
 * Every peer row moves the frame of its shape (the image latency_<shape>
 * publishes, extension block and all) from the parent to a forked child
 * over the peer's transport, and the child answers with one byte over the
 * same transport: one-way = RTT / 2, as latency_<shape> reports it. The
 * child also stores the time it held the frame, so the aux series is the
 * direct one-way time. The receiver validates the first frame (the bytes
 * arrive intact) and then only checks each frame's number: a shmchop
 * reader validates every frame, so this flatters the peers.
 */

#define PEER_TIMEOUT_MS 5000
#define PEER_REAP_MS 8000
#define PEER_STOP UINT64_MAX
#define OSC_PATH "/shmchop/chop"
#define UDP_MAX 65507 /* the largest IPv4 UDP payload */

enum { PEER_PIPE, PEER_UDS, PEER_ZMQ, PEER_OSC };

/* Both ends of a transport; each process closes the ends it does not use. */
typedef struct peer_link {
    int fd[4];           /* pipe: p2c[0..1], c2p[0..1]; sockets: fd[0] parent, fd[1] child */
    int in, out;         /* this process's ends (the same fd for sockets) */
    void *zctx, *zsock;  /* libzmq, made after fork in each process */
    char path[108], ep[128];
    bool child;
#ifdef SHMCHOP_BENCH_HAVE_ZMQ
    zmq_msg_t msg; /* the child's last frame */
    bool msg_live;
#endif
#ifdef SHMCHOP_BENCH_HAVE_LIBLO
    unsigned char *wire; /* one serialised message */
    lo_message osc;      /* the child's last frame */
#endif
} peer_link;

typedef struct peer_transport {
    const char *what; /* for the note */
    int (*open)(peer_link *l);                                /* before fork */
    int (*side)(peer_link *l, bool child);                    /* after fork */
    int (*send)(peer_link *l, const void *frame, size_t len); /* parent */
    /* child: the next frame, at *data (buf, or the library's own buffer,
     * valid until the next call); returns its length, 0 to stop, or -1 */
    ssize_t (*recv)(peer_link *l, void *buf, size_t cap, const void **data);
    int (*ack)(peer_link *l);                                 /* child */
    int (*wait_ack)(peer_link *l);                            /* parent */
    void (*stop)(peer_link *l);                               /* parent */
    void (*close)(peer_link *l);
} peer_transport;

typedef struct peer_shared {
    bench_line seen; /* v = the frame the child holds, aux = when */
    bench_line fail; /* v = the child's exit code when it fails */
    bench_line cpu;  /* the child's CPU */
} peer_shared;

static void close_fds(peer_link *l)
{
    for (int i = 0; i < 4; i++) {
        if (l->fd[i] >= 0)
            close(l->fd[i]);
        l->fd[i] = -1;
    }
}

/* ---- byte streams: a pipe pair and a Unix stream socket ---------------------- */

/*
 * A frame is a 4-byte length and the bytes, written with one writev and
 * read with one readv into [length, buffer] while the stream has them: a
 * small frame costs each side one system call. The parent sends nothing
 * until it has the answer, so a read never takes bytes of the next frame.
 * Closing the parent's end is the stop.
 */
/* Step past w bytes written of the vector. */
static void iov_advance(struct iovec **iov, int *cnt, size_t w)
{
    while (*cnt > 0 && w >= (*iov)->iov_len) {
        w -= (*iov)->iov_len;
        (*iov)++;
        (*cnt)--;
    }
    if (*cnt > 0) {
        (*iov)->iov_base = (char *)(*iov)->iov_base + w;
        (*iov)->iov_len -= w;
    }
}

static int stream_send(peer_link *l, const void *frame, size_t len)
{
    uint32_t n = (uint32_t)len;
    struct iovec vec[2] = { { &n, sizeof(n) }, { (void *)frame, len } }, *iov = vec;
    int cnt = 2;

    while (cnt > 0) {
        ssize_t w = writev(l->out, iov, cnt);
        if (w <= 0)
            return -1; /* EINTR too: only the watchdog interrupts us */
        iov_advance(&iov, &cnt, (size_t)w);
    }
    return 0;
}

static ssize_t stream_recv(peer_link *l, void *buf, size_t cap, const void **data)
{
    uint32_t n = 0;
    struct iovec iov[2] = { { &n, sizeof(n) }, { buf, cap } };
    ssize_t r = readv(l->in, iov, 2);
    size_t got;

    if (r == 0)
        return 0; /* the parent closed: stop */
    if (r < (ssize_t)sizeof(n)) {
        /* a short first read: finish the length, then the bytes */
        if (r < 0)
            return -1;
        for (got = (size_t)r; got < sizeof(n); got += (size_t)r)
            if ((r = read(l->in, (char *)&n + got, sizeof(n) - got)) <= 0)
                return -1;
        r = sizeof(n);
    }
    if (n == 0 || n > cap)
        return -1;
    for (got = (size_t)r - sizeof(n); got < n; got += (size_t)r)
        if ((r = read(l->in, (char *)buf + got, n - got)) <= 0)
            return -1;
    *data = buf;
    return (ssize_t)n;
}

static int byte_ack(peer_link *l)
{
    return write(l->out, "a", 1) == 1 ? 0 : -1;
}

static int byte_wait_ack(peer_link *l)
{
    char b;
    return read(l->in, &b, 1) == 1 ? 0 : -1;
}

static void stream_stop(peer_link *l)
{
    if (l->out < 0)
        return;
    if (l->out == l->in) {
        shutdown(l->out, SHUT_WR);
    } else {
        close(l->out); /* the parent's p2c end: fd[1] */
        l->fd[1] = -1;
        l->out = -1;
    }
}

static int pipe_open(peer_link *l)
{
    if (pipe(l->fd) != 0 || pipe(l->fd + 2) != 0)
        return -1;
    return 0;
}

/* Each process holds only its own ends, so a dead peer is EOF, never a
 * wait. p2c = fd[0..1], c2p = fd[2..3]. */
static int pipe_side(peer_link *l, bool child)
{
    int keep_in = child ? 0 : 2, keep_out = child ? 3 : 1;

    for (int i = 0; i < 4; i++) {
        if (i != keep_in && i != keep_out) {
            close(l->fd[i]);
            l->fd[i] = -1;
        }
    }
    l->in = l->fd[keep_in];
    l->out = l->fd[keep_out];
    return 0;
}

/* A receive and send timeout bound every wait without a poll() per message. */
static int set_timeouts(int fd)
{
    struct timeval tv = { .tv_sec = PEER_TIMEOUT_MS / 1000 };

    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        return -1;
    return 0;
}

/* socketpair() is the kernel path of a connected AF_UNIX stream socket,
 * without a name in the file system to clean up. */
static int uds_open(peer_link *l)
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->fd) != 0)
        return -1;
    return set_timeouts(l->fd[0]) || set_timeouts(l->fd[1]) ? -1 : 0;
}

static int socket_side(peer_link *l, bool child)
{
    int mine = child ? 1 : 0;

    close(l->fd[1 - mine]);
    l->fd[1 - mine] = -1;
    l->in = l->out = l->fd[mine];
    return 0;
}

static const peer_transport g_pipe = {
    "two pipes, the frame with a 4-byte length one way, 1 byte back",
    pipe_open, pipe_side, stream_send, stream_recv, byte_ack, byte_wait_ack, stream_stop, close_fds,
};

static const peer_transport g_uds = {
    "an AF_UNIX stream socket pair, the frame with a 4-byte length one way, 1 byte back",
    uds_open, socket_side, stream_send, stream_recv, byte_ack, byte_wait_ack, stream_stop, close_fds,
};

/* ---- libzmq ------------------------------------------------------------------- */

#ifdef SHMCHOP_BENCH_HAVE_ZMQ

static int zmq_open_path(peer_link *l)
{
    bench_ipc_path(l->path, sizeof(l->path));
    snprintf(l->ep, sizeof(l->ep), "ipc://%s", l->path);
    return 0;
}

/* A context is never carried across fork(): each side makes its own, a
 * PAIR socket with every wait bounded and nothing kept at close. */
static int zmq_side(peer_link *l, bool child)
{
    int t = PEER_TIMEOUT_MS, zero = 0;

    l->child = child;
    if ((l->zctx = zmq_ctx_new()) == NULL || (l->zsock = zmq_socket(l->zctx, ZMQ_PAIR)) == NULL)
        return -1;
    zmq_setsockopt(l->zsock, ZMQ_RCVTIMEO, &t, sizeof(t));
    zmq_setsockopt(l->zsock, ZMQ_SNDTIMEO, &t, sizeof(t));
    zmq_setsockopt(l->zsock, ZMQ_LINGER, &zero, sizeof(zero));
    return child ? zmq_connect(l->zsock, l->ep) : zmq_bind(l->zsock, l->ep);
}

static int zmq_send_frame(peer_link *l, const void *frame, size_t len)
{
    return zmq_send(l->zsock, frame, len, 0) == (int)len ? 0 : -1;
}

/* The frame stays in libzmq's message: a zmq user reads it in place. */
static ssize_t zmq_recv_frame(peer_link *l, void *buf, size_t cap, const void **data)
{
    (void)buf;
    if (l->msg_live)
        zmq_msg_close(&l->msg);
    zmq_msg_init(&l->msg);
    l->msg_live = true;
    if (zmq_msg_recv(&l->msg, l->zsock, 0) < 0)
        return -1;
    if (zmq_msg_size(&l->msg) > cap)
        return -1;
    *data = zmq_msg_data(&l->msg);
    return (ssize_t)zmq_msg_size(&l->msg); /* 0: the stop message */
}

static int zmq_ack(peer_link *l)
{
    return zmq_send(l->zsock, "a", 1, 0) == 1 ? 0 : -1;
}

static int zmq_wait_ack(peer_link *l)
{
    char b;
    return zmq_recv(l->zsock, &b, 1, 0) == 1 ? 0 : -1;
}

static void zmq_stop(peer_link *l)
{
    if (l->zsock)
        zmq_send(l->zsock, NULL, 0, 0);
}

static void zmq_close_all(peer_link *l)
{
    if (l->msg_live)
        zmq_msg_close(&l->msg);
    l->msg_live = false;
    if (l->zsock)
        zmq_close(l->zsock);
    if (l->zctx)
        zmq_ctx_term(l->zctx);
    l->zsock = l->zctx = NULL;
    if (!l->child && l->path[0])
        unlink(l->path);
}

static const peer_transport g_zmq = {
    "libzmq ZMQ_PAIR over ipc://, the frame as one message, 1 byte back",
    zmq_open_path, zmq_side, zmq_send_frame, zmq_recv_frame, zmq_ack, zmq_wait_ack, zmq_stop,
    zmq_close_all,
};
#define ZMQ_TRANSPORT (&g_zmq)
#else
#define ZMQ_TRANSPORT NULL
#endif

/* ---- liblo -------------------------------------------------------------------- */

/* Bytes of an OSC message OSC_PATH with one blob of n bytes: the path and
 * the type tag ",b" NUL-padded to 4, the blob's size and its data padded. */
static size_t osc_message_bytes(size_t n)
{
    size_t pad4 = 3;
    return ((sizeof(OSC_PATH) + pad4) & ~pad4) + 4 + 4 + ((n + pad4) & ~pad4);
}

#ifdef SHMCHOP_BENCH_HAVE_LIBLO

/*
 * liblo's own server (lo_server_new) binds the wildcard address, and this
 * benchmark must never listen beyond loopback. So the sockets are ours,
 * bound to 127.0.0.1 and connected to each other, and liblo does what an
 * OSC sender and receiver do per message: build the blob and the message,
 * serialise, deserialise, hand out the blob. Its server's dispatch (method
 * lookup, source address formatting) is left out, which only flatters it.
 */
static int udp_socket(struct sockaddr_in *addr)
{
    socklen_t alen = sizeof(*addr);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr->sin_port = 0; /* the kernel picks a free port */
    if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) != 0 ||
        getsockname(fd, (struct sockaddr *)addr, &alen) != 0 || set_timeouts(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int osc_open(peer_link *l)
{
    struct sockaddr_in a, b;

    if ((l->wire = malloc(UDP_MAX)) == NULL)
        return -1;
    l->fd[0] = udp_socket(&a);
    l->fd[1] = udp_socket(&b);
    if (l->fd[0] < 0 || l->fd[1] < 0 || connect(l->fd[0], (struct sockaddr *)&b, sizeof(b)) != 0 ||
        connect(l->fd[1], (struct sockaddr *)&a, sizeof(a)) != 0)
        return -1;
    return 0;
}

/* One OSC message with one blob: the frame. */
static int osc_send(peer_link *l, const void *frame, size_t len)
{
    lo_blob b = lo_blob_new((int32_t)len, frame);
    lo_message m = lo_message_new();
    size_t n = 0;
    int rc = -1;

    if (!b || !m || lo_message_add_blob(m, b) != 0)
        goto out;
    n = lo_message_length(m, OSC_PATH);
    if (n > UDP_MAX || !lo_message_serialise(m, OSC_PATH, l->wire, &n))
        goto out;
    rc = send(l->out, l->wire, n, 0) == (ssize_t)n ? 0 : -1;
out:
    if (m)
        lo_message_free(m);
    if (b)
        lo_blob_free(b);
    return rc;
}

/* The blob stays in liblo's message until the next frame. A 1-byte
 * datagram is the stop. */
static ssize_t osc_recv(peer_link *l, void *buf, size_t cap, const void **data)
{
    ssize_t r = recv(l->in, l->wire, UDP_MAX, 0);
    lo_arg **argv;
    const char *types;
    int res = 0;

    (void)buf;
    if (r == 1)
        return 0;
    if (l->osc)
        lo_message_free(l->osc);
    if (r <= 0 || (l->osc = lo_message_deserialise(l->wire, (size_t)r, &res)) == NULL)
        return -1;
    types = lo_message_get_types(l->osc);
    argv = lo_message_get_argv(l->osc);
    if (!types || strcmp(types, "b") != 0 || argv[0]->blob.size < 0 ||
        (size_t)argv[0]->blob.size > cap)
        return -1;
    *data = &argv[0]->blob.data;
    return argv[0]->blob.size;
}

static int udp_byte(peer_link *l, const char *b)
{
    return send(l->out, b, 1, 0) == 1 ? 0 : -1;
}

static int osc_ack(peer_link *l)
{
    return udp_byte(l, "a");
}

static int osc_wait_ack(peer_link *l)
{
    char b;
    return recv(l->in, &b, 1, 0) == 1 ? 0 : -1;
}

static void osc_stop(peer_link *l)
{
    if (l->out >= 0)
        udp_byte(l, "q");
}

static void osc_close(peer_link *l)
{
    if (l->osc)
        lo_message_free(l->osc);
    l->osc = NULL;
    free(l->wire);
    l->wire = NULL;
    close_fds(l);
}

static const peer_transport g_osc = {
    "liblo: the frame as one OSC blob in one UDP datagram over 127.0.0.1, 1 byte back",
    osc_open, socket_side, osc_send, osc_recv, osc_ack, osc_wait_ack, osc_stop, osc_close,
};
#define OSC_TRANSPORT (&g_osc)
#else
#define OSC_TRANSPORT NULL
#endif

/* ---- the row ------------------------------------------------------------------- */

static const peer_transport *const g_transports[] = {
    [PEER_PIPE] = &g_pipe, [PEER_UDS] = &g_uds, [PEER_ZMQ] = ZMQ_TRANSPORT, [PEER_OSC] = OSC_TRANSPORT,
};

typedef struct peer_run {
    const peer_transport *t;
    peer_link link;
    peer_shared *sh;
    void *img;
    size_t len;
    uint64_t frame, same_cpu, trips;
} peer_run;

static uint64_t frame_of(const void *img)
{
    uint64_t f;
    memcpy(&f, (const unsigned char *)img + SHMCHOP_OFF_EXT_FRAME, sizeof(f));
    return f; /* little-endian, like the host */
}

static _Noreturn void child_fail(peer_run *p, int code)
{
    __atomic_store_n(&p->sh->fail.v, (uint64_t)code, __ATOMIC_RELEASE);
    _exit(code);
}

/* Exit codes of the receiving child, for the parent's message. */
enum { CHILD_SETUP = 5, CHILD_RECV = 3, CHILD_BYTES = 4, CHILD_ACK = 6 };

static const char *child_failure(uint64_t code)
{
    switch (code) {
    case CHILD_SETUP: return "could not set up its end";
    case CHILD_RECV: return "a receive failed or came short";
    case CHILD_BYTES: return "the frame arrived changed";
    case CHILD_ACK: return "its answer could not be sent";
    default: return "failed";
    }
}

/* The receiver: the first frame must be the bytes the parent built (it has
 * them since the fork), every later one the next frame number. */
static _Noreturn void peer_child(peer_run *p)
{
    peer_link *l = &p->link;
    void *buf = malloc(p->len);
    const void *data = NULL;
    int cpu = -1;

    if (!buf || p->t->side(l, true) != 0)
        child_fail(p, CHILD_SETUP);
    for (uint64_t k = 0;; k++) {
        ssize_t n = p->t->recv(l, buf, p->len, &data);
        if (n == 0)
            break;
        if (n != (ssize_t)p->len)
            child_fail(p, CHILD_RECV);
        if (k == 0 ? memcmp(data, p->img, p->len) != 0 : frame_of(data) != k + 1)
            child_fail(p, CHILD_BYTES);
        p->sh->seen.aux = shmchop_clock_ns();
        __atomic_store_n(&p->sh->seen.v, k + 1, __ATOMIC_RELEASE);
        cpu_publish(&p->sh->cpu, &cpu);
        if (p->t->ack(l) != 0)
            child_fail(p, CHILD_ACK);
    }
    p->t->close(l);
    free(buf);
    _exit(0);
}

static int trip_failed(bench_ctx *c, peer_run *p, const char *step)
{
    uint64_t code = __atomic_load_n(&p->sh->fail.v, __ATOMIC_ACQUIRE);

    if (code)
        return bench_fail(c, "receiver of frame %" PRIu64 ": %s", p->frame, child_failure(code));
    return bench_fail(c, "frame %" PRIu64 ": %s: %s", p->frame, step,
                      errno == EINTR ? "no answer in time (watchdog)" : strerror(errno));
}

static int peer_trip(bench_ctx *c, peer_run *p)
{
    uint64_t t0 = shmchop_clock_ns();

    p->frame++;
    if (p->frame > 1) /* frame 1 goes as built: the child compares its bytes */
        bench_image_set_frame(p->img, p->frame, (int64_t)p->frame, t0);
    errno = 0;
    if (p->t->send(&p->link, p->img, p->len) != 0)
        return trip_failed(c, p, "send");
    if (p->t->wait_ack(&p->link) != 0)
        return trip_failed(c, p, "waiting for the answer");
    uint64_t t1 = shmchop_clock_ns();
    if (__atomic_load_n(&p->sh->seen.v, __ATOMIC_ACQUIRE) != p->frame)
        return bench_fail(c, "answered frame %" PRIu64 " without holding it", p->frame);
    bench_record(c, (double)(t1 - t0) / 2.0, 1);
    bench_record_aux(c, (double)(p->sh->seen.aux - t0));
    cpu_compare(c, &p->sh->cpu, &p->same_cpu, &p->trips);
    return 0;
}

/* Pipes have no receive timeout: the row's watchdog bounds the parent's
 * waits. (The child needs none: it dies with the parent and reads EOF
 * when the parent closes.) */
static int peer_loop(bench_ctx *c, peer_run *p)
{
    bench_watchdog_arm(c, PEER_TIMEOUT_MS);
    if (peer_trip(c, p) == 0) {
        while (bench_running(c) && peer_trip(c, p) == 0) {
        }
    }
    bench_watchdog_disarm();
    p->t->stop(&p->link);
    cpu_note(c, p->same_cpu, p->trips);
    return c->err[0] ? -1 : 0;
}

int bench_peer(bench_ctx *c)
{
    peer_run p = { .t = g_transports[c->def->variant] };
    pid_t pid = -1;
    int rc = -1;

    memset(p.link.fd, -1, sizeof(p.link.fd));
    p.link.in = p.link.out = -1;
    p.img = bench_shape_image(c->def, 1, 1, false, &p.len);
    p.sh = bench_shared_alloc(sizeof(peer_shared));
    if (!p.img || !p.sh) {
        bench_fail(c, "out of memory");
        goto out;
    }
    p.sh->cpu.v = UINT64_MAX;
    if (p.t->open(&p.link) != 0) {
        bench_fail(c, "%s: %s", p.t->what, strerror(errno));
        goto out;
    }
    if ((pid = bench_fork()) < 0) {
        bench_fail(c, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        peer_child(&p);
    if (p.t->side(&p.link, false) != 0) {
        bench_fail(c, "%s: parent's end: %s", p.t->what, strerror(errno));
        goto out;
    }
    c->bytes = p.len;
    c->aux_name = "oneway_direct";
    snprintf(c->note, sizeof(c->note), "%u channels x %u samples, %zu-byte image; %s",
             c->def->chans, c->def->length, p.len, p.t->what);
    rc = peer_loop(c, &p);
out:
    /* Closing first: a child still waiting reads EOF or times out. */
    if (p.t)
        p.t->close(&p.link);
    if (pid > 0 && bench_reap(c, pid, PEER_REAP_MS) != 0)
        rc = -1;
    bench_shared_free(p.sh, sizeof(peer_shared));
    free(p.img);
    return rc;
}

const char *bench_peer_missing(const bench_def *d)
{
    static char why[128];
    size_t len;
    void *img;

    if (d->run != bench_peer)
        return bench_iceoryx_missing(d);
    if (!g_transports[d->variant])
        return d->variant == PEER_ZMQ ? "built without libzmq (Debian package libzmq3-dev)"
                                      : "built without liblo (Debian package liblo-dev)";
    if (d->variant != PEER_OSC || (img = bench_shape_image(d, 1, 1, false, &len)) == NULL)
        return NULL;
    free(img);
    if (osc_message_bytes(len) <= UDP_MAX)
        return NULL;
    snprintf(why, sizeof(why), "the %zu-byte frame does not fit one UDP datagram (%d bytes)",
             len, UDP_MAX);
    return why;
}

#define PEER_ROW(name_, sfx, v, ch, len, what_)                                            \
    { .name = name_ sfx, .baseline = "latency_" sfx, .kind = BENCH_LATENCY, .run = bench_peer, \
      .variant = (v), .what = what_, .chans = (ch), .length = (len) },
#define PEER_ROWS(sfx, ch, len)                                                            \
    PEER_ROW("peer_pipe_", sfx, PEER_PIPE, ch, len, "the frame through a pipe, 1 byte back")  \
    PEER_ROW("peer_uds_", sfx, PEER_UDS, ch, len, "the frame through a Unix stream socket")  \
    PEER_ROW("peer_zmq_", sfx, PEER_ZMQ, ch, len, "the frame as a libzmq ipc:// PAIR message") \
    PEER_ROW("peer_osc_", sfx, PEER_OSC, ch, len, "the frame as a liblo OSC blob over UDP")

const bench_def bench_rows_peers[BENCH_ROWS_PEERS_N] = { BENCH_SHAPES(PEER_ROWS) };
