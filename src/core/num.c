/* src/core/num.c - Go's float formatting and parsing.
 *
 * Shortest digits come from src/core/shortest.c (the interval method with
 * 128-bit powers of five). sg_num_shortest_ref below is an independent,
 * slow way to the same digits through the C library, kept as the
 * reference the tests compare against:
 *
 * the shortest decimal that reads back as v is found by
 * asking the C library for the correctly rounded k-digit decimal and
 * checking the round trip; the property is monotonic in k. The 15-digit
 * rounding is tried first (it settles every value with at most 15
 * significant digits in one conversion); otherwise k is 16 or 17. The
 * correctly rounded k-digit value is the one closest to v, which is also Go's pick among equally
 * short candidates. The one exception is an exact power of two, whose
 * rounding interval is narrower below than above: there a k-digit decimal
 * one unit above the rounded one may round-trip when the rounded one does
 * not, so that neighbour is tried too. Integers below 2^53 take a fast
 * path (their digits are the shortest form).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/err.h"
#include "stopgate/num.h"

#include "core/core_int.h"

/* Digits of the correctly rounded k-significant-digit decimal of x > 0. */
static int rounded_digits(double x, int k, char *digits, int *dp)
{
    char tmp[48];
    int n = 0, e;
    char *p;

    snprintf(tmp, sizeof(tmp), "%.*e", k - 1, x);
    for (p = tmp; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    }
    e = (int)strtol(p + 1, NULL, 10);
    *dp = e + 1;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    return n;
}

static bool reads_back(const char *digits, int n, int dp, double x)
{
    char tmp[64];

    snprintf(tmp, sizeof(tmp), "0.%.*se%d", n, digits, dp);
    return strtod(tmp, NULL) == x;
}

/* digits + one unit in the k-th place (k = number of digits wanted). */
static int bump_up(const char *digits, int n, int k, int dp, char *out, int *out_dp)
{
    char d[40];
    int i;

    memset(d, '0', (size_t)k);
    memcpy(d, digits, (size_t)(n < k ? n : k));
    for (i = k - 1; i >= 0; i--) {
        if (d[i] == '9') {
            d[i] = '0';
        } else {
            d[i]++;
            break;
        }
    }
    if (i < 0) {
        memmove(d + 1, d, (size_t)k);
        d[0] = '1';
        dp++;
        k++;
    }
    while (k > 1 && d[k - 1] == '0')
        k--;
    memcpy(out, d, (size_t)k);
    out[k] = '\0';
    *out_dp = dp;
    return k;
}

int sg_num_shortest_ref(double v, char digits[32], int *dp)
{
    double x = fabs(v);
    int lo = 1, hi = 17, n = 0;
    char best[32];
    int best_dp = 0, best_n = 0;
    bool pow2;
    int ex;

    if (x < 9007199254740992.0 && x == floor(x) && x >= 1.0) {
        char tmp[24];
        int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)x);
        *dp = len;
        while (len > 1 && tmp[len - 1] == '0')
            len--;
        memcpy(digits, tmp, (size_t)len);
        digits[len] = '\0';
        return len;
    }
    pow2 = frexp(x, &ex) == 0.5;
    /* At most one 15-digit decimal lies within a double's rounding interval
     * (15 digits are coarser than 53 bits), so when the 15-digit rounding
     * reads back, every shorter candidate is that same decimal with zeros
     * dropped: it is the answer, found with one conversion. Subnormals
     * have fewer bits and are left to the search. */
    n = x >= DBL_MIN ? rounded_digits(x, 15, best, &best_dp) : 0;
    if (n > 0 && reads_back(best, n, best_dp, x)) {
        memcpy(digits, best, (size_t)n + 1);
        *dp = best_dp;
        return n;
    }
    if (n > 0)
        lo = 16;
    /* binary search for the least k whose rounded value reads back */
    while (lo < hi) {
        int mid = (lo + hi) / 2, d;
        char tmp[32];
        n = rounded_digits(x, mid, tmp, &d);
        if (reads_back(tmp, n, d, x))
            hi = mid;
        else
            lo = mid + 1;
    }
    best_n = rounded_digits(x, lo, best, &best_dp);
    if (pow2 && lo > 1) {
        /* a shorter candidate may exist one unit above the rounded one */
        char tmp[32], up[40];
        int d, ud, un;
        n = rounded_digits(x, lo - 1, tmp, &d);
        un = bump_up(tmp, n, lo - 1, d, up, &ud);
        if (un <= lo - 1 && reads_back(up, un, ud, x)) {
            memcpy(best, up, (size_t)un + 1);
            best_n = un;
            best_dp = ud;
        }
    }
    memcpy(digits, best, (size_t)best_n + 1);
    *dp = best_dp;
    return best_n;
}

