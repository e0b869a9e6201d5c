/* src/cli/cmd_read.c - `stopgate read`: dump the raw samples a remote-read
 * endpoint returns.
 *
 *   stopgate read [--start=T] [--end=T] [-o text|json] URL SELECTOR...
 *
 * Every selector becomes one query of ONE ReadRequest over [start, end]
 * (both inclusive; --end defaults to now, --start to one hour before
 * --end). The series of all selectors are merged into one list of distinct
 * series sorted by label set, then printed:
 *   text  one line per sample: `<series> <value> <timestamp_ms>`, the value
 *         written as in the JSON form ("NaN", "+Inf", "-Inf"), `stale` for a
 *         Prometheus stale marker;
 *   json  {"resultType":"matrix","result":[{"metric":{...},"values":[[ts,"v"],...]}]}
 *         as Prometheus 2.42 prints a matrix (timestamps in seconds with
 *         three decimals when the milliseconds are not zero; values in Go's
 *         shortest 'f' form, 'e' below 1e-6 or from 1e21 on, as 2.42's
 *         jsonutil.MarshalValue; a stale marker prints as "NaN", the value
 *         it is).
 * Skipped native histogram chunks are counted on stderr. Errors: one line
 * on stderr and exit 1; usage errors exit 2.
 *
 * --write-request=FILE (kept out of the flag list, described in the
 * details) also writes the exact request body sent: snappy-compressed
 * protobuf, for replaying the same request with curl.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "stopgate/clock.h"
#include "stopgate/config.h"
#include "stopgate/duration.h"
#include "stopgate/labels.h"
#include "stopgate/num.h"
#include "stopgate/promql.h"
#include "stopgate/rr.h"

#define OUT_FLUSH (1u << 20)

static const struct sg_flag_def read_flags[] = {
    {"start", 0, SG_FLAG_VALUE, "T", "start time (default: one hour before --end)"},
    {"end", 0, SG_FLAG_VALUE, "T", "end time (default now)"},
    {"output", 'o', SG_FLAG_VALUE, "FORMAT", "text (default) or json"},
    {"max-samples", 0, SG_FLAG_VALUE, "N",
     "samples the read may return (default: remote_read.max_samples or 50000000)"},
    SG_CLI_RR_FLAGS,
    {"write-request", 0, SG_FLAG_VALUE, "FILE", NULL}, /* no help: not listed */
    {NULL, 0, 0, NULL, NULL},
};

static int series_cmp(const void *a, const void *b)
{
    const struct sg_series *x = *(const struct sg_series *const *)a;
    const struct sg_series *y = *(const struct sg_series *const *)b;
    return sg_labels_cmp(&x->labels, &y->labels);
}

/* Go's encoding/json string escaping (as Prometheus's API writes label
 * names and values): quotes, backslash, control characters, <, >, &,
 * U+2028, U+2029; invalid UTF-8 becomes U+FFFD. */
static int json_str(struct sg_buf *b, struct sg_str s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0;
    int rc = sg_buf_putc(b, '"');

    while (rc == SG_OK && i < s.len) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            if (c == '"' || c == '\\') {
                char e[2] = {'\\', (char)c};
                rc = sg_buf_append(b, e, 2);
            } else if (c == '\n') {
                rc = sg_buf_append(b, "\\n", 2);
            } else if (c == '\r') {
                rc = sg_buf_append(b, "\\r", 2);
            } else if (c == '\t') {
                rc = sg_buf_append(b, "\\t", 2);
            } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                rc = sg_buf_append(b, e, 6);
            } else {
                rc = sg_buf_putc(b, (char)c);
            }
            continue;
        }
        /* a UTF-8 sequence: validate it */
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
        uint32_t cp = n == 4 ? c & 7u : n == 3 ? c & 15u : c & 31u;
        bool ok = n >= 2 && c >= 0xc2 && c <= 0xf4 && i + n <= s.len;
        for (size_t k = 1; ok && k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                   (n == 4 && (cp < 0x10000 || cp > 0x10ffff))))
            ok = false;
        if (!ok) {
            rc = sg_buf_append(b, "\\ufffd", 6);
            i++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            rc = sg_buf_append(b, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
            i += n;
        } else {
            rc = sg_buf_append(b, p + i, n);
            i += n;
        }
    }
    return rc == SG_OK ? sg_buf_putc(b, '"') : rc;
}

