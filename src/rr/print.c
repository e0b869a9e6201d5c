/* src/rr/print.c - series printed as `stopgate read` prints them: text
 * lines `<series> <value> <timestamp_ms>` or Prometheus's JSON matrix.
 *
 * Millions of lines are the normal case, so the per-sample path is short:
 * each series' own text (metric and labels, or the JSON "metric" object)
 * is rendered once and, when at most 128 bytes, copied into each line as
 * one fixed-size block; every line is assembled in place in a 256 KiB
 * buffer that is written out when full (one write per buffer: a quarter
 * as many writes as with 64 KiB, measured 6 ms less CPU over 5 million
 * lines, and still within the core's cache); numbers are written by the
 * inline digit writers below, eight digits at a time in one register; the
 * leading digits of a series' timestamps are kept from one sample to the
 * next. A text line whose value is an integer below 10^8 and whose
 * timestamp is in the kept range gets both numbers' digits from one SSE2
 * register. Only values that are not integers below 2^53 go through
 * sg_num_format (Go's shortest form). tests/unit/test_rr_decode.c compares
 * every writer with a plain reference on random input. This file does no
 * other I/O.
 *
 * In the background (sg_rr_printer_background) the caller's thread only
 * copies each series - labels and samples - into the batch being filled;
 * a printing thread formats and writes whole batches in the order they
 * were filled. Eight batches of 128 KiB go round between the two (a
 * series larger than a batch gets a larger one), so memory stays small
 * and is reused (fresh pages cost more than the copying), the copying
 * thread waits only when the printer is eight batches behind, and the
 * printer's work after the last series is one small batch. A failed
 * write or allocation on the printing thread is reported by the next
 * call.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "rr/rr_int.h"
#include "stopgate/num.h"

/* Go's encoding/json string escaping (as Prometheus's API writes label
 * names and values): quotes, backslash, control characters, <, >, &,
 * U+2028, U+2029; invalid UTF-8 becomes U+FFFD. */
static int json_str(struct sg_buf *b, struct sg_str s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0;
    int rc = sg_buf_putc(b, '"');

    while (rc == SG_OK && i < s.len) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            if (c == '"' || c == '\\') {
                char e[2] = {'\\', (char)c};
                rc = sg_buf_append(b, e, 2);
            } else if (c == '\n') {
                rc = sg_buf_append(b, "\\n", 2);
            } else if (c == '\r') {
                rc = sg_buf_append(b, "\\r", 2);
            } else if (c == '\t') {
                rc = sg_buf_append(b, "\\t", 2);
            } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                rc = sg_buf_append(b, e, 6);
            } else {
                rc = sg_buf_putc(b, (char)c);
            }
            continue;
        }
        /* a UTF-8 sequence: validate it */
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
        uint32_t cp = n == 4 ? c & 7u : n == 3 ? c & 15u : c & 31u;
        bool ok = n >= 2 && c >= 0xc2 && c <= 0xf4 && i + n <= s.len;
        for (size_t k = 1; ok && k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        if (ok && ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                   (n == 4 && (cp < 0x10000 || cp > 0x10ffff))))
            ok = false;
        if (!ok) {
            rc = sg_buf_append(b, "\\ufffd", 6);
            i++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            rc = sg_buf_append(b, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
            i += n;
        } else {
            rc = sg_buf_append(b, p + i, n);
            i += n;
        }
    }
    return rc == SG_OK ? sg_buf_putc(b, '"') : rc;
}

/* ---- the output buffer ---------------------------------------------------- */

#define OUT_CHUNK (256u * 1024)
#define TAIL_MAX  128 /* what follows the series on one line: value, timestamp, separators */

struct out {
    FILE *f;
    char *buf;
    size_t len, cap;
    bool failed; /* a write failed: nothing more is written */
};

