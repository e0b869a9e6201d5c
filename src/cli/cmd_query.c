/* src/cli/cmd_query.c - `stopgate query instant|range`.
 *
 * parse EXPR -> plan the selections -> ONE remote-read request for all of
 * them (none when the expression has no selector) -> evaluate -> print in
 * promtool's form or as the `data` object of Prometheus's query API.
 * Remote-read settings come from --config.file's remote_read: first, then
 * the flags (sg_cli_rr_options).
 * Errors are one line on stderr ("stopgate: query instant: ..."), exit 1;
 * nothing is cached between runs.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "stopgate/clock.h"
#include "stopgate/config.h"
#include "stopgate/duration.h"
#include "stopgate/num.h"
#include "stopgate/promql.h"
#include "stopgate/rr.h"

#define QUERY_ARENA_MAX ((size_t)16 << 30)
#define OUTPUT_MAX      ((size_t)8 << 30)
#define MAX_POINTS      11000 /* Prometheus's limit on points per series of a range query */

static const struct sg_flag_def instant_flags[] = {
    {"time", 0, SG_FLAG_VALUE, "T", "evaluation time: Unix seconds or RFC 3339 (default now)"},
    {"output", 'o', SG_FLAG_VALUE, "FORMAT", "promql (default) or json"},
    {"query.lookback-delta", 0, SG_FLAG_VALUE, "DURATION", "lookback delta (default 5m)"},
    {"query.max-samples", 0, SG_FLAG_VALUE, "N", "samples a query may hold (default 50000000)"},
    {"promql.compat", 0, SG_FLAG_VALUE, "VERSION", "PromQL behaviour of this Prometheus version (default 2.42)"},
    SG_CLI_RR_FLAGS,
    {"write-request", 0, SG_FLAG_VALUE, "FILE", NULL}, /* no help: described in the details */
    {NULL, 0, 0, NULL, NULL},
};

static const struct sg_flag_def range_flags[] = {
    {"start", 0, SG_FLAG_VALUE, "T", "start time: Unix seconds or RFC 3339 (required)"},
    {"end", 0, SG_FLAG_VALUE, "T", "end time: Unix seconds or RFC 3339 (required)"},
    {"step", 0, SG_FLAG_VALUE, "DURATION", "resolution step (required)"},
    {"output", 'o', SG_FLAG_VALUE, "FORMAT", "promql (default) or json"},
    {"query.lookback-delta", 0, SG_FLAG_VALUE, "DURATION", "lookback delta (default 5m)"},
    {"query.max-samples", 0, SG_FLAG_VALUE, "N", "samples a query may hold (default 50000000)"},
    {"promql.compat", 0, SG_FLAG_VALUE, "VERSION", "PromQL behaviour of this Prometheus version (default 2.42)"},
    SG_CLI_RR_FLAGS,
    {"write-request", 0, SG_FLAG_VALUE, "FILE", NULL}, /* no help: described in the details */
    {NULL, 0, 0, NULL, NULL},
};

struct query_ctx {
    const struct sg_cmd_args *args;
    const char *name;       /* "query instant" */
    struct sg_config *cfg;  /* --config.file, NULL without it */
    struct sg_rr_options rr;
    struct sg_promql_opts popts;
    bool json;
};

static int fail(const struct query_ctx *q, const char *fmt, ...) SG_PRINTF(2, 3);
static int fail(const struct query_ctx *q, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sg_cli_error("%s: %s", q->name, msg);
    return SG_EXIT_FAIL;
}

static int parse_time_flag(const struct query_ctx *q, const char *flag, int64_t *out)
{
    const char *v = sg_cli_flag(q->args, flag);
    struct sg_err err;

    sg_err_clear(&err);
    if (sg_time_parse(sg_str_c(v), out, &err) != SG_OK)
        return fail(q, "--%s: %s", flag, err.msg);
    return SG_EXIT_OK;
}

static int parse_duration_flag(const struct query_ctx *q, const char *flag, int64_t *out)
{
    const char *v = sg_cli_flag(q->args, flag);
    struct sg_err err;

    sg_err_clear(&err);
    if (sg_duration_parse(sg_str_c(v), out, &err) != SG_OK)
        return fail(q, "--%s: %s", flag, err.msg);
    return SG_EXIT_OK;
}

static int setup_rr(struct query_ctx *q, struct sg_arena *arena)
{
    struct sg_err err;

    sg_err_clear(&err);
    if (sg_cli_rr_options(q->args, q->args->pos[0], arena, &q->rr, &q->cfg, &err) != SG_OK)
        return fail(q, "%s", err.msg);
    return SG_EXIT_OK;
}

