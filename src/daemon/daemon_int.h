/* src/daemon/daemon_int.h - what the daemon's files share. Nothing outside
 * src/daemon/ (and the daemon's unit tests) includes this file.
 *
 * Objects and who owns them:
 *
 *   struct sg_daemon   the loop and everything on it (daemon.c)
 *   struct sg_epoch    one loaded config with its rule sets, remote-read
 *                      clients and group timers; replaced whole on reload.
 *                      A retired epoch lives until its last timer has
 *                      closed and its last read has called back (refs).
 *   struct sg_rel_rt   one release's part of an epoch: rule set, rule
 *                      evaluation state, remote-read client, groups
 *   struct sg_group_rt one rule group: its timer and the evaluation in
 *                      flight (eval.c)
 *   struct sg_rel      one release's lasting state, kept across reloads:
 *                      revision, wave, gate, followed alerts (tracks),
 *                      failure streaks, local store (release.c, waves.c,
 *                      persist.c)
 *   struct sg_track    one alert instance the release follows (rules or
 *                      Alertmanager)
 */
#ifndef SG_DAEMON_INT_H
#define SG_DAEMON_INT_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "stopgate/action.h"
#include "stopgate/config.h"
#include "stopgate/daemon.h"
#include "stopgate/http.h"
#include "stopgate/metrics.h"
#include "stopgate/notify.h"
#include "stopgate/proc.h"
#include "stopgate/rr.h"
#include "stopgate/rules.h"
#include "stopgate/state.h"
#include "stopgate/store.h"
#include "stopgate/web.h"

#define SG_DAEMON_TRACKS_MAX   10000          /* alerts followed per release */
#define SG_DAEMON_GROUP_ARENA  ((size_t)1 << 30) /* one group evaluation's plan and read */
#define SG_DAEMON_LOCAL_MAX    ((size_t)256 << 20) /* recorded series per release */
#define SG_DAEMON_RETENTION_MAX INT64_C(86400000) /* local series kept at most 24h */
#define SG_DAEMON_DOC_MAX      ((size_t)16 << 20) /* a release document */
#define SG_DAEMON_SERIES_SAVE_MS INT64_C(10000) /* recorded series saved at most this often */
#define SG_DAEMON_REASON_MAX   512
#define SG_DAEMON_SHUTDOWN_GRACE_MS 15000     /* children and deliveries at shutdown */

struct sg_daemon;
struct sg_epoch;
struct sg_rel;

/* ---- alert tracks (release.c) -------------------------------------------------- */

enum sg_track_source { SG_TRACK_RULES = 0, SG_TRACK_AM = 1 };

#define SG_TRACK_HIST_BITS 128

struct sg_track {
    enum sg_track_source source;
    char *origin;         /* rules: "FILE GROUP"; Alertmanager: "alertmanager" */
    uint64_t fp;          /* sg_labels_hash of labels */
    char *alertname;
    struct sg_labels labels; /* one allocation with its strings: labels_mem */
    void *labels_mem;
    char *query;          /* the rule's expression, NULL for Alertmanager alerts */
    bool has_stop;        /* the alert carries a `stop` label */
    enum sg_alert_state state;
    double value;
    int64_t active_at_ms; /* SG_TIME_UNSET when inactive */
    uint64_t hist[2];     /* bit 0 of hist[0] = latest evaluation; 1 = firing */
    uint32_t nhist;       /* evaluations recorded, at most SG_TRACK_HIST_BITS */
    bool tripped;         /* firing in M of the last N evaluations (notified) */
    bool acked;           /* a person resumed while it was tripped */
    int64_t tripped_at_ms;
    bool seen;            /* reported by the evaluation being applied */
};

/* Push one evaluation (firing or not) into a history. */
void sg_track_hist_push(uint64_t hist[2], uint32_t *nhist, bool firing);
/* Firing evaluations among the last n (n <= SG_TRACK_HIST_BITS). */
uint32_t sg_track_hist_count(const uint64_t hist[2], uint32_t n);

