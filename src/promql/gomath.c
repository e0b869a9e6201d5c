/* src/promql/gomath.c - the few numeric and sorting behaviours of Go that
 * PromQL results depend on.
 *
 * - Go's math.Pow is not C's pow: for an integral exponent it multiplies by
 *   repeated squaring of the mantissa (so 3^40 differs from the correctly
 *   rounded value), and for a fractional part it uses exp(yf * log(x)).
 *   go_pow follows that algorithm so integral powers match bit for bit;
 *   the fractional part goes through Go's Exp and Log (gomath_libm.c).
 * - math.Max/Min treat NaN and signed zeros their own way (Max(NaN, +Inf)
 *   is +Inf, Max(NaN, 1) is NaN); C's fmax/fmin ignore NaN.
 * - the elementary functions (Log, Exp, Log2, Log10, trigonometric and
 *   hyperbolic) are Go's own algorithms in gomath_libm.c;
 * - math.Mod is exact, like C's fmod, with the same special cases.
 * - sort.Sort: Go 1.19's pattern-defeating quicksort, step for step, since
 *   with Prometheus's "NaN is less" comparators the comparison sequence
 *   decides where NaNs land (quantile over NaN inputs).
 */
#include <math.h>
#include <stdint.h>

#include "promql/eval_int.h"

double sg_promql__go_mod(double x, double y)
{
    return fmod(x, y);
}

double sg_promql__go_max(double x, double y)
{
    if (isinf(x) && x > 0)
        return x;
    if (isinf(y) && y > 0)
        return y;
    if (isnan(x) || isnan(y))
        return NAN;
    if (x == 0 && x == y)
        return signbit(x) ? y : x;
    return x > y ? x : y;
}

double sg_promql__go_min(double x, double y)
{
    if (isinf(x) && x < 0)
        return x;
    if (isinf(y) && y < 0)
        return y;
    if (isnan(x) || isnan(y))
        return NAN;
    if (x == 0 && x == y)
        return signbit(x) ? x : y;
    return x < y ? x : y;
}

static bool is_odd_int(double x)
{
    double xi, xf;

    if (fabs(x) >= 9007199254740992.0) /* 2^53: every such double is even */
        return false;
    xf = modf(x, &xi);
    return xf == 0 && ((int64_t)xi & 1) == 1;
}

double sg_promql__go_pow(double x, double y)
{
    double yi, yf, a1, x1;
    int64_t ae, xe;
    int e;

    if (y == 0 || x == 1)
        return 1;
    if (y == 1)
        return x;
    if (isnan(x) || isnan(y))
        return NAN;
    if (x == 0) {
        if (y < 0) {
            if (signbit(x) && is_odd_int(y))
                return -INFINITY;
            return INFINITY;
        }
        if (signbit(x) && is_odd_int(y))
            return x;
        return 0;
    }
    if (isinf(y)) {
        if (x == -1)
            return 1;
        if ((fabs(x) < 1) == (y > 0))
            return 0;
        return INFINITY;
    }
    if (isinf(x)) {
        if (x < 0)
            return sg_promql__go_pow(1 / x, -y); /* Pow(-0, -y) */
        return y < 0 ? 0 : INFINITY;
    }
    if (y == 0.5)
        return sqrt(x);
    if (y == -0.5)
        return 1 / sqrt(x);

    yf = modf(fabs(y), &yi);
    if (yf != 0 && x < 0)
        return NAN;
    if (yi >= 9223372036854775808.0) {
        /* a huge even integer: overflow or underflow for all x but -1 */
        if (x == -1)
            return 1;
        if ((fabs(x) < 1) == (y > 0))
            return 0;
        return INFINITY;
    }
    a1 = 1.0;
    ae = 0;
    if (yf != 0) {
        if (yf > 0.5) {
            yf--;
            yi++;
        }
        a1 = sg_promql__go_exp(yf * sg_promql__go_log(x));
    }
    x1 = frexp(x, &e);
    xe = e;
    for (int64_t i = (int64_t)yi; i != 0; i >>= 1) {
        if (xe < -(1 << 12) || (1 << 12) < xe) {
            /* catastrophic overflow: the result is 0 or Inf */
            ae += xe;
            break;
        }
        if ((i & 1) == 1) {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe *= 2;
        if (x1 < .5) {
            x1 += x1;
            xe--;
        }
    }
    if (y < 0) {
        a1 = 1 / a1;
        ae = -ae;
    }
    if (ae > INT32_MAX)
        ae = INT32_MAX;
    if (ae < INT32_MIN)
        ae = INT32_MIN;
    return ldexp(a1, (int)ae);
}

/* ---- sort.Sort ---------------------------------------------------------------------
 * Go 1.19's sort.Sort (the version 2.42 was built with) is a pattern-
 * defeating quicksort with insertion sort below 13 elements and heapsort as
 * the fallback. With comparators that are not strict weak orders (NaN is
 * "less" than everything) the result depends on the exact sequence of
 * comparisons and swaps, so this follows the same algorithm step by step:
 * pivot choice (static, median of three, Tukey's ninther), the
 * already-sorted and reversed shortcuts, equal-element partitioning, and the
 * xorshift pattern breaking seeded with the length. */

struct gosort {
    void *ctx;
    bool (*less)(void *ctx, size_t i, size_t j);
    void (*swap)(void *ctx, size_t i, size_t j);
};

enum { HINT_UNKNOWN, HINT_INCREASING, HINT_DECREASING };

static bool gs_less(const struct gosort *g, size_t i, size_t j)
{
    return g->less(g->ctx, i, j);
}

static void gs_swap(const struct gosort *g, size_t i, size_t j)
{
    g->swap(g->ctx, i, j);
}

static void gs_insertion(const struct gosort *g, size_t a, size_t b)
{
    for (size_t i = a + 1; i < b; i++)
        for (size_t j = i; j > a && gs_less(g, j, j - 1); j--)
            gs_swap(g, j, j - 1);
}

static void gs_sift_down(const struct gosort *g, size_t lo, size_t hi, size_t first)
{
    size_t root = lo;

    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= hi)
            return;
        if (child + 1 < hi && gs_less(g, first + child, first + child + 1))
            child++;
        if (!gs_less(g, first + root, first + child))
            return;
        gs_swap(g, first + root, first + child);
        root = child;
    }
}

