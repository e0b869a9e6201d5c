/* src/rules/rulefile.c - Prometheus rule files, read the way Prometheus
 * 2.42 reads them (model/rulefmt/rulefmt.go).
 *
 * Prometheus decodes a rule file with yaml.v3 into rulefmt.RuleGroups with
 * KnownFields (unknown keys are errors), and then validates it. This file
 * reproduces that decoding on our YAML node tree, including the parts that
 * decide whether promtool accepts a file:
 *   - only the first YAML document counts (later ones are never read);
 *   - null values leave fields empty, null list items are dropped;
 *   - strings take any scalar ("name: 1" is the string "1"), ints take
 *     yaml.v3's int and float resolutions (so "limit: 1.5" is 1);
 *   - durations go through a string and model.ParseDuration;
 *   - `record`, `alert` and `expr` are raw yaml.Nodes: a mapping or list
 *     there is an empty value, not a type error;
 *   - merge keys (<<) with yaml.v3's precedence;
 * then rulefmt's Validate: group names, record/alert, expr (parsed with the
 * PromQL parser), recording-rule fields, label and annotation names and
 * values, and the alert templates (parsed with Prometheus's template
 * prelude and function set).
 *
 * Unlike promtool, which stops at the first decoding error, every problem
 * is reported, each at its place as FILE:LINE:COL. Positions inside an
 * expression or a template map into the file for plain one-line and
 * literal-block (|) scalars; for quoted and folded scalars, where YAML
 * rewrote the text, the place is the scalar's first character and the
 * message gives the line and column inside the expression.
 *
 * Not here: evaluation (group.c), the CLI's output format (cmd_check.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules/rules_int.h"
#include "stopgate/duration.h"
#include "stopgate/fs.h"
#include "stopgate/yaml.h"

#define DEFAULT_MAX_FILE   (16u << 20)
#define RULESET_MAX_BYTES  ((size_t)4 << 30)
/* model.Duration is a time.Duration: nanoseconds in an int64 */
#define MAX_DURATION_MS    INT64_C(9223372036854)

struct loader {
    struct sg_ruleset *rs;
    struct sg_arena *a;
    const char *file;
    struct sg_str text;
    const struct sg_rules_load_opts *opts;
    struct sg_err *err;
    size_t errors;
    int fatal; /* SG_ENOMEM / SG_ELIMIT: stop */
};

/* ---- reporting -------------------------------------------------------------------------- */

static void report(struct loader *L, enum sg_diag_level level, uint32_t line, uint32_t col,
                   const char *fmt, ...) SG_PRINTF(5, 6);
static void report(struct loader *L, enum sg_diag_level level, uint32_t line, uint32_t col,
                   const char *fmt, ...)
{
    char msg[SG_ERR_MSG_MAX * 2];
    struct sg_diag d;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (level == SG_DIAG_ERROR) {
        L->errors++;
        if (line)
            sg_err_set_linecol(L->err, SG_EPARSE, L->file, line, col, "%s", msg);
        else
            sg_err_set(L->err, SG_EPARSE, "%s: %s", L->file, msg);
    }
    if (L->opts && L->opts->diag) {
        d.level = level;
        d.file = L->file;
        d.line = line;
        d.col = col;
        d.msg = msg;
        L->opts->diag(&d, L->opts->diag_arg);
    }
}

#define ERR_AT(L, n, ...) report((L), SG_DIAG_ERROR, (n)->line, (n)->col, __VA_ARGS__)

static void fatal(struct loader *L, int code, const char *what)
{
    if (!L->fatal) {
        L->fatal = code;
        sg_err_set(L->err, code, "%s: %s", L->file, what);
    }
}

/* ---- yaml.v3 scalar resolution --------------------------------------------------------- */

enum ytag { YT_NULL, YT_BOOL, YT_INT, YT_FLOAT, YT_STR, YT_TIMESTAMP, YT_BINARY, YT_OTHER };

static const char *tag_name(enum ytag t)
{
    switch (t) {
    case YT_NULL:
        return "!!null";
    case YT_BOOL:
        return "!!bool";
    case YT_INT:
        return "!!int";
    case YT_FLOAT:
        return "!!float";
    case YT_TIMESTAMP:
        return "!!timestamp";
    case YT_BINARY:
        return "!!binary";
    default:
        return "!!str";
    }
}

static bool tag_is(const char *tag, const char *shortname)
{
    char longname[64];

    if (!tag)
        return false;
    snprintf(longname, sizeof(longname), "tag:yaml.org,2002:%s", shortname + 2);
    return strcmp(tag, shortname) == 0 || strcmp(tag, longname) == 0;
}

/* strconv.ParseInt(s, 0, 64) / ParseUint after yaml.v3 dropped the
 * underscores: 1 int, 2 uint beyond int64, 0 not an integer */
static int parse_go_int(const char *s, size_t n, int64_t *out)
{
    bool neg = false;
    unsigned base = 10;
    uint64_t v = 0;
    size_t i = 0;

    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i >= n)
        return 0;
    if (s[i] == '0' && i + 1 < n) {
        char c = (char)(s[i + 1] | 0x20);
        if (c == 'x') {
            base = 16;
            i += 2;
        } else if (c == 'o') {
            base = 8;
            i += 2;
        } else if (c == 'b') {
            base = 2;
            i += 2;
        } else {
            base = 8;
            i += 1;
        }
        if (i >= n)
            return 0;
    }
    for (; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (unsigned)((c | 0x20) - 'a' + 10);
        else
            return 0;
        if (d >= base)
            return 0;
        if (v > (UINT64_MAX - d) / base)
            return 0;
        v = v * base + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return 0;
        *out = (int64_t)(0 - v);
        return 1;
    }
    if (v > (uint64_t)INT64_MAX)
        return 2;
    *out = (int64_t)v;
    return 1;
}

