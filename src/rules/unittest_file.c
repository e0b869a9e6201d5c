/* src/rules/unittest_file.c - decode a promtool 2.42 unit-test file.
 *
 * promtool 2.42 reads its test files with yaml.v2's UnmarshalStrict into
 * Go structs. This file reproduces what that decoder accepts and rejects,
 * on our YAML node tree:
 *
 * - Scalars resolve as yaml.v2 resolves plain scalars (YAML 1.1 flavour):
 *   null (`~`, `null`, `Null`, `NULL`, empty), bools (`yes`, `on`, `y`...),
 *   `.inf`/`-.inf`/`.nan`, integers by Go's strconv.ParseInt(s, 0, 64)
 *   after removing every `_` (so `0x10`, `010` (octal), `0o17`, `0b101`,
 *   `1_000`, `+1`), then ParseUint, then floats matching
 *   [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, timestamps. Quoted
 *   and block scalars are strings. Explicit tags (`!!float 1`) are honoured.
 * - A string field takes any non-null scalar as its text (`expr: 1` is
 *   "1"); null gives "". A float64 field takes ints and floats only.
 * - Durations (model.Duration) are decoded as strings and parsed with
 *   Prometheus's ParseDuration; a bad one stops decoding at once (a "hard"
 *   error, as in Go), while type errors, unknown fields and repeated keys
 *   are collected and reported together ("yaml: unmarshal errors:").
 * - Merge keys (`<<: *anchor`) work as in yaml.v2.
 *
 * Messages keep yaml.v2's wording, with FILE:LINE:COL where yaml.v2 says
 * "line N" (or nothing). It does not glob rule files or run anything.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/unittest_int.h"
#include "stopgate/duration.h"
#include "stopgate/num.h"
#include "stopgate/unittest.h"

#define TAG_PREFIX "tag:yaml.org,2002:"
#define TAG_STR    TAG_PREFIX "str"
#define TAG_NULL   TAG_PREFIX "null"
#define TAG_BOOL   TAG_PREFIX "bool"
#define TAG_INT    TAG_PREFIX "int"
#define TAG_FLOAT  TAG_PREFIX "float"
#define TAG_TS     TAG_PREFIX "timestamp"
#define TAG_BINARY TAG_PREFIX "binary"
#define TAG_MERGE  TAG_PREFIX "merge"
#define TAG_SEQ    TAG_PREFIX "seq"
#define TAG_MAP    TAG_PREFIX "map"

#define DEF_MAX_FILE_BYTES ((size_t)16 << 20)
/* Go's time.Duration holds nanoseconds: ParseDuration refuses more. */
#define MAX_DURATION_MS (INT64_MAX / 1000000)

struct dec {
    struct sg_arena *a;
    const char *file;
    struct sg_buf *terrs; /* collected type errors, "\n  FILE:L:C: ..." each */
    size_t nterrs;
    struct sg_err first; /* the first type error */
    struct sg_err *err;  /* the hard error, when one stops decoding */
    bool hard;
    int oom;
};

/* ---- resolution ------------------------------------------------------------------- */

enum rkind { R_NULL, R_BOOL, R_INT, R_UINT, R_FLOAT, R_STR, R_TS, R_MERGE, R_OTHER };

struct resolved {
    enum rkind kind;
    const char *tag; /* long form, for messages */
    int64_t i;
    uint64_t u;
    double f;
};

static const char *short_tag(const char *tag, char *buf, size_t n)
{
    size_t pl = strlen(TAG_PREFIX);
    if (strncmp(tag, TAG_PREFIX, pl) == 0) {
        snprintf(buf, n, "!!%s", tag + pl);
        return buf;
    }
    return tag;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool yaml_style_float(const char *s, size_t n)
{
    size_t i = 0, d;

    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    if (i < n && s[i] == '.') {
        i++;
        d = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == d)
            return false;
    } else {
        d = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == d)
            return false;
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && is_digit(s[i]))
                i++;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        d = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

/* strconv.ParseUint(s, base, 64) for base 0 or 2 (no sign, no underscores:
 * the caller removed them). */
static bool parse_uint(const char *s, size_t n, int base, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;

    if (n == 0)
        return false;
    if (base == 0) {
        base = 10;
        if (s[0] == '0' && n > 1) {
            if (s[1] == 'x' || s[1] == 'X') {
                base = 16;
                i = 2;
            } else if (s[1] == 'o' || s[1] == 'O') {
                base = 8;
                i = 2;
            } else if (s[1] == 'b' || s[1] == 'B') {
                base = 2;
                i = 2;
            } else {
                base = 8;
                i = 1;
            }
            if (i == 2 && i == n)
                return false;
        }
    }
    for (; i < n; i++) {
        int dv;
        char c = s[i];
        if (c >= '0' && c <= '9')
            dv = c - '0';
        else if (c >= 'a' && c <= 'z')
            dv = c - 'a' + 10;
        else if (c >= 'A' && c <= 'Z')
            dv = c - 'A' + 10;
        else
            return false;
        if (dv >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)dv) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)dv;
    }
    *out = v;
    return true;
}

