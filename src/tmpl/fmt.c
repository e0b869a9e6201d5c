/* src/tmpl/fmt.c - Go's fmt and strconv formatting for template values.
 *
 * What text/template prints goes through Go's fmt: %v of a float64 is the
 * shortest round-trip 'g' form (2e+06), printf has Go's verbs, flags,
 * argument indexes and its own error notation (%!d(string=x),
 * %!(EXTRA ...), %!v(MISSING)). This file reproduces fmt.Sprint,
 * fmt.Sprintln and fmt.Sprintf for the value kinds a Prometheus alert
 * template can hold (bool, int, uint8, float64, complex128, string,
 * map[string]string, the alert data struct, nil), and strconv.FormatFloat
 * and strconv.Quote underneath.
 *
 * Float digits: shortest form from sg_num_shortest; fixed precision from
 * the C library's correctly rounded %.*e / %.*f (glibc rounds exactly,
 * half to even, as Go's decimal conversion does); the layout is Go's.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stopgate/num.h"
#include "tmpl/tmpl_int.h"

#define DATA_TYPE                                                                                  \
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; "   \
    "Value float64 }"

const char *sg_tmpl__type_name(const struct tv *v)
{
    switch (v->k) {
    case TV_BOOL:
        return "bool";
    case TV_INT:
        return "int";
    case TV_UINT8:
        return "uint8";
    case TV_FLOAT:
        return "float64";
    case TV_COMPLEX:
        return "complex128";
    case TV_STRING:
        return "string";
    case TV_MAP:
        return "map[string]string";
    case TV_DATA:
        return DATA_TYPE;
    case TV_NIL:
        return "<nil>";
    case TV_INVALID:
        break;
    }
    return "<invalid reflect.Value>";
}

/* ---- UTF-8 and quoting ------------------------------------------------------------------ */

/* Go's strconv.IsPrint, which fmt's %q quoting uses. */
static bool is_print(uint32_t r)
{
    return sg_rune_is_print(r);
}

static const char lowerhex[] = "0123456789abcdef";
static const char upperhex[] = "0123456789ABCDEF";

static int quote_rune_into(uint32_t r, char quote, bool ascii_only, struct sg_buf *out)
{
    char tmp[12];
    int rc;

    if (r == (uint32_t)(unsigned char)quote || r == '\\') {
        tmp[0] = '\\';
        tmp[1] = (char)r;
        return sg_buf_append(out, tmp, 2);
    }
    if (ascii_only) {
        if (r < 0x80 && is_print(r))
            return sg_buf_putc(out, (char)r);
    } else if (is_print(r)) {
        size_t n = sg_utf8_encode(r, tmp);
        return sg_buf_append(out, tmp, n);
    }
    switch (r) {
    case '\a':
        return sg_buf_puts(out, "\\a");
    case '\b':
        return sg_buf_puts(out, "\\b");
    case '\f':
        return sg_buf_puts(out, "\\f");
    case '\n':
        return sg_buf_puts(out, "\\n");
    case '\r':
        return sg_buf_puts(out, "\\r");
    case '\t':
        return sg_buf_puts(out, "\\t");
    case '\v':
        return sg_buf_puts(out, "\\v");
    default:
        break;
    }
    if (r < ' ' || r == 0x7f) {
        rc = sg_buf_appendf(out, "\\x%c%c", lowerhex[(r >> 4) & 0xf], lowerhex[r & 0xf]);
        return rc;
    }
    if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        r = 0xfffd;
    if (r < 0x10000)
        return sg_buf_appendf(out, "\\u%04x", (unsigned)r);
    return sg_buf_appendf(out, "\\U%08x", (unsigned)r);
}

static int quote_with(struct sg_str s, char quote, bool ascii_only, struct sg_buf *out)
{
    int rc = sg_buf_putc(out, quote);

    for (size_t i = 0; i < s.len && rc == SG_OK;) {
        size_t w;
        uint32_t r = sg_utf8_decode(s.ptr + i, s.len - i, &w);
        if (w == 1 && r == 0xfffd) {
            unsigned char c = (unsigned char)s.ptr[i];
            rc = sg_buf_appendf(out, "\\x%c%c", lowerhex[c >> 4], lowerhex[c & 0xf]);
            i++;
            continue;
        }
        rc = quote_rune_into(r, quote, ascii_only, out);
        i += w;
    }
    return rc == SG_OK ? sg_buf_putc(out, quote) : rc;
}

int sg_tmpl__quote(struct sg_str s, bool ascii_only, struct sg_buf *out)
{
    return quote_with(s, '"', ascii_only, out);
}

static int quote_rune(uint32_t r, bool ascii_only, struct sg_buf *out)
{
    int rc = sg_buf_putc(out, '\'');
    if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        r = 0xfffd;
    if (rc == SG_OK)
        rc = quote_rune_into(r, '\'', ascii_only, out);
    return rc == SG_OK ? sg_buf_putc(out, '\'') : rc;
}

