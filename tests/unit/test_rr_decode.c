/* tests/unit/test_rr_decode.c - remote-read responses and requests:
 * streamed frames fed in every split, chunk merging, window clipping,
 * histogram skipping, every framing error, SAMPLES decoding with its caps,
 * the incremental snappy decompressor, the ReadRequest the client sends, and
 * the printer of `stopgate read` against a plain reference on random input. Responses are built here with
 * protobuf-c and our own XOR encoder. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <snappy-c.h>

#include "src/remote.pb-c.h"
#include "stopgate/labels.h"
#include "stopgate/num.h"
#include "stopgate/rr.h"

/* ---- building responses -------------------------------------------------- */

struct tchunk {
    int type;                     /* 1 XOR unless set */
    const struct sg_sample *s;    /* XOR samples */
    size_t n;
};

struct tseries {
    const char *const *labels;    /* name, value, ..., NULL */
    const struct tchunk *chunks;
    size_t nchunks;
};

/* One frame payload: a ChunkedReadResponse with one series. */
static void frame_payload(int64_t qi, const struct tseries *ts, struct sg_buf *out)
{
    Prometheus__ChunkedReadResponse r = PROMETHEUS__CHUNKED_READ_RESPONSE__INIT;
    Prometheus__ChunkedSeries cs = PROMETHEUS__CHUNKED_SERIES__INIT, *csp = &cs;
    Prometheus__Label lab[16], *labp[16];
    Prometheus__Chunk ch[16], *chp[16];
    struct sg_buf data[16];
    size_t nl = 0;
    struct sg_err err;

    for (const char *const *l = ts->labels; l && *l; l += 2, nl++) {
        prometheus__label__init(&lab[nl]);
        lab[nl].name = (char *)(uintptr_t)l[0];
        lab[nl].value = (char *)(uintptr_t)l[1];
        labp[nl] = &lab[nl];
    }
    for (size_t i = 0; i < ts->nchunks; i++) {
        const struct tchunk *c = &ts->chunks[i];
        prometheus__chunk__init(&ch[i]);
        sg_buf_init(&data[i], 1 << 20);
        ch[i].type = (Prometheus__Chunk__Encoding)(c->type == 100 ? 0 : c->type ? c->type : 1);
        if (c->s) {
            assert_int_equal(sg_rr_xor_encode(c->s, c->n, &data[i], &err), SG_OK);
            ch[i].min_time_ms = c->n ? c->s[0].t : 0;
            ch[i].max_time_ms = c->n ? c->s[c->n - 1].t : 0;
        } else {
            assert_int_equal(sg_buf_append(&data[i], "\0\1abcdefgh", 10), SG_OK);
        }
        ch[i].data.data = (uint8_t *)data[i].data;
        ch[i].data.len = data[i].len;
        chp[i] = &ch[i];
    }
    cs.n_labels = nl;
    cs.labels = labp;
    cs.n_chunks = ts->nchunks;
    cs.chunks = chp;
    r.n_chunked_series = 1;
    r.chunked_series = &csp;
    r.query_index = qi;
    size_t len = prometheus__chunked_read_response__get_packed_size(&r);
    assert_int_equal(sg_buf_reserve(out, len), SG_OK);
    prometheus__chunked_read_response__pack(&r, (uint8_t *)out->data + out->len);
    out->len += len;
    for (size_t i = 0; i < ts->nchunks; i++)
        sg_buf_cleanup(&data[i]);
}

static void add_frame(struct sg_buf *body, int64_t qi, const struct tseries *ts)
{
    struct sg_buf p;

    sg_buf_init(&p, 1 << 24);
    frame_payload(qi, ts, &p);
    assert_int_equal(sg_rr_frame_encode(p.data, p.len, body), SG_OK);
    sg_buf_cleanup(&p);
}

/* Decode body fed in pieces of `step` bytes (0: all at once). */
static int decode(enum sg_rr_response_type type, const struct sg_rr_decode_query *qs, size_t nq,
                  const struct sg_rr_decode_limits *lim, const struct sg_buf *body, size_t step,
                  struct sg_arena *a, struct sg_rr_result *res, struct sg_err *err)
{
    struct sg_rr_decoder *d;
    int rc;

    sg_err_clear(err);
    rc = sg_rr_decoder_new(type, qs, nq, lim, a, &d, err);
    if (rc != SG_OK)
        return rc;
    for (size_t off = 0; off < body->len && rc == SG_OK;) {
        size_t k = step ? step : body->len;
        if (k > body->len - off)
            k = body->len - off;
        rc = sg_rr_decoder_feed(d, body->data + off, k, err);
        off += k;
    }
    if (rc == SG_OK)
        rc = sg_rr_decoder_finish(d, res, err);
    sg_rr_decoder_free(d);
    return rc;
}

/* A body of one frame holding ts for query 0, decoded at once. */
static int decode_frame(const struct tseries *ts, const struct sg_rr_decode_query *qs, size_t nq,
                        struct sg_arena *a, struct sg_rr_result *res, struct sg_err *err)
{
    struct sg_buf body;
    int rc;

    sg_buf_init(&body, 1 << 20);
    add_frame(&body, 0, ts);
    rc = decode(SG_RR_RESPONSE_STREAMED, qs, nq, NULL, &body, 0, a, res, err);
    sg_buf_cleanup(&body);
    return rc;
}

static struct sg_sample *series_samples(size_t n, int64_t t0, int64_t step, double v0)
{
    struct sg_sample *s = calloc(n, sizeof(*s));
    for (size_t i = 0; i < n; i++) {
        s[i].t = t0 + (int64_t)i * step;
        s[i].v = v0 + (double)i;
    }
    return s;
}

static void expect_label(const struct sg_series *s, uint32_t i, const char *name,
                         const char *value)
{
    assert_true(i < s->labels.count);
    assert_true(sg_str_eq_c(s->labels.v[i].name, name));
    assert_true(sg_str_eq_c(s->labels.v[i].value, value));
}

/* ---- streamed ------------------------------------------------------------ */

static const char *const lab_a[] = {"__name__", "up", "job", "a", NULL};
static const char *const lab_b[] = {"__name__", "up", "job", "b", NULL};
static const char *const lab_c[] = {"__name__", "x", NULL};

static void streamed_every_split(void **state)
{
    struct sg_sample *a1 = series_samples(120, 0, 1000, 0), *a2 = series_samples(120, 120000, 1000, 120),
                     *b1 = series_samples(5, 500, 1000, 7), *c1 = series_samples(50, 0, 10, 0),
                     *c2 = series_samples(50, 500, 10, 50);
    struct tchunk ca[] = {{0, a1, 120}, {0, a2, 120}}, cb[] = {{0, b1, 5}}, cc1[] = {{0, c1, 50}},
                  cc2[] = {{0, c2, 50}};
    struct tseries sa = {lab_a, ca, 2}, sb = {lab_b, cb, 1}, sc1 = {lab_c, cc1, 1},
                   sc2 = {lab_c, cc2, 1};
    struct sg_rr_decode_query qs[2] = {{0, 1000000, NULL, 0}, {0, 1000000, NULL, 0}};
    struct sg_buf body;
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_buf_init(&body, 1 << 24);
    add_frame(&body, 0, &sa);
    add_frame(&body, 0, &sb);
    add_frame(&body, 1, &sc1); /* one series over two frames */
    add_frame(&body, 1, &sc2);
    for (size_t step = 0; step < 40; step += (step < 9 ? 1 : 13)) {
        sg_arena_init(&a, 0);
        if (decode(SG_RR_RESPONSE_STREAMED, qs, 2, NULL, &body, step, &a, &res, &err) != SG_OK)
            fail_msg("step %zu: %s", step, err.msg);
        assert_int_equal(res.count, 2);
        assert_int_equal(res.sets[0].count, 2);
        assert_int_equal(res.sets[1].count, 1);
        assert_true(res.sets[0].sorted);
        expect_label(&res.sets[0].v[0], 1, "job", "a");
        expect_label(&res.sets[0].v[1], 1, "job", "b");
        assert_int_equal(res.sets[0].v[0].count, 240);
        assert_int_equal(res.sets[0].v[0].samples[239].t, 239000);
        assert_true(res.sets[0].v[0].samples[239].v == 239.0);
        assert_int_equal(res.sets[1].v[0].count, 100);
        assert_int_equal(res.stats.frames, 4);
        assert_int_equal(res.stats.chunks, 5);
        assert_int_equal(res.stats.samples, 345);
        assert_int_equal(res.stats.series, 3);
        assert_int_equal(res.stats.bytes, body.len);
        assert_int_equal(res.stats.response_type, SG_RR_RESPONSE_STREAMED);
        sg_arena_cleanup(&a);
    }
    sg_buf_cleanup(&body);
    free(a1), free(a2), free(b1), free(c1), free(c2);
}

struct handed {
    double a30;                  /* the value at t=30 of series a, when handed over */
    double last_v;               /* the last value handed over */
    size_t n, samples, query[8];
    char first[8][16]; /* the last label value of each series */
};

