/* src/promql/print.c - AST to text in Prometheus 2.42's canonical form.
 *
 * The form of the String() methods of promql/parser (printer.go): `sum by
 * (job) (rate(x[5m]))`, `a + on (x) group_left (y) b`, matchers sorted as
 * strings and written without spaces (`foo{a="1",b=~"x"}`), numbers as Go's
 * %v (shortest digits, exponent from 1e+06 on), strings and matcher values
 * with Go's %q, durations as model.Duration.String, `@ 1.500`, `offset
 * -5m`. Parentheses are printed only where the source had them, as a
 * ParenExpr, so parse(print(x)) prints the same text again.
 *
 * Does not pretty-print over several lines (Prometheus's Pretty).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/duration.h"
#include "stopgate/num.h"

#include "promql_int.h"

static int put(struct sg_buf *b, const char *s)
{
    return sg_buf_puts(b, s);
}

static int put_duration(struct sg_buf *b, int64_t ms)
{
    char d[SG_DURATION_FMT_MAX];

    sg_duration_format(ms, d, sizeof(d));
    return put(b, d);
}

const char *sg_promql__binop_text(enum sg_binop op)
{
    switch (op) {
    case SG_OP_ADD:
        return "+";
    case SG_OP_SUB:
        return "-";
    case SG_OP_MUL:
        return "*";
    case SG_OP_DIV:
        return "/";
    case SG_OP_MOD:
        return "%";
    case SG_OP_POW:
        return "^";
    case SG_OP_ATAN2:
        return "atan2";
    case SG_OP_EQL:
        return "==";
    case SG_OP_NEQ:
        return "!=";
    case SG_OP_GTR:
        return ">";
    case SG_OP_LSS:
        return "<";
    case SG_OP_GTE:
        return ">=";
    case SG_OP_LTE:
        return "<=";
    case SG_OP_AND:
        return "and";
    case SG_OP_OR:
        return "or";
    case SG_OP_UNLESS:
        return "unless";
    }
    return "?";
}

const char *sg_promql__aggop_text(enum sg_aggop op)
{
    switch (op) {
    case SG_AGG_SUM:
        return "sum";
    case SG_AGG_AVG:
        return "avg";
    case SG_AGG_COUNT:
        return "count";
    case SG_AGG_MIN:
        return "min";
    case SG_AGG_MAX:
        return "max";
    case SG_AGG_GROUP:
        return "group";
    case SG_AGG_STDDEV:
        return "stddev";
    case SG_AGG_STDVAR:
        return "stdvar";
    case SG_AGG_TOPK:
        return "topk";
    case SG_AGG_BOTTOMK:
        return "bottomk";
    case SG_AGG_COUNT_VALUES:
        return "count_values";
    case SG_AGG_QUANTILE:
        return "quantile";
    }
    return "?";
}

static int put_labels(struct sg_buf *b, const struct sg_str *v, size_t n)
{
    int rc = SG_OK;

    for (size_t i = 0; rc == SG_OK && i < n; i++) {
        if (i > 0)
            rc = put(b, ", ");
        if (rc == SG_OK)
            rc = sg_buf_append_str(b, v[i]);
    }
    return rc;
}

/* " @ 1.500" / " @ start()" and " offset 5m" / " offset -5m" */
static int put_at_offset(struct sg_buf *b, enum sg_at_kind at, int64_t at_ms, int64_t offset_ms)
{
    int rc = SG_OK;

    if (at == SG_AT_TIME)
        rc = sg_buf_appendf(b, " @ %.3f", (double)at_ms / 1000.0);
    else if (at == SG_AT_START)
        rc = put(b, " @ start()");
    else if (at == SG_AT_END)
        rc = put(b, " @ end()");
    if (rc == SG_OK && offset_ms > 0) {
        rc = put(b, " offset ");
        if (rc == SG_OK)
            rc = put_duration(b, offset_ms);
    } else if (rc == SG_OK && offset_ms < 0) {
        rc = put(b, " offset -");
        if (rc == SG_OK)
            rc = put_duration(b, offset_ms == INT64_MIN ? INT64_MAX : -offset_ms);
    }
    return rc;
}