bool sg_tmpl__can_backquote(struct sg_str s)
{
    for (size_t i = 0; i < s.len;) {
        size_t w;
        uint32_t r = sg_utf8_decode(s.ptr + i, s.len - i, &w);
        if (w > 1) {
            if (r == 0xfeff)
                return false;
            i += w;
            continue;
        }
        if (r == 0xfffd)
            return false;
        if ((r < ' ' && r != '\t') || r == '`' || r == 0x7f)
            return false;
        i += w;
    }
    return true;
}

/* ---- strconv.FormatFloat ------------------------------------------------------------------ */

struct digs {
    char d[800];
    int nd, dp;
    bool neg;
};

/* correctly rounded digits of |v| with n significant digits (n >= 1) */
static void digits_e(double v, int n, struct digs *ds)
{
    char tmp[900];
    int len, k = 0, exp = 0;

    if (n > 780)
        n = 780;
    len = snprintf(tmp, sizeof(tmp), "%.*e", n - 1, fabs(v));
    for (int i = 0; i < len; i++) {
        char c = tmp[i];
        if (c >= '0' && c <= '9') {
            ds->d[k++] = c;
        } else if (c == 'e') {
            sscanf(tmp + i + 1, "%d", &exp);
            break;
        }
    }
    /* trim trailing zeros, as Go's decimal type does */
    while (k > 0 && ds->d[k - 1] == '0')
        k--;
    ds->nd = k;
    ds->dp = k == 0 ? 0 : exp + 1;
}

static int fmt_e(const struct digs *d, int prec, char fmt, struct sg_buf *out)
{
    char buf[900];
    size_t n = 0;
    int exp;

    if (prec > 780)
        prec = 780;
    if (d->neg)
        buf[n++] = '-';
    buf[n++] = d->nd ? d->d[0] : '0';
    if (prec > 0) {
        int i = 1;
        int m = d->nd < prec + 1 ? d->nd : prec + 1;
        buf[n++] = '.';
        for (; i < m; i++)
            buf[n++] = d->d[i];
        for (; i <= prec; i++)
            buf[n++] = '0';
    }
    buf[n++] = fmt;
    exp = d->nd == 0 ? 0 : d->dp - 1;
    if (exp < 0) {
        buf[n++] = '-';
        exp = -exp;
    } else {
        buf[n++] = '+';
    }
    if (exp < 10) {
        buf[n++] = '0';
        buf[n++] = (char)('0' + exp);
    } else if (exp < 100) {
        buf[n++] = (char)('0' + exp / 10);
        buf[n++] = (char)('0' + exp % 10);
    } else {
        buf[n++] = (char)('0' + exp / 100);
        buf[n++] = (char)('0' + exp / 10 % 10);
        buf[n++] = (char)('0' + exp % 10);
    }
    return sg_buf_append(out, buf, n);
}

static int fmt_f(const struct digs *d, int prec, struct sg_buf *out)
{
    int rc = SG_OK;

    if (d->neg)
        rc = sg_buf_putc(out, '-');
    if (rc == SG_OK && d->dp > 0) {
        int m = d->nd < d->dp ? d->nd : d->dp;
        rc = sg_buf_append(out, d->d, (size_t)m);
        for (; m < d->dp && rc == SG_OK; m++)
            rc = sg_buf_putc(out, '0');
    } else if (rc == SG_OK) {
        rc = sg_buf_putc(out, '0');
    }
    if (rc == SG_OK && prec > 0) {
        rc = sg_buf_putc(out, '.');
        for (int i = 0; i < prec && rc == SG_OK; i++) {
            int j = d->dp + i;
            rc = sg_buf_putc(out, (j >= 0 && j < d->nd) ? d->d[j] : '0');
        }
    }
    return rc;
}

