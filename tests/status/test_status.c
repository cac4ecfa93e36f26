/* End-to-end tests for `rsyncd-lite status JOB.conf|JOBDIR [--json]`: the
 * health of each job (Healthy, Pending, Error, Partial, No Activity, and an
 * invalid job file) over a directory, text and JSON. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

static void job(const char *d, const char *name, const char *dst, const char *extra)
{
    char p[8300];
    snprintf(p, sizeof(p), "%s/jobs/%s.conf", d, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "[job]\nname = %s\nsource = %s/src\ndestination = file://%s/%s\nstate = %s/%s.db\n%s",
            name, d, d, dst, d, name, extra);
    fclose(f);
}

static int run(const char *d, const char *name)
{
    return rslt_sh(NULL, NULL, "%s run %s/jobs/%s.conf", rslt_bin(), d, name);
}

/* The JSON line of job `name` in out (NULL if absent). Caller frees. */
static char *line_of(const char *out, const char *name)
{
    char key[128];
    snprintf(key, sizeof(key), "{\"type\":\"status\",\"job\":\"%s\"", name);
    const char *s = strstr(out, key);
    if (s == NULL)
        return NULL;
    const char *e = strchr(s, '\n');
    return strndup(s, e ? (size_t)(e - s) : strlen(s));
}

