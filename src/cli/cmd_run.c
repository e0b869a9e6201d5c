/* src/cli/cmd_run.c - `stopgate run`: the watcher daemon.
 *
 * Parses the flags, sets up logging and hands over to the daemon module
 * (include/stopgate/daemon.h). Exit status: 0 after SIGTERM/SIGINT; 1 on a
 * fatal start error (config, rule files, state-dir lock, listen address)
 * or when the audit journal could not be written; 2 for usage errors.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "sg_build_config.h"
#include "sg_revision.h"
#include "stopgate/daemon.h"
#include "stopgate/log.h"

static int run_run(const struct sg_cmd_args *args)
{
    const char *path = sg_cli_flag(args, "config.file");
    const char *level = sg_cli_flag(args, "log.level");
    const char *format = sg_cli_flag(args, "log.format");
    enum sg_log_level lv = SG_LOG_INFO;
    enum sg_log_format lf = SG_LOG_LOGFMT;
    struct sg_daemon_opts o = {0};
    struct sg_daemon *d = NULL;
    struct sg_err err;
    int rc, lc;

    if (!path)
        return sg_cli_usage_error(args->cmd, "--config.file is required");
    if (level && sg_log_parse_level(level, &lv) != SG_OK)
        return sg_cli_usage_error(args->cmd, "--log.level: want debug, info, warn or error, got "
                                             "\"%s\"",
                                  level);
    if (format && sg_log_parse_format(format, &lf) != SG_OK)
        return sg_cli_usage_error(args->cmd, "--log.format: want logfmt or json, got \"%s\"",
                                  format);
    sg_log_setup(lv, lf, NULL);
    o.config_path = path;
    o.dry_run = sg_cli_flag_bool(args, "dry-run");
    o.listen_address = sg_cli_flag(args, "web.listen-address");
    o.version = SG_VERSION;
    o.revision = SG_REVISION;
    sg_err_clear(&err);
    rc = sg_daemon_new(&o, &d, &err);
    if (rc == SG_OK)
        rc = sg_daemon_run(d, &err);
    lc = sg_daemon_free(d);
    if (rc != SG_OK) {
        sg_cli_error("run: %s", err.msg);
        return SG_EXIT_FAIL;
    }
    if (lc != 0) {
        sg_log(SG_LOG_ERROR, "event loop not empty at exit", NULL);
        return SG_EXIT_FAIL;
    }
    sg_log(SG_LOG_INFO, "stopped", NULL);
    return SG_EXIT_OK;
}

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
    .run = run_run,
};
