/* include/stopgate/state.h - the state directory: lock, per-release state
 * documents, the audit journal and the notification outbox.
 *
 * Layout of state_dir:
 *   lock                 flock'd by the one process that owns the dir
 *   releases/NAME.json   per-release state, replaced atomically (tmp,
 *                        fsync, rename, fsync dir); other kinds of
 *                        documents (e.g. plans/NAME.json) likewise
 *   audit.jsonl          append-only, one JSON object per line, fdatasync'd
 *                        per line before the call returns
 *   outbox.jsonl         notifications: {"op":"add",...} when queued,
 *                        {"op":"done",...} once delivered (or given up);
 *                        compacted on open
 *
 * Durability and replay. A line is only reported written once it is on
 * disk. On open both journals are replayed: a torn last line (no newline,
 * or not valid JSON - a crash in the middle of a write) is cut off and
 * reported in sg_state_info, as Redis does with aof-load-truncated; an
 * invalid line anywhere else is corruption and the open fails with
 * "FILE:LINE:COL: message". A write that fails (disk full, I/O error)
 * truncates the file back to its last complete line and marks the
 * journal broken: every later append fails with SG_ESTATE until the
 * process restarts. The daemon treats that as fatal (SPEC: it stops acting
 * and exits 1).
 *
 * Idempotency: an `action` audit line carries a key, and there is at most
 * one action line per key, ever (replayed from the journal on open).
 * Callers write the action line before running the action, so after a
 * crash an action is never run twice.
 */
#ifndef SG_STATE_H
#define SG_STATE_H

#include <jansson.h>
#include <stdint.h>

#include "stopgate/base.h"
#include "stopgate/err.h"
#include "stopgate/labels.h"

#define SG_STATE_MAX_LINE (1u << 20) /* longest journal line read or written */

struct sg_state;

enum {
    /* Open without the lock and without journals: documents only (for
     * commands that run beside the daemon, e.g. preflight writing a plan).
     * Journal calls then fail with SG_ESTATE. */
    SG_STATE_SHARED = 1u << 0,
};

struct sg_state_info {
    size_t audit_lines;       /* complete lines replayed */
    size_t audit_actions;     /* distinct action keys */
    uint64_t audit_cut_bytes; /* bytes of a torn last line cut off (0: none) */
    size_t outbox_pending;
    size_t outbox_done; /* entries completed (dropped by compaction) */
    uint64_t outbox_cut_bytes;
};

/* Create the directory (0700) if needed, take the lock (unless
 * SG_STATE_SHARED), replay the journals. info may be NULL.
 * SG_ESTATE: locked by another process, unreadable, corrupt journal (with
 * FILE:LINE:COL), unwritable. Close with sg_state_close. */
SG_NODISCARD int sg_state_open(const char *dir, unsigned flags, struct sg_state **out,
                               struct sg_state_info *info, struct sg_err *err);
/* Releases the lock. NULL is a no-op. */
void sg_state_close(struct sg_state *st);

/* True after a journal write failed (the journals refuse writes from then). */
bool sg_state_broken(const struct sg_state *st);

/* ---- documents --------------------------------------------------------------- */

/* Replace DIR/KIND/NAME.json with doc (borrowed), atomically and durably.
 * kind and name: [a-z0-9._-], not starting with '.', at most 128 bytes
 * (release names qualify). SG_EINVAL for bad names, SG_ESTATE for I/O. */
SG_NODISCARD int sg_state_save_doc(struct sg_state *st, const char *kind, const char *name,
                                   const json_t *doc, struct sg_err *err);
/* Read it back: *out is a new reference (caller json_decref's), or NULL
 * with SG_OK when there is no such document. SG_ESTATE with the position
 * for an unreadable or invalid file. */
SG_NODISCARD int sg_state_load_doc(struct sg_state *st, const char *kind, const char *name,
                                   json_t **out, struct sg_err *err);
