/* src/promql/eval.c - PromQL evaluation: the node walk, selectors,
 * subqueries and the step-wise application of operators.
 *
 * Semantics are Prometheus 2.42's promql/engine.go unless a compat flag
 * says otherwise:
 * - Every node yields a matrix over all steps of its evaluator (start, end,
 *   interval); an instant query is one step. Functions, aggregations and
 *   binary operators gather, at each step, the point each argument series
 *   has at that step and call a step function (rangeEval). Per-series
 *   helpers (grouping keys, matching signatures) are computed once.
 * - Instant selector at step T: reference time T - offset (or @ - offset),
 *   the latest sample at or before it, visible if its time is not before
 *   ref - lookback (2.x: closed; compat lookback_left_open excludes the
 *   boundary), hidden when that latest sample is a stale marker.
 * - Range selector and the window of a range function: samples with
 *   maxt - range <= t <= maxt (closed in 2.x), stale markers dropped.
 * - Subquery: inner evaluation from the first multiple of the step at or
 *   after T - offset - range (2.x) up to T - offset.
 * - The sample limit counts samples held like Prometheus does (points of
 *   selector results, windows of range functions, gathered vectors and
 *   results); crossing it is "query processing would load too many samples
 *   into memory in query execution".
 * - "vector cannot contain metrics with the same labelset" is checked on
 *   every step's result and on the series of range-function results.
 *
 * Intermediate point arrays are sg_malloc'd and freed as soon as the node
 * that consumed them is done; labels built on the way live in the arena.
 * The final value is copied into the arena.
 *
 * It does no I/O and does not parse.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/eval_int.h"

#define DEFAULT_LOOKBACK_MS   (5 * 60 * 1000)
#define DEFAULT_SUBQ_STEP_MS  (60 * 1000)
#define DEFAULT_MAX_SAMPLES   50000000
#define NONE                  UINT32_MAX
/* A subquery may always take this many steps, whatever the sample limit. */
#define MIN_STEP_CAP          11000

static const char too_many_samples[] =
    "query processing would load too many samples into memory in query execution";

/* ---- small helpers ---------------------------------------------------------------- */

int sg_promql__fail(struct ev *ev, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sg_err_setv(ev->err, code, fmt, ap);
    va_end(ap);
    return code;
}

int sg_promql__too_many_samples(struct ev *ev)
{
    return sg_promql__fail(ev, SG_EEVAL, "%s", too_many_samples);
}

static int oom(struct ev *ev)
{
    return sg_promql__fail(ev, SG_ENOMEM, "out of memory during evaluation");
}

uint64_t sg_promql__labels_hash(const struct sg_labels *ls)
{
    return sg_labels_hash(ls);
}

int sg_promql__map_init(struct ev_map *m, size_t hint)
{
    size_t cap = 16;

    while (cap < hint * 2)
        cap *= 2;
    m->keys = sg_malloc(cap * sizeof(*m->keys));
    m->vals = sg_malloc(cap * sizeof(*m->vals));
    if (!m->keys || !m->vals) {
        sg_free(m->keys);
        sg_free(m->vals);
        memset(m, 0, sizeof(*m));
        return SG_ENOMEM;
    }
    memset(m->vals, 0xff, cap * sizeof(*m->vals));
    m->cap = cap;
    m->len = 0;
    return SG_OK;
}

static size_t map_slot(const struct ev_map *m, uint64_t key)
{
    uint64_t h = key * UINT64_C(0x9E3779B97F4A7C15);
    size_t j = (size_t)(h ^ (h >> 32)) & (m->cap - 1);

    while (m->vals[j] != NONE && m->keys[j] != key)
        j = (j + 1) & (m->cap - 1);
    return j;
}

uint32_t sg_promql__map_get(const struct ev_map *m, uint64_t key)
{
    if (!m->cap)
        return NONE;
    return m->vals[map_slot(m, key)];
}

int sg_promql__map_put(struct ev_map *m, uint64_t key, uint32_t val)
{
    size_t j;

    if (!m->cap && sg_promql__map_init(m, 8) != SG_OK)
        return SG_ENOMEM;
    if ((m->len + 1) * 2 > m->cap) {
        struct ev_map n;
        if (sg_promql__map_init(&n, m->cap) != SG_OK)
            return SG_ENOMEM;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->vals[i] != NONE) {
                size_t k = map_slot(&n, m->keys[i]);
                n.keys[k] = m->keys[i];
                n.vals[k] = m->vals[i];
                n.len++;
            }
        }
        sg_promql__map_free(m);
        *m = n;
    }
    j = map_slot(m, key);
    if (m->vals[j] == NONE)
        m->len++;
    m->keys[j] = key;
    m->vals[j] = val;
    return SG_OK;
}

void sg_promql__map_clear(struct ev_map *m)
{
    if (m->cap && m->len) {
        memset(m->vals, 0xff, m->cap * sizeof(*m->vals));
        m->len = 0;
    }
}

void sg_promql__map_free(struct ev_map *m)
{
    sg_free(m->keys);
    sg_free(m->vals);
    memset(m, 0, sizeof(*m));
}

int sg_promql__vec_push(struct ev_vector *v, const struct ev_sample *s)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16;
        struct ev_sample *ns = sg_reallocarray(v->s, ncap, sizeof(*ns));
        if (!ns)
            return SG_ENOMEM;
        v->s = ns;
        v->cap = ncap;
    }
    v->s[v->n++] = *s;
    return SG_OK;
}

static void vec_free(struct ev_vector *v)
{
    sg_free(v->s);
    memset(v, 0, sizeof(*v));
}

void sg_promql__matrix_free(struct ev_matrix *m)
{
    for (size_t i = 0; i < m->n; i++)
        sg_free(m->s[i].pts);
    sg_free(m->s);
    memset(m, 0, sizeof(*m));
}

#define matrix_add     sg_promql__matrix_add
#define step_invariant sg_promql__step_invariant

int sg_promql__matrix_add(struct ev_matrix *m, const struct sg_labels *ls, uint64_t hash,
                          size_t cap_hint, struct ev_series **out)
{
    struct ev_series *s;

    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        struct ev_series *ns = sg_reallocarray(m->s, ncap, sizeof(*ns));
        if (!ns)
            return SG_ENOMEM;
        m->s = ns;
        m->cap = ncap;
    }
    s = &m->s[m->n];
    memset(s, 0, sizeof(*s));
    s->labels = *ls;
    s->hash = hash;
    if (cap_hint) {
        s->pts = sg_malloc(cap_hint * sizeof(*s->pts));
        if (!s->pts)
            return SG_ENOMEM;
        s->cap = cap_hint;
    }
    m->n++;
    *out = s;
    return SG_OK;
}

static int series_push(struct ev_series *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 8;
        struct sg_sample *np = sg_reallocarray(s->pts, ncap, sizeof(*np));
        if (!np)
            return SG_ENOMEM;
        s->pts = np;
        s->cap = ncap;
    }
    s->pts[s->n].t = t;
    s->pts[s->n].v = v;
    s->n++;
    return SG_OK;
}

static size_t total_points(const struct ev_matrix *m)
{
    size_t n = 0;

    for (size_t i = 0; i < m->n; i++)
        n += m->s[i].n;
    return n;
}

