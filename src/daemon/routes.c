/* src/daemon/routes.c - the daemon's HTTP endpoints (SPEC.md "HTTP").
 *
 *   GET  /metrics                      own metrics, text format 0.0.4
 *   GET  /-/healthy, /-/ready          200; ready once every rule group has
 *                                      been evaluated (503 before)
 *   GET  /api/v1/status                releases: gate, wave, firing alerts
 *   GET  /api/v1/rules, /api/v1/alerts Prometheus 2.42's JSON shapes (a
 *                                      group also names its "release")
 *   GET  /api/v1/gate/R                200 open, 423 halted, 404 unknown
 *   POST /api/v1/releases/R/resume     lift a halt (200)
 *   POST /api/v1/waves/R               announce a wave, body {"revision":N}
 *                                      optional (202)
 *   POST /api/v1/alertmanager          Alertmanager webhook, payload v4
 *   POST /-/reload                     reload config and rules (500 and the
 *                                      reason when the new config is bad)
 * Every POST carries SG_WEB_AUTH: with web.token_file set the server
 * answers 401 before reading the body unless the bearer token matches (in
 * constant time). Size limits and timeouts are the web module's.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "stopgate/log.h"
#include "stopgate/num.h"

#define METRICS_MAX ((size_t)64 << 20)


/* ---- JSON helpers --------------------------------------------------------------------- */

static json_t *jtime(int64_t ms)
{
    char buf[48];

    if (ms == SG_TIME_UNSET || ms == 0)
        return json_string("0001-01-01T00:00:00Z");
    sg_daemon_time_json(ms, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *jstrn(struct sg_str s)
{
    json_t *j = json_stringn(s.ptr ? s.ptr : "", s.len);
    return j ? j : json_string("\xef\xbf\xbd");
}

static json_t *jlabels(const struct sg_labels *ls)
{
    json_t *o = json_object();

    for (uint32_t i = 0; o && i < ls->count; i++) {
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)ls->v[i].name.len, ls->v[i].name.ptr);
        json_object_set_new(o, name, jstrn(ls->v[i].value));
    }
    return o;
}

/* Seconds as Go prints a float64: integral values without a fraction. */
static json_t *jseconds(double s)
{
    if (s == floor(s) && fabs(s) < 9e15)
        return json_integer((json_int_t)s);
    return json_real(s);
}

static json_t *jvalue_e(double v)
{
    char buf[64];
    sg_num_format(v, 'e', buf, sizeof(buf));
    return json_string(buf);
}

static struct sg_daemon *dmn(void *ctx)
{
    return ctx;
}

static void not_found(struct sg_web_req *req, struct sg_str name)
{
    sg_web_respond_error(req, 404, "not_found", "unknown release \"%.*s\"",
                         (int)(name.len > 128 ? 128 : name.len), name.ptr);
}

/* ---- health, metrics ------------------------------------------------------------------ */

static void h_healthy(struct sg_web_req *req, void *ctx)
{
    static const char body[] = "stopgate is Healthy.\n";
    (void)ctx;
    sg_web_respond(req, 200, "text/plain; charset=utf-8", body, sizeof(body) - 1, NULL);
}

static void h_ready(struct sg_web_req *req, void *ctx)
{
    static const char ok[] = "stopgate is Ready.\n";
    static const char no[] = "Service Unavailable";
    struct sg_daemon *d = dmn(ctx);

    if (d->ready)
        sg_web_respond(req, 200, "text/plain; charset=utf-8", ok, sizeof(ok) - 1, NULL);
    else
        sg_web_respond(req, 503, "text/plain; charset=utf-8", no, sizeof(no) - 1, NULL);
}

static void h_metrics(struct sg_web_req *req, void *ctx)
{
    struct sg_daemon *d = dmn(ctx);
    struct sg_buf out;
    struct sg_err err;

    sg_buf_init(&out, METRICS_MAX);
    sg_err_clear(&err);
    if (sg_metrics_render(d->metrics, &out, &err) != SG_OK) {
        sg_buf_cleanup(&out);
        sg_web_respond_error(req, 500, "internal", "rendering metrics: %s", err.msg);
        return;
    }
    sg_web_respond(req, 200, SG_METRICS_CONTENT_TYPE, out.data, out.len, NULL);
    sg_buf_cleanup(&out);
}

/* ---- status and gate -------------------------------------------------------------------- */

