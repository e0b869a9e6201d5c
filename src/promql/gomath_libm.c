/* src/promql/gomath_libm.c - the elementary functions of Go's math package
 * as Prometheus 2.42 (built with Go 1.19 for amd64) computes them.
 *
 * PromQL's ln, log2, log10, exp, the trigonometric and hyperbolic
 * functions, atan2 and the fractional part of ^ come straight from Go's
 * math package, whose results differ from the C library's in the last bit
 * for many arguments (ln(3), sin(2), acos(0.3), exp(0.7), ...). A test that
 * compares values exactly (promtool) or an alert at a threshold then gives a
 * different answer. These functions reproduce Go's algorithms operation by
 * operation, so the results are the same bits:
 *
 * - Log and Exp are assembly on amd64: Log is the FreeBSD reduction with a
 *   degree-14 polynomial and no special handling of subnormal inputs; Exp
 *   is a Taylor series after reduction by ln2/16, with fused multiply-adds
 *   when the CPU has AVX2 and FMA (as Go decides at start-up), and a
 *   subnormal result scaled in two steps.
 * - Sin, Cos, Tan are Cephes polynomials after reduction by pi/4 in three
 *   parts, with Payne-Hanek reduction from 2^29 on; Atan, Asin, Acos are
 *   Cephes' atan with Go's range reductions; Atan2 is Go's quadrant logic.
 * - Sinh, Cosh, Tanh are built on Exp; Asinh, Acosh, Atanh on Log, Log1p
 *   and Sqrt (FreeBSD); Log1p is FreeBSD's; Log10 is Log times 1/Ln10 and
 *   Log2 is Frexp + Log.
 *
 * Every constant is written in hexadecimal so that no decimal conversion
 * can change a bit. Sqrt is the correctly rounded hardware square root in
 * both languages. Nothing here allocates or fails.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "promql/eval_int.h"

static uint64_t bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof(v));
    return v;
}

#define GO_PI_2 0x1.921fb54442d18p+0  /* Pi/2 */
#define GO_PI_4 0x1.921fb54442d18p-1  /* Pi/4 */
#define GO_PI   0x1.921fb54442d18p+1  /* Pi */
#define GO_3PI4 0x1.2d97c7f3321d2p+1  /* 3*Pi/4, rounded once */
#define GO_4PI  0x1.45f306dc9c883p+0  /* 4/Pi */
#define GO_NAN  0x7FF8000000000001ULL /* math.NaN() */

/* ---- Log ------------------------------------------------------------------------------ */

double sg_promql__go_log(double x)
{
    static const double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    static const double l1 = 0x1.5555555555593p-1, l2 = 0x1.999999997fa04p-2,
                        l3 = 0x1.2492494229359p-2, l4 = 0x1.c71c51d8e78afp-3,
                        l5 = 0x1.7466496cb03dep-3, l6 = 0x1.39a09d078c69fp-3,
                        l7 = 0x1.2f112df3e5244p-3;
    uint64_t b = bits_of(x);
    double f1, k, f, s, s2, s4, t1, t2, r, hfsq;

    if ((b & ~(1ULL << 63)) == 0)
        return -INFINITY; /* ±0 */
    if (b >> 63)
        return from_bits(GO_NAN); /* negative, -Inf and negative NaNs */
    if (b >= 0x7FF0000000000000ULL)
        return x; /* +Inf, NaN */
    /* the exponent bits as they are (a subnormal is not normalised) */
    f1 = from_bits((b & 0x000FFFFFFFFFFFFFULL) | 0x3FE0000000000000ULL);
    k = (double)((int)((b >> 52) & 0x7FF) - 0x3FE);
    if (f1 < 0x1.6a09e667f3bcdp-1) { /* Sqrt2/2 */
        k -= 1;
        f1 *= 2;
    }
    f = f1 - 1;
    s = f / (2 + f);
    s2 = s * s;
    s4 = s2 * s2;
    t1 = s2 * (l1 + s4 * (l3 + s4 * (l5 + s4 * l7)));
    t2 = s4 * (l2 + s4 * (l4 + s4 * l6));
    r = t1 + t2;
    hfsq = 0.5 * f * f;
    return k * ln2_hi - ((hfsq - (s * (hfsq + r) + k * ln2_lo)) - f);
}

/* ---- Exp ------------------------------------------------------------------------------- */