static int setup_engine(struct query_ctx *q)
{
    const char *v;

    if ((v = sg_cli_flag(q->args, "output")) != NULL) {
        if (strcmp(v, "json") == 0)
            q->json = true;
        else if (strcmp(v, "promql") != 0)
            return fail(q, "--output=%s: want promql or json", v);
    }
    if (sg_cli_flag(q->args, "query.lookback-delta")) {
        int64_t ms;
        if (parse_duration_flag(q, "query.lookback-delta", &ms) != SG_EXIT_OK)
            return SG_EXIT_FAIL;
        if (ms <= 0)
            return fail(q, "--query.lookback-delta must be positive");
        q->popts.lookback_ms = ms;
    }
    if ((v = sg_cli_flag(q->args, "query.max-samples")) != NULL) {
        int64_t n;
        if (sg_num_parse_int(sg_str_c(v), &n) != SG_OK || n <= 0)
            return fail(q, "--query.max-samples=%s: want a positive integer", v);
        q->popts.max_samples = (size_t)n;
    }
    q->popts.compat = sg_promql_compat_default();
    if ((v = sg_cli_flag(q->args, "promql.compat")) != NULL) {
        q->popts.compat = sg_promql_compat_find(v);
        if (!q->popts.compat)
            return fail(q, "--promql.compat=%s: unknown version (known: %s)", v,
                        sg_promql_compat_list());
    }
    return SG_EXIT_OK;
}

/* Fetch every selection in one request; sets[i] for selection i. */
static int fetch(struct query_ctx *q, const struct sg_promql_selection *sels, size_t n,
                 struct sg_arena *arena, struct sg_series_set **sets)
{
    struct sg_rr_client *client = NULL;
    struct sg_rr_query *qs;
    struct sg_rr_hints *hints;
    struct sg_rr_result res;
    struct sg_err err;

    *sets = NULL;
    if (n == 0)
        return SG_EXIT_OK;
    qs = sg_arena_alloc_array(arena, n, sizeof(*qs));
    hints = sg_arena_alloc_array(arena, n, sizeof(*hints));
    if (!qs || !hints)
        return fail(q, "out of memory");
    for (size_t i = 0; i < n; i++)
        sg_rr_query_from_selection(&sels[i], &qs[i], &hints[i]);
    sg_err_clear(&err);
    if (q->popts.max_samples > q->rr.max_samples) /* the read may bring what the query may hold */
        q->rr.max_samples = q->popts.max_samples;
    if (sg_rr_client_new(&q->rr, &client, &err) != SG_OK)
        return fail(q, "%s", err.msg);
    if (sg_cli_flag(q->args, "write-request")) {
        struct sg_buf body;
        int rc;

        sg_buf_init(&body, (size_t)64 << 20);
        rc = sg_rr_build_request(client, qs, n, &body, &err);
        if (rc == SG_OK)
            rc = sg_cli_write_file(sg_cli_flag(q->args, "write-request"), body.data, body.len, &err);
        sg_buf_cleanup(&body);
        if (rc != SG_OK) {
            sg_rr_client_free(client);
            return fail(q, "--write-request: %s", err.msg);
        }
    }
    if (sg_rr_read(client, qs, n, arena, &res, &err) != SG_OK) {
        sg_rr_client_free(client);
        return fail(q, "%s", err.msg);
    }
    sg_rr_client_free(client);
    if (res.count != n)
        return fail(q, "remote read from %s: %zu results for %zu queries", q->rr.url, res.count, n);
    *sets = res.sets;
    return SG_EXIT_OK;
}

static int print_value(struct query_ctx *q, const struct sg_value *v)
{
    struct sg_buf out;
    int rc;

    sg_buf_init(&out, OUTPUT_MAX);
    if (q->json) {
        rc = sg_promql_format_json(v, q->popts.compat, &out);
        if (rc == SG_OK)
            rc = sg_buf_putc(&out, '\n');
    } else {
        rc = sg_promql_format_text(v, &out);
    }
    if (rc != SG_OK) {
        sg_buf_cleanup(&out);
        return fail(q, "formatting the result: %s", sg_strerror(rc));
    }
    if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len) {
        sg_buf_cleanup(&out);
        return fail(q, "writing the result failed");
    }
    sg_buf_cleanup(&out);
    return SG_EXIT_OK;
}

static void cleanup(struct query_ctx *q)
{
    sg_config_free(q->cfg);
}

