/*
 * sftp_put_more.c - the send-less ops of the pipelined run (xfer.h): MOVE,
 * SYMLINK, SETTIME and APPEND over the SFTP client. See sftp_put.h.
 *
 * MOVE is the version 3 RENAME, which never replaces (OpenSSH's server
 * links the new name, then unlinks the old one, or renames a directory only
 * when nothing is at the new name): what a move wants. With op->overwrite
 * it is posix-rename@openssh.com where offered (else REMOVE + RENAME). A
 * refusal is looked at with an LSTAT of the target: something there is
 * REMOTE_EXISTS.
 *
 * SYMLINK sends (target, link path) in OpenSSH's order (sftp_wire.h); the
 * target goes as it is (relative), the link path under the root.
 *
 * APPEND sends an LSTAT and an OPEN (write, no create, no truncate) of the
 * final file together; once both answered and the size is old_size, the
 * source starts at old_size (it checks the head's digest) and the PUT's
 * writes and trailer carry the tail; no rename follows.
 */
#define _GNU_SOURCE
#include "sftp_put_job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(job *j, rsl_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(job *j, rsl_code code, const char *fmt, ...)
{
    rsl_err e = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
    va_end(ap);
    rsl_sftp_put_fail(j, &e);
}

/* ---- MOVE and SYMLINK ---- */

/* The target was stat'ed after a refusal: something there is REMOTE_EXISTS. */
static void on_target_stat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    if (r->type == RSL_FXP_ATTRS)
        j->op->err.code = RSL_E_REMOTE_EXISTS;
    step(j);
}

static void send_move(job *j);

/* A MOVE or SYMLINK answered. */
static void on_made(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    job *j = ud;
    j->inflight--;
    rsl_op *op = j->op;
    rsl_err e = {0};
    const char *what = op->kind == RSL_OP_MOVE ? "move to" : "symlink";
    if (op->kind == RSL_OP_MOVE && rsl_sftp_put_posix_refused(j, r)) {
        send_move(j); /* again, without the extension */
        step(j);
        return;
    }
    if (rsl_sftp_client_status(s, r, what, op->path, &e) != RSL_OK) {
        rsl_sftp_put_fail(j, &e);
        /* FAILURE is how OpenSSH says EEXIST; OP_UNSUPPORTED where it cannot */
        if (r->type == RSL_FXP_STATUS && r->status == RSL_FX_OP_UNSUPPORTED)
            op->err.code = RSL_E_REMOTE_UNSUPPORTED;
        else if (e.code == RSL_E_REMOTE_IO || e.code == RSL_E_REMOTE_TYPE_CONFLICT ||
                 e.code == RSL_E_REMOTE_PERMISSION)
            rsl_sftp_wire_lstat(out(j), req(j, on_target_stat), j->wpath);
    }
    step(j);
}

static void send_move(job *j)
{
    rsl_op *op = j->op;
    j->posix = op->overwrite && (rsl_sftp_client_exts(j->R->s) & RSL_SFTP_EXT_POSIX_RENAME);
    if (!op->overwrite) {
        rsl_sftp_wire_rename(out(j), req(j, on_made), j->wfrom, j->wpath);
    } else if (j->posix) {
        rsl_sftp_wire_posix_rename(out(j), req(j, on_made), j->wfrom, j->wpath);
    } else { /* the remains of a killed run may stand there: not atomic */
        rsl_sftp_wire_remove(out(j), req(j, rsl_sftp_put_ignore), j->wpath);
        rsl_sftp_wire_rename(out(j), req(j, on_made), j->wfrom, j->wpath);
    }
}

static void start_move(job *j)
{
    if (rsl_sftp_put_wire_path(j, j->op->from, &j->wfrom) == 0)
        send_move(j);
}

/* ---- SETTIME ---- */

static void on_settime(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    job *j = ud;
    j->inflight--;
    rsl_err e = {0};
    if (rsl_sftp_client_status(s, r, "set mtime of", j->op->path, &e) != RSL_OK)
        rsl_sftp_put_fail(j, &e);
    step(j);
}