static json_t *track_json(const struct sg_track *t)
{
    json_t *o = json_object();
    char buf[48];

    json_object_set_new(o, "alertname", json_string(t->alertname));
    json_object_set_new(o, "labels", jlabels(&t->labels));
    json_object_set_new(o, "state", json_string(sg_alert_state_name(t->state)));
    if (t->active_at_ms != SG_TIME_UNSET) {
        sg_daemon_time_json(t->active_at_ms, buf, sizeof(buf));
        json_object_set_new(o, "activeAt", json_string(buf));
    }
    if (t->source == SG_TRACK_RULES)
        json_object_set_new(o, "value", jvalue_e(t->value));
    json_object_set_new(o, "source",
                        json_string(t->source == SG_TRACK_AM ? "alertmanager" : "rules"));
    json_object_set_new(o, "tripped", json_boolean(t->tripped));
    json_object_set_new(o, "acknowledged", json_boolean(t->acked));
    return o;
}

static json_t *release_json(const struct sg_rel *rel)
{
    json_t *o = json_object(), *firing = json_array(), *pending = json_array();
    char buf[48];

    json_object_set_new(o, "name", json_string(rel->name));
    json_object_set_new(o, "gate", json_string(rel->halted ? "halted" : "open"));
    if (rel->halted) {
        json_object_set_new(o, "reason", json_string(rel->halt_reason));
        sg_daemon_time_json(rel->halt_since_ms, buf, sizeof(buf));
        json_object_set_new(o, "since", json_string(buf));
    }
    json_object_set_new(o, "revision",
                        rel->revision_known ? json_integer(rel->revision) : json_null());
    if (rel->wave) {
        json_t *w = json_object();
        json_object_set_new(w, "revision", rel->wave_revision >= 0
                                               ? json_integer(rel->wave_revision)
                                               : json_null());
        sg_daemon_time_json(rel->wave_start_ms, buf, sizeof(buf));
        json_object_set_new(w, "started", json_string(buf));
        sg_daemon_time_json(rel->wave_end_ms, buf, sizeof(buf));
        json_object_set_new(w, "ends", json_string(buf));
        json_object_set_new(o, "wave", w);
    } else {
        json_object_set_new(o, "wave", json_null());
    }
    for (size_t i = 0; i < rel->ntracks; i++) {
        const struct sg_track *t = rel->tracks[i];
        if (t->state == SG_ALERT_FIRING)
            json_array_append_new(firing, track_json(t));
        else if (t->state == SG_ALERT_PENDING)
            json_array_append_new(pending, track_json(t));
    }
    json_object_set_new(o, "firing", firing);
    json_object_set_new(o, "pending", pending);
    json_object_set_new(o, "query_errors", json_integer(rel->qerr_streak));
    json_object_set_new(o, "no_data", json_integer(rel->nodata_streak));
    return o;
}

static void h_status(struct sg_web_req *req, void *ctx)
{
    struct sg_daemon *d = dmn(ctx);
    json_t *root = json_object(), *arr = json_array();

    for (size_t i = 0; i < d->nrels; i++)
        if (!d->rels[i]->removed)
            json_array_append_new(arr, release_json(d->rels[i]));
    json_object_set_new(root, "releases", arr);
    json_object_set_new(root, "dry_run", json_boolean(d->dry_run));
    json_object_set_new(root, "ready", json_boolean(d->ready));
    json_object_set_new(root, "started", jtime(d->start_ms));
    sg_web_respond_json(req, 200, root);
}

static void h_gate(struct sg_web_req *req, void *ctx)
{
    struct sg_daemon *d = dmn(ctx);
    struct sg_rel *rel = sg_daemon_rel(d, req->params[0]);
    json_t *o;
    char buf[48];

    if (!rel) {
        not_found(req, req->params[0]);
        return;
    }
    o = json_object();
    json_object_set_new(o, "release", json_string(rel->name));
    json_object_set_new(o, "gate", json_string(rel->halted ? "halted" : "open"));
    if (rel->halted) {
        json_object_set_new(o, "reason", json_string(rel->halt_reason));
        sg_daemon_time_json(rel->halt_since_ms, buf, sizeof(buf));
        json_object_set_new(o, "since", json_string(buf));
    }
    sg_web_respond_json(req, rel->halted ? 423 : 200, o);
}

