/* src/cli/cmd_check_config.c - `stopgate check config`.
 *
 * Loads the config with every check the daemon makes (PromQL in the
 * config, rollback.schema_version_query, is parsed too), and checks every rule
 * file its releases reference with the rules module's loader (as `check
 * rules` does). Each problem goes to stderr as "FILE:LINE:COL: message"
 * (warnings as "FILE:LINE:COL: warning: message"). Exit 0 when there are
 * no errors (warnings alone are fine), 1 on errors, 3 with --lint-fatal
 * when there are warnings. stdout says what was checked, promtool-style,
 * and stays empty on error.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "stopgate/config.h"
#include "stopgate/duration.h"
#include "stopgate/promql.h"
#include "stopgate/rules.h"

struct tally {
    size_t errors, warnings, diags;
};

static void on_diag(const struct sg_diag *d, void *arg)
{
    struct tally *t = arg;
    const char *w = d->level == SG_DIAG_WARNING ? "warning: " : "";

    t->diags++;
    if (d->level == SG_DIAG_WARNING)
        t->warnings++;
    else
        t->errors++;
    if (d->file && d->line)
        fprintf(stderr, "%s:%u:%u: %s%s\n", d->file, d->line, d->col, w, d->msg);
    else if (d->file)
        fprintf(stderr, "%s: %s%s\n", d->file, w, d->msg);
    else
        fprintf(stderr, "%s%s\n", w, d->msg);
}

/* Check one rule file with the rules module (what `check rules` does).
 * Returns the number of rules in it. */
static size_t check_rule_file(const char *path, struct tally *t)
{
    struct sg_rules_load_opts opts;
    struct sg_ruleset *rs = sg_ruleset_new();
    struct sg_err err;
    size_t nrules = 0, before = t->diags;
    int rc;

    if (!rs) {
        fprintf(stderr, "%s: out of memory\n", path);
        t->errors++;
        return 0;
    }
    memset(&opts, 0, sizeof(opts));
    opts.diag = on_diag;
    opts.diag_arg = t;
    opts.lint_duplicates = true;
    opts.lint_stopgate = true;
    sg_err_clear(&err);
    rc = sg_ruleset_add_file(rs, path, &opts, &nrules, &err);
    sg_ruleset_free(rs);
    if (rc != SG_OK && t->diags == before) {
        fprintf(stderr, "%s\n", err.msg[0] ? err.msg : sg_strerror(rc));
        t->errors++;
    }
    return nrules;
}

/* The daemon keeps recorded series and ALERTS / ALERTS_FOR_STATE in its
 * local store as long as the longest range that reads them, but at most
 * 24h (SG_DAEMON_RETENTION_MAX). A rule that reaches further back into a
 * recorded series sees less than Prometheus would: warn. */
#define LOCAL_KEEP_MS INT64_C(86400000)

static bool is_local_name(const struct sg_ruleset *rs, struct sg_str name)
{
    const struct sg_rule_group *g;
    size_t ng;

    if (sg_str_eq_c(name, "ALERTS") || sg_str_eq_c(name, "ALERTS_FOR_STATE"))
        return true;
    g = sg_ruleset_groups(rs, &ng);
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < g[i].nrules; j++)
            if (g[i].rules[j].kind == SG_RULE_RECORD && sg_str_eq(g[i].rules[j].name, name))
                return true;
    return false;
}

/* Warn for every selector of the release's rules that reads a local
 * series further back than it is kept. */
static void check_local_ranges(const struct sg_config *cfg, const struct sg_release_config *r,
                               struct tally *t)
{
    const int64_t now = INT64_C(4000000000000); /* any time far from 0 */
    struct sg_rules_load_opts lopts;
    struct sg_ruleset *rs = sg_ruleset_new();
    const struct sg_rule_group *g;
    struct sg_promql_opts popts;
    struct sg_arena arena;
    size_t ng;

