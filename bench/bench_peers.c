/* SPDX-License-Identifier: MIT */
/* The peers users would pick instead: liblo (OSC blob over UDP loopback) and libzmq (ipc:// PAIR). */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef SHMCHOP_BENCH_HAVE_LIBLO
#include <arpa/inet.h>
#include <lo/lo.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif
#ifdef SHMCHOP_BENCH_HAVE_ZMQ
#include <zmq.h>
#endif

#define PEER_TIMEOUT_MS 5000
#define PEER_REAP_MS 8000
#define WIRE_CAP 65536

const char *bench_peer_missing(const bench_def *d)
{
#ifndef SHMCHOP_BENCH_HAVE_LIBLO
    if (d->run == bench_peer_liblo)
        return "built without liblo (Debian package liblo-dev)";
#endif
#ifndef SHMCHOP_BENCH_HAVE_ZMQ
    if (d->run == bench_peer_zmq)
        return "built without libzmq (Debian package libzmq3-dev)";
#endif
    (void)d;
    return NULL;
}

#if defined(SHMCHOP_BENCH_HAVE_LIBLO) || defined(SHMCHOP_BENCH_HAVE_ZMQ)
/* The CHOP both peers carry: the image latency_publish_read publishes. */
static void *peer_image(size_t *len)
{
    return bench_image_build(BENCH_SMALL_CHANS, BENCH_SMALL_LENGTH, 60.0, 1, 1, false, len);
}
#endif

/* ---- liblo ------------------------------------------------------------------- */

#ifdef SHMCHOP_BENCH_HAVE_LIBLO

