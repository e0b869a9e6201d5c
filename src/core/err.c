/* src/core/err.c - error codes, messages and source positions.
 *
 * The first failure recorded in a struct sg_err sticks (curl's failf
 * habit): later calls only return their code. Positions are computed from a
 * byte offset into the source text, 1-based, columns in bytes.
 */
#include <stdio.h>
#include <string.h>

#include "stopgate/err.h"

const char *sg_strerror(int code)
{
    switch (code) {
    case SG_OK:
        return "success";
#define SG__TEXT(name, val, text)                                                                  \
    case SG_##name:                                                                                \
        return text;
        SG_ERROR_LIST(SG__TEXT)
#undef SG__TEXT
    default:
        return "unknown error";
    }
}

const char *sg_err_name(int code)
{
    switch (code) {
    case SG_OK:
        return "SG_OK";
#define SG__NAME(name, val, text)                                                                  \
    case SG_##name:                                                                                \
        return "SG_" #name;
        SG_ERROR_LIST(SG__NAME)
#undef SG__NAME
    default:
        return "SG_UNKNOWN";
    }
}

void sg_err_clear(struct sg_err *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

int sg_err_setv(struct sg_err *err, int code, const char *fmt, va_list ap)
{
    if (!err || err->code != SG_OK)
        return code;
    err->code = code;
    if (fmt)
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    else
        snprintf(err->msg, sizeof(err->msg), "%s", sg_strerror(code));
    return code;
}

int sg_err_set(struct sg_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sg_err_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int sg_err_set_cause(struct sg_err *err, int code, int cause, const char *fmt, ...)
{
    va_list ap;

    if (!err || err->code != SG_OK)
        return code;
    va_start(ap, fmt);
    sg_err_setv(err, code, fmt, ap);
    va_end(ap);
    err->cause = cause;
    return code;
}

void sg_err_linecol(struct sg_str src, uint32_t off, uint32_t *line, uint32_t *col)
{
    uint32_t l = 1, c = 1;
    size_t end = off < src.len ? off : src.len;

    for (size_t i = 0; i < end; i++) {
        if (src.ptr[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int set_pos(struct sg_err *err, int code, const char *src_name, uint32_t line,
                   uint32_t col, const char *fmt, va_list ap)
{
    int n;

    if (!err || err->code != SG_OK)
        return code;
    err->code = code;
    err->line = line;
    err->col = col;
    n = snprintf(err->msg, sizeof(err->msg), "%s:%u:%u: ", src_name ? src_name : "<input>", line,
                 col);
    if (n < 0 || (size_t)n >= sizeof(err->msg))
        return code;
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
    return code;
}

int sg_err_set_at(struct sg_err *err, int code, const char *src_name, struct sg_str src,
                  uint32_t off, uint32_t len, const char *fmt, ...)
{
    uint32_t line, col;
    va_list ap;

    if (!err || err->code != SG_OK)
        return code;
    sg_err_linecol(src, off, &line, &col);
    va_start(ap, fmt);
    set_pos(err, code, src_name, line, col, fmt, ap);
    va_end(ap);
    err->off = off;
    err->len = len;
    return code;
}

int sg_err_set_linecol(struct sg_err *err, int code, const char *src_name, uint32_t line,
                       uint32_t col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_pos(err, code, src_name, line, col, fmt, ap);
    va_end(ap);
    return code;
}

void sg_err_prefix(struct sg_err *err, const char *fmt, ...)
{
    char head[SG_ERR_MSG_MAX];
    char old[SG_ERR_MSG_MAX];
    va_list ap;
    int n;

    if (!err || err->code == SG_OK)
        return;
    va_start(ap, fmt);
    n = vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    memcpy(old, err->msg, sizeof(old));
    if ((size_t)n >= sizeof(err->msg) - 1)
        n = (int)sizeof(err->msg) - 1;
    memcpy(err->msg, head, (size_t)n);
    {
        size_t rest = sizeof(err->msg) - 1 - (size_t)n;
        size_t olen = strlen(old);
        if (olen > rest)
            olen = rest;
        memcpy(err->msg + n, old, olen);
        err->msg[(size_t)n + olen] = '\0';
    }
}