    if (!rs)
        return;
    memset(&lopts, 0, sizeof(lopts));
    for (size_t j = 0; j < r->rule_paths_count; j++) {
        if (sg_ruleset_add_file(rs, r->rule_paths[j], &lopts, NULL, NULL) != SG_OK) {
            sg_ruleset_free(rs); /* its errors were reported already */
            return;
        }
    }
    memset(&popts, 0, sizeof(popts));
    popts.lookback_ms = cfg->lookback_delta_ms;
    popts.subquery_step_ms = cfg->evaluation_interval_ms;
    sg_arena_init(&arena, 64u << 20);
    g = sg_ruleset_groups(rs, &ng);
    for (size_t i = 0; i < ng; i++) {
        for (size_t j = 0; j < g[i].nrules; j++) {
            const struct sg_rule *rule = &g[i].rules[j];
            struct sg_promql_selection *sel;
            size_t nsel;
            if (sg_promql_plan(rule->expr, now, now, 0, &popts, &arena, &sel, &nsel, NULL) !=
                SG_OK)
                continue;
            for (size_t k = 0; k < nsel; k++) {
                struct sg_str name = {"", 0};
                char d[SG_DURATION_FMT_MAX];
                struct sg_diag diag;
                char msg[512];
                for (size_t m = 0; m < sel[k].nmatchers; m++)
                    if (sel[k].matchers[m].type == SG_MATCH_EQ &&
                        sg_str_eq_c(sel[k].matchers[m].name, SG_METRIC_NAME))
                        name = sel[k].matchers[m].value;
                if (!name.len || !is_local_name(rs, name) || now - sel[k].mint_ms <= LOCAL_KEEP_MS)
                    continue;
                sg_duration_format(now - sel[k].mint_ms, d, sizeof(d));
                snprintf(msg, sizeof(msg),
                         "rule \"%.*s\" reads %.*s back %s, but stopgate keeps recorded "
                         "series and ALERTS for at most 24h",
                         (int)rule->name.len, rule->name.ptr, (int)name.len, name.ptr, d);
                diag.level = SG_DIAG_WARNING;
                diag.file = rule->file;
                diag.line = rule->line;
                diag.col = rule->col;
                diag.msg = msg;
                on_diag(&diag, t);
            }
            sg_arena_reset(&arena);
        }
    }
    sg_arena_cleanup(&arena);
    sg_ruleset_free(rs);
}

/* The config's PromQL expressions are parsed and type-checked as rules
 * are (the config module cannot call the parser itself). */
static int check_expr(void *arg, const char *expr, struct sg_err *err)
{
    struct sg_arena arena;
    struct sg_node *node;
    int rc;

    (void)arg;
    sg_arena_init(&arena, 16u << 20);
    rc = sg_promql_parse(sg_str_c(expr), "<expr>", &arena, NULL, &node, err);
    sg_arena_cleanup(&arena);
    return rc;
}

static int run_check_config(const struct sg_cmd_args *args)
{
    const char *path = args->pos[0];
    struct sg_config_report report;
    struct sg_config_opts opts;
    struct sg_config *cfg = NULL;
    struct sg_err err;
    struct tally t = {0, 0, 0};
    size_t rule_files = 0, nfiles = 0;
    struct {
        const char *path;
        size_t rules;
    } *files = NULL;
    int rc;

    sg_config_report_init(&report);
    sg_err_clear(&err);
    memset(&opts, 0, sizeof(opts));
    opts.check_expr = check_expr;
    rc = sg_config_load_file_opts(path, &opts, &cfg, &report, &err);
    for (size_t i = 0; i < report.count; i++)
        fprintf(stderr, "%s\n", report.v[i].msg);
    if (report.truncated)
        fprintf(stderr, "%s: more than %d problems; the rest are not shown\n", path,
                SG_CONFIG_MAX_PROBLEMS);
    if (rc != SG_OK && report.count == 0)
        fprintf(stderr, "%s\n", err.msg);
    if (rc == SG_OK) {
        for (size_t i = 0; i < cfg->releases_count; i++)
            rule_files += cfg->releases[i].rule_paths_count;
        files = sg_calloc(rule_files ? rule_files : 1, sizeof(*files));
        if (!files) {
            fprintf(stderr, "%s: out of memory\n", path);
            t.errors++;
        }
        for (size_t i = 0; files && i < cfg->releases_count; i++) {
            const struct sg_release_config *r = &cfg->releases[i];
            for (size_t j = 0; j < r->rule_paths_count; j++) {
                files[nfiles].path = r->rule_paths[j];
                files[nfiles++].rules = check_rule_file(r->rule_paths[j], &t);
            }
            check_local_ranges(cfg, r, &t);
        }
    }
    if (rc != SG_OK || t.errors) {
        rc = SG_EXIT_FAIL;
    } else {
        printf("Checking %s\n", path);
        printf("  SUCCESS: %zu rule files found\n", rule_files);
        printf(" SUCCESS: %s is valid stopgate config file syntax\n", path);
        for (size_t i = 0; i < nfiles; i++)
            printf("\nChecking %s\n  SUCCESS: %zu rules found\n", files[i].path, files[i].rules);
        rc = (report.warnings || t.warnings) && sg_cli_flag_bool(args, "lint-fatal") ? SG_EXIT_LINT
                                                                                     : SG_EXIT_OK;
    }
    sg_free(files);
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
