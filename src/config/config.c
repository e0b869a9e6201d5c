/* src/config/config.c - loading a config: YAML tree, binding engine,
 * problem reporting, and the small value parsers (sizes, "M of N", listen
 * addresses).
 *
 * The field tables and the cross-field checks live in schema.c; this file
 * knows how to bind each field type and nothing about what the fields mean.
 * Binding goes on after an error so that `check config` can list every
 * problem; the config is handed out only when there was none.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_int.h"
#include "stopgate/duration.h"
#include "stopgate/fs.h"

#define CONFIG_ARENA_MAX (64u << 20)
#define REPORT_ARENA_MAX (4u << 20)
#define MAX_LIST_ITEMS   10000u

/* ---- problems ---------------------------------------------------------------- */

void sg_config_report_init(struct sg_config_report *r)
{
    memset(r, 0, sizeof(*r));
    sg_arena_init(&r->arena, REPORT_ARENA_MAX);
}

void sg_config_report_cleanup(struct sg_config_report *r)
{
    if (!r)
        return;
    sg_arena_cleanup(&r->arena);
    memset(r, 0, sizeof(*r));
}

static void report_add(struct sg_bind *b, enum sg_config_severity sev, int code, const char *file,
                       uint32_t line, uint32_t col, const char *msg)
{
    struct sg_config_report *r = b->report;
    struct sg_config_problem *p;

    if (!r)
        return;
    if (r->count >= SG_CONFIG_MAX_PROBLEMS) {
        r->truncated = true;
        return;
    }
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        void *v = sg_arena_alloc_array(&r->arena, cap, sizeof(*p));
        if (!v)
            return;
        if (r->count)
            memcpy(v, r->v, r->count * sizeof(*p));
        r->v = v;
        r->cap = cap;
    }
    p = &r->v[r->count];
    p->severity = sev;
    p->code = code;
    p->file = file ? sg_arena_strdup(&r->arena, file) : NULL;
    p->line = line;
    p->col = col;
    p->msg = sg_arena_strdup(&r->arena, msg);
    if (!p->msg)
        return;
    r->count++;
    if (sev == SG_CONFIG_ERROR)
        r->errors++;
    else
        r->warnings++;
}

static int problem_v(struct sg_bind *b, enum sg_config_severity sev, int code, const char *file,
                     uint32_t line, uint32_t col, const char *fmt, va_list ap)
{
    char text[SG_ERR_MSG_MAX], line_buf[SG_ERR_MSG_MAX + 300];
    const char *sep = b->path_len ? ": " : "";

    const char *w = sev == SG_CONFIG_WARNING ? "warning: " : "";

    vsnprintf(text, sizeof(text), fmt, ap);
    if (file && line)
        snprintf(line_buf, sizeof(line_buf), "%s:%u:%u: %s%s%s%s", file, line, col, w, b->path, sep,
                 text);
    else
        snprintf(line_buf, sizeof(line_buf), "%s: %s%s%s%s", file ? file : b->file, w, b->path, sep,
                 text);
    if (sev == SG_CONFIG_ERROR) {
        if (b->rc == SG_OK)
            b->rc = code;
        if (b->err && b->err->code == SG_OK) {
            b->err->code = code;
            b->err->line = line;
            b->err->col = col;
            size_t l = strnlen(line_buf, sizeof(b->err->msg) - 1);
            memcpy(b->err->msg, line_buf, l);
            b->err->msg[l] = '\0';
        }
    }
    b->problems++;
    report_add(b, sev, code, file, line, col, line_buf);
    return code;
}

int sg_bind_problem_at(struct sg_bind *b, enum sg_config_severity sev, int code, const char *file,
                       uint32_t line, uint32_t col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    problem_v(b, sev, code, file, line, col, fmt, ap);
    va_end(ap);
    return code;
}

int sg_bind_error(struct sg_bind *b, int code, const struct sg_yaml_node *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    problem_v(b, SG_CONFIG_ERROR, code, n ? n->file : b->file, n ? n->line : 0, n ? n->col : 0, fmt,
              ap);
    va_end(ap);
    return code;
}

