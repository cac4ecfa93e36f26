/*
 * workers.h - the worker pool of a run: N threads, each with its own
 * connection, taking files from the run's work queue and posting one result
 * event per file; the main thread drains the events into the recorder.
 *
 * Owns: the threads, their connections while they run, the work queue (which
 * file is next), the event queue (results in completion order, upload-record
 * requests answered synchronously, "this worker is gone"), the rule that a
 * worker that cannot connect leaves its share to the others, and the
 * all-writes-failed guard.
 * Must not touch: the state db (events go to the recorder on the main
 * thread), the remote except through upload.h.
 *
 * The seams, for a pipelined transport later: workers only see
 * rsl_workq_take() (today an array of plan items; a bounded queue fed by the
 * plan stream can replace it here) and rsl_upload_file() (one item per call;
 * a connection that carries many items would submit and collect results here,
 * posting one EV_DONE per item in completion order). The recorder only sees
 * rsl_file_result values and never asks which worker or connection made them.
 */
#ifndef RSL_WORKERS_H
#define RSL_WORKERS_H

#include <pthread.h>
#include <stddef.h>

#include "plan.h"
#include "transports/transport.h"

typedef struct rsl_run rsl_run;
typedef struct rsl_event rsl_event;

/* Consecutive "no space"/"permission denied" uploads, none succeeding, before
 * the run stops as a session error (ALL_WRITES_FAILED). */
#define RSL_ALL_FAIL_LIMIT 8

/* Shared between the main thread and the workers; every field under mu. */
typedef struct rsl_workq {
    pthread_mutex_t mu;
    pthread_cond_t cv_main; /* an event was posted */
    pthread_cond_t cv_ack;  /* an upload record was committed */
    const rsl_item **files; /* the files to upload, in plan order */
    size_t n_files, next_file;
    rsl_event *head, *tail;  /* events, oldest first */
    int running;             /* workers started and not yet gone */
    const rsl_item *current; /* the file most recently handed out (progress) */
    int write_fail_streak;
    int any_file_ok;
    int abort_files; /* the all-writes-failed guard tripped: hand out no more */
} rsl_workq;

void rsl_workq_init(rsl_workq *q);
void rsl_workq_destroy(rsl_workq *q);
/* Queues every file of the plan that is still to be sent (main thread,
 * before rsl_workers_run). Returns RSL_OK or NO_MEMORY. */
rsl_code rsl_workq_fill(rsl_workq *q, const rsl_plan *p, rsl_err *err);

/* Runs the workers until every queued file has a result, or no worker is
 * left, or the run is cancelled. *conn0 (may be NULL) becomes worker 0's
 * connection; on return *conn0 is one live connection (or NULL) for the
 * phases after the uploads. Main thread; records through the recorder. */
void rsl_workers_run(rsl_run *r, rsl_conn **conn0);

#endif
