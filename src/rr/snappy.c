/* src/rr/snappy.c - an incremental decompressor for snappy's block format
 * (the body of a SAMPLES response), fed as the bytes arrive. The snappy
 * library's C interface only decompresses a whole buffer; requests are
 * still compressed by the library (request.c), and fuzz_snappy holds this
 * decoder to the library's answer on every input.
 *
 * The format: the uncompressed length as a varint of at most 5 bytes (a
 * 32-bit value), then elements. An element is a literal (tag & 3 == 0: its
 * length is (tag >> 2) + 1, or for 60..63 the next 1..4 bytes little-endian
 * plus one; the bytes follow) or a copy of earlier output (tag & 3 == 1:
 * length 4..11, an 11-bit offset; 2: length 1..64, a 16-bit offset; 3:
 * length 1..64, a 32-bit offset). The input is valid exactly when every
 * element is whole, every copy's offset is between 1 and the output so far,
 * nothing is written past the declared length, and the output ends at that
 * length - the rules of the snappy library, which fuzz_snappy checks this
 * decoder against on every input. One exception: a literal whose 4-byte
 * length field is 0xffffffff (2^32 bytes) is corrupt here, as in Go's
 * decoder (Prometheus's), while the C library's 32-bit sum makes it an
 * empty literal.
 *
 * The declared length is checked against the caller's cap before any
 * output is allocated (the decompression-bomb guard). The output buffer
 * holds a window of the output, [base, have), with a little slack past its
 * end so that copies may move 8 or 16 bytes at a time: before each piece
 * is decoded there is room for the most output it can make (a 3-byte copy
 * makes at most 64 bytes), found by dropping what the reader released
 * (keeping the last hist bytes, which copies may reach) or else by growing
 * the buffer, never past the declared length. A reader that releases
 * nothing gets the whole output in one buffer; one that releases as it
 * goes (the SAMPLES decoder) keeps a buffer of a few MiB however large the
 * body - a 90 MB output no longer means 90 MB of fresh pages to fault in.
 * A copy reaching further back than what is kept fails with its own
 * message; snappy encoders (C++, Go, Rust, Java) compress in 64 KiB blocks
 * and never reach back further than that.
 *
 * Elements whose header arrives whole are decoded by a fast loop straight
 * from the caller's bytes; only a header split across two pieces goes
 * through the small tag buffer, and a literal split across pieces is
 * continued in the next one. No I/O; nothing here aborts on any input.
 */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "rr/rr_int.h"

#define SLACK     32 /* bytes allocated past the buffer's capacity */
#define HUGE_PAGE ((uintptr_t)2 << 20)
#define FIRST_CAP ((size_t)4 << 20) /* the first buffer, when the output is larger */

/* Ask for transparent huge pages over the 2 MiB-aligned part of a large
 * output: a few faults instead of one per 4 KiB page while it fills. A
 * hint only; its failure changes nothing. */
