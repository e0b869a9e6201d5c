/* src/daemon/waves.c - the Helm revision of each release and the waves it
 * starts.
 *
 * Every revision_poll_interval the release's revision is asked of
 * `helm status R -n NS [--kube-context C] -o json` (a child through
 * sg_proc: argv, the tools' environment allow-list, a timeout). A poll
 * never overlaps the previous one. The first answer after a start is not a
 * wave, unless the state document remembers another revision (the release
 * was upgraded while stopgate was down); every later change of the
 * revision starts a wave. A wave lasts wave_window; a one-shot timer ends
 * it (re-armed from the state document after a restart). Helm failures are
 * logged once per failing streak and change nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "stopgate/log.h"

#define POLL_MAX_OUTPUT ((size_t)16 << 20) /* helm status prints the manifest too */

int sg_helm_status_revision(struct sg_str text, int64_t *rev, struct sg_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(text.ptr ? text.ptr : "", text.len, JSON_DISABLE_EOF_CHECK, &je);
    json_t *v;

    if (!root)
        return sg_err_set(err, SG_EPROTO, "helm status output: %d:%d: %s", je.line, je.column,
                          je.text);
    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        json_decref(root);
        return sg_err_set(err, SG_EPROTO, "helm status output: no revision (\"version\")");
    }
    *rev = json_integer_value(v);
    json_decref(root);
    return SG_OK;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct sg_rel *rel = h->data;

    rel->handles--;
    if (rel->removed && rel->handles == 0)
        sg_rel_free(rel);
}

/* The first line of helm's stderr, for the log. */
static void first_line(const char *s, char *out, size_t n)
{
    size_t i = 0;

    while (s && s[i] && s[i] != '\n' && i + 1 < n) {
        out[i] = s[i];
        i++;
    }
    out[i] = '\0';
}

static void on_poll_done(struct sg_proc_result *res, const struct sg_err *perr, void *arg)
{
    struct sg_rel *rel = arg;
    struct sg_daemon *d = rel->d;
    struct sg_err err;
    int64_t rev = -1;

    rel->poll = NULL;
    rel->handles--;
    if (rel->removed || d->stopping || d->fatal) {
        if (rel->removed && rel->handles == 0)
            sg_rel_free(rel);
        return;
    }
    sg_err_clear(&err);
    if (perr) {
        char line[256];
        first_line(res->err.data, line, sizeof(line));
        if (!rel->poll_failing)
            sg_log(SG_LOG_WARN, "helm status failed; the revision is unknown", "release",
                   rel->name, "err", perr->msg, "stderr", line, NULL);
        rel->poll_failing = true;
        return;
    }
    if (sg_helm_status_revision(sg_buf_view(&res->out), &rev, &err) != SG_OK) {
        if (!rel->poll_failing)
            sg_log(SG_LOG_WARN, "helm status answered without a revision", "release", rel->name,
                   "err", err.msg, NULL);
        rel->poll_failing = true;
        return;
    }
    if (rel->poll_failing)
        sg_log(SG_LOG_INFO, "helm status answers again", "release", rel->name, NULL);
    rel->poll_failing = false;
    if (!rel->polled) {
        rel->polled = true;
        if (rel->stored_revision_known && rev != rel->stored_revision) {
            char why[96];
            snprintf(why, sizeof(why), "revision changed from %" PRId64 " while stopgate was down",
                     rel->stored_revision);
            sg_rel_wave_start(rel, rev, why, sg_daemon_now(d));
        } else if (!rel->revision_known || rel->revision != rev) {
            rel->revision = rev;
            rel->revision_known = true;
            rel->dirty = true;
            sg_rel_save(rel, true);
        }
        sg_log(SG_LOG_INFO, "release revision", "release", rel->name, "revision",
               sg_log_i64(rev).s, NULL);
        return;
    }
    if (!rel->revision_known || rev != rel->revision) {
        char why[96];
        if (rel->revision_known)
            snprintf(why, sizeof(why), "helm revision changed from %" PRId64, rel->revision);
        else
            snprintf(why, sizeof(why), "helm revision seen");
        sg_rel_wave_start(rel, rev, why, sg_daemon_now(d));
    }
}

