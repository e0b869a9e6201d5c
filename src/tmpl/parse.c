/* src/tmpl/parse.c - Go text/template lexer and parser (Go 1.19 semantics).
 *
 * The lexer turns the whole text into a token array first; Go 1.19's lexer
 * runs as a goroutine feeding the parser, so the parser sees exactly the
 * tokens emitted before a lexical error, then the error token, and that is
 * what the array reproduces. The parser follows Go's recursive descent
 * with its three-token look-ahead, so that every syntax error has Go's
 * wording and line number ("template: NAME:LINE: ..."). Errors unwind with
 * longjmp; everything lives in the caller's arena, so there is nothing to
 * release on the way out.
 *
 * Not here: execution (exec.c), value formatting (fmt.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "stopgate/num.h"
#include "tmpl/tmpl_int.h"

#define DEF_MAX_LEN   (64u * 1024u)
#define DEF_MAX_DEPTH 400u
#define DEF_MAX_NODES 100000u
#define DEF_MAX_OUT   ((size_t)1 << 20)
#define DEF_MAX_STEPS 1000000u

/* ---- tokens --------------------------------------------------------------------------- */

enum tk {
    TK_ERROR = 0,
    TK_BOOL,
    TK_CHAR,
    TK_CHAR_CONST,
    TK_COMPLEX,
    TK_ASSIGN,
    TK_DECLARE,
    TK_EOF,
    TK_FIELD,
    TK_IDENT,
    TK_LDELIM,
    TK_LPAREN,
    TK_NUMBER,
    TK_PIPE,
    TK_RAW_STRING,
    TK_RDELIM,
    TK_RPAREN,
    TK_SPACE,
    TK_STRING,
    TK_TEXT,
    TK_VARIABLE,
    TK_KEYWORD, /* the keywords follow */
    TK_BLOCK,
    TK_BREAK,
    TK_CONTINUE,
    TK_DOT,
    TK_DEFINE,
    TK_ELSE,
    TK_END,
    TK_IF,
    TK_NIL,
    TK_RANGE,
    TK_TEMPLATE,
    TK_WITH,
};

struct tok {
    enum tk typ;
    uint32_t pos;
    uint32_t line;
    struct sg_str val; /* for TK_ERROR: the message */
};

struct lexer {
    const char *in;
    uint32_t len;
    uint32_t pos, start, width;
    uint32_t line, start_line;
    int paren_depth;
    struct tok *toks;
    uint32_t ntoks, cap, max;
    struct sg_arena *a;
    bool oom, over;
};

#define LEX_EOF (-1)

static bool is_space(int32_t r)
{
    return r == ' ' || r == '\t' || r == '\r' || r == '\n';
}

/* Go's unicode.IsLetter / IsDigit for the identifier alphabet: exact for
 * ASCII; any non-ASCII code point counts as a letter except the few ranges
 * of punctuation and spaces that commonly appear. */
static bool is_unicode_letter_or_digit(int32_t r)
{
    if (r < 0x80)
        return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9');
    if (r == 0xfffd)
        return false;
    if (r < 0xa0)
        return false; /* C1 controls */
    if (r >= 0xa0 && r <= 0xbf)
        return r == 0xaa || r == 0xb5 || r == 0xba || r == 0xb2 || r == 0xb3 || r == 0xb9;
    if (r == 0xd7 || r == 0xf7)
        return false;
    if (r >= 0x2000 && r <= 0x206f)
        return false; /* general punctuation and spaces */
    if (r >= 0x3000 && r <= 0x303f)
        return r >= 0x3005 && r <= 0x3007; /* CJK punctuation */
    if (r >= 0xfe00 && r <= 0xfe0f)
        return false;
    if (r == 0xfeff)
        return false;
    if (r >= 0xe000 && r <= 0xf8ff)
        return false; /* private use */
    if (r >= 0x2190 && r <= 0x2bff)
        return false; /* arrows, math operators, box drawing, symbols */
    if (r >= 0x1f000 && r <= 0x1faff)
        return false; /* emoji and pictographs */
    return true;
}

static bool is_alnum(int32_t r)
{
    return r == '_' || is_unicode_letter_or_digit(r);
}

/* Go's unicode.IsPrint restricted to ASCII (the lexer only asks for ASCII). */
static bool is_ascii_print(int32_t r)
{
    return r >= 0x20 && r < 0x7f;
}

static int32_t lnext(struct lexer *l)
{
    size_t w;
    int32_t r;

    if (l->pos >= l->len) {
        l->width = 0;
        return LEX_EOF;
    }
    r = (int32_t)sg_utf8_decode(l->in + l->pos, l->len - l->pos, &w);
    l->width = (uint32_t)w;
    l->pos += (uint32_t)w;
    if (r == '\n')
        l->line++;
    return r;
}

static void lbackup(struct lexer *l)
{
    l->pos -= l->width;
    if (l->width == 1 && l->in[l->pos] == '\n')
        l->line--;
}

static int32_t lpeek(struct lexer *l)
{
    int32_t r = lnext(l);
    lbackup(l);
    return r;
}

static uint32_t count_nl(const char *s, uint32_t n)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < n; i++)
        c += s[i] == '\n';
    return c;
}

static void push_tok(struct lexer *l, enum tk typ, uint32_t pos, struct sg_str val,
                     uint32_t line)
{
    if (l->oom || l->over)
        return;
    if (l->ntoks == l->max) {
        l->over = true;
        return;
    }
    if (l->ntoks == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 64;
        void *p = sg_arena_grow(l->a, l->toks, l->cap * sizeof(*l->toks), cap * sizeof(*l->toks));
        if (!p) {
            l->oom = true;
            return;
        }
        l->toks = p;
        l->cap = cap;
    }
    l->toks[l->ntoks].typ = typ;
    l->toks[l->ntoks].pos = pos;
    l->toks[l->ntoks].val = val;
    l->toks[l->ntoks].line = line;
    l->ntoks++;
}

static void emit(struct lexer *l, enum tk typ)
{
    push_tok(l, typ, l->start, sg_str_make(l->in + l->start, l->pos - l->start), l->start_line);
    l->start = l->pos;
    l->start_line = l->line;
}

static void lignore(struct lexer *l)
{
    l->line += count_nl(l->in + l->start, l->pos - l->start);
    l->start = l->pos;
    l->start_line = l->line;
}

static bool laccept(struct lexer *l, const char *valid)
{
    int32_t r = lnext(l);
    if (r > 0 && r < 0x80 && strchr(valid, (int)r))
        return true;
    lbackup(l);
    return false;
}

static void laccept_run(struct lexer *l, const char *valid)
{
    for (;;) {
        int32_t r = lnext(l);
        if (!(r > 0 && r < 0x80 && strchr(valid, (int)r)))
            break;
    }
    lbackup(l);
}

/* %#U of a rune: "U+0023 '#'" (the quoted form only for printable runes). */
static void format_U(int32_t r, char *buf, size_t n)
{
    char ch[4];
    size_t len;
    bool printable = r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0) && r != 0xfffd &&
                     r != 0xad;

    if (r < 0)
        r = 0xfffd;
    len = sg_utf8_encode((uint32_t)r, ch);
    if (printable)
        snprintf(buf, n, "U+%04X '%.*s'", (unsigned)r, (int)len, ch);
    else
        snprintf(buf, n, "U+%04X", (unsigned)r);
}

/* Record an error token and stop lexing. */
static void lerrorf(struct lexer *l, const char *fmt, ...) SG_PRINTF(2, 3);
static void lerrorf(struct lexer *l, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    char *s;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s = sg_arena_strdup(l->a, msg);
    if (!s) {
        l->oom = true;
        return;
    }
    push_tok(l, TK_ERROR, l->start, sg_str_c(s), l->start_line);
}

static bool has_left_trim(const char *s, uint32_t n)
{
    return n >= 2 && s[0] == '-' && is_space((unsigned char)s[1]);
}

static bool has_right_trim(const char *s, uint32_t n)
{
    return n >= 2 && is_space((unsigned char)s[0]) && s[1] == '-';
}

static bool has_prefix(const char *s, uint32_t n, const char *p)
{
    size_t pl = strlen(p);
    return n >= pl && memcmp(s, p, pl) == 0;
}

