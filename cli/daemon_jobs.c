/*
 * daemon_jobs.c - the scheduler daemon's job table. See daemon_jobs.h.
 */
#include "daemon_jobs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli/config.h"
#include "engine/schedule.h"
#include "state/state.h"

void rsl_daemon_jobs_log(rsl_daemon_log *log, int level, const rsl_daemon_job *j, const char *fmt,
                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    rsl_daemon_log_vwrite(log, level, j->name[0] ? j->name : j->file, j->seq, fmt, ap);
    va_end(ap);
}

void rsl_daemon_jobs_fmt_time(char *buf, size_t n, time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static void job_free(rsl_daemon_job *j)
{
    if (j == NULL)
        return;
    rsl_daemon_proc_close(&j->child);
    free(j->file);
    free(j->path);
    free(j->state);
    free(j);
}

/* The last run's start time from the job's state db, or 0. */
static time_t last_start(const rsl_job *job)
{
    rsl_state *st = NULL;
    rsl_err e;
    time_t t = 0;
    if (rsl_state_open(&st, job->state_path, RSL_STATE_READONLY, &e) == RSL_OK) {
        rsl_run_record r;
        if (rsl_state_run_get(st, 0, &r, &e) > 0)
            t = (time_t)(r.started_ms / 1000);
        rsl_state_close(st);
    }
    return t;
}

/* Plans the job's first start from its schedule and its last run. */
static void schedule_job(rsl_daemon_job *j, const rsl_job *job, time_t now, rsl_daemon_log *log)
{
    rsl_schedule s;
    char why[256], t[64];
    /* cli/config.c checked the schedule; a failure here is not expected */
    if (rsl_schedule_parse(&s, job->schedule, why, sizeof(why)) != 0) {
        rsl_daemon_jobs_log(log, RSL_DLOG_ERROR, j,
                            "%s: schedule: %s; job skipped until fixed (then SIGHUP)", j->file,
                            why);
        return;
    }
    time_t missed = 0;
    if (rsl_daemon_policy_load(&j->pol, &s, last_start(job), now, &missed) != 0) {
        rsl_daemon_jobs_log(log, RSL_DLOG_ERROR, j, "%s: schedule '%s' never fires; job skipped",
                            j->file, job->schedule);
        return;
    }
    if (missed > 0) {
        rsl_daemon_jobs_fmt_time(t, sizeof(t), missed);
        rsl_daemon_jobs_log(log, RSL_DLOG_INFO, j, "missed its run of %s: running it now", t);
    }
    rsl_daemon_jobs_fmt_time(t, sizeof(t), j->pol.next);
    rsl_daemon_jobs_log(log, RSL_DLOG_INFO, j, "scheduled '%s' from %s; next run %s", job->schedule,
                        j->file, t);
}

/* (Re)reads a job file: validity, name, state db, schedule, first start. */
static void configure(rsl_daemon_job *j, time_t now, rsl_daemon_log *log)
{
    rsl_job job;
    rsl_err err;
    rsl_daemon_policy_unschedule(&j->pol);
    if (rsl_config_load(&job, j->path, &err) != RSL_OK) {
        rsl_daemon_jobs_log(log, RSL_DLOG_ERROR, j,
                            "broken job file, skipped until fixed (then SIGHUP): %s", err.msg);
        goto done;
    }
    snprintf(j->name, sizeof(j->name), "%s", job.name);
    j->pol.max_run_time = job.max_run_time; /* the run in progress keeps its own bound */
    free(j->state);
    j->state = strdup(job.state_path);
    if (job.schedule == NULL)
        rsl_daemon_jobs_log(log, RSL_DLOG_INFO, j,
                            "%s has no schedule: ignored by the daemon (run it from cron or a "
                            "timer)",
                            j->file);
    else
        schedule_job(j, &job, now, log);
done:
    rsl_job_free(&job);
}

static int is_job_file(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' && l > 5 && strcmp(n + l - 5, ".conf") == 0 && strcmp(n, "daemon.conf") != 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int rsl_daemon_jobs_list(const char *dir, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_job_file(e->d_name))
            continue;
        char **nv = realloc(*names, (*n + 1) * sizeof(*nv));
        if (nv == NULL)
            break;
        *names = nv;
        if ((nv[*n] = strdup(e->d_name)) != NULL)
            (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(*names, *n, sizeof(**names), cmp_str);
    return 0;
}

/* The hash of a file's bytes (0 when it cannot be read). */
static uint64_t hash_file(const char *path)
{
    size_t len = 0;
    char *text = rsl_read_file(path, 2u << 20, &len);
    uint64_t h = text ? fnv(text, len) : 0;
    free(text);
    return h;
}

/* A new entry for dir/file. NULL when out of memory. */
static rsl_daemon_job *add_job(rsl_daemon_jobs *t, const char *dir, const char *file)
{
    rsl_daemon_job **nv = realloc(t->v, (t->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return NULL;
    t->v = nv;
    rsl_daemon_job *j = calloc(1, sizeof(*j));
    char path[PATH_MAX + 256];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (j == NULL)
        return NULL;
    rsl_daemon_proc_init(&j->child);
    if ((j->path = strdup(path)) == NULL || (j->file = strdup(file)) == NULL) {
        job_free(j);
        return NULL;
    }
    t->v[t->n++] = j;
    return j;
}

/* An existing job's file, or a new one: (re)configured when its bytes
 * changed. */
static void update_job(rsl_daemon_jobs *t, const char *dir, const char *file, time_t now,
                       rsl_daemon_log *log)
{
    rsl_daemon_job *j = NULL;
    for (size_t i = 0; i < t->n && j == NULL; i++)
        if (strcmp(t->v[i]->file, file) == 0)
            j = t->v[i];
    if (j == NULL) {
        if ((j = add_job(t, dir, file)) == NULL)
            return;
        j->hash = hash_file(j->path);
        configure(j, now, log);
        return;
    }
    j->pol.removed = 0; /* a file that went and came back before its run ended */
    uint64_t h = hash_file(j->path);
    if (j->hash == h)
        return;
    j->hash = h;
    rsl_daemon_jobs_log(log, RSL_DLOG_INFO, j, "%s changed: reloading%s", j->file,
                        j->pol.running ? " (the running run finishes with the old settings)" : "");
    configure(j, now, log);
}

/* Jobs whose file is gone: dropped when idle, else when their run ends. */
static void remove_gone(rsl_daemon_jobs *t, char **names, size_t nn, rsl_daemon_log *log)
{
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        rsl_daemon_job *j = t->v[i];
        const char *key = j->file;
        if (nn > 0 && bsearch(&key, names, nn, sizeof(*names), cmp_str) != NULL) {
            t->v[w++] = j;
            continue;
        }
        if (rsl_daemon_policy_remove(&j->pol)) {
            rsl_daemon_jobs_log(log, RSL_DLOG_INFO, j, "%s removed: job dropped", j->file);
            job_free(j);
            continue;
        }
        rsl_daemon_jobs_log(log, RSL_DLOG_INFO, j, "%s removed: dropped when its running run ends",
                            j->file);
        t->v[w++] = j;
    }
    t->n = w;
}

/* Flags jobs that share a state db; returns how many jobs are scheduled. */
static int check_jobs(const rsl_daemon_jobs *t, rsl_daemon_log *log)
{
    int scheduled = 0;
    for (size_t i = 0; i < t->n; i++) {
        const rsl_daemon_job *a = t->v[i];
        scheduled += a->pol.scheduled && !a->pol.removed;
        for (size_t k = 0; k < i && a->pol.scheduled && a->state; k++) {
            const rsl_daemon_job *b = t->v[k];
            if (b->pol.scheduled && b->state && strcmp(a->state, b->state) == 0)
                rsl_daemon_jobs_log(log, RSL_DLOG_WARN, a,
                                    "%s uses the same state db as %s (%s): they lock each other "
                                    "out; give each job its own `state`",
                                    a->file, b->file, a->state);
        }
    }
    return scheduled;
}

void rsl_daemon_jobs_reload(rsl_daemon_jobs *t, const char *dir, time_t now, rsl_daemon_log *log)
{
    char **names = NULL;
    size_t nn = 0;
    if (rsl_daemon_jobs_list(dir, &names, &nn) != 0) {
        rsl_daemon_log_write(log, RSL_DLOG_ERROR, NULL, 0,
                             "cannot read job directory %s: %s; keeping the current jobs", dir,
                             strerror(errno));
        return;
    }
    for (size_t k = 0; k < nn; k++)
        update_job(t, dir, names[k], now, log);
    remove_gone(t, names, nn, log);
    for (size_t k = 0; k < nn; k++)
        free(names[k]);
    free(names);
    int n = check_jobs(t, log);
    rsl_daemon_log_write(log, RSL_DLOG_INFO, NULL, 0, "%d scheduled job(s) in %s", n, dir);
}

void rsl_daemon_jobs_drop(rsl_daemon_jobs *t, size_t i)
{
    job_free(t->v[i]);
    t->v[i] = t->v[--t->n];
}

rsl_daemon_job *rsl_daemon_jobs_by_pid(const rsl_daemon_jobs *t, long pid, size_t *index)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i]->child.pid == pid) {
            if (index)
                *index = i;
            return t->v[i];
        }
    return NULL;
}

void rsl_daemon_jobs_free(rsl_daemon_jobs *t)
{
    for (size_t i = 0; i < t->n; i++)
        job_free(t->v[i]);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}
