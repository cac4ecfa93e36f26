/*
 * sftp_put.c - the pipelined run over the SFTP client. See sftp_put.h.
 *
 * Each op taken becomes a job with a small state machine driven by reply
 * callbacks. Every request a job sends counts in job->inflight; a callback
 * decrements it and calls step(), which acts only once the job has no
 * reply outstanding. So a job never completes (nor is freed) while a
 * request still refers to it, and a failure simply waits for the job's
 * other replies before cleaning up (truncate the temp file to the
 * contiguous acknowledged offset, close the handle).
 *
 * WRITE requests are produced lazily by schedule(): only while the bytes
 * queued but not yet sent stay under LOWAT, so the control requests of
 * other files (OPEN, CLOSE, rename) never wait behind megabytes of data in
 * our own output buffer, and only within the byte budget (one file may use
 * at most 3/4 of it, leaving room for small files).
 *
 * The types and the helpers shared with sftp_put_resume.c (the kept prefix
 * of a resumed PUT, and the fresh start on a server that cannot write at
 * an offset) are in sftp_put_job.h.
 */
#define _GNU_SOURCE
#include "sftp_put_job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOWAT (512u << 10) /* queued-unsent bytes under which writes are added */
#define DEF_OPS 128
#define DEF_BYTES (8ull << 20)
#define DEF_WRITES 64

/* ------------------------------------------------------------------ */
/* small things */

void rsl_sftp_put_fail(job *j, const rsl_err *e)
{
    if (j->failed)
        return;
    j->failed = 1;
    j->op->err = *e;
    if (j->op->err.code == RSL_OK)
        j->op->err.code = RSL_E_INTERNAL;
}

static void job_failf(job *j, rsl_code code, long native, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void job_failf(job *j, rsl_code code, long native, const char *fmt, ...)
{
    rsl_err e = {.code = code, .native = native};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
    va_end(ap);
    rsl_sftp_put_fail(j, &e);
}

/* Registers a request of job j (counted until its reply). */
uint32_t rsl_sftp_put_req(job *j, rsl_sftp_cb cb)
{
    j->inflight++;
    return rsl_sftp_client_request(j->R->s, cb, j);
}

rsl_sftp_buf *rsl_sftp_put_out(job *j)
{
    return rsl_sftp_client_out(j->R->s);
}

void rsl_sftp_put_ignore(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    (void)r;
    job *j = ud;
    j->inflight--;
    step(j);
}

/* A reply that must be an OK STATUS: anything else fails the job. */
static int status_ok(job *j, const rsl_sftp_reply *r, const char *what, const char *rel)
{
    rsl_err e = {0};
    if (rsl_sftp_client_status(j->R->s, r, what, rel, &e) == RSL_OK)
        return 1;
    rsl_sftp_put_fail(j, &e);
    return 0;
}

/* The job is over: results in place, off the active list, onto the done
 * list (feed->done is called by the run loop, outside any callback). */
static void complete(job *j)
{
    run *R = j->R;
    rsl_op *op = j->op;
    if (op->kind == RSL_OP_PUT || op->kind == RSL_OP_APPEND || op->kind == RSL_OP_PUT_RANGE)
        op->sent = j->acked > j->kept ? j->acked - j->kept : 0;
    if (!j->failed)
        rsl_err_clear(&op->err);
    if (!j->failed && j->redone)
        rsl_sftp_put_learnt(j);
    if (j->prev)
        j->prev->next = j->next;
    else
        R->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        R->tail = j->prev;
    R->njobs--;
    j->next = NULL;
    j->prev = R->done_tail;
    if (R->done_tail)
        R->done_tail->next = j;
    else
        R->done_head = j;
    R->done_tail = j;
}

static void job_free(job *j)
{
    free(j->wpath);
    free(j->wfrom);
    if (j->wtmp != j->wpath)
        free(j->wtmp);
    free(j->ring);
    free(j);
}

/* ------------------------------------------------------------------ */
/* refining a failure by context (OpenSSH says FAILURE for EISDIR, ENOSPC,
 * EEXIST, ENOTEMPTY) */

static void refine(job *j, const char *wire_path, int rename)
{
    rsl_sftp_put_refine(j, wire_path, rename);
}

static void on_refine_dir(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    rsl_err *e = &j->op->err;
    const char *rel = j->refine_rename ? j->op->path : j->op->tmp;
    if (r->type == RSL_FXP_ATTRS && rsl_sftp_client_attrs_is_dir(&r->attrs))
        rsl_err_set(e, RSL_E_REMOTE_TYPE_CONFLICT, e->native,
                    "'%s' on %s: a directory of that name exists", rel,
                    rsl_sftp_client_host(j->R->s));
    else if (j->refine_rename &&
             (e->code == RSL_E_REMOTE_IO || e->code == RSL_E_REMOTE_TYPE_CONFLICT))
        e->code = RSL_E_REMOTE_RENAME_FAILED;
    step(j);
}

static void on_refine_vfs(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    job *j = ud;
    j->inflight--;
    rsl_sftp_statvfs v;
    rsl_err *e = &j->op->err;
    if (r->type == RSL_FXP_EXTENDED_REPLY && e->code == RSL_E_REMOTE_IO &&
        rsl_sftp_wire_statvfs_reply(&v, r->ext, NULL, 0) == 0 &&
        (v.bavail == 0 || (v.favail == 0 && v.files > 0)))
        rsl_err_set(e, RSL_E_REMOTE_NO_SPACE, e->native,
                    "write '%s' on %s: the remote file system is full (%llu blocks free)",
                    j->op->tmp, rsl_sftp_client_host(s), (unsigned long long)v.bavail);
    step(j);
}

/* After a failure mapped to REMOTE_IO/TYPE_CONFLICT: is a directory in the
 * way (path), is the disk full (not for a rename)? */
void rsl_sftp_put_refine(job *j, const char *wire_path, int rename)
{
    rsl_code c = j->op->err.code;
    if (j->refined || (c != RSL_E_REMOTE_IO && c != RSL_E_REMOTE_TYPE_CONFLICT))
        return;
    j->refined = 1;
    j->refine_rename = rename;
    rsl_sftp_wire_lstat(out(j), req(j, on_refine_dir), wire_path);
    if (!rename && (rsl_sftp_client_exts(j->R->s) & RSL_SFTP_EXT_STATVFS) && c == RSL_E_REMOTE_IO) {
        char root[PATH_BUF];
        if (rsl_sftp_client_path(j->R->s, "", root, sizeof(root)) >= 0)
            rsl_sftp_wire_statvfs(out(j), req(j, on_refine_vfs), root);
    }
}

/* ------------------------------------------------------------------ */
/* MKDIR, REMOVE, STAT */

static void on_mkdir_stat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    job *j = ud;
    j->inflight--;
    if (r->type == RSL_FXP_ATTRS && rsl_sftp_client_attrs_is_dir(&r->attrs))
        j->failed = 0; /* it exists as a directory: fine */
    else if (r->type == RSL_FXP_ATTRS)
        rsl_err_set(&j->op->err, RSL_E_REMOTE_TYPE_CONFLICT, j->op->err.native,
                    "mkdir '%s' on %s: a file of that name exists", j->op->path,
                    rsl_sftp_client_host(s));
    step(j);
}