/* Decimal digits of u into the end of buf[0..n); returns where they start. */
static char *u64_digits(uint64_t u, char *end)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    return end;
}

/* A matrix point's timestamp as Prometheus 2.42's JSON writes it. */
static int json_ts(struct sg_buf *b, int64_t t)
{
    uint64_t u = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    unsigned frac = (unsigned)(u % 1000);
    char tmp[32], *end = tmp + sizeof(tmp), *p = end;

    if (frac) {
        *--p = (char)('0' + frac % 10);
        *--p = (char)('0' + frac / 10 % 10);
        *--p = (char)('0' + frac / 100);
        *--p = '.';
    }
    p = u64_digits(u / 1000, p);
    if (t < 0)
        *--p = '-';
    return sg_buf_append(b, p, (size_t)(end - p));
}

/* A value as Prometheus 2.42 writes vector and matrix points
 * (util/jsonutil.MarshalValue): Go's shortest 'f' form, or 'e' when the
 * magnitude is below 1e-6 or at least 1e21. Integers below 2^53 (counters,
 * histogram buckets: most samples) are their own shortest digits and are
 * written directly; everything else goes through sg_num_format. Returns
 * the length. */
static size_t format_value(double v, char *buf, size_t n)
{
    double abs = fabs(v);
    char fmt = 'f';

    if (abs < 9007199254740992.0 && abs == floor(abs) && !(v == 0 && signbit(v))) {
        char tmp[24], *p = u64_digits((uint64_t)abs, tmp + sizeof(tmp));
        size_t len = (size_t)(tmp + sizeof(tmp) - p), o = 0;
        if (v < 0)
            buf[o++] = '-';
        memcpy(buf + o, p, len);
        buf[o + len] = '\0';
        return o + len;
    }
    if (abs != 0 && (abs < 1e-6 || abs >= 1e21))
        fmt = 'e';
    return sg_num_format(v, fmt, buf, n);
}

static int flush(struct sg_buf *b, bool force)
{
    if (b->len && (force || b->len >= OUT_FLUSH)) {
        if (fwrite(b->data, 1, b->len, stdout) != b->len)
            return SG_EIO;
        sg_buf_reset(b);
    }
    return SG_OK;
}

static int print_text(struct sg_series *const *v, size_t n, struct sg_buf *b)
{
    struct sg_buf name;
    char num[SG_NUM_FMT_MAX + 32];
    int rc = SG_OK;

    sg_buf_init(&name, 1 << 20);
    for (size_t i = 0; i < n && rc == SG_OK; i++) {
        sg_buf_reset(&name);
        rc = sg_labels_format_metric(&v[i]->labels, &name);
        if (rc == SG_OK)
            rc = sg_buf_putc(&name, ' ');
        for (size_t k = 0; k < v[i]->count && rc == SG_OK; k++) {
            const struct sg_sample *s = &v[i]->samples[k];
            size_t len;
            char ts[24], *p;
            if (sg_is_stale(s->v)) {
                memcpy(num, "stale", 6);
                len = 5;
            } else {
                len = format_value(s->v, num, SG_NUM_FMT_MAX);
            }
            num[len++] = ' ';
            p = u64_digits(s->t < 0 ? (uint64_t)0 - (uint64_t)s->t : (uint64_t)s->t,
                           ts + sizeof(ts));
            if (s->t < 0)
                *--p = '-';
            memcpy(num + len, p, (size_t)(ts + sizeof(ts) - p));
            len += (size_t)(ts + sizeof(ts) - p);
            num[len++] = '\n';
            rc = sg_buf_append(b, name.data, name.len);
            if (rc == SG_OK)
                rc = sg_buf_append(b, num, len);
            if (rc == SG_OK)
                rc = flush(b, false);
        }
    }
    sg_buf_cleanup(&name);
    return rc;
}

