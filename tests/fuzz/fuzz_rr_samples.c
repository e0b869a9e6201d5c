/* tests/fuzz/fuzz_rr_samples.c - the SAMPLES response decoder.
 *
 * First byte: bit 0 clear -> the rest is an uncompressed ReadResponse,
 * compressed here with snappy so the fuzzer reaches the protobuf decoder;
 * set -> the rest is the body as sent (snappy errors, the decompression
 * bomb guard). Bit 1: series handed over (sg_rr_decoder_on_series) instead
 * of kept; bit 6 with it: as they arrive (any_order). Bits 2-5: the body
 * is fed in pieces of 1 to 15 bytes (0: at once). Small caps keep runs
 * fast. */
#include <stdint.h>
#include <string.h>

#include <snappy-c.h>

#include "stopgate/rr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct sg_rr_decode_query *cb_qs;

/* What is handed over is clipped and strictly increasing in time. */
static int on_series(size_t query, const struct sg_series *s, void *arg, struct sg_err *err)
{
    (void)arg;
    (void)err;
    if (query > 1 || s->count == 0)
        __builtin_trap();
    for (size_t k = 0; k < s->count; k++)
        if (s->samples[k].t < cb_qs[query].start_ms || s->samples[k].t > cb_qs[query].end_ms ||
            (k && s->samples[k].t <= s->samples[k - 1].t))
            __builtin_trap();
    return SG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_rr_decode_query qs[2] = {{0, INT64_MAX, NULL, 0}, {-5, 1000, NULL, 0}};
    struct sg_str drop = {"__name__", 8};
    struct sg_rr_decode_limits lim = {1 << 20, 0, 100000};
    struct sg_rr_decoder *d = NULL;
    struct sg_rr_result res;
    struct sg_arena a;
    struct sg_buf body;
    struct sg_err err;
    int rc;

    if (size < 1 || size > 65536)
        return 0;
    qs[0].drop_labels = &drop;
    qs[0].ndrop_labels = 1;
    sg_buf_init(&body, 1 << 20);
    if (!(data[0] & 1)) {
        size_t clen = snappy_max_compressed_length(size - 1);
        if (sg_buf_reserve(&body, clen) != SG_OK ||
            snappy_compress((const char *)data + 1, size - 1, body.data, &clen) != SNAPPY_OK)
            goto out;
        body.len = clen;
    } else if (sg_buf_append(&body, data + 1, size - 1) != SG_OK) {
        goto out;
    }
    sg_arena_init(&a, 32 << 20);
    sg_err_clear(&err);
    rc = sg_rr_decoder_new(SG_RR_RESPONSE_SAMPLES, qs, 2, &lim, &a, &d, &err);
    cb_qs = qs;
    if (rc == SG_OK && (data[0] & 2))
        sg_rr_decoder_on_series(d, on_series, NULL, (data[0] & 0x40) != 0);
    for (size_t off = 0, step = (data[0] >> 2) & 15; rc == SG_OK && off < body.len;) {
        size_t k = step && step < body.len - off ? step : body.len - off;
        rc = sg_rr_decoder_feed(d, body.data + off, k, &err);
        off += k;
    }
    if (rc == SG_OK && sg_rr_decoder_finish(d, &res, &err) == SG_OK) {
        for (size_t q = 0; q < res.count; q++)
            for (size_t i = 0; i < res.sets[q].count; i++) {
                const struct sg_series *s = &res.sets[q].v[i];
                for (size_t k = 0; k < s->count; k++)
                    if (s->samples[k].t < qs[q].start_ms || s->samples[k].t > qs[q].end_ms ||
                        (k && s->samples[k].t <= s->samples[k - 1].t))
                        __builtin_trap();
            }
    }
    sg_rr_decoder_free(d);
    sg_arena_cleanup(&a);
out:
    sg_buf_cleanup(&body);
    return 0;
}
