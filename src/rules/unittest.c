/* src/rules/unittest.c - run promtool 2.42 unit-test files.
 *
 * What one file goes through, in promtool's order (cmd/promtool/unittest.go
 * and promql/test.go's LazyLoader at v2.42.0):
 *
 *  1. read and decode (unittest_file.c); rule_files are joined to the test
 *     file's directory and globbed ("  WARNING: no file match pattern X"
 *     for a pattern without matches); evaluation_interval 0 means 1m;
 *     a repeated group_eval_order name fails the file.
 *  2. every test group on its own:
 *     a. the input series are written out as a `load <interval>` block,
 *        exactly as promtool builds that text, and read back line by line
 *        (trimmed, `#` lines blank, a blank line ends the block): each line
 *        is a series description. A repeated label set replaces the earlier
 *        definition. interval 0 puts every sample at t=0 (the first one at a
 *        timestamp wins, as in the TSDB head).
 *     b. rule groups are loaded (with the test group's interval, external
 *        labels and URL), an alert_rule_test without alertname fails.
 *     c. ticks ts = 0, ei, 2ei, ... while ts <= the largest eval_time of the
 *        group: input samples with t <= ts are appended (empty label values
 *        dropped, an empty label set is "empty labelset: invalid sample"),
 *        every rule group is evaluated at ts, a rule error ends the group;
 *        alert tests whose eval_time lies in [ts, ts+ei) are checked against
 *        the firing alerts of every rule of that name.
 *     d. expression tests run last, as instant queries at eval_time against
 *        whatever was loaded (lookback 5m, at most 10000 samples per query,
 *        `@` and negative offsets on, subquery default step = ei); a scalar
 *        is one sample without labels; expected and actual samples are
 *        sorted by labels and compared exactly (so NaN never matches).
 *  3. the report: promtool's text on stdout and stderr.
 *
 * Without rule groups the ticks do nothing but load samples, so the loop
 * is skipped and samples are loaded up to the last tick at once.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules/unittest_int.h"
#include "stopgate/duration.h"
#include "stopgate/fs.h"
#include "stopgate/num.h"
#include "stopgate/promql.h"
#include "stopgate/rules.h"
#include "stopgate/store.h"
#include "stopgate/unittest.h"

#define DEF_MAX_FILE_BYTES   ((size_t)16 << 20)
#define DEF_MAX_SAMPLES      ((size_t)10000000)
#define DEF_MAX_TICKS        ((uint64_t)10000000)
#define DEF_MAX_STORE_BYTES  ((size_t)1 << 30)
#define DEF_MAX_QUERY_SAMPLE ((size_t)10000)
#define LOOKBACK_MS          INT64_C(300000)
#define DEFAULT_EVAL_MS      INT64_C(60000)

/* ---- error list -------------------------------------------------------------------- */

/* The failures of one file, in order; each a complete message. */
struct errlist {
    struct sg_arena *a;
    char **v;
    size_t n, cap;
    bool oom;
};

static void errs_add_str(struct errlist *e, const char *s, size_t len)
{
    char *c;

    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        void *p = sg_arena_grow(e->a, e->v, e->cap * sizeof(*e->v), cap * sizeof(*e->v));
        if (!p) {
            e->oom = true;
            return;
        }
        e->v = p;
        e->cap = cap;
    }
    c = sg_arena_strndup(e->a, s, len);
    if (!c) {
        e->oom = true;
        return;
    }
    e->v[e->n++] = c;
}

static void errs_add(struct errlist *e, const char *fmt, ...) SG_PRINTF(2, 3);

static void errs_add(struct errlist *e, const char *fmt, ...)
{
    struct sg_buf b;
    va_list ap;

    sg_buf_init(&b, 1 << 24);
    va_start(ap, fmt);
    if (sg_buf_vappendf(&b, fmt, ap) != SG_OK)
        e->oom = true;
    va_end(ap);
    errs_add_str(e, sg_buf_cstr(&b), b.len);
    sg_buf_cleanup(&b);
}

/* ---- small Go helpers --------------------------------------------------------------- */

/* strings.TrimSpace: the offset and length of the trimmed part. */
static struct sg_str go_trim_space(struct sg_str s, size_t *lead)
{
    size_t b = 0, e = s.len, w;

    while (b < e) {
        uint32_t r = sg_ut__rune(s.ptr, s.len, b, &w);
        if (!sg_rune_is_space(r))
            break;
        b += w;
    }
    while (e > b) {
        /* step back one rune */
        size_t st = e - 1;
        while (st > b && ((unsigned char)s.ptr[st] & 0xC0) == 0x80 && e - st < 4)
            st--;
        if (!sg_rune_is_space(sg_ut__rune(s.ptr, e, st, &w)) || st + w != e)
            break;
        e = st;
    }
    *lead = b;
    return sg_str_make(s.ptr + b, e - b);
}

/* %q of a string into the arena (NULL on OOM). */
static const char *quoted(struct sg_arena *a, struct sg_str s)
{
    struct sg_buf b;
    char *r;

    sg_buf_init(&b, 1 << 24);
    if (sg_ut__quote(s, 0, &b) != SG_OK) {
        sg_buf_cleanup(&b);
        return NULL;
    }
    r = sg_arena_strndup(a, sg_buf_cstr(&b), b.len);
    sg_buf_cleanup(&b);
    return r;
}

static const char *dur(int64_t ms, char buf[SG_DURATION_FMT_MAX])
{
    sg_duration_format(ms, buf, SG_DURATION_FMT_MAX);
    return buf;
}

/* Go's time.Duration.String of a millisecond count ("1m0s", "1.5s", "0s"),
 * used in rule error messages. */
static const char *go_duration(int64_t ms, char buf[64])
{
    int64_t h, m, s, frac;
    int n = 0;
    bool neg = ms < 0;
    uint64_t u = neg ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;

    if (u == 0) {
        snprintf(buf, 64, "0s");
        return buf;
    }
    if (u < 1000) {
        snprintf(buf, 64, "%s%llums", neg ? "-" : "", (unsigned long long)u);
        return buf;
    }
    h = (int64_t)(u / 3600000);
    m = (int64_t)(u / 60000 % 60);
    s = (int64_t)(u / 1000 % 60);
    frac = (int64_t)(u % 1000);
    if (neg)
        n += snprintf(buf + n, (size_t)(64 - n), "-");
    if (h > 0)
        n += snprintf(buf + n, (size_t)(64 - n), "%lldh", (long long)h);
    if (h > 0 || m > 0)
        n += snprintf(buf + n, (size_t)(64 - n), "%lldm", (long long)m);
    if (frac == 0) {
        snprintf(buf + n, (size_t)(64 - n), "%llds", (long long)s);
    } else {
        char f[8];
        int fl = snprintf(f, sizeof(f), "%03lld", (long long)frac);
        while (fl > 0 && f[fl - 1] == '0')
            f[--fl] = '\0';
        snprintf(buf + n, (size_t)(64 - n), "%lld.%ss", (long long)s, f);
    }
    return buf;
}

/* A PromQL parse error as Go's ParseErr prints it: "L:C: parse error: msg". */
static int promql_parse_error_text(const struct sg_err *e, struct sg_buf *out)
{
    const char *m = sg_ut__strip_position(e);

    if (e->line == 0)
        return sg_buf_puts(out, m);
    if (strncmp(m, "parse error: ", 13) == 0)
        m += 13;
    return sg_buf_appendf(out, "%u:%u: parse error: %s", e->line, e->col, m);
}