static void h_resume(struct sg_web_req *req, void *ctx)
{
    struct sg_daemon *d = dmn(ctx);
    struct sg_rel *rel = sg_daemon_rel(d, req->params[0]);
    json_t *o, *acked;
    bool was;

    if (!rel) {
        not_found(req, req->params[0]);
        return;
    }
    was = rel->halted;
    acked = json_array();
    for (size_t i = 0; i < rel->ntracks; i++)
        if (rel->tracks[i]->tripped)
            json_array_append_new(acked, json_string(rel->tracks[i]->alertname));
    if (!sg_rel_resume(rel, req->remote_addr, sg_daemon_now(d))) {
        json_decref(acked);
        sg_web_respond_error(req, 500, "internal", "the audit journal cannot be written");
        return;
    }
    o = json_object();
    json_object_set_new(o, "release", json_string(rel->name));
    json_object_set_new(o, "gate", json_string("open"));
    json_object_set_new(o, "was_halted", json_boolean(was));
    json_object_set_new(o, "acknowledged", acked);
    sg_web_respond_json(req, 200, o);
}

static void h_wave(struct sg_web_req *req, void *ctx)
{
    struct sg_daemon *d = dmn(ctx);
    struct sg_rel *rel = sg_daemon_rel(d, req->params[0]);
    json_t *body = NULL, *o, *w;
    struct sg_err err;
    int64_t rev = -1;
    char buf[48];

    if (!rel) {
        not_found(req, req->params[0]);
        return;
    }
    sg_err_clear(&err);
    if (sg_web_req_json(req, &body, &err) != SG_OK) {
        sg_web_respond_error(req, 400, "bad_data", "%s", err.msg);
        return;
    }
    if (body) {
        json_t *r = json_is_object(body) ? json_object_get(body, "revision") : NULL;
        if (!json_is_object(body) || (r && !json_is_null(r) && (!json_is_integer(r) ||
                                                                 json_integer_value(r) < 0))) {
            json_decref(body);
            sg_web_respond_error(req, 400, "bad_data",
                                 "want {\"revision\": N} with a non-negative integer N");
            return;
        }
        if (r && json_is_integer(r))
            rev = json_integer_value(r);
        json_decref(body);
    }
    if (rev < 0 && rel->revision_known)
        rev = rel->revision;
    sg_rel_wave_start(rel, rev, "announced over HTTP", sg_daemon_now(d));
    if (d->fatal) {
        sg_web_respond_error(req, 500, "internal", "the audit journal cannot be written");
        return;
    }
    o = json_object();
    w = json_object();
    json_object_set_new(o, "release", json_string(rel->name));
    json_object_set_new(w, "revision", rev >= 0 ? json_integer(rev) : json_null());
    sg_daemon_time_json(rel->wave_start_ms, buf, sizeof(buf));
    json_object_set_new(w, "started", json_string(buf));
    sg_daemon_time_json(rel->wave_end_ms, buf, sizeof(buf));
    json_object_set_new(w, "ends", json_string(buf));
    json_object_set_new(o, "wave", w);
    sg_web_respond_json(req, 202, o);
}

/* ---- Alertmanager and reload ---------------------------------------------------------------- */

static void h_alertmanager(struct sg_web_req *req, void *ctx)
{
    struct sg_daemon *d = dmn(ctx);
    struct sg_am_payload p;
    struct sg_err err;
    size_t taken, ignored;
    json_t *o;

    sg_err_clear(&err);
    if (sg_am_parse(req->body, req->arena, &p, &err) != SG_OK) {
        sg_log(SG_LOG_WARN, "Alertmanager webhook refused", "remote", req->remote_addr, "err",
               err.msg, NULL);
        sg_web_respond_error(req, 400, "bad_data", "%s", err.msg);
        return;
    }
    sg_daemon_am_apply(d, &p, &taken, &ignored);
    sg_log(SG_LOG_DEBUG, "Alertmanager webhook", "remote", req->remote_addr, "alerts",
           sg_log_i64((int64_t)p.count).s, "taken", sg_log_i64((int64_t)taken).s, "ignored",
           sg_log_i64((int64_t)ignored).s, NULL);
    if (d->fatal) {
        sg_web_respond_error(req, 500, "internal", "the audit journal cannot be written");
        return;
    }
    o = json_object();
    json_object_set_new(o, "taken", json_integer((json_int_t)taken));
    json_object_set_new(o, "ignored", json_integer((json_int_t)ignored));
    sg_web_respond_data(req, o);
}

