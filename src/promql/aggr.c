/* src/promql/aggr.c - aggregation operators, one step at a time, as
 * Prometheus 2.42's engine.go aggregation() computes them.
 *
 * - Groups are formed in order of first appearance; `by` keeps only the
 *   listed labels, `without` drops them and __name__, neither gives one
 *   group without labels.
 * - sum adds in input order without compensation; avg keeps an incremental
 *   mean (mean += v/n - mean/n) with 2.42's special cases for infinities;
 *   min/max replace a NaN running value; stddev/stdvar use Welford's
 *   update without compensation.
 * - topk/bottomk keep a binary heap exactly like Go's container/heap over
 *   Prometheus's comparators (a NaN at the top is always replaced), then
 *   sort it with sort.Sort, so ties pick the same series as Prometheus.
 *   k is truncated to an integer; NaN or beyond int64 is the error "Scalar
 *   value NaN overflows int64"; k < 1 gives nothing.
 * - count_values renders the value with Go's 'f' format as a label and, for
 *   `by`, adds that label to the grouping.
 * - quantile uses the shared quantile() of funcs.c.
 * - With the compat flag kahan_sum_aggr (later versions), sum uses
 *   Kahan-Neumaier compensation and avg a compensated sum that turns into
 *   a compensated incremental mean when the sum would overflow.
 *
 * It does not evaluate arguments; eval.c gathers them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/eval_int.h"
#include "stopgate/num.h"

double sg_promql__quantile(double q, double *v, size_t n);

struct group {
    struct sg_labels labels;
    uint64_t hash;
    struct ev_acc acc;
    bool has_float;
    struct ev_sample *heap; /* topk/bottomk */
    size_t hn, hcap;
    double *vals; /* quantile */
    size_t vn, vcap;
};

struct aggr_state {
    struct group *g;
    size_t n, cap;
    struct ev_map index;   /* grouping key -> group, per step */
    struct ev_map lcache;  /* grouping key -> cached label index */
    struct sg_labels *cls;
    uint64_t *chash;
    size_t cn, ccap;
    struct sg_str *grouping; /* sorted, plus the count_values label */
    size_t ngrouping;
};

static void aggr_free(void *p)
{
    struct aggr_state *st = p;

    if (!st)
        return;
    for (size_t i = 0; i < st->cap; i++) {
        sg_free(st->g[i].heap);
        sg_free(st->g[i].vals);
    }
    sg_free(st->g);
    sg_promql__map_free(&st->index);
    sg_promql__map_free(&st->lcache);
    sg_free(st->cls);
    sg_free(st->chash);
    sg_free(st);
}

static int oom(struct ev *ev)
{
    return sg_promql__fail(ev, SG_ENOMEM, "out of memory during evaluation");
}

uint64_t sg_promql__grouping_key(const struct sg_node *aggr, const struct sg_labels *ls)
{
    if (aggr->u.aggr.without)
        return sg_labels_hash_without(ls, aggr->u.aggr.grouping, aggr->u.aggr.ngrouping, true);
    if (aggr->u.aggr.ngrouping == 0)
        return 0;
    return sg_labels_hash_for(ls, aggr->u.aggr.grouping, aggr->u.aggr.ngrouping);
}

/* container/heap over a vector with less(i, j) */
typedef bool (*heap_less)(const struct ev_sample *h, size_t i, size_t j);

static bool less_topk(const struct ev_sample *h, size_t i, size_t j)
{
    if (isnan(h[i].v))
        return true;
    return h[i].v < h[j].v;
}

static bool less_bottomk(const struct ev_sample *h, size_t i, size_t j)
{
    if (isnan(h[i].v))
        return true;
    return h[i].v > h[j].v;
}

static void hswap(struct ev_sample *h, size_t i, size_t j)
{
    struct ev_sample t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void heap_up(struct ev_sample *h, size_t j, heap_less less)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!less(h, j, i))
            break;
        hswap(h, i, j);
        j = i;
    }
}