/* True when two elements have the same label hash (ContainsSameLabelset). */
static int same_labelset(struct ev *ev, const uint64_t *hashes, size_t n, size_t stride,
                         bool *dup)
{
    struct ev_map seen = {0};

    *dup = false;
    if (n < 2)
        return SG_OK;
    if (n == 2) {
        *dup = hashes[0] == *(const uint64_t *)((const char *)hashes + stride);
        return SG_OK;
    }
    if (sg_promql__map_init(&seen, n) != SG_OK)
        return oom(ev);
    for (size_t i = 0; i < n; i++) {
        uint64_t h = *(const uint64_t *)((const char *)hashes + i * stride);
        if (sg_promql__map_get(&seen, h) != NONE) {
            *dup = true;
            break;
        }
        if (sg_promql__map_put(&seen, h, 1) != SG_OK) {
            sg_promql__map_free(&seen);
            return oom(ev);
        }
    }
    sg_promql__map_free(&seen);
    return SG_OK;
}

static int dup_labelset_error(struct ev *ev)
{
    return sg_promql__fail(ev, SG_EEVAL, "vector cannot contain metrics with the same labelset");
}

static int drop_name_plain(struct ev *ev, const struct sg_labels *ls, struct sg_labels *out)
{
    struct sg_labels_builder b;

    sg_labels_builder_init(&b, ev->arena, ls);
    sg_labels_builder_del(&b, sg_str_make(SG_METRIC_NAME, sizeof(SG_METRIC_NAME) - 1));
    if (sg_labels_builder_finish(&b, out) != SG_OK)
        return oom(ev);
    return SG_OK;
}

int sg_promql__drop_name(struct ev_enh *enh, const struct sg_labels *ls, uint64_t hash,
                         struct sg_labels *out, uint64_t *out_hash)
{
    uint32_t idx = sg_promql__map_get(&enh->dmn, hash);

    if (idx != NONE) {
        *out = enh->dmn_ls[idx];
        *out_hash = enh->dmn_hash[idx];
        return SG_OK;
    }
    if (!sg_labels_has(ls, sg_str_make(SG_METRIC_NAME, sizeof(SG_METRIC_NAME) - 1))) {
        *out = *ls;
        *out_hash = hash;
    } else {
        int rc = drop_name_plain(enh->ev, ls, out);
        if (rc != SG_OK)
            return rc;
        *out_hash = sg_labels_hash(out);
    }
    if (enh->dmn_n == enh->dmn_cap) {
        size_t ncap = enh->dmn_cap ? enh->dmn_cap * 2 : 64;
        struct sg_labels *nl = sg_reallocarray(enh->dmn_ls, ncap, sizeof(*nl));
        uint64_t *nh;
        if (!nl)
            return oom(enh->ev);
        enh->dmn_ls = nl;
        nh = sg_reallocarray(enh->dmn_hash, ncap, sizeof(*nh));
        if (!nh)
            return oom(enh->ev);
        enh->dmn_hash = nh;
        enh->dmn_cap = ncap;
    }
    enh->dmn_ls[enh->dmn_n] = *out;
    enh->dmn_hash[enh->dmn_n] = *out_hash;
    if (sg_promql__map_put(&enh->dmn, hash, (uint32_t)enh->dmn_n) != SG_OK)
        return oom(enh->ev);
    enh->dmn_n++;
    return SG_OK;
}

void sg_promql__enh_cleanup(struct ev_enh *enh)
{
    sg_promql__map_free(&enh->dmn);
    sg_free(enh->dmn_ls);
    sg_free(enh->dmn_hash);
    if (enh->scratch_free)
        enh->scratch_free(enh->scratch);
    memset(enh, 0, sizeof(*enh));
}

#define enh_cleanup sg_promql__enh_cleanup
#define unwrap    sg_promql__unwrap
#define num_steps sg_promql__num_steps
#define step_ts   sg_promql__step_ts

static int64_t at_time(const struct ev *ev, enum sg_at_kind k, int64_t at_ms)
{
    switch (k) {
    case SG_AT_START:
        return ev->query_start;
    case SG_AT_END:
        return ev->query_end;
    default:
        return at_ms;
    }
}

/* ---- rows and sinks ---------------------------------------------------------------------
 * A producer (a range function, an instant selector) computes one input
 * series' values at every step into a row and hands it to a sink: the
 * materialising sink appends it to a matrix, the fused ones (fused.c) fold
 * it into aggregation groups or filter it without keeping it. */

int sg_promql__row_init(struct ev *ev, struct ev_row *row, size_t steps)
{
    memset(row, 0, sizeof(*row));
    row->v = sg_malloc((steps ? steps : 1) * sizeof(*row->v));
    row->has = sg_calloc(steps ? steps : 1, 1);
    if (!row->v || !row->has) {
        sg_promql__row_free(row);
        return oom(ev);
    }
    row->steps = steps;
    return SG_OK;
}

void sg_promql__row_free(struct ev_row *row)
{
    sg_free(row->v);
    sg_free(row->has);
    memset(row, 0, sizeof(*row));
}

#define mat_sink_init sg_promql__mat_sink_init
#define row_clear sg_promql__row_clear
#define row_put   sg_promql__row_put


static int mat_row(struct ev_sink *sk, size_t idx, const struct sg_labels *ls, uint64_t hash,
                   const struct ev_row *row)
{
    struct mat_sink *m = (struct mat_sink *)sk;
    struct ev_series *os;

    (void)idx;
    if (matrix_add(m->out, ls, hash, row->n, &os) != SG_OK)
        return oom(m->ev);
    for (size_t k = row->first; row->n && k <= row->last; k++) {
        if (row->has[k]) {
            os->pts[os->n].t = step_ts(m->ev, k);
            os->pts[os->n].v = row->v[k];
            os->n++;
        }
    }
    return SG_OK;
}

void sg_promql__mat_sink_init(struct mat_sink *m, struct ev *ev, struct ev_matrix *out)
{
    memset(out, 0, sizeof(*out));
    m->base.row = mat_row;
    m->ev = ev;
    m->out = out;
}

/* ---- selections ------------------------------------------------------------------ */

static const struct sg_series_set *set_for(struct ev *ev, const struct sg_node *sel)
{
    for (size_t i = 0; i < ev->nsel && i < ev->nsets; i++) {
        if (ev->sel_nodes[i] == sel)
            return &ev->sets[i];
    }
    return NULL;
}

/* The samples of s without stale markers: s's own array when it has none,
 * else a sg_malloc'd copy in *owned. */
static int drop_stale(struct ev *ev, const struct sg_series *s, const struct sg_sample **pts,
                      size_t *n, struct sg_sample **owned)
{
    size_t k = 0;
    unsigned any = 0;

    *owned = NULL;
    /* no early exit: stale markers are rare and the plain loop is faster */
    for (size_t i = 0; i < s->count; i++)
        any |= sg_f64_bits(s->samples[i].v) == SG_STALE_NAN_BITS;
    if (!any) {
        *pts = s->samples;
        *n = s->count;
        return SG_OK;
    }
    *owned = sg_malloc((s->count ? s->count : 1) * sizeof(**owned));
    if (!*owned)
        return oom(ev);
    for (size_t i = 0; i < s->count; i++) {
        if (!sg_is_stale(s->samples[i].v))
            (*owned)[k++] = s->samples[i];
    }
    *pts = *owned;
    *n = k;
    return SG_OK;
}

