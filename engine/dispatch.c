/*
 * dispatch.c - the main thread's loop over the phases. See dispatch.h.
 *
 * The loop: take worker events, handle every completed op, feed the current
 * phase while the queue has room, move to the next phase when this one has
 * fed everything and nothing of it is left; else wait (at most 200 ms: the
 * batch commit and the progress report run between waits).
 */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "dirtimes.h"
#include "links.h"
#include "moves.h"
#include "ranges.h"
#include "recorder.h"
#include "run_ctx.h"
#include "upload.h"
#include "workers.h"

static int stopping(rsl_disp *d);

void rsl_disp_adopt(rsl_disp *d, rsl_task *t)
{
    (void)t;
    d->outstanding++;
}

void rsl_disp_finish(rsl_disp *d, rsl_task *t)
{
    d->outstanding--;
    rsl_task_free(t);
}

size_t rsl_disp_room(rsl_disp *d)
{
    return stopping(d) ? 0 : rsl_queue_room(&d->r->q);
}

/* 1 once nothing more may be queued. */
static int stopping(rsl_disp *d)
{
    return d->stopped || rsl_run_stopping(d->r) || rsl_queue_guard_tripped(&d->r->q);
}

int rsl_disp_push(rsl_disp *d, rsl_task *t, int64_t idx)
{
    if (stopping(d) || (idx >= 0 && rsl_recorder_pending_upto(d->r, (uint64_t)idx) != RSL_OK)) {
        rsl_disp_finish(d, t); /* not fed (the row that guards it may not be there) */
        return -1;
    }
    rsl_queue_push(&d->r->q, t);
    return 0;
}

int rsl_disp_push_next(rsl_disp *d, rsl_task *t)
{
    if (stopping(d)) {
        rsl_disp_finish(d, t);
        return -1;
    }
    rsl_queue_push_front(&d->r->q, t);
    return 0;
}

void rsl_disp_wait(rsl_disp *d, rsl_task *t)
{
    t->next = NULL;
    t->prev = d->wait_tail;
    if (d->wait_tail)
        d->wait_tail->next = t;
    else
        d->wait_head = t;
    d->wait_tail = t;
    d->n_wait++;
}

/* ---- completions ---- */

/* The guard tripped: the run stops, named after the refused write that
 * tripped it. */
static void guard_check(rsl_disp *d)
{
    rsl_run *r = d->r;
    rsl_err last;
    if (r->session_failed || !rsl_queue_guard_err(&r->q, &last))
        return;
    char m[700];
    snprintf(m, sizeof(m), "the first %d writes all failed (last: %s: %s); stopped early",
             RSL_ALL_FAIL_LIMIT, rsl_code_name(last.code), last.msg);
    rsl_run_session_error(r, RSL_E_ALL_WRITES_FAILED, m);
}

/* One completed op. A connection error queues it again while the item has
 * attempts left; otherwise the task's phase records it. */
static void on_done(rsl_disp *d, rsl_task *t)
{
    rsl_run *r = d->r;
    rsl_code rc = t->op.err.code;
    int conn_err = rc != RSL_OK && rsl_retry_reconnects(rc);
    if (conn_err) {
        t->attempts++;
        if (!stopping(d) && t->attempts < r->retry.max_attempts) {
            rsl_run_log(r, RSL_LOG_WARN, "'%s': %s; trying again on a new connection", t->it.path,
                        t->op.err.msg);
            if (t->kind == RSL_TASK_PUT)
                rsl_upload_retry(d, t);
            rsl_queue_push(&r->q, t);
            return;
        }
    } else if (rc != RSL_OK && rsl_retry_stops_run(rc) && rc != RSL_E_INTERRUPTED) {
        rsl_run_session_error(r, rc, t->op.err.msg);
    }
    if (rc == RSL_OK)
        rsl_dirtimes_touched(d, &t->op);
    switch (t->kind) {
    case RSL_TASK_MKDIR:
    case RSL_TASK_REPLACE:
        rsl_apply_dir_done(d, t, conn_err);
        break;
    case RSL_TASK_PUT:
        rsl_upload_done(d, t, conn_err);
        break;
    case RSL_TASK_RANGE:
        rsl_ranges_done(d, t, conn_err);
        break;
    case RSL_TASK_DELETE:
    case RSL_TASK_STALE:
        rsl_apply_delete_done(d, t, conn_err);
        break;
    case RSL_TASK_MOVE:
        rsl_moves_done(d, t, conn_err);
        break;
    case RSL_TASK_LINK:
        rsl_links_done(d, t, conn_err);
        break;
    case RSL_TASK_SETTIME:
        rsl_dirtimes_done(d, t, conn_err);
        break;
    }
}

/* A worker is gone. Only a session error when the code stops runs or no
 * worker is left to do the work. */
static void on_event(rsl_disp *d, const rsl_qevent *ev)
{
    rsl_run *r = d->r;
    if (ev->kind == RSL_QEV_DEAD) {
        rsl_run_log(r, RSL_LOG_WARN, "a transfer connection failed: %s", ev->err.msg);
        d->dead_err = ev->err;
    }
    if (ev->kind == RSL_QEV_STOP || rsl_retry_stops_run(ev->err.code))
        rsl_run_session_error(r, ev->err.code, ev->err.msg);
}