/* ---- paths and globbing (Go's path/filepath on Unix) -------------------------------------- */

/* filepath.Clean into the arena. */
static char *path_clean(struct sg_arena *a, const char *path)
{
    size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
    bool rooted = n > 0 && path[0] == '/';
    char *out;

    if (n == 0)
        return sg_arena_strdup(a, ".");
    out = sg_arena_alloc_raw(a, n + 2);
    if (!out)
        return NULL;
    if (rooted) {
        out[w++] = '/';
        r = 1;
        dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            for (; r < n && path[r] != '/'; r++)
                out[w++] = path[r];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = '\0';
    return out;
}

/* filepath.Join(a, b) (both non-empty). */
static char *path_join(struct sg_arena *a, const char *x, const char *y)
{
    char *j = sg_arena_printf(a, "%s/%s", x, y);
    return j ? path_clean(a, j) : NULL;
}

/* filepath.Dir. */
static char *path_dir(struct sg_arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *d;

    if (!slash)
        return sg_arena_strdup(a, ".");
    d = sg_arena_strndup(a, path, (size_t)(slash - path) + 1);
    return d ? path_clean(a, d) : NULL;
}

/* getEsc of filepath.Match: one (possibly escaped) rune of a class. */
static int glob_esc(struct sg_str *chunk, uint32_t *r)
{
    size_t w;

    if (chunk->len == 0 || chunk->ptr[0] == '-' || chunk->ptr[0] == ']')
        return SG_EPARSE;
    if (chunk->ptr[0] == '\\') {
        chunk->ptr++;
        chunk->len--;
        if (chunk->len == 0)
            return SG_EPARSE;
    }
    *r = sg_ut__rune(chunk->ptr, chunk->len, 0, &w);
    if (*r == 0xFFFD && w == 1 && (unsigned char)chunk->ptr[0] != 0xEF)
        return SG_EPARSE;
    chunk->ptr += w;
    chunk->len -= w;
    return chunk->len == 0 ? SG_EPARSE : SG_OK;
}

/* matchChunk: *s advances past the matched part; returns 1, 0 or SG_EPARSE. */
static int glob_chunk(struct sg_str chunk, struct sg_str *s)
{
    bool failed = false;
    struct sg_str t = *s;
    size_t w;

    while (chunk.len > 0) {
        if (!failed && t.len == 0)
            failed = true;
        if (chunk.ptr[0] == '[') {
            uint32_t r = 0, lo, hi;
            bool negated = false, match = false;
            int nrange = 0;
            if (!failed) {
                r = sg_ut__rune(t.ptr, t.len, 0, &w);
                t.ptr += w;
                t.len -= w;
            }
            chunk.ptr++;
            chunk.len--;
            if (chunk.len > 0 && chunk.ptr[0] == '^') {
                negated = true;
                chunk.ptr++;
                chunk.len--;
            }
            for (;;) {
                if (chunk.len > 0 && chunk.ptr[0] == ']' && nrange > 0) {
                    chunk.ptr++;
                    chunk.len--;
                    break;
                }
                if (glob_esc(&chunk, &lo) != SG_OK)
                    return SG_EPARSE;
                hi = lo;
                if (chunk.ptr[0] == '-') {
                    chunk.ptr++;
                    chunk.len--;
                    if (glob_esc(&chunk, &hi) != SG_OK)
                        return SG_EPARSE;
                }
                if (lo <= r && r <= hi)
                    match = true;
                nrange++;
            }
            if (match == negated)
                failed = true;
        } else if (chunk.ptr[0] == '?') {
            if (!failed) {
                if (t.ptr[0] == '/')
                    failed = true;
                (void)sg_ut__rune(t.ptr, t.len, 0, &w);
                t.ptr += w;
                t.len -= w;
            }
            chunk.ptr++;
            chunk.len--;
        } else {
            if (chunk.ptr[0] == '\\') {
                chunk.ptr++;
                chunk.len--;
                if (chunk.len == 0)
                    return SG_EPARSE;
            }
            if (!failed) {
                if (chunk.ptr[0] != t.ptr[0])
                    failed = true;
                t.ptr++;
                t.len--;
            }
            chunk.ptr++;
            chunk.len--;
        }
    }
    if (failed)
        return 0;
    *s = t;
    return 1;
}

/* scanChunk: leading stars, then up to the next unbracketed star. */
static void glob_scan(struct sg_str *pattern, bool *star, struct sg_str *chunk)
{
    size_t i;
    bool inrange = false;

    *star = false;
    while (pattern->len > 0 && pattern->ptr[0] == '*') {
        pattern->ptr++;
        pattern->len--;
        *star = true;
    }
    for (i = 0; i < pattern->len; i++) {
        char c = pattern->ptr[i];
        if (c == '\\') {
            if (i + 1 < pattern->len)
                i++;
        } else if (c == '[') {
            inrange = true;
        } else if (c == ']') {
            inrange = false;
        } else if (c == '*' && !inrange) {
            break;
        }
    }
    *chunk = sg_str_make(pattern->ptr, i);
    pattern->ptr += i;
    pattern->len -= i;
}

int sg_ut_glob_match(struct sg_str pattern, struct sg_str name)
{
    while (pattern.len > 0) {
        bool star;
        struct sg_str chunk, t;
        int rc;

        glob_scan(&pattern, &star, &chunk);
        if (star && chunk.len == 0)
            return memchr(name.ptr, '/', name.len) == NULL;
        t = name;
        rc = glob_chunk(chunk, &t);
        if (rc == 1 && (t.len == 0 || pattern.len > 0)) {
            name = t;
            continue;
        }
        if (rc < 0)
            return rc;
        if (star) {
            bool found = false;
            for (size_t i = 0; i < name.len && name.ptr[i] != '/'; i++) {
                t = sg_str_make(name.ptr + i + 1, name.len - i - 1);
                rc = glob_chunk(chunk, &t);
                if (rc == 1) {
                    if (pattern.len == 0 && t.len > 0)
                        continue;
                    name = t;
                    found = true;
                    break;
                }
                if (rc < 0)
                    return rc;
            }
            if (found)
                continue;
        }
        /* the rest of the pattern must still be well formed */
        while (pattern.len > 0) {
            struct sg_str empty = sg_str_make("", 0);
            glob_scan(&pattern, &star, &chunk);
            if (glob_chunk(chunk, &empty) < 0)
                return SG_EPARSE;
        }
        return 0;
    }
    return name.len == 0;
}

static bool has_meta(const char *p)
{
    return strpbrk(p, "*?[\\") != NULL;
}

struct strvec {
    struct sg_arena *a;
    char **v;
    size_t n, cap;
};

static int strvec_push(struct strvec *sv, char *s)
{
    if (!s)
        return SG_ENOMEM;
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 8;
        void *p = sg_arena_grow(sv->a, sv->v, sv->cap * sizeof(char *), cap * sizeof(char *));
        if (!p)
            return SG_ENOMEM;
        sv->v = p;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    return SG_OK;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* glob(dir, pattern): the sorted entries of dir that match. */
static int glob_dir(const char *dir, const char *pattern, struct strvec *out)
{
    struct stat st;
    struct strvec names = {out->a, NULL, 0, 0};
    DIR *d;
    struct dirent *e;
    int rc = SG_OK;

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return SG_OK;
    d = opendir(dir);
    if (!d)
        return SG_OK;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strvec_push(&names, sg_arena_strdup(out->a, e->d_name)) != SG_OK) {
            closedir(d);
            return SG_ENOMEM;
        }
    }
    closedir(d);
    if (names.n > 1)
        qsort(names.v, names.n, sizeof(char *), cmp_cstr);
    for (size_t i = 0; i < names.n && rc == SG_OK; i++) {
        int m = sg_ut_glob_match(sg_str_c(pattern), sg_str_c(names.v[i]));
        if (m < 0)
            return m;
        if (m == 1)
            rc = strvec_push(out, path_join(out->a, dir, names.v[i]));
    }
    return rc;
}

