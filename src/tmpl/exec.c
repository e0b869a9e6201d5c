/* src/tmpl/exec.c - executes a parsed template over the alert data.
 *
 * The structure follows Go's text/template exec.go function by function
 * (walk, evalPipeline, evalCommand, evalField, evalCall, evalArg,
 * validateType ...), because the error messages name the node being
 * evaluated ("executing \"NAME\" at <humanize \"x\">: ...") and the node
 * is whatever Go's code last marked; keeping the same call structure keeps
 * the same node. Values are the few Go types an alert template can hold
 * (see tmpl_int.h). Errors unwind with longjmp to sg_tmpl_exec; the only
 * resources are the scratch arena and the output buffer, both released or
 * kept by the caller there.
 *
 * Also here: the function table (Go's builtins and Prometheus 2.42's
 * template functions) and Prometheus's alert expansion wrapper.
 * Not here: parsing (parse.c), fmt formatting (fmt.c), the Prometheus
 * function bodies (funcs.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tmpl/tmpl_int.h"

static inline void ignore_rc(int rc)
{
    (void)rc;
}

/* ---- function table ------------------------------------------------------------------- */

#define V TP_VALUE
#define I TP_IFACE
#define S TP_STRING

static const struct tf_def funcs[] = {
    /* Go's builtins */
    {"and", TF_AND, true, true, 2, true, {V, V}},
    {"call", TF_CALL, true, false, 2, true, {V, V}},
    {"html", TF_HTML, true, true, 1, true, {I}},
    {"index", TF_INDEX, true, true, 2, true, {V, V}},
    {"slice", TF_SLICE, true, false, 2, true, {V, V}},
    {"js", TF_JS, true, false, 1, true, {I}},
    {"len", TF_LEN, true, true, 1, false, {V}},
    {"not", TF_NOT, true, true, 1, false, {V}},
    {"or", TF_OR, true, true, 2, true, {V, V}},
    {"print", TF_PRINT, true, true, 1, true, {I}},
    {"printf", TF_PRINTF, true, true, 2, true, {S, I}},
    {"println", TF_PRINTLN, true, true, 1, true, {I}},
    {"urlquery", TF_URLQUERY, true, true, 1, true, {I}},
    {"eq", TF_EQ, true, true, 2, true, {V, V}},
    {"ge", TF_GE, true, true, 2, false, {V, V}},
    {"gt", TF_GT, true, true, 2, false, {V, V}},
    {"le", TF_LE, true, true, 2, false, {V, V}},
    {"lt", TF_LT, true, true, 2, false, {V, V}},
    {"ne", TF_NE, true, true, 2, false, {V, V}},
    /* Prometheus 2.42 template/template.go */
    {"query", TF_QUERY, false, false, 1, false, {S}},
    {"first", TF_FIRST, false, false, 1, false, {I}},
    {"label", TF_LABEL, false, false, 2, false, {S, I}},
    {"value", TF_VALUE, false, false, 1, false, {I}},
    {"strvalue", TF_STRVALUE, false, false, 1, false, {I}},
    {"args", TF_ARGS, false, false, 1, true, {I}},
    {"reReplaceAll", TF_RE_REPLACE_ALL, false, true, 3, false, {S, S, S}},
    {"safeHtml", TF_SAFE_HTML, false, false, 1, false, {S}},
    {"match", TF_MATCH, false, true, 2, false, {S, S}},
    {"title", TF_TITLE, false, true, 1, false, {S}},
    {"toUpper", TF_TO_UPPER, false, true, 1, false, {S}},
    {"toLower", TF_TO_LOWER, false, true, 1, false, {S}},
    {"graphLink", TF_GRAPH_LINK, false, false, 1, false, {S}},
    {"tableLink", TF_TABLE_LINK, false, false, 1, false, {S}},
    {"sortByLabel", TF_SORT_BY_LABEL, false, false, 2, false, {S, I}},
    {"stripPort", TF_STRIP_PORT, false, true, 1, false, {S}},
    {"stripDomain", TF_STRIP_DOMAIN, false, true, 1, false, {S}},
    {"humanize", TF_HUMANIZE, false, true, 1, false, {I}},
    {"humanize1024", TF_HUMANIZE1024, false, true, 1, false, {I}},
    {"humanizeDuration", TF_HUMANIZE_DURATION, false, true, 1, false, {I}},
    {"humanizePercentage", TF_HUMANIZE_PERCENTAGE, false, true, 1, false, {I}},
    {"humanizeTimestamp", TF_HUMANIZE_TIMESTAMP, false, true, 1, false, {I}},
    {"toTime", TF_TO_TIME, false, false, 1, false, {I}},
    {"pathPrefix", TF_PATH_PREFIX, false, false, 0, false, {0}},
    {"externalURL", TF_EXTERNAL_URL, false, false, 0, false, {0}},
    {"parseDuration", TF_PARSE_DURATION, false, true, 1, false, {S}},
};

#undef V
#undef I
#undef S

const struct tf_def *sg_tmpl__func_find(struct sg_str name)
{
    for (size_t i = 0; i < SG_ARRAY_LEN(funcs); i++) {
        if (sg_str_eq_c(name, funcs[i].name))
            return &funcs[i];
    }
    return NULL;
}

static const char *param_type_name(enum tf_param p)
{
    switch (p) {
    case TP_STRING:
        return "string";
    case TP_IFACE:
        return "interface {}";
    case TP_VALUE:
        return "reflect.Value";
    default:
        return "<nil>";
    }
}

/* ---- state ------------------------------------------------------------------------------ */

struct var {
    struct sg_str name;
    struct tv value;
};

struct state {
    const struct sg_tmpl *t;
    const struct tmpl_data *d;
    struct sg_buf *out;
    struct sg_arena *a;
    const struct tn *node;
    struct var *vars;
    size_t nvars, vars_cap;
    uint64_t steps;
    struct sg_err *err;
    int code;
    jmp_buf jb;
};

