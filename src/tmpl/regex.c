/* src/tmpl/regex.c - reReplaceAll and match: Go's regexp.ReplaceAllString
 * (with $1 / ${1} / $name / ${name} expansion, $$ for a dollar) and
 * regexp.MatchString, unanchored, on the RE2-syntax regexes of the labels
 * module (labels.h, opts.unanchored + sg_regex_search).
 *
 * Prometheus compiles the pattern at every call (regexp.MustCompile); a bad
 * pattern panics in reReplaceAll, which the template engine reports as
 * "regexp: Compile(`pat`): error parsing regexp: ...", and is an ordinary
 * error in match ("error parsing regexp: ...").
 */
#include <stdio.h>
#include <string.h>

#include "tmpl/tmpl_int.h"

#define MAX_GROUPS 64

static int compile(struct sg_str pattern, struct sg_regex **re, bool must, char *err, size_t errn)
{
    struct sg_regex_opts o;
    struct sg_err e;
    int rc;

    memset(&o, 0, sizeof(o));
    o.unanchored = true;
    sg_err_clear(&e);
    rc = sg_regex_compile(pattern, &o, re, &e);
    if (rc == SG_OK)
        return SG_OK;
    if (rc == SG_ENOMEM)
        return rc;
    if (!must) {
        snprintf(err, errn, "%s", e.msg);
    } else if (sg_tmpl__can_backquote(pattern)) {
        snprintf(err, errn, "regexp: Compile(`%.*s`): %s", (int)pattern.len, pattern.ptr, e.msg);
    } else {
        struct sg_buf q;
        sg_buf_init(&q, errn);
        if (sg_tmpl__quote(pattern, false, &q) != SG_OK) {
            /* too long to quote whole: the message is cut anyway */
        }
        snprintf(err, errn, "regexp: Compile(%s): %s", sg_buf_cstr(&q), e.msg);
        sg_buf_cleanup(&q);
    }
    return SG_EEVAL;
}

static bool name_rune(uint32_t r)
{
    return r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
           (r >= 0x80 && r != SG_RUNE_ERROR);
}

/* Go's regexp.Regexp.expand of `tmpl` for one match */
static int expand(const struct sg_regex *re, struct sg_str tmpl, struct sg_str src,
                  const int64_t *m, size_t ng, struct sg_buf *out)
{
    size_t i = 0;
    int rc = SG_OK;

    while (i < tmpl.len && rc == SG_OK) {
        const char *d = memchr(tmpl.ptr + i, '$', tmpl.len - i);
        size_t pos, j, nstart, nend;
        bool brace = false;
        long num = 0;
        struct sg_str name;
        if (!d)
            break;
        pos = (size_t)(d - tmpl.ptr);
        rc = sg_buf_append(out, tmpl.ptr + i, pos - i);
        i = pos + 1;
        if (rc != SG_OK)
            break;
        if (i < tmpl.len && tmpl.ptr[i] == '$') {
            rc = sg_buf_putc(out, '$');
            i++;
            continue;
        }
        /* extract a name or {name} */
        j = i;
        if (j < tmpl.len && tmpl.ptr[j] == '{') {
            brace = true;
            j++;
        }
        nstart = j;
        while (j < tmpl.len) {
            size_t w;
            uint32_t r = sg_utf8_decode(tmpl.ptr + j, tmpl.len - j, &w);
            if (!name_rune(r))
                break;
            j += w;
        }
        nend = j;
        if (nend == nstart || (brace && (j >= tmpl.len || tmpl.ptr[j] != '}'))) {
            /* malformed: the $ is literal text */
            rc = sg_buf_putc(out, '$');
            continue;
        }
        if (brace)
            j++;
        name = sg_str_make(tmpl.ptr + nstart, nend - nstart);
        i = j;
        for (size_t k = 0; k < name.len; k++) {
            if (name.ptr[k] < '0' || name.ptr[k] > '9' || num >= 100000000) {
                num = -1;
                break;
            }
            num = num * 10 + (name.ptr[k] - '0');
        }
        if (name.ptr[0] == '0' && name.len > 1)
            num = -1;
        if (num < 0) {
            int gi = sg_regex_group_index(re, name);
            num = gi;
        }
        if (num >= 0 && (size_t)num < ng && m[2 * num] >= 0)
            rc = sg_buf_append(out, src.ptr + m[2 * num], (size_t)(m[2 * num + 1] - m[2 * num]));
    }
    if (rc == SG_OK && i < tmpl.len)
        rc = sg_buf_append(out, tmpl.ptr + i, tmpl.len - i);
    return rc;
}

static int replace_all(const struct sg_regex *re, struct sg_str src, struct sg_str repl,
                       struct sg_buf *out, char *err, size_t errn)
{
    size_t last_end = 0, search = 0;
    int64_t m[2 * MAX_GROUPS];
    int rc = SG_OK;

    while (search <= src.len) {
        size_t ng = 0, w;
        struct sg_err e;
        int r;
        sg_err_clear(&e);
        r = sg_regex_search(re, src, search, m, MAX_GROUPS, &ng, &e);
        if (r < 0) {
            snprintf(err, errn, "%s", e.msg);
            return r == SG_ENOMEM ? r : SG_EEVAL;
        }
        if (r == 0)
            break;
        if (ng > MAX_GROUPS)
            ng = MAX_GROUPS;
        rc = sg_buf_append(out, src.ptr + last_end, (size_t)m[0] - last_end);
        if (rc != SG_OK)
            return rc;
        /* an empty match right after the previous one is not replaced */
        if ((size_t)m[1] > last_end || m[0] == 0) {
            rc = expand(re, repl, src, m, ng, out);
            if (rc != SG_OK)
                return rc;
        }
        last_end = (size_t)m[1];
        if (search < src.len)
            sg_utf8_decode(src.ptr + search, src.len - search, &w);
        else
            w = 0;
        if (search + w > (size_t)m[1])
            search += w;
        else if (search + 1 > (size_t)m[1])
            search++;
        else
            search = (size_t)m[1];
    }
    return sg_buf_append(out, src.ptr + last_end, src.len - last_end);
}

int sg_tmpl__regex_func(enum tf_id id, const struct tv *argv, struct sg_buf *out, char *err,
                        size_t errn)
{
    struct sg_regex *re = NULL;
    int rc;

    if (id == TF_MATCH) {
        int64_t m[2];
        size_t ng;
        struct sg_err e;
        rc = compile(argv[0].s, &re, false, err, errn);
        if (rc != SG_OK)
            return rc;
        sg_err_clear(&e);
        rc = sg_regex_search(re, argv[1].s, 0, m, 1, &ng, &e);
        sg_regex_free(re);
        if (rc < 0) {
            snprintf(err, errn, "%s", e.msg);
            return rc == SG_ENOMEM ? rc : SG_EEVAL;
        }
        return sg_buf_putc(out, rc == 1 ? '1' : '0');
    }
    rc = compile(argv[0].s, &re, true, err, errn);
    if (rc != SG_OK)
        return rc;
    rc = replace_all(re, argv[2].s, argv[1].s, out, err, errn);
    sg_regex_free(re);
    return rc;
}
