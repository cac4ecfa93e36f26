/*
 * cmd_daemon.c - `daemon JOBDIR`: the scheduler. Runs every *.conf in JOBDIR
 * on its `schedule` by fork+exec of this same binary (`rsyncd-lite run
 * JOB.conf`), at most max_parallel_jobs at once, never a job over itself.
 * Foreground, systemd-friendly: one log line per event on stderr (or
 * --log-file) as "TIME LEVEL [job#launch] message"; the runs' own output is
 * relayed line by line with the same prefix.
 *
 * Signals: SIGHUP reloads JOBDIR (added, changed, removed jobs; a running
 * job is never dropped) and reopens the log file; SIGTERM/SIGINT forward
 * SIGTERM to the running children (each stops taking files, its file in
 * flight keeps its resume record, the run is recorded "interrupted"), wait
 * up to stop_timeout seconds, SIGKILL what is left, exit 0.
 *
 * A run that ends with a transient session failure (exit 5, 20, 30, or
 * killed by a signal) is retried with exponential backoff (retry_min,
 * doubling up to retry_max) instead of on every tick of its schedule.
 *
 * Owns: the job table, the child processes and their pipes, the signalfd.
 * Must not touch: the state db (read-only, for the last run's time), the
 * network. Linux-only (signalfd, /proc/self/exe), like our systemd target.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "base/buf.h"
#include "cli/config.h"
#include "engine/schedule.h"
#include "engine/sync.h"
#include "state/state.h"

#define LINE_MAX_RELAY 2048

typedef struct djob {
    char *file;     /* file name in JOBDIR */
    char *path;     /* JOBDIR/file */
    uint64_t hash;  /* of the file's bytes, to notice edits */
    int valid;      /* parsed, scheduled */
    int removed;    /* the file is gone: dropped once its run ends */
    char name[128]; /* the job's name, for the log */
    char *state;    /* the job's state db path */
    rsl_schedule sched;
    time_t next;      /* next launch */
    int fails;        /* consecutive transient failures */
    pid_t pid;        /* running child, 0 if none */
    int seq;          /* launches, for the log prefix */
    double started;   /* monotonic time of the launch */
    time_t started_t; /* wall time of the launch */
    int fd[2];        /* child's stdout, stderr (-1 when closed) */
    char buf[2][LINE_MAX_RELAY];
    size_t blen[2];
} djob;

typedef struct dctx {
    char dir[PATH_MAX];
    char exe[PATH_MAX];
    long max_parallel;
    long stop_timeout;
    long retry_min, retry_max;
    const char *log_path;
    char log_path_buf[PATH_MAX];
    FILE *log;
    djob **jobs;
    size_t n;
    int running;
    int stopping; /* SIGTERM received: no more launches or retries */
    int sfd;
    sigset_t oldmask;
} dctx;

enum { L_DEBUG, L_INFO, L_WARN, L_ERROR };

