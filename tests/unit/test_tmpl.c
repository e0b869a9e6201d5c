/* tests/unit/test_tmpl.c - Go templates: parsing, rendering, Go's fmt.
 *
 * The bulk of the cases are oracle files produced with promtool 2.42:
 *   tests/data/rules/tmpl/parse.jsonl   {"t": template, "err": promtool's message or ""}
 *   tests/data/rules/tmpl/render.jsonl  {"t": template, "v": $value, "want": annotation}
 * rendered for an alert over the series m{instance="h:9090", job="j"} with
 * external labels {cluster="c1"} and external URL http://ext.example/prom,
 * the way promtool test rules expands them. Each case names itself on
 * failure.
 */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/num.h"
#include "stopgate/tmpl.h"

static struct sg_label lab[3] = {
    {{"__name__", 8}, {"m", 1}}, {{"instance", 8}, {"h:9090", 6}}, {{"job", 3}, {"j", 1}}};
static struct sg_labels labels = {lab, 3};
static struct sg_label elab[1] = {{{"cluster", 7}, {"c1", 2}}};
static struct sg_labels elabels = {elab, 1};

static void run_jsonl(const char *path, void (*fn)(json_t *row, size_t line, int *failures))
{
    FILE *f = fopen(path, "r");
    char buf[1 << 16];
    size_t line = 0;
    int failures = 0;

    assert_non_null(f);
    while (fgets(buf, sizeof(buf), f)) {
        json_error_t je;
        json_t *row = json_loads(buf, 0, &je);
        line++;
        assert_non_null(row);
        fn(row, line, &failures);
        json_decref(row);
    }
    fclose(f);
    assert_true(line > 0);
    assert_int_equal(failures, 0);
}

static void parse_row(json_t *row, size_t line, int *failures)
{
    const char *t = json_string_value(json_object_get(row, "t"));
    const char *want = json_string_value(json_object_get(row, "err"));
    struct sg_arena a;
    struct sg_err err;
    struct sg_tmpl *tp = NULL;
    int rc;

    sg_arena_init(&a, 1 << 24);
    sg_err_clear(&err);
    rc = sg_tmpl_parse_alert(sg_str_c(t), sg_str_c("A"), &a, &tp, &err);
    if ((rc == SG_OK) != (want[0] == 0) || (rc != SG_OK && strcmp(err.msg, want) != 0)) {
        fprintf(stderr, "parse.jsonl:%zu: %s\n  want: %s\n  got:  %s\n", line, t, want,
                rc == SG_OK ? "(ok)" : err.msg);
        (*failures)++;
    }
    sg_arena_cleanup(&a);
}

static void parse_errors_match_promtool(void **state)
{
    (void)state;
    run_jsonl("tests/data/rules/tmpl/parse.jsonl", parse_row);
}

static void render_row(json_t *row, size_t line, int *failures)
{
    const char *t = json_string_value(json_object_get(row, "t"));
    const char *v = json_string_value(json_object_get(row, "v"));
    const char *want = json_string_value(json_object_get(row, "want"));
    struct sg_tmpl_data d = {&labels, &elabels, {"http://ext.example/prom", 23}, 0};
    struct sg_arena a;
    struct sg_buf out;
    struct sg_err err;

    assert_int_equal(sg_num_parse(sg_str_c(v), &d.value), SG_OK);
    sg_arena_init(&a, 1 << 24);
    sg_buf_init(&out, 1 << 20);
    sg_err_clear(&err);
    assert_int_equal(sg_tmpl_expand_alert(sg_str_c(t), sg_str_c("A"), &d, &a, &out, &err), SG_OK);
    if (strcmp(sg_buf_cstr(&out), want) != 0) {
        fprintf(stderr, "render.jsonl:%zu: %s (value %s)\n  want: %s\n  got:  %s\n", line, t, v,
                want, sg_buf_cstr(&out));
        (*failures)++;
    }
    sg_buf_cleanup(&out);
    sg_arena_cleanup(&a);
}

static void renders_match_promtool(void **state)
{
    (void)state;
    run_jsonl("tests/data/rules/tmpl/render.jsonl", render_row);
}

static void float_formatting(void **state)
{
    static const struct {
        double v;
        char verb;
        int prec;
        const char *want;
    } rows[] = {
        {2000000, 'v', -1, "2e+06"},      {200000, 'v', -1, "200000"},
        {1234567.8, 'v', -1, "1.2345678e+06"}, {0.0001, 'v', -1, "0.0001"},
        {0.00001, 'v', -1, "1e-05"},      {1234567, 'g', 4, "1.235e+06"},
        {1.5, 'g', 4, "1.5"},             {100, 'g', 2, "1e+02"},
        {1000, 'g', 4, "1000"},           {0, 'g', 4, "0"},
        {-0.0, 'v', -1, "-0"},            {1, 'e', 3, "1.000e+00"},
        {1e100, 'e', -1, "1e+100"},       {3.14159, 'f', 2, "3.14"},
        {1, 'x', -1, "0x1p+00"},          {0.1, 'f', -1, "0.1"},
    };
    struct sg_buf b;

    (void)state;
    sg_buf_init(&b, 1024);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sg_buf_reset(&b);
        assert_int_equal(sg_tmpl_format_float(rows[i].v, rows[i].verb, rows[i].prec, &b), SG_OK);
        if (strcmp(sg_buf_cstr(&b), rows[i].want) != 0)
            fail_msg("row %zu: %%%c/%d of %g: want %s got %s", i, rows[i].verb, rows[i].prec,
                     rows[i].v, rows[i].want, sg_buf_cstr(&b));
    }
    sg_buf_cleanup(&b);
}