/* A release's routes with their matchers compiled (match: =, match_re:
 * =~, fully anchored), in the arena. */
struct sg_route_rt {
    const struct sg_route *route;
    struct sg_matcher *ms;
    size_t nms;
};
SG_NODISCARD int sg_routes_compile(const struct sg_release_config *rc, struct sg_arena *a,
                                   struct sg_route_rt **out, struct sg_err *err);
/* The route for a label set: the first whose matchers all accept the
 * labels (a missing label reads as ""); NULL when none does (then the
 * alert only notifies). */
const struct sg_route *sg_routes_match(const struct sg_route_rt *rs, size_t n,
                                       const struct sg_labels *labels);
/* The same, compiling the routes for this call (tests). */
const struct sg_route *sg_route_find(const struct sg_release_config *rc,
                                     const struct sg_labels *labels);

/* ---- runtime of one release in one epoch (eval.c) --------------------------------- */

struct sg_group_rt {
    struct sg_rel_rt *rt;
    const struct sg_rule_group *g;
    int64_t interval_ms;
    uv_timer_t timer;
    bool timer_open;
    bool in_flight;
    struct sg_rr_req *req;
    struct sg_arena arena;      /* plan, queries and read results of the evaluation in flight */
    struct sg_rules_plan plan;
    int64_t t_ms;               /* evaluation time of the one in flight */
    int64_t t0_ns;              /* monotonic start */
    bool evaluated;             /* at least one evaluation finished */
    bool restored;              /* alert states restored after the first good one */
    bool failing;               /* the last evaluation failed (logged once) */
    int64_t last_eval_ms;       /* SG_TIME_UNSET before the first */
    double last_duration_s;
};

struct sg_rel_rt {
    struct sg_epoch *ep;
    const struct sg_release_config *cfg;
    struct sg_rel *rel;         /* the lasting state; NULL in a retired epoch */
    struct sg_ruleset *rs;
    struct sg_rules_state *rstate; /* NULL when the release has no rules */
    struct sg_rr_client *rr;    /* NULL when it has no rules */
    struct sg_group_rt *groups;
    size_t ngroups;
    struct sg_labels external_labels; /* the remote read's, for $externalLabels */
    struct sg_route_rt *routes;      /* compiled, parallel to cfg->routes */
    size_t nroutes;
    struct sg_arena arena;
};

struct sg_epoch {
    struct sg_daemon *d;
    struct sg_config *cfg;
    struct sg_rel_rt *rts;      /* parallel to cfg->releases */
    size_t nrts;
    struct sg_notify *notify;
    size_t refs;                /* open group timers + reads in flight */
    bool started, retired;
};

/* Load the rule files of every release of cfg and build their runtimes
 * (nothing starts). On failure the epoch is freed and err names the file
 * and place. */
SG_NODISCARD int sg_epoch_new(struct sg_daemon *d, struct sg_config *cfg, struct sg_epoch **out,
                              struct sg_err *err);
/* Start every group's timer (first evaluation at once). */
SG_NODISCARD int sg_epoch_start(struct sg_epoch *ep, struct sg_err *err);
/* Stop timers and cancel reads; the epoch frees itself (and its config)
 * once no reference is left: open timers, reads in flight, and holders
 * (the daemon holds one on its current epoch and drops it with
 * sg_epoch_unref). Safe on an epoch that never started. */
void sg_epoch_retire(struct sg_epoch *ep);
void sg_epoch_unref(struct sg_epoch *ep);
/* Every group of the epoch has finished an evaluation. */
bool sg_epoch_evaluated(const struct sg_epoch *ep);
/* The runtime of release `name`, or NULL. */
struct sg_rel_rt *sg_epoch_rt(struct sg_epoch *ep, const char *name);

/* ---- a release's lasting state (release.c) --------------------------------------- */

struct sg_rel {
    struct sg_daemon *d;
    char *name;
    const struct sg_release_config *cfg; /* the current epoch's */
    struct sg_rel_rt *rt;                /* the current epoch's */
    struct sg_store *local;              /* recorded series, ALERTS, ALERTS_FOR_STATE */
    int64_t retention_ms;                /* how far back rules read the local series */

