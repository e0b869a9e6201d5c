/* src/state/state.c - the state directory: lock, documents, the audit
 * journal with its action keys, and the notification outbox.
 *
 * On open: take the lock, replay audit.jsonl (collecting every action key)
 * and outbox.jsonl (adds minus dones = pending), cut torn tails, and
 * compact the outbox (rewrite it atomically with only the pending entries
 * and the next id). After that every write is one durable journal line
 * (journal.c) or one atomic document replacement (sg_fs_write_atomic).
 *
 * Outbox ids: increasing; a {"op":"seq","next":N} line written by
 * compaction keeps them increasing across restarts even when nothing is
 * pending.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/state_int.h"
#include "stopgate/clock.h"
#include "stopgate/duration.h"
#include "stopgate/fs.h"

#define DOC_MAX_BYTES        (64u << 20)
#define OUTBOX_COMPACT_BYTES (1u << 20)

struct keyset {
    char **v; /* open addressing, NULL = empty */
    size_t cap, count;
};

struct sg_state {
    char *dir;
    int lock_fd;
    bool shared;
    struct sg_journal audit, outbox;
    struct keyset keys;
    struct sg_outbox_entry *pending; /* sorted by id */
    size_t npending, cap;
    uint64_t next_id;
    size_t replay_done; /* outbox entries completed, seen during replay */
};

/* ---- key set ------------------------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static bool keyset_has(const struct keyset *k, const char *key)
{
    size_t i;

    if (k->cap == 0)
        return false;
    for (i = hash_str(key) & (k->cap - 1); k->v[i]; i = (i + 1) & (k->cap - 1)) {
        if (strcmp(k->v[i], key) == 0)
            return true;
    }
    return false;
}

/* Make room for one more key, so that adding it later cannot fail. */
static int keyset_reserve(struct keyset *k)
{
    char **old = k->v;
    size_t oldcap = k->cap, cap;

    if ((k->count + 1) * 2 <= k->cap)
        return SG_OK;
    cap = k->cap ? k->cap * 2 : 64;
    k->v = sg_calloc(cap, sizeof(*k->v));
    if (!k->v) {
        k->v = old;
        return SG_ENOMEM;
    }
    k->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i]) {
            size_t j = hash_str(old[i]) & (cap - 1);
            while (k->v[j])
                j = (j + 1) & (cap - 1);
            k->v[j] = old[i];
        }
    }
    sg_free(old);
    return SG_OK;
}

/* Takes key (sg_malloc'd); keyset_reserve must have been called. */
static void keyset_add_take(struct keyset *k, char *key)
{
    size_t i = hash_str(key) & (k->cap - 1);

    while (k->v[i]) {
        if (strcmp(k->v[i], key) == 0) {
            sg_free(key);
            return;
        }
        i = (i + 1) & (k->cap - 1);
    }
    k->v[i] = key;
    k->count++;
}

static void keyset_free(struct keyset *k)
{
    for (size_t i = 0; i < k->cap; i++)
        sg_free(k->v[i]);
    sg_free(k->v);
    memset(k, 0, sizeof(*k));
}

/* ---- names and paths --------------------------------------------------------------- */

static bool doc_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 128 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int path_in(const struct sg_state *st, char *buf, size_t n, const char *a, const char *b,
                   struct sg_err *err)
{
    int w = b ? snprintf(buf, n, "%s/%s/%s.json", st->dir, a, b)
              : snprintf(buf, n, "%s/%s", st->dir, a);
    if (w < 0 || (size_t)w >= n)
        return sg_err_set(err, SG_EINVAL, "%s: path too long", st->dir);
    return SG_OK;
}

/* ---- audit --------------------------------------------------------------------------- */

const char *sg_audit_event_name(enum sg_audit_event e)
{
    switch (e) {
    case SG_AUDIT_WAVE_START:
        return "wave_start";
    case SG_AUDIT_WAVE_END:
        return "wave_end";
    case SG_AUDIT_TRIP:
        return "trip";
    case SG_AUDIT_RESOLVE:
        return "resolve";
    case SG_AUDIT_ACTION:
        return "action";
    case SG_AUDIT_ACTION_RESULT:
        return "action_result";
    case SG_AUDIT_NOTIFY:
        return "notify";
    case SG_AUDIT_RESUME:
        return "resume";
    case SG_AUDIT_ERROR:
        return "error";
    }
    return "unknown";
}

