/* tests/unit/test_promql_eval.c - the evaluator on hand-built expression
 * trees over a small in-memory store: lookback and stale markers, range
 * functions, aggregation, vector matching and its errors, subqueries, the
 * sample limit, plans, and the JSON and text output.
 *
 * Expected values were checked with promtool 2.42 (`promtool test rules`
 * on the same series) where they are not obvious from the definition.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "promql/eval_int.h"
#include "stopgate/promql.h"
#include "stopgate/store.h"

#define S(x) sg_str_make((x), sizeof(x) - 1)

static struct sg_arena A;
static struct sg_store *ST;

/* ---- tree builders (everything in arena A) ---------------------------------------- */

static struct sg_node *node(enum sg_node_kind k, enum sg_vtype t)
{
    struct sg_node *n = sg_arena_alloc(&A, sizeof(*n));
    assert_non_null(n);
    n->kind = k;
    n->type = t;
    return n;
}

static struct sg_node *num(double v)
{
    struct sg_node *n = node(SG_N_NUMBER, SG_VT_SCALAR);
    n->u.number = v;
    return n;
}

static struct sg_node *str(const char *s)
{
    struct sg_node *n = node(SG_N_STRING, SG_VT_STRING);
    n->u.string = sg_str_c(s);
    return n;
}

/* sel("up", "job", "a", NULL): name plus equality matchers */
static struct sg_node *sel(const char *name, ...)
{
    struct sg_node *n = node(SG_N_SELECTOR, SG_VT_VECTOR);
    struct sg_matcher *m = sg_arena_alloc_array(&A, 16, sizeof(*m));
    size_t k = 0;
    va_list ap;
    const char *ln;

    assert_non_null(m);
    assert_int_equal(sg_matcher_init(&m[k++], &A, SG_MATCH_EQ, S("__name__"), sg_str_c(name), NULL,
                                     NULL),
                     SG_OK);
    va_start(ap, name);
    while ((ln = va_arg(ap, const char *)) != NULL) {
        const char *lv = va_arg(ap, const char *);
        assert_int_equal(sg_matcher_init(&m[k++], &A, SG_MATCH_EQ, sg_str_c(ln), sg_str_c(lv), NULL,
                                         NULL),
                         SG_OK);
    }
    va_end(ap);
    n->u.sel.name = sg_str_c(name);
    n->u.sel.matchers = m;
    n->u.sel.nmatchers = k;
    return n;
}

static struct sg_node *rng(struct sg_node *s, int64_t range_ms)
{
    s->kind = SG_N_RANGE;
    s->type = SG_VT_MATRIX;
    s->u.sel.range_ms = range_ms;
    return s;
}

static struct sg_node *call(const char *fname, enum sg_vtype ret, int nargs, ...)
{
    struct sg_node *n = node(SG_N_CALL, ret);
    struct sg_func *f = sg_arena_alloc(&A, sizeof(*f));
    va_list ap;

    f->name = fname;
    f->ret = ret;
    n->u.call.func = f;
    n->u.call.args = sg_arena_alloc_array(&A, (size_t)nargs + 1, sizeof(struct sg_node *));
    n->u.call.nargs = (size_t)nargs;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++)
        n->u.call.args[i] = va_arg(ap, struct sg_node *);
    va_end(ap);
    return n;
}

static struct sg_node *aggr(enum sg_aggop op, struct sg_node *e, struct sg_node *param,
                            bool without, int ngroup, ...)
{
    struct sg_node *n = node(SG_N_AGGR, SG_VT_VECTOR);
    va_list ap;

    n->u.aggr.op = op;
    n->u.aggr.expr = e;
    n->u.aggr.param = param;
    n->u.aggr.without = without;
    n->u.aggr.has_grouping = ngroup > 0 || without;
    n->u.aggr.grouping = sg_arena_alloc_array(&A, (size_t)ngroup + 1, sizeof(struct sg_str));
    n->u.aggr.ngrouping = (size_t)ngroup;
    va_start(ap, ngroup);
    for (int i = 0; i < ngroup; i++)
        n->u.aggr.grouping[i] = sg_str_c(va_arg(ap, const char *));
    va_end(ap);
    return n;
}

static struct sg_node *bin(enum sg_binop op, struct sg_node *l, struct sg_node *r, bool rb)
{
    struct sg_node *n = node(SG_N_BINARY, SG_VT_VECTOR);

