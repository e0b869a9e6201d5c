/* src/rr/samples.c - decoding a SAMPLES response: one snappy block
 * compressed ReadResponse with one QueryResult per query.
 *
 * The declared uncompressed length is checked against the response cap
 * before anything is allocated (the decompression-bomb guard). The
 * protobuf is unpacked by protobuf-c through our allocator, a capped arena
 * that is thrown away whole afterwards (protobuf-c otherwise mallocs every
 * Sample). Series are then copied into the result arena: labels without the
 * dropped external labels, samples in time order (sorted and deduplicated
 * only when the server sent them out of order), clipped to the query
 * window. Each set is sorted by label set, since the server does not order
 * SAMPLES series. A result count different from the query count is an
 * error, as in Prometheus's client.
 */
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "rr/rr_int.h"
#include "src/remote.pb-c.h"

static void *pb_alloc(void *data, size_t size)
{
    return sg_arena_alloc_raw(data, size ? size : 1);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    (void)p; /* the arena is released whole */
}

static int mem_err(struct sg_arena *a, struct sg_err *err)
{
    if (a->max_bytes)
        return sg_err_set(err, SG_ELIMIT,
                          "the result does not fit in its memory cap of %zu bytes",
                          a->max_bytes);
    return sg_err_set(err, SG_ENOMEM, "out of memory decoding the response");
}

static bool dropped(const struct sg_rr_decode_query *q, const char *name, size_t len)
{
    for (size_t i = 0; i < q->ndrop_labels; i++)
        if (q->drop_labels[i].len == len && memcmp(q->drop_labels[i].ptr, name, len) == 0)
            return true;
    return false;
}

static int label_name_cmp(const void *a, const void *b)
{
    const struct sg_label *x = a, *y = b;
    return sg_str_cmp(x->name, y->name);
}

static int convert_series(const Prometheus__TimeSeries *ts, const struct sg_rr_decode_query *q,
                          struct sg_arena *arena, struct sg_series *out, bool *keep,
                          struct sg_err *err)
{
    struct sg_label *lv;
    uint32_t nl = 0;
    bool ordered = true;
    size_t n = ts->n_samples, lo, hi;
    struct sg_sample *s;
    long got;

    *keep = false;
    /* samples first: most series of a window hold some */
    s = sg_arena_alloc_raw(arena, (n ? n : 1) * sizeof(*s));
    if (!s)
        return mem_err(arena, err);
    for (size_t i = 0; i < n; i++) {
        s[i].t = ts->samples[i]->timestamp;
        s[i].v = ts->samples[i]->value;
        if (i && s[i].t <= s[i - 1].t)
            ordered = false;
    }
    if (!ordered) {
        got = sg_rr__sort_dedupe(s, n);
        if (got < 0)
            return sg_err_set(err, SG_ENOMEM, "sorting samples");
        n = (size_t)got;
    }
    lo = sg_rr__lower_bound(s, n, q->start_ms);
    hi = q->end_ms == INT64_MAX ? n : sg_rr__lower_bound(s, n, q->end_ms + 1);
    if (hi <= lo)
        return SG_OK;
    out->samples = s + lo;
    out->count = hi - lo;

    if (ts->n_labels > 4096)
        return sg_err_set(err, SG_ELIMIT, "a series has more than 4096 labels");
    lv = sg_arena_alloc_array(arena, ts->n_labels ? ts->n_labels : 1, sizeof(*lv));
    if (!lv)
        return mem_err(arena, err);
    ordered = true;
    for (size_t i = 0; i < ts->n_labels; i++) {
        const Prometheus__Label *l = ts->labels[i];
        size_t nlen = strlen(l->name);
        if (dropped(q, l->name, nlen))
            continue;
        if (sg_arena_str(arena, sg_str_make(l->name, nlen), &lv[nl].name) != SG_OK ||
            sg_arena_str(arena, sg_str_c(l->value), &lv[nl].value) != SG_OK)
            return mem_err(arena, err);
        if (nl && sg_str_cmp(lv[nl - 1].name, lv[nl].name) >= 0)
            ordered = false;
        nl++;
    }
    if (!ordered) {
        qsort(lv, nl, sizeof(*lv), label_name_cmp);
        for (uint32_t i = 1; i < nl; i++)
            if (sg_str_eq(lv[i].name, lv[i - 1].name))
                return sg_err_set(err, SG_EPROTO,
                                  "label \"%.200s\" appears twice in a series",
                                  lv[i].name.ptr);
    }
    out->labels.v = lv;
    out->labels.count = nl;
    *keep = true;
    return SG_OK;
}

