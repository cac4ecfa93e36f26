/*
 * cmd_status.c - `status JOB.conf|JOBDIR [--json]`: per job, its health
 * (engine/schedule.h's rules: Healthy, Pending, Error, Partial, No Activity),
 * the last run's outcome, times and counts, and the items failing now with
 * their next retry time. A directory means every *.conf in it (as the
 * daemon sees it; daemon.conf excluded).
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
    "  --json  one JSON object per job\n"
    "exit: 0, 1 a job file is invalid, 5 a state db cannot be read\n";

/* What status reports about one valid job. */
typedef struct job_status {
    const rsl_job *job;
    int found; /* a run is recorded */
    rsl_run_record rec;
    rsl_failure *f;
    size_t nf;
    int sched_ok; /* job->schedule parsed */
    char why[256];
    long interval;
    const char *health;
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
    s->health = rsl_health_name(rsl_health_eval(&hin));
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

/* The last run's summary object, on the current line. */
static void print_last_run_json(const job_status *s)
{
    if (!s->found) {
        printf("null");
        return;
    }
    /* the summary is a line of its own elsewhere: keep this object on one line */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m) {
        rsl_out_summary_json(m, &s->rec);
        fclose(m);
        while (len > 0 && buf[len - 1] == '\n')
            buf[--len] = '\0';
        fputs(buf, stdout);
    }
    free(buf);
}

static void print_failing_json(const rsl_failure *f, size_t nf)
{
    printf("[");
    for (size_t i = 0; i < nf; i++) {
        char t[64];
        rsl_out_time(t, sizeof(t), f[i].next_retry_ms);
        printf("%s{\"path\":", i ? "," : "");
        rsl_out_json_str(stdout, f[i].path);
        printf(",\"action\":");
        rsl_out_json_str(stdout, f[i].action);
        printf(",\"code\":");
        rsl_out_json_str(stdout, rsl_code_name((rsl_code)f[i].code));
        printf(",\"class\":");
        rsl_out_json_str(stdout, rsl_class_name(rsl_code_class((rsl_code)f[i].code)));
        printf(",\"attempts\":%d,\"next_retry\":", f[i].attempts);
        rsl_out_json_str(stdout, t);
        printf(",\"message\":");
        rsl_out_json_str(stdout, f[i].message);
        printf("}");
    }
    printf("]");
}

static void print_json(const job_status *s)
{
    printf("{\"job\":");
    rsl_out_json_str(stdout, s->job->name);
    printf(",\"health\":");
    rsl_out_json_str(stdout, s->health);
    printf(",\"schedule\":");
    if (s->job->schedule)
        rsl_out_json_str(stdout, s->job->schedule);
    else
        printf("null");
    printf(",\"schedule_interval_s\":%ld,\"next_run\":", s->interval);
    if (s->next_ms > 0)
        rsl_out_json_str(stdout, s->next_txt);
    else
        printf("null");
    printf(",\"last_run\":");
    print_last_run_json(s);
    printf(",\"failing\":");
    print_failing_json(s->f, s->nf);
    printf("}\n");
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
        printf("  ");
        rsl_out_path(stdout, f[i].path);
        printf("\n    %s (%d, %s), %d attempt(s), next retry %s: %s\n",
               rsl_code_name((rsl_code)f[i].code), f[i].code, rsl_class_name(cls), f[i].attempts,
               cls == RSL_CLASS_PERSISTENT ? t : "next run", f[i].message);
    }
}

static void print_text(const job_status *s)
{
    const rsl_job *job = s->job;
    printf("job %s: %s\n", job->name, s->health);
    printf("  source %s\n  destination %s\n  state %s\n", job->source, job->destination,
           job->state_path);
    if (job->schedule && !s->sched_ok)
        printf("  schedule %s: INVALID: %s\n", job->schedule, s->why);
    else if (job->schedule && s->interval > 0)
        printf("  schedule %s, next run %s (no run for more than %lds means No Activity)\n",
               job->schedule, s->next_txt, 2 * s->interval);
    else if (job->schedule)
        printf("  schedule %s, next run %s\n", job->schedule, s->next_txt);
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

/* An invalid job file: the error on stderr, "Invalid" on stdout. */
static int print_invalid(const char *conf, const rsl_err *err, int json)
{
    fprintf(stderr, "%s\n", err->msg);
    if (json) {
        printf("{\"conf\":");
        rsl_out_json_str(stdout, conf);
        printf(",\"health\":\"Invalid\",\"error\":");
        rsl_out_json_str(stdout, err->msg);
        printf("}\n");
    } else {
        printf("job file %s: Invalid (see the error above); the daemon skips it\n", conf);
    }
    return RSL_EXIT_USAGE;
}

static int status_one(const char *conf, int json, int64_t now_ms)
{
    rsl_job job;
    rsl_err err;
    if (rsl_config_load(&job, conf, &err) != RSL_OK) {
        rsl_job_free(&job);
        return print_invalid(conf, &err, json);
    }
    rsl_state *st = NULL;
    job_status s = {.job = &job};
    int code = 0;
    if (rsl_state_open(&st, job.state_path, RSL_STATE_READONLY, &err) != RSL_OK ||
        rsl_state_failures_load(st, &s.f, &s.nf, &err) != RSL_OK) {
        rsl_out_error(stderr, &err);
        code = RSL_EXIT_SESSION;
    } else {
        s.found = rsl_state_run_get(st, 0, &s.rec, &err) > 0;
        evaluate(&s, now_ms);
        if (json)
            print_json(&s);
        else
            print_text(&s);
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

int rsl_cmd_status(int argc, char **argv)
{
    const char *target = NULL;
    int json = 0;
    int r = parse_args(argc, argv, &target, &json);
    if (r != 0) {
        if (r < 0)
            fputs(status_usage, stderr);
        return r < 0 ? RSL_EXIT_USAGE : 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char **names = NULL;
    size_t n = 0;
    /* a directory means its job files, as the daemon sees them */
    if (rsl_daemon_jobs_list(target, &names, &n) != 0)
        return status_one(target, json, now_ms);
    int code = 0;
    if (n == 0)
        fprintf(stderr, "rsyncd-lite status: no *.conf job files in %s\n", target);
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", target, names[i]);
        if (i > 0 && !json)
            printf("\n");
        int c = status_one(path, json, now_ms);
        if (c > code)
            code = c;
        free(names[i]);
    }
    free(names);
    return code;
}