/* at the right delimiter, possibly preceded by a trim marker */
static bool at_right_delim(struct lexer *l, bool *trim)
{
    const char *s = l->in + l->pos;
    uint32_t n = l->len - l->pos;

    if (has_right_trim(s, n) && has_prefix(s + 2, n - 2, "}}")) {
        *trim = true;
        return true;
    }
    *trim = false;
    return has_prefix(s, n, "}}");
}

static bool at_terminator(struct lexer *l)
{
    int32_t r = lpeek(l);

    if (is_space(r))
        return true;
    switch (r) {
    case LEX_EOF:
    case '.':
    case ',':
    case '|':
    case ':':
    case ')':
    case '(':
    case '}': /* the first rune of the right delimiter */
        return true;
    default:
        return false;
    }
}

enum lstate {
    LS_TEXT,
    LS_LEFT_DELIM,
    LS_COMMENT,
    LS_RIGHT_DELIM,
    LS_INSIDE,
    LS_SPACE,
    LS_IDENT,
    LS_FIELD,
    LS_VARIABLE,
    LS_CHAR,
    LS_NUMBER,
    LS_QUOTE,
    LS_RAW_QUOTE,
    LS_STOP,
};

static enum tk keyword(struct sg_str w)
{
    static const struct {
        const char *w;
        enum tk t;
    } kw[] = {
        {".", TK_DOT},       {"block", TK_BLOCK}, {"break", TK_BREAK},       {"continue", TK_CONTINUE},
        {"define", TK_DEFINE}, {"else", TK_ELSE}, {"end", TK_END},         {"if", TK_IF},
        {"range", TK_RANGE}, {"nil", TK_NIL},     {"template", TK_TEMPLATE}, {"with", TK_WITH},
    };
    for (size_t i = 0; i < SG_ARRAY_LEN(kw); i++) {
        if (sg_str_eq_c(w, kw[i].w))
            return kw[i].t;
    }
    return TK_ERROR;
}

static bool scan_number(struct lexer *l)
{
    const char *digits = "0123456789_";

    laccept(l, "+-");
    if (laccept(l, "0")) {
        if (laccept(l, "xX"))
            digits = "0123456789abcdefABCDEF_";
        else if (laccept(l, "oO"))
            digits = "01234567_";
        else if (laccept(l, "bB"))
            digits = "01_";
    }
    laccept_run(l, digits);
    if (laccept(l, "."))
        laccept_run(l, digits);
    if (strlen(digits) == 10 + 1 && laccept(l, "eE")) {
        laccept(l, "+-");
        laccept_run(l, "0123456789_");
    }
    if (strlen(digits) == 16 + 6 + 1 && laccept(l, "pP")) {
        laccept(l, "+-");
        laccept_run(l, "0123456789_");
    }
    laccept(l, "i");
    if (is_alnum(lpeek(l))) {
        lnext(l);
        return false;
    }
    return true;
}

/* Go's %q of s into buf (truncated to bufn; a failed allocation leaves the
 * quotes empty, which only shortens a message). */
static void quote_into(const char *s, uint32_t n, char *buf, size_t bufn)
{
    struct sg_buf b;

    sg_buf_init(&b, bufn > 1 ? bufn - 1 : 0);
    if (sg_tmpl__quote(sg_str_make(s, n), false, &b) != SG_OK && b.len == 0)
        snprintf(buf, bufn, "\"\"");
    else
        snprintf(buf, bufn, "%s", sg_buf_cstr(&b));
    sg_buf_cleanup(&b);
}

/* The rest of a quoted literal, up to its closing quote (Go's lexChar and
 * lexQuote); false after the error for a literal that does not end on its
 * line. */
static bool scan_quoted(struct lexer *l, int32_t quote, const char *what)
{
    for (;;) {
        int32_t r = lnext(l);
        if (r == '\\')
            r = lnext(l);
        else if (r == quote)
            return true;
        if (r == LEX_EOF || r == '\n') {
            lerrorf(l, "unterminated %s", what);
            return false;
        }
    }
}

static enum lstate lex_step(struct lexer *l, enum lstate st)
{
    int32_t r;
    bool trim;

    switch (st) {
    case LS_TEXT: {
        const char *p = NULL;
        for (uint32_t i = l->pos; i + 1 < l->len; i++) {
            if (l->in[i] == '{' && l->in[i + 1] == '{') {
                p = l->in + i;
                break;
            }
        }
        l->width = 0;
        if (p) {
            uint32_t trim_len = 0;
            l->pos = (uint32_t)(p - l->in);
            if (has_left_trim(l->in + l->pos + 2, l->len - l->pos - 2)) {
                uint32_t e = l->pos;
                while (e > l->start && is_space((unsigned char)l->in[e - 1]))
                    e--;
                trim_len = l->pos - e;
            }
            l->pos -= trim_len;
            if (l->pos > l->start) {
                l->line += count_nl(l->in + l->start, l->pos - l->start);
                emit(l, TK_TEXT);
            }
            l->pos += trim_len;
            lignore(l);
            return LS_LEFT_DELIM;
        }
        l->pos = l->len;
        if (l->pos > l->start) {
            l->line += count_nl(l->in + l->start, l->pos - l->start);
            emit(l, TK_TEXT);
        }
        emit(l, TK_EOF);
        return LS_STOP;
    }
    case LS_LEFT_DELIM: {
        uint32_t after = 0;
        l->pos += 2;
        if (has_left_trim(l->in + l->pos, l->len - l->pos))
            after = 2;
        if (has_prefix(l->in + l->pos + after, l->len - l->pos - after, "/*")) {
            l->pos += after;
            lignore(l);
            return LS_COMMENT;
        }
        emit(l, TK_LDELIM);
        l->pos += after;
        lignore(l);
        l->paren_depth = 0;
        return LS_INSIDE;
    }
    case LS_COMMENT: {
        const char *e = NULL;
        l->pos += 2;
        for (uint32_t i = l->pos; i + 1 < l->len; i++) {
            if (l->in[i] == '*' && l->in[i + 1] == '/') {
                e = l->in + i;
                break;
            }
        }
        if (!e) {
            lerrorf(l, "unclosed comment");
            return LS_STOP;
        }
        l->pos = (uint32_t)(e - l->in) + 2;
        if (!at_right_delim(l, &trim)) {
            lerrorf(l, "comment ends before closing delimiter");
            return LS_STOP;
        }
        if (trim)
            l->pos += 2;
        l->pos += 2;
        if (trim) {
            while (l->pos < l->len && is_space((unsigned char)l->in[l->pos]))
                l->pos++;
        }
        lignore(l);
        return LS_TEXT;
    }
    case LS_RIGHT_DELIM:
        trim = has_right_trim(l->in + l->pos, l->len - l->pos);
        if (trim) {
            l->pos += 2;
            lignore(l);
        }
        l->pos += 2;
        emit(l, TK_RDELIM);
        if (trim) {
            while (l->pos < l->len && is_space((unsigned char)l->in[l->pos]))
                l->pos++;
            lignore(l);
        }
        return LS_TEXT;
    case LS_INSIDE: {
        char u[32];
        if (at_right_delim(l, &trim)) {
            if (l->paren_depth == 0)
                return LS_RIGHT_DELIM;
            lerrorf(l, "unclosed left paren");
            return LS_STOP;
        }
        r = lnext(l);
        if (r == LEX_EOF) {
            lerrorf(l, "unclosed action");
            return LS_STOP;
        }
        if (is_space(r)) {
            lbackup(l);
            return LS_SPACE;
        }
        switch (r) {
        case '=':
            emit(l, TK_ASSIGN);
            return LS_INSIDE;
        case ':':
            if (lnext(l) != '=') {
                lerrorf(l, "expected :=");
                return LS_STOP;
            }
            emit(l, TK_DECLARE);
            return LS_INSIDE;
        case '|':
            emit(l, TK_PIPE);
            return LS_INSIDE;
        case '"':
            return LS_QUOTE;
        case '`':
            return LS_RAW_QUOTE;
        case '$':
            return LS_VARIABLE;
        case '\'':
            return LS_CHAR;
        case '.':
            if (l->pos < l->len) {
                char c = l->in[l->pos];
                if (c < '0' || c > '9')
                    return LS_FIELD;
            }
            lbackup(l);
            return LS_NUMBER;
        case '(':
            emit(l, TK_LPAREN);
            l->paren_depth++;
            return LS_INSIDE;
        case ')':
            emit(l, TK_RPAREN);
            l->paren_depth--;
            if (l->paren_depth < 0) {
                format_U(r, u, sizeof(u));
                lerrorf(l, "unexpected right paren %s", u);
                return LS_STOP;
            }
            return LS_INSIDE;
        default:
            break;
        }
        if (r == '+' || r == '-' || (r >= '0' && r <= '9')) {
            lbackup(l);
            return LS_NUMBER;
        }
        if (is_alnum(r)) {
            lbackup(l);
            return LS_IDENT;
        }
        if (r <= 0x7f && is_ascii_print(r)) {
            emit(l, TK_CHAR);
            return LS_INSIDE;
        }
        format_U(r, u, sizeof(u));
        lerrorf(l, "unrecognized character in action: %s", u);
        return LS_STOP;
    }
    case LS_SPACE: {
        int spaces = 0;
        for (;;) {
            r = lpeek(l);
            if (!is_space(r))
                break;
            lnext(l);
            spaces++;
        }
        if (has_right_trim(l->in + l->pos - 1, l->len - l->pos + 1) &&
            has_prefix(l->in + l->pos + 1, l->len - l->pos - 1, "}}")) {
            lbackup(l);
            if (spaces == 1)
                return LS_RIGHT_DELIM;
        }
        emit(l, TK_SPACE);
        return LS_INSIDE;
    }
    case LS_IDENT: {
        char u[32];
        for (;;) {
            r = lnext(l);
            if (is_alnum(r))
                continue;
            lbackup(l);
            struct sg_str word = sg_str_make(l->in + l->start, l->pos - l->start);
            if (!at_terminator(l)) {
                format_U(r, u, sizeof(u));
                lerrorf(l, "bad character %s", u);
                return LS_STOP;
            }
            enum tk k = keyword(word);
            if (k != TK_ERROR)
                emit(l, k);
            else if (word.len > 0 && word.ptr[0] == '.')
                emit(l, TK_FIELD);
            else if (sg_str_eq_c(word, "true") || sg_str_eq_c(word, "false"))
                emit(l, TK_BOOL);
            else
                emit(l, TK_IDENT);
            return LS_INSIDE;
        }
    }
    case LS_VARIABLE:
        if (at_terminator(l)) {
            emit(l, TK_VARIABLE);
            return LS_INSIDE;
        }
        /* fall through */
    case LS_FIELD: {
        enum tk typ = st == LS_FIELD ? TK_FIELD : TK_VARIABLE;
        char u[32];
        if (at_terminator(l)) {
            emit(l, typ == TK_VARIABLE ? TK_VARIABLE : TK_DOT);
            return LS_INSIDE;
        }
        for (;;) {
            r = lnext(l);
            if (!is_alnum(r)) {
                lbackup(l);
                break;
            }
        }
        if (!at_terminator(l)) {
            format_U(r, u, sizeof(u));
            lerrorf(l, "bad character %s", u);
            return LS_STOP;
        }
        emit(l, typ);
        return LS_INSIDE;
    }
    case LS_CHAR:
        if (!scan_quoted(l, '\'', "character constant"))
            return LS_STOP;
        emit(l, TK_CHAR_CONST);
        return LS_INSIDE;
    case LS_NUMBER: {
        char q[200];
        if (!scan_number(l)) {
            quote_into(l->in + l->start, l->pos - l->start, q, sizeof(q));
            lerrorf(l, "bad number syntax: %s", q);
            return LS_STOP;
        }
        r = lpeek(l);
        if (r == '+' || r == '-') {
            if (!scan_number(l) || l->in[l->pos - 1] != 'i') {
                quote_into(l->in + l->start, l->pos - l->start, q, sizeof(q));
                lerrorf(l, "bad number syntax: %s", q);
                return LS_STOP;
            }
            emit(l, TK_COMPLEX);
        } else {
            emit(l, TK_NUMBER);
        }
        return LS_INSIDE;
    }
    case LS_QUOTE:
        if (!scan_quoted(l, '"', "quoted string"))
            return LS_STOP;
        emit(l, TK_STRING);
        return LS_INSIDE;
    case LS_RAW_QUOTE:
        for (;;) {
            r = lnext(l);
            if (r == LEX_EOF) {
                lerrorf(l, "unterminated raw quoted string");
                return LS_STOP;
            }
            if (r == '`')
                break;
        }
        emit(l, TK_RAW_STRING);
        return LS_INSIDE;
    case LS_STOP:
        break;
    }
    return LS_STOP;
}

