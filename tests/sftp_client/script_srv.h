/*
 * script_srv.h - a scripted SFTP v3 server in memory, as a carrier: it
 * parses our requests and answers them from a small in-memory file system,
 * so that tests can give the client and the transport what a real OpenSSH
 * server never does: a server that cannot write at an offset (rclone's
 * SFTP server without a write cache: a write away from the handle's
 * position is refused with FAILURE and the file is truncated), the
 * check-file and md5-hash extensions (as ProFTPD has them), posix-rename
 * listed but refused (sftp-server -P). Every request is logged, one line
 * each, in srv->log.
 * Owns: its files and the output buffer (ssrv_free). Used by the tests of
 * tests/sftp_client and tests/transport_sftp; the real-server tests are the
 * evidence that the transport works, this is the evidence for the paths
 * those servers cannot take.
 */
#ifndef RSL_TEST_SCRIPT_SRV_H
#define RSL_TEST_SCRIPT_SRV_H

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transports/sftp_carrier.h"
#include "transports/sftp_wire.h"

#define SSRV_FILES 64
#define SSRV_HANDLES 64

typedef struct sfile {
    char path[512];
    unsigned char *data;
    size_t len;
    uint32_t perm, mtime;
    int used, is_dir;
} sfile;

typedef struct shandle {
    int used, file, is_dir, read_only;
    uint64_t pos; /* where the next write must start on a no-seek server */
} shandle;

typedef struct ssrv {
    rsl_sftp_carrier base;
    unsigned char *in;
    size_t inlen, incap;
    rsl_sftp_buf out;
    size_t out_off;
    /* what it offers and how it behaves */
    int posix;              /* lists posix-rename@openssh.com */
    uint32_t posix_refused; /* ... and answers this status to it (0: does it) */
    int noseek;             /* a write away from the handle's position: FAILURE + truncate */
    int dropseek;           /* ... acknowledged but not written (a server that lies) */
    int check_file;         /* lists check-file */
    const char *cf_data;    /* its data ("sha256,md5"; NULL: "1") */
    int md5_hash;           /* lists md5-hash */
    sfile f[SSRV_FILES];
    shandle h[SSRV_HANDLES];
    int writes, refused;
    const unsigned char *pend; /* the end of the request being answered */
    char log[1 << 16];
    size_t loglen;
} ssrv;

static inline uint32_t ssrv_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t ssrv_be64(const unsigned char *p)
{
    return ((uint64_t)ssrv_be32(p) << 32) | ssrv_be32(p + 4);
}

static inline void ssrv_logf(ssrv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void ssrv_logf(ssrv *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(v->log + v->loglen, sizeof(v->log) - v->loglen, fmt, ap);
    va_end(ap);
    if (w > 0 && (size_t)w < sizeof(v->log) - v->loglen)
        v->loglen += (size_t)w;
}

/* A string field at *p (advances it) as a NUL-terminated copy in buf. */
static inline void ssrv_str(const unsigned char **p, char *buf, size_t n)
{
    uint32_t l = ssrv_be32(*p);
    size_t k = l < n - 1 ? l : n - 1;
    memcpy(buf, *p + 4, k);
    buf[k] = '\0';
    *p += 4 + l;
}

static inline sfile *ssrv_find(ssrv *v, const char *path)
{
    for (int i = 0; i < SSRV_FILES; i++)
        if (v->f[i].used && strcmp(v->f[i].path, path) == 0)
            return &v->f[i];
    return NULL;
}

/* Adds (or replaces) a file with content; dir = 1 for a directory. */
static inline sfile *ssrv_put(ssrv *v, const char *path, const void *data, size_t len, int dir)
{
    sfile *f = ssrv_find(v, path);
    for (int i = 0; f == NULL && i < SSRV_FILES; i++)
        if (!v->f[i].used)
            f = &v->f[i];
    cr_assert_not_null(f, "script server: too many files");
    free(f->data);
    memset(f, 0, sizeof(*f));
    f->used = 1;
    f->is_dir = dir;
    f->perm = dir ? 0755 : 0644;
    snprintf(f->path, sizeof(f->path), "%s", path);
    f->data = malloc(len ? len : 1);
    if (len)
        memcpy(f->data, data, len);
    f->len = len;
    return f;
}

static inline void ssrv_resize(sfile *f, size_t len)
{
    f->data = realloc(f->data, len ? len : 1);
    cr_assert_not_null(f->data);
    if (len > f->len)
        memset(f->data + f->len, 0, len - f->len);
    f->len = len;
}

static inline void ssrv_status(ssrv *v, uint32_t id, uint32_t code)
{
    rsl_sftp_wire_begin(&v->out, RSL_FXP_STATUS, id);
    rsl_sftp_wire_put_u32(&v->out, code);
    rsl_sftp_wire_put_cstr(&v->out, code ? "scripted refusal" : "Success");
    rsl_sftp_wire_put_cstr(&v->out, "");
    rsl_sftp_wire_end(&v->out);
}

static inline void ssrv_attrs(ssrv *v, uint32_t id, const sfile *f)
{
    rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_SIZE | RSL_SFTP_ATTR_PERMISSIONS |
                                 RSL_SFTP_ATTR_ACMODTIME,
                        .size = f->len,
                        .perm = (f->is_dir ? RSL_SFTP_S_IFDIR : RSL_SFTP_S_IFREG) | f->perm,
                        .atime = f->mtime,
                        .mtime = f->mtime};
    rsl_sftp_wire_begin(&v->out, RSL_FXP_ATTRS, id);
    rsl_sftp_wire_put_attrs(&v->out, &a);
    rsl_sftp_wire_end(&v->out);
}

