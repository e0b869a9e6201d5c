/* src/http/client.c - HTTP requests on a libuv loop through libcurl's multi
 * socket interface.
 *
 * curl tells us which sockets to watch (on_curl_socket: one uv_poll each)
 * and when to call it back (on_curl_timer: one uv_timer); uv tells curl
 * when a socket is ready (on_poll) or the timer fired (on_timer); after
 * each of those, finished transfers are collected (collect_done) and their
 * callbacks run. Every callback is therefore delivered from the loop and
 * never from sg_http_start. Cancelled requests are removed from the multi
 * handle at once and their callbacks queued on a zero timer (`defer`).
 *
 * Each request: its own error buffer, NOSIGNAL, http/https only, no
 * redirects, connect and total time limits in ms, "Expect:" suppressed, TLS
 * verification unless insecure_skip_verify. The write callback enforces the
 * response cap itself (returning 0 aborts the transfer), streams 2xx
 * bodies to on_data when given, and keeps only the start of a non-2xx body
 * for the error message.
 *
 * Not here: retries, auth token files, logging (callers decide).
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "stopgate/http.h"

#define DEFAULT_MAX_RESPONSE ((size_t)64 << 20)
#define DEFAULT_MAX_ERROR    4096

struct sg_http_sock {
    uv_poll_t poll;
    struct sg_http *http;
    curl_socket_t fd;
    struct sg_http_sock *next, *prev; /* open polls, for close */
};

struct sg_http_req {
    struct sg_http *http;
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *connect_to;
    void *body; /* our copy of the request body */
    sg_http_done_cb done;
    sg_http_data_cb on_data;
    void *arg;
    size_t max_response, max_error;
    int64_t timeout_ms;
    struct sg_http_resp resp;
    bool got_head, is_error_status, canceled, finished;
    struct sg_err err;   /* set by the write callback (cap, on_data) */
    char errbuf[CURL_ERROR_SIZE];
    struct sg_http_req *next, *prev; /* active or deferred list */
};

struct sg_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer; /* curl's timeout */
    uv_timer_t defer; /* callbacks of cancelled requests */
    struct sg_http_req *active;
    struct sg_http_req *deferred;
    struct sg_http_sock *socks;
    bool closing;
    int open_handles;
};

static bool curl_ready;

/* ---- lists --------------------------------------------------------------- */

static void req_link(struct sg_http_req **head, struct sg_http_req *r)
{
    r->prev = NULL;
    r->next = *head;
    if (*head)
        (*head)->prev = r;
    *head = r;
}

static void req_unlink(struct sg_http_req **head, struct sg_http_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        *head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

/* ---- completion ---------------------------------------------------------- */

static void req_free(struct sg_http_req *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    curl_slist_free_all(r->connect_to);
    sg_free(r->body);
    sg_buf_cleanup(&r->resp.body);
    sg_free(r);
}

/* One line of the error body: control characters become spaces, trimmed. */
static void error_body_line(const struct sg_buf *b, char *out, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < b->len && o + 1 < n; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c < 0x20 || c == 0x7f)
            c = ' ';
        if (c == ' ' && (o == 0 || out[o - 1] == ' '))
            continue;
        out[o++] = (char)c;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

static void complete(struct sg_http_req *r, CURLcode cc)
{
    struct sg_err *err = &r->err;
    long status = 0;
    char *ct = NULL;

    if (r->easy) {
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
        r->resp.status = status;
        r->resp.content_type = ct;
    }
    r->resp.curl_code = (int)cc;
    if (r->canceled) {
        sg_err_clear(err);
        sg_err_set(err, SG_ECANCELED, "request canceled");
    } else if (err->code == SG_OK && status != 0 && (status < 200 || status > 299) &&
               (cc == CURLE_OK || r->is_error_status)) {
        char line[400];
        error_body_line(&r->resp.body, line, sizeof(line));
        sg_err_set(err, SG_EHTTP, "server returned HTTP status %ld%s%s", status,
                   line[0] ? ": " : "", line);
    } else if (err->code == SG_OK && cc == CURLE_OPERATION_TIMEDOUT) {
        sg_err_set_cause(err, SG_ETIMEDOUT, (int)cc, "request timed out after %lld ms",
                         (long long)r->timeout_ms);
    } else if (err->code == SG_OK && cc != CURLE_OK) {
        sg_err_set_cause(err, SG_EIO, (int)cc, "%s",
                         r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
    }
    r->finished = true;
    r->done(&r->resp, err->code == SG_OK ? NULL : err, r->arg);
    req_free(r);
}

static void on_closed(uv_handle_t *h)
{
    struct sg_http *http = h->data;

    if (--http->open_handles == 0)
        sg_free(http);
}

static void on_sock_closed(uv_handle_t *h)
{
    struct sg_http_sock *s = h->data;
    struct sg_http *http = s->http;

    sg_free(s);
    if (--http->open_handles == 0)
        sg_free(http);
}

static void sock_close(struct sg_http *http, struct sg_http_sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        http->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* The last step of sg_http_close, once no request is left. */
static void finish_close(struct sg_http *http)
{
    if (http->multi) {
        curl_multi_cleanup(http->multi); /* may call on_curl_socket(REMOVE) */
        http->multi = NULL;
    }
    while (http->socks)
        sock_close(http, http->socks);
    uv_timer_stop(&http->timer);
    uv_timer_stop(&http->defer);
    uv_close((uv_handle_t *)&http->timer, on_closed);
    uv_close((uv_handle_t *)&http->defer, on_closed);
}

static void collect_done(struct sg_http *http)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(http->multi, &left)) != NULL) {
        struct sg_http_req *r;
        char *priv = NULL;
        CURLcode cc;
        if (msg->msg != CURLMSG_DONE)
            continue;
        cc = msg->data.result; /* read all of msg before removing the handle */
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        r = (struct sg_http_req *)(void *)priv;
        curl_multi_remove_handle(http->multi, msg->easy_handle);
        req_unlink(&http->active, r);
        complete(r, cc);
    }
}

