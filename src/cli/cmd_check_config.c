/* src/cli/cmd_check_config.c - `stopgate check config`. */
#include "cli/cli.h"

static const struct sg_flag_def check_config_flags[] = {
    {"lint-fatal", 0, SG_FLAG_BOOL, NULL, "make warnings fatal (exit 3)"},
    {NULL, 0, 0, NULL, NULL},
};

const struct sg_cmd sg_cmd_check_config = {
    .name = "check",
    .sub = "config",
    .args = "FILE",
    .summary = "Check a configuration file and every rule file it references.",
    .flags = check_config_flags,
    .min_pos = 1,
    .max_pos = 1,
    .run = sg_cli_not_implemented,
};