static int series_cmp(const void *a, const void *b)
{
    const struct sg_series *x = a, *y = b;
    return sg_rr__labels_cmp(&x->labels, &y->labels);
}

int sg_rr__decode_samples(const void *p, size_t len, const struct sg_rr_decode_query *qs,
                          size_t nq, const struct sg_rr_decode_limits *lim, struct sg_arena *arena,
                          struct sg_series_set *sets, struct sg_rr_stats *stats,
                          struct sg_err *err)
{
    size_t ulen = 0, total = 0;
    char *raw = NULL;
    struct sg_arena pba;
    ProtobufCAllocator alloc = {pb_alloc, pb_free, &pba};
    Prometheus__ReadResponse *resp = NULL;
    int rc = SG_OK;

    if (snappy_uncompressed_length(p, len, &ulen) != SNAPPY_OK)
        return sg_err_set(err, SG_EPROTO, "SAMPLES response is not snappy "
                                          "compressed data");
    if (ulen > lim->max_response_bytes)
        return sg_err_set(err, SG_ELIMIT,
                          "SAMPLES response decompresses to %zu bytes, over the "
                          "limit of %zu bytes",
                          ulen, lim->max_response_bytes);
    raw = sg_malloc(ulen ? ulen : 1);
    if (!raw)
        return sg_err_set(err, SG_ENOMEM, "out of memory for %zu bytes", ulen);
    if (snappy_uncompress(p, len, raw, &ulen) != SNAPPY_OK) {
        sg_free(raw);
        return sg_err_set(err, SG_EPROTO, "SAMPLES response: corrupt snappy data");
    }
    /* protobuf-c needs about 48 bytes per sample of 11+ wire bytes; the cap
     * bounds what a hostile body of empty messages could make it allocate */
    sg_arena_init(&pba, 8 * ulen + ((size_t)64 << 20));
    resp = prometheus__read_response__unpack(&alloc, ulen, (const uint8_t *)raw);
    if (!resp) {
        rc = sg_err_set(err, pba.max_bytes && pba.used + 4096 >= pba.max_bytes ? SG_ELIMIT
                                                                             : SG_EPROTO,
                        "SAMPLES response is not a valid ReadResponse protobuf");
        goto out;
    }
    if (resp->n_results != nq) {
        rc = sg_err_set(err, SG_EPROTO,
                        "the server answered %zu results for %zu quer%s",
                        resp->n_results, nq, nq == 1 ? "y" : "ies");
        goto out;
    }
    for (size_t i = 0; i < nq; i++) {
        const Prometheus__QueryResult *qr = resp->results[i];
        struct sg_series *v;
        size_t count = 0;
        bool sorted = true;

        for (size_t k = 0; k < qr->n_timeseries; k++)
            total += qr->timeseries[k]->n_samples;
        if (total > lim->max_samples) {
            rc = sg_err_set(err, SG_ELIMIT, "response holds more than %zu samples",
                            lim->max_samples);
            goto out;
        }
        v = sg_arena_alloc_array(arena, qr->n_timeseries ? qr->n_timeseries : 1, sizeof(*v));
        if (!v) {
            rc = mem_err(arena, err);
            goto out;
        }
        for (size_t k = 0; k < qr->n_timeseries; k++) {
            bool keep;
            rc = convert_series(qr->timeseries[k], &qs[i], arena, &v[count], &keep, err);
            if (rc != SG_OK)
                goto out;
            if (!keep)
                continue;
            if (count && sg_rr__labels_cmp(&v[count - 1].labels, &v[count].labels) >= 0)
                sorted = false;
            count++;
        }
        if (!sorted)
            qsort(v, count, sizeof(*v), series_cmp);
        rc = sg_rr__finish_set(v, &count, true, arena, err);
        if (rc != SG_OK)
            goto out;
        sets[i].v = count ? v : NULL;
        sets[i].count = count;
        sets[i].sorted = true;
    }
out:
    sg_arena_cleanup(&pba); /* frees everything protobuf-c allocated */
    sg_free(raw);
    return rc;
}