int sg_num_shortest(double v, char digits[32], int *dp)
{
    double x = fabs(v);

    if (x < 9007199254740992.0 && x >= 1.0 && x == floor(x)) {
        /* integers below 2^53: their own digits are the shortest form */
        char tmp[24];
        uint64_t u = (uint64_t)x;
        int len = 0, n;
        while (u > 0) {
            tmp[len++] = (char)('0' + u % 10);
            u /= 10;
        }
        *dp = len;
        n = len;
        while (n > 1 && tmp[len - n] == '0')
            n--;
        for (int i = 0; i < n; i++)
            digits[i] = tmp[len - 1 - i];
        digits[n] = '\0';
        return n;
    }
    return sg_num__shortest_fast(v, digits, dp);
}

static size_t put_exp(char *out, char e, int exp)
{
    size_t o = 0;

    out[o++] = e;
    out[o++] = exp < 0 ? '-' : '+';
    if (exp < 0)
        exp = -exp;
    if (exp < 10) {
        out[o++] = '0';
        out[o++] = (char)('0' + exp);
    } else if (exp < 100) {
        out[o++] = (char)('0' + exp / 10);
        out[o++] = (char)('0' + exp % 10);
    } else {
        out[o++] = (char)('0' + exp / 100);
        out[o++] = (char)('0' + (exp / 10) % 10);
        out[o++] = (char)('0' + exp % 10);
    }
    return o;
}

