/* src/promql/parse.c - PromQL parser: tokens to the AST of promql.h.
 *
 * A hand-written recursive-descent parser with precedence climbing that
 * accepts exactly Prometheus 2.42's grammar (generated_parser.y):
 *
 *   or  <  and unless  <  == != <= < >= >  <  + -  <  * / % atan2  <  ^
 *
 * all left-associative but ^; unary + and - bind like * (so -2^2 is
 * -(2^2)) and fold into a number literal; the postfix forms [range],
 * [range:step], offset and @ bind tightest and may repeat; aggregations
 * take by/without before or after their arguments; aggregator names and
 * some keywords are metric names where an aggregation cannot follow (`sum`
 * alone is a selector, as in Prometheus).
 *
 * Errors are reported like Prometheus reports them: only the first one,
 * as "LINE:COL: parse error: MESSAGE", with the position and wording of
 * its lexer, of its grammar's error rules ("unexpected X in label
 * matching, expected string") and of the checks its grammar actions make
 * while parsing (unknown function, offset and @ placement, durations,
 * numbers, regexes). Since yacc reports a syntax error inside an
 * aggregation as "... in aggregation", so do we. The type checks that
 * Prometheus runs after parsing are in check.c.
 *
 * Every node, string, matcher array and compiled regex lives in the arena
 * passed in. The tree's height is capped (limits.max_depth).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stopgate/num.h"

#include "promql_int.h"

#define DEFAULT_MAX_DEPTH 1000u
#define DEFAULT_MAX_LEN   (1u << 20)
#define MAX_MATCHERS      1024u
#define MAX_ARGS          1024u
#define MAX_GROUPING      1024u

struct parser {
    struct sg_lexer lx;
    struct sg_str src;
    const char *name;
    struct sg_arena *a;
    struct sg_regex_opts ropts;
    uint32_t max_depth;
    uint32_t depth;
    struct sg_tok tok; /* lookahead, valid when have_tok */
    bool have_tok;
    uint32_t agg_depth;    /* open aggregations (yacc's "in aggregation") */
    uint32_t last_closing; /* end of the last ) ] } duration or number */
    uint32_t sel_count;
    struct sg_err *err;
    int rc;
};

/* node end offset */
static uint32_t nend(const struct sg_node *n)
{
    return n->off + n->len;
}

static void set_span(struct sg_node *n, uint32_t start, uint32_t end)
{
    n->off = start;
    n->len = end >= start ? end - start : 0;
}

/* ---- errors ---------------------------------------------------------------- */

static int perr(struct parser *p, int code, uint32_t off, const char *fmt, ...) SG_PRINTF(4, 5);

void sg_promql__parse_errv(struct sg_err *err, int code, const char *src_name, struct sg_str src,
                           uint32_t off, const char *fmt, va_list ap)
{
    char msg[SG_ERR_MSG_MAX];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    sg_err_set_at(err, code, src_name, src, off, 0, "parse error: %s", msg);
}

static int perr(struct parser *p, int code, uint32_t off, const char *fmt, ...)
{
    va_list ap;

    if (p->rc != SG_OK)
        return p->rc;
    va_start(ap, fmt);
    sg_promql__parse_errv(p->err, code, p->name, p->src, off, fmt, ap);
    va_end(ap);
    p->rc = code;
    return p->rc;
}

static int oom(struct parser *p)
{
    if (p->rc == SG_OK) {
        p->rc = SG_ENOMEM;
        sg_err_set(p->err, SG_ENOMEM, "parsing PromQL: out of memory");
    }
    return p->rc;
}

/* ---- tokens ------------------------------------------------------------------- */

static const struct sg_tok *peek(struct parser *p)
{
    if (!p->have_tok) {
        do {
            sg_promql__lex_next(&p->lx, &p->tok);
        } while (p->tok.kind == SG_TOK_COMMENT);
        p->have_tok = true;
        if (p->tok.kind == SG_TOK_ERROR)
            perr(p, SG_EPARSE, p->tok.off, "%s", p->lx.msg);
    }
    return &p->tok;
}

static enum sg_tok_kind peek_kind(struct parser *p)
{
    return peek(p)->kind;
}

static struct sg_tok take(struct parser *p)
{
    struct sg_tok t = *peek(p);

    p->have_tok = false;
    switch (t.kind) {
    case SG_TOK_RIGHT_BRACE:
    case SG_TOK_RIGHT_PAREN:
    case SG_TOK_RIGHT_BRACKET:
    case SG_TOK_DURATION:
    case SG_TOK_NUMBER:
        p->last_closing = t.off + t.len;
        break;
    default:
        break;
    }
    return t;
}

/* "unexpected X[ in CONTEXT][, expected Y]" about the lookahead. */
static int unexpected(struct parser *p, const char *ctx, const char *expected)
{
    char d[256];
    const struct sg_tok *t = peek(p);

    if (t->kind == SG_TOK_ERROR || p->rc != SG_OK)
        return p->rc;
    if (!ctx && p->agg_depth > 0)
        ctx = "aggregation";
    sg_promql__tok_desc(p->src.ptr, t, d, sizeof(d));
    return perr(p, SG_EPARSE, t->off, "unexpected %s%s%s%s%s", d, ctx ? " in " : "", ctx ? ctx : "",
                expected ? ", expected " : "", expected ? expected : "");
}

/* ---- nodes --------------------------------------------------------------------- */

/* Nodes carry their tree height while parsing (for the depth cap). */
struct pnode {
    struct sg_node n;
    uint32_t height;
};

static uint32_t height(const struct sg_node *n)
{
    return n ? ((const struct pnode *)(const void *)n)->height : 0;
}

static struct sg_node *new_node(struct parser *p, enum sg_node_kind k, uint32_t start, uint32_t end)
{
    struct pnode *pn = sg_arena_alloc(p->a, sizeof(*pn));

    if (!pn) {
        oom(p);
        return NULL;
    }
    pn->n.kind = k;
    pn->height = 1;
    set_span(&pn->n, start, end);
    return &pn->n;
}

/* Compute the height of a node whose children are attached; false (and
 * SG_ELIMIT) when it is over the cap. */
