/* src/daemon/daemon.c - the daemon's wiring: build everything from the
 * config, run the loop, signals, reload, actions, shutdown.
 *
 * What runs on the loop (one thread, STYLE §3.7):
 *   - rule groups, each on its own timer (eval.c), reading through the
 *     shared curl multi (sg_http);
 *   - per release: a revision poll timer with its `helm status` child and
 *     a wave-end timer (waves.c);
 *   - the HTTP server (routes.c);
 *   - actions through the actuator, notifications through the current
 *     epoch's dispatcher;
 *   - SIGTERM/SIGINT (shutdown) and SIGHUP (reload) as uv_signal handles.
 *
 * Shutdown order: close the listener; stop the group timers and cancel
 * reads; stop starting actions; let running actions finish until a
 * deadline, then cancel them; cancel HTTP transfers and close the curl
 * multi; close the release timers (their helm children are cancelled);
 * run the loop until it is empty, closing (and logging) anything left;
 * uv_loop_close must then return 0.
 *
 * A journal write that fails is fatal: the daemon stops acting at once
 * (no action runs after a decision it could not journal), shuts down and
 * `run` exits 1.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon_int.h"
#include "stopgate/clock.h"
#include "stopgate/fs.h"
#include "stopgate/log.h"

#define TOKEN_MAX 4096

/* ---- small shared helpers ------------------------------------------------------------- */

int64_t sg_daemon_now(const struct sg_daemon *d)
{
    return sg_clock_now(d->clock);
}

void sg_daemon_time_json(int64_t ms, char *buf, size_t n)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    char f[8] = "";

    gmtime_r(&secs, &tm);
    if (frac) {
        snprintf(f, sizeof(f), ".%03d", frac);
        for (size_t l = strlen(f); l > 1 && f[l - 1] == '0'; l--)
            f[l - 1] = '\0';
    }
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f);
}

struct sg_rel *sg_daemon_rel(struct sg_daemon *d, struct sg_str name)
{
    for (size_t i = 0; i < d->nrels; i++)
        if (!d->rels[i]->removed && sg_str_eq_c(name, d->rels[i]->name))
            return d->rels[i];
    return NULL;
}

uv_loop_t *sg_daemon_loop(struct sg_daemon *d)
{
    return &d->loop;
}

int sg_daemon_port(const struct sg_daemon *d)
{
    return d->web ? sg_web_port(d->web) : 0;
}

static void begin_shutdown(struct sg_daemon *d);

void sg_daemon_fatal(struct sg_daemon *d, const char *msg)
{
    if (d->fatal)
        return;
    d->fatal = true;
    snprintf(d->fatal_msg, sizeof(d->fatal_msg), "%s", msg);
    sg_log(SG_LOG_ERROR, "cannot record decisions any more; stopping", "err", msg, NULL);
    begin_shutdown(d);
}

bool sg_daemon_audit(struct sg_daemon *d, const struct sg_audit *rec)
{
    struct sg_err err;

    if (d->fatal)
        return false;
    sg_err_clear(&err);
    if (sg_state_audit(d->state, rec, &err) != SG_OK) {
        char msg[SG_ERR_MSG_MAX + 32];
        snprintf(msg, sizeof(msg), "audit journal: %s", err.msg);
        sg_daemon_fatal(d, msg);
        return false;
    }
    return true;
}

void sg_daemon_notify(struct sg_daemon *d, const struct sg_notify_event *ev)
{
    struct sg_audit a = {0};
    json_t *extra = json_object();

    if (d->fatal || !d->ep)
        return;
    if (extra) {
        json_object_set_new(extra, "kind", json_string(sg_notify_kind_name(ev->kind)));
        if (ev->summary)
            json_object_set_new(extra, "summary", json_string(ev->summary));
    }
    a.ts_ms = ev->ts_ms;
    a.event = SG_AUDIT_NOTIFY;
    a.release = ev->release;
    a.alertname = ev->alertname;
    a.labels = ev->labels;
    a.has_value = ev->has_value;
    a.value = ev->value;
    a.has_revision = ev->has_revision;
    a.revision = ev->revision;
    a.action = ev->action;
    a.has_dry_run = true;
    a.dry_run = ev->dry_run;
    a.extra = extra;
    if (!sg_daemon_audit(d, &a)) {
        json_decref(extra);
        return;
    }
    json_decref(extra);
    sg_notify_send(d->ep->notify, ev);
}