Test(status, health_per_job_over_a_directory)
{
    char *d = rslt_tmpdir("status");
    char p[8300];
    snprintf(p, sizeof(p), "%s/src/ok.txt", d);
    rslt_write(p, "fine");
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s/jobs %s/dst %s/dst2 %s/dst3", d, d, d, d), 0);
    job(d, "healthy", "dst", "schedule = every 1h\n");
    job(d, "pending", "dst", "schedule = */5 * * * *\n");
    job(d, "error", "missing-root", "schedule = every 1h\n");
    job(d, "partial", "dst2", "schedule = every 1h\n[remote]\nforbidden_chars = :\n");
    job(d, "stale", "dst3", "schedule = every 1s\n");
    snprintf(p, sizeof(p), "%s/jobs/zbroken.conf", d);
    rslt_write(p, "[job]\nname = zbroken\nnot a line\n");
    snprintf(p, sizeof(p), "%s/jobs/daemon.conf", d);
    rslt_write(p, "max_parallel_jobs = 1\n");
    cr_assert_eq(run(d, "healthy"), 0);
    cr_assert_eq(run(d, "error"), 5);
    cr_assert_eq(run(d, "stale"), 0);
    snprintf(p, sizeof(p), "%s/src/bad:name.txt", d);
    rslt_write(p, "colon");
    cr_assert_eq(run(d, "partial"), 23);
    /* "stale" ran once on a 1 s schedule: after more than 2 s it has No Activity */
    usleep(2300 * 1000);
    cr_assert_eq(run(d, "healthy"), 0);

    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s status %s/jobs", rslt_bin(), d);
    /* the worst job decides: Error (CRITICAL, 2) over Invalid (UNKNOWN, 3) */
    cr_assert_eq(rc, 2, "an Error job makes the exit 2 (CRITICAL):\n%s", out);
    cr_assert(strstr(out, "job healthy: Healthy\n") != NULL, "%s", out);
    cr_assert(strstr(out, "job pending: Pending\n") != NULL, "%s", out);
    cr_assert(strstr(out, "job error: Error\n") != NULL, "%s", out);
    cr_assert(strstr(out, "job partial: Partial\n") != NULL, "%s", out);
    cr_assert(strstr(out, "job stale: No Activity\n") != NULL, "%s", out);
    cr_assert(strstr(out, "zbroken.conf: Invalid") != NULL, "%s", out);
    cr_assert(strstr(out, "daemon.conf") == NULL, "daemon.conf is not a job:\n%s", out);
    cr_assert(strstr(out, "(no run for more than 2s means No Activity)") != NULL, "%s", out);
    cr_assert(strstr(out, "failing now: 1 item(s) (1 persistent, 0 transient)") != NULL, "%s", out);
    cr_assert(strstr(out, "bad:name.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "schedule every 1h, next run 20") != NULL, "%s", out);
    cr_assert(strstr(out, "schedule */5 * * * *, next run 20") != NULL, "%s", out);
    free(out);

    out = NULL;
    rslt_sh(&out, NULL, "%s status --json %s/jobs", rslt_bin(), d);
    const char *want[][2] = {{"healthy", "Healthy"},
                             {"pending", "Pending"},
                             {"error", "Error"},
                             {"partial", "Partial"},
                             {"stale", "No Activity"}};
    for (size_t i = 0; i < 5; i++) {
        char *l = line_of(out, want[i][0]);
        cr_assert_not_null(l, "no line for %s:\n%s", want[i][0], out);
        char h[64];
        snprintf(h, sizeof(h), "\"health\":\"%s\"", want[i][1]);
        cr_assert(strstr(l, h) != NULL, "%s", l);
        cr_assert(l[strlen(l) - 1] == '}', "one object per line: %s", l);
        free(l);
    }
    char *l = line_of(out, "healthy");
    cr_assert(
        strstr(l, "\"schedule\":\"every 1h\",\"schedule_interval_s\":3600,\"next_run\":\"20") !=
            NULL,
        "%s", l);
    free(l);
    l = line_of(out, "partial");
    cr_assert(strstr(l, "\"failing\":[{\"path\":\"bad:name.txt\"") != NULL, "%s", l);
    free(l);
    cr_assert(strstr(out, "\"health\":\"Invalid\"") != NULL, "%s", out);
    free(out);

    /* a single job file still works as before */
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s status %s/jobs/healthy.conf", rslt_bin(), d);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "job healthy: Healthy\n") != NULL, "%s", out);
    cr_assert(strstr(out, "last run 2 (normal): success") != NULL, "%s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
}

/* The exit code of `status` (plus its --json record) for one job file. */
static int status_of(const char *conf, char **json_line)
{
    int rc = rslt_sh(NULL, NULL, "%s status %s", rslt_bin(), conf);
    char *out = NULL;
    int jrc = rslt_sh(&out, NULL, "%s status --json %s", rslt_bin(), conf);
    cr_assert_eq(jrc, rc, "--json exits as the text does");
    *json_line = out;
    return rc;
}

/* Issue 11.6: the monitoring-plugin convention, per job and for a directory
 * (the worst job decides: CRITICAL > UNKNOWN > WARNING > OK). */
Test(status, exit_codes_follow_the_monitoring_plugin_convention)
{
    char *d = rslt_tmpdir("status-exit");
    char p[8300];
    snprintf(p, sizeof(p), "%s/src/ok.txt", d);
    rslt_write(p, "fine");
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s/jobs %s/dst %s/dst2 %s/dst3", d, d, d, d), 0);
    job(d, "healthy", "dst", "");
    job(d, "pending", "dst", "");
    job(d, "error", "missing-root", "");
    job(d, "partial", "dst2", "[remote]\nforbidden_chars = :\n");
    job(d, "stale", "dst3", "schedule = every 1s\n");
    job(d, "nostate", "dst", "");
    snprintf(p, sizeof(p), "%s/jobs/zbroken.conf", d);
    rslt_write(p, "[job]\nname = zbroken\nnot a line\n");
    cr_assert_eq(run(d, "healthy"), 0);
    cr_assert_eq(run(d, "error"), 5);
    cr_assert_eq(run(d, "stale"), 0);
    snprintf(p, sizeof(p), "%s/src/bad:name.txt", d);
    rslt_write(p, "colon");
    cr_assert_eq(run(d, "partial"), 23);
    /* a state db that is not a database cannot be read */
    snprintf(p, sizeof(p), "%s/nostate.db", d);
    rslt_write(p, "this is not an SQLite database, not even close to one; "
                  "it is plain text that fills more than one header's worth of bytes.........\n");
    usleep(2300 * 1000); /* stale: no run for more than 2 x 1 s */
    const struct {
        const char *name, *health, *severity;
        int code;
    } want[] = {{"healthy", "Healthy", "ok", 0},      {"pending", "Pending", "warning", 1},
                {"partial", "Partial", "warning", 1}, {"stale", "No Activity", "warning", 1},
                {"error", "Error", "critical", 2},    {"nostate", "Unknown", "unknown", 3},
                {"zbroken", "Invalid", "unknown", 3}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(p, sizeof(p), "%s/jobs/%s.conf", d, want[i].name);
        char *line = NULL;
        int rc = status_of(p, &line);
        cr_assert_eq(rc, want[i].code, "%s: exit %d, want %d\n%s", want[i].name, rc, want[i].code,
                     line);
        char h[160];
        snprintf(h, sizeof(h), "\"health\":\"%s\",\"severity\":\"%s\",\"exit_code\":%d,",
                 want[i].health, want[i].severity, want[i].code);
        cr_assert(strstr(line, h) != NULL, "%s: %s", want[i].name, line);
        free(line);
    }
    /* a directory: the worst job decides */
    const struct {
        const char *jobs;
        int code;
    } dirs[] = {{"healthy", 0},
                {"healthy pending", 1},
                {"stale healthy", 1},
                {"healthy zbroken", 3},
                {"partial nostate", 3},
                {"error zbroken", 2},
                {"healthy error stale", 2},
                {"", 3}};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char sub[8300];
        snprintf(sub, sizeof(sub), "%s/set%zu", d, i);
        cr_assert_eq(rslt_sh(NULL, NULL,
                             "mkdir -p %s && for j in %s; do cp %s/jobs/$j.conf %s/; done", sub,
                             dirs[i].jobs, d, sub),
                     0);
        char *out = NULL;
        int rc = rslt_sh(&out, NULL, "%s status %s", rslt_bin(), sub);
        cr_assert_eq(rc, dirs[i].code, "{%s}: exit %d, want %d\n%s", dirs[i].jobs, rc, dirs[i].code,
                     out);
        free(out);
        rc = rslt_sh(&out, NULL, "%s status --json %s", rslt_bin(), sub);
        cr_assert_eq(rc, dirs[i].code, "{%s} --json", dirs[i].jobs);
        free(out);
    }
    /* a usage error is UNKNOWN too (1 would read as WARNING) */
    cr_assert_eq(rslt_sh(NULL, NULL, "%s status", rslt_bin()), 3);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s status --bogus %s/jobs", rslt_bin(), d), 3);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s status --help", rslt_bin()), 0);
    /* the text over a directory ends with the verdict */
    char *out = NULL;
    snprintf(p, sizeof(p), "%s/set6", d);
    cr_assert_eq(rslt_sh(&out, NULL, "%s status %s", rslt_bin(), p), 2);
    cr_assert(strstr(out, "\nstatus: 3 job(s): 1 ok, 1 warning, 1 critical, 0 unknown; exit 2 "
                          "(critical)\n") != NULL,
              "%s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
}