static int on_series(size_t query, const struct sg_series *s, void *arg, struct sg_err *err)
{
    struct handed *h = arg;

    (void)err;
    if (h->n < 8) {
        h->query[h->n] = query;
        const struct sg_label *l = &s->labels.v[s->labels.count - 1];
        snprintf(h->first[h->n], sizeof(h->first[0]), "%.*s", (int)l->value.len, l->value.ptr);
    }
    h->n++;
    h->samples += s->count;
    for (size_t i = 0; i < s->count; i++)
        if (s->samples[i].t == 30)
            h->a30 = s->samples[i].v;
    if (s->count)
        h->last_v = s->samples[s->count - 1].v;
    return h->samples > 1000 ? SG_ECANCELED : SG_OK;
}

/* Series handed over as they complete: each once, whole (a series over two
 * frames too), in order, not kept in the result; out of order fails. */
static void streamed_hands_over_series(void **state)
{
    struct sg_sample *a1 = series_samples(120, 0, 1000, 0), *a2 = series_samples(120, 120000, 1000, 120),
                     *b1 = series_samples(5, 500, 1000, 7), *c1 = series_samples(50, 0, 10, 0);
    struct tchunk ca[] = {{0, a1, 120}, {0, a2, 120}}, cb[] = {{0, b1, 5}}, cc[] = {{0, c1, 50}};
    struct tseries sa1 = {lab_a, ca, 1}, sa2 = {lab_a, ca + 1, 1}, sb = {lab_b, cb, 1},
                   sc = {lab_c, cc, 1};
    struct sg_rr_decode_query qs[2] = {{0, 1000000, NULL, 0}, {0, 1000000, NULL, 0}};
    struct sg_buf body;
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_buf_init(&body, 1 << 24);
    add_frame(&body, 0, &sa1);
    add_frame(&body, 0, &sa2);
    add_frame(&body, 0, &sb);
    add_frame(&body, 1, &sc);
    for (size_t step = 0; step < 40; step += (step < 9 ? 1 : 13)) {
        struct sg_rr_decoder *d;
        struct handed h;
        int rc;
        memset(&h, 0, sizeof(h));
        sg_arena_init(&a, 0);
        sg_err_clear(&err);
        assert_int_equal(sg_rr_decoder_new(SG_RR_RESPONSE_STREAMED, qs, 2, NULL, &a, &d, &err),
                         SG_OK);
        sg_rr_decoder_on_series(d, on_series, &h, false);
        rc = SG_OK;
        for (size_t off = 0; off < body.len && rc == SG_OK; off += step ? step : body.len)
            rc = sg_rr_decoder_feed(d, body.data + off,
                                    step && body.len - off > step ? step : body.len - off, &err);
        if (rc == SG_OK)
            rc = sg_rr_decoder_finish(d, &res, &err);
        if (rc != SG_OK)
            fail_msg("step %zu: %s", step, err.msg);
        sg_rr_decoder_free(d);
        assert_int_equal(h.n, 3);
        assert_int_equal(h.samples, 295);
        assert_string_equal(h.first[0], "a");
        assert_string_equal(h.first[1], "b");
        assert_string_equal(h.first[2], "x");
        assert_int_equal(h.query[2], 1);
        assert_int_equal(res.count, 2);
        assert_int_equal(res.sets[0].count, 0);
        assert_int_equal(res.sets[1].count, 0);
        assert_int_equal(res.stats.series, 3);
        assert_int_equal(res.stats.samples, 295);
        sg_arena_cleanup(&a);
    }
    /* b before a: a protocol error, not a sorted result */
    sg_buf_reset(&body);
    add_frame(&body, 0, &sb);
    add_frame(&body, 0, &sa1);
    {
        struct sg_rr_decoder *d;
        struct handed h;
        memset(&h, 0, sizeof(h));
        sg_arena_init(&a, 0);
        assert_int_equal(sg_rr_decoder_new(SG_RR_RESPONSE_STREAMED, qs, 2, NULL, &a, &d, &err),
                         SG_OK);
        sg_rr_decoder_on_series(d, on_series, &h, false);
        sg_err_clear(&err);
        assert_int_equal(sg_rr_decoder_feed(d, body.data, body.len, &err), SG_OK);
        assert_int_equal(sg_rr_decoder_finish(d, &res, &err), SG_EPROTO);
        assert_non_null(strstr(err.msg, "series out of order"));
        assert_int_equal(h.n, 1);
        sg_rr_decoder_free(d);
        sg_arena_cleanup(&a);
    }
    sg_buf_cleanup(&body);
    free(a1), free(a2), free(b1), free(c1);
}

static void streamed_clips_window_inclusive(void **state)
{
    struct sg_sample *s = series_samples(120, 1000, 1000, 0);
    struct tchunk c[] = {{0, s, 120}};
    struct tseries ts = {lab_a, c, 1};
    /* edges exactly on samples: 10000 and 20000 are both kept */
    struct sg_rr_decode_query q[3] = {{10000, 20000, NULL, 0}, {500000, 600000, NULL, 0},
                                      {1000, 1000, NULL, 0}};
    struct sg_buf body;
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_buf_init(&body, 1 << 20);
    add_frame(&body, 0, &ts);
    add_frame(&body, 1, &ts);
    add_frame(&body, 2, &ts);
    sg_arena_init(&a, 0);
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, q, 3, NULL, &body, 0, &a, &res, &err), SG_OK);
    assert_int_equal(res.sets[0].count, 1);
    assert_int_equal(res.sets[0].v[0].count, 11);
    assert_int_equal(res.sets[0].v[0].samples[0].t, 10000);
    assert_int_equal(res.sets[0].v[0].samples[10].t, 20000);
    assert_int_equal(res.sets[1].count, 0); /* no sample in the window: no series */
    assert_int_equal(res.sets[2].count, 1);
    assert_int_equal(res.sets[2].v[0].count, 1);
    sg_arena_cleanup(&a);
    sg_buf_cleanup(&body);
    free(s);
}

static void streamed_merges_overlaps(void **state)
{
    /* chunk 2 overlaps chunk 1 (duplicates at 5000..9000 with other
     * values), chunk 3 goes back in time */
    struct sg_sample *c1 = series_samples(10, 0, 1000, 0), *c2 = series_samples(10, 5000, 1000, 100),
                     *c3 = series_samples(3, -3000, 1000, 200);
    struct tchunk c[] = {{0, c1, 10}, {0, c2, 10}, {0, c3, 3}};
    struct tseries ts = {lab_a, c, 3};
    struct sg_rr_decode_query q = {INT64_MIN, INT64_MAX, NULL, 0};
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 0);
    assert_int_equal(decode_frame(&ts, &q, 1, &a, &res, &err), SG_OK);
    const struct sg_series *s = &res.sets[0].v[0];
    assert_int_equal(s->count, 18); /* -3000..14000 */
    for (size_t i = 0; i < s->count; i++)
        assert_int_equal(s->samples[i].t, -3000 + (int64_t)i * 1000);
    assert_true(s->samples[3 + 5].v == 5.0);    /* the first chunk's value wins */
    assert_true(s->samples[3 + 10].v == 105.0); /* then the second's */
    assert_true(s->samples[0].v == 200.0);
    sg_arena_cleanup(&a);
    free(c1), free(c2), free(c3);
}

static void streamed_keeps_nan_bits(void **state)
{
    struct sg_sample s[4] = {{1, 1.0}, {2, 0}, {3, 0}, {4, 2.0}};
    struct tchunk c[] = {{0, s, 4}};
    struct tseries ts = {lab_a, c, 1};
    struct sg_rr_decode_query q = {0, 10, NULL, 0};
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    s[1].v = sg_stale_nan();
    s[2].v = sg_f64_from_bits(SG_NORMAL_NAN_BITS);
    sg_arena_init(&a, 0);
    assert_int_equal(decode_frame(&ts, &q, 1, &a, &res, &err), SG_OK);
    assert_true(sg_f64_bits(res.sets[0].v[0].samples[1].v) == SG_STALE_NAN_BITS);
    assert_true(sg_f64_bits(res.sets[0].v[0].samples[2].v) == SG_NORMAL_NAN_BITS);
    sg_arena_cleanup(&a);
}

static void streamed_skips_histograms(void **state)
{
    struct sg_sample *s = series_samples(3, 0, 1, 0);
    struct tchunk c[] = {{2, NULL, 0}, {0, s, 3}, {3, NULL, 0}, {5, NULL, 0}, {6, NULL, 0}};
    /* XOR2 and unknown encodings are errors; UNKNOWN (0) is no float data either */
    static const struct tchunk bad[] = {{4, NULL, 0}, {9, NULL, 0}, {100, NULL, 0}};
    static const char *const msg[] = {"XOR2 (4)", "encoding unknown (9)", "UNKNOWN (0)"};
    struct tseries ts = {lab_a, c, 5};
    struct sg_rr_decode_query q = {0, 10, NULL, 0};
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 0);
    assert_int_equal(decode_frame(&ts, &q, 1, &a, &res, &err), SG_OK);
    assert_int_equal(res.stats.skipped_histogram_chunks, 4);
    assert_int_equal(res.sets[0].v[0].count, 3);
    for (size_t i = 0; i < SG_ARRAY_LEN(bad); i++) {
        ts.chunks = &bad[i];
        ts.nchunks = 1;
        assert_int_equal(decode_frame(&ts, &q, 1, &a, &res, &err), SG_EPROTO);
        assert_non_null(strstr(err.msg, msg[i]));
    }
    sg_arena_cleanup(&a);
    free(s);
}

