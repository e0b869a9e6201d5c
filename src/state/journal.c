/* src/state/journal.c - append-only JSON-lines journals: streaming replay
 * that tolerates a torn last line, durable appends, and the UTF-8-safe JSON
 * helpers the records need.
 *
 * Why a torn tail is cut and not an error: each append is one write(2) of
 * "json\n" followed by fdatasync. A crash (kill -9, power loss) during that
 * write can leave a prefix of the line, or, after a power loss on some
 * filesystems, zero bytes where the tail of the file should be. Neither can
 * be a complete line that the program reported as written, so cutting it
 * loses nothing that was promised. A bad line with more data after it is
 * different: that data was written after the bad line completed, so the
 * file was damaged by something else, and replay refuses to guess.
 *
 * Why a failed append truncates: a partial line left in the middle of the
 * file would turn into corruption as soon as the next line is appended. So
 * on any failure the file is cut back to its last complete line and the
 * journal refuses further writes (the caller stops acting).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/state_int.h"
#include "stopgate/fs.h"

#define READ_CHUNK 65536

/* ---- UTF-8-safe JSON ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1-4), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

json_t *sg_state__json_str(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    struct sg_buf b;
    json_t *j;
    size_t i = 0;
    bool clean = true;

    for (i = 0; i < len;) {
        size_t l = utf8_seq(p + i, len - i);
        if (l == 0 || p[i] == 0) {
            clean = false;
            break;
        }
        i += l;
    }
    if (clean)
        return json_stringn(s, len);
    sg_buf_init(&b, len * 3 + 1);
    for (i = 0; i < len;) {
        size_t l = p[i] ? utf8_seq(p + i, len - i) : 0;
        if (l == 0) {
            if (sg_buf_append(&b, "\xef\xbf\xbd", 3) != SG_OK) {
                sg_buf_cleanup(&b);
                return NULL;
            }
            i++;
        } else {
            if (sg_buf_append(&b, s + i, l) != SG_OK) {
                sg_buf_cleanup(&b);
                return NULL;
            }
            i += l;
        }
    }
    j = json_stringn(b.data ? b.data : "", b.len);
    sg_buf_cleanup(&b);
    return j;
}

int sg_state__dump(const json_t *obj, struct sg_buf *out, struct sg_err *err)
{
    char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    int rc;

    if (!s)
        return sg_err_set(err, SG_ENOMEM, "journal record: out of memory");
    rc = sg_buf_append(out, s, strlen(s));
    free(s);
    if (rc != SG_OK)
        return sg_err_set(err, rc, "journal record longer than %u bytes", SG_STATE_MAX_LINE);
    return SG_OK;
}

/* ---- replay ----------------------------------------------------------------------- */

void sg_journal_replay_init(struct sg_journal_replay *r, const char *path, sg_journal_line_fn fn,
                            void *ctx)
{
    memset(r, 0, sizeof(*r));
    r->path = path;
    r->fn = fn;
    r->ctx = ctx;
    sg_buf_init(&r->line, SG_STATE_MAX_LINE);
}

void sg_journal_replay_cleanup(struct sg_journal_replay *r)
{
    sg_buf_cleanup(&r->line);
}

static int corrupt(struct sg_journal_replay *r, struct sg_err *err)
{
    r->rc = sg_err_set_linecol(err, SG_ESTATE, r->path, (uint32_t)r->bad_line, r->bad_col,
                               "%s (the journal is damaged before its last line; refusing to "
                               "guess)",
                               r->bad_msg);
    return r->rc;
}

/* A complete line (without its newline) ending at offset end. */
static int complete_line(struct sg_journal_replay *r, uint64_t end, struct sg_err *err)
{
    json_error_t je;
    json_t *obj = NULL;
    int rc;

    r->line_no++;
    if (r->bad_pending)
        return corrupt(r, err);
    if (r->overlong) {
        snprintf(r->bad_msg, sizeof(r->bad_msg), "line longer than %u bytes", SG_STATE_MAX_LINE);
        r->bad_col = 1;
    } else {
        obj = json_loadb(r->line.data ? r->line.data : "", r->line.len, 0, &je);
        if (!obj) {
            snprintf(r->bad_msg, sizeof(r->bad_msg), "invalid journal line: %s", je.text);
            r->bad_col = (uint32_t)(je.column > 0 ? je.column : 1);
        } else if (!json_is_object(obj)) {
            snprintf(r->bad_msg, sizeof(r->bad_msg), "invalid journal line: not a JSON object");
            r->bad_col = 1;
            json_decref(obj);
            obj = NULL;
        }
    }
    sg_buf_reset(&r->line);
    r->overlong = false;
    if (!obj) {
        r->bad_pending = true;
        r->bad_line = r->line_no;
        return SG_OK;
    }
    rc = r->fn(r->ctx, obj, r->line_no, err);
    json_decref(obj);
    if (rc != SG_OK) {
        r->rc = rc;
        return rc;
    }
    r->good = end + 1;
    return SG_OK;
}

