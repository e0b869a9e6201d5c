/* src/daemon/persist.c - a release's lasting state as a JSON document
 * (state_dir/releases/NAME.json) and back.
 *
 * The document (version 1):
 *   {"version":1, "release":"caracal", "saved":"2026-...Z",
 *    "revision":5,                          null when never seen
 *    "wave":{"revision":5,"start_ms":...,"end_ms":...} or null,
 *    "gate":{"halted":true,"reason":"...","since_ms":...,"paused":false},
 *    "streaks":{"query_errors":N,"query_errors_since_ms":...,"query_errors_last":"...",
 *               "no_data":N,"no_data_since_ms":...},
 *    "alerts":[{"source":"rules"|"alertmanager","origin":"FILE GROUP","labels":{...},
 *               "query":"...","state":"pending","value":"1.5","active_at_ms":...,
 *               "hist":["hex","hex"],"nhist":N,"tripped":false,"acked":false,
 *               "tripped_at_ms":...}],
 *    "series":[{"labels":{...},"samples":[[ts_ms,"value"],...]}]}
 * Values are strings in Go's shortest 'g' form ("NaN", "+Inf", "stale" for
 * a staleness marker) so that every double survives the round trip.
 * "series" holds the local store (recorded series, ALERTS,
 * ALERTS_FOR_STATE) within the release's retention; when the document
 * would grow past its cap only the newest sample of each series is kept.
 *
 * Restoring is strict about types and lenient about absence: a missing
 * field keeps its fresh default, a field of the wrong type is an error
 * naming it (the daemon then refuses to start rather than guess).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "stopgate/log.h"
#include "stopgate/num.h"

struct sg_track *sg_rel__track_add(struct sg_rel *rel, enum sg_track_source src,
                                   const char *origin, const struct sg_labels *ls,
                                   const char *query);

/* A JSON string of possibly invalid UTF-8 (invalid bytes become U+FFFD). */
static json_t *jstr(struct sg_str s)
{
    json_t *j = json_stringn(s.ptr ? s.ptr : "", s.len);
    struct sg_buf b;

    if (j)
        return j;
    sg_buf_init(&b, s.len * 3 + 1);
    for (size_t i = 0; i < s.len;) {
        size_t w;
        uint32_t r = sg_utf8_decode(s.ptr + i, s.len - i, &w);
        char enc[4];
        size_t n = sg_utf8_encode(r, enc);
        if (sg_buf_append(&b, enc, n) != SG_OK)
            break;
        i += w ? w : 1;
    }
    j = json_stringn(b.data ? b.data : "", b.len);
    sg_buf_cleanup(&b);
    return j;
}

static json_t *labels_json(const struct sg_labels *ls)
{
    json_t *o = json_object();

    for (uint32_t i = 0; o && i < ls->count; i++) {
        char name[256];
        size_t n = ls->v[i].name.len < sizeof(name) - 1 ? ls->v[i].name.len : sizeof(name) - 1;
        memcpy(name, ls->v[i].name.ptr, n);
        name[n] = '\0';
        json_object_set_new(o, name, jstr(ls->v[i].value));
    }
    return o;
}

static json_t *value_json(double v)
{
    char buf[64];

    if (sg_is_stale(v))
        return json_string("stale");
    sg_num_format(v, 'g', buf, sizeof(buf));
    return json_string(buf);
}

static int value_parse(const json_t *j, double *out)
{
    const char *s = json_string_value(j);

    if (!s)
        return SG_EINVAL;
    if (strcmp(s, "stale") == 0) {
        *out = sg_stale_nan();
        return SG_OK;
    }
    return sg_num_parse(sg_str_c(s), out) == SG_OK ? SG_OK : SG_EINVAL;
}

struct series_ctx {
    json_t *arr;
    int64_t since_ms;
    bool last_only;
    bool oom;
};

static int series_one(const struct sg_series *s, void *arg)
{
    struct series_ctx *c = arg;
    json_t *o = json_object(), *samples = json_array();
    size_t first = sg_series_lower_bound(s, c->since_ms);

    if (!o || !samples) {
        json_decref(o);
        json_decref(samples);
        c->oom = true;
        return 1;
    }
    if (c->last_only && s->count)
        first = s->count - 1;
    for (size_t i = first; i < s->count; i++) {
        json_t *p = json_array();
        json_array_append_new(p, json_integer(s->samples[i].t));
        json_array_append_new(p, value_json(s->samples[i].v));
        json_array_append_new(samples, p);
    }
    if (json_array_size(samples) == 0) {
        json_decref(o);
        json_decref(samples);
        return 0;
    }
    json_object_set_new(o, "labels", labels_json(&s->labels));
    json_object_set_new(o, "samples", samples);
    json_array_append_new(c->arr, o);
    return 0;
}