static void on_defer(uv_timer_t *t)
{
    struct sg_http *http = t->data;

    while (http->deferred) {
        struct sg_http_req *r = http->deferred;
        req_unlink(&http->deferred, r);
        complete(r, CURLE_OK);
    }
    if (http->closing && !http->active)
        finish_close(http);
}

/* ---- curl <-> uv ----------------------------------------------------------- */

static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct sg_http_sock *s = poll->data;
    struct sg_http *http = s->http; /* read before curl can remove s */
    int flags = status < 0 ? CURL_CSELECT_ERR : 0, running;

    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(http->multi, s->fd, flags, &running);
    collect_done(http);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct sg_http *http = userp;
    struct sg_http_sock *s = sockp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(http->multi, fd, NULL);
            sock_close(http, s);
        }
        return 0;
    }
    if (!s) {
        s = sg_calloc(1, sizeof(*s));
        if (!s)
            return -1;
        if (uv_poll_init_socket(http->loop, &s->poll, fd) != 0) {
            sg_free(s);
            return -1;
        }
        s->poll.data = s;
        s->http = http;
        s->fd = fd;
        s->next = http->socks;
        if (http->socks)
            http->socks->prev = s;
        http->socks = s;
        http->open_handles++;
        curl_multi_assign(http->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    struct sg_http *http = t->data;
    int running;

    curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(http);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct sg_http *http = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&http->timer);
    else /* a uv timer never fires from inside this call, so 0 is safe */
        uv_timer_start(&http->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *userp)
{
    struct sg_http_req *r = userp;
    size_t n = size * nmemb;

    if (!r->got_head) {
        long status = 0;
        char *ct = NULL;
        curl_off_t cl = -1;
        r->got_head = true;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
        curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        r->resp.status = status;
        r->resp.content_type = ct;
        r->resp.content_length = cl;
        r->is_error_status = status < 200 || status > 299;
        if (r->is_error_status)
            sg_buf_init(&r->resp.body, r->max_error);
    }
    if (r->is_error_status) {
        size_t room = r->max_error - r->resp.body.len;
        r->resp.bytes += n;
        if (sg_buf_append(&r->resp.body, p, n < room ? n : room) != SG_OK)
            return 0;
        return n < room ? n : 0; /* enough of the error body: stop */
    }
    if (n > r->max_response - r->resp.bytes) {
        sg_err_set(&r->err, SG_ELIMIT, "response larger than the limit of %zu bytes",
                   r->max_response);
        return 0;
    }
    r->resp.bytes += n;
    if (r->on_data) {
        if (r->on_data(&r->resp, p, n, r->arg, &r->err) != SG_OK) {
            if (r->err.code == SG_OK)
                sg_err_set(&r->err, SG_EIO, "response consumer failed");
            return 0;
        }
        return n;
    }
    if (sg_buf_append(&r->resp.body, p, n) != SG_OK) {
        sg_err_set(&r->err, SG_ENOMEM, "out of memory for the response body");
        return 0;
    }
    return n;
}

/* ---- public -------------------------------------------------------------- */

int sg_http_new(uv_loop_t *loop, struct sg_http **out, struct sg_err *err)
{
    struct sg_http *http;

    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return sg_err_set(err, SG_EIO, "cannot initialise libcurl");
        curl_ready = true;
    }
    http = sg_calloc(1, sizeof(*http));
    if (!http)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    http->loop = loop;
    http->multi = curl_multi_init();
    if (!http->multi) {
        sg_free(http);
        return sg_err_set(err, SG_ENOMEM, "cannot create a curl multi handle");
    }
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
    uv_timer_init(loop, &http->timer);
    uv_timer_init(loop, &http->defer);
    http->timer.data = http;
    http->defer.data = http;
    http->open_handles = 2;
    *out = http;
    return SG_OK;
}

