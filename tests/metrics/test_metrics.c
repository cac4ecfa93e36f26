/* Tests for engine/metrics: the Prometheus text file's content, its atomic
 * replacement (no temp file left behind), and `run` writing it. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/metrics.h"
#include "tests/support/harness.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static rsl_run_record sample_run(void)
{
    rsl_run_record r;
    memset(&r, 0, sizeof(r));
    r.id = 7;
    r.started_ms = 1800000000000LL;
    r.ended_ms = 1800000012500LL;
    snprintf(r.outcome, sizeof(r.outcome), "partial_failure");
    r.exit_code = 23;
    r.counts.files_applied = 5;
    r.counts.transferred_bytes = 4096;
    r.counts.item_errors = 2;
    r.counts.deletes_applied = 1;
    r.counts.moves = 3;
    return r;
}

Test(metrics, content_is_prometheus_text)
{
    char *dir = rslt_tmpdir("metrics");
    char path[4096];
    snprintf(path, sizeof(path), "%s/job.prom", dir);
    rsl_run_record r = sample_run();
    rsl_metrics_in in = {.job = "we\"b\\1",
                         .rec = &r,
                         .failing_persistent = 2,
                         .failing_transient = 1,
                         .last_success_ms = 1799999000000LL};
    char err[256] = "";
    cr_assert_eq(rsl_metrics_write(path, &in, err, sizeof(err)), 0, "%s", err);
    char *t = rslt_read(path, NULL);
    cr_assert_not_null(t);
    const char *want[] = {
        "# TYPE rsyncd_lite_last_run_start_timestamp_seconds gauge\n",
        "rsyncd_lite_last_run_start_timestamp_seconds{job=\"we\\\"b\\\\1\"} 1800000000\n",
        "rsyncd_lite_last_run_duration_seconds{job=\"we\\\"b\\\\1\"} 12.5\n",
        "rsyncd_lite_last_run_outcome{job=\"we\\\"b\\\\1\",outcome=\"partial_failure\"} 1\n",
        "rsyncd_lite_last_run_outcome{job=\"we\\\"b\\\\1\",outcome=\"success\"} 0\n",
        "rsyncd_lite_last_run_exit_code{job=\"we\\\"b\\\\1\"} 23\n",
        "rsyncd_lite_last_run_files{job=\"we\\\"b\\\\1\",kind=\"applied\"} 5\n",
        "rsyncd_lite_last_run_bytes{job=\"we\\\"b\\\\1\",kind=\"transferred\"} 4096\n",
        "rsyncd_lite_last_run_deletes{job=\"we\\\"b\\\\1\"} 1\n",
        "rsyncd_lite_last_run_moves{job=\"we\\\"b\\\\1\"} 3\n",
        "rsyncd_lite_last_run_item_errors{job=\"we\\\"b\\\\1\"} 2\n",
        "rsyncd_lite_failing_items{job=\"we\\\"b\\\\1\",class=\"persistent\"} 2\n",
        "rsyncd_lite_failing_items{job=\"we\\\"b\\\\1\",class=\"transient\"} 1\n",
        "rsyncd_lite_last_success_timestamp_seconds{job=\"we\\\"b\\\\1\"} 1799999000\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert(strstr(t, want[i]) != NULL, "missing: %s\nin:\n%s", want[i], t);
    /* every non-comment line is "name{labels} value" */
    for (char *l = t; *l;) {
        char *nl = strchr(l, '\n');
        cr_assert_not_null(nl, "last line lacks a newline");
        if (*l != '#') {
            cr_assert(strncmp(l, "rsyncd_lite_", 12) == 0, "%.*s", (int)(nl - l), l);
            cr_assert(memchr(l, '}', (size_t)(nl - l)) != NULL);
        }
        l = nl + 1;
    }
    cr_assert_eq(count_entries(dir), 1, "a temp file was left behind");
    free(t);
    rslt_rmrf(dir);
    free(dir);
}