static bool check_depth(struct parser *p, struct sg_node *n)
{
    uint32_t h = 0, x;

    if (p->rc != SG_OK)
        return false;
    switch (n->kind) {
    case SG_N_SUBQUERY:
        h = height(n->u.subq.expr);
        break;
    case SG_N_CALL:
        for (size_t i = 0; i < n->u.call.nargs; i++)
            if ((x = height(n->u.call.args[i])) > h)
                h = x;
        break;
    case SG_N_AGGR:
        h = height(n->u.aggr.expr);
        if ((x = height(n->u.aggr.param)) > h)
            h = x;
        break;
    case SG_N_BINARY:
        h = height(n->u.bin.lhs);
        if ((x = height(n->u.bin.rhs)) > h)
            h = x;
        break;
    case SG_N_UNARY:
        h = height(n->u.unary.expr);
        break;
    case SG_N_PAREN:
        h = height(n->u.paren.expr);
        break;
    default:
        break;
    }
    ((struct pnode *)(void *)n)->height = h + 1;
    if (h + 1 > p->max_depth) {
        perr(p, SG_ELIMIT, n->off, "expression nested deeper than %u", p->max_depth);
        return false;
    }
    return true;
}

/* ---- small pieces ------------------------------------------------------------------ */

static int parse_duration_tok(struct parser *p, const struct sg_tok *t, int64_t *ms)
{
    char msg[256];

    if (sg_promql__parse_duration(p->src.ptr + t->off, t->len, ms, msg, sizeof(msg)) != SG_OK)
        return perr(p, SG_EPARSE, t->off, "%s", msg);
    return SG_OK;
}

/* Prometheus's parser.number: strconv.ParseInt(s, 0, 64), else ParseFloat. */
static int parse_number_tok(struct parser *p, const struct sg_tok *t, double *v)
{
    struct sg_str s = sg_str_make(p->src.ptr + t->off, t->len);
    int64_t i;
    int rc;
    struct sg_buf b;

    if (sg_num_parse_int(s, &i) == SG_OK) {
        *v = (double)i;
        return SG_OK;
    }
    rc = sg_num_parse(s, v);
    if (rc == SG_OK)
        return SG_OK;
    sg_buf_init(&b, SG_ERR_MSG_MAX);
    if (sg_quote_go(s, &b) != SG_OK && b.len == 0)
        sg_buf_reset(&b);
    rc = perr(p, SG_EPARSE, t->off, "error parsing number: strconv.ParseFloat: parsing %s: %s",
              sg_buf_cstr(&b), rc == SG_ELIMIT ? "value out of range" : "invalid syntax");
    sg_buf_cleanup(&b);
    return rc;
}

static bool is_agg_tok(enum sg_tok_kind k)
{
    return k > SG_TOK_AGG_START && k < SG_TOK_AGG_END;
}

static enum sg_aggop agg_op(enum sg_tok_kind k)
{
    switch (k) {
    case SG_TOK_SUM:
        return SG_AGG_SUM;
    case SG_TOK_AVG:
        return SG_AGG_AVG;
    case SG_TOK_COUNT:
        return SG_AGG_COUNT;
    case SG_TOK_MIN:
        return SG_AGG_MIN;
    case SG_TOK_MAX:
        return SG_AGG_MAX;
    case SG_TOK_GROUP:
        return SG_AGG_GROUP;
    case SG_TOK_STDDEV:
        return SG_AGG_STDDEV;
    case SG_TOK_STDVAR:
        return SG_AGG_STDVAR;
    case SG_TOK_TOPK:
        return SG_AGG_TOPK;
    case SG_TOK_BOTTOMK:
        return SG_AGG_BOTTOMK;
    case SG_TOK_COUNT_VALUES:
        return SG_AGG_COUNT_VALUES;
    case SG_TOK_QUANTILE:
        return SG_AGG_QUANTILE;
    default:
        return SG_AGG_SUM;
    }
}

/* Tokens that may name a metric (yacc's metric_identifier). */
static bool is_metric_ident_tok(enum sg_tok_kind k)
{
    switch (k) {
    case SG_TOK_IDENTIFIER:
    case SG_TOK_METRIC_IDENTIFIER:
    case SG_TOK_BY:
    case SG_TOK_LAND:
    case SG_TOK_LOR:
    case SG_TOK_LUNLESS:
    case SG_TOK_OFFSET:
    case SG_TOK_WITHOUT:
    case SG_TOK_START:
    case SG_TOK_END:
        return true;
    default:
        return is_agg_tok(k);
    }
}

/* Tokens that may name a label in by/without/on/ignoring/group_x lists
 * (yacc's maybe_label). */
static bool is_maybe_label_tok(enum sg_tok_kind k)
{
    switch (k) {
    case SG_TOK_BOOL:
    case SG_TOK_BY:
    case SG_TOK_GROUP_LEFT:
    case SG_TOK_GROUP_RIGHT:
    case SG_TOK_IDENTIFIER:
    case SG_TOK_IGNORING:
    case SG_TOK_LAND:
    case SG_TOK_LOR:
    case SG_TOK_LUNLESS:
    case SG_TOK_METRIC_IDENTIFIER:
    case SG_TOK_OFFSET:
    case SG_TOK_ON:
    case SG_TOK_START:
    case SG_TOK_END:
    case SG_TOK_ATAN2:
    case SG_TOK_WITHOUT:
        return true;
    default:
        return is_agg_tok(k);
    }
}

static bool is_label_text(const char *s, size_t n)
{
    return sg_label_name_valid(sg_str_make(s, n));
}

/* Tokens that can begin an expression. */
static bool starts_expr(enum sg_tok_kind k)
{
    switch (k) {
    case SG_TOK_NUMBER:
    case SG_TOK_STRING:
    case SG_TOK_LEFT_PAREN:
    case SG_TOK_LEFT_BRACE:
    case SG_TOK_ADD:
    case SG_TOK_SUB:
        return true;
    default:
        return is_metric_ident_tok(k);
    }
}

/* A growable array of pointers/values in the arena. */
static void *grow(struct parser *p, void *arr, size_t *cap, size_t count, size_t elem)
{
    void *n;
    size_t ncap;

    if (count < *cap)
        return arr;
    ncap = *cap ? *cap * 2 : 4;
    n = sg_arena_grow(p->a, arr, *cap * elem, ncap * elem);
    if (!n) {
        oom(p);
        return NULL;
    }
    *cap = ncap;
    return n;
}

