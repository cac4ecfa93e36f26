/*
 * source.c - the local side of an upload. See source.h.
 */
#define _GNU_SOURCE
#include "source.h"

#include "base/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_BUFSZ (256u << 10)

/* SHA-256, fetched once (an implicit fetch per file takes OpenSSL's locks). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_md ? sha256_md : EVP_sha256();
}

int rsl_source_root_open(const char *root, rsl_err *err)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        rsl_err_set(err, RSL_E_SOURCE_MISSING, errno, "source '%s' is not a readable directory: %s",
                    root, strerror(errno));
    return fd;
}

int rsl_source_open_beneath(int rootfd, const char *rel, int flags)
{
    return rsl_beneath_open(rootfd, rel, flags, 0);
}

int rsl_source_lstat_beneath(int rootfd, const char *rel, struct stat *sb)
{
    const char *leaf;
    int dfd = rsl_beneath_parent(rootfd, rel, &leaf);
    if (dfd < 0)
        return -1;
    int r = fstatat(dfd, leaf, sb, AT_SYMLINK_NOFOLLOW);
    int e = errno;
    close(dfd);
    errno = e;
    return r;
}

/* ---- one file ---- */

static int64_t mtime_ns_of(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
}

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m)    ? "directory"
           : S_ISFIFO(m) ? "FIFO"
           : S_ISLNK(m)  ? "symbolic link"
           : S_ISSOCK(m) ? "socket"
                         : "device";
}

static rsl_code open_failed(const rsl_local_src *s, int e, rsl_err *err)
{
    if (e == ENOENT || e == ENOTDIR)
        return rsl_err_set(err, RSL_E_LOCAL_VANISHED, e,
                           "'%s' vanished between the scan and its upload", s->name);
    if (e == ELOOP || e == EXDEV)
        return rsl_err_set(err, RSL_E_TYPE_CHANGED, e,
                           "'%s': its path now goes through a symbolic link, which is not "
                           "followed (it could lead outside the source)",
                           s->name);
    return rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, e, "'%s' cannot be opened: %s", s->name,
                       strerror(e));
}

/* The file as opened is the one the scan saw. */
static rsl_code check_opened(const rsl_local_src *s, const struct stat *sb, rsl_err *err)
{
    if (!S_ISREG(sb->st_mode))
        return rsl_err_set(err, RSL_E_TYPE_CHANGED, 0,
                           "'%s' is no longer a regular file (now a %s)", s->name,
                           kind_of(sb->st_mode));
    if ((s->ino && ((uint64_t)sb->st_ino != s->ino || (uint64_t)sb->st_dev != s->dev)))
        return rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                           "'%s' was replaced by another file since the scan; it is sent on the "
                           "next run",
                           s->name);
    if ((uint64_t)sb->st_size != s->size || mtime_ns_of(sb) != s->mtime_ns)
        return rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                           "'%s' changed since the scan (%llu bytes then, %llu now); it is sent "
                           "on the next run",
                           s->name, (unsigned long long)s->size, (unsigned long long)sb->st_size);
    return RSL_OK;
}

rsl_code rsl_local_src_open(rsl_local_src *s, rsl_err *err)
{
    if (s->fd >= 0)
        return RSL_OK;
    int fd = rsl_source_open_beneath(s->cfg.rootfd, s->rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return open_failed(s, errno, err);
    struct stat sb;
    rsl_code rc = RSL_OK;
    if (fstat(fd, &sb) != 0)
        rc = rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "'%s' cannot be read: %s", s->name,
                         strerror(errno));
    else
        rc = check_opened(s, &sb, err);
    int fl = rc == RSL_OK ? fcntl(fd, F_GETFL) : -1;
    if (rc == RSL_OK && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0))
        rc = rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "'%s' cannot be read: %s", s->name,
                         strerror(errno));
    if (rc != RSL_OK) {
        close(fd);
        return rc;
    }
    s->fd = fd;
    return RSL_OK;
}

static rsl_code interrupted(const rsl_local_src *s, rsl_err *err)
{
    return rsl_err_set(err, RSL_E_INTERRUPTED, 0, "'%s': interrupted; the upload resumes next run",
                       s->name);
}

static int cancelled(const rsl_local_src *s)
{
    return rsl_stop_check(s->cfg.stop) != RSL_STOP_NO;
}

static ssize_t read_at(const rsl_local_src *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    ssize_t got;
    do {
        got = pread(s->fd, buf, n, (off_t)off);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "'%s': read failed: %s", s->name,
                    strerror(errno));
    return got;
}