/* %x / %X of a float64: -0x1.yyyyp±dd */
static int fmt_x(double v, int prec, char fmt, struct sg_buf *out)
{
    uint64_t bits, mant;
    int exp, rc;
    const char *hex = fmt == 'X' ? upperhex : lowerhex;
    bool neg;

    memcpy(&bits, &v, sizeof(bits));
    neg = bits >> 63;
    exp = (int)((bits >> 52) & 0x7ff);
    mant = bits & ((UINT64_C(1) << 52) - 1);
    if (exp == 0)
        exp++;
    else
        mant |= UINT64_C(1) << 52;
    exp -= 1023;
    if (mant == 0)
        exp = 0;
    mant <<= 60 - 52;
    while (mant != 0 && (mant & (UINT64_C(1) << 60)) == 0) {
        mant <<= 1;
        exp--;
    }
    if (prec >= 0 && prec < 15) {
        unsigned shift = (unsigned)prec * 4;
        uint64_t extra = (mant << shift) & ((UINT64_C(1) << 60) - 1);
        mant >>= 60 - shift;
        if ((extra | (mant & 1)) > (UINT64_C(1) << 59))
            mant++;
        mant <<= 60 - shift;
        if (mant & (UINT64_C(1) << 61)) {
            mant >>= 1;
            exp++;
        }
    }
    rc = sg_buf_appendf(out, "%s0%c%c", neg ? "-" : "", fmt, (char)('0' + ((mant >> 60) & 1)));
    mant <<= 4;
    if (rc == SG_OK && prec < 0 && mant != 0) {
        rc = sg_buf_putc(out, '.');
        while (mant != 0 && rc == SG_OK) {
            rc = sg_buf_putc(out, hex[(mant >> 60) & 15]);
            mant <<= 4;
        }
    } else if (rc == SG_OK && prec > 0) {
        rc = sg_buf_putc(out, '.');
        for (int i = 0; i < prec && rc == SG_OK; i++) {
            rc = sg_buf_putc(out, hex[(mant >> 60) & 15]);
            mant <<= 4;
        }
    }
    if (rc != SG_OK)
        return rc;
    if (exp < 0)
        return sg_buf_appendf(out, "%c-%02d", fmt == 'X' ? 'P' : 'p', -exp);
    return sg_buf_appendf(out, "%c+%02d", fmt == 'X' ? 'P' : 'p', exp);
}

/* %b of a float64: ddddp±ddd */
static int fmt_b(double v, struct sg_buf *out)
{
    uint64_t bits, mant;
    int exp;

    memcpy(&bits, &v, sizeof(bits));
    exp = (int)((bits >> 52) & 0x7ff);
    mant = bits & ((UINT64_C(1) << 52) - 1);
    if (exp == 0)
        exp++;
    else
        mant |= UINT64_C(1) << 52;
    exp -= 1023 + 52;
    return sg_buf_appendf(out, "%s%llup%s%d", (bits >> 63) ? "-" : "", (unsigned long long)mant,
                          exp >= 0 ? "+" : "", exp);
}

int sg_tmpl__format_float(double v, char fmt, int prec, struct sg_buf *out)
{
    struct digs d;
    bool shortest = prec < 0;

    if (isnan(v))
        return sg_buf_puts(out, "NaN");
    if (isinf(v))
        return sg_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    if (fmt == 'x' || fmt == 'X')
        return fmt_x(v, prec, fmt, out);
    if (fmt == 'b')
        return fmt_b(v, out);
    memset(&d, 0, sizeof(d));
    d.neg = signbit(v) != 0;
    if (fmt == 'f' || fmt == 'F') {
        if (shortest) {
            if (v != 0) {
                char tmp[32];
                d.nd = sg_num_shortest(v, tmp, &d.dp);
                memcpy(d.d, tmp, (size_t)d.nd);
            }
            prec = d.nd - d.dp > 0 ? d.nd - d.dp : 0;
            return fmt_f(&d, prec, out);
        }
        if (prec > 700)
            prec = 700;
        {
            char tmp[1100];
            int n = snprintf(tmp, sizeof(tmp), "%.*f", prec, v);
            return sg_buf_append(out, tmp, (size_t)(n > 0 ? n : 0));
        }
    }
    if (shortest) {
        if (v != 0) {
            char tmp[32];
            d.nd = sg_num_shortest(v, tmp, &d.dp);
            memcpy(d.d, tmp, (size_t)d.nd);
        }
        if (fmt == 'e' || fmt == 'E')
            prec = d.nd - 1;
        else
            prec = d.nd;
    } else {
        int n = (fmt == 'e' || fmt == 'E') ? prec + 1 : (prec == 0 ? 1 : prec);
        if (fmt == 'g' || fmt == 'G') {
            if (prec == 0)
                prec = 1;
        }
        digits_e(v, n, &d);
    }
    if (fmt == 'e' || fmt == 'E')
        return fmt_e(&d, prec, fmt, out);
    /* 'g', 'G' */
    {
        int eprec = prec;
        int exp;
        if (eprec > d.nd && d.nd >= d.dp)
            eprec = d.nd;
        if (shortest)
            eprec = 6;
        exp = d.dp - 1;
        if (exp < -4 || exp >= eprec) {
            if (prec > d.nd)
                prec = d.nd;
            return fmt_e(&d, prec - 1, (char)(fmt + 'e' - 'g'), out);
        }
        if (prec > d.dp)
            prec = d.nd;
        return fmt_f(&d, prec - d.dp > 0 ? prec - d.dp : 0, out);
    }
}

int sg_tmpl_format_float(double v, char verb, int prec, struct sg_buf *out)
{
    if (verb == 'v')
        verb = 'g';
    if (verb == 'F')
        verb = 'f';
    return sg_tmpl__format_float(v, verb, prec, out);
}

/* ---- fmt's printer ----------------------------------------------------------------------- */

struct pp {
    struct sg_buf *out;
    const struct tmpl_data *d;
    /* flags */
    bool plus, minus, sharp, space, zero, plus_v, sharp_v;
    bool wid_present, prec_present;
    int wid, prec;
    int rc;
};

