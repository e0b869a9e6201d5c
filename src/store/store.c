/* src/store/store.c - the in-memory series store.
 *
 * Holds float series (label set + samples in time order) for promtool-style
 * tests, the daemon's local series (recording rules, ALERTS) and fixtures.
 * Each series owns one allocation for its labels and strings and one
 * growable sample array; dropping old samples moves a start index instead
 * of copying, and the array is compacted when more than half of it is dead.
 *
 * Two hash indexes keep appends and selects cheap at 100k series: the full
 * label set's hash -> series (append), and the metric name's hash -> chain
 * of series with that name (select with a `__name__="x"` matcher). Selects
 * without a name equality matcher scan every series.
 *
 * It does not parse anything, evaluate PromQL or know about remote read.
 */
#include <stdlib.h>
#include <string.h>

#include "stopgate/store.h"

#define NO_SERIES UINT32_MAX

struct mseries {
    struct sg_labels labels;  /* points into `lblock` */
    void *lblock;             /* labels array + strings, one allocation */
    size_t lbytes;
    struct sg_sample *samples;
    size_t start, count, cap; /* live samples are samples[start .. start+count) */
    uint64_t hash;            /* of the whole label set */
    uint64_t name_hash;
    uint32_t next_same_name;  /* chain of the name index */
    bool dead;                /* dropped; slot reusable */
};

struct htab { /* open addressing: hash -> series index */
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, len; /* cap is a power of two; vals[i] == NO_SERIES is empty */
};

struct sg_store {
    struct mseries *s;
    size_t count, cap;   /* slots in s (including dead ones) */
    size_t live, nsamples;
    size_t bytes, max_bytes;
    struct htab by_labels; /* label-set hash -> first series with it (collisions chain by scan) */
    struct htab by_name;   /* name hash -> head of the name chain */
    uint32_t *free_slots;
    size_t nfree, free_cap;
    size_t collisions; /* live series that share a label hash with another */
};

/* ---- series sets --------------------------------------------------------------- */

static int cmp_series(const void *a, const void *b)
{
    const struct sg_series *x = a, *y = b;
    return sg_labels_cmp(&x->labels, &y->labels);
}

void sg_series_set_sort(struct sg_series_set *set)
{
    if (set->count > 1)
        qsort(set->v, set->count, sizeof(*set->v), cmp_series);
    set->sorted = true;
}

size_t sg_series_lower_bound(const struct sg_series *s, int64_t t_ms)
{
    size_t lo = 0, hi = s->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->samples[mid].t < t_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- hash table ----------------------------------------------------------------- */

/* Spread a 64-bit hash over the table's low bits (the label hash's low bits
 * alone cluster). */
static size_t home_slot(uint64_t key, size_t cap)
{
    uint64_t h = key * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h ^ (h >> 32)) & (cap - 1);
}

static int htab_grow(struct htab *h)
{
    size_t ncap = h->cap ? h->cap * 2 : 1024;
    uint64_t *nk = sg_calloc(ncap, sizeof(*nk));
    uint32_t *nv = sg_malloc(ncap * sizeof(*nv));

    if (!nk || !nv) {
        sg_free(nk);
        sg_free(nv);
        return SG_ENOMEM;
    }
    memset(nv, 0xff, ncap * sizeof(*nv));
    for (size_t i = 0; i < h->cap; i++) {
        if (h->vals[i] == NO_SERIES)
            continue;
        size_t j = home_slot(h->keys[i], ncap);
        while (nv[j] != NO_SERIES)
            j = (j + 1) & (ncap - 1);
        nk[j] = h->keys[i];
        nv[j] = h->vals[i];
    }
    sg_free(h->keys);
    sg_free(h->vals);
    h->keys = nk;
    h->vals = nv;
    h->cap = ncap;
    return SG_OK;
}

/* Slot of `key` whose value satisfies pred, or the empty slot where it would go. */
static size_t htab_slot(const struct htab *h, uint64_t key)
{
    size_t j = home_slot(key, h->cap);
    while (h->vals[j] != NO_SERIES && h->keys[j] != key)
        j = (j + 1) & (h->cap - 1);
    return j;
}

