/* src/config/schema.c - the config's field tables, defaults and cross-field
 * checks (SPEC.md "Config").
 *
 * One table per section, bound by the engine in config.c. Notifiers have a
 * common table plus one per type, chosen by the `type:` key. Cross-field
 * checks point at the node that is wrong. This file reads the filesystem
 * only to expand rule_files globs (skipped with SG_CONFIG_NO_FS).
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "stopgate/labels.h"

#define MAX_RULE_PATHS 10000u

#define FIELD_END                                                                                  \
    {                                                                                              \
        NULL, 0, 0, 0, 0, NULL, 0, 0, NULL                                                         \
    }

static const char *default_env[] = {
    "PATH",
    "HOME",
    "USER",
    "KUBECONFIG",
    "HELM_CACHE_HOME",
    "HELM_CONFIG_HOME",
    "HELM_DATA_HOME",
    "HELM_DRIVER",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
};

/* ---- small validators ------------------------------------------------------------ */

/* DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool dns_label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

/* Helm release names: DNS-1123 subdomain, at most 53 characters. */
static bool release_name_ok(const char *s)
{
    size_t n = strlen(s), start = 0;

    if (n == 0 || n > 53)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!dns_label_ok(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

static bool env_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (p > s && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* ".a.b-c[0].d": segments ".key" (key of [A-Za-z0-9_-]) and "[N]". */
static bool values_path_ok(const char *s)
{
    const char *p = s;

    if (*p != '.')
        return false;
    while (*p) {
        if (*p == '.') {
            const char *k = ++p;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
                p++;
            if (p == k)
                return false;
        } else if (*p == '[') {
            const char *d = ++p;
            while (*p >= '0' && *p <= '9')
                p++;
            if (p == d || *p != ']')
                return false;
            p++;
        } else {
            return false;
        }
    }
    return true;
}

static bool has_glob_meta(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* The value node of key, or the key's mapping when absent. */
static const struct sg_yaml_node *at(const struct sg_yaml_node *map, const char *key)
{
    const struct sg_yaml_node *v = sg_yaml_get(map, key);
    return v && !sg_yaml_is_null(v) ? v : map;
}

/* ---- remote_read ----------------------------------------------------------------- */

static const struct sg_enum_name response_types[] = {
    {"auto", SG_RR_RESPONSE_AUTO},
    {"streamed", SG_RR_RESPONSE_STREAMED},
    {"samples", SG_RR_RESPONSE_SAMPLES},
    {NULL, 0},
};

static void tls_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_tls_config *t = obj;
    const struct sg_yaml_node *v = sg_yaml_get(n, "insecure_skip_verify");

    if (!t->cert_file != !t->key_file)
        sg_bind_error(b, SG_EINVAL, n, "cert_file and key_file must be given together");
    if (v && t->insecure_skip_verify)
        sg_bind_warn(b, v, "insecure_skip_verify: TLS certificates are not verified");
}

static const struct sg_field tls_fields[] = {
    {"ca_file", SG_FT_PATH, offsetof(struct sg_tls_config, ca_file), 0, 0, NULL, 0, 0, NULL},
    {"cert_file", SG_FT_PATH, offsetof(struct sg_tls_config, cert_file), 0, 0, NULL, 0, 0, NULL},
    {"key_file", SG_FT_PATH, offsetof(struct sg_tls_config, key_file), SG_F_SECRET, 0, NULL, 0, 0,
     NULL},
    {"server_name", SG_FT_STRING, offsetof(struct sg_tls_config, server_name), 0, 0, NULL, 0, 0,
     NULL},
    {"insecure_skip_verify", SG_FT_BOOL, offsetof(struct sg_tls_config, insecure_skip_verify), 0, 0,
     NULL, 0, 0, NULL},
    FIELD_END,
};
static const struct sg_schema tls_schema = {tls_fields, sizeof(struct sg_tls_config), NULL,
                                            tls_check, NULL};

static const struct sg_field basic_auth_fields[] = {
    {"username", SG_FT_STRING, offsetof(struct sg_basic_auth, username), SG_F_REQUIRED, 0, NULL, 0,
     0, NULL},
    {"password_file", SG_FT_PATH, offsetof(struct sg_basic_auth, password_file),
     SG_F_REQUIRED | SG_F_SECRET, 0, NULL, 0, 0, NULL},
    FIELD_END,
};
static const struct sg_schema basic_auth_schema = {basic_auth_fields, sizeof(struct sg_basic_auth),
                                                   NULL, NULL, NULL};

static void retries_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_retries *r = obj;

    if (r->min_backoff_ms > r->max_backoff_ms)
        sg_bind_error(b, SG_EINVAL, at(n, "min_backoff"),
                      "min_backoff must not be greater than max_backoff");
}

static const struct sg_field retries_fields[] = {
    {"max", SG_FT_UINT, offsetof(struct sg_retries, max), 0, 0, NULL, 0, 10, NULL},
    {"min_backoff", SG_FT_DURATION, offsetof(struct sg_retries, min_backoff_ms), 0, 0, NULL, 0, 0,
     NULL},
    {"max_backoff", SG_FT_DURATION, offsetof(struct sg_retries, max_backoff_ms), 0, 0, NULL, 0, 0,
     NULL},
    FIELD_END,
};
static const struct sg_schema retries_schema = {retries_fields, sizeof(struct sg_retries), NULL,
                                                retries_check, NULL};

static void remote_read_defaults(struct sg_remote_read_config *r)
{
    memset(r, 0, sizeof(*r));
    r->timeout_ms = 10000;
    r->response_type = SG_RR_RESPONSE_AUTO;
    r->max_response_bytes = 1ull << 30;
    r->max_frame_bytes = 64ull << 20;
    r->max_samples = 50000000;
    r->retries.max = 3;
    r->retries.min_backoff_ms = 500;
    r->retries.max_backoff_ms = 10000;
}

static void remote_read_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_remote_read_config *r = obj;

    /* Only one Authorization header can be sent. Prometheus refuses both;
     * SPEC.md's example lists both as options, so this is a warning and the
     * bearer token wins. Warned where the section sets one of them, so a
     * release's override does not repeat the global warning. */
    if (r->bearer_token_file && r->has_basic_auth &&
        (sg_yaml_get(n, "bearer_token_file") || sg_yaml_get(n, "basic_auth")))
        sg_bind_warn(b, n,
                     "bearer_token_file and basic_auth are both set; the bearer token is "
                     "sent and basic_auth is ignored");
    if (r->max_frame_bytes > r->max_response_bytes)
        sg_bind_error(b, SG_EINVAL, at(n, "max_frame_bytes"),
                      "max_frame_bytes must not be greater than max_response_bytes");
}

#define RR(f) offsetof(struct sg_remote_read_config, f)
static const struct sg_field remote_read_fields[] = {
    {"url", SG_FT_URL, RR(url), 0, 0, NULL, 0, 0, NULL},
    {"timeout", SG_FT_DURATION, RR(timeout_ms), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    {"response_type", SG_FT_ENUM, RR(response_type), 0, 0, response_types, 0, 0, NULL},
    {"bearer_token_file", SG_FT_PATH, RR(bearer_token_file), SG_F_SECRET, 0, NULL, 0, 0, NULL},
    {"basic_auth", SG_FT_SUB, RR(basic_auth), SG_F_HAS, RR(has_basic_auth), &basic_auth_schema, 0,
     0, NULL},
    {"headers", SG_FT_STRMAP, RR(headers), SG_F_HEADERS, 0, NULL, 0, 0, NULL},
    {"tls_config", SG_FT_SUB, RR(tls), 0, 0, &tls_schema, 0, 0, NULL},
    {"external_labels", SG_FT_LABELMAP, RR(external_labels), 0, 0, NULL, 0, 0, NULL},
    {"max_response_bytes", SG_FT_SIZE, RR(max_response_bytes), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    {"max_frame_bytes", SG_FT_SIZE, RR(max_frame_bytes), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    {"max_samples", SG_FT_UINT, RR(max_samples), 0, 0, NULL, 1, UINT32_MAX, NULL},
    {"retries", SG_FT_SUB, RR(retries), 0, 0, &retries_schema, 0, 0, NULL},
    FIELD_END,
};
#undef RR
static const struct sg_schema remote_read_schema = {
    remote_read_fields, sizeof(struct sg_remote_read_config), NULL, remote_read_check, NULL};

/* ---- web --------------------------------------------------------------------------- */

static void bind_listen(struct sg_bind *b, const struct sg_yaml_node *n, void *field, void *obj)
{
    const char *s, *port;
    size_t hl;
    uint64_t pv = 0;

    (void)obj;
    if (!sg_bind_scalar(b, n, "a string"))
        return;
    s = n->value.ptr;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':') {
            sg_bind_error(b, SG_EINVAL, n, "want HOST:PORT or [IPv6]:PORT, got \"%.*s\"",
                          (int)(n->value.len > 64 ? 64 : n->value.len), s);
            return;
        }
        port = end + 2;
        hl = (size_t)(end - s - 1);
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s))) {
            sg_bind_error(b, SG_EINVAL, n, "want HOST:PORT or [IPv6]:PORT, got \"%.*s\"",
                          (int)(n->value.len > 64 ? 64 : n->value.len), s);
            return;
        }
        port = colon + 1;
        hl = (size_t)(colon - s);
    }
    (void)hl;
    if (!*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) ||
        (pv = strtoull(port, NULL, 10)) > 65535) {
        sg_bind_error(b, SG_EINVAL, n, "invalid port \"%s\"", port);
        return;
    }
    (void)pv;
    *(const char **)field = sg_arena_strndup(b->a, s, n->value.len);
    if (!*(const char **)field)
        sg_bind_oom(b);
}

