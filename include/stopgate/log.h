/* include/stopgate/log.h - leveled logging to stderr, logfmt or JSON.
 *
 * A line is a message plus key/value pairs:
 *     sg_log(SG_LOG_INFO, "wave started", "release", "caracal", "revision", "5", NULL);
 * prints (logfmt)
 *     ts=2026-11-29T08:09:38.123Z level=info msg="wave started" release=caracal revision=5
 * Values are strings; format numbers first (sg_log_i64 / sg_log_f64 give a
 * small stack buffer). Secrets never reach the log: URLs go through
 * sg_log_redact_url first, tokens and passwords are not passed at all.
 */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "stopgate/base.h"

enum sg_log_level { SG_LOG_DEBUG = 0, SG_LOG_INFO, SG_LOG_WARN, SG_LOG_ERROR };
enum sg_log_format { SG_LOG_LOGFMT = 0, SG_LOG_JSON };

/* Process-wide settings; the defaults are info, logfmt, stderr. `out` is
 * borrowed and must stay open (NULL means stderr). */
void sg_log_setup(enum sg_log_level min_level, enum sg_log_format format, FILE *out);
/* "debug", "info", "warn", "error" -> level. SG_EINVAL for anything else. */
int sg_log_parse_level(const char *s, enum sg_log_level *out);
int sg_log_parse_format(const char *s, enum sg_log_format *out);
bool sg_log_enabled(enum sg_log_level level);

/* Key/value pairs follow msg as const char * arguments, NULL-terminated.
 * A NULL value prints as an empty string. */
void sg_log(enum sg_log_level level, const char *msg, ...);

/* Formatting helpers for values. */
struct sg_log_num {
    char s[40];
};
struct sg_log_num sg_log_i64(int64_t v);
struct sg_log_num sg_log_f64(double v);

/* Copy url into out without credentials: the user-info part becomes
 * "xxxxx@" and the query string "?xxxxx". With `hide_path` the path is
 * replaced as well (chat webhook URLs carry their secret in the path).
 * Always NUL-terminates (truncates to n-1 bytes). */
void sg_log_redact_url(const char *url, bool hide_path, char *out, size_t n);

#endif
