/*
 * cmd_status.c - `status JOB.conf|JOBDIR [--json]`: per job, its health
 * (engine/schedule.h's rules: Healthy, Pending, Error, Partial, No Activity),
 * the last run's outcome, times and counts, and the items failing now with
 * their next retry time. A directory means every *.conf in it (as the
 * daemon sees it; daemon.conf excluded).
 *
 * The exit status follows the monitoring-plugin convention (Nagios, Icinga,
 * Sensu, Checkmk): 0 OK (Healthy), 1 WARNING (Partial, Pending, No Activity),
 * 2 CRITICAL (Error), 3 UNKNOWN (a job file or its state db cannot be read,
 * or a usage error); over a directory the worst job decides, with CRITICAL
 * worse than UNKNOWN worse than WARNING. Unlike the other sub-commands, 1 is
 * therefore not a usage error here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/daemon_jobs.h"
#include "cli/output.h"
#include "engine/schedule.h"
#include "engine/sync.h"

static const char status_usage[] =
    "usage: rsyncd-lite status JOB.conf|JOBDIR [--json]\n"
    "  Per job: health (Healthy; Pending: never ran; Error: the last run failed;\n"
    "  Partial: items failing now; No Activity: no run within twice its schedule's\n"
    "  interval), the last run (outcome, start/end, counts) and the items failing now\n"
    "  (persistent/transient) with their next retry time. JOBDIR: every *.conf in it.\n"
    "  --json  one JSON object per job (docs/json.md: type \"status\")\n"
    "exit (monitoring-plugin convention; JOBDIR: the worst job): 0 OK (Healthy),\n"
    "  1 WARNING (Partial, Pending, No Activity), 2 CRITICAL (Error), 3 UNKNOWN (a job\n"
    "  file is invalid, a state db cannot be read, or a usage error)\n";

/* Monitoring-plugin exit codes. */
enum { ST_OK = 0, ST_WARNING = 1, ST_CRITICAL = 2, ST_UNKNOWN = 3 };

static const char *severity_name(int code)
{
    static const char *const names[] = {"ok", "warning", "critical", "unknown"};
    return code >= 0 && code <= 3 ? names[code] : "unknown";
}

/* How bad a code is, to pick the worst job: OK < WARNING < UNKNOWN < CRITICAL
 * (a job known to fail needs action before one we cannot read). */
static int severity_rank(int code)
{
    static const int rank[] = {0, 1, 3, 2};
    return code >= 0 && code <= 3 ? rank[code] : 2;
}

static int severity_of(rsl_health h)
{
    switch (h) {
    case RSL_HEALTH_HEALTHY:
        return ST_OK;
    case RSL_HEALTH_ERROR:
        return ST_CRITICAL;
    case RSL_HEALTH_PENDING:
    case RSL_HEALTH_PARTIAL:
    case RSL_HEALTH_NO_ACTIVITY:
        return ST_WARNING;
    }
    return ST_UNKNOWN;
}

/* What status reports about one valid job. */
typedef struct job_status {
    const rsl_job *job;
    const char *conf; /* the job file */
    int found;        /* a run is recorded */
    rsl_run_record rec;
    rsl_failure *f;
    size_t nf;
    int sched_ok; /* job->schedule parsed */
    char why[256];
    long interval;
    const char *health;
    int severity;      /* ST_* */
    char next_txt[64]; /* when the daemon runs it next, or "-" */
    int64_t next_ms;
} job_status;

/* Health, schedule interval and next start from the job and its state db. */
static void evaluate(job_status *s, int64_t now_ms)
{
    const rsl_job *job = s->job;
    rsl_schedule sched;
    s->sched_ok =
        job->schedule && rsl_schedule_parse(&sched, job->schedule, s->why, sizeof(s->why)) == 0;
    if (s->sched_ok && s->found)
        s->interval = rsl_schedule_interval(&sched, (time_t)(s->rec.started_ms / 1000));
    rsl_health_in hin = {.has_run = s->found,
                         .outcome = s->found ? s->rec.outcome : NULL,
                         .session_code = s->found ? s->rec.code : 0,
                         .failing = (int64_t)s->nf,
                         .last_start_ms = s->found ? s->rec.started_ms : 0,
                         .interval_sec = s->interval,
                         .now_ms = now_ms};
    rsl_health h = rsl_health_eval(&hin);
    s->health = rsl_health_name(h);
    s->severity = severity_of(h);
    /* when the daemon runs it next (an estimate: it also backs off after
     * session failures and makes up missed cron runs) */
    if (s->sched_ok) {
        time_t now = (time_t)(now_ms / 1000), n;
        if (sched.kind == RSL_SCHED_EVERY)
            n = s->found ? (time_t)(s->rec.started_ms / 1000) + sched.every_sec : now;
        else
            n = rsl_schedule_next(&sched, now);
        if (n > 0)
            s->next_ms = (int64_t)(n < now ? now : n) * 1000;
    }
    snprintf(s->next_txt, sizeof(s->next_txt), "-");
    if (s->next_ms > 0)
        rsl_out_time(s->next_txt, sizeof(s->next_txt), s->next_ms);
}

