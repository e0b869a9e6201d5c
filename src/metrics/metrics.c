/* src/metrics/metrics.c - counters and gauges with labels, rendered in the
 * Prometheus text format.
 *
 * A family keeps its label names sorted by name (`order` maps the caller's
 * order to the sorted one) and its series in an array sorted by label
 * values, so lookups are binary searches and rendering walks the arrays in
 * order. Families are kept sorted by name. Nothing here does I/O.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/metrics.h"
#include "stopgate/num.h"

struct series {
    char **values; /* in sorted label-name order */
    double v;
};

struct sg_metric {
    struct sg_metrics *reg;
    char *name, *help;
    enum sg_metric_type type;
    size_t nlabels;
    char *labels[SG_METRICS_MAX_LABELS]; /* sorted */
    size_t order[SG_METRICS_MAX_LABELS]; /* caller's i -> sorted index */
    struct series *s;
    size_t count, cap;
};

struct sg_metrics {
    struct sg_metric **f; /* sorted by name */
    size_t count, cap;
    size_t max_series;
};

static bool name_ok(const char *s, bool colons)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (colons && c == ':') || (p > s && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

int sg_metrics_create(size_t max_series, struct sg_metrics **out, struct sg_err *err)
{
    struct sg_metrics *m = sg_calloc(1, sizeof(*m));

    if (!m)
        return sg_err_set(err, SG_ENOMEM, "metrics: out of memory");
    m->max_series = max_series ? max_series : 10000;
    *out = m;
    return SG_OK;
}

static void series_free(struct series *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        sg_free(s->values[i]);
    sg_free(s->values);
}

static void family_free(struct sg_metric *f)
{
    for (size_t i = 0; i < f->count; i++)
        series_free(&f->s[i], f->nlabels);
    sg_free(f->s);
    for (size_t i = 0; i < f->nlabels; i++)
        sg_free(f->labels[i]);
    sg_free(f->name);
    sg_free(f->help);
    sg_free(f);
}

void sg_metrics_free(struct sg_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        family_free(m->f[i]);
    sg_free(m->f);
    sg_free(m);
}

/* Compare a series' values with the caller's (given in caller order). */
static int cmp_values(const struct sg_metric *f, char *const *sv, const char *const *given)
{
    for (size_t k = 0; k < f->nlabels; k++) {
        /* sorted index k came from the caller's index i with order[i] == k */
        size_t i = 0;
        int c;
        while (f->order[i] != k)
            i++;
        c = strcmp(sv[k], given[i]);
        if (c)
            return c;
    }
    return 0;
}

/* Index of the series or, when absent, where it would go (*found false). */
static size_t find(const struct sg_metric *f, const char *const *values, bool *found)
{
    size_t lo = 0, hi = f->count;

    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_values(f, f->s[mid].values, values);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int series_get(struct sg_metric *f, const char *const *values, struct series **out)
{
    bool found;
    size_t at;
    struct series ns;

    if (f->nlabels && !values)
        return SG_EINVAL;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!values[i])
            return SG_EINVAL;
    }
    at = find(f, values, &found);
    if (found) {
        *out = &f->s[at];
        return SG_OK;
    }
    if (f->count >= f->reg->max_series)
        return SG_ELIMIT;
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct series *v = sg_reallocarray(f->s, cap, sizeof(*v));
        if (!v)
            return SG_ENOMEM;
        f->s = v;
        f->cap = cap;
    }
    ns.v = 0;
    ns.values = sg_calloc(f->nlabels ? f->nlabels : 1, sizeof(char *));
    if (!ns.values)
        return SG_ENOMEM;
    for (size_t i = 0; i < f->nlabels; i++) {
        ns.values[f->order[i]] = sg_strdup(values[i]);
        if (!ns.values[f->order[i]]) {
            series_free(&ns, f->nlabels);
            return SG_ENOMEM;
        }
    }
    memmove(&f->s[at + 1], &f->s[at], (f->count - at) * sizeof(*f->s));
    f->s[at] = ns;
    f->count++;
    *out = &f->s[at];
    return SG_OK;
}