static json_t *series_json(const struct sg_rel *rel, int64_t since_ms, bool last_only)
{
    struct series_ctx c = {0};

    c.arr = json_array();
    c.since_ms = since_ms;
    c.last_only = last_only;
    if (!c.arr)
        return NULL;
    (void)sg_store_foreach(rel->local, series_one, &c);
    if (c.oom) {
        json_decref(c.arr);
        return NULL;
    }
    return c.arr;
}

json_t *sg_rel_doc(const struct sg_rel *rel, size_t max_bytes)
{
    json_t *doc = json_object(), *alerts, *gate, *streaks, *series;
    char buf[64];
    int64_t now = sg_daemon_now(rel->d);

    if (!doc)
        return NULL;
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "release", json_string(rel->name));
    sg_daemon_time_json(now, buf, sizeof(buf));
    json_object_set_new(doc, "saved", json_string(buf));
    json_object_set_new(doc, "revision",
                        rel->revision_known ? json_integer(rel->revision) : json_null());
    if (rel->wave) {
        json_t *w = json_object();
        json_object_set_new(w, "revision",
                            rel->wave_revision >= 0 ? json_integer(rel->wave_revision)
                                                    : json_null());
        json_object_set_new(w, "start_ms", json_integer(rel->wave_start_ms));
        json_object_set_new(w, "end_ms", json_integer(rel->wave_end_ms));
        json_object_set_new(doc, "wave", w);
    } else {
        json_object_set_new(doc, "wave", json_null());
    }
    gate = json_object();
    json_object_set_new(gate, "halted", json_boolean(rel->halted));
    json_object_set_new(gate, "reason", json_string(rel->halt_reason));
    json_object_set_new(gate, "since_ms", json_integer(rel->halt_since_ms));
    json_object_set_new(gate, "paused", json_boolean(rel->paused));
    json_object_set_new(doc, "gate", gate);
    streaks = json_object();
    json_object_set_new(streaks, "query_errors", json_integer(rel->qerr_streak));
    json_object_set_new(streaks, "query_errors_since_ms", json_integer(rel->qerr_since_ms));
    json_object_set_new(streaks, "query_errors_last", jstr(sg_str_c(rel->qerr_last)));
    json_object_set_new(streaks, "no_data", json_integer(rel->nodata_streak));
    json_object_set_new(streaks, "no_data_since_ms", json_integer(rel->nodata_since_ms));
    json_object_set_new(doc, "streaks", streaks);
    alerts = json_array();
    for (size_t i = 0; alerts && i < rel->ntracks; i++) {
        const struct sg_track *t = rel->tracks[i];
        json_t *a = json_object(), *h = json_array();
        char hex[20];

        json_object_set_new(a, "source",
                            json_string(t->source == SG_TRACK_AM ? "alertmanager" : "rules"));
        json_object_set_new(a, "origin", jstr(sg_str_c(t->origin)));
        json_object_set_new(a, "labels", labels_json(&t->labels));
        if (t->query)
            json_object_set_new(a, "query", jstr(sg_str_c(t->query)));
        json_object_set_new(a, "state", json_string(sg_alert_state_name(t->state)));
        json_object_set_new(a, "value", value_json(t->value));
        json_object_set_new(a, "active_at_ms", t->active_at_ms == SG_TIME_UNSET
                                                   ? json_null()
                                                   : json_integer(t->active_at_ms));
        snprintf(hex, sizeof(hex), "%016" PRIx64, t->hist[0]);
        json_array_append_new(h, json_string(hex));
        snprintf(hex, sizeof(hex), "%016" PRIx64, t->hist[1]);
        json_array_append_new(h, json_string(hex));
        json_object_set_new(a, "hist", h);
        json_object_set_new(a, "nhist", json_integer(t->nhist));
        json_object_set_new(a, "tripped", json_boolean(t->tripped));
        json_object_set_new(a, "acked", json_boolean(t->acked));
        json_object_set_new(a, "tripped_at_ms", t->tripped_at_ms == SG_TIME_UNSET
                                                    ? json_null()
                                                    : json_integer(t->tripped_at_ms));
        json_array_append_new(alerts, a);
    }
    json_object_set_new(doc, "alerts", alerts ? alerts : json_array());

    series = series_json(rel, now - rel->retention_ms, false);
    if (series) {
        char *s = json_dumps(series, JSON_COMPACT);
        size_t len = s ? strlen(s) : 0;
        free(s);
        if (len > max_bytes / 2) {
            json_decref(series);
            series = series_json(rel, now - rel->retention_ms, true);
        }
    }
    json_object_set_new(doc, "series", series ? series : json_array());
    return doc;
}

/* ---- restore ------------------------------------------------------------------------ */

static int bad(struct sg_err *err, const char *field)
{
    return sg_err_set(err, SG_ESTATE, "state document: field %s has the wrong type", field);
}

