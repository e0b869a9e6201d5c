/* tests/unit/test_unittest.c - promtool 2.42's test-file format: YAML scalar
 * resolution, strict decoding and its messages, and the expanding notation
 * of series values. Expected values were taken from the real promtool 2.42
 * (see tests/data/unittest/README.md for how). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/store.h"
#include "stopgate/unittest.h"

/* ---- helpers ------------------------------------------------------------------------- */

static int parse_file(const char *text, struct sg_arena *a, struct sg_ut_file **f,
                      struct sg_buf *msg, struct sg_err *err)
{
    sg_err_clear(err);
    sg_buf_reset(msg);
    return sg_ut_file_parse(sg_str_c(text), "t.yml", a, NULL, f, msg, err);
}

/* The file of one expression test whose exp_samples value is `v`. */
static int parse_value(const char *v, double *out, struct sg_buf *msg)
{
    char text[512];
    struct sg_arena a;
    struct sg_ut_file *f = NULL;
    struct sg_err err;
    int rc;

    snprintf(text, sizeof(text),
             "tests:\n"
             "  - promql_expr_test:\n"
             "      - expr: vector(0)\n"
             "        eval_time: 0\n"
             "        exp_samples:\n"
             "          - labels: '{}'\n"
             "            value: %s\n",
             v);
    sg_arena_init(&a, 1 << 20);
    rc = parse_file(text, &a, &f, msg, &err);
    if (rc == SG_OK) {
        assert_int_equal(f->ntests, 1);
        assert_int_equal(f->tests[0].nexprs, 1);
        *out = f->tests[0].exprs[0].nexp ? f->tests[0].exprs[0].exp[0].value : 0;
    }
    sg_arena_cleanup(&a);
    return rc;
}

static int parse_eval_time(const char *v, int64_t *out, struct sg_buf *msg)
{
    char text[512];
    struct sg_arena a;
    struct sg_ut_file *f = NULL;
    struct sg_err err;
    int rc;

    snprintf(text, sizeof(text),
             "tests:\n"
             "  - promql_expr_test:\n"
             "      - expr: time()\n"
             "        eval_time: %s\n",
             v);
    sg_arena_init(&a, 1 << 20);
    rc = parse_file(text, &a, &f, msg, &err);
    if (rc == SG_OK)
        *out = f->tests[0].exprs[0].eval_time_ms;
    sg_arena_cleanup(&a);
    return rc;
}

/* ---- YAML scalars ------------------------------------------------------------------------ */

