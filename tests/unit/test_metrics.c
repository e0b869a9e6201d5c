/* tests/unit/test_metrics.c - the metrics registry and its text exposition;
 * the output of the standard set is also linted by `promtool check
 * metrics` (Prometheus 2.42) when it is installed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stopgate/metrics.h"

static char *render(const struct sg_metrics *m)
{
    struct sg_buf b;
    size_t n;
    char *s;

    sg_buf_init(&b, 1 << 20);
    assert_int_equal(sg_metrics_render(m, &b, NULL), SG_OK);
    s = sg_buf_steal(&b, &n);
    return s ? s : sg_strdup("");
}

static void exposition_is_sorted_and_escaped(void **state)
{
    struct sg_metrics *m;
    struct sg_metric *c, *g, *e;
    static const char *const names[] = {"zone", "app"};
    char *text;

    (void)state;
    assert_int_equal(sg_metrics_create(0, &m, NULL), SG_OK);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_COUNTER, "b_total", "Bees.\nSecond \\ line",
                                         names, 2, &c, NULL),
                     SG_OK);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_GAUGE, "a_gauge", "A gauge.", NULL, 0, &g,
                                         NULL),
                     SG_OK);
    assert_int_equal(
        sg_metrics_register(m, SG_METRIC_GAUGE, "c_empty", "Never used.", names, 2, &e, NULL),
        SG_OK);
    assert_int_equal(sg_metric_addl(c, 2, "z2", "api"), SG_OK);
    assert_int_equal(sg_metric_incl(c, "z1", "q\"uo\\te\nnl"), SG_OK);
    assert_int_equal(sg_metric_incl(c, "z1", "api"), SG_OK);
    assert_int_equal(sg_metric_incl(c, "z2", "api"), SG_OK);
    assert_int_equal(sg_metric_setl(g, 1234567.0), SG_OK);
    text = render(m);
    assert_string_equal(text, "# HELP a_gauge A gauge.\n"
                              "# TYPE a_gauge gauge\n"
                              "a_gauge 1.234567e+06\n"
                              "# HELP b_total Bees.\\nSecond \\\\ line\n"
                              "# TYPE b_total counter\n"
                              "b_total{app=\"api\",zone=\"z1\"} 1\n"
                              "b_total{app=\"api\",zone=\"z2\"} 3\n"
                              "b_total{app=\"q\\\"uo\\\\te\\nnl\",zone=\"z1\"} 1\n");
    sg_free(text);
    sg_metrics_free(m);
}

static void values_and_series_operations(void **state)
{
    struct sg_metrics *m;
    struct sg_metric *g, *c;
    static const char *const l[] = {"release"};
    const char *const a[] = {"a"}, *const b[] = {"b"};
    double v;
    char *text;

    (void)state;
    assert_int_equal(sg_metrics_create(3, &m, NULL), SG_OK);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_GAUGE, "g", "G.", l, 1, &g, NULL), SG_OK);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_COUNTER, "c_total", "C.", NULL, 0, &c, NULL),
                     SG_OK);
    assert_true(sg_metric_get(c, NULL, &v));
    assert_true(v == 0);
    assert_false(sg_metric_get(g, a, &v));
    assert_int_equal(sg_metric_set(g, a, NAN), SG_OK);
    assert_int_equal(sg_metric_set(g, b, -INFINITY), SG_OK);
    text = render(m);
    assert_string_equal(text, "# HELP c_total C.\n# TYPE c_total counter\nc_total 0\n"
                              "# HELP g G.\n# TYPE g gauge\ng{release=\"a\"} NaN\n"
                              "g{release=\"b\"} -Inf\n");
    sg_free(text);
    /* counters only go up; set is for gauges */
    assert_int_equal(sg_metric_add(c, NULL, -1), SG_EINVAL);
    assert_int_equal(sg_metric_add(c, NULL, NAN), SG_EINVAL);
    assert_int_equal(sg_metric_set(c, NULL, 5), SG_EINVAL);
    assert_int_equal(sg_metric_add(c, NULL, 0.5), SG_OK);
    assert_true(sg_metric_get(c, NULL, &v) && v == 0.5);
    /* missing label values */
    assert_int_equal(sg_metric_set(g, NULL, 1), SG_EINVAL);
    /* the series cap */
    assert_int_equal(sg_metric_setl(g, 1, "c"), SG_OK);
    assert_int_equal(sg_metric_setl(g, 1, "d"), SG_ELIMIT);
    assert_int_equal(sg_metric_setl(g, 7, "a"), SG_OK); /* existing ones still work */
    assert_int_equal(sg_metric_series(g), 3);
    sg_metric_remove(g, b);
    assert_int_equal(sg_metric_series(g), 2);
    sg_metric_remove(g, b);
    assert_int_equal(sg_metric_setl(g, 1, "d"), SG_OK);
    sg_metric_clear(g);
    assert_int_equal(sg_metric_series(g), 0);
    sg_metric_clear(c);
    assert_true(sg_metric_get(c, NULL, &v) && v == 0);
    text = render(m);
    assert_string_equal(text, "# HELP c_total C.\n# TYPE c_total counter\nc_total 0\n");
    sg_free(text);
    sg_metrics_free(m);
}

