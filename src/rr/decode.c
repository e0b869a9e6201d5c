/* src/rr/decode.c - the incremental remote-read response decoder.
 *
 * STREAMED_XOR_CHUNKS bodies are decoded as the bytes arrive. A small state
 * machine reads each frame's header (uvarint payload length, then the
 * big-endian CRC32C of the payload) and the payload; only a frame that is
 * split across network reads is copied into the frame buffer, a frame that
 * arrives whole is decoded where it lies. Each check has its own error:
 * length varint overflow, length over the frame cap, CRC mismatch, and a
 * stream that ends inside a frame.
 *
 * A payload is one ChunkedReadResponse, decoded here by hand from the wire
 * format (query_index = 2, chunked_series = 1; ChunkedSeries: labels = 1,
 * chunks = 2; Chunk: min_time_ms = 1, max_time_ms = 2, type = 3, data =
 * 4), so that chunk bytes are decoded in place with no allocation per
 * chunk. Unknown fields are skipped. XOR chunks are decoded into the
 * samples of the series being assembled; a series continues over
 * consecutive frames with the same query index and label set. When it
 * ends, its samples are put in time order (only if a chunk overlapped or
 * went backwards), deduplicated, clipped to the query window and copied to
 * the result arena - or, when the caller asked for it (on_series), handed
 * over at once without being kept, after a check that the query's series
 * come in strictly increasing label-set order as the protocol promises.
 * Histogram chunk encodings (2, 3, 5, 6) are skipped and
 * counted; XOR2 (4) and unknown encodings are errors naming the encoding.
 *
 * SAMPLES bodies go to samples.c, which decompresses and decodes them as
 * they arrive. This file does no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "rr/rr_int.h"

enum fstate { F_LEN, F_CRC, F_PAYLOAD };

struct qacc {
    struct sg_series *v; /* malloc'd while decoding; copied to the arena at the end */
    size_t count, cap;
    bool sorted;
    struct sg_labels last; /* on_series: the labels of the last series handed over */
    bool has_last;
};

struct sg_rr_decoder {
    enum sg_rr_response_type type;
    struct sg_rr_decode_query *qs; /* own copies, in `own` */
    size_t nq;
    struct sg_rr_decode_limits lim;
    struct sg_arena *arena; /* results */
    struct sg_arena own;
    struct qacc *acc;
    bool failed;
    uint64_t fed;
    /* framing */
    enum fstate st;
    uint64_t flen;
    unsigned vshift, vbytes;
    uint8_t crc[4];
    unsigned crc_have;
    uint8_t *fbuf;
    size_t fcap, fhave;
    /* the series being assembled */
    bool have_cur;
    size_t cur_q;
    struct sg_labels cur; /* in the result arena */
    struct sg_sample *s;
    size_t scount, scap;
    bool s_unordered;
    uint64_t decoded;
    /* labels of the frame being decoded */
    struct sg_rr__lscratch lbuf; /* the labels of the series being read */
    /* series handed over as they complete (streamed only) */
    sg_rr_series_cb on_series;
    void *on_series_arg;
    /* SAMPLES */
    struct sg_rr__sdec *sdec;
    struct sg_rr_stats stats;
};

/* ---- helpers ------------------------------------------------------------------ */

static int mem_err(struct sg_rr_decoder *d, struct sg_err *err)
{
    return sg_rr__mem_err(d->arena, err);
}

static int fail(struct sg_rr_decoder *d, int rc)
{
    d->failed = true;
    return rc;
}