int sg_metrics_register(struct sg_metrics *m, enum sg_metric_type type, const char *name,
                        const char *help, const char *const *label_names, size_t nlabels,
                        struct sg_metric **out, struct sg_err *err)
{
    struct sg_metric *f;
    size_t at = 0;

    if (!name || !name_ok(name, true))
        return sg_err_set(err, SG_EINVAL, "metric name \"%s\" is not valid", name ? name : "");
    if (nlabels > SG_METRICS_MAX_LABELS)
        return sg_err_set(err, SG_EINVAL, "metric %s: more than %d labels", name,
                          SG_METRICS_MAX_LABELS);
    for (size_t i = 0; i < nlabels; i++) {
        if (!label_names[i] || !name_ok(label_names[i], false) ||
            strncmp(label_names[i], "__", 2) == 0)
            return sg_err_set(err, SG_EINVAL, "metric %s: label name \"%s\" is not valid", name,
                              label_names[i] ? label_names[i] : "");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(label_names[i], label_names[j]) == 0)
                return sg_err_set(err, SG_EINVAL, "metric %s: duplicate label name \"%s\"", name,
                                  label_names[i]);
        }
    }
    while (at < m->count && strcmp(m->f[at]->name, name) < 0)
        at++;
    if (at < m->count && strcmp(m->f[at]->name, name) == 0)
        return sg_err_set(err, SG_EINVAL, "metric %s is already registered", name);
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct sg_metric **v = sg_reallocarray(m->f, cap, sizeof(*v));
        if (!v)
            return sg_err_set(err, SG_ENOMEM, "metrics: out of memory");
        m->f = v;
        m->cap = cap;
    }
    f = sg_calloc(1, sizeof(*f));
    if (!f)
        return sg_err_set(err, SG_ENOMEM, "metrics: out of memory");
    f->reg = m;
    f->type = type;
    f->nlabels = nlabels;
    f->name = sg_strdup(name);
    f->help = sg_strdup(help ? help : "");
    if (!f->name || !f->help)
        goto oom;
    for (size_t i = 0; i < nlabels; i++) {
        size_t rank = 0;
        for (size_t j = 0; j < nlabels; j++)
            rank += strcmp(label_names[j], label_names[i]) < 0;
        f->order[i] = rank;
        f->labels[rank] = sg_strdup(label_names[i]);
        if (!f->labels[rank])
            goto oom;
    }
    if (nlabels == 0) {
        struct series *s;
        if (series_get(f, NULL, &s) != SG_OK)
            goto oom;
    }
    memmove(&m->f[at + 1], &m->f[at], (m->count - at) * sizeof(*m->f));
    m->f[at] = f;
    m->count++;
    if (out)
        *out = f;
    return SG_OK;
oom:
    family_free(f);
    return sg_err_set(err, SG_ENOMEM, "metrics: out of memory");
}

int sg_metric_add(struct sg_metric *f, const char *const *values, double delta)
{
    struct series *s;
    int rc;

    if (f->type == SG_METRIC_COUNTER && !(delta >= 0))
        return SG_EINVAL;
    rc = series_get(f, values, &s);
    if (rc != SG_OK)
        return rc;
    s->v += delta;
    return SG_OK;
}

int sg_metric_set(struct sg_metric *f, const char *const *values, double v)
{
    struct series *s;
    int rc;

    if (f->type == SG_METRIC_COUNTER)
        return SG_EINVAL;
    rc = series_get(f, values, &s);
    if (rc != SG_OK)
        return rc;
    s->v = v;
    return SG_OK;
}

static void collect(struct sg_metric *f, va_list ap, const char **values)
{
    for (size_t i = 0; i < f->nlabels; i++)
        values[i] = va_arg(ap, const char *);
}

int sg_metric_incl(struct sg_metric *f, ...)
{
    const char *values[SG_METRICS_MAX_LABELS];
    va_list ap;

    va_start(ap, f);
    collect(f, ap, values);
    va_end(ap);
    return sg_metric_add(f, f->nlabels ? values : NULL, 1);
}

