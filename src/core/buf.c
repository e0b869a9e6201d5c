/* src/core/buf.c - bounded growable buffer.
 *
 * Like curl's dynbuf, every buffer has a maximum length; going past it is
 * SG_ELIMIT. Unlike dynbuf, a failed append keeps the content so far, so
 * that capped output can still be shown as "(truncated)".
 */
#include <stdio.h>
#include <string.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

void sg_buf_init(struct sg_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int sg_buf_reserve(struct sg_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > b->max || b->len > b->max - n)
        return SG_ELIMIT;
    need = b->len + n + 1;
    if (need <= b->cap)
        return SG_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = sg_realloc(b->data, cap);
    if (!p)
        return SG_ENOMEM;
    b->data = p;
    b->cap = cap;
    return SG_OK;
}

int sg_buf_append(struct sg_buf *b, const void *p, size_t n)
{
    int rc = sg_buf_reserve(b, n);

    if (rc != SG_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SG_OK;
}

int sg_buf_append_str(struct sg_buf *b, struct sg_str s)
{
    return sg_buf_append(b, s.ptr, s.len);
}

int sg_buf_putc(struct sg_buf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return SG_OK;
    }
    return sg_buf_append(b, &c, 1);
}

int sg_buf_puts(struct sg_buf *b, const char *s)
{
    return sg_buf_append(b, s, strlen(s));
}

int sg_buf_vappendf(struct sg_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n, rc;

    va_copy(ap2, ap);
    n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return SG_EINVAL;
    if (b->data && (size_t)n < b->cap - b->len) {
        if ((size_t)n > b->max - b->len) {
            b->data[b->len] = '\0';
            return SG_ELIMIT;
        }
        b->len += (size_t)n;
        return SG_OK;
    }
    rc = sg_buf_reserve(b, (size_t)n);
    if (rc != SG_OK) {
        if (b->data)
            b->data[b->len] = '\0';
        return rc;
    }
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)n;
    return SG_OK;
}

int sg_buf_appendf(struct sg_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sg_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void sg_buf_reset(struct sg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void sg_buf_truncate(struct sg_buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

struct sg_str sg_buf_view(const struct sg_buf *b)
{
    return sg_str_make(b->data ? b->data : "", b->len);
}

const char *sg_buf_cstr(const struct sg_buf *b)
{
    return b->data ? b->data : "";
}

char *sg_buf_steal(struct sg_buf *b, size_t *len)
{
    char *p = b->data;

    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void sg_buf_cleanup(struct sg_buf *b)
{
    sg_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