static void htab_free(struct htab *h)
{
    sg_free(h->keys);
    sg_free(h->vals);
    memset(h, 0, sizeof(*h));
}

/* ---- store ------------------------------------------------------------------------ */

struct sg_store *sg_store_new(size_t max_bytes)
{
    struct sg_store *st = sg_calloc(1, sizeof(*st));

    if (!st)
        return NULL;
    st->max_bytes = max_bytes;
    if (htab_grow(&st->by_labels) != SG_OK || htab_grow(&st->by_name) != SG_OK) {
        htab_free(&st->by_labels);
        htab_free(&st->by_name);
        sg_free(st);
        return NULL;
    }
    return st;
}

void sg_store_free(struct sg_store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->count; i++) {
        sg_free(st->s[i].lblock);
        sg_free(st->s[i].samples);
    }
    sg_free(st->s);
    sg_free(st->free_slots);
    htab_free(&st->by_labels);
    htab_free(&st->by_name);
    sg_free(st);
}

static uint64_t str_hash(struct sg_str s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.ptr[i];
        h *= UINT64_C(1099511628211);
    }
    return h ^ (h >> 29);
}

static struct sg_str metric_name(const struct sg_labels *ls)
{
    return sg_labels_get(ls, sg_str_make(SG_METRIC_NAME, sizeof(SG_METRIC_NAME) - 1));
}

/* The live series with exactly these labels, or NO_SERIES. The by_labels
 * table maps a hash to one series; different label sets with the same
 * 64-bit hash are found by a scan (never expected in practice). */
static uint32_t find_series(const struct sg_store *st, const struct sg_labels *ls, uint64_t h)
{
    size_t j = htab_slot(&st->by_labels, h);
    uint32_t idx = st->by_labels.vals[j];

    if (idx == NO_SERIES)
        return NO_SERIES;
    if (!st->s[idx].dead && sg_labels_eq(&st->s[idx].labels, ls))
        return idx;
    for (size_t i = 0; i < st->count; i++) {
        if (!st->s[i].dead && st->s[i].hash == h && sg_labels_eq(&st->s[i].labels, ls))
            return (uint32_t)i;
    }
    return NO_SERIES;
}

static bool over_cap(const struct sg_store *st, size_t more)
{
    return st->max_bytes && (more > st->max_bytes || st->bytes > st->max_bytes - more);
}

static int new_series(struct sg_store *st, const struct sg_labels *ls, uint64_t h, uint32_t *out,
                      struct sg_err *err)
{
    size_t bytes = (size_t)ls->count * sizeof(struct sg_label);
    struct mseries *m;
    uint32_t idx;
    char *p;

    for (uint32_t i = 0; i < ls->count; i++)
        bytes += ls->v[i].name.len + ls->v[i].value.len + 2;
    if (over_cap(st, bytes + sizeof(struct mseries)))
        return sg_err_set(err, SG_ELIMIT, "store: more than %zu bytes", st->max_bytes);
    if (st->nfree) {
        idx = st->free_slots[--st->nfree];
    } else {
        if (st->count == st->cap) {
            size_t ncap = st->cap ? st->cap * 2 : 256;
            struct mseries *ns = sg_reallocarray(st->s, ncap, sizeof(*ns));
            if (!ns)
                return sg_err_set(err, SG_ENOMEM, "store: out of memory");
            st->s = ns;
            st->cap = ncap;
        }
        if (st->count >= NO_SERIES - 1)
            return sg_err_set(err, SG_ELIMIT, "store: too many series");
        idx = (uint32_t)st->count;
    }
    m = &st->s[idx];
    memset(m, 0, sizeof(*m));
    m->lblock = sg_malloc(bytes ? bytes : 1);
    if (!m->lblock) {
        m->dead = true;
        if (idx == st->count)
            st->count++;
        st->free_slots[st->nfree++] = idx; /* free_slots has room: see below */
        return sg_err_set(err, SG_ENOMEM, "store: out of memory");
    }
    if (idx == st->count)
        st->count++;
    m->lbytes = bytes;
    m->labels.v = m->lblock;
    m->labels.count = ls->count;
    p = (char *)m->lblock + (size_t)ls->count * sizeof(struct sg_label);
    for (uint32_t i = 0; i < ls->count; i++) {
        memcpy(p, ls->v[i].name.ptr, ls->v[i].name.len);
        p[ls->v[i].name.len] = '\0';
        m->labels.v[i].name = sg_str_make(p, ls->v[i].name.len);
        p += ls->v[i].name.len + 1;
        memcpy(p, ls->v[i].value.ptr, ls->v[i].value.len);
        p[ls->v[i].value.len] = '\0';
        m->labels.v[i].value = sg_str_make(p, ls->v[i].value.len);
        p += ls->v[i].value.len + 1;
    }
    m->hash = h;
    m->name_hash = str_hash(metric_name(ls));
    m->next_same_name = NO_SERIES;
    st->bytes += bytes + sizeof(struct mseries);
    st->live++;

