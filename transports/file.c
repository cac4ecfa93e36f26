/*
 * file.c - the file:// transport. See file.h.
 *
 * All calls are relative to a directory fd opened on the remote root at
 * connect time, so a root that is replaced or unmounted mid-run is not
 * silently written beside, and every path is resolved beneath that root
 * with no symbolic link followed in any component (base/beneath.h): a
 * symlink planted in the destination tree cannot make a run write, rename
 * or delete outside it. Such a link is a type conflict for the item.
 *
 * New files get src->mode and directories the mode set_mode() gives them,
 * narrowed by the process umask, as open(2) and mkdir(2) would.
 */
#define _GNU_SOURCE
#include "file.h"

#include "base/beneath.h"
#include "resume_sample.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct rsl_conn {
    int rootfd;
    char *root;
    mode_t umask; /* the process umask, read once at connect */
};

#define FILE_BUFSZ (1u << 20)
/* Blocks a range check compares past the first (the last one included). */
#define RANGE_SAMPLES 8

/* Maps an errno from a remote-side operation onto the catalog. */
static rsl_code map_errno(rsl_err *err, int e, const char *what, const char *rel)
{
    rsl_code c;
    switch (e) {
    case EACCES:
    case EPERM:
    case EROFS:
        c = RSL_E_REMOTE_PERMISSION;
        break;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        c = RSL_E_REMOTE_NO_SPACE;
        break;
    case ENAMETOOLONG:
    case EILSEQ:
    case EINVAL:
        c = RSL_E_REMOTE_NAME_REFUSED;
        break;
    case ENOENT:
        c = RSL_E_REMOTE_NOT_FOUND;
        break;
    case EISDIR:
    case ENOTDIR:
    case EEXIST:
        c = RSL_E_REMOTE_TYPE_CONFLICT;
        break;
    case ELOOP:
    case EXDEV:
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, e,
                           "%s '%s': a symbolic link in the remote path is not followed (remove "
                           "it from the destination)",
                           what, rel);
    case ENOTCONN:
    case ESTALE:
    case ENODEV:
        c = RSL_E_CONNECTION_LOST;
        break;
    default:
        c = RSL_E_REMOTE_IO;
        break;
    }
    return rsl_err_set(err, c, e, "%s '%s': %s", what, rel, strerror(e));
}

/* The process umask without changing it (umask(2) would race with other
 * threads): the "Umask:" line of /proc/self/status, 022 if absent. */
static mode_t read_umask(void)
{
    mode_t m = 022;
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return m;
    char line[256];
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "Umask:", 6) == 0) {
            m = (mode_t)strtoul(line + 6, NULL, 8) & 0777;
            break;
        }
    fclose(f);
    return m;
}

/* The directory holding rel, resolved beneath the root; -1 with errno. */
static int parent_of(const rsl_conn *c, const char *rel, const char **leaf)
{
    return rsl_beneath_parent(c->rootfd, rel, leaf);
}

static rsl_code parent_failed(rsl_err *err, const char *what, const char *rel)
{
    int e = errno;
    if (e == ENOENT)
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, e, "%s '%s': a parent directory is missing",
                           what, rel);
    return map_errno(err, e, what, rel);
}

static rsl_code file_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                             rsl_err *err)
{
    (void)opts;
    *out = NULL;
    int fd = open(ep->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, e,
                               "destination directory '%s' does not exist or is not a directory",
                               ep->path);
        if (e == EACCES)
            return rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, e,
                               "destination directory '%s' cannot be opened: %s", ep->path,
                               strerror(e));
        return rsl_err_set(err, RSL_E_CONNECT_REFUSED, e, "cannot open destination '%s': %s",
                           ep->path, strerror(e));
    }
    rsl_conn *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->root = strdup(ep->path)) == NULL) {
        free(c);
        close(fd);
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    }
    c->rootfd = fd;
    c->umask = read_umask();
    *out = c;
    return RSL_OK;
}

static void file_disconnect(rsl_conn *c)
{
    if (c == NULL)
        return;
    close(c->rootfd);
    free(c->root);
    free(c);
}

static unsigned file_caps_of(rsl_conn *c)
{
    (void)c;
    return RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME | RSL_CAP_SET_MODE |
           RSL_CAP_MOVE | RSL_CAP_SYMLINK | RSL_CAP_DIR_MTIME | RSL_CAP_APPEND | RSL_CAP_WRITE_AT;
}