static int glob_depth(const char *pattern, struct strvec *out, int depth)
{
    struct stat st;
    const char *slash;
    char *dir, *file;
    int rc;

    if (depth > 10000)
        return SG_EPARSE;
    rc = sg_ut_glob_match(sg_str_c(pattern), sg_str_make("", 0));
    if (rc < 0)
        return rc;
    if (!has_meta(pattern)) {
        if (lstat(pattern, &st) != 0)
            return SG_OK;
        return strvec_push(out, sg_arena_strdup(out->a, pattern));
    }
    slash = strrchr(pattern, '/');
    if (slash) {
        dir = sg_arena_strndup(out->a, pattern, (size_t)(slash - pattern) + 1);
        file = sg_arena_strdup(out->a, slash + 1);
    } else {
        dir = sg_arena_strdup(out->a, "");
        file = sg_arena_strdup(out->a, pattern);
    }
    if (!dir || !file)
        return SG_ENOMEM;
    /* cleanGlobPath */
    if (dir[0] == '\0') {
        dir = sg_arena_strdup(out->a, ".");
        if (!dir)
            return SG_ENOMEM;
    } else if (strcmp(dir, "/") != 0) {
        dir[strlen(dir) - 1] = '\0';
    }
    if (!has_meta(dir))
        return glob_dir(dir, file, out);
    if (strcmp(dir, pattern) == 0)
        return SG_EPARSE;
    {
        struct strvec dirs = {out->a, NULL, 0, 0};
        rc = glob_depth(dir, &dirs, depth + 1);
        for (size_t i = 0; rc == SG_OK && i < dirs.n; i++)
            rc = glob_dir(dirs.v[i], file, out);
    }
    return rc;
}

int sg_ut_glob(const char *pattern, struct sg_arena *arena, char ***matches, size_t *n,
               struct sg_err *err)
{
    struct strvec out = {arena, NULL, 0, 0};
    int rc = glob_depth(pattern, &out, 0);

    *matches = NULL;
    *n = 0;
    if (rc == SG_EPARSE)
        return sg_err_set(err, SG_EPARSE, "syntax error in pattern");
    if (rc != SG_OK)
        return sg_err_set(err, rc, "out of memory globbing %s", pattern);
    *matches = out.v;
    *n = out.n;
    return SG_OK;
}

/* ---- the lazy loader ------------------------------------------------------------------- */

/* One series definition of the load block. */
struct ut_def {
    struct sg_labels labels;  /* as parsed: the identity of the definition */
    struct sg_labels slabels; /* as stored: without empty values */
    const char *invalid;      /* why the store refuses it, or NULL */
    struct sg_sample *s;
    size_t n, next; /* samples; the next one to load */
    size_t sid;     /* index into loader.last_t (shared by defs with equal slabels) */
    bool replaced;  /* a later definition of the same labels wins */
};

struct loader {
    struct ut_def *defs;
    size_t ndefs;
    int64_t *last_t; /* per stored series: the newest timestamp appended */
    bool *has_last;
    size_t nsids;
};

/* Where a byte of the load text came from: series i's description or
 * values, for error positions in the test file. */
struct load_text {
    struct sg_buf text;
    size_t *series_off, *values_off; /* per input series, offsets into text */
};

/* Map an offset in the load text to a position in the test file. */
static void text_pos(const struct sg_ut_group *g, const struct load_text *lt, size_t off,
                     uint32_t *line, uint32_t *col)
{
    *line = g->node ? g->node->line : 1;
    *col = g->node ? g->node->col : 1;
    for (size_t i = g->nseries; i-- > 0;) {
        const struct sg_ut_input_series *is = &g->series[i];
        const struct sg_yaml_node *n = NULL;
        size_t k = 0;
        if (off >= lt->values_off[i] && off <= lt->values_off[i] + is->values.len) {
            n = is->values_node;
            k = off - lt->values_off[i];
        } else if (off >= lt->series_off[i] && off <= lt->series_off[i] + is->series.len) {
            n = is->series_node;
            k = off - lt->series_off[i];
        } else if (off >= lt->series_off[i]) {
            n = is->values_node ? is->values_node : is->series_node;
            k = n == is->values_node ? is->values.len : is->series.len;
        } else {
            continue;
        }
        if (!n)
            return;
        *line = n->line;
        *col = n->col;
        if (n->line == n->end_line && !memchr(n->value.ptr, '\n', n->value.len)) {
            if (n->style == SG_YAML_PLAIN && n->end_off - n->start_off == n->value.len)
                *col = n->col + (uint32_t)k;
            else if ((n->style == SG_YAML_SINGLE_QUOTED || n->style == SG_YAML_DOUBLE_QUOTED) &&
                     n->end_off - n->start_off == n->value.len + 2)
                *col = n->col + 1 + (uint32_t)k;
        }
        return;
    }
}

static int cmp_def_labels(const void *a, const void *b)
{
    const struct ut_def *x = *(const struct ut_def *const *)a,
                        *y = *(const struct ut_def *const *)b;
    return sg_labels_cmp(&x->slabels, &y->slabels);
}

/* Build the load block as promtool does and parse it into definitions.
 * Returns SG_OK, or a failure already added to errs (SG_EPARSE) or a
 * limit / memory error. */
