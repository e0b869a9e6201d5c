/* tests/unit/test_rules_group.c - rule files and group evaluation through
 * the rules API: loading (positions, counts, templates kept), evaluation
 * from a store, ALERTS and stale markers in the output store, rule status,
 * and the daemon's path: one plan per group, fetched sets merged with the
 * local store. Parity with promtool itself is in the integration suites
 * (test_check_rules.sh, test_rules_eval.sh).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/rules.h"

static const char *rules_text =
    "groups:\n"
    "  - name: g\n"
    "    rules:\n"
    "      - record: job:m:sum\n"
    "        expr: sum by (job) (m)\n"
    "      - alert: High\n"
    "        expr: job:m:sum > 5\n"
    "        for: 1m\n"
    "        labels:\n"
    "          severity: \"{{ if gt $value 8.0 }}page{{ else }}ticket{{ end }}\"\n"
    "        annotations:\n"
    "          summary: \"{{ $labels.job }} at {{ $value }}\"\n";

static struct sg_ruleset *load(const char *text)
{
    struct sg_ruleset *rs = sg_ruleset_new();
    struct sg_err err;
    size_t n = 0;

    assert_non_null(rs);
    sg_err_clear(&err);
    assert_int_equal(sg_ruleset_add_text(rs, sg_str_c(text), "r.yaml", NULL, &n, &err), SG_OK);
    return rs;
}

static void append(struct sg_store *st, const char *name, const char *job, int64_t t, double v)
{
    struct sg_label l[2] = {{{"__name__", 8}, {name, strlen(name)}}, {{"job", 3}, {job, strlen(job)}}};
    struct sg_labels ls = {l, 2};
    struct sg_err err;

    assert_int_equal(sg_store_append(st, &ls, t, v, &err), SG_OK);
}

static void loads_groups_and_rules(void **state)
{
    struct sg_ruleset *rs = load(rules_text);
    size_t ng;
    const struct sg_rule_group *g = sg_ruleset_groups(rs, &ng);

    (void)state;
    assert_int_equal(ng, 1);
    assert_int_equal(g->nrules, 2);
    assert_int_equal(sg_ruleset_rule_count(rs), 2);
    assert_true(sg_str_eq_c(g->rules[0].name, "job:m:sum"));
    assert_int_equal(g->rules[0].kind, SG_RULE_RECORD);
    assert_int_equal(g->rules[1].kind, SG_RULE_ALERT);
    assert_int_equal(g->rules[1].for_ms, 60000);
    assert_int_equal(g->rules[1].line, 6);
    assert_int_equal(g->rules[1].col, 9);
    assert_ptr_equal(g->rules[1].group, g);
    assert_non_null(g->rules[1].expr);
    sg_ruleset_free(rs);
}

struct diags {
    int errors, warnings;
    char first[SG_ERR_MSG_MAX];
    uint32_t line, col;
};

static void on_diag(const struct sg_diag *d, void *arg)
{
    struct diags *c = arg;
    if (d->level == SG_DIAG_ERROR) {
        if (!c->errors) {
            snprintf(c->first, sizeof(c->first), "%s", d->msg);
            c->line = d->line;
            c->col = d->col;
        }
        c->errors++;
    } else {
        c->warnings++;
    }
}

static void reports_every_problem_with_a_place(void **state)
{
    struct sg_ruleset *rs = sg_ruleset_new();
    struct sg_rules_load_opts o = {0};
    struct diags c;
    struct sg_err err;

    (void)state;
    memset(&c, 0, sizeof(c));
    o.diag = on_diag;
    o.diag_arg = &c;
    sg_err_clear(&err);
    assert_int_equal(sg_ruleset_add_text(rs,
                                         sg_str_c("groups:\n"
                                                  "  - name: g\n"
                                                  "    rules:\n"
                                                  "      - alert: A\n"
                                                  "        expr: sum(up\n"
                                                  "        for: 5x\n"),
                                         "bad.yaml", &o, NULL, &err),
                     SG_EPARSE);
    assert_int_equal(c.errors, 2);
    assert_string_equal(c.first, "not a valid duration string: \"5x\"");
    assert_int_equal(c.line, 6);
    assert_int_equal(c.col, 14);
    assert_string_equal(err.msg, "bad.yaml:6:14: not a valid duration string: \"5x\"");
    /* a failed file adds nothing */
    assert_int_equal(sg_ruleset_rule_count(rs), 0);
    sg_ruleset_free(rs);
}