static void file_describe(rsl_conn *c, char *buf, size_t n)
{
    snprintf(buf, n,
             "file: local directory %s; resume after sampled blocks of the temp match; atomic "
             "rename(2); mtime and permission bits set; no symlink followed inside it",
             c->root);
}

/* lstat of rel beneath the root: 1 found, 0 absent, -1 error (errno). */
static int stat_beneath(const rsl_conn *c, const char *rel, struct stat *sb)
{
    if (rel[0] == '\0')
        return fstat(c->rootfd, sb) == 0 ? 1 : -1;
    const char *leaf;
    int pfd = parent_of(c, rel, &leaf);
    if (pfd < 0)
        return errno == ENOENT ? 0 : -1;
    int r = fstatat(pfd, leaf, sb, AT_SYMLINK_NOFOLLOW);
    int e = errno;
    close(pfd);
    errno = e;
    if (r == 0)
        return 1;
    return e == ENOENT || e == ENOTDIR ? 0 : -1;
}

static rsl_code file_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    struct stat sb;
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    int r = stat_beneath(c, rel, &sb);
    if (r < 0)
        return map_errno(err, errno, "stat", rel);
    if (r == 0)
        return RSL_OK;
    st->exists = 1;
    st->is_dir = S_ISDIR(sb.st_mode);
    st->size = (uint64_t)sb.st_size;
    st->mtime = (int64_t)sb.st_mtim.tv_sec;
    return RSL_OK;
}

static rsl_code file_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    const char *leaf;
    int pfd = parent_of(c, rel, &leaf);
    if (pfd < 0)
        return parent_failed(err, "mkdir", rel);
    int r = mkdirat(pfd, leaf, 0777);
    int e = errno;
    struct stat sb;
    if (r != 0 && e == EEXIST && fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(sb.st_mode))
        r = 0;
    close(pfd);
    if (r == 0)
        return RSL_OK;
    if (e == EEXIST)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, e,
                           "mkdir '%s': a file (or a symbolic link) of that name exists on the "
                           "remote",
                           rel);
    return map_errno(err, e, "mkdir", rel);
}