static void out_flush(struct out *o)
{
    if (o->len && !o->failed && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->failed = true;
    o->len = 0;
}

/* Room for n more bytes: the buffer is written out when full, and grown
 * for a line longer than a whole buffer (a series with huge labels). */
static inline char *out_room(struct out *o, size_t n)
{
    if (o->cap - o->len < n) {
        out_flush(o);
        if (o->cap < n) {
            char *b = sg_realloc(o->buf, n);
            if (!b) {
                o->failed = true;
                return NULL;
            }
            o->buf = b;
            o->cap = n;
        }
    }
    return o->buf + o->len;
}

static inline int out_append(struct out *o, const void *p, size_t n)
{
    char *d = out_room(o, n);

    if (!d)
        return SG_ENOMEM;
    memcpy(d, p, n);
    o->len += n;
    return SG_OK;
}

/* ---- numbers ------------------------------------------------------------- */

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                  "31323334353637383940414243444546474849505152535455565758596061"
                                  "6263646566676869707172737475767778798081828384858687888990919293"
                                  "949596979899";

/* The number of decimal digits of u (1 for 0). */
static inline size_t u64_len(uint64_t u)
{
    static const uint64_t pow10[20] = {1u,
                                       10u,
                                       100u,
                                       1000u,
                                       10000u,
                                       100000u,
                                       1000000u,
                                       10000000u,
                                       100000000u,
                                       1000000000u,
                                       10000000000u,
                                       100000000000u,
                                       1000000000000u,
                                       10000000000000u,
                                       100000000000000u,
                                       1000000000000000u,
                                       10000000000000000u,
                                       100000000000000000u,
                                       1000000000000000000u,
                                       10000000000000000000u};
    unsigned t = ((64u - (unsigned)__builtin_clzll(u | 1)) * 1233u) >> 12; /* about log10 */

    return t + (u >= pow10[t]) + (u == 0);
}

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the digit writers below assume a little-endian host"
#endif

static inline uint64_t digit_pair(uint32_t i)
{
    uint16_t v;

    memcpy(&v, digit_pairs + 2 * i, 2);
    return v;
}

/* The 8 decimal digits of x < 10^8, leading zeros kept, as the 8 bytes
 * that spell them in memory order, computed in one register with no table
 * and no chain of divisions: x splits into two 4-digit halves (32-bit
 * lanes, the leading half in the low lane, which comes first in memory),
 * each half into two 2-digit lanes of 16 bits, each of those into two
 * digits of 8 bits. A lane's quotient is a multiply and a shift that is
 * exact over the lane's range ((v * 10486) >> 20 == v / 100 for v <
 * 10^4, (v * 103) >> 10 == v / 10 for v < 100), the product of a lane
 * never reaches the next, and the mask keeps only the quotient's bits. */
static inline uint64_t digits8(uint32_t x)
{
    uint64_t halves = (uint64_t)(x / 10000) | (uint64_t)(x % 10000) << 32;
    uint64_t hundreds = ((halves * 10486) >> 20) & 0x0000007F0000007Full;
    uint64_t pairs = hundreds | (halves - 100 * hundreds) << 16;
    uint64_t tens = ((pairs * 103) >> 10) & 0x000F000F000F000Full;
    uint64_t digits = tens | (pairs - 10 * tens) << 8;

    return digits + 0x3030303030303030ull;
}

/* The n <= 8 digits of x < 10^8 at p; 8 bytes are stored (the room is
 * there), n of them count. */
static inline void put_digits8(char *p, uint32_t x, size_t n)
{
    uint64_t v = digits8(x) >> (8 * (8 - n));

    memcpy(p, &v, 8);
}

/* The digits of u at p, written straight into place; returns their number
 * (at most 20; up to 24 bytes are stored). */
static inline size_t put_u64(char *p, uint64_t u)
{
    uint64_t hi;
    size_t n;

    if (u < 100000000u) {
        n = u64_len(u);
        put_digits8(p, (uint32_t)u, n);
        return n;
    }
    hi = u / 100000000u;
    if (hi < 100000000u) { /* up to 16 digits: millisecond timestamps, counters */
        n = u64_len(hi);
        put_digits8(p, (uint32_t)hi, n);
        put_digits8(p + n, (uint32_t)(u - hi * 100000000u), 8);
        return n + 8;
    }
    n = u64_len(hi / 100000000u);
    put_digits8(p, (uint32_t)(hi / 100000000u), n);
    put_digits8(p + n, (uint32_t)(hi % 100000000u), 8);
    put_digits8(p + n + 8, (uint32_t)(u - hi * 100000000u), 8);
    return n + 16;
}

/* An integer at p; returns the bytes written (at most 20). */
static inline size_t put_i64(char *p, int64_t t)
{
    if (t < 0) {
        *p = '-';
        return 1 + put_u64(p + 1, (uint64_t)0 - (uint64_t)t);
    }
    return put_u64(p, (uint64_t)t);
}

/* A value that is not an integer below 2^53, through sg_num_format. */
static size_t put_value_slow(char *p, double v)
{
    double abs = fabs(v);
    char tmp[SG_NUM_FMT_MAX];
    size_t n =
        sg_num_format(v, abs != 0 && (abs < 1e-6 || abs >= 1e21) ? 'e' : 'f', tmp, sizeof(tmp));

    memcpy(p, tmp, n); /* 'f' below 1e21 and 'e': at most 46 bytes */
    return n;
}

/* A value as Prometheus 2.42 writes vector and matrix points
 * (util/jsonutil.MarshalValue): Go's shortest 'f' form, or 'e' when the
 * magnitude is below 1e-6 or at least 1e21. Integers below 2^53 (counters,
 * histogram buckets: most samples) are their own shortest digits and are
 * written here; everything else goes through sg_num_format. Writes at
 * most 64 bytes at p; returns the length. */
static inline size_t put_value(char *p, double v)
{
    double abs = fabs(v);

    if (abs < 9007199254740992.0 && abs == (double)(uint64_t)abs && !(v == 0 && signbit(v))) {
        size_t neg = v < 0;
        *p = '-';
        return neg + put_u64(p + neg, (uint64_t)abs);
    }
    return put_value_slow(p, v);
}

/* A matrix point's timestamp as Prometheus 2.42's JSON writes it: seconds,
 * with three decimals when the milliseconds are not zero. */
static inline size_t put_json_ts(char *p, int64_t t)
{
    uint64_t u = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    unsigned frac = (unsigned)(u % 1000);
    size_t o = 0;

    if (t < 0)
        p[o++] = '-';
    o += put_u64(p + o, u / 1000);
    if (frac) {
        p[o] = '.';
        p[o + 1] = (char)('0' + frac / 100);
        memcpy(p + o + 2, digit_pairs + 2 * (frac % 100), 2);
        o += 4;
    }
    return o;
}

/* Timestamps of one series share their leading digits: the digits of
 * t / unit are kept from one sample to the next while t stays in
 * [base, base + unit), and only the rest is converted (8 digits). */
struct ts_cache {
    bool valid;
    uint64_t base;    /* a multiple of unit */
    uint64_t hi_word; /* the digits of base / unit, as put_digits8 stores them */
    size_t hi_n;
};

/* Point c at t's unit-sized range when t >= unit (the leading digits are
 * then not zero), t / unit < 10^8, and the range ends below 2^63 (so that
 * no negative t, seen as unsigned, falls in it); false for other t. */
static inline bool ts_cache_move(struct ts_cache *c, int64_t t, uint64_t unit)
{
    uint64_t hi;

    if (t < (int64_t)unit)
        return false;
    hi = (uint64_t)t / unit;
    if (hi >= 100000000u || hi + 1 > (uint64_t)INT64_MAX / unit)
        return false;
    c->valid = true;
    c->base = hi * unit;
    c->hi_n = u64_len(hi);
    c->hi_word = digits8((uint32_t)hi) >> (8 * (8 - c->hi_n));
    return true;
}

/* The text form of a timestamp: its milliseconds. */
static inline size_t put_ts_text(struct ts_cache *c, char *p, int64_t t)
{
    uint64_t off = (uint64_t)t - c->base;

    if (!c->valid || off >= 100000000u) {
        if (!ts_cache_move(c, t, 100000000u))
            return put_i64(p, t);
        off = (uint64_t)t - c->base;
    }
    memcpy(p, &c->hi_word, 8);
    put_digits8(p + c->hi_n, (uint32_t)off, 8);
    return c->hi_n + 8;
}

/* The JSON form: seconds, three decimals when the milliseconds are not
 * zero (the range unit is 10^8 seconds). */
static inline size_t put_ts_json(struct ts_cache *c, char *p, int64_t t)
{
    uint64_t off = (uint64_t)t - c->base;
    unsigned ms;
    size_t n;

    if (!c->valid || off >= 100000000000u) {
        if (!ts_cache_move(c, t, 100000000000u))
            return put_json_ts(p, t);
        off = (uint64_t)t - c->base;
    }
    memcpy(p, &c->hi_word, 8);
    put_digits8(p + c->hi_n, (uint32_t)(off / 1000), 8);
    n = c->hi_n + 8;
    ms = (unsigned)(off % 1000);
    if (ms) {
        p[n] = '.';
        p[n + 1] = (char)('0' + ms / 100);
        memcpy(p + n + 2, digit_pairs + 2 * (ms % 100), 2);
        n += 4;
    }
    return n;
}

/* ---- series ---------------------------------------------------------------- */

#define NBATCH      8
#define BATCH_BYTES ((size_t)128 << 10)

/* Series copied for the printing thread: per series a record, its labels'
 * lengths and bytes, then (8-aligned) its samples. */
struct batch {
    uint8_t *data;
    size_t len, cap;
};

struct rec {
    uint32_t nlabels;
    uint32_t pad;
    uint64_t count;
};

struct bg {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct batch b[NBATCH];
    size_t filled;   /* batches handed to the printing thread */
    size_t printed;  /* batches it is done with */
    bool done;       /* nothing more comes */
    bool discard;    /* ... and what came is not printed */
    int rc;          /* the printing thread's first error */
    struct sg_label *lv; /* the printing thread's label array */
    size_t lcap;
};

struct sg_rr_printer {
    struct out out;
    bool json;
    size_t nseries;     /* printed so far */
    struct sg_buf head; /* the series' own text, rendered once per series */
    struct bg *bg;      /* printing in the background */
};

/* A series text of at most this many bytes is copied into each line as
 * a block of this size (the line's room, name + TAIL_MAX, covers it). */
#define NAME_FIXED 128

#ifdef __SSE2__
/* digits8 of a and of b at once, in the two halves of one SSE2 register
 * (a's digits in the low 8 bytes), each digit 0..9 in its byte ('0' not
 * added). The same lane arithmetic as digits8, with products that SSE2
 * has: x / 10000 as a 32x32->64 multiply (as the scalar code compiles
 * it), then 16-bit lanes, where mulhi_epu16 gives (v * 5243) >> 16 >> 3
 * == v / 100 for v < 10^4 and (v * 6592) >> 16 == v / 10 for v < 100. */
static inline __m128i digits8x2(uint32_t a, uint32_t b)
{
    __m128i x = _mm_set_epi64x((long long)b, (long long)a);
    __m128i q = _mm_srli_epi64(_mm_mul_epu32(x, _mm_set1_epi32((int)0xd1b71759)), 45);
    __m128i r = _mm_sub_epi32(x, _mm_mul_epu32(q, _mm_set1_epi32(10000)));
    __m128i quads = _mm_or_si128(q, _mm_slli_epi64(r, 32));
    __m128i hund = _mm_srli_epi16(_mm_mulhi_epu16(quads, _mm_set1_epi16(5243)), 3);
    __m128i pairs = _mm_or_si128(
        hund, _mm_slli_epi32(_mm_sub_epi16(quads, _mm_mullo_epi16(hund, _mm_set1_epi16(100))), 16));
    __m128i tens = _mm_mulhi_epu16(pairs, _mm_set1_epi16(6592));

    return _mm_or_si128(
        tens, _mm_slli_epi16(_mm_sub_epi16(pairs, _mm_mullo_epi16(tens, _mm_set1_epi16(10))), 8));
}
#endif

/* What follows the series on a text line: `<value> <timestamp_ms>\n`, at
 * most TAIL_MAX bytes; returns the end. */
static inline char *put_tail_text(char *p, const struct sg_sample *s, struct ts_cache *tc)
{
#ifdef __SSE2__
    /* the common line - an integer value below 10^8 (not -0) and a
     * timestamp in the cached range - with both numbers' digits computed
     * in one register */
    uint64_t off = (uint64_t)s->t - tc->base, bits;
    double v = s->v;

    memcpy(&bits, &v, 8);
    if (tc->valid && off < 100000000u && (bits >> 63) == 0 && v < 1e8 &&
        v == (double)(uint32_t)v) {
        __m128i d = digits8x2((uint32_t)v, (uint32_t)off);
        uint64_t dv = (uint64_t)_mm_cvtsi128_si64(d);
        uint64_t dt = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(d, d));
        unsigned lz = dv ? (unsigned)__builtin_ctzll(dv) >> 3 : 7; /* leading zero digits */
        dv = (dv + 0x3030303030303030ull) >> (8 * lz);
        memcpy(p, &dv, 8);
        p += 8 - lz;
        *p++ = ' ';
        memcpy(p, &tc->hi_word, 8);
        dt += 0x3030303030303030ull;
        memcpy(p + tc->hi_n, &dt, 8);
        p += tc->hi_n + 8;
        *p++ = '\n';
        return p;
    }
#endif
    if (sg_is_stale(s->v)) {
        memcpy(p, "stale", 5);
        p += 5;
    } else {
        p += put_value(p, s->v);
    }
    *p++ = ' ';
    p += put_ts_text(tc, p, s->t);
    *p++ = '\n';
    return p;
}