/* ( label, label, ... ) after by/without/on/ignoring/group_x. */
static int parse_grouping(struct parser *p, struct sg_str **out, size_t *nout)
{
    struct sg_str *v = NULL;
    size_t n = 0, cap = 0;

    if (peek_kind(p) != SG_TOK_LEFT_PAREN)
        return unexpected(p, "grouping opts", "\"(\"");
    take(p);
    if (peek_kind(p) == SG_TOK_RIGHT_PAREN) {
        take(p);
        *out = sg_arena_alloc(p->a, sizeof(struct sg_str)); /* empty, but written */
        *nout = 0;
        return *out ? SG_OK : oom(p);
    }
    for (;;) {
        const struct sg_tok *t = peek(p);
        if (p->rc != SG_OK)
            return p->rc;
        if (!is_maybe_label_tok(t->kind))
            return unexpected(p, "grouping opts", "label");
        if (!is_label_text(p->src.ptr + t->off, t->len))
            return unexpected(p, "grouping opts", "label");
        if (n >= MAX_GROUPING)
            return perr(p, SG_ELIMIT, t->off, "more than %u grouping labels", MAX_GROUPING);
        v = grow(p, v, &cap, n, sizeof(*v));
        if (!v)
            return p->rc;
        if (sg_arena_str(p->a, sg_str_make(p->src.ptr + t->off, t->len), &v[n]) != SG_OK)
            return oom(p);
        n++;
        take(p);
        if (peek_kind(p) == SG_TOK_RIGHT_PAREN) {
            take(p);
            break;
        }
        if (peek_kind(p) != SG_TOK_COMMA)
            return unexpected(p, "grouping opts", "\",\" or \")\"");
        take(p);
        if (peek_kind(p) == SG_TOK_RIGHT_PAREN) {
            take(p);
            break;
        }
    }
    *out = v;
    *nout = n;
    return SG_OK;
}

/* ---- selectors -------------------------------------------------------------------- */

static int add_matcher(struct parser *p, struct sg_matcher **ms, size_t *n, size_t *cap,
                       enum sg_match_type type, struct sg_str name, struct sg_str value,
                       uint32_t name_off)
{
    struct sg_err rerr;

    if (*n >= MAX_MATCHERS)
        return perr(p, SG_ELIMIT, name_off, "more than %u label matchers", MAX_MATCHERS);
    *ms = grow(p, *ms, cap, *n, sizeof(**ms));
    if (!*ms)
        return p->rc;
    sg_err_clear(&rerr);
    if (sg_matcher_init(&(*ms)[*n], p->a, type, name, value, &p->ropts, &rerr) != SG_OK) {
        if (rerr.code == SG_ENOMEM)
            return oom(p);
        return perr(p, rerr.code == SG_ELIMIT ? SG_ELIMIT : SG_EPARSE, name_off, "%s", rerr.msg);
    }
    (*n)++;
    return SG_OK;
}

/* { name op "value", ... } ; the '{' is the lookahead. */
static int parse_label_matchers(struct parser *p, struct sg_matcher **ms, size_t *n, size_t *cap)
{
    take(p); /* { */
    if (peek_kind(p) == SG_TOK_RIGHT_BRACE) {
        take(p);
        return SG_OK;
    }
    for (;;) {
        struct sg_tok name, op, val;
        struct sg_str value;
        enum sg_match_type mt;
        int rc;

        if (peek_kind(p) != SG_TOK_IDENTIFIER)
            return unexpected(p, "label matching", "identifier or \"}\"");
        name = take(p);
        switch (peek_kind(p)) {
        case SG_TOK_EQL:
            mt = SG_MATCH_EQ;
            break;
        case SG_TOK_NEQ:
            mt = SG_MATCH_NEQ;
            break;
        case SG_TOK_EQL_REGEX:
            mt = SG_MATCH_RE;
            break;
        case SG_TOK_NEQ_REGEX:
            mt = SG_MATCH_NRE;
            break;
        default:
            return unexpected(p, "label matching", "label matching operator");
        }
        op = take(p);
        (void)op;
        if (peek_kind(p) != SG_TOK_STRING)
            return unexpected(p, "label matching", "string");
        val = take(p);
        rc = sg_promql__unquote(p->a, p->src.ptr + val.off, val.len, &value);
        if (rc == SG_ENOMEM)
            return oom(p);
        if (rc != SG_OK)
            return perr(p, SG_EPARSE, val.off, "error unquoting string %.*s: invalid syntax",
                        (int)val.len, p->src.ptr + val.off);
        if (add_matcher(p, ms, n, cap, mt, sg_str_make(p->src.ptr + name.off, name.len), value,
                        name.off) != SG_OK)
            return p->rc;
        if (peek_kind(p) == SG_TOK_RIGHT_BRACE) {
            take(p);
            return SG_OK;
        }
        if (peek_kind(p) != SG_TOK_COMMA)
            return unexpected(p, "label matching", "\",\" or \"}\"");
        take(p);
        if (peek_kind(p) == SG_TOK_RIGHT_BRACE) {
            take(p);
            return SG_OK;
        }
    }
}

/* metric_identifier [label_matchers] | label_matchers; the first token is
 * the lookahead. */
static struct sg_node *parse_vector_selector(struct parser *p)
{
    struct sg_node *n;
    struct sg_matcher *ms = NULL;
    size_t nm = 0, cap = 0;
    struct sg_str name = sg_str_make("", 0);
    uint32_t start = peek(p)->off;

    if (peek_kind(p) != SG_TOK_LEFT_BRACE) {
        struct sg_tok t = take(p);
        if (sg_arena_str(p->a, sg_str_make(p->src.ptr + t.off, t.len), &name) != SG_OK) {
            oom(p);
            return NULL;
        }
        n = new_node(p, SG_N_SELECTOR, start, t.off + t.len);
        if (!n)
            return NULL;
        if (peek_kind(p) == SG_TOK_LEFT_BRACE) {
            if (parse_label_matchers(p, &ms, &nm, &cap) != SG_OK)
                return NULL;
            set_span(n, start, p->last_closing);
        }
    } else {
        if (parse_label_matchers(p, &ms, &nm, &cap) != SG_OK)
            return NULL;
        n = new_node(p, SG_N_SELECTOR, start, p->last_closing);
        if (!n)
            return NULL;
    }
    if (p->rc != SG_OK)
        return NULL;
    if (name.len) {
        /* the name becomes the last matcher, as Prometheus appends it */
        if (add_matcher(p, &ms, &nm, &cap, SG_MATCH_EQ, sg_str_make(SG_METRIC_NAME, 8), name,
                        start) != SG_OK)
            return NULL;
    }
    n->u.sel.name = name;
    n->u.sel.matchers = ms;
    n->u.sel.nmatchers = nm;
    n->u.sel.sel_index = p->sel_count++;
    return n;
}