static void drain(rsl_disp *d)
{
    rsl_qevent ev;
    rsl_task *t;
    while (rsl_queue_take_event(&d->r->q, &ev))
        on_event(d, &ev);
    while ((t = rsl_queue_take_done(&d->r->q)) != NULL)
        on_done(d, t);
}

/* ---- stopping ---- */

/* Queued and waiting tasks are dropped: nothing more is sent. An item that
 * already had a connection error is recorded with it. */
static void stop_feeding(rsl_disp *d)
{
    rsl_run *r = d->r;
    rsl_task *t;
    d->stopped = 1;
    d->n_busy = 0; /* no delete is fed any more: nothing waits for these */
    rsl_queue_stop(&r->q);
    while ((t = rsl_queue_take_ready(&r->q)) != NULL) {
        if (t->kind == RSL_TASK_PUT && t->attempts > 0)
            rsl_upload_done(d, t, 1);
        else if (t->kind == RSL_TASK_RANGE)
            rsl_ranges_dropped(d, t);
        else
            rsl_disp_finish(d, t);
    }
    while ((t = d->wait_head) != NULL) {
        d->wait_head = t->next;
        rsl_disp_finish(d, t);
    }
    d->wait_tail = NULL;
    d->n_wait = 0;
    if (d->held) {
        rsl_disp_finish(d, d->held);
        d->held = NULL;
    }
}

/* ---- phases ---- */

static rsl_feed_state feed_phase(rsl_disp *d)
{
    switch (d->phase) {
    case RSL_PHASE_DIRS:
        return rsl_apply_dirs_feed(d);
    case RSL_PHASE_FILES:
        return rsl_upload_feed(d);
    case RSL_PHASE_DELETES:
        return d->r->job->delete_ ? rsl_apply_deletes_feed(d) : RSL_FEED_END;
    case RSL_PHASE_STALE:
        return rsl_apply_stale_feed(d);
    case RSL_PHASE_DIRTIMES:
        return rsl_dirtimes_feed(d);
    case RSL_PHASE_END:
        break;
    }
    return RSL_FEED_END;
}

static void next_phase(rsl_disp *d)
{
    if (d->cur_open)
        rsl_spool_cursor_free(&d->cur);
    d->cur_open = 0;
    d->eof = 0;
    d->phase++;
}

static void report_progress(rsl_disp *d, double *last)
{
    rsl_run *r = d->r;
    double now = rsl_run_mono();
    if (r->o->on_progress == NULL || now - *last < 0.2)
        return;
    *last = now;
    char current[512];
    rsl_queue_current(&r->q, current, sizeof(current));
    rsl_progress p = {.files_done = r->files_done,
                      .files_total = d->files_total,
                      .bytes_done = __atomic_load_n(&r->bytes_done, __ATOMIC_RELAXED),
                      .bytes_total = (int64_t)r->plan.bytes_to_send,
                      .totals_final = 1,
                      .current = current[0] ? current : NULL};
    r->o->on_progress(r->o->ud, &p);
}

static void loop(rsl_disp *d)
{
    rsl_run *r = d->r;
    double last_progress = 0;
    while (d->phase < RSL_PHASE_END) {
        int running = rsl_queue_running(&r->q); /* before drain: a worker's last event too */
        drain(d);
        guard_check(d);
        if (!d->stopped && !rsl_run_stopping(r) && running <= 0) {
            if (d->dead_err.code == RSL_OK)
                rsl_err_set(&d->dead_err, RSL_E_CONNECTION_LOST, 0,
                            "no transfer connection is left");
            rsl_run_session_error(r, d->dead_err.code, d->dead_err.msg);
        }
        if (!d->stopped && stopping(d)) {
            r->cut_short |= !r->session_failed && rsl_run_cancelled(r);
            stop_feeding(d);
        }
        rsl_feed_state fs = d->stopped ? RSL_FEED_END : feed_phase(d);
        if (fs == RSL_FEED_END && d->outstanding == 0) {
            if (d->stopped)
                break;
            next_phase(d);
            continue;
        }
        rsl_recorder_maybe_commit(r);
        report_progress(d, &last_progress);
        rsl_queue_wait_main(&r->q, 0.2, fs == RSL_FEED_FULL);
    }
}

void rsl_dispatch_run(rsl_run *r, int n_workers, rsl_conn **conn0)
{
    rsl_disp d;
    memset(&d, 0, sizeof(d));
    d.r = r;
    d.files_total = r->plan.n_files;
    rsl_pathset_init(&d.pending);
    rsl_pathset_init(&d.failed);
    rsl_pathset_init(&d.dirtimes);
    rsl_workers *ws = NULL;
    rsl_err err;
    if (rsl_workers_start(&ws, r, n_workers, conn0, &err) != RSL_OK)
        rsl_run_session_error(r, err.code, err.msg);
    else
        loop(&d);
    if (!d.stopped && d.outstanding > 0)
        stop_feeding(&d);
    rsl_queue_close(&r->q);
    rsl_workers_join(ws);
    drain(&d); /* what completed while the workers ended */
    if (d.cur_open)
        rsl_spool_cursor_free(&d.cur);
    rsl_pathset_free(&d.pending);
    rsl_pathset_free(&d.failed);
    rsl_pathset_free(&d.dirtimes);
    free(d.dt);
    free(d.busy);
}