#define WEB(f) offsetof(struct sg_web_config, f)
static const struct sg_field web_fields[] = {
    {"listen_address", SG_FT_CUSTOM, WEB(listen_address), 0, 0, NULL, 0, 0, bind_listen},
    {"token_file", SG_FT_PATH, WEB(token_file), SG_F_SECRET, 0, NULL, 0, 0, NULL},
    {"external_url", SG_FT_URL, WEB(external_url), 0, 0, NULL, 0, 0, NULL},
    {"read_timeout", SG_FT_DURATION, WEB(read_timeout_ms), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    {"max_body_bytes", SG_FT_SIZE, WEB(max_body_bytes), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    FIELD_END,
};
#undef WEB

static void web_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_web_config *w = obj;

    w->is_loopback = sg_config_listen_is_loopback(w->listen_address);
    if (!w->is_loopback && !w->token_file)
        sg_bind_error(b, SG_EINVAL, at(n, "listen_address"),
                      "listening on non-loopback address \"%s\" needs web.token_file",
                      w->listen_address);
    if (w->max_body_bytes > (64u << 20))
        sg_bind_error(b, SG_EINVAL, at(n, "max_body_bytes"), "must be at most 64MiB");
}
static const struct sg_schema web_schema = {web_fields, sizeof(struct sg_web_config), NULL,
                                            web_check, NULL};

/* ---- releases --------------------------------------------------------------------- */

static const struct sg_enum_name action_kinds[] = {
    {"notify", SG_ACTION_NOTIFY},
    {"pause", SG_ACTION_PAUSE},
    {"rollback", SG_ACTION_ROLLBACK},
    {NULL, 0},
};

static const struct sg_field threshold_fields[] = {
    {"after", SG_FT_UINT, offsetof(struct sg_config_threshold, after), 0, 0, NULL, 0, 1000000,
     NULL},
    {"do", SG_FT_ENUM, offsetof(struct sg_config_threshold, action), 0, 0, action_kinds, 0, 0,
     NULL},
    FIELD_END,
};
static const struct sg_schema threshold_schema = {
    threshold_fields, sizeof(struct sg_config_threshold), NULL, NULL, NULL};

static void bind_trip_after(struct sg_bind *b, const struct sg_yaml_node *n, void *field, void *obj)
{
    struct sg_route *r = obj;
    struct sg_err e;

    (void)field;
    if (!sg_bind_scalar(b, n, "a string like \"3 of 5\""))
        return;
    sg_err_clear(&e);
    if (sg_config_parse_trip_after(n->value, &r->trip_m, &r->trip_n, &e) != SG_OK)
        sg_bind_error(b, SG_EINVAL, n, "%s", e.msg);
}

static void route_init(struct sg_bind *b, void *obj)
{
    struct sg_route *r = obj;

    (void)b;
    r->action = SG_ACTION_NOTIFY;
    r->trip_m = r->trip_n = 1;
}

static void route_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_route *r = obj;
    const struct sg_yaml_node *re_map = sg_yaml_get(n, "match_re");

    sg_bind_set_pos(b, n, &r->pos);
    /* match_re values must compile as Prometheus/Alertmanager would
     * (RE2 syntax, fully anchored); the regex itself is built by its user */
    for (size_t i = 0; i < r->match_re.count; i++) {
        const struct sg_yaml_node *v = NULL;
        struct sg_regex *re = NULL;
        struct sg_err e;

        for (size_t k = 0; re_map && re_map->kind == SG_YAML_MAP && k < re_map->count; k++) {
            if (sg_str_eq_c(re_map->pairs[k].key->value, r->match_re.v[i].name))
                v = re_map->pairs[k].value;
        }
        sg_err_clear(&e);
        if (sg_regex_compile(sg_str_c(r->match_re.v[i].value), NULL, &re, &e) != SG_OK) {
            size_t mark = sg_bind_push(b, "match_re");
            sg_bind_error(b, e.code == SG_ENOMEM ? SG_ENOMEM : SG_EINVAL, v ? v : n,
                          "invalid regular expression for %s: %s", r->match_re.v[i].name, e.msg);
            sg_bind_pop(b, mark);
        }
        sg_regex_free(re);
    }
}

