/* src/rr/xor.c - Prometheus's XOR ("Gorilla") float chunk: decoder and
 * encoder.
 *
 * Layout (tsdb/chunkenc/xor.go): a 2-byte big-endian sample count, then
 * sample 0 as a zigzag varint timestamp and the 64 raw value bits, sample 1
 * as a uvarint time delta and an XOR-coded value, every later sample as a
 * delta-of-delta timestamp code (0 | 10+14 bits | 110+17 | 1110+20 |
 * 1111+64) and an XOR-coded value (0 same | 10 reuse window | 11 + 5 bits
 * leading zeros + 6 bits significant bits (0 means 64) + the bits). Bits are
 * MSB first.
 *
 * The decoder is the hot loop of every streamed read. It reads 64-bit big
 * endian words at any bit offset, so it never assembles bits one by one.
 * It is bounded in two phases: while at least TAIL_SAFE bytes remain after
 * the current byte, no sample can read past the end (a sample reads at most
 * 145 bits plus an 8-byte word), so no check is needed inside a sample; for
 * the last few samples the remaining bytes are copied into a zero-padded
 * stack buffer and the position is checked after every sample. Malformed
 * chunks (truncated, varint overflow, leading + significant bits over 64)
 * are SG_EPROTO; time order is not checked here (the caller merges).
 *
 * The encoder writes exactly what Prometheus's appender writes; it exists
 * for tests, fixtures and the benchmark.
 */
#include <string.h>

#include "stopgate/rr.h"

#define TAIL_SAFE 40  /* bytes: > 145 bits of one sample + 8 bytes of the last load */
#define TAIL_BUF  96  /* TAIL_SAFE of data + the same of zero padding, rounded up */

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return __builtin_bswap64(w);
}

/* The 64 bits from bit `pos` on; at least the top 57 are stream bits. */
static inline uint64_t peek(const uint8_t *b, uint64_t pos)
{
    return load_be64(b + (pos >> 3)) << (pos & 7);
}

/* n bits (1..64) from pos. */
static inline uint64_t take(const uint8_t *b, uint64_t *pos, unsigned n)
{
    uint64_t w;

    if (n <= 56) {
        w = peek(b, *pos) >> (64 - n);
    } else {
        uint64_t hi = peek(b, *pos) >> 32, lo = peek(b, *pos + 32) >> 32;
        w = ((hi << 32) | lo) >> (64 - n);
    }
    *pos += n;
    return w;
}

struct xstate {
    int64_t t;
    uint64_t v;      /* value bits */
    uint64_t tdelta; /* as Go keeps it: unsigned, wrapping */
    unsigned lead, trail;
};

/* The XOR-coded value at *pos. Returns false on an impossible window. */
static inline bool read_value(const uint8_t *b, uint64_t *pos, struct xstate *s)
{
    uint64_t w = peek(b, *pos);
    unsigned mbits;

    if (!(w >> 63)) { /* 0: unchanged */
        *pos += 1;
        return true;
    }
    if (!((w >> 62) & 1)) { /* 10: reuse the window */
        *pos += 2;
        mbits = 64 - s->lead - s->trail;
    } else { /* 11: new window */
        unsigned lead = (unsigned)(w >> 57) & 31, sig = (unsigned)(w >> 51) & 63;
        *pos += 13;
        if (sig == 0)
            sig = 64;
        if (lead + sig > 64)
            return false;
        s->lead = lead;
        s->trail = 64 - lead - sig;
        mbits = sig;
    }
    s->v ^= take(b, pos, mbits) << s->trail;
    return true;
}

/* The delta-of-delta timestamp code at *pos, applied to s. */
static inline void read_dod(const uint8_t *b, uint64_t *pos, struct xstate *s)
{
    uint64_t w = peek(b, *pos);
    int64_t dod;

    if (!(w >> 63)) {
        *pos += 1;
    } else {
        /* leading 1 bits (at least one here); all 64 set is the raw case too */
        unsigned ones = ~w ? (unsigned)__builtin_clzll(~w) : 64;
        uint64_t v;
        unsigned sz;

        switch (ones) {
        case 1:
            sz = 14;
            v = (w << 2) >> 50;
            *pos += 16;
            break;
        case 2:
            sz = 17;
            v = (w << 3) >> 47;
            *pos += 20;
            break;
        case 3:
            sz = 20;
            v = (w << 4) >> 44;
            *pos += 24;
            break;
        default: /* 1111: raw 64 bits */
            *pos += 4;
            dod = (int64_t)take(b, pos, 64);
            goto apply;
        }
        if (v > (UINT64_C(1) << (sz - 1)))
            v -= UINT64_C(1) << sz;
        dod = (int64_t)v;
    apply:
        s->tdelta += (uint64_t)dod;
        s->t = (int64_t)((uint64_t)s->t + s->tdelta);
        return;
    }
    s->t = (int64_t)((uint64_t)s->t + s->tdelta);
}

