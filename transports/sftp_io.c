/*
 * sftp_io.c - uploads and finish of single files over our SFTP client, and
 * check's probe of writing at an offset. See sftp_io.h.
 *
 * Every function here that sends asynchronous requests keeps their state
 * on its stack and does not return before each of them was answered (or
 * the session failed: then no callback runs any more), so no reply can
 * reach freed memory.
 */
#define _GNU_SOURCE
#include "sftp_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sftp_sync.h"

#define UP_WRITES 64        /* WRITE requests in flight per upload */
#define UP_BYTES (8u << 20) /* write bytes in flight per upload */
#define LOWAT (512u << 10)  /* queued-unsent bytes under which writes are added */

/* ------------------------------------------------------------------ */
/* small things */

/* Requests answered by a STATUS, counted in *left. */
typedef struct st_wait {
    int *left;
    const char *what, *rel;
    rsl_err err; /* code RSL_OK until a failure */
} st_wait;

static void on_st(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    st_wait *w = ud;
    (*w->left)--;
    rsl_sftp_client_status(s, r, w->what, w->rel, &w->err);
}

/* Pumps until *left replies are in. */
static rsl_code drain(rsl_sftp_client *s, int *left, rsl_err *err)
{
    while (*left > 0) {
        rsl_code rc = rsl_sftp_client_pump(s, 1, err);
        if (rc != RSL_OK)
            return rc;
        if (*left > 0 && rsl_sftp_client_outstanding(s) == 0) {
            rsl_sftp_client_fail(s, RSL_E_INTERNAL, "the reply to an SFTP request was lost");
            return rsl_sftp_client_error(s, err);
        }
    }
    return RSL_OK;
}

static int wire(rsl_conn *c, const char *rel, char *buf)
{
    return rsl_sftp_client_path(c->cl, rel, buf, RSL_SFTP_PATH_BUF);
}

/* After a failure mapped to REMOTE_IO (OpenSSH says FAILURE for EISDIR,
 * ENOSPC, EEXIST): a directory in the way is a type conflict, a full file
 * system is REMOTE_NO_SPACE (statvfs@openssh.com on rel, else the root). */
void rsl_sftp_io_refine(rsl_conn *c, const char *rel, rsl_err *err)
{
    rsl_sftp_client *s = c->cl;
    if ((err->code != RSL_E_REMOTE_IO && err->code != RSL_E_REMOTE_TYPE_CONFLICT) ||
        rsl_sftp_client_dead(s))
        return;
    rsl_sftp_attrs a;
    int exists = 0;
    rsl_err e2 = {0};
    if (rsl_sftp_sync_stat(s, rel, 1, &a, &exists, &e2) == RSL_OK && exists &&
        rsl_sftp_client_attrs_is_dir(&a)) {
        rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, err->native,
                    "'%s' on %s: a directory of that name exists", rel, c->hostport);
    } else if (err->code == RSL_E_REMOTE_IO && (rsl_sftp_client_exts(s) & RSL_SFTP_EXT_STATVFS) &&
               !rsl_sftp_client_dead(s)) {
        rsl_sftp_statvfs v;
        if ((rsl_sftp_sync_statvfs(s, rel, &v, &e2) == RSL_OK ||
             (!rsl_sftp_client_dead(s) && rsl_sftp_sync_statvfs(s, "", &v, &e2) == RSL_OK)) &&
            (v.bavail == 0 || (v.favail == 0 && v.files > 0)))
            rsl_err_set(err, RSL_E_REMOTE_NO_SPACE, err->native,
                        "write '%s' on %s: the remote file system is full (%llu blocks free)", rel,
                        c->hostport, (unsigned long long)v.bavail);
    }
    if (rsl_sftp_client_dead(s))
        rsl_sftp_client_error(s, err);
}

/* ------------------------------------------------------------------ */
/* upload: OPEN, [FSETSTAT size / mode], WRITEs in a window, FSTAT + CLOSE */

typedef struct up up;

typedef struct wslot {
    up *u;
    uint64_t off;
    uint32_t len;
    int state; /* 0 in flight, 1 acknowledged, 2 refused */
} wslot;