static int cmp_cstr(const void *a, const void *b)
{
    const struct sg_buf *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->data, y->data, n) : 0;

    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

/* name{a="1",b=~"x"} without @/offset */
static int put_selector(struct sg_buf *b, const struct sg_node *n)
{
    struct sg_buf *strs;
    size_t ns = 0;
    int rc = SG_OK;

    strs = sg_calloc(n->u.sel.nmatchers ? n->u.sel.nmatchers : 1, sizeof(*strs));
    if (!strs)
        return SG_ENOMEM;
    for (size_t i = 0; rc == SG_OK && i < n->u.sel.nmatchers; i++) {
        const struct sg_matcher *m = &n->u.sel.matchers[i];
        struct sg_buf *s = &strs[ns];
        if (sg_str_eq_c(m->name, SG_METRIC_NAME) && m->type == SG_MATCH_EQ &&
            sg_str_eq(m->value, n->u.sel.name))
            continue;
        sg_buf_init(s, b->max);
        ns++;
        rc = sg_buf_append_str(s, m->name);
        if (rc == SG_OK)
            rc = put(s, sg_match_op(m->type));
        if (rc == SG_OK)
            rc = sg_quote_go(m->value, s);
        if (rc == SG_OK && s->len == 0)
            rc = sg_buf_reserve(s, 1);
    }
    if (rc == SG_OK)
        rc = sg_buf_append_str(b, n->u.sel.name);
    if (rc == SG_OK && ns > 0) {
        qsort(strs, ns, sizeof(*strs), cmp_cstr);
        rc = sg_buf_putc(b, '{');
        for (size_t i = 0; rc == SG_OK && i < ns; i++) {
            if (i > 0)
                rc = sg_buf_putc(b, ',');
            if (rc == SG_OK)
                rc = sg_buf_append(b, strs[i].data, strs[i].len);
        }
        if (rc == SG_OK)
            rc = sg_buf_putc(b, '}');
    }
    for (size_t i = 0; i < ns; i++)
        sg_buf_cleanup(&strs[i]);
    sg_free(strs);
    return rc;
}

