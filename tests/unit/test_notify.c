/* tests/unit/test_notify.c - the notification dispatcher and its built-in
 * "log" notifier: event kind names, the logged line for every kind (with
 * and without the optional fields), stopgate_notifications_total counts,
 * configured types without an implementation (named once when the
 * dispatcher is built, events only logged), the NULL no-ops, out of
 * memory, and the notifier lookup's contract. Every test ends with
 * uv_loop_close() == 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/log.h"
#include "stopgate/notify.h"

/* The log goes to a temporary file per test; log_text() reads it back. */
struct fixture {
    FILE *log;
    char text[8192];
    uv_loop_t loop;
    struct sg_metrics *metrics;
    struct sg_metric *notifications;
};

static int setup(void **state)
{
    static const char *const names[] = {"notifier", "result"};
    struct fixture *f = calloc(1, sizeof(*f));
    struct sg_err err;

    if (!f)
        return -1;
    f->log = tmpfile();
    if (!f->log)
        return -1;
    sg_log_setup(SG_LOG_INFO, SG_LOG_LOGFMT, f->log);
    sg_err_clear(&err);
    if (uv_loop_init(&f->loop) != 0 || sg_metrics_create(0, &f->metrics, &err) != SG_OK ||
        sg_metrics_register(f->metrics, SG_METRIC_COUNTER, "stopgate_notifications_total",
                            "Notifications sent.", names, 2, &f->notifications, &err) != SG_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sg_alloc_fail_at(0);
    sg_log_setup(SG_LOG_INFO, SG_LOG_LOGFMT, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    sg_metrics_free(f->metrics);
    fclose(f->log);
    free(f);
    return 0;
}

static const char *log_text(struct fixture *f)
{
    size_t n;

    fflush(f->log);
    rewind(f->log);
    n = fread(f->text, 1, sizeof(f->text) - 1, f->log);
    f->text[n] = '\0';
    return f->text;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static double counted(struct fixture *f, const char *notifier, const char *result)
{
    const char *values[] = {notifier, result};
    double v = 0;

    if (!sg_metric_get(f->notifications, values, &v))
        return 0;
    return v;
}

static void kind_names(void **state)
{
    (void)state;
    assert_string_equal(sg_notify_kind_name(SG_NOTIFY_TRIP), "trip");
    assert_string_equal(sg_notify_kind_name(SG_NOTIFY_HALT), "halt");
    assert_string_equal(sg_notify_kind_name(SG_NOTIFY_RESOLVE), "resolve");
    assert_string_equal(sg_notify_kind_name(SG_NOTIFY_RESUME), "resume");
    assert_string_equal(sg_notify_kind_name((enum sg_notify_kind)99), "unknown");
}

/* The lookup either has no implementation for a type or one whose type
 * name is the configured type's, with the calls a dispatcher needs. */
static void ops_find_contract(void **state)
{
    (void)state;
    for (int t = SG_NOTIFIER_SLACK; t <= SG_NOTIFIER_ALERTMANAGER; t++) {
        const struct sg_notifier_ops *ops = sg_notifier_ops_find((enum sg_notifier_type)t);

        if (!ops)
            continue;
        assert_string_equal(ops->type, sg_notifier_type_name((enum sg_notifier_type)t));
        assert_non_null(ops->create);
        assert_non_null(ops->send);
        assert_non_null(ops->free);
    }
}

/* Without notifiers (cfg NULL) every event is logged by the "log" notifier
 * and counted as its success; nothing is in flight. */
static void log_notifier_every_kind(void **state)
{
    struct fixture *f = *state;
    struct sg_notify *n = NULL;
    struct sg_err err;
    static const char *const kinds[] = {"trip", "halt", "resolve", "resume"};

    sg_err_clear(&err);
    assert_int_equal(sg_notify_new(&f->loop, NULL, f->notifications, &n, &err), SG_OK);
    assert_non_null(n);
    assert_int_equal(sg_notify_in_flight(n), 0);
    for (int k = SG_NOTIFY_TRIP; k <= SG_NOTIFY_RESUME; k++) {
        struct sg_notify_event ev = {0};
        const char *text;
        char want[64];

        ev.kind = (enum sg_notify_kind)k;
        ev.ts_ms = 1790000000000;
        ev.release = "caracal";
        ev.summary = "error-ratio tripped";
        sg_notify_send(n, &ev);
        assert_int_equal(sg_notify_in_flight(n), 0);
        text = log_text(f);
        assert_int_equal(count_lines(text), (size_t)k + 1);
        snprintf(want, sizeof(want), "kind=%s", kinds[k]);
        assert_non_null(strstr(text, want));
    }
    assert_true(counted(f, "log", "success") == 4);
    assert_true(counted(f, "log", "failure") == 0);
    sg_notify_cancel_all(n);
    sg_notify_free(n);
}

/* The logged line carries the event's fields. */
static void log_notifier_fields(void **state)
{
    struct fixture *f = *state;
    struct sg_notify *n = NULL;
    struct sg_err err;
    struct sg_label lv[] = {
        {{"alertname", 9}, {"ErrorRatio", 10}},
        {{"service", 7}, {"api", 3}},
    };
    struct sg_labels ls = {lv, 2};
    struct sg_notify_event ev = {0};
    const char *text;

    sg_err_clear(&err);
    assert_int_equal(sg_notify_new(&f->loop, NULL, f->notifications, &n, &err), SG_OK);
    ev.kind = SG_NOTIFY_HALT;
    ev.ts_ms = 1790000000000;
    ev.release = "caracal";
    ev.summary = "halted";
    ev.alertname = "ErrorRatio";
    ev.labels = &ls;
    ev.has_value = true;
    ev.value = 0.25;
    ev.has_revision = true;
    ev.revision = 7;
    ev.action = "rollback";
    ev.dry_run = true;
    sg_notify_send(n, &ev);
    text = log_text(f);
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, "level=info"));
    assert_non_null(strstr(text, "msg=notification"));
    assert_non_null(strstr(text, "notifier=log"));
    assert_non_null(strstr(text, "kind=halt"));
    assert_non_null(strstr(text, "release=caracal"));
    assert_non_null(strstr(text, "alertname=ErrorRatio"));
    assert_non_null(strstr(text, "ErrorRatio"));
    assert_non_null(strstr(text, "service"));
    assert_non_null(strstr(text, "api"));
    assert_non_null(strstr(text, "action=rollback"));
    assert_non_null(strstr(text, "dry_run=true"));
    assert_non_null(strstr(text, "summary=halted"));
    assert_true(counted(f, "log", "success") == 1);
    sg_notify_free(n);
}

/* Optional fields left out: the line is still written, dry_run=false. */
static void log_notifier_minimal_event(void **state)
{
    struct fixture *f = *state;
    struct sg_notify *n = NULL;
    struct sg_notify_event ev = {0};
    const char *text;

    assert_int_equal(sg_notify_new(&f->loop, NULL, NULL, &n, NULL), SG_OK);
    ev.kind = SG_NOTIFY_RESUME;
    sg_notify_send(n, &ev); /* no metric: nothing counted, nothing fails */
    text = log_text(f);
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, "kind=resume"));
    assert_non_null(strstr(text, "dry_run=false"));
    sg_notify_free(n);
}

