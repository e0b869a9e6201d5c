/* src/labels/labels_int.h - declarations shared by the labels module's files. */
#ifndef SG_LABELS_INT_H
#define SG_LABELS_INT_H

#include "stopgate/labels.h"

/* What a pattern can be matched by without PCRE2 (provably the same
 * answer as the anchored regex):
 *   FAST_NONE      run PCRE2, after checking the literal prefix and suffix
 *                  every match must have (when they are not empty)
 *   FAST_SET       the value equals one of lits (an alternation of plain
 *                  literals, or one literal); lits sorted by (len, bytes)
 *   FAST_PREFIX    lit.*   the value starts with prefix
 *   FAST_SUFFIX    .*lit   the value ends with suffix
 *   FAST_CONTAINS  .*lit.* the value contains mid
 * For the last three, the part `.*` covers must not hold a '\n' unless
 * that `.` matches newlines (dot_nl).
 */
enum sg_re2_fast_kind {
    SG_FAST_NONE = 0,
    SG_FAST_SET,
    SG_FAST_PREFIX,
    SG_FAST_SUFFIX,
    SG_FAST_CONTAINS
};

struct sg_re2_fast {
    enum sg_re2_fast_kind kind;
    bool dot_nl;
    struct sg_str *lits; /* sg_malloc'd array of sg_malloc'd strings */
    size_t nlits;
    struct sg_str prefix, suffix, mid; /* sg_malloc'd */
    /* capture group names: names[i] is the name of group i+1 (len 0 when
     * unnamed), pointing into the pattern text that was translated (the
     * regex's own copy); the array is sg_malloc'd */
    struct sg_str *names;
    size_t ngroups;
};

/* How the pattern is used, which decides what Go parses and what is
 * translated:
 *   SG_RE2_MATCHER       a label matcher: ^(?:re)$ and re alone must parse
 *   SG_RE2_WRAPPED_ONLY  label_replace: only ^(?:re)$ must parse
 *   SG_RE2_UNANCHORED    a search (templates): re as written, no anchors */
enum sg_re2_mode { SG_RE2_MATCHER = 0, SG_RE2_WRAPPED_ONLY, SG_RE2_UNANCHORED };

/* Parse `pattern` with Go regexp/syntax's Perl rules, as Prometheus does
 * for the mode, and write an equivalent PCRE2 pattern to out (fully
 * anchored except in SG_RE2_UNANCHORED). dot_nl starts with `.` matching
 * '\n' (3.x). On success fills *fast (may be NULL; the fast path is only
 * set for SG_RE2_MATCHER, group names always). SG_EPARSE with Go's message
 * ("error parsing regexp: missing closing ): `...`"), SG_ENOMEM, SG_ELIMIT. */
int sg_labels__re2_translate(struct sg_str pattern, enum sg_re2_mode mode, bool dot_nl,
                             struct sg_buf *out, struct sg_re2_fast *fast, struct sg_err *err);
void sg_labels__fast_cleanup(struct sg_re2_fast *f);
/* 1 or 0 when the fast path decides, -1 when PCRE2 must run. */
int sg_labels__fast_match(const struct sg_re2_fast *f, struct sg_str s);

#endif