static void huge_pages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t b = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);

    if (b > a)
        (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

enum { Z_LEN = 0, Z_TAG, Z_LITERAL, Z_DONE_ERR };

void sg_rr_snappy_init(struct sg_rr_snappy *z, size_t max_len)
{
    memset(z, 0, sizeof(*z));
    z->max = max_len;
    z->hist = SG_RR_SNAPPY_HISTORY;
}

void sg_rr_snappy_cleanup(struct sg_rr_snappy *z)
{
    sg_free(z->out);
    z->out = NULL;
    z->len = z->have = z->base = z->cap = z->released = 0;
}

void sg_rr_snappy_release(struct sg_rr_snappy *z, size_t upto)
{
    if (upto > z->released && upto <= z->have)
        z->released = upto;
}

static int corrupt(struct sg_rr_snappy *z, struct sg_err *err)
{
    z->state = Z_DONE_ERR;
    return sg_err_set(err, SG_EPROTO, "SAMPLES response: corrupt snappy data");
}

/* The copy being decoded reaches back off bytes: corrupt when that is
 * before the start of the output, else past the kept history. */
static int far_copy(struct sg_rr_snappy *z, size_t off, struct sg_err *err)
{
    if (off == 0 || off > z->have)
        return corrupt(z, err);
    z->state = Z_DONE_ERR;
    return sg_err_set(err, SG_EPROTO,
                      "SAMPLES response: a snappy copy at output byte %zu reaches back %zu bytes, "
                      "past the %zu bytes of output kept for copies",
                      z->have, off, z->hist);
}

/* Room in the buffer for need more bytes of output (need <= len - have):
 * drop the released output but the last hist bytes when that frees a
 * quarter of the buffer, else grow it. */
static int make_room(struct sg_rr_snappy *z, size_t need, struct sg_err *err)
{
    size_t w = z->have - z->base, from, cap;
    uint8_t *p;

    if (z->cap - w >= need)
        return SG_OK;
    from = z->have > z->hist ? z->have - z->hist : 0;
    if (z->released < from)
        from = z->released;
    if (from > z->base && from - z->base >= z->cap / 4) {
        memmove(z->out, z->out + (from - z->base), z->have - from);
        z->base = from;
        w = z->have - z->base;
        if (z->cap - w >= need)
            return SG_OK;
    }
    cap = z->cap * 2 > w + need ? z->cap * 2 : w + need;
    if (cap > z->len - z->base)
        cap = z->len - z->base;
    p = sg_realloc(z->out, cap + SLACK);
    if (!p) {
        z->state = Z_DONE_ERR;
        return sg_err_set(err, SG_ENOMEM, "out of memory for %zu bytes", cap);
    }
    z->out = p;
    z->cap = cap;
    if (cap >= 2 * HUGE_PAGE)
        huge_pages(p, cap);
    return SG_OK;
}

/* Room for all the output that n more input bytes can make: at most 64
 * bytes per 3 input bytes, 64 more for a copy whose header began in the
 * last piece, never past the declared length. */
static int room_for_input(struct sg_rr_snappy *z, size_t n, struct sg_err *err)
{
    size_t need = n < (SIZE_MAX - 64) / 22 ? 22 * n + 64 : SIZE_MAX;

    if (need > z->len - z->have)
        need = z->len - z->have;
    return make_room(z, need, err);
}

/* The header length of the element starting with tag t. */
static inline unsigned tag_len(uint8_t t)
{
    switch (t & 3) {
    case 0:
        return t < (60 << 2) ? 1u : 1u + (unsigned)(t >> 2) - 59u;
    case 1:
        return 2;
    case 2:
        return 3;
    default:
        return 5;
    }
}

static inline uint32_t load_le(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < n; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

/* Copy len bytes from off bytes back; the caller checked both. */
static inline void copy_back(uint8_t *d, size_t off, size_t len)
{
    const uint8_t *s = d - off;

    if (off >= 16) {
        /* 16 at a time: a source block never overlaps the bytes it is
         * written to, and the slack absorbs the overrun */
        for (size_t i = 0; i < len; i += 16)
            memcpy(d + i, s + i, 16);
    } else if (off >= 8) {
        for (size_t i = 0; i < len; i += 8)
            memcpy(d + i, s + i, 8);
    } else {
        for (size_t i = 0; i < len; i++)
            d[i] = s[i];
    }
}

/* One element whose header h[0..tag_len) is whole; data: the bytes after
 * the header (for a literal), n of them. Returns the data bytes consumed,
 * -1 for corrupt input, -2 for a copy whose offset (left in z->far) is
 * zero or reaches before the buffer. A literal longer than n continues in
 * Z_LITERAL. */
static inline long element(struct sg_rr_snappy *z, const uint8_t *h, const uint8_t *data, size_t n)
{
    uint8_t t = h[0];
    size_t len, off, room = z->len - z->have;
    uint8_t *d = z->out + (z->have - z->base);

    if ((t & 3) == 0) {
        len = (size_t)(t >> 2) + 1;
        if (len > 60)
            len = (size_t)load_le(h + 1, (unsigned)len - 60) + 1;
        if (len > room)
            return -1;
        if (len <= n) {
            memcpy(d, data, len);
            z->have += len;
            return (long)len;
        }
        memcpy(d, data, n);
        z->have += n;
        z->lit_left = len - n;
        z->state = Z_LITERAL;
        return (long)n;
    }
    if ((t & 3) == 1) {
        len = 4 + ((size_t)(t >> 2) & 7);
        off = ((size_t)(t >> 5) << 8) | h[1];
    } else {
        len = (size_t)(t >> 2) + 1;
        off = load_le(h + 1, (t & 3) == 2 ? 2 : 4);
    }
    if (len > room)
        return -1;
    if (off == 0 || off > z->have - z->base) {
        z->far = off;
        return -2;
    }
    copy_back(d, off, len);
    z->have += len;
    return 0;
}

/* The fast loop: elements whose header is whole in p[0..n). Returns the
 * bytes consumed (it stops with fewer than 5 bytes left, in a literal that
 * continues past n, or at the end of the output), -1 when corrupt, -2 for
 * a copy as in element(). The buffer has room for all the output of
 * p[0..n) (make_room). */
static long run(struct sg_rr_snappy *z, const uint8_t *p, size_t n)
{
    const uint8_t *start = p, *end = p + n;
    /* locals: stores through out may alias z, which would reload z's
     * fields; have and olen count from the buffer's start */
    uint8_t *out = z->out;
    size_t have = z->have - z->base, olen = z->len - z->base;
    long rc = 0;

    while (end - p >= 5) {
        uint8_t t = *p;
        size_t len, off;
        long used;

        /* the commonest elements inline, with fixed-size copies (the
         * buffer has SLACK bytes past its end for the overrun) */
        switch (t & 3) {
        case 0:
            if (t >= (60 << 2))
                break; /* a longer literal */
            len = (size_t)(t >> 2) + 1;
            if (len > olen - have)
                goto corrupt;
            if (len <= 16 && end - p >= 17) {
                memcpy(out + have, p + 1, 16);
            } else if (len <= (size_t)(end - p - 1)) {
                memcpy(out + have, p + 1, len);
            } else {
                break; /* continues in the next piece */
            }
            have += len;
            p += 1 + len;
            continue;
        case 1:
            len = 4 + ((size_t)(t >> 2) & 7);
            off = ((size_t)(t >> 5) << 8) | p[1];
            p += 2;
            goto copy;
        case 2:
            len = (size_t)(t >> 2) + 1;
            off = (size_t)p[1] | (size_t)p[2] << 8;
            p += 3;
            goto copy;
        default:
            break;
        }
        z->have = z->base + have;
        used = element(z, p, p + tag_len(t), (size_t)(end - p) - tag_len(t));
        if (used < 0)
            return used;
        p += tag_len(t) + (size_t)used;
        have = z->have - z->base;
        if (z->state != Z_TAG)
            break;
        continue;
    copy:
        if (len > olen - have)
            goto corrupt;
        if (off == 0 || off > have) {
            z->far = off;
            rc = -2;
            goto out;
        }
        if (len <= 16 && off >= 16) {
            memcpy(out + have, out + have - off, 16);
        } else if (len <= 16 && off >= 8) {
            memcpy(out + have, out + have - off, 8);
            memcpy(out + have + 8, out + have + 8 - off, 8);
        } else {
            copy_back(out + have, off, len);
        }
        have += len;
    }
    z->have = z->base + have;
    return (long)(p - start);
corrupt:
    rc = -1;
out:
    z->have = z->base + have;
    return rc;
}

int sg_rr_snappy_feed(struct sg_rr_snappy *z, const void *ptr, size_t n, struct sg_err *err)
{
    const uint8_t *p = ptr, *end = p + n;

    if (z->state == Z_DONE_ERR)
        return sg_err_set(err, SG_EINVAL, "snappy decoder used after an error");
    if (z->out && n && room_for_input(z, n, err) != SG_OK)
        return SG_ENOMEM;
    while (p < end) {
        switch (z->state) {
        case Z_LEN: {
            uint8_t c = *p++;
            if (z->vbytes == 4 && c >= 16) { /* more than 32 bits */
                z->state = Z_DONE_ERR;
                return sg_err_set(err, SG_EPROTO, "SAMPLES response is not snappy compressed data");
            }
            z->declared |= (uint64_t)(c & 0x7f) << (7 * z->vbytes);
            z->vbytes++;
            if (c & 0x80)
                break;
            if (z->declared > z->max) {
                z->state = Z_DONE_ERR;
                return sg_err_set(err, SG_ELIMIT,
                                  "SAMPLES response decompresses to %llu bytes, over the limit "
                                  "of %zu bytes",
                                  (unsigned long long)z->declared, z->max);
            }
            z->len = (size_t)z->declared;
            z->cap = z->len < FIRST_CAP ? z->len : FIRST_CAP;
            z->out = sg_malloc(z->cap + SLACK);
            if (!z->out) {
                z->state = Z_DONE_ERR;
                return sg_err_set(err, SG_ENOMEM, "out of memory for %zu bytes", z->cap);
            }
            if (z->cap >= 2 * HUGE_PAGE)
                huge_pages(z->out, z->cap);
            z->state = Z_TAG;
            if (p < end && room_for_input(z, (size_t)(end - p), err) != SG_OK)
                return SG_ENOMEM;
            break;
        }
        case Z_LITERAL: {
            size_t k = (size_t)(end - p) < z->lit_left ? (size_t)(end - p) : z->lit_left;
            memcpy(z->out + (z->have - z->base), p, k);
            z->have += k;
            z->lit_left -= k;
            p += k;
            if (!z->lit_left)
                z->state = Z_TAG;
            break;
        }
        case Z_TAG: {
            long used;
            if (z->tag_have == 0) {
                used = run(z, p, (size_t)(end - p));
                if (used < 0)
                    return used == -2 ? far_copy(z, z->far, err) : corrupt(z, err);
                p += used;
                if (z->state != Z_TAG || end - p >= 5)
                    break;
                if (p == end)
                    break;
            }
            /* a header split across pieces: collect it */
            z->tag[z->tag_have++] = *p++;
            if (z->tag_have < tag_len(z->tag[0]))
                break;
            z->tag_have = 0;
            used = element(z, z->tag, p, (size_t)(end - p));
            if (used < 0)
                return used == -2 ? far_copy(z, z->far, err) : corrupt(z, err);
            p += used;
            break;
        }
        default:
            return sg_err_set(err, SG_EINVAL, "snappy decoder used after an error");
        }
    }
    return SG_OK;
}

int sg_rr_snappy_finish(struct sg_rr_snappy *z, struct sg_err *err)
{
    if (z->state == Z_DONE_ERR)
        return sg_err_set(err, SG_EINVAL, "snappy decoder used after an error");
    if (z->state == Z_LEN) {
        z->state = Z_DONE_ERR;
        return sg_err_set(err, SG_EPROTO, "SAMPLES response is not snappy compressed data");
    }
    if (z->state != Z_TAG || z->tag_have || z->have != z->len)
        return corrupt(z, err);
    return SG_OK;
}