Test(metrics, replace_is_atomic_and_leaves_no_temp)
{
    char *dir = rslt_tmpdir("metrics");
    char path[4096];
    snprintf(path, sizeof(path), "%s/job.prom", dir);
    rslt_write(path, "old content\n");
    rsl_run_record r = sample_run();
    snprintf(r.outcome, sizeof(r.outcome), "success");
    rsl_metrics_in in = {.job = "j", .rec = &r};
    char err[256] = "";
    for (int i = 0; i < 20; i++)
        cr_assert_eq(rsl_metrics_write(path, &in, err, sizeof(err)), 0, "%s", err);
    char *t = rslt_read(path, NULL);
    cr_assert(strstr(t, "old content") == NULL);
    cr_assert(strstr(t, "outcome=\"success\"} 1\n") != NULL);
    cr_assert(strstr(t, "last_success") == NULL, "no success time was given");
    cr_assert_eq(count_entries(dir), 1);
    free(t);
    /* a missing directory: an error naming the file, nothing created */
    char bad[4096];
    snprintf(bad, sizeof(bad), "%s/nodir/job.prom", dir);
    cr_assert_eq(rsl_metrics_write(bad, &in, err, sizeof(err)), -1);
    cr_assert(strstr(err, "nodir/job.prom") != NULL, "%s", err);
    cr_assert_eq(count_entries(dir), 1);
    rslt_rmrf(dir);
    free(dir);
}

Test(metrics, run_writes_the_metrics_file)
{
    char *d = rslt_tmpdir("metrics-run");
    char p[4096], conf[4096], prom[4096];
    snprintf(p, sizeof(p), "%s/src/a.txt", d);
    rslt_write(p, "hello");
    snprintf(p, sizeof(p), "%s/src/sub/b.txt", d);
    rslt_write(p, "world!");
    snprintf(p, sizeof(p), "mkdir -p %s/dst %s/prom", d, d);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s", p), 0);
    snprintf(conf, sizeof(conf), "%s/job.conf", d);
    snprintf(prom, sizeof(prom), "%s/prom/site.prom", d);
    FILE *f = fopen(conf, "w");
    fprintf(f,
            "[job]\nname = site\nsource = %s/src\ndestination = file://%s/dst\nstate = %s/s.db\n"
            "metrics_file = %s\n",
            d, d, d, prom);
    fclose(f);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), conf), 0);
    char *t = rslt_read(prom, NULL);
    cr_assert_not_null(t, "metrics file not written");
    cr_assert(strstr(t, "rsyncd_lite_last_run_outcome{job=\"site\",outcome=\"success\"} 1\n"));
    cr_assert(strstr(t, "rsyncd_lite_last_run_files{job=\"site\",kind=\"applied\"} 2\n"), "%s", t);
    cr_assert(strstr(t, "rsyncd_lite_last_run_bytes{job=\"site\",kind=\"transferred\"} 11\n"));
    cr_assert(strstr(t, "rsyncd_lite_last_run_exit_code{job=\"site\"} 0\n"));
    snprintf(p, sizeof(p), "%s/prom", d);
    cr_assert_eq(count_entries(p), 1);
    free(t);
    /* a second run (nothing to do) replaces it: applied 0 */
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), conf), 0);
    t = rslt_read(prom, NULL);
    cr_assert(strstr(t, "rsyncd_lite_last_run_files{job=\"site\",kind=\"applied\"} 0\n"), "%s", t);
    cr_assert(strstr(t, "rsyncd_lite_last_success_timestamp_seconds{job=\"site\"}"));
    free(t);
    /* a dry run does not touch it */
    snprintf(p, sizeof(p), "%s/src/new.txt", d);
    rslt_write(p, "x");
    cr_assert_eq(rslt_sh(NULL, NULL, "rm %s && %s run --dry-run %s", prom, rslt_bin(), conf), 0);
    cr_assert(!rslt_exists(prom));
    rslt_rmrf(d);
    free(d);
}

/* The metrics file follows the process umask (it used to be forced to 0644,
 * readable by everyone whatever the operator chose). */
Test(metrics, file_mode_follows_the_umask)
{
    char *dir = rslt_tmpdir("metrics-umask");
    char path[4096], err[600];
    snprintf(path, sizeof(path), "%s/job.prom", dir);
    rsl_run_record rec;
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.outcome, sizeof(rec.outcome), "success");
    rsl_metrics_in in = {.job = "j", .rec = &rec};
    const mode_t masks[] = {077, 027, 022};
    const mode_t want[] = {0600, 0640, 0644};
    for (int i = 0; i < 3; i++) {
        mode_t old = umask(masks[i]);
        int rc = rsl_metrics_write(path, &in, err, sizeof(err));
        umask(old);
        cr_assert_eq(rc, 0, "%s", err);
        struct stat sb;
        cr_assert_eq(stat(path, &sb), 0);
        cr_assert_eq(sb.st_mode & 0777, want[i], "umask %03o gave %03o", masks[i],
                     sb.st_mode & 0777);
    }
    rslt_rmrf(dir);
    free(dir);
}
