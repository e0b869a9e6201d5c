/* src/promql/fused.c - aggregations folded straight from their argument's
 * rows, without the argument's matrix and without a vector per step.
 *
 * 2.42's rangeEval evaluates an aggregation's argument into a matrix over
 * all steps, then, step by step, gathers the vector of that step and
 * aggregates it. When the argument is an instant selector or a function
 * over a range selector or subquery (a row producer of eval.c), each input
 * series' row is folded into per-group, per-step accumulators instead, in
 * input order. That gives every (group, step) its samples in the order the
 * step's vector would hold them, and the accumulators are the arithmetic
 * of aggr.c (struct ev_acc), so the values are the same bits. What the
 * step-wise evaluation also yields is rebuilt exactly:
 * - the output's series order (first appearance over the steps: by the
 *   first step a group has a value, then by its first series there);
 * - the sample accounting: the argument counts as it always does (its
 *   producer runs the same checks), then the gathered and produced points
 *   of every step are counted as rangeEval counts them, in step order.
 * A collision of two groups' label hashes (which rangeEval would treat
 * per step) falls back to the step-wise evaluation.
 *
 * Only sum, avg, count, group, min, max, stddev and stdvar without a
 * parameter are folded; the caller evaluates anything else step by step.
 */
#include <stdlib.h>
#include <string.h>

#include "promql/eval_int.h"

/* sum (plain), min, max, count and group need only these two */
struct cacc {
    double value;
    size_t count; /* 0: no sample at this step */
};

struct fgroup {
    struct sg_labels labels;
    uint64_t hash;
    size_t first_step, first_idx; /* where the group appears first */
    struct cacc *c;               /* [steps], compact form */
    struct ev_acc *a;             /* [steps], full form (avg, stddev, stdvar, Kahan) */
};

struct agg_sink {
    struct ev_sink base;
    struct ev *ev;
    const struct sg_node *node;
    enum sg_aggop op;
    bool kahan, full;
    size_t steps;
    struct ev_map index; /* grouping key -> group */
    struct fgroup *g;
    size_t ng, gcap;
    size_t *gathered; /* [steps]: argument samples per step */
};

static int oom(struct ev *ev)
{
    return sg_promql__fail(ev, SG_ENOMEM, "out of memory during evaluation");
}

static bool foldable(enum sg_aggop op)
{
    switch (op) {
    case SG_AGG_SUM:
    case SG_AGG_AVG:
    case SG_AGG_COUNT:
    case SG_AGG_GROUP:
    case SG_AGG_MIN:
    case SG_AGG_MAX:
    case SG_AGG_STDDEV:
    case SG_AGG_STDVAR:
        return true;
    default:
        return false;
    }
}

/* The group's labels, as aggr.c's group_labels makes them. */
static int group_labels(struct agg_sink *as, const struct sg_labels *metric, struct fgroup *g)
{
    const struct sg_node *n = as->node;
    struct sg_labels_builder b;

    if (n->u.aggr.without) {
        sg_labels_builder_init(&b, as->ev->arena, metric);
        for (size_t i = 0; i < n->u.aggr.ngrouping; i++)
            sg_labels_builder_del(&b, n->u.aggr.grouping[i]);
        sg_labels_builder_del(&b, sg_str_make(SG_METRIC_NAME, sizeof(SG_METRIC_NAME) - 1));
        if (sg_labels_builder_finish(&b, &g->labels) != SG_OK)
            return oom(as->ev);
    } else if (n->u.aggr.ngrouping > 0) {
        sg_labels_builder_init(&b, as->ev->arena, metric);
        sg_labels_builder_keep(&b, n->u.aggr.grouping, n->u.aggr.ngrouping);
        if (sg_labels_builder_finish(&b, &g->labels) != SG_OK)
            return oom(as->ev);
    } else {
        g->labels.v = NULL;
        g->labels.count = 0;
    }
    g->hash = sg_labels_hash(&g->labels);
    return SG_OK;
}