    n->u.bin.op = op;
    n->u.bin.lhs = l;
    n->u.bin.rhs = r;
    n->u.bin.return_bool = rb;
    if (l->type == SG_VT_SCALAR && r->type == SG_VT_SCALAR)
        n->type = SG_VT_SCALAR;
    if (l->type == SG_VT_VECTOR && r->type == SG_VT_VECTOR) {
        n->u.bin.matching = sg_arena_alloc(&A, sizeof(struct sg_vector_matching));
        if (op == SG_OP_AND || op == SG_OP_OR || op == SG_OP_UNLESS)
            n->u.bin.matching->card = SG_CARD_MANY_TO_MANY;
    }
    return n;
}

static void matching(struct sg_node *b, bool on, enum sg_card card, int nl, ...)
{
    struct sg_vector_matching *vm = b->u.bin.matching;
    va_list ap;

    vm->on = on;
    vm->card = card;
    vm->labels = sg_arena_alloc_array(&A, (size_t)nl + 1, sizeof(struct sg_str));
    vm->nlabels = (size_t)nl;
    va_start(ap, nl);
    for (int i = 0; i < nl; i++)
        vm->labels[i] = sg_str_c(va_arg(ap, const char *));
    va_end(ap);
}

static struct sg_node *subq(struct sg_node *e, int64_t range_ms, int64_t step_ms)
{
    struct sg_node *n = node(SG_N_SUBQUERY, SG_VT_MATRIX);
    n->u.subq.expr = e;
    n->u.subq.range_ms = range_ms;
    n->u.subq.step_ms = step_ms;
    return n;
}

/* ---- data ------------------------------------------------------------------------------ */

static void add(const char *name, const char *k1, const char *v1, int64_t t0, int64_t step,
                int n, const double *vals)
{
    struct sg_label lb[3];
    struct sg_labels ls = {lb, 0};
    struct sg_err err;

    lb[ls.count].name = S("__name__");
    lb[ls.count++].value = sg_str_c(name);
    if (k1) {
        lb[ls.count].name = sg_str_c(k1);
        lb[ls.count++].value = sg_str_c(v1);
    }
    assert_int_equal(sg_labels_sort(&ls, NULL), SG_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(sg_store_append(ST, &ls, t0 + i * step, vals[i], &err), SG_OK);
}

static int setup(void **state)
{
    static const double up_a[] = {1, 1, 1, 0, 1};
    static const double cnt[] = {0, 10, 20, 5, 15, 25, 35, 45, 55, 65, 75};
    double stale[3] = {1, 2, 0};

    (void)state;
    sg_arena_init(&A, 0);
    ST = sg_store_new(0);
    stale[2] = sg_stale_nan();
    add("up", "job", "a", 0, 60000, 5, up_a);
    add("up", "job", "b", 0, 60000, 3, up_a);
    add("c", "job", "a", 0, 60000, 11, cnt);
    add("s", "job", "a", 0, 60000, 3, stale);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sg_store_free(ST);
    sg_arena_cleanup(&A);
    return 0;
}

/* Plan, select from the store, evaluate at t; JSON of the result. */
static int run(struct sg_node *e, int64_t t, const struct sg_promql_opts *opts, char *json,
               size_t n, struct sg_err *err)
{
    struct sg_promql_selection *sels;
    struct sg_series_set *sets;
    struct sg_value v;
    struct sg_buf out;
    size_t ns;
    int rc;

    sg_err_clear(err);
    rc = sg_promql_plan(e, t, t, 0, opts, &A, &sels, &ns, err);
    assert_int_equal(rc, SG_OK);
    sets = sg_arena_alloc_array(&A, ns + 1, sizeof(*sets));
    for (size_t i = 0; i < ns; i++)
        assert_int_equal(sg_store_select(ST, sels[i].matchers, sels[i].nmatchers, sels[i].mint_ms,
                                         sels[i].maxt_ms, &A, &sets[i], err),
                         SG_OK);
    rc = sg_promql_eval_instant(e, t, opts, sets, ns, &A, &v, err);
    if (rc != SG_OK)
        return rc;
    sg_buf_init(&out, n - 1);
    assert_int_equal(sg_promql_format_json(&v, NULL, &out), SG_OK);
    snprintf(json, n, "%s", sg_buf_cstr(&out));
    sg_buf_cleanup(&out);
    return SG_OK;
}

static void expect(struct sg_node *e, int64_t t, const char *want)
{
    char got[4096];
    struct sg_err err;
    int rc = run(e, t, NULL, got, sizeof(got), &err);

    if (rc != SG_OK)
        fail_msg("evaluation failed: %s", err.msg);
    assert_string_equal(got, want);
}

static void expect_error(struct sg_node *e, int64_t t, const struct sg_promql_opts *opts,
                         const char *want)
{
    char got[4096];
    struct sg_err err;
    int rc = run(e, t, opts, got, sizeof(got), &err);

    assert_int_not_equal(rc, SG_OK);
    assert_string_equal(err.msg, want);
}

/* ---- cases --------------------------------------------------------------------------- */

static void selector_lookback_and_stale(void **state)
{
    (void)state;
    expect(sel("up", "job", "a", NULL), 240000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},"
           "\"value\":[240,\"1\"]}]}");
    /* the last sample at 240s is visible up to and including 540s (closed lookback) */
    expect(sel("up", "job", "a", NULL), 540000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},"
           "\"value\":[540,\"1\"]}]}");
    expect(sel("up", "job", "a", NULL), 540001, "{\"resultType\":\"vector\",\"result\":[]}");
    /* a stale latest sample hides the series */
    expect(sel("s", NULL), 150000, "{\"resultType\":\"vector\",\"result\":[]}");
    expect(sel("s", NULL), 60500,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"s\",\"job\":\"a\"},"
           "\"value\":[60.500,\"2\"]}]}");
}

