/* include/stopgate/http.h - asynchronous HTTP client: libcurl's multi
 * interface driven by a libuv loop.
 *
 * One `struct sg_http` per uv loop holds the curl multi handle, its timer
 * and one uv_poll per socket curl asks us to watch. Each request is one
 * easy handle with its own error buffer, time limits and response cap.
 * Responses are either buffered (capped) or handed to the caller piece by
 * piece as they arrive (on_data), so large bodies can be decoded without
 * ever holding them whole.
 *
 * Contracts (libuv's):
 * - a completion callback runs exactly once, never from inside the call
 *   that started the request;
 * - sg_http_cancel may be called at any time before the callback; the
 *   callback then runs (later, from the loop) with SG_ECANCELED;
 * - sg_http_close cancels what is in flight and frees the client after its
 *   last handle has closed, so the loop must run once more afterwards.
 *
 * Only http and https are allowed (redirects are not followed); TLS
 * verification is on unless a request turns it off. URLs are logged only
 * through sg_log_redact_url by callers; this module logs nothing.
 */
#ifndef SG_HTTP_H
#define SG_HTTP_H

#include <stdint.h>

#include <uv.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

struct sg_http;
struct sg_http_req;

/* What the caller gets to see of a response. Strings are valid during the
 * callback that receives the struct only. */
struct sg_http_resp {
    long status;              /* HTTP status; 0 when no response arrived */
    const char *content_type; /* the Content-Type header, or NULL */
    int64_t content_length;   /* the Content-Length header; -1 when absent */
    uint64_t bytes;           /* body bytes received so far */
    struct sg_buf body;       /* the buffered body (no on_data), or for a
                                 non-2xx status the start of the error body */
    int curl_code;            /* CURLcode of the transfer (0 when it finished) */
};

/* Called with each piece of a 2xx body as it arrives (status and
 * content_type are already set in resp). Return SG_OK to go on; any other
 * code aborts the transfer and becomes the request's error (fill err). */
typedef int (*sg_http_data_cb)(const struct sg_http_resp *resp, const char *p, size_t n,
                               void *arg, struct sg_err *err);

/* Called exactly once per request. err is NULL on success (a 2xx status and
 * the whole body received); resp is valid during the call only. Errors:
 *   SG_EHTTP      non-2xx status: "server returned HTTP status 500: <start of
 *                 the body, one line>" (resp->status and resp->body set)
 *   SG_ETIMEDOUT  the request's time limit passed
 *   SG_ELIMIT     the body exceeded max_response_bytes
 *   SG_EIO        connection and transfer failures (err->cause: CURLcode)
 *   SG_ECANCELED  sg_http_cancel or sg_http_close
 *   anything on_data returned. */
typedef void (*sg_http_done_cb)(const struct sg_http_resp *resp, const struct sg_err *err,
                                void *arg);

struct sg_http_tls {
    const char *ca_file;       /* PEM CA bundle; NULL: the system's */
    const char *cert_file;     /* client certificate (PEM), with key_file */
    const char *key_file;
    const char *server_name;   /* name to send (SNI) and verify instead of the
                                  URL's host; the connection still goes to
                                  the URL's host and port */
    bool insecure_skip_verify; /* do not verify the peer certificate or name */
};

struct sg_http_opts {
    const char *url;             /* http:// or https:// only */
    const char *method;          /* NULL: "POST" with a body, else "GET" */
    const char *const *headers;  /* "Name: value" lines, NULL-terminated, or NULL */
    const void *body;            /* request body (copied), or NULL */
    size_t body_len;
    const char *username;        /* basic auth when non-NULL */
    const char *password;
    struct sg_http_tls tls;
    int64_t connect_timeout_ms;  /* 0: same as timeout_ms */
    int64_t timeout_ms;          /* whole transfer; 0: no limit (avoid) */
    size_t max_response_bytes;   /* cap on body bytes; 0: 64 MiB */
    size_t max_error_body;       /* body bytes kept for a non-2xx status; 0: 4096 */
    size_t recv_buffer_size;     /* curl's receive buffer; 0: curl's default */
    sg_http_data_cb on_data;     /* stream the 2xx body instead of buffering it */
};

/* Create a client on `loop` (borrowed; must outlive the client). The
 * client is freed by sg_http_close. SG_ENOMEM, or SG_EIO when libcurl
 * cannot be initialised. */
SG_NODISCARD int sg_http_new(uv_loop_t *loop, struct sg_http **out, struct sg_err *err);

/* Cancel every request in flight (each callback runs with SG_ECANCELED)
 * and start closing; memory is freed from the loop once the last handle
 * has closed. NULL is a no-op. */
void sg_http_close(struct sg_http *http);

/* Start a request. Everything in opts is copied or consumed during the
 * call. `done` runs exactly once, later, from the loop; `arg` is passed to
 * on_data and done. *out (may be NULL) identifies the request for
 * sg_http_cancel until done has run. SG_ENOMEM / SG_EINVAL (bad URL
 * scheme) / SG_EIO when it cannot start; done is then not called. */
SG_NODISCARD int sg_http_start(struct sg_http *http, const struct sg_http_opts *opts,
                               sg_http_done_cb done, void *arg, struct sg_http_req **out,
                               struct sg_err *err);

/* Abort a request; its callback runs later with SG_ECANCELED. Must not be
 * called after its callback has run. */
void sg_http_cancel(struct sg_http_req *req);

/* The loop the client runs on. */
uv_loop_t *sg_http_loop(const struct sg_http *http);

/* Blocking form: run the request on a private loop until it completes.
 * When opts->on_data is NULL the body is moved into *body (initialised by
 * the caller with its cap; may be NULL to discard). *status (may be NULL)
 * gets the HTTP status. Same errors as the callback. */
SG_NODISCARD int sg_http_run(const struct sg_http_opts *opts, void *arg, long *status,
                             struct sg_buf *body, struct sg_err *err);

/* True when a transfer that ended with this CURLcode never got a response:
 * the connection could not be made or broke before any answer. */
bool sg_http_is_connect_error(int curl_code);

#endif
