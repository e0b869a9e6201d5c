/* include/stopgate/labels.h - label sets and label matchers.
 *
 * A label set is an array of (name, value) pairs sorted by name in byte
 * order, with unique names, as Prometheus keeps them. The strings are views
 * into memory owned by whoever built the set (an arena, the store, a
 * decoded response); a set never owns its strings.
 *
 * Matchers are Prometheus's = != =~ !~. Regex matchers have RE2 semantics
 * (Prometheus's Go regexp), implemented on PCRE2 with JIT: the pattern is
 * checked against RE2's syntax first (lookaround, backreferences,
 * possessive and atomic groups, recursion and callouts are rejected), then
 * compiled fully anchored as ^(?:re)$ (2.x; `.` does not match a newline)
 * or ^(?s:re)$ when the compat flag asks for 3.x behaviour. Matching has
 * match and depth limits; hitting one is an evaluation error naming the
 * matcher. A value that is not valid UTF-8 is matched as Go does, each
 * invalid byte read as U+FFFD. Literal patterns, alternations of literals
 * and lit.* / .*lit / .*lit.* are matched without PCRE2.
 */
#ifndef SG_LABELS_H
#define SG_LABELS_H

#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

#define SG_METRIC_NAME "__name__"

struct sg_label {
    struct sg_str name;
    struct sg_str value;
};

struct sg_labels {
    struct sg_label *v; /* sorted by name, unique names */
    uint32_t count;
};

/* 64-bit hash of the whole set (names and values; order is the sort order). */
uint64_t sg_labels_hash(const struct sg_labels *ls);
/* Hash of the set without the named labels (`without` grouping, vector
 * matching with ignoring) or only the named labels (`by`, `on`). names need
 * not be sorted. */
uint64_t sg_labels_hash_without(const struct sg_labels *ls, const struct sg_str *names, size_t n,
                                bool drop_name);
uint64_t sg_labels_hash_for(const struct sg_labels *ls, const struct sg_str *names, size_t n);
/* Prometheus's labels.Compare: pairwise by name, then value; a prefix sorts
 * first. */
int sg_labels_cmp(const struct sg_labels *a, const struct sg_labels *b);
bool sg_labels_eq(const struct sg_labels *a, const struct sg_labels *b);
/* The value of `name`, or the empty view when absent. */
struct sg_str sg_labels_get(const struct sg_labels *ls, struct sg_str name);
bool sg_labels_has(const struct sg_labels *ls, struct sg_str name);

/* Copy ls (the array and every string) into the arena. */
SG_NODISCARD int sg_labels_copy(const struct sg_labels *ls, struct sg_arena *a,
                                struct sg_labels *out);
/* Sort pairs by name (after building a set by hand); SG_EINVAL naming the
 * label when a name repeats. */
SG_NODISCARD int sg_labels_sort(struct sg_labels *ls, struct sg_err *err);

/* A builder edits a set: set, delete, keep only some names. The result
 * (sg_labels_builder_finish) is allocated in the arena; strings are
 * borrowed from the inputs, so they must outlive the result. */
struct sg_labels_builder {
    struct sg_arena *arena;
    struct sg_label *v;
    uint32_t count, cap;
    bool failed; /* an allocation failed; finish reports SG_ENOMEM */
};
void sg_labels_builder_init(struct sg_labels_builder *b, struct sg_arena *a,
                            const struct sg_labels *base);
/* An empty value deletes the label, as in Prometheus's labels.Builder. */
void sg_labels_builder_set(struct sg_labels_builder *b, struct sg_str name, struct sg_str value);
void sg_labels_builder_del(struct sg_labels_builder *b, struct sg_str name);
void sg_labels_builder_keep(struct sg_labels_builder *b, const struct sg_str *names, size_t n);
SG_NODISCARD int sg_labels_builder_finish(struct sg_labels_builder *b, struct sg_labels *out);

/* {a="1", b="2"} as Prometheus's labels.Labels.String prints it: sorted,
 * ", " separated, values quoted with Go's strconv.Quote. An empty set is
 * "{}". */
SG_NODISCARD int sg_labels_format(const struct sg_labels *ls, struct sg_buf *out);
/* name{a="1"} with the metric name outside the braces (promtool's and
 * Prometheus's series notation); "name" alone when there are no other
 * labels, "{}" for an empty set. */
SG_NODISCARD int sg_labels_format_metric(const struct sg_labels *ls, struct sg_buf *out);
/* Go's strconv.Quote of s appended to out (used for label values). */
SG_NODISCARD int sg_quote_go(struct sg_str s, struct sg_buf *out);

/* ---- UTF-8 and Go quoting helpers ---------------------------------------- */

#define SG_RUNE_ERROR 0xFFFDu

/* Decode one rune as Go's utf8.DecodeRune does: an invalid or truncated
 * sequence (overlong, surrogate, > U+10FFFF) is SG_RUNE_ERROR with width 1;
 * len == 0 gives SG_RUNE_ERROR with width 0. */
uint32_t sg_utf8_decode(const char *s, size_t len, size_t *width);
/* Encode r (invalid values become U+FFFD); returns 1..4. */
size_t sg_utf8_encode(uint32_t r, char out[4]);
/* Go's strconv.IsPrint (Unicode L, M, N, P, S and U+0020). */
bool sg_rune_is_print(uint32_t r);
/* Go's unicode.IsSpace (the Latin-1 spaces, U+0085, U+00A0 and the
 * Unicode White_Space runes). */
bool sg_rune_is_space(uint32_t r);
/* One rune as Go's quoting writes it inside `quote` quotes (the escape
 * rules of strconv.Quote / QuoteRune). */