#define RT(f) offsetof(struct sg_route, f)
static const struct sg_field route_fields[] = {
    {"match", SG_FT_LABELMAP, RT(match), 0, 0, NULL, 0, 0, NULL},
    {"match_re", SG_FT_LABELMAP, RT(match_re), 0, 0, NULL, 0, 0, NULL},
    {"do", SG_FT_ENUM, RT(action), SG_F_REQUIRED, 0, action_kinds, 0, 0, NULL},
    {"trip_after", SG_FT_CUSTOM, 0, 0, 0, NULL, 0, 0, bind_trip_after},
    FIELD_END,
};
#undef RT
static const struct sg_schema route_schema = {route_fields, sizeof(struct sg_route), route_init,
                                              route_check, NULL};

#define RB(f) offsetof(struct sg_rollback_config, f)
static const struct sg_field rollback_fields[] = {
    {"require_schema_proof", SG_FT_BOOL, RB(require_schema_proof), 0, 0, NULL, 0, 0, NULL},
    {"schema_version_query", SG_FT_STRING, RB(schema_version_query), 0, 0, NULL, 0, 0, NULL},
    {"max_schema_values_path", SG_FT_STRING, RB(max_schema_values_path), 0, 0, NULL, 0, 0, NULL},
    {"timeout", SG_FT_DURATION, RB(timeout_ms), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    FIELD_END,
};
#undef RB

/* Run the caller's expression checker on a scalar and report where the
 * problem is in the file: exact for single-line plain and quoted scalars
 * (that are not changed by escapes), otherwise at the scalar's start with
 * the column inside the expression in the message. */
static void check_expr(struct sg_bind *b, const struct sg_yaml_node *n, const char *expr)
{
    struct sg_err e;
    const char *msg;
    bool exact;

    sg_err_clear(&e);
    if (b->opts->check_expr(b->opts->check_expr_arg, expr, &e) == SG_OK)
        return;
    msg = e.msg;
    /* drop the checker's own "NAME:LINE:COL: " */
    if (e.line && strstr(msg, ": ")) {
        const char *p = msg;
        for (int colons = 0; *p && colons < 3; p++)
            colons += *p == ':';
        if (*p == ' ')
            msg = p + 1;
    }
    exact =
        n->line == n->end_line && e.line <= 1 && e.col >= 1 &&
        (n->style == SG_YAML_PLAIN || (n->style == SG_YAML_SINGLE_QUOTED && !strchr(expr, '\'')) ||
         (n->style == SG_YAML_DOUBLE_QUOTED && !strchr(expr, '\\')));
    if (exact) {
        uint32_t col = n->col + (n->style == SG_YAML_PLAIN ? 0 : 1) + e.col - 1;
        sg_bind_problem_at(b, SG_CONFIG_ERROR, e.code ? e.code : SG_EINVAL, n->file, n->line, col,
                           "schema_version_query: %s", msg);
    } else if (e.col) {
        sg_bind_error(b, e.code ? e.code : SG_EINVAL, n,
                      "schema_version_query: %s (line %u, column %u of the expression)", msg,
                      e.line ? e.line : 1, e.col);
    } else {
        sg_bind_error(b, e.code ? e.code : SG_EINVAL, n, "schema_version_query: %s", msg);
    }
}

static void rollback_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_rollback_config *r = obj;
    const struct sg_yaml_node *q = sg_yaml_get(n, "schema_version_query");

    sg_bind_set_pos(b, q ? q : n, &r->query_pos);
    if (r->require_schema_proof) {
        if (!r->schema_version_query)
            sg_bind_error(b, SG_EINVAL, at(n, "require_schema_proof"),
                          "require_schema_proof needs schema_version_query");
        if (!r->max_schema_values_path)
            sg_bind_error(b, SG_EINVAL, at(n, "require_schema_proof"),
                          "require_schema_proof needs max_schema_values_path");
    }
    if (r->schema_version_query && q && b->opts->check_expr)
        check_expr(b, q, r->schema_version_query);
    if (r->max_schema_values_path && !values_path_ok(r->max_schema_values_path))
        sg_bind_error(
            b, SG_EINVAL, at(n, "max_schema_values_path"),
            "max_schema_values_path \"%s\": want a path like .migrations.maxSchemaVersion",
            r->max_schema_values_path);
}
static const struct sg_schema rollback_schema = {rollback_fields, sizeof(struct sg_rollback_config),
                                                 NULL, rollback_check, NULL};

