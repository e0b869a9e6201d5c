/* src/cli/cmd_check.c - `stopgate check rules`. */
#include "cli/cli.h"

static const struct sg_flag_def check_rules_flags[] = {
    {"lint-fatal", 0, SG_FLAG_BOOL, NULL, "make warnings fatal (exit 3)"},
    {NULL, 0, 0, NULL, NULL},
};

const struct sg_cmd sg_cmd_check_rules = {
    .name = "check",
    .sub = "rules",
    .args = "FILE...",
    .summary = "Check Prometheus rule files (accepts exactly what promtool 2.42 accepts).",
    .flags = check_rules_flags,
    .min_pos = 1,
    .max_pos = -1,
    .run = sg_cli_not_implemented,
};
