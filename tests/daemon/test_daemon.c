/* End-to-end tests for `rsyncd-lite daemon JOBDIR`: two scheduled jobs run,
 * broken and unscheduled files are skipped, SIGHUP picks up an edited, an
 * added and a removed job, a transient failure backs off, concurrency is
 * bounded, and SIGTERM mid-transfer checkpoints the run (recorded
 * "interrupted", temp file kept) and exits 0; the next `run` resumes. A run
 * bounded by max_run_time stops itself and the next one resumes on schedule;
 * one stuck past it is SIGTERMed, then SIGKILLed, and the schedule goes on. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "state/state.h"
#include "tests/support/harness.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_job(const char *dir, const char *file, const char *name, const char *src,
                      const char *dst, const char *state, const char *extra)
{
    char p[8300];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f, "[job]\nname = %s\nsource = %s\ndestination = file://%s\nstate = %s\n%s", name, src,
            dst, state, extra ? extra : "");
    fclose(f);
}

/* Starts the daemon; its log goes to logpath. */
static pid_t start_daemon(const char *jobdir, const char *logpath, const char *more)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* dies with the test process, even when an assertion ends it early */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        char *argv[12];
        int n = 0;
        argv[n++] = (char *)rslt_bin();
        argv[n++] = (char *)"daemon";
        argv[n++] = (char *)jobdir;
        argv[n++] = (char *)"--log-file";
        argv[n++] = (char *)logpath;
        if (more) {
            argv[n++] = (char *)"--max-parallel-jobs";
            argv[n++] = (char *)more;
        }
        argv[n] = NULL;
        execv(rslt_bin(), argv);
        _exit(127);
    }
    return pid;
}

/* The latest run of a state db (id 0 if none). */
/* Run `id` of the state db (0: the last one); id 0 when unreadable. */
static rsl_run_record run_of(const char *state, int64_t id)
{
    rsl_run_record r;
    memset(&r, 0, sizeof(r));
    rsl_state *st = NULL;
    rsl_err e;
    if (access(state, F_OK) == 0 && rsl_state_open(&st, state, RSL_STATE_READONLY, &e) == RSL_OK) {
        if (rsl_state_run_get(st, id, &r, &e) <= 0)
            r.id = 0;
        rsl_state_close(st);
    }
    return r;
}

static rsl_run_record last_run(const char *state)
{
    return run_of(state, 0);
}

/* The daemon log holds needle. */
static int log_has(const char *logpath, const char *needle)
{
    char *t = rslt_read(logpath, NULL);
    int r = t && strstr(t, needle) != NULL;
    free(t);
    return r;
}

static int64_t runs_of(const char *state)
{
    return last_run(state).id;
}

/* Waits for the daemon to exit within `secs`; returns its wait status or -1. */
static int wait_exit(pid_t pid, double secs)
{
    double end = now_s() + secs;
    int st;
    while (now_s() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        usleep(20000);
    }
    return -1;
}

