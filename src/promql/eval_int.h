/* src/promql/eval_int.h - the evaluator's private types, shared by plan.c,
 * eval.c, funcs.c, aggr.c, binop.c and gosort.c. Nothing outside
 * src/promql/ includes this.
 *
 * The evaluator follows Prometheus 2.42's design: every node is evaluated
 * once over all steps of the evaluation and yields a matrix whose series
 * hold one point per step where they have a value (a scalar is one series
 * without labels); functions, aggregations and binary operators are applied
 * step by step to the vectors gathered from their argument matrices
 * (Prometheus's rangeEval). An instant evaluation is a range evaluation of
 * one step.
 */
#ifndef SG_PROMQL_EVAL_INT_H
#define SG_PROMQL_EVAL_INT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "stopgate/promql.h"

/* One element of a vector at one step. `hash` is sg_labels_hash(labels);
 * `aux` is the per-series helper (grouping key or matching signature) of
 * the series it came from; `src` that series' index in its matrix. */
struct ev_sample {
    struct sg_labels labels;
    uint64_t hash;
    uint64_t aux;
    double v;
    int64_t t;
};

struct ev_vector {
    struct ev_sample *s; /* sg_malloc'd, reused across steps */
    size_t n, cap;
};

/* A series of a node's result: points at step times (or raw times for a
 * range selector's result). Points are sg_malloc'd and owned. */
struct ev_series {
    struct sg_labels labels;
    uint64_t hash;
    struct sg_sample *pts;
    size_t n, cap;
    size_t pos; /* gathering cursor */
};

struct ev_matrix {
    struct ev_series *s; /* sg_malloc'd */
    size_t n, cap;
};

/* A node's value: a matrix (vectors, scalars, range vectors) or a string. */
struct ev_val {
    bool is_string;
    struct sg_str str;
    struct ev_matrix m;
};

/* uint64 -> uint32 open-addressing map (sg_malloc'd). */
struct ev_map {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, len;
};

struct ev {
    int64_t start, end, interval; /* ms; interval >= 1 */
    int64_t query_start, query_end; /* for @ start() / end() */
    int64_t lookback;
    int64_t sub_step;   /* default subquery step */
    size_t cur, max;    /* samples held / allowed */
    const struct sg_promql_compat *compat;
    struct sg_arena *arena;
    const struct sg_series_set *sets;
    size_t nsets;
    const struct sg_node **sel_nodes; /* sel_nodes[i] is the node of sets[i] */
    size_t nsel;
    struct sg_err *err;
};

/* Per-node helper kept across the steps of one rangeEval: caches, the
 * evaluation time, and scratch space. */
struct ev_enh {
    struct ev *ev;
    const struct sg_node *node;
    int64_t ts;
    struct ev_map dmn;               /* label hash -> index in dmn_ls */
    struct sg_labels *dmn_ls;
    uint64_t *dmn_hash;
    size_t dmn_n, dmn_cap;
    void *scratch;                   /* function-specific state */
    void (*scratch_free)(void *);
};

/* Function and aggregation step callback: args[i] is argument i's vector at
 * this step (scalars as one sample); appends to out. */
typedef int (*ev_step_fn)(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                          struct ev_vector *out);

/* One series' values at every step of an evaluation, dense; `has` marks
 * the steps with a value, first..last (inclusive) spans them when n > 0.
 * Both arrays are sg_malloc'd and reused from series to series. */
struct ev_row {
    double *v;
    uint8_t *has;
    size_t steps, n, first, last;
};

/* Receives the rows of a producer in its output order; idx is the input
 * series' position, ls/hash the output labels. */
struct ev_sink {
    int (*row)(struct ev_sink *sink, size_t idx, const struct sg_labels *ls, uint64_t hash,
               const struct ev_row *row);
};

/* Forget the row's values (only the steps that had one are touched). */
static inline void sg_promql__row_clear(struct ev_row *row)
{
    if (row->n)
        memset(row->has + row->first, 0, row->last - row->first + 1);
    row->n = 0;
}

/* Steps come in increasing order. */
static inline void sg_promql__row_put(struct ev_row *row, size_t k, double v)
{
    if (row->n == 0)
        row->first = k;
    row->last = k;
    row->v[k] = v;
    row->has[k] = 1;
    row->n++;
}