/* Append the series being assembled to its query's result. */
static int flush_series(struct sg_rr_decoder *d, struct sg_err *err)
{
    const struct sg_rr_decode_query *q;
    struct qacc *a;
    size_t n, lo, hi;

    if (!d->have_cur)
        return SG_OK;
    d->have_cur = false;
    q = &d->qs[d->cur_q];
    a = &d->acc[d->cur_q];
    n = d->scount;
    d->scount = 0;
    if (d->s_unordered) {
        long got = sg_rr__sort_dedupe(d->s, n);
        d->s_unordered = false;
        if (got < 0)
            return sg_err_set(err, SG_ENOMEM, "sorting samples");
        n = (size_t)got;
    }
    lo = sg_rr__lower_bound(d->s, n, q->start_ms);
    hi = q->end_ms == INT64_MAX ? n : sg_rr__lower_bound(d->s, n, q->end_ms + 1);
    if (hi <= lo)
        return SG_OK; /* nothing in the window */
    if (d->on_series) {
        struct sg_series s = {d->cur, d->s + lo, hi - lo};
        if (a->has_last && sg_rr__labels_cmp(&a->last, &d->cur) >= 0)
            return sg_err_set(err, SG_EPROTO,
                              "frame %llu: series out of order: the streamed protocol sends "
                              "series sorted by label set, each once",
                              (unsigned long long)d->stats.frames + 1);
        a->last = d->cur;
        a->has_last = true;
        d->stats.series++;
        d->stats.samples += hi - lo;
        return d->on_series(d->cur_q, &s, d->on_series_arg, err);
    }
    if (a->count == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct sg_series *v = sg_reallocarray(a->v, cap, sizeof(*v));
        if (!v)
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        a->v = v;
        a->cap = cap;
    }
    struct sg_series *s = &a->v[a->count];
    s->labels = d->cur;
    s->count = hi - lo;
    s->samples = sg_arena_alloc_raw(d->arena, s->count * sizeof(*s->samples));
    if (!s->samples)
        return mem_err(d, err);
    memcpy(s->samples, d->s + lo, s->count * sizeof(*s->samples));
    if (a->count && sg_rr__labels_cmp(&a->v[a->count - 1].labels, &s->labels) >= 0)
        a->sorted = false;
    a->count++;
    return SG_OK;
}

static int reserve_samples(struct sg_rr_decoder *d, size_t more, struct sg_err *err)
{
    size_t need = d->scount + more, cap;
    struct sg_sample *s;

    if (need <= d->scap)
        return SG_OK;
    cap = d->scap ? d->scap : 512;
    while (cap < need)
        cap *= 2;
    s = sg_reallocarray(d->s, cap, sizeof(*s));
    if (!s)
        return sg_err_set(err, SG_ENOMEM, "out of memory for %zu samples", cap);
    d->s = s;
    d->scap = cap;
    return SG_OK;
}

static const char *encoding_name(uint64_t e)
{
    static const char *const names[] = {"UNKNOWN", "XOR", "HISTOGRAM", "FLOAT_HISTOGRAM",
                                        "XOR2", "HISTOGRAM_ST", "FLOAT_HISTOGRAM_ST"};
    return e < SG_ARRAY_LEN(names) ? names[e] : "unknown";
}

static int decode_chunk(struct sg_rr_decoder *d, struct pb *r, struct sg_err *err)
{
    uint64_t field, v, type = 0;
    unsigned wt;
    struct pb data = {NULL, NULL};
    size_t n, got;
    int rc;

    while (r->p < r->end) {
        if (!pb_key(r, &field, &wt))
            goto bad;
        if (field == 3 && wt == 0) {
            if (!pb_varint(r, &type))
                goto bad;
        } else if (field == 4 && wt == 2) {
            if (!pb_bytes(r, &data))
                goto bad;
        } else if ((field == 1 || field == 2) && wt == 0) {
            if (!pb_varint(r, &v)) /* min/max time: advisory, not trusted */
                goto bad;
        } else if (!pb_skip(r, wt)) {
            goto bad;
        }
    }
    switch (type) {
    case 1:
        break;
    case 2:
    case 3:
    case 5:
    case 6:
        d->stats.skipped_histogram_chunks++;
        return SG_OK;
    default:
        return sg_err_set(err, SG_EPROTO,
                          "frame %llu: chunk encoding %s (%llu) is not supported",
                          (unsigned long long)d->stats.frames + 1, encoding_name(type),
                          (unsigned long long)type);
    }
    rc = sg_rr_xor_count(data.p, (size_t)(data.end - data.p), &n, err);
    if (rc != SG_OK)
        return rc;
    if (d->decoded + n > d->lim.max_samples)
        return sg_err_set(err, SG_ELIMIT, "response holds more than %zu samples",
                          d->lim.max_samples);
    if (n == 0) {
        /* an empty chunk adds nothing (and no buffer may exist yet) */
        d->stats.chunks++;
        return SG_OK;
    }
    rc = reserve_samples(d, n, err);
    if (rc != SG_OK)
        return rc;
    rc = sg_rr_xor_decode(data.p, (size_t)(data.end - data.p), d->s + d->scount, n, &got, err);
    if (rc != SG_OK) {
        sg_err_prefix(err, "frame %llu: ", (unsigned long long)d->stats.frames + 1);
        return rc;
    }
    d->decoded += got;
    d->stats.chunks++;
    if (!d->s_unordered && got) {
        /* one pass, without a branch per sample */
        const struct sg_sample *s = d->s + d->scount;
        bool back = d->scount && s[0].t <= s[-1].t;
        for (size_t i = 1; i < got; i++)
            back |= s[i].t <= s[i - 1].t;
        d->s_unordered = back;
    }
    d->scount += got;
    return SG_OK;
bad:
    return sg_err_set(err, SG_EPROTO, "frame %llu: malformed chunk protobuf",
                      (unsigned long long)d->stats.frames + 1);
}