static void lex_all(struct lexer *l)
{
    enum lstate st = LS_TEXT;

    l->line = l->start_line = 1;
    while (st != LS_STOP && !l->oom && !l->over)
        st = lex_step(l, st);
}

/* ---- parser ---------------------------------------------------------------------------- */

struct parser {
    struct sg_tmpl *t;
    struct sg_arena *a;
    const char *name;     /* ParseName */
    struct tok *toks;
    uint32_t ntoks, next_tok;
    /* per-tree state (saved and restored around {{define}} and {{block}}) */
    struct tok token[3];
    int peek_count;
    struct sg_str *vars;
    uint32_t nvars, vars_cap;
    int range_depth;
    uint32_t action_line;
    /* limits */
    uint32_t depth, nodes;
    struct sg_err *err;
    int code;
    uint32_t err_off, err_len;
    jmp_buf jb;
};

static void perr(struct parser *p, int code, const char *fmt, ...) SG_PRINTF(3, 4)
    __attribute__((noreturn));
static void perr(struct parser *p, int code, const char *fmt, ...)
{
    char msg[SG_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->code = code;
    sg_err_set(p->err, code, "%s", msg);
    if (p->err) {
        p->err->off = p->err_off;
        p->err->len = p->err_len;
        p->err->line = p->token[0].line;
        p->err->col = 0;
    }
    longjmp(p->jb, 1);
}

static void poom(struct parser *p) __attribute__((noreturn));
static void poom(struct parser *p)
{
    perr(p, SG_ENOMEM, "template: %s: out of memory", p->name);
}

/* Go's Tree.errorf: "template: NAME:LINE: msg", the line of the last token
 * read from the lexer. */
static void errorf(struct parser *p, const char *fmt, ...) SG_PRINTF(2, 3)
    __attribute__((noreturn));
static void errorf(struct parser *p, const char *fmt, ...)
{
    char msg[SG_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->err_off = p->token[0].pos;
    p->err_len = (uint32_t)p->token[0].val.len;
    if (p->token[0].typ == TK_ERROR)
        p->err_len = 1;
    perr(p, SG_EPARSE, "template: %s:%u: %s", p->name, p->token[0].line, msg);
}

static struct tok lex_next(struct parser *p)
{
    if (p->next_tok < p->ntoks)
        return p->toks[p->next_tok++];
    /* after EOF or an error the lexer keeps answering EOF */
    struct tok t = {TK_EOF, p->t->text.len > 0 ? (uint32_t)p->t->text.len : 0, 0, {"", 0}};
    t.line = p->ntoks ? p->toks[p->ntoks - 1].line : 1;
    return t;
}

static struct tok tnext(struct parser *p)
{
    if (p->peek_count > 0)
        p->peek_count--;
    else
        p->token[0] = lex_next(p);
    return p->token[p->peek_count];
}

static void tbackup(struct parser *p)
{
    p->peek_count++;
}

static void tbackup2(struct parser *p, struct tok t1)
{
    p->token[1] = t1;
    p->peek_count = 2;
}

static void tbackup3(struct parser *p, struct tok t2, struct tok t1)
{
    p->token[1] = t1;
    p->token[2] = t2;
    p->peek_count = 3;
}

static struct tok tpeek(struct parser *p)
{
    if (p->peek_count > 0)
        return p->token[p->peek_count - 1];
    p->peek_count = 1;
    p->token[0] = lex_next(p);
    return p->token[0];
}

static struct tok next_non_space(struct parser *p)
{
    struct tok t;
    for (;;) {
        t = tnext(p);
        if (t.typ != TK_SPACE)
            return t;
    }
}

static struct tok peek_non_space(struct parser *p)
{
    struct tok t = next_non_space(p);
    tbackup(p);
    return t;
}

/* item.String() of Go's lexer */
static void tok_string(struct parser *p, struct tok t, char *buf, size_t n)
{
    struct sg_buf b;
    const char *s = t.val.ptr;
    size_t len = t.val.len, cut = len, w;
    uint32_t runes = 0;

    if (t.typ == TK_EOF) {
        snprintf(buf, n, "EOF");
        return;
    }
    if (t.typ == TK_ERROR) {
        snprintf(buf, n, "%.*s", (int)t.val.len, t.val.ptr);
        return;
    }
    if (t.typ > TK_KEYWORD) {
        snprintf(buf, n, "<%.*s>", (int)t.val.len, t.val.ptr);
        return;
    }
    sg_buf_init(&b, 256);
    if (len > 10) {
        /* %.10q: the first ten runes, quoted, then "..." */
        for (cut = 0; cut < len && runes < 10; runes++) {
            sg_utf8_decode(s + cut, len - cut, &w);
            cut += w;
        }
    }
    if (sg_tmpl__quote(sg_str_make(s, cut), false, &b) != SG_OK)
        poom(p);
    snprintf(buf, n, "%s%s", sg_buf_cstr(&b), len > 10 ? "..." : "");
    sg_buf_cleanup(&b);
}

static void unexpected(struct parser *p, struct tok t, const char *context) __attribute__((noreturn));
static void unexpected(struct parser *p, struct tok t, const char *context)
{
    char ts[256];

    tok_string(p, t, ts, sizeof(ts));
    if (t.typ == TK_ERROR) {
        char extra[300] = "";
        if (p->action_line != 0 && p->action_line != t.line) {
            snprintf(extra, sizeof(extra), " in action started at %s:%u", p->name, p->action_line);
            if (t.val.len >= 7 && memcmp(t.val.ptr + t.val.len - 7, " action", 7) == 0)
                memmove(extra, extra + 10, strlen(extra + 10) + 1);
        }
        errorf(p, "%s%s", ts, extra);
    }
    errorf(p, "unexpected %s in %s", ts, context);
}

static struct tok expect(struct parser *p, enum tk typ, const char *context)
{
    struct tok t = next_non_space(p);
    if (t.typ != typ)
        unexpected(p, t, context);
    return t;
}

static struct tn *new_node(struct parser *p, enum tn_kind kind, uint32_t pos)
{
    struct tn *n;

    if (++p->nodes > p->t->lim.max_nodes) {
        p->err_off = pos;
        p->err_len = 1;
        perr(p, SG_ELIMIT, "template: %s: more than %u template nodes", p->name,
             p->t->lim.max_nodes);
    }
    n = sg_arena_alloc(p->a, sizeof(*n));
    if (!n)
        poom(p);
    n->kind = kind;
    n->pos = pos;
    return n;
}

static void list_append(struct parser *p, struct tn_list *l, struct tn *n)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        void *np = sg_arena_grow(p->a, l->v, l->cap * sizeof(*l->v), cap * sizeof(*l->v));
        if (!np)
            poom(p);
        l->v = np;
        l->cap = cap;
    }
    l->v[l->n++] = n;
}