/* The sink that appends each row to a matrix (out is emptied first). */
struct mat_sink {
    struct ev_sink base;
    struct ev *ev;
    struct ev_matrix *out;
};
void sg_promql__mat_sink_init(struct mat_sink *m, struct ev *ev, struct ev_matrix *out);

int sg_promql__row_init(struct ev *ev, struct ev_row *row, size_t steps);
void sg_promql__row_free(struct ev_row *row);
/* Producer: the call n whose argument midx is a range selector or a
 * subquery, row by row into sink (eval.c). absent: the matrix the sink
 * fills, for absent_over_time's rewrite (NULL for other sinks). */
/* Producer: an instant selector (eval.c). */
int sg_promql__selector_rows(struct ev *ev, const struct sg_node *n, struct ev_sink *sink);
int sg_promql__range_call_rows(struct ev *ev, const struct sg_node *n, size_t midx,
                               struct ev_sink *sink, struct ev_matrix *absent);

/* ---- time arithmetic ----
 * Times and durations come from user input (@, offsets, ranges), so sums
 * saturate at the int64 range instead of overflowing. */
static inline int64_t sg_promql__tadd(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static inline int64_t sg_promql__tsub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* (a - b) in seconds, as Go's float64(a-b)/1000 when a-b fits. */
static inline double sg_promql__tdiff_s(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return ((double)a - (double)b) / 1000;
    return (double)r / 1000;
}

static inline const struct sg_node *sg_promql__unwrap(const struct sg_node *n)
{
    while (n->kind == SG_N_PAREN)
        n = n->u.paren.expr;
    return n;
}

static inline size_t sg_promql__num_steps(const struct ev *ev)
{
    if (ev->end < ev->start)
        return 0;
    return (size_t)(((uint64_t)ev->end - (uint64_t)ev->start) / (uint64_t)ev->interval) + 1;
}

/* Time of step k (k < num_steps). */
static inline int64_t sg_promql__step_ts(const struct ev *ev, size_t k)
{
    return (int64_t)((uint64_t)ev->start + (uint64_t)k * (uint64_t)ev->interval);
}

/* ---- helpers (eval.c) ---- */
/* Prometheus's preprocessExprHelper: the node's value does not depend on
 * the step (it is evaluated once and repeated). */
bool sg_promql__step_invariant(const struct sg_node *n);
/* Append a series to m with room for cap_hint points; SG_ENOMEM. */
int sg_promql__matrix_add(struct ev_matrix *m, const struct sg_labels *ls, uint64_t hash,
                          size_t cap_hint, struct ev_series **out);
int sg_promql__map_init(struct ev_map *m, size_t hint);
/* Value for key or UINT32_MAX. */
uint32_t sg_promql__map_get(const struct ev_map *m, uint64_t key);
int sg_promql__map_put(struct ev_map *m, uint64_t key, uint32_t val);
void sg_promql__map_clear(struct ev_map *m);
void sg_promql__map_free(struct ev_map *m);

int sg_promql__vec_push(struct ev_vector *v, const struct ev_sample *s);
void sg_promql__enh_cleanup(struct ev_enh *enh);
void sg_promql__matrix_free(struct ev_matrix *m);
int sg_promql__fail(struct ev *ev, int code, const char *fmt, ...) SG_PRINTF(3, 4);
int sg_promql__too_many_samples(struct ev *ev);

/* labels with __name__ removed, cached per node by label hash */
int sg_promql__drop_name(struct ev_enh *enh, const struct sg_labels *ls, uint64_t hash,
                         struct sg_labels *out, uint64_t *out_hash);
uint64_t sg_promql__labels_hash(const struct sg_labels *ls);

/* ---- functions (funcs.c) ---- */
enum ev_func_id {
    F_UNKNOWN = 0,
    F_ABS, F_ABSENT, F_ABSENT_OVER_TIME, F_ACOS, F_ACOSH, F_ASIN, F_ASINH, F_ATAN, F_ATANH,
    F_AVG_OVER_TIME, F_CEIL, F_CHANGES, F_CLAMP, F_CLAMP_MAX, F_CLAMP_MIN, F_COS, F_COSH,
    F_COUNT_OVER_TIME, F_DAYS_IN_MONTH, F_DAY_OF_MONTH, F_DAY_OF_WEEK, F_DAY_OF_YEAR, F_DEG,
    F_DELTA, F_DERIV, F_EXP, F_FLOOR, F_HISTOGRAM_COUNT, F_HISTOGRAM_FRACTION,
    F_HISTOGRAM_QUANTILE, F_HISTOGRAM_SUM, F_HOLT_WINTERS, F_HOUR, F_IDELTA, F_INCREASE, F_IRATE,
    F_LABEL_REPLACE, F_LABEL_JOIN, F_LN, F_LOG10, F_LOG2, F_LAST_OVER_TIME, F_MAX_OVER_TIME,
    F_MIN_OVER_TIME, F_MINUTE, F_MONTH, F_PI, F_PREDICT_LINEAR, F_PRESENT_OVER_TIME,
    F_QUANTILE_OVER_TIME, F_RAD, F_RATE, F_RESETS, F_ROUND, F_SCALAR, F_SGN, F_SIN, F_SINH,
    F_SORT, F_SORT_DESC, F_SQRT, F_STDDEV_OVER_TIME, F_STDVAR_OVER_TIME, F_SUM_OVER_TIME, F_TAN,
    F_TANH, F_TIME, F_TIMESTAMP, F_VECTOR, F_YEAR,
    F_COUNT_ /* number of ids */
};
enum ev_func_id sg_promql__func_id(const struct sg_func *f);
/* Functions whose value depends on the evaluation time even when every
 * argument is step invariant (Prometheus's AtModifierUnsafeFunctions). */
bool sg_promql__func_at_unsafe(enum ev_func_id id);
/* Instant-vector/scalar functions, one step. */
int sg_promql__call_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                         struct ev_vector *out);
/* Range-vector functions: the window's points (stale markers removed) of one
 * series at one step; sets *has when there is an output value.
 * `scalars` are the other arguments' values at this step. */
