/* tests/fuzz/fuzz_unittest_file.c - promtool test files on arbitrary bytes.
 *
 * Decodes a test file (YAML with yaml.v2's strict rules) and parses every
 * input series as a series description (metric and value sequence), with
 * small limits and no evaluation. Whatever the input: no crash, no leak; a failure always has a
 * message; a success has every count consistent with its arrays.
 */
#include <stdint.h>
#include <string.h>

#include "stopgate/unittest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_ut_limits lim = {.max_file_bytes = 16384, .max_samples = 4096};
    struct sg_arena a;
    struct sg_ut_file *f = NULL;
    struct sg_buf msg, line;
    struct sg_err err;
    int rc;

    if (size > 16384)
        return 0;
    sg_arena_init(&a, 64 << 20);
    sg_buf_init(&msg, 1 << 20);
    sg_buf_init(&line, 1 << 20);
    sg_err_clear(&err);
    rc = sg_ut_file_parse(sg_str_make((const char *)data, size), "fuzz.yml", &a, &lim, &f, &msg,
                          &err);
    if (rc != SG_OK) {
        if (err.msg[0] == '\0' || msg.len == 0)
            __builtin_trap();
        goto out;
    }
    for (size_t g = 0; g < f->ntests; g++) {
        const struct sg_ut_group *grp = &f->tests[g];
        if ((grp->nseries && !grp->series) || (grp->nexprs && !grp->exprs) ||
            (grp->nalerts && !grp->alerts))
            __builtin_trap();
        for (size_t i = 0; i < grp->nseries; i++) {
            struct sg_ut_value *v;
            struct sg_labels ls;
            size_t n;
            sg_buf_reset(&line);
            if (sg_buf_append_str(&line, grp->series[i].series) != SG_OK ||
                sg_buf_putc(&line, ' ') != SG_OK ||
                sg_buf_append_str(&line, grp->series[i].values) != SG_OK)
                continue;
            sg_err_clear(&err);
            rc = sg_ut_series_parse(sg_buf_view(&line), &a, lim.max_samples, &ls, &v, &n, &err);
            if (rc == SG_OK && n > lim.max_samples)
                __builtin_trap();
            if (rc != SG_OK && err.msg[0] == '\0')
                __builtin_trap();
        }
    }
out:
    sg_buf_cleanup(&line);
    sg_buf_cleanup(&msg);
    sg_arena_cleanup(&a);
    return 0;
}