size_t sg_num_format(double v, char fmt, char *buf, size_t n)
{
    char tmp[SG_NUM_FMT_MAX];
    char digits[32];
    size_t o = 0;
    int nd, dp;

    if (isnan(v)) {
        snprintf(buf, n, "NaN");
        return strlen(buf);
    }
    if (isinf(v)) {
        snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
        return strlen(buf);
    }
    if (signbit(v))
        tmp[o++] = '-';
    if (v == 0) {
        digits[0] = '0';
        digits[1] = '\0';
        nd = 1;
        dp = 1;
    } else {
        nd = sg_num_shortest(v, digits, &dp);
    }
    if (fmt == 'g' || fmt == 'G') {
        int exp = dp - 1;
        if (v != 0 && (exp < -4 || exp >= 6))
            fmt = fmt == 'g' ? 'e' : 'E';
        else
            fmt = 'f';
    }
    if (fmt == 'e' || fmt == 'E') {
        tmp[o++] = digits[0];
        if (nd > 1) {
            tmp[o++] = '.';
            memcpy(tmp + o, digits + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        }
        o += put_exp(tmp + o, fmt, v == 0 ? 0 : dp - 1);
    } else {
        /* 'f' with the shortest digits */
        if (dp <= 0) {
            tmp[o++] = '0';
            tmp[o++] = '.';
            for (int i = 0; i < -dp; i++)
                tmp[o++] = '0';
            memcpy(tmp + o, digits, (size_t)nd);
            o += (size_t)nd;
        } else if (dp >= nd) {
            memcpy(tmp + o, digits, (size_t)nd);
            o += (size_t)nd;
            for (int i = nd; i < dp; i++)
                tmp[o++] = '0';
        } else {
            memcpy(tmp + o, digits, (size_t)dp);
            o += (size_t)dp;
            tmp[o++] = '.';
            memcpy(tmp + o, digits + dp, (size_t)(nd - dp));
            o += (size_t)(nd - dp);
        }
    }
    tmp[o] = '\0';
    if (n > 0) {
        size_t c = o < n - 1 ? o : n - 1;
        memcpy(buf, tmp, c);
        buf[c] = '\0';
    }
    return o;
}

static size_t prefix_ci(struct sg_str s, size_t at, const char *word)
{
    size_t i = 0;

    while (at + i < s.len && word[i]) {
        char c = s.ptr[at + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            break;
        i++;
    }
    return i;
}

bool sg_num_underscores_ok(struct sg_str s)
{
    char saw = '^'; /* '^' start, '0' digit or prefix, '_' underscore, '!' other */
    size_t i = 0;
    bool hex = false;

    if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-'))
        i++;
    if (i + 1 < s.len && s.ptr[i] == '0') {
        char c = (char)(s.ptr[i + 1] | 0x20);
        if (c == 'x' || c == 'b' || c == 'o') {
            hex = c == 'x';
            saw = '0';
            i += 2;
        }
    }
    for (; i < s.len; i++) {
        char c = s.ptr[i];
        char lc = (char)(c | 0x20);
        if ((c >= '0' && c <= '9') || (hex && lc >= 'a' && lc <= 'f')) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0')
                return false;
            saw = '_';
            continue;
        }
        if (saw == '_')
            return false;
        saw = '!';
    }
    return saw != '_';
}

int sg_num_parse(struct sg_str s, double *out)
{
    char tmp[512];
    size_t i = 0, o = 0, n;
    bool neg = false, hex = false, has_us = false, seen_digit = false, seen_exp = false;
    char *end;
    double v;

    if (s.len == 0 || s.len >= sizeof(tmp))
        return SG_EPARSE;
    /* special values */
    if (s.ptr[0] == '+' || s.ptr[0] == '-') {
        n = prefix_ci(s, 1, "infinity");
        if ((n == 3 || n == 8) && s.len == 1 + n) {
            *out = s.ptr[0] == '-' ? -INFINITY : INFINITY;
            return SG_OK;
        }
    }
    n = prefix_ci(s, 0, "infinity");
    if ((n == 3 || n == 8) && s.len == n) {
        *out = INFINITY;
        return SG_OK;
    }
    if (prefix_ci(s, 0, "nan") == 3 && s.len == 3) {
        *out = NAN;
        return SG_OK;
    }
    if (s.ptr[i] == '+' || s.ptr[i] == '-') {
        neg = s.ptr[i] == '-';
        tmp[o++] = s.ptr[i++];
    }
    if (i + 1 < s.len && s.ptr[i] == '0' && (s.ptr[i + 1] | 0x20) == 'x') {
        hex = true;
        tmp[o++] = '0';
        tmp[o++] = 'x';
        i += 2;
    }
    for (; i < s.len; i++) {
        char c = s.ptr[i];
        char lc = (char)(c | 0x20);
        if (c == '_') {
            has_us = true;
            continue;
        }
        if ((c >= '0' && c <= '9') || (hex && !seen_exp && lc >= 'a' && lc <= 'f')) {
            seen_digit = true;
        } else if (c == '.') {
            if (seen_exp)
                return SG_EPARSE;
        } else if ((!hex && lc == 'e') || (hex && lc == 'p')) {
            if (seen_exp || !seen_digit)
                return SG_EPARSE;
            seen_exp = true;
        } else if (c == '+' || c == '-') {
            if (!(o > 0 && ((!hex && (tmp[o - 1] | 0x20) == 'e') ||
                            (hex && (tmp[o - 1] | 0x20) == 'p'))))
                return SG_EPARSE;
        } else {
            return SG_EPARSE;
        }
        tmp[o++] = c;
    }
    tmp[o] = '\0';
    if (!seen_digit)
        return SG_EPARSE;
    if (hex && !seen_exp)
        return SG_EPARSE; /* Go: hexadecimal mantissa requires a 'p' exponent */
    if (has_us && (!hex || !sg_num_underscores_ok(s)))
        return SG_EPARSE;
    /* the exponent must have digits */
    if (seen_exp) {
        char last = tmp[o - 1];
        if (!(last >= '0' && last <= '9'))
            return SG_EPARSE;
    }
    /* "." alone or "1.e" handled above; strtod must consume everything */
    errno = 0;
    v = strtod(tmp, &end);
    if (*end != '\0')
        return SG_EPARSE;
    (void)neg;
    *out = v;
    if (errno == ERANGE && isinf(v))
        return SG_ELIMIT;
    return SG_OK;
}

int sg_num_parse_int(struct sg_str s, int64_t *out)
{
    size_t i = 0;
    bool neg = false, prefixed = false;
    unsigned base = 10;
    uint64_t v = 0, limit;
    bool any = false;

    if (s.len == 0)
        return SG_EPARSE;
    if (s.ptr[0] == '+' || s.ptr[0] == '-') {
        neg = s.ptr[0] == '-';
        i++;
    }
    if (i < s.len && s.ptr[i] == '0') {
        if (i + 1 < s.len) {
            char c = (char)(s.ptr[i + 1] | 0x20);
            if (c == 'x') {
                base = 16;
                i += 2;
                prefixed = true;
            } else if (c == 'b') {
                base = 2;
                i += 2;
                prefixed = true;
            } else if (c == 'o') {
                base = 8;
                i += 2;
                prefixed = true;
            } else {
                base = 8;
                i += 1;
                prefixed = true;
                any = true; /* the leading 0 is a digit */
            }
        }
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < s.len; i++) {
        char c = s.ptr[i];
        unsigned d;
        if (c == '_') {
            if (!prefixed)
                return SG_EPARSE;
            continue;
        }
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
            d = (unsigned)((c | 0x20) - 'a' + 10);
        else
            return SG_EPARSE;
        if (d >= base)
            return SG_EPARSE;
        any = true;
        if (v > (limit - d) / base) {
            /* keep scanning for syntax errors first, as Go does */
            for (i++; i < s.len; i++) {
                char c2 = s.ptr[i];
                if (!(c2 == '_' || (c2 >= '0' && c2 <= '9') ||
                      ((c2 | 0x20) >= 'a' && (c2 | 0x20) <= 'z')))
                    return SG_EPARSE;
            }
            return SG_ELIMIT;
        }
        v = v * base + d;
    }
    if (!any)
        return SG_EPARSE;
    if (prefixed && !sg_num_underscores_ok(s))
        return SG_EPARSE;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return SG_OK;
}