/* yaml.v3's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t n)
{
    size_t i = 0, d = 0;

    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            d++;
        }
        if (d == 0)
            return false;
    } else {
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            d++;
        }
        if (d == 0)
            return false;
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && s[i] >= '0' && s[i] <= '9')
                i++;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            e++;
        }
        if (e == 0)
            return false;
    }
    return i == n;
}

static bool looks_like_timestamp(const char *s, size_t n)
{
    /* yyyy-m-d at the start, as yaml.v3's parseTimestamp needs */
    size_t i = 0;
    for (; i < 4; i++) {
        if (i >= n || s[i] < '0' || s[i] > '9')
            return false;
    }
    if (i >= n || s[i++] != '-')
        return false;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return false;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i >= n || s[i++] != '-')
        return false;
    return i < n && s[i] >= '0' && s[i] <= '9';
}

/* Resolve a scalar as yaml.v3 does; *iv / *fv get int and float values. */
static enum ytag resolve(const struct sg_yaml_node *n, int64_t *iv, double *fv, bool *big_uint)
{
    const char *s = n->value.ptr;
    size_t len = n->value.len;
    char buf[128];
    size_t k = 0;
    int r;

    *big_uint = false;
    if (n->tag) {
        if (tag_is(n->tag, "!!str"))
            return YT_STR;
        if (tag_is(n->tag, "!!null"))
            return YT_NULL;
        if (tag_is(n->tag, "!!binary"))
            return YT_BINARY;
        if (!tag_is(n->tag, "!!int") && !tag_is(n->tag, "!!float") && !tag_is(n->tag, "!!bool") &&
            !tag_is(n->tag, "!!timestamp") && strcmp(n->tag, "!") != 0)
            return YT_OTHER;
    }
    if (n->style != SG_YAML_PLAIN)
        return YT_STR;
    if (sg_yaml_is_null(n))
        return YT_NULL;
    if (sg_str_eq_c(n->value, "true") || sg_str_eq_c(n->value, "True") ||
        sg_str_eq_c(n->value, "TRUE") || sg_str_eq_c(n->value, "false") ||
        sg_str_eq_c(n->value, "False") || sg_str_eq_c(n->value, "FALSE"))
        return YT_BOOL;
    if (sg_str_eq_c(n->value, ".inf") || sg_str_eq_c(n->value, ".Inf") ||
        sg_str_eq_c(n->value, ".INF") || sg_str_eq_c(n->value, "+.inf") ||
        sg_str_eq_c(n->value, "+.Inf") || sg_str_eq_c(n->value, "+.INF") ||
        sg_str_eq_c(n->value, "-.inf") || sg_str_eq_c(n->value, "-.Inf") ||
        sg_str_eq_c(n->value, "-.INF") || sg_str_eq_c(n->value, ".nan") ||
        sg_str_eq_c(n->value, ".NaN") || sg_str_eq_c(n->value, ".NAN")) {
        if (n->value.ptr[0] == '-')
            *fv = -HUGE_VAL;
        else if (n->value.ptr[n->value.len - 1] == 'n' || n->value.ptr[n->value.len - 1] == 'N')
            *fv = NAN;
        else
            *fv = HUGE_VAL;
        return YT_FLOAT;
    }
    if (len == 0 || len >= sizeof(buf))
        return YT_STR;
    if (!(s[0] == '+' || s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
        return YT_STR;
    if (looks_like_timestamp(s, len))
        return YT_TIMESTAMP;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '_')
            buf[k++] = s[i];
    }
    buf[k] = 0;
    r = parse_go_int(buf, k, iv);
    if (r == 1)
        return YT_INT;
    if (r == 2) {
        *big_uint = true;
        return YT_INT;
    }
    if (yaml_style_float(buf, k)) {
        if (sscanf(buf, "%lf", fv) == 1)
            return YT_FLOAT;
    }
    return YT_STR;
}

/* " `value`" as yaml.v3 shows a scalar in a type error (10 bytes at most) */
static void shown_value(const struct sg_yaml_node *n, char *buf, size_t bufn)
{
    if (n->value.len > 10)
        snprintf(buf, bufn, " `%.7s...`", n->value.ptr);
    else
        snprintf(buf, bufn, " `%.*s`", (int)n->value.len, n->value.ptr);
}

static void type_error(struct loader *L, const struct sg_yaml_node *n, const char *into)
{
    char shown[32] = "";
    const char *tag;
    int64_t iv;
    double fv;
    bool big;

    if (n->kind == SG_YAML_SEQ) {
        tag = "!!seq";
    } else if (n->kind == SG_YAML_MAP) {
        tag = "!!map";
    } else {
        tag = tag_name(resolve(n, &iv, &fv, &big));
        shown_value(n, shown, sizeof(shown));
    }
    ERR_AT(L, n, "cannot unmarshal %s%s into %s", tag, shown, into);
}

/* yaml.v3 resolves an explicitly tagged scalar (!!bool, !!int, !!float,
 * !!timestamp, !!null) and fails when the text is not of that kind: "cannot decode
 * !!str `g` as a !!int". Quoted or not, untagged scalars pass. */
static bool check_tag(struct loader *L, const struct sg_yaml_node *n)
{
    static const char *const tags[] = {"!!bool", "!!int", "!!float", "!!timestamp", "!!null"};
    struct sg_yaml_node plain;
    enum ytag want, got;
    int64_t iv;
    double fv;
    bool big;
    char shown[64];

    if (n->kind != SG_YAML_SCALAR || !n->tag)
        return true;
    for (size_t i = 0; i < SG_ARRAY_LEN(tags); i++) {
        if (!tag_is(n->tag, tags[i]))
            continue;
        want = i == 0 ? YT_BOOL : i == 1 ? YT_INT : i == 2 ? YT_FLOAT : i == 3 ? YT_TIMESTAMP : YT_NULL;
        plain = *n;
        plain.tag = NULL;
        plain.style = SG_YAML_PLAIN;
        got = resolve(&plain, &iv, &fv, &big);
        if (got == want || (want == YT_FLOAT && got == YT_INT))
            return true;
        snprintf(shown, sizeof(shown), "%.*s", (int)(n->value.len > 40 ? 40 : n->value.len),
                 n->value.ptr);
        ERR_AT(L, n, "cannot decode %s `%s` as a %s", tag_name(got), shown, tags[i]);
        return false;
    }
    return true;
}

