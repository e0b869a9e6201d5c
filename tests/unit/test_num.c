/* tests/unit/test_num.c - Go-compatible float formatting and parsing.
 *
 * The 'e' table was produced from Python's repr (David Gay's shortest
 * round-trip digits, closest among equally short candidates, which is the
 * same choice Go's strconv makes), rewritten into Go's exponent layout.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stopgate/err.h"
#include "stopgate/num.h"

static const struct {
    double v;
    const char *e;
} e_rows[] = {
    {0x1.0317fa3b1799dp-567, "2.0951218323850843e-171"},
    {-0x1.640fb06671ad1p-34, "-8.095896314512539e-11"},
    {0x1.13b9046685257p-20, "1.0271471865319853e-06"},
    {0x1.8c1e9392456dep-452, "1.3305406583752764e-136"},
    {0x1.d1fa7bc8960a9p-604, "2.7416277501616697e-182"},
    {-0x1.c66b3ad3c2d6dp-38, "-6.4576804899972755e-12"},
    {-0x1.d2434e465e150p-838, "-9.936982866895821e-253"},
    {-0x1.a846916419f82p-653, "-4.4342582195166703e-197"},
    {0x1.2e8f36c031199p-893, "1.7897179706846397e-269"},
    {0x1.c695a07a0ca6ep-640, "3.8920410665109616e-193"},
    {0x1.faa1837f8a88bp-71, "8.3815053749933375e-22"},
    {-0x1.de644815ef6d1p-606, "-7.0366560133932934e-183"},
    {-0x1.dc1a606cb0fb3p-773, "-3.74346981262903e-233"},
    {-0x1.d0fb132e70629p-139, "-2.6063073077576445e-42"},
    {-0x1.a088ca65ed389p-199, "-2.025077774461046e-60"},
    {0x1.5a6a48b8148f6p+695, "2.2243541059934106e+209"},
    {0x1.f5d2a386ecbe0p+816, "8.566174015121906e+245"},
    {0x1.7819096da1dacp+116, "1.2205071412701158e+35"},
    {-0x1.a774bcf36d58bp+489, "-2.6438463592029654e+147"},
    {-0x1.1330b01a9e71fp+37, "-1.4774160673980563e+11"},
    {0x1.f6ec4ce4a2bbdp-370, "8.168892449408124e-112"},
    {0x1.07511b2b9437ap+708, "1.3850822627547856e+213"},
    {0x1.29389571aa876p+115, "4.82268694405258e+34"},
    {0x1.ecd7b27cd8130p-142, "3.4530976632468286e-43"},
    {-0x1.459eef50bea63p+56, "-9.165411812000722e+16"},
    {0x1.a73ed562b0f79p-605, "1.245102053364068e-182"},
    {0x1.2ea7d17be3111p+533, "3.3242704709371837e+160"},
    {0x1.6128e18c26797p+447, "5.013479291044358e+134"},
    {0x1.d7b71d8f56413p+385, "1.4520725756704513e+116"},
    {0x1.7a3a69a8dca03p+60, "1.7033882668101804e+18"},
    {0x1.f9163ce9ff57fp-846, "4.2048429468447037e-255"},
    {0x1.cde66bacfb3d0p+858, "3.467722627586937e+258"},
    {0x1.49b7889463e85p-512, "9.606020282432862e-155"},
    {-0x1.b8ca1f91e1d4cp+706, "-5.796532266416865e+212"},
    {0x1.c3fe860e7a113p-701, "1.678285985249165e-211"},
    {0x1.dbb418d5288f1p+177, "3.559636223270555e+53"},
    {-0x1.e89aed453dd32p-497, "-4.6645554400601785e-150"},
    {-0x1.cf72f9e574f7ap+555, "-2.135058088242266e+167"},
    {0x1.41cf0dc98d2c1p+458, "9.356124026369747e+137"},
    {0x1.9d32c93cd59bfp-236, "1.4616374818865636e-71"},
    {0x0.0000000000001p-1022, "5e-324"},
    {0x1.0000000000000p-977, "7.82878265628505e-295"},
    {0x1.0000000000000p-880, "1.240520129162012e-265"},
    {0x1.0000000000000p-783, "1.9656826079092814e-236"},
    {0x1.0000000000000p-686, "3.11474842221799e-207"},
    {0x1.0000000000000p-589, "4.935515883730707e-178"},
    {0x1.0000000000000p-492, "7.820637090558988e-149"},
    {0x1.0000000000000p-395, "1.2392294127517818e-119"},
    {0x1.0000000000000p-298, "1.9636373861190906e-90"},
    {0x1.0000000000000p-201, "3.111507638930571e-61"},
    {0x1.0000000000000p-104, "4.930380657631324e-32"},
    {0x1.0000000000000p-7, "7.8125e-03"},
    {0x1.0000000000000p+90, "1.2379400392853803e+27"},
    {0x1.0000000000000p+187, "1.9615942923083377e+56"},
    {0x1.0000000000000p+284, "3.1082702275611665e+85"},
    {0x1.0000000000000p+381, "4.92525077454931e+114"},
    {0x1.0000000000000p+478, "7.804371375789981e+143"},
    {0x1.0000000000000p+575, "1.2366520073655227e+173"},
    {0x1.0000000000000p+672, "1.959553324262937e+202"},
    {0x1.0000000000000p+769, "3.105036184601418e+231"},
    {0x1.0000000000000p+866, "4.9201262289254483e+260"},
    {0x1.0000000000000p+963, "7.79625120912e+289"},
    {0x1.999999999999ap-4, "1e-01"},
    {0x1.999999999999ap-3, "2e-01"},
    {0x1.3333333333334p-2, "3.0000000000000004e-01"},
    {0x1.5555555555555p-2, "3.333333333333333e-01"},
    {0x1.5555555555555p-1, "6.666666666666666e-01"},
    {0x1.edd2f1a9fbe77p+6, "1.23456e+02"},
    {0x1.0000000000000p+53, "9.007199254740992e+15"},
    {0x1.52d02c7e14af6p+76, "1e+23"},
    {0x0.0000000000001p-1022, "5e-324"},
    {0x1.fffffffffffffp+1023, "1.7976931348623157e+308"},
    {0x1.0000000000000p-1022, "2.2250738585072014e-308"},
    {0x1.0000000000000p-44, "5.684341886080802e-14"},
    {0x1.0000000000000p+60, "1.152921504606847e+18"},
    {0x1.0000000000000p-1022, "2.2250738585072014e-308"},
};

static void format_e_matches_shortest_table(void **state)
{
    char buf[SG_NUM_FMT_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(e_rows) / sizeof(e_rows[0]); i++) {
        sg_num_format(e_rows[i].v, 'e', buf, sizeof(buf));
        if (strcmp(buf, e_rows[i].e) != 0)
            fail_msg("row %zu (%a): %s, want %s", i, e_rows[i].v, buf, e_rows[i].e);
    }
}

static void format_go_examples(void **state)
{
    static const struct {
        double v;
        char fmt;
        const char *out;
    } rows[] = {
        {1e-7, 'f', "0.0000001"},
        {1e21, 'f', "1000000000000000000000"},
        {0.1, 'f', "0.1"},
        {123456789, 'f', "123456789"},
        {-0.0, 'f', "-0"},
        {0.0, 'f', "0"},
        {1.5, 'f', "1.5"},
        {0.30000000000000004, 'f', "0.30000000000000004"},
        {1, 'E', "1E+00"},
        {0.25, 'E', "2.5E-01"},
        {1.5, 'E', "1.5E+00"},
        {0, 'E', "0E+00"},
        {2000000, 'g', "2e+06"},
        {200000, 'g', "200000"},
        {1234567.8, 'g', "1.2345678e+06"},
        {0.0001, 'g', "0.0001"},
        {0.00001, 'g', "1e-05"},
        {1353755652, 'g', "1.353755652e+09"},
        {0, 'g', "0"},
        {1e-7, 'e', "1e-07"},
        {1.5e21, 'e', "1.5e+21"},
        {1e100, 'e', "1e+100"},
        {NAN, 'f', "NaN"},
        {INFINITY, 'f', "+Inf"},
        {-INFINITY, 'g', "-Inf"},
    };
    char buf[SG_NUM_FMT_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sg_num_format(rows[i].v, rows[i].fmt, buf, sizeof(buf));
        if (strcmp(buf, rows[i].out) != 0)
            fail_msg("row %zu (%a '%c'): %s, want %s", i, rows[i].v, rows[i].fmt, buf,
                     rows[i].out);
    }
}

/* Random doubles: the shortest digits read back, and one digit fewer does
 * not (checked by brute force over the two nearest candidates). */
