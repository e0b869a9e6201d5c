/* src/web/server.c - HTTP/1.1 server: listener, connections, parsing with
 * http-parser, routing, responses.
 *
 * A connection moves through these states:
 *   IDLE     waiting for the first byte of a request (idle timeout)
 *   READING  a request is arriving (read timeout covers headers and body)
 *   HANDLER  the request was handed to its handler; reading is stopped and
 *            the parser paused, so pipelined bytes wait in `pending`
 *   WRITING  the response is being written (write timeout)
 * and back to IDLE after the write, or closed (errors, Connection: close,
 * server shutdown). Rejections found while parsing (414, 431, 413, 401,
 * 400, 501) are answered with Connection: close; 404 and 405 are answered
 * after the body was read, and keep the connection.
 *
 * Memory: a connection is freed when both of its handles (stream, timer)
 * are closed and no handler holds its request; the server is freed when
 * its listener handle is closed and no connection is left. Response bytes
 * live in the write request until libuv's write callback.
 *
 * This file knows nothing of stopgate's endpoints.
 */
#include <ctype.h>
#include <http_parser.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stopgate/web.h"

#define READ_CHUNK  16384
#define MAX_HEADERS 128
#define REQ_ARENA   (256u << 10)

enum conn_state { C_IDLE, C_READING, C_HANDLER, C_WRITING };

struct hdr_ref {
    uint32_t name_off, name_len, val_off, val_len;
};

struct sg_web {
    uv_loop_t *loop;
    uv_tcp_t listener; /* initialised at create, so closing always has a callback */
    bool listening;
    bool closing;
    bool listener_closed;
    struct sg_web_opts o;
    char *token;
    struct sg_web_conn *conns;
    size_t nconns;
    int port;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

struct sg_web_conn {
    struct sg_web *w;
    struct sg_web_conn *prev, *next;
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } h;
    uv_timer_t timer;
    int handles_open;
    bool closing;
    bool req_active; /* a handler holds req */
    enum conn_state state;
    http_parser parser;
    bool keep_alive, close_after, request_ready, last_was_value, is_head;
    int reject_status; /* set by a callback that stops the parse */
    int route_status;  /* 404/405 found at headers-complete */
    char allow[64];
    struct sg_buf url, hdr, body, pending;
    struct hdr_ref hdrs[MAX_HEADERS];
    size_t nhdrs;
    struct sg_arena arena;
    struct sg_web_req req;
    char remote[96];
    char chunk[READ_CHUNK];
};

struct write_req {
    uv_write_t req;
    struct sg_web_conn *c;
    struct sg_buf data;
};

static const http_parser_settings settings;
static void conn_close(struct sg_web_conn *c);
static void feed(struct sg_web_conn *c, const char *data, size_t len);
static int read_start(struct sg_web_conn *c);

/* ---- status texts --------------------------------------------------------------- */

const char *sg_web_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Request Entity Too Large";
    case 414:
        return "Request URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 423:
        return "Locked";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

/* ---- routing -------------------------------------------------------------------- */

int sg_web_pattern_check(const char *pattern, struct sg_err *err)
{
    size_t params = 0;
    const char *p = pattern;

    if (!pattern || pattern[0] != '/')
        return sg_err_set(err, SG_EINVAL, "route pattern must start with '/': \"%s\"",
                          pattern ? pattern : "");
    while (*p) {
        const char *seg = ++p, *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len > 0 && seg[0] == ':') {
            if (len == 1)
                return sg_err_set(err, SG_EINVAL, "route pattern \"%s\": empty parameter name",
                                  pattern);
            params++;
        } else if (len > 0 && seg[0] == '*') {
            if (len != 1 || end)
                return sg_err_set(err, SG_EINVAL, "route pattern \"%s\": '*' must be last",
                                  pattern);
            params++;
        }
        if (params > SG_WEB_MAX_PARAMS)
            return sg_err_set(err, SG_EINVAL, "route pattern \"%s\": more than %d parameters",
                              pattern, SG_WEB_MAX_PARAMS);
        p = seg + len;
    }
    return SG_OK;
}

