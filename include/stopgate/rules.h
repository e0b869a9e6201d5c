/* include/stopgate/rules.h - Prometheus rule files, the alert state
 * machine and rule-group evaluation (Prometheus 2.42 semantics).
 *
 * Three parts:
 *
 *   loading   rule files exactly as Prometheus 2.42 reads them (rulefmt with
 *             yaml.v3's strict field checking), parsed expressions and
 *             alert templates; every problem reported as FILE:LINE:COL so
 *             that `stopgate check rules` can list them all, the way
 *             `promtool check rules` decides;
 *   alerts    sg_alert_step, the pure state machine of one alert instance
 *             (inactive -> pending -> firing, `for`, `keep_firing_for`,
 *             resolved retention), as rules/alerting.go;
 *   groups    sg_rules_eval_group evaluates a group at a time t: every rule
 *             in file order; recording rules write their series and
 *             alerting rules write ALERTS / ALERTS_FOR_STATE into an output
 *             store that later rules (of this and other groups) read; series
 *             that disappear get stale markers (rules/manager.go Group.Eval).
 *
 * Data comes in through a source (struct sg_rules_source): a callback that
 * fetches the series sets of an expression's selections. Unit tests use a
 * store that holds both the input series and the rule outputs
 * (sg_rules_source_store); the daemon plans a whole group first
 * (sg_rules_plan_group), fetches every selection with one remote read, and
 * evaluates from those sets merged with its local store
 * (sg_rules_source_prefetched).
 */
#ifndef SG_RULES_H
#define SG_RULES_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"
#include "stopgate/labels.h"
#include "stopgate/promql.h"
#include "stopgate/store.h"

/* ---- rule files ------------------------------------------------------------------------ */

enum sg_rule_kind { SG_RULE_RECORD = 1, SG_RULE_ALERT = 2 };

struct sg_rule_group;
struct sg_rule_tmpls; /* an alerting rule's parsed templates (private) */

/* One rule, read-only after loading. Strings and labels live in the rule
 * set and stay valid until sg_ruleset_free. */
struct sg_rule {
    enum sg_rule_kind kind;
    struct sg_str name;           /* `record:` metric name or `alert:` name */
    struct sg_str expr_text;      /* the expression as written */
    const struct sg_node *expr;   /* parsed and type-checked */
    int64_t for_ms;               /* alerting rules: `for` */
    int64_t keep_firing_for_ms;   /* alerting rules: `keep_firing_for` */
    struct sg_labels labels;      /* sorted; alerting rules: values are templates */
    struct sg_labels annotations; /* sorted; templates */
    const char *file;
    uint32_t line, col;           /* the rule's first key */
    const struct sg_rule_group *group;
    uint32_t index;               /* position in the group */
    const struct sg_rule_tmpls *tmpls;
};

struct sg_rule_group {
    struct sg_str name;
    const char *file;
    uint32_t line, col;  /* the group's first key */
    int64_t interval_ms; /* `interval`, 0 when not given */
    int64_t limit;       /* `limit`, 0 = no limit */
    struct sg_rule *rules;
    size_t nrules;
    uint32_t index;      /* position in the rule set */
};

struct sg_ruleset; /* groups of one or more files */

/* One problem found while loading. */
enum sg_diag_level { SG_DIAG_ERROR = 1, SG_DIAG_WARNING = 2 };

struct sg_diag {
    enum sg_diag_level level;
    const char *file;
    uint32_t line, col; /* 1-based; 0 when the problem has no place */
    const char *msg;    /* the text without "FILE:LINE:COL: " */
};

typedef void (*sg_diag_cb)(const struct sg_diag *d, void *arg);

struct sg_rules_load_opts {
    const struct sg_promql_compat *compat; /* NULL: the default (2.42) */
    /* Every error and warning goes here, in file order. NULL: errors
     * are only reported through err (the first one). */
    sg_diag_cb diag;
    void *diag_arg;
    /* promtool's lint: rules of one file with the same name and labels
     * are a warning ("duplicate rule"). */
    bool lint_duplicates;
    /* stopgate's own warnings: templates stopgate cannot render, `stop:`
     * label values other than pause|rollback|notify. */
    bool lint_stopgate;
    size_t max_file_bytes; /* 0: 16 MiB */
};

/* NULL on out of memory. */
struct sg_ruleset *sg_ruleset_new(void);
void sg_ruleset_free(struct sg_ruleset *rs);

/* Read one rule file and add its groups. `text` need not be
 * NUL-terminated; `file` names it in messages. Problems go to opts->diag
 * (every one) and the first error to err. Returns SG_EPARSE when the file
 * has at least one error (the set is then unchanged), SG_ELIMIT / SG_ENOMEM,
 * or SG_OK (warnings do not fail). *nrules (may be NULL) receives the
 * number of rules in the file. */
