/* src/daemon/release.c - a release's lasting state and every decision the
 * daemon takes about it.
 *
 * Inputs: the outcome of each rule-group evaluation (alert states from the
 * rules module, read and rule errors, selectors without data), Alertmanager
 * alerts, wave starts and ends (waves.c), and resume requests.
 *
 * Semantics (SPEC.md "Semantics that matter"):
 *
 * - Each alert instance the release sees is a track, keyed by where it
 *   comes from (rule file and group, or Alertmanager) and its label set.
 *   Every evaluation of its group pushes one bit (firing or not) into the
 *   track's history. The track trips when it fired in at least M of its
 *   last N evaluations (the route's `trip_after: M of N`, default 1 of 1)
 *   and resolves when that no longer holds. Alertmanager alerts have no
 *   evaluations: a firing one trips at once, a resolved one resolves.
 * - A trip is journaled and notified once. What else happens depends on
 *   the wave and the route (first match wins; no match: notify):
 *     outside a wave                      notify only
 *     route notify                        notify only
 *     acknowledged by a resume            notify only
 *     active before the wave started      close the gate (halt), notify,
 *                                         never pause or roll back
 *     active at or after the wave start   close the gate and run the
 *                                         route's pause or rollback
 *   When a wave starts, tracks already tripped are looked at again under
 *   the new wave, so an alert firing at the start closes the gate.
 * - on_query_errors and on_no_data: at exactly `after` consecutive bad
 *   evaluations the threshold acts like a route with `do` (a halt and the
 *   action in a wave, a notification outside one).
 * - Idempotency: every gate-closing decision is an `action` audit line with
 *   a key, written (and fsynced) before anything is done, and a key already
 *   in the journal is never acted on again. Keys:
 *     R/rREV/rollback                     at most one rollback per revision
 *     R/rREV/pause/FP/ACTIVE_AT           one per firing of an alert
 *     R/rREV/halt/FP/ACTIVE_AT            gate closed without an action
 *     R/rREV/ACTION/query_errors/SINCE    a threshold, per streak
 *   (FP: the label set's 64-bit hash in hex; ACTIVE_AT: Unix ms.)
 * - A resume opens the gate and acknowledges the tracks tripped at that
 *   moment; an acknowledged track acts again only after it resolved, or
 *   when a new wave starts.
 *
 * Nothing here blocks except the journal append (one fsync per decision)
 * and the state document save, both rare by construction.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "stopgate/clock.h"
#include "stopgate/duration.h"
#include "stopgate/log.h"

#define KIND_HALT 100 /* a gate-closing decision without a cluster action */

/* ---- histories ----------------------------------------------------------------- */

void sg_track_hist_push(uint64_t hist[2], uint32_t *nhist, bool firing)
{
    hist[1] = (hist[1] << 1) | (hist[0] >> 63);
    hist[0] = (hist[0] << 1) | (firing ? 1u : 0u);
    if (*nhist < SG_TRACK_HIST_BITS)
        (*nhist)++;
}

uint32_t sg_track_hist_count(const uint64_t hist[2], uint32_t n)
{
    uint64_t m0, m1;

    if (n > SG_TRACK_HIST_BITS)
        n = SG_TRACK_HIST_BITS;
    m0 = n >= 64 ? UINT64_MAX : ((UINT64_C(1) << n) - 1);
    m1 = n <= 64 ? 0 : (n >= 128 ? UINT64_MAX : ((UINT64_C(1) << (n - 64)) - 1));
    return (uint32_t)(__builtin_popcountll(hist[0] & m0) + __builtin_popcountll(hist[1] & m1));
}

/* ---- names and small helpers ------------------------------------------------------ */

static const char *kind_name(int kind)
{
    return kind == KIND_HALT ? "halt" : sg_action_kind_name((enum sg_action_kind)kind);
}

static int64_t rel_revision(const struct sg_rel *rel)
{
    if (rel->wave && rel->wave_revision >= 0)
        return rel->wave_revision;
    return rel->revision_known ? rel->revision : -1;
}

static void set_revision(struct sg_audit *a, const struct sg_rel *rel)
{
    int64_t rev = rel_revision(rel);

    if (rev >= 0) {
        a->has_revision = true;
        a->revision = rev;
    }
}

static void set_event_revision(struct sg_notify_event *ev, const struct sg_rel *rel)
{
    int64_t rev = rel_revision(rel);

    if (rev >= 0) {
        ev->has_revision = true;
        ev->revision = rev;
    }
}

static void fmt_time(int64_t ms, char *buf, size_t n)
{
    sg_time_format_rfc3339(ms, buf, n);
}

static const struct sg_route *track_route(const struct sg_rel *rel, const struct sg_track *t)
{
    if (rel->rt && rel->rt->cfg == rel->cfg)
        return sg_routes_match(rel->rt->routes, rel->rt->nroutes, &t->labels);
    return rel->cfg ? sg_route_find(rel->cfg, &t->labels) : NULL;
}

static int track_kind(const struct sg_route *r)
{
    return r ? (int)r->action : (int)SG_ACTION_NOTIFY;
}

