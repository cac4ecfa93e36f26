/*
 * queue.c - ops between the main thread and the workers. See queue.h.
 */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- lists (callers hold q->mu) ---- */

static void append(rsl_task **head, rsl_task **tail, rsl_task *t)
{
    t->next = NULL;
    t->prev = *tail;
    if (*tail)
        (*tail)->next = t;
    else
        *head = t;
    *tail = t;
}

static rsl_task *pop(rsl_task **head, rsl_task **tail)
{
    rsl_task *t = *head;
    if (t == NULL)
        return NULL;
    *head = t->next;
    if (*head)
        (*head)->prev = NULL;
    else
        *tail = NULL;
    t->next = t->prev = NULL;
    return t;
}

/* A worker's taken list is doubly linked through next/prev, head only. */
static void taken_add(rsl_qworker *w, rsl_task *t)
{
    t->prev = NULL;
    t->next = w->taken;
    if (w->taken)
        w->taken->prev = t;
    w->taken = t;
}

static void taken_del(rsl_qworker *w, rsl_task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else if (w->taken == t)
        w->taken = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

static int cancelled(const rsl_queue *q)
{
    return rsl_stop_check(q->halt) != RSL_STOP_NO;
}

/* Takes t off the ready list (callers hold q->mu). */
static void unlink_ready(rsl_queue *q, rsl_task *t)
{
    if (q->urgent_tail == t)
        q->urgent_tail = t->prev;
    if (t->prev)
        t->prev->next = t->next;
    else
        q->ready_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        q->ready_tail = t->prev;
    t->next = t->prev = NULL;
    q->n_ready--;
}

/* The oldest ready op (callers hold q->mu). */
static rsl_task *pop_ready(rsl_queue *q)
{
    rsl_task *t = q->ready_head;
    if (t)
        unlink_ready(q, t);
    return t;
}

static int is_piece(const rsl_task *t)
{
    return t->op.kind == RSL_OP_PUT_RANGE;
}

static int may_take_pieces(const rsl_queue *q, int worker)
{
    return worker < 0 || worker >= RSL_QUEUE_MAX_WORKERS || !q->range_busy[worker];
}

/* The oldest ready op worker w may take: a piece only when it holds none
 * (callers hold q->mu). */
static rsl_task *pop_for(rsl_queue *q, const rsl_qworker *w)
{
    int pieces = may_take_pieces(q, w->id);
    rsl_task *t = q->ready_head;
    while (t != NULL && !pieces && is_piece(t))
        t = t->next;
    if (t == NULL)
        return NULL;
    unlink_ready(q, t);
    if (is_piece(t) && w->id >= 0 && w->id < RSL_QUEUE_MAX_WORKERS)
        q->range_busy[w->id] = 1;
    return t;
}

/* A piece worker `id` held is over (callers hold q->mu). */
static void piece_over(rsl_queue *q, int id)
{
    if (id >= 0 && id < RSL_QUEUE_MAX_WORKERS && q->range_busy[id]) {
        q->range_busy[id] = 0;
        pthread_cond_broadcast(&q->cv_work);
    }
}

static void wake_main(rsl_queue *q)
{
    if (q->main_waiting)
        pthread_cond_signal(&q->cv_main);
}

void rsl_queue_init(rsl_queue *q, size_t cap, int window, const rsl_stop *stop)
{
    memset(q, 0, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv_work, NULL);
    pthread_cond_init(&q->cv_main, NULL);
    q->cap = cap ? cap : 1;
    q->window = window > 0 ? window : 1;
    q->halt = stop;
}

void rsl_queue_destroy(rsl_queue *q)
{
    rsl_task *t;
    while ((t = pop(&q->ready_head, &q->ready_tail)) != NULL)
        rsl_task_free(t);
    while ((t = pop(&q->done_head, &q->done_tail)) != NULL)
        rsl_task_free(t);
    while (q->ev_head) {
        rsl_qevent *e = q->ev_head;
        q->ev_head = e->next;
        free(e);
    }
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv_work);
    pthread_cond_destroy(&q->cv_main);
}

/* ---- main thread ---- */