/* ---- postfix: [range], [range:step], offset, @ ---------------------------------- */

static int set_offset(struct parser *p, struct sg_node *e, int64_t ms)
{
    int64_t *slot;

    switch (e->kind) {
    case SG_N_SELECTOR:
    case SG_N_RANGE:
        slot = &e->u.sel.offset_ms;
        break;
    case SG_N_SUBQUERY:
        slot = &e->u.subq.offset_ms;
        break;
    default:
        return perr(p, SG_EPARSE, e->off,
                    "offset modifier must be preceded by an instant vector selector or range "
                    "vector selector or a subquery");
    }
    if (*slot != 0)
        return perr(p, SG_EPARSE, e->off, "offset may not be set multiple times");
    *slot = ms;
    set_span(e, e->off, p->last_closing);
    return SG_OK;
}

static int at_slots(struct parser *p, struct sg_node *e, enum sg_at_kind **kind, int64_t **ms)
{
    switch (e->kind) {
    case SG_N_SELECTOR:
    case SG_N_RANGE:
        *kind = &e->u.sel.at;
        *ms = &e->u.sel.at_ms;
        break;
    case SG_N_SUBQUERY:
        *kind = &e->u.subq.at;
        *ms = &e->u.subq.at_ms;
        break;
    default:
        return perr(p, SG_EPARSE, e->off,
                    "@ modifier must be preceded by an instant vector selector or range vector "
                    "selector or a subquery");
    }
    if (**kind != SG_AT_NONE)
        return perr(p, SG_EPARSE, e->off, "@ <timestamp> may not be set multiple times");
    return SG_OK;
}

/* Go's %f of a float64 (used in the @ bounds message). */
static void go_f(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "NaN");
    else if (isinf(v))
        snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
    else
        snprintf(buf, n, "%f", v);
}

static int set_at_time(struct parser *p, struct sg_node *e, double ts)
{
    enum sg_at_kind *kind = NULL;
    int64_t *ms = NULL;
    double r;
    char f[400];

    if (isinf(ts) || isnan(ts) || ts >= 9223372036854775808.0 || ts <= -9223372036854775808.0) {
        go_f(ts, f, sizeof(f));
        return perr(p, SG_EPARSE, e->off, "timestamp out of bounds for @ modifier: %s", f);
    }
    if (at_slots(p, e, &kind, &ms) != SG_OK)
        return p->rc;
    /* timestamp.FromFloatSeconds: int64(math.Round(ts * 1000)); Go's
     * conversion of an out-of-range value gives the minimum int64 on amd64 */
    r = round(ts * 1000.0);
    *ms = (r >= -9223372036854775808.0 && r < 9223372036854775808.0) ? (int64_t)r : INT64_MIN;
    *kind = SG_AT_TIME;
    set_span(e, e->off, p->last_closing);
    return SG_OK;
}

static struct sg_node *parse_postfix(struct parser *p, struct sg_node *e)
{
    while (e && p->rc == SG_OK) {
        enum sg_tok_kind k = peek_kind(p);
        if (k == SG_TOK_LEFT_BRACKET) {
            struct sg_tok lb = take(p), d;
            int64_t range, step = 0;

            if (peek_kind(p) != SG_TOK_DURATION) {
                unexpected(p, "subquery selector", "duration");
                return NULL;
            }
            d = take(p);
            if (parse_duration_tok(p, &d, &range) != SG_OK)
                return NULL;
            if (peek_kind(p) == SG_TOK_RIGHT_BRACKET) {
                struct sg_tok rb = take(p);
                const char *msg = NULL;
                if (e->kind != SG_N_SELECTOR)
                    msg = "ranges only allowed for vector selectors";
                else if (e->u.sel.offset_ms != 0)
                    msg = "no offset modifiers allowed before range";
                else if (e->u.sel.at == SG_AT_TIME)
                    msg = "no @ modifiers allowed before range";
                if (msg) {
                    perr(p, SG_EPARSE, lb.off, "%s", msg);
                    return NULL;
                }
                (void)rb;
                e->kind = SG_N_RANGE;
                e->u.sel.range_ms = range;
                set_span(e, e->off, p->last_closing);
                continue;
            }
            if (peek_kind(p) != SG_TOK_COLON) {
                unexpected(p, "subquery or range", "\":\" or \"]\"");
                return NULL;
            }
            take(p);
            if (peek_kind(p) == SG_TOK_DURATION) {
                d = take(p);
                if (parse_duration_tok(p, &d, &step) != SG_OK)
                    return NULL;
                if (peek_kind(p) != SG_TOK_RIGHT_BRACKET) {
                    unexpected(p, "subquery selector", "\"]\"");
                    return NULL;
                }
            } else if (peek_kind(p) != SG_TOK_RIGHT_BRACKET) {
                unexpected(p, "subquery selector", "duration or \"]\"");
                return NULL;
            }
            {
                struct sg_tok rb = take(p);
                struct sg_node *s = new_node(p, SG_N_SUBQUERY, e->off, rb.off + 1);
                if (!s)
                    return NULL;
                s->u.subq.expr = e;
                s->u.subq.range_ms = range;
                s->u.subq.step_ms = step;
                if (!check_depth(p, s))
                    return NULL;
                e = s;
            }
            continue;
        }
        if (k == SG_TOK_OFFSET) {
            struct sg_tok d;
            int64_t ms;
            bool neg = false;
            take(p);
            if (peek_kind(p) == SG_TOK_SUB) {
                take(p);
                neg = true;
            }
            if (peek_kind(p) != SG_TOK_DURATION) {
                unexpected(p, "offset", "duration");
                return NULL;
            }
            d = take(p);
            if (parse_duration_tok(p, &d, &ms) != SG_OK)
                return NULL;
            if (set_offset(p, e, neg ? -ms : ms) != SG_OK)
                return NULL;
            continue;
        }
        if (k == SG_TOK_AT) {
            take(p);
            k = peek_kind(p);
            if (k == SG_TOK_START || k == SG_TOK_END) {
                enum sg_at_kind *kind = NULL;
                int64_t *ms = NULL;
                take(p);
                if (peek_kind(p) != SG_TOK_LEFT_PAREN) {
                    unexpected(p, "@", "timestamp");
                    return NULL;
                }
                take(p);
                if (peek_kind(p) != SG_TOK_RIGHT_PAREN) {
                    unexpected(p, "@", "timestamp");
                    return NULL;
                }
                take(p);
                if (at_slots(p, e, &kind, &ms) != SG_OK)
                    return NULL;
                *kind = k == SG_TOK_START ? SG_AT_START : SG_AT_END;
                set_span(e, e->off, p->last_closing);
                continue;
            }
            {
                bool neg = false;
                double v;
                struct sg_tok nt;
                if (k == SG_TOK_ADD || k == SG_TOK_SUB) {
                    neg = k == SG_TOK_SUB;
                    take(p);
                }
                if (peek_kind(p) != SG_TOK_NUMBER) {
                    unexpected(p, "@", "timestamp");
                    return NULL;
                }
                nt = take(p);
                if (parse_number_tok(p, &nt, &v) != SG_OK)
                    return NULL;
                if (set_at_time(p, e, neg ? -v : v) != SG_OK)
                    return NULL;
            }
            continue;
        }
        break;
    }
    return p->rc == SG_OK ? e : NULL;
}

