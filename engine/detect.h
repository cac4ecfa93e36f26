/*
 * detect.h - the plan's side of "send less": while the merge join (plan.c)
 * streams through the walk and the manifest, each item it plans passes
 * here once, and may become
 *   - a MOVE: a new file whose (device, inode, size, mtime) is that of a
 *     manifest row whose path is gone locally, confirmed by the SHA-256 of
 *     the local file against the digest recorded when it was sent; or a new
 *     directory whose inode is that of a recorded directory gone locally,
 *     when every row recorded below the old one is found, unchanged (files
 *     by their digest), at the same place below the new one: one MOVE of
 *     the directory, and the items below it that it carries are spooled as
 *     "covered" (nothing to do unless that move fails);
 *   - an APPEND: a file matching `append` that grew, whose recorded row has
 *     a digest (the head is checked against it when the file is read);
 *   - a note (a symbolic link the destination cannot create), or, for an
 *     unchanged directory whose local mtime differs from the one recorded,
 *     a SETTIME item.
 * Moves are planned only with delete = yes, on a transport that can move,
 * and never with --only-failed or for a new destination.
 *
 * The old paths of the moves go into the plan's moved_from set (memory:
 * one path per move; a directory stands for all below it). Their deletes
 * are spooled as usual (the walk may have passed them already) and left
 * out of n_deletes at the end (rsl_detect_finish), so max_delete does not
 * count them; the dispatcher does not feed them while the path is in the
 * set.
 *
 * Owns: the source root's descriptor for hashing, the stack of directory
 * moves whose subtree the walk is in, the plan's moved_from set.
 * Must not touch: the network; the state db beyond reading it.
 */
#ifndef RSL_DETECT_H
#define RSL_DETECT_H

#include "plan.h"

typedef struct rsl_detect rsl_detect;

/* Starts detection for a plan being built (p->moved_from is created here).
 * *out is NULL when there is nothing to detect (no such need): every other
 * call accepts NULL. */
rsl_code rsl_detect_new(rsl_detect **out, const rsl_plan_ctx *c, rsl_plan *p, rsl_err *err);
void rsl_detect_free(rsl_detect *d);

/* An item the merge join is about to spool (action set, not NONE), with
 * its manifest row (NULL: none; only path, type, size, mtime_ns and
 * pending are read). May turn it into a MOVE (from, covered, overwrite) or
 * an APPEND (old_size); strings it sets stay valid until the next call.
 * Returns 0 to spool it, 1 when it was noted instead (not spooled), -1 on
 * a state or memory error (err set). */
int rsl_detect_item(rsl_detect *d, rsl_item *it, const rsl_manifest_row *mr, rsl_err *err);

/* An unchanged directory: 1 when a SETTIME item must be spooled for it. */
int rsl_detect_dir_time(const rsl_detect *d, const rsl_item *local, const rsl_manifest_row *mr);

/* A failed item that is a symbolic link now (--only-failed, symlinks =
 * as-links): *it filled as the walk would (type LINK, its target in buf):
 * 0, or -1 when the link is not to be created (outside the tree). */
int rsl_detect_link(const rsl_plan_ctx *c, const char *path, rsl_item *it, char *buf, size_t n);

/* After the walk, the spools sealed: the deletes of moved paths are taken
 * out of p->n_deletes. */
rsl_code rsl_detect_finish(rsl_detect *d, rsl_err *err);

/* 1 when path was moved away by a planned move (it, or a directory above). */
int rsl_detect_moved(const rsl_plan *p, const char *path);

#endif
