/* bench/rr/xor_bench.c - remote-read decode micro-benchmarks.
 *
 * Fixed-seed data encoded with our own XOR encoder (byte-identical to what
 * Prometheus writes), decoded again and again:
 *   xor_counter   regular integer counters: 15 s steps exactly, small
 *                 integer increments (the common case on a real server)
 *   xor_gauge     random-walk gauges with full-precision values and
 *                 +-2 ms timestamp jitter (every sample takes the long
 *                 timestamp and value paths)
 *   streamed      the whole streamed path on counters: frames (CRC32C),
 *                 ChunkedReadResponse decode, XOR decode, per-series merge
 *                 and copy into the result arena
 *   samples       a SAMPLES body: snappy, protobuf-c unpack, conversion
 * Each line is one JSON object; the timed figures are the median of
 * ROUNDS (7) rounds. `--callgrind NAME` decodes one round of NAME for
 * `valgrind --tool=callgrind --toggle-collect=sg_rr_xor_decode`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <snappy-c.h>

#include "src/remote.pb-c.h"
#include "stopgate/rr.h"

#define CHUNK 120
#define ROUNDS 7 /* timed rounds per figure; the median is reported */

static uint64_t rng = 0x243F6A8885A308D3u;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Du;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* the median of ROUNDS round times (sorts t) */
static double median(double *t)
{
    qsort(t, ROUNDS, sizeof(*t), dbl_cmp);
    return t[ROUNDS / 2];
}

static void gen_chunk(int gauge, struct sg_sample *s)
{
    int64_t t0 = 1700000000000 + (int64_t)(rnd() % 1000000);
    double v = gauge ? (double)(rnd() % 100000) / 7.0 : (double)(rnd() % 100000);

    for (int i = 0; i < CHUNK; i++) {
        if (gauge) {
            s[i].t = t0 + (int64_t)i * 15000 + (int64_t)(rnd() % 5) - 2;
            v += ((double)(rnd() % 2000001) - 1000000.0) / 3333.0;
        } else {
            s[i].t = t0 + (int64_t)i * 15000;
            v += (double)(rnd() % 10);
        }
        s[i].v = v;
    }
}

struct chunks {
    struct sg_buf data;
    size_t *off, *len, n;
};

static void build(int gauge, size_t n, struct chunks *c)
{
    struct sg_sample s[CHUNK];
    struct sg_err err;

    sg_buf_init(&c->data, (size_t)1 << 30);
    c->off = calloc(n, sizeof(size_t));
    c->len = calloc(n, sizeof(size_t));
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        gen_chunk(gauge, s);
        c->off[i] = c->data.len;
        if (sg_rr_xor_encode(s, CHUNK, &c->data, &err) != SG_OK) {
            fprintf(stderr, "encode: %s\n", err.msg);
            exit(1);
        }
        c->len[i] = c->data.len - c->off[i];
    }
}

static uint64_t decode_all(const struct chunks *c, struct sg_sample *out)
{
    uint64_t sum = 0;
    struct sg_err err;

    for (size_t i = 0; i < c->n; i++) {
        size_t got;
        if (sg_rr_xor_decode(c->data.data + c->off[i], c->len[i], out, CHUNK, &got, &err) !=
            SG_OK) {
            fprintf(stderr, "decode: %s\n", err.msg);
            exit(1);
        }
        sum += (uint64_t)out[got - 1].t;
    }
    return sum;
}

/* nchunks chunks (a working set the size of a few frames, as the streamed
 * decoder sees them) decoded ROUNDS times; the median round counts. */
static void bench_xor(const char *name, int gauge, size_t nchunks)
{
    struct chunks c;
    struct sg_sample out[CHUNK];
    double t[ROUNDS], med;
    uint64_t sink = 0;

    build(gauge, nchunks, &c);
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_s();
        sink += decode_all(&c, out);
        t[r] = now_s() - t0;
    }
    med = median(t);
    double samples = (double)nchunks * CHUNK;
    printf("{\"name\":\"%s\",\"samples\":%.0f,\"msamples_per_s\":%.1f,\"ns_per_sample\":%.2f,"
           "\"bytes_per_sample\":%.2f,\"sink\":%llu}\n",
           name, samples, samples / med / 1e6, med * 1e9 / samples,
           (double)c.data.len / samples, (unsigned long long)(sink & 1));
    sg_buf_cleanup(&c.data);
    free(c.off);
    free(c.len);
}

