/* tests/unit/test_store.c - the in-memory series store: append order rules,
 * select by matchers and closed windows, the name index, drop_before,
 * foreach, byte caps; plus the series-set helpers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/store.h"

#define S(x) sg_str_make((x), sizeof(x) - 1)

/* A label set from "name", "value", ... pairs (must be given sorted). */
static struct sg_labels mk(struct sg_label *buf, int n, ...)
{
    struct sg_labels ls = {buf, (uint32_t)n};
    va_list ap;

    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *k = va_arg(ap, const char *);
        const char *v = va_arg(ap, const char *);
        buf[i].name = sg_str_c(k);
        buf[i].value = sg_str_c(v);
    }
    va_end(ap);
    return ls;
}

static void eq_matcher(struct sg_matcher *m, struct sg_arena *a, const char *name,
                       const char *value)
{
    assert_int_equal(sg_matcher_init(m, a, SG_MATCH_EQ, sg_str_c(name), sg_str_c(value), NULL, NULL),
                     SG_OK);
}

/* The series named name with samples in [mint, maxt], allocated in a. */
static struct sg_series_set select_name(struct sg_store *st, struct sg_arena *a, const char *name,
                                        int64_t mint, int64_t maxt)
{
    struct sg_matcher m;
    struct sg_series_set set;
    struct sg_err err;

    eq_matcher(&m, a, "__name__", name);
    assert_int_equal(sg_store_select(st, &m, 1, mint, maxt, a, &set, &err), SG_OK);
    return set;
}

static void appends_and_selects_closed_window(void **state)
{
    struct sg_store *st = sg_store_new(0);
    struct sg_label b1[2], b2[2];
    struct sg_labels up_a = mk(b1, 2, "__name__", "up", "job", "a");
    struct sg_labels up_b = mk(b2, 2, "__name__", "up", "job", "b");
    struct sg_arena a;
    struct sg_series_set set;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 0);
    assert_non_null(st);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(sg_store_append(st, &up_b, i * 1000, i, &err), SG_OK);
        assert_int_equal(sg_store_append(st, &up_a, i * 1000, 10 + i, &err), SG_OK);
    }
    assert_int_equal(sg_store_series_count(st), 2);
    assert_int_equal(sg_store_sample_count(st), 20);
    set = select_name(st, &a, "up", 2000, 4000);
    assert_int_equal(set.count, 2);
    assert_true(set.sorted);
    /* sorted by label set: job="a" first although appended second */
    assert_true(sg_str_eq(sg_labels_get(&set.v[0].labels, S("job")), S("a")));
    assert_int_equal(set.v[0].count, 3); /* 2000, 3000, 4000: both ends inclusive */
    assert_int_equal(set.v[0].samples[0].t, 2000);
    assert_int_equal(set.v[0].samples[2].t, 4000);
    assert_true(set.v[0].samples[0].v == 12);
    /* a window without samples drops the series */
    set = select_name(st, &a, "up", 10000, 20000);
    assert_int_equal(set.count, 0);
    sg_arena_cleanup(&a);
    sg_store_free(st);
}

static void equal_timestamp_replaces_older_is_error(void **state)
{
    struct sg_store *st = sg_store_new(0);
    struct sg_label b[1];
    struct sg_labels x = mk(b, 1, "__name__", "x");
    struct sg_arena a;
    struct sg_series_set set;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 0);
    assert_int_equal(sg_store_append(st, &x, 1000, 1, &err), SG_OK);
    assert_int_equal(sg_store_append(st, &x, 1000, 2, &err), SG_OK);
    sg_err_clear(&err);
    assert_int_equal(sg_store_append(st, &x, 999, 3, &err), SG_EINVAL);
    assert_string_equal(err.msg, "out of order sample");
    set = select_name(st, &a, "x", INT64_MIN, INT64_MAX);
    assert_int_equal(set.count, 1);
    assert_int_equal(set.v[0].count, 1);
    assert_true(set.v[0].samples[0].v == 2);
    sg_arena_cleanup(&a);
    sg_store_free(st);
}

