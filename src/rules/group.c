/* src/rules/group.c - rule-group evaluation (Prometheus 2.42's Group.Eval,
 * AlertingRule.Eval and RecordingRule.Eval in rules/).
 *
 * sg_rules_eval_group at time t, for each rule in file order:
 *   1. plan the expression's selections at t and fetch them through the
 *      source; evaluate the expression as an instant query at t (a scalar
 *      becomes one sample without labels; strings and matrices are
 *      "rule result is not a vector or scalar");
 *   2. recording rule: every sample gets __name__ = the record name and the
 *      rule labels (an empty value deletes); two samples with the same
 *      label set fail the rule; more samples than the group limit fail it;
 *   3. alerting rule: every sample becomes an alert label set (sample
 *      labels minus __name__, rule labels expanded as templates, then
 *      alertname) with its annotations expanded; duplicates fail the rule;
 *      the alerts held step through sg_alert_step; every pending or firing
 *      alert writes ALERTS{...,alertstate} 1 and ALERTS_FOR_STATE = ActiveAt
 *      in Unix seconds (both labelled rule labels as written, then the
 *      alert's labels); more active alerts than the limit clear them all and
 *      fail the rule;
 *   4. the samples are appended to the output store at t; a series written
 *      at the same t with a different value by an earlier rule is
 *      "duplicate sample for timestamp" and fails this rule (as the TSDB
 *      appender does), a same value is accepted;
 *   5. series the rule returned at its previous successful evaluation but
 *      not now get a stale marker at t (unless something was written there
 *      at t already); a failed evaluation writes nothing and keeps the
 *      previous series.
 * The rule's status (health, last error text) is updated every time.
 *
 * Alert label sets are kept in memory owned by the state, one allocation
 * per alert; everything per evaluation lives in a scratch arena that is
 * reset after each rule.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"
#include "stopgate/clock.h"

#define DEFAULT_SCRATCH ((size_t)1 << 30)
#define MAX_TEMPLATE_OUT ((size_t)1 << 20)

/* ---- owned label sets -------------------------------------------------------------------- */

/* A label set in one allocation: the array, then the strings. */
static int pack_labels(const struct sg_labels *in, struct sg_labels *out, void **block)
{
    size_t bytes = (size_t)in->count * sizeof(struct sg_label);
    struct sg_label *v;
    char *p;

    for (uint32_t i = 0; i < in->count; i++)
        bytes += in->v[i].name.len + in->v[i].value.len + 2;
    *block = sg_malloc(bytes ? bytes : 1);
    if (!*block)
        return SG_ENOMEM;
    v = *block;
    p = (char *)(v + in->count);
    for (uint32_t i = 0; i < in->count; i++) {
        memcpy(p, in->v[i].name.ptr, in->v[i].name.len);
        p[in->v[i].name.len] = 0;
        v[i].name = sg_str_make(p, in->v[i].name.len);
        p += in->v[i].name.len + 1;
        if (in->v[i].value.len)
            memcpy(p, in->v[i].value.ptr, in->v[i].value.len);
        p[in->v[i].value.len] = 0;
        v[i].value = sg_str_make(p, in->v[i].value.len);
        p += in->v[i].value.len + 1;
    }
    out->v = v;
    out->count = in->count;
    return SG_OK;
}

/* ---- a set of label sets keyed by hash ---------------------------------------------------- */

struct lset_entry {
    uint64_t hash;
    struct sg_labels labels;
    void *block; /* owned */
};

struct lset {
    struct lset_entry *v;
    size_t n, cap;
};

static void lset_clear(struct lset *s)
{
    for (size_t i = 0; i < s->n; i++)
        sg_free(s->v[i].block);
    s->n = 0;
}

static void lset_free(struct lset *s)
{
    lset_clear(s);
    sg_free(s->v);
    memset(s, 0, sizeof(*s));
}

static int lset_add(struct lset *s, uint64_t h, const struct sg_labels *ls)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        void *p = sg_reallocarray(s->v, cap, sizeof(*s->v));
        if (!p)
            return SG_ENOMEM;
        s->v = p;
        s->cap = cap;
    }
    if (pack_labels(ls, &s->v[s->n].labels, &s->v[s->n].block) != SG_OK)
        return SG_ENOMEM;
    s->v[s->n].hash = h;
    s->n++;
    return SG_OK;
}

/* ---- state ---------------------------------------------------------------------------------- */

struct alert_entry {
    uint64_t hash;
    struct sg_alert a;
    void *labels_block, *annotations_block; /* owned */
};

struct rule_state {
    struct sg_rule_status status;
    struct alert_entry *alerts;
    size_t nalerts, cap;
    struct lset prev; /* series returned by the last successful evaluation */
};

/* what was written at the current tick, to see duplicate samples */
struct written {
    int64_t t;
    bool valid;
    uint64_t *keys;   /* label hash; 0 = empty slot (hash 0 is remapped) */
    uint64_t *bits;   /* value bits */
    size_t len, cap;
};

struct sg_rules_state {
    const struct sg_ruleset *rs;
    struct sg_rules_eval_opts opts;
    struct sg_promql_opts promql;
    struct rule_state *rules; /* all rules of all groups, in order */
    size_t *group_first;      /* index of each group's first rule */
    size_t ngroups, nrules;
    struct sg_arena scratch;
    struct written written;
};

