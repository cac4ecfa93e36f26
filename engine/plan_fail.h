/*
 * plan_fail.h - the failures table as the plan meets it. The merge join
 * marks every failure row whose path it sees (a local entry or a manifest
 * row); a row it did not see is resolved when its path is gone from the
 * source (deleted, renamed, reached only through a symbolic link that is not
 * followed) or now excluded, so a failure for a name that no longer exists
 * does not keep the job Partial forever. A row under a directory the walk
 * could not enter stays: its path may still be there. For `retry` (which
 * plans only the rows), whether a failed directory can be listed now.
 *
 * Owns: the seen marks. Must not touch: the state db (the plan's note
 * callback records), the remote. Reads the source tree (lstat, opendir).
 */
#ifndef RSL_PLAN_FAIL_H
#define RSL_PLAN_FAIL_H

#include <stddef.h>

#include "base/catalog.h"
#include "job.h"
#include "state/state.h"

typedef struct rsl_plan_fail {
    rsl_failure *v; /* sorted (rsl_state_failures_load); borrowed */
    size_t n;
    unsigned char *seen; /* one per row */
} rsl_plan_fail;

/* Returns 0, or -1 when out of memory. */
int rsl_plan_fail_init(rsl_plan_fail *pf, rsl_failure *v, size_t n);
void rsl_plan_fail_free(rsl_plan_fail *pf);
/* The row for path (marked seen), or NULL. */
rsl_failure *rsl_plan_fail_find(rsl_plan_fail *pf, const char *path);

/* 1 with why filled ("gone from the source", "excluded now (exclude =
 * PATTERN)" ...) when the source no longer has path as an item the job
 * syncs; 0 when it may (it exists, or cannot be told: permission). */
int rsl_plan_fail_gone(const rsl_job *job, const char *path, char *why, size_t n);
/* Calls fn for every row not seen whose path is gone (rsl_plan_fail_gone). */
void rsl_plan_fail_unseen(rsl_plan_fail *pf, const rsl_job *job,
                          void (*fn)(void *ud, const rsl_failure *f, const char *why), void *ud);

/* A directory `retry` is about to plan: RSL_OK when it can be listed, else
 * LOCAL_UNREADABLE (or DEPTH_LIMIT past 256 levels) with err saying why,
 * the same codes the walk gives. */
rsl_code rsl_plan_fail_dir_ok(const char *source, const char *path, rsl_err *err);

#endif
