/* src/labels/regex.c - RE2-syntax regexes for label matchers, run on PCRE2.
 *
 * Prometheus 2.42 compiles a matcher's pattern with Go's regexp as
 * ^(?:re)$. Go accepts RE2 syntax only, and some of what PCRE2 accepts
 * means something else there. So a pattern is first parsed with RE2's
 * rules (re2syntax.c): what Go rejects is rejected here with Go's message,
 * and what Go accepts is rewritten into an equivalent PCRE2 pattern (for
 * example \s, which is [\t\n\f\r ] in RE2 but includes \v in PCRE2). The
 * result is compiled with
 *   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
 *   PCRE2_ALLOW_EMPTY_CLASS | PCRE2_NEVER_BACKSLASH_C, newline LF,
 * anchored as ^(?:re)$ (or ^(?s:re)$ for the 3.x profile, where `.` also
 * matches a newline) and JIT-compiled.
 *
 * Patterns that are plain literals or alternations of literals are matched
 * without PCRE2 (a byte comparison or a set lookup), and a literal prefix
 * is checked before running PCRE2; both only where the result is provably
 * the same (see literal analysis in re2syntax.c).
 *
 * Go reads a byte that is not UTF-8 as U+FFFD, which `.` and negated
 * classes match; PCRE2 never matches such a byte. A value that is not
 * valid UTF-8 is therefore matched as a copy with those bytes replaced by
 * U+FFFD (capture offsets are mapped back), which gives Go's answers.
 *
 * Each regex owns its match data and JIT stack, so matching valid UTF-8
 * allocates nothing. Hitting the match, depth or JIT stack limit is
 * SG_ELIMIT.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "stopgate/labels.h"

#include "labels_int.h"

#define DEFAULT_MATCH_LIMIT 1000000u
#define DEFAULT_DEPTH_LIMIT 10000u
#define JIT_STACK_MIN       (32 * 1024)
#define JIT_STACK_MAX       (256 * 1024)
#define MAX_PATTERN         (64 * 1024)

struct sg_regex {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    bool jit;
    struct sg_str pattern; /* the source text (owned copy) */
    struct sg_re2_fast fast;
};

static void regex_free_cb(void *p)
{
    sg_regex_free(p);
}

void sg_regex_free(struct sg_regex *re)
{
    if (!re)
        return;
    pcre2_match_data_free(re->md);
    pcre2_match_context_free(re->mctx);
    pcre2_jit_stack_free(re->jit_stack);
    pcre2_code_free(re->code);
    sg_labels__fast_cleanup(&re->fast);
    sg_free((void *)(uintptr_t)re->pattern.ptr);
    sg_free(re);
}

int sg_regex_check_re2(struct sg_str pattern, struct sg_err *err)
{
    struct sg_buf tmp;
    int rc;

    sg_buf_init(&tmp, 16 * MAX_PATTERN);
    rc = sg_labels__re2_translate(pattern, SG_RE2_MATCHER, false, &tmp, NULL, err);
    sg_buf_cleanup(&tmp);
    return rc;
}

static int compile(struct sg_str pattern, const struct sg_regex_opts *opts, struct sg_regex **out,
                   struct sg_err *err)
{
    struct sg_regex *re;
    struct sg_buf pcre;
    pcre2_compile_context *cctx = NULL;
    int errcode = 0, rc;
    PCRE2_SIZE erroff = 0;
    bool dot_all = opts && opts->dot_matches_newline;
    uint32_t match_limit = opts && opts->match_limit ? opts->match_limit : DEFAULT_MATCH_LIMIT;
    uint32_t depth_limit = opts && opts->depth_limit ? opts->depth_limit : DEFAULT_DEPTH_LIMIT;