/* A process exists and is not a zombie. */
static int alive(long pid)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
    char *t = rslt_read(p, NULL);
    if (t == NULL)
        return 0;
    const char *rp = strrchr(t, ')');
    int r = rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
    free(t);
    return r;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    if (wait_exit(pid, 40) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

#define WAIT_FOR(cond, secs, what)                                                                 \
    do {                                                                                           \
        double end_ = now_s() + (secs);                                                            \
        while (!(cond) && now_s() < end_)                                                          \
            usleep(50000);                                                                         \
        if (!(cond)) {                                                                             \
            char *log_ = rslt_read(logpath, NULL);                                                 \
            cr_assert_fail("timed out waiting for %s; daemon log:\n%s", what, log_ ? log_ : "");   \
        }                                                                                          \
    } while (0)

Test(daemon, runs_jobs_skips_broken_and_reloads_on_sighup)
{
    char *d = rslt_tmpdir("daemon");
    char jobs[4096], src[4096], p[8300], logpath[4096];
    char dA[4096], dA2[4096], dB[4096], dC[4096], sA[4096], sB[4096], sC[4096], sN[4096];
    snprintf(jobs, sizeof(jobs), "%s/jobs", d);
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    snprintf(dA, sizeof(dA), "%s/dA", d);
    snprintf(dA2, sizeof(dA2), "%s/dA2", d);
    snprintf(dB, sizeof(dB), "%s/dB", d);
    snprintf(dC, sizeof(dC), "%s/dC", d);
    snprintf(sA, sizeof(sA), "%s/a.db", d);
    snprintf(sB, sizeof(sB), "%s/b.db", d);
    snprintf(sC, sizeof(sC), "%s/c.db", d);
    snprintf(sN, sizeof(sN), "%s/n.db", d);
    snprintf(p, sizeof(p), "%s/file.txt", src);
    rslt_write(p, "payload\n");
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s %s %s %s %s", jobs, dA, dA2, dB, dC), 0);
    write_job(jobs, "a.conf", "a", src, dA, sA, "schedule = every 1s\n");
    write_job(jobs, "b.conf", "b", src, dB, sB, "schedule = every 2s\n");
    write_job(jobs, "manual.conf", "manual", src, dB, sN, ""); /* no schedule */
    snprintf(p, sizeof(p), "%s/broken.conf", jobs);
    rslt_write(p, "[job]\nname = broken\nthis is not a key\n");
    snprintf(p, sizeof(p), "%s/badsched.conf", jobs);
    rslt_write(p, "[job]\nname = bs\nsource = /tmp\ndestination = file:///tmp\n"
                  "schedule = */5 25 * * *\n");

    pid_t pid = start_daemon(jobs, logpath, NULL);
    WAIT_FOR(runs_of(sA) >= 2 && runs_of(sB) >= 1, 10, "a to run twice and b once");
    snprintf(p, sizeof(p), "%s/file.txt", dA);
    cr_assert(rslt_exists(p));
    snprintf(p, sizeof(p), "%s/file.txt", dB);
    cr_assert(rslt_exists(p));
    cr_assert_eq(runs_of(sN), 0, "a job without a schedule must not run");
    char *log = rslt_read(logpath, NULL);
    cr_assert(strstr(log, "broken.conf:3") != NULL, "broken file not reported:\n%s", log);
    cr_assert(strstr(log, "hour field '25'") != NULL, "bad schedule not reported:\n%s", log);
    cr_assert(strstr(log, "manual.conf has no schedule: ignored") != NULL, "%s", log);
    cr_assert(strstr(log, "INFO  [a#1] started: rsyncd-lite run") != NULL, "%s", log);
    cr_assert(strstr(log, "[a#1] finished: exit 0 (success)") != NULL, "%s", log);
    free(log);

    /* edit a (new destination), add c, remove b; SIGHUP */
    write_job(jobs, "a.conf", "a", src, dA2, sA, "schedule = every 1s\n");
    write_job(jobs, "c.conf", "c", src, dC, sC, "schedule = every 1s\n");
    snprintf(p, sizeof(p), "%s/b.conf", jobs);
    unlink(p);
    cr_assert_eq(kill(pid, SIGHUP), 0);
    WAIT_FOR(log_has(logpath, "a.conf changed: reloading"), 5, "the reload");
    /* The same state db still lists file.txt as sent, so a new file shows
     * where a's runs now go. */
    snprintf(p, sizeof(p), "%s/new.txt", src);
    rslt_write(p, "after the reload\n");
    snprintf(p, sizeof(p), "%s/new.txt", dA2);
    WAIT_FOR(rslt_exists(p), 10, "a to use its new destination");
    snprintf(p, sizeof(p), "%s/file.txt", dC);
    WAIT_FOR(rslt_exists(p), 10, "the added job c to run");
    /* b is gone: at most one run already in flight at the reload; c runs twice meanwhile */
    WAIT_FOR(log_has(logpath, "b.conf removed"), 5, "b's removal");
    int64_t b_after = runs_of(sB);
    WAIT_FOR(runs_of(sC) >= 3, 10, "c to run three times");
    cr_assert_leq(runs_of(sB), b_after + 1, "removed job b still runs");
    log = rslt_read(logpath, NULL);
    cr_assert(strstr(log, "SIGHUP: reloading") != NULL);
    cr_assert(strstr(log, "a.conf changed: reloading") != NULL, "%s", log);
    free(log);

    kill(pid, SIGTERM);
    int st = wait_exit(pid, 10);
    cr_assert_neq(st, -1, "daemon did not stop");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    rslt_rmrf(d);
    free(d);
}

Test(daemon, sigterm_mid_transfer_checkpoints_and_the_next_run_resumes)
{
    char *d = rslt_tmpdir("daemon-term");
    char jobs[4096], src[4096], dst[4096], state[4096], p[8300], logpath[4096], tmp[8300];
    snprintf(jobs, sizeof(jobs), "%s/jobs", d);
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(dst, sizeof(dst), "%s/dst", d);
    snprintf(state, sizeof(state), "%s/big.db", d);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s %s", jobs, dst), 0);
    const uint64_t size = 8u << 20;
    snprintf(p, sizeof(p), "%s/big.bin", src);
    rslt_write_random(p, size, 42);
    write_job(jobs, "big.conf", "big", src, dst, state, "schedule = every 1s\nbwlimit = 1M\n");
    snprintf(tmp, sizeof(tmp), "%s/big.bin.rsl-part", dst);

    pid_t pid = start_daemon(jobs, logpath, NULL);
    WAIT_FOR(rslt_size(tmp) >= 1 << 20, 15, "the upload to be under way");
    double t0 = now_s();
    cr_assert_eq(kill(pid, SIGTERM), 0);
    int st = wait_exit(pid, 30);
    double took = now_s() - t0;
    cr_assert_neq(st, -1, "daemon did not exit within the bound");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon status %d", st);
    cr_assert_lt(took, 5.0, "SIGTERM took %.1f s", took);

    rsl_run_record r = last_run(state);
    cr_assert_eq(r.id, 1);
    cr_assert_str_eq(r.outcome, "interrupted");
    long long part = rslt_size(tmp);
    cr_assert_gt(part, 0, "the temp file must be kept for resume");
    cr_assert_lt(part, (long long)size);
    snprintf(p, sizeof(p), "%s/big.bin", dst);
    cr_assert(!rslt_exists(p), "nothing partial under the final name");
    char *log = rslt_read(logpath, NULL);
    cr_assert(strstr(log, "sending SIGTERM to pid") != NULL, "%s", log);
    cr_assert(strstr(log, "[big#1] finished: exit 20 (interrupted) in ") != NULL, "%s", log);
    cr_assert(strstr(log, "(daemon stopping)") != NULL, "no retry is planned while stopping:\n%s",
              log);
    cr_assert(strstr(log, "[daemon] stopped") != NULL, "%s", log);
    free(log);

    /* the next run (no bwlimit) resumes: fewer bytes sent than the file */
    write_job(jobs, "big.conf", "big", src, dst, state, "");
    snprintf(p, sizeof(p), "%s/big.conf", jobs);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), p), 0);
    r = last_run(state);
    cr_assert_str_eq(r.outcome, "success");
    cr_assert_gt(r.counts.transferred_bytes, 0);
    cr_assert_lt(r.counts.transferred_bytes, (int64_t)size - part + (1 << 20),
                 "sent %lld of %llu with %lld already there", (long long)r.counts.transferred_bytes,
                 (unsigned long long)size, part);
    cr_assert_lt(r.counts.transferred_bytes, (int64_t)size);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp %s/big.bin %s/big.bin", src, dst), 0);
    rslt_rmrf(d);
    free(d);
}

