/* src/daemon/eval.c - epochs (one loaded config with its rule sets) and
 * rule-group evaluation over remote read.
 *
 * Each group has one repeating uv_timer at its interval (the group's
 * `interval`, else evaluation_interval); the first evaluation runs at
 * once. A tick:
 *   1. is skipped and counted in stopgate_rule_group_iterations_missed_total
 *      when the previous evaluation of the group is still in flight;
 *   2. plans the group at the tick's wall-clock time (every selection of
 *      every rule, sg_rules_plan_group);
 *   3. sends ONE remote read with all of them (the release's remote_read,
 *      merged over the global one by the config loader);
 * and when the read calls back:
 *   4. counts the read in the remote-read metrics;
 *   5. evaluates the group (sg_rules_eval_group) from the fetched sets
 *      merged with the release's local store, which receives the recorded
 *      series and ALERTS/ALERTS_FOR_STATE; after a failed read every rule
 *      of the group fails with the read's error;
 *   6. notes stop: rules with a selector that returned no series;
 *   7. hands the outcome to the release (release.c), which journals and
 *      acts;
 *   8. trims the local store to the release's retention and records the
 *      group's duration.
 * A retired epoch (after a reload) stops its timers and cancels its reads;
 * callbacks that arrive afterwards only release memory.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "stopgate/clock.h"
#include "stopgate/log.h"

#define RULE_FILE_MAX ((size_t)16 << 20)

static void epoch_unref(struct sg_epoch *ep);

/* ---- building ------------------------------------------------------------------------ */

static void on_diag(const struct sg_diag *dg, void *arg)
{
    (void)arg;
    if (dg->level == SG_DIAG_WARNING)
        sg_log(SG_LOG_WARN, "rule file", "file", dg->file, "line", sg_log_i64(dg->line).s, "msg",
               dg->msg, NULL);
}

static int rt_init(struct sg_epoch *ep, struct sg_rel_rt *rt, const struct sg_release_config *rc,
                   struct sg_err *err)
{
    const struct sg_rule_group *groups;
    struct sg_rules_load_opts lo = {0};
    struct sg_rules_eval_opts eo = {0};
    struct sg_promql_opts *po;
    struct sg_rr_options ro;
    size_t ng;
    int rc_;

    rt->ep = ep;
    rt->cfg = rc;
    sg_arena_init(&rt->arena, (size_t)64 << 20);
    rt->rs = sg_ruleset_new();
    if (!rt->rs)
        return sg_err_set(err, SG_ENOMEM, "release %s: out of memory", rc->name);
    rc_ = sg_routes_compile(rc, &rt->arena, &rt->routes, err);
    if (rc_ != SG_OK)
        return rc_;
    rt->nroutes = rc->routes_count;
    lo.diag = on_diag;
    for (size_t i = 0; i < rc->rule_paths_count; i++) {
        rc_ = sg_ruleset_add_file(rt->rs, rc->rule_paths[i], &lo, NULL, err);
        if (rc_ != SG_OK)
            return rc_;
    }
    groups = sg_ruleset_groups(rt->rs, &ng);
    if (ng == 0)
        return SG_OK;
    if (!rc->remote_read.url)
        return sg_err_set(err, SG_EINVAL, "release %s: rules need remote_read.url", rc->name);
    /* external labels for $externalLabels: the remote read's */
    if (rc->remote_read.external_labels.count) {
        size_t n = rc->remote_read.external_labels.count;
        rt->external_labels.v = sg_arena_alloc_array(&rt->arena, n, sizeof(struct sg_label));
        if (!rt->external_labels.v)
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            rt->external_labels.v[i].name = sg_str_c(rc->remote_read.external_labels.v[i].name);
            rt->external_labels.v[i].value = sg_str_c(rc->remote_read.external_labels.v[i].value);
        }
        rt->external_labels.count = (uint32_t)n;
    }
    po = sg_arena_alloc(&rt->arena, sizeof(*po));
    if (!po)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    po->lookback_ms = ep->cfg->lookback_delta_ms;
    eo.promql = po;
    eo.external_labels = &rt->external_labels;
    eo.external_url = sg_str_c(ep->cfg->web.external_url);
    rc_ = sg_rules_state_new(rt->rs, &eo, &rt->rstate, err);
    if (rc_ != SG_OK)
        return rc_;
    rc_ = sg_rr_options_from_config(&rc->remote_read, &rt->arena, &ro, err);
    if (rc_ == SG_OK)
        rc_ = sg_rr_client_new(&ro, &rt->rr, err);
    if (rc_ != SG_OK) {
        sg_err_prefix(err, "release %s: remote_read: ", rc->name);
        return rc_;
    }
    rt->groups = sg_calloc(ng, sizeof(*rt->groups));
    if (!rt->groups)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    rt->ngroups = ng;
    for (size_t i = 0; i < ng; i++) {
        struct sg_group_rt *grt = &rt->groups[i];
        grt->rt = rt;
        grt->g = &groups[i];
        grt->interval_ms = groups[i].interval_ms > 0 ? groups[i].interval_ms
                                                     : ep->cfg->evaluation_interval_ms;
        if (grt->interval_ms <= 0)
            grt->interval_ms = 15000;
        grt->last_eval_ms = SG_TIME_UNSET;
        sg_arena_init(&grt->arena, SG_DAEMON_GROUP_ARENA);
    }
    return SG_OK;
}