static inline void ssrv_init_reply(ssrv *v)
{
    rsl_sftp_wire_begin(&v->out, RSL_FXP_VERSION, 3);
    if (v->posix) {
        rsl_sftp_wire_put_cstr(&v->out, "posix-rename@openssh.com");
        rsl_sftp_wire_put_cstr(&v->out, "1");
    }
    if (v->check_file) {
        rsl_sftp_wire_put_cstr(&v->out, "check-file");
        rsl_sftp_wire_put_cstr(&v->out, v->cf_data ? v->cf_data : "1");
    }
    if (v->md5_hash) {
        rsl_sftp_wire_put_cstr(&v->out, "md5-hash");
        rsl_sftp_wire_put_cstr(&v->out, "1");
    }
    rsl_sftp_wire_end(&v->out);
}

static inline shandle *ssrv_handle(ssrv *v, const unsigned char **p, uint32_t *idx)
{
    char hb[16];
    ssrv_str(p, hb, sizeof(hb));
    *idx = (uint32_t)strtoul(hb, NULL, 10);
    cr_assert_lt(*idx, SSRV_HANDLES);
    cr_assert(v->h[*idx].used, "script server: a closed handle was used");
    return &v->h[*idx];
}

static inline void ssrv_open(ssrv *v, uint32_t id, const unsigned char *p, int dir)
{
    char path[512];
    ssrv_str(&p, path, sizeof(path));
    uint32_t pf = dir ? RSL_SFTP_PF_READ : ssrv_be32(p);
    sfile *f = ssrv_find(v, path);
    ssrv_logf(v, "%s %s%s%s\n", dir ? "OPENDIR" : "OPEN", path,
              (pf & RSL_SFTP_PF_TRUNC) ? " trunc" : "", (pf & RSL_SFTP_PF_WRITE) ? " write" : "");
    if (f == NULL && !(pf & RSL_SFTP_PF_CREAT)) {
        ssrv_status(v, id, RSL_FX_NO_SUCH_FILE);
        return;
    }
    if (f == NULL) {
        f = ssrv_put(v, path, "", 0, 0);
        rsl_sftp_attrs a;
        size_t used = 0;
        rsl_sftp_str rest = {.p = p + 4, .len = (uint32_t)(v->pend - (p + 4))};
        if (rsl_sftp_wire_attrs(&a, rest, &used, NULL, 0) == 0 &&
            (a.flags & RSL_SFTP_ATTR_PERMISSIONS))
            f->perm = a.perm & 07777;
    }
    if (pf & RSL_SFTP_PF_TRUNC)
        ssrv_resize(f, 0);
    for (uint32_t i = 0; i < SSRV_HANDLES; i++) {
        if (v->h[i].used)
            continue;
        v->h[i] = (shandle){.used = 1,
                            .file = (int)(f - v->f),
                            .is_dir = dir,
                            .read_only = !(pf & RSL_SFTP_PF_WRITE)};
        char hb[16];
        int n = snprintf(hb, sizeof(hb), "%u", i);
        rsl_sftp_wire_begin(&v->out, RSL_FXP_HANDLE, id);
        rsl_sftp_wire_put_str(&v->out, hb, (size_t)n);
        rsl_sftp_wire_end(&v->out);
        return;
    }
    ssrv_status(v, id, RSL_FX_FAILURE);
}

