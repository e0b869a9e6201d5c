/* src/promql/check.c - static checks of a parsed PromQL expression.
 *
 * Prometheus 2.42's checkAST, in its order (the first error is the one
 * reported, so the order is part of the contract): argument counts and
 * types of calls, aggregation argument and parameter types, the operand
 * types of binary and unary operators, bool only on comparisons,
 * comparisons between scalars only with bool, set operators only between
 * instant vectors and without group_x, on/ignoring only between instant
 * vectors, a label not in both on() and group_x(), subqueries only on
 * instant vectors, and the selector rules (a metric name at most once, at
 * least one matcher that does not match the empty string).
 *
 * Sets every node's type. Like Prometheus it also normalises vector
 * matching: set operators become many-to-many, and the matching of an
 * operation that is not between two vectors is dropped. Recursion depth is
 * bounded by the parser's height cap.
 */
#include <stdio.h>
#include <string.h>

#include "promql_int.h"

struct checker {
    struct sg_str src;
    const char *name;
    struct sg_err *err;
    int rc;
};

static int cerr(struct checker *c, uint32_t off, const char *fmt, ...) SG_PRINTF(3, 4);

static int cerr(struct checker *c, uint32_t off, const char *fmt, ...)
{
    va_list ap;

    if (c->rc != SG_OK)
        return c->rc;
    va_start(ap, fmt);
    sg_promql__parse_errv(c->err, SG_ETYPE, c->name, c->src, off, fmt, ap);
    va_end(ap);
    c->rc = SG_ETYPE;
    return c->rc;
}

/* Prometheus's DocumentedType. */
static const char *doc_type(enum sg_vtype t)
{
    switch (t) {
    case SG_VT_SCALAR:
        return "scalar";
    case SG_VT_VECTOR:
        return "instant vector";
    case SG_VT_MATRIX:
        return "range vector";
    case SG_VT_STRING:
        return "string";
    default:
        return "none";
    }
}

/* ValueType's own names ("matrix"), used by one message. */
static const char *raw_type(enum sg_vtype t)
{
    switch (t) {
    case SG_VT_SCALAR:
        return "scalar";
    case SG_VT_VECTOR:
        return "vector";
    case SG_VT_MATRIX:
        return "matrix";
    case SG_VT_STRING:
        return "string";
    default:
        return "none";
    }
}

static bool is_comparison(enum sg_binop op)
{
    return op == SG_OP_EQL || op == SG_OP_NEQ || op == SG_OP_GTR || op == SG_OP_LSS ||
           op == SG_OP_GTE || op == SG_OP_LTE;
}

static bool is_set_op(enum sg_binop op)
{
    return op == SG_OP_AND || op == SG_OP_OR || op == SG_OP_UNLESS;
}

/* The static type (Prometheus's Expr.Type()). */
static enum sg_vtype static_type(const struct sg_node *n)
{
    switch (n->kind) {
    case SG_N_NUMBER:
        return SG_VT_SCALAR;
    case SG_N_STRING:
        return SG_VT_STRING;
    case SG_N_SELECTOR:
    case SG_N_AGGR:
        return SG_VT_VECTOR;
    case SG_N_RANGE:
    case SG_N_SUBQUERY:
        return SG_VT_MATRIX;
    case SG_N_CALL:
        return n->u.call.func->ret;
    case SG_N_BINARY:
        return static_type(n->u.bin.lhs) == SG_VT_SCALAR &&
                       static_type(n->u.bin.rhs) == SG_VT_SCALAR
                   ? SG_VT_SCALAR
                   : SG_VT_VECTOR;
    case SG_N_UNARY:
        return static_type(n->u.unary.expr);
    case SG_N_PAREN:
        return static_type(n->u.paren.expr);
    }
    return SG_VT_NONE;
}

static enum sg_vtype check(struct checker *c, struct sg_node *n);

static void expect_type(struct checker *c, struct sg_node *n, enum sg_vtype want,
                        const char *context)
{
    enum sg_vtype t = check(c, n);

    if (c->rc == SG_OK && t != want)
        cerr(c, n->off, "expected type %s in %s, got %s", doc_type(want), context, doc_type(t));
}

