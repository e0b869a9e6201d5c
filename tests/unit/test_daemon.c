/* tests/unit/test_daemon.c - the daemon's pure parts (trip histories,
 * routes, the Alertmanager webhook parser, helm status, time format) and
 * its decisions, driven through Alertmanager alerts, waves and resumes on
 * a real state directory with a fake clock; plus a loop test that serves
 * every endpoint and shuts down with uv_loop_close == 0. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/daemon_int.h"
#include "stopgate/fs.h"

static char tmpdir[64];

/* ---- helpers ----------------------------------------------------------------------------- */

struct fake_clock {
    int64_t now;
};

static int64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

static char *write_config(const char *name, const char *extra_release, const char *extra_top)
{
    static char path[256];
    char dir[200], text[4096];
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
    assert_int_equal(sg_fs_mkdir_p(dir, 0700, NULL), SG_OK);
    snprintf(path, sizeof(path), "%s/sg.yaml", dir);
    snprintf(text, sizeof(text),
             "remote_read: {url: 'http://127.0.0.1:1/api/v1/read'}\n"
             "state_dir: %s/state\n"
             "evaluation_interval: 1s\n"
             "web: {listen_address: '127.0.0.1:0'}\n"
             "tools: {helm: /nonexistent/helm}\n"
             "%s"
             "releases:\n"
             "  - name: caracal\n"
             "    namespace: caracal\n"
             "    wave_window: 10m\n"
             "    alert_match: {namespace: caracal}\n"
             "%s",
             dir, extra_top ? extra_top : "", extra_release ? extra_release : "");
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static char *slurp(const char *path)
{
    struct sg_buf b;
    size_t n;
    char *s;

    sg_buf_init(&b, 1 << 24);
    if (sg_fs_read_all(path, 1 << 24, &b, NULL) != SG_OK) {
        sg_buf_cleanup(&b);
        return sg_strdup("");
    }
    s = sg_buf_steal(&b, &n);
    return s ? s : sg_strdup("");
}

/* Audit lines with event ev (and action act when non-NULL). */
static int count_audit(const char *dir, const char *ev, const char *act)
{
    char path[256];
    char *s, *line, *save = NULL;
    int n = 0;

    snprintf(path, sizeof(path), "%s/state/audit.jsonl", dir);
    s = slurp(path);
    for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *e = json_string_value(json_object_get(j, "event"));
        const char *a = json_string_value(json_object_get(j, "action"));
        if (e && strcmp(e, ev) == 0 && (!act || (a && strcmp(a, act) == 0)))
            n++;
        json_decref(j);
    }
    sg_free(s);
    return n;
}

static struct sg_daemon *new_daemon(const char *cfg, struct fake_clock *fc)
{
    static struct sg_clock clock;
    struct sg_daemon_opts o = {0};
    struct sg_daemon *d = NULL;
    struct sg_err err;

    clock.now_ms = fake_now;
    clock.ctx = fc;
    o.config_path = cfg;
    o.clock = &clock;
    o.no_signals = true;
    sg_err_clear(&err);
    if (sg_daemon_new(&o, &d, &err) != SG_OK)
        fail_msg("sg_daemon_new: %s", err.msg);
    return d;
}

/* An Alertmanager payload with one alert. */
static void post_am(struct sg_daemon *d, const char *status, const char *alertname,
                    const char *stop, const char *starts_at)
{
    char body[1024];
    struct sg_arena a;
    struct sg_am_payload p;
    size_t taken, ignored;

    snprintf(body, sizeof(body),
             "{\"version\":\"4\",\"status\":\"%s\",\"receiver\":\"r\",\"groupKey\":\"{}\","
             "\"truncatedAlerts\":0,\"groupLabels\":{},\"commonLabels\":{},"
             "\"commonAnnotations\":{},\"externalURL\":\"http://am\",\"alerts\":[{\"status\":"
             "\"%s\",\"labels\":{\"alertname\":\"%s\",\"namespace\":\"caracal\",\"stop\":"
             "\"%s\"},\"annotations\":{},\"startsAt\":\"%s\",\"endsAt\":"
             "\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\",\"fingerprint\":\"abc\"}]}",
             status, status, alertname, stop, starts_at);
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(sg_am_parse(sg_str_c(body), &a, &p, NULL), SG_OK);
    sg_daemon_am_apply(d, &p, &taken, &ignored);
    assert_int_equal(taken, 1);
    sg_arena_cleanup(&a);
}