static int decode_series(struct sg_rr_decoder *d, size_t qi, struct pb series, struct sg_err *err)
{
    const struct sg_rr_decode_query *q = &d->qs[qi];
    struct pb r = series;
    struct pb sub;
    const struct sg_label *dup;
    int rc, got;

    /* pass 1: labels */
    sg_rr__lscratch_reset(&d->lbuf);
    while ((got = pb_next(&r, 1, &sub)) > 0) {
        rc = sg_rr__lscratch_add(&d->lbuf, q, sub, err);
        if (rc == SG_EPROTO)
            goto bad;
        if (rc != SG_OK)
            return rc;
    }
    if (got < 0)
        goto bad;
    dup = sg_rr__lscratch_sort(&d->lbuf);
    if (dup)
        return sg_err_set(err, SG_EPROTO, "frame %llu: label \"%.*s\" appears twice in a series",
                          (unsigned long long)d->stats.frames + 1,
                          (int)(dup->name.len > 200 ? 200 : dup->name.len), dup->name.ptr);
    /* the same series as in the last frame? */
    struct sg_labels ls = {d->lbuf.v, (uint32_t)d->lbuf.count};
    if (!d->have_cur || d->cur_q != qi || sg_rr__labels_cmp(&d->cur, &ls) != 0) {
        rc = flush_series(d, err);
        if (rc != SG_OK)
            return rc;
        if (sg_rr__lscratch_copy(&d->lbuf, d->arena, &d->cur) != SG_OK)
            return mem_err(d, err);
        d->cur_q = qi;
        d->have_cur = true;
    }
    /* pass 2: chunks */
    r = series;
    while ((got = pb_next(&r, 2, &sub)) > 0) {
        rc = decode_chunk(d, &sub, err);
        if (rc != SG_OK)
            return rc;
    }
    if (got < 0)
        goto bad;
    return SG_OK;
bad:
    return sg_err_set(err, SG_EPROTO, "frame %llu: malformed ChunkedSeries protobuf",
                      (unsigned long long)d->stats.frames + 1);
}

static int decode_frame(struct sg_rr_decoder *d, const uint8_t *p, size_t len, struct sg_err *err)
{
    struct pb r = {p, p + len};
    uint64_t field, qi = 0;
    unsigned wt;
    int rc;

    /* pass 1: the query index (field 2 may follow the series on the wire) */
    while (r.p < r.end) {
        if (!pb_key(&r, &field, &wt))
            goto bad;
        if (field == 2 && wt == 0) {
            if (!pb_varint(&r, &qi))
                goto bad;
        } else if (!pb_skip(&r, wt)) {
            goto bad;
        }
    }
    if (qi >= d->nq)
        return sg_err_set(err, SG_EPROTO,
                          "frame %llu: query_index %lld is out of range (the "
                          "request has %zu quer%s)",
                          (unsigned long long)d->stats.frames + 1, (long long)qi, d->nq,
                          d->nq == 1 ? "y" : "ies");
    /* pass 2: the series */
    r.p = p;
    while (r.p < r.end) {
        struct pb series;
        if (!pb_key(&r, &field, &wt))
            goto bad;
        if (field == 1 && wt == 2) {
            if (!pb_bytes(&r, &series))
                goto bad;
            rc = decode_series(d, (size_t)qi, series, err);
            if (rc != SG_OK)
                return rc;
        } else if (!pb_skip(&r, wt)) {
            goto bad;
        }
    }
    return SG_OK;
bad:
    return sg_err_set(err, SG_EPROTO,
                      "frame %llu: malformed ChunkedReadResponse protobuf",
                      (unsigned long long)d->stats.frames + 1);
}