/* Does path match pattern? Fills params (raw views into path). */
static bool pattern_match(const char *pat, struct sg_str path, struct sg_str *params,
                          size_t *nparams)
{
    size_t pi = 0, n = 0;
    const char *pp = pat;

    if (path.len == 0 || path.ptr[0] != '/')
        return false;
    while (*pp) {
        const char *seg;
        size_t seg_len, start, end;

        if (*pp != '/' || pi >= path.len || path.ptr[pi] != '/')
            return false;
        pp++;
        pi++;
        seg = pp;
        seg_len = strcspn(seg, "/");
        start = pi;
        if (seg_len == 1 && seg[0] == '*') {
            params[n++] = sg_str_make(path.ptr + start, path.len - start);
            *nparams = n;
            return true;
        }
        end = start;
        while (end < path.len && path.ptr[end] != '/')
            end++;
        if (seg_len > 0 && seg[0] == ':') {
            if (end == start)
                return false;
            params[n++] = sg_str_make(path.ptr + start, end - start);
        } else if (end - start != seg_len || memcmp(path.ptr + start, seg, seg_len) != 0) {
            return false;
        }
        pi = end;
        pp = seg + seg_len;
    }
    if (pi != path.len)
        return false;
    *nparams = n;
    return true;
}

const struct sg_web_route *sg_web_route_match(const struct sg_web_route *routes, size_t n,
                                              const char *method, struct sg_str path,
                                              struct sg_str *params, size_t *nparams, int *status,
                                              char *allow, size_t allow_len)
{
    bool path_seen = false;
    size_t al = 0;
    struct sg_str tmp[SG_WEB_MAX_PARAMS];
    size_t tn = 0;
    bool head = strcmp(method, "HEAD") == 0;

    if (allow && allow_len)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!pattern_match(routes[i].pattern, path, tmp, &tn))
            continue;
        if (strcmp(routes[i].method, method) == 0 ||
            (head && strcmp(routes[i].method, "GET") == 0)) {
            memcpy(params, tmp, tn * sizeof(*tmp));
            *nparams = tn;
            *status = 200;
            return &routes[i];
        }
        path_seen = true;
        if (allow && allow_len > al) {
            int w = snprintf(allow + al, allow_len - al, "%s%s", al ? ", " : "", routes[i].method);
            if (w > 0)
                al = strnlen(allow, allow_len);
        }
    }
    *status = path_seen ? 405 : 404;
    *nparams = 0;
    return NULL;
}

/* ---- small helpers -------------------------------------------------------------- */

bool sg_web_ct_equal(struct sg_str a, struct sg_str b)
{
    size_t n = a.len > b.len ? a.len : b.len;
    unsigned char diff = (unsigned char)(a.len != b.len);

    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < a.len ? (unsigned char)a.ptr[i] : 0;
        unsigned char y = i < b.len ? (unsigned char)b.ptr[i] : 0;
        diff |= (unsigned char)(x ^ y);
    }
    return diff == 0;
}

/* Percent-decode (and '+' -> ' ' for query strings) into the arena. */
static bool decode(struct sg_arena *a, struct sg_str in, bool plus, struct sg_str *out)
{
    char *o = sg_arena_alloc_raw(a, in.len + 1);
    size_t n = 0;

    if (!o)
        return false;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= in.len)
                return false;
            h = sg_hex_digit((unsigned char)in.ptr[i + 1]);
            l = sg_hex_digit((unsigned char)in.ptr[i + 2]);
            if (h < 0 || l < 0)
                return false;
            o[n++] = (char)(h * 16 + l);
            i += 2;
        } else if (plus && c == '+') {
            o[n++] = ' ';
        } else {
            o[n++] = c;
        }
    }
    o[n] = '\0';
    *out = sg_str_make(o, n);
    return true;
}

struct sg_str sg_web_req_header(const struct sg_web_req *req, const char *name)
{
    const struct sg_web_conn *c = req->conn;
    size_t nl = strlen(name);

    for (size_t i = 0; i < c->nhdrs; i++) {
        const struct hdr_ref *h = &c->hdrs[i];
        if (h->name_len == nl && strncasecmp(c->hdr.data + h->name_off, name, nl) == 0)
            return sg_str_make(c->hdr.data + h->val_off, h->val_len);
    }
    return sg_str_make(NULL, 0);
}

