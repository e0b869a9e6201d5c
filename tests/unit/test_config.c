/* tests/unit/test_config.c - the config loader: the good/bad file table
 * under tests/data/config/, defaults, merging, paths, value parsers. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/config.h"
#include "stopgate/fs.h"
#include "stopgate/promql.h"

#define DATA "tests/data/config"

static int parse(const char *text, struct sg_config **cfg, struct sg_config_report *r,
                 struct sg_err *err)
{
    sg_err_clear(err);
    return sg_config_parse(sg_str_c(text), "etc/sg.yaml", SG_CONFIG_NO_FS, cfg, r, err);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of DIR's *.yaml files, sorted; NULL-terminated, caller frees. */
static char **list_yaml(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    size_t count = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".yaml") != 0)
            continue;
        v = realloc(v, (count + 2) * sizeof(*v));
        assert_non_null(v);
        v[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, count, sizeof(*v), cmp_names);
    v[count] = NULL;
    *n = count;
    return v;
}

/* Every problem line, without the "FILE:" prefix, one per line. */
static void problems_text(const struct sg_config_report *r, const char *path, struct sg_buf *out)
{
    size_t pl = strlen(path);

    for (size_t i = 0; i < r->count; i++) {
        const char *m = r->v[i].msg;
        if (strncmp(m, path, pl) == 0 && m[pl] == ':')
            m += pl + 1;
        assert_int_equal(sg_buf_puts(out, m), SG_OK);
        assert_int_equal(sg_buf_putc(out, '\n'), SG_OK);
    }
}

static int check_expr(void *arg, const char *expr, struct sg_err *err)
{
    struct sg_arena a;
    struct sg_node *n;
    int rc;

    (void)arg;
    sg_arena_init(&a, 1 << 20);
    rc = sg_promql_parse(sg_str_c(expr), "<expr>", &a, NULL, &n, err);
    sg_arena_cleanup(&a);
    return rc;
}

/* tests/data/config/bad/X.yaml must fail with exactly the lines of X.err;
 * tests/data/config/good/X.yaml must load, with the warnings of X.err if
 * that file exists, else none. */
static void run_table(const char *sub, bool good)
{
    char dir[256], path[512], errpath[512];
    size_t n;
    char **names;

    snprintf(dir, sizeof(dir), DATA "/%s", sub);
    names = list_yaml(dir, &n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        struct sg_config_report r;
        struct sg_config *cfg = NULL;
        struct sg_buf got, want;
        struct sg_err err;
        int rc;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        snprintf(errpath, sizeof(errpath), "%.*s.err", (int)(strlen(path) - 5), path);
        sg_config_report_init(&r);
        sg_err_clear(&err);
        {
            struct sg_config_opts o = {.check_expr = check_expr};
            rc = sg_config_load_file_opts(path, &o, &cfg, &r, &err);
        }
        sg_buf_init(&got, 1 << 20);
        sg_buf_init(&want, 1 << 20);
        problems_text(&r, path, &got);
        if (sg_fs_exists(errpath))
            assert_int_equal(sg_fs_read_all(errpath, 1 << 20, &want, NULL), SG_OK);
        if (good) {
            if (rc != SG_OK)
                fail_msg("%s: %s", path, err.msg);
            assert_int_equal(r.errors, 0);
            assert_non_null(cfg);
        } else {
            if (rc == SG_OK)
                fail_msg("%s: loaded, want an error", path);
            assert_null(cfg);
            assert_true(r.errors > 0);
            /* the first error in err is the first error of the report */
            assert_true(strstr(sg_buf_cstr(&got), err.msg + strlen(path) + 1) != NULL);
        }
        if (strcmp(sg_buf_cstr(&got), sg_buf_cstr(&want)) != 0)
            fail_msg("%s:\n--- got\n%s--- want\n%s", path, sg_buf_cstr(&got), sg_buf_cstr(&want));
        sg_buf_cleanup(&got);
        sg_buf_cleanup(&want);
        sg_config_free(cfg);
        sg_config_report_cleanup(&r);
        free(names[i]);
    }
    free(names);
}

