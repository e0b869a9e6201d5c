/* src/rr/crc32c.c - CRC-32C (Castagnoli) for streamed remote-read frames.
 *
 * Each frame of a STREAMED_XOR_CHUNKS response carries the big-endian
 * CRC-32C of its payload. Two implementations give the same values:
 * - the SSE4.2 `crc32` instruction, eight bytes at a time, chosen at run
 *   time with cpuid (the file is built for any x86-64, so the function
 *   carries its own target attribute);
 * - a slicing-by-8 table walk everywhere else.
 * Both use the usual pre and post inversion (Go's crc32.Checksum with the
 * Castagnoli table): crc("123456789") == 0xE3069283.
 */
#include <string.h>

#include "stopgate/rr.h"

#define POLY_REFLECTED 0x82F63B78u

static uint32_t table[8][256];
static bool table_ready;

static void table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY_REFLECTED : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    table_ready = true;
}

uint32_t sg_rr_crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;

    if (!table_ready)
        table_init();
    crc = ~crc;
    while (n && ((uintptr_t)b & 7)) {
        crc = (crc >> 8) ^ table[0][(crc ^ *b++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, b, 4);
        memcpy(&hi, b + 4, 4);
        lo ^= crc; /* little-endian host: byte 0 is the low byte */
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        b += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *b++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_HW 1

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *p,
                                                            size_t n)
{
    const unsigned char *b = p;
    uint64_t c = ~crc;

    while (n && ((uintptr_t)b & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *b++);
        n--;
    }
    /* three independent streams would hide the instruction's latency; one
     * stream already runs at ~8 bytes per 3 cycles, far above the network */
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        c = __builtin_ia32_crc32di(c, w);
        b += 8;
        n -= 8;
    }
    while (n--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *b++);
    return ~(uint32_t)c;
}

static int hw_state; /* 0 unknown, 1 yes, -1 no */

bool sg_rr_crc32c_hw(void)
{
    if (hw_state == 0) {
        __builtin_cpu_init();
        hw_state = __builtin_cpu_supports("sse4.2") ? 1 : -1;
    }
    return hw_state > 0;
}
#else
bool sg_rr_crc32c_hw(void)
{
    return false;
}
#endif

uint32_t sg_rr_crc32c(uint32_t crc, const void *p, size_t n)
{
#ifdef HAVE_HW
    if (sg_rr_crc32c_hw())
        return crc32c_hw(crc, p, n);
#endif
    return sg_rr_crc32c_sw(crc, p, n);
}
