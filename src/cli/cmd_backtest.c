/* src/cli/cmd_backtest.c - `stopgate backtest`: replay rules over history. */
#include "cli/cli.h"

static const struct sg_flag_def backtest_flags[] = {
    {"config.file", 0, SG_FLAG_VALUE, "FILE", "configuration file (required)"},
    {"start", 0, SG_FLAG_VALUE, "T", "start time (required)"},
    {"end", 0, SG_FLAG_VALUE, "T", "end time (required)"},
    {"step", 0, SG_FLAG_VALUE, "DURATION", "evaluation step (default: evaluation_interval)"},
    {"report", 0, SG_FLAG_VALUE, "FILE", "write an HTML report"},
    {NULL, 0, 0, NULL, NULL},
};

const struct sg_cmd sg_cmd_backtest = {
    .name = "backtest",
    .summary = "Replay the rules over history and show when they would have tripped.",
    .flags = backtest_flags,
    .min_pos = 0,
    .max_pos = 0,
    .run = sg_cli_not_implemented,
};