struct up {
    rsl_conn *c;
    rsl_sftp_client *s;
    const char *rel;
    rsl_source *src;
    rsl_sftp_handle h;
    int opened;
    uint64_t start, total, next, acked;
    uint64_t rpos; /* src->read's position: bytes below it come through pread */
    wslot ring[UP_WRITES];
    uint32_t head, n, outstanding;
    uint64_t bytes;
    int failed;
    uint32_t fx;       /* the refusing status, 0 for a local failure */
    uint64_t fail_off; /* where the first refused write started */
    rsl_err err;
    rsl_sftp_attrs fattrs;
    int have_fstat;
};

static void up_fail(up *u, const rsl_err *e, uint32_t fx, uint64_t off)
{
    if (u->failed)
        return;
    u->failed = 1;
    u->err = *e;
    u->fx = fx;
    u->fail_off = off;
}

static void on_up_status(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    up *u = ud;
    rsl_err e = {0};
    u->outstanding--;
    if (rsl_sftp_client_status(s, r, "set size/permissions of", u->rel, &e) != RSL_OK)
        up_fail(u, &e, r->status, u->acked);
}

static void on_up_ignore(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    (void)r;
    ((up *)ud)->outstanding--;
}

static void on_up_fstat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    up *u = ud;
    rsl_err e = {0};
    u->outstanding--;
    if (rsl_sftp_client_expect(s, r, RSL_FXP_ATTRS, "stat", u->rel, &e) == RSL_OK) {
        u->fattrs = r->attrs;
        u->fattrs.ext.p = NULL;
        u->fattrs.ext.len = 0;
        u->have_fstat = 1;
    } else {
        up_fail(u, &e, r->status, u->acked);
    }
}

static void on_up_write(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    wslot *w = ud;
    up *u = w->u;
    rsl_err e = {0};
    u->outstanding--;
    u->bytes -= w->len;
    w->state = 1;
    if (rsl_sftp_client_status(s, r, "write", u->rel, &e) != RSL_OK) {
        w->state = 2;
        up_fail(u, &e, r->status, w->off);
    }
    while (u->n > 0 && u->ring[u->head].state == 1) { /* the contiguous acknowledged end */
        u->acked = u->ring[u->head].off + u->ring[u->head].len;
        u->head = (u->head + 1) % UP_WRITES;
        u->n--;
    }
}

/* n bytes of the file at off into p: pread below u->rpos (a redo from
 * zero), read from there. Returns 0, or -1 with the upload failed. */
static int pull(up *u, unsigned char *p, uint64_t off, uint32_t n)
{
    rsl_source *src = u->src;
    uint32_t got = 0;
    while (got < n) {
        uint64_t at = off + got;
        rsl_err le = {0};
        ssize_t r;
        if (at < u->rpos) {
            uint64_t want = u->rpos - at < n - got ? u->rpos - at : n - got;
            r = src->pread(src, p + got, (size_t)want, at, &le);
        } else {
            r = src->read(src, p + got, n - got, &le);
            if (r > 0)
                u->rpos += (uint64_t)r;
        }
        if (r == 0)
            rsl_err_set(&le, RSL_E_LOCAL_CHANGED, 0, "'%s': local file ended at %llu of %llu bytes",
                        u->rel, (unsigned long long)at, (unsigned long long)u->total);
        if (r <= 0) {
            if (le.code == RSL_OK)
                le.code = RSL_E_LOCAL_UNREADABLE;
            up_fail(u, &le, 0, at);
            return -1;
        }
        got += (uint32_t)r;
    }
    return 0;
}