/* One series in text: `<series> <value> <timestamp_ms>` per sample. */
static int print_series_text(struct sg_rr_printer *pr, const struct sg_series *v)
{
    const struct sg_sample *s = v->samples, *end = s + v->count;
    struct out *o = &pr->out;
    const struct sg_buf *name = &pr->head;
    struct ts_cache tc = {false, 0, 0, 0};
    char nm[NAME_FIXED];
    int rc;

    sg_buf_reset(&pr->head);
    rc = sg_labels_format_metric(&v->labels, &pr->head);
    if (rc == SG_OK)
        rc = sg_buf_putc(&pr->head, ' ');
    if (rc == SG_OK && name->len <= NAME_FIXED) {
        memcpy(nm, name->data, name->len);
        memset(nm + name->len, 0, NAME_FIXED - name->len);
    }
    while (s < end && rc == SG_OK) {
        size_t line = name->len + TAIL_MAX, k;
        char *p = out_room(o, line), *start = p;
        if (!p)
            return SG_ENOMEM;
        /* as many lines as surely fit, without a check each */
        k = (o->cap - o->len) / line;
        if (k > (size_t)(end - s))
            k = (size_t)(end - s);
        const struct sg_sample *stop = s + k;
        if (name->len <= NAME_FIXED) {
            /* a copy of fixed size: the line's room covers it */
            for (; s < stop; s++) {
                memcpy(p, nm, NAME_FIXED);
                p = put_tail_text(p + name->len, s, &tc);
            }
        } else {
            for (; s < stop; s++) {
                memcpy(p, name->data, name->len);
                p = put_tail_text(p + name->len, s, &tc);
            }
        }
        o->len += (size_t)(p - start);
    }
    return rc;
}

