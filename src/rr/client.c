/* src/rr/client.c - the remote-read client: the only rr file that knows
 * about sg_http.
 *
 * A read is one POST of one ReadRequest. The headers are those Prometheus's
 * own client sends (Content-Encoding: snappy, Accept-Encoding: snappy,
 * Content-Type: application/x-protobuf, User-Agent,
 * X-Prometheus-Remote-Read-Version: 0.1.0), then the configured extra
 * headers, then Authorization: the bearer token file and the basic auth
 * password file are read again for every attempt, so rotated secrets are
 * picked up without a restart. Secrets never reach the log; the URL is
 * logged redacted.
 *
 * The response is decoded while it arrives: the first body bytes decide the
 * decoder from the Content-Type (whatever type the server chose is
 * handled), and every piece goes straight to sg_rr_decoder_feed. With
 * opts.on_series, the series of a streamed answer go to the caller as they
 * complete.
 *
 * Servers that take one query per request (InfluxDB 1.x answers 400 "...
 * only supports one query at a time") get the queries one by one: the
 * client notices the answer once, remembers it, and from then on sends one
 * request per query and puts the results together in query order.
 *
 * Retries: at most opts.retries more attempts per request, only when the connection
 * failed before any response byte arrived or the server answered 5xx,
 * with exponential backoff (min_backoff doubling up to max_backoff, with
 * jitter: a random point in the upper half of the step), and only when the
 * backoff still ends before the read's deadline. The deadline covers
 * everything (timeout_ms from the start of the read); each attempt gets
 * the time that is left.
 */
#include <stdio.h>
#include <string.h>

#include "rr/rr_int.h"
#include "sg_build_config.h"
#include "stopgate/clock.h"
#include "stopgate/duration.h"
#include "stopgate/fs.h"
#include "stopgate/log.h"

#define SECRET_FILE_MAX 65536
#define RECV_BUFFER     (256 * 1024)

struct sg_rr_client {
    struct sg_arena a; /* copies of every option */
    struct sg_rr_options o;
    const char **headers; /* "Name: value", fixed ones first; NULL-terminated */
    size_t nheaders;
    char url_redacted[256];
    bool one_query_per_request; /* learnt from the server's answer */
};

struct sg_rr_req {
    struct sg_rr_client *c;
    struct sg_http *http;
    struct sg_arena *arena;
    sg_rr_done_cb cb;
    void *arg;
    struct sg_arena own; /* decode queries */
    struct sg_buf *bodies; /* [0]: all queries; [1 + i]: query i alone (n > 1) */
    size_t nbodies;
    struct sg_rr_decode_query *dq;
    size_t nq;
    bool split;                 /* one request per query */
    size_t cur;                 /* the query being read when split */
    struct sg_series_set *sets; /* results so far when split (caller's arena) */
    struct sg_rr_stats acc;
    int64_t deadline_ms; /* monotonic */
    int attempts;        /* requests sent */
    int tries;           /* attempts of the current request */
    struct sg_http_req *hreq;
    uv_timer_t timer; /* backoff, and delivering a cancel during backoff */
    bool in_backoff, canceled, got_data;
    struct sg_rr_decoder *dec;
    struct sg_err err;
    uint64_t rng;
};

static const char *const reserved_headers[] = {
    "Content-Encoding", "Content-Type", "Accept-Encoding", "X-Prometheus-Remote-Read-Version",
    "Content-Length", "Host", "Transfer-Encoding", "Expect",
};

static bool name_is(const char *a, const char *b)
{
    size_t n = strlen(b);

    if (strlen(a) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

static bool header_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c >= 0x7f || c == ':')
            return false;
    }
    return true;
}

static bool header_value_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' || *s == '\0')
            return false;
    return true;
}

void sg_rr_client_free(struct sg_rr_client *c)
{
    if (!c)
        return;
    sg_arena_cleanup(&c->a);
    sg_free(c);
}