static void track_trip_mn(const struct sg_route *r, uint32_t *m, uint32_t *n)
{
    *m = r && r->trip_m ? r->trip_m : 1;
    *n = r && r->trip_n ? r->trip_n : 1;
}

/* ---- routes ------------------------------------------------------------------------ */

int sg_routes_compile(const struct sg_release_config *rc, struct sg_arena *a,
                      struct sg_route_rt **out, struct sg_err *err)
{
    struct sg_route_rt *v = NULL;

    *out = NULL;
    if (rc->routes_count == 0)
        return SG_OK;
    v = sg_arena_alloc_array(a, rc->routes_count, sizeof(*v));
    if (!v)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    for (size_t i = 0; i < rc->routes_count; i++) {
        const struct sg_route *r = &rc->routes[i];
        size_t n = r->match.count + r->match_re.count, k = 0;

        v[i].route = r;
        v[i].ms = n ? sg_arena_alloc_array(a, n, sizeof(*v[i].ms)) : NULL;
        if (n && !v[i].ms)
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        for (size_t j = 0; j < r->match.count; j++, k++) {
            int rc_ = sg_matcher_init(&v[i].ms[k], a, SG_MATCH_EQ, sg_str_c(r->match.v[j].name),
                                      sg_str_c(r->match.v[j].value), NULL, err);
            if (rc_ != SG_OK)
                return rc_;
        }
        for (size_t j = 0; j < r->match_re.count; j++, k++) {
            int rc_ = sg_matcher_init(&v[i].ms[k], a, SG_MATCH_RE,
                                      sg_str_c(r->match_re.v[j].name),
                                      sg_str_c(r->match_re.v[j].value), NULL, err);
            if (rc_ != SG_OK) {
                sg_err_prefix(err, "%s:%u:%u: route: ", r->pos.file ? r->pos.file : "",
                              r->pos.line, r->pos.col);
                return rc_;
            }
        }
        v[i].nms = n;
    }
    *out = v;
    return SG_OK;
}

const struct sg_route *sg_routes_match(const struct sg_route_rt *rs, size_t n,
                                       const struct sg_labels *labels)
{
    for (size_t i = 0; rs && i < n; i++)
        if (sg_matchers_match(rs[i].ms, rs[i].nms, labels, NULL) == 1)
            return rs[i].route;
    return NULL;
}

const struct sg_route *sg_route_find(const struct sg_release_config *rc,
                                     const struct sg_labels *labels)
{
    struct sg_arena a;
    struct sg_route_rt *rs;
    const struct sg_route *r = NULL;

    sg_arena_init(&a, (size_t)16 << 20);
    if (sg_routes_compile(rc, &a, &rs, NULL) == SG_OK)
        r = sg_routes_match(rs, rc->routes_count, labels);
    sg_arena_cleanup(&a);
    return r;
}

/* ---- tracks ------------------------------------------------------------------------ */

static void track_free(struct sg_track *t)
{
    if (!t)
        return;
    sg_free(t->origin);
    sg_free(t->alertname);
    sg_free(t->labels_mem);
    sg_free(t->query);
    sg_free(t);
}

/* One allocation holding the label array and every string. */
static int labels_dup(const struct sg_labels *in, struct sg_labels *out, void **mem)
{
    size_t bytes = (size_t)in->count * sizeof(struct sg_label);
    char *p;
    struct sg_label *v;

    for (uint32_t i = 0; i < in->count; i++)
        bytes += in->v[i].name.len + in->v[i].value.len + 2;
    p = sg_malloc(bytes ? bytes : 1);
    if (!p)
        return SG_ENOMEM;
    v = (struct sg_label *)(void *)p;
    p += (size_t)in->count * sizeof(struct sg_label);
    for (uint32_t i = 0; i < in->count; i++) {
        memcpy(p, in->v[i].name.ptr, in->v[i].name.len);
        p[in->v[i].name.len] = '\0';
        v[i].name = sg_str_make(p, in->v[i].name.len);
        p += in->v[i].name.len + 1;
        memcpy(p, in->v[i].value.ptr, in->v[i].value.len);
        p[in->v[i].value.len] = '\0';
        v[i].value = sg_str_make(p, in->v[i].value.len);
        p += in->v[i].value.len + 1;
    }
    out->v = in->count ? v : NULL;
    out->count = in->count;
    *mem = v;
    return SG_OK;
}

static struct sg_track *track_find(struct sg_rel *rel, enum sg_track_source src,
                                   const char *origin, uint64_t fp, const struct sg_labels *ls)
{
    for (size_t i = 0; i < rel->ntracks; i++) {
        struct sg_track *t = rel->tracks[i];
        if (t->source == src && t->fp == fp && strcmp(t->origin, origin) == 0 &&
            sg_labels_eq(&t->labels, ls))
            return t;
    }
    return NULL;
}

