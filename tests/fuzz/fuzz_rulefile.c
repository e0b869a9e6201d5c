/* tests/fuzz/fuzz_rulefile.c - rule files on arbitrary bytes.
 *
 * Loads the bytes as a rule file with every check and lint on, the way
 * `stopgate check rules` does, then expands every template of every
 * alerting rule over a fixed alert. Whatever the input: no crash, no leak;
 * every reported problem has a message; a failed load always reports at
 * least one error; a loaded set is consistent.
 */
#include <stdint.h>
#include <string.h>

#include "stopgate/rules.h"
#include "stopgate/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct counts {
    size_t errors, warnings;
};

static void on_diag(const struct sg_diag *d, void *arg)
{
    struct counts *c = arg;

    if (!d->msg || !d->msg[0] || !d->file)
        __builtin_trap();
    if (d->level == SG_DIAG_ERROR)
        c->errors++;
    else
        c->warnings++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_rules_load_opts opts = {0};
    struct counts c = {0, 0};
    struct sg_ruleset *rs;
    struct sg_err err;
    size_t nrules = 0, ngroups;
    const struct sg_rule_group *groups;
    int rc;

    if (size > 16384)
        return 0;
    rs = sg_ruleset_new();
    if (!rs)
        return 0;
    opts.diag = on_diag;
    opts.diag_arg = &c;
    opts.lint_duplicates = true;
    opts.lint_stopgate = true;
    opts.max_file_bytes = 16384;
    sg_err_clear(&err);
    rc = sg_ruleset_add_text(rs, sg_str_make((const char *)data, size), "fuzz.yml", &opts, &nrules,
                             &err);
    if (rc == SG_EPARSE && (c.errors == 0 || err.msg[0] == '\0'))
        __builtin_trap();
    if (rc == SG_OK && c.errors != 0)
        __builtin_trap();
    groups = sg_ruleset_groups(rs, &ngroups);
    if (rc == SG_OK && sg_ruleset_rule_count(rs) != nrules)
        __builtin_trap();
    for (size_t g = 0; g < ngroups; g++) {
        for (size_t i = 0; i < groups[g].nrules; i++) {
            const struct sg_rule *r = &groups[g].rules[i];
            struct sg_label l[2] = {{{"instance", 8}, {"h:1", 3}}, {{"job", 3}, {"j", 1}}};
            struct sg_labels ls = {l, 2};
            struct sg_tmpl_data d = {&ls, NULL, {"http://x", 8}, 1.5};
            struct sg_arena a;
            struct sg_buf out;
            if (r->group != &groups[g] || !r->expr)
                __builtin_trap();
            if (r->kind != SG_RULE_ALERT)
                continue;
            sg_arena_init(&a, 16 << 20);
            sg_buf_init(&out, 1 << 16);
            for (uint32_t k = 0; k < r->annotations.count; k++) {
                sg_buf_reset(&out);
                sg_err_clear(&err);
                if (sg_tmpl_expand_alert(r->annotations.v[k].value, r->name, &d, &a, &out, &err) !=
                        SG_OK &&
                    err.msg[0] == '\0')
                    __builtin_trap();
                sg_arena_reset(&a);
            }
            sg_buf_cleanup(&out);
            sg_arena_cleanup(&a);
        }
    }
    sg_ruleset_free(rs);
    return 0;
}