/* Instant vector selector over all steps, series by series into sink
 * (eval.c's rows; see below). */
int sg_promql__selector_rows(struct ev *ev, const struct sg_node *n, struct ev_sink *sink)
{
    const struct sg_series_set *set = set_for(ev, n);
    size_t steps = num_steps(ev);
    int64_t lookback = ev->lookback;
    bool left_open = ev->compat && ev->compat->lookback_left_open;
    bool at = n->u.sel.at != SG_AT_NONE;
    int64_t at_ms = at ? at_time(ev, n->u.sel.at, n->u.sel.at_ms) : 0;
    struct ev_row row;
    int rc = SG_OK;

    if (!set || set->count == 0)
        return SG_OK;
    rc = sg_promql__row_init(ev, &row, steps);
    if (rc != SG_OK)
        return rc;
    for (size_t i = 0; rc == SG_OK && i < set->count; i++) {
        const struct sg_series *s = &set->v[i];
        size_t cur = 0; /* index of the first sample after ref */

        row_clear(&row);
        for (size_t k = 0; k < steps; k++) {
            int64_t ts = step_ts(ev, k);
            int64_t ref = sg_promql__tsub(at ? at_ms : ts, n->u.sel.offset_ms);
            const struct sg_sample *smp;

            if (at)
                cur = ref == INT64_MAX ? s->count : sg_series_lower_bound(s, ref + 1);
            else
                while (cur < s->count && s->samples[cur].t <= ref)
                    cur++;
            if (cur == 0)
                continue;
            smp = &s->samples[cur - 1];
            if (left_open ? smp->t <= sg_promql__tsub(ref, lookback)
                          : smp->t < sg_promql__tsub(ref, lookback))
                continue;
            if (sg_is_stale(smp->v))
                continue;
            if (ev->cur >= ev->max) {
                rc = sg_promql__too_many_samples(ev);
                break;
            }
            row_put(&row, k, smp->v);
            ev->cur++;
        }
        if (rc == SG_OK && row.n)
            rc = sink->row(sink, i, &s->labels, sg_labels_hash(&s->labels), &row);
    }
    sg_promql__row_free(&row);
    return rc;
}

/* The window [lo, hi) of pts with mint <= t <= maxt (mint < t with
 * compat range_left_open), advancing from the previous window. */
static void window(const struct ev *ev, const struct sg_sample *pts, size_t n, int64_t mint,
                   int64_t maxt, size_t *lo, size_t *hi)
{
    bool left_open = ev->compat && ev->compat->range_left_open;
    size_t l = *lo, h = *hi;

    if (h < l)
        h = l;
    /* windows only move forward in a range evaluation; restart otherwise */
    if (l > 0 && (l > n || (left_open ? pts[l - 1].t > mint : pts[l - 1].t >= mint)))
        l = 0;
    if (h > 0 && h <= n && pts[h - 1].t > maxt)
        h = l;
    while (l < n && (left_open ? pts[l].t <= mint : pts[l].t < mint))
        l++;
    if (h < l)
        h = l;
    while (h < n && pts[h].t <= maxt)
        h++;
    *lo = l;
    *hi = h;
}

/* A range selector at the top level (instant evaluation only). */
static int eval_matrix_selector(struct ev *ev, const struct sg_node *n, struct ev_matrix *out)
{
    const struct sg_series_set *set = set_for(ev, n);
    int64_t base = n->u.sel.at != SG_AT_NONE ? at_time(ev, n->u.sel.at, n->u.sel.at_ms) : ev->start;
    int64_t maxt = sg_promql__tsub(base, n->u.sel.offset_ms);
    int64_t mint = sg_promql__tsub(maxt, n->u.sel.range_ms);

    memset(out, 0, sizeof(*out));
    if (!set)
        return SG_OK;
    for (size_t i = 0; i < set->count; i++) {
        const struct sg_series *s = &set->v[i];
        const struct sg_sample *pts;
        struct sg_sample *owned;
        struct ev_series *os;
        size_t np, lo = 0, hi = 0;
        int rc = drop_stale(ev, s, &pts, &np, &owned);

        if (rc != SG_OK)
            return rc;
        window(ev, pts, np, mint, maxt, &lo, &hi);
        if (hi > lo) {
            if (ev->cur + (hi - lo) > ev->max) {
                sg_free(owned);
                return sg_promql__too_many_samples(ev);
            }
            if (matrix_add(out, &s->labels, sg_labels_hash(&s->labels), hi - lo, &os) != SG_OK) {
                sg_free(owned);
                return oom(ev);
            }
            memcpy(os->pts, pts + lo, (hi - lo) * sizeof(*pts));
            os->n = hi - lo;
            ev->cur += hi - lo;
        }
        sg_free(owned);
    }
    return SG_OK;
}

/* ---- the walk --------------------------------------------------------------------- */

static int eval_node(struct ev *ev, const struct sg_node *n, struct ev_val *out);


/* Prometheus's StepInvariantExpr: a step-invariant subtree of a range
 * evaluation is evaluated once, at the first step, and its instant-vector
 * or scalar result repeated for every step (counted against the sample
 * limit point by point); range selectors and subqueries are not repeated. */
static int eval_invariant(struct ev *ev, const struct sg_node *n, struct ev_val *out)
{
    struct ev once = *ev;
    const struct sg_node *u = n;
    size_t steps = num_steps(ev);
    int rc;

    while (u->kind == SG_N_PAREN)
        u = u->u.paren.expr;
    if (u->kind == SG_N_NUMBER || u->kind == SG_N_STRING || ev->start == ev->end)
        return eval_node(ev, n, out);
    once.end = once.start;
    rc = eval_node(&once, n, out);
    ev->cur = once.cur;
    if (rc != SG_OK || out->is_string || u->kind == SG_N_RANGE || u->kind == SG_N_SUBQUERY)
        return rc;
    for (size_t i = 0; i < out->m.n; i++) {
        struct ev_series *s = &out->m.s[i];
        double v;

        if (s->n != 1)
            continue;
        v = s->pts[0].v;
        for (size_t k = 1; k < steps; k++) {
            if (series_push(s, step_ts(ev, k), v) != SG_OK) {
                sg_promql__matrix_free(&out->m);
                return oom(ev);
            }
            ev->cur++;
            if (ev->cur > ev->max) {
                sg_promql__matrix_free(&out->m);
                return sg_promql__too_many_samples(ev);
            }
        }
    }
    return SG_OK;
}

/* Evaluate a child: wrapped as step invariant when it is one. */
static int eval_child(struct ev *ev, const struct sg_node *n, struct ev_val *out)
{
    if (step_invariant(n))
        return eval_invariant(ev, n, out);
    return eval_node(ev, n, out);
}

static int eval_matrix(struct ev *ev, const struct sg_node *n, struct ev_matrix *out)
{
    struct ev_val v;
    int rc = eval_child(ev, n, &v);

    if (rc != SG_OK)
        return rc;
    *out = v.m;
    return SG_OK;
}

enum prep_kind { PREP_NONE = 0, PREP_GROUPING, PREP_SIGNATURE };

