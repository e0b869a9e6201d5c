/* src/rr/series.c - what the SAMPLES and the STREAMED_XOR_CHUNKS decoders
 * share: one series' labels while it is decoded (Label messages read,
 * dropped names left out, sorted, copied out), and putting decoded series
 * in order: label-set compare, time sort with deduplication, and the
 * per-query sort and merge of series with equal label sets. Pure functions
 * over memory; no I/O. */
#include <stdlib.h>
#include <string.h>

#include "rr/rr_int.h"

static int str_cmp(struct sg_str a, struct sg_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;

    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

int sg_rr__mem_err(const struct sg_arena *arena, struct sg_err *err)
{
    if (arena->max_bytes)
        return sg_err_set(err, SG_ELIMIT, "the result does not fit in its memory cap of %zu bytes",
                          arena->max_bytes);
    return sg_err_set(err, SG_ENOMEM, "out of memory decoding the response");
}

void sg_rr__lscratch_reset(struct sg_rr__lscratch *ls)
{
    ls->count = 0;
    ls->ordered = true;
}

static bool dropped(const struct sg_rr_decode_query *q, struct sg_str name)
{
    for (size_t i = 0; i < q->ndrop_labels; i++)
        if (sg_str_eq(q->drop_labels[i], name))
            return true;
    return false;
}

int sg_rr__lscratch_add(struct sg_rr__lscratch *ls, const struct sg_rr_decode_query *q, struct pb m,
                        struct sg_err *err)
{
    struct sg_label l = {{"", 0}, {"", 0}};

    while (m.p < m.end) {
        struct pb s;
        uint64_t f;
        unsigned w;
        if (!pb_key(&m, &f, &w))
            return SG_EPROTO;
        if ((f == 1 || f == 2) && w == 2) {
            if (!pb_bytes(&m, &s))
                return SG_EPROTO;
            if (f == 1)
                l.name = sg_str_make((const char *)s.p, (size_t)(s.end - s.p));
            else
                l.value = sg_str_make((const char *)s.p, (size_t)(s.end - s.p));
        } else if (!pb_skip(&m, w)) {
            return SG_EPROTO;
        }
    }
    if (dropped(q, l.name))
        return SG_OK;
    if (ls->count == SG_RR_MAX_LABELS)
        return sg_err_set(err, SG_ELIMIT, "a series has more than %d labels", SG_RR_MAX_LABELS);
    if (ls->count == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 32;
        struct sg_label *v = sg_reallocarray(ls->v, cap, sizeof(*v));
        if (!v)
            return sg_err_set(err, SG_ENOMEM, "out of memory");
        ls->v = v;
        ls->cap = cap;
    }
    if (ls->count && sg_str_cmp(ls->v[ls->count - 1].name, l.name) >= 0)
        ls->ordered = false;
    ls->v[ls->count++] = l;
    return SG_OK;
}

static int label_name_cmp(const void *a, const void *b)
{
    const struct sg_label *x = a, *y = b;
    return sg_str_cmp(x->name, y->name);
}

const struct sg_label *sg_rr__lscratch_sort(struct sg_rr__lscratch *ls)
{
    if (ls->ordered)
        return NULL;
    qsort(ls->v, ls->count, sizeof(*ls->v), label_name_cmp);
    for (size_t i = 1; i < ls->count; i++)
        if (sg_str_eq(ls->v[i].name, ls->v[i - 1].name))
            return &ls->v[i];
    return NULL;
}

int sg_rr__lscratch_copy(const struct sg_rr__lscratch *ls, struct sg_arena *arena,
                         struct sg_labels *out)
{
    struct sg_label *v = sg_arena_alloc_array(arena, ls->count ? ls->count : 1, sizeof(*v));

    if (!v)
        return SG_ENOMEM;
    for (size_t i = 0; i < ls->count; i++)
        if (sg_arena_str(arena, ls->v[i].name, &v[i].name) != SG_OK ||
            sg_arena_str(arena, ls->v[i].value, &v[i].value) != SG_OK)
            return SG_ENOMEM;
    out->v = v;
    out->count = (uint32_t)ls->count;
    return SG_OK;
}

int sg_rr__labels_cmp(const struct sg_labels *a, const struct sg_labels *b)
{
    uint32_t n = a->count < b->count ? a->count : b->count;

    for (uint32_t i = 0; i < n; i++) {
        int c = str_cmp(a->v[i].name, b->v[i].name);
        if (c)
            return c;
        c = str_cmp(a->v[i].value, b->v[i].value);
        if (c)
            return c;
    }
    return a->count < b->count ? -1 : a->count > b->count;
}

size_t sg_rr__lower_bound(const struct sg_sample *s, size_t n, int64_t t_ms)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].t < t_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

long sg_rr__sort_dedupe(struct sg_sample *s, size_t n)
{
    size_t i, o;
    bool ordered = true;

    for (i = 1; i < n; i++) {
        if (s[i].t <= s[i - 1].t) {
            ordered = false;
            break;
        }
    }
    if (!ordered) {
        /* bottom-up merge sort: stable, so the first of equal timestamps
         * (the earlier chunk's) is kept below */
        struct sg_sample *tmp = sg_reallocarray(NULL, n, sizeof(*tmp)), *src = s, *dst = tmp;
        if (!tmp)
            return SG_ENOMEM;
        for (size_t w = 1; w < n; w *= 2) {
            for (size_t lo = 0; lo < n; lo += 2 * w) {
                size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
                size_t a = lo, b = mid, k = lo;
                while (a < mid && b < hi)
                    dst[k++] = src[b].t < src[a].t ? src[b++] : src[a++];
                while (a < mid)
                    dst[k++] = src[a++];
                while (b < hi)
                    dst[k++] = src[b++];
            }
            struct sg_sample *t = src;
            src = dst;
            dst = t;
        }
        if (src != s)
            memcpy(s, src, n * sizeof(*s));
        sg_free(tmp);
    }
    for (i = 1, o = n ? 1 : 0; i < n; i++) {
        if (s[i].t != s[o - 1].t)
            s[o++] = s[i];
    }
    return (long)o;
}

static int series_cmp(const void *a, const void *b)
{
    const struct sg_series *x = a, *y = b;
    return sg_rr__labels_cmp(&x->labels, &y->labels);
}

int sg_rr__finish_set(struct sg_series *v, size_t *count, bool sorted, struct sg_arena *arena,
                      struct sg_err *err)
{
    size_t n = *count, i, o;

    if (!sorted && n > 1)
        qsort(v, n, sizeof(*v), series_cmp);
    for (i = 0, o = 0; i < n;) {
        size_t j = i + 1, total = v[i].count;
        while (j < n && sg_rr__labels_cmp(&v[i].labels, &v[j].labels) == 0)
            total += v[j++].count;
        if (j > i + 1) {
            /* the same series twice (split oddly by the server): merge */
            struct sg_sample *m = sg_arena_alloc_array(arena, total, sizeof(*m));
            size_t k = 0;
            long got;
            if (!m)
                return sg_err_set(err, SG_ELIMIT, "result exceeds the memory cap");
            for (size_t x = i; x < j; x++) {
                memcpy(m + k, v[x].samples, v[x].count * sizeof(*m));
                k += v[x].count;
            }
            got = sg_rr__sort_dedupe(m, total);
            if (got < 0)
                return sg_err_set(err, SG_ENOMEM, "merging series");
            v[i].samples = m;
            v[i].count = (size_t)got;
        }
        v[o++] = v[i];
        i = j;
    }
    *count = o;
    return SG_OK;
}
