/* src/promql/lex.c - PromQL tokenizer.
 *
 * Turns a byte range into tokens with byte offsets, following Prometheus
 * 2.42's lexer rule for rule: the three contexts (statements, inside {}
 * where keywords are plain identifiers, inside [] where a duration comes
 * first and ':' separates a subquery step), number and duration scanning
 * (hex, exponents, Inf/NaN in any case, no '_' separators), the three
 * string quotes with Go's escapes, '#' comments. Errors carry Prometheus's
 * wording and the offset it reports them at. Knows nothing about grammar;
 * never allocates and never reads past len.
 *
 * Also here: the token descriptions used in "unexpected ..." messages,
 * string unquoting (Go's strutil.Unquote rules) and duration parsing
 * (prometheus/common v0.39's model.ParseDuration).
 */
#include <stdio.h>
#include <string.h>

#include "promql_int.h"

#define EOFR (-1)

static const struct {
    const char *word;
    enum sg_tok_kind kind;
} keywords[] = {
    {"and", SG_TOK_LAND},
    {"or", SG_TOK_LOR},
    {"unless", SG_TOK_LUNLESS},
    {"atan2", SG_TOK_ATAN2},
    {"sum", SG_TOK_SUM},
    {"avg", SG_TOK_AVG},
    {"count", SG_TOK_COUNT},
    {"min", SG_TOK_MIN},
    {"max", SG_TOK_MAX},
    {"group", SG_TOK_GROUP},
    {"stddev", SG_TOK_STDDEV},
    {"stdvar", SG_TOK_STDVAR},
    {"topk", SG_TOK_TOPK},
    {"bottomk", SG_TOK_BOTTOMK},
    {"count_values", SG_TOK_COUNT_VALUES},
    {"quantile", SG_TOK_QUANTILE},
    {"offset", SG_TOK_OFFSET},
    {"by", SG_TOK_BY},
    {"without", SG_TOK_WITHOUT},
    {"on", SG_TOK_ON},
    {"ignoring", SG_TOK_IGNORING},
    {"group_left", SG_TOK_GROUP_LEFT},
    {"group_right", SG_TOK_GROUP_RIGHT},
    {"bool", SG_TOK_BOOL},
    {"start", SG_TOK_START},
    {"end", SG_TOK_END},
    {"inf", SG_TOK_NUMBER},
    {"nan", SG_TOK_NUMBER},
};

static const struct {
    enum sg_tok_kind kind;
    const char *text;
} tok_texts[] = {
    {SG_TOK_LEFT_PAREN, "("},
    {SG_TOK_RIGHT_PAREN, ")"},
    {SG_TOK_LEFT_BRACE, "{"},
    {SG_TOK_RIGHT_BRACE, "}"},
    {SG_TOK_LEFT_BRACKET, "["},
    {SG_TOK_RIGHT_BRACKET, "]"},
    {SG_TOK_COMMA, ","},
    {SG_TOK_EQL, "="},
    {SG_TOK_COLON, ":"},
    {SG_TOK_ADD, "+"},
    {SG_TOK_DIV, "/"},
    {SG_TOK_EQLC, "=="},
    {SG_TOK_EQL_REGEX, "=~"},
    {SG_TOK_GTE, ">="},
    {SG_TOK_GTR, ">"},
    {SG_TOK_LAND, "and"},
    {SG_TOK_LOR, "or"},
    {SG_TOK_LSS, "<"},
    {SG_TOK_LTE, "<="},
    {SG_TOK_LUNLESS, "unless"},
    {SG_TOK_MOD, "%"},
    {SG_TOK_MUL, "*"},
    {SG_TOK_NEQ, "!="},
    {SG_TOK_NEQ_REGEX, "!~"},
    {SG_TOK_POW, "^"},
    {SG_TOK_SUB, "-"},
    {SG_TOK_AT, "@"},
    {SG_TOK_ATAN2, "atan2"},
    {SG_TOK_AVG, "avg"},
    {SG_TOK_BOTTOMK, "bottomk"},
    {SG_TOK_COUNT, "count"},
    {SG_TOK_COUNT_VALUES, "count_values"},
    {SG_TOK_GROUP, "group"},
    {SG_TOK_MAX, "max"},
    {SG_TOK_MIN, "min"},
    {SG_TOK_QUANTILE, "quantile"},
    {SG_TOK_STDDEV, "stddev"},
    {SG_TOK_STDVAR, "stdvar"},
    {SG_TOK_SUM, "sum"},
    {SG_TOK_TOPK, "topk"},
    {SG_TOK_BOOL, "bool"},
    {SG_TOK_BY, "by"},
    {SG_TOK_GROUP_LEFT, "group_left"},
    {SG_TOK_GROUP_RIGHT, "group_right"},
    {SG_TOK_IGNORING, "ignoring"},
    {SG_TOK_OFFSET, "offset"},
    {SG_TOK_ON, "on"},
    {SG_TOK_WITHOUT, "without"},
    {SG_TOK_START, "start"},
    {SG_TOK_END, "end"},
};

