/* tests/unit/test_promql_parse.c - PromQL lexer, parser, checker, printer.
 *
 * The bulk of the cases are in tests/data/promql/parse.test (expression,
 * then Prometheus 2.42's canonical form or its error), run by
 * data_file_cases. The tests here cover what the text form cannot show:
 * tree shapes (precedence), selector numbering, positions on several lines,
 * the function table, compat profiles, metric and selector parsing, and
 * limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/fs.h"
#include "stopgate/promql.h"

#define S(lit) sg_str_make(lit, sizeof(lit) - 1)

struct fixture {
    struct sg_arena a;
    struct sg_err err;
    struct sg_buf out;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    sg_arena_init(&f->a, 64 << 20);
    sg_buf_init(&f->out, 1 << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sg_buf_cleanup(&f->out);
    sg_arena_cleanup(&f->a);
    free(f);
    return 0;
}

static struct sg_node *parse_ok(struct fixture *f, const char *q)
{
    struct sg_node *n = NULL;

    sg_err_clear(&f->err);
    if (sg_promql_parse(sg_str_c(q), "<t>", &f->a, NULL, &n, &f->err) != SG_OK)
        fail_msg("parse %s: %s", q, f->err.msg);
    return n;
}

static void precedence_shapes(void **state)
{
    struct fixture *f = *state;
    struct sg_node *n;

    n = parse_ok(f, "a + b * c");
    assert_int_equal(n->kind, SG_N_BINARY);
    assert_int_equal(n->u.bin.op, SG_OP_ADD);
    assert_int_equal(n->u.bin.rhs->u.bin.op, SG_OP_MUL);

    n = parse_ok(f, "a - b - c"); /* left-associative */
    assert_int_equal(n->u.bin.lhs->kind, SG_N_BINARY);
    assert_int_equal(n->u.bin.rhs->kind, SG_N_SELECTOR);

    n = parse_ok(f, "2 ^ 3 ^ 2"); /* right-associative */
    assert_int_equal(n->u.bin.lhs->kind, SG_N_NUMBER);
    assert_int_equal(n->u.bin.rhs->kind, SG_N_BINARY);

    n = parse_ok(f, "-2 ^ 2"); /* unary minus below ^ */
    assert_int_equal(n->kind, SG_N_UNARY);
    assert_int_equal(n->u.unary.op, '-');
    assert_int_equal(n->u.unary.expr->u.bin.op, SG_OP_POW);
    assert_int_equal(n->type, SG_VT_SCALAR);

    n = parse_ok(f, "-2 * 3"); /* folded literal */
    assert_int_equal(n->u.bin.lhs->kind, SG_N_NUMBER);
    assert_true(n->u.bin.lhs->u.number == -2.0);
    assert_int_equal(n->u.bin.lhs->off, 0);

    n = parse_ok(f, "a or b and c unless d > e");
    assert_int_equal(n->u.bin.op, SG_OP_OR);
    assert_int_equal(n->u.bin.rhs->u.bin.op, SG_OP_UNLESS);
    assert_int_equal(n->u.bin.rhs->u.bin.lhs->u.bin.op, SG_OP_AND);
    assert_int_equal(n->u.bin.rhs->u.bin.rhs->u.bin.op, SG_OP_GTR);
    assert_int_equal(n->u.bin.matching->card, SG_CARD_MANY_TO_MANY);

    n = parse_ok(f, "a + b offset 5m"); /* postfix binds tightest */
    assert_int_equal(n->u.bin.rhs->u.sel.offset_ms, 300000);

    n = parse_ok(f, "1 + 2"); /* no vector matching between scalars */
    assert_null(n->u.bin.matching);
    assert_int_equal(n->type, SG_VT_SCALAR);
}