static int loader_build(const struct sg_ut_group *g, const char *file, struct sg_arena *a,
                        const struct sg_ut_limits *lim, struct loader *ld, struct errlist *errs)
{
    struct load_text lt;
    char ivs[SG_DURATION_FMT_MAX];
    size_t total = 0, pos = 0;
    int rc = SG_OK;
    struct sg_str text;
    size_t ndef_cap = 0;

    memset(ld, 0, sizeof(*ld));
    sg_buf_init(&lt.text, (size_t)1 << 30);
    lt.series_off = sg_arena_alloc_array(a, g->nseries + 1, sizeof(size_t));
    lt.values_off = sg_arena_alloc_array(a, g->nseries + 1, sizeof(size_t));
    if (!lt.series_off || !lt.values_off)
        return SG_ENOMEM;
    /* "load <interval>\n" then "  <series> <values>\n" per input series; the
     * interval line always parses, so it is not read back */
    sg_duration_format(g->interval_ms, ivs, sizeof(ivs));
    if (sg_buf_appendf(&lt.text, "load %s\n", ivs) != SG_OK)
        goto oom;
    for (size_t i = 0; i < g->nseries; i++) {
        if (sg_buf_puts(&lt.text, "  ") != SG_OK)
            goto oom;
        lt.series_off[i] = lt.text.len;
        if (sg_buf_append_str(&lt.text, g->series[i].series) != SG_OK ||
            sg_buf_putc(&lt.text, ' ') != SG_OK)
            goto oom;
        lt.values_off[i] = lt.text.len;
        if (sg_buf_append_str(&lt.text, g->series[i].values) != SG_OK ||
            sg_buf_putc(&lt.text, '\n') != SG_OK)
            goto oom;
    }
    text = sg_buf_view(&lt.text);
    /* skip the "load" line */
    pos = (size_t)((const char *)memchr(text.ptr, '\n', text.len) - text.ptr) + 1;
    while (pos < text.len) {
        const char *nl = memchr(text.ptr + pos, '\n', text.len - pos);
        size_t end = nl ? (size_t)(nl - text.ptr) : text.len, lead;
        struct sg_str line = go_trim_space(sg_str_make(text.ptr + pos, end - pos), &lead);
        struct sg_labels ls;
        struct sg_ut_value *vals;
        size_t nv;
        struct sg_err e;
        struct ut_def *d = NULL;

        if (line.len == 0 || line.ptr[0] == '#')
            break; /* a blank line ends the load block */
        sg_err_clear(&e);
        rc = sg_ut_series_parse(line, a, lim->max_samples - total, &ls, &vals, &nv, &e);
        if (rc == SG_EPARSE) {
            uint32_t l, c;
            text_pos(g, &lt, pos + lead + e.off, &l, &c);
            errs_add(errs, "%s:%u:%u: parse error: %s", file, l, c, e.msg);
            goto out;
        }
        if (rc == SG_ELIMIT) {
            errs_add(errs, "%s:%u:%u: %s", file, g->node ? g->node->line : 1,
                     g->node ? g->node->col : 1, e.msg);
            goto out;
        }
        if (rc != SG_OK)
            goto oom;
        total += nv;
        /* the same label set again replaces the earlier definition */
        for (size_t i = 0; i < ld->ndefs; i++) {
            if (!ld->defs[i].replaced && sg_labels_eq(&ld->defs[i].labels, &ls)) {
                ld->defs[i].replaced = true;
                total -= ld->defs[i].n;
            }
        }
        if (ld->ndefs == ndef_cap) {
            size_t cap = ndef_cap ? ndef_cap * 2 : 16;
            void *p =
                sg_arena_grow(a, ld->defs, ndef_cap * sizeof(*ld->defs), cap * sizeof(*ld->defs));
            if (!p)
                goto oom;
            ld->defs = p;
            ndef_cap = cap;
        }
        d = &ld->defs[ld->ndefs++];
        memset(d, 0, sizeof(*d));
        d->labels = ls;
        /* samples: value k at k*interval; `_` leaves its slot empty */
        d->s = sg_arena_alloc_array(a, nv ? nv : 1, sizeof(*d->s));
        if (!d->s)
            goto oom;
        for (size_t k = 0; k < nv; k++) {
            if (vals[k].omitted)
                continue;
            d->s[d->n].t = (int64_t)k * g->interval_ms;
            d->s[d->n].v = vals[k].v;
            d->n++;
        }
        /* the store's view: labels without empty values */
        {
            struct sg_label *sl = sg_arena_alloc_array(a, ls.count ? ls.count : 1, sizeof(*sl));
            uint32_t m = 0;
            if (!sl)
                goto oom;
            for (uint32_t k = 0; k < ls.count; k++) {
                if (ls.v[k].value.len > 0)
                    sl[m++] = ls.v[k];
            }
            d->slabels.v = sl;
            d->slabels.count = m;
            if (m == 0)
                d->invalid = "empty labelset: invalid sample";
            for (uint32_t k = 1; k < m && !d->invalid; k++) {
                if (sg_str_eq(sl[k - 1].name, sl[k].name))
                    d->invalid = sg_arena_printf(a,
                                                 "label name \"%.*s\" is not unique: invalid "
                                                 "sample",
                                                 (int)sl[k].name.len, sl[k].name.ptr);
            }
        }
        pos = end + 1;
    }
    /* stored series shared by several definitions share their newest timestamp */
    {
        struct ut_def **order = sg_arena_alloc_array(a, ld->ndefs ? ld->ndefs : 1, sizeof(*order));
        if (!order)
            goto oom;
        for (size_t i = 0; i < ld->ndefs; i++)
            order[i] = &ld->defs[i];
        if (ld->ndefs > 1)
            qsort(order, ld->ndefs, sizeof(*order), cmp_def_labels);
        for (size_t i = 0; i < ld->ndefs; i++) {
            if (i > 0 && sg_labels_eq(&order[i - 1]->slabels, &order[i]->slabels))
                order[i]->sid = order[i - 1]->sid;
            else
                order[i]->sid = ld->nsids++;
        }
        ld->last_t = sg_arena_alloc_array(a, ld->nsids + 1, sizeof(*ld->last_t));
        ld->has_last = sg_arena_alloc_array(a, ld->nsids + 1, sizeof(*ld->has_last));
        if (!ld->last_t || !ld->has_last)
            goto oom;
    }
    rc = SG_OK;
out:
    sg_buf_cleanup(&lt.text);
    return rc;
oom:
    sg_buf_cleanup(&lt.text);
    return SG_ENOMEM;
}

/* appendTill: load every sample with t <= ts. A definition the store refuses
 * fails the whole tick (nothing of it is committed). */
static int loader_append_till(struct loader *ld, struct sg_store *st, int64_t ts,
                              struct errlist *errs, struct sg_err *err)
{
    for (size_t i = 0; i < ld->ndefs; i++) {
        struct ut_def *d = &ld->defs[i];
        if (!d->replaced && d->invalid && d->next < d->n && d->s[d->next].t <= ts) {
            errs_add(errs, "%s", d->invalid);
            return SG_EINVAL;
        }
    }
    for (size_t i = 0; i < ld->ndefs; i++) {
        struct ut_def *d = &ld->defs[i];
        if (d->replaced)
            continue;
        while (d->next < d->n && d->s[d->next].t <= ts) {
            const struct sg_sample *s = &d->s[d->next++];
            int rc;
            /* the TSDB head keeps the first sample at a timestamp */
            if (ld->has_last[d->sid] && s->t <= ld->last_t[d->sid])
                continue;
            rc = sg_store_append(st, &d->slabels, s->t, s->v, err);
            if (rc != SG_OK) {
                errs_add(errs, "%s", err->msg);
                return rc == SG_ENOMEM ? SG_ENOMEM : SG_EINVAL;
            }
            ld->last_t[d->sid] = s->t;
            ld->has_last[d->sid] = true;
        }
    }
    return SG_OK;
}

/* True when some definition has samples the store will refuse. */
static bool loader_refuses(const struct loader *ld)
{
    for (size_t i = 0; i < ld->ndefs; i++) {
        const struct ut_def *d = &ld->defs[i];
        if (!d->replaced && d->invalid && d->n > 0)
            return true;
    }
    return false;
}

/* ---- queries ----------------------------------------------------------------------------- */

struct run {
    const char *file;
    const struct sg_ut_limits *lim;
    struct sg_arena *a; /* lives for the file */
    struct errlist *errs;
    struct sg_promql_opts qopts;
    struct sg_store *store;
};