int sg_metric_addl(struct sg_metric *f, double delta, ...)
{
    const char *values[SG_METRICS_MAX_LABELS];
    va_list ap;

    va_start(ap, delta);
    collect(f, ap, values);
    va_end(ap);
    return sg_metric_add(f, f->nlabels ? values : NULL, delta);
}

int sg_metric_setl(struct sg_metric *f, double v, ...)
{
    const char *values[SG_METRICS_MAX_LABELS];
    va_list ap;

    va_start(ap, v);
    collect(f, ap, values);
    va_end(ap);
    return sg_metric_set(f, f->nlabels ? values : NULL, v);
}

bool sg_metric_get(const struct sg_metric *f, const char *const *values, double *out)
{
    bool found;
    size_t at;

    if (f->nlabels && !values)
        return false;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!values[i])
            return false;
    }
    at = find(f, values, &found);
    if (found)
        *out = f->s[at].v;
    return found;
}

void sg_metric_remove(struct sg_metric *f, const char *const *values)
{
    bool found;
    size_t at;

    if (f->nlabels == 0) {
        f->s[0].v = 0;
        return;
    }
    if (!values)
        return;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!values[i])
            return;
    }
    at = find(f, values, &found);
    if (!found)
        return;
    series_free(&f->s[at], f->nlabels);
    memmove(&f->s[at], &f->s[at + 1], (f->count - at - 1) * sizeof(*f->s));
    f->count--;
}

void sg_metric_clear(struct sg_metric *f)
{
    if (f->nlabels == 0) {
        f->s[0].v = 0;
        return;
    }
    for (size_t i = 0; i < f->count; i++)
        series_free(&f->s[i], f->nlabels);
    f->count = 0;
}

size_t sg_metric_series(const struct sg_metric *f)
{
    return f->count;
}

static int put_escaped(struct sg_buf *out, const char *s, bool quote)
{
    int rc = SG_OK;

    for (const char *p = s; *p && rc == SG_OK; p++) {
        if (*p == '\\')
            rc = sg_buf_puts(out, "\\\\");
        else if (*p == '\n')
            rc = sg_buf_puts(out, "\\n");
        else if (quote && *p == '"')
            rc = sg_buf_puts(out, "\\\"");
        else
            rc = sg_buf_putc(out, *p);
    }
    return rc;
}

int sg_metrics_render(const struct sg_metrics *m, struct sg_buf *out, struct sg_err *err)
{
    int rc = SG_OK;

    for (size_t i = 0; i < m->count && rc == SG_OK; i++) {
        const struct sg_metric *f = m->f[i];

        if (f->count == 0)
            continue;
        rc |= sg_buf_appendf(out, "# HELP %s ", f->name);
        rc |= put_escaped(out, f->help, false);
        rc |= sg_buf_appendf(out, "\n# TYPE %s %s\n", f->name,
                             f->type == SG_METRIC_COUNTER ? "counter" : "gauge");
        for (size_t j = 0; j < f->count && rc == SG_OK; j++) {
            char num[SG_NUM_FMT_MAX];
            rc |= sg_buf_puts(out, f->name);
            if (f->nlabels) {
                rc |= sg_buf_putc(out, '{');
                for (size_t k = 0; k < f->nlabels; k++) {
                    rc |= sg_buf_appendf(out, "%s%s=\"", k ? "," : "", f->labels[k]);
                    rc |= put_escaped(out, f->s[j].values[k], true);
                    rc |= sg_buf_putc(out, '"');
                }
                rc |= sg_buf_putc(out, '}');
            }
            sg_num_format(f->s[j].v, 'g', num, sizeof(num));
            rc |= sg_buf_appendf(out, " %s\n", num);
        }
    }
    if (rc != SG_OK)
        return sg_err_set(err, rc == SG_ELIMIT ? SG_ELIMIT : SG_ENOMEM,
                          "metrics exposition larger than the buffer");
    return SG_OK;
}