#define OSC_PATH "/shmchop/chop"

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
    struct timeval tv = { .tv_sec = PEER_TIMEOUT_MS / 1000 };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr->sin_port = 0; /* the kernel picks a free port */
    /* A receive timeout bounds every wait without a poll() per message. */
    if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) != 0 ||
        getsockname(fd, (struct sockaddr *)addr, &alen) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int udp_pair(int fd[2])
{
    struct sockaddr_in a, b;

    fd[0] = udp_socket(&a);
    fd[1] = udp_socket(&b);
    if (fd[0] < 0 || fd[1] < 0 || connect(fd[0], (struct sockaddr *)&b, sizeof(b)) != 0 ||
        connect(fd[1], (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd[0] >= 0)
            close(fd[0]);
        if (fd[1] >= 0)
            close(fd[1]);
        return -1;
    }
    return 0;
}

/* Send `len` bytes of CHOP as one OSC message with one blob. */
static int osc_send(int fd, const void *data, size_t len, unsigned char *wire)
{
    lo_blob b = lo_blob_new((int32_t)len, data);
    lo_message m = lo_message_new();
    size_t n = 0;
    int rc = -1;

    if (!b || !m || lo_message_add_blob(m, b) != 0)
        goto out;
    n = lo_message_length(m, OSC_PATH);
    if (n > WIRE_CAP || !lo_message_serialise(m, OSC_PATH, wire, &n))
        goto out;
    rc = send(fd, wire, n, 0) == (ssize_t)n ? 0 : -1;
out:
    if (m)
        lo_message_free(m);
    if (b)
        lo_blob_free(b);
    return rc;
}

/* Receive one OSC message and copy its blob into out. Returns the blob's
 * size, 0 for the 1-byte stop datagram, or -1. */
static ssize_t osc_recv(int fd, unsigned char *wire, unsigned char *out, size_t cap)
{
    ssize_t r = recv(fd, wire, WIRE_CAP, 0);
    lo_message m;
    lo_arg **argv;
    const char *types;
    int res = 0;
    ssize_t sz = -1;

    if (r == 1)
        return 0;
    if (r <= 0 || (m = lo_message_deserialise(wire, (size_t)r, &res)) == NULL)
        return -1;
    types = lo_message_get_types(m);
    argv = lo_message_get_argv(m);
    if (types && strcmp(types, "b") == 0 && argv[0]->blob.size >= 0 &&
        (size_t)argv[0]->blob.size <= cap) {
        sz = argv[0]->blob.size;
        memcpy(out, &argv[0]->blob.data, (size_t)sz);
    }
    lo_message_free(m);
    return sz;
}

static void liblo_child(int fd)
{
    unsigned char *wire = malloc(WIRE_CAP), *buf = malloc(WIRE_CAP);
    int code = 0;

    if (!wire || !buf)
        code = 5;
    while (code == 0) {
        ssize_t n = osc_recv(fd, wire, buf, WIRE_CAP);
        if (n == 0)
            break; /* the stop datagram */
        if (n < 0)
            code = 3;
        else if (osc_send(fd, buf, (size_t)n, wire) != 0)
            code = 4;
    }
    free(wire);
    free(buf);
    _exit(code);
}

typedef struct lo_run {
    int fd;
    unsigned char *wire, *back;
    void *img;
    size_t len;
} lo_run;

static int lo_round_trip(bench_ctx *c, lo_run *l)
{
    if (osc_send(l->fd, l->img, l->len, l->wire) != 0)
        return bench_fail(c, "OSC send: %s", strerror(errno));
    ssize_t n = osc_recv(l->fd, l->wire, l->back, WIRE_CAP);
    if (n != (ssize_t)l->len)
        return bench_fail(c, "OSC reply: %zd bytes, expected %zu", n, l->len);
    return 0;
}

static int lo_loop(bench_ctx *c, lo_run *l)
{
    /* The first trip proves the bytes arrive intact. */
    if (lo_round_trip(c, l) != 0)
        return -1;
    if (memcmp(l->back, l->img, l->len) != 0)
        return bench_fail(c, "OSC round trip changed the CHOP bytes");
    while (bench_running(c)) {
        uint64_t t0 = shmchop_clock_ns();
        if (lo_round_trip(c, l) != 0)
            return -1;
        bench_record(c, (double)(shmchop_clock_ns() - t0) / 2.0, 1);
    }
    return c->err[0] ? -1 : 0;
}

int bench_peer_liblo(bench_ctx *c)
{
    lo_run l = { .fd = -1 };
    int fd[2] = { -1, -1 };
    pid_t pid = -1;
    int rc = -1;

    l.img = peer_image(&l.len);
    l.wire = malloc(WIRE_CAP);
    l.back = malloc(WIRE_CAP);
    if (!l.img || !l.wire || !l.back) {
        bench_fail(c, "out of memory");
        goto out;
    }
    if (udp_pair(fd) != 0) {
        bench_fail(c, "UDP sockets on 127.0.0.1: %s", strerror(errno));
        goto out;
    }
    if ((pid = bench_fork()) < 0) {
        bench_fail(c, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        close(fd[0]);
        liblo_child(fd[1]);
    }
    close(fd[1]);
    fd[1] = -1;
    l.fd = fd[0];
    c->bytes = l.len;
    snprintf(c->note, sizeof(c->note), "OSC message %s with one %zu-byte blob per direction",
             OSC_PATH, l.len);
    rc = lo_loop(c, &l);
    if (send(l.fd, "q", 1, 0) != 1 && rc == 0)
        rc = bench_fail(c, "stop datagram: %s", strerror(errno));
out:
    if (pid > 0 && bench_reap(c, pid, PEER_REAP_MS) != 0)
        rc = -1;
    for (int i = 0; i < 2; i++) {
        if (fd[i] >= 0)
            close(fd[i]);
    }
    free(l.wire);
    free(l.back);
    free(l.img);
    return rc;
}

#else
int bench_peer_liblo(bench_ctx *c)
{
    return bench_fail(c, "%s", bench_peer_missing(c->def));
}
#endif

/* ---- libzmq ------------------------------------------------------------------- */

#ifdef SHMCHOP_BENCH_HAVE_ZMQ

/* A PAIR socket with every wait bounded and nothing kept at close. */
static void *zmq_pair(void *ctx)
{
    void *s = zmq_socket(ctx, ZMQ_PAIR);
    int t = PEER_TIMEOUT_MS, zero = 0;

    if (!s)
        return NULL;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &t, sizeof(t));
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &t, sizeof(t));
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    return s;
}

