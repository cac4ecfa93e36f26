/*
 * apply.c - directories, replacements, deletes and stale temps on the main
 * connection. See apply.h.
 */
#define _GNU_SOURCE
#include "apply.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect.h"
#include "recorder.h"
#include "run_ctx.h"

typedef enum { OP_MKDIR, OP_REMOVE_FILE, OP_REMOVE_DIR } main_op_kind;

static int is_under_path(const char *path, const char *dir)
{
    size_t l = strlen(dir);
    return strncmp(path, dir, l) == 0 && path[l] == '/';
}

int rsl_apply_parent_failed(const rsl_run *r, const char *path)
{
    for (size_t i = 0; i < r->n_failed_dirs; i++)
        if (is_under_path(path, r->failed_dirs[i]))
            return 1;
    return 0;
}

static int add_failed_dir(rsl_run *r, const char *path)
{
    char **n = realloc(r->failed_dirs, (r->n_failed_dirs + 1) * sizeof(*n));
    if (n == NULL)
        return -1;
    r->failed_dirs = n;
    if ((n[r->n_failed_dirs] = strdup(path)) == NULL)
        return -1;
    r->n_failed_dirs++;
    return 0;
}

/* One remote call on the main connection; a connection error reconnects
 * and tries again, up to the policy's attempts. */
static rsl_code main_op(rsl_run *r, rsl_conn **conn, main_op_kind op, const char *path,
                        rsl_err *err)
{
    for (int attempt = 0;; attempt++) {
        if (*conn == NULL) {
            rsl_code rc = rsl_connect_again(r, conn, err);
            if (rc != RSL_OK)
                return rc;
        }
        rsl_code rc = op == OP_MKDIR         ? r->ops->mkdir(*conn, path, err)
                      : op == OP_REMOVE_FILE ? r->ops->remove(*conn, path, 0, err)
                                             : r->ops->remove(*conn, path, 1, err);
        if (rc == RSL_OK || !rsl_retry_reconnects(rc) || attempt >= r->retry.max_attempts - 1)
            return rc;
        rsl_run_log(r, RSL_LOG_WARN, "%s; reconnecting", err->msg);
        r->ops->disconnect(*conn);
        *conn = NULL;
    }
}

static main_op_kind remove_op(int type)
{
    return type == RSL_TYPE_DIR ? OP_REMOVE_DIR : OP_REMOVE_FILE;
}

/* Deletes one remote item recorded in the manifest and records the result.
 * Returns -1 when the session failed (connection), else 0. */
static int delete_item(rsl_run *r, rsl_conn **conn, const rsl_item *d, const char *action)
{
    rsl_err e;
    rsl_code rc = main_op(r, conn, remove_op(d->old_type), d->path, &e);
    if (rc == RSL_OK) {
        rsl_recorder_deleted(r, d, action);
        return 0;
    }
    if (rsl_retry_reconnects(rc)) {
        rsl_run_session_error(r, rc, e.msg);
        return -1;
    }
    rsl_recorder_failure(r, d->path, action, rc, e.msg, d->prev_attempts, 0, d->size, 0, 0);
    return 0;
}

/* A file or directory replaces a remote item of the other type: remove what
 * the remote has there (a directory's recorded contents first). */
static rsl_code replace_old(rsl_run *r, rsl_conn **conn, const rsl_item *it, rsl_err *e)
{
    if (it->old_type == RSL_TYPE_DIR) {
        for (size_t k = r->plan.replace_del.n; k-- > 0;) {
            rsl_item *d = &r->plan.replace_del.v[k];
            if (!is_under_path(d->path, it->path) || d->action != RSL_ACT_DELETE)
                continue;
            if (delete_item(r, conn, d, "delete") < 0)
                return rsl_err_set(e, r->session_err.code, 0, "%s", r->session_err.msg);
            d->action = RSL_ACT_NONE;
        }
    }
    rsl_code rc = main_op(r, conn, remove_op(it->old_type), it->path, e);
    if (rc == RSL_OK) /* the old item is gone; the new one may appear: pending */
        rsl_recorder_pending_one(r, it->path, it->type);
    return rc;
}

/* An item of the directory phase failed. */
static void dir_phase_failed(rsl_run *r, rsl_item *it, rsl_code rc, const rsl_err *e)
{
    if (it->type == RSL_TYPE_DIR)
        add_failed_dir(r, it->path);
    else
        it->action = RSL_ACT_NONE; /* the file cannot be placed */
    const char *action = rsl_action_name(it->action == RSL_ACT_NONE ? RSL_ACT_REPLACE : it->action);
    rsl_recorder_failure(r, it->path, action, rc, e->msg, it->prev_attempts, it->first_failed_ms,
                         it->size, it->mtime_ns, 0);
}

/* One directory or replacement. Returns -1 when the session failed. */
static int dir_item(rsl_run *r, rsl_conn **conn, rsl_item *it)
{
    if (rsl_apply_parent_failed(r, it->path)) {
        if (it->type == RSL_TYPE_DIR) {
            add_failed_dir(r, it->path);
            rsl_recorder_failure(r, it->path, "mkdir", RSL_E_PARENT_FAILED,
                                 "its parent directory was not created", it->prev_attempts,
                                 it->first_failed_ms, 0, it->mtime_ns, 0);
        }
        return 0;
    }
    rsl_err e;
    rsl_code rc = RSL_OK;
    if (it->action == RSL_ACT_REPLACE && (rc = replace_old(r, conn, it, &e)) != RSL_OK &&
        r->session_failed)
        return -1;
    if (rc == RSL_OK && it->type == RSL_TYPE_DIR)
        rc = main_op(r, conn, OP_MKDIR, it->path, &e);
    if (rc == RSL_OK) {
        if (it->type == RSL_TYPE_DIR)
            rsl_recorder_dir_ok(r, it);
        rsl_recorder_maybe_commit(r);
        return 0;
    }
    if (rsl_retry_reconnects(rc)) {
        rsl_run_session_error(r, rc, e.msg);
        return -1;
    }
    dir_phase_failed(r, it, rc, &e);
    return 0;
}

void rsl_apply_dirs(rsl_run *r, rsl_conn **conn)
{
    for (size_t i = 0; i < r->plan.items.n && !r->session_failed && !rsl_run_cancelled(r); i++) {
        rsl_item *it = &r->plan.items.v[i];
        if (it->type == RSL_TYPE_FILE && it->action != RSL_ACT_REPLACE)
            continue;
        if (dir_item(r, conn, it) < 0)
            return;
    }
}

void rsl_apply_deletes(rsl_run *r, rsl_conn **conn)
{
    if (!r->job->delete_)
        return;
    for (size_t k = r->plan.deletes.n; k-- > 0 && !r->session_failed && !rsl_run_cancelled(r);) {
        if (delete_item(r, conn, &r->plan.deletes.v[k], "delete") < 0)
            return;
        rsl_recorder_maybe_commit(r);
    }
}

void rsl_apply_stale_temps(rsl_run *r, rsl_conn **conn)
{
    for (size_t k = 0; k < r->plan.stale_temps.n && !r->session_failed && !rsl_run_cancelled(r);
         k++) {
        const char *path = r->plan.stale_temps.v[k].path;
        char tmp[PATH_MAX * 2];
        snprintf(tmp, sizeof(tmp), "%s%s", path, r->job->temp_suffix);
        rsl_err e;
        if (main_op(r, conn, OP_REMOVE_FILE, tmp, &e) == RSL_OK)
            rsl_recorder_upload_end(r, path);
    }
}