bool sg_web_req_query(const struct sg_web_req *req, const char *name, struct sg_str *out)
{
    struct sg_str q = req->query;
    size_t i = 0;

    while (i < q.len) {
        size_t end = i, eq;
        struct sg_str k, v;
        while (end < q.len && q.ptr[end] != '&')
            end++;
        eq = i;
        while (eq < end && q.ptr[eq] != '=')
            eq++;
        if (decode(req->arena, sg_str_make(q.ptr + i, eq - i), true, &k) && sg_str_eq_c(k, name)) {
            struct sg_str raw =
                eq < end ? sg_str_make(q.ptr + eq + 1, end - eq - 1) : sg_str_make("", 0);
            if (!decode(req->arena, raw, true, &v))
                return false;
            *out = v;
            return true;
        }
        i = end + 1;
    }
    return false;
}

bool sg_web_bearer_ok(const struct sg_web_req *req, struct sg_str token)
{
    struct sg_str h = sg_web_req_header(req, "Authorization");
    size_t i = 0;

    if (token.len == 0 || !h.ptr || h.len < 7 || strncasecmp(h.ptr, "Bearer ", 7) != 0)
        return false;
    i = 7;
    while (i < h.len && h.ptr[i] == ' ')
        i++;
    return sg_web_ct_equal(sg_str_make(h.ptr + i, h.len - i), token);
}

int sg_web_req_json(const struct sg_web_req *req, json_t **out, struct sg_err *err)
{
    json_error_t je;
    json_t *v;

    *out = NULL;
    if (req->body.len == 0)
        return SG_OK;
    v = json_loadb(req->body.ptr, req->body.len, 0, &je);
    if (!v)
        return sg_err_set_linecol(err, SG_EPARSE, "request body",
                                  (uint32_t)(je.line > 0 ? je.line : 1),
                                  (uint32_t)(je.column > 0 ? je.column : 1), "%s", je.text);
    *out = v;
    return SG_OK;
}

/* ---- connection lifecycle -------------------------------------------------------- */

static void server_maybe_done(struct sg_web *w)
{
    if (!w->closing || !w->listener_closed || w->conns)
        return;
    if (w->closed_cb)
        w->closed_cb(w->closed_arg);
    sg_free(w->token);
    sg_free(w);
}

static void conn_maybe_free(struct sg_web_conn *c)
{
    struct sg_web *w = c->w;

    if (c->handles_open > 0 || c->req_active)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    sg_buf_cleanup(&c->url);
    sg_buf_cleanup(&c->hdr);
    sg_buf_cleanup(&c->body);
    sg_buf_cleanup(&c->pending);
    sg_arena_cleanup(&c->arena);
    sg_free(c);
    server_maybe_done(w);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct sg_web_conn *c = h->data;

    c->handles_open--;
    conn_maybe_free(c);
}