static void streamed_drops_external_labels_and_sorts(void **state)
{
    static const char *const l1[] = {"__name__", "m", "job", "z", "prom", "k8s", NULL};
    static const char *const l2[] = {"__name__", "m", "job", "a", "prom", "k8s", NULL};
    struct sg_sample *s = series_samples(2, 0, 1, 0);
    struct tchunk c[] = {{0, s, 2}};
    struct tseries t1 = {l1, c, 1}, t2 = {l2, c, 1};
    struct sg_str drop = {"prom", 4};
    struct sg_rr_decode_query q = {0, 10, &drop, 1};
    struct sg_buf body;
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_buf_init(&body, 1 << 20);
    add_frame(&body, 0, &t1); /* out of label order */
    add_frame(&body, 0, &t2);
    add_frame(&body, 0, &t1); /* the same series again, not adjacent */
    sg_arena_init(&a, 0);
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, NULL, &body, 0, &a, &res, &err), SG_OK);
    assert_int_equal(res.sets[0].count, 2);
    assert_int_equal(res.sets[0].v[0].labels.count, 2);
    expect_label(&res.sets[0].v[0], 1, "job", "a");
    expect_label(&res.sets[0].v[1], 1, "job", "z");
    assert_int_equal(res.sets[0].v[1].count, 2); /* merged and deduplicated */
    sg_arena_cleanup(&a);
    sg_buf_cleanup(&body);
    free(s);
}

static void streamed_framing_errors(void **state)
{
    struct sg_sample *s = series_samples(3, 0, 1, 0);
    struct tchunk c[] = {{0, s, 3}};
    struct tseries ts = {lab_a, c, 1};
    struct sg_rr_decode_query q = {0, 10, NULL, 0};
    struct sg_rr_decode_limits lim = {0, 1000, 0};
    struct sg_buf body, bad;
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_buf_init(&body, 1 << 20);
    sg_buf_init(&bad, 1 << 20);
    add_frame(&body, 0, &ts);
    sg_arena_init(&a, 0);

    /* a flipped CRC byte */
    assert_int_equal(sg_buf_append(&bad, body.data, body.len), SG_OK);
    bad.data[2] ^= 0x40;
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, NULL, &bad, 0, &a, &res, &err),
                     SG_EPROTO);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    /* a flipped payload byte */
    bad.data[2] ^= 0x40;
    bad.data[bad.len - 3] ^= 1;
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, NULL, &bad, 0, &a, &res, &err),
                     SG_EPROTO);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    /* truncated in the payload, the checksum and the length */
    for (size_t cut = 1; cut < body.len; cut++) {
        sg_buf_reset(&bad);
        assert_int_equal(sg_buf_append(&bad, body.data, body.len), SG_OK);
        assert_int_equal(sg_buf_append(&bad, body.data, cut), SG_OK);
        assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, NULL, &bad, 3, &a, &res, &err),
                         SG_EPROTO);
        assert_non_null(strstr(err.msg, "truncated frame"));
        assert_non_null(strstr(err.msg, "frame 2"));
    }
    /* a length varint that does not end within 64 bits */
    sg_buf_reset(&bad);
    assert_int_equal(sg_buf_append(&bad, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10), SG_OK);
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, NULL, &bad, 0, &a, &res, &err),
                     SG_EPROTO);
    assert_non_null(strstr(err.msg, "overflows 64 bits"));
    /* 2^62: over the frame cap, before any allocation */
    sg_buf_reset(&bad);
    assert_int_equal(sg_buf_append(&bad, "\x80\x80\x80\x80\x80\x80\x80\x80\x40\0\0\0\0", 13),
                     SG_OK);
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, NULL, &bad, 0, &a, &res, &err),
                     SG_ELIMIT);
    assert_non_null(strstr(err.msg, "length 4611686018427387904 exceeds the frame size limit"));
    /* the cap is inclusive */
    lim.max_frame_bytes = body.len - 5;
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, &lim, &body, 0, &a, &res, &err), SG_OK);
    lim.max_frame_bytes--;
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, &lim, &body, 0, &a, &res, &err),
                     SG_ELIMIT);
    /* the response cap and the sample cap */
    lim.max_frame_bytes = 0;
    lim.max_response_bytes = body.len - 1;
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, &lim, &body, 7, &a, &res, &err),
                     SG_ELIMIT);
    lim.max_response_bytes = 0;
    lim.max_samples = 2;
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, &lim, &body, 0, &a, &res, &err),
                     SG_ELIMIT);
    assert_non_null(strstr(err.msg, "more than 2 samples"));
    /* query index out of range */
    sg_buf_reset(&bad);
    add_frame(&bad, 1, &ts);
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, NULL, &bad, 0, &a, &res, &err),
                     SG_EPROTO);
    assert_non_null(strstr(err.msg, "query_index 1 is out of range"));
    /* garbage protobuf with a valid checksum */
    sg_buf_reset(&bad);
    assert_int_equal(sg_rr_frame_encode("\x0a\x05\x0a", 3, &bad), SG_OK);
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, NULL, &bad, 0, &a, &res, &err),
                     SG_EPROTO);
    assert_non_null(strstr(err.msg, "malformed"));
    /* an empty body is an empty answer */
    sg_buf_reset(&bad);
    assert_int_equal(decode(SG_RR_RESPONSE_STREAMED, &q, 1, NULL, &bad, 0, &a, &res, &err), SG_OK);
    assert_int_equal(res.sets[0].count, 0);
    sg_arena_cleanup(&a);
    sg_buf_cleanup(&body);
    sg_buf_cleanup(&bad);
    free(s);
}

static void decoder_arena_cap(void **state)
{
    struct sg_sample *s = series_samples(1000, 0, 1, 0);
    struct tchunk c[] = {{0, s, 1000}};
    struct tseries ts = {lab_a, c, 1};
    struct sg_rr_decode_query q = {0, 100000, NULL, 0};
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 4096);
    assert_int_equal(decode_frame(&ts, &q, 1, &a, &res, &err), SG_ELIMIT);
    assert_non_null(strstr(err.msg, "memory cap"));
    sg_arena_cleanup(&a);
    free(s);
}

/* ---- SAMPLES ------------------------------------------------------------- */

struct tss {
    const char *const *labels;
    const struct sg_sample *s;
    size_t n;
};

static void samples_body(const struct tss *const *results, const size_t *nseries, size_t nres,
                         struct sg_buf *out)
{
    Prometheus__ReadResponse r = PROMETHEUS__READ_RESPONSE__INIT;
    Prometheus__QueryResult qr[4], *qrp[4];
    size_t nts = 0, nlab = 0, nsmp = 0;

    for (size_t i = 0; i < nres; i++)
        for (size_t k = 0; k < nseries[i]; k++) {
            nts++;
            nsmp += results[i][k].n;
            for (const char *const *l = results[i][k].labels; *l; l += 2)
                nlab++;
        }
    Prometheus__TimeSeries *ts = calloc(nts + 1, sizeof(*ts)), **tsp = calloc(nts + 1, sizeof(*tsp));
    Prometheus__Label *lab = calloc(nlab + 1, sizeof(*lab)), **labp = calloc(nlab + 1, sizeof(*labp));
    Prometheus__Sample *smp = calloc(nsmp + 1, sizeof(*smp)), **smpp = calloc(nsmp + 1, sizeof(*smpp));
    assert_true(ts && tsp && lab && labp && smp && smpp);
    nts = nlab = nsmp = 0;
    for (size_t i = 0; i < nres; i++) {
        prometheus__query_result__init(&qr[i]);
        qr[i].timeseries = tsp + nts;
        for (size_t k = 0; k < nseries[i]; k++, nts++) {
            const struct tss *t = &results[i][k];
            prometheus__time_series__init(&ts[nts]);
            ts[nts].labels = labp + nlab;
            for (const char *const *l = t->labels; *l; l += 2, nlab++) {
                prometheus__label__init(&lab[nlab]);
                lab[nlab].name = (char *)(uintptr_t)l[0];
                lab[nlab].value = (char *)(uintptr_t)l[1];
                labp[nlab] = &lab[nlab];
                ts[nts].n_labels++;
            }
            ts[nts].samples = smpp + nsmp;
            for (size_t j = 0; j < t->n; j++, nsmp++) {
                prometheus__sample__init(&smp[nsmp]);
                smp[nsmp].timestamp = t->s[j].t;
                smp[nsmp].value = t->s[j].v;
                smpp[nsmp] = &smp[nsmp];
            }
            ts[nts].n_samples = t->n;
            tsp[nts] = &ts[nts];
        }
        qr[i].n_timeseries = nseries[i];
        qrp[i] = &qr[i];
    }
    r.n_results = nres;
    r.results = qrp;
    size_t len = prometheus__read_response__get_packed_size(&r), clen;
    uint8_t *raw = malloc(len + 1);
    prometheus__read_response__pack(&r, raw);
    clen = snappy_max_compressed_length(len);
    assert_int_equal(sg_buf_reserve(out, clen), SG_OK);
    assert_int_equal(snappy_compress((char *)raw, len, out->data + out->len, &clen), SNAPPY_OK);
    out->len += clen;
    free(raw);
    free(ts);
    free(tsp);
    free(lab);
    free(labp);
    free(smp);
    free(smpp);
}