static const char json_open[] = "{\"resultType\":\"matrix\",\"result\":[";

/* One series of the JSON matrix: {"metric":{...},"values":[[ts,"v"],...]}. */
static int print_series_json(struct sg_rr_printer *pr, const struct sg_series *v)
{
    const struct sg_labels *ls = &v->labels;
    const struct sg_sample *s = v->samples, *end = s + v->count;
    struct out *o = &pr->out;
    struct ts_cache tc = {false, 0, 0, 0};
    int rc = SG_OK;

    sg_buf_reset(&pr->head);
    if (pr->nseries == 0)
        rc = sg_buf_append(&pr->head, json_open, sizeof(json_open) - 1);
    if (rc == SG_OK)
        rc = sg_buf_puts(&pr->head, pr->nseries ? ",{\"metric\":{" : "{\"metric\":{");
    for (uint32_t l = 0; l < ls->count && rc == SG_OK; l++) {
        if (l)
            rc = sg_buf_putc(&pr->head, ',');
        if (rc == SG_OK)
            rc = json_str(&pr->head, ls->v[l].name);
        if (rc == SG_OK)
            rc = sg_buf_putc(&pr->head, ':');
        if (rc == SG_OK)
            rc = json_str(&pr->head, ls->v[l].value);
    }
    if (rc == SG_OK)
        rc = sg_buf_puts(&pr->head, "},\"values\":[");
    if (rc == SG_OK)
        rc = out_append(o, pr->head.data, pr->head.len);
    while (s < end && rc == SG_OK) {
        char *p = out_room(o, TAIL_MAX), *start = p;
        size_t k;
        if (!p)
            return SG_ENOMEM;
        k = (o->cap - o->len) / TAIL_MAX;
        if (k > (size_t)(end - s))
            k = (size_t)(end - s);
        for (const struct sg_sample *stop = s + k; s < stop; s++) {
            *p = ',';
            p += s != v->samples;
            *p++ = '[';
            p += put_ts_json(&tc, p, s->t);
            *p++ = ',';
            *p++ = '"';
            p += put_value(p, s->v);
            *p++ = '"';
            *p++ = ']';
        }
        o->len += (size_t)(p - start);
    }
    if (rc == SG_OK)
        rc = out_append(o, "]}", 2);
    return rc;
}

