/* src/rules/unittest_series.c - the value sequences of series descriptions
 * (promtool's `input_series[].values`), as Prometheus 2.42 reads them.
 *
 * 2.42 lexes a series description with its PromQL lexer in a special mode
 * (lex.go, lexValueSequence) and parses it with its yacc grammar
 * (generated_parser.y, series_description). This file is a hand-written
 * equivalent of both for the part after the metric:
 *
 *   tokens   SPACE  + - x _  NUMBER (digits, '.', exponent; no hex; a
 *            number may be followed only by 'x' or a non-alphanumeric)
 *            words (keywords, identifiers; "inf"/"nan" in any case are
 *            numbers)
 *   items    _  _xN  v  vxN  v+dxN  v-dxN   with v a number, a signed
 *            number or `stale`; `_xN` is N omitted slots, `vxN` N+1 copies,
 *            `v+dxN` N+1 values by repeated float addition
 *   numbers  strconv.ParseInt(s, 0, 64) first (so "010" is 8), then
 *            ParseFloat; repetition counts ParseUint(s, 10, 64)
 *
 * Errors carry 2.42's wording. Where its LALR parser falls back to the
 * generic "unexpected X" (a token that cannot follow a complete item) or to
 * "unexpected X in series values" (a token inside an item), the same choice
 * is made here. The metric part itself is parsed elsewhere (PromQL's
 * ParseMetric); this file only finds where it ends.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules/unittest_int.h"
#include "stopgate/labels.h"
#include "stopgate/num.h"
#include "stopgate/promql.h"
#include "stopgate/store.h"
#include "stopgate/unittest.h"

/* ---- Go quoting --------------------------------------------------------------------- */

uint32_t sg_ut__rune(const char *s, size_t n, size_t i, size_t *width)
{
    return sg_utf8_decode(s + i, n - i, width);
}

int sg_ut__quote(struct sg_str s, size_t max_runes, struct sg_buf *out)
{
    size_t i = 0, runes = 0, w;

    if (max_runes == 0)
        return sg_quote_go(s, out);
    /* fmt's %.Nq: the first N runes, then quoted */
    while (i < s.len && runes < max_runes) {
        (void)sg_utf8_decode(s.ptr + i, s.len - i, &w);
        i += w;
        runes++;
    }
    return sg_quote_go(sg_str_make(s.ptr, i), out);
}

int sg_ut__quote_rune(uint32_t r, struct sg_buf *out)
{
    int rc = sg_buf_putc(out, '\'');
    if (rc == SG_OK)
        rc = sg_quote_go_rune(r, '\'', out);
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '\'');
    return rc;
}

const char *sg_ut__strip_position(const struct sg_err *e)
{
    char pat[40];
    const char *p;

    if (e->line == 0)
        return e->msg;
    snprintf(pat, sizeof(pat), ":%u:%u: ", e->line, e->col);
    p = strstr(e->msg, pat);
    return p ? p + strlen(pat) : e->msg;
}

/* ---- lexer -------------------------------------------------------------------------- */

enum tok_kind {
    T_EOF,
    T_ERROR, /* lexer error; the message is in the lexer */
    T_SPACE,
    T_ADD,
    T_SUB,
    T_TIMES,
    T_BLANK,
    T_NUMBER,
    T_IDENT,
    T_METRIC_IDENT,
    T_KEYWORD, /* by, without, on, ignoring, group_left, group_right, bool, offset, start, end */
    T_OP,      /* and, or, unless, atan2 and operator characters */
    T_AGGR,    /* sum, avg, ... */
    T_STRING,
    T_DURATION,
    T_OTHER, /* punctuation: desc is the quoted text */
};

struct tok {
    enum tok_kind kind;
    size_t off, len;
};

struct lexer {
    struct sg_str s;
    size_t pos;
    char msg[SG_ERR_MSG_MAX]; /* T_ERROR text */
    size_t err_off;
};