/* Go uses fused multiply-adds in Exp when the CPU has AVX2 and FMA. */
static bool exp_use_fma(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached == 1;
#else
    return true;
#endif
}

/* CVTSD2SL: round to nearest even, out of range gives INT32_MIN. */
static int32_t cvtsd2sl(double v)
{
    double r = nearbyint(v);
    if (!(r >= -2147483648.0 && r <= 2147483647.0))
        return INT32_MIN;
    return (int32_t)r;
}

double sg_promql__go_exp(double x)
{
    static const double ln2u = 0x1.62e42fefa3000p-1, ln2l = 0x1.3de6af278ece6p-42;
    static const double log2e = 0x1.71547652b82fep+0, overflow = 0x1.62e42fefa39efp+9;
    static const double c[] = {0.5,
                               1.0,
                               2.0,
                               0x1.5555555555555p-3,
                               0x1.5555555555555p-5,
                               0x1.1111111111111p-7,
                               0x1.6c16c16c16c17p-10,
                               0x1.a01a01a01a01ap-13,
                               0x1.a01a01a01a01ap-16};
    uint64_t b = bits_of(x);
    double fk, r, p;
    int32_t k;
    int64_t e;

    if ((b & ~(1ULL << 63)) >= 0x7FF0000000000000ULL) {
        if (b == 0xFFF0000000000000ULL)
            return 0; /* -Inf */
        return x;     /* +Inf, NaN */
    }
    if (x > overflow)
        return INFINITY;
    k = cvtsd2sl(log2e * x);
    fk = (double)k;
    if (exp_use_fma()) {
        r = fma(-fk, ln2u, x);
        r = fma(-fk, ln2l, r);
        r *= 0.0625;
        p = c[8];
        p = fma(p, r, c[7]);
        p = fma(p, r, c[6]);
        p = fma(p, r, c[5]);
        p = fma(p, r, c[4]);
        p = fma(p, r, c[3]);
        p = fma(p, r, c[0]);
        p = fma(p, r, c[1]);
        r *= p;
        r *= r + c[2];
        r *= r + c[2];
        r *= r + c[2];
        r = fma(r, r + c[2], c[1]);
    } else {
        r = x - fk * ln2u;
        r = r - fk * ln2l;
        r *= 0.0625;
        p = c[8] * r + c[7];
        p = p * r + c[6];
        p = p * r + c[5];
        p = p * r + c[4];
        p = p * r + c[3];
        p = p * r + c[0];
        p = p * r + c[1];
        r *= p;
        r *= r + c[2];
        r *= r + c[2];
        r *= r + c[2];
        r *= r + c[2];
        r += c[1];
    }
    e = (int64_t)k + 0x3FF;
    if (e <= 0) {
        /* a subnormal result in two steps; below 2^-1074 nothing is left */
        if (e < -52)
            return 0;
        r *= from_bits((uint64_t)(e + 0x3FE) << 52);
        return r * from_bits(1ULL << 52);
    }
    if (e >= 0x7FF)
        return INFINITY;
    return r * from_bits((uint64_t)e << 52);
}

/* ---- Log1p, Log2, Log10 ------------------------------------------------------------- */

