/* include/stopgate/metrics.h - stopgate's own metrics and the Prometheus
 * text exposition format (version 0.0.4) for GET /metrics.
 *
 * A registry holds metric families (counters and gauges), each with fixed
 * label names; a family's series are created on first use. Rendering is
 * stable: families sorted by name, label pairs sorted by name, series
 * sorted by their label values; a family without series is left out (as
 * the Go client does), except that label-less families always have their
 * one series (starting at 0). Values are printed as Go's
 * strconv.FormatFloat(v, 'g', -1, 64) (NaN, +Inf, -Inf spelled out); HELP
 * text escapes backslash and newline, label values also the double quote.
 *
 * Each family caps its number of series (the registry's max_series): past
 * it, new series are refused with SG_ELIMIT (existing ones keep counting),
 * so labels from rule names cannot grow memory without bound.
 *
 * Single-threaded, like the rest of the daemon.
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

#define SG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define SG_METRICS_MAX_LABELS   8

enum sg_metric_type { SG_METRIC_COUNTER = 0, SG_METRIC_GAUGE };

struct sg_metrics;
struct sg_metric;

/* A registry; max_series per family (0: 10000). Free with sg_metrics_free
 * (NULL is fine), which frees every family too. */
SG_NODISCARD int sg_metrics_create(size_t max_series, struct sg_metrics **out, struct sg_err *err);
void sg_metrics_free(struct sg_metrics *m);

/* Register a family. name: a valid metric name, unique in the registry;
 * help: one line (copied); label_names: valid label names, unique, not
 * starting with "__", at most SG_METRICS_MAX_LABELS (copied). *out stays
 * owned by the registry. SG_EINVAL names what is wrong. */
SG_NODISCARD int sg_metrics_register(struct sg_metrics *m, enum sg_metric_type type,
                                     const char *name, const char *help,
                                     const char *const *label_names, size_t nlabels,
                                     struct sg_metric **out, struct sg_err *err);

/* Series operations. values: one per label name, in the order the names
 * were registered (NULL for a label-less family). Counters only go up:
 * a negative or NaN delta is SG_EINVAL; set on a counter is SG_EINVAL.
 * SG_ELIMIT past the series cap, SG_ENOMEM. */
SG_NODISCARD int sg_metric_add(struct sg_metric *f, const char *const *values, double delta);
SG_NODISCARD int sg_metric_set(struct sg_metric *f, const char *const *values, double v);
/* The same with the label values as arguments (exactly nlabels of them). */
int sg_metric_incl(struct sg_metric *f, ...);
int sg_metric_addl(struct sg_metric *f, double delta, ...);
int sg_metric_setl(struct sg_metric *f, double v, ...);

/* Current value; false when the series does not exist. */
bool sg_metric_get(const struct sg_metric *f, const char *const *values, double *out);
/* Drop one series (a resolved alert, a release gone after reload). */
void sg_metric_remove(struct sg_metric *f, const char *const *values);
/* Drop every series of a labelled family (rebuilt each evaluation); a
 * label-less family goes back to 0. */
void sg_metric_clear(struct sg_metric *f);
size_t sg_metric_series(const struct sg_metric *f);

/* Append the exposition of every family to out. SG_ELIMIT/SG_ENOMEM from
 * the buffer. */
SG_NODISCARD int sg_metrics_render(const struct sg_metrics *m, struct sg_buf *out,
                                   struct sg_err *err);

/* ---- stopgate's metrics (SPEC.md "Metrics") -------------------------------- */

struct sg_metrics_std {
    struct sg_metric *rule_evaluations;             /* stopgate_rule_evaluations_total */
    struct sg_metric *rule_evaluation_failures;     /* stopgate_rule_evaluation_failures_total */
    struct sg_metric *rule_group_iterations_missed; /* ..._rule_group_iterations_missed_total */
    struct sg_metric *rule_group_last_duration;     /* stopgate_rule_group_last_duration_seconds */
    struct sg_metric *alerts;                       /* stopgate_alerts{release,alertname,state} */
    struct sg_metric *release_halted;               /* stopgate_release_halted{release} */
    struct sg_metric *wave_active;                  /* stopgate_wave_active{release} */
    struct sg_metric *actions;              /* stopgate_actions_total{release,action,result} */
    struct sg_metric *notifications;        /* ..._notifications_total{notifier,result} */
    struct sg_metric *remote_read_requests; /* ..._remote_read_requests_total{result} */
    struct sg_metric *remote_read_bytes;    /* stopgate_remote_read_bytes_total */
    struct sg_metric *remote_read_samples;  /* stopgate_remote_read_samples_total */
    struct sg_metric *remote_read_skipped_chunks; /* ..._remote_read_skipped_chunks_total */
    struct sg_metric *build_info;                 /* stopgate_build_info{version,revision} */
};

/* Register every metric of SPEC.md into m and set
 * stopgate_build_info{version,revision} to 1. */
SG_NODISCARD int sg_metrics_register_std(struct sg_metrics *m, const char *version,
                                         const char *revision, struct sg_metrics_std *out,
                                         struct sg_err *err);

#endif
