/* include/stopgate/proc.h - run a child process on the daemon's libuv loop.
 *
 * A child gets an argv (never a shell), an explicit environment (nothing is
 * inherited), /dev/null as stdin, and its stdout and stderr captured into
 * buffers capped at max_output bytes each (the rest is read and dropped, and
 * the result says so). A timeout sends SIGTERM, and kill_grace_ms later
 * SIGKILL. Once the child has exited, pipes still held open by a grandchild
 * are closed after drain_ms so that such a grandchild cannot stall the
 * daemon.
 *
 * Contract (libuv's): the completion callback runs exactly once, after every
 * handle of the child is closed, and never from inside sg_proc_run. A child
 * that cannot be spawned (missing executable, permission) also completes
 * through the callback. sg_proc_run itself fails only before anything was
 * started (bad options, out of memory), and then the callback is not called.
 */
#ifndef SG_PROC_H
#define SG_PROC_H

#include <stdint.h>
#include <uv.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

#define SG_PROC_DEFAULT_MAX_OUTPUT (1u << 20)

struct sg_proc;

struct sg_proc_opts {
    const char *file;        /* the program: a path (use sg_proc_find_executable for names) */
    const char *const *argv; /* NULL-terminated; argv[0] is what the child sees as its name */
    const char *const *env;  /* "NAME=value" entries, NULL-terminated; NULL: an empty env */
    const char *cwd;         /* NULL: the daemon's */
    uint64_t timeout_ms;     /* 0: no timeout */
    uint64_t kill_grace_ms;  /* SIGTERM -> SIGKILL; 0: 5000 */
    uint64_t drain_ms;       /* after exit, wait this long for pipes; 0: 1000 */
    size_t max_output;       /* per stream; 0: SG_PROC_DEFAULT_MAX_OUTPUT */
};

struct sg_proc_result {
    int64_t exit_status; /* as exit(2) got it; -1 when the child never ran */
    int term_signal;     /* the signal that ended it, 0 if none */
    int pid;             /* 0 when the child never ran */
    bool spawned;        /* false: the program could not be started */
    bool timed_out;      /* the timeout fired (SIGTERM was sent) */
    bool killed;         /* SIGKILL was sent after the grace period */
    bool canceled;       /* sg_proc_cancel was called */
    bool out_truncated, err_truncated;
    int64_t duration_ms;    /* spawn to exit (or to giving up on the child) */
    struct sg_buf out, err; /* captured output, NUL-terminated */
};

/* res: always given; borrowed for the callback only (the buffers are freed
 * after it returns; sg_buf_steal them to keep them).
 * err: NULL when the child exited with status 0; otherwise why not:
 *      SG_ECHILD (could not be spawned, non-zero exit, killed by a signal),
 *      SG_ETIMEDOUT (timed out), SG_ECANCELED (canceled); the message names
 *      the program. */
typedef void (*sg_proc_done_cb)(struct sg_proc_result *res, const struct sg_err *err, void *arg);

/* Start a child. opts and everything it points to are copied; they need not
 * outlive the call. *out (may be NULL) receives a handle for
 * sg_proc_cancel, valid until the callback returns.
 * Errors (no callback then): SG_EINVAL (no file or argv), SG_ENOMEM. */
SG_NODISCARD int sg_proc_run(uv_loop_t *loop, const struct sg_proc_opts *opts, sg_proc_done_cb done,
                             void *arg, struct sg_proc **out, struct sg_err *err);

/* Stop a running child: SIGTERM now, SIGKILL after the grace period. The
 * callback still runs once, with SG_ECANCELED. A no-op after the child has
 * exited. */
void sg_proc_cancel(struct sg_proc *p);

/* Look a program name up the way execvp does: a name with a '/' is used as
 * is, otherwise each directory of `path` (a PATH-style list; NULL: the
 * environment's PATH) is tried. The result (sg_malloc'd, caller frees) names
 * an executable regular file. SG_ENOTFOUND naming the program otherwise. */
SG_NODISCARD int sg_proc_find_executable(const char *name, const char *path, char **out,
                                         struct sg_err *err);

/* Build an environment from an allow-list: for each name in `names` that
 * the daemon's environment has, "NAME=value"; then each entry of `extra`
 * ("NAME=value", overriding an allowed one of the same name). The array and
 * strings live in the arena; the array is NULL-terminated. */
SG_NODISCARD int sg_proc_env_build(const char *const *names, size_t names_count,
                                   const char *const *extra, size_t extra_count, struct sg_arena *a,
                                   const char *const **out, struct sg_err *err);

#endif
