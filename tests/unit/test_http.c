/* tests/unit/test_http.c - the curl-multi-on-libuv client and the async
 * remote-read client, against a tiny HTTP server on the same uv loop.
 *
 * The server answers by path: /ok (a short body), /big (1 MiB), /err (500
 * with a two-line body), /hang (never answers), /stream (a streamed
 * remote-read body built here), /flaky (500, then /stream's answer). Every
 * test runs its own loop and ends with uv_loop_close() == 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/http.h"
#include "stopgate/rr.h"

/* ---- the server ------------------------------------------------------------ */

struct srv {
    uv_tcp_t listener;
    int port;
    int flaky_count;
    int requests;
    struct sg_buf stream_body;
};

struct conn {
    uv_tcp_t tcp;
    struct srv *srv;
    char req[8192];
    size_t len;
    bool answered;
};

static void on_conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_written(uv_write_t *w, int status)
{
    struct conn *c = w->data;

    (void)status;
    free(w);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void respond(struct conn *c, int status, const char *ctype, const char *body, size_t n)
{
    char head[256];
    uv_write_t *w = malloc(sizeof(*w) + sizeof(head) + n);
    char *buf = (char *)(w + 1);
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, ctype, n);
    uv_buf_t b;

    memcpy(buf, head, (size_t)hl);
    memcpy(buf + hl, body, n);
    b = uv_buf_init(buf, (unsigned)((size_t)hl + n));
    w->data = c;
    uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
}

static const char *SCT = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

static void answer(struct conn *c)
{
    struct srv *s = c->srv;

    c->answered = true;
    s->requests++;
    if (strstr(c->req, " /ok ")) {
        respond(c, 200, "text/plain", "hello", 5);
    } else if (strstr(c->req, " /big ")) {
        char *b = malloc(1 << 20);
        memset(b, 'x', 1 << 20);
        respond(c, 200, "application/octet-stream", b, 1 << 20);
        free(b);
    } else if (strstr(c->req, " /err ")) {
        respond(c, 500, "text/plain", "oops\nsecond line\n", 17);
    } else if (strstr(c->req, " /hang ")) {
        /* never answer; the client's timeout or cancel ends it */
    } else if (strstr(c->req, " /flaky ") && s->flaky_count++ == 0) {
        respond(c, 503, "text/plain", "later", 5);
    } else if (strstr(c->req, " /stream ") || strstr(c->req, " /flaky ")) {
        respond(c, 200, SCT, s->stream_body.data, s->stream_body.len);
    } else {
        respond(c, 404, "text/plain", "no", 2);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;

    (void)suggested;
    *buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - 1 - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    char *end;

    (void)buf;
    if (n < 0) {
        uv_read_stop(st);
        if (!c->answered)
            uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    c->len += (size_t)n;
    c->req[c->len] = '\0';
    end = strstr(c->req, "\r\n\r\n");
    if (end && !c->answered) {
        const char *cl = strstr(c->req, "Content-Length: ");
        size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
        if ((size_t)(end + 4 - c->req) + body <= c->len || c->len >= sizeof(c->req) - 1)
            answer(c);
    }
}

static void on_connection(uv_stream_t *l, int status)
{
    struct srv *s = l->data;
    struct conn *c = calloc(1, sizeof(*c));

    assert_int_equal(status, 0);
    c->srv = s;
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void srv_start(uv_loop_t *loop, struct srv *s)
{
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof(got);
    struct sg_sample smp[3] = {{1000, 1}, {2000, 2}, {3000, 3}};
    struct sg_buf chunk, payload;
    struct sg_err err;

    memset(s, 0, sizeof(*s));
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&s->listener, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 16, on_connection), 0);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len);
    s->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    /* a streamed body by hand: ChunkedReadResponse{chunked_series: {labels:
     * [__name__="m"], chunks: [{type: XOR, data}]}} */
    sg_buf_init(&chunk, 1 << 16);
    sg_buf_init(&payload, 1 << 16);
    sg_buf_init(&s->stream_body, 1 << 16);
    assert_int_equal(sg_rr_xor_encode(smp, 3, &chunk, &err), SG_OK);
    {
        unsigned char label[] = {0x0a, 0x0d, 0x0a, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_',
                                 0x12, 0x01, 'm'};
        unsigned char series_hdr[2], chunk_hdr[4];
        size_t chunk_msg = 2 + 2 + chunk.len, series_len = sizeof(label) + 2 + chunk_msg;
        series_hdr[0] = 0x0a;
        series_hdr[1] = (unsigned char)series_len;
        chunk_hdr[0] = 0x12;
        chunk_hdr[1] = (unsigned char)chunk_msg;
        chunk_hdr[2] = 0x18; /* type */
        chunk_hdr[3] = 0x01; /* XOR */
        assert_int_equal(sg_buf_append(&payload, series_hdr, 2), SG_OK);
        assert_int_equal(sg_buf_append(&payload, label, sizeof(label)), SG_OK);
        assert_int_equal(sg_buf_append(&payload, chunk_hdr, 4), SG_OK);
        assert_int_equal(sg_buf_append(&payload, "\x22", 1), SG_OK); /* data */
        assert_int_equal(sg_buf_putc(&payload, (char)chunk.len), SG_OK);
        assert_int_equal(sg_buf_append(&payload, chunk.data, chunk.len), SG_OK);
    }
    assert_int_equal(sg_rr_frame_encode(payload.data, payload.len, &s->stream_body), SG_OK);
    sg_buf_cleanup(&chunk);
    sg_buf_cleanup(&payload);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP && h->data ? on_conn_closed : NULL);
}