static void on_poll_tick(uv_timer_t *t)
{
    struct sg_rel *rel = t->data;
    struct sg_daemon *d = rel->d;
    const struct sg_release_config *rc = rel->cfg;
    const char *argv[12];
    struct sg_proc_opts po = {0};
    struct sg_err err;
    size_t n = 0;

    if (rel->poll || !rc || d->stopping || d->fatal || !d->helm)
        return;
    argv[n++] = "helm";
    argv[n++] = "status";
    argv[n++] = rc->name;
    argv[n++] = "-n";
    argv[n++] = rc->namespace_;
    if (rc->kube_context) {
        argv[n++] = "--kube-context";
        argv[n++] = rc->kube_context;
    }
    argv[n++] = "-o";
    argv[n++] = "json";
    argv[n] = NULL;
    po.file = d->helm;
    po.argv = argv;
    po.env = d->tool_env;
    po.timeout_ms = (uint64_t)(d->cfg->tools.timeout_ms > 0 ? d->cfg->tools.timeout_ms : 60000);
    po.kill_grace_ms = (uint64_t)(d->cfg->tools.kill_grace_ms > 0 ? d->cfg->tools.kill_grace_ms
                                                                  : 5000);
    po.max_output = POLL_MAX_OUTPUT;
    sg_err_clear(&err);
    if (sg_proc_run(&d->loop, &po, on_poll_done, rel, &rel->poll, &err) != SG_OK) {
        if (!rel->poll_failing)
            sg_log(SG_LOG_WARN, "helm status could not start", "release", rel->name, "err",
                   err.msg, NULL);
        rel->poll_failing = true;
        return;
    }
    rel->handles++;
}

int sg_rel_poll_start(struct sg_rel *rel, struct sg_err *err)
{
    int64_t every = rel->cfg && rel->cfg->revision_poll_interval_ms > 0
                        ? rel->cfg->revision_poll_interval_ms
                        : 10000;
    int r = uv_timer_start(&rel->poll_timer, on_poll_tick, 0, (uint64_t)every);

    if (r < 0)
        return sg_err_set_cause(err, SG_EIO, r, "revision poll timer: %s", uv_strerror(r));
    return SG_OK;
}

static void on_wave_end(uv_timer_t *t)
{
    struct sg_rel *rel = t->data;

    if (rel->removed || rel->d->stopping || rel->d->fatal || !rel->wave)
        return;
    if (sg_daemon_now(rel->d) + 5 < rel->wave_end_ms) {
        sg_rel_wave_timer_arm(rel); /* the wall clock moved: wait the rest */
        return;
    }
    sg_rel_wave_end(rel, sg_daemon_now(rel->d));
}

void sg_rel_wave_timer_arm(struct sg_rel *rel)
{
    int64_t left;

    if (!rel->started)
        return;
    uv_timer_stop(&rel->wave_timer);
    if (!rel->wave)
        return;
    left = rel->wave_end_ms - sg_daemon_now(rel->d);
    (void)uv_timer_start(&rel->wave_timer, on_wave_end, (uint64_t)(left > 0 ? left : 0), 0);
}

int sg_rel_start(struct sg_rel *rel, struct sg_err *err)
{
    struct sg_daemon *d = rel->d;
    int r;

    r = uv_timer_init(&d->loop, &rel->poll_timer);
    if (r < 0)
        return sg_err_set_cause(err, SG_EIO, r, "timer: %s", uv_strerror(r));
    rel->poll_timer.data = rel;
    rel->handles++;
    r = uv_timer_init(&d->loop, &rel->wave_timer);
    if (r < 0)
        return sg_err_set_cause(err, SG_EIO, r, "timer: %s", uv_strerror(r));
    rel->wave_timer.data = rel;
    rel->handles++;
    rel->started = true;
    (void)sg_metric_setl(d->m.release_halted, rel->halted ? 1 : 0, rel->name);
    (void)sg_metric_setl(d->m.wave_active, rel->wave ? 1 : 0, rel->name);
    if (rel->wave) {
        if (sg_daemon_now(d) >= rel->wave_end_ms)
            sg_rel_wave_end(rel, sg_daemon_now(d));
        else
            sg_rel_wave_timer_arm(rel);
    }
    return sg_rel_poll_start(rel, err);
}

void sg_rel_close(struct sg_rel *rel)
{
    if (!rel->started)
        return;
    rel->started = false;
    if (rel->poll)
        sg_proc_cancel(rel->poll);
    uv_timer_stop(&rel->poll_timer);
    uv_timer_stop(&rel->wave_timer);
    uv_close((uv_handle_t *)&rel->poll_timer, on_handle_closed);
    uv_close((uv_handle_t *)&rel->wave_timer, on_handle_closed);
}
