/* src/promql/compat.c - compatibility profiles: one named row of flags per
 * Prometheus version whose PromQL behaviour differs from 2.42 (see the
 * version table in the PromQL facts reference). 2.42 is the default and the
 * parity target.
 */
#include <string.h>

#include "stopgate/promql.h"

static const struct sg_promql_compat profiles[] = {
    {
        .name = "2.42",
    },
    {
        /* 2.51: rate extrapolation checks the threshold first (Kahan
         * summation in the sum aggregation only came with 2.54) */
        .name = "2.51",
        .rate_threshold_first = true,
    },
    {
        .name = "3.0",
        .range_left_open = true,
        .lookback_left_open = true,
        .subquery_left_open = true,
        .rate_threshold_first = true,
        .regex_dot_all = true,
        .kahan_sum_aggr = true,
        .json_float_exponent = true,
        /* not yet flags: duration literals, the holt_winters rename, quoted
         * UTF-8 names, delayed __name__ removal (docs/promql.md) */
    },
};

const struct sg_promql_compat *sg_promql_compat_find(const char *version)
{
    if (!version)
        return NULL;
    for (size_t i = 0; i < SG_ARRAY_LEN(profiles); i++)
        if (strcmp(profiles[i].name, version) == 0)
            return &profiles[i];
    return NULL;
}

const struct sg_promql_compat *sg_promql_compat_default(void)
{
    return &profiles[0];
}

const char *sg_promql_compat_list(void)
{
    return "2.42, 2.51, 3.0";
}
