/* include/stopgate/fs.h - the file operations stopgate needs, done safely.
 *
 * Reads are capped. Writes that must survive a crash go through
 * sg_fs_write_atomic (temporary file, fsync, rename, fsync of the
 * directory). A directory lock keeps two processes off one state dir.
 */
#ifndef SG_FS_H
#define SG_FS_H

#include <stddef.h>

#include "stopgate/base.h"
#include "stopgate/err.h"

/* Read the whole file into `out` (appended). More than max_bytes is
 * SG_ELIMIT; a missing or unreadable file is SG_EIO naming the path. */
SG_NODISCARD int sg_fs_read_all(const char *path, size_t max_bytes, struct sg_buf *out,
                                struct sg_err *err);

/* Replace `path` with `data` atomically and durably: write PATH.tmp.PID,
 * fsync it, rename over path, fsync the directory. `mode` for a new file. */
SG_NODISCARD int sg_fs_write_atomic(const char *path, const void *data, size_t len,
                                    unsigned mode, struct sg_err *err);

/* Write all of data to fd (retrying short writes and EINTR). */
SG_NODISCARD int sg_fs_write_full(int fd, const void *data, size_t len, struct sg_err *err);

/* fsync the directory that holds path (or path itself if it is a dir). */
SG_NODISCARD int sg_fs_sync_dir(const char *dir, struct sg_err *err);

/* mkdir -p with `mode` for the directories it creates. */
SG_NODISCARD int sg_fs_mkdir_p(const char *path, unsigned mode, struct sg_err *err);

/* Take an exclusive, non-blocking lock on DIR/lock (created if needed).
 * *fd_out holds the lock until sg_fs_unlock. SG_ESTATE when another
 * process holds it. */
SG_NODISCARD int sg_fs_lock_dir(const char *dir, int *fd_out, struct sg_err *err);
void sg_fs_unlock(int fd);

/* Resolve `path` relative to the directory of `base_file` (absolute paths
 * are returned unchanged). The result is allocated with sg_malloc; NULL on
 * out of memory. */
char *sg_fs_resolve(const char *base_file, const char *path);

/* True when path names an existing regular file or directory. */
bool sg_fs_exists(const char *path);

#endif
