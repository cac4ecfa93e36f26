/* The daemon and RSYNCD_LITE_PASSWORD (issue 10.16): the daemon takes the
 * password out of its environment at start-up (the bytes too), hands it to
 * each run through a pipe named by RSYNCD_LITE_PASSWORD_FD (never in a
 * child's environment or argv), and the runs it starts are not dumpable. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define SECRET "Daemon-Pw-51c0ffee"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts `rsyncd-lite daemon jobdir --log-file logpath` with the password in
 * its environment; as `nobody` when the tests run as root (so that the
 * kernel's marks of a non-dumpable process can be seen), RSYNCD_LITE_EXE =
 * exe when given. */
static pid_t start(const char *jobdir, const char *logpath, const char *exe)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        setenv("RSYNCD_LITE_PASSWORD", SECRET, 1);
        if (exe)
            setenv("RSYNCD_LITE_EXE", exe, 1);
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(126);
        execl(rslt_bin(), rslt_bin(), "daemon", jobdir, "--log-file", logpath, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    double end = now_s() + 30;
    int st;
    while (now_s() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* /proc/PID/what with NULs as newlines; NULL if unreadable. */
static char *proc_read(long pid, const char *what)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%ld/%s", pid, what);
    size_t len = 0;
    char *t = rslt_read(p, &len);
    for (size_t i = 0; t && i < len; i++)
        if (t[i] == '\0')
            t[i] = '\n';
    return t;
}

/* Waits for needle in the file at path; returns the text (caller frees). */
static char *wait_for(const char *path, const char *needle, double secs)
{
    double end = now_s() + secs;
    for (;;) {
        char *t = rslt_read(path, NULL);
        if (t && strstr(t, needle))
            return t;
        if (now_s() > end)
            cr_assert_fail("timed out waiting for '%s' in %s:\n%s", needle, path, t ? t : "");
        free(t);
        usleep(50000);
    }
}

/* A directory tree nobody (65534) may use when the tests run as root. */
static char *tree(const char *tag)
{
    char *d = rslt_tmpdir(tag);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p '%s/jobs' '%s/src' '%s/dst'", d, d, d), 0);
    return d;
}

static void give_away(const char *d)
{
    if (geteuid() == 0)
        cr_assert_eq(rslt_sh(NULL, NULL, "chmod 755 '%s' && chown -R 65534:65534 '%s'", d, d), 0);
}

Test(daemon_secrets, the_password_reaches_a_run_through_a_pipe_not_the_environment)
{
    char *d = tree("dsec-pipe");
    char p[8300], script[8300], exe[8300], logpath[8300];
    snprintf(exe, sizeof(exe), "%s/fake-run.sh", d);
    /* a stand-in for `rsyncd-lite run` that reports what it was given */
    snprintf(script, sizeof(script),
             "#!/bin/sh\n"
             "tr '\\000' '\\n' < /proc/$$/environ > %s/child.environ\n"
             "echo \"$*\" > %s/child.argv\n"
             "cat <&\"$RSYNCD_LITE_PASSWORD_FD\" > %s/child.password\n",
             d, d, d);
    rslt_write(exe, script);
    cr_assert_eq(chmod(exe, 0755), 0);
    snprintf(p, sizeof(p), "%s/jobs/j.conf", d);
    char job[9000];
    snprintf(job, sizeof(job),
             "[job]\nname = j\nsource = %s/src\ndestination = file://%s/dst\nstate = %s/j.db\n"
             "schedule = every 1h\n",
             d, d, d);
    rslt_write(p, job);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    give_away(d);
    snprintf(p, sizeof(p), "%s/jobs", d);
    pid_t pid = start(p, logpath, exe);
    free(wait_for(logpath, "] finished: exit 0", 10));
    char *daemon_env = proc_read(pid, "environ");
    stop(pid);

    snprintf(p, sizeof(p), "%s/child.password", d);
    char *pw = rslt_read(p, NULL);
    cr_assert_not_null(pw);
    cr_assert_str_eq(pw, SECRET, "the run reads the password from the pipe");
    free(pw);
    snprintf(p, sizeof(p), "%s/child.environ", d);
    char *env = rslt_read(p, NULL);
    cr_assert_not_null(env);
    cr_assert(strstr(env, SECRET) == NULL, "%s", env);
    cr_assert(strstr(env, "RSYNCD_LITE_PASSWORD=") == NULL, "%s", env);
    cr_assert(strstr(env, "RSYNCD_LITE_PASSWORD_FD=3\n") != NULL, "%s", env);
    free(env);
    snprintf(p, sizeof(p), "%s/child.argv", d);
    char *argv = rslt_read(p, NULL);
    cr_assert(strstr(argv, "run --quiet ") == argv && strstr(argv, SECRET) == NULL, "%s", argv);
    free(argv);
    /* the daemon's own environment: neither the variable nor its bytes */
    if (daemon_env != NULL) {
        cr_assert(strstr(daemon_env, SECRET) == NULL, "%s", daemon_env);
        cr_assert(strstr(daemon_env, "RSYNCD_LITE_PASSWORD=") == NULL, "%s", daemon_env);
    } else {
        cr_assert_neq(geteuid(), 0, "root can read any environ");
    }
    free(daemon_env);
    rslt_rmrf(d);
    free(d);
}

Test(daemon_secrets, a_run_started_by_the_daemon_has_no_password_in_environ_and_is_not_dumpable,
     .timeout = 60)
{
    char *d = tree("dsec-run");
    char p[8300], logpath[8300], jobdir[8300];
    snprintf(p, sizeof(p), "%s/src/big.bin", d);
    rslt_write_random(p, 6u << 20, 8);
    snprintf(p, sizeof(p), "%s/jobs/big.conf", d);
    char job[9000];
    snprintf(job, sizeof(job),
             "[job]\nname = big\nsource = %s/src\ndestination = file://%s/dst\nstate = %s/b.db\n"
             "schedule = every 1h\nbwlimit = 1M\n",
             d, d, d);
    rslt_write(p, job);
    snprintf(logpath, sizeof(logpath), "%s/daemon.log", d);
    snprintf(jobdir, sizeof(jobdir), "%s/jobs", d);
    give_away(d);
    pid_t pid = start(jobdir, logpath, NULL);
    char *log = wait_for(logpath, "] started: rsyncd-lite run ", 10);
    const char *at = strstr(log, "(pid ");
    cr_assert_not_null(at, "%s", log);
    long child = strtol(at + 5, NULL, 10);
    free(log);
    cr_assert_gt(child, 0);
    snprintf(p, sizeof(p), "%s/dst/big.bin.rsl-part", d);
    for (int i = 0; i < 1000 && rslt_size(p) < (1 << 20); i++)
        usleep(10000);
    cr_assert_geq(rslt_size(p), 1 << 20, "the run did not get going");

    char sp[64];
    snprintf(sp, sizeof(sp), "/proc/%ld/status", child);
    struct stat sb;
    cr_assert_eq(stat(sp, &sb), 0);
    char *status = proc_read(child, "status");
    const char *u = strstr(status, "\nUid:\t");
    cr_assert_not_null(u);
    long uid = strtol(u + 6, NULL, 10);
    free(status);
    cr_assert_neq(uid, 0);
    cr_assert_eq(sb.st_uid, 0, "the run is dumpable: /proc/%ld/status owned by uid %ld", child,
                 (long)sb.st_uid);
    char *limits = proc_read(child, "limits");
    cr_assert(strstr(limits, "Max core file size        0                    0 ") != NULL, "%s",
              limits);
    free(limits);
    char *env = proc_read(child, "environ");
    if (geteuid() == 0) {
        cr_assert_not_null(env);
        cr_assert(strstr(env, SECRET) == NULL, "%s", env);
        cr_assert(strstr(env, "RSYNCD_LITE_PASSWORD=") == NULL, "%s", env);
        /* only the number of the pipe it read (and closed) at start-up */
        cr_assert(strstr(env, "RSYNCD_LITE_PASSWORD_FD=3\n") != NULL, "%s", env);
    } else {
        cr_assert_null(env, "a non-dumpable run's environ is not readable by its user");
    }
    free(env);
    stop(pid);
    rslt_rmrf(d);
    free(d);
}
