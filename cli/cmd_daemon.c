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
 * max_run_time: a run stops itself there (it checkpoints, exit 30). One
 * still running stop_timeout seconds later is stuck: SIGTERM, and after
 * stop_timeout more SIGKILL to its process group, each logged; the job's
 * next run then follows its schedule (no backoff) and resumes.
 *
 * The parts: cli/daemon_conf.c (JOBDIR/daemon.conf), cli/daemon_jobs.c (the
 * job table), cli/daemon_proc.c (a child, its pipes), cli/daemon_log.c (the
 * log), engine/daemon_policy.c (when each job starts: pure). This file is
 * the event loop: the command line, the signalfd, launching due jobs,
 * reaping, shutting down.
 *
 * Owns: the event loop and the signalfd. Must not touch: the state db, the
 * network. Linux-only (signalfd, /proc/self/exe), like our systemd target.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/daemon_conf.h"
#include "cli/daemon_jobs.h"
#include "cli/daemon_log.h"
#include "cli/daemon_proc.h"
#include "cli/output.h"
#include "cli/secret_env.h"
#include "engine/daemon_policy.h"

typedef struct dctx {
    char dir[PATH_MAX];
    char exe[PATH_MAX];
    rsl_daemon_policy pol;
    long stop_timeout;
    rsl_daemon_log log;
    rsl_daemon_jobs jobs;
    int running;
    int stopping; /* SIGTERM received: no more launches or retries */
    int sfd;
    sigset_t oldmask;
} dctx;

/* The wall clock in whole seconds. Not time(): glibc's time() reads a
 * coarse clock that can still show the previous second a few milliseconds
 * after clock_gettime() has moved on, so a wake-up planned "just after the
 * second turns" found nothing due and slept another second. */
static time_t wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

typedef struct relay_ud {
    dctx *d;
    const rsl_daemon_job *j;
} relay_ud;

/* rsl_daemon_line_fn: a line of a run's output into the log. */
static void log_line(void *ud, int is_stderr, const char *line)
{
    relay_ud *r = ud;
    rsl_daemon_jobs_log(&r->d->log, is_stderr ? RSL_DLOG_WARN : RSL_DLOG_INFO, r->j, "%s", line);
}

static void relay(dctx *d, rsl_daemon_job *j, int k)
{
    relay_ud r = {d, j};
    rsl_daemon_proc_relay(&j->child, k, log_line, &r);
}

static void spawn(dctx *d, rsl_daemon_job *j)
{
    j->seq++;
    /* --quiet: the summary only when something failed; the daemon logs the
     * outcome itself */
    char *argv[] = {(char *)"rsyncd-lite", (char *)"run", (char *)"--quiet", j->path, NULL};
    const char *what = NULL;
    /* the password (if the daemon was given one) through a pipe, never in
     * the child's environment or argv */
    int pass_fd = rsl_secret_env_pipe();
    int rc = rsl_daemon_proc_spawn(&j->child, d->exe, argv, &d->oldmask, pass_fd, &what);
    if (pass_fd >= 0)
        close(pass_fd);
    if (rc != 0) {
        rsl_daemon_jobs_log(&d->log, RSL_DLOG_ERROR, j, "%s: %s", what, strerror(errno));
        rsl_daemon_policy_start_failed(&d->pol, &j->pol, wall_now());
        return;
    }
    rsl_daemon_policy_started(&j->pol, wall_now());
    d->running++;
    rsl_daemon_jobs_log(&d->log, RSL_DLOG_INFO, j, "started: rsyncd-lite run %s (pid %ld)", j->path,
                        (long)j->child.pid);
}

/* "exit 23 (partial failure ...)" or "killed by signal 9". */
static void describe_status(char *what, size_t n, int status)
{
    if (!WIFEXITED(status)) {
        snprintf(what, n, "killed by signal %d", WTERMSIG(status));
        return;
    }
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
    snprintf(what, n, "exit %d (%s)", c, m);
}

