/*
 * remote_check.h - every run's look at the remote: is it still what the
 * manifest says? The remote root and a random sample of the manifest's
 * files are stat'ed through the connection's feed (pipelined STAT ops, never
 * a listing) and compared with what was sent: the size, and the mtime in
 * whole seconds where the connection sets mtimes (RSL_CAP_SET_MTIME). A
 * sampled file that is gone or differs means the remote changed behind our
 * back: REMOTE_CHANGED, a session error, before anything is uploaded or
 * deleted. Without it a run with nothing to send never noticed a remote
 * folder moved away, changed credentials or a changed host key.
 *
 * The sample is drawn while the plan's merge join reads the manifest
 * (rsl_rcheck_offer: a reservoir, uniform over the manifest's files, no
 * extra pass), or by a pass of its own when the plan does not read it
 * (--only-failed: rsl_rcheck_collect). Its size grows slowly with the
 * manifest (rsl_rcheck_sample_size); all of a small manifest is checked.
 *
 * Whether a run checks: remote_check = every-run (the default), never, or
 * an interval; the time of the last good check is kept in the state db's kv
 * table under RSL_RCHECK_KV (the caller writes it through the recorder).
 *
 * Owns: the sample (copies of the paths), the check's feed, its verdict and
 * message. Must not touch: the state db beyond reading the manifest, the
 * plan, other connections. Main thread.
 */
#ifndef RSL_REMOTE_CHECK_H
#define RSL_REMOTE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "base/catalog.h"
#include "state/state.h"
#include "stop.h"
#include "transports/transport.h"

/* Files kept in the reservoir: the largest sample. */
#define RSL_RCHECK_RESERVOIR 48
/* The state db kv key holding the last good check (ms since the epoch). */
#define RSL_RCHECK_KV "remote_check:last_ms"

typedef struct rsl_rcheck_entry {
    char *path;
    uint64_t size;
    int64_t mtime_ns; /* the local mtime the file was sent with */
} rsl_rcheck_entry;

typedef struct rsl_rcheck {
    rsl_rcheck_entry v[RSL_RCHECK_RESERVOIR];
    size_t n;               /* entries in v */
    uint64_t seen;          /* manifest files offered */
    uint64_t rng;           /* xorshift state */
    int oom;                /* a path could not be copied: the sample is smaller */
    size_t checked, differ; /* the last rsl_rcheck_run's counts */
    int drawn;              /* the sample is drawn (v[0..k)): offers are over */
    size_t k;
    const char *early[RSL_RCHECK_RESERVOIR + 1]; /* rsl_rcheck_early's paths */
} rsl_rcheck;

/* An empty sample. seed 0: a random seed (getrandom). */
void rsl_rcheck_init(rsl_rcheck *c, uint64_t seed);
void rsl_rcheck_free(rsl_rcheck *c);
/* One manifest row as the plan reads it: a file in sync may join the
 * sample (directories and pending rows never do). */
void rsl_rcheck_offer(rsl_rcheck *c, const rsl_manifest_row *row);
/* Offers every manifest row (a pass of its own). RSL_OK or the state code. */
rsl_code rsl_rcheck_collect(rsl_rcheck *c, rsl_state *st, rsl_err *err);

/* ---- pure rules (unit-tested) ---- */
/* Files checked for a manifest of n files: all up to 16, then 16, 24 above
 * 10,000, 32 above 100,000, 48 above 1,000,000. */
size_t rsl_rcheck_sample_size(uint64_t n);
/* 1 when this run checks: every run (0), never (< 0), or an interval in
 * seconds (> 0) since last_ms (0: never checked). */
int rsl_rcheck_due(int remote_check, int64_t last_ms, int64_t now_ms);
/* Draws the files to check into v[0..k) and returns k (the sample size for
 * the files offered). Once: later calls return the same k (rsl_rcheck_run
 * calls it too). */
size_t rsl_rcheck_draw(rsl_rcheck *c);
/* The paths the check will stat, the root ("") first, for a connection's
 * first requests (rsl_remote_opts.early_stat): the sample is drawn now.
 * Valid while c is. Sets *n (0: nothing to check, NULL returned). */
const char *const *rsl_rcheck_early(rsl_rcheck *c, size_t *n);

/* Stats the root and the sample over conn (ops->run, or the serial adapter)
 * in one feed and compares. Returns RSL_OK; REMOTE_ROOT_MISSING (the root
 * is gone or not a directory); REMOTE_CHANGED ("N of M checked files are
 * gone or differ (first: ...)"); the code of a failed connection; or the
 * stop code when the run is stopped meanwhile. caps: the connection's. */
rsl_code rsl_rcheck_run(rsl_rcheck *c, const rsl_transport_ops *ops, rsl_conn *conn, unsigned caps,
                        const rsl_stop *stop, rsl_err *err);

#endif