/* One instant query against the store, as promtool's query() does. On a
 * failure, *msg (in `a`) holds the text promtool prints after "err: ". */
static int instant_query(struct run *r, struct sg_str expr, int64_t t, struct sg_arena *a,
                         struct sg_value *res, const char **msg)
{
    struct sg_node *root;
    struct sg_promql_selection *sels;
    struct sg_series_set *sets;
    size_t nsels;
    struct sg_err e;
    int rc;

    sg_err_clear(&e);
    rc = sg_promql_parse(expr, NULL, a, NULL, &root, &e);
    if (rc != SG_OK) {
        struct sg_buf b;
        sg_buf_init(&b, SG_ERR_MSG_MAX * 2);
        if (promql_parse_error_text(&e, &b) != SG_OK)
            r->errs->oom = true;
        *msg = sg_arena_strdup(a, sg_buf_cstr(&b));
        sg_buf_cleanup(&b);
        return rc;
    }
    rc = sg_promql_plan(root, t, t, 0, &r->qopts, a, &sels, &nsels, &e);
    if (rc != SG_OK)
        goto fail;
    sets = sg_arena_alloc_array(a, nsels ? nsels : 1, sizeof(*sets));
    if (!sets) {
        rc = sg_err_set(&e, SG_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nsels; i++) {
        rc = sg_store_select(r->store, sels[i].matchers, sels[i].nmatchers, sels[i].mint_ms,
                             sels[i].maxt_ms, a, &sets[i], &e);
        if (rc != SG_OK)
            goto fail;
    }
    rc = sg_promql_eval_instant(root, t, &r->qopts, sets, nsels, a, res, &e);
    if (rc != SG_OK)
        goto fail;
    return SG_OK;
fail:
    *msg = sg_arena_strdup(a, sg_ut__strip_position(&e));
    return rc;
}

/* ---- expression and alert checks --------------------------------------------------------- */

struct psample {
    struct sg_labels labels;
    double v;
};

static int cmp_psample(const void *a, const void *b)
{
    const struct psample *x = a, *y = b;
    return sg_labels_cmp(&x->labels, &y->labels);
}

/* parsedSamplesString: `{a="b"} 1E+00, {} 2.5E-01`, or "nil". */
static int samples_string(const struct psample *s, size_t n, struct sg_buf *out)
{
    int rc = SG_OK;

    if (n == 0)
        return sg_buf_puts(out, "nil");
    for (size_t i = 0; i < n && rc == SG_OK; i++) {
        char num[SG_NUM_FMT_MAX];
        if (i > 0)
            rc = sg_buf_puts(out, ", ");
        if (rc == SG_OK)
            rc = sg_labels_format(&s[i].labels, out);
        sg_num_format(s[i].v, 'E', num, sizeof(num));
        if (rc == SG_OK)
            rc = sg_buf_appendf(out, " %s", num);
    }
    return rc;
}

static void check_expr(struct run *r, const struct sg_ut_expr_test *t)
{
    struct sg_arena qa;
    struct sg_value res;
    const char *msg = NULL, *qexpr;
    char ds[SG_DURATION_FMT_MAX];
    struct psample *got = NULL, *exp = NULL;
    size_t ngot = 0;
    struct sg_buf b;
    bool same;

    sg_arena_init(&qa, 0);
    qexpr = quoted(&qa, t->expr);
    dur(t->eval_time_ms, ds);
    if (!qexpr) {
        r->errs->oom = true;
        goto out;
    }
    if (instant_query(r, t->expr, t->eval_time_ms, &qa, &res, &msg) != SG_OK) {
        errs_add(r->errs, "    expr: %s, time: %s, err: %s", qexpr, ds,
                 msg ? msg : "out of memory");
        goto out;
    }
    if (res.type == SG_VT_SCALAR) {
        got = sg_arena_alloc(&qa, sizeof(*got));
        if (!got)
            goto oom;
        got->v = res.scalar;
        ngot = 1;
    } else if (res.type == SG_VT_VECTOR) {
        got = sg_arena_alloc_array(&qa, res.count ? res.count : 1, sizeof(*got));
        if (!got)
            goto oom;
        for (size_t i = 0; i < res.count; i++) {
            got[i].labels = res.vec[i].labels;
            got[i].v = res.vec[i].v;
        }
        ngot = res.count;
    } else {
        errs_add(r->errs, "    expr: %s, time: %s, err: rule result is not a vector or scalar",
                 qexpr, ds);
        goto out;
    }
    exp = sg_arena_alloc_array(&qa, t->nexp ? t->nexp : 1, sizeof(*exp));
    if (!exp)
        goto oom;
    for (size_t i = 0; i < t->nexp; i++) {
        struct sg_err e;
        sg_err_clear(&e);
        if (sg_promql_parse_metric(t->exp[i].labels, NULL, &qa, &exp[i].labels, &e) != SG_OK) {
            struct sg_buf pe;
            const char *ql = quoted(&qa, t->exp[i].labels);
            sg_buf_init(&pe, SG_ERR_MSG_MAX * 2);
            if (promql_parse_error_text(&e, &pe) != SG_OK)
                r->errs->oom = true;
            errs_add(r->errs, "    expr: %s, time: %s, err: labels %s: %s", qexpr, ds, ql ? ql : "",
                     sg_buf_cstr(&pe));
            sg_buf_cleanup(&pe);
            goto out;
        }
        exp[i].v = t->exp[i].value;
    }
    if (t->nexp > 1)
        qsort(exp, t->nexp, sizeof(*exp), cmp_psample);
    if (ngot > 1)
        qsort(got, ngot, sizeof(*got), cmp_psample);
    same = ngot == t->nexp;
    for (size_t i = 0; same && i < ngot; i++)
        same = sg_labels_eq(&exp[i].labels, &got[i].labels) && exp[i].v == got[i].v;
    if (same)
        goto out;
    sg_buf_init(&b, 1 << 26);
    if (sg_buf_appendf(&b, "    expr: %s, time: %s,\n        exp: ", qexpr, ds) != SG_OK ||
        samples_string(exp, t->nexp, &b) != SG_OK || sg_buf_puts(&b, "\n        got: ") != SG_OK ||
        samples_string(got, ngot, &b) != SG_OK)
        r->errs->oom = true;
    errs_add_str(r->errs, sg_buf_cstr(&b), b.len);
    sg_buf_cleanup(&b);
out:
    sg_arena_cleanup(&qa);
    return;
oom:
    r->errs->oom = true;
    sg_arena_cleanup(&qa);
}

/* One alert as promtool compares them. */
struct landa {
    struct sg_labels labels, annotations;
};

static int cmp_landa(const void *a, const void *b)
{
    const struct landa *x = a, *y = b;
    int c = sg_labels_cmp(&x->labels, &y->labels);
    return c ? c : sg_labels_cmp(&x->annotations, &y->annotations);
}

/* A copy of ls with name=value set (added in order, or replacing). */
static int labels_set(struct sg_arena *a, const struct sg_labels *ls, struct sg_str name,
                      struct sg_str value, struct sg_labels *out)
{
    struct sg_label *v = sg_arena_alloc_array(a, ls->count + 1, sizeof(*v));
    uint32_t m = 0;
    bool put = false;