Test(daemon, transient_failure_backs_off)
{
    char *d = rslt_tmpdir("daemon-backoff");
    char jobs[4096], src[4096], state[4096], p[8300], logpath[4096], missing[4096];
    snprintf(jobs, sizeof(jobs), "%s/jobs", d);
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(state, sizeof(state), "%s/f.db", d);
    snprintf(missing, sizeof(missing), "%s/no-such-root", d);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    snprintf(p, sizeof(p), "%s/x", src);
    rslt_write(p, "x");
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s", jobs), 0);
    write_job(jobs, "f.conf", "f", src, missing, state, "schedule = every 1s\n");
    snprintf(p, sizeof(p), "%s/daemon.conf", jobs);
    rslt_write(p, "# backoff for this test\nretry_min = 2s\nretry_max = 4s\n");
    pid_t pid = start_daemon(jobs, logpath, NULL);
    /* 1 s schedule, but retries at +2 s, then +4 s: about 3 launches in 6.5 s, not 7 */
    WAIT_FOR(log_has(logpath, "failure 2 in a row: retry in 4s"), 10, "the second backoff");
    usleep(500000);
    stop(pid);
    char *log = rslt_read(logpath, NULL);
    cr_assert(strstr(log, "[f#1] finished: exit 5 (session failure)") != NULL, "%s", log);
    cr_assert(strstr(log, "failure 1 in a row: retry in 2s") != NULL, "%s", log);
    cr_assert(strstr(log, "REMOTE_ROOT_MISSING") != NULL, "the run's error is relayed:\n%s", log);
    cr_assert_eq(rslt_count(log, "] started: "), 2, "%s", log);
    free(log);
    rslt_rmrf(d);
    free(d);
}

