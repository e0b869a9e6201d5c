/* src/state/state_int.h - journals (append-only JSON-lines files) shared by
 * state.c. Private to src/state/ (and the journal fuzz target).
 *
 * Replay is a streaming reader: bytes go in with sg_journal_replay_feed,
 * complete lines are parsed and handed to a callback, and
 * sg_journal_replay_finish decides what a trailing incomplete or invalid
 * line means. The rule: only the last line may be bad (a torn write);
 * a bad line followed by anything is corruption.
 */
#ifndef SG_STATE_INT_H
#define SG_STATE_INT_H

#include <jansson.h>
#include <stdint.h>

#include "stopgate/state.h"

/* Called for every complete, valid line (a JSON object). obj is borrowed.
 * A non-OK return stops the replay with that error. */
typedef int (*sg_journal_line_fn)(void *ctx, json_t *obj, size_t line_no, struct sg_err *err);

struct sg_journal_replay {
    const char *path; /* for messages */
    sg_journal_line_fn fn;
    void *ctx;
    struct sg_buf line; /* the line being assembled */
    bool overlong;      /* it passed SG_STATE_MAX_LINE */
    size_t line_no;     /* lines seen, complete ones */
    uint64_t off;       /* bytes fed so far */
    uint64_t good;      /* end of the last valid line */
    bool bad_pending;   /* the last complete line was invalid */
    size_t bad_line;
    uint32_t bad_col;
    char bad_msg[200];
    int rc; /* first error */
};

void sg_journal_replay_init(struct sg_journal_replay *r, const char *path, sg_journal_line_fn fn,
                            void *ctx);
/* SG_OK, or the error that stopped the replay (also in err). */
int sg_journal_replay_feed(struct sg_journal_replay *r, const char *data, size_t len,
                           struct sg_err *err);
/* End of input. *cut: bytes after the last valid line that are a torn
 * tail to be cut off (0 when the file ends cleanly). */
int sg_journal_replay_finish(struct sg_journal_replay *r, uint64_t *cut, struct sg_err *err);
void sg_journal_replay_cleanup(struct sg_journal_replay *r);

struct sg_journal {
    int fd; /* O_APPEND; -1 when closed */
    char *path;
    uint64_t size; /* end of the last complete line */
    bool broken;
};

/* Open (creating) path, replay it through fn, cut a torn tail, leave the
 * file open for appending. Cut bytes in *cut, complete lines in *lines. */
int sg_journal_open(struct sg_journal *j, const char *path, sg_journal_line_fn fn, void *ctx,
                    uint64_t *cut, size_t *lines, struct sg_err *err);
/* Append line + '\n' with one write and fdatasync. On failure: truncate
 * back, mark broken, SG_ESTATE. */
int sg_journal_append(struct sg_journal *j, const char *line, size_t len, struct sg_err *err);
void sg_journal_close(struct sg_journal *j);

/* Compact JSON of obj into out (invalid UTF-8 cannot occur: strings are
 * built with sg_state__json_str). */
int sg_state__dump(const json_t *obj, struct sg_buf *out, struct sg_err *err);
/* A JSON string from bytes that may not be valid UTF-8 (bad bytes become
 * U+FFFD). NULL only when out of memory. */
json_t *sg_state__json_str(const char *s, size_t len);

#endif
