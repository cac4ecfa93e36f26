/*
 * task.h - one item of a run on its way to the remote: the operation the
 * transport runs now (an rsl_op, transports/xfer.h), the item it is for,
 * and where it stands in its short chain of operations (a big file: remove
 * the stale temp, then PUT; a replacement: remove what the remote has
 * there, then MKDIR; a growing file: APPEND, or the PUT chain when that
 * is refused; a move: MOVE, or the PUT chain when that is refused). The dispatcher creates tasks
 * from the plan's spool, the queue carries their ops to the workers and back.
 *
 * Owns: the item's copies of its strings, the temp name and the local
 * source (rsl_local_src). Must not touch: the state db, the transport.
 * Threading: a task belongs to the main thread, except while its op is
 * queued or in flight (then the queue and the worker running it have it).
 */
#ifndef RSL_TASK_H
#define RSL_TASK_H

#include "plan.h"
#include "source.h"
#include "transports/xfer.h"

typedef enum rsl_task_kind {
    RSL_TASK_MKDIR = 1, /* a new directory */
    RSL_TASK_REPLACE,   /* an item of another type on the remote: remove it (and, for a
                           directory, what is recorded under it), then MKDIR a directory;
                           a file's PUT follows in the files phase */
    RSL_TASK_PUT,       /* a file: [remove the stale temp, upload record,] PUT */
    RSL_TASK_DELETE,    /* a remote item gone locally */
    RSL_TASK_STALE,     /* the temp file of an upload that is no longer wanted */
    RSL_TASK_MOVE,      /* a file or directory moved locally: MOVE (moves.c) */
    RSL_TASK_LINK,      /* a symbolic link: [REMOVE,] SYMLINK (links.c) */
    RSL_TASK_SETTIME,   /* a directory's mtime (dirtimes.c) */
    RSL_TASK_RANGE      /* one piece of a big file's PUT going over several connections
                           (ranges.h): a PUT_RANGE op; its parent is the file's PUT task */
} rsl_task_kind;

struct rsl_ranges;

typedef struct rsl_task {
    rsl_op op;                    /* what the transport runs now; op.ud = this task */
    struct rsl_task *next, *prev; /* the list the task is on (queue, worker, dispatcher) */
    rsl_task_kind kind;
    int step;      /* the chain's step (dispatcher-defined per kind) */
    int64_t idx;   /* the item's index in the plan's spool (its pending row), -1: none */
    rsl_item it;   /* a copy of the plan's item: it.path and it.src_rel are owned */
    char *tmp;     /* PUT, STALE: the temp name */
    int attempts;  /* tries of the current op that ended in a connection error */
    int worker;    /* the worker that took the op (-1: none) */
    size_t cursor; /* REPLACE: replace_del entries still to remove, from the end */
    int record_ok; /* PUT: an upload record describes this version of the file */
    int recorded;  /* PUT: this run wrote that record */
    int resumable; /* PUT: big enough and the connection resumes */
    int opened;    /* PUT: src was initialised (close it) */
    rsl_local_src src;
    struct rsl_ranges *rg;   /* PUT over several connections: its pieces (ranges.h) */
    int rg_pending;          /* PUT: goes as pieces once its stale temp is cleared */
    const char *done_text;   /* PUT: the record's pieces to continue (the run's upload
                                records own it), or NULL */
    struct rsl_task *parent; /* RANGE: the file's PUT task (it outlives its ranges) */
} rsl_task;

/* A task for a copy of it (strings duplicated), with no op yet; NULL when
 * out of memory. */
rsl_task *rsl_task_new(rsl_task_kind kind, const rsl_item *it);
/* Closes the source and frees everything. NULL-safe. */
void rsl_task_free(rsl_task *t);
/* Sets the op the transport runs next (err and results cleared). */
void rsl_task_op(rsl_task *t, rsl_op_kind kind, const char *path, int is_dir);

#endif