static int print_node(const struct sg_node *n, struct sg_buf *b)
{
    int rc = SG_OK;
    char num[SG_NUM_FMT_MAX];

    switch (n->kind) {
    case SG_N_NUMBER:
        sg_num_format(n->u.number, 'g', num, sizeof(num));
        return put(b, num);
    case SG_N_STRING:
        return sg_quote_go(n->u.string, b);
    case SG_N_SELECTOR:
        rc = put_selector(b, n);
        if (rc == SG_OK)
            rc = put_at_offset(b, n->u.sel.at, n->u.sel.at_ms, n->u.sel.offset_ms);
        return rc;
    case SG_N_RANGE:
        rc = put_selector(b, n);
        if (rc == SG_OK)
            rc = sg_buf_putc(b, '[');
        if (rc == SG_OK)
            rc = put_duration(b, n->u.sel.range_ms);
        if (rc == SG_OK)
            rc = sg_buf_putc(b, ']');
        if (rc == SG_OK)
            rc = put_at_offset(b, n->u.sel.at, n->u.sel.at_ms, n->u.sel.offset_ms);
        return rc;
    case SG_N_SUBQUERY:
        rc = print_node(n->u.subq.expr, b);
        if (rc == SG_OK)
            rc = sg_buf_putc(b, '[');
        if (rc == SG_OK)
            rc = put_duration(b, n->u.subq.range_ms);
        if (rc == SG_OK)
            rc = sg_buf_putc(b, ':');
        if (rc == SG_OK && n->u.subq.step_ms != 0)
            rc = put_duration(b, n->u.subq.step_ms);
        if (rc == SG_OK)
            rc = sg_buf_putc(b, ']');
        if (rc == SG_OK)
            rc = put_at_offset(b, n->u.subq.at, n->u.subq.at_ms, n->u.subq.offset_ms);
        return rc;
    case SG_N_CALL:
        rc = put(b, n->u.call.func->name);
        if (rc == SG_OK)
            rc = sg_buf_putc(b, '(');
        for (size_t i = 0; rc == SG_OK && i < n->u.call.nargs; i++) {
            if (i > 0)
                rc = put(b, ", ");
            if (rc == SG_OK)
                rc = print_node(n->u.call.args[i], b);
        }
        if (rc == SG_OK)
            rc = sg_buf_putc(b, ')');
        return rc;
    case SG_N_AGGR:
        rc = put(b, sg_promql__aggop_text(n->u.aggr.op));
        if (rc == SG_OK && n->u.aggr.without) {
            rc = put(b, " without (");
            if (rc == SG_OK)
                rc = put_labels(b, n->u.aggr.grouping, n->u.aggr.ngrouping);
            if (rc == SG_OK)
                rc = put(b, ") ");
        } else if (rc == SG_OK && n->u.aggr.ngrouping > 0) {
            rc = put(b, " by (");
            if (rc == SG_OK)
                rc = put_labels(b, n->u.aggr.grouping, n->u.aggr.ngrouping);
            if (rc == SG_OK)
                rc = put(b, ") ");
        }
        if (rc == SG_OK)
            rc = sg_buf_putc(b, '(');
        if (rc == SG_OK && n->u.aggr.param) {
            rc = print_node(n->u.aggr.param, b);
            if (rc == SG_OK)
                rc = put(b, ", ");
        }
        if (rc == SG_OK)
            rc = print_node(n->u.aggr.expr, b);
        if (rc == SG_OK)
            rc = sg_buf_putc(b, ')');
        return rc;
    case SG_N_BINARY: {
        const struct sg_vector_matching *vm = n->u.bin.matching;
        rc = print_node(n->u.bin.lhs, b);
        if (rc == SG_OK)
            rc = sg_buf_putc(b, ' ');
        if (rc == SG_OK)
            rc = put(b, sg_promql__binop_text(n->u.bin.op));
        if (rc == SG_OK && n->u.bin.return_bool)
            rc = put(b, " bool");
        if (rc == SG_OK && vm && (vm->nlabels > 0 || vm->on)) {
            rc = put(b, vm->on ? " on (" : " ignoring (");
            if (rc == SG_OK)
                rc = put_labels(b, vm->labels, vm->nlabels);
            if (rc == SG_OK)
                rc = sg_buf_putc(b, ')');
            if (rc == SG_OK &&
                (vm->card == SG_CARD_MANY_TO_ONE || vm->card == SG_CARD_ONE_TO_MANY)) {
                rc = put(b, vm->card == SG_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
                if (rc == SG_OK)
                    rc = put_labels(b, vm->include, vm->ninclude);
                if (rc == SG_OK)
                    rc = sg_buf_putc(b, ')');
            }
        }
        if (rc == SG_OK)
            rc = sg_buf_putc(b, ' ');
        if (rc == SG_OK)
            rc = print_node(n->u.bin.rhs, b);
        return rc;
    }
    case SG_N_UNARY:
        rc = sg_buf_putc(b, n->u.unary.op);
        if (rc == SG_OK)
            rc = print_node(n->u.unary.expr, b);
        return rc;
    case SG_N_PAREN:
        rc = sg_buf_putc(b, '(');
        if (rc == SG_OK)
            rc = print_node(n->u.paren.expr, b);
        if (rc == SG_OK)
            rc = sg_buf_putc(b, ')');
        return rc;
    }
    return SG_EINVAL;
}

int sg_promql_print(const struct sg_node *n, struct sg_buf *out)
{
    if (!n)
        return SG_EINVAL;
    return print_node(n, out);
}
