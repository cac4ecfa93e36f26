/*
 * apply.c - directories, replacements, deletes and stale temps as ops.
 * See apply.h.
 */
#include "apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "dirtimes.h"
#include "moves.h"
#include "recorder.h"
#include "run_ctx.h"

/* REPLACE steps */
enum { R_SUBTREE = 0, R_OLD, R_MKDIR };

static int is_under_path(const char *path, const char *dir)
{
    size_t l = strlen(dir);
    return strncmp(path, dir, l) == 0 && path[l] == '/';
}

int rsl_apply_blocked(const rsl_disp *d, const char *path, int *self)
{
    *self = rsl_pathset_has(&d->failed, path);
    return *self || rsl_pathset_has_ancestor(&d->failed, path);
}

static void fail_run(rsl_disp *d, const rsl_err *e)
{
    rsl_run_session_error(d->r, e->code, e->msg);
}

static int open_cursor(rsl_disp *d, rsl_spool *s, int backward)
{
    rsl_err e;
    if (d->cur_open)
        return 0;
    if (rsl_spool_cursor_init(&d->cur, s, backward, &e) != RSL_OK) {
        fail_run(d, &e);
        return -1;
    }
    d->cur_open = 1;
    return 0;
}

/* ---- directories and replacements ---- */

/* The next step of a replacement: the recorded items under the old
 * directory (deepest first), then the old item itself. */
static void replace_next(rsl_disp *d, rsl_task *t)
{
    rsl_item_vec *rd = &d->r->plan.replace_del;
    if (t->step == R_SUBTREE && t->it.old_type == RSL_TYPE_DIR) {
        for (size_t k = t->cursor; k-- > 0;) {
            rsl_item *x = &rd->v[k];
            if (x->action != RSL_ACT_DELETE || !is_under_path(x->path, t->it.path))
                continue;
            t->cursor = k;
            rsl_task_op(t, RSL_OP_REMOVE, x->path, x->old_type == RSL_TYPE_DIR);
            rsl_disp_push_next(d, t);
            return;
        }
    }
    t->step = R_OLD;
    rsl_task_op(t, RSL_OP_REMOVE, t->it.path, t->it.old_type == RSL_TYPE_DIR);
    rsl_disp_push(d, t, t->idx);
}

static void start_dir(rsl_disp *d, rsl_task *t)
{
    rsl_run *r = d->r;
    if (rsl_pathset_has_ancestor(&d->failed, t->it.path)) {
        if (t->it.type == RSL_TYPE_DIR) /* a file's PUT says PARENT_FAILED itself */
            rsl_recorder_failure(r, t->it.path, rsl_action_name(t->it.action), RSL_E_PARENT_FAILED,
                                 "its parent directory was not created", t->it.prev_attempts,
                                 t->it.first_failed_ms, 0, t->it.mtime_ns, 0);
        rsl_pathset_del(&d->pending, t->it.path);
        rsl_disp_finish(d, t);
        return;
    }
    if (t->kind == RSL_TASK_REPLACE) {
        t->step = R_SUBTREE;
        t->cursor = r->plan.replace_del.n;
        replace_next(d, t);
        return;
    }
    if (t->kind == RSL_TASK_MOVE) {
        rsl_moves_start_dir(d, t);
        return;
    }
    rsl_task_op(t, RSL_OP_MKDIR, t->it.path, 1);
    rsl_disp_push(d, t, t->idx);
}

/* Waiting directories whose parent is no longer pending go, in order (a
 * parent released here releases its children in the same pass). */
static void release_waiting(rsl_disp *d)
{
    rsl_task *t = d->wait_head;
    while (t && rsl_disp_room(d) > 0) {
        rsl_task *next = t->next;
        if (!rsl_pathset_has_parent(&d->pending, t->it.path)) {
            if (t->prev)
                t->prev->next = t->next;
            else
                d->wait_head = t->next;
            if (t->next)
                t->next->prev = t->prev;
            else
                d->wait_tail = t->prev;
            d->n_wait--;
            t->next = t->prev = NULL;
            start_dir(d, t);
        }
        t = next;
    }
}

/* Reads the next directory or replacement from the spool into a task: 1,
 * 0 at the end, -1 when the run must stop. */