uv_loop_t *sg_http_loop(const struct sg_http *http)
{
    return http->loop;
}

void sg_http_cancel(struct sg_http_req *r)
{
    struct sg_http *http;

    if (!r || r->canceled)
        return;
    http = r->http;
    r->canceled = true;
    curl_multi_remove_handle(http->multi, r->easy);
    req_unlink(&http->active, r);
    req_link(&http->deferred, r);
    uv_timer_start(&http->defer, on_defer, 0, 0);
}

void sg_http_close(struct sg_http *http)
{
    if (!http || http->closing)
        return;
    http->closing = true;
    while (http->active)
        sg_http_cancel(http->active);
    /* finish_close runs from the defer timer, after the callbacks */
    uv_timer_start(&http->defer, on_defer, 0, 0);
}

static int set_server_name(struct sg_http_req *r, const char *url, const char *name,
                           struct sg_err *err)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *rewritten = NULL, connect_to[600];
    struct curl_slist *l;
    int rc = SG_OK;

    if (!u)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_HOST, name, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &rewritten, 0) != CURLUE_OK) {
        rc = sg_err_set(err, SG_EINVAL, "invalid URL or TLS server name");
        goto out;
    }
    snprintf(connect_to, sizeof(connect_to), "%s:%s:%s:%s", name, port, host, port);
    l = curl_slist_append(NULL, connect_to);
    if (!l) {
        rc = sg_err_set(err, SG_ENOMEM, "out of memory");
        goto out;
    }
    r->connect_to = l;
    curl_easy_setopt(r->easy, CURLOPT_CONNECT_TO, l);
    if (curl_easy_setopt(r->easy, CURLOPT_URL, rewritten) != CURLE_OK)
        rc = sg_err_set(err, SG_EINVAL, "invalid URL");
out:
    curl_free(host);
    curl_free(port);
    curl_free(rewritten);
    curl_url_cleanup(u);
    return rc;
}