static void push_var(struct parser *p, struct sg_str name)
{
    if (p->nvars == p->vars_cap) {
        uint32_t cap = p->vars_cap ? p->vars_cap * 2 : 8;
        void *np = sg_arena_grow(p->a, p->vars, p->vars_cap * sizeof(*p->vars),
                                 cap * sizeof(*p->vars));
        if (!np)
            poom(p);
        p->vars = np;
        p->vars_cap = cap;
    }
    p->vars[p->nvars++] = name;
}

/* split "a.b.c" at dots into views */
static struct sg_str *split_dots(struct parser *p, struct sg_str s, uint32_t *n)
{
    uint32_t cnt = 1, k = 0;
    struct sg_str *v;
    size_t st = 0;

    for (size_t i = 0; i < s.len; i++)
        cnt += s.ptr[i] == '.';
    v = sg_arena_alloc_array(p->a, cnt, sizeof(*v));
    if (!v)
        poom(p);
    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.ptr[i] == '.') {
            v[k++] = sg_str_make(s.ptr + st, i - st);
            st = i + 1;
        }
    }
    *n = cnt;
    return v;
}

static struct tn *new_variable(struct parser *p, uint32_t pos, struct sg_str ident)
{
    struct tn *n = new_node(p, TN_VARIABLE, pos);
    n->idents = split_dots(p, ident, &n->nidents);
    return n;
}

static struct tn *new_field(struct parser *p, uint32_t pos, struct sg_str ident)
{
    struct tn *n = new_node(p, TN_FIELD, pos);
    n->idents = split_dots(p, sg_str_make(ident.ptr + 1, ident.len - 1), &n->nidents);
    return n;
}

/* ---- Go's strconv: Unquote, UnquoteChar, ParseUint/ParseInt base 0 --------------------- */

/* strconv.UnquoteChar: decode one (possibly escaped) character of s.
 * Returns false on a syntax error. *multibyte tells whether the value is a
 * rune (written as UTF-8) or a single byte. */
static bool unquote_char(const char *s, size_t n, char quote, int32_t *value, bool *multibyte,
                         size_t *used)
{
    unsigned char c;
    uint32_t v;
    size_t w;

    if (n == 0)
        return false;
    c = (unsigned char)s[0];
    if (c == (unsigned char)quote && (quote == '\'' || quote == '"'))
        return false;
    if (c >= 0x80) {
        *value = (int32_t)sg_utf8_decode(s, n, &w);
        *multibyte = true;
        *used = w;
        return true;
    }
    if (c != '\\') {
        *value = c;
        *multibyte = false;
        *used = 1;
        return true;
    }
    if (!sg_unquote_go_escape(s + 1, n - 1, quote, &v, multibyte, &w))
        return false;
    *value = (int32_t)v;
    *used = 1 + w;
    return true;
}

static bool valid_utf8(const char *s, size_t n)
{
    size_t w;
    for (size_t i = 0; i < n;) {
        uint32_t r = sg_utf8_decode(s + i, n - i, &w);
        if (r == SG_RUNE_ERROR && w == 1)
            return false;
        i += w;
    }
    return true;
}

/* strconv.Unquote of a "..." or `...` literal; false on invalid syntax. */
static bool unquote(struct parser *p, struct sg_str q, struct sg_str *out)
{
    char quote;
    const char *s;
    size_t n;
    char *buf;
    size_t len = 0;

    if (q.len < 2)
        return false;
    quote = q.ptr[0];
    if (quote != q.ptr[q.len - 1])
        return false;
    s = q.ptr + 1;
    n = q.len - 2;
    buf = sg_arena_alloc_raw(p->a, n * 3 + 1);
    if (!buf)
        poom(p);
    if (quote == '`') {
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '`')
                return false;
            if (s[i] != '\r')
                buf[len++] = s[i];
        }
        buf[len] = 0;
        *out = sg_str_make(buf, len);
        return true;
    }
    if (quote != '"' && quote != '\'')
        return false;
    if (!memchr(s, '\\', n) && !memchr(s, quote, n) && !memchr(s, '\n', n) && valid_utf8(s, n)) {
        memcpy(buf, s, n);
        buf[n] = 0;
        *out = sg_str_make(buf, n);
        return true;
    }
    for (size_t i = 0; i < n;) {
        int32_t v;
        bool mb;
        size_t used;
        if (s[i] == '\n')
            return false;
        if (!unquote_char(s + i, n - i, quote, &v, &mb, &used))
            return false;
        i += used;
        if (v < 0x80 || !mb)
            buf[len++] = (char)v;
        else
            len += sg_utf8_encode((uint32_t)v, buf + len);
    }
    buf[len] = 0;
    *out = sg_str_make(buf, len);
    return true;
}

/* strconv.ParseUint(s, 0, 64): 0 ok, -1 syntax, -2 range */
static int parse_uint0(const char *s, size_t n, uint64_t *out)
{
    const char *s0 = s;
    size_t n0 = n;
    unsigned base = 10;
    uint64_t v = 0;
    bool underscores = false;

    if (n == 0)
        return -1;
    if (s[0] == '0') {
        if (n >= 3 && (s[1] | 0x20) == 'b') {
            base = 2;
            s += 2;
            n -= 2;
        } else if (n >= 3 && (s[1] | 0x20) == 'o') {
            base = 8;
            s += 2;
            n -= 2;
        } else if (n >= 3 && (s[1] | 0x20) == 'x') {
            base = 16;
            s += 2;
            n -= 2;
        } else {
            base = 8;
            s += 1;
            n -= 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int d;
        if (s[i] == '_') {
            underscores = true;
            continue;
        }
        d = sg_hex_digit((unsigned char)s[i]);
        if (d < 0 || (unsigned)d >= base)
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / base) {
            /* keep scanning for syntax errors first, as Go does */
            for (size_t j = i + 1; j < n; j++) {
                int e = sg_hex_digit((unsigned char)s[j]);
                if (s[j] != '_' && (e < 0 || (unsigned)e >= base))
                    return -1;
            }
            return -2;
        }
        v = v * base + (uint64_t)d;
    }
    if (underscores && !sg_num_underscores_ok(sg_str_make(s0, n0)))
        return -1;
    *out = v;
    return 0;
}

