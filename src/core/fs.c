/* src/core/fs.c - capped reads, atomic durable writes, directory locks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stopgate/fs.h"

int sg_fs_read_all(const char *path, size_t max_bytes, struct sg_buf *out, struct sg_err *err)
{
    char chunk[65536];
    size_t total = 0;
    int fd, rc = SG_OK;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sg_err_set_cause(err, SG_EIO, errno, "%s: %s", path, strerror(errno));
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = sg_err_set_cause(err, SG_EIO, errno, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        total += (size_t)n;
        if (total > max_bytes) {
            rc = sg_err_set(err, SG_ELIMIT, "%s: file larger than %zu bytes", path, max_bytes);
            break;
        }
        rc = sg_buf_append(out, chunk, (size_t)n);
        if (rc != SG_OK) {
            rc = sg_err_set(err, rc, "%s: %s", path,
                            rc == SG_ELIMIT ? "file too large" : "out of memory");
            break;
        }
    }
    close(fd);
    return rc;
}

int sg_fs_write_full(int fd, const void *data, size_t len, struct sg_err *err)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return sg_err_set_cause(err, SG_EIO, errno, "write: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return SG_OK;
}

int sg_fs_sync_dir(const char *path, struct sg_err *err)
{
    char dir[4096];
    struct stat st;
    const char *slash;
    int fd;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(dir, sizeof(dir), "%s", path);
    } else {
        slash = strrchr(path, '/');
        if (!slash)
            snprintf(dir, sizeof(dir), ".");
        else if (slash == path)
            snprintf(dir, sizeof(dir), "/");
        else
            snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sg_err_set_cause(err, SG_EIO, errno, "%s: %s", dir, strerror(errno));
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return sg_err_set_cause(err, SG_EIO, e, "fsync %s: %s", dir, strerror(e));
    }
    close(fd);
    return SG_OK;
}

int sg_fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                       struct sg_err *err)
{
    char tmp[4096];
    int fd, rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
        return sg_err_set(err, SG_EINVAL, "%s: path too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return sg_err_set_cause(err, SG_EIO, errno, "%s: %s", tmp, strerror(errno));
    rc = sg_fs_write_full(fd, data, len, err);
    if (rc == SG_OK && fsync(fd) != 0)
        rc = sg_err_set_cause(err, SG_EIO, errno, "fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == SG_OK)
        rc = sg_err_set_cause(err, SG_EIO, errno, "close %s: %s", tmp, strerror(errno));
    if (rc == SG_OK && rename(tmp, path) != 0)
        rc = sg_err_set_cause(err, SG_EIO, errno, "rename %s: %s", path, strerror(errno));
    if (rc != SG_OK) {
        unlink(tmp);
        return rc;
    }
    return sg_fs_sync_dir(path, err);
}

int sg_fs_mkdir_p(const char *path, unsigned mode, struct sg_err *err)
{
    char p[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(p))
        return sg_err_set(err, SG_EINVAL, "invalid directory path");
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST)
                return sg_err_set_cause(err, SG_EIO, errno, "mkdir %s: %s", p, strerror(errno));
            p[i] = c;
        }
    }
    return SG_OK;
}

int sg_fs_lock_dir(const char *dir, int *fd_out, struct sg_err *err)
{
    char path[4096];
    int fd;

    if ((size_t)snprintf(path, sizeof(path), "%s/lock", dir) >= sizeof(path))
        return sg_err_set(err, SG_EINVAL, "%s: path too long", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return sg_err_set_cause(err, SG_ESTATE, errno, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return sg_err_set_cause(err, SG_ESTATE, e,
                                    "%s: state directory is locked by another stopgate process",
                                    dir);
        return sg_err_set_cause(err, SG_ESTATE, e, "lock %s: %s", path, strerror(e));
    }
    *fd_out = fd;
    return SG_OK;
}

void sg_fs_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

char *sg_fs_resolve(const char *base_file, const char *path)
{
    const char *slash;
    size_t dlen, plen;
    char *out;

    if (path[0] == '/' || !base_file || !(slash = strrchr(base_file, '/')))
        return sg_strdup(path);
    dlen = (size_t)(slash - base_file) + 1;
    plen = strlen(path);
    out = sg_malloc(dlen + plen + 1);
    if (!out)
        return NULL;
    memcpy(out, base_file, dlen);
    memcpy(out + dlen, path, plen + 1);
    return out;
}

bool sg_fs_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}
