/* tests/unit/test_web.c - the HTTP server: routing, limits, timeouts,
 * keep-alive and pipelining, auth, async handlers, shutdown. A client end
 * of a socketpair (or a TCP socket) is driven by hand while the loop runs
 * in small steps. Every test ends with uv_loop_close() == 0. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "stopgate/clock.h"
#include "stopgate/web.h"

/* ---- handlers -------------------------------------------------------------------- */

struct app {
    int calls;
    struct sg_web_req *held; /* async: answered later */
    char last_body[256];
};

static void h_healthy(struct sg_web_req *req, void *ctx)
{
    struct app *a = ctx;
    static const char body[] = "Healthy.\n";

    a->calls++;
    sg_web_respond(req, 200, "text/plain; charset=utf-8", body, sizeof(body) - 1, NULL);
}

static void h_gate(struct sg_web_req *req, void *ctx)
{
    json_t *o = json_object();

    (void)ctx;
    json_object_set_new(o, "release", json_stringn(req->params[0].ptr, req->params[0].len));
    json_object_set_new(o, "gate", json_string("open"));
    sg_web_respond_json(req, 200, o);
}

static void h_echo(struct sg_web_req *req, void *ctx)
{
    struct app *a = ctx;
    struct sg_str v;
    char text[512];
    json_t *j = NULL;
    struct sg_err err;

    a->calls++;
    snprintf(a->last_body, sizeof(a->last_body), "%.*s", (int)req->body.len, req->body.ptr);
    sg_err_clear(&err);
    if (sg_web_req_json(req, &j, &err) != SG_OK) {
        sg_web_respond_error(req, 400, "bad_data", "%s", err.msg);
        return;
    }
    snprintf(text, sizeof(text), "len=%zu q=%s ct=%.*s json=%s", req->body.len,
             sg_web_req_query(req, "q", &v) ? v.ptr : "-",
             (int)sg_web_req_header(req, "content-type").len,
             sg_web_req_header(req, "content-type").ptr ? sg_web_req_header(req, "Content-Type").ptr
                                                        : "",
             j ? (json_is_object(j) ? "object" : "other") : "none");
    json_decref(j);
    sg_web_respond(req, 200, "text/plain", text, strlen(text), NULL);
}

static void h_hold(struct sg_web_req *req, void *ctx)
{
    struct app *a = ctx;

    a->calls++;
    a->held = req;
}

static void h_rest(struct sg_web_req *req, void *ctx)
{
    (void)ctx;
    sg_web_respond(req, 200, "text/plain", req->params[0].ptr, req->params[0].len, NULL);
}

static void h_data(struct sg_web_req *req, void *ctx)
{
    (void)ctx;
    sg_web_respond_data(req, json_pack("{s:i}", "n", 1));
}

static const struct sg_web_route routes[] = {
    {"GET", "/-/healthy", h_healthy, 0},
    {"GET", "/api/v1/gate/:release", h_gate, 0},
    {"POST", "/api/v1/echo", h_echo, 0},
    {"POST", "/api/v1/releases/:release/resume", h_echo, SG_WEB_AUTH},
    {"GET", "/hold", h_hold, 0},
    {"GET", "/files/*", h_rest, 0},
    {"GET", "/data", h_data, 0},
    {"PUT", "/-/healthy", h_healthy, 0},
};

/* ---- harness --------------------------------------------------------------------- */

struct fx {
    uv_loop_t loop;
    struct sg_web *w;
    struct app app;
    int fd; /* the client end */
    bool closed_cb;
};

static void on_closed(void *arg)
{
    ((struct fx *)arg)->closed_cb = true;
}

static void fx_init(struct fx *f, struct sg_web_opts *extra)
{
    struct sg_web_opts o;
    int sv[2];

    memset(f, 0, sizeof(*f));
    if (extra)
        o = *extra;
    else
        memset(&o, 0, sizeof(o));
    o.routes = routes;
    o.routes_count = SG_ARRAY_LEN(routes);
    o.ctx = &f->app;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(sg_web_create(&f->loop, &o, &f->w, NULL), SG_OK);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(sg_web_adopt_fd(f->w, sv[0], NULL), SG_OK);
    f->fd = sv[1];
    fcntl(f->fd, F_SETFL, O_NONBLOCK);
}