static void rt_cleanup(struct sg_rel_rt *rt)
{
    for (size_t i = 0; i < rt->ngroups; i++)
        sg_arena_cleanup(&rt->groups[i].arena);
    sg_free(rt->groups);
    sg_rr_client_free(rt->rr);
    sg_rules_state_free(rt->rstate);
    sg_ruleset_free(rt->rs);
    sg_arena_cleanup(&rt->arena);
}

static void epoch_free(struct sg_epoch *ep)
{
    for (size_t i = 0; i < ep->nrts; i++)
        rt_cleanup(&ep->rts[i]);
    sg_free(ep->rts);
    sg_notify_free(ep->notify);
    sg_config_free(ep->cfg);
    sg_free(ep);
}

int sg_epoch_new(struct sg_daemon *d, struct sg_config *cfg, struct sg_epoch **out,
                 struct sg_err *err)
{
    struct sg_epoch *ep = sg_calloc(1, sizeof(*ep));
    int rc;

    if (!ep) {
        sg_config_free(cfg);
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    }
    ep->d = d;
    ep->cfg = cfg;
    if (cfg->releases_count) {
        ep->rts = sg_calloc(cfg->releases_count, sizeof(*ep->rts));
        if (!ep->rts) {
            epoch_free(ep);
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < cfg->releases_count; i++) {
        ep->nrts++;
        rc = rt_init(ep, &ep->rts[i], &cfg->releases[i], err);
        if (rc != SG_OK) {
            epoch_free(ep);
            return rc;
        }
    }
    rc = sg_notify_new(&d->loop, cfg, d->m.notifications, &ep->notify, err);
    if (rc != SG_OK) {
        epoch_free(ep);
        return rc;
    }
    *out = ep;
    return SG_OK;
}

struct sg_rel_rt *sg_epoch_rt(struct sg_epoch *ep, const char *name)
{
    for (size_t i = 0; ep && i < ep->nrts; i++)
        if (strcmp(ep->rts[i].cfg->name, name) == 0)
            return &ep->rts[i];
    return NULL;
}

bool sg_epoch_evaluated(const struct sg_epoch *ep)
{
    for (size_t i = 0; i < ep->nrts; i++)
        for (size_t j = 0; j < ep->rts[i].ngroups; j++)
            if (!ep->rts[i].groups[j].evaluated)
                return false;
    return true;
}

/* The group's name as a C string, for logs. */
static const char *gname(const struct sg_group_rt *grt, char *buf, size_t n)
{
    snprintf(buf, n, "%.*s", (int)grt->g->name.len, grt->g->name.ptr);
    return buf;
}

/* ---- one evaluation ---------------------------------------------------------------------- */

/* The source used after a failed read: every rule fails with its error. */
static int select_failed(void *arg, const struct sg_rule *rule,
                         const struct sg_promql_selection *sels, size_t n, struct sg_arena *a,
                         struct sg_series_set *sets, struct sg_err *err)
{
    const struct sg_err *why = arg;