static void dlog(dctx *d, int level, const djob *j, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void dlog(dctx *d, int level, const djob *j, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[40];
    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* one line: no control bytes from a job's output */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            *p = '?';
    FILE *f = d->log ? d->log : stderr;
    if (j)
        fprintf(f, "%s.%03ldZ %-5s [%s#%d] %s\n", t, ts.tv_nsec / 1000000, names[level],
                j->name[0] ? j->name : j->file, j->seq, msg);
    else
        fprintf(f, "%s.%03ldZ %-5s [daemon] %s\n", t, ts.tv_nsec / 1000000, names[level], msg);
    fflush(f);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fmt_time(char *buf, size_t n, time_t t)
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

/* ---- JOBDIR/daemon.conf: "key = value" lines, optional ---- */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int load_daemon_conf(dctx *d)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/daemon.conf", d->dir);
    size_t len;
    char *text = rsl_read_file(path, 2u << 20, &len);
    if (text == NULL)
        return 0; /* optional */
    int rc = 0, line = 0;
    char *next = NULL;
    for (char *ln = text; ln != NULL; ln = next) {
        line++;
        next = strchr(ln, '\n');
        if (next)
            *next++ = '\0';
        while (isspace((unsigned char)*ln))
            ln++;
        if (*ln == '\0' || *ln == '#' || *ln == ';' || *ln == '[')
            continue;
        char *eq = strchr(ln, '=');
        if (eq == NULL) {
            fprintf(stderr, "%s:%d: expected 'key = value'\n", path, line);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *k = ln, *v = eq + 1;
        for (char *e = eq - 1; e >= k && isspace((unsigned char)*e); e--)
            *e = '\0';
        while (isspace((unsigned char)*v))
            v++;
        char *c = v + strcspn(v, "#;");
        *c = '\0';
        for (char *e = v + strlen(v) - 1; e >= v && isspace((unsigned char)*e); e--)
            *e = '\0';
        int bad = 0;
        long secs;
        if (strcmp(k, "max_parallel_jobs") == 0)
            bad = parse_long(v, 1, 256, &d->max_parallel);
        else if (strcmp(k, "stop_timeout") == 0)
            bad = (secs = rsl_config_parse_duration(v)) < 1 || (d->stop_timeout = secs) < 0;
        else if (strcmp(k, "retry_min") == 0)
            bad = (secs = rsl_config_parse_duration(v)) < 1 || (d->retry_min = secs) < 0;
        else if (strcmp(k, "retry_max") == 0)
            bad = (secs = rsl_config_parse_duration(v)) < 1 || (d->retry_max = secs) < 0;
        else if (strcmp(k, "log_file") == 0 && d->log_path == NULL && *v) {
            /* relative to JOBDIR, like a job file's paths */
            int n = snprintf(d->log_path_buf, sizeof(d->log_path_buf), "%s%s%s",
                             v[0] == '/' ? "" : d->dir, v[0] == '/' ? "" : "/", v);
            if (n < 0 || (size_t)n >= sizeof(d->log_path_buf)) {
                bad = 1; /* too long */
            } else {
                d->log_path = d->log_path_buf;
            }
        } else if (strcmp(k, "log_file") != 0) {
            fprintf(stderr,
                    "%s:%d: %s: unknown key (known: max_parallel_jobs, log_file, "
                    "stop_timeout, retry_min, retry_max)\n",
                    path, line, k);
            rc = -1;
            break;
        }
        if (bad) {
            fprintf(stderr, "%s:%d: %s: bad value '%s'\n", path, line, k, v);
            rc = -1;
            break;
        }
    }
    free(text);
    return rc;
}

/* ---- the job table ---- */

static void job_free(djob *j)
{
    if (j == NULL)
        return;
    for (int i = 0; i < 2; i++)
        if (j->fd[i] >= 0)
            close(j->fd[i]);
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

/* (Re)reads a job file: validity, name, schedule and next launch. */
static void job_configure(dctx *d, djob *j, time_t now)
{
    rsl_job job;
    rsl_err err;
    j->valid = 0;
    if (rsl_config_load(&job, j->path, &err) != RSL_OK) {
        dlog(d, L_ERROR, j, "broken job file, skipped until fixed (then SIGHUP): %s", err.msg);
        goto done;
    }
    snprintf(j->name, sizeof(j->name), "%s", job.name);
    free(j->state);
    j->state = strdup(job.state_path);
    if (job.schedule == NULL || job.schedule[0] == '\0') {
        dlog(d, L_INFO, j,
             "%s has no schedule: ignored by the daemon (run it from cron or a timer)", j->file);
        goto done;
    }
    char why[256];
    if (rsl_schedule_parse(&j->sched, job.schedule, why, sizeof(why)) != 0) {
        dlog(d, L_ERROR, j, "%s: schedule: %s; job skipped until fixed (then SIGHUP)", j->file,
             why);
        goto done;
    }
    if (j->sched.kind == RSL_SCHED_EVERY) {
        time_t last = last_start(&job);
        j->next = last > 0 ? last + j->sched.every_sec : now;
        if (j->next < now)
            j->next = now;
    } else {
        /* a run missed while the daemon was down (or the machine off) is
         * made up once, at once, like systemd's Persistent=true */
        time_t last = last_start(&job);
        time_t missed = last > 0 ? rsl_schedule_next(&j->sched, last) : -1;
        if (missed > 0 && missed <= now) {
            char t[64];
            fmt_time(t, sizeof(t), missed);
            dlog(d, L_INFO, j, "missed its run of %s: running it now", t);
            j->next = now;
        } else {
            j->next = rsl_schedule_next(&j->sched, now);
        }
        if (j->next < 0) {
            dlog(d, L_ERROR, j, "%s: schedule '%s' never fires; job skipped", j->file,
                 job.schedule);
            goto done;
        }
    }
    j->fails = 0;
    j->valid = 1;
    char t[64];
    fmt_time(t, sizeof(t), j->next);
    dlog(d, L_INFO, j, "scheduled '%s' from %s; next run %s", job.schedule, j->file, t);
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

/* Loads or reloads JOBDIR. */
static void load_dir(dctx *d, time_t now)
{
    DIR *dir = opendir(d->dir);
    if (dir == NULL) {
        dlog(d, L_ERROR, NULL, "cannot read job directory %s: %s; keeping the current jobs", d->dir,
             strerror(errno));
        return;
    }
    char **names = NULL;
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (!is_job_file(e->d_name))
            continue;
        char **nv = realloc(names, (nn + 1) * sizeof(*nv));
        if (nv == NULL)
            break;
        names = nv;
        if ((names[nn] = strdup(e->d_name)) != NULL)
            nn++;
    }
    closedir(dir);
    if (nn > 1)
        qsort(names, nn, sizeof(*names), cmp_str);
    for (size_t i = 0; i < d->n; i++)
        d->jobs[i]->removed = 1;
    for (size_t k = 0; k < nn; k++) {
        djob *j = NULL;
        for (size_t i = 0; i < d->n; i++)
            if (strcmp(d->jobs[i]->file, names[k]) == 0)
                j = d->jobs[i];
        char path[PATH_MAX + 256];
        snprintf(path, sizeof(path), "%s/%s", d->dir, names[k]);
        size_t len = 0;
        char *text = rsl_read_file(path, 2u << 20, &len);
        uint64_t h = text ? fnv(text, len) : 0;
        free(text);
        if (j != NULL) {
            j->removed = 0;
            if (j->hash == h)
                continue;
            j->hash = h;
            dlog(d, L_INFO, j, "%s changed: reloading%s", j->file,
                 j->pid ? " (the running run finishes with the old settings)" : "");
            job_configure(d, j, now);
            continue;
        }
        djob **nj = realloc(d->jobs, (d->n + 1) * sizeof(*nj));
        if (nj == NULL)
            break;
        d->jobs = nj;
        j = calloc(1, sizeof(*j));
        if (j == NULL)
            break;
        j->fd[0] = j->fd[1] = -1;
        j->file = names[k];
        names[k] = NULL;
        j->path = strdup(path);
        j->hash = h;
        d->jobs[d->n++] = j;
        job_configure(d, j, now);
    }
    for (size_t k = 0; k < nn; k++)
        free(names[k]);
    free(names);
    /* drop removed jobs that are idle; running ones go when they end */
    size_t w = 0;
    for (size_t i = 0; i < d->n; i++) {
        djob *j = d->jobs[i];
        if (j->removed && j->pid == 0) {
            dlog(d, L_INFO, j, "%s removed: job dropped", j->file);
            job_free(j);
            continue;
        }
        if (j->removed)
            dlog(d, L_INFO, j, "%s removed: dropped when its running run ends", j->file);
        d->jobs[w++] = j;
    }
    d->n = w;
    int valid = 0;
    for (size_t i = 0; i < d->n; i++) {
        djob *a = d->jobs[i];
        valid += a->valid && !a->removed;
        for (size_t k = 0; k < i && a->valid && a->state; k++)
            if (d->jobs[k]->valid && d->jobs[k]->state && strcmp(a->state, d->jobs[k]->state) == 0)
                dlog(d, L_WARN, a,
                     "%s uses the same state db as %s (%s): they lock each other out; give each "
                     "job its own `state`",
                     a->file, d->jobs[k]->file, a->state);
    }
    dlog(d, L_INFO, NULL, "%d scheduled job(s) in %s", valid, d->dir);
}

/* ---- children ---- */

static void spawn(dctx *d, djob *j)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1};
    if (pipe(out) != 0 || pipe(errp) != 0) {
        dlog(d, L_ERROR, j, "pipe: %s", strerror(errno));
        goto fail;
    }
    /* no other child may inherit these (dup2 onto 1 and 2 clears the flag) */
    for (int i = 0; i < 2; i++) {
        fcntl(out[i], F_SETFD, FD_CLOEXEC);
        fcntl(errp[i], F_SETFD, FD_CLOEXEC);
    }
    j->seq++;
    pid_t pid = fork();
    if (pid < 0) {
        dlog(d, L_ERROR, j, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        /* child: own process group (a terminal's ^C reaches only the daemon,
         * which forwards one SIGTERM), default signals, pipes as 1 and 2 */
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &d->oldmask, NULL);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        /* --quiet: the summary only when something failed; the daemon logs
         * the outcome itself */
        char *argv[] = {(char *)"rsyncd-lite", (char *)"run", (char *)"--quiet", j->path, NULL};
        execv(d->exe, argv);
        _exit(127);
    }
    close(out[1]);
    close(errp[1]);
    j->fd[0] = out[0];
    j->fd[1] = errp[0];
    fcntl(j->fd[0], F_SETFL, O_NONBLOCK);
    fcntl(j->fd[1], F_SETFL, O_NONBLOCK);
    j->blen[0] = j->blen[1] = 0;
    j->pid = pid;
    j->started = mono();
    j->started_t = time(NULL);
    d->running++;
    dlog(d, L_INFO, j, "started: rsyncd-lite run %s (pid %ld)", j->path, (long)pid);
    return;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    j->next = time(NULL) + d->retry_min;
}

/* Relays complete lines (and, at EOF, the rest) of one child pipe. */
static void relay(dctx *d, djob *j, int k)
{
    for (;;) {
        ssize_t r = read(j->fd[k], j->buf[k] + j->blen[k], sizeof(j->buf[k]) - 1 - j->blen[k]);
        if (r < 0 && errno == EINTR)
            continue;
        int eof = r == 0 || (r < 0 && errno != EAGAIN);
        if (r > 0)
            j->blen[k] += (size_t)r;
        char *s = j->buf[k];
        size_t len = j->blen[k];
        char *nl;
        while ((nl = memchr(s, '\n', len)) != NULL) {
            *nl = '\0';
            if (nl > s)
                dlog(d, k == 0 ? L_INFO : L_WARN, j, "%s", s);
            len -= (size_t)(nl + 1 - s);
            s = nl + 1;
        }
        if (len == sizeof(j->buf[k]) - 1 || (eof && len > 0)) {
            s[len] = '\0';
            dlog(d, k == 0 ? L_INFO : L_WARN, j, "%s", s);
            len = 0;
        }
        memmove(j->buf[k], s, len);
        j->blen[k] = len;
        if (eof) {
            close(j->fd[k]);
            j->fd[k] = -1;
            return;
        }
        if (r < 0)
            return; /* EAGAIN */
    }
}

static long backoff(const dctx *d, int fails)
{
    long b = d->retry_min;
    for (int i = 1; i < fails && b < d->retry_max; i++)
        b *= 2;
    return b < d->retry_max ? b : d->retry_max;
}

static void on_exit_status(dctx *d, djob *j, int status)
{
    /* the pipes may still hold the run's last lines: read what is there (a
     * process the run left behind could keep them open: do not wait for it) */
    for (int k = 0; k < 2; k++) {
        if (j->fd[k] < 0)
            continue;
        relay(d, j, k);
        if (j->fd[k] >= 0) {
            if (j->blen[k] > 0) {
                j->buf[k][j->blen[k]] = '\0';
                dlog(d, k == 0 ? L_INFO : L_WARN, j, "%s", j->buf[k]);
                j->blen[k] = 0;
            }
            close(j->fd[k]);
            j->fd[k] = -1;
        }
    }
    d->running--;
    j->pid = 0;
    time_t now = time(NULL);
    double secs = mono() - j->started;
    int transient = 0;
    char what[128];
    if (WIFEXITED(status)) {
        int c = WEXITSTATUS(status);
        const char *m = c == RSL_EXIT_OK            ? "success"
                        : c == RSL_EXIT_PARTIAL     ? "partial failure (see `rsyncd-lite status`)"
                        : c == RSL_EXIT_VANISHED    ? "partial: source files vanished"
                        : c == RSL_EXIT_SESSION     ? "session failure"
                        : c == RSL_EXIT_TIMEOUT     ? "timeout"
                        : c == RSL_EXIT_INTERRUPTED ? "interrupted"
                        : c == RSL_EXIT_LOCKED      ? "another run of this job holds the lock"
                        : c == RSL_EXIT_USAGE       ? "configuration error"
                                                    : "error";
        snprintf(what, sizeof(what), "exit %d (%s)", c, m);
        transient =
            c == RSL_EXIT_SESSION || c == RSL_EXIT_TIMEOUT || c == RSL_EXIT_INTERRUPTED || c == 127;
    } else {
        snprintf(what, sizeof(what), "killed by signal %d", WTERMSIG(status));
        transient = 1;
    }
    if (j->removed) {
        dlog(d, L_INFO, j, "finished: %s in %.1f s; job file removed: dropped", what, secs);
        return;
    }
    if (d->stopping) {
        dlog(d, L_INFO, j, "finished: %s in %.1f s (daemon stopping)", what, secs);
        return;
    }
    char t[64];
    if (transient) {
        j->fails++;
        long b = backoff(d, j->fails);
        j->next = now + b;
        fmt_time(t, sizeof(t), j->next);
        dlog(d, L_WARN, j, "finished: %s in %.1f s; failure %d in a row: retry in %lds (%s)", what,
             secs, j->fails, b, t);
        return;
    }
    j->fails = 0;
    if (!j->valid) {
        dlog(d, L_INFO, j, "finished: %s in %.1f s; job no longer scheduled", what, secs);
        return;
    }
    if (j->sched.kind == RSL_SCHED_EVERY) {
        j->next = j->started_t + j->sched.every_sec;
        if (j->next < now)
            j->next = now;
    } else {
        j->next = rsl_schedule_next(&j->sched, now);
    }
    fmt_time(t, sizeof(t), j->next);
    dlog(d, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? L_INFO : L_WARN, j,
         "finished: %s in %.1f s; next run %s", what, secs, t);
}

static void reap(dctx *d)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (size_t i = 0; i < d->n; i++) {
            djob *j = d->jobs[i];
            if (j->pid != pid)
                continue;
            on_exit_status(d, j, status);
            if (j->removed) {
                job_free(j);
                d->jobs[i] = d->jobs[--d->n];
            }
            break;
        }
    }
}