/* A run ended: relays its last lines, asks the policy what comes next and
 * logs it. Returns the policy's answer (RSL_DAEMON_DROP: free the job). */
static rsl_daemon_after on_exit_status(dctx *d, rsl_daemon_job *j, int status)
{
    relay_ud r = {d, j};
    rsl_daemon_proc_drain(&j->child, log_line, &r);
    j->child.pid = 0;
    d->running--;
    time_t now = wall_now();
    double secs = rsl_daemon_proc_mono() - j->child.started;
    char what[128], t[64];
    describe_status(what, sizeof(what), status);
    int exited = WIFEXITED(status), code = exited ? WEXITSTATUS(status) : 0;
    int bound = rsl_daemon_policy_hit_bound(&j->pol, exited, code, secs);
    int transient = rsl_daemon_policy_transient(exited, code) && !bound;
    if (bound) /* not a failure to back off from: the schedule goes on */
        snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s",
                 j->pol.overstay ? ", stopped for overstaying max_run_time"
                                 : ", max_run_time reached");
    rsl_daemon_after a = rsl_daemon_policy_finished(&d->pol, &j->pol, transient, d->stopping, now);
    rsl_daemon_log *l = &d->log;
    rsl_daemon_jobs_fmt_time(t, sizeof(t), j->pol.next);
    switch (a) {
    case RSL_DAEMON_DROP:
        rsl_daemon_jobs_log(l, RSL_DLOG_INFO, j,
                            "finished: %s in %.1f s; job file removed: dropped", what, secs);
        break;
    case RSL_DAEMON_STOPPING:
        rsl_daemon_jobs_log(l, RSL_DLOG_INFO, j, "finished: %s in %.1f s (daemon stopping)", what,
                            secs);
        break;
    case RSL_DAEMON_UNSCHEDULED:
        rsl_daemon_jobs_log(l, RSL_DLOG_INFO, j, "finished: %s in %.1f s; job no longer scheduled",
                            what, secs);
        break;
    case RSL_DAEMON_RETRY:
        rsl_daemon_jobs_log(l, RSL_DLOG_WARN, j,
                            "finished: %s in %.1f s; failure %d in a row: retry in %lds (%s)", what,
                            secs, j->pol.fails, (long)(j->pol.next - now), t);
        break;
    case RSL_DAEMON_NEXT:
        rsl_daemon_jobs_log(l, status == 0 ? RSL_DLOG_INFO : RSL_DLOG_WARN, j,
                            "finished: %s in %.1f s; next run %s", what, secs, t);
        break;
    }
    return a;
}

/* Reaps the children that exited: every one (block 0), or waits for one
 * (block 1). Returns 0, or -1 when no child is left. */
static int reap(dctx *d, int block)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
        if (pid < 0)
            return -1;
        if (pid == 0)
            return 0;
        size_t i;
        rsl_daemon_job *j = rsl_daemon_jobs_by_pid(&d->jobs, pid, &i);
        if (j != NULL && on_exit_status(d, j, status) == RSL_DAEMON_DROP)
            rsl_daemon_jobs_drop(&d->jobs, i);
        if (block)
            return 0;
    }
}

/* Starts the due jobs (engine/daemon_policy.h decides which). Returns the
 * milliseconds until the next start (capped at 60 s). */
static int launch_due(dctx *d)
{
    size_t n = d->jobs.n;
    rsl_daemon_sched **v = malloc((n ? n : 1) * sizeof(*v));
    size_t *pick = malloc((n ? n : 1) * sizeof(*pick));
    long wait_s = -1;
    size_t np = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (v != NULL && pick != NULL) {
        for (size_t i = 0; i < n; i++)
            v[i] = &d->jobs.v[i]->pol;
        np = rsl_daemon_policy_due(&d->pol, v, n, d->running, ts.tv_sec, pick, &wait_s);
    }
    for (size_t k = 0; k < np; k++)
        spawn(d, d->jobs.v[pick[k]]);
    free(v);
    free(pick);
    /* what is left waits for a slot: SIGCHLD wakes us. A start time is a
     * whole second: wake just after it turns. */
    if (wait_s < 0 || wait_s >= 60)
        return 60000;
    long ms = wait_s * 1000 - ts.tv_nsec / 1000000 + 5;
    return ms < 5 ? 5 : (int)ms;
}