/* Prometheus's rangeEval: evaluate exprs, then call fn step by step. */
static int range_eval(struct ev *ev, struct ev_enh *enh, ev_step_fn fn, enum prep_kind prep,
                      const struct sg_node *const *exprs, size_t nexprs, unsigned nowrap,
                      struct ev_matrix *out)
{
    struct ev_matrix mats[8];
    uint64_t *aux[8];
    struct ev_vector vecs[8];
    struct ev_vector result = {0};
    struct ev_map index = {0};
    size_t orig = ev->cur, temp, steps = num_steps(ev);
    int rc = SG_OK;

    memset(out, 0, sizeof(*out));
    memset(mats, 0, sizeof(mats));
    memset(aux, 0, sizeof(aux));
    memset(vecs, 0, sizeof(vecs));
    if (nexprs > 8)
        return sg_promql__fail(ev, SG_ELIMIT, "too many arguments");
    for (size_t i = 0; i < nexprs; i++) {
        if (exprs[i] && exprs[i]->type != SG_VT_STRING) {
            /* nowrap: 2.42 does not look for step invariance there */
            if (nowrap & (1u << i)) {
                struct ev_val v;
                rc = eval_node(ev, exprs[i], &v);
                mats[i] = v.m;
            } else {
                rc = eval_matrix(ev, exprs[i], &mats[i]);
            }
            if (rc != SG_OK)
                goto out;
        }
    }
    if (prep != PREP_NONE) {
        for (size_t i = 0; i < nexprs; i++) {
            aux[i] = sg_malloc((mats[i].n ? mats[i].n : 1) * sizeof(uint64_t));
            if (!aux[i]) {
                rc = oom(ev);
                goto out;
            }
            for (size_t si = 0; si < mats[i].n; si++) {
                const struct sg_labels *ls = &mats[i].s[si].labels;
                aux[i][si] = prep == PREP_GROUPING ? sg_promql__grouping_key(enh->node, ls)
                                                   : sg_promql__signature(enh->node->u.bin.matching, ls);
            }
        }
    }
    temp = ev->cur;
    for (size_t sk = 0; sk < steps; sk++) {
        int64_t ts = step_ts(ev, sk);
        bool dup;

        ev->cur = temp;
        for (size_t i = 0; i < nexprs; i++) {
            vecs[i].n = 0;
            for (size_t si = 0; si < mats[i].n; si++) {
                struct ev_series *s = &mats[i].s[si];
                if (s->pos < s->n && s->pts[s->pos].t == ts) {
                    struct ev_sample smp;
                    if (ev->cur >= ev->max) {
                        rc = sg_promql__too_many_samples(ev);
                        goto out;
                    }
                    smp.labels = s->labels;
                    smp.hash = s->hash;
                    smp.aux = aux[i] ? aux[i][si] : 0;
                    smp.v = s->pts[s->pos].v;
                    smp.t = ts;
                    if (sg_promql__vec_push(&vecs[i], &smp) != SG_OK) {
                        rc = oom(ev);
                        goto out;
                    }
                    s->pos++;
                    ev->cur++;
                }
            }
        }
        enh->ts = ts;
        result.n = 0;
        rc = fn(enh, vecs, nexprs, &result);
        if (rc != SG_OK)
            goto out;
        dup = false;
        if (result.n >= 2) {
            rc = same_labelset(ev, &result.s[0].hash, result.n, sizeof(struct ev_sample), &dup);
            if (rc != SG_OK)
                goto out;
        }
        if (dup) {
            rc = dup_labelset_error(ev);
            goto out;
        }
        ev->cur += result.n;
        temp += result.n;
        if (ev->cur > ev->max) {
            rc = sg_promql__too_many_samples(ev);
            goto out;
        }
        if (ev->start == ev->end) {
            for (size_t k = 0; k < result.n; k++) {
                struct ev_series *os;
                if (matrix_add(out, &result.s[k].labels, result.s[k].hash, 1, &os) != SG_OK) {
                    rc = oom(ev);
                    goto out;
                }
                os->pts[0].t = ts;
                os->pts[0].v = result.s[k].v;
                os->n = 1;
            }
            break;
        }
        for (size_t k = 0; k < result.n; k++) {
            uint32_t idx = sg_promql__map_get(&index, result.s[k].hash);
            struct ev_series *os;

            if (idx == NONE) {
                if (matrix_add(out, &result.s[k].labels, result.s[k].hash, steps < 16 ? steps : 16,
                               &os) != SG_OK ||
                    sg_promql__map_put(&index, result.s[k].hash, (uint32_t)(out->n - 1)) != SG_OK) {
                    rc = oom(ev);
                    goto out;
                }
            } else {
                os = &out->s[idx];
            }
            if (series_push(os, ts, result.s[k].v) != SG_OK) {
                rc = oom(ev);
                goto out;
            }
        }
    }
    ev->cur = orig + total_points(out);
out:
    for (size_t i = 0; i < nexprs; i++) {
        sg_promql__matrix_free(&mats[i]);
        sg_free(aux[i]);
        vec_free(&vecs[i]);
    }
    vec_free(&result);
    sg_promql__map_free(&index);
    if (rc != SG_OK)
        sg_promql__matrix_free(out);
    return rc;
}

/* ---- subqueries --------------------------------------------------------------------- */

static int64_t align_up(int64_t x, int64_t step, bool left_open)
{
    int64_t s = step * (x / step); /* Go's division truncates toward zero, as C's does */

    if (left_open ? s <= x : s < x)
        s = sg_promql__tadd(s, step);
    return s;
}

/* Prometheus's preprocessExprHelper: true when the node's value cannot
 * depend on the evaluation step (it is wrapped in a StepInvariantExpr and
 * evaluated once, at the evaluator's start). Aggregation parameters are
 * not looked at, as in 2.42. */
bool sg_promql__step_invariant(const struct sg_node *n)
{
    switch (n->kind) {
    case SG_N_SELECTOR:
    case SG_N_RANGE:
        return n->u.sel.at != SG_AT_NONE;
    case SG_N_AGGR:
        return step_invariant(n->u.aggr.expr);
    case SG_N_BINARY: {
        bool l = step_invariant(n->u.bin.lhs), r = step_invariant(n->u.bin.rhs);
        return l && r;
    }
    case SG_N_CALL: {
        bool inv = !sg_promql__func_at_unsafe(sg_promql__func_id(n->u.call.func));
        for (size_t i = 0; i < n->u.call.nargs; i++)
            inv = step_invariant(n->u.call.args[i]) && inv;
        return inv;
    }
    case SG_N_SUBQUERY:
        return n->u.subq.at != SG_AT_NONE;
    case SG_N_PAREN:
        return step_invariant(n->u.paren.expr);
    case SG_N_UNARY:
        return step_invariant(n->u.unary.expr);
    case SG_N_NUMBER:
    case SG_N_STRING:
        return true;
    default:
        return false;
    }
}

/* Evaluate the inner expression of a subquery; *out holds points at the
 * inner steps. `slides`: the subquery has @ and is the argument of a
 * function that is not @-safe, so 2.42 evaluates it over the outer range
 * shifted to the @ time instead of at the @ time alone. */
static int eval_subquery_inner(struct ev *ev, const struct sg_node *n, bool slides,
                               struct ev_matrix *out)
{
    struct ev sub = *ev;
    int64_t step = n->u.subq.step_ms > 0 ? n->u.subq.step_ms : ev->sub_step;
    int64_t o = n->u.subq.offset_ms, r = n->u.subq.range_ms;
    bool left_open = ev->compat && ev->compat->subquery_left_open;
    int64_t s0, e0;
    int rc;