/* A context is never carried across fork(): each side makes its own. */
static void zmq_child(const char *ep)
{
    void *ctx = zmq_ctx_new();
    void *s = ctx ? zmq_pair(ctx) : NULL;
    unsigned char *buf = malloc(WIRE_CAP);
    int code = 0;

    if (!s || !buf || zmq_connect(s, ep) != 0)
        _exit(5);
    for (;;) {
        int n = zmq_recv(s, buf, WIRE_CAP, 0);
        if (n < 0) {
            code = 3;
            break;
        }
        if (n == 1 && buf[0] == 'q')
            break;
        if (n > WIRE_CAP || zmq_send(s, buf, (size_t)n, 0) != n) {
            code = 4;
            break;
        }
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    free(buf);
    _exit(code);
}

typedef struct zq_run {
    void *s;
    unsigned char *back;
    void *img;
    size_t len;
} zq_run;

static int zq_round_trip(bench_ctx *c, zq_run *z)
{
    if (zmq_send(z->s, z->img, z->len, 0) != (int)z->len)
        return bench_fail(c, "zmq_send: %s", zmq_strerror(zmq_errno()));
    int n = zmq_recv(z->s, z->back, WIRE_CAP, 0);
    if (n != (int)z->len)
        return bench_fail(c, "zmq_recv: %d bytes, expected %zu (%s)", n, z->len,
                          n < 0 ? zmq_strerror(zmq_errno()) : "short");
    return 0;
}

static int zq_loop(bench_ctx *c, zq_run *z)
{
    if (zq_round_trip(c, z) != 0)
        return -1;
    if (memcmp(z->back, z->img, z->len) != 0)
        return bench_fail(c, "zmq round trip changed the CHOP bytes");
    while (bench_running(c)) {
        uint64_t t0 = shmchop_clock_ns();
        if (zq_round_trip(c, z) != 0)
            return -1;
        bench_record(c, (double)(shmchop_clock_ns() - t0) / 2.0, 1);
    }
    return c->err[0] ? -1 : 0;
}

int bench_peer_zmq(bench_ctx *c)
{
    zq_run z = { 0 };
    char path[108], ep[128];
    void *ctx = NULL;
    pid_t pid = -1;
    int rc = -1;

    bench_ipc_path(path, sizeof(path));
    snprintf(ep, sizeof(ep), "ipc://%s", path);
    z.img = peer_image(&z.len);
    z.back = malloc(WIRE_CAP);
    if (!z.img || !z.back) {
        bench_fail(c, "out of memory");
        goto out;
    }
    if ((pid = bench_fork()) < 0) {
        bench_fail(c, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        zmq_child(ep);
    if ((ctx = zmq_ctx_new()) == NULL || (z.s = zmq_pair(ctx)) == NULL ||
        zmq_bind(z.s, ep) != 0) {
        bench_fail(c, "zmq bind %s: %s", ep, zmq_strerror(zmq_errno()));
        goto out;
    }
    c->bytes = z.len;
    snprintf(c->note, sizeof(c->note), "one %zu-byte message per direction over %s", z.len, ep);
    rc = zq_loop(c, &z);
    if (zmq_send(z.s, "q", 1, 0) != 1 && rc == 0)
        rc = bench_fail(c, "zmq stop message: %s", zmq_strerror(zmq_errno()));
out:
    if (z.s)
        zmq_close(z.s);
    if (ctx)
        zmq_ctx_term(ctx);
    if (pid > 0 && bench_reap(c, pid, PEER_REAP_MS) != 0)
        rc = -1;
    unlink(path);
    free(z.back);
    free(z.img);
    return rc;
}

#else
int bench_peer_zmq(bench_ctx *c)
{
    return bench_fail(c, "%s", bench_peer_missing(c->def));
}
#endif