static struct rule_state *rstate(const struct sg_rules_state *st, const struct sg_rule *r)
{
    size_t g = r->group->index;
    if (g >= st->ngroups || r->index >= r->group->nrules)
        return NULL;
    return &st->rules[st->group_first[g] + r->index];
}

static void alert_free(struct alert_entry *e)
{
    sg_free(e->labels_block);
    sg_free(e->annotations_block);
}

int sg_rules_state_new(const struct sg_ruleset *rs, const struct sg_rules_eval_opts *opts,
                       struct sg_rules_state **out, struct sg_err *err)
{
    struct sg_rules_state *st;
    size_t ng;
    const struct sg_rule_group *groups = sg_ruleset_groups(rs, &ng);
    size_t total = 0;

    st = sg_calloc(1, sizeof(*st));
    if (!st)
        return sg_err_set(err, SG_ENOMEM, "rules: out of memory");
    if (opts)
        st->opts = *opts;
    if (st->opts.promql)
        st->promql = *st->opts.promql;
    st->rs = rs;
    st->ngroups = ng;
    st->group_first = sg_calloc(ng + 1, sizeof(*st->group_first));
    if (!st->group_first)
        goto oom;
    for (size_t g = 0; g < ng; g++) {
        st->group_first[g] = total;
        total += groups[g].nrules;
    }
    st->group_first[ng] = total;
    st->nrules = total;
    st->rules = sg_calloc(total + 1, sizeof(*st->rules));
    if (!st->rules)
        goto oom;
    for (size_t i = 0; i < total; i++)
        st->rules[i].status.last_eval_ms = SG_TIME_UNSET;
    sg_arena_init(&st->scratch,
                  st->opts.max_scratch_bytes ? st->opts.max_scratch_bytes : DEFAULT_SCRATCH);
    *out = st;
    return SG_OK;
oom:
    sg_free(st->group_first);
    sg_free(st);
    return sg_err_set(err, SG_ENOMEM, "rules: out of memory");
}

void sg_rules_state_free(struct sg_rules_state *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nrules; i++) {
        struct rule_state *r = &st->rules[i];
        for (size_t k = 0; k < r->nalerts; k++)
            alert_free(&r->alerts[k]);
        sg_free(r->alerts);
        lset_free(&r->prev);
    }
    sg_free(st->rules);
    sg_free(st->group_first);
    sg_free(st->written.keys);
    sg_free(st->written.bits);
    sg_arena_cleanup(&st->scratch);
    sg_free(st);
}

const struct sg_rule_status *sg_rules_rule_status(const struct sg_rules_state *st,
                                                  const struct sg_rule *rule)
{
    struct rule_state *r = st && rule ? rstate(st, rule) : NULL;
    return r ? &r->status : NULL;
}

/* ---- written samples of the current tick ------------------------------------------------- */

static uint64_t wkey(uint64_t h)
{
    return h ? h : 1;
}

static int written_grow(struct written *w)
{
    size_t ncap = w->cap ? w->cap * 2 : 256;
    uint64_t *nk = sg_calloc(ncap, sizeof(*nk)), *nb = sg_calloc(ncap, sizeof(*nb));

    if (!nk || !nb) {
        sg_free(nk);
        sg_free(nb);
        return SG_ENOMEM;
    }
    for (size_t i = 0; i < w->cap; i++) {
        size_t j;
        if (!w->keys[i])
            continue;
        j = (size_t)w->keys[i] & (ncap - 1);
        while (nk[j])
            j = (j + 1) & (ncap - 1);
        nk[j] = w->keys[i];
        nb[j] = w->bits[i];
    }
    sg_free(w->keys);
    sg_free(w->bits);
    w->keys = nk;
    w->bits = nb;
    w->cap = ncap;
    return SG_OK;
}

static void written_at(struct written *w, int64_t t)
{
    if (!w->valid || w->t != t) {
        if (w->keys)
            memset(w->keys, 0, w->cap * sizeof(*w->keys));
        w->len = 0;
        w->t = t;
        w->valid = true;
    }
}

/* The value written at this tick for label hash h: true and *bits. */
static bool written_get(const struct written *w, uint64_t h, uint64_t *bits)
{
    size_t j;

    if (!w->cap)
        return false;
    h = wkey(h);
    j = (size_t)h & (w->cap - 1);
    while (w->keys[j]) {
        if (w->keys[j] == h) {
            *bits = w->bits[j];
            return true;
        }
        j = (j + 1) & (w->cap - 1);
    }
    return false;
}

static int written_put(struct written *w, uint64_t h, uint64_t bits)
{
    size_t j;

    if ((w->len + 1) * 2 > w->cap && written_grow(w) != SG_OK)
        return SG_ENOMEM;
    h = wkey(h);
    j = (size_t)h & (w->cap - 1);
    while (w->keys[j] && w->keys[j] != h)
        j = (j + 1) & (w->cap - 1);
    if (!w->keys[j])
        w->len++;
    w->keys[j] = h;
    w->bits[j] = bits;
    return SG_OK;
}

/* ---- sources ---------------------------------------------------------------------------------- */