static int issue_write(up *u)
{
    uint32_t wl = rsl_sftp_client_get_sizes(u->s)->write_len;
    uint32_t n = u->total - u->next < wl ? (uint32_t)(u->total - u->next) : wl;
    size_t mark = rsl_sftp_client_mark(u->s);
    wslot *w = &u->ring[(u->head + u->n) % UP_WRITES];
    uint32_t id = rsl_sftp_client_request(u->s, on_up_write, w);
    unsigned char *p = rsl_sftp_wire_write_begin(rsl_sftp_client_out(u->s), id, &u->h, u->next, n);
    if (p == NULL)
        return -1; /* out of memory: the next pump fails the session */
    if (pull(u, p, u->next, n) != 0) {
        rsl_sftp_client_cancel(u->s, id, mark);
        return -1;
    }
    *w = (wslot){.u = u, .off = u->next, .len = n, .state = 0};
    u->n++;
    u->outstanding++;
    u->bytes += n;
    u->next += n;
    return 0;
}

/* Writes until every byte is acknowledged, or a failure's replies are in. */
static rsl_code up_pump(up *u, rsl_err *err)
{
    for (;;) {
        while (!u->failed && u->next < u->total && u->n < UP_WRITES && u->bytes < UP_BYTES &&
               rsl_sftp_client_unsent(u->s) < LOWAT)
            if (issue_write(u) != 0)
                break;
        if (u->outstanding == 0 && (u->failed || u->next >= u->total))
            return RSL_OK;
        rsl_code rc = rsl_sftp_client_pump(u->s, 1, err);
        if (rc != RSL_OK)
            return rc;
    }
}

static rsl_code up_wait(up *u, rsl_err *err)
{
    while (u->outstanding > 0) {
        rsl_code rc = rsl_sftp_client_pump(u->s, 1, err);
        if (rc != RSL_OK)
            return rc;
    }
    return RSL_OK;
}

/* One attempt from `start` (0: create or truncate). */
static rsl_code up_attempt(up *u, uint64_t start, rsl_err *err)
{
    rsl_sftp_client *s = u->s;
    uint32_t mode = u->src->mode & 07777;
    u->start = u->next = u->acked = start;
    u->head = u->n = u->outstanding = 0;
    u->bytes = 0;
    u->failed = u->opened = u->have_fstat = 0;
    u->fx = 0;
    rsl_sftp_attrs a = {.flags = mode ? RSL_SFTP_ATTR_PERMISSIONS : 0, .perm = mode};
    uint32_t pf = RSL_SFTP_PF_WRITE | RSL_SFTP_PF_CREAT | (start == 0 ? RSL_SFTP_PF_TRUNC : 0);
    rsl_code rc = rsl_sftp_sync_open(s, u->rel, pf, &a, &u->h, err);
    if (rc != RSL_OK)
        return rc;
    u->opened = 1;
    if (start > 0) { /* keep exactly the first `start` bytes: anything beyond is unverified */
        rsl_sftp_attrs t = {.flags = RSL_SFTP_ATTR_SIZE, .size = start};
        rsl_sftp_wire_fsetstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_up_status, u),
                               &u->h, &t);
        u->outstanding++;
    }
    if (mode) { /* a temp left by an earlier attempt keeps its old mode: set it again */
        rsl_sftp_wire_fsetstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_up_status, u),
                               &u->h, &a);
        u->outstanding++;
    }
    if ((rc = up_pump(u, err)) != RSL_OK)
        return rc;
    int refined = u->failed && u->fx != 0;
    if (refined) /* before the cut below frees space */
        rsl_sftp_io_refine(u->c, u->rel, &u->err);
    if (u->failed && u->next > u->acked) { /* cut what was not acknowledged in order */
        rsl_sftp_attrs t = {.flags = RSL_SFTP_ATTR_SIZE, .size = u->acked};
        rsl_sftp_wire_fsetstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_up_ignore, u),
                               &u->h, &t);
        u->outstanding++;
    } else if (!u->failed) {
        rsl_sftp_wire_fstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_up_fstat, u),
                            &u->h);
        u->outstanding++;
    }
    int was_failed = u->failed;
    rsl_sftp_wire_close(rsl_sftp_client_out(s),
                        rsl_sftp_client_request(s, was_failed ? on_up_ignore : on_up_status, u),
                        &u->h);
    u->outstanding++;
    if ((rc = up_wait(u, err)) != RSL_OK)
        return rc;
    if (u->failed && u->fx != 0 && !refined) /* the close was refused */
        rsl_sftp_io_refine(u->c, u->rel, &u->err);
    if (u->failed) {
        *err = u->err;
        return err->code;
    }
    return RSL_OK;
}