const char *sg_promql__tok_text(enum sg_tok_kind k)
{
    for (size_t i = 0; i < SG_ARRAY_LEN(tok_texts); i++)
        if (tok_texts[i].kind == k)
            return tok_texts[i].text;
    return "?";
}

enum sg_tok_kind sg_promql__keyword(const char *s, size_t n)
{
    char low[16];

    if (n == 0 || n >= sizeof(low))
        return SG_TOK_IDENTIFIER;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    for (size_t i = 0; i < SG_ARRAY_LEN(keywords); i++)
        if (strlen(keywords[i].word) == n && memcmp(keywords[i].word, low, n) == 0)
            return keywords[i].kind;
    return SG_TOK_IDENTIFIER;
}

/* ---- character classes (ASCII only, as Prometheus's isAlpha/isDigit) ---- */

static bool is_space(int32_t r)
{
    return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}

static bool is_digit(int32_t r)
{
    return r >= '0' && r <= '9';
}

static bool is_alpha(int32_t r)
{
    return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}

static bool is_alnum(int32_t r)
{
    return is_alpha(r) || is_digit(r);
}

/* ---- rune reading ---------------------------------------------------------- */

static int32_t next(struct sg_lexer *lx)
{
    size_t w;
    uint32_t r;

    if (lx->pos >= lx->len) {
        lx->width = 0;
        return EOFR;
    }
    r = sg_utf8_decode(lx->src + lx->pos, lx->len - lx->pos, &w);
    lx->width = (uint32_t)w;
    lx->pos += (uint32_t)w;
    return (int32_t)r;
}

static void backup(struct sg_lexer *lx)
{
    lx->pos -= lx->width;
}

static int32_t peek(struct sg_lexer *lx)
{
    int32_t r = next(lx);

    backup(lx);
    return r;
}

static bool accept(struct sg_lexer *lx, const char *valid)
{
    int32_t r = next(lx);

    if (r > 0 && r < 0x80 && strchr(valid, (int)r))
        return true;
    backup(lx);
    return false;
}

static void accept_run(struct sg_lexer *lx, const char *valid)
{
    while (accept(lx, valid))
        ;
}

/* ---- emitting ---------------------------------------------------------------- */

static void emit(struct sg_lexer *lx, struct sg_tok *t, enum sg_tok_kind k)
{
    t->kind = k;
    t->off = lx->start;
    t->len = lx->pos - lx->start;
    lx->start = lx->pos;
}

static void errorf(struct sg_lexer *lx, struct sg_tok *t, const char *fmt, ...) SG_PRINTF(3, 4);

static void errorf(struct sg_lexer *lx, struct sg_tok *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(lx->msg, sizeof(lx->msg), fmt, ap);
    va_end(ap);
    t->kind = SG_TOK_ERROR;
    t->off = lx->start;
    t->len = 0;
    lx->done = true;
}

/* Go's %q of a rune (strconv.QuoteRune); EOF (-1) shows as U+FFFD. */
static void quote_rune(int32_t r, char *buf, size_t n)
{
    struct sg_buf b;
    uint32_t u = r < 0 ? SG_RUNE_ERROR : (uint32_t)r;

    sg_buf_init(&b, 64);
    if (sg_buf_putc(&b, '\'') != SG_OK || sg_quote_go_rune(u, '\'', &b) != SG_OK ||
        sg_buf_putc(&b, '\'') != SG_OK)
        snprintf(buf, n, "'?'");
    else
        snprintf(buf, n, "%s", sg_buf_cstr(&b));
    sg_buf_cleanup(&b);
}

