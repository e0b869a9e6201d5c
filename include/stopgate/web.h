/* include/stopgate/web.h - a small HTTP/1.1 server on libuv + http-parser.
 *
 * Server mechanics only: connections, limits, timeouts, keep-alive, the
 * route table the user of the module provides, bearer-token checks, JSON
 * helpers. It has no routes of its own (the daemon's live in src/daemon/).
 *
 * Behaviour:
 * - one request in flight per connection: after a request is complete the
 *   parser is paused and reading stops until its response is written
 *   (pipelined requests wait their turn);
 * - limits: URL (414), header bytes and count (431), body (413, checked
 *   against Content-Length before any of the body is read, and while a
 *   chunked body arrives); a parse error is 400; an upgrade (WebSocket,
 *   h2c) is 501; all of these close the connection after the response;
 * - timeouts: the whole request (headers and body) must arrive within
 *   read_timeout_ms (else 408 and close); an idle keep-alive connection is
 *   closed after idle_timeout_ms; a response the client does not read is
 *   abandoned after read_timeout_ms;
 * - routing on headers-complete: no path match is 404, a path match with
 *   another method is 405 with Allow; HEAD is served by GET routes without
 *   the body; a route with SG_WEB_AUTH answers 401 when a token is set and
 *   the request's `Authorization: Bearer` does not match, before reading
 *   the body;
 * - handlers answer with one sg_web_respond* call, then or later (async);
 *   a request stays valid until then even if the client goes away.
 */
#ifndef SG_WEB_H
#define SG_WEB_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

#define SG_WEB_MAX_PARAMS 8

struct sg_web;
struct sg_web_conn;
struct sg_web_req;

typedef void (*sg_web_handler_fn)(struct sg_web_req *req, void *ctx);

enum {
    SG_WEB_AUTH = 1u << 0, /* needs the bearer token when the server has one */
};

/* A route: method and path pattern. Patterns are literal segments,
 * ":name" for one non-empty segment (a parameter, percent-decoded), and a
 * final "*" for the rest of the path (also a parameter, possibly empty).
 * Examples: "/api/v1/gate/:release", "/api/v1/releases/:release/resume",
 * and "/static/" followed by "*". */
struct sg_web_route {
    const char *method; /* "GET", "POST", ... */
    const char *pattern;
    sg_web_handler_fn handler;
    unsigned flags; /* SG_WEB_AUTH */
};

struct sg_web_opts {
    const struct sg_web_route *routes; /* borrowed; must outlive the server */
    size_t routes_count;
    void *ctx;                /* passed to every handler */
    const char *token;        /* bearer token for SG_WEB_AUTH routes (copied); NULL: none */
    uint64_t read_timeout_ms; /* 0: 10 s */
    uint64_t idle_timeout_ms; /* 0: 60 s */
    size_t max_url;           /* 0: 8 KiB */
    size_t max_header_bytes;  /* all names and values; 0: 16 KiB */
    size_t max_headers;       /* 0: 64 (at most 128) */
    size_t max_body;          /* 0: 1 MiB */
    size_t max_connections;   /* 0: 256; more are closed on accept */
};

/* The request a handler sees. Everything it points to lives until the
 * response has been written (or the connection is gone). */
struct sg_web_req {
    const char *method;  /* "GET", "POST", ...; "HEAD" arrives as is */
    struct sg_str path;  /* raw path, without the query */
    struct sg_str query; /* raw query string without '?', may be empty */
    struct sg_str body;
    struct sg_str params[SG_WEB_MAX_PARAMS]; /* route parameters, decoded */
    size_t nparams;
    const struct sg_web_route *route;
    const char *remote_addr;  /* "127.0.0.1:53412" */
    struct sg_arena *arena;   /* for the handler's own allocations, same lifetime */
    struct sg_web_conn *conn; /* private */
};

/* Create a server on `loop` (nothing listens yet). SG_EINVAL for bad
 * options (a bad route pattern), SG_ENOMEM. Free with sg_web_close.
 * Sets SIGPIPE to ignored when it has the default disposition (a client
 * that goes away must not end the process). */
SG_NODISCARD int sg_web_create(uv_loop_t *loop, const struct sg_web_opts *opts, struct sg_web **out,
                               struct sg_err *err);