#define COPY_STR(field)                                                                            \
    do {                                                                                           \
        if (opts->field && !(c->o.field = sg_arena_strdup(&c->a, opts->field)))                   \
            goto oom;                                                                              \
    } while (0)

int sg_rr_client_new(const struct sg_rr_options *opts, struct sg_rr_client **out,
                     struct sg_err *err)
{
    struct sg_rr_client *c;
    size_t nh = 0;
    bool has_auth = opts->bearer_token_file || opts->basic_auth_username;

    if (!opts->url || !*opts->url)
        return sg_err_set(err, SG_EINVAL, "remote read: no URL given");
    if (strncmp(opts->url, "http://", 7) != 0 && strncmp(opts->url, "https://", 8) != 0)
        return sg_err_set(err, SG_EINVAL,
                          "remote read: URL must start with http:// or https://, not \"%.200s\"",
                          opts->url);
    if (opts->basic_auth_username && !opts->basic_auth_password_file)
        return sg_err_set(err, SG_EINVAL, "remote read: basic auth needs a password file");
    if (opts->bearer_token_file && opts->basic_auth_username)
        return sg_err_set(err, SG_EINVAL,
                          "remote read: use either a bearer token or basic auth, not both");
    for (size_t i = 0; i < opts->nheaders; i++) {
        const struct sg_rr_header *h = &opts->headers[i];
        if (!h->name || !header_name_ok(h->name))
            return sg_err_set(err, SG_EINVAL, "remote read: invalid header name \"%.100s\"",
                              h->name ? h->name : "");
        if (!h->value || !header_value_ok(h->value))
            return sg_err_set(err, SG_EINVAL, "remote read: invalid value for header %s",
                              h->name);
        for (size_t k = 0; k < SG_ARRAY_LEN(reserved_headers); k++)
            if (name_is(h->name, reserved_headers[k]))
                return sg_err_set(err, SG_EINVAL,
                                  "remote read: header %s is set by the protocol and cannot be "
                                  "changed",
                                  reserved_headers[k]);
        if (has_auth && name_is(h->name, "Authorization"))
            return sg_err_set(err, SG_EINVAL,
                              "remote read: an Authorization header cannot be combined with a "
                              "bearer token file or basic auth");
    }
    for (size_t i = 0; i < opts->nexternal_labels; i++)
        if (!opts->external_labels[i].name.len)
            return sg_err_set(err, SG_EINVAL, "remote read: external label with an empty name");
    if (opts->timeout_ms <= 0)
        return sg_err_set(err, SG_EINVAL, "remote read: timeout must be positive");
    if (opts->retries < 0 || opts->retries > 100)
        return sg_err_set(err, SG_EINVAL, "remote read: retries must be between 0 and 100");