/* A new track (state inactive); NULL when out of memory or over the cap. */
static struct sg_track *track_add(struct sg_rel *rel, enum sg_track_source src,
                                  const char *origin, const struct sg_labels *ls,
                                  const char *query)
{
    struct sg_track *t;
    struct sg_str an;

    if (rel->ntracks >= SG_DAEMON_TRACKS_MAX)
        return NULL;
    if (rel->ntracks == rel->cap) {
        size_t cap = rel->cap ? rel->cap * 2 : 16;
        struct sg_track **v = sg_reallocarray(rel->tracks, cap, sizeof(*v));
        if (!v)
            return NULL;
        rel->tracks = v;
        rel->cap = cap;
    }
    t = sg_calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->source = src;
    t->fp = sg_labels_hash(ls);
    t->origin = sg_strdup(origin);
    an = sg_labels_get(ls, sg_str_c("alertname"));
    t->alertname = sg_strndup(an.ptr ? an.ptr : "", an.len);
    t->query = query ? sg_strdup(query) : NULL;
    t->active_at_ms = SG_TIME_UNSET;
    t->has_stop = sg_labels_has(ls, sg_str_c("stop"));
    t->tripped_at_ms = SG_TIME_UNSET;
    if (!t->origin || !t->alertname || (query && !t->query) ||
        labels_dup(ls, &t->labels, &t->labels_mem) != SG_OK) {
        track_free(t);
        return NULL;
    }
    rel->tracks[rel->ntracks++] = t;
    return t;
}

static void track_remove_at(struct sg_rel *rel, size_t i)
{
    track_free(rel->tracks[i]);
    memmove(&rel->tracks[i], &rel->tracks[i + 1], (rel->ntracks - i - 1) * sizeof(*rel->tracks));
    rel->ntracks--;
}

/* Exposed to persist.c through the same shape: add a restored track. */
struct sg_track *sg_rel__track_add(struct sg_rel *rel, enum sg_track_source src,
                                   const char *origin, const struct sg_labels *ls,
                                   const char *query);
struct sg_track *sg_rel__track_add(struct sg_rel *rel, enum sg_track_source src,
                                   const char *origin, const struct sg_labels *ls,
                                   const char *query)
{
    return track_add(rel, src, origin, ls, query);
}

/* ---- audit and notify helpers --------------------------------------------------------- */

/* Journal a for rel: the release's name and revision are filled in and
 * extra (may be NULL) attached, then released. False when the journal
 * refused the record; the caller then stops acting. */
static bool audit_rel(struct sg_rel *rel, struct sg_audit *a, json_t *extra)
{
    bool ok;

    a->release = rel->name;
    set_revision(a, rel);
    a->extra = extra;
    ok = sg_daemon_audit(rel->d, a);
    json_decref(extra);
    return ok;
}

/* The alert or query behind a track, in an audit record. */
static void audit_set_track(struct sg_audit *a, const struct sg_track *t)
{
    a->alertname = t->alertname;
    a->labels = &t->labels;
    a->query = t->query;
    if (t->source == SG_TRACK_RULES) {
        a->has_value = true;
        a->value = t->value;
    }
}

static bool audit_track(struct sg_rel *rel, enum sg_audit_event ev, const struct sg_track *t,
                        const char *action, json_t *extra, int64_t now)
{
    struct sg_audit a = {0};

    a.ts_ms = now;
    a.event = ev;
    audit_set_track(&a, t);
    a.action = action;
    return audit_rel(rel, &a, extra);
}

static json_t *track_extra(const struct sg_rel *rel, const struct sg_track *t)
{
    char buf[40];
    json_t *x = json_object();

    if (!x)
        return NULL;
    json_object_set_new(x, "source", json_string(t->source == SG_TRACK_AM ? "alertmanager"
                                                                           : "rules"));
    json_object_set_new(x, "state", json_string(sg_alert_state_name(t->state)));
    if (t->active_at_ms != SG_TIME_UNSET) {
        fmt_time(t->active_at_ms, buf, sizeof(buf));
        json_object_set_new(x, "active_at", json_string(buf));
    }
    json_object_set_new(x, "in_wave", json_boolean(rel->wave));
    return x;
}

static void notify_track(struct sg_rel *rel, enum sg_notify_kind kind, const struct sg_track *t,
                         const char *action, const char *summary, int64_t now)
{
    struct sg_notify_event ev = {0};

    ev.kind = kind;
    ev.ts_ms = now;
    ev.release = rel->name;
    ev.summary = summary;
    if (t) {
        ev.alertname = t->alertname;
        ev.labels = &t->labels;
        if (t->source == SG_TRACK_RULES) {
            ev.has_value = true;
            ev.value = t->value;
        }
    }
    set_event_revision(&ev, rel);
    ev.action = action;
    ev.dry_run = rel->d->dry_run;
    ev.external_url = rel->d->cfg ? rel->d->cfg->web.external_url : NULL;
    sg_daemon_notify(rel->d, &ev);
}

/* ---- the gate --------------------------------------------------------------------------- */

static void set_halted_metric(struct sg_rel *rel)
{
    (void)sg_metric_setl(rel->d->m.release_halted, rel->halted ? 1 : 0, rel->name);
}

