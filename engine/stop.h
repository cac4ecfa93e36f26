/*
 * stop.h - when a run stops before its work is done: the caller's cancel
 * flag (SIGTERM/SIGINT set it) or the run's deadline (max_run_time). Every
 * place that used to look at the cancel flag (the queue handing out ops, a
 * source reading bytes, a bwlimit sleep, the scan, a reconnect wait) looks
 * at one rsl_stop, so a deadline stops a run exactly as SIGTERM does: no new
 * op is handed out, ops in flight finish or checkpoint (an upload keeps its
 * temp file and record and resumes next run).
 *
 * Owns: the condition and its code. Must not touch: anything else; pure
 * reads of the flag and the monotonic clock, from any thread.
 */
#ifndef RSL_STOP_H
#define RSL_STOP_H

#include <signal.h>

#include "base/catalog.h"

typedef struct rsl_stop {
    const volatile sig_atomic_t *cancel; /* the caller's flag, read atomically, or NULL */
    double deadline;                     /* rsl_stop_mono() time, or 0: none */
} rsl_stop;

enum { RSL_STOP_NO = 0, RSL_STOP_CANCEL = 1, RSL_STOP_DEADLINE = 2 };

/* Monotonic seconds (the clock deadlines are on). */
double rsl_stop_mono(void);
/* Why the run stops now: RSL_STOP_NO, RSL_STOP_CANCEL (the flag wins) or
 * RSL_STOP_DEADLINE. s may be NULL (never stops). Any thread. */
int rsl_stop_check(const rsl_stop *s);
/* The code for a stop reason: INTERRUPTED or RUN_TIME_EXCEEDED (RSL_OK for
 * RSL_STOP_NO). */
rsl_code rsl_stop_code(int why);

#endif
