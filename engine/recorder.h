/*
 * recorder.h - the one writer of a run: every state db write during a run
 * goes through here, on the main thread. Results are batched into
 * transactions (every RSL_COMMIT_EVERY writes or second); an upload record
 * is committed on its own before the worker that asked for it goes on; a
 * file is recorded as synced only after its rename succeeded.
 *
 * The first write that fails (a statement, BEGIN or COMMIT: STATE_WRITE
 * when the disk says no, STATE_IO otherwise) stops the run as a session
 * error with that code: the dispatcher feeds no new op, and an op whose
 * pending row or upload record could not be written is never fed.
 *
 * Owns: the open transaction, per-item result rows (and the CLI's on_result
 * callback), failure rows with their next retry time (retry.h), the
 * write-ahead pending rows, the run's counters in r->rec, and the run row's
 * end.
 * Must not touch: the remote, worker threads. A dry run writes nothing (the
 * callbacks still see each result).
 */
#ifndef RSL_RECORDER_H
#define RSL_RECORDER_H

#include <stdint.h>

#include "base/catalog.h"
#include "plan.h"
#include "state/state.h"

typedef struct rsl_run rsl_run;
typedef struct rsl_file_result rsl_file_result;

#define RSL_COMMIT_EVERY 512
/* Spool records whose pending rows are written and committed at once. */
#define RSL_PENDING_BATCH 512

/* Opens a transaction unless one is open, and counts one write in it. */
void rsl_recorder_begin(rsl_run *r);
/* Commits the open transaction, if any. Returns its code (a failure has
 * stopped the run). */
rsl_code rsl_recorder_commit(rsl_run *r);
/* Commits when the batch is full or a second old. */
void rsl_recorder_maybe_commit(rsl_run *r);

/* One result row, and on_result. */
void rsl_recorder_result(rsl_run *r, const char *path, const char *action, const char *outcome,
                         int code, const char *msg, int attempts, int64_t bytes);
/* The same for a move (from: its old path). */
void rsl_recorder_result_from(rsl_run *r, const char *path, const char *from, const char *action,
                              const char *outcome, int code, const char *msg, int attempts);
/* An item failed: counters, result row, failure row with its next retry.
 * prev_attempts/first_ms come from the failures table (0: first failure);
 * size/mtime_ns are the local file's at failure time. */
void rsl_recorder_failure(rsl_run *r, const char *path, const char *action, rsl_code code,
                          const char *msg, int prev_attempts, int64_t first_ms, uint64_t size,
                          int64_t mtime_ns, int64_t bytes);
void rsl_recorder_clear_failure(rsl_run *r, const char *path);
/* The plan's rsl_plan_note_cb (ud = the run): validation failures, skips,
 * deferrals, resolved failures (a failure whose item is gone from the source
 * gets a result "resolved" with the reason; a dry run prints "resolve"). */
void rsl_recorder_plan_note(void *ud, const char *path, const char *action, const char *outcome,
                            const rsl_err *e, const rsl_item *it, const rsl_failure *prev);

/* Write-ahead: a pending manifest row for every item the plan may create
 * (for a move: its new paths, and its old rows marked pending), committed
 * for every spool record up to and including index idx (batches of
 * RSL_PENDING_BATCH). Returns RSL_OK, or the code that stopped the run: the
 * op this guards must then not be fed. */
rsl_code rsl_recorder_pending_upto(rsl_run *r, uint64_t idx);
/* Frees the pending rows' cursor. */
void rsl_recorder_pending_free(rsl_run *r);
/* One pending row for path, committed at once (a replaced item is gone). */
void rsl_recorder_pending_one(rsl_run *r, const char *path, int type);
/* A directory was created. */
void rsl_recorder_dir_ok(rsl_run *r, const rsl_item *it);
/* A remote item was deleted. */
void rsl_recorder_deleted(rsl_run *r, const rsl_item *d, const char *action);
/* An upload record, committed on its own before the first byte is sent.
 * Returns its code: the upload must not start unless RSL_OK. */
rsl_code rsl_recorder_upload_begin(rsl_run *r, const rsl_item *it, uint64_t size, int64_t mtime_ns);
/* The pieces of path's temp file that are written (the record's `done`
 * text, spans.h), committed on its own. Returns its code. */
rsl_code rsl_recorder_upload_progress(rsl_run *r, const char *path, const char *done);
/* The upload record of path is no longer needed (its temp was removed). */
void rsl_recorder_upload_end(rsl_run *r, const char *path);
/* A file's outcome: manifest row (size, mtime, device, inode, digest) and
 * counters, or a failure. */
void rsl_recorder_file(rsl_run *r, const rsl_file_result *res);
/* A value of the state db's kv table (the remote check's last time). */
void rsl_recorder_kv(rsl_run *r, const char *key, const char *value);
/* A remote move is done: the manifest rows at and below it->from moved to
 * it->path (their digests kept), counted in moves, a "move" result. */
void rsl_recorder_moved(rsl_run *r, const rsl_item *it);
/* A symbolic link was made: its row (type 'l', target). */
void rsl_recorder_link_ok(rsl_run *r, const rsl_item *it);
/* A directory's remote mtime was set to mtime_ns (the local one). */
void rsl_recorder_dir_time(rsl_run *r, const char *path, int64_t mtime_ns);
/* The run row's end (outcome, counts, code) and the server facts; commits. */
void rsl_recorder_run_end(rsl_run *r);

#endif