static void clear_flags(struct pp *p)
{
    p->plus = p->minus = p->sharp = p->space = p->zero = p->plus_v = p->sharp_v = false;
    p->wid_present = p->prec_present = false;
    p->wid = p->prec = 0;
}

static void wr(struct pp *p, const char *s, size_t n)
{
    if (p->rc == SG_OK)
        p->rc = sg_buf_append(p->out, s, n);
}

static void wrs(struct pp *p, const char *s)
{
    wr(p, s, strlen(s));
}

static void write_padding(struct pp *p, int n)
{
    char c = p->zero ? '0' : ' ';
    for (int i = 0; i < n && p->rc == SG_OK; i++)
        p->rc = sg_buf_putc(p->out, c);
}

static size_t rune_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n;) {
        size_t w;
        sg_utf8_decode(s + i, n - i, &w);
        i += w ? w : 1;
        c++;
    }
    return c;
}

static void pad(struct pp *p, const char *s, size_t n)
{
    int width;

    if (!p->wid_present || p->wid == 0) {
        wr(p, s, n);
        return;
    }
    width = p->wid - (int)rune_count(s, n);
    if (!p->minus) {
        write_padding(p, width);
        wr(p, s, n);
    } else {
        wr(p, s, n);
        write_padding(p, width);
    }
}

static void pad_str(struct pp *p, const char *s)
{
    pad(p, s, strlen(s));
}

static void print_arg(struct pp *p, const struct tv *v, int verb);

static void bad_verb(struct pp *p, const struct tv *v, int verb)
{
    char vb[8];
    size_t n = sg_utf8_encode((uint32_t)verb, vb);

    wrs(p, "%!");
    wr(p, vb, n);
    wrs(p, "(");
    if (v && v->k != TV_NIL && v->k != TV_INVALID) {
        wrs(p, sg_tmpl__type_name(v));
        wrs(p, "=");
        print_arg(p, v, 'v');
    } else {
        wrs(p, "<nil>");
    }
    wrs(p, ")");
}

static void fmt_integer(struct pp *p, uint64_t u, int base, bool is_signed, int verb,
                        const char *digits)
{
    char buf[200];
    int i = (int)sizeof(buf);
    bool negative = is_signed && (int64_t)u < 0;
    int prec = 0;
    bool old_zero;

    if (negative)
        u = 0 - u;
    if (p->prec_present) {
        prec = p->prec;
        if (prec == 0 && u == 0) {
            old_zero = p->zero;
            p->zero = false;
            write_padding(p, p->wid);
            p->zero = old_zero;
            return;
        }
    } else if (p->zero && p->wid_present) {
        prec = p->wid;
        if (negative || p->plus || p->space)
            prec--;
    }
    if (prec > 150)
        prec = 150;
    while (u >= (uint64_t)base) {
        buf[--i] = digits[u % (uint64_t)base];
        u /= (uint64_t)base;
    }
    buf[--i] = digits[u];
    while (i > 0 && prec > (int)sizeof(buf) - i)
        buf[--i] = '0';
    if (p->sharp) {
        if (base == 2) {
            buf[--i] = 'b';
            buf[--i] = '0';
        } else if (base == 8) {
            if (buf[i] != '0')
                buf[--i] = '0';
        } else if (base == 16) {
            buf[--i] = digits[16];
            buf[--i] = '0';
        }
    }
    if (verb == 'O') {
        buf[--i] = 'o';
        buf[--i] = '0';
    }
    if (negative)
        buf[--i] = '-';
    else if (p->plus)
        buf[--i] = '+';
    else if (p->space)
        buf[--i] = ' ';
    old_zero = p->zero;
    p->zero = false;
    pad(p, buf + i, sizeof(buf) - (size_t)i);
    p->zero = old_zero;
}

static void fmt_unicode(struct pp *p, uint64_t u)
{
    char buf[64];
    int prec = 4, n;

    if (p->prec_present && p->prec > 4)
        prec = p->prec > 40 ? 40 : p->prec;
    n = snprintf(buf, sizeof(buf), "U+%0*llX", prec, (unsigned long long)u);
    if (p->sharp && u <= 0x10ffff && is_print((uint32_t)u)) {
        buf[n++] = ' ';
        buf[n++] = '\'';
        n += (int)sg_utf8_encode((uint32_t)u, buf + n);
        buf[n++] = '\'';
    }
    {
        bool old_zero = p->zero;
        p->zero = false;
        pad(p, buf, (size_t)n);
        p->zero = old_zero;
    }
}