void rsl_queue_push(rsl_queue *q, rsl_task *t)
{
    t->worker = -1;
    pthread_mutex_lock(&q->mu);
    append(&q->ready_head, &q->ready_tail, t);
    q->n_ready++;
    pthread_cond_signal(&q->cv_work);
    pthread_mutex_unlock(&q->mu);
}

void rsl_queue_push_front(rsl_queue *q, rsl_task *t)
{
    t->worker = -1;
    pthread_mutex_lock(&q->mu);
    /* after the continuations already queued, before everything else */
    rsl_task *after = q->urgent_tail;
    t->prev = after;
    t->next = after ? after->next : q->ready_head;
    if (t->next)
        t->next->prev = t;
    else
        q->ready_tail = t;
    if (after)
        after->next = t;
    else
        q->ready_head = t;
    q->urgent_tail = t;
    q->n_ready++;
    pthread_cond_signal(&q->cv_work);
    pthread_mutex_unlock(&q->mu);
}

size_t rsl_queue_room(rsl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t room = q->n_ready < q->cap ? q->cap - q->n_ready : 0;
    pthread_mutex_unlock(&q->mu);
    return room;
}

rsl_task *rsl_queue_take_done(rsl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    rsl_task *t = pop(&q->done_head, &q->done_tail);
    pthread_mutex_unlock(&q->mu);
    return t;
}

rsl_task *rsl_queue_take_ready(rsl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    rsl_task *t = pop_ready(q);
    pthread_mutex_unlock(&q->mu);
    return t;
}

int rsl_queue_take_event(rsl_queue *q, rsl_qevent *ev)
{
    pthread_mutex_lock(&q->mu);
    rsl_qevent *e = q->ev_head;
    if (e) {
        q->ev_head = e->next;
        if (q->ev_head == NULL)
            q->ev_tail = NULL;
    }
    pthread_mutex_unlock(&q->mu);
    if (e == NULL)
        return 0;
    *ev = *e;
    free(e);
    return 1;
}

void rsl_queue_wait_main(rsl_queue *q, double secs, int want_room)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long ns = (long)(secs * 1e9);
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec += ns % 1000000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->mu);
    if (q->done_head == NULL && q->ev_head == NULL && (!want_room || q->n_ready > q->cap / 2)) {
        q->main_waiting = 1;
        pthread_cond_timedwait(&q->cv_main, &q->mu, &ts);
        q->main_waiting = 0;
    }
    pthread_mutex_unlock(&q->mu);
}

void rsl_queue_close(rsl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv_work);
    pthread_mutex_unlock(&q->mu);
}

void rsl_queue_stop(rsl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->cv_work);
    pthread_mutex_unlock(&q->mu);
}

void rsl_queue_set_running(rsl_queue *q, int n)
{
    pthread_mutex_lock(&q->mu);
    q->running = n;
    pthread_mutex_unlock(&q->mu);
}