/* The failing items as the array "failing". */
static void failing_json(rsl_json *j, const rsl_failure *f, size_t nf)
{
    rsl_json_array(j, "failing");
    for (size_t i = 0; i < nf; i++) {
        rsl_json_object(j, NULL);
        rsl_json_name(j, "path", f[i].path);
        rsl_json_str(j, "action", f[i].action);
        rsl_json_str(j, "code", rsl_code_name((rsl_code)f[i].code));
        rsl_json_int(j, "code_number", f[i].code);
        rsl_json_str(j, "class", rsl_class_name(rsl_code_class((rsl_code)f[i].code)));
        rsl_json_str(j, "message", f[i].message[0] ? f[i].message : NULL);
        rsl_json_int(j, "attempts", f[i].attempts);
        rsl_json_time(j, "first_failed", f[i].first_ms);
        rsl_json_time(j, "last_failed", f[i].last_ms);
        rsl_json_time(j, "next_retry", f[i].next_retry_ms);
        rsl_json_close(j);
    }
    rsl_json_close(j);
}

/* The members every status record starts with. */
static void head_json(rsl_json *j, const char *job, const char *conf, const char *health,
                      int severity)
{
    rsl_json_begin(j, stdout, "status");
    rsl_json_str(j, "job", job);
    rsl_json_name(j, "conf", conf);
    rsl_json_str(j, "health", health);
    rsl_json_str(j, "severity", severity_name(severity));
    rsl_json_int(j, "exit_code", severity);
}

static void print_json(const job_status *s)
{
    rsl_json j;
    head_json(&j, s->job->name, s->conf, s->health, s->severity);
    rsl_json_str(&j, "error", NULL);
    rsl_json_str(&j, "schedule", s->job->schedule);
    if (s->interval > 0)
        rsl_json_int(&j, "schedule_interval_s", s->interval);
    else
        rsl_json_null(&j, "schedule_interval_s");
    rsl_json_time(&j, "next_run", s->next_ms);
    if (s->found) {
        rsl_json_object(&j, "last_run");
        rsl_out_run_members(&j, &s->rec, 0);
        rsl_json_close(&j);
    } else {
        rsl_json_null(&j, "last_run");
    }
    failing_json(&j, s->f, s->nf);
    rsl_json_end(&j);
}

static void print_failing_text(const rsl_failure *f, size_t nf)
{
    size_t np = 0;
    for (size_t i = 0; i < nf; i++)
        np += rsl_code_class((rsl_code)f[i].code) == RSL_CLASS_PERSISTENT;
    printf("failing now: %zu item(s) (%zu persistent, %zu transient)\n", nf, np, nf - np);
    for (size_t i = 0; i < nf; i++) {
        char t[64];
        rsl_out_time(t, sizeof(t), f[i].next_retry_ms);
        rsl_class cls = rsl_code_class((rsl_code)f[i].code);
        rsl_out_line(stdout, "  %s", f[i].path);
        rsl_out_line(stdout, "    %s (%d, %s), %d attempt(s), next retry %s: %s",
                     rsl_code_name((rsl_code)f[i].code), f[i].code, rsl_class_name(cls),
                     f[i].attempts, cls == RSL_CLASS_PERSISTENT ? t : "next run", f[i].message);
    }
}

static void print_text(const job_status *s)
{
    const rsl_job *job = s->job;
    rsl_out_line(stdout, "job %s: %s", job->name, s->health);
    rsl_out_line(stdout, "  source %s", job->source);
    rsl_out_line(stdout, "  destination %s", job->destination);
    rsl_out_line(stdout, "  state %s", job->state_path);
    if (job->schedule && !s->sched_ok)
        rsl_out_line(stdout, "  schedule %s: INVALID: %s", job->schedule, s->why);
    else if (job->schedule && s->interval > 0)
        rsl_out_line(stdout,
                     "  schedule %s, next run %s (no run for more than %lds means No Activity)",
                     job->schedule, s->next_txt, 2 * s->interval);
    else if (job->schedule)
        rsl_out_line(stdout, "  schedule %s, next run %s", job->schedule, s->next_txt);
    else
        printf("  schedule none (run by cron or by hand)\n");
    if (s->found) {
        printf("last ");
        rsl_out_summary_text(stdout, &s->rec);
    } else {
        printf("never ran\n");
    }
    print_failing_text(s->f, s->nf);
}

