/* src/core/str.c - string views. */
#include <string.h>

#include "stopgate/base.h"

struct sg_str sg_str_c(const char *s)
{
    return sg_str_make(s ? s : "", s ? strlen(s) : 0);
}

bool sg_str_eq(struct sg_str a, struct sg_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool sg_str_eq_c(struct sg_str a, const char *c)
{
    return sg_str_eq(a, sg_str_c(c));
}

int sg_str_cmp(struct sg_str a, struct sg_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int r = n ? memcmp(a.ptr, b.ptr, n) : 0;

    if (r != 0)
        return r;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

bool sg_str_has_prefix(struct sg_str s, const char *prefix)
{
    size_t n = strlen(prefix);

    return s.len >= n && memcmp(s.ptr, prefix, n) == 0;
}

int sg_hex_digit(uint32_t c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}
