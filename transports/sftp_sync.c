/*
 * sftp_sync.c - one-request-at-a-time helpers over the SFTP client. See
 * sftp_sync.h.
 */
#include "sftp_sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PATH_BUF 4096

/* A reply waited for: a copy of its packet (decoded again by sync_wait). */
typedef struct sync {
    int done, oom;
    unsigned char *pkt;
    size_t len;
} sync;

static void sync_cb(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)r;
    sync *y = ud;
    size_t n = 0;
    const unsigned char *p = rsl_sftp_client_packet(s, &n);
    y->done = 1;
    if ((y->pkt = malloc(n ? n : 1)) == NULL) {
        y->oom = 1;
        return;
    }
    memcpy(y->pkt, p, n);
    y->len = n;
}

static rsl_code sync_wait(rsl_sftp_client *s, sync *y, rsl_sftp_reply *r, rsl_err *err)
{
    rsl_code rc;
    while (!y->done) {
        if ((rc = rsl_sftp_client_pump(s, 1, err)) != RSL_OK)
            return rc;
        if (!y->done && rsl_sftp_client_outstanding(s) == 0) { /* never expected */
            rsl_sftp_client_fail(s, RSL_E_INTERNAL, "the reply to an SFTP request was lost");
            return rsl_sftp_client_error(s, err);
        }
    }
    if (y->oom) {
        rsl_sftp_client_fail(s, RSL_E_NO_MEMORY, "out of memory");
        return rsl_sftp_client_error(s, err);
    }
    rsl_sftp_wire_reply(r, y->pkt, y->len, NULL, 0); /* decoded once already */
    return RSL_OK;
}

static rsl_code too_long(rsl_sftp_client *s, const char *rel, rsl_err *err)
{
    return rsl_err_set(err, RSL_E_REMOTE_NAME_REFUSED, ENAMETOOLONG,
                       "'%.100s%s' on %s: remote path longer than %d bytes", rel,
                       strlen(rel) > 100 ? "..." : "", rsl_sftp_client_host(s), PATH_BUF - 1);
}

/* One request on one path; waits for a STATUS. enc encodes it. */
static rsl_code path_op(rsl_sftp_client *s, const char *rel, const char *what,
                        void (*enc)(rsl_sftp_buf *, uint32_t, const char *), rsl_err *err)
{
    char path[PATH_BUF];
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    sync y = {0};
    enc(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), path);
    rsl_sftp_reply r;
    rsl_code rc = sync_wait(s, &y, &r, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_client_status(s, &r, what, rel, err);
    free(y.pkt);
    return rc;
}

rsl_code rsl_sftp_sync_rmdir(rsl_sftp_client *s, const char *rel, rsl_err *err)
{
    return path_op(s, rel, "rmdir", rsl_sftp_wire_rmdir, err);
}

rsl_code rsl_sftp_sync_remove(rsl_sftp_client *s, const char *rel, rsl_err *err)
{
    return path_op(s, rel, "remove", rsl_sftp_wire_remove, err);
}

rsl_code rsl_sftp_sync_stat(rsl_sftp_client *s, const char *rel, int lstat, rsl_sftp_attrs *a,
                            int *exists, rsl_err *err)
{
    char path[PATH_BUF];
    *exists = 0;
    memset(a, 0, sizeof(*a));
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    sync y = {0};
    uint32_t id = rsl_sftp_client_request(s, sync_cb, &y);
    (lstat ? rsl_sftp_wire_lstat : rsl_sftp_wire_stat)(rsl_sftp_client_out(s), id, path);
    rsl_sftp_reply r;
    rsl_code rc = sync_wait(s, &y, &r, err);
    if (rc == RSL_OK &&
        (rc = rsl_sftp_client_expect(s, &r, RSL_FXP_ATTRS, "stat", rel, err)) == RSL_OK) {
        *a = r.attrs;
        a->ext.p = NULL; /* points into the freed packet */
        a->ext.len = 0;
        *exists = 1;
    } else if (rc == RSL_E_REMOTE_NOT_FOUND) {
        rsl_err_clear(err);
        rc = RSL_OK;
    }
    free(y.pkt);
    return rc;
}

rsl_code rsl_sftp_sync_mkdir(rsl_sftp_client *s, const char *rel, uint32_t mode, rsl_err *err)
{
    char path[PATH_BUF];
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    rsl_sftp_attrs a = {.flags = mode ? RSL_SFTP_ATTR_PERMISSIONS : 0, .perm = mode};
    sync y = {0};
    rsl_sftp_wire_mkdir(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), path, &a);
    rsl_sftp_reply r;
    rsl_code rc = sync_wait(s, &y, &r, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_client_status(s, &r, "mkdir", rel, err);
    free(y.pkt);
    return rc;
}

