/* tests/fuzz/fuzz_promql_eval.c - parse any text as PromQL, then plan and
 * evaluate it (instant, and a short range when the type allows) over a
 * small fixed in-memory store with NaN, infinities, stale markers, resets
 * and histogram buckets, with small limits; format the result both ways.
 * Any failure must be an error code, never a crash or a leak. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/promql.h"
#include "stopgate/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sg_store *store;

static void add(const char *name, const char *k, const char *v, const char *k2, const char *v2,
                const double *vals, int n)
{
    struct sg_label lb[3];
    struct sg_labels ls = {lb, 0};
    struct sg_err err;

    lb[ls.count].name = sg_str_c("__name__");
    lb[ls.count++].value = sg_str_c(name);
    if (k) {
        lb[ls.count].name = sg_str_c(k);
        lb[ls.count++].value = sg_str_c(v);
    }
    if (k2) {
        lb[ls.count].name = sg_str_c(k2);
        lb[ls.count++].value = sg_str_c(v2);
    }
    if (sg_labels_sort(&ls, NULL) != SG_OK)
        abort();
    for (int i = 0; i < n; i++)
        if (sg_store_append(store, &ls, i * 15000, vals[i], &err) != SG_OK)
            abort();
}

static void init(void)
{
    static const double a[] = {1, 2, 3, 0, 5, NAN, 7, INFINITY, -INFINITY, 10, 11, 12};
    static const double b[] = {0.5, -0.5, 1e-7, 2.5e21, -0.0, 0, 3, 3, 3, 3, 3, 3};
    static const double le[][12] = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
                                    {2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24},
                                    {3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25}};
    double s[12];

    store = sg_store_new(1 << 20);
    if (!store)
        abort();
    for (int i = 0; i < 12; i++)
        s[i] = i % 4 == 3 ? sg_stale_nan() : i;
    add("m", "job", "a", "inst", "1", a, 12);
    add("m", "job", "b", "inst", "1", b, 12);
    add("m", "job", "b", "inst", "2", s, 6);
    add("up", "job", "a", NULL, NULL, b, 12);
    add("h_bucket", "le", "0.1", "job", "a", le[0], 12);
    add("h_bucket", "le", "1", "job", "a", le[1], 12);
    add("h_bucket", "le", "+Inf", "job", "a", le[2], 12);
}

static void eval(const struct sg_node *expr, bool range)
{
    struct sg_promql_opts o = {0};
    struct sg_promql_selection *sels;
    struct sg_series_set *sets;
    struct sg_arena a;
    struct sg_value v;
    struct sg_buf out;
    struct sg_err err;
    size_t n;
    int64_t t = 120000;

    o.max_samples = 5000;
    o.subquery_step_ms = 15000;
    sg_arena_init(&a, 32 << 20);
    sg_err_clear(&err);
    if (sg_promql_plan(expr, range ? 0 : t, t, range ? 30000 : 0, &o, &a, &sels, &n, &err) != SG_OK)
        goto out;
    sets = sg_arena_alloc_array(&a, n + 1, sizeof(*sets));
    if (!sets)
        goto out;
    for (size_t i = 0; i < n; i++) {
        /* a fixed window keeps the fuzzer's absurd offsets cheap */
        int64_t mint = sels[i].mint_ms < -600000 ? -600000 : sels[i].mint_ms;
        int64_t maxt = sels[i].maxt_ms > 600000 ? 600000 : sels[i].maxt_ms;
        if (sg_store_select(store, sels[i].matchers, sels[i].nmatchers, mint, maxt, &a, &sets[i],
                            &err) != SG_OK)
            goto out;
    }
    if (range) {
        if (sg_promql_eval_range(expr, 0, t, 30000, &o, sets, n, &a, &v, &err) != SG_OK)
            goto out;
    } else if (sg_promql_eval_instant(expr, t, &o, sets, n, &a, &v, &err) != SG_OK) {
        goto out;
    }
    sg_buf_init(&out, 1 << 20);
    (void)!sg_promql_format_json(&v, NULL, &out);
    sg_buf_reset(&out);
    (void)!sg_promql_format_text(&v, &out);
    sg_buf_cleanup(&out);
out:
    sg_arena_cleanup(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_promql_limits lim = {64, 4096};
    struct sg_promql_parse_opts po = {NULL, &lim};
    struct sg_arena a;
    struct sg_node *expr;
    struct sg_err err;

    if (size > 2048)
        return 0;
    if (!store)
        init();
    sg_arena_init(&a, 8 << 20);
    sg_err_clear(&err);
    if (sg_promql_parse(sg_str_make((const char *)data, size), "<fuzz>", &a, &po, &expr, &err) ==
        SG_OK) {
        eval(expr, false);
        if (expr->type == SG_VT_SCALAR || expr->type == SG_VT_VECTOR)
            eval(expr, true);
    }
    sg_arena_cleanup(&a);
    return 0;
}
