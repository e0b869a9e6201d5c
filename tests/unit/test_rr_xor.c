/* tests/unit/test_rr_xor.c - CRC32C and the XOR chunk codec: check values,
 * encode/decode round trips over every timestamp and value code path,
 * bit-exact NaNs, and every way a chunk can be cut short or corrupt. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/rr.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    /* xorshift64*: fixed seed, so failures reproduce */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static void crc_check_value(void **state)
{
    (void)state;
    assert_int_equal(sg_rr_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(sg_rr_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(sg_rr_crc32c(0, "", 0), 0);
    /* incremental equals one-shot */
    assert_int_equal(sg_rr_crc32c(sg_rr_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static void crc_hw_matches_table(void **state)
{
    unsigned char buf[1031];

    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)rnd();
    /* every length and misalignment up to a few words */
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof(buf); n += (n < 40 ? 1 : 97))
            assert_int_equal(sg_rr_crc32c(0, buf + off, n), sg_rr_crc32c_sw(0, buf + off, n));
    /* 32 bytes of zeros: RFC 3720 B.4 */
    memset(buf, 0, 32);
    assert_int_equal(sg_rr_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    assert_int_equal(sg_rr_crc32c(0, buf, 32), 0x62A8AB43u);
}

static void roundtrip(const struct sg_sample *s, size_t n)
{
    struct sg_buf b;
    struct sg_sample *out = calloc(n ? n : 1, sizeof(*out));
    size_t got = 99, cnt;
    struct sg_err err;

    sg_buf_init(&b, 1 << 24);
    sg_err_clear(&err);
    assert_int_equal(sg_rr_xor_encode(s, n, &b, &err), SG_OK);
    assert_int_equal(sg_rr_xor_count(b.data, b.len, &cnt, &err), SG_OK);
    assert_int_equal(cnt, n);
    if (sg_rr_xor_decode(b.data, b.len, out, n, &got, &err) != SG_OK)
        fail_msg("decode: %s", err.msg);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].t, s[i].t);
        assert_int_equal(sg_f64_bits(out[i].v), sg_f64_bits(s[i].v));
    }
    /* every shorter prefix of the bytes fails cleanly (or decodes when the
     * cut only removed padding bits) and never reads past its end: the
     * copy lives in its own heap block, so ASan catches any over-read */
    for (size_t cut = 0; cut < b.len; cut++) {
        unsigned char *p = malloc(cut ? cut : 1);
        memcpy(p, b.data, cut);
        sg_err_clear(&err);
        int rc = sg_rr_xor_decode(p, cut, out, n, &got, &err);
        if (rc != SG_OK)
            assert_int_equal(rc, SG_EPROTO);
        free(p);
    }
    free(out);
    sg_buf_cleanup(&b);
}

static void xor_roundtrip_counters(void **state)
{
    struct sg_sample s[120];

    (void)state;
    for (size_t i = 0; i < 120; i++) {
        s[i].t = 1700000000000 + (int64_t)i * 15000;
        s[i].v = (double)(i * 3);
    }
    for (size_t n = 0; n <= 120; n++)
        roundtrip(s, n);
}

static void xor_roundtrip_every_dod_bucket(void **state)
{
    static const int64_t deltas[] = {15000, 15000, 15001, 15000, 23000, 7000, 80000, 1, 600000,
                                     15000, 5000000, 1, 1, 70000000000, 2, 8193, 8192, 8191,
                                     65537, 65536, 524288, 524289, -3, 10};
    struct sg_sample s[SG_ARRAY_LEN(deltas) + 1];
    int64_t t = -5000;

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(s); i++) {
        s[i].t = t;
        s[i].v = (double)i * 0.1;
        if (i < SG_ARRAY_LEN(deltas))
            t += deltas[i];
    }
    roundtrip(s, SG_ARRAY_LEN(s));
    /* exact bucket edges for the delta of deltas: 2^(n-1) and -(2^(n-1)-1) */
    static const int64_t dods[] = {8192, -8191, 8193, -8192, 65536, -65535, 65537, -65536,
                                   524288, -524287, 524289, -524288, INT64_C(1) << 40};
    for (size_t k = 0; k < SG_ARRAY_LEN(dods); k++) {
        struct sg_sample e[4] = {{0, 1}, {1000000000, 2}, {0, 3}, {0, 4}};
        e[2].t = e[1].t + 1000000000 + dods[k];
        e[3].t = e[2].t + (e[2].t - e[1].t);
        roundtrip(e, 4);
    }
}

