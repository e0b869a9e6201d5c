/* src/rr/request.c - building the ReadRequest body.
 *
 * One Query per selector, each with its own window, its matchers plus an
 * EQ matcher for every external label whose name the selector does not
 * already match on (those names are then dropped from the results, as
 * Prometheus's client does with filter_external_labels), and its hints.
 * The accepted response types follow the configured type (auto: SAMPLES
 * first when every window is at most SG_RR_AUTO_SAMPLES_MAX_WINDOW_MS).
 * The message is packed by protobuf-c (structs built in a scratch arena)
 * and compressed as one snappy block by the snappy library. No I/O.
 */
#include <string.h>

#include <snappy-c.h>

#include "rr/rr_int.h"
#include "src/remote.pb-c.h"

size_t sg_rr_accepted_types(enum sg_rr_response_type t, const struct sg_rr_query *qs, size_t n,
                            int wire[2])
{
    int64_t longest = 0;

    switch (t) {
    case SG_RR_RESPONSE_SAMPLES:
        wire[0] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES;
        return 1;
    case SG_RR_RESPONSE_STREAMED:
        wire[0] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS;
        return 1;
    case SG_RR_RESPONSE_AUTO:
        break;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t w;
        if (__builtin_sub_overflow(qs[i].end_ms, qs[i].start_ms, &w))
            w = INT64_MAX; /* a window across the whole int64 range */
        if (w > longest)
            longest = w;
    }
    if (longest <= SG_RR_AUTO_SAMPLES_MAX_WINDOW_MS) {
        wire[0] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES;
        wire[1] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS;
    } else {
        wire[0] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS;
        wire[1] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES;
    }
    return 2;
}

static char *dup_str(struct sg_arena *a, struct sg_str s)
{
    return sg_arena_strndup(a, s.ptr ? s.ptr : "", s.len);
}

static bool has_matcher_on(const struct sg_rr_query *q, struct sg_str name)
{
    for (size_t i = 0; i < q->nmatchers; i++)
        if (sg_str_eq(q->matchers[i].name, name))
            return true;
    return false;
}

int sg_rr__build_request(const struct sg_label *ext, size_t next, enum sg_rr_response_type type,
                         const struct sg_rr_query *qs, size_t n, struct sg_arena *a,
                         struct sg_buf *out, struct sg_rr_decode_query *dq, struct sg_err *err)
{
    Prometheus__ReadRequest req = PROMETHEUS__READ_REQUEST__INIT;
    Prometheus__ReadRequest__ResponseType types[2];
    int wire[2];
    uint8_t *packed;
    size_t plen, clen;
    char *comp;
    int rc;

    if (n == 0)
        return sg_err_set(err, SG_EINVAL, "a read needs at least one query");
    req.n_queries = n;
    req.queries = sg_arena_alloc_array(a, n, sizeof(*req.queries));
    if (!req.queries)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const struct sg_rr_query *q = &qs[i];
        Prometheus__Query *pq = sg_arena_alloc(a, sizeof(*pq));
        size_t nm = 0, nadd = 0;

        if (!pq)
            goto oom;
        prometheus__query__init(pq);
        req.queries[i] = pq;
        pq->start_timestamp_ms = q->start_ms;
        pq->end_timestamp_ms = q->end_ms;
        pq->matchers = sg_arena_alloc_array(a, q->nmatchers + next + 1, sizeof(*pq->matchers));
        if (!pq->matchers)
            goto oom;
        struct sg_str *drop = NULL;
        if (dq) {
            memset(&dq[i], 0, sizeof(dq[i]));
            dq[i].start_ms = q->start_ms;
            dq[i].end_ms = q->end_ms;
            drop = sg_arena_alloc_array(a, next + 1, sizeof(*drop));
            if (!drop)
                goto oom;
            dq[i].drop_labels = drop;
        }
        for (size_t k = 0; k < q->nmatchers + next; k++) {
            Prometheus__LabelMatcher *m;
            struct sg_str name, value;
            int mt;
            if (k < q->nmatchers) {
                name = q->matchers[k].name;
                value = q->matchers[k].value;
                mt = (int)q->matchers[k].type;
                if (mt < SG_MATCH_EQ || mt > SG_MATCH_NRE)
                    return sg_err_set(err, SG_EINVAL, "query %zu: unknown matcher type %d", i,
                                      mt);
            } else {
                const struct sg_label *l = &ext[k - q->nmatchers];
                if (has_matcher_on(q, l->name))
                    continue; /* the selector decides; the label is kept */
                name = l->name;
                value = l->value;
                mt = SG_MATCH_EQ;
                if (drop)
                    drop[nadd] = name;
                nadd++;
            }
            m = sg_arena_alloc(a, sizeof(*m));
            if (!m)
                goto oom;
            prometheus__label_matcher__init(m);
            /* our enum uses the wire numbering: EQ 0, NEQ 1, RE 2, NRE 3 */
            m->type = (Prometheus__LabelMatcher__Type)mt;
            m->name = dup_str(a, name);
            m->value = dup_str(a, value);
            if (!m->name || !m->value)
                goto oom;
            pq->matchers[nm++] = m;
        }
        pq->n_matchers = nm;
        if (dq)
            dq[i].ndrop_labels = nadd;
        if (q->hints) {
            const struct sg_rr_hints *h = q->hints;
            Prometheus__ReadHints *ph = sg_arena_alloc(a, sizeof(*ph));
            if (!ph)
                goto oom;
            prometheus__read_hints__init(ph);
            ph->start_ms = h->start_ms;
            ph->end_ms = h->end_ms;
            ph->step_ms = h->step_ms;
            ph->range_ms = h->range_ms;
            ph->func = sg_arena_strdup(a, h->func ? h->func : "");
            ph->by = h->by;
            if (!ph->func)
                goto oom;
            if (h->ngrouping) {
                ph->grouping = sg_arena_alloc_array(a, h->ngrouping, sizeof(char *));
                if (!ph->grouping)
                    goto oom;
                for (size_t g = 0; g < h->ngrouping; g++) {
                    ph->grouping[g] = dup_str(a, h->grouping[g]);
                    if (!ph->grouping[g])
                        goto oom;
                }
                ph->n_grouping = h->ngrouping;
            }
            pq->hints = ph;
        }
    }
    req.n_accepted_response_types = sg_rr_accepted_types(type, qs, n, wire);
    for (size_t i = 0; i < req.n_accepted_response_types; i++)
        types[i] = (Prometheus__ReadRequest__ResponseType)wire[i];
    req.accepted_response_types = types;

    plen = prometheus__read_request__get_packed_size(&req);
    packed = sg_arena_alloc_raw(a, plen ? plen : 1);
    if (!packed)
        goto oom;
    if (prometheus__read_request__pack(&req, packed) != plen)
        return sg_err_set(err, SG_EINVAL, "packing the ReadRequest failed");
    clen = snappy_max_compressed_length(plen);
    rc = sg_buf_reserve(out, clen);
    if (rc != SG_OK)
        return sg_err_set(err, rc, "the ReadRequest is too large (%zu bytes)", plen);
    comp = out->data + out->len;
    if (snappy_compress((const char *)packed, plen, comp, &clen) != SNAPPY_OK)
        return sg_err_set(err, SG_EINVAL, "snappy compression of the ReadRequest failed");
    out->len += clen;
    out->data[out->len] = '\0';
    return SG_OK;
oom:
    return sg_err_set(err, SG_ENOMEM, "out of memory building the ReadRequest");
}