static void sfail(struct state *s, int code, const char *msg) __attribute__((noreturn));
static void sfail(struct state *s, int code, const char *msg)
{
    s->code = code;
    sg_err_set(s->err, code, "%s", msg);
    if (s->err && s->node) {
        s->err->off = s->node->pos;
        s->err->len = 1;
    }
    longjmp(s->jb, 1);
}

static void soom(struct state *s) __attribute__((noreturn));
static void soom(struct state *s)
{
    sfail(s, SG_ENOMEM, "template: out of memory");
}

/* Go's state.errorf with ErrorContext of the current node. */
static void serrorf(struct state *s, const char *fmt, ...) SG_PRINTF(2, 3) __attribute__((noreturn));
static void serrorf(struct state *s, const char *fmt, ...)
{
    char msg[SG_ERR_MSG_MAX];
    char full[SG_ERR_MSG_MAX * 2];
    va_list ap;
    struct sg_buf ctx, qname;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!s->node) {
        snprintf(full, sizeof(full), "template: %s: %s", s->t->name, msg);
    } else {
        uint32_t pos = s->node->pos, line = 1, col;
        uint32_t last_nl = UINT32_MAX;
        for (uint32_t i = 0; i < pos && i < s->t->text.len; i++) {
            if (s->t->text.ptr[i] == '\n') {
                line++;
                last_nl = i;
            }
        }
        col = last_nl == UINT32_MAX ? pos : pos - (last_nl + 1);
        sg_buf_init(&ctx, 4096);
        sg_buf_init(&qname, 1024);
        if (sg_tmpl__node_string(s->node, &ctx) != SG_OK && ctx.len == 0)
            ignore_rc(sg_buf_puts(&ctx, "?"));
        ignore_rc(sg_tmpl__quote(sg_str_c(s->t->name), false, &qname));
        snprintf(full, sizeof(full), "template: %s:%u:%u: executing %s at <%s>: %s", s->t->name,
                 line, col, sg_buf_cstr(&qname), sg_buf_cstr(&ctx), msg);
        sg_buf_cleanup(&ctx);
        sg_buf_cleanup(&qname);
    }
    sfail(s, SG_EEVAL, full);
}

static void at(struct state *s, const struct tn *n)
{
    s->node = n;
    if (++s->steps > s->t->lim.max_steps) {
        s->code = SG_ELIMIT;
        sg_err_set(s->err, SG_ELIMIT, "template: %s: more than %llu evaluation steps",
                   s->t->name, (unsigned long long)s->t->lim.max_steps);
        longjmp(s->jb, 1);
    }
}

static const char *node_str(struct state *s, const struct tn *n)
{
    struct sg_buf b;
    char *r;

    sg_buf_init(&b, 4096);
    if (sg_tmpl__node_string(n, &b) != SG_OK) {
        sg_buf_cleanup(&b);
        soom(s);
    }
    r = sg_arena_strndup(s->a, b.data ? b.data : "", b.len);
    sg_buf_cleanup(&b);
    if (!r)
        soom(s);
    return r;
}

static void push_var(struct state *s, struct sg_str name, struct tv value)
{
    if (s->nvars == s->vars_cap) {
        size_t cap = s->vars_cap ? s->vars_cap * 2 : 8;
        void *p = sg_arena_grow(s->a, s->vars, s->vars_cap * sizeof(*s->vars),
                                cap * sizeof(*s->vars));
        if (!p)
            soom(s);
        s->vars = p;
        s->vars_cap = cap;
    }
    s->vars[s->nvars].name = name;
    s->vars[s->nvars].value = value;
    s->nvars++;
}

static void set_var(struct state *s, struct sg_str name, struct tv value)
{
    for (size_t i = s->nvars; i-- > 0;) {
        if (sg_str_eq(s->vars[i].name, name)) {
            s->vars[i].value = value;
            return;
        }
    }
    serrorf(s, "undefined variable: %.*s", (int)name.len, name.ptr);
}

static struct tv var_value(struct state *s, struct sg_str name)
{
    for (size_t i = s->nvars; i-- > 0;) {
        if (sg_str_eq(s->vars[i].name, name))
            return s->vars[i].value;
    }
    serrorf(s, "undefined variable: %.*s", (int)name.len, name.ptr);
}

static struct sg_str sdup(struct state *s, const char *p, size_t n)
{
    char *c = sg_arena_strndup(s->a, p ? p : "", n);
    if (!c)
        soom(s);
    return sg_str_make(c, n);
}

/* the value of a label, "" when absent (a map lookup with missingkey=zero) */
static struct sg_str label_get(const struct sg_labels *m, struct sg_str name)
{
    for (uint32_t i = 0; m && i < m->count; i++) {
        if (sg_str_eq(m->v[i].name, name))
            return m->v[i].value;
    }
    return sg_str_make("", 0);
}

static struct tv tv_string(struct sg_str str)
{
    struct tv v;
    memset(&v, 0, sizeof(v));
    v.k = TV_STRING;
    v.s = str;
    return v;
}

static struct tv tv_kind(enum tv_kind k)
{
    struct tv v;
    memset(&v, 0, sizeof(v));
    v.k = k;
    return v;
}

/* isTrue: truth and whether the value has one */
static bool is_true(const struct tv *v, bool *ok)
{
    *ok = true;
    switch (v->k) {
    case TV_INVALID:
    case TV_NIL:
        return false;
    case TV_BOOL:
        return v->b;
    case TV_INT:
    case TV_UINT8:
        return v->i != 0;
    case TV_FLOAT:
        return v->f != 0;
    case TV_COMPLEX:
        return v->f != 0 || v->im != 0;
    case TV_STRING:
        return v->s.len > 0;
    case TV_MAP:
        return v->m && v->m->count > 0;
    case TV_DATA:
        return true;
    }
    *ok = false;
    return false;
}

