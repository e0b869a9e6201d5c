/* src/promql/gomath.c - the few numeric and sorting behaviours of Go that
 * PromQL results depend on.
 *
 * - Go's math.Pow is not C's pow: for an integral exponent it multiplies by
 *   repeated squaring of the mantissa (so 3^40 differs from the correctly
 *   rounded value), and for a fractional part it uses exp(yf * log(x)).
 *   go_pow follows that algorithm so integral powers match bit for bit;
 *   the fractional part goes through the C library's exp and log (a few
 *   ulp from Go's).
 * - math.Max/Min treat NaN and signed zeros their own way (Max(NaN, +Inf)
 *   is +Inf, Max(NaN, 1) is NaN); C's fmax/fmin ignore NaN.
 * - math.Log10(x) is Log(x) * (1/Ln10) and math.Log2 is built on Frexp
 *   and Log, so they are not C's log10/log2 (log10(20) differs in the last
 *   bit);
 * - math.Mod is exact, like C's fmod, with the same special cases.
 * - sort.Sort: insertion sort for up to 12 elements, the comparison order
 *   of which decides where NaNs land with Prometheus's "NaN is less"
 *   comparators; longer inputs are heap sorted (the position of equal or
 *   NaN elements may then differ from Go's pattern-defeating quicksort).
 */
#include <math.h>
#include <stdint.h>

#include "promql/eval_int.h"

/* math.Log10 and math.Log2 are formulas over math.Log */
double sg_promql__go_log10(double x)
{
    return log(x) * 0x1.bcb7b1526e50ep-2; /* 1/Ln10 rounded */
}

double sg_promql__go_log2(double x)
{
    int e;
    double frac = frexp(x, &e);

    if (frac == 0.5)
        return (double)(e - 1); /* exact powers of two */
    return log(frac) * 0x1.71547652b82fep+0 + (double)e; /* 1/Ln2 rounded */
}

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
        a1 = exp(yf * log(x));
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

/* ---- sort.Sort --------------------------------------------------------------------- */

static void sift_down(void *ctx, size_t lo, size_t hi, size_t first,
                      bool (*less)(void *, size_t, size_t), void (*swap)(void *, size_t, size_t))
{
    size_t root = lo;

    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= hi)
            return;
        if (child + 1 < hi && less(ctx, first + child, first + child + 1))
            child++;
        if (!less(ctx, first + root, first + child))
            return;
        swap(ctx, first + root, first + child);
        root = child;
    }
}

void sg_promql__go_sort(void *ctx, size_t n, bool (*less)(void *ctx, size_t i, size_t j),
                        void (*swap)(void *ctx, size_t i, size_t j))
{
    if (n <= 12) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && less(ctx, j, j - 1); j--)
                swap(ctx, j, j - 1);
        return;
    }
    for (size_t i = (n - 1) / 2 + 1; i-- > 0;)
        sift_down(ctx, i, n, 0, less, swap);
    for (size_t i = n; i-- > 0;) {
        swap(ctx, 0, i);
        sift_down(ctx, 0, i, 0, less, swap);
    }
}
