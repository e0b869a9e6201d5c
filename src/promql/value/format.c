/* src/promql/value/format.c - query results as Prometheus's HTTP API and
 * promtool print them.
 *
 * JSON (the `data` object of /api/v1/query and /api/v1/query_range, 2.42):
 * - vector and matrix points go through Prometheus's jsonutil: timestamps
 *   as integer seconds plus "." and exactly three digits when the
 *   milliseconds are not zero; values as strings, Go's 'f' form, or 'e'
 *   when the value is not zero and |v| < 1e-6 or |v| >= 1e21 (checked
 *   against the running 2.42: vector(1e-7) answers "1e-07");
 * - scalar and string results go through encoding/json: the timestamp is
 *   the shortest decimal of t/1000, the scalar value always 'f' in 2.42
 *   ('e' outside [1e-6, 1e21) when the profile's json_float_exponent is
 *   set);
 * - label sets are Go maps marshalled by encoding/json: keys sorted, and
 *   strings escaped with HTML escaping (\u003c \u003e \u0026), U+2028 and
 *   U+2029 escaped, other control characters as \u00XX (Go 1.19 has short
 *   forms only for \" \\ \n \r \t), invalid UTF-8 as \ufffd.
 *
 * Text: promtool's `query` output, which prints client_golang's model
 * values: `metric => value @[ts]` per vector element, `metric =>` followed
 * by `value @[ts]` lines per matrix series, `scalar: v @[ts]`. Values and
 * timestamps are 'f' shortest; labels are `name="value"` strings sorted as
 * strings (not by name), quoted with Go's %q.
 *
 * It does not evaluate anything.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/num.h"
#include "stopgate/promql.h"

/* ---- JSON pieces ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s[i..n), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t i, size_t n, uint32_t *cp)
{
    unsigned char c = s[i];
    size_t len;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[i + k] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i + k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static int json_string(struct sg_buf *out, struct sg_str s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0, run = 0;
    int rc = sg_buf_putc(out, '"');

    while (rc == SG_OK && i < s.len) {
        unsigned char c = p[i];
        char esc[8];
        size_t elen = 0, adv = 1;

        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
            i++;
            run++;
            continue;
        }
        if (c >= 0x80) {
            uint32_t cp;
            size_t l = utf8_len(p, i, s.len, &cp);
            if (l > 0 && cp != 0x2028 && cp != 0x2029) {
                i += l;
                run += l;
                continue;
            }
            if (l == 0) {
                memcpy(esc, "\\ufffd", 6);
                elen = 6;
            } else {
                memcpy(esc, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
                elen = 6;
                adv = l;
            }
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            elen = 2;
        } else {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        if (run)
            rc = sg_buf_append(out, s.ptr + i - run, run);
        run = 0;
        if (rc == SG_OK)
            rc = sg_buf_append(out, esc, elen);
        i += adv;
    }
    if (rc == SG_OK && run)
        rc = sg_buf_append(out, s.ptr + i - run, run);
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '"');
    return rc;
}

static int cmp_label_name(const void *a, const void *b)
{
    const struct sg_label *x = a, *y = b;
    return sg_str_cmp(x->name, y->name);
}

/* {"a":"1","b":"2"}: a Go map, so keys in sorted order. Label sets are
 * sorted already; a hand-built unsorted one is sorted on a copy. */
static int json_labels(struct sg_buf *out, const struct sg_labels *ls)
{
    const struct sg_label *v = ls->v;
    struct sg_label *copy = NULL;
    int rc;

    for (uint32_t i = 1; i < ls->count; i++) {
        if (sg_str_cmp(ls->v[i - 1].name, ls->v[i].name) > 0) {
            copy = sg_malloc((size_t)ls->count * sizeof(*copy));
            if (!copy)
                return SG_ENOMEM;
            memcpy(copy, ls->v, (size_t)ls->count * sizeof(*copy));
            qsort(copy, ls->count, sizeof(*copy), cmp_label_name);
            v = copy;
            break;
        }
    }
    rc = sg_buf_putc(out, '{');
    for (uint32_t i = 0; rc == SG_OK && i < ls->count; i++) {
        if (i > 0)
            rc = sg_buf_putc(out, ',');
        if (rc == SG_OK)
            rc = json_string(out, v[i].name);
        if (rc == SG_OK)
            rc = sg_buf_putc(out, ':');
        if (rc == SG_OK)
            rc = json_string(out, v[i].value);
    }
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '}');
    sg_free(copy);
    return rc;
}

