/* tests/fuzz/fuzz_snappy.c - the incremental snappy decompressor against
 * the snappy library.
 *
 * First byte: how the rest is cut into pieces (a seed for piece sizes of
 * 1 to 64 bytes, or 0 for the whole input in one piece); the rest is the
 * compressed stream. The decompressor must accept exactly the streams the
 * library accepts and produce the same bytes; a declared length over the
 * cap must be refused with SG_ELIMIT. The one known difference: a literal
 * with the 4-byte length 0xffffffff + 1 = 2^32, which the library's 32-bit
 * sum turns into an empty literal, is corrupt to the decompressor (as to
 * Go's decoder). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "stopgate/rr.h"

#define CAP (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether p[0..n) holds a literal tag with the 4-byte length 2^32 - 1 (a
 * byte pattern, so it may also match inside data: the check is only ever
 * relaxed for inputs that contain it). */
static bool has_wrapping_literal(const char *p, size_t n)
{
    static const char pat[5] = {'\xfc', '\xff', '\xff', '\xff', '\xff'};

    for (size_t i = 0; i + sizeof(pat) <= n; i++)
        if (memcmp(p + i, pat, sizeof(pat)) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_rr_snappy z;
    struct sg_err err;
    const char *in;
    size_t n, ulen = 0, off = 0;
    uint32_t seed;
    char *want = NULL;
    bool lib_len_ok, lib_ok = false;
    int rc = SG_OK;

    if (size < 1 || size > 65536)
        return 0;
    seed = data[0];
    in = (const char *)data + 1;
    n = size - 1;
    lib_len_ok = snappy_uncompressed_length(in, n, &ulen) == SNAPPY_OK;
    if (lib_len_ok && ulen <= CAP) {
        size_t got = ulen;
        want = malloc(ulen ? ulen : 1);
        if (!want)
            return 0;
        lib_ok = snappy_uncompress(in, n, want, &got) == SNAPPY_OK;
        if (lib_ok && got != ulen)
            __builtin_trap();
    }

    sg_rr_snappy_init(&z, CAP);
    sg_err_clear(&err);
    while (rc == SG_OK && off < n) {
        size_t k = n - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            if (k > 1 + (seed >> 16) % 64)
                k = 1 + (seed >> 16) % 64;
        }
        rc = sg_rr_snappy_feed(&z, in + off, k, &err);
        off += k;
    }
    if (rc == SG_OK)
        rc = sg_rr_snappy_finish(&z, &err);

    if (lib_len_ok && ulen > CAP) {
        if (rc != SG_ELIMIT)
            __builtin_trap();
    } else if (lib_ok && rc == SG_EPROTO && has_wrapping_literal(in, n)) {
        /* the library's 32-bit literal length (see the top) */
    } else if (lib_ok) {
        if (rc != SG_OK || z.len != ulen || z.have != ulen || (ulen && memcmp(z.out, want, ulen)))
            __builtin_trap();
    } else if (rc != SG_EPROTO) {
        __builtin_trap();
    }
    sg_rr_snappy_cleanup(&z);
    free(want);

    return 0;
}