static int store_select(void *arg, const struct sg_rule *rule,
                        const struct sg_promql_selection *sels, size_t n, struct sg_arena *a,
                        struct sg_series_set *sets, struct sg_err *err)
{
    const struct sg_store *st = arg;

    (void)rule;
    for (size_t i = 0; i < n; i++) {
        int rc = sg_store_select(st, sels[i].matchers, sels[i].nmatchers, sels[i].mint_ms,
                                 sels[i].maxt_ms, a, &sets[i], err);
        if (rc != SG_OK)
            return rc;
    }
    return SG_OK;
}

void sg_rules_source_store(struct sg_rules_source *src, const struct sg_store *st)
{
    src->select = store_select;
    src->arg = (void *)(uintptr_t)st;
}

static int prefetched_select(void *arg, const struct sg_rule *rule,
                             const struct sg_promql_selection *sels, size_t n,
                             struct sg_arena *a, struct sg_series_set *sets, struct sg_err *err)
{
    const struct sg_rules_prefetched *pf = arg;
    const struct sg_rules_plan *plan = pf->plan;
    size_t first, count;

    if (!plan || plan->group != rule->group || rule->index >= plan->nrules)
        return sg_err_set(err, SG_EINVAL, "rule %.*s: no fetched data for its group",
                          (int)rule->name.len, rule->name.ptr);
    first = plan->first[rule->index];
    count = plan->first[rule->index + 1] - first;
    if (count != n)
        return sg_err_set(err, SG_EINVAL, "rule %.*s: fetched data was planned for another time",
                          (int)rule->name.len, rule->name.ptr);
    for (size_t i = 0; i < n; i++) {
        int rc = sg_rules_merge_local(&sels[i], pf->sets ? &pf->sets[first + i] : NULL, pf->local,
                                      a, &sets[i], err);
        if (rc != SG_OK)
            return rc;
    }
    return SG_OK;
}

void sg_rules_source_prefetched(struct sg_rules_source *src, struct sg_rules_prefetched *pf,
                                const struct sg_rules_plan *plan,
                                const struct sg_series_set *sets, const struct sg_store *local)
{
    pf->plan = plan;
    pf->sets = sets;
    pf->local = local;
    src->select = prefetched_select;
    src->arg = pf;
}

static int cmp_series(const void *a, const void *b)
{
    return sg_labels_cmp(&((const struct sg_series *)a)->labels,
                         &((const struct sg_series *)b)->labels);
}

/* samples of r restricted to [mint, maxt] */
static void window(const struct sg_series *s, int64_t mint, int64_t maxt, size_t *lo, size_t *hi)
{
    size_t i = sg_series_lower_bound(s, mint), j = i;
    while (j < s->count && s->samples[j].t <= maxt)
        j++;
    *lo = i;
    *hi = j;
}

int sg_rules_merge_local(const struct sg_promql_selection *sel, const struct sg_series_set *remote,
                         const struct sg_store *local, struct sg_arena *a,
                         struct sg_series_set *out, struct sg_err *err)
{
    struct sg_series_set loc = {NULL, 0, true};
    struct sg_series *rv = NULL, *res;
    size_t nr = remote ? remote->count : 0, i = 0, j = 0, n = 0;
    int rc;

    if (local) {
        rc = sg_store_select(local, sel->matchers, sel->nmatchers, sel->mint_ms, sel->maxt_ms, a,
                             &loc, err);
        if (rc != SG_OK)
            return rc;
    }
    if (loc.count == 0 && remote) {
        *out = *remote;
        return SG_OK;
    }
    if (nr) {
        rv = sg_arena_alloc_array(a, nr, sizeof(*rv));
        if (!rv)
            return sg_err_set(err, SG_ENOMEM, "rules: out of memory merging series");
        memcpy(rv, remote->v, nr * sizeof(*rv));
        if (!remote->sorted)
            qsort(rv, nr, sizeof(*rv), cmp_series);
    }
    res = sg_arena_alloc_array(a, nr + loc.count + 1, sizeof(*res));
    if (!res)
        return sg_err_set(err, SG_ENOMEM, "rules: out of memory merging series");
    while (i < nr || j < loc.count) {
        int c = i >= nr ? 1 : j >= loc.count ? -1 : sg_labels_cmp(&rv[i].labels, &loc.v[j].labels);
        if (c < 0) {
            res[n++] = rv[i++];
        } else if (c > 0) {
            res[n++] = loc.v[j++];
        } else {
            /* both: remote samples in the window and local ones, local wins on ties */
            const struct sg_series *x = &rv[i], *y = &loc.v[j];
            size_t xl, xh, k = 0, p, q;
            struct sg_sample *m;
            window(x, sel->mint_ms, sel->maxt_ms, &xl, &xh);
            m = sg_arena_alloc_array(a, (xh - xl) + y->count + 1, sizeof(*m));
            if (!m)
                return sg_err_set(err, SG_ENOMEM, "rules: out of memory merging series");
            p = xl;
            q = 0;
            while (p < xh || q < y->count) {
                if (q >= y->count || (p < xh && x->samples[p].t < y->samples[q].t)) {
                    m[k++] = x->samples[p++];
                } else {
                    if (p < xh && x->samples[p].t == y->samples[q].t)
                        p++;
                    m[k++] = y->samples[q++];
                }
            }
            res[n].labels = y->labels;
            res[n].samples = m;
            res[n].count = k;
            n++;
            i++;
            j++;
        }
    }
    out->v = res;
    out->count = n;
    out->sorted = true;
    return SG_OK;
}