static bool is_alpha(uint32_t r)
{
    return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}

static bool is_digit(uint32_t r)
{
    return r >= '0' && r <= '9';
}

static bool is_alnum(uint32_t r)
{
    return is_alpha(r) || is_digit(r);
}

static bool is_space(uint32_t r)
{
    return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}

static uint32_t peek_rune(const struct lexer *l, size_t at)
{
    size_t w;
    if (at >= l->s.len)
        return UINT32_MAX; /* eof */
    return sg_ut__rune(l->s.ptr, l->s.len, at, &w);
}

/* Keyword classes of lex.go's key map (looked up in lower case). */
static enum tok_kind word_kind(const char *p, size_t n)
{
    static const char *const kw[] = {"by",          "without", "on",     "ignoring", "group_left",
                                     "group_right", "bool",    "offset", "start",    "end"};
    static const char *const ops[] = {"and", "or", "unless", "atan2"};
    static const char *const aggr[] = {"sum",  "avg",     "count",        "min",
                                       "max",  "group",   "stddev",       "stdvar",
                                       "topk", "bottomk", "count_values", "quantile"};
    char low[16];

    if (n >= sizeof(low))
        goto ident;
    for (size_t i = 0; i < n; i++)
        low[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
    low[n] = '\0';
    if (strcmp(low, "inf") == 0 || strcmp(low, "nan") == 0)
        return T_NUMBER;
    for (size_t i = 0; i < SG_ARRAY_LEN(kw); i++)
        if (strcmp(low, kw[i]) == 0)
            return T_KEYWORD;
    for (size_t i = 0; i < SG_ARRAY_LEN(ops); i++)
        if (strcmp(low, ops[i]) == 0)
            return T_OP;
    for (size_t i = 0; i < SG_ARRAY_LEN(aggr); i++)
        if (strcmp(low, aggr[i]) == 0)
            return T_AGGR;
ident:
    return memchr(p, ':', n) ? T_METRIC_IDENT : T_IDENT;
}

static void lex_error_rune(struct lexer *l, const char *prefix, uint32_t r, size_t at)
{
    struct sg_buf b;

    sg_buf_init(&b, sizeof(l->msg) - 1);
    if (sg_buf_puts(&b, prefix) != SG_OK || sg_ut__quote_rune(r, &b) != SG_OK) {
        /* a message cut short is still a message */
    }
    snprintf(l->msg, sizeof(l->msg), "%s", sg_buf_cstr(&b));
    sg_buf_cleanup(&b);
    l->err_off = at;
}

/* scanNumber in series-description mode: no hex; the number must not be
 * followed by an alphanumeric other than 'x'. */
static bool scan_number(struct lexer *l)
{
    size_t p = l->pos;
    const char *s = l->s.ptr;
    size_t n = l->s.len;
    uint32_t r;

    while (p < n && is_digit((unsigned char)s[p]))
        p++;
    if (p < n && s[p] == '.') {
        p++;
        while (p < n && is_digit((unsigned char)s[p]))
            p++;
    }
    if (p < n && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < n && (s[p] == '+' || s[p] == '-'))
            p++;
        while (p < n && is_digit((unsigned char)s[p]))
            p++;
    }
    l->pos = p;
    r = peek_rune(l, p);
    return r == 'x' || r == UINT32_MAX || !is_alnum(r);
}

/* The next token in lexValueSequence state. */
static struct tok next_value_tok(struct lexer *l)
{
    struct tok t = {T_EOF, l->pos, 0};
    uint32_t r = peek_rune(l, l->pos);
    size_t w = 1;

