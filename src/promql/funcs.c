/* src/promql/funcs.c - PromQL functions as Prometheus 2.42's
 * promql/functions.go and quantile.go compute them.
 *
 * Instant-vector and scalar functions run once per step on the gathered
 * argument vectors (sg_promql__call_step); range-vector functions run once
 * per series and step on the window's points (sg_promql__call_range).
 *
 * Details kept from 2.42:
 * - rate/increase/delta: the zero-point clamp of the start duration comes
 *   before the extrapolation threshold test (<= 2.50 order; compat flag
 *   rate_threshold_first gives the 2.51 order);
 * - sum_over_time, avg_over_time (incremental mean), stddev/stdvar_over_time
 *   and the regression of deriv/predict_linear use Kahan-Neumaier
 *   increments without the later "Inf resets the compensation" step;
 * - min/max_over_time replace the running value when it is NaN;
 * - last_over_time keeps the metric name, every other range function drops
 *   it;
 * - histogram_quantile over classic buckets: buckets sorted, equal bounds
 *   merged, counts made monotonic by raising a lower count to the running
 *   maximum (2.42 has no tolerance step), NaN when the top bucket is not
 *   +Inf, fewer than two buckets or no observations;
 * - quantile: sort with NaN counted as smallest, linear interpolation;
 * - date functions: Go's time.Unix(int64(v), 0).UTC() calendar, including
 *   its wrap-around for values beyond int64 (NaN converts like amd64's
 *   CVTTSD2SQ, to the minimum int64);
 * - native-histogram functions (histogram_count/sum/fraction) skip float
 *   samples, so over float data they return nothing.
 *
 * It does not walk the expression tree.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/eval_int.h"
#include "stopgate/num.h"

#define GO_PI 3.14159265358979323846264338327950288419716939937510582097494459

/* ---- function table ----------------------------------------------------------------- */

static const struct {
    const char *name;
    enum ev_func_id id;
} func_names[] = {
    {"abs", F_ABS}, {"absent", F_ABSENT}, {"absent_over_time", F_ABSENT_OVER_TIME},
    {"acos", F_ACOS}, {"acosh", F_ACOSH}, {"asin", F_ASIN}, {"asinh", F_ASINH},
    {"atan", F_ATAN}, {"atanh", F_ATANH}, {"avg_over_time", F_AVG_OVER_TIME},
    {"ceil", F_CEIL}, {"changes", F_CHANGES}, {"clamp", F_CLAMP}, {"clamp_max", F_CLAMP_MAX},
    {"clamp_min", F_CLAMP_MIN}, {"cos", F_COS}, {"cosh", F_COSH},
    {"count_over_time", F_COUNT_OVER_TIME}, {"days_in_month", F_DAYS_IN_MONTH},
    {"day_of_month", F_DAY_OF_MONTH}, {"day_of_week", F_DAY_OF_WEEK},
    {"day_of_year", F_DAY_OF_YEAR}, {"deg", F_DEG}, {"delta", F_DELTA}, {"deriv", F_DERIV},
    {"exp", F_EXP}, {"floor", F_FLOOR}, {"histogram_count", F_HISTOGRAM_COUNT},
    {"histogram_fraction", F_HISTOGRAM_FRACTION}, {"histogram_quantile", F_HISTOGRAM_QUANTILE},
    {"histogram_sum", F_HISTOGRAM_SUM}, {"holt_winters", F_HOLT_WINTERS}, {"hour", F_HOUR},
    {"idelta", F_IDELTA}, {"increase", F_INCREASE}, {"irate", F_IRATE},
    {"label_replace", F_LABEL_REPLACE}, {"label_join", F_LABEL_JOIN}, {"ln", F_LN},
    {"log10", F_LOG10}, {"log2", F_LOG2}, {"last_over_time", F_LAST_OVER_TIME},
    {"max_over_time", F_MAX_OVER_TIME}, {"min_over_time", F_MIN_OVER_TIME},
    {"minute", F_MINUTE}, {"month", F_MONTH}, {"pi", F_PI}, {"predict_linear", F_PREDICT_LINEAR},
    {"present_over_time", F_PRESENT_OVER_TIME}, {"quantile_over_time", F_QUANTILE_OVER_TIME},
    {"rad", F_RAD}, {"rate", F_RATE}, {"resets", F_RESETS}, {"round", F_ROUND},
    {"scalar", F_SCALAR}, {"sgn", F_SGN}, {"sin", F_SIN}, {"sinh", F_SINH}, {"sort", F_SORT},
    {"sort_desc", F_SORT_DESC}, {"sqrt", F_SQRT}, {"stddev_over_time", F_STDDEV_OVER_TIME},
    {"stdvar_over_time", F_STDVAR_OVER_TIME}, {"sum_over_time", F_SUM_OVER_TIME},
    {"tan", F_TAN}, {"tanh", F_TANH}, {"time", F_TIME}, {"timestamp", F_TIMESTAMP},
    {"vector", F_VECTOR}, {"year", F_YEAR},
};

enum ev_func_id sg_promql__func_id(const struct sg_func *f)
{
    if (!f || !f->name)
        return F_UNKNOWN;
    for (size_t i = 0; i < SG_ARRAY_LEN(func_names); i++) {
        if (strcmp(func_names[i].name, f->name) == 0)
            return func_names[i].id;
    }
    return F_UNKNOWN;
}

bool sg_promql__func_at_unsafe(enum ev_func_id id)
{
    switch (id) {
    case F_DAYS_IN_MONTH: case F_DAY_OF_MONTH: case F_DAY_OF_WEEK: case F_DAY_OF_YEAR:
    case F_HOUR: case F_MINUTE: case F_MONTH: case F_YEAR: case F_PREDICT_LINEAR: case F_TIME:
    case F_TIMESTAMP:
        return true;
    default:
        return false;
    }
}

static int oom(struct ev *ev)
{
    return sg_promql__fail(ev, SG_ENOMEM, "out of memory during evaluation");
}

/* ---- Kahan-Neumaier (2.42's kahanSumInc) ---------------------------------------------- */

static void kahan_inc(double inc, double *sum, double *c)
{
    double t = *sum + inc;

    if (fabs(*sum) >= fabs(inc))
        *c += (*sum - t) + inc;
    else
        *c += (inc - t) + *sum;
    *sum = t;
}

/* ---- quantile ------------------------------------------------------------------------- */

static bool less_nan_first(void *ctx, size_t i, size_t j)
{
    double *v = ctx;
    if (isnan(v[i]))
        return true;
    return v[i] < v[j];
}

static void swap_doubles(void *ctx, size_t i, size_t j)
{
    double *v = ctx, t = v[i];
    v[i] = v[j];
    v[j] = t;
}