int sg_promql__call_range(struct ev_enh *enh, enum ev_func_id id, const struct sg_sample *pts,
                          size_t n, const double *scalars, int64_t range_start,
                          int64_t range_end, int64_t range_ms, double *out, bool *has);
/* A range function evaluated over the successive windows of one series
 * (funcs.c): what can be found once per series (counter resets, value
 * changes, the last window's extreme) is kept here; every window's value
 * is computed with the same operations as sg_promql__call_range. */
struct ev_rstate {
    enum ev_func_id id;
    const struct sg_sample *p; /* the series (stale markers removed) */
    size_t n;
    size_t *marks;             /* resets or changes: positions i >= 1; sg_malloc'd */
    size_t nmarks, mcap, mpos, mlo;
    size_t ext, elo, ehi;      /* min/max: the last pick and its window */
    bool nan;                  /* min/max: the series holds a NaN */
    struct rate_memo *memo;    /* rate/increase/delta: window shapes; sg_malloc'd */
    const struct rate_memo *last; /* the shape of the series' previous window */
};
/* Before the first series. */
int sg_promql__rstate_init(struct ev *ev, struct ev_rstate *st, enum ev_func_id id);
/* Start a series; the state's buffers are reused from series to series. */
int sg_promql__rstate_series(struct ev *ev, struct ev_rstate *st, enum ev_func_id id,
                             const struct sg_sample *p, size_t n);
/* The value over the window [lo, hi) of the series, as call_range. */
int sg_promql__rstate_step(struct ev_enh *enh, struct ev_rstate *st, size_t lo, size_t hi,
                           const double *scalars, int64_t range_start, int64_t range_end,
                           int64_t range_ms, double *out, bool *has);
void sg_promql__rstate_free(struct ev_rstate *st);
/* Room for n marks, so that the series loops below do not allocate. */
int sg_promql__rstate_reserve(struct ev *ev, struct ev_rstate *st, size_t n);
/* rate/increase/delta (and not the compat order rate_threshold_first) at
 * steps k = 0..steps-1 with windows [maxt0 + k*interval - range,
 * maxt0 + k*interval] (closed, no overflow) over the samples p[0..n) of a
 * series, its row (cleared before); *held as eval.c's loop leaves it,
 * *maxw the largest window. A window of more than `room` samples is the
 * sample limit (SG_EEVAL), as eval.c's loop checks it. *stale: p holds a
 * stale marker; nothing was decided, start over with the markers removed.
 * Allocates only when st's marks are not reserved for n. */