static void conn_close(struct sg_web_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_read_stop(&c->h.stream);
    uv_timer_stop(&c->timer);
    uv_close(&c->h.handle, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_timer(uv_timer_t *t);

static void timer_start(struct sg_web_conn *c, uint64_t ms)
{
    uv_timer_stop(&c->timer);
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* Forget the request just answered; ready for the next one. */
static void request_reset(struct sg_web_conn *c)
{
    sg_buf_reset(&c->url);
    sg_buf_reset(&c->hdr);
    sg_buf_reset(&c->body);
    sg_arena_reset(&c->arena);
    memset(&c->req, 0, sizeof(c->req));
    c->nhdrs = 0;
    c->last_was_value = false;
    c->reject_status = 0;
    c->route_status = 0;
    c->request_ready = false;
    c->is_head = false;
    c->allow[0] = '\0';
}

static void on_write(uv_write_t *wr, int status)
{
    struct write_req *r = wr->data;
    struct sg_web_conn *c = r->c;
    char *again;
    size_t again_len;

    sg_buf_cleanup(&r->data);
    sg_free(r);
    if (c->closing)
        return;
    if (status < 0 || c->close_after || !c->keep_alive || c->w->closing) {
        conn_close(c);
        return;
    }
    request_reset(c);
    c->state = C_IDLE;
    http_parser_pause(&c->parser, 0);
    timer_start(c, c->w->o.idle_timeout_ms);
    /* pipelined bytes that arrived with the last request */
    again = sg_buf_steal(&c->pending, &again_len);
    if (again) {
        feed(c, again, again_len);
        sg_free(again);
    }
    if (!c->closing && (c->state == C_IDLE || c->state == C_READING) && read_start(c) != 0)
        conn_close(c);
}

/* Queue a response on the connection. */
static void send_response(struct sg_web_conn *c, int status, const char *ctype, const void *body,
                          size_t len, const char *const *headers, bool close)
{
    struct write_req *r;
    uv_buf_t b;
    int rc = SG_OK;

    if (close)
        c->close_after = true;
    r = sg_calloc(1, sizeof(*r));
    if (!r) {
        conn_close(c);
        return;
    }
    r->c = c;
    r->req.data = r;
    sg_buf_init(&r->data, len + 4096 + 64 * 1024);
    rc |= sg_buf_appendf(&r->data, "HTTP/1.1 %d %s\r\n", status, sg_web_status_text(status));
    if (ctype)
        rc |= sg_buf_appendf(&r->data, "Content-Type: %s\r\n", ctype);
    rc |= sg_buf_appendf(&r->data, "Content-Length: %zu\r\n", len);
    rc |=
        sg_buf_appendf(&r->data, "Connection: %s\r\n",
                       c->close_after || !c->keep_alive || c->w->closing ? "close" : "keep-alive");
    for (size_t i = 0; headers && headers[i]; i++) {
        /* a header line may not smuggle another one in */
        if (strpbrk(headers[i], "\r\n"))
            continue;
        rc |= sg_buf_appendf(&r->data, "%s\r\n", headers[i]);
    }
    rc |= sg_buf_puts(&r->data, "\r\n");
    if (!c->is_head && len)
        rc |= sg_buf_append(&r->data, body, len);
    if (rc != SG_OK) {
        sg_buf_cleanup(&r->data);
        sg_free(r);
        conn_close(c);
        return;
    }
    c->state = C_WRITING;
    uv_read_stop(&c->h.stream);
    timer_start(c, c->w->o.read_timeout_ms);
    b = uv_buf_init(r->data.data, (unsigned int)r->data.len);
    if (uv_write(&r->req, &c->h.stream, &b, 1, on_write) != 0) {
        sg_buf_cleanup(&r->data);
        sg_free(r);
        conn_close(c);
    }
}

static void send_text(struct sg_web_conn *c, int status, const char *text, bool close,
                      const char *const *headers)
{
    send_response(c, status, "text/plain; charset=utf-8", text, strlen(text), headers, close);
}

static void reject(struct sg_web_conn *c, int status)
{
    char text[128];
    static const char *const auth_hdr[] = {"WWW-Authenticate: Bearer", NULL};

    snprintf(text, sizeof(text), "%d %s\n", status, sg_web_status_text(status));
    send_text(c, status, text, true, status == 401 ? auth_hdr : NULL);
}

static void on_timer(uv_timer_t *t)
{
    struct sg_web_conn *c = t->data;

    switch (c->state) {
    case C_READING:
        /* slow client: cut off (Go's server just closes; a 408 is kinder) */
        reject(c, 408);
        break;
    case C_IDLE:
    case C_WRITING:
        conn_close(c);
        break;
    case C_HANDLER:
        break;
    }
}

/* ---- parser callbacks ------------------------------------------------------------- */

static struct sg_web_conn *conn_of(http_parser *p)
{
    return p->data;
}

static int on_message_begin(http_parser *p)
{
    struct sg_web_conn *c = conn_of(p);

    request_reset(c);
    c->state = C_READING;
    timer_start(c, c->w->o.read_timeout_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct sg_web_conn *c = conn_of(p);

    if (sg_buf_append(&c->url, at, len) != SG_OK) {
        c->reject_status = 414;
        return -1;
    }
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct sg_web_conn *c = conn_of(p);
    struct hdr_ref *h;

    if (c->nhdrs == 0 || c->last_was_value) {
        if (c->nhdrs >= c->w->o.max_headers) {
            c->reject_status = 431;
            return -1;
        }
        h = &c->hdrs[c->nhdrs++];
        /* names and values are stored NUL-separated */
        if (c->nhdrs > 1 && sg_buf_putc(&c->hdr, '\0') != SG_OK) {
            c->reject_status = 431;
            return -1;
        }
        h->name_off = (uint32_t)c->hdr.len;
        h->name_len = 0;
        h->val_off = 0;
        h->val_len = 0;
        c->last_was_value = false;
    }
    h = &c->hdrs[c->nhdrs - 1];
    if (sg_buf_append(&c->hdr, at, len) != SG_OK) {
        c->reject_status = 431;
        return -1;
    }
    h->name_len += (uint32_t)len;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct sg_web_conn *c = conn_of(p);
    struct hdr_ref *h;

    if (c->nhdrs == 0)
        return -1;
    h = &c->hdrs[c->nhdrs - 1];
    if (!c->last_was_value) {
        if (sg_buf_putc(&c->hdr, '\0') != SG_OK) {
            c->reject_status = 431;
            return -1;
        }
        h->val_off = (uint32_t)c->hdr.len;
        h->val_len = 0;
        c->last_was_value = true;
    }
    if (sg_buf_append(&c->hdr, at, len) != SG_OK) {
        c->reject_status = 431;
        return -1;
    }
    h->val_len += (uint32_t)len;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct sg_web_conn *c = conn_of(p);
    struct sg_web *w = c->w;
    struct http_parser_url u;
    struct sg_str raw[SG_WEB_MAX_PARAMS];
    const char *method = http_method_str((enum http_method)p->method);
    const struct sg_web_route *route;
    int status;

    if (p->upgrade) {
        c->reject_status = 501;
        return -1;
    }
    if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
        p->content_length > w->o.max_body) {
        c->reject_status = 413;
        return -1;
    }
    http_parser_url_init(&u);
    if (c->url.len == 0 ||
        http_parser_parse_url(c->url.data, c->url.len, p->method == HTTP_CONNECT, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH))) {
        c->reject_status = 400;
        return -1;
    }
    c->req.method = method;
    c->req.path = sg_str_make(c->url.data + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    c->req.query =
        (u.field_set & (1 << UF_QUERY))
            ? sg_str_make(c->url.data + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len)
            : sg_str_make("", 0);
    c->req.arena = &c->arena;
    c->req.conn = c;
    c->req.remote_addr = c->remote;
    c->is_head = p->method == HTTP_HEAD;
    route = sg_web_route_match(w->o.routes, w->o.routes_count, method, c->req.path, raw,
                               &c->req.nparams, &status, c->allow, sizeof(c->allow));
    if (!route) {
        c->route_status = status; /* answered once the body has been read */
        return 0;
    }
    c->req.route = route;
    if ((route->flags & SG_WEB_AUTH) && w->token &&
        !sg_web_bearer_ok(&c->req, sg_str_c(w->token))) {
        c->reject_status = 401;
        return -1;
    }
    for (size_t i = 0; i < c->req.nparams; i++) {
        if (!decode(&c->arena, raw[i], false, &c->req.params[i])) {
            c->reject_status = 400;
            return -1;
        }
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct sg_web_conn *c = conn_of(p);

    if (sg_buf_append(&c->body, at, len) != SG_OK) {
        c->reject_status = 413;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct sg_web_conn *c = conn_of(p);

    c->keep_alive = http_should_keep_alive(p) != 0;
    c->request_ready = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- dispatch ---------------------------------------------------------------------- */

static void dispatch(struct sg_web_conn *c)
{
    c->state = C_HANDLER;
    uv_timer_stop(&c->timer);
    c->req.body = sg_str_make(c->body.data ? c->body.data : "", c->body.len);
    if (c->route_status == 404) {
        send_text(c, 404, "404 page not found\n", false, NULL);
        return;
    }
    if (c->route_status == 405) {
        char allow[96];
        const char *hdrs[] = {allow, NULL};
        snprintf(allow, sizeof(allow), "Allow: %s", c->allow);
        send_text(c, 405, "405 method not allowed\n", false, hdrs);
        return;
    }
    c->req_active = true;
    c->req.route->handler(&c->req, c->w->o.ctx);
}

/* Run bytes through the parser. Stops at the end of a request (paused)
 * and keeps what follows in `pending`. */
static void feed(struct sg_web_conn *c, const char *data, size_t len)
{
    size_t n;
    enum http_errno e;

    if (c->state == C_HANDLER || c->state == C_WRITING) {
        if (sg_buf_append(&c->pending, data, len) != SG_OK)
            conn_close(c);
        return;
    }
    n = http_parser_execute(&c->parser, &settings, data, len);
    e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED && c->request_ready) {
        if (n < len && sg_buf_append(&c->pending, data + n, len - n) != SG_OK) {
            conn_close(c);
            return;
        }
        dispatch(c);
        return;
    }
    /* after a rejection the connection only writes and closes: the
     * parser is not used again */
    if (e != HPE_OK) {
        reject(c, c->reject_status ? c->reject_status : 400);
        return;
    }
    if (n != len)
        reject(c, c->parser.upgrade ? 501 : 400);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct sg_web_conn *c = h->data;

    (void)suggested;
    buf->base = c->chunk;
    buf->len = sizeof(c->chunk);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct sg_web_conn *c = s->data;

    if (nread == 0)
        return;
    if (nread < 0) {
        /* EOF or error: nothing can be answered any more, except a request
         * already being handled, whose response may still go out */
        uv_read_stop(s);
        if (c->state == C_HANDLER || c->state == C_WRITING)
            c->close_after = true;
        else
            conn_close(c);
        return;
    }
    feed(c, buf->base, (size_t)nread);
}

/* uv_read_start with our allocator (on_write restarts reading through it). */
static int read_start(struct sg_web_conn *c)
{
    return uv_read_start(&c->h.stream, on_alloc, on_read);
}

/* ---- responding ---------------------------------------------------------------------- */

void sg_web_respond(struct sg_web_req *req, int status, const char *content_type, const void *body,
                    size_t len, const char *const *headers)
{
    struct sg_web_conn *c = req->conn;

    if (!c || !c->req_active)
        return;
    c->req_active = false;
    if (c->closing) {
        conn_maybe_free(c);
        return;
    }
    send_response(c, status, content_type, body, len, headers, false);
}

void sg_web_respond_json(struct sg_web_req *req, int status, json_t *root)
{
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    json_decref(root);
    if (!s) {
        static const char oom[] = "{\"status\":\"error\",\"errorType\":\"internal\","
                                  "\"error\":\"out of memory\"}";
        sg_web_respond(req, 500, "application/json", oom, sizeof(oom) - 1, NULL);
        return;
    }
    sg_web_respond(req, status, "application/json", s, strlen(s), NULL);
    free(s);
}

void sg_web_respond_data(struct sg_web_req *req, json_t *data)
{
    json_t *root = json_object();

    if (!root || json_object_set_new(root, "status", json_string("success")) != 0 ||
        json_object_set_new(root, "data", data ? data : json_null()) != 0) {
        json_decref(root);
        sg_web_respond_json(req, 500, NULL);
        return;
    }
    sg_web_respond_json(req, 200, root);
}

void sg_web_respond_error(struct sg_web_req *req, int status, const char *error_type,
                          const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *root = json_object();

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (root) {
        json_object_set_new(root, "status", json_string("error"));
        json_object_set_new(root, "errorType", json_string(error_type));
        /* json_string refuses invalid UTF-8: fall back to a fixed text */
        json_t *m = json_string(msg);
        json_object_set_new(root, "error", m ? m : json_string("invalid message"));
    }
    sg_web_respond_json(req, status, root);
}

/* ---- server ------------------------------------------------------------------------- */

static struct sg_web_conn *conn_new(struct sg_web *w)
{
    struct sg_web_conn *c = sg_calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->w = w;
    sg_buf_init(&c->url, w->o.max_url);
    sg_buf_init(&c->hdr, w->o.max_header_bytes);
    sg_buf_init(&c->body, w->o.max_body);
    sg_buf_init(&c->pending, 4 * READ_CHUNK);
    sg_arena_init(&c->arena, REQ_ARENA);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->keep_alive = true;
    snprintf(c->remote, sizeof(c->remote), "unknown");
    return c;
}

/* The stream handle is initialised by the caller; this starts the rest. */
static void conn_start(struct sg_web *w, struct sg_web_conn *c)
{
    c->h.handle.data = c;
    uv_timer_init(w->loop, &c->timer);
    c->timer.data = c;
    c->handles_open = 2;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    c->state = C_IDLE;
    timer_start(c, w->o.idle_timeout_ms);
    if (w->nconns > w->o.max_connections || read_start(c) != 0)
        conn_close(c);
}

static void format_peer(struct sg_web_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char host[64];

    if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, host, sizeof(host));
        snprintf(c->remote, sizeof(c->remote), "%s:%u", host, ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, host, sizeof(host));
        snprintf(c->remote, sizeof(c->remote), "[%s]:%u", host, ntohs(a->sin6_port));
    }
}

static void free_handle(uv_handle_t *h)
{
    sg_free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct sg_web *w = server->data;
    struct sg_web_conn *c;

    if (status < 0 || w->closing)
        return;
    c = conn_new(w);
    if (!c) {
        /* accept and drop, so the listener does not spin on it */
        uv_tcp_t *tmp = sg_malloc(sizeof(*tmp));
        if (tmp) {
            uv_tcp_init(w->loop, tmp);
            uv_accept(server, (uv_stream_t *)tmp);
            uv_close((uv_handle_t *)tmp, free_handle);
        }
        return;
    }
    uv_tcp_init(w->loop, &c->h.tcp);
    if (uv_accept(server, &c->h.stream) == 0) {
        uv_tcp_nodelay(&c->h.tcp, 1);
        format_peer(c);
    }
    conn_start(w, c);
}

/* A client that goes away makes the next write fail with EPIPE; without
 * this the default SIGPIPE would end the process. Only a default
 * disposition is changed, never one the program chose. */
static void ignore_sigpipe(void)
{
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
    }
}

int sg_web_create(uv_loop_t *loop, const struct sg_web_opts *opts, struct sg_web **out,
                  struct sg_err *err)
{
    struct sg_web *w;

    for (size_t i = 0; i < opts->routes_count; i++) {
        if (!opts->routes[i].method || !opts->routes[i].handler)
            return sg_err_set(err, SG_EINVAL, "route %zu: method and handler are required", i);
        if (sg_web_pattern_check(opts->routes[i].pattern, err) != SG_OK)
            return SG_EINVAL;
    }
    ignore_sigpipe();
    w = sg_calloc(1, sizeof(*w));
    if (!w)
        return sg_err_set(err, SG_ENOMEM, "web: out of memory");
    w->loop = loop;
    w->o = *opts;
    if (!w->o.read_timeout_ms)
        w->o.read_timeout_ms = 10000;
    if (!w->o.idle_timeout_ms)
        w->o.idle_timeout_ms = 60000;
    if (!w->o.max_url)
        w->o.max_url = 8192;
    if (!w->o.max_header_bytes)
        w->o.max_header_bytes = 16384;
    if (!w->o.max_headers || w->o.max_headers > MAX_HEADERS)
        w->o.max_headers = w->o.max_headers ? MAX_HEADERS : 64;
    if (!w->o.max_body)
        w->o.max_body = 1u << 20;
    if (!w->o.max_connections)
        w->o.max_connections = 256;
    w->o.token = NULL;
    if (opts->token && sg_web_set_token(w, opts->token, err) != SG_OK) {
        sg_free(w);
        return SG_ENOMEM;
    }
    uv_tcp_init(loop, &w->listener);
    w->listener.data = w;
    *out = w;
    return SG_OK;
}

int sg_web_set_token(struct sg_web *w, const char *token, struct sg_err *err)
{
    char *t = NULL;

    if (token) {
        t = sg_strdup(token);
        if (!t)
            return sg_err_set(err, SG_ENOMEM, "web: out of memory");
    }
    if (w->token) {
        /* the old token is a secret: do not leave it in freed memory */
        volatile char *v = w->token;
        for (size_t i = 0; v[i]; i++)
            v[i] = 0;
    }
    sg_free(w->token);
    w->token = t;
    return SG_OK;
}

/* Split "host:port" / "[v6]:port" / ":port". */
static int split_address(const char *address, char *host, size_t hn, char *port, size_t pn)
{
    const char *colon;
    size_t hl;

    if (address[0] == '[') {
        const char *end = strchr(address, ']');
        if (!end || end[1] != ':')
            return SG_EINVAL;
        hl = (size_t)(end - address - 1);
        if (hl >= hn)
            return SG_EINVAL;
        memcpy(host, address + 1, hl);
        colon = end + 1;
    } else {
        colon = strrchr(address, ':');
        if (!colon)
            return SG_EINVAL;
        hl = (size_t)(colon - address);
        if (hl >= hn || memchr(address, ':', hl))
            return SG_EINVAL;
        memcpy(host, address, hl);
    }
    host[hl] = '\0';
    if (strlen(colon + 1) == 0 || strlen(colon + 1) >= pn ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return SG_EINVAL;
    snprintf(port, pn, "%s", colon + 1);
    return SG_OK;
}

int sg_web_listen(struct sg_web *w, const char *address, struct sg_err *err)
{
    char host[256], port[8];
    struct sockaddr_storage ss;
    struct addrinfo hints, *res = NULL;
    int r, namelen = sizeof(ss);

    if (w->listening)
        return sg_err_set(err, SG_EINVAL, "listen %s: already listening", address);
    if (split_address(address, host, sizeof(host), port, sizeof(port)) != SG_OK ||
        strtol(port, NULL, 10) > 65535)
        return sg_err_set(err, SG_EINVAL, "listen %s: want HOST:PORT or [IPv6]:PORT", address);
    memset(&ss, 0, sizeof(ss));
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (!host[0])
        snprintf(host, sizeof(host), "0.0.0.0");
    if (uv_ip4_addr(host, (int)strtol(port, NULL, 10), (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, (int)strtol(port, NULL, 10), (struct sockaddr_in6 *)&ss) != 0) {
        /* a host name: resolved once, at start (not on a running loop) */
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
            return sg_err_set(err, SG_EIO, "listen %s: cannot resolve host \"%s\"", address, host);
        memcpy(&ss, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
    }
    r = uv_tcp_bind(&w->listener, (const struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&w->listener, 128, on_connection);
    if (r != 0)
        return sg_err_set_cause(err, SG_EIO, r, "listen %s: %s", address, uv_strerror(r));
    w->listening = true;
    if (uv_tcp_getsockname(&w->listener, (struct sockaddr *)&ss, &namelen) == 0)
        w->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return SG_OK;
}

int sg_web_port(const struct sg_web *w)
{
    return w->port;
}

size_t sg_web_connections(const struct sg_web *w)
{
    return w->nconns;
}

int sg_web_adopt_fd(struct sg_web *w, int fd, struct sg_err *err)
{
    struct sg_web_conn *c;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int r;

    if (w->closing) {
        close(fd);
        return sg_err_set(err, SG_EINVAL, "web: server is closing");
    }
    c = conn_new(w);
    if (!c) {
        close(fd);
        return sg_err_set(err, SG_ENOMEM, "web: out of memory");
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_UNIX) {
        uv_pipe_init(w->loop, &c->h.pipe, 0);
        r = uv_pipe_open(&c->h.pipe, fd);
        snprintf(c->remote, sizeof(c->remote), "unix");
    } else {
        uv_tcp_init(w->loop, &c->h.tcp);
        r = uv_tcp_open(&c->h.tcp, fd);
        if (r == 0)
            format_peer(c);
    }
    conn_start(w, c);
    if (r != 0) {
        conn_close(c);
        close(fd);
        return sg_err_set_cause(err, SG_EIO, r, "web: adopt fd: %s", uv_strerror(r));
    }
    return SG_OK;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct sg_web *w = h->data;

    w->listener_closed = true;
    server_maybe_done(w);
}

void sg_web_close(struct sg_web *w, void (*closed_cb)(void *arg), void *arg)
{
    struct sg_web_conn *c, *next;

    if (!w || w->closing)
        return;
    w->closing = true;
    w->closed_cb = closed_cb;
    w->closed_arg = arg;
    uv_close((uv_handle_t *)&w->listener, on_listener_closed);
    for (c = w->conns; c; c = next) {
        next = c->next;
        if (c->state == C_IDLE || c->state == C_READING)
            conn_close(c);
        else
            c->close_after = true;
    }
}
