/*
 * verify_content.c - comparing one file's content for `verify --checksum`.
 * See verify_content.h.
 */
#include "cli/verify_content.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/beneath.h"
#include "state/state.h"

#define LOCAL_BUFSZ (256 * 1024)

const char *rsl_vc_why_text(rsl_vc_why why)
{
    switch (why) {
    case RSL_VC_WHY_NO_SERVER_SUM:
        return "no server checksum (use --read-back)";
    case RSL_VC_WHY_NO_READ:
        return "this transport cannot read files back";
    case RSL_VC_WHY_NO_DIGEST:
        return "no recorded digest, local file changed since the upload";
    case RSL_VC_WHY_LOCAL_CHANGED:
        return "local file changed since the upload";
    case RSL_VC_WHY_UNKNOWN_ALG:
        return "server checksum in an algorithm rsyncd-lite does not compute";
    case RSL_VC_WHY_ERROR:
        return "could not be read or hashed";
    default:
        return "compared";
    }
}

static void unchecked(rsl_vc_result *out, rsl_vc_why why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void unchecked(rsl_vc_result *out, rsl_vc_why why, const char *fmt, ...)
{
    out->verdict = RSL_VC_UNCHECKED;
    out->why = why;
    char words[500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(words, sizeof(words), fmt, ap);
    va_end(ap);
    snprintf(out->detail, sizeof(out->detail), "not compared: %s", words);
}

/* ---- the local file ---- */

/* 1 when sb is the file the manifest row came from (size and mtime). */
static int same_stat(const struct stat *sb, const rsl_vc_file *f)
{
    int64_t ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    return S_ISREG(sb->st_mode) && (uint64_t)sb->st_size == f->size && ns == f->mtime_ns;
}

/* Reads fd into the digests (alt may be NULL). 0, or -1 with errno. */
static int hash_fd(rsl_vc *vc, int fd, rsl_digest *sha, rsl_digest *alt)
{
    char *buf = malloc(LOCAL_BUFSZ);
    if (buf == NULL)
        return -1;
    int r = 0;
    for (;;) {
        ssize_t n = read(fd, buf, LOCAL_BUFSZ);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -1 : 0;
            break;
        }
        vc->bytes_local += (uint64_t)n;
        if (rsl_digest_update(sha, buf, (size_t)n) != 0 ||
            (alt && rsl_digest_update(alt, buf, (size_t)n) != 0)) {
            errno = EIO;
            r = -1;
            break;
        }
    }
    free(buf);
    return r;
}

/*
 * The digests of the local file f (SHA-256 into sha, and alg into alt when
 * alg is not sha256) while it is the file the manifest row came from.
 * Returns 0 with the digests; 1 when it changed since the upload (size,
 * mtime or, with a recorded digest, content) or cannot be read, with the
 * reason in out (why = LOCAL_CHANGED).
 */
static int local_digest(rsl_vc *vc, const rsl_vc_file *f, const char *alg, char *sha, char *alt,
                        rsl_vc_result *out)
{
    if (vc->srcfd < 0) {
        unchecked(out, RSL_VC_WHY_LOCAL_CHANGED, "the source directory cannot be read");
        return 1;
    }
    int fd = rsl_beneath_open(vc->srcfd, f->path, O_RDONLY | O_NONBLOCK, 0);
    if (fd < 0) {
        unchecked(out, RSL_VC_WHY_LOCAL_CHANGED, "local file unreadable (%s)", strerror(errno));
        return 1;
    }
    struct stat a, b;
    if (fstat(fd, &a) != 0 || !same_stat(&a, f)) {
        close(fd);
        unchecked(out, RSL_VC_WHY_LOCAL_CHANGED,
                  "local file changed since the upload (size or mtime)");
        return 1;
    }
    int is_sha = strcmp(alg, "sha256") == 0;
    rsl_digest *ds = rsl_digest_new("sha256"), *da = is_sha ? NULL : rsl_digest_new(alg);
    int r = ds == NULL || (!is_sha && da == NULL) ? -1 : hash_fd(vc, fd, ds, da);
    int e = errno;
    int moved = r == 0 && (fstat(fd, &b) != 0 || !same_stat(&b, f));
    if (r == 0 && !moved &&
        (rsl_digest_final(ds, sha, RSL_DIGEST_HEX) != 0 ||
         (da && rsl_digest_final(da, alt, RSL_DIGEST_HEX) != 0)))
        r = -1;
    rsl_digest_free(ds);
    rsl_digest_free(da);
    close(fd);
    if (r != 0) {
        unchecked(out, RSL_VC_WHY_LOCAL_CHANGED, "local file unreadable (%s)", strerror(e));
        return 1;
    }
    if (moved) {
        unchecked(out, RSL_VC_WHY_LOCAL_CHANGED, "local file changed while it was read");
        return 1;
    }
    if (is_sha && alt)
        snprintf(alt, RSL_DIGEST_HEX, "%s", sha);
    if (f->digest != NULL) {
        char rec[RSL_DIGEST_HEX];
        rsl_digest_hex(f->digest, RSL_DIGEST_LEN, rec, sizeof(rec));
        if (strcmp(rec, sha) != 0) {
            unchecked(out, RSL_VC_WHY_LOCAL_CHANGED,
                      "local file changed since the upload (same size and mtime, other "
                      "content)");
            return 1;
        }
    }
    return 0;
}

/* ---- the verdict ---- */

static void conclude(rsl_vc_result *out, rsl_vc_method m, const char *alg, const char *expected,
                     const char *remote, const char *basis)
{
    out->method = m;
    snprintf(out->alg, sizeof(out->alg), "%s", alg);
    snprintf(out->expected, sizeof(out->expected), "%s", expected);
    snprintf(out->remote, sizeof(out->remote), "%s", remote);
    const char *how = m == RSL_VC_BY_SERVER ? "server's" : "read-back";
    if (strcasecmp(expected, remote) == 0) {
        out->verdict = RSL_VC_SAME;
        snprintf(out->detail, sizeof(out->detail), "%s %s matches %s", how, alg, basis);
        return;
    }
    out->verdict = RSL_VC_DIFFERENT;
    snprintf(out->detail, sizeof(out->detail),
             "content differs: %s %s %.16s..., %s %.16s... (same size and mtime)", how, alg, remote,
             basis, expected);
}

/* A per-item failure of hash() or read(): UNCHECKED with the error;
 * RSL_OK. A session code is returned as it is. */
static rsl_code item_error(rsl_vc_result *out, rsl_code rc, const rsl_err *e, const char *what,
                           rsl_err *err)
{
    if (rsl_code_class(rc) == RSL_CLASS_SESSION) {
        *err = *e;
        return rc;
    }
    char msg[560];
    snprintf(msg, sizeof(msg), "%s failed: %s (%s)", what, e->msg, rsl_code_name(rc));
    unchecked(out, RSL_VC_WHY_ERROR, "%s", msg);
    return RSL_OK;
}

/* The expected SHA-256: the recorded one, else the unchanged local file's.
 * 0, or 1 with out UNCHECKED. */
static int expected_sha(rsl_vc *vc, const rsl_vc_file *f, char *hex, const char **basis,
                        rsl_vc_result *out)
{
    if (f->digest != NULL) {
        rsl_digest_hex(f->digest, RSL_DIGEST_LEN, hex, RSL_DIGEST_HEX);
        *basis = "the digest recorded at upload";
        return 0;
    }
    char alt[RSL_DIGEST_HEX];
    if (local_digest(vc, f, "sha256", hex, alt, out) != 0) {
        char d[600];
        const char *p = out->detail + strlen("not compared: ");
        snprintf(d, sizeof(d), "%s", p);
        unchecked(out, RSL_VC_WHY_NO_DIGEST, "no recorded digest (an older upload), and %s", d);
        return 1;
    }
    *basis = "the local file (no recorded digest; unchanged since the upload)";
    return 0;
}

typedef struct rb {
    rsl_digest *d;
    uint64_t n;
    int bad;
} rb;

static int rb_cb(void *ud, const void *buf, size_t n)
{
    rb *r = ud;
    r->n += n;
    if (rsl_digest_update(r->d, buf, n) != 0)
        r->bad = 1;
    return r->bad;
}

/* --read-back: the remote bytes through read(), hashed here. */
static rsl_code by_read_back(rsl_vc *vc, const rsl_vc_file *f, rsl_vc_result *out, rsl_err *err)
{
    if (vc->ops->read == NULL) {
        unchecked(out, RSL_VC_WHY_NO_READ, "this transport (%s) cannot read files back",
                  vc->ops->name);
        return RSL_OK;
    }
    char want[RSL_DIGEST_HEX], got[RSL_DIGEST_HEX];
    const char *basis = NULL;
    if (expected_sha(vc, f, want, &basis, out) != 0)
        return RSL_OK;
    rb r = {.d = rsl_digest_new("sha256")};
    if (r.d == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    rsl_err e = {0};
    rsl_code rc = vc->ops->read(vc->conn, f->path, rb_cb, &r, &e);
    vc->bytes_read += r.n;
    if (rc == RSL_OK && (r.bad || rsl_digest_final(r.d, got, sizeof(got)) != 0))
        rc = rsl_err_set(&e, RSL_E_INTERNAL, 0, "digest failed");
    rsl_digest_free(r.d);
    if (rc != RSL_OK)
        return item_error(out, rc, &e, "read back", err);
    if (r.n != f->size) {
        out->verdict = RSL_VC_DIFFERENT;
        out->method = RSL_VC_BY_READ_BACK;
        snprintf(out->alg, sizeof(out->alg), "sha256");
        snprintf(out->expected, sizeof(out->expected), "%s", want);
        snprintf(out->detail, sizeof(out->detail),
                 "content differs: read back %llu bytes, the listing said %llu",
                 (unsigned long long)r.n, (unsigned long long)f->size);
        return RSL_OK;
    }
    conclude(out, RSL_VC_BY_READ_BACK, "sha256", want, got, basis);
    return RSL_OK;
}

/* The server's digest of f into rh: sha256 asked first (the recorded
 * algorithm), then any. Returns RSL_OK with *have = 1, or *have = 0 when the
 * server offers none; an error code otherwise (e filled). */
static rsl_code server_digest(rsl_vc *vc, const char *path, rsl_rhash *rh, int *have, rsl_err *e)
{
    *have = 0;
    const char *want = vc->ask_any ? NULL : "sha256";
    rsl_code rc = vc->ops->hash(vc->conn, path, want, rh, e);
    if (rc == RSL_E_CHECKSUM_UNAVAILABLE && want != NULL) {
        rc = vc->ops->hash(vc->conn, path, NULL, rh, e);
        if (rc == RSL_OK && strcmp(rh->alg, "sha256") != 0)
            vc->ask_any = 1;
    }
    if (rc == RSL_E_CHECKSUM_UNAVAILABLE)
        return RSL_OK;
    *have = rc == RSL_OK && rh->hex[0] != '\0';
    return rc;
}

/* --checksum: the server's digest, compared with what was sent. */
static rsl_code by_server(rsl_vc *vc, const rsl_vc_file *f, rsl_vc_result *out, rsl_err *err)
{
    if (vc->ops->hash == NULL) {
        unchecked(out, RSL_VC_WHY_NO_SERVER_SUM,
                  "no server checksum (the %s transport has none); use --read-back", vc->ops->name);
        return RSL_OK;
    }
    rsl_rhash rh;
    memset(&rh, 0, sizeof(rh));
    rsl_err e = {0};
    int have = 0;
    rsl_code rc = server_digest(vc, f->path, &rh, &have, &e);
    if (rc != RSL_OK)
        return item_error(out, rc, &e, "server checksum", err);
    if (!have) {
        unchecked(out, RSL_VC_WHY_NO_SERVER_SUM, "no server checksum; use --read-back");
        return RSL_OK;
    }
    if (!rsl_digest_known(rh.alg)) {
        unchecked(out, RSL_VC_WHY_UNKNOWN_ALG,
                  "the server's checksum is %s, which rsyncd-lite does not compute; use "
                  "--read-back",
                  rh.alg);
        return RSL_OK;
    }
    char want[RSL_DIGEST_HEX], sha[RSL_DIGEST_HEX];
    const char *basis = NULL;
    if (strcmp(rh.alg, "sha256") == 0) {
        if (expected_sha(vc, f, want, &basis, out) != 0)
            return RSL_OK;
    } else if (local_digest(vc, f, rh.alg, sha, want, out) != 0) {
        return RSL_OK;
    } else {
        basis = "the local file (unchanged since the upload)";
    }
    conclude(out, RSL_VC_BY_SERVER, rh.alg, want, rh.hex, basis);
    return RSL_OK;
}

rsl_code rsl_vc_compare(rsl_vc *vc, const rsl_vc_file *f, rsl_vc_result *out, rsl_err *err)
{
    memset(out, 0, sizeof(*out));
    return vc->read_back ? by_read_back(vc, f, out, err) : by_server(vc, f, out, err);
}