int sg_rr_printer_new(FILE *f, bool json, struct sg_rr_printer **out, struct sg_err *err)
{
    struct sg_rr_printer *pr = sg_calloc(1, sizeof(*pr));

    if (!pr || !(pr->out.buf = sg_malloc(OUT_CHUNK))) {
        sg_free(pr);
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    }
    pr->out.f = f;
    pr->out.cap = OUT_CHUNK;
    pr->json = json;
    sg_buf_init(&pr->head, (size_t)256 << 20);
    *out = pr;
    return SG_OK;
}

/* One series printed on the calling thread. */
static int print_now(struct sg_rr_printer *pr, const struct sg_series *s)
{
    int rc;

    if (pr->out.failed)
        return SG_EIO;
    rc = pr->json ? print_series_json(pr, s) : print_series_text(pr, s);
    pr->nseries++;
    if (rc == SG_OK && pr->out.failed)
        rc = SG_EIO;
    return rc;
}

static int print_err(int rc, struct sg_err *err)
{
    return sg_err_set(err, rc, rc == SG_EIO ? "cannot write the output" : "out of memory");
}

/* The printing thread's work on one batch: every series in it. */
static int print_batch(struct sg_rr_printer *pr, const struct batch *b)
{
    struct bg *g = pr->bg;
    size_t off = 0;

    while (off < b->len) {
        struct rec r;
        struct sg_series s;
        memcpy(&r, b->data + off, sizeof(r));
        off += sizeof(r);
        if (r.nlabels > g->lcap) {
            struct sg_label *lv = sg_reallocarray(g->lv, r.nlabels, sizeof(*lv));
            if (!lv)
                return SG_ENOMEM;
            g->lv = lv;
            g->lcap = r.nlabels;
        }
        const uint8_t *lens = b->data + off;
        off += (size_t)r.nlabels * 8;
        for (uint32_t i = 0; i < r.nlabels; i++) {
            uint32_t nl, vl;
            memcpy(&nl, lens + 8 * i, 4);
            memcpy(&vl, lens + 8 * i + 4, 4);
            g->lv[i].name = sg_str_make((const char *)b->data + off, nl);
            off += nl;
            g->lv[i].value = sg_str_make((const char *)b->data + off, vl);
            off += vl;
        }
        off = (off + 7) & ~(size_t)7;
        s.labels.v = g->lv;
        s.labels.count = r.nlabels;
        s.samples = (void *)(b->data + off);
        s.count = (size_t)r.count;
        off += (size_t)r.count * sizeof(struct sg_sample);
        int rc = print_now(pr, &s);
        if (rc != SG_OK)
            return rc;
    }
    return SG_OK;
}