static int read_dir(rsl_disp *d, rsl_task **out)
{
    rsl_item it;
    uint64_t idx;
    rsl_err e;
    for (;;) {
        int k = rsl_spool_next(&d->cur, &it, &idx, &e);
        if (k <= 0) {
            if (k < 0)
                fail_run(d, &e);
            return k;
        }
        if (it.action == RSL_ACT_SETTIME)
            rsl_dirtimes_add(d, it.path);
        if (it.action == RSL_ACT_MKDIR || it.action == RSL_ACT_REPLACE ||
            (it.action == RSL_ACT_MOVE && it.type == RSL_TYPE_DIR))
            break;
    }
    rsl_task *t = rsl_task_new(it.action == RSL_ACT_REPLACE ? RSL_TASK_REPLACE
                               : it.action == RSL_ACT_MOVE  ? RSL_TASK_MOVE
                                                            : RSL_TASK_MKDIR,
                               &it);
    if (t != NULL) /* the remote item's mode (job perms) */
        t->it.mode = rsl_job_remote_mode(d->r->job, it.mode, it.type == RSL_TYPE_DIR);
    if (t == NULL || (it.type == RSL_TYPE_DIR && rsl_pathset_add(&d->pending, it.path) != 0)) {
        rsl_task_free(t);
        rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
        return -1;
    }
    t->idx = (int64_t)idx;
    rsl_disp_adopt(d, t);
    *out = t;
    return 1;
}

rsl_feed_state rsl_apply_dirs_feed(rsl_disp *d)
{
    if (open_cursor(d, d->r->plan.items, 0) < 0)
        return RSL_FEED_END;
    release_waiting(d);
    while (!d->eof) {
        if (rsl_disp_room(d) == 0)
            return RSL_FEED_FULL;
        if (d->n_wait >= RSL_LOOKAHEAD)
            return RSL_FEED_WAIT;
        rsl_task *t = NULL;
        int k = read_dir(d, &t);
        if (k < 0)
            return RSL_FEED_END;
        if (k == 0) {
            d->eof = 1;
            break;
        }
        if (rsl_pathset_has_parent(&d->pending, t->it.path))
            rsl_disp_wait(d, t);
        else
            start_dir(d, t);
    }
    return d->n_wait > 0 ? RSL_FEED_WAIT : RSL_FEED_END;
}

/* A step of the directories phase failed for this item: recorded; nothing
 * under it (nor, for a file, the file itself) is attempted. */
static void dir_failed(rsl_disp *d, rsl_task *t)
{
    rsl_pathset_add(&d->failed, t->it.path);
    rsl_recorder_failure(d->r, t->it.path, rsl_action_name(t->it.action), t->op.err.code,
                         t->op.err.msg, t->it.prev_attempts, t->it.first_failed_ms, t->it.size,
                         t->it.mtime_ns, 0);
}

/* One recorded item under a replaced directory was removed (or not). */
static void subtree_done(rsl_disp *d, rsl_task *t)
{
    rsl_item *x = &d->r->plan.replace_del.v[t->cursor];
    if (t->op.err.code == RSL_OK)
        rsl_recorder_deleted(d->r, x, "delete");
    else
        rsl_recorder_failure(d->r, x->path, "delete", t->op.err.code, t->op.err.msg,
                             x->prev_attempts, 0, x->size, 0, 0);
    x->action = RSL_ACT_NONE;
    replace_next(d, t);
}

void rsl_apply_dir_done(rsl_disp *d, rsl_task *t, int conn_err)
{
    rsl_run *r = d->r;
    rsl_code rc = t->op.err.code;
    if (conn_err) { /* what follows depends on it: the run stops */
        rsl_run_session_error(r, rc, t->op.err.msg);
    } else if (t->kind == RSL_TASK_REPLACE && t->step == R_SUBTREE) {
        subtree_done(d, t);
        return;
    } else if (rc != RSL_OK) {
        dir_failed(d, t);
    } else if (t->kind == RSL_TASK_REPLACE && t->step == R_OLD) {
        /* the old item is gone; the new one may appear: pending */
        rsl_recorder_pending_one(r, t->it.path, t->it.type);
        if (t->it.type == RSL_TYPE_DIR) {
            t->step = R_MKDIR;
            rsl_task_op(t, RSL_OP_MKDIR, t->it.path, 1);
            rsl_disp_push_next(d, t);
            return;
        }
    } else {
        rsl_recorder_dir_ok(r, &t->it);
    }
    rsl_pathset_del(&d->pending, t->it.path);
    rsl_disp_finish(d, t);
}

/* ---- deletes ---- */

