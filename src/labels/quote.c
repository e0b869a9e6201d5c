/* src/labels/quote.c - Go's strconv.Quote and the UTF-8 helpers it needs.
 *
 * Label values, string literals and matcher values are printed the way Go's
 * %q prints them: printable runes as they are, the usual C escapes, \xHH for
 * bytes that are not UTF-8 and for ASCII controls, \uHHHH / \UHHHHHHHH for
 * other non-printable runes. Printability follows Go's strconv.IsPrint
 * (print_table.h, generated). Decoding follows Go's utf8.DecodeRune:
 * overlong forms, surrogates and values above U+10FFFF are one invalid byte.
 * The way back, one escape of a quoted literal as strconv.UnquoteChar reads
 * it, is here too; the loops around it (which quotes, which raw bytes pass)
 * differ between PromQL and templates and stay with them.
 */
#include <string.h>

#include "stopgate/labels.h"

#include "print_table.h"

uint32_t sg_utf8_decode(const char *s, size_t len, size_t *width)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t r;
    size_t n, i;

    if (len == 0) {
        *width = 0;
        return SG_RUNE_ERROR;
    }
    if (p[0] < 0x80) {
        *width = 1;
        return p[0];
    }
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
        r = p[0] & 0x1F;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        r = p[0] & 0x0F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        r = p[0] & 0x07;
    } else {
        goto bad;
    }
    if (len < n)
        goto bad;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            goto bad;
        r = (r << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && r < 0x800) || (n == 4 && (r < 0x10000 || r > 0x10FFFF)) ||
        (r >= 0xD800 && r <= 0xDFFF))
        goto bad;
    *width = n;
    return r;
bad:
    *width = 1;
    return SG_RUNE_ERROR;
}

size_t sg_utf8_encode(uint32_t r, char out[4])
{
    if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        r = SG_RUNE_ERROR;
    if (r < 0x80) {
        out[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        out[0] = (char)(0xC0 | (r >> 6));
        out[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        out[0] = (char)(0xE0 | (r >> 12));
        out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (r >> 18));
    out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
    out[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

bool sg_rune_is_print(uint32_t r)
{
    size_t lo = 0, hi = SG_ARRAY_LEN(print_ranges);

    if (r < 0x80)
        return r >= 0x20 && r < 0x7F;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r < print_ranges[mid][0])
            hi = mid;
        else if (r > print_ranges[mid][1])
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

bool sg_rune_is_space(uint32_t r)
{
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

static const char hexd[] = "0123456789abcdef";

int sg_quote_go_rune(uint32_t r, char quote, struct sg_buf *out)
{
    char tmp[12];
    size_t n = 0;

    if (r == (uint32_t)(unsigned char)quote || r == '\\') {
        tmp[n++] = '\\';
        tmp[n++] = (char)r;
    } else if (sg_rune_is_print(r)) {
        n = sg_utf8_encode(r, tmp);
    } else {
        tmp[n++] = '\\';
        switch (r) {
        case '\a':
            tmp[n++] = 'a';
            break;
        case '\b':
            tmp[n++] = 'b';
            break;
        case '\f':
            tmp[n++] = 'f';
            break;
        case '\n':
            tmp[n++] = 'n';
            break;
        case '\r':
            tmp[n++] = 'r';
            break;
        case '\t':
            tmp[n++] = 't';
            break;
        case '\v':
            tmp[n++] = 'v';
            break;
        default:
            if (r < ' ' || r == 0x7F) {
                tmp[n++] = 'x';
                tmp[n++] = hexd[(r >> 4) & 0xF];
                tmp[n++] = hexd[r & 0xF];
            } else if (r < 0x10000) {
                tmp[n++] = 'u';
                for (int s = 12; s >= 0; s -= 4)
                    tmp[n++] = hexd[(r >> s) & 0xF];
            } else {
                tmp[n++] = 'U';
                for (int s = 28; s >= 0; s -= 4)
                    tmp[n++] = hexd[(r >> s) & 0xF];
            }
        }
    }
    return sg_buf_append(out, tmp, n);
}

bool sg_unquote_go_escape(const char *s, size_t n, char quote, uint32_t *value, bool *is_rune,
                          size_t *used)
{
    uint32_t v = 0;
    size_t k;
    char c;

    if (n == 0)
        return false;
    c = s[0];
    *is_rune = false;
    *used = 1;
    switch (c) {
    case 'a':
        *value = '\a';
        return true;
    case 'b':
        *value = '\b';
        return true;
    case 'f':
        *value = '\f';
        return true;
    case 'n':
        *value = '\n';
        return true;
    case 'r':
        *value = '\r';
        return true;
    case 't':
        *value = '\t';
        return true;
    case 'v':
        *value = '\v';
        return true;
    case '\\':
        *value = '\\';
        return true;
    case '\'':
    case '"':
        if (c != quote)
            return false;
        *value = (uint32_t)c;
        return true;
    case 'x':
    case 'u':
    case 'U':
        k = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        if (n < 1 + k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            int d = sg_hex_digit((unsigned char)s[j]);
            if (d < 0)
                return false;
            v = (v << 4) | (uint32_t)d;
        }
        *used = 1 + k;
        if (c != 'x') {
            if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
                return false;
            *is_rune = true;
        }
        *value = v;
        return true;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
        if (n < 3)
            return false;
        for (size_t j = 0; j < 3; j++) {
            if (s[j] < '0' || s[j] > '7')
                return false;
            v = (v << 3) | (uint32_t)(s[j] - '0');
        }
        if (v > 255)
            return false;
        *value = v;
        *used = 3;
        return true;
    default:
        return false;
    }
}

int sg_quote_go(struct sg_str s, struct sg_buf *out)
{
    int rc = sg_buf_putc(out, '"');
    size_t i = 0;

    while (rc == SG_OK && i < s.len) {
        unsigned char c = (unsigned char)s.ptr[i];
        size_t w;
        uint32_t r;

        /* fast path for the common printable ASCII run */
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            size_t j = i + 1;
            while (j < s.len && (unsigned char)s.ptr[j] >= 0x20 && (unsigned char)s.ptr[j] < 0x7F &&
                   s.ptr[j] != '"' && s.ptr[j] != '\\')
                j++;
            rc = sg_buf_append(out, s.ptr + i, j - i);
            i = j;
            continue;
        }
        r = sg_utf8_decode(s.ptr + i, s.len - i, &w);
        if (r == SG_RUNE_ERROR && w == 1) {
            char tmp[4] = {'\\', 'x', hexd[c >> 4], hexd[c & 0xF]};
            rc = sg_buf_append(out, tmp, 4);
        } else {
            rc = sg_quote_go_rune(r, '"', out);
        }
        i += w;
    }
    if (rc == SG_OK)
        rc = sg_buf_putc(out, '"');
    return rc;
}