/* jsonutil.MarshalTimestamp */
static int json_ts_point(struct sg_buf *out, int64_t t)
{
    char tmp[32];
    uint64_t u;
    size_t o = sizeof(tmp);
    unsigned frac;

    u = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    frac = (unsigned)(u % 1000);
    u /= 1000;
    if (frac) {
        tmp[--o] = (char)('0' + frac % 10);
        tmp[--o] = (char)('0' + (frac / 10) % 10);
        tmp[--o] = (char)('0' + frac / 100);
        tmp[--o] = '.';
    }
    do {
        tmp[--o] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (t < 0)
        tmp[--o] = '-';
    return sg_buf_append(out, tmp + o, sizeof(tmp) - o);
}

/* encoding/json's float64: shortest, 'e' outside [1e-6, 1e21) with the
 * exponent's leading zero removed ("1e-07" -> "1e-7"). */
static int json_float(struct sg_buf *out, double v)
{
    char tmp[SG_NUM_FMT_MAX];
    double a = fabs(v);
    size_t n;

    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        n = sg_num_format(v, 'e', tmp, sizeof(tmp));
        if (n >= 4 && tmp[n - 4] == 'e' && tmp[n - 3] == '-' && tmp[n - 2] == '0') {
            tmp[n - 2] = tmp[n - 1];
            n--;
        }
    } else {
        n = sg_num_format(v, 'f', tmp, sizeof(tmp));
    }
    return sg_buf_append(out, tmp, n);
}

/* jsonutil.MarshalValue (exponent = true) or strconv 'f' (false). */
static int json_value(struct sg_buf *out, double v, bool exponent)
{
    char tmp[SG_NUM_FMT_MAX + 2];
    double a = fabs(v);
    char fmt = 'f';
    size_t n;

    if (exponent && a != 0 && (a < 1e-6 || a >= 1e21) && !isinf(v) && !isnan(v))
        fmt = 'e';
    tmp[0] = '"';
    n = sg_num_format(v, fmt, tmp + 1, sizeof(tmp) - 2);
    tmp[n + 1] = '"';
    return sg_buf_append(out, tmp, n + 2);
}

static int json_point(struct sg_buf *out, int64_t t, double v)
{
    int rc = sg_buf_putc(out, '[');

    if (rc == SG_OK)
        rc = json_ts_point(out, t);
    if (rc == SG_OK)
        rc = sg_buf_putc(out, ',');
    if (rc == SG_OK)
        rc = json_value(out, v, true);
    if (rc == SG_OK)
        rc = sg_buf_putc(out, ']');
    return rc;
}

static int cmp_series_labels(const void *a, const void *b)
{
    const struct sg_series *const *x = a, *const *y = b;
    return sg_labels_cmp(&(*x)->labels, &(*y)->labels);
}

/* Pointers to the matrix's series in label order (caller frees). */
static const struct sg_series **sorted_matrix(const struct sg_value *v)
{
    const struct sg_series **order = sg_malloc((v->count ? v->count : 1) * sizeof(*order));

    if (!order)
        return NULL;
    for (size_t i = 0; i < v->count; i++)
        order[i] = &v->matrix[i];
    if (v->count > 1)
        qsort(order, v->count, sizeof(*order), cmp_series_labels);
    return order;
}

int sg_promql_format_json(const struct sg_value *v, const struct sg_promql_compat *compat,
                          struct sg_buf *out)
{
    int rc = SG_OK;