static int parse_int0(const char *s, size_t n, int64_t *out)
{
    bool neg = false;
    uint64_t u;
    int rc;

    if (n == 0)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        s++;
        n--;
    }
    rc = parse_uint0(s, n, &u);
    if (rc != 0)
        return rc;
    if (!neg && u > (uint64_t)INT64_MAX)
        return -2;
    if (neg && u > (uint64_t)INT64_MAX + 1)
        return -2;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* strconv.ParseFloat(s, 64): 0 ok, -1 syntax, -2 range */
static int parse_float(struct parser *p, const char *s, size_t n, double *out)
{
    int rc = sg_tmpl__parse_float(sg_str_make(s, n), out);

    if (rc == SG_ENOMEM)
        poom(p);
    return rc == SG_OK ? 0 : rc == SG_EPARSE ? -1 : -2;
}

static bool contains_any(struct sg_str s, const char *chars)
{
    for (size_t i = 0; i < s.len; i++) {
        if (strchr(chars, s.ptr[i]))
            return true;
    }
    return false;
}

static void simplify_complex(struct tn *n)
{
    n->is_float = n->c_im == 0;
    if (n->is_float) {
        n->f64 = n->c_re;
        n->is_int = n->f64 >= -9223372036854775808.0 && n->f64 < 9223372036854775808.0 &&
                    (double)(int64_t)n->f64 == n->f64;
        if (n->is_int)
            n->i64 = (int64_t)n->f64;
        n->is_uint = n->f64 >= 0 && n->f64 < 18446744073709551616.0 &&
                     (double)(uint64_t)n->f64 == n->f64;
        if (n->is_uint)
            n->u64 = (uint64_t)n->f64;
    }
}

static struct tn *new_number(struct parser *p, struct tok t)
{
    struct tn *n = new_node(p, TN_NUMBER, t.pos);
    struct sg_str text = t.val;
    char q[200];

    n->text = text;
    if (t.typ == TK_CHAR_CONST) {
        int32_t v;
        bool mb;
        size_t used;
        if (!unquote_char(text.ptr + 1, text.len - 1, '\'', &v, &mb, &used))
            errorf(p, "invalid syntax");
        if (!(used + 1 + 1 == text.len && text.ptr[text.len - 1] == '\''))
            errorf(p, "malformed character constant: %.*s", (int)text.len, text.ptr);
        n->i64 = v;
        n->is_int = true;
        n->u64 = (uint64_t)v;
        n->is_uint = true;
        n->f64 = (double)v;
        n->is_float = true;
        return n;
    }
    if (t.typ == TK_COMPLEX) {
        /* real part, then a signed imaginary part ending in 'i' */
        size_t split = 0;
        for (size_t i = 1; i < text.len; i++) {
            if ((text.ptr[i] == '+' || text.ptr[i] == '-') &&
                (text.ptr[i - 1] | 0x20) != 'e' && (text.ptr[i - 1] | 0x20) != 'p')
                split = i;
        }
        if (split == 0 || parse_float(p, text.ptr, split, &n->c_re) != 0 ||
            parse_float(p, text.ptr + split, text.len - split - 1, &n->c_im) != 0)
            errorf(p, "expected integer");
        n->is_complex = true;
        simplify_complex(n);
        return n;
    }
    if (text.len > 0 && text.ptr[text.len - 1] == 'i') {
        double f;
        if (parse_float(p, text.ptr, text.len - 1, &f) == 0) {
            n->is_complex = true;
            n->c_re = 0;
            n->c_im = f;
            simplify_complex(n);
            return n;
        }
    }
    {
        uint64_t u = 0;
        int64_t i;
        if (parse_uint0(text.ptr, text.len, &u) == 0) {
            n->is_uint = true;
            n->u64 = u;
        }
        if (parse_int0(text.ptr, text.len, &i) == 0) {
            n->is_int = true;
            n->i64 = i;
            if (i == 0) {
                n->is_uint = true;
                n->u64 = u;
            }
        }
    }
    if (n->is_int) {
        n->is_float = true;
        n->f64 = (double)n->i64;
    } else if (n->is_uint) {
        n->is_float = true;
        n->f64 = (double)n->u64;
    } else {
        double f;
        if (parse_float(p, text.ptr, text.len, &f) == 0) {
            if (!contains_any(text, ".eEpP")) {
                quote_into(text.ptr, (uint32_t)text.len, q, sizeof(q));
                errorf(p, "integer overflow: %s", q);
            }
            n->is_float = true;
            n->f64 = f;
            if (!n->is_int && f >= -9223372036854775808.0 && f < 9223372036854775808.0 &&
                (double)(int64_t)f == f) {
                n->is_int = true;
                n->i64 = (int64_t)f;
            }
            if (!n->is_uint && f >= 0 && f < 18446744073709551616.0 &&
                (double)(uint64_t)f == f) {
                n->is_uint = true;
                n->u64 = (uint64_t)f;
            }
        }
    }
    if (!n->is_int && !n->is_uint && !n->is_float) {
        quote_into(text.ptr, (uint32_t)text.len, q, sizeof(q));
        errorf(p, "illegal number syntax: %s", q);
    }
    return n;
}

/* ---- grammar ------------------------------------------------------------------------------ */

static struct tn *pipeline(struct parser *p, const char *context, enum tk end);
static struct tn *item_list(struct parser *p, struct tn **next);
static struct tn *if_control(struct parser *p);

static bool has_function(struct sg_str name)
{
    return sg_tmpl__func_find(name) != NULL;
}

static void enter(struct parser *p, uint32_t pos)
{
    if (++p->depth > p->t->lim.max_depth) {
        p->err_off = pos;
        p->err_len = 1;
        perr(p, SG_ELIMIT, "template: %s:%u: template nested deeper than %u levels", p->name,
             p->token[0].line, p->t->lim.max_depth);
    }
}

static void leave(struct parser *p)
{
    p->depth--;
}

static struct tn *use_var(struct parser *p, uint32_t pos, struct sg_str name)
{
    struct tn *v = new_variable(p, pos, name);
    char q[200];

    for (uint32_t i = 0; i < p->nvars; i++) {
        if (sg_str_eq(p->vars[i], v->idents[0]))
            return v;
    }
    quote_into(v->idents[0].ptr, (uint32_t)v->idents[0].len, q, sizeof(q));
    errorf(p, "undefined variable %s", q);
    return NULL;
}

static struct tn *term(struct parser *p)
{
    struct tok t = next_non_space(p);
    struct tn *n;
    char q[200];

    switch (t.typ) {
    case TK_IDENT:
        if (!has_function(t.val)) {
            quote_into(t.val.ptr, (uint32_t)t.val.len, q, sizeof(q));
            errorf(p, "function %s not defined", q);
        }
        n = new_node(p, TN_IDENT, t.pos);
        n->text = t.val;
        return n;
    case TK_DOT:
        return new_node(p, TN_DOT, t.pos);
    case TK_NIL:
        return new_node(p, TN_NIL, t.pos);
    case TK_VARIABLE:
        return use_var(p, t.pos, t.val);
    case TK_FIELD:
        return new_field(p, t.pos, t.val);
    case TK_BOOL:
        n = new_node(p, TN_BOOL, t.pos);
        n->b = sg_str_eq_c(t.val, "true");
        return n;
    case TK_CHAR_CONST:
    case TK_COMPLEX:
    case TK_NUMBER:
        return new_number(p, t);
    case TK_LPAREN:
        enter(p, t.pos);
        n = pipeline(p, "parenthesized pipeline", TK_RPAREN);
        leave(p);
        return n;
    case TK_STRING:
    case TK_RAW_STRING:
        n = new_node(p, TN_STRING, t.pos);
        n->quoted = t.val;
        if (!unquote(p, t.val, &n->text))
            errorf(p, "invalid syntax");
        return n;
    default:
        tbackup(p);
        return NULL;
    }
}

static struct tn *operand(struct parser *p)
{
    struct tn *node = term(p);
    struct tn *chain;
    struct sg_buf b;