/* rsl_source.read: the next bytes, throttled, counted and hashed. */
static ssize_t src_read(rsl_source *src, void *buf, size_t n, rsl_err *err)
{
    rsl_local_src *s = src->ud;
    if (cancelled(s))
        return interrupted(s, err), -1;
    if (s->fd < 0 && rsl_local_src_open(s, err) != RSL_OK)
        return -1;
    uint64_t end = s->range ? s->end : s->size;
    if (s->pos >= end)
        return 0;
    if (n > end - s->pos)
        n = (size_t)(end - s->pos);
    if (n > RSL_SOURCE_READ_MAX)
        n = RSL_SOURCE_READ_MAX;
    if (s->cfg.bw && (n = rsl_throttle_take(s->cfg.bw, n, s->cfg.stop)) == 0)
        return interrupted(s, err), -1;
    ssize_t got = read_at(s, buf, n, s->pos, err);
    if (got < 0)
        return -1;
    if (got == 0) {
        rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                    "'%s': the file shrank while it was being uploaded (at byte %llu of %llu)",
                    s->name, (unsigned long long)s->pos, (unsigned long long)s->size);
        return -1;
    }
    if (s->md && EVP_DigestUpdate(s->md, buf, (size_t)got) == 1)
        s->hashed += (uint64_t)got;
    s->pos += (uint64_t)got;
    s->sent += got;
    if (s->cfg.bytes_total)
        __atomic_add_fetch(s->cfg.bytes_total, got, __ATOMIC_RELAXED);
    return got;
}

/* rsl_source.pread: random access for a transport's checks; not hashed. */
static ssize_t src_pread(rsl_source *src, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    rsl_local_src *s = src->ud;
    if (s->fd < 0 && rsl_local_src_open(s, err) != RSL_OK)
        return -1;
    return read_at(s, buf, n, off, err);
}

/* The kept prefix [0, offset) of a resumed upload, hashed with pread (from
 * where the digest is: s->hashed). */
static rsl_code hash_prefix(rsl_local_src *s, uint64_t offset, rsl_err *err)
{
    if (offset <= s->hashed)
        return RSL_OK;
    unsigned char *buf = malloc(HASH_BUFSZ);
    if (buf == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    rsl_code rc = RSL_OK;
    for (uint64_t at = s->hashed; at < offset && rc == RSL_OK;) {
        size_t want = offset - at < HASH_BUFSZ ? (size_t)(offset - at) : HASH_BUFSZ;
        ssize_t got = read_at(s, buf, want, at, err);
        if (got <= 0)
            rc = got < 0
                     ? err->code
                     : rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                                   "'%s': the file shrank while it was being uploaded", s->name);
        else if (s->md && EVP_DigestUpdate(s->md, buf, (size_t)got) == 1)
            s->hashed += (uint64_t)got;
        at += got > 0 ? (uint64_t)got : 0;
    }
    free(buf);
    return rc;
}

/* The head just hashed is the one the remote holds (append). */
static rsl_code check_head(rsl_local_src *s, rsl_err *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    int ok = copy != NULL && EVP_MD_CTX_copy_ex(copy, s->md) == 1 &&
             EVP_DigestFinal_ex(copy, d, &len) == 1 && len == RSL_SOURCE_DIGEST_LEN;
    EVP_MD_CTX_free(copy);
    if (!ok)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "SHA-256 unavailable");
    if (memcmp(d, s->head, RSL_SOURCE_DIGEST_LEN) != 0)
        return rsl_err_set(err, RSL_E_HEAD_CHANGED, 0,
                           "'%s': its first %llu bytes are not what was sent before (rotated or "
                           "rewritten); it is sent whole",
                           s->name, (unsigned long long)s->head_len);
    return RSL_OK;
}

/* The digest from zero. */
static rsl_code digest_init(rsl_local_src *s, rsl_err *err)
{
    if (s->md == NULL && (s->md = EVP_MD_CTX_new()) == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    if (EVP_DigestInit_ex(s->md, sha256(), NULL) != 1)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "SHA-256 unavailable");
    s->hashed = 0;
    s->ahead = 0;
    return RSL_OK;
}

/* rsl_source.start: read from offset; the digest restarts and covers the
 * kept prefix too (or continues from where rsl_local_src_hash_to left it). */