/* ---- mappings with merge keys ----------------------------------------------------------- */

struct field {
    const struct sg_yaml_node *key, *value;
};

struct fields {
    struct field *v;
    size_t n, cap;
};

static bool is_merge_key(const struct sg_yaml_node *k)
{
    return k->kind == SG_YAML_SCALAR && k->style == SG_YAML_PLAIN &&
           sg_str_eq_c(k->value, "<<") &&
           (!k->tag || strcmp(k->tag, "!") == 0 || tag_is(k->tag, "!!merge"));
}

/* Whether a mapping key counts: false after reporting a wrong tag (then
 * *ok, when given, becomes false) and for a plain null key, which yaml.v3
 * drops. */
static bool key_used(struct loader *L, const struct sg_yaml_node *k, bool *ok)
{
    if (!check_tag(L, k)) {
        if (ok)
            *ok = false;
        return false;
    }
    return !(sg_yaml_is_null(k) && k->style == SG_YAML_PLAIN);
}

static bool fields_have(const struct fields *f, struct sg_str key)
{
    for (size_t i = 0; i < f->n; i++) {
        if (sg_str_eq(f->v[i].key->value, key))
            return true;
    }
    return false;
}

static bool fields_push(struct loader *L, struct fields *f, const struct sg_yaml_node *k,
                        const struct sg_yaml_node *v)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        void *p = sg_arena_grow(L->a, f->v, f->cap * sizeof(*f->v), cap * sizeof(*f->v));
        if (!p) {
            fatal(L, SG_ENOMEM, "out of memory reading rules");
            return false;
        }
        f->v = p;
        f->cap = cap;
    }
    f->v[f->n].key = k;
    f->v[f->n].value = v;
    f->n++;
    return true;
}

/* The key-value pairs of a mapping in decoding order, with merged
 * mappings expanded in place of their << key; keys written in the mapping
 * itself win over merged ones, and earlier merged mappings over later.
 * Returns false after reporting a bad merge value. */
static bool collect_fields(struct loader *L, const struct sg_yaml_node *map, struct fields *out,
                           struct fields *seen, int depth)
{
    struct fields own = {0};

    if (depth > 32) {
        ERR_AT(L, map, "merge keys nested too deeply");
        return false;
    }
    /* the mapping's own keys shadow merged ones */
    for (size_t i = 0; i < map->count; i++) {
        if (!is_merge_key(map->pairs[i].key) &&
            !fields_push(L, &own, map->pairs[i].key, map->pairs[i].value))
            return false;
    }
    for (size_t i = 0; i < map->count; i++) {
        const struct sg_yaml_node *k = map->pairs[i].key, *v = map->pairs[i].value;
        if (is_merge_key(k)) {
            const struct sg_yaml_node *const *items = &v;
            size_t nitems = 1;
            if (v->kind == SG_YAML_SEQ) {
                items = (const struct sg_yaml_node *const *)v->items;
                nitems = v->count;
            }
            for (size_t j = 0; j < nitems; j++) {
                struct fields sub = {0};
                if (items[j]->kind != SG_YAML_MAP) {
                    ERR_AT(L, items[j], "map merge requires map or sequence of maps as the value");
                    return false;
                }
                if (!collect_fields(L, items[j], &sub, NULL, depth + 1))
                    return false;
                for (size_t m = 0; m < sub.n; m++) {
                    if (fields_have(&own, sub.v[m].key->value) ||
                        fields_have(out, sub.v[m].key->value))
                        continue;
                    if (!fields_push(L, out, sub.v[m].key, sub.v[m].value))
                        return false;
                }
            }
            continue;
        }
        if (!fields_push(L, out, k, v))
            return false;
    }
    (void)seen;
    return true;
}

/* ---- value decoders --------------------------------------------------------------------- */

/* string field: any scalar (null leaves it empty) */
static bool dec_string(struct loader *L, const struct sg_yaml_node *n, struct sg_str *out)
{
    if (n->kind != SG_YAML_SCALAR) {
        type_error(L, n, "string");
        return false;
    }
    if (!check_tag(L, n))
        return false;
    if (sg_yaml_is_null(n) && n->style == SG_YAML_PLAIN && !(n->tag && tag_is(n->tag, "!!str")))
        return true;
    *out = n->value;
    return true;
}

static bool dec_int(struct loader *L, const struct sg_yaml_node *n, int64_t *out)
{
    int64_t iv = 0;
    double fv = 0;
    bool big;
    enum ytag t;

    if (n->kind != SG_YAML_SCALAR) {
        type_error(L, n, "int");
        return false;
    }
    if (!check_tag(L, n))
        return false;
    t = resolve(n, &iv, &fv, &big);
    if (t == YT_NULL)
        return true;
    if (t == YT_INT && !big) {
        *out = iv;
        return true;
    }
    if (t == YT_FLOAT && fv == fv && fv <= 9223372036854775807.0 && fv >= -9223372036854775808.0) {
        *out = (int64_t)fv;
        return true;
    }
    type_error(L, n, "int");
    return false;
}