static void gs_heapsort(const struct gosort *g, size_t a, size_t b)
{
    size_t hi = b - a;

    for (size_t i = (hi - 1) / 2 + 1; i-- > 0;)
        gs_sift_down(g, i, hi, a);
    for (size_t i = hi; i-- > 0;) {
        gs_swap(g, a, a + i);
        gs_sift_down(g, 0, i, a);
    }
}

static unsigned bit_len(size_t n)
{
    unsigned k = 0;

    while (n) {
        k++;
        n >>= 1;
    }
    return k;
}

static void gs_break_patterns(const struct gosort *g, size_t a, size_t b)
{
    size_t len = b - a;
    uint64_t r = len;
    size_t mod;

    if (len < 8)
        return;
    mod = (size_t)1 << bit_len(len);
    for (size_t idx = a + (len / 4) * 2 - 1; idx <= a + (len / 4) * 2 + 1; idx++) {
        size_t other;
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        other = (size_t)r & (mod - 1);
        if (other >= len)
            other -= len;
        gs_swap(g, idx, a + other);
    }
}

static void gs_order2(const struct gosort *g, size_t *x, size_t *y, int *swaps)
{
    if (gs_less(g, *y, *x)) {
        size_t t = *x;
        (*swaps)++;
        *x = *y;
        *y = t;
    }
}

static size_t gs_median(const struct gosort *g, size_t a, size_t b, size_t c, int *swaps)
{
    gs_order2(g, &a, &b, swaps);
    gs_order2(g, &b, &c, swaps);
    gs_order2(g, &a, &b, swaps);
    return b;
}

static size_t gs_choose_pivot(const struct gosort *g, size_t a, size_t b, int *hint)
{
    size_t l = b - a, i = a + l / 4, j = a + l / 4 * 2, k = a + l / 4 * 3;
    int swaps = 0;

    if (l >= 8) {
        if (l >= 50) {
            i = gs_median(g, i - 1, i, i + 1, &swaps);
            j = gs_median(g, j - 1, j, j + 1, &swaps);
            k = gs_median(g, k - 1, k, k + 1, &swaps);
        }
        j = gs_median(g, i, j, k, &swaps);
    }
    *hint = swaps == 0 ? HINT_INCREASING : swaps == 12 ? HINT_DECREASING : HINT_UNKNOWN;
    return j;
}

