/* End-to-end tests for `rsyncd-lite check JOB.conf` against file://
 * destinations: all steps pass; a missing remote root, an unreadable source
 * and a broken job file each fail the named step with its fix and exit
 * non-zero; the probe file is removed. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"

typedef struct fx {
    char *d;
    char conf[4096], dst[4096];
} fx;

static fx setup(const char *dst_name)
{
    fx f;
    f.d = rslt_tmpdir("check");
    char p[8300];
    snprintf(p, sizeof(p), "%s/src/a.txt", f.d);
    rslt_write(p, "hello");
    snprintf(f.dst, sizeof(f.dst), "%s/%s", f.d, dst_name);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s/dst", f.d), 0);
    snprintf(f.conf, sizeof(f.conf), "%s/job.conf", f.d);
    FILE *c = fopen(f.conf, "w");
    fprintf(c, "[job]\nname = chk\nsource = %s/src\ndestination = file://%s\nstate = %s/s.db\n",
            f.d, f.dst, f.d);
    fclose(c);
    return f;
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    closedir(d);
    return n;
}

Test(check, all_steps_pass_on_a_good_file_destination)
{
    fx f = setup("dst");
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), f.conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "[PASS] config valid") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] source readable") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] DNS: file:// destination") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] remote root exists") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] remote root writable: wrote probe .rsyncd-lite-check-") != NULL,
              "%s", out);
    cr_assert(strstr(out, "[PASS] rename supported") != NULL, "%s", out);
    cr_assert(strstr(out, "(atomic replace)") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] resume supported") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] secret files private") != NULL, "%s", out);
    /* every capability is proven with a probe on file:// */
    cr_assert(strstr(out, "[PASS] mtime set") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] permission bits: sent .rsyncd-lite-check-") != NULL, "%s", out);
    cr_assert(strstr(out, "with mode 0600, it has 0600") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] server checksum") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] read back") != NULL, "%s", out);
    cr_assert(strstr(out, "the server kept 100000, continued from there: 200000 bytes, read back "
                          "identical") != NULL,
              "%s", out);
    cr_assert(strstr(out, "check: 11 passed, 0 failed") != NULL, "%s", out);
    cr_assert(strstr(out, "FAIL") == NULL, "%s", out);
    cr_assert_eq(entries(f.dst), 0, "the probe file was left behind");
    free(out);
    /* --json: one object per step */
    out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "%s check --json %s", rslt_bin(), f.conf), 0);
    cr_assert_eq(rslt_count(out, "{\"type\":\"check_step\",\"step\":"), 15, "%s", out);
    cr_assert(strstr(out, "\"ok\":true") != NULL, "%s", out);
    free(out);
    rslt_rmrf(f.d);
    free(f.d);
}

Test(check, missing_remote_root_fails_that_step)
{
    fx f = setup("no-such-dir");
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), f.conf);
    cr_assert_eq(rc, 5, "exit %d: %s", rc, out);
    cr_assert(strstr(out, "[FAIL] remote root exists: destination directory") != NULL, "%s", out);
    cr_assert(strstr(out, "REMOTE_ROOT_MISSING 411") != NULL, "%s", out);
    cr_assert(strstr(out, "       fix: Create the destination directory") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] remote root writable: needs the failed step above") != NULL, "%s",
              out);
    cr_assert(strstr(out, "[PASS] source readable") != NULL, "%s", out);
    cr_assert(strstr(out, "1 failed") != NULL, "%s", out);
    free(out);
    rslt_rmrf(f.d);
    free(f.d);
}

Test(check, read_only_remote_root_fails_writable)
{
    if (geteuid() == 0) /* root writes through any mode bits */
        cr_skip_test("running as root: permissions do not stop writes");
    fx f = setup("dst");
    cr_assert_eq(rslt_sh(NULL, NULL, "chmod 555 %s", f.dst), 0);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), f.conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] remote root writable") != NULL, "%s", out);
    free(out);
    rslt_sh(NULL, NULL, "chmod 755 %s", f.dst);
    rslt_rmrf(f.d);
    free(f.d);
}

Test(check, unwritable_remote_root_fails_writable)
{
    /* Works as root too: a temp suffix so long that no file can be created
     * under it (ENAMETOOLONG) stands for a root we cannot write. */
    fx f = setup("dst");
    char suffix[301];
    memset(suffix, 'x', 300);
    suffix[300] = '\0';
    FILE *c = fopen(f.conf, "a");
    fprintf(c, "[remote]\ntemp_suffix = .%s\n", suffix);
    fclose(c);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), f.conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[PASS] remote root exists") != NULL, "%s", out);
    cr_assert(strstr(out, "[FAIL] remote root writable") != NULL, "%s", out);
    cr_assert(strstr(out, "       fix: ") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] rename supported: needs the failed step above") != NULL, "%s",
              out);
    cr_assert_eq(entries(f.dst), 0, "nothing left behind");
    free(out);
    rslt_rmrf(f.d);
    free(f.d);
}