static void fx_done(struct fx *f)
{
    if (f->fd >= 0)
        close(f->fd);
    sg_web_close(f->w, on_closed, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->closed_cb);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EAGAIN)
            continue;
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

/* Length of the first complete response in buf (headers + Content-Length
 * body), or 0 when it is not all there yet. */
static size_t response_len(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    const char *cl;
    size_t head, body = 0;

    if (!end)
        return 0;
    head = (size_t)(end - buf) + 4;
    cl = memmem(buf, head, "Content-Length: ", 16);
    if (cl)
        body = strtoul(cl + 16, NULL, 10);
    return len >= head + body ? head + body : 0;
}

/* Run the loop until `want` responses have arrived (or EOF, or a
 * deadline); returns what was read. *eof tells whether the server closed. */
static size_t pump(struct fx *f, char *buf, size_t cap, int want, int64_t max_ms, bool *eof)
{
    size_t len = 0;
    int64_t t0 = sg_clock_mono_ms();

    *eof = false;
    for (;;) {
        size_t off = 0;
        int got = 0;
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        ssize_t n;

        uv_run(&f->loop, UV_RUN_NOWAIT);
        n = read(f->fd, buf + len, cap - 1 - len);
        if (n > 0)
            len += (size_t)n;
        else if (n == 0) {
            *eof = true;
            break;
        }
        buf[len] = '\0';
        while (want > 0) {
            size_t r = response_len(buf + off, len - off);
            if (!r)
                break;
            off += r;
            got++;
        }
        if (want > 0 && got >= want)
            break;
        if (sg_clock_mono_ms() - t0 > max_ms)
            break;
        poll(&p, 1, 2);
    }
    buf[len] = '\0';
    return len;
}

static void request(struct fx *f, const char *req, char *buf, size_t cap, bool *eof)
{
    send_all(f->fd, req, strlen(req));
    pump(f, buf, cap, 1, 2000, eof);
}

/* ---- tests ------------------------------------------------------------------------- */

static void get_and_keep_alive(void **state)
{
    struct fx f;
    char buf[8192];
    bool eof;

    (void)state;
    fx_init(&f, NULL);
    request(&f, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf), &eof);
    assert_false(eof);
    assert_string_equal(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             "Content-Length: 9\r\nConnection: keep-alive\r\n\r\nHealthy.\n");
    request(&f, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof(buf), &eof);
    assert_non_null(strstr(buf, "200 OK"));
    assert_int_equal(f.app.calls, 2);
    assert_int_equal(sg_web_connections(f.w), 1);
    /* HTTP/1.0 without keep-alive: closed after the response */
    request(&f, "GET /-/healthy HTTP/1.0\r\n\r\n", buf, sizeof(buf), &eof);
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    pump(&f, buf, sizeof(buf), 0, 500, &eof);
    assert_true(eof);
    fx_done(&f);
}

