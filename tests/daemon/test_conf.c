/* Tests for cli/daemon_conf: JOBDIR/daemon.conf through the shared INI
 * reader: the job file's comment and quote rules, FILE:LINE errors, log_file
 * relative to JOBDIR, defaults when the file is missing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/daemon_conf.h"
#include "tests/support/harness.h"

Test(daemon_conf, keys_comments_quotes_and_sections)
{
    rsl_daemon_conf c;
    rsl_daemon_conf_init(&c);
    rsl_err e = {0};
    const char *t = "# the daemon\n"
                    "[daemon] ; a section is allowed\n"
                    "max_parallel_jobs = 3 ; three\n"
                    "stop_timeout = 2m\n"
                    "retry_min = 10s # ten\n"
                    "retry_max = 1h\n"
                    "log_file = \"logs/d;1#.log\"\n";
    cr_assert_eq(rsl_daemon_conf_parse(&c, "/j/daemon.conf", "/j", t, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(c.max_parallel, 3);
    cr_assert_eq(c.stop_timeout, 120);
    cr_assert_eq(c.retry_min, 10);
    cr_assert_eq(c.retry_max, 3600);
    cr_assert_str_eq(c.log_file, "/j/logs/d;1#.log");

    /* a '#' not after whitespace is part of the value (it used to cut it) */
    rsl_daemon_conf_init(&c);
    cr_assert_eq(rsl_daemon_conf_parse(&c, "/j/daemon.conf", "/j", "log_file = /var/log/a#b\n", &e),
                 RSL_OK, "%s", e.msg);
    cr_assert_str_eq(c.log_file, "/var/log/a#b");
}

Test(daemon_conf, defaults)
{
    rsl_daemon_conf c;
    rsl_daemon_conf_init(&c);
    cr_assert_eq(c.max_parallel, -1);
    cr_assert_eq(c.stop_timeout, -1);
    cr_assert_eq(c.retry_min, 30);
    cr_assert_eq(c.retry_max, 3600);
    cr_assert_str_eq(c.log_file, "");
    char *d = rslt_tmpdir("dconf");
    rsl_err e = {0};
    c.retry_min = 1;
    cr_assert_eq(rsl_daemon_conf_load(&c, d, &e), RSL_OK, "no daemon.conf is fine");
    cr_assert_eq(c.retry_min, 30);
    rslt_rmrf(d);
    free(d);
}

static void fails(const char *text, rsl_code code, const char *want)
{
    rsl_daemon_conf c;
    rsl_daemon_conf_init(&c);
    rsl_err e = {0};
    cr_assert_eq(rsl_daemon_conf_parse(&c, "/j/daemon.conf", "/j", text, &e), code, "'%s': %s",
                 text, e.msg);
    cr_assert(strstr(e.msg, want) != NULL, "'%s': '%s' lacks '%s'", text, e.msg, want);
}

Test(daemon_conf, errors_name_file_and_line)
{
    fails("# x\n\nmax_parallel_jobs = 0\n", RSL_E_CONFIG_BAD_VALUE,
          "/j/daemon.conf:3: max_parallel_jobs: bad value '0'");
    fails("max_parallel_jobs = 257\n", RSL_E_CONFIG_BAD_VALUE, "/j/daemon.conf:1:");
    fails("retry_min = 1\nretry_max = soon\n", RSL_E_CONFIG_BAD_VALUE,
          "/j/daemon.conf:2: retry_max: bad value 'soon'");
    fails("stop_timeout = 0\n", RSL_E_CONFIG_BAD_VALUE, "/j/daemon.conf:1: stop_timeout:");
    fails("\nmax_jobs = 2\n", RSL_E_CONFIG_UNKNOWN_KEY,
          "/j/daemon.conf:2: max_jobs: unknown key (known: max_parallel_jobs");
    fails("retry_min 5\n", RSL_E_CONFIG_SYNTAX, "/j/daemon.conf:1: retry_min 5: expected");
    fails("log_file = \"open\n", RSL_E_CONFIG_SYNTAX, "/j/daemon.conf:1: log_file: unterminated");
}

Test(daemon_conf, load_reads_jobdir_daemon_conf)
{
    char *d = rslt_tmpdir("dconf");
    char p[4200];
    snprintf(p, sizeof(p), "%s/daemon.conf", d);
    rslt_write(p, "retry_min = 2s\nretry_max = 4s\nlog_file = d.log\n");
    rsl_daemon_conf c;
    rsl_err e = {0};
    cr_assert_eq(rsl_daemon_conf_load(&c, d, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(c.retry_min, 2);
    cr_assert_eq(c.retry_max, 4);
    snprintf(p, sizeof(p), "%s/d.log", d);
    cr_assert_str_eq(c.log_file, p);
    snprintf(p, sizeof(p), "%s/daemon.conf", d);
    rslt_write(p, "retry_min = 2s\n\nbogus = 1\n");
    cr_assert_eq(rsl_daemon_conf_load(&c, d, &e), RSL_E_CONFIG_UNKNOWN_KEY);
    cr_assert(strstr(e.msg, "daemon.conf:3: bogus:") != NULL, "%s", e.msg);
    rslt_rmrf(d);
    free(d);
}
