/*
 * file.c - the file:// transport. See file.h.
 *
 * All calls are relative to a directory fd opened on the remote root at
 * connect time (openat/fstatat/renameat), so a root that is replaced or
 * unmounted mid-run is not silently written beside.
 */
#define _GNU_SOURCE
#include "file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

struct rsl_conn {
    int rootfd;
    char *root;
};

#define FILE_BUFSZ (1u << 20)

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
    return RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME;
}

static void file_describe(rsl_conn *c, char *buf, size_t n)
{
    snprintf(buf, n, "file: local directory %s; resume at temp size; atomic rename(2); mtime set",
             c->root);
}

/* "" names the root */
static const char *at_path(const char *rel)
{
    return rel[0] ? rel : ".";
}

static rsl_code file_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    struct stat sb;
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    if (fstatat(c->rootfd, at_path(rel), &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return RSL_OK;
        return map_errno(err, errno, "stat", rel);
    }
    st->exists = 1;
    st->is_dir = S_ISDIR(sb.st_mode);
    st->size = (uint64_t)sb.st_size;
    st->mtime = (int64_t)sb.st_mtim.tv_sec;
    return RSL_OK;
}

static rsl_code file_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    if (mkdirat(c->rootfd, rel, 0755) == 0)
        return RSL_OK;
    int e = errno;
    if (e == EEXIST) {
        struct stat sb;
        if (fstatat(c->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode))
            return RSL_OK;
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, e,
                           "mkdir '%s': a file of that name exists on the remote", rel);
    }
    return map_errno(err, e, "mkdir", rel);
}

static rsl_code file_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                   rsl_source *src, uint64_t *have, rsl_err *err)
{
    (void)src;
    struct stat sb;
    *have = 0;
    if (fstatat(c->rootfd, tmp_rel, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return RSL_OK;
        return map_errno(err, errno, "stat", tmp_rel);
    }
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size <= total)
        *have = (uint64_t)sb.st_size;
    return RSL_OK;
}

static rsl_code file_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                            rsl_source *src, rsl_err *err)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (offset == 0 ? O_TRUNC : 0);
    int fd = openat(c->rootfd, tmp_rel, flags, 0644);
    if (fd < 0)
        return map_errno(err, errno, "open", tmp_rel);
    rsl_code rc = RSL_OK;
    char *buf = NULL;
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
    uint64_t pos = offset;
    while (pos < total) {
        size_t want = total - pos < FILE_BUFSZ ? (size_t)(total - pos) : FILE_BUFSZ;
        ssize_t n = src->read(src, buf, want, err);
        if (n < 0) {
            rc = err->code;
            goto done;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = pwrite(fd, buf + off, (size_t)(n - off), (off_t)pos);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                rc = map_errno(err, errno, "write", tmp_rel);
                goto done;
            }
            off += w;
            pos += (uint64_t)w;
        }
    }
done:
    free(buf);
    if (close(fd) != 0 && rc == RSL_OK)
        rc = map_errno(err, errno, "close", tmp_rel);
    return rc;
}

static rsl_code file_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                            int64_t mtime, rsl_err *err)
{
    struct stat sb;
    if (fstatat(c->rootfd, tmp_rel, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return map_errno(err, errno, "stat", tmp_rel);
    if ((uint64_t)sb.st_size != size)
        return rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                           "'%s': remote temp file has %llu bytes, expected %llu", tmp_rel,
                           (unsigned long long)sb.st_size, (unsigned long long)size);
    if (mtime >= 0) {
        struct timespec ts[2] = {{.tv_sec = mtime, .tv_nsec = 0}, {.tv_sec = mtime, .tv_nsec = 0}};
        if (utimensat(c->rootfd, tmp_rel, ts, AT_SYMLINK_NOFOLLOW) != 0)
            return map_errno(err, errno, "set mtime", tmp_rel);
    }
    if (renameat(c->rootfd, tmp_rel, c->rootfd, final_rel) != 0) {
        int e = errno;
        if (e == EISDIR || e == ENOTEMPTY || e == EEXIST)
            return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, e,
                               "rename '%s' -> '%s': a directory of that name exists on the remote",
                               tmp_rel, final_rel);
        rsl_code rc = map_errno(err, e, "rename", final_rel);
        if (rc == RSL_E_REMOTE_IO)
            err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
        return rc;
    }
    return RSL_OK;
}

static rsl_code file_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    if (unlinkat(c->rootfd, rel, is_dir ? AT_REMOVEDIR : 0) == 0)
        return RSL_OK;
    int e = errno;
    if (e == ENOENT)
        return RSL_OK;
    rsl_code rc = map_errno(err, e, "delete", rel);
    if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_TYPE_CONFLICT || e == ENOTEMPTY)
        err->code = rc = RSL_E_REMOTE_DELETE_FAILED;
    return rc;
}

static rsl_code file_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    int fd = openat(c->rootfd, at_path(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
 * component (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS; on a kernel
 * without it, O_NOFOLLOW on the last component), non-blocking (a FIFO does
 * not hang), and checks it is a regular file. Returns the fd or -1 with
 * err set. */
static int open_file(rsl_conn *c, const char *rel, const char *what, rsl_err *err)
{
    int fd = -1;
#ifdef SYS_openat2
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
    fd = (int)syscall(SYS_openat2, c->rootfd, rel, &how, sizeof(how));
    if (fd < 0 && errno != ENOSYS && errno != EPERM) {
        int e = errno;
        if (e == ELOOP || e == EXDEV)
            rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, e,
                        "%s '%s': a symbolic link on the way (not followed)", what, rel);
        else
            map_errno(err, e, what, rel);
        return -1;
    }
#endif
    if (fd < 0 &&
        (fd = openat(c->rootfd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)) < 0) {
        int e = errno;
        if (e == ELOOP)
            rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, e,
                        "%s '%s': a symbolic link (not followed)", what, rel);
        else
            map_errno(err, e, what, rel);
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

const rsl_transport_ops rsl_transport_file = {
    .version = RSL_TRANSPORT_VERSION,
    .name = "file",
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME,
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
    .read = file_read,
    .hash = file_hash,
};