static void bad_configs_report_every_problem(void **state)
{
    (void)state;
    run_table("bad", false);
}

static void good_configs_load(void **state)
{
    (void)state;
    run_table("good", true);
}

static void spec_example_loads_with_its_values(void **state)
{
    struct sg_config *cfg = NULL;
    const struct sg_release_config *r;
    struct sg_err err;

    (void)state;
    sg_err_clear(&err);
    assert_int_equal(sg_config_load_file(DATA "/good/spec-example.yaml", &cfg, &err), SG_OK);
    assert_string_equal(cfg->remote_read.url, "http://prometheus:9090/api/v1/read");
    assert_int_equal(cfg->remote_read.timeout_ms, 10000);
    assert_int_equal(cfg->remote_read.response_type, SG_RR_RESPONSE_AUTO);
    assert_string_equal(cfg->remote_read.bearer_token_file, "/var/run/secrets/token");
    assert_true(cfg->remote_read.has_basic_auth);
    assert_string_equal(cfg->remote_read.basic_auth.username, "u");
    assert_string_equal(cfg->remote_read.basic_auth.password_file, "/etc/stopgate/pw");
    assert_int_equal(cfg->remote_read.headers.count, 1);
    assert_string_equal(cfg->remote_read.headers.v[0].name, "X-Scope-OrgID");
    assert_string_equal(cfg->remote_read.headers.v[0].value, "platform");
    assert_false(cfg->remote_read.tls.insecure_skip_verify);
    assert_int_equal(cfg->remote_read.external_labels.count, 1);
    assert_string_equal(cfg->remote_read.external_labels.v[0].value, "monitoring/k8s");
    assert_int_equal(cfg->remote_read.max_response_bytes, 1ull << 30);
    assert_int_equal(cfg->remote_read.max_samples, 50000000);
    assert_int_equal(cfg->remote_read.retries.max, 3);
    assert_int_equal(cfg->remote_read.retries.min_backoff_ms, 500);
    assert_int_equal(cfg->remote_read.retries.max_backoff_ms, 10000);
    assert_int_equal(cfg->evaluation_interval_ms, 15000);
    assert_int_equal(cfg->lookback_delta_ms, 300000);
    assert_string_equal(cfg->state_dir, "/var/lib/stopgate");
    assert_false(cfg->dry_run);
    assert_string_equal(cfg->web.listen_address, "127.0.0.1:9097");
    assert_true(cfg->web.is_loopback);
    assert_string_equal(cfg->web.token_file, "/etc/stopgate/token");
    assert_string_equal(cfg->web.external_url, "https://stopgate.example/");
    assert_int_equal(cfg->releases_count, 1);
    r = sg_config_release(cfg, sg_str_c("caracal"));
    assert_non_null(r);
    assert_null(sg_config_release(cfg, sg_str_c("other")));
    assert_string_equal(r->namespace_, "caracal");
    assert_string_equal(r->kube_context, "prod");
    /* the override is merged over the global remote_read */
    assert_string_equal(r->remote_read.url, "http://prometheus:9090/api/v1/read");
    assert_int_equal(r->remote_read.headers.count, 1);
    assert_string_equal(r->remote_read.headers.v[0].value, "caracal");
    assert_string_equal(r->remote_read.bearer_token_file, "/var/run/secrets/token");
    assert_int_equal(r->rule_files_count, 1);
    assert_string_equal(r->rule_files[0], DATA "/good/rules/caracal/*.yaml");
    assert_int_equal(r->rule_files_pos[0].line, 25);
    assert_int_equal(r->rule_paths_count, 1);
    assert_string_equal(r->rule_paths[0], DATA "/good/rules/caracal/stop.yaml");
    assert_int_equal(r->wave_window_ms, 30 * 60000);
    assert_int_equal(r->revision_poll_interval_ms, 10000);
    assert_int_equal(r->on_query_errors.after, 4);
    assert_int_equal(r->on_query_errors.action, SG_ACTION_PAUSE);
    assert_int_equal(r->on_no_data.action, SG_ACTION_NOTIFY);
    assert_int_equal(r->alert_match.count, 1);
    assert_string_equal(r->alert_match.v[0].name, "namespace");
    assert_int_equal(r->routes_count, 3);
    assert_false(r->routes_defaulted);
    assert_int_equal(r->routes[0].action, SG_ACTION_ROLLBACK);
    assert_string_equal(r->routes[0].match.v[0].value, "rollback");
    assert_int_equal(r->routes[1].trip_m, 3);
    assert_int_equal(r->routes[1].trip_n, 5);
    assert_int_equal(r->routes[2].match.count, 0);
    assert_int_equal(r->routes[2].trip_m, 1);
    assert_true(r->rollback.require_schema_proof);
    assert_string_equal(r->rollback.schema_version_query, "max(caracal_schema_migration_version)");
    assert_string_equal(r->rollback.max_schema_values_path, ".migrations.maxSchemaVersion");
    assert_int_equal(r->rollback.query_pos.line, 40);
    assert_int_equal(r->readiness_count, 1);
    assert_string_equal(r->readiness[0], "http://caracal-api:8080/ready");
    assert_int_equal(cfg->notifiers_count, 2);
    assert_int_equal(cfg->notifiers[0].type, SG_NOTIFIER_SLACK);
    assert_string_equal(cfg->notifiers[0].name, "slack");
    assert_string_equal(cfg->notifiers[0].url_file, "/etc/stopgate/slack-url");
    assert_int_equal(cfg->notifiers[1].type, SG_NOTIFIER_ALERTMANAGER);
    assert_string_equal(cfg->notifiers[1].url, "http://alertmanager:9093");
    assert_true(cfg->notifiers[1].send_resolved);
    sg_config_free(cfg);
}