rsl_code rsl_sftp_sync_setstat(rsl_sftp_client *s, const char *rel, const rsl_sftp_attrs *a,
                               rsl_err *err)
{
    char path[PATH_BUF];
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    sync y = {0};
    rsl_sftp_wire_setstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), path, a);
    rsl_sftp_reply r;
    rsl_code rc = sync_wait(s, &y, &r, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_client_status(s, &r, "setstat", rel, err);
    free(y.pkt);
    return rc;
}

rsl_code rsl_sftp_sync_rename(rsl_sftp_client *s, const char *from, const char *to, int posix,
                              rsl_err *err)
{
    char pf[PATH_BUF], pt[PATH_BUF];
    if (rsl_sftp_client_path(s, from, pf, sizeof(pf)) < 0 ||
        rsl_sftp_client_path(s, to, pt, sizeof(pt)) < 0)
        return too_long(s, to, err);
    sync y = {0};
    uint32_t id = rsl_sftp_client_request(s, sync_cb, &y);
    if (posix && (rsl_sftp_client_exts(s) & RSL_SFTP_EXT_POSIX_RENAME))
        rsl_sftp_wire_posix_rename(rsl_sftp_client_out(s), id, pf, pt);
    else
        rsl_sftp_wire_rename(rsl_sftp_client_out(s), id, pf, pt);
    rsl_sftp_reply r;
    rsl_code rc = sync_wait(s, &y, &r, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_client_status(s, &r, "rename to", to, err);
    free(y.pkt);
    return rc;
}

/* The first name of a NAME reply, NUL-terminated (a NUL inside is PROTOCOL). */
static rsl_code first_name(rsl_sftp_client *s, const rsl_sftp_reply *r, const char *rel, char **out,
                           rsl_err *err)
{
    rsl_sftp_str rest = r->names;
    rsl_sftp_name e;
    if (r->count < 1 || rsl_sftp_wire_name_next(&rest, &e) != 1 ||
        memchr(e.name.p, '\0', e.name.len) != NULL) {
        rsl_sftp_client_fail(s, RSL_E_PROTOCOL,
                             "realpath '%s' on %s: the reply holds no usable name", rel,
                             rsl_sftp_client_host(s));
        return rsl_sftp_client_error(s, err);
    }
    if ((*out = rsl_sftp_str_dup(e.name)) == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    return RSL_OK;
}

rsl_code rsl_sftp_sync_realpath(rsl_sftp_client *s, const char *rel, char **out, rsl_err *err)
{
    char path[PATH_BUF];
    *out = NULL;
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    sync y = {0};
    rsl_sftp_wire_realpath(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), path);
    rsl_sftp_reply r;
    rsl_code rc = sync_wait(s, &y, &r, err);
    if (rc == RSL_OK &&
        (rc = rsl_sftp_client_expect(s, &r, RSL_FXP_NAME, "realpath", rel, err)) == RSL_OK)
        rc = first_name(s, &r, rel, out, err);
    free(y.pkt);
    return rc;
}

/* Sends an EXTENDED request (built by the caller after the id) and waits
 * for its EXTENDED_REPLY; *y keeps the packet (caller frees y->pkt). */
static rsl_code ext_reply(rsl_sftp_client *s, sync *y, rsl_sftp_reply *r, const char *what,
                          const char *rel, rsl_err *err)
{
    rsl_code rc = sync_wait(s, y, r, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_client_expect(s, r, RSL_FXP_EXTENDED_REPLY, what, rel, err);
    return rc;
}

rsl_code rsl_sftp_sync_statvfs(rsl_sftp_client *s, const char *rel, rsl_sftp_statvfs *v,
                               rsl_err *err)
{
    char path[PATH_BUF];
    if (!(rsl_sftp_client_exts(s) & RSL_SFTP_EXT_STATVFS))
        return rsl_err_set(err, RSL_E_REMOTE_IO, 0, "statvfs '%s' on %s: not offered by the server",
                           rel, rsl_sftp_client_host(s));
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    sync y = {0};
    rsl_sftp_wire_statvfs(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), path);
    rsl_sftp_reply r;
    char why[200];
    rsl_code rc = ext_reply(s, &y, &r, "statvfs", rel, err);
    if (rc == RSL_OK && rsl_sftp_wire_statvfs_reply(v, r.ext, why, sizeof(why)) != 0) {
        rsl_sftp_client_fail(s, RSL_E_PROTOCOL, "%s: %s", rsl_sftp_client_host(s), why);
        rc = rsl_sftp_client_error(s, err);
    }
    free(y.pkt);
    return rc;
}

/* Calls cb for each entry of one NAME reply; 1 when cb asked to stop. */
static int name_entries(rsl_sftp_client *s, const rsl_sftp_reply *r, const char *rel,
                        rsl_sftp_dir_cb cb, void *ud, rsl_err *err)
{
    rsl_sftp_str rest = r->names;
    rsl_sftp_name e;
    char name[PATH_BUF];
    while (rsl_sftp_wire_name_next(&rest, &e) == 1) {
        if (e.name.len == 0 || e.name.len >= sizeof(name) || memchr(e.name.p, '/', e.name.len) ||
            memchr(e.name.p, '\0', e.name.len)) {
            rsl_sftp_client_fail(s, RSL_E_PROTOCOL,
                                 "list '%s' on %s: the server sent an impossible name", rel,
                                 rsl_sftp_client_host(s));
            rsl_sftp_client_error(s, err);
            return -1;
        }
        memcpy(name, e.name.p, e.name.len);
        name[e.name.len] = '\0';
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (cb(ud, name, &e.attrs) != 0)
            return 1;
    }
    return 0;
}

/* READDIR until EOF (or cb stops). */
static rsl_code read_entries(rsl_sftp_client *s, const rsl_sftp_handle *h, const char *rel,
                             rsl_sftp_dir_cb cb, void *ud, rsl_err *err)
{
    for (;;) {
        sync y = {0};
        rsl_sftp_wire_readdir(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), h);
        rsl_sftp_reply r;
        rsl_code rc = sync_wait(s, &y, &r, err);
        int stop = 0;
        if (rc == RSL_OK && r.type == RSL_FXP_STATUS && r.status == RSL_FX_EOF)
            stop = 1;
        else if (rc == RSL_OK &&
                 (rc = rsl_sftp_client_expect(s, &r, RSL_FXP_NAME, "list", rel, err)) == RSL_OK)
            stop = name_entries(s, &r, rel, cb, ud, err);
        free(y.pkt);
        if (rc != RSL_OK || stop < 0)
            return rsl_sftp_client_dead(s) ? rsl_sftp_client_error(s, err)
                   : rc != RSL_OK          ? rc
                                           : err->code;
        if (stop)
            return RSL_OK;
    }
}