    if (pattern.len > MAX_PATTERN)
        return sg_err_set(err, SG_ELIMIT, "regex longer than %u bytes", (unsigned)MAX_PATTERN);
    re = sg_calloc(1, sizeof(*re));
    if (!re)
        return sg_err_set(err, SG_ENOMEM, "compiling regex");
    sg_buf_init(&pcre, 16 * MAX_PATTERN + 64);
    /* translate our own copy: group names point into it */
    re->pattern.ptr = sg_memdup(pattern.len ? pattern.ptr : "", pattern.len ? pattern.len : 1);
    re->pattern.len = pattern.len;
    if (!re->pattern.ptr) {
        rc = sg_err_set(err, SG_ENOMEM, "compiling regex");
        goto fail;
    }
    rc = sg_labels__re2_translate(re->pattern,
                                  opts && opts->unanchored     ? SG_RE2_UNANCHORED
                                  : opts && opts->wrapped_only ? SG_RE2_WRAPPED_ONLY
                                                               : SG_RE2_MATCHER,
                                  dot_all, &pcre, &re->fast, err);
    if (rc != SG_OK)
        goto fail;
    cctx = pcre2_compile_context_create(NULL);
    if (!cctx || pcre2_set_newline(cctx, PCRE2_NEWLINE_LF) != 0) {
        rc = sg_err_set(err, SG_ENOMEM, "compiling regex");
        goto fail;
    }
    re->code = pcre2_compile((PCRE2_SPTR)sg_buf_cstr(&pcre), pcre.len,
                             PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
                                 PCRE2_ALLOW_EMPTY_CLASS | PCRE2_NEVER_BACKSLASH_C,
                             &errcode, &erroff, cctx);
    if (!re->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        rc = sg_err_set(err, errcode == PCRE2_ERROR_HEAP_FAILED ? SG_ENOMEM : SG_EPARSE,
                        "error parsing regexp: %s: `%.*s`", (const char *)msg,
                        (int)(pattern.len > 200 ? 200 : pattern.len), pattern.ptr);
        goto fail;
    }
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
    re->mctx = pcre2_match_context_create(NULL);
    if (!re->md || !re->mctx) {
        rc = sg_err_set(err, SG_ENOMEM, "compiling regex");
        goto fail;
    }
    pcre2_set_match_limit(re->mctx, match_limit);
    pcre2_set_depth_limit(re->mctx, depth_limit);
    if (re->jit) {
        re->jit_stack = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
        if (!re->jit_stack) {
            rc = sg_err_set(err, SG_ENOMEM, "compiling regex");
            goto fail;
        }
        pcre2_jit_stack_assign(re->mctx, NULL, re->jit_stack);
    }
    pcre2_compile_context_free(cctx);
    sg_buf_cleanup(&pcre);
    *out = re;
    return SG_OK;
fail:
    pcre2_compile_context_free(cctx);
    sg_buf_cleanup(&pcre);
    sg_regex_free(re);
    return rc;
}

int sg_regex_compile(struct sg_str pattern, const struct sg_regex_opts *opts, struct sg_regex **out,
                     struct sg_err *err)
{
    return compile(pattern, opts, out, err);
}

int sg_regex_compile_in(struct sg_arena *a, struct sg_str pattern, const struct sg_regex_opts *opts,
                        struct sg_regex **out, struct sg_err *err)
{
    struct sg_regex *re;
    int rc = compile(pattern, opts, &re, err);

    if (rc != SG_OK)
        return rc;
    if (sg_arena_on_release(a, regex_free_cb, re) != SG_OK) {
        sg_regex_free(re);
        return sg_err_set(err, SG_ENOMEM, "compiling regex");
    }
    *out = re;
    return SG_OK;
}

/* Length of the valid UTF-8 prefix of s (s.len when all valid). */
static size_t valid_prefix(struct sg_str s)
{
    size_t i = 0;

    while (i < s.len) {
        size_t w;
        if ((unsigned char)s.ptr[i] < 0x80) {
            i++;
            continue;
        }
        if (sg_utf8_decode(s.ptr + i, s.len - i, &w) == SG_RUNE_ERROR && w == 1)
            return i;
        i += w;
    }
    return s.len;
}

/* Go's regexp reads every byte that is not UTF-8 as U+FFFD (so `.` and
 * [^a] match it). PCRE2 never matches such bytes, so a value that is not
 * valid UTF-8 is matched as a copy with each such byte replaced by U+FFFD.
 * *out is buf when the copy fits, else allocated (sg_free). */
static int sanitize(struct sg_str s, size_t valid, char *buf, size_t bufn, char **out, size_t *outn)
{
    size_t need = s.len * 3, o = valid, i = valid;
    char *d = need <= bufn ? buf : sg_malloc(need ? need : 1);

    if (!d)
        return SG_ENOMEM;
    memcpy(d, s.ptr, valid);
    while (i < s.len) {
        size_t w;
        if (sg_utf8_decode(s.ptr + i, s.len - i, &w) == SG_RUNE_ERROR && w == 1) {
            memcpy(d + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(d + o, s.ptr + i, w);
            o += w;
            i += w;
        }
    }
    *out = d;
    *outn = o;
    return SG_OK;
}

/* Map an offset in the sanitized copy back to the original value. */
static size_t unsanitize_off(struct sg_str s, size_t off)
{
    size_t i = 0, o = 0;

    while (i < s.len && o < off) {
        size_t w;
        if (sg_utf8_decode(s.ptr + i, s.len - i, &w) == SG_RUNE_ERROR && w == 1) {
            o += 3;
            i++;
        } else {
            o += w;
            i += w;
        }
    }
    return i;
}

static int run_on(const struct sg_regex *re, const char *p, size_t n, struct sg_err *err)
{
    int rc;

    if (re->jit)
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR)(p ? p : ""), n, 0, 0, re->md, re->mctx);
    else
        rc = pcre2_match(re->code, (PCRE2_SPTR)(p ? p : ""), n, 0, 0, re->md, re->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
        return sg_err_set(err, SG_ELIMIT, "regex match limit hit for \"%.*s\"",
                          (int)(re->pattern.len > 200 ? 200 : re->pattern.len), re->pattern.ptr);
    if (rc == PCRE2_ERROR_NOMEMORY)
        return sg_err_set(err, SG_ENOMEM, "matching regex \"%.*s\"",
                          (int)(re->pattern.len > 200 ? 200 : re->pattern.len), re->pattern.ptr);
    return sg_err_set(err, SG_EEVAL, "matching regex \"%.*s\": PCRE2 error %d",
                      (int)(re->pattern.len > 200 ? 200 : re->pattern.len), re->pattern.ptr, rc);
}

