/* include/stopgate/action.h - what happens to a release when a stop
 * condition acts: the actuator interface.
 *
 * The daemon decides (routes, waves, idempotency keys, the audit line
 * written before anything runs); an actuator carries a decision out on the
 * cluster. Actuators are a small vtable so that the one that changes
 * nothing (this file's sg_actuator_gate_only) and the one that runs
 * helm/kubectl through sg_proc plug into the daemon the same way.
 *
 * Contract of every actuator (libuv's): `run` and `resume` either fail
 * before starting (the callback is then not called) or call `done` exactly
 * once, later, from the loop - never from inside the call that started
 * the work. `cancel_all` makes every pending callback run soon (with
 * SG_ECANCELED where work was cut short); the daemon calls it at shutdown
 * and frees the actuator only after every callback has run.
 */
#ifndef SG_ACTION_H
#define SG_ACTION_H

#include <stdint.h>
#include <uv.h>

#include "stopgate/base.h"
#include "stopgate/config.h"
#include "stopgate/err.h"

/* One decision to carry out. Everything is borrowed for the call only. */
struct sg_action_req {
    enum sg_action_kind kind;                 /* SG_ACTION_PAUSE or SG_ACTION_ROLLBACK */
    const struct sg_release_config *release;  /* name, namespace, context, rollback settings */
    int64_t revision;                         /* the Helm revision being rolled out; -1 unknown */
    const char *key;                          /* the idempotency key journaled for it */
    const char *reason;                       /* one line: what tripped */
    bool dry_run;                             /* change nothing; say what would run */
};

/* What came of it; borrowed by the callback only. */
struct sg_action_result {
    const char *result;        /* metrics label: "success", "failure", "dry_run", "gate_only" */
    const char *const *argv;   /* the last command run (or that would run), or NULL */
    bool has_exit_status;
    int64_t exit_status;
    const char *output;        /* captured output worth journaling, or NULL */
    const char *detail;        /* one line for the audit log and the notification, or NULL */
};

typedef void (*sg_action_done_cb)(const struct sg_action_result *res, const struct sg_err *err,
                                  void *arg);

struct sg_actuator_ops {
    const char *name;
    /* Carry out req (pause or rollback). */
    int (*run)(void *impl, const struct sg_action_req *req, sg_action_done_cb done, void *arg,
               struct sg_err *err);
    /* Undo what pause did for the release (after a person resumed it). */
    int (*resume)(void *impl, const struct sg_release_config *release, bool dry_run,
                  sg_action_done_cb done, void *arg, struct sg_err *err);
    /* Shutdown: end what is running (children get their grace period). */
    void (*cancel_all)(void *impl);
    /* True while callbacks are outstanding. */
    bool (*busy)(const void *impl);
    void (*free)(void *impl);
};

struct sg_actuator {
    const struct sg_actuator_ops *ops;
    void *impl;
};

/* The actuator that changes nothing in the cluster: the gate closes (the
 * daemon does that), the decision is journaled, and the result is
 * "gate_only" ("dry_run" for a dry run). Completes on the next loop
 * iteration. SG_ENOMEM. */
SG_NODISCARD int sg_actuator_gate_only_new(uv_loop_t *loop, struct sg_actuator *out,
                                           struct sg_err *err);

/* a->ops->free(a->impl) when set; a is zeroed. */
void sg_actuator_free(struct sg_actuator *a);

#endif