/* Start of the operator between lhs and rhs (Prometheus's opRange). */
static uint32_t op_pos(const struct checker *c, const struct sg_node *n)
{
    uint32_t i = n->u.bin.lhs->off + n->u.bin.lhs->len;

    while (i < c->src.len && (c->src.ptr[i] == ' ' || c->src.ptr[i] == '\t' ||
                              c->src.ptr[i] == '\n' || c->src.ptr[i] == '\r'))
        i++;
    return i;
}

static void check_selector(struct checker *c, struct sg_node *n)
{
    size_t nm = n->u.sel.nmatchers;

    if (n->u.sel.name.len > 0) {
        /* the last matcher is the one made from the name */
        for (size_t i = 0; i + 1 < nm; i++) {
            const struct sg_matcher *m = &n->u.sel.matchers[i];
            if (sg_str_eq_c(m->name, SG_METRIC_NAME)) {
                struct sg_buf a, b;
                sg_buf_init(&a, 300);
                sg_buf_init(&b, 300);
                if (sg_quote_go(sg_str_make(n->u.sel.name.ptr,
                                            n->u.sel.name.len > 200 ? 200 : n->u.sel.name.len),
                                &a) == SG_OK &&
                    sg_quote_go(sg_str_make(m->value.ptr, m->value.len > 200 ? 200 : m->value.len),
                                &b) == SG_OK)
                    cerr(c, n->off, "metric name must not be set twice: %s or %s", sg_buf_cstr(&a),
                         sg_buf_cstr(&b));
                else
                    cerr(c, n->off, "metric name must not be set twice");
                sg_buf_cleanup(&a);
                sg_buf_cleanup(&b);
                return;
            }
        }
        return;
    }
    for (size_t i = 0; i < nm; i++)
        if (!sg_matcher_matches_empty(&n->u.sel.matchers[i]))
            return;
    cerr(c, n->off, "vector selector must contain at least one non-empty matcher");
}

static void check_call(struct checker *c, struct sg_node *n)
{
    const struct sg_func *f = n->u.call.func;
    size_t nargs = n->u.call.nargs;
    char ctx[128];

    if (f->variadic == 0) {
        if ((size_t)f->nargs != nargs) {
            cerr(c, n->off, "expected %d argument(s) in call to \"%s\", got %zu", f->nargs, f->name,
                 nargs);
            return;
        }
    } else {
        size_t na = (size_t)(f->nargs - 1);
        if (na > nargs) {
            cerr(c, n->off, "expected at least %zu argument(s) in call to \"%s\", got %zu", na,
                 f->name, nargs);
            return;
        }
        if (f->variadic > 0 && na + (size_t)f->variadic < nargs) {
            cerr(c, n->off, "expected at most %zu argument(s) in call to \"%s\", got %zu",
                 na + (size_t)f->variadic, f->name, nargs);
            return;
        }
    }
    snprintf(ctx, sizeof(ctx), "call to function \"%s\"", f->name);
    for (size_t i = 0; i < nargs && c->rc == SG_OK; i++) {
        size_t ti = i;
        if (ti >= (size_t)f->nargs) {
            if (f->variadic == 0)
                break;
            ti = (size_t)f->nargs - 1;
        }
        expect_type(c, n->u.call.args[i], f->arg_types[ti], ctx);
    }
}

