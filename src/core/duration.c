/* src/core/duration.c - Prometheus durations, Unix and RFC 3339 timestamps. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stopgate/duration.h"
#include "stopgate/num.h"

static const struct {
    const char *unit;
    int64_t ms;
} units[] = {
    {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
    {"ms", 1},
};

int sg_duration_parse(struct sg_str s, int64_t *out_ms, struct sg_err *err)
{
    size_t i = 0, next_unit = 0;
    int64_t total = 0;

    if (s.len == 0)
        return sg_err_set(err, SG_EPARSE, "empty duration string");
    if (s.len == 1 && s.ptr[0] == '0') {
        *out_ms = 0;
        return SG_OK;
    }
    while (i < s.len) {
        uint64_t n = 0;
        size_t start = i, u;
        bool overflow = false;

        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            if (n > (UINT64_MAX - 9) / 10)
                overflow = true;
            else
                n = n * 10 + (uint64_t)(s.ptr[i] - '0');
            i++;
        }
        if (i == start)
            goto bad;
        /* the unit: "ms" must be tried before "m" */
        for (u = next_unit; u < SG_ARRAY_LEN(units); u++) {
            size_t ul = strlen(units[u].unit);
            if (i + ul <= s.len && memcmp(s.ptr + i, units[u].unit, ul) == 0) {
                if (ul == 1 && units[u].unit[0] == 'm' && i + 1 < s.len && s.ptr[i + 1] == 's')
                    continue;
                break;
            }
        }
        if (u == SG_ARRAY_LEN(units))
            goto bad;
        i += strlen(units[u].unit);
        next_unit = u + 1;
        if (overflow || n > (uint64_t)(INT64_MAX / units[u].ms))
            return sg_err_set(err, SG_ELIMIT, "duration out of range: \"%.*s\"", (int)s.len,
                              s.ptr);
        if ((int64_t)n * units[u].ms > INT64_MAX - total)
            return sg_err_set(err, SG_ELIMIT, "duration out of range: \"%.*s\"", (int)s.len,
                              s.ptr);
        total += (int64_t)n * units[u].ms;
    }
    *out_ms = total;
    return SG_OK;
bad:
    return sg_err_set(err, SG_EPARSE, "not a valid duration string: \"%.*s\"", (int)s.len, s.ptr);
}

void sg_duration_format(int64_t ms, char *buf, size_t n)
{
    size_t o = 0;

    if (n == 0)
        return;
    buf[0] = '\0';
    if (ms == 0) {
        snprintf(buf, n, "0s");
        return;
    }
    for (size_t u = 0; u < SG_ARRAY_LEN(units); u++) {
        int64_t v;
        /* years and weeks only when they divide the rest exactly */
        if (u < 2 && ms % units[u].ms != 0)
            continue;
        v = ms / units[u].ms;
        if (v > 0) {
            int w = snprintf(buf + o, n - o, "%lld%s", (long long)v, units[u].unit);
            if (w < 0 || (size_t)w >= n - o)
                return;
            o += (size_t)w;
            ms -= v * units[u].ms;
        }
    }
}

/* days since 1970-01-01 of a proleptic Gregorian date */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *p, size_t n, int *out)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

static int parse_rfc3339(struct sg_str s, int64_t *out_ms)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s.ptr;
    size_t n = s.len, i;
    int y, mo, d, h, mi, sec, off_h = 0, off_m = 0;
    int64_t frac_ms = 0, days, total;

    if (n < 20 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't') ||
        p[13] != ':' || p[16] != ':')
        return SG_EPARSE;
    if (!digits(p, 4, &y) || !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d) ||
        !digits(p + 11, 2, &h) || !digits(p + 14, 2, &mi) || !digits(p + 17, 2, &sec))
        return SG_EPARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59)
        return SG_EPARSE;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return SG_EPARSE;
    i = 19;
    if (i < n && p[i] == '.') {
        int64_t scale = 100;
        size_t start = ++i;
        /* fractions beyond milliseconds are truncated toward the past,
         * then the time is rounded like FromFloatSeconds would not be:
         * RFC 3339 input is taken at millisecond precision (truncated) */
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (scale > 0)
                frac_ms += (p[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start)
            return SG_EPARSE;
    }
    if (i >= n)
        return SG_EPARSE;
    if (p[i] == 'Z' || p[i] == 'z') {
        i++;
    } else if (p[i] == '+' || p[i] == '-') {
        int sign = p[i] == '-' ? -1 : 1;
        if (n - i != 6 || p[i + 3] != ':' || !digits(p + i + 1, 2, &off_h) ||
            !digits(p + i + 4, 2, &off_m) || off_h > 23 || off_m > 59)
            return SG_EPARSE;
        off_h *= sign;
        off_m *= sign;
        i += 6;
    } else {
        return SG_EPARSE;
    }
    if (i != n)
        return SG_EPARSE;
    days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    total = ((days * 24 + h) * 60 + mi) * 60 + sec;
    total -= (int64_t)off_h * 3600 + (int64_t)off_m * 60;
    *out_ms = total * 1000 + frac_ms;
    return SG_OK;
}

int sg_time_parse(struct sg_str s, int64_t *out_ms, struct sg_err *err)
{
    double v;

    if (s.len > 0 && s.len < 64 && parse_rfc3339(s, out_ms) == SG_OK)
        return SG_OK;
    /* Unix seconds: plain decimal only (no hex, no Inf/NaN). */
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' ||
              c == 'E'))
            goto bad;
    }
    if (s.len == 0 || sg_num_parse(s, &v) != SG_OK || !isfinite(v))
        goto bad;
    v = round(v * 1000.0);
    if (!(v >= -9.2e18 && v <= 9.2e18))
        goto bad;
    *out_ms = (int64_t)v;
    return SG_OK;
bad:
    return sg_err_set(err, SG_EPARSE,
                      "invalid time \"%.*s\": want Unix seconds or RFC 3339 "
                      "(2026-01-02T15:04:05Z)",
                      (int)(s.len > 100 ? 100 : s.len), s.ptr);
}

void sg_time_format_rfc3339(int64_t ms, char *buf, size_t n)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int64_t frac = ms - (int64_t)secs * 1000;
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
}