static rsl_code file_set_mode(rsl_conn *c, const char *rel, uint32_t mode, rsl_err *err)
{
    int fd = rsl_beneath_open(c->rootfd, rel, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return map_errno(err, errno, "chmod", rel);
    int r = fchmod(fd, (mode_t)(mode & 07777) & ~c->umask);
    int e = errno;
    close(fd);
    return r == 0 ? RSL_OK : map_errno(err, e, "chmod", rel);
}

/* Blocks of a temp kept for a resume: the whole prefix up to 1 MiB, else
 * 16 blocks of 64 KiB spread over it (resume_sample.h). Local reads: cheap. */
#define FILE_RESUME_SAMPLES 16

/* Reads len bytes at off of fd into buf; returns the count (short at EOF)
 * or -1. */
static ssize_t read_full(int fd, unsigned char *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t k = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/* The part of the temp's `size` bytes that matches the source at sampled
 * blocks over its whole length (resume_sample.h) into *have. */
static rsl_code check_kept(int fd, const char *tmp_rel, uint64_t size, rsl_source *src,
                           uint64_t *have, rsl_err *err)
{
    rsl_resume_block blk[FILE_RESUME_SAMPLES];
    size_t n = rsl_resume_blocks(size, FILE_RESUME_SAMPLES, blk);
    unsigned char *buf = malloc(2 * (size_t)RSL_RESUME_BLOCK);
    if (buf == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    rsl_code rc = RSL_OK;
    *have = size;
    for (size_t i = 0; i < n; i++) {
        ssize_t got = read_full(fd, buf, blk[i].len, blk[i].off);
        if (got < 0) {
            rc = map_errno(err, errno, "read", tmp_rel);
            break;
        }
        int same = rsl_resume_compare(src, &blk[i], buf, (size_t)got, buf + RSL_RESUME_BLOCK, err);
        if (same < 0) {
            rc = err->code;
            break;
        }
        if (!same) {
            *have = rsl_resume_kept(blk, i);
            break;
        }
    }
    free(buf);
    return rc;
}

static rsl_code file_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                   rsl_source *src, uint64_t *have, rsl_err *err)
{
    struct stat sb;
    *have = 0;
    int r = stat_beneath(c, tmp_rel, &sb);
    if (r < 0)
        return map_errno(err, errno, "stat", tmp_rel);
    if (r == 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > total || sb.st_size == 0)
        return RSL_OK;
    if (src == NULL || src->pread == NULL)
        return RSL_OK; /* nothing to check against: nothing is kept */
    int fd = rsl_beneath_open(c->rootfd, tmp_rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return map_errno(err, errno, "open", tmp_rel);
    rsl_code rc = check_kept(fd, tmp_rel, (uint64_t)sb.st_size, src, have, err);
    close(fd);
    if (rc != RSL_OK)
        *have = 0;
    return rc;
}

/* Bytes [pos, end) of src (read in order) written into fd at their offsets;
 * *sent (when not NULL) counts them. */
static rsl_code copy_in(int fd, char *buf, rsl_source *src, uint64_t pos, uint64_t end,
                        const char *tmp_rel, uint64_t *sent, rsl_err *err)
{
    while (pos < end) {
        size_t want = end - pos < FILE_BUFSZ ? (size_t)(end - pos) : FILE_BUFSZ;
        ssize_t n = src->read(src, buf, want, err);
        if (n < 0)
            return err->code;
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = pwrite(fd, buf + off, (size_t)(n - off), (off_t)pos);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return map_errno(err, errno, "write", tmp_rel);
            }
            off += w;
            pos += (uint64_t)w;
            if (sent)
                *sent += (uint64_t)w;
        }
    }
    return RSL_OK;
}

static rsl_code file_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                            rsl_source *src, rsl_err *err)
{
    int flags = O_WRONLY | O_CREAT | (offset == 0 ? O_TRUNC : 0);
    mode_t mode = src->mode ? (mode_t)(src->mode & 07777) : 0666;
    int fd = rsl_beneath_open(c->rootfd, tmp_rel, flags, mode);
    if (fd < 0)
        return map_errno(err, errno, "open", tmp_rel);
    rsl_code rc = RSL_OK;
    char *buf = NULL;
    /* a temp left by an earlier attempt keeps its old mode: set it again */
    if (src->mode && fchmod(fd, mode & ~c->umask) != 0) {
        rc = map_errno(err, errno, "chmod", tmp_rel);
        goto done;
    }
    /* keep exactly the first `offset` bytes: anything beyond is unverified */
    if (offset > 0 && ftruncate(fd, (off_t)offset) != 0) {
        rc = map_errno(err, errno, "truncate", tmp_rel);
        goto done;
    }
    buf = malloc(FILE_BUFSZ);
    if (buf == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
    }
    rc = copy_in(fd, buf, src, offset, total, tmp_rel, NULL, err);
done:
    free(buf);
    if (close(fd) != 0 && rc == RSL_OK)
        rc = map_errno(err, errno, "close", tmp_rel);
    return rc;
}

/* 1 when sampled blocks of [off, off + len) of fd (the first and the last
 * among them) hold src's bytes, 0 when one differs or fd is shorter. */
static rsl_code range_same(int fd, uint64_t off, uint64_t len, rsl_source *src, char *buf,
                           const char *tmp_rel, int *same, rsl_err *err)
{
    struct stat sb;
    size_t blk = FILE_BUFSZ / 2;
    *same = 0;
    if (fstat(fd, &sb) != 0)
        return map_errno(err, errno, "stat", tmp_rel);
    if ((uint64_t)sb.st_size < off + len)
        return RSL_OK;
    for (int i = 0; i <= RANGE_SAMPLES; i++) {
        uint64_t at = off + (len > blk ? (len - blk) / RANGE_SAMPLES * (uint64_t)i : 0);
        if (i == RANGE_SAMPLES && len > blk)
            at = off + len - blk; /* the last block exactly */
        size_t n = len < blk ? (size_t)len : blk;
        ssize_t a = src->pread(src, buf, n, at, err);
        if (a < 0)
            return err->code;
        ssize_t b = pread(fd, buf + blk, n, (off_t)at);
        if (b < 0)
            return map_errno(err, errno, "read", tmp_rel);
        if (a != (ssize_t)n || b != a || memcmp(buf, buf + blk, n) != 0)
            return RSL_OK;
    }
    *same = 1;
    return RSL_OK;
}

/* Writes [off, off + len) of src into tmp_rel at off (created when absent,
 * never truncated: other connections write its other ranges), or checks
 * that range (check = 1). */