/* Go's %#U: U+0063 'c' (the quoted rune only when printable). */
static void sharp_u(int32_t r, char *buf, size_t n)
{
    uint32_t u = r < 0 ? SG_RUNE_ERROR : (uint32_t)r;

    if (sg_rune_is_print(u)) {
        char enc[4];
        size_t w = sg_utf8_encode(u, enc);
        snprintf(buf, n, "U+%04X '%.*s'", (unsigned)u, (int)w, enc);
    } else {
        snprintf(buf, n, "U+%04X", (unsigned)u);
    }
}

/* Go's %q of a string, truncated for messages. */
static void quote_str(const char *s, size_t len, char *buf, size_t n)
{
    struct sg_buf b;

    sg_buf_init(&b, 200);
    if (sg_quote_go(sg_str_make(s, len > 150 ? 150 : len), &b) == SG_OK)
        snprintf(buf, n, "%s", sg_buf_cstr(&b));
    else
        snprintf(buf, n, "\"?\"");
    sg_buf_cleanup(&b);
}

/* ---- numbers and durations ------------------------------------------------- */

static bool scan_number(struct sg_lexer *lx)
{
    const char *digits = "0123456789";

    if (accept(lx, "0") && accept(lx, "xX"))
        digits = "0123456789abcdefABCDEF";
    accept_run(lx, digits);
    if (accept(lx, "."))
        accept_run(lx, digits);
    if (accept(lx, "eE")) {
        accept(lx, "+-");
        accept_run(lx, "0123456789");
    }
    return !is_alnum(peek(lx));
}

static bool accept_remaining_duration(struct sg_lexer *lx)
{
    if (!accept(lx, "smhdwy"))
        return false;
    accept(lx, "s");
    while (accept(lx, "0123456789")) {
        while (accept(lx, "0123456789"))
            ;
        if (!accept(lx, "smhdw"))
            return false;
        accept(lx, "s");
    }
    return !is_alnum(next(lx));
}

static void lex_duration(struct sg_lexer *lx, struct sg_tok *t)
{
    char q[200];

    if (scan_number(lx)) {
        errorf(lx, t, "missing unit character in duration");
        return;
    }
    if (!accept_remaining_duration(lx)) {
        quote_str(lx->src + lx->start, lx->pos - lx->start, q, sizeof(q));
        errorf(lx, t, "bad duration syntax: %s", q);
        return;
    }
    backup(lx);
    emit(lx, t, SG_TOK_DURATION);
}

static void lex_number_or_duration(struct sg_lexer *lx, struct sg_tok *t)
{
    char q[200];

    if (scan_number(lx)) {
        emit(lx, t, SG_TOK_NUMBER);
        return;
    }
    if (accept_remaining_duration(lx)) {
        backup(lx);
        emit(lx, t, SG_TOK_DURATION);
        return;
    }
    quote_str(lx->src + lx->start, lx->pos - lx->start, q, sizeof(q));
    errorf(lx, t, "bad number or duration syntax: %s", q);
}

/* ---- strings ------------------------------------------------------------------ */

/* After a backslash inside a quoted string; false after an error. */
static bool lex_escape(struct sg_lexer *lx, struct sg_tok *t, int32_t quote)
{
    int32_t ch = next(lx);
    int n;
    uint32_t base, max, x = 0;
    char u[64];

    switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\':
        return true;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
        n = 3;
        base = 8;
        max = 255;
        break;
    case 'x':
        ch = next(lx);
        n = 2;
        base = 16;
        max = 255;
        break;
    case 'u':
        ch = next(lx);
        n = 4;
        base = 16;
        max = 0x10FFFF;
        break;
    case 'U':
        ch = next(lx);
        n = 8;
        base = 16;
        max = 0x10FFFF;
        break;
    case EOFR:
        errorf(lx, t, "escape sequence not terminated");
        return false;
    default:
        if (ch == quote)
            return true;
        sharp_u(ch, u, sizeof(u));
        errorf(lx, t, "unknown escape sequence %s", u);
        return false;
    }
    while (n > 0) {
        uint32_t d = (uint32_t)sg_hex_digit((uint32_t)ch);
        if (d >= base) {
            if (ch == EOFR) {
                errorf(lx, t, "escape sequence not terminated");
                return false;
            }
            sharp_u(ch, u, sizeof(u));
            errorf(lx, t, "illegal character %s in escape sequence", u);
            return false;
        }
        x = x * base + d;
        n--;
        if (n > 0)
            ch = next(lx);
    }
    if (x > max || (x >= 0xD800 && x < 0xE000)) {
        errorf(lx, t, "escape sequence is an invalid Unicode code point");
        return false;
    }
    return true;
}