static void xor_roundtrip_values(void **state)
{
    struct sg_sample s[600];

    (void)state;
    for (size_t i = 0; i < SG_ARRAY_LEN(s); i++) {
        s[i].t = (int64_t)i * 1000 + (int64_t)(rnd() % 5) - 2;
        switch (i % 12) {
        case 0:
            s[i].v = sg_stale_nan();
            break;
        case 1:
            s[i].v = sg_f64_from_bits(SG_NORMAL_NAN_BITS);
            break;
        case 2:
            s[i].v = INFINITY;
            break;
        case 3:
            s[i].v = -0.0;
            break;
        case 4:
            s[i].v = sg_f64_from_bits(rnd()); /* any 64 bits: sig = 64 paths */
            break;
        case 5:
            s[i].v = 5e-324;
            break;
        default:
            s[i].v = (double)(int64_t)(rnd() % 1000) / 8.0;
        }
    }
    roundtrip(s, SG_ARRAY_LEN(s));
    for (size_t i = 0; i < SG_ARRAY_LEN(s); i++) /* a random walk */
        s[i].v = i ? s[i - 1].v + ((double)(rnd() % 2001) - 1000.0) / 100.0 : 100.0;
    roundtrip(s, SG_ARRAY_LEN(s));
    for (size_t i = 0; i < SG_ARRAY_LEN(s); i++) /* every value its own bits */
        s[i].v = sg_f64_from_bits(rnd());
    roundtrip(s, SG_ARRAY_LEN(s));
}

static void xor_full_chunk(void **state)
{
    size_t n = 65535;
    struct sg_sample *s = calloc(n, sizeof(*s));

    (void)state;
    for (size_t i = 0; i < n; i++) {
        s[i].t = (int64_t)i;
        s[i].v = 1;
    }
    roundtrip(s, 200);
    {
        struct sg_buf b;
        struct sg_err err;
        size_t got;
        sg_buf_init(&b, 1 << 24);
        assert_int_equal(sg_rr_xor_encode(s, n, &b, &err), SG_OK);
        assert_int_equal(sg_rr_xor_decode(b.data, b.len, s, n, &got, &err), SG_OK);
        assert_int_equal(got, n);
        assert_int_equal(s[n - 1].t, (int64_t)n - 1);
        assert_int_equal(sg_rr_xor_encode(s, n + 1, &b, &err), SG_EINVAL);
        sg_buf_cleanup(&b);
    }
    free(s);
}

static void xor_errors(void **state)
{
    struct sg_sample out[8];
    size_t got;
    struct sg_err err;
    /* count 3, but nothing after the header */
    static const unsigned char empty3[] = {0, 3};
    /* count 1, varint of 11 bytes */
    static const unsigned char longvar[] = {0, 1, 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    /* count 2: new window with lead 31 and sig 63 -> 94 bits */
    unsigned char badwin[16] = {0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0};

    /* 64 one bits where a timestamp code starts: the raw 64-bit case */
    static const unsigned char ones[] = {0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

    (void)state;
    sg_err_clear(&err);
    assert_int_equal(sg_rr_xor_decode(ones, sizeof(ones), out, 8, &got, &err), SG_EPROTO);
    sg_err_clear(&err);
    assert_int_equal(sg_rr_xor_decode(empty3, 1, out, 8, &got, &err), SG_EPROTO);
    sg_err_clear(&err);
    assert_int_equal(sg_rr_xor_decode(empty3, 2, out, 8, &got, &err), SG_EPROTO);
    assert_non_null(strstr(err.msg, "truncated"));
    sg_err_clear(&err);
    assert_int_equal(sg_rr_xor_decode(empty3, 2, out, 2, &got, &err), SG_EINVAL);
    sg_err_clear(&err);
    assert_int_equal(sg_rr_xor_decode(longvar, sizeof(longvar), out, 8, &got, &err), SG_EPROTO);
    assert_non_null(strstr(err.msg, "overflows"));
    /* sample 0 at t=0 (varint 0), value 8 zero bytes, delta 1 (uvarint 1
     * at byte 11), then bits 11 11111 111111 */
    badwin[11] = 1;
    badwin[12] = 0xff;
    badwin[13] = 0xf8;
    sg_err_clear(&err);
    assert_int_equal(sg_rr_xor_decode(badwin, sizeof(badwin), out, 8, &got, &err), SG_EPROTO);
    assert_non_null(strstr(err.msg, "exceed 64"));
}

static void xor_random_garbage_never_crashes(void **state)
{
    unsigned char buf[300];
    struct sg_sample *out = malloc(65535 * sizeof(*out));

    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = (size_t)(rnd() % sizeof(buf));
        unsigned char *p = malloc(len ? len : 1);
        size_t got;
        struct sg_err err;
        for (size_t i = 0; i < len; i++)
            p[i] = (unsigned char)rnd();
        sg_err_clear(&err);
        int rc = sg_rr_xor_decode(p, len, out, 65535, &got, &err);
        assert_true(rc == SG_OK || rc == SG_EPROTO);
        free(p);
    }
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_check_value),
        cmocka_unit_test(crc_hw_matches_table),
        cmocka_unit_test(xor_roundtrip_counters),
        cmocka_unit_test(xor_roundtrip_every_dod_bucket),
        cmocka_unit_test(xor_roundtrip_values),
        cmocka_unit_test(xor_full_chunk),
        cmocka_unit_test(xor_errors),
        cmocka_unit_test(xor_random_garbage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