    if (!compat)
        compat = sg_promql_compat_default();
    switch (v->type) {
    case SG_VT_SCALAR:
        rc = sg_buf_puts(out, "{\"resultType\":\"scalar\",\"result\":[");
        if (rc == SG_OK)
            rc = json_float(out, (double)v->t / 1000);
        if (rc == SG_OK)
            rc = sg_buf_putc(out, ',');
        if (rc == SG_OK)
            rc = json_value(out, v->scalar, compat && compat->json_float_exponent);
        if (rc == SG_OK)
            rc = sg_buf_puts(out, "]}");
        return rc;
    case SG_VT_STRING:
        rc = sg_buf_puts(out, "{\"resultType\":\"string\",\"result\":[");
        if (rc == SG_OK)
            rc = json_float(out, (double)v->t / 1000);
        if (rc == SG_OK)
            rc = sg_buf_putc(out, ',');
        if (rc == SG_OK)
            rc = json_string(out, v->string);
        if (rc == SG_OK)
            rc = sg_buf_puts(out, "]}");
        return rc;
    case SG_VT_VECTOR:
        rc = sg_buf_puts(out, "{\"resultType\":\"vector\",\"result\":[");
        for (size_t i = 0; rc == SG_OK && i < v->count; i++) {
            if (i > 0)
                rc = sg_buf_putc(out, ',');
            if (rc == SG_OK)
                rc = sg_buf_puts(out, "{\"metric\":");
            if (rc == SG_OK)
                rc = json_labels(out, &v->vec[i].labels);
            if (rc == SG_OK)
                rc = sg_buf_puts(out, ",\"value\":");
            if (rc == SG_OK)
                rc = json_point(out, v->vec[i].t, v->vec[i].v);
            if (rc == SG_OK)
                rc = sg_buf_putc(out, '}');
        }
        if (rc == SG_OK)
            rc = sg_buf_puts(out, "]}");
        return rc;
    case SG_VT_MATRIX: {
        const struct sg_series **order = sorted_matrix(v);

        if (!order)
            return SG_ENOMEM;
        rc = sg_buf_puts(out, "{\"resultType\":\"matrix\",\"result\":[");
        for (size_t i = 0; rc == SG_OK && i < v->count; i++) {
            const struct sg_series *s = order[i];
            if (i > 0)
                rc = sg_buf_putc(out, ',');
            if (rc == SG_OK)
                rc = sg_buf_puts(out, "{\"metric\":");
            if (rc == SG_OK)
                rc = json_labels(out, &s->labels);
            if (rc == SG_OK && s->count > 0)
                rc = sg_buf_puts(out, ",\"values\":[");
            for (size_t j = 0; rc == SG_OK && j < s->count; j++) {
                if (j > 0)
                    rc = sg_buf_putc(out, ',');
                if (rc == SG_OK)
                    rc = json_point(out, s->samples[j].t, s->samples[j].v);
            }
            if (rc == SG_OK && s->count > 0)
                rc = sg_buf_putc(out, ']');
            if (rc == SG_OK)
                rc = sg_buf_putc(out, '}');
        }
        if (rc == SG_OK)
            rc = sg_buf_puts(out, "]}");
        sg_free(order);
        return rc;
    }
    default:
        return SG_EINVAL;
    }
}

/* ---- text ------------------------------------------------------------------------- */

static int text_num(struct sg_buf *out, double v)
{
    char tmp[SG_NUM_FMT_MAX];
    size_t n = sg_num_format(v, 'f', tmp, sizeof(tmp));
    return sg_buf_append(out, tmp, n);
}

static int text_ts(struct sg_buf *out, int64_t t)
{
    return text_num(out, (double)t / 1000);
}

static int cmp_strs(const void *a, const void *b)
{
    const struct sg_str *x = a, *y = b;
    return sg_str_cmp(*x, *y);
}

