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
    o->response_type = SG_RR_RESPONSE_AUTO;
}

int sg_rr_options_from_config(const struct sg_remote_read_config *cfg, struct sg_arena *a,
                              struct sg_rr_options *o, struct sg_err *err)
{
    sg_rr_options_init(o);
    o->url = cfg->url;
    if (cfg->timeout_ms > 0)
        o->timeout_ms = cfg->timeout_ms;
    o->response_type = cfg->response_type;
    o->bearer_token_file = cfg->bearer_token_file;
    if (cfg->has_basic_auth) {
        o->basic_auth_username = cfg->basic_auth.username;
        o->basic_auth_password_file = cfg->basic_auth.password_file;
        if (o->bearer_token_file) /* config.h: the bearer token wins */
            o->basic_auth_username = o->basic_auth_password_file = NULL;
    }
    if (cfg->headers.count) {
        struct sg_rr_header *h = sg_arena_alloc_array(a, cfg->headers.count, sizeof(*h));
        if (!h)
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        for (size_t i = 0; i < cfg->headers.count; i++) {
            h[i].name = cfg->headers.v[i].name;
            h[i].value = cfg->headers.v[i].value;
        }
        o->headers = h;
        o->nheaders = cfg->headers.count;
    }
    o->tls.ca_file = cfg->tls.ca_file;
    o->tls.cert_file = cfg->tls.cert_file;
    o->tls.key_file = cfg->tls.key_file;
    o->tls.server_name = cfg->tls.server_name;
    o->tls.insecure_skip_verify = cfg->tls.insecure_skip_verify;
    if (cfg->external_labels.count) {
        struct sg_label *l = sg_arena_alloc_array(a, cfg->external_labels.count, sizeof(*l));
        if (!l)
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        for (size_t i = 0; i < cfg->external_labels.count; i++) {
            l[i].name = sg_str_c(cfg->external_labels.v[i].name);
            l[i].value = sg_str_c(cfg->external_labels.v[i].value);
        }
        o->external_labels = l;
        o->nexternal_labels = cfg->external_labels.count;
    }
    if (cfg->max_response_bytes)
        o->max_response_bytes = cfg->max_response_bytes > SIZE_MAX ? SIZE_MAX
                                                                     : (size_t)cfg->max_response_bytes;
    if (cfg->max_frame_bytes)
        o->max_frame_bytes = cfg->max_frame_bytes > SIZE_MAX ? SIZE_MAX
                                                               : (size_t)cfg->max_frame_bytes;
    if (cfg->max_samples)
        o->max_samples = cfg->max_samples;
    o->retries = (int)(cfg->retries.max > 100 ? 100 : cfg->retries.max);
    if (cfg->retries.min_backoff_ms > 0)
        o->min_backoff_ms = cfg->retries.min_backoff_ms;
    if (cfg->retries.max_backoff_ms > 0)
        o->max_backoff_ms = cfg->retries.max_backoff_ms;
    return SG_OK;
}

const char *sg_rr_response_type_name(enum sg_rr_response_type t)
{
    switch (t) {
    case SG_RR_RESPONSE_SAMPLES:
        return "samples";
    case SG_RR_RESPONSE_STREAMED:
        return "streamed";
    case SG_RR_RESPONSE_AUTO:
        break;
    }
    return "auto";
}

int sg_rr_response_type_parse(const char *s, enum sg_rr_response_type *out, struct sg_err *err)
{
    if (strcmp(s, "auto") == 0)
        *out = SG_RR_RESPONSE_AUTO;
    else if (strcmp(s, "samples") == 0)
        *out = SG_RR_RESPONSE_SAMPLES;
    else if (strcmp(s, "streamed") == 0)
        *out = SG_RR_RESPONSE_STREAMED;
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