/* model.Duration: a string, then model.ParseDuration */
static bool dec_duration(struct loader *L, const struct sg_yaml_node *n, int64_t *out_ms)
{
    struct sg_err e;
    int rc;

    if (n->kind != SG_YAML_SCALAR) {
        type_error(L, n, "string");
        return false;
    }
    if (!check_tag(L, n))
        return false;
    if (sg_yaml_is_null(n) && n->style == SG_YAML_PLAIN)
        return true;
    sg_err_clear(&e);
    rc = sg_duration_parse(n->value, out_ms, &e);
    if (rc == SG_EPARSE) {
        if (n->value.len == 0)
            ERR_AT(L, n, "empty duration string");
        else
            ERR_AT(L, n, "not a valid duration string: \"%.*s\"", (int)n->value.len, n->value.ptr);
        return false;
    }
    if (rc != SG_OK || *out_ms > MAX_DURATION_MS) {
        ERR_AT(L, n, "duration out of range");
        return false;
    }
    return true;
}

/* map[string]string; pairs are collected into a label set */
static bool dec_string_map(struct loader *L, const struct sg_yaml_node *n, struct sg_labels *out,
                           const struct sg_yaml_node ***value_nodes)
{
    struct fields f = {0};
    struct sg_label *v;
    const struct sg_yaml_node **vn;
    uint32_t cnt = 0;
    bool ok = true;

    if (n->kind == SG_YAML_SCALAR && sg_yaml_is_null(n))
        return true;
    if (n->kind != SG_YAML_MAP) {
        type_error(L, n, "map[string]string");
        return false;
    }
    if (!collect_fields(L, n, &f, NULL, 0))
        return false;
    v = sg_arena_alloc_array(L->a, f.n + 1, sizeof(*v));
    vn = sg_arena_alloc_array(L->a, f.n + 1, sizeof(*vn));
    if (!v || !vn) {
        fatal(L, SG_ENOMEM, "out of memory reading rules");
        return false;
    }
    for (size_t i = 0; i < f.n; i++) {
        const struct sg_yaml_node *k = f.v[i].key, *val = f.v[i].value;
        struct sg_str key = {"", 0}, value = {"", 0};
        if (!key_used(L, k, &ok))
            continue;
        key = k->value;
        if (val->kind != SG_YAML_SCALAR) {
            type_error(L, val, "string");
            ok = false;
            continue;
        }
        if (!check_tag(L, val)) {
            ok = false;
            continue;
        }
        if (!(sg_yaml_is_null(val) && val->style == SG_YAML_PLAIN))
            value = val->value;
        v[cnt].name = key;
        v[cnt].value = value;
        vn[cnt] = val;
        cnt++;
    }
    if (!ok)
        return false;
    /* sort by name, keeping the value nodes alongside */
    for (uint32_t i = 1; i < cnt; i++) {
        struct sg_label tl = v[i];
        const struct sg_yaml_node *tn = vn[i];
        uint32_t j = i;
        while (j > 0 && sg_str_cmp(v[j - 1].name, tl.name) > 0) {
            v[j] = v[j - 1];
            vn[j] = vn[j - 1];
            j--;
        }
        v[j] = tl;
        vn[j] = tn;
    }
    out->v = v;
    out->count = cnt;
    if (value_nodes)
        *value_nodes = vn;
    return true;
}

/* ---- positions inside scalars ---------------------------------------------------------- */

/* Map byte `off` of scalar n's value to a file position. *exact is false
 * when YAML rewrote the text (quoted, folded, multi-line plain); the place
 * is then the scalar's start. */
static void scalar_pos(struct loader *L, const struct sg_yaml_node *n, uint32_t off,
                       uint32_t *line, uint32_t *col, bool *exact)
{
    uint32_t vl, vc;

    *line = n->line;
    *col = n->col;
    *exact = false;
    if (off > n->value.len)
        return;
    sg_err_linecol(n->value, off, &vl, &vc);
    if (n->style == SG_YAML_PLAIN && n->line == n->end_line && !memchr(n->value.ptr, '\n', n->value.len)) {
        *col = n->col + vc - 1;
        *exact = true;
        return;
    }
    if (n->style == SG_YAML_LITERAL) {
        /* content starts on the line after the indicator; its indentation
         * is that of the first non-blank content line */
        uint32_t start_line = n->line + 1, indent = 0, ln = 1;
        size_t i = 0;
        const char *t = L->text.ptr;
        size_t tl = L->text.len;
        /* find the file offset of start_line */
        for (i = 0; i < tl && ln < start_line; i++) {
            if (t[i] == '\n')
                ln++;
        }
        while (i < tl) {
            size_t j = i;
            uint32_t sp = 0;
            while (j < tl && t[j] == ' ') {
                j++;
                sp++;
            }
            if (j < tl && t[j] != '\n' && t[j] != '\r') {
                indent = sp;
                break;
            }
            while (j < tl && t[j] != '\n')
                j++;
            i = j + 1;
        }
        *line = start_line + vl - 1;
        *col = indent + vc;
        *exact = true;
    }
}

/* ---- the rule file ---------------------------------------------------------------------- */

struct raw_rule {
    const struct sg_yaml_node *node;     /* the rule mapping */
    const struct sg_yaml_node *record, *alert, *expr;
    const struct sg_yaml_node *for_node, *keep_node, *labels_node, *annotations_node;
    int64_t for_ms, keep_ms;
    struct sg_labels labels, annotations;
    const struct sg_yaml_node **label_vals, **annot_vals;
};

struct raw_group {
    const struct sg_yaml_node *node;
    struct sg_str name;
    int64_t interval_ms, limit;
    struct raw_rule *rules;
    size_t nrules;
};