    if (r == UINT32_MAX)
        return t;
    if (r >= 0x80)
        (void)sg_ut__rune(l->s.ptr, l->s.len, l->pos, &w);
    if (is_space(r)) {
        l->pos++;
        t.kind = T_SPACE;
        t.len = 1;
        while (l->pos < l->s.len && is_space((unsigned char)l->s.ptr[l->pos]))
            l->pos++;
        return t;
    }
    switch (r) {
    case '+':
        t.kind = T_ADD;
        break;
    case '-':
        t.kind = T_SUB;
        break;
    case 'x':
        t.kind = T_TIMES;
        break;
    case '_':
        t.kind = T_BLANK;
        break;
    default:
        if (is_digit(r) || (r == '.' && is_digit(peek_rune(l, l->pos + 1)))) {
            if (!scan_number(l)) {
                struct sg_buf b;
                sg_buf_init(&b, 256);
                if (sg_buf_puts(&b, "bad number syntax: ") != SG_OK ||
                    sg_ut__quote(sg_str_make(l->s.ptr + t.off, l->pos - t.off), 0, &b) != SG_OK) {
                    /* keep what fits */
                }
                snprintf(l->msg, sizeof(l->msg), "%s", sg_buf_cstr(&b));
                sg_buf_cleanup(&b);
                l->err_off = t.off;
                t.kind = T_ERROR;
                return t;
            }
            t.kind = T_NUMBER;
            t.len = l->pos - t.off;
            return t;
        }
        if (is_alpha(r)) {
            size_t p = l->pos;
            while (p < l->s.len && (is_alnum((unsigned char)l->s.ptr[p]) || l->s.ptr[p] == ':'))
                p++;
            t.kind = word_kind(l->s.ptr + l->pos, p - l->pos);
            t.len = p - l->pos;
            l->pos = p;
            return t;
        }
        lex_error_rune(l, "unexpected character in series sequence: ", r, l->pos);
        t.kind = T_ERROR;
        return t;
    }
    l->pos += 1;
    t.len = 1;
    return t;
}

/* 2.42's Item.desc(): how a token is named in "unexpected ..." messages. */
static int tok_desc(const struct lexer *l, const struct tok *t, struct sg_buf *b)
{
    struct sg_str v = sg_str_make(l->s.ptr + t->off, t->len);

    switch (t->kind) {
    case T_EOF:
        return sg_buf_puts(b, "end of input");
    case T_ADD:
    case T_SUB:
    case T_OP:
        return sg_buf_appendf(b, "<op:%.*s>", (int)v.len, v.ptr);
    case T_KEYWORD:
        return sg_buf_appendf(b, "<%.*s>", (int)v.len, v.ptr);
    case T_AGGR:
        return sg_buf_appendf(b, "<aggr:%.*s>", (int)v.len, v.ptr);
    case T_NUMBER:
        if (sg_buf_puts(b, "number ") != SG_OK)
            return SG_ENOMEM;
        return sg_ut__quote(v, 10, b);
    case T_IDENT:
        if (sg_buf_puts(b, "identifier ") != SG_OK)
            return SG_ENOMEM;
        return sg_ut__quote(v, 10, b);
    case T_METRIC_IDENT:
        if (sg_buf_puts(b, "metric identifier ") != SG_OK)
            return SG_ENOMEM;
        return sg_ut__quote(v, 10, b);
    case T_STRING:
        if (sg_buf_puts(b, "string ") != SG_OK)
            return SG_ENOMEM;
        return sg_ut__quote(v, 10, b);
    case T_DURATION:
        if (sg_buf_puts(b, "duration ") != SG_OK)
            return SG_ENOMEM;
        return sg_ut__quote(v, 10, b);
    default: /* SPACE, TIMES, BLANK, punctuation: the quoted text */
        return sg_ut__quote(v, 10, b);
    }
}

/* ---- parser ------------------------------------------------------------------------- */

struct parser {
    struct lexer lx;
    struct tok la; /* lookahead */
    struct sg_arena *a;
    struct sg_ut_value *v;
    size_t n, cap, max;
    struct sg_err *err;
};

static void advance(struct parser *p)
{
    p->la = next_value_tok(&p->lx);
}