int rsl_queue_running(rsl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    int n = q->running;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int rsl_queue_guard_tripped(rsl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    int g = q->guard_tripped;
    pthread_mutex_unlock(&q->mu);
    return g;
}

int rsl_queue_guard_err(rsl_queue *q, rsl_err *last)
{
    pthread_mutex_lock(&q->mu);
    int g = q->guard_tripped;
    if (g)
        *last = q->guard_err;
    pthread_mutex_unlock(&q->mu);
    return g;
}

void rsl_queue_range_release(rsl_queue *q, int worker)
{
    pthread_mutex_lock(&q->mu);
    piece_over(q, worker);
    pthread_mutex_unlock(&q->mu);
}

void rsl_queue_current(rsl_queue *q, char *buf, size_t n)
{
    pthread_mutex_lock(&q->mu);
    snprintf(buf, n, "%s", q->current);
    pthread_mutex_unlock(&q->mu);
}

/* ---- worker threads ---- */

/* Whether the op counts for the all-writes-failed guard, and how. */
static void guard_note(rsl_queue *q, const rsl_op *op)
{
    if (op->kind != RSL_OP_PUT && op->kind != RSL_OP_MKDIR && op->kind != RSL_OP_PUT_RANGE &&
        op->kind != RSL_OP_FINISH)
        return;
    rsl_code rc = op->err.code;
    if (rc == RSL_OK) {
        q->any_write_ok = 1;
        q->write_fail_streak = 0;
    } else if (rc == RSL_E_REMOTE_NO_SPACE || rc == RSL_E_REMOTE_PERMISSION) {
        if (++q->write_fail_streak >= RSL_ALL_FAIL_LIMIT && !q->any_write_ok) {
            q->guard_tripped = 1;
            q->guard_err = op->err;
            q->stop = 1;
            pthread_cond_broadcast(&q->cv_work);
        }
    } else {
        q->write_fail_streak = 0;
    }
}

static rsl_op *feed_next(void *ud, int wait)
{
    rsl_qworker *w = ud;
    rsl_queue *q = w->q;
    rsl_task *t = NULL;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->stop || cancelled(q) || (!wait && w->in_flight >= q->window))
            break;
        if ((t = pop_for(q, w)) != NULL)
            break;
        if ((q->closed && q->ready_head == NULL) || !wait)
            break;
        pthread_cond_wait(&q->cv_work, &q->mu);
    }
    if (t) {
        t->worker = w->id;
        taken_add(w, t);
        w->in_flight++;
        snprintf(q->current, sizeof(q->current), "%s", t->it.path);
        if (q->n_ready <= q->cap / 2)
            wake_main(q);
    }
    pthread_mutex_unlock(&q->mu);
    return t ? &t->op : NULL;
}

static void feed_done(void *ud, rsl_op *op)
{
    rsl_qworker *w = ud;
    rsl_queue *q = w->q;
    rsl_task *t = op->ud;
    pthread_mutex_lock(&q->mu);
    taken_del(w, t);
    w->in_flight--;
    guard_note(q, op);
    if (is_piece(t) && op->err.code != RSL_OK) /* nothing to record: free at once */
        piece_over(q, w->id);
    append(&q->done_head, &q->done_tail, t);
    wake_main(q);
    pthread_mutex_unlock(&q->mu);
}

static int feed_cancelled(void *ud)
{
    rsl_qworker *w = ud;
    return cancelled(w->q);
}

rsl_feed rsl_queue_feed(rsl_qworker *w)
{
    return (rsl_feed){.next = feed_next, .done = feed_done, .cancelled = feed_cancelled, .ud = w};
}

int rsl_queue_wait_work(rsl_qworker *w)
{
    rsl_queue *q = w->q;
    pthread_mutex_lock(&q->mu);
    while (q->ready_head == NULL && !q->closed && !q->stop && !cancelled(q))
        pthread_cond_wait(&q->cv_work, &q->mu);
    int ready = q->ready_head != NULL && !q->stop && !cancelled(q);
    pthread_mutex_unlock(&q->mu);
    return ready;
}

void rsl_queue_reclaim(rsl_qworker *w, const rsl_err *why)
{
    rsl_queue *q = w->q;
    pthread_mutex_lock(&q->mu);
    while (w->taken) {
        rsl_task *t = w->taken;
        taken_del(w, t);
        if (is_piece(t))
            piece_over(q, w->id);
        t->op.err = *why;
        if (t->op.err.code == RSL_OK)
            rsl_err_set(&t->op.err, RSL_E_INTERNAL, 0,
                        "the transport returned without completing '%s'", t->it.path);
        append(&q->done_head, &q->done_tail, t);
    }
    w->in_flight = 0;
    wake_main(q);
    pthread_mutex_unlock(&q->mu);
}

void rsl_queue_event(rsl_queue *q, rsl_qev_kind kind, int worker, const rsl_err *err)
{
    rsl_qevent *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return;
    e->kind = kind;
    e->worker = worker;
    e->err = *err;
    pthread_mutex_lock(&q->mu);
    if (q->ev_tail)
        q->ev_tail->next = e;
    else
        q->ev_head = e;
    q->ev_tail = e;
    wake_main(q);
    pthread_mutex_unlock(&q->mu);
}

void rsl_queue_worker_exit(rsl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->running--;
    pthread_cond_signal(&q->cv_main);
    pthread_mutex_unlock(&q->mu);
}