static void stale_bits_survive(void **state)
{
    struct sg_store *st = sg_store_new(0);
    struct sg_label b[1];
    struct sg_labels x = mk(b, 1, "__name__", "x");
    struct sg_arena a;
    struct sg_series_set set;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 0);
    assert_int_equal(sg_store_append(st, &x, 1, sg_stale_nan(), &err), SG_OK);
    assert_int_equal(sg_store_append(st, &x, 2, NAN, &err), SG_OK);
    set = select_name(st, &a, "x", 0, 10);
    assert_true(sg_is_stale(set.v[0].samples[0].v));
    assert_false(sg_is_stale(set.v[0].samples[1].v));
    sg_arena_cleanup(&a);
    sg_store_free(st);
}

static void matchers_without_name_scan_everything(void **state)
{
    struct sg_store *st = sg_store_new(0);
    struct sg_label b1[2], b2[2], b3[1];
    struct sg_labels l1 = mk(b1, 2, "__name__", "a", "env", "prod");
    struct sg_labels l2 = mk(b2, 2, "__name__", "b", "env", "dev");
    struct sg_labels l3 = mk(b3, 1, "__name__", "c");
    struct sg_arena a;
    struct sg_matcher m[2];
    struct sg_series_set set;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 0);
    assert_int_equal(sg_store_append(st, &l1, 0, 1, &err), SG_OK);
    assert_int_equal(sg_store_append(st, &l2, 0, 1, &err), SG_OK);
    assert_int_equal(sg_store_append(st, &l3, 0, 1, &err), SG_OK);
    assert_int_equal(sg_matcher_init(&m[0], &a, SG_MATCH_RE, S("env"), S(".+"), NULL, NULL), SG_OK);
    assert_int_equal(sg_store_select(st, m, 1, 0, 0, &a, &set, &err), SG_OK);
    assert_int_equal(set.count, 2);
    /* env="" also selects the series without env */
    eq_matcher(&m[0], &a, "env", "");
    assert_int_equal(sg_store_select(st, m, 1, 0, 0, &a, &set, &err), SG_OK);
    assert_int_equal(set.count, 1);
    assert_true(sg_str_eq(sg_labels_get(&set.v[0].labels, S("__name__")), S("c")));
    /* name index plus another matcher */
    eq_matcher(&m[0], &a, "__name__", "b");
    assert_int_equal(sg_matcher_init(&m[1], &a, SG_MATCH_NEQ, S("env"), S("dev"), NULL, NULL),
                     SG_OK);
    assert_int_equal(sg_store_select(st, m, 2, 0, 0, &a, &set, &err), SG_OK);
    assert_int_equal(set.count, 0);
    sg_arena_cleanup(&a);
    sg_store_free(st);
}

static int count_cb(const struct sg_series *s, void *arg)
{
    size_t *n = arg;
    *n += s->count;
    return 0;
}

