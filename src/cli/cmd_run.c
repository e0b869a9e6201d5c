/* src/cli/cmd_run.c - `stopgate run`: the watcher daemon. */
#include "cli/cli.h"

static const struct sg_flag_def run_flags[] = {
    {"config.file", 0, SG_FLAG_VALUE, "FILE", "configuration file (required)"},
    {"dry-run", 0, SG_FLAG_BOOL, NULL, "change nothing in the cluster; notifications say dry-run"},
    {"web.listen-address", 0, SG_FLAG_VALUE, "ADDR", "listen address (default 127.0.0.1:9097)"},
    {"log.level", 0, SG_FLAG_VALUE, "LEVEL", "debug, info, warn or error (default info)"},
    {"log.format", 0, SG_FLAG_VALUE, "FORMAT", "logfmt or json (default logfmt)"},
    {NULL, 0, 0, NULL, NULL},
};

const struct sg_cmd sg_cmd_run = {
    .name = "run",
    .summary = "Run the watcher daemon: evaluate stop conditions during waves and act on them.",
    .flags = run_flags,
    .min_pos = 0,
    .max_pos = 0,
    .run = sg_cli_not_implemented,
};