static int fail_at(struct parser *p, size_t off, const char *msg)
{
    int rc = sg_err_set(p->err, SG_EPARSE, "%s", msg);
    if (p->err)
        p->err->off = (uint32_t)off;
    return rc;
}

/* Report the lookahead: a lexer error as is, else "unexpected X" with the
 * given context ("" for the parser's generic fallback). */
static int unexpected(struct parser *p, const char *context, const char *expected)
{
    struct sg_buf b;
    int rc;

    if (p->la.kind == T_ERROR)
        return fail_at(p, p->lx.err_off, p->lx.msg);
    sg_buf_init(&b, SG_ERR_MSG_MAX - 1);
    if (sg_buf_puts(&b, "unexpected ") != SG_OK || tok_desc(&p->lx, &p->la, &b) != SG_OK ||
        (context[0] && sg_buf_appendf(&b, " in %s", context) != SG_OK) ||
        (expected[0] && sg_buf_appendf(&b, ", expected %s", expected) != SG_OK)) {
        /* keep what fits */
    }
    rc = fail_at(p, p->la.off, sg_buf_cstr(&b));
    sg_buf_cleanup(&b);
    return rc;
}

static int push(struct parser *p, double v, bool omitted)
{
    if (p->n >= p->max)
        return sg_err_set(p->err, SG_ELIMIT, "series values expand to more than %zu samples",
                          p->max);
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        void *np;
        if (cap > p->max)
            cap = p->max;
        np = sg_arena_grow(p->a, p->v, p->cap * sizeof(*p->v), cap * sizeof(*p->v));
        if (!np)
            return sg_err_set(p->err, SG_ENOMEM, "out of memory expanding series values");
        p->v = np;
        p->cap = cap;
    }
    p->v[p->n].v = v;
    p->v[p->n].omitted = omitted;
    p->n++;
    return SG_OK;
}

/* The number production: ParseInt(s, 0, 64), else ParseFloat. */
static int number(struct parser *p, const struct tok *t, double *out)
{
    struct sg_str s = sg_str_make(p->lx.s.ptr + t->off, t->len);
    int64_t iv;
    int rc;
    struct sg_buf b;

    if (sg_num_parse_int(s, &iv) == SG_OK) {
        *out = (double)iv;
        return SG_OK;
    }
    rc = sg_num_parse(s, out);
    if (rc == SG_OK)
        return SG_OK;
    sg_buf_init(&b, SG_ERR_MSG_MAX - 1);
    if (sg_buf_puts(&b, "error parsing number: strconv.ParseFloat: parsing ") != SG_OK ||
        sg_ut__quote(s, 0, &b) != SG_OK ||
        sg_buf_puts(&b, rc == SG_ELIMIT ? ": value out of range" : ": invalid syntax") != SG_OK) {
        /* keep what fits */
    }
    rc = fail_at(p, t->off, sg_buf_cstr(&b));
    sg_buf_cleanup(&b);
    return rc;
}