static void *print_thread(void *arg)
{
    struct sg_rr_printer *pr = arg;
    struct bg *g = pr->bg;

    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (g->printed == g->filled && !g->done)
            pthread_cond_wait(&g->cv, &g->mu);
        if (g->printed == g->filled)
            break;
        struct batch *b = &g->b[g->printed % NBATCH];
        bool skip = g->discard || g->rc != SG_OK;
        pthread_mutex_unlock(&g->mu);
        int rc = skip ? SG_OK : print_batch(pr, b);
        pthread_mutex_lock(&g->mu);
        if (rc != SG_OK && g->rc == SG_OK)
            g->rc = rc;
        b->len = 0;
        g->printed++;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int sg_rr_printer_background(struct sg_rr_printer *pr, struct sg_err *err)
{
    struct bg *g;

    if (pr->bg)
        return SG_OK;
    g = sg_calloc(1, sizeof(*g));
    if (!g)
        return sg_err_set(err, SG_ENOMEM, "out of memory");
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        sg_free(g);
        return sg_err_set(err, SG_ENOMEM, "cannot start the printing thread");
    }
    if (pthread_cond_init(&g->cv, NULL) != 0) {
        pthread_mutex_destroy(&g->mu);
        sg_free(g);
        return sg_err_set(err, SG_ENOMEM, "cannot start the printing thread");
    }
    pr->bg = g;
    if (pthread_create(&g->thread, NULL, print_thread, pr) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        sg_free(g);
        pr->bg = NULL;
        return sg_err_set(err, SG_ENOMEM, "cannot start the printing thread");
    }
    return SG_OK;
}