static int run_query(const struct sg_cmd_args *args, bool range)
{
    struct query_ctx q;
    struct sg_arena arena;
    struct sg_node *expr = NULL;
    struct sg_promql_selection *sels = NULL;
    struct sg_series_set *sets = NULL;
    struct sg_promql_parse_opts po = {0};
    struct sg_value val;
    struct sg_err err;
    const char *text = args->pos[1];
    int64_t start = 0, end = 0, step = 0;
    size_t nsel = 0;
    int rc;

    memset(&q, 0, sizeof(q));
    q.args = args;
    q.name = range ? "query range" : "query instant";
    sg_arena_init(&arena, QUERY_ARENA_MAX);
    rc = setup_engine(&q);
    if (rc == SG_EXIT_OK)
        rc = setup_rr(&q, &arena);
    if (rc != SG_EXIT_OK)
        goto out;
    /* a query allowed more samples than the decoder's default may read them */
    if (q.popts.max_samples > (q.rr.max_samples ? q.rr.max_samples : SG_RR_DEFAULT_MAX_SAMPLES))
        q.rr.max_samples = q.popts.max_samples;
    if (range) {
        if (!sg_cli_flag(args, "start") || !sg_cli_flag(args, "end") || !sg_cli_flag(args, "step")) {
            rc = sg_cli_usage_error(args->cmd, "--start, --end and --step are required");
            goto out;
        }
        if (parse_time_flag(&q, "start", &start) != SG_EXIT_OK ||
            parse_time_flag(&q, "end", &end) != SG_EXIT_OK ||
            parse_duration_flag(&q, "step", &step) != SG_EXIT_OK) {
            rc = SG_EXIT_FAIL;
            goto out;
        }
        if (end < start) {
            rc = fail(&q, "end timestamp must not be before start time");
            goto out;
        }
        if (step <= 0) {
            rc = fail(&q, "zero or negative query resolution step widths are not accepted. Try a "
                          "positive integer");
            goto out;
        }
        if ((end - start) / step > MAX_POINTS) {
            rc = fail(&q, "exceeded maximum resolution of 11,000 points per timeseries. Try "
                          "decreasing the query resolution (?step=XX)");
            goto out;
        }
    } else if (sg_cli_flag(args, "time")) {
        if (parse_time_flag(&q, "time", &start) != SG_EXIT_OK) {
            rc = SG_EXIT_FAIL;
            goto out;
        }
        end = start;
    } else {
        start = end = sg_clock_wall_ms();
    }
    po.compat = q.popts.compat;
    sg_err_clear(&err);
    if (sg_promql_parse(sg_str_c(text), "<expr>", &arena, &po, &expr, &err) != SG_OK) {
        rc = fail(&q, "%s", err.msg);
        goto out;
    }
    if (range && expr->type != SG_VT_SCALAR && expr->type != SG_VT_VECTOR) {
        rc = fail(&q, "invalid expression type \"%s\" for range query, must be Scalar or instant "
                      "Vector",
                  expr->type == SG_VT_MATRIX ? "range vector" : "string");
        goto out;
    }
    if (sg_promql_plan(expr, start, end, range ? step : 0, &q.popts, &arena, &sels, &nsel, &err) !=
        SG_OK) {
        rc = fail(&q, "%s", err.msg);
        goto out;
    }
    rc = fetch(&q, sels, nsel, &arena, &sets);
    if (rc != SG_EXIT_OK)
        goto out;
    sg_err_clear(&err);
    if (range)
        rc = sg_promql_eval_range(expr, start, end, step, &q.popts, sets, nsel, &arena, &val, &err);
    else
        rc = sg_promql_eval_instant(expr, start, &q.popts, sets, nsel, &arena, &val, &err);
    if (rc != SG_OK) {
        rc = fail(&q, "%s", err.msg);
        goto out;
    }
    rc = print_value(&q, &val);
out:
    cleanup(&q);
    sg_arena_cleanup(&arena);
    return rc;
}

static int run_instant(const struct sg_cmd_args *args)
{
    return run_query(args, false);
}

static int run_range(const struct sg_cmd_args *args)
{
    return run_query(args, true);
}

const struct sg_cmd sg_cmd_query_instant = {
    .name = "query",
    .sub = "instant",
    .args = "URL EXPR",
    .summary = "Fetch the data EXPR needs through remote read at URL and evaluate it at one time.",
    .details = "URL is the full remote-read endpoint, e.g. http://prometheus:9090/api/v1/read.\n"
               "Use -- before an expression that starts with '-'.\n"
               "--write-request=FILE also writes the exact request body sent (snappy-compressed\n"
               "protobuf), so that the same request can be replayed with curl.",
    .flags = instant_flags,
    .min_pos = 2,
    .max_pos = 2,
    .run = run_instant,
};

const struct sg_cmd sg_cmd_query_range = {
    .name = "query",
    .sub = "range",
    .args = "URL EXPR",
    .summary = "Fetch the data EXPR needs through remote read at URL and evaluate it over a range.",
    .details = "URL is the full remote-read endpoint, e.g. http://prometheus:9090/api/v1/read.\n"
               "--write-request=FILE also writes the exact request body sent (snappy-compressed\n"
               "protobuf), so that the same request can be replayed with curl.",
    .flags = range_flags,
    .min_pos = 2,
    .max_pos = 2,
    .run = run_range,
};