static void on_mkdir(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    job *j = ud;
    j->inflight--;
    if (!status_ok(j, r, "mkdir", j->op->path)) {
        rsl_code c = j->op->err.code;
        /* FAILURE is how OpenSSH says EEXIST (and EACCES may hide an existing dir) */
        if (c == RSL_E_REMOTE_IO || c == RSL_E_REMOTE_TYPE_CONFLICT || c == RSL_E_REMOTE_PERMISSION)
            rsl_sftp_wire_lstat(rsl_sftp_client_out(s), req(j, on_mkdir_stat), j->wpath);
    }
    step(j);
}

static void on_remove(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    if (!status_ok(j, r, j->op->is_dir ? "rmdir" : "delete", j->op->path)) {
        rsl_code c = j->op->err.code;
        if (c == RSL_E_REMOTE_NOT_FOUND)
            j->failed = 0; /* already absent */
        else if (c == RSL_E_REMOTE_IO || c == RSL_E_REMOTE_TYPE_CONFLICT)
            j->op->err.code = RSL_E_REMOTE_DELETE_FAILED;
    }
    step(j);
}

static void on_stat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    job *j = ud;
    j->inflight--;
    rsl_err e = {0};
    memset(&j->op->st, 0, sizeof(j->op->st));
    j->op->st.mtime = -1;
    rsl_code rc = rsl_sftp_client_expect(s, r, RSL_FXP_ATTRS, "stat", j->op->path, &e);
    if (rc == RSL_OK)
        rsl_sftp_client_attrs_to_rstat(&r->attrs, &j->op->st);
    else if (rc != RSL_E_REMOTE_NOT_FOUND)
        rsl_sftp_put_fail(j, &e);
    step(j);
}

/* ------------------------------------------------------------------ */
/* PUT: the end (trailer replies in, verify, size check, rename) */