/* The uint production: ParseUint(s, 10, 64). */
static int repetition(struct parser *p, const struct tok *t, uint64_t *out)
{
    const char *s = p->lx.s.ptr + t->off;
    uint64_t v = 0;
    bool range = false;
    struct sg_buf b;
    int rc;

    for (size_t i = 0; i < t->len; i++) {
        if (!is_digit((unsigned char)s[i]))
            goto bad;
        if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            range = true;
        else
            v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (t->len == 0)
        goto bad;
    if (!range) {
        *out = v;
        return SG_OK;
    }
bad:
    sg_buf_init(&b, SG_ERR_MSG_MAX - 1);
    if (sg_buf_puts(&b, "invalid repetition in series values: strconv.ParseUint: parsing ") !=
            SG_OK ||
        sg_ut__quote(sg_str_make(s, t->len), 0, &b) != SG_OK ||
        sg_buf_puts(&b, range ? ": value out of range" : ": invalid syntax") != SG_OK) {
        /* keep what fits */
    }
    rc = fail_at(p, t->off, sg_buf_cstr(&b));
    sg_buf_cleanup(&b);
    return rc;
}

/* After TIMES: the count. */
static int times_count(struct parser *p, uint64_t *count)
{
    struct tok t;

    advance(p); /* past 'x' */
    if (p->la.kind != T_NUMBER)
        return unexpected(p, "series values", "");
    t = p->la;
    advance(p);
    return repetition(p, &t, count);
}

/* series_value: IDENTIFIER (must be "stale") | number | signed_number.
 * Leaves the lookahead on the token after the value. */
static int series_value(struct parser *p, double *v)
{
    struct tok t = p->la;

    if (t.kind == T_IDENT) {
        advance(p);
        if (t.len != 5 || memcmp(p->lx.s.ptr + t.off, "stale", 5) != 0) {
            struct parser q = *p;
            q.la = t;
            return unexpected(&q, "series values", "number or \"stale\"");
        }
        *v = sg_stale_nan();
        return SG_OK;
    }
    if (t.kind == T_NUMBER) {
        advance(p);
        return number(p, &t, v);
    }
    /* ADD or SUB */
    advance(p);
    if (p->la.kind != T_NUMBER)
        return unexpected(p, "series values", "");
    {
        struct tok nt = p->la;
        int rc;
        advance(p);
        rc = number(p, &nt, v);
        if (rc == SG_OK && t.kind == T_SUB)
            *v = -*v;
        return rc;
    }
}

static int series_item(struct parser *p)
{
    double v, d;
    uint64_t count;
    int rc;

    if (p->la.kind == T_BLANK) {
        advance(p);
        if (p->la.kind != T_TIMES)
            return push(p, 0, true);
        rc = times_count(p, &count);
        for (uint64_t i = 0; rc == SG_OK && i < count; i++)
            rc = push(p, 0, true);
        return rc;
    }
    rc = series_value(p, &v);
    if (rc != SG_OK)
        return rc;
    if (p->la.kind == T_TIMES) {
        rc = times_count(p, &count);
        for (uint64_t i = 0; rc == SG_OK; i++) {
            rc = push(p, v, false);
            if (i == count)
                break;
        }
        return rc;
    }
    if (p->la.kind == T_ADD || p->la.kind == T_SUB) {
        bool neg = p->la.kind == T_SUB;
        struct tok nt;
        advance(p);
        if (p->la.kind != T_NUMBER)
            return unexpected(p, "series values", "");
        nt = p->la;
        advance(p);
        rc = number(p, &nt, &d);
        if (rc != SG_OK)
            return rc;
        if (neg)
            d = -d;
        if (p->la.kind != T_TIMES)
            return unexpected(p, "series values", "");
        rc = times_count(p, &count);
        for (uint64_t i = 0; rc == SG_OK; i++) {
            rc = push(p, v, false);
            if (i == count)
                break;
            v += d;
        }
        return rc;
    }
    return push(p, v, false);
}

int sg_ut_values_parse(struct sg_str line, size_t off, struct sg_arena *arena, size_t max_values,
                       struct sg_ut_value **vals, size_t *n, struct sg_err *err)
{
    struct parser p;
    int rc = SG_OK;

    memset(&p, 0, sizeof(p));
    p.lx.s = line;
    p.lx.pos = off;
    p.a = arena;
    p.max = max_values ? max_values : SIZE_MAX;
    p.err = err;
    *vals = NULL;
    *n = 0;
    advance(&p);
    /* right after the metric: only a space or the end may follow */
    if (p.la.kind != T_EOF && p.la.kind != T_SPACE)
        return unexpected(&p, "series values", "");
    while (p.la.kind == T_SPACE) {
        advance(&p);
        switch (p.la.kind) {
        case T_EOF:
            break;
        case T_BLANK:
        case T_IDENT:
        case T_NUMBER:
        case T_ADD:
        case T_SUB:
            rc = series_item(&p);
            if (rc != SG_OK)
                return rc;
            break;
        default:
            return unexpected(&p, "", "");
        }
        /* after an item only a space or the end may follow */
        if (p.la.kind != T_EOF && p.la.kind != T_SPACE)
            return unexpected(&p, "", "");
    }
    *vals = p.v;
    *n = p.n;
    return rc;
}

/* ---- the metric part ------------------------------------------------------------------ */

/* A token at the start of a line that holds no metric, as lexStatements
 * would produce it; sets *t and returns false when it is a lexer error
 * (message in l->msg). */
static bool first_token(struct lexer *l, struct tok *t)
{
    const char *s = l->s.ptr;
    size_t n = l->s.len, p = 0;
    uint32_t r = peek_rune(l, 0);

    t->off = 0;
    t->kind = T_OTHER;
    if (is_digit(r) || (r == '.' && is_digit(peek_rune(l, 1)))) {
        l->pos = 0;
        if (scan_number(l)) {
            t->kind = T_NUMBER;
            t->len = l->pos;
            return true;
        }
        p = l->pos;
        /* acceptRemainingDuration */
        if (p < n && strchr("smhdwy", s[p]) && s[p]) {
            p++;
            if (p < n && s[p] == 's')
                p++;
            for (;;) {
                size_t q = p;
                while (p < n && is_digit((unsigned char)s[p]))
                    p++;
                if (p == q)
                    break;
                if (!(p < n && strchr("smhdw", s[p]) && s[p]))
                    goto bad_num;
                p++;
                if (p < n && s[p] == 's')
                    p++;
            }
            if (p >= n || !is_alnum((unsigned char)s[p])) {
                t->kind = T_DURATION;
                t->len = p;
                return true;
            }
        }
    bad_num : {
        struct sg_buf b;
        size_t end = p < n ? p + 1 : n;
        sg_buf_init(&b, 256);
        if (sg_buf_puts(&b, "bad number or duration syntax: ") != SG_OK ||
            sg_ut__quote(sg_str_make(s, end), 0, &b) != SG_OK) {
            /* keep what fits */
        }
        snprintf(l->msg, sizeof(l->msg), "%s", sg_buf_cstr(&b));
        sg_buf_cleanup(&b);
        l->err_off = 0;
        return false;
    }
    }
    if (r == '"' || r == '\'' || r == '`') {
        p = 1;
        while (p < n && (unsigned char)s[p] != r) {
            if (r != '`' && s[p] == '\\')
                p++;
            p++;
        }
        if (p >= n) {
            snprintf(l->msg, sizeof(l->msg), "%s",
                     r == '`' ? "unterminated raw string" : "unterminated quoted string");
            l->err_off = 0;
            return false;
        }
        t->kind = T_STRING;
        t->len = p + 1;
        return true;
    }
    t->len = 1;
    switch (r) {
    case '*':
    case '/':
    case '%':
    case '+':
    case '-':
    case '^':
        t->kind = T_OP;
        return true;
    case '=':
        if (n > 1 && s[1] == '=') {
            t->kind = T_OP;
            t->len = 2;
        } else if (n > 1 && s[1] == '~') {
            lex_error_rune(l, "unexpected character after '=': ", '~', 0);
            return false;
        }
        return true;
    case '!':
        if (n > 1 && s[1] == '=') {
            t->kind = T_OP;
            t->len = 2;
            return true;
        }
        lex_error_rune(l, "unexpected character after '!': ", n > 1 ? peek_rune(l, 1) : 0xFFFD, 0);
        return false;
    case '<':
    case '>':
        t->kind = T_OP;
        if (n > 1 && s[1] == '=')
            t->len = 2;
        return true;
    case ',':
    case '(':
    case '[':
    case '@':
        return true;
    case ')':
        /* the lexer emits the parenthesis first, so the error starts after it */
        lex_error_rune(l, "unexpected right parenthesis ", ')', 1);
        return false;
    case ']':
        lex_error_rune(l, "unexpected right bracket ", ']', 0);
        return false;
    default:
        lex_error_rune(l, "unexpected character: ", r, 0);
        return false;
    }
}

static bool not_a_metric_name(const char *p, size_t n)
{
    static const char *const bad[] = {"bool",        "on",    "ignoring", "group_left",
                                      "group_right", "atan2", "inf",      "nan"};
    char low[16];

    if (n >= sizeof(low))
        return false;
    for (size_t i = 0; i < n; i++)
        low[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
    low[n] = '\0';
    for (size_t i = 0; i < SG_ARRAY_LEN(bad); i++)
        if (strcmp(low, bad[i]) == 0)
            return true;
    return false;
}

int sg_ut__metric_end(struct sg_str line, size_t *end, struct sg_err *err)
{
    struct lexer l;
    uint32_t r;
    size_t p = 0;

    memset(&l, 0, sizeof(l));
    l.s = line;
    *end = 0;
    r = peek_rune(&l, 0);
    if (r == UINT32_MAX)
        return SG_OK;
    if (is_alpha(r) || r == ':') {
        enum tok_kind k;
        while (p < line.len && (is_alnum((unsigned char)line.ptr[p]) || line.ptr[p] == ':'))
            p++;
        k = word_kind(line.ptr, p);
        /* words the grammar does not take as a metric name (metric_identifier) */
        if (not_a_metric_name(line.ptr, p)) {
            struct parser q;
            memset(&q, 0, sizeof(q));
            q.lx.s = line;
            q.err = err;
            q.la.kind = k;
            q.la.len = p;
            return unexpected(&q, "series values", "");
        }
        if (p >= line.len || line.ptr[p] != '{') {
            *end = p;
            return SG_OK;
        }
    } else if (r != '{') {
        struct tok t;
        struct parser q;
        memset(&q, 0, sizeof(q));
        q.lx.s = line;
        q.err = err;
        if (!first_token(&q.lx, &t)) {
            q.la.kind = T_ERROR;
            return unexpected(&q, "", "");
        }
        q.la = t;
        return unexpected(&q, "series values", "");
    }
    /* a label set: to the closing brace outside quotes, or the whole line when
     * it never closes (the metric parser then reports where it breaks) */
    p++;
    while (p < line.len && line.ptr[p] != '}') {
        char q = line.ptr[p];
        if (q == '"' || q == '\'' || q == '`') {
            p++;
            while (p < line.len && line.ptr[p] != q) {
                if (q != '`' && line.ptr[p] == '\\')
                    p++;
                p++;
            }
        }
        p++;
    }
    *end = p < line.len ? p + 1 : line.len;
    return SG_OK;
}

/* ---- series descriptions ------------------------------------------------------------------ */

int sg_ut_series_parse(struct sg_str line, struct sg_arena *arena, size_t max_values,
                       struct sg_labels *labels, struct sg_ut_value **vals, size_t *n,
                       struct sg_err *err)
{
    size_t end;
    int rc;

    labels->v = NULL;
    labels->count = 0;
    rc = sg_ut__metric_end(line, &end, err);
    if (rc != SG_OK)
        return rc;
    if (end > 0) {
        struct sg_err e;
        sg_err_clear(&e);
        rc = sg_promql_parse_metric(sg_str_make(line.ptr, end), NULL, arena, labels, &e);
        if (rc != SG_OK) {
            const char *m = sg_ut__strip_position(&e);
            if (strncmp(m, "parse error: ", 13) == 0)
                m += 13;
            rc = sg_err_set(err, rc, "%s", m);
            if (err)
                err->off = e.off;
            return rc;
        }
    }
    return sg_ut_values_parse(line, end, arena, max_values, vals, n, err);
}