double sg_promql__go_log1p(double x)
{
    static const double sqrt2m1 = 0x1.a827999fcef32p-2, sqrt2halfm1 = -0x1.2bec333018867p-2;
    static const double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    static const double lp1 = 0x1.5555555555593p-1, lp2 = 0x1.999999997fa04p-2,
                        lp3 = 0x1.2492494229359p-2, lp4 = 0x1.c71c51d8e78afp-3,
                        lp5 = 0x1.7466496cb03dep-3, lp6 = 0x1.39a09d078c69fp-3,
                        lp7 = 0x1.2f112df3e5244p-3;
    double absx, f = 0, c = 0, u, hfsq, s, r, z;
    uint64_t iu = 0;
    int k = 1;

    if (x < -1 || isnan(x))
        return from_bits(GO_NAN);
    if (x == -1)
        return -INFINITY;
    if (isinf(x))
        return INFINITY;
    absx = fabs(x);
    if (absx < sqrt2m1) {
        if (absx < 0x1p-29) {
            if (absx < 0x1p-54)
                return x;
            return x - x * x * 0.5;
        }
        if (x > sqrt2halfm1) {
            k = 0;
            f = x;
            iu = 1;
        }
    }
    if (k != 0) {
        if (absx < 0x1p53) {
            u = 1.0 + x;
            iu = bits_of(u);
            k = (int)((iu >> 52) - 1023);
            c = k > 0 ? 1.0 - (u - x) : x - (u - 1.0);
            c /= u;
        } else {
            u = x;
            iu = bits_of(u);
            k = (int)((iu >> 52) - 1023);
            c = 0;
        }
        iu &= 0x000FFFFFFFFFFFFFULL;
        if (iu < 0x0006A09E667F3BCDULL) {
            u = from_bits(iu | 0x3FF0000000000000ULL);
        } else {
            k++;
            u = from_bits(iu | 0x3FE0000000000000ULL);
            iu = (0x0010000000000000ULL - iu) >> 2;
        }
        f = u - 1.0;
    }
    hfsq = 0.5 * f * f;
    if (iu == 0) {
        if (f == 0) {
            if (k == 0)
                return 0;
            c += (double)k * ln2_lo;
            return (double)k * ln2_hi + c;
        }
        r = hfsq * (1.0 - 0x1.5555555555555p-1 * f); /* 0.66666666666666666 */
        if (k == 0)
            return f - r;
        return (double)k * ln2_hi - ((r - ((double)k * ln2_lo + c)) - f);
    }
    s = f / (2.0 + f);
    z = s * s;
    r = z * (lp1 + z * (lp2 + z * (lp3 + z * (lp4 + z * (lp5 + z * (lp6 + z * lp7))))));
    if (k == 0)
        return f - (hfsq - s * (hfsq + r));
    return (double)k * ln2_hi - ((hfsq - (s * (hfsq + r) + ((double)k * ln2_lo + c))) - f);
}

double sg_promql__go_log2(double x)
{
    int e;
    double frac = frexp(x, &e);

    if (frac == 0.5)
        return (double)(e - 1);                                        /* exact powers of two */
    return sg_promql__go_log(frac) * 0x1.71547652b82fep+0 + (double)e; /* 1/Ln2 */
}

double sg_promql__go_log10(double x)
{
    return sg_promql__go_log(x) * 0x1.bcb7b1526e50ep-2; /* 1/Ln10 */
}

/* ---- Sin, Cos, Tan ------------------------------------------------------------------- */

#define REDUCE_THRESHOLD 0x1p29

/* bits.Mul64: the 128-bit product of a and b. */
static void mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t a0 = a & 0xFFFFFFFFULL, a1 = a >> 32, b0 = b & 0xFFFFFFFFULL, b1 = b >> 32;
    uint64_t w0 = a0 * b0, t = a1 * b0 + (w0 >> 32), w1 = (t & 0xFFFFFFFFULL) + a0 * b1;

    *hi = a1 * b1 + (t >> 32) + (w1 >> 32);
    *lo = a * b;
}

/* Payne-Hanek reduction of x >= 2^29 by Pi/4: the octant j and the
 * remainder in radians. */
static double trig_reduce(double x, uint64_t *j_out)
{
    /* the bits of 4/Pi, 64 at a time */
    static const uint64_t m4pi[] = {
        0x0000000000000001ULL, 0x45f306dc9c882a53ULL, 0xf84eafa3ea69bb81ULL, 0xb6c52b3278872083ULL,
        0xfca2c757bd778ac3ULL, 0x6e48dc74849ba5c0ULL, 0x0c925dd413a32439ULL, 0xfc3bd63962534e7dULL,
        0xd1046bea5d768909ULL, 0xd338e04d68befc82ULL, 0x7323ac7306a673e9ULL, 0x3908bf177bf25076ULL,
        0x3ff12fffbc0b301fULL, 0xde5e2316b414da3eULL, 0xda6cfd9e4f96136eULL, 0x9e8c7ecd3cbfd45aULL,
        0xea4f758fd7cbe2f6ULL, 0x7a0e73ef14a525d4ULL, 0xd7f6bf623f1aba10ULL, 0xac06608df8f6d757ULL,
    };
    uint64_t ix, z0, z1, z2, hi, lo, j, e;
    unsigned digit, shift, lz;
    int exp;

    if (x < GO_PI_4) {
        *j_out = 0;
        return x;
    }
    ix = bits_of(x);
    exp = (int)((ix >> 52) & 0x7FF) - 1023 - 52;
    ix &= ~(0x7FFULL << 52);
    ix |= 1ULL << 52;
    digit = (unsigned)(exp + 61) / 64;
    shift = (unsigned)(exp + 61) % 64;
    /* a shift by 64 is 0 in Go, undefined in C */
    z0 = (m4pi[digit] << shift) | (shift ? m4pi[digit + 1] >> (64 - shift) : 0);
    z1 = (m4pi[digit + 1] << shift) | (shift ? m4pi[digit + 2] >> (64 - shift) : 0);
    z2 = (m4pi[digit + 2] << shift) | (shift ? m4pi[digit + 3] >> (64 - shift) : 0);
    {
        uint64_t z2hi, z2lo, z1hi, z1lo, z0lo = z0 * ix, carry;
        mul64(z2, ix, &z2hi, &z2lo);
        mul64(z1, ix, &z1hi, &z1lo);
        (void)z2lo;
        lo = z1lo + z2hi;
        carry = lo < z1lo;
        hi = z0lo + z1hi + carry;
    }
    j = hi >> 61;
    hi = hi << 3 | lo >> 61;
    lz = hi ? (unsigned)__builtin_clzll(hi) : 64;
    e = (uint64_t)(1023 - (int)(lz + 1));
    /* shifts of 64 or more are 0, as in Go */
    hi = (lz + 1 < 64 ? hi << (lz + 1) : 0) | (lz + 1 <= 64 ? lo >> (64 - (lz + 1)) : 0);
    hi >>= 64 - 52;
    hi |= e << 52;
    {
        double z = from_bits(hi);
        if ((j & 1) == 1) {
            j++;
            j &= 7;
            z--;
        }
        *j_out = j;
        return z * GO_PI_4;
    }
}

