/*
 * daemon_policy.h - when the scheduler daemon starts each job: the first
 * start after a job file is (re)loaded (a missed cron run is made up at
 * once), the next start after a run ends (its schedule, or exponential
 * backoff after a transient failure), which due jobs start now (oldest due
 * first, at most max_parallel at once, never a job over itself), what a
 * reload does to a running or removed job, and when a run that overstays
 * its max_run_time is stopped (SIGTERM, then SIGKILL) so one stuck run
 * cannot block its schedule for ever.
 *
 * Owns: these decisions, as pure functions over rsl_daemon_sched. No I/O, no
 * clock reads (the caller passes "now"), no globals. Must not touch:
 * processes, files, the state db, the log: cli/cmd_daemon.c and its modules
 * do those and report what was decided here.
 */
#ifndef RSL_DAEMON_POLICY_H
#define RSL_DAEMON_POLICY_H

#include <stddef.h>
#include <time.h>

#include "engine/schedule.h"

/* Daemon-wide settings (daemon.conf and the command line). */
typedef struct rsl_daemon_policy {
    long retry_min;   /* backoff after the first transient failure, seconds (>= 1) */
    long retry_max;   /* the backoff doubles up to this (>= retry_min) */
    int max_parallel; /* runs at once (>= 1) */
} rsl_daemon_policy;

/* One job as the policy sees it. Zeroed = not scheduled, idle. */
typedef struct rsl_daemon_sched {
    int scheduled; /* the job file is valid and has a schedule that fires */
    int removed;   /* the job file is gone */
    int running;   /* a run is in progress */
    rsl_schedule sched;
    time_t next;       /* the next start, when scheduled */
    int fails;         /* transient failures in a row */
    time_t started;    /* wall time the current (or last) run started */
    long max_run_time; /* the job's max_run_time in seconds (0: no bound), from its file */
    long run_bound;    /* the bound of the run in progress (max_run_time when it started) */
    int overstay;      /* the run in progress overstayed: 1 SIGTERM sent, 2 SIGKILL sent */
} rsl_daemon_sched;

/* The job's file was (re)read and has schedule s; last_start is its last
 * recorded run's start (0 if it never ran). Plans the first start: every:
 * last_start + the interval, or now if that has passed; cron: now when a
 * start fell between last_start and now (a run missed while the daemon or
 * the machine was down is made up once, at once, like systemd's
 * Persistent=true; *missed gets that time, else 0), otherwise the next match
 * after now. Resets the failure count; a running run is not touched (it
 * finishes with the old settings). Returns 0, or -1 when s never fires
 * (the job is then unscheduled). */
int rsl_daemon_policy_load(rsl_daemon_sched *j, const rsl_schedule *s, time_t last_start,
                           time_t now, time_t *missed);
/* The job's file is broken or has no schedule: it is not started again (a
 * running run finishes). */
void rsl_daemon_policy_unschedule(rsl_daemon_sched *j);
/* The job's file is gone. Returns 1 when the job can be dropped now (idle),
 * 0 when it is dropped as its running run ends. */
int rsl_daemon_policy_remove(rsl_daemon_sched *j);

/* Picks the jobs to start now: scheduled, not removed, not running (never a
 * job over itself) and due (next <= now), the longest overdue first (ties in
 * table order), at most max_parallel minus `running`. Writes their indexes
 * in jobs[] to out (room for n) and returns how many. *wait_s gets the
 * seconds until the next start of a job that is not due yet (-1 if none);
 * a due job left waiting for a slot starts when a run ends. */
size_t rsl_daemon_policy_due(const rsl_daemon_policy *p, rsl_daemon_sched *const *jobs, size_t n,
                             int running, time_t now, size_t *out, long *wait_s);
/* A run of the job started at now (bounded by the job's max_run_time). */
void rsl_daemon_policy_started(rsl_daemon_sched *j, time_t now);

/* What to do with a running job's process that has run `secs` seconds. A
 * run stops itself at max_run_time (it checkpoints, exit 30); one still
 * running `grace` seconds later is stuck: SIGTERM (it checkpoints what it
 * can), and `grace` seconds after that SIGKILL. Returns the step due now
 * (each once: j->overstay advances) or NONE; *wait_s gets the seconds until
 * the next step (-1: none). */
typedef enum rsl_daemon_overstay {
    RSL_OVERSTAY_NONE = 0,
    RSL_OVERSTAY_TERM,
    RSL_OVERSTAY_KILL
} rsl_daemon_overstay;
rsl_daemon_overstay rsl_daemon_policy_overstay(rsl_daemon_sched *j, double secs, long grace,
                                               double *wait_s);
/* 1 when a run that ended (exited/code as for rsl_daemon_policy_transient,
 * after secs seconds) was stopped by its bound: it reached max_run_time
 * (exit 30 at or after it), or the daemon stopped it for overstaying. Such
 * an end is not a failure to back off from: the next run follows the
 * schedule and resumes. */
int rsl_daemon_policy_hit_bound(const rsl_daemon_sched *j, int exited, int code, double secs);
/* Starting the run failed (pipe, fork): try again after retry_min. */
void rsl_daemon_policy_start_failed(const rsl_daemon_policy *p, rsl_daemon_sched *j, time_t now);

/* Whether a run's end is a transient failure that backs off: exit 5
 * (session), 30 (timeout), 20 (interrupted), 127 (the program could not be
 * started), or killed by a signal. exited: WIFEXITED; code: the exit code
 * or the signal. */
int rsl_daemon_policy_transient(int exited, int code);
/* The backoff before retry number `fails` (1 = the first failure):
 * retry_min doubled fails-1 times, at most retry_max. */
long rsl_daemon_policy_backoff(const rsl_daemon_policy *p, int fails);

/* What follows a run's end. */
typedef enum rsl_daemon_after {
    RSL_DAEMON_DROP = 1,    /* the job file was removed: drop the job */
    RSL_DAEMON_STOPPING,    /* the daemon is stopping: nothing is planned */
    RSL_DAEMON_UNSCHEDULED, /* the job is no longer scheduled (its file broke) */
    RSL_DAEMON_RETRY,       /* transient failure: next = now + backoff(fails) */
    RSL_DAEMON_NEXT         /* next = the schedule's next start */
} rsl_daemon_after;

/* The job's run ended at now (transient: rsl_daemon_policy_transient;
 * stopping: the daemon is shutting down). Clears running and plans the next
 * start: every: the run's start + the interval (now if that has passed);
 * cron: the next match after now. A success or a non-transient failure
 * resets the failure count. */
rsl_daemon_after rsl_daemon_policy_finished(const rsl_daemon_policy *p, rsl_daemon_sched *j,
                                            int transient, int stopping, time_t now);

#endif