static int busy_add(rsl_disp *d, rsl_task *t)
{
    if (d->n_busy == d->cap_busy) {
        size_t cap = d->cap_busy ? d->cap_busy * 2 : 64;
        rsl_task **v = realloc(d->busy, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        d->busy = v;
        d->cap_busy = cap;
    }
    d->busy[d->n_busy++] = t;
    return 0;
}

static void busy_del(rsl_disp *d, const rsl_task *t)
{
    for (size_t i = 0; i < d->n_busy; i++)
        if (d->busy[i] == t) {
            d->busy[i] = d->busy[--d->n_busy];
            return;
        }
}

/* A delete under dir is still queued or in flight. */
static int busy_under(const rsl_disp *d, const char *dir)
{
    for (size_t i = 0; i < d->n_busy; i++)
        if (is_under_path(d->busy[i]->it.path, dir))
            return 1;
    return 0;
}

static int read_delete(rsl_disp *d, rsl_task **out)
{
    rsl_item it;
    rsl_err e;
    int k;
    do /* a path moved away is no delete (unless its move fell back) */
        k = rsl_spool_next(&d->cur, &it, NULL, &e);
    while (k > 0 && rsl_detect_moved(&d->r->plan, it.path));
    if (k <= 0) {
        if (k < 0)
            fail_run(d, &e);
        return k;
    }
    if ((*out = rsl_task_new(RSL_TASK_DELETE, &it)) == NULL) {
        rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
        return -1;
    }
    rsl_disp_adopt(d, *out);
    return 1;
}

/* A pending file's delete removes the temp a killed upload may have left
 * first (before its directory's delete): 0, or -1 out of memory. */
static int temp_first(rsl_disp *d, rsl_task *t)
{
    size_t n = strlen(t->it.path) + strlen(d->r->job->temp_suffix) + 1;
    if ((t->tmp = malloc(n)) == NULL) {
        busy_del(d, t);
        rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
        rsl_disp_finish(d, t);
        return -1;
    }
    snprintf(t->tmp, n, "%s%s", t->it.path, d->r->job->temp_suffix);
    rsl_task_op(t, RSL_OP_REMOVE, t->tmp, 0);
    return 0;
}

rsl_feed_state rsl_apply_deletes_feed(rsl_disp *d)
{
    if (open_cursor(d, d->r->plan.deletes, 1) < 0)
        return RSL_FEED_END;
    while (!d->eof) {
        if (rsl_disp_room(d) == 0)
            return RSL_FEED_FULL;
        rsl_task *t = d->held;
        d->held = NULL;
        int k = t ? 1 : read_delete(d, &t);
        if (k < 0)
            return RSL_FEED_END;
        if (k == 0) {
            d->eof = 1;
            break;
        }
        int is_dir = t->it.old_type == RSL_TYPE_DIR;
        if (is_dir && busy_under(d, t->it.path)) {
            d->held = t; /* a directory goes once everything below it is done */
            return RSL_FEED_WAIT;
        }
        if (busy_add(d, t) != 0) {
            rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
            rsl_disp_finish(d, t);
            return RSL_FEED_END;
        }
        if (!is_dir && t->it.overwrite && temp_first(d, t) != 0)
            return RSL_FEED_END;
        if (t->tmp == NULL)
            rsl_task_op(t, RSL_OP_REMOVE, t->it.path, is_dir);
        if (rsl_disp_push(d, t, -1) != 0)
            busy_del(d, t);
    }
    return RSL_FEED_END;
}

/* ---- stale temps ---- */

rsl_feed_state rsl_apply_stale_feed(rsl_disp *d)
{
    rsl_item_vec *v = &d->r->plan.stale_temps;
    for (; d->stale_next < v->n; d->stale_next++) {
        if (rsl_disp_room(d) == 0)
            return RSL_FEED_FULL;
        const rsl_item *it = &v->v[d->stale_next];
        rsl_task *t = rsl_task_new(RSL_TASK_STALE, it);
        size_t n = strlen(it->path) + strlen(d->r->job->temp_suffix) + 1;
        if (t == NULL || (t->tmp = malloc(n)) == NULL) {
            rsl_task_free(t);
            rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
            return RSL_FEED_END;
        }
        snprintf(t->tmp, n, "%s%s", it->path, d->r->job->temp_suffix);
        rsl_disp_adopt(d, t);
        rsl_task_op(t, RSL_OP_REMOVE, t->tmp, 0);
        rsl_disp_push(d, t, -1);
    }
    return RSL_FEED_END;
}

void rsl_apply_delete_done(rsl_disp *d, rsl_task *t, int conn_err)
{
    rsl_run *r = d->r;
    rsl_code rc = t->op.err.code;
    if (t->kind == RSL_TASK_STALE) {
        if (rc == RSL_OK) /* else: tried again on a later run */
            rsl_recorder_upload_end(r, t->it.path);
    } else if (rc == RSL_OK && t->tmp != NULL && t->op.path == t->tmp) {
        rsl_task_op(t, RSL_OP_REMOVE, t->it.path, 0); /* the temp is gone: now the file */
        rsl_disp_push_next(d, t);
        return;
    } else {
        busy_del(d, t);
        if (rc == RSL_OK)
            rsl_recorder_deleted(r, &t->it, "delete");
        else if (conn_err)
            rsl_run_session_error(r, rc, t->op.err.msg);
        else
            rsl_recorder_failure(r, t->it.path, "delete", rc, t->op.err.msg, t->it.prev_attempts, 0,
                                 t->it.size, 0, 0);
    }
    rsl_disp_finish(d, t);
}