static int str_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void bind_rule_files(struct sg_bind *b, const struct sg_yaml_node *n, void *field, void *obj)
{
    struct sg_release_config *r = obj;
    const char **paths = NULL;
    size_t npaths = 0, cap = 0;

    (void)field;
    if (n->kind != SG_YAML_SEQ) {
        sg_bind_error(b, SG_EINVAL, n, "expected a sequence, got a %s", sg_yaml_kind_name(n->kind));
        return;
    }
    if (n->count > 1000) {
        sg_bind_error(b, SG_ELIMIT, n, "more than 1000 rule file patterns");
        return;
    }
    r->rule_files = sg_arena_alloc_array(b->a, n->count + 1, sizeof(*r->rule_files));
    r->rule_files_pos = sg_arena_alloc_array(b->a, n->count + 1, sizeof(*r->rule_files_pos));
    if (!r->rule_files || !r->rule_files_pos) {
        sg_bind_oom(b);
        return;
    }
    for (size_t i = 0; i < n->count; i++) {
        const struct sg_yaml_node *it = n->items[i];
        size_t mark = sg_bind_push_index(b, i);
        const char *pat;
        glob_t g;
        int grc;

        if (!sg_bind_scalar(b, it, "a string") || it->value.len == 0 ||
            memchr(it->value.ptr, '\0', it->value.len)) {
            if (it->kind == SG_YAML_SCALAR)
                sg_bind_error(b, SG_EINVAL, it, "must be a non-empty path or glob");
            sg_bind_pop(b, mark);
            continue;
        }
        pat = sg_bind_resolve(b, it->value.ptr);
        if (!pat) {
            sg_bind_pop(b, mark);
            return;
        }
        r->rule_files[r->rule_files_count] = pat;
        sg_bind_set_pos(b, it, &r->rule_files_pos[r->rule_files_count]);
        r->rule_files_count++;
        if (b->flags & SG_CONFIG_NO_FS) {
            sg_bind_pop(b, mark);
            continue;
        }
        memset(&g, 0, sizeof(g));
        grc = glob(pat, 0, NULL, &g);
        if (grc == GLOB_NOMATCH || (grc == 0 && g.gl_pathc == 0)) {
            if (has_glob_meta(it->value.ptr))
                sg_bind_warn(b, it, "pattern \"%s\" matches no file", it->value.ptr);
            else
                sg_bind_error(b, SG_EIO, it, "\"%s\" does not point to an existing file",
                              it->value.ptr);
        } else if (grc != 0) {
            sg_bind_error(b, SG_EIO, it, "cannot expand \"%s\"", it->value.ptr);
        } else {
            for (size_t k = 0; k < g.gl_pathc; k++) {
                if (npaths >= MAX_RULE_PATHS) {
                    sg_bind_error(b, SG_ELIMIT, it, "more than %u rule files", MAX_RULE_PATHS);
                    break;
                }
                if (npaths == cap) {
                    size_t nc = cap ? cap * 2 : 16;
                    const char **np = sg_arena_alloc_array(b->a, nc, sizeof(*np));
                    if (!np) {
                        sg_bind_oom(b);
                        break;
                    }
                    if (npaths)
                        memcpy(np, paths, npaths * sizeof(*np));
                    paths = np;
                    cap = nc;
                }
                paths[npaths] = sg_arena_strdup(b->a, g.gl_pathv[k]);
                if (!paths[npaths]) {
                    sg_bind_oom(b);
                    break;
                }
                npaths++;
            }
        }
        globfree(&g);
        sg_bind_pop(b, mark);
    }
    if (npaths > 1) {
        size_t k = 1;
        qsort(paths, npaths, sizeof(*paths), str_cmp);
        for (size_t i = 1; i < npaths; i++) {
            if (strcmp(paths[i], paths[k - 1]) != 0)
                paths[k++] = paths[i];
        }
        npaths = k;
    }
    r->rule_paths = paths;
    r->rule_paths_count = npaths;
}