/* A streamed body: nseries series of nchunks counter chunks, one frame per
 * series (as Prometheus frames it: about 1 MiB at most). */
static void build_streamed(size_t nseries, size_t nchunks, struct sg_buf *body)
{
    struct sg_sample s[CHUNK];
    struct sg_err err;

    sg_buf_init(body, (size_t)1 << 31);
    for (size_t k = 0; k < nseries; k++) {
        Prometheus__ChunkedReadResponse r = PROMETHEUS__CHUNKED_READ_RESPONSE__INIT;
        Prometheus__ChunkedSeries cs = PROMETHEUS__CHUNKED_SERIES__INIT, *csp = &cs;
        Prometheus__Label l[3], *lp[3];
        Prometheus__Chunk *ch = calloc(nchunks, sizeof(*ch)), **chp = calloc(nchunks, sizeof(*chp));
        struct sg_buf data;
        char inst[32];
        int64_t t0 = 1700000000000;

        snprintf(inst, sizeof(inst), "host-%zu", k);
        for (int i = 0; i < 3; i++)
            prometheus__label__init(&l[i]), lp[i] = &l[i];
        l[0].name = "__name__", l[0].value = "http_requests_total";
        l[1].name = "instance", l[1].value = inst;
        l[2].name = "job", l[2].value = "api";
        sg_buf_init(&data, (size_t)1 << 30);
        size_t *off = calloc(nchunks, sizeof(size_t));
        for (size_t i = 0; i < nchunks; i++) {
            gen_chunk(0, s);
            for (int j = 0; j < CHUNK; j++)
                s[j].t = t0 + (int64_t)(i * CHUNK + (size_t)j) * 15000;
            off[i] = data.len;
            if (sg_rr_xor_encode(s, CHUNK, &data, &err) != SG_OK)
                exit(1);
            prometheus__chunk__init(&ch[i]);
            ch[i].type = PROMETHEUS__CHUNK__ENCODING__XOR;
            ch[i].min_time_ms = s[0].t;
            ch[i].max_time_ms = s[CHUNK - 1].t;
            chp[i] = &ch[i];
        }
        for (size_t i = 0; i < nchunks; i++) {
            ch[i].data.data = (uint8_t *)data.data + off[i];
            ch[i].data.len = (i + 1 < nchunks ? off[i + 1] : data.len) - off[i];
        }
        cs.n_labels = 3, cs.labels = lp, cs.n_chunks = nchunks, cs.chunks = chp;
        r.n_chunked_series = 1, r.chunked_series = &csp;
        size_t len = prometheus__chunked_read_response__get_packed_size(&r);
        uint8_t *p = malloc(len);
        prometheus__chunked_read_response__pack(&r, p);
        if (sg_rr_frame_encode(p, len, body) != SG_OK)
            exit(1);
        free(p), free(off), free(ch), free(chp);
        sg_buf_cleanup(&data);
    }
}

