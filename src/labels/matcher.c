/* src/labels/matcher.c - label matchers = != =~ !~.
 *
 * A matcher copies its name and value into the arena it is built in and,
 * for regex types, compiles the value there (regex.c). Matching a set
 * treats a missing label as the empty value, as Prometheus does. Only
 * regex matchers can fail at match time (a PCRE2 limit); the error then
 * names the matcher, e.g. `job=~"(a+)+b"`.
 */
#include <string.h>

#include "stopgate/labels.h"

const char *sg_match_op(enum sg_match_type type)
{
    switch (type) {
    case SG_MATCH_EQ:
        return "=";
    case SG_MATCH_NEQ:
        return "!=";
    case SG_MATCH_RE:
        return "=~";
    case SG_MATCH_NRE:
        return "!~";
    }
    return "?";
}

int sg_matcher_init(struct sg_matcher *m, struct sg_arena *a, enum sg_match_type type,
                    struct sg_str name, struct sg_str value, const struct sg_regex_opts *opts,
                    struct sg_err *err)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    if (sg_arena_str(a, name, &m->name) != SG_OK || sg_arena_str(a, value, &m->value) != SG_OK)
        return sg_err_set(err, SG_ENOMEM, "building matcher");
    if (type == SG_MATCH_RE || type == SG_MATCH_NRE)
        return sg_regex_compile_in(a, value, opts, &m->re, err);
    return SG_OK;
}

int sg_matcher_match(const struct sg_matcher *m, struct sg_str value, struct sg_err *err)
{
    int rc;

    switch (m->type) {
    case SG_MATCH_EQ:
        return sg_str_eq(value, m->value);
    case SG_MATCH_NEQ:
        return !sg_str_eq(value, m->value);
    case SG_MATCH_RE:
    case SG_MATCH_NRE:
        if (!m->re)
            return sg_err_set(err, SG_EINVAL, "regex matcher %.*s%s\"%.*s\" is not compiled",
                              (int)m->name.len, m->name.ptr, sg_match_op(m->type),
                              (int)(m->value.len > 200 ? 200 : m->value.len), m->value.ptr);
        rc = sg_regex_match(m->re, value, NULL);
        if (rc < 0)
            return sg_err_set(err, rc,
                              "regex matcher %.*s%s\"%.*s\": match limit exceeded on a value of "
                              "%zu bytes",
                              (int)m->name.len, m->name.ptr, sg_match_op(m->type),
                              (int)(m->value.len > 200 ? 200 : m->value.len), m->value.ptr,
                              value.len);
        return m->type == SG_MATCH_RE ? rc : !rc;
    }
    return sg_err_set(err, SG_EINVAL, "unknown matcher type %d", (int)m->type);
}

bool sg_matcher_matches_empty(const struct sg_matcher *m)
{
    return sg_matcher_match(m, sg_str_make("", 0), NULL) == 1;
}

int sg_matchers_match(const struct sg_matcher *ms, size_t n, const struct sg_labels *ls,
                      struct sg_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = sg_matcher_match(&ms[i], sg_labels_get(ls, ms[i].name), err);
        if (rc <= 0)
            return rc;
    }
    return 1;
}