static void drop_before_removes_samples_and_empty_series(void **state)
{
    struct sg_store *st = sg_store_new(0);
    struct sg_label b1[1], b2[1];
    struct sg_labels x = mk(b1, 1, "__name__", "x"), y = mk(b2, 1, "__name__", "y");
    struct sg_arena a;
    struct sg_series_set set;
    struct sg_err err;
    size_t total = 0;

    (void)state;
    sg_arena_init(&a, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(sg_store_append(st, &x, i, i, &err), SG_OK);
    assert_int_equal(sg_store_append(st, &y, 5, 1, &err), SG_OK);
    sg_store_drop_before(st, 50);
    assert_int_equal(sg_store_series_count(st), 1);
    assert_int_equal(sg_store_sample_count(st), 50);
    assert_int_equal(sg_store_foreach(st, count_cb, &total), 0);
    assert_int_equal(total, 50);
    /* the dropped series can come back, and appends continue after a drop */
    assert_int_equal(sg_store_append(st, &y, 60, 2, &err), SG_OK);
    assert_int_equal(sg_store_append(st, &x, 100, 100, &err), SG_OK);
    set = select_name(st, &a, "y", 0, 1000);
    assert_int_equal(set.count, 1);
    assert_int_equal(set.v[0].count, 1);
    set = select_name(st, &a, "x", 0, 1000);
    assert_int_equal(set.v[0].count, 51);
    assert_int_equal(set.v[0].samples[0].t, 50);
    sg_arena_cleanup(&a);
    sg_store_free(st);
}

static void byte_cap_is_a_limit(void **state)
{
    struct sg_store *st = sg_store_new(4096);
    struct sg_label b[2];
    char val[32];
    struct sg_err err;
    int rc = SG_OK;

    (void)state;
    for (int i = 0; i < 1000 && rc == SG_OK; i++) {
        struct sg_labels ls;
        snprintf(val, sizeof(val), "v%d", i);
        ls = mk(b, 2, "__name__", "x", "i", val);
        rc = sg_store_append(st, &ls, 0, 1, &err);
    }
    assert_int_equal(rc, SG_ELIMIT);
    sg_store_free(st);
}

static void many_series_select_by_name(void **state)
{
    struct sg_store *st = sg_store_new(0);
    struct sg_label b[2];
    char name[32], val[32];
    struct sg_arena a;
    struct sg_series_set set;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 0);
    for (int i = 0; i < 20000; i++) {
        struct sg_labels ls;
        snprintf(name, sizeof(name), "m%d", i % 100);
        snprintf(val, sizeof(val), "%d", i);
        ls = mk(b, 2, "__name__", name, "i", val);
        assert_int_equal(sg_store_append(st, &ls, 0, i, &err), SG_OK);
        assert_int_equal(sg_store_append(st, &ls, 15000, i, &err), SG_OK);
    }
    assert_int_equal(sg_store_series_count(st), 20000);
    set = select_name(st, &a, "m7", 0, 15000);
    assert_int_equal(set.count, 200);
    for (size_t i = 1; i < set.count; i++)
        assert_true(sg_labels_cmp(&set.v[i - 1].labels, &set.v[i].labels) < 0);
    sg_store_drop_before(st, 10000);
    assert_int_equal(sg_store_sample_count(st), 20000);
    sg_store_drop_before(st, 20000);
    assert_int_equal(sg_store_series_count(st), 0);
    set = select_name(st, &a, "m7", 0, 15000);
    assert_int_equal(set.count, 0);
    sg_arena_cleanup(&a);
    sg_store_free(st);
}

static void lower_bound_and_sort(void **state)
{
    struct sg_sample smp[4] = {{10, 1}, {20, 2}, {30, 3}, {40, 4}};
    struct sg_series s = {{NULL, 0}, smp, 4};
    struct sg_label b1[1], b2[1];
    struct sg_series v[2];
    struct sg_series_set set = {v, 2, false};

    (void)state;
    assert_int_equal(sg_series_lower_bound(&s, 5), 0);
    assert_int_equal(sg_series_lower_bound(&s, 20), 1);
    assert_int_equal(sg_series_lower_bound(&s, 21), 2);
    assert_int_equal(sg_series_lower_bound(&s, 41), 4);
    v[0].labels = mk(b1, 1, "a", "2");
    v[1].labels = mk(b2, 1, "a", "1");
    sg_series_set_sort(&set);
    assert_true(set.sorted);
    assert_true(sg_str_eq(v[0].labels.v[0].value, S("1")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_and_selects_closed_window),
        cmocka_unit_test(equal_timestamp_replaces_older_is_error),
        cmocka_unit_test(stale_bits_survive),
        cmocka_unit_test(matchers_without_name_scan_everything),
        cmocka_unit_test(drop_before_removes_samples_and_empty_series),
        cmocka_unit_test(byte_cap_is_a_limit),
        cmocka_unit_test(many_series_select_by_name),
        cmocka_unit_test(lower_bound_and_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