static void lex_string(struct sg_lexer *lx, struct sg_tok *t, int32_t quote)
{
    for (;;) {
        int32_t r = next(lx);
        if (r == '\\') {
            if (!lex_escape(lx, t, quote))
                return;
            continue;
        }
        if (r == (int32_t)SG_RUNE_ERROR) {
            errorf(lx, t, "invalid UTF-8 rune");
            return;
        }
        if (r == EOFR || r == '\n') {
            errorf(lx, t, "unterminated quoted string");
            return;
        }
        if (r == quote)
            break;
    }
    emit(lx, t, SG_TOK_STRING);
}

static void lex_raw_string(struct sg_lexer *lx, struct sg_tok *t)
{
    for (;;) {
        int32_t r = next(lx);
        if (r == (int32_t)SG_RUNE_ERROR) {
            errorf(lx, t, "invalid UTF-8 rune");
            return;
        }
        if (r == EOFR) {
            errorf(lx, t, "unterminated raw string");
            return;
        }
        if (r == '`')
            break;
    }
    emit(lx, t, SG_TOK_STRING);
}

/* ---- identifiers, comments ---------------------------------------------------- */

static void lex_comment(struct sg_lexer *lx, struct sg_tok *t)
{
    int32_t r;

    lx->pos++; /* '#' */
    do {
        r = next(lx);
    } while (r != '\r' && r != '\n' && r != EOFR);
    backup(lx);
    emit(lx, t, SG_TOK_COMMENT);
}

static void lex_keyword_or_identifier(struct sg_lexer *lx, struct sg_tok *t)
{
    int32_t r;
    enum sg_tok_kind k;

    do {
        r = next(lx);
    } while (is_alnum(r) || r == ':');
    backup(lx);
    k = sg_promql__keyword(lx->src + lx->start, lx->pos - lx->start);
    if (k == SG_TOK_IDENTIFIER && memchr(lx->src + lx->start, ':', lx->pos - lx->start))
        k = SG_TOK_METRIC_IDENTIFIER;
    emit(lx, t, k);
}

static bool has_comment(const struct sg_lexer *lx)
{
    return lx->pos < lx->len && lx->src[lx->pos] == '#';
}

/* Inside {...}; true when a token (or an error) was produced. */
static bool lex_inside_braces(struct sg_lexer *lx, struct sg_tok *t)
{
    int32_t r;
    char q[32];

    if (has_comment(lx)) {
        lex_comment(lx, t);
        return true;
    }
    r = next(lx);
    if (r == EOFR) {
        errorf(lx, t, "unexpected end of input inside braces");
        return true;
    }
    if (is_space(r)) {
        while (is_space(peek(lx)))
            next(lx);
        lx->start = lx->pos;
        return false;
    }
    if (is_alpha(r)) {
        do {
            r = next(lx);
        } while (is_alnum(r));
        backup(lx);
        emit(lx, t, SG_TOK_IDENTIFIER);
        return true;
    }
    switch (r) {
    case ',':
        emit(lx, t, SG_TOK_COMMA);
        return true;
    case '"':
    case '\'':
        lex_string(lx, t, r);
        return true;
    case '`':
        lex_raw_string(lx, t);
        return true;
    case '=':
        if (next(lx) == '~') {
            emit(lx, t, SG_TOK_EQL_REGEX);
            return true;
        }
        backup(lx);
        emit(lx, t, SG_TOK_EQL);
        return true;
    case '!': {
        int32_t nr = next(lx);
        if (nr == '~') {
            emit(lx, t, SG_TOK_NEQ_REGEX);
            return true;
        }
        if (nr == '=') {
            emit(lx, t, SG_TOK_NEQ);
            return true;
        }
        quote_rune(nr, q, sizeof(q));
        errorf(lx, t, "unexpected character after '!' inside braces: %s", q);
        return true;
    }
    case '{':
        errorf(lx, t, "unexpected left brace '{'");
        return true;
    case '}':
        emit(lx, t, SG_TOK_RIGHT_BRACE);
        lx->brace_open = false;
        return true;
    default:
        quote_rune(r, q, sizeof(q));
        errorf(lx, t, "unexpected character inside braces: %s", q);
        return true;
    }
}

