/*
 * daemon_jobs.h - the scheduler daemon's job table: one entry per
 * JOBDIR/<name>.conf (daemon.conf and dot files excluded), loaded at start and
 * reloaded on SIGHUP. A reload notices added, edited (by content) and removed
 * files; an edited file is read again through cli/config.c (a broken one is
 * logged with its FILE:LINE and skipped until fixed), its first start planned
 * by engine/daemon_policy.h from the last run in its state db; a removed job
 * that is running is kept until its run ends. Jobs that share a state db are
 * flagged (they would lock each other out).
 *
 * Owns: the table and its entries (file, name, state path, launch count),
 * each entry's child (cli/daemon_proc.h) and policy state. Must not touch:
 * processes (cmd_daemon.c starts and reaps them), the state db beyond
 * reading the last run's start.
 */
#ifndef RSL_CLI_DAEMON_JOBS_H
#define RSL_CLI_DAEMON_JOBS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cli/daemon_log.h"
#include "cli/daemon_proc.h"
#include "engine/daemon_policy.h"

typedef struct rsl_daemon_job {
    char *file;     /* file name in JOBDIR */
    char *path;     /* JOBDIR/file */
    uint64_t hash;  /* of the file's bytes, to notice edits */
    char name[128]; /* the job's name, for the log ("" until parsed) */
    char *state;    /* the job's state db path */
    int seq;        /* launches, for the log prefix */
    rsl_daemon_sched pol;
    rsl_daemon_child child;
} rsl_daemon_job;

typedef struct rsl_daemon_jobs {
    rsl_daemon_job **v;
    size_t n;
} rsl_daemon_jobs;

/* The job files of dir: every <name>.conf but daemon.conf and dot files,
 * sorted by name (the caller frees each and the array). Returns 0, or -1
 * with errno set when dir cannot be read. `status JOBDIR` uses it too. */
int rsl_daemon_jobs_list(const char *dir, char ***names, size_t *n);
/* Loads or reloads the *.conf files of dir (logging each change to log);
 * keeps the current jobs when dir cannot be read. */
void rsl_daemon_jobs_reload(rsl_daemon_jobs *t, const char *dir, time_t now, rsl_daemon_log *log);
/* Removes entry i (its run has ended) and frees it. The order of the others
 * may change. */
void rsl_daemon_jobs_drop(rsl_daemon_jobs *t, size_t i);
/* The entry running pid, or NULL. *index gets its position. */
rsl_daemon_job *rsl_daemon_jobs_by_pid(const rsl_daemon_jobs *t, long pid, size_t *index);
void rsl_daemon_jobs_free(rsl_daemon_jobs *t);

/* A log entry about job j ("[name#seq] ..."). */
void rsl_daemon_jobs_log(rsl_daemon_log *log, int level, const rsl_daemon_job *j, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
/* Local time for the log ("2026-03-10 12:00:00 UTC"). */
void rsl_daemon_jobs_fmt_time(char *buf, size_t n, time_t t);

#endif