SG_NODISCARD int sg_ruleset_add_text(struct sg_ruleset *rs, struct sg_str text, const char *file,
                                     const struct sg_rules_load_opts *opts, size_t *nrules,
                                     struct sg_err *err);
/* Same for a file on disk (SG_EIO "FILE: open: No such file or directory"). */
SG_NODISCARD int sg_ruleset_add_file(struct sg_ruleset *rs, const char *path,
                                     const struct sg_rules_load_opts *opts, size_t *nrules,
                                     struct sg_err *err);

/* The groups, in load order. */
const struct sg_rule_group *sg_ruleset_groups(const struct sg_ruleset *rs, size_t *n);
/* Total number of rules. */
size_t sg_ruleset_rule_count(const struct sg_ruleset *rs);

/* ---- the alert state machine ----------------------------------------------------------- */

enum sg_alert_state { SG_ALERT_INACTIVE = 0, SG_ALERT_PENDING = 1, SG_ALERT_FIRING = 2 };

#define SG_TIME_UNSET INT64_MIN /* a timestamp that was never set */

/* One alert instance (one label set of one alerting rule). */
struct sg_alert {
    enum sg_alert_state state;
    struct sg_labels labels;      /* sample labels minus __name__, rule labels, alertname */
    struct sg_labels annotations; /* expanded at the last evaluation */
    double value;                 /* the sample value at the last evaluation */
    int64_t active_at_ms;         /* SG_TIME_UNSET until the alert becomes active */
    int64_t fired_at_ms;
    int64_t resolved_at_ms;
    int64_t keep_firing_since_ms;
};

struct sg_alert_timing {
    int64_t for_ms;
    int64_t keep_firing_for_ms;
    int64_t resolved_retention_ms; /* 0: Prometheus's 15m */
};

/* What the owner of the alert does after a step. */
enum sg_alert_step {
    SG_ALERT_STEP_DELETE = 0,  /* forget the alert */
    SG_ALERT_STEP_KEEP = 1,    /* keep it, not active (resolved, within retention) */
    SG_ALERT_STEP_ACTIVE = 2,  /* keep it; pending or firing: write ALERTS */
};

/* Advance one alert at evaluation time now_ms. `present`: the alert's
 * label set is in this evaluation's result. A new alert is passed zeroed
 * with state SG_ALERT_INACTIVE and active_at_ms SG_TIME_UNSET; a present
 * inactive alert starts anew as pending (active_at = now). The caller sets
 * value and annotations of present alerts itself. Pure: no I/O, no clock,
 * no allocation. Mirrors the two loops of AlertingRule.Eval in
 * rules/alerting.go of Prometheus 2.42. */
enum sg_alert_step sg_alert_step(struct sg_alert *a, bool present, int64_t now_ms,
                                 const struct sg_alert_timing *t);

/* "inactive", "pending", "firing" */
const char *sg_alert_state_name(enum sg_alert_state s);

/* ---- evaluation -------------------------------------------------------------------------- */

/* Where an evaluation reads series from. `select` fills sets[i] with the
 * series of selection i of `rule`'s expression (n selections, planned for
 * the evaluation time); the arrays may be allocated in `a`, which lives
 * until the rule's evaluation is over. Returns SG_OK or an error for the
 * rule (the rule then fails with that error). */
typedef int (*sg_rules_select_fn)(void *arg, const struct sg_rule *rule,
                                  const struct sg_promql_selection *sels, size_t n,
                                  struct sg_arena *a, struct sg_series_set *sets,
                                  struct sg_err *err);

struct sg_rules_source {
    sg_rules_select_fn select;
    void *arg;
};

/* A source selecting from one store (unit tests: the input series and the
 * rule outputs live in the same store). st is borrowed. */
void sg_rules_source_store(struct sg_rules_source *src, const struct sg_store *st);

struct sg_rules_eval_opts {
    const struct sg_promql_opts *promql;     /* lookback etc.; NULL: defaults */
    const struct sg_labels *external_labels; /* $externalLabels; NULL: none */
    struct sg_str external_url;              /* $externalURL */
    int64_t resolved_retention_ms;           /* 0: 15m */
    size_t max_scratch_bytes;                /* per rule evaluation; 0: 1 GiB */
};

struct sg_rules_state; /* alert states, previous series, rule health */

/* Evaluation state for every rule of rs (borrowed; must outlive the
 * state). opts is copied (the labels it points to are borrowed). */
SG_NODISCARD int sg_rules_state_new(const struct sg_ruleset *rs,
                                    const struct sg_rules_eval_opts *opts,
                                    struct sg_rules_state **out, struct sg_err *err);
void sg_rules_state_free(struct sg_rules_state *st);