/* Statements context; true when a token (or an error) was produced. */
static bool lex_statements(struct sg_lexer *lx, struct sg_tok *t)
{
    int32_t r;
    char q[32];

    if (lx->brace_open)
        return lex_inside_braces(lx, t);
    if (has_comment(lx)) {
        lex_comment(lx, t);
        return true;
    }
    r = next(lx);
    if (r == EOFR) {
        if (lx->paren_depth != 0) {
            errorf(lx, t, "unclosed left parenthesis");
            return true;
        }
        if (lx->bracket_open) {
            errorf(lx, t, "unclosed left bracket");
            return true;
        }
        emit(lx, t, SG_TOK_EOF);
        lx->done = true;
        return true;
    }
    if (is_space(r)) {
        while (is_space(peek(lx)))
            next(lx);
        lx->start = lx->pos;
        return false;
    }
    if (is_digit(r) || (r == '.' && is_digit(peek(lx)))) {
        backup(lx);
        lex_number_or_duration(lx, t);
        return true;
    }
    if (is_alpha(r) || r == ':') {
        if (!lx->bracket_open) {
            backup(lx);
            lex_keyword_or_identifier(lx, t);
            return true;
        }
        if (lx->got_colon) {
            quote_rune(r, q, sizeof(q));
            errorf(lx, t, "unexpected colon %s", q);
            return true;
        }
        emit(lx, t, SG_TOK_COLON);
        lx->got_colon = true;
        return true;
    }
    switch (r) {
    case ',':
        emit(lx, t, SG_TOK_COMMA);
        return true;
    case '*':
        emit(lx, t, SG_TOK_MUL);
        return true;
    case '/':
        emit(lx, t, SG_TOK_DIV);
        return true;
    case '%':
        emit(lx, t, SG_TOK_MOD);
        return true;
    case '+':
        emit(lx, t, SG_TOK_ADD);
        return true;
    case '-':
        emit(lx, t, SG_TOK_SUB);
        return true;
    case '^':
        emit(lx, t, SG_TOK_POW);
        return true;
    case '=': {
        int32_t p = peek(lx);
        if (p == '=') {
            next(lx);
            emit(lx, t, SG_TOK_EQLC);
        } else if (p == '~') {
            quote_rune(p, q, sizeof(q));
            errorf(lx, t, "unexpected character after '=': %s", q);
        } else {
            emit(lx, t, SG_TOK_EQL);
        }
        return true;
    }
    case '!': {
        int32_t p = next(lx);
        if (p == '=') {
            emit(lx, t, SG_TOK_NEQ);
        } else {
            quote_rune(p, q, sizeof(q));
            errorf(lx, t, "unexpected character after '!': %s", q);
        }
        return true;
    }
    case '<':
        if (peek(lx) == '=') {
            next(lx);
            emit(lx, t, SG_TOK_LTE);
        } else {
            emit(lx, t, SG_TOK_LSS);
        }
        return true;
    case '>':
        if (peek(lx) == '=') {
            next(lx);
            emit(lx, t, SG_TOK_GTE);
        } else {
            emit(lx, t, SG_TOK_GTR);
        }
        return true;
    case '"':
    case '\'':
        lex_string(lx, t, r);
        return true;
    case '`':
        lex_raw_string(lx, t);
        return true;
    case '(':
        emit(lx, t, SG_TOK_LEFT_PAREN);
        lx->paren_depth++;
        return true;
    case ')':
        emit(lx, t, SG_TOK_RIGHT_PAREN);
        lx->paren_depth--;
        if (lx->paren_depth < 0) {
            /* Prometheus reports this one after the parenthesis */
            errorf(lx, t, "unexpected right parenthesis ')'");
        }
        return true;
    case '{':
        emit(lx, t, SG_TOK_LEFT_BRACE);
        lx->brace_open = true;
        return true;
    case '[':
        if (lx->bracket_open) {
            errorf(lx, t, "unexpected left bracket '['");
            return true;
        }
        lx->got_colon = false;
        emit(lx, t, SG_TOK_LEFT_BRACKET);
        while (is_space(peek(lx)))
            next(lx);
        lx->start = lx->pos;
        lx->bracket_open = true;
        lx->in_duration = true;
        return true;
    case ']':
        if (!lx->bracket_open) {
            errorf(lx, t, "unexpected right bracket ']'");
            return true;
        }
        emit(lx, t, SG_TOK_RIGHT_BRACKET);
        lx->bracket_open = false;
        return true;
    case '@':
        emit(lx, t, SG_TOK_AT);
        return true;
    default:
        quote_rune(r, q, sizeof(q));
        errorf(lx, t, "unexpected character: %s", q);
        return true;
    }
}

