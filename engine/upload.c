/*
 * upload.c - one file to the remote, resume-aware. See upload.h.
 */
#define _GNU_SOURCE
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connect.h"
#include "run_ctx.h"

/* The local file being sent, as the transport's rsl_source. */
typedef struct src_ud {
    rsl_run *r;
    int fd;
    uint64_t pos, total;
    int64_t sent;
    const char *path;
} src_ud;

/* One file's upload across its attempts. */
typedef struct file_up {
    rsl_uploader *u;
    const rsl_item *it;
    char full[PATH_MAX * 2]; /* local path */
    char tmp[PATH_MAX * 2];  /* remote temp name */
    struct stat sb;          /* the local file as opened */
    uint64_t size;
    int64_t mtime_ns;
    int record_ok; /* an upload record describes this version of the file */
    src_ud su;
    rsl_source src;
    rsl_file_result *res;
} file_up;

static rsl_code interrupted(rsl_err *err, const char *path)
{
    return rsl_err_set(err, RSL_E_INTERRUPTED, 0, "'%s': interrupted; the upload resumes next run",
                       path);
}

/* Waits for the bandwidth budget; returns the (possibly smaller) read size. */
static size_t throttled(rsl_run *r, size_t n)
{
    if (r->bw.rate == 0)
        return n;
    n = rsl_throttle_slice(&r->bw, n);
    double wait = rsl_throttle_reserve(&r->bw, n, rsl_run_mono());
    if (wait > 0)
        rsl_run_sleep(r, wait);
    return n;
}

/* rsl_source.read: the next bytes from the current position. */
static ssize_t src_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    src_ud *u = s->ud;
    if (rsl_run_cancelled(u->r))
        return interrupted(err, u->path), -1;
    if (u->pos >= u->total)
        return 0;
    if (n > u->total - u->pos)
        n = (size_t)(u->total - u->pos);
    n = throttled(u->r, n);
    if (rsl_run_cancelled(u->r))
        return interrupted(err, u->path), -1;
    ssize_t got;
    do {
        got = read(u->fd, buf, n);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "'%s': read failed: %s", u->path,
                    strerror(errno));
        return -1;
    }
    if (got == 0) {
        rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                    "'%s': the file shrank while it was being uploaded (at byte %llu of %llu)",
                    u->path, (unsigned long long)u->pos, (unsigned long long)u->total);
        return -1;
    }
    u->pos += (uint64_t)got;
    u->sent += got;
    __atomic_add_fetch(&u->r->bytes_done, got, __ATOMIC_RELAXED);
    return got;
}

/* rsl_source.pread: random access for a transport's tail check. */
static ssize_t src_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    src_ud *u = s->ud;
    ssize_t got = pread(u->fd, buf, n, (off_t)off);
    if (got < 0)
        rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "'%s': read failed: %s", u->path,
                    strerror(errno));
    return got;
}

/* Opens the local file without following a symlink the scan did not follow.
 * Returns the fd, or -1 with err set (VANISHED, TYPE_CHANGED, UNREADABLE). */
static int open_local(const file_up *f, rsl_err *err)
{
    const rsl_item *it = f->it;
    int fd = open(f->full, O_RDONLY | O_CLOEXEC | (it->followed ? 0 : O_NOFOLLOW));
    if (fd >= 0)
        return fd;
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
        rsl_err_set(err, RSL_E_LOCAL_VANISHED, e, "'%s' vanished between the scan and its upload",
                    it->path);
    else if (e == ELOOP)
        rsl_err_set(err, RSL_E_TYPE_CHANGED, e, "'%s' became a symbolic link", it->path);
    else
        rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, e, "'%s' cannot be opened: %s", it->path,
                    strerror(e));
    return -1;
}

/* After the last byte: the local file is still the one we opened, unchanged. */
static rsl_code local_unchanged(const file_up *f, rsl_err *err)
{
    struct stat a, b;
    const struct stat *sb = &f->sb;
    if (stat(f->full, &b) != 0)
        return rsl_err_set(err, RSL_E_LOCAL_VANISHED, errno,
                           "'%s' was deleted while it was being uploaded", f->it->path);
    if (fstat(f->su.fd, &a) != 0 || (uint64_t)a.st_size != f->size ||
        a.st_mtim.tv_sec != sb->st_mtim.tv_sec || a.st_mtim.tv_nsec != sb->st_mtim.tv_nsec ||
        b.st_ino != sb->st_ino)
        return rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0, "'%s' changed while it was being uploaded",
                           f->it->path);
    return RSL_OK;
}

/* Where this attempt starts. A resumable file (big enough, and the
 * connection can resume) continues from what the remote kept when its upload
 * record matches; a fresh start removes any old temp and makes the record
 * durable first, so a record never describes bytes of another version. */