/* Hand the batch being filled to the printing thread and wait until the
 * next one is free. Returns the printing thread's error, if any. */
static int bg_submit(struct bg *g, bool wait_next)
{
    int rc;

    pthread_mutex_lock(&g->mu);
    if (g->b[g->filled % NBATCH].len) {
        g->filled++;
        pthread_cond_broadcast(&g->cv);
    }
    while (wait_next && g->filled - g->printed >= NBATCH && g->rc == SG_OK)
        pthread_cond_wait(&g->cv, &g->mu);
    rc = g->rc;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

/* Stop the printing thread: after printing what was handed over, or
 * (discard) without. */
static int bg_stop(struct sg_rr_printer *pr, bool discard)
{
    struct bg *g = pr->bg;
    int rc;

    if (!discard)
        (void)bg_submit(g, false);
    pthread_mutex_lock(&g->mu);
    g->done = true;
    g->discard = discard;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    rc = g->rc;
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    for (size_t i = 0; i < NBATCH; i++)
        sg_free(g->b[i].data);
    sg_free(g->lv);
    sg_free(g);
    pr->bg = NULL;
    return rc;
}

/* Copy s into the batch being filled (the printing thread does not touch
 * it until it is handed over). */
static int bg_copy(struct bg *g, const struct sg_series *s)
{
    struct batch *b = &g->b[g->filled % NBATCH];
    struct rec r = {s->labels.count, 0, (uint64_t)s->count};
    size_t need = sizeof(r) + (size_t)s->labels.count * 8 + 8, off;

    for (uint32_t i = 0; i < s->labels.count; i++)
        need += s->labels.v[i].name.len + s->labels.v[i].value.len;
    if (s->count > (SIZE_MAX - need) / sizeof(struct sg_sample))
        return SG_ENOMEM;
    need += s->count * sizeof(struct sg_sample);
    if (b->cap - b->len < need) {
        size_t cap = b->len + need > BATCH_BYTES ? b->len + need : BATCH_BYTES;
        uint8_t *d = sg_realloc(b->data, cap);
        if (!d)
            return SG_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    off = b->len;
    memcpy(b->data + off, &r, sizeof(r));
    off += sizeof(r);
    for (uint32_t i = 0; i < s->labels.count; i++) {
        uint32_t nl = (uint32_t)s->labels.v[i].name.len, vl = (uint32_t)s->labels.v[i].value.len;
        memcpy(b->data + off + 8 * i, &nl, 4);
        memcpy(b->data + off + 8 * i + 4, &vl, 4);
    }
    off += (size_t)s->labels.count * 8;
    for (uint32_t i = 0; i < s->labels.count; i++) {
        memcpy(b->data + off, s->labels.v[i].name.ptr, s->labels.v[i].name.len);
        off += s->labels.v[i].name.len;
        memcpy(b->data + off, s->labels.v[i].value.ptr, s->labels.v[i].value.len);
        off += s->labels.v[i].value.len;
    }
    off = (off + 7) & ~(size_t)7;
    if (s->count)
        memcpy(b->data + off, s->samples, s->count * sizeof(struct sg_sample));
    b->len = off + s->count * sizeof(struct sg_sample);
    return SG_OK;
}

void sg_rr_printer_free(struct sg_rr_printer *pr)
{
    if (!pr)
        return;
    if (pr->bg)
        (void)bg_stop(pr, true);
    sg_free(pr->out.buf);
    sg_buf_cleanup(&pr->head);
    sg_free(pr);
}

int sg_rr_printer_series(struct sg_rr_printer *pr, const struct sg_series *s, struct sg_err *err)
{
    int rc;

    if (!pr->bg) {
        rc = print_now(pr, s);
        return rc == SG_OK ? SG_OK : print_err(rc, err);
    }
    rc = bg_copy(pr->bg, s);
    if (rc == SG_OK && pr->bg->b[pr->bg->filled % NBATCH].len >= BATCH_BYTES)
        rc = bg_submit(pr->bg, true);
    return rc == SG_OK ? SG_OK : print_err(rc, err);
}

int sg_rr_printer_end(struct sg_rr_printer *pr, struct sg_err *err)
{
    int rc = pr->bg ? bg_stop(pr, false) : SG_OK;

    if (rc != SG_OK)
        return print_err(rc, err);
    if (pr->json && pr->nseries == 0)
        rc = out_append(&pr->out, json_open, sizeof(json_open) - 1);
    if (rc == SG_OK && pr->json)
        rc = out_append(&pr->out, "]}\n", 3);
    out_flush(&pr->out);
    if (rc != SG_OK)
        return sg_err_set(err, rc, "out of memory");
    if (pr->out.failed || fflush(pr->out.f) != 0)
        return sg_err_set(err, SG_EIO, "cannot write the output");
    return SG_OK;
}
