/* src/labels/re2syntax.c - RE2 (Go regexp/syntax, Perl flags) parser that
 * rewrites a pattern into an equivalent PCRE2 pattern.
 *
 * Prometheus 2.42 builds a matcher's regex with regexp.Compile("^(?:" + re
 * + ")$") and then parses re alone once more; an error from either is the
 * matcher's error. We do the same two passes, so the first error found and
 * its text (the "expr" after the colon) are Go's: for example
 *   error parsing regexp: invalid or unsupported Perl syntax: `(?=`
 *   error parsing regexp: missing closing ): `^(?:(a)$`
 *
 * The output never relies on PCRE2 features whose meaning differs from
 * RE2's: every literal is written as itself or \x{..}; Perl classes (\d \s
 * \w) and POSIX classes are written as explicit ASCII ranges (RE2's \s has
 * no \v); `.` becomes [^\n] or (?s:.); anchors become \A, \z and, under
 * (?m), look-arounds for "after \n" / "before \n"; case folding wraps the
 * atom in (?i:..); the non-greedy flag (?U) is applied by writing the
 * quantifier's form explicitly. Named groups are written as plain groups
 * (PCRE2 restricts names more than Go does) and their names are kept in the
 * fast-path record.
 *
 * Also decides the fast path (labels_int.h) from the top level of the
 * pattern: alternations of plain literals become a set lookup, a literal
 * prefix followed by `.*` a prefix test, and any leading literal a prefix
 * pre-check before PCRE2 runs.
 *
 * Known differences from Go, all on inputs Prometheus users do not write:
 * \p classes use PCRE2's Unicode tables (a newer Unicode version than Go
 * 1.19's); under (?i), \p{Lu}, \p{Ll} and \p{Lt} become all cased letters
 * (Go adds exactly the case-fold closure) and other classes are not
 * folded; bytes that
 * are not UTF-8 in a label value never match `.` or a negated class (Go
 * treats each as U+FFFD).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/labels.h"

#include "labels_int.h"

#define F_FOLD      1u /* (?i) */
#define F_DOTNL     2u /* (?s) */
#define F_ONELINE   4u /* not (?m): ^ $ are text anchors */
#define F_NONGREEDY 8u /* (?U) */

#define MAX_DEPTH 1000
#define MAX_LITS  4096

enum desc_kind { D_LIT, D_DOT, D_DOTSTAR, D_OTHER };

struct desc {
    enum desc_kind kind;
    uint32_t rune; /* D_LIT */
    bool dot_nl;   /* D_DOT, D_DOTSTAR: the dot matches '\n' */
};

struct rp {
    const char *s; /* the whole text being parsed */
    size_t len;
    size_t pos;
    unsigned flags;
    int depth;
    uint32_t alt_need; /* Go's repeat budget needed by the last alternation */
    uint32_t ncap;
    struct sg_buf *out; /* NULL: check only */
    struct sg_err *err;
    int rc;
    bool analyze; /* collect top-level descriptors */
    /* top-level analysis: descriptors of the current alternative, and the
     * alternatives seen so far */
    struct desc *d;
    size_t nd, capd;
    bool d_overflow;
    struct sg_buf lits; /* all-literal alternatives, each preceded by a u32 length */
    size_t nalts;
    bool all_lit;
    /* the first alternative's shape (used when it is the only one) */
    enum sg_re2_fast_kind shape;
    bool shape_dot_nl;
    struct sg_buf prefix, suffix, mid;
    /* group names, index = group number - 1 */
    struct sg_str *names;
    size_t nnames, capnames;
};

static const char *const go_categories[] = {
    "C",  "Cc", "Cf", "Co", "Cs", "L",  "Ll", "Lm", "Lo", "Lt", "Lu", "M",
    "Mc", "Me", "Mn", "N",  "Nd", "Nl", "No", "P",  "Pc", "Pd", "Pe", "Pf",
    "Pi", "Po", "Ps", "S",  "Sc", "Sk", "Sm", "So", "Z",  "Zl", "Zp", "Zs",
};

/* Scripts known to Go 1.19 (Unicode 13.0). */
static const char *const go_scripts[] = {
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Ugaritic",
    "Vai",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
};

/* ASCII class tables as inclusive ranges. */
struct cls {
    const char *name;
    uint8_t r[10][2];
    int n;
};

static const struct cls perl_classes[] = {
    {"d", {{'0', '9'}}, 1},
    {"s", {{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}}, 3},
    {"w", {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}, 4},
};

static const struct cls posix_classes[] = {
    {"alnum", {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}}, 3},
    {"alpha", {{'A', 'Z'}, {'a', 'z'}}, 2},
    {"ascii", {{0, 0x7F}}, 1},
    {"blank", {{'\t', '\t'}, {' ', ' '}}, 2},
    {"cntrl", {{0, 0x1F}, {0x7F, 0x7F}}, 2},
    {"digit", {{'0', '9'}}, 1},
    {"graph", {{'!', '~'}}, 1},
    {"lower", {{'a', 'z'}}, 1},
    {"print", {{' ', '~'}}, 1},
    {"punct", {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}}, 4},
    {"space", {{'\t', '\r'}, {' ', ' '}}, 2},
    {"upper", {{'A', 'Z'}}, 1},
    {"word", {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}, 4},
    {"xdigit", {{'0', '9'}, {'A', 'F'}, {'a', 'f'}}, 3},
};

/* ---- errors ------------------------------------------------------------- */

static int fail(struct rp *p, const char *code, const char *expr, size_t n)
{
    if (p->rc == SG_OK)
        p->rc = sg_err_set(p->err, SG_EPARSE, "error parsing regexp: %s: `%.*s`", code,
                           (int)(n > 300 ? 300 : n), expr);
    return p->rc;
}

static int fail_span(struct rp *p, const char *code, size_t from, size_t to)
{
    return fail(p, code, p->s + from, to - from);
}

static int oom(struct rp *p)
{
    if (p->rc == SG_OK)
        p->rc = sg_err_set(p->err, SG_ENOMEM, "translating regex");
    return p->rc;
}

