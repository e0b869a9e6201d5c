/* src/notify/notify.c - the notification dispatcher.
 *
 * Logs every event (the "log" notifier, always there) and hands it to each
 * configured notifier whose type has an implementation. Counts results in
 * stopgate_notifications_total{notifier,result}. Retries and the durable
 * outbox belong here too once notifiers that can fail are built in; this
 * file does not render any payload itself.
 */
#include <string.h>

#include "stopgate/log.h"
#include "stopgate/notify.h"

struct notifier {
    const struct sg_notifier_ops *ops; /* NULL: type not built in */
    void *impl;
    const char *name;
};

struct sg_notify {
    uv_loop_t *loop;
    struct sg_metric *metric;
    struct notifier *v;
    size_t count;
    size_t in_flight;
};

struct delivery {
    struct sg_notify *n;
    const char *name;
};

const char *sg_notify_kind_name(enum sg_notify_kind k)
{
    switch (k) {
    case SG_NOTIFY_TRIP:
        return "trip";
    case SG_NOTIFY_HALT:
        return "halt";
    case SG_NOTIFY_RESOLVE:
        return "resolve";
    case SG_NOTIFY_RESUME:
        return "resume";
    }
    return "unknown";
}

const struct sg_notifier_ops *sg_notifier_ops_find(enum sg_notifier_type type)
{
    (void)type;
    return NULL;
}

static void count(struct sg_notify *n, const char *name, const char *result)
{
    if (n->metric)
        (void)sg_metric_addl(n->metric, 1, name, result);
}

int sg_notify_new(uv_loop_t *loop, const struct sg_config *cfg, struct sg_metric *metric,
                  struct sg_notify **out, struct sg_err *err)
{
    struct sg_notify *n = sg_calloc(1, sizeof(*n));
    size_t count_ = cfg ? cfg->notifiers_count : 0;

    if (!n)
        return sg_err_set(err, SG_ENOMEM, "notifiers: out of memory");
    n->loop = loop;
    n->metric = metric;
    if (count_) {
        n->v = sg_calloc(count_, sizeof(*n->v));
        if (!n->v) {
            sg_free(n);
            return sg_err_set(err, SG_ENOMEM, "notifiers: out of memory");
        }
    }
    for (size_t i = 0; i < count_; i++) {
        const struct sg_notifier_config *c = &cfg->notifiers[i];
        struct notifier *x = &n->v[n->count];

        x->name = c->name;
        x->ops = sg_notifier_ops_find(c->type);
        if (!x->ops) {
            sg_log(SG_LOG_WARN, "notifier type not built in; its events are only logged",
                   "notifier", c->name, "type", sg_notifier_type_name(c->type), NULL);
        } else if (x->ops->create(loop, c, &x->impl, err) != SG_OK) {
            sg_err_prefix(err, "notifier %s: ", c->name);
            n->count++;
            sg_notify_free(n);
            return err ? err->code : SG_EINVAL;
        }
        n->count++;
    }
    *out = n;
    return SG_OK;
}

static void on_delivered(const struct sg_err *err, void *arg)
{
    struct delivery *dl = arg;

    if (err)
        sg_log(SG_LOG_WARN, "notification failed", "notifier", dl->name, "err", err->msg, NULL);
    count(dl->n, dl->name, err ? "failure" : "success");
    dl->n->in_flight--;
    sg_free(dl);
}

void sg_notify_send(struct sg_notify *n, const struct sg_notify_event *ev)
{
    struct sg_buf labels;
    const char *ls = NULL;

    if (!n || !ev)
        return;
    sg_buf_init(&labels, 4096);
    if (ev->labels && sg_labels_format(ev->labels, &labels) == SG_OK)
        ls = sg_buf_cstr(&labels);
    sg_log(SG_LOG_INFO, "notification", "notifier", "log", "kind", sg_notify_kind_name(ev->kind),
           "release", ev->release, "alertname", ev->alertname, "labels", ls, "action", ev->action,
           "dry_run", ev->dry_run ? "true" : "false", "summary", ev->summary, NULL);
    sg_buf_cleanup(&labels);
    count(n, "log", "success");
    for (size_t i = 0; i < n->count; i++) {
        struct notifier *x = &n->v[i];
        struct delivery *dl;
        struct sg_err err;

        if (!x->ops)
            continue;
        dl = sg_calloc(1, sizeof(*dl));
        if (!dl) {
            count(n, x->name, "failure");
            continue;
        }
        dl->n = n;
        dl->name = x->name;
        sg_err_clear(&err);
        if (x->ops->send(x->impl, ev, on_delivered, dl, &err) != SG_OK) {
            sg_log(SG_LOG_WARN, "notification failed", "notifier", x->name, "err", err.msg, NULL);
            count(n, x->name, "failure");
            sg_free(dl);
            continue;
        }
        n->in_flight++;
    }
}

void sg_notify_cancel_all(struct sg_notify *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->count; i++)
        if (n->v[i].ops && n->v[i].ops->cancel_all)
            n->v[i].ops->cancel_all(n->v[i].impl);
}

size_t sg_notify_in_flight(const struct sg_notify *n)
{
    return n ? n->in_flight : 0;
}

void sg_notify_free(struct sg_notify *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->count; i++)
        if (n->v[i].ops && n->v[i].impl)
            n->v[i].ops->free(n->v[i].impl);
    sg_free(n->v);
    sg_free(n);
}
