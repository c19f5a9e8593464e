/* SPDX-License-Identifier: MIT */
/* CRC-32C (Castagnoli), the extension block's checksum (SPEC 1.3). */
#include "image_internal.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#ifdef SHMCHOP_HAVE_ISAL
#include <isa-l/crc.h>
#endif

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int t = 1; t < 8; t++)
            crc_table[t][n] = (crc_table[t - 1][n] >> 8) ^ crc_table[0][crc_table[t - 1][n] & 0xff];
}

/* Slicing-by-8: eight table look-ups per 8 input bytes. */
static uint32_t crc32c_soft(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
              crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
              crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#ifndef SHMCHOP_HAVE_ISAL
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The SSE4.2 crc32 instruction computes exactly this polynomial. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc,
                                                              const unsigned char *p,
                                                              size_t len)
{
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    crc = (uint32_t)c;
    while (len--)
        crc = __builtin_ia32_crc32qi(crc, *p++);
    return crc;
}

static int have_hw(void)
{
    return __builtin_cpu_supports("sse4.2");
}
#else
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
    return crc32c_soft(crc, p, len);
}

static int have_hw(void)
{
    return 0;
}
#endif
#endif /* !SHMCHOP_HAVE_ISAL */

uint32_t shmchop__crc32c_soft(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_table_once, crc_table_init);
    return ~crc32c_soft(~crc, buf, len);
}

#ifdef SHMCHOP_HAVE_ISAL
/*
 * ISA-L picks its CRC routine for this CPU on the first call and stores
 * the choice in a function pointer of its own, with no lock: two threads
 * making their first call together both store the same pointer (benign,
 * but a race detector says so, rightly). The first call is made here, at
 * load time, before the program can have started a thread of its own.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * ISA-L's AVX-512 routine (crc32_iscsi_by16_10 in Debian 12's 2.30)
 * returns with the upper halves of the vector registers dirty, and every
 * SSE instruction after it then pays a state-transition penalty: the
 * checks after a 700-byte checksum took 190 ns instead of 65 on this
 * project's machine. vzeroupper clears that state; it exists only on CPUs
 * with AVX. This file is built without AVX, so no vector value of ours is
 * live across it.
 */
static bool isal_dirty_upper;

static inline void isal_clean_upper(void)
{
    if (isal_dirty_upper)
        __asm__ volatile("vzeroupper");
}

static void isal_detect_upper(void)
{
    isal_dirty_upper = __builtin_cpu_supports("avx");
}
#else
static inline void isal_clean_upper(void)
{
}

static void isal_detect_upper(void)
{
}
#endif

__attribute__((constructor)) static void isal_pick_routine(void)
{
    unsigned char byte = 0;

    isal_detect_upper();
    (void)crc32_iscsi(&byte, 1, 0);
    isal_clean_upper();
}

/* ISA-L's crc32_iscsi takes an int length and neither inverts on entry nor
 * on exit: feed it the pre-inverted CRC in slices below INT_MAX. */
uint32_t shmchop_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = ~crc;

    while (len > 0) {
        size_t n = len < ((size_t)1 << 30) ? len : (size_t)1 << 30;
        c = crc32_iscsi((unsigned char *)p, (int)n, c);
        p += n;
        len -= n;
    }
    isal_clean_upper();
    return ~c;
}
#else
uint32_t shmchop_crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (have_hw())
        return ~crc32c_hw(~crc, buf, len);
    return shmchop__crc32c_soft(crc, buf, len);
}
#endif
