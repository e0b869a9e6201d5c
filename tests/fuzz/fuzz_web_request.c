/* tests/fuzz/fuzz_web_request.c - the HTTP server on arbitrary request
 * bytes: http-parser callbacks, limits, routing (params, 404/405, auth),
 * pipelining, JSON bodies, responses.
 *
 * The bytes are written into one end of a socketpair whose other end the
 * server adopts; the write side is then shut down and the loop runs until
 * the server has closed the connection. The loop must end clean
 * (uv_loop_close == 0), which also proves every handle was closed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stopgate/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void h_json(struct sg_web_req *req, void *ctx)
{
    json_t *j = NULL;
    struct sg_str v;

    (void)ctx;
    if (sg_web_req_json(req, &j, NULL) != SG_OK) {
        sg_web_respond_error(req, 400, "bad_data", "invalid JSON");
        return;
    }
    if (sg_web_req_query(req, "revision", &v) && v.len > 100)
        __builtin_trap();
    sg_web_respond_data(req, j);
}

static void h_param(struct sg_web_req *req, void *ctx)
{
    json_t *o = json_object();

    (void)ctx;
    if (req->nparams != 1)
        __builtin_trap();
    json_object_set_new(o, "release", json_stringn(req->params[0].ptr, req->params[0].len));
    sg_web_respond_json(req, 200, o);
}

static void h_text(struct sg_web_req *req, void *ctx)
{
    (void)ctx;
    sg_web_respond(req, 200, "text/plain", req->path.ptr, req->path.len, NULL);
}

static const struct sg_web_route routes[] = {
    {"GET", "/metrics", h_text, 0},
    {"GET", "/-/healthy", h_text, 0},
    {"GET", "/api/v1/gate/:release", h_param, 0},
    {"POST", "/api/v1/releases/:release/resume", h_param, SG_WEB_AUTH},
    {"POST", "/api/v1/waves/:release", h_json, SG_WEB_AUTH},
    {"POST", "/api/v1/alertmanager", h_json, 0},
    {"GET", "/static/*", h_text, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_web_opts o = {.routes = routes,
                            .routes_count = sizeof(routes) / sizeof(routes[0]),
                            .token = "token",
                            .read_timeout_ms = 200,
                            .idle_timeout_ms = 200,
                            .max_url = 512,
                            .max_header_bytes = 2048,
                            .max_headers = 16,
                            .max_body = 4096};
    uv_loop_t loop;
    struct sg_web *w = NULL;
    int sv[2];
    size_t off = 0;

    if (size > 65536)
        return 0;
    if (uv_loop_init(&loop) != 0)
        return 0;
    if (sg_web_create(&loop, &o, &w, NULL) != SG_OK)
        __builtin_trap();
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        __builtin_trap();
    if (sg_web_adopt_fd(w, sv[0], NULL) != SG_OK)
        __builtin_trap();
    while (off < size) {
        ssize_t n = write(sv[1], data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    shutdown(sv[1], SHUT_WR);
    uv_run(&loop, UV_RUN_DEFAULT);
    close(sv[1]);
    sg_web_close(w, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        __builtin_trap();
    return 0;
}