struct got_alerts {
    int n;
    enum sg_alert_state state[4];
    char labels[4][256];
    char summary[4][128];
};

static int collect(const struct sg_rule *r, const struct sg_alert *a, void *arg)
{
    struct got_alerts *g = arg;
    struct sg_buf b;

    (void)r;
    if (g->n >= 4)
        return 1;
    g->state[g->n] = a->state;
    sg_buf_init(&b, 4096);
    assert_int_equal(sg_labels_format(&a->labels, &b), SG_OK);
    snprintf(g->labels[g->n], sizeof(g->labels[0]), "%s", sg_buf_cstr(&b));
    sg_buf_cleanup(&b);
    snprintf(g->summary[g->n], sizeof(g->summary[0]), "%.*s",
             a->annotations.count ? (int)a->annotations.v[0].value.len : 0,
             a->annotations.count ? a->annotations.v[0].value.ptr : "");
    g->n++;
    return 0;
}

/* The alerts of rule r (of every rule when NULL), as collect sees them. */
static void alerts_of(struct sg_rules_state *rst, const struct sg_rule *r, struct got_alerts *got)
{
    memset(got, 0, sizeof(*got));
    sg_rules_foreach_alert(rst, r, collect, got);
}

static double value_at(struct sg_store *st, const char *name, int64_t t, size_t *nseries)
{
    struct sg_matcher m;
    struct sg_arena a;
    struct sg_series_set set;
    struct sg_err err;
    double v = -1;

    sg_arena_init(&a, 1 << 20);
    assert_int_equal(sg_matcher_init(&m, &a, SG_MATCH_EQ, sg_str_c("__name__"), sg_str_c(name),
                                     NULL, &err),
                     SG_OK);
    assert_int_equal(sg_store_select(st, &m, 1, t, t, &a, &set, &err), SG_OK);
    *nseries = set.count;
    if (set.count == 1 && set.v[0].count == 1)
        v = set.v[0].samples[0].v;
    sg_arena_cleanup(&a);
    return v;
}