/* ---- pure parts ----------------------------------------------------------------------------- */

static void hist_counts_the_last_n(void **state)
{
    uint64_t h[2] = {0, 0};
    uint32_t n = 0;

    (void)state;
    for (int i = 0; i < 70; i++)
        sg_track_hist_push(h, &n, i % 2 == 0); /* F N F N ... the last push (69) is N */
    assert_int_equal(n, 70);
    assert_int_equal(sg_track_hist_count(h, 1), 0);
    assert_int_equal(sg_track_hist_count(h, 2), 1);
    assert_int_equal(sg_track_hist_count(h, 5), 2);
    assert_int_equal(sg_track_hist_count(h, 70), 35);
    assert_int_equal(sg_track_hist_count(h, 128), 35);
    for (int i = 0; i < 200; i++)
        sg_track_hist_push(h, &n, true);
    assert_int_equal(n, SG_TRACK_HIST_BITS);
    assert_int_equal(sg_track_hist_count(h, 100), 100);
    sg_track_hist_push(h, &n, false);
    assert_int_equal(sg_track_hist_count(h, 3), 2);
}

static void routes_first_match_wins(void **state)
{
    static const char text[] =
        "remote_read: {url: 'http://x/api/v1/read'}\n"
        "releases:\n"
        "  - name: caracal\n"
        "    namespace: caracal\n"
        "    routes:\n"
        "      - {match: {stop: rollback}, do: rollback}\n"
        "      - {match: {stop: pause}, match_re: {alertname: 'Audit.*'}, do: pause, "
        "trip_after: 3 of 5}\n"
        "      - {match: {stop: pause}, do: pause}\n";
    struct sg_config *cfg = NULL;
    struct sg_err err;
    struct sg_label l1[] = {{{"alertname", 9}, {"AuditDLQGrowing", 15}},
                            {{"stop", 4}, {"pause", 5}}};
    struct sg_label l2[] = {{{"alertname", 9}, {"GatewayUp", 9}}, {{"stop", 4}, {"pause", 5}}};
    struct sg_label l3[] = {{{"alertname", 9}, {"GatewayUp", 9}}};
    struct sg_labels ls;
    const struct sg_route *r;

    (void)state;
    sg_err_clear(&err);
    if (sg_config_parse(sg_str_c(text), "t.yaml", SG_CONFIG_NO_FS, &cfg, NULL, &err) != SG_OK)
        fail_msg("%s", err.msg);
    ls.v = l1;
    ls.count = 2;
    r = sg_route_find(&cfg->releases[0], &ls);
    assert_non_null(r);
    assert_int_equal(r->action, SG_ACTION_PAUSE);
    assert_int_equal(r->trip_m, 3);
    assert_int_equal(r->trip_n, 5);
    ls.v = l2;
    r = sg_route_find(&cfg->releases[0], &ls);
    assert_non_null(r);
    assert_int_equal(r->trip_m, 1);
    ls.v = l3;
    ls.count = 1;
    assert_null(sg_route_find(&cfg->releases[0], &ls));
    sg_config_free(cfg);
}