/* 2.42's quantile(): v is sorted in place. */
double sg_promql__quantile(double q, double *v, size_t n);
double sg_promql__quantile(double q, double *v, size_t n)
{
    double rank, lo, hi, w;

    if (n == 0 || isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    sg_promql__go_sort(v, n, less_nan_first, swap_doubles);
    rank = q * ((double)n - 1);
    lo = sg_promql__go_max(0, floor(rank));
    hi = sg_promql__go_min((double)n - 1, lo + 1);
    w = rank - floor(rank);
    return v[(size_t)lo] * (1 - w) + v[(size_t)hi] * w;
}

/* ---- range functions ------------------------------------------------------------------ */

/* 2.42's extrapolation factor: the sampled interval extended at each end by
 * the distance to the window's edge when it is under the threshold (1.1
 * average steps), else by half an average step, over the sampled interval;
 * per second for rate. */
static inline double factor_2_42(double sampled, double avg, double to_start, double to_end,
                                 int64_t range_ms, bool is_rate)
{
    double threshold = avg * 1.1, interval = sampled, factor;

    if (to_start < threshold)
        interval += to_start;
    else
        interval += avg / 2;
    if (to_end < threshold)
        interval += to_end;
    else
        interval += avg / 2;
    factor = interval / sampled;
    if (is_rate)
        factor /= (double)range_ms / 1000;
    return factor;
}

/* The extrapolation of rate/increase/delta once `result` (the last value
 * minus the first, plus the counter resets' corrections) is known. */
static double extrapolate(const struct ev *ev, const struct sg_sample *p, size_t n, double result,
                          int64_t range_start, int64_t range_end, int64_t range_ms,
                          bool is_counter, bool is_rate)
{
    double to_start, to_end, sampled, avg, threshold, interval, factor;

    to_start = sg_promql__tdiff_s(p[0].t, range_start);
    to_end = sg_promql__tdiff_s(range_end, p[n - 1].t);
    sampled = sg_promql__tdiff_s(p[n - 1].t, p[0].t);
    avg = sampled / (double)(n - 1);
    if (ev->compat && ev->compat->rate_threshold_first) {
        threshold = avg * 1.1;
        if (to_start >= threshold)
            to_start = avg / 2;
        if (is_counter && result > 0 && p[0].v >= 0) {
            double to_zero = sampled * (p[0].v / result);
            if (to_zero < to_start)
                to_start = to_zero;
        }
        if (to_end >= threshold)
            to_end = avg / 2;
        interval = sampled + to_start + to_end;
        factor = interval / sampled;
        if (is_rate)
            factor /= (double)range_ms / 1000;
        return result * factor;
    }
    if (is_counter && result > 0 && p[0].v >= 0) {
        double to_zero = sampled * (p[0].v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    return result * factor_2_42(sampled, avg, to_start, to_end, range_ms, is_rate);
}

static double extrapolated_rate(const struct ev *ev, const struct sg_sample *p, size_t n,
                                int64_t range_start, int64_t range_end, int64_t range_ms,
                                bool is_counter, bool is_rate)
{
    double result = p[n - 1].v - p[0].v, prev = p[0].v;

    if (is_counter) {
        for (size_t i = 1; i < n; i++) {
            if (p[i].v < prev)
                result += prev;
            prev = p[i].v;
        }
    }
    return extrapolate(ev, p, n, result, range_start, range_end, range_ms, is_counter, is_rate);
}

static void linear_regression(const struct sg_sample *p, size_t n, int64_t intercept_time,
                              double *slope, double *intercept)
{
    double cnt = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    double init = p[0].v, cov, var;
    bool const_y = true;

    for (size_t i = 0; i < n; i++) {
        double x;
        if (const_y && i > 0 && p[i].v != init)
            const_y = false;
        cnt += 1.0;
        x = sg_promql__tdiff_s(p[i].t, intercept_time);
        kahan_inc(x, &sx, &cx);
        kahan_inc(p[i].v, &sy, &cy);
        kahan_inc(x * p[i].v, &sxy, &cxy);
        kahan_inc(x * x, &sx2, &cx2);
    }
    if (const_y) {
        if (isinf(init)) {
            *slope = NAN;
            *intercept = NAN;
        } else {
            *slope = 0;
            *intercept = init;
        }
        return;
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    cov = sxy - sx * sy / cnt;
    var = sx2 - sx * sx / cnt;
    *slope = cov / var;
    *intercept = sy / cnt - *slope * sx / cnt;
}

/* Go's fmt %f: C's %f but "+Inf", "-Inf" and "NaN" for the non-finite. */
static const char *go_percent_f(double v, char *buf, size_t n)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    snprintf(buf, n, "%f", v);
    return buf;
}

int sg_promql__call_range(struct ev_enh *enh, enum ev_func_id id, const struct sg_sample *p,
                          size_t n, const double *scalars, int64_t range_start, int64_t range_end,
                          int64_t range_ms, double *out, bool *has)
{
    struct ev *ev = enh->ev;

    *has = false;
    switch (id) {
    case F_RATE:
    case F_INCREASE:
    case F_DELTA:
        if (n < 2)
            return SG_OK;
        *out = extrapolated_rate(ev, p, n, range_start, range_end, range_ms, id != F_DELTA,
                                 id == F_RATE);
        *has = true;
        return SG_OK;
    case F_IRATE:
    case F_IDELTA: {
        double r;
        int64_t dt;
        if (n < 2)
            return SG_OK;
        if (id == F_IRATE && p[n - 1].v < p[n - 2].v)
            r = p[n - 1].v;
        else
            r = p[n - 1].v - p[n - 2].v;
        dt = p[n - 1].t - p[n - 2].t;
        if (dt == 0)
            return SG_OK;
        if (id == F_IRATE)
            r /= (double)dt / 1000;
        *out = r;
        *has = true;
        return SG_OK;
    }
    case F_HOLT_WINTERS: {
        double sf = scalars[1], tf = scalars[2], s0 = 0, s1, b;
        char num[400];
        if (sf <= 0 || sf >= 1)
            return sg_promql__fail(ev, SG_EEVAL,
                                   "invalid smoothing factor. Expected: 0 < sf < 1, got: %s",
                                   go_percent_f(sf, num, sizeof(num)));
        if (tf <= 0 || tf >= 1)
            return sg_promql__fail(ev, SG_EEVAL,
                                   "invalid trend factor. Expected: 0 < tf < 1, got: %s",
                                   go_percent_f(tf, num, sizeof(num)));
        if (n < 2)
            return SG_OK;
        s1 = p[0].v;
        b = p[1].v - p[0].v;
        for (size_t i = 1; i < n; i++) {
            double x = sf * p[i].v, y;
            if (i - 1 != 0)
                b = tf * (s1 - s0) + (1 - tf) * b;
            y = (1 - sf) * (s1 + b);
            s0 = s1;
            s1 = x + y;
        }
        *out = s1;
        *has = true;
        return SG_OK;
    }
    case F_DERIV: {
        double slope, icpt;
        if (n < 2)
            return SG_OK;
        linear_regression(p, n, p[0].t, &slope, &icpt);
        *out = slope;
        *has = true;
        return SG_OK;
    }
    case F_PREDICT_LINEAR: {
        double slope, icpt;
        if (n < 2)
            return SG_OK;
        linear_regression(p, n, enh->ts, &slope, &icpt);
        *out = slope * scalars[1] + icpt;
        *has = true;
        return SG_OK;
    }
    default:
        break;
    }
    if (n == 0)
        return SG_OK;
    *has = true;
    switch (id) {
    case F_AVG_OVER_TIME: {
        double mean = 0, count = 0, c = 0;
        for (size_t i = 0; i < n; i++) {
            double v = p[i].v;
            count++;
            if (isinf(mean)) {
                if (isinf(v) && (mean > 0) == (v > 0))
                    continue;
                if (!isinf(v) && !isnan(v))
                    continue;
            }
            kahan_inc(v / count - mean / count, &mean, &c);
        }
        *out = isinf(mean) ? mean : mean + c;
        return SG_OK;
    }
    case F_COUNT_OVER_TIME:
        *out = (double)n;
        return SG_OK;
    case F_LAST_OVER_TIME:
        *out = p[n - 1].v;
        return SG_OK;
    case F_MAX_OVER_TIME: {
        double m = p[0].v;
        for (size_t i = 0; i < n; i++)
            if (p[i].v > m || isnan(m))
                m = p[i].v;
        *out = m;
        return SG_OK;
    }
    case F_MIN_OVER_TIME: {
        double m = p[0].v;
        for (size_t i = 0; i < n; i++)
            if (p[i].v < m || isnan(m))
                m = p[i].v;
        *out = m;
        return SG_OK;
    }
    case F_SUM_OVER_TIME: {
        double sum = 0, c = 0;
        for (size_t i = 0; i < n; i++)
            kahan_inc(p[i].v, &sum, &c);
        *out = isinf(sum) ? sum : sum + c;
        return SG_OK;
    }
    case F_QUANTILE_OVER_TIME: {
        double *v = sg_malloc(n * sizeof(*v));
        if (!v)
            return oom(ev);
        for (size_t i = 0; i < n; i++)
            v[i] = p[i].v;
        *out = sg_promql__quantile(scalars[0], v, n);
        sg_free(v);
        return SG_OK;
    }
    case F_STDDEV_OVER_TIME:
    case F_STDVAR_OVER_TIME: {
        double count = 0, mean = 0, cm = 0, aux = 0, ca = 0;
        for (size_t i = 0; i < n; i++) {
            double delta;
            count++;
            delta = p[i].v - (mean + cm);
            kahan_inc(delta / count, &mean, &cm);
            kahan_inc(delta * (p[i].v - (mean + cm)), &aux, &ca);
        }
        *out = (aux + ca) / count;
        if (id == F_STDDEV_OVER_TIME)
            *out = sqrt(*out);
        return SG_OK;
    }
    case F_RESETS: {
        double prev = p[0].v;
        size_t k = 0;
        for (size_t i = 1; i < n; i++) {
            if (p[i].v < prev)
                k++;
            prev = p[i].v;
        }
        *out = (double)k;
        return SG_OK;
    }
    case F_CHANGES: {
        double prev = p[0].v;
        size_t k = 0;
        for (size_t i = 1; i < n; i++) {
            if (p[i].v != prev && !(isnan(p[i].v) && isnan(prev)))
                k++;
            prev = p[i].v;
        }
        *out = (double)k;
        return SG_OK;
    }
    case F_ABSENT_OVER_TIME:
    case F_PRESENT_OVER_TIME:
        *out = 1;
        return SG_OK;
    default:
        *has = false;
        return sg_promql__fail(ev, SG_EEVAL, "function does not take a range vector");
    }
}

/* ---- one series, window after window ---------------------------------------------------
 * A range evaluation moves every series' window forward step by step. What
 * can be found once per series is: the positions of counter resets (rate,
 * increase, resets) and of value changes (changes), and, for min/max, where
 * the previous window's extreme was. Each window's value is still computed
 * with exactly the operations 2.42 performs on that window alone: resets are
 * added one by one in window order, the extreme is the same sample 2.42's
 * scan picks; every function that sums (the *_over_time averages and sums,
 * deviations, regressions, quantiles, holt_winters) runs over the whole
 * window as before. */

#define RATE_MEMO 256

struct rate_memo {
    int64_t ds, de; /* first - range start, range end - last (the range is fixed) */
    size_t n;
    double sampled, k4, factor; /* k4: 4 * to_start */
    bool used, ts_zero, geo_ok; /* to_start == 0; sampled, to_start in 2^-500..2^500 */
};

static int marks_push(struct ev *ev, struct ev_rstate *st, size_t i)
{
    if (st->nmarks == st->mcap) {
        size_t ncap = st->mcap ? st->mcap * 2 : 64;
        size_t *nm = sg_reallocarray(st->marks, ncap, sizeof(*nm));
        if (!nm)
            return oom(ev);
        st->marks = nm;
        st->mcap = ncap;
    }
    st->marks[st->nmarks++] = i;
    return SG_OK;
}

int sg_promql__rstate_init(struct ev *ev, struct ev_rstate *st, enum ev_func_id id)
{
    memset(st, 0, sizeof(*st));
    st->id = id;
    if (id == F_RATE || id == F_INCREASE || id == F_DELTA) {
        st->memo = sg_calloc(RATE_MEMO, sizeof(struct rate_memo));
        if (!st->memo)
            return oom(ev);
    }
    return SG_OK;
}

int sg_promql__rstate_series(struct ev *ev, struct ev_rstate *st, enum ev_func_id id,
                             const struct sg_sample *p, size_t n)
{
    int rc = SG_OK;

    st->id = id;
    st->p = p;
    st->n = n;
    st->nmarks = 0;
    st->mpos = 0;
    st->mlo = 0;
    st->ext = SIZE_MAX;
    st->nan = false;
    st->last = NULL;
    switch (id) {
    case F_RATE:
    case F_INCREASE:
    case F_RESETS:
        for (size_t i = 1; rc == SG_OK && i < n; i++)
            if (p[i].v < p[i - 1].v)
                rc = marks_push(ev, st, i);
        break;
    case F_CHANGES:
        for (size_t i = 1; rc == SG_OK && i < n; i++)
            if (p[i].v != p[i - 1].v && !(isnan(p[i].v) && isnan(p[i - 1].v)))
                rc = marks_push(ev, st, i);
        break;
    case F_MAX_OVER_TIME:
    case F_MIN_OVER_TIME:
        for (size_t i = 0; i < n; i++)
            if (isnan(p[i].v)) {
                st->nan = true;
                break;
            }
        break;
    default:
        break;
    }
    return rc;
}

/* First mark at or after lo + 1 (marks are sample positions i >= 1 that
 * belong to the pair (i-1, i)); windows normally only move forward. */
static size_t marks_from(struct ev_rstate *st, size_t lo)
{
    if (lo < st->mlo)
        st->mpos = 0;
    st->mlo = lo;
    while (st->mpos < st->nmarks && st->marks[st->mpos] < lo + 1)
        st->mpos++;
    return st->mpos;
}

/* The sample 2.42's max_over_time (max) or min_over_time scan over
 * [lo, hi) returns: without NaNs, the first one holding the extreme. When
 * the previous window's pick is still inside and the window only moved
 * forward, the samples before the pick are strictly below (above) it and
 * only the new samples need a look. */
static double extreme(struct ev_rstate *st, size_t lo, size_t hi, bool max)
{
    const struct sg_sample *p = st->p;
    size_t j, from;
    double m;

    if (st->ext != SIZE_MAX && st->ext >= lo && lo >= st->elo && hi >= st->ehi) {
        j = st->ext;
        from = st->ehi;
    } else {
        j = lo;
        from = lo + 1;
    }
    m = p[j].v;
    for (size_t i = from; i < hi; i++) {
        if (max ? p[i].v > m : p[i].v < m) {
            m = p[i].v;
            j = i;
        }
    }
    st->ext = j;
    st->elo = lo;
    st->ehi = hi;
    return m;
}

/* rate/increase/delta over a window whose shape was seen before: the
 * durations, the average interval and the extrapolation factor depend only
 * on the window's first and last times, its length and the range, so they
 * are kept per shape (a small direct-mapped table over the series of one
 * evaluation) instead of being divided out again. The value is then
 * result * factor, the same product extrapolate() ends with, whenever the
 * counter's zero point cannot shorten the start; otherwise, and for the
 * later versions' order, extrapolate() runs in full. */
/* True when 2.42's zero-point test `sampled * (p0 / result) < to_start`
 * is certainly false (p0 >= 0, result > 0, sampled > 0 here). With
 * to_start == 0 it cannot hold (to_zero is >= 0 or NaN). Otherwise, with
 * every operand within 2^-500..2^500 no operation leaves the normal range,
 * so each rounding is off by at most a factor (1 +- 2^-53), and
 * p0 * sampled >= 4 * result * to_start (k4 = 4 * to_start exactly) leaves
 * room for all of them. */
static inline bool no_zero_point(const struct rate_memo *m, double p0, double result)
{
    if (m->ts_zero)
        return true;
    if (!m->geo_ok || !(result >= 0x1p-500 && result <= 0x1p500))
        return false;
    if (p0 != 0 && !(p0 >= 0x1p-500 && p0 <= 0x1p500))
        return false;
    return p0 * m->sampled >= result * m->k4;
}

/* Fill m with the shape (ds, de, n) of a window over [range_end - range,
 * range_end], computed as extrapolate() does without the zero point (2.42's
 * order). */
static void rate_shape_fill(struct rate_memo *m, const struct sg_sample *p, size_t n, int64_t ds,
                            int64_t de, int64_t range_start, int64_t range_end, int64_t range_ms,
                            bool is_rate)
{
    double to_start = sg_promql__tdiff_s(p[0].t, range_start);
    double to_end = sg_promql__tdiff_s(range_end, p[n - 1].t);
    double sampled = sg_promql__tdiff_s(p[n - 1].t, p[0].t);
    double avg = sampled / (double)(n - 1);

    m->ds = ds;
    m->de = de;
    m->n = n;
    m->sampled = sampled;
    m->k4 = 4 * to_start;
    m->factor = factor_2_42(sampled, avg, to_start, to_end, range_ms, is_rate);
    m->ts_zero = to_start == 0;
    m->geo_ok = sampled >= 0x1p-500 && sampled <= 0x1p500 && to_start >= 0x1p-500 &&
                to_start <= 0x1p500;
    m->used = true;
}

/* The shape's entry: the series' previous one, the table's, or new. */
static inline const struct rate_memo *rate_shape(struct ev_rstate *st, const struct sg_sample *p,
                                                 size_t n, int64_t ds, int64_t de,
                                                 int64_t range_start, int64_t range_end,
                                                 int64_t range_ms, bool is_rate)
{
    const struct rate_memo *l = st->last;
    struct rate_memo *m;
    uint64_t h;

    if (l && l->ds == ds && l->de == de && l->n == n)
        return l;
    h = ((uint64_t)ds * UINT64_C(0x9E3779B97F4A7C15)) ^
        ((uint64_t)de * UINT64_C(0xC2B2AE3D27D4EB4F)) ^
        ((uint64_t)n * UINT64_C(0x165667B19E3779F9));
    m = &st->memo[(h >> 40) & (RATE_MEMO - 1)];
    if (!m->used || m->ds != ds || m->de != de || m->n != n)
        rate_shape_fill(m, p, n, ds, de, range_start, range_end, range_ms, is_rate);
    st->last = m;
    return m;
}

/* rate/increase/delta over one window with the shape memo; the caller
 * checked that range_end - range_start == range_ms without overflow. */
static inline double rate_value(struct ev_rstate *st, const struct ev *ev,
                                const struct sg_sample *p, size_t n, double result,
                                int64_t range_start, int64_t range_end, int64_t range_ms,
                                bool is_counter, bool is_rate)
{
    int64_t ds = p[0].t - range_start, de = range_end - p[n - 1].t;
    const struct rate_memo *m =
        rate_shape(st, p, n, ds, de, range_start, range_end, range_ms, is_rate);

    if (is_counter && result > 0 && p[0].v >= 0 && !no_zero_point(m, p[0].v, result))
        return extrapolate(ev, p, n, result, range_start, range_end, range_ms, is_counter,
                           is_rate);
    return result * m->factor;
}

/* The same for a window from the step-wise loop (any bounds, any order). */
static double rate_step(struct ev_rstate *st, const struct ev *ev, const struct sg_sample *p,
                        size_t n, double result, int64_t range_start, int64_t range_end,
                        int64_t range_ms, bool is_counter, bool is_rate)
{
    int64_t w;

    if (!st->memo || (ev->compat && ev->compat->rate_threshold_first) ||
        __builtin_sub_overflow(range_end, range_start, &w) || w != range_ms ||
        p[0].t < range_start || p[n - 1].t > range_end)
        return extrapolate(ev, p, n, result, range_start, range_end, range_ms, is_counter,
                           is_rate);
    return rate_value(st, ev, p, n, result, range_start, range_end, range_ms, is_counter, is_rate);
}

int sg_promql__rstate_step(struct ev_enh *enh, struct ev_rstate *st, size_t lo, size_t hi,
                           const double *scalars, int64_t range_start, int64_t range_end,
                           int64_t range_ms, double *out, bool *has)
{
    const struct sg_sample *p = st->p + lo;
    size_t n = hi - lo;

    switch (st->id) {
    case F_RATE:
    case F_INCREASE: {
        double result;
        *has = false;
        if (n < 2)
            return SG_OK;
        result = p[n - 1].v - p[0].v;
        for (size_t k = marks_from(st, lo); k < st->nmarks && st->marks[k] < hi; k++)
            result += st->p[st->marks[k] - 1].v;
        *out = rate_step(st, enh->ev, p, n, result, range_start, range_end, range_ms, true,
                         st->id == F_RATE);
        *has = true;
        return SG_OK;
    }
    case F_DELTA:
        *has = false;
        if (n < 2)
            return SG_OK;
        *out = rate_step(st, enh->ev, p, n, p[n - 1].v - p[0].v, range_start, range_end, range_ms,
                         false, false);
        *has = true;
        return SG_OK;
    case F_RESETS:
    case F_CHANGES: {
        size_t k0 = marks_from(st, lo), k = k0;
        *has = n > 0;
        while (k < st->nmarks && st->marks[k] < hi)
            k++;
        *out = (double)(k - k0);
        return SG_OK;
    }
    case F_MAX_OVER_TIME:
    case F_MIN_OVER_TIME:
        if (st->nan || n == 0)
            break;
        *out = extreme(st, lo, hi, st->id == F_MAX_OVER_TIME);
        *has = true;
        return SG_OK;
    case F_LAST_OVER_TIME:
        *has = n > 0;
        if (n > 0)
            *out = p[n - 1].v;
        return SG_OK;
    case F_COUNT_OVER_TIME:
        *has = n > 0;
        *out = (double)n;
        return SG_OK;
    default:
        break;
    }
    return sg_promql__call_range(enh, st->id, p, n, scalars, range_start, range_end, range_ms,
                                 out, has);
}

/* Move the window p[lo..hi) of the time-ordered p[0..n) forward to the
 * samples in [mint, maxt], or (mint, maxt] when left_open; both ends only
 * move forward as the steps do. */
static inline void slide(const struct sg_sample *p, size_t n, int64_t mint, int64_t maxt,
                         bool left_open, size_t *lo, size_t *hi)
{
    size_t l = *lo, h = *hi;

    if (left_open)
        while (l < n && p[l].t <= mint)
            l++;
    else
        while (l < n && p[l].t < mint)
            l++;
    if (h < l)
        h = l;
    while (h < n && p[h].t <= maxt)
        h++;
    *lo = l;
    *hi = h;
}

/* rate, increase and delta at every step of a range evaluation without @
 * whose windows are closed ([maxt - range, maxt]): the window found by
 * moving both ends forward, resets added in window order, as the step-wise
 * loop of eval.c (window(), the sample limit check, call_range) does it.
 * One pass over the series: the resets are found as the window's end moves
 * over them. A stale marker stops it (*stale) before any window holds one,
 * so what it did up to there is what the step-wise loop does too. */
int sg_promql__rate_rows(struct ev_enh *enh, struct ev_rstate *st, const struct sg_sample *p,
                         size_t n, int64_t maxt0, int64_t interval, int64_t range, size_t steps,
                         size_t room, struct ev_row *row, size_t *held, size_t *maxw, bool *stale)
{
    struct ev *ev = enh->ev;
    size_t lo = 0, hi = 0, mk = 0, w = 0, scanned = 1, wmax = 0;
    size_t rn = 0, rfirst = 0, rlast = 0;
    double *rv = row->v;
    uint8_t *rh = row->has;
    bool counter = st->id != F_DELTA, is_rate = st->id == F_RATE;
    int64_t maxt = maxt0;
    int rc = SG_OK;

    st->p = p;
    st->n = n;
    st->nmarks = 0;
    st->last = NULL;
    *stale = false;
    *maxw = 0;
    if (n > 0 && sg_is_stale(p[0].v)) {
        *stale = true;
        return SG_OK;
    }
    for (size_t k = 0; k < steps; k++, maxt += interval) {
        int64_t mint = maxt - range;
        double result;

        slide(p, n, mint, maxt, false, &lo, &hi);
        /* samples newly inside: stale markers, counter resets */
        for (; scanned < hi; scanned++) {
            if (sg_is_stale(p[scanned].v)) {
                *stale = true;
                goto done; /* the row stays consistent for the next clear */
            }
            if (counter && p[scanned].v < p[scanned - 1].v) {
                rc = marks_push(ev, st, scanned);
                if (rc != SG_OK)
                    return rc;
            }
        }
        w = hi - lo;
        if (w > wmax)
            wmax = w;
        if (w < 2) {
            if (w > room) {
                rc = sg_promql__too_many_samples(ev);
                break;
            }
            continue;
        }
        if (w > room) {
            rc = sg_promql__too_many_samples(ev);
            break;
        }
        result = p[hi - 1].v - p[lo].v;
        if (mk < st->nmarks) {
            const size_t *marks = st->marks;
            size_t nmarks = st->nmarks;
            while (mk < nmarks && marks[mk] < lo + 1)
                mk++;
            for (size_t j = mk; j < nmarks && marks[j] < hi; j++)
                result += p[marks[j] - 1].v;
        }
        if (rn == 0)
            rfirst = k;
        rlast = k;
        rn++;
        rv[k] = rate_value(st, ev, p + lo, w, result, mint, maxt, range, counter, is_rate);
        rh[k] = 1;
    }
done:
    row->n = rn;
    row->first = rfirst;
    row->last = rlast;
    *held = w;
    *maxw = wmax;
    return rc;
}

/* Any range function without further arguments at every step of a range
 * evaluation without @ (windows [maxt - range, maxt], or (maxt - range,
 * maxt] with left_open), over the samples p[0..n) (stale markers removed)
 * prepared with sg_promql__rstate_series: eval.c's step loop without its
 * general cases. */
int sg_promql__window_rows(struct ev_enh *enh, struct ev_rstate *st, int64_t maxt0,
                           int64_t offset, int64_t interval, int64_t range, size_t steps,
                           bool left_open, size_t room, struct ev_row *row, size_t *held)
{
    const struct sg_sample *p = st->p;
    size_t n = st->n, lo = 0, hi = 0, w = 0;
    int64_t maxt = maxt0;
    double sc[8] = {0};

    for (size_t k = 0; k < steps; k++, maxt += interval) {
        int64_t mint = maxt - range;
        double v;
        bool has = false;
        int rc;

        slide(p, n, mint, maxt, left_open, &lo, &hi);
        w = hi - lo;
        if (w == 0)
            continue;
        if (w > room) {
            *held = w;
            return sg_promql__too_many_samples(enh->ev);
        }
        enh->ts = maxt + offset;
        rc = sg_promql__rstate_step(enh, st, lo, hi, sc, mint, maxt, range, &v, &has);
        if (rc != SG_OK)
            return rc;
        if (has)
            sg_promql__row_put(row, k, v);
    }
    *held = w;
    return SG_OK;
}

int sg_promql__rstate_reserve(struct ev *ev, struct ev_rstate *st, size_t n)
{
    if (st->mcap < n) {
        size_t *nm = sg_reallocarray(st->marks, n, sizeof(*nm));
        if (!nm)
            return oom(ev);
        st->marks = nm;
        st->mcap = n;
    }
    return SG_OK;
}

void sg_promql__rstate_free(struct ev_rstate *st)
{
    sg_free(st->marks);
    sg_free(st->memo);
    memset(st, 0, sizeof(*st));
}

/* ---- absent ------------------------------------------------------------------------- */

int sg_promql__absent_labels(struct ev *ev, const struct sg_node *arg, struct sg_labels *out)
{
    struct sg_labels_builder b;
    struct sg_str *seen;
    size_t nseen = 0;

    while (arg && arg->kind == SG_N_PAREN)
        arg = arg->u.paren.expr;
    out->v = NULL;
    out->count = 0;
    if (!arg || (arg->kind != SG_N_SELECTOR && arg->kind != SG_N_RANGE))
        return SG_OK;
    seen = sg_arena_alloc_array(ev->arena, arg->u.sel.nmatchers + 1, sizeof(*seen));
    if (!seen)
        return oom(ev);
    sg_labels_builder_init(&b, ev->arena, NULL);
    for (size_t i = 0; i < arg->u.sel.nmatchers; i++) {
        const struct sg_matcher *m = &arg->u.sel.matchers[i];
        bool has = false;
        if (sg_str_eq_c(m->name, SG_METRIC_NAME))
            continue;
        for (size_t k = 0; k < nseen; k++)
            if (sg_str_eq(seen[k], m->name))
                has = true;
        if (m->type == SG_MATCH_EQ && !has) {
            sg_labels_builder_set(&b, m->name, m->value);
            seen[nseen++] = m->name;
        } else {
            sg_labels_builder_del(&b, m->name);
        }
    }
    if (sg_labels_builder_finish(&b, out) != SG_OK)
        return oom(ev);
    return SG_OK;
}

/* ---- dates (Go's time package, UTC) ---------------------------------------------------- */

#define SEC_PER_DAY   INT64_C(86400)
#define DAYS_400Y     (365 * 400 + 97)
#define DAYS_100Y     (365 * 100 + 24)
#define DAYS_4Y       (365 * 4 + 1)
#define ABS_ZERO_YEAR INT64_C(-292277022399)
/* unix seconds -> Go's "absolute" seconds: unixToInternal + internalToAbsolute */
#define UNIX_TO_ABS   UINT64_C(9223372028715321600)

static const int days_before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};

static bool is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

struct civil {
    int64_t year;
    int month, day, yday, wday, hour, minute;
};

static int64_t go_int64(double v)
{
    /* amd64 CVTTSD2SQ: NaN and out-of-range give the minimum int64 */
    if (isnan(v) || v >= 9223372036854775808.0 || v < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

static void civil_from_unix(int64_t unix_sec, struct civil *c)
{
    uint64_t abs = (uint64_t)unix_sec + UNIX_TO_ABS;
    uint64_t d = abs / (uint64_t)SEC_PER_DAY, n, y;
    int day;

    n = d / DAYS_400Y;
    y = 400 * n;
    d -= DAYS_400Y * n;
    n = d / DAYS_100Y;
    n -= n >> 2;
    y += 100 * n;
    d -= DAYS_100Y * n;
    n = d / DAYS_4Y;
    y += 4 * n;
    d -= DAYS_4Y * n;
    n = d / 365;
    n -= n >> 2;
    y += n;
    d -= 365 * n;
    c->year = (int64_t)y + ABS_ZERO_YEAR;
    c->yday = (int)d;
    day = c->yday;
    c->month = -1;
    if (is_leap(c->year)) {
        if (day > 31 + 29 - 1) {
            day--;
        } else if (day == 31 + 29 - 1) {
            c->month = 2;
            c->day = 29;
        }
    }
    if (c->month < 0) {
        int m = day / 31, end = days_before[m + 1], begin;
        if (day >= end) {
            m++;
            begin = end;
        } else {
            begin = days_before[m];
        }
        c->month = m + 1;
        c->day = day - begin + 1;
    }
    /* January 1 of absolute year 0 was a Monday */
    c->wday = (int)(((abs + 1 * (uint64_t)SEC_PER_DAY) % (7 * (uint64_t)SEC_PER_DAY)) /
                    (uint64_t)SEC_PER_DAY);
    c->hour = (int)((abs % (uint64_t)SEC_PER_DAY) / 3600);
    c->minute = (int)((abs % 3600) / 60);
}

static double date_value(enum ev_func_id id, const struct civil *c)
{
    switch (id) {
    case F_DAYS_IN_MONTH: {
        static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int d = dim[c->month - 1];
        if (c->month == 2 && is_leap(c->year))
            d = 29;
        return d;
    }
    case F_DAY_OF_MONTH:
        return c->day;
    case F_DAY_OF_WEEK:
        return c->wday;
    case F_DAY_OF_YEAR:
        return c->yday + 1;
    case F_HOUR:
        return c->hour;
    case F_MINUTE:
        return c->minute;
    case F_MONTH:
        return c->month;
    default:
        return (double)c->year;
    }
}

/* ---- label_replace expansion (Go's Regexp.Expand) --------------------------------------- */

static bool name_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

static int expand(struct sg_buf *dst, struct sg_str tmpl, struct sg_str src, const int64_t *groups,
                  size_t ngroups, const struct sg_regex *re)
{
    size_t i = 0;
    int rc = SG_OK;

    while (rc == SG_OK && i < tmpl.len) {
        const char *dollar = memchr(tmpl.ptr + i, '$', tmpl.len - i);
        size_t j, start, nlen;
        bool brace = false;
        long num = 0;

        if (!dollar) {
            rc = sg_buf_append(dst, tmpl.ptr + i, tmpl.len - i);
            break;
        }
        j = (size_t)(dollar - tmpl.ptr);
        rc = sg_buf_append(dst, tmpl.ptr + i, j - i);
        i = j + 1;
        if (rc != SG_OK)
            break;
        if (i < tmpl.len && tmpl.ptr[i] == '$') {
            rc = sg_buf_putc(dst, '$');
            i++;
            continue;
        }
        start = i;
        if (start < tmpl.len && tmpl.ptr[start] == '{') {
            brace = true;
            start++;
        }
        j = start;
        while (j < tmpl.len && name_byte((unsigned char)tmpl.ptr[j]))
            j++;
        nlen = j - start;
        if (nlen == 0 || (brace && (j >= tmpl.len || tmpl.ptr[j] != '}'))) {
            rc = sg_buf_putc(dst, '$'); /* malformed: the $ is literal */
            continue;
        }
        i = brace ? j + 1 : j;
        for (size_t k = 0; k < nlen; k++) {
            char ch = tmpl.ptr[start + k];
            if (ch < '0' || ch > '9' || num >= 100000000) {
                num = -1;
                break;
            }
            num = num * 10 + (ch - '0');
        }
        if (tmpl.ptr[start] == '0' && nlen > 1)
            num = -1;
        if (num < 0)
            num = sg_regex_group_index(re, sg_str_make(tmpl.ptr + start, nlen));
        if (num >= 0 && (size_t)num < ngroups && groups[2 * num] >= 0)
            rc = sg_buf_append(dst, src.ptr + groups[2 * num],
                               (size_t)(groups[2 * num + 1] - groups[2 * num]));
    }
    return rc;
}

/* ---- histogram_quantile ------------------------------------------------------------------ */

struct bucket {
    double upper, count;
};

static bool less_bucket(void *ctx, size_t i, size_t j)
{
    struct bucket *b = ctx;
    return b[i].upper < b[j].upper;
}

static void swap_bucket(void *ctx, size_t i, size_t j)
{
    struct bucket *b = ctx, t = b[i];
    b[i] = b[j];
    b[j] = t;
}

static double bucket_quantile(double q, struct bucket *b, size_t n)
{
    size_t k = 0, lo, hi;
    double obs, rank, start = 0, end, count;

    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    sg_promql__go_sort(b, n, less_bucket, swap_bucket);
    if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0))
        return NAN;
    /* merge equal bounds */
    for (size_t i = 1; i < n; i++) {
        if (b[i].upper == b[k].upper)
            b[k].count += b[i].count;
        else
            b[++k] = b[i];
    }
    n = k + 1;
    /* monotonic counts */
    {
        double max = b[0].count;
        for (size_t i = 1; i < n; i++) {
            if (b[i].count > max)
                max = b[i].count;
            else if (b[i].count < max)
                b[i].count = max;
        }
    }
    if (n < 2)
        return NAN;
    obs = b[n - 1].count;
    if (obs == 0)
        return NAN;
    rank = q * obs;
    lo = 0;
    hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (!(b[mid].count >= rank))
            lo = mid + 1;
        else
            hi = mid;
    }
    k = lo;
    if (k == n - 1)
        return b[n - 2].upper;
    if (k == 0 && b[0].upper <= 0)
        return b[0].upper;
    end = b[k].upper;
    count = b[k].count;
    if (k > 0) {
        start = b[k - 1].upper;
        count -= b[k - 1].count;
        rank -= b[k - 1].count;
    }
    return start + (end - start) * (rank / count);
}

struct hq_group {
    uint64_t sig;
    struct sg_labels labels;
    uint64_t hash;
    struct bucket *b;
    size_t n, cap;
};

/* `le` values already parsed: a range evaluation meets the same few
 * bucket bounds at every step, and parsing them is a float parse each. */
#define LE_SLOTS 64 /* a power of two */
struct le_slot {
    char s[24];
    uint8_t len; /* 0: free */
    int rc;      /* sg_num_parse's answer */
    double v;
};

struct hq_state {
    struct hq_group *g;
    size_t n, cap;
    struct ev_map index;
    struct le_slot le[LE_SLOTS];
};

/* sg_num_parse of lv, remembered in st when it fits a slot. */
static int le_parse(struct hq_state *st, struct sg_str lv, double *out)
{
    struct le_slot *sl;
    uint32_t h = 2166136261u;
    int rc;

    if (lv.len == 0 || lv.len >= sizeof(sl->s))
        return sg_num_parse(lv, out);
    for (size_t i = 0; i < lv.len; i++)
        h = (h ^ (uint8_t)lv.ptr[i]) * 16777619u;
    sl = &st->le[h & (LE_SLOTS - 1)];
    if (sl->len == lv.len && memcmp(sl->s, lv.ptr, lv.len) == 0) {
        *out = sl->v;
        return sl->rc;
    }
    rc = sg_num_parse(lv, out);
    if (sl->len == 0) { /* first come keeps the slot */
        memcpy(sl->s, lv.ptr, lv.len);
        sl->len = (uint8_t)lv.len;
        sl->rc = rc;
        sl->v = rc == SG_OK ? *out : 0;
    }
    return rc;
}

static void hq_free(void *p)
{
    struct hq_state *st = p;

    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        sg_free(st->g[i].b);
    sg_free(st->g);
    sg_promql__map_free(&st->index);
    sg_free(st);
}

static int histogram_quantile(struct ev_enh *enh, double q, const struct ev_vector *in,
                              struct ev_vector *out)
{
    static const struct sg_str le = {"le", 2};
    struct ev *ev = enh->ev;
    struct hq_state *st = enh->scratch;

    if (!st) {
        st = sg_calloc(1, sizeof(*st));
        if (!st)
            return oom(ev);
        enh->scratch = st;
        enh->scratch_free = hq_free;
    }
    for (size_t i = 0; i < st->n; i++)
        st->g[i].n = 0;
    for (size_t i = 0; i < in->n; i++) {
        const struct ev_sample *s = &in->s[i];
        struct sg_str lv = sg_labels_get(&s->labels, le);
        uint64_t sig;
        uint32_t gi;
        struct hq_group *g;
        double upper;

        if (le_parse(st, lv, &upper) != SG_OK)
            continue;
        sig = sg_labels_hash_without(&s->labels, &le, 1, false);
        gi = sg_promql__map_get(&st->index, sig);
        if (gi == UINT32_MAX) {
            struct sg_labels_builder b;
            if (st->n == st->cap) {
                size_t ncap = st->cap ? st->cap * 2 : 8;
                struct hq_group *ng = sg_reallocarray(st->g, ncap, sizeof(*ng));
                if (!ng)
                    return oom(ev);
                st->g = ng;
                st->cap = ncap;
            }
            g = &st->g[st->n];
            memset(g, 0, sizeof(*g));
            g->sig = sig;
            sg_labels_builder_init(&b, ev->arena, &s->labels);
            sg_labels_builder_del(&b, sg_str_make(SG_METRIC_NAME, sizeof(SG_METRIC_NAME) - 1));
            sg_labels_builder_del(&b, le);
            if (sg_labels_builder_finish(&b, &g->labels) != SG_OK)
                return oom(ev);
            g->hash = sg_labels_hash(&g->labels);
            if (sg_promql__map_put(&st->index, sig, (uint32_t)st->n) != SG_OK)
                return oom(ev);
            gi = (uint32_t)st->n++;
        }
        g = &st->g[gi];
        if (g->n == g->cap) {
            size_t ncap = g->cap ? g->cap * 2 : 16;
            struct bucket *nb = sg_reallocarray(g->b, ncap, sizeof(*nb));
            if (!nb)
                return oom(ev);
            g->b = nb;
            g->cap = ncap;
        }
        g->b[g->n].upper = upper;
        g->b[g->n].count = s->v;
        g->n++;
    }
    for (size_t i = 0; i < st->n; i++) {
        struct hq_group *g = &st->g[i];
        struct ev_sample o = {0};
        if (g->n == 0)
            continue;
        o.labels = g->labels;
        o.hash = g->hash;
        o.v = bucket_quantile(q, g->b, g->n);
        o.t = enh->ts;
        if (sg_promql__vec_push(out, &o) != SG_OK)
            return oom(ev);
    }
    return SG_OK;
}

/* ---- label_replace / label_join ------------------------------------------------------------ */

struct lr_state {
    struct sg_regex *re;
    struct ev_map cache; /* input label hash -> index */
    struct sg_labels *ls;
    uint64_t *hash;
    size_t n, cap;
};

static void lr_free(void *p)
{
    struct lr_state *st = p;

    if (!st)
        return;
    sg_promql__map_free(&st->cache);
    sg_free(st->ls);
    sg_free(st->hash);
    sg_free(st);
}

static struct sg_str string_arg(const struct sg_node *n, size_t i)
{
    const struct sg_node *a = n->u.call.args[i];

    while (a->kind == SG_N_PAREN)
        a = a->u.paren.expr;
    return a->kind == SG_N_STRING ? a->u.string : sg_str_make("", 0);
}

static int lr_remember(struct ev *ev, struct lr_state *st, uint64_t in_hash,
                       const struct sg_labels *ls, uint64_t *out_hash)
{
    if (st->n == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 16;
        struct sg_labels *nl = sg_reallocarray(st->ls, ncap, sizeof(*nl));
        uint64_t *nh;
        if (!nl)
            return oom(ev);
        st->ls = nl;
        nh = sg_reallocarray(st->hash, ncap, sizeof(*nh));
        if (!nh)
            return oom(ev);
        st->hash = nh;
        st->cap = ncap;
    }
    st->ls[st->n] = *ls;
    st->hash[st->n] = *out_hash = sg_labels_hash(ls);
    if (sg_promql__map_put(&st->cache, in_hash, (uint32_t)st->n) != SG_OK)
        return oom(ev);
    st->n++;
    return SG_OK;
}

/* The new value of the destination label of one series, into buf; *keep
 * when its labels stay as they are. */
typedef int (*relabel_value_fn)(struct ev_enh *enh, const struct ev_sample *s, struct sg_buf *buf,
                                bool *keep);

/* What label_replace and label_join share: per series, the labels with dst
 * set to the value (removed when it is empty), worked out once per input
 * label set and remembered in the state. */
static int relabel(struct ev_enh *enh, const struct ev_vector *in, struct ev_vector *out,
                   struct sg_str dst, relabel_value_fn value)
{
    struct ev *ev = enh->ev;
    struct lr_state *st = enh->scratch;
    struct sg_buf buf;
    int rc = SG_OK;

    sg_buf_init(&buf, 1 << 24);
    for (size_t i = 0; rc == SG_OK && i < in->n; i++) {
        const struct ev_sample *s = &in->s[i];
        struct ev_sample o = *s;
        uint32_t ci = sg_promql__map_get(&st->cache, s->hash);
        bool keep = false;

        if (ci != UINT32_MAX) {
            o.labels = st->ls[ci];
            o.hash = st->hash[ci];
        } else {
            sg_buf_reset(&buf);
            rc = value(enh, s, &buf, &keep);
            if (rc == SG_OK && keep) {
                rc = lr_remember(ev, st, s->hash, &s->labels, &o.hash);
            } else if (rc == SG_OK) {
                struct sg_labels_builder b;
                struct sg_str val;
                rc = sg_arena_str(ev->arena, sg_buf_view(&buf), &val);
                if (rc == SG_OK) {
                    sg_labels_builder_init(&b, ev->arena, &s->labels);
                    sg_labels_builder_set(&b, dst, val);
                    rc = sg_labels_builder_finish(&b, &o.labels);
                }
                if (rc == SG_OK)
                    rc = lr_remember(ev, st, s->hash, &o.labels, &o.hash);
                else
                    rc = oom(ev);
            }
        }
        if (rc == SG_OK && sg_promql__vec_push(out, &o) != SG_OK)
            rc = oom(ev);
    }
    sg_buf_cleanup(&buf);
    return rc;
}

/* The per-call state, made on the first step. */
static struct lr_state *lr_state(struct ev_enh *enh)
{
    if (!enh->scratch) {
        struct lr_state *st = sg_calloc(1, sizeof(*st));
        if (!st)
            return NULL;
        enh->scratch = st;
        enh->scratch_free = lr_free;
    }
    return enh->scratch;
}

static int label_replace_value(struct ev_enh *enh, const struct ev_sample *s, struct sg_buf *buf,
                               bool *keep)
{
    struct lr_state *st = enh->scratch;
    struct sg_str repl = string_arg(enh->node, 2), src = string_arg(enh->node, 3);
    struct sg_str sv = sg_labels_get(&s->labels, src);
    int64_t groups[2 * 64];
    size_t ngroups = 0;
    int m = sg_regex_match_groups(st->re, sv, groups, 64, &ngroups, enh->ev->err);

    if (m < 0)
        return m;
    if (m == 0) {
        *keep = true;
        return SG_OK;
    }
    if (expand(buf, repl, sv, groups, ngroups < 64 ? ngroups : 64, st->re) != SG_OK)
        return oom(enh->ev);
    return SG_OK;
}

static int label_replace(struct ev_enh *enh, const struct ev_vector *in, struct ev_vector *out)
{
    struct ev *ev = enh->ev;
    struct lr_state *st = enh->scratch;
    struct sg_str dst = string_arg(enh->node, 1), regex = string_arg(enh->node, 4);

    if (!st) {
        struct sg_err rerr;
        struct sg_regex_opts ro = {0};
        st = lr_state(enh);
        if (!st)
            return oom(ev);
        sg_err_clear(&rerr);
        ro.dot_matches_newline = ev->compat && ev->compat->regex_dot_all;
        /* 2.42 compiles "^(?:" + regex + ")$" and nothing else, so a
         * pattern that is only valid once wrapped (`a)(b`) is accepted */
        ro.wrapped_only = true;
        if (sg_regex_compile_in(ev->arena, regex, &ro, &st->re, &rerr) != SG_OK)
            return sg_promql__fail(ev, SG_EEVAL,
                                   "invalid regular expression in label_replace(): %.*s",
                                   (int)regex.len, regex.ptr);
        if (!sg_label_name_valid(dst))
            return sg_promql__fail(ev, SG_EEVAL,
                                   "invalid destination label name in label_replace(): %.*s",
                                   (int)dst.len, dst.ptr);
    }
    return relabel(enh, in, out, dst, label_replace_value);
}

static int label_join_value(struct ev_enh *enh, const struct ev_sample *s, struct sg_buf *buf,
                            bool *keep)
{
    const struct sg_node *n = enh->node;
    struct sg_str sep = string_arg(n, 2);
    int rc = SG_OK;

    (void)keep; /* label_join always sets the label */

    for (size_t k = 3; rc == SG_OK && k < n->u.call.nargs; k++) {
        if (k > 3)
            rc = sg_buf_append_str(buf, sep);
        if (rc == SG_OK)
            rc = sg_buf_append_str(buf, sg_labels_get(&s->labels, string_arg(n, k)));
    }
    return rc == SG_OK ? SG_OK : oom(enh->ev);
}

static int label_join(struct ev_enh *enh, const struct ev_vector *in, struct ev_vector *out)
{
    struct ev *ev = enh->ev;
    const struct sg_node *n = enh->node;
    struct sg_str dst = string_arg(n, 1);

    if (!lr_state(enh))
        return oom(ev);
    for (size_t k = 3; k < n->u.call.nargs; k++) {
        struct sg_str s = string_arg(n, k);
        if (!sg_label_name_valid(s))
            return sg_promql__fail(ev, SG_EEVAL,
                                   "invalid source label name in label_join(): %.*s", (int)s.len,
                                   s.ptr);
    }
    if (!sg_label_name_valid(dst))
        return sg_promql__fail(ev, SG_EEVAL,
                               "invalid destination label name in label_join(): %.*s",
                               (int)dst.len, dst.ptr);
    return relabel(enh, in, out, dst, label_join_value);
}

/* ---- sort ------------------------------------------------------------------------------- */

/* sort(): sort.Sort(sort.Reverse(vectorByReverseValueHeap)), so
 * less(i, j) = NaN(v[j]) || v[j] > v[i]; sort_desc() mirrors it. */
static bool less_sort_asc(void *ctx, size_t i, size_t j)
{
    struct ev_sample *s = ctx;
    if (isnan(s[j].v))
        return true;
    return s[j].v > s[i].v;
}

static bool less_sort_desc(void *ctx, size_t i, size_t j)
{
    struct ev_sample *s = ctx;
    if (isnan(s[j].v))
        return true;
    return s[j].v < s[i].v;
}

static void swap_samples(void *ctx, size_t i, size_t j)
{
    struct ev_sample *s = ctx, t = s[i];
    s[i] = s[j];
    s[j] = t;
}

/* ---- the step function ---------------------------------------------------------------- */

static double simple(enum ev_func_id id, double v)
{
    switch (id) {
    case F_ABS: return fabs(v);
    case F_CEIL: return ceil(v);
    case F_FLOOR: return floor(v);
    case F_EXP: return sg_promql__go_exp(v);
    case F_SQRT: return sqrt(v);
    case F_LN: return sg_promql__go_log(v);
    case F_LOG2: return sg_promql__go_log2(v);
    case F_LOG10: return sg_promql__go_log10(v);
    case F_SIN: return sg_promql__go_sin(v);
    case F_COS: return sg_promql__go_cos(v);
    case F_TAN: return sg_promql__go_tan(v);
    case F_ASIN: return sg_promql__go_asin(v);
    case F_ACOS: return sg_promql__go_acos(v);
    case F_ATAN: return sg_promql__go_atan(v);
    case F_SINH: return sg_promql__go_sinh(v);
    case F_COSH: return sg_promql__go_cosh(v);
    case F_TANH: return sg_promql__go_tanh(v);
    case F_ASINH: return sg_promql__go_asinh(v);
    case F_ACOSH: return sg_promql__go_acosh(v);
    case F_ATANH: return sg_promql__go_atanh(v);
    case F_RAD: return v * GO_PI / 180;
    case F_DEG: return v * 180 / GO_PI;
    case F_SGN: return v < 0 ? -1 : v > 0 ? 1 : v;
    default: return v;
    }
}

static int push_plain(struct ev_enh *enh, struct ev_vector *out, double v)
{
    struct ev_sample o = {0};

    o.v = v;
    o.t = enh->ts;
    o.hash = sg_labels_hash(&o.labels);
    if (sg_promql__vec_push(out, &o) != SG_OK)
        return oom(enh->ev);
    return SG_OK;
}

/* Apply f to every element, dropping the metric name. */
static int map_values(struct ev_enh *enh, const struct ev_vector *in, struct ev_vector *out,
                      enum ev_func_id id, double a, double b)
{
    for (size_t i = 0; i < in->n; i++) {
        const struct ev_sample *s = &in->s[i];
        struct ev_sample o = *s;
        double v = s->v;

        if (sg_promql__drop_name(enh, &s->labels, s->hash, &o.labels, &o.hash) != SG_OK)
            return oom(enh->ev);
        switch (id) {
        case F_CLAMP:
            v = sg_promql__go_max(a, sg_promql__go_min(b, v));
            break;
        case F_CLAMP_MAX:
            v = sg_promql__go_min(a, v);
            break;
        case F_CLAMP_MIN:
            v = sg_promql__go_max(a, v);
            break;
        case F_ROUND:
            v = floor(v * a + 0.5) / a;
            break;
        case F_TIMESTAMP:
            v = (double)s->t / 1000;
            break;
        case F_DAYS_IN_MONTH: case F_DAY_OF_MONTH: case F_DAY_OF_WEEK: case F_DAY_OF_YEAR:
        case F_HOUR: case F_MINUTE: case F_MONTH: case F_YEAR: {
            struct civil c;
            civil_from_unix(go_int64(v), &c);
            v = date_value(id, &c);
            break;
        }
        default:
            v = simple(id, v);
            break;
        }
        o.v = v;
        if (sg_promql__vec_push(out, &o) != SG_OK)
            return oom(enh->ev);
    }
    return SG_OK;
}

int sg_promql__call_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                         struct ev_vector *out)
{
    enum ev_func_id id = sg_promql__func_id(enh->node->u.call.func);
    struct ev *ev = enh->ev;
    double a = 0, b = 0;

    switch (id) {
    case F_TIME:
        return push_plain(enh, out, (double)enh->ts / 1000);
    case F_PI:
        return push_plain(enh, out, GO_PI);
    case F_VECTOR:
        return push_plain(enh, out, args[0].n ? args[0].s[0].v : NAN);
    case F_SCALAR:
        return push_plain(enh, out, args[0].n == 1 ? args[0].s[0].v : NAN);
    case F_ABSENT: {
        struct ev_sample o = {0};
        if (args[0].n > 0)
            return SG_OK;
        if (sg_promql__absent_labels(ev, enh->node->u.call.args[0], &o.labels) != SG_OK)
            return oom(ev);
        o.hash = sg_labels_hash(&o.labels);
        o.v = 1;
        o.t = enh->ts;
        if (sg_promql__vec_push(out, &o) != SG_OK)
            return oom(ev);
        return SG_OK;
    }
    case F_SORT:
    case F_SORT_DESC:
        for (size_t i = 0; i < args[0].n; i++)
            if (sg_promql__vec_push(out, &args[0].s[i]) != SG_OK)
                return oom(ev);
        sg_promql__go_sort(out->s, out->n, id == F_SORT ? less_sort_asc : less_sort_desc,
                           swap_samples);
        return SG_OK;
    case F_CLAMP:
        a = args[1].n ? args[1].s[0].v : NAN;
        b = args[2].n ? args[2].s[0].v : NAN;
        if (b < a)
            return SG_OK;
        return map_values(enh, &args[0], out, id, a, b);
    case F_CLAMP_MAX:
    case F_CLAMP_MIN:
        a = args[1].n ? args[1].s[0].v : NAN;
        return map_values(enh, &args[0], out, id, a, 0);
    case F_ROUND:
        a = 1;
        if (nargs >= 2)
            a = args[1].n ? args[1].s[0].v : NAN;
        return map_values(enh, &args[0], out, id, 1.0 / a, 0);
    case F_DAYS_IN_MONTH: case F_DAY_OF_MONTH: case F_DAY_OF_WEEK: case F_DAY_OF_YEAR:
    case F_HOUR: case F_MINUTE: case F_MONTH: case F_YEAR:
        if (nargs == 0) {
            struct civil c;
            int64_t sec = enh->ts / 1000; /* Go: time.Unix(ts/1000, 0) truncates */
            civil_from_unix(sec, &c);
            return push_plain(enh, out, date_value(id, &c));
        }
        return map_values(enh, &args[0], out, id, 0, 0);
    case F_LABEL_REPLACE:
        return label_replace(enh, &args[0], out);
    case F_LABEL_JOIN:
        return label_join(enh, &args[0], out);
    case F_HISTOGRAM_QUANTILE:
        return histogram_quantile(enh, args[0].n ? args[0].s[0].v : NAN, &args[1], out);
    case F_HISTOGRAM_COUNT:
    case F_HISTOGRAM_SUM:
    case F_HISTOGRAM_FRACTION:
        return SG_OK; /* float samples are skipped */
    case F_UNKNOWN:
        return sg_promql__fail(ev, SG_EEVAL, "unknown function");
    default:
        return map_values(enh, &args[0], out, id, 0, 0);
    }
}