static rsl_code file_write_range(rsl_conn *c, const char *tmp_rel, uint64_t off, uint64_t len,
                                 int check, rsl_source *src, uint64_t *kept, uint64_t *sent,
                                 rsl_err *err)
{
    mode_t mode = src->mode ? (mode_t)(src->mode & 07777) : 0666;
    int fd = rsl_beneath_open(c->rootfd, tmp_rel, check ? O_RDONLY : O_WRONLY | O_CREAT, mode);
    *kept = *sent = 0;
    if (fd < 0 && check && errno == ENOENT)
        return RSL_OK; /* nothing kept */
    if (fd < 0)
        return map_errno(err, errno, "open", tmp_rel);
    rsl_code rc = RSL_OK;
    char *buf = malloc(FILE_BUFSZ);
    if (buf == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    } else if (check) {
        int same = 0;
        if ((rc = range_same(fd, off, len, src, buf, tmp_rel, &same, err)) == RSL_OK)
            *kept = same ? len : 0;
    } else {
        rc = copy_in(fd, buf, src, off, off + len, tmp_rel, sent, err);
    }
    free(buf);
    if (close(fd) != 0 && rc == RSL_OK)
        rc = map_errno(err, errno, "close", tmp_rel);
    return rc;
}

/* Size check and mtime of the temp file, through its parent fd. */
static rsl_code check_temp(int pfd, const char *leaf, const char *tmp_rel, uint64_t size,
                           int64_t mtime, rsl_err *err)
{
    struct stat sb;
    if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return map_errno(err, errno, "stat", tmp_rel);
    if (!S_ISREG(sb.st_mode))
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, 0,
                           "'%s': the remote temp is not a regular file", tmp_rel);
    if ((uint64_t)sb.st_size != size)
        return rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                           "'%s': remote temp file has %llu bytes, expected %llu", tmp_rel,
                           (unsigned long long)sb.st_size, (unsigned long long)size);
    if (mtime >= 0) {
        struct timespec ts[2] = {{.tv_sec = mtime, .tv_nsec = 0}, {.tv_sec = mtime, .tv_nsec = 0}};
        if (utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) != 0)
            return map_errno(err, errno, "set mtime", tmp_rel);
    }
    return RSL_OK;
}

static rsl_code rename_failed(int e, const char *tmp_rel, const char *final_rel, rsl_err *err)
{
    if (e == EISDIR || e == ENOTEMPTY || e == EEXIST)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, e,
                           "rename '%s' -> '%s': a directory of that name exists on the remote",
                           tmp_rel, final_rel);
    rsl_code rc = map_errno(err, e, "rename", final_rel);
    if (rc == RSL_E_REMOTE_IO)
        err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
    return rc;
}

static rsl_code file_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                            int64_t mtime, rsl_err *err)
{
    const char *tleaf, *fleaf;
    int tfd = parent_of(c, tmp_rel, &tleaf);
    if (tfd < 0)
        return parent_failed(err, "stat", tmp_rel);
    int ffd = parent_of(c, final_rel, &fleaf);
    if (ffd < 0) {
        rsl_code rc = parent_failed(err, "rename", final_rel);
        close(tfd);
        return rc;
    }
    rsl_code rc = check_temp(tfd, tleaf, tmp_rel, size, mtime, err);
    /* renameat replaces a symlink at the final name itself, never its target */
    if (rc == RSL_OK && renameat(tfd, tleaf, ffd, fleaf) != 0)
        rc = rename_failed(errno, tmp_rel, final_rel, err);
    close(tfd);
    close(ffd);
    return rc;
}

static rsl_code file_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    const char *leaf;
    int pfd = parent_of(c, rel, &leaf);
    if (pfd < 0)
        return errno == ENOENT ? RSL_OK : map_errno(err, errno, "delete", rel);
    /* unlinkat removes a symlink itself, never what it points to */
    int r = unlinkat(pfd, leaf, is_dir ? AT_REMOVEDIR : 0);
    int e = errno;
    close(pfd);
    if (r == 0 || e == ENOENT)
        return RSL_OK;
    rsl_code rc = map_errno(err, e, "delete", rel);
    if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_TYPE_CONFLICT || e == ENOTEMPTY)
        err->code = rc = RSL_E_REMOTE_DELETE_FAILED;
    return rc;
}

static rsl_code file_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    int fd = rsl_beneath_open(c->rootfd, rel, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return map_errno(err, errno, "list", rel);
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return map_errno(err, errno, "list", rel);
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* vanished while listing */
        rsl_rstat st = {.exists = 1,
                        .is_dir = S_ISDIR(sb.st_mode),
                        .size = (uint64_t)sb.st_size,
                        .mtime = (int64_t)sb.st_mtim.tv_sec};
        if (cb(ud, de->d_name, &st) != 0)
            break;
    }
    closedir(d);
    return RSL_OK;
}