static void am_parse_reads_payload_v4(void **state)
{
    static const char body[] =
        "{\"receiver\":\"stopgate\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
        "\"labels\":{\"alertname\":\"DLQ\",\"stopgate_release\":\"caracal\"},\"annotations\":"
        "{\"summary\":\"x\"},\"startsAt\":\"2026-11-29T08:00:00.123456789Z\",\"endsAt\":"
        "\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://p/graph\",\"fingerprint\":"
        "\"0123456789abcdef\"},{\"status\":\"resolved\",\"labels\":{\"alertname\":\"B\"},"
        "\"annotations\":{},\"startsAt\":\"2026-11-29T08:00:00+01:00\",\"endsAt\":"
        "\"2026-11-29T09:00:00Z\",\"generatorURL\":\"\",\"fingerprint\":\"1\"}],"
        "\"groupLabels\":{},\"commonLabels\":{},\"commonAnnotations\":{},\"externalURL\":"
        "\"http://am:9093\",\"version\":\"4\",\"groupKey\":\"{}:{}\",\"truncatedAlerts\":2}";
    struct sg_arena a;
    struct sg_am_payload p;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(sg_am_parse(sg_str_c(body), &a, &p, NULL), SG_OK);
    assert_int_equal(p.count, 2);
    assert_int_equal(p.truncated_alerts, 2);
    assert_true(sg_str_eq_c(p.receiver, "stopgate"));
    assert_true(p.alerts[0].firing);
    assert_int_equal(p.alerts[0].labels.count, 2);
    assert_true(sg_str_eq_c(p.alerts[0].labels.v[0].name, "alertname"));
    assert_int_equal(p.alerts[0].starts_at_ms, INT64_C(1795939200123));
    assert_int_equal(p.alerts[0].ends_at_ms, INT64_MIN);
    assert_false(p.alerts[1].firing);
    assert_int_equal(p.alerts[1].starts_at_ms, INT64_C(1795935600000));
    sg_arena_cleanup(&a);
}

static void am_parse_errors_name_the_field(void **state)
{
    static const struct {
        const char *body;
        int code;
        const char *msg;
    } rows[] = {
        {"{", SG_EPARSE, "<webhook>:1:"},
        {"[]", SG_EINVAL, "want a JSON object"},
        {"{\"version\":\"3\",\"alerts\":[]}", SG_EINVAL, "version: want \"4\""},
        {"{\"version\":\"4\"}", SG_EINVAL, "alerts: want an array"},
        {"{\"version\":\"4\",\"alerts\":[1]}", SG_EINVAL, "alerts[0]: want an object"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"odd\",\"labels\":{\"a\":\"b\"}}]}",
         SG_EINVAL, "alerts[0].status"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"a\":1}}]}",
         SG_EINVAL, "alerts[0].labels.a: want a string"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"a-b\":\"1\"}}]}",
         SG_EINVAL, "invalid label name"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{}}]}", SG_EINVAL,
         "an alert needs labels"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"a\":\"b\"},"
         "\"startsAt\":\"yesterday\"}]}",
         SG_EINVAL, "alerts[0].startsAt"},
        {"{\"version\":\"4\",\"truncatedAlerts\":-1,\"alerts\":[]}", SG_EINVAL,
         "truncatedAlerts"},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        struct sg_arena a;
        struct sg_am_payload p;
        struct sg_err err;
        int rc;

        sg_arena_init(&a, 1 << 20);
        sg_err_clear(&err);
        rc = sg_am_parse(sg_str_c(rows[i].body), &a, &p, &err);
        if (rc != rows[i].code || !strstr(err.msg, rows[i].msg))
            fail_msg("row %zu: got %d \"%s\", want %d \"%s\"", i, rc, err.msg, rows[i].code,
                     rows[i].msg);
        sg_arena_cleanup(&a);
    }
}

static void helm_status_gives_the_revision(void **state)
{
    char *s = slurp("tests/data/helm/status.json");
    int64_t rev = -1;
    struct sg_err err;

    (void)state;
    assert_int_equal(sg_helm_status_revision(sg_str_c(s), &rev, NULL), SG_OK);
    assert_int_equal(rev, 2);
    sg_free(s);
    sg_err_clear(&err);
    assert_int_equal(sg_helm_status_revision(sg_str_c("{\"name\":\"x\"}"), &rev, &err),
                     SG_EPROTO);
    assert_non_null(strstr(err.msg, "no revision"));
    assert_int_equal(sg_helm_status_revision(sg_str_c("Error: x"), &rev, NULL), SG_EPROTO);
}