static inline void ssrv_write(ssrv *v, uint32_t id, const unsigned char *p)
{
    uint32_t hi;
    shandle *h = ssrv_handle(v, &p, &hi);
    sfile *f = &v->f[h->file];
    uint64_t off = ssrv_be64(p);
    uint32_t n = ssrv_be32(p + 8);
    const unsigned char *data = p + 12;
    v->writes++;
    if (v->noseek && off != h->pos) { /* rclone without a write cache */
        v->refused++;
        ssrv_logf(v, "WRITE %llu+%u refused\n", (unsigned long long)off, n);
        ssrv_resize(f, 0);
        ssrv_status(v, id, RSL_FX_FAILURE);
        return;
    }
    if (v->dropseek && off != h->pos) {
        ssrv_logf(v, "WRITE %llu+%u dropped\n", (unsigned long long)off, n);
        ssrv_status(v, id, RSL_FX_OK);
        return;
    }
    ssrv_logf(v, "WRITE %llu+%u\n", (unsigned long long)off, n);
    if (off + n > f->len)
        ssrv_resize(f, (size_t)(off + n));
    memcpy(f->data + off, data, n);
    h->pos = off + n;
    ssrv_status(v, id, RSL_FX_OK);
}

static inline void ssrv_read(ssrv *v, uint32_t id, const unsigned char *p)
{
    uint32_t hi;
    shandle *h = ssrv_handle(v, &p, &hi);
    sfile *f = &v->f[h->file];
    uint64_t off = ssrv_be64(p);
    uint32_t n = ssrv_be32(p + 8);
    ssrv_logf(v, "READ %llu+%u\n", (unsigned long long)off, n);
    if (off >= f->len) {
        ssrv_status(v, id, RSL_FX_EOF);
        return;
    }
    if (n > f->len - off)
        n = (uint32_t)(f->len - off);
    rsl_sftp_wire_begin(&v->out, RSL_FXP_DATA, id);
    rsl_sftp_wire_put_str(&v->out, f->data + off, n);
    rsl_sftp_wire_end(&v->out);
}

static inline void ssrv_setstat(ssrv *v, uint32_t id, sfile *f, const unsigned char *p,
                                const char *what)
{
    rsl_sftp_attrs a;
    size_t used = 0;
    rsl_sftp_str rest = {.p = p, .len = (uint32_t)(v->pend - p)};
    cr_assert_eq(rsl_sftp_wire_attrs(&a, rest, &used, NULL, 0), 0);
    ssrv_logf(v, "%s", what);
    if (a.flags & RSL_SFTP_ATTR_SIZE) {
        ssrv_logf(v, " size=%llu", (unsigned long long)a.size);
        ssrv_resize(f, (size_t)a.size);
    }
    if (a.flags & RSL_SFTP_ATTR_PERMISSIONS) {
        ssrv_logf(v, " perm=%o", a.perm & 07777);
        f->perm = a.perm & 07777;
    }
    if (a.flags & RSL_SFTP_ATTR_ACMODTIME)
        f->mtime = a.mtime;
    ssrv_logf(v, "\n");
    ssrv_status(v, id, RSL_FX_OK);
}