/* strconv.ParseInt(s, base, 64) for base 0 or 2 (sign allowed). */
static bool parse_int(const char *s, size_t n, int base, int64_t *out)
{
    bool neg = false;
    uint64_t u;

    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s++;
        n--;
    }
    if (!parse_uint(s, n, base, &u))
        return false;
    if (neg) {
        if (u > (uint64_t)INT64_MAX + 1)
            return false;
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)u;
    }
    return true;
}

static bool get_num(const char *s, size_t *i, size_t n, size_t min, size_t max, int *out)
{
    size_t st = *i;
    int v = 0;

    while (*i < n && *i - st < max && is_digit(s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    if (*i - st < min)
        return false;
    *out = v;
    return true;
}

/* yaml.v2's timestamp check: Go's time.Parse with the layouts
 * "2006-1-2T15:4:5.999999999Z07:00" (also with a lower-case t),
 * "2006-1-2 15:4:5.999999999" and "2006-1-2". */
static bool is_timestamp(const char *s, size_t n)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    int y, mo, d, h, mi, sec;
    char sep;

    if (n < 5 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) || !is_digit(s[3]) ||
        s[4] != '-')
        return false;
    if (!get_num(s, &i, n, 4, 4, &y) || i >= n || s[i++] != '-')
        return false;
    if (!get_num(s, &i, n, 1, 2, &mo) || i >= n || s[i++] != '-')
        return false;
    if (!get_num(s, &i, n, 1, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return false;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    if (i == n)
        return true;
    sep = s[i++];
    if (sep != 'T' && sep != 't' && sep != ' ')
        return false;
    if (!get_num(s, &i, n, 1, 2, &h) || i >= n || s[i++] != ':')
        return false;
    if (!get_num(s, &i, n, 1, 2, &mi) || i >= n || s[i++] != ':')
        return false;
    if (!get_num(s, &i, n, 1, 2, &sec))
        return false;
    if (h > 23 || mi > 59 || sec > 59)
        return false;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
        i++;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (sep == ' ')
        return i == n;
    if (i < n && s[i] == 'Z')
        return i + 1 == n;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        int zh, zm;
        i++;
        if (!get_num(s, &i, n, 2, 2, &zh) || i >= n || s[i++] != ':')
            return false;
        if (!get_num(s, &i, n, 2, 2, &zm))
            return false;
        return i == n && zh < 24 && zm < 60;
    }
    return false;
}

static bool resolvable_tag(const char *tag)
{
    return !tag || !*tag || strcmp(tag, TAG_STR) == 0 || strcmp(tag, TAG_BOOL) == 0 ||
           strcmp(tag, TAG_INT) == 0 || strcmp(tag, TAG_FLOAT) == 0 || strcmp(tag, TAG_NULL) == 0 ||
           strcmp(tag, TAG_TS) == 0;
}

static int type_error(struct dec *d, const struct sg_yaml_node *n, const char *fmt, ...)
    SG_PRINTF(3, 4);

/* Record one collected (non-fatal) error at n. */
static int type_error(struct dec *d, const struct sg_yaml_node *n, const char *fmt, ...)
{
    char msg[SG_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (d->nterrs == 0)
        sg_yaml_err(&d->first, SG_EPARSE, n, "%s", msg);
    d->nterrs++;
    if (d->terrs &&
        sg_buf_appendf(d->terrs, "\n  %s:%u:%u: %s", n->file, n->line, n->col, msg) != SG_OK)
        d->oom = 1;
    return SG_OK;
}

/* Stop decoding with an error at n. */
static int hard_error(struct dec *d, const struct sg_yaml_node *n, const char *fmt, ...)
    SG_PRINTF(3, 4);

static int hard_error(struct dec *d, const struct sg_yaml_node *n, const char *fmt, ...)
{
    char msg[SG_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    d->hard = true;
    return sg_yaml_err(d->err, SG_EPARSE, n, "%s", msg);
}

/* yaml.v2's resolve() for scalar node n, including the check that an
 * explicit tag fits the value ("cannot decode !!str `x` as a !!int"). */
static int resolve(struct dec *d, const struct sg_yaml_node *n, struct resolved *r)
{
    const char *tag = n->tag;
    const char *s = n->value.ptr;
    size_t len = n->value.len;
    char hint = 'N';
    enum rkind k = R_STR;
    const char *rtag = TAG_STR;

    memset(r, 0, sizeof(*r));
    /* untagged non-plain scalars are strings without resolution */
    if (!tag && n->style != SG_YAML_PLAIN) {
        r->kind = R_STR;
        r->tag = TAG_STR;
        return SG_OK;
    }
    if (!resolvable_tag(tag)) { /* "!foo", and the non-specific "!" */
        r->kind = R_OTHER;
        r->tag = tag;
        return SG_OK;
    }
    if (len > 0) {
        unsigned char c = (unsigned char)s[0];
        if (c == '+' || c == '-')
            hint = 'S';
        else if (is_digit((char)c))
            hint = 'D';
        else if (strchr("yYnNtTfFoO~", c) && c)
            hint = 'M';
        else if (c == '.')
            hint = '.';
        else
            hint = 0;
    }
    if (hint && !(tag && (strcmp(tag, TAG_STR) == 0 || strcmp(tag, TAG_BINARY) == 0))) {
        static const struct {
            const char *s;
            enum rkind k;
            double f;
        } map[] = {
            {"y", R_BOOL, 1},       {"Y", R_BOOL, 1},       {"yes", R_BOOL, 1},
            {"Yes", R_BOOL, 1},     {"YES", R_BOOL, 1},     {"true", R_BOOL, 1},
            {"True", R_BOOL, 1},    {"TRUE", R_BOOL, 1},    {"on", R_BOOL, 1},
            {"On", R_BOOL, 1},      {"ON", R_BOOL, 1},      {"n", R_BOOL, 0},
            {"N", R_BOOL, 0},       {"no", R_BOOL, 0},      {"No", R_BOOL, 0},
            {"NO", R_BOOL, 0},      {"false", R_BOOL, 0},   {"False", R_BOOL, 0},
            {"FALSE", R_BOOL, 0},   {"off", R_BOOL, 0},     {"Off", R_BOOL, 0},
            {"OFF", R_BOOL, 0},     {"", R_NULL, 0},        {"~", R_NULL, 0},
            {"null", R_NULL, 0},    {"Null", R_NULL, 0},    {"NULL", R_NULL, 0},
            {".nan", R_FLOAT, 0},   {".NaN", R_FLOAT, 0},   {".NAN", R_FLOAT, 0},
            {".inf", R_FLOAT, 1},   {".Inf", R_FLOAT, 1},   {".INF", R_FLOAT, 1},
            {"+.inf", R_FLOAT, 1},  {"+.Inf", R_FLOAT, 1},  {"+.INF", R_FLOAT, 1},
            {"-.inf", R_FLOAT, -1}, {"-.Inf", R_FLOAT, -1}, {"-.INF", R_FLOAT, -1},
            {"<<", R_MERGE, 0},
        };
        bool found = false;

        for (size_t i = 0; i < SG_ARRAY_LEN(map); i++) {
            if (sg_str_eq_c(n->value, map[i].s)) {
                found = true;
                k = map[i].k;
                if (k == R_BOOL) {
                    rtag = TAG_BOOL;
                    r->i = (int64_t)map[i].f;
                } else if (k == R_NULL) {
                    rtag = TAG_NULL;
                } else if (k == R_MERGE) {
                    rtag = TAG_MERGE;
                } else {
                    rtag = TAG_FLOAT;
                    r->f = map[i].f == 0 ? NAN : map[i].f * INFINITY;
                }
                break;
            }
        }
        if (!found && hint == '.') {
            double f;
            if (sg_num_parse(n->value, &f) == SG_OK) {
                k = R_FLOAT;
                rtag = TAG_FLOAT;
                r->f = f;
            }
        } else if (!found && (hint == 'D' || hint == 'S')) {
            char *plain;
            size_t pl = 0;
            int64_t iv;
            uint64_t uv;
            double f;

            if ((!tag || strcmp(tag, TAG_TS) == 0) && is_timestamp(s, len)) {
                k = R_TS;
                rtag = TAG_TS;
                goto done;
            }
            plain = sg_arena_alloc_raw(d->a, len + 1);
            if (!plain) {
                d->oom = 1;
                return sg_err_set(d->err, SG_ENOMEM, "%s: out of memory", d->file);
            }
            for (size_t i = 0; i < len; i++) {
                if (s[i] != '_')
                    plain[pl++] = s[i];
            }
            plain[pl] = '\0';
            if (parse_int(plain, pl, 0, &iv)) {
                k = R_INT;
                rtag = TAG_INT;
                r->i = iv;
            } else if (parse_uint(plain, pl, 0, &uv)) {
                k = R_UINT;
                rtag = TAG_INT;
                r->u = uv;
            } else if (yaml_style_float(plain, pl) &&
                       sg_num_parse(sg_str_make(plain, pl), &f) == SG_OK) {
                k = R_FLOAT;
                rtag = TAG_FLOAT;
                r->f = f;
            } else if (pl > 2 && plain[0] == '0' && plain[1] == 'b') {
                if (parse_int(plain + 2, pl - 2, 2, &iv)) {
                    k = R_INT;
                    rtag = TAG_INT;
                    r->i = iv;
                } else if (parse_uint(plain + 2, pl - 2, 2, &uv)) {
                    k = R_UINT;
                    rtag = TAG_INT;
                    r->u = uv;
                }
            } else if (pl > 3 && plain[0] == '-' && plain[1] == '0' && plain[2] == 'b') {
                if (parse_uint(plain + 3, pl - 3, 2, &uv) && uv <= (uint64_t)INT64_MAX + 1) {
                    k = R_INT;
                    rtag = TAG_INT;
                    r->i = uv == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)uv;
                }
            }
        }
    }
done:
    /* an explicit tag must agree with what the value resolved to */
    if (tag && *tag && strcmp(tag, rtag) != 0 && strcmp(tag, TAG_STR) != 0 &&
        strcmp(tag, TAG_BINARY) != 0) {
        char b1[64], b2[64];
        if (strcmp(tag, TAG_FLOAT) == 0 && k == R_INT) {
            k = R_FLOAT;
            rtag = TAG_FLOAT;
            r->f = (double)r->i;
        } else {
            return hard_error(d, n, "yaml: cannot decode %s `%s` as a %s",
                              short_tag(rtag, b1, sizeof(b1)), s, short_tag(tag, b2, sizeof(b2)));
        }
    }
    r->kind = k;
    r->tag = n->tag ? n->tag : rtag; /* yaml.v2 names the node's own tag in type errors */
    return SG_OK;
}

/* "cannot unmarshal !!str `abcdefg...` into float64" */
static int terror(struct dec *d, const struct sg_yaml_node *n, const char *tag, const char *type)
{
    char b[64];
    const char *t = n->tag ? n->tag : tag;

    if (strcmp(t, TAG_SEQ) == 0 || strcmp(t, TAG_MAP) == 0)
        return type_error(d, n, "cannot unmarshal %s into %s", short_tag(t, b, sizeof(b)), type);
    if (n->value.len > 10)
        return type_error(d, n, "cannot unmarshal %s `%.7s...` into %s", short_tag(t, b, sizeof(b)),
                          n->value.ptr, type);
    return type_error(d, n, "cannot unmarshal %s `%s` into %s", short_tag(t, b, sizeof(b)),
                      n->value.ptr, type);
}

static int kind_error(struct dec *d, const struct sg_yaml_node *n, const char *type)
{
    return terror(d, n, n->kind == SG_YAML_SEQ ? TAG_SEQ : TAG_MAP, type);
}

/* ---- decoders for the Go types promtool uses ------------------------------------------ */

/* The node of a Go struct or map (want SG_YAML_MAP) or slice (want
 * SG_YAML_SEQ) of type `type`: true when it is that collection or null
 * (*null tells which; null decodes to the zero value); false after the type
 * error for the other collection or any other scalar. */
static bool dec_collection(struct dec *d, const struct sg_yaml_node *n, enum sg_yaml_kind want,
                           const char *type, bool *null)
{
    struct resolved r;

    *null = false;
    if (n->kind == want)
        return true;
    if (n->kind != SG_YAML_SCALAR) {
        kind_error(d, n, type);
        return false;
    }
    if (resolve(d, n, &r) != SG_OK)
        return false;
    if (r.kind != R_NULL) {
        terror(d, n, r.tag, type);
        return false;
    }
    *null = true;
    return true;
}

/* string: any non-null scalar's text; null gives "". Returns false when the
 * node did not decode (a type error was recorded). */
static bool dec_string(struct dec *d, const struct sg_yaml_node *n, struct sg_str *out)
{
    struct resolved r;

    *out = sg_str_make("", 0);
    if (n->kind != SG_YAML_SCALAR) {
        kind_error(d, n, "string");
        return false;
    }
    if (resolve(d, n, &r) != SG_OK)
        return false;
    if (r.kind != R_NULL)
        *out = n->value;
    return true;
}

static bool dec_float(struct dec *d, const struct sg_yaml_node *n, double *out)
{
    struct resolved r;

    *out = 0;
    if (n->kind != SG_YAML_SCALAR) {
        kind_error(d, n, "float64");
        return false;
    }
    if (resolve(d, n, &r) != SG_OK)
        return false;
    switch (r.kind) {
    case R_NULL:
        return true;
    case R_INT:
        *out = (double)r.i;
        return true;
    case R_UINT:
        *out = (double)r.u;
        return true;
    case R_FLOAT:
        *out = r.f;
        return true;
    default:
        terror(d, n, r.tag, "float64");
        return false;
    }
}

/* model.Duration: its UnmarshalYAML decodes a string and parses it. A plain
 * untagged null (or a !!null tag) skips the unmarshaler and leaves 0. */
static bool dec_duration(struct dec *d, const struct sg_yaml_node *n, int64_t *out_ms)
{
    struct sg_str s;
    struct sg_err e;
    int64_t ms;

    *out_ms = 0;
    if (n->kind == SG_YAML_SCALAR) {
        bool plain_null =
            !n->tag && n->style == SG_YAML_PLAIN &&
            (n->value.len == 0 || sg_str_eq_c(n->value, "~") || sg_str_eq_c(n->value, "null"));
        if (plain_null)
            return true;
        if (n->tag && strcmp(n->tag, TAG_NULL) == 0) {
            struct resolved r;
            if (resolve(d, n, &r) != SG_OK)
                return false;
            return true; /* resolve() refused anything that is not null */
        }
    }
    if (!dec_string(d, n, &s))
        return false;
    sg_err_clear(&e);
    if (sg_duration_parse(s, &ms, &e) != SG_OK) {
        if (s.len == 0)
            hard_error(d, n, "empty duration string");
        else if (e.code == SG_ELIMIT)
            hard_error(d, n, "duration out of range");
        else
            hard_error(d, n, "not a valid duration string: \"%s\"", s.ptr);
        return false;
    }
    if (ms > MAX_DURATION_MS) {
        hard_error(d, n, "duration out of range");
        return false;
    }
    *out_ms = ms;
    return true;
}

static bool is_merge_key(const struct sg_yaml_node *k)
{
    if (k->kind != SG_YAML_SCALAR || !sg_str_eq_c(k->value, "<<"))
        return false;
    if (k->tag)
        return strcmp(k->tag, TAG_MERGE) == 0 || strcmp(k->tag, "!") == 0;
    return k->style == SG_YAML_PLAIN;
}

/* A Go struct: a field table, and a callback per known field. */
struct field {
    const char *name;
    int id;
};

typedef bool (*field_fn)(struct dec *d, int id, const struct sg_yaml_node *v, void *target);

static bool dec_struct(struct dec *d, const struct sg_yaml_node *n, const char *type,
                       const struct field *fields, size_t nfields, field_fn fn, void *target);

/* yaml.v2's merge(): a mapping, an alias of one, or a sequence of them
 * (later entries first, so earlier ones win). */
static bool dec_merge(struct dec *d, const struct sg_yaml_node *v, const char *type,
                      const struct field *fields, size_t nfields, field_fn fn, void *target)
{
    if (v->kind == SG_YAML_MAP)
        return dec_struct(d, v, type, fields, nfields, fn, target);
    if (v->kind == SG_YAML_SEQ) {
        for (size_t i = v->count; i-- > 0;) {
            if (v->items[i]->kind != SG_YAML_MAP) {
                hard_error(d, v->items[i],
                           "yaml: map merge requires map or sequence of maps as the value");
                return false;
            }
            dec_struct(d, v->items[i], type, fields, nfields, fn, target);
            if (d->hard)
                return false;
        }
        return true;
    }
    hard_error(d, v, "yaml: map merge requires map or sequence of maps as the value");
    return false;
}

static bool dec_struct(struct dec *d, const struct sg_yaml_node *n, const char *type,
                       const struct field *fields, size_t nfields, field_fn fn, void *target)
{
    bool done[16] = {false};
    bool null;

    if (!dec_collection(d, n, SG_YAML_MAP, type, &null))
        return false;
    if (null)
        return true;
    for (size_t i = 0; i < n->count && !d->hard; i++) {
        const struct sg_yaml_node *k = n->pairs[i].key, *v = n->pairs[i].value;
        struct sg_str name;
        size_t f;

        if (is_merge_key(k)) {
            dec_merge(d, v, type, fields, nfields, fn, target);
            continue;
        }
        if (!dec_string(d, k, &name))
            continue;
        for (f = 0; f < nfields; f++) {
            if (sg_str_eq_c(name, fields[f].name) && strlen(fields[f].name) == name.len)
                break;
        }
        if (f == nfields) {
            type_error(d, k, "field %s not found in type %s", name.ptr, type);
            continue;
        }
        if (done[f]) {
            type_error(d, k, "field %s already set in type %s", name.ptr, type);
            continue;
        }
        done[f] = true;
        fn(d, fields[f].id, v, target);
    }
    return !d->hard;
}

/* A Go slice: null gives nil; a sequence decodes each item (items that fail
 * to decode are dropped, as in yaml.v2); anything else is a type error. */
static bool dec_seq(struct dec *d, const struct sg_yaml_node *n, const char *type, size_t elem_size,
                    void **out, size_t *count,
                    bool (*elem)(struct dec *d, const struct sg_yaml_node *n, void *out))
{
    char *arr;
    size_t j = 0;
    bool null;

    *out = NULL;
    *count = 0;
    if (!dec_collection(d, n, SG_YAML_SEQ, type, &null))
        return false;
    if (null)
        return true;
    if (n->count == 0)
        return true;
    arr = sg_arena_alloc_array(d->a, n->count, elem_size);
    if (!arr) {
        d->oom = 1;
        hard_error(d, n, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n->count && !d->hard; i++) {
        if (elem(d, n->items[i], arr + j * elem_size))
            j++;
        else
            memset(arr + j * elem_size, 0, elem_size);
    }
    *out = arr;
    *count = j;
    return !d->hard;
}

/* map[string]string into a sorted label set (labels.FromMap). Repeated keys
 * are an error in strict mode, also when they come through a merge. */
struct strmap {
    struct sg_label *v;
    size_t n, cap;
};

static bool strmap_put(struct dec *d, struct strmap *m, const struct sg_yaml_node *vn,
                       struct sg_str k, struct sg_str v)
{
    for (size_t i = 0; i < m->n; i++) {
        if (sg_str_eq(m->v[i].name, k)) {
            struct sg_buf q;
            sg_buf_init(&q, 4096);
            if (sg_ut__quote(k, 0, &q) != SG_OK) {
                sg_buf_cleanup(&q);
                return false;
            }
            type_error(d, vn, "key %s already set in map", sg_buf_cstr(&q));
            sg_buf_cleanup(&q);
            return false;
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        void *p = sg_arena_grow(d->a, m->v, m->cap * sizeof(*m->v), cap * sizeof(*m->v));
        if (!p) {
            d->oom = 1;
            hard_error(d, vn, "out of memory");
            return false;
        }
        m->v = p;
        m->cap = cap;
    }
    m->v[m->n].name = k;
    m->v[m->n].value = v;
    m->n++;
    return true;
}

static bool dec_strmap_into(struct dec *d, const struct sg_yaml_node *n, const char *type,
                            struct strmap *m)
{
    bool null;

    if (!dec_collection(d, n, SG_YAML_MAP, type, &null))
        return false;
    if (null)
        return true;
    for (size_t i = 0; i < n->count && !d->hard; i++) {
        const struct sg_yaml_node *k = n->pairs[i].key, *v = n->pairs[i].value;
        struct sg_str ks, vs;

        if (is_merge_key(k)) {
            if (v->kind == SG_YAML_MAP) {
                dec_strmap_into(d, v, type, m);
            } else if (v->kind == SG_YAML_SEQ) {
                for (size_t j = v->count; j-- > 0 && !d->hard;) {
                    if (v->items[j]->kind != SG_YAML_MAP) {
                        hard_error(d, v->items[j],
                                   "yaml: map merge requires map or sequence of maps as the value");
                        return false;
                    }
                    dec_strmap_into(d, v->items[j], type, m);
                }
            } else {
                hard_error(d, v, "yaml: map merge requires map or sequence of maps as the value");
            }
            continue;
        }
        if (!dec_string(d, k, &ks))
            continue;
        if (!dec_string(d, v, &vs))
            continue;
        strmap_put(d, m, v, ks, vs);
    }
    return !d->hard;
}

static int label_cmp(const void *a, const void *b)
{
    const struct sg_label *x = a, *y = b;
    int c = sg_str_cmp(x->name, y->name);
    return c ? c : sg_str_cmp(x->value, y->value);
}

static bool dec_labels(struct dec *d, const struct sg_yaml_node *n, struct sg_labels *out)
{
    struct strmap m = {0};
    bool ok;

    out->v = NULL;
    out->count = 0;
    ok = dec_strmap_into(d, n, "map[string]string", &m);
    if (m.n > 1)
        qsort(m.v, m.n, sizeof(*m.v), label_cmp);
    out->v = m.v;
    out->count = (uint32_t)m.n;
    return ok;
}

/* ---- promtool's structs ---------------------------------------------------------------- */

enum {
    F_RULE_FILES,
    F_EVAL_INTERVAL,
    F_GROUP_ORDER,
    F_TESTS,
    F_INTERVAL,
    F_INPUT_SERIES,
    F_ALERT_TESTS,
    F_EXPR_TESTS,
    F_EXT_LABELS,
    F_EXT_URL,
    F_NAME,
    F_SERIES,
    F_VALUES,
    F_EVAL_TIME,
    F_ALERTNAME,
    F_EXP_ALERTS,
    F_EXP_LABELS,
    F_EXP_ANNOTATIONS,
    F_EXPR,
    F_EXP_SAMPLES,
    F_LABELS,
    F_VALUE,
};

static const struct field file_fields[] = {
    {"rule_files", F_RULE_FILES},
    {"evaluation_interval", F_EVAL_INTERVAL},
    {"group_eval_order", F_GROUP_ORDER},
    {"tests", F_TESTS},
};
static const struct field group_fields[] = {
    {"interval", F_INTERVAL},
    {"input_series", F_INPUT_SERIES},
    {"alert_rule_test", F_ALERT_TESTS},
    {"promql_expr_test", F_EXPR_TESTS},
    {"external_labels", F_EXT_LABELS},
    {"external_url", F_EXT_URL},
    {"name", F_NAME},
};
static const struct field series_fields[] = {{"series", F_SERIES}, {"values", F_VALUES}};
static const struct field alert_test_fields[] = {
    {"eval_time", F_EVAL_TIME}, {"alertname", F_ALERTNAME}, {"exp_alerts", F_EXP_ALERTS}};
static const struct field alert_fields[] = {{"exp_labels", F_EXP_LABELS},
                                            {"exp_annotations", F_EXP_ANNOTATIONS}};
static const struct field expr_test_fields[] = {
    {"expr", F_EXPR}, {"eval_time", F_EVAL_TIME}, {"exp_samples", F_EXP_SAMPLES}};
static const struct field sample_fields[] = {{"labels", F_LABELS}, {"value", F_VALUE}};

static bool elem_string(struct dec *d, const struct sg_yaml_node *n, void *out)
{
    return dec_string(d, n, out);
}

static bool sample_field(struct dec *d, int id, const struct sg_yaml_node *v, void *target)
{
    struct sg_ut_exp_sample *s = target;
    return id == F_LABELS ? dec_string(d, v, &s->labels) : dec_float(d, v, &s->value);
}

static bool elem_sample(struct dec *d, const struct sg_yaml_node *n, void *out)
{
    return dec_struct(d, n, "main.sample", sample_fields, SG_ARRAY_LEN(sample_fields), sample_field,
                      out);
}

static bool expr_test_field(struct dec *d, int id, const struct sg_yaml_node *v, void *target)
{
    struct sg_ut_expr_test *t = target;
    switch (id) {
    case F_EXPR:
        return dec_string(d, v, &t->expr);
    case F_EVAL_TIME:
        return dec_duration(d, v, &t->eval_time_ms);
    default:
        return dec_seq(d, v, "[]main.sample", sizeof(*t->exp), (void **)&t->exp, &t->nexp,
                       elem_sample);
    }
}

static bool elem_expr_test(struct dec *d, const struct sg_yaml_node *n, void *out)
{
    ((struct sg_ut_expr_test *)out)->node = n;
    return dec_struct(d, n, "main.promqlTestCase", expr_test_fields, SG_ARRAY_LEN(expr_test_fields),
                      expr_test_field, out);
}

static bool alert_field(struct dec *d, int id, const struct sg_yaml_node *v, void *target)
{
    struct sg_ut_exp_alert *a = target;
    return dec_labels(d, v, id == F_EXP_LABELS ? &a->labels : &a->annotations);
}

static bool elem_alert(struct dec *d, const struct sg_yaml_node *n, void *out)
{
    return dec_struct(d, n, "main.alert", alert_fields, SG_ARRAY_LEN(alert_fields), alert_field,
                      out);
}

static bool alert_test_field(struct dec *d, int id, const struct sg_yaml_node *v, void *target)
{
    struct sg_ut_alert_test *t = target;
    switch (id) {
    case F_EVAL_TIME:
        return dec_duration(d, v, &t->eval_time_ms);
    case F_ALERTNAME:
        return dec_string(d, v, &t->alertname);
    default:
        return dec_seq(d, v, "[]main.alert", sizeof(*t->exp), (void **)&t->exp, &t->nexp,
                       elem_alert);
    }
}

static bool elem_alert_test(struct dec *d, const struct sg_yaml_node *n, void *out)
{
    ((struct sg_ut_alert_test *)out)->node = n;
    return dec_struct(d, n, "main.alertTestCase", alert_test_fields,
                      SG_ARRAY_LEN(alert_test_fields), alert_test_field, out);
}

static bool series_field(struct dec *d, int id, const struct sg_yaml_node *v, void *target)
{
    struct sg_ut_input_series *s = target;
    if (id == F_SERIES) {
        s->series_node = v;
        return dec_string(d, v, &s->series);
    }
    s->values_node = v;
    return dec_string(d, v, &s->values);
}

static bool elem_series(struct dec *d, const struct sg_yaml_node *n, void *out)
{
    return dec_struct(d, n, "main.series", series_fields, SG_ARRAY_LEN(series_fields), series_field,
                      out);
}

/* labels.Labels: its UnmarshalYAML decodes a map[string]string. */
static bool dec_ext_labels(struct dec *d, const struct sg_yaml_node *n, struct sg_labels *out)
{
    return dec_labels(d, n, out);
}

static bool group_field(struct dec *d, int id, const struct sg_yaml_node *v, void *target)
{
    struct sg_ut_group *g = target;
    switch (id) {
    case F_INTERVAL:
        return dec_duration(d, v, &g->interval_ms);
    case F_INPUT_SERIES:
        return dec_seq(d, v, "[]main.series", sizeof(*g->series), (void **)&g->series, &g->nseries,
                       elem_series);
    case F_ALERT_TESTS:
        return dec_seq(d, v, "[]main.alertTestCase", sizeof(*g->alerts), (void **)&g->alerts,
                       &g->nalerts, elem_alert_test);
    case F_EXPR_TESTS:
        return dec_seq(d, v, "[]main.promqlTestCase", sizeof(*g->exprs), (void **)&g->exprs,
                       &g->nexprs, elem_expr_test);
    case F_EXT_LABELS:
        return dec_ext_labels(d, v, &g->external_labels);
    case F_EXT_URL:
        return dec_string(d, v, &g->external_url);
    default:
        return dec_string(d, v, &g->name);
    }
}

static bool elem_group(struct dec *d, const struct sg_yaml_node *n, void *out)
{
    ((struct sg_ut_group *)out)->node = n;
    return dec_struct(d, n, "main.testGroup", group_fields, SG_ARRAY_LEN(group_fields), group_field,
                      out);
}

static bool file_field(struct dec *d, int id, const struct sg_yaml_node *v, void *target)
{
    struct sg_ut_file *f = target;
    switch (id) {
    case F_RULE_FILES:
        return dec_seq(d, v, "[]string", sizeof(*f->rule_files), (void **)&f->rule_files,
                       &f->nrule_files, elem_string);
    case F_EVAL_INTERVAL:
        return dec_duration(d, v, &f->eval_interval_ms);
    case F_GROUP_ORDER:
        return dec_seq(d, v, "[]string", sizeof(*f->group_eval_order),
                       (void **)&f->group_eval_order, &f->norder, elem_string);
    default:
        return dec_seq(d, v, "[]main.testGroup", sizeof(*f->tests), (void **)&f->tests, &f->ntests,
                       elem_group);
    }
}

int sg_ut_file_parse(struct sg_str text, const char *name, struct sg_arena *arena,
                     const struct sg_ut_limits *limits, struct sg_ut_file **out, struct sg_buf *msg,
                     struct sg_err *err)
{
    struct sg_yaml_limits ylim = {0};
    struct sg_yaml_node *root = NULL;
    struct sg_ut_file *f;
    struct sg_buf terrs;
    struct dec d;
    size_t max_bytes =
        limits && limits->max_file_bytes ? limits->max_file_bytes : DEF_MAX_FILE_BYTES;
    int rc;

    if (text.len > max_bytes) {
        rc = sg_err_set(err, SG_ELIMIT, "%s: test file larger than %zu bytes", name, max_bytes);
        goto fail_msg;
    }
    ylim.first_document_only = true;
    rc = sg_yaml_parse(text, name, arena, &ylim, &root, err);
    if (rc != SG_OK)
        goto fail_msg;
    f = sg_arena_alloc(arena, sizeof(*f));
    if (!f) {
        rc = sg_err_set(err, SG_ENOMEM, "%s: out of memory", name);
        goto fail_msg;
    }
    if (!root) { /* an empty document decodes to the zero value */
        *out = f;
        return SG_OK;
    }
    sg_buf_init(&terrs, 1 << 20);
    memset(&d, 0, sizeof(d));
    d.a = arena;
    d.file = name;
    d.terrs = &terrs;
    d.err = err;
    sg_err_clear(&d.first);
    dec_struct(&d, root, "main.unitTestFile", file_fields, SG_ARRAY_LEN(file_fields), file_field,
               f);
    if (d.hard) {
        sg_buf_cleanup(&terrs);
        rc = err ? err->code : SG_EPARSE;
        if (rc == SG_OK)
            rc = SG_EPARSE;
        goto fail_msg;
    }
    if (d.nterrs > 0) {
        if (err) {
            sg_err_clear(err);
            *err = d.first;
        }
        if (msg) {
            sg_buf_reset(msg);
            if (sg_buf_puts(msg, "yaml: unmarshal errors:") != SG_OK ||
                sg_buf_append_str(msg, sg_buf_view(&terrs)) != SG_OK) {
                /* keep what fits */
            }
        }
        sg_buf_cleanup(&terrs);
        return d.first.code ? d.first.code : SG_EPARSE;
    }
    sg_buf_cleanup(&terrs);
    *out = f;
    return SG_OK;

fail_msg:
    if (msg) {
        sg_buf_reset(msg);
        if (sg_buf_puts(msg, err && err->msg[0] ? err->msg : sg_strerror(rc)) != SG_OK) {
            /* keep what fits */
        }
    }
    return rc;
}