    if (step <= 0)
        step = DEFAULT_SUBQ_STEP_MS;
    if (n->u.subq.at != SG_AT_NONE) {
        int64_t at = at_time(ev, n->u.subq.at, n->u.subq.at_ms);
        s0 = at;
        e0 = at;
        if (slides) /* see eval_range_call: the range moves with the steps */
            e0 = sg_promql__tadd(at, sg_promql__tsub(ev->end, ev->start));
    } else {
        s0 = ev->start;
        e0 = ev->end;
    }
    sub.interval = step;
    sub.end = sg_promql__tsub(e0, o);
    sub.start = align_up(sg_promql__tsub(sg_promql__tsub(s0, o), r), step, left_open);
    memset(out, 0, sizeof(*out));
    if (sub.start > sub.end && step_invariant(n->u.subq.expr)) {
        /* No step fits. A step-invariant inner expression is still
         * evaluated once at the (later) start, as 2.42 does; anything
         * else is evaluated over no step at all (see absent_over_time). */
        sub.end = sub.start;
    }
    if (num_steps(&sub) > ev->max && num_steps(&sub) > MIN_STEP_CAP)
        return sg_promql__fail(ev, SG_ELIMIT,
                               "subquery would evaluate %zu steps, more than the sample limit "
                               "allows",
                               num_steps(&sub));
    rc = eval_matrix(&sub, n->u.subq.expr, out);
    ev->cur = sub.cur;
    return rc;
}

/* ---- calls ---------------------------------------------------------------------------- */

/* timestamp(selector): the selector's own sample times, per step. */
static int timestamp_of_selector(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                                 struct ev_vector *out)
{
    struct ev *ev = enh->ev;
    const struct sg_node *sel = unwrap(enh->node->u.call.args[0]);
    const struct sg_series_set *set = set_for(ev, sel);
    int64_t ref;

    (void)args;
    (void)nargs;
    if (!set)
        return SG_OK;
    /* With @, 2.42 evaluates at the @ time and ignores the offset. */
    if (sel->u.sel.at != SG_AT_NONE)
        ref = at_time(ev, sel->u.sel.at, sel->u.sel.at_ms);
    else
        ref = sg_promql__tsub(enh->ts, sel->u.sel.offset_ms);
    for (size_t i = 0; i < set->count; i++) {
        const struct sg_series *s = &set->v[i];
        size_t k = ref == INT64_MAX ? s->count : sg_series_lower_bound(s, ref + 1);
        const struct sg_sample *smp;
        struct ev_sample o;
        bool left_open = ev->compat && ev->compat->lookback_left_open;

        if (k == 0)
            continue;
        smp = &s->samples[k - 1];
        if (left_open ? smp->t <= sg_promql__tsub(ref, ev->lookback)
                      : smp->t < sg_promql__tsub(ref, ev->lookback))
            continue;
        if (sg_is_stale(smp->v))
            continue;
        ev->cur++;
        if (ev->cur > ev->max)
            return sg_promql__too_many_samples(ev);
        if (sg_promql__drop_name(enh, &s->labels, sg_labels_hash(&s->labels), &o.labels,
                                 &o.hash) != SG_OK)
            return oom(ev);
        o.aux = 0;
        o.v = (double)smp->t / 1000;
        o.t = enh->ts;
        if (sg_promql__vec_push(out, &o) != SG_OK)
            return oom(ev);
    }
    return SG_OK;
}

/* A function with a range-vector argument: per series, per step, each
 * series' row to the sink. `absent` receives absent_over_time's result
 * (the sink must then be a matrix sink over it). */
int sg_promql__range_call_rows(struct ev *ev, const struct sg_node *n, size_t midx,
                               struct ev_sink *sink, struct ev_matrix *absent)
{
    enum ev_func_id id = sg_promql__func_id(n->u.call.func);
    const struct sg_node *arg = unwrap(n->u.call.args[midx]);
    struct ev_matrix others[8], subres = {0};
    struct ev_enh enh = {0};
    size_t steps = num_steps(ev), nargs = n->u.call.nargs, sub_total = 0;
    const struct sg_series_set *set = NULL;
    struct sg_series *subser = NULL;
    struct sg_series_set subset = {0};
    struct ev_rstate rs = {0};
    struct ev_row row = {0};
    const struct ev_row *rrow;
    struct ev_par *par = NULL;
    uint64_t *hashes = NULL;
    size_t nout = 0;
    int64_t offset, range;
    enum sg_at_kind atk;
    int64_t at_ms;
    double scalars[8];
    int64_t maxt0 = 0;
    bool slides, fast = false, plain = false;
    int rc = SG_OK;