static bool truth(const struct tv *v)
{
    bool ok;
    return is_true(v, &ok);
}

/* ---- evaluation --------------------------------------------------------------------------- */

static struct tv eval_pipeline(struct state *s, struct tv dot, const struct tn *pipe);
static struct tv eval_arg(struct state *s, struct tv dot, enum tf_param typ, const struct tn *n);
static struct tv eval_function(struct state *s, struct tv dot, const struct tn *node,
                               const struct tn *cmd, const struct tn_list *args,
                               const struct tv *final);

static void not_a_function(struct state *s, const struct tn_list *args, const struct tv *final)
{
    if ((args && args->n > 1) || final)
        serrorf(s, "can't give argument to non-function %s", node_str(s, args->v[0]));
}

static bool is_hex_int(struct sg_str t)
{
    if (!(t.len > 2 && t.ptr[0] == '0' && (t.ptr[1] == 'x' || t.ptr[1] == 'X')))
        return false;
    for (size_t i = 0; i < t.len; i++) {
        if (t.ptr[i] == 'p' || t.ptr[i] == 'P')
            return false;
    }
    return true;
}

static struct tv ideal_constant(struct state *s, const struct tn *c)
{
    struct tv v = tv_kind(TV_INVALID);
    bool has_fpchar = false;

    at(s, c);
    for (size_t i = 0; i < c->text.len; i++) {
        if (strchr(".eEpP", c->text.ptr[i]))
            has_fpchar = true;
    }
    if (c->is_complex) {
        serrorf(s, "complex number %s not supported by stopgate", node_str(s, c));
    } else if (c->is_float && !is_hex_int(c->text) &&
               !(c->text.len > 0 && c->text.ptr[0] == '\'') && has_fpchar) {
        v.k = TV_FLOAT;
        v.f = c->f64;
    } else if (c->is_int) {
        v.k = TV_INT;
        v.i = c->i64;
    } else if (c->is_uint) {
        serrorf(s, "%s overflows int", node_str(s, c));
    }
    return v;
}

static const char *data_field(struct sg_str name)
{
    static const char *names[] = {"Labels", "ExternalLabels", "ExternalURL", "Value"};
    for (size_t i = 0; i < SG_ARRAY_LEN(names); i++) {
        if (sg_str_eq_c(name, names[i]))
            return names[i];
    }
    return NULL;
}

static struct tv eval_field(struct state *s, struct tv dot, struct sg_str name,
                            const struct tn *node, const struct tn_list *args,
                            const struct tv *final, struct tv receiver)
{
    bool has_args = (args && args->n > 1) || final;
    struct tv r;

    (void)dot;
    (void)node;
    if (receiver.k == TV_INVALID)
        return tv_kind(TV_INVALID);
    if (receiver.k == TV_NIL)
        serrorf(s, "nil pointer evaluating interface {}.%.*s", (int)name.len, name.ptr);
    if (receiver.k == TV_DATA) {
        const char *f = data_field(name);
        if (f) {
            if (has_args)
                serrorf(s, "%.*s has arguments but cannot be invoked as function", (int)name.len,
                        name.ptr);
            memset(&r, 0, sizeof(r));
            if (strcmp(f, "Labels") == 0) {
                r.k = TV_MAP;
                r.m = &s->d->labels;
            } else if (strcmp(f, "ExternalLabels") == 0) {
                r.k = TV_MAP;
                r.m = &s->d->external_labels;
            } else if (strcmp(f, "ExternalURL") == 0) {
                r = tv_string(s->d->external_url);
            } else {
                r.k = TV_FLOAT;
                r.f = s->d->value;
            }
            return r;
        }
    } else if (receiver.k == TV_MAP) {
        if (has_args)
            serrorf(s, "%.*s is not a method but has arguments", (int)name.len, name.ptr);
        /* missingkey=zero: an absent key is the empty string */
        return tv_string(label_get(receiver.m, name));
    }
    serrorf(s, "can't evaluate field %.*s in type %s", (int)name.len, name.ptr,
            sg_tmpl__type_name(&receiver));
}

static struct tv eval_field_chain(struct state *s, struct tv dot, struct tv receiver,
                                  const struct tn *node, const struct sg_str *ident, uint32_t n,
                                  const struct tn_list *args, const struct tv *final)
{
    for (uint32_t i = 0; i + 1 < n; i++)
        receiver = eval_field(s, dot, ident[i], node, NULL, NULL, receiver);
    return eval_field(s, dot, ident[n - 1], node, args, final, receiver);
}

static struct tv eval_field_node(struct state *s, struct tv dot, const struct tn *field,
                                 const struct tn_list *args, const struct tv *final)
{
    at(s, field);
    return eval_field_chain(s, dot, dot, field, field->idents, field->nidents, args, final);
}

static struct tv eval_chain_node(struct state *s, struct tv dot, const struct tn *chain,
                                 const struct tn_list *args, const struct tv *final)
{
    struct tv pipe;

    at(s, chain);
    if (chain->nidents == 0)
        serrorf(s, "internal error: no fields in evalChainNode");
    if (chain->pipe->kind == TN_NIL)
        serrorf(s, "indirection through explicit nil in %s", node_str(s, chain));
    pipe = eval_arg(s, dot, TP_NONE, chain->pipe);
    return eval_field_chain(s, dot, pipe, chain, chain->idents, chain->nidents, args, final);
}

static struct tv eval_variable_node(struct state *s, struct tv dot, const struct tn *var,
                                    const struct tn_list *args, const struct tv *final)
{
    struct tv value;

    at(s, var);
    value = var_value(s, var->idents[0]);
    if (var->nidents == 1) {
        not_a_function(s, args, final);
        return value;
    }
    return eval_field_chain(s, dot, value, var, var->idents + 1, var->nidents - 1, args, final);
}

