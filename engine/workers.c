/*
 * workers.c - the worker pool and its queues. See workers.h.
 *
 * Threads: each worker takes the next file under q->mu, uploads it on its
 * own connection and posts an event. The main thread drains events into the
 * recorder (EV_DONE), commits upload records while the worker waits
 * (EV_BEGIN, acknowledged under q->mu), and notes workers that are gone
 * (EV_DEAD). It wakes at least every 200 ms to commit batches and report
 * progress.
 */
#include "workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "connect.h"
#include "recorder.h"
#include "run_ctx.h"
#include "upload.h"

typedef enum { EV_BEGIN, EV_DONE, EV_DEAD } ev_kind;

struct rsl_event {
    rsl_event *next;
    ev_kind kind;
    rsl_file_result res; /* EV_DONE; EV_BEGIN: it, size, mtime_ns; EV_DEAD: code, msg */
    int acked;           /* EV_BEGIN: the record is committed */
};

typedef struct worker {
    rsl_uploader up;
    pthread_t th;
    int started;
} worker;

void rsl_workq_init(rsl_workq *q)
{
    memset(q, 0, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv_main, NULL);
    pthread_cond_init(&q->cv_ack, NULL);
}

void rsl_workq_destroy(rsl_workq *q)
{
    free(q->files);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv_main);
    pthread_cond_destroy(&q->cv_ack);
}

rsl_code rsl_workq_fill(rsl_workq *q, const rsl_plan *p, rsl_err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < p->items.n; i++)
        n += p->items.v[i].type == RSL_TYPE_FILE;
    if (n == 0)
        return RSL_OK;
    if ((q->files = malloc(n * sizeof(*q->files))) == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    for (size_t i = 0; i < p->items.n; i++) {
        const rsl_item *it = &p->items.v[i];
        if (it->type == RSL_TYPE_FILE && it->action != RSL_ACT_NONE)
            q->files[q->n_files++] = it;
    }
    return RSL_OK;
}