/* ---- output ------------------------------------------------------------- */

static void emit(struct rp *p, const char *t, size_t n)
{
    if (p->out && p->rc == SG_OK && sg_buf_append(p->out, t, n) != SG_OK) {
        p->rc = sg_err_set(p->err, SG_ELIMIT, "regex too large after translation");
    }
}

static void emits(struct rp *p, const char *t)
{
    emit(p, t, strlen(t));
}

/* A code point as a literal that means itself in and outside classes. */
static void emit_rune(struct rp *p, uint32_t r)
{
    char tmp[16];

    if (r >= 0xD800 && r <= 0xDFFF) {
        /* a surrogate never occurs in UTF-8 text; PCRE2 refuses to name one */
        emits(p, "(?!)");
        return;
    }
    if ((r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
        tmp[0] = (char)r;
        emit(p, tmp, 1);
    } else if (r >= 0x80 && r != SG_RUNE_ERROR) {
        emit(p, tmp, sg_utf8_encode(r, tmp));
    } else {
        static const char hx[] = "0123456789ABCDEF";
        size_t n = 0;
        int sh = 20;
        tmp[n++] = '\\';
        tmp[n++] = 'x';
        tmp[n++] = '{';
        while (sh > 0 && ((r >> sh) & 0xF) == 0)
            sh -= 4;
        for (; sh >= 0; sh -= 4)
            tmp[n++] = hx[(r >> sh) & 0xF];
        tmp[n++] = '}';
        emit(p, tmp, n);
    }
}

static void emit_range(struct rp *p, uint32_t lo, uint32_t hi)
{
    if (lo >= 0xD800 && lo <= 0xDFFF)
        lo = 0xE000;
    if (hi >= 0xD800 && hi <= 0xDFFF)
        hi = 0xD7FF;
    if (lo > hi) {
        if (lo == 0xE000 && hi == 0xD7FF)
            return; /* only surrogates */
    }
    if (lo > hi)
        return;
    emit_rune(p, lo);
    if (hi != lo) {
        emit(p, "-", 1);
        emit_rune(p, hi);
    }
}

static size_t out_len(const struct rp *p)
{
    return p->out ? p->out->len : 0;
}

/* Insert text at offset `at` of the output (wrapping the last atom). */
static void insert_at(struct rp *p, size_t at, const char *t, size_t n)
{
    size_t old;

    if (!p->out || p->rc != SG_OK)
        return;
    old = p->out->len;
    if (sg_buf_reserve(p->out, n) != SG_OK) {
        p->rc = sg_err_set(p->err, SG_ELIMIT, "regex too large after translation");
        return;
    }
    memmove(p->out->data + at + n, p->out->data + at, old - at);
    memcpy(p->out->data + at, t, n);
    p->out->len = old + n;
    p->out->data[p->out->len] = '\0';
}

/* ---- top-level analysis -------------------------------------------------- */

static void add_desc(struct rp *p, enum desc_kind k, uint32_t rune)
{
    if (!p->analyze || p->depth != 1 || p->d_overflow)
        return;
    if (p->nd == p->capd) {
        size_t ncap = p->capd ? p->capd * 2 : 32;
        struct desc *nd;
        if (ncap > 1u << 20) {
            p->d_overflow = true;
            return;
        }
        nd = sg_reallocarray(p->d, ncap, sizeof(*nd));
        if (!nd) {
            p->d_overflow = true;
            return;
        }
        p->d = nd;
        p->capd = ncap;
    }
    p->d[p->nd].kind = k;
    p->d[p->nd].rune = rune;
    p->d[p->nd].dot_nl = false;
    p->nd++;
}

/* Literal runes d[from..to) as UTF-8 appended to b; false when that fails
 * or (no_nl) a literal is '\n'. */
static bool append_lits(const struct rp *p, size_t from, size_t to, struct sg_buf *b, bool no_nl)
{
    char enc[4];

    for (size_t i = from; i < to; i++) {
        if (no_nl && p->d[i].rune == '\n')
            return false;
        if (sg_buf_append(b, enc, sg_utf8_encode(p->d[i].rune, enc)) != SG_OK)
            return false;
    }
    return true;
}

/* The shape of the first alternative: leading and trailing literal runs
 * and the literal-with-.* forms. */
static void first_shape(struct rp *p)
{
    const struct desc *d = p->d;
    size_t nd = p->nd, lead = 0, trail = 0;

    while (lead < nd && d[lead].kind == D_LIT)
        lead++;
    while (trail < nd - lead && d[nd - 1 - trail].kind == D_LIT)
        trail++;
    p->shape = SG_FAST_NONE;
    if (lead == nd)
        return; /* all literal: the set lookup */
    if (lead + 1 == nd && d[lead].kind == D_DOTSTAR) {
        if (append_lits(p, 0, lead, &p->prefix, false)) {
            p->shape = SG_FAST_PREFIX;
            p->shape_dot_nl = d[lead].dot_nl;
        }
        return;
    }
    if (d[0].kind == D_DOTSTAR && trail + 1 == nd) {
        if (append_lits(p, 1, nd, &p->suffix, false)) {
            p->shape = SG_FAST_SUFFIX;
            p->shape_dot_nl = d[0].dot_nl;
        }
        return;
    }
    if (nd >= 3 && d[0].kind == D_DOTSTAR && d[nd - 1].kind == D_DOTSTAR &&
        d[0].dot_nl == d[nd - 1].dot_nl) {
        size_t i = 1;
        while (i < nd - 1 && d[i].kind == D_LIT)
            i++;
        if (i == nd - 1 && append_lits(p, 1, nd - 1, &p->mid, !d[0].dot_nl)) {
            p->shape = SG_FAST_CONTAINS;
            p->shape_dot_nl = d[0].dot_nl;
            return;
        }
        sg_buf_reset(&p->mid);
    }
    /* prefilters only */
    if (!append_lits(p, 0, lead, &p->prefix, false))
        sg_buf_reset(&p->prefix);
    if (!append_lits(p, nd - trail, nd, &p->suffix, false))
        sg_buf_reset(&p->suffix);
}

/* The current top-level alternative is complete. */
static void end_alternative(struct rp *p)
{
    size_t i;
    bool lit = true;

    if (!p->analyze || p->depth != 1)
        return;
    if (p->d_overflow) {
        p->all_lit = false;
        p->shape = SG_FAST_NONE;
        p->nalts++;
        return;
    }
    for (i = 0; i < p->nd; i++)
        if (p->d[i].kind != D_LIT)
            lit = false;
    if (lit && p->all_lit) {
        uint32_t n = 0;
        char enc[4];
        size_t at = p->lits.len;
        if (sg_buf_append(&p->lits, &n, sizeof(n)) != SG_OK) {
            p->all_lit = false;
        } else {
            for (i = 0; i < p->nd && p->all_lit; i++) {
                size_t w = sg_utf8_encode(p->d[i].rune, enc);
                if (sg_buf_append(&p->lits, enc, w) != SG_OK)
                    p->all_lit = false;
                n += (uint32_t)w;
            }
            if (p->all_lit)
                memcpy(p->lits.data + at, &n, sizeof(n));
        }
    } else {
        p->all_lit = false;
    }
    if (p->nalts == 0)
        first_shape(p);
    p->nalts++;
    p->nd = 0;
}

/* ---- the parser ---------------------------------------------------------- */

static bool at_end(const struct rp *p)
{
    return p->pos >= p->len;
}

static int next_rune(struct rp *p, uint32_t *r)
{
    size_t w;

    *r = sg_utf8_decode(p->s + p->pos, p->len - p->pos, &w);
    if (*r == SG_RUNE_ERROR && w == 1)
        return fail_span(p, "invalid UTF-8", p->pos, p->len);
    p->pos += w;
    return SG_OK;
}

static bool check_utf8(struct rp *p, size_t from, size_t to)
{
    size_t i = from;

    while (i < to) {
        size_t w;
        uint32_t r = sg_utf8_decode(p->s + i, to - i, &w);
        if (r == SG_RUNE_ERROR && w == 1) {
            fail_span(p, "invalid UTF-8", i, p->len);
            return false;
        }
        i += w;
    }
    return true;
}

static bool is_alnum(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A single-character escape at p->pos ('\\'); Go's parseEscape. */
static int parse_escape(struct rp *p, uint32_t *out)
{
    size_t start = p->pos;
    uint32_t c;

    p->pos++;
    if (at_end(p))
        return fail(p, "trailing backslash at end of expression", "", 0);
    if (next_rune(p, &c) != SG_OK)
        return p->rc;
    switch (c) {
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
        if (at_end(p) || p->s[p->pos] < '0' || p->s[p->pos] > '7')
            break;
        /* fall through */
    case '0': {
        uint32_t r = c - '0';
        for (int i = 1; i < 3; i++) {
            if (at_end(p) || p->s[p->pos] < '0' || p->s[p->pos] > '7')
                break;
            r = r * 8 + (uint32_t)(p->s[p->pos] - '0');
            p->pos++;
        }
        *out = r;
        return SG_OK;
    }
    case 'x': {
        int x, y;
        if (at_end(p))
            break;
        if (next_rune(p, &c) != SG_OK)
            return p->rc;
        if (c == '{') {
            int nhex = 0;
            uint32_t r = 0;
            for (;;) {
                int v;
                if (at_end(p))
                    goto invalid;
                if (next_rune(p, &c) != SG_OK)
                    return p->rc;
                if (c == '}')
                    break;
                v = sg_hex_digit(c);
                if (v < 0)
                    goto invalid;
                r = r * 16 + (uint32_t)v;
                if (r > 0x10FFFF)
                    goto invalid;
                nhex++;
            }
            if (nhex == 0)
                goto invalid;
            *out = r;
            return SG_OK;
        }
        x = sg_hex_digit(c);
        if (at_end(p)) {
            /* Go's nextRune on "" yields RuneError without an error */
            goto invalid;
        }
        if (next_rune(p, &c) != SG_OK)
            return p->rc;
        y = sg_hex_digit(c);
        if (x < 0 || y < 0)
            break;
        *out = (uint32_t)(x * 16 + y);
        return SG_OK;
    }
    case 'a':
        *out = '\a';
        return SG_OK;
    case 'f':
        *out = '\f';
        return SG_OK;
    case 'n':
        *out = '\n';
        return SG_OK;
    case 'r':
        *out = '\r';
        return SG_OK;
    case 't':
        *out = '\t';
        return SG_OK;
    case 'v':
        *out = '\v';
        return SG_OK;
    default:
        if (c < 0x80 && !is_alnum(c)) {
            *out = c;
            return SG_OK;
        }
        break;
    }
invalid:
    return fail_span(p, "invalid escape sequence", start, p->pos);
}

static const struct cls *find_cls(const struct cls *t, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(t[i].name) == len && memcmp(t[i].name, name, len) == 0)
            return &t[i];
    return NULL;
}

/* Append the ranges of an ASCII class, or of its complement over all code
 * points, as class items. */
static void emit_cls_items(struct rp *p, const struct cls *c, bool negate)
{
    if (!negate) {
        for (int i = 0; i < c->n; i++)
            emit_range(p, c->r[i][0], c->r[i][1]);
        return;
    }
    uint32_t next = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->r[i][0] > next)
            emit_range(p, next, c->r[i][0] - 1u);
        next = c->r[i][1] + 1u;
    }
    emit_range(p, next, 0x10FFFF);
}