static int by_next(const void *a, const void *b)
{
    const djob *x = *(djob *const *)a, *y = *(djob *const *)b;
    return x->next < y->next ? -1 : x->next > y->next;
}

/* Starts the due jobs, oldest due first, within max_parallel. Returns the
 * milliseconds until the next launch (capped at 60 s). */
static int launch_due(dctx *d)
{
    time_t now = time(NULL);
    djob *due[1024];
    size_t nd = 0;
    long wait_ms = 60000;
    for (size_t i = 0; i < d->n && nd < 1024; i++) {
        djob *j = d->jobs[i];
        if (!j->valid || j->removed || j->pid != 0)
            continue;
        if (j->next <= now)
            due[nd++] = j;
        else if ((j->next - now) * 1000 < wait_ms)
            wait_ms = (long)(j->next - now) * 1000;
    }
    if (nd > 1)
        qsort(due, nd, sizeof(*due), by_next);
    for (size_t i = 0; i < nd && d->running < d->max_parallel; i++)
        spawn(d, due[i]);
    /* what is left waits for a slot: SIGCHLD wakes us */
    /* next is a whole second: wake just after it turns */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (wait_ms < 60000)
        wait_ms = wait_ms - ts.tv_nsec / 1000000 + 5;
    return wait_ms < 5 ? 5 : (int)wait_ms;
}