static int frame_done(struct sg_rr_decoder *d, const uint8_t *payload, struct sg_err *err)
{
    uint32_t want = ((uint32_t)d->crc[0] << 24) | ((uint32_t)d->crc[1] << 16) |
                    ((uint32_t)d->crc[2] << 8) | d->crc[3];
    uint32_t got = sg_rr_crc32c(0, payload, (size_t)d->flen);
    int rc;

    if (got != want)
        return sg_err_set(err, SG_EPROTO,
                          "frame %llu: checksum mismatch (CRC32C of the %llu-byte "
                          "payload is 0x%08x, the frame says 0x%08x)",
                          (unsigned long long)d->stats.frames + 1, (unsigned long long)d->flen,
                          got, want);
    rc = decode_frame(d, payload, (size_t)d->flen, err);
    if (rc != SG_OK)
        return rc;
    d->stats.frames++;
    d->st = F_LEN;
    d->flen = 0;
    d->vshift = 0;
    d->vbytes = 0;
    d->fhave = 0;
    return SG_OK;
}

static int feed_streamed(struct sg_rr_decoder *d, const uint8_t *p, size_t n, struct sg_err *err)
{
    int rc;

    while (n) {
        switch (d->st) {
        case F_LEN: {
            uint8_t c = *p++;
            n--;
            if (d->vbytes == 9 && c > 1)
                return sg_err_set(err, SG_EPROTO,
                                  "frame %llu: length varint overflows 64 bits",
                                  (unsigned long long)d->stats.frames + 1);
            d->flen |= (uint64_t)(c & 0x7f) << d->vshift;
            d->vshift += 7;
            d->vbytes++;
            if (c & 0x80)
                break;
            if (d->flen > d->lim.max_frame_bytes)
                return sg_err_set(err, SG_ELIMIT,
                                  "frame %llu: length %llu exceeds the frame size "
                                  "limit of %zu bytes",
                                  (unsigned long long)d->stats.frames + 1,
                                  (unsigned long long)d->flen, d->lim.max_frame_bytes);
            d->st = F_CRC;
            d->crc_have = 0;
            break;
        }
        case F_CRC: {
            size_t k = 4 - d->crc_have;
            if (k > n)
                k = n;
            memcpy(d->crc + d->crc_have, p, k);
            d->crc_have += (unsigned)k;
            p += k;
            n -= k;
            if (d->crc_have < 4)
                break;
            d->st = F_PAYLOAD;
            d->fhave = 0;
            if (d->flen == 0) {
                rc = frame_done(d, p, err);
                if (rc != SG_OK)
                    return rc;
            }
            break;
        }
        case F_PAYLOAD: {
            size_t k;
            if (d->fhave == 0 && n >= d->flen) {
                /* the whole frame is here: decode it in place */
                size_t len = (size_t)d->flen;
                rc = frame_done(d, p, err);
                if (rc != SG_OK)
                    return rc;
                p += len;
                n -= len;
                break;
            }
            if (d->fcap < d->flen) {
                uint8_t *b = sg_realloc(d->fbuf, (size_t)d->flen);
                if (!b)
                    return sg_err_set(err, SG_ENOMEM, "out of memory for a %llu-byte "
                                      "frame", (unsigned long long)d->flen);
                d->fbuf = b;
                d->fcap = (size_t)d->flen;
            }
            k = (size_t)d->flen - d->fhave;
            if (k > n)
                k = n;
            memcpy(d->fbuf + d->fhave, p, k);
            d->fhave += k;
            p += k;
            n -= k;
            if (d->fhave == d->flen) {
                rc = frame_done(d, d->fbuf, err);
                if (rc != SG_OK)
                    return rc;
            }
            break;
        }
        }
    }
    return SG_OK;
}

/* ---- public ------------------------------------------------------------------ */

int sg_rr_decoder_new(enum sg_rr_response_type type, const struct sg_rr_decode_query *qs,
                      size_t n, const struct sg_rr_decode_limits *limits, struct sg_arena *arena,
                      struct sg_rr_decoder **out, struct sg_err *err)
{
    struct sg_rr_decoder *d;

