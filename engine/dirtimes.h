/*
 * dirtimes.h - directory mtimes on the remote (SFTP, file://): the last
 * phase of a run sets the mtime of every directory that was created,
 * whose remote contents changed (a file put, moved in or out, deleted, a
 * link made: each changes the mtime of the directory it is in; a directory
 * moved keeps its own), or whose
 * local mtime is no longer the one recorded (a SETTIME item of the plan),
 * to the local directory's mtime read then, deepest first, once everything
 * inside is done. The manifest keeps the mtime set.
 *
 * A directory whose mtime cannot be set is a warning in the log, not an
 * item error (the content is in sync). Nothing happens on a connection
 * without RSL_CAP_DIR_MTIME (FTPS, WebDAV).
 *
 * Owns: the dispatcher's dirtimes set and its list.
 * Must not touch: the workers, the transport.
 */
#ifndef RSL_DIRTIMES_H
#define RSL_DIRTIMES_H

#include "dispatch.h"

/* A completed op (successful) changed the remote directory it is in (and,
 * for a directory made or moved, that one). */
void rsl_dirtimes_touched(rsl_disp *d, const rsl_op *op);
/* A directory of the plan whose mtime is to be set (a SETTIME item). */
void rsl_dirtimes_add(rsl_disp *d, const char *dir);
/* Feeds the dir times phase. */
rsl_feed_state rsl_dirtimes_feed(rsl_disp *d);
/* A SETTIME op completed. */
void rsl_dirtimes_done(rsl_disp *d, rsl_task *t, int conn_err);

#endif