void sg_daemon_check_ready(struct sg_daemon *d)
{
    if (!d->ready && d->ep && sg_epoch_evaluated(d->ep)) {
        d->ready = true;
        sg_log(SG_LOG_INFO, "ready: rules loaded and evaluated once", NULL);
    }
}

/* ---- actions --------------------------------------------------------------------------------- */

struct act_job {
    struct sg_daemon *d;
    char *release;
    char *key;
    const char *action;
};

static void maybe_finish_shutdown(struct sg_daemon *d);

static void act_job_free(struct act_job *j)
{
    sg_free(j->release);
    sg_free(j->key);
    sg_free(j);
}

static void on_act_done(const struct sg_action_result *res, const struct sg_err *err, void *arg)
{
    struct act_job *j = arg;
    struct sg_daemon *d = j->d;
    const char *result = err ? "failure" : (res && res->result ? res->result : "success");
    struct sg_audit a = {0};
    json_t *extra = json_object();

    d->actions_in_flight--;
    if (extra) {
        json_object_set_new(extra, "result", json_string(result));
        if (res && res->detail)
            json_object_set_new(extra, "detail", json_string(res->detail));
        if (res && res->output)
            json_object_set_new(extra, "output", json_string(res->output));
        if (err)
            json_object_set_new(extra, "error", json_string(err->msg));
    }
    a.event = SG_AUDIT_ACTION_RESULT;
    a.release = j->release;
    a.action = j->action;
    a.key = j->key;
    a.has_dry_run = true;
    a.dry_run = d->dry_run;
    if (res && res->argv)
        a.argv = res->argv;
    if (res && res->has_exit_status) {
        a.has_exit_status = true;
        a.exit_status = res->exit_status;
    }
    a.extra = extra;
    (void)sg_daemon_audit(d, &a);
    json_decref(extra);
    (void)sg_metric_addl(d->m.actions, 1, j->release, j->action, result);
    sg_log(err ? SG_LOG_ERROR : SG_LOG_INFO, "action finished", "release", j->release, "action",
           j->action, "result", result, "key", j->key, "err", err ? err->msg : NULL, NULL);
    act_job_free(j);
    if (d->stopping)
        maybe_finish_shutdown(d);
}

static void start_action(struct sg_daemon *d, struct sg_rel *rel, const char *action,
                         const struct sg_action_req *req, bool is_resume)
{
    struct act_job *j;
    struct sg_err err;
    int rc;

    if (d->stopping || d->fatal || !d->act.ops) {
        sg_log(SG_LOG_WARN, "action not started: shutting down", "release", rel->name, "action",
               action, NULL);
        return;
    }
    j = sg_calloc(1, sizeof(*j));
    if (j) {
        j->d = d;
        j->release = sg_strdup(rel->name);
        j->key = req && req->key ? sg_strdup(req->key) : NULL;
        j->action = action;
    }
    if (!j || !j->release || (req && req->key && !j->key)) {
        if (j)
            act_job_free(j);
        sg_log(SG_LOG_ERROR, "action not started: out of memory", "release", rel->name, NULL);
        (void)sg_metric_addl(d->m.actions, 1, rel->name, action, "failure");
        return;
    }
    sg_err_clear(&err);
    if (is_resume)
        rc = d->act.ops->resume(d->act.impl, rel->cfg, d->dry_run, on_act_done, j, &err);
    else
        rc = d->act.ops->run(d->act.impl, req, on_act_done, j, &err);
    if (rc != SG_OK) {
        struct sg_action_result res = {0};
        d->actions_in_flight++;
        res.result = "failure";
        on_act_done(&res, &err, j); /* journals the failure like any other result */
        return;
    }
    d->actions_in_flight++;
}