static void check_binary(struct checker *c, struct sg_node *n)
{
    enum sg_vtype lt = check(c, n->u.bin.lhs);
    enum sg_vtype rt = check(c, n->u.bin.rhs);
    enum sg_binop op = n->u.bin.op;
    struct sg_vector_matching *vm = n->u.bin.matching;

    if (c->rc != SG_OK)
        return;
    if (n->u.bin.return_bool && !is_comparison(op)) {
        cerr(c, op_pos(c, n), "bool modifier can only be used on comparison operators");
        return;
    }
    if (is_comparison(op) && !n->u.bin.return_bool && static_type(n->u.bin.rhs) == SG_VT_SCALAR &&
        static_type(n->u.bin.lhs) == SG_VT_SCALAR) {
        cerr(c, op_pos(c, n), "comparisons between scalars must use BOOL modifier");
        return;
    }
    if (vm && is_set_op(op) && vm->card == SG_CARD_ONE_TO_ONE)
        vm->card = SG_CARD_MANY_TO_MANY;
    if (vm && vm->on) {
        for (size_t i = 0; i < vm->nlabels; i++)
            for (size_t j = 0; j < vm->ninclude; j++)
                if (sg_str_eq(vm->labels[i], vm->include[j])) {
                    struct sg_buf q;
                    sg_buf_init(&q, 300);
                    if (sg_quote_go(vm->labels[i], &q) != SG_OK)
                        sg_buf_reset(&q);
                    cerr(c, op_pos(c, n), "label %s must not occur in ON and GROUP clause at once",
                         sg_buf_cstr(&q));
                    sg_buf_cleanup(&q);
                    return;
                }
    }
    if (lt != SG_VT_SCALAR && lt != SG_VT_VECTOR) {
        cerr(c, n->u.bin.lhs->off,
             "binary expression must contain only scalar and instant vector types");
        return;
    }
    if (rt != SG_VT_SCALAR && rt != SG_VT_VECTOR) {
        cerr(c, n->u.bin.rhs->off,
             "binary expression must contain only scalar and instant vector types");
        return;
    }
    if ((lt != SG_VT_VECTOR || rt != SG_VT_VECTOR) && vm) {
        if (vm->nlabels > 0) {
            cerr(c, n->off, "vector matching only allowed between instant vectors");
            return;
        }
        n->u.bin.matching = vm = NULL;
    } else if (vm && is_set_op(op)) {
        if (vm->card == SG_CARD_ONE_TO_MANY || vm->card == SG_CARD_MANY_TO_ONE) {
            cerr(c, n->off, "no grouping allowed for \"%s\" operation", sg_promql__binop_text(op));
            return;
        }
        if (vm->card != SG_CARD_MANY_TO_MANY) {
            cerr(c, n->off, "set operations must always be many-to-many");
            return;
        }
    }
    if ((lt == SG_VT_SCALAR || rt == SG_VT_SCALAR) && is_set_op(op))
        cerr(c, n->off, "set operator \"%s\" not allowed in binary scalar expression",
             sg_promql__binop_text(op));
}

static enum sg_vtype check(struct checker *c, struct sg_node *n)
{
    enum sg_vtype t;

    if (c->rc != SG_OK)
        return SG_VT_NONE;
    t = static_type(n);
    n->type = t;
    switch (n->kind) {
    case SG_N_AGGR:
        expect_type(c, n->u.aggr.expr, SG_VT_VECTOR, "aggregation expression");
        if (n->u.aggr.op == SG_AGG_TOPK || n->u.aggr.op == SG_AGG_BOTTOMK ||
            n->u.aggr.op == SG_AGG_QUANTILE)
            expect_type(c, n->u.aggr.param, SG_VT_SCALAR, "aggregation parameter");
        if (n->u.aggr.op == SG_AGG_COUNT_VALUES)
            expect_type(c, n->u.aggr.param, SG_VT_STRING, "aggregation parameter");
        break;
    case SG_N_BINARY:
        check_binary(c, n);
        break;
    case SG_N_CALL:
        check_call(c, n);
        break;
    case SG_N_PAREN:
        check(c, n->u.paren.expr);
        break;
    case SG_N_UNARY: {
        enum sg_vtype it = check(c, n->u.unary.expr);
        if (c->rc == SG_OK && it != SG_VT_SCALAR && it != SG_VT_VECTOR)
            cerr(c, n->off,
                 "unary expression only allowed on expressions of type scalar or instant vector, "
                 "got \"%s\"",
                 doc_type(it));
        break;
    }
    case SG_N_SUBQUERY: {
        enum sg_vtype it = check(c, n->u.subq.expr);
        if (c->rc == SG_OK && it != SG_VT_VECTOR)
            cerr(c, n->off, "subquery is only allowed on instant vector, got %s instead",
                 raw_type(it));
        break;
    }
    case SG_N_SELECTOR:
    case SG_N_RANGE:
        check_selector(c, n);
        break;
    case SG_N_NUMBER:
    case SG_N_STRING:
        break;
    }
    return t;
}

int sg_promql__check(struct sg_node *root, struct sg_str src, const char *src_name,
                     struct sg_err *err)
{
    struct checker c = {src, src_name, err, SG_OK};

    check(&c, root);
    return c.rc;
}
