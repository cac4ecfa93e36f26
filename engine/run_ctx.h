/*
 * run_ctx.h - the state one run shares between the engine's modules (sync,
 * apply, workers, upload, recorder, connect). Internal to engine/: nothing
 * outside engine/ includes it; the public face of a run is sync.h.
 *
 * Owns: struct rsl_run and the small helpers every module needs (clock,
 * cancellation, log, session error). Each module's own state is a struct in
 * its header (rsl_queue, rsl_throttle, rsl_facts) embedded here.
 *
 * Threading: fields are main-thread only unless marked. Workers read the
 * job, the options, ops and srcfd, which are not written while workers run;
 * what they share otherwise is in rsl_queue (under its lock), rsl_throttle,
 * rsl_facts (their own locks), bytes_done (atomic) and the early stats'
 * fields (early_mu; a connecting thread reads them).
 */
#ifndef RSL_RUN_CTX_H
#define RSL_RUN_CTX_H

#include <pthread.h>
#include <stdint.h>

#include "facts.h"
#include "plan.h"
#include "queue.h"
#include "remote.h"
#include "remote_check.h"
#include "retry.h"
#include "state/state.h"
#include "sync.h"
#include "throttle.h"
#include "spool.h"
#include "validate.h"

/* Files smaller than this restart from zero instead of resuming: they need no
 * upload record (no extra db write or remote round trip per small file). */
#define RSL_RESUME_MIN (1u << 20)

typedef struct rsl_run {
    const rsl_job *job;
    const rsl_run_opts *o;
    rsl_stop stop; /* o->cancel and the deadline (max_run_time); read by any thread */
    rsl_retry_policy retry;
    rsl_remote rm;                /* destination, transport, options (connect.c) */
    const rsl_transport_ops *ops; /* = rm.ops */
    rsl_limits limits;
    int lockfd;
    rsl_state *st;
    int64_t run_id;     /* 0 for a dry run: nothing is recorded */
    int64_t now_ms;     /* when the run started */
    rsl_failure *fails; /* the failures table as loaded, for the plan */
    size_t n_fails;
    rsl_upload_rec *ups; /* the upload records as loaded, for the plan */
    size_t n_ups;
    rsl_plan plan;
    rsl_run_record rec; /* the summary being built */
    /* recorder: the open transaction */
    int writes; /* writes in it */
    int64_t last_commit_ms;
    /* recorder: write-ahead pending rows, written in batches over the plan's
     * spool ahead of the ops they guard: rows for items before pend_done are
     * committed */
    rsl_spool_cursor pend;
    int pend_open;
    uint64_t pend_done;
    int srcfd;               /* the source root (source.h), for the uploads */
    unsigned caps;           /* the first connection's capabilities (RSL_CAP_*) */
    int conns;               /* connections (workers) the run started with */
    long link_rtt_us;        /* the first connection's round trip (ranges.h); -1: unknown */
    struct rsl_preconn *pre; /* connections opened ahead (preconnect.h), or NULL */
    /* the connection of a run whose remote check is due, opened while the
     * plan is built (preconnect.h, one slot), or NULL */
    struct rsl_preconn *ahead;
    /* the check's paths for a connect's first requests (early_mu guards):
     * published once the plan drew the sample, handed out once */
    pthread_mutex_t early_mu;
    const char *const *early;
    size_t n_early;
    int early_given;
    rsl_queue q;       /* ops between the dispatcher and the workers (queue.h) */
    rsl_throttle bw;   /* bwlimit, shared by all workers */
    rsl_facts facts;   /* server facts cache */
    rsl_rcheck rcheck; /* the remote check's sample (remote_check.h) */
    int check_due;     /* this run checks the remote (remote_check) */
    int cut_short;     /* the dispatcher stopped feeding early: cancelled or deadline */
    int session_failed;
    rsl_err session_err;
    int64_t files_done; /* results recorded */
    int64_t bytes_done; /* bytes read for upload; atomic (workers add) */
} rsl_run;

/* A file's outcome, as the dispatcher reports it to the recorder. */
typedef struct rsl_file_result {
    const rsl_item *it;
    rsl_code code;
    char msg[512];
    int64_t bytes_sent; /* in this run */
    uint64_t size;      /* the local file (as the scan saw it) */
    int64_t mtime_ns;
    int attempts;                /* transfer attempts in this run */
    int upload_recorded;         /* this run wrote an upload record for it */
    const unsigned char *digest; /* SHA-256 of what was sent (RSL_DIGEST_LEN), or NULL */
} rsl_file_result;

int64_t rsl_run_now_ms(void);
/* Monotonic seconds. */
double rsl_run_mono(void);
/* 1 once the run stops early: the caller's cancel flag is set or the
 * deadline (max_run_time) passed (r->stop; any thread). */
int rsl_run_cancelled(const rsl_run *r);
/* Sleeps secs (to the exact deadline), waking early when the run is
 * cancelled (any thread). */
void rsl_run_sleep(const rsl_run *r, double secs);
/* Passes a formatted line to o->on_log (any thread). */
void rsl_run_log(const rsl_run *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The run failed as a whole; the first session error is kept (main thread).
 * The dispatcher then feeds no new op (ops in flight complete). */
void rsl_run_session_error(rsl_run *r, rsl_code code, const char *msg);
/* 1 once the run is stopping: session error or cancelled (main thread). */
int rsl_run_stopping(const rsl_run *r);

#endif
