/* src/cli/cmd_gate.c - `stopgate gate` and `stopgate resume`: pipelines ask
 * the daemon. */
#include "cli/cli.h"

static const struct sg_flag_def gate_flags[] = {
    {"web.url", 0, SG_FLAG_VALUE, "URL", "daemon URL (default http://127.0.0.1:9097)"},
    {"web.token-file", 0, SG_FLAG_VALUE, "FILE", "bearer token file"},
    {"wait", 0, SG_FLAG_VALUE, "DURATION", "wait up to this long for the gate to open"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct sg_flag_def resume_flags[] = {
    {"web.url", 0, SG_FLAG_VALUE, "URL", "daemon URL (default http://127.0.0.1:9097)"},
    {"web.token-file", 0, SG_FLAG_VALUE, "FILE", "bearer token file"},
    {NULL, 0, 0, NULL, NULL},
};

const struct sg_cmd sg_cmd_gate = {
    .name = "gate",
    .args = "RELEASE",
    .summary = "Is the release's gate open? Exit 0 open, 1 halted, 2 unknown.",
    .flags = gate_flags,
    .min_pos = 1,
    .max_pos = 1,
    .run = sg_cli_not_implemented,
};

const struct sg_cmd sg_cmd_resume = {
    .name = "resume",
    .args = "RELEASE",
    .summary = "Lift a halt of the release (a person decides).",
    .flags = resume_flags,
    .min_pos = 1,
    .max_pos = 1,
    .run = sg_cli_not_implemented,
};