    if (!v)
        return SG_ENOMEM;
    for (uint32_t k = 0; k < ls->count; k++) {
        int c = sg_str_cmp(name, ls->v[k].name);
        if (!put && c <= 0) {
            v[m].name = name;
            v[m++].value = value;
            put = true;
            if (c == 0)
                continue;
        }
        v[m++] = ls->v[k];
    }
    if (!put) {
        v[m].name = name;
        v[m++].value = value;
    }
    out->v = v;
    out->count = m;
    return SG_OK;
}

/* labelsAndAnnotations.String() indented by indentLines(.., 12 spaces). */
static int landa_string(const struct landa *v, size_t n, struct sg_buf *out)
{
    static const char ind[] = "\n            ";
    int rc = SG_OK;

    if (n == 0)
        return sg_buf_puts(out, "[]");
    rc = sg_buf_putc(out, '[');
    for (size_t i = 0; i < n && rc == SG_OK; i++) {
        rc = sg_buf_appendf(out, "%s%s%zu:%s  Labels:", i ? "," : "", ind, i, ind);
        if (rc == SG_OK)
            rc = sg_labels_format(&v[i].labels, out);
        if (rc == SG_OK)
            rc = sg_buf_appendf(out, "%s  Annotations:", ind);
        if (rc == SG_OK)
            rc = sg_labels_format(&v[i].annotations, out);
    }
    if (rc == SG_OK)
        rc = sg_buf_appendf(out, "%s]", ind);
    return rc;
}

static void check_alert(struct run *r, const struct sg_ut_group *g,
                        const struct sg_ut_alert_test *t, const struct landa *got_all,
                        size_t ngot_all)
{
    struct sg_arena qa;
    struct landa *exp, *got;
    size_t ngot = 0;
    char ds[SG_DURATION_FMT_MAX];
    bool same;
    struct sg_buf b;

    sg_arena_init(&qa, 0);
    exp = sg_arena_alloc_array(&qa, t->nexp + 1, sizeof(*exp));
    got = sg_arena_alloc_array(&qa, ngot_all + 1, sizeof(*got));
    if (!exp || !got)
        goto oom;
    for (size_t i = 0; i < ngot_all; i++)
        got[ngot++] = got_all[i];
    for (size_t i = 0; i < t->nexp; i++) {
        /* exp_labels (empty values included, as labels.FromMap keeps them) + alertname */
        if (labels_set(&qa, &t->exp[i].labels, sg_str_c("alertname"), t->alertname,
                       &exp[i].labels) != SG_OK)
            goto oom;
        exp[i].annotations = t->exp[i].annotations;
    }
    if (t->nexp > 1)
        qsort(exp, t->nexp, sizeof(*exp), cmp_landa);
    if (ngot > 1)
        qsort(got, ngot, sizeof(*got), cmp_landa);
    same = ngot == t->nexp;
    for (size_t i = 0; same && i < ngot; i++)
        same = sg_labels_eq(&exp[i].labels, &got[i].labels) &&
               sg_labels_eq(&exp[i].annotations, &got[i].annotations);
    if (same)
        goto out;
    sg_buf_init(&b, 1 << 26);
    if ((g->name.len &&
         sg_buf_appendf(&b, "    name: %.*s,\n", (int)g->name.len, g->name.ptr) != SG_OK) ||
        sg_buf_appendf(&b, "    alertname: %.*s, time: %s, \n        exp:", (int)t->alertname.len,
                       t->alertname.ptr, dur(t->eval_time_ms, ds)) != SG_OK ||
        landa_string(exp, t->nexp, &b) != SG_OK || sg_buf_puts(&b, ", \n        got:") != SG_OK ||
        landa_string(got, ngot, &b) != SG_OK)
        r->errs->oom = true;
    errs_add_str(r->errs, sg_buf_cstr(&b), b.len);
    sg_buf_cleanup(&b);
out:
    sg_arena_cleanup(&qa);
    return;
oom:
    r->errs->oom = true;
    sg_arena_cleanup(&qa);
}

/* ---- rule groups ------------------------------------------------------------------------- */

/* The rule files of a test file, loaded once; every test group evaluates
 * them with a state of its own. A load failure is reported again by every
 * test group, as promtool loads the files per group. */
struct ut_rules {
    struct sg_ruleset *rs;
    const struct sg_rule_group **groups; /* in evaluation order */
    size_t ngroups;
    struct errlist load_errs;
    bool failed;
};

static void on_rule_diag(const struct sg_diag *d, void *arg)
{
    struct ut_rules *ur = arg;

    if (d->level != SG_DIAG_ERROR)
        return;
    if (d->line)
        errs_add(&ur->load_errs, "%s:%u:%u: %s", d->file, d->line, d->col, d->msg);
    else
        errs_add(&ur->load_errs, "%s: %s", d->file, d->msg);
}

/* group_eval_order: listed groups by their position, unlisted ones rank 0
 * (as the first listed); equal ranks keep load order. */
static long group_rank(const struct sg_ut_file *f, struct sg_str name)
{
    for (size_t i = 0; i < f->norder; i++)
        if (sg_str_eq(f->group_eval_order[i], name))
            return (long)i;
    return 0;
}

static int rules_load(struct ut_rules *ur, const struct sg_ut_file *f, char **files, size_t n,
                      struct sg_arena *a)
{
    struct sg_rules_load_opts lo = {0};
    const struct sg_rule_group *gs;
    size_t ng;
    long *rank;

