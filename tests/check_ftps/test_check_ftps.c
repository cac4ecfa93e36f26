/* `check` against a real FTPS server (the fixture's vsftpd): every
 * capability it reports is proven with probe files (issue 11.3): rename over
 * an existing file, an mtime set with MDTM and read back, resume continued
 * at an offset with APPE and read back with RETR; FTPS cannot set permission
 * bits, and check says so, as a warning when the job names a mode (issue
 * 10.4); vsftpd offers no checksum. Nothing is left behind. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"

static char *fx(const char *k)
{
    char *v = rslt_fixture_get(k);
    cr_assert_not_null(v, "fixture key %s missing (did fixture-setup.sh run?)", k);
    return v;
}

typedef struct fj {
    char *d;
    char conf[4096], disk[4096];
} fj;

static fj make(const char *tag, const char *extra_remote)
{
    fj j;
    j.d = rslt_tmpdir(tag);
    char *user = fx("FTP_USER"), *port = fx("FTP_MAIN_PORT"), *pw = fx("FTP_PASSWORD_FILE"),
         *ca = fx("FTP_CA_FILE"), *data = fx("FTP_DATA_DIR");
    snprintf(j.disk, sizeof(j.disk), "%s/%s-%d", data, tag, (int)getpid());
    rslt_rmrf(j.disk);
    cr_assert_eq(mkdir(j.disk, 0755), 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "chown %s '%s'", user, j.disk), 0);
    char p[8300];
    snprintf(p, sizeof(p), "%s/src/a.txt", j.d);
    rslt_write(p, "alpha\n");
    snprintf(j.conf, sizeof(j.conf), "%s/job.conf", j.d);
    FILE *c = fopen(j.conf, "w");
    fprintf(c,
            "[job]\nname = %s\nsource = %s/src\ndestination = ftps://%s@127.0.0.1:%s/data/%s-%d\n"
            "state = %s/s.db\n[remote]\npassword_file = %s\nca_file = %s\n%s\n",
            tag, j.d, user, port, tag, (int)getpid(), j.d, pw, ca,
            extra_remote ? extra_remote : "");
    fclose(c);
    free(user);
    free(port);
    free(pw);
    free(ca);
    free(data);
    return j;
}

static void done(fj *j)
{
    rslt_rmrf(j->disk);
    rslt_rmrf(j->d);
    free(j->d);
}

Test(check_ftps, every_capability_is_probed)
{
    fj j = make("cf-ok", NULL);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "[PASS] remote root writable") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] rename supported: ") != NULL, "%s", out);
    cr_assert(strstr(out, "then again over the existing file") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] mtime set: set 2009-02-13 23:31:30Z on ") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] resume supported: wrote 100000 of 200000 bytes to ") != NULL,
              "%s", out);
    cr_assert(strstr(out, "the server kept 100000, continued from there: 200000 bytes, read back "
                          "identical") != NULL,
              "%s", out);
    cr_assert(strstr(out, "[SKIP] permission bits: this server cannot set permission bits: new "
                          "files get the server's defaults whatever perms says (the ftps "
                          "transport has no way to set them)") != NULL,
              "%s", out);
    cr_assert(strstr(out, "[SKIP] server checksum: this server offers no checksum") != NULL, "%s",
              out);
    cr_assert(strstr(out, "[PASS] read back: ") != NULL, "%s", out);
    cr_assert(strstr(out, "FAIL") == NULL, "%s", out);
    free(out);
    out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "ls -A '%s' | wc -l", j.disk), 0);
    cr_assert_eq(strtol(out, NULL, 10), 0, "probe files left behind: %s", j.disk);
    free(out);
    done(&j);
}

Test(check_ftps, a_mode_in_perms_is_a_warning)
{
    fj j = make("cf-perms", "perms = 0640");
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "a warning alone passes: %s", out);
    cr_assert(strstr(out, "[WARN] permission bits: this server cannot set permission bits: new "
                          "files get the server's defaults whatever perms says (the ftps "
                          "transport has no way to set them; perms names a mode: it is not "
                          "applied)") != NULL,
              "%s", out);
    cr_assert(strstr(out, "       fix: Remove perms from the job") != NULL, "%s", out);
    free(out);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s check --strict %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 5, "%s", out);
    free(out);
    done(&j);
}
