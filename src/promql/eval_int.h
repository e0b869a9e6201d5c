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

#include <stdint.h>

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

/* ---- helpers (eval.c) ---- */
int sg_promql__map_init(struct ev_map *m, size_t hint);
/* Value for key or UINT32_MAX. */
uint32_t sg_promql__map_get(const struct ev_map *m, uint64_t key);
int sg_promql__map_put(struct ev_map *m, uint64_t key, uint32_t val);
void sg_promql__map_clear(struct ev_map *m);
void sg_promql__map_free(struct ev_map *m);

int sg_promql__vec_push(struct ev_vector *v, const struct ev_sample *s);
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
/* Labels of absent()/absent_over_time() for the argument node. */
int sg_promql__absent_labels(struct ev *ev, const struct sg_node *arg, struct sg_labels *out);

/* ---- aggregations (aggr.c) and binary operators (binop.c) ---- */
int sg_promql__aggr_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                         struct ev_vector *out);
uint64_t sg_promql__grouping_key(const struct sg_node *aggr, const struct sg_labels *ls);
int sg_promql__binop_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                          struct ev_vector *out);
uint64_t sg_promql__signature(const struct sg_vector_matching *vm, const struct sg_labels *ls);
double sg_promql__scalar_binop(enum sg_binop op, double l, double r);

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