/* Close the gate; false when it was closed already. */
static bool halt(struct sg_rel *rel, const char *reason, int64_t now)
{
    if (rel->halted)
        return false;
    rel->halted = true;
    snprintf(rel->halt_reason, sizeof(rel->halt_reason), "%s", reason);
    rel->halt_since_ms = now;
    rel->dirty = true;
    set_halted_metric(rel);
    sg_log(SG_LOG_WARN, "gate closed", "release", rel->name, "reason", reason, NULL);
    return true;
}

/* A gate-closing decision: `kind` is SG_ACTION_PAUSE, SG_ACTION_ROLLBACK or
 * KIND_HALT; `subject` makes the key unique per firing or streak. */
static void decide(struct sg_rel *rel, int kind, const char *subject, const char *reason,
                   const struct sg_track *t, const char *condition, int64_t now)
{
    struct sg_daemon *d = rel->d;
    int64_t rev = rel_revision(rel);
    char key[512], revs[32];
    struct sg_audit a = {0};
    json_t *extra;
    bool newly;

    if (rev >= 0)
        snprintf(revs, sizeof(revs), "r%" PRId64, rev);
    else
        snprintf(revs, sizeof(revs), "r-");
    if (kind == SG_ACTION_ROLLBACK) {
        snprintf(key, sizeof(key), "%s/%s/rollback", rel->name, revs);
        if (sg_state_has_action(d->state, key))
            kind = KIND_HALT; /* at most one rollback per revision */
    }
    if (kind == SG_ACTION_PAUSE && rel->paused)
        kind = KIND_HALT; /* paused already, until a person resumes it */
    if (kind != SG_ACTION_ROLLBACK)
        snprintf(key, sizeof(key), "%s/%s/%s/%s", rel->name, revs, kind_name(kind), subject);
    if (sg_state_has_action(d->state, key)) {
        /* decided before (an earlier run): the gate must be closed, nothing
         * runs again */
        if (halt(rel, reason, now))
            sg_rel_save(rel, true);
        return;
    }
    extra = t ? track_extra(rel, t) : json_object();
    if (extra) {
        json_object_set_new(extra, "reason", json_string(reason));
        if (condition)
            json_object_set_new(extra, "condition", json_string(condition));
    }
    a.ts_ms = now;
    a.event = SG_AUDIT_ACTION;
    a.action = kind_name(kind);
    a.key = key;
    a.has_dry_run = true;
    a.dry_run = d->dry_run;
    if (t)
        audit_set_track(&a, t);
    if (!audit_rel(rel, &a, extra))
        return; /* stop acting */
    newly = halt(rel, reason, now);
    if (kind == SG_ACTION_PAUSE)
        rel->paused = true;
    sg_rel_save(rel, true);
    if (newly || kind != KIND_HALT) {
        char summary[SG_DAEMON_REASON_MAX + 128];
        snprintf(summary, sizeof(summary), "%s halted%s: %s%s", rel->name,
                 kind == SG_ACTION_ROLLBACK ? ", rollback started"
                 : kind == SG_ACTION_PAUSE  ? ", pause started"
                                            : "",
                 reason, d->dry_run ? " (dry run)" : "");
        notify_track(rel, SG_NOTIFY_HALT, t, kind_name(kind), summary, now);
    }
    if (kind == KIND_HALT)
        (void)sg_metric_addl(d->m.actions, 1, rel->name, "halt", "success");
    else
        sg_daemon_act(d, rel, (enum sg_action_kind)kind, key, reason, rev);
}

/* Look at a tripped track: what does it do now? `newly`: it just tripped
 * (journal and notify the trip). */
static void consider(struct sg_rel *rel, struct sg_track *t, int64_t now, bool newly)
{
    const struct sg_route *r = track_route(rel, t);
    int kind = track_kind(r);
    char reason[SG_DAEMON_REASON_MAX], when[40], subject[64];

    if (newly) {
        char summary[SG_DAEMON_REASON_MAX];
        snprintf(summary, sizeof(summary), "%s: %s is firing%s", rel->name, t->alertname,
                 rel->wave ? "" : " (outside a wave: notification only)");
        if (!audit_track(rel, SG_AUDIT_TRIP, t, sg_action_kind_name((enum sg_action_kind)kind),
                         track_extra(rel, t), now))
            return;
        notify_track(rel, SG_NOTIFY_TRIP, t, sg_action_kind_name((enum sg_action_kind)kind),
                     summary, now);
    }
    if (t->acked || !rel->wave || kind == SG_ACTION_NOTIFY)
        return;
    fmt_time(t->tripped_at_ms != SG_TIME_UNSET ? t->tripped_at_ms : now, when, sizeof(when));
    snprintf(reason, sizeof(reason), "%s fired at %s", t->alertname, when);
    snprintf(subject, sizeof(subject), "%016" PRIx64 "/%" PRId64, t->fp,
             t->active_at_ms != SG_TIME_UNSET ? t->active_at_ms : 0);
    if (t->active_at_ms != SG_TIME_UNSET && t->active_at_ms < rel->wave_start_ms) {
        /* already active when the wave started: close the gate, never act */
        snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason),
                 " (active since before the wave)");
        decide(rel, KIND_HALT, subject, reason, t, NULL, now);
        return;
    }
    decide(rel, kind, subject, reason, t, NULL, now);
}