/* Appends an event; for EV_BEGIN waits until the main thread acknowledged it. */
static void post(rsl_workq *q, rsl_event *ev)
{
    pthread_mutex_lock(&q->mu);
    ev->next = NULL;
    if (q->tail)
        q->tail->next = ev;
    else
        q->head = ev;
    q->tail = ev;
    pthread_cond_signal(&q->cv_main);
    if (ev->kind == EV_BEGIN)
        while (!ev->acked)
            pthread_cond_wait(&q->cv_ack, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

/* rsl_uploader.record_begin: an EV_BEGIN on the worker's stack. */
static void record_begin(void *ud, const rsl_item *it, uint64_t size, int64_t mtime_ns)
{
    rsl_event b = {.kind = EV_BEGIN, .res = {.it = it, .size = size, .mtime_ns = mtime_ns}};
    post(ud, &b);
}

/* The next file, or NULL when none is left, the run is cancelled or the
 * all-writes-failed guard tripped. */
static const rsl_item *take_file(rsl_run *r)
{
    rsl_workq *q = &r->q;
    const rsl_item *it = NULL;
    pthread_mutex_lock(&q->mu);
    if (!rsl_run_cancelled(r) && !q->abort_files && q->next_file < q->n_files) {
        it = q->files[q->next_file++];
        q->current = it;
    }
    pthread_mutex_unlock(&q->mu);
    return it;
}

/* When the first uploads are all refused for lack of space or permission,
 * hand out no more files (the main thread then fails the session with
 * ALL_WRITES_FAILED): going on would fail the same way for every file. */
static void note_write_result(rsl_workq *q, rsl_code rc)
{
    pthread_mutex_lock(&q->mu);
    if (rc == RSL_OK) {
        q->any_file_ok = 1;
        q->write_fail_streak = 0;
    } else if (rc == RSL_E_REMOTE_NO_SPACE || rc == RSL_E_REMOTE_PERMISSION) {
        if (++q->write_fail_streak >= RSL_ALL_FAIL_LIMIT && !q->any_file_ok)
            q->abort_files = 1;
    } else {
        q->write_fail_streak = 0;
    }
    pthread_mutex_unlock(&q->mu);
}

static void post_dead(rsl_workq *q, const rsl_err *why)
{
    rsl_event *ev = calloc(1, sizeof(*ev));
    if (ev == NULL)
        return;
    ev->kind = EV_DEAD;
    ev->res.code = why->code;
    snprintf(ev->res.msg, sizeof(ev->res.msg), "%s", why->msg);
    post(q, ev);
}

static void one_file(worker *w, const rsl_item *it, rsl_file_result *res)
{
    res->it = it;
    if (rsl_apply_parent_failed(w->up.r, it->path)) {
        res->code = RSL_E_PARENT_FAILED;
        snprintf(res->msg, sizeof(res->msg), "'%s': its parent directory was not created",
                 it->path);
        res->size = it->size;
        res->mtime_ns = it->mtime_ns;
        return;
    }
    rsl_upload_file(&w->up, it, res);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    rsl_run *r = w->up.r;
    if (w->up.conn == NULL && rsl_connect_open(r, &w->up.conn, &w->up.dead_err) != RSL_OK) {
        w->up.dead = 1;
        post_dead(&r->q, &w->up.dead_err);
        return NULL;
    }
    const rsl_item *it;
    while (!w->up.dead && (it = take_file(r)) != NULL) {
        rsl_event *ev = calloc(1, sizeof(*ev));
        if (ev == NULL)
            break;
        ev->kind = EV_DONE;
        one_file(w, it, &ev->res);
        note_write_result(&r->q, ev->res.code);
        post(&r->q, ev);
    }
    if (w->up.dead)
        post_dead(&r->q, &w->up.dead_err);
    return NULL;
}

/* A worker could not connect or reconnect: only a session error when no
 * worker is left to do the work. */
static void worker_gone(rsl_run *r, const rsl_event *ev, int still_running)
{
    rsl_run_log(r, RSL_LOG_WARN, "a transfer connection failed: %s", ev->res.msg);
    if (still_running <= 1)
        rsl_run_session_error(r, ev->res.code, ev->res.msg);
    else if (!r->session_err.code)
        r->session_err.code = ev->res.code;
}

/* Main thread: one event. aborted: the all-writes-failed guard has tripped
 * (read under the queue's lock by the caller). */
static void handle_event(rsl_run *r, const rsl_event *ev, int still_running, int aborted)
{
    if (ev->kind == EV_BEGIN) {
        rsl_recorder_upload_begin(r, ev->res.it, ev->res.size, ev->res.mtime_ns);
    } else if (ev->kind == EV_DEAD) {
        worker_gone(r, ev, still_running);
    } else {
        if (ev->res.code != RSL_OK && ev->res.code != RSL_E_INTERRUPTED && aborted &&
            !r->session_failed) {
            char m[600];
            snprintf(m, sizeof(m), "the first %d uploads all failed (last: %s: %s); stopped early",
                     RSL_ALL_FAIL_LIMIT, rsl_code_name(ev->res.code), ev->res.msg);
            rsl_run_session_error(r, RSL_E_ALL_WRITES_FAILED, m);
        }
        rsl_recorder_file(r, &ev->res);
    }
}

static void report_progress(rsl_run *r, const char *current)
{
    if (r->o->on_progress == NULL)
        return;
    rsl_progress p = {.files_done = r->files_done,
                      .files_total = (int64_t)r->q.n_files,
                      .bytes_done = __atomic_load_n(&r->bytes_done, __ATOMIC_RELAXED),
                      .bytes_total = (int64_t)r->plan.bytes_to_send,
                      .totals_final = 1,
                      .current = current};
    r->o->on_progress(r->o->ud, &p);
}

/* Handles every queued event; called and returns with q->mu held. Counts
 * the results (EV_DONE) into *done. */
static void drain_locked(rsl_run *r, size_t *done)
{
    rsl_workq *q = &r->q;
    while (q->head) {
        rsl_event *ev = q->head;
        q->head = ev->next;
        if (q->head == NULL)
            q->tail = NULL;
        int running = q->running, aborted = q->abort_files;
        pthread_mutex_unlock(&q->mu);
        handle_event(r, ev, running, aborted);
        pthread_mutex_lock(&q->mu);
        if (ev->kind == EV_BEGIN) {
            ev->acked = 1; /* the worker owns it (its stack) */
            pthread_cond_broadcast(&q->cv_ack);
            continue;
        }
        *done += ev->kind == EV_DONE;
        q->running -= ev->kind == EV_DEAD;
        free(ev);
    }
}

/* Waits up to 200 ms for an event, then commits a due batch and reports
 * progress (with the lock released). Called and returns with q->mu held. */
static void wait_a_little(rsl_run *r)
{
    rsl_workq *q = &r->q;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&q->cv_main, &q->mu, &ts);
    const char *current = q->current ? q->current->path : NULL;
    pthread_mutex_unlock(&q->mu);
    rsl_recorder_maybe_commit(r);
    report_progress(r, current);
    pthread_mutex_lock(&q->mu);
}

/* Records events until every file handed out has its result (and none is
 * left to hand out), or no worker is left. */
static void main_loop(rsl_run *r)
{
    rsl_workq *q = &r->q;
    size_t done = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        drain_locked(r, &done);
        int all_taken = q->next_file >= q->n_files || rsl_run_cancelled(r) || q->abort_files;
        if ((all_taken && done >= q->next_file) || q->running <= 0)
            break;
        wait_a_little(r);
    }
    pthread_mutex_unlock(&q->mu);
}