static bool is_go_class_name(const char *name, size_t len)
{
    if (len == 3 && memcmp(name, "Any", 3) == 0)
        return true;
    for (size_t i = 0; i < SG_ARRAY_LEN(go_categories); i++)
        if (strlen(go_categories[i]) == len && memcmp(go_categories[i], name, len) == 0)
            return true;
    for (size_t i = 0; i < SG_ARRAY_LEN(go_scripts); i++)
        if (strlen(go_scripts[i]) == len && memcmp(go_scripts[i], name, len) == 0)
            return true;
    return false;
}

/* \p{..} / \P{..} / \pX at p->pos. Returns SG_OK and sets *done when one
 * was parsed; in_class writes items for inside [...]. Go's
 * parseUnicodeClass. */
static int parse_unicode_class(struct rp *p, bool in_class, bool *done)
{
    size_t start = p->pos, name_from, name_to, seq_end;
    bool neg = p->s[p->pos + 1] == 'P';
    uint32_t c;
    size_t w;

    *done = false;
    p->pos += 2;
    c = sg_utf8_decode(p->s + p->pos, p->len - p->pos, &w);
    if (c == SG_RUNE_ERROR && w == 1)
        return fail_span(p, "invalid UTF-8", p->pos, p->len);
    if (c != '{') {
        name_from = p->pos;
        p->pos += w;
        name_to = seq_end = p->pos;
    } else {
        const char *close = memchr(p->s + start, '}', p->len - start);
        if (!close) {
            if (!check_utf8(p, start, p->len))
                return p->rc;
            return fail_span(p, "invalid character class range", start, p->len);
        }
        seq_end = (size_t)(close - p->s) + 1;
        name_from = start + 3;
        name_to = seq_end - 1;
        if (!check_utf8(p, name_from, name_to))
            return p->rc;
        p->pos = seq_end;
    }
    if (name_to > name_from && p->s[name_from] == '^') {
        neg = !neg;
        name_from++;
    }
    if (!is_go_class_name(p->s + name_from, name_to - name_from))
        return fail_span(p, "invalid character class range", start, seq_end);
    *done = true;
    if (!p->out)
        return SG_OK;
    if (name_to - name_from == 3 && memcmp(p->s + name_from, "Any", 3) == 0) {
        if (in_class) {
            if (!neg)
                emit_range(p, 0, 0x10FFFF);
        } else {
            emits(p, neg ? "(?!)" : "(?s:.)");
        }
        return SG_OK;
    }
    if (name_to - name_from == 1 && p->s[name_from] == 'C' && !(in_class && neg)) {
        /* Go's C is Cc|Cf|Co|Cs; PCRE2's also has unassigned code points */
        if (!in_class)
            emits(p, neg ? "[^" : "[");
        emits(p, "\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}");
        if (!in_class)
            emits(p, "]");
        return SG_OK;
    }
    if ((p->flags & F_FOLD) && name_to - name_from == 2 && p->s[name_from] == 'L' &&
        (p->s[name_from + 1] == 'u' || p->s[name_from + 1] == 'l' || p->s[name_from + 1] == 't')) {
        /* Go adds the case-fold closure under (?i); for the cased letter
         * categories that is (nearly) all cased letters */
        emits(p, neg ? "\\P{L&}" : "\\p{L&}");
        return SG_OK;
    }
    emits(p, neg ? "\\P{" : "\\p{");
    emit(p, p->s + name_from, name_to - name_from);
    emits(p, "}");
    return SG_OK;
}