static const double sin_c[] = {
    0x1.5d8fd1fd19ccdp-33,  -0x1.ae5e5a9291f5dp-26, 0x1.71de3567d48a1p-19,
    -0x1.a01a019bfdf03p-13, 0x1.111111110f7d0p-7,   -0x1.5555555555548p-3,
};
static const double cos_c[] = {
    -0x1.8fa49a0861a9bp-37, 0x1.1ee9d7b4e3f05p-29,  -0x1.27e4f7eac4bc6p-22,
    0x1.a01a019c844f5p-16,  -0x1.6c16c16c14f91p-10, 0x1.555555555554bp-5,
};
static const double pi4a = 0x1.921fb40000000p-1, pi4b = 0x1.4442d00000000p-25,
                    pi4c = 0x1.8469898cc5170p-49;

/* The octant and the reduced argument of x >= 0. */
static double reduce(double x, uint64_t *j)
{
    double y;

    if (x >= REDUCE_THRESHOLD)
        return trig_reduce(x, j);
    *j = (uint64_t)(x * GO_4PI);
    y = (double)*j;
    if ((*j & 1) == 1) {
        (*j)++;
        y++;
    }
    *j &= 7;
    return ((x - y * pi4a) - y * pi4b) - y * pi4c;
}

static double sin_poly(double z, double zz)
{
    return z +
           z * zz *
               ((((((sin_c[0] * zz) + sin_c[1]) * zz + sin_c[2]) * zz + sin_c[3]) * zz + sin_c[4]) *
                    zz +
                sin_c[5]);
}

static double cos_poly(double zz)
{
    return 1.0 - 0.5 * zz +
           zz * zz *
               ((((((cos_c[0] * zz) + cos_c[1]) * zz + cos_c[2]) * zz + cos_c[3]) * zz + cos_c[4]) *
                    zz +
                cos_c[5]);
}

double sg_promql__go_sin(double x)
{
    bool sign = false;
    uint64_t j;
    double z, zz, y;

    if (x == 0 || isnan(x))
        return x;
    if (isinf(x))
        return from_bits(GO_NAN);
    if (x < 0) {
        x = -x;
        sign = true;
    }
    z = reduce(x, &j);
    if (j > 3) {
        sign = !sign;
        j -= 4;
    }
    zz = z * z;
    y = (j == 1 || j == 2) ? cos_poly(zz) : sin_poly(z, zz);
    return sign ? -y : y;
}

double sg_promql__go_cos(double x)
{
    bool sign = false;
    uint64_t j;
    double z, zz, y;

    if (isnan(x) || isinf(x))
        return from_bits(GO_NAN);
    x = fabs(x);
    z = reduce(x, &j);
    if (j > 3) {
        j -= 4;
        sign = !sign;
    }
    if (j > 1)
        sign = !sign;
    zz = z * z;
    y = (j == 1 || j == 2) ? sin_poly(z, zz) : cos_poly(zz);
    return sign ? -y : y;
}