static rsl_code start_offset(file_up *f, uint64_t *offset, rsl_err *err)
{
    rsl_uploader *u = f->u;
    const rsl_transport_ops *ops = u->r->ops;
    *offset = 0;
    if (f->size < RSL_RESUME_MIN || !(ops->caps_of(u->conn) & RSL_CAP_RESUME))
        return RSL_OK; /* restarts from zero: no record, no temp to clear */
    rsl_code rc = RSL_OK;
    if (f->record_ok)
        rc = ops->resume_offset(u->conn, f->tmp, f->size, &f->src, offset, err);
    if (rc != RSL_OK)
        return rc;
    if (*offset > 0) {
        rsl_run_log(u->r, RSL_LOG_INFO, "'%s': resuming at byte %llu of %llu", f->it->path,
                    (unsigned long long)*offset, (unsigned long long)f->size);
        return RSL_OK;
    }
    if ((rc = ops->remove(u->conn, f->tmp, 0, err)) == RSL_OK && !f->record_ok) {
        u->record_begin(u->ud, f->it, f->size, f->mtime_ns);
        f->record_ok = 1;
        f->res->upload_recorded = 1;
    }
    return rc;
}

/* One attempt: start point, bytes, local check, finish. *fatal is set when
 * the error ends the item without a reconnect (a local problem). */
static rsl_code attempt(file_up *f, int *fatal, rsl_err *err)
{
    rsl_uploader *u = f->u;
    const rsl_transport_ops *ops = u->r->ops;
    uint64_t offset = 0;
    rsl_code rc = start_offset(f, &offset, err);
    if (rc != RSL_OK)
        return rc;
    *fatal = 1;
    if (lseek(f->su.fd, (off_t)offset, SEEK_SET) < 0)
        return rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "'%s': seek failed: %s", f->it->path,
                           strerror(errno));
    *fatal = 0;
    f->su.pos = offset;
    if ((rc = ops->upload(u->conn, f->tmp, offset, f->size, &f->src, err)) != RSL_OK)
        return rc;
    if ((rc = local_unchanged(f, err)) != RSL_OK) {
        *fatal = 1;
        return rc;
    }
    return ops->finish(u->conn, f->tmp, f->it->path, f->size, (int64_t)f->sb.st_mtim.tv_sec, err);
}

/* Attempts until done, or the error is not one a reconnect fixes, or the
 * policy's attempts are used up. Returns the last attempt's code. */
static rsl_code attempts(file_up *f, rsl_err *err)
{
    rsl_uploader *u = f->u;
    rsl_run *r = u->r;
    rsl_code rc = RSL_OK;
    int n = 0;
    for (;;) {
        int fatal = 0;
        n++;
        rc = attempt(f, &fatal, err);
        if (rc == RSL_OK || fatal || !rsl_retry_reconnects(rc) || n >= r->retry.max_attempts ||
            rsl_run_cancelled(r))
            break;
        rsl_run_log(r, RSL_LOG_WARN, "'%s': %s; reconnecting to resume", f->it->path, err->msg);
        if (rsl_connect_again(r, &u->conn, &u->dead_err) != RSL_OK) {
            u->dead = 1;
            break;
        }
    }
    f->res->attempts = n;
    f->res->bytes_sent = f->su.sent;
    return rc;
}

void rsl_upload_file(rsl_uploader *u, const rsl_item *it, rsl_file_result *res)
{
    file_up f = {.u = u, .it = it, .res = res};
    rsl_run *r = u->r;
    rsl_err err;
    rsl_err_clear(&err);
    snprintf(f.full, sizeof(f.full), "%s/%s", r->job->source, it->path);
    snprintf(f.tmp, sizeof(f.tmp), "%s%s", it->path, r->job->temp_suffix);
    int fd = open_local(&f, &err);
    rsl_code rc = err.code;
    if (fd < 0)
        goto done;
    if (fstat(fd, &f.sb) != 0 || !S_ISREG(f.sb.st_mode)) {
        rc = rsl_err_set(&err, RSL_E_TYPE_CHANGED, 0, "'%s' is no longer a regular file", it->path);
        goto done;
    }
    f.size = (uint64_t)f.sb.st_size;
    f.mtime_ns = (int64_t)f.sb.st_mtim.tv_sec * 1000000000LL + f.sb.st_mtim.tv_nsec;
    res->size = f.size;
    res->mtime_ns = f.mtime_ns;
    if ((rc = rsl_validate(&r->limits, it->path, 0, f.size, &err)) != RSL_OK)
        goto done;
    f.su = (src_ud){.r = r, .fd = fd, .total = f.size, .path = it->path};
    f.src = (rsl_source){.read = src_read, .pread = src_pread, .ud = &f.su};
    f.record_ok = it->upload_rec_matches && it->size == f.size && it->mtime_ns == f.mtime_ns;
    rc = attempts(&f, &err);
done:
    if (fd >= 0)
        close(fd);
    res->code = rc;
    if (rc != RSL_OK)
        snprintf(res->msg, sizeof(res->msg), "%s", err.msg);
}