static int new_group(struct agg_sink *as, uint64_t key, const struct sg_labels *metric, size_t idx,
                     const struct ev_row *row, struct fgroup **out)
{
    struct fgroup *g;
    int rc;

    if (as->ng == as->gcap) {
        size_t ncap = as->gcap ? as->gcap * 2 : 16;
        struct fgroup *ng = sg_reallocarray(as->g, ncap, sizeof(*ng));
        if (!ng)
            return oom(as->ev);
        as->g = ng;
        as->gcap = ncap;
    }
    g = &as->g[as->ng];
    memset(g, 0, sizeof(*g));
    if (as->full)
        g->a = sg_calloc(as->steps, sizeof(*g->a));
    else
        g->c = sg_calloc(as->steps, sizeof(*g->c));
    if (!g->a && !g->c)
        return oom(as->ev);
    as->ng++;
    rc = group_labels(as, metric, g);
    if (rc != SG_OK)
        return rc;
    g->first_step = row->first;
    g->first_idx = idx;
    if (sg_promql__map_put(&as->index, key, (uint32_t)(as->ng - 1)) != SG_OK)
        return oom(as->ev);
    *out = g;
    return SG_OK;
}

/* One row into compact accumulators; op is a constant in each call below,
 * so the shared arithmetic is specialised per operator. */
static inline void fold_op(struct cacc *c, size_t *gathered, const struct ev_row *row,
                           enum sg_aggop op)
{
    const uint8_t *has = row->has;
    const double *v = row->v;

    for (size_t k = row->first; k <= row->last; k++) {
        struct ev_acc t = {0};
        if (!has[k])
            continue;
        gathered[k]++;
        t.value = c[k].value;
        t.count = c[k].count;
        if (t.count == 0)
            sg_promql__acc_first(&t, op, v[k]);
        else
            sg_promql__acc_add(&t, op, false, v[k]);
        c[k].value = t.value;
        c[k].count = t.count;
    }
}

static void fold_compact(struct cacc *c, size_t *gathered, const struct ev_row *row,
                         enum sg_aggop op)
{
    switch (op) {
    case SG_AGG_SUM:
        fold_op(c, gathered, row, SG_AGG_SUM);
        break;
    case SG_AGG_MIN:
        fold_op(c, gathered, row, SG_AGG_MIN);
        break;
    case SG_AGG_MAX:
        fold_op(c, gathered, row, SG_AGG_MAX);
        break;
    case SG_AGG_COUNT:
        fold_op(c, gathered, row, SG_AGG_COUNT);
        break;
    default:
        fold_op(c, gathered, row, SG_AGG_GROUP);
        break;
    }
}

static int agg_row(struct ev_sink *sk, size_t idx, const struct sg_labels *ls, uint64_t hash,
                   const struct ev_row *row)
{
    struct agg_sink *as = (struct agg_sink *)sk;
    uint64_t key = sg_promql__grouping_key(as->node, ls);
    uint32_t gi = sg_promql__map_get(&as->index, key);
    enum sg_aggop op = as->op;
    struct fgroup *g = NULL;

    (void)hash;
    if (gi == UINT32_MAX) {
        int rc = new_group(as, key, ls, idx, row, &g);
        if (rc != SG_OK)
            return rc;
    } else {
        g = &as->g[gi];
        /* rows come in input order: the first series to reach the
         * earliest step is the group's place in that step's vector */
        if (row->first < g->first_step) {
            g->first_step = row->first;
            g->first_idx = idx;
        }
    }
    if (as->full) {
        struct ev_acc *a = g->a;
        for (size_t k = row->first; k <= row->last; k++) {
            if (!row->has[k])
                continue;
            as->gathered[k]++;
            if (a[k].count == 0)
                sg_promql__acc_first(&a[k], op, row->v[k]);
            else
                sg_promql__acc_add(&a[k], op, as->kahan, row->v[k]);
        }
        return SG_OK;
    }
    fold_compact(g->c, as->gathered, row, op);
    return SG_OK;
}

static void agg_free(struct agg_sink *as)
{
    for (size_t i = 0; i < as->ng; i++) {
        sg_free(as->g[i].a);
        sg_free(as->g[i].c);
    }
    sg_free(as->g);
    sg_free(as->gathered);
    sg_promql__map_free(&as->index);
}