/* ---- expressions ---------------------------------------------------------------------- */

static struct sg_node *parse_expr(struct parser *p, int min_prec);

/* ( args ) of a call or an aggregation; the '(' is the lookahead. */
static int parse_call_args(struct parser *p, struct sg_node ***args, size_t *nargs)
{
    struct sg_node **v = NULL;
    size_t n = 0, cap = 0;

    take(p); /* ( */
    if (peek_kind(p) == SG_TOK_RIGHT_PAREN) {
        take(p);
        *args = NULL;
        *nargs = 0;
        return SG_OK;
    }
    for (;;) {
        struct sg_node *e = parse_expr(p, 1);
        if (!e)
            return p->rc;
        if (n >= MAX_ARGS)
            return perr(p, SG_ELIMIT, e->off, "more than %u arguments", MAX_ARGS);
        v = grow(p, v, &cap, n, sizeof(*v));
        if (!v)
            return p->rc;
        v[n++] = e;
        if (peek_kind(p) == SG_TOK_RIGHT_PAREN) {
            take(p);
            break;
        }
        if (peek_kind(p) != SG_TOK_COMMA)
            return unexpected(p, NULL, NULL);
        {
            /* yacc reduces "args ," when no expression can follow */
            struct sg_tok comma = take(p);
            enum sg_tok_kind nk = peek_kind(p);
            if (p->rc != SG_OK)
                return p->rc;
            if (!starts_expr(nk))
                return perr(p, SG_EPARSE, comma.off,
                            "trailing commas not allowed in function call args");
        }
    }
    *args = v;
    *nargs = n;
    return SG_OK;
}

static struct sg_node *parse_aggregation(struct parser *p)
{
    struct sg_tok op = take(p);
    struct sg_node *n;
    struct sg_node **args = NULL;
    size_t nargs = 0;
    bool have_mod = false;
    int want;

    n = new_node(p, SG_N_AGGR, op.off, op.off + op.len);
    if (!n)
        return NULL;
    n->u.aggr.op = agg_op(op.kind);
    p->agg_depth++;
    if (peek_kind(p) == SG_TOK_BY || peek_kind(p) == SG_TOK_WITHOUT) {
        n->u.aggr.without = take(p).kind == SG_TOK_WITHOUT;
        if (parse_grouping(p, &n->u.aggr.grouping, &n->u.aggr.ngrouping) != SG_OK)
            return NULL;
        n->u.aggr.has_grouping = true;
        have_mod = true;
    }
    if (peek_kind(p) != SG_TOK_LEFT_PAREN) {
        unexpected(p, NULL, NULL);
        return NULL;
    }
    if (parse_call_args(p, &args, &nargs) != SG_OK)
        return NULL;
    if (!have_mod && (peek_kind(p) == SG_TOK_BY || peek_kind(p) == SG_TOK_WITHOUT)) {
        n->u.aggr.without = take(p).kind == SG_TOK_WITHOUT;
        if (parse_grouping(p, &n->u.aggr.grouping, &n->u.aggr.ngrouping) != SG_OK)
            return NULL;
        n->u.aggr.has_grouping = true;
    }
    if (p->rc != SG_OK)
        return NULL;
    p->agg_depth--;
    set_span(n, op.off, p->last_closing);
    if (nargs == 0) {
        perr(p, SG_EPARSE, op.off, "no arguments for aggregate expression provided");
        return NULL;
    }
    want = (n->u.aggr.op == SG_AGG_TOPK || n->u.aggr.op == SG_AGG_BOTTOMK ||
            n->u.aggr.op == SG_AGG_COUNT_VALUES || n->u.aggr.op == SG_AGG_QUANTILE)
               ? 2
               : 1;
    if ((int)nargs != want) {
        perr(p, SG_EPARSE, op.off,
             "wrong number of arguments for aggregate expression provided, expected %d, got %zu",
             want, nargs);
        return NULL;
    }
    if (want == 2)
        n->u.aggr.param = args[0];
    n->u.aggr.expr = args[want - 1];
    return check_depth(p, n) ? n : NULL;
}

static struct sg_node *parse_primary(struct parser *p)
{
    const struct sg_tok *t = peek(p);
    struct sg_node *n = NULL;

