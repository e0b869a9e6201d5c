/* tests/integration/rr_dump.c - print exactly what the remote-read client
 * returns, for the integration suites: one line per sample,
 *     <labels as name="value" pairs>\t<value bits, 16 hex digits>\t<ms>
 * then a stats line on stderr. Built by the suites against the core
 * library of the build under test.
 *
 *     rr_dump URL auto|samples|streamed START_MS END_MS SELECTOR...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stopgate/promql.h"
#include "stopgate/rr.h"

int main(int argc, char **argv)
{
    struct sg_rr_options o;
    struct sg_rr_client *c;
    struct sg_rr_query q[16];
    struct sg_rr_result res;
    struct sg_arena a;
    struct sg_err err;
    int n = argc - 5;

    if (argc < 6 || n > 16) {
        fprintf(stderr, "usage: rr_dump URL TYPE START_MS END_MS SELECTOR...\n");
        return 2;
    }
    sg_err_clear(&err);
    sg_arena_init(&a, 0);
    sg_rr_options_init(&o);
    o.url = argv[1];
    if (sg_rr_response_type_parse(argv[2], &o.response_type, &err) != SG_OK)
        goto fail;
    for (int i = 0; i < n; i++) {
        struct sg_matcher *ms;
        size_t nm;
        if (sg_promql_parse_selector(sg_str_c(argv[5 + i]), "selector", &a, NULL, &ms, &nm, &err) !=
            SG_OK)
            goto fail;
        q[i].start_ms = strtoll(argv[3], NULL, 10);
        q[i].end_ms = strtoll(argv[4], NULL, 10);
        q[i].matchers = ms;
        q[i].nmatchers = nm;
        q[i].hints = NULL;
    }
    if (sg_rr_client_new(&o, &c, &err) != SG_OK)
        goto fail;
    if (sg_rr_read(c, q, (size_t)n, &a, &res, &err) != SG_OK)
        goto fail;
    for (size_t i = 0; i < res.count; i++) {
        for (size_t k = 0; k < res.sets[i].count; k++) {
            const struct sg_series *s = &res.sets[i].v[k];
            for (size_t j = 0; j < s->count; j++) {
                for (uint32_t l = 0; l < s->labels.count; l++)
                    printf("%s%.*s=\"%.*s\"", l ? "," : "", (int)s->labels.v[l].name.len,
                           s->labels.v[l].name.ptr, (int)s->labels.v[l].value.len,
                           s->labels.v[l].value.ptr);
                printf("\t%016llx\t%lld\n", (unsigned long long)sg_f64_bits(s->samples[j].v),
                       (long long)s->samples[j].t);
            }
        }
    }
    fprintf(stderr, "type=%s series=%llu samples=%llu frames=%llu chunks=%llu attempts=%d\n",
            sg_rr_response_type_name(res.stats.response_type),
            (unsigned long long)res.stats.series, (unsigned long long)res.stats.samples,
            (unsigned long long)res.stats.frames, (unsigned long long)res.stats.chunks,
            res.stats.attempts);
    sg_rr_client_free(c);
    sg_arena_cleanup(&a);
    return 0;
fail:
    fprintf(stderr, "rr_dump: %s\n", err.msg);
    return 1;
}