static void selectors_and_modifiers(void **state)
{
    struct fixture *f = *state;
    struct sg_node *n;

    n = parse_ok(f, "rate(http_requests_total{job=~\"api|web\"}[5m] offset -1h @ 1700000000.5)");
    assert_int_equal(n->kind, SG_N_CALL);
    assert_int_equal(n->u.call.func->id, SG_FN_RATE);
    n = n->u.call.args[0];
    assert_int_equal(n->kind, SG_N_RANGE);
    assert_int_equal(n->type, SG_VT_MATRIX);
    assert_int_equal(n->u.sel.range_ms, 300000);
    assert_int_equal(n->u.sel.offset_ms, -3600000);
    assert_int_equal(n->u.sel.at, SG_AT_TIME);
    assert_int_equal(n->u.sel.at_ms, 1700000000500LL);
    assert_int_equal(n->u.sel.nmatchers, 2);
    assert_true(sg_str_eq_c(n->u.sel.name, "http_requests_total"));
    /* the name matcher comes last */
    assert_true(sg_str_eq_c(n->u.sel.matchers[1].name, "__name__"));
    assert_int_equal(n->u.sel.matchers[0].type, SG_MATCH_RE);
    assert_non_null(n->u.sel.matchers[0].re);

    n = parse_ok(f, "max_over_time(deriv(x[1h:5m] @ end())[1d:])");
    n = n->u.call.args[0];
    assert_int_equal(n->kind, SG_N_SUBQUERY);
    assert_int_equal(n->u.subq.range_ms, 86400000);
    assert_int_equal(n->u.subq.step_ms, 0);
    n = n->u.subq.expr->u.call.args[0];
    assert_int_equal(n->kind, SG_N_SUBQUERY);
    assert_int_equal(n->u.subq.step_ms, 300000);
    assert_int_equal(n->u.subq.at, SG_AT_END);

    n = parse_ok(f, "foo @ 1.0005"); /* FromFloatSeconds rounds */
    assert_int_equal(n->u.sel.at_ms, 1001);
}

static void aggregations(void **state)
{
    struct fixture *f = *state;
    struct sg_node *n;

    n = parse_ok(f, "topk by (job) (3, rate(x[5m]))");
    assert_int_equal(n->kind, SG_N_AGGR);
    assert_int_equal(n->u.aggr.op, SG_AGG_TOPK);
    assert_int_equal(n->u.aggr.param->kind, SG_N_NUMBER);
    assert_int_equal(n->u.aggr.ngrouping, 1);
    assert_true(n->u.aggr.has_grouping);
    assert_false(n->u.aggr.without);

    n = parse_ok(f, "SUM(x) WITHOUT ()");
    assert_int_equal(n->u.aggr.op, SG_AGG_SUM);
    assert_true(n->u.aggr.without);
    assert_true(n->u.aggr.has_grouping);
    assert_int_equal(n->u.aggr.ngrouping, 0);

    n = parse_ok(f, "count_values(\"v\", x)");
    assert_int_equal(n->u.aggr.param->kind, SG_N_STRING);
    assert_true(sg_str_eq_c(n->u.aggr.param->u.string, "v"));

    n = parse_ok(f, "sum"); /* a metric called sum */
    assert_int_equal(n->kind, SG_N_SELECTOR);
}

static int count_sel(const struct sg_node *sel, void *arg)
{
    uint32_t *next = arg;

    if (sel->u.sel.sel_index != *next)
        return -1;
    (*next)++;
    return 0;
}

static void selector_numbering(void **state)
{
    struct fixture *f = *state;
    struct sg_node *n;
    uint32_t next = 0;

    n = parse_ok(f, "sum by (a) (rate(a[5m])) / on (a) group_left (b) (topk(1, c) + "
                    "label_replace(d, \"x\", \"$1\", \"y\", \"(.*)\")) or vector(time())");
    assert_int_equal(sg_promql_walk_selectors(n, count_sel, &next), 0);
    assert_int_equal(next, 3);
    assert_int_equal(n->u.bin.lhs->u.bin.lhs->u.aggr.expr->u.call.args[0]->u.sel.sel_index, 0);
}

static void positions_on_lines(void **state)
{
    struct fixture *f = *state;
    struct sg_node *n = NULL;

    sg_err_clear(&f->err);
    assert_int_equal(sg_promql_parse(S("sum(\n  rate(x[5m])\n) +\n  foo{a=b}"), "rules.yaml", &f->a,
                                     NULL, &n, &f->err),
                     SG_EPARSE);
    assert_int_equal(f->err.line, 4);
    assert_int_equal(f->err.col, 9);
    assert_string_equal(f->err.msg,
                        "rules.yaml:4:9: parse error: unexpected identifier \"b\" in label "
                        "matching, expected string");

    sg_err_clear(&f->err);
    assert_int_equal(sg_promql_parse(S("# comment\nrate(x)"), NULL, &f->a, NULL, &n, &f->err),
                     SG_ETYPE);
    assert_int_equal(f->err.line, 2);
    assert_int_equal(f->err.col, 6);
}

