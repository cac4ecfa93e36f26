/*
 * dirtimes.c - directory mtimes at the end of a run. See dirtimes.h.
 */
#include "dirtimes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apply.h"
#include "recorder.h"
#include "run_ctx.h"
#include "source.h"

static int wanted(const rsl_disp *d)
{
    return (d->r->caps & RSL_CAP_DIR_MTIME) != 0;
}

/* Adds the directory holding path ("" for the root). */
static void add_parent(rsl_disp *d, const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof(dir))
        return;
    memcpy(dir, path, n);
    dir[n] = '\0';
    rsl_dirtimes_add(d, dir);
}

void rsl_dirtimes_add(rsl_disp *d, const char *dir)
{
    if (wanted(d) && rsl_pathset_add(&d->dirtimes, dir) != 0)
        rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
}

void rsl_dirtimes_touched(rsl_disp *d, const rsl_op *op)
{
    if (!wanted(d))
        return;
    switch (op->kind) {
    case RSL_OP_MKDIR:
        rsl_dirtimes_add(d, op->path);
        if (op->path[0] != '\0')
            add_parent(d, op->path);
        break;
    case RSL_OP_MOVE: /* a directory moved keeps its mtime: only both parents changed */
        add_parent(d, op->path);
        add_parent(d, op->from);
        break;
    case RSL_OP_PUT:
    case RSL_OP_REMOVE:
    case RSL_OP_SYMLINK:
        add_parent(d, op->path);
        break;
    default: /* STAT, SETTIME, APPEND (in place: the directory is untouched) */
        break;
    }
}

/* Deepest first; siblings in byte order. */
static int depth_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int dx = 0, dy = 0;
    for (const char *p = x; *p; p++)
        dx += *p == '/';
    for (const char *p = y; *p; p++)
        dy += *p == '/';
    dx += x[0] != '\0'; /* the root ("") is shallower than any top-level directory */
    dy += y[0] != '\0';
    if (dx != dy)
        return dy - dx;
    return strcmp(x, y);
}

/* The local directory's mtime now: 1, or 0 when it is no directory. */
static int local_mtime(const rsl_run *r, const char *dir, int64_t *ns)
{
    struct stat sb;
    int ok = dir[0] == '\0' ? fstat(r->srcfd, &sb) == 0
                            : rsl_source_lstat_beneath(r->srcfd, dir, &sb) == 0;
    if (!ok || !S_ISDIR(sb.st_mode))
        return 0;
    *ns = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    return 1;
}

static int64_t floor_sec(int64_t ns)
{
    int64_t s = ns / 1000000000LL;
    return ns % 1000000000LL < 0 ? s - 1 : s;
}

rsl_feed_state rsl_dirtimes_feed(rsl_disp *d)
{
    if (!wanted(d) || rsl_pathset_has(&d->failed, ""))
        return RSL_FEED_END;
    if (d->dt == NULL && d->dirtimes.n > 0) {
        d->n_dt = rsl_pathset_list(&d->dirtimes, &d->dt);
        qsort(d->dt, d->n_dt, sizeof(*d->dt), depth_cmp);
    }
    for (; d->dt_next < d->n_dt; d->dt_next++) {
        if (rsl_disp_room(d) == 0)
            return RSL_FEED_FULL;
        const char *dir = d->dt[d->dt_next];
        rsl_item it = {.path = (char *)dir, .type = RSL_TYPE_DIR};
        int self = 0;
        if (!local_mtime(d->r, dir, &it.mtime_ns) || rsl_apply_blocked(d, dir, &self))
            continue;
        rsl_task *t = rsl_task_new(RSL_TASK_SETTIME, &it);
        if (t == NULL) {
            rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
            return RSL_FEED_END;
        }
        rsl_disp_adopt(d, t);
        rsl_task_op(t, RSL_OP_SETTIME, t->it.path, 1);
        t->op.mtime = floor_sec(t->it.mtime_ns);
        rsl_disp_push(d, t, -1);
    }
    return RSL_FEED_END;
}

void rsl_dirtimes_done(rsl_disp *d, rsl_task *t, int conn_err)
{
    rsl_code rc = t->op.err.code;
    if (rc == RSL_OK)
        rsl_recorder_dir_time(d->r, t->it.path, t->it.mtime_ns);
    else if (rc != RSL_E_REMOTE_UNSUPPORTED || conn_err)
        rsl_run_log(d->r, RSL_LOG_WARN, "the mtime of directory '%s' was not set: %s", t->it.path,
                    t->op.err.msg);
    rsl_disp_finish(d, t);
}
