/*
 * moves.h - the dispatcher's side of remote moves (the plan finds them:
 * detect.h). A directory moved as a whole is one MOVE in the directories
 * phase, in place of its MKDIR (what is below it waits for it, as below a
 * new directory); a file moved is one MOVE in the files phase. Before the
 * MOVE is fed, the write-ahead rows are committed (recorder.h: the new
 * paths pending, the old rows marked pending); once it completes, the rows
 * are moved to their new paths with their digests, and the move counts in
 * the run's moves, not its deletes.
 *
 * A move the server refuses (it cannot move, the target exists, the source
 * is not there) is recorded as such (a "move" result with outcome
 * "skipped" and the server's reason) and falls back: the old path leaves
 * the plan's moved_from set (its delete is fed in the deletes phase, when
 * it fits max_delete with the plan's deletes; else it stays on the remote,
 * its rows pending, for a later run) and the new path is sent: a file through the PUT chain, a
 * directory by its MKDIR, after which what it carried is sent item by item (the covered items of
 * the spool).
 *
 * Owns: MOVE tasks. Must not touch: the workers, the transport.
 */
#ifndef RSL_MOVES_H
#define RSL_MOVES_H

#include "dispatch.h"

/* Directories phase: a directory item with action MOVE whose parent is no
 * longer pending. Covered by a directory above: nothing to do when that one
 * moved, else its MKDIR. */
void rsl_moves_start_dir(rsl_disp *d, rsl_task *t);
/* Files phase: a file or link item with action MOVE (spool index idx). */
void rsl_moves_file(rsl_disp *d, const rsl_item *it, uint64_t idx);
/* A MOVE op completed. */
void rsl_moves_done(rsl_disp *d, rsl_task *t, int conn_err);

#endif