    /* index by labels (keep an existing entry if a colliding live series has it) */
    size_t j = htab_slot(&st->by_labels, h);
    if (st->by_labels.vals[j] == NO_SERIES) {
        st->by_labels.len++;
        st->by_labels.keys[j] = h;
        st->by_labels.vals[j] = idx;
    } else {
        st->collisions++;
    }
    /* push on the name chain */
    j = htab_slot(&st->by_name, m->name_hash);
    if (st->by_name.vals[j] == NO_SERIES) {
        st->by_name.len++;
        st->by_name.keys[j] = m->name_hash;
    } else {
        m->next_same_name = st->by_name.vals[j];
    }
    st->by_name.vals[j] = idx;
    *out = idx;
    return SG_OK;
}

int sg_store_append(struct sg_store *st, const struct sg_labels *ls, int64_t t_ms, double v,
                    struct sg_err *err)
{
    uint64_t h = sg_labels_hash(ls);
    uint32_t idx;
    struct mseries *m;

    /* room for a failure path's free slot and for index growth, up front */
    if (st->nfree == st->free_cap) {
        size_t ncap = st->free_cap ? st->free_cap * 2 : 64;
        uint32_t *nf = sg_reallocarray(st->free_slots, ncap, sizeof(*nf));
        if (!nf)
            return sg_err_set(err, SG_ENOMEM, "store: out of memory");
        st->free_slots = nf;
        st->free_cap = ncap;
    }
    if ((st->by_labels.len + 1) * 2 > st->by_labels.cap && htab_grow(&st->by_labels) != SG_OK)
        return sg_err_set(err, SG_ENOMEM, "store: out of memory");
    if ((st->by_name.len + 1) * 2 > st->by_name.cap && htab_grow(&st->by_name) != SG_OK)
        return sg_err_set(err, SG_ENOMEM, "store: out of memory");

    idx = find_series(st, ls, h);
    if (idx == NO_SERIES) {
        int rc = new_series(st, ls, h, &idx, err);
        if (rc != SG_OK)
            return rc;
    }
    m = &st->s[idx];
    if (m->count > 0) {
        struct sg_sample *last = &m->samples[m->start + m->count - 1];
        if (last->t == t_ms) {
            last->v = v;
            return SG_OK;
        }
        if (last->t > t_ms)
            return sg_err_set(err, SG_EINVAL, "out of order sample");
    }
    if (m->start + m->count == m->cap) {
        if (m->start > 0 && m->start >= m->count) {
            memmove(m->samples, m->samples + m->start, m->count * sizeof(*m->samples));
            m->start = 0;
        } else {
            size_t ncap = m->cap ? m->cap * 2 : 16;
            size_t more = (ncap - m->cap) * sizeof(*m->samples);
            struct sg_sample *ns;
            if (over_cap(st, more))
                return sg_err_set(err, SG_ELIMIT, "store: more than %zu bytes", st->max_bytes);
            ns = sg_reallocarray(m->samples, ncap, sizeof(*ns));
            if (!ns)
                return sg_err_set(err, SG_ENOMEM, "store: out of memory");
            m->samples = ns;
            m->cap = ncap;
            st->bytes += more;
        }
    }
    m->samples[m->start + m->count].t = t_ms;
    m->samples[m->start + m->count].v = v;
    m->count++;
    st->nsamples++;
    return SG_OK;
}

