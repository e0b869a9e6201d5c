/* tests/unit/test_labels.c - label sets, Go quoting, matchers and regexes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/fs.h"
#include "stopgate/labels.h"

#define S(lit) sg_str_make(lit, sizeof(lit) - 1)

static struct sg_labels mk(struct sg_label *v, uint32_t n)
{
    struct sg_labels ls = {v, n};
    return ls;
}

static void hash_depends_on_names_and_values(void **state)
{
    struct sg_label a[] = {{S("a"), S("1")}, {S("b"), S("2")}};
    struct sg_label b[] = {{S("a"), S("1")}, {S("b"), S("3")}};
    struct sg_label c[] = {{S("a"), S("1b")}, {S("b"), S("2")}};
    struct sg_label d[] = {{S("a"), S("1")}, {S("b"), S("2")}};
    struct sg_labels la = mk(a, 2), lb = mk(b, 2), lc = mk(c, 2), ld = mk(d, 2);
    struct sg_str names[] = {S("a")};

    (void)state;
    assert_int_equal(sg_labels_hash(&la), sg_labels_hash(&ld));
    assert_int_not_equal(sg_labels_hash(&la), sg_labels_hash(&lb));
    assert_int_not_equal(sg_labels_hash(&la), sg_labels_hash(&lc));
    assert_int_equal(sg_labels_hash_for(&la, names, 1), sg_labels_hash_for(&lb, names, 1));
    assert_int_not_equal(sg_labels_hash_without(&la, names, 1, false),
                         sg_labels_hash_without(&lb, names, 1, false));
}

static void hash_without_drops_name(void **state)
{
    struct sg_label a[] = {{S("__name__"), S("x")}, {S("job"), S("j")}};
    struct sg_label b[] = {{S("__name__"), S("y")}, {S("job"), S("j")}};
    struct sg_labels la = mk(a, 2), lb = mk(b, 2);

    (void)state;
    assert_int_equal(sg_labels_hash_without(&la, NULL, 0, true),
                     sg_labels_hash_without(&lb, NULL, 0, true));
    assert_int_not_equal(sg_labels_hash_without(&la, NULL, 0, false),
                         sg_labels_hash_without(&lb, NULL, 0, false));
}

static void compare_like_prometheus(void **state)
{
    struct sg_label a[] = {{S("a"), S("1")}};
    struct sg_label b[] = {{S("a"), S("1")}, {S("b"), S("1")}};
    struct sg_label c[] = {{S("a"), S("2")}};
    struct sg_label d[] = {{S("b"), S("0")}};
    struct sg_labels la = mk(a, 1), lb = mk(b, 2), lc = mk(c, 1), ld = mk(d, 1);

    (void)state;
    assert_true(sg_labels_cmp(&la, &lb) < 0);
    assert_true(sg_labels_cmp(&lb, &lc) < 0);
    assert_true(sg_labels_cmp(&lc, &ld) < 0);
    assert_int_equal(sg_labels_cmp(&la, &la), 0);
    assert_true(sg_labels_eq(&la, &la));
    assert_false(sg_labels_eq(&la, &lb));
}

static void get_sort_copy(void **state)
{
    struct sg_label v[] = {{S("job"), S("j")}, {S("__name__"), S("up")}, {S("a"), S("x")}};
    struct sg_labels ls = mk(v, 3), cp;
    struct sg_label dup[] = {{S("a"), S("1")}, {S("a"), S("2")}};
    struct sg_labels ld = mk(dup, 2);
    struct sg_arena a;
    struct sg_err err;

    (void)state;
    sg_err_clear(&err);
    assert_int_equal(sg_labels_sort(&ls, &err), SG_OK);
    assert_true(sg_str_eq_c(ls.v[0].name, "__name__"));
    assert_true(sg_str_eq_c(ls.v[2].name, "job"));
    assert_true(sg_str_eq_c(sg_labels_get(&ls, S("a")), "x"));
    assert_int_equal(sg_labels_get(&ls, S("zz")).len, 0);
    assert_true(sg_labels_has(&ls, S("job")));
    assert_false(sg_labels_has(&ls, S("jo")));
    assert_int_equal(sg_labels_sort(&ld, &err), SG_EINVAL);
    sg_arena_init(&a, 0);
    assert_int_equal(sg_labels_copy(&ls, &a, &cp), SG_OK);
    assert_true(sg_labels_eq(&ls, &cp));
    assert_ptr_not_equal(cp.v[0].name.ptr, ls.v[0].name.ptr);
    sg_arena_cleanup(&a);
}

static void builder_edits(void **state)
{
    struct sg_label v[] = {{S("__name__"), S("up")}, {S("a"), S("1")}, {S("job"), S("j")}};
    struct sg_labels base = mk(v, 3), out;
    struct sg_labels_builder b;
    struct sg_arena a;
    struct sg_buf buf;
    struct sg_str keep[] = {S("job"), S("z")};

    (void)state;
    sg_arena_init(&a, 0);
    sg_buf_init(&buf, 1024);
    sg_labels_builder_init(&b, &a, &base);
    sg_labels_builder_set(&b, S("z"), S("9"));
    sg_labels_builder_set(&b, S("a"), S("")); /* empty deletes */
    sg_labels_builder_set(&b, S("b"), S("2"));
    sg_labels_builder_del(&b, S("__name__"));
    assert_int_equal(sg_labels_builder_finish(&b, &out), SG_OK);
    assert_int_equal(sg_labels_format(&out, &buf), SG_OK);
    assert_string_equal(sg_buf_cstr(&buf), "{b=\"2\", job=\"j\", z=\"9\"}");
    sg_labels_builder_keep(&b, keep, 2);
    assert_int_equal(sg_labels_builder_finish(&b, &out), SG_OK);
    sg_buf_reset(&buf);
    assert_int_equal(sg_labels_format(&out, &buf), SG_OK);
    assert_string_equal(sg_buf_cstr(&buf), "{job=\"j\", z=\"9\"}");
    /* the base is untouched */
    assert_int_equal(base.count, 3);
    assert_true(sg_str_eq_c(base.v[1].value, "1"));
    sg_buf_cleanup(&buf);
    sg_arena_cleanup(&a);
}