    memset(others, 0, sizeof(others));
    if (nargs > 8)
        return sg_promql__fail(ev, SG_ELIMIT, "too many arguments");
    enh.ev = ev;
    enh.node = n;
    slides = sg_promql__func_at_unsafe(id);
    if (arg->kind == SG_N_SUBQUERY) {
        rc = eval_subquery_inner(ev, arg, slides, &subres);
        if (rc != SG_OK)
            return rc;
        sub_total = total_points(&subres);
        subser = sg_malloc((subres.n ? subres.n : 1) * sizeof(*subser));
        if (!subser) {
            sg_promql__matrix_free(&subres);
            return oom(ev);
        }
        for (size_t i = 0; i < subres.n; i++) {
            subser[i].labels = subres.s[i].labels;
            subser[i].samples = subres.s[i].pts;
            subser[i].count = subres.s[i].n;
        }
        subset.v = subser;
        subset.count = subres.n;
        set = &subset;
        offset = arg->u.subq.offset_ms;
        range = arg->u.subq.range_ms;
        atk = arg->u.subq.at;
        at_ms = arg->u.subq.at_ms;
    } else {
        set = set_for(ev, arg);
        offset = arg->u.sel.offset_ms;
        range = arg->u.sel.range_ms;
        atk = arg->u.sel.at;
        at_ms = arg->u.sel.at_ms;
    }
    for (size_t j = 0; j < nargs; j++) {
        if (j == midx || n->u.call.args[j]->type == SG_VT_STRING)
            continue;
        rc = eval_matrix(ev, n->u.call.args[j], &others[j]);
        if (rc != SG_OK)
            goto out;
    }
    /* Without @, and when no window bound can overflow, the windows are
     * [maxt0 + k*interval - range, maxt0 + k*interval]: rate, increase and
     * delta in 2.42's closed windows go the fastest way (`fast`), any other
     * function without further arguments a simpler loop (`plain`). */
    if (atk == SG_AT_NONE && steps > 0) {
        int64_t last = step_ts(ev, steps - 1), r;
        bool fits = !__builtin_sub_overflow(ev->start, offset, &maxt0) &&
                    !__builtin_sub_overflow(maxt0, range, &r) &&
                    !__builtin_sub_overflow(last, offset, &r) &&
                    !__builtin_sub_overflow(r, range, &r);
        fast = fits && (id == F_RATE || id == F_INCREASE || id == F_DELTA) &&
               !(ev->compat && (ev->compat->rate_threshold_first || ev->compat->range_left_open));
        plain = fits && !fast && nargs == 1;
    }
    rc = sg_promql__row_init(ev, &row, steps);
    if (rc == SG_OK)
        rc = sg_promql__rstate_init(ev, &rs, id);
    if (rc == SG_OK && fast && set)
        rc = sg_promql__par_new(ev, id, set, maxt0, range, steps, &par);
    if (rc == SG_OK && set && set->count) {
        hashes = sg_malloc(set->count * sizeof(*hashes));
        if (!hashes)
            rc = oom(ev);
    }
    if (rc != SG_OK)
        goto out;
    for (size_t i = 0; set && i < set->count; i++) {
        const struct sg_series *s = &set->v[i];
        const struct sg_sample *pts;
        struct sg_sample *owned;
        struct sg_labels metric = s->labels;
        uint64_t mhash;
        size_t np, lo = 0, hi = 0, step, held = 0;

        row_clear(&row);
        rrow = &row;
        if (fast) {
            size_t room = ev->cur < ev->max ? ev->max - ev->cur : 0, maxw = 0;
            bool stale = false;
            if (par) {
                /* computed ahead with unlimited room: the limit is checked here */
                rrow = sg_promql__par_get(par, i, &held, &maxw, &stale);
                if (!stale && maxw > room) {
                    rc = sg_promql__too_many_samples(ev);
                    goto out;
                }
            } else {
                rc = sg_promql__rate_rows(&enh, &rs, s->samples, s->count, maxt0, ev->interval,
                                          range, steps, room, &row, &held, &maxw, &stale);
                if (rc != SG_OK)
                    goto out;
            }
            if (stale) {
                rrow = &row;
                rc = drop_stale(ev, s, &pts, &np, &owned);
                if (rc == SG_OK) {
                    row_clear(&row);
                    rc = sg_promql__rate_rows(&enh, &rs, pts, np, maxt0, ev->interval, range,
                                              steps, room, &row, &held, &maxw, &stale);
                }
                sg_free(owned);
                if (rc != SG_OK)
                    goto out;
            }
        } else {
            rc = drop_stale(ev, s, &pts, &np, &owned);
            if (rc != SG_OK)
                goto out;
            rc = sg_promql__rstate_series(ev, &rs, id, pts, np);
            if (rc == SG_OK && plain)
                rc = sg_promql__window_rows(
                    &enh, &rs, maxt0, offset, ev->interval, range, steps,
                    ev->compat && ev->compat->range_left_open,
                    ev->cur < ev->max ? ev->max - ev->cur : 0, &row, &held);
            if (rc != SG_OK) {
                sg_free(owned);
                goto out;
            }
        }
        for (step = fast || plain ? steps : 0; step < steps; step++) {
            int64_t ts = step_ts(ev, step);
            int64_t base = ts;
            int64_t maxt;

            if (atk != SG_AT_NONE) {
                base = at_time(ev, atk, at_ms);
                /* 2.42 turns @ into an offset from the evaluator's start;
                 * under a function that is not @-safe (predict_linear)
                 * the argument is not evaluated as step invariant, so its
                 * window moves with the step. */
                if (slides)
                    base = sg_promql__tadd(base, sg_promql__tsub(ts, ev->start));
            }
            maxt = sg_promql__tsub(base, offset);
            int64_t mint = sg_promql__tsub(maxt, range);
            double v;
            bool has = false;

            for (size_t j = 0; j < nargs; j++) {
                if (j != midx && others[j].n > 0 && step < others[j].s[0].n)
                    scalars[j] = others[j].s[0].pts[step].v;
            }
            window(ev, pts, np, mint, maxt, &lo, &hi);
            held = hi - lo; /* 2.42 counts the window's points while it holds them */
            if (hi == lo)
                continue;
            if (ev->cur + (hi - lo) > ev->max) {
                sg_free(owned);
                rc = sg_promql__too_many_samples(ev);
                goto out;
            }
            enh.ts = ts;
            rc = sg_promql__rstate_step(&enh, &rs, lo, hi, scalars, mint, maxt, range, &v, &has);
            if (rc != SG_OK) {
                sg_free(owned);
                goto out;
            }
            if (has)
                row_put(&row, step, v);
        }
        if (!fast)
            sg_free(owned);
        if (rrow->n == 0)
            continue;
        if (id != F_LAST_OVER_TIME) {
            rc = drop_name_plain(ev, &s->labels, &metric);
            if (rc != SG_OK)
                goto out;
        }
        mhash = sg_labels_hash(&metric);
        /* the last step's window is still held when the series is added */
        if (ev->cur + held + rrow->n > ev->max) {
            rc = sg_promql__too_many_samples(ev);
            goto out;
        }
        ev->cur += rrow->n;
        hashes[nout++] = mhash;
        rc = sink->row(sink, i, &metric, mhash, rrow);
        if (rc != SG_OK)
            goto out;
    }
    if (id == F_ABSENT_OVER_TIME && absent) {
        /* one series of 1s at the steps where no series had a value */
        struct ev_matrix *mo = absent;
        size_t nfound = 0;
        bool *found = sg_calloc(steps ? steps : 1, sizeof(bool));
        struct sg_labels ls;
        struct ev_series *os;

        if (!found) {
            rc = oom(ev);
            goto out;
        }
        for (size_t i = 0; i < mo->n; i++) {
            for (size_t k = 0; k < mo->s[i].n; k++) {
                size_t st = (size_t)(((uint64_t)mo->s[i].pts[k].t - (uint64_t)ev->start) /
                                     (uint64_t)ev->interval);
                if (!found[st]) {
                    found[st] = true;
                    nfound++;
                }
            }
        }
        ev->cur -= total_points(mo);
        sg_promql__matrix_free(mo);
        /* With no step at all (a subquery where no step fits) 2.42 counts
         * one step and returns the series without any point. */
        if (nfound < steps || steps == 0) {
            rc = sg_promql__absent_labels(ev, arg, &ls);
            if (rc == SG_OK && matrix_add(mo, &ls, sg_labels_hash(&ls), steps - nfound, &os) != SG_OK)
                rc = oom(ev);
            for (size_t st = 0; rc == SG_OK && st < steps; st++) {
                if (!found[st]) {
                    os->pts[os->n].t = step_ts(ev, st);
                    os->pts[os->n].v = 1;
                    os->n++;
                }
            }
            ev->cur += steps - nfound;
        }
        sg_free(found);
        goto out;
    }
    {
        bool dup = false;
        if (nout >= 2)
            rc = same_labelset(ev, hashes, nout, sizeof(uint64_t), &dup);
        if (rc == SG_OK && dup)
            rc = dup_labelset_error(ev);
    }
out:
    sg_promql__par_free(par);
    for (size_t j = 0; j < nargs; j++)
        sg_promql__matrix_free(&others[j]);
    sg_free(subser);
    sg_free(hashes);
    sg_promql__matrix_free(&subres);
    sg_promql__rstate_free(&rs);
    sg_promql__row_free(&row);
    ev->cur -= sub_total < ev->cur ? sub_total : ev->cur;
    enh_cleanup(&enh);
    return rc;
}

static int eval_vector_selector(struct ev *ev, const struct sg_node *n, struct ev_matrix *out)
{
    struct mat_sink ms;
    int rc;

    mat_sink_init(&ms, ev, out);
    rc = sg_promql__selector_rows(ev, n, &ms.base);
    if (rc != SG_OK)
        sg_promql__matrix_free(out);
    return rc;
}