static void heap_down(struct ev_sample *h, size_t i, size_t n, heap_less less)
{
    for (;;) {
        size_t j1 = 2 * i + 1, j;
        if (j1 >= n)
            break;
        j = j1;
        if (j1 + 1 < n && less(h, j1 + 1, j1))
            j = j1 + 1;
        if (!less(h, j, i))
            break;
        hswap(h, i, j);
        i = j;
    }
}

struct sort_ctx {
    struct ev_sample *h;
    heap_less less;
};

/* sort.Reverse: less(i, j) = inner less(j, i) */
static bool rev_less(void *ctx, size_t i, size_t j)
{
    struct sort_ctx *c = ctx;
    return c->less(c->h, j, i);
}

static void rev_swap(void *ctx, size_t i, size_t j)
{
    struct sort_ctx *c = ctx;
    hswap(c->h, i, j);
}

static bool convertible_to_int64(double v)
{
    return v <= 9223372036854774784.0 && v >= -9223372036854775808.0;
}

static int group_labels(struct ev *ev, struct aggr_state *st, const struct sg_node *n,
                        uint64_t key, const struct sg_labels *metric, bool recompute,
                        struct sg_labels *out, uint64_t *out_hash)
{
    uint32_t ci = recompute ? UINT32_MAX : sg_promql__map_get(&st->lcache, key);
    struct sg_labels_builder b;

    if (ci != UINT32_MAX) {
        *out = st->cls[ci];
        *out_hash = st->chash[ci];
        return SG_OK;
    }
    if (n->u.aggr.without) {
        sg_labels_builder_init(&b, ev->arena, metric);
        for (size_t i = 0; i < n->u.aggr.ngrouping; i++)
            sg_labels_builder_del(&b, n->u.aggr.grouping[i]);
        sg_labels_builder_del(&b, sg_str_make(SG_METRIC_NAME, sizeof(SG_METRIC_NAME) - 1));
        if (sg_labels_builder_finish(&b, out) != SG_OK)
            return oom(ev);
    } else if (st->ngrouping > 0) {
        sg_labels_builder_init(&b, ev->arena, metric);
        sg_labels_builder_keep(&b, st->grouping, st->ngrouping);
        if (sg_labels_builder_finish(&b, out) != SG_OK)
            return oom(ev);
    } else {
        out->v = NULL;
        out->count = 0;
    }
    *out_hash = sg_labels_hash(out);
    if (recompute)
        return SG_OK;
    if (st->cn == st->ccap) {
        size_t ncap = st->ccap ? st->ccap * 2 : 16;
        struct sg_labels *nl = sg_reallocarray(st->cls, ncap, sizeof(*nl));
        uint64_t *nh;
        if (!nl)
            return oom(ev);
        st->cls = nl;
        nh = sg_reallocarray(st->chash, ncap, sizeof(*nh));
        if (!nh)
            return oom(ev);
        st->chash = nh;
        st->ccap = ncap;
    }
    st->cls[st->cn] = *out;
    st->chash[st->cn] = *out_hash;
    if (sg_promql__map_put(&st->lcache, key, (uint32_t)st->cn) != SG_OK)
        return oom(ev);
    st->cn++;
    return SG_OK;
}

static int heap_push(struct ev *ev, struct group *g, const struct ev_sample *s)
{
    if (g->hn == g->hcap) {
        size_t ncap = g->hcap ? g->hcap * 2 : 8;
        struct ev_sample *nh = sg_reallocarray(g->heap, ncap, sizeof(*nh));
        if (!nh)
            return oom(ev);
        g->heap = nh;
        g->hcap = ncap;
    }
    g->heap[g->hn++] = *s;
    return SG_OK;
}

static int vals_push(struct ev *ev, struct group *g, double v)
{
    if (g->vn == g->vcap) {
        size_t ncap = g->vcap ? g->vcap * 2 : 8;
        double *nv = sg_reallocarray(g->vals, ncap, sizeof(*nv));
        if (!nv)
            return oom(ev);
        g->vals = nv;
        g->vcap = ncap;
    }
    g->vals[g->vn++] = v;
    return SG_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return sg_str_cmp(*(const struct sg_str *)a, *(const struct sg_str *)b);
}