    if (!node)
        return NULL;
    if (tpeek(p).typ != TK_FIELD)
        return node;
    chain = new_node(p, TN_CHAIN, tpeek(p).pos);
    chain->pipe = node;
    {
        struct tn_list fields = {0};
        while (tpeek(p).typ == TK_FIELD) {
            struct tok f = tnext(p);
            struct tn *fn = new_node(p, TN_FIELD, f.pos);
            fn->text = sg_str_make(f.val.ptr + 1, f.val.len - 1);
            list_append(p, &fields, fn);
        }
        chain->idents = sg_arena_alloc_array(p->a, fields.n, sizeof(*chain->idents));
        if (!chain->idents)
            poom(p);
        for (uint32_t i = 0; i < fields.n; i++)
            chain->idents[i] = fields.v[i]->text;
        chain->nidents = fields.n;
    }
    switch (node->kind) {
    case TN_FIELD:
    case TN_VARIABLE: {
        /* put the fields on the original node */
        struct sg_str *ids = sg_arena_alloc_array(p->a, node->nidents + chain->nidents,
                                                  sizeof(*ids));
        struct tn *nn;
        if (!ids)
            poom(p);
        memcpy(ids, node->idents, node->nidents * sizeof(*ids));
        memcpy(ids + node->nidents, chain->idents, chain->nidents * sizeof(*ids));
        nn = new_node(p, node->kind, chain->pos);
        nn->idents = ids;
        nn->nidents = node->nidents + chain->nidents;
        return nn;
    }
    case TN_BOOL:
    case TN_STRING:
    case TN_NUMBER:
    case TN_NIL:
    case TN_DOT: {
        char q[300];
        sg_buf_init(&b, 1024);
        if (sg_tmpl__node_string(node, &b) != SG_OK)
            poom(p);
        quote_into(b.data ? b.data : "", (uint32_t)b.len, q, sizeof(q));
        sg_buf_cleanup(&b);
        errorf(p, "unexpected . after term %s", q);
        return NULL;
    }
    default:
        return chain;
    }
}

static struct tn *command(struct parser *p)
{
    struct tn *cmd = new_node(p, TN_COMMAND, peek_non_space(p).pos);

    for (;;) {
        struct tn *op;
        struct tok t;
        peek_non_space(p);
        op = operand(p);
        if (op)
            list_append(p, &cmd->list, op);
        t = tnext(p);
        if (t.typ == TK_SPACE)
            continue;
        if (t.typ == TK_RDELIM || t.typ == TK_RPAREN)
            tbackup(p);
        else if (t.typ != TK_PIPE)
            unexpected(p, t, "operand");
        break;
    }
    if (cmd->list.n == 0)
        errorf(p, "empty command");
    return cmd;
}

static void check_pipeline(struct parser *p, struct tn *pipe, const char *context)
{
    if (pipe->list.n == 0)
        errorf(p, "missing value for %s", context);
    for (uint32_t i = 1; i < pipe->list.n; i++) {
        switch (pipe->list.v[i]->list.v[0]->kind) {
        case TN_BOOL:
        case TN_DOT:
        case TN_NIL:
        case TN_NUMBER:
        case TN_STRING:
            errorf(p, "non executable command in pipeline stage %u", i + 1);
        default:
            break;
        }
    }
}

static struct tn *pipeline(struct parser *p, const char *context, enum tk end)
{
    struct tok t = peek_non_space(p);
    struct tn *pipe = new_node(p, TN_PIPE, t.pos);
    struct tok v;

    pipe->line = t.line;
decls:
    v = peek_non_space(p);
    if (v.typ == TK_VARIABLE) {
        struct tok after, nx;
        tnext(p);
        after = tpeek(p);
        nx = peek_non_space(p);
        if (nx.typ == TK_ASSIGN || nx.typ == TK_DECLARE) {
            pipe->is_assign = nx.typ == TK_ASSIGN;
            next_non_space(p);
            list_append(p, &pipe->decl, new_variable(p, v.pos, v.val));
            push_var(p, v.val);
        } else if (nx.typ == TK_CHAR && sg_str_eq_c(nx.val, ",")) {
            next_non_space(p);
            list_append(p, &pipe->decl, new_variable(p, v.pos, v.val));
            push_var(p, v.val);
            if (strcmp(context, "range") == 0 && pipe->decl.n < 2) {
                switch (peek_non_space(p).typ) {
                case TK_VARIABLE:
                case TK_RDELIM:
                case TK_RPAREN:
                    goto decls;
                default:
                    errorf(p, "range can only initialize variables");
                }
            }
            errorf(p, "too many declarations in %s", context);
        } else if (after.typ == TK_SPACE) {
            tbackup3(p, v, after);
        } else {
            tbackup2(p, v);
        }
    }
    for (;;) {
        t = next_non_space(p);
        if (t.typ == end) {
            check_pipeline(p, pipe, context);
            return pipe;
        }
        switch (t.typ) {
        case TK_BOOL:
        case TK_CHAR_CONST:
        case TK_COMPLEX:
        case TK_DOT:
        case TK_FIELD:
        case TK_IDENT:
        case TK_NUMBER:
        case TK_NIL:
        case TK_RAW_STRING:
        case TK_STRING:
        case TK_VARIABLE:
        case TK_LPAREN:
            tbackup(p);
            list_append(p, &pipe->list, command(p));
            break;
        default:
            unexpected(p, t, context);
        }
    }
}

/* parseControl: returns the branch node of `kind` */
static struct tn *parse_control(struct parser *p, bool allow_else_if, const char *context,
                                enum tn_kind kind)
{
    uint32_t nvars = p->nvars;
    struct tn *pipe, *list, *else_list = NULL, *next = NULL, *n;

    pipe = pipeline(p, context, TK_RDELIM);
    if (kind == TN_RANGE)
        p->range_depth++;
    list = item_list(p, &next);
    if (kind == TN_RANGE)
        p->range_depth--;
    if (next->kind == TN_ELSE) {
        if (allow_else_if && tpeek(p).typ == TK_IF) {
            tnext(p);
            else_list = new_node(p, TN_LIST, next->pos);
            list_append(p, &else_list->list, if_control(p));
        } else {
            else_list = item_list(p, &next);
            if (next->kind != TN_END)
                errorf(p, "expected end; found {{else}}");
        }
    }
    p->nvars = nvars;
    n = new_node(p, kind, pipe->pos);
    n->line = pipe->line;
    n->pipe = pipe;
    n->body = list;
    n->else_body = else_list;
    return n;
}

static struct tn *if_control(struct parser *p)
{
    return parse_control(p, true, "if", TN_IF);
}

static struct sg_str template_name(struct parser *p, struct tok t, const char *context)
{
    struct sg_str s;

    if (t.typ != TK_STRING && t.typ != TK_RAW_STRING)
        unexpected(p, t, context);
    if (!unquote(p, t.val, &s))
        errorf(p, "invalid syntax");
    return s;
}

static bool is_empty_tree(const struct tn *n)
{
    if (!n)
        return true;
    switch (n->kind) {
    case TN_COMMENT:
        return true;
    case TN_LIST:
        for (uint32_t i = 0; i < n->list.n; i++) {
            if (!is_empty_tree(n->list.v[i]))
                return false;
        }
        return true;
    case TN_TEXT:
        for (size_t i = 0; i < n->text.len; i++) {
            unsigned char c = (unsigned char)n->text.ptr[i];
            if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'))
                return false;
        }
        return true;
    default:
        return false;
    }
}

/* Tree.add: register a named tree in the set. */
static void add_tree(struct parser *p, struct sg_str name, struct tn *root)
{
    struct sg_tmpl *t = p->t;
    char q[300];

    for (uint32_t i = 0; i < t->ntrees; i++) {
        if (!sg_str_eq(t->trees[i].name, name))
            continue;
        if (is_empty_tree(t->trees[i].root)) {
            t->trees[i].root = root;
            return;
        }
        if (!is_empty_tree(root)) {
            quote_into(name.ptr, (uint32_t)name.len, q, sizeof(q));
            errorf(p, "template: multiple definition of template %s", q);
        }
        return;
    }
    if (t->ntrees == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 4;
        void *np = sg_arena_grow(p->a, t->trees, t->cap * sizeof(*t->trees),
                                 cap * sizeof(*t->trees));
        if (!np)
            poom(p);
        t->trees = np;
        t->cap = cap;
    }
    t->trees[t->ntrees].name = name;
    t->trees[t->ntrees].root = root;
    t->ntrees++;
}

