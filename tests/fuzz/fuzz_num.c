/* tests/fuzz/fuzz_num.c - durations, timestamps and numbers from bytes.
 *
 * Every parser here takes (ptr, len). Checks on top of "no crash":
 * - a parsed duration formats and parses back to the same value;
 * - a parsed float formats (shortest digits, 'e' and 'f') and reads back to
 *   the same bits, and the fast shortest digits equal the reference ones;
 * - a parsed timestamp formats as RFC 3339 and reads back (within range).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "stopgate/duration.h"
#include "stopgate/num.h"
#include "stopgate/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_str s = sg_str_make((const char *)data, size);
    char buf[SG_NUM_FMT_MAX];
    int64_t ms, back, i64;
    double v, w;

    if (size > 256)
        return 0;
    if (sg_duration_parse(s, &ms, NULL) == SG_OK) {
        char d[SG_DURATION_FMT_MAX];
        sg_duration_format(ms, d, sizeof(d));
        if (sg_duration_parse(sg_str_c(d), &back, NULL) != SG_OK || back != ms)
            __builtin_trap();
    }
    if (sg_num_parse(s, &v) == SG_OK && isfinite(v)) {
        char d1[32], d2[32];
        int dp1, dp2;
        if (v != 0) {
            int n1 = sg_num_shortest(v, d1, &dp1);
            int n2 = sg_num_shortest_ref(v, d2, &dp2);
            if (n1 != n2 || dp1 != dp2 || memcmp(d1, d2, (size_t)n1) != 0)
                __builtin_trap();
        }
        sg_num_format(v, 'e', buf, sizeof(buf));
        if (sg_num_parse(sg_str_c(buf), &w) != SG_OK || sg_f64_bits(w) != sg_f64_bits(v))
            __builtin_trap();
        sg_num_format(v, 'f', buf, sizeof(buf));
        if (sg_num_parse(sg_str_c(buf), &w) != SG_OK || sg_f64_bits(w) != sg_f64_bits(v))
            __builtin_trap();
        sg_num_format(v, 'g', buf, sizeof(buf));
        sg_num_format(v, 'E', buf, sizeof(buf));
    }
    (void)sg_num_parse_int(s, &i64);
    if (sg_time_parse(s, &ms, NULL) == SG_OK && ms > -62135596800000LL &&
        ms < 253402300800000LL) {
        char t[SG_RFC3339_FMT_MAX];
        sg_time_format_rfc3339(ms, t, sizeof(t));
        if (sg_time_parse(sg_str_c(t), &back, NULL) != SG_OK || back != ms)
            __builtin_trap();
    }
    return 0;
}