/* [...] at p->pos; Go's parseClass. */
static int parse_class(struct rp *p)
{
    size_t start = p->pos;
    bool first = true, fold = (p->flags & F_FOLD) != 0;

    p->pos++;
    if (fold)
        emits(p, "(?i:");
    emits(p, "[");
    if (!at_end(p) && p->s[p->pos] == '^') {
        p->pos++;
        emits(p, "^");
    }
    while (at_end(p) || p->s[p->pos] != ']' || first) {
        uint32_t lo, hi;
        size_t rng;
        bool done;

        first = false;
        if (at_end(p))
            return fail_span(p, "missing closing ]", start, p->len);
        /* POSIX [:alpha:] */
        if (p->len - p->pos > 2 && p->s[p->pos] == '[' && p->s[p->pos + 1] == ':') {
            const char *end = NULL;
            for (size_t i = p->pos + 2; i + 1 < p->len; i++)
                if (p->s[i] == ':' && p->s[i + 1] == ']') {
                    end = p->s + i;
                    break;
                }
            if (end) {
                size_t nfrom = p->pos + 2, nto = (size_t)(end - p->s);
                bool neg = nto > nfrom && p->s[nfrom] == '^';
                const struct cls *c = find_cls(posix_classes, SG_ARRAY_LEN(posix_classes),
                                               p->s + nfrom + neg, nto - nfrom - neg);
                if (!c)
                    return fail_span(p, "invalid character class range", p->pos, nto + 2);
                emit_cls_items(p, c, neg);
                p->pos = nto + 2;
                continue;
            }
        }
        if (p->len - p->pos >= 2 && p->s[p->pos] == '\\' &&
            (p->s[p->pos + 1] == 'p' || p->s[p->pos + 1] == 'P')) {
            if (parse_unicode_class(p, true, &done) != SG_OK)
                return p->rc;
            if (done)
                continue;
        }
        if (p->len - p->pos >= 2 && p->s[p->pos] == '\\') {
            char k = p->s[p->pos + 1];
            char lk = (char)(k | 0x20);
            const struct cls *c =
                (k == 'd' || k == 'D' || k == 's' || k == 'S' || k == 'w' || k == 'W')
                    ? find_cls(perl_classes, SG_ARRAY_LEN(perl_classes), &lk, 1)
                    : NULL;
            if (c) {
                emit_cls_items(p, c, k != lk);
                p->pos += 2;
                continue;
            }
        }
        rng = p->pos;
        if (p->s[p->pos] == '\\') {
            if (parse_escape(p, &lo) != SG_OK)
                return p->rc;
        } else if (next_rune(p, &lo) != SG_OK) {
            return p->rc;
        }
        hi = lo;
        if (p->len - p->pos >= 2 && p->s[p->pos] == '-' && p->s[p->pos + 1] != ']') {
            p->pos++;
            if (at_end(p))
                return fail_span(p, "missing closing ]", start, p->len);
            if (p->s[p->pos] == '\\') {
                if (parse_escape(p, &hi) != SG_OK)
                    return p->rc;
            } else if (next_rune(p, &hi) != SG_OK) {
                return p->rc;
            }
            if (hi < lo)
                return fail_span(p, "invalid character class range", rng, p->pos);
        }
        emit_range(p, lo, hi);
    }
    p->pos++; /* ] */
    emits(p, "]");
    if (fold)
        emits(p, ")");
    return SG_OK;
}

