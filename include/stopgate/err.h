/* include/stopgate/err.h - error codes and the error record.
 *
 * Every fallible function returns SG_OK (0) or one of the negative codes
 * below and takes a `struct sg_err *err` (may be NULL) as its last argument.
 * The first failure recorded in an sg_err sticks; callers add context in
 * front with sg_err_prefix. Messages that concern a place in a file or an
 * expression start with "NAME:LINE:COL: ".
 */
#ifndef SG_ERR_H
#define SG_ERR_H

#include <stdarg.h>
#include <stdint.h>

#include "stopgate/base.h"

#define SG_ERROR_LIST(X)                                                                           \
    X(ENOMEM, -1, "out of memory")                                                                 \
    X(EINVAL, -2, "invalid argument")                                                              \
    X(EPARSE, -3, "syntax error")                                                                  \
    X(ETYPE, -4, "type error")                                                                     \
    X(ELIMIT, -5, "limit exceeded")                                                                \
    X(EIO, -6, "i/o error")                                                                        \
    X(ETIMEDOUT, -7, "timed out")                                                                  \
    X(EHTTP, -8, "unexpected HTTP status")                                                         \
    X(EPROTO, -9, "malformed data from peer")                                                      \
    X(ECHILD, -10, "child process failed")                                                         \
    X(ECANCELED, -11, "canceled")                                                                  \
    X(EAGAIN, -12, "need more input")                                                              \
    X(ESTATE, -13, "state directory problem")                                                      \
    X(EEVAL, -14, "evaluation error")                                                              \
    X(ENOTFOUND, -15, "not found")                                                                 \
    X(EUSAGE, -16, "usage error")

enum sg_code {
    SG_OK = 0,
#define SG__ENUM(name, val, text) SG_##name = (val),
    SG_ERROR_LIST(SG__ENUM)
#undef SG__ENUM
};

#define SG_ERR_MSG_MAX 512

struct sg_err {
    int code;          /* SG_OK until the first failure is recorded */
    int cause;         /* errno, uv error or CURLcode underneath; 0 if none */
    uint32_t line;     /* 1-based; 0 when there is no source position */
    uint32_t col;      /* 1-based, in bytes */
    uint32_t off, len; /* byte span in the source text */
    char msg[SG_ERR_MSG_MAX];
};

/* "syntax error" for SG_EPARSE; "unknown error" for anything else. */
const char *sg_strerror(int code);
/* "SG_EPARSE". */
const char *sg_err_name(int code);

/* Reset err to SG_OK with an empty message. err may be NULL. */
void sg_err_clear(struct sg_err *err);

/* Record a failure. Only the first one sticks. err may be NULL. Returns
 * code, so that callers can write `return sg_err_set(...)`. */
int sg_err_set(struct sg_err *err, int code, const char *fmt, ...) SG_PRINTF(3, 4);
int sg_err_setv(struct sg_err *err, int code, const char *fmt, va_list ap) SG_PRINTF(3, 0);
int sg_err_set_cause(struct sg_err *err, int code, int cause, const char *fmt, ...)
    SG_PRINTF(4, 5);

/* Same with a source position: computes line and column of byte `off` in
 * src (plus line_base/col_base when the text sits inside a larger file, see
 * sg_err_set_at_base) and writes "src_name:line:col: " before the text. */
int sg_err_set_at(struct sg_err *err, int code, const char *src_name, struct sg_str src,
                  uint32_t off, uint32_t len, const char *fmt, ...) SG_PRINTF(7, 8);

/* Record a failure at an already known line and column (1-based). */
int sg_err_set_linecol(struct sg_err *err, int code, const char *src_name, uint32_t line,
                       uint32_t col, const char *fmt, ...) SG_PRINTF(6, 7);

/* Add context in front of an existing message: "loading rules/db.yaml: ...".
 * Does nothing when err is NULL or holds no error. */
void sg_err_prefix(struct sg_err *err, const char *fmt, ...) SG_PRINTF(2, 3);

/* Line and column (1-based, column in bytes) of byte `off` in src. */
void sg_err_linecol(struct sg_str src, uint32_t off, uint32_t *line, uint32_t *col);

#endif
