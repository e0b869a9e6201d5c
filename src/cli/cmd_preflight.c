/* src/cli/cmd_preflight.c - `stopgate preflight`: rollout gates before a wave. */
#include "cli/cli.h"

static const struct sg_flag_def preflight_flags[] = {
    {"config.file", 0, SG_FLAG_VALUE, "FILE", "configuration file (required)"},
    {"release", 0, SG_FLAG_VALUE, "NAME", "release to check (required)"},
    {"values", 0, SG_FLAG_MULTI, "FILE", "values file of the upcoming upgrade"},
    {"chart", 0, SG_FLAG_VALUE, "DIR", "chart directory of the upcoming upgrade"},
    {NULL, 0, 0, NULL, NULL},
};

const struct sg_cmd sg_cmd_preflight = {
    .name = "preflight",
    .summary = "Check every rollout gate, print a PASS/FAIL table and record the rollback plan.",
    .flags = preflight_flags,
    .min_pos = 0,
    .max_pos = 0,
    .run = sg_cli_not_implemented,
};