    if (p->rc != SG_OK)
        return NULL;
    if (++p->depth > p->max_depth) {
        perr(p, SG_ELIMIT, t->off, "expression nested deeper than %u", p->max_depth);
        return NULL;
    }
    switch (t->kind) {
    case SG_TOK_NUMBER: {
        struct sg_tok nt = take(p);
        n = new_node(p, SG_N_NUMBER, nt.off, nt.off + nt.len);
        if (!n || parse_number_tok(p, &nt, &n->u.number) != SG_OK)
            n = NULL;
        break;
    }
    case SG_TOK_STRING: {
        struct sg_tok st = take(p);
        int rc;
        n = new_node(p, SG_N_STRING, st.off, st.off + st.len);
        if (!n)
            break;
        rc = sg_promql__unquote(p->a, p->src.ptr + st.off, st.len, &n->u.string);
        if (rc == SG_ENOMEM) {
            oom(p);
            n = NULL;
        } else if (rc != SG_OK) {
            perr(p, SG_EPARSE, st.off, "error unquoting string %.*s: invalid syntax", (int)st.len,
                 p->src.ptr + st.off);
            n = NULL;
        }
        break;
    }
    case SG_TOK_LEFT_PAREN: {
        struct sg_tok lp = take(p);
        struct sg_node *e = parse_expr(p, 1);
        if (!e)
            break;
        if (peek_kind(p) != SG_TOK_RIGHT_PAREN) {
            unexpected(p, NULL, NULL);
            break;
        }
        take(p);
        n = new_node(p, SG_N_PAREN, lp.off, p->last_closing);
        if (n) {
            n->u.paren.expr = e;
            if (!check_depth(p, n))
                n = NULL;
        }
        break;
    }
    case SG_TOK_ADD:
    case SG_TOK_SUB: {
        struct sg_tok op = take(p);
        /* unary binds like *: its operand takes only ^ and postfix forms */
        struct sg_node *e = parse_expr(p, 6);
        if (!e)
            break;
        if (e->kind == SG_N_NUMBER) {
            if (op.kind == SG_TOK_SUB)
                e->u.number = -e->u.number;
            set_span(e, op.off, nend(e));
            n = e;
        } else {
            n = new_node(p, SG_N_UNARY, op.off, nend(e));
            if (n) {
                n->u.unary.op = op.kind == SG_TOK_SUB ? '-' : '+';
                n->u.unary.expr = e;
                if (!check_depth(p, n))
                    n = NULL;
            }
        }
        /* the operand already took its postfix forms */
        p->depth--;
        return n;
    }
    case SG_TOK_LEFT_BRACE:
        n = parse_vector_selector(p);
        break;
    case SG_TOK_IDENTIFIER: {
        struct sg_tok id = *t;
        bool is_call;
        take(p);
        is_call = peek_kind(p) == SG_TOK_LEFT_PAREN;
        if (p->rc != SG_OK)
            break;
        if (is_call) {
            const struct sg_func *f = sg_promql__func_by_name(p->src.ptr + id.off, id.len);
            struct sg_node **args;
            size_t nargs;
            if (parse_call_args(p, &args, &nargs) != SG_OK)
                break;
            if (!f) {
                char q[256];
                struct sg_buf b;
                sg_buf_init(&b, 200);
                if (sg_quote_go(sg_str_make(p->src.ptr + id.off, id.len > 150 ? 150 : id.len),
                                &b) == SG_OK)
                    snprintf(q, sizeof(q), "%s", sg_buf_cstr(&b));
                else
                    q[0] = '\0';
                sg_buf_cleanup(&b);
                perr(p, SG_EPARSE, id.off, "unknown function with name %s", q);
                break;
            }
            n = new_node(p, SG_N_CALL, id.off, p->last_closing);
            if (!n)
                break;
            n->u.call.func = f;
            n->u.call.args = args;
            n->u.call.nargs = nargs;
            if (!check_depth(p, n))
                n = NULL;
            break;
        }
        /* a plain metric name: rewind by building the selector from id */
        {
            struct sg_matcher *ms = NULL;
            size_t nm = 0, cap = 0;
            struct sg_str name;
            if (sg_arena_str(p->a, sg_str_make(p->src.ptr + id.off, id.len), &name) != SG_OK) {
                oom(p);
                break;
            }
            n = new_node(p, SG_N_SELECTOR, id.off, id.off + id.len);
            if (!n)
                break;
            if (peek_kind(p) == SG_TOK_LEFT_BRACE) {
                if (parse_label_matchers(p, &ms, &nm, &cap) != SG_OK) {
                    n = NULL;
                    break;
                }
                set_span(n, id.off, p->last_closing);
            }
            if (p->rc != SG_OK ||
                add_matcher(p, &ms, &nm, &cap, SG_MATCH_EQ, sg_str_make(SG_METRIC_NAME, 8), name,
                            id.off) != SG_OK) {
                n = NULL;
                break;
            }
            n->u.sel.name = name;
            n->u.sel.matchers = ms;
            n->u.sel.nmatchers = nm;
            n->u.sel.sel_index = p->sel_count++;
        }
        break;
    }
    default:
        if (is_agg_tok(t->kind)) {
            /* an aggregation when "(" or by/without follows, else a metric
             * name (yacc decides on the same lookahead) */
            struct sg_lexer save = p->lx;
            struct sg_tok at = *t;
            enum sg_tok_kind nk;
            p->have_tok = false;
            do {
                sg_promql__lex_next(&p->lx, &p->tok);
            } while (p->tok.kind == SG_TOK_COMMENT);
            nk = p->tok.kind;
            p->lx = save;
            p->tok = at;
            p->have_tok = true;
            if (nk == SG_TOK_LEFT_PAREN || nk == SG_TOK_BY || nk == SG_TOK_WITHOUT) {
                n = parse_aggregation(p);
                break;
            }
        }
        if (is_metric_ident_tok(t->kind)) {
            n = parse_vector_selector(p);
            break;
        }
        unexpected(p, NULL, NULL);
        break;
    }
    if (n)
        n = parse_postfix(p, n);
    p->depth--;
    return p->rc == SG_OK ? n : NULL;
}

/* Binary operator precedence (0 when not a binary operator). */
static int bin_prec(enum sg_tok_kind k)
{
    switch (k) {
    case SG_TOK_LOR:
        return 1;
    case SG_TOK_LAND:
    case SG_TOK_LUNLESS:
        return 2;
    case SG_TOK_EQLC:
    case SG_TOK_NEQ:
    case SG_TOK_LTE:
    case SG_TOK_LSS:
    case SG_TOK_GTE:
    case SG_TOK_GTR:
        return 3;
    case SG_TOK_ADD:
    case SG_TOK_SUB:
        return 4;
    case SG_TOK_MUL:
    case SG_TOK_DIV:
    case SG_TOK_MOD:
    case SG_TOK_ATAN2:
        return 5;
    case SG_TOK_POW:
        return 6;
    default:
        return 0;
    }
}

static enum sg_binop bin_op(enum sg_tok_kind k)
{
    switch (k) {
    case SG_TOK_ADD:
        return SG_OP_ADD;
    case SG_TOK_SUB:
        return SG_OP_SUB;
    case SG_TOK_MUL:
        return SG_OP_MUL;
    case SG_TOK_DIV:
        return SG_OP_DIV;
    case SG_TOK_MOD:
        return SG_OP_MOD;
    case SG_TOK_POW:
        return SG_OP_POW;
    case SG_TOK_ATAN2:
        return SG_OP_ATAN2;
    case SG_TOK_EQLC:
        return SG_OP_EQL;
    case SG_TOK_NEQ:
        return SG_OP_NEQ;
    case SG_TOK_GTR:
        return SG_OP_GTR;
    case SG_TOK_LSS:
        return SG_OP_LSS;
    case SG_TOK_GTE:
        return SG_OP_GTE;
    case SG_TOK_LTE:
        return SG_OP_LTE;
    case SG_TOK_LAND:
        return SG_OP_AND;
    case SG_TOK_LOR:
        return SG_OP_OR;
    case SG_TOK_LUNLESS:
        return SG_OP_UNLESS;
    default:
        return SG_OP_ADD;
    }
}