static size_t group_count(const struct fgroup *g, bool full, size_t k)
{
    return full ? g->a[k].count : g->c[k].count;
}

static double group_value(const struct agg_sink *as, const struct fgroup *g, size_t k)
{
    struct ev_acc t;

    if (as->full)
        return sg_promql__acc_result(&g->a[k], as->op, as->kahan);
    memset(&t, 0, sizeof(t));
    t.value = g->c[k].value;
    t.count = g->c[k].count;
    return sg_promql__acc_result(&t, as->op, false);
}

struct gorder {
    size_t first_step, first_idx, g;
};

static int cmp_groups(const void *a, const void *b)
{
    const struct gorder *x = a, *y = b;

    if (x->first_step != y->first_step)
        return x->first_step < y->first_step ? -1 : 1;
    return x->first_idx < y->first_idx ? -1 : x->first_idx > y->first_idx;
}

/* After the argument: rangeEval's accounting, then the matrix. *fallback
 * when two groups share a label hash. */
static int agg_finish(struct agg_sink *as, size_t orig, struct ev_matrix *out, bool *fallback)
{
    struct ev *ev = as->ev;
    size_t temp = ev->cur, total = 0;
    struct gorder *order;
    struct ev_map seen = {0};
    int rc = SG_OK;

    *fallback = false;
    if (as->ng >= 2) {
        if (sg_promql__map_init(&seen, as->ng) != SG_OK)
            return oom(ev);
        for (size_t i = 0; i < as->ng; i++) {
            if (sg_promql__map_get(&seen, as->g[i].hash) != UINT32_MAX) {
                *fallback = true;
                break;
            }
            if (sg_promql__map_put(&seen, as->g[i].hash, 1) != SG_OK) {
                sg_promql__map_free(&seen);
                return oom(ev);
            }
        }
        sg_promql__map_free(&seen);
        if (*fallback)
            return SG_OK;
    }
    /* per step: the gathered samples, then the step's result */
    for (size_t k = 0; k < as->steps; k++) {
        size_t r = 0;
        if (as->gathered[k] == 0)
            continue;
        for (size_t i = 0; i < as->ng; i++)
            r += group_count(&as->g[i], as->full, k) > 0;
        if (temp + as->gathered[k] + r > ev->max)
            return sg_promql__too_many_samples(ev);
        temp += r;
        total += r;
    }
    order = sg_malloc((as->ng ? as->ng : 1) * sizeof(*order));
    if (!order)
        return oom(ev);
    for (size_t i = 0; i < as->ng; i++) {
        order[i].first_step = as->g[i].first_step;
        order[i].first_idx = as->g[i].first_idx;
        order[i].g = i;
    }
    if (as->ng > 1)
        qsort(order, as->ng, sizeof(*order), cmp_groups);
    for (size_t oi = 0; rc == SG_OK && oi < as->ng; oi++) {
        const struct fgroup *g = &as->g[order[oi].g];
        struct ev_series *os;
        size_t np = 0;

        for (size_t k = g->first_step; k < as->steps; k++)
            np += group_count(g, as->full, k) > 0;
        if (sg_promql__matrix_add(out, &g->labels, g->hash, np, &os) != SG_OK) {
            rc = oom(ev);
            break;
        }
        for (size_t k = g->first_step; k < as->steps; k++) {
            if (group_count(g, as->full, k) == 0)
                continue;
            os->pts[os->n].t = sg_promql__step_ts(ev, k);
            os->pts[os->n].v = group_value(as, g, k);
            os->n++;
        }
    }
    sg_free(order);
    if (rc == SG_OK)
        ev->cur = orig + total;
    return rc;
}

/* ---- vector-scalar operators ------------------------------------------------------------
 * `v OP n` / `n OP v` with a number literal n: each row becomes the row of
 * the operator's result (vector_scalar of binop.c, element by element). The
 * operator's rangeEval would gather the argument and the number at every
 * step and count its results; a series appears in its output first at the
 * step it first has a value there. */