/* First live sample index >= t within m (relative to start). */
static size_t m_lower_bound(const struct mseries *m, int64_t t)
{
    struct sg_series s = {.samples = m->samples + m->start, .count = m->count};
    return sg_series_lower_bound(&s, t);
}

static int consider(const struct mseries *m, const struct sg_matcher *ms, size_t n, int64_t mint,
                    int64_t maxt, struct sg_series *out, bool *take, struct sg_err *err)
{
    size_t lo, hi;
    int r;

    *take = false;
    if (m->dead || m->count == 0)
        return SG_OK;
    r = sg_matchers_match(ms, n, &m->labels, err);
    if (r < 0)
        return r;
    if (r == 0)
        return SG_OK;
    lo = m_lower_bound(m, mint);
    hi = maxt == INT64_MAX ? m->count : m_lower_bound(m, maxt + 1);
    if (lo >= hi)
        return SG_OK;
    out->labels = m->labels;
    out->samples = m->samples + m->start + lo;
    out->count = hi - lo;
    *take = true;
    return SG_OK;
}

int sg_store_select(const struct sg_store *st, const struct sg_matcher *ms, size_t n, int64_t mint_ms,
                    int64_t maxt_ms, struct sg_arena *a, struct sg_series_set *out,
                    struct sg_err *err)
{
    const struct sg_matcher *name_eq = NULL;
    struct sg_series *v = NULL;
    size_t count = 0, cap = 0;
    uint32_t idx;
    int rc;

    out->v = NULL;
    out->count = 0;
    out->sorted = true;
    if (mint_ms > maxt_ms)
        return SG_OK;
    for (size_t i = 0; i < n; i++) {
        if (ms[i].type == SG_MATCH_EQ && sg_str_eq_c(ms[i].name, SG_METRIC_NAME)) {
            name_eq = &ms[i];
            break;
        }
    }
    if (name_eq) {
        uint64_t nh = str_hash(name_eq->value);
        size_t j = htab_slot(&st->by_name, nh);
        idx = st->by_name.vals[j];
    } else {
        idx = st->count ? 0 : NO_SERIES;
    }
    while (idx != NO_SERIES) {
        const struct mseries *m = &st->s[idx];
        struct sg_series s;
        bool take;

        rc = consider(m, ms, n, mint_ms, maxt_ms, &s, &take, err);
        if (rc != SG_OK)
            return rc;
        if (take) {
            if (count == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct sg_series *nv = sg_arena_alloc_array(a, ncap, sizeof(*nv));
                if (!nv)
                    return sg_err_set(err, SG_ENOMEM, "select: out of memory");
                if (count)
                    memcpy(nv, v, count * sizeof(*nv));
                v = nv;
                cap = ncap;
            }
            v[count++] = s;
        }
        if (name_eq)
            idx = m->next_same_name;
        else
            idx = (size_t)idx + 1 < st->count ? idx + 1 : NO_SERIES;
    }
    out->v = v;
    out->count = count;
    sg_series_set_sort(out);
    return SG_OK;
}

