/* tests/fuzz/fuzz_rr_frames.c - the streamed remote-read decoder: framing,
 * CRC32C, ChunkedReadResponse, XOR chunks, merging and clipping.
 *
 * First byte: bit 0 set -> the rest is a response body as it comes off the
 * wire (framing errors); clear -> the rest is a list of payloads, each a
 * 2-byte big-endian length and the bytes, framed here with valid
 * checksums so the fuzzer reaches the protobuf and chunk decoders. Bits 1-4
 * pick the size of the pieces fed to the decoder (1 to 16 bytes, or all at
 * once), so the state machine sees every split. Bit 5: series are handed
 * over as they complete (sg_rr_decoder_on_series) instead of kept.
 */
#include <stdint.h>
#include <string.h>

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
    for (size_t k = 0; k < s->count; k++) {
        if (s->samples[k].t < cb_qs[query].start_ms || s->samples[k].t > cb_qs[query].end_ms)
            __builtin_trap();
        if (k && s->samples[k].t <= s->samples[k - 1].t)
            __builtin_trap();
    }
    return SG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_rr_decode_query qs[2] = {{0, INT64_MAX, NULL, 0},
                                       {1700000000000, 1700000600000, NULL, 0}};
    struct sg_str drop = {"job", 3};
    struct sg_rr_decode_limits lim = {1 << 20, 1 << 16, 200000};
    struct sg_rr_decoder *d = NULL;
    struct sg_rr_result res;
    struct sg_arena a;
    struct sg_buf body;
    struct sg_err err;
    size_t step;
    int rc;

    if (size < 1 || size > 65536)
        return 0;
    qs[1].drop_labels = &drop;
    qs[1].ndrop_labels = 1;
    step = (data[0] >> 1) & 15;
    sg_buf_init(&body, 1 << 20);
    if (data[0] & 1) {
        if (sg_buf_append(&body, data + 1, size - 1) != SG_OK)
            goto out;
    } else {
        size_t off = 1;
        while (off + 2 <= size) {
            size_t n = ((size_t)data[off] << 8) | data[off + 1];
            off += 2;
            if (n > size - off)
                n = size - off;
            if (sg_rr_frame_encode(data + off, n, &body) != SG_OK)
                goto out;
            off += n;
        }
    }
    sg_arena_init(&a, 32 << 20);
    sg_err_clear(&err);
    rc = sg_rr_decoder_new(SG_RR_RESPONSE_STREAMED, qs, 2, &lim, &a, &d, &err);
    cb_qs = qs;
    if (rc == SG_OK && (data[0] & 32))
        sg_rr_decoder_on_series(d, on_series, NULL, false);
    for (size_t off = 0; rc == SG_OK && off < body.len;) {
        size_t k = step ? step : body.len;
        if (k > body.len - off)
            k = body.len - off;
        rc = sg_rr_decoder_feed(d, body.data + off, k, &err);
        off += k;
    }
    if (rc == SG_OK && sg_rr_decoder_finish(d, &res, &err) == SG_OK) {
        /* what comes out is ordered, clipped and strictly increasing */
        for (size_t q = 0; q < res.count; q++) {
            const struct sg_series_set *set = &res.sets[q];
            for (size_t i = 0; i < set->count; i++) {
                const struct sg_series *s = &set->v[i];
                if (s->count == 0)
                    __builtin_trap();
                for (size_t k = 0; k < s->count; k++) {
                    if (s->samples[k].t < qs[q].start_ms || s->samples[k].t > qs[q].end_ms)
                        __builtin_trap();
                    if (k && s->samples[k].t <= s->samples[k - 1].t)
                        __builtin_trap();
                }
            }
        }
    }
    sg_rr_decoder_free(d);
    sg_arena_cleanup(&a);
out:
    sg_buf_cleanup(&body);
    return 0;
}
