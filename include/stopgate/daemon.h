/* include/stopgate/daemon.h - `stopgate run`: the watcher daemon.
 *
 * One libuv loop runs everything (STYLE §3.7): a uv_timer per rule group
 * (one remote read per group evaluation, never two in flight), a timer
 * per release polling `helm status` for the revision, a timer per wave,
 * the HTTP server, children (helm) and signals. The daemon journals every
 * decision in state_dir's audit.jsonl before it acts, keeps per-release
 * state (gate, wave, alert states, recorded series) in
 * state_dir/releases/NAME.json, and picks it up again after a restart.
 *
 * Lifecycle:
 *   sg_daemon_new    load and check the config and every rule file, take
 *                    the state_dir lock, read the saved state, bind the
 *                    listener (nothing runs yet)
 *   sg_daemon_run    start timers and signal handlers and run the loop
 *                    until SIGTERM/SIGINT or sg_daemon_stop; SIGHUP and
 *                    POST /-/reload reload the config
 *   sg_daemon_free   release everything; returns uv_loop_close's result
 *                    (0 when every handle was closed, as it must be)
 *
 * The Alertmanager webhook parser at the end is pure and serves the HTTP
 * route, the unit tests and the fuzz target.
 */
#ifndef SG_DAEMON_H
#define SG_DAEMON_H

#include <stdint.h>
#include <uv.h>

#include "stopgate/base.h"
#include "stopgate/clock.h"
#include "stopgate/err.h"
#include "stopgate/labels.h"

struct sg_daemon;

struct sg_daemon_opts {
    const char *config_path;      /* required */
    bool dry_run;                 /* --dry-run: dry run whatever the config says */
    const char *listen_address;   /* overrides web.listen_address; NULL: the config's */
    const struct sg_clock *clock; /* wall clock for decisions; NULL: the real one */
    const char *version;          /* stopgate_build_info; NULL: "" */
    const char *revision;
    bool no_signals;              /* do not install signal handlers (tests) */
};

/* Build a daemon. Everything in opts is copied. Errors, with a message
 * naming the place: the config or a rule file (SG_EPARSE, SG_EINVAL, SG_EIO
 * with FILE:LINE:COL), the state dir (SG_ESTATE: locked by another process,
 * unreadable state), the listener (SG_EIO), a non-loopback listen address
 * without web.token_file (SG_EINVAL), SG_ENOMEM. Free with sg_daemon_free
 * (also after a failed run). */
SG_NODISCARD int sg_daemon_new(const struct sg_daemon_opts *opts, struct sg_daemon **out,
                               struct sg_err *err);

/* Run until stopped. SG_OK after a clean shutdown; SG_ESTATE when the
 * journal could not be written (the daemon stopped acting and shut down);
 * SG_EIO when the loop could not start. Call once. */
SG_NODISCARD int sg_daemon_run(struct sg_daemon *d, struct sg_err *err);

/* Start an orderly shutdown (as SIGTERM does). Safe from loop callbacks. */
void sg_daemon_stop(struct sg_daemon *d);

/* Free everything. Returns uv_loop_close's result (0, or UV_EBUSY when a
 * handle was left open - a bug). NULL returns 0. */
int sg_daemon_free(struct sg_daemon *d);

/* The loop (tests add their own handles and close them before free). */
uv_loop_t *sg_daemon_loop(struct sg_daemon *d);

/* The port the HTTP server listens on. */
int sg_daemon_port(const struct sg_daemon *d);

/* ---- Alertmanager webhook payload (version 4) ----------------------------------- */

#define SG_AM_MAX_ALERTS 10000

struct sg_am_alert {
    bool firing;                  /* "status": "firing" (else "resolved") */
    struct sg_labels labels;      /* sorted */
    struct sg_labels annotations; /* sorted */
    int64_t starts_at_ms;
    int64_t ends_at_ms;           /* INT64_MIN for Go's zero time */
    struct sg_str fingerprint;    /* Alertmanager's, may be empty */
    struct sg_str generator_url;
};

struct sg_am_payload {
    struct sg_str version;        /* "4" */
    struct sg_str status;         /* group status: "firing" or "resolved" */
    struct sg_str receiver;
    struct sg_str group_key;
    struct sg_str external_url;
    uint64_t truncated_alerts;
    struct sg_am_alert *alerts;
    size_t count;
};

/* Parse a webhook body (Alertmanager's notify/webhook Message: version,
 * groupKey, truncatedAlerts, status, receiver, groupLabels, commonLabels,
 * commonAnnotations, externalURL, alerts[] of status, labels, annotations,
 * startsAt, endsAt, generatorURL, fingerprint). Unknown fields are
 * ignored; version must be "4"; each alert needs a status of "firing" or
 * "resolved", string-valued labels with valid names, and RFC 3339 times.
 * Everything is allocated in `a`. SG_EPARSE (not JSON, with line and
 * column), SG_EINVAL (shape, naming the field: "alerts[3].labels: ..."),
 * SG_ELIMIT (more than SG_AM_MAX_ALERTS alerts), SG_ENOMEM. */
SG_NODISCARD int sg_am_parse(struct sg_str body, struct sg_arena *a, struct sg_am_payload *out,
                             struct sg_err *err);

#endif
