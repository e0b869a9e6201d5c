/* tests/fuzz/fuzz_alertmanager_webhook.c - the Alertmanager webhook
 * parser (payload version 4) on arbitrary bytes.
 *
 * Whatever the input, sg_am_parse returns a code without crashing; on
 * success every alert has labels, sorted with unique valid names, and a
 * status, and everything it returned lives in the arena (ASan checks the
 * reads below).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/daemon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_arena a;
    struct sg_am_payload p;
    size_t total = 0;

    if (size > 1 << 16)
        return 0;
    sg_arena_init(&a, 1 << 24);
    if (sg_am_parse(sg_str_make((const char *)data, size), &a, &p, NULL) == SG_OK) {
        if (!sg_str_eq_c(p.version, "4"))
            __builtin_trap();
        for (size_t i = 0; i < p.count; i++) {
            const struct sg_labels *ls = &p.alerts[i].labels;
            if (ls->count == 0)
                __builtin_trap();
            for (uint32_t j = 0; j < ls->count; j++) {
                if (!sg_label_name_valid(ls->v[j].name))
                    __builtin_trap();
                if (j && sg_str_cmp(ls->v[j - 1].name, ls->v[j].name) >= 0)
                    __builtin_trap();
                total += ls->v[j].value.len;
            }
        }
    }
    sg_arena_cleanup(&a);
    return total == SIZE_MAX;
}
