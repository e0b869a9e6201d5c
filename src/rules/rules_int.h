/* src/rules/rules_int.h - private declarations shared by the rule files of
 * the rules module (rulefile.c, group.c). Nothing outside src/rules/
 * includes this file.
 */
#ifndef SG_RULES_INT_H
#define SG_RULES_INT_H

#include "stopgate/rules.h"
#include "stopgate/tmpl.h"

/* The parsed templates of an alerting rule, parallel to its sorted labels
 * and annotations (NULL entries for recording rules). */
struct sg_rule_tmpls {
    struct sg_tmpl **labels;
    struct sg_tmpl **annotations;
};

struct sg_ruleset {
    struct sg_arena arena;        /* every group, rule, string, AST and template */
    struct sg_rule_group *groups; /* sg_realloc'd; rule->group pointers are fixed on growth */
    size_t ngroups, cap;
    size_t nrules;
};

#endif