/* check-file-name / md5-hash over a whole file. */
static inline void ssrv_hash(ssrv *v, uint32_t id, const char *ext, const unsigned char *p)
{
    char path[512], algs[128] = "md5";
    ssrv_str(&p, path, sizeof(path));
    int md5 = strcmp(ext, "md5-hash") == 0;
    if (!md5)
        ssrv_str(&p, algs, sizeof(algs));
    ssrv_logf(v, "EXT %s %s %s\n", ext, path, md5 ? "" : algs);
    sfile *f = ssrv_find(v, path);
    if (f == NULL || f->is_dir) {
        ssrv_status(v, id, f ? RSL_FX_FAILURE : RSL_FX_NO_SUCH_FILE);
        return;
    }
    char first[32];
    snprintf(first, sizeof(first), "%.*s", (int)strcspn(algs, ","), algs);
    const EVP_MD *md = strcmp(first, "sha256") == 0   ? EVP_sha256()
                       : strcmp(first, "sha512") == 0 ? EVP_sha512()
                       : strcmp(first, "md5") == 0    ? EVP_md5()
                                                      : NULL;
    if (md == NULL) {
        ssrv_status(v, id, RSL_FX_OP_UNSUPPORTED);
        return;
    }
    unsigned char d[64];
    unsigned dl = 0;
    cr_assert_eq(EVP_Digest(f->data, f->len, d, &dl, md, NULL), 1);
    rsl_sftp_wire_begin(&v->out, RSL_FXP_EXTENDED_REPLY, id);
    if (md5) {
        rsl_sftp_wire_put_cstr(&v->out, "md5-hash");
        rsl_sftp_wire_put_str(&v->out, d, dl);
    } else {
        rsl_sftp_wire_put_cstr(&v->out, "check-file");
        rsl_sftp_wire_put_cstr(&v->out, first);
        memcpy(rsl_sftp_wire_put_space(&v->out, dl), d, dl);
    }
    rsl_sftp_wire_end(&v->out);
}

static inline void ssrv_rename(ssrv *v, uint32_t id, const char *a, const char *b, int posix)
{
    sfile *f = ssrv_find(v, a), *g = ssrv_find(v, b);
    ssrv_logf(v, "%s %s %s\n", posix ? "POSIX-RENAME" : "RENAME", a, b);
    if (posix && v->posix_refused) {
        ssrv_status(v, id, v->posix_refused);
        return;
    }
    if (f == NULL || (g != NULL && (!posix || g->is_dir))) {
        ssrv_status(v, id, f == NULL ? RSL_FX_NO_SUCH_FILE : RSL_FX_FAILURE);
        return;
    }
    if (g != NULL) {
        free(g->data);
        memset(g, 0, sizeof(*g));
    }
    snprintf(f->path, sizeof(f->path), "%s", b);
    ssrv_status(v, id, RSL_FX_OK);
}

static inline void ssrv_extended(ssrv *v, uint32_t id, const unsigned char *p)
{
    char name[100], a[512], b[512];
    ssrv_str(&p, name, sizeof(name));
    if (strcmp(name, "posix-rename@openssh.com") == 0) {
        ssrv_str(&p, a, sizeof(a));
        ssrv_str(&p, b, sizeof(b));
        ssrv_rename(v, id, a, b, 1);
    } else if (strcmp(name, "check-file-name") == 0 || strcmp(name, "md5-hash") == 0) {
        ssrv_hash(v, id, name, p);
    } else {
        ssrv_logf(v, "EXT %s\n", name);
        ssrv_status(v, id, RSL_FX_OP_UNSUPPORTED);
    }
}

static inline void ssrv_path_op(ssrv *v, uint8_t type, uint32_t id, const unsigned char *p)
{
    char path[512], b[512];
    ssrv_str(&p, path, sizeof(path));
    sfile *f = ssrv_find(v, path);
    switch (type) {
    case RSL_FXP_LSTAT:
    case RSL_FXP_STAT:
        ssrv_logf(v, "%s %s\n", rsl_sftp_wire_type_name(type), path);
        if (f)
            ssrv_attrs(v, id, f);
        else
            ssrv_status(v, id, RSL_FX_NO_SUCH_FILE);
        return;
    case RSL_FXP_SETSTAT:
        if (f)
            ssrv_setstat(v, id, f, p, "SETSTAT");
        else
            ssrv_status(v, id, RSL_FX_NO_SUCH_FILE);
        return;
    case RSL_FXP_REMOVE:
    case RSL_FXP_RMDIR:
        ssrv_logf(v, "%s %s\n", rsl_sftp_wire_type_name(type), path);
        if (f) {
            free(f->data);
            memset(f, 0, sizeof(*f));
        }
        ssrv_status(v, id, f ? RSL_FX_OK : RSL_FX_NO_SUCH_FILE);
        return;
    case RSL_FXP_MKDIR:
        ssrv_logf(v, "MKDIR %s\n", path);
        if (f == NULL)
            ssrv_put(v, path, "", 0, 1);
        ssrv_status(v, id, f ? RSL_FX_FAILURE : RSL_FX_OK);
        return;
    case RSL_FXP_RENAME:
        ssrv_str(&p, b, sizeof(b));
        ssrv_rename(v, id, path, b, 0);
        return;
    default:
        ssrv_logf(v, "%s ?\n", rsl_sftp_wire_type_name(type));
        ssrv_status(v, id, RSL_FX_OP_UNSUPPORTED);
    }
}