static void start_settime(job *j)
{
    rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_ACMODTIME,
                        .atime = (uint32_t)j->op->mtime,
                        .mtime = (uint32_t)j->op->mtime};
    if (j->op->mtime < 0)
        return; /* nothing to set */
    rsl_sftp_wire_setstat(out(j), req(j, on_settime), j->wpath, &a);
}

/* ---- APPEND ---- */

/* The OPEN answered before the size (a server answering out of order): its
 * handle was kept; it goes the PUT's way now. */
static void append_resume(job *j)
{
    rsl_sftp_handle h = j->h;
    rsl_sftp_reply r = {.type = RSL_FXP_HANDLE};
    r.handle.p = h.b;
    r.handle.len = h.len;
    rsl_sftp_put_opened(j, &r);
}

static void on_append_stat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    job *j = ud;
    j->inflight--;
    j->sized = 1;
    rsl_op *op = j->op;
    rsl_err e = {0};
    if (rsl_sftp_client_expect(s, r, RSL_FXP_ATTRS, "stat", op->path, &e) != RSL_OK) {
        rsl_sftp_put_fail(j, &e);
    } else if (!(r->attrs.flags & RSL_SFTP_ATTR_SIZE) || r->attrs.size != op->old_size ||
               rsl_sftp_client_attrs_is_dir(&r->attrs)) {
        e.code = RSL_E_REMOTE_SIZE_MISMATCH;
        snprintf(e.msg, sizeof(e.msg),
                 "append '%s' on %s: the remote file has %llu bytes, not the %llu recorded",
                 op->path, rsl_sftp_client_host(s),
                 (unsigned long long)(r->attrs.flags & RSL_SFTP_ATTR_SIZE ? r->attrs.size : 0),
                 (unsigned long long)op->old_size);
        rsl_sftp_put_fail(j, &e);
    }
    if (j->opened && j->hopen && !j->failed && j->phase == P_OPEN) {
        append_resume(j);
        return;
    }
    step(j); /* the OPEN is still out (it goes on from its answer), or cleanup */
}

static void on_append_open(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    job *j = ud;
    j->inflight--;
    j->opened = 1;
    if (!j->sized && r->type == RSL_FXP_HANDLE && r->handle.len <= sizeof(j->h.b)) {
        memcpy(j->h.b, r->handle.p, r->handle.len); /* kept until the size is in */
        j->h.len = r->handle.len;
        j->hopen = 1;
        return;
    }
    rsl_sftp_put_opened(j, r); /* after a failed size check: closed there */
}

static void start_append(job *j)
{
    rsl_op *op = j->op;
    if (op->src == NULL || op->src->read == NULL || op->old_size == 0 || op->old_size > op->size) {
        fail(j, RSL_E_INTERNAL, "append '%s': no source or nothing to append", op->path);
        return;
    }
    j->append = 1;
    j->wtmp = j->wpath; /* the PUT's writes and trailer go to the final file */
    j->end = op->size;
    uint64_t nw = (op->size - op->old_size) / j->R->write_len + 1;
    j->rcap = nw < j->R->o.max_writes ? (uint32_t)nw : j->R->o.max_writes;
    if ((j->ring = calloc(j->rcap, sizeof(*j->ring))) == NULL) {
        fail(j, RSL_E_NO_MEMORY, "append '%s': out of memory", op->path);
        return;
    }
    j->kept = op->offset = op->old_size;
    rsl_sftp_wire_lstat(out(j), req(j, on_append_stat), j->wpath);
    rsl_sftp_wire_open(out(j), req(j, on_append_open), j->wpath, RSL_SFTP_PF_WRITE, NULL);
    j->phase = P_OPEN;
}

void rsl_sftp_put_more(job *j)
{
    switch (j->op->kind) {
    case RSL_OP_MOVE:
        start_move(j);
        return;
    case RSL_OP_SYMLINK:
        if (j->op->target == NULL || j->op->target[0] == '\0')
            fail(j, RSL_E_INTERNAL, "symlink '%s': no target", j->op->path);
        else
            rsl_sftp_wire_symlink(out(j), req(j, on_made), j->op->target, j->wpath);
        return;
    case RSL_OP_SETTIME:
        start_settime(j);
        return;
    case RSL_OP_APPEND:
        start_append(j);
        return;
    default:
        return;
    }
}