static int get_i64(const json_t *o, const char *k, int64_t *out, struct sg_err *err)
{
    const json_t *j = json_object_get(o, k);

    if (!j || json_is_null(j))
        return SG_OK;
    if (!json_is_integer(j))
        return bad(err, k);
    *out = json_integer_value(j);
    return SG_OK;
}

static int get_bool(const json_t *o, const char *k, bool *out, struct sg_err *err)
{
    const json_t *j = json_object_get(o, k);

    if (!j || json_is_null(j))
        return SG_OK;
    if (!json_is_boolean(j))
        return bad(err, k);
    *out = json_is_true(j);
    return SG_OK;
}

static int get_str(const json_t *o, const char *k, char *buf, size_t n, struct sg_err *err)
{
    const json_t *j = json_object_get(o, k);

    if (!j || json_is_null(j))
        return SG_OK;
    if (!json_is_string(j))
        return bad(err, k);
    snprintf(buf, n, "%s", json_string_value(j));
    return SG_OK;
}

/* Labels from a JSON object into the arena. */
static int labels_from(const json_t *o, struct sg_arena *a, struct sg_labels *out,
                       struct sg_err *err)
{
    const char *k;
    json_t *v;
    size_t n = json_object_size(o), i = 0;

    if (!json_is_object(o))
        return bad(err, "labels");
    out->v = sg_arena_alloc_array(a, n ? n : 1, sizeof(*out->v));
    if (!out->v)
        return sg_err_set(err, SG_ENOMEM, "state document: out of memory");
    json_object_foreach((json_t *)(uintptr_t)o, k, v)
    {
        if (!json_is_string(v))
            return bad(err, "labels");
        out->v[i].name = sg_str_make(sg_arena_strdup(a, k), strlen(k));
        out->v[i].value = sg_str_make(sg_arena_strndup(a, json_string_value(v),
                                                       json_string_length(v)),
                                      json_string_length(v));
        if (!out->v[i].name.ptr || !out->v[i].value.ptr)
            return sg_err_set(err, SG_ENOMEM, "state document: out of memory");
        i++;
    }
    out->count = (uint32_t)n;
    return sg_labels_sort(out, err) == SG_OK ? SG_OK : bad(err, "labels");
}

static enum sg_alert_state state_from(const char *s)
{
    if (s && strcmp(s, "pending") == 0)
        return SG_ALERT_PENDING;
    if (s && strcmp(s, "firing") == 0)
        return SG_ALERT_FIRING;
    return SG_ALERT_INACTIVE;
}

static int restore_alert(struct sg_rel *rel, const json_t *o, struct sg_arena *a,
                         struct sg_err *err)
{
    struct sg_labels ls;
    const char *src = json_string_value(json_object_get(o, "source"));
    const char *origin = json_string_value(json_object_get(o, "origin"));
    const char *query = json_string_value(json_object_get(o, "query"));
    const json_t *h = json_object_get(o, "hist");
    struct sg_track *t;
    int64_t v;
    bool b;
    int rc;

    if (!json_is_object(o) || !src || !origin)
        return bad(err, "alerts");
    rc = labels_from(json_object_get(o, "labels"), a, &ls, err);
    if (rc != SG_OK)
        return rc;
    t = sg_rel__track_add(rel, strcmp(src, "alertmanager") == 0 ? SG_TRACK_AM : SG_TRACK_RULES,
                          origin, &ls, query);
    if (!t)
        return sg_err_set(err, SG_ENOMEM, "state document: too many alerts or out of memory");
    t->state = state_from(json_string_value(json_object_get(o, "state")));
    if (json_object_get(o, "value") && value_parse(json_object_get(o, "value"), &t->value) != SG_OK)
        return bad(err, "value");
    v = SG_TIME_UNSET;
    if (get_i64(o, "active_at_ms", &v, err) != SG_OK)
        return SG_ESTATE;
    t->active_at_ms = v;
    v = SG_TIME_UNSET;
    if (get_i64(o, "tripped_at_ms", &v, err) != SG_OK)
        return SG_ESTATE;
    t->tripped_at_ms = v;
    if (json_is_array(h) && json_array_size(h) == 2) {
        for (size_t i = 0; i < 2; i++) {
            const char *s = json_string_value(json_array_get(h, i));
            if (!s || sscanf(s, "%" SCNx64, &t->hist[i]) != 1)
                return bad(err, "hist");
        }
    }
    v = 0;
    if (get_i64(o, "nhist", &v, err) != SG_OK)
        return SG_ESTATE;
    t->nhist = v < 0 ? 0 : v > SG_TRACK_HIST_BITS ? SG_TRACK_HIST_BITS : (uint32_t)v;
    b = false;
    if (get_bool(o, "tripped", &b, err) != SG_OK)
        return SG_ESTATE;
    t->tripped = b;
    b = false;
    if (get_bool(o, "acked", &b, err) != SG_OK)
        return SG_ESTATE;
    t->acked = b;
    return SG_OK;
}