int sg_rules_plan_group(const struct sg_rules_state *st, const struct sg_rule_group *g,
                        int64_t t_ms, struct sg_arena *a, struct sg_rules_plan *out,
                        struct sg_err *err)
{
    struct sg_promql_selection **per;
    size_t *cnt, total = 0;

    memset(out, 0, sizeof(*out));
    per = sg_arena_alloc_array(a, g->nrules + 1, sizeof(*per));
    cnt = sg_arena_alloc_array(a, g->nrules + 1, sizeof(*cnt));
    out->first = sg_arena_alloc_array(a, g->nrules + 1, sizeof(*out->first));
    if (!per || !cnt || !out->first)
        return sg_err_set(err, SG_ENOMEM, "rules: out of memory planning a group");
    for (size_t i = 0; i < g->nrules; i++) {
        int rc = sg_promql_plan(g->rules[i].expr, t_ms, t_ms, 0, &st->promql, a, &per[i], &cnt[i],
                                err);
        if (rc != SG_OK)
            return rc;
        out->first[i] = total;
        total += cnt[i];
    }
    out->first[g->nrules] = total;
    out->sels = sg_arena_alloc_array(a, total + 1, sizeof(*out->sels));
    if (!out->sels)
        return sg_err_set(err, SG_ENOMEM, "rules: out of memory planning a group");
    for (size_t i = 0; i < g->nrules; i++) {
        if (cnt[i])
            memcpy(out->sels + out->first[i], per[i], cnt[i] * sizeof(*out->sels));
    }
    out->group = g;
    out->t_ms = t_ms;
    out->nsels = total;
    out->nrules = g->nrules;
    return SG_OK;
}

/* ---- hash lookups over label sets -------------------------------------------------------- */

struct hix {
    uint64_t hash;
    size_t idx;
};

static int cmp_hix(const void *a, const void *b)
{
    const struct hix *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The first entry with `hash` in a sorted index, or n. */
static size_t hix_find(const struct hix *v, size_t n, uint64_t hash)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].hash < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].hash == hash ? lo : n;
}

/* ---- one rule --------------------------------------------------------------------------------- */

struct outsample {
    struct sg_labels labels;
    double v;
};

struct new_alert {
    uint64_t hash;
    struct sg_labels labels, annotations;
    double value;
};

struct rule_eval {
    struct sg_rules_state *st;
    const struct sg_rule *rule;
    struct rule_state *rs;
    int64_t t;
    struct sg_arena *a;
    struct sg_err *err; /* the rule's error (text kept in the status) */
    struct outsample *out;
    size_t nout, capout;
    const struct new_alert *na; /* alerting: this evaluation's alerts */
};

static int rule_fail(struct rule_eval *e, int code, const char *fmt, ...) SG_PRINTF(3, 4);
static int rule_fail(struct rule_eval *e, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sg_err_setv(e->err, code, fmt, ap);
    va_end(ap);
    return code;
}

static int push_out(struct rule_eval *e, const struct sg_labels *ls, double v)
{
    if (e->nout == e->capout) {
        size_t cap = e->capout ? e->capout * 2 : 16;
        void *p = sg_arena_grow(e->a, e->out, e->capout * sizeof(*e->out), cap * sizeof(*e->out));
        if (!p)
            return rule_fail(e, SG_ENOMEM, "out of memory");
        e->out = p;
        e->capout = cap;
    }
    e->out[e->nout].labels = *ls;
    e->out[e->nout].v = v;
    e->nout++;
    return SG_OK;
}

/* the query: plan, fetch, evaluate; the result as a vector */
static int query(struct rule_eval *e, const struct sg_rules_source *src, struct sg_vsample **vec,
                 size_t *n)
{
    struct sg_promql_selection *sels = NULL;
    struct sg_series_set *sets;
    size_t nsels = 0;
    struct sg_value val;
    int rc;

    rc = sg_promql_plan(e->rule->expr, e->t, e->t, 0, &e->st->promql, e->a, &sels, &nsels, e->err);
    if (rc != SG_OK)
        return rc;
    sets = sg_arena_alloc_array(e->a, nsels + 1, sizeof(*sets));
    if (!sets)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    if (nsels && src && src->select) {
        rc = src->select(src->arg, e->rule, sels, nsels, e->a, sets, e->err);
        if (rc != SG_OK)
            return rc;
    }
    rc = sg_promql_eval_instant(e->rule->expr, e->t, &e->st->promql, sets, nsels, e->a, &val,
                                e->err);
    if (rc != SG_OK)
        return rc;
    if (val.type == SG_VT_VECTOR) {
        *vec = val.vec;
        *n = val.count;
        return SG_OK;
    }
    if (val.type == SG_VT_SCALAR) {
        struct sg_vsample *s = sg_arena_alloc(e->a, sizeof(*s));
        if (!s)
            return rule_fail(e, SG_ENOMEM, "out of memory");
        s->t = e->t;
        s->v = val.scalar;
        *vec = s;
        *n = 1;
        return SG_OK;
    }
    return rule_fail(e, SG_EEVAL, "rule result is not a vector or scalar");
}