static void params_json_and_not_found(void **state)
{
    struct fx f;
    char buf[8192];
    bool eof;

    (void)state;
    fx_init(&f, NULL);
    request(&f, "GET /api/v1/gate/caracal-edge%2Eeu HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof);
    assert_non_null(strstr(buf, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(buf, "\r\n\r\n{\"release\":\"caracal-edge.eu\",\"gate\":\"open\"}"));
    request(&f, "GET /api/v1/gate/ HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof);
    assert_true(strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
    assert_non_null(strstr(buf, "\r\n\r\n404 page not found\n"));
    assert_non_null(strstr(buf, "keep-alive"));
    request(&f, "GET /api/v1/gate/%zz HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof);
    assert_true(strncmp(buf, "HTTP/1.1 400 ", 13) == 0);
    assert_true(eof || strstr(buf, "Connection: close"));
    fx_done(&f);
}

static void method_not_allowed_lists_allow(void **state)
{
    struct fx f;
    char buf[8192];
    bool eof;

    (void)state;
    fx_init(&f, NULL);
    request(&f, "DELETE /-/healthy HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", buf, sizeof(buf),
            &eof);
    assert_true(strncmp(buf, "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0);
    assert_non_null(strstr(buf, "Allow: GET, PUT\r\n"));
    /* the body was consumed, the connection still works */
    send_all(f.fd, "HEAD /-/healthy HTTP/1.1\r\n\r\n", 28);
    pump(&f, buf, sizeof(buf), 0, 200, &eof);
    assert_non_null(strstr(buf, "Content-Length: 9\r\n"));
    assert_null(strstr(buf, "Healthy"));
    fx_done(&f);
}

static void post_body_query_headers(void **state)
{
    struct fx f;
    char buf[8192];
    bool eof;

    (void)state;
    fx_init(&f, NULL);
    request(&f,
            "POST /api/v1/echo?x=1&q=a+b%21 HTTP/1.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 14\r\n\r\n{\"revision\":5}",
            buf, sizeof(buf), &eof);
    if (!strstr(buf, "len=14 q=a b! ct=application/json json=object"))
        fail_msg("%s", buf);
    /* chunked bodies are decoded */
    request(&f,
            "POST /api/v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            "4\r\n[1,2\r\n1\r\n]\r\n0\r\n\r\n",
            buf, sizeof(buf), &eof);
    assert_non_null(strstr(buf, "len=5 q=- ct= json=other"));
    assert_string_equal(f.app.last_body, "[1,2]");
    /* bad JSON: Prometheus-style error */
    request(&f, "POST /api/v1/echo HTTP/1.1\r\nContent-Length: 5\r\n\r\n{nope", buf, sizeof(buf),
            &eof);
    assert_true(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    if (!strstr(buf, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
                     "\"request body:1:5: string or '}' expected near 'nope'\"}"))
        fail_msg("%s", buf);
    request(&f, "GET /data HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof);
    assert_non_null(strstr(buf, "\r\n\r\n{\"status\":\"success\",\"data\":{\"n\":1}}"));
    request(&f, "GET /files/a/b%20c HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof);
    assert_non_null(strstr(buf, "\r\n\r\na/b c"));
    fx_done(&f);
}

static void bearer_token_is_checked_before_the_body(void **state)
{
    struct sg_web_opts o = {.token = "s3cret"};
    struct fx f;
    char buf[8192];
    bool eof;

    (void)state;
    fx_init(&f, &o);
    /* no token: 401 at once, the body is never read */
    request(&f, "POST /api/v1/releases/caracal/resume HTTP/1.1\r\nContent-Length: 1000\r\n\r\n",
            buf, sizeof(buf), &eof);
    assert_true(strncmp(buf, "HTTP/1.1 401 Unauthorized\r\n", 27) == 0);
    assert_non_null(strstr(buf, "WWW-Authenticate: Bearer\r\n"));
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    assert_int_equal(f.app.calls, 0);
    fx_done(&f);

    fx_init(&f, &o);
    request(&f, "POST /api/v1/releases/caracal/resume HTTP/1.1\r\nAuthorization: Bearer s3cre\r\n"
                "Content-Length: 0\r\n\r\n",
            buf, sizeof(buf), &eof);
    assert_true(strncmp(buf, "HTTP/1.1 401 ", 13) == 0);
    fx_done(&f);

    fx_init(&f, &o);
    request(&f, "POST /api/v1/releases/caracal/resume HTTP/1.1\r\nauthorization: bearer s3cret\r\n"
                "Content-Length: 0\r\n\r\n",
            buf, sizeof(buf), &eof);
    assert_true(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    /* routes without SG_WEB_AUTH need no token */
    request(&f, "POST /api/v1/echo HTTP/1.1\r\nContent-Length: 0\r\n\r\n", buf, sizeof(buf), &eof);
    assert_true(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    /* a new token replaces the old one */
    assert_int_equal(sg_web_set_token(f.w, "other", NULL), SG_OK);
    request(&f, "POST /api/v1/releases/caracal/resume HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n"
                "Content-Length: 0\r\n\r\n",
            buf, sizeof(buf), &eof);
    assert_true(strncmp(buf, "HTTP/1.1 401 ", 13) == 0);
    fx_done(&f);

    /* no token configured: open */
    fx_init(&f, NULL);
    request(&f, "POST /api/v1/releases/caracal/resume HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            buf, sizeof(buf), &eof);
    assert_true(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    fx_done(&f);
}

static void expect_reject(struct sg_web_opts *o, const char *req, const char *status_line)
{
    struct fx f;
    char buf[65536];
    bool eof;

    fx_init(&f, o);
    send_all(f.fd, req, strlen(req));
    pump(&f, buf, sizeof(buf), 1, 2000, &eof);
    if (strncmp(buf, status_line, strlen(status_line)) != 0)
        fail_msg("want %s, got %.80s", status_line, buf);
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    pump(&f, buf, sizeof(buf), 0, 500, &eof);
    assert_true(eof);
    assert_int_equal(f.app.calls, 0);
    fx_done(&f);
}

static void limits(void **state)
{
    struct sg_web_opts o = {.max_url = 64, .max_header_bytes = 256, .max_headers = 4,
                            .max_body = 16};
    char big[2048];

    (void)state;
    snprintf(big, sizeof(big), "GET /%0100d HTTP/1.1\r\n\r\n", 0);
    expect_reject(&o, big, "HTTP/1.1 414 ");
    expect_reject(&o, "GET /-/healthy HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\ne: 5\r\n\r\n",
                  "HTTP/1.1 431 ");
    snprintf(big, sizeof(big), "GET /-/healthy HTTP/1.1\r\nX-Big: %0300d\r\n\r\n", 0);
    expect_reject(&o, big, "HTTP/1.1 431 ");
    expect_reject(&o, "POST /api/v1/echo HTTP/1.1\r\nContent-Length: 17\r\n\r\n",
                  "HTTP/1.1 413 ");
    expect_reject(&o,
                  "POST /api/v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n",
                  "HTTP/1.1 413 ");
    expect_reject(&o, "GARBAGE\r\n\r\n", "HTTP/1.1 400 ");
    expect_reject(&o, "GET /-/healthy HTTP/1.1\r\nContent-Length: x\r\n\r\n", "HTTP/1.1 400 ");
    expect_reject(&o, "GET /-/healthy HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                  "HTTP/1.1 501 ");
}

static void pipelined_requests_answer_in_order(void **state)
{
    struct fx f;
    char buf[8192];
    bool eof;
    const char *a, *b, *c;

    (void)state;
    fx_init(&f, NULL);
    {
        const char *three = "GET /api/v1/gate/one HTTP/1.1\r\n\r\nGET /api/v1/gate/two HTTP/1.1\r\n"
                            "\r\nGET /api/v1/gate/three HTTP/1.1\r\n\r\n";
        send_all(f.fd, three, strlen(three));
    }
    pump(&f, buf, sizeof(buf), 3, 2000, &eof);
    a = strstr(buf, "\"one\"");
    b = strstr(buf, "\"two\"");
    c = strstr(buf, "\"three\"");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    fx_done(&f);
}

static void async_handler_and_client_going_away(void **state)
{
    struct fx f;
    char buf[8192];
    bool eof;

    (void)state;
    fx_init(&f, NULL);
    send_all(f.fd, "GET /hold HTTP/1.1\r\n\r\nGET /-/healthy HTTP/1.1\r\n\r\n", 49);
    pump(&f, buf, sizeof(buf), 1, 200, &eof);
    assert_string_equal(buf, ""); /* nothing until the held request is answered */
    assert_non_null(f.app.held);
    assert_int_equal(f.app.calls, 1); /* the pipelined one waits */
    sg_web_respond(f.app.held, 202, NULL, NULL, 0, NULL);
    f.app.held = NULL;
    pump(&f, buf, sizeof(buf), 2, 2000, &eof);
    assert_true(strncmp(buf, "HTTP/1.1 202 Accepted\r\n", 23) == 0);
    assert_non_null(strstr(buf, "Healthy."));
    fx_done(&f);

    /* the client leaves while its request is held: answering later is safe */
    fx_init(&f, NULL);
    send_all(f.fd, "GET /hold HTTP/1.1\r\n\r\n", 22);
    pump(&f, buf, sizeof(buf), 1, 100, &eof);
    assert_non_null(f.app.held);
    close(f.fd);
    f.fd = -1;
    for (int i = 0; i < 20; i++)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    sg_web_respond(f.app.held, 200, NULL, "late", 4, NULL);
    fx_done(&f);
}

static void close_waits_for_a_held_request(void **state)
{
    struct fx f;
    char buf[8192];
    bool eof;

    (void)state;
    fx_init(&f, NULL);
    send_all(f.fd, "GET /hold HTTP/1.1\r\n\r\n", 22);
    pump(&f, buf, sizeof(buf), 1, 100, &eof);
    assert_non_null(f.app.held);
    sg_web_close(f.w, on_closed, &f);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_false(f.closed_cb);
    sg_web_respond(f.app.held, 200, NULL, "bye", 3, NULL);
    pump(&f, buf, sizeof(buf), 1, 2000, &eof);
    assert_non_null(strstr(buf, "Connection: close\r\n\r\nbye"));
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_true(f.closed_cb);
    close(f.fd);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void slow_and_idle_clients_are_cut_off(void **state)
{
    struct sg_web_opts o = {.read_timeout_ms = 100, .idle_timeout_ms = 150};
    struct fx f;
    char buf[8192];
    bool eof;
    int64_t t0;

    (void)state;
    fx_init(&f, &o);
    send_all(f.fd, "GET /-/healthy HTTP/1.1\r\nHost:", 30);
    t0 = sg_clock_mono_ms();
    pump(&f, buf, sizeof(buf), 0, 2000, &eof);
    assert_true(eof);
    assert_true(strncmp(buf, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0);
    assert_true(sg_clock_mono_ms() - t0 < 1500);
    fx_done(&f);

    fx_init(&f, &o);
    t0 = sg_clock_mono_ms();
    pump(&f, buf, sizeof(buf), 0, 2000, &eof);
    assert_true(eof);
    assert_string_equal(buf, "");
    assert_int_equal(sg_web_connections(f.w), 0);
    fx_done(&f);
}

static void too_many_connections(void **state)
{
    struct sg_web_opts o = {.max_connections = 1};
    struct fx f;
    int sv[2];
    char c;

    (void)state;
    fx_init(&f, &o);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(sg_web_adopt_fd(f.w, sv[0], NULL), SG_OK);
    for (int i = 0; i < 10; i++)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    assert_int_equal(read(sv[1], &c, 1), 0); /* closed by the server */
    close(sv[1]);
    assert_int_equal(sg_web_connections(f.w), 1);
    fx_done(&f);
}

static void real_tcp_listener(void **state)
{
    struct fx f;
    struct sg_web_opts o;
    struct sockaddr_in sa;
    char buf[8192];
    bool eof;
    int fd;
    struct sg_err err;

    (void)state;
    memset(&f, 0, sizeof(f));
    memset(&o, 0, sizeof(o));
    o.routes = routes;
    o.routes_count = SG_ARRAY_LEN(routes);
    o.ctx = &f.app;
    assert_int_equal(uv_loop_init(&f.loop), 0);
    assert_int_equal(sg_web_create(&f.loop, &o, &f.w, NULL), SG_OK);
    assert_int_equal(sg_web_listen(f.w, "127.0.0.1:0", NULL), SG_OK);
    assert_true(sg_web_port(f.w) > 0);
    sg_err_clear(&err);
    assert_int_equal(sg_web_listen(f.w, "127.0.0.1:0", &err), SG_EINVAL);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)sg_web_port(f.w));
    sa.sin_addr.s_addr = htonl(0x7f000001);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    f.fd = fd;
    request(&f, "GET /-/healthy HTTP/1.1\r\n\r\n", buf, sizeof(buf), &eof);
    assert_non_null(strstr(buf, "Healthy."));
    fx_done(&f);

    /* address errors */
    assert_int_equal(uv_loop_init(&f.loop), 0);
    assert_int_equal(sg_web_create(&f.loop, &o, &f.w, NULL), SG_OK);
    sg_err_clear(&err);
    assert_int_equal(sg_web_listen(f.w, "127.0.0.1", &err), SG_EINVAL);
    assert_string_equal(err.msg, "listen 127.0.0.1: want HOST:PORT or [IPv6]:PORT");
    assert_int_equal(sg_web_listen(f.w, "127.0.0.1:99999", NULL), SG_EINVAL);
    sg_err_clear(&err);
    assert_int_equal(sg_web_listen(f.w, "192.0.2.1:1", &err), SG_EIO); /* not ours */
    f.closed_cb = false;
    sg_web_close(f.w, on_closed, &f);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_true(f.closed_cb);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void routing_table(void **state)
{
    static const struct {
        const char *method, *path;
        int status;
        const char *pattern, *p0;
    } rows[] = {
        {"GET", "/-/healthy", 200, "/-/healthy", NULL},
        {"HEAD", "/-/healthy", 200, "/-/healthy", NULL},
        {"POST", "/-/healthy", 405, NULL, NULL},
        {"GET", "/-/healthy/", 404, NULL, NULL},
        {"GET", "/api/v1/gate/x", 200, "/api/v1/gate/:release", "x"},
        {"GET", "/api/v1/gate/x/y", 404, NULL, NULL},
        {"GET", "/api/v1/gate", 404, NULL, NULL},
        {"POST", "/api/v1/releases/r1/resume", 200, "/api/v1/releases/:release/resume", "r1"},
        {"POST", "/api/v1/releases//resume", 404, NULL, NULL},
        {"GET", "/files/", 200, "/files/*", ""},
        {"GET", "/files/a/b", 200, "/files/*", "a/b"},
        {"GET", "/files", 404, NULL, NULL},
        {"GET", "", 404, NULL, NULL},
        {"GET", "relative", 404, NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(rows); i++) {
        struct sg_str params[SG_WEB_MAX_PARAMS];
        size_t n = 99;
        int status = 0;
        char allow[64];
        const struct sg_web_route *r =
            sg_web_route_match(routes, SG_ARRAY_LEN(routes), rows[i].method, sg_str_c(rows[i].path),
                               params, &n, &status, allow, sizeof(allow));
        if (status != rows[i].status)
            fail_msg("%s %s: status %d", rows[i].method, rows[i].path, status);
        if (rows[i].pattern && (!r || strcmp(r->pattern, rows[i].pattern) != 0))
            fail_msg("%s %s: wrong route", rows[i].method, rows[i].path);
        if (rows[i].p0 && (n < 1 || !sg_str_eq_c(params[0], rows[i].p0)))
            fail_msg("%s %s: param", rows[i].method, rows[i].path);
    }
    assert_int_equal(sg_web_pattern_check("/a/:b/*", NULL), SG_OK);
    assert_int_equal(sg_web_pattern_check("a", NULL), SG_EINVAL);
    assert_int_equal(sg_web_pattern_check("/a/:/b", NULL), SG_EINVAL);
    assert_int_equal(sg_web_pattern_check("/*/a", NULL), SG_EINVAL);
    assert_int_equal(sg_web_pattern_check("/:a/:b/:c/:d/:e/:f/:g/:h/:i", NULL), SG_EINVAL);
    assert_string_equal(sg_web_status_text(423), "Locked");
    assert_string_equal(sg_web_status_text(599), "Unknown");
}

static void constant_time_compare(void **state)
{
    (void)state;
    assert_true(sg_web_ct_equal(sg_str_c("abc"), sg_str_c("abc")));
    assert_false(sg_web_ct_equal(sg_str_c("abc"), sg_str_c("abd")));
    assert_false(sg_web_ct_equal(sg_str_c("abc"), sg_str_c("ab")));
    assert_false(sg_web_ct_equal(sg_str_c(""), sg_str_c("a")));
    assert_true(sg_web_ct_equal(sg_str_c(""), sg_str_c("")));
}

static void bad_routes_are_refused(void **state)
{
    static const struct sg_web_route bad[] = {{"GET", "nope", h_healthy, 0}};
    struct sg_web_opts o = {.routes = bad, .routes_count = 1};
    uv_loop_t loop;
    struct sg_web *w = NULL;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(sg_web_create(&loop, &o, &w, NULL), SG_EINVAL);
    assert_null(w);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_and_keep_alive),
        cmocka_unit_test(params_json_and_not_found),
        cmocka_unit_test(method_not_allowed_lists_allow),
        cmocka_unit_test(post_body_query_headers),
        cmocka_unit_test(bearer_token_is_checked_before_the_body),
        cmocka_unit_test(limits),
        cmocka_unit_test(pipelined_requests_answer_in_order),
        cmocka_unit_test(async_handler_and_client_going_away),
        cmocka_unit_test(close_waits_for_a_held_request),
        cmocka_unit_test(slow_and_idle_clients_are_cut_off),
        cmocka_unit_test(too_many_connections),
        cmocka_unit_test(real_tcp_listener),
        cmocka_unit_test(routing_table),
        cmocka_unit_test(constant_time_compare),
        cmocka_unit_test(bad_routes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
