/* include/stopgate/store.h - series and samples in memory.
 *
 * The data model every evaluation reads: a series is a label set plus its
 * float samples in strictly increasing time order. A series set is what a
 * selector returns. Stale markers are ordinary samples whose value has the
 * StaleNaN bit pattern (sg_is_stale); nothing canonicalises NaNs.
 *
 * struct sg_store is the in-memory implementation (promtool-style tests,
 * the daemon's recorded series and ALERTS, fixtures): append samples, then
 * select by matchers and time window. Remote-read results fill plain
 * series sets directly (see rr.h).
 */
#ifndef SG_STORE_H
#define SG_STORE_H

#include <stdint.h>
#include <string.h>

#include "stopgate/base.h"
#include "stopgate/err.h"
#include "stopgate/labels.h"

/* Prometheus's value.StaleNaN and the NaN Go's math.NaN() returns. */
#define SG_STALE_NAN_BITS  UINT64_C(0x7ff0000000000002)
#define SG_NORMAL_NAN_BITS UINT64_C(0x7ff8000000000001)

static inline uint64_t sg_f64_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static inline double sg_f64_from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

static inline bool sg_is_stale(double v)
{
    return sg_f64_bits(v) == SG_STALE_NAN_BITS;
}

static inline double sg_stale_nan(void)
{
    return sg_f64_from_bits(SG_STALE_NAN_BITS);
}

struct sg_sample {
    int64_t t; /* Unix milliseconds */
    double v;
};

struct sg_series {
    struct sg_labels labels;
    struct sg_sample *samples; /* strictly increasing t */
    size_t count;
};

struct sg_series_set {
    struct sg_series *v; /* sorted by label set when `sorted` */
    size_t count;
    bool sorted;
};

/* Sort a set by label set (Prometheus's labels.Compare). */
void sg_series_set_sort(struct sg_series_set *set);

/* Index of the first sample with t >= t_ms (count if none). */
size_t sg_series_lower_bound(const struct sg_series *s, int64_t t_ms);

/* ---- in-memory store ------------------------------------------------------- */

struct sg_store;

/* NULL on out of memory. max_bytes caps everything the store holds
 * (0 = no cap); appends past it fail with SG_ELIMIT. */
struct sg_store *sg_store_new(size_t max_bytes);
void sg_store_free(struct sg_store *st);

/* Append one sample to the series with labels `ls` (copied on first use).
 * Samples of a series must come in time order: an equal timestamp replaces
 * the last value (as promtool's loader does for a repeated series), an
 * older one is SG_EINVAL ("out of order sample"). */
SG_NODISCARD int sg_store_append(struct sg_store *st, const struct sg_labels *ls, int64_t t_ms,
                                 double v, struct sg_err *err);

/* The series whose labels satisfy every matcher and that have at least one
 * sample in [mint_ms, maxt_ms] (both inclusive), each restricted to those
 * samples. The set's array is allocated in `a`; series labels and samples
 * are views into the store, valid until the next append or drop. The set
 * is sorted by label set. Negative code only on a regex limit or OOM. */
SG_NODISCARD int sg_store_select(const struct sg_store *st, const struct sg_matcher *ms, size_t n,
                                 int64_t mint_ms, int64_t maxt_ms, struct sg_arena *a,
                                 struct sg_series_set *out, struct sg_err *err);

/* Drop every sample older than t_ms, and series left empty. */
void sg_store_drop_before(struct sg_store *st, int64_t t_ms);

/* Number of series and samples held. */
size_t sg_store_series_count(const struct sg_store *st);
size_t sg_store_sample_count(const struct sg_store *st);

/* Iterate over every series (for journaling the local store); stops and
 * returns fn's value when fn returns non-zero. */
int sg_store_foreach(const struct sg_store *st, int (*fn)(const struct sg_series *s, void *arg),
                     void *arg);

#endif
