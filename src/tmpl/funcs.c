/* src/tmpl/funcs.c - the bodies of Prometheus 2.42's template functions
 * that stopgate renders: humanize, humanize1024, humanizeDuration,
 * humanizePercentage, humanizeTimestamp, title, toUpper, toLower,
 * stripPort, stripDomain, parseDuration, reReplaceAll and match; and Go's
 * strconv.ParseFloat as Prometheus's convertToFloat uses it.
 *
 * Each follows template/template.go of Prometheus 2.42 and the Go library
 * functions it calls (strings.Title, net.SplitHostPort, ...), including
 * their error texts. Case mapping outside ASCII uses the C library's
 * C.UTF-8 tables.
 */
#include <arpa/inet.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <wctype.h>

#include "stopgate/duration.h"
#include "stopgate/num.h"
#include "tmpl/tmpl_int.h"

static inline void ignore_rc(int rc)
{
    (void)rc;
}

/* ---- numbers ------------------------------------------------------------------------------ */

int sg_tmpl__parse_float(struct sg_str s, double *out)
{
    char stack[256];
    char *buf = stack;
    size_t k = 0;
    int rc;

    if (memchr(s.ptr, '_', s.len) && !sg_num_underscores_ok(s))
        return SG_EPARSE;
    if (s.len + 1 > sizeof(stack)) {
        buf = sg_malloc(s.len + 1);
        if (!buf)
            return SG_ENOMEM;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] != '_')
            buf[k++] = s.ptr[i];
    }
    buf[k] = 0;
    rc = sg_num_parse(sg_str_make(buf, k), out);
    if (buf != stack)
        sg_free(buf);
    return rc;
}

struct fres {
    struct sg_buf *out;
    char *err;
    size_t errn;
};

static int fail(struct fres *r, const char *fmt, ...) SG_PRINTF(2, 3);
static int fail(struct fres *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->err, r->errn, fmt, ap);
    va_end(ap);
    return SG_EEVAL;
}

/* Prometheus's convertToFloat */
static int to_float(struct fres *r, const struct tv *v, double *f)
{
    switch (v->k) {
    case TV_FLOAT:
        *f = v->f;
        return SG_OK;
    case TV_INT:
        *f = (double)v->i;
        return SG_OK;
    case TV_STRING: {
        int rc = sg_tmpl__parse_float(v->s, f);
        struct sg_buf q;
        if (rc == SG_OK)
            return SG_OK;
        if (rc == SG_ENOMEM)
            return rc;
        sg_buf_init(&q, 200);
        ignore_rc(sg_tmpl__quote(v->s, false, &q));
        rc = fail(r, "strconv.ParseFloat: parsing %s: %s", sg_buf_cstr(&q),
                  rc == SG_ELIMIT ? "value out of range" : "invalid syntax");
        sg_buf_cleanup(&q);
        return rc;
    }
    case TV_NIL:
    case TV_INVALID:
        return fail(r, "can't convert <nil> to float");
    default:
        return fail(r, "can't convert %s to float", sg_tmpl__type_name(v));
    }
}

/* fmt.Sprintf("%.4g", v) */
static int g4(double v, struct sg_buf *out)
{
    return sg_tmpl__format_float(v, 'g', 4, out);
}

int sg_tmpl_humanize(double v, struct sg_buf *out)
{
    static const char *big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    const char *prefix = "";
    int rc;

    if (v == 0 || isnan(v) || isinf(v))
        return g4(v, out);
    if (fabs(v) >= 1) {
        for (size_t i = 0; i < SG_ARRAY_LEN(big); i++) {
            if (fabs(v) < 1000)
                break;
            prefix = big[i];
            v /= 1000;
        }
    } else {
        for (size_t i = 0; i < SG_ARRAY_LEN(small); i++) {
            if (fabs(v) >= 1)
                break;
            prefix = small[i];
            v *= 1000;
        }
    }
    rc = g4(v, out);
    return rc == SG_OK ? sg_buf_puts(out, prefix) : rc;
}

