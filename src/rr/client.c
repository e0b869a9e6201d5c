/* src/rr/client.c - remote-read client (placeholder until the transport
 * lands): every entry point reports that it is not available yet. */
#include "stopgate/rr.h"

struct sg_rr_client {
    int unused;
};

int sg_rr_client_new(const struct sg_rr_options *opts, struct sg_rr_client **out,
                     struct sg_err *err)
{
    (void)opts;
    (void)out;
    return sg_err_set(err, SG_EINVAL, "remote read is not available yet");
}

void sg_rr_client_free(struct sg_rr_client *c)
{
    (void)c;
}

int sg_rr_read(struct sg_rr_client *c, const struct sg_rr_query *qs, size_t n,
               struct sg_arena *arena, struct sg_rr_result *out, struct sg_err *err)
{
    return sg_err_set(err, SG_EINVAL, "remote read is not available yet");
}

int sg_rr_read_async(struct sg_rr_client *c, struct sg_http *http, const struct sg_rr_query *qs,
                     size_t n, struct sg_arena *arena, sg_rr_done_cb cb, void *arg,
                     struct sg_rr_req **out, struct sg_err *err)
{
    return sg_err_set(err, SG_EINVAL, "remote read is not available yet");
}

void sg_rr_cancel(struct sg_rr_req *req)
{
    (void)req;
}
