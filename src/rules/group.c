/* src/rules/group.c - rule-group evaluation: rule sets, evaluation state,
 * sources and Group.Eval (rules/manager.go of Prometheus 2.42).
 *
 * The evaluation needs the PromQL evaluator; until it is built in, every
 * entry point reports that it is not available.
 */
#include "rules/rules_int.h"

struct sg_rules_state {
    const struct sg_ruleset *rs;
};

void sg_rules_source_store(struct sg_rules_source *src, const struct sg_store *st)
{
    src->select = NULL;
    src->arg = (void *)(uintptr_t)st;
}

int sg_rules_state_new(const struct sg_ruleset *rs, const struct sg_rules_eval_opts *opts,
                       struct sg_rules_state **out, struct sg_err *err)
{
    (void)rs;
    (void)opts;
    (void)out;
    return sg_err_set(err, SG_EINVAL, "rule evaluation is not supported yet");
}

void sg_rules_state_free(struct sg_rules_state *st)
{
    sg_free(st);
}

int sg_rules_eval_group(struct sg_rules_state *st, const struct sg_rule_group *g, int64_t t_ms,
                        const struct sg_rules_source *src, struct sg_store *out,
                        struct sg_err *err)
{
    (void)st;
    (void)g;
    (void)t_ms;
    (void)src;
    (void)out;
    return sg_err_set(err, SG_EINVAL, "rule evaluation is not supported yet");
}

const struct sg_rule_status *sg_rules_rule_status(const struct sg_rules_state *st,
                                                  const struct sg_rule *rule)
{
    (void)st;
    (void)rule;
    return NULL;
}

int sg_rules_foreach_alert(const struct sg_rules_state *st, const struct sg_rule *rule,
                           sg_alert_fn fn, void *arg)
{
    (void)st;
    (void)rule;
    (void)fn;
    (void)arg;
    return 0;
}

int sg_rules_plan_group(const struct sg_rules_state *st, const struct sg_rule_group *g,
                        int64_t t_ms, struct sg_arena *a, struct sg_rules_plan *out,
                        struct sg_err *err)
{
    (void)st;
    (void)g;
    (void)t_ms;
    (void)a;
    (void)out;
    return sg_err_set(err, SG_EINVAL, "rule evaluation is not supported yet");
}

void sg_rules_source_prefetched(struct sg_rules_source *src, struct sg_rules_prefetched *pf,
                                const struct sg_rules_plan *plan,
                                const struct sg_series_set *sets, const struct sg_store *local)
{
    pf->plan = plan;
    pf->sets = sets;
    pf->local = local;
    src->select = NULL;
    src->arg = pf;
}

int sg_rules_merge_local(const struct sg_promql_selection *sel, const struct sg_series_set *remote,
                         const struct sg_store *local, struct sg_arena *a,
                         struct sg_series_set *out, struct sg_err *err)
{
    (void)sel;
    (void)remote;
    (void)local;
    (void)a;
    (void)out;
    return sg_err_set(err, SG_EINVAL, "rule evaluation is not supported yet");
}