static void rate_and_friends(void **state)
{
    (void)state;
    /* counter 0 10 20 5 15 ... every 60s; reset at 180s */
    expect(call("increase", SG_VT_VECTOR, 1, rng(sel("c", NULL), 300000)), 300000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[300,"
           "\"45\"]}]}");
    expect(call("rate", SG_VT_VECTOR, 1, rng(sel("c", NULL), 300000)), 600000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[600,"
           "\"0.16666666666666669\"]}]}");
    expect(call("last_over_time", SG_VT_VECTOR, 1, rng(sel("c", NULL), 300000)), 600000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"c\",\"job\":\"a\"},"
           "\"value\":[600,\"75\"]}]}");
    expect(call("resets", SG_VT_VECTOR, 1, rng(sel("c", NULL), 600000)), 600000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[600,"
           "\"1\"]}]}");
    /* stale samples are not in range vectors */
    expect(call("count_over_time", SG_VT_VECTOR, 1, rng(sel("s", NULL), 600000)), 150000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[150,"
           "\"2\"]}]}");
}

static void aggregation_and_topk(void **state)
{
    (void)state;
    expect(aggr(SG_AGG_SUM, sel("up", NULL), NULL, false, 0), 120000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[120,\"2\"]}]}");
    expect(aggr(SG_AGG_COUNT, sel("up", NULL), NULL, false, 1, "job"), 120000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[120,"
           "\"1\"]},{\"metric\":{\"job\":\"b\"},\"value\":[120,\"1\"]}]}");
    expect(aggr(SG_AGG_TOPK, sel("up", NULL), num(1), false, 0), 180000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"b\"},"
           "\"value\":[180,\"1\"]}]}");
}

static void binops_and_matching_errors(void **state)
{
    struct sg_node *b;

    (void)state;
    expect(bin(SG_OP_ADD, num(1), num(2), false), 0,
           "{\"resultType\":\"scalar\",\"result\":[0,\"3\"]}");
    expect(bin(SG_OP_GTR, sel("up", NULL), num(0.5), false), 180000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"b\"},"
           "\"value\":[180,\"1\"]}]}");
    expect(bin(SG_OP_MUL, sel("up", NULL), sel("c", NULL), false), 0,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[0,"
           "\"0\"]}]}");
    b = bin(SG_OP_ADD, sel("c", NULL), sel("up", NULL), false);
    matching(b, true, SG_CARD_ONE_TO_ONE, 0);
    expect_error(b, 0, NULL,
                 "found duplicate series for the match group {} on the right hand-side of the "
                 "operation: [{__name__=\"up\", job=\"b\"}, {__name__=\"up\", job=\"a\"}];many-to-many "
                 "matching not allowed: matching labels must be unique on one side");
    b = bin(SG_OP_ADD, sel("up", NULL), sel("c", NULL), false);
    matching(b, true, SG_CARD_ONE_TO_ONE, 0);
    expect_error(b, 0, NULL,
                 "multiple matches for labels: many-to-one matching must be explicit "
                 "(group_left/group_right)");
}

static void label_functions(void **state)
{
    (void)state;
    expect(call("label_replace", SG_VT_VECTOR, 5, sel("up", "job", "a", NULL), str("x"),
                str("$1-y${1}"), str("job"), str("(.*)")),
           0,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\","
           "\"x\":\"a-ya\"},\"value\":[0,\"1\"]}]}");
    expect(call("label_join", SG_VT_VECTOR, 5, sel("up", "job", "a", NULL), str("x"), str("<&>"),
                str("job"), str("__name__")),
           0,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\","
           "\"x\":\"a\\u003c\\u0026\\u003eup\"},\"value\":[0,\"1\"]}]}");
}

static void subquery_and_limit(void **state)
{
    struct sg_promql_opts o = {0};

    (void)state;
    expect(call("max_over_time", SG_VT_VECTOR, 1, subq(sel("c", NULL), 300000, 60000)), 600000,
           "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[600,"
           "\"75\"]}]}");
    o.max_samples = 2;
    expect_error(call("count_over_time", SG_VT_VECTOR, 1, rng(sel("c", NULL), 300000)), 300000, &o,
                 "query processing would load too many samples into memory in query execution");
}

/* ---- expressions as text, expected values from promtool 2.42 -------------------------- */

static const struct {
    const char *expr;
    int64_t t;
    const char *want; /* JSON of the result, or "error: <message>" */
} text_cases[] = {
    {"count_values(\"v\", c)", 600000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"v\":\"75\"},\"value\":[600,\"1\"]}]}"},
    {"timestamp(up)", 150000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[150,\"120\"]},"
     "{\"metric\":{\"job\":\"b\"},\"value\":[150,\"120\"]}]}"},
    {"up @ 60", 600000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},"
     "\"value\":[600,\"1\"]},{\"metric\":{\"__name__\":\"up\",\"job\":\"b\"},\"value\":[600,\"1\"]}]}"},
    {"absent(nonexistent{job=\"x\", a=~\"b\"})", 60000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"x\"},\"value\":[60,\"1\"]}]}"},
    {"absent_over_time(s[1m])", 200000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[200,\"1\"]}]}"},
    {"changes(c[10m])", 600000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[600,\"10\"]}]}"},
    {"scalar(up)", 0, "{\"resultType\":\"scalar\",\"result\":[0,\"NaN\"]}"},
    {"day_of_week()", 0,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[0,\"4\"]}]}"},
    {"holt_winters(c[5m], 2, 0.5)", 600000,
     "error: invalid smoothing factor. Expected: 0 < sf < 1, got: 2.000000"},
    {"label_replace(up, \"x\", \"y\", \"job\", \"(\")", 60000,
     "error: invalid regular expression in label_replace(): ("},
    {"c - on(job) group_left up", 120000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[120,\"19\"]}]}"},
    {"max_over_time(s[5m])", 150000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[150,\"2\"]}]}"},
    {"sum_over_time((c > 20)[5m:1m])", 600000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[600,\"300\"]}]}"},
    {"rate(c[5m] offset 5m)", 600000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[600,"
     "\"0.15000000000000002\"]}]}"},
    {"deriv(c[5m])", 600000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[600,"
     "\"0.16666666666666666\"]}]}"},
    {"predict_linear(c[5m], 60)", 600000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\"},\"value\":[600,\"85\"]}]}"},
    {"quantile(0.3, c or up)", 180000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[180,\"2.2\"]}]}"},
    {"stddev(c or up)", 180000,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[180,\"2\"]}]}"},
    /* checked against Prometheus 2.42's HTTP API */
    {"vector(1e-7) or label_replace(vector(2.5e21), \"a\", \"<&>\", \"\", \"\")", 1500,
     "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1.500,\"1e-07\"]},"
     "{\"metric\":{\"a\":\"\\u003c\\u0026\\u003e\"},\"value\":[1.500,\"2.5e+21\"]}]}"},
    {"1e-7", 1500, "{\"resultType\":\"scalar\",\"result\":[1.5,\"0.0000001\"]}"},
    {"\"a\\tb\"", 1500, "{\"resultType\":\"string\",\"result\":[1.5,\"a\\tb\"]}"},
};

static void text_expressions(void **state)
{
    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(text_cases); i++) {
        struct sg_node *e;
        struct sg_err err;
        char got[4096];
        int rc;

        sg_err_clear(&err);
        rc = sg_promql_parse(sg_str_c(text_cases[i].expr), "<expr>", &A, NULL, &e, &err);
        if (rc != SG_OK)
            fail_msg("%s: %s", text_cases[i].expr, err.msg);
        rc = run(e, text_cases[i].t, NULL, got, sizeof(got), &err);
        if (rc != SG_OK)
            snprintf(got, sizeof(got), "error: %s", err.msg);
        if (strcmp(got, text_cases[i].want) != 0)
            fail_msg("%s\n got: %s\nwant: %s", text_cases[i].expr, got, text_cases[i].want);
    }
}

static void range_evaluation_and_text_output(void **state)
{
    struct sg_node *e;
    struct sg_promql_selection *sels;
    struct sg_series_set *sets;
    struct sg_value v;
    struct sg_buf out;
    struct sg_err err;
    size_t ns;

    (void)state;
    assert_int_equal(sg_promql_parse(S("sum by (job) (up) * 2 or vector(time())"), NULL, &A, NULL,
                                     &e, &err),
                     SG_OK);
    assert_int_equal(sg_promql_plan(e, 0, 240000, 120000, NULL, &A, &sels, &ns, &err), SG_OK);
    assert_int_equal(ns, 1);
    assert_int_equal(sels[0].mint_ms, -300000);
    assert_int_equal(sels[0].maxt_ms, 240000);
    assert_int_equal(sels[0].hint_step_ms, 120000);
    assert_string_equal(sels[0].hint_func, "sum");
    assert_true(sels[0].hint_by);
    sets = sg_arena_alloc_array(&A, 1, sizeof(*sets));
    assert_int_equal(sg_store_select(ST, sels[0].matchers, sels[0].nmatchers, sels[0].mint_ms,
                                     sels[0].maxt_ms, &A, &sets[0], &err),
                     SG_OK);
    assert_int_equal(sg_promql_eval_range(e, 0, 240000, 120000, NULL, sets, 1, &A, &v, &err), SG_OK);
    sg_buf_init(&out, 1 << 16);
    assert_int_equal(sg_promql_format_text(&v, &out), SG_OK);
    assert_string_equal(sg_buf_cstr(&out), "{} =>\n0 @[0]\n120 @[120]\n240 @[240]\n"
                                           "{job=\"a\"} =>\n2 @[0]\n2 @[120]\n2 @[240]\n"
                                           "{job=\"b\"} =>\n2 @[0]\n2 @[120]\n2 @[240]\n");
    sg_buf_reset(&out);
    assert_int_equal(sg_promql_format_json(&v, NULL, &out), SG_OK);
    assert_string_equal(sg_buf_cstr(&out),
                        "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[0,\"0\"],"
                        "[120,\"120\"],[240,\"240\"]]},{\"metric\":{\"job\":\"a\"},\"values\":[[0,\"2\"],"
                        "[120,\"2\"],[240,\"2\"]]},{\"metric\":{\"job\":\"b\"},\"values\":[[0,\"2\"],"
                        "[120,\"2\"],[240,\"2\"]]}]}");
    sg_buf_cleanup(&out);
}

/* Selection windows and hints as 2.42's getTimeRangesForSelector and
 * populateSeries compute them. */
static const struct {
    const char *expr;
    int64_t start, end, step;
    int64_t mint, maxt, hstep, hrange;
    const char *func;
} plan_cases[] = {
    {"x offset 5m", 1000000, 1000000, 0, 400000, 700000, 0, 0, NULL},
    {"rate(x[5m] @ 100)", 1000000, 1000000, 0, -200000, 100000, 0, 300000, "rate"},
    {"max_over_time(rate(x[1m])[10m:1m] offset 1m)", 1000000, 1000000, 0, 280000, 940000, 60000,
     60000, "rate"},
    {"max_over_time((x)[5m:] @ 50)", 1000000, 1000000, 0, -550000, 50000, 60000, 0,
     "max_over_time"},
    {"sum by (a) (x) + on() y @ end()", 0, 3600000, 60000, -300000, 3600000, 60000, 0, "sum"},
    {"x @ start() offset -1m", 0, 3600000, 60000, -240000, 60000, 60000, 0, NULL},
    {"abs(x)[30m:10s] @ 7200", 1000000, 1000000, 0, 5100000, 7200000, 10000, 0, "abs"},
};

static void plan_windows_and_hints(void **state)
{
    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(plan_cases); i++) {
        struct sg_promql_selection *sels;
        struct sg_node *e;
        struct sg_err err;
        size_t n;

        sg_err_clear(&err);
        if (sg_promql_parse(sg_str_c(plan_cases[i].expr), NULL, &A, NULL, &e, &err) != SG_OK)
            fail_msg("%s: %s", plan_cases[i].expr, err.msg);
        assert_int_equal(sg_promql_plan(e, plan_cases[i].start, plan_cases[i].end,
                                        plan_cases[i].step, NULL, &A, &sels, &n, &err),
                         SG_OK);
        if (sels[0].mint_ms != plan_cases[i].mint || sels[0].maxt_ms != plan_cases[i].maxt ||
            sels[0].hint_step_ms != plan_cases[i].hstep ||
            sels[0].hint_range_ms != plan_cases[i].hrange ||
            (plan_cases[i].func ? !sels[0].hint_func ||
                                      strcmp(sels[0].hint_func, plan_cases[i].func) != 0
                                : sels[0].hint_func != NULL))
            fail_msg("%s: [%lld, %lld] step %lld range %lld func %s", plan_cases[i].expr,
                     (long long)sels[0].mint_ms, (long long)sels[0].maxt_ms,
                     (long long)sels[0].hint_step_ms, (long long)sels[0].hint_range_ms,
                     sels[0].hint_func ? sels[0].hint_func : "-");
    }
}

static bool dless(void *ctx, size_t i, size_t j)
{
    const double *v = ctx;
    return v[i] < v[j];
}

static void dswap(void *ctx, size_t i, size_t j)
{
    double *v = ctx, t = v[i];
    v[i] = v[j];
    v[j] = t;
}

/* Go's sort.Sort port: sorts every size and pattern (sorted, reversed,
 * equal runs, sawtooth, random) and keeps the multiset. */
static void go_sort_sorts(void **state)
{
    static double v[2000];
    uint64_t r = 88172645463325252ULL;

    (void)state;
    for (size_t n = 0; n < 2000; n = n < 64 ? n + 1 : n * 2 + 1) {
        for (int pattern = 0; pattern < 6; pattern++) {
            double sum = 0, sum2 = 0;
            for (size_t i = 0; i < n; i++) {
                r ^= r << 13;
                r ^= r >> 7;
                r ^= r << 17;
                switch (pattern) {
                case 0: v[i] = (double)i; break;
                case 1: v[i] = (double)(n - i); break;
                case 2: v[i] = (double)(i % 3); break;
                case 3: v[i] = (double)(i % 17) - (double)(i / 17); break;
                case 4: v[i] = 7; break;
                default: v[i] = (double)(r % 1000); break;
                }
                sum += v[i];
            }
            sg_promql__go_sort(v, n, dless, dswap);
            for (size_t i = 0; i < n; i++) {
                sum2 += v[i];
                if (i > 0 && v[i - 1] > v[i])
                    fail_msg("n=%zu pattern=%d: not sorted at %zu", n, pattern, i);
            }
            assert_true(sum == sum2);
        }
    }
}

/* ---- windows slid over a series == each window on its own ------------------------- */

static uint64_t xs = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return xs;
}

/* A series with what makes the functions' corners: counter resets, equal
 * runs, NaN, +-Inf, -0, huge and tiny values, jittered and irregular times. */
static size_t rough_series(struct sg_sample *p, size_t cap, int kind)
{
    int64_t t = 1700000000000 + (int64_t)(rnd() % 15000);
    double v = (double)(rnd() % 1000);
    size_t n = 20 + (size_t)(rnd() % (cap - 20));

    for (size_t i = 0; i < n; i++) {
        uint64_t r = rnd() % 100;
        t += kind == 0 ? 15000 : 15000 + (int64_t)(rnd() % 4) - (kind == 2 ? 7000 : 0);
        if (kind == 2 && r < 5)
            t += 300000; /* a gap */
        if (r < 3)
            v = (double)(rnd() % 5); /* reset */
        else if (r < 6)
            ; /* unchanged */
        else if (kind == 1 && r < 8)
            v = NAN;
        else if (kind == 1 && r < 9)
            v = (r & 1) ? INFINITY : -INFINITY;
        else if (kind == 1 && r < 10)
            v = -0.0;
        else if (kind == 2 && r < 12)
            v = ldexp((double)(rnd() % 1000), (int)(rnd() % 1200) - 600);
        else if (isnan(v) || isinf(v))
            v = (double)(rnd() % 100);
        else
            v += (double)(rnd() % 50) / 4;
        p[i].t = t;
        p[i].v = v;
    }
    return n;
}

static bool same_bits(double a, double b)
{
    return sg_f64_bits(a) == sg_f64_bits(b);
}

static void sliding_windows_match(void **state)
{
    static const enum ev_func_id ids[] = {F_RATE, F_INCREASE, F_DELTA, F_RESETS, F_CHANGES,
                                          F_MAX_OVER_TIME, F_MIN_OVER_TIME, F_LAST_OVER_TIME,
                                          F_COUNT_OVER_TIME};
    static struct sg_sample p[400];
    struct sg_err err;
    struct ev ev;
    struct ev_enh enh;
    struct ev_row row;
    double sc[8] = {0};

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.compat = sg_promql_compat_default();
    ev.max = 1000000;
    ev.err = &err;
    memset(&enh, 0, sizeof(enh));
    enh.ev = &ev;
    assert_int_equal(sg_promql__row_init(&ev, &row, 400), SG_OK);
    for (int round = 0; round < 600; round++) {
        int kind = round % 3;
        size_t n = rough_series(p, 400, kind);
        int64_t range = 15000 * (int64_t)(1 + rnd() % 40) + (int64_t)(rnd() % 3) * 7;
        int64_t interval = 1000 * (int64_t)(1 + rnd() % 60);
        int64_t maxt0 = p[0].t + (int64_t)(rnd() % 60000) - 30000;
        size_t steps = 1 + (size_t)(rnd() % 300);

        for (size_t f = 0; f < SG_ARRAY_LEN(ids); f++) {
            struct ev_rstate rs;
            size_t lo = 0, hi = 0, held = 0;
            assert_int_equal(sg_promql__rstate_init(&ev, &rs, ids[f]), SG_OK);
            assert_int_equal(sg_promql__rstate_series(&ev, &rs, ids[f], p, n), SG_OK);
            for (size_t k = 0; k < steps; k++) {
                int64_t maxt = maxt0 + (int64_t)k * interval, mint = maxt - range;
                double a = 0, b = 0;
                bool ha = false, hb = false;
                /* the window, found from scratch */
                lo = 0;
                while (lo < n && p[lo].t < mint)
                    lo++;
                hi = lo;
                while (hi < n && p[hi].t <= maxt)
                    hi++;
                assert_int_equal(sg_promql__rstate_step(&enh, &rs, lo, hi, sc, mint, maxt, range,
                                                        &a, &ha),
                                 SG_OK);
                assert_int_equal(sg_promql__call_range(&enh, ids[f], p + lo, hi - lo, sc, mint,
                                                       maxt, range, &b, &hb),
                                 SG_OK);
                if (ha != hb || (ha && !same_bits(a, b)))
                    fail_msg("round %d f %zu step %zu [%zu,%zu): %.17g (%d) vs %.17g (%d)", round,
                             f, k, lo, hi, a, ha, b, hb);
            }
            if (ids[f] == F_RATE || ids[f] == F_INCREASE || ids[f] == F_DELTA) {
                /* the one-pass loop gives the same row */
                bool stale = false;
                sg_promql__row_clear(&row);
                size_t maxw = 0;
                assert_int_equal(sg_promql__rate_rows(&enh, &rs, p, n, maxt0, interval, range,
                                                      steps, SIZE_MAX, &row, &held, &maxw, &stale),
                                 SG_OK);
                assert_false(stale);
                for (size_t k = 0; k < steps; k++) {
                    int64_t maxt = maxt0 + (int64_t)k * interval, mint = maxt - range;
                    double b = 0;
                    bool hb = false;
                    lo = 0;
                    while (lo < n && p[lo].t < mint)
                        lo++;
                    hi = lo;
                    while (hi < n && p[hi].t <= maxt)
                        hi++;
                    assert_int_equal(sg_promql__call_range(&enh, ids[f], p + lo, hi - lo, sc,
                                                           mint, maxt, range, &b, &hb),
                                     SG_OK);
                    if ((row.n && k >= row.first && k <= row.last && row.has[k]) != hb ||
                        (hb && !same_bits(row.v[k], b)))
                        fail_msg("rows: round %d f %zu step %zu: %.17g vs %.17g", round, f, k,
                                 row.v[k], b);
                }
                assert_int_equal(held, hi - lo);
            }
            sg_promql__rstate_free(&rs);
        }
    }
    sg_promql__row_free(&row);
}

/* Rows computed ahead on worker threads are the rows computed in order,
 * stale markers flagged, for a set large enough to start them. */
static void parallel_rows_match(void **state)
{
    enum { NS = 300, NP = 7200 };
    static const enum ev_func_id ids[] = {F_RATE, F_INCREASE, F_DELTA};
    struct sg_series *v = calloc(NS, sizeof(*v));
    struct sg_series_set set = {v, NS, true};
    struct sg_err err;
    struct ev ev;
    struct ev_enh enh;
    struct ev_row row;
    struct ev_rstate rs;
    int64_t range = 300000, interval = 15000, maxt0;
    size_t steps = NP - 30;

    (void)state;
    assert_non_null(v);
    memset(&ev, 0, sizeof(ev));
    ev.compat = sg_promql_compat_default();
    ev.max = 1000000;
    ev.err = &err;
    ev.interval = interval;
    memset(&enh, 0, sizeof(enh));
    enh.ev = &ev;
    for (size_t i = 0; i < NS; i++) {
        v[i].samples = malloc(NP * sizeof(struct sg_sample));
        assert_non_null(v[i].samples);
        v[i].count = rough_series(v[i].samples, NP, (int)(i % 3));
        if (i % 37 == 5) /* a stale marker somewhere */
            v[i].samples[v[i].count / 2].v = sg_stale_nan();
    }
    maxt0 = v[0].samples[0].t + 200000;
    assert_int_equal(sg_promql__row_init(&ev, &row, steps), SG_OK);
    for (size_t f = 0; f < SG_ARRAY_LEN(ids); f++) {
        struct ev_par *par = NULL;
        assert_int_equal(sg_promql__rstate_init(&ev, &rs, ids[f]), SG_OK);
        assert_int_equal(sg_promql__par_new(&ev, ids[f], &set, maxt0, range, steps, &par), SG_OK);
        if (!par) { /* one CPU: nothing runs ahead */
            sg_promql__rstate_free(&rs);
            break;
        }
        for (size_t i = 0; i < NS; i++) {
            size_t held, maxw, h2, m2;
            bool stale, s2;
            const struct ev_row *r = sg_promql__par_get(par, i, &held, &maxw, &stale);
            sg_promql__row_clear(&row);
            assert_int_equal(sg_promql__rate_rows(&enh, &rs, v[i].samples, v[i].count, maxt0,
                                                  interval, range, steps, SIZE_MAX, &row, &h2, &m2,
                                                  &s2),
                             SG_OK);
            assert_int_equal(stale, s2);
            assert_int_equal(stale, i % 37 == 5);
            if (stale)
                continue;
            assert_int_equal(held, h2);
            assert_int_equal(maxw, m2);
            assert_int_equal(r->n, row.n);
            for (size_t k = 0; row.n && k <= row.last; k++) {
                bool a = k >= r->first && k <= r->last && r->has[k];
                bool b = k >= row.first && row.has[k];
                if (a != b || (a && !same_bits(r->v[k], row.v[k])))
                    fail_msg("f %zu series %zu step %zu", f, i, k);
            }
        }
        sg_promql__par_free(par);
        sg_promql__rstate_free(&rs);
    }
    sg_promql__row_free(&row);
    for (size_t i = 0; i < NS; i++)
        free(v[i].samples);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selector_lookback_and_stale),
        cmocka_unit_test(rate_and_friends),
        cmocka_unit_test(aggregation_and_topk),
        cmocka_unit_test(binops_and_matching_errors),
        cmocka_unit_test(label_functions),
        cmocka_unit_test(subquery_and_limit),
        cmocka_unit_test(text_expressions),
        cmocka_unit_test(range_evaluation_and_text_output),
        cmocka_unit_test(go_sort_sorts),
        cmocka_unit_test(plan_windows_and_hints),
        cmocka_unit_test(sliding_windows_match),
        cmocka_unit_test(parallel_rows_match),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