static void h_reload(struct sg_web_req *req, void *ctx)
{
    struct sg_daemon *d = dmn(ctx);
    struct sg_err err;
    char msg[SG_ERR_MSG_MAX + 64];
    int n;

    sg_err_clear(&err);
    sg_log(SG_LOG_INFO, "reload requested over HTTP", "remote", req->remote_addr, NULL);
    if (sg_daemon_reload(d, &err) != SG_OK) {
        n = snprintf(msg, sizeof(msg), "failed to reload config: %s\n", err.msg);
        sg_web_respond(req, 500, "text/plain; charset=utf-8", msg,
                       n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : strlen(msg), NULL);
        return;
    }
    sg_web_respond(req, 200, NULL, NULL, 0, NULL);
}

/* ---- Prometheus's rules and alerts ------------------------------------------------------------ */

struct alerts_ctx {
    json_t *arr;
    int worst; /* 0 inactive, 1 pending, 2 firing */
};

static int on_api_alert(const struct sg_rule *rule, const struct sg_alert *a, void *arg)
{
    struct alerts_ctx *c = arg;
    json_t *o;
    char buf[48];

    (void)rule;
    if (a->state != SG_ALERT_PENDING && a->state != SG_ALERT_FIRING)
        return 0;
    if ((int)a->state > c->worst)
        c->worst = (int)a->state;
    o = json_object();
    json_object_set_new(o, "labels", jlabels(&a->labels));
    json_object_set_new(o, "annotations", jlabels(&a->annotations));
    json_object_set_new(o, "state", json_string(sg_alert_state_name(a->state)));
    sg_daemon_time_json(a->active_at_ms, buf, sizeof(buf));
    json_object_set_new(o, "activeAt", json_string(buf));
    if (a->keep_firing_since_ms != SG_TIME_UNSET && a->keep_firing_since_ms != 0) {
        sg_daemon_time_json(a->keep_firing_since_ms, buf, sizeof(buf));
        json_object_set_new(o, "keepFiringSince", json_string(buf));
    }
    json_object_set_new(o, "value", jvalue_e(a->value));
    json_array_append_new(c->arr, o);
    return 0;
}

static json_t *rule_query(const struct sg_rule *r)
{
    struct sg_buf b;
    json_t *j;

    sg_buf_init(&b, (size_t)1 << 20);
    if (r->expr && sg_promql_print(r->expr, &b) == SG_OK)
        j = jstrn(sg_buf_view(&b));
    else
        j = jstrn(r->expr_text);
    sg_buf_cleanup(&b);
    return j;
}

static json_t *rule_json(const struct sg_rel_rt *rt, const struct sg_rule *r)
{
    const struct sg_rule_status *st = rt->rstate ? sg_rules_rule_status(rt->rstate, r) : NULL;
    json_t *o = json_object();
    const char *health = "unknown";

    if (st && st->health == SG_RULE_HEALTH_OK)
        health = "ok";
    else if (st && st->health == SG_RULE_HEALTH_ERR)
        health = "err";
    if (r->kind == SG_RULE_ALERT) {
        struct alerts_ctx c = {json_array(), 0};
        (void)sg_rules_foreach_alert(rt->rstate, r, on_api_alert, &c);
        json_object_set_new(o, "state", json_string(c.worst == 2   ? "firing"
                                                    : c.worst == 1 ? "pending"
                                                                   : "inactive"));
        json_object_set_new(o, "name", jstrn(r->name));
        json_object_set_new(o, "query", rule_query(r));
        json_object_set_new(o, "duration", jseconds((double)r->for_ms / 1000.0));
        json_object_set_new(o, "keepFiringFor", jseconds((double)r->keep_firing_for_ms / 1000.0));
        json_object_set_new(o, "labels", jlabels(&r->labels));
        json_object_set_new(o, "annotations", jlabels(&r->annotations));
        json_object_set_new(o, "alerts", c.arr);
    } else {
        json_object_set_new(o, "name", jstrn(r->name));
        json_object_set_new(o, "query", rule_query(r));
        if (r->labels.count)
            json_object_set_new(o, "labels", jlabels(&r->labels));
    }
    json_object_set_new(o, "health", json_string(health));
    if (st && st->health == SG_RULE_HEALTH_ERR && st->last_error[0])
        json_object_set_new(o, "lastError", json_string(st->last_error));
    json_object_set_new(o, "evaluationTime", json_real(st ? st->duration_s : 0));
    json_object_set_new(o, "lastEvaluation", jtime(st ? st->last_eval_ms : SG_TIME_UNSET));
    json_object_set_new(o, "type", json_string(r->kind == SG_RULE_ALERT ? "alerting"
                                                                         : "recording"));
    return o;
}