static void bind_release_remote_read(struct sg_bind *b, const struct sg_yaml_node *n, void *field,
                                     void *obj)
{
    struct sg_remote_read_config *rr = field;

    (void)obj;
    /* field already holds a copy of the global remote_read (release_init).
     * The credentials are one unit: a release that brings its own replaces
     * the global ones of the other kind too. */
    if (sg_yaml_get(n, "bearer_token_file") || sg_yaml_get(n, "basic_auth")) {
        rr->bearer_token_file = NULL;
        rr->has_basic_auth = false;
        memset(&rr->basic_auth, 0, sizeof(rr->basic_auth));
    }
    sg_bind_map(b, n, n, &remote_read_schema, field);
}

static void release_init(struct sg_bind *b, void *obj)
{
    struct sg_release_config *r = obj;

    r->remote_read = b->cfg->remote_read;
    r->wave_window_ms = 30 * 60 * 1000;
    r->revision_poll_interval_ms = 10 * 1000;
    r->on_query_errors.after = 4;
    r->on_query_errors.action = SG_ACTION_PAUSE;
    r->on_no_data.after = 4;
    r->on_no_data.action = SG_ACTION_NOTIFY;
    r->rollback.timeout_ms = 5 * 60 * 1000;
}

static bool route_is_catch_all(const struct sg_route *r)
{
    return r->match.count == 0 && r->match_re.count == 0;
}

static void default_routes(struct sg_bind *b, struct sg_release_config *r)
{
    static const struct {
        const char *stop;
        enum sg_action_kind action;
    } d[] = {
        {"rollback", SG_ACTION_ROLLBACK}, {"pause", SG_ACTION_PAUSE}, {NULL, SG_ACTION_NOTIFY}};
    struct sg_route *v = sg_arena_alloc_array(b->a, SG_ARRAY_LEN(d), sizeof(*v));

    if (!v) {
        sg_bind_oom(b);
        return;
    }
    for (size_t i = 0; i < SG_ARRAY_LEN(d); i++) {
        v[i].action = d[i].action;
        v[i].trip_m = v[i].trip_n = 1;
        v[i].pos = r->pos;
        if (d[i].stop) {
            struct sg_config_kv *kv = sg_arena_alloc(b->a, sizeof(*kv));
            if (!kv) {
                sg_bind_oom(b);
                return;
            }
            kv->name = "stop";
            kv->value = d[i].stop;
            v[i].match.v = kv;
            v[i].match.count = 1;
        }
    }
    r->routes = v;
    r->routes_count = SG_ARRAY_LEN(d);
    r->routes_defaulted = true;
}