static bool dec_rule(struct loader *L, const struct sg_yaml_node *n, struct raw_rule *r)
{
    struct fields f = {0};
    bool ok = true;

    memset(r, 0, sizeof(*r));
    r->node = n;
    if (!collect_fields(L, n, &f, NULL, 0))
        return false;
    for (size_t i = 0; i < f.n; i++) {
        const struct sg_yaml_node *k = f.v[i].key, *v = f.v[i].value;
        if (!key_used(L, k, &ok))
            continue;
        if (sg_str_eq_c(k->value, "record")) {
            r->record = v;
        } else if (sg_str_eq_c(k->value, "alert")) {
            r->alert = v;
        } else if (sg_str_eq_c(k->value, "expr")) {
            r->expr = v;
        } else if (sg_str_eq_c(k->value, "for")) {
            r->for_node = v;
            ok &= dec_duration(L, v, &r->for_ms);
        } else if (sg_str_eq_c(k->value, "keep_firing_for")) {
            r->keep_node = v;
            ok &= dec_duration(L, v, &r->keep_ms);
        } else if (sg_str_eq_c(k->value, "labels")) {
            r->labels_node = v;
            ok &= dec_string_map(L, v, &r->labels, &r->label_vals);
        } else if (sg_str_eq_c(k->value, "annotations")) {
            r->annotations_node = v;
            ok &= dec_string_map(L, v, &r->annotations, &r->annot_vals);
        } else {
            ERR_AT(L, k, "field %.*s not found in type rulefmt.RuleNode", (int)k->value.len,
                   k->value.ptr);
            ok = false;
        }
    }
    return ok;
}

static bool dec_group(struct loader *L, const struct sg_yaml_node *n, struct raw_group *g)
{
    struct fields f = {0};
    bool ok = true;

    memset(g, 0, sizeof(*g));
    g->node = n;
    if (!collect_fields(L, n, &f, NULL, 0))
        return false;
    for (size_t i = 0; i < f.n; i++) {
        const struct sg_yaml_node *k = f.v[i].key, *v = f.v[i].value;
        if (!key_used(L, k, &ok))
            continue;
        if (sg_str_eq_c(k->value, "name")) {
            ok &= dec_string(L, v, &g->name);
        } else if (sg_str_eq_c(k->value, "interval")) {
            ok &= dec_duration(L, v, &g->interval_ms);
        } else if (sg_str_eq_c(k->value, "limit")) {
            ok &= dec_int(L, v, &g->limit);
        } else if (sg_str_eq_c(k->value, "rules")) {
            if (v->kind == SG_YAML_SCALAR && sg_yaml_is_null(v))
                continue;
            if (v->kind != SG_YAML_SEQ) {
                type_error(L, v, "[]rulefmt.RuleNode");
                ok = false;
                continue;
            }
            g->rules = sg_arena_alloc_array(L->a, v->count + 1, sizeof(*g->rules));
            if (!g->rules) {
                fatal(L, SG_ENOMEM, "out of memory reading rules");
                return false;
            }
            g->nrules = 0;
            for (size_t j = 0; j < v->count; j++) {
                const struct sg_yaml_node *it = v->items[j];
                if (it->kind == SG_YAML_SCALAR && sg_yaml_is_null(it))
                    continue; /* yaml.v3 drops null items of a struct list */
                if (it->kind != SG_YAML_MAP) {
                    type_error(L, it, "rulefmt.RuleNode");
                    ok = false;
                    continue;
                }
                ok &= dec_rule(L, it, &g->rules[g->nrules]);
                g->nrules++;
            }
        } else {
            ERR_AT(L, k, "field %.*s not found in type rulefmt.RuleGroup", (int)k->value.len,
                   k->value.ptr);
            ok = false;
        }
    }
    return ok;
}

/* ---- validation -------------------------------------------------------------------------- */

static struct sg_str node_value(const struct sg_yaml_node *n)
{
    if (!n || n->kind != SG_YAML_SCALAR)
        return sg_str_make("", 0);
    return n->value;
}

static bool valid_utf8(struct sg_str s)
{
    for (size_t i = 0; i < s.len;) {
        size_t w;
        uint32_t r = sg_utf8_decode(s.ptr + i, s.len - i, &w);
        if (r == SG_RUNE_ERROR && w <= 1)
            return false;
        i += w;
    }
    return true;
}

/* "group \"g\", rule 1, \"name\": " */
static void rule_ctx(char *buf, size_t n, const struct raw_group *g, size_t idx, struct sg_str name)
{
    snprintf(buf, n, "group \"%.*s\", rule %zu, \"%.*s\": ", (int)g->name.len, g->name.ptr, idx + 1,
             (int)name.len, name.ptr);
}

static void check_expr(struct loader *L, const char *ctx, const struct raw_rule *r,
                       struct sg_rule *out)
{
    struct sg_promql_parse_opts po = {0};
    struct sg_node *root = NULL;
    struct sg_err e;
    struct sg_str text = node_value(r->expr);
    const struct sg_yaml_node *at = r->expr ? r->expr : r->node;
    uint32_t line, col;
    bool exact;
    const char *msg;
    int rc;

    if (text.len == 0) {
        ERR_AT(L, at, "%sfield 'expr' must be set in rule", ctx);
        return;
    }
    po.compat = L->opts ? L->opts->compat : NULL;
    sg_err_clear(&e);
    rc = sg_promql_parse(text, "", L->a, &po, &root, &e);
    if (rc == SG_ENOMEM) {
        fatal(L, rc, "out of memory parsing an expression");
        return;
    }
    if (rc != SG_OK) {
        /* the parser's message is Prometheus's "LINE:COL: parse error: ..."
         * behind the (empty) source name */
        msg = e.msg[0] == ':' ? e.msg + 1 : e.msg;
        scalar_pos(L, r->expr, e.off, &line, &col, &exact);
        report(L, SG_DIAG_ERROR, line, col, "%scould not parse expression: %s", ctx, msg);
        return;
    }
    out->expr = root;
    out->expr_text = text;
}

static struct sg_tmpl *check_template(struct loader *L, const char *ctx, const char *what,
                                      struct sg_str key, const struct sg_yaml_node *vn,
                                      struct sg_str alertname)
{
    struct sg_tmpl *t = NULL;
    struct sg_err e;
    uint32_t line, col;
    bool exact;
    char what_buf[96];
    int rc;

