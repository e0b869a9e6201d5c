/* tests/fuzz/fuzz_regex.c - RE2-syntax regexes on PCRE2.
 *
 * Input: a pattern, then NUL-separated subject strings. The pattern is
 * checked, compiled with small match and depth limits (a hit is an error,
 * never a crash) and matched against each subject. Every answer must be
 * the same as for "(?:pattern)", which defeats the literal fast paths, so
 * the fast paths are checked against PCRE2. Both 2.x and 3.x dot modes.
 */
#include <stdint.h>
#include <string.h>

#include "stopgate/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nul;
    struct sg_str pattern;
    struct sg_buf wrapped;
    struct sg_err err;

    if (size > 2048)
        return 0;
    nul = memchr(p, '\0', size);
    pattern = sg_str_make(p, nul ? (size_t)(nul - p) : size);
    sg_buf_init(&wrapped, 4096);
    if (sg_buf_puts(&wrapped, "(?:") != SG_OK || sg_buf_append_str(&wrapped, pattern) != SG_OK ||
        sg_buf_puts(&wrapped, ")") != SG_OK)
        __builtin_trap();
    for (int mode = 0; mode < 2; mode++) {
        struct sg_regex_opts o = {
            .dot_matches_newline = mode == 1, .match_limit = 10000, .depth_limit = 1000};
        struct sg_regex *re = NULL, *slow = NULL;
        int crc;

        sg_err_clear(&err);
        crc = sg_regex_compile(pattern, &o, &re, &err);
        if (crc != SG_OK) {
            if (err.msg[0] == '\0')
                __builtin_trap();
            if (crc == SG_EPARSE && sg_regex_check_re2(pattern, NULL) == SG_OK &&
                strstr(err.msg, "error parsing regexp") == NULL)
                continue; /* PCRE2 refused what RE2 accepts: reported, not crashed */
            continue;
        }
        sg_err_clear(&err);
        if (sg_regex_compile(sg_buf_view(&wrapped), &o, &slow, &err) != SG_OK)
            __builtin_trap(); /* (?:p) must compile when p does */
        for (const char *s = nul ? nul + 1 : p + size; s <= p + size;) {
            const char *e = memchr(s, '\0', (size_t)(p + size - s));
            struct sg_str subj = sg_str_make(s, e ? (size_t)(e - s) : (size_t)(p + size - s));
            int a = sg_regex_match(re, subj, NULL);
            int b = sg_regex_match(slow, subj, NULL);
            if (a >= 0 && b >= 0 && a != b)
                __builtin_trap();
            if (!e)
                break;
            s = e + 1;
        }
        sg_regex_free(slow);
        sg_regex_free(re);
    }
    sg_buf_cleanup(&wrapped);
    return 0;
}