/* Starts n workers; worker 0 takes *conn0 (given back if it cannot start). */
static void start(rsl_run *r, worker *ws, int n, rsl_conn **conn0)
{
    for (int i = 0; i < n; i++) {
        ws[i].up = (rsl_uploader){.r = r, .record_begin = record_begin, .ud = &r->q};
        if (i == 0) {
            ws[i].up.conn = *conn0;
            *conn0 = NULL;
        }
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) == 0) {
            ws[i].started = 1;
            pthread_mutex_lock(&r->q.mu);
            r->q.running++;
            pthread_mutex_unlock(&r->q.mu);
        } else if (i == 0) {
            *conn0 = ws[i].up.conn;
            ws[i].up.conn = NULL;
        }
    }
}

/* Joins the workers, records events posted after the main loop ended (a
 * late EV_DEAD), and keeps one live connection for the phases after. */
static void finish(rsl_run *r, worker *ws, int n, rsl_conn **conn0)
{
    for (int i = 0; i < n; i++)
        if (ws[i].started)
            pthread_join(ws[i].th, NULL);
    size_t done = 0;
    pthread_mutex_lock(&r->q.mu);
    drain_locked(r, &done);
    pthread_mutex_unlock(&r->q.mu);
    for (int i = 0; i < n; i++) {
        if (ws[i].up.conn && *conn0 == NULL && !ws[i].up.dead)
            *conn0 = ws[i].up.conn;
        else if (ws[i].up.conn)
            r->ops->disconnect(ws[i].up.conn);
    }
}

void rsl_workers_run(rsl_run *r, rsl_conn **conn0)
{
    int n = r->job->transfers;
    if ((size_t)n > r->q.n_files)
        n = (int)r->q.n_files;
    if (n < 1)
        return;
    worker *ws = calloc((size_t)n, sizeof(*ws));
    if (ws == NULL) {
        rsl_run_session_error(r, RSL_E_NO_MEMORY, "out of memory");
        return;
    }
    r->q.running = 0;
    start(r, ws, n, conn0);
    main_loop(r);
    finish(r, ws, n, conn0);
    free(ws);
}