static void evaluates_from_a_store(void **state)
{
    struct sg_ruleset *rs = load(rules_text);
    struct sg_store *st = sg_store_new(0);
    struct sg_rules_state *rst;
    struct sg_rules_source src;
    struct sg_err err;
    size_t ng, n;
    const struct sg_rule_group *g = sg_ruleset_groups(rs, &ng);
    struct got_alerts got;
    const struct sg_rule_status *status;

    (void)state;
    assert_non_null(st);
    assert_int_equal(sg_rules_state_new(rs, NULL, &rst, &err), SG_OK);
    sg_rules_source_store(&src, st);
    /* m{job=a}: 3, 9, 9, then gone; m{job=b}: 1 throughout */
    append(st, "m", "a", 0, 3);
    append(st, "m", "b", 0, 1);
    assert_int_equal(sg_rules_eval_group(rst, g, 0, &src, st, &err), SG_OK);
    assert_true(value_at(st, "job:m:sum", 0, &n) < 0 && n == 2);
    alerts_of(rst, &g->rules[1], &got);
    assert_int_equal(got.n, 0);

    append(st, "m", "a", 60000, 9);
    append(st, "m", "b", 60000, 1);
    assert_int_equal(sg_rules_eval_group(rst, g, 60000, &src, st, &err), SG_OK);
    alerts_of(rst, &g->rules[1], &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.state[0], SG_ALERT_PENDING);
    assert_string_equal(got.labels[0], "{alertname=\"High\", job=\"a\", severity=\"page\"}");
    assert_string_equal(got.summary[0], "a at 9");
    assert_true(value_at(st, "ALERTS", 60000, &n) == 1 && n == 1);
    assert_true(value_at(st, "ALERTS_FOR_STATE", 60000, &n) == 60 && n == 1);

    append(st, "m", "a", 120000, 9);
    append(st, "m", "b", 120000, 1);
    assert_int_equal(sg_rules_eval_group(rst, g, 120000, &src, st, &err), SG_OK);
    alerts_of(rst, &g->rules[1], &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.state[0], SG_ALERT_FIRING);

    /* m{job=a} is gone (no sample within the lookback is still 5m, so
     * evaluate far later): the recorded series goes stale, the alert
     * resolves and is kept as inactive */
    append(st, "m", "b", 900000, 1);
    assert_int_equal(sg_rules_eval_group(rst, g, 900000, &src, st, &err), SG_OK);
    alerts_of(rst, &g->rules[1], &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.state[0], SG_ALERT_INACTIVE);
    {
        struct sg_matcher m[2];
        struct sg_arena a;
        struct sg_series_set set;
        sg_arena_init(&a, 1 << 20);
        assert_int_equal(sg_matcher_init(&m[0], &a, SG_MATCH_EQ, sg_str_c("__name__"),
                                         sg_str_c("job:m:sum"), NULL, &err),
                         SG_OK);
        assert_int_equal(
            sg_matcher_init(&m[1], &a, SG_MATCH_EQ, sg_str_c("job"), sg_str_c("a"), NULL, &err),
            SG_OK);
        assert_int_equal(sg_store_select(st, m, 2, 900000, 900000, &a, &set, &err), SG_OK);
        assert_int_equal(set.count, 1);
        assert_true(sg_is_stale(set.v[0].samples[0].v));
        sg_arena_cleanup(&a);
    }
    status = sg_rules_rule_status(rst, &g->rules[1]);
    assert_non_null(status);
    assert_int_equal(status->health, SG_RULE_HEALTH_OK);
    assert_int_equal(status->last_eval_ms, 900000);
    sg_rules_state_free(rst);
    sg_store_free(st);
    sg_ruleset_free(rs);
}

static void rule_errors_are_recorded(void **state)
{
    struct sg_ruleset *rs = load("groups:\n"
                                 "  - name: g\n"
                                 "    rules:\n"
                                 "      - record: r\n"
                                 "        expr: m\n"
                                 "        labels: {job: same}\n"
                                 "      - record: ok\n"
                                 "        expr: vector(1)\n");
    struct sg_store *st = sg_store_new(0);
    struct sg_rules_state *rst;
    struct sg_rules_source src;
    struct sg_err err;
    size_t ng, n;
    const struct sg_rule_group *g = sg_ruleset_groups(rs, &ng);
    const struct sg_rule_status *s;

    (void)state;
    assert_int_equal(sg_rules_state_new(rs, NULL, &rst, &err), SG_OK);
    sg_rules_source_store(&src, st);
    append(st, "m", "a", 0, 1);
    append(st, "m", "b", 0, 2);
    assert_int_equal(sg_rules_eval_group(rst, g, 0, &src, st, &err), SG_OK);
    s = sg_rules_rule_status(rst, &g->rules[0]);
    assert_int_equal(s->health, SG_RULE_HEALTH_ERR);
    assert_int_equal(s->code, SG_EEVAL);
    assert_string_equal(s->last_error,
                        "vector contains metrics with the same labelset after applying rule "
                        "labels");
    /* the group went on with the next rule */
    s = sg_rules_rule_status(rst, &g->rules[1]);
    assert_int_equal(s->health, SG_RULE_HEALTH_OK);
    assert_true(value_at(st, "ok", 0, &n) == 1);
    sg_rules_state_free(rst);
    sg_store_free(st);
    sg_ruleset_free(rs);
}