    sg_err_clear(&e);
    rc = sg_tmpl_parse_alert(vn ? vn->value : sg_str_make("", 0), alertname, L->a, &t, &e);
    if (rc == SG_ENOMEM) {
        fatal(L, rc, "out of memory parsing a template");
        return NULL;
    }
    if (rc != SG_OK) {
        if (vn)
            scalar_pos(L, vn, e.off, &line, &col, &exact);
        else
            line = col = 0;
        report(L, SG_DIAG_ERROR, line, col, "%s%s \"%.*s\": %s", ctx, what, (int)key.len, key.ptr,
               e.msg);
        return NULL;
    }
    if (L->opts && L->opts->lint_stopgate &&
        sg_tmpl_find_unsupported(t, what_buf, sizeof(what_buf), &col)) {
        uint32_t off = col >= sizeof(SG_TMPL_ALERT_DEFS) - 1 ? col - (uint32_t)(sizeof(SG_TMPL_ALERT_DEFS) - 1) : 0;
        if (vn)
            scalar_pos(L, vn, off, &line, &col, &exact);
        else
            line = col = 0;
        report(L, SG_DIAG_WARNING, line, col,
               "%s%s \"%.*s\": %s is not supported by stopgate; it renders as an error", ctx,
               what, (int)key.len, key.ptr, what_buf);
    }
    return t;
}

static void validate_rule(struct loader *L, const struct raw_group *g, size_t idx,
                          const struct raw_rule *r, struct sg_rule *out)
{
    struct sg_str record = node_value(r->record), alert = node_value(r->alert);
    struct sg_str name = alert.len ? alert : record;
    const struct sg_yaml_node *pos = r->node;
    char ctx[SG_ERR_MSG_MAX];

    rule_ctx(ctx, sizeof(ctx), g, idx, name);
    memset(out, 0, sizeof(*out));
    out->file = L->file;
    out->line = r->node->line;
    out->col = r->node->col;
    out->index = (uint32_t)idx;
    out->for_ms = r->for_ms;
    out->keep_firing_for_ms = r->keep_ms;
    out->labels = r->labels;
    out->annotations = r->annotations;
    out->name = name;
    out->kind = alert.len ? SG_RULE_ALERT : SG_RULE_RECORD;

    if (record.len && alert.len)
        ERR_AT(L, r->record, "%sonly one of 'record' and 'alert' must be set", ctx);
    if (!record.len && !alert.len)
        ERR_AT(L, r->record ? r->record : r->alert ? r->alert : pos,
               "%sone of 'record' or 'alert' must be set", ctx);
    check_expr(L, ctx, r, out);
    if (record.len) {
        const struct sg_yaml_node *rn = r->record;
        if (r->annotations.count > 0)
            ERR_AT(L, rn, "%sinvalid field 'annotations' in recording rule", ctx);
        if (r->for_ms != 0)
            ERR_AT(L, rn, "%sinvalid field 'for' in recording rule", ctx);
        if (r->keep_ms != 0)
            ERR_AT(L, rn, "%sinvalid field 'keep_firing_for' in recording rule", ctx);
        if (!sg_metric_name_valid(record))
            ERR_AT(L, rn, "%sinvalid recording rule name: %.*s", ctx, (int)record.len, record.ptr);
    }
    for (uint32_t i = 0; i < r->labels.count; i++) {
        const struct sg_label *l = &r->labels.v[i];
        const struct sg_yaml_node *vn = r->label_vals[i];
        if (!sg_label_name_valid(l->name) || sg_str_eq_c(l->name, SG_METRIC_NAME))
            ERR_AT(L, vn, "%sinvalid label name: %.*s", ctx, (int)l->name.len, l->name.ptr);
        if (!valid_utf8(l->value))
            ERR_AT(L, vn, "%sinvalid label value: %.*s", ctx, (int)l->value.len, l->value.ptr);
    }
    for (uint32_t i = 0; i < r->annotations.count; i++) {
        const struct sg_label *l = &r->annotations.v[i];
        if (!sg_label_name_valid(l->name))
            ERR_AT(L, r->annot_vals[i], "%sinvalid annotation name: %.*s", ctx, (int)l->name.len,
                   l->name.ptr);
    }
    if (alert.len) {
        struct sg_rule_tmpls *tm = sg_arena_alloc(L->a, sizeof(*tm));
        if (!tm) {
            fatal(L, SG_ENOMEM, "out of memory reading rules");
            return;
        }
        tm->labels = sg_arena_alloc_array(L->a, r->labels.count + 1, sizeof(*tm->labels));
        tm->annotations =
            sg_arena_alloc_array(L->a, r->annotations.count + 1, sizeof(*tm->annotations));
        if (!tm->labels || !tm->annotations) {
            fatal(L, SG_ENOMEM, "out of memory reading rules");
            return;
        }
        for (uint32_t i = 0; i < r->labels.count && !L->fatal; i++)
            tm->labels[i] = check_template(L, ctx, "label", r->labels.v[i].name, r->label_vals[i],
                                           alert);
        for (uint32_t i = 0; i < r->annotations.count && !L->fatal; i++)
            tm->annotations[i] = check_template(L, ctx, "annotation", r->annotations.v[i].name,
                                                r->annot_vals[i], alert);
        out->tmpls = tm;
        if (L->opts && L->opts->lint_stopgate) {
            struct sg_str stop = {"", 0};
            const struct sg_yaml_node *sn = NULL;
            for (uint32_t i = 0; i < r->labels.count; i++) {
                if (sg_str_eq_c(r->labels.v[i].name, "stop")) {
                    stop = r->labels.v[i].value;
                    sn = r->label_vals[i];
                }
            }
            if (sn && !sg_str_eq_c(stop, "pause") && !sg_str_eq_c(stop, "rollback") &&
                !sg_str_eq_c(stop, "notify"))
                report(L, SG_DIAG_WARNING, sn->line, sn->col,
                       "%slabel \"stop\": value \"%.*s\" is not one of pause, rollback, notify; "
                       "stopgate will only notify",
                       ctx, (int)stop.len, stop.ptr);
        }
    }
}

