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
 * The declared length is checked against the caller's cap before the
 * output is allocated (the decompression-bomb guard); the output is then
 * allocated once, with a little slack so that copies may move 8 or 16
 * bytes at a time, and filled in place. A reader may consume the prefix
 * produced so far while the rest is still on its way.
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

#define SLACK     32 /* bytes allocated past the declared length */
#define HUGE_PAGE ((uintptr_t)2 << 20)

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
}

void sg_rr_snappy_cleanup(struct sg_rr_snappy *z)
{
    sg_free(z->out);
    z->out = NULL;
    z->len = z->have = 0;
}

static int corrupt(struct sg_rr_snappy *z, struct sg_err *err)
{
    z->state = Z_DONE_ERR;
    return sg_err_set(err, SG_EPROTO, "SAMPLES response: corrupt snappy data");
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
 * or -1 for corrupt input. A literal longer than n continues in
 * Z_LITERAL. */
static inline long element(struct sg_rr_snappy *z, const uint8_t *h, const uint8_t *data, size_t n)
{
    uint8_t t = h[0];
    size_t len, off, room = z->len - z->have;

    if ((t & 3) == 0) {
        len = (size_t)(t >> 2) + 1;
        if (len > 60)
            len = (size_t)load_le(h + 1, (unsigned)len - 60) + 1;
        if (len > room)
            return -1;
        if (len <= n) {
            memcpy(z->out + z->have, data, len);
            z->have += len;
            return (long)len;
        }
        memcpy(z->out + z->have, data, n);
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
    if (off == 0 || off > z->have || len > room)
        return -1;
    copy_back(z->out + z->have, off, len);
    z->have += len;
    return 0;
}

/* The fast loop: elements whose header is whole in p[0..n). Returns the
 * bytes consumed (it stops with fewer than 5 bytes left, in a literal that
 * continues past n, or at the end of the output), -1 when corrupt. */
static long run(struct sg_rr_snappy *z, const uint8_t *p, size_t n)
{
    const uint8_t *start = p, *end = p + n;
    /* locals: stores through out may alias z, which would reload z's fields */
    uint8_t *out = z->out;
    size_t have = z->have, olen = z->len;
    long rc = 0;

    while (end - p >= 5) {
        uint8_t t = *p;
        size_t len, off;
        long used;

        /* the commonest elements inline, with fixed-size copies (the output
         * has SLACK bytes past its end for the overrun) */
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
        z->have = have;
        used = element(z, p, p + tag_len(t), (size_t)(end - p) - tag_len(t));
        if (used < 0)
            return -1;
        p += tag_len(t) + (size_t)used;
        have = z->have;
        if (z->state != Z_TAG)
            break;
        continue;
    copy:
        if (off == 0 || off > have || len > olen - have)
            goto corrupt;
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
    z->have = have;
    return (long)(p - start);
corrupt:
    rc = -1;
    z->have = have;
    return rc;
}

int sg_rr_snappy_feed(struct sg_rr_snappy *z, const void *ptr, size_t n, struct sg_err *err)
{
    const uint8_t *p = ptr, *end = p + n;

    if (z->state == Z_DONE_ERR)
        return sg_err_set(err, SG_EINVAL, "snappy decoder used after an error");
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
            z->out = sg_malloc(z->len + SLACK);
            if (!z->out) {
                z->state = Z_DONE_ERR;
                return sg_err_set(err, SG_ENOMEM, "out of memory for %zu bytes", z->len);
            }
            if (z->len >= 2 * HUGE_PAGE)
                huge_pages(z->out, z->len);
            z->state = Z_TAG;
            break;
        }
        case Z_LITERAL: {
            size_t k = (size_t)(end - p) < z->lit_left ? (size_t)(end - p) : z->lit_left;
            memcpy(z->out + z->have, p, k);
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
                    return corrupt(z, err);
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
                return corrupt(z, err);
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