static void print_integer(struct pp *p, const struct tv *v, uint64_t u, bool is_signed, int verb)
{
    static const char ld[] = "0123456789abcdefx", ud[] = "0123456789ABCDEFX";

    switch (verb) {
    case 'v':
        if (p->sharp_v && !is_signed) {
            bool old = p->sharp;
            p->sharp = true;
            fmt_integer(p, u, 16, false, verb, ld);
            p->sharp = old;
        } else {
            fmt_integer(p, u, 10, is_signed, verb, ld);
        }
        return;
    case 'd':
        fmt_integer(p, u, 10, is_signed, verb, ld);
        return;
    case 'b':
        fmt_integer(p, u, 2, is_signed, verb, ld);
        return;
    case 'o':
    case 'O':
        fmt_integer(p, u, 8, is_signed, verb, ld);
        return;
    case 'x':
        fmt_integer(p, u, 16, is_signed, verb, ld);
        return;
    case 'X':
        fmt_integer(p, u, 16, is_signed, verb, ud);
        return;
    case 'c': {
        char buf[4];
        uint32_t r = u > 0x10ffff ? 0xfffd : (uint32_t)u;
        size_t n = sg_utf8_encode(r, buf);
        pad(p, buf, n);
        return;
    }
    case 'q': {
        struct sg_buf b;
        uint32_t r = u > 0x10ffff ? 0xfffd : (uint32_t)u;
        sg_buf_init(&b, 64);
        if (quote_rune(r, p->plus, &b) == SG_OK)
            pad(p, b.data, b.len);
        else
            p->rc = SG_ENOMEM;
        sg_buf_cleanup(&b);
        return;
    }
    case 'U':
        fmt_unicode(p, u);
        return;
    default:
        bad_verb(p, v, verb);
    }
}

static void fmt_float(struct pp *p, double v, int verb, int prec)
{
    struct sg_buf b;
    char *num;
    size_t n;

    if (p->prec_present)
        prec = p->prec;
    sg_buf_init(&b, 4096);
    if (sg_buf_putc(&b, '+') != SG_OK || sg_tmpl__format_float(v, (char)verb, prec, &b) != SG_OK) {
        sg_buf_cleanup(&b);
        p->rc = SG_ENOMEM;
        return;
    }
    num = b.data;
    n = b.len;
    if (num[1] == '-' || num[1] == '+') {
        num++;
        n--;
    } else {
        num[0] = '+';
    }
    if (p->space && num[0] == '+' && !p->plus)
        num[0] = ' ';
    if (num[1] == 'I' || num[1] == 'N') {
        bool old_zero = p->zero;
        p->zero = false;
        if (num[1] == 'N' && !p->space && !p->plus) {
            num++;
            n--;
        }
        pad(p, num, n);
        p->zero = old_zero;
        sg_buf_cleanup(&b);
        return;
    }
    if (p->sharp && verb != 'b') {
        int digits = 0;
        char tail[16];
        size_t tn = 0;
        bool has_dot = false, saw_nonzero = false;
        struct sg_buf nb;
        if (verb == 'v' || verb == 'g' || verb == 'G' || verb == 'x') {
            digits = prec;
            if (digits == -1)
                digits = 6;
        }
        for (size_t i = 1; i < n; i++) {
            char c = num[i];
            if (c == '.') {
                has_dot = true;
            } else if (c == 'p' || c == 'P' ||
                       ((c == 'e' || c == 'E') && verb != 'x' && verb != 'X')) {
                tn = n - i < sizeof(tail) ? n - i : sizeof(tail);
                memcpy(tail, num + i, tn);
                n = i;
                break;
            } else {
                if (c != '0')
                    saw_nonzero = true;
                if (saw_nonzero)
                    digits--;
            }
        }
        sg_buf_init(&nb, 4096);
        p->rc = sg_buf_append(&nb, num, n);
        if (!has_dot) {
            if (n == 2 && num[1] == '0')
                digits--;
            if (p->rc == SG_OK)
                p->rc = sg_buf_putc(&nb, '.');
        }
        for (; digits > 0 && p->rc == SG_OK; digits--)
            p->rc = sg_buf_putc(&nb, '0');
        if (p->rc == SG_OK)
            p->rc = sg_buf_append(&nb, tail, tn);
        sg_buf_cleanup(&b);
        if (p->rc != SG_OK) {
            sg_buf_cleanup(&nb);
            return;
        }
        b = nb;
        num = b.data;
        n = b.len;
    }
    if (p->plus || num[0] != '+') {
        if (p->zero && p->wid_present && p->wid > (int)n) {
            wr(p, num, 1);
            write_padding(p, p->wid - (int)n);
            wr(p, num + 1, n - 1);
        } else {
            pad(p, num, n);
        }
    } else {
        pad(p, num + 1, n - 1);
    }
    sg_buf_cleanup(&b);
}

static void print_float(struct pp *p, const struct tv *v, int verb)
{
    switch (verb) {
    case 'v':
        fmt_float(p, v->f, 'g', -1);
        return;
    case 'b':
    case 'g':
    case 'G':
    case 'x':
    case 'X':
        fmt_float(p, v->f, verb, -1);
        return;
    case 'f':
    case 'e':
    case 'E':
        fmt_float(p, v->f, verb, 6);
        return;
    case 'F':
        fmt_float(p, v->f, 'f', 6);
        return;
    default:
        bad_verb(p, v, verb);
    }
}