    (void)rule;
    (void)sels;
    (void)n;
    (void)a;
    (void)sets;
    return sg_err_set(err, why->code ? why->code : SG_EIO, "%s", why->msg);
}

/* Does a stop: rule of the group have a selector without any series, in
 * the remote read and in the local store (recorded series) alike? Runs
 * after the evaluation, so the local store holds what this evaluation's
 * recording rules wrote. */
static const struct sg_rule *find_no_data(struct sg_group_rt *grt, const struct sg_rr_result *res,
                                          const struct sg_store *local)
{
    const struct sg_rules_plan *p = &grt->plan;

    for (size_t i = 0; i < p->nrules && i < grt->g->nrules; i++) {
        const struct sg_rule *rule = &grt->g->rules[i];
        if (!sg_labels_has(&rule->labels, sg_str_c("stop")))
            continue;
        for (size_t s = p->first[i]; s < p->first[i + 1] && s < res->count; s++) {
            const struct sg_promql_selection *sel = &p->sels[s];
            struct sg_series_set loc = {0};
            if (res->sets[s].count)
                continue;
            if (local && sg_store_select(local, sel->matchers, sel->nmatchers, sel->mint_ms,
                                         sel->maxt_ms, &grt->arena, &loc, NULL) == SG_OK &&
                loc.count)
                continue;
            return rule;
        }
    }
    return NULL;
}

static void finish_eval(struct sg_group_rt *grt, const struct sg_rr_result *res,
                        const struct sg_err *rerr)
{
    struct sg_rel_rt *rt = grt->rt;
    struct sg_daemon *d = rt->ep->d;
    struct sg_rel *rel = rt->rel;
    struct sg_rules_source src;
    struct sg_rules_prefetched pf;
    struct sg_eval_outcome o = {0};
    struct sg_err err, first;
    const struct sg_rule *nodata = NULL;
    char nodata_name[256] = "";
    size_t nrules = grt->g->nrules, failures = 0;
    char gn[128];
    double dur;

    sg_err_clear(&err);
    sg_err_clear(&first);
    if (rerr) {
        src.select = select_failed;
        src.arg = (void *)(uintptr_t)rerr;
    } else {
        sg_rules_source_prefetched(&src, &pf, &grt->plan, res ? res->sets : NULL, rel->local);
    }
    if (sg_rules_eval_group(rt->rstate, grt->g, grt->t_ms, &src, rel->local, &err) != SG_OK) {
        sg_log(SG_LOG_ERROR, "rule group evaluation failed", "release", rel->name, "group",
               gname(grt, gn, sizeof(gn)), "err", err.msg, NULL);
        snprintf(first.msg, sizeof(first.msg), "%s", err.msg);
        first.code = err.code;
        failures = nrules;
    } else {
        if (!rerr && !grt->restored) {
            grt->restored = true;
            sg_rel_restore_alerts(rel, grt);
        }
        for (size_t i = 0; i < nrules; i++) {
            const struct sg_rule_status *st = sg_rules_rule_status(rt->rstate, &grt->g->rules[i]);
            if (st && st->health == SG_RULE_HEALTH_ERR) {
                if (!failures) {
                    snprintf(first.msg, sizeof(first.msg), "%.*s: %.300s",
                             (int)(grt->g->rules[i].name.len > 100 ? 100
                                                                    : grt->g->rules[i].name.len),
                             grt->g->rules[i].name.ptr, st->last_error);
                    first.code = st->code ? st->code : SG_EEVAL;
                }
                failures++;
            }
        }
    }
    nodata = !rerr && res ? find_no_data(grt, res, rel->local) : NULL;
    if (nodata)
        snprintf(nodata_name, sizeof(nodata_name), "%.*s", (int)nodata->name.len,
                 nodata->name.ptr);
    (void)sg_metric_addl(d->m.rule_evaluations, (double)nrules);
    if (failures)
        (void)sg_metric_addl(d->m.rule_evaluation_failures, (double)failures);
    /* a failing streak is logged at its start and its end; in between at
     * debug level, so that an outage does not flood the log */
    if (rerr || failures) {
        sg_log(grt->failing ? SG_LOG_DEBUG : SG_LOG_WARN,
               rerr ? "remote read failed" : "rule evaluation failed", "release", rel->name,
               "group", gname(grt, gn, sizeof(gn)), "err", rerr ? rerr->msg : first.msg, NULL);
        grt->failing = true;
    } else if (grt->failing) {
        sg_log(SG_LOG_INFO, "rule group evaluates again", "release", rel->name, "group",
               gname(grt, gn, sizeof(gn)), NULL);
        grt->failing = false;
    }

    o.grt = grt;
    o.t_ms = grt->t_ms;
    o.read_failed = rerr != NULL;
    o.error = rerr ? rerr->msg : (failures ? first.msg : NULL);
    o.rule_errors = rerr ? 0 : failures;
    o.no_data = nodata != NULL;
    o.no_data_rule = nodata ? nodata_name : NULL;

    /* the local store keeps what rules read back, at most 24h */
    for (size_t i = 0; !rerr && i < grt->plan.nsels; i++) {
        int64_t back = grt->t_ms - grt->plan.sels[i].mint_ms;
        if (back > rel->retention_ms)
            rel->retention_ms = back > SG_DAEMON_RETENTION_MAX ? SG_DAEMON_RETENTION_MAX : back;
    }
    sg_store_drop_before(rel->local, grt->t_ms - rel->retention_ms);

    sg_rel_apply_eval(rel, &o);

    dur = (double)(sg_clock_mono_ns() - grt->t0_ns) / 1e9;
    grt->last_duration_s = dur;
    grt->last_eval_ms = grt->t_ms;
    (void)sg_metric_setl(d->m.rule_group_last_duration, dur);
    if (!grt->evaluated) {
        grt->evaluated = true;
        sg_daemon_check_ready(d);
    }
}

static void on_read(const struct sg_rr_result *res, const struct sg_err *err, void *arg)
{
    struct sg_group_rt *grt = arg;
    struct sg_epoch *ep = grt->rt->ep;
    struct sg_daemon *d = ep->d;

    grt->req = NULL;
    if (!ep->retired && !d->stopping && !d->fatal) {
        if (err) {
            (void)sg_metric_addl(d->m.remote_read_requests, 1, "failure");
        } else {
            (void)sg_metric_addl(d->m.remote_read_requests, 1, "success");
            (void)sg_metric_addl(d->m.remote_read_bytes, (double)res->stats.bytes);
            (void)sg_metric_addl(d->m.remote_read_samples, (double)res->stats.samples);
            (void)sg_metric_addl(d->m.remote_read_skipped_chunks,
                                 (double)res->stats.skipped_histogram_chunks);
        }
        if (err || res->count == grt->plan.nsels) {
            finish_eval(grt, res, err);
        } else {
            struct sg_err e;
            sg_err_clear(&e);
            sg_err_set(&e, SG_EPROTO, "remote read returned %zu results for %zu queries",
                       res->count, grt->plan.nsels);
            finish_eval(grt, NULL, &e);
        }
    }
    sg_arena_reset(&grt->arena);
    grt->in_flight = false;
    epoch_unref(ep);
}

static void on_tick(uv_timer_t *t)
{
    struct sg_group_rt *grt = t->data;
    struct sg_rel_rt *rt = grt->rt;
    struct sg_epoch *ep = rt->ep;
    struct sg_daemon *d = ep->d;
    struct sg_rr_query *qs;
    struct sg_rr_hints *hints;
    struct sg_err err;
    char gn[128];
    int rc;

    if (ep->retired || d->stopping || d->fatal || !rt->rel)
        return;
    if (grt->in_flight) {
        (void)sg_metric_addl(d->m.rule_group_iterations_missed, 1);
        sg_log(SG_LOG_WARN, "rule group evaluation still running; tick skipped", "release",
               rt->cfg->name, "group", gname(grt, gn, sizeof(gn)), NULL);
        return;
    }
    grt->t_ms = sg_daemon_now(d);
    grt->t0_ns = sg_clock_mono_ns();
    sg_arena_reset(&grt->arena);
    sg_err_clear(&err);
    rc = sg_rules_plan_group(rt->rstate, grt->g, grt->t_ms, &grt->arena, &grt->plan, &err);
    if (rc != SG_OK) {
        finish_eval(grt, NULL, &err);
        sg_arena_reset(&grt->arena);
        return;
    }
    if (grt->plan.nsels == 0) {
        struct sg_rr_result empty = {0};
        finish_eval(grt, &empty, NULL);
        sg_arena_reset(&grt->arena);
        return;
    }
    qs = sg_arena_alloc_array(&grt->arena, grt->plan.nsels, sizeof(*qs));
    hints = sg_arena_alloc_array(&grt->arena, grt->plan.nsels, sizeof(*hints));
    if (!qs || !hints) {
        sg_err_set(&err, SG_ENOMEM, "out of memory planning the group");
        finish_eval(grt, NULL, &err);
        sg_arena_reset(&grt->arena);
        return;
    }
    for (size_t i = 0; i < grt->plan.nsels; i++)
        sg_rr_query_from_selection(&grt->plan.sels[i], &qs[i], &hints[i]);
    rc = sg_rr_read_async(rt->rr, d->http, qs, grt->plan.nsels, &grt->arena, on_read, grt,
                          &grt->req, &err);
    if (rc != SG_OK) {
        (void)sg_metric_addl(d->m.remote_read_requests, 1, "failure");
        finish_eval(grt, NULL, &err);
        sg_arena_reset(&grt->arena);
        return;
    }
    grt->in_flight = true;
    ep->refs++;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void on_timer_closed(uv_handle_t *h)
{
    struct sg_group_rt *grt = h->data;
    grt->timer_open = false;
    epoch_unref(grt->rt->ep);
}

static void epoch_unref(struct sg_epoch *ep)
{
    if (--ep->refs == 0 && ep->retired)
        epoch_free(ep);
}

void sg_epoch_unref(struct sg_epoch *ep)
{
    epoch_unref(ep);
}

int sg_epoch_start(struct sg_epoch *ep, struct sg_err *err)
{
    struct sg_daemon *d = ep->d;

    ep->started = true;
    for (size_t i = 0; i < ep->nrts; i++) {
        struct sg_rel_rt *rt = &ep->rts[i];
        for (size_t j = 0; j < rt->ngroups; j++) {
            struct sg_group_rt *grt = &rt->groups[j];
            int r = uv_timer_init(&d->loop, &grt->timer);
            if (r < 0)
                return sg_err_set_cause(err, SG_EIO, r, "group timer: %s", uv_strerror(r));
            grt->timer.data = grt;
            grt->timer_open = true;
            ep->refs++;
            r = uv_timer_start(&grt->timer, on_tick, 0, (uint64_t)grt->interval_ms);
            if (r < 0)
                return sg_err_set_cause(err, SG_EIO, r, "group timer: %s", uv_strerror(r));
        }
    }
    return SG_OK;
}

void sg_epoch_retire(struct sg_epoch *ep)
{
    if (!ep)
        return;
    ep->retired = true;
    for (size_t i = 0; i < ep->nrts; i++) {
        struct sg_rel_rt *rt = &ep->rts[i];
        rt->rel = NULL;
        for (size_t j = 0; j < rt->ngroups; j++) {
            struct sg_group_rt *grt = &rt->groups[j];
            if (grt->req)
                sg_rr_cancel(grt->req);
            if (grt->timer_open && !uv_is_closing((uv_handle_t *)&grt->timer)) {
                uv_timer_stop(&grt->timer);
                uv_close((uv_handle_t *)&grt->timer, on_timer_closed);
            }
        }
    }
    if (ep->refs == 0)
        epoch_free(ep);
}
