/* src/cli/cmd_test.c - `stopgate test rules`: promtool 2.42's unit tests. */
#include "cli/cli.h"

const struct sg_cmd sg_cmd_test_rules = {
    .name = "test",
    .sub = "rules",
    .args = "FILE...",
    .summary = "Unit-test rules in promtool 2.42's `test rules` format and execution model.",
    .min_pos = 1,
    .max_pos = -1,
    .run = sg_cli_not_implemented,
};
