/*
 * sync.h - one run of a job, end to end: lock, state db, scan + plan,
 * directory creation, N workers uploading through the transport (temp name,
 * resume, size check, rename), a single writer recording every result,
 * guarded deletes, the run summary and the exit code.
 *
 * Owns: the order of a run's phases, its outcome and exit code. The phases
 * live in their own modules (engine/run_ctx.h lists them). Prints nothing:
 * all output goes through the callbacks in rsl_run_opts (the CLI renders
 * them). The transport is the one the destination's scheme names in the
 * scheme table (transports/transport.h); tests register a fake one there.
 */
#ifndef RSL_SYNC_H
#define RSL_SYNC_H

#include <signal.h>
#include <stdint.h>

#include "base/catalog.h"
#include "job.h"
#include "retry.h"
#include "state/state.h"

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
    /* Set to 1 (e.g. by a SIGTERM handler) to stop taking new files. Read
     * atomically by every thread of the run. May be NULL. */
    volatile sig_atomic_t *cancel;
    /* Reconnect waits and attempts; NULL: rsl_retry_default(). */
    const rsl_retry_policy *retry;
    /* Tests: the size of each piece of a file sent over several connections
     * (engine/ranges.h); 0: from the file's size (engine/spans.h). */
    uint64_t piece_size;
    /* Each per-item result as it is recorded (class: "transient", ...). */
    void (*on_result)(void *ud, const rsl_item_result *r, const char *cls);
    /* Dry run: one line per planned action ("create", "update", "mkdir",
     * "replace", "delete", "keep", "append"), with a detail. */
    void (*on_plan)(void *ud, const char *verb, const char *path, const char *detail);
    /* Dry run: a planned move of `from` to `to` ("move OLD -> NEW"). May be
     * NULL: on_plan then gets verb "move", path `to`, detail "from OLD". */
    void (*on_plan_move)(void *ud, const char *from, const char *to, const char *detail);
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

/* The exit code for an outcome, from the catalog's exit column: a session
 * error's own code (5 becomes 23 once something was applied); else 23 for item errors, 24 when
 * every item error was a vanished source file. Pure, unit-tested. */
int rsl_sync_exit_code(rsl_code session_code, int64_t applied, int64_t item_errors,
                       int64_t vanished);

#endif
