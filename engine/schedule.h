/*
 * schedule.h - job schedules for the daemon and the health rules: 5-field
 * cron expressions ("minute hour day-of-month month day-of-week", with *,
 * a-b, * /n, a-b/n, lists and jan-dec / sun-sat names, plus @hourly, @daily,
 * @weekly, @monthly, @yearly) and fixed intervals ("every 30s", "every 15m",
 * "every 2h", "every 1d").
 *
 * Owns: parsing and next-run computation (cron in local time). Pure
 * functions: no files, no clock (the caller passes "now"), no globals.
 * Must not touch: the state db, processes, the terminal.
 */
#ifndef RSL_SCHEDULE_H
#define RSL_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum { RSL_SCHED_CRON = 1, RSL_SCHED_EVERY = 2 } rsl_sched_kind;

typedef struct rsl_schedule {
    rsl_sched_kind kind;
    long every_sec;  /* RSL_SCHED_EVERY: the interval, >= 1 */
    uint64_t minute; /* bit n: minute n matches (0-59) */
    uint32_t hour;   /* 0-23 */
    uint32_t dom;    /* 1-31 */
    uint32_t month;  /* 1-12 */
    uint32_t dow;    /* 0-6, Sunday = 0 (7 is accepted as Sunday) */
    int dom_star;    /* the day-of-month field started with '*' */
    int dow_star;    /* the day-of-week field started with '*' */
} rsl_schedule;

/* Parses expr. Returns 0, or -1 with a one-line reason in err (e.g.
 * "hour field '25': 25 is out of range 0-23"). */
int rsl_schedule_parse(rsl_schedule *s, const char *expr, char *err, size_t errsz);

/* The first run time strictly after `after`. Cron: the next matching minute
 * in local time (day-of-month and day-of-week are OR-ed when both are
 * restricted, as in cron); -1 if none within 5 years (e.g. "0 0 30 2 *").
 * Every: after + every_sec. */
time_t rsl_schedule_next(const rsl_schedule *s, time_t after);

/* The nominal interval between runs around `from`, in seconds: every_sec, or
 * for cron the longest gap between the next 8 runs after `from` (so a
 * weekday-only schedule counts its weekend gap). -1 if it never fires. */
long rsl_schedule_interval(const rsl_schedule *s, time_t from);

/* ---- health ---- */
typedef enum {
    RSL_HEALTH_HEALTHY = 0,
    RSL_HEALTH_PENDING,     /* never ran */
    RSL_HEALTH_ERROR,       /* the last run failed as a whole (session error, interrupted) */
    RSL_HEALTH_PARTIAL,     /* items are failing now */
    RSL_HEALTH_NO_ACTIVITY, /* no run within twice the schedule's interval */
} rsl_health;

typedef struct rsl_health_in {
    int has_run;           /* a run is recorded */
    const char *outcome;   /* the last run: "success", "partial_failure", "failure", ... */
    int session_code;      /* the last run's session error code, 0 if none */
    int64_t failing;       /* items failing now */
    int64_t last_start_ms; /* the last run's start */
    long interval_sec;     /* the schedule's interval; <= 0: no schedule */
    int64_t now_ms;
} rsl_health_in;

/* The rules, in order: Pending (never ran); No Activity (scheduled, and the
 * last run started more than 2 x interval ago: the scheduler is not running
 * the job, which hides everything else); Error (last run "failure" or
 * "interrupted", or a session error code); Partial (items failing now);
 * Healthy. */
rsl_health rsl_health_eval(const rsl_health_in *in);
/* "Healthy", "Pending", "Error", "Partial", "No Activity". */
const char *rsl_health_name(rsl_health h);

#endif