static void plans_a_group_and_merges_local_series(void **state)
{
    struct sg_ruleset *rs = load(rules_text);
    struct sg_store *remote = sg_store_new(0), *local = sg_store_new(0);
    struct sg_rules_state *rst;
    struct sg_rules_plan plan;
    struct sg_rules_prefetched pf;
    struct sg_rules_source src;
    struct sg_series_set *sets;
    struct sg_arena a;
    struct sg_err err;
    size_t ng, n;
    const struct sg_rule_group *g = sg_ruleset_groups(rs, &ng);
    struct got_alerts got;

    (void)state;
    sg_arena_init(&a, 1 << 24);
    assert_int_equal(sg_rules_state_new(rs, NULL, &rst, &err), SG_OK);
    /* "remote" data: what a remote read would return for the plan */
    append(remote, "m", "a", 0, 10);
    assert_int_equal(sg_rules_plan_group(rst, g, 0, &a, &plan, &err), SG_OK);
    assert_int_equal(plan.nrules, 2);
    assert_int_equal(plan.nsels, 2); /* m, job:m:sum */
    assert_int_equal(plan.first[1], 1);
    sets = sg_arena_alloc_array(&a, plan.nsels, sizeof(*sets));
    for (size_t i = 0; i < plan.nsels; i++)
        assert_int_equal(sg_store_select(remote, plan.sels[i].matchers, plan.sels[i].nmatchers,
                                         plan.sels[i].mint_ms, plan.sels[i].maxt_ms, &a, &sets[i],
                                         &err),
                         SG_OK);
    sg_rules_source_prefetched(&src, &pf, &plan, sets, local);
    /* the recording rule writes into the local store; the alert reads it
     * from there (remote has no job:m:sum) */
    assert_int_equal(sg_rules_eval_group(rst, g, 0, &src, local, &err), SG_OK);
    assert_true(value_at(local, "job:m:sum", 0, &n) == 10);
    assert_int_equal(sg_rules_rule_status(rst, &g->rules[1])->health, SG_RULE_HEALTH_OK);
    alerts_of(rst, NULL, &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.state[0], SG_ALERT_PENDING);
    assert_string_equal(got.summary[0], "a at 10");
    sg_rules_state_free(rst);
    sg_store_free(remote);
    sg_store_free(local);
    sg_ruleset_free(rs);
    sg_arena_cleanup(&a);
}

static void merge_prefers_local_samples(void **state)
{
    struct sg_store *local = sg_store_new(0);
    struct sg_arena a;
    struct sg_err err;
    struct sg_promql_selection sel;
    struct sg_matcher m;
    struct sg_label l[1] = {{{"__name__", 8}, {"x", 1}}};
    struct sg_sample rs[3] = {{1000, 1}, {2000, 2}, {3000, 3}};
    struct sg_series rser = {{l, 1}, rs, 3};
    struct sg_series_set remote = {&rser, 1, true}, out;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(sg_matcher_init(&m, &a, SG_MATCH_EQ, sg_str_c("__name__"), sg_str_c("x"),
                                     NULL, &err),
                     SG_OK);
    assert_int_equal(sg_store_append(local, &(struct sg_labels){l, 1}, 2000, 20, &err), SG_OK);
    assert_int_equal(sg_store_append(local, &(struct sg_labels){l, 1}, 4000, 40, &err), SG_OK);
    memset(&sel, 0, sizeof(sel));
    sel.matchers = &m;
    sel.nmatchers = 1;
    sel.mint_ms = 0;
    sel.maxt_ms = 10000;
    assert_int_equal(sg_rules_merge_local(&sel, &remote, local, &a, &out, &err), SG_OK);
    assert_int_equal(out.count, 1);
    assert_int_equal(out.v[0].count, 4);
    assert_true(out.v[0].samples[0].v == 1 && out.v[0].samples[1].v == 20 &&
                out.v[0].samples[2].v == 3 && out.v[0].samples[3].v == 40);
    sg_store_free(local);
    sg_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_groups_and_rules),
        cmocka_unit_test(reports_every_problem_with_a_place),
        cmocka_unit_test(evaluates_from_a_store),
        cmocka_unit_test(rule_errors_are_recorded),
        cmocka_unit_test(plans_a_group_and_merges_local_series),
        cmocka_unit_test(merge_prefers_local_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