/* Stops the runs that overstay their max_run_time (engine/daemon_policy.h
 * decides when). Returns the milliseconds until the next step is due, or
 * -1 when none is. */
static int check_overstays(dctx *d)
{
    double next = -1;
    for (size_t i = 0; i < d->jobs.n; i++) {
        rsl_daemon_job *j = d->jobs.v[i];
        if (j->child.pid <= 0)
            continue;
        double secs = rsl_daemon_proc_mono() - j->child.started, wait = -1;
        rsl_daemon_overstay o = rsl_daemon_policy_overstay(&j->pol, secs, d->stop_timeout, &wait);
        if (o == RSL_OVERSTAY_TERM) {
            rsl_daemon_jobs_log(&d->log, RSL_DLOG_WARN, j,
                                "still running after %.0f s, past max_run_time = %lds + %lds: "
                                "SIGTERM to pid %ld (it checkpoints its file in flight)",
                                secs, j->pol.run_bound, d->stop_timeout, (long)j->child.pid);
            kill(j->child.pid, SIGTERM);
        } else if (o == RSL_OVERSTAY_KILL) {
            rsl_daemon_jobs_log(&d->log, RSL_DLOG_WARN, j,
                                "still running %lds after SIGTERM: SIGKILL to pid %ld and its "
                                "process group",
                                d->stop_timeout, (long)j->child.pid);
            rsl_daemon_proc_kill(&j->child);
        }
        if (wait >= 0 && (next < 0 || wait < next))
            next = wait;
    }
    return next < 0 ? -1 : (int)(next * 1000) + 5;
}