static void defaults_and_default_routes(void **state)
{
    struct sg_config *cfg = NULL;
    struct sg_err err;
    const struct sg_release_config *r;

    (void)state;
    assert_int_equal(parse("remote_read: {url: 'https://m/prometheus/api/v1/read'}\n"
                           "releases: [{name: a, namespace: b}]\n"
                           "notifiers:\n"
                           "  - {type: slack, url: 'https://h/1'}\n"
                           "  - {type: slack, url: 'https://h/2'}\n"
                           "  - {type: webhook, url: 'https://h/3', name: mine}\n",
                           &cfg, NULL, &err),
                     SG_OK);
    assert_true(cfg->has_remote_read);
    assert_int_equal(cfg->remote_read.max_frame_bytes, 64ull << 20);
    assert_string_equal(cfg->tools.helm, "helm");
    assert_int_equal(cfg->tools.timeout_ms, 60000);
    assert_true(cfg->tools.env_count > 3);
    assert_int_equal(cfg->web.read_timeout_ms, 10000);
    r = &cfg->releases[0];
    assert_true(r->routes_defaulted);
    assert_int_equal(r->routes_count, 3);
    assert_string_equal(r->routes[0].match.v[0].name, "stop");
    assert_string_equal(r->routes[0].match.v[0].value, "rollback");
    assert_int_equal(r->routes[0].action, SG_ACTION_ROLLBACK);
    assert_int_equal(r->routes[1].action, SG_ACTION_PAUSE);
    assert_int_equal(r->routes[2].action, SG_ACTION_NOTIFY);
    assert_int_equal(r->routes[2].match.count, 0);
    assert_false(r->rollback.require_schema_proof);
    assert_int_equal(r->rollback.timeout_ms, 300000);
    assert_int_equal(r->rule_files_count, 0);
    assert_string_equal(cfg->notifiers[0].name, "slack-1");
    assert_string_equal(cfg->notifiers[1].name, "slack-2");
    assert_string_equal(cfg->notifiers[2].name, "mine");
    assert_int_equal(cfg->notifiers[2].timeout_ms, 10000);
    sg_config_free(cfg);

    /* an empty file is a config of defaults */
    assert_int_equal(parse("", &cfg, NULL, &err), SG_OK);
    assert_false(cfg->has_remote_read);
    assert_null(cfg->remote_read.url);
    assert_int_equal(cfg->releases_count, 0);
    sg_config_free(cfg);
    assert_int_equal(parse("# nothing\n", &cfg, NULL, &err), SG_OK);
    sg_config_free(cfg);
}