/* Did this failed resumed attempt show a server that cannot write at an
 * offset? (the open without truncation or the first write at the offset
 * refused with FAILURE / OP_UNSUPPORTED). */
static int refused_offset(const up *u, uint64_t offset, const rsl_err *err, char *why, size_t n)
{
    uint32_t fx = u->opened ? u->fx : (uint32_t)err->native;
    if (fx != RSL_FX_FAILURE && fx != RSL_FX_OP_UNSUPPORTED)
        return 0;
    if (!u->opened) {
        snprintf(why, n, "it refused to open a temp file without truncating it (%s)",
                 rsl_sftp_wire_status_name(fx));
        return 1;
    }
    if (u->failed && u->fail_off == offset && u->acked == offset) {
        snprintf(why, n, "it refused a write at offset %llu (%s)", (unsigned long long)offset,
                 rsl_sftp_wire_status_name(fx));
        return 1;
    }
    return 0;
}

rsl_code rsl_sftp_io_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                            rsl_source *src, rsl_err *err)
{
    free(c->last_tmp);
    c->last_tmp = NULL;
    up u = {.c = c, .s = c->cl, .rel = tmp_rel, .src = src, .total = total, .rpos = offset};
    rsl_code rc = up_attempt(&u, offset, err);
    char why[200] = "";
    if (offset > 0 && !rsl_sftp_client_dead(c->cl)) {
        if (rc != RSL_OK)
            refused_offset(&u, offset, err, why, sizeof(why));
        else if (u.have_fstat && (u.fattrs.flags & RSL_SFTP_ATTR_SIZE) && u.fattrs.size != total)
            snprintf(why, sizeof(why),
                     "a resumed temp file had %llu bytes after its last write, %llu expected",
                     (unsigned long long)u.fattrs.size, (unsigned long long)total);
    }
    if (why[0] != '\0' && src->pread != NULL) {
        rsl_sftp_log(c, RSL_LOG_INFO, "sftp: '%s': %s; sending it again from the start", tmp_rel,
                     why);
        rc = up_attempt(&u, 0, err);
        if (rc == RSL_OK)
            rsl_sftp_learn_no_seek(c, why);
    }
    if (rc != RSL_OK) {
        if (!u.opened)
            rsl_sftp_io_refine(c, tmp_rel, err); /* the open was refused */
        if (err->code == RSL_E_REMOTE_NOT_FOUND)
            rsl_dircache_missing(&c->dirs, tmp_rel);
        return rsl_sftp_after(c, err->code);
    }
    c->last_tmp = strdup(tmp_rel);
    c->last_size =
        u.have_fstat && (u.fattrs.flags & RSL_SFTP_ATTR_SIZE) ? u.fattrs.size : UINT64_MAX;
    return RSL_OK;
}

/* ------------------------------------------------------------------ */
/* finish: size check, mtime, rename */

/* Without posix-rename (SFTP v3 RENAME refuses an existing target on
 * OpenSSH): move the old file aside, rename in, remove the old one. The
 * final name is briefly absent, never half-written; if the rename in
 * fails, the old file is put back. */