static void print_complex(struct pp *p, const struct tv *v, int verb)
{
    bool old_plus;
    switch (verb) {
    case 'v':
    case 'b':
    case 'g':
    case 'G':
    case 'x':
    case 'X':
    case 'f':
    case 'F':
    case 'e':
    case 'E':
        break;
    default:
        bad_verb(p, v, verb);
        return;
    }
    old_plus = p->plus;
    wrs(p, "(");
    print_float(p, &(struct tv){.k = TV_FLOAT, .f = v->f}, verb);
    p->plus = true;
    print_float(p, &(struct tv){.k = TV_FLOAT, .f = v->im}, verb);
    wrs(p, "i)");
    p->plus = old_plus;
}

static size_t truncate_runes(struct pp *p, const char *s, size_t n)
{
    if (p->prec_present) {
        int k = p->prec;
        for (size_t i = 0; i < n;) {
            size_t w;
            if (k-- <= 0)
                return i;
            sg_utf8_decode(s + i, n - i, &w);
            i += w ? w : 1;
        }
    }
    return n;
}

static void fmt_sx(struct pp *p, struct sg_str s, const char *digits)
{
    size_t length = s.len;
    int width;

    if (p->prec_present && (size_t)p->prec < length)
        length = (size_t)p->prec;
    width = 2 * (int)length;
    if (width > 0) {
        if (p->space) {
            if (p->sharp)
                width *= 2;
            width += (int)length - 1;
        } else if (p->sharp) {
            width += 2;
        }
    } else {
        if (p->wid_present)
            write_padding(p, p->wid);
        return;
    }
    if (p->wid_present && p->wid > width && !p->minus)
        write_padding(p, p->wid - width);
    if (p->sharp) {
        wr(p, "0", 1);
        wr(p, digits + 16, 1);
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        char two[2] = {digits[c >> 4], digits[c & 0xf]};
        if (p->space && i > 0) {
            wr(p, " ", 1);
            if (p->sharp) {
                wr(p, "0", 1);
                wr(p, digits + 16, 1);
            }
        }
        wr(p, two, 2);
    }
    if (p->wid_present && p->wid > width && p->minus)
        write_padding(p, p->wid - width);
}

static void fmt_q(struct pp *p, struct sg_str s)
{
    struct sg_buf b;

    s.len = truncate_runes(p, s.ptr, s.len);
    sg_buf_init(&b, s.len * 10 + 16);
    if (p->sharp && sg_tmpl__can_backquote(s)) {
        p->rc = sg_buf_putc(&b, '`');
        if (p->rc == SG_OK)
            p->rc = sg_buf_append(&b, s.ptr, s.len);
        if (p->rc == SG_OK)
            p->rc = sg_buf_putc(&b, '`');
    } else {
        p->rc = quote_with(s, '"', p->plus, &b);
    }
    if (p->rc == SG_OK)
        pad(p, b.data ? b.data : "", b.len);
    sg_buf_cleanup(&b);
}

static void print_string(struct pp *p, const struct tv *v, int verb)
{
    static const char ld[] = "0123456789abcdefx", ud[] = "0123456789ABCDEFX";

    switch (verb) {
    case 'v':
        if (p->sharp_v)
            fmt_q(p, v->s);
        else
            pad(p, v->s.ptr, truncate_runes(p, v->s.ptr, v->s.len));
        return;
    case 's':
        pad(p, v->s.ptr, truncate_runes(p, v->s.ptr, v->s.len));
        return;
    case 'x':
        fmt_sx(p, v->s, ld);
        return;
    case 'X':
        fmt_sx(p, v->s, ud);
        return;
    case 'q':
        fmt_q(p, v->s);
        return;
    default:
        bad_verb(p, v, verb);
    }
}

static void print_map(struct pp *p, const struct sg_labels *m, int verb)
{
    if (p->sharp_v) {
        wrs(p, "map[string]string{");
        for (uint32_t i = 0; m && i < m->count; i++) {
            if (i > 0)
                wrs(p, ", ");
            print_arg(p, &(struct tv){.k = TV_STRING, .s = m->v[i].name}, verb);
            wrs(p, ":");
            print_arg(p, &(struct tv){.k = TV_STRING, .s = m->v[i].value}, verb);
        }
        wrs(p, "}");
        return;
    }
    wrs(p, "map[");
    for (uint32_t i = 0; m && i < m->count; i++) {
        if (i > 0)
            wrs(p, " ");
        print_arg(p, &(struct tv){.k = TV_STRING, .s = m->v[i].name}, verb);
        wrs(p, ":");
        print_arg(p, &(struct tv){.k = TV_STRING, .s = m->v[i].value}, verb);
    }
    wrs(p, "]");
}