static int finish_labels(struct rule_eval *e, struct sg_labels_builder *b, struct sg_labels *out)
{
    if (sg_labels_builder_finish(b, out) != SG_OK)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    return SG_OK;
}

static const struct sg_labels *recording_labels(const struct rule_eval *e, size_t i)
{
    return &e->out[i].labels;
}

/* Two of the n label sets (hashes[i], labels(e, i)) equal? O(n log n). */
static bool has_duplicates(struct rule_eval *e, const uint64_t *hashes, size_t n,
                           const struct sg_labels *(*labels)(const struct rule_eval *, size_t))
{
    struct hix *ix;

    if (n < 2)
        return false;
    ix = sg_arena_alloc_array(e->a, n, sizeof(*ix));
    if (!ix) {
        /* without memory, compare pairwise */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (hashes[i] == hashes[j] && sg_labels_eq(labels(e, i), labels(e, j)))
                    return true;
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        ix[i].hash = hashes[i];
        ix[i].idx = i;
    }
    qsort(ix, n, sizeof(*ix), cmp_hix);
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j-- > 0 && ix[j].hash == ix[i].hash;) {
            if (sg_labels_eq(labels(e, ix[i].idx), labels(e, ix[j].idx)))
                return true;
        }
    }
    return false;
}

static const struct sg_labels *alert_labels(const struct rule_eval *e, size_t i)
{
    return &e->na[i].labels;
}

static int eval_recording(struct rule_eval *e, const struct sg_vsample *vec, size_t n)
{
    const struct sg_rule *r = e->rule;
    uint64_t *hashes = sg_arena_alloc_array(e->a, n + 1, sizeof(*hashes));
    int rc;

    if (!hashes)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct sg_labels_builder b;
        struct sg_labels ls;
        sg_labels_builder_init(&b, e->a, &vec[i].labels);
        sg_labels_builder_set(&b, sg_str_c(SG_METRIC_NAME), r->name);
        for (uint32_t k = 0; k < r->labels.count; k++)
            sg_labels_builder_set(&b, r->labels.v[k].name, r->labels.v[k].value);
        rc = finish_labels(e, &b, &ls);
        if (rc != SG_OK)
            return rc;
        rc = push_out(e, &ls, vec[i].v);
        if (rc != SG_OK)
            return rc;
        hashes[i] = sg_labels_hash(&ls);
    }
    if (has_duplicates(e, hashes, e->nout, recording_labels))
        return rule_fail(e, SG_EEVAL,
                         "vector contains metrics with the same labelset after applying "
                         "rule labels");
    if (r->group->limit > 0 && (int64_t)e->nout > r->group->limit)
        return rule_fail(e, SG_EEVAL, "exceeded limit of %lld with %zu series",
                         (long long)r->group->limit, e->nout);
    return SG_OK;
}

/* expand one template of the rule for one sample; the text lives in the scratch arena */
static int expand(struct rule_eval *e, const struct sg_tmpl *t, struct sg_str raw,
                  const struct sg_tmpl_data *d, struct sg_str *out)
{
    struct sg_buf b;
    struct sg_err te;
    int rc;

    sg_buf_init(&b, MAX_TEMPLATE_OUT);
    sg_err_clear(&te);
    if (t)
        rc = sg_tmpl_exec_alert(t, d, &b, &te);
    else
        rc = sg_tmpl_expand_alert(raw, e->rule->name, d, e->a, &b, &te);
    if (rc != SG_OK) {
        sg_buf_cleanup(&b);
        return rule_fail(e, rc, "%s", te.msg);
    }
    rc = sg_arena_str(e->a, sg_buf_view(&b), out);
    sg_buf_cleanup(&b);
    if (rc != SG_OK)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    return SG_OK;
}


/* the alert held with label set ls: ix indexes the first nix alerts */
static struct alert_entry *find_alert(struct rule_state *rs, const struct hix *ix, size_t nix,
                                      uint64_t h, const struct sg_labels *ls)
{
    for (size_t k = hix_find(ix, nix, h); k < nix && ix[k].hash == h; k++) {
        struct alert_entry *ae = &rs->alerts[ix[k].idx];
        if (sg_labels_eq(&ae->a.labels, ls))
            return ae;
    }
    return NULL;
}

static int set_annotations(struct rule_eval *e, struct alert_entry *ae, const struct sg_labels *an)
{
    void *block;
    struct sg_labels packed;

    if (pack_labels(an, &packed, &block) != SG_OK)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    sg_free(ae->annotations_block);
    ae->annotations_block = block;
    ae->a.annotations = packed;
    return SG_OK;
}

