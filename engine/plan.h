/*
 * plan.h - decides what a run does: a merge join of the local walk (scan.h)
 * with the manifest (state.h), both in sort-key order, giving new / changed /
 * unchanged / deleted items, type changes, validation breaches, skips, and
 * previously failed items that are due (or not yet due) for a retry.
 * `--only-failed` plans just the items failing now.
 *
 * Memory stays flat as the tree grows: creates, updates, directories and
 * replacements go to a spool file as the scan finds them (spool.h), deletes
 * to another; only the remote items under a directory replaced by a file
 * are kept in memory, at most keep_deletes of them (more would exceed
 * max_delete, and the run is refused then: the rest is only counted).
 *
 * Owns: the plan (its spools and vectors). Which failed items are due comes
 * from retry.h (the retry policy).
 * Must not touch: the network. Reads the state db; writes nothing to it
 * (notes go to a callback, which the engine records).
 */
#ifndef RSL_PLAN_H
#define RSL_PLAN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "base/catalog.h"
#include "job.h"
#include "scan.h"
#include "state/state.h"
#include "stop.h"
#include "validate.h"

typedef enum rsl_action {
    RSL_ACT_NONE = 0,
    RSL_ACT_CREATE,  /* new file */
    RSL_ACT_UPDATE,  /* changed file */
    RSL_ACT_MKDIR,   /* new directory */
    RSL_ACT_REPLACE, /* type changed: remove the remote item, then create */
    RSL_ACT_DELETE,  /* gone locally: remove remotely (delete = yes) */
    /* send less (detect.h) */
    RSL_ACT_MOVE,    /* a file or a whole directory moved locally: moved on the remote */
    RSL_ACT_APPEND,  /* a file matching `append` that only grew: its new tail, in place */
    RSL_ACT_SETTIME, /* a directory whose local mtime differs from the one recorded */
} rsl_action;

const char *rsl_action_name(rsl_action a);

typedef struct rsl_item {
    char *path;
    char *src_rel; /* the local path beneath the source root with followed links resolved
                      (scan.h), or NULL when it is `path` */
    rsl_action action;
    int type;     /* RSL_TYPE_FILE / _DIR / _LINK: the local (new) type */
    int old_type; /* manifest type for REPLACE / DELETE, else 0 */
    uint64_t size;
    int64_t mtime_ns;
    int followed;      /* reached through a followed symlink */
    uint64_t dev, ino; /* the local file's identity as the scan saw it */
    uint32_t mode;     /* its permission bits as the scan saw them */
    int prev_attempts; /* from the failures table, 0 if none */
    int64_t first_failed_ms;
    int has_upload_rec;     /* an upload record exists for this path */
    int upload_rec_matches; /* ... and was made for this size/mtime: resume allowed */
    /* send less (detect.h) */
    char *from;        /* MOVE: the old path on the remote */
    char *target;      /* RSL_TYPE_LINK: what the link points to */
    uint64_t old_size; /* APPEND: the length the remote holds (its digest is recorded) */
    int covered;       /* MOVE: moves along with a directory above it (no op of its own
                          unless that directory's move fails) */
    int overwrite;     /* MOVE: the new path may hold remains of a killed run; DELETE of a
                          pending file: its temp may remain from a killed upload (removed
                          first) */
} rsl_item;

typedef struct rsl_item_vec {
    rsl_item *v;
    size_t n, cap;
} rsl_item_vec;

typedef struct rsl_spool rsl_spool;

typedef struct rsl_plan {
    rsl_spool *items;         /* mkdir, create, update, replace; sort-key order */
    rsl_spool *deletes;       /* gone locally; sort-key order (execute in reverse) */
    rsl_item_vec replace_del; /* remote items under a directory replaced by a file (the
                                 first keep_deletes of them; n_replace_del counts all) */
    rsl_item_vec stale_temps; /* upload records of files no longer planned: temp to remove */
    int64_t n_items, n_dirs, n_files, n_deletes, n_replace_del; /* n_dirs/n_files: items by
                                                                   their new type */
    int64_t scanned_files, scanned_dirs, skipped, failing;
    int64_t unchanged; /* files in sync (directories are not counted) */
    int64_t manifest_files;
    uint64_t bytes_to_send;
    uint64_t biggest; /* the largest file planned for upload (bytes) */
    /* send less: the old paths of the moves planned (a directory stands for
     * all below it); their deletes are not fed while they are here, and a
     * move that falls back to upload + delete takes its path out again.
     * n_moves: moves planned (a directory moved as a whole once);
     * n_covered: items carried by a directory's move (no op of their own). */
    struct rsl_pathset *moved_from;
    int64_t n_moves, n_covered;
} rsl_plan;

void rsl_plan_free(rsl_plan *p);

/* A note the plan makes about an item that will not be transferred:
 * outcome "failed" (validation, unreadable), "skipped" (info), "deferred",
 * or "resolved" (a failure row that no longer applies: prev is it; e NULL
 * when the item is in sync now, else e->msg says why, e.g. "gone from the
 * source"). */
typedef void (*rsl_plan_note_cb)(void *ud, const char *path, const char *action,
                                 const char *outcome, const rsl_err *e, const rsl_item *item,
                                 const rsl_failure *prev);

typedef struct rsl_plan_ctx {
    const rsl_job *job;
    rsl_state *st;
    rsl_failure *failures; /* sorted (rsl_state_failures_load) */
    size_t n_failures;
    rsl_upload_rec *uploads; /* sorted */
    size_t n_uploads;
    const char *spool_dir; /* where the spools go (the state db's directory) */
    size_t keep_deletes;   /* replace_del entries kept in memory at most (max_delete + 1) */
    rsl_limits limits;
    int64_t now_ms;
    int only_failed;
    int ignore_manifest; /* plan as if nothing were on the remote (new destination) */
    rsl_plan_note_cb note;
    void *ud;
    /* Every manifest row the merge join reads, as it reads it (the remote
     * check draws its sample there), or NULL. */
    void (*on_row)(void *row_ud, const rsl_manifest_row *row);
    void *row_ud;
    const rsl_stop *stop; /* the run's stop condition (stop.h), or NULL */
    unsigned caps;        /* what the destination's transport can ever do (RSL_CAP_*) */
} rsl_plan_ctx;

/* Builds the plan. Failure rows whose path the walk no longer finds in the
 * source (deleted, renamed, now excluded) are resolved. Returns RSL_OK, or a session code
 * (SOURCE_MISSING, SOURCE_EMPTY, state errors, STATE_WRITE for a spool that cannot be written,
 * INTERRUPTED). rsl_plan_free releases *p either way. */
rsl_code rsl_plan_build(rsl_plan *p, const rsl_plan_ctx *ctx, rsl_err *err);

/* ---- pure rules (unit-tested) ---- */

/* What to do with a local entry given its manifest row (NULL: not there). */
rsl_action rsl_plan_decide(int local_type, uint64_t size, int64_t mtime_ns,
                           const rsl_manifest_row *m);

#endif
