/* src/core/shortest.c - shortest round-trip decimal digits of a double.
 *
 * The interval method of Ryū (Adams, "Ryū: fast float-to-string
 * conversion", PLDI 2018): the rounding interval of the binary value is
 * scaled by a power of ten using 128-bit products with precomputed powers
 * of five (src/core/gen_pow5.py writes them at build time, exactly), then
 * digits are removed while the interval still separates them. The result
 * is the shortest decimal that reads back as the input and, among equally
 * short ones, the closest (ties to even) - the same digits Go's strconv
 * prints with precision -1.
 *
 * Handles finite, non-zero doubles of either sign (the sign is ignored).
 */
#include <stdint.h>
#include <string.h>

#include "core/core_int.h"
#include "core/pow5_tables.h"
#include "stopgate/num.h"

#define MANT_BITS   52
#define EXP_BITS    11
#define BIAS        1023
#define POW5_BITS   125
#define POW5_INV_BITS 125

__extension__ typedef unsigned __int128 u128;

/* floor(log2(5^e)) + 1 for 0 <= e <= 3528 */
static int32_t pow5bits(int32_t e)
{
    return (int32_t)(((uint32_t)e * 1217359u) >> 19) + 1;
}

/* floor(log10(2^e)) for 0 <= e <= 1650 */
static uint32_t log10_pow2(int32_t e)
{
    return ((uint32_t)e * 78913u) >> 18;
}

/* floor(log10(5^e)) for 0 <= e <= 2620 */
static uint32_t log10_pow5(int32_t e)
{
    return ((uint32_t)e * 732923u) >> 20;
}

static uint32_t pow5_factor(uint64_t v)
{
    uint32_t n = 0;

    while (v != 0 && v % 5 == 0) {
        v /= 5;
        n++;
    }
    return n;
}

static bool multiple_of_pow5(uint64_t v, uint32_t p)
{
    return pow5_factor(v) >= p;
}

static bool multiple_of_pow2(uint64_t v, uint32_t p)
{
    return (v & ((UINT64_C(1) << p) - 1)) == 0;
}

static uint64_t mul_shift(uint64_t m, const uint64_t *mul, int32_t j)
{
    u128 b0 = (u128)m * mul[0];
    u128 b2 = (u128)m * mul[1];

    return (uint64_t)(((b0 >> 64) + b2) >> (j - 64));
}

/* Decimal mantissa and exponent: |v| = *out * 10^*exp10. */
static void d2d(uint64_t ieee_mant, uint32_t ieee_exp, uint64_t *out, int32_t *exp10)
{
    int32_t e2, e10;
    uint64_t m2, mv, vr, vp, vm, output;
    uint32_t mm_shift;
    bool accept_bounds, vm_trailing_zeros = false, vr_trailing_zeros = false;
    int32_t removed = 0;
    uint8_t last_removed = 0;

    if (ieee_exp == 0) {
        e2 = 1 - BIAS - MANT_BITS - 2;
        m2 = ieee_mant;
    } else {
        e2 = (int32_t)ieee_exp - BIAS - MANT_BITS - 2;
        m2 = (UINT64_C(1) << MANT_BITS) | ieee_mant;
    }
    accept_bounds = (m2 & 1) == 0;
    /* interval [mv - 1 - mm_shift, mv + 2] in units of 2^e2 (4x scaled) */
    mv = 4 * m2;
    mm_shift = ieee_mant != 0 || ieee_exp <= 1;

    if (e2 >= 0) {
        uint32_t q = log10_pow2(e2) - (e2 > 3);
        int32_t k = POW5_INV_BITS + pow5bits((int32_t)q) - 1;
        int32_t i = -e2 + (int32_t)q + k;
        e10 = (int32_t)q;
        vr = mul_shift(4 * m2, sg_pow5_inv[q], i);
        vp = mul_shift(4 * m2 + 2, sg_pow5_inv[q], i);
        vm = mul_shift(4 * m2 - 1 - mm_shift, sg_pow5_inv[q], i);
        if (q <= 21) {
            /* at most one of mp, mv, mm is a multiple of 5 */
            if (mv % 5 == 0)
                vr_trailing_zeros = multiple_of_pow5(mv, q);
            else if (accept_bounds)
                vm_trailing_zeros = multiple_of_pow5(mv - 1 - mm_shift, q);
            else
                vp -= multiple_of_pow5(mv + 2, q);
        }
    } else {
        uint32_t q = log10_pow5(-e2) - (-e2 > 1);
        int32_t i = -e2 - (int32_t)q;
        int32_t k = pow5bits(i) - POW5_BITS;
        int32_t j = (int32_t)q - k;
        e10 = (int32_t)q + e2;
        vr = mul_shift(4 * m2, sg_pow5[i], j);
        vp = mul_shift(4 * m2 + 2, sg_pow5[i], j);
        vm = mul_shift(4 * m2 - 1 - mm_shift, sg_pow5[i], j);
        if (q <= 1) {
            /* mv = 4 * m2 has at least two trailing zero bits */
            vr_trailing_zeros = true;
            if (accept_bounds)
                vm_trailing_zeros = mm_shift == 1;
            else
                --vp;
        } else if (q < 63) {
            vr_trailing_zeros = multiple_of_pow2(mv, q);
        }
    }

    if (vm_trailing_zeros || vr_trailing_zeros) {
        /* rare: exact bounds or an exact value; track trailing zeros */
        while (vp / 10 > vm / 10) {
            vm_trailing_zeros &= vm % 10 == 0;
            vr_trailing_zeros &= last_removed == 0;
            last_removed = (uint8_t)(vr % 10);
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        if (vm_trailing_zeros) {
            while (vm % 10 == 0) {
                vr_trailing_zeros &= last_removed == 0;
                last_removed = (uint8_t)(vr % 10);
                vr /= 10;
                vp /= 10;
                vm /= 10;
                removed++;
            }
        }
        if (vr_trailing_zeros && last_removed == 5 && vr % 2 == 0)
            last_removed = 4; /* exactly halfway: round to even */
        output = vr + ((vr == vm && (!accept_bounds || !vm_trailing_zeros)) || last_removed >= 5);
    } else {
        bool round_up = false;
        if (vp / 100 > vm / 100) {
            round_up = vr % 100 >= 50;
            vr /= 100;
            vp /= 100;
            vm /= 100;
            removed += 2;
        }
        while (vp / 10 > vm / 10) {
            round_up = vr % 10 >= 5;
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        output = vr + (vr == vm || round_up);
    }
    *out = output;
    *exp10 = e10 + removed;
}

int sg_num__shortest_fast(double v, char digits[32], int *dp)
{
    uint64_t bits, mant, out;
    uint32_t exp;
    int32_t e10;
    char tmp[24];
    int n = 0;

    memcpy(&bits, &v, sizeof(bits));
    mant = bits & ((UINT64_C(1) << MANT_BITS) - 1);
    exp = (uint32_t)((bits >> MANT_BITS) & ((1u << EXP_BITS) - 1));
    d2d(mant, exp, &out, &e10);
    while (out > 0) {
        tmp[n++] = (char)('0' + out % 10);
        out /= 10;
    }
    for (int i = 0; i < n; i++)
        digits[i] = tmp[n - 1 - i];
    while (n > 1 && digits[n - 1] == '0') {
        n--;
        e10++;
    }
    digits[n] = '\0';
    *dp = e10 + n;
    return n;
}