static bool can_be_nil(enum tf_param typ)
{
    return typ == TP_IFACE || typ == TP_VALUE;
}

static struct tv validate_type(struct state *s, struct tv value, enum tf_param typ)
{
    if (value.k == TV_INVALID) {
        if (typ == TP_NONE)
            return value;
        if (typ == TP_IFACE)
            return tv_kind(TV_NIL);
        if (typ == TP_VALUE)
            return tv_kind(TV_INVALID);
        serrorf(s, "invalid value; expected %s", param_type_name(typ));
    }
    if (typ == TP_STRING && value.k != TV_STRING)
        serrorf(s, "wrong type for value; expected string; got %s",
                value.k == TV_NIL ? "interface {}" : sg_tmpl__type_name(&value));
    return value;
}

static struct tv eval_empty_interface(struct state *s, struct tv dot, const struct tn *n)
{
    at(s, n);
    switch (n->kind) {
    case TN_BOOL: {
        struct tv v = tv_kind(TV_BOOL);
        v.b = n->b;
        return v;
    }
    case TN_DOT:
        return dot;
    case TN_FIELD:
        return eval_field_node(s, dot, n, NULL, NULL);
    case TN_IDENT:
        return eval_function(s, dot, n, n, NULL, NULL);
    case TN_NIL:
        serrorf(s, "evalEmptyInterface: nil (can't happen)");
    case TN_NUMBER:
        return ideal_constant(s, n);
    case TN_STRING:
        return tv_string(n->text);
    case TN_VARIABLE:
        return eval_variable_node(s, dot, n, NULL, NULL);
    case TN_PIPE:
        return eval_pipeline(s, dot, n);
    default:
        serrorf(s, "can't handle assignment of %s to empty interface argument", node_str(s, n));
    }
}

static struct tv eval_arg(struct state *s, struct tv dot, enum tf_param typ, const struct tn *n)
{
    at(s, n);
    switch (n->kind) {
    case TN_DOT:
        return validate_type(s, dot, typ);
    case TN_NIL:
        if (can_be_nil(typ))
            return tv_kind(typ == TP_IFACE ? TV_NIL : TV_INVALID);
        serrorf(s, "cannot assign nil to %s", param_type_name(typ));
    case TN_FIELD: {
        struct tn *self = (struct tn *)(uintptr_t)n;
        struct tn_list one = {&self, 1, 1};
        return validate_type(s, eval_field_node(s, dot, n, &one, NULL), typ);
    }
    case TN_VARIABLE:
        return validate_type(s, eval_variable_node(s, dot, n, NULL, NULL), typ);
    case TN_PIPE:
        return validate_type(s, eval_pipeline(s, dot, n), typ);
    case TN_IDENT:
        return validate_type(s, eval_function(s, dot, n, n, NULL, NULL), typ);
    case TN_CHAIN:
        return validate_type(s, eval_chain_node(s, dot, n, NULL, NULL), typ);
    default:
        break;
    }
    switch (typ) {
    case TP_STRING:
        at(s, n);
        if (n->kind == TN_STRING)
            return tv_string(n->text);
        serrorf(s, "expected string; found %s", node_str(s, n));
    case TP_IFACE:
    case TP_VALUE:
        return eval_empty_interface(s, dot, n);
    default:
        serrorf(s, "can't handle %s for arg of type <nil>", node_str(s, n));
    }
}

/* ---- builtins ----------------------------------------------------------------------------- */

enum bkind { BK_INVALID = 0, BK_BOOL, BK_COMPLEX, BK_INT, BK_FLOAT, BK_STRING, BK_UINT };

static enum bkind basic_kind(const struct tv *v)
{
    switch (v->k) {
    case TV_BOOL:
        return BK_BOOL;
    case TV_INT:
        return BK_INT;
    case TV_UINT8:
        return BK_UINT;
    case TV_FLOAT:
        return BK_FLOAT;
    case TV_COMPLEX:
        return BK_COMPLEX;
    case TV_STRING:
        return BK_STRING;
    default:
        return BK_INVALID;
    }
}

static bool valid(const struct tv *v)
{
    return v->k != TV_INVALID && v->k != TV_NIL;
}

/* "%s" of a value followed by ": " and its type, for eq's messages */
static void value_and_type(const struct tmpl_data *d, const struct tv *v, struct sg_buf *b)
{
    ignore_rc(sg_tmpl__sprintf(sg_str_c("%s: "), v, 1, d, b));
    ignore_rc(sg_buf_puts(b, sg_tmpl__type_name(v)));
}

/* eq: arg1 == any of args. Returns 0 false, 1 true, or -1 with the error
 * text in msg (static text) or buf. */
