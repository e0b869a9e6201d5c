/* src/promql/binop.c - binary operators between vectors and scalars, one
 * step at a time, as Prometheus 2.42's VectorBinop, VectorscalarBinop,
 * VectorAnd/Or/Unless and resultMetric compute them.
 *
 * - Arithmetic drops __name__; comparisons filter and keep it, unless
 *   `bool` is given (then 0/1 and the name is dropped); a scalar on the
 *   left of a filtering comparison still returns the vector's value.
 * - Matching signatures: on(...) hashes only the listed labels,
 *   otherwise every label but __name__ and the ignoring(...) ones.
 * - One-to-one: a duplicate signature on the right is "found duplicate
 *   series for the match group ... many-to-many matching not allowed:
 *   matching labels must be unique on one side"; a second match on the
 *   left is "multiple matches for labels: many-to-one matching must be
 *   explicit (group_left/group_right)". group_right swaps the sides and
 *   swaps the values back, so a comparison returns the left-hand value
 *   with the right-hand labels (2.42's quirk).
 * - Result labels: the left (for group_right: the right) sample's labels,
 *   name dropped for arithmetic and bool, reduced to on() labels or minus
 *   ignoring() labels for one-to-one, then group_x(...) labels copied from
 *   the "one" side (deleted when missing there).
 * - Go's math.Pow and math.Mod semantics for ^ and %.
 *
 * It does not evaluate the operands; eval.c gathers them.
 */
#include <math.h>
#include <string.h>

#include "promql/eval_int.h"

static int oom(struct ev *ev)
{
    return sg_promql__fail(ev, SG_ENOMEM, "out of memory during evaluation");
}

static const struct sg_str name_label = {SG_METRIC_NAME, sizeof(SG_METRIC_NAME) - 1};

uint64_t sg_promql__signature(const struct sg_vector_matching *vm, const struct sg_labels *ls)
{
    if (!vm)
        return sg_labels_hash_without(ls, NULL, 0, true);
    if (vm->on)
        return sg_labels_hash_for(ls, vm->labels, vm->nlabels);
    return sg_labels_hash_without(ls, vm->labels, vm->nlabels, true);
}

static bool is_comparison(enum sg_binop op)
{
    return op >= SG_OP_EQL && op <= SG_OP_LTE;
}

static bool drops_name(enum sg_binop op)
{
    switch (op) {
    case SG_OP_ADD: case SG_OP_SUB: case SG_OP_MUL: case SG_OP_DIV: case SG_OP_POW:
    case SG_OP_MOD:
        return true;
    default:
        return false;
    }
}

double sg_promql__scalar_binop(enum sg_binop op, double l, double r)
{
    switch (op) {
    case SG_OP_ADD: return l + r;
    case SG_OP_SUB: return l - r;
    case SG_OP_MUL: return l * r;
    case SG_OP_DIV: return l / r;
    case SG_OP_POW: return sg_promql__go_pow(l, r);
    case SG_OP_MOD: return sg_promql__go_mod(l, r);
    case SG_OP_EQL: return l == r;
    case SG_OP_NEQ: return l != r;
    case SG_OP_GTR: return l > r;
    case SG_OP_LSS: return l < r;
    case SG_OP_GTE: return l >= r;
    case SG_OP_LTE: return l <= r;
    case SG_OP_ATAN2: return sg_promql__go_atan2(l, r);
    default: return NAN;
    }
}

/* vectorElemBinop: value and whether a comparison keeps it. */
static double elem_binop(enum sg_binop op, double l, double r, bool *keep)
{
    *keep = true;
    switch (op) {
    case SG_OP_EQL: *keep = l == r; return l;
    case SG_OP_NEQ: *keep = l != r; return l;
    case SG_OP_GTR: *keep = l > r; return l;
    case SG_OP_LSS: *keep = l < r; return l;
    case SG_OP_GTE: *keep = l >= r; return l;
    case SG_OP_LTE: *keep = l <= r; return l;
    default: return sg_promql__scalar_binop(op, l, r);
    }
}

double sg_promql__vs_value(const struct sg_node *n, double v, double scalar, bool swap, bool *keep)
{
    enum sg_binop op = n->u.bin.op;
    double lv = v, rv = scalar, value;

    if (swap) {
        lv = scalar;
        rv = v;
    }
    value = elem_binop(op, lv, rv, keep);
    if (is_comparison(op) && swap)
        value = rv;
    if (n->u.bin.return_bool) {
        value = *keep ? 1.0 : 0.0;
        *keep = true;
    }
    return value;
}

bool sg_promql__vs_drops_name(const struct sg_node *n)
{
    return drops_name(n->u.bin.op) || n->u.bin.return_bool;
}

