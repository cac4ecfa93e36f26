/* Tests for cli/progress: the progress line's content (files, bytes, rate,
 * ETA, current file), truncation, and the TTY / non-TTY / --progress rules. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "tests/support/harness.h"

Test(progress, bytes_units)
{
    char b[32];
    rsl_progress_bytes(b, sizeof(b), 812);
    cr_assert_str_eq(b, "812 B");
    rsl_progress_bytes(b, sizeof(b), 3174);
    cr_assert_str_eq(b, "3.1 KiB");
    rsl_progress_bytes(b, sizeof(b), 10.0 * 1048576);
    cr_assert_str_eq(b, "10.0 MiB");
    rsl_progress_bytes(b, sizeof(b), 1.5 * 1073741824.0);
    cr_assert_str_eq(b, "1.5 GiB");
}

Test(progress, line_has_counts_rate_eta_and_file)
{
    rsl_progress p = {.files_done = 12,
                      .files_total = 40,
                      .bytes_done = 3 * 1048576,
                      .bytes_total = 10 * 1048576,
                      .totals_final = 1,
                      .current = "dir/file.bin"};
    char buf[256];
    rsl_progress_format(buf, sizeof(buf), &p, 1048576.0, NULL, 0);
    cr_assert_str_eq(buf, "12/40 files  3.0 MiB/10.0 MiB  1.0 MiB/s  ETA 0:07  dir/file.bin");
    /* no rate yet */
    rsl_progress_format(buf, sizeof(buf), &p, -1, NULL, 0);
    cr_assert(strstr(buf, "-- /s  ETA --") != NULL, "%s", buf);
    /* hours */
    p.bytes_total = 10LL * 1073741824;
    rsl_progress_format(buf, sizeof(buf), &p, 1048576.0, NULL, 0);
    cr_assert(strstr(buf, "ETA 2:50:") != NULL, "%s", buf);
    /* totals not final: marked with '+', no ETA */
    p.totals_final = 0;
    p.bytes_total = 10 * 1048576;
    rsl_progress_format(buf, sizeof(buf), &p, 1048576.0, NULL, 0);
    cr_assert(strstr(buf, "12/40+ files  3.0 MiB/10.0 MiB+") != NULL, "%s", buf);
    cr_assert(strstr(buf, "ETA --") != NULL, "%s", buf);
}

Test(progress, current_file_fallback_truncation_and_control_bytes)
{
    rsl_progress p = {
        .files_done = 1, .files_total = 2, .bytes_done = 10, .bytes_total = 20, .totals_final = 1};
    char buf[256];
    rsl_progress_format(buf, sizeof(buf), &p, 5, "last/done.txt", 0);
    cr_assert(strstr(buf, "  last/done.txt") != NULL, "%s", buf);
    /* a long path is cut from the left so the file name stays visible */
    rsl_progress_format(buf, sizeof(buf), &p, 5,
                        "a/very/long/directory/name/that/goes/on/and/on/final-name.dat", 60);
    cr_assert_leq(strlen(buf), 59);
    cr_assert(strstr(buf, "...") != NULL, "%s", buf);
    cr_assert(strstr(buf, "final-name.dat") != NULL, "%s", buf);
    /* an escape sequence in a name cannot reach the terminal */
    rsl_progress_format(buf, sizeof(buf), &p, 5, "evil\033[2Jname", 0);
    cr_assert(strchr(buf, '\033') == NULL);
}