struct vs_sink {
    struct ev_sink base;
    struct ev *ev;
    const struct sg_node *node;
    struct ev_sink *next;
    double scalar;
    bool swap; /* the number is on the left */
    bool drop_name;
    struct ev_row out;
    size_t *gathered, *produced; /* [steps] */
    uint64_t *hashes;            /* of the series passed on */
    size_t nh, hcap;
    struct ev_enh enh; /* drop_name's cache */
};

static int vs_row(struct ev_sink *sk, size_t idx, const struct sg_labels *ls, uint64_t hash,
                  const struct ev_row *row)
{
    struct vs_sink *vs = (struct vs_sink *)sk;
    struct ev_row *o = &vs->out;
    struct sg_labels ol = *ls;
    uint64_t oh = hash;

    sg_promql__row_clear(o);
    for (size_t k = row->first; k <= row->last; k++) {
        bool keep;
        double v;
        if (!row->has[k])
            continue;
        vs->gathered[k]++;
        v = sg_promql__vs_value(vs->node, row->v[k], vs->scalar, vs->swap, &keep);
        if (!keep)
            continue;
        vs->produced[k]++;
        sg_promql__row_put(o, k, v);
    }
    if (o->n == 0)
        return SG_OK;
    if (vs->drop_name && sg_promql__drop_name(&vs->enh, ls, hash, &ol, &oh) != SG_OK)
        return oom(vs->ev);
    if (vs->nh == vs->hcap) {
        size_t ncap = vs->hcap ? vs->hcap * 2 : 64;
        uint64_t *nh = sg_reallocarray(vs->hashes, ncap, sizeof(*nh));
        if (!nh)
            return oom(vs->ev);
        vs->hashes = nh;
        vs->hcap = ncap;
    }
    vs->hashes[vs->nh++] = oh;
    return vs->next->row(vs->next, idx, &ol, oh, o);
}

static void vs_free(struct vs_sink *vs)
{
    sg_promql__row_free(&vs->out);
    sg_free(vs->gathered);
    sg_free(vs->produced);
    sg_free(vs->hashes);
    sg_promql__enh_cleanup(&vs->enh);
}

/* After the argument: rangeEval's accounting of the operator. *fallback
 * when two result series share a label hash (rangeEval checks them step
 * by step). */
static int vs_finish(struct vs_sink *vs, size_t orig, size_t steps, bool *fallback)
{
    struct ev *ev = vs->ev;
    struct ev_map seen = {0};
    size_t temp, total = 0;

    *fallback = false;
    if (vs->nh >= 2) {
        if (sg_promql__map_init(&seen, vs->nh) != SG_OK)
            return oom(ev);
        for (size_t i = 0; i < vs->nh && !*fallback; i++) {
            if (sg_promql__map_get(&seen, vs->hashes[i]) != UINT32_MAX)
                *fallback = true;
            else if (sg_promql__map_put(&seen, vs->hashes[i], 1) != SG_OK) {
                sg_promql__map_free(&seen);
                return oom(ev);
            }
        }
        sg_promql__map_free(&seen);
        if (*fallback)
            return SG_OK;
    }
    /* the number (evaluated after the argument when on the right) */
    if (!vs->swap) {
        if (ev->cur + steps > ev->max)
            return sg_promql__too_many_samples(ev);
        ev->cur += steps;
    }
    temp = ev->cur;
    for (size_t k = 0; k < steps; k++) {
        /* gathered: the argument's samples and the number */
        if (temp + vs->gathered[k] + 1 + vs->produced[k] > ev->max)
            return sg_promql__too_many_samples(ev);
        temp += vs->produced[k];
        total += vs->produced[k];
    }
    ev->cur = orig + total;
    return SG_OK;
}

/* ---- chains ------------------------------------------------------------------------------ */

/* A row producer, maybe under a vector-scalar operator. */
struct chain {
    int kind; /* 1 instant selector, 2 range function */
    const struct sg_node *prod;
    size_t midx; /* the range function's range argument */
    const struct sg_node *bin;
    double scalar;
    bool swap;
};