    if (type != SG_RR_RESPONSE_SAMPLES && type != SG_RR_RESPONSE_STREAMED)
        return sg_err_set(err, SG_EINVAL, "decoder needs a concrete response type");
    d = sg_calloc(1, sizeof(*d));
    if (!d)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    d->type = type;
    d->arena = arena;
    sg_arena_init(&d->own, 0);
    if (limits)
        d->lim = *limits;
    if (!d->lim.max_response_bytes)
        d->lim.max_response_bytes = SG_RR_DEFAULT_MAX_RESPONSE;
    if (!d->lim.max_frame_bytes)
        d->lim.max_frame_bytes = SG_RR_DEFAULT_MAX_FRAME;
    if (!d->lim.max_samples)
        d->lim.max_samples = SG_RR_DEFAULT_MAX_SAMPLES;
    d->nq = n;
    d->qs = sg_arena_alloc_array(&d->own, n ? n : 1, sizeof(*d->qs));
    d->acc = sg_calloc(n ? n : 1, sizeof(*d->acc));
    if (!d->qs || !d->acc)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        struct sg_str *dl = NULL;
        d->qs[i] = qs[i];
        d->acc[i].sorted = true;
        if (qs[i].ndrop_labels) {
            dl = sg_arena_alloc_array(&d->own, qs[i].ndrop_labels, sizeof(*dl));
            if (!dl)
                goto oom;
            for (size_t k = 0; k < qs[i].ndrop_labels; k++)
                if (sg_arena_str(&d->own, qs[i].drop_labels[k], &dl[k]) != SG_OK)
                    goto oom;
        }
        d->qs[i].drop_labels = dl;
    }
    if (type == SG_RR_RESPONSE_SAMPLES &&
        sg_rr__sdec_new(d->qs, n, &d->lim, arena, &d->sdec, err) != SG_OK) {
        sg_rr_decoder_free(d);
        return SG_ENOMEM;
    }
    d->stats.response_type = type;
    *out = d;
    return SG_OK;
oom:
    sg_rr_decoder_free(d);
    return sg_err_set(err, SG_ENOMEM, "out of memory");
}

void sg_rr_decoder_free(struct sg_rr_decoder *d)
{
    if (!d)
        return;
    if (d->acc)
        for (size_t i = 0; i < d->nq; i++)
            sg_free(d->acc[i].v);
    sg_free(d->acc);
    sg_free(d->fbuf);
    sg_free(d->s);
    sg_free(d->lbuf.v);
    sg_rr__sdec_free(d->sdec);
    sg_arena_cleanup(&d->own);
    sg_free(d);
}

int sg_rr_decoder_feed(struct sg_rr_decoder *d, const void *p, size_t n, struct sg_err *err)
{
    int rc;

    if (d->failed)
        return sg_err_set(err, SG_EINVAL, "decoder used after an error");
    if (n > d->lim.max_response_bytes - d->fed)
        return fail(d, sg_err_set(err, SG_ELIMIT,
                                  "response larger than the limit of %zu bytes",
                                  d->lim.max_response_bytes));
    d->fed += n;
    if (d->type == SG_RR_RESPONSE_SAMPLES)
        rc = sg_rr__sdec_feed(d->sdec, p, n, err);
    else
        rc = feed_streamed(d, p, n, err);
    return rc == SG_OK ? SG_OK : fail(d, rc);
}

void sg_rr_decoder_on_series(struct sg_rr_decoder *d, sg_rr_series_cb cb, void *arg,
                             bool any_order)
{
    d->on_series = cb;
    d->on_series_arg = arg;
    if (d->sdec)
        sg_rr__sdec_on_series(d->sdec, cb, arg, any_order);
}

int sg_rr_decoder_expect(struct sg_rr_decoder *d, uint64_t body_len, struct sg_err *err)
{
    if (d->failed)
        return sg_err_set(err, SG_EINVAL, "decoder used after an error");
    if (body_len > d->lim.max_response_bytes)
        return fail(d, sg_err_set(err, SG_ELIMIT,
                                  "response of %llu bytes is larger than the limit of %zu bytes",
                                  (unsigned long long)body_len, d->lim.max_response_bytes));
    return SG_OK;
}