    /* Helm revision (waves.c) */
    bool revision_known;
    int64_t revision;
    bool stored_revision_known;          /* from the state document at start */
    int64_t stored_revision;
    bool polled;                         /* the first poll answered */
    uv_timer_t poll_timer;
    struct sg_proc *poll;
    bool poll_failing;                   /* the last poll failed (logged once) */

    /* wave */
    bool wave;
    int64_t wave_revision;               /* -1 when unknown */
    int64_t wave_start_ms, wave_end_ms;
    uv_timer_t wave_timer;

    /* gate */
    bool halted;
    char halt_reason[SG_DAEMON_REASON_MAX];
    int64_t halt_since_ms;
    bool paused;                         /* a pause action ran; resume undoes it */

    /* alerts followed */
    struct sg_track **tracks;
    size_t ntracks, cap;

    /* consecutive bad evaluations */
    uint32_t qerr_streak, nodata_streak;
    int64_t qerr_since_ms, nodata_since_ms;
    char qerr_last[SG_DAEMON_REASON_MAX];

    /* persistence */
    bool dirty;                          /* gate, wave, tracks changed since the last save */
    bool series_dirty;                   /* local series changed */
    int64_t saved_ms;

    size_t handles;                      /* open timers + poll in flight */
    bool removed;                        /* gone from the config; freed when handles == 0 */
    bool started;
};

/* A release's lasting state, read from state_dir (or fresh). */
SG_NODISCARD int sg_rel_new(struct sg_daemon *d, const char *name, struct sg_rel **out,
                            struct sg_err *err);
/* Start its timers (revision poll, wave end). */
SG_NODISCARD int sg_rel_start(struct sg_rel *rel, struct sg_err *err);
/* Close its timers and cancel its poll; freed when the last handle closed
 * if `removed`, else by sg_rel_free after the loop ended. */
void sg_rel_close(struct sg_rel *rel);
void sg_rel_free(struct sg_rel *rel);

/* The results of one group evaluation, applied to the release: alert
 * tracks, trips and resolutions, routes, failure streaks, no data. */
struct sg_eval_outcome {
    const struct sg_group_rt *grt;
    int64_t t_ms;
    bool read_failed;
    const char *error;        /* the read error or the first rule error, or NULL */
    size_t rule_errors;
    bool no_data;             /* a stop: rule's selector returned no series */
    const char *no_data_rule; /* its name */
};
void sg_rel_apply_eval(struct sg_rel *rel, const struct sg_eval_outcome *o);

/* After a group's first evaluation in an epoch: give the rule state back
 * the ActiveAt (and firing state) of the alerts the release followed, so
 * that `for` timers go on where they were. */
void sg_rel_restore_alerts(struct sg_rel *rel, struct sg_group_rt *grt);

/* An Alertmanager alert for this release. */
void sg_rel_apply_am(struct sg_rel *rel, const struct sg_am_alert *a, int64_t now_ms);

/* Wave start (revision -1: unknown) and end. `why` goes to the audit log. */
void sg_rel_wave_start(struct sg_rel *rel, int64_t revision, const char *why, int64_t now_ms);
void sg_rel_wave_end(struct sg_rel *rel, int64_t now_ms);

/* A person lifts the halt. false when the journal failed. */
bool sg_rel_resume(struct sg_rel *rel, const char *who, int64_t now_ms);

/* Forget rule tracks whose group is gone from the rule files (a tripped
 * one resolves first). */
void sg_rel_prune(struct sg_rel *rel);

/* Save the document when something changed (force: now). */
void sg_rel_save(struct sg_rel *rel, bool force);

/* Pending/firing alerts per (alertname, state) into stopgate_alerts. */
void sg_daemon_update_alert_metrics(struct sg_daemon *d);

/* ---- persistence (persist.c) ---------------------------------------------------- */