/* The producer of arg: 0 none, 1 instant selector, 2 range function (its
 * range argument at *midx). */
static int producer_kind(const struct ev *ev, const struct sg_node *arg, size_t *midx)
{
    const struct sg_node *c = sg_promql__unwrap(arg);

    /* a step-invariant argument is evaluated once and repeated */
    if (ev->start != ev->end && sg_promql__step_invariant(arg))
        return 0;
    if (c->kind == SG_N_SELECTOR)
        return 1;
    if (c->kind == SG_N_CALL) {
        enum ev_func_id id = sg_promql__func_id(c->u.call.func);
        if (id == F_UNKNOWN || id == F_ABSENT_OVER_TIME || c->u.call.nargs > 8)
            return 0;
        for (size_t i = 0; i < c->u.call.nargs; i++) {
            const struct sg_node *a = sg_promql__unwrap(c->u.call.args[i]);
            if (a->kind == SG_N_RANGE || a->kind == SG_N_SUBQUERY) {
                *midx = i;
                return 2;
            }
        }
    }
    return 0;
}

/* bin: a vector-scalar operator with a number literal over a producer. */
static bool binop_chain(const struct ev *ev, const struct sg_node *bin, struct chain *c)
{
    const struct sg_node *l = bin->u.bin.lhs, *r = bin->u.bin.rhs, *num, *vec;

    if (bin->kind != SG_N_BINARY)
        return false;
    if (l->type == SG_VT_VECTOR && r->type == SG_VT_SCALAR) {
        vec = l;
        num = sg_promql__unwrap(r);
        c->swap = false;
    } else if (l->type == SG_VT_SCALAR && r->type == SG_VT_VECTOR) {
        vec = r;
        num = sg_promql__unwrap(l);
        c->swap = true;
    } else {
        return false;
    }
    if (num->kind != SG_N_NUMBER)
        return false;
    c->kind = producer_kind(ev, vec, &c->midx);
    if (c->kind == 0)
        return false;
    c->prod = sg_promql__unwrap(vec);
    c->bin = bin;
    c->scalar = num->u.number;
    return true;
}

/* Run the chain into sink; the caller's rangeEval started at `orig`.
 * *fallback: evaluate step by step instead (ev->cur is then orig again). */
static int run_chain(struct ev *ev, const struct chain *c, struct ev_sink *sink, size_t orig,
                     bool *fallback)
{
    struct vs_sink vs;
    size_t steps = sg_promql__num_steps(ev), borig = ev->cur;
    struct ev_sink *first = sink;
    int rc;

    *fallback = false;
    if (c->bin) {
        memset(&vs, 0, sizeof(vs));
        vs.base.row = vs_row;
        vs.ev = ev;
        vs.node = c->bin;
        vs.next = sink;
        vs.scalar = c->scalar;
        vs.swap = c->swap;
        vs.drop_name = sg_promql__vs_drops_name(c->bin);
        vs.enh.ev = ev;
        vs.enh.node = c->bin;
        vs.gathered = sg_calloc(steps, sizeof(*vs.gathered));
        vs.produced = sg_calloc(steps, sizeof(*vs.produced));
        if (!vs.gathered || !vs.produced) {
            vs_free(&vs);
            return oom(ev);
        }
        rc = sg_promql__row_init(ev, &vs.out, steps);
        if (rc != SG_OK) {
            vs_free(&vs);
            return rc;
        }
        first = &vs.base;
        /* the number on the left is evaluated first */
        if (c->swap) {
            if (ev->cur + steps > ev->max) {
                vs_free(&vs);
                return sg_promql__too_many_samples(ev);
            }
            ev->cur += steps;
        }
    }
    if (c->kind == 1)
        rc = sg_promql__selector_rows(ev, c->prod, first);
    else
        rc = sg_promql__range_call_rows(ev, c->prod, c->midx, first, NULL);
    if (rc == SG_OK && c->bin)
        rc = vs_finish(&vs, borig, steps, fallback);
    if (c->bin)
        vs_free(&vs);
    if (rc == SG_OK && *fallback)
        ev->cur = orig;
    return rc;
}