static void print_data(struct pp *p, int verb)
{
    static const char *names[] = {"Labels", "ExternalLabels", "ExternalURL", "Value"};
    const struct tmpl_data *d = p->d;

    if (p->sharp_v)
        wrs(p, DATA_TYPE);
    wrs(p, "{");
    for (int i = 0; i < 4; i++) {
        struct tv f;
        if (i > 0)
            wrs(p, p->sharp_v ? ", " : " ");
        if (p->plus_v || p->sharp_v) {
            wrs(p, names[i]);
            wrs(p, ":");
        }
        memset(&f, 0, sizeof(f));
        switch (i) {
        case 0:
            f.k = TV_MAP;
            f.m = &d->labels;
            break;
        case 1:
            f.k = TV_MAP;
            f.m = &d->external_labels;
            break;
        case 2:
            f.k = TV_STRING;
            f.s = d->external_url;
            break;
        default:
            f.k = TV_FLOAT;
            f.f = d->value;
            break;
        }
        print_arg(p, &f, verb);
    }
    wrs(p, "}");
}

static void print_arg(struct pp *p, const struct tv *v, int verb)
{
    if (v->k == TV_NIL || v->k == TV_INVALID) {
        if (verb == 'T' || verb == 'v')
            pad_str(p, "<nil>");
        else
            bad_verb(p, NULL, verb);
        return;
    }
    if (verb == 'T') {
        pad_str(p, sg_tmpl__type_name(v));
        return;
    }
    if (verb == 'p') {
        /* maps are the only pointer-like kind here */
        if (v->k == TV_MAP) {
            pad_str(p, "0xc000010000");
            return;
        }
        bad_verb(p, v, verb);
        return;
    }
    switch (v->k) {
    case TV_BOOL:
        if (verb == 't' || verb == 'v')
            pad_str(p, v->b ? "true" : "false");
        else
            bad_verb(p, v, verb);
        return;
    case TV_INT:
        print_integer(p, v, (uint64_t)v->i, true, verb);
        return;
    case TV_UINT8:
        print_integer(p, v, (uint64_t)v->i, false, verb);
        return;
    case TV_FLOAT:
        print_float(p, v, verb);
        return;
    case TV_COMPLEX:
        print_complex(p, v, verb);
        return;
    case TV_STRING:
        print_string(p, v, verb);
        return;
    case TV_MAP:
        print_map(p, v->m, verb);
        return;
    case TV_DATA:
        print_data(p, verb);
        return;
    default:
        return;
    }
}

int sg_tmpl__print_value(const struct tv *v, const struct tmpl_data *d, struct sg_buf *out)
{
    struct pp p;

    memset(&p, 0, sizeof(p));
    p.out = out;
    p.d = d;
    print_arg(&p, v, 'v');
    return p.rc;
}

int sg_tmpl__sprint(const struct tv *args, size_t n, const struct tmpl_data *d, bool ln,
                    struct sg_buf *out)
{
    struct pp p;
    bool prev_string = false;

    memset(&p, 0, sizeof(p));
    p.out = out;
    p.d = d;
    for (size_t i = 0; i < n; i++) {
        bool is_string = args[i].k == TV_STRING;
        if (i > 0 && (ln || (!is_string && !prev_string)))
            wrs(&p, " ");
        clear_flags(&p);
        print_arg(&p, &args[i], 'v');
        prev_string = is_string;
    }
    if (ln)
        wrs(&p, "\n");
    return p.rc;
}

/* parsenum: digits at s[*i..end); false if none or too large */
static bool parsenum(const char *s, size_t *i, size_t end, int *num)
{
    bool isnum = false;
    int v = 0;

    while (*i < end && s[*i] >= '0' && s[*i] <= '9') {
        if (v > 1000000) {
            *i = end;
            *num = 0;
            return false;
        }
        v = v * 10 + (s[*i] - '0');
        isnum = true;
        (*i)++;
    }
    *num = v;
    return isnum;
}

struct argstate {
    size_t arg_num;
    bool good_arg_num, reordered;
};

/* argNumber: an explicit [n] index at s[*i] */
static bool arg_number(struct argstate *as, const char *s, size_t *i, size_t end, size_t nargs)
{
    size_t j;

    if (*i >= end || s[*i] != '[')
        return false;
    as->reordered = true;
    if (end - *i < 3) {
        (*i)++;
        as->good_arg_num = false;
        return false;
    }
    for (j = *i + 1; j < end; j++) {
        if (s[j] == ']') {
            size_t k = *i + 1;
            int width;
            bool ok = parsenum(s, &k, j, &width);
            if (!ok || k != j) {
                *i = j + 1;
                as->good_arg_num = false;
                return false;
            }
            *i = j + 1;
            if (width - 1 >= 0 && (size_t)(width - 1) < nargs) {
                as->arg_num = (size_t)(width - 1);
                return true;
            }
            as->good_arg_num = false;
            return true;
        }
    }
    (*i)++;
    as->good_arg_num = false;
    return false;
}