Test(check, unreadable_source_and_broken_config)
{
    fx f = setup("dst");
    char *out = NULL;
    cr_assert_eq(rslt_sh(NULL, NULL, "rm -rf %s/src", f.d), 0);
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), f.conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] source readable") != NULL, "%s", out);
    cr_assert(strstr(out, "No such file or directory") != NULL, "%s", out);
    free(out);
    FILE *c = fopen(f.conf, "a");
    fprintf(c, "bogus_key = 1\n");
    fclose(c);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), f.conf);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "[FAIL] config valid") != NULL, "%s", out);
    cr_assert(strstr(out, "job.conf:6: bogus_key: unknown key") != NULL, "%s", out);
    cr_assert(strstr(out, "fix: Check the spelling") != NULL, "%s", out);
    free(out);
    rslt_rmrf(f.d);
    free(f.d);
}

/* `check` probes the port the transport will use: 80 for http:// (the table
 * used to give https's 443), 990 for implicit FTPS (it gave 21). */
static char *check_tcp_line(const char *dest, const char *extra)
{
    fx f = setup("dst");
    FILE *c = fopen(f.conf, "w");
    fprintf(c,
            "[job]\nname = chk\nsource = %s/src\ndestination = %s\nstate = %s/s.db\ntimeout = 2\n"
            "[remote]\nallow_insecure = yes\n%s\n",
            f.d, dest, f.d, extra);
    fclose(c);
    char *out = NULL;
    rslt_sh(&out, NULL, "%s check %s", rslt_bin(), f.conf);
    char *line = strstr(out, "TCP connect");
    cr_assert_not_null(line, "%s", out);
    char *end = strchr(line, '\n');
    char *r = strndup(line, end ? (size_t)(end - line) : strlen(line));
    free(out);
    return r;
}

Test(check, tcp_step_uses_the_transports_default_port)
{
    char *l = check_tcp_line("http://127.0.0.1/x", "");
    cr_assert(strstr(l, "port 80") != NULL, "%s", l);
    free(l);
    l = check_tcp_line("ftps://127.0.0.1/x", "ftps_mode = implicit");
    cr_assert(strstr(l, "port 990") != NULL, "%s", l);
    free(l);
    l = check_tcp_line("ftps://127.0.0.1/x", "");
    cr_assert(strstr(l, "port 21") != NULL, "%s", l);
    free(l);
}

/* Issue 11.10: `check` (and `run`) refuse a schedule the daemon could not
 * follow, at its line, before anything else. */
Test(check, a_bad_schedule_fails_config_valid)
{
    static const char *const bad[] = {"*/0 * * * *", "every 0m", "every banana"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fx f = setup("dst");
        FILE *c = fopen(f.conf, "a");
        fprintf(c, "schedule = %s\n", bad[i]);
        fclose(c);
        char *out = NULL, *err = NULL;
        int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), f.conf);
        cr_assert_eq(rc, 1, "'%s' accepted by check:\n%s", bad[i], out);
        cr_assert(strstr(out, "[FAIL] config valid") != NULL, "%s", out);
        cr_assert(strstr(out, "job.conf:6: schedule: ") != NULL, "%s", out);
        free(out);
        out = NULL;
        rc = rslt_sh(&out, &err, "%s run %s", rslt_bin(), f.conf);
        cr_assert_eq(rc, 1, "'%s' accepted by run:\n%s%s", bad[i], out, err);
        cr_assert(strstr(err, "job.conf:6: schedule: ") != NULL, "%s", err);
        char sent[8300];
        snprintf(sent, sizeof(sent), "%s/a.txt", f.dst);
        cr_assert(!rslt_exists(sent), "run sent files");
        free(out);
        free(err);
        rslt_rmrf(f.d);
        free(f.d);
    }
}

/* A secret file others may read is named loudly by check (WARN, fails with
 * --strict) and by every run (issue 10.16). */
Test(check, secret_file_readable_by_others_is_named)
{
    fx f = setup("dst");
    char pw[8400];
    snprintf(pw, sizeof(pw), "%s/pw.txt", f.d);
    rslt_write(pw, "s3cret\n");
    chmod(pw, 0644);
    FILE *c = fopen(f.conf, "a");
    fprintf(c, "[remote]\npassword_file = %s\n", pw);
    fclose(c);
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), f.conf);
    cr_assert_eq(rc, 0, "a WARN alone passes: %s", out);
    cr_assert(strstr(out, "[WARN] secret files private: password_file") != NULL, "%s", out);
    cr_assert(strstr(out, "mode 0644") != NULL && strstr(out, pw) != NULL, "%s", out);
    cr_assert(strstr(out, "s3cret") == NULL, "the secret itself is printed: %s", out);
    free(out);
    cr_assert_neq(rslt_sh(&out, NULL, "%s check --strict %s", rslt_bin(), f.conf), 0);
    free(out);
    rc = rslt_sh(&out, &err, "%s run %s", rslt_bin(), f.conf);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(err, "warning: password_file") != NULL && strstr(err, "chmod 600") != NULL,
              "%s", err);
    free(out);
    free(err);
    chmod(pw, 0600);
    rc = rslt_sh(&out, &err, "%s run %s", rslt_bin(), f.conf);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(err, "password_file") == NULL, "no warning once private: %s", err);
    free(out);
    free(err);
}
