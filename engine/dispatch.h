/*
 * dispatch.h - the main thread's side of the remote changes: reads the
 * plan's spools phase by phase, turns items into tasks whose ops it queues
 * for the workers (queue.h), and handles every completed op: records it
 * (recorder.h), moves its task's chain on, or queues it again after a
 * connection error (up to the retry policy's attempts per item).
 *
 * Phases, each complete before the next starts:
 *   directories  MKDIR and type replacements (apply.c), a directory only
 *                once its parent's MKDIR completed; many at once
 *   files        PUT (upload.c), no waits; under a failed directory:
 *                PARENT_FAILED without a request
 *   deletes      REMOVE, deepest first; a directory once everything below
 *                it completed (apply.c; delete = yes)
 *   stale temps  REMOVE of temp files no upload wants any more (apply.c)
 *   dir times    SETTIME of every directory created, moved, changed inside or
 *                whose local mtime moved (dirtimes.c), deepest first, once
 *                everything inside is done (SFTP, file://)
 * Send less: a directory moved as a whole is a MOVE in the directories
 * phase (in place of its MKDIR), a file moved a MOVE in the files phase,
 * a growing file an APPEND there, a symbolic link a SYMLINK (moves.c,
 * links.c, upload.c).
 * An op is queued only once the write-ahead pending row of its item is
 * committed (recorder.h). A session error, the all-writes-failed guard or a
 * signal stop the feeding: ops in flight complete and are recorded, queued
 * ones are dropped.
 *
 * A connection error that exhausts an item's attempts fails a file alone
 * (its content may be what breaks the connection); for a directory,
 * replacement or delete it stops the run, as a session error (what follows
 * depends on them). A code whose catalog handling is STOP, from any op,
 * stops the run with that code.
 *
 * Owns: the phase, the tasks not yet finished, the directories not yet
 * created and those that failed, the lookahead of waiting items.
 * Must not touch: the remote except through queued ops; the state db except
 * through recorder.h.
 */
#ifndef RSL_DISPATCH_H
#define RSL_DISPATCH_H

#include "pathset.h"
#include "spool.h"
#include "task.h"
#include "transports/transport.h"

typedef struct rsl_run rsl_run;

typedef enum rsl_phase {
    RSL_PHASE_DIRS = 0,
    RSL_PHASE_FILES,
    RSL_PHASE_DELETES,
    RSL_PHASE_STALE,
    RSL_PHASE_DIRTIMES,
    RSL_PHASE_END
} rsl_phase;

/* What a phase's feed function reports. */
typedef enum rsl_feed_state {
    RSL_FEED_FULL = 0, /* stopped for lack of room in the queue: more to feed */
    RSL_FEED_WAIT,     /* nothing more can be fed until ops complete */
    RSL_FEED_END       /* the phase has fed everything */
} rsl_feed_state;

/* Items waiting in memory (for their parent, or for what is below them) at
 * most, so a deep tree of new directories keeps memory bounded. */
#define RSL_LOOKAHEAD 1024

typedef struct rsl_disp {
    rsl_run *r;
    rsl_phase phase;
    size_t outstanding; /* tasks of this phase not finished (queued, in flight, waiting) */
    rsl_spool_cursor cur;
    int cur_open, eof;
    rsl_pathset pending;             /* directories of this run not yet created */
    rsl_pathset failed;              /* items that failed in the directories phase */
    rsl_task *wait_head, *wait_tail; /* lookahead, in spool order */
    size_t n_wait;
    rsl_task *held;  /* deletes: the next one, waiting for those below it */
    rsl_task **busy; /* deletes queued or in flight */
    size_t n_busy, cap_busy;
    size_t stale_next;    /* stale temps fed so far */
    rsl_pathset dirtimes; /* directories whose mtime is set at the end (dirtimes.c) */
    const char **dt;      /* ... listed, deepest first, for the phase */
    size_t n_dt, dt_next;
    int stopped;      /* feeding has been stopped */
    rsl_err dead_err; /* why the last worker that left could not connect */
    int64_t files_total;
} rsl_disp;

/* Runs every phase with n workers (the first gets *conn0, set to NULL).
 * Returns when everything is done or the run stopped; outcomes are
 * recorded, session errors set on the run. */
void rsl_dispatch_run(rsl_run *r, int n_workers, rsl_conn **conn0);

/* ---- for the phases (apply.c, upload.c) ---- */
/* A new task of the current phase (counted until rsl_disp_finish). */
void rsl_disp_adopt(rsl_disp *d, rsl_task *t);
/* Queues t's op, once the pending rows up to spool index idx are committed
 * (idx < 0: no such need). Returns 0, or -1 when they could not be written
 * (the run stops; t is finished). */
int rsl_disp_push(rsl_disp *d, rsl_task *t, int64_t idx);
/* Queues the next op of a task already started, ahead of the others.
 * Returns 0, or -1 when the run is stopping (t is finished). */
int rsl_disp_push_next(rsl_disp *d, rsl_task *t);
/* The task is done: forgotten and freed. */
void rsl_disp_finish(rsl_disp *d, rsl_task *t);
/* How many ops may be queued now (0 once the run is stopping). */
size_t rsl_disp_room(rsl_disp *d);
/* Appends t to the lookahead. */
void rsl_disp_wait(rsl_disp *d, rsl_task *t);

#endif
