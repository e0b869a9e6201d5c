/* tests/fuzz/fuzz_tmpl.c - Go templates on arbitrary bytes.
 *
 * Parses the bytes as a template with small limits, looks for unsupported
 * constructs, and executes it over a fixed alert into a small buffer; then
 * does the same through Prometheus's alert prelude. Whatever the input: no
 * crash, no leak, every error has a message, output never exceeds its cap.
 */
#include <stdint.h>
#include <string.h>

#include "stopgate/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_tmpl_limits lim = {.max_len = 4096, .max_depth = 32, .max_nodes = 2000,
                                 .max_output = 4096, .max_steps = 20000};
    struct sg_label l[3] = {{{"__name__", 8}, {"up", 2}},
                            {{"instance", 8}, {"host.example:9090", 17}},
                            {{"job", 3}, {"node", 4}}};
    struct sg_labels ls = {l, 3};
    struct sg_label el[1] = {{{"cluster", 7}, {"c1", 2}}};
    struct sg_labels els = {el, 1};
    struct sg_tmpl_data d = {&ls, &els, {"http://ext/", 11}, 1234.5};
    struct sg_str text = sg_str_make((const char *)data, size);
    struct sg_arena a;
    struct sg_tmpl *t = NULL;
    struct sg_buf out;
    struct sg_err err;
    char what[64];
    uint32_t off;
    int rc;

    if (size > 4096)
        return 0;
    sg_arena_init(&a, 32 << 20);
    sg_buf_init(&out, 8192);
    sg_err_clear(&err);
    rc = sg_tmpl_parse(text, "fuzz", &a, &lim, &t, &err);
    if (rc != SG_OK) {
        if (err.msg[0] == '\0')
            __builtin_trap();
    } else {
        if (sg_tmpl_find_unsupported(t, what, sizeof(what), &off) && off > size)
            __builtin_trap();
        sg_err_clear(&err);
        rc = sg_tmpl_exec(t, &d, &out, &err);
        if (rc != SG_OK && err.msg[0] == '\0')
            __builtin_trap();
        if (out.len > lim.max_output)
            __builtin_trap();
    }
    sg_arena_reset(&a);
    sg_buf_reset(&out);
    sg_err_clear(&err);
    if (sg_tmpl_expand_alert(text, sg_str_c("Fuzz"), &d, &a, &out, &err) != SG_OK &&
        err.msg[0] == '\0')
        __builtin_trap();
    sg_buf_cleanup(&out);
    sg_arena_cleanup(&a);
    return 0;
}