/* Unlink series idx from its name chain and the label index; free it. */
static void kill_series(struct sg_store *st, uint32_t idx)
{
    struct mseries *m = &st->s[idx];
    size_t j = htab_slot(&st->by_name, m->name_hash);

    if (st->by_name.vals[j] == idx) {
        st->by_name.vals[j] = m->next_same_name;
        if (m->next_same_name == NO_SERIES) {
            /* leave a tombstone-free table: rebuild this cluster by reinserting */
            st->by_name.vals[j] = NO_SERIES;
            st->by_name.len--;
            size_t k = (j + 1) & (st->by_name.cap - 1);
            while (st->by_name.vals[k] != NO_SERIES) {
                uint64_t key = st->by_name.keys[k];
                uint32_t val = st->by_name.vals[k];
                st->by_name.vals[k] = NO_SERIES;
                size_t d = htab_slot(&st->by_name, key);
                st->by_name.keys[d] = key;
                st->by_name.vals[d] = val;
                k = (k + 1) & (st->by_name.cap - 1);
            }
        }
    } else {
        uint32_t p = st->by_name.vals[j];
        while (p != NO_SERIES && st->s[p].next_same_name != idx)
            p = st->s[p].next_same_name;
        if (p != NO_SERIES)
            st->s[p].next_same_name = m->next_same_name;
    }
    j = htab_slot(&st->by_labels, m->hash);
    if (st->by_labels.vals[j] != idx && st->collisions)
        st->collisions--;
    if (st->by_labels.vals[j] == idx) {
        /* point at another live series with the same hash, if any */
        uint32_t other = NO_SERIES;
        for (size_t i = 0; st->collisions && i < st->count && other == NO_SERIES; i++)
            if (i != idx && !st->s[i].dead && st->s[i].hash == m->hash)
                other = (uint32_t)i;
        if (other != NO_SERIES) {
            st->by_labels.vals[j] = other;
            st->collisions--;
        } else {
            st->by_labels.vals[j] = NO_SERIES;
            st->by_labels.len--;
            size_t k = (j + 1) & (st->by_labels.cap - 1);
            while (st->by_labels.vals[k] != NO_SERIES) {
                uint64_t key = st->by_labels.keys[k];
                uint32_t val = st->by_labels.vals[k];
                st->by_labels.vals[k] = NO_SERIES;
                size_t d = htab_slot(&st->by_labels, key);
                st->by_labels.keys[d] = key;
                st->by_labels.vals[d] = val;
                k = (k + 1) & (st->by_labels.cap - 1);
            }
        }
    }
    st->bytes -= m->lbytes + sizeof(struct mseries) + m->cap * sizeof(struct sg_sample);
    sg_free(m->lblock);
    sg_free(m->samples);
    m->lblock = NULL;
    m->samples = NULL;
    m->count = m->cap = m->start = 0;
    m->dead = true;
    st->live--;
    st->free_slots[st->nfree++] = idx;
}

void sg_store_drop_before(struct sg_store *st, int64_t t_ms)
{
    for (size_t i = 0; i < st->count; i++) {
        struct mseries *m = &st->s[i];
        size_t k;

        if (m->dead)
            continue;
        k = m_lower_bound(m, t_ms);
        if (k == 0)
            continue;
        m->start += k;
        m->count -= k;
        st->nsamples -= k;
        if (m->count == 0) {
            if (st->nfree == st->free_cap) {
                size_t ncap = st->free_cap ? st->free_cap * 2 : 64;
                uint32_t *nf = sg_reallocarray(st->free_slots, ncap, sizeof(*nf));
                if (!nf) {
                    m->start = 0; /* keep an empty series rather than fail */
                    continue;
                }
                st->free_slots = nf;
                st->free_cap = ncap;
            }
            kill_series(st, (uint32_t)i);
        } else if (m->start > m->count) {
            memmove(m->samples, m->samples + m->start, m->count * sizeof(*m->samples));
            m->start = 0;
        }
    }
}

size_t sg_store_series_count(const struct sg_store *st)
{
    return st->live;
}

size_t sg_store_sample_count(const struct sg_store *st)
{
    return st->nsamples;
}

int sg_store_foreach(const struct sg_store *st, int (*fn)(const struct sg_series *s, void *arg),
                     void *arg)
{
    for (size_t i = 0; i < st->count; i++) {
        const struct mseries *m = &st->s[i];
        struct sg_series s;
        int r;

        if (m->dead || m->count == 0)
            continue;
        s.labels = m->labels;
        s.samples = m->samples + m->start;
        s.count = m->count;
        r = fn(&s, arg);
        if (r != 0)
            return r;
    }
    return 0;
}