/* ---- read-back (verify): read and hash ---- */

/* Opens file rel beneath the root for reading, following no symlink in any
 * component (base/beneath.h), non-blocking (a FIFO does not hang), and
 * checks it is a regular file. Returns the fd or -1 with err set. */
static int open_file(rsl_conn *c, const char *rel, const char *what, rsl_err *err)
{
    /* beneath the root, no symlink followed, non-blocking: a FIFO cannot hang */
    int fd = rsl_beneath_open(c->rootfd, rel, O_RDONLY | O_NONBLOCK, 0);
    if (fd < 0) {
        map_errno(err, errno, what, rel);
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        map_errno(err, e, what, rel);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, 0, "%s '%s': not a regular file", what, rel);
        return -1;
    }
    return fd;
}

/* Passes the file's bytes to cb (with h also fed when set). */
static rsl_code stream_file(int fd, const char *what, const char *rel, rsl_read_cb cb, void *ud,
                            EVP_MD_CTX *h, rsl_err *err)
{
    char *buf = malloc(FILE_BUFSZ);
    if (buf == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    rsl_code rc = RSL_OK;
    for (;;) {
        ssize_t n = read(fd, buf, FILE_BUFSZ);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = map_errno(err, errno, what, rel);
            break;
        }
        if (n == 0)
            break;
        if (h != NULL && EVP_DigestUpdate(h, buf, (size_t)n) != 1) {
            rc = rsl_err_set(err, RSL_E_INTERNAL, 0, "%s '%s': digest failed", what, rel);
            break;
        }
        if (cb != NULL && cb(ud, buf, (size_t)n) != 0)
            break;
    }
    free(buf);
    return rc;
}

static rsl_code file_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err)
{
    int fd = open_file(c, rel, "read", err);
    if (fd < 0)
        return err->code;
    rsl_code rc = stream_file(fd, "read", rel, cb, ud, NULL, err);
    close(fd);
    return rc;
}

/* The digest of the file as it is on the remote side (the directory is the
 * remote): sha256 unless another is asked for (sha512, sha1, md5). */
static rsl_code file_hash(rsl_conn *c, const char *rel, const char *want, rsl_rhash *out,
                          rsl_err *err)
{
    static const char *const names[] = {"sha256", "sha512", "sha1", "md5"};
    const char *alg = NULL;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (want == NULL || strcasecmp(want, names[i]) == 0) {
            alg = names[i];
            break;
        }
    if (alg == NULL)
        return rsl_err_set(err, RSL_E_CHECKSUM_UNAVAILABLE, 0,
                           "hash '%s': %s is not one of sha256, sha512, sha1, md5", rel, want);
    int fd = open_file(c, rel, "hash", err);
    if (fd < 0)
        return err->code;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    rsl_code rc = RSL_OK;
    if (h == NULL || EVP_DigestInit_ex(h, EVP_get_digestbyname(alg), NULL) != 1)
        rc = rsl_err_set(err, RSL_E_INTERNAL, 0, "hash '%s': %s unavailable", rel, alg);
    else if ((rc = stream_file(fd, "hash", rel, NULL, NULL, h, err)) == RSL_OK &&
             EVP_DigestFinal_ex(h, md, &len) != 1)
        rc = rsl_err_set(err, RSL_E_INTERNAL, 0, "hash '%s': digest failed", rel);
    if (rc == RSL_OK) {
        snprintf(out->alg, sizeof(out->alg), "%s", alg);
        for (unsigned i = 0; i < len && 2 * i + 2 < sizeof(out->hex); i++)
            snprintf(out->hex + 2 * i, 3, "%02x", md[i]);
    }
    EVP_MD_CTX_free(h);
    close(fd);
    return rc;
}

/* ---- send less (xfer.h): move, symlink, directory mtime, append ---- */

