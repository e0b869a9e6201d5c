/* src/cli/cmd_read.c - `stopgate read`: dump raw remote-read samples. */
#include "cli/cli.h"

static const struct sg_flag_def read_flags[] = {
    {"start", 0, SG_FLAG_VALUE, "T", "start time (default: one hour before --end)"},
    {"end", 0, SG_FLAG_VALUE, "T", "end time (default now)"},
    {"output", 'o', SG_FLAG_VALUE, "FORMAT", "text (default) or json"},
    SG_CLI_RR_FLAGS,
    {NULL, 0, 0, NULL, NULL},
};

const struct sg_cmd sg_cmd_read = {
    .name = "read",
    .args = "URL SELECTOR...",
    .summary = "Print the raw samples a remote-read endpoint returns for the selectors.",
    .flags = read_flags,
    .min_pos = 2,
    .max_pos = -1,
    .run = sg_cli_not_implemented,
};