Test(daemon, max_parallel_jobs_bounds_concurrency)
{
    char *d = rslt_tmpdir("daemon-par");
    char jobs[4096], p[8300], logpath[4096];
    snprintf(jobs, sizeof(jobs), "%s/jobs", d);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s", jobs), 0);
    const char *names[3] = {"p1", "p2", "p3"};
    char states[3][4096];
    for (int i = 0; i < 3; i++) {
        char src[4096], dst[4096];
        snprintf(src, sizeof(src), "%s/src%d", d, i);
        snprintf(dst, sizeof(dst), "%s/dst%d", d, i);
        snprintf(states[i], sizeof(states[i]), "%s/%s.db", d, names[i]);
        snprintf(p, sizeof(p), "%s/f.bin", src);
        rslt_write_random(p, 300 * 1024, (unsigned)i);
        cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s", dst), 0);
        char file[64];
        snprintf(file, sizeof(file), "%s.conf", names[i]);
        write_job(jobs, file, names[i], src, dst, states[i], "schedule = every 1s\nbwlimit = 1M\n");
    }
    pid_t pid = start_daemon(jobs, logpath, "1");
    WAIT_FOR(runs_of(states[0]) >= 1 && runs_of(states[1]) >= 1 && runs_of(states[2]) >= 1, 15,
             "all three jobs to run");
    stop(pid);
    /* replay the log: never more than one run at a time */
    char *log = rslt_read(logpath, NULL);
    int running = 0, peak = 0;
    for (char *l = log; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = '\0';
        if (strstr(l, "] started: "))
            running++;
        if (strstr(l, "] finished: "))
            running--;
        if (running > peak)
            peak = running;
        l = nl ? nl + 1 : NULL;
    }
    cr_assert_eq(peak, 1, "peak concurrency %d with --max-parallel-jobs 1", peak);
    free(log);
    rslt_rmrf(d);
    free(d);
}

/* Moves every recorded run of a state db `days` into the past. */
static void age_runs(const char *state, int days)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(state, &db), SQLITE_OK);
    char sql[128];
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET started_ms = started_ms - %lld, ended_ms = "
             "ended_ms - %lld;",
             (long long)days * 86400000LL, (long long)days * 86400000LL);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

Test(daemon, missed_cron_run_is_made_up_and_shared_state_is_flagged)
{
    char *d = rslt_tmpdir("daemon-missed");
    char jobs[4096], src[4096], dst[4096], sy[4096], sf[4096], p[8300], logpath[4096];
    snprintf(jobs, sizeof(jobs), "%s/jobs", d);
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(dst, sizeof(dst), "%s/dst", d);
    snprintf(sy, sizeof(sy), "%s/y.db", d);
    snprintf(sf, sizeof(sf), "%s/fresh.db", d);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    snprintf(p, sizeof(p), "%s/f.txt", src);
    rslt_write(p, "f");
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s %s", jobs, dst), 0);
    /* yearly, on the 1st of January at 00:00 */
    write_job(jobs, "y.conf", "y", src, dst, sy, "schedule = 0 0 1 1 *\n");
    write_job(jobs, "fresh.conf", "fresh", src, dst, sf, "schedule = @yearly\n");
    snprintf(p, sizeof(p), "%s/y.conf", jobs);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), p), 0);
    age_runs(sy, 400); /* its last run is 400 days old: it missed a 1st of January */
    write_job(jobs, "dup.conf", "dup", src, dst, sy, "schedule = every 1h\n");

    pid_t pid = start_daemon(jobs, logpath, "1");
    WAIT_FOR(runs_of(sy) >= 2, 10, "the missed run of y to be made up");
    WAIT_FOR(log_has(logpath, "] finished: "), 10, "a run to finish");
    usleep(300000);
    stop(pid);
    char *log = rslt_read(logpath, NULL);
    cr_assert(strstr(log, "[y#0] missed its run of ") != NULL, "%s", log);
    cr_assert(strstr(log, "dup.conf uses the same state db as") != NULL ||
                  strstr(log, "y.conf uses the same state db as") != NULL,
              "%s", log);
    /* a job that never ran waits for its first 1st of January */
    cr_assert_eq(runs_of(sf), 0, "%s", log);
    cr_assert(strstr(log, "[fresh#1] started") == NULL, "%s", log);
    free(log);
    rslt_rmrf(d);
    free(d);
}