static void release_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_release_config *r = obj;
    const struct sg_yaml_node *routes = sg_yaml_get(n, "routes");
    bool has_rollback = false;

    sg_bind_set_pos(b, n, &r->pos);
    if (r->name && !release_name_ok(r->name))
        sg_bind_error(b, SG_EINVAL, at(n, "name"),
                      "invalid release name \"%s\": Helm release names are lower case "
                      "alphanumerics, '-' and '.', at most 53 characters",
                      r->name);
    if (r->namespace_ && !dns_label_ok(r->namespace_, strlen(r->namespace_)))
        sg_bind_error(b, SG_EINVAL, at(n, "namespace"),
                      "invalid namespace \"%s\": want a DNS-1123 label", r->namespace_);
    if (!r->remote_read.url)
        sg_bind_error(b, SG_EINVAL, at(n, "remote_read"),
                      "no remote_read.url: give one globally or in the release");
    if (!routes || sg_yaml_is_null(routes)) {
        default_routes(b, r);
    } else {
        size_t catch_all = SIZE_MAX;
        for (size_t i = 0; i < r->routes_count; i++) {
            if (catch_all != SIZE_MAX) {
                sg_bind_problem_at(b, SG_CONFIG_WARNING, SG_OK, r->routes[i].pos.file,
                                   r->routes[i].pos.line, r->routes[i].pos.col,
                                   "routes[%zu] is never used: routes[%zu] matches every alert", i,
                                   catch_all);
                break;
            }
            if (route_is_catch_all(&r->routes[i]))
                catch_all = i;
        }
    }
    for (size_t i = 0; i < r->routes_count; i++)
        has_rollback |= r->routes[i].action == SG_ACTION_ROLLBACK;
    has_rollback |= r->on_query_errors.after && r->on_query_errors.action == SG_ACTION_ROLLBACK;
    has_rollback |= r->on_no_data.after && r->on_no_data.action == SG_ACTION_ROLLBACK;
    if (has_rollback && !r->rollback.require_schema_proof && !r->routes_defaulted)
        sg_bind_warn(b, at(n, "rollback"),
                     "rollbacks run without schema proof (rollback.require_schema_proof is false)");
}