Test(progress, modes)
{
    FILE *f = tmpfile();
    rsl_progress_ui u;
    rsl_progress_init(&u, f, -1);
    cr_assert_eq(u.mode, RSL_PROGRESS_OFF, "silent by default when not a TTY");
    rsl_progress_init(&u, f, 0);
    cr_assert_eq(u.mode, RSL_PROGRESS_OFF);
    rsl_progress_init(&u, f, 1);
    cr_assert_eq(u.mode, RSL_PROGRESS_LINES);
    rsl_progress p = {
        .files_done = 0, .files_total = 3, .bytes_done = 0, .bytes_total = 300, .totals_final = 1};
    rsl_progress_update(&u, &p);
    p.bytes_done = 100;
    rsl_progress_update(&u, &p); /* within the interval: no second line */
    fflush(f);
    rewind(f);
    char buf[512] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    cr_assert_eq(rslt_count(buf, "progress: "), 1, "%s", buf);
    cr_assert(strstr(buf, "progress: 0/3 files  0 B/300 B") != NULL, "%s", buf);
    cr_assert(strchr(buf, '\r') == NULL, "no terminal control in plain lines");
    fclose(f);
}

Test(progress, run_with_progress_when_not_a_tty)
{
    char *d = rslt_tmpdir("progress-run");
    char p[4096], conf[4096];
    snprintf(p, sizeof(p), "%s/src/big.bin", d);
    rslt_write_random(p, 600 * 1024, 3);
    snprintf(p, sizeof(p), "mkdir -p %s/dst", d);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s", p), 0);
    snprintf(conf, sizeof(conf), "%s/job.conf", d);
    FILE *f = fopen(conf, "w");
    fprintf(f,
            "[job]\nname = prog\nsource = %s/src\ndestination = file://%s/dst\nstate = %s/s.db\n"
            "bwlimit = 1M\n",
            d, d, d);
    fclose(f);
    char *err = NULL;
    cr_assert_eq(rslt_sh(NULL, &err, "%s run %s --progress", rslt_bin(), conf), 0);
    cr_assert(strstr(err, "progress: 0/1 files") != NULL, "stderr: %s", err);
    cr_assert(strstr(err, "/600.0 KiB") != NULL, "stderr: %s", err);
    free(err);
    /* silent by default (cron: not a TTY) */
    snprintf(p, sizeof(p), "%s/src/big.bin", d);
    rslt_write_random(p, 300 * 1024, 4);
    err = NULL;
    cr_assert_eq(rslt_sh(NULL, &err, "%s run %s", rslt_bin(), conf), 0);
    cr_assert(strstr(err, "progress") == NULL, "stderr: %s", err);
    free(err);
    rslt_rmrf(d);
    free(d);
}

Test(progress, live_line_on_a_terminal)
{
    if (rslt_sh(NULL, NULL, "command -v script") != 0)
        cr_skip_test("script(1) not installed");
    char *d = rslt_tmpdir("progress-tty");
    char p[8300], conf[4096];
    snprintf(p, sizeof(p), "%s/src/big.bin", d);
    rslt_write_random(p, 500 * 1024, 5);
    snprintf(p, sizeof(p), "mkdir -p %s/dst", d);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s", p), 0);
    snprintf(conf, sizeof(conf), "%s/job.conf", d);
    FILE *f = fopen(conf, "w");
    fprintf(f,
            "[job]\nname = tty\nsource = %s/src\ndestination = file://%s/dst\nstate = %s/s.db\n"
            "bwlimit = 1M\n",
            d, d, d);
    fclose(f);
    /* script(1) gives the run a pseudo-terminal: the live line is on by default */
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "script -qec '%s run %s' /dev/null < /dev/null", rslt_bin(), conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\r\033[K0/1 files") != NULL, "no live line: %s", out);
    cr_assert(strstr(out, "/500.0 KiB") != NULL, "%s", out);
    cr_assert(strstr(out, "progress: ") == NULL, "no plain lines on a terminal");
    free(out);
    /* --no-progress turns it off */
    snprintf(p, sizeof(p), "%s/src/big.bin", d);
    rslt_write_random(p, 200 * 1024, 6);
    out = NULL;
    rc = rslt_sh(&out, NULL, "script -qec '%s run --no-progress %s' /dev/null < /dev/null",
                 rslt_bin(), conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\033[K") == NULL, "%s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
}