static int alert_series(struct rule_eval *e, const struct sg_alert *a)
{
    const struct sg_rule *r = e->rule;
    struct sg_labels_builder b;
    struct sg_labels ls;
    int64_t active_s;
    int rc;

    for (int which = 0; which < 2; which++) {
        sg_labels_builder_init(&b, e->a, &r->labels);
        for (uint32_t k = 0; k < a->labels.count; k++)
            sg_labels_builder_set(&b, a->labels.v[k].name, a->labels.v[k].value);
        sg_labels_builder_set(&b, sg_str_c(SG_METRIC_NAME),
                              sg_str_c(which == 0 ? "ALERTS" : "ALERTS_FOR_STATE"));
        sg_labels_builder_set(&b, sg_str_c("alertname"), r->name);
        if (which == 0)
            sg_labels_builder_set(&b, sg_str_c("alertstate"),
                                  sg_str_c(sg_alert_state_name(a->state)));
        rc = finish_labels(e, &b, &ls);
        if (rc != SG_OK)
            return rc;
        /* time.Time.Unix(): whole seconds, rounded down */
        active_s = a->active_at_ms >= 0 ? a->active_at_ms / 1000
                                         : -((-a->active_at_ms + 999) / 1000);
        rc = push_out(e, &ls, which == 0 ? 1.0 : (double)active_s);
        if (rc != SG_OK)
            return rc;
    }
    return SG_OK;
}

static int cmp_alert_labels(const void *x, const void *y)
{
    const struct alert_entry *a = *(const struct alert_entry *const *)x;
    const struct alert_entry *b = *(const struct alert_entry *const *)y;
    return sg_labels_cmp(&a->a.labels, &b->a.labels);
}

static int eval_alerting(struct rule_eval *e, const struct sg_vsample *vec, size_t n)
{
    const struct sg_rule *r = e->rule;
    struct rule_state *rs = e->rs;
    struct new_alert *na = sg_arena_alloc_array(e->a, n + 1, sizeof(*na));
    const struct sg_rule_tmpls *tm = r->tmpls;
    struct sg_alert_timing timing = {r->for_ms, r->keep_firing_for_ms,
                                     e->st->opts.resolved_retention_ms};
    bool *present;
    struct alert_entry **order;
    struct hix *held;
    size_t active = 0, k, nheld;
    int rc;

    if (!na)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct sg_tmpl_data d = {&vec[i].labels, e->st->opts.external_labels,
                                 e->st->opts.external_url, vec[i].v};
        struct sg_labels_builder b;
        struct sg_label *an;
        sg_labels_builder_init(&b, e->a, &vec[i].labels);
        sg_labels_builder_del(&b, sg_str_c(SG_METRIC_NAME));
        for (uint32_t l = 0; l < r->labels.count; l++) {
            struct sg_str v;
            rc = expand(e, tm ? tm->labels[l] : NULL, r->labels.v[l].value, &d, &v);
            if (rc != SG_OK)
                return rc;
            sg_labels_builder_set(&b, r->labels.v[l].name, v);
        }
        sg_labels_builder_set(&b, sg_str_c("alertname"), r->name);
        rc = finish_labels(e, &b, &na[i].labels);
        if (rc != SG_OK)
            return rc;
        an = sg_arena_alloc_array(e->a, r->annotations.count + 1, sizeof(*an));
        if (!an)
            return rule_fail(e, SG_ENOMEM, "out of memory");
        for (uint32_t l = 0; l < r->annotations.count; l++) {
            an[l].name = r->annotations.v[l].name;
            rc = expand(e, tm ? tm->annotations[l] : NULL, r->annotations.v[l].value, &d,
                        &an[l].value);
            if (rc != SG_OK)
                return rc;
        }
        na[i].annotations.v = an;
        na[i].annotations.count = r->annotations.count;
        na[i].value = vec[i].v;
        na[i].hash = sg_labels_hash(&na[i].labels);
    }
    {
        uint64_t *hashes = sg_arena_alloc_array(e->a, n + 1, sizeof(*hashes));
        if (!hashes)
            return rule_fail(e, SG_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            hashes[i] = na[i].hash;
        e->na = na;
        if (has_duplicates(e, hashes, n, alert_labels))
            return rule_fail(e, SG_EEVAL,
                             "vector contains metrics with the same labelset after applying "
                             "alert labels");
    }
    /* merge the result into the alerts held */
    present = sg_arena_alloc_array(e->a, rs->nalerts + n + 1, sizeof(*present));
    if (!present)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    held = sg_arena_alloc_array(e->a, rs->nalerts + 1, sizeof(*held));
    if (!held)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    nheld = rs->nalerts;
    for (size_t i = 0; i < nheld; i++) {
        held[i].hash = rs->alerts[i].hash;
        held[i].idx = i;
    }
    qsort(held, nheld, sizeof(*held), cmp_hix);
    for (size_t i = 0; i < n; i++) {
        struct alert_entry *ae = find_alert(rs, held, nheld, na[i].hash, &na[i].labels);
        if (!ae) {
            if (rs->nalerts == rs->cap) {
                size_t cap = rs->cap ? rs->cap * 2 : 8;
                void *p = sg_reallocarray(rs->alerts, cap, sizeof(*rs->alerts));
                if (!p)
                    return rule_fail(e, SG_ENOMEM, "out of memory");
                rs->alerts = p;
                rs->cap = cap;
            }
            ae = &rs->alerts[rs->nalerts];
            memset(ae, 0, sizeof(*ae));
            ae->hash = na[i].hash;
            ae->a.state = SG_ALERT_INACTIVE;
            ae->a.active_at_ms = ae->a.fired_at_ms = ae->a.resolved_at_ms =
                ae->a.keep_firing_since_ms = SG_TIME_UNSET;
            if (pack_labels(&na[i].labels, &ae->a.labels, &ae->labels_block) != SG_OK)
                return rule_fail(e, SG_ENOMEM, "out of memory");
            rs->nalerts++;
        }
        ae->a.value = na[i].value;
        rc = set_annotations(e, ae, &na[i].annotations);
        if (rc != SG_OK)
            return rc;
        present[ae - rs->alerts] = true;
    }
    /* step every alert, drop the deleted ones; output the active ones in
     * label order */
    order = sg_arena_alloc_array(e->a, rs->nalerts + 1, sizeof(*order));
    if (!order)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    {
        size_t w = 0;
        for (size_t i = 0; i < rs->nalerts; i++) {
            enum sg_alert_step s = sg_alert_step(&rs->alerts[i].a, present[i], e->t, &timing);
            if (s == SG_ALERT_STEP_DELETE) {
                alert_free(&rs->alerts[i]);
                continue;
            }
            rs->alerts[w] = rs->alerts[i];
            present[w] = s == SG_ALERT_STEP_ACTIVE;
            w++;
        }
        rs->nalerts = w;
    }
    k = 0;
    for (size_t i = 0; i < rs->nalerts; i++) {
        if (present[i]) {
            order[k++] = &rs->alerts[i];
            active++;
        }
    }
    if (r->group->limit > 0 && (int64_t)active > r->group->limit) {
        for (size_t i = 0; i < rs->nalerts; i++)
            alert_free(&rs->alerts[i]);
        rs->nalerts = 0;
        return rule_fail(e, SG_EEVAL, "exceeded limit of %lld with %zu alerts",
                         (long long)r->group->limit, active);
    }
    qsort(order, k, sizeof(*order), cmp_alert_labels);
    for (size_t i = 0; i < k; i++) {
        rc = alert_series(e, &order[i]->a);
        if (rc != SG_OK)
            return rc;
    }
    return SG_OK;
}