static void release_override_merges(void **state)
{
    struct sg_config *cfg = NULL;
    struct sg_err err;
    const struct sg_release_config *r;

    (void)state;
    assert_int_equal(
        parse("remote_read:\n"
              "  url: http://p/api/v1/read\n"
              "  headers: {X-Scope-OrgID: platform, X-Extra: 1}\n"
              "  external_labels: {b: '2', a: '1'}\n"
              "  tls_config: {ca_file: ca.pem}\n"
              "  retries: {max: 5}\n"
              "releases:\n"
              "  - name: a\n"
              "    namespace: n\n"
              "    remote_read:\n"
              "      url: https://m/api/v1/read\n"
              "      headers: {x-scope-orgid: tenant-a}\n"
              "      external_labels: {c: '3'}\n"
              "      tls_config: {insecure_skip_verify: false}\n"
              "      retries: {min_backoff: 1s}\n"
              "  - name: b\n"
              "    namespace: n\n",
              &cfg, NULL, &err),
        SG_OK);
    r = &cfg->releases[0];
    assert_string_equal(r->remote_read.url, "https://m/api/v1/read");
    assert_int_equal(r->remote_read.headers.count, 2);
    /* header names compare case-insensitively; the release's value wins */
    assert_string_equal(r->remote_read.headers.v[0].name, "x-scope-orgid");
    assert_string_equal(r->remote_read.headers.v[0].value, "tenant-a");
    assert_string_equal(r->remote_read.headers.v[1].name, "X-Extra");
    assert_int_equal(r->remote_read.external_labels.count, 3);
    assert_string_equal(r->remote_read.external_labels.v[0].name, "a");
    assert_string_equal(r->remote_read.external_labels.v[2].name, "c");
    assert_string_equal(r->remote_read.tls.ca_file, "etc/ca.pem");
    assert_int_equal(r->remote_read.retries.max, 5);
    assert_int_equal(r->remote_read.retries.min_backoff_ms, 1000);
    /* the global one is untouched */
    assert_string_equal(cfg->remote_read.headers.v[0].value, "platform");
    assert_int_equal(cfg->remote_read.external_labels.count, 2);
    assert_int_equal(cfg->remote_read.retries.min_backoff_ms, 500);
    assert_string_equal(cfg->releases[1].remote_read.url, "http://p/api/v1/read");
    sg_config_free(cfg);
}

static void paths_resolve_against_the_config_dir(void **state)
{
    struct sg_config *cfg = NULL;
    struct sg_err err;

    (void)state;
    assert_int_equal(parse("state_dir: state\n"
                           "web: {token_file: /abs/token}\n"
                           "tools: {helm: bin/helm, kubectl: kubectl, kubeconfig: kube/config}\n"
                           "remote_read: {bearer_token_file: secrets/t}\n",
                           &cfg, NULL, &err),
                     SG_OK);
    assert_string_equal(cfg->state_dir, "etc/state");
    assert_string_equal(cfg->web.token_file, "/abs/token");
    assert_string_equal(cfg->tools.helm, "etc/bin/helm");
    assert_string_equal(cfg->tools.kubectl, "kubectl");
    assert_string_equal(cfg->tools.kubeconfig, "etc/kube/config");
    assert_string_equal(cfg->remote_read.bearer_token_file, "etc/secrets/t");
    sg_config_free(cfg);
}

