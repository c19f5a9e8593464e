/* SPDX-License-Identifier: MIT */
/* shmchop-chaos-peer: a compatible peer (SPEC section 2 only, 96-byte mutex objects) that sleeps on the shared cond. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * What the compatible peer's sample code does on Linux, and nothing of
 * this project: its shared mutex is the 96-byte struct below, created
 * with O_CREAT|O_EXCL and initialised process-shared (not robust); its
 * lock sleeps on `cond` while `locked` is set (pthread_cond_wait), and its
 * unlock signals `cond`. No extension block, no holder pid.
 *
 *   shmchop-chaos-peer init NAME   create the two mutex objects of NAME
 *   shmchop-chaos-peer wait NAME   lock and unlock the data mutex forever;
 *                                  writes 'W' to fd 3 before each sleep
 */

struct peer_mutex {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool locked;
};
_Static_assert(sizeof(struct peer_mutex) == 96, "the peer's mutex object is 96 bytes");

static int create_mutex(const char *obj)
{
    int fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    if (ftruncate(fd, sizeof(struct peer_mutex)) != 0)
        return -1;
    struct peer_mutex *m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&m->mutex, &ma);
    pthread_cond_init(&m->cond, &ca);
    m->locked = false;
    munmap(m, sizeof(*m));
    return 0;
}

static struct peer_mutex *open_mutex(const char *obj)
{
    int fd = shm_open(obj, O_RDWR, 0);
    if (fd < 0)
        return NULL;
    struct peer_mutex *m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return m == MAP_FAILED ? NULL : m;
}

static void peer_lock(struct peer_mutex *m)
{
    pthread_mutex_lock(&m->mutex);
    while (m->locked) {
        ssize_t w = write(3, "W", 1); /* "about to sleep on cond" */
        (void)w;
        pthread_cond_wait(&m->cond, &m->mutex);
    }
    m->locked = true;
    pthread_mutex_unlock(&m->mutex);
}

static void peer_unlock(struct peer_mutex *m)
{
    pthread_mutex_lock(&m->mutex);
    m->locked = false;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->mutex);
}

/* Under the lock, read the header of TouchSHM+N as the peer's reader does
 * (pread: the peer's own safety is not under test). */
static void peek_data(const char *name)
{
    char obj[300];
    unsigned char hdr[36];
    snprintf(obj, sizeof(obj), "TouchSHM%s", name);
    int fd = shm_open(obj, O_RDONLY, 0);
    if (fd < 0)
        return;
    ssize_t r = pread(fd, hdr, sizeof(hdr), 0);
    (void)r;
    close(fd);
}

static int wait_loop(const char *name)
{
    char obj[300];
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    struct peer_mutex *m = open_mutex(obj);
    if (!m) {
        fprintf(stderr, "peer: cannot open %s: %s\n", obj, strerror(errno));
        return 1;
    }
    for (;;) {
        peer_lock(m);
        peek_data(name);
        peer_unlock(m);
        struct timespec ts = { 0, 200000 };
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    char obj[300];
    if (argc != 3 || strlen(argv[2]) > 200) {
        fprintf(stderr, "usage: shmchop-chaos-peer init|wait NAME\n");
        return 2;
    }
    if (strcmp(argv[1], "wait") == 0)
        return wait_loop(argv[2]);
    if (strcmp(argv[1], "init") != 0)
        return 2;
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", argv[2]);
    if (create_mutex(obj) != 0)
        return 1;
    snprintf(obj, sizeof(obj), "TouchSHMTouchSHM%s4jhd783hMutex", argv[2]);
    return create_mutex(obj) != 0 ? 1 : 0;
}
