/* src/cli/cmd_gate.c - `stopgate gate` and `stopgate resume`: pipelines
 * and people ask the daemon.
 *
 * gate R:   GET /api/v1/gate/R. Exit 0 when open (the daemon's JSON on
 *           stdout), 1 when halted (the JSON with reason and since on
 *           stdout), 2 for anything else: unknown release, daemon
 *           unreachable, an unexpected answer, a usage error. With
 *           --wait=D it asks again every second until the gate is open or
 *           D has passed, and then answers with the last state seen.
 * resume R: POST /api/v1/releases/R/resume. Exit 0 when the daemon lifted
 *           the halt (or there was none), 1 when it refused or could not
 *           be asked (unknown release, auth refused, unreachable, server
 *           error), 2 for a usage error.
 * Both send `Authorization: Bearer <token>` when --web.token-file is given.
 * The token is never printed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "stopgate/clock.h"
#include "stopgate/duration.h"
#include "stopgate/fs.h"
#include "stopgate/http.h"

#define DEFAULT_URL    "http://127.0.0.1:9097"
#define ANSWER_MAX     ((size_t)1 << 20)
#define REQUEST_TIMEOUT_MS 10000
#define WAIT_STEP_MS   1000

enum gate_answer { GATE_OPEN = 0, GATE_HALTED = 1, GATE_UNKNOWN = 2 };

struct client {
    char url[2048];
    char auth[4200]; /* "Authorization: Bearer ..." or "" */
};

/* Percent-encode one path segment. */
static int append_segment(char *out, size_t n, const char *seg)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = strlen(out);

    for (const unsigned char *p = (const unsigned char *)seg; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (o + 4 >= n)
            return -1;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

/* Build URL and auth header; returns an exit status or -1 to go on. */
static int client_init(const struct sg_cmd_args *args, struct client *c, const char *path_pre,
                       const char *release, const char *path_post, int fail_status)
{
    const char *base = sg_cli_flag(args, "web.url");
    const char *tf = sg_cli_flag(args, "web.token-file");
    size_t bl;

    if (!base)
        base = DEFAULT_URL;
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
        return sg_cli_usage_error(args->cmd, "--web.url: want an http:// or https:// URL, got "
                                             "\"%s\"",
                                  base);
    bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    if (bl + strlen(path_pre) + 3 * strlen(release) + strlen(path_post) + 1 > sizeof(c->url)) {
        sg_cli_error("%s: the URL is too long", args->cmd->name);
        return fail_status;
    }
    snprintf(c->url, sizeof(c->url), "%.*s%s", (int)bl, base, path_pre);
    if (append_segment(c->url, sizeof(c->url), release) != 0) {
        sg_cli_error("%s: the URL is too long", args->cmd->name);
        return fail_status;
    }
    snprintf(c->url + strlen(c->url), sizeof(c->url) - strlen(c->url), "%s", path_post);
    c->auth[0] = '\0';
    if (tf) {
        struct sg_buf b;
        struct sg_err err;
        size_t n;

        sg_buf_init(&b, 4096);
        sg_err_clear(&err);
        if (sg_fs_read_all(tf, 4096, &b, &err) != SG_OK) {
            sg_cli_error("--web.token-file: %s", err.msg);
            sg_buf_cleanup(&b);
            return fail_status;
        }
        n = b.len;
        while (n && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r' || b.data[n - 1] == ' ' ||
                     b.data[n - 1] == '\t'))
            n--;
        if (n == 0 || memchr(b.data, '\n', n) || memchr(b.data, '\r', n)) {
            sg_cli_error("--web.token-file: %s does not hold one token", tf);
            sg_buf_cleanup(&b);
            return fail_status;
        }
        snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %.*s", (int)n, b.data);
        sg_buf_cleanup(&b);
    }
    return -1;
}

static int request(const struct client *c, const char *method, long *status, struct sg_buf *body,
                   struct sg_err *err)
{
    const char *headers[2] = {NULL, NULL};
    struct sg_http_opts o = {0};

    if (c->auth[0])
        headers[0] = c->auth;
    o.url = c->url;
    o.method = method;
    o.headers = headers;
    o.timeout_ms = REQUEST_TIMEOUT_MS;
    o.max_response_bytes = ANSWER_MAX;
    o.max_error_body = ANSWER_MAX;
    if (strcmp(method, "POST") == 0) {
        o.body = "";
        o.body_len = 0;
    }
    return sg_http_run(&o, NULL, status, body, err);
}