int rsl_sftp_put_posix_refused(job *j, const rsl_sftp_reply *r)
{
    run *R = j->R;
    if (!j->posix || r->type != RSL_FXP_STATUS ||
        (r->status != RSL_FX_PERMISSION_DENIED && r->status != RSL_FX_OP_UNSUPPORTED))
        return 0;
    if (R->o.rename_refused != NULL)
        R->o.rename_refused(R->o.ud, r->status);
    if (r->status != RSL_FX_OP_UNSUPPORTED)
        return 0;
    rsl_sftp_client_drop_exts(R->s, RSL_SFTP_EXT_POSIX_RENAME);
    return 1;
}

static void send_rename(job *j);

static void on_rename(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    if (rsl_sftp_put_posix_refused(j, r))
        send_rename(j); /* again, without the extension */
    else if (!status_ok(j, r, "rename to", j->op->path))
        refine(j, j->wpath, 1);
    step(j);
}

static void send_rename(job *j)
{
    rsl_sftp_client *s = j->R->s;
    j->posix = (rsl_sftp_client_exts(s) & RSL_SFTP_EXT_POSIX_RENAME) != 0;
    if (j->posix) {
        rsl_sftp_wire_posix_rename(out(j), req(j, on_rename), j->wtmp, j->wpath);
    } else { /* not atomic: the final name is briefly absent (describe says so) */
        rsl_sftp_wire_remove(out(j), req(j, rsl_sftp_put_ignore), j->wpath);
        rsl_sftp_wire_rename(out(j), req(j, on_rename), j->wtmp, j->wpath);
    }
    j->phase = P_RENAME;
}

/* Every byte and the trailer are acknowledged, no failure: check, rename. */
static void finish_put(job *j)
{
    rsl_op *op = j->op;
    rsl_err le = {0};
    if (op->src->verify != NULL && op->src->verify(op->src, &le) != RSL_OK) {
        rsl_sftp_put_fail(j, &le);
        complete(j);
        return;
    }
    if (!j->have_fstat || !(j->fattrs.flags & RSL_SFTP_ATTR_SIZE) || j->fattrs.size != op->size) {
        char why[128];
        snprintf(why, sizeof(why), "a resumed temp file had %llu bytes after its last write",
                 (unsigned long long)(j->fattrs.flags & RSL_SFTP_ATTR_SIZE ? j->fattrs.size : 0));
        if (j->have_fstat && !j->append && rsl_sftp_put_suspect_seek(j, 0, why)) {
            rsl_sftp_put_redo(j);
            return;
        }
        job_failf(j, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                  "'%s' on %s: remote temp file has %llu bytes, expected %llu", op->tmp,
                  rsl_sftp_client_host(j->R->s),
                  (unsigned long long)(j->fattrs.flags & RSL_SFTP_ATTR_SIZE ? j->fattrs.size : 0),
                  (unsigned long long)op->size);
        complete(j);
        return;
    }
    if (op->mtime >= 0 && (j->fattrs.flags & RSL_SFTP_ATTR_ACMODTIME) &&
        j->fattrs.mtime != (uint32_t)op->mtime) {
        /* a server that reordered the FSETSTAT before a WRITE: set it again */
        rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_ACMODTIME,
                            .atime = (uint32_t)op->mtime,
                            .mtime = (uint32_t)op->mtime};
        rsl_sftp_wire_setstat(out(j), req(j, rsl_sftp_put_ignore), j->wtmp, &a);
    }
    if (j->append) { /* in place: the file is complete under its name */
        j->phase = P_RENAME;
        step(j);
        return;
    }
    send_rename(j);
}

/* The STATUS of a step on the temp file (truncate, attributes, fsync). */
static void on_tmp_status(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    int refused = r->type == RSL_FXP_STATUS && r->status != RSL_FX_OK;
    int seek = refused && !j->redo && j->phase != P_TRAILER &&
               rsl_sftp_put_suspect_seek(j, r->status,
                                         "it refused to cut a temp file to the "
                                         "kept prefix");
    if (!j->redo && !seek) /* a file starting over ignores what its old attempt was told */
        status_ok(j, r, j->phase == P_TRAILER ? "set mtime/permissions or fsync of" : "truncate",
                  j->op->tmp);
    step(j);
}

static void on_fstat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    job *j = ud;
    j->inflight--;
    rsl_err e = {0};
    if (rsl_sftp_client_expect(s, r, RSL_FXP_ATTRS, "stat", j->op->tmp, &e) == RSL_OK) {
        j->fattrs = r->attrs;
        j->fattrs.ext.p = NULL;
        j->fattrs.ext.len = 0;
        j->have_fstat = 1;
    } else {
        rsl_sftp_put_fail(j, &e);
    }
    step(j);
}

static void on_close(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    j->hopen = 0;
    if (!j->failed && !status_ok(j, r, "close", j->op->tmp))
        refine(j, j->wtmp, 0);
    step(j);
}