void sg_daemon_act(struct sg_daemon *d, struct sg_rel *rel, enum sg_action_kind kind,
                   const char *key, const char *reason, int64_t revision)
{
    struct sg_action_req req = {0};

    req.kind = kind;
    req.release = rel->cfg;
    req.revision = revision;
    req.key = key;
    req.reason = reason;
    req.dry_run = d->dry_run;
    start_action(d, rel, sg_action_kind_name(kind), &req, false);
}

void sg_daemon_unpause(struct sg_daemon *d, struct sg_rel *rel)
{
    start_action(d, rel, "resume", NULL, true);
}

/* ---- config and building ------------------------------------------------------------------ */

static int read_token(const char *path, char **out, struct sg_err *err)
{
    struct sg_buf b;
    size_t n;
    int rc;

    *out = NULL;
    if (!path)
        return SG_OK;
    sg_buf_init(&b, TOKEN_MAX);
    rc = sg_fs_read_all(path, TOKEN_MAX, &b, err);
    if (rc != SG_OK) {
        sg_err_prefix(err, "web.token_file: ");
        sg_buf_cleanup(&b);
        return rc;
    }
    n = b.len;
    while (n && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r' || b.data[n - 1] == ' ' ||
                 b.data[n - 1] == '\t'))
        n--;
    if (n == 0) {
        sg_buf_cleanup(&b);
        return sg_err_set(err, SG_EINVAL, "web.token_file %s is empty", path);
    }
    *out = sg_strndup(b.data, n);
    sg_buf_cleanup(&b);
    return *out ? SG_OK : sg_err_set(err, SG_ENOMEM, "out of memory");
}

static int load_config(struct sg_daemon *d, struct sg_config **out, struct sg_err *err)
{
    int rc = sg_config_load_file(d->config_path, out, err);

    if (rc != SG_OK)
        return rc;
    return SG_OK;
}

static int setup_tools(struct sg_daemon *d, const struct sg_config *cfg, struct sg_err *err)
{
    const char *extra[1];
    size_t nextra = 0;
    char *kc = NULL;
    struct sg_err e;
    int rc;

    sg_free(d->helm);
    d->helm = NULL;
    sg_err_clear(&e);
    /* a reload looks again; the warning is logged once until helm is found */
    if (sg_proc_find_executable(cfg->tools.helm ? cfg->tools.helm : "helm", NULL, &d->helm, &e) !=
        SG_OK) {
        if (!d->helm_missing)
            sg_log(SG_LOG_WARN, "helm not found: revisions are not polled; waves start only by POST",
                   "err", e.msg, NULL);
        d->helm_missing = true;
    } else {
        if (d->helm_missing)
            sg_log(SG_LOG_INFO, "helm found: revisions are polled", "helm", d->helm, NULL);
        d->helm_missing = false;
    }
    sg_arena_reset(&d->tool_arena);
    if (cfg->tools.kubeconfig) {
        kc = sg_arena_printf(&d->tool_arena, "KUBECONFIG=%s", cfg->tools.kubeconfig);
        if (!kc)
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        extra[nextra++] = kc;
    }
    rc = sg_proc_env_build(cfg->tools.env, cfg->tools.env_count, extra, nextra, &d->tool_arena,
                           &d->tool_env, err);
    return rc;
}

/* Release objects for every release of ep (existing ones are kept, new ones
 * read their state document). On failure nothing changed. */