static void time_json_is_go_rfc3339nano(void **state)
{
    char buf[48];

    (void)state;
    sg_daemon_time_json(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    sg_daemon_time_json(1500, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:01.5Z");
    sg_daemon_time_json(INT64_C(1795939200123), buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-29T08:00:00.123Z");
}

/* ---- decisions ------------------------------------------------------------------------------ */

static void decisions_follow_waves_routes_and_resume(void **state)
{
    const char *cfg = write_config("decide", NULL, NULL);
    char dir[200];
    struct fake_clock fc = {INT64_C(1795939200000)}; /* 2026-11-29T08:00:00Z */
    struct sg_daemon *d;
    struct sg_rel *rel;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/decide", tmpdir);
    d = new_daemon(cfg, &fc);
    rel = sg_daemon_rel(d, sg_str_c("caracal"));
    assert_non_null(rel);

    /* outside a wave: a rollback condition only notifies */
    post_am(d, "firing", "Early", "rollback", "2026-11-29T07:59:00Z");
    assert_false(rel->halted);
    assert_int_equal(count_audit(dir, "trip", NULL), 1);
    assert_int_equal(count_audit(dir, "notify", NULL), 1);
    assert_int_equal(count_audit(dir, "action", NULL), 0);
    /* the same alert again: nothing new */
    post_am(d, "firing", "Early", "rollback", "2026-11-29T07:59:00Z");
    assert_int_equal(count_audit(dir, "trip", NULL), 1);

    /* a wave starts: the alert already firing closes the gate, no rollback */
    fc.now += 60000;
    sg_rel_wave_start(rel, 5, "test", fc.now);
    assert_true(rel->wave);
    assert_true(rel->halted);
    assert_non_null(strstr(rel->halt_reason, "Early fired at"));
    assert_int_equal(count_audit(dir, "action", "halt"), 1);
    assert_int_equal(count_audit(dir, "action", "rollback"), 0);

    /* resume acknowledges it: it does not halt again while it fires */
    fc.now += 1000;
    assert_true(sg_rel_resume(rel, "test", fc.now));
    assert_false(rel->halted);
    post_am(d, "firing", "Early", "rollback", "2026-11-29T07:59:00Z");
    assert_false(rel->halted);

    /* it resolves, then fires anew inside the wave: rollback and halt */
    post_am(d, "resolved", "Early", "rollback", "2026-11-29T07:59:00Z");
    assert_int_equal(count_audit(dir, "resolve", NULL), 1);
    fc.now += 1000;
    post_am(d, "firing", "Early", "rollback", "2026-11-29T08:01:01Z");
    assert_true(rel->halted);
    assert_int_equal(count_audit(dir, "action", "rollback"), 1);

    /* a second rollback condition in the same revision: halt only */
    assert_true(sg_rel_resume(rel, "test", fc.now));
    post_am(d, "firing", "Other", "rollback", "2026-11-29T08:01:02Z");
    assert_true(rel->halted);
    assert_int_equal(count_audit(dir, "action", "rollback"), 1);
    assert_int_equal(count_audit(dir, "action", "halt"), 2);

    /* a pause condition: one pause while paused... */
    assert_true(sg_rel_resume(rel, "test", fc.now));
    post_am(d, "firing", "P1", "pause", "2026-11-29T08:01:03Z");
    assert_int_equal(count_audit(dir, "action", "pause"), 1);
    post_am(d, "firing", "P2", "pause", "2026-11-29T08:01:04Z");
    assert_int_equal(count_audit(dir, "action", "pause"), 1);
    assert_true(rel->paused);
    /* the gate-only actuator finishes on the loop */
    uv_run(sg_daemon_loop(d), UV_RUN_NOWAIT);
    uv_run(sg_daemon_loop(d), UV_RUN_NOWAIT);
    assert_int_equal(sg_daemon_free(d), 0);
    assert_int_equal(count_audit(dir, "action_result", "rollback"), 1);
    assert_int_equal(count_audit(dir, "action_result", "pause"), 1);

    /* a restart restores gate, wave and tracks; nothing repeats */
    d = new_daemon(cfg, &fc);
    rel = sg_daemon_rel(d, sg_str_c("caracal"));
    assert_true(rel->halted);
    assert_true(rel->wave);
    assert_true(rel->paused);
    assert_int_equal(rel->wave_revision, 5);
    post_am(d, "firing", "P1", "pause", "2026-11-29T08:01:03Z");
    post_am(d, "firing", "Other", "rollback", "2026-11-29T08:01:02Z");
    assert_int_equal(count_audit(dir, "action", "pause"), 1);
    assert_int_equal(count_audit(dir, "action", "rollback"), 1);
    assert_int_equal(count_audit(dir, "trip", NULL), 5);
    /* outside the wave only notifications */
    sg_rel_wave_end(rel, fc.now);
    assert_int_equal(count_audit(dir, "wave_end", NULL), 1);
    assert_int_equal(sg_daemon_free(d), 0);
}

static void state_document_round_trips(void **state)
{
    const char *cfg = write_config("persist", NULL, NULL);
    struct fake_clock fc = {INT64_C(1795939200000)};
    struct sg_daemon *d;
    struct sg_rel *rel, *back;
    struct sg_label l[] = {{{"__name__", 8}, {"caracal:dlq:max", 15}}, {{"job", 3}, {"x", 1}}};
    struct sg_labels ls = {l, 2};
    json_t *doc, *doc2;
    char *s1, *s2;
    struct sg_err err;

    (void)state;
    d = new_daemon(cfg, &fc);
    rel = sg_daemon_rel(d, sg_str_c("caracal"));
    rel->retention_ms = 600000;
    assert_int_equal(sg_store_append(rel->local, &ls, fc.now - 2000, 1.5, NULL), SG_OK);
    assert_int_equal(sg_store_append(rel->local, &ls, fc.now - 1000, sg_stale_nan(), NULL), SG_OK);
    assert_int_equal(sg_store_append(rel->local, &ls, fc.now, 1e-300, NULL), SG_OK);
    post_am(d, "firing", "Kept", "pause", "2026-11-29T07:59:00Z");
    rel->qerr_streak = 2;
    snprintf(rel->qerr_last, sizeof(rel->qerr_last), "boom");
    doc = sg_rel_doc(rel, SG_DAEMON_DOC_MAX);
    assert_non_null(doc);
    assert_int_equal(sg_rel_new(d, "other", &back, NULL), SG_OK);
    sg_err_clear(&err);
    if (sg_rel_restore(back, doc, &err) != SG_OK)
        fail_msg("%s", err.msg);
    back->name[0] = 'c'; /* compare documents without the name */
    doc2 = sg_rel_doc(back, SG_DAEMON_DOC_MAX);
    json_object_del(doc, "release");
    json_object_del(doc2, "release");
    s1 = json_dumps(doc, JSON_SORT_KEYS);
    s2 = json_dumps(doc2, JSON_SORT_KEYS);
    assert_string_equal(s1, s2);
    assert_non_null(strstr(s1, "\"stale\""));
    assert_non_null(strstr(s1, "1e-300"));
    assert_int_equal(back->ntracks, 1);
    assert_true(back->tracks[0]->tripped);
    assert_int_equal(back->qerr_streak, 2);
    free(s1);
    free(s2);
    json_decref(doc);
    json_decref(doc2);
    /* a field of the wrong type is refused, naming it */
    doc = json_pack("{s:s}", "revision", "five");
    sg_err_clear(&err);
    assert_int_equal(sg_rel_restore(back, doc, &err), SG_ESTATE);
    assert_non_null(strstr(err.msg, "revision"));
    json_decref(doc);
    sg_rel_free(back);
    assert_int_equal(sg_daemon_free(d), 0);
}

/* One evaluation of the first group from an in-memory store, applied. */
static void eval_once(struct sg_rel *rel, struct sg_store *in, int64_t t, bool read_failed,
                      bool no_data)
{
    struct sg_group_rt *grt = &rel->rt->groups[0];
    struct sg_rules_source src;
    struct sg_eval_outcome o = {0};

    sg_rules_source_store(&src, in);
    if (!read_failed)
        assert_int_equal(sg_rules_eval_group(rel->rt->rstate, grt->g, t, &src, rel->local, NULL),
                         SG_OK);
    o.grt = grt;
    o.t_ms = t;
    o.read_failed = read_failed;
    o.error = read_failed ? "connection refused" : NULL;
    o.no_data = no_data;
    o.no_data_rule = no_data ? "Flappy" : NULL;
    sg_rel_apply_eval(rel, &o);
}

static void trip_after_and_thresholds_count_evaluations(void **state)
{
    static const char release[] =
        "    rule_files: [rules.yaml]\n"
        "    on_no_data: {after: 2, do: pause}\n"
        "    on_query_errors: {after: 2, do: notify}\n"
        "    routes:\n"
        "      - {match: {alertname: Flappy}, do: pause, trip_after: 2 of 3}\n"
        "      - do: notify\n";
    static const char rules[] = "groups:\n"
                                "  - name: g\n"
                                "    rules:\n"
                                "      - {alert: Flappy, expr: 'flappy > 0', labels: {stop: pause}}\n";
    static const double pattern[] = {1, 0, 1, 0, 0};
    const char *cfg;
    char dir[200], path[256];
    struct fake_clock fc = {INT64_C(1795939200000)};
    struct sg_label l[] = {{{"__name__", 8}, {"flappy", 6}}};
    struct sg_labels ls = {l, 1};
    struct sg_daemon *d;
    struct sg_rel *rel;
    struct sg_store *in = sg_store_new(0);
    FILE *f;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/trip", tmpdir);
    cfg = write_config("trip", release, NULL);
    snprintf(path, sizeof(path), "%s/rules.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(rules, f);
    fclose(f);
    d = new_daemon(cfg, &fc);
    rel = sg_daemon_rel(d, sg_str_c("caracal"));
    assert_non_null(rel->rt->rstate);
    sg_rel_wave_start(rel, 3, "test", fc.now);
    for (size_t i = 0; i < SG_ARRAY_LEN(pattern); i++) {
        fc.now += 1000;
        assert_int_equal(sg_store_append(in, &ls, fc.now, pattern[i], NULL), SG_OK);
        eval_once(rel, in, fc.now, false, false);
        /* firing in 2 of the last 3: trips at the third evaluation, resolves at the fourth */
        assert_int_equal(count_audit(dir, "trip", NULL), i >= 2 ? 1 : 0);
        assert_int_equal(count_audit(dir, "resolve", NULL), i >= 3 ? 1 : 0);
    }
    assert_int_equal(count_audit(dir, "action", "pause"), 1);
    assert_true(rel->halted);

    /* no data: acts at exactly `after` (a pause while paused closes the gate only) */
    for (int i = 0; i < 3; i++) {
        fc.now += 1000;
        eval_once(rel, in, fc.now, false, true);
    }
    assert_int_equal(count_audit(dir, "error", NULL), 1);
    assert_int_equal(count_audit(dir, "action", "halt"), 1);
    /* query errors with do: notify: journaled and notified, nothing else */
    for (int i = 0; i < 3; i++) {
        fc.now += 1000;
        eval_once(rel, in, fc.now, true, false);
    }
    assert_int_equal(count_audit(dir, "error", NULL), 2);
    assert_int_equal(count_audit(dir, "action", NULL), 2);
    assert_int_equal(rel->qerr_streak, 3);
    sg_store_free(in);
    assert_int_equal(sg_daemon_free(d), 0);
}

static void origin_alerts_are_ignored(void **state)
{
    const char *cfg = write_config("origin", NULL, NULL);
    static const char body[] =
        "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
        "\"labels\":{\"alertname\":\"A\",\"stopgate_release\":\"caracal\",\"stopgate_origin\":"
        "\"x\"}},{\"status\":\"firing\",\"labels\":{\"alertname\":\"B\",\"namespace\":"
        "\"other\"}},{\"status\":\"firing\",\"labels\":{\"alertname\":\"C\","
        "\"stopgate_release\":\"caracal\"}}]}";
    struct fake_clock fc = {INT64_C(1795939200000)};
    struct sg_daemon *d;
    struct sg_arena a;
    struct sg_am_payload p;
    size_t taken, ignored;

    (void)state;
    d = new_daemon(cfg, &fc);
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(sg_am_parse(sg_str_c(body), &a, &p, NULL), SG_OK);
    sg_daemon_am_apply(d, &p, &taken, &ignored);
    assert_int_equal(taken, 1);
    assert_int_equal(ignored, 2);
    sg_arena_cleanup(&a);
    assert_int_equal(sg_daemon_free(d), 0);
}

static void second_instance_refuses_the_state_dir(void **state)
{
    const char *cfg = write_config("lock", NULL, NULL);
    struct fake_clock fc = {INT64_C(1795939200000)};
    struct sg_daemon_opts o = {0};
    struct sg_daemon *d1, *d2 = NULL;
    struct sg_err err;

    (void)state;
    d1 = new_daemon(cfg, &fc);
    o.config_path = cfg;
    o.no_signals = true;
    sg_err_clear(&err);
    assert_int_equal(sg_daemon_new(&o, &d2, &err), SG_ESTATE);
    assert_int_equal(sg_daemon_free(d2), 0);
    assert_int_equal(sg_daemon_free(d1), 0);
}

static void non_loopback_needs_a_token(void **state)
{
    const char *cfg = write_config("token", NULL, NULL);
    struct sg_daemon_opts o = {0};
    struct sg_daemon *d = NULL;
    struct sg_err err;

    (void)state;
    o.config_path = cfg;
    o.no_signals = true;
    o.listen_address = "0.0.0.0:0";
    sg_err_clear(&err);
    assert_int_equal(sg_daemon_new(&o, &d, &err), SG_EINVAL);
    assert_non_null(strstr(err.msg, "without web.token_file"));
    assert_int_equal(sg_daemon_free(d), 0);
}

/* ---- the loop: every endpoint over real HTTP --------------------------------------------------- */

struct step {
    const char *method, *path, *body, *auth;
    long status;
    const char *want; /* substring of the body, or NULL */
};

struct http_test {
    struct sg_daemon *d;
    struct sg_http *http;
    const struct step *steps;
    size_t n, i;
    uv_timer_t start;
    char url[256];
    int failures;
};

static void next_step(struct http_test *t);

static void on_step(const struct sg_http_resp *resp, const struct sg_err *err, void *arg)
{
    struct http_test *t = arg;
    const struct step *s = &t->steps[t->i];

    if (resp->status != s->status ||
        (s->want && (!resp->body.data || !strstr(resp->body.data, s->want)))) {
        print_error("step %zu %s %s: status %ld body %s err %s\n", t->i, s->method, s->path,
                    resp->status, resp->body.data ? resp->body.data : "",
                    err ? err->msg : "none");
        t->failures++;
    }
    t->i++;
    next_step(t);
}

static void next_step(struct http_test *t)
{
    const struct step *s;
    struct sg_http_opts o = {0};
    const char *headers[2] = {NULL, NULL};

    if (t->i == t->n) {
        sg_http_close(t->http);
        sg_daemon_stop(t->d);
        return;
    }
    s = &t->steps[t->i];
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d%s", sg_daemon_port(t->d), s->path);
    headers[0] = s->auth;
    o.url = t->url;
    o.method = s->method;
    o.headers = headers;
    o.body = s->body ? s->body : (strcmp(s->method, "POST") == 0 ? "" : NULL);
    o.body_len = s->body ? strlen(s->body) : 0;
    o.timeout_ms = 5000;
    o.max_error_body = 1 << 16;
    assert_int_equal(sg_http_start(t->http, &o, on_step, t, NULL, NULL), SG_OK);
}

static void on_start(uv_timer_t *h)
{
    struct http_test *t = h->data;
    uv_close((uv_handle_t *)h, NULL);
    next_step(t);
}

static void endpoints_answer_and_shutdown_is_clean(void **state)
{
    char tokpath[256], top[300];
    const char *cfg;
    FILE *f;
    static const struct step steps[] = {
        {"GET", "/-/healthy", NULL, NULL, 200, "Healthy"},
        {"GET", "/-/ready", NULL, NULL, 200, "Ready"},
        {"GET", "/api/v1/gate/caracal", NULL, NULL, 200, "\"gate\":\"open\""},
        {"GET", "/api/v1/gate/nope", NULL, NULL, 404, "unknown release"},
        {"POST", "/api/v1/waves/caracal", "{\"revision\":7}", NULL, 401, NULL},
        {"POST", "/api/v1/waves/caracal", "{\"revision\":7}", "Authorization: Bearer s3cret",
         202, "\"revision\":7"},
        {"POST", "/api/v1/waves/caracal", "{\"revision\":\"x\"}",
         "Authorization: Bearer s3cret", 400, NULL},
        {"POST", "/api/v1/alertmanager",
         "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
         "\"labels\":{\"alertname\":\"DLQ\",\"stopgate_release\":\"caracal\",\"stop\":"
         "\"pause\"},\"startsAt\":\"2099-01-01T00:00:00Z\"}]}",
         "Authorization: Bearer s3cret", 200, "\"taken\":1"},
        {"POST", "/api/v1/alertmanager", "{\"version\":\"4\"}", "Authorization: Bearer s3cret",
         400, "alerts"},
        {"GET", "/api/v1/gate/caracal", NULL, NULL, 423, "DLQ fired at"},
        {"GET", "/api/v1/status", NULL, NULL, 200, "\"gate\":\"halted\""},
        {"GET", "/api/v1/rules", NULL, NULL, 200, "{\"status\":\"success\",\"data\":{\"groups\":[]}}"},
        {"GET", "/api/v1/alerts", NULL, NULL, 200, "\"alerts\":[]"},
        {"GET", "/metrics", NULL, NULL, 200, "stopgate_release_halted{release=\"caracal\"} 1"},
        {"POST", "/api/v1/releases/caracal/resume", NULL, "Authorization: Bearer s3cret", 200,
         "\"acknowledged\":[\"DLQ\"]"},
        {"GET", "/api/v1/gate/caracal", NULL, NULL, 200, "open"},
        {"POST", "/-/reload", NULL, "Authorization: Bearer s3cret", 200, NULL},
        {"GET", "/metrics", NULL, NULL, 200, "stopgate_actions_total{action=\"pause\""},
    };
    struct http_test t = {0};
    struct sg_err err;

    (void)state;
    snprintf(tokpath, sizeof(tokpath), "%s/web-token", tmpdir);
    f = fopen(tokpath, "w");
    if (!f)
        fail_msg("%s: %s", tokpath, strerror(errno));
    fputs("s3cret\n", f);
    fclose(f);
    snprintf(top, sizeof(top), "dry_run: true\n");
    cfg = write_config("loop", NULL, top);
    {
        /* add the token file to the config's web section */
        char *text = slurp(cfg), *p;
        char repl[4096];
        p = strstr(text, "web: {");
        assert_non_null(p);
        snprintf(repl, sizeof(repl), "%.*sweb: {token_file: '%s', %s", (int)(p - text), text,
                 tokpath, p + 6);
        f = fopen(cfg, "w");
        fputs(repl, f);
        fclose(f);
        sg_free(text);
    }
    {
        struct sg_daemon_opts o = {0};
        o.config_path = cfg;
        o.no_signals = true;
        sg_err_clear(&err);
        if (sg_daemon_new(&o, &t.d, &err) != SG_OK) {
            print_error("sg_daemon_new: %s\n", err.msg);
            fail();
        }
    }
    t.steps = steps;
    t.n = SG_ARRAY_LEN(steps);
    assert_int_equal(sg_http_new(sg_daemon_loop(t.d), &t.http, NULL), SG_OK);
    uv_timer_init(sg_daemon_loop(t.d), &t.start);
    t.start.data = &t;
    uv_timer_start(&t.start, on_start, 10, 0);
    sg_err_clear(&err);
    assert_int_equal(sg_daemon_run(t.d, &err), SG_OK);
    assert_int_equal(t.i, t.n);
    assert_int_equal(t.failures, 0);
    assert_int_equal(sg_daemon_free(t.d), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hist_counts_the_last_n),
        cmocka_unit_test(routes_first_match_wins),
        cmocka_unit_test(am_parse_reads_payload_v4),
        cmocka_unit_test(am_parse_errors_name_the_field),
        cmocka_unit_test(helm_status_gives_the_revision),
        cmocka_unit_test(time_json_is_go_rfc3339nano),
        cmocka_unit_test(decisions_follow_waves_routes_and_resume),
        cmocka_unit_test(state_document_round_trips),
        cmocka_unit_test(trip_after_and_thresholds_count_evaluations),
        cmocka_unit_test(origin_alerts_are_ignored),
        cmocka_unit_test(second_instance_refuses_the_state_dir),
        cmocka_unit_test(non_loopback_needs_a_token),
        cmocka_unit_test(endpoints_answer_and_shutdown_is_clean),
    };
    char cmd[128];
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sg-test-daemon-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