/* Configured types without an implementation in this build are named once
 * (notifier and type) when the dispatcher is built; their events are only
 * logged and only the log notifier is counted. */
static void types_without_implementation(void **state)
{
    struct fixture *f = *state;
    struct sg_notifier_config nc[2];
    struct sg_config cfg;
    struct sg_notify *n = NULL;
    struct sg_notify_event ev = {0};
    struct sg_err err;
    const char *text;
    size_t missing = 0;

    memset(nc, 0, sizeof(nc));
    memset(&cfg, 0, sizeof(cfg));
    nc[0].type = SG_NOTIFIER_SLACK;
    nc[0].name = "team-chat";
    nc[0].url = "https://hooks.example.invalid/services/T000/B000/XXXX";
    nc[1].type = SG_NOTIFIER_WEBHOOK;
    nc[1].name = "webhook";
    nc[1].url = "http://127.0.0.1:1/hook";
    cfg.notifiers = nc;
    cfg.notifiers_count = 2;
    for (size_t i = 0; i < 2; i++)
        missing += sg_notifier_ops_find(nc[i].type) == NULL;

    sg_err_clear(&err);
    assert_int_equal(sg_notify_new(&f->loop, &cfg, f->notifications, &n, &err), SG_OK);
    text = log_text(f);
    assert_int_equal(count_lines(text), missing);
    if (sg_notifier_ops_find(SG_NOTIFIER_SLACK) == NULL) {
        assert_non_null(strstr(text, "level=warn"));
        assert_non_null(strstr(text, "notifier=team-chat"));
        assert_non_null(strstr(text, "type=slack"));
    }
    assert_null(strstr(text, "hooks.example.invalid")); /* the secret URL is not logged */

    ev.kind = SG_NOTIFY_TRIP;
    ev.release = "caracal";
    ev.summary = "tripped";
    sg_notify_send(n, &ev);
    text = log_text(f);
    assert_int_equal(count_lines(text), missing + 1);
    assert_non_null(strstr(text, "kind=trip"));
    assert_null(strstr(text, "hooks.example.invalid"));
    assert_true(counted(f, "log", "success") == 1);
    if (missing == 2) {
        assert_int_equal(sg_notify_in_flight(n), 0);
        assert_int_equal(sg_metric_series(f->notifications), 1);
    }
    sg_notify_cancel_all(n);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(sg_notify_in_flight(n), 0);
    sg_notify_free(n);
}