    c = sg_calloc(1, sizeof(*c));
    if (!c)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    sg_arena_init(&c->a, 0);
    c->o = *opts;
    if (!c->o.max_response_bytes)
        c->o.max_response_bytes = SG_RR_DEFAULT_MAX_RESPONSE;
    if (!c->o.max_frame_bytes)
        c->o.max_frame_bytes = SG_RR_DEFAULT_MAX_FRAME;
    if (!c->o.max_samples)
        c->o.max_samples = SG_RR_DEFAULT_MAX_SAMPLES;
    if (c->o.min_backoff_ms <= 0)
        c->o.min_backoff_ms = SG_RR_DEFAULT_MIN_BACKOFF_MS;
    if (c->o.max_backoff_ms < c->o.min_backoff_ms)
        c->o.max_backoff_ms = c->o.min_backoff_ms;
    COPY_STR(url);
    COPY_STR(bearer_token_file);
    COPY_STR(basic_auth_username);
    COPY_STR(basic_auth_password_file);
    COPY_STR(tls.ca_file);
    COPY_STR(tls.cert_file);
    COPY_STR(tls.key_file);
    COPY_STR(tls.server_name);
    COPY_STR(user_agent);
    c->o.headers = NULL;
    c->o.external_labels = NULL;
    if (opts->nexternal_labels) {
        struct sg_label *el = sg_arena_alloc_array(&c->a, opts->nexternal_labels, sizeof(*el));
        if (!el)
            goto oom;
        for (size_t i = 0; i < opts->nexternal_labels; i++)
            if (sg_arena_str(&c->a, opts->external_labels[i].name, &el[i].name) != SG_OK ||
                sg_arena_str(&c->a, opts->external_labels[i].value, &el[i].value) != SG_OK)
                goto oom;
        c->o.external_labels = el;
    }
    c->headers = sg_arena_alloc_array(&c->a, opts->nheaders + 6, sizeof(*c->headers));
    if (!c->headers)
        goto oom;
    c->headers[nh++] = "Content-Encoding: snappy";
    c->headers[nh++] = "Accept-Encoding: snappy";
    c->headers[nh++] = "Content-Type: application/x-protobuf";
    c->headers[nh++] = "X-Prometheus-Remote-Read-Version: 0.1.0";
    c->headers[nh] = c->o.user_agent ? sg_arena_printf(&c->a, "User-Agent: %s", c->o.user_agent)
                                     : "User-Agent: stopgate/" SG_VERSION;
    if (!c->headers[nh++])
        goto oom;
    for (size_t i = 0; i < opts->nheaders; i++) {
        c->headers[nh] = sg_arena_printf(&c->a, "%s: %s", opts->headers[i].name,
                                         opts->headers[i].value);
        if (!c->headers[nh++])
            goto oom;
    }
    c->headers[nh] = NULL;
    c->nheaders = nh;
    sg_log_redact_url(c->o.url, false, c->url_redacted, sizeof(c->url_redacted));
    if (c->o.tls.insecure_skip_verify)
        sg_log(SG_LOG_WARN, "TLS certificate verification is turned off for remote read", "url",
               c->url_redacted, NULL);
    *out = c;
    return SG_OK;
oom:
    sg_rr_client_free(c);
    return sg_err_set(err, SG_ENOMEM, "out of memory");
}

int sg_rr_build_request(const struct sg_rr_client *c, const struct sg_rr_query *qs, size_t n,
                        struct sg_buf *out, struct sg_err *err)
{
    struct sg_arena a;
    int rc;

    sg_arena_init(&a, 0);
    rc = sg_rr__build_request(c->o.external_labels, c->o.nexternal_labels, c->o.response_type, qs,
                              n, &a, out, NULL, err);
    sg_arena_cleanup(&a);
    return rc;
}

/* ---- one read ------------------------------------------------------------ */

/* The content of a secret file without surrounding white space. */
static int read_secret(const char *path, const char *what, struct sg_buf *out, struct sg_err *err)
{
    struct sg_err e;
    size_t a = 0, b;

    sg_err_clear(&e);
    if (sg_fs_read_all(path, SECRET_FILE_MAX, out, &e) != SG_OK)
        return sg_err_set(err, SG_EINVAL, "cannot read the %s file: %s", what, e.msg);
    b = out->len;
    while (a < b && (out->data[a] == ' ' || out->data[a] == '\n' || out->data[a] == '\t' ||
                     out->data[a] == '\r'))
        a++;
    while (b > a && (out->data[b - 1] == ' ' || out->data[b - 1] == '\n' ||
                     out->data[b - 1] == '\t' || out->data[b - 1] == '\r'))
        b--;
    memmove(out->data, out->data + a, b - a);
    sg_buf_truncate(out, b - a);
    for (size_t i = 0; i < out->len; i++)
        if (out->data[i] == '\r' || out->data[i] == '\n' || out->data[i] == '\0')
            return sg_err_set(err, SG_EINVAL, "the %s file %s holds more than one line", what,
                              path);
    return SG_OK;
}