/* Waits for child output or a signal, up to timeout_ms. Returns the signal
 * received (0 if none). */
static int wait_events(dctx *d, int timeout_ms)
{
    struct pollfd pf[1 + 2 * 1024];
    djob *owner[1 + 2 * 1024];
    int which[1 + 2 * 1024];
    nfds_t n = 0;
    pf[n].fd = d->sfd;
    pf[n].events = POLLIN;
    owner[n] = NULL;
    which[n++] = 0;
    for (size_t i = 0; i < d->n && n < 2 * 1024; i++)
        for (int k = 0; k < 2; k++)
            if (d->jobs[i]->fd[k] >= 0) {
                pf[n].fd = d->jobs[i]->fd[k];
                pf[n].events = POLLIN;
                owner[n] = d->jobs[i];
                which[n++] = k;
            }
    int r = poll(pf, n, timeout_ms);
    if (r <= 0)
        return 0;
    for (nfds_t i = 1; i < n; i++)
        if (pf[i].revents && owner[i]->fd[which[i]] >= 0)
            relay(d, owner[i], which[i]);
    int sig = 0;
    if (pf[0].revents & POLLIN) {
        struct signalfd_siginfo si;
        while (read(d->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            if (si.ssi_signo == SIGCHLD)
                reap(d);
            else
                sig = (int)si.ssi_signo == SIGTERM || (int)si.ssi_signo == SIGINT || sig == 0
                          ? (int)si.ssi_signo
                          : sig;
        }
    }
    return sig;
}

static void open_log(dctx *d)
{
    if (d->log_path == NULL)
        return;
    FILE *f = fopen(d->log_path, "ae");
    if (f == NULL) {
        dlog(d, L_ERROR, NULL, "cannot open log file %s: %s; logging to stderr", d->log_path,
             strerror(errno));
        return;
    }
    if (d->log)
        fclose(d->log);
    d->log = f;
}

static void shutdown_children(dctx *d, int sig)
{
    d->stopping = 1;
    dlog(d, L_INFO, NULL, "%s: stopping; %d run(s) in progress", strsignal(sig), d->running);
    for (size_t i = 0; i < d->n; i++)
        if (d->jobs[i]->pid > 0) {
            dlog(d, L_INFO, d->jobs[i],
                 "sending SIGTERM to pid %ld (it checkpoints its file in "
                 "flight)",
                 (long)d->jobs[i]->pid);
            kill(d->jobs[i]->pid, SIGTERM);
        }
    double deadline = mono() + (double)d->stop_timeout;
    while (d->running > 0 && mono() < deadline) {
        int ms = (int)((deadline - mono()) * 1000) + 1;
        int s = wait_events(d, ms > 1000 ? 1000 : ms);
        if (s == SIGTERM || s == SIGINT)
            dlog(d, L_INFO, NULL, "already stopping; waiting for %d run(s)", d->running);
    }
    for (size_t i = 0; i < d->n; i++)
        if (d->jobs[i]->pid > 0) {
            dlog(d, L_WARN, d->jobs[i], "still running after %lds: SIGKILL", d->stop_timeout);
            kill(-d->jobs[i]->pid, SIGKILL);
            kill(d->jobs[i]->pid, SIGKILL);
        }
    while (d->running > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0)
            break;
        for (size_t i = 0; i < d->n; i++)
            if (d->jobs[i]->pid == pid)
                on_exit_status(d, d->jobs[i], status);
    }
    dlog(d, L_INFO, NULL, "stopped");
}