static void samples_decode(void **state)
{
    static const char *const l1[] = {"__name__", "m", "job", "z", "prom", "k8s", NULL};
    static const char *const l2[] = {"job", "a", "__name__", "m", NULL}; /* unsorted labels */
    struct sg_sample s1[] = {{30, 3}, {10, 1}, {20, 2}, {20, 9}, {40, 0}};
    struct sg_sample s2[] = {{10, 1}, {25, 2}};
    struct tss r0[] = {{l1, s1, 5}, {l2, s2, 2}}, r1[] = {{l2, s2, 2}};
    const struct tss *results[] = {r0, r1};
    size_t ns[] = {2, 1};
    struct sg_str drop = {"prom", 4};
    struct sg_rr_decode_query q[2] = {{10, 30, &drop, 1}, {26, 100, NULL, 0}};
    struct sg_buf body;
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    s1[4].v = sg_stale_nan();
    sg_buf_init(&body, 1 << 20);
    samples_body(results, ns, 2, &body);
    sg_arena_init(&a, 0);
    for (size_t step = 0; step < 30; step += 7) {
        if (decode(SG_RR_RESPONSE_SAMPLES, q, 2, NULL, &body, step, &a, &res, &err) != SG_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(res.stats.response_type, SG_RR_RESPONSE_SAMPLES);
        assert_int_equal(res.sets[0].count, 2);
        expect_label(&res.sets[0].v[0], 1, "job", "a");
        expect_label(&res.sets[0].v[1], 1, "job", "z");
        assert_int_equal(res.sets[0].v[1].labels.count, 2);
        assert_int_equal(res.sets[0].v[1].count, 3); /* sorted, deduplicated, clipped */
        assert_int_equal(res.sets[0].v[1].samples[1].t, 20);
        assert_true(res.sets[0].v[1].samples[1].v == 2.0);
        assert_int_equal(res.sets[1].count, 0); /* nothing in [26, 100] */
        assert_int_equal(res.stats.samples, 5);
    }
    /* result count mismatch */
    assert_int_equal(decode(SG_RR_RESPONSE_SAMPLES, q, 1, NULL, &body, 0, &a, &res, &err),
                     SG_EPROTO);
    assert_non_null(strstr(err.msg, "answered 2 results for 1 query"));
    /* sample cap */
    struct sg_rr_decode_limits lim = {0, 0, 4};
    assert_int_equal(decode(SG_RR_RESPONSE_SAMPLES, q, 2, &lim, &body, 0, &a, &res, &err),
                     SG_ELIMIT);
    sg_arena_cleanup(&a);
    sg_buf_cleanup(&body);
}

/* A SAMPLES answer handed over: at its end, in label order whatever the
 * server's order, a label set sent twice merged into one series, clipped,
 * nothing kept in the result - or (any order) each series as it arrives,
 * twice when sent twice. */
static void samples_hands_over_series(void **state)
{
    static const char *const la[] = {"__name__", "m", "job", "a", NULL};
    static const char *const lb[] = {"__name__", "m", "job", "b", NULL};
    static const char *const lc[] = {"__name__", "m", "job", "c", NULL};
    struct sg_sample sa1[] = {{10, 1}, {30, 3}}, sa2[] = {{20, 2}, {30, 9}}, sb[] = {{15, 5}},
                     sc[] = {{500, 1}};
    struct tss r0[] = {{lb, sb, 1}, {la, sa1, 2}, {lc, sc, 1}, {la, sa2, 2}};
    const struct tss *results[] = {r0};
    size_t ns[] = {4};
    struct sg_rr_decode_query q = {0, 100, NULL, 0};
    struct sg_rr_decoder *d;
    struct sg_buf body;
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;
    struct handed h;

    (void)state;
    sg_buf_init(&body, 1 << 20);
    samples_body(results, ns, 1, &body);
    for (size_t run = 0; run < 2 * (body.len + 7); run += 7) {
        bool any = run >= body.len + 7;
        size_t step = any ? run - (body.len + 7) + 1 : run + 1;
        memset(&h, 0, sizeof(h));
        sg_arena_init(&a, 0);
        sg_err_clear(&err);
        assert_int_equal(sg_rr_decoder_new(SG_RR_RESPONSE_SAMPLES, &q, 1, NULL, &a, &d, &err),
                         SG_OK);
        sg_rr_decoder_on_series(d, on_series, &h, any);
        for (size_t off = 0; off < body.len; off += step)
            assert_int_equal(sg_rr_decoder_feed(d, body.data + off,
                                                body.len - off > step ? step : body.len - off,
                                                &err),
                             SG_OK);
        if (sg_rr_decoder_finish(d, &res, &err) != SG_OK)
            fail_msg("step %zu: %s", step, err.msg);
        sg_rr_decoder_free(d);
        assert_int_equal(res.sets[0].count, 0);
        if (any) { /* b; a; (c: nothing in [0, 100]); a again */
            assert_int_equal(h.n, 3);
            assert_string_equal(h.first[0], "b");
            assert_string_equal(h.first[1], "a");
            assert_string_equal(h.first[2], "a");
            assert_int_equal(h.samples, 5);
            assert_true(h.last_v == 9);
            assert_int_equal(res.stats.series, 3);
            assert_int_equal(res.stats.samples, 5);
            sg_arena_cleanup(&a);
            continue;
        }
        assert_int_equal(h.n, 2); /* c has nothing in [0, 100] */
        assert_string_equal(h.first[0], "a");
        assert_string_equal(h.first[1], "b");
        assert_int_equal(h.samples, 4); /* a: 10, 20, 30 (the first 30 kept); b: 15 */
        assert_true(h.last_v == 5);
        assert_true(h.a30 == 3); /* the copy that came first wins */
        assert_int_equal(res.stats.series, 2);
        assert_int_equal(res.stats.samples, 4);
        sg_arena_cleanup(&a);
    }
    sg_buf_cleanup(&body);
}

/* Samples packed tighter than the handed-over decoder's first guess
 * (zero values and small timestamps: 4 bytes each) grow its array. */
static void samples_any_order_dense(void **state)
{
    static const char *const la[] = {"__name__", "m", NULL};
    static struct sg_sample sa[3000];
    struct tss r0[] = {{la, sa, 3000}};
    const struct tss *results[] = {r0};
    size_t ns[] = {1};
    struct sg_rr_decode_query q = {0, 100000, NULL, 0};
    struct sg_rr_decoder *d;
    struct sg_buf body;
    struct sg_arena a;
    struct sg_err err;
    struct handed h;

    (void)state;
    for (size_t i = 0; i < 3000; i++)
        sa[i] = (struct sg_sample){(int64_t)i + 1, 0};
    sg_buf_init(&body, 1 << 20);
    samples_body(results, ns, 1, &body);
    memset(&h, 0, sizeof(h));
    sg_arena_init(&a, 0);
    sg_err_clear(&err);
    assert_int_equal(sg_rr_decoder_new(SG_RR_RESPONSE_SAMPLES, &q, 1, NULL, &a, &d, &err), SG_OK);
    sg_rr_decoder_on_series(d, on_series, &h, true);
    /* handed over while it arrives: the callback's "stop" (it stops past
     * 1000 samples) comes back from feed */
    assert_int_equal(sg_rr_decoder_feed(d, body.data, body.len, &err), SG_ECANCELED);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.samples, 3000);
    sg_rr_decoder_free(d);
    sg_arena_cleanup(&a);
    sg_buf_cleanup(&body);
}