SG_NODISCARD int sg_quote_go_rune(uint32_t r, char quote, struct sg_buf *out);
/* One backslash escape of a Go string or rune literal, read as
 * strconv.UnquoteChar reads it. s points just after the backslash (n bytes
 * left); quote is the literal's quote ('"' or '\''), the only quote that
 * may be escaped. \a \b \f \n \r \t \v \\ and the quote are themselves;
 * \xHH and three octal digits (at most \377) are a byte; \uHHHH and
 * \UHHHHHHHH are a rune, neither a surrogate nor above U+10FFFF. On
 * success *value is the byte or rune, *is_rune tells which (a rune is
 * written as UTF-8, a byte as it is) and *used counts the bytes read after
 * the backslash; false on a malformed escape. */
bool sg_unquote_go_escape(const char *s, size_t n, char quote, uint32_t *value, bool *is_rune,
                          size_t *used);

/* True for [a-zA-Z_][a-zA-Z0-9_]* (label names) and, with colons, metric
 * names [a-zA-Z_:][a-zA-Z0-9_:]*. */
bool sg_label_name_valid(struct sg_str s);
bool sg_metric_name_valid(struct sg_str s);

/* ---- matchers -------------------------------------------------------------- */

enum sg_match_type { SG_MATCH_EQ = 0, SG_MATCH_NEQ = 1, SG_MATCH_RE = 2, SG_MATCH_NRE = 3 };

struct sg_regex; /* compiled pattern; opaque */

struct sg_matcher {
    enum sg_match_type type;
    struct sg_str name;
    struct sg_str value; /* the pattern text for RE/NRE */
    struct sg_regex *re; /* RE/NRE only */
};

/* Options for regex compilation; NULL means Prometheus 2.x defaults. */
struct sg_regex_opts {
    bool dot_matches_newline;   /* 3.x: ^(?s:re)$ */
    uint32_t match_limit;       /* PCRE2 match limit; 0 = default 1,000,000 */
    uint32_t depth_limit;       /* PCRE2 depth limit; 0 = default 10,000 */
    bool unanchored;            /* compile for sg_regex_search (Go's regexp.Compile as is,
                                 * not ^(?:re)$); errors then quote the pattern as written */
    /* label_replace: Prometheus compiles only ^(?:re)$ there, so a pattern
     * like `a)(b` is valid (matchers also parse re alone and reject it) */
    bool wrapped_only;
};

/* Check a pattern against RE2's syntax. SG_EPARSE with the offset (within
 * the pattern) in err->off and a message naming the construct, e.g.
 * "invalid or unsupported Perl syntax: `(?=`". */
SG_NODISCARD int sg_regex_check_re2(struct sg_str pattern, struct sg_err *err);

/* Compile (check + anchor + PCRE2 compile + JIT). The regex is freed with
 * sg_regex_free; compiled into an arena with sg_regex_compile_in, it is
 * released with the arena. */
SG_NODISCARD int sg_regex_compile(struct sg_str pattern, const struct sg_regex_opts *opts,
                                  struct sg_regex **out, struct sg_err *err);
SG_NODISCARD int sg_regex_compile_in(struct sg_arena *a, struct sg_str pattern,
                                     const struct sg_regex_opts *opts, struct sg_regex **out,
                                     struct sg_err *err);
void sg_regex_free(struct sg_regex *re);
/* Whole-string match. Returns 1 (match), 0 (no match), or a negative code
 * (SG_ELIMIT when a match or depth limit was hit, with a message naming the
 * pattern). Thread-compatible: each regex carries its own match data. */
int sg_regex_match(const struct sg_regex *re, struct sg_str s, struct sg_err *err);
/* Match with capture groups for label_replace: on a match, groups[2*i] and
 * groups[2*i+1] hold the byte offsets of group i (-1 when unset), for up to
 * max_groups groups; *ngroups is the pattern's group count + 1. */
int sg_regex_match_groups(const struct sg_regex *re, struct sg_str s, int64_t *groups,
                          size_t max_groups, size_t *ngroups, struct sg_err *err);
/* Leftmost-first search of a regex compiled with opts->unanchored, as Go's
 * regexp searches from byte `start` of s (the text before start still
 * counts for \b and ^). On a match returns 1 and fills groups like
 * sg_regex_match_groups (offsets into s); 0 when there is none; negative
 * on a limit. */
int sg_regex_search(const struct sg_regex *re, struct sg_str s, size_t start, int64_t *groups,
                    size_t max_groups, size_t *ngroups, struct sg_err *err);
/* Names of capture groups: the index of a named group, or -1. */
int sg_regex_group_index(const struct sg_regex *re, struct sg_str name);
/* The pattern text the regex was compiled from. */
struct sg_str sg_regex_pattern(const struct sg_regex *re);

/* Build a matcher; for RE/NRE compiles the pattern in the arena. Strings are
 * copied into the arena. */
SG_NODISCARD int sg_matcher_init(struct sg_matcher *m, struct sg_arena *a, enum sg_match_type type,
                                 struct sg_str name, struct sg_str value,
                                 const struct sg_regex_opts *opts, struct sg_err *err);
/* 1 when value satisfies the matcher, 0 when not, negative on a regex limit. */
int sg_matcher_match(const struct sg_matcher *m, struct sg_str value, struct sg_err *err);
/* True when the matcher accepts the empty string (so it also selects series
 * without the label). Regex limits count as "no". */
bool sg_matcher_matches_empty(const struct sg_matcher *m);
/* 1 when every matcher accepts the set (a missing label has value ""), 0 if
 * not, negative on a regex limit. */
int sg_matchers_match(const struct sg_matcher *ms, size_t n, const struct sg_labels *ls,
                      struct sg_err *err);
/* "=", "!=", "=~", "!~". */
const char *sg_match_op(enum sg_match_type type);

#endif