static int bind_releases(struct sg_daemon *d, struct sg_epoch *ep, struct sg_err *err)
{
    struct sg_rel **v = NULL, **fresh = NULL;
    size_t n = 0, nfresh = 0, total = ep->nrts;
    int rc = SG_OK;

    if (total) {
        v = sg_calloc(total, sizeof(*v));
        fresh = sg_calloc(total, sizeof(*fresh));
        if (!v || !fresh) {
            rc = sg_err_set(err, SG_ENOMEM, "out of memory");
            goto fail;
        }
    }
    for (size_t i = 0; i < ep->nrts; i++) {
        struct sg_rel *rel = sg_daemon_rel(d, sg_str_c(ep->rts[i].cfg->name));
        if (!rel) {
            rc = sg_rel_new(d, ep->rts[i].cfg->name, &rel, err);
            if (rc != SG_OK)
                goto fail;
            fresh[nfresh++] = rel;
        }
        v[n++] = rel;
    }
    /* commit: releases gone from the config close; the rest point at ep */
    for (size_t i = 0; i < d->nrels; i++) {
        struct sg_rel *rel = d->rels[i];
        bool kept = false;
        for (size_t j = 0; j < n; j++)
            kept |= v[j] == rel;
        if (!kept) {
            const char *lv[1] = {rel->name};
            sg_log(SG_LOG_INFO, "release removed from the config", "release", rel->name, NULL);
            sg_metric_remove(d->m.release_halted, lv);
            sg_metric_remove(d->m.wave_active, lv);
            rel->removed = true;
            if (rel->started) {
                sg_rel_close(rel);
            } else {
                sg_rel_free(rel);
            }
        }
    }
    sg_free(d->rels);
    d->rels = v;
    d->nrels = n;
    for (size_t i = 0; i < ep->nrts; i++) {
        v[i]->cfg = ep->rts[i].cfg;
        v[i]->rt = &ep->rts[i];
        ep->rts[i].rel = v[i];
    }
    sg_free(fresh);
    return SG_OK;
fail:
    for (size_t i = 0; i < nfresh; i++)
        sg_rel_free(fresh[i]);
    sg_free(fresh);
    sg_free(v);
    return rc;
}

int sg_daemon_new(const struct sg_daemon_opts *o, struct sg_daemon **out, struct sg_err *err)
{
    struct sg_daemon *d = sg_calloc(1, sizeof(*d));
    struct sg_config *cfg = NULL;
    struct sg_web_opts wo = {0};
    const char *listen;
    char *token = NULL;
    int r, rc;

    if (!d)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    *out = d;
    d->clock = o->clock;
    d->force_dry_run = o->dry_run;
    d->no_signals = o->no_signals;
    sg_arena_init(&d->tool_arena, (size_t)1 << 20);
    d->config_path = sg_strdup(o->config_path ? o->config_path : "");
    d->listen_override = o->listen_address ? sg_strdup(o->listen_address) : NULL;
    if (!d->config_path || (o->listen_address && !d->listen_override))
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    r = uv_loop_init(&d->loop);
    if (r < 0)
        return sg_err_set_cause(err, SG_EIO, r, "event loop: %s", uv_strerror(r));
    d->loop_ok = true;
    d->start_ms = sg_daemon_now(d);

    rc = load_config(d, &cfg, err);
    if (rc != SG_OK)
        return rc;
    d->cfg = cfg;
    d->dry_run = d->force_dry_run || cfg->dry_run;
    listen = d->listen_override ? d->listen_override : cfg->web.listen_address;
    if (!sg_config_listen_is_loopback(listen) && !cfg->web.token_file) {
        sg_config_free(cfg);
        d->cfg = NULL;
        return sg_err_set(err, SG_EINVAL,
                          "refusing to listen on %s without web.token_file: POST endpoints "
                          "change the rollout",
                          listen);
    }
    rc = read_token(cfg->web.token_file, &token, err);
    if (rc == SG_OK)
        rc = sg_state_open(cfg->state_dir, 0, &d->state, NULL, err);
    if (rc == SG_OK)
        rc = sg_metrics_create(0, &d->metrics, err);
    if (rc == SG_OK)
        rc = sg_metrics_register_std(d->metrics, o->version ? o->version : "",
                                     o->revision ? o->revision : "", &d->m, err);
    if (rc == SG_OK)
        rc = sg_http_new(&d->loop, &d->http, err);
    if (rc == SG_OK)
        rc = sg_actuator_gate_only_new(&d->loop, &d->act, err);
    if (rc == SG_OK)
        rc = setup_tools(d, cfg, err);
    if (rc != SG_OK) {
        sg_free(token);
        sg_config_free(cfg);
        d->cfg = NULL;
        return rc;
    }
    rc = sg_epoch_new(d, cfg, &d->ep, err); /* takes cfg */
    if (rc != SG_OK) {
        d->cfg = NULL;
        sg_free(token);
        return rc;
    }
    d->ep->refs++; /* the current epoch's own reference */
    rc = bind_releases(d, d->ep, err);
    if (rc != SG_OK) {
        sg_free(token);
        return rc;
    }
    for (size_t i = 0; i < d->nrels; i++)
        sg_rel_prune(d->rels[i]);
    wo.routes = sg_daemon_routes;
    wo.routes_count = sg_daemon_routes_count;
    wo.ctx = d;
    wo.token = token;
    wo.read_timeout_ms = (uint64_t)(cfg->web.read_timeout_ms > 0 ? cfg->web.read_timeout_ms : 0);
    wo.max_body = (size_t)cfg->web.max_body_bytes;
    rc = sg_web_create(&d->loop, &wo, &d->web, err);
    sg_free(token);
    if (rc != SG_OK)
        return rc;
    rc = sg_web_listen(d->web, listen, err);
    if (rc != SG_OK)
        return rc;
    return SG_OK;
}