/* The release document (format in persist.c). New reference. */
json_t *sg_rel_doc(const struct sg_rel *rel, size_t max_bytes);
/* Restore rel from a document; problems name the field. */
SG_NODISCARD int sg_rel_restore(struct sg_rel *rel, const json_t *doc, struct sg_err *err);

/* ---- revision polling and waves (waves.c) ----------------------------------------- */

/* Read `version` from `helm status -o json` output. */
SG_NODISCARD int sg_helm_status_revision(struct sg_str json, int64_t *rev, struct sg_err *err);
SG_NODISCARD int sg_rel_poll_start(struct sg_rel *rel, struct sg_err *err);
/* (Re)arm the wave-end timer from rel->wave_end_ms. */
void sg_rel_wave_timer_arm(struct sg_rel *rel);

/* ---- Alertmanager (am.c) ------------------------------------------------------------- */

/* Hand each alert of a parsed payload to the releases it belongs to;
 * counts of alerts taken and ignored. */
void sg_daemon_am_apply(struct sg_daemon *d, const struct sg_am_payload *p, size_t *taken,
                        size_t *ignored);

/* ---- HTTP routes (routes.c) -------------------------------------------------------- */

extern const struct sg_web_route sg_daemon_routes[];
extern const size_t sg_daemon_routes_count;

/* ---- the daemon (daemon.c) ----------------------------------------------------------- */

struct sg_daemon {
    uv_loop_t loop;
    bool loop_ok;
    uv_signal_t sig_term, sig_int, sig_hup;
    bool signals_on;
    uv_timer_t grace_timer;     /* shutdown deadline for children and deliveries */
    bool grace_on;

    char *config_path;
    char *listen_override;
    bool force_dry_run;
    bool no_signals;
    const struct sg_clock *clock;

    struct sg_epoch *ep;        /* current */
    const struct sg_config *cfg; /* ep->cfg */
    bool dry_run;

    struct sg_rel **rels;
    size_t nrels;

    struct sg_http *http;
    struct sg_web *web;
    struct sg_state *state;
    struct sg_metrics *metrics;
    struct sg_metrics_std m;
    struct sg_actuator act;
    size_t actions_in_flight;

    char *helm;                 /* resolved helm executable */
    bool helm_missing;          /* "helm not found" was logged (once until found again) */
    const char *const *tool_env;
    struct sg_arena tool_arena;

    int64_t start_ms;
    bool ready;                 /* every group evaluated once (latched) */
    bool running, stopping;
    bool fatal;                 /* the journal could not be written */
    char fatal_msg[SG_ERR_MSG_MAX];
    uint64_t reloads, reload_failures;
};

int64_t sg_daemon_now(const struct sg_daemon *d);
/* The release named name (NULL when unknown or removed). */
struct sg_rel *sg_daemon_rel(struct sg_daemon *d, struct sg_str name);
/* Write an audit line. On failure: log, stop acting, shut down; false. */
bool sg_daemon_audit(struct sg_daemon *d, const struct sg_audit *rec);
/* Notify through the current epoch's dispatcher. */
void sg_daemon_notify(struct sg_daemon *d, const struct sg_notify_event *ev);
/* Reload config and rules; the old ones keep running on failure. */
SG_NODISCARD int sg_daemon_reload(struct sg_daemon *d, struct sg_err *err);
/* Run an action through the actuator (after its audit line was written). */
void sg_daemon_act(struct sg_daemon *d, struct sg_rel *rel, enum sg_action_kind kind,
                   const char *key, const char *reason, int64_t revision);
/* Undo a pause through the actuator (after the resume line was written). */
void sg_daemon_unpause(struct sg_daemon *d, struct sg_rel *rel);
/* Readiness may have changed. */
void sg_daemon_check_ready(struct sg_daemon *d);
/* Fatal: stop acting and shut down with exit status 1. */
void sg_daemon_fatal(struct sg_daemon *d, const char *msg);

/* RFC 3339 as Go's time.Time marshals (nanosecond form with trailing zeros
 * trimmed): "2026-11-29T08:00:00.5Z". */
void sg_daemon_time_json(int64_t ms, char *buf, size_t n);

#endif
