/* tests/fuzz/fuzz_promql_parse.c - the PromQL parser on arbitrary bytes.
 *
 * Whatever the input: no crash, no leak, and either a tree or an error
 * with a position. A parsed expression printed in canonical form must
 * parse again and print identically (round trip). The same bytes also go
 * through the metric and selector entry points. The first byte picks the
 * compat profile (2.42 or 3.0) so both regex modes are exercised.
 *
 * One difference is allowed in the round trip, because 2.42's printer has
 * it: an infinity prints as "+Inf", and "+Inf ^ x" (or "+Inf[5m:]") reads
 * back as a unary plus over "Inf ^ x", which prints as "++Inf ^ x". A
 * unary plus changes no value, so the two prints are compared with every
 * '+' that directly precedes "Inf" or another '+' left out.
 *
 * And one print that need not read back, also as in 2.42: a string
 * holding U+FFFD (written "\ufffd") prints it as itself, the lexer takes
 * that rune for an encoding error ("invalid UTF-8 rune"), so such a print
 * is not parsed again.
 */
#include <stdint.h>
#include <string.h>

#include "stopgate/promql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_sel(const struct sg_node *sel, void *arg)
{
    uint32_t *n = arg;

    if (sel->u.sel.sel_index != *n)
        __builtin_trap(); /* numbered in evaluation order */
    (*n)++;
    return 0;
}

/* same_but_unary_plus: p and q equal once every '+' directly before "Inf"
 * or before another '+' is dropped from both. */
static int same_but_unary_plus(struct sg_str p, struct sg_str q)
{
    size_t i = 0, k = 0;

    for (;;) {
        while (i < p.len && p.ptr[i] == '+' && i + 1 < p.len &&
               (p.ptr[i + 1] == '+' || p.ptr[i + 1] == 'I'))
            i++;
        while (k < q.len && q.ptr[k] == '+' && k + 1 < q.len &&
               (q.ptr[k + 1] == '+' || q.ptr[k + 1] == 'I'))
            k++;
        if (i == p.len || k == q.len)
            return i == p.len && k == q.len;
        if (p.ptr[i++] != q.ptr[k++])
            return 0;
    }
}

/* has_fffd: p holds U+FFFD (EF BF BD). */
static int has_fffd(struct sg_str p)
{
    for (size_t i = 0; i + 2 < p.len; i++)
        if ((uint8_t)p.ptr[i] == 0xEF && (uint8_t)p.ptr[i + 1] == 0xBF &&
            (uint8_t)p.ptr[i + 2] == 0xBD)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_arena a1, a2;
    struct sg_node *n1 = NULL, *n2 = NULL;
    struct sg_buf p1, p2;
    struct sg_err err;
    struct sg_promql_parse_opts opts = {0};
    struct sg_labels ls;
    struct sg_matcher *ms;
    size_t nms;
    struct sg_str src;
    uint32_t nsel = 0;

    if (size > 4096)
        return 0;
    if (size > 0 && data[0] == 0x01) {
        opts.compat = sg_promql_compat_find("3.0");
        data++;
        size--;
    }
    src = sg_str_make((const char *)data, size);
    sg_arena_init(&a1, 64 << 20);
    sg_arena_init(&a2, 64 << 20);
    sg_buf_init(&p1, 1 << 20);
    sg_buf_init(&p2, 1 << 20);
    sg_err_clear(&err);
    if (sg_promql_parse(src, "<fuzz>", &a1, &opts, &n1, &err) == SG_OK) {
        if (sg_promql_walk_selectors(n1, count_sel, &nsel) != 0)
            __builtin_trap();
        if (sg_promql_print(n1, &p1) != SG_OK)
            __builtin_trap();
        sg_err_clear(&err);
        if (has_fffd(sg_buf_view(&p1))) {
            /* not read back (above) */
        } else if (sg_promql_parse(sg_buf_view(&p1), "<reprint>", &a2, &opts, &n2, &err) != SG_OK ||
            sg_promql_print(n2, &p2) != SG_OK ||
            !same_but_unary_plus(sg_buf_view(&p1), sg_buf_view(&p2)))
            __builtin_trap();
    } else if (err.msg[0] == '\0' || (err.code == SG_EPARSE && err.line == 0)) {
        __builtin_trap();
    }
    sg_arena_reset(&a1);
    sg_err_clear(&err);
    if (sg_promql_parse_metric(src, "<fuzz>", &a1, &ls, &err) == SG_OK) {
        for (uint32_t i = 1; i < ls.count; i++)
            if (sg_str_cmp(ls.v[i - 1].name, ls.v[i].name) >= 0)
                __builtin_trap();
    }
    sg_err_clear(&err);
    if (sg_promql_parse_selector(src, "<fuzz>", &a1, &opts, &ms, &nms, &err) == SG_OK && nms == 0)
        __builtin_trap();
    sg_buf_cleanup(&p2);
    sg_buf_cleanup(&p1);
    sg_arena_cleanup(&a2);
    sg_arena_cleanup(&a1);
    return 0;
}