static void samples_bomb_guard(void **state)
{
    struct sg_rr_decode_query q = {0, 10, NULL, 0};
    struct sg_rr_decode_limits lim = {1000, 0, 0};
    struct sg_buf body;
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 0);
    sg_buf_init(&body, 1 << 20);
    /* declares 2^31 bytes uncompressed in 5 bytes */
    assert_int_equal(sg_buf_append(&body, "\x80\x80\x80\x80\x08\x00", 6), SG_OK);
    assert_int_equal(decode(SG_RR_RESPONSE_SAMPLES, &q, 1, &lim, &body, 0, &a, &res, &err),
                     SG_ELIMIT);
    assert_non_null(strstr(err.msg, "decompresses to 2147483648 bytes"));
    sg_buf_reset(&body);
    assert_int_equal(sg_buf_append(&body, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11),
                     SG_OK);
    assert_int_equal(decode(SG_RR_RESPONSE_SAMPLES, &q, 1, &lim, &body, 0, &a, &res, &err),
                     SG_EPROTO);
    assert_non_null(strstr(err.msg, "not snappy"));
    /* valid snappy, not a ReadResponse */
    sg_buf_reset(&body);
    assert_int_equal(sg_buf_append(&body, "\x03\x08\x0a\xff\xff", 5), SG_OK);
    assert_int_equal(decode(SG_RR_RESPONSE_SAMPLES, &q, 1, &lim, &body, 0, &a, &res, &err),
                     SG_EPROTO);
    /* the compressed body over the response cap: 999 bytes declared, one
     * literal of 999 bytes, 1004 bytes in all */
    sg_buf_reset(&body);
    assert_int_equal(sg_buf_append(&body, "\xe7\x07\xf4\xe6\x03", 5), SG_OK);
    for (int i = 0; i < 333; i++)
        assert_int_equal(sg_buf_append(&body, "abc", 3), SG_OK);
    assert_int_equal(decode(SG_RR_RESPONSE_SAMPLES, &q, 1, &lim, &body, 100, &a, &res, &err),
                     SG_ELIMIT);
    /* an announced length over the cap fails before the download */
    {
        struct sg_rr_decoder *d;
        assert_int_equal(sg_rr_decoder_new(SG_RR_RESPONSE_SAMPLES, &q, 1, &lim, &a, &d, &err),
                         SG_OK);
        sg_err_clear(&err);
        assert_int_equal(sg_rr_decoder_expect(d, 1001, &err), SG_ELIMIT);
        assert_non_null(strstr(err.msg, "1001 bytes is larger than the limit of 1000"));
        sg_rr_decoder_free(d);
        assert_int_equal(sg_rr_decoder_new(SG_RR_RESPONSE_SAMPLES, &q, 1, &lim, &a, &d, &err),
                         SG_OK);
        assert_int_equal(sg_rr_decoder_expect(d, 1000, &err), SG_OK);
        sg_rr_decoder_free(d);
    }
    sg_arena_cleanup(&a);
    sg_buf_cleanup(&body);
}

/* The incremental snappy decompressor gives the library's bytes whatever
 * the piece sizes, and refuses what the library refuses. */
static int snappy_pieces(const char *c, size_t clen, size_t step, size_t cap,
                         struct sg_rr_snappy *z, struct sg_err *err)
{
    int rc = SG_OK;

    sg_rr_snappy_init(z, cap);
    sg_err_clear(err);
    for (size_t off = 0; off < clen && rc == SG_OK; off += step)
        rc = sg_rr_snappy_feed(z, c + off, clen - off < step ? clen - off : step, err);
    return rc == SG_OK ? sg_rr_snappy_finish(z, err) : rc;
}

static void snappy_incremental(void **state)
{
    static const size_t steps[] = {1, 2, 3, 5, 17, 4096, (size_t)1 << 30};
    size_t n = 300000, clen = snappy_max_compressed_length(n);
    char *raw = malloc(n), *c = malloc(clen + 2);
    uint64_t x = 42;
    struct sg_rr_snappy z;
    struct sg_err err;

    (void)state;
    assert_non_null(raw);
    assert_non_null(c);
    /* runs of repeated bytes, repeated phrases near and far, random bytes */
    for (size_t i = 0; i < n;) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        size_t len = 1 + (x >> 33) % 200, kind = (x >> 20) % 4;
        for (size_t k = 0; k < len && i < n; k++, i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            if (kind == 0)
                raw[i] = 'z';
            else if (kind == 1 && i >= 70000)
                raw[i] = raw[i - 70000 + k % 50];
            else if (kind == 2 && i >= 9)
                raw[i] = raw[i - 9];
            else
                raw[i] = (char)(x >> 56);
        }
    }
    assert_int_equal(snappy_compress(raw, n, c, &clen), SNAPPY_OK);
    for (size_t i = 0; i < SG_ARRAY_LEN(steps); i++) {
        if (snappy_pieces(c, clen, steps[i], n, &z, &err) != SG_OK)
            fail_msg("step %zu: %s", steps[i], err.msg);
        assert_int_equal(z.have, n);
        assert_memory_equal(z.out, raw, n);
        sg_rr_snappy_cleanup(&z);
    }
    /* one byte short, one byte too many */
    assert_int_equal(snappy_pieces(c, clen - 1, 7, n, &z, &err), SG_EPROTO);
    assert_non_null(strstr(err.msg, "corrupt snappy data"));
    sg_rr_snappy_cleanup(&z);
    c[clen] = 0x00; /* a one-byte literal */
    c[clen + 1] = 'q';
    assert_int_equal(snappy_pieces(c, clen + 2, 1 << 20, n, &z, &err), SG_EPROTO);
    sg_rr_snappy_cleanup(&z);
    /* the declared length over the cap, before any allocation */
    assert_int_equal(snappy_pieces(c, clen, 1, n - 1, &z, &err), SG_ELIMIT);
    assert_null(z.out);
    assert_non_null(strstr(err.msg, "decompresses to 300000 bytes"));
    sg_rr_snappy_cleanup(&z);
    /* copies: offset 0 and offset beyond the output are corrupt; an
     * overlapping copy repeats; a 4-byte offset copy is valid */
    assert_int_equal(snappy_pieces("\x08\x0c" "abcd\x01\x00", 8, 1, 100, &z, &err), SG_EPROTO);
    sg_rr_snappy_cleanup(&z);
    assert_int_equal(snappy_pieces("\x08\x0c" "abcd\x01\x05", 8, 1, 100, &z, &err), SG_EPROTO);
    sg_rr_snappy_cleanup(&z);
    assert_int_equal(snappy_pieces("\x0b\x00z\x19\x01", 5, 2, 100, &z, &err), SG_OK);
    assert_memory_equal(z.out, "zzzzzzzzzzz", 11);
    sg_rr_snappy_cleanup(&z);
    assert_int_equal(snappy_pieces("\x06\x08xyz\x0b\x03\x00\x00\x00", 10, 3, 100, &z, &err),
                     SG_OK);
    assert_memory_equal(z.out, "xyzxyz", 6);
    sg_rr_snappy_cleanup(&z);
    /* a length of more than 32 bits is not snappy */
    assert_int_equal(snappy_pieces("\xff\xff\xff\xff\x10", 5, 1, 100, &z, &err), SG_EPROTO);
    assert_non_null(strstr(err.msg, "not snappy"));
    sg_rr_snappy_cleanup(&z);
    free(raw);
    free(c);
}

/* Feed c in pieces of step bytes; with release, copy each piece's new
 * output to got and release it, as the SAMPLES decoder does. */
static int snappy_windowed(const uint8_t *c, size_t clen, size_t step, bool release,
                           struct sg_rr_snappy *z, uint8_t *got, size_t *max_cap,
                           struct sg_err *err)
{
    size_t taken = 0;
    int rc = SG_OK;

    sg_err_clear(err);
    for (size_t off = 0; off < clen && rc == SG_OK; off += step) {
        rc = sg_rr_snappy_feed(z, c + off, clen - off < step ? clen - off : step, err);
        if (z->cap > *max_cap)
            *max_cap = z->cap;
        if (rc != SG_OK || !release || !z->out)
            continue;
        memcpy(got + taken, z->out + (taken - z->base), z->have - taken);
        taken = z->have;
        sg_rr_snappy_release(z, taken);
    }
    return rc == SG_OK ? sg_rr_snappy_finish(z, err) : rc;
}

/* A reader that releases what it consumed keeps the buffer at a few MiB
 * however long the output; one that does not gets it whole. A copy that
 * reaches past the kept history is its own error. */