#define RL(f) offsetof(struct sg_release_config, f)
static const struct sg_field release_fields[] = {
    {"name", SG_FT_STRING, RL(name), SG_F_REQUIRED, 0, NULL, 0, 0, NULL},
    {"namespace", SG_FT_STRING, RL(namespace_), SG_F_REQUIRED, 0, NULL, 0, 0, NULL},
    {"kube_context", SG_FT_STRING, RL(kube_context), 0, 0, NULL, 0, 0, NULL},
    {"remote_read", SG_FT_CUSTOM, RL(remote_read), 0, 0, NULL, 0, 0, bind_release_remote_read},
    {"rule_files", SG_FT_CUSTOM, 0, 0, 0, NULL, 0, 0, bind_rule_files},
    {"wave_window", SG_FT_DURATION, RL(wave_window_ms), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    {"revision_poll_interval", SG_FT_DURATION, RL(revision_poll_interval_ms), SG_F_POSITIVE, 0,
     NULL, 0, 0, NULL},
    {"on_query_errors", SG_FT_SUB, RL(on_query_errors), 0, 0, &threshold_schema, 0, 0, NULL},
    {"on_no_data", SG_FT_SUB, RL(on_no_data), 0, 0, &threshold_schema, 0, 0, NULL},
    {"alert_match", SG_FT_LABELMAP, RL(alert_match), 0, 0, NULL, 0, 0, NULL},
    {"routes", SG_FT_LIST, RL(routes), 0, RL(routes_count), &route_schema, 0, 0, NULL},
    {"rollback", SG_FT_SUB, RL(rollback), 0, 0, &rollback_schema, 0, 0, NULL},
    {"readiness", SG_FT_URLLIST, RL(readiness), 0, RL(readiness_count), NULL, 0, 0, NULL},
    FIELD_END,
};
#undef RL
static const struct sg_schema release_schema = {release_fields, sizeof(struct sg_release_config),
                                                release_init, release_check, NULL};

/* ---- notifiers --------------------------------------------------------------------- */

static const struct sg_enum_name notifier_types[] = {
    {"slack", SG_NOTIFIER_SLACK},
    {"mattermost", SG_NOTIFIER_MATTERMOST},
    {"msteams", SG_NOTIFIER_MSTEAMS},
    {"googlechat", SG_NOTIFIER_GOOGLECHAT},
    {"discord", SG_NOTIFIER_DISCORD},
    {"webhook", SG_NOTIFIER_WEBHOOK},
    {"alertmanager", SG_NOTIFIER_ALERTMANAGER},
    {NULL, 0},
};

#define NT(f) offsetof(struct sg_notifier_config, f)
static const struct sg_field notifier_fields[] = {
    {"type", SG_FT_ENUM, NT(type), SG_F_REQUIRED, 0, notifier_types, 0, 0, NULL},
    {"name", SG_FT_STRING, NT(name), 0, 0, NULL, 0, 0, NULL},
    {"url", SG_FT_URL, NT(url), 0, 0, NULL, 0, 0, NULL},
    {"url_file", SG_FT_PATH, NT(url_file), SG_F_SECRET, 0, NULL, 0, 0, NULL},
    {"timeout", SG_FT_DURATION, NT(timeout_ms), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    {"send_resolved", SG_FT_BOOL, NT(send_resolved), 0, 0, NULL, 0, 0, NULL},
    FIELD_END,
};
static const struct sg_field slack_fields[] = {
    {"channel", SG_FT_STRING, NT(channel), 0, 0, NULL, 0, 0, NULL},
    {"username", SG_FT_STRING, NT(username), 0, 0, NULL, 0, 0, NULL},
    {"icon_emoji", SG_FT_STRING, NT(icon_emoji), 0, 0, NULL, 0, 0, NULL},
    {"icon_url", SG_FT_URL, NT(icon_url), 0, 0, NULL, 0, 0, NULL},
    FIELD_END,
};
static const struct sg_field mattermost_fields[] = {
    {"channel", SG_FT_STRING, NT(channel), 0, 0, NULL, 0, 0, NULL},
    {"username", SG_FT_STRING, NT(username), 0, 0, NULL, 0, 0, NULL},
    {"icon_url", SG_FT_URL, NT(icon_url), 0, 0, NULL, 0, 0, NULL},
    FIELD_END,
};
static const struct sg_field discord_fields[] = {
    {"username", SG_FT_STRING, NT(username), 0, 0, NULL, 0, 0, NULL},
    {"avatar_url", SG_FT_URL, NT(icon_url), 0, 0, NULL, 0, 0, NULL},
    FIELD_END,
};
static const struct sg_field http_fields[] = {
    {"headers", SG_FT_STRMAP, NT(headers), SG_F_HEADERS, 0, NULL, 0, 0, NULL},
    {"bearer_token_file", SG_FT_PATH, NT(bearer_token_file), SG_F_SECRET, 0, NULL, 0, 0, NULL},
    {"basic_auth", SG_FT_SUB, NT(basic_auth), SG_F_HAS, NT(has_basic_auth), &basic_auth_schema, 0,
     0, NULL},
    {"tls_config", SG_FT_SUB, NT(tls), 0, 0, &tls_schema, 0, 0, NULL},
    FIELD_END,
};
#undef NT

static const struct sg_field *notifier_extra(struct sg_bind *b, const struct sg_yaml_node *n,
                                             void *obj)
{
    const struct sg_yaml_node *t = sg_yaml_get(n, "type");

    (void)b;
    (void)obj;
    if (!t || t->kind != SG_YAML_SCALAR)
        return NULL;
    if (sg_str_eq_c(t->value, "slack"))
        return slack_fields;
    if (sg_str_eq_c(t->value, "mattermost"))
        return mattermost_fields;
    if (sg_str_eq_c(t->value, "discord"))
        return discord_fields;
    if (sg_str_eq_c(t->value, "webhook") || sg_str_eq_c(t->value, "alertmanager"))
        return http_fields;
    return NULL;
}

static void notifier_init(struct sg_bind *b, void *obj)
{
    struct sg_notifier_config *nc = obj;

    (void)b;
    nc->timeout_ms = 10000;
    nc->send_resolved = true;
}

static void notifier_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_notifier_config *nc = obj;

    sg_bind_set_pos(b, n, &nc->pos);
    if (!nc->url == !nc->url_file)
        sg_bind_error(b, SG_EINVAL, n, "exactly one of url and url_file must be given");
    if (nc->bearer_token_file && nc->has_basic_auth)
        sg_bind_error(b, SG_EINVAL, n,
                      "at most one of bearer_token_file and basic_auth may be configured");
}
static const struct sg_schema notifier_schema = {notifier_fields, sizeof(struct sg_notifier_config),
                                                 notifier_init, notifier_check, notifier_extra};

/* ---- tools ------------------------------------------------------------------------- */

static void bind_tool(struct sg_bind *b, const struct sg_yaml_node *n, void *field, void *obj)
{
    const char *s;

    (void)obj;
    if (!sg_bind_scalar(b, n, "a string"))
        return;
    if (n->value.len == 0 || memchr(n->value.ptr, '\0', n->value.len)) {
        sg_bind_error(b, SG_EINVAL, n, "must be a program name or path");
        return;
    }
    s = memchr(n->value.ptr, '/', n->value.len) ? sg_bind_resolve(b, n->value.ptr)
                                                : sg_arena_strdup(b->a, n->value.ptr);
    if (!s) {
        sg_bind_oom(b);
        return;
    }
    *(const char **)field = s;
}

static void tools_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_tools_config *t = obj;
    const struct sg_yaml_node *env = sg_yaml_get(n, "env");

    for (size_t i = 0; i < t->env_count; i++) {
        if (!env_name_ok(t->env[i]))
            sg_bind_error(b, SG_EINVAL,
                          env && env->kind == SG_YAML_SEQ && i < env->count ? env->items[i] : n,
                          "invalid environment variable name \"%s\"", t->env[i]);
    }
}