/* state of one Tree while a nested tree ({{define}}, {{block}}) is parsed */
struct tree_state {
    struct tok token[3];
    int peek_count;
    struct sg_str *vars;
    uint32_t nvars, vars_cap;
    int range_depth;
    uint32_t action_line;
};

static void begin_tree(struct parser *p, struct tree_state *save)
{
    memcpy(save->token, p->token, sizeof(p->token));
    save->peek_count = p->peek_count;
    save->vars = p->vars;
    save->nvars = p->nvars;
    save->vars_cap = p->vars_cap;
    save->range_depth = p->range_depth;
    save->action_line = p->action_line;
    /* the new tree starts with its own look-ahead and only "$" */
    memset(p->token, 0, sizeof(p->token));
    p->token[0].line = save->token[0].line;
    p->peek_count = 0;
    p->vars = NULL;
    p->nvars = p->vars_cap = 0;
    p->range_depth = 0;
    p->action_line = 0;
    push_var(p, sg_str_c("$"));
}

static void end_tree(struct parser *p, const struct tree_state *save)
{
    memcpy(p->token, save->token, sizeof(p->token));
    p->peek_count = save->peek_count;
    p->vars = save->vars;
    p->nvars = save->nvars;
    p->vars_cap = save->vars_cap;
    p->range_depth = save->range_depth;
    p->action_line = save->action_line;
}

static struct tn *block_control(struct parser *p)
{
    const char *context = "block clause";
    struct tok t = next_non_space(p);
    struct sg_str name = template_name(p, t, context);
    struct tn *pipe = pipeline(p, context, TK_RDELIM);
    struct tree_state save;
    struct tn *root, *end = NULL, *n;

    begin_tree(p, &save);
    root = item_list(p, &end);
    if (end->kind != TN_END) {
        end_tree(p, &save);
        errorf(p, "unexpected {{else}} in %s", context);
    }
    add_tree(p, name, root);
    end_tree(p, &save);
    n = new_node(p, TN_TEMPLATE, t.pos);
    n->line = t.line;
    n->text = name;
    n->pipe = pipe;
    return n;
}

static struct tn *template_control(struct parser *p)
{
    const char *context = "template clause";
    struct tok t = next_non_space(p);
    struct sg_str name = template_name(p, t, context);
    struct tn *pipe = NULL, *n;

    if (next_non_space(p).typ != TK_RDELIM) {
        tbackup(p);
        pipe = pipeline(p, context, TK_RDELIM);
    }
    n = new_node(p, TN_TEMPLATE, t.pos);
    n->line = t.line;
    n->text = name;
    n->pipe = pipe;
    return n;
}

static struct tn *action(struct parser *p)
{
    struct tok t = next_non_space(p);
    struct tn *n;

    switch (t.typ) {
    case TK_BLOCK:
        return block_control(p);
    case TK_BREAK:
    case TK_CONTINUE: {
        const char *ctx = t.typ == TK_BREAK ? "{{break}}" : "{{continue}}";
        struct tok nt = next_non_space(p);
        if (nt.typ != TK_RDELIM)
            unexpected(p, nt, ctx);
        if (p->range_depth == 0)
            errorf(p, "%s outside {{range}}", ctx);
        n = new_node(p, t.typ == TK_BREAK ? TN_BREAK : TN_CONTINUE, t.pos);
        n->line = t.line;
        return n;
    }
    case TK_ELSE: {
        struct tok pk = peek_non_space(p);
        if (pk.typ == TK_IF) {
            n = new_node(p, TN_ELSE, pk.pos);
            n->line = pk.line;
            return n;
        }
        pk = expect(p, TK_RDELIM, "else");
        n = new_node(p, TN_ELSE, pk.pos);
        n->line = pk.line;
        return n;
    }
    case TK_END:
        return new_node(p, TN_END, expect(p, TK_RDELIM, "end").pos);
    case TK_IF:
        return if_control(p);
    case TK_RANGE:
        return parse_control(p, false, "range", TN_RANGE);
    case TK_TEMPLATE:
        return template_control(p);
    case TK_WITH:
        return parse_control(p, false, "with", TN_WITH);
    default:
        break;
    }
    tbackup(p);
    t = tpeek(p);
    n = new_node(p, TN_ACTION, t.pos);
    n->line = t.line;
    n->pipe = pipeline(p, "command", TK_RDELIM);
    return n;
}

static struct tn *text_or_action(struct parser *p)
{
    struct tok t = next_non_space(p);
    struct tn *n;

    switch (t.typ) {
    case TK_TEXT:
        n = new_node(p, TN_TEXT, t.pos);
        n->text = t.val;
        return n;
    case TK_LDELIM:
        p->action_line = t.line;
        enter(p, t.pos);
        n = action(p);
        leave(p);
        p->action_line = 0;
        return n;
    default:
        unexpected(p, t, "input");
    }
}

static struct tn *item_list(struct parser *p, struct tn **next)
{
    struct tn *list = new_node(p, TN_LIST, peek_non_space(p).pos);

    while (peek_non_space(p).typ != TK_EOF) {
        struct tn *n = text_or_action(p);
        if (n->kind == TN_END || n->kind == TN_ELSE) {
            *next = n;
            return list;
        }
        list_append(p, &list->list, n);
    }
    errorf(p, "unexpected EOF");
    return NULL;
}

static void parse_definition(struct parser *p)
{
    const char *context = "define clause";
    struct tok t;
    struct sg_str name;
    struct tn *root, *end = NULL;

    t = next_non_space(p);
    if (t.typ != TK_STRING && t.typ != TK_RAW_STRING)
        unexpected(p, t, context);
    if (!unquote(p, t.val, &name))
        errorf(p, "invalid syntax");
    expect(p, TK_RDELIM, context);
    root = item_list(p, &end);
    if (end->kind != TN_END)
        errorf(p, "unexpected {{else}} in %s", context);
    add_tree(p, name, root);
}

static void parse_top(struct parser *p)
{
    struct tn *root = new_node(p, TN_LIST, tpeek(p).pos);

    p->t->root = root;
    while (tpeek(p).typ != TK_EOF) {
        struct tn *n;
        if (tpeek(p).typ == TK_LDELIM) {
            struct tok delim = tnext(p);
            if (next_non_space(p).typ == TK_DEFINE) {
                struct tree_state save;
                begin_tree(p, &save);
                parse_definition(p);
                end_tree(p, &save);
                continue;
            }
            tbackup2(p, delim);
        }
        n = text_or_action(p);
        if (n->kind == TN_END)
            errorf(p, "unexpected {{end}}");
        if (n->kind == TN_ELSE)
            errorf(p, "unexpected {{else}}");
        list_append(p, &root->list, n);
    }
    add_tree(p, sg_str_c(p->name), root);
    /* the top-level tree is the one registered under the name */
    for (uint32_t i = 0; i < p->t->ntrees; i++) {
        if (sg_str_eq_c(p->t->trees[i].name, p->name))
            p->t->root = p->t->trees[i].root;
    }
}

static int run_parser(struct parser *p)
{
    if (setjmp(p->jb) != 0)
        return p->code;
    push_var(p, sg_str_c("$"));
    parse_top(p);
    return SG_OK;
}