/* The signal to act on from the signalfd (SIGCHLD reaps at once). */
static int read_signals(dctx *d)
{
    int sig = 0;
    struct signalfd_siginfo si;
    while (read(d->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int s = (int)si.ssi_signo;
        if (s == SIGCHLD)
            reap(d, 0);
        else if (s == SIGTERM || s == SIGINT || sig == 0)
            sig = s;
    }
    return sig;
}

/* Waits for child output or a signal, up to timeout_ms. Returns the signal
 * received (0 if none). */
static int wait_events(dctx *d, int timeout_ms)
{
    size_t cap = 1 + 2 * d->jobs.n;
    struct pollfd *pf = calloc(cap, sizeof(*pf));
    rsl_daemon_job **owner = calloc(cap, sizeof(*owner));
    int *which = calloc(cap, sizeof(*which));
    nfds_t n = 0;
    int sig = 0;
    if (pf == NULL || owner == NULL || which == NULL) {
        poll(NULL, 0, timeout_ms < 1000 ? timeout_ms : 1000);
        goto done;
    }
    pf[n++] = (struct pollfd){.fd = d->sfd, .events = POLLIN};
    for (size_t i = 0; i < d->jobs.n; i++)
        for (int k = 0; k < 2; k++)
            if (d->jobs.v[i]->child.fd[k] >= 0) {
                pf[n] = (struct pollfd){.fd = d->jobs.v[i]->child.fd[k], .events = POLLIN};
                owner[n] = d->jobs.v[i];
                which[n++] = k;
            }
    if (poll(pf, n, timeout_ms) <= 0)
        goto done;
    /* the output first: a reaped job may be dropped */
    for (nfds_t i = 1; i < n; i++)
        if (pf[i].revents && owner[i]->child.fd[which[i]] >= 0)
            relay(d, owner[i], which[i]);
    if (pf[0].revents & POLLIN)
        sig = read_signals(d);
done:
    free(pf);
    free(owner);
    free(which);
    return sig;
}

static void shutdown_children(dctx *d, int sig)
{
    d->stopping = 1;
    rsl_daemon_log_write(&d->log, RSL_DLOG_INFO, NULL, 0, "%s: stopping; %d run(s) in progress",
                         strsignal(sig), d->running);
    for (size_t i = 0; i < d->jobs.n; i++)
        if (d->jobs.v[i]->child.pid > 0) {
            rsl_daemon_jobs_log(&d->log, RSL_DLOG_INFO, d->jobs.v[i],
                                "sending SIGTERM to pid %ld (it checkpoints its file in flight)",
                                (long)d->jobs.v[i]->child.pid);
            kill(d->jobs.v[i]->child.pid, SIGTERM);
        }
    double deadline = rsl_daemon_proc_mono() + (double)d->stop_timeout;
    while (d->running > 0 && rsl_daemon_proc_mono() < deadline) {
        int ms = (int)((deadline - rsl_daemon_proc_mono()) * 1000) + 1;
        int s = wait_events(d, ms > 1000 ? 1000 : ms);
        if (s == SIGTERM || s == SIGINT)
            rsl_daemon_log_write(&d->log, RSL_DLOG_INFO, NULL, 0,
                                 "already stopping; waiting for %d run(s)", d->running);
    }
    for (size_t i = 0; i < d->jobs.n; i++)
        if (d->jobs.v[i]->child.pid > 0) {
            rsl_daemon_jobs_log(&d->log, RSL_DLOG_WARN, d->jobs.v[i],
                                "still running after %lds: SIGKILL", d->stop_timeout);
            rsl_daemon_proc_kill(&d->jobs.v[i]->child);
        }
    while (d->running > 0 && reap(d, 1) == 0)
        ;
    rsl_daemon_log_write(&d->log, RSL_DLOG_INFO, NULL, 0, "stopped");
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
    "  A run still going --stop-timeout after its job's max_run_time gets SIGTERM, then\n"
    "  SIGKILL after as long again; the job's next run follows its schedule.\n"
    "  Signals: SIGHUP reloads JOBDIR; SIGTERM/SIGINT stop (runs are checkpointed), exit 0.\n";

typedef struct daemon_args {
    const char *dir;
    const char *log_file; /* NULL: daemon.conf's, or stderr */
    long max_parallel;    /* -1: daemon.conf's, or 2 */
    long stop_timeout;    /* -1: daemon.conf's, or 30 */
} daemon_args;

/* Returns 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, daemon_args *a)
{
    *a = (daemon_args){.max_parallel = -1, .stop_timeout = -1};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        char *end = NULL;
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            fputs(daemon_usage, stdout);
            return 1;
        } else if (strcmp(s, "--log-file") == 0 && i + 1 < argc) {
            a->log_file = argv[++i];
        } else if (strcmp(s, "--max-parallel-jobs") == 0 && i + 1 < argc) {
            errno = 0;
            a->max_parallel = strtol(argv[++i], &end, 10);
            if (errno || end == argv[i] || *end || a->max_parallel < 1 || a->max_parallel > 256)
                return -1;
        } else if (strcmp(s, "--stop-timeout") == 0 && i + 1 < argc) {
            if ((a->stop_timeout = rsl_config_parse_duration(argv[++i])) < 1)
                return -1;
        } else if (s[0] != '-' && a->dir == NULL) {
            a->dir = s;
        } else {
            return -1;
        }
    }
    return a->dir == NULL ? -1 : 0;
}

/* The program started for each run: RSYNCD_LITE_EXE (a wrapper that adds
 * nice/ionice, or a test double), by default this very binary. */
static int find_exe(char *exe, size_t n)
{
    const char *env = getenv("RSYNCD_LITE_EXE");
    if (env && *env) {
        snprintf(exe, n, "%s", env);
        return 0;
    }
    ssize_t el = readlink("/proc/self/exe", exe, n - 1);
    if (el <= 0)
        return -1;
    exe[el] = '\0';
    return 0;
}

/* JOBDIR, the program, daemon.conf and the command line into d. Returns 0,
 * or an exit code after printing why. */
static int setup(dctx *d, const daemon_args *a)
{
    if (realpath(a->dir, d->dir) == NULL) {
        fprintf(stderr, "rsyncd-lite daemon: job directory '%s': %s\n", a->dir, strerror(errno));
        return RSL_EXIT_USAGE;
    }
    if (find_exe(d->exe, sizeof(d->exe)) != 0) {
        fprintf(stderr, "rsyncd-lite daemon: cannot find my own binary: %s\n", strerror(errno));
        return RSL_EXIT_USAGE;
    }
    static rsl_daemon_conf conf; /* holds the log path for the daemon's life */
    rsl_err err;
    if (rsl_daemon_conf_load(&conf, d->dir, &err) != RSL_OK) {
        rsl_out_line(stderr, "%s", err.msg);
        return RSL_EXIT_USAGE;
    }
    long par = a->max_parallel > 0 ? a->max_parallel : conf.max_parallel;
    long stop = a->stop_timeout > 0 ? a->stop_timeout : conf.stop_timeout;
    d->pol.max_parallel = par > 0 ? (int)par : 2;
    d->stop_timeout = stop > 0 ? stop : 30;
    d->pol.retry_min = conf.retry_min;
    d->pol.retry_max = conf.retry_max < conf.retry_min ? conf.retry_min : conf.retry_max;
    d->log.path = a->log_file ? a->log_file : conf.log_file[0] ? conf.log_file : NULL;
    return 0;
}

/* Blocks the signals the loop reads from a signalfd. Returns 0 or -1. */
static int open_signals(dctx *d)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, &d->oldmask);
    signal(SIGPIPE, SIG_IGN);
    d->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    return d->sfd < 0 ? -1 : 0;
}