void sg_promql__lex_init(struct sg_lexer *lx, const char *src, uint32_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->src = src ? src : "";
    lx->len = len;
}

void sg_promql__lex_next(struct sg_lexer *lx, struct sg_tok *t)
{
    if (lx->done) {
        t->kind = SG_TOK_EOF;
        t->off = lx->pos;
        t->len = 0;
        return;
    }
    if (lx->in_duration) {
        lx->in_duration = false;
        lex_duration(lx, t);
        return;
    }
    while (!lex_statements(lx, t))
        ;
}

/* ---- token descriptions -------------------------------------------------------- */

void sg_promql__tok_desc(const char *src, const struct sg_tok *t, char *buf, size_t n)
{
    const char *v = src + t->off;
    int len = (int)t->len;
    char q[200];

    switch (t->kind) {
    case SG_TOK_EOF:
        snprintf(buf, n, "end of input");
        return;
    case SG_TOK_ERROR:
        snprintf(buf, n, "error");
        return;
    case SG_TOK_IDENTIFIER:
    case SG_TOK_METRIC_IDENTIFIER:
        quote_str(v, t->len, q, sizeof(q));
        snprintf(buf, n, "%s%s",
                 t->kind == SG_TOK_IDENTIFIER ? "identifier " : "metric identifier ", q);
        return;
    case SG_TOK_NUMBER:
    case SG_TOK_STRING:
    case SG_TOK_DURATION:
    case SG_TOK_COMMENT: {
        const char *what = t->kind == SG_TOK_NUMBER     ? "number"
                           : t->kind == SG_TOK_STRING   ? "string"
                           : t->kind == SG_TOK_DURATION ? "duration"
                                                        : "comment";
        /* %.10q...: the first ten runes, quoted */
        size_t i = 0, runes = 0;
        while (i < t->len && runes < 10) {
            size_t w;
            sg_utf8_decode(v + i, t->len - i, &w);
            i += w ? w : 1;
            runes++;
        }
        quote_str(v, i, q, sizeof(q));
        snprintf(buf, n, "%s %s%s", what, q, i < t->len ? "..." : "");
        return;
    }
    default:
        break;
    }
    if (t->kind == SG_TOK_AT) {
        /* Prometheus has no name for '@' in its token table and falls back
         * to printing yacc's token number */
        snprintf(buf, n, "\"<Item 57385>\" <op:%.*s>", len, v);
        return;
    }
    if (t->kind > SG_TOK_KW_START && t->kind < SG_TOK_KW_END)
        snprintf(buf, n, "<%.*s>", len, v);
    else if (t->kind > SG_TOK_OPS_START && t->kind < SG_TOK_OPS_END)
        snprintf(buf, n, "<op:%.*s>", len, v);
    else if (t->kind > SG_TOK_AGG_START && t->kind < SG_TOK_AGG_END)
        snprintf(buf, n, "<aggr:%.*s>", len, v);
    else {
        quote_str(v, t->len, q, sizeof(q));
        snprintf(buf, n, "%s", q);
    }
}

/* ---- unquoting ------------------------------------------------------------------- */

/* strutil.Unquote writes a \u escape of a surrogate as U+FFFD; the lexer
 * has rejected those already, so sg_unquote_go_escape's stricter reading
 * (strconv's) gives the same results on every lexed token. */