static const char daemon_usage[] =
    "usage: rsyncd-lite daemon JOBDIR [--log-file FILE] [--max-parallel-jobs N]\n"
    "                          [--stop-timeout SECS]\n"
    "  Runs every JOBDIR/*.conf on its `schedule` (cron: \"*/15 * * * *\", or \"every 15m\")\n"
    "  in the foreground, each as `rsyncd-lite run JOB.conf`, never a job over itself.\n"
    "  --log-file FILE        log there instead of stderr (reopened on SIGHUP)\n"
    "  --max-parallel-jobs N  at most N runs at once (default 2)\n"
    "  --stop-timeout SECS    on SIGTERM, wait this long for runs to checkpoint before\n"
    "                         SIGKILL (default 30)\n"
    "  JOBDIR/daemon.conf (optional): max_parallel_jobs, log_file, stop_timeout,\n"
    "  retry_min (default 30s), retry_max (default 1h): backoff after a session failure.\n"
    "  Signals: SIGHUP reloads JOBDIR; SIGTERM/SIGINT stop (runs are checkpointed), exit 0.\n";

int rsl_cmd_daemon(int argc, char **argv)
{
    dctx d;
    memset(&d, 0, sizeof(d));
    d.sfd = -1;
    d.max_parallel = -1;
    d.stop_timeout = -1;
    d.retry_min = 30;
    d.retry_max = 3600;
    const char *dir = NULL;
    long cli_parallel = -1, cli_stop = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(daemon_usage, stdout);
            return 0;
        } else if (strcmp(a, "--log-file") == 0 && i + 1 < argc) {
            d.log_path = argv[++i];
        } else if (strcmp(a, "--max-parallel-jobs") == 0 && i + 1 < argc) {
            if (parse_long(argv[++i], 1, 256, &cli_parallel) != 0)
                goto usage;
        } else if (strcmp(a, "--stop-timeout") == 0 && i + 1 < argc) {
            if ((cli_stop = rsl_config_parse_duration(argv[++i])) < 1)
                goto usage;
        } else if (a[0] != '-' && dir == NULL) {
            dir = a;
        } else {
            goto usage;
        }
    }
    if (dir == NULL)
        goto usage;
    if (realpath(dir, d.dir) == NULL) {
        fprintf(stderr, "rsyncd-lite daemon: job directory '%s': %s\n", dir, strerror(errno));
        return RSL_EXIT_USAGE;
    }
    /* RSYNCD_LITE_EXE: the program started for each run (a wrapper that
     * adds nice/ionice, or a test double); by default this very binary */
    const char *exe_env = getenv("RSYNCD_LITE_EXE");
    if (exe_env && *exe_env) {
        snprintf(d.exe, sizeof(d.exe), "%s", exe_env);
    } else {
        ssize_t el = readlink("/proc/self/exe", d.exe, sizeof(d.exe) - 1);
        if (el <= 0) {
            fprintf(stderr, "rsyncd-lite daemon: cannot find my own binary: %s\n", strerror(errno));
            return RSL_EXIT_USAGE;
        }
        d.exe[el] = '\0';
    }
    if (load_daemon_conf(&d) != 0)
        return RSL_EXIT_USAGE;
    if (cli_parallel > 0)
        d.max_parallel = cli_parallel;
    if (cli_stop > 0)
        d.stop_timeout = cli_stop;
    if (d.max_parallel < 1)
        d.max_parallel = 2;
    if (d.stop_timeout < 1)
        d.stop_timeout = 30;
    if (d.retry_max < d.retry_min)
        d.retry_max = d.retry_min;
    open_log(&d);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, &d.oldmask);
    signal(SIGPIPE, SIG_IGN);
    d.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (d.sfd < 0) {
        dlog(&d, L_ERROR, NULL, "signalfd: %s", strerror(errno));
        return RSL_EXIT_SESSION;
    }
    dlog(&d, L_INFO, NULL,
         "rsyncd-lite %s daemon: pid %ld, jobs in %s, max_parallel_jobs %ld, stop_timeout %lds, "
         "retry backoff %lds..%lds, runs %s",
         RSL_VERSION, (long)getpid(), d.dir, d.max_parallel, d.stop_timeout, d.retry_min,
         d.retry_max, d.exe);
    load_dir(&d, time(NULL));
    int sig = 0;
    for (;;) {
        int ms = launch_due(&d);
        sig = wait_events(&d, ms);
        if (sig == SIGHUP) {
            dlog(&d, L_INFO, NULL, "SIGHUP: reloading %s", d.dir);
            open_log(&d);
            load_dir(&d, time(NULL));
        } else if (sig == SIGTERM || sig == SIGINT) {
            break;
        }
    }
    shutdown_children(&d, sig);
    for (size_t i = 0; i < d.n; i++)
        job_free(d.jobs[i]);
    free(d.jobs);
    close(d.sfd);
    if (d.log)
        fclose(d.log);
    return 0;
usage:
    fputs(daemon_usage, stderr);
    return RSL_EXIT_USAGE;
}
