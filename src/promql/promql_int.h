/* src/promql/promql_int.h - declarations shared by the PromQL front end's
 * files (lexer, parser, checker, printer). Nothing outside src/promql/
 * includes this. */
#ifndef SG_PROMQL_INT_H
#define SG_PROMQL_INT_H

#include "stopgate/promql.h"

/* Token kinds, in the groups Prometheus 2.42's lexer uses (the groups
 * decide how a token is named in "unexpected ..." messages). */
enum sg_tok_kind {
    SG_TOK_EOF = 0,
    SG_TOK_ERROR,
    SG_TOK_COMMENT,
    SG_TOK_IDENTIFIER,
    SG_TOK_METRIC_IDENTIFIER,
    SG_TOK_NUMBER,
    SG_TOK_STRING,
    SG_TOK_DURATION,
    SG_TOK_LEFT_PAREN,
    SG_TOK_RIGHT_PAREN,
    SG_TOK_LEFT_BRACE,
    SG_TOK_RIGHT_BRACE,
    SG_TOK_LEFT_BRACKET,
    SG_TOK_RIGHT_BRACKET,
    SG_TOK_COMMA,
    SG_TOK_EQL, /* = */
    SG_TOK_COLON,
    /* operators */
    SG_TOK_OPS_START,
    SG_TOK_ADD,
    SG_TOK_DIV,
    SG_TOK_EQLC, /* == */
    SG_TOK_EQL_REGEX,
    SG_TOK_GTE,
    SG_TOK_GTR,
    SG_TOK_LAND,
    SG_TOK_LOR,
    SG_TOK_LSS,
    SG_TOK_LTE,
    SG_TOK_LUNLESS,
    SG_TOK_MOD,
    SG_TOK_MUL,
    SG_TOK_NEQ,
    SG_TOK_NEQ_REGEX,
    SG_TOK_POW,
    SG_TOK_SUB,
    SG_TOK_AT,
    SG_TOK_ATAN2,
    SG_TOK_OPS_END,
    /* aggregators */
    SG_TOK_AGG_START,
    SG_TOK_AVG,
    SG_TOK_BOTTOMK,
    SG_TOK_COUNT,
    SG_TOK_COUNT_VALUES,
    SG_TOK_GROUP,
    SG_TOK_MAX,
    SG_TOK_MIN,
    SG_TOK_QUANTILE,
    SG_TOK_STDDEV,
    SG_TOK_STDVAR,
    SG_TOK_SUM,
    SG_TOK_TOPK,
    SG_TOK_AGG_END,
    /* keywords */
    SG_TOK_KW_START,
    SG_TOK_BOOL,
    SG_TOK_BY,
    SG_TOK_GROUP_LEFT,
    SG_TOK_GROUP_RIGHT,
    SG_TOK_IGNORING,
    SG_TOK_OFFSET,
    SG_TOK_ON,
    SG_TOK_WITHOUT,
    SG_TOK_KW_END,
    /* @ preprocessors */
    SG_TOK_START,
    SG_TOK_END,
};

struct sg_tok {
    enum sg_tok_kind kind;
    uint32_t off, len;
};

#define SG_LEX_MSG_MAX 256

/* The lexer: Prometheus's three contexts (statements, inside {}, inside [])
 * as flags. It never allocates; an error is a SG_TOK_ERROR token whose text
 * is in msg and whose offset is where Prometheus reports it. */
struct sg_lexer {
    const char *src;
    uint32_t len;
    uint32_t pos;   /* next byte */
    uint32_t start; /* start of the token being scanned */
    uint32_t width; /* bytes of the last rune read */
    int paren_depth;
    bool brace_open;
    bool bracket_open;
    bool got_colon;
    bool in_duration; /* right after '[': a duration comes next */
    bool done;        /* EOF or an error was returned */
    char msg[SG_LEX_MSG_MAX];
};

void sg_promql__lex_init(struct sg_lexer *lx, const char *src, uint32_t len);
/* The next token (comments included). After EOF or ERROR, returns EOF. */
void sg_promql__lex_next(struct sg_lexer *lx, struct sg_tok *t);
/* Prometheus's description of a token in messages: `identifier "foo"`,
 * `<op:+>`, `"("`, `end of input`, ... written to buf (NUL-terminated). */
void sg_promql__tok_desc(const char *src, const struct sg_tok *t, char *buf, size_t n);
/* Keyword lookup (case-insensitive); SG_TOK_IDENTIFIER when not one, and
 * SG_TOK_NUMBER for inf/nan. */
enum sg_tok_kind sg_promql__keyword(const char *s, size_t n);
/* Canonical text of an operator, aggregator or keyword kind ("+", "sum"). */
const char *sg_promql__tok_text(enum sg_tok_kind k);

/* Go's strutil.Unquote of a lexed string token (quotes included); the
 * result is allocated in the arena. SG_EPARSE when invalid. */
int sg_promql__unquote(struct sg_arena *a, const char *s, size_t n, struct sg_str *out);

/* model.ParseDuration of prometheus/common v0.39 plus the parser's "> 0"
 * check. On failure writes Prometheus's message to msg. */
int sg_promql__parse_duration(const char *s, size_t n, int64_t *ms, char *msg, size_t msgn);

/* Prometheus's ParseErr: "parse error: MESSAGE" recorded in err with code
 * at byte off of src (named src_name). */
void sg_promql__parse_errv(struct sg_err *err, int code, const char *src_name, struct sg_str src,
                           uint32_t off, const char *fmt, va_list ap) SG_PRINTF(6, 0);

/* Static checks of 2.42's checkAST on a parsed tree (types, argument
 * counts, vector matching...). Sets node types. src is the query text (for
 * positions). */
int sg_promql__check(struct sg_node *root, struct sg_str src, const char *src_name,
                     struct sg_err *err);

/* The text of an operator or aggregation as written in PromQL ("+",
 * "unless", "count_values"); "?" for a value outside the enum. */
const char *sg_promql__binop_text(enum sg_binop op);
const char *sg_promql__aggop_text(enum sg_aggop op);

/* Go's %q of a string / rune into buf. */
int sg_promql__quote(struct sg_buf *b, const char *s, size_t n);

/* Functions. */
const struct sg_func *sg_promql__func_by_name(const char *s, size_t n);

#endif