/* bool, on/ignoring (...), group_left/group_right [(...)] */
static int parse_bin_modifier(struct parser *p, struct sg_node *b)
{
    struct sg_vector_matching *vm = sg_arena_alloc(p->a, sizeof(*vm));

    if (!vm)
        return oom(p);
    vm->card = SG_CARD_ONE_TO_ONE;
    b->u.bin.matching = vm;
    if (peek_kind(p) == SG_TOK_BOOL) {
        take(p);
        b->u.bin.return_bool = true;
    }
    if (peek_kind(p) == SG_TOK_ON || peek_kind(p) == SG_TOK_IGNORING) {
        vm->on = take(p).kind == SG_TOK_ON;
        if (parse_grouping(p, &vm->labels, &vm->nlabels) != SG_OK)
            return p->rc;
        if (peek_kind(p) == SG_TOK_GROUP_LEFT || peek_kind(p) == SG_TOK_GROUP_RIGHT) {
            vm->card =
                take(p).kind == SG_TOK_GROUP_LEFT ? SG_CARD_MANY_TO_ONE : SG_CARD_ONE_TO_MANY;
            /* "(" always opens the label list; without one an expression
             * must follow */
            if (peek_kind(p) == SG_TOK_LEFT_PAREN || !starts_expr(peek_kind(p))) {
                if (parse_grouping(p, &vm->include, &vm->ninclude) != SG_OK)
                    return p->rc;
            }
        }
    }
    return p->rc;
}

static struct sg_node *parse_expr(struct parser *p, int min_prec)
{
    struct sg_node *lhs = parse_primary(p);

    while (lhs && p->rc == SG_OK) {
        enum sg_tok_kind k = peek_kind(p);
        int prec = bin_prec(k);
        struct sg_node *b, *rhs;

        if (p->rc != SG_OK || prec == 0 || prec < min_prec)
            break;
        take(p);
        b = new_node(p, SG_N_BINARY, lhs->off, nend(lhs));
        if (!b)
            return NULL;
        b->u.bin.op = bin_op(k);
        b->u.bin.lhs = lhs;
        if (parse_bin_modifier(p, b) != SG_OK)
            return NULL;
        /* ^ is right-associative, the rest left-associative */
        rhs = parse_expr(p, k == SG_TOK_POW ? prec : prec + 1);
        if (!rhs)
            return NULL;
        b->u.bin.rhs = rhs;
        set_span(b, lhs->off, nend(rhs));
        if (!check_depth(p, b))
            return NULL;
        lhs = b;
    }
    return p->rc == SG_OK ? lhs : NULL;
}

/* Every selector gets its index in evaluation order (the order the
 * evaluator visits them). */
static void number_selectors(struct sg_node *n, uint32_t *next)
{
    if (!n)
        return;
    switch (n->kind) {
    case SG_N_SELECTOR:
    case SG_N_RANGE:
        n->u.sel.sel_index = (*next)++;
        break;
    case SG_N_SUBQUERY:
        number_selectors(n->u.subq.expr, next);
        break;
    case SG_N_CALL:
        for (size_t i = 0; i < n->u.call.nargs; i++)
            number_selectors(n->u.call.args[i], next);
        break;
    case SG_N_AGGR:
        number_selectors(n->u.aggr.param, next);
        number_selectors(n->u.aggr.expr, next);
        break;
    case SG_N_BINARY:
        number_selectors(n->u.bin.lhs, next);
        number_selectors(n->u.bin.rhs, next);
        break;
    case SG_N_UNARY:
        number_selectors(n->u.unary.expr, next);
        break;
    case SG_N_PAREN:
        number_selectors(n->u.paren.expr, next);
        break;
    default:
        break;
    }
}

static int init_parser(struct parser *p, struct sg_str src, const char *src_name,
                       struct sg_arena *arena, const struct sg_promql_parse_opts *opts,
                       struct sg_err *err)
{
    const struct sg_promql_limits *lim = opts ? opts->limits : NULL;
    const struct sg_promql_compat *compat =
        opts && opts->compat ? opts->compat : sg_promql_compat_default();
    uint32_t max_len = lim && lim->max_len ? lim->max_len : DEFAULT_MAX_LEN;

    memset(p, 0, sizeof(*p));
    p->src = sg_str_make(src.ptr ? src.ptr : "", src.len);
    p->name = src_name ? src_name : "<expr>";
    p->a = arena;
    p->err = err;
    p->max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
    p->ropts.dot_matches_newline = compat->regex_dot_all;
    if (src.len > max_len)
        return p->rc = sg_err_set(err, SG_ELIMIT, "%s: expression longer than %u bytes", p->name,
                                  max_len);
    sg_promql__lex_init(&p->lx, p->src.ptr, (uint32_t)src.len);
    return SG_OK;
}

int sg_promql_parse(struct sg_str src, const char *src_name, struct sg_arena *arena,
                    const struct sg_promql_parse_opts *opts, struct sg_node **out,
                    struct sg_err *err)
{
    struct parser p;
    struct sg_node *root;
    uint32_t next = 0;

    if (init_parser(&p, src, src_name, arena, opts, err) != SG_OK)
        return p.rc;
    if (peek_kind(&p) == SG_TOK_EOF) {
        perr(&p, SG_EPARSE, 0, "no expression found in input");
        return p.rc;
    }
    if (p.rc != SG_OK)
        return p.rc;
    root = parse_expr(&p, 1);
    if (!root)
        return p.rc != SG_OK ? p.rc : oom(&p);
    if (peek_kind(&p) != SG_TOK_EOF) {
        unexpected(&p, NULL, NULL);
        return p.rc;
    }
    if (p.rc != SG_OK)
        return p.rc;
    if (sg_promql__check(root, p.src, p.name, err) != SG_OK)
        return err ? err->code : SG_ETYPE;
    number_selectors(root, &next);
    *out = root;
    return SG_OK;
}