static void on_http_done(const struct sg_http_resp *resp, const struct sg_err *e, void *arg);
static int on_http_data(const struct sg_http_resp *resp, const char *p, size_t n, void *arg,
                        struct sg_err *err);

static void wipe_buf(struct sg_buf *b)
{
    if (b->data)
        memset(b->data, 0, b->cap);
    sg_buf_cleanup(b);
}

static int start_attempt(struct sg_rr_req *r, struct sg_err *err)
{
    struct sg_rr_client *c = r->c;
    struct sg_http_opts ho;
    struct sg_buf secret, auth;
    const char *headers[64 + 8], **hv = headers;
    int64_t left = r->deadline_ms - sg_clock_mono_ms();
    int rc;

    if (left <= 0)
        return sg_err_set(err, SG_ETIMEDOUT, "timed out");
    sg_buf_init(&secret, SECRET_FILE_MAX);
    sg_buf_init(&auth, SECRET_FILE_MAX + 64);
    memset(&ho, 0, sizeof(ho));
    if (c->nheaders + 2 > SG_ARRAY_LEN(headers)) {
        hv = sg_calloc(c->nheaders + 2, sizeof(*hv));
        if (!hv)
            return sg_err_set(err, SG_ENOMEM, "out of memory");
    }
    memcpy(hv, c->headers, c->nheaders * sizeof(*hv));
    hv[c->nheaders] = NULL;
    if (c->o.bearer_token_file) {
        rc = read_secret(c->o.bearer_token_file, "bearer token", &secret, err);
        if (rc == SG_OK)
            rc = sg_buf_appendf(&auth, "Authorization: Bearer %s", sg_buf_cstr(&secret));
        if (rc != SG_OK)
            goto out;
        hv[c->nheaders] = sg_buf_cstr(&auth);
        hv[c->nheaders + 1] = NULL;
    }
    if (c->o.basic_auth_username) {
        rc = read_secret(c->o.basic_auth_password_file, "basic auth password", &secret, err);
        if (rc != SG_OK)
            goto out;
        ho.username = c->o.basic_auth_username;
        ho.password = sg_buf_cstr(&secret);
    }
    ho.url = c->o.url;
    ho.method = "POST";
    ho.headers = hv;
    ho.body = r->bodies[r->split ? 1 + r->cur : 0].data;
    ho.body_len = r->bodies[r->split ? 1 + r->cur : 0].len;
    ho.tls = c->o.tls;
    ho.timeout_ms = left;
    ho.connect_timeout_ms = left;
    ho.max_response_bytes = c->o.max_response_bytes;
    ho.max_error_body = 1024;
    ho.recv_buffer_size = RECV_BUFFER;
    ho.on_data = on_http_data;
    r->got_data = false;
    sg_rr_decoder_free(r->dec);
    r->dec = NULL;
    r->attempts++;
    r->tries++;
    rc = sg_http_start(r->http, &ho, on_http_done, r, &r->hreq, err);
out:
    /* curl copied what it keeps; no secret stays in our memory */
    wipe_buf(&secret);
    wipe_buf(&auth);
    if (hv != headers)
        sg_free(hv);
    return rc;
}

static void free_bodies(struct sg_rr_req *r)
{
    for (size_t i = 0; i < r->nbodies; i++)
        sg_buf_cleanup(&r->bodies[i]);
    sg_free(r->bodies);
    r->bodies = NULL;
    r->nbodies = 0;
}

/* on_series for the decoder: when queries are sent one by one, the
 * decoder's query 0 is the query being read. */
static int series_to_caller(size_t query, const struct sg_series *s, void *arg, struct sg_err *err)
{
    struct sg_rr_req *r = arg;

    return r->c->o.on_series(r->split ? r->cur : query, s, r->c->o.on_series_arg, err);
}