static int builtin_eq(const struct tmpl_data *d, const struct tv *a1, const struct tv *args,
                      size_t n, const char **msg, struct sg_buf *buf)
{
    enum bkind k1 = basic_kind(a1);

    if (n == 0) {
        *msg = "missing argument for comparison";
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct tv *a = &args[i];
        enum bkind k2 = basic_kind(a);
        bool t = false;
        if (k1 != k2) {
            if (k1 == BK_INT && k2 == BK_UINT) {
                t = a1->i >= 0 && a1->i == a->i;
            } else if (k1 == BK_UINT && k2 == BK_INT) {
                t = a->i >= 0 && a1->i == a->i;
            } else if (valid(a1) && valid(a)) {
                *msg = "incompatible types for comparison";
                return -1;
            }
        } else {
            switch (k1) {
            case BK_BOOL:
                t = a1->b == a->b;
                break;
            case BK_COMPLEX:
                t = a1->f == a->f && a1->im == a->im;
                break;
            case BK_FLOAT:
                t = a1->f == a->f;
                break;
            case BK_INT:
            case BK_UINT:
                t = a1->i == a->i;
                break;
            case BK_STRING:
                t = sg_str_eq(a1->s, a->s);
                break;
            default:
                if (!valid(a1) || !valid(a)) {
                    t = !valid(a1) && !valid(a);
                } else if (a1->k != a->k) {
                    ignore_rc(sg_buf_puts(buf, "non-comparable types "));
                    value_and_type(d, a1, buf);
                    ignore_rc(sg_buf_puts(buf, ", "));
                    ignore_rc(sg_buf_puts(buf, sg_tmpl__type_name(a)));
                    ignore_rc(sg_buf_puts(buf, ": "));
                    ignore_rc(sg_tmpl__sprintf(sg_str_c("%v"), a, 1, d, buf));
                    *msg = NULL;
                    return -1;
                } else {
                    ignore_rc(sg_buf_puts(buf, "non-comparable type "));
                    value_and_type(d, a, buf);
                    *msg = NULL;
                    return -1;
                }
            }
        }
        if (t)
            return 1;
    }
    return 0;
}

static int builtin_lt(const struct tv *a1, const struct tv *a2, const char **msg)
{
    enum bkind k1 = basic_kind(a1), k2 = basic_kind(a2);

    if (k1 == BK_INVALID || k2 == BK_INVALID) {
        *msg = "invalid type for comparison";
        return -1;
    }
    if (k1 != k2) {
        if (k1 == BK_INT && k2 == BK_UINT)
            return a1->i < 0 || a1->i < a2->i;
        if (k1 == BK_UINT && k2 == BK_INT)
            return a2->i >= 0 && a1->i < a2->i;
        *msg = "incompatible types for comparison";
        return -1;
    }
    switch (k1) {
    case BK_BOOL:
    case BK_COMPLEX:
        *msg = "invalid type for comparison";
        return -1;
    case BK_FLOAT:
        return a1->f < a2->f;
    case BK_INT:
    case BK_UINT:
        return a1->i < a2->i;
    case BK_STRING:
        return sg_str_cmp(a1->s, a2->s) < 0;
    default:
        *msg = "invalid type for comparison";
        return -1;
    }
}

static struct tv builtin_index(struct state *s, const struct tv *args, size_t n, char *msg,
                               size_t msgn, bool *failed)
{
    struct tv item = args[0];

    *failed = false;
    if (!valid(&item)) {
        snprintf(msg, msgn, "index of untyped nil");
        *failed = true;
        return item;
    }
    for (size_t i = 1; i < n; i++) {
        const struct tv *ix = &args[i];
        if (item.k == TV_STRING) {
            int64_t x;
            if (ix->k == TV_INT || ix->k == TV_UINT8) {
                x = ix->i;
            } else if (!valid(ix)) {
                snprintf(msg, msgn, "cannot index slice/array with nil");
                *failed = true;
                return item;
            } else {
                snprintf(msg, msgn, "cannot index slice/array with type %s",
                         sg_tmpl__type_name(ix));
                *failed = true;
                return item;
            }
            if (x < 0 || (uint64_t)x >= item.s.len) {
                snprintf(msg, msgn, "index out of range: %lld", (long long)x);
                *failed = true;
                return item;
            }
            {
                struct tv b = tv_kind(TV_UINT8);
                b.i = (unsigned char)item.s.ptr[x];
                item = b;
            }
        } else if (item.k == TV_MAP) {
            if (!valid(ix)) {
                snprintf(msg, msgn, "value is nil; should be of type string");
                *failed = true;
                return item;
            }
            if (ix->k != TV_STRING) {
                snprintf(msg, msgn, "value has type %s; should be string", sg_tmpl__type_name(ix));
                *failed = true;
                return item;
            }
            item = tv_string(label_get(item.m, ix->s));
        } else {
            snprintf(msg, msgn, "can't index item of type %s", sg_tmpl__type_name(&item));
            *failed = true;
            return item;
        }
    }
    (void)s;
    return item;
}

/* What was written into b, as a string of the run; b is released. rc is
 * how the writing went: a failure there is the output cap. */
static struct sg_str take_text(struct state *s, struct sg_buf *b, int rc)
{
    struct sg_str r;

    if (rc != SG_OK) {
        sg_buf_cleanup(b);
        sfail(s, SG_ELIMIT, "template: output too large");
    }
    r = sdup(s, b->data, b->len);
    sg_buf_cleanup(b);
    return r;
}

/* text for html/urlquery/js: the one string argument, or fmt.Sprint of all */
static struct sg_str eval_args_text(struct state *s, const struct tv *args, size_t n)
{
    struct sg_buf b;

    if (n == 1 && args[0].k == TV_STRING)
        return args[0].s;
    sg_buf_init(&b, s->t->lim.max_output);
    return take_text(s, &b, sg_tmpl__sprint(args, n, s->d, false, &b));
}

static struct sg_str html_escape(struct state *s, struct sg_str in)
{
    struct sg_buf b;
    int rc = SG_OK;

    sg_buf_init(&b, s->t->lim.max_output);
    for (size_t i = 0; i < in.len && rc == SG_OK; i++) {
        switch (in.ptr[i]) {
        case '"':
            rc = sg_buf_puts(&b, "&#34;");
            break;
        case '\'':
            rc = sg_buf_puts(&b, "&#39;");
            break;
        case '&':
            rc = sg_buf_puts(&b, "&amp;");
            break;
        case '<':
            rc = sg_buf_puts(&b, "&lt;");
            break;
        case '>':
            rc = sg_buf_puts(&b, "&gt;");
            break;
        case '\0':
            rc = sg_buf_puts(&b, "\xef\xbf\xbd");
            break;
        default:
            rc = sg_buf_putc(&b, in.ptr[i]);
        }
    }
    return take_text(s, &b, rc);
}