static void registration_errors(void **state)
{
    struct sg_metrics *m;
    struct sg_err err;
    static const char *const bad1[] = {"__name__"};
    static const char *const bad2[] = {"a", "a"};
    static const char *const bad3[] = {"a-b"};
    static const char *const many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};

    (void)state;
    assert_int_equal(sg_metrics_create(0, &m, NULL), SG_OK);
    sg_err_clear(&err);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_GAUGE, "0bad", "", NULL, 0, NULL, &err),
                     SG_EINVAL);
    assert_string_equal(err.msg, "metric name \"0bad\" is not valid");
    assert_int_equal(sg_metrics_register(m, SG_METRIC_GAUGE, "x", "", bad1, 1, NULL, NULL),
                     SG_EINVAL);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_GAUGE, "x", "", bad2, 2, NULL, NULL),
                     SG_EINVAL);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_GAUGE, "x", "", bad3, 1, NULL, NULL),
                     SG_EINVAL);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_GAUGE, "x", "", many, 9, NULL, NULL),
                     SG_EINVAL);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_GAUGE, "x:y", "", NULL, 0, NULL, NULL),
                     SG_OK);
    sg_err_clear(&err);
    assert_int_equal(sg_metrics_register(m, SG_METRIC_GAUGE, "x:y", "", NULL, 0, NULL, &err),
                     SG_EINVAL);
    assert_string_equal(err.msg, "metric x:y is already registered");
    sg_metrics_free(m);
    sg_metrics_free(NULL);
}

static const char *const spec_names[] = {
    "stopgate_rule_evaluations_total",
    "stopgate_rule_evaluation_failures_total",
    "stopgate_rule_group_iterations_missed_total",
    "stopgate_rule_group_last_duration_seconds",
    "stopgate_alerts{alertname=\"AuditDLQGrowing\",release=\"caracal\",state=\"firing\"}",
    "stopgate_release_halted{release=\"caracal\"}",
    "stopgate_wave_active{release=\"caracal\"}",
    "stopgate_actions_total{action=\"pause\",release=\"caracal\",result=\"ok\"}",
    "stopgate_notifications_total{notifier=\"slack\",result=\"ok\"}",
    "stopgate_remote_read_requests_total{result=\"ok\"}",
    "stopgate_remote_read_bytes_total",
    "stopgate_remote_read_samples_total",
    "stopgate_remote_read_skipped_chunks_total",
    "stopgate_build_info{revision=\"abc123\",version=\"0.1.0\"} 1",
};

static void spec_metrics_are_all_there(void **state)
{
    struct sg_metrics *m;
    struct sg_metrics_std s;
    char *text;

    (void)state;
    assert_int_equal(sg_metrics_create(0, &m, NULL), SG_OK);
    assert_int_equal(sg_metrics_register_std(m, "0.1.0", "abc123", &s, NULL), SG_OK);
    assert_int_equal(sg_metric_incl(s.alerts, "caracal", "AuditDLQGrowing", "firing"), SG_OK);
    assert_int_equal(sg_metric_setl(s.release_halted, 1, "caracal"), SG_OK);
    assert_int_equal(sg_metric_setl(s.wave_active, 0, "caracal"), SG_OK);
    assert_int_equal(sg_metric_incl(s.actions, "caracal", "pause", "ok"), SG_OK);
    assert_int_equal(sg_metric_incl(s.notifications, "slack", "ok"), SG_OK);
    assert_int_equal(sg_metric_incl(s.remote_read_requests, "ok"), SG_OK);
    assert_int_equal(sg_metric_addl(s.remote_read_bytes, 1024), SG_OK);
    assert_int_equal(sg_metric_setl(s.rule_group_last_duration, 0.0125), SG_OK);
    text = render(m);
    for (size_t i = 0; i < SG_ARRAY_LEN(spec_names); i++) {
        if (!strstr(text, spec_names[i]))
            fail_msg("missing %s in\n%s", spec_names[i], text);
    }
    assert_non_null(strstr(text, "\nstopgate_remote_read_bytes_total 1024\n"));
    assert_non_null(strstr(text, "\nstopgate_rule_group_last_duration_seconds 0.0125\n"));
    assert_non_null(strstr(text, "\n# HELP stopgate_remote_read_skipped_chunks_total Native "
                                 "histogram chunks skipped in streamed remote-read responses.\n"));

    /* promtool's linter accepts the exposition */
    if (access("/usr/bin/promtool", X_OK) == 0) {
        char path[] = "/tmp/sg-metrics-XXXXXX";
        int fd = mkstemp(path);
        char cmd[256];
        FILE *f;
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        fputs(text, f);
        fclose(f);
        snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s >/dev/null 2>&1", path);
        assert_int_equal(system(cmd), 0);
        unlink(path);
    }
    sg_free(text);
    sg_metrics_free(m);
}

static void out_of_memory_sweep(void **state)
{
    (void)state;
    for (uint64_t n = 1; n < 2000; n++) {
        struct sg_metrics *m = NULL;
        struct sg_metrics_std s;
        int rc;

        sg_alloc_fail_at(n);
        rc = sg_metrics_create(0, &m, NULL);
        if (rc == SG_OK)
            rc = sg_metrics_register_std(m, "v", "r", &s, NULL);
        if (rc == SG_OK)
            rc = sg_metric_incl(s.actions, "a", "b", "c");
        sg_alloc_fail_at(0);
        sg_metrics_free(m);
        if (rc == SG_OK)
            break;
        assert_int_equal(rc, SG_ENOMEM);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exposition_is_sorted_and_escaped),
        cmocka_unit_test(values_and_series_operations),
        cmocka_unit_test(registration_errors),
        cmocka_unit_test(spec_metrics_are_all_there),
        cmocka_unit_test(out_of_memory_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