static bool int_from_arg(const struct tv *args, size_t n, size_t *arg_num, int *num)
{
    bool is_int = false;

    *num = 0;
    if (*arg_num < n) {
        const struct tv *a = &args[*arg_num];
        if (a->k == TV_INT || a->k == TV_UINT8) {
            if (a->i >= -1000000 && a->i <= 1000000) {
                *num = (int)a->i;
                is_int = true;
            }
        }
        (*arg_num)++;
    }
    return is_int;
}

int sg_tmpl__sprintf(struct sg_str format, const struct tv *args, size_t n,
                     const struct tmpl_data *d, struct sg_buf *out)
{
    struct pp p;
    struct argstate as = {0, true, false};
    const char *s = format.ptr;
    size_t end = format.len, i = 0;
    bool after_index;

    memset(&p, 0, sizeof(p));
    p.out = out;
    p.d = d;
    while (i < end && p.rc == SG_OK) {
        size_t lasti = i;
        int verb;
        size_t w;

        as.good_arg_num = true;
        while (i < end && s[i] != '%')
            i++;
        if (i > lasti)
            wr(&p, s + lasti, i - lasti);
        if (i >= end)
            break;
        i++;
        clear_flags(&p);
        for (; i < end; i++) {
            char c = s[i];
            if (c == '#') {
                p.sharp = true;
            } else if (c == '0') {
                p.zero = !p.minus;
            } else if (c == '+') {
                p.plus = true;
            } else if (c == '-') {
                p.minus = true;
                p.zero = false;
            } else if (c == ' ') {
                p.space = true;
            } else {
                if (c >= 'a' && c <= 'z' && as.arg_num < n) {
                    if (c == 'v') {
                        p.sharp_v = p.sharp;
                        p.sharp = false;
                        p.plus_v = p.plus;
                        p.plus = false;
                    }
                    print_arg(&p, &args[as.arg_num], c);
                    as.arg_num++;
                    i++;
                    goto next_verb;
                }
                break;
            }
        }
        after_index = arg_number(&as, s, &i, end, n);
        if (i < end && s[i] == '*') {
            i++;
            p.wid_present = int_from_arg(args, n, &as.arg_num, &p.wid);
            if (!p.wid_present)
                wrs(&p, "%!(BADWIDTH)");
            if (p.wid < 0) {
                p.wid = -p.wid;
                p.minus = true;
                p.zero = false;
            }
            after_index = false;
        } else {
            p.wid_present = parsenum(s, &i, end, &p.wid);
            if (after_index && p.wid_present)
                as.good_arg_num = false;
        }
        if (i + 1 < end && s[i] == '.') {
            i++;
            if (after_index)
                as.good_arg_num = false;
            after_index = arg_number(&as, s, &i, end, n);
            if (i < end && s[i] == '*') {
                i++;
                p.prec_present = int_from_arg(args, n, &as.arg_num, &p.prec);
                if (p.prec < 0) {
                    p.prec = 0;
                    p.prec_present = false;
                }
                if (!p.prec_present)
                    wrs(&p, "%!(BADPREC)");
                after_index = false;
            } else {
                p.prec_present = parsenum(s, &i, end, &p.prec);
                if (!p.prec_present) {
                    p.prec = 0;
                    p.prec_present = true;
                }
            }
        }
        if (!after_index)
            after_index = arg_number(&as, s, &i, end, n);
        if (i >= end) {
            wrs(&p, "%!(NOVERB)");
            break;
        }
        verb = (int)sg_utf8_decode(s + i, end - i, &w);
        i += w ? w : 1;
        if (verb == '%') {
            wrs(&p, "%");
        } else if (!as.good_arg_num) {
            char vb[4];
            size_t vn = sg_utf8_encode((uint32_t)verb, vb);
            wrs(&p, "%!");
            wr(&p, vb, vn);
            wrs(&p, "(BADINDEX)");
        } else if (as.arg_num >= n) {
            char vb[4];
            size_t vn = sg_utf8_encode((uint32_t)verb, vb);
            wrs(&p, "%!");
            wr(&p, vb, vn);
            wrs(&p, "(MISSING)");
        } else {
            if (verb == 'v') {
                p.sharp_v = p.sharp;
                p.sharp = false;
                p.plus_v = p.plus;
                p.plus = false;
            }
            print_arg(&p, &args[as.arg_num], verb);
            as.arg_num++;
        }
    next_verb:;
    }
    if (!as.reordered && as.arg_num < n && p.rc == SG_OK) {
        clear_flags(&p);
        wrs(&p, "%!(EXTRA ");
        for (size_t k = as.arg_num; k < n; k++) {
            if (k > as.arg_num)
                wrs(&p, ", ");
            if (args[k].k == TV_NIL || args[k].k == TV_INVALID) {
                wrs(&p, "<nil>");
            } else {
                wrs(&p, sg_tmpl__type_name(&args[k]));
                wrs(&p, "=");
                print_arg(&p, &args[k], 'v');
            }
        }
        wrs(&p, ")");
    }
    return p.rc;
}