static int parse_alternation(struct rp *p);

/* A literal rune as an atom, case-folded under the i flag. */
static void emit_literal(struct rp *p, uint32_t r)
{
    if (p->flags & F_FOLD)
        emits(p, "(?i:");
    emit_rune(p, r);
    if (p->flags & F_FOLD)
        emits(p, ")");
    add_desc(p, (p->flags & F_FOLD) ? D_OTHER : D_LIT, r);
}

/* A group after its opening: emits open, then the alternation up to the
 * closing ')' and ")", and restores the flags to saved. */
static int parse_group_body(struct rp *p, const char *open, unsigned saved)
{
    emits(p, open);
    if (++p->depth > MAX_DEPTH)
        return fail(p, "expression nests too deeply", p->s, p->len);
    if (parse_alternation(p) != SG_OK)
        return p->rc;
    p->depth--;
    if (at_end(p))
        return fail(p, "missing closing )", p->s, p->len);
    p->pos++;
    p->flags = saved;
    emits(p, ")");
    return SG_OK;
}

/* Parse {min,max}; Go's parseRepeat. *ok false when it is not a repeat
 * (then '{' is a literal). min -1 when a number is too big. */
static void parse_repeat(struct rp *p, size_t at, int *min, int *max, size_t *after, bool *ok)
{
    size_t i = at + 1;
    long v;

    *ok = false;
    /* parseInt: digits, no leading zero */
#define PARSE_INT(dst)                                                                             \
    do {                                                                                           \
        size_t d0 = i;                                                                             \
        if (i >= p->len || p->s[i] < '0' || p->s[i] > '9')                                         \
            return;                                                                                \
        if (i + 1 < p->len && p->s[i] == '0' && p->s[i + 1] >= '0' && p->s[i + 1] <= '9')          \
            return;                                                                                \
        v = 0;                                                                                     \
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')                                     \
            i++;                                                                                   \
        for (size_t k = d0; k < i; k++) {                                                          \
            if (v >= 100000000) {                                                                  \
                v = -1;                                                                            \
                break;                                                                             \
            }                                                                                      \
            v = v * 10 + (p->s[k] - '0');                                                          \
        }                                                                                          \
        dst = (int)v;                                                                              \
    } while (0)
    PARSE_INT(*min);
    if (i >= p->len)
        return;
    if (p->s[i] != ',') {
        *max = *min;
    } else {
        i++;
        if (i >= p->len)
            return;
        if (p->s[i] == '}') {
            *max = -1;
        } else {
            PARSE_INT(*max);
            if (*max < 0)
                *min = -1;
        }
    }
#undef PARSE_INT
    if (i >= p->len || p->s[i] != '}')
        return;
    *after = i + 1;
    *ok = true;
}

/* One concatenation (up to '|', ')' or the end). */
static int parse_concat(struct rp *p)
{
    size_t last_atom = (size_t)-1;   /* output offset of the last atom */
    int last_desc = -1;              /* its top-level descriptor, if any */
    size_t last_repeat = (size_t)-1; /* input offset where the previous token, a repeat, began */
    /* Go's repeatIsValid: the product of the counts of nested {m,n}
     * repeats on any path must stay within 1000; `need` is the smallest
     * budget an atom passes with (a repeat of count m needs m times its
     * operand's need, a count of 0 needs nothing) */
    uint32_t last_need = 0, rest_need = 0;
    while (!at_end(p) && p->s[p->pos] != '|' && p->s[p->pos] != ')') {
        size_t tok = p->pos;
        size_t repeat = (size_t)-1;
        char c = p->s[p->pos];
        size_t atom_at = out_len(p);
        bool atom = true;
        uint32_t atom_need = 0;

        if (c == '*' || c == '+' || c == '?' || c == '{') {
            int min = 0, max = -1;
            size_t after = p->pos + 1;
            bool greedy;
            char q[32];
            int qn;

            if (c == '{') {
                bool ok;
                parse_repeat(p, p->pos, &min, &max, &after, &ok);
                if (!ok)
                    goto literal_char;
                if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max))
                    return fail_span(p, "invalid repeat count", tok, after);
            } else {
                min = c == '+' ? 1 : 0;
                max = c == '?' ? 1 : -1;
            }
            greedy = !(p->flags & F_NONGREEDY);
            if (after < p->len && p->s[after] == '?') {
                after++;
                greedy = !greedy;
            }
            if (last_repeat != (size_t)-1)
                return fail_span(p, "invalid nested repetition operator", last_repeat, after);
            if (last_atom == (size_t)-1)
                return fail_span(p, "missing argument to repetition operator", tok, after);
            if (c == '{') {
                uint32_t m = (uint32_t)(max < 0 ? min : max);
                uint64_t need = m == 0 ? 0 : (uint64_t)m * (last_need > 1 ? last_need : 1);
                if ((min >= 2 || max >= 2) && need > 1000)
                    return fail_span(p, "invalid repeat count", tok, after);
                last_need = need > 1000000000 ? 1000000000 : (uint32_t)need;
            }
            if (c == '{')
                qn = max < 0 ? snprintf(q, sizeof(q), "){%d,}", min)
                             : snprintf(q, sizeof(q), "){%d,%d}", min, max);
            else
                qn = snprintf(q, sizeof(q), ")%c", c);
            if (!greedy)
                q[qn++] = '?';
            insert_at(p, last_atom, "(?:", 3);
            emit(p, q, (size_t)qn);
            if (last_desc >= 0 && p->analyze && p->depth == 1 && (size_t)last_desc < p->nd) {
                struct desc *d = &p->d[last_desc];
                if (d->kind == D_DOT && c == '*')
                    d->kind = D_DOTSTAR;
                else
                    d->kind = D_OTHER;
            }
            p->pos = after;
            repeat = tok;
            last_repeat = repeat;
            continue;
        }
        switch (c) {
        case '(':
            if (p->len - p->pos >= 2 && p->s[p->pos + 1] == '?') {
                /* named group (?P<name>...) */
                if (p->len - p->pos > 4 && p->s[p->pos + 2] == 'P' && p->s[p->pos + 3] == '<') {
                    const char *gt = memchr(p->s + p->pos, '>', p->len - p->pos);
                    size_t nfrom = p->pos + 4, nto;
                    unsigned saved = p->flags;
                    if (!gt) {
                        if (!check_utf8(p, p->pos, p->len))
                            return p->rc;
                        return fail_span(p, "invalid named capture", p->pos, p->len);
                    }
                    nto = (size_t)(gt - p->s);
                    if (!check_utf8(p, nfrom, nto))
                        return p->rc;
                    if (nto == nfrom)
                        return fail_span(p, "invalid named capture", p->pos, nto + 1);
                    for (size_t i = nfrom; i < nto; i++)
                        if (!is_alnum((unsigned char)p->s[i]) && p->s[i] != '_')
                            return fail_span(p, "invalid named capture", p->pos, nto + 1);
                    p->ncap++;
                    if (p->analyze && p->ncap <= 65535) {
                        if (p->ncap > p->capnames) {
                            size_t nc = p->capnames ? p->capnames * 2 : 8;
                            while (nc < p->ncap)
                                nc *= 2;
                            struct sg_str *nn = sg_reallocarray(p->names, nc, sizeof(*nn));
                            if (!nn)
                                return oom(p);
                            p->names = nn;
                            p->capnames = nc;
                        }
                        while (p->nnames < p->ncap - 1)
                            p->names[p->nnames++] = sg_str_make(NULL, 0);
                        p->names[p->nnames++] = sg_str_make(p->s + nfrom, nto - nfrom);
                    }
                    p->pos = nto + 1;
                    if (parse_group_body(p, "(", saved) != SG_OK)
                        return p->rc;
                    atom_need = p->alt_need;
                    break;
                }
                /* flags, maybe a non-capturing group */
                {
                    unsigned flags = p->flags, saved = p->flags;
                    int sign = 1;
                    bool saw = false;
                    p->pos += 2;
                    for (;;) {
                        uint32_t r;
                        if (at_end(p))
                            return fail_span(p, "invalid or unsupported Perl syntax", tok, p->pos);
                        if (next_rune(p, &r) != SG_OK)
                            return p->rc;
                        if (r == 'i') {
                            flags = sign > 0 ? flags | F_FOLD : flags & ~F_FOLD;
                            saw = true;
                        } else if (r == 'm') {
                            flags = sign > 0 ? flags & ~F_ONELINE : flags | F_ONELINE;
                            saw = true;
                        } else if (r == 's') {
                            flags = sign > 0 ? flags | F_DOTNL : flags & ~F_DOTNL;
                            saw = true;
                        } else if (r == 'U') {
                            flags = sign > 0 ? flags | F_NONGREEDY : flags & ~F_NONGREEDY;
                            saw = true;
                        } else if (r == '-') {
                            if (sign < 0)
                                return fail_span(p, "invalid or unsupported Perl syntax", tok,
                                                 p->pos);
                            sign = -1;
                            saw = false;
                        } else if (r == ':' || r == ')') {
                            if (sign < 0 && !saw)
                                return fail_span(p, "invalid or unsupported Perl syntax", tok,
                                                 p->pos);
                            if (r == ')') {
                                p->flags = flags;
                                atom = false;
                                break;
                            }
                            p->flags = flags;
                            if (parse_group_body(p, "(?:", saved) != SG_OK)
                                return p->rc;
                            atom_need = p->alt_need;
                            break;
                        } else {
                            return fail_span(p, "invalid or unsupported Perl syntax", tok, p->pos);
                        }
                    }
                }
                break;
            }
            {
                unsigned saved = p->flags;
                p->ncap++;
                p->pos++;
                if (parse_group_body(p, "(", saved) != SG_OK)
                    return p->rc;
                atom_need = p->alt_need;
            }
            break;
        case '^':
            p->pos++;
            emits(p, (p->flags & F_ONELINE) ? "\\A" : "(?:\\A|(?<=\\n))");
            break;
        case '$':
            p->pos++;
            emits(p, (p->flags & F_ONELINE) ? "\\z" : "(?=\\n|\\z)");
            break;
        case '.':
            p->pos++;
            emits(p, (p->flags & F_DOTNL) ? "(?s:.)" : "[^\\n]");
            add_desc(p, D_DOT, 0);
            if (p->analyze && p->depth == 1 && p->nd > 0 && !p->d_overflow)
                p->d[p->nd - 1].dot_nl = (p->flags & F_DOTNL) != 0;
            last_desc = p->analyze && p->depth == 1 ? (int)p->nd - 1 : -1;
            goto atom_done;
        case '[':
            if (parse_class(p) != SG_OK)
                return p->rc;
            break;
        case '\\':
            if (p->len - p->pos >= 2) {
                char k = p->s[p->pos + 1];
                if (k == 'A' || k == 'z' || k == 'b' || k == 'B') {
                    p->pos += 2;
                    emits(p, k == 'A' ? "\\A" : k == 'z' ? "\\z" : k == 'b' ? "\\b" : "\\B");
                    break;
                }
                if (k == 'C')
                    return fail_span(p, "invalid escape sequence", p->pos, p->pos + 2);
                if (k == 'Q') {
                    const char *e = NULL;
                    size_t from = p->pos + 2, to;
                    for (size_t i = from; i + 1 < p->len; i++)
                        if (p->s[i] == '\\' && p->s[i + 1] == 'E') {
                            e = p->s + i;
                            break;
                        }
                    to = e ? (size_t)(e - p->s) : p->len;
                    p->pos = from;
                    atom = false;
                    while (p->pos < to) {
                        uint32_t r;
                        size_t w;
                        r = sg_utf8_decode(p->s + p->pos, to - p->pos, &w);
                        if (r == SG_RUNE_ERROR && w == 1)
                            return fail_span(p, "invalid UTF-8", p->pos, to);
                        p->pos += w;
                        last_atom = out_len(p);
                        if (last_need > rest_need)
                            rest_need = last_need;
                        last_need = 0;
                        if (p->flags & F_FOLD)
                            emits(p, "(?i:");
                        emit_rune(p, r);
                        if (p->flags & F_FOLD)
                            emits(p, ")");
                        add_desc(p, (p->flags & F_FOLD) ? D_OTHER : D_LIT, r);
                        last_desc = p->analyze && p->depth == 1 ? (int)p->nd - 1 : -1;
                    }
                    p->pos = e ? to + 2 : to;
                    break;
                }
                if (k == 'p' || k == 'P') {
                    bool done;
                    if (parse_unicode_class(p, false, &done) != SG_OK)
                        return p->rc;
                    if (done)
                        break;
                }
                {
                    char lk = (char)(k | 0x20);
                    if (k == 'd' || k == 'D' || k == 's' || k == 'S' || k == 'w' || k == 'W') {
                        const struct cls *cl =
                            find_cls(perl_classes, SG_ARRAY_LEN(perl_classes), &lk, 1);
                        if (p->flags & F_FOLD)
                            emits(p, "(?i:");
                        emits(p, "[");
                        emit_cls_items(p, cl, k != lk);
                        emits(p, "]");
                        if (p->flags & F_FOLD)
                            emits(p, ")");
                        p->pos += 2;
                        break;
                    }
                }
            }
            {
                uint32_t r;
                if (parse_escape(p, &r) != SG_OK)
                    return p->rc;
                emit_literal(p, r);
                last_desc = p->analyze && p->depth == 1 ? (int)p->nd - 1 : -1;
                goto atom_done;
            }
        default:
        literal_char : {
            uint32_t r;
            if (next_rune(p, &r) != SG_OK)
                return p->rc;
            emit_literal(p, r);
            last_desc = p->analyze && p->depth == 1 ? (int)p->nd - 1 : -1;
            goto atom_done;
        }
        }
        /* atoms without a literal descriptor */
        if (atom) {
            add_desc(p, D_OTHER, 0);
            last_desc = p->analyze && p->depth == 1 ? (int)p->nd - 1 : -1;
        }
    atom_done:
        if (atom) {
            last_atom = atom_at;
            if (last_need > rest_need)
                rest_need = last_need;
            last_need = atom_need;
        }
        last_repeat = repeat;
        if (p->rc != SG_OK)
            return p->rc;
    }
    p->alt_need = last_need > rest_need ? last_need : rest_need;
    return p->rc;
}