/* One line of the body, for messages. */
static void print_body(FILE *f, const struct sg_buf *b)
{
    if (b->len) {
        fwrite(b->data, 1, b->len, f);
        if (b->data[b->len - 1] != '\n')
            fputc('\n', f);
    }
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Ask once: the answer, the body (for printing) and a message for stderr. */
static enum gate_answer ask_gate(const struct client *c, struct sg_buf *body, char *msg,
                                 size_t msgn)
{
    struct sg_err err;
    long status = 0;
    int rc;

    sg_buf_reset(body);
    sg_err_clear(&err);
    rc = request(c, "GET", &status, body, &err);
    msg[0] = '\0';
    if (rc != SG_OK && rc != SG_EHTTP) {
        snprintf(msg, msgn, "%s: %s", c->url, err.msg);
        return GATE_UNKNOWN;
    }
    if (status == 200 && strstr(sg_buf_cstr(body), "\"gate\":\"open\""))
        return GATE_OPEN;
    if (status == 423 && strstr(sg_buf_cstr(body), "\"gate\":\"halted\""))
        return GATE_HALTED;
    if (status == 404)
        snprintf(msg, msgn, "%s: unknown release", c->url);
    else if (status == 401)
        snprintf(msg, msgn, "%s: authorization refused (HTTP 401)", c->url);
    else
        snprintf(msg, msgn, "%s: unexpected answer (HTTP %ld)", c->url, status);
    return GATE_UNKNOWN;
}

static int run_gate(const struct sg_cmd_args *args)
{
    struct client c;
    struct sg_buf body;
    char msg[2600];
    const char *wait = sg_cli_flag(args, "wait");
    int64_t wait_ms = 0, deadline;
    enum gate_answer a;
    int rc;

    if (wait) {
        struct sg_err err;
        sg_err_clear(&err);
        if (sg_duration_parse(sg_str_c(wait), &wait_ms, &err) != SG_OK)
            return sg_cli_usage_error(args->cmd, "--wait: %s", err.msg);
    }
    rc = client_init(args, &c, "/api/v1/gate/", args->pos[0], "", GATE_UNKNOWN);
    if (rc >= 0)
        return rc;
    sg_buf_init(&body, ANSWER_MAX);
    deadline = sg_clock_mono_ms() + wait_ms;
    for (;;) {
        int64_t left;
        a = ask_gate(&c, &body, msg, sizeof(msg));
        if (a == GATE_OPEN)
            break;
        left = deadline - sg_clock_mono_ms();
        if (left <= 0)
            break;
        /* an unknown release stays unknown; an unreachable daemon may come */
        if (a == GATE_UNKNOWN && strstr(msg, "unknown release"))
            break;
        sleep_ms(left < WAIT_STEP_MS ? left : WAIT_STEP_MS);
    }
    if (a == GATE_UNKNOWN)
        sg_cli_error("gate %s: %s", args->pos[0], msg);
    else
        print_body(stdout, &body);
    sg_buf_cleanup(&body);
    return (int)a;
}

static int run_resume(const struct sg_cmd_args *args)
{
    struct client c;
    struct sg_buf body;
    struct sg_err err;
    long status = 0;
    int rc;

    rc = client_init(args, &c, "/api/v1/releases/", args->pos[0], "/resume", SG_EXIT_FAIL);
    if (rc >= 0)
        return rc;
    sg_buf_init(&body, ANSWER_MAX);
    sg_err_clear(&err);
    rc = request(&c, "POST", &status, &body, &err);
    if (rc == SG_OK && status == 200) {
        print_body(stdout, &body);
        sg_buf_cleanup(&body);
        return SG_EXIT_OK;
    }
    if (rc != SG_OK && rc != SG_EHTTP)
        sg_cli_error("resume %s: %s: %s", args->pos[0], c.url, err.msg);
    else if (status == 404)
        sg_cli_error("resume %s: unknown release", args->pos[0]);
    else if (status == 401)
        sg_cli_error("resume %s: authorization refused (HTTP 401); see --web.token-file",
                     args->pos[0]);
    else
        sg_cli_error("resume %s: the daemon answered HTTP %ld", args->pos[0], status);
    sg_buf_cleanup(&body);
    return SG_EXIT_FAIL;
}

static const struct sg_flag_def gate_flags[] = {
    {"web.url", 0, SG_FLAG_VALUE, "URL", "daemon URL (default http://127.0.0.1:9097)"},
    {"web.token-file", 0, SG_FLAG_VALUE, "FILE", "bearer token file"},
    {"wait", 0, SG_FLAG_VALUE, "DURATION", "wait up to this long for the gate to open"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct sg_flag_def resume_flags[] = {
    {"web.url", 0, SG_FLAG_VALUE, "URL", "daemon URL (default http://127.0.0.1:9097)"},
    {"web.token-file", 0, SG_FLAG_VALUE, "FILE", "bearer token file"},
    {NULL, 0, 0, NULL, NULL},
};

const struct sg_cmd sg_cmd_gate = {
    .name = "gate",
    .args = "RELEASE",
    .summary = "Is the release's gate open? Exit 0 open, 1 halted, 2 unknown.",
    .flags = gate_flags,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_gate,
};

const struct sg_cmd sg_cmd_resume = {
    .name = "resume",
    .args = "RELEASE",
    .summary = "Lift a halt of the release (a person decides).",
    .flags = resume_flags,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_resume,
};
