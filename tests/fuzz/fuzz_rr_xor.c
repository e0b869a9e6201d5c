/* tests/fuzz/fuzz_rr_xor.c - the XOR chunk decoder on any bytes. The input
 * is copied into a buffer of exactly its size, so an over-read is caught
 * by ASan. Whatever decodes must encode and decode again to the same bits
 * (the encoder is canonical, the decoder must agree with it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/rr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sg_sample out[65535], again[65535];
    uint8_t *p;
    size_t n, m;
    struct sg_buf b;
    struct sg_err err;

    if (size > 16384)
        return 0;
    p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    sg_err_clear(&err);
    if (sg_rr_xor_decode(p, size, out, 65535, &n, &err) == SG_OK) {
        sg_buf_init(&b, 1 << 22);
        if (sg_rr_xor_encode(out, n, &b, &err) != SG_OK ||
            sg_rr_xor_decode(b.data, b.len, again, 65535, &m, &err) != SG_OK || m != n)
            __builtin_trap();
        for (size_t i = 0; i < n; i++)
            if (again[i].t != out[i].t || sg_f64_bits(again[i].v) != sg_f64_bits(out[i].v))
                __builtin_trap();
        sg_buf_cleanup(&b);
    }
    free(p);
    return 0;
}