rsl_code rsl_sftp_sync_readdir(rsl_sftp_client *s, const char *rel, rsl_sftp_dir_cb cb, void *ud,
                               rsl_err *err)
{
    char path[PATH_BUF];
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    sync y = {0};
    rsl_sftp_wire_opendir(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), path);
    rsl_sftp_reply r;
    rsl_code rc = sync_wait(s, &y, &r, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_client_expect(s, &r, RSL_FXP_HANDLE, "list", rel, err);
    rsl_sftp_handle h = {.len = 0};
    if (rc == RSL_OK) {
        memcpy(h.b, r.handle.p, r.handle.len);
        h.len = r.handle.len;
    }
    free(y.pkt);
    if (rc != RSL_OK)
        return rc;
    rc = read_entries(s, &h, rel, cb, ud, err);
    if (rsl_sftp_client_dead(s))
        return rsl_sftp_client_error(s, err);
    rsl_sftp_wire_close(rsl_sftp_client_out(s), rsl_sftp_client_request(s, NULL, NULL),
                        &h); /* reply not needed */
    return rc;
}

/* ------------------------------------------------------------------ */
/* handles */

/* Waits for the reply of request y and expects type want (STATUS OK when
 * want is RSL_FXP_STATUS). */
static rsl_code wait_for(rsl_sftp_client *s, sync *y, uint8_t want, const char *what,
                         const char *rel, rsl_sftp_reply *r, rsl_err *err)
{
    rsl_code rc = sync_wait(s, y, r, err);
    if (rc != RSL_OK)
        return rc;
    if (want == RSL_FXP_STATUS)
        return rsl_sftp_client_status(s, r, what, rel, err);
    return rsl_sftp_client_expect(s, r, want, what, rel, err);
}