static int print_json(struct sg_series *const *v, size_t n, struct sg_buf *b)
{
    char num[SG_NUM_FMT_MAX + 8];
    int rc = sg_buf_puts(b, "{\"resultType\":\"matrix\",\"result\":[");

    for (size_t i = 0; i < n && rc == SG_OK; i++) {
        const struct sg_labels *ls = &v[i]->labels;
        rc = sg_buf_puts(b, i ? ",{\"metric\":{" : "{\"metric\":{");
        for (uint32_t l = 0; l < ls->count && rc == SG_OK; l++) {
            if (l)
                rc = sg_buf_putc(b, ',');
            if (rc == SG_OK)
                rc = json_str(b, ls->v[l].name);
            if (rc == SG_OK)
                rc = sg_buf_putc(b, ':');
            if (rc == SG_OK)
                rc = json_str(b, ls->v[l].value);
        }
        if (rc == SG_OK)
            rc = sg_buf_puts(b, "},\"values\":[");
        for (size_t k = 0; k < v[i]->count && rc == SG_OK; k++) {
            const struct sg_sample *s = &v[i]->samples[k];
            size_t len;
            rc = sg_buf_puts(b, k ? ",[" : "[");
            if (rc == SG_OK)
                rc = json_ts(b, s->t);
            num[0] = ',';
            num[1] = '"';
            len = 2 + format_value(s->v, num + 2, sizeof(num) - 4);
            num[len++] = '"';
            num[len++] = ']';
            if (rc == SG_OK)
                rc = sg_buf_append(b, num, len);
            if (rc == SG_OK)
                rc = flush(b, false);
        }
        if (rc == SG_OK)
            rc = sg_buf_puts(b, "]}");
    }
    if (rc == SG_OK)
        rc = sg_buf_puts(b, "]}\n");
    return rc;
}