/* The attributes a finished file gets: its mtime and mode where set. */
static rsl_sftp_attrs final_attrs(const rsl_op *op)
{
    rsl_sftp_attrs a = {.flags = 0};
    if (op->mtime >= 0) {
        a.flags |= RSL_SFTP_ATTR_ACMODTIME;
        a.atime = a.mtime = (uint32_t)op->mtime;
    }
    if (op->mode != 0) {
        a.flags |= RSL_SFTP_ATTR_PERMISSIONS;
        a.perm = op->mode & 07777;
    }
    return a;
}

/* After the last WRITE: attributes, [fsync], size, close, all pipelined. */
static void send_trailer(job *j)
{
    rsl_op *op = j->op;
    rsl_sftp_attrs a = final_attrs(op);
    if (a.flags)
        rsl_sftp_wire_fsetstat(out(j), req(j, on_tmp_status), &j->h, &a);
    if (j->R->o.fsync && (rsl_sftp_client_exts(j->R->s) & RSL_SFTP_EXT_FSYNC))
        rsl_sftp_wire_fsync(out(j), req(j, on_tmp_status), &j->h);
    rsl_sftp_wire_fstat(out(j), req(j, on_fstat), &j->h);
    rsl_sftp_wire_close(out(j), req(j, on_close), &j->h);
    j->close_sent = 1;
    j->phase = P_TRAILER;
}

/* ------------------------------------------------------------------ */
/* PUT: writing */

static void on_write(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    wslot *w = NULL;
    for (uint32_t i = 0; i < j->rn && w == NULL; i++)
        if (j->ring[(j->rhead + i) % j->rcap].id == r->id)
            w = &j->ring[(j->rhead + i) % j->rcap];
    if (w == NULL) { /* cannot happen: the client routes replies by id */
        rsl_sftp_client_fail(j->R->s, RSL_E_INTERNAL, "write reply %u without its request", r->id);
        return;
    }
    j->wbytes -= w->len;
    j->R->wbytes -= w->len;
    w->state = 1;
    int refused = r->type == RSL_FXP_STATUS && r->status != RSL_FX_OK;
    char why[96];
    snprintf(why, sizeof(why), "it refused a write at offset %llu", (unsigned long long)w->off);
    if (refused && (j->redo || (w->off == j->kept && j->acked == j->kept &&
                                rsl_sftp_put_suspect_seek(j, r->status, why)))) {
        w->state = 2; /* the file starts over from zero */
    } else if (!status_ok(j, r, "write", j->op->tmp)) {
        w->state = 2;
        refine(j, j->wtmp, 0);
        if (refused && j->op->kind == RSL_OP_PUT_RANGE && w->off > 0 && w->off == j->kept &&
            (r->status == RSL_FX_FAILURE || r->status == RSL_FX_OP_UNSUPPORTED)) {
            snprintf(j->why, sizeof(j->why), "%s (%s)", why, rsl_sftp_wire_status_name(r->status));
            rsl_sftp_put_learnt(j); /* the next connections send big files whole */
        }
    }
    /* the contiguous acknowledged end advances over acknowledged slots */
    while (j->rn > 0 && j->ring[j->rhead].state == 1) {
        j->acked = j->ring[j->rhead].off + j->ring[j->rhead].len;
        j->rhead = (j->rhead + 1) % j->rcap;
        j->rn--;
    }
    step(j);
}

/* After the last byte: the source must be at its end (as xfer.h says,
 * read until 0). */
static void check_source_end(job *j)
{
    unsigned char one;
    rsl_err le = {0};
    ssize_t r = j->op->src->read(j->op->src, &one, 1, &le);
    if (r < 0)
        rsl_sftp_put_fail(j, &le);
    else if (r > 0)
        job_failf(j, RSL_E_LOCAL_CHANGED, 0,
                  "'%s' grew while it was being uploaded (over %llu bytes)", j->op->path,
                  (unsigned long long)j->op->size);
}

/* Every byte is written: a PUT's or an APPEND's trailer; a range's CLOSE
 * (no attributes, no rename: the FINISH op does those once every range is
 * in). */
static void after_last_write(job *j)
{
    check_source_end(j);
    if (j->failed)
        return;
    if (j->op->kind == RSL_OP_PUT || j->op->kind == RSL_OP_APPEND) {
        send_trailer(j);
        return;
    }
    rsl_sftp_wire_close(out(j), req(j, on_close), &j->h);
    j->close_sent = 1;
    j->phase = P_RCLOSE;
}

/* Adds one WRITE of n bytes read from the source straight into the output
 * buffer. Returns 0, or -1 when the job failed (source error). */
