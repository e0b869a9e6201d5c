/* src/proc/proc.c - child processes on the libuv loop.
 *
 * One struct sg_proc per child: the process handle, a pipe for stdout, one
 * for stderr, and one timer used in turn for the timeout, the SIGKILL grace
 * period and the drain after exit. Lifecycle:
 *   1. init the pipes and the timer, uv_spawn (argv, explicit env, stdin
 *      /dev/null); a failed spawn still closes the process handle;
 *   2. read both pipes into capped buffers (excess is read and dropped);
 *   3. timeout -> SIGTERM, grace -> SIGKILL (sg_proc_cancel starts at the
 *      SIGTERM step);
 *   4. exit -> record status, close the process handle, and give pipes a
 *      grandchild may still hold drain_ms before closing them;
 *   5. EOF or error on a pipe closes it;
 *   6. when the last handle's close callback runs, call `done` once, free.
 * Nothing here runs a shell or inherits the daemon's environment.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stopgate/clock.h"
#include "stopgate/proc.h"

#define READ_CHUNK 65536

enum phase { PH_RUNNING, PH_TERM_SENT, PH_KILL_SENT, PH_DRAIN };

struct sg_proc {
    uv_loop_t *loop;
    uv_process_t proc;
    uv_pipe_t out_pipe, err_pipe;
    uv_timer_t timer;
    int open_handles;
    enum phase phase;
    bool exited, out_open, err_open, timer_open;
    int spawn_error; /* uv error of a failed spawn, 0 otherwise */
    sg_proc_done_cb done;
    void *arg;
    char *file, *cwd;
    char **argv, **env;
    uint64_t timeout_ms, grace_ms, drain_ms;
    int64_t start_ms;
    char name[64]; /* basename of argv[0], for messages */
    struct sg_proc_result res;
    char chunk[READ_CHUNK];
};

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        sg_free(v[i]);
    sg_free(v);
}

static char **copy_strv(const char *const *v)
{
    size_t n = 0;
    char **out;

    while (v && v[n])
        n++;
    out = sg_calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = sg_strdup(v[i]);
        if (!out[i]) {
            free_strv(out);
            return NULL;
        }
    }
    return out;
}

static void proc_free(struct sg_proc *p)
{
    sg_buf_cleanup(&p->res.out);
    sg_buf_cleanup(&p->res.err);
    sg_free(p->file);
    sg_free(p->cwd);
    free_strv(p->argv);
    free_strv(p->env);
    sg_free(p);
}

static void finish(struct sg_proc *p)
{
    struct sg_err e;
    const struct sg_err *errp = &e;

    sg_err_clear(&e);
    if (!p->res.spawned)
        sg_err_set_cause(&e, SG_ECHILD, p->spawn_error, "spawn %s: %s", p->file,
                         uv_strerror(p->spawn_error));
    else if (p->res.canceled)
        sg_err_set(&e, SG_ECANCELED, "%s: canceled", p->name);
    else if (p->res.timed_out)
        sg_err_set(&e, SG_ETIMEDOUT, "%s: timed out after %llu ms%s", p->name,
                   (unsigned long long)p->timeout_ms, p->res.killed ? " (killed)" : "");
    else if (p->res.term_signal)
        sg_err_set(&e, SG_ECHILD, "%s: killed by signal %d", p->name, p->res.term_signal);
    else if (p->res.exit_status != 0)
        sg_err_set(&e, SG_ECHILD, "%s: exited with status %lld", p->name,
                   (long long)p->res.exit_status);
    else
        errp = NULL;
    p->done(&p->res, errp, p->arg);
    proc_free(p);
}

static void on_close(uv_handle_t *h)
{
    struct sg_proc *p = h->data;

    if (--p->open_handles == 0)
        finish(p);
}

static void close_pipe(uv_pipe_t *pipe, bool *open)
{
    if (!*open)
        return;
    *open = false;
    uv_read_stop((uv_stream_t *)pipe);
    uv_close((uv_handle_t *)pipe, on_close);
}

static void close_timer(struct sg_proc *p)
{
    if (!p->timer_open)
        return;
    p->timer_open = false;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_close);
}

/* After exit and both pipes closed, only the timer is left. */
static void maybe_done(struct sg_proc *p)
{
    if (p->exited && !p->out_open && !p->err_open)
        close_timer(p);
}

