/*
 * links.c - symbolic links as LINK tasks. See links.h.
 */
#include "links.h"

#include "apply.h"
#include "recorder.h"
#include "run_ctx.h"

/* LINK steps */
enum { L_CLEAR = 1, L_LINK };

static void link_op(rsl_task *t)
{
    t->step = L_LINK;
    rsl_task_op(t, RSL_OP_SYMLINK, t->it.path, 0);
    t->op.target = t->it.target;
}

static void clear_op(rsl_task *t)
{
    t->step = L_CLEAR;
    t->cursor = 1; /* cleared once: a second REMOTE_EXISTS is a failure */
    rsl_task_op(t, RSL_OP_REMOVE, t->it.path, 0);
}

void rsl_links_start(rsl_disp *d, const rsl_item *it, uint64_t idx)
{
    int self = 0;
    if (rsl_apply_blocked(d, it->path, &self)) {
        if (!self)
            rsl_recorder_failure(d->r, it->path, rsl_action_name(it->action), RSL_E_PARENT_FAILED,
                                 "its parent directory was not created", it->prev_attempts,
                                 it->first_failed_ms, it->size, it->mtime_ns, 0);
        return;
    }
    rsl_task *t = rsl_task_new(RSL_TASK_LINK, it);
    if (t == NULL || t->it.target == NULL) {
        rsl_task_free(t);
        rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
        return;
    }
    t->idx = (int64_t)idx;
    rsl_disp_adopt(d, t);
    if (it->action == RSL_ACT_UPDATE) /* the old link goes first */
        clear_op(t);
    else
        link_op(t);
    rsl_disp_push(d, t, t->idx);
}

void rsl_links_done(rsl_disp *d, rsl_task *t, int conn_err)
{
    rsl_run *r = d->r;
    rsl_code rc = t->op.err.code;
    if (rc == RSL_OK && t->step == L_CLEAR) {
        link_op(t);
        rsl_disp_push_next(d, t);
        return;
    }
    if (rc == RSL_E_REMOTE_EXISTS && t->step == L_LINK && t->cursor == 0 && !conn_err) {
        clear_op(t); /* remains of a killed run, or an item the manifest did not know */
        rsl_disp_push_next(d, t);
        return;
    }
    if (rc == RSL_OK)
        rsl_recorder_link_ok(r, &t->it);
    else
        rsl_recorder_failure(r, t->it.path, rsl_action_name(t->it.action), rc, t->op.err.msg,
                             t->it.prev_attempts, t->it.first_failed_ms, t->it.size, t->it.mtime_ns,
                             0);
    rsl_disp_finish(d, t);
}