static int eval_range_call(struct ev *ev, const struct sg_node *n, size_t midx,
                           struct ev_matrix *out)
{
    struct mat_sink ms;
    int rc;

    mat_sink_init(&ms, ev, out);
    rc = sg_promql__range_call_rows(ev, n, midx, &ms.base, out);
    if (rc != SG_OK)
        sg_promql__matrix_free(out);
    return rc;
}

static int eval_call(struct ev *ev, const struct sg_node *n, struct ev_matrix *out)
{
    enum ev_func_id id = sg_promql__func_id(n->u.call.func);
    const struct sg_node *args[8];
    struct ev_enh enh = {0};
    size_t nargs = n->u.call.nargs;
    int rc;

    if (id == F_UNKNOWN)
        return sg_promql__fail(ev, SG_EEVAL, "function %s is not supported",
                               n->u.call.func ? n->u.call.func->name : "?");
    if (nargs > 8)
        return sg_promql__fail(ev, SG_ELIMIT, "too many arguments");
    enh.ev = ev;
    enh.node = n;
    if (id == F_TIMESTAMP && unwrap(n->u.call.args[0])->kind == SG_N_SELECTOR) {
        rc = range_eval(ev, &enh, timestamp_of_selector, PREP_NONE, NULL, 0, 0, out);
        enh_cleanup(&enh);
        return rc;
    }
    for (size_t i = 0; i < nargs; i++) {
        const struct sg_node *a = unwrap(n->u.call.args[i]);
        if (a->kind == SG_N_RANGE || a->kind == SG_N_SUBQUERY)
            return eval_range_call(ev, n, i, out);
        args[i] = a;
    }
    rc = range_eval(ev, &enh, sg_promql__call_step, PREP_NONE, args, nargs, 0, out);
    enh_cleanup(&enh);
    return rc;
}

/* ---- node dispatch ------------------------------------------------------------------ */

static int scalar_scalar_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                              struct ev_vector *out)
{
    struct ev_sample s = {0};

    (void)nargs;
    if (args[0].n == 0 || args[1].n == 0)
        return SG_OK;
    s.v = sg_promql__scalar_binop(enh->node->u.bin.op, args[0].s[0].v, args[1].s[0].v);
    s.hash = sg_labels_hash(&s.labels);
    if (sg_promql__vec_push(out, &s) != SG_OK)
        return oom(enh->ev);
    return SG_OK;
}

static int number_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                       struct ev_vector *out)
{
    struct ev_sample s = {0};

    (void)args;
    (void)nargs;
    s.v = enh->node->u.number;
    s.hash = sg_labels_hash(&s.labels);
    if (sg_promql__vec_push(out, &s) != SG_OK)
        return oom(enh->ev);
    return SG_OK;
}

static int eval_node(struct ev *ev, const struct sg_node *n, struct ev_val *out)
{
    struct ev_enh enh = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    enh.ev = ev;
    enh.node = n;
    switch (n->kind) {
    case SG_N_PAREN:
        return eval_node(ev, n->u.paren.expr, out);
    case SG_N_STRING:
        out->is_string = true;
        out->str = n->u.string;
        return SG_OK;
    case SG_N_NUMBER:
        return range_eval(ev, &enh, number_step, PREP_NONE, NULL, 0, 0, &out->m);
    case SG_N_SELECTOR:
        return eval_vector_selector(ev, n, &out->m);
    case SG_N_RANGE:
        if (ev->start != ev->end)
            return sg_promql__fail(ev, SG_EEVAL, "cannot do range evaluation of matrix selector");
        return eval_matrix_selector(ev, n, &out->m);
    case SG_N_SUBQUERY:
        return eval_subquery_inner(ev, n, false, &out->m);
    case SG_N_UNARY:
        rc = eval_matrix(ev, n->u.unary.expr, &out->m);
        if (rc != SG_OK || n->u.unary.op != '-')
            return rc;
        for (size_t i = 0; i < out->m.n; i++) {
            struct ev_series *s = &out->m.s[i];
            if (sg_labels_has(&s->labels, sg_str_make(SG_METRIC_NAME, sizeof(SG_METRIC_NAME) - 1))) {
                rc = drop_name_plain(ev, &s->labels, &s->labels);
                if (rc != SG_OK)
                    return rc;
                s->hash = sg_labels_hash(&s->labels);
            }
            for (size_t k = 0; k < s->n; k++)
                s->pts[k].v = -s->pts[k].v;
        }
        {
            bool dup = false;
            if (out->m.n >= 2)
                rc = same_labelset(ev, &out->m.s[0].hash, out->m.n, sizeof(struct ev_series), &dup);
            if (rc == SG_OK && dup)
                rc = dup_labelset_error(ev);
        }
        return rc;
    case SG_N_CALL:
        return eval_call(ev, n, &out->m);
    case SG_N_AGGR: {
        const struct sg_node *args[2];
        const struct sg_node *param = n->u.aggr.param ? unwrap(n->u.aggr.param) : NULL;
        bool done = false;
        rc = sg_promql__fused_aggr(ev, n, &out->m, &done);
        if (rc != SG_OK || done)
            return rc;
        if (param && param->kind == SG_N_STRING) {
            args[0] = n->u.aggr.expr;
            rc = range_eval(ev, &enh, sg_promql__aggr_step, PREP_GROUPING, args, 1, 0, &out->m);
        } else {
            args[0] = n->u.aggr.param;
            args[1] = n->u.aggr.expr;
            rc = range_eval(ev, &enh, sg_promql__aggr_step, PREP_GROUPING, args, 2, 1u, &out->m);
        }
        enh_cleanup(&enh);
        return rc;
    }
    case SG_N_BINARY: {
        const struct sg_node *args[2] = {n->u.bin.lhs, n->u.bin.rhs};
        enum sg_vtype lt = n->u.bin.lhs->type, rt = n->u.bin.rhs->type;
        bool done = false;
        rc = sg_promql__fused_binop(ev, n, &out->m, &done);
        if (rc != SG_OK || done)
            return rc;
        if (lt == SG_VT_SCALAR && rt == SG_VT_SCALAR)
            rc = range_eval(ev, &enh, scalar_scalar_step, PREP_NONE, args, 2, 0, &out->m);
        else
            rc = range_eval(ev, &enh, sg_promql__binop_step,
                            lt == SG_VT_VECTOR && rt == SG_VT_VECTOR ? PREP_SIGNATURE : PREP_NONE,
                            args, 2, 0, &out->m);
        enh_cleanup(&enh);
        return rc;
    }
    default:
        return sg_promql__fail(ev, SG_EEVAL, "unexpected expression node");
    }
}

/* ---- entry points ------------------------------------------------------------------- */

struct walk_ctx {
    const struct sg_node **v;
    size_t n, cap;
    bool failed;
};