static int set_str(json_t *o, const char *key, const char *s, size_t len)
{
    json_t *v = sg_state__json_str(s, len);

    if (!v || json_object_set_new(o, key, v) != 0)
        return SG_ENOMEM;
    return SG_OK;
}

static int set_cstr(json_t *o, const char *key, const char *s)
{
    return s ? set_str(o, key, s, strlen(s)) : SG_OK;
}

static json_t *audit_json(const struct sg_audit *rec, int64_t now_ms)
{
    json_t *o = json_object();
    char ts[SG_RFC3339_FMT_MAX];
    int rc = SG_OK;

    if (!o)
        return NULL;
    sg_time_format_rfc3339(rec->ts_ms ? rec->ts_ms : now_ms, ts, sizeof(ts));
    rc |= set_cstr(o, "ts", ts);
    rc |= set_cstr(o, "release", rec->release);
    rc |= set_cstr(o, "event", sg_audit_event_name(rec->event));
    rc |= set_cstr(o, "alertname", rec->alertname);
    if (rec->labels) {
        json_t *l = json_object();
        if (!l || json_object_set_new(o, "labels", l) != 0)
            rc |= SG_ENOMEM;
        for (uint32_t i = 0; l && i < rec->labels->count; i++) {
            char name[256];
            const struct sg_label *lb = &rec->labels->v[i];
            /* jansson keys are C strings: copy (names are short label names) */
            snprintf(name, sizeof(name), "%.*s", (int)lb->name.len, lb->name.ptr);
            rc |= set_str(l, name, lb->value.ptr, lb->value.len);
        }
    }
    rc |= set_cstr(o, "query", rec->query);
    if (rec->has_value) {
        json_t *v;
        if (isnan(rec->value))
            v = json_string("NaN");
        else if (isinf(rec->value))
            v = json_string(rec->value > 0 ? "+Inf" : "-Inf");
        else
            v = json_real(rec->value);
        if (!v || json_object_set_new(o, "value", v) != 0)
            rc |= SG_ENOMEM;
    }
    if (rec->has_revision && json_object_set_new(o, "revision", json_integer(rec->revision)) != 0)
        rc |= SG_ENOMEM;
    rc |= set_cstr(o, "action", rec->action);
    rc |= set_cstr(o, "key", rec->key);
    if (rec->has_dry_run && json_object_set_new(o, "dry_run", json_boolean(rec->dry_run)) != 0)
        rc |= SG_ENOMEM;
    if (rec->argv) {
        json_t *a = json_array();
        if (!a || json_object_set_new(o, "argv", a) != 0)
            rc |= SG_ENOMEM;
        for (size_t i = 0; a && rec->argv[i]; i++) {
            json_t *s = sg_state__json_str(rec->argv[i], strlen(rec->argv[i]));
            if (!s || json_array_append_new(a, s) != 0)
                rc |= SG_ENOMEM;
        }
    }
    if (rec->has_exit_status &&
        json_object_set_new(o, "exit_status", json_integer(rec->exit_status)) != 0)
        rc |= SG_ENOMEM;
    if (rec->extra && json_is_object(rec->extra)) {
        const char *k;
        json_t *v;
        /* json_object_foreach wants a non-const object; iterate by hand */
        void *it = json_object_iter((json_t *)(uintptr_t)rec->extra);
        while (it) {
            k = json_object_iter_key(it);
            v = json_object_iter_value(it);
            if (!json_object_get(o, k) && json_object_set(o, k, v) != 0)
                rc |= SG_ENOMEM;
            it = json_object_iter_next((json_t *)(uintptr_t)rec->extra, it);
        }
    }
    if (rc != SG_OK) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int64_t now_ms(void)
{
    return sg_clock_wall_ms();
}

int sg_state_audit_format(const struct sg_audit *rec, struct sg_buf *out, struct sg_err *err)
{
    json_t *o;
    int rc;

    if (!rec->release)
        return sg_err_set(err, SG_EINVAL, "audit record without release");
    if (rec->event == SG_AUDIT_ACTION && (!rec->key || !*rec->key))
        return sg_err_set(err, SG_EINVAL, "audit action record without key");
    o = audit_json(rec, now_ms());
    if (!o)
        return sg_err_set(err, SG_ENOMEM, "audit record: out of memory");
    rc = sg_state__dump(o, out, err);
    json_decref(o);
    return rc;
}

int sg_state_audit(struct sg_state *st, const struct sg_audit *rec, struct sg_err *err)
{
    struct sg_buf line;
    char *key = NULL;
    int rc;

    if (st->shared)
        return sg_err_set(err, SG_ESTATE, "%s: opened without the lock: no journal", st->dir);
    if (st->audit.broken)
        return sg_err_set(err, SG_ESTATE, "%s: the journal cannot be written any more",
                          st->audit.path);
    if (rec->event == SG_AUDIT_ACTION && rec->key && keyset_has(&st->keys, rec->key))
        return sg_err_set(err, SG_ESTATE, "action %s was already journaled (key %s)",
                          rec->action ? rec->action : "", rec->key);
    sg_buf_init(&line, SG_STATE_MAX_LINE - 1);
    rc = sg_state_audit_format(rec, &line, err);
    if (rc != SG_OK)
        goto out;
    if (rec->event == SG_AUDIT_ACTION) {
        /* room first: once the line is on disk, remembering it cannot fail */
        key = sg_strdup(rec->key);
        if (!key || keyset_reserve(&st->keys) != SG_OK) {
            rc = sg_err_set(err, SG_ENOMEM, "audit: out of memory");
            goto out;
        }
    }
    rc = sg_journal_append(&st->audit, line.data, line.len, err);
    if (rc == SG_OK && key) {
        keyset_add_take(&st->keys, key);
        key = NULL;
    }
out:
    sg_free(key);
    sg_buf_cleanup(&line);
    return rc;
}

bool sg_state_has_action(const struct sg_state *st, const char *key)
{
    return key && keyset_has(&st->keys, key);
}

static int audit_line(void *ctx, json_t *obj, size_t line_no, struct sg_err *err)
{
    struct sg_state *st = ctx;
    const char *event = json_string_value(json_object_get(obj, "event"));
    const char *key = json_string_value(json_object_get(obj, "key"));
    char *k;

    (void)line_no;
    (void)err;
    if (!event || strcmp(event, "action") != 0 || !key)
        return SG_OK;
    k = sg_strdup(key);
    if (!k || keyset_reserve(&st->keys) != SG_OK) {
        sg_free(k);
        return sg_err_set(err, SG_ENOMEM, "audit replay: out of memory");
    }
    keyset_add_take(&st->keys, k);
    return SG_OK;
}

/* ---- outbox ---------------------------------------------------------------------------- */

static void entry_free(struct sg_outbox_entry *e)
{
    sg_free((char *)(uintptr_t)e->notifier);
    json_decref(e->payload);
}

static size_t pending_find(const struct sg_state *st, uint64_t id, bool *found)
{
    size_t lo = 0, hi = st->npending;

    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->pending[mid].id == id) {
            *found = true;
            return mid;
        }
        if (st->pending[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Takes notifier (sg_malloc'd) and a payload reference. */
static int pending_insert(struct sg_state *st, uint64_t id, int64_t ts, char *notifier,
                          json_t *payload)
{
    bool found;
    size_t at = pending_find(st, id, &found);

    if (found) {
        sg_free(notifier);
        json_decref(payload);
        return SG_OK;
    }
    if (st->npending == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        struct sg_outbox_entry *v = sg_reallocarray(st->pending, cap, sizeof(*v));
        if (!v) {
            sg_free(notifier);
            json_decref(payload);
            return SG_ENOMEM;
        }
        st->pending = v;
        st->cap = cap;
    }
    memmove(&st->pending[at + 1], &st->pending[at], (st->npending - at) * sizeof(*st->pending));
    st->pending[at].id = id;
    st->pending[at].ts_ms = ts;
    st->pending[at].notifier = notifier;
    st->pending[at].payload = payload;
    st->npending++;
    return SG_OK;
}

static bool pending_remove(struct sg_state *st, uint64_t id)
{
    bool found;
    size_t at = pending_find(st, id, &found);

    if (!found)
        return false;
    entry_free(&st->pending[at]);
    memmove(&st->pending[at], &st->pending[at + 1], (st->npending - at - 1) * sizeof(*st->pending));
    st->npending--;
    return true;
}

static int outbox_line(void *ctx, json_t *obj, size_t line_no, struct sg_err *err)
{
    struct sg_state *st = ctx;
    const char *op = json_string_value(json_object_get(obj, "op"));
    json_t *idj = json_object_get(obj, "id");
    uint64_t id =
        json_is_integer(idj) && json_integer_value(idj) > 0 ? (uint64_t)json_integer_value(idj) : 0;

    if (op && strcmp(op, "seq") == 0) {
        json_t *n = json_object_get(obj, "next");
        if (json_is_integer(n) && json_integer_value(n) > 0 &&
            (uint64_t)json_integer_value(n) > st->next_id)
            st->next_id = (uint64_t)json_integer_value(n);
        return SG_OK;
    }
    if (!op || id == 0 || (strcmp(op, "add") != 0 && strcmp(op, "done") != 0))
        return sg_err_set_linecol(err, SG_ESTATE, st->outbox.path ? st->outbox.path : "outbox",
                                  (uint32_t)line_no, 1, "not an outbox record");
    if (id >= st->next_id)
        st->next_id = id + 1;
    if (strcmp(op, "add") == 0) {
        const char *notifier = json_string_value(json_object_get(obj, "notifier"));
        json_t *ts = json_object_get(obj, "ts_ms");
        json_t *payload = json_object_get(obj, "payload");
        char *n;
        if (!notifier || !payload)
            return sg_err_set_linecol(err, SG_ESTATE, st->outbox.path, (uint32_t)line_no, 1,
                                      "outbox add without notifier or payload");
        n = sg_strdup(notifier);
        if (!n)
            return sg_err_set(err, SG_ENOMEM, "outbox replay: out of memory");
        json_incref(payload);
        if (pending_insert(st, id, json_is_integer(ts) ? json_integer_value(ts) : 0, n, payload) !=
            SG_OK)
            return sg_err_set(err, SG_ENOMEM, "outbox replay: out of memory");
        return SG_OK;
    }
    if (pending_remove(st, id))
        st->replay_done++;
    return SG_OK;
}

static int add_line(const struct sg_outbox_entry *e, struct sg_buf *out, struct sg_err *err)
{
    json_t *o = json_object();
    int rc;

    if (!o || json_object_set_new(o, "op", json_string("add")) != 0 ||
        json_object_set_new(o, "id", json_integer((json_int_t)e->id)) != 0 ||
        json_object_set_new(o, "ts_ms", json_integer(e->ts_ms)) != 0 ||
        set_cstr(o, "notifier", e->notifier) != SG_OK ||
        json_object_set(o, "payload", e->payload) != 0) {
        json_decref(o);
        return sg_err_set(err, SG_ENOMEM, "outbox: out of memory");
    }
    rc = sg_state__dump(o, out, err);
    json_decref(o);
    return rc;
}

/* Rewrite outbox.jsonl with the pending entries only (atomic replace), and
 * reopen it for appending. */
static int outbox_compact(struct sg_state *st, struct sg_err *err)
{
    struct sg_buf text;
    struct stat sb;
    int rc, fd;

    sg_buf_init(&text, (size_t)1 << 30);
    rc = sg_buf_appendf(&text, "{\"op\":\"seq\",\"next\":%llu}\n", (unsigned long long)st->next_id);
    for (size_t i = 0; rc == SG_OK && i < st->npending; i++) {
        rc = add_line(&st->pending[i], &text, err);
        if (rc == SG_OK)
            rc = sg_buf_putc(&text, '\n');
    }
    if (rc != SG_OK) {
        sg_buf_cleanup(&text);
        return sg_err_set(err, rc, "%s: compaction: out of memory", st->outbox.path);
    }
    rc = sg_fs_write_atomic(st->outbox.path, text.data, text.len, 0600, err);
    sg_buf_cleanup(&text);
    if (rc != SG_OK)
        return SG_ESTATE;
    fd = open(st->outbox.path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        st->outbox.broken = true;
        return sg_err_set_cause(err, SG_ESTATE, errno, "%s: %s", st->outbox.path, strerror(errno));
    }
    close(st->outbox.fd);
    st->outbox.fd = fd;
    st->outbox.size = (uint64_t)sb.st_size;
    return SG_OK;
}

int sg_state_outbox_add(struct sg_state *st, const char *notifier, const json_t *payload,
                        uint64_t *id, struct sg_err *err)
{
    struct sg_outbox_entry e;
    struct sg_buf line;
    char *n;
    int rc;

    if (st->shared)
        return sg_err_set(err, SG_ESTATE, "%s: opened without the lock: no journal", st->dir);
    if (!notifier || !payload)
        return sg_err_set(err, SG_EINVAL, "outbox: notifier and payload are required");
    e.id = st->next_id;
    e.ts_ms = now_ms();
    e.notifier = notifier;
    e.payload = (json_t *)(uintptr_t)payload;
    sg_buf_init(&line, SG_STATE_MAX_LINE - 1);
    rc = add_line(&e, &line, err);
    n = sg_strdup(notifier);
    if (rc == SG_OK && !n)
        rc = sg_err_set(err, SG_ENOMEM, "outbox: out of memory");
    /* reserve the slot first, so that after the write nothing can fail */
    if (rc == SG_OK && st->npending == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        struct sg_outbox_entry *v = sg_reallocarray(st->pending, cap, sizeof(*v));
        if (!v)
            rc = sg_err_set(err, SG_ENOMEM, "outbox: out of memory");
        else {
            st->pending = v;
            st->cap = cap;
        }
    }
    if (rc == SG_OK)
        rc = sg_journal_append(&st->outbox, line.data, line.len, err);
    sg_buf_cleanup(&line);
    if (rc != SG_OK) {
        sg_free(n);
        return rc;
    }
    st->next_id++;
    json_incref(e.payload);
    (void)pending_insert(st, e.id, e.ts_ms, n, e.payload); /* room was reserved */
    if (id)
        *id = e.id;
    return SG_OK;
}

int sg_state_outbox_done(struct sg_state *st, uint64_t id, const char *result, struct sg_err *err)
{
    char line[160];
    bool found;
    int rc, w;

    if (st->shared)
        return sg_err_set(err, SG_ESTATE, "%s: opened without the lock: no journal", st->dir);
    pending_find(st, id, &found);
    if (!found)
        return sg_err_set(err, SG_EINVAL, "outbox: no pending entry %llu", (unsigned long long)id);
    if (!result || strlen(result) > 32 || strpbrk(result, "\"\\\n"))
        result = "done";
    w = snprintf(line, sizeof(line),
                 "{\"op\":\"done\",\"id\":%llu,\"result\":\"%s\",\"ts_ms\":%lld}",
                 (unsigned long long)id, result, (long long)now_ms());
    rc = sg_journal_append(&st->outbox, line, (size_t)w, err);
    if (rc != SG_OK)
        return rc;
    pending_remove(st, id);
    /* keep the file short: rewrite it once it has grown and nothing waits */
    if (st->npending == 0 && st->outbox.size > OUTBOX_COMPACT_BYTES) {
        struct sg_err e;
        sg_err_clear(&e);
        (void)outbox_compact(st, &e); /* the done line is durable; compaction can wait */
    }
    return SG_OK;
}

size_t sg_state_outbox_pending(const struct sg_state *st, const struct sg_outbox_entry **out)
{
    *out = st->pending;
    return st->npending;
}

/* ---- documents ---------------------------------------------------------------------- */

int sg_state_save_doc(struct sg_state *st, const char *kind, const char *name, const json_t *doc,
                      struct sg_err *err)
{
    char path[4096], dir[4096];
    char *s;
    int rc;

    if (!doc_name_ok(kind) || !doc_name_ok(name))
        return sg_err_set(err, SG_EINVAL, "invalid state document name %s/%s", kind ? kind : "",
                          name ? name : "");
    if (path_in(st, dir, sizeof(dir), kind, NULL, err) != SG_OK ||
        path_in(st, path, sizeof(path), kind, name, err) != SG_OK)
        return SG_EINVAL;
    if (sg_fs_mkdir_p(dir, 0700, err) != SG_OK)
        return SG_ESTATE;
    s = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    if (!s)
        return sg_err_set(err, SG_ENOMEM, "%s: out of memory", path);
    rc = sg_fs_write_atomic(path, s, strlen(s), 0600, err);
    free(s);
    return rc == SG_OK ? SG_OK : SG_ESTATE;
}

int sg_state_load_doc(struct sg_state *st, const char *kind, const char *name, json_t **out,
                      struct sg_err *err)
{
    char path[4096];
    struct sg_buf text;
    json_error_t je;
    json_t *doc;
    int rc;

    *out = NULL;
    if (!doc_name_ok(kind) || !doc_name_ok(name))
        return sg_err_set(err, SG_EINVAL, "invalid state document name %s/%s", kind ? kind : "",
                          name ? name : "");
    if (path_in(st, path, sizeof(path), kind, name, err) != SG_OK)
        return SG_EINVAL;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return SG_OK;
    sg_buf_init(&text, DOC_MAX_BYTES);
    rc = sg_fs_read_all(path, DOC_MAX_BYTES, &text, err);
    if (rc != SG_OK) {
        sg_buf_cleanup(&text);
        return SG_ESTATE;
    }
    doc = json_loadb(text.data ? text.data : "", text.len, 0, &je);
    sg_buf_cleanup(&text);
    if (!doc)
        return sg_err_set_linecol(err, SG_ESTATE, path, (uint32_t)(je.line > 0 ? je.line : 1),
                                  (uint32_t)(je.column > 0 ? je.column : 1), "%s", je.text);
    *out = doc;
    return SG_OK;
}

int sg_state_save_release(struct sg_state *st, const char *release, const json_t *doc,
                          struct sg_err *err)
{
    return sg_state_save_doc(st, "releases", release, doc, err);
}

int sg_state_load_release(struct sg_state *st, const char *release, json_t **out,
                          struct sg_err *err)
{
    return sg_state_load_doc(st, "releases", release, out, err);
}

/* ---- open / close -------------------------------------------------------------------- */

void sg_state_close(struct sg_state *st)
{
    if (!st)
        return;
    sg_journal_close(&st->audit);
    sg_journal_close(&st->outbox);
    keyset_free(&st->keys);
    for (size_t i = 0; i < st->npending; i++)
        entry_free(&st->pending[i]);
    sg_free(st->pending);
    if (st->lock_fd >= 0)
        sg_fs_unlock(st->lock_fd);
    sg_free(st->dir);
    sg_free(st);
}

bool sg_state_broken(const struct sg_state *st)
{
    return st->audit.broken || st->outbox.broken;
}

int sg_state_open(const char *dir, unsigned flags, struct sg_state **out,
                  struct sg_state_info *info, struct sg_err *err)
{
    struct sg_state_info tmp;
    struct sg_state *st;
    char path[4096];
    int rc;

    if (!info)
        info = &tmp;
    memset(info, 0, sizeof(*info));
    if (!dir || !*dir)
        return sg_err_set(err, SG_EINVAL, "state directory not set");
    st = sg_calloc(1, sizeof(*st));
    if (!st)
        return sg_err_set(err, SG_ENOMEM, "state: out of memory");
    st->lock_fd = -1;
    st->audit.fd = st->outbox.fd = -1;
    st->next_id = 1;
    st->shared = (flags & SG_STATE_SHARED) != 0;
    st->dir = sg_strdup(dir);
    if (!st->dir) {
        rc = sg_err_set(err, SG_ENOMEM, "state: out of memory");
        goto fail;
    }
    if (sg_fs_mkdir_p(dir, 0700, err) != SG_OK) {
        rc = SG_ESTATE;
        goto fail;
    }
    if (st->shared) {
        *out = st;
        return SG_OK;
    }
    rc = sg_fs_lock_dir(dir, &st->lock_fd, err);
    if (rc != SG_OK)
        goto fail;
    if ((rc = path_in(st, path, sizeof(path), "audit.jsonl", NULL, err)) != SG_OK)
        goto fail;
    rc = sg_journal_open(&st->audit, path, audit_line, st, &info->audit_cut_bytes,
                         &info->audit_lines, err);
    if (rc != SG_OK)
        goto fail;
    info->audit_actions = st->keys.count;
    if ((rc = path_in(st, path, sizeof(path), "outbox.jsonl", NULL, err)) != SG_OK)
        goto fail;
    {
        size_t lines;
        rc = sg_journal_open(&st->outbox, path, outbox_line, st, &info->outbox_cut_bytes, &lines,
                             err);
    }
    if (rc != SG_OK)
        goto fail;
    info->outbox_pending = st->npending;
    info->outbox_done = st->replay_done;
    if (st->replay_done > 0 || info->outbox_cut_bytes > 0) {
        rc = outbox_compact(st, err);
        if (rc != SG_OK)
            goto fail;
    }
    *out = st;
    return SG_OK;
fail:
    sg_state_close(st);
    return rc;
}