/* model.Metric.String(): name{a="1", b="2"}, the pairs sorted as strings. */
static int text_metric(struct sg_buf *out, const struct sg_labels *ls)
{
    struct sg_buf pairs;
    struct sg_str *parts = NULL, name = {"", 0};
    size_t n = 0, *ends = NULL;
    int rc = SG_OK;

    for (uint32_t i = 0; i < ls->count; i++) {
        if (sg_str_eq_c(ls->v[i].name, SG_METRIC_NAME))
            name = ls->v[i].value;
    }
    if (ls->count == 0 || (ls->count == 1 && name.len > 0) ||
        (ls->count == 1 && sg_str_eq_c(ls->v[0].name, SG_METRIC_NAME)))
        return ls->count == 0 ? sg_buf_puts(out, "{}") : sg_buf_append_str(out, name);
    sg_buf_init(&pairs, SIZE_MAX / 2);
    parts = sg_malloc((size_t)ls->count * sizeof(*parts));
    ends = sg_malloc((size_t)ls->count * sizeof(*ends));
    if (!parts || !ends) {
        rc = SG_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; rc == SG_OK && i < ls->count; i++) {
        if (sg_str_eq_c(ls->v[i].name, SG_METRIC_NAME))
            continue;
        rc = sg_buf_append_str(&pairs, ls->v[i].name);
        if (rc == SG_OK)
            rc = sg_buf_putc(&pairs, '=');
        if (rc == SG_OK)
            rc = sg_quote_go(ls->v[i].value, &pairs);
        ends[n++] = pairs.len;
    }
    if (rc != SG_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        size_t start = i ? ends[i - 1] : 0;
        parts[i] = sg_str_make(pairs.data + start, ends[i] - start);
    }
    qsort(parts, n, sizeof(*parts), cmp_strs);
    rc = sg_buf_append_str(out, name);
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '{');
    for (size_t i = 0; rc == SG_OK && i < n; i++) {
        if (i > 0)
            rc = sg_buf_puts(out, ", ");
        if (rc == SG_OK)
            rc = sg_buf_append_str(out, parts[i]);
    }
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '}');
out:
    sg_free(parts);
    sg_free(ends);
    sg_buf_cleanup(&pairs);
    return rc;
}

int sg_promql_format_text(const struct sg_value *v, struct sg_buf *out)
{
    int rc = SG_OK;

    switch (v->type) {
    case SG_VT_SCALAR:
        rc = sg_buf_puts(out, "scalar: ");
        if (rc == SG_OK)
            rc = text_num(out, v->scalar);
        if (rc == SG_OK)
            rc = sg_buf_puts(out, " @[");
        if (rc == SG_OK)
            rc = text_ts(out, v->t);
        if (rc == SG_OK)
            rc = sg_buf_puts(out, "]\n");
        return rc;
    case SG_VT_STRING:
        rc = sg_buf_append_str(out, v->string);
        if (rc == SG_OK)
            rc = sg_buf_putc(out, '\n');
        return rc;
    case SG_VT_VECTOR:
        for (size_t i = 0; rc == SG_OK && i < v->count; i++) {
            if (i > 0)
                rc = sg_buf_putc(out, '\n');
            if (rc == SG_OK)
                rc = text_metric(out, &v->vec[i].labels);
            if (rc == SG_OK)
                rc = sg_buf_puts(out, " => ");
            if (rc == SG_OK)
                rc = text_num(out, v->vec[i].v);
            if (rc == SG_OK)
                rc = sg_buf_puts(out, " @[");
            if (rc == SG_OK)
                rc = text_ts(out, v->vec[i].t);
            if (rc == SG_OK)
                rc = sg_buf_putc(out, ']');
        }
        if (rc == SG_OK)
            rc = sg_buf_putc(out, '\n');
        return rc;
    case SG_VT_MATRIX: {
        const struct sg_series **order = sorted_matrix(v);

        if (!order)
            return SG_ENOMEM;
        for (size_t i = 0; rc == SG_OK && i < v->count; i++) {
            const struct sg_series *s = order[i];
            if (i > 0)
                rc = sg_buf_putc(out, '\n');
            if (rc == SG_OK)
                rc = text_metric(out, &s->labels);
            if (rc == SG_OK)
                rc = sg_buf_puts(out, " =>\n");
            for (size_t j = 0; rc == SG_OK && j < s->count; j++) {
                if (j > 0)
                    rc = sg_buf_putc(out, '\n');
                if (rc == SG_OK)
                    rc = text_num(out, s->samples[j].v);
                if (rc == SG_OK)
                    rc = sg_buf_puts(out, " @[");
                if (rc == SG_OK)
                    rc = text_ts(out, s->samples[j].t);
                if (rc == SG_OK)
                    rc = sg_buf_putc(out, ']');
            }
        }
        if (rc == SG_OK)
            rc = sg_buf_putc(out, '\n');
        sg_free(order);
        return rc;
    }
    default:
        return SG_EINVAL;
    }
}