static int issue_write(job *j, uint32_t n)
{
    rsl_sftp_client *s = j->R->s;
    rsl_op *op = j->op;
    size_t mark = rsl_sftp_client_mark(s);
    uint32_t id = rsl_sftp_client_request(s, on_write, j);
    unsigned char *p = rsl_sftp_wire_write_begin(rsl_sftp_client_out(s), id, &j->h, j->next_off, n);
    if (p == NULL)
        return -1; /* out of memory: the next pump fails the session */
    size_t got = 0;
    rsl_err le = {0};
    while (got < n) {
        ssize_t r = op->src->read(op->src, p + got, n - got, &le);
        if (r <= 0) {
            rsl_sftp_client_cancel(s, id, mark);
            if (r == 0)
                rsl_err_set(&le, RSL_E_LOCAL_CHANGED, 0,
                            "'%s': the local file ended at %llu of %llu bytes", op->path,
                            (unsigned long long)(j->next_off + got), (unsigned long long)j->end);
            rsl_sftp_put_fail(j, &le);
            return -1;
        }
        got += (size_t)r;
    }
    wslot *w = &j->ring[(j->rhead + j->rn++) % j->rcap];
    w->id = id;
    w->len = n;
    w->off = j->next_off;
    w->state = 0;
    j->inflight++;
    j->next_off += n;
    j->wbytes += n;
    j->R->wbytes += n;
    if (j->next_off == j->end)
        after_last_write(j);
    return 0;
}

/* Adds WRITEs for the jobs that may write, within the budgets. A job whose
 * source fails here is stepped (it cleans up). */