/* promtool's duplicate-rule lint: same name and labels in one file */
static void lint_duplicates(struct loader *L, struct sg_rule_group *groups, size_t ngroups)
{
    size_t total = 0, k = 0;
    const struct sg_rule **all;

    for (size_t g = 0; g < ngroups; g++)
        total += groups[g].nrules;
    if (total < 2)
        return;
    all = sg_arena_alloc_array(L->a, total, sizeof(*all));
    if (!all) {
        fatal(L, SG_ENOMEM, "out of memory reading rules");
        return;
    }
    for (size_t g = 0; g < ngroups; g++) {
        for (size_t i = 0; i < groups[g].nrules; i++)
            all[k++] = &groups[g].rules[i];
    }
    for (size_t i = 1; i < total; i++) {
        for (size_t j = 0; j < i; j++) {
            struct sg_buf lb;
            if (!sg_str_eq(all[i]->name, all[j]->name) ||
                !sg_labels_eq(&all[i]->labels, &all[j]->labels))
                continue;
            /* report each duplicate once, at its second and later copies */
            sg_buf_init(&lb, 4096);
            if (sg_labels_format(&all[i]->labels, &lb) != SG_OK)
                sg_buf_reset(&lb);
            report(L, SG_DIAG_WARNING, all[i]->line, all[i]->col,
                   "duplicate rule: %.*s%s has the same name and labels as the rule at line %u; "
                   "might cause inconsistency while recording expressions",
                   (int)all[i]->name.len, all[i]->name.ptr, sg_buf_cstr(&lb), all[j]->line);
            sg_buf_cleanup(&lb);
            break;
        }
    }
}

/* yaml.v3 takes only "%YAML 1.1" (libyaml also takes 1.2): look at the
 * directives in front of the first document */
static bool yaml_version_ok(struct loader *L)
{
    const char *t = L->text.ptr;
    size_t n = L->text.len, i = 0;
    uint32_t line = 1;

    while (i < n) {
        size_t e = i;
        while (e < n && t[e] != '\n')
            e++;
        if (e - i >= 3 && memcmp(t + i, "---", 3) == 0)
            return true;
        if (e - i >= 5 && memcmp(t + i, "%YAML", 5) == 0) {
            size_t j = i + 5;
            while (j < e && (t[j] == ' ' || t[j] == '\t'))
                j++;
            if (!(e - j >= 3 && memcmp(t + j, "1.1", 3) == 0 &&
                  (j + 3 == e || t[j + 3] == ' ' || t[j + 3] == '\t' || t[j + 3] == '\r' ||
                   t[j + 3] == '#'))) {
                report(L, SG_DIAG_ERROR, line, 1, "found incompatible YAML document");
                return false;
            }
        } else if (e > i && t[i] != '%' && t[i] != '#' && t[i] != '\r') {
            return true; /* content: no more directives */
        }
        i = e + 1;
        line++;
    }
    return true;
}