static void h_rules(struct sg_web_req *req, void *ctx)
{
    struct sg_daemon *d = dmn(ctx);
    struct sg_str type;
    bool alerts = true, records = true;
    json_t *groups = json_array(), *data;

    if (sg_web_req_query(req, "type", &type) && type.len) {
        if (sg_str_eq_c(type, "alert") || sg_str_eq_c(type, "ALERT")) {
            records = false;
        } else if (sg_str_eq_c(type, "record") || sg_str_eq_c(type, "RECORD")) {
            alerts = false;
        } else {
            json_decref(groups);
            sg_web_respond_error(req, 400, "bad_data", "invalid parameter \"type\": not "
                                                       "supported value \"%.*s\"",
                                 (int)(type.len > 64 ? 64 : type.len), type.ptr);
            return;
        }
    }
    for (size_t i = 0; d->ep && i < d->ep->nrts; i++) {
        const struct sg_rel_rt *rt = &d->ep->rts[i];
        for (size_t j = 0; j < rt->ngroups; j++) {
            const struct sg_group_rt *grt = &rt->groups[j];
            json_t *g = json_object(), *rules = json_array();
            for (size_t k = 0; k < grt->g->nrules; k++) {
                const struct sg_rule *r = &grt->g->rules[k];
                if ((r->kind == SG_RULE_ALERT && !alerts) ||
                    (r->kind == SG_RULE_RECORD && !records))
                    continue;
                json_array_append_new(rules, rule_json(rt, r));
            }
            json_object_set_new(g, "name", jstrn(grt->g->name));
            json_object_set_new(g, "file", json_string(grt->g->file));
            json_object_set_new(g, "rules", rules);
            json_object_set_new(g, "interval", jseconds((double)grt->interval_ms / 1000.0));
            json_object_set_new(g, "limit", json_integer(grt->g->limit));
            json_object_set_new(g, "evaluationTime", json_real(grt->last_duration_s));
            json_object_set_new(g, "lastEvaluation", jtime(grt->last_eval_ms));
            json_object_set_new(g, "release", json_string(rt->cfg->name));
            json_array_append_new(groups, g);
        }
    }
    data = json_object();
    json_object_set_new(data, "groups", groups);
    sg_web_respond_data(req, data);
}

static void h_alerts(struct sg_web_req *req, void *ctx)
{
    struct sg_daemon *d = dmn(ctx);
    struct alerts_ctx c = {json_array(), 0};
    json_t *data;

    for (size_t i = 0; d->ep && i < d->ep->nrts; i++) {
        const struct sg_rel_rt *rt = &d->ep->rts[i];
        if (rt->rstate)
            (void)sg_rules_foreach_alert(rt->rstate, NULL, on_api_alert, &c);
    }
    data = json_object();
    json_object_set_new(data, "alerts", c.arr);
    sg_web_respond_data(req, data);
}

/* ---- the table ------------------------------------------------------------------------------------ */

const struct sg_web_route sg_daemon_routes[] = {
    {"GET", "/metrics", h_metrics, 0},
    {"GET", "/-/healthy", h_healthy, 0},
    {"GET", "/-/ready", h_ready, 0},
    {"GET", "/api/v1/status", h_status, 0},
    {"GET", "/api/v1/rules", h_rules, 0},
    {"GET", "/api/v1/alerts", h_alerts, 0},
    {"GET", "/api/v1/gate/:release", h_gate, 0},
    {"POST", "/api/v1/releases/:release/resume", h_resume, SG_WEB_AUTH},
    {"POST", "/api/v1/waves/:release", h_wave, SG_WEB_AUTH},
    {"POST", "/api/v1/alertmanager", h_alertmanager, SG_WEB_AUTH},
    {"POST", "/-/reload", h_reload, SG_WEB_AUTH},
};

const size_t sg_daemon_routes_count = SG_ARRAY_LEN(sg_daemon_routes);