static void schedule(run *R)
{
    uint64_t per_job = R->o.inflight_bytes / 4 * 3;
    job *next;
    for (job *j = R->head; j != NULL; j = next) {
        next = j->next;
        if (j->phase != P_DATA || j->failed || j->redo)
            continue;
        if (R->cancelled) {
            job_failf(j, RSL_E_INTERRUPTED, 0, "'%s': stopped at %llu of %llu bytes; resumes there",
                      j->op->path, (unsigned long long)j->acked, (unsigned long long)j->op->size);
            step(j);
            continue;
        }
        while (j->next_off < j->end && j->phase == P_DATA) {
            uint64_t left = j->end - j->next_off;
            uint32_t n = left < R->write_len ? (uint32_t)left : R->write_len;
            if (rsl_sftp_client_unsent(R->s) >= LOWAT)
                return;
            if (R->wbytes > 0 && R->wbytes + n > R->o.inflight_bytes)
                return;
            if (j->rn == j->rcap || (j->wbytes > 0 && j->wbytes + n > per_job))
                break;
            if (issue_write(j, n) != 0) {
                step(j);
                break;
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* PUT: opening */

static void on_open(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    rsl_sftp_put_opened(j, r);
}

void rsl_sftp_put_opened(job *j, const rsl_sftp_reply *r)
{
    rsl_sftp_client *s = j->R->s;
    rsl_err e = {0};
    const char *rel = j->append ? j->op->path : j->op->tmp;
    if (rsl_sftp_client_expect(s, r, RSL_FXP_HANDLE, "open", rel, &e) != RSL_OK) {
        if (r->type == RSL_FXP_STATUS && j->kept > 0 && !j->append &&
            rsl_sftp_put_suspect_seek(j, r->status,
                                      "it refused to open a temp file without "
                                      "truncating it")) {
            step(j);
            return;
        }
        rsl_sftp_put_fail(j, &e);
        refine(j, j->wtmp, 0);
        step(j);
        return;
    }
    memcpy(j->h.b, r->handle.p, r->handle.len);
    j->h.len = r->handle.len;
    j->hopen = 1;
    if (j->failed) { /* an APPEND whose size check failed: cleanup closes it */
        step(j);
        return;
    }
    if (j->kept > 0 && j->kept < j->tmp_size) { /* keep exactly the verified prefix */
        rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_SIZE, .size = j->kept};
        rsl_sftp_wire_fsetstat(out(j), req(j, on_tmp_status), &j->h, &a);
    }
    rsl_op *op = j->op;
    if (op->src->start != NULL && op->src->start(op->src, j->kept, &e) != RSL_OK) {
        rsl_sftp_put_fail(j, &e);
        step(j);
        return;
    }
    j->next_off = j->acked = j->kept;
    j->phase = P_DATA;
    if (j->end == j->kept)
        after_last_write(j);
    step(j);
}

void rsl_sftp_put_open_write(job *j, uint64_t kept)
{
    rsl_op *op = j->op;
    int range = op->kind == RSL_OP_PUT_RANGE; /* never truncated: others write it too */
    j->kept = kept;
    op->offset = range ? 0 : kept;
    uint32_t pf =
        RSL_SFTP_PF_WRITE | RSL_SFTP_PF_CREAT | (kept == 0 && !range ? RSL_SFTP_PF_TRUNC : 0);
    rsl_sftp_attrs a = {.flags = op->mode ? RSL_SFTP_ATTR_PERMISSIONS : 0,
                        .perm = op->mode & 07777};
    rsl_sftp_wire_open(out(j), req(j, on_open), j->wtmp, pf, &a);
    j->phase = P_OPEN;
}

/* ------------------------------------------------------------------ */
/* the step function and the start of each op */

/* After a failure, once no reply is outstanding: truncate the temp file to
 * the contiguous acknowledged end, close what is open, then complete. */
static void cleanup(job *j)
{
    int trunc = (j->op->kind == RSL_OP_PUT || j->op->kind == RSL_OP_APPEND) &&
                j->next_off > j->acked && !j->truncated;
    if (j->rhopen) {
        rsl_sftp_wire_close(out(j), req(j, rsl_sftp_put_ignore), &j->rh);
        j->rhopen = 0;
    }
    if (j->hopen && !j->close_sent) {
        if (trunc) {
            rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_SIZE, .size = j->acked};
            rsl_sftp_wire_fsetstat(out(j), req(j, rsl_sftp_put_ignore), &j->h, &a);
        }
        rsl_sftp_wire_close(out(j), req(j, rsl_sftp_put_ignore), &j->h);
        j->close_sent = 1;
        j->truncated = 1;
    } else if (trunc && j->close_sent) {
        rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_SIZE, .size = j->acked};
        rsl_sftp_wire_setstat(out(j), req(j, rsl_sftp_put_ignore), j->wtmp, &a);
        j->truncated = 1;
    }
    j->phase = P_FIXUP;
    if (j->inflight == 0)
        complete(j);
}

void rsl_sftp_put_step(job *j)
{
    if (rsl_sftp_client_dead(j->R->s) || j->inflight > 0)
        return;
    if (j->redo) {
        rsl_sftp_put_redo(j);
        return;
    }
    if (j->failed) {
        cleanup(j);
        return;
    }
    switch (j->phase) {
    case P_SIMPLE:
    case P_RENAME:
    case P_FIXUP:
    case P_RCLOSE:
        complete(j);
        return;
    case P_SAMPLE:
        rsl_sftp_put_sampling_done(j);
        return;
    case P_TRAILER:
        finish_put(j);
        return;
    default: /* P_RSTAT, P_ROPEN, P_OPEN move on in their callbacks; P_DATA in schedule() */
        return;
    }
}

int rsl_sftp_put_wire_path(job *j, const char *rel, char **out_)
{
    char p[PATH_BUF];
    if (rel == NULL || rsl_sftp_client_path(j->R->s, rel, p, sizeof(p)) < 0 ||
        (*out_ = strdup(p)) == NULL) {
        job_failf(j, RSL_E_REMOTE_NAME_REFUSED, ENAMETOOLONG,
                  "'%.100s' on %s: remote path missing or longer than %d bytes",
                  rel ? rel : "(none)", rsl_sftp_client_host(j->R->s), PATH_BUF - 1);
        return -1;
    }
    return 0;
}

static int wire_path(job *j, const char *rel, char **out_)
{
    return rsl_sftp_put_wire_path(j, rel, out_);
}

static void start_put(job *j)
{
    rsl_op *op = j->op;
    if (op->src == NULL || op->src->read == NULL || wire_path(j, op->tmp, &j->wtmp) != 0) {
        if (!j->failed)
            job_failf(j, RSL_E_INTERNAL, 0, "put '%s': no source", op->path);
        return;
    }
    j->end = op->size;
    uint64_t nw = op->size / j->R->write_len + 1;
    j->rcap = nw < j->R->o.max_writes ? (uint32_t)nw : j->R->o.max_writes;
    if ((j->ring = calloc(j->rcap, sizeof(*j->ring))) == NULL) {
        job_failf(j, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        return;
    }
    if (op->resume && op->size > 0 && !j->R->o.no_seek) {
        rsl_sftp_put_resume_begin(j);
    } else {
        rsl_sftp_put_open_write(j, 0);
    }
}

/* PUT_RANGE: its bytes written at their offsets into the temp file (opened
 * without truncating), or, with op->resume, sampled blocks of it compared. */
static void start_range(job *j)
{
    rsl_op *op = j->op;
    if (op->src == NULL || op->src->read == NULL || op->src->pread == NULL ||
        wire_path(j, op->tmp, &j->wtmp) != 0) {
        if (!j->failed)
            job_failf(j, RSL_E_INTERNAL, 0, "put-range '%s': no source", op->path);
        return;
    }
    if (op->resume) {
        rsl_sftp_put_range_check(j);
        return;
    }
    j->end = op->range_off + op->range_len;
    uint64_t nw = op->range_len / j->R->write_len + 1;
    j->rcap = nw < j->R->o.max_writes ? (uint32_t)nw : j->R->o.max_writes;
    if ((j->ring = calloc(j->rcap, sizeof(*j->ring))) == NULL) {
        job_failf(j, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        return;
    }
    rsl_sftp_put_open_write(j, op->range_off);
}

/* FINISH: the source's end (its digest), attributes of the temp file, its
 * size read back; then finish_put() checks and renames, as for a PUT. */
static void start_finish(job *j)
{
    rsl_op *op = j->op;
    rsl_err e = {0};
    if (op->src == NULL || wire_path(j, op->tmp, &j->wtmp) != 0) {
        if (!j->failed)
            job_failf(j, RSL_E_INTERNAL, 0, "finish '%s': no source", op->path);
        return;
    }
    if (op->src->start != NULL && op->src->start(op->src, op->size, &e) != RSL_OK) {
        rsl_sftp_put_fail(j, &e);
        return;
    }
    op->offset = op->size;
    rsl_sftp_attrs a = final_attrs(op);
    j->phase = P_TRAILER;
    if (a.flags)
        rsl_sftp_wire_setstat(out(j), req(j, on_tmp_status), j->wtmp, &a);
    rsl_sftp_wire_lstat(out(j), req(j, on_fstat), j->wtmp);
}

/* Takes op: sends its first request(s), or completes it at once. */
static void start_op(run *R, rsl_op *op)
{
    job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        rsl_err_set(&op->err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        R->feed->done(R->feed->ud, op);
        return;
    }
    j->R = R;
    j->op = op;
    rsl_err_clear(&op->err);
    op->offset = op->sent = 0;
    j->prev = R->tail;
    if (R->tail)
        R->tail->next = j;
    else
        R->head = j;
    R->tail = j;
    R->njobs++;
    j->phase = P_SIMPLE;
    if (wire_path(j, op->path, &j->wpath) == 0) {
        switch (op->kind) {
        case RSL_OP_MKDIR: {
            rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_PERMISSIONS,
                                .perm = op->mode ? op->mode & 07777 : R->o.dir_mode};
            if (op->path[0] != '\0') /* the root exists (connect checked it) */
                rsl_sftp_wire_mkdir(out(j), req(j, on_mkdir), j->wpath, &a);
            break;
        }
        case RSL_OP_REMOVE:
            (op->is_dir ? rsl_sftp_wire_rmdir : rsl_sftp_wire_remove)(out(j), req(j, on_remove),
                                                                      j->wpath);
            break;
        case RSL_OP_STAT: /* the root is what the URL names: a link to a directory is fine */
            (op->path[0] ? rsl_sftp_wire_lstat : rsl_sftp_wire_stat)(out(j), req(j, on_stat),
                                                                     j->wpath);
            break;
        case RSL_OP_PUT:
            start_put(j);
            break;
        case RSL_OP_MOVE:
        case RSL_OP_SYMLINK:
        case RSL_OP_SETTIME:
        case RSL_OP_APPEND:
            rsl_sftp_put_more(j);
            break;
        case RSL_OP_PUT_RANGE:
            start_range(j);
            break;
        case RSL_OP_FINISH:
            start_finish(j);
            break;
        default:
            job_failf(j, RSL_E_INTERNAL, op->kind, "unknown operation %d on '%s'", (int)op->kind,
                      op->path);
        }
    }
    step(j);
}

/* ------------------------------------------------------------------ */
/* the run loop */

static void deliver(run *R)
{
    while (R->done_head != NULL) {
        job *j = R->done_head;
        R->done_head = j->next;
        if (R->done_head == NULL)
            R->done_tail = NULL;
        rsl_op *op = j->op;
        job_free(j);
        R->feed->done(R->feed->ud, op);
    }
}

/* The session failed: every op taken completes with its error. */
static void fail_all(run *R, const rsl_err *e)
{
    deliver(R);
    while (R->head != NULL) {
        job *j = R->head;
        R->head = j->next;
        rsl_op *op = j->op;
        if (op->kind == RSL_OP_PUT || op->kind == RSL_OP_APPEND || op->kind == RSL_OP_PUT_RANGE)
            op->sent = j->acked > j->kept ? j->acked - j->kept : 0;
        op->err = *e;
        snprintf(op->err.msg, sizeof(op->err.msg), "%s '%.150s': %.300s",
                 rsl_op_kind_name(op->kind), op->path, e->msg);
        job_free(j);
        R->feed->done(R->feed->ud, op);
    }
    R->tail = NULL;
    R->njobs = 0;
}

static void resolve_opts(run *R, const rsl_sftp_put_opts *o)
{
    const rsl_sftp_sizes *z = rsl_sftp_client_get_sizes(R->s);
    if (o != NULL)
        R->o = *o;
    if (R->o.max_ops == 0)
        R->o.max_ops = DEF_OPS;
    if (R->o.inflight_bytes == 0)
        R->o.inflight_bytes = DEF_BYTES;
    if (R->o.max_writes == 0)
        R->o.max_writes = DEF_WRITES;
    if (R->o.dir_mode == 0)
        R->o.dir_mode = 0755;
    R->write_len = z->write_len;
    R->read_len = z->read_len;
    /* a job holds one handle (two briefly when resuming) */
    uint32_t hcap = z->handles ? z->handles / 2 : 32;
    R->max_ops = R->o.max_ops < hcap ? R->o.max_ops : (hcap ? hcap : 1);
}

/* Takes ops while the window has room. Returns 1 when the feed ended. */
static int take(run *R)
{
    while (!R->cancelled && R->njobs < R->max_ops && !rsl_sftp_client_dead(R->s)) {
        int wait = R->njobs == 0 && R->done_head == NULL;
        rsl_op *op = R->feed->next(R->feed->ud, wait);
        if (op == NULL)
            return wait;
        start_op(R, op);
        deliver(R);
    }
    return 0;
}

rsl_code rsl_sftp_put_run(rsl_sftp_client *s, const rsl_sftp_put_opts *o, const rsl_feed *feed,
                          rsl_err *err)
{
    run R = {.s = s, .feed = feed};
    resolve_opts(&R, o);
    rsl_code rc = rsl_sftp_client_error(s, err);
    size_t scratch = R.read_len > RSL_SFTP_RESUME_BLOCK ? R.read_len : RSL_SFTP_RESUME_BLOCK;
    if (rc == RSL_OK && (R.scratch = malloc(scratch)) == NULL)
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    while (rc == RSL_OK) {
        deliver(&R);
        if (!R.cancelled && feed->cancelled != NULL && feed->cancelled(feed->ud))
            R.cancelled = 1;
        int ended = take(&R);
        schedule(&R);
        deliver(&R);
        if ((rc = rsl_sftp_client_error(s, err)) != RSL_OK)
            break;
        if (R.njobs == 0) {
            if (ended || R.cancelled)
                break;
            continue;
        }
        if (rsl_sftp_client_outstanding(s) == 0 && rsl_sftp_client_unsent(s) == 0) {
            rc = rsl_sftp_client_fail(s, RSL_E_INTERNAL, "pipelined run stuck with %zu operations",
                                      R.njobs);
            rsl_sftp_client_error(s, err);
            break;
        }
        rc = rsl_sftp_client_pump(s, 1, err);
    }
    if (rc != RSL_OK)
        fail_all(&R, err);
    deliver(&R);
    free(R.scratch);
    return rc;
}

unsigned rsl_sftp_put_caps(const rsl_sftp_client *s)
{
    return RSL_CAP_RESUME | RSL_CAP_SET_MTIME | RSL_CAP_WRITE_AT |
           ((rsl_sftp_client_exts(s) & RSL_SFTP_EXT_POSIX_RENAME) ? RSL_CAP_ATOMIC_RENAME : 0);
}

void rsl_sftp_put_describe(const rsl_sftp_client *s, const rsl_sftp_put_opts *o, char *buf,
                           size_t n)
{
    run R = {.s = (rsl_sftp_client *)s};
    resolve_opts(&R, o);
    int fs = R.o.fsync && (rsl_sftp_client_exts(s) & RSL_SFTP_EXT_FSYNC);
    snprintf(buf, n,
             "pipelined: up to %u operations and %llu KiB of writes in flight (up to %u writes of "
             "%u bytes per file); resume keeps the temp file's prefix up to the first of %d "
             "sampled blocks that differs; %s%s",
             R.max_ops, (unsigned long long)(R.o.inflight_bytes >> 10), R.o.max_writes, R.write_len,
             RSL_SFTP_RESUME_SAMPLES,
             (rsl_sftp_client_exts(s) & RSL_SFTP_EXT_POSIX_RENAME)
                 ? "atomic replace via posix-rename@openssh.com"
                 : "NO atomic replace (server lacks posix-rename@openssh.com): the old file is "
                   "removed, then the new one renamed in",
             fs ? "; fsync@openssh.com before close" : "");
}