static struct sg_str url_query_escape(struct state *s, struct sg_str in)
{
    struct sg_buf b;
    int rc = SG_OK;
    static const char hex[] = "0123456789ABCDEF";

    sg_buf_init(&b, s->t->lim.max_output);
    for (size_t i = 0; i < in.len && rc == SG_OK; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            rc = sg_buf_putc(&b, (char)c);
        else if (c == ' ')
            rc = sg_buf_putc(&b, '+');
        else
            rc = sg_buf_appendf(&b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
    return take_text(s, &b, rc);
}

/* Call a function with evaluated arguments. On a Go error return, *errmsg
 * is set (the caller reports "error calling NAME: msg"). */
static struct tv call_func(struct state *s, const struct tf_def *f, struct tv *argv, size_t n,
                           char *errmsg, size_t errn, bool *failed)
{
    struct tv r = tv_kind(TV_INVALID);
    const char *msg = NULL;
    struct sg_buf mb;
    int c;

    *failed = false;
    sg_buf_init(&mb, errn > 1 ? errn - 1 : 0);
    switch (f->id) {
    case TF_NOT:
        r.k = TV_BOOL;
        r.b = !truth(&argv[0]);
        return r;
    case TF_LEN:
        if (argv[0].k == TV_STRING) {
            r.k = TV_INT;
            r.i = (int64_t)argv[0].s.len;
        } else if (argv[0].k == TV_MAP) {
            r.k = TV_INT;
            r.i = argv[0].m ? argv[0].m->count : 0;
        } else if (!valid(&argv[0])) {
            snprintf(errmsg, errn, "reflect: call of reflect.Value.Type on zero Value");
            *failed = true;
        } else {
            snprintf(errmsg, errn, "len of type %s", sg_tmpl__type_name(&argv[0]));
            *failed = true;
        }
        return r;
    case TF_INDEX:
        return builtin_index(s, argv, n, errmsg, errn, failed);
    case TF_PRINT:
    case TF_PRINTLN:
    case TF_PRINTF: {
        struct sg_buf b;
        int rc;
        sg_buf_init(&b, s->t->lim.max_output);
        if (f->id == TF_PRINTF)
            rc = sg_tmpl__sprintf(argv[0].s, argv + 1, n - 1, s->d, &b);
        else
            rc = sg_tmpl__sprint(argv, n, s->d, f->id == TF_PRINTLN, &b);
        if (rc != SG_OK) {
            sg_buf_cleanup(&b);
            sfail(s, rc == SG_ENOMEM ? SG_ENOMEM : SG_ELIMIT,
                  "template: output larger than the limit");
        }
        r = tv_string(sdup(s, b.data, b.len));
        sg_buf_cleanup(&b);
        return r;
    }
    case TF_HTML:
        return tv_string(html_escape(s, eval_args_text(s, argv, n)));
    case TF_URLQUERY:
        return tv_string(url_query_escape(s, eval_args_text(s, argv, n)));
    case TF_EQ:
    case TF_NE:
        c = builtin_eq(s->d, &argv[0], argv + 1, n - 1, &msg, &mb);
        if (c < 0)
            break;
        r.k = TV_BOOL;
        r.b = f->id == TF_EQ ? c == 1 : c == 0;
        return r;
    case TF_LT:
    case TF_GE:
        c = builtin_lt(&argv[0], &argv[1], &msg);
        if (c < 0)
            break;
        r.k = TV_BOOL;
        r.b = f->id == TF_LT ? c == 1 : c == 0;
        return r;
    case TF_LE:
    case TF_GT: {
        int lt = builtin_lt(&argv[0], &argv[1], &msg);
        if (lt < 0)
            break;
        if (lt == 0) {
            c = builtin_eq(s->d, &argv[0], &argv[1], 1, &msg, &mb);
            if (c < 0)
                break;
            lt = c;
        }
        r.k = TV_BOOL;
        r.b = f->id == TF_LE ? lt == 1 : lt == 0;
        return r;
    }
    default: {
        struct sg_buf b;
        int rc;
        double fv = 0;
        bool is_float = false;
        sg_buf_init(&b, s->t->lim.max_output);
        rc = sg_tmpl__prom_func(f->id, argv, n, &b, &fv, &is_float, errmsg, errn);
        if (rc == SG_EEVAL) {
            sg_buf_cleanup(&b);
            *failed = true;
            return r;
        }
        if (rc != SG_OK) {
            sg_buf_cleanup(&b);
            sfail(s, rc, "template: output larger than the limit");
        }
        if (is_float) {
            r.k = TV_FLOAT;
            r.f = fv;
        } else if (f->id == TF_MATCH) {
            r.k = TV_BOOL;
            r.b = b.len == 1 && b.data[0] == '1';
        } else {
            r = tv_string(sdup(s, b.data, b.len));
        }
        sg_buf_cleanup(&b);
        return r;
    }
    }
    snprintf(errmsg, errn, "%s", msg ? msg : sg_buf_cstr(&mb));
    sg_buf_cleanup(&mb);
    *failed = true;
    return r;
}

static struct tv eval_call(struct state *s, struct tv dot, const struct tf_def *f,
                           const struct tn *node, const char *name, const struct tn_list *args_in,
                           const struct tv *final)
{
    size_t nargs = args_in ? args_in->n - 1 : 0;
    struct tn *const *args = args_in ? args_in->v + 1 : NULL;
    size_t num_in = nargs + (final ? 1 : 0);
    size_t num_fixed = nargs;
    struct tv *argv;
    size_t i = 0;
    char errmsg[SG_ERR_MSG_MAX];
    bool failed;
    struct tv r;

    if (f->variadic) {
        num_fixed = (size_t)f->nin - 1;
        if (num_in < num_fixed)
            serrorf(s, "wrong number of args for %s: want at least %d got %zu", name, f->nin - 1,
                    nargs);
    } else if (num_in != f->nin) {
        serrorf(s, "wrong number of args for %s: want %d got %zu", name, f->nin, num_in);
    }
    if (f->builtin && (f->id == TF_AND || f->id == TF_OR)) {
        struct tv v = tv_kind(TV_INVALID);
        for (i = 0; i < nargs; i++) {
            v = eval_arg(s, dot, TP_VALUE, args[i]);
            if (truth(&v) == (f->id == TF_OR))
                return v;
        }
        if (final)
            v = validate_type(s, *final, TP_VALUE);
        return v;
    }
    argv = sg_arena_alloc_array(s->a, num_in + 1, sizeof(*argv));
    if (!argv)
        soom(s);
    for (; i < num_fixed && i < nargs; i++)
        argv[i] = eval_arg(s, dot, f->in[i], args[i]);
    if (f->variadic) {
        enum tf_param et = f->in[f->nin - 1];
        for (; i < nargs; i++)
            argv[i] = eval_arg(s, dot, et, args[i]);
    }
    if (final) {
        enum tf_param t = f->in[f->nin - 1];
        if (f->variadic && num_in - 1 < num_fixed)
            t = f->in[num_in - 1];
        argv[i] = validate_type(s, *final, t);
    }
    r = call_func(s, f, argv, num_in, errmsg, sizeof(errmsg), &failed);
    if (failed) {
        at(s, node);
        serrorf(s, "error calling %s: %s", name, errmsg);
    }
    return r;
}

static struct tv eval_function(struct state *s, struct tv dot, const struct tn *node,
                               const struct tn *cmd, const struct tn_list *args,
                               const struct tv *final)
{
    const struct tf_def *f;
    char name[128];

    at(s, node);
    snprintf(name, sizeof(name), "%.*s", (int)node->text.len, node->text.ptr);
    f = sg_tmpl__func_find(node->text);
    if (!f)
        serrorf(s, "\"%s\" is not a defined function", name);
    if (!f->supported)
        serrorf(s, "function \"%s\" not supported by stopgate", name);
    return eval_call(s, dot, f, cmd, name, args, final);
}

static struct tv eval_command(struct state *s, struct tv dot, const struct tn *cmd,
                              const struct tv *final)
{
    const struct tn *first = cmd->list.v[0];
    struct tv v;

    switch (first->kind) {
    case TN_FIELD:
        return eval_field_node(s, dot, first, &cmd->list, final);
    case TN_CHAIN:
        return eval_chain_node(s, dot, first, &cmd->list, final);
    case TN_IDENT:
        return eval_function(s, dot, first, cmd, &cmd->list, final);
    case TN_PIPE:
        not_a_function(s, &cmd->list, final);
        return eval_pipeline(s, dot, first);
    case TN_VARIABLE:
        return eval_variable_node(s, dot, first, &cmd->list, final);
    default:
        break;
    }
    at(s, first);
    not_a_function(s, &cmd->list, final);
    switch (first->kind) {
    case TN_BOOL:
        v = tv_kind(TV_BOOL);
        v.b = first->b;
        return v;
    case TN_DOT:
        return dot;
    case TN_NIL:
        serrorf(s, "nil is not a command");
    case TN_NUMBER:
        return ideal_constant(s, first);
    case TN_STRING:
        return tv_string(first->text);
    default:
        serrorf(s, "can't evaluate command %s", node_str(s, first));
    }
}

static struct tv eval_pipeline(struct state *s, struct tv dot, const struct tn *pipe)
{
    struct tv value = tv_kind(TV_INVALID);
    bool have = false;

    if (!pipe)
        return value;
    at(s, pipe);
    for (uint32_t i = 0; i < pipe->list.n; i++) {
        value = eval_command(s, dot, pipe->list.v[i], have ? &value : NULL);
        have = true;
        /* a nil interface{} result becomes "no value", as reflect.ValueOf(nil) */
        if (value.k == TV_NIL)
            value.k = TV_INVALID;
    }
    for (uint32_t i = 0; i < pipe->decl.n; i++) {
        if (pipe->is_assign)
            set_var(s, pipe->decl.v[i]->idents[0], value);
        else
            push_var(s, pipe->decl.v[i]->idents[0], value);
    }
    return value;
}

static void print_value(struct state *s, const struct tn *n, struct tv v)
{
    int rc;

    at(s, n);
    if (v.k == TV_INVALID)
        rc = sg_buf_puts(s->out, "<no value>");
    else
        rc = sg_tmpl__print_value(&v, s->d, s->out);
    if (rc != SG_OK)
        sfail(s, rc == SG_ENOMEM ? SG_ENOMEM : SG_ELIMIT,
              "template: output larger than the limit");
}

static void walk(struct state *s, struct tv dot, const struct tn *node);

static void walk_if_or_with(struct state *s, bool is_with, struct tv dot, const struct tn *node)
{
    size_t mark = s->nvars;
    struct tv val = eval_pipeline(s, dot, node->pipe);
    bool ok;
    bool t = is_true(&val, &ok);

    if (!ok)
        serrorf(s, "if/with can't use value");
    if (t)
        walk(s, is_with ? val : dot, node->body);
    else if (node->else_body)
        walk(s, dot, node->else_body);
    s->nvars = mark;
}

static void walk(struct state *s, struct tv dot, const struct tn *node)
{
    at(s, node);
    switch (node->kind) {
    case TN_ACTION: {
        struct tv val = eval_pipeline(s, dot, node->pipe);
        if (node->pipe->decl.n == 0)
            print_value(s, node, val);
        return;
    }
    case TN_COMMENT:
        return;
    case TN_IF:
        walk_if_or_with(s, false, dot, node);
        return;
    case TN_WITH:
        walk_if_or_with(s, true, dot, node);
        return;
    case TN_LIST:
        for (uint32_t i = 0; i < node->list.n; i++)
            walk(s, dot, node->list.v[i]);
        return;
    case TN_TEXT:
        if (sg_buf_append(s->out, node->text.ptr, node->text.len) != SG_OK)
            sfail(s, SG_ELIMIT, "template: output larger than the limit");
        return;
    case TN_RANGE:
        serrorf(s, "{{range}} not supported by stopgate");
    case TN_TEMPLATE:
        serrorf(s, "{{template}} not supported by stopgate");
    case TN_BREAK:
    case TN_CONTINUE:
        serrorf(s, "%s not supported by stopgate",
                node->kind == TN_BREAK ? "{{break}}" : "{{continue}}");
    default:
        serrorf(s, "unknown node: %s", node_str(s, node));
    }
}

static int run(struct state *s)
{
    struct tv dot;

    if (setjmp(s->jb) != 0)
        return s->code;
    memset(&dot, 0, sizeof(dot));
    dot.k = TV_DATA;
    push_var(s, sg_str_c("$"), dot);
    if (!s->t->root)
        serrorf(s, "\"%s\" is an incomplete or empty template", s->t->name);
    walk(s, dot, s->t->root);
    return SG_OK;
}

int sg_tmpl_exec(const struct sg_tmpl *t, const struct sg_tmpl_data *data, struct sg_buf *out,
                 struct sg_err *err)
{
    struct sg_arena a;
    struct state s;
    struct tmpl_data d;
    size_t cap = out->max;
    int rc;

    memset(&d, 0, sizeof(d));
    if (data) {
        if (data->labels)
            d.labels = *data->labels;
        if (data->external_labels)
            d.external_labels = *data->external_labels;
        d.external_url = data->external_url;
        d.value = data->value;
    }
    sg_arena_init(&a, t->lim.max_output * 8 + (1u << 20));
    memset(&s, 0, sizeof(s));
    s.t = t;
    s.d = &d;
    s.out = out;
    s.a = &a;
    s.err = err;
    /* the template's output cap applies on top of the buffer's own */
    if (out->len + t->lim.max_output < out->max)
        out->max = out->len + t->lim.max_output;
    rc = run(&s);
    out->max = cap;
    sg_arena_cleanup(&a);
    return rc;
}

/* ---- Prometheus's alert expansion ---------------------------------------------------------- */

static int alert_name(struct sg_str alertname, char *buf, size_t n)
{
    int len = snprintf(buf, n, "__alert_%.*s", (int)alertname.len, alertname.ptr);
    return len > 0 && (size_t)len < n ? SG_OK : SG_ELIMIT;
}

int sg_tmpl_parse_alert(struct sg_str text, struct sg_str alertname, struct sg_arena *arena,
                        struct sg_tmpl **t, struct sg_err *err)
{
    static const char defs[] = SG_TMPL_ALERT_DEFS;
    struct sg_buf full;
    char name[512];
    struct sg_tmpl *tmp = NULL;
    int rc;

    if (alert_name(alertname, name, sizeof(name)) != SG_OK)
        return sg_err_set(err, SG_ELIMIT, "alert name longer than %zu bytes", sizeof(name) - 9);
    sg_buf_init(&full, (size_t)text.len + sizeof(defs) + 1);
    if (sg_buf_append(&full, defs, sizeof(defs) - 1) != SG_OK ||
        sg_buf_append_str(&full, text) != SG_OK) {
        sg_buf_cleanup(&full);
        return sg_err_set(err, SG_ENOMEM, "template: out of memory");
    }
    rc = sg_tmpl_parse(sg_buf_view(&full), name, arena, NULL, &tmp, err);
    sg_buf_cleanup(&full);
    if (rc != SG_OK) {
        if (err) {
            uint32_t skip = (uint32_t)sizeof(defs) - 1;
            err->off = err->off >= skip ? err->off - skip : 0;
        }
        return rc;
    }
    if (t)
        *t = tmp;
    return SG_OK;
}

int sg_tmpl_exec_alert(const struct sg_tmpl *t, const struct sg_tmpl_data *data,
                       struct sg_buf *out, struct sg_err *err)
{
    struct sg_err e;
    size_t mark = out->len;
    int rc;

    sg_err_clear(&e);
    rc = sg_tmpl_exec(t, data, out, &e);
    if (rc == SG_OK)
        return SG_OK;
    if (rc == SG_ENOMEM)
        return sg_err_set(err, rc, "%s", e.msg);
    sg_buf_truncate(out, mark);
    if (sg_buf_appendf(out, "<error expanding template: error executing template %s: %s>",
                       t->name, e.msg) != SG_OK)
        return sg_err_set(err, SG_ELIMIT, "expanded template larger than the output cap");
    return SG_OK;
}

int sg_tmpl_expand_alert(struct sg_str text, struct sg_str alertname,
                         const struct sg_tmpl_data *data, struct sg_arena *scratch,
                         struct sg_buf *out, struct sg_err *err)
{
    struct sg_tmpl *t = NULL;
    struct sg_err e;
    char name[512];
    int rc;

    sg_err_clear(&e);
    rc = sg_tmpl_parse_alert(text, alertname, scratch, &t, &e);
    if (rc == SG_ENOMEM)
        return sg_err_set(err, rc, "%s", e.msg);
    if (rc != SG_OK) {
        if (alert_name(alertname, name, sizeof(name)) != SG_OK)
            snprintf(name, sizeof(name), "__alert_");
        if (sg_buf_appendf(out, "<error expanding template: error parsing template %s: %s>", name,
                           e.msg) != SG_OK)
            return sg_err_set(err, SG_ELIMIT, "expanded template larger than the output cap");
        return SG_OK;
    }
    return sg_tmpl_exec_alert(t, data, out, err);
}