static int restore_series(struct sg_rel *rel, const json_t *o, struct sg_arena *a,
                          struct sg_err *err)
{
    struct sg_labels ls;
    const json_t *samples = json_object_get(o, "samples");
    size_t i;
    json_t *p;
    int rc;

    if (!json_is_object(o) || !json_is_array(samples))
        return bad(err, "series");
    rc = labels_from(json_object_get(o, "labels"), a, &ls, err);
    if (rc != SG_OK)
        return rc;
    json_array_foreach(samples, i, p)
    {
        double v;
        if (!json_is_array(p) || !json_is_integer(json_array_get(p, 0)) ||
            value_parse(json_array_get(p, 1), &v) != SG_OK)
            return bad(err, "series.samples");
        /* out of order or over the cap: keep what fits, the rest is lost */
        if (sg_store_append(rel->local, &ls, json_integer_value(json_array_get(p, 0)), v,
                            NULL) != SG_OK)
            continue;
    }
    return SG_OK;
}

int sg_rel_restore(struct sg_rel *rel, const json_t *doc, struct sg_err *err)
{
    const json_t *wave = json_object_get(doc, "wave");
    const json_t *gate = json_object_get(doc, "gate");
    const json_t *streaks = json_object_get(doc, "streaks");
    const json_t *alerts = json_object_get(doc, "alerts");
    const json_t *series = json_object_get(doc, "series");
    struct sg_arena a;
    int64_t v;
    size_t i;
    json_t *x;
    int rc = SG_OK;

    if (!json_is_object(doc))
        return bad(err, "(document)");
    sg_arena_init(&a, (size_t)256 << 20);
    v = -1;
    if (get_i64(doc, "revision", &v, err) != SG_OK) {
        rc = SG_ESTATE;
        goto out;
    }
    if (v >= 0) {
        rel->revision_known = rel->stored_revision_known = true;
        rel->revision = rel->stored_revision = v;
    }
    if (wave && json_is_object(wave)) {
        rel->wave = true;
        rel->wave_revision = -1;
        if (get_i64(wave, "revision", &rel->wave_revision, err) != SG_OK ||
            get_i64(wave, "start_ms", &rel->wave_start_ms, err) != SG_OK ||
            get_i64(wave, "end_ms", &rel->wave_end_ms, err) != SG_OK) {
            rc = SG_ESTATE;
            goto out;
        }
    } else if (wave && !json_is_null(wave)) {
        rc = bad(err, "wave");
        goto out;
    }
    if (gate) {
        if (!json_is_object(gate) || get_bool(gate, "halted", &rel->halted, err) != SG_OK ||
            get_str(gate, "reason", rel->halt_reason, sizeof(rel->halt_reason), err) != SG_OK ||
            get_i64(gate, "since_ms", &rel->halt_since_ms, err) != SG_OK ||
            get_bool(gate, "paused", &rel->paused, err) != SG_OK) {
            rc = err && err->code ? err->code : bad(err, "gate");
            goto out;
        }
    }
    if (streaks) {
        int64_t q = 0, n = 0;
        if (!json_is_object(streaks) || get_i64(streaks, "query_errors", &q, err) != SG_OK ||
            get_i64(streaks, "query_errors_since_ms", &rel->qerr_since_ms, err) != SG_OK ||
            get_str(streaks, "query_errors_last", rel->qerr_last, sizeof(rel->qerr_last), err) !=
                SG_OK ||
            get_i64(streaks, "no_data", &n, err) != SG_OK ||
            get_i64(streaks, "no_data_since_ms", &rel->nodata_since_ms, err) != SG_OK) {
            rc = err && err->code ? err->code : bad(err, "streaks");
            goto out;
        }
        rel->qerr_streak = q < 0 ? 0 : (uint32_t)(q > UINT32_MAX ? UINT32_MAX : q);
        rel->nodata_streak = n < 0 ? 0 : (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
    }
    if (alerts) {
        if (!json_is_array(alerts)) {
            rc = bad(err, "alerts");
            goto out;
        }
        json_array_foreach(alerts, i, x)
        {
            rc = restore_alert(rel, x, &a, err);
            if (rc != SG_OK)
                goto out;
        }
    }
    if (series) {
        if (!json_is_array(series)) {
            rc = bad(err, "series");
            goto out;
        }
        json_array_foreach(series, i, x)
        {
            rc = restore_series(rel, x, &a, err);
            if (rc != SG_OK)
                goto out;
        }
    }
out:
    sg_arena_cleanup(&a);
    return rc;
}
