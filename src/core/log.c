/* src/core/log.c - logfmt/JSON log lines on stderr.
 *
 * One line per call, written with a single fputs of a stack-assembled
 * buffer so that concurrent writers (child processes sharing stderr) do
 * not interleave inside a line. Long lines are cut at the buffer size.
 */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "stopgate/err.h"
#include "stopgate/log.h"

static enum sg_log_level min_level = SG_LOG_INFO;
static enum sg_log_format log_format = SG_LOG_LOGFMT;
static FILE *log_out;

void sg_log_setup(enum sg_log_level level, enum sg_log_format format, FILE *out)
{
    min_level = level;
    log_format = format;
    log_out = out;
}

int sg_log_parse_level(const char *s, enum sg_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};

    for (size_t i = 0; i < SG_ARRAY_LEN(names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum sg_log_level)i;
            return SG_OK;
        }
    }
    return SG_EINVAL;
}

int sg_log_parse_format(const char *s, enum sg_log_format *out)
{
    if (strcmp(s, "logfmt") == 0)
        *out = SG_LOG_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = SG_LOG_JSON;
    else
        return SG_EINVAL;
    return SG_OK;
}

bool sg_log_enabled(enum sg_log_level level)
{
    return level >= min_level;
}

struct sg_log_num sg_log_i64(int64_t v)
{
    struct sg_log_num n;

    snprintf(n.s, sizeof(n.s), "%lld", (long long)v);
    return n;
}

struct sg_log_num sg_log_f64(double v)
{
    struct sg_log_num n;

    if (isnan(v))
        snprintf(n.s, sizeof(n.s), "NaN");
    else if (isinf(v))
        snprintf(n.s, sizeof(n.s), v > 0 ? "+Inf" : "-Inf");
    else
        snprintf(n.s, sizeof(n.s), "%.17g", v);
    return n;
}

struct line {
    char buf[8192];
    size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
    if (n > sizeof(l->buf) - 2 - l->len)
        n = sizeof(l->buf) - 2 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void putc_(struct line *l, char c)
{
    put(l, &c, 1);
}

static bool needs_quotes(const char *v)
{
    if (!*v)
        return true;
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= 0x7f)
            return true;
    }
    return false;
}

static void put_quoted(struct line *l, const char *v, bool json)
{
    putc_(l, '"');
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        char esc[8];
        switch (c) {
        case '"':
            put(l, "\\\"", 2);
            break;
        case '\\':
            put(l, "\\\\", 2);
            break;
        case '\n':
            put(l, "\\n", 2);
            break;
        case '\r':
            put(l, "\\r", 2);
            break;
        case '\t':
            put(l, "\\t", 2);
            break;
        default:
            if (c < 0x20 || (c == 0x7f && !json)) {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                put(l, esc, strlen(esc));
            } else {
                putc_(l, (char)c);
            }
        }
    }
    putc_(l, '"');
}

static void put_kv(struct line *l, const char *k, const char *v, bool first)
{
    if (log_format == SG_LOG_JSON) {
        if (!first)
            putc_(l, ',');
        put_quoted(l, k, true);
        putc_(l, ':');
        put_quoted(l, v, true);
        return;
    }
    if (!first)
        putc_(l, ' ');
    put(l, k, strlen(k));
    putc_(l, '=');
    if (needs_quotes(v))
        put_quoted(l, v, false);
    else
        put(l, v, strlen(v));
}

void sg_log(enum sg_log_level level, const char *msg, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    struct line l;
    struct timespec ts;
    struct tm tm;
    char tsbuf[64];
    va_list ap;

    if (level < min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(tsbuf, sizeof(tsbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ts.tv_nsec / 1000000) % 1000);
    l.len = 0;
    if (log_format == SG_LOG_JSON)
        putc_(&l, '{');
    put_kv(&l, "ts", tsbuf, true);
    put_kv(&l, "level", names[level], false);
    put_kv(&l, "msg", msg ? msg : "", false);
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        const char *v;
        if (!k)
            break;
        v = va_arg(ap, const char *);
        put_kv(&l, k, v ? v : "", false);
    }
    va_end(ap);
    if (log_format == SG_LOG_JSON)
        putc_(&l, '}');
    l.buf[l.len++] = '\n';
    l.buf[l.len] = '\0';
    fputs(l.buf, log_out ? log_out : stderr);
    fflush(log_out ? log_out : stderr);
}

void sg_log_redact_url(const char *url, bool hide_path, char *out, size_t n)
{
    const char *scheme_end = strstr(url, "://");
    const char *host, *path, *at, *q;
    size_t o = 0;

    if (n == 0)
        return;
#define OUT(s, len)                                                                                \
    do {                                                                                           \
        size_t l_ = (len);                                                                         \
        if (l_ > n - 1 - o)                                                                        \
            l_ = n - 1 - o;                                                                        \
        memcpy(out + o, (s), l_);                                                                  \
        o += l_;                                                                                   \
    } while (0)
    if (!scheme_end) {
        OUT("<invalid url>", 13);
        out[o] = '\0';
        return;
    }
    host = scheme_end + 3;
    path = host + strcspn(host, "/?#");
    OUT(url, (size_t)(host - url));
    at = memchr(host, '@', (size_t)(path - host));
    if (at) {
        OUT("xxxxx@", 6);
        host = at + 1;
    }
    OUT(host, (size_t)(path - host));
    if (*path) {
        if (hide_path) {
            OUT("/xxxxx", 6);
        } else {
            q = path + strcspn(path, "?#");
            OUT(path, (size_t)(q - path));
            if (*q == '?')
                OUT("?xxxxx", 6);
        }
    }
#undef OUT
    out[o] = '\0';
}