int sg_metrics_register_std(struct sg_metrics *m, const char *version, const char *revision,
                            struct sg_metrics_std *o, struct sg_err *err)
{
    static const char *const l_release[] = {"release"};
    static const char *const l_alerts[] = {"release", "alertname", "state"};
    static const char *const l_actions[] = {"release", "action", "result"};
    static const char *const l_notify[] = {"notifier", "result"};
    static const char *const l_result[] = {"result"};
    static const char *const l_build[] = {"version", "revision"};
    const struct {
        enum sg_metric_type type;
        const char *name, *help;
        const char *const *labels;
        size_t n;
        struct sg_metric **out;
    } t[] = {
        {SG_METRIC_COUNTER, "stopgate_rule_evaluations_total",
         "The total number of rule evaluations.", NULL, 0, &o->rule_evaluations},
        {SG_METRIC_COUNTER, "stopgate_rule_evaluation_failures_total",
         "The total number of rule evaluation failures.", NULL, 0, &o->rule_evaluation_failures},
        {SG_METRIC_COUNTER, "stopgate_rule_group_iterations_missed_total",
         "The total number of rule group evaluations missed due to slow rule group evaluation.",
         NULL, 0, &o->rule_group_iterations_missed},
        {SG_METRIC_GAUGE, "stopgate_rule_group_last_duration_seconds",
         "The duration of the last rule group evaluation.", NULL, 0, &o->rule_group_last_duration},
        {SG_METRIC_GAUGE, "stopgate_alerts", "Alerts by release, alert name and state.", l_alerts,
         3, &o->alerts},
        {SG_METRIC_GAUGE, "stopgate_release_halted",
         "Whether the release's gate is closed (1) or open (0).", l_release, 1, &o->release_halted},
        {SG_METRIC_GAUGE, "stopgate_wave_active",
         "Whether a rollout wave of the release is being watched (1) or not (0).", l_release, 1,
         &o->wave_active},
        {SG_METRIC_COUNTER, "stopgate_actions_total",
         "Actions taken on releases, by action and result.", l_actions, 3, &o->actions},
        {SG_METRIC_COUNTER, "stopgate_notifications_total",
         "Notifications sent, by notifier and result.", l_notify, 2, &o->notifications},
        {SG_METRIC_COUNTER, "stopgate_remote_read_requests_total",
         "Remote-read requests, by result.", l_result, 1, &o->remote_read_requests},
        {SG_METRIC_COUNTER, "stopgate_remote_read_bytes_total",
         "Bytes received in remote-read responses.", NULL, 0, &o->remote_read_bytes},
        {SG_METRIC_COUNTER, "stopgate_remote_read_samples_total",
         "Samples decoded from remote-read responses.", NULL, 0, &o->remote_read_samples},
        {SG_METRIC_COUNTER, "stopgate_remote_read_skipped_chunks_total",
         "Native histogram chunks skipped in streamed remote-read responses.", NULL, 0,
         &o->remote_read_skipped_chunks},
        {SG_METRIC_GAUGE, "stopgate_build_info",
         "A metric with a constant '1' value labeled by version and revision of stopgate.", l_build,
         2, &o->build_info},
    };
    int rc;

    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < SG_ARRAY_LEN(t); i++) {
        rc = sg_metrics_register(m, t[i].type, t[i].name, t[i].help, t[i].labels, t[i].n, t[i].out,
                                 err);
        if (rc != SG_OK)
            return rc;
    }
    rc = sg_metric_setl(o->build_info, 1, version ? version : "", revision ? revision : "");
    if (rc != SG_OK)
        return sg_err_set(err, rc, "metrics: stopgate_build_info");
    /* a counter whose label values are known is exported at 0 from the
     * start, so that rate() and absence checks see it before the first
     * request */
    for (size_t i = 0; i < 2 && rc == SG_OK; i++)
        rc = sg_metric_addl(o->remote_read_requests, 0, i ? "failure" : "success");
    if (rc != SG_OK)
        return sg_err_set(err, rc, "metrics: stopgate_remote_read_requests_total");
    return SG_OK;
}