static void on_timer(uv_timer_t *t)
{
    struct sg_proc *p = t->data;

    switch (p->phase) {
    case PH_RUNNING:
        p->res.timed_out = true;
        p->phase = PH_TERM_SENT;
        uv_process_kill(&p->proc, SIGTERM);
        uv_timer_start(&p->timer, on_timer, p->grace_ms, 0);
        break;
    case PH_TERM_SENT:
        p->res.killed = true;
        p->phase = PH_KILL_SENT;
        uv_process_kill(&p->proc, SIGKILL);
        break;
    case PH_KILL_SENT:
        break;
    case PH_DRAIN:
        /* a grandchild holds a pipe: stop waiting for it */
        close_pipe(&p->out_pipe, &p->out_open);
        close_pipe(&p->err_pipe, &p->err_open);
        close_timer(p);
        break;
    }
}

static void on_exit_cb(uv_process_t *h, int64_t exit_status, int term_signal)
{
    struct sg_proc *p = h->data;

    p->exited = true;
    p->res.exit_status = exit_status;
    p->res.term_signal = term_signal;
    p->res.duration_ms = sg_clock_mono_ms() - p->start_ms;
    uv_close((uv_handle_t *)&p->proc, on_close);
    if (p->out_open || p->err_open) {
        p->phase = PH_DRAIN;
        uv_timer_stop(&p->timer);
        uv_timer_start(&p->timer, on_timer, p->drain_ms, 0);
    } else {
        close_timer(p);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct sg_proc *p = h->data;

    (void)suggested;
    buf->base = p->chunk;
    buf->len = sizeof(p->chunk);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct sg_proc *p = s->data;
    bool is_out = s == (uv_stream_t *)&p->out_pipe;
    struct sg_buf *b = is_out ? &p->res.out : &p->res.err;
    bool *trunc = is_out ? &p->res.out_truncated : &p->res.err_truncated;

    if (nread > 0) {
        size_t n = (size_t)nread, room = b->max - b->len;
        if (n > room) {
            *trunc = true;
            n = room;
        }
        if (n > 0 && sg_buf_append(b, buf->base, n) != SG_OK)
            *trunc = true; /* out of memory: keep what we have */
        return;
    }
    if (nread == 0)
        return;
    /* UV_EOF or a read error: this stream is done */
    if (is_out)
        close_pipe(&p->out_pipe, &p->out_open);
    else
        close_pipe(&p->err_pipe, &p->err_open);
    maybe_done(p);
}

int sg_proc_run(uv_loop_t *loop, const struct sg_proc_opts *opts, sg_proc_done_cb done, void *arg,
                struct sg_proc **out, struct sg_err *err)
{
    static const char *const empty_env[] = {NULL};
    uv_process_options_t uo;
    uv_stdio_container_t stdio[3];
    struct sg_proc *p;
    const char *base;
    size_t max_output;
    int r;

    if (!opts || !opts->file || !opts->argv || !opts->argv[0] || !done)
        return sg_err_set(err, SG_EINVAL, "proc: a program and an argv are required");
    p = sg_calloc(1, sizeof(*p));
    if (!p)
        return sg_err_set(err, SG_ENOMEM, "proc: out of memory");
    max_output = opts->max_output ? opts->max_output : SG_PROC_DEFAULT_MAX_OUTPUT;
    sg_buf_init(&p->res.out, max_output);
    sg_buf_init(&p->res.err, max_output);
    p->loop = loop;
    p->done = done;
    p->arg = arg;
    p->file = sg_strdup(opts->file);
    p->cwd = opts->cwd ? sg_strdup(opts->cwd) : NULL;
    p->argv = copy_strv(opts->argv);
    p->env = copy_strv(opts->env ? opts->env : empty_env);
    if (!p->file || (opts->cwd && !p->cwd) || !p->argv || !p->env) {
        proc_free(p);
        return sg_err_set(err, SG_ENOMEM, "proc: out of memory");
    }
    p->timeout_ms = opts->timeout_ms;
    p->grace_ms = opts->kill_grace_ms ? opts->kill_grace_ms : 5000;
    p->drain_ms = opts->drain_ms ? opts->drain_ms : 1000;
    p->res.exit_status = -1;
    base = strrchr(opts->argv[0], '/');
    snprintf(p->name, sizeof(p->name), "%s", base ? base + 1 : opts->argv[0]);

    /* Pipes and the timer cannot fail to initialise on Unix for a valid
     * loop; from here on the struct is freed only by the close callbacks. */
    uv_pipe_init(loop, &p->out_pipe, 0);
    uv_pipe_init(loop, &p->err_pipe, 0);
    uv_timer_init(loop, &p->timer);
    p->out_pipe.data = p->err_pipe.data = p->timer.data = p->proc.data = p;
    p->out_open = p->err_open = p->timer_open = true;
    p->open_handles = 3;

    memset(&uo, 0, sizeof(uo));
    memset(stdio, 0, sizeof(stdio));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&p->out_pipe;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&p->err_pipe;
    uo.file = p->file;
    uo.args = p->argv;
    uo.env = p->env;
    uo.cwd = p->cwd;
    uo.stdio = stdio;
    uo.stdio_count = 3;
    uo.exit_cb = on_exit_cb;
    p->start_ms = sg_clock_mono_ms();
    r = uv_spawn(loop, &p->proc, &uo);
    p->open_handles++; /* the process handle, closed on failure too */
    if (r != 0) {
        p->spawn_error = r;
        p->exited = true;
        uv_close((uv_handle_t *)&p->proc, on_close);
        close_pipe(&p->out_pipe, &p->out_open);
        close_pipe(&p->err_pipe, &p->err_open);
        close_timer(p);
    } else {
        p->res.spawned = true;
        p->res.pid = p->proc.pid;
        uv_read_start((uv_stream_t *)&p->out_pipe, on_alloc, on_read);
        uv_read_start((uv_stream_t *)&p->err_pipe, on_alloc, on_read);
        if (p->timeout_ms)
            uv_timer_start(&p->timer, on_timer, p->timeout_ms, 0);
    }
    if (out)
        *out = p;
    return SG_OK;
}

void sg_proc_cancel(struct sg_proc *p)
{
    if (!p || p->exited || p->res.canceled)
        return;
    p->res.canceled = true;
    if (p->phase == PH_RUNNING) {
        p->phase = PH_TERM_SENT;
        uv_process_kill(&p->proc, SIGTERM);
        uv_timer_stop(&p->timer);
        uv_timer_start(&p->timer, on_timer, p->grace_ms, 0);
    }
}

static bool is_executable_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int sg_proc_find_executable(const char *name, const char *path, char **out, struct sg_err *err)
{
    const char *p;

    if (!name || !*name)
        return sg_err_set(err, SG_EINVAL, "empty program name");
    if (strchr(name, '/')) {
        if (!is_executable_file(name))
            return sg_err_set(err, SG_ENOTFOUND, "%s: not an executable file", name);
        *out = sg_strdup(name);
        return *out ? SG_OK : sg_err_set(err, SG_ENOMEM, "out of memory");
    }
    if (!path)
        path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    p = path;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t dl = end ? (size_t)(end - p) : strlen(p);
        char cand[4096];

        /* an empty entry means the current directory, as execvp reads it */
        if (snprintf(cand, sizeof(cand), "%.*s%s%s", (int)dl, dl ? p : ".", "/", name) <
                (int)sizeof(cand) &&
            is_executable_file(cand)) {
            *out = sg_strdup(cand);
            return *out ? SG_OK : sg_err_set(err, SG_ENOMEM, "out of memory");
        }
        if (!end)
            break;
        p = end + 1;
    }
    return sg_err_set(err, SG_ENOTFOUND, "%s: executable file not found in PATH", name);
}