static int run_read(const struct sg_cmd_args *args)
{
    const char *url = args->pos[0], *v, *format = sg_cli_flag(args, "output");
    const char *req_file = sg_cli_flag(args, "write-request");
    struct sg_arena a;
    struct sg_rr_options o;
    struct sg_config *cfg = NULL;
    struct sg_rr_client *client = NULL;
    struct sg_rr_query *qs = NULL;
    struct sg_rr_result res;
    struct sg_series **all = NULL;
    struct sg_buf out;
    struct sg_err err;
    size_t nsel = args->npos - 1, total = 0, n = 0;
    int64_t start, end;
    bool json;
    int rc = SG_EXIT_FAIL;

    sg_arena_init(&a, 0);
    sg_buf_init(&out, (size_t)1 << 30);
    sg_err_clear(&err);
    if (format && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        sg_cli_error("-o: unknown output format \"%s\" (expected text or json)", format);
        goto out;
    }
    json = format && strcmp(format, "json") == 0;
    end = sg_clock_wall_ms();
    if ((v = sg_cli_flag(args, "end")) != NULL && sg_time_parse(sg_str_c(v), &end, &err) != SG_OK) {
        sg_cli_error("--end: %s", err.msg);
        goto out;
    }
    start = end - 3600 * 1000;
    if ((v = sg_cli_flag(args, "start")) != NULL &&
        sg_time_parse(sg_str_c(v), &start, &err) != SG_OK) {
        sg_cli_error("--start: %s", err.msg);
        goto out;
    }
    if (end < start) {
        sg_cli_error("end time %s is before start time %s", sg_cli_flag(args, "end"),
                     sg_cli_flag(args, "start") ? sg_cli_flag(args, "start") : "(one hour before)");
        goto out;
    }
    if (sg_cli_rr_options(args, url, &a, &o, &cfg, &err) != SG_OK) {
        sg_cli_error("%s", err.msg);
        goto out;
    }
    if ((v = sg_cli_flag(args, "max-samples")) != NULL) {
        int64_t max;
        if (sg_num_parse_int(sg_str_c(v), &max) != SG_OK || max <= 0) {
            sg_cli_error("--max-samples=%s: want a positive integer", v);
            goto out;
        }
        o.max_samples = (size_t)max;
    }
    qs = sg_arena_alloc_array(&a, nsel, sizeof(*qs));
    if (!qs) {
        sg_cli_error("out of memory");
        goto out;
    }
    for (size_t i = 0; i < nsel; i++) {
        const char *text = args->pos[i + 1];
        struct sg_matcher *ms;
        size_t nm;
        char name[32];
        snprintf(name, sizeof(name), "selector %zu", i + 1);
        if (sg_promql_parse_selector(sg_str_c(text), nsel > 1 ? name : "selector", &a, NULL, &ms,
                                     &nm, &err) != SG_OK) {
            sg_cli_error("%s", err.msg);
            goto out;
        }
        qs[i].start_ms = start;
        qs[i].end_ms = end;
        qs[i].matchers = ms;
        qs[i].nmatchers = nm;
        qs[i].hints = NULL;
    }
    if (sg_rr_client_new(&o, &client, &err) != SG_OK) {
        sg_cli_error("%s", err.msg);
        goto out;
    }
    if (req_file) {
        struct sg_buf body;
        sg_buf_init(&body, (size_t)64 << 20);
        if (sg_rr_build_request(client, qs, nsel, &body, &err) != SG_OK ||
            sg_cli_write_file(req_file, body.data, body.len, &err) != SG_OK) {
            sg_buf_cleanup(&body);
            sg_cli_error("--write-request: %s", err.msg);
            goto out;
        }
        sg_buf_cleanup(&body);
    }
    if (sg_rr_read(client, qs, nsel, &a, &res, &err) != SG_OK) {
        sg_cli_error("%s", err.msg);
        goto out;
    }
    if (res.stats.skipped_histogram_chunks)
        fprintf(stderr,
                "stopgate: skipped %llu native histogram chunk%s (only float samples are read)\n",
                (unsigned long long)res.stats.skipped_histogram_chunks,
                res.stats.skipped_histogram_chunks == 1 ? "" : "s");
    /* one list of distinct series across all selectors, by label set */
    for (size_t i = 0; i < res.count; i++)
        total += res.sets[i].count;
    all = sg_calloc(total ? total : 1, sizeof(*all));
    if (!all) {
        sg_cli_error("out of memory");
        goto out;
    }
    for (size_t i = 0; i < res.count; i++)
        for (size_t k = 0; k < res.sets[i].count; k++)
            all[n++] = &res.sets[i].v[k];
    if (nsel > 1) {
        size_t o2 = 0;
        qsort(all, n, sizeof(*all), series_cmp);
        for (size_t i = 0; i < n; i++) /* the same window: equal series hold equal samples */
            if (!o2 || sg_labels_cmp(&all[o2 - 1]->labels, &all[i]->labels) != 0)
                all[o2++] = all[i];
        n = o2;
    }
    if ((json ? print_json(all, n, &out) : print_text(all, n, &out)) != SG_OK ||
        flush(&out, true) != SG_OK || fflush(stdout) != 0) {
        sg_cli_error("cannot write the output");
        goto out;
    }
    rc = SG_EXIT_OK;
out:
    sg_free(all);
    sg_buf_cleanup(&out);
    sg_rr_client_free(client);
    sg_config_free(cfg);
    sg_arena_cleanup(&a);
    return rc;
}

const struct sg_cmd sg_cmd_read = {
    .name = "read",
    .args = "URL SELECTOR...",
    .summary = "Print the raw samples a remote-read endpoint returns for the selectors.",
    .details = "URL is the full remote-read endpoint, e.g. http://prometheus:9090/api/v1/read.\n"
               "Prints one line per sample: <series> <value> <timestamp_ms> (`stale` for a stale\n"
               "marker); -o json prints a Prometheus matrix of the distinct series.\n"
               "--write-request=FILE also writes the exact request body sent (snappy-compressed\n"
               "protobuf), so that the same request can be replayed with curl.",
    .flags = read_flags,
    .min_pos = 2,
    .max_pos = -1,
    .run = run_read,
};