static void function_table(void **state)
{
    const struct sg_func *fn;

    (void)state;
    fn = sg_promql_func_find(S("label_join"));
    assert_non_null(fn);
    assert_int_equal(fn->nargs, 4);
    assert_int_equal(fn->variadic, -1);
    assert_int_equal(fn->ret, SG_VT_VECTOR);
    fn = sg_promql_func_find(S("histogram_fraction"));
    assert_non_null(fn);
    assert_int_equal(fn->arg_types[2], SG_VT_VECTOR);
    assert_int_equal(fn->id, SG_FN_HISTOGRAM_FRACTION);
    assert_non_null(sg_promql_func_find(S("abs")));
    assert_non_null(sg_promql_func_find(S("year")));
    assert_null(sg_promql_func_find(S("Rate")));
    assert_null(sg_promql_func_find(S("double_exponential_smoothing")));
    assert_null(sg_promql_func_find(S("")));
    assert_int_equal(SG_FN__COUNT - 1, 70);
}

static void compat_profiles(void **state)
{
    const struct sg_promql_compat *c;

    (void)state;
    c = sg_promql_compat_default();
    assert_string_equal(c->name, "2.42");
    assert_false(c->regex_dot_all);
    c = sg_promql_compat_find("3.0");
    assert_non_null(c);
    assert_true(c->regex_dot_all);
    assert_true(c->range_left_open);
    c = sg_promql_compat_find("2.51");
    assert_non_null(c);
    assert_true(c->rate_threshold_first);
    assert_false(c->range_left_open);
    assert_null(sg_promql_compat_find("1.0"));
    assert_null(sg_promql_compat_find(NULL));
    assert_string_equal(sg_promql_compat_list(), "2.42, 2.51, 3.0");
}

static void compat_changes_regex(void **state)
{
    struct fixture *f = *state;
    struct sg_promql_parse_opts o = {.compat = sg_promql_compat_find("3.0")};
    struct sg_node *n;
    struct sg_err err;

    sg_err_clear(&err);
    assert_int_equal(sg_promql_parse(S("{a=~\"x.y\"}"), NULL, &f->a, &o, &n, &err), SG_OK);
    assert_int_equal(sg_matcher_match(&n->u.sel.matchers[0], S("x\ny"), &err), 1);
    n = parse_ok(f, "{a=~\"x.y\"}");
    assert_int_equal(sg_matcher_match(&n->u.sel.matchers[0], S("x\ny"), &err), 0);
}

static void metric_and_selector(void **state)
{
    struct fixture *f = *state;
    struct sg_labels ls;
    struct sg_matcher *ms;
    size_t n;

    sg_err_clear(&f->err);
    assert_int_equal(
        sg_promql_parse_metric(S("up{job=\"a\", instance='b'}"), NULL, &f->a, &ls, &f->err), SG_OK);
    assert_int_equal(ls.count, 3);
    assert_true(sg_str_eq_c(ls.v[0].name, "__name__"));
    assert_true(sg_str_eq_c(ls.v[1].name, "instance"));
    assert_true(sg_str_eq_c(ls.v[2].value, "a"));
    assert_int_equal(sg_promql_parse_metric(S("{}"), NULL, &f->a, &ls, &f->err), SG_OK);
    assert_int_equal(ls.count, 0);
    assert_int_equal(sg_promql_parse_metric(S("sum"), NULL, &f->a, &ls, &f->err), SG_OK);
    assert_int_equal(ls.count, 1);
    assert_int_equal(sg_promql_parse_metric(S("up{a=~\"x\"}"), NULL, &f->a, &ls, &f->err),
                     SG_EPARSE);
    assert_non_null(strstr(f->err.msg, "in label set, expected \"=\""));

    sg_err_clear(&f->err);
    assert_int_equal(
        sg_promql_parse_selector(S("up{job!~\"a.*\"}"), NULL, &f->a, NULL, &ms, &n, &f->err),
        SG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ms[0].type, SG_MATCH_NRE);
    sg_err_clear(&f->err);
    assert_int_equal(sg_promql_parse_selector(S("{a=\"\"}"), NULL, &f->a, NULL, &ms, &n, &f->err),
                     SG_ETYPE);
    sg_err_clear(&f->err);
    assert_int_equal(
        sg_promql_parse_selector(S("rate(x[5m])"), NULL, &f->a, NULL, &ms, &n, &f->err), SG_EPARSE);
}