int sg_rr_decoder_finish(struct sg_rr_decoder *d, struct sg_rr_result *out, struct sg_err *err)
{
    struct sg_series_set *sets;
    int rc;

    if (d->failed)
        return sg_err_set(err, SG_EINVAL, "decoder used after an error");
    d->failed = true; /* finish runs once */
    d->stats.bytes = d->fed;
    sets = sg_arena_alloc_array(d->arena, d->nq ? d->nq : 1, sizeof(*sets));
    if (!sets)
        return mem_err(d, err);
    if (d->type == SG_RR_RESPONSE_SAMPLES) {
        rc = sg_rr__sdec_finish(d->sdec, sets, &d->stats, err);
        if (rc != SG_OK)
            return rc;
    } else {
        if (d->st != F_LEN || d->vbytes) {
            if (d->st == F_LEN)
                return sg_err_set(err, SG_EPROTO,
                                  "truncated frame: the stream ended inside the "
                                  "length of frame %llu",
                                  (unsigned long long)d->stats.frames + 1);
            if (d->st == F_CRC)
                return sg_err_set(err, SG_EPROTO,
                                  "truncated frame: the stream ended inside the "
                                  "checksum of frame %llu",
                                  (unsigned long long)d->stats.frames + 1);
            return sg_err_set(err, SG_EPROTO,
                              "truncated frame: the stream ended after %zu of the "
                              "%llu payload bytes of frame %llu",
                              d->fhave, (unsigned long long)d->flen,
                              (unsigned long long)d->stats.frames + 1);
        }
        rc = flush_series(d, err);
        if (rc != SG_OK)
            return rc;
        for (size_t i = 0; i < d->nq; i++) {
            struct qacc *a = &d->acc[i];
            size_t count = a->count;
            /* strictly increasing label sets need neither sorting nor merging */
            rc = a->sorted ? SG_OK : sg_rr__finish_set(a->v, &count, false, d->arena, err);
            if (rc != SG_OK)
                return rc;
            sets[i].count = count;
            sets[i].sorted = true;
            sets[i].v = NULL;
            if (count) {
                sets[i].v = sg_arena_memdup(d->arena, a->v, count * sizeof(*a->v));
                if (!sets[i].v)
                    return mem_err(d, err);
            }
        }
    }
    if (d->on_series)
        goto done; /* handed over; stats counted then */
    d->stats.samples = 0;
    d->stats.series = 0;
    for (size_t i = 0; i < d->nq; i++) {
        d->stats.series += sets[i].count;
        for (size_t k = 0; k < sets[i].count; k++)
            d->stats.samples += sets[i].v[k].count;
    }
done:
    out->sets = sets;
    out->count = d->nq;
    out->stats = d->stats;
    return SG_OK;
}

int sg_rr_frame_encode(const void *payload, size_t len, struct sg_buf *out)
{
    uint8_t hdr[14];
    size_t k = 0;
    uint64_t v = len;
    uint32_t crc = sg_rr_crc32c(0, payload, len);
    int rc;

    while (v >= 0x80) {
        hdr[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    hdr[k++] = (uint8_t)v;
    hdr[k++] = (uint8_t)(crc >> 24);
    hdr[k++] = (uint8_t)(crc >> 16);
    hdr[k++] = (uint8_t)(crc >> 8);
    hdr[k++] = (uint8_t)crc;
    rc = sg_buf_append(out, hdr, k);
    if (rc == SG_OK)
        rc = sg_buf_append(out, payload, len);
    return rc;
}

int sg_rr_content_type(const char *ct, enum sg_rr_response_type *out, struct sg_err *err)
{
    static const char streamed[] =
        "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";
    static const char samples[] = "application/x-protobuf";

    if (ct && strncmp(ct, streamed, sizeof(streamed) - 1) == 0) {
        *out = SG_RR_RESPONSE_STREAMED;
        return SG_OK;
    }
    if (ct && strncmp(ct, samples, sizeof(samples) - 1) == 0) {
        *out = SG_RR_RESPONSE_SAMPLES;
        return SG_OK;
    }
    return sg_err_set(err, SG_EPROTO,
                      "unsupported content type \"%.200s\" (expected "
                      "application/x-protobuf or application/x-streamed-protobuf)",
                      ct ? ct : "");
}