static void resolve(struct sg_rel *rel, struct sg_track *t, int64_t now)
{
    char summary[SG_DAEMON_REASON_MAX];

    t->tripped = false;
    t->acked = false;
    t->tripped_at_ms = SG_TIME_UNSET;
    rel->dirty = true;
    snprintf(summary, sizeof(summary), "%s: %s resolved", rel->name, t->alertname);
    if (!audit_track(rel, SG_AUDIT_RESOLVE, t, NULL, track_extra(rel, t), now))
        return;
    notify_track(rel, SG_NOTIFY_RESOLVE, t, NULL, summary, now);
}

/* Trip or resolve a track after its history changed. */
static void step_track(struct sg_rel *rel, struct sg_track *t, int64_t now)
{
    const struct sg_route *r = track_route(rel, t);
    uint32_t m, n;
    bool trip;

    track_trip_mn(r, &m, &n);
    trip = sg_track_hist_count(t->hist, n) >= m;
    if (trip && !t->tripped) {
        t->tripped = true;
        t->tripped_at_ms = now;
        rel->dirty = true;
        consider(rel, t, now, true);
    } else if (!trip && t->tripped) {
        resolve(rel, t, now);
    }
}

/* ---- thresholds ------------------------------------------------------------------------ */

static void threshold(struct sg_rel *rel, const struct sg_config_threshold *th,
                      const char *condition, const char *reason, int64_t since, int64_t now)
{
    struct sg_audit a = {0};
    json_t *extra = json_object();
    char subject[64], summary[SG_DAEMON_REASON_MAX + 64];

    if (extra) {
        json_object_set_new(extra, "condition", json_string(condition));
        json_object_set_new(extra, "reason", json_string(reason));
        json_object_set_new(extra, "in_wave", json_boolean(rel->wave));
    }
    a.ts_ms = now;
    a.event = SG_AUDIT_ERROR;
    a.action = sg_action_kind_name(th->action);
    if (!audit_rel(rel, &a, extra))
        return;
    if (!rel->wave || th->action == SG_ACTION_NOTIFY) {
        snprintf(summary, sizeof(summary), "%s: %s%s", rel->name, reason,
                 rel->wave ? "" : " (outside a wave: notification only)");
        notify_track(rel, SG_NOTIFY_TRIP, NULL, sg_action_kind_name(th->action), summary, now);
        return;
    }
    snprintf(subject, sizeof(subject), "%s/%" PRId64, condition, since);
    decide(rel, (int)th->action, subject, reason, NULL, condition, now);
}

/* ---- applying an evaluation ------------------------------------------------------------- */

struct collect {
    struct sg_rel *rel;
    const char *origin;
    const struct sg_rule *rule;
    bool oom;
};

static int on_alert(const struct sg_rule *rule, const struct sg_alert *a, void *arg)
{
    struct collect *c = arg;
    struct sg_track *t;
    char *query;

    if (a->state != SG_ALERT_PENDING && a->state != SG_ALERT_FIRING)
        return 0;
    t = track_find(c->rel, SG_TRACK_RULES, c->origin, sg_labels_hash(&a->labels), &a->labels);
    if (!t) {
        query = sg_strndup(rule->expr_text.ptr ? rule->expr_text.ptr : "", rule->expr_text.len);
        t = query ? track_add(c->rel, SG_TRACK_RULES, c->origin, &a->labels, query) : NULL;
        sg_free(query);
        if (!t) {
            c->oom = true;
            return 0;
        }
    }
    if (t->state != a->state || t->active_at_ms != a->active_at_ms)
        c->rel->dirty = true;
    t->state = a->state;
    t->value = a->value;
    t->active_at_ms = a->active_at_ms;
    t->seen = true;
    return 0;
}

/* "FILE GROUP": what identifies a group across reloads. */
static char *group_origin(const struct sg_rule_group *g)
{
    size_t fl = strlen(g->file);
    char *s = sg_malloc(fl + 1 + g->name.len + 1);

    if (!s)
        return NULL;
    memcpy(s, g->file, fl);
    s[fl] = ' ';
    memcpy(s + fl + 1, g->name.ptr, g->name.len);
    s[fl + 1 + g->name.len] = '\0';
    return s;
}