static void limits(void **state)
{
    struct fixture *f = *state;
    struct sg_promql_limits lim = {.max_depth = 10, .max_len = 0};
    struct sg_promql_parse_opts o = {.limits = &lim};
    struct sg_node *n;
    char deep[512];
    size_t k = 0;

    for (int i = 0; i < 20; i++)
        deep[k++] = '(';
    deep[k++] = '1';
    for (int i = 0; i < 20; i++)
        deep[k++] = ')';
    sg_err_clear(&f->err);
    assert_int_equal(sg_promql_parse(sg_str_make(deep, k), NULL, &f->a, &o, &n, &f->err),
                     SG_ELIMIT);
    lim.max_len = 5;
    sg_err_clear(&f->err);
    assert_int_equal(sg_promql_parse(S("1 + 2 + 3"), NULL, &f->a, &o, &n, &f->err), SG_ELIMIT);
}

/* Long left-assoc chains are flat to parse but deep as trees. */
static void long_chains(void **state)
{
    struct fixture *f = *state;
    struct sg_buf q;
    struct sg_node *n;

    sg_buf_init(&q, 1 << 20);
    assert_int_equal(sg_buf_puts(&q, "a"), SG_OK);
    for (int i = 0; i < 900; i++)
        assert_int_equal(sg_buf_puts(&q, " + a"), SG_OK);
    n = parse_ok(f, sg_buf_cstr(&q));
    assert_non_null(n);
    sg_buf_reset(&f->out);
    assert_int_equal(sg_promql_print(n, &f->out), SG_OK);
    assert_string_equal(sg_buf_cstr(&f->out), sg_buf_cstr(&q));
    for (int i = 0; i < 200; i++)
        assert_int_equal(sg_buf_puts(&q, " + a"), SG_OK);
    sg_err_clear(&f->err);
    assert_int_equal(sg_promql_parse(sg_buf_view(&q), NULL, &f->a, NULL, &n, &f->err), SG_ELIMIT);
    sg_buf_cleanup(&q);
}

/* Cases the one-line data file cannot hold (newlines, a leading comment);
 * expected lines from Prometheus 2.42's format_query. */
static void multi_line_cases(void **state)
{
    static const struct {
        const char *expr, *want;
    } rows[] = {
        {"foo\n+\nbar\n==\n1", "foo + bar == 1"},
        {"# c1\n# c2\nfoo +\n", "error 4:1 unexpected end of input"},
        {"foo{\na=\"b\"\n,\nb=~\"(a\"}",
         "error 4:1 error parsing regexp: missing closing ): `^(?:(a)$`"},
        {"1\n==\n1", "error 2:1 comparisons between scalars must use BOOL modifier"},
        {"foo\n  +\n  bool bar",
         "error 2:3 bool modifier can only be used on comparison operators"},
        {"\n\n  rate(foo)",
         "error 3:8 expected type range vector in call to function \"rate\", got instant vector"},
        {"foo # x\n bar", "error 2:2 unexpected identifier \"bar\""},
        {"\"a\nb\"", "error 1:1 unterminated quoted string"},
        {"foo[5m\n]", "foo[5m]"},
        {"foo\n[5m]", "foo[5m]"},
        {"a\n  + on(x)\n  group_left(y)\n  b\n  == bool 1",
         "a + on (x) group_left (y) b == bool 1"},
        {"# c\nfoo", "foo"},
        {"#c", "error 1:1 no expression found in input"},
        {"# just a comment\n\n", "error 1:1 no expression found in input"},
        {"foo # trailing", "foo"},
        {"#\n1 +\n#\n2", "1 + 2"},
        {"foo\r\n+ bar", "foo + bar"},
        {"foo\t+\rbar", "foo + bar"},
        {"sum(foo)\r\n  by (a)", "sum by (a) (foo)"},
        {"`a\nb`", "\"a\\nb\""},
        /* 2.42's printer is not always read back to the same print: an
         * infinity prints with its sign, and the sign then reads as a
         * unary plus over what follows when that binds tighter */
        {"a % inf ^ b", "a % +Inf ^ b"},
        {"a % +Inf ^ b", "a % ++Inf ^ b"},
        {"-inf ^ b", "-+Inf ^ b"},
        /* ... and U+FFFD prints as itself, which the lexer refuses */
        {"{a=\"\\ufffd\"}", "{a=\"\xef\xbf\xbd\"}"},
        {"{a=\"\xef\xbf\xbd\"}", "error 1:4 invalid UTF-8 rune"},
    };
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sg_node *n;
        char got[1024];
        sg_err_clear(&f->err);
        if (sg_promql_parse(sg_str_c(rows[i].expr), "<t>", &f->a, NULL, &n, &f->err) == SG_OK) {
            sg_buf_reset(&f->out);
            assert_int_equal(sg_promql_print(n, &f->out), SG_OK);
            snprintf(got, sizeof(got), "%s", sg_buf_cstr(&f->out));
        } else {
            const char *m = strstr(f->err.msg, "parse error: ");
            snprintf(got, sizeof(got), "error %u:%u %s", f->err.line, f->err.col,
                     m ? m + 13 : f->err.msg);
        }
        if (strcmp(got, rows[i].want) != 0)
            fail_msg("row %zu: got %s want %s", i, got, rows[i].want);
    }
}