int sg_journal_replay_feed(struct sg_journal_replay *r, const char *data, size_t len,
                           struct sg_err *err)
{
    size_t i = 0;

    if (r->rc != SG_OK)
        return r->rc;
    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (data + i)) : len - i;

        /* data after an invalid complete line: the bad line was not the last */
        if (r->bad_pending)
            return corrupt(r, err);
        if (!r->overlong) {
            int rc = sg_buf_append(&r->line, data + i, n);
            if (rc == SG_ELIMIT)
                r->overlong = true;
            else if (rc != SG_OK)
                return r->rc = sg_err_set(err, SG_ENOMEM, "%s: out of memory", r->path);
        }
        r->off += n;
        i += n;
        if (nl) {
            int rc = complete_line(r, r->off, err);
            r->off++;
            i++;
            if (rc != SG_OK)
                return rc;
        }
    }
    return SG_OK;
}

int sg_journal_replay_finish(struct sg_journal_replay *r, uint64_t *cut, struct sg_err *err)
{
    (void)err;
    if (r->rc != SG_OK)
        return r->rc;
    *cut = r->off - r->good;
    return SG_OK;
}

/* ---- files -------------------------------------------------------------------------- */

int sg_journal_open(struct sg_journal *j, const char *path, sg_journal_line_fn fn, void *ctx,
                    uint64_t *cut, size_t *lines, struct sg_err *err)
{
    struct sg_journal_replay r;
    char chunk[READ_CHUNK];
    struct stat st;
    bool created;
    int rc = SG_OK;

    memset(j, 0, sizeof(*j));
    j->fd = -1;
    *cut = 0;
    *lines = 0;
    j->path = sg_strdup(path);
    if (!j->path)
        return sg_err_set(err, SG_ENOMEM, "%s: out of memory", path);
    created = stat(path, &st) != 0;
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        rc = sg_err_set_cause(err, SG_ESTATE, errno, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (created && (rc = sg_fs_sync_dir(path, err)) != SG_OK) {
        rc = SG_ESTATE;
        goto out;
    }
    sg_journal_replay_init(&r, path, fn, ctx);
    for (;;) {
        ssize_t n = pread(j->fd, chunk, sizeof(chunk), (off_t)r.off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = sg_err_set_cause(err, SG_ESTATE, errno, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        rc = sg_journal_replay_feed(&r, chunk, (size_t)n, err);
        if (rc != SG_OK)
            break;
    }
    if (rc == SG_OK)
        rc = sg_journal_replay_finish(&r, cut, err);
    *lines = r.line_no - (r.bad_pending ? 1 : 0);
    j->size = r.good;
    sg_journal_replay_cleanup(&r);
    if (rc != SG_OK)
        goto out;
    if (*cut > 0) {
        /* the torn tail of a crashed write: nothing in it was ever reported written */
        if (ftruncate(j->fd, (off_t)j->size) != 0 || fdatasync(j->fd) != 0) {
            rc = sg_err_set_cause(err, SG_ESTATE, errno, "%s: cutting a torn last line: %s", path,
                                  strerror(errno));
            goto out;
        }
    }
out:
    if (rc != SG_OK)
        sg_journal_close(j);
    return rc;
}

int sg_journal_append(struct sg_journal *j, const char *line, size_t len, struct sg_err *err)
{
    struct sg_err e;
    char *buf;
    int rc;

    if (j->fd < 0 || j->broken)
        return sg_err_set(err, SG_ESTATE, "%s: the journal cannot be written any more", j->path);
    if (len >= SG_STATE_MAX_LINE || memchr(line, '\n', len))
        return sg_err_set(err, SG_EINVAL, "%s: record too long or not one line", j->path);
    buf = sg_malloc(len + 1);
    if (!buf)
        return sg_err_set(err, SG_ENOMEM, "%s: out of memory", j->path);
    memcpy(buf, line, len);
    buf[len] = '\n';
    sg_err_clear(&e);
    rc = sg_fs_write_full(j->fd, buf, len + 1, &e);
    sg_free(buf);
    if (rc == SG_OK && fdatasync(j->fd) != 0) {
        rc = SG_EIO;
        sg_err_set_cause(&e, SG_EIO, errno, "fdatasync: %s", strerror(errno));
    }
    if (rc != SG_OK) {
        j->broken = true;
        /* never leave half a line in front of the next one */
        if (ftruncate(j->fd, (off_t)j->size) == 0)
            (void)fdatasync(j->fd);
        return sg_err_set_cause(err, SG_ESTATE, e.cause, "%s: journal write failed: %s", j->path,
                                e.msg);
    }
    j->size += len + 1;
    return SG_OK;
}

void sg_journal_close(struct sg_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    sg_free(j->path);
    j->path = NULL;
}