static void humanize_functions(void **state)
{
    struct sg_buf b;

    (void)state;
    sg_buf_init(&b, 1024);
    assert_int_equal(sg_tmpl_humanize(1234567, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "1.235M");
    sg_buf_reset(&b);
    assert_int_equal(sg_tmpl_humanize(0.12, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "120m");
    sg_buf_reset(&b);
    assert_int_equal(sg_tmpl_humanize1024(1048576, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "1Mi");
    sg_buf_reset(&b);
    assert_int_equal(sg_tmpl_humanize_duration(93784, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "1d 2h 3m 4s");
    sg_buf_reset(&b);
    assert_int_equal(sg_tmpl_humanize_duration(0.1234, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "123.4ms");
    sg_buf_reset(&b);
    assert_int_equal(sg_tmpl_humanize_percentage(0.5, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "50%");
    sg_buf_cleanup(&b);
}

static void unsupported_constructs_are_found(void **state)
{
    static const struct {
        const char *t;
        const char *what; /* NULL: all supported */
    } rows[] = {
        {"{{ $value | humanize }}", NULL},
        {"{{ range $labels }}{{ . }}{{ end }}", "{{range}}"},
        {"{{ query \"up\" | first | value }}", "function \"query\""},
        {"{{ template \"x\" }}", "{{template}}"},
        {"{{ if 1 }}{{ else }}{{ externalURL }}{{ end }}", "function \"externalURL\""},
        {"{{ 1+2i }}", "complex number"},
        {"{{ define \"x\" }}{{ end }}{{ .Value }}", NULL},
    };
    struct sg_arena a;
    struct sg_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sg_tmpl *t = NULL;
        char what[96];
        uint32_t off = 0;
        bool found;
        sg_arena_init(&a, 1 << 20);
        assert_int_equal(sg_tmpl_parse_alert(sg_str_c(rows[i].t), sg_str_c("A"), &a, &t, &err),
                         SG_OK);
        found = sg_tmpl_find_unsupported(t, what, sizeof(what), &off);
        if (found != (rows[i].what != NULL) || (found && strcmp(what, rows[i].what) != 0))
            fail_msg("row %zu %s: want %s got %s", i, rows[i].t,
                     rows[i].what ? rows[i].what : "(none)", found ? what : "(none)");
        sg_arena_cleanup(&a);
    }
}

static void unsupported_renders_as_error(void **state)
{
    struct sg_tmpl_data d = {&labels, &elabels, {"", 0}, 1};
    struct sg_arena a;
    struct sg_buf out;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    sg_buf_init(&out, 4096);
    assert_int_equal(sg_tmpl_expand_alert(sg_str_c("x{{ range $labels }}{{ . }}{{ end }}"),
                                          sg_str_c("A"), &d, &a, &out, &err),
                     SG_OK);
    assert_string_equal(sg_buf_cstr(&out),
                        "<error expanding template: error executing template __alert_A: "
                        "template: __alert_A:1:122: executing \"__alert_A\" at "
                        "<{{range $labels}}{{.}}{{end}}>: {{range}} not supported by stopgate>");
    sg_buf_cleanup(&out);
    sg_arena_cleanup(&a);
}

static void parse_error_offsets_are_relative_to_the_text(void **state)
{
    struct sg_arena a;
    struct sg_err err;
    struct sg_tmpl *t;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    sg_err_clear(&err);
    assert_int_equal(
        sg_tmpl_parse_alert(sg_str_c("ab {{ nope }}"), sg_str_c("A"), &a, &t, &err), SG_EPARSE);
    assert_string_equal(err.msg, "template: __alert_A:1: function \"nope\" not defined");
    assert_int_equal(err.off, 6);
    sg_arena_cleanup(&a);
}

static void limits(void **state)
{
    struct sg_tmpl_limits lim = {.max_len = 16, .max_depth = 4, .max_output = 8};
    struct sg_tmpl_data d = {&labels, &elabels, {"", 0}, 1};
    struct sg_arena a;
    struct sg_err err;
    struct sg_tmpl *t;
    struct sg_buf out;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    sg_err_clear(&err);
    assert_int_equal(sg_tmpl_parse(sg_str_c("01234567890123456789"), "t", &a, &lim, &t, &err),
                     SG_ELIMIT);
    sg_err_clear(&err);
    assert_int_equal(sg_tmpl_parse(sg_str_c("{{((((1))))}}"), "t", &a, &lim, &t, &err),
                     SG_ELIMIT);
    sg_err_clear(&err);
    assert_int_equal(sg_tmpl_parse(sg_str_c("0123456789abc"), "t", &a, &lim, &t, &err), SG_OK);
    sg_buf_init(&out, 1024);
    assert_int_equal(sg_tmpl_exec(t, &d, &out, &err), SG_ELIMIT);
    sg_buf_cleanup(&out);
    sg_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_errors_match_promtool),
        cmocka_unit_test(renders_match_promtool),
        cmocka_unit_test(float_formatting),
        cmocka_unit_test(humanize_functions),
        cmocka_unit_test(unsupported_constructs_are_found),
        cmocka_unit_test(unsupported_renders_as_error),
        cmocka_unit_test(parse_error_offsets_are_relative_to_the_text),
        cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
