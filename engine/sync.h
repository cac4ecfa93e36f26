/*
 * sync.h - one run of a job, end to end: lock, state db, scan + plan,
 * directory creation, N workers uploading through the transport (temp name,
 * resume, size check, rename), a single writer recording every result,
 * guarded deletes, the run summary and the exit code.
 *
 * Owns: the run's threads, connections and counters. Prints nothing: all
 * output goes through the callbacks in rsl_run_opts (the CLI renders them).
 */
#ifndef RSL_SYNC_H
#define RSL_SYNC_H

#include <stdint.h>

#include "catalog.h"
#include "job.h"
#include "state/state.h"

/* Exit codes, rsync-compatible where the meaning is the same. */
enum {
    RSL_EXIT_OK = 0,
    RSL_EXIT_USAGE = 1,        /* usage or config error */
    RSL_EXIT_SESSION = 5,      /* session failure before anything was applied */
    RSL_EXIT_INTERRUPTED = 20, /* stopped by SIGTERM/SIGINT; resumable */
    RSL_EXIT_PARTIAL = 23,     /* partial failure */
    RSL_EXIT_VANISHED = 24,    /* partial only because source files vanished */
    RSL_EXIT_TIMEOUT = 30,     /* the session timed out */
    RSL_EXIT_LOCKED = 75       /* another run of this job holds the lock (EX_TEMPFAIL) */
};

typedef struct rsl_progress {
    int64_t files_done, files_total;
    int64_t bytes_done, bytes_total;
    int totals_final; /* 1 once the scan is complete */
    const char *current;
} rsl_progress;

typedef struct rsl_run_opts {
    int only_failed;
    int dry_run;
    long max_delete_override; /* < 0: use the job's max_delete */
    const char *mode;         /* recorded in the run: "normal", "only-failed", "push" */
    volatile int *cancel;     /* set to 1 (e.g. by SIGTERM) to stop taking new files */
    /* Each per-item result as it is recorded (class: "transient", ...). */
    void (*on_result)(void *ud, const rsl_item_result *r, const char *cls);
    /* Dry run: one line per planned action ("create", "update", "mkdir",
     * "replace", "delete", "keep"), with a detail. */
    void (*on_plan)(void *ud, const char *verb, const char *path, const char *detail);
    /* Warnings and notes (transport warnings, resume decisions). Thread-safe. */
    void (*on_log)(void *ud, int level, const char *msg);
    /* Progress, at most a few times a second (main thread). May be NULL. */
    void (*on_progress)(void *ud, const rsl_progress *p);
    void *ud;
} rsl_run_opts;

/* Runs the job. Fills *rec (the run summary as recorded in the state db; for
 * a dry run, the plan's counts) and returns the process exit code. On a
 * session error, err and rec->code/message say why. */
int rsl_sync_run(const rsl_job *job, const rsl_run_opts *o, rsl_run_record *rec, rsl_err *err);

/* The exit code for an outcome: pure, unit-tested. */
int rsl_sync_exit_code(rsl_code session_code, int64_t applied, int64_t item_errors,
                       int64_t vanished);

#endif
