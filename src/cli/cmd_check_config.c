/* src/cli/cmd_check_config.c - `stopgate check config`.
 *
 * Loads the config with every check the daemon makes, then reads every rule
 * file its releases reference. Each problem goes to stderr as
 * "FILE:LINE:COL: message" (warnings as "FILE:LINE:COL: warning: ...").
 * Exit 0 when there are no errors (warnings alone are fine), 1 on errors,
 * 3 with --lint-fatal when there are warnings. stdout says what was checked,
 * promtool-style, and stays empty on error.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "stopgate/config.h"
#include "stopgate/fs.h"

#define RULE_FILE_MAX_BYTES (16u << 20)

static int run_check_config(const struct sg_cmd_args *args)
{
    const char *path = args->pos[0];
    struct sg_config_report report;
    struct sg_config *cfg = NULL;
    struct sg_err err;
    size_t rule_files = 0, rule_errors = 0;
    int rc;

    sg_config_report_init(&report);
    sg_err_clear(&err);
    rc = sg_config_load_file_ex(path, 0, &cfg, &report, &err);
    if (rc == SG_OK) {
        /* every referenced rule file must be readable */
        for (size_t i = 0; i < cfg->releases_count; i++) {
            const struct sg_release_config *r = &cfg->releases[i];
            for (size_t j = 0; j < r->rule_paths_count; j++) {
                struct sg_buf text;
                struct sg_err e;
                sg_buf_init(&text, RULE_FILE_MAX_BYTES);
                sg_err_clear(&e);
                if (sg_fs_read_all(r->rule_paths[j], RULE_FILE_MAX_BYTES, &text, &e) != SG_OK) {
                    fprintf(stderr, "%s\n", e.msg);
                    rule_errors++;
                }
                sg_buf_cleanup(&text);
                rule_files++;
            }
        }
    }
    for (size_t i = 0; i < report.count; i++)
        fprintf(stderr, "%s\n", report.v[i].msg);
    if (report.truncated)
        fprintf(stderr, "%s: more than %d problems; the rest are not shown\n", path,
                SG_CONFIG_MAX_PROBLEMS);
    if (rc != SG_OK && report.count == 0)
        fprintf(stderr, "%s\n", err.msg);
    if (rc != SG_OK || rule_errors) {
        rc = SG_EXIT_FAIL;
    } else {
        printf("Checking %s\n", path);
        printf("  SUCCESS: %zu rule files found\n", rule_files);
        printf(" SUCCESS: %s is valid stopgate config file syntax\n", path);
        rc = report.warnings && sg_cli_flag_bool(args, "lint-fatal") ? SG_EXIT_LINT : SG_EXIT_OK;
    }
    sg_config_free(cfg);
    sg_config_report_cleanup(&report);
    return rc;
}

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
    .run = run_check_config,
};