void sg_rel_apply_eval(struct sg_rel *rel, const struct sg_eval_outcome *o)
{
    const struct sg_group_rt *grt = o->grt;
    const struct sg_release_config *rc = rel->cfg;
    int64_t now = o->t_ms;
    char *origin;
    struct collect c = {0};

    /* failure streak */
    if (o->read_failed || o->rule_errors) {
        if (rel->qerr_streak++ == 0)
            rel->qerr_since_ms = now;
        snprintf(rel->qerr_last, sizeof(rel->qerr_last), "%s", o->error ? o->error : "error");
        rel->dirty = true;
    } else if (rel->qerr_streak) {
        rel->qerr_streak = 0;
        rel->dirty = true;
    }

    /* alert tracks of this group (a failed read tells nothing about them) */
    origin = group_origin(grt->g);
    if (!origin) {
        sg_log(SG_LOG_ERROR, "out of memory applying an evaluation", "release", rel->name, NULL);
        return;
    }
    if (!o->read_failed && grt->rt->rstate) {
        c.rel = rel;
        c.origin = origin;
        for (size_t i = 0; i < rel->ntracks; i++)
            if (rel->tracks[i]->source == SG_TRACK_RULES && strcmp(rel->tracks[i]->origin, origin) == 0)
                rel->tracks[i]->seen = false;
        for (size_t i = 0; i < grt->g->nrules; i++) {
            const struct sg_rule *rule = &grt->g->rules[i];
            if (rule->kind != SG_RULE_ALERT)
                continue;
            c.rule = rule;
            (void)sg_rules_foreach_alert(grt->rt->rstate, rule, on_alert, &c);
        }
        if (c.oom)
            sg_log(SG_LOG_ERROR, "too many alerts or out of memory; some are not followed",
                   "release", rel->name, NULL);
        for (size_t i = 0; i < rel->ntracks; i++) {
            struct sg_track *t = rel->tracks[i];
            if (t->source != SG_TRACK_RULES || strcmp(t->origin, origin) != 0)
                continue;
            if (!t->seen && t->state != SG_ALERT_INACTIVE) {
                t->state = SG_ALERT_INACTIVE;
                t->active_at_ms = SG_TIME_UNSET;
                rel->dirty = true;
            }
            sg_track_hist_push(t->hist, &t->nhist, t->seen && t->state == SG_ALERT_FIRING);
        }
        for (size_t i = 0; i < rel->ntracks; i++) {
            struct sg_track *t = rel->tracks[i];
            if (t->source == SG_TRACK_RULES && strcmp(t->origin, origin) == 0)
                step_track(rel, t, now);
            if (rel->d->fatal)
                break;
        }
        /* forget tracks with nothing left to remember */
        for (size_t i = rel->ntracks; i-- > 0;) {
            struct sg_track *t = rel->tracks[i];
            if (t->source == SG_TRACK_RULES && strcmp(t->origin, origin) == 0 && !t->seen &&
                !t->tripped && sg_track_hist_count(t->hist, SG_TRACK_HIST_BITS) == 0) {
                track_remove_at(rel, i);
                rel->dirty = true;
            }
        }
    }
    sg_free(origin);
    if (rel->d->fatal)
        return;

    /* on_query_errors */
    if (rc && rc->on_query_errors.after && rel->qerr_streak == rc->on_query_errors.after) {
        char reason[SG_DAEMON_REASON_MAX];
        snprintf(reason, sizeof(reason), "%u consecutive evaluations failed: %.400s",
                 rel->qerr_streak, rel->qerr_last);
        threshold(rel, &rc->on_query_errors, "query_errors", reason, rel->qerr_since_ms, now);
    }
    if (rel->d->fatal)
        return;

    /* on_no_data: counted in a wave only */
    if (rel->wave && !o->read_failed) {
        if (o->no_data) {
            if (rel->nodata_streak++ == 0)
                rel->nodata_since_ms = now;
            rel->dirty = true;
            if (rc && rc->on_no_data.after && rel->nodata_streak == rc->on_no_data.after) {
                char reason[SG_DAEMON_REASON_MAX];
                snprintf(reason, sizeof(reason),
                         "%u consecutive evaluations without data for stop rule %s",
                         rel->nodata_streak, o->no_data_rule ? o->no_data_rule : "?");
                threshold(rel, &rc->on_no_data, "no_data", reason, rel->nodata_since_ms, now);
            }
        } else if (rel->nodata_streak) {
            rel->nodata_streak = 0;
            rel->dirty = true;
        }
    } else if (!rel->wave && rel->nodata_streak) {
        rel->nodata_streak = 0;
        rel->dirty = true;
    }
    rel->series_dirty = true;
    sg_daemon_update_alert_metrics(rel->d);
    sg_rel_save(rel, false);
}

/* ---- Alertmanager alerts ----------------------------------------------------------------- */

void sg_rel_apply_am(struct sg_rel *rel, const struct sg_am_alert *a, int64_t now)
{
    uint64_t fp = sg_labels_hash(&a->labels);
    struct sg_track *t = track_find(rel, SG_TRACK_AM, "alertmanager", fp, &a->labels);

    if (a->firing) {
        if (!t) {
            t = track_add(rel, SG_TRACK_AM, "alertmanager", &a->labels, NULL);
            if (!t) {
                sg_log(SG_LOG_ERROR, "too many alerts or out of memory; Alertmanager alert dropped",
                       "release", rel->name, NULL);
                return;
            }
        }
        if (t->state != SG_ALERT_FIRING || t->active_at_ms != a->starts_at_ms)
            rel->dirty = true;
        t->state = SG_ALERT_FIRING;
        t->active_at_ms = a->starts_at_ms;
        t->value = NAN;
        /* no evaluations to count: a firing alert trips at once */
        t->hist[0] = t->hist[1] = UINT64_MAX;
        t->nhist = SG_TRACK_HIST_BITS;
        step_track(rel, t, now);
    } else if (t) {
        t->state = SG_ALERT_INACTIVE;
        t->hist[0] = t->hist[1] = 0;
        step_track(rel, t, now);
        if (!rel->d->fatal) {
            for (size_t i = 0; i < rel->ntracks; i++)
                if (rel->tracks[i] == t) {
                    track_remove_at(rel, i);
                    break;
                }
            rel->dirty = true;
        }
    }
    sg_daemon_update_alert_metrics(rel->d);
    sg_rel_save(rel, false);
}

