/*
 * upload.c - files as PUT tasks. See upload.h.
 */
#include "upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "links.h"
#include "moves.h"
#include "ranges.h"
#include "recorder.h"
#include "run_ctx.h"

/* PUT steps: [clear the stale temp,] then one PUT, or the pieces (ranges.c)
 * then FINISH; or the APPEND of a growing file's tail */
enum { P_CLEAR = 1, P_PUT, P_APPEND, P_RANGES, P_FINISH };

/* Seconds of a nanosecond time, rounded down (also before 1970). */
static int64_t floor_sec(int64_t ns)
{
    int64_t s = ns / 1000000000LL;
    return ns % 1000000000LL < 0 ? s - 1 : s;
}

/* The PUT op; resume: the temp may hold a prefix of this version. */
static void put_op(rsl_task *t, int resume)
{
    t->step = P_PUT;
    rsl_task_op(t, RSL_OP_PUT, t->it.path, 0);
    t->op.tmp = t->tmp;
    t->op.resume = resume;
    t->op.size = t->it.size;
    t->op.mtime = floor_sec(t->it.mtime_ns);
    t->op.src = &t->src.src;
}

/* The APPEND op: the tail [old_size, size) written in place. */
static void append_op(rsl_task *t)
{
    t->step = P_APPEND;
    rsl_task_op(t, RSL_OP_APPEND, t->it.path, 0);
    t->op.old_size = t->it.old_size;
    t->op.size = t->it.size;
    t->op.mtime = floor_sec(t->it.mtime_ns);
    t->op.src = &t->src.src;
}

void rsl_upload_finish_op(rsl_disp *d, rsl_task *t)
{
    t->step = P_FINISH;
    rsl_task_op(t, RSL_OP_FINISH, t->it.path, 0);
    t->op.tmp = t->tmp;
    t->op.size = t->it.size;
    t->op.mtime = floor_sec(t->it.mtime_ns);
    t->op.src = &t->src.src;
    rsl_disp_push_next(d, t);
}

void rsl_upload_retry(rsl_disp *d, rsl_task *t)
{
    (void)d;
    if (t->step == P_PUT)
        t->op.resume = t->resumable && t->record_ok;
}

/* An APPEND needs what the remote holds of the file: its recorded digest
 * (the source checks the head against it). 0 when there is none. */
static int expect_head(rsl_run *r, rsl_task *t)
{
    rsl_manifest_row row;
    if (!rsl_state_manifest_get(r->st, t->it.path, &row) || row.digest == NULL ||
        row.size != t->it.old_size || row.pending)
        return 0;
    rsl_local_src_expect_head(&t->src, t->it.old_size, row.digest);
    return 1;
}

/* A file that is not attempted: recorded like a failed upload. */
static void not_attempted(rsl_run *r, const rsl_item *it, rsl_code code, const char *msg)
{
    rsl_file_result res = {.it = it, .code = code, .size = it->size, .mtime_ns = it->mtime_ns};
    snprintf(res.msg, sizeof(res.msg), "'%s': %s", it->path, msg);
    rsl_recorder_file(r, &res);
}

/* Sort-key order of two paths ('/' sorts first, as in state.h). */
static int skey_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned x = *a == '/' ? 0 : (unsigned char)*a, y = *b == '/' ? 0 : (unsigned char)*b;
        if (*a == '\0' || *b == '\0')
            return (*a != '\0') - (*b != '\0');
        if (x != y)
            return x < y ? -1 : 1;
    }
}