int sg_promql__unquote(struct sg_arena *a, const char *s, size_t n, struct sg_str *out)
{
    char quote, *buf;
    size_t o = 0, i;

    if (n < 2 || s[0] != s[n - 1])
        return SG_EPARSE;
    quote = s[0];
    s++;
    n -= 2;
    if (quote == '`') {
        if (memchr(s, '`', n))
            return SG_EPARSE;
        return sg_arena_str(a, sg_str_make(s, n), out) == SG_OK ? SG_OK : SG_ENOMEM;
    }
    if (quote != '"' && quote != '\'')
        return SG_EPARSE;
    if (memchr(s, '\n', n))
        return SG_EPARSE;
    buf = sg_arena_alloc_raw(a, n + 1);
    if (!buf)
        return SG_ENOMEM;
    for (i = 0; i < n;) {
        uint32_t v;
        bool is_rune;
        size_t used;
        char c = s[i];
        if (c == quote)
            return SG_EPARSE;
        if (c != '\\') {
            buf[o++] = c;
            i++;
            continue;
        }
        if (!sg_unquote_go_escape(s + i + 1, n - i - 1, quote, &v, &is_rune, &used))
            return SG_EPARSE;
        i += 1 + used;
        /* an escape is never longer than the bytes it encodes */
        if (is_rune)
            o += sg_utf8_encode(v, buf + o);
        else
            buf[o++] = (char)v;
    }
    buf[o] = '\0';
    *out = sg_str_make(buf, o);
    return SG_OK;
}

/* ---- durations --------------------------------------------------------------------- */

int sg_promql__parse_duration(const char *s, size_t n, int64_t *ms, char *msg, size_t msgn)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"y", 365LL * 24 * 3600 * 1000},
        {"w", 7LL * 24 * 3600 * 1000},
        {"d", 24LL * 3600 * 1000},
        {"h", 3600LL * 1000},
        {"m", 60LL * 1000},
        {"s", 1000},
        {"ms", 1},
    };
    size_t i = 0, next_unit = 0;
    int64_t total_ns = 0;
    bool overflow = false;
    char q[200];

    if (n == 1 && s[0] == '0') {
        snprintf(msg, msgn, "duration must be greater than 0");
        return SG_EPARSE;
    }
    if (n == 0) {
        snprintf(msg, msgn, "empty duration string");
        return SG_EPARSE;
    }
    while (i < n) {
        size_t d0 = i, u, ul = 0;
        uint64_t v = 0;
        bool big = false;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (v > (UINT64_MAX - 9) / 10)
                big = true;
            else
                v = v * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        if (i == d0)
            goto bad;
        for (u = next_unit; u < SG_ARRAY_LEN(units); u++) {
            ul = strlen(units[u].unit);
            if (i + ul <= n && memcmp(s + i, units[u].unit, ul) == 0) {
                /* "m" must not take the "m" of "ms" */
                if (ul == 1 && s[i] == 'm' && i + 1 < n && s[i + 1] == 's')
                    continue;
                break;
            }
        }
        if (u == SG_ARRAY_LEN(units))
            goto bad;
        i += ul;
        next_unit = u + 1;
        /* Go keeps nanoseconds in an int64: the value must fit in ~292 years */
        if (big || v > (uint64_t)(INT64_MAX / units[u].ms / 1000000)) {
            overflow = true;
        } else {
            int64_t add = (int64_t)v * units[u].ms * 1000000;
            if (total_ns > INT64_MAX - add)
                overflow = true;
            else
                total_ns += add;
        }
    }
    if (overflow) {
        snprintf(msg, msgn, "duration out of range");
        return SG_EPARSE;
    }
    if (total_ns == 0) {
        snprintf(msg, msgn, "duration must be greater than 0");
        return SG_EPARSE;
    }
    *ms = total_ns / 1000000;
    return SG_OK;
bad:
    quote_str(s, n, q, sizeof(q));
    snprintf(msg, msgn, "not a valid duration string: %s", q);
    return SG_EPARSE;
}

int sg_promql__quote(struct sg_buf *b, const char *s, size_t n)
{
    return sg_quote_go(sg_str_make(s, n), b);
}