static void first_error_has_position(void **state)
{
    struct sg_config *cfg = NULL;
    struct sg_config_report r;
    struct sg_err err;

    (void)state;
    sg_config_report_init(&r);
    assert_int_equal(parse("lookback_delta: 5m\nweb:\n  listen_adress: x\n", &cfg, &r, &err),
                     SG_EINVAL);
    assert_null(cfg);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 3);
    assert_string_equal(err.msg, "etc/sg.yaml:3:3: web: unknown field \"listen_adress\"");
    assert_int_equal(r.count, 1);
    assert_int_equal(r.v[0].line, 3);
    sg_config_report_cleanup(&r);

    /* YAML errors keep libyaml's position */
    assert_int_equal(parse("a: [\n", &cfg, NULL, &err), SG_EPARSE);
    assert_true(strncmp(err.msg, "etc/sg.yaml:2:1: ", 17) == 0);
    /* the root must be a mapping */
    assert_int_equal(parse("- a\n", &cfg, NULL, &err), SG_EINVAL);
    assert_string_equal(err.msg, "etc/sg.yaml:1:1: expected a mapping, got a sequence");
    /* a quoted bool is a string */
    assert_int_equal(parse("dry_run: 'true'\n", &cfg, NULL, &err), SG_EINVAL);
    assert_string_equal(err.msg, "etc/sg.yaml:1:10: dry_run: expected a boolean, got a quoted string");
}

static void warnings_do_not_fail(void **state)
{
    struct sg_config *cfg = NULL;
    struct sg_config_report r;
    struct sg_err err;

    (void)state;
    sg_config_report_init(&r);
    assert_int_equal(parse("remote_read: {url: 'http://p/api/v1/read', tls_config: "
                           "{insecure_skip_verify: yes}}\n"
                           "releases:\n"
                           "  - name: a\n"
                           "    namespace: n\n"
                           "    routes:\n"
                           "      - do: rollback\n"
                           "      - {match: {stop: pause}, do: pause}\n",
                           &cfg, &r, &err),
                     SG_OK);
    assert_int_equal(r.errors, 0);
    assert_int_equal(r.warnings, 3);
    assert_string_equal(r.v[0].msg, "etc/sg.yaml:1:79: warning: remote_read.tls_config: "
                                    "insecure_skip_verify: TLS certificates are not verified");
    assert_int_equal(r.v[0].severity, SG_CONFIG_WARNING);
    assert_true(strstr(r.v[1].msg, "rollbacks run without schema proof") != NULL);
    assert_string_equal(r.v[2].msg, "etc/sg.yaml:7:9: warning: releases[0]: routes[1] is never "
                                    "used: routes[0] matches every alert");
    assert_true(cfg->remote_read.tls.insecure_skip_verify);
    sg_config_free(cfg);
    sg_config_report_cleanup(&r);
}

static void sizes(void **state)
{
    static const struct {
        const char *in;
        uint64_t want;
        bool ok;
    } rows[] = {
        {"0", 0, true},           {"1024", 1024, true},        {"1B", 1, true},
        {"1KB", 1024, true},      {"1KiB", 1024, true},        {"512MiB", 512ull << 20, true},
        {"1GiB", 1ull << 30, true}, {"2GB", 2ull << 30, true}, {"1TiB", 1ull << 40, true},
        {"", 0, false},           {"GiB", 0, false},           {"1.5GiB", 0, false},
        {"1 GiB", 0, false},      {"1gib", 0, false},          {"-1", 0, false},
        {"99999999999999999999", 0, false}, {"17179869184GiB", 0, false},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        uint64_t v = 0;
        int rc = sg_config_parse_size(sg_str_c(rows[i].in), &v, NULL);
        if ((rc == SG_OK) != rows[i].ok)
            fail_msg("size \"%s\": rc %d", rows[i].in, rc);
        if (rows[i].ok && v != rows[i].want)
            fail_msg("size \"%s\": got %llu", rows[i].in, (unsigned long long)v);
    }
}