/* A fresh decoder for the current request's response type. */
static int new_decoder(struct sg_rr_req *r, const char *content_type, struct sg_err *err)
{
    enum sg_rr_response_type t;
    struct sg_rr_decode_limits lim = {r->c->o.max_response_bytes, r->c->o.max_frame_bytes,
                                      r->c->o.max_samples};
    int rc = sg_rr_content_type(content_type, &t, err);

    if (rc == SG_OK)
        rc = sg_rr_decoder_new(t, r->split ? &r->dq[r->cur] : r->dq, r->split ? 1 : r->nq, &lim,
                               r->arena, &r->dec, err);
    if (rc == SG_OK && r->c->o.on_series)
        sg_rr_decoder_on_series(r->dec, series_to_caller, r, r->c->o.on_series_any_order);
    if (rc == SG_OK && r->c->o.on_series && r->c->o.on_answer)
        rc = r->c->o.on_answer(t, r->c->o.on_series_arg, err);
    return rc;
}

static void on_req_closed(uv_handle_t *h)
{
    struct sg_rr_req *r = h->data;

    sg_rr_decoder_free(r->dec);
    free_bodies(r);
    sg_arena_cleanup(&r->own);
    sg_free(r);
}

/* Deliver the one callback and release the read. */
static void finish(struct sg_rr_req *r, const struct sg_rr_result *res, struct sg_err *e)
{
    if (e && e->code != SG_ECANCELED) {
        if (e->code == SG_ETIMEDOUT) {
            char d[SG_DURATION_FMT_MAX];
            sg_duration_format(r->c->o.timeout_ms, d, sizeof(d));
            snprintf(e->msg, sizeof(e->msg), "timed out after %s", d);
        }
        if (r->attempts > 1) {
            size_t len = strlen(e->msg);
            snprintf(e->msg + len, sizeof(e->msg) - len, " (%d attempts)", r->attempts);
        }
        sg_err_prefix(e, "remote read from %s: ", r->c->url_redacted);
    }
    r->cb(res, e, r->arg);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_req_closed);
}

static int on_http_data(const struct sg_http_resp *resp, const char *p, size_t n, void *arg,
                        struct sg_err *err)
{
    struct sg_rr_req *r = arg;
    int rc;

    if (!r->dec) {
        rc = new_decoder(r, resp->content_type, err);
        if (rc == SG_OK && resp->content_length > 0)
            rc = sg_rr_decoder_expect(r->dec, (uint64_t)resp->content_length, err);
        if (rc != SG_OK)
            return rc;
    }
    r->got_data = true;
    return sg_rr_decoder_feed(r->dec, p, n, err);
}

static void on_backoff(uv_timer_t *t)
{
    struct sg_rr_req *r = t->data;

    r->in_backoff = false;
    if (r->canceled) {
        sg_err_clear(&r->err);
        sg_err_set(&r->err, SG_ECANCELED, "remote read canceled");
        finish(r, NULL, &r->err);
        return;
    }
    sg_err_clear(&r->err);
    if (start_attempt(r, &r->err) != SG_OK)
        finish(r, NULL, &r->err);
}

static uint64_t next_rand(struct sg_rr_req *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return r->rng;
}

static bool should_retry(struct sg_rr_req *r, const struct sg_http_resp *resp,
                         const struct sg_err *e, int64_t *delay)
{
    int64_t step;

    if (r->canceled || r->tries > r->c->o.retries)
        return false;
    if (e->code == SG_EHTTP) {
        if (resp->status < 500 || resp->status > 599)
            return false;
    } else if (e->code == SG_EIO) {
        if (r->got_data || !sg_http_is_connect_error(resp->curl_code))
            return false;
    } else {
        return false;
    }
    step = r->c->o.min_backoff_ms;
    for (int i = 1; i < r->tries && step < r->c->o.max_backoff_ms; i++)
        step *= 2;
    if (step > r->c->o.max_backoff_ms)
        step = r->c->o.max_backoff_ms;
    *delay = step / 2 + (int64_t)(next_rand(r) % (uint64_t)(step / 2 + 1));
    return sg_clock_mono_ms() + *delay < r->deadline_ms;
}