static void format_random_round_trip(void **state)
{
    char buf[SG_NUM_FMT_MAX];
    uint64_t x = 0x9E3779B97F4A7C15ULL;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        double v, back;
        char digits[32];
        int nd, dp;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&v, &x, sizeof(v));
        if (!isfinite(v) || v == 0)
            continue;
        sg_num_format(v, 'e', buf, sizeof(buf));
        back = strtod(buf, NULL);
        if (back != v)
            fail_msg("%a: %s does not read back", v, buf);
        nd = sg_num_shortest(v, digits, &dp);
        if (nd > 1) {
            char shorter[64];
            snprintf(shorter, sizeof(shorter), "%.*e", nd - 2, fabs(v));
            if (strtod(shorter, NULL) == fabs(v))
                fail_msg("%a: %s is shorter than %s", v, shorter, buf);
        }
        sg_num_format(v, 'f', buf, sizeof(buf));
        if (strtod(buf, NULL) != v)
            fail_msg("%a: 'f' %s does not read back", v, buf);
    }
}

/* The fast shortest-digits algorithm against the slow library-based
 * reference: random bit patterns (every exponent), random small decimals,
 * powers of two and of ten, neighbours of both, subnormals. */
static void check_same_digits(double v)
{
    char d1[32], d2[32];
    int dp1, dp2, n1, n2;

    if (!isfinite(v) || v == 0)
        return;
    n1 = sg_num_shortest(v, d1, &dp1);
    n2 = sg_num_shortest_ref(v, d2, &dp2);
    if (n1 != n2 || dp1 != dp2 || strcmp(d1, d2) != 0)
        fail_msg("%a: fast 0.%se%d, reference 0.%se%d", v, d1, dp1, d2, dp2);
}