double sg_promql__go_tan(double x)
{
    static const double p[] = {-0x1.992d8d24f3f38p+13, 0x1.199eca5fc9dddp+20,
                               -0x1.11fead3299176p+24};
    static const double q[] = {1.0, 0x1.ab8a5eeb36572p+13, -0x1.427bc582abc96p+20,
                               0x1.7d98fc2ead8efp+24, -0x1.9afe03cbe5a31p+25};
    bool sign = false;
    uint64_t j;
    double z, zz, y;

    if (x == 0 || isnan(x))
        return x;
    if (isinf(x))
        return from_bits(GO_NAN);
    if (x < 0) {
        x = -x;
        sign = true;
    }
    if (x >= REDUCE_THRESHOLD) {
        z = trig_reduce(x, &j);
    } else {
        /* tan keeps the whole octant (no modulo 8) */
        j = (uint64_t)(x * GO_4PI);
        y = (double)j;
        if ((j & 1) == 1) {
            j++;
            y++;
        }
        z = ((x - y * pi4a) - y * pi4b) - y * pi4c;
    }
    zz = z * z;
    if (zz > 1e-14)
        y = z + z * (zz * (((p[0] * zz) + p[1]) * zz + p[2]) /
                     ((((zz + q[1]) * zz + q[2]) * zz + q[3]) * zz + q[4]));
    else
        y = z;
    if ((j & 2) == 2)
        y = -1 / y;
    return sign ? -y : y;
}

/* ---- Atan, Asin, Acos, Atan2 ----------------------------------------------------------- */

/* atan on [0, 0.66] */
static double xatan(double x)
{
    static const double p0 = -0x1.c007fa1f72594p-1, p1 = -0x1.028545b6b807ap+4,
                        p2 = -0x1.2c08c36880273p+6, p3 = -0x1.eb8bf2d05ba25p+6,
                        p4 = -0x1.03669fd28ec8ep+6, q0 = 0x1.8dbc45b14603cp+4,
                        q1 = 0x1.4a0dd43b8fa25p+7, q2 = 0x1.b0e18d2e2be3bp+8,
                        q3 = 0x1.e563f13b049eap+8, q4 = 0x1.8519efbbd62ecp+7;
    double z = x * x;

    z = z * ((((p0 * z + p1) * z + p2) * z + p3) * z + p4) /
        (((((z + q0) * z + q1) * z + q2) * z + q3) * z + q4);
    return x * z + x;
}

/* atan of x > 0, reduced to [0, 0.66] */
static double satan(double x)
{
    static const double morebits = 0x1.1a62633145c07p-54, tan3pio8 = 0x1.3504f333f9de6p+1;

    if (x <= 0.66)
        return xatan(x);
    if (x > tan3pio8)
        return GO_PI_2 - xatan(1 / x) + morebits;
    return GO_PI_4 + xatan((x - 1) / (x + 1)) + 0.5 * morebits;
}

double sg_promql__go_atan(double x)
{
    if (x == 0)
        return x;
    if (x > 0)
        return satan(x);
    return -satan(-x);
}

double sg_promql__go_asin(double x)
{
    bool sign = false;
    double temp;

    if (x == 0)
        return x;
    if (x < 0) {
        x = -x;
        sign = true;
    }
    if (x > 1)
        return from_bits(GO_NAN);
    temp = sqrt(1 - x * x);
    if (x > 0.7)
        temp = GO_PI_2 - satan(temp / x);
    else
        temp = satan(x / temp);
    return sign ? -temp : temp;
}

double sg_promql__go_acos(double x)
{
    return GO_PI_2 - sg_promql__go_asin(x);
}

double sg_promql__go_atan2(double y, double x)
{
    double q;

    if (isnan(y) || isnan(x))
        return from_bits(GO_NAN);
    if (y == 0) {
        if (x >= 0 && !signbit(x))
            return copysign(0, y);
        return copysign(GO_PI, y);
    }
    if (x == 0)
        return copysign(GO_PI_2, y);
    if (isinf(x)) {
        if (x > 0)
            return isinf(y) ? copysign(GO_PI_4, y) : copysign(0, y);
        return isinf(y) ? copysign(GO_3PI4, y) : copysign(GO_PI, y);
    }
    if (isinf(y))
        return copysign(GO_PI_2, y);
    q = sg_promql__go_atan(y / x);
    if (x < 0)
        return q <= 0 ? q + GO_PI : q - GO_PI;
    return q;
}