/* The upload record of path as loaded for the plan, or NULL. */
static const rsl_upload_rec *find_rec(const rsl_run *r, const char *path)
{
    size_t lo = 0, hi = r->n_ups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = skey_cmp(r->ups[mid].path, path);
        if (c == 0)
            return &r->ups[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* How t starts: a record of this version continues when it is of the kind
 * the file goes as now (pieces, or one PUT and a prefix); otherwise the
 * old temp is removed first. */
static void first_step(rsl_run *r, rsl_task *t)
{
    const rsl_upload_rec *rec = t->it.has_upload_rec ? find_rec(r, t->it.path) : NULL;
    int rec_pieces = rec != NULL && rec->done != NULL;
    int ranged = rsl_ranges_wanted(r, &t->it);
    t->resumable = ranged || (t->it.size >= RSL_RESUME_MIN && (r->caps & RSL_CAP_RESUME));
    t->record_ok = t->it.upload_rec_matches && rec_pieces == ranged;
    if (t->resumable && !t->record_ok) { /* a fresh start: the old temp goes first */
        t->step = P_CLEAR;
        rsl_task_op(t, RSL_OP_REMOVE, t->tmp, 0);
        t->rg_pending = ranged;
    } else if (ranged) {
        t->step = P_RANGES;
        t->done_text = rec->done;
    } else {
        put_op(t, t->resumable && t->record_ok);
    }
}

/* The task for a file of the plan, its first op set; NULL when the file is
 * not attempted (recorded) or out of memory (the run stops). */
static rsl_task *new_put(rsl_disp *d, const rsl_item *it, uint64_t idx)
{
    rsl_run *r = d->r;
    int self = 0;
    if (rsl_apply_blocked(d, it->path, &self)) {
        if (!self) /* its own replacement failed: recorded then */
            not_attempted(r, it, RSL_E_PARENT_FAILED, "its parent directory was not created");
        return NULL;
    }
    rsl_task *t = rsl_task_new(RSL_TASK_PUT, it);
    if (t != NULL) /* the remote file's mode (job perms) */
        t->it.mode = rsl_job_remote_mode(r->job, it->mode, 0);
    size_t n = strlen(it->path) + strlen(r->job->temp_suffix) + 1;
    if (t == NULL || (t->tmp = malloc(n)) == NULL) {
        rsl_task_free(t);
        rsl_run_session_error(r, RSL_E_NO_MEMORY, "out of memory");
        return NULL;
    }
    snprintf(t->tmp, n, "%s%s", it->path, r->job->temp_suffix);
    t->idx = (int64_t)idx;
    rsl_local_src_cfg cfg = {.rootfd = r->srcfd,
                             .bw = r->bw.rate ? &r->bw : NULL,
                             .stop = &r->stop,
                             .bytes_total = &r->bytes_done};
    rsl_local_src_init(&t->src, &cfg, t->it.path, t->it.src_rel, t->it.size, t->it.mtime_ns,
                       t->it.dev, t->it.ino);
    t->opened = 1;
    if (t->it.action == RSL_ACT_APPEND && (r->caps & RSL_CAP_APPEND) && expect_head(r, t))
        append_op(t);
    else
        first_step(r, t);
    return t;
}

void rsl_upload_start(rsl_disp *d, const rsl_item *it, uint64_t idx, int next)
{
    rsl_task *t = new_put(d, it, idx);
    if (t == NULL)
        return;
    rsl_disp_adopt(d, t);
    if (t->step == P_RANGES)
        rsl_ranges_begin(d, t, t->done_text);
    else if (next)
        rsl_disp_push_next(d, t);
    else
        rsl_disp_push(d, t, t->idx);
}

/* An APPEND that cannot be one: the file goes whole through the temp. */
static int append_refused(rsl_code rc)
{
    return rc == RSL_E_HEAD_CHANGED || rc == RSL_E_REMOTE_UNSUPPORTED ||
           rc == RSL_E_REMOTE_SIZE_MISMATCH || rc == RSL_E_REMOTE_NOT_FOUND ||
           rc == RSL_E_REMOTE_TYPE_CONFLICT;
}

rsl_feed_state rsl_upload_feed(rsl_disp *d)
{
    rsl_err e;
    if (!d->cur_open) {
        if (rsl_spool_cursor_init(&d->cur, d->r->plan.items, 0, &e) != RSL_OK) {
            rsl_run_session_error(d->r, e.code, e.msg);
            return RSL_FEED_END;
        }
        d->cur_open = 1;
    }
    while (!d->eof) {
        if (rsl_disp_room(d) == 0)
            return RSL_FEED_FULL;
        rsl_item it;
        uint64_t idx;
        int k = rsl_spool_next(&d->cur, &it, &idx, &e);
        if (k < 0)
            rsl_run_session_error(d->r, e.code, e.msg);
        if (k <= 0) {
            d->eof = 1;
            break;
        }
        if (it.type == RSL_TYPE_DIR || it.action == RSL_ACT_SETTIME)
            continue;
        if (it.action == RSL_ACT_MOVE)
            rsl_moves_file(d, &it, idx);
        else if (it.type == RSL_TYPE_LINK)
            rsl_links_start(d, &it, idx);
        else
            rsl_upload_start(d, &it, idx, 0);
    }
    return RSL_FEED_END;
}

void rsl_upload_done(rsl_disp *d, rsl_task *t, int conn_err)
{
    rsl_run *r = d->r;
    rsl_code rc = t->op.err.code;
    if (t->step == P_CLEAR && rc == RSL_OK) {
        /* the stale temp is gone: the record is durable before any byte */
        if (rsl_recorder_upload_begin(r, &t->it, t->it.size, t->it.mtime_ns) != RSL_OK) {
            rsl_disp_finish(d, t);
            return;
        }
        t->record_ok = 1;
        t->recorded = 1;
        if (t->rg_pending) { /* pieces: "" says so before any of them is sent */
            t->step = P_RANGES;
            if (rsl_recorder_upload_progress(r, t->it.path, "") != RSL_OK)
                rsl_disp_finish(d, t);
            else
                rsl_ranges_begin(d, t, NULL);
            return;
        }
        put_op(t, 0); /* the temp was just removed: nothing to resume yet */
        rsl_disp_push_next(d, t);
        return;
    }
    if (t->step == P_APPEND && !conn_err && append_refused(rc)) {
        rsl_run_log(r, RSL_LOG_INFO, "'%s': %s; sent whole", t->it.path, t->op.err.msg);
        t->it.action = RSL_ACT_UPDATE;
        rsl_local_src_close(&t->src); /* reopened (and hashed) from the start */
        t->src.head_len = 0;
        first_step(r, t);
        if (t->step == P_RANGES)
            rsl_ranges_begin(d, t, t->done_text);
        else
            rsl_disp_push_next(d, t);
        return;
    }
    (void)conn_err; /* a file fails alone, even on a connection error */
    unsigned char digest[RSL_SOURCE_DIGEST_LEN];
    rsl_file_result res = {.it = &t->it,
                           .code = rc,
                           .bytes_sent = t->src.sent + rsl_ranges_sent(t),
                           .size = t->it.size,
                           .mtime_ns = t->it.mtime_ns,
                           .attempts = t->attempts + 1,
                           .upload_recorded = t->recorded};
    if (rc != RSL_OK)
        snprintf(res.msg, sizeof(res.msg), "%s", t->op.err.msg);
    else if ((t->step == P_PUT || t->step == P_FINISH || t->step == P_APPEND) &&
             rsl_local_src_digest(&t->src, digest))
        res.digest = digest;
    rsl_recorder_file(r, &res);
    rsl_disp_finish(d, t);
}
