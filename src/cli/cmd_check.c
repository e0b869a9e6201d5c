/* src/cli/cmd_check.c - `stopgate check rules FILE...`.
 *
 * Reads each rule file the way Prometheus 2.42 does and reports every
 * problem on stderr as "FILE:LINE:COL: message" (warnings as
 * "FILE:LINE:COL: warning: message"; a problem without a place, such as a
 * missing file, as "FILE: message"). A file is accepted exactly when
 * `promtool check rules` 2.42 accepts it. For each accepted file stdout
 * says, as promtool does, "Checking FILE" and "  SUCCESS: N rules found";
 * a rejected file prints nothing on stdout.
 *
 * Warnings: promtool's duplicate-rule lint (--lint=duplicate-rules, the
 * default; --lint=none turns it off), and stopgate's own: templates that
 * stopgate cannot render, `stop:` label values other than
 * pause|rollback|notify. Exit 0 without errors, 1 with errors, 3 with
 * --lint-fatal and warnings but no errors (promtool's codes).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "stopgate/rules.h"

struct check_ctx {
    size_t errors, warnings;
};

static void on_diag(const struct sg_diag *d, void *arg)
{
    struct check_ctx *c = arg;
    const char *kind = d->level == SG_DIAG_WARNING ? "warning: " : "";

    if (d->level == SG_DIAG_WARNING)
        c->warnings++;
    else
        c->errors++;
    if (d->line)
        fprintf(stderr, "%s:%u:%u: %s%s\n", d->file, d->line, d->col, kind, d->msg);
    else
        fprintf(stderr, "%s: %s%s\n", d->file, kind, d->msg);
}

static int run_check_rules(const struct sg_cmd_args *args)
{
    const char *lint = sg_cli_flag(args, "lint");
    bool lint_dups = true, failed = false, warned = false;
    struct sg_rules_load_opts opts;

    if (lint) {
        lint_dups = false;
        /* a comma-separated list, as promtool's --lint */
        const char *p = lint;
        while (*p) {
            size_t n = strcspn(p, ",");
            if ((n == 3 && strncmp(p, "all", 3) == 0) ||
                (n == 15 && strncmp(p, "duplicate-rules", 15) == 0))
                lint_dups = true;
            else if (!(n == 4 && strncmp(p, "none", 4) == 0))
                return sg_cli_usage_error(args->cmd, "unknown lint option \"%.*s\"", (int)n, p);
            p += n;
            if (*p == ',')
                p++;
        }
    }
    memset(&opts, 0, sizeof(opts));
    opts.diag = on_diag;
    opts.lint_duplicates = lint_dups;
    opts.lint_stopgate = true;
    for (size_t i = 0; i < args->npos; i++) {
        const char *path = args->pos[i];
        struct sg_ruleset *rs = sg_ruleset_new();
        struct check_ctx ctx = {0, 0};
        struct sg_err err;
        size_t nrules = 0;
        int rc;

        if (!rs) {
            sg_cli_error("out of memory");
            return SG_EXIT_FAIL;
        }
        opts.diag_arg = &ctx;
        sg_err_clear(&err);
        rc = sg_ruleset_add_file(rs, path, &opts, &nrules, &err);
        if (rc != SG_OK && ctx.errors == 0)
            fprintf(stderr, "%s\n", err.msg);
        if (rc != SG_OK) {
            failed = true;
        } else {
            printf("Checking %s\n", path);
            printf("  SUCCESS: %zu rules found\n", nrules);
            printf("\n");
        }
        if (ctx.warnings)
            warned = true;
        sg_ruleset_free(rs);
    }
    fflush(stdout);
    if (failed)
        return SG_EXIT_FAIL;
    if (warned && sg_cli_flag_bool(args, "lint-fatal"))
        return SG_EXIT_LINT;
    return SG_EXIT_OK;
}

static const struct sg_flag_def check_rules_flags[] = {
    {"lint", 0, SG_FLAG_VALUE, "OPTIONS",
     "linting checks: all, duplicate-rules (default) or none (comma-separated)"},
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
    .run = run_check_rules,
};
