/* src/action/gate_only.c - the actuator that changes nothing in the
 * cluster.
 *
 * Used when no cluster actuator is plugged in: pause and rollback decisions
 * still close the release's gate (the daemon does that) and are journaled,
 * and this actuator only reports "gate_only" ("dry_run" in a dry run). The
 * callback is deferred to the next loop iteration with a zero timer, as
 * the actuator contract in action.h requires.
 */
#include "stopgate/action.h"

struct gate_only {
    uv_loop_t *loop;
    size_t pending;
};

struct job {
    uv_timer_t timer;
    struct gate_only *g;
    sg_action_done_cb done;
    void *arg;
    bool dry_run;
};

static void on_job_closed(uv_handle_t *h)
{
    sg_free(h->data);
}

static void on_job(uv_timer_t *t)
{
    struct job *j = t->data;
    struct sg_action_result res = {0};

    res.result = j->dry_run ? "dry_run" : "gate_only";
    res.detail = "no cluster actuator: the gate is closed and nothing else changed";
    j->g->pending--;
    j->done(&res, NULL, j->arg);
    uv_close((uv_handle_t *)&j->timer, on_job_closed);
}

static int defer(struct gate_only *g, bool dry_run, sg_action_done_cb done, void *arg,
                 struct sg_err *err)
{
    struct job *j = sg_calloc(1, sizeof(*j));
    int r;

    if (!j)
        return sg_err_set(err, SG_ENOMEM, "action: out of memory");
    r = uv_timer_init(g->loop, &j->timer);
    if (r < 0) {
        sg_free(j);
        return sg_err_set_cause(err, SG_EIO, r, "action timer: %s", uv_strerror(r));
    }
    j->timer.data = j;
    j->g = g;
    j->done = done;
    j->arg = arg;
    j->dry_run = dry_run;
    r = uv_timer_start(&j->timer, on_job, 0, 0);
    if (r < 0) {
        uv_close((uv_handle_t *)&j->timer, on_job_closed);
        return sg_err_set_cause(err, SG_EIO, r, "action timer: %s", uv_strerror(r));
    }
    g->pending++;
    return SG_OK;
}

static int go_run(void *impl, const struct sg_action_req *req, sg_action_done_cb done, void *arg,
                  struct sg_err *err)
{
    return defer(impl, req->dry_run, done, arg, err);
}

static int go_resume(void *impl, const struct sg_release_config *release, bool dry_run,
                     sg_action_done_cb done, void *arg, struct sg_err *err)
{
    (void)release;
    return defer(impl, dry_run, done, arg, err);
}

static void go_cancel_all(void *impl)
{
    (void)impl; /* every job completes on the next iteration anyway */
}

static bool go_busy(const void *impl)
{
    const struct gate_only *g = impl;
    return g->pending > 0;
}

static void go_free(void *impl)
{
    sg_free(impl);
}

static const struct sg_actuator_ops gate_only_ops = {
    .name = "gate_only",
    .run = go_run,
    .resume = go_resume,
    .cancel_all = go_cancel_all,
    .busy = go_busy,
    .free = go_free,
};

int sg_actuator_gate_only_new(uv_loop_t *loop, struct sg_actuator *out, struct sg_err *err)
{
    struct gate_only *g = sg_calloc(1, sizeof(*g));

    if (!g)
        return sg_err_set(err, SG_ENOMEM, "action: out of memory");
    g->loop = loop;
    out->ops = &gate_only_ops;
    out->impl = g;
    return SG_OK;
}

void sg_actuator_free(struct sg_actuator *a)
{
    if (a && a->ops && a->impl)
        a->ops->free(a->impl);
    if (a) {
        a->ops = NULL;
        a->impl = NULL;
    }
}