static int load_text(struct loader *L, size_t *nrules_out)
{
    struct sg_yaml_limits lim = {0};
    struct sg_yaml_node *root = NULL;
    struct sg_err ye;
    struct raw_group *rg = NULL;
    size_t nrg = 0;
    struct sg_rule_group *groups = NULL;
    size_t nrules = 0;
    int rc;

    lim.first_document_only = true;
    if (!yaml_version_ok(L))
        return SG_EPARSE;
    sg_err_clear(&ye);
    rc = sg_yaml_parse(L->text, L->file, L->a, &lim, &root, &ye);
    if (rc == SG_ENOMEM) {
        sg_err_set(L->err, rc, "%s", ye.msg);
        return rc;
    }
    if (rc != SG_OK) {
        /* "FILE:LINE:COL: problem": report without the prefix */
        const char *m = ye.msg;
        size_t fl = strlen(L->file);
        if (ye.line && strncmp(m, L->file, fl) == 0 && m[fl] == ':') {
            const char *p = strchr(m + fl + 1, ':');
            if (p)
                p = strchr(p + 1, ':');
            if (p && p[1] == ' ')
                m = p + 2;
        }
        report(L, SG_DIAG_ERROR, ye.line, ye.col, "%s", m);
        return rc == SG_ELIMIT ? SG_ELIMIT : SG_EPARSE;
    }
    if (root && !(root->kind == SG_YAML_SCALAR && sg_yaml_is_null(root))) {
        if (root->kind != SG_YAML_MAP) {
            type_error(L, root, "rulefmt.RuleGroups");
        } else {
            struct fields f = {0};
            if (collect_fields(L, root, &f, NULL, 0)) {
                for (size_t i = 0; i < f.n && !L->fatal; i++) {
                    const struct sg_yaml_node *k = f.v[i].key, *v = f.v[i].value;
                    if (!key_used(L, k, NULL))
                        continue;
                    if (!sg_str_eq_c(k->value, "groups")) {
                        ERR_AT(L, k, "field %.*s not found in type rulefmt.RuleGroups",
                               (int)k->value.len, k->value.ptr);
                        continue;
                    }
                    if (v->kind == SG_YAML_SCALAR && sg_yaml_is_null(v)) {
                        nrg = 0;
                        continue;
                    }
                    if (v->kind != SG_YAML_SEQ) {
                        type_error(L, v, "[]rulefmt.RuleGroup");
                        continue;
                    }
                    rg = sg_arena_alloc_array(L->a, v->count + 1, sizeof(*rg));
                    if (!rg) {
                        fatal(L, SG_ENOMEM, "out of memory reading rules");
                        break;
                    }
                    nrg = 0;
                    for (size_t j = 0; j < v->count && !L->fatal; j++) {
                        const struct sg_yaml_node *it = v->items[j];
                        if (it->kind == SG_YAML_SCALAR && sg_yaml_is_null(it))
                            continue;
                        if (it->kind != SG_YAML_MAP) {
                            type_error(L, it, "rulefmt.RuleGroup");
                            continue;
                        }
                        dec_group(L, it, &rg[nrg]);
                        nrg++;
                    }
                }
            }
        }
    }
    if (L->fatal)
        return L->fatal;
    /* validation (rulefmt.RuleGroups.Validate) */
    groups = sg_arena_alloc_array(L->a, nrg + 1, sizeof(*groups));
    if (!groups) {
        fatal(L, SG_ENOMEM, "out of memory reading rules");
        return L->fatal;
    }
    for (size_t j = 0; j < nrg && !L->fatal; j++) {
        struct raw_group *g = &rg[j];
        struct sg_rule_group *og = &groups[j];
        if (g->name.len == 0)
            ERR_AT(L, g->node, "Groupname must not be empty");
        for (size_t k = 0; k < j; k++) {
            if (sg_str_eq(rg[k].name, g->name)) {
                ERR_AT(L, g->node, "groupname: \"%.*s\" is repeated in the same file",
                       (int)g->name.len, g->name.ptr);
                break;
            }
        }
        og->name = g->name;
        og->file = L->file;
        og->line = g->node->line;
        og->col = g->node->col;
        og->interval_ms = g->interval_ms;
        og->limit = g->limit;
        og->nrules = g->nrules;
        og->rules = sg_arena_alloc_array(L->a, g->nrules + 1, sizeof(*og->rules));
        if (!og->rules) {
            fatal(L, SG_ENOMEM, "out of memory reading rules");
            break;
        }
        for (size_t i = 0; i < g->nrules && !L->fatal; i++)
            validate_rule(L, g, i, &g->rules[i], &og->rules[i]);
        nrules += g->nrules;
    }
    if (L->fatal)
        return L->fatal;
    if (L->errors)
        return SG_EPARSE;
    if (L->opts && L->opts->lint_duplicates)
        lint_duplicates(L, groups, nrg);
    if (L->fatal)
        return L->fatal;
    /* add the groups to the set */
    {
        struct sg_ruleset *rs = L->rs;
        if (rs->ngroups + nrg > rs->cap) {
            size_t cap = rs->cap ? rs->cap * 2 : 8;
            void *p;
            while (cap < rs->ngroups + nrg)
                cap *= 2;
            p = sg_reallocarray(rs->groups, cap, sizeof(*rs->groups));
            if (!p) {
                fatal(L, SG_ENOMEM, "out of memory reading rules");
                return L->fatal;
            }
            rs->groups = p;
            rs->cap = cap;
        }
        if (nrg)
            memcpy(rs->groups + rs->ngroups, groups, nrg * sizeof(*groups));
        rs->ngroups += nrg;
        rs->nrules += nrules;
        for (size_t j = 0; j < rs->ngroups; j++) {
            rs->groups[j].index = (uint32_t)j;
            for (size_t i = 0; i < rs->groups[j].nrules; i++)
                rs->groups[j].rules[i].group = &rs->groups[j];
        }
    }
    if (nrules_out)
        *nrules_out = nrules;
    return SG_OK;
}

struct sg_ruleset *sg_ruleset_new(void)
{
    struct sg_ruleset *rs = sg_calloc(1, sizeof(*rs));
    if (rs)
        sg_arena_init(&rs->arena, RULESET_MAX_BYTES);
    return rs;
}

void sg_ruleset_free(struct sg_ruleset *rs)
{
    if (!rs)
        return;
    sg_arena_cleanup(&rs->arena);
    sg_free(rs->groups);
    sg_free(rs);
}

int sg_ruleset_add_text(struct sg_ruleset *rs, struct sg_str text, const char *file,
                        const struct sg_rules_load_opts *opts, size_t *nrules, struct sg_err *err)
{
    struct loader L;
    size_t max = opts && opts->max_file_bytes ? opts->max_file_bytes : DEFAULT_MAX_FILE;
    char *name;

    memset(&L, 0, sizeof(L));
    if (text.len > max)
        return sg_err_set(err, SG_ELIMIT, "%s: file larger than %zu bytes", file, max);
    name = sg_arena_strdup(&rs->arena, file ? file : "<rules>");
    if (!name)
        return sg_err_set(err, SG_ENOMEM, "%s: out of memory reading rules", file);
    L.rs = rs;
    L.a = &rs->arena;
    L.file = name;
    L.text = text;
    L.opts = opts;
    L.err = err;
    return load_text(&L, nrules);
}

int sg_ruleset_add_file(struct sg_ruleset *rs, const char *path,
                        const struct sg_rules_load_opts *opts, size_t *nrules, struct sg_err *err)
{
    struct sg_buf b;
    size_t max = opts && opts->max_file_bytes ? opts->max_file_bytes : DEFAULT_MAX_FILE;
    int rc;

    sg_buf_init(&b, max);
    rc = sg_fs_read_all(path, max, &b, err);
    if (rc == SG_OK)
        rc = sg_ruleset_add_text(rs, sg_buf_view(&b), path, opts, nrules, err);
    sg_buf_cleanup(&b);
    return rc;
}

const struct sg_rule_group *sg_ruleset_groups(const struct sg_ruleset *rs, size_t *n)
{
    *n = rs ? rs->ngroups : 0;
    return rs ? rs->groups : NULL;
}

size_t sg_ruleset_rule_count(const struct sg_ruleset *rs)
{
    return rs ? rs->nrules : 0;
}