static rsl_code file_move(rsl_conn *c, const char *from, const char *to, int is_dir, int overwrite,
                          rsl_err *err)
{
    (void)is_dir; /* rename(2) moves a directory with all it holds */
    const char *fleaf, *tleaf;
    int ffd = parent_of(c, from, &fleaf);
    if (ffd < 0)
        return parent_failed(err, "move", from);
    int tfd = parent_of(c, to, &tleaf);
    if (tfd < 0) {
        rsl_code rc = parent_failed(err, "move", to);
        close(ffd);
        return rc;
    }
    /* a move never replaces what stands at the target unless told */
    int r = renameat2(ffd, fleaf, tfd, tleaf, overwrite ? 0 : RENAME_NOREPLACE);
    int e = errno;
    if (r != 0 && e == EINVAL && !overwrite) { /* a file system without NOREPLACE */
        struct stat sb;
        if (fstatat(tfd, tleaf, &sb, AT_SYMLINK_NOFOLLOW) == 0)
            e = EEXIST;
        else
            e = (r = renameat(ffd, fleaf, tfd, tleaf)) == 0 ? 0 : errno;
    }
    close(ffd);
    close(tfd);
    if (r == 0)
        return RSL_OK;
    if (e == EEXIST || e == ENOTEMPTY)
        return rsl_err_set(err, RSL_E_REMOTE_EXISTS, e, "move '%s' -> '%s': the target exists",
                           from, to);
    if (e == ENOENT)
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, e, "move '%s': not on the remote", from);
    return map_errno(err, e, "move", to);
}

static rsl_code file_symlink(rsl_conn *c, const char *rel, const char *target, rsl_err *err)
{
    const char *leaf;
    int pfd = parent_of(c, rel, &leaf);
    if (pfd < 0)
        return parent_failed(err, "symlink", rel);
    int r = symlinkat(target, pfd, leaf);
    int e = errno;
    close(pfd);
    if (r == 0)
        return RSL_OK;
    if (e == EEXIST)
        return rsl_err_set(err, RSL_E_REMOTE_EXISTS, e, "symlink '%s': an item of that name exists",
                           rel);
    return map_errno(err, e, "symlink", rel);
}

static rsl_code file_set_mtime(rsl_conn *c, const char *rel, int64_t mtime, rsl_err *err)
{
    struct timespec ts[2] = {{.tv_sec = mtime, .tv_nsec = 0}, {.tv_sec = mtime, .tv_nsec = 0}};
    if (rel[0] == '\0')
        return futimens(c->rootfd, ts) == 0 ? RSL_OK : map_errno(err, errno, "set mtime", rel);
    const char *leaf;
    int pfd = parent_of(c, rel, &leaf);
    if (pfd < 0)
        return parent_failed(err, "set mtime", rel);
    int r = utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW);
    int e = errno;
    close(pfd);
    return r == 0 ? RSL_OK : map_errno(err, e, "set mtime", rel);
}

/* The tail of a growing file, written in place at old_size (the source is
 * started at old_size by the caller): the file must hold old_size bytes. */
static rsl_code file_append(rsl_conn *c, const char *rel, uint64_t old_size, uint64_t total,
                            int64_t mtime, rsl_source *src, rsl_err *err)
{
    struct stat sb;
    int r = stat_beneath(c, rel, &sb);
    if (r < 0)
        return map_errno(err, errno, "append", rel);
    if (r == 0)
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 0, "append '%s': not on the remote", rel);
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != old_size)
        return rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                           "append '%s': the remote file has %llu bytes, not the %llu recorded",
                           rel, (unsigned long long)sb.st_size, (unsigned long long)old_size);
    rsl_code rc = file_upload(c, rel, old_size, total, src, err);
    if (rc != RSL_OK)
        return rc;
    const char *leaf;
    int pfd = parent_of(c, rel, &leaf);
    if (pfd < 0)
        return parent_failed(err, "append", rel);
    rc = check_temp(pfd, leaf, rel, total, mtime, err);
    close(pfd);
    return rc;
}

const rsl_transport_ops rsl_transport_file = {
    .version = RSL_TRANSPORT_VERSION,
    .name = "file",
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME | RSL_CAP_SET_MODE |
            RSL_CAP_MOVE | RSL_CAP_SYMLINK | RSL_CAP_DIR_MTIME | RSL_CAP_APPEND | RSL_CAP_WRITE_AT,
    .connect = file_connect,
    .disconnect = file_disconnect,
    .caps_of = file_caps_of,
    .describe = file_describe,
    .stat = file_stat,
    .mkdir = file_mkdir,
    .resume_offset = file_resume_offset,
    .upload = file_upload,
    .finish = file_finish,
    .remove = file_remove,
    .list = file_list,
    .set_mode = file_set_mode,
    .read = file_read,
    .hash = file_hash,
    .move = file_move,
    .symlink = file_symlink,
    .set_mtime = file_set_mtime,
    .append = file_append,
    .write_range = file_write_range,
};