static int parse_alternation(struct rp *p)
{
    uint32_t need = 0;

    for (;;) {
        if (parse_concat(p) != SG_OK)
            return p->rc;
        if (p->alt_need > need)
            need = p->alt_need;
        end_alternative(p);
        if (at_end(p) || p->s[p->pos] != '|') {
            p->alt_need = need;
            return SG_OK;
        }
        p->pos++;
        emits(p, "|");
    }
}

/* Parse the whole text s; top level ends at the end of input. */
static int parse_top(struct rp *p)
{
    if (parse_alternation(p) != SG_OK)
        return p->rc;
    if (!at_end(p)) /* a ')' without its '(' */
        return fail(p, "unexpected )", p->s, p->len);
    return SG_OK;
}

static void free_str(struct sg_str *s)
{
    sg_free((void *)(uintptr_t)s->ptr);
    s->ptr = NULL;
    s->len = 0;
}

void sg_labels__fast_cleanup(struct sg_re2_fast *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nlits; i++)
        free_str(&f->lits[i]);
    sg_free(f->lits);
    free_str(&f->prefix);
    free_str(&f->suffix);
    free_str(&f->mid);
    sg_free(f->names);
    memset(f, 0, sizeof(*f));
}

/* Set order: by length, then bytes. */
static int lit_cmp(struct sg_str a, struct sg_str b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return a.len ? memcmp(a.ptr, b.ptr, a.len) : 0;
}

