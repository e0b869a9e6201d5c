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
 * Each regex owns its match data and JIT stack, so matching allocates
 * nothing. Hitting the match, depth or JIT stack limit is SG_ELIMIT.
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
#define JIT_STACK_MAX       (512 * 1024)
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
    rc = sg_labels__re2_translate(pattern, false, &tmp, NULL, err);
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
    if (opts && opts->unanchored) {
        /* a search keeps only the group names: the literal fast path
         * decides whole-string matches */
        rc = sg_labels__re2_translate_ex(pattern, dot_all, false, &pcre, &re->fast, err);
        if (rc == SG_OK) {
            struct sg_str *names = re->fast.names;
            size_t ngroups = re->fast.ngroups;
            re->fast.names = NULL;
            re->fast.ngroups = 0;
            sg_labels__fast_cleanup(&re->fast);
            memset(&re->fast, 0, sizeof(re->fast));
            re->fast.names = names;
            re->fast.ngroups = ngroups;
        }
    } else
        rc = sg_labels__re2_translate(pattern, dot_all, &pcre, &re->fast, err);
    if (rc != SG_OK)
        goto fail;
    re->pattern.ptr = sg_memdup(pattern.ptr, pattern.len ? pattern.len : 1);
    re->pattern.len = pattern.len;
    if (!re->pattern.ptr) {
        rc = sg_err_set(err, SG_ENOMEM, "compiling regex");
        goto fail;
    }
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

static int run(const struct sg_regex *re, struct sg_str s, struct sg_err *err)
{
    int rc;

    if (re->jit)
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, 0, 0, re->md,
                             re->mctx);
    else
        rc = pcre2_match(re->code, (PCRE2_SPTR)(s.ptr ? s.ptr : ""), s.len, 0, 0, re->md, re->mctx);
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

int sg_regex_match(const struct sg_regex *re, struct sg_str s, struct sg_err *err)
{
    int fast = sg_labels__fast_match(&re->fast, s);

    if (fast >= 0)
        return fast;
    return run(re, s, err);
}

int sg_regex_match_groups(const struct sg_regex *re, struct sg_str s, int64_t *groups,
                          size_t max_groups, size_t *ngroups, struct sg_err *err)
{
    uint32_t cap = 0;
    PCRE2_SIZE *ov;
    int rc;

    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &cap);
    *ngroups = (size_t)cap + 1;
    rc = run(re, s, err);
    if (rc <= 0)
        return rc;
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