/* Per-release state: kind "releases". */
SG_NODISCARD int sg_state_save_release(struct sg_state *st, const char *release, const json_t *doc,
                                       struct sg_err *err);
SG_NODISCARD int sg_state_load_release(struct sg_state *st, const char *release, json_t **out,
                                       struct sg_err *err);

/* ---- audit journal ------------------------------------------------------------- */

enum sg_audit_event {
    SG_AUDIT_WAVE_START = 0,
    SG_AUDIT_WAVE_END,
    SG_AUDIT_TRIP,
    SG_AUDIT_RESOLVE,
    SG_AUDIT_ACTION,
    SG_AUDIT_ACTION_RESULT,
    SG_AUDIT_NOTIFY,
    SG_AUDIT_RESUME,
    SG_AUDIT_ERROR,
};

/* "wave_start", "wave_end", "trip", ... */
const char *sg_audit_event_name(enum sg_audit_event e);

/* One audit record. Unset optional fields are left out of the line.
 * Strings need not be valid UTF-8 (invalid bytes become U+FFFD). */
struct sg_audit {
    int64_t ts_ms; /* 0: now */
    enum sg_audit_event event;
    const char *release; /* required */
    const char *alertname;
    const struct sg_labels *labels; /* written as an object */
    const char *query;
    bool has_value;
    double value; /* a JSON number; NaN/Inf as "NaN", "+Inf", "-Inf" */
    bool has_revision;
    int64_t revision;
    const char *action; /* "pause", "rollback", "resume", "notify", ... */
    const char *key;    /* idempotency key; required for SG_AUDIT_ACTION */
    bool has_dry_run;
    bool dry_run;
    const char *const *argv; /* NULL-terminated */
    bool has_exit_status;
    int64_t exit_status;
    const json_t *extra; /* borrowed object: further fields (reason, error, output, ...) */
};

/* Append one line and fdatasync it. For SG_AUDIT_ACTION the key must be
 * new: a key already journaled is SG_ESTATE ("already acted") and nothing
 * is written. SG_ESTATE also when the journal is broken or cannot be
 * written (then it is broken from now on); SG_EINVAL for a record without
 * release (or an action without key). */
SG_NODISCARD int sg_state_audit(struct sg_state *st, const struct sg_audit *rec,
                                struct sg_err *err);

/* Has an action line with this key been written (now or in an earlier
 * run)? */
bool sg_state_has_action(const struct sg_state *st, const char *key);

/* Render a record as its journal line (without the newline) into out;
 * exposed for tests and for logging. */
SG_NODISCARD int sg_state_audit_format(const struct sg_audit *rec, struct sg_buf *out,
                                       struct sg_err *err);

/* ---- notification outbox --------------------------------------------------------- */

struct sg_outbox_entry {
    uint64_t id;   /* increasing, never reused in one state dir */
    int64_t ts_ms; /* when it was queued */
    const char *notifier;
    json_t *payload; /* owned by the state; borrowed by callers */
};

/* Queue a notification for `notifier` (its name). payload (borrowed) is
 * stored as is. *id receives the entry's id. The line is on disk when
 * this returns. SG_ESTATE as for sg_state_audit. */
SG_NODISCARD int sg_state_outbox_add(struct sg_state *st, const char *notifier,
                                     const json_t *payload, uint64_t *id, struct sg_err *err);

/* Mark an entry finished: result "delivered" or "dropped" (gave up). After
 * this returns it is never handed out again, in this run or after a
 * restart. Unknown ids are SG_EINVAL. */
SG_NODISCARD int sg_state_outbox_done(struct sg_state *st, uint64_t id, const char *result,
                                      struct sg_err *err);

/* The pending entries, oldest first. The array and entries are valid until
 * the next outbox call. */
size_t sg_state_outbox_pending(const struct sg_state *st, const struct sg_outbox_entry **out);

#endif