/* NULL dispatcher or event: no-ops that log nothing. */
static void null_arguments(void **state)
{
    struct fixture *f = *state;
    struct sg_notify *n = NULL;
    struct sg_notify_event ev = {0};

    sg_notify_send(NULL, &ev);
    sg_notify_cancel_all(NULL);
    assert_int_equal(sg_notify_in_flight(NULL), 0);
    sg_notify_free(NULL);
    assert_int_equal(sg_notify_new(&f->loop, NULL, f->notifications, &n, NULL), SG_OK);
    sg_notify_send(n, NULL);
    assert_string_equal(log_text(f), "");
    assert_true(counted(f, "log", "success") == 0);
    sg_notify_free(n);
}

/* Out of memory while building: SG_ENOMEM with a message, *out untouched,
 * nothing leaked (the asan suite checks that). */
static void out_of_memory(void **state)
{
    struct fixture *f = *state;
    struct sg_notifier_config nc[1];
    struct sg_config cfg;
    struct sg_notify *n = NULL;
    struct sg_err err;

    memset(nc, 0, sizeof(nc));
    memset(&cfg, 0, sizeof(cfg));
    nc[0].type = SG_NOTIFIER_WEBHOOK;
    nc[0].name = "webhook";
    nc[0].url = "http://127.0.0.1:1/hook";
    cfg.notifiers = nc;
    cfg.notifiers_count = 1;
    for (uint64_t at = 1; at <= 2; at++) {
        sg_err_clear(&err);
        sg_alloc_fail_at(at);
        assert_int_equal(sg_notify_new(&f->loop, &cfg, f->notifications, &n, &err), SG_ENOMEM);
        sg_alloc_fail_at(0);
        assert_int_equal(err.code, SG_ENOMEM);
        assert_string_equal(err.msg, "notifiers: out of memory");
        assert_null(n);
    }
    sg_alloc_fail_at(1);
    assert_int_equal(sg_notify_new(&f->loop, NULL, NULL, &n, NULL), SG_ENOMEM);
    sg_alloc_fail_at(0);
    assert_null(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kind_names),
        cmocka_unit_test(ops_find_contract),
        cmocka_unit_test_setup_teardown(log_notifier_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(log_notifier_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(log_notifier_minimal_event, setup, teardown),
        cmocka_unit_test_setup_teardown(types_without_implementation, setup, teardown),
        cmocka_unit_test_setup_teardown(null_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
