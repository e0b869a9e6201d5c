/* src/labels/labels.c - label sets: hashing, ordering, editing, printing.
 *
 * A set is a sorted array of (name, value) views; nothing here owns the
 * strings except sg_labels_copy, which copies them into an arena. The hash
 * is our own 64-bit multiply-mix over 8-byte words (the wyhash family of
 * ideas: 64x64->128 multiply and fold); it only has to be fast and spread
 * well, it is never persisted or compared with Prometheus's.
 *
 * Printing follows Prometheus 2.42: labels.Labels.String for sets and
 * model.Metric.String for series, values quoted like Go's strconv.Quote
 * (sg_quote_go, in quote.c).
 *
 * Matchers and regexes live in matcher.c and regex.c.
 */
#include <string.h>

#include "stopgate/labels.h"

/* ---- hashing ------------------------------------------------------------- */

#define K0 UINT64_C(0xa0761d6478bd642f)
#define K1 UINT64_C(0xe7037ed1a0b428db)
#define K2 UINT64_C(0x8ebc6af09c88c6e3)
#define K3 UINT64_C(0x589965cc75374cc3)

__extension__ typedef unsigned __int128 sg_u128;

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    sg_u128 r = (sg_u128)a * b;

    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd32(const unsigned char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

/* Hash of a byte string, chained on seed. */
static uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t a, b;

    seed ^= K0 ^ (uint64_t)len * K3;
    if (len <= 16) {
        if (len >= 4) {
            a = (rd32(p) << 32) | rd32(p + ((len >> 3) << 2));
            b = (rd32(p + len - 4) << 32) | rd32(p + len - 4 - ((len >> 3) << 2));
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = len;
        while (i > 16) {
            seed = mum(rd64(p) ^ K1, rd64(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        a = rd64(p + i - 16);
        b = rd64(p + i - 8);
    }
    return mum(K1 ^ (uint64_t)len, mum(a ^ K1, b ^ seed));
}

static inline uint64_t hash_label(uint64_t h, const struct sg_label *l)
{
    h = hash_bytes(l->name.ptr, l->name.len, h ^ K2);
    return hash_bytes(l->value.ptr, l->value.len, h);
}

uint64_t sg_labels_hash(const struct sg_labels *ls)
{
    uint64_t h = K3;

    for (uint32_t i = 0; i < ls->count; i++)
        h = hash_label(h, &ls->v[i]);
    return h;
}

static bool in_names(struct sg_str name, const struct sg_str *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sg_str_eq(name, names[i]))
            return true;
    return false;
}

uint64_t sg_labels_hash_without(const struct sg_labels *ls, const struct sg_str *names, size_t n,
                                bool drop_name)
{
    uint64_t h = K3;

    for (uint32_t i = 0; i < ls->count; i++) {
        const struct sg_label *l = &ls->v[i];
        if (drop_name && sg_str_eq_c(l->name, SG_METRIC_NAME))
            continue;
        if (in_names(l->name, names, n))
            continue;
        h = hash_label(h, l);
    }
    return h;
}

uint64_t sg_labels_hash_for(const struct sg_labels *ls, const struct sg_str *names, size_t n)
{
    uint64_t h = K3;

    for (uint32_t i = 0; i < ls->count; i++) {
        const struct sg_label *l = &ls->v[i];
        if (in_names(l->name, names, n))
            h = hash_label(h, l);
    }
    return h;
}

/* ---- ordering and lookup ------------------------------------------------- */

int sg_labels_cmp(const struct sg_labels *a, const struct sg_labels *b)
{
    uint32_t n = a->count < b->count ? a->count : b->count;

    for (uint32_t i = 0; i < n; i++) {
        int c = sg_str_cmp(a->v[i].name, b->v[i].name);
        if (c != 0)
            return c < 0 ? -1 : 1;
        c = sg_str_cmp(a->v[i].value, b->v[i].value);
        if (c != 0)
            return c < 0 ? -1 : 1;
    }
    return a->count < b->count ? -1 : a->count > b->count ? 1 : 0;
}

bool sg_labels_eq(const struct sg_labels *a, const struct sg_labels *b)
{
    if (a->count != b->count)
        return false;
    for (uint32_t i = 0; i < a->count; i++)
        if (!sg_str_eq(a->v[i].name, b->v[i].name) || !sg_str_eq(a->v[i].value, b->v[i].value))
            return false;
    return true;
}

/* Index of `name` in the sorted set, or the insertion point negated - 1. */
static int64_t find(const struct sg_label *v, uint32_t count, struct sg_str name)
{
    uint32_t lo = 0, hi = count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = sg_str_cmp(v[mid].name, name);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(int64_t)lo - 1;
}

struct sg_str sg_labels_get(const struct sg_labels *ls, struct sg_str name)
{
    int64_t i = find(ls->v, ls->count, name);

    return i >= 0 ? ls->v[i].value : sg_str_make("", 0);
}

bool sg_labels_has(const struct sg_labels *ls, struct sg_str name)
{
    return find(ls->v, ls->count, name) >= 0;
}

int sg_labels_copy(const struct sg_labels *ls, struct sg_arena *a, struct sg_labels *out)
{
    struct sg_label *v = NULL;

    if (ls->count) {
        v = sg_arena_alloc_array(a, ls->count, sizeof(*v));
        if (!v)
            return SG_ENOMEM;
        for (uint32_t i = 0; i < ls->count; i++) {
            if (sg_arena_str(a, ls->v[i].name, &v[i].name) != SG_OK ||
                sg_arena_str(a, ls->v[i].value, &v[i].value) != SG_OK)
                return SG_ENOMEM;
        }
    }
    out->v = v;
    out->count = ls->count;
    return SG_OK;
}

/* Insertion sort: sets are small and usually almost sorted. Stable. */
static void sort_labels(struct sg_label *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct sg_label x = v[i];
        uint32_t j = i;
        while (j > 0 && sg_str_cmp(v[j - 1].name, x.name) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

int sg_labels_sort(struct sg_labels *ls, struct sg_err *err)
{
    sort_labels(ls->v, ls->count);
    for (uint32_t i = 1; i < ls->count; i++)
        if (sg_str_eq(ls->v[i - 1].name, ls->v[i].name))
            return sg_err_set(err, SG_EINVAL, "label name \"%.*s\" repeats",
                              (int)(ls->v[i].name.len > 200 ? 200 : ls->v[i].name.len),
                              ls->v[i].name.ptr);
    return SG_OK;
}

/* ---- builder --------------------------------------------------------------- */

static bool builder_reserve(struct sg_labels_builder *b, uint32_t need)
{
    struct sg_label *nv;
    uint32_t ncap;

    if (need <= b->cap)
        return true;
    ncap = b->cap ? b->cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    nv = sg_arena_grow(b->arena, b->v, (size_t)b->cap * sizeof(*nv), (size_t)ncap * sizeof(*nv));
    if (!nv) {
        b->failed = true;
        return false;
    }
    b->v = nv;
    b->cap = ncap;
    return true;
}

void sg_labels_builder_init(struct sg_labels_builder *b, struct sg_arena *a,
                            const struct sg_labels *base)
{
    b->arena = a;
    b->v = NULL;
    b->count = b->cap = 0;
    b->failed = false;
    if (base && base->count && builder_reserve(b, base->count)) {
        memcpy(b->v, base->v, (size_t)base->count * sizeof(*b->v));
        b->count = base->count;
    }
}

void sg_labels_builder_del(struct sg_labels_builder *b, struct sg_str name)
{
    int64_t i = find(b->v, b->count, name);

    if (i < 0)
        return;
    memmove(&b->v[i], &b->v[i + 1], (size_t)(b->count - (uint32_t)i - 1) * sizeof(*b->v));
    b->count--;
}

void sg_labels_builder_set(struct sg_labels_builder *b, struct sg_str name, struct sg_str value)
{
    int64_t i;
    uint32_t at;

    if (value.len == 0) {
        sg_labels_builder_del(b, name);
        return;
    }
    i = find(b->v, b->count, name);
    if (i >= 0) {
        b->v[i].value = value;
        return;
    }
    if (!builder_reserve(b, b->count + 1))
        return;
    at = (uint32_t)(-(i + 1));
    memmove(&b->v[at + 1], &b->v[at], (size_t)(b->count - at) * sizeof(*b->v));
    b->v[at].name = name;
    b->v[at].value = value;
    b->count++;
}

void sg_labels_builder_keep(struct sg_labels_builder *b, const struct sg_str *names, size_t n)
{
    uint32_t o = 0;

    for (uint32_t i = 0; i < b->count; i++)
        if (in_names(b->v[i].name, names, n))
            b->v[o++] = b->v[i];
    b->count = o;
}

int sg_labels_builder_finish(struct sg_labels_builder *b, struct sg_labels *out)
{
    if (b->failed)
        return SG_ENOMEM;
    out->v = b->v;
    out->count = b->count;
    return SG_OK;
}

/* ---- names ------------------------------------------------------------------- */

static bool name_valid(struct sg_str s, bool colon)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

bool sg_label_name_valid(struct sg_str s)
{
    return name_valid(s, false);
}

bool sg_metric_name_valid(struct sg_str s)
{
    return name_valid(s, true);
}

/* ---- printing ------------------------------------------------------------------ */

/* name="value", after ", " unless it is the first. */
static int put_pair(const struct sg_label *l, bool first, struct sg_buf *out)
{
    int rc = first ? SG_OK : sg_buf_append(out, ", ", 2);

    if (rc == SG_OK)
        rc = sg_buf_append_str(out, l->name);
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '=');
    if (rc == SG_OK)
        rc = sg_quote_go(l->value, out);
    return rc;
}

int sg_labels_format(const struct sg_labels *ls, struct sg_buf *out)
{
    int rc = sg_buf_putc(out, '{');

    for (uint32_t i = 0; rc == SG_OK && i < ls->count; i++)
        rc = put_pair(&ls->v[i], i == 0, out);
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '}');
    return rc;
}

/* Order of `name="value"` strings, as model.Metric.String sorts them: the
 * end of a name compares like '=' (so "a1" sorts before "a"). */
static int cmp_metric_pair(struct sg_str a, struct sg_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    unsigned char ca, cb;

    if (c != 0 || a.len == b.len)
        return c;
    ca = a.len > n ? (unsigned char)a.ptr[n] : '=';
    cb = b.len > n ? (unsigned char)b.ptr[n] : '=';
    return ca < cb ? -1 : ca > cb ? 1 : 0;
}

int sg_labels_format_metric(const struct sg_labels *ls, struct sg_buf *out)
{
    struct sg_str name = sg_str_make("", 0);
    bool has_name = false;
    uint32_t idx[64], *order = idx, n = 0;
    int rc;

    for (uint32_t i = 0; i < ls->count; i++) {
        if (sg_str_eq_c(ls->v[i].name, SG_METRIC_NAME)) {
            name = ls->v[i].value;
            has_name = true;
            break;
        }
    }
    if (ls->count == 0 || (has_name && ls->count == 1))
        return has_name ? sg_buf_append_str(out, name) : sg_buf_puts(out, "{}");
    if (ls->count > SG_ARRAY_LEN(idx)) {
        order = sg_reallocarray(NULL, ls->count, sizeof(*order));
        if (!order)
            return SG_ENOMEM;
    }
    for (uint32_t i = 0; i < ls->count; i++) {
        uint32_t j;
        if (sg_str_eq_c(ls->v[i].name, SG_METRIC_NAME))
            continue;
        for (j = n; j > 0 && cmp_metric_pair(ls->v[order[j - 1]].name, ls->v[i].name) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
        n++;
    }
    rc = sg_buf_append_str(out, name);
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '{');
    for (uint32_t k = 0; rc == SG_OK && k < n; k++)
        rc = put_pair(&ls->v[order[k]], k == 0, out);
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '}');
    if (order != idx)
        sg_free(order);
    return rc;
}