/* Listen on "host:port" ("127.0.0.1:9097", "[::1]:0", ":9097" for every
 * address, "localhost:9097"); port 0 picks a free port (sg_web_port). A
 * host name other than localhost is resolved once, here. SG_EIO naming the
 * address on failure (in use, permission). */
SG_NODISCARD int sg_web_listen(struct sg_web *w, const char *address, struct sg_err *err);

/* The port actually bound, or 0. */
int sg_web_port(const struct sg_web *w);

/* Serve an already connected socket (tests, fuzzing). The server owns fd. */
SG_NODISCARD int sg_web_adopt_fd(struct sg_web *w, int fd, struct sg_err *err);

/* Replace the bearer token (on reload); NULL removes it. Copied. */
SG_NODISCARD int sg_web_set_token(struct sg_web *w, const char *token, struct sg_err *err);

/* Stop listening and close every connection: idle ones now, those with a
 * request in flight after their response is written. closed_cb (may be
 * NULL) runs once when every handle is closed; the server is freed then. */
void sg_web_close(struct sg_web *w, void (*closed_cb)(void *arg), void *arg);

/* Open connections (for tests and metrics). */
size_t sg_web_connections(const struct sg_web *w);

/* ---- answering ---------------------------------------------------------------- */

/* Send a response: status, Content-Type (NULL: none), body (copied; may be
 * NULL with len 0), and extra header lines ("Name: value", NULL-terminated;
 * may be NULL). Exactly one respond call per request; the request must not
 * be used after it. */
void sg_web_respond(struct sg_web_req *req, int status, const char *content_type, const void *body,
                    size_t len, const char *const *headers);

/* JSON body (application/json): root is taken (json_decref'd here, even
 * on failure, like json_object_set_new); compact, no final newline (as Prometheus). */
void sg_web_respond_json(struct sg_web_req *req, int status, json_t *root);

/* Prometheus API shapes: {"status":"success","data":DATA} (data taken)
 * and {"status":"error","errorType":TYPE,"error":MSG}. */
void sg_web_respond_data(struct sg_web_req *req, json_t *data);
void sg_web_respond_error(struct sg_web_req *req, int status, const char *error_type,
                          const char *fmt, ...) SG_PRINTF(4, 5);

/* ---- reading the request ---------------------------------------------------- */

/* A header's value (names compare case-insensitively); the empty view with
 * ptr NULL when absent. */
struct sg_str sg_web_req_header(const struct sg_web_req *req, const char *name);

/* A query parameter, percent- and '+'-decoded into the request arena.
 * false when absent (or undecodable). */
bool sg_web_req_query(const struct sg_web_req *req, const char *name, struct sg_str *out);

/* Parse the body as one JSON value (depth and size capped by the body cap;
 * an empty body gives *out == NULL and SG_OK). SG_EPARSE with jansson's
 * line and column. The caller json_decref's *out. */
SG_NODISCARD int sg_web_req_json(const struct sg_web_req *req, json_t **out, struct sg_err *err);

/* True when the request carries "Authorization: Bearer <token>" with this
 * token; compared in constant time. An empty token never matches. */
bool sg_web_bearer_ok(const struct sg_web_req *req, struct sg_str token);

/* Constant-time equality of two byte strings (the time depends only on
 * the longer length). */
bool sg_web_ct_equal(struct sg_str a, struct sg_str b);

/* ---- routing (pure; exposed for tests) ------------------------------------- */

/* Check a route pattern: starts with '/', ":name" segments non-empty,
 * '*' only as the last segment, at most SG_WEB_MAX_PARAMS parameters. */
SG_NODISCARD int sg_web_pattern_check(const char *pattern, struct sg_err *err);

/* Match method and path against the table. Returns the route, or NULL with
 * *status 404 (no path matches) or 405 (a path matches with another
 * method; allow gets "GET, POST" when non-NULL and allow_len > 0). Params
 * are raw views into path (not decoded). HEAD matches GET routes. */
const struct sg_web_route *sg_web_route_match(const struct sg_web_route *routes, size_t n,
                                              const char *method, struct sg_str path,
                                              struct sg_str *params, size_t *nparams, int *status,
                                              char *allow, size_t allow_len);

/* "Not Found" for 404 etc.; "Unknown" for codes it does not know. */
const char *sg_web_status_text(int status);

#endif