static void snappy_window(void **state)
{
    static const size_t steps[] = {1000, 16384, 65536, (size_t)1 << 30};
    size_t n = (size_t)20 << 20, clen = snappy_max_compressed_length(n), max_cap;
    uint8_t *raw = malloc(n), *c = malloc(clen), *got = malloc(n);
    uint64_t x = 7;
    struct sg_rr_snappy z;
    struct sg_err err;

    (void)state;
    assert_non_null(raw);
    assert_non_null(c);
    assert_non_null(got);
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        raw[i] = i >= 5000 && (x >> 60) < 12 ? raw[i - 1000 - (x >> 40) % 4000] : (uint8_t)(x >> 56);
    }
    assert_int_equal(snappy_compress((const char *)raw, n, (char *)c, &clen), SNAPPY_OK);
    for (size_t i = 0; i < SG_ARRAY_LEN(steps); i++) {
        max_cap = 0;
        sg_rr_snappy_init(&z, n);
        memset(got, 0, n);
        if (snappy_windowed(c, clen, steps[i], true, &z, got, &max_cap, &err) != SG_OK)
            fail_msg("step %zu: %s", steps[i], err.msg);
        assert_memory_equal(got, raw, n);
        if (steps[i] < 1000000)
            assert_true(max_cap <= (size_t)8 << 20);
        sg_rr_snappy_cleanup(&z);
    }
    /* nothing released: the whole output in one buffer */
    max_cap = 0;
    sg_rr_snappy_init(&z, n);
    assert_int_equal(snappy_windowed(c, clen, 16384, false, &z, got, &max_cap, &err), SG_OK);
    assert_int_equal(z.base, 0);
    assert_int_equal(z.have, n);
    assert_memory_equal(z.out, raw, n);
    sg_rr_snappy_cleanup(&z);
    /* 9 MiB of literal, then 10 bytes copied from 8 MiB back: fine when
     * kept; past a 64 KiB history once released (and dropped) */
    {
        size_t lit = (size_t)9 << 20, total = lit + 10, k = 0, v = total;
        uint8_t *s = c;
        for (; v >= 0x80; v >>= 7)
            s[k++] = (uint8_t)(v | 0x80);
        s[k++] = (uint8_t)v;
        s[k++] = 63 << 2; /* a literal with a 4-byte length */
        s[k++] = (uint8_t)(lit - 1), s[k++] = (uint8_t)((lit - 1) >> 8);
        s[k++] = (uint8_t)((lit - 1) >> 16), s[k++] = (uint8_t)((lit - 1) >> 24);
        memcpy(s + k, raw, lit);
        k += lit;
        s[k++] = (uint8_t)(((10 - 1) << 2) | 3); /* a copy with a 4-byte offset */
        s[k++] = 0, s[k++] = 0, s[k++] = 0x80, s[k++] = 0; /* 8 MiB */
        sg_rr_snappy_init(&z, total);
        max_cap = 0;
        assert_int_equal(snappy_windowed(s, k, 4096, false, &z, got, &max_cap, &err), SG_OK);
        assert_memory_equal(z.out + lit, raw + lit - ((size_t)8 << 20), 10);
        sg_rr_snappy_cleanup(&z);
        sg_rr_snappy_init(&z, total);
        z.hist = 65536;
        assert_int_equal(snappy_windowed(s, k, 4096, true, &z, got, &max_cap, &err), SG_EPROTO);
        assert_non_null(strstr(err.msg, "reaches back 8388608 bytes"));
        sg_rr_snappy_cleanup(&z);
    }
    free(raw);
    free(c);
    free(got);
}

/* Many series decoded while the body arrives in pieces of any size give
 * what one piece gives. */
static void samples_incremental(void **state)
{
    enum { NS = 300, NP = 40 };
    static const char *const names[] = {"__name__", "m", "i", NULL, NULL};
    static char ival[NS][8];
    static const char *lab[NS][5];
    static struct sg_sample smp[NS][NP];
    static struct tss r0[NS];
    const struct tss *results[] = {r0};
    size_t ns[] = {NS};
    static const size_t steps[] = {1, 3, 100, 1000, 65536, 0};
    struct sg_rr_decode_query q = {0, INT64_MAX, NULL, 0};
    struct sg_buf body;
    struct sg_arena a;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    for (size_t i = 0; i < NS; i++) {
        /* in reverse label order, so the set is sorted at the end */
        snprintf(ival[i], sizeof(ival[i]), "%05zu", NS - i);
        memcpy(lab[i], names, sizeof(names));
        lab[i][3] = ival[i];
        for (size_t k = 0; k < NP; k++) {
            smp[i][k].t = (int64_t)(1700000000000 + k * 15000 + i);
            smp[i][k].v = (double)(i * k) / 7;
        }
        r0[i].labels = lab[i];
        r0[i].s = smp[i];
        r0[i].n = NP;
    }
    sg_buf_init(&body, 16 << 20);
    samples_body(results, ns, 1, &body);
    sg_arena_init(&a, 0);
    for (size_t st = 0; st < SG_ARRAY_LEN(steps); st++) {
        if (decode(SG_RR_RESPONSE_SAMPLES, &q, 1, NULL, &body, steps[st], &a, &res, &err) !=
            SG_OK)
            fail_msg("step %zu: %s", steps[st], err.msg);
        assert_int_equal(res.sets[0].count, NS);
        assert_int_equal(res.stats.samples, NS * NP);
        for (size_t i = 0; i < NS; i++) {
            const struct sg_series *s = &res.sets[0].v[i];
            size_t src = NS - 1 - i;
            assert_int_equal(s->labels.count, 2);
            assert_memory_equal(s->labels.v[1].value.ptr, ival[src], 5);
            assert_int_equal(s->count, NP);
            for (size_t k = 0; k < NP; k++) {
                assert_int_equal(s->samples[k].t, smp[src][k].t);
                assert_true(s->samples[k].v == smp[src][k].v);
            }
        }
        sg_arena_reset(&a);
    }
    /* cut short anywhere: an error, never a result */
    for (size_t cut = 1; cut < body.len; cut += body.len / 97 + 1) {
        struct sg_buf part = body;
        part.len = cut;
        assert_int_equal(decode(SG_RR_RESPONSE_SAMPLES, &q, 1, NULL, &part, 1000, &a, &res, &err),
                         SG_EPROTO);
        sg_arena_reset(&a);
    }
    sg_arena_cleanup(&a);
    sg_buf_cleanup(&body);
}

/* ---- printing ------------------------------------------------------------ */

static uint64_t rnd_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* A value of every kind the printer distinguishes. */
static double rnd_value(void)
{
    static const double special[] = {0.0, 1.0, -1.0, 9007199254740991.0, 9007199254740992.0,
                                     9007199254740994.0, 1e21, 1e-6, 9.999999e-7, 1e-7, 0.1,
                                     -2.5, 5e-324, 1.7976931348623157e308, 123456789.125,
                                     99999999.0, 100000000.0, 1e15, 1e16};
    uint64_t r = rnd(), bits;
    double v;

    switch (r % 8) {
    case 0:
        return special[(r >> 8) % SG_ARRAY_LEN(special)] * ((r >> 40) & 1 ? -1 : 1);
    case 1: /* an integer of any size below 2^53 */
        v = (double)((r >> 11) >> ((r >> 3) % 53));
        return (r >> 2) & 1 ? -v : v;
    case 2:
        return (double)((r >> 16) % 1000);
    case 3: /* a few decimals */
        return (double)(int64_t)((r >> 20) % 2000000 - 1000000) / 1000.0;
    case 4:
        switch ((r >> 8) % 5) {
        case 0:
            return sg_stale_nan();
        case 1:
            return NAN;
        case 2:
            return INFINITY;
        case 3:
            return -INFINITY;
        default:
            return -0.0;
        }
    default: /* any bits */
        bits = rnd();
        memcpy(&v, &bits, 8);
        return v;
    }
}

/* Timestamps of one series: a start anywhere (around the digit ranges the
 * printer keeps, too), then steps of any size. */
static void rnd_times(struct sg_sample *s, size_t n)
{
    static const int64_t starts[] = {0, 1, -1, 99999990, 100000000, 99999999990,
                                     1700000000000, 1799999999000, 9999999999999990,
                                     10000000000000000, INT64_MAX - 100000, INT64_MIN};
    uint64_t r = rnd();
    uint64_t t = r % 3 ? (uint64_t)starts[(r >> 8) % SG_ARRAY_LEN(starts)] : rnd();

    for (size_t i = 0; i < n; i++) {
        uint64_t step = rnd();
        s[i].t = (int64_t)t; /* two's complement: steps wrap from INT64_MAX to INT64_MIN */
        step = step % 4 == 0 ? step >> 20 : step % 4 == 1 ? 15000 + step % 3 : (step >> 8) % 1000;
        t += step - (step % 7 == 0 ? 500 : 0);
    }
}

static void ref_value(struct sg_buf *b, double v)
{
    double a = fabs(v);
    char t[SG_NUM_FMT_MAX];
    size_t n = sg_num_format(v, a != 0 && (a < 1e-6 || a >= 1e21) ? 'e' : 'f', t, sizeof(t));

    assert_int_equal(sg_buf_append(b, t, n), SG_OK);
}

/* The printer's output, computed the plain way. */
static void ref_print(struct sg_buf *b, const struct sg_series *v, size_t n, bool json)
{
    if (json)
        assert_int_equal(sg_buf_puts(b, "{\"resultType\":\"matrix\",\"result\":["), SG_OK);
    for (size_t i = 0; i < n; i++) {
        if (json) {
            assert_int_equal(sg_buf_puts(b, i ? ",{\"metric\":{" : "{\"metric\":{"), SG_OK);
            for (uint32_t l = 0; l < v[i].labels.count; l++) /* plain ASCII labels */
                assert_int_equal(sg_buf_appendf(b, "%s\"%.*s\":\"%.*s\"", l ? "," : "",
                                                (int)v[i].labels.v[l].name.len,
                                                v[i].labels.v[l].name.ptr,
                                                (int)v[i].labels.v[l].value.len,
                                                v[i].labels.v[l].value.ptr),
                                 SG_OK);
            assert_int_equal(sg_buf_puts(b, "},\"values\":["), SG_OK);
        }
        for (size_t k = 0; k < v[i].count; k++) {
            const struct sg_sample *s = &v[i].samples[k];
            uint64_t u = s->t < 0 ? (uint64_t)0 - (uint64_t)s->t : (uint64_t)s->t;
            if (json) {
                assert_int_equal(sg_buf_appendf(b, "%s[%s%llu", k ? "," : "", s->t < 0 ? "-" : "",
                                                (unsigned long long)(u / 1000)),
                                 SG_OK);
                if (u % 1000)
                    assert_int_equal(sg_buf_appendf(b, ".%03u", (unsigned)(u % 1000)), SG_OK);
                assert_int_equal(sg_buf_puts(b, ",\""), SG_OK);
                ref_value(b, s->v);
                assert_int_equal(sg_buf_puts(b, "\"]"), SG_OK);
                continue;
            }
            assert_int_equal(sg_labels_format_metric(&v[i].labels, b), SG_OK);
            assert_int_equal(sg_buf_putc(b, ' '), SG_OK);
            if (sg_is_stale(s->v))
                assert_int_equal(sg_buf_puts(b, "stale"), SG_OK);
            else
                ref_value(b, s->v);
            assert_int_equal(sg_buf_appendf(b, " %lld\n", (long long)s->t), SG_OK);
        }
        if (json)
            assert_int_equal(sg_buf_puts(b, "]}"), SG_OK);
    }
    if (json)
        assert_int_equal(sg_buf_puts(b, "]}\n"), SG_OK);
}