/* ---- Sinh, Cosh, Tanh, Asinh, Acosh, Atanh -------------------------------------------- */

double sg_promql__go_sinh(double x)
{
    static const double p0 = -0x1.33fdeba64bb4fp+19, p1 = -0x1.5f38b8605d22dp+16,
                        p2 = -0x1.69c6c36da2dfbp+11, p3 = -0x1.a4e3de8540779p+4,
                        q0 = -0x1.33fdeba64bb4fp+19, q1 = 0x1.db7963eae91e1p+13,
                        q2 = -0x1.5b5b9fcd003bbp+7;
    bool sign = false;
    double temp;

    if (x < 0) {
        x = -x;
        sign = true;
    }
    if (x > 21) {
        temp = sg_promql__go_exp(x) * 0.5;
    } else if (x > 0.5) {
        double ex = sg_promql__go_exp(x);
        temp = (ex - 1 / ex) * 0.5;
    } else {
        double sq = x * x;
        temp = (((p3 * sq + p2) * sq + p1) * sq + p0) * x;
        temp = temp / (((sq + q2) * sq + q1) * sq + q0);
    }
    return sign ? -temp : temp;
}

double sg_promql__go_cosh(double x)
{
    double ex;

    x = fabs(x);
    if (x > 21)
        return sg_promql__go_exp(x) * 0.5;
    ex = sg_promql__go_exp(x);
    return (ex + 1 / ex) * 0.5;
}

double sg_promql__go_tanh(double x)
{
    static const double p[] = {-0x1.edc5baafd6f4bp-1, -0x1.8d26a0e26682dp+6,
                               -0x1.93ac030580563p+10};
    static const double q[] = {0x1.c33f28a581b86p+6, 0x1.176fa0e5535fap+11, 0x1.2ec102442040cp+12};
    static const double maxlog = 0x1.601e678fc457bp+6; /* log(2**127) */
    double z = fabs(x), s;

    if (z > 0.5 * maxlog)
        return x < 0 ? -1 : 1;
    if (z >= 0.625) {
        s = sg_promql__go_exp(2 * z);
        z = 1 - 2 / (s + 1);
        return x < 0 ? -z : z;
    }
    if (x == 0)
        return x;
    s = x * x;
    return x + x * s * ((p[0] * s + p[1]) * s + p[2]) / (((s + q[0]) * s + q[1]) * s + q[2]);
}

#define GO_LN2 0x1.62e42fefa39efp-1

double sg_promql__go_asinh(double x)
{
    bool sign = false;
    double temp;

    if (isnan(x) || isinf(x))
        return x;
    if (x < 0) {
        x = -x;
        sign = true;
    }
    if (x > 0x1p28)
        temp = sg_promql__go_log(x) + GO_LN2;
    else if (x > 2)
        temp = sg_promql__go_log(2 * x + 1 / (sqrt(x * x + 1) + x));
    else if (x < 0x1p-28)
        temp = x;
    else
        temp = sg_promql__go_log1p(x + x * x / (1 + sqrt(1 + x * x)));
    return sign ? -temp : temp;
}

double sg_promql__go_acosh(double x)
{
    double t;

    if (x < 1 || isnan(x))
        return from_bits(GO_NAN);
    if (x == 1)
        return 0;
    if (x >= 0x1p28)
        return sg_promql__go_log(x) + GO_LN2;
    if (x > 2)
        return sg_promql__go_log(2 * x - 1 / (x + sqrt(x * x - 1)));
    t = x - 1;
    return sg_promql__go_log1p(t + sqrt(2 * t + t * t));
}

double sg_promql__go_atanh(double x)
{
    bool sign = false;
    double temp;

    if (x < -1 || x > 1 || isnan(x))
        return from_bits(GO_NAN);
    if (x == 1)
        return INFINITY;
    if (x == -1)
        return -INFINITY;
    if (x < 0) {
        x = -x;
        sign = true;
    }
    if (x < 0x1p-28) {
        temp = x;
    } else if (x < 0.5) {
        temp = x + x;
        temp = 0.5 * sg_promql__go_log1p(temp + temp * x / (1 - x));
    } else {
        temp = 0.5 * sg_promql__go_log1p((x + x) / (1 - x));
    }
    return sign ? -temp : temp;
}