/* Close everything left (the listener, a /hang connection) and the loop. */
static void loop_finish(uv_loop_t *loop, struct srv *s)
{
    uv_close((uv_handle_t *)&s->listener, NULL);
    s->listener.data = NULL;
    uv_run(loop, UV_RUN_DEFAULT); /* the client's close, the peers' EOFs */
    uv_walk(loop, close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    sg_buf_cleanup(&s->stream_body);
    assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- client tests ---------------------------------------------------------- */

struct result {
    int calls;
    int code;
    long status;
    char msg[SG_ERR_MSG_MAX];
    struct sg_buf body;
    size_t pieces;
    bool in_start;
};

static void on_done(const struct sg_http_resp *resp, const struct sg_err *err, void *arg)
{
    struct result *r = arg;

    assert_false(r->in_start); /* never from inside sg_http_start */
    r->calls++;
    r->code = err ? err->code : SG_OK;
    r->status = resp->status;
    if (err)
        snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
    if (!err && resp->body.len)
        assert_int_equal(sg_buf_append(&r->body, resp->body.data, resp->body.len), SG_OK);
}

static int on_data(const struct sg_http_resp *resp, const char *p, size_t n, void *arg,
                   struct sg_err *err)
{
    struct result *r = arg;

    (void)err;
    assert_int_equal(resp->status, 200);
    r->pieces++;
    return sg_buf_append(&r->body, p, n);
}

static void start(struct sg_http *http, struct srv *s, const char *path, struct sg_http_opts *o,
                  struct result *r, struct sg_http_req **req)
{
    char url[128];
    struct sg_err err;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    o->url = url;
    sg_buf_init(&r->body, 4 << 20);
    r->in_start = true;
    sg_err_clear(&err);
    assert_int_equal(sg_http_start(http, o, on_done, r, req, &err), SG_OK);
    r->in_start = false;
}

static void http_requests(void **state)
{
    uv_loop_t loop;
    struct srv s;
    struct sg_http *http;
    struct sg_err err;
    struct result ok = {0}, big = {0}, capped = {0}, e500 = {0}, hang = {0}, cancel = {0};
    struct sg_http_opts o_ok = {0}, o_big = {0}, o_cap = {0}, o_err = {0}, o_hang = {0},
                        o_cancel = {0};
    struct sg_http_req *to_cancel;

    (void)state;
    uv_loop_init(&loop);
    srv_start(&loop, &s);
    assert_int_equal(sg_http_new(&loop, &http, &err), SG_OK);
    o_ok.timeout_ms = 5000;
    start(http, &s, "/ok", &o_ok, &ok, NULL);
    o_big.timeout_ms = 5000;
    o_big.on_data = on_data;
    o_big.body = "request body";
    o_big.body_len = 12;
    start(http, &s, "/big", &o_big, &big, NULL);
    o_cap.timeout_ms = 5000;
    o_cap.max_response_bytes = 1000;
    start(http, &s, "/big", &o_cap, &capped, NULL);
    o_err.timeout_ms = 5000;
    start(http, &s, "/err", &o_err, &e500, NULL);
    o_hang.timeout_ms = 300;
    start(http, &s, "/hang", &o_hang, &hang, NULL);
    o_cancel.timeout_ms = 5000;
    start(http, &s, "/hang", &o_cancel, &cancel, &to_cancel);
    sg_http_cancel(to_cancel);
    assert_int_equal(cancel.calls, 0); /* later, from the loop */
    while (ok.calls + big.calls + capped.calls + e500.calls + hang.calls + cancel.calls < 6)
        uv_run(&loop, UV_RUN_ONCE); /* the listener keeps the loop alive */

    assert_int_equal(ok.calls, 1);
    assert_int_equal(ok.code, SG_OK);
    assert_int_equal(ok.status, 200);
    assert_string_equal(sg_buf_cstr(&ok.body), "hello");
    assert_int_equal(big.calls, 1);
    assert_int_equal(big.code, SG_OK);
    assert_int_equal(big.body.len, 1 << 20);
    assert_true(big.pieces > 1); /* streamed in pieces */
    assert_int_equal(capped.code, SG_ELIMIT);
    assert_int_equal(e500.code, SG_EHTTP);
    assert_int_equal(e500.status, 500);
    assert_string_equal(e500.msg, "server returned HTTP status 500: oops second line");
    assert_int_equal(hang.code, SG_ETIMEDOUT);
    assert_int_equal(cancel.calls, 1);
    assert_int_equal(cancel.code, SG_ECANCELED);
    sg_http_close(http);
    loop_finish(&loop, &s);
    sg_buf_cleanup(&ok.body), sg_buf_cleanup(&big.body), sg_buf_cleanup(&capped.body);
    sg_buf_cleanup(&e500.body), sg_buf_cleanup(&hang.body), sg_buf_cleanup(&cancel.body);
}

static void http_close_cancels_in_flight(void **state)
{
    uv_loop_t loop;
    struct srv s;
    struct sg_http *http;
    struct sg_err err;
    struct result a = {0}, b = {0};
    struct sg_http_opts o = {0};

    (void)state;
    uv_loop_init(&loop);
    srv_start(&loop, &s);
    assert_int_equal(sg_http_new(&loop, &http, &err), SG_OK);
    o.timeout_ms = 5000;
    start(http, &s, "/hang", &o, &a, NULL);
    start(http, &s, "/hang", &o, &b, NULL);
    uv_run(&loop, UV_RUN_NOWAIT); /* let the requests go out */
    sg_http_close(http);
    assert_int_equal(a.calls + b.calls, 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.code, SG_ECANCELED);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.code, SG_ECANCELED);
    loop_finish(&loop, &s);
    sg_buf_cleanup(&a.body), sg_buf_cleanup(&b.body);
}

static void http_connection_refused_and_bad_urls(void **state)
{
    struct sg_http_opts o = {0};
    struct sg_err err;
    struct sg_buf body;
    long status = -1;
    uv_loop_t loop;
    struct srv s;
    int port;

    (void)state;
    /* a port nobody listens on: bind a server, note its port, close it */
    uv_loop_init(&loop);
    srv_start(&loop, &s);
    port = s.port;
    loop_finish(&loop, &s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    o.url = url;
    o.timeout_ms = 2000;
    sg_buf_init(&body, 1024);
    sg_err_clear(&err);
    assert_int_equal(sg_http_run(&o, NULL, &status, &body, &err), SG_EIO);
    assert_true(sg_http_is_connect_error(err.cause));
    assert_non_null(strstr(err.msg, "onnect"));
    o.url = "ftp://127.0.0.1/";
    sg_err_clear(&err);
    assert_int_equal(sg_http_run(&o, NULL, &status, &body, &err), SG_EINVAL);
    o.url = "file:///etc/passwd";
    sg_err_clear(&err);
    assert_int_equal(sg_http_run(&o, NULL, &status, &body, &err), SG_EINVAL);
    sg_buf_cleanup(&body);
}

/* ---- remote read, async ---------------------------------------------------- */

struct rr_out {
    int calls;
    int code;
    size_t series, samples;
    int attempts;
};

static void on_rr(const struct sg_rr_result *res, const struct sg_err *err, void *arg)
{
    struct rr_out *o = arg;

    o->calls++;
    o->code = err ? err->code : SG_OK;
    if (res) {
        o->series = res->sets[0].count;
        o->samples = res->stats.samples;
        o->attempts = res->stats.attempts;
    }
}

static void rr_async_reads_and_cancels(void **state)
{
    uv_loop_t loop;
    struct srv s;
    struct sg_http *http;
    struct sg_err err;
    struct sg_rr_options o;
    struct sg_rr_client *c_stream, *c_flaky, *c_hang;
    struct sg_matcher m = {SG_MATCH_EQ, {"__name__", 8}, {"m", 1}, NULL};
    struct sg_rr_query q = {0, 2500, &m, 1, NULL};
    struct sg_arena a;
    struct rr_out r1 = {0}, r2 = {0}, r3 = {0};
    struct sg_rr_req *req;
    char url[3][128];

    (void)state;
    uv_loop_init(&loop);
    srv_start(&loop, &s);
    sg_arena_init(&a, 0);
    assert_int_equal(sg_http_new(&loop, &http, &err), SG_OK);
    sg_rr_options_init(&o);
    o.min_backoff_ms = 10;
    snprintf(url[0], 128, "http://127.0.0.1:%d/stream", s.port);
    snprintf(url[1], 128, "http://127.0.0.1:%d/flaky", s.port);
    snprintf(url[2], 128, "http://127.0.0.1:%d/hang", s.port);
    o.url = url[0];
    assert_int_equal(sg_rr_client_new(&o, &c_stream, &err), SG_OK);
    o.url = url[1];
    assert_int_equal(sg_rr_client_new(&o, &c_flaky, &err), SG_OK);
    o.url = url[2];
    assert_int_equal(sg_rr_client_new(&o, &c_hang, &err), SG_OK);

    assert_int_equal(sg_rr_read_async(c_stream, http, &q, 1, &a, on_rr, &r1, NULL, &err), SG_OK);
    assert_int_equal(sg_rr_read_async(c_flaky, http, &q, 1, &a, on_rr, &r2, NULL, &err), SG_OK);
    assert_int_equal(sg_rr_read_async(c_hang, http, &q, 1, &a, on_rr, &r3, &req, &err), SG_OK);
    assert_int_equal(r1.calls + r2.calls + r3.calls, 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    sg_rr_cancel(req);
    while (r1.calls + r2.calls + r3.calls < 3)
        uv_run(&loop, UV_RUN_ONCE);

    assert_int_equal(r1.calls, 1);
    assert_int_equal(r1.code, SG_OK);
    assert_int_equal(r1.series, 1);
    assert_int_equal(r1.samples, 2); /* 1000 and 2000; 3000 is past the window */
    assert_int_equal(r2.calls, 1);
    assert_int_equal(r2.code, SG_OK); /* 503, then the retry */
    assert_int_equal(r2.attempts, 2);
    assert_int_equal(r3.calls, 1);
    assert_int_equal(r3.code, SG_ECANCELED);

    sg_http_close(http);
    sg_rr_client_free(c_stream);
    sg_rr_client_free(c_flaky);
    sg_rr_client_free(c_hang);
    sg_arena_cleanup(&a);
    loop_finish(&loop, &s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_requests),
        cmocka_unit_test(http_close_cancels_in_flight),
        cmocka_unit_test(http_connection_refused_and_bad_urls),
        cmocka_unit_test(rr_async_reads_and_cancels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
