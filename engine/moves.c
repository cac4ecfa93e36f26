/*
 * moves.c - MOVE tasks and their fallback. See moves.h.
 */
#include "moves.h"

#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "detect.h"
#include "links.h"
#include "recorder.h"
#include "run_ctx.h"
#include "upload.h"

static void move_op(rsl_task *t)
{
    int is_dir = t->it.type == RSL_TYPE_DIR;
    rsl_task_op(t, RSL_OP_MOVE, t->it.path, is_dir);
    t->op.from = t->it.from;
    t->op.overwrite = t->it.overwrite && !is_dir;
}

/* A directory that is no move (any more): its MKDIR. */
static void as_mkdir(rsl_disp *d, rsl_task *t, int next)
{
    t->kind = RSL_TASK_MKDIR;
    t->it.action = RSL_ACT_MKDIR;
    t->it.covered = 0;
    rsl_task_op(t, RSL_OP_MKDIR, t->it.path, 1);
    if (next)
        rsl_disp_push_next(d, t);
    else
        rsl_disp_push(d, t, t->idx);
}

void rsl_moves_start_dir(rsl_disp *d, rsl_task *t)
{
    if (!t->it.covered) {
        move_op(t);
        rsl_disp_push(d, t, t->idx);
    } else if (rsl_detect_moved(&d->r->plan, t->it.from)) {
        /* carried by the directory above: its rows moved with it */
        rsl_pathset_del(&d->pending, t->it.path);
        rsl_disp_finish(d, t);
    } else { /* that directory's move fell back: this one is made */
        as_mkdir(d, t, 0);
    }
}

/* A file (or link) that is no move (any more): sent as a new item (next:
 * ahead of the others, an item already begun). */
static void as_new(rsl_disp *d, const rsl_item *it, uint64_t idx, int next)
{
    rsl_item n = *it;
    n.action = RSL_ACT_CREATE;
    n.from = NULL;
    n.covered = 0;
    if (n.type == RSL_TYPE_LINK)
        rsl_links_start(d, &n, idx);
    else
        rsl_upload_start(d, &n, idx, next);
}

void rsl_moves_file(rsl_disp *d, const rsl_item *it, uint64_t idx)
{
    if (it->covered) {
        if (!rsl_detect_moved(&d->r->plan, it->from))
            as_new(d, it, idx, 0);
        return; /* else carried by the directory above */
    }
    int self = 0;
    if (rsl_apply_blocked(d, it->path, &self)) {
        if (!self)
            rsl_recorder_failure(d->r, it->path, "move", RSL_E_PARENT_FAILED,
                                 "its parent directory was not created", it->prev_attempts,
                                 it->first_failed_ms, it->size, it->mtime_ns, 0);
        return;
    }
    rsl_task *t = rsl_task_new(RSL_TASK_MOVE, it);
    if (t == NULL) {
        rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
        return;
    }
    t->idx = (int64_t)idx;
    rsl_disp_adopt(d, t);
    move_op(t);
    rsl_disp_push(d, t, t->idx);
}

static int count_row(void *ud, const rsl_manifest_row *row)
{
    (void)row;
    (*(int64_t *)ud)++;
    return 0;
}

/* The deletes a fallback adds count against max_delete as the plan's did:
 * 1 when they fit (counted in), 0 when the old path must stay on the
 * remote (its rows are pending: a later run deletes it, within the limit). */
static int deletes_fit(rsl_run *r, const rsl_task *t)
{
    long limit = r->o->max_delete_override >= 0 ? r->o->max_delete_override : r->job->max_delete;
    int64_t n = 1;
    rsl_err e;
    if (t->it.type == RSL_TYPE_DIR &&
        rsl_state_manifest_subtree(r->st, t->it.from, count_row, &n, &e) != RSL_OK)
        return 0;
    if (r->plan.n_deletes + r->plan.n_replace_del + n > limit)
        return 0;
    r->plan.n_deletes += n;
    return 1;
}

/* The server refused the move: recorded as such; the new path is sent and
 * the old one deleted in the deletes phase (within max_delete). */
static void fall_back(rsl_disp *d, rsl_task *t)
{
    rsl_run *r = d->r;
    char msg[700];
    int del = deletes_fit(r, t);
    snprintf(msg, sizeof(msg), "the move from '%s' was refused (%s: %s); sent instead, %s",
             t->it.from, rsl_code_name(t->op.err.code), t->op.err.msg,
             del ? "and the old path deleted"
                 : "the old path kept on the remote until a run within max_delete deletes it");
    rsl_run_log(r, RSL_LOG_WARN, "'%s': %s", t->it.path, msg);
    rsl_recorder_result_from(r, t->it.path, t->it.from, "move", "skipped", t->op.err.code, msg,
                             t->it.prev_attempts + 1);
    if (del) /* else it stays in the set: its deletes are not fed */
        rsl_pathset_del(r->plan.moved_from, t->it.from);
    if (t->it.type == RSL_TYPE_DIR) {
        as_mkdir(d, t, 1);
        return;
    }
    as_new(d, &t->it, t->idx >= 0 ? (uint64_t)t->idx : 0, 1);
    rsl_disp_finish(d, t);
}

void rsl_moves_done(rsl_disp *d, rsl_task *t, int conn_err)
{
    rsl_run *r = d->r;
    rsl_code rc = t->op.err.code;
    int is_dir = t->it.type == RSL_TYPE_DIR;
    if (rc == RSL_OK) {
        rsl_recorder_moved(r, &t->it);
    } else if (conn_err && is_dir) { /* what follows depends on it */
        rsl_run_session_error(r, rc, t->op.err.msg);
    } else if (conn_err || rsl_retry_stops_run(rc)) {
        /* both paths stay pending: the next run sends the new one and
         * deletes the old one, whichever the remote holds */
        rsl_recorder_failure(r, t->it.path, "move", rc, t->op.err.msg, t->it.prev_attempts,
                             t->it.first_failed_ms, t->it.size, t->it.mtime_ns, 0);
    } else {
        fall_back(d, t);
        return;
    }
    if (is_dir)
        rsl_pathset_del(&d->pending, t->it.path);
    rsl_disp_finish(d, t);
}