int sg_http_start(struct sg_http *http, const struct sg_http_opts *o, sg_http_done_cb done,
                  void *arg, struct sg_http_req **out, struct sg_err *err)
{
    struct sg_http_req *r;
    CURL *e;
    const char *method = o->method ? o->method : (o->body ? "POST" : "GET");
    CURLMcode mc;

    if (http->closing)
        return sg_err_set(err, SG_ECANCELED, "HTTP client is closing");
    if (!o->url || (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0))
        return sg_err_set(err, SG_EINVAL, "URL must start with http:// or https://");
    r = sg_calloc(1, sizeof(*r));
    if (!r)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    r->http = http;
    r->done = done;
    r->on_data = o->on_data;
    r->arg = arg;
    r->max_response = o->max_response_bytes ? o->max_response_bytes : DEFAULT_MAX_RESPONSE;
    r->max_error = o->max_error_body ? o->max_error_body : DEFAULT_MAX_ERROR;
    r->timeout_ms = o->timeout_ms;
    r->resp.content_length = -1;
    sg_buf_init(&r->resp.body, r->max_response);
    r->easy = e = curl_easy_init();
    if (!e) {
        req_free(r);
        return sg_err_set(err, SG_ENOMEM, "cannot create a curl handle");
    }
    if (o->body) {
        r->body = sg_memdup(o->body, o->body_len ? o->body_len : 1);
        if (!r->body) {
            req_free(r);
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        }
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    else if (strcmp(method, "GET") == 0)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    for (const char *const *h = o->headers; h && *h; h++) {
        struct curl_slist *l = curl_slist_append(r->headers, *h);
        if (!l) {
            req_free(r);
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        }
        r->headers = l;
    }
    {
        /* no "Expect: 100-continue" round trip for large bodies */
        struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
        if (!l) {
            req_free(r);
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        }
        r->headers = l;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    if (o->tls.server_name && strncmp(o->url, "https://", 8) == 0) {
        /* connect to the URL's host but speak TLS (SNI, verification) as
         * server_name: rewrite the host and pin the connection */
        int rc = set_server_name(r, o->url, o->tls.server_name, err);
        if (rc != SG_OK) {
            req_free(r);
            return rc;
        }
    } else if (curl_easy_setopt(e, CURLOPT_URL, o->url) != CURLE_OK) {
        req_free(r);
        return sg_err_set(err, SG_EINVAL, "invalid URL");
    }
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    if (o->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    if (o->connect_timeout_ms > 0 || o->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(o->connect_timeout_ms > 0 ? o->connect_timeout_ms
                                                          : o->timeout_ms));
    if (o->recv_buffer_size)
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)o->recv_buffer_size);
    if (o->username) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, o->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    if (o->tls.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->tls.ca_file);
    if (o->tls.cert_file)
        curl_easy_setopt(e, CURLOPT_SSLCERT, o->tls.cert_file);
    if (o->tls.key_file)
        curl_easy_setopt(e, CURLOPT_SSLKEY, o->tls.key_file);
    if (o->tls.insecure_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    mc = curl_multi_add_handle(http->multi, e);
    if (mc != CURLM_OK) {
        req_free(r);
        return sg_err_set(err, SG_EIO, "cannot start the request: %s", curl_multi_strerror(mc));
    }
    req_link(&http->active, r);
    if (out)
        *out = r;
    return SG_OK;
}

/* ---- blocking form ------------------------------------------------------- */

struct run_state {
    bool done;
    long status;
    struct sg_buf *body;
    struct sg_err *err;
    int rc;
};

static void on_run_done(const struct sg_http_resp *resp, const struct sg_err *e, void *arg)
{
    struct run_state *st = arg;

    st->done = true;
    st->status = resp->status;
    if (e) {
        st->rc = e->code;
        if (st->err)
            *st->err = *e;
    }
    if (st->body && resp->body.len && (!e || e->code == SG_EHTTP)) {
        if (sg_buf_append(st->body, resp->body.data, resp->body.len) != SG_OK && !e)
            st->rc = sg_err_set(st->err, SG_ELIMIT, "response larger than the buffer");
    }
}

struct run_wrap {
    struct run_state st;
    void *user_arg;
    sg_http_data_cb user_data;
};

static int on_run_data(const struct sg_http_resp *resp, const char *p, size_t n, void *arg,
                       struct sg_err *err)
{
    struct run_wrap *w = arg;
    return w->user_data(resp, p, n, w->user_arg, err);
}

static void on_run_done_wrap(const struct sg_http_resp *resp, const struct sg_err *e, void *arg)
{
    struct run_wrap *w = arg;
    on_run_done(resp, e, &w->st);
}

int sg_http_run(const struct sg_http_opts *opts, void *arg, long *status, struct sg_buf *body,
                struct sg_err *err)
{
    uv_loop_t loop;
    struct sg_http *http = NULL;
    struct run_wrap w;
    struct sg_http_opts o = *opts;
    int rc;

    memset(&w, 0, sizeof(w));
    w.st.body = body;
    w.st.err = err;
    w.user_arg = arg;
    w.user_data = opts->on_data;
    if (opts->on_data)
        o.on_data = on_run_data;
    if (uv_loop_init(&loop) != 0)
        return sg_err_set(err, SG_EIO, "cannot create an event loop");
    rc = sg_http_new(&loop, &http, err);
    if (rc == SG_OK) {
        rc = sg_http_start(http, &o, on_run_done_wrap, &w, NULL, err);
        if (rc == SG_OK) {
            uv_run(&loop, UV_RUN_DEFAULT);
            rc = w.st.done ? w.st.rc : sg_err_set(err, SG_EIO, "request did not complete");
        }
        sg_http_close(http);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(&loop) != 0 && rc == SG_OK)
        rc = sg_err_set(err, SG_EIO, "event loop still had open handles");
    if (status)
        *status = w.st.status;
    return rc;
}

bool sg_http_is_connect_error(int cc)
{
    switch ((CURLcode)cc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return true;
    default:
        return false;
    }
}
