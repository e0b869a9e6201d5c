/* src/daemon/am.c - Alertmanager's webhook (payload version 4) as an alert
 * source.
 *
 * sg_am_parse reads the body Alertmanager 0.25's webhook notifier posts
 * (notify/webhook Message: the template Data plus version, groupKey and
 * truncatedAlerts). It is pure: no daemon state, everything in the
 * caller's arena, every field type checked, so that the fuzz target and
 * the HTTP route share it. sg_daemon_am_apply hands each alert to the
 * releases it belongs to: a release R takes an alert that carries
 * stopgate_release="R" or whose labels contain every pair of R's
 * alert_match; alerts carrying stopgate_origin were sent by a stopgate
 * and are ignored, so no loop can form.
 */
#include <string.h>

#include "daemon/daemon_int.h"
#include "stopgate/duration.h"
#include "stopgate/log.h"

#define GO_ZERO_TIME_MS INT64_C(-62135596800000) /* 0001-01-01T00:00:00Z */

static int field_str(const json_t *o, const char *k, struct sg_arena *a, struct sg_str *out,
                     const char *where, struct sg_err *err)
{
    const json_t *j = json_object_get(o, k);
    char *s;

    *out = sg_str_make("", 0);
    if (!j || json_is_null(j))
        return SG_OK;
    if (!json_is_string(j))
        return sg_err_set(err, SG_EINVAL, "%s%s: want a string", where, k);
    s = sg_arena_strndup(a, json_string_value(j), json_string_length(j));
    if (!s)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    *out = sg_str_make(s, json_string_length(j));
    return SG_OK;
}

static int field_labels(const json_t *o, const char *k, struct sg_arena *a, struct sg_labels *out,
                        const char *where, struct sg_err *err)
{
    const json_t *j = json_object_get(o, k);
    const char *name;
    json_t *v;
    size_t n, i = 0;

    out->v = NULL;
    out->count = 0;
    if (!j || json_is_null(j))
        return SG_OK;
    if (!json_is_object(j))
        return sg_err_set(err, SG_EINVAL, "%s%s: want an object of strings", where, k);
    n = json_object_size(j);
    if (n == 0)
        return SG_OK;
    if (n > 1000)
        return sg_err_set(err, SG_ELIMIT, "%s%s: more than 1000 labels", where, k);
    out->v = sg_arena_alloc_array(a, n, sizeof(*out->v));
    if (!out->v)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    json_object_foreach((json_t *)(uintptr_t)j, name, v)
    {
        size_t nl = strlen(name);
        char *ns, *vs;
        if (!json_is_string(v))
            return sg_err_set(err, SG_EINVAL, "%s%s.%s: want a string", where, k, name);
        if (!sg_label_name_valid(sg_str_make(name, nl)))
            return sg_err_set(err, SG_EINVAL, "%s%s: invalid label name \"%.64s\"", where, k,
                              name);
        ns = sg_arena_strndup(a, name, nl);
        vs = sg_arena_strndup(a, json_string_value(v), json_string_length(v));
        if (!ns || !vs)
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        out->v[i].name = sg_str_make(ns, nl);
        out->v[i].value = sg_str_make(vs, json_string_length(v));
        i++;
    }
    out->count = (uint32_t)i;
    if (sg_labels_sort(out, NULL) != SG_OK)
        return sg_err_set(err, SG_EINVAL, "%s%s: repeated label name", where, k);
    return SG_OK;
}

static int field_time(const json_t *o, const char *k, int64_t *out, const char *where,
                      struct sg_err *err)
{
    const json_t *j = json_object_get(o, k);
    struct sg_err e;

    *out = INT64_MIN;
    if (!j || json_is_null(j))
        return SG_OK;
    if (!json_is_string(j))
        return sg_err_set(err, SG_EINVAL, "%s%s: want an RFC 3339 time", where, k);
    sg_err_clear(&e);
    if (sg_time_parse(sg_str_make(json_string_value(j), json_string_length(j)), out, &e) !=
        SG_OK)
        return sg_err_set(err, SG_EINVAL, "%s%s: %s", where, k, e.msg);
    if (*out <= GO_ZERO_TIME_MS)
        *out = INT64_MIN;
    return SG_OK;
}

int sg_am_parse(struct sg_str body, struct sg_arena *a, struct sg_am_payload *out,
                struct sg_err *err)
{
    json_error_t je;
    json_t *root;
    const json_t *alerts, *tr;
    int rc = SG_OK;