static void print_all_mode(const struct sg_series *v, size_t n, bool json, bool bg, char **out,
                           size_t *len)
{
    FILE *f = open_memstream(out, len);
    struct sg_rr_printer *pr;
    struct sg_err err;

    assert_non_null(f);
    assert_int_equal(sg_rr_printer_new(f, json, &pr, &err), SG_OK);
    if (bg)
        assert_int_equal(sg_rr_printer_background(pr, &err), SG_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sg_rr_printer_series(pr, &v[i], &err), SG_OK);
    assert_int_equal(sg_rr_printer_end(pr, &err), SG_OK);
    sg_rr_printer_free(pr);
    assert_int_equal(fclose(f), 0);
}

static void print_all(const struct sg_series *v, size_t n, bool json, char **out, size_t *len)
{
    print_all_mode(v, n, json, false, out, len);
}

/* Every value and timestamp kind, in text and JSON, through several
 * buffer refills, on the caller's thread and in the background (several
 * batches), equals the reference byte for byte. */
static void printer_matches_reference(void **state)
{
    enum { NS = 60, MAXN = 3000 };
    static struct sg_sample smp[NS][MAXN];
    static char lv[NS][16], longv[160];
    struct sg_label lab[NS][2];
    struct sg_series v[NS];
    struct sg_buf want;

    (void)state;
    memset(longv, 'v', sizeof(longv));
    sg_buf_init(&want, (size_t)1 << 30);
    for (int round = 0; round < 16; round++) {
        for (size_t i = 0; i < NS; i++) {
            size_t n = rnd() % (i % 10 == 0 ? MAXN : 40);
            snprintf(lv[i], sizeof(lv[i]), "%zu", i);
            lab[i][0] = (struct sg_label){{"__name__", 8}, {"m", 1}};
            lab[i][1] = (struct sg_label){{"s", 1}, {lv[i], strlen(lv[i])}};
            if (i % 4 == 1) /* a series text around and past the fixed-size copy */
                lab[i][1].value = sg_str_make(longv, 100 + (i * 7 + (size_t)round) % 60);
            rnd_times(smp[i], n);
            for (size_t k = 0; k < n; k++)
                smp[i][k].v = rnd_value();
            v[i] = (struct sg_series){{lab[i], 2}, smp[i], n};
        }
        for (int json = 0; json < 2; json++) {
            char *got = NULL;
            size_t len = 0;
            bool bg = round % 2 == 1; /* on the printing thread */
            sg_buf_reset(&want);
            ref_print(&want, v, NS, json);
            print_all_mode(v, NS, json, bg, &got, &len);
            if (len != want.len || memcmp(got, want.data, len) != 0) {
                size_t i = 0;
                while (i < len && i < want.len && got[i] == want.data[i])
                    i++;
                fail_msg("%s differs at byte %zu: got \"%.60s\" want \"%.60s\"",
                         json ? "json" : "text", i, got + (i > 20 ? i - 20 : 0),
                         want.data + (i > 20 ? i - 20 : 0));
            }
            free(got);
        }
    }
    sg_buf_cleanup(&want);
}

/* In the background, many batches' worth (and a series larger than a
 * batch) print exactly as on the caller's thread; a failed write is
 * reported by a later call. */
static void printer_background_batches(void **state)
{
    enum { NS = 400, N = 2000 };
    static struct sg_sample smp[N * 40];
    static char lv[NS][16];
    struct sg_label lab[NS][2];
    struct sg_series *v = calloc(NS, sizeof(*v));
    struct sg_rr_printer *pr;
    struct sg_err err;
    FILE *full;
    int rc = SG_OK;

    (void)state;
    assert_non_null(v);
    rnd_times(smp, N * 40);
    for (size_t k = 0; k < N * 40; k++)
        smp[k].v = rnd_value();
    for (size_t i = 0; i < NS; i++) {
        snprintf(lv[i], sizeof(lv[i]), "%zu", i);
        lab[i][0] = (struct sg_label){{"__name__", 8}, {"m", 1}};
        lab[i][1] = (struct sg_label){{"s", 1}, {lv[i], strlen(lv[i])}};
        v[i] = (struct sg_series){{lab[i], 2}, smp + (i % 7) * 11, i == 123 ? N * 39 : N};
    }
    for (int json = 0; json < 2; json++) {
        char *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;
        print_all_mode(v, NS, json, false, &a, &alen);
        print_all_mode(v, NS, json, true, &b, &blen);
        assert_int_equal(alen, blen);
        assert_memory_equal(a, b, alen);
        free(a);
        free(b);
    }
    sg_err_clear(&err);
    full = fopen("/dev/full", "w");
    if (full) {
        assert_int_equal(sg_rr_printer_new(full, false, &pr, &err), SG_OK);
        assert_int_equal(sg_rr_printer_background(pr, &err), SG_OK);
        for (size_t i = 0; i < NS && rc == SG_OK; i++)
            rc = sg_rr_printer_series(pr, &v[i], &err);
        if (rc == SG_OK)
            rc = sg_rr_printer_end(pr, &err);
        assert_int_equal(rc, SG_EIO);
        if (strcmp(err.msg, "cannot write the output") != 0)
            fail_msg("got \"%s\"", err.msg);
        sg_rr_printer_free(pr);
        fclose(full);
    }
    /* freed with series still queued: nothing is waited for */
    assert_int_equal(sg_rr_printer_new(stderr, false, &pr, &err), SG_OK);
    assert_int_equal(sg_rr_printer_background(pr, &err), SG_OK);
    sg_rr_printer_free(pr);
    free(v);
}

/* JSON label escaping as Go's encoding/json; no series: an empty matrix,
 * and nothing at all in text. */
static void printer_json_labels_and_empty(void **state)
{
    struct sg_label lab[] = {{{"__name__", 8}, {"m", 1}},
                             {{"v", 1}, {"a\"b\\c\n\t<>&\x01\xe2\x80\xa8\xc3\xa9\xff", 17}}};
    struct sg_sample smp[] = {{1500, 2}};
    struct sg_series v = {{lab, 2}, smp, 1};
    char *got = NULL;
    size_t len = 0;

    (void)state;
    print_all(&v, 1, true, &got, &len);
    assert_string_equal(got, "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"__name__\":\"m\","
                             "\"v\":\"a\\\"b\\\\c\\n\\t\\u003c\\u003e\\u0026\\u0001\\u2028"
                             "\xc3\xa9\\ufffd\"},\"values\":[[1.500,\"2\"]]}]}\n");
    free(got);
    print_all(NULL, 0, true, &got, &len);
    assert_string_equal(got, "{\"resultType\":\"matrix\",\"result\":[]}\n");
    free(got);
    print_all(NULL, 0, false, &got, &len);
    assert_int_equal(len, 0);
    free(got);
}

static void content_types(void **state)
{
    enum sg_rr_response_type t;
    struct sg_err err;

    (void)state;
    assert_int_equal(sg_rr_content_type("application/x-protobuf", &t, &err), SG_OK);
    assert_int_equal(t, SG_RR_RESPONSE_SAMPLES);
    assert_int_equal(
        sg_rr_content_type("application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse",
                           &t, &err),
        SG_OK);
    assert_int_equal(t, SG_RR_RESPONSE_STREAMED);
    sg_err_clear(&err);
    assert_int_equal(sg_rr_content_type("text/html; charset=utf-8", &t, &err), SG_EPROTO);
    assert_non_null(strstr(err.msg, "unsupported content type \"text/html; charset=utf-8\""));
    sg_err_clear(&err);
    assert_int_equal(sg_rr_content_type(NULL, &t, &err), SG_EPROTO);
}

/* ---- requests ------------------------------------------------------------ */

static Prometheus__ReadRequest *unpack_request(const struct sg_buf *b)
{
    size_t ulen;
    char *raw;
    Prometheus__ReadRequest *r;

    assert_int_equal(snappy_uncompressed_length(b->data, b->len, &ulen), SNAPPY_OK);
    raw = malloc(ulen + 1);
    assert_int_equal(snappy_uncompress(b->data, b->len, raw, &ulen), SNAPPY_OK);
    r = prometheus__read_request__unpack(NULL, ulen, (uint8_t *)raw);
    free(raw);
    assert_non_null(r);
    return r;
}