    memset(ur, 0, sizeof(*ur));
    ur->load_errs.a = a;
    if (n == 0)
        return SG_OK;
    ur->rs = sg_ruleset_new();
    if (!ur->rs)
        return SG_ENOMEM;
    lo.diag = on_rule_diag;
    lo.diag_arg = ur;
    for (size_t i = 0; i < n; i++) {
        struct sg_err e;
        size_t before = ur->load_errs.n;
        bool seen = false;
        /* a file matched twice is loaded once (promtool keys groups by file
         * and name, so a second load replaces the first) */
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(files[k], files[i]) == 0;
        if (seen)
            continue;
        sg_err_clear(&e);
        if (sg_ruleset_add_file(ur->rs, files[i], &lo, NULL, &e) != SG_OK) {
            if (e.code == SG_ENOMEM)
                return SG_ENOMEM;
            if (ur->load_errs.n == before)
                errs_add(&ur->load_errs, "%s", e.msg);
            ur->failed = true;
            return SG_OK; /* promtool stops at the first file with errors */
        }
    }
    gs = sg_ruleset_groups(ur->rs, &ng);
    ur->groups = sg_arena_alloc_array(a, ng ? ng : 1, sizeof(*ur->groups));
    rank = sg_arena_alloc_array(a, ng ? ng : 1, sizeof(*rank));
    if (!ur->groups || !rank)
        return SG_ENOMEM;
    /* a stable insertion sort by rank */
    for (size_t i = 0; i < ng; i++) {
        long r = group_rank(f, gs[i].name);
        size_t j = i;
        while (j > 0 && rank[j - 1] > r) {
            ur->groups[j] = ur->groups[j - 1];
            rank[j] = rank[j - 1];
            j--;
        }
        ur->groups[j] = &gs[i];
        rank[j] = r;
    }
    ur->ngroups = ng;
    return SG_OK;
}

static void rules_free(struct ut_rules *ur)
{
    sg_ruleset_free(ur->rs);
    ur->rs = NULL;
}

struct firing {
    struct sg_arena *a;
    struct landa *v;
    size_t n, cap;
    bool oom;
};

static int collect_firing(const struct sg_rule *rule, const struct sg_alert *al, void *arg)
{
    struct firing *fi = arg;

    (void)rule;
    if (al->state != SG_ALERT_FIRING)
        return 0;
    if (fi->n == fi->cap) {
        size_t cap = fi->cap ? fi->cap * 2 : 16;
        void *p = sg_arena_grow(fi->a, fi->v, fi->cap * sizeof(*fi->v), cap * sizeof(*fi->v));
        if (!p) {
            fi->oom = true;
            return 1;
        }
        fi->v = p;
        fi->cap = cap;
    }
    if (sg_labels_copy(&al->labels, fi->a, &fi->v[fi->n].labels) != SG_OK ||
        sg_labels_copy(&al->annotations, fi->a, &fi->v[fi->n].annotations) != SG_OK) {
        fi->oom = true;
        return 1;
    }
    fi->n++;
    return 0;
}

/* The firing alerts of every alerting rule named `name`, in group order. */
static int firing_alerts(const struct ut_rules *ur, const struct sg_rules_state *st,
                         struct sg_str name, struct firing *fi)
{
    for (size_t i = 0; i < ur->ngroups; i++) {
        const struct sg_rule_group *g = ur->groups[i];
        for (size_t k = 0; k < g->nrules; k++) {
            const struct sg_rule *rule = &g->rules[k];
            if (rule->kind != SG_RULE_ALERT || !sg_str_eq(rule->name, name))
                continue;
            (void)sg_rules_foreach_alert(st, rule, collect_firing, fi);
            if (fi->oom)
                return SG_ENOMEM;
        }
    }
    return SG_OK;
}

/* ---- one test group -------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The tick loop: load, evaluate every rule group (if any), check the
 * alerts due. Returns SG_EEVAL when a rule failed (the group then ends). */
static int run_ticks(struct run *r, const struct sg_ut_group *g, const struct ut_rules *ur,
                     struct loader *ld, int64_t ei, uint64_t nticks, const int64_t *times,
                     size_t ntimes)
{
    struct sg_rules_eval_opts eo = {0};
    struct sg_rules_state *st = NULL;
    struct sg_rules_source src;
    struct sg_err e;
    size_t curr = 0;
    int rc;

    eo.promql = &r->qopts;
    eo.external_labels = &g->external_labels;
    eo.external_url = g->external_url;
    sg_err_clear(&e);
    if (ur->ngroups > 0) {
        rc = sg_rules_state_new(ur->rs, &eo, &st, &e);
        if (rc != SG_OK) {
            errs_add(r->errs, "%s", e.msg);
            return rc;
        }
    }
    sg_rules_source_store(&src, r->store);
    for (uint64_t k = 0; k < nticks; k++) {
        int64_t ts = (int64_t)k * ei;
        bool rule_failed = false;

        sg_err_clear(&e);
        rc = loader_append_till(ld, r->store, ts, r->errs, &e);
        if (rc == SG_ENOMEM)
            goto fail;
        if (rc == SG_OK) {
            for (size_t i = 0; i < ur->ngroups; i++) {
                const struct sg_rule_group *rg = ur->groups[i];
                sg_err_clear(&e);
                rc = sg_rules_eval_group(st, rg, ts, &src, r->store, &e);
                if (rc != SG_OK) {
                    errs_add(r->errs, "%s", e.msg);
                    goto fail;
                }
                for (size_t j = 0; j < rg->nrules; j++) {
                    const struct sg_rule_status *rs = sg_rules_rule_status(st, &rg->rules[j]);
                    char gd[64];
                    if (rs && rs->code != SG_OK) {
                        errs_add(r->errs, "    rule: %.*s, time: %s, err: %s",
                                 (int)rg->rules[j].name.len, rg->rules[j].name.ptr,
                                 go_duration(ts, gd), rs->last_error);
                        rule_failed = true;
                    }
                }
            }
            if (rule_failed) {
                rc = SG_EEVAL;
                goto fail;
            }
        }
        /* alert tests with ts <= eval_time < ts + ei */
        while (curr < ntimes && times[curr] >= ts && times[curr] - ts < ei) {
            for (size_t i = 0; i < g->nalerts; i++) {
                struct sg_arena fa;
                struct firing fi = {0};
                if (g->alerts[i].eval_time_ms != times[curr])
                    continue;
                sg_arena_init(&fa, 0);
                fi.a = &fa;
                if (st && firing_alerts(ur, st, g->alerts[i].alertname, &fi) != SG_OK)
                    r->errs->oom = true;
                else
                    check_alert(r, g, &g->alerts[i], fi.v, fi.n);
                sg_arena_cleanup(&fa);
            }
            curr++;
        }
    }
    sg_rules_state_free(st);
    return SG_OK;
fail:
    if (rc == SG_ENOMEM)
        r->errs->oom = true;
    sg_rules_state_free(st);
    return rc == SG_OK ? SG_EEVAL : rc;
}

static void run_group(struct run *r, const struct sg_ut_group *g, int64_t ei,
                      const struct ut_rules *ur)
{
    struct sg_arena ga;
    struct loader ld;
    struct sg_err e;
    int64_t maxt = 0, *times = NULL;
    size_t ntimes = 0, curr = 0;
    uint64_t nticks;
    int rc;

    sg_arena_init(&ga, 0);
    r->store = NULL;
    rc = loader_build(g, r->file, &ga, r->lim, &ld, r->errs);
    if (rc != SG_OK) {
        if (rc == SG_ENOMEM)
            r->errs->oom = true;
        goto out;
    }
    if (ur->failed) {
        for (size_t i = 0; i < ur->load_errs.n; i++)
            errs_add(r->errs, "%s", ur->load_errs.v[i]);
        goto out;
    }
    for (size_t i = 0; i < g->nalerts; i++) {
        if (g->alerts[i].alertname.len == 0) {
            char ds[SG_DURATION_FMT_MAX];
            if (g->name.len)
                errs_add(r->errs,
                         "an item under alert_rule_test misses required attribute alertname at "
                         "eval_time %s (in TestGroup %.*s)",
                         dur(g->alerts[i].eval_time_ms, ds), (int)g->name.len, g->name.ptr);
            else
                errs_add(r->errs,
                         "an item under alert_rule_test misses required attribute alertname at "
                         "eval_time %s",
                         dur(g->alerts[i].eval_time_ms, ds));
            goto out;
        }
    }
    for (size_t i = 0; i < g->nalerts; i++)
        maxt = g->alerts[i].eval_time_ms > maxt ? g->alerts[i].eval_time_ms : maxt;
    for (size_t i = 0; i < g->nexprs; i++)
        maxt = g->exprs[i].eval_time_ms > maxt ? g->exprs[i].eval_time_ms : maxt;
    /* the distinct alert eval times, ascending */
    times = sg_arena_alloc_array(&ga, g->nalerts + 1, sizeof(*times));
    if (!times) {
        r->errs->oom = true;
        goto out;
    }
    for (size_t i = 0; i < g->nalerts; i++)
        times[ntimes++] = g->alerts[i].eval_time_ms;
    if (ntimes > 1)
        qsort(times, ntimes, sizeof(*times), cmp_i64);
    {
        size_t w = 0;
        for (size_t i = 0; i < ntimes; i++)
            if (w == 0 || times[w - 1] != times[i])
                times[w++] = times[i];
        ntimes = w;
    }
    r->store = sg_store_new(r->lim->max_store_bytes);
    if (!r->store) {
        r->errs->oom = true;
        goto out;
    }
    r->qopts.subquery_step_ms = ei;

    /* the ticks: ts = 0, ei, ... <= maxt */
    nticks = (uint64_t)(maxt / ei) + 1;
    /* Without rule groups and without a refused definition a tick does
     * nothing but load samples: load up to the last one at once. */
    if (ur->ngroups == 0 && !loader_refuses(&ld)) {
        sg_err_clear(&e);
        if (loader_append_till(&ld, r->store, (int64_t)(nticks - 1) * ei, r->errs, &e) != SG_OK) {
            if (e.code == SG_ENOMEM)
                r->errs->oom = true;
            goto out;
        }
        /* nothing can fire without rules */
        for (curr = 0; curr < ntimes; curr++) {
            for (size_t i = 0; i < g->nalerts; i++) {
                if (g->alerts[i].eval_time_ms == times[curr])
                    check_alert(r, g, &g->alerts[i], NULL, 0);
            }
        }
    } else {
        if (nticks > r->lim->max_ticks) {
            errs_add(r->errs, "%s: the test group needs %llu evaluation steps, more than %llu",
                     r->file, (unsigned long long)nticks, (unsigned long long)r->lim->max_ticks);
            goto out;
        }
        rc = run_ticks(r, g, ur, &ld, ei, nticks, times, ntimes);
        if (rc != SG_OK)
            goto out; /* a rule failed: promtool skips the expression tests */
    }

    for (size_t i = 0; i < g->nexprs; i++)
        check_expr(r, &g->exprs[i]);
out:
    sg_store_free(r->store);
    r->store = NULL;
    sg_arena_cleanup(&ga);
}

/* ---- one file ------------------------------------------------------------------------------ */

static void run_file(struct run *r, struct errlist *errs, FILE *errout)
{
    struct sg_buf text, msg;
    struct sg_ut_file *f = NULL;
    struct sg_err e;
    char *dir;
    struct strvec rules = {r->a, NULL, 0, 0};
    int64_t ei;
    int rc;

    sg_buf_init(&text, r->lim->max_file_bytes + 1);
    sg_buf_init(&msg, 1 << 24);
    sg_err_clear(&e);
    rc = sg_fs_read_all(r->file, r->lim->max_file_bytes, &text, &e);
    if (rc != SG_OK) {
        errs_add(errs, "%s", e.msg);
        goto out;
    }
    rc = sg_ut_file_parse(sg_buf_view(&text), r->file, r->a, r->lim, &f, &msg, &e);
    if (rc != SG_OK) {
        errs_add_str(errs, sg_buf_cstr(&msg), msg.len);
        goto out;
    }
    /* rule files: joined to the test file's directory, then globbed */
    dir = path_dir(r->a, r->file);
    if (!dir)
        goto oom;
    for (size_t i = 0; i < f->nrule_files; i++) {
        const char *rf = sg_arena_strndup(r->a, f->rule_files[i].ptr, f->rule_files[i].len);
        char **m;
        size_t nm;
        if (!rf)
            goto oom;
        if (rf[0] != '\0' && rf[0] != '/') {
            rf = path_join(r->a, dir, rf);
            if (!rf)
                goto oom;
        }
        sg_err_clear(&e);
        rc = sg_ut_glob(rf, r->a, &m, &nm, &e);
        if (rc == SG_EPARSE) {
            errs_add(errs, "%s", e.msg);
            goto out;
        }
        if (rc != SG_OK)
            goto oom;
        if (nm == 0) {
            fprintf(errout, "  WARNING: no file match pattern %s\n", rf);
            fflush(errout);
        }
        for (size_t k = 0; k < nm; k++)
            if (strvec_push(&rules, m[k]) != SG_OK)
                goto oom;
    }
    ei = f->eval_interval_ms ? f->eval_interval_ms : DEFAULT_EVAL_MS;
    for (size_t i = 0; i < f->norder; i++) {
        for (size_t k = 0; k < i; k++) {
            if (sg_str_eq(f->group_eval_order[i], f->group_eval_order[k])) {
                errs_add(errs, "group name repeated in evaluation order: %.*s",
                         (int)f->group_eval_order[i].len, f->group_eval_order[i].ptr);
                goto out;
            }
        }
    }
    {
        struct ut_rules ur;
        rc = rules_load(&ur, f, rules.v, rules.n, r->a);
        if (rc == SG_OK) {
            for (size_t i = 0; i < f->ntests; i++)
                run_group(r, &f->tests[i], ei, &ur);
        }
        rules_free(&ur);
        if (rc != SG_OK)
            goto oom;
    }
    goto out;
oom:
    errs->oom = true;
out:
    sg_buf_cleanup(&msg);
    sg_buf_cleanup(&text);
}

bool sg_ut_run_file(const char *path, const struct sg_ut_opts *opts, FILE *out, FILE *errout)
{
    struct sg_ut_limits lim = {0};
    struct sg_arena a;
    struct errlist errs;
    struct run r;
    bool ok;

    if (opts && opts->limits)
        lim = *opts->limits;
    if (!lim.max_file_bytes)
        lim.max_file_bytes = DEF_MAX_FILE_BYTES;
    if (!lim.max_samples)
        lim.max_samples = DEF_MAX_SAMPLES;
    if (!lim.max_ticks)
        lim.max_ticks = DEF_MAX_TICKS;
    if (!lim.max_store_bytes)
        lim.max_store_bytes = DEF_MAX_STORE_BYTES;
    if (!lim.max_query_samples)
        lim.max_query_samples = DEF_MAX_QUERY_SAMPLE;

    fprintf(out, "Unit Testing:  %s\n", path);
    fflush(out);
    sg_arena_init(&a, 0);
    memset(&errs, 0, sizeof(errs));
    errs.a = &a;
    memset(&r, 0, sizeof(r));
    r.file = path;
    r.lim = &lim;
    r.a = &a;
    r.errs = &errs;
    r.qopts.compat = sg_promql_compat_default();
    r.qopts.lookback_ms = LOOKBACK_MS;
    r.qopts.max_samples = lim.max_query_samples;
    run_file(&r, &errs, errout);
    if (errs.oom)
        errs_add(&errs, "%s: out of memory", path);
    ok = errs.n == 0 && !errs.oom;
    if (!ok) {
        fprintf(errout, "  FAILED:\n");
        fflush(errout);
        for (size_t i = 0; i < errs.n; i++) {
            fprintf(errout, "%s\n", errs.v[i]);
            fflush(errout);
            fputc('\n', out);
            fflush(out);
        }
        if (errs.n == 0) {
            fprintf(errout, "%s: out of memory\n", path);
            fflush(errout);
        }
    } else {
        fprintf(out, "  SUCCESS\n");
    }
    fputc('\n', out);
    fflush(out);
    sg_arena_cleanup(&a);
    return ok;
}