    memset(out, 0, sizeof(*out));
    root = json_loadb(body.ptr ? body.ptr : "", body.len, 0, &je);
    if (!root)
        return sg_err_set_linecol(err, SG_EPARSE, "<webhook>", (uint32_t)(je.line > 0 ? je.line : 1),
                                  (uint32_t)(je.column > 0 ? je.column : 1), "%s", je.text);
    if (!json_is_object(root)) {
        rc = sg_err_set(err, SG_EINVAL, "webhook payload: want a JSON object");
        goto out;
    }
    if ((rc = field_str(root, "version", a, &out->version, "", err)) != SG_OK ||
        (rc = field_str(root, "status", a, &out->status, "", err)) != SG_OK ||
        (rc = field_str(root, "receiver", a, &out->receiver, "", err)) != SG_OK ||
        (rc = field_str(root, "groupKey", a, &out->group_key, "", err)) != SG_OK ||
        (rc = field_str(root, "externalURL", a, &out->external_url, "", err)) != SG_OK)
        goto out;
    if (!sg_str_eq_c(out->version, "4")) {
        rc = sg_err_set(err, SG_EINVAL, "version: want \"4\" (Alertmanager's webhook payload), got \"%.*s\"",
                        (int)(out->version.len > 32 ? 32 : out->version.len), out->version.ptr);
        goto out;
    }
    tr = json_object_get(root, "truncatedAlerts");
    if (tr && !json_is_null(tr)) {
        if (!json_is_integer(tr) || json_integer_value(tr) < 0) {
            rc = sg_err_set(err, SG_EINVAL, "truncatedAlerts: want a number");
            goto out;
        }
        out->truncated_alerts = (uint64_t)json_integer_value(tr);
    }
    alerts = json_object_get(root, "alerts");
    if (!json_is_array(alerts)) {
        rc = sg_err_set(err, SG_EINVAL, "alerts: want an array");
        goto out;
    }
    if (json_array_size(alerts) > SG_AM_MAX_ALERTS) {
        rc = sg_err_set(err, SG_ELIMIT, "alerts: more than %d", SG_AM_MAX_ALERTS);
        goto out;
    }
    out->count = json_array_size(alerts);
    if (out->count) {
        out->alerts = sg_arena_alloc_array(a, out->count, sizeof(*out->alerts));
        if (!out->alerts) {
            rc = sg_err_set(err, SG_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < out->count; i++) {
        const json_t *x = json_array_get(alerts, i);
        struct sg_am_alert *al = &out->alerts[i];
        struct sg_str status;
        char where[48];

        snprintf(where, sizeof(where), "alerts[%zu].", i);
        if (!json_is_object(x)) {
            rc = sg_err_set(err, SG_EINVAL, "alerts[%zu]: want an object", i);
            goto out;
        }
        if ((rc = field_str(x, "status", a, &status, where, err)) != SG_OK ||
            (rc = field_labels(x, "labels", a, &al->labels, where, err)) != SG_OK ||
            (rc = field_labels(x, "annotations", a, &al->annotations, where, err)) != SG_OK ||
            (rc = field_time(x, "startsAt", &al->starts_at_ms, where, err)) != SG_OK ||
            (rc = field_time(x, "endsAt", &al->ends_at_ms, where, err)) != SG_OK ||
            (rc = field_str(x, "fingerprint", a, &al->fingerprint, where, err)) != SG_OK ||
            (rc = field_str(x, "generatorURL", a, &al->generator_url, where, err)) != SG_OK)
            goto out;
        if (sg_str_eq_c(status, "firing")) {
            al->firing = true;
        } else if (!sg_str_eq_c(status, "resolved")) {
            rc = sg_err_set(err, SG_EINVAL, "%sstatus: want \"firing\" or \"resolved\"", where);
            goto out;
        }
        if (al->labels.count == 0) {
            rc = sg_err_set(err, SG_EINVAL, "%slabels: an alert needs labels", where);
            goto out;
        }
    }
out:
    json_decref(root);
    return rc;
}

/* Does the alert belong to release rc? */
static bool belongs(const struct sg_release_config *rc, const struct sg_labels *ls)
{
    struct sg_str r = sg_labels_get(ls, sg_str_c("stopgate_release"));

    if (r.len)
        return sg_str_eq_c(r, rc->name);
    if (rc->alert_match.count == 0)
        return false;
    for (size_t i = 0; i < rc->alert_match.count; i++)
        if (!sg_str_eq_c(sg_labels_get(ls, sg_str_c(rc->alert_match.v[i].name)),
                         rc->alert_match.v[i].value) ||
            !sg_labels_has(ls, sg_str_c(rc->alert_match.v[i].name)))
            return false;
    return true;
}

/* Apply a parsed payload: counts of alerts taken and ignored. */
void sg_daemon_am_apply(struct sg_daemon *d, const struct sg_am_payload *p, size_t *taken,
                        size_t *ignored)
{
    int64_t now = sg_daemon_now(d);

    *taken = *ignored = 0;
    for (size_t i = 0; i < p->count && !d->fatal; i++) {
        const struct sg_am_alert *a = &p->alerts[i];
        struct sg_am_alert copy = *a;
        bool any = false;

        if (sg_labels_has(&a->labels, sg_str_c("stopgate_origin"))) {
            (*ignored)++;
            continue;
        }
        if (copy.starts_at_ms == INT64_MIN)
            copy.starts_at_ms = now;
        for (size_t r = 0; r < d->nrels && !d->fatal; r++) {
            struct sg_rel *rel = d->rels[r];
            if (rel->removed || !rel->cfg || !belongs(rel->cfg, &a->labels))
                continue;
            sg_rel_apply_am(rel, &copy, now);
            any = true;
        }
        if (any)
            (*taken)++;
        else
            (*ignored)++;
    }
}