/* Evaluate group g (of the state's rule set) at t_ms, as Prometheus's
 * Group.Eval: each rule in order reads through src and appends its output
 * samples, stamped t_ms, to `out` (recording rules: the record name plus
 * rule labels; alerting rules: ALERTS and ALERTS_FOR_STATE of every
 * pending and firing alert); series a rule returned at its previous
 * evaluation but not now get a stale marker at t_ms. A rule that fails
 * (query error, duplicate label sets, limit) records the error in its
 * status (sg_rules_rule_status) and the group goes on with the next rule.
 * Returns SG_OK, or SG_ENOMEM / SG_ELIMIT when the state itself could not
 * be updated. */
SG_NODISCARD int sg_rules_eval_group(struct sg_rules_state *st, const struct sg_rule_group *g,
                                     int64_t t_ms, const struct sg_rules_source *src,
                                     struct sg_store *out, struct sg_err *err);

enum sg_rule_health { SG_RULE_HEALTH_UNKNOWN = 0, SG_RULE_HEALTH_OK, SG_RULE_HEALTH_ERR };

struct sg_rule_status {
    enum sg_rule_health health;
    int code;                         /* SG_OK or the error code of the last evaluation */
    char last_error[SG_ERR_MSG_MAX];  /* Prometheus's text, "" when healthy */
    int64_t last_eval_ms;             /* SG_TIME_UNSET before the first evaluation */
    double duration_s;                /* how long the last evaluation took (monotonic) */
    size_t samples;                   /* samples written by the last evaluation */
};

/* The status of a rule of the state's rule set. */
const struct sg_rule_status *sg_rules_rule_status(const struct sg_rules_state *st,
                                                  const struct sg_rule *rule);

typedef int (*sg_alert_fn)(const struct sg_rule *rule, const struct sg_alert *a, void *arg);

/* Call fn for every alert the state holds for `rule` (every alerting rule
 * when rule is NULL), including resolved alerts kept for retention; per
 * rule in label-set order. Stops when fn returns non-zero and returns that
 * value. The alert is valid during the call only. */
int sg_rules_foreach_alert(const struct sg_rules_state *st, const struct sg_rule *rule,
                           sg_alert_fn fn, void *arg);

/* Restore an alert instance after a restart or reload (Prometheus restores
 * ActiveAt from ALERTS_FOR_STATE; the daemon keeps its own record): the
 * alert of `rule` with exactly `labels`, when the state holds it pending
 * or firing, takes active_at_ms if that is earlier than its own, and when
 * `state` is SG_ALERT_FIRING a pending alert becomes firing (fired_at_ms,
 * or active_at_ms when unset). Call it after the rule's first evaluation.
 * Returns 1 when an alert was restored, 0 when none matched. No I/O, no
 * allocation. */
int sg_rules_restore_alert(struct sg_rules_state *st, const struct sg_rule *rule,
                           const struct sg_labels *labels, enum sg_alert_state state,
                           int64_t active_at_ms, int64_t fired_at_ms);

/* ---- one remote read per group evaluation ---------------------------------------------- */

/* Every selection of every rule of a group at t_ms: the selections of
 * rule i are sels[first[i]] .. sels[first[i + 1] - 1] (first has
 * nrules + 1 entries). Allocated in `a`. */
struct sg_rules_plan {
    const struct sg_rule_group *group;
    int64_t t_ms;
    struct sg_promql_selection *sels;
    size_t nsels;
    size_t *first;
    size_t nrules;
};

SG_NODISCARD int sg_rules_plan_group(const struct sg_rules_state *st,
                                     const struct sg_rule_group *g, int64_t t_ms,
                                     struct sg_arena *a, struct sg_rules_plan *out,
                                     struct sg_err *err);

/* Serving a group's evaluation from the sets fetched for its plan
 * (sets[i] for plan->sels[i]), each merged with the local store's series
 * for the same matchers and window (sg_rules_merge_local). The struct is
 * the source's state; plan, sets and local are borrowed and must outlive
 * the evaluation. */
struct sg_rules_prefetched {
    const struct sg_rules_plan *plan;
    const struct sg_series_set *sets;
    const struct sg_store *local; /* may be NULL */
};

void sg_rules_source_prefetched(struct sg_rules_source *src, struct sg_rules_prefetched *pf,
                                const struct sg_rules_plan *plan,
                                const struct sg_series_set *sets, const struct sg_store *local);

/* One selection's series: `remote` (may be NULL) plus the local store's
 * series matching sel's matchers in sel's window. A series in both gets
 * the samples of both in time order; on equal timestamps the local sample
 * wins. The result is sorted by label set and allocated in `a` (samples
 * may be views into remote and local). */
SG_NODISCARD int sg_rules_merge_local(const struct sg_promql_selection *sel,
                                      const struct sg_series_set *remote,
                                      const struct sg_store *local, struct sg_arena *a,
                                      struct sg_series_set *out, struct sg_err *err);

#endif