static rsl_code rename_aside(rsl_conn *c, const char *tmp_rel, const char *final_rel, rsl_err *err)
{
    rsl_sftp_client *s = c->cl;
    rsl_code rc = rsl_sftp_sync_rename(s, tmp_rel, final_rel, 0, err);
    if (rc != RSL_E_REMOTE_IO && rc != RSL_E_REMOTE_TYPE_CONFLICT)
        return rc;
    char aside[RSL_SFTP_PATH_BUF];
    int al = snprintf(aside, sizeof(aside), "%s.rsl-old", final_rel);
    if (al < 0 || (size_t)al >= sizeof(aside))
        return rsl_sftp_path_too_long(c, err, final_rel);
    rsl_err e2 = {0};
    rsl_sftp_attrs a;
    int exists = 0;
    if (rsl_sftp_sync_stat(s, final_rel, 1, &a, &exists, &e2) != RSL_OK)
        return rsl_sftp_client_dead(s) ? rsl_sftp_client_error(s, err) : rc;
    if (exists && rsl_sftp_client_attrs_is_dir(&a))
        return rc;                       /* finish() names the directory in the way */
    rsl_sftp_sync_remove(s, aside, &e2); /* stale from a crash */
    if (rsl_sftp_client_dead(s) ||
        (rc = rsl_sftp_sync_rename(s, final_rel, aside, 0, err)) != RSL_OK)
        return rsl_sftp_client_dead(s) ? rsl_sftp_client_error(s, err) : rc;
    if ((rc = rsl_sftp_sync_rename(s, tmp_rel, final_rel, 0, err)) != RSL_OK) {
        if (!rsl_sftp_client_dead(s)) /* put the old file back */
            rsl_sftp_sync_rename(s, aside, final_rel, 0, &e2);
        return rc;
    }
    rsl_sftp_sync_remove(s, aside, &e2);
    return RSL_OK;
}

/* mtime (on the temp file: the final name never shows a wrong one) and the
 * atomic rename, in one round trip. */
static rsl_code mtime_and_rename(rsl_conn *c, const char *tmp_rel, const char *final_rel,
                                 int64_t mtime, rsl_err *err)
{
    rsl_sftp_client *s = c->cl;
    char from[RSL_SFTP_PATH_BUF], to[RSL_SFTP_PATH_BUF];
    if (wire(c, tmp_rel, from) < 0 || wire(c, final_rel, to) < 0)
        return rsl_sftp_path_too_long(c, err, final_rel);
    int left = 0, posix = (rsl_sftp_client_exts(s) & RSL_SFTP_EXT_POSIX_RENAME) != 0;
    st_wait ws = {.left = &left, .what = "set mtime of", .rel = tmp_rel};
    st_wait wr = {.left = &left, .what = "rename to", .rel = final_rel};
    if (mtime >= 0) {
        rsl_sftp_attrs a = {
            .flags = RSL_SFTP_ATTR_ACMODTIME, .atime = (uint32_t)mtime, .mtime = (uint32_t)mtime};
        rsl_sftp_wire_setstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_st, &ws), from,
                              &a);
        left++;
    }
    if (posix) {
        rsl_sftp_wire_posix_rename(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_st, &wr),
                                   from, to);
        left++;
    }
    rsl_code rc = drain(s, &left, err);
    if (rc != RSL_OK)
        return rc;
    if (ws.err.code != RSL_OK) /* best effort: the file is complete either way */
        rsl_sftp_log(c, RSL_LOG_WARN, "sftp: %s; its mtime is the upload time", ws.err.msg);
    if (!posix)
        return rename_aside(c, tmp_rel, final_rel, err);
    if (wr.err.code != RSL_OK)
        *err = wr.err;
    return wr.err.code;
}

rsl_code rsl_sftp_io_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                            int64_t mtime, rsl_err *err)
{
    /* the size check: upload() fstat'ed the temp file after its last write;
     * otherwise (finish without upload on this connection) lstat it now */
    int known = c->last_tmp != NULL && strcmp(c->last_tmp, tmp_rel) == 0;
    uint64_t have = c->last_size;
    free(c->last_tmp);
    c->last_tmp = NULL;
    rsl_code rc;
    if (!known) {
        rsl_sftp_attrs a;
        int exists = 0;
        if ((rc = rsl_sftp_sync_stat(c->cl, tmp_rel, 1, &a, &exists, err)) != RSL_OK)
            return rsl_sftp_after(c, rc);
        if (!exists)
            return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, RSL_FX_NO_SUCH_FILE,
                               "'%s' on %s: the temp file is not there", tmp_rel, c->hostport);
        have = (a.flags & RSL_SFTP_ATTR_SIZE) ? a.size : UINT64_MAX;
    }
    if (have != size)
        return rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                           "'%s' on %s: remote temp file has %llu bytes, expected %llu", tmp_rel,
                           c->hostport, (unsigned long long)have, (unsigned long long)size);
    rc = mtime_and_rename(c, tmp_rel, final_rel, mtime, err);
    if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_TYPE_CONFLICT) {
        rsl_sftp_attrs a;
        int exists = 0;
        rsl_err e2 = {0};
        if (rsl_sftp_sync_stat(c->cl, final_rel, 1, &a, &exists, &e2) == RSL_OK && exists &&
            rsl_sftp_client_attrs_is_dir(&a))
            return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, err->native,
                               "rename '%s' -> '%s' on %s: a directory of that name exists",
                               tmp_rel, final_rel, c->hostport);
        if (rsl_sftp_client_dead(c->cl))
            return rsl_sftp_after(c, rsl_sftp_client_error(c->cl, err));
        err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
    }
    return rsl_sftp_after(c, rc);
}