static int state_init(struct ev_enh *enh, struct aggr_state **out)
{
    const struct sg_node *n = enh->node;
    struct ev *ev = enh->ev;
    struct aggr_state *st = enh->scratch;

    if (st) {
        *out = st;
        return SG_OK;
    }
    st = sg_calloc(1, sizeof(*st));
    if (!st)
        return oom(ev);
    enh->scratch = st;
    enh->scratch_free = aggr_free;
    st->grouping = sg_arena_alloc_array(ev->arena, n->u.aggr.ngrouping + 1, sizeof(struct sg_str));
    if (!st->grouping)
        return oom(ev);
    if (n->u.aggr.ngrouping)
        memcpy(st->grouping, n->u.aggr.grouping, n->u.aggr.ngrouping * sizeof(struct sg_str));
    st->ngrouping = n->u.aggr.ngrouping;
    if (n->u.aggr.op == SG_AGG_COUNT_VALUES && !n->u.aggr.without) {
        const struct sg_node *p = n->u.aggr.param;
        while (p && p->kind == SG_N_PAREN)
            p = p->u.paren.expr;
        if (p && p->kind == SG_N_STRING)
            st->grouping[st->ngrouping++] = p->u.string;
    }
    if (st->ngrouping > 1)
        qsort(st->grouping, st->ngrouping, sizeof(*st->grouping), cmp_str);
    *out = st;
    return SG_OK;
}