/* append the rule's output at t, then stale markers for what disappeared */
static int commit(struct rule_eval *e, struct sg_store *store, struct lset *returned)
{
    struct written *w = &e->st->written;
    struct hix *rix;
    int first_err = SG_OK;
    int rc;

    for (size_t i = 0; i < e->nout; i++) {
        const struct outsample *s = &e->out[i];
        uint64_t h = sg_labels_hash(&s->labels), bits, vb = sg_f64_bits(s->v);
        struct sg_err ae;
        if (written_get(w, h, &bits) && bits != vb) {
            if (first_err == SG_OK) {
                first_err = SG_EEVAL;
                rule_fail(e, SG_EEVAL, "duplicate sample for timestamp");
            }
            continue;
        }
        sg_err_clear(&ae);
        rc = sg_store_append(store, &s->labels, e->t, s->v, &ae);
        if (rc == SG_ENOMEM || rc == SG_ELIMIT)
            return rule_fail(e, rc, "%s", ae.msg);
        if (rc != SG_OK) {
            if (first_err == SG_OK) {
                first_err = rc;
                rule_fail(e, rc, "%s", ae.msg);
            }
            continue;
        }
        if (written_put(w, h, vb) != SG_OK || lset_add(returned, h, &s->labels) != SG_OK)
            return rule_fail(e, SG_ENOMEM, "out of memory");
    }
    rix = sg_arena_alloc_array(e->a, returned->n + 1, sizeof(*rix));
    if (!rix)
        return rule_fail(e, SG_ENOMEM, "out of memory");
    for (size_t j = 0; j < returned->n; j++) {
        rix[j].hash = returned->v[j].hash;
        rix[j].idx = j;
    }
    qsort(rix, returned->n, sizeof(*rix), cmp_hix);
    for (size_t i = 0; i < e->rs->prev.n; i++) {
        const struct lset_entry *p = &e->rs->prev.v[i];
        bool still = false;
        uint64_t bits;
        struct sg_err ae;
        for (size_t k = hix_find(rix, returned->n, p->hash);
             k < returned->n && rix[k].hash == p->hash && !still; k++)
            still = sg_labels_eq(&returned->v[rix[k].idx].labels, &p->labels);
        if (still || written_get(w, p->hash, &bits))
            continue;
        sg_err_clear(&ae);
        rc = sg_store_append(store, &p->labels, e->t, sg_stale_nan(), &ae);
        if (rc == SG_ENOMEM || rc == SG_ELIMIT)
            return rule_fail(e, rc, "%s", ae.msg);
        if (rc == SG_OK && written_put(w, p->hash, SG_STALE_NAN_BITS) != SG_OK)
            return rule_fail(e, SG_ENOMEM, "out of memory");
    }
    return first_err;
}

