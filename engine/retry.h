/*
 * retry.h - the retry policy, in one place: when a failed call reconnects
 * and tries again within the run, how often and how long it waits, and when
 * a failed item is tried again on a later run.
 *
 * Owns: the numbers (attempts per item, reconnect backoff, per-item backoff)
 * and the rules that read the catalog's columns (handling: reconnect or not;
 * class: transient items retry next run, persistent ones back off).
 * Must not touch: connections, the state db, the clock. Pure functions,
 * unit-tested in tests/retry.
 */
#ifndef RSL_RETRY_H
#define RSL_RETRY_H

#include <stdint.h>

#include "base/catalog.h"
#include "state/state.h"

/* Calls per item on a connection that keeps dropping (the first try
 * included), and connect attempts per reconnect. */
#define RSL_RETRY_MAX_ATTEMPTS 3
/* The wait before the first reconnect attempt; it doubles per attempt. */
#define RSL_RETRY_FIRST_DELAY_MS 500
/* A persistent item failure waits 30 minutes, doubling per attempt, at most 24 h. */
#define RSL_RETRY_ITEM_MIN_MS (30LL * 60 * 1000)
#define RSL_RETRY_ITEM_MAX_MS (24LL * 3600 * 1000)

/* Within a run. A run uses the default; tests may lower the delay (never
 * the attempts) through rsl_run_opts.retry so they do not sleep. */
typedef struct rsl_retry_policy {
    int max_attempts;   /* RSL_RETRY_MAX_ATTEMPTS */
    int first_delay_ms; /* RSL_RETRY_FIRST_DELAY_MS */
} rsl_retry_policy;

/* The default policy. */
rsl_retry_policy rsl_retry_default(void);
/* 1 when a call that failed with rc should reconnect and try again (the
 * catalog's handling column says RECONNECT); 0 to record it and go on, or stop. */
int rsl_retry_reconnects(rsl_code rc);
/* 1 when a code stops the whole run wherever it comes from (an item's op
 * included): the catalog's handling column says STOP (auth, trust, state db,
 * memory). */
int rsl_retry_stops_run(rsl_code rc);
/* The wait before connect attempt `i` (0-based) of a reconnect, in ms:
 * first_delay_ms * 2^i. */
int64_t rsl_retry_delay_ms(const rsl_retry_policy *p, int i);

/* Across runs. When a failed item may be retried: transient (and any other
 * non-persistent class) at once, on the next run; persistent after 30 min
 * doubling per attempt, capped at 24 h. */
int64_t rsl_retry_next_ms(rsl_class cls, int attempts, int64_t now_ms);
/* 1 when a failed item must wait: persistent class, local file unchanged
 * since the failure, and its retry time not reached. */
int rsl_retry_is_deferred(const rsl_failure *f, uint64_t size, int64_t mtime_ns, int64_t now_ms);

#endif