/* The server refused several queries in one request (InfluxDB 1.x). */
static bool wants_one_query(const struct sg_rr_req *r, const struct sg_http_resp *resp,
                            const struct sg_err *e)
{
    return !r->split && r->nq > 1 && e->code == SG_EHTTP && resp->status == 400 &&
           resp->body.data && strstr(resp->body.data, "one query") != NULL;
}

static void on_http_done(const struct sg_http_resp *resp, const struct sg_err *e, void *arg)
{
    struct sg_rr_req *r = arg;
    struct sg_rr_result res;
    int64_t delay;
    int rc;

    r->hreq = NULL;
    sg_err_clear(&r->err);
    if (e) {
        r->err = *e;
        if (!r->canceled && wants_one_query(r, resp, e)) {
            sg_log(SG_LOG_DEBUG, "remote-read server takes one query per request; splitting",
                   "url", r->c->url_redacted, NULL);
            r->c->one_query_per_request = true;
            r->split = true;
            r->cur = 0;
            r->tries = 0;
            sg_rr_decoder_free(r->dec);
            r->dec = NULL;
            sg_err_clear(&r->err);
            if (start_attempt(r, &r->err) != SG_OK)
                finish(r, NULL, &r->err);
            return;
        }
        if (should_retry(r, resp, e, &delay)) {
            char d[32];
            snprintf(d, sizeof(d), "%lld", (long long)delay);
            sg_log(SG_LOG_DEBUG, "remote read failed, retrying", "url", r->c->url_redacted,
                   "err", e->msg, "backoff_ms", d, NULL);
            r->in_backoff = true;
            uv_timer_start(&r->timer, on_backoff, (uint64_t)delay, 0);
            return;
        }
        finish(r, NULL, &r->err);
        return;
    }
    if (!r->dec) { /* an empty body: the type still comes from the header */
        rc = new_decoder(r, resp->content_type, &r->err);
        if (rc != SG_OK) {
            finish(r, NULL, &r->err);
            return;
        }
    }
    memset(&res, 0, sizeof(res));
    rc = sg_rr_decoder_finish(r->dec, &res, &r->err);
    if (rc != SG_OK) {
        finish(r, NULL, &r->err);
        return;
    }
    if (r->split) {
        /* one query answered: keep its set, then ask for the next */
        r->sets[r->cur] = res.sets[0];
        r->acc.bytes += res.stats.bytes;
        r->acc.samples += res.stats.samples;
        r->acc.series += res.stats.series;
        r->acc.frames += res.stats.frames;
        r->acc.chunks += res.stats.chunks;
        r->acc.skipped_histogram_chunks += res.stats.skipped_histogram_chunks;
        r->acc.response_type = res.stats.response_type;
        if (++r->cur < r->nq) {
            sg_rr_decoder_free(r->dec);
            r->dec = NULL;
            r->tries = 0;
            if (start_attempt(r, &r->err) != SG_OK)
                finish(r, NULL, &r->err);
            return;
        }
        res.sets = r->sets;
        res.count = r->nq;
        res.stats = r->acc;
    }
    res.stats.attempts = r->attempts;
    finish(r, &res, NULL);
}

int sg_rr_read_async(struct sg_rr_client *c, struct sg_http *http, const struct sg_rr_query *qs,
                     size_t n, struct sg_arena *arena, sg_rr_done_cb cb, void *arg,
                     struct sg_rr_req **out, struct sg_err *err)
{
    struct sg_rr_req *r;
    int rc;