static void shortest_fast_matches_reference(void **state)
{
    uint64_t x = 0x2545F4914F6CDD1DULL;

    (void)state;
    for (int i = 0; i < 200000; i++) {
        double v;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&v, &x, sizeof(v));
        check_same_digits(v);
    }
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* decimals with few digits: 1234.5, 0.07, 3e-5 ... */
        check_same_digits((double)(x % 100000) / pow(10, (double)(x >> 60)));
        check_same_digits((double)(x % 1000) * pow(10, (double)((int)(x >> 55) - 16)));
    }
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1.0, e);
        check_same_digits(p);
        check_same_digits(nextafter(p, 0));
        check_same_digits(nextafter(p, INFINITY));
        check_same_digits(p * 3);
    }
    for (int e = -323; e <= 308; e++) {
        double p = pow(10, e);
        check_same_digits(p);
        check_same_digits(nextafter(p, 0));
        check_same_digits(nextafter(p, INFINITY));
    }
    check_same_digits(5e-324);
    check_same_digits(DBL_MAX);
    check_same_digits(DBL_MIN);
    check_same_digits(nextafter(DBL_MIN, 0));
    check_same_digits(9007199254740993.0);
    check_same_digits(1e23);
}

static void parse_go_parsefloat(void **state)
{
    static const struct {
        const char *in;
        int rc;
        double v;
    } rows[] = {
        {"1", SG_OK, 1},
        {"-1.5", SG_OK, -1.5},
        {"+2", SG_OK, 2},
        {".5", SG_OK, 0.5},
        {"5.", SG_OK, 5},
        {"1e3", SG_OK, 1000},
        {"1E-3", SG_OK, 0.001},
        {"Inf", SG_OK, INFINITY},
        {"+Inf", SG_OK, INFINITY},
        {"-inf", SG_OK, -INFINITY},
        {"infinity", SG_OK, INFINITY},
        {"-Infinity", SG_OK, -INFINITY},
        {"0x1p-2", SG_OK, 0.25},
        {"0x_1p0", SG_OK, 1},
        {"1e400", SG_ELIMIT, INFINITY},
        {"+nan", SG_EPARSE, 0},
        {"infin", SG_EPARSE, 0},
        {"0x10", SG_EPARSE, 0},
        {"1_000", SG_EPARSE, 0},
        {"1e", SG_EPARSE, 0},
        {"e1", SG_EPARSE, 0},
        {"--1", SG_EPARSE, 0},
        {"", SG_EPARSE, 0},
        {".", SG_EPARSE, 0},
        {"1.2.3", SG_EPARSE, 0},
        {" 1", SG_EPARSE, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        double v = -12345;
        int rc = sg_num_parse(sg_str_c(rows[i].in), &v);
        if (rc != rows[i].rc)
            fail_msg("row %zu \"%s\": rc %d, want %d", i, rows[i].in, rc, rows[i].rc);
        if (rc == SG_OK && v != rows[i].v)
            fail_msg("row %zu \"%s\": %g, want %g", i, rows[i].in, v, rows[i].v);
    }
    {
        double v = 0;
        assert_int_equal(sg_num_parse(sg_str_c("NaN"), &v), SG_OK);
        assert_true(isnan(v));
        assert_int_equal(sg_num_parse(sg_str_c("nan"), &v), SG_OK);
        assert_true(isnan(v));
    }
}

static void parse_go_parseint_base0(void **state)
{
    static const struct {
        const char *in;
        int rc;
        int64_t v;
    } rows[] = {
        {"0", SG_OK, 0},
        {"42", SG_OK, 42},
        {"-42", SG_OK, -42},
        {"0x1F", SG_OK, 31},
        {"0X_1f", SG_OK, 31},
        {"010", SG_OK, 8},
        {"0o17", SG_OK, 15},
        {"0b101", SG_OK, 5},
        {"1_000", SG_EPARSE, 0},
        {"0x", SG_EPARSE, 0},
        {"08", SG_EPARSE, 0},
        {"9223372036854775807", SG_OK, INT64_MAX},
        {"-9223372036854775808", SG_OK, INT64_MIN},
        {"9223372036854775808", SG_ELIMIT, 0},
        {"1.5", SG_EPARSE, 0},
        {"1e3", SG_EPARSE, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t v = -1;
        int rc = sg_num_parse_int(sg_str_c(rows[i].in), &v);
        if (rc != rows[i].rc)
            fail_msg("row %zu \"%s\": rc %d, want %d", i, rows[i].in, rc, rows[i].rc);
        if (rc == SG_OK && v != rows[i].v)
            fail_msg("row %zu \"%s\": %lld", i, rows[i].in, (long long)v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_e_matches_shortest_table),
        cmocka_unit_test(format_go_examples),
        cmocka_unit_test(format_random_round_trip),
        cmocka_unit_test(shortest_fast_matches_reference),
        cmocka_unit_test(parse_go_parsefloat),
        cmocka_unit_test(parse_go_parseint_base0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