/* ---- reload ------------------------------------------------------------------------------------ */

int sg_daemon_reload(struct sg_daemon *d, struct sg_err *err)
{
    struct sg_config *cfg = NULL;
    struct sg_epoch *ep = NULL, *old = d->ep;
    char *token = NULL;
    int rc;

    if (d->stopping)
        return sg_err_set(err, SG_ECANCELED, "shutting down");
    rc = load_config(d, &cfg, err);
    if (rc != SG_OK)
        goto failed;
    if (strcmp(cfg->state_dir, d->cfg->state_dir) != 0) {
        rc = sg_err_set(err, SG_EINVAL, "%s: state_dir cannot change while running (%s -> %s)",
                        d->config_path, d->cfg->state_dir, cfg->state_dir);
        sg_config_free(cfg);
        goto failed;
    }
    if (!d->listen_override && strcmp(cfg->web.listen_address, d->cfg->web.listen_address) != 0)
        sg_log(SG_LOG_WARN, "web.listen_address changes only with a restart", NULL);
    rc = read_token(cfg->web.token_file, &token, err);
    if (rc != SG_OK) {
        sg_config_free(cfg);
        goto failed;
    }
    if (!token && !sg_config_listen_is_loopback(d->listen_override ? d->listen_override
                                                                   : d->cfg->web.listen_address)) {
        rc = sg_err_set(err, SG_EINVAL, "web.token_file is required on a non-loopback address");
        sg_config_free(cfg);
        goto failed;
    }
    rc = sg_epoch_new(d, cfg, &ep, err); /* takes cfg */
    if (rc != SG_OK)
        goto failed;
    rc = bind_releases(d, ep, err);
    if (rc != SG_OK) {
        sg_epoch_retire(ep);
        goto failed;
    }
    rc = sg_web_set_token(d->web, token, err);
    if (rc != SG_OK)
        sg_log(SG_LOG_ERROR, "could not set the new web token", "err", err->msg, NULL);
    sg_free(token);
    token = NULL;
    ep->refs++; /* the current epoch's own reference */
    d->ep = ep;
    d->cfg = ep->cfg;
    d->dry_run = d->force_dry_run || d->cfg->dry_run;
    (void)setup_tools(d, d->cfg, NULL);
    sg_epoch_retire(old);
    sg_epoch_unref(old);
    for (size_t i = 0; i < d->nrels; i++)
        sg_rel_prune(d->rels[i]);
    for (size_t i = 0; i < d->nrels; i++) {
        struct sg_rel *rel = d->rels[i];
        struct sg_err e;
        sg_err_clear(&e);
        if (!rel->started) {
            if (sg_rel_start(rel, &e) != SG_OK)
                sg_log(SG_LOG_ERROR, "release timers", "release", rel->name, "err", e.msg, NULL);
        } else {
            if (sg_rel_poll_start(rel, &e) != SG_OK) /* the interval may have changed */
                sg_log(SG_LOG_ERROR, "release timers", "release", rel->name, "err", e.msg, NULL);
        }
    }
    {
        struct sg_err e;
        sg_err_clear(&e);
        if (sg_epoch_start(ep, &e) != SG_OK)
            sg_log(SG_LOG_ERROR, "starting rule groups", "err", e.msg, NULL);
    }
    d->reloads++;
    sg_log(SG_LOG_INFO, "configuration reloaded", "file", d->config_path, NULL);
    return SG_OK;
failed:
    sg_free(token);
    d->reload_failures++;
    sg_log(SG_LOG_ERROR, "reload rejected; the running configuration stays", "err",
           err ? err->msg : "", NULL);
    return rc;
}

