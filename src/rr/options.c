/* src/rr/options.c - remote-read option defaults, response type names, and
 * the mapping from a planned PromQL selection to a query. No I/O. */
#include <string.h>

#include "stopgate/promql.h"
#include "stopgate/rr.h"

void sg_rr_options_init(struct sg_rr_options *o)
{
    memset(o, 0, sizeof(*o));
    o->timeout_ms = SG_RR_DEFAULT_TIMEOUT_MS;
    o->max_response_bytes = SG_RR_DEFAULT_MAX_RESPONSE;
    o->max_frame_bytes = SG_RR_DEFAULT_MAX_FRAME;
    o->max_samples = SG_RR_DEFAULT_MAX_SAMPLES;
    o->retries = SG_RR_DEFAULT_RETRIES;
    o->min_backoff_ms = SG_RR_DEFAULT_MIN_BACKOFF_MS;
    o->max_backoff_ms = SG_RR_DEFAULT_MAX_BACKOFF_MS;
    o->response_type = SG_RR_AUTO;
}

const char *sg_rr_response_type_name(enum sg_rr_response_type t)
{
    switch (t) {
    case SG_RR_SAMPLES:
        return "samples";
    case SG_RR_STREAMED:
        return "streamed";
    case SG_RR_AUTO:
        break;
    }
    return "auto";
}

int sg_rr_response_type_parse(const char *s, enum sg_rr_response_type *out, struct sg_err *err)
{
    if (strcmp(s, "auto") == 0)
        *out = SG_RR_AUTO;
    else if (strcmp(s, "samples") == 0)
        *out = SG_RR_SAMPLES;
    else if (strcmp(s, "streamed") == 0)
        *out = SG_RR_STREAMED;
    else
        return sg_err_set(err, SG_EINVAL,
                          "unknown response type \"%s\" (expected auto, samples or streamed)", s);
    return SG_OK;
}

void sg_rr_query_from_selection(const struct sg_promql_selection *sel, struct sg_rr_query *q,
                                struct sg_rr_hints *hints)
{
    memset(q, 0, sizeof(*q));
    memset(hints, 0, sizeof(*hints));
    q->start_ms = sel->mint_ms;
    q->end_ms = sel->maxt_ms;
    q->matchers = sel->matchers;
    q->nmatchers = sel->nmatchers;
    hints->start_ms = sel->hint_start_ms;
    hints->end_ms = sel->hint_end_ms;
    hints->step_ms = sel->hint_step_ms;
    hints->range_ms = sel->hint_range_ms;
    hints->func = sel->hint_func;
    hints->grouping = sel->hint_grouping;
    hints->ngrouping = sel->hint_ngrouping;
    hints->by = sel->hint_by;
    q->hints = hints;
}