static int vector_scalar(struct ev_enh *enh, const struct ev_vector *vec, double scalar, bool swap,
                         struct ev_vector *out)
{
    const struct sg_node *n = enh->node;
    enum sg_binop op = n->u.bin.op;
    bool rb = n->u.bin.return_bool;

    for (size_t i = 0; i < vec->n; i++) {
        struct ev_sample o = vec->s[i];
        bool keep;

        o.v = sg_promql__vs_value(n, o.v, scalar, swap, &keep);
        if (!keep)
            continue;
        if (drops_name(op) || rb) {
            if (sg_promql__drop_name(enh, &vec->s[i].labels, vec->s[i].hash, &o.labels, &o.hash) !=
                SG_OK)
                return oom(enh->ev);
        }
        if (sg_promql__vec_push(out, &o) != SG_OK)
            return oom(enh->ev);
    }
    return SG_OK;
}

/* ---- set operators ------------------------------------------------------------------ */

static int set_op(struct ev_enh *enh, const struct ev_vector *lhs, const struct ev_vector *rhs,
                  struct ev_vector *out)
{
    struct ev_map sigs = {0};
    enum sg_binop op = enh->node->u.bin.op;
    int rc = SG_OK;

    if (op == SG_OP_AND && (lhs->n == 0 || rhs->n == 0))
        return SG_OK;
    if (op == SG_OP_OR && (lhs->n == 0 || rhs->n == 0)) {
        const struct ev_vector *v = lhs->n == 0 ? rhs : lhs;
        for (size_t i = 0; i < v->n; i++)
            if (sg_promql__vec_push(out, &v->s[i]) != SG_OK)
                return oom(enh->ev);
        return SG_OK;
    }
    if (op == SG_OP_UNLESS && (lhs->n == 0 || rhs->n == 0)) {
        for (size_t i = 0; i < lhs->n; i++)
            if (sg_promql__vec_push(out, &lhs->s[i]) != SG_OK)
                return oom(enh->ev);
        return SG_OK;
    }
    if (sg_promql__map_init(&sigs, op == SG_OP_OR ? lhs->n : rhs->n) != SG_OK)
        return oom(enh->ev);
    if (op == SG_OP_OR) {
        for (size_t i = 0; rc == SG_OK && i < lhs->n; i++) {
            if (sg_promql__map_put(&sigs, lhs->s[i].aux, 1) != SG_OK ||
                sg_promql__vec_push(out, &lhs->s[i]) != SG_OK)
                rc = oom(enh->ev);
        }
        for (size_t i = 0; rc == SG_OK && i < rhs->n; i++) {
            if (sg_promql__map_get(&sigs, rhs->s[i].aux) == UINT32_MAX &&
                sg_promql__vec_push(out, &rhs->s[i]) != SG_OK)
                rc = oom(enh->ev);
        }
    } else {
        for (size_t i = 0; rc == SG_OK && i < rhs->n; i++)
            if (sg_promql__map_put(&sigs, rhs->s[i].aux, 1) != SG_OK)
                rc = oom(enh->ev);
        for (size_t i = 0; rc == SG_OK && i < lhs->n; i++) {
            bool found = sg_promql__map_get(&sigs, lhs->s[i].aux) != UINT32_MAX;
            if (found == (op == SG_OP_AND) && sg_promql__vec_push(out, &lhs->s[i]) != SG_OK)
                rc = oom(enh->ev);
        }
    }
    sg_promql__map_free(&sigs);
    return rc;
}

/* ---- vector matching ------------------------------------------------------------------ */

struct binop_state {
    struct ev_map right;   /* signature -> index in rhs */
    struct ev_map matched; /* signature -> 1 (one-to-one) / index of a set (grouped) */
    struct ev_map inserted;/* hash(signature, result labels) -> 1 */
    struct ev_map rcache;  /* hash(lhs labels, rhs labels) -> index in rls */
    struct sg_labels *rls;
    uint64_t *rhash;
    size_t rn, rcap;
};

static void binop_free(void *p)
{
    struct binop_state *st = p;

    if (!st)
        return;
    sg_promql__map_free(&st->right);
    sg_promql__map_free(&st->matched);
    sg_promql__map_free(&st->inserted);
    sg_promql__map_free(&st->rcache);
    sg_free(st->rls);
    sg_free(st->rhash);
    sg_free(st);
}

static bool in_list(struct sg_str n, const struct sg_str *v, size_t k)
{
    for (size_t i = 0; i < k; i++)
        if (sg_str_eq(n, v[i]))
            return true;
    return false;
}