rsl_code rsl_sftp_sync_open(rsl_sftp_client *s, const char *rel, uint32_t pflags,
                            const rsl_sftp_attrs *a, rsl_sftp_handle *h, rsl_err *err)
{
    char path[PATH_BUF];
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    sync y = {0};
    rsl_sftp_wire_open(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), path,
                       pflags, a);
    rsl_sftp_reply r;
    rsl_code rc = wait_for(s, &y, RSL_FXP_HANDLE, "open", rel, &r, err);
    if (rc == RSL_OK) {
        memcpy(h->b, r.handle.p, r.handle.len);
        h->len = r.handle.len;
    }
    free(y.pkt);
    return rc;
}

rsl_code rsl_sftp_sync_close(rsl_sftp_client *s, const rsl_sftp_handle *h, const char *rel,
                             rsl_err *err)
{
    sync y = {0};
    rsl_sftp_wire_close(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), h);
    rsl_sftp_reply r;
    rsl_code rc = wait_for(s, &y, RSL_FXP_STATUS, "close", rel, &r, err);
    free(y.pkt);
    return rc;
}

rsl_code rsl_sftp_sync_write(rsl_sftp_client *s, const rsl_sftp_handle *h, uint64_t off,
                             const void *data, uint32_t n, const char *rel, rsl_err *err)
{
    sync y = {0};
    rsl_sftp_wire_write(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), h, off,
                        data, n);
    rsl_sftp_reply r;
    rsl_code rc = wait_for(s, &y, RSL_FXP_STATUS, "write", rel, &r, err);
    free(y.pkt);
    return rc;
}

rsl_code rsl_sftp_sync_fstat(rsl_sftp_client *s, const rsl_sftp_handle *h, const char *rel,
                             rsl_sftp_attrs *a, rsl_err *err)
{
    sync y = {0};
    rsl_sftp_wire_fstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), h);
    rsl_sftp_reply r;
    rsl_code rc = wait_for(s, &y, RSL_FXP_ATTRS, "stat", rel, &r, err);
    if (rc == RSL_OK) {
        *a = r.attrs;
        a->ext.p = NULL; /* points into the freed packet */
        a->ext.len = 0;
    }
    free(y.pkt);
    return rc;
}

/* ------------------------------------------------------------------ */
/* server-side hashes */

static rsl_code bad_reply(rsl_sftp_client *s, const char *why, rsl_err *err)
{
    rsl_sftp_client_fail(s, RSL_E_PROTOCOL, "%s: %s", rsl_sftp_client_host(s), why);
    return rsl_sftp_client_error(s, err);
}

rsl_code rsl_sftp_sync_check_file(rsl_sftp_client *s, const char *rel, const char *algs, char *alg,
                                  size_t algsz, unsigned char *digest, size_t *n, rsl_err *err)
{
    char path[PATH_BUF], why[200];
    *n = 0;
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    sync y = {0};
    rsl_sftp_wire_check_file_name(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y),
                                  path, algs, 0, 0, 0);
    rsl_sftp_reply r;
    rsl_sftp_str a, h;
    rsl_code rc = ext_reply(s, &y, &r, "check-file", rel, err);
    if (rc == RSL_OK && rsl_sftp_wire_check_file_reply(&a, &h, r.ext, why, sizeof(why)) != 0)
        rc = bad_reply(s, why, err);
    else if (rc == RSL_OK && (h.len == 0 || h.len > 64 || a.len >= algsz))
        rc = bad_reply(s, "check-file reply with a digest of an impossible length", err);
    if (rc == RSL_OK) {
        memcpy(alg, a.p, a.len);
        alg[a.len] = '\0';
        memcpy(digest, h.p, h.len);
        *n = h.len;
    }
    free(y.pkt);
    return rc;
}

rsl_code rsl_sftp_sync_md5(rsl_sftp_client *s, const char *rel, unsigned char digest[16],
                           rsl_err *err)
{
    char path[PATH_BUF], why[200];
    if (rsl_sftp_client_path(s, rel, path, sizeof(path)) < 0)
        return too_long(s, rel, err);
    sync y = {0};
    rsl_sftp_wire_md5_hash(rsl_sftp_client_out(s), rsl_sftp_client_request(s, sync_cb, &y), path, 0,
                           0, "", 0);
    rsl_sftp_reply r;
    rsl_sftp_str h;
    rsl_code rc = ext_reply(s, &y, &r, "md5-hash", rel, err);
    if (rc == RSL_OK && rsl_sftp_wire_md5_hash_reply(&h, r.ext, why, sizeof(why)) != 0)
        rc = bad_reply(s, why, err);
    else if (rc == RSL_OK && h.len != 16)
        rc = bad_reply(s, "md5-hash reply without a hash", err);
    if (rc == RSL_OK)
        memcpy(digest, h.p, 16);
    free(y.pkt);
    return rc;
}
