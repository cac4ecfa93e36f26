/*
 * sftp_wire.c - SFTP v3 packet encoding and decoding. See sftp_wire.h.
 */
#include "sftp_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PKT_MAX 0xFFFFFFF0u /* longest length field an encoder writes */

/* ------------------------------------------------------------------ */
/* encoding */

void rsl_sftp_buf_free(rsl_sftp_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static int reserve(rsl_sftp_buf *b, size_t n)
{
    if (b->bad)
        return -1;
    if (n > PKT_MAX || b->len > SIZE_MAX / 2 - n) {
        b->bad = 1;
        return -1;
    }
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->bad = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

unsigned char *rsl_sftp_wire_put_space(rsl_sftp_buf *b, size_t n)
{
    if (reserve(b, n) != 0)
        return NULL;
    unsigned char *p = b->p + b->len;
    b->len += n;
    return p;
}

void rsl_sftp_wire_put_u8(rsl_sftp_buf *b, uint8_t v)
{
    unsigned char *p = rsl_sftp_wire_put_space(b, 1);
    if (p)
        p[0] = v;
}

void rsl_sftp_wire_put_u32(rsl_sftp_buf *b, uint32_t v)
{
    unsigned char *p = rsl_sftp_wire_put_space(b, 4);
    if (p)
        be32(p, v);
}

void rsl_sftp_wire_put_u64(rsl_sftp_buf *b, uint64_t v)
{
    unsigned char *p = rsl_sftp_wire_put_space(b, 8);
    if (p) {
        be32(p, (uint32_t)(v >> 32));
        be32(p + 4, (uint32_t)v);
    }
}

void rsl_sftp_wire_put_str(rsl_sftp_buf *b, const void *s, size_t n)
{
    if (n > PKT_MAX) {
        b->bad = 1;
        return;
    }
    unsigned char *p = rsl_sftp_wire_put_space(b, 4 + n);
    if (p) {
        be32(p, (uint32_t)n);
        if (n)
            memcpy(p + 4, s, n);
    }
}

void rsl_sftp_wire_put_cstr(rsl_sftp_buf *b, const char *s)
{
    rsl_sftp_wire_put_str(b, s, strlen(s));
}

void rsl_sftp_wire_put_attrs(rsl_sftp_buf *b, const rsl_sftp_attrs *a)
{
    if (a == NULL) {
        rsl_sftp_wire_put_u32(b, 0);
        return;
    }
    rsl_sftp_wire_put_u32(b, a->flags);
    if (a->flags & RSL_SFTP_ATTR_SIZE)
        rsl_sftp_wire_put_u64(b, a->size);
    if (a->flags & RSL_SFTP_ATTR_UIDGID) {
        rsl_sftp_wire_put_u32(b, a->uid);
        rsl_sftp_wire_put_u32(b, a->gid);
    }
    if (a->flags & RSL_SFTP_ATTR_PERMISSIONS)
        rsl_sftp_wire_put_u32(b, a->perm);
    if (a->flags & RSL_SFTP_ATTR_ACMODTIME) {
        rsl_sftp_wire_put_u32(b, a->atime);
        rsl_sftp_wire_put_u32(b, a->mtime);
    }
    if (a->flags & RSL_SFTP_ATTR_EXTENDED) {
        rsl_sftp_wire_put_u32(b, a->ext_count);
        unsigned char *p = rsl_sftp_wire_put_space(b, a->ext.len);
        if (p && a->ext.len)
            memcpy(p, a->ext.p, a->ext.len);
    }
}

void rsl_sftp_wire_begin(rsl_sftp_buf *b, uint8_t type, uint32_t id)
{
    b->start = b->len;
    rsl_sftp_wire_put_u32(b, 0); /* length, filled by end() */
    rsl_sftp_wire_put_u8(b, type);
    if (type != RSL_FXP_INIT)
        rsl_sftp_wire_put_u32(b, id);
}

void rsl_sftp_wire_end(rsl_sftp_buf *b)
{
    if (b->bad || b->len < b->start + 5)
        return;
    size_t body = b->len - b->start - 4;
    if (body > PKT_MAX) {
        b->bad = 1;
        return;
    }
    be32(b->p + b->start, (uint32_t)body);
}

static void put_handle(rsl_sftp_buf *b, const rsl_sftp_handle *h)
{
    if (h->len > RSL_SFTP_MAX_HANDLE) {
        b->bad = 1;
        return;
    }
    rsl_sftp_wire_put_str(b, h->b, h->len);
}

void rsl_sftp_wire_init(rsl_sftp_buf *b, uint32_t version)
{
    rsl_sftp_wire_begin(b, RSL_FXP_INIT, 0);
    rsl_sftp_wire_put_u32(b, version);
    rsl_sftp_wire_end(b);
}

void rsl_sftp_wire_open(rsl_sftp_buf *b, uint32_t id, const char *path, uint32_t pflags,
                        const rsl_sftp_attrs *a)
{
    rsl_sftp_wire_begin(b, RSL_FXP_OPEN, id);
    rsl_sftp_wire_put_cstr(b, path);
    rsl_sftp_wire_put_u32(b, pflags);
    rsl_sftp_wire_put_attrs(b, a);
    rsl_sftp_wire_end(b);
}

/* A request whose only field is a handle. */
static void handle_req(rsl_sftp_buf *b, uint8_t type, uint32_t id, const rsl_sftp_handle *h)
{
    rsl_sftp_wire_begin(b, type, id);
    put_handle(b, h);
    rsl_sftp_wire_end(b);
}

/* A request whose only field is a path. */
static void path_req(rsl_sftp_buf *b, uint8_t type, uint32_t id, const char *path)
{
    rsl_sftp_wire_begin(b, type, id);
    rsl_sftp_wire_put_cstr(b, path);
    rsl_sftp_wire_end(b);
}

/* A request of two paths. */
static void two_path_req(rsl_sftp_buf *b, uint8_t type, uint32_t id, const char *ext,
                         const char *p1, const char *p2)
{
    rsl_sftp_wire_begin(b, type, id);
    if (ext)
        rsl_sftp_wire_put_cstr(b, ext);
    rsl_sftp_wire_put_cstr(b, p1);
    rsl_sftp_wire_put_cstr(b, p2);
    rsl_sftp_wire_end(b);
}

void rsl_sftp_wire_close(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h)
{
    handle_req(b, RSL_FXP_CLOSE, id, h);
}

void rsl_sftp_wire_read(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h, uint64_t off,
                        uint32_t len)
{
    rsl_sftp_wire_begin(b, RSL_FXP_READ, id);
    put_handle(b, h);
    rsl_sftp_wire_put_u64(b, off);
    rsl_sftp_wire_put_u32(b, len);
    rsl_sftp_wire_end(b);
}

unsigned char *rsl_sftp_wire_write_begin(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h,
                                         uint64_t off, uint32_t n)
{
    rsl_sftp_wire_begin(b, RSL_FXP_WRITE, id);
    put_handle(b, h);
    rsl_sftp_wire_put_u64(b, off);
    rsl_sftp_wire_put_u32(b, n);
    unsigned char *p = rsl_sftp_wire_put_space(b, n);
    rsl_sftp_wire_end(b);
    /* put_space may have moved the buffer: recompute from the end */
    return p ? b->p + b->len - n : NULL;
}

void rsl_sftp_wire_write(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h, uint64_t off,
                         const void *data, uint32_t n)
{
    unsigned char *p = rsl_sftp_wire_write_begin(b, id, h, off, n);
    if (p && n)
        memcpy(p, data, n);
}

void rsl_sftp_wire_lstat(rsl_sftp_buf *b, uint32_t id, const char *path)
{
    path_req(b, RSL_FXP_LSTAT, id, path);
}

void rsl_sftp_wire_stat(rsl_sftp_buf *b, uint32_t id, const char *path)
{
    path_req(b, RSL_FXP_STAT, id, path);
}

void rsl_sftp_wire_fstat(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h)
{
    handle_req(b, RSL_FXP_FSTAT, id, h);
}

void rsl_sftp_wire_setstat(rsl_sftp_buf *b, uint32_t id, const char *path, const rsl_sftp_attrs *a)
{
    rsl_sftp_wire_begin(b, RSL_FXP_SETSTAT, id);
    rsl_sftp_wire_put_cstr(b, path);
    rsl_sftp_wire_put_attrs(b, a);
    rsl_sftp_wire_end(b);
}

void rsl_sftp_wire_fsetstat(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h,
                            const rsl_sftp_attrs *a)
{
    rsl_sftp_wire_begin(b, RSL_FXP_FSETSTAT, id);
    put_handle(b, h);
    rsl_sftp_wire_put_attrs(b, a);
    rsl_sftp_wire_end(b);
}

void rsl_sftp_wire_opendir(rsl_sftp_buf *b, uint32_t id, const char *path)
{
    path_req(b, RSL_FXP_OPENDIR, id, path);
}

void rsl_sftp_wire_readdir(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h)
{
    handle_req(b, RSL_FXP_READDIR, id, h);
}

void rsl_sftp_wire_remove(rsl_sftp_buf *b, uint32_t id, const char *path)
{
    path_req(b, RSL_FXP_REMOVE, id, path);
}

void rsl_sftp_wire_mkdir(rsl_sftp_buf *b, uint32_t id, const char *path, const rsl_sftp_attrs *a)
{
    rsl_sftp_wire_begin(b, RSL_FXP_MKDIR, id);
    rsl_sftp_wire_put_cstr(b, path);
    rsl_sftp_wire_put_attrs(b, a);
    rsl_sftp_wire_end(b);
}

void rsl_sftp_wire_rmdir(rsl_sftp_buf *b, uint32_t id, const char *path)
{
    path_req(b, RSL_FXP_RMDIR, id, path);
}

void rsl_sftp_wire_realpath(rsl_sftp_buf *b, uint32_t id, const char *path)
{
    path_req(b, RSL_FXP_REALPATH, id, path);
}

void rsl_sftp_wire_rename(rsl_sftp_buf *b, uint32_t id, const char *oldpath, const char *newpath)
{
    two_path_req(b, RSL_FXP_RENAME, id, NULL, oldpath, newpath);
}

void rsl_sftp_wire_symlink(rsl_sftp_buf *b, uint32_t id, const char *target, const char *linkpath)
{
    two_path_req(b, RSL_FXP_SYMLINK, id, NULL, target, linkpath);
}

void rsl_sftp_wire_posix_rename(rsl_sftp_buf *b, uint32_t id, const char *oldpath,
                                const char *newpath)
{
    two_path_req(b, RSL_FXP_EXTENDED, id, "posix-rename@openssh.com", oldpath, newpath);
}

void rsl_sftp_wire_hardlink(rsl_sftp_buf *b, uint32_t id, const char *oldpath, const char *newpath)
{
    two_path_req(b, RSL_FXP_EXTENDED, id, "hardlink@openssh.com", oldpath, newpath);
}

void rsl_sftp_wire_fsync(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h)
{
    rsl_sftp_wire_begin(b, RSL_FXP_EXTENDED, id);
    rsl_sftp_wire_put_cstr(b, "fsync@openssh.com");
    put_handle(b, h);
    rsl_sftp_wire_end(b);
}

void rsl_sftp_wire_limits(rsl_sftp_buf *b, uint32_t id)
{
    rsl_sftp_wire_begin(b, RSL_FXP_EXTENDED, id);
    rsl_sftp_wire_put_cstr(b, "limits@openssh.com");
    rsl_sftp_wire_end(b);
}

void rsl_sftp_wire_statvfs(rsl_sftp_buf *b, uint32_t id, const char *path)
{
    rsl_sftp_wire_begin(b, RSL_FXP_EXTENDED, id);
    rsl_sftp_wire_put_cstr(b, "statvfs@openssh.com");
    rsl_sftp_wire_put_cstr(b, path);
    rsl_sftp_wire_end(b);
}

static void check_file_tail(rsl_sftp_buf *b, const char *algs, uint64_t off, uint64_t len,
                            uint32_t block_size)
{
    rsl_sftp_wire_put_cstr(b, algs);
    rsl_sftp_wire_put_u64(b, off);
    rsl_sftp_wire_put_u64(b, len);
    rsl_sftp_wire_put_u32(b, block_size);
    rsl_sftp_wire_end(b);
}

void rsl_sftp_wire_check_file_handle(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h,
                                     const char *algs, uint64_t off, uint64_t len,
                                     uint32_t block_size)
{
    rsl_sftp_wire_begin(b, RSL_FXP_EXTENDED, id);
    rsl_sftp_wire_put_cstr(b, "check-file-handle");
    put_handle(b, h);
    check_file_tail(b, algs, off, len, block_size);
}

void rsl_sftp_wire_check_file_name(rsl_sftp_buf *b, uint32_t id, const char *path, const char *algs,
                                   uint64_t off, uint64_t len, uint32_t block_size)
{
    rsl_sftp_wire_begin(b, RSL_FXP_EXTENDED, id);
    rsl_sftp_wire_put_cstr(b, "check-file-name");
    rsl_sftp_wire_put_cstr(b, path);
    check_file_tail(b, algs, off, len, block_size);
}

void rsl_sftp_wire_md5_hash(rsl_sftp_buf *b, uint32_t id, const char *path, uint64_t off,
                            uint64_t len, const void *quick, size_t quick_len)
{
    rsl_sftp_wire_begin(b, RSL_FXP_EXTENDED, id);
    rsl_sftp_wire_put_cstr(b, "md5-hash");
    rsl_sftp_wire_put_cstr(b, path);
    rsl_sftp_wire_put_u64(b, off);
    rsl_sftp_wire_put_u64(b, len);
    rsl_sftp_wire_put_str(b, quick, quick_len);
    rsl_sftp_wire_end(b);
}

void rsl_sftp_wire_md5_hash_handle(rsl_sftp_buf *b, uint32_t id, const rsl_sftp_handle *h,
                                   uint64_t off, uint64_t len, const void *quick, size_t quick_len)
{
    rsl_sftp_wire_begin(b, RSL_FXP_EXTENDED, id);
    rsl_sftp_wire_put_cstr(b, "md5-hash-handle");
    put_handle(b, h);
    rsl_sftp_wire_put_u64(b, off);
    rsl_sftp_wire_put_u64(b, len);
    rsl_sftp_wire_put_str(b, quick, quick_len);
    rsl_sftp_wire_end(b);
}

/* ------------------------------------------------------------------ */
/* decoding */

/* A bounds-checked reader. `what` names the structure for messages. */
typedef struct rd {
    const unsigned char *p;
    size_t n, off;
    const char *what;
    char *why;
    size_t whysz;
} rd;

static int fail(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whysz, const char *fmt, ...)
{
    if (why != NULL && whysz > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whysz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint32_t ld32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int need(rd *r, size_t k, const char *field)
{
    if (r->n - r->off >= k)
        return 0;
    return fail(r->why, r->whysz, "%s truncated in its %s (%zu bytes needed, %zu left)", r->what,
                field, k, r->n - r->off);
}

static int get_u8(rd *r, uint8_t *v, const char *field)
{
    if (need(r, 1, field) != 0)
        return -1;
    *v = r->p[r->off++];
    return 0;
}

static int get_u32(rd *r, uint32_t *v, const char *field)
{
    if (need(r, 4, field) != 0)
        return -1;
    *v = ld32(r->p + r->off);
    r->off += 4;
    return 0;
}

static int get_u64(rd *r, uint64_t *v, const char *field)
{
    if (need(r, 8, field) != 0)
        return -1;
    *v = ((uint64_t)ld32(r->p + r->off) << 32) | ld32(r->p + r->off + 4);
    r->off += 8;
    return 0;
}

static int get_str(rd *r, rsl_sftp_str *s, const char *field)
{
    uint32_t len;
    if (get_u32(r, &len, field) != 0)
        return -1;
    if (r->n - r->off < len)
        return fail(r->why, r->whysz,
                    "%s: the %s claims %u bytes but only %zu are left in the packet", r->what,
                    field, len, r->n - r->off);
    s->p = r->p + r->off;
    s->len = len;
    r->off += len;
    return 0;
}

static rd reader(const unsigned char *p, size_t n, const char *what, char *why, size_t whysz)
{
    rd r = {p, n, 0, what, why, whysz};
    return r;
}

/* Reads ATTRS at the reader's position. */
static int get_attrs(rd *r, rsl_sftp_attrs *a)
{
    memset(a, 0, sizeof(*a));
    if (get_u32(r, &a->flags, "attribute flags") != 0)
        return -1;
    if ((a->flags & RSL_SFTP_ATTR_SIZE) && get_u64(r, &a->size, "size") != 0)
        return -1;
    if ((a->flags & RSL_SFTP_ATTR_UIDGID) &&
        (get_u32(r, &a->uid, "uid") != 0 || get_u32(r, &a->gid, "gid") != 0))
        return -1;
    if ((a->flags & RSL_SFTP_ATTR_PERMISSIONS) && get_u32(r, &a->perm, "permissions") != 0)
        return -1;
    if ((a->flags & RSL_SFTP_ATTR_ACMODTIME) &&
        (get_u32(r, &a->atime, "atime") != 0 || get_u32(r, &a->mtime, "mtime") != 0))
        return -1;
    if (!(a->flags & RSL_SFTP_ATTR_EXTENDED))
        return 0;
    if (get_u32(r, &a->ext_count, "extended attribute count") != 0)
        return -1;
    /* each pair takes at least 8 bytes: refuse impossible counts at once */
    if (a->ext_count > (r->n - r->off) / 8)
        return fail(r->why, r->whysz, "%s: %u extended attributes cannot fit in %zu bytes", r->what,
                    a->ext_count, r->n - r->off);
    size_t begin = r->off;
    for (uint32_t i = 0; i < a->ext_count; i++) {
        rsl_sftp_str name, value;
        if (get_str(r, &name, "extended attribute name") != 0 ||
            get_str(r, &value, "extended attribute value") != 0)
            return -1;
    }
    a->ext.p = r->p + begin;
    a->ext.len = (uint32_t)(r->off - begin);
    return 0;
}

int rsl_sftp_wire_attrs(rsl_sftp_attrs *a, rsl_sftp_str s, size_t *used, char *why, size_t whysz)
{
    rd r = reader(s.p, s.len, "ATTRS", why, whysz);
    if (get_attrs(&r, a) != 0)
        return -1;
    if (used)
        *used = r.off;
    return 0;
}

int rsl_sftp_wire_frame(const unsigned char *p, size_t n, size_t cap, uint32_t *body, char *why,
                        size_t whysz)
{
    if (n < 4)
        return 0;
    uint32_t len = ld32(p);
    if (len == 0)
        return fail(why, whysz, "packet of length 0");
    if (len > cap)
        return fail(why, whysz, "packet of %u bytes is over the %zu-byte limit", len, cap);
    if (n - 4 < len)
        return 0;
    *body = len;
    return 1;
}

/* NAME: count entries of (filename, longname, ATTRS). */
static int get_names(rd *r, rsl_sftp_reply *out)
{
    if (get_u32(r, &out->count, "count") != 0)
        return -1;
    /* an entry takes at least 12 bytes (two empty strings and flags) */
    if (out->count > (r->n - r->off) / 12)
        return fail(r->why, r->whysz, "NAME reply: %u entries cannot fit in %zu bytes", out->count,
                    r->n - r->off);
    size_t begin = r->off;
    for (uint32_t i = 0; i < out->count; i++) {
        rsl_sftp_str a, b;
        rsl_sftp_attrs at;
        if (get_str(r, &a, "file name") != 0 || get_str(r, &b, "long name") != 0 ||
            get_attrs(r, &at) != 0)
            return -1;
    }
    out->names.p = r->p + begin;
    out->names.len = (uint32_t)(r->off - begin);
    return 0;
}

static int get_status(rd *r, rsl_sftp_reply *out)
{
    if (get_u32(r, &out->status, "status code") != 0)
        return -1;
    /* version 3 has message and language; some old servers send neither */
    if (r->off == r->n)
        return 0;
    if (get_str(r, &out->msg, "error message") != 0)
        return -1;
    if (r->off == r->n)
        return 0;
    return get_str(r, &out->lang, "language tag");
}

int rsl_sftp_wire_reply(rsl_sftp_reply *out, const unsigned char *p, size_t n, char *why,
                        size_t whysz)
{
    memset(out, 0, sizeof(*out));
    if (n < 1)
        return fail(why, whysz, "empty packet");
    out->type = p[0];
    rd r = reader(p, n, rsl_sftp_wire_type_name(out->type), why, whysz);
    r.off = 1;
    switch (out->type) {
    case RSL_FXP_STATUS:
    case RSL_FXP_HANDLE:
    case RSL_FXP_DATA:
    case RSL_FXP_NAME:
    case RSL_FXP_ATTRS:
    case RSL_FXP_EXTENDED_REPLY:
        break;
    default:
        return fail(why, whysz, "unexpected packet type %u (%s) from the server", out->type,
                    rsl_sftp_wire_type_name(out->type));
    }
    if (get_u32(&r, &out->id, "request id") != 0)
        return -1;
    switch (out->type) {
    case RSL_FXP_STATUS:
        return get_status(&r, out);
    case RSL_FXP_HANDLE:
        if (get_str(&r, &out->handle, "handle") != 0)
            return -1;
        if (out->handle.len == 0 || out->handle.len > RSL_SFTP_MAX_HANDLE)
            return fail(why, whysz, "HANDLE reply with a handle of %u bytes (1 to %d allowed)",
                        out->handle.len, RSL_SFTP_MAX_HANDLE);
        return 0;
    case RSL_FXP_DATA:
        return get_str(&r, &out->data, "data");
    case RSL_FXP_NAME:
        return get_names(&r, out);
    case RSL_FXP_ATTRS:
        return get_attrs(&r, &out->attrs);
    default: /* EXTENDED_REPLY: the rest belongs to the extension */
        out->ext.p = p + r.off;
        out->ext.len = (uint32_t)(n - r.off);
        return 0;
    }
}

int rsl_sftp_wire_version(rsl_sftp_hello *v, const unsigned char *p, size_t n, char *why,
                          size_t whysz)
{
    memset(v, 0, sizeof(*v));
    rd r = reader(p, n, "VERSION", why, whysz);
    uint8_t type;
    if (get_u8(&r, &type, "type") != 0)
        return -1;
    if (type != RSL_FXP_VERSION)
        return fail(why, whysz, "expected VERSION, got packet type %u (%s)", type,
                    rsl_sftp_wire_type_name(type));
    if (get_u32(&r, &v->version, "version") != 0)
        return -1;
    size_t begin = r.off;
    while (r.off < r.n) {
        rsl_sftp_str name, value;
        if (get_str(&r, &name, "extension name") != 0 || get_str(&r, &value, "extension data") != 0)
            return -1;
        v->count++;
    }
    v->ext.p = p + begin;
    v->ext.len = (uint32_t)(r.off - begin);
    return 0;
}

int rsl_sftp_wire_pair_next(rsl_sftp_str *rest, rsl_sftp_str *name, rsl_sftp_str *value)
{
    if (rest->len == 0)
        return 0;
    rd r = reader(rest->p, rest->len, "pair", NULL, 0);
    if (get_str(&r, name, "name") != 0 || get_str(&r, value, "value") != 0)
        return -1;
    rest->p += r.off;
    rest->len -= (uint32_t)r.off;
    return 1;
}

int rsl_sftp_wire_name_next(rsl_sftp_str *rest, rsl_sftp_name *out)
{
    if (rest->len == 0)
        return 0;
    rd r = reader(rest->p, rest->len, "NAME entry", NULL, 0);
    if (get_str(&r, &out->name, "name") != 0 || get_str(&r, &out->longname, "long name") != 0 ||
        get_attrs(&r, &out->attrs) != 0)
        return -1;
    rest->p += r.off;
    rest->len -= (uint32_t)r.off;
    return 1;
}

int rsl_sftp_wire_limits_reply(rsl_sftp_limits *l, rsl_sftp_str ext, char *why, size_t whysz)
{
    rd r = reader(ext.p, ext.len, "limits@openssh.com reply", why, whysz);
    memset(l, 0, sizeof(*l));
    if (get_u64(&r, &l->max_packet, "max packet length") != 0 ||
        get_u64(&r, &l->max_read, "max read length") != 0 ||
        get_u64(&r, &l->max_write, "max write length") != 0 ||
        get_u64(&r, &l->max_handles, "max open handles") != 0)
        return -1;
    return 0;
}

int rsl_sftp_wire_statvfs_reply(rsl_sftp_statvfs *v, rsl_sftp_str ext, char *why, size_t whysz)
{
    rd r = reader(ext.p, ext.len, "statvfs@openssh.com reply", why, whysz);
    uint64_t *f[] = {&v->bsize, &v->frsize, &v->blocks, &v->bfree, &v->bavail, &v->files,
                     &v->ffree, &v->favail, &v->fsid,   &v->flag,  &v->namemax};
    memset(v, 0, sizeof(*v));
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (get_u64(&r, f[i], "fields") != 0)
            return -1;
    return 0;
}

int rsl_sftp_wire_check_file_reply(rsl_sftp_str *alg, rsl_sftp_str *hash, rsl_sftp_str ext,
                                   char *why, size_t whysz)
{
    rd r = reader(ext.p, ext.len, "check-file reply", why, whysz);
    rsl_sftp_str name;
    if (get_str(&r, &name, "extension name") != 0 || get_str(&r, alg, "hash algorithm") != 0)
        return -1;
    if (!rsl_sftp_str_eq(name, "check-file"))
        return fail(why, whysz, "check-file reply names another extension");
    if (alg->len == 0)
        return fail(why, whysz, "check-file reply without a hash algorithm");
    hash->p = r.p + r.off;
    hash->len = (uint32_t)(r.n - r.off);
    return 0;
}

int rsl_sftp_wire_md5_hash_reply(rsl_sftp_str *hash, rsl_sftp_str ext, char *why, size_t whysz)
{
    rd r = reader(ext.p, ext.len, "md5-hash reply", why, whysz);
    rsl_sftp_str name;
    if (get_str(&r, &name, "extension name") != 0 || get_str(&r, hash, "hash") != 0)
        return -1;
    if (!rsl_sftp_str_eq(name, "md5-hash"))
        return fail(why, whysz, "md5-hash reply names another extension");
    if (hash->len != 0 && hash->len != 16)
        return fail(why, whysz, "md5-hash reply with a %u-byte hash (16 expected)", hash->len);
    return 0;
}

int rsl_sftp_str_eq(rsl_sftp_str s, const char *c)
{
    size_t l = strlen(c);
    return s.len == l && (l == 0 || memcmp(s.p, c, l) == 0);
}

const char *rsl_sftp_wire_type_name(unsigned type)
{
    static const char *const req[] = {
        "?",     "INIT",  "VERSION",  "OPEN",     "CLOSE",   "READ",     "WRITE",
        "LSTAT", "FSTAT", "SETSTAT",  "FSETSTAT", "OPENDIR", "READDIR",  "REMOVE",
        "MKDIR", "RMDIR", "REALPATH", "STAT",     "RENAME",  "READLINK", "SYMLINK"};
    static const char *const rep[] = {"STATUS", "HANDLE", "DATA", "NAME", "ATTRS"};
    if (type < sizeof(req) / sizeof(req[0]))
        return req[type];
    if (type >= 101 && type <= 105)
        return rep[type - 101];
    if (type == RSL_FXP_EXTENDED)
        return "EXTENDED";
    if (type == RSL_FXP_EXTENDED_REPLY)
        return "EXTENDED_REPLY";
    return "unknown";
}

const char *rsl_sftp_wire_status_name(uint32_t status)
{
    static const char *const names[] = {"OK",
                                        "EOF",
                                        "NO_SUCH_FILE",
                                        "PERMISSION_DENIED",
                                        "FAILURE",
                                        "BAD_MESSAGE",
                                        "NO_CONNECTION",
                                        "CONNECTION_LOST",
                                        "OP_UNSUPPORTED",
                                        "INVALID_HANDLE",
                                        "NO_SUCH_PATH",
                                        "FILE_ALREADY_EXISTS",
                                        "WRITE_PROTECT",
                                        "NO_MEDIA",
                                        "NO_SPACE_ON_FILESYSTEM",
                                        "QUOTA_EXCEEDED",
                                        "UNKNOWN_PRINCIPAL",
                                        "LOCK_CONFLICT",
                                        "DIR_NOT_EMPTY",
                                        "NOT_A_DIRECTORY",
                                        "INVALID_FILENAME",
                                        "LINK_LOOP",
                                        "CANNOT_DELETE",
                                        "INVALID_PARAMETER",
                                        "FILE_IS_A_DIRECTORY"};
    return status < sizeof(names) / sizeof(names[0]) ? names[status] : "UNKNOWN";
}

char *rsl_sftp_str_dup(rsl_sftp_str v)
{
    char *p = malloc((size_t)v.len + 1);
    if (p != NULL) {
        if (v.len)
            memcpy(p, v.p, v.len);
        p[v.len] = '\0';
    }
    return p;
}