int sg_promql__aggr_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                         struct ev_vector *out)
{
    const struct sg_node *n = enh->node;
    struct ev *ev = enh->ev;
    enum sg_aggop op = n->u.aggr.op;
    struct ev_vector *vec = nargs == 2 ? &args[1] : &args[0];
    double param = nargs == 2 && args[0].n > 0 ? args[0].s[0].v : 0;
    struct aggr_state *st = NULL;
    struct sg_str value_label = {"", 0};
    struct sg_buf vbuf;
    bool kahan = ev->compat && ev->compat->kahan_sum_aggr;
    int64_t k = 0;
    int rc = state_init(enh, &st);

    if (rc != SG_OK)
        return rc;
    if (op == SG_AGG_TOPK || op == SG_AGG_BOTTOMK) {
        if (!convertible_to_int64(param)) {
            char tmp[SG_NUM_FMT_MAX];
            sg_num_format(param, 'g', tmp, sizeof(tmp));
            return sg_promql__fail(ev, SG_EEVAL, "Scalar value %s overflows int64", tmp);
        }
        k = (int64_t)param;
        if (k < 1)
            return SG_OK;
    }
    if (op == SG_AGG_COUNT_VALUES) {
        const struct sg_node *p = n->u.aggr.param;
        while (p && p->kind == SG_N_PAREN)
            p = p->u.paren.expr;
        if (p && p->kind == SG_N_STRING)
            value_label = p->u.string;
        if (!sg_label_name_valid(value_label)) {
            struct sg_buf q;
            sg_buf_init(&q, 4096);
            if (sg_quote_go(value_label, &q) != SG_OK) {
                sg_buf_cleanup(&q);
                return oom(ev);
            }
            rc = sg_promql__fail(ev, SG_EEVAL, "invalid label name %s", sg_buf_cstr(&q));
            sg_buf_cleanup(&q);
            return rc;
        }
    }
    sg_promql__map_clear(&st->index);
    st->n = 0;
    sg_buf_init(&vbuf, 512);
    for (size_t si = 0; si < vec->n; si++) {
        const struct ev_sample *s = &vec->s[si];
        struct sg_labels metric = s->labels;
        uint64_t key = s->aux;
        uint32_t gi;
        struct group *g;

        if (op == SG_AGG_COUNT_VALUES) {
            char tmp[SG_NUM_FMT_MAX];
            size_t len = sg_num_format(s->v, 'f', tmp, sizeof(tmp));
            struct sg_labels_builder b;
            struct sg_str val;
            if (sg_arena_str(ev->arena, sg_str_make(tmp, len), &val) != SG_OK) {
                rc = oom(ev);
                break;
            }
            sg_labels_builder_init(&b, ev->arena, &s->labels);
            sg_labels_builder_set(&b, value_label, val);
            if (sg_labels_builder_finish(&b, &metric) != SG_OK) {
                rc = oom(ev);
                break;
            }
            if (n->u.aggr.without)
                key = sg_labels_hash_without(&metric, n->u.aggr.grouping, n->u.aggr.ngrouping, true);
            else
                key = sg_labels_hash_for(&metric, st->grouping, st->ngrouping);
        }
        gi = sg_promql__map_get(&st->index, key);
        if (gi == UINT32_MAX) {
            if (st->n == st->cap) {
                size_t ncap = st->cap ? st->cap * 2 : 8;
                struct group *ng = sg_reallocarray(st->g, ncap, sizeof(*ng));
                if (!ng) {
                    rc = oom(ev);
                    break;
                }
                memset(ng + st->cap, 0, (ncap - st->cap) * sizeof(*ng));
                st->g = ng;
                st->cap = ncap;
            }
            g = &st->g[st->n];
            rc = group_labels(ev, st, n, key, &metric, op == SG_AGG_COUNT_VALUES, &g->labels,
                              &g->hash);
            if (rc != SG_OK)
                break;
            if (sg_promql__map_put(&st->index, key, (uint32_t)st->n) != SG_OK) {
                rc = oom(ev);
                break;
            }
            st->n++;
            sg_promql__acc_first(&g->acc, op, s->v);
            g->has_float = true;
            g->hn = 0;
            g->vn = 0;
            switch (op) {
            case SG_AGG_TOPK:
            case SG_AGG_BOTTOMK:
                rc = heap_push(ev, g, s);
                break;
            case SG_AGG_QUANTILE:
                rc = vals_push(ev, g, s->v);
                break;
            default:
                break;
            }
            if (rc != SG_OK)
                break;
            continue;
        }
        g = &st->g[gi];
        switch (op) {
        case SG_AGG_TOPK:
        case SG_AGG_BOTTOMK: {
            heap_less less = op == SG_AGG_TOPK ? less_topk : less_bottomk;
            bool replace = op == SG_AGG_TOPK ? g->heap[0].v < s->v : g->heap[0].v > s->v;
            if ((int64_t)g->hn < k || replace || isnan(g->heap[0].v)) {
                if ((int64_t)g->hn == k) {
                    if (k == 1) {
                        g->heap[0] = *s;
                        break;
                    }
                    /* heap.Pop */
                    hswap(g->heap, 0, g->hn - 1);
                    heap_down(g->heap, 0, g->hn - 1, less);
                    g->hn--;
                }
                rc = heap_push(ev, g, s);
                if (rc == SG_OK)
                    heap_up(g->heap, g->hn - 1, less);
            }
            break;
        }
        case SG_AGG_QUANTILE:
            rc = vals_push(ev, g, s->v);
            break;
        default:
            sg_promql__acc_add(&g->acc, op, kahan, s->v);
            break;
        }
        if (rc != SG_OK)
            break;
    }
    sg_buf_cleanup(&vbuf);
    if (rc != SG_OK)
        return rc;
    for (size_t gi = 0; gi < st->n; gi++) {
        struct group *g = &st->g[gi];
        struct ev_sample o = {0};

        o.labels = g->labels;
        o.hash = g->hash;
        o.t = enh->ts;
        switch (op) {
        case SG_AGG_TOPK:
        case SG_AGG_BOTTOMK: {
            struct sort_ctx c = {g->heap, op == SG_AGG_TOPK ? less_topk : less_bottomk};
            if (g->hn > 1)
                sg_promql__go_sort(&c, g->hn, rev_less, rev_swap);
            for (size_t i = 0; i < g->hn; i++) {
                o = g->heap[i];
                o.t = enh->ts;
                if (sg_promql__vec_push(out, &o) != SG_OK)
                    return oom(ev);
            }
            continue;
        }
        case SG_AGG_QUANTILE:
            o.v = sg_promql__quantile(param, g->vals, g->vn);
            break;
        default:
            o.v = sg_promql__acc_result(&g->acc, op, kahan);
            break;
        }
        if (sg_promql__vec_push(out, &o) != SG_OK)
            return oom(ev);
    }
    return SG_OK;
}
