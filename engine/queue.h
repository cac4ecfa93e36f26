/*
 * queue.h - the stream of operations between the main thread and the
 * workers: a bounded queue of ops ready to go (filled by the dispatcher on
 * the main thread), each worker's feed (rsl_feed, transports/xfer.h) that
 * takes them for its connection, and the list of completed ops going back to
 * the main thread (the only one that records). Worker events (a worker that
 * cannot reconnect, a code that stops the run) travel the same way.
 *
 * Bounds: the main thread queues at most `cap` ops; a worker's connection
 * has at most `window` ops taken and not done (the feed says "none now"
 * beyond that). Ops are handed out in the order they were queued, except
 * pieces of a file going over several connections (PUT_RANGE, ranges.h):
 * a connection holds one piece at a time, and takes its next one only
 * once the main thread has recorded the last (rsl_queue_range_release; a
 * failed piece frees it at once), so a SIGKILL loses at most one piece's
 * bytes per connection. A worker passes over pieces it may not take.
 *
 * The all-writes-failed guard lives here because it must act where ops are
 * handed out: when the first RSL_ALL_FAIL_LIMIT writes (PUT, MKDIR) all
 * failed for lack of space or permission, nothing more is handed out and the
 * main thread stops the run (ALL_WRITES_FAILED).
 *
 * Owns: the lists and their lock, the guard. Must not touch: the state db,
 * the transport, the plan. Threading: everything under q->mu; the feed's
 * callbacks run on the worker threads, the rest on the main thread.
 */
#ifndef RSL_QUEUE_H
#define RSL_QUEUE_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "stop.h"
#include "task.h"

/* Ops one connection carries at once at most (a transport may take fewer). */
#define RSL_PIPE_WINDOW 64
/* Workers a queue knows by id at most (transfers, or more for FTPS). */
#define RSL_QUEUE_MAX_WORKERS 128
/* Consecutive "no space"/"permission denied" writes, none succeeding, before
 * the run stops as a session error (ALL_WRITES_FAILED). */
#define RSL_ALL_FAIL_LIMIT 8

typedef enum rsl_qev_kind {
    RSL_QEV_DEAD = 1, /* a worker could not connect or reconnect and is gone */
    RSL_QEV_STOP      /* a worker's run() returned a code that stops the run */
} rsl_qev_kind;

typedef struct rsl_qevent {
    struct rsl_qevent *next;
    rsl_qev_kind kind;
    int worker;
    rsl_err err;
} rsl_qevent;

typedef struct rsl_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv_work; /* workers: an op was queued, or the stream ended or stopped */
    pthread_cond_t cv_main; /* main: an op completed, an event, room, a worker left */
    rsl_task *ready_head, *ready_tail;
    rsl_task *urgent_tail; /* the last continuation (push_front) in the ready list */
    size_t n_ready, cap;
    rsl_task *done_head, *done_tail;
    rsl_qevent *ev_head, *ev_tail;
    int window;
    int closed;  /* no more ops will be queued */
    int stop;    /* hand out nothing more */
    int running; /* workers not yet gone */
    int main_waiting;
    int write_fail_streak, any_write_ok, guard_tripped;
    rsl_err guard_err;    /* the refused write that tripped the guard */
    char current[512];    /* the path of the op handed out last (progress) */
    const rsl_stop *halt; /* the run's stop condition (stop.h): hand out nothing more */
    /* per worker id: it holds a piece (PUT_RANGE) not yet recorded */
    unsigned char range_busy[RSL_QUEUE_MAX_WORKERS];
} rsl_queue;

/* A worker's side of the queue. */
typedef struct rsl_qworker {
    rsl_queue *q;
    int id;
    int in_flight;
    rsl_task *taken; /* ops taken and not done */
} rsl_qworker;

void rsl_queue_init(rsl_queue *q, size_t cap, int window, const rsl_stop *stop);
/* Frees what is still on the lists (tasks included). */
void rsl_queue_destroy(rsl_queue *q);

/* ---- main thread ---- */
/* Queues t's op (room or not: re-queued ops may go over the bound). */
void rsl_queue_push(rsl_queue *q, rsl_task *t);
/* Queues t's op ahead of the others (the next step of an item already
 * started: finish what is begun before starting more). */
void rsl_queue_push_front(rsl_queue *q, rsl_task *t);
/* How many more ops may be queued now. */
size_t rsl_queue_room(rsl_queue *q);
/* The oldest completed task, or NULL. */
rsl_task *rsl_queue_take_done(rsl_queue *q);
/* The oldest queued task not yet handed out (to drop it), or NULL. */
rsl_task *rsl_queue_take_ready(rsl_queue *q);
/* The oldest worker event into *ev: 1, or 0 when none. */
int rsl_queue_take_event(rsl_queue *q, rsl_qevent *ev);
/* Waits up to secs for a completion, an event or a worker leaving, and, when
 * want_room is set, for the queue to drain to half its bound. */
void rsl_queue_wait_main(rsl_queue *q, double secs, int want_room);
/* No more ops will come: workers with nothing in flight end. */
void rsl_queue_close(rsl_queue *q);
/* Hand out nothing more (ops in flight still complete). */
void rsl_queue_stop(rsl_queue *q);
void rsl_queue_set_running(rsl_queue *q, int n);
int rsl_queue_running(rsl_queue *q);
int rsl_queue_guard_tripped(rsl_queue *q);
/* 1 and *last filled (the write that tripped it) once the guard tripped. */
int rsl_queue_guard_err(rsl_queue *q, rsl_err *last);
/* The piece (PUT_RANGE) worker `worker` took is recorded: it may take its
 * next one. */
void rsl_queue_range_release(rsl_queue *q, int worker);
/* Copies the path most recently handed out into buf ("" if none). */
void rsl_queue_current(rsl_queue *q, char *buf, size_t n);

/* ---- worker threads ---- */
/* The feed a worker's run() pulls from. */
rsl_feed rsl_queue_feed(rsl_qworker *w);
/* Blocks until an op is ready (1) or the stream ended or stopped (0). */
int rsl_queue_wait_work(rsl_qworker *w);
/* Completes the ops w took that run() did not complete, with *why. */
void rsl_queue_reclaim(rsl_qworker *w, const rsl_err *why);
void rsl_queue_event(rsl_queue *q, rsl_qev_kind kind, int worker, const rsl_err *err);
/* The worker is gone (running - 1). */
void rsl_queue_worker_exit(rsl_queue *q);

#endif