/* `value:` as promtool 2.42 resolves it (each row checked against promtool). */
static void float_values_resolve_as_yaml_v2(void **state)
{
    static const struct {
        const char *yaml;
        double want;
    } ok[] = {
        {"1", 1},
        {"1e3", 1000},
        {"1E3", 1000},
        {"0x10", 16},
        {"010", 8},
        {"08", 8},
        {"1_000", 1000},
        {"+1", 1},
        {"0b101", 5},
        {"-0b101", -5},
        {"0o17", 15},
        {".5", 0.5},
        {"+.5", 0.5},
        {"1.", 1},
        {"99999999999999999999", 1e20},
        {"18446744073709551615", 18446744073709551615.0},
        {"-9223372036854775809", -9223372036854775808.0},
        {"!!float 1", 1},
        {"~", 0},
        {"null", 0},
        {"", 0},
        {".inf", INFINITY},
        {"-.inf", -INFINITY},
        {"+.inf", INFINITY},
    };
    static const struct {
        const char *yaml;
        const char *msg;
    } bad[] = {
        {".Nan",
         "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!str `.Nan` into float64"},
        {"\"1\"", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!str `1` into float64"},
        {"'1'", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!str `1` into float64"},
        {"inf", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!str `inf` into float64"},
        {"true",
         "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!bool `true` into float64"},
        {"yes",
         "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!bool `yes` into float64"},
        {"2001-01-01", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!timestamp "
                       "`2001-01-01` into float64"},
        {"1e400", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!str `1e400` into "
                  "float64"},
        {"!!str 1", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!str `1` into "
                    "float64"},
        {"!!int 1.5", "t.yml:7:20: yaml: cannot decode !!float `1.5` as a !!int"},
        {"[1]", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!seq into float64"},
        {"{a: 1}", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!map into float64"},
        {"0x1p3", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!str `0x1p3` into "
                  "float64"},
        {"abcdefghijkl", "yaml: unmarshal errors:\n  t.yml:7:20: cannot unmarshal !!str "
                         "`abcdefg...` into float64"},
    };
    struct sg_buf msg;
    double v;

    (void)state;
    sg_buf_init(&msg, 1 << 16);
    for (size_t i = 0; i < SG_ARRAY_LEN(ok); i++) {
        v = -42;
        if (parse_value(ok[i].yaml, &v, &msg) != SG_OK)
            fail_msg("value %s: %s", ok[i].yaml, sg_buf_cstr(&msg));
        if (!(v == ok[i].want))
            fail_msg("value %s: got %.17g want %.17g", ok[i].yaml, v, ok[i].want);
    }
    assert_int_equal(parse_value(".nan", &v, &msg), SG_OK);
    assert_true(isnan(v));
    for (size_t i = 0; i < SG_ARRAY_LEN(bad); i++) {
        if (parse_value(bad[i].yaml, &v, &msg) == SG_OK)
            fail_msg("value %s: accepted", bad[i].yaml);
        if (strcmp(sg_buf_cstr(&msg), bad[i].msg) != 0)
            fail_msg("value %s:\n got  %s\n want %s", bad[i].yaml, sg_buf_cstr(&msg), bad[i].msg);
    }
    sg_buf_cleanup(&msg);
}

/* eval_time: model.Duration's UnmarshalYAML (rows checked against promtool). */
static void durations_decode_as_model_duration(void **state)
{
    static const struct {
        const char *yaml;
        int64_t ms;
    } ok[] = {
        {"0", 0},         {"1m", 60000},    {"\"1m\"", 60000}, {"~", 0},
        {"null", 0},      {"0s", 0},        {"1m30s", 90000},  {"90s", 90000},
        {"1ms", 1},       {"1d", 86400000}, {"1w", 604800000}, {"1y", 31536000000},
        {"\"0\"", 0},     {"01m", 60000},   {"!!null", 0},     {"!!str 1m", 60000},
        {"&a 1m", 60000}, {"", 0},
    };
    static const struct {
        const char *yaml;
        const char *msg;
    } bad[] = {
        {"1", "t.yml:4:20: not a valid duration string: \"1\""},
        {"\"null\"", "t.yml:4:20: not a valid duration string: \"null\""},
        {"\"~\"", "t.yml:4:20: not a valid duration string: \"~\""},
        {"\"\"", "t.yml:4:20: empty duration string"},
        {"''", "t.yml:4:20: empty duration string"},
        {"Null", "t.yml:4:20: empty duration string"},
        {"NULL", "t.yml:4:20: empty duration string"},
        {"1.5m", "t.yml:4:20: not a valid duration string: \"1.5m\""},
        {"-1m", "t.yml:4:20: not a valid duration string: \"-1m\""},
        {"1h1h", "t.yml:4:20: not a valid duration string: \"1h1h\""},
        {"300y", "t.yml:4:20: duration out of range"},
        {"1s1m", "t.yml:4:20: not a valid duration string: \"1s1m\""},
        {"true", "t.yml:4:20: not a valid duration string: \"true\""},
        {"00", "t.yml:4:20: not a valid duration string: \"00\""},
        {"1M", "t.yml:4:20: not a valid duration string: \"1M\""},
        {"!!null 1m", "t.yml:4:20: yaml: cannot decode !!str `1m` as a !!null"},
        {"[1m]", "yaml: unmarshal errors:\n  t.yml:4:20: cannot unmarshal !!seq into string"},
    };
    struct sg_buf msg;
    int64_t ms;

    (void)state;
    sg_buf_init(&msg, 1 << 16);
    for (size_t i = 0; i < SG_ARRAY_LEN(ok); i++) {
        ms = -42;
        if (parse_eval_time(ok[i].yaml, &ms, &msg) != SG_OK)
            fail_msg("eval_time %s: %s", ok[i].yaml, sg_buf_cstr(&msg));
        if (ms != ok[i].ms)
            fail_msg("eval_time %s: got %lld want %lld", ok[i].yaml, (long long)ms,
                     (long long)ok[i].ms);
    }
    for (size_t i = 0; i < SG_ARRAY_LEN(bad); i++) {
        if (parse_eval_time(bad[i].yaml, &ms, &msg) == SG_OK)
            fail_msg("eval_time %s: accepted", bad[i].yaml);
        if (strcmp(sg_buf_cstr(&msg), bad[i].msg) != 0)
            fail_msg("eval_time %s:\n got  %s\n want %s", bad[i].yaml, sg_buf_cstr(&msg),
                     bad[i].msg);
    }
    sg_buf_cleanup(&msg);
}

static void unknown_keys_and_type_errors_are_collected(void **state)
{
    struct sg_arena a;
    struct sg_ut_file *f = NULL;
    struct sg_buf msg;
    struct sg_err err;
    const char *text = "tests:\n"
                       "  - interval: 1m\n"
                       "    input_series:\n"
                       "      - series: 'up{job=\"a\"}'\n"
                       "        values: '1 2 3'\n"
                       "    foo: 1\n"
                       "    promql_expr_test:\n"
                       "      - expr: up\n"
                       "        eval_time: 1m\n"
                       "        exp_samples:\n"
                       "          - labels: 'up{job=\"a\"}'\n"
                       "            value: 2\n"
                       "          - labels: {}\n"
                       "            value: 1\n";

    (void)state;
    sg_arena_init(&a, 1 << 20);
    sg_buf_init(&msg, 1 << 16);
    assert_int_equal(parse_file(text, &a, &f, &msg, &err), SG_EPARSE);
    assert_string_equal(sg_buf_cstr(&msg),
                        "yaml: unmarshal errors:\n"
                        "  t.yml:6:5: field foo not found in type main.testGroup\n"
                        "  t.yml:13:21: cannot unmarshal !!map into string");
    assert_int_equal(err.line, 6);
    assert_int_equal(err.col, 5);
    assert_int_equal(parse_file("tests: 5\n", &a, &f, &msg, &err), SG_EPARSE);
    assert_string_equal(sg_buf_cstr(&msg), "yaml: unmarshal errors:\n"
                                           "  t.yml:1:8: cannot unmarshal !!int `5` into "
                                           "[]main.testGroup");
    assert_int_equal(parse_file("tests:\n  - ~\n  - 5\n  - [1]\n", &a, &f, &msg, &err), SG_EPARSE);
    assert_string_equal(sg_buf_cstr(&msg),
                        "yaml: unmarshal errors:\n"
                        "  t.yml:3:5: cannot unmarshal !!int `5` into main.testGroup\n"
                        "  t.yml:4:5: cannot unmarshal !!seq into main.testGroup");
    assert_int_equal(parse_file("~: 1\n", &a, &f, &msg, &err), SG_EPARSE);
    assert_string_equal(sg_buf_cstr(&msg), "yaml: unmarshal errors:\n"
                                           "  t.yml:1:1: field  not found in type "
                                           "main.unitTestFile");
    sg_buf_cleanup(&msg);
    sg_arena_cleanup(&a);
}

/* The fields of the test group "one" after its interval, and a second
 * document that is never read. */
#define ONE_TEST_REST                                                                              \
    "    external_labels: {z: '1', a: 2}\n"                                                        \
    "    external_url: http://x\n"                                                                 \
    "    input_series:\n"                                                                          \
    "      - series: up\n"                                                                         \
    "        values: 1 2\n"                                                                        \
    "    alert_rule_test:\n"                                                                       \
    "      - eval_time: 5m\n"                                                                      \
    "        alertname: A\n"                                                                       \
    "        exp_alerts:\n"                                                                        \
    "          - exp_labels: {b: x, a: y}\n"                                                       \
    "            exp_annotations: {s: t}\n"                                                        \
    "          - {}\n"                                                                             \
    "    promql_expr_test:\n"                                                                      \
    "      - expr: up\n"                                                                           \
    "        eval_time: 1m\n"                                                                      \
    "---\n"                                                                                        \
    "ignored: [\n"

static void whole_file_decodes(void **state)
{
    struct sg_arena a;
    struct sg_ut_file *f = NULL;
    struct sg_buf msg;
    struct sg_err err;
    const char *text = "rule_files: [a.yml, 'b/*.yml']\n"
                       "evaluation_interval: 30s\n"
                       "group_eval_order: [g1, g2]\n"
                       "base: &base\n"
                       "  interval: 1m\n"
                       "tests:\n"
                       "  - name: one\n"
                       "    <<: *base\n" ONE_TEST_REST;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    sg_buf_init(&msg, 1 << 16);
    /* "base" is not a key of the file: strict decoding refuses it */
    assert_int_equal(parse_file(text, &a, &f, &msg, &err), SG_EPARSE);
    assert_string_equal(sg_buf_cstr(&msg), "yaml: unmarshal errors:\n"
                                           "  t.yml:4:1: field base not found in type "
                                           "main.unitTestFile");
    /* a merge key brings in the anchored mapping */
    text = "rule_files: [a.yml, 'b/*.yml']\n"
           "evaluation_interval: 30s\n"
           "group_eval_order: [g1, g2]\n"
           "tests:\n"
           "  - name: one\n"
           "    <<: &base {interval: 1m}\n" ONE_TEST_REST;
    if (parse_file(text, &a, &f, &msg, &err) != SG_OK)
        fail_msg("%s", sg_buf_cstr(&msg));
    assert_int_equal(f->nrule_files, 2);
    assert_true(sg_str_eq_c(f->rule_files[1], "b/*.yml"));
    assert_int_equal(f->eval_interval_ms, 30000);
    assert_int_equal(f->norder, 2);
    assert_int_equal(f->ntests, 1);
    assert_true(sg_str_eq_c(f->tests[0].name, "one"));
    assert_int_equal(f->tests[0].interval_ms, 60000);
    assert_int_equal(f->tests[0].external_labels.count, 2);
    assert_true(sg_str_eq_c(f->tests[0].external_labels.v[0].name, "a"));
    assert_true(sg_str_eq_c(f->tests[0].external_labels.v[0].value, "2"));
    assert_true(sg_str_eq_c(f->tests[0].external_url, "http://x"));
    assert_int_equal(f->tests[0].nseries, 1);
    assert_true(sg_str_eq_c(f->tests[0].series[0].values, "1 2"));
    assert_int_equal(f->tests[0].nalerts, 1);
    assert_int_equal(f->tests[0].alerts[0].eval_time_ms, 300000);
    assert_int_equal(f->tests[0].alerts[0].nexp, 2);
    assert_true(sg_str_eq_c(f->tests[0].alerts[0].exp[0].labels.v[0].name, "a"));
    assert_int_equal(f->tests[0].alerts[0].exp[0].annotations.count, 1);
    assert_int_equal(f->tests[0].alerts[0].exp[1].labels.count, 0);
    assert_int_equal(f->tests[0].nexprs, 1);
    /* an empty file, and a null document, are an empty test file */
    assert_int_equal(parse_file("", &a, &f, &msg, &err), SG_OK);
    assert_int_equal(f->ntests, 0);
    assert_int_equal(parse_file("~\n", &a, &f, &msg, &err), SG_OK);
    /* YAML syntax errors name the place */
    assert_int_equal(parse_file("tests: [\n", &a, &f, &msg, &err), SG_EPARSE);
    assert_int_equal(err.line, 2);
    sg_buf_cleanup(&msg);
    sg_arena_cleanup(&a);
}

static void repeated_keys_are_errors(void **state)
{
    struct sg_arena a;
    struct sg_ut_file *f = NULL;
    struct sg_buf msg;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    sg_buf_init(&msg, 1 << 16);
    assert_int_equal(parse_file("tests: []\ntests: []\n", &a, &f, &msg, &err), SG_EPARSE);
    assert_int_equal(err.line, 2);
    /* a key repeated through a merge is an error in a map, not in a struct */
    assert_int_equal(parse_file("tests:\n"
                                "  - alert_rule_test:\n"
                                "      - alertname: A\n"
                                "        exp_alerts:\n"
                                "          - exp_labels: {<<: {a: 1}, a: 2}\n",
                                &a, &f, &msg, &err),
                     SG_EPARSE);
    assert_string_equal(sg_buf_cstr(&msg), "yaml: unmarshal errors:\n"
                                           "  t.yml:5:41: key \"a\" already set in map");
    assert_int_equal(parse_file("tests:\n  - <<: {name: x}\n    name: y\n", &a, &f, &msg, &err),
                     SG_OK);
    assert_true(sg_str_eq_c(f->tests[0].name, "y"));
    sg_buf_cleanup(&msg);
    sg_arena_cleanup(&a);
}

/* A rejected line: promtool's message, at promtool's column. */
static void expect_rejected(const char *line, int rc, const struct sg_err *err, const char *msg,
                            uint32_t col)
{
    if (rc == SG_OK)
        fail_msg("%s: accepted", line);
    if (strcmp(err->msg, msg) != 0)
        fail_msg("%s:\n got  %s\n want %s", line, err->msg, msg);
    if (err->off + 1 != col)
        fail_msg("%s: column %u, want %u", line, err->off + 1, col);
}

/* ---- series values ------------------------------------------------------------------------ */

static int values(const char *line, struct sg_arena *a, struct sg_ut_value **v, size_t *n,
                  struct sg_err *err)
{
    sg_err_clear(err);
    /* the metric is "m" */
    return sg_ut_values_parse(sg_str_c(line), 1, a, 1000, v, n, err);
}

static void expanding_notation(void **state)
{
    static const struct {
        const char *line;
        const char *want; /* values separated by spaces: numbers, _ or S (stale) */
    } rows[] = {
        {"m 1 2", "1 2"},
        {"m 0x10", "0 0 0 0 0 0 0 0 0 0 0"},
        {"m 010", "8"},
        {"m 08", "8"},
        {"m Inf -Inf", "inf -inf"},
        {"m nan", "nan"},
        {"m INF", "inf"},
        {"m stale", "S"},
        {"m 1e3x1", "1000 1000"},
        {"m 1.x1", "1 1"},
        {"m .5", "0.5"},
        {"m +1x2", "1 1 1"},
        {"m -1-1x2", "-1 -2 -3"},
        {"m _x0 1", "1"},
        {"m _ _x2 1", "_ _ _ 1"},
        {"m 1 2 ", "1 2"},
        {"m", ""},
        {"m 99999999999999999999", "1e+20"},
        {"m 1+0.1x3", "1 1.1 1.2000000000000002 1.3000000000000003"},
        {"m 0.1+0.1x9", "0.1 0.2 0.30000000000000004 0.4 0.5 0.6 0.7 0.7999999999999999 "
                        "0.8999999999999999 0.9999999999999999"},
        {"m -2+4x3", "-2 2 6 10"},
        {"m 1-2x4", "1 -1 -3 -5 -7"},
        {"m 1x4", "1 1 1 1 1"},
        {"m 1 _x3 stale", "1 _ _ _ S"},
        {"m 1  2", "1 2"},
        {"m 1e-400", "0"},
    };
    struct sg_arena a;
    struct sg_ut_value *v;
    struct sg_err err;
    size_t n;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        char got[1024];
        size_t o = 0;
        if (values(rows[i].line, &a, &v, &n, &err) != SG_OK)
            fail_msg("%s: %s", rows[i].line, err.msg);
        got[0] = '\0';
        for (size_t j = 0; j < n; j++) {
            const char *sep = j ? " " : "";
            if (v[j].omitted)
                o += (size_t)snprintf(got + o, sizeof(got) - o, "%s_", sep);
            else if (sg_is_stale(v[j].v))
                o += (size_t)snprintf(got + o, sizeof(got) - o, "%sS", sep);
            else
                o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%.17g", sep, v[j].v);
        }
        /* compare numerically through a canonical rendering of the wanted row */
        {
            char want[1024];
            size_t w = 0;
            char tmp[1024];
            char *save = NULL, *tok;
            snprintf(tmp, sizeof(tmp), "%s", rows[i].want);
            want[0] = '\0';
            for (tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                const char *sep = w ? " " : "";
                if (strcmp(tok, "_") == 0 || strcmp(tok, "S") == 0)
                    w += (size_t)snprintf(want + w, sizeof(want) - w, "%s%s", sep, tok);
                else
                    w += (size_t)snprintf(want + w, sizeof(want) - w, "%s%.17g", sep,
                                          strtod(tok, NULL));
            }
            if (strcmp(got, want) != 0)
                fail_msg("%s:\n got  %s\n want %s", rows[i].line, got, want);
        }
    }
    sg_arena_cleanup(&a);
}

static void value_errors_have_promtool_text(void **state)
{
    static const struct {
        const char *line; /* metric "m" or "up" */
        size_t off;       /* metric end */
        const char *msg;
        uint32_t col; /* promtool's column */
    } rows[] = {
        {"m 1_000", 1, "bad number syntax: \"1\"", 3},
        {"m stalex2", 1,
         "unexpected identifier \"stalex2\" in series values, expected number or "
         "\"stale\"",
         3},
        {"m 1+2", 1, "unexpected end of input in series values", 6},
        {"m 1e", 1, "error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax", 3},
        {"m 1x2.5", 1,
         "invalid repetition in series values: strconv.ParseUint: parsing \"2.5\": "
         "invalid syntax",
         5},
        {"m 1 # c", 1, "unexpected character in series sequence: '#'", 5},
        {"m 1xx", 1, "unexpected \"x\" in series values", 5},
        {"m x1", 1, "unexpected \"x\"", 3},
        {"m 1e400", 1,
         "error parsing number: strconv.ParseFloat: parsing \"1e400\": value out "
         "of range",
         3},
        {"m Infinity", 1,
         "unexpected identifier \"Infinity\" in series values, expected number "
         "or \"stale\"",
         3},
        {"m -stale", 1, "unexpected identifier \"stale\" in series values", 4},
        {"m 1 _x-1", 1, "unexpected <op:-> in series values", 7},
        {"a-b 1", 1, "unexpected <op:-> in series values", 2},
        {"up 1,2", 2, "unexpected character in series sequence: ','", 5},
        {"up -", 2, "unexpected end of input in series values", 5},
        {"up 1x", 2, "unexpected end of input in series values", 6},
        {"up x", 2, "unexpected \"x\"", 4},
        {"up 1+1x", 2, "unexpected end of input in series values", 8},
        {"up _x1.5", 2,
         "invalid repetition in series values: strconv.ParseUint: parsing \"1.5\": "
         "invalid syntax",
         6},
        {"up 1+stalex2", 2, "unexpected identifier \"stalex2\" in series values", 6},
        {"up 1 - 2", 2, "unexpected \" \" in series values", 7},
        {"up 1x2x3", 2, "unexpected \"x\"", 7},
        {"up 1xa", 2, "unexpected identifier \"a\" in series values", 6},
        {"up a", 2, "unexpected identifier \"a\" in series values, expected number or \"stale\"",
         4},
        {"up {a=\"b\"} 1", 2, "unexpected character in series sequence: '{'", 4},
        {"up{}} 1", 4, "unexpected character in series sequence: '}'", 5},
    };
    struct sg_arena a;
    struct sg_ut_value *v;
    struct sg_err err;
    size_t n;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        int rc;
        sg_err_clear(&err);
        rc = sg_ut_values_parse(sg_str_c(rows[i].line), rows[i].off, &a, 1000, &v, &n, &err);
        expect_rejected(rows[i].line, rc, &err, rows[i].msg, rows[i].col);
    }
    /* the expansion is capped */
    sg_err_clear(&err);
    assert_int_equal(sg_ut_values_parse(sg_str_c("m 1x100000000000"), 1, &a, 1000, &v, &n, &err),
                     SG_ELIMIT);
    sg_arena_cleanup(&a);
}

/* Whole series descriptions: the metric part (PromQL's ParseMetric) and
 * where 2.42 reports problems in it (rows checked against promtool). */
static void series_descriptions(void **state)
{
    static const struct {
        const char *line;
        const char *msg;
        uint32_t col;
    } bad[] = {
        {"5 1", "unexpected number \"5\" in series values", 1},
        {"1 2", "unexpected number \"1\" in series values", 1},
        {"up {a=\"b\"} 1", "unexpected character in series sequence: '{'", 4},
        {"up{a=\"b\" 1", "unexpected character inside braces: '1'", 10},
        {"up{a=b} 1", "unexpected identifier \"b\" in label set, expected string", 6},
        {"up{a=\"b\" c=\"d\"} 1",
         "unexpected identifier \"c\" in label set, expected \",\" or \"}\"", 10},
        {"up{a=~\"b\"} 1", "unexpected <op:=~> in label set, expected \"=\"", 5},
        {"a-b 1", "unexpected <op:-> in series values", 2},
        {"up{}} 1", "unexpected character in series sequence: '}'", 5},
        {"up{a=\"\\q\"} 1", "unknown escape sequence U+0071 'q'", 6},
        {"up{a=\"b\"}{c=\"d\"} 1", "unexpected character in series sequence: '{'", 10},
        {"\"up\" 1", "unexpected string \"\\\"up\\\"\" in series values", 1},
        {"up{\xc3\xa9=\"a\"} 1", "unexpected character inside braces: '\xc3\xa9'", 4},
        {"bool 1", "unexpected <bool> in series values", 1},
        {"nan 1", "unexpected number \"nan\" in series values", 1},
        {"atan2 1", "unexpected <op:atan2> in series values", 1},
        {"on 1", "unexpected <on> in series values", 1},
        {"5m 1", "unexpected duration \"5m\" in series values", 1},
        {", 1", "unexpected \",\" in series values", 1},
        {"=~ 1", "unexpected character after '=': '~'", 1},
        {"( 1", "unexpected \"(\" in series values", 1},
        {") 1", "unexpected right parenthesis ')'", 2},
        {"!x 1", "unexpected character after '!': 'x'", 1},
    };
    static const char *const good[] = {
        "up{a=\"b\",} 1", "up{__name__=\"x\"} 1", "sum 1", "a:b 1", "offset 1",
        ":x 1",           "sum{a=\"b\"} 1"};
    struct sg_arena a;
    struct sg_labels ls;
    struct sg_ut_value *v;
    struct sg_err err;
    size_t n;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    for (size_t i = 0; i < SG_ARRAY_LEN(bad); i++) {
        int rc;
        sg_err_clear(&err);
        rc = sg_ut_series_parse(sg_str_c(bad[i].line), &a, 100, &ls, &v, &n, &err);
        expect_rejected(bad[i].line, rc, &err, bad[i].msg, bad[i].col);
    }
    for (size_t i = 0; i < SG_ARRAY_LEN(good); i++) {
        sg_err_clear(&err);
        if (sg_ut_series_parse(sg_str_c(good[i]), &a, 100, &ls, &v, &n, &err) != SG_OK)
            fail_msg("%s: %s", good[i], err.msg);
        assert_int_equal(n, 1);
    }
    /* with a metric name, empty label values are dropped (labels.Builder);
     * in braces only, they stay */
    sg_err_clear(&err);
    assert_int_equal(
        sg_ut_series_parse(sg_str_c("m{b=\"\", a=\"1\"} 1 2"), &a, 100, &ls, &v, &n, &err), SG_OK);
    assert_int_equal(ls.count, 2);
    assert_true(sg_str_eq_c(ls.v[0].name, "__name__"));
    assert_true(sg_str_eq_c(ls.v[1].name, "a"));
    assert_int_equal(n, 2);
    assert_int_equal(
        sg_ut_series_parse(sg_str_c("{__name__=\"m\", b=\"\"} 1"), &a, 100, &ls, &v, &n, &err),
        SG_OK);
    assert_int_equal(ls.count, 2);
    assert_true(sg_str_eq_c(ls.v[1].name, "b"));
    sg_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(float_values_resolve_as_yaml_v2),
        cmocka_unit_test(durations_decode_as_model_duration),
        cmocka_unit_test(unknown_keys_and_type_errors_are_collected),
        cmocka_unit_test(whole_file_decodes),
        cmocka_unit_test(repeated_keys_are_errors),
        cmocka_unit_test(expanding_notation),
        cmocka_unit_test(value_errors_have_promtool_text),
        cmocka_unit_test(series_descriptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