int sg_tmpl_humanize1024(double v, struct sg_buf *out)
{
    static const char *big[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    const char *prefix = "";
    int rc;

    if (fabs(v) <= 1 || isnan(v) || isinf(v))
        return g4(v, out);
    for (size_t i = 0; i < SG_ARRAY_LEN(big); i++) {
        if (fabs(v) < 1024)
            break;
        prefix = big[i];
        v /= 1024;
    }
    rc = g4(v, out);
    return rc == SG_OK ? sg_buf_puts(out, prefix) : rc;
}

int sg_tmpl_humanize_duration(double v, struct sg_buf *out)
{
    static const char *small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    const char *prefix = "";
    int rc;

    if (isnan(v) || isinf(v))
        return g4(v, out);
    if (v == 0) {
        rc = g4(v, out);
        return rc == SG_OK ? sg_buf_putc(out, 's') : rc;
    }
    if (fabs(v) >= 1) {
        const char *sign = "";
        int64_t d, seconds, minutes, hours, days;
        if (v < 0) {
            sign = "-";
            v = -v;
        }
        /* Go's int64(v): values beyond the range give MinInt64 on amd64 */
        d = v < 9223372036854775808.0 ? (int64_t)v : INT64_MIN;
        seconds = d % 60;
        minutes = (d / 60) % 60;
        hours = (d / 60 / 60) % 24;
        days = d / 60 / 60 / 24;
        if (days != 0)
            return sg_buf_appendf(out, "%s%lldd %lldh %lldm %llds", sign, (long long)days,
                                  (long long)hours, (long long)minutes, (long long)seconds);
        if (hours != 0)
            return sg_buf_appendf(out, "%s%lldh %lldm %llds", sign, (long long)hours,
                                  (long long)minutes, (long long)seconds);
        if (minutes != 0)
            return sg_buf_appendf(out, "%s%lldm %llds", sign, (long long)minutes,
                                  (long long)seconds);
        rc = sg_buf_puts(out, sign);
        if (rc == SG_OK)
            rc = g4(v, out);
        return rc == SG_OK ? sg_buf_putc(out, 's') : rc;
    }
    for (size_t i = 0; i < SG_ARRAY_LEN(small); i++) {
        if (fabs(v) >= 1)
            break;
        prefix = small[i];
        v *= 1000;
    }
    rc = g4(v, out);
    if (rc == SG_OK)
        rc = sg_buf_puts(out, prefix);
    return rc == SG_OK ? sg_buf_putc(out, 's') : rc;
}

int sg_tmpl_humanize_percentage(double v, struct sg_buf *out)
{
    int rc = g4(v * 100, out);
    return rc == SG_OK ? sg_buf_putc(out, '%') : rc;
}

/* days since 1970-01-01 to a civil date (proleptic Gregorian) */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, yy;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

/* humanizeTimestamp: time.Time.String() of the UTC time, at millisecond
 * precision (Prometheus converts through model.Time). */
static int humanize_timestamp(struct fres *r, double v)
{
    double ts;
    int64_t ns, ms, secs, nsec, days, sod;
    int64_t y;
    unsigned mo, d;
    char frac[16] = "";

    if (isnan(v) || isinf(v))
        return g4(v, r->out);
    ts = v * 1e9;
    if (ts > 9223372036854775807.0 || ts < -9223372036854775808.0) {
        struct sg_buf b;
        int rc;
        sg_buf_init(&b, 64);
        ignore_rc(sg_tmpl__format_float(v, 'g', -1, &b));
        rc = fail(r, "%s cannot be represented as a nanoseconds timestamp since it overflows int64",
                  sg_buf_cstr(&b));
        sg_buf_cleanup(&b);
        return rc;
    }
    ns = ts >= 9223372036854775807.0 ? INT64_MIN : (int64_t)ts;
    ms = ns / 1000000;
    secs = ms / 1000;
    nsec = (ms % 1000) * 1000000;
    if (nsec < 0) {
        nsec += 1000000000;
        secs--;
    }
    days = secs / 86400;
    sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    civil_from_days(days, &y, &mo, &d);
    if (nsec) {
        int n = snprintf(frac, sizeof(frac), ".%09lld", (long long)nsec);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = 0;
    }
    if (y < 0)
        return sg_buf_appendf(r->out, "-%04lld-%02u-%02u %02lld:%02lld:%02lld%s +0000 UTC",
                              (long long)-y, mo, d, (long long)(sod / 3600),
                              (long long)(sod / 60 % 60), (long long)(sod % 60), frac);
    return sg_buf_appendf(r->out, "%04lld-%02u-%02u %02lld:%02lld:%02lld%s +0000 UTC", (long long)y,
                          mo, d, (long long)(sod / 3600), (long long)(sod / 60 % 60),
                          (long long)(sod % 60), frac);
}

/* ---- strings ---------------------------------------------------------------------------------- */

static locale_t utf8_locale(void)
{
    static locale_t loc;
    static bool tried;

    if (!tried) {
        tried = true;
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    }
    return loc;
}

static int put_rune(struct sg_buf *b, uint32_t r)
{
    char o[4];

    return sg_buf_append(b, o, sg_utf8_encode(r, o));
}

enum casemap { CM_UPPER, CM_LOWER, CM_TITLE };

static uint32_t map_rune(uint32_t r, enum casemap cm)
{
    locale_t loc;

    if (r < 0x80) {
        if (cm == CM_LOWER)
            return r >= 'A' && r <= 'Z' ? r + 32 : r;
        return r >= 'a' && r <= 'z' ? r - 32 : r;
    }
    loc = utf8_locale();
    if (!loc || r == 0xfffd)
        return r;
    return (uint32_t)(cm == CM_LOWER ? towlower_l((wint_t)r, loc) : towupper_l((wint_t)r, loc));
}

/* strings.Title's isSeparator */
static bool is_separator(uint32_t r)
{
    locale_t loc;

    if (r <= 0x7f) {
        if ((r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
            r == '_')
            return false;
        return true;
    }
    loc = utf8_locale();
    if (loc && r != 0xfffd && iswalnum_l((wint_t)r, loc))
        return false;
    return sg_rune_is_space(r);
}

static int case_map(struct sg_str s, enum casemap cm, struct sg_buf *out)
{
    uint32_t prev = ' ';
    int rc = SG_OK;

    for (size_t i = 0; i < s.len && rc == SG_OK;) {
        size_t w;
        uint32_t r = sg_utf8_decode(s.ptr + i, s.len - i, &w);
        uint32_t m = r;
        if (cm != CM_TITLE || is_separator(prev))
            m = map_rune(r, cm);
        prev = r;
        rc = put_rune(out, m);
        i += w;
    }
    return rc;
}

/* ---- host:port ------------------------------------------------------------------------------- */

/* net.SplitHostPort; false on error */
static bool split_host_port(struct sg_str hp, struct sg_str *host, struct sg_str *port)
{
    const char *s = hp.ptr;
    size_t n = hp.len, j = 0, k = 0;
    ssize_t i = -1;

    for (size_t x = n; x-- > 0;) {
        if (s[x] == ':') {
            i = (ssize_t)x;
            break;
        }
    }
    if (i < 0)
        return false;
    if (n > 0 && s[0] == '[') {
        const char *e = memchr(s, ']', n);
        size_t end;
        if (!e)
            return false;
        end = (size_t)(e - s);
        if (end + 1 == n)
            return false;
        if ((ssize_t)(end + 1) != i)
            return false;
        *host = sg_str_make(s + 1, end - 1);
        j = 1;
        k = end + 1;
    } else {
        *host = sg_str_make(s, (size_t)i);
        if (memchr(s, ':', (size_t)i))
            return false;
    }
    if (memchr(s + j, '[', n - j))
        return false;
    if (memchr(s + k, ']', n - k))
        return false;
    *port = sg_str_make(s + i + 1, n - (size_t)i - 1);
    return true;
}

/* net.ParseIP != nil */
static bool is_ip(struct sg_str h)
{
    char buf[64];
    unsigned char addr[16];

    if (h.len == 0 || h.len >= sizeof(buf))
        return false;
    memcpy(buf, h.ptr, h.len);
    buf[h.len] = 0;
    if (memchr(buf, '%', h.len))
        return false;
    return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

static int strip_domain(struct sg_str hp, struct sg_buf *out)
{
    struct sg_str host = hp, port = {"", 0};
    const char *dot;
    int rc;

    if (!split_host_port(hp, &host, &port)) {
        host = hp;
        port = sg_str_make("", 0);
    }
    if (is_ip(host))
        return sg_buf_append_str(out, hp);
    dot = memchr(host.ptr, '.', host.len);
    if (dot)
        host.len = (size_t)(dot - host.ptr);
    if (port.len == 0)
        return sg_buf_append_str(out, host);
    if (memchr(host.ptr, ':', host.len))
        rc = sg_buf_appendf(out, "[%.*s]:%.*s", (int)host.len, host.ptr, (int)port.len, port.ptr);
    else
        rc = sg_buf_appendf(out, "%.*s:%.*s", (int)host.len, host.ptr, (int)port.len, port.ptr);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------------ */

int sg_tmpl__prom_func(enum tf_id id, const struct tv *argv, size_t n, struct sg_buf *out,
                       double *fv, bool *is_float, char *err, size_t errn)
{
    struct fres r = {out, err, errn};
    double v;
    int rc;

    (void)n;
    *is_float = false;
    switch (id) {
    case TF_HUMANIZE:
    case TF_HUMANIZE1024:
    case TF_HUMANIZE_DURATION:
    case TF_HUMANIZE_PERCENTAGE:
    case TF_HUMANIZE_TIMESTAMP:
        rc = to_float(&r, &argv[0], &v);
        if (rc != SG_OK)
            return rc;
        switch (id) {
        case TF_HUMANIZE:
            return sg_tmpl_humanize(v, out);
        case TF_HUMANIZE1024:
            return sg_tmpl_humanize1024(v, out);
        case TF_HUMANIZE_DURATION:
            return sg_tmpl_humanize_duration(v, out);
        case TF_HUMANIZE_PERCENTAGE:
            return sg_tmpl_humanize_percentage(v, out);
        default:
            return humanize_timestamp(&r, v);
        }
    case TF_TITLE:
        return case_map(argv[0].s, CM_TITLE, out);
    case TF_TO_UPPER:
        return case_map(argv[0].s, CM_UPPER, out);
    case TF_TO_LOWER:
        return case_map(argv[0].s, CM_LOWER, out);
    case TF_STRIP_PORT: {
        struct sg_str host, port;
        if (!split_host_port(argv[0].s, &host, &port))
            return sg_buf_append_str(out, argv[0].s);
        return sg_buf_append_str(out, host);
    }
    case TF_STRIP_DOMAIN:
        return strip_domain(argv[0].s, out);
    case TF_PARSE_DURATION: {
        int64_t ms;
        struct sg_err e;
        sg_err_clear(&e);
        if (argv[0].s.len == 0)
            return fail(&r, "empty duration string");
        if (sg_duration_parse(argv[0].s, &ms, &e) != SG_OK)
            return fail(&r, "%s", e.msg);
        *fv = (double)(ms * 1000000) / 1e9;
        *is_float = true;
        return SG_OK;
    }
    case TF_RE_REPLACE_ALL:
    case TF_MATCH:
        return sg_tmpl__regex_func(id, argv, out, err, errn);
    default:
        return fail(&r, "function not supported by stopgate");
    }
}