/* A job that cannot be judged (its file is invalid, health "Invalid", or its
 * state db cannot be read, health "Unknown"): the error on stderr, the
 * verdict on stdout. Returns ST_UNKNOWN. */
static int print_unknown(const char *conf, const char *job, const char *health, const char *msg,
                         int json)
{
    if (json) {
        rsl_json j;
        head_json(&j, job, conf, health, ST_UNKNOWN);
        rsl_json_str(&j, "error", msg);
        /* the same members as any status record: nothing is known of them */
        static const char *const unknown[] = {"schedule", "schedule_interval_s", "next_run",
                                              "last_run", "failing"};
        for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
            rsl_json_null(&j, unknown[i]);
        rsl_json_end(&j);
    } else if (job) {
        rsl_out_line(stdout, "job %s: %s (see the error above)", job, health);
    } else {
        rsl_out_line(stdout, "job file %s: %s (see the error above); the daemon skips it", conf,
                     health);
    }
    return ST_UNKNOWN;
}

/* Reports one job file. Returns its monitoring exit code (ST_*). */
static int status_one(const char *conf, int json, int64_t now_ms)
{
    rsl_job job;
    rsl_err err;
    if (rsl_config_load(&job, conf, &err) != RSL_OK) {
        rsl_job_free(&job);
        rsl_out_line(stderr, "%s", err.msg);
        return print_unknown(conf, NULL, "Invalid", err.msg, json);
    }
    rsl_state *st = NULL;
    job_status s = {.job = &job, .conf = conf};
    int code;
    if (rsl_state_open(&st, job.state_path, RSL_STATE_READONLY, &err) != RSL_OK ||
        rsl_state_failures_load(st, &s.f, &s.nf, &err) != RSL_OK) {
        rsl_out_error(stderr, &err);
        code = print_unknown(conf, job.name, "Unknown", err.msg, json);
    } else {
        s.found = rsl_state_run_get(st, 0, &s.rec, &err) > 0;
        evaluate(&s, now_ms);
        if (json)
            print_json(&s);
        else
            print_text(&s);
        code = s.severity;
    }
    rsl_failures_free(s.f, s.nf);
    rsl_state_close(st);
    rsl_job_free(&job);
    return code;
}

/* Returns 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, const char **target, int *json)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(status_usage, stdout);
            return 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            *json = 1;
        } else if (argv[i][0] != '-' && *target == NULL) {
            *target = argv[i];
        } else {
            return -1;
        }
    }
    return *target == NULL ? -1 : 0;
}

/* Every job file of a directory; the worst job decides. */
static int status_dir(const char *dir, char **names, size_t n, int json, int64_t now_ms)
{
    int code = ST_OK;
    size_t per[4] = {0, 0, 0, 0};
    if (n == 0) {
        rsl_out_line(stderr, "rsyncd-lite status: no *.conf job files in %s", dir);
        code = ST_UNKNOWN;
    }
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (i > 0 && !json)
            printf("\n");
        int c = status_one(path, json, now_ms);
        per[c]++;
        if (severity_rank(c) > severity_rank(code))
            code = c;
    }
    if (!json && n > 0)
        printf("\nstatus: %zu job(s): %zu ok, %zu warning, %zu critical, %zu unknown; exit %d "
               "(%s)\n",
               n, per[ST_OK], per[ST_WARNING], per[ST_CRITICAL], per[ST_UNKNOWN], code,
               severity_name(code));
    return code;
}

int rsl_cmd_status(int argc, char **argv)
{
    const char *target = NULL;
    int json = 0;
    int r = parse_args(argc, argv, &target, &json);
    if (r != 0) {
        if (r < 0)
            fputs(status_usage, stderr);
        return r < 0 ? ST_UNKNOWN : 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char **names = NULL;
    size_t n = 0;
    /* a directory means its job files, as the daemon sees them */
    if (rsl_daemon_jobs_list(target, &names, &n) != 0)
        return status_one(target, json, now_ms);
    int code = status_dir(target, names, n, json, now_ms);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return code;
}
