/*
 * apply.h - the phases of a run that change the remote on the main
 * connection, around the uploads: directories (parents first) and type
 * replacements before any file; guarded deletes (deepest first) and the
 * removal of stale temp files after them.
 *
 * Owns: the order of those phases' remote calls, reconnecting on the main
 * connection (retry.h), and the list of directories that failed (their
 * contents are not attempted).
 * Must not touch: worker threads; the state db except through recorder.h.
 */
#ifndef RSL_APPLY_H
#define RSL_APPLY_H

#include "transports/transport.h"

typedef struct rsl_run rsl_run;

/* Directories and replacements, in plan order. A connection error ends the
 * run as a session error; an item error fails that item (and, for a
 * directory, everything under it). *conn may be replaced by a reconnect. */
void rsl_apply_dirs(rsl_run *r, rsl_conn **conn);
/* Deletes (delete = yes), deepest first. */
void rsl_apply_deletes(rsl_run *r, rsl_conn **conn);
/* Temp files of upload records whose file is no longer planned. */
void rsl_apply_stale_temps(rsl_run *r, rsl_conn **conn);
/* 1 when a directory above path failed in rsl_apply_dirs. Safe from the
 * workers: the list is complete before they start. */
int rsl_apply_parent_failed(const rsl_run *r, const char *path);

#endif