void sg_bind_warn(struct sg_bind *b, const struct sg_yaml_node *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    problem_v(b, SG_CONFIG_WARNING, SG_OK, n ? n->file : b->file, n ? n->line : 0, n ? n->col : 0,
              fmt, ap);
    va_end(ap);
}

int sg_bind_oom(struct sg_bind *b)
{
    if (b->rc == SG_ENOMEM)
        return SG_ENOMEM;
    return sg_bind_error(b, SG_ENOMEM, NULL, "out of memory");
}

/* ---- paths for messages ------------------------------------------------------- */

size_t sg_bind_push(struct sg_bind *b, const char *key)
{
    size_t mark = b->path_len;
    int n = snprintf(b->path + b->path_len, sizeof(b->path) - b->path_len, "%s%s",
                     b->path_len ? "." : "", key);

    if (n > 0)
        b->path_len = strnlen(b->path, sizeof(b->path));
    return mark;
}

size_t sg_bind_push_index(struct sg_bind *b, size_t i)
{
    size_t mark = b->path_len;
    int n = snprintf(b->path + b->path_len, sizeof(b->path) - b->path_len, "[%zu]", i);

    if (n > 0)
        b->path_len = strnlen(b->path, sizeof(b->path));
    return mark;
}

void sg_bind_pop(struct sg_bind *b, size_t mark)
{
    b->path_len = mark;
    b->path[mark] = '\0';
}

void sg_bind_set_pos(struct sg_bind *b, const struct sg_yaml_node *n, struct sg_config_pos *pos)
{
    pos->file = n ? n->file : b->file;
    pos->line = n ? n->line : 0;
    pos->col = n ? n->col : 0;
}

/* ---- scalar helpers ------------------------------------------------------------ */

static const char *article_kind(enum sg_yaml_kind k)
{
    switch (k) {
    case SG_YAML_SCALAR:
        return "a scalar";
    case SG_YAML_SEQ:
        return "a sequence";
    case SG_YAML_MAP:
        return "a mapping";
    }
    return "a node";
}

bool sg_bind_scalar(struct sg_bind *b, const struct sg_yaml_node *n, const char *what)
{
    if (n->kind == SG_YAML_SCALAR)
        return true;
    sg_bind_error(b, SG_EINVAL, n, "expected %s, got %s", what, article_kind(n->kind));
    return false;
}

/* Plain (unquoted) scalars only: a quoted "true" is a string, not a bool. */
static bool plain_scalar(struct sg_bind *b, const struct sg_yaml_node *n, const char *what)
{
    if (!sg_bind_scalar(b, n, what))
        return false;
    if (n->style != SG_YAML_PLAIN) {
        sg_bind_error(b, SG_EINVAL, n, "expected %s, got a quoted string", what);
        return false;
    }
    return true;
}

const char *sg_bind_resolve(struct sg_bind *b, const char *p)
{
    char *tmp = sg_fs_resolve(b->file, p);
    const char *out;

    if (!tmp) {
        sg_bind_oom(b);
        return NULL;
    }
    out = sg_arena_strdup(b->a, tmp);
    sg_free(tmp);
    if (!out)
        sg_bind_oom(b);
    return out;
}

bool sg_bind_check_url(struct sg_bind *b, const struct sg_yaml_node *n, const char *url)
{
    const char *host;
    size_t hl;

    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            sg_bind_error(b, SG_EINVAL, n,
                          "invalid URL: contains whitespace or control characters");
            return false;
        }
    }
    if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else {
        sg_bind_error(b, SG_EINVAL, n, "invalid URL: the scheme must be http or https");
        return false;
    }
    hl = strcspn(host, "/?#");
    if (memchr(host, '@', hl)) {
        const char *at = memchr(host, '@', hl);
        hl -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    if (hl == 0 || host[0] == ':') {
        sg_bind_error(b, SG_EINVAL, n, "invalid URL: no host");
        return false;
    }
    return true;
}