static void build_samples(size_t nseries, size_t per, struct sg_buf *body)
{
    Prometheus__ReadResponse r = PROMETHEUS__READ_RESPONSE__INIT;
    Prometheus__QueryResult qr = PROMETHEUS__QUERY_RESULT__INIT, *qrp = &qr;
    Prometheus__TimeSeries *ts = calloc(nseries, sizeof(*ts)), **tsp = calloc(nseries, sizeof(*tsp));
    Prometheus__Label *l = calloc(nseries * 3, sizeof(*l)), **lp = calloc(nseries * 3, sizeof(*lp));
    Prometheus__Sample *sm = calloc(nseries * per, sizeof(*sm)),
                       **smp = calloc(nseries * per, sizeof(*smp));
    char (*inst)[32] = calloc(nseries, 32);

    for (size_t k = 0; k < nseries; k++) {
        double v = 0;
        prometheus__time_series__init(&ts[k]);
        snprintf(inst[k], 32, "host-%zu", k);
        for (int i = 0; i < 3; i++)
            prometheus__label__init(&l[k * 3 + i]), lp[k * 3 + i] = &l[k * 3 + i];
        l[k * 3].name = "__name__", l[k * 3].value = "http_requests_total";
        l[k * 3 + 1].name = "instance", l[k * 3 + 1].value = inst[k];
        l[k * 3 + 2].name = "job", l[k * 3 + 2].value = "api";
        for (size_t i = 0; i < per; i++) {
            Prometheus__Sample *s = &sm[k * per + i];
            prometheus__sample__init(s);
            s->timestamp = 1700000000000 + (int64_t)i * 15000;
            v += (double)(rnd() % 10);
            s->value = v;
            smp[k * per + i] = s;
        }
        ts[k].n_labels = 3, ts[k].labels = &lp[k * 3];
        ts[k].n_samples = per, ts[k].samples = &smp[k * per];
        tsp[k] = &ts[k];
    }
    qr.n_timeseries = nseries, qr.timeseries = tsp;
    r.n_results = 1, r.results = &qrp;
    size_t len = prometheus__read_response__get_packed_size(&r), clen = snappy_max_compressed_length(len);
    uint8_t *raw = malloc(len);
    prometheus__read_response__pack(&r, raw);
    sg_buf_init(body, (size_t)1 << 31);
    if (sg_buf_reserve(body, clen) != SG_OK ||
        snappy_compress((char *)raw, len, body->data, &clen) != SNAPPY_OK)
        exit(1);
    body->len = clen;
    free(raw), free(ts), free(tsp), free(l), free(lp), free(sm), free(smp), free(inst);
}

static void bench_body(const char *name, enum sg_rr_response_type type, const struct sg_buf *body)
{
    struct sg_rr_decode_query q = {INT64_MIN, INT64_MAX, NULL, 0};
    double t[ROUNDS], med;
    uint64_t samples = 0;

    for (int r = 0; r < ROUNDS; r++) {
        struct sg_arena a;
        struct sg_rr_decoder *d;
        struct sg_rr_result res;
        struct sg_err err;
        double t0 = now_s();
        sg_arena_init(&a, 0);
        sg_err_clear(&err);
        if (sg_rr_decoder_new(type, &q, 1, NULL, &a, &d, &err) != SG_OK)
            exit(1);
        /* fed in 256 KiB pieces, as the client's curl buffer delivers them */
        for (size_t off = 0; off < body->len; off += 262144) {
            size_t k = body->len - off < 262144 ? body->len - off : 262144;
            if (sg_rr_decoder_feed(d, body->data + off, k, &err) != SG_OK) {
                fprintf(stderr, "%s: %s\n", name, err.msg);
                exit(1);
            }
        }
        if (sg_rr_decoder_finish(d, &res, &err) != SG_OK) {
            fprintf(stderr, "%s: %s\n", name, err.msg);
            exit(1);
        }
        samples = res.stats.samples;
        sg_rr_decoder_free(d);
        sg_arena_cleanup(&a);
        t[r] = now_s() - t0;
    }
    med = median(t);
    printf("{\"name\":\"%s\",\"samples\":%llu,\"msamples_per_s\":%.1f,\"ns_per_sample\":%.2f,"
           "\"mb_per_s\":%.1f,\"body_bytes\":%zu}\n",
           name, (unsigned long long)samples, (double)samples / med / 1e6,
           med * 1e9 / (double)samples, (double)body->len / med / 1e6, body->len);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    size_t nchunks = 8192; /* ~1M samples: 1.3 MB of counter chunks, 8.6 MB of gauge chunks */

    if (argc > 2 && strcmp(argv[1], "--callgrind") == 0) {
        struct chunks c;
        struct sg_sample out[CHUNK];
        build(strcmp(argv[2], "xor_gauge") == 0, 10000, &c);
        printf("{\"name\":\"%s\",\"samples\":%d}\n", argv[2], 10000 * CHUNK);
        return decode_all(&c, out) == 0;
    }
    bench_xor("xor_counter", 0, nchunks);
    bench_xor("xor_gauge", 1, nchunks);
    {
        struct sg_buf body;
        build_streamed(quick ? 100 : 1000, 42, &body); /* 42 chunks: about 21 h at 15 s */
        bench_body("streamed", SG_RR_RESPONSE_STREAMED, &body);
        sg_buf_cleanup(&body);
        build_samples(quick ? 100 : 1000, 5040, &body);
        bench_body("samples", SG_RR_RESPONSE_SAMPLES, &body);
        sg_buf_cleanup(&body);
    }
    return 0;
}