int sg_promql_parse_selector(struct sg_str src, const char *src_name, struct sg_arena *arena,
                             const struct sg_promql_parse_opts *opts, struct sg_matcher **out,
                             size_t *n, struct sg_err *err)
{
    struct parser p;
    struct sg_node *sel;
    enum sg_tok_kind k;

    if (init_parser(&p, src, src_name, arena, opts, err) != SG_OK)
        return p.rc;
    k = peek_kind(&p);
    if (p.rc != SG_OK)
        return p.rc;
    if (k != SG_TOK_LEFT_BRACE && !is_metric_ident_tok(k)) {
        unexpected(&p, NULL, NULL);
        return p.rc;
    }
    sel = parse_vector_selector(&p);
    if (!sel)
        return p.rc != SG_OK ? p.rc : oom(&p);
    if (peek_kind(&p) != SG_TOK_EOF) {
        unexpected(&p, NULL, NULL);
        return p.rc;
    }
    if (p.rc != SG_OK)
        return p.rc;
    if (sg_promql__check(sel, p.src, p.name, err) != SG_OK)
        return err ? err->code : SG_ETYPE;
    *out = sel->u.sel.matchers;
    *n = sel->u.sel.nmatchers;
    return SG_OK;
}

int sg_promql_parse_metric(struct sg_str src, const char *src_name, struct sg_arena *arena,
                           struct sg_labels *out, struct sg_err *err)
{
    struct parser p;
    struct sg_label *v = NULL;
    size_t n = 0, cap = 0;
    struct sg_str name = sg_str_make("", 0);
    bool has_name = false;
    struct sg_labels ls;
    struct sg_err serr;

    if (init_parser(&p, src, src_name, arena, NULL, err) != SG_OK)
        return p.rc;
    if (is_metric_ident_tok(peek_kind(&p))) {
        struct sg_tok t = take(&p);
        name = sg_str_make(p.src.ptr + t.off, t.len);
        has_name = true;
    }
    if (p.rc != SG_OK)
        return p.rc;
    if (peek_kind(&p) == SG_TOK_LEFT_BRACE) {
        take(&p);
        if (peek_kind(&p) == SG_TOK_RIGHT_BRACE) {
            take(&p);
        } else {
            for (;;) {
                struct sg_tok lname, val;
                struct sg_str value;
                if (peek_kind(&p) != SG_TOK_IDENTIFIER)
                    return unexpected(&p, "label set", "identifier or \"}\"");
                lname = take(&p);
                if (peek_kind(&p) != SG_TOK_EQL)
                    return unexpected(&p, "label set", "\"=\"");
                take(&p);
                if (peek_kind(&p) != SG_TOK_STRING)
                    return unexpected(&p, "label set", "string");
                val = take(&p);
                if (sg_promql__unquote(arena, p.src.ptr + val.off, val.len, &value) != SG_OK)
                    return perr(&p, SG_EPARSE, val.off, "error unquoting string %.*s", (int)val.len,
                                p.src.ptr + val.off);
                v = grow(&p, v, &cap, n, sizeof(*v));
                if (!v)
                    return p.rc;
                if (sg_arena_str(arena, sg_str_make(p.src.ptr + lname.off, lname.len),
                                 &v[n].name) != SG_OK)
                    return oom(&p);
                v[n].value = value;
                n++;
                if (n > 4096)
                    return perr(&p, SG_ELIMIT, lname.off, "more than 4096 labels");
                if (peek_kind(&p) == SG_TOK_RIGHT_BRACE) {
                    take(&p);
                    break;
                }
                if (peek_kind(&p) != SG_TOK_COMMA)
                    return unexpected(&p, "label set", "\",\" or \"}\"");
                take(&p);
                if (peek_kind(&p) == SG_TOK_RIGHT_BRACE) {
                    take(&p);
                    break;
                }
            }
        }
    }
    if (peek_kind(&p) != SG_TOK_EOF)
        return unexpected(&p, NULL, NULL);
    if (p.rc != SG_OK)
        return p.rc;
    if (has_name) {
        /* labels.NewBuilder(set).Set(__name__, name).Labels(): the builder
         * drops every label whose value is empty (and any other label of
         * the same name), and Set replaces a __name__ given in braces */
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            bool drop = sg_str_eq_c(v[i].name, SG_METRIC_NAME);
            for (size_t j = 0; j < n && !drop; j++)
                drop = v[j].value.len == 0 && sg_str_eq(v[j].name, v[i].name);
            if (!drop)
                v[w++] = v[i];
        }
        n = w;
        v = grow(&p, v, &cap, n, sizeof(*v));
        if (!v)
            return p.rc;
        v[n].name = sg_str_make(SG_METRIC_NAME, 8);
        if (sg_arena_str(arena, name, &v[n].value) != SG_OK)
            return oom(&p);
        n++;
    }
    ls.v = v;
    ls.count = (uint32_t)n;
    sg_err_clear(&serr);
    if (sg_labels_sort(&ls, &serr) != SG_OK)
        return perr(&p, SG_EPARSE, 0, "%s", serr.msg);
    *out = ls;
    return SG_OK;
}

int sg_promql_walk_selectors(const struct sg_node *n,
                             int (*fn)(const struct sg_node *sel, void *arg), void *arg)
{
    int rc = 0;

    if (!n)
        return 0;
    switch (n->kind) {
    case SG_N_SELECTOR:
    case SG_N_RANGE:
        return fn(n, arg);
    case SG_N_SUBQUERY:
        return sg_promql_walk_selectors(n->u.subq.expr, fn, arg);
    case SG_N_CALL:
        for (size_t i = 0; i < n->u.call.nargs && rc == 0; i++)
            rc = sg_promql_walk_selectors(n->u.call.args[i], fn, arg);
        return rc;
    case SG_N_AGGR:
        rc = sg_promql_walk_selectors(n->u.aggr.param, fn, arg);
        if (rc == 0)
            rc = sg_promql_walk_selectors(n->u.aggr.expr, fn, arg);
        return rc;
    case SG_N_BINARY:
        rc = sg_promql_walk_selectors(n->u.bin.lhs, fn, arg);
        if (rc == 0)
            rc = sg_promql_walk_selectors(n->u.bin.rhs, fn, arg);
        return rc;
    case SG_N_UNARY:
        return sg_promql_walk_selectors(n->u.unary.expr, fn, arg);
    case SG_N_PAREN:
        return sg_promql_walk_selectors(n->u.paren.expr, fn, arg);
    default:
        return 0;
    }
}
