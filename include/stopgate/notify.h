/* include/stopgate/notify.h - notifications: events, the notifier
 * interface and the dispatcher the daemon hands events to.
 *
 * The daemon decides when to tell people (one message when a stop condition
 * trips, one when the release is halted or rolled back, one when it
 * resolves, one when a person resumes it) and journals that decision; the
 * dispatcher delivers it. Every event is logged (the built-in "log"
 * notifier); each configured notifier whose type has an implementation
 * (struct sg_notifier_ops) also gets it. Types without one are named once
 * in the log when the dispatcher is built.
 *
 * Delivery is fire-and-forget for the daemon: sg_notify_send never fails
 * the caller's decision. Results are counted in
 * stopgate_notifications_total{notifier,result}.
 */
#ifndef SG_NOTIFY_H
#define SG_NOTIFY_H

#include <stdint.h>
#include <uv.h>

#include "stopgate/base.h"
#include "stopgate/config.h"
#include "stopgate/err.h"
#include "stopgate/labels.h"
#include "stopgate/metrics.h"

enum sg_notify_kind {
    SG_NOTIFY_TRIP = 0, /* a stop condition tripped */
    SG_NOTIFY_HALT,     /* the release was halted (and paused / rolled back) */
    SG_NOTIFY_RESOLVE,  /* a stop condition that tripped resolved */
    SG_NOTIFY_RESUME,   /* a person lifted the halt */
};

/* "trip", "halt", "resolve", "resume". */
const char *sg_notify_kind_name(enum sg_notify_kind k);

/* One event; everything is borrowed for the call only. */
struct sg_notify_event {
    enum sg_notify_kind kind;
    int64_t ts_ms;
    const char *release;
    const char *summary;            /* one line for people */
    const char *alertname;          /* NULL for release-level events */
    const struct sg_labels *labels; /* NULL when not about one alert */
    bool has_value;
    double value;
    bool has_revision;
    int64_t revision;
    const char *action;             /* "notify", "pause", "rollback", "halt" or NULL */
    bool dry_run;                   /* the daemon runs in dry-run mode */
    const char *external_url;       /* web.external_url, or NULL */
};

typedef void (*sg_notify_done_cb)(const struct sg_err *err, void *arg);

/* A notifier type. `send` delivers one event and calls done exactly once,
 * later, from the loop (or fails before starting, without the callback). */
struct sg_notifier_ops {
    const char *type; /* "slack", "webhook", ... */
    int (*create)(uv_loop_t *loop, const struct sg_notifier_config *cfg, void **impl,
                  struct sg_err *err);
    int (*send)(void *impl, const struct sg_notify_event *ev, sg_notify_done_cb done, void *arg,
                struct sg_err *err);
    void (*cancel_all)(void *impl);
    void (*free)(void *impl);
};

/* The implementation of a configured type, or NULL when this build has
 * none. */
const struct sg_notifier_ops *sg_notifier_ops_find(enum sg_notifier_type type);

struct sg_notify;

/* A dispatcher for cfg's notifiers (borrowed; must outlive it). metric:
 * stopgate_notifications_total (borrowed; may be NULL). SG_ENOMEM, or a
 * notifier's create error. Free with sg_notify_free once the loop no longer
 * runs its callbacks (after sg_notify_cancel_all and a loop run). */
SG_NODISCARD int sg_notify_new(uv_loop_t *loop, const struct sg_config *cfg,
                               struct sg_metric *metric, struct sg_notify **out,
                               struct sg_err *err);

/* Log ev and hand it to every notifier. Never fails the caller. */
void sg_notify_send(struct sg_notify *n, const struct sg_notify_event *ev);

/* Shutdown: cut deliveries short (their callbacks still run). */
void sg_notify_cancel_all(struct sg_notify *n);

/* Deliveries in flight. */
size_t sg_notify_in_flight(const struct sg_notify *n);

/* NULL is a no-op. */
void sg_notify_free(struct sg_notify *n);

#endif