static int lit_qsort_cmp(const void *a, const void *b)
{
    return lit_cmp(*(const struct sg_str *)a, *(const struct sg_str *)b);
}

static bool has_nl(const char *s, size_t n)
{
    return n > 0 && memchr(s, '\n', n) != NULL;
}

static bool starts_with(struct sg_str s, struct sg_str p)
{
    return s.len >= p.len && (p.len == 0 || memcmp(s.ptr, p.ptr, p.len) == 0);
}

static bool ends_with(struct sg_str s, struct sg_str p)
{
    return s.len >= p.len && (p.len == 0 || memcmp(s.ptr + s.len - p.len, p.ptr, p.len) == 0);
}

/* First occurrence of n in h, or NULL. */
static const char *find_sub(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return h;
    while (hl >= nl) {
        const char *c = memchr(h, n[0], hl - nl + 1);
        if (!c)
            return NULL;
        if (memcmp(c, n, nl) == 0)
            return c;
        hl -= (size_t)(c - h) + 1;
        h = c + 1;
    }
    return NULL;
}

int sg_labels__fast_match(const struct sg_re2_fast *f, struct sg_str s)
{
    switch (f->kind) {
    case SG_FAST_SET: {
        size_t lo = 0, hi = f->nlits;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = lit_cmp(f->lits[mid], s);
            if (c == 0)
                return 1;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return 0;
    }
    case SG_FAST_PREFIX:
        if (!starts_with(s, f->prefix))
            return 0;
        return f->dot_nl || !has_nl(s.ptr + f->prefix.len, s.len - f->prefix.len);
    case SG_FAST_SUFFIX:
        if (!ends_with(s, f->suffix))
            return 0;
        return f->dot_nl || !has_nl(s.ptr, s.len - f->suffix.len);
    case SG_FAST_CONTAINS:
        /* the literal has no '\n' unless dots match it, so without dot_nl
         * the whole value must be free of newlines */
        if (!f->dot_nl && has_nl(s.ptr, s.len))
            return 0;
        return find_sub(s.ptr, s.len, f->mid.ptr, f->mid.len) != NULL;
    default:
        if (!starts_with(s, f->prefix) || !ends_with(s, f->suffix))
            return 0;
        return -1;
    }
}

