/* tests/unit/test_yaml.c - the YAML node tree: positions, styles, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/yaml.h"

static int parse(const char *text, struct sg_arena *a, struct sg_yaml_node **root,
                 struct sg_err *err)
{
    sg_err_clear(err);
    return sg_yaml_parse(sg_str_c(text), "t.yaml", a, NULL, root, err);
}

static void maps_sequences_and_positions(void **state)
{
    struct sg_arena a;
    struct sg_yaml_node *root, *groups, *g0, *expr;
    struct sg_err err;
    const char *text = "groups:\n"
                       "  - name: db\n"
                       "    rules:\n"
                       "      - alert: X\n"
                       "        expr: |\n"
                       "          rate(x[5m]) > 0\n";

    (void)state;
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(parse(text, &a, &root, &err), SG_OK);
    assert_int_equal(root->kind, SG_YAML_MAP);
    groups = sg_yaml_get(root, "groups");
    assert_non_null(groups);
    assert_int_equal(groups->kind, SG_YAML_SEQ);
    assert_int_equal(groups->count, 1);
    g0 = groups->items[0];
    assert_int_equal(g0->line, 2);
    assert_int_equal(g0->col, 5);
    assert_string_equal(sg_yaml_get(g0, "name")->value.ptr, "db");
    expr = sg_yaml_get(sg_yaml_get(g0, "rules")->items[0], "expr");
    assert_int_equal(expr->style, SG_YAML_LITERAL);
    assert_string_equal(expr->value.ptr, "rate(x[5m]) > 0\n");
    assert_int_equal(expr->line, 5);
    assert_null(sg_yaml_get(g0, "missing"));
    sg_arena_cleanup(&a);
}

static void scalar_styles_and_nulls(void **state)
{
    struct sg_arena a;
    struct sg_yaml_node *root;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(parse("a: 'q'\nb: \"d\\n\"\nc: ~\nd:\ne: null\nf: ''\n", &a, &root, &err),
                     SG_OK);
    assert_int_equal(sg_yaml_get(root, "a")->style, SG_YAML_SINGLE_QUOTED);
    assert_string_equal(sg_yaml_get(root, "b")->value.ptr, "d\n");
    assert_true(sg_yaml_is_null(sg_yaml_get(root, "c")));
    assert_true(sg_yaml_is_null(sg_yaml_get(root, "d")));
    assert_true(sg_yaml_is_null(sg_yaml_get(root, "e")));
    assert_false(sg_yaml_is_null(sg_yaml_get(root, "f")));
    sg_arena_cleanup(&a);
}

static void duplicate_key_is_an_error(void **state)
{
    struct sg_arena a;
    struct sg_yaml_node *root;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(parse("a: 1\nb: 2\na: 3\n", &a, &root, &err), SG_EPARSE);
    assert_string_equal(err.msg, "t.yaml:3:1: duplicate key \"a\" (first at line 1)");
    sg_arena_cleanup(&a);
}

static void syntax_error_has_position(void **state)
{
    struct sg_arena a;
    struct sg_yaml_node *root;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(parse("a: [1, 2\nb: 3\n", &a, &root, &err), SG_EPARSE);
    assert_true(strncmp(err.msg, "t.yaml:", 7) == 0);
    assert_true(err.line >= 1);
    sg_arena_cleanup(&a);
}

static void aliases_are_shared_and_capped(void **state)
{
    struct sg_arena a;
    struct sg_yaml_node *root;
    struct sg_err err;
    char bomb[4096];
    size_t o = 0;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(parse("x: &v [1, 2]\ny: *v\n", &a, &root, &err), SG_OK);
    assert_ptr_equal(sg_yaml_get(root, "x"), sg_yaml_get(root, "y"));
    assert_int_equal(parse("y: *nope\n", &a, &root, &err), SG_EPARSE);
    /* billion laughs: each level references the previous one 10 times */
    o += (size_t)snprintf(bomb + o, sizeof(bomb) - o, "a0: &a0 [x]\n");
    for (int i = 1; i < 12; i++) {
        o += (size_t)snprintf(bomb + o, sizeof(bomb) - o, "a%d: &a%d [", i, i);
        for (int j = 0; j < 10; j++)
            o += (size_t)snprintf(bomb + o, sizeof(bomb) - o, "%s*a%d", j ? "," : "", i - 1);
        o += (size_t)snprintf(bomb + o, sizeof(bomb) - o, "]\n");
    }
    assert_int_equal(parse(bomb, &a, &root, &err), SG_OK); /* shared, not expanded */
    sg_arena_reset(&a);
    {
        struct sg_yaml_limits lim = {.max_aliases = 5};
        sg_err_clear(&err);
        assert_int_equal(sg_yaml_parse(sg_str_c(bomb), "t.yaml", &a, &lim, &root, &err),
                         SG_ELIMIT);
    }
    sg_arena_cleanup(&a);
}

static void depth_is_capped(void **state)
{
    struct sg_arena a;
    struct sg_yaml_node *root;
    struct sg_err err;
    char deep[400];

    (void)state;
    memset(deep, '[', 200);
    memset(deep + 200, ']', 199);
    deep[399] = '\0';
    sg_arena_init(&a, 1 << 20);
    assert_int_not_equal(parse(deep, &a, &root, &err), SG_OK);
    sg_arena_cleanup(&a);
}

static void empty_and_multi_document(void **state)
{
    struct sg_arena a;
    struct sg_yaml_node *root = (void *)1;
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 1 << 20);
    assert_int_equal(parse("", &a, &root, &err), SG_OK);
    assert_null(root);
    assert_int_equal(parse("a: 1\n---\nb: 2\n", &a, &root, &err), SG_EPARSE);
    assert_non_null(strstr(err.msg, "more than one YAML document"));
    sg_arena_cleanup(&a);
}

static void out_of_memory_is_reported(void **state)
{
    struct sg_arena a;
    struct sg_yaml_node *root;
    struct sg_err err;
    const char *text = "a: [1, 2, 3]\nb: {c: d}\n";

    (void)state;
    for (uint64_t n = 1; n < 40; n++) {
        int rc;
        sg_arena_init(&a, 1 << 20);
        sg_alloc_fail_at(n);
        rc = parse(text, &a, &root, &err);
        sg_alloc_fail_at(0);
        assert_true(rc == SG_OK || rc == SG_ENOMEM);
        sg_arena_cleanup(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maps_sequences_and_positions),
        cmocka_unit_test(scalar_styles_and_nulls),
        cmocka_unit_test(duplicate_key_is_an_error),
        cmocka_unit_test(syntax_error_has_position),
        cmocka_unit_test(aliases_are_shared_and_capped),
        cmocka_unit_test(depth_is_capped),
        cmocka_unit_test(empty_and_multi_document),
        cmocka_unit_test(out_of_memory_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
