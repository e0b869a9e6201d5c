/* src/cli/cmd_query.c - `stopgate query instant|range`. */
#include "cli/cli.h"

static const struct sg_flag_def instant_flags[] = {
    {"time", 0, SG_FLAG_VALUE, "T", "evaluation time: Unix seconds or RFC 3339 (default now)"},
    {"output", 'o', SG_FLAG_VALUE, "FORMAT", "promql (default) or json"},
    {"query.lookback-delta", 0, SG_FLAG_VALUE, "DURATION", "lookback delta (default 5m)"},
    {"query.max-samples", 0, SG_FLAG_VALUE, "N", "samples a query may hold (default 50000000)"},
    {"promql.compat", 0, SG_FLAG_VALUE, "VERSION", "PromQL behaviour of this Prometheus version (default 2.42)"},
    SG_CLI_RR_FLAGS,
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
    {NULL, 0, 0, NULL, NULL},
};

const struct sg_cmd sg_cmd_query_instant = {
    .name = "query",
    .sub = "instant",
    .args = "URL EXPR",
    .summary = "Fetch the data EXPR needs through remote read at URL and evaluate it at one time.",
    .details = "URL is the full remote-read endpoint, e.g. http://prometheus:9090/api/v1/read.\n"
               "Use -- before an expression that starts with '-'.",
    .flags = instant_flags,
    .min_pos = 2,
    .max_pos = 2,
    .run = sg_cli_not_implemented,
};

const struct sg_cmd sg_cmd_query_range = {
    .name = "query",
    .sub = "range",
    .args = "URL EXPR",
    .summary = "Fetch the data EXPR needs through remote read at URL and evaluate it over a range.",
    .details = "URL is the full remote-read endpoint, e.g. http://prometheus:9090/api/v1/read.",
    .flags = range_flags,
    .min_pos = 2,
    .max_pos = 2,
    .run = sg_cli_not_implemented,
};