static int copy_buf(const struct sg_buf *b, struct sg_str *out)
{
    char *c;

    if (b->len == 0)
        return SG_OK;
    c = sg_memdup(b->data, b->len);
    if (!c)
        return SG_ENOMEM;
    *out = sg_str_make(c, b->len);
    return SG_OK;
}

static bool has_fffd(const struct sg_buf *b)
{
    return b->len >= 3 && find_sub(b->data, b->len, "\xef\xbf\xbd", 3) != NULL;
}

static int build_fast(struct rp *p, struct sg_re2_fast *f)
{
    memset(f, 0, sizeof(*f));
    if (p->nnames) {
        f->names = p->names;
        f->ngroups = p->nnames;
        p->names = NULL;
    }
    if (p->d_overflow)
        return SG_OK;
    if (p->all_lit && p->nalts <= MAX_LITS && !has_fffd(&p->lits)) {
        size_t off = 0;
        f->lits = sg_calloc(p->nalts ? p->nalts : 1, sizeof(*f->lits));
        if (!f->lits)
            return SG_ENOMEM;
        for (size_t i = 0; i < p->nalts; i++) {
            uint32_t n;
            char *c;
            memcpy(&n, p->lits.data + off, sizeof(n));
            off += sizeof(n);
            c = sg_malloc(n ? n : 1);
            if (!c)
                return SG_ENOMEM;
            memcpy(c, p->lits.data + off, n);
            off += n;
            f->lits[f->nlits++] = sg_str_make(c, n);
        }
        qsort(f->lits, f->nlits, sizeof(*f->lits), lit_qsort_cmp);
        f->kind = SG_FAST_SET;
        return SG_OK;
    }
    if (p->nalts != 1)
        return SG_OK;
    /* a literal U+FFFD also matches any byte that is not UTF-8 (Go reads
     * those as U+FFFD), which byte comparison cannot see */
    if (has_fffd(&p->prefix) || has_fffd(&p->suffix) || has_fffd(&p->mid))
        return SG_OK;
    f->kind = p->shape;
    f->dot_nl = p->shape_dot_nl;
    if (copy_buf(&p->prefix, &f->prefix) != SG_OK || copy_buf(&p->suffix, &f->suffix) != SG_OK ||
        copy_buf(&p->mid, &f->mid) != SG_OK)
        return SG_ENOMEM;
    return SG_OK;
}

int sg_labels__re2_translate(struct sg_str pattern, enum sg_re2_mode mode, bool dot_nl,
                             struct sg_buf *out, struct sg_re2_fast *fast, struct sg_err *err)
{
    bool anchored = mode != SG_RE2_UNANCHORED, wrapped_only = mode == SG_RE2_WRAPPED_ONLY;
    struct sg_buf wrapped;
    struct rp p;
    int rc;

    /* pass 1: the form Go compiles (anchored: as Prometheus wraps a
     * matcher), for Go's errors */
    sg_buf_init(&wrapped, pattern.len + 16);
    if ((anchored && sg_buf_puts(&wrapped, dot_nl ? "^(?s:" : "^(?:") != SG_OK) ||
        sg_buf_append_str(&wrapped, pattern) != SG_OK ||
        (anchored && sg_buf_puts(&wrapped, ")$") != SG_OK)) {
        sg_buf_cleanup(&wrapped);
        return sg_err_set(err, SG_ENOMEM, "translating regex");
    }
    memset(&p, 0, sizeof(p));
    p.s = wrapped.data;
    p.len = wrapped.len;
    p.flags = F_ONELINE;
    p.err = err;
    rc = parse_top(&p);
    if (rc != SG_OK) {
        sg_buf_cleanup(&wrapped);
        return rc;
    }

    /* pass 2: the pattern alone (Prometheus parses it again for its
     * literal optimisations); this one is translated and analysed. In
     * wrapped_only mode (label_replace) the anchored form is translated. */
    memset(&p, 0, sizeof(p));
    if (wrapped_only) {
        p.s = wrapped.data;
        p.len = wrapped.len;
        p.flags = F_ONELINE;
    } else {
        p.s = pattern.ptr ? pattern.ptr : "";
        p.len = pattern.len;
        p.flags = F_ONELINE | (dot_nl ? F_DOTNL : 0);
    }
    p.err = err;
    p.out = out;
    p.analyze = fast != NULL;
    p.all_lit = true;
    p.depth = 1;
    sg_buf_init(&p.lits, 1 << 20);
    sg_buf_init(&p.prefix, 1 << 16);
    sg_buf_init(&p.suffix, 1 << 16);
    sg_buf_init(&p.mid, 1 << 16);
    emits(&p, anchored ? "\\A(?:" : "(?:");
    if (p.rc == SG_OK)
        rc = parse_top(&p);
    else
        rc = p.rc;
    emits(&p, anchored ? ")\\z" : ")");
    if (rc == SG_OK)
        rc = p.rc;
    if (rc == SG_OK && fast && wrapped_only) {
        /* group names must point into `pattern`, not the wrapped copy */
        size_t head = (size_t)(dot_nl ? 5 : 4);
        for (size_t i = 0; i < p.nnames; i++)
            if (p.names[i].ptr)
                p.names[i].ptr = pattern.ptr + (p.names[i].ptr - (wrapped.data + head));
    }
    if (mode != SG_RE2_MATCHER) {
        /* whole-string literal shortcuts are for matchers only */
        p.d_overflow = true;
        p.all_lit = false;
    }
    if (rc == SG_OK && fast) {
        rc = build_fast(&p, fast);
        if (rc != SG_OK) {
            sg_labels__fast_cleanup(fast);
            rc = sg_err_set(err, SG_ENOMEM, "translating regex");
        }
    }
    sg_free(p.d);
    sg_free(p.names);
    sg_buf_cleanup(&p.lits);
    sg_buf_cleanup(&p.prefix);
    sg_buf_cleanup(&p.suffix);
    sg_buf_cleanup(&p.mid);
    sg_buf_cleanup(&wrapped);
    return rc;
}