static int eval_rule(struct sg_rules_state *st, const struct sg_rule *r, int64_t t,
                     const struct sg_rules_source *src, struct sg_store *store)
{
    struct rule_state *rs = rstate(st, r);
    struct rule_eval e;
    struct sg_err err;
    struct sg_vsample *vec = NULL;
    struct lset returned = {0};
    size_t n = 0;
    int64_t start_ns;
    int rc;

    if (!rs)
        return SG_EINVAL;
    memset(&e, 0, sizeof(e));
    sg_err_clear(&err);
    e.st = st;
    e.rule = r;
    e.rs = rs;
    e.t = t;
    e.a = &st->scratch;
    e.err = &err;
    rs->status.last_eval_ms = t;
    start_ns = sg_clock_mono_ns();
    rc = query(&e, src, &vec, &n);
    if (rc == SG_OK)
        rc = r->kind == SG_RULE_RECORD ? eval_recording(&e, vec, n) : eval_alerting(&e, vec, n);
    if (rc == SG_OK) {
        rs->status.samples = e.nout;
        rc = commit(&e, store, &returned);
        if (rc == SG_OK || rc == SG_EEVAL || rc == SG_EINVAL) {
            /* the series that went in are this evaluation's, even when some
             * samples were refused */
            lset_free(&rs->prev);
            rs->prev = returned;
            memset(&returned, 0, sizeof(returned));
        }
    }
    lset_free(&returned);
    sg_arena_reset(&st->scratch);
    rs->status.duration_s = (double)(sg_clock_mono_ns() - start_ns) / 1e9;
    if (rc == SG_OK) {
        rs->status.health = SG_RULE_HEALTH_OK;
        rs->status.code = SG_OK;
        rs->status.last_error[0] = 0;
        return SG_OK;
    }
    rs->status.health = SG_RULE_HEALTH_ERR;
    rs->status.code = rc;
    snprintf(rs->status.last_error, sizeof(rs->status.last_error), "%s",
             err.msg[0] ? err.msg : sg_strerror(rc));
    return rc;
}

int sg_rules_eval_group(struct sg_rules_state *st, const struct sg_rule_group *g, int64_t t_ms,
                        const struct sg_rules_source *src, struct sg_store *out,
                        struct sg_err *err)
{
    size_t ng;
    const struct sg_rule_group *groups = sg_ruleset_groups(st->rs, &ng);

    if (g < groups || g >= groups + ng)
        return sg_err_set(err, SG_EINVAL, "rules: the group is not in this rule set");
    written_at(&st->written, t_ms);
    for (size_t i = 0; i < g->nrules; i++) {
        int rc = eval_rule(st, &g->rules[i], t_ms, src, out);
        if (rc == SG_ENOMEM)
            return sg_err_set(err, rc, "rules: out of memory evaluating %.*s",
                              (int)g->rules[i].name.len, g->rules[i].name.ptr);
    }
    return SG_OK;
}

int sg_rules_foreach_alert(const struct sg_rules_state *st, const struct sg_rule *rule,
                           sg_alert_fn fn, void *arg)
{
    size_t ng;
    const struct sg_rule_group *groups = sg_ruleset_groups(st->rs, &ng);

    for (size_t g = 0; g < ng; g++) {
        for (size_t i = 0; i < groups[g].nrules; i++) {
            const struct sg_rule *r = &groups[g].rules[i];
            struct rule_state *rs;
            struct alert_entry **order;
            int ret = 0;
            if (r->kind != SG_RULE_ALERT || (rule && r != rule))
                continue;
            rs = rstate(st, r);
            if (!rs || rs->nalerts == 0)
                continue;
            order = sg_malloc(rs->nalerts * sizeof(*order));
            if (!order)
                return SG_ENOMEM;
            for (size_t k = 0; k < rs->nalerts; k++)
                order[k] = &rs->alerts[k];
            qsort(order, rs->nalerts, sizeof(*order), cmp_alert_labels);
            for (size_t k = 0; k < rs->nalerts && ret == 0; k++)
                ret = fn(r, &order[k]->a, arg);
            sg_free(order);
            if (ret)
                return ret;
        }
    }
    return 0;
}

int sg_rules_restore_alert(struct sg_rules_state *st, const struct sg_rule *rule,
                           const struct sg_labels *labels, enum sg_alert_state state,
                           int64_t active_at_ms, int64_t fired_at_ms)
{
    struct rule_state *rs;
    struct alert_entry *ae;

    if (!st || !rule || rule->kind != SG_RULE_ALERT || active_at_ms == SG_TIME_UNSET)
        return 0;
    rs = rstate(st, rule);
    if (!rs)
        return 0;
    ae = NULL;
    for (size_t k = 0; k < rs->nalerts && !ae; k++)
        if (sg_labels_eq(&rs->alerts[k].a.labels, labels))
            ae = &rs->alerts[k];
    if (!ae || (ae->a.state != SG_ALERT_PENDING && ae->a.state != SG_ALERT_FIRING))
        return 0;
    if (ae->a.active_at_ms == SG_TIME_UNSET || active_at_ms < ae->a.active_at_ms)
        ae->a.active_at_ms = active_at_ms;
    if (state == SG_ALERT_FIRING && ae->a.state == SG_ALERT_PENDING) {
        ae->a.state = SG_ALERT_FIRING;
        ae->a.fired_at_ms = fired_at_ms != SG_TIME_UNSET ? fired_at_ms : ae->a.active_at_ms;
    }
    return 1;
}