static void format_metric_forms(void **state)
{
    struct sg_label v1[] = {{S("__name__"), S("up")}, {S("a"), S("x")}, {S("a1"), S("y")}};
    struct sg_label v2[] = {{S("__name__"), S("up")}};
    struct sg_label v3[] = {{S("job"), S("a\"b")}};
    struct sg_labels l1 = mk(v1, 3), l2 = mk(v2, 1), l3 = mk(v3, 1), l4 = mk(NULL, 0);
    struct sg_buf b;

    (void)state;
    sg_buf_init(&b, 1024);
    /* model.Metric.String sorts `name="value"` strings: a1 before a */
    assert_int_equal(sg_labels_format_metric(&l1, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "up{a1=\"y\", a=\"x\"}");
    sg_buf_reset(&b);
    assert_int_equal(sg_labels_format_metric(&l2, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "up");
    sg_buf_reset(&b);
    assert_int_equal(sg_labels_format_metric(&l3, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "{job=\"a\\\"b\"}");
    sg_buf_reset(&b);
    assert_int_equal(sg_labels_format_metric(&l4, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "{}");
    sg_buf_reset(&b);
    assert_int_equal(sg_labels_format(&l4, &b), SG_OK);
    assert_string_equal(sg_buf_cstr(&b), "{}");
    sg_buf_cleanup(&b);
}

static void quote_like_go(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } rows[] = {
        {"abc", 3, "\"abc\""},
        {"a\nb", 3, "\"a\\nb\""},
        {"\x07\x08\x0c\r\t\x0b", 6, "\"\\a\\b\\f\\r\\t\\v\""},
        {"\x01\x7f", 2, "\"\\x01\\x7f\""},
        {"\xc3\xa4", 2, "\"\xc3\xa4\""},    /* ä is printable */
        {"\xff", 1, "\"\\xff\""},           /* not UTF-8 */
        {"\xc2\xa0", 2, "\"\\u00a0\""},     /* NBSP is not printable */
        {"\xe2\x80\x8b", 3, "\"\\u200b\""}, /* zero width space */
        {"\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\""},
        {"\xf3\xa0\x80\x81", 4, "\"\\U000e0001\""}, /* language tag */
        {"\\\"", 2, "\"\\\\\\\"\""},
        {"", 0, "\"\""},
        {"\xed\xa0\x80", 3, "\"\\xed\\xa0\\x80\""}, /* surrogate */
        {"\xef\xbf\xbd", 3, "\"\xef\xbf\xbd\""},    /* U+FFFD itself */
        {"\xe0\xa1\xb0", 3, "\"\\u0870\""},         /* Unicode 14: unknown to Go 1.19 */
    };
    struct sg_buf b;

    (void)state;
    sg_buf_init(&b, 1024);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sg_buf_reset(&b);
        assert_int_equal(sg_quote_go(sg_str_make(rows[i].in, rows[i].len), &b), SG_OK);
        if (strcmp(sg_buf_cstr(&b), rows[i].want) != 0)
            fail_msg("row %zu: got %s want %s", i, sg_buf_cstr(&b), rows[i].want);
    }
    sg_buf_cleanup(&b);
}

/* Go's strconv.UnquoteChar on the text after a backslash. */
static void unquote_escape_like_go(void **state)
{
    static const struct {
        const char *in;
        char quote;
        bool ok, is_rune;
        uint32_t value;
        size_t used;
    } rows[] = {
        {"n", '"', true, false, '\n', 1},
        {"\\", '"', true, false, '\\', 1},
        {"\"", '"', true, false, '"', 1},
        {"'", '"', false, false, 0, 0},
        {"'", '\'', true, false, '\'', 1},
        {"x4A", '"', true, false, 0x4A, 3},
        {"xfF", '"', true, false, 0xFF, 3},
        {"x4", '"', false, false, 0, 0},
        {"xg0", '"', false, false, 0, 0},
        {"101", '"', true, false, 'A', 3},
        {"377", '"', true, false, 0xFF, 3},
        {"400", '"', false, false, 0, 0},
        {"18", '"', false, false, 0, 0},
        {"u00e9z", '"', true, true, 0xE9, 5},
        {"ud800", '"', false, false, 0, 0},
        {"U0010FFFF", '"', true, true, 0x10FFFF, 9},
        {"U00110000", '"', false, false, 0, 0},
        {"UFFFFFFFF", '"', false, false, 0, 0},
        {"q", '"', false, false, 0, 0},
        {"", '"', false, false, 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        uint32_t v = 0;
        bool is_rune = false;
        size_t used = 0;
        bool ok = sg_unquote_go_escape(rows[i].in, strlen(rows[i].in), rows[i].quote, &v,
                                       &is_rune, &used);
        if (ok != rows[i].ok)
            fail_msg("\\%s: ok %d", rows[i].in, ok);
        if (!ok)
            continue;
        assert_int_equal(v, rows[i].value);
        assert_int_equal(is_rune, rows[i].is_rune);
        assert_int_equal(used, rows[i].used);
    }
    assert_int_equal(sg_hex_digit('0'), 0);
    assert_int_equal(sg_hex_digit('F'), 15);
    assert_int_equal(sg_hex_digit('g'), -1);
    assert_int_equal(sg_hex_digit(0xFFFFFFFFu), -1);
}

/* Go's unicode.IsSpace. */
static void space_runes_like_go(void **state)
{
    static const uint32_t space[] = {' ',    '\t',   '\n',   '\v',   '\f',   '\r',
                                     0x85,   0xA0,   0x1680, 0x2000, 0x200A, 0x2028,
                                     0x2029, 0x202F, 0x205F, 0x3000};
    static const uint32_t other[] = {0, 'a', 0x1C, 0x7F, 0x84, 0x180E, 0x200B, 0xFEFF, 0xFFFD};

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(space); i++)
        assert_true(sg_rune_is_space(space[i]));
    for (size_t i = 0; i < SG_ARRAY_LEN(other); i++)
        assert_false(sg_rune_is_space(other[i]));
}

static void names_valid(void **state)
{
    (void)state;
    assert_true(sg_label_name_valid(S("_a1")));
    assert_false(sg_label_name_valid(S("1a")));
    assert_false(sg_label_name_valid(S("a:b")));
    assert_false(sg_label_name_valid(S("")));
    assert_true(sg_metric_name_valid(S("a:b_c")));
    assert_true(sg_metric_name_valid(S(":a")));
    assert_false(sg_metric_name_valid(S("a-b")));
}

/* Expected answers follow Go's regexp (RE2) semantics with the pattern
 * anchored as ^(?:re)$; tests/data/labels/regex.table (regex_table below)
 * holds answers taken from a running Prometheus 2.42. */
static void regex_basic_semantics(void **state)
{
    static const struct {
        const char *re;
        const char *s;
        size_t slen;
        int want;
    } rows[] = {
        {"abc", "abc", 3, 1},
        {"abc", "abcd", 4, 0},
        {"a|b|c", "b", 1, 1},
        {"a|ab", "ab", 2, 1},
        {"foo.*", "foobar", 6, 1},
        {"foo.*", "foo\nbar", 7, 0}, /* `.` does not match \n in 2.x */
        {".*", "", 0, 1},
        {".+", "", 0, 0},
        {"", "", 0, 1},
        {"", "a", 1, 0},
        {"\\s", "\v", 1, 0}, /* RE2's \s has no \v */
        {"\\s", "\t", 1, 1},
        {"[[:space:]]", "\v", 1, 1},
        {"(?i)abc", "ABC", 3, 1},
        {"(?i:a)b", "Ab", 2, 1},
        {"(?i:a)b", "AB", 2, 0},
        {"\\d+", "123", 3, 1},
        {"\\d", "\xd9\xa3", 2, 0}, /* ASCII only */
        {"\\pL", "\xc3\xa4", 2, 1},
        {"\\p{Greek}+", "\xce\xb1\xce\xb2", 4, 1},
        {"\\Qa.b\\E", "a.b", 3, 1},
        {"\\Qa.b\\E", "axb", 3, 0},
        {"a{2,3}", "aaa", 3, 1},
        {"a{2,3}", "aaaa", 4, 0},
        {"a{,3}", "a{,3}", 5, 1}, /* not a repeat in RE2 */
        {"x{2}{", "xx{", 3, 1},
        {"(?s).*", "a\nb", 3, 1},
        {"(?m)^b$", "b", 1, 1},
        {"^abc$", "abc", 3, 1},
        {"(?U)a+", "aaa", 3, 1},
        {"\\x41\\x{42}\\101", "ABA", 3, 1},
        {"[^a]", "\n", 1, 1},
        {"\\\\", "\\", 1, 1},
        {"\\.", ".", 1, 1},
        {"\\_", "_", 1, 1},
        {"(?P<n>a)(b)", "ab", 2, 1},
        {"[a-c]+", "abcabc", 6, 1},
        {"[]a]", "]", 1, 1},
        {"\\b", "", 0, 0},
    };
    struct sg_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sg_regex *re = NULL;
        int got;
        sg_err_clear(&err);
        if (sg_regex_compile(sg_str_c(rows[i].re), NULL, &re, &err) != SG_OK)
            fail_msg("row %zu (%s): compile: %s", i, rows[i].re, err.msg);
        got = sg_regex_match(re, sg_str_make(rows[i].s, rows[i].slen), &err);
        if (got != rows[i].want)
            fail_msg("row %zu (%s): got %d want %d", i, rows[i].re, got, rows[i].want);
        sg_regex_free(re);
    }
}

static size_t from_hex(const char *h, size_t n, char *out, size_t max)
{
    size_t o = 0;

    if (n == 1 && h[0] == '-')
        return 0;
    for (size_t i = 0; i + 1 < n && o < max; i += 2) {
        unsigned v;
        char tmp[3] = {h[i], h[i + 1], 0};
        if (sscanf(tmp, "%2x", &v) != 1)
            fail_msg("bad hex %.*s", (int)n, h);
        out[o++] = (char)v;
    }
    return o;
}

/* tests/data/labels/regex.table: for every pattern, the label values a
 * real Prometheus 2.42 matched, or its error message. */
static void regex_table(void **state)
{
    static char vals[64][128];
    size_t vlen[64];
    int nvals = 0, cases = 0, errors = 0;
    struct sg_buf file;
    struct sg_err err;
    char *line, *save = NULL;

    (void)state;
    sg_buf_init(&file, 1 << 20);
    sg_err_clear(&err);
    if (sg_fs_read_all("tests/data/labels/regex.table", 1 << 20, &file, &err) != SG_OK)
        fail_msg("%s", err.msg);
    for (line = strtok_r(file.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *hash = strstr(line, "  # "), *hex, *rest;
        char pat[1024];
        size_t plen;
        struct sg_regex *re = NULL;

        if (hash)
            *hash = '\0';
        if (strncmp(line, "value ", 6) == 0) {
            int i = atoi(line + 6);
            char *h = strchr(line + 6, ' ') + 1;
            assert_true(i == nvals && i < 64);
            vlen[i] = from_hex(h, strlen(h), vals[i], sizeof(vals[i]));
            nvals++;
            continue;
        }
        if (strncmp(line, "match ", 6) != 0 && strncmp(line, "error ", 6) != 0)
            continue;
        hex = line + 6;
        rest = strchr(hex, ' ');
        assert_non_null(rest);
        plen = from_hex(hex, (size_t)(rest - hex), pat, sizeof(pat));
        rest++;
        cases++;
        sg_err_clear(&err);
        if (line[0] == 'e') {
            errors++;
            if (sg_regex_compile(sg_str_make(pat, plen), NULL, &re, &err) == SG_OK)
                fail_msg("%.*s: accepted, want %s", (int)plen, pat, rest);
            if (strcmp(err.msg, rest) != 0)
                fail_msg("%.*s: got %s want %s", (int)plen, pat, err.msg, rest);
            continue;
        }
        if (sg_regex_compile(sg_str_make(pat, plen), NULL, &re, &err) != SG_OK)
            fail_msg("%.*s: %s", (int)plen, pat, err.msg);
        for (int i = 0; i < nvals; i++) {
            char key[16], padded[512];
            int want, got;
            /* rest is "I J K" or "none" */
            snprintf(key, sizeof(key), " %d ", i);
            snprintf(padded, sizeof(padded), " %s ", rest);
            want = strstr(padded, key) != NULL;
            got = sg_regex_match(re, sg_str_make(vals[i], vlen[i]), &err);
            if (got != want)
                fail_msg("%.*s on value %d: got %d want %d", (int)plen, pat, i, got, want);
        }
        sg_regex_free(re);
    }
    sg_buf_cleanup(&file);
    print_message("regex.table: %d patterns (%d invalid) over %d values\n", cases, errors, nvals);
    assert_true(cases - errors >= 50);
    assert_true(errors >= 20);
}

/* Go reads a byte that is not UTF-8 as U+FFFD; answers checked with
 * label_replace on a value "a\xffb" in Prometheus 2.42. */
static void regex_invalid_utf8_like_go(void **state)
{
    static const struct {
        const char *re;
        int want;
    } rows[] = {
        {"a(.)b", 1},
        {"a([^x])b", 1},
        {"a(\\x{FFFD})b", 1},
        {"a(\\pL)b", 0},
        {"a(\\PL)b", 1},
        {"a(\\p{So})b", 1},
        {"a(..)b", 0},
        {"a(.*)b", 1},
        {"(?s)a(.)b", 1},
        {"a\\x{FFFD}b", 1},
        {"a.b", 1},
        {"\\x{FFFD}", 0},
        {"a\xef\xbf\xbd"
         "b",
         1},
        {".*", 1},
        {"a.*", 1},
        {".*b", 1},
    };
    struct sg_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sg_regex *re;
        int64_t g[4];
        size_t ng;
        int got;
        sg_err_clear(&err);
        assert_int_equal(sg_regex_compile(sg_str_c(rows[i].re), NULL, &re, &err), SG_OK);
        got = sg_regex_match(re,
                             S("a\xff"
                               "b"),
                             &err);
        if (got != rows[i].want)
            fail_msg("row %zu (%s): got %d want %d", i, rows[i].re, got, rows[i].want);
        assert_int_equal(sg_regex_match_groups(re,
                                               S("a\xff"
                                                 "b"),
                                               g, 2, &ng, &err),
                         rows[i].want);
        if (rows[i].want && ng == 2) {
            assert_int_equal(g[2], 1); /* offsets refer to the original bytes */
            assert_int_equal(g[3], 2);
        }
        sg_regex_free(re);
    }
}

/* label_replace compiles only ^(?:re)$: checked with Prometheus 2.42,
 * label_replace(..., "$1-$2", "src", "a)(b") on "ab" gives "b-". */
static void regex_wrapped_only(void **state)
{
    struct sg_regex_opts o = {.wrapped_only = true};
    struct sg_regex *re;
    struct sg_err err;
    int64_t g[6];
    size_t ng = 0;
    int m;

    (void)state;
    sg_err_clear(&err);
    assert_int_equal(sg_regex_compile(S("a)(b"), NULL, &re, &err), SG_EPARSE);
    sg_err_clear(&err);
    assert_int_equal(sg_regex_compile(S("a)(b"), &o, &re, &err), SG_OK);
    m = sg_regex_match_groups(re, S("ab"), g, 3, &ng, &err);
    assert_int_equal(m, 1);
    assert_int_equal(ng, 2);
    assert_int_equal(g[2], 1);
    assert_int_equal(g[3], 2);
    sg_regex_free(re);
    assert_int_equal(sg_regex_compile(S("x(?P<n>y)"), &o, &re, &err), SG_OK);
    assert_int_equal(sg_regex_group_index(re, S("n")), 1);
    sg_regex_free(re);
    assert_int_equal(sg_regex_compile(S("(a"), &o, &re, &err), SG_EPARSE);
}

static void regex_dot_all_profile(void **state)
{
    struct sg_regex_opts o = {.dot_matches_newline = true};
    struct sg_regex *re;
    struct sg_err err;

    (void)state;
    sg_err_clear(&err);
    assert_int_equal(sg_regex_compile(S("foo.*"), &o, &re, &err), SG_OK);
    assert_int_equal(sg_regex_match(re, S("foo\nbar"), &err), 1);
    sg_regex_free(re);
    assert_int_equal(sg_regex_compile(S("a.c"), &o, &re, &err), SG_OK);
    assert_int_equal(sg_regex_match(re, S("a\nc"), &err), 1);
    sg_regex_free(re);
}

static void regex_rejects_like_go(void **state)
{
    static const struct {
        const char *re;
        const char *msg;
    } rows[] = {
        {"(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
        {"(?!a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`"},
        {"(?<=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"},
        {"(?>a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?>`"},
        {"(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`"},
        {"a++", "error parsing regexp: invalid nested repetition operator: `++`"},
        {"a**", "error parsing regexp: invalid nested repetition operator: `**`"},
        {"(?R)", "error parsing regexp: invalid or unsupported Perl syntax: `(?R`"},
        {"(a", "error parsing regexp: missing closing ): `^(?:(a)$`"},
        {"a)(b", "error parsing regexp: unexpected ): `a)(b`"},
        {"[a", "error parsing regexp: missing closing ]: `[a)$`"},
        {"*", "error parsing regexp: missing argument to repetition operator: `*`"},
        {"a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"},
        {"\\Z", "error parsing regexp: invalid escape sequence: `\\Z`"},
        {"\\C", "error parsing regexp: invalid escape sequence: `\\C`"},
        {"[z-a]", "error parsing regexp: invalid character class range: `z-a`"},
        {"\\p{Foo}", "error parsing regexp: invalid character class range: `\\p{Foo}`"},
        {"[[:foo:]]", "error parsing regexp: invalid character class range: `[:foo:]`"},
        {"(?<n>a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"},
        {"(?P<>a)", "error parsing regexp: invalid named capture: `(?P<>`"},
        {"\\e", "error parsing regexp: invalid escape sequence: `\\e`"},
        {"(*FAIL)", "error parsing regexp: missing argument to repetition operator: `*`"},
    };
    struct sg_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sg_err_clear(&err);
        if (sg_regex_check_re2(sg_str_c(rows[i].re), &err) != SG_EPARSE)
            fail_msg("row %zu (%s): accepted", i, rows[i].re);
        if (strcmp(err.msg, rows[i].msg) != 0)
            fail_msg("row %zu (%s): got %s want %s", i, rows[i].re, err.msg, rows[i].msg);
    }
}

static void regex_groups(void **state)
{
    struct sg_regex *re;
    struct sg_err err;
    int64_t g[8];
    size_t ng = 0;

    (void)state;
    sg_err_clear(&err);
    assert_int_equal(sg_regex_compile(S("(?P<host>[^:]+):(\\d+)"), NULL, &re, &err), SG_OK);
    assert_int_equal(sg_regex_match_groups(re, S("web:8080"), g, 3, &ng, &err), 1);
    assert_int_equal(ng, 3);
    assert_int_equal(g[2], 0);
    assert_int_equal(g[3], 3);
    assert_int_equal(g[4], 4);
    assert_int_equal(g[5], 8);
    assert_int_equal(sg_regex_group_index(re, S("host")), 1);
    assert_int_equal(sg_regex_group_index(re, S("port")), -1);
    assert_int_equal(sg_regex_match_groups(re, S("web"), g, 3, &ng, &err), 0);
    sg_regex_free(re);
}

static void regex_limit_is_an_error(void **state)
{
    struct sg_regex_opts o = {.match_limit = 1000};
    struct sg_regex *re;
    struct sg_err err;
    char subject[64];

    (void)state;
    memset(subject, 'a', sizeof(subject));
    subject[sizeof(subject) - 1] = 'b';
    sg_err_clear(&err);
    assert_int_equal(sg_regex_compile(S("(a|aa)+"), &o, &re, &err), SG_OK);
    assert_int_equal(sg_regex_match(re, sg_str_make(subject, sizeof(subject)), &err), SG_ELIMIT);
    assert_non_null(strstr(err.msg, "(a|aa)+"));
    sg_regex_free(re);
}

static void matchers(void **state)
{
    struct sg_arena a;
    struct sg_matcher m[3];
    struct sg_label v[] = {{S("job"), S("api")}, {S("x"), S("1")}};
    struct sg_labels ls = mk(v, 2);
    struct sg_err err;

    (void)state;
    sg_arena_init(&a, 0);
    sg_err_clear(&err);
    assert_int_equal(sg_matcher_init(&m[0], &a, SG_MATCH_EQ, S("job"), S("api"), NULL, &err),
                     SG_OK);
    assert_int_equal(sg_matcher_init(&m[1], &a, SG_MATCH_NRE, S("x"), S("2|3"), NULL, &err), SG_OK);
    assert_int_equal(sg_matcher_init(&m[2], &a, SG_MATCH_RE, S("missing"), S(".*"), NULL, &err),
                     SG_OK);
    assert_int_equal(sg_matchers_match(m, 3, &ls, &err), 1);
    assert_true(sg_matcher_matches_empty(&m[2]));
    assert_false(sg_matcher_matches_empty(&m[0]));
    assert_true(sg_matcher_matches_empty(&m[1]));
    assert_int_equal(sg_matcher_match(&m[1], S("2"), &err), 0);
    assert_string_equal(sg_match_op(SG_MATCH_NRE), "!~");
    assert_int_equal(sg_matcher_init(&m[0], &a, SG_MATCH_RE, S("a"), S("(?=x)"), NULL, &err),
                     SG_EPARSE);
    sg_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_depends_on_names_and_values),
        cmocka_unit_test(hash_without_drops_name),
        cmocka_unit_test(compare_like_prometheus),
        cmocka_unit_test(get_sort_copy),
        cmocka_unit_test(builder_edits),
        cmocka_unit_test(format_metric_forms),
        cmocka_unit_test(quote_like_go),
        cmocka_unit_test(unquote_escape_like_go),
        cmocka_unit_test(space_runes_like_go),
        cmocka_unit_test(names_valid),
        cmocka_unit_test(regex_basic_semantics),
        cmocka_unit_test(regex_table),
        cmocka_unit_test(regex_invalid_utf8_like_go),
        cmocka_unit_test(regex_wrapped_only),
        cmocka_unit_test(regex_dot_all_profile),
        cmocka_unit_test(regex_rejects_like_go),
        cmocka_unit_test(regex_groups),
        cmocka_unit_test(regex_limit_is_an_error),
        cmocka_unit_test(matchers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
