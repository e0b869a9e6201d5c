/* src/promql/plan.c - which samples an evaluation needs.
 *
 * For every selector of an expression: the closed window [mint, maxt] that
 * covers all its evaluation steps, and the remote-read hints, computed as
 * Prometheus 2.42's getTimeRangesForSelector and populateSeries do:
 *   start/end = the query's start/end, or the @ time of the innermost
 *   enclosing subquery that has one (which resets the sums below), or the
 *   selector's own @ time (which overrides everything);
 *   without a selector @: start -= sum of enclosing subquery offsets and
 *   ranges, end -= sum of their offsets;
 *   start -= lookback (instant selector) or range (range selector);
 *   both -= the selector's own offset.
 * Hints: step = the step of the innermost enclosing subquery (its default
 * step when written `[r:]`) or the query step; range = the range selector's
 * range (0 for instant selectors); func = the name of the nearest enclosing
 * function or aggregation, unless a binary operator comes first; grouping
 * and by from the immediately enclosing aggregation.
 *
 * Selections are in the evaluator's order (eval.c collects selectors the
 * same way), one per selector node, none merged.
 */
#include <string.h>

#include "promql/eval_int.h"
#include "promql/promql_int.h"

int sg_promql__selectors(const struct sg_node *expr, const struct sg_node ***out, size_t *n);

#define MAX_PATH 512

struct plan_ctx {
    const struct sg_node *path[MAX_PATH];
    size_t depth;
    int64_t start, end, step, lookback, sub_step;
    struct sg_promql_selection *sels;
    size_t n, cap;
    struct sg_arena *arena;
    bool failed, too_deep;
};

static void add_selection(struct plan_ctx *c, const struct sg_node *n)
{
    struct sg_promql_selection *s;
    int64_t start = c->start, end = c->end, sub_off = 0, sub_range = 0, step = 0;
    bool have_sub_at = false;
    const char *func = NULL;

    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        struct sg_promql_selection *nv = sg_arena_alloc_array(c->arena, ncap, sizeof(*nv));
        if (!nv) {
            c->failed = true;
            return;
        }
        if (c->n)
            memcpy(nv, c->sels, c->n * sizeof(*nv));
        c->sels = nv;
        c->cap = ncap;
    }
    s = &c->sels[c->n++];
    memset(s, 0, sizeof(*s));
    s->node = n;
    s->matchers = n->u.sel.matchers;
    s->nmatchers = n->u.sel.nmatchers;

    for (size_t i = 0; i < c->depth; i++) {
        const struct sg_node *p = c->path[i];
        if (p->kind != SG_N_SUBQUERY)
            continue;
        sub_off = sg_promql__tadd(sub_off, p->u.subq.offset_ms);
        sub_range = sg_promql__tadd(sub_range, p->u.subq.range_ms);
        if (p->u.subq.at != SG_AT_NONE) {
            int64_t at = p->u.subq.at == SG_AT_START ? c->start
                         : p->u.subq.at == SG_AT_END ? c->end
                                                     : p->u.subq.at_ms;
            sub_off = p->u.subq.offset_ms;
            sub_range = p->u.subq.range_ms;
            start = end = at;
            have_sub_at = true;
        }
        step = p->u.subq.step_ms > 0 ? p->u.subq.step_ms : c->sub_step;
    }
    (void)have_sub_at;
    if (n->u.sel.at != SG_AT_NONE) {
        int64_t at = n->u.sel.at == SG_AT_START ? c->start
                     : n->u.sel.at == SG_AT_END ? c->end
                                                : n->u.sel.at_ms;
        start = end = at;
    } else {
        start = sg_promql__tsub(sg_promql__tsub(start, sub_off), sub_range);
        end = sg_promql__tsub(end, sub_off);
    }
    if (n->kind == SG_N_RANGE)
        start = sg_promql__tsub(start, n->u.sel.range_ms);
    else
        start = sg_promql__tsub(start, c->lookback);
    start = sg_promql__tsub(start, n->u.sel.offset_ms);
    end = sg_promql__tsub(end, n->u.sel.offset_ms);
    s->mint_ms = start;
    s->maxt_ms = end;
    s->hint_start_ms = start;
    s->hint_end_ms = end;
    s->hint_step_ms = step ? step : c->step;
    s->hint_range_ms = n->kind == SG_N_RANGE ? n->u.sel.range_ms : 0;

    /* the nearest function or aggregation, unless a binary operator is nearer */
    for (size_t i = c->depth; i-- > 0;) {
        const struct sg_node *p = c->path[i];
        if (p->kind == SG_N_AGGR) {
            func = sg_promql__aggop_text(p->u.aggr.op);
            break;
        }
        if (p->kind == SG_N_CALL) {
            func = p->u.call.func ? p->u.call.func->name : NULL;
            break;
        }
        if (p->kind == SG_N_BINARY)
            break;
    }
    s->hint_func = func;
    if (c->depth > 0 && c->path[c->depth - 1]->kind == SG_N_AGGR) {
        const struct sg_node *a = c->path[c->depth - 1];
        s->hint_by = !a->u.aggr.without;
        s->hint_grouping = a->u.aggr.grouping;
        s->hint_ngrouping = a->u.aggr.ngrouping;
    }
}

static void walk(struct plan_ctx *c, const struct sg_node *n)
{
    if (!n || c->failed)
        return;
    if (n->kind == SG_N_SELECTOR || n->kind == SG_N_RANGE) {
        add_selection(c, n);
        return;
    }
    if (c->depth >= MAX_PATH) {
        c->too_deep = true;
        return;
    }
    c->path[c->depth++] = n;
    switch (n->kind) {
    case SG_N_PAREN:
        walk(c, n->u.paren.expr);
        break;
    case SG_N_UNARY:
        walk(c, n->u.unary.expr);
        break;
    case SG_N_SUBQUERY:
        walk(c, n->u.subq.expr);
        break;
    case SG_N_CALL:
        for (size_t i = 0; i < n->u.call.nargs; i++)
            walk(c, n->u.call.args[i]);
        break;
    case SG_N_AGGR:
        walk(c, n->u.aggr.expr);
        walk(c, n->u.aggr.param);
        break;
    case SG_N_BINARY:
        walk(c, n->u.bin.lhs);
        walk(c, n->u.bin.rhs);
        break;
    default:
        break;
    }
    c->depth--;
}

int sg_promql_plan(const struct sg_node *expr, int64_t start_ms, int64_t end_ms, int64_t step_ms,
                   const struct sg_promql_opts *opts, struct sg_arena *arena,
                   struct sg_promql_selection **out, size_t *n, struct sg_err *err)
{
    struct plan_ctx *c = sg_calloc(1, sizeof(*c));
    int rc = SG_OK;

    *out = NULL;
    *n = 0;
    if (!c)
        return sg_err_set(err, SG_ENOMEM, "out of memory while planning");
    c->start = start_ms;
    c->end = end_ms;
    c->step = step_ms;
    c->lookback = opts && opts->lookback_ms > 0 ? opts->lookback_ms : 5 * 60 * 1000;
    c->sub_step = opts && opts->subquery_step_ms > 0 ? opts->subquery_step_ms : 60 * 1000;
    c->arena = arena;
    walk(c, expr);
    if (c->failed)
        rc = sg_err_set(err, SG_ENOMEM, "out of memory while planning");
    else if (c->too_deep)
        rc = sg_err_set(err, SG_ELIMIT, "expression nested deeper than %d", MAX_PATH);
    else {
        *out = c->sels;
        *n = c->n;
    }
    sg_free(c);
    return rc;
}