static bool parse_bool(struct sg_str s, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};

    for (size_t i = 0; i < SG_ARRAY_LEN(yes); i++) {
        if (sg_str_eq_c(s, yes[i])) {
            *out = true;
            return true;
        }
        if (sg_str_eq_c(s, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_uint(struct sg_str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0 || s.len > 20)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
        if (v > (max - (uint64_t)(s.ptr[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(s.ptr[i] - '0');
    }
    *out = v;
    return true;
}

int sg_config_parse_size(struct sg_str s, uint64_t *out, struct sg_err *err)
{
    static const struct {
        const char *unit;
        unsigned shift;
    } units[] = {{"", 0},     {"B", 0},   {"KB", 10},  {"KiB", 10}, {"MB", 20},
                 {"MiB", 20}, {"GB", 30}, {"GiB", 30}, {"TB", 40},  {"TiB", 40}};
    size_t i = 0;
    uint64_t n;

    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
        i++;
    if (i == 0 || !parse_uint(sg_str_make(s.ptr, i), UINT64_MAX, &n))
        goto bad;
    for (size_t u = 0; u < SG_ARRAY_LEN(units); u++) {
        if (sg_str_eq_c(sg_str_make(s.ptr + i, s.len - i), units[u].unit)) {
            if (units[u].shift && n > (UINT64_MAX >> units[u].shift))
                goto bad;
            *out = n << units[u].shift;
            return SG_OK;
        }
    }
bad:
    return sg_err_set(err, SG_EINVAL,
                      "not a valid size: \"%.*s\" (want an integer with an optional unit B, KiB, "
                      "MiB, GiB, TiB)",
                      (int)(s.len > 64 ? 64 : s.len), s.ptr);
}

int sg_config_parse_trip_after(struct sg_str s, uint32_t *m, uint32_t *n, struct sg_err *err)
{
    size_t i = 0, a0, a1, b0;
    uint64_t mv, nv;

    while (i < s.len && s.ptr[i] == ' ')
        i++;
    a0 = i;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
        i++;
    a1 = i;
    if (a1 == a0 || i >= s.len || s.ptr[i] != ' ')
        goto bad;
    while (i < s.len && s.ptr[i] == ' ')
        i++;
    if (s.len - i < 2 || memcmp(s.ptr + i, "of", 2) != 0)
        goto bad;
    i += 2;
    if (i >= s.len || s.ptr[i] != ' ')
        goto bad;
    while (i < s.len && s.ptr[i] == ' ')
        i++;
    b0 = i;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9')
        i++;
    if (i == b0)
        goto bad;
    if (!parse_uint(sg_str_make(s.ptr + a0, a1 - a0), 1000000, &mv) ||
        !parse_uint(sg_str_make(s.ptr + b0, i - b0), 1000000, &nv))
        goto bad;
    while (i < s.len && s.ptr[i] == ' ')
        i++;
    if (i != s.len)
        goto bad;
    if (mv < 1 || nv > 100 || mv > nv)
        return sg_err_set(err, SG_EINVAL, "trip_after \"%.*s\": need 1 <= M <= N <= 100",
                          (int)(s.len > 64 ? 64 : s.len), s.ptr);
    *m = (uint32_t)mv;
    *n = (uint32_t)nv;
    return SG_OK;
bad:
    return sg_err_set(err, SG_EINVAL, "trip_after \"%.*s\": want \"M of N\", e.g. \"3 of 5\"",
                      (int)(s.len > 64 ? 64 : s.len), s.ptr);
}

bool sg_config_listen_is_loopback(const char *addr)
{
    const char *colon;
    size_t hl;
    char host[256];

    if (!addr)
        return false;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end)
            return false;
        hl = (size_t)(end - addr - 1);
        if (hl >= sizeof(host))
            return false;
        memcpy(host, addr + 1, hl);
    } else {
        colon = strrchr(addr, ':');
        hl = colon ? (size_t)(colon - addr) : strlen(addr);
        if (hl >= sizeof(host))
            return false;
        memcpy(host, addr, hl);
    }
    host[hl] = '\0';
    if (hl == 0)
        return false;
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
        strcmp(host, "0:0:0:0:0:0:0:1") == 0)
        return true;
    if (strncmp(host, "127.", 4) == 0) {
        /* 127.a.b.c with decimal octets */
        unsigned parts = 2; /* "127" and what follows the first dot */
        for (const char *p = host + 4; *p; p++) {
            if (*p == '.')
                parts++;
            else if (!isdigit((unsigned char)*p))
                return false;
        }
        return parts == 4;
    }
    return false;
}

/* ---- binding ----------------------------------------------------------------- */

static const struct sg_field *find_field(const struct sg_field *t, struct sg_str key)
{
    for (; t && t->key; t++) {
        if (sg_str_eq_c(key, t->key))
            return t;
    }
    return NULL;
}

static const char *scalar_str(struct sg_bind *b, const struct sg_yaml_node *n, unsigned flags)
{
    const char *s;

    if (!sg_bind_scalar(b, n, "a string"))
        return NULL;
    if (n->value.len == 0) {
        sg_bind_error(b, SG_EINVAL, n, "must not be empty");
        return NULL;
    }
    if (memchr(n->value.ptr, '\0', n->value.len)) {
        sg_bind_error(b, SG_EINVAL, n, "must not contain a NUL character");
        return NULL;
    }
    (void)flags;
    s = sg_arena_strndup(b->a, n->value.ptr, n->value.len);
    if (!s)
        sg_bind_oom(b);
    return s;
}

static int kv_cmp(const void *x, const void *y)
{
    const struct sg_config_kv *a = x, *c = y;
    return strcmp(a->name, c->name);
}

static bool label_name_ok(struct sg_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* RFC 7230 token characters. */
static bool header_name_ok(struct sg_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return true;
}

static bool reserved_header(struct sg_str s)
{
    static const char *const names[] = {
        "authorization",
        "host",
        "content-encoding",
        "content-length",
        "content-type",
        "user-agent",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "www-authenticate",
        "accept-encoding",
        "transfer-encoding",
        "x-prometheus-remote-write-version",
        "x-prometheus-remote-read-version",
    };
    for (size_t i = 0; i < SG_ARRAY_LEN(names); i++) {
        if (strlen(names[i]) == s.len && strncasecmp(names[i], s.ptr, s.len) == 0)
            return true;
    }
    return false;
}

/* A string map, merged over *map (a new array: the old one may be shared
 * with the global remote_read). */
static void bind_map(struct sg_bind *b, const struct sg_yaml_node *n, struct sg_config_map *map,
                     bool labels, bool headers)
{
    struct sg_config_kv *v;
    size_t count = map->count;

    if (n->kind != SG_YAML_MAP) {
        sg_bind_error(b, SG_EINVAL, n, "expected a mapping, got %s", article_kind(n->kind));
        return;
    }
    v = sg_arena_alloc_array(b->a, map->count + n->count + 1, sizeof(*v));
    if (!v) {
        sg_bind_oom(b);
        return;
    }
    if (map->count)
        memcpy(v, map->v, map->count * sizeof(*v));
    for (size_t i = 0; i < n->count; i++) {
        const struct sg_yaml_node *k = n->pairs[i].key, *val = n->pairs[i].value;
        const char *ks, *vs;
        size_t j;

        if (k->kind != SG_YAML_SCALAR) {
            sg_bind_error(b, SG_EINVAL, k, "keys must be strings");
            continue;
        }
        if (labels && !label_name_ok(k->value)) {
            sg_bind_error(b, SG_EINVAL, k, "invalid label name \"%.*s\"",
                          (int)(k->value.len > 64 ? 64 : k->value.len), k->value.ptr);
            continue;
        }
        if (headers) {
            if (!header_name_ok(k->value)) {
                sg_bind_error(b, SG_EINVAL, k, "invalid header name \"%.*s\"",
                              (int)(k->value.len > 64 ? 64 : k->value.len), k->value.ptr);
                continue;
            }
            if (reserved_header(k->value)) {
                sg_bind_error(b, SG_EINVAL, k,
                              "header \"%.*s\" is set by stopgate and cannot be configured%s",
                              (int)(k->value.len > 64 ? 64 : k->value.len), k->value.ptr,
                              strncasecmp(k->value.ptr, "authorization", k->value.len) == 0
                                  ? " (use bearer_token_file or basic_auth)"
                                  : "");
                continue;
            }
        }
        if (val->kind != SG_YAML_SCALAR) {
            sg_bind_error(b, SG_EINVAL, val, "expected a string, got %s", article_kind(val->kind));
            continue;
        }
        if (headers && (memchr(val->value.ptr, '\r', val->value.len) ||
                        memchr(val->value.ptr, '\n', val->value.len) ||
                        memchr(val->value.ptr, '\0', val->value.len))) {
            sg_bind_error(b, SG_EINVAL, val, "header values must not contain CR, LF or NUL");
            continue;
        }
        if (memchr(val->value.ptr, '\0', val->value.len)) {
            sg_bind_error(b, SG_EINVAL, val, "must not contain a NUL character");
            continue;
        }
        ks = sg_arena_strndup(b->a, k->value.ptr, k->value.len);
        vs = sg_arena_strndup(b->a, val->value.ptr, val->value.len);
        if (!ks || !vs) {
            sg_bind_oom(b);
            return;
        }
        for (j = 0; j < count; j++) {
            bool same = headers ? strcasecmp(v[j].name, ks) == 0 : strcmp(v[j].name, ks) == 0;
            if (same)
                break;
        }
        v[j].name = ks;
        v[j].value = vs;
        if (j == count)
            count++;
    }
    if (labels && count > 1)
        qsort(v, count, sizeof(*v), kv_cmp);
    map->v = v;
    map->count = count;
}

/* A list field's node: a sequence of at most MAX_LIST_ITEMS items; false
 * after reporting anything else. */
static bool list_ok(struct sg_bind *b, const struct sg_yaml_node *n)
{
    if (n->kind != SG_YAML_SEQ) {
        sg_bind_error(b, SG_EINVAL, n, "expected a sequence, got %s", article_kind(n->kind));
        return false;
    }
    if (n->count > MAX_LIST_ITEMS) {
        sg_bind_error(b, SG_ELIMIT, n, "more than %u items", MAX_LIST_ITEMS);
        return false;
    }
    return true;
}

static void bind_strlist(struct sg_bind *b, const struct sg_field *f, const struct sg_yaml_node *n,
                         void *obj)
{
    const char ***out = (const char ***)((char *)obj + f->off);
    size_t *count = (size_t *)((char *)obj + f->aux_off);
    const char **v;
    size_t k = 0;

    if (!list_ok(b, n))
        return;
    v = sg_arena_alloc_array(b->a, n->count + 1, sizeof(*v));
    if (!v) {
        sg_bind_oom(b);
        return;
    }
    for (size_t i = 0; i < n->count; i++) {
        size_t mark = sg_bind_push_index(b, i);
        const char *s = scalar_str(b, n->items[i], f->flags);
        if (s && f->type == SG_FT_URLLIST && !sg_bind_check_url(b, n->items[i], s))
            s = NULL;
        if (s)
            v[k++] = s;
        sg_bind_pop(b, mark);
    }
    *out = v;
    *count = k;
}

static void bind_list(struct sg_bind *b, const struct sg_field *f, const struct sg_yaml_node *n,
                      void *obj)
{
    const struct sg_schema *s = f->ext;
    void **out = (void **)((char *)obj + f->off);
    size_t *count = (size_t *)((char *)obj + f->aux_off);
    char *v;

    if (!list_ok(b, n))
        return;
    v = sg_arena_alloc_array(b->a, n->count + 1, s->size);
    if (!v) {
        sg_bind_oom(b);
        return;
    }
    for (size_t i = 0; i < n->count; i++) {
        size_t mark = sg_bind_push_index(b, i);
        void *el = v + i * s->size;
        if (s->init)
            s->init(b, el);
        if (n->items[i]->kind != SG_YAML_MAP)
            sg_bind_error(b, SG_EINVAL, n->items[i], "expected a mapping, got %s",
                          article_kind(n->items[i]->kind));
        else
            sg_bind_map(b, n->items[i], n->items[i], s, el);
        sg_bind_pop(b, mark);
    }
    *out = v;
    *count = n->count;
}

static void bind_field(struct sg_bind *b, const struct sg_field *f, const struct sg_yaml_node *n,
                       void *obj)
{
    void *p = (char *)obj + f->off;

    switch (f->type) {
    case SG_FT_STRING:
    case SG_FT_PATH:
    case SG_FT_URL: {
        const char *s = scalar_str(b, n, f->flags);
        if (!s)
            return;
        if (f->type == SG_FT_PATH)
            s = sg_bind_resolve(b, s);
        else if (f->type == SG_FT_URL && !sg_bind_check_url(b, n, s))
            return;
        if (s)
            *(const char **)p = s;
        break;
    }
    case SG_FT_DURATION:
    case SG_FT_SIZE: {
        bool is_dur = f->type == SG_FT_DURATION;
        struct sg_err e;
        int64_t ms = 0;
        uint64_t v = 0;
        int rc;
        sg_err_clear(&e);
        if (!plain_scalar(b, n, is_dur ? "a duration" : "a size"))
            return;
        rc = is_dur ? sg_duration_parse(n->value, &ms, &e) : sg_config_parse_size(n->value, &v, &e);
        if (rc != SG_OK) {
            sg_bind_error(b, SG_EINVAL, n, "%s", e.msg);
            return;
        }
        if ((f->flags & SG_F_POSITIVE) && (is_dur ? ms <= 0 : v == 0)) {
            sg_bind_error(b, SG_EINVAL, n, "must be greater than 0");
            return;
        }
        if (is_dur)
            *(int64_t *)p = ms;
        else
            *(uint64_t *)p = v;
        break;
    }
    case SG_FT_UINT: {
        uint64_t v;
        if (!plain_scalar(b, n, "an integer"))
            return;
        if (!parse_uint(n->value, UINT32_MAX, &v) || v < f->min || v > f->max) {
            sg_bind_error(b, SG_EINVAL, n, "want an integer from %u to %u, got \"%.*s\"", f->min,
                          f->max, (int)(n->value.len > 32 ? 32 : n->value.len), n->value.ptr);
            return;
        }
        *(uint32_t *)p = (uint32_t)v;
        break;
    }
    case SG_FT_BOOL: {
        bool v;
        if (!plain_scalar(b, n, "a boolean"))
            return;
        if (!parse_bool(n->value, &v)) {
            sg_bind_error(b, SG_EINVAL, n, "want true or false, got \"%.*s\"",
                          (int)(n->value.len > 32 ? 32 : n->value.len), n->value.ptr);
            return;
        }
        *(bool *)p = v;
        break;
    }
    case SG_FT_ENUM: {
        const struct sg_enum_name *e = f->ext;
        char list[200];
        size_t used = 0;
        if (!sg_bind_scalar(b, n, "a string"))
            return;
        for (; e->name; e++) {
            if (sg_str_eq_c(n->value, e->name)) {
                *(int *)p = e->value;
                return;
            }
            used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
                                     e->name);
            if (used >= sizeof(list))
                used = sizeof(list) - 1;
        }
        sg_bind_error(b, SG_EINVAL, n, "unknown value \"%.*s\" (want one of: %s)",
                      (int)(n->value.len > 32 ? 32 : n->value.len), n->value.ptr, list);
        return;
    }
    case SG_FT_STRMAP:
    case SG_FT_LABELMAP:
        bind_map(b, n, p, f->type == SG_FT_LABELMAP, (f->flags & SG_F_HEADERS) != 0);
        break;
    case SG_FT_STRLIST:
    case SG_FT_URLLIST:
        bind_strlist(b, f, n, obj);
        break;
    case SG_FT_SUB:
        if (n->kind != SG_YAML_MAP) {
            sg_bind_error(b, SG_EINVAL, n, "expected a mapping, got %s", article_kind(n->kind));
            return;
        }
        sg_bind_map(b, n, n, f->ext, p);
        break;
    case SG_FT_LIST:
        bind_list(b, f, n, obj);
        break;
    case SG_FT_CUSTOM:
        f->fn(b, n, p, obj);
        break;
    }
    if (f->flags & SG_F_HAS)
        *(bool *)((char *)obj + f->aux_off) = true;
}

void sg_bind_map(struct sg_bind *b, const struct sg_yaml_node *n, const struct sg_yaml_node *parent,
                 const struct sg_schema *s, void *obj)
{
    const struct sg_field *extra = NULL;
    const struct sg_field *tables[2];

    if (n && n->kind != SG_YAML_MAP) {
        sg_bind_error(b, SG_EINVAL, n, "expected a mapping, got %s", article_kind(n->kind));
        return;
    }
    if (n && s->extra)
        extra = s->extra(b, n, obj);
    tables[0] = s->fields;
    tables[1] = extra;
    /* 1. unknown keys */
    for (size_t i = 0; n && i < n->count; i++) {
        const struct sg_yaml_node *k = n->pairs[i].key;
        if (k->kind != SG_YAML_SCALAR) {
            sg_bind_error(b, SG_EINVAL, k, "keys must be strings");
            continue;
        }
        if (!find_field(s->fields, k->value) && !find_field(extra, k->value))
            sg_bind_error(b, SG_EINVAL, k, "unknown field \"%.*s\"",
                          (int)(k->value.len > 64 ? 64 : k->value.len), k->value.ptr);
    }
    /* 2. and 3. fields in table order */
    for (size_t t = 0; t < 2; t++) {
        for (const struct sg_field *f = tables[t]; f && f->key; f++) {
            const struct sg_yaml_node *v = n ? sg_yaml_get(n, f->key) : NULL;
            size_t mark;

            if (!v || sg_yaml_is_null(v)) {
                if (f->flags & SG_F_REQUIRED)
                    sg_bind_error(b, SG_EINVAL, n ? n : parent, "missing required field \"%s\"",
                                  f->key);
                continue;
            }
            mark = sg_bind_push(b, f->key);
            bind_field(b, f, v, obj);
            sg_bind_pop(b, mark);
        }
    }
    /* 4. cross-field checks */
    if (s->check)
        s->check(b, n ? n : parent, obj);
}

static int problem_cmp(const void *x, const void *y)
{
    const struct sg_config_problem *a = x, *c = y;

    if (a->line != c->line)
        return a->line < c->line ? -1 : 1;
    if (a->col != c->col)
        return a->col < c->col ? -1 : 1;
    return 0; /* same place: the sort is stable, so they keep the order found */
}

/* Problems of one file in file order (line, then column). Insertion sort:
 * stable, and reports are short. */
static void sort_report(struct sg_config_report *r, size_t start)
{
    if (!r)
        return;
    for (size_t i = start + 1; i < r->count; i++) {
        struct sg_config_problem p = r->v[i];
        size_t j = i;
        while (j > start && problem_cmp(&r->v[j - 1], &p) > 0) {
            r->v[j] = r->v[j - 1];
            j--;
        }
        r->v[j] = p;
    }
}

/* ---- public API ---------------------------------------------------------------- */

void sg_config_free(struct sg_config *cfg)
{
    if (!cfg)
        return;
    sg_arena_cleanup(&cfg->arena);
    sg_free(cfg);
}

int sg_config_parse(struct sg_str text, const char *path, unsigned flags, struct sg_config **out,
                    struct sg_config_report *report, struct sg_err *err)
{
    struct sg_config_opts o;

    memset(&o, 0, sizeof(o));
    o.flags = flags;
    return sg_config_parse_opts(text, path, &o, out, report, err);
}

int sg_config_parse_opts(struct sg_str text, const char *path, const struct sg_config_opts *opts,
                         struct sg_config **out, struct sg_config_report *report,
                         struct sg_err *err)
{
    static const struct sg_config_opts none;
    struct sg_config *cfg;
    struct sg_yaml_node *root = NULL;
    struct sg_bind b;
    struct sg_err yerr;
    size_t report_start = report ? report->count : 0;
    int rc;

    cfg = sg_calloc(1, sizeof(*cfg));
    if (!cfg)
        return sg_err_set(err, SG_ENOMEM, "%s: out of memory", path);
    sg_arena_init(&cfg->arena, CONFIG_ARENA_MAX);
    memset(&b, 0, sizeof(b));
    b.cfg = cfg;
    b.a = &cfg->arena;
    b.opts = opts ? opts : &none;
    b.flags = b.opts->flags;
    b.report = report;
    b.err = err;
    b.file = sg_arena_strdup(&cfg->arena, path);
    if (!b.file) {
        rc = sg_err_set(err, SG_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    cfg->path = b.file;
    sg_err_clear(&yerr);
    rc = sg_yaml_parse(text, b.file, &cfg->arena, NULL, &root, &yerr);
    if (rc != SG_OK) {
        /* the YAML message already reads "FILE:LINE:COL: ..." */
        if (err)
            *err = yerr;
        report_add(&b, SG_CONFIG_ERROR, rc, b.file, yerr.line, yerr.col, yerr.msg);
        goto out;
    }
    if (root && sg_yaml_is_null(root))
        root = NULL;
    if (sg_config_schema.init)
        sg_config_schema.init(&b, cfg);
    sg_bind_map(&b, root, NULL, &sg_config_schema, cfg);
    rc = b.rc;
    sort_report(report, report_start);
out:
    if (rc != SG_OK) {
        sg_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return SG_OK;
}

int sg_config_load_file_ex(const char *path, unsigned flags, struct sg_config **out,
                           struct sg_config_report *report, struct sg_err *err)
{
    struct sg_config_opts o;

    memset(&o, 0, sizeof(o));
    o.flags = flags;
    return sg_config_load_file_opts(path, &o, out, report, err);
}

int sg_config_load_file_opts(const char *path, const struct sg_config_opts *opts,
                             struct sg_config **out, struct sg_config_report *report,
                             struct sg_err *err)
{
    struct sg_buf text;
    struct sg_err e;
    int rc;

    sg_buf_init(&text, SG_CONFIG_MAX_BYTES);
    sg_err_clear(&e);
    rc = sg_fs_read_all(path, SG_CONFIG_MAX_BYTES, &text, &e);
    if (rc != SG_OK) {
        if (report) {
            struct sg_bind b;
            memset(&b, 0, sizeof(b));
            b.report = report;
            b.file = path;
            report_add(&b, SG_CONFIG_ERROR, rc, NULL, 0, 0, e.msg);
        }
        if (err && err->code == SG_OK)
            *err = e;
        goto out;
    }
    rc = sg_config_parse_opts(sg_buf_view(&text), path, opts, out, report, err);
out:
    sg_buf_cleanup(&text);
    return rc;
}

int sg_config_load_file(const char *path, struct sg_config **out, struct sg_err *err)
{
    return sg_config_load_file_ex(path, 0, out, NULL, err);
}

const struct sg_release_config *sg_config_release(const struct sg_config *cfg, struct sg_str name)
{
    for (size_t i = 0; cfg && i < cfg->releases_count; i++) {
        if (sg_str_eq_c(name, cfg->releases[i].name))
            return &cfg->releases[i];
    }
    return NULL;
}

const char *sg_action_kind_name(enum sg_action_kind k)
{
    switch (k) {
    case SG_ACTION_NOTIFY:
        return "notify";
    case SG_ACTION_PAUSE:
        return "pause";
    case SG_ACTION_ROLLBACK:
        return "rollback";
    }
    return "unknown";
}

const char *sg_notifier_type_name(enum sg_notifier_type t)
{
    switch (t) {
    case SG_NOTIFIER_SLACK:
        return "slack";
    case SG_NOTIFIER_MATTERMOST:
        return "mattermost";
    case SG_NOTIFIER_MSTEAMS:
        return "msteams";
    case SG_NOTIFIER_GOOGLECHAT:
        return "googlechat";
    case SG_NOTIFIER_DISCORD:
        return "discord";
    case SG_NOTIFIER_WEBHOOK:
        return "webhook";
    case SG_NOTIFIER_ALERTMANAGER:
        return "alertmanager";
    }
    return "unknown";
}