    r = sg_calloc(1, sizeof(*r));
    if (!r)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    r->c = c;
    r->http = http;
    r->arena = arena;
    r->cb = cb;
    r->arg = arg;
    r->nq = n;
    r->deadline_ms = sg_clock_mono_ms() + c->o.timeout_ms;
    r->rng = (uint64_t)sg_clock_mono_ns() ^ (uint64_t)(uintptr_t)r ^ 0x9E3779B97F4A7C15u;
    if (!r->rng)
        r->rng = 1;
    sg_arena_init(&r->own, 0);
    r->nbodies = n > 1 ? n + 1 : 1;
    r->bodies = sg_calloc(r->nbodies, sizeof(*r->bodies));
    r->dq = sg_arena_alloc_array(&r->own, n ? n : 1, sizeof(*r->dq));
    r->sets = n > 1 ? sg_arena_alloc_array(arena, n, sizeof(*r->sets)) : NULL;
    if (!r->bodies || !r->dq || (n > 1 && !r->sets)) {
        rc = sg_err_set(err, SG_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < r->nbodies; i++)
        sg_buf_init(&r->bodies[i], (size_t)64 << 20);
    rc = sg_rr__build_request(c->o.external_labels, c->o.nexternal_labels, c->o.response_type,
                              qs, n, &r->own, &r->bodies[0], r->dq, err);
    /* each query alone too, for servers that take one query per request */
    for (size_t i = 0; rc == SG_OK && i + 1 < r->nbodies; i++)
        rc = sg_rr__build_request(c->o.external_labels, c->o.nexternal_labels,
                                  c->o.response_type, &qs[i], 1, &r->own, &r->bodies[1 + i], NULL,
                                  err);
    if (rc != SG_OK)
        goto fail;
    r->split = n > 1 && c->one_query_per_request;
    rc = start_attempt(r, err);
    if (rc != SG_OK)
        goto fail;
    uv_timer_init(sg_http_loop(http), &r->timer);
    r->timer.data = r;
    if (out)
        *out = r;
    return SG_OK;
fail:
    sg_err_prefix(err, "remote read from %s: ", c->url_redacted);
    if (r->bodies)
        free_bodies(r);
    sg_arena_cleanup(&r->own);
    sg_free(r);
    return rc;
}

void sg_rr_cancel(struct sg_rr_req *r)
{
    if (!r || r->canceled)
        return;
    r->canceled = true;
    if (r->hreq) {
        sg_http_cancel(r->hreq); /* its callback finishes the read */
    } else if (r->in_backoff) {
        uv_timer_stop(&r->timer);
        uv_timer_start(&r->timer, on_backoff, 0, 0);
    }
}

/* ---- blocking form ------------------------------------------------------- */

struct blocking {
    bool done;
    int rc;
    struct sg_rr_result res;
    struct sg_err *err;
};

static void on_blocking_done(const struct sg_rr_result *res, const struct sg_err *e, void *arg)
{
    struct blocking *b = arg;

    b->done = true;
    if (e) {
        b->rc = e->code;
        if (b->err)
            *b->err = *e;
    } else {
        b->res = *res;
    }
}

int sg_rr_read(struct sg_rr_client *c, const struct sg_rr_query *qs, size_t n,
               struct sg_arena *arena, struct sg_rr_result *out, struct sg_err *err)
{
    uv_loop_t loop;
    struct sg_http *http = NULL;
    struct blocking b;
    int rc;

    memset(&b, 0, sizeof(b));
    b.err = err;
    if (uv_loop_init(&loop) != 0)
        return sg_err_set(err, SG_EIO, "cannot create an event loop");
    rc = sg_http_new(&loop, &http, err);
    if (rc == SG_OK) {
        rc = sg_rr_read_async(c, http, qs, n, arena, on_blocking_done, &b, NULL, err);
        if (rc == SG_OK) {
            uv_run(&loop, UV_RUN_DEFAULT);
            rc = b.done ? b.rc : sg_err_set(err, SG_EIO, "remote read did not complete");
        }
        sg_http_close(http);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(&loop) != 0 && rc == SG_OK)
        rc = sg_err_set(err, SG_EIO, "event loop still had open handles");
    if (rc == SG_OK)
        *out = b.res;
    return rc;
}