/* ---- waves --------------------------------------------------------------------------------- */

void sg_rel_wave_start(struct sg_rel *rel, int64_t revision, const char *why, int64_t now)
{
    struct sg_audit a = {0};
    json_t *extra = json_object();
    char ends[40];
    int64_t window = rel->cfg ? rel->cfg->wave_window_ms : 0;

    rel->wave = true;
    rel->wave_revision = revision;
    rel->wave_start_ms = now;
    rel->wave_end_ms = now + window;
    if (revision >= 0) {
        rel->revision = revision;
        rel->revision_known = true;
    }
    fmt_time(rel->wave_end_ms, ends, sizeof(ends));
    if (extra) {
        json_object_set_new(extra, "reason", json_string(why));
        json_object_set_new(extra, "ends", json_string(ends));
    }
    a.ts_ms = now;
    a.event = SG_AUDIT_WAVE_START;
    if (!audit_rel(rel, &a, extra))
        return;
    sg_log(SG_LOG_INFO, "wave started", "release", rel->name, "revision",
           revision >= 0 ? sg_log_i64(revision).s : "", "ends", ends, "reason", why, NULL);
    for (size_t i = 0; i < rel->ntracks; i++)
        rel->tracks[i]->acked = false;
    rel->nodata_streak = 0;
    rel->dirty = true;
    (void)sg_metric_setl(rel->d->m.wave_active, 1, rel->name);
    sg_rel_save(rel, true);
    sg_rel_wave_timer_arm(rel);
    /* alerts already tripped meet the new wave */
    for (size_t i = 0; i < rel->ntracks && !rel->d->fatal; i++)
        if (rel->tracks[i]->tripped)
            consider(rel, rel->tracks[i], now, false);
}

void sg_rel_wave_end(struct sg_rel *rel, int64_t now)
{
    struct sg_audit a = {0};

    if (!rel->wave)
        return;
    a.ts_ms = now;
    a.event = SG_AUDIT_WAVE_END;
    if (!audit_rel(rel, &a, NULL))
        return;
    rel->wave = false;
    rel->nodata_streak = 0;
    rel->dirty = true;
    (void)sg_metric_setl(rel->d->m.wave_active, 0, rel->name);
    sg_log(SG_LOG_INFO, "wave ended", "release", rel->name, NULL);
    sg_rel_save(rel, true);
}

/* ---- resume ---------------------------------------------------------------------------------- */

bool sg_rel_resume(struct sg_rel *rel, const char *who, int64_t now)
{
    struct sg_audit a = {0};
    json_t *extra = json_object();
    json_t *acked = json_array();
    char summary[SG_DAEMON_REASON_MAX + 64];
    bool was = rel->halted;

    for (size_t i = 0; i < rel->ntracks; i++)
        if (rel->tracks[i]->tripped && acked)
            json_array_append_new(acked, json_string(rel->tracks[i]->alertname));
    if (extra) {
        json_object_set_new(extra, "was_halted", json_boolean(was));
        if (was)
            json_object_set_new(extra, "reason", json_string(rel->halt_reason));
        json_object_set_new(extra, "acknowledged", acked ? acked : json_array());
        if (who)
            json_object_set_new(extra, "by", json_string(who));
    } else {
        json_decref(acked);
    }
    a.ts_ms = now;
    a.event = SG_AUDIT_RESUME;
    a.action = "resume";
    if (!audit_rel(rel, &a, extra))
        return false;
    for (size_t i = 0; i < rel->ntracks; i++)
        if (rel->tracks[i]->tripped)
            rel->tracks[i]->acked = true;
    if (rel->paused) {
        rel->paused = false;
        sg_daemon_unpause(rel->d, rel);
    }
    rel->halted = false;
    rel->halt_reason[0] = '\0';
    rel->halt_since_ms = 0;
    rel->dirty = true;
    set_halted_metric(rel);
    sg_rel_save(rel, true);
    sg_log(SG_LOG_INFO, "gate opened by resume", "release", rel->name, NULL);
    if (was) {
        snprintf(summary, sizeof(summary), "%s resumed: the gate is open again", rel->name);
        notify_track(rel, SG_NOTIFY_RESUME, NULL, "resume", summary, now);
    }
    return true;
}

/* ---- metrics ----------------------------------------------------------------------------------- */

void sg_daemon_update_alert_metrics(struct sg_daemon *d)
{
    sg_metric_clear(d->m.alerts);
    for (size_t r = 0; r < d->nrels; r++) {
        struct sg_rel *rel = d->rels[r];
        if (rel->removed)
            continue;
        for (size_t i = 0; i < rel->ntracks; i++) {
            const struct sg_track *t = rel->tracks[i];
            if (t->state != SG_ALERT_PENDING && t->state != SG_ALERT_FIRING)
                continue;
            (void)sg_metric_addl(d->m.alerts, 1, rel->name, t->alertname,
                                 sg_alert_state_name(t->state));
        }
    }
}