/* Launches and waits until SIGTERM or SIGINT, which it returns. */
static int event_loop(dctx *d)
{
    rsl_daemon_jobs_reload(&d->jobs, d->dir, wall_now(), &d->log);
    for (;;) {
        int ms = launch_due(d), ov = check_overstays(d);
        int sig = wait_events(d, ov >= 0 && ov < ms ? ov : ms);
        if (sig == SIGHUP) {
            rsl_daemon_log_write(&d->log, RSL_DLOG_INFO, NULL, 0, "SIGHUP: reloading %s", d->dir);
            rsl_daemon_log_open(&d->log);
            rsl_daemon_jobs_reload(&d->jobs, d->dir, wall_now(), &d->log);
        } else if (sig == SIGTERM || sig == SIGINT) {
            return sig;
        }
    }
}

int rsl_cmd_daemon(int argc, char **argv)
{
    daemon_args a;
    int r = parse_args(argc, argv, &a);
    if (r != 0) {
        if (r < 0)
            fputs(daemon_usage, stderr);
        return r < 0 ? RSL_EXIT_USAGE : 0;
    }
    static dctx d; /* large: not on the stack */
    memset(&d, 0, sizeof(d));
    d.sfd = -1;
    int code = setup(&d, &a);
    if (code != 0)
        return code;
    rsl_daemon_log_open(&d.log);
    if (open_signals(&d) != 0) {
        rsl_daemon_log_write(&d.log, RSL_DLOG_ERROR, NULL, 0, "signalfd: %s", strerror(errno));
        rsl_daemon_log_close(&d.log);
        return RSL_EXIT_SESSION;
    }
    rsl_daemon_log_write(&d.log, RSL_DLOG_INFO, NULL, 0,
                         "rsyncd-lite %s daemon: pid %ld, jobs in %s, max_parallel_jobs %d, "
                         "stop_timeout %lds, retry backoff %lds..%lds, runs %s",
                         RSL_VERSION, (long)getpid(), d.dir, d.pol.max_parallel, d.stop_timeout,
                         d.pol.retry_min, d.pol.retry_max, d.exe);
    shutdown_children(&d, event_loop(&d));
    rsl_daemon_jobs_free(&d.jobs);
    close(d.sfd);
    rsl_daemon_log_close(&d.log);
    return 0;
}