static void trip_after(void **state)
{
    static const struct {
        const char *in;
        uint32_t m, n;
        bool ok;
    } rows[] = {
        {"3 of 5", 3, 5, true},   {"1 of 1", 1, 1, true},     {"100 of 100", 100, 100, true},
        {" 2  of  4 ", 2, 4, true}, {"0 of 5", 0, 0, false},  {"6 of 5", 0, 0, false},
        {"3 of 101", 0, 0, false}, {"3of5", 0, 0, false},     {"3 out of 5", 0, 0, false},
        {"3 of", 0, 0, false},    {"of 5", 0, 0, false},      {"", 0, 0, false},
        {"3 of 5x", 0, 0, false}, {"99999999999 of 5", 0, 0, false},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        uint32_t m = 0, n = 0;
        int rc = sg_config_parse_trip_after(sg_str_c(rows[i].in), &m, &n, NULL);
        if ((rc == SG_OK) != rows[i].ok)
            fail_msg("trip_after \"%s\": rc %d", rows[i].in, rc);
        if (rows[i].ok && (m != rows[i].m || n != rows[i].n))
            fail_msg("trip_after \"%s\": got %u of %u", rows[i].in, m, n);
    }
}

static void loopback(void **state)
{
    static const struct {
        const char *in;
        bool want;
    } rows[] = {
        {"127.0.0.1:9097", true}, {"127.1.2.3:80", true},   {"localhost:9097", true},
        {"[::1]:9097", true},     {":9097", false},         {"0.0.0.0:9097", false},
        {"[::]:9097", false},     {"10.0.0.1:9097", false}, {"127.0.0.1.evil:80", false},
        {"127.evil:80", false},   {"example.com:80", false}, {"", false},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        if (sg_config_listen_is_loopback(rows[i].in) != rows[i].want)
            fail_msg("listen \"%s\"", rows[i].in);
    }
    assert_false(sg_config_listen_is_loopback(NULL));
}

static void names(void **state)
{
    (void)state;
    assert_string_equal(sg_action_kind_name(SG_ACTION_ROLLBACK), "rollback");
    assert_string_equal(sg_notifier_type_name(SG_NOTIFIER_GOOGLECHAT), "googlechat");
    sg_config_free(NULL);
    sg_config_report_cleanup(NULL);
}

/* Every allocation failure ends in SG_ENOMEM and frees what it took. */
static void out_of_memory_sweep(void **state)
{
    (void)state;
    for (uint64_t n = 1; n < 400; n++) {
        struct sg_config *cfg = NULL;
        struct sg_config_report r;
        struct sg_err err;
        int rc;

        sg_config_report_init(&r);
        sg_err_clear(&err);
        sg_alloc_fail_at(n);
        rc = sg_config_load_file_ex(DATA "/good/spec-example.yaml", 0, &cfg, &r, &err);
        sg_alloc_fail_at(0);
        if (rc == SG_OK) {
            assert_true(n > 3); /* the sweep did go through the loader */
            sg_config_free(cfg);
            sg_config_report_cleanup(&r);
            break;
        }
        assert_true(n < 399);
        assert_int_equal(rc, SG_ENOMEM);
        assert_null(cfg);
        sg_config_report_cleanup(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_configs_report_every_problem),
        cmocka_unit_test(good_configs_load),
        cmocka_unit_test(spec_example_loads_with_its_values),
        cmocka_unit_test(defaults_and_default_routes),
        cmocka_unit_test(release_override_merges),
        cmocka_unit_test(paths_resolve_against_the_config_dir),
        cmocka_unit_test(first_error_has_position),
        cmocka_unit_test(warnings_do_not_fail),
        cmocka_unit_test(sizes),
        cmocka_unit_test(trip_after),
        cmocka_unit_test(loopback),
        cmocka_unit_test(names),
        cmocka_unit_test(out_of_memory_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