/* ---- lifecycle ----------------------------------------------------------------------------------- */

int sg_rel_new(struct sg_daemon *d, const char *name, struct sg_rel **out, struct sg_err *err)
{
    struct sg_rel *rel = sg_calloc(1, sizeof(*rel));
    json_t *doc = NULL;
    int rc;

    if (!rel)
        return sg_err_set(err, SG_ENOMEM, "release %s: out of memory", name);
    rel->d = d;
    rel->name = sg_strdup(name);
    rel->local = sg_store_new(SG_DAEMON_LOCAL_MAX);
    rel->wave_revision = -1;
    rel->retention_ms = d->cfg ? d->cfg->lookback_delta_ms : 300000;
    if (!rel->name || !rel->local) {
        sg_rel_free(rel);
        return sg_err_set(err, SG_ENOMEM, "release %s: out of memory", name);
    }
    rc = sg_state_load_release(d->state, name, &doc, err);
    if (rc == SG_OK && doc)
        rc = sg_rel_restore(rel, doc, err);
    json_decref(doc);
    if (rc != SG_OK) {
        sg_err_prefix(err, "release %s: ", name);
        sg_rel_free(rel);
        return rc;
    }
    *out = rel;
    return SG_OK;
}

void sg_rel_free(struct sg_rel *rel)
{
    if (!rel)
        return;
    for (size_t i = 0; i < rel->ntracks; i++)
        track_free(rel->tracks[i]);
    sg_free(rel->tracks);
    sg_store_free(rel->local);
    sg_free(rel->name);
    sg_free(rel);
}

void sg_rel_save(struct sg_rel *rel, bool force)
{
    struct sg_daemon *d = rel->d;
    json_t *doc;
    struct sg_err err;
    int64_t now = sg_clock_mono_ms();

    if (d->fatal)
        return;
    if (!force && !rel->dirty &&
        (!rel->series_dirty || now - rel->saved_ms < SG_DAEMON_SERIES_SAVE_MS))
        return;
    doc = sg_rel_doc(rel, SG_DAEMON_DOC_MAX);
    if (!doc) {
        sg_log(SG_LOG_ERROR, "release state: out of memory", "release", rel->name, NULL);
        return;
    }
    sg_err_clear(&err);
    if (sg_state_save_release(d->state, rel->name, doc, &err) != SG_OK) {
        /* the journal is the record of decisions; a state document that
         * cannot be written is as bad: stop acting */
        char msg[SG_ERR_MSG_MAX + 64];
        snprintf(msg, sizeof(msg), "saving release state: %s", err.msg);
        json_decref(doc);
        sg_daemon_fatal(d, msg);
        return;
    }
    json_decref(doc);
    rel->dirty = false;
    rel->series_dirty = false;
    rel->saved_ms = now;
}

void sg_rel_prune(struct sg_rel *rel)
{
    int64_t now = sg_daemon_now(rel->d);

    for (size_t i = rel->ntracks; i-- > 0;) {
        struct sg_track *t = rel->tracks[i];
        bool found = false;

        if (t->source != SG_TRACK_RULES)
            continue;
        for (size_t g = 0; rel->rt && g < rel->rt->ngroups && !found; g++) {
            char *o = group_origin(rel->rt->groups[g].g);
            found = o && strcmp(o, t->origin) == 0;
            sg_free(o);
        }
        if (found)
            continue;
        if (t->tripped)
            resolve(rel, t, now);
        if (rel->d->fatal)
            return;
        track_remove_at(rel, i);
        rel->dirty = true;
    }
    sg_daemon_update_alert_metrics(rel->d);
    if (rel->dirty)
        sg_rel_save(rel, true);
}

void sg_rel_restore_alerts(struct sg_rel *rel, struct sg_group_rt *grt)
{
    char *origin = group_origin(grt->g);
    size_t n = 0;

    if (!origin)
        return;
    for (size_t i = 0; i < rel->ntracks; i++) {
        const struct sg_track *t = rel->tracks[i];
        if (t->source != SG_TRACK_RULES || strcmp(t->origin, origin) != 0 ||
            t->active_at_ms == SG_TIME_UNSET ||
            (t->state != SG_ALERT_PENDING && t->state != SG_ALERT_FIRING))
            continue;
        for (size_t r = 0; r < grt->g->nrules; r++) {
            const struct sg_rule *rule = &grt->g->rules[r];
            if (rule->kind != SG_RULE_ALERT || !sg_str_eq_c(rule->name, t->alertname))
                continue;
            n += (size_t)sg_rules_restore_alert(grt->rt->rstate, rule, &t->labels, t->state,
                                                t->active_at_ms, SG_TIME_UNSET);
        }
    }
    sg_free(origin);
    if (n)
        sg_log(SG_LOG_INFO, "alert states restored", "release", rel->name, "alerts",
               sg_log_i64((int64_t)n).s, NULL);
}