int sg_proc_env_build(const char *const *names, size_t names_count, const char *const *extra,
                      size_t extra_count, struct sg_arena *a, const char *const **out,
                      struct sg_err *err)
{
    const char **v = sg_arena_alloc_array(a, names_count + extra_count + 1, sizeof(*v));
    size_t n = 0;

    if (!v)
        return sg_err_set(err, SG_ENOMEM, "environment: out of memory");
    for (size_t i = 0; i < extra_count; i++) {
        if (!strchr(extra[i], '=') || extra[i][0] == '=')
            return sg_err_set(err, SG_EINVAL, "environment entry without NAME=: \"%s\"", extra[i]);
    }
    for (size_t i = 0; i < names_count; i++) {
        const char *val = getenv(names[i]);
        size_t nl = strlen(names[i]);
        bool overridden = false;

        if (!val)
            continue;
        for (size_t j = 0; j < extra_count; j++)
            overridden |= strncmp(extra[j], names[i], nl) == 0 && extra[j][nl] == '=';
        if (overridden)
            continue;
        v[n] = sg_arena_printf(a, "%s=%s", names[i], val);
        if (!v[n])
            return sg_err_set(err, SG_ENOMEM, "environment: out of memory");
        n++;
    }
    for (size_t j = 0; j < extra_count; j++) {
        v[n] = sg_arena_strdup(a, extra[j]);
        if (!v[n])
            return sg_err_set(err, SG_ENOMEM, "environment: out of memory");
        n++;
    }
    v[n] = NULL;
    *out = v;
    return SG_OK;
}