#define TL(f) offsetof(struct sg_tools_config, f)
static const struct sg_field tools_fields[] = {
    {"helm", SG_FT_CUSTOM, TL(helm), 0, 0, NULL, 0, 0, bind_tool},
    {"kubectl", SG_FT_CUSTOM, TL(kubectl), 0, 0, NULL, 0, 0, bind_tool},
    {"kubeconfig", SG_FT_PATH, TL(kubeconfig), 0, 0, NULL, 0, 0, NULL},
    {"timeout", SG_FT_DURATION, TL(timeout_ms), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    {"kill_grace", SG_FT_DURATION, TL(kill_grace_ms), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    {"env", SG_FT_STRLIST, TL(env), 0, TL(env_count), NULL, 0, 0, NULL},
    FIELD_END,
};
#undef TL
static const struct sg_schema tools_schema = {tools_fields, sizeof(struct sg_tools_config), NULL,
                                              tools_check, NULL};

/* ---- top level ------------------------------------------------------------------------ */

static void bind_top_remote_read(struct sg_bind *b, const struct sg_yaml_node *n, void *field,
                                 void *obj)
{
    struct sg_config *cfg = obj;

    cfg->has_remote_read = true;
    sg_bind_map(b, n, n, &remote_read_schema, field);
}

static void config_init(struct sg_bind *b, void *obj)
{
    struct sg_config *cfg = obj;

    (void)b;
    remote_read_defaults(&cfg->remote_read);
    cfg->evaluation_interval_ms = 15000;
    cfg->lookback_delta_ms = 5 * 60 * 1000;
    cfg->state_dir = "/var/lib/stopgate";
    cfg->dry_run = false;
    cfg->web.listen_address = "127.0.0.1:9097";
    cfg->web.is_loopback = true;
    cfg->web.read_timeout_ms = 10000;
    cfg->web.max_body_bytes = 1u << 20;
    cfg->tools.helm = "helm";
    cfg->tools.kubectl = "kubectl";
    cfg->tools.timeout_ms = 60000;
    cfg->tools.kill_grace_ms = 10000;
    cfg->tools.env = default_env;
    cfg->tools.env_count = SG_ARRAY_LEN(default_env);
}

/* The `name:` node of item i of a sequence of mappings, for messages. */
static const struct sg_yaml_node *item_key(const struct sg_yaml_node *seq, size_t i,
                                           const char *key)
{
    if (!seq || seq->kind != SG_YAML_SEQ || i >= seq->count)
        return NULL;
    return at(seq->items[i], key);
}

static void config_check(struct sg_bind *b, const struct sg_yaml_node *n, void *obj)
{
    struct sg_config *cfg = obj;
    const struct sg_yaml_node *rels = sg_yaml_get(n, "releases");
    const struct sg_yaml_node *nots = sg_yaml_get(n, "notifiers");

    for (size_t i = 0; i < cfg->releases_count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (cfg->releases[i].name && cfg->releases[j].name &&
                strcmp(cfg->releases[i].name, cfg->releases[j].name) == 0) {
                const struct sg_yaml_node *k = item_key(rels, i, "name");
                size_t mark = sg_bind_push(b, "releases");
                sg_bind_error(b, SG_EINVAL, k, "duplicate release name \"%s\" (first at line %u)",
                              cfg->releases[i].name, cfg->releases[j].pos.line);
                sg_bind_pop(b, mark);
                break;
            }
        }
    }
    /* notifier names: explicit ones must be unique; defaults are the type,
     * or type-N when the type appears more than once */
    for (size_t i = 0; i < cfg->notifiers_count; i++) {
        struct sg_notifier_config *nc = &cfg->notifiers[i];
        size_t same = 0, index = 0;
        if (nc->name)
            continue;
        for (size_t j = 0; j < cfg->notifiers_count; j++) {
            if (cfg->notifiers[j].type == nc->type) {
                same++;
                if (j < i)
                    index++;
            }
        }
        if (same == 1)
            nc->name = sg_notifier_type_name(nc->type);
        else
            nc->name = sg_arena_printf(b->a, "%s-%zu", sg_notifier_type_name(nc->type), index + 1);
        if (!nc->name)
            sg_bind_oom(b);
    }
    for (size_t i = 0; i < cfg->notifiers_count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (cfg->notifiers[i].name && cfg->notifiers[j].name &&
                strcmp(cfg->notifiers[i].name, cfg->notifiers[j].name) == 0) {
                size_t mark = sg_bind_push(b, "notifiers");
                sg_bind_error(b, SG_EINVAL, item_key(nots, i, "name"),
                              "duplicate notifier name \"%s\"", cfg->notifiers[i].name);
                sg_bind_pop(b, mark);
                break;
            }
        }
    }
}

#define CF(f) offsetof(struct sg_config, f)
static const struct sg_field config_fields[] = {
    {"remote_read", SG_FT_CUSTOM, CF(remote_read), 0, 0, NULL, 0, 0, bind_top_remote_read},
    {"evaluation_interval", SG_FT_DURATION, CF(evaluation_interval_ms), SG_F_POSITIVE, 0, NULL, 0,
     0, NULL},
    {"lookback_delta", SG_FT_DURATION, CF(lookback_delta_ms), SG_F_POSITIVE, 0, NULL, 0, 0, NULL},
    {"state_dir", SG_FT_PATH, CF(state_dir), 0, 0, NULL, 0, 0, NULL},
    {"dry_run", SG_FT_BOOL, CF(dry_run), 0, 0, NULL, 0, 0, NULL},
    {"web", SG_FT_SUB, CF(web), 0, 0, &web_schema, 0, 0, NULL},
    {"tools", SG_FT_SUB, CF(tools), 0, 0, &tools_schema, 0, 0, NULL},
    {"releases", SG_FT_LIST, CF(releases), 0, CF(releases_count), &release_schema, 0, 0, NULL},
    {"notifiers", SG_FT_LIST, CF(notifiers), 0, CF(notifiers_count), &notifier_schema, 0, 0, NULL},
    FIELD_END,
};
#undef CF

const struct sg_schema sg_config_schema = {config_fields, sizeof(struct sg_config), config_init,
                                           config_check, NULL};
