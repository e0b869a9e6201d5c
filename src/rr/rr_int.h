/* src/rr/rr_int.h - declarations shared by the files of src/rr/ only. */
#ifndef SG_RR_INT_H
#define SG_RR_INT_H

#include "stopgate/rr.h"

/* ---- protobuf wire reading (bounded; false on malformed input) ---------------- */

struct pb {
    const uint8_t *p, *end;
};

static inline bool pb_varint(struct pb *r, uint64_t *out)
{
    uint64_t v = 0;

    if (r->p < r->end && !(*r->p & 0x80)) { /* the common one-byte case */
        *out = *r->p++;
        return true;
    }
    for (unsigned shift = 0; shift < 70; shift += 7) {
        uint8_t c;
        if (r->p >= r->end)
            return false;
        c = *r->p++;
        if (shift == 63 && c > 1)
            return false;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Next field key; false at a malformed key. */
static inline bool pb_key(struct pb *r, uint64_t *field, unsigned *wt)
{
    uint64_t k;

    if (!pb_varint(r, &k))
        return false;
    *field = k >> 3;
    *wt = (unsigned)(k & 7);
    return *field != 0;
}

static inline bool pb_bytes(struct pb *r, struct pb *sub)
{
    uint64_t n;

    if (!pb_varint(r, &n) || n > (uint64_t)(r->end - r->p))
        return false;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return true;
}

static inline bool pb_skip(struct pb *r, unsigned wt)
{
    uint64_t v;
    struct pb sub;

    switch (wt) {
    case 0:
        return pb_varint(r, &v);
    case 1:
        if (r->end - r->p < 8)
            return false;
        r->p += 8;
        return true;
    case 2:
        return pb_bytes(r, &sub);
    case 5:
        if (r->end - r->p < 4)
            return false;
        r->p += 4;
        return true;
    default: /* groups (3, 4) are not used by these messages */
        return false;
    }
}

/* The next length-delimited field `field` of r into *sub, every other field
 * skipped: 1 when found, 0 at the end of r, -1 when r is malformed. */
static inline int pb_next(struct pb *r, uint64_t field, struct pb *sub)
{
    while (r->p < r->end) {
        uint64_t f;
        unsigned wt;
        if (!pb_key(r, &f, &wt))
            return -1;
        if (f != field || wt != 2) {
            if (!pb_skip(r, wt))
                return -1;
            continue;
        }
        return pb_bytes(r, sub) ? 1 : -1;
    }
    return 0;
}

/* ---- one series' labels while it is decoded (series.c) ------------------------ */

#define SG_RR_MAX_LABELS 4096 /* per series */

/* Views into the response body, in wire order, without the labels the
 * query drops. v is the decoder's scratch array, grown with sg_reallocarray
 * and released with sg_free by its owner; count restarts at 0 per series. */
struct sg_rr__lscratch {
    struct sg_label *v;
    size_t count, cap;
    bool ordered; /* names strictly increasing so far */
};

/* Start a series: count 0, ordered. */
void sg_rr__lscratch_reset(struct sg_rr__lscratch *ls);

/* Decode the Label message m (name = 1, value = 2) and add it unless q
 * drops its name. SG_EPROTO with no message when m is malformed (the
 * caller names the place); SG_ELIMIT over SG_RR_MAX_LABELS and SG_ENOMEM
 * with messages. */
SG_NODISCARD int sg_rr__lscratch_add(struct sg_rr__lscratch *ls, const struct sg_rr_decode_query *q,
                                     struct pb m, struct sg_err *err);

/* Sort by name if they came out of order. Returns a label whose name
 * appears twice, NULL when the names are distinct. */
const struct sg_label *sg_rr__lscratch_sort(struct sg_rr__lscratch *ls);

/* Copy the labels (names and values) into arena as *out. SG_ENOMEM when
 * the arena refuses (the caller words it; see sg_rr__mem_err). */
SG_NODISCARD int sg_rr__lscratch_copy(const struct sg_rr__lscratch *ls, struct sg_arena *arena,
                                      struct sg_labels *out);

/* The error for an arena that refuses: SG_ELIMIT naming its cap when it
 * has one, else SG_ENOMEM. */
int sg_rr__mem_err(const struct sg_arena *arena, struct sg_err *err);

/* Prometheus's labels.Compare: pairwise by name then value; a prefix first. */
int sg_rr__labels_cmp(const struct sg_labels *a, const struct sg_labels *b);

/* Put s[0..n) in time order (stable: of equal timestamps the first stays
 * first), then drop every sample whose timestamp equals the one before.
 * Returns the new count. SG_ENOMEM as a negative value. */
long sg_rr__sort_dedupe(struct sg_sample *s, size_t n);

/* Index of the first sample with t >= t_ms (n if none); s sorted. */
size_t sg_rr__lower_bound(const struct sg_sample *s, size_t n, int64_t t_ms);

/* Sort a query's series by label set and merge series whose label sets
 * are equal (their samples merged, time-ordered, deduplicated, copied
 * into arena). Updates *count. */
SG_NODISCARD int sg_rr__finish_set(struct sg_series *v, size_t *count, bool sorted,
                                   struct sg_arena *arena, struct sg_err *err);

/* The SAMPLES decoder (samples.c): the body is decompressed as it arrives
 * (sg_rr_snappy) and every TimeSeries is decoded as soon as it is whole,
 * so decoding overlaps the transfer. qs, lim and arena must outlive it.
 * Errors as sg_rr_decoder_feed / _finish. */
struct sg_rr__sdec;

SG_NODISCARD int sg_rr__sdec_new(const struct sg_rr_decode_query *qs, size_t nq,
                                 const struct sg_rr_decode_limits *lim, struct sg_arena *arena,
                                 struct sg_rr__sdec **out, struct sg_err *err);
SG_NODISCARD int sg_rr__sdec_feed(struct sg_rr__sdec *c, const void *p, size_t n,
                                  struct sg_err *err);
/* End of body: the last checks (whole snappy stream, whole messages, one
 * result per query) and sets[0..nq) filled, each sorted by label set -
 * or, after sg_rr__sdec_on_series, left empty and every series handed
 * over (stats->series and ->samples count them). */
SG_NODISCARD int sg_rr__sdec_finish(struct sg_rr__sdec *c, struct sg_series_set *sets,
                                    struct sg_rr_stats *stats, struct sg_err *err);
/* Hand the series over instead of returning them; before the first feed.
 * any_order: each as soon as it is whole, in the order the server sent
 * them (a label set sent twice is handed over twice; nothing is kept);
 * else at the end, query by query, sorted by label set and merged. */
void sg_rr__sdec_on_series(struct sg_rr__sdec *c, sg_rr_series_cb cb, void *arg, bool any_order);
void sg_rr__sdec_free(struct sg_rr__sdec *c);

/* Build the snappy-compressed ReadRequest for qs into out, with the
 * external labels ext added as matchers; when dq is non-NULL, fill dq[i]
 * (window and the label names to drop, allocated in a). */
SG_NODISCARD int sg_rr__build_request(const struct sg_label *ext, size_t next,
                                      enum sg_rr_response_type type,
                                      const struct sg_rr_query *qs, size_t n, struct sg_arena *a,
                                      struct sg_buf *out, struct sg_rr_decode_query *dq,
                                      struct sg_err *err);

#endif