static void request_body(void **state)
{
    struct sg_matcher m0[] = {{SG_MATCH_EQ, {"__name__", 8}, {"up", 2}, NULL},
                              {SG_MATCH_NRE, {"job", 3}, {"a.*", 3}, NULL}};
    struct sg_matcher m1[] = {{SG_MATCH_RE, {"prom", 4}, {"x|y", 3}, NULL}};
    struct sg_str grouping[] = {{"job", 3}};
    struct sg_rr_hints h = {1000, 2000, 15000, 300000, "rate", grouping, 1, true};
    struct sg_rr_query q[2] = {{0, 1800000, m0, 2, &h}, {5, 6, m1, 1, NULL}};
    struct sg_label ext[] = {{{"prom", 4}, {"k8s", 3}}, {{"region", 6}, {"eu", 2}}};
    struct sg_rr_options o;
    struct sg_rr_client *c;
    struct sg_buf b;
    struct sg_err err;
    Prometheus__ReadRequest *r;

    (void)state;
    sg_rr_options_init(&o);
    o.url = "http://127.0.0.1:1/api/v1/read";
    o.external_labels = ext;
    o.nexternal_labels = 2;
    assert_int_equal(sg_rr_client_new(&o, &c, &err), SG_OK);
    sg_buf_init(&b, 1 << 20);
    assert_int_equal(sg_rr_build_request(c, q, 2, &b, &err), SG_OK);
    r = unpack_request(&b);
    assert_int_equal(r->n_queries, 2);
    assert_int_equal(r->queries[0]->start_timestamp_ms, 0);
    assert_int_equal(r->queries[0]->end_timestamp_ms, 1800000);
    assert_int_equal(r->queries[0]->n_matchers, 4);
    assert_string_equal(r->queries[0]->matchers[1]->name, "job");
    assert_int_equal(r->queries[0]->matchers[1]->type, 3);
    assert_string_equal(r->queries[0]->matchers[2]->name, "prom");
    assert_string_equal(r->queries[0]->matchers[2]->value, "k8s");
    assert_int_equal(r->queries[0]->matchers[2]->type, 0);
    assert_string_equal(r->queries[0]->matchers[3]->name, "region");
    assert_non_null(r->queries[0]->hints);
    assert_int_equal(r->queries[0]->hints->step_ms, 15000);
    assert_int_equal(r->queries[0]->hints->range_ms, 300000);
    assert_string_equal(r->queries[0]->hints->func, "rate");
    assert_int_equal(r->queries[0]->hints->n_grouping, 1);
    assert_true(r->queries[0]->hints->by);
    /* query 1 matches on prom itself: only region is added */
    assert_int_equal(r->queries[1]->n_matchers, 2);
    assert_string_equal(r->queries[1]->matchers[0]->value, "x|y");
    assert_string_equal(r->queries[1]->matchers[1]->name, "region");
    assert_null(r->queries[1]->hints);
    /* auto with windows <= 30 min: SAMPLES first */
    assert_int_equal(r->n_accepted_response_types, 2);
    assert_int_equal(r->accepted_response_types[0], 0);
    assert_int_equal(r->accepted_response_types[1], 1);
    prometheus__read_request__free_unpacked(r, NULL);
    /* a minute longer: streamed first */
    q[0].end_ms += 60000;
    sg_buf_reset(&b);
    assert_int_equal(sg_rr_build_request(c, q, 2, &b, &err), SG_OK);
    r = unpack_request(&b);
    assert_int_equal(r->accepted_response_types[0], 1);
    assert_int_equal(r->accepted_response_types[1], 0);
    prometheus__read_request__free_unpacked(r, NULL);
    sg_buf_cleanup(&b);
    sg_rr_client_free(c);
    /* forced types list one entry */
    int w[2];
    assert_int_equal(sg_rr_accepted_types(SG_RR_RESPONSE_SAMPLES, q, 2, w), 1);
    assert_int_equal(w[0], 0);
    assert_int_equal(sg_rr_accepted_types(SG_RR_RESPONSE_STREAMED, q, 2, w), 1);
    assert_int_equal(w[0], 1);
    q[1].start_ms = INT64_MIN;
    q[1].end_ms = INT64_MAX;
    assert_int_equal(sg_rr_accepted_types(SG_RR_RESPONSE_AUTO, q, 2, w), 2);
    assert_int_equal(w[0], 1);
}

static void client_options_checked(void **state)
{
    struct sg_rr_options o;
    struct sg_rr_client *c;
    struct sg_err err;
    struct sg_rr_header h[] = {{"Content-Type", "text/plain"}};
    struct sg_rr_header h2[] = {{"X-Scope-OrgID", "a\r\nb"}};

    (void)state;
    sg_rr_options_init(&o);
    sg_err_clear(&err);
    assert_int_equal(sg_rr_client_new(&o, &c, &err), SG_EINVAL);
    o.url = "ftp://x/";
    sg_err_clear(&err);
    assert_int_equal(sg_rr_client_new(&o, &c, &err), SG_EINVAL);
    assert_non_null(strstr(err.msg, "http:// or https://"));
    o.url = "http://x/";
    o.headers = h;
    o.nheaders = 1;
    sg_err_clear(&err);
    assert_int_equal(sg_rr_client_new(&o, &c, &err), SG_EINVAL);
    assert_non_null(strstr(err.msg, "Content-Type"));
    o.headers = h2;
    sg_err_clear(&err);
    assert_int_equal(sg_rr_client_new(&o, &c, &err), SG_EINVAL);
    o.nheaders = 0;
    o.basic_auth_username = "u";
    sg_err_clear(&err);
    assert_int_equal(sg_rr_client_new(&o, &c, &err), SG_EINVAL);
    assert_non_null(strstr(err.msg, "password file"));
}

/* Every allocation of a decode fails in turn: each run ends with SG_OK or
 * SG_ENOMEM/SG_ELIMIT, never a crash, and (under ASan) never a leak. */
static void decoder_survives_allocation_failures(void **state)
{
    struct sg_sample *s = series_samples(300, 0, 1000, 0);
    struct tchunk c[] = {{0, s, 120}, {0, s + 100, 200}};
    struct tseries t1 = {lab_a, c, 2}, t2 = {lab_b, c, 1};
    static const char *const l1[] = {"__name__", "m", "job", "z", NULL};
    struct tss r0[] = {{l1, s, 50}, {lab_a, s, 20}};
    const struct tss *results[] = {r0};
    size_t ns[] = {2};
    struct sg_rr_decode_query q = {0, 1000000, NULL, 0};
    struct sg_buf streamed, samples;
    struct sg_rr_result res;
    struct sg_err err;

    (void)state;
    sg_buf_init(&streamed, 1 << 20);
    sg_buf_init(&samples, 1 << 20);
    add_frame(&streamed, 0, &t2);
    add_frame(&streamed, 0, &t1);
    samples_body(results, ns, 1, &samples);
    for (int kind = 0; kind < 2; kind++) {
        bool done = false;
        for (uint64_t n = 1; n < 200 && !done; n++) {
            struct sg_arena a;
            int rc;
            sg_arena_init(&a, 0);
            sg_alloc_fail_at(n);
            rc = decode(kind ? SG_RR_RESPONSE_SAMPLES : SG_RR_RESPONSE_STREAMED, &q, 1, NULL,
                        kind ? &samples : &streamed, 50, &a, &res, &err);
            sg_alloc_fail_at(0);
            if (rc == SG_OK)
                done = true;
            else if (rc != SG_ENOMEM && rc != SG_ELIMIT)
                fail_msg("allocation %llu: %s", (unsigned long long)n, err.msg);
            sg_arena_cleanup(&a);
        }
        assert_true(done);
    }
    sg_buf_cleanup(&streamed);
    sg_buf_cleanup(&samples);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streamed_every_split),
        cmocka_unit_test(streamed_hands_over_series),
        cmocka_unit_test(streamed_clips_window_inclusive),
        cmocka_unit_test(streamed_merges_overlaps),
        cmocka_unit_test(streamed_keeps_nan_bits),
        cmocka_unit_test(streamed_skips_histograms),
        cmocka_unit_test(streamed_drops_external_labels_and_sorts),
        cmocka_unit_test(streamed_framing_errors),
        cmocka_unit_test(decoder_arena_cap),
        cmocka_unit_test(samples_decode),
        cmocka_unit_test(samples_hands_over_series),
        cmocka_unit_test(samples_any_order_dense),
        cmocka_unit_test(samples_bomb_guard),
        cmocka_unit_test(snappy_incremental),
        cmocka_unit_test(snappy_window),
        cmocka_unit_test(samples_incremental),
        cmocka_unit_test(printer_matches_reference),
        cmocka_unit_test(printer_background_batches),
        cmocka_unit_test(printer_json_labels_and_empty),
        cmocka_unit_test(content_types),
        cmocka_unit_test(request_body),
        cmocka_unit_test(client_options_checked),
        cmocka_unit_test(decoder_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
