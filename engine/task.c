/*
 * task.c - one item on its way to the remote. See task.h.
 */
#include "task.h"

#include <stdlib.h>
#include <string.h>

#include "ranges.h"

rsl_task *rsl_task_new(rsl_task_kind kind, const rsl_item *it)
{
    rsl_task *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->kind = kind;
    t->worker = -1;
    t->idx = -1;
    t->it = *it;
    t->it.path = strdup(it->path);
    t->it.src_rel = it->src_rel ? strdup(it->src_rel) : NULL;
    t->it.from = it->from ? strdup(it->from) : NULL;
    t->it.target = it->target ? strdup(it->target) : NULL;
    if (t->it.path == NULL || (it->src_rel && t->it.src_rel == NULL) ||
        (it->from && t->it.from == NULL) || (it->target && t->it.target == NULL)) {
        rsl_task_free(t);
        return NULL;
    }
    t->op.ud = t;
    return t;
}

void rsl_task_free(rsl_task *t)
{
    if (t == NULL)
        return;
    if (t->opened)
        rsl_local_src_close(&t->src);
    rsl_ranges_free(t->rg);
    free(t->it.path);
    free(t->it.src_rel);
    free(t->it.from);
    free(t->it.target);
    free(t->tmp);
    free(t);
}

void rsl_task_op(rsl_task *t, rsl_op_kind kind, const char *path, int is_dir)
{
    void *ud = t->op.ud;
    memset(&t->op, 0, sizeof(t->op));
    t->op.kind = kind;
    t->op.path = path;
    t->op.is_dir = is_dir;
    t->op.mtime = -1;
    t->op.ud = ud;
    if (kind == RSL_OP_PUT || kind == RSL_OP_MKDIR || kind == RSL_OP_PUT_RANGE ||
        kind == RSL_OP_FINISH)
        t->op.mode = t->it.mode; /* already the remote mode (job perms) */
}