/* tests/data/promql/parse.test: expression line, then expected line. */
static void data_file_cases(void **state)
{
    struct fixture *f = *state;
    struct sg_buf file;
    struct sg_err err;
    const char *p, *end;
    int cases = 0, failed = 0;

    sg_buf_init(&file, 16 << 20);
    sg_err_clear(&err);
    if (sg_fs_read_all("tests/data/promql/parse.test", 16 << 20, &file, &err) != SG_OK)
        fail_msg("reading parse.test: %s", err.msg);
    p = file.data;
    end = file.data + file.len;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *w, *we;
        struct sg_node *n;
        char got[1024];
        if (!e)
            e = end;
        if (e == p || *p == '#') {
            p = e + 1;
            continue;
        }
        w = e + 1;
        we = w < end ? memchr(w, '\n', (size_t)(end - w)) : NULL;
        if (!we)
            we = end;
        cases++;
        sg_err_clear(&f->err);
        if (sg_promql_parse(sg_str_make(p, (size_t)(e - p)), "<t>", &f->a, NULL, &n, &f->err) ==
            SG_OK) {
            sg_buf_reset(&f->out);
            if (sg_promql_print(n, &f->out) != SG_OK)
                snprintf(got, sizeof(got), "(print failed)");
            else
                snprintf(got, sizeof(got), "%s", sg_buf_cstr(&f->out));
        } else {
            const char *m = strstr(f->err.msg, "parse error: ");
            snprintf(got, sizeof(got), "error %u:%u %s", f->err.line, f->err.col,
                     m ? m + 13 : f->err.msg);
        }
        if (strlen(got) != (size_t)(we - w) || memcmp(got, w, (size_t)(we - w)) != 0) {
            failed++;
            print_message("case %.*s\n  got:  %s\n  want: %.*s\n", (int)(e - p), p, got,
                          (int)(we - w), w);
        }
        p = we + 1;
    }
    sg_buf_cleanup(&file);
    print_message("%d parse.test cases, %d failed\n", cases, failed);
    assert_true(cases >= 150);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(precedence_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(selectors_and_modifiers, setup, teardown),
        cmocka_unit_test_setup_teardown(aggregations, setup, teardown),
        cmocka_unit_test_setup_teardown(selector_numbering, setup, teardown),
        cmocka_unit_test_setup_teardown(positions_on_lines, setup, teardown),
        cmocka_unit_test(function_table),
        cmocka_unit_test(compat_profiles),
        cmocka_unit_test_setup_teardown(compat_changes_regex, setup, teardown),
        cmocka_unit_test_setup_teardown(metric_and_selector, setup, teardown),
        cmocka_unit_test_setup_teardown(limits, setup, teardown),
        cmocka_unit_test_setup_teardown(long_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(multi_line_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(data_file_cases, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