/* labels.MatchLabels(on, names...) */
static int match_labels(struct ev *ev, const struct sg_vector_matching *vm,
                        const struct sg_labels *ls, struct sg_labels *out)
{
    struct sg_labels_builder b;

    sg_labels_builder_init(&b, ev->arena, ls);
    for (uint32_t i = 0; i < ls->count; i++) {
        struct sg_str nm = ls->v[i].name;
        bool listed = in_list(nm, vm->labels, vm->nlabels);
        if (!(vm->on == listed && (vm->on || !sg_str_eq(nm, name_label))))
            sg_labels_builder_del(&b, nm);
    }
    return sg_labels_builder_finish(&b, out);
}

static int duplicate_error(struct ev_enh *enh, const struct ev_sample *rs,
                           const struct ev_sample *dupl)
{
    struct ev *ev = enh->ev;
    const struct sg_vector_matching *vm = enh->node->u.bin.matching;
    struct sg_labels matched;
    struct sg_buf a, b, c;
    int rc;

    if (match_labels(ev, vm, &rs->labels, &matched) != SG_OK)
        return oom(ev);
    sg_buf_init(&a, 1 << 16);
    sg_buf_init(&b, 1 << 16);
    sg_buf_init(&c, 1 << 16);
    if (sg_labels_format(&matched, &a) != SG_OK || sg_labels_format(&rs->labels, &b) != SG_OK ||
        sg_labels_format(&dupl->labels, &c) != SG_OK) {
        rc = oom(ev);
    } else {
        rc = sg_promql__fail(ev, SG_EEVAL,
                             "found duplicate series for the match group %s on the %s hand-side "
                             "of the operation: [%s, %s];many-to-many matching not allowed: "
                             "matching labels must be unique on one side",
                             sg_buf_cstr(&a), vm->card == SG_CARD_ONE_TO_MANY ? "left" : "right",
                             sg_buf_cstr(&b), sg_buf_cstr(&c));
    }
    sg_buf_cleanup(&a);
    sg_buf_cleanup(&b);
    sg_buf_cleanup(&c);
    return rc;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t h = a ^ (b + UINT64_C(0x9e3779b97f4a7c15) + (a << 6) + (a >> 2));
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

static int result_metric(struct ev_enh *enh, struct binop_state *st, const struct ev_sample *ls,
                         const struct ev_sample *rs, struct sg_labels *out, uint64_t *out_hash)
{
    const struct sg_vector_matching *vm = enh->node->u.bin.matching;
    enum sg_binop op = enh->node->u.bin.op;
    uint64_t key = mix(ls->hash, rs->hash);
    uint32_t ci = sg_promql__map_get(&st->rcache, key);
    struct sg_labels_builder b;

    if (ci != UINT32_MAX) {
        *out = st->rls[ci];
        *out_hash = st->rhash[ci];
        return SG_OK;
    }
    sg_labels_builder_init(&b, enh->ev->arena, &ls->labels);
    if (drops_name(op))
        sg_labels_builder_del(&b, name_label);
    if (vm->card == SG_CARD_ONE_TO_ONE) {
        if (vm->on) {
            sg_labels_builder_keep(&b, vm->labels, vm->nlabels);
        } else {
            for (size_t i = 0; i < vm->nlabels; i++)
                sg_labels_builder_del(&b, vm->labels[i]);
        }
    }
    for (size_t i = 0; i < vm->ninclude; i++) {
        struct sg_str v = sg_labels_get(&rs->labels, vm->include[i]);
        if (v.len > 0)
            sg_labels_builder_set(&b, vm->include[i], v);
        else
            sg_labels_builder_del(&b, vm->include[i]);
    }
    if (sg_labels_builder_finish(&b, out) != SG_OK)
        return oom(enh->ev);
    *out_hash = sg_labels_hash(out);
    if (st->rn == st->rcap) {
        size_t ncap = st->rcap ? st->rcap * 2 : 16;
        struct sg_labels *nl = sg_reallocarray(st->rls, ncap, sizeof(*nl));
        uint64_t *nh;
        if (!nl)
            return oom(enh->ev);
        st->rls = nl;
        nh = sg_reallocarray(st->rhash, ncap, sizeof(*nh));
        if (!nh)
            return oom(enh->ev);
        st->rhash = nh;
        st->rcap = ncap;
    }
    st->rls[st->rn] = *out;
    st->rhash[st->rn] = *out_hash;
    if (sg_promql__map_put(&st->rcache, key, (uint32_t)st->rn) != SG_OK)
        return oom(enh->ev);
    st->rn++;
    return SG_OK;
}

static int vector_vector(struct ev_enh *enh, const struct ev_vector *lhs,
                         const struct ev_vector *rhs, struct ev_vector *out)
{
    const struct sg_node *n = enh->node;
    const struct sg_vector_matching *vm = n->u.bin.matching;
    struct ev *ev = enh->ev;
    struct binop_state *st = enh->scratch;
    enum sg_binop op = n->u.bin.op;
    bool rb = n->u.bin.return_bool;

    if (lhs->n == 0 || rhs->n == 0)
        return SG_OK;
    if (!st) {
        st = sg_calloc(1, sizeof(*st));
        if (!st)
            return oom(ev);
        enh->scratch = st;
        enh->scratch_free = binop_free;
    }
    if (vm->card == SG_CARD_ONE_TO_MANY) {
        const struct ev_vector *t = lhs;
        lhs = rhs;
        rhs = t;
    }
    sg_promql__map_clear(&st->right);
    sg_promql__map_clear(&st->matched);
    sg_promql__map_clear(&st->inserted);
    for (size_t i = 0; i < rhs->n; i++) {
        uint32_t d = sg_promql__map_get(&st->right, rhs->s[i].aux);
        if (d != UINT32_MAX)
            return duplicate_error(enh, &rhs->s[i], &rhs->s[d]);
        if (sg_promql__map_put(&st->right, rhs->s[i].aux, (uint32_t)i) != SG_OK)
            return oom(ev);
    }
    for (size_t i = 0; i < lhs->n; i++) {
        const struct ev_sample *ls = &lhs->s[i], *rs;
        uint64_t sig = ls->aux;
        uint32_t ri = sg_promql__map_get(&st->right, sig);
        struct ev_sample o = {0};
        double vl, vr, value;
        bool keep;

        if (ri == UINT32_MAX)
            continue;
        rs = &rhs->s[ri];
        vl = ls->v;
        vr = rs->v;
        if (vm->card == SG_CARD_ONE_TO_MANY) {
            vl = rs->v;
            vr = ls->v;
        }
        value = elem_binop(op, vl, vr, &keep);
        if (rb)
            value = keep ? 1.0 : 0.0;
        else if (!keep)
            continue;
        if (result_metric(enh, st, ls, rs, &o.labels, &o.hash) != SG_OK)
            return oom(ev);
        if (rb) {
            struct sg_labels dl;
            uint64_t dh;
            if (sg_promql__drop_name(enh, &o.labels, o.hash, &dl, &dh) != SG_OK)
                return oom(ev);
            o.labels = dl;
            o.hash = dh;
        }
        if (vm->card == SG_CARD_ONE_TO_ONE) {
            if (sg_promql__map_get(&st->matched, sig) != UINT32_MAX)
                return sg_promql__fail(ev, SG_EEVAL,
                                       "multiple matches for labels: many-to-one matching must be "
                                       "explicit (group_left/group_right)");
            if (sg_promql__map_put(&st->matched, sig, 1) != SG_OK)
                return oom(ev);
        } else {
            uint64_t ins = mix(sig, o.hash);
            if (sg_promql__map_get(&st->inserted, ins) != UINT32_MAX)
                return sg_promql__fail(ev, SG_EEVAL,
                                       "multiple matches for labels: grouping labels must ensure "
                                       "unique matches");
            if (sg_promql__map_put(&st->inserted, ins, 1) != SG_OK)
                return oom(ev);
        }
        o.v = value;
        o.t = enh->ts;
        if (sg_promql__vec_push(out, &o) != SG_OK)
            return oom(ev);
    }
    return SG_OK;
}

int sg_promql__binop_step(struct ev_enh *enh, struct ev_vector *args, size_t nargs,
                          struct ev_vector *out)
{
    const struct sg_node *n = enh->node;
    enum sg_vtype lt = n->u.bin.lhs->type, rt = n->u.bin.rhs->type;

    (void)nargs;
    if (lt == SG_VT_VECTOR && rt == SG_VT_VECTOR) {
        if (n->u.bin.op == SG_OP_AND || n->u.bin.op == SG_OP_OR || n->u.bin.op == SG_OP_UNLESS)
            return set_op(enh, &args[0], &args[1], out);
        if (!n->u.bin.matching)
            return sg_promql__fail(enh->ev, SG_EEVAL, "vector matching missing");
        return vector_vector(enh, &args[0], &args[1], out);
    }
    if (lt == SG_VT_VECTOR)
        return vector_scalar(enh, &args[0], args[1].n ? args[1].s[0].v : NAN, false, out);
    return vector_scalar(enh, &args[1], args[0].n ? args[0].s[0].v : NAN, true, out);
}