/* ------------------------------------------------------------------ */
/* check's probe of writing at an offset */

/* The probe's steps on file `name`: 1 the server wrote at the offset, 0 it
 * did not (why says how), -1 nothing learnt (why says why). */
static int probe_steps(rsl_conn *c, const char *name, char *why, size_t n)
{
    rsl_sftp_client *s = c->cl;
    rsl_sftp_handle h;
    rsl_sftp_attrs a;
    rsl_err e = {0};
    uint32_t pf = RSL_SFTP_PF_WRITE | RSL_SFTP_PF_CREAT | RSL_SFTP_PF_TRUNC;
    int ok = rsl_sftp_sync_open(s, name, pf, NULL, &h, &e) == RSL_OK;
    if (ok) {
        ok = rsl_sftp_sync_write(s, &h, 0, "rsl1", 4, name, &e) == RSL_OK;
        rsl_err e2 = {0};
        rsl_sftp_sync_close(s, &h, name, &e2);
    }
    if (!ok || rsl_sftp_client_dead(s)) {
        snprintf(why, n, "%.250s", e.msg);
        return -1;
    }
    if (rsl_sftp_sync_open(s, name, RSL_SFTP_PF_WRITE, NULL, &h, &e) != RSL_OK) {
        snprintf(why, n, "it refused to reopen a file without truncating it (%s)",
                 rsl_sftp_wire_status_name((uint32_t)e.native));
        return rsl_sftp_client_dead(s) ? -1 : 0;
    }
    int wrote = rsl_sftp_sync_write(s, &h, 4, "rsl2", 4, name, &e) == RSL_OK;
    uint32_t fx = (uint32_t)e.native;
    int sized = wrote && rsl_sftp_sync_fstat(s, &h, name, &a, &e) == RSL_OK;
    rsl_sftp_sync_close(s, &h, name, &e);
    if (rsl_sftp_client_dead(s))
        return -1;
    if (!wrote) {
        snprintf(why, n, "it refused a write at offset 4 (%s)", rsl_sftp_wire_status_name(fx));
        return 0;
    }
    if (sized && (a.flags & RSL_SFTP_ATTR_SIZE) && a.size != 8) {
        snprintf(why, n, "a write at offset 4 left a %llu-byte file, 8 expected",
                 (unsigned long long)a.size);
        return 0;
    }
    return 1;
}

void rsl_sftp_io_probe_seek(rsl_conn *c)
{
    char name[96], why[300] = "";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof(name), ".rsl-probe-%ld-%lx", (long)getpid(),
             (unsigned long)ts.tv_nsec ^ (unsigned long)ts.tv_sec);
    int r = probe_steps(c, name, why, sizeof(why));
    rsl_err e = {0};
    if (!rsl_sftp_client_dead(c->cl))
        rsl_sftp_sync_remove(c->cl, name, &e);
    if (r > 0)
        rsl_sftp_learn_seek_ok(c);
    else if (r == 0)
        rsl_sftp_learn_no_seek(c, why);
    else if (!rsl_sftp_client_dead(c->cl))
        rsl_sftp_log(c, RSL_LOG_INFO,
                     "sftp: could not probe writing at an offset on %s (%s); resume assumed",
                     c->hostport, why);
}