/* Match s; when sanitized is non-NULL it tells whether s had to be
 * rewritten (offsets in the match data then refer to the copy). */
static int run(const struct sg_regex *re, struct sg_str s, bool *sanitized, struct sg_err *err)
{
    size_t valid = valid_prefix(s), n;
    char buf[1024], *copy;
    int rc;

    if (sanitized)
        *sanitized = valid != s.len;
    if (valid == s.len)
        return run_on(re, s.ptr, s.len, err);
    if (sanitize(s, valid, buf, sizeof(buf), &copy, &n) != SG_OK)
        return sg_err_set(err, SG_ENOMEM, "matching regex");
    rc = run_on(re, copy, n, err);
    if (copy != buf)
        sg_free(copy);
    return rc;
}

int sg_regex_match(const struct sg_regex *re, struct sg_str s, struct sg_err *err)
{
    int fast = sg_labels__fast_match(&re->fast, s);

    if (fast >= 0)
        return fast;
    return run(re, s, NULL, err);
}

int sg_regex_match_groups(const struct sg_regex *re, struct sg_str s, int64_t *groups,
                          size_t max_groups, size_t *ngroups, struct sg_err *err)
{
    uint32_t cap = 0;
    PCRE2_SIZE *ov;
    bool sanitized;
    int rc;

    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &cap);
    *ngroups = (size_t)cap + 1;
    rc = run(re, s, &sanitized, err);
    if (rc <= 0)
        return rc;
    ov = pcre2_get_ovector_pointer(re->md);
    for (size_t i = 0; i < max_groups && i <= cap; i++) {
        if (ov[2 * i] == PCRE2_UNSET) {
            groups[2 * i] = groups[2 * i + 1] = -1;
        } else if (sanitized) {
            groups[2 * i] = (int64_t)unsanitize_off(s, ov[2 * i]);
            groups[2 * i + 1] = (int64_t)unsanitize_off(s, ov[2 * i + 1]);
        } else {
            groups[2 * i] = (int64_t)ov[2 * i];
            groups[2 * i + 1] = (int64_t)ov[2 * i + 1];
        }
    }
    return 1;
}

int sg_regex_search(const struct sg_regex *re, struct sg_str s, size_t start, int64_t *groups,
                    size_t max_groups, size_t *ngroups, struct sg_err *err)
{
    uint32_t cap = 0;
    PCRE2_SIZE *ov;
    int rc;

    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &cap);
    *ngroups = (size_t)cap + 1;
    if (start > s.len)
        return 0;
    if (re->jit)
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, start, 0, re->md,
                             re->mctx);
    else
        rc = pcre2_match(re->code, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, start, 0, re->md,
                         re->mctx);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0) {
        if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
            rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
            return sg_err_set(err, SG_ELIMIT, "regex match limit hit for \"%.*s\"",
                              (int)(re->pattern.len > 200 ? 200 : re->pattern.len),
                              re->pattern.ptr);
        if (rc == PCRE2_ERROR_NOMEMORY)
            return sg_err_set(err, SG_ENOMEM, "matching regex");
        return sg_err_set(err, SG_EEVAL, "matching regex \"%.*s\": PCRE2 error %d",
                          (int)(re->pattern.len > 200 ? 200 : re->pattern.len), re->pattern.ptr,
                          rc);
    }
    ov = pcre2_get_ovector_pointer(re->md);
    for (size_t i = 0; i < max_groups && i <= cap; i++) {
        if (ov[2 * i] == PCRE2_UNSET) {
            groups[2 * i] = groups[2 * i + 1] = -1;
        } else {
            groups[2 * i] = (int64_t)ov[2 * i];
            groups[2 * i + 1] = (int64_t)ov[2 * i + 1];
        }
    }
    return 1;
}

int sg_regex_group_index(const struct sg_regex *re, struct sg_str name)
{
    for (size_t i = 0; i < re->fast.ngroups; i++)
        if (re->fast.names[i].len && sg_str_eq(re->fast.names[i], name))
            return (int)i + 1;
    return -1;
}

struct sg_str sg_regex_pattern(const struct sg_regex *re)
{
    return re->pattern;
}