Test(daemon, sighup_reopens_the_log_file_for_logrotate)
{
    char *d = rslt_tmpdir("daemon-log");
    char jobs[4096], logpath[4096], rotated[8300];
    snprintf(jobs, sizeof(jobs), "%s/jobs", d);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    snprintf(rotated, sizeof(rotated), "%s.1", logpath);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s", jobs), 0);
    pid_t pid = start_daemon(jobs, logpath, NULL);
    WAIT_FOR(log_has(logpath, "0 scheduled job(s)"), 10, "the daemon to start");
    cr_assert_eq(rename(logpath, rotated), 0);
    cr_assert_eq(kill(pid, SIGHUP), 0);
    WAIT_FOR(log_has(logpath, "0 scheduled job(s)"), 10, "a new log file after SIGHUP");
    cr_assert(log_has(rotated, "SIGHUP: reloading"));
    kill(pid, SIGTERM);
    int st = wait_exit(pid, 10);
    cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert(log_has(logpath, "[daemon] stopped"));
    cr_assert(!log_has(rotated, "[daemon] stopped"));
    rslt_rmrf(d);
    free(d);
}

Test(daemon, a_run_that_ignores_sigterm_is_killed_after_the_stop_timeout)
{
    char *d = rslt_tmpdir("daemon-kill");
    char jobs[4096], logpath[4096], p[8300], fake[4096];
    snprintf(jobs, sizeof(jobs), "%s/jobs", d);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    snprintf(fake, sizeof(fake), "%s/stubborn.sh", d);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s %s/src %s/dst", jobs, d, d), 0);
    /* a stand-in for `rsyncd-lite run` that ignores SIGTERM */
    char script[8300];
    snprintf(script, sizeof(script),
             "#!/bin/sh\ntrap '' TERM\necho \"stubborn run $*\"\necho $$ > %s/pid\n"
             "sleep 60 &\necho $! > %s/spid\nwait\nsleep 60\n",
             d, d);
    rslt_write(fake, script);
    cr_assert_eq(rslt_sh(NULL, NULL, "chmod +x %s", fake), 0);
    snprintf(p, sizeof(p), "%s/src", d);
    char dst[4096], st[4096];
    snprintf(dst, sizeof(dst), "%s/dst", d);
    snprintf(st, sizeof(st), "%s/s.db", d);
    write_job(jobs, "s.conf", "s", p, dst, st, "schedule = every 1s\n");
    setenv("RSYNCD_LITE_EXE", fake, 1);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(rslt_bin(), rslt_bin(), "daemon", jobs, "--log-file", logpath, "--stop-timeout", "1",
              (char *)NULL);
        _exit(127);
    }
    unsetenv("RSYNCD_LITE_EXE");
    WAIT_FOR(log_has(logpath, "stubborn run run --quiet"), 10, "the stubborn run to start");
    double t0 = now_s();
    kill(pid, SIGTERM);
    int status = wait_exit(pid, 10);
    double took = now_s() - t0;
    cr_assert_neq(status, -1, "the daemon did not exit");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    cr_assert(took >= 0.9 && took < 4.0, "took %.1f s with --stop-timeout 1", took);
    char *log = rslt_read(logpath, NULL);
    cr_assert(strstr(log, "still running after 1s: SIGKILL") != NULL, "%s", log);
    cr_assert(strstr(log, "finished: killed by signal 9") != NULL, "%s", log);
    free(log);
    /* the whole process group went, the run's own child included */
    const char *files[] = {"pid", "spid"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof(p), "%s/%s", d, files[i]);
        char *t = rslt_read(p, NULL);
        cr_assert_not_null(t);
        long v = strtol(t, NULL, 10);
        free(t);
        cr_assert_gt(v, 1);
        WAIT_FOR(!alive(v), 3, files[i]);
    }
    rslt_rmrf(d);
    free(d);
}

Test(daemon, a_bad_daemon_conf_stops_with_its_line)
{
    char *d = rslt_tmpdir("daemon-conf");
    char p[8300];
    snprintf(p, sizeof(p), "%s/daemon.conf", d);
    rslt_write(p, "# settings\nretry_min = 5s ; five\nretry_max = later\n");
    char *err = NULL;
    int rc = rslt_sh(NULL, &err, "%s daemon %s", rslt_bin(), d);
    cr_assert_eq(rc, 1, "%s", err);
    cr_assert(strstr(err, "daemon.conf:3: retry_max: bad value 'later'") != NULL, "%s", err);
    free(err);
    rslt_rmrf(d);
    free(d);
}

