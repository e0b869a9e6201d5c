/* src/rr/rr_int.h - declarations shared by the files of src/rr/ only. */
#ifndef SG_RR_INT_H
#define SG_RR_INT_H

#include "stopgate/rr.h"

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

/* Decode a SAMPLES body (snappy-compressed ReadResponse). */
SG_NODISCARD int sg_rr__decode_samples(const void *p, size_t len,
                                       const struct sg_rr_decode_query *qs, size_t nq,
                                       const struct sg_rr_decode_limits *lim,
                                       struct sg_arena *arena, struct sg_series_set *sets,
                                       struct sg_rr_stats *stats, struct sg_err *err);

/* Build the snappy-compressed ReadRequest for qs into out, with the
 * external labels ext added as matchers; when dq is non-NULL, fill dq[i]
 * (window and the label names to drop, allocated in a). */
SG_NODISCARD int sg_rr__build_request(const struct sg_label *ext, size_t next,
                                      enum sg_rr_response_type type,
                                      const struct sg_rr_query *qs, size_t n, struct sg_arena *a,
                                      struct sg_buf *out, struct sg_rr_decode_query *dq,
                                      struct sg_err *err);

#endif
