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
 * The printing itself is sg_rr_printer's (src/rr/print.c). With one
 * selector and no external labels to strip, the series are printed as the
 * decoder hands them over instead of being kept: a streamed answer while
 * it arrives (the protocol sends series sorted and whole, which is the
 * order printed); a SAMPLES answer, which promises no order, on the
 * printer's own thread, while it arrives in text form - in the order the
 * server sent the series - and in label order at its end in JSON form (a
 * matrix is sorted and holds each label set once). Otherwise the
 * result is read whole, merged across selectors, printed. Skipped native
 * histogram chunks are counted on stderr. Errors: one line on stderr and
 * exit 1 (an error after printing began leaves what was printed); usage
 * errors exit 2.
 *
 * --write-request=FILE (kept out of the flag list, described in the
 * details) also writes the exact request body sent: snappy-compressed
 * protobuf, for replaying the same request with curl.
 */
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

/* on_answer: a SAMPLES answer is printed on the printer's own thread. The
 * server sent it whole before its first byte (Prometheus encodes it all
 * first), so the second core is free, and formatting is most of the
 * work left. A streamed answer is decoded and printed on this thread
 * while the server is still producing it on the other core. */
static int answer_type(enum sg_rr_response_type type, void *arg, struct sg_err *err)
{
    return type == SG_RR_RESPONSE_SAMPLES ? sg_rr_printer_background(arg, err) : SG_OK;
}

/* on_series: a series printed as the decoder hands it over. */
static int print_handed(size_t query, const struct sg_series *s, void *arg, struct sg_err *err)
{
    (void)query;
    return sg_rr_printer_series(arg, s, err);
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
    struct sg_rr_printer *pr = NULL;
    struct sg_err err;
    size_t nsel = args->npos - 1, total = 0, n = 0;
    int64_t start, end;
    bool json;
    int rc = SG_EXIT_FAIL;

    sg_arena_init(&a, 0);
    sg_err_clear(&err);
    if (format && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        sg_cli_error("-o: unknown output format \"%s\" (expected text or json)", format);
        goto out;
    }
    json = format && strcmp(format, "json") == 0;
    if (sg_rr_printer_new(stdout, json, &pr, &err) != SG_OK) {
        sg_cli_error("%s", err.msg);
        goto out;
    }
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
    /* one selector without external labels to drop: the series are
     * printed as they are handed over (a streamed answer, and in text a
     * SAMPLES answer, while it arrives) */
    if (nsel == 1 && o.nexternal_labels == 0) {
        o.on_series = print_handed;
        o.on_series_arg = pr;
        o.on_series_any_order = !json;
        o.on_answer = answer_type;
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
    for (size_t i = 0; i < n; i++) {
        if (sg_rr_printer_series(pr, all[i], &err) != SG_OK) {
            sg_cli_error("%s", err.msg);
            goto out;
        }
    }
    if (sg_rr_printer_end(pr, &err) != SG_OK) {
        sg_cli_error("%s", err.msg);
        goto out;
    }
    rc = SG_EXIT_OK;
out:
    sg_free(all);
    sg_rr_printer_free(pr);
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