/* Samples *ip..n from bit *posp of b. Fast phase (limit == 0): stops
 * before a sample could read past byte `safe_bytes`. Tail phase: stops with
 * -2 once a sample ends past `limit` bits. -1: impossible window. */
static inline int run(const uint8_t *b, uint64_t *posp, size_t safe_bytes, uint64_t limit,
                      struct xstate *s, struct sg_sample *out, size_t *ip, size_t n)
{
    uint64_t pos = *posp;
    size_t i = *ip;
    int rc = 0;

    for (; i < n; i++) {
        if (!limit && (pos >> 3) + TAIL_SAFE > safe_bytes)
            break;
        read_dod(b, &pos, s);
        if (!read_value(b, &pos, s)) {
            rc = -1;
            break;
        }
        if (limit && pos > limit) {
            rc = -2;
            break;
        }
        out[i].t = s->t;
        memcpy(&out[i].v, &s->v, 8);
    }
    *posp = pos;
    *ip = i;
    return rc;
}

static int read_uvarint(const uint8_t *p, size_t len, size_t *off, uint64_t *out)
{
    uint64_t v = 0;

    for (unsigned shift = 0, k = 0; k < 10; k++, shift += 7) {
        uint8_t c;
        if (*off >= len)
            return -1; /* truncated */
        c = p[(*off)++];
        if (k == 9 && c > 1)
            return -2; /* overflow */
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -2;
}

int sg_rr_xor_count(const void *p, size_t len, size_t *n, struct sg_err *err)
{
    const uint8_t *b = p;

    if (len < 2)
        return sg_err_set(err, SG_EPROTO, "XOR chunk of %zu bytes has no header", len);
    *n = ((size_t)b[0] << 8) | b[1];
    return SG_OK;
}

int sg_rr_xor_decode(const void *p, size_t len, struct sg_sample *out, size_t cap, size_t *count,
                     struct sg_err *err)
{
    const uint8_t *b = p;
    struct xstate s = {0};
    size_t n, off = 2, i;
    uint64_t u, pos;
    int rc;

    rc = sg_rr_xor_count(p, len, &n, err);
    if (rc != SG_OK)
        return rc;
    if (n > cap)
        return sg_err_set(err, SG_EINVAL, "XOR chunk holds %zu samples, room for %zu", n, cap);
    *count = 0;
    if (n == 0)
        return SG_OK;
    /* sample 0: zigzag varint timestamp, raw value; byte aligned */
    rc = read_uvarint(b, len, &off, &u);
    if (rc == -2)
        return sg_err_set(err, SG_EPROTO, "XOR chunk: first timestamp varint overflows 64 bits");
    if (rc < 0 || len - off < 8)
        return sg_err_set(err, SG_EPROTO, "XOR chunk truncated at sample 1 of %zu", n);
    s.t = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    s.v = load_be64(b + off);
    off += 8;
    out[0].t = s.t;
    memcpy(&out[0].v, &s.v, 8);
    if (n == 1) {
        *count = 1;
        return SG_OK;
    }
    /* sample 1: uvarint delta (still byte aligned), then an XOR value */
    rc = read_uvarint(b, len, &off, &s.tdelta);
    if (rc == -2)
        return sg_err_set(err, SG_EPROTO, "XOR chunk: time delta varint overflows 64 bits");
    if (rc < 0)
        return sg_err_set(err, SG_EPROTO, "XOR chunk truncated at sample 2 of %zu", n);
    s.t = (int64_t)((uint64_t)s.t + s.tdelta);
    pos = (uint64_t)off * 8;
    i = 1;
    if ((pos >> 3) + TAIL_SAFE <= len) {
        if (!read_value(b, &pos, &s))
            goto bad_window;
        out[1].t = s.t;
        memcpy(&out[1].v, &s.v, 8);
        i = 2;
        if (run(b, &pos, len, 0, &s, out, &i, n) < 0)
            goto bad_window;
    }
    if (i < n) {
        /* the last bytes, zero padded: check the end after every sample */
        uint8_t tail[TAIL_BUF];
        size_t start = (size_t)(pos >> 3), rem = len - start;
        uint64_t tpos = pos & 7, limit = (uint64_t)rem * 8;

        memset(tail, 0, sizeof(tail));
        memcpy(tail, b + start, rem); /* rem < TAIL_SAFE */
        if (limit == 0)
            return sg_err_set(err, SG_EPROTO, "XOR chunk of %zu bytes truncated at sample %zu of %zu",
                              len, i + 1, n);
        if (i == 1) {
            if (!read_value(tail, &tpos, &s))
                goto bad_window;
            if (tpos > limit)
                return sg_err_set(err, SG_EPROTO,
                                  "XOR chunk of %zu bytes truncated at sample 2 of %zu", len, n);
            out[1].t = s.t;
            memcpy(&out[1].v, &s.v, 8);
            i = 2;
        }
        rc = run(tail, &tpos, 0, limit, &s, out, &i, n);
        if (rc == -1)
            goto bad_window;
        if (rc == -2)
            return sg_err_set(err, SG_EPROTO,
                              "XOR chunk of %zu bytes truncated at sample %zu of %zu", len, i + 1,
                              n);
    }
    *count = n;
    return SG_OK;
bad_window:
    return sg_err_set(err, SG_EPROTO,
                      "XOR chunk: leading and significant bits exceed 64 (corrupt chunk)");
}

/* ---- encoder --------------------------------------------------------------- */

struct bw {
    struct sg_buf *out;
    uint8_t cur;
    unsigned nbits; /* bits used in cur */
    int rc;
};

static void put_bits(struct bw *w, uint64_t v, unsigned n)
{
    while (n) {
        unsigned room = 8 - w->nbits, k = n < room ? n : room;
        uint8_t bits = (uint8_t)((v >> (n - k)) & ((1u << k) - 1));
        w->cur |= (uint8_t)(bits << (room - k));
        w->nbits += k;
        n -= k;
        if (w->nbits == 8) {
            if (w->rc == SG_OK)
                w->rc = sg_buf_putc(w->out, (char)w->cur);
            w->cur = 0;
            w->nbits = 0;
        }
    }
}

static void put_uvarint(struct bw *w, uint64_t v)
{
    while (v >= 0x80) {
        put_bits(w, (v & 0x7f) | 0x80, 8);
        v >>= 7;
    }
    put_bits(w, v, 8);
}

static bool bit_range(int64_t x, unsigned nbits)
{
    return -((INT64_C(1) << (nbits - 1)) - 1) <= x && x <= (INT64_C(1) << (nbits - 1));
}

int sg_rr_xor_encode(const struct sg_sample *s, size_t n, struct sg_buf *out, struct sg_err *err)
{
    struct bw w = {out, 0, 0, SG_OK};
    int64_t t = 0;
    uint64_t v = 0, tdelta = 0;
    unsigned lead = 0xff, trail = 0;

    if (n > 65535)
        return sg_err_set(err, SG_EINVAL, "an XOR chunk holds at most 65535 samples, not %zu", n);
    put_bits(&w, n, 16);
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &s[i].v, 8);
        if (i == 0) {
            put_uvarint(&w, ((uint64_t)s[i].t << 1) ^ (uint64_t)(s[i].t >> 63));
            put_bits(&w, bits, 64);
        } else {
            uint64_t d = (uint64_t)s[i].t - (uint64_t)t;
            if (i == 1) {
                put_uvarint(&w, d);
            } else {
                int64_t dod = (int64_t)(d - tdelta);
                if (dod == 0)
                    put_bits(&w, 0, 1);
                else if (bit_range(dod, 14))
                    put_bits(&w, 2, 2), put_bits(&w, (uint64_t)dod, 14);
                else if (bit_range(dod, 17))
                    put_bits(&w, 6, 3), put_bits(&w, (uint64_t)dod, 17);
                else if (bit_range(dod, 20))
                    put_bits(&w, 14, 4), put_bits(&w, (uint64_t)dod, 20);
                else
                    put_bits(&w, 15, 4), put_bits(&w, (uint64_t)dod, 64);
            }
            tdelta = d;
            /* value */
            uint64_t x = bits ^ v;
            if (x == 0) {
                put_bits(&w, 0, 1);
            } else {
                unsigned nl = (unsigned)__builtin_clzll(x), nt = (unsigned)__builtin_ctzll(x);
                put_bits(&w, 1, 1);
                if (nl >= 32)
                    nl = 31;
                if (lead != 0xff && nl >= lead && nt >= trail) {
                    put_bits(&w, 0, 1);
                    put_bits(&w, x >> trail, 64 - lead - trail);
                } else {
                    unsigned sig = 64 - nl - nt;
                    lead = nl;
                    trail = nt;
                    put_bits(&w, 1, 1);
                    put_bits(&w, nl, 5);
                    put_bits(&w, sig & 63, 6);
                    put_bits(&w, x >> nt, sig);
                }
            }
        }
        t = s[i].t;
        v = bits;
    }
    if (w.nbits)
        put_bits(&w, 0, 8 - w.nbits);
    if (w.rc != SG_OK)
        return sg_err_set(err, w.rc, "XOR chunk larger than the buffer cap");
    return SG_OK;
}