static void gs_reverse(const struct gosort *g, size_t a, size_t b)
{
    for (size_t i = a, j = b - 1; i < j; i++, j--)
        gs_swap(g, i, j);
}

/* true when a..b ended up sorted after shifting at most five pairs */
static bool gs_partial_insertion(const struct gosort *g, size_t a, size_t b)
{
    size_t i = a + 1;

    for (int step = 0; step < 5; step++) {
        while (i < b && !gs_less(g, i, i - 1))
            i++;
        if (i == b)
            return true;
        if (b - a < 50)
            return false;
        gs_swap(g, i, i - 1);
        if (i - a >= 2) {
            for (size_t j = i - 1; j >= 1; j--) {
                if (!gs_less(g, j, j - 1))
                    break;
                gs_swap(g, j, j - 1);
            }
        }
        if (b - i >= 2) {
            for (size_t j = i + 1; j < b; j++) {
                if (!gs_less(g, j, j - 1))
                    break;
                gs_swap(g, j, j - 1);
            }
        }
    }
    return false;
}

/* indexes as signed: the scans can step j below a */
static size_t gs_partition(const struct gosort *g, size_t a, size_t b, size_t pivot, bool *already)
{
    ptrdiff_t i = (ptrdiff_t)a + 1, j = (ptrdiff_t)b - 1;

    gs_swap(g, a, pivot);
    while (i <= j && gs_less(g, (size_t)i, a))
        i++;
    while (i <= j && !gs_less(g, (size_t)j, a))
        j--;
    if (i > j) {
        gs_swap(g, (size_t)j, a);
        *already = true;
        return (size_t)j;
    }
    gs_swap(g, (size_t)i, (size_t)j);
    i++;
    j--;
    for (;;) {
        while (i <= j && gs_less(g, (size_t)i, a))
            i++;
        while (i <= j && !gs_less(g, (size_t)j, a))
            j--;
        if (i > j)
            break;
        gs_swap(g, (size_t)i, (size_t)j);
        i++;
        j--;
    }
    gs_swap(g, (size_t)j, a);
    *already = false;
    return (size_t)j;
}

static size_t gs_partition_equal(const struct gosort *g, size_t a, size_t b, size_t pivot)
{
    ptrdiff_t i = (ptrdiff_t)a + 1, j = (ptrdiff_t)b - 1;

    gs_swap(g, a, pivot);
    for (;;) {
        while (i <= j && !gs_less(g, a, (size_t)i))
            i++;
        while (i <= j && gs_less(g, a, (size_t)j))
            j--;
        if (i > j)
            break;
        gs_swap(g, (size_t)i, (size_t)j);
        i++;
        j--;
    }
    return (size_t)i;
}

static void gs_pdq(const struct gosort *g, size_t a, size_t b, unsigned limit)
{
    bool balanced = true, partitioned = true;

    for (;;) {
        size_t len = b - a, pivot, mid;
        int hint;
        bool already;

        if (len <= 12) {
            gs_insertion(g, a, b);
            return;
        }
        if (limit == 0) {
            gs_heapsort(g, a, b);
            return;
        }
        if (!balanced) {
            gs_break_patterns(g, a, b);
            limit--;
        }
        pivot = gs_choose_pivot(g, a, b, &hint);
        if (hint == HINT_DECREASING) {
            gs_reverse(g, a, b);
            pivot = (b - 1) - (pivot - a);
            hint = HINT_INCREASING;
        }
        if (balanced && partitioned && hint == HINT_INCREASING && gs_partial_insertion(g, a, b))
            return;
        if (a > 0 && !gs_less(g, a - 1, pivot)) {
            a = gs_partition_equal(g, a, b, pivot);
            continue;
        }
        mid = gs_partition(g, a, b, pivot, &already);
        partitioned = already;
        if (mid - a < b - mid) {
            balanced = mid - a >= len / 8;
            gs_pdq(g, a, mid, limit);
            a = mid + 1;
        } else {
            balanced = b - mid >= len / 8;
            gs_pdq(g, mid + 1, b, limit);
            b = mid;
        }
    }
}

void sg_promql__go_sort(void *ctx, size_t n, bool (*less)(void *ctx, size_t i, size_t j),
                        void (*swap)(void *ctx, size_t i, size_t j))
{
    struct gosort g = {ctx, less, swap};

    if (n <= 1)
        return;
    gs_pdq(&g, 0, n, bit_len(n));
}