/* A run stuck past its max_run_time (a stand-in that ignores SIGTERM, as a
 * run hung in a system call would): SIGTERM at max_run_time + the stop
 * timeout, SIGKILL as long again later, both logged; the job's next run
 * follows its schedule instead of waiting for ever or backing off. */
Test(daemon, a_run_that_overstays_max_run_time_is_killed_and_the_schedule_goes_on, .timeout = 60)
{
    char *d = rslt_tmpdir("daemon-overstay");
    char jobs[4096], logpath[4096], fake[4096], src[4096], dst[4096], st[4096];
    snprintf(jobs, sizeof(jobs), "%s/jobs", d);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    snprintf(fake, sizeof(fake), "%s/stuck.sh", d);
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(dst, sizeof(dst), "%s/dst", d);
    snprintf(st, sizeof(st), "%s/s.db", d);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s %s %s", jobs, src, dst), 0);
    char script[8300];
    snprintf(script, sizeof(script),
             "#!/bin/sh\ntrap '' TERM\necho \"stuck run $*\"\nsleep 60 &\nwait\nsleep 60\n");
    rslt_write(fake, script);
    cr_assert_eq(rslt_sh(NULL, NULL, "chmod +x %s", fake), 0);
    write_job(jobs, "s.conf", "s", src, dst, st, "schedule = every 1s\nmax_run_time = 1s\n");
    setenv("RSYNCD_LITE_EXE", fake, 1);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(rslt_bin(), rslt_bin(), "daemon", jobs, "--log-file", logpath, "--stop-timeout", "1",
              (char *)NULL);
        _exit(127);
    }
    unsetenv("RSYNCD_LITE_EXE");
    WAIT_FOR(log_has(logpath, "[s#2] started"), 15, "the next run after the kill");
    stop(pid);
    char *log = rslt_read(logpath, NULL);
    cr_assert(strstr(log, " s, past max_run_time = 1s + 1s: SIGTERM to pid ") != NULL, "%s", log);
    cr_assert(strstr(log, "[s#1] still running after ") != NULL, "%s", log);
    cr_assert(strstr(log, "[s#1] still running 1s after SIGTERM: SIGKILL") != NULL, "%s", log);
    cr_assert(strstr(log, "[s#1] finished: killed by signal 9, stopped for overstaying "
                          "max_run_time in ") != NULL,
              "%s", log);
    cr_assert(strstr(log, "retry in") == NULL, "no backoff:\n%s", log);
    free(log);
    rslt_rmrf(d);
    free(d);
}

/* The usual case: the run stops itself at max_run_time (exit 30, its file in
 * flight checkpointed), and the next run, on schedule, resumes it. */
Test(daemon, a_run_stops_at_max_run_time_and_the_next_one_resumes, .timeout = 90)
{
    char *d = rslt_tmpdir("daemon-bound");
    char jobs[4096], src[4096], dst[4096], state[4096], p[8300], logpath[4096];
    snprintf(jobs, sizeof(jobs), "%s/jobs", d);
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(dst, sizeof(dst), "%s/dst", d);
    snprintf(state, sizeof(state), "%s/big.db", d);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s %s", jobs, dst), 0);
    const uint64_t size = 6u << 20;
    snprintf(p, sizeof(p), "%s/big.bin", src);
    rslt_write_random(p, size, 43);
    write_job(jobs, "big.conf", "big", src, dst, state,
              "schedule = every 1s\nbwlimit = 2M\nmax_run_time = 1s\n");
    pid_t pid = start_daemon(jobs, logpath, NULL);
    /* run 2 (a later one may be cut short by the daemon's own stop) */
    WAIT_FOR(run_of(state, 2).id == 2 && strcmp(run_of(state, 2).outcome, "running") != 0, 20,
             "two runs");
    stop(pid);
    char *log = rslt_read(logpath, NULL);
    cr_assert(strstr(log, "[big#1] finished: exit 30 (timeout), max_run_time reached in ") != NULL,
              "%s", log);
    cr_assert(strstr(log, "retry in") == NULL, "the schedule goes on, no backoff:\n%s", log);
    free(log);
    rsl_run_record r = run_of(state, 2);
    cr_assert_str_eq(r.outcome, "interrupted");
    cr_assert_eq(r.code, RSL_E_RUN_TIME_EXCEEDED);
    cr_assert_gt(r.counts.transferred_bytes, 0);
    cr_assert_lt(r.counts.transferred_bytes, (int64_t)size, "run %lld resumed (sent %lld)",
                 (long long)r.id, (long long)r.counts.transferred_bytes);
    rslt_rmrf(d);
    free(d);
}