int sg_tmpl_parse(struct sg_str text, const char *name, struct sg_arena *arena,
                  const struct sg_tmpl_limits *limits, struct sg_tmpl **out, struct sg_err *err)
{
    struct sg_tmpl *t;
    struct lexer l;
    struct parser p;
    char *copy;
    int rc;

    t = sg_arena_alloc(arena, sizeof(*t));
    if (!t)
        return sg_err_set(err, SG_ENOMEM, "template: out of memory");
    t->lim.max_len = limits && limits->max_len ? limits->max_len : DEF_MAX_LEN;
    t->lim.max_depth = limits && limits->max_depth ? limits->max_depth : DEF_MAX_DEPTH;
    t->lim.max_nodes = limits && limits->max_nodes ? limits->max_nodes : DEF_MAX_NODES;
    t->lim.max_output = limits && limits->max_output ? limits->max_output : DEF_MAX_OUT;
    t->lim.max_steps = limits && limits->max_steps ? limits->max_steps : DEF_MAX_STEPS;
    t->name = sg_arena_strdup(arena, name ? name : "");
    if (!t->name)
        return sg_err_set(err, SG_ENOMEM, "template: out of memory");
    if (text.len > t->lim.max_len)
        return sg_err_set(err, SG_ELIMIT, "template: %s: template longer than %u bytes", t->name,
                          t->lim.max_len);
    copy = sg_arena_strndup(arena, text.ptr ? text.ptr : "", text.len);
    if (!copy)
        return sg_err_set(err, SG_ENOMEM, "template: out of memory");
    t->text = sg_str_make(copy, text.len);

    memset(&l, 0, sizeof(l));
    l.in = copy;
    l.len = (uint32_t)text.len;
    l.a = arena;
    l.max = t->lim.max_nodes * 2 + 16;
    lex_all(&l);
    if (l.oom)
        return sg_err_set(err, SG_ENOMEM, "template: out of memory");
    if (l.over)
        return sg_err_set(err, SG_ELIMIT, "template: %s: more than %u tokens", t->name, l.max);

    memset(&p, 0, sizeof(p));
    p.t = t;
    p.a = arena;
    p.name = t->name;
    p.toks = l.toks;
    p.ntoks = l.ntoks;
    p.err = err;
    p.token[0].line = 1;
    rc = run_parser(&p);
    if (rc != SG_OK)
        return rc;
    *out = t;
    return SG_OK;
}

/* ---- Node.String() ------------------------------------------------------------------------ */

static int put(struct sg_buf *b, struct sg_str s)
{
    return sg_buf_append(b, s.ptr, s.len);
}

int sg_tmpl__node_string(const struct tn *n, struct sg_buf *out)
{
    int rc = SG_OK;

    switch (n->kind) {
    case TN_TEXT:
        return put(out, n->text);
    case TN_ACTION:
        if ((rc = sg_buf_puts(out, "{{")) != SG_OK || (rc = sg_tmpl__node_string(n->pipe, out)))
            return rc;
        return sg_buf_puts(out, "}}");
    case TN_BOOL:
        return sg_buf_puts(out, n->b ? "true" : "false");
    case TN_CHAIN:
        if (n->pipe->kind == TN_PIPE) {
            if ((rc = sg_buf_putc(out, '(')) || (rc = sg_tmpl__node_string(n->pipe, out)) ||
                (rc = sg_buf_putc(out, ')')))
                return rc;
        } else if ((rc = sg_tmpl__node_string(n->pipe, out)) != SG_OK) {
            return rc;
        }
        for (uint32_t i = 0; i < n->nidents; i++) {
            if ((rc = sg_buf_putc(out, '.')) || (rc = put(out, n->idents[i])))
                return rc;
        }
        return SG_OK;
    case TN_COMMAND:
        for (uint32_t i = 0; i < n->list.n; i++) {
            const struct tn *a = n->list.v[i];
            if (i > 0 && (rc = sg_buf_putc(out, ' ')))
                return rc;
            if (a->kind == TN_PIPE) {
                if ((rc = sg_buf_putc(out, '(')) || (rc = sg_tmpl__node_string(a, out)) ||
                    (rc = sg_buf_putc(out, ')')))
                    return rc;
            } else if ((rc = sg_tmpl__node_string(a, out)) != SG_OK) {
                return rc;
            }
        }
        return SG_OK;
    case TN_DOT:
        return sg_buf_putc(out, '.');
    case TN_ELSE:
        return sg_buf_puts(out, "{{else}}");
    case TN_END:
        return sg_buf_puts(out, "{{end}}");
    case TN_FIELD:
        for (uint32_t i = 0; i < n->nidents; i++) {
            if ((rc = sg_buf_putc(out, '.')) || (rc = put(out, n->idents[i])))
                return rc;
        }
        return SG_OK;
    case TN_VARIABLE:
        for (uint32_t i = 0; i < n->nidents; i++) {
            if ((i > 0 && (rc = sg_buf_putc(out, '.'))) || (rc = put(out, n->idents[i])))
                return rc;
        }
        return SG_OK;
    case TN_IDENT:
        return put(out, n->text);
    case TN_IF:
    case TN_RANGE:
    case TN_WITH: {
        const char *name = n->kind == TN_IF ? "if" : n->kind == TN_RANGE ? "range" : "with";
        if ((rc = sg_buf_appendf(out, "{{%s ", name)) || (rc = sg_tmpl__node_string(n->pipe, out)) ||
            (rc = sg_buf_puts(out, "}}")) || (rc = sg_tmpl__node_string(n->body, out)))
            return rc;
        if (n->else_body &&
            ((rc = sg_buf_puts(out, "{{else}}")) || (rc = sg_tmpl__node_string(n->else_body, out))))
            return rc;
        return sg_buf_puts(out, "{{end}}");
    }
    case TN_LIST:
        for (uint32_t i = 0; i < n->list.n; i++) {
            if ((rc = sg_tmpl__node_string(n->list.v[i], out)) != SG_OK)
                return rc;
        }
        return SG_OK;
    case TN_NIL:
        return sg_buf_puts(out, "nil");
    case TN_NUMBER:
        return put(out, n->text);
    case TN_PIPE:
        if (n->decl.n > 0) {
            for (uint32_t i = 0; i < n->decl.n; i++) {
                if ((i > 0 && (rc = sg_buf_puts(out, ", "))) ||
                    (rc = sg_tmpl__node_string(n->decl.v[i], out)))
                    return rc;
            }
            if ((rc = sg_buf_puts(out, n->is_assign ? " = " : " := ")) != SG_OK)
                return rc;
        }
        for (uint32_t i = 0; i < n->list.n; i++) {
            if ((i > 0 && (rc = sg_buf_puts(out, " | "))) ||
                (rc = sg_tmpl__node_string(n->list.v[i], out)))
                return rc;
        }
        return SG_OK;
    case TN_STRING:
        return put(out, n->quoted);
    case TN_TEMPLATE:
        if ((rc = sg_buf_puts(out, "{{template ")) || (rc = sg_tmpl__quote(n->text, false, out)))
            return rc;
        if (n->pipe &&
            ((rc = sg_buf_putc(out, ' ')) || (rc = sg_tmpl__node_string(n->pipe, out))))
            return rc;
        return sg_buf_puts(out, "}}");
    case TN_COMMENT:
        return SG_OK;
    case TN_BREAK:
        return sg_buf_puts(out, "{{break}}");
    case TN_CONTINUE:
        return sg_buf_puts(out, "{{continue}}");
    }
    return rc;
}

/* ---- what the renderer cannot do ------------------------------------------------------------ */

struct unsup {
    const char *what;
    uint32_t off;
    char buf[96];
};

static bool find_unsup(const struct tn *n, struct unsup *u)
{
    if (!n)
        return false;
    switch (n->kind) {
    case TN_RANGE:
        u->what = "{{range}}";
        u->off = n->pos;
        return true;
    case TN_TEMPLATE:
        u->what = "{{template}}";
        u->off = n->pos;
        return true;
    case TN_BREAK:
    case TN_CONTINUE:
        u->what = n->kind == TN_BREAK ? "{{break}}" : "{{continue}}";
        u->off = n->pos;
        return true;
    case TN_NUMBER:
        if (n->is_complex) {
            u->what = "complex number";
            u->off = n->pos;
            return true;
        }
        return false;
    case TN_IDENT: {
        const struct tf_def *f = sg_tmpl__func_find(n->text);
        if (f && !f->supported) {
            snprintf(u->buf, sizeof(u->buf), "function \"%.*s\"", (int)n->text.len, n->text.ptr);
            u->what = u->buf;
            u->off = n->pos;
            return true;
        }
        return false;
    }
    case TN_ACTION:
    case TN_CHAIN:
        return find_unsup(n->pipe, u);
    case TN_IF:
    case TN_WITH:
        return find_unsup(n->pipe, u) || find_unsup(n->body, u) || find_unsup(n->else_body, u);
    case TN_PIPE:
    case TN_LIST:
    case TN_COMMAND:
        for (uint32_t i = 0; i < n->list.n; i++) {
            if (find_unsup(n->list.v[i], u))
                return true;
        }
        return false;
    default:
        return false;
    }
}

bool sg_tmpl_find_unsupported(const struct sg_tmpl *t, char *what, size_t what_len,
                              uint32_t *off)
{
    struct unsup u;

    memset(&u, 0, sizeof(u));
    if (!t || !find_unsup(t->root, &u))
        return false;
    if (what && what_len)
        snprintf(what, what_len, "%s", u.what);
    if (off)
        *off = u.off;
    return true;
}