static inline void ssrv_answer(ssrv *v, uint8_t type, uint32_t id, const unsigned char *p)
{
    uint32_t hi;
    switch (type) {
    case RSL_FXP_OPEN:
        ssrv_open(v, id, p, 0);
        return;
    case RSL_FXP_WRITE:
        ssrv_write(v, id, p);
        return;
    case RSL_FXP_READ:
        ssrv_read(v, id, p);
        return;
    case RSL_FXP_CLOSE:
        ssrv_handle(v, &p, &hi)->used = 0;
        ssrv_logf(v, "CLOSE\n");
        ssrv_status(v, id, RSL_FX_OK);
        return;
    case RSL_FXP_FSTAT: {
        shandle *h = ssrv_handle(v, &p, &hi);
        ssrv_logf(v, "FSTAT\n");
        ssrv_attrs(v, id, &v->f[h->file]);
        return;
    }
    case RSL_FXP_FSETSTAT: {
        shandle *h = ssrv_handle(v, &p, &hi);
        ssrv_setstat(v, id, &v->f[h->file], p, "FSETSTAT");
        return;
    }
    case RSL_FXP_EXTENDED:
        ssrv_extended(v, id, p);
        return;
    default:
        ssrv_path_op(v, type, id, p);
    }
}

static inline ssize_t ssrv_send(rsl_sftp_carrier *c, const void *p, size_t n, rsl_err *err)
{
    (void)err;
    ssrv *v = (ssrv *)c;
    if (v->inlen + n > v->incap) {
        v->incap = (v->inlen + n) * 2;
        v->in = realloc(v->in, v->incap);
        cr_assert_not_null(v->in);
    }
    memcpy(v->in + v->inlen, p, n);
    v->inlen += n;
    size_t off = 0;
    while (v->inlen - off >= 4 && v->inlen - off - 4 >= ssrv_be32(v->in + off)) {
        const unsigned char *q = v->in + off;
        v->pend = q + 4 + ssrv_be32(q);
        if (q[4] == RSL_FXP_INIT)
            ssrv_init_reply(v);
        else
            ssrv_answer(v, q[4], ssrv_be32(q + 5), q + 9);
        off += 4 + ssrv_be32(q);
    }
    memmove(v->in, v->in + off, v->inlen - off);
    v->inlen -= off;
    return (ssize_t)n;
}

static inline ssize_t ssrv_recv(rsl_sftp_carrier *c, void *p, size_t n, rsl_err *err)
{
    (void)err;
    ssrv *v = (ssrv *)c;
    size_t k = v->out.len - v->out_off;
    if (k > n)
        k = n;
    memcpy(p, v->out.p + v->out_off, k);
    v->out_off += k;
    if (v->out_off == v->out.len)
        v->out.len = v->out_off = 0;
    return (ssize_t)k;
}

static inline int ssrv_wait_fds(rsl_sftp_carrier *c, int want_send, struct pollfd *fds, int max)
{
    (void)c;
    (void)want_send;
    if (max < 1)
        return 0;
    fds[0].fd = -1; /* nothing to wait for: poll sleeps until the tick */
    fds[0].events = 0;
    return 1;
}

static inline int ssrv_tick_ms(rsl_sftp_carrier *c)
{
    (void)c;
    return 20;
}

static inline void ssrv_close(rsl_sftp_carrier *c, int abort_)
{
    (void)c;
    (void)abort_;
}

static const rsl_sftp_carrier_ops ssrv_ops = {.name = "script",
                                              .send = ssrv_send,
                                              .recv = ssrv_recv,
                                              .wait_fds = ssrv_wait_fds,
                                              .tick_ms = ssrv_tick_ms,
                                              .close = ssrv_close};

/* A server with the root directory /r. */
static inline ssrv *ssrv_new(void)
{
    ssrv *v = calloc(1, sizeof(*v));
    cr_assert_not_null(v);
    v->base.ops = &ssrv_ops;
    ssrv_put(v, "/r", "", 0, 1);
    return v;
}

static inline void ssrv_free(ssrv *v)
{
    for (int i = 0; i < SSRV_FILES; i++)
        free(v->f[i].data);
    free(v->in);
    rsl_sftp_buf_free(&v->out);
    free(v);
}

#endif