static rsl_code src_start(rsl_source *src, uint64_t offset, rsl_err *err)
{
    rsl_local_src *s = src->ud;
    rsl_code rc = rsl_local_src_open(s, err);
    if (rc != RSL_OK)
        return rc;
    if (offset > s->size)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "'%s': start at %llu beyond its %llu bytes",
                           s->name, (unsigned long long)offset, (unsigned long long)s->size);
    if (s->range) { /* one range: no digest of its own */
        if (offset != s->range_off)
            return rsl_err_set(err, RSL_E_INTERNAL, 0,
                               "'%s': a range starting at %llu was started at %llu", s->name,
                               (unsigned long long)s->range_off, (unsigned long long)offset);
        s->pos = offset;
        return RSL_OK;
    }
    s->pos = offset;
    if (!s->ahead || s->hashed > offset) { /* else rsl_local_src_hash_to went ahead */
        if ((rc = digest_init(s, err)) != RSL_OK)
            return rc;
    }
    rc = hash_prefix(s, offset, err);
    if (rc == RSL_OK && s->head_len > 0 && offset == s->head_len)
        rc = check_head(s, err);
    return rc;
}

rsl_code rsl_local_src_hash_to(rsl_local_src *s, uint64_t end, rsl_err *err)
{
    rsl_code rc = rsl_local_src_open(s, err);
    if (rc == RSL_OK && !s->ahead && (rc = digest_init(s, err)) == RSL_OK)
        s->ahead = 1;
    if (rc == RSL_OK)
        rc = hash_prefix(s, end < s->size ? end : s->size, err);
    if (rc != RSL_OK)
        s->ahead = 0; /* start() begins again from zero */
    return rc;
}

/* rsl_source.verify: after the last byte, before the rename: the file is
 * still the one opened (fstat) and still under its name (a fresh lstat
 * beneath the root). */
static rsl_code src_verify(rsl_source *src, rsl_err *err)
{
    rsl_local_src *s = src->ud;
    struct stat a, b;
    if (s->fd < 0)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "'%s': verify before start", s->name);
    if (rsl_source_lstat_beneath(s->cfg.rootfd, s->rel, &b) != 0)
        return rsl_err_set(err, RSL_E_LOCAL_VANISHED, errno,
                           "'%s' was deleted while it was being uploaded", s->name);
    if (fstat(s->fd, &a) != 0 || (uint64_t)a.st_size != s->size || mtime_ns_of(&a) != s->mtime_ns ||
        b.st_ino != a.st_ino || b.st_dev != a.st_dev)
        return rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0, "'%s' changed while it was being uploaded",
                           s->name);
    return RSL_OK;
}

void rsl_local_src_init(rsl_local_src *s, const rsl_local_src_cfg *cfg, const char *name,
                        const char *rel, uint64_t size, int64_t mtime_ns, uint64_t dev,
                        uint64_t ino)
{
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    s->name = name;
    s->rel = rel ? rel : name;
    s->size = size;
    s->mtime_ns = mtime_ns;
    s->dev = dev;
    s->ino = ino;
    s->fd = -1;
    s->src = (rsl_source){
        .read = src_read, .pread = src_pread, .start = src_start, .verify = src_verify, .ud = s};
}

void rsl_local_src_range(rsl_local_src *s, uint64_t off, uint64_t len)
{
    s->range = 1;
    s->range_off = off;
    s->end = off + len;
}

int rsl_local_src_digest(rsl_local_src *s, unsigned char out[RSL_SOURCE_DIGEST_LEN])
{
    unsigned int len = 0;
    if (s->md == NULL || s->hashed != s->size)
        return 0;
    int ok = EVP_DigestFinal_ex(s->md, out, &len) == 1 && len == RSL_SOURCE_DIGEST_LEN;
    s->hashed = UINT64_MAX; /* finalized */
    return ok;
}

void rsl_local_src_close(rsl_local_src *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    EVP_MD_CTX_free(s->md);
    s->md = NULL;
}

void rsl_local_src_expect_head(rsl_local_src *s, uint64_t len,
                               const unsigned char digest[RSL_SOURCE_DIGEST_LEN])
{
    s->head_len = len;
    memcpy(s->head, digest, RSL_SOURCE_DIGEST_LEN);
}

rsl_code rsl_source_digest(int rootfd, const char *rel, uint64_t size, int64_t mtime_ns,
                           uint64_t dev, uint64_t ino, uint64_t len,
                           unsigned char out[RSL_SOURCE_DIGEST_LEN], rsl_err *err)
{
    rsl_local_src s;
    rsl_local_src_cfg cfg = {.rootfd = rootfd};
    rsl_local_src_init(&s, &cfg, rel, NULL, size, mtime_ns, dev, ino);
    rsl_code rc = src_start(&s.src, len, err);
    unsigned int dl = 0;
    if (rc == RSL_OK && (EVP_DigestFinal_ex(s.md, out, &dl) != 1 || dl != RSL_SOURCE_DIGEST_LEN))
        rc = rsl_err_set(err, RSL_E_INTERNAL, 0, "SHA-256 unavailable");
    rsl_local_src_close(&s);
    return rc;
}