int sg_promql__rate_rows(struct ev_enh *enh, struct ev_rstate *st, const struct sg_sample *p,
                         size_t n, int64_t maxt0, int64_t interval, int64_t range, size_t steps,
                         size_t room, struct ev_row *row, size_t *held, size_t *maxw, bool *stale);

/* Any range function with no other argument, windows as above (open on
 * the left with left_open), p prepared by sg_promql__rstate_series; enh->ts
 * is set to each step's time (maxt + offset). */
int sg_promql__window_rows(struct ev_enh *enh, struct ev_rstate *st, int64_t maxt0,
                           int64_t offset, int64_t interval, int64_t range, size_t steps,
                           bool left_open, size_t room, struct ev_row *row, size_t *held);

/* par.c: rate/increase/delta rows of a whole series set computed ahead on
 * worker threads (when the machine has more than one CPU and the work is
 * large; else *out is NULL and the caller goes series by series). */
struct ev_par;
int sg_promql__par_new(struct ev *ev, enum ev_func_id id, const struct sg_series_set *set,
                       int64_t maxt0, int64_t range, size_t steps, struct ev_par **out);
/* Series i's row (valid until the next call), taken in increasing i; what
 * rate_rows reports with an unlimited room. */
const struct ev_row *sg_promql__par_get(struct ev_par *p, size_t i, size_t *held, size_t *maxw,
                                        bool *stale);
/* Stops and joins the threads. */
void sg_promql__par_free(struct ev_par *p);

/* Labels of absent()/absent_over_time() for the argument node. */
int sg_promql__absent_labels(struct ev *ev, const struct sg_node *arg, struct sg_labels *out);

/* ---- aggregations (aggr.c) and binary operators (binop.c) ---- */

/* Kahan-Neumaier increment of the later versions: an infinite sum resets
 * the compensation. */
static inline void sg_promql__kahan_inc_v3(double inc, double *sum, double *c)
{
    double t = *sum + inc;

    if (isinf(t))
        *c = 0;
    else if (fabs(*sum) >= fabs(inc))
        *c += (*sum - t) + inc;
    else
        *c += (inc - t) + *sum;
    *sum = t;
}

/* One aggregation group's running value at one step, for sum, avg, count,
 * group, min, max, stddev and stdvar: 2.42's aggregation() arithmetic
 * (kahan: the compat flag kahan_sum_aggr), shared by the step-wise
 * aggregation (aggr.c) and the fused one (fused.c) so that both compute
 * the same bits. */
struct ev_acc {
    double value, mean;
    double kc;        /* Kahan compensation (kahan_sum_aggr) */
    size_t count;
    bool incremental; /* avg switched to an incremental mean (kahan_sum_aggr) */
};

/* The group's first sample. */
static inline void sg_promql__acc_first(struct ev_acc *g, enum sg_aggop op, double v)
{
    g->value = v;
    g->mean = v;
    g->kc = 0;
    g->incremental = false;
    g->count = 1;
    if (op == SG_AGG_STDVAR || op == SG_AGG_STDDEV)
        g->value = 0;
    else if (op == SG_AGG_GROUP)
        g->value = 1;
}

/* Every later sample, in input order. */
static inline void sg_promql__acc_add(struct ev_acc *g, enum sg_aggop op, bool kahan, double v)
{
    switch (op) {
    case SG_AGG_SUM:
        if (kahan)
            sg_promql__kahan_inc_v3(v, &g->value, &g->kc);
        else
            g->value += v;
        break;
    case SG_AGG_AVG:
        g->count++;
        if (kahan && !g->incremental) {
            double nv = g->value, nc = g->kc;
            sg_promql__kahan_inc_v3(v, &nv, &nc);
            if (!isinf(nv)) {
                g->value = nv;
                g->kc = nc;
                break;
            }
            /* the sum would overflow: continue with an incremental mean */
            g->incremental = true;
            g->mean = g->value / (double)(g->count - 1);
            g->kc /= (double)(g->count - 1);
        }
        if (isinf(g->mean)) {
            if (isinf(v) && (g->mean > 0) == (v > 0))
                break;
            if (!isinf(v) && !isnan(v))
                break;
        }
        if (kahan) {
            double cur = g->mean + g->kc;
            sg_promql__kahan_inc_v3(v / (double)g->count - cur / (double)g->count, &g->mean,
                                    &g->kc);
        } else {
            g->mean += v / (double)g->count - g->mean / (double)g->count;
        }
        break;
    case SG_AGG_GROUP:
        break;
    case SG_AGG_MAX:
        if (g->value < v || isnan(g->value))
            g->value = v;
        break;
    case SG_AGG_MIN:
        if (g->value > v || isnan(g->value))
            g->value = v;
        break;
    case SG_AGG_COUNT:
    case SG_AGG_COUNT_VALUES:
        g->count++;
        break;
    case SG_AGG_STDVAR:
    case SG_AGG_STDDEV: {
        double delta;
        g->count++;
        delta = v - g->mean;
        g->mean += delta / (double)g->count;
        g->value += delta * (v - g->mean);
        break;
    }
    default:
        break;
    }
}