int sg_promql__fused_aggr(struct ev *ev, const struct sg_node *n, struct ev_matrix *out, bool *done)
{
    struct agg_sink as;
    struct chain c;
    size_t orig = ev->cur;
    int rc;
    bool fallback = false;

    *done = false;
    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    if (!foldable(n->u.aggr.op) || n->u.aggr.param || sg_promql__num_steps(ev) == 0)
        return SG_OK;
    c.kind = producer_kind(ev, n->u.aggr.expr, &c.midx);
    if (c.kind) {
        c.prod = sg_promql__unwrap(n->u.aggr.expr);
    } else {
        /* through a filter only where the input order does not matter:
         * the filter's output is in order of first appearance */
        if (n->u.aggr.op != SG_AGG_COUNT && n->u.aggr.op != SG_AGG_GROUP)
            return SG_OK;
        if (ev->start != ev->end && sg_promql__step_invariant(n->u.aggr.expr))
            return SG_OK;
        if (!binop_chain(ev, sg_promql__unwrap(n->u.aggr.expr), &c))
            return SG_OK;
    }
    memset(&as, 0, sizeof(as));
    as.base.row = agg_row;
    as.ev = ev;
    as.node = n;
    as.op = n->u.aggr.op;
    as.kahan = ev->compat && ev->compat->kahan_sum_aggr;
    as.full = as.kahan || as.op == SG_AGG_AVG || as.op == SG_AGG_STDDEV || as.op == SG_AGG_STDVAR;
    as.steps = sg_promql__num_steps(ev);
    as.gathered = sg_calloc(as.steps, sizeof(*as.gathered));
    if (!as.gathered)
        return oom(ev);
    *done = true;
    rc = run_chain(ev, &c, &as.base, orig, &fallback);
    if (rc == SG_OK && !fallback)
        rc = agg_finish(&as, orig, out, &fallback);
    agg_free(&as);
    if (rc != SG_OK || fallback) {
        sg_promql__matrix_free(out);
        if (fallback) {
            ev->cur = orig;
            *done = false;
        }
    }
    return rc;
}

/* The series of m in order of first appearance: by first step, stably. */
static int first_appearance(struct ev *ev, struct ev_matrix *m)
{
    size_t steps = sg_promql__num_steps(ev), *count, *key;
    struct ev_series *sorted;

    if (m->n < 2)
        return SG_OK;
    count = sg_calloc(steps + 1, sizeof(*count));
    key = sg_malloc(m->n * sizeof(*key));
    sorted = sg_malloc(m->n * sizeof(*sorted));
    if (!count || !key || !sorted) {
        sg_free(count);
        sg_free(key);
        sg_free(sorted);
        return oom(ev);
    }
    for (size_t i = 0; i < m->n; i++) {
        key[i] =
            (size_t)(((uint64_t)m->s[i].pts[0].t - (uint64_t)ev->start) / (uint64_t)ev->interval);
        count[key[i] + 1]++;
    }
    for (size_t k = 0; k < steps; k++)
        count[k + 1] += count[k];
    for (size_t i = 0; i < m->n; i++)
        sorted[count[key[i]]++] = m->s[i];
    memcpy(m->s, sorted, m->n * sizeof(*sorted));
    sg_free(count);
    sg_free(key);
    sg_free(sorted);
    return SG_OK;
}

int sg_promql__fused_binop(struct ev *ev, const struct sg_node *n, struct ev_matrix *out,
                           bool *done)
{
    struct mat_sink ms;
    struct chain c;
    size_t orig = ev->cur;
    bool fallback = false;
    int rc;

    *done = false;
    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    if (sg_promql__num_steps(ev) == 0 || !binop_chain(ev, n, &c))
        return SG_OK;
    *done = true;
    sg_promql__mat_sink_init(&ms, ev, out);
    rc = run_chain(ev, &c, &ms.base, orig, &fallback);
    if (rc == SG_OK && !fallback)
        rc = first_appearance(ev, out);
    if (rc != SG_OK || fallback) {
        sg_promql__matrix_free(out);
        if (fallback)
            *done = false;
    }
    return rc;
}