/* ---- signals and shutdown ------------------------------------------------------------------------ */

static void on_signal(uv_signal_t *s, int signum)
{
    struct sg_daemon *d = s->data;

    if (signum == SIGHUP) {
        struct sg_err err;
        sg_err_clear(&err);
        sg_log(SG_LOG_INFO, "SIGHUP: reloading", NULL);
        if (sg_daemon_reload(d, &err) != SG_OK)
            return; /* logged; the running config stays */
        return;
    }
    sg_log(SG_LOG_INFO, "signal received; shutting down", "signal",
           signum == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    begin_shutdown(d);
}

static void on_closed_noop(uv_handle_t *h)
{
    (void)h;
}

static void on_grace(uv_timer_t *t)
{
    struct sg_daemon *d = t->data;

    sg_log(SG_LOG_WARN, "shutdown deadline: cancelling running actions", NULL);
    if (d->act.ops && d->act.ops->cancel_all)
        d->act.ops->cancel_all(d->act.impl);
    if (d->ep)
        sg_notify_cancel_all(d->ep->notify);
    uv_close((uv_handle_t *)&d->grace_timer, on_closed_noop);
    d->grace_on = false;
}

static bool shutdown_busy(const struct sg_daemon *d)
{
    return d->actions_in_flight > 0 || (d->ep && sg_notify_in_flight(d->ep->notify) > 0);
}

/* The second half of the shutdown, once actions are done (or cut off). */
static void maybe_finish_shutdown(struct sg_daemon *d)
{
    if (shutdown_busy(d))
        return;
    if (d->grace_on) {
        uv_timer_stop(&d->grace_timer);
        uv_close((uv_handle_t *)&d->grace_timer, on_closed_noop);
        d->grace_on = false;
    }
    if (d->http) {
        sg_http_close(d->http);
        d->http = NULL;
    }
    for (size_t i = 0; i < d->nrels; i++)
        sg_rel_close(d->rels[i]);
}

/* Stop the groups; the epoch (and its config) stays until the loop has
 * ended because the daemon keeps its reference: late callbacks read it. */
static void stop_groups(struct sg_epoch *ep)
{
    sg_epoch_retire(ep);
}

static void begin_shutdown(struct sg_daemon *d)
{
    if (d->stopping)
        return;
    d->stopping = true;
    /* 1. the listener and every connection */
    if (d->web) {
        sg_web_close(d->web, NULL, NULL);
        d->web = NULL;
    }
    if (d->signals_on) {
        uv_close((uv_handle_t *)&d->sig_term, on_closed_noop);
        uv_close((uv_handle_t *)&d->sig_int, on_closed_noop);
        uv_close((uv_handle_t *)&d->sig_hup, on_closed_noop);
        d->signals_on = false;
    }
    /* 2. group timers and reads */
    if (d->ep && !d->ep->retired)
        stop_groups(d->ep);
    /* 3.-4. no new actions (d->stopping); running ones get a deadline */
    if (shutdown_busy(d) && d->loop_ok) {
        if (uv_timer_init(&d->loop, &d->grace_timer) == 0) {
            d->grace_timer.data = d;
            d->grace_on = true;
            (void)uv_timer_start(&d->grace_timer, on_grace, SG_DAEMON_SHUTDOWN_GRACE_MS, 0);
        }
    }
    /* 5.-6. transfers and release timers */
    maybe_finish_shutdown(d);
}

void sg_daemon_stop(struct sg_daemon *d)
{
    begin_shutdown(d);
}

static void on_leftover(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    sg_log(SG_LOG_ERROR, "handle left open at shutdown; closing it", "type",
           uv_handle_type_name(uv_handle_get_type(h)), NULL);
    uv_close(h, NULL);
}

int sg_daemon_run(struct sg_daemon *d, struct sg_err *err)
{
    int r;

    if (d->running)
        return sg_err_set(err, SG_EINVAL, "the daemon runs once");
    d->running = true;
    if (!d->no_signals) {
        r = uv_signal_init(&d->loop, &d->sig_term);
        if (r == 0)
            r = uv_signal_init(&d->loop, &d->sig_int);
        if (r == 0)
            r = uv_signal_init(&d->loop, &d->sig_hup);
        if (r < 0)
            return sg_err_set_cause(err, SG_EIO, r, "signals: %s", uv_strerror(r));
        d->signals_on = true;
        d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
        (void)uv_signal_start(&d->sig_term, on_signal, SIGTERM);
        (void)uv_signal_start(&d->sig_int, on_signal, SIGINT);
        (void)uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
    }
    for (size_t i = 0; i < d->nrels; i++) {
        if (sg_rel_start(d->rels[i], err) != SG_OK) {
            begin_shutdown(d);
            break;
        }
    }
    if (!d->stopping && sg_epoch_start(d->ep, err) != SG_OK)
        begin_shutdown(d);
    if (!d->stopping) {
        char addr[64];
        snprintf(addr, sizeof(addr), "%d", sg_daemon_port(d));
        sg_log(SG_LOG_INFO, "stopgate started", "config", d->config_path, "port", addr,
               "releases", sg_log_i64((int64_t)d->nrels).s, "dry_run",
               d->dry_run ? "true" : "false", NULL);
        sg_daemon_check_ready(d);
    }
    sg_daemon_update_alert_metrics(d);
    (void)uv_run(&d->loop, UV_RUN_DEFAULT);
    /* the loop ran dry: every handle closed */
    if (d->fatal)
        return sg_err_set(err, SG_ESTATE, "%s", d->fatal_msg);
    if (err && err->code)
        return err->code;
    return SG_OK;
}

int sg_daemon_free(struct sg_daemon *d)
{
    int r = 0;

    if (!d)
        return 0;
    if (d->loop_ok) {
        begin_shutdown(d);
        if (d->grace_on) { /* nothing will run the actions any more */
            uv_timer_stop(&d->grace_timer);
            on_grace(&d->grace_timer);
        }
        d->actions_in_flight = 0;
        maybe_finish_shutdown(d);
        (void)uv_run(&d->loop, UV_RUN_DEFAULT);
        if (d->ep) {
            struct sg_epoch *ep = d->ep;
            d->ep = NULL;
            d->cfg = NULL;
            sg_epoch_retire(ep);
            sg_epoch_unref(ep); /* frees it */
        }
        uv_walk(&d->loop, on_leftover, NULL);
        (void)uv_run(&d->loop, UV_RUN_DEFAULT);
    }
    for (size_t i = 0; i < d->nrels; i++)
        sg_rel_free(d->rels[i]);
    sg_free(d->rels);
    sg_actuator_free(&d->act);
    sg_state_close(d->state);
    sg_metrics_free(d->metrics);
    sg_free(d->helm);
    sg_arena_cleanup(&d->tool_arena);
    sg_free(d->config_path);
    sg_free(d->listen_override);
    if (d->loop_ok)
        r = uv_loop_close(&d->loop);
    sg_free(d);
    return r;
}