static void collect(struct walk_ctx *w, const struct sg_node *n)
{
    if (!n)
        return;
    switch (n->kind) {
    case SG_N_SELECTOR:
    case SG_N_RANGE:
        if (w->n == w->cap) {
            size_t ncap = w->cap ? w->cap * 2 : 16;
            const struct sg_node **nv = sg_reallocarray(w->v, ncap, sizeof(*nv));
            if (!nv) {
                w->failed = true;
                return;
            }
            w->v = nv;
            w->cap = ncap;
        }
        w->v[w->n++] = n;
        return;
    case SG_N_PAREN:
        collect(w, n->u.paren.expr);
        return;
    case SG_N_UNARY:
        collect(w, n->u.unary.expr);
        return;
    case SG_N_SUBQUERY:
        collect(w, n->u.subq.expr);
        return;
    case SG_N_CALL:
        for (size_t i = 0; i < n->u.call.nargs; i++)
            collect(w, n->u.call.args[i]);
        return;
    case SG_N_AGGR:
        collect(w, n->u.aggr.expr);
        collect(w, n->u.aggr.param);
        return;
    case SG_N_BINARY:
        collect(w, n->u.bin.lhs);
        collect(w, n->u.bin.rhs);
        return;
    default:
        return;
    }
}

/* Selector nodes in plan order (shared with plan.c through this symbol). */
int sg_promql__selectors(const struct sg_node *expr, const struct sg_node ***out, size_t *n);
int sg_promql__selectors(const struct sg_node *expr, const struct sg_node ***out, size_t *n)
{
    struct walk_ctx w = {0};

    collect(&w, expr);
    if (w.failed) {
        sg_free(w.v);
        return SG_ENOMEM;
    }
    *out = w.v;
    *n = w.n;
    return SG_OK;
}

static int setup(struct ev *ev, const struct sg_node *expr, int64_t start, int64_t end,
                 int64_t step, const struct sg_promql_opts *opts, const struct sg_series_set *sets,
                 size_t nsets, struct sg_arena *arena, struct sg_err *err)
{
    memset(ev, 0, sizeof(*ev));
    ev->start = start;
    ev->end = end;
    ev->interval = step > 0 ? step : 1;
    ev->query_start = start;
    ev->query_end = end;
    ev->compat = opts && opts->compat ? opts->compat : sg_promql_compat_default();
    ev->lookback = opts && opts->lookback_ms > 0 ? opts->lookback_ms : DEFAULT_LOOKBACK_MS;
    ev->sub_step = opts && opts->subquery_step_ms > 0 ? opts->subquery_step_ms : DEFAULT_SUBQ_STEP_MS;
    ev->max = opts && opts->max_samples > 0 ? opts->max_samples : DEFAULT_MAX_SAMPLES;
    ev->arena = arena;
    ev->sets = sets;
    ev->nsets = nsets;
    ev->err = err;
    if (sg_promql__selectors(expr, &ev->sel_nodes, &ev->nsel) != SG_OK)
        return oom(ev);
    if (ev->nsel != nsets) {
        int rc = sg_promql__fail(ev, SG_EINVAL, "%zu series sets given for %zu selectors", nsets,
                                 ev->nsel);
        sg_free(ev->sel_nodes);
        return rc;
    }
    return SG_OK;
}

/* Copy a node's matrix into the arena as sg_series. */
static int to_arena_matrix(struct ev *ev, const struct ev_matrix *m, struct sg_value *out)
{
    struct sg_series *v = sg_arena_alloc_array(ev->arena, m->n ? m->n : 1, sizeof(*v));

    if (!v)
        return oom(ev);
    for (size_t i = 0; i < m->n; i++) {
        v[i].labels = m->s[i].labels;
        v[i].count = m->s[i].n;
        v[i].samples = sg_arena_alloc_array(ev->arena, m->s[i].n ? m->s[i].n : 1,
                                            sizeof(struct sg_sample));
        if (!v[i].samples)
            return oom(ev);
        memcpy(v[i].samples, m->s[i].pts, m->s[i].n * sizeof(struct sg_sample));
    }
    out->type = SG_VT_MATRIX;
    out->matrix = v;
    out->count = m->n;
    return SG_OK;
}

int sg_promql_eval_instant(const struct sg_node *expr, int64_t t_ms,
                           const struct sg_promql_opts *opts, const struct sg_series_set *sets,
                           size_t nsets, struct sg_arena *arena, struct sg_value *out,
                           struct sg_err *err)
{
    struct ev ev;
    struct ev_val val;
    int rc = setup(&ev, expr, t_ms, t_ms, 1, opts, sets, nsets, arena, err);

    if (rc != SG_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    rc = eval_node(&ev, expr, &val);
    if (rc != SG_OK)
        goto done;
    out->t = t_ms;
    if (val.is_string) {
        out->type = SG_VT_STRING;
        out->string = val.str;
        goto done;
    }
    switch (expr->type) {
    case SG_VT_VECTOR: {
        struct sg_vsample *v = sg_arena_alloc_array(arena, val.m.n ? val.m.n : 1, sizeof(*v));
        if (!v) {
            rc = oom(&ev);
            break;
        }
        for (size_t i = 0; i < val.m.n; i++) {
            v[i].labels = val.m.s[i].labels;
            v[i].t = t_ms;
            v[i].v = val.m.s[i].pts[0].v;
        }
        out->type = SG_VT_VECTOR;
        out->vec = v;
        out->count = val.m.n;
        break;
    }
    case SG_VT_SCALAR:
        out->type = SG_VT_SCALAR;
        out->scalar = val.m.n > 0 && val.m.s[0].n > 0 ? val.m.s[0].pts[0].v : NAN;
        break;
    case SG_VT_MATRIX:
        rc = to_arena_matrix(&ev, &val.m, out);
        break;
    default:
        rc = sg_promql__fail(&ev, SG_EEVAL, "unexpected result type");
        break;
    }
    sg_promql__matrix_free(&val.m);
done:
    sg_free(ev.sel_nodes);
    return rc;
}

static int cmp_series_labels(const void *a, const void *b)
{
    const struct sg_series *x = a, *y = b;
    return sg_labels_cmp(&x->labels, &y->labels);
}

int sg_promql_eval_range(const struct sg_node *expr, int64_t start_ms, int64_t end_ms,
                         int64_t step_ms, const struct sg_promql_opts *opts,
                         const struct sg_series_set *sets, size_t nsets, struct sg_arena *arena,
                         struct sg_value *out, struct sg_err *err)
{
    struct ev ev;
    struct ev_val val;
    int rc;

    memset(out, 0, sizeof(*out));
    if (step_ms <= 0)
        return sg_err_set(err, SG_EINVAL, "range evaluation needs a positive step");
    if (end_ms < start_ms)
        return sg_err_set(err, SG_EINVAL, "range evaluation ends before it starts");
    if (expr->type != SG_VT_SCALAR && expr->type != SG_VT_VECTOR)
        return sg_err_set(err, SG_ETYPE,
                          "invalid expression type \"%s\" for range query, must be Scalar or "
                          "instant Vector",
                          expr->type == SG_VT_MATRIX ? "range vector" : "string");
    rc = setup(&ev, expr, start_ms, end_ms, step_ms, opts, sets, nsets, arena, err);
    if (rc != SG_OK)
        return rc;
    rc = eval_child(&ev, expr, &val);
    if (rc == SG_OK) {
        rc = to_arena_matrix(&ev, &val.m, out);
        if (rc == SG_OK && out->count > 1)
            qsort(out->matrix, out->count, sizeof(*out->matrix), cmp_series_labels);
        out->t = start_ms;
        sg_promql__matrix_free(&val.m);
    }
    sg_free(ev.sel_nodes);
    return rc;
}
