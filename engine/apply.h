/*
 * apply.h - the phases around the uploads, as producers of ops for the
 * dispatcher (dispatch.h): directories and type replacements before any
 * file, deletes (deepest first) and stale temp files after them.
 *
 * Directories: read from the plan's spool in sort-key order, so a parent
 * comes before its children. A directory is queued once its parent is no
 * longer pending (its MKDIR completed, or it was never part of this run);
 * until then it waits in the lookahead (at most RSL_LOOKAHEAD items, so
 * memory stays bounded however many directories are new). All directories
 * of one level can be in flight at once. A directory under one that failed
 * fails with PARENT_FAILED without a request.
 *
 * Replacements (the remote has a file where a directory now is, or the
 * other way round) stay in order as before: what the manifest records under
 * a replaced directory is removed deepest first, then the old item, then a
 * directory is created; each step waits for the previous one. A file's PUT
 * follows in the files phase.
 *
 * Deletes: read backward from their spool (deepest first); a directory is
 * queued once no delete below it is queued or in flight.
 *
 * Owns: these phases' steps and their records (through recorder.h).
 * Must not touch: the workers, the transport.
 */
#ifndef RSL_APPLY_H
#define RSL_APPLY_H

#include "dispatch.h"

/* Feeds the directories phase. */
rsl_feed_state rsl_apply_dirs_feed(rsl_disp *d);
/* A MKDIR or replacement op completed. conn_err: it ended with a
 * connection error that is not retried (attempts used up, or stopping). */
void rsl_apply_dir_done(rsl_disp *d, rsl_task *t, int conn_err);
/* Feeds the deletes phase (delete = yes). */
rsl_feed_state rsl_apply_deletes_feed(rsl_disp *d);
/* Feeds the stale temps phase. */
rsl_feed_state rsl_apply_stale_feed(rsl_disp *d);
/* A delete or stale-temp REMOVE completed. */
void rsl_apply_delete_done(rsl_disp *d, rsl_task *t, int conn_err);
/* 1 when files under path must not be attempted (a directory above failed,
 * or path itself failed to be replaced): dispatcher state. */
int rsl_apply_blocked(const rsl_disp *d, const char *path, int *self);

#endif