/* The group's value (not for topk, bottomk, quantile). */
static inline double sg_promql__acc_result(const struct ev_acc *g, enum sg_aggop op, bool kahan)
{
    switch (op) {
    case SG_AGG_AVG:
        if (!kahan)
            return g->mean;
        if (g->incremental)
            return g->mean + g->kc;
        return (g->value + g->kc) / (double)g->count;
    case SG_AGG_SUM:
        return kahan ? g->value + g->kc : g->value;
    case SG_AGG_COUNT:
    case SG_AGG_COUNT_VALUES:
        return (double)g->count;
    case SG_AGG_STDVAR:
        return g->value / (double)g->count;
    case SG_AGG_STDDEV:
        return sqrt(g->value / (double)g->count);
    default:
        return g->value;
    }
}

int sg_promql__aggr_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                         struct ev_vector *out);
uint64_t sg_promql__grouping_key(const struct sg_node *aggr, const struct sg_labels *ls);
/* fused.c: the aggregation n folded from its argument's rows when it can
 * be (*done); else nothing is evaluated and the caller goes step by step. */
int sg_promql__fused_aggr(struct ev *ev, const struct sg_node *n, struct ev_matrix *out,
                          bool *done);
int sg_promql__binop_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                          struct ev_vector *out);
uint64_t sg_promql__signature(const struct sg_vector_matching *vm, const struct sg_labels *ls);
double sg_promql__scalar_binop(enum sg_binop op, double l, double r);
/* Vector-scalar operator n on one element (v) and the scalar (on the left
 * when swap): the result's value, *keep false when a comparison filters
 * the element out. */
double sg_promql__vs_value(const struct sg_node *n, double v, double scalar, bool swap, bool *keep);
/* The vector-scalar operator n drops the metric name. */
bool sg_promql__vs_drops_name(const struct sg_node *n);
/* fused.c: a vector-scalar operator with a number literal over an instant
 * selector or a range function, row by row, when it can be (*done). */
int sg_promql__fused_binop(struct ev *ev, const struct sg_node *n, struct ev_matrix *out,
                           bool *done);

/* ---- Go-compatible numerics and sorting (gomath.c) ---- */
double sg_promql__go_pow(double x, double y);
/* Go's math package (gomath_libm.c) */
double sg_promql__go_log(double x);
double sg_promql__go_exp(double x);
double sg_promql__go_log1p(double x);
double sg_promql__go_log10(double x);
double sg_promql__go_log2(double x);
double sg_promql__go_sin(double x);
double sg_promql__go_cos(double x);
double sg_promql__go_tan(double x);
double sg_promql__go_asin(double x);
double sg_promql__go_acos(double x);
double sg_promql__go_atan(double x);
double sg_promql__go_atan2(double y, double x);
double sg_promql__go_sinh(double x);
double sg_promql__go_cosh(double x);
double sg_promql__go_tanh(double x);
double sg_promql__go_asinh(double x);
double sg_promql__go_acosh(double x);
double sg_promql__go_atanh(double x);
double sg_promql__go_mod(double x, double y);
double sg_promql__go_max(double x, double y);
double sg_promql__go_min(double x, double y);
/* sort.Sort of Go 1.19 (pdqsort) over n elements with less(i, j)/swap(i, j). */
void sg_promql__go_sort(void *ctx, size_t n, bool (*less)(void *ctx, size_t i, size_t j),
                        void (*swap)(void *ctx, size_t i, size_t j));

#endif
