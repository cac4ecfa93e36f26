/* `check` against a real WebDAV server (the fixture's nginx, which has no
 * partial PUT): every step passes and the missing resume support is a WARN
 * that --strict turns into a failure; the transport's description (read
 * after connect) names the CA in use; an untrusted certificate fails the
 * trust step and a wrong password the authentication step. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

static char *fx(const char *k)
{
    char *v = rslt_fixture_get(k);
    cr_assert_not_null(v, "fixture key %s missing", k);
    return v;
}

/* fx(pre + k): pre "" for nginx, "APACHE_" for Apache. */
static char *fxp(const char *pre, const char *k)
{
    char key[64];
    snprintf(key, sizeof(key), "%s%s", pre, k);
    return fx(key);
}

/* A job file for /dav/<tag> on the server of prefix pre; remote: the
 * [remote] lines. Returns its path. */
static char *job_on(const char *pre, const char *tag, const char *remote, char **dir_out)
{
    char *d = rslt_tmpdir(tag);
    char *www = fxp(pre, "WWW"), *port = fxp(pre, "PORT"), *user = fxp(pre, "USER");
    char p[8300];
    snprintf(p, sizeof(p), "%s/src/a.txt", d);
    rslt_write(p, "alpha\n");
    snprintf(p, sizeof(p), "%s/%s-%d", www, tag, (int)getpid());
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p '%s' && chmod 777 '%s'", p, p), 0);
    char *conf = malloc(8300);
    snprintf(conf, 8300, "%s/job.conf", d);
    FILE *f = fopen(conf, "w");
    fprintf(f,
            "[job]\nname = %s\nsource = %s/src\ndestination = https://%s@127.0.0.1:%s/dav/%s-%d\n"
            "state = %s/s.db\n[remote]\n%s",
            tag, d, user, port, tag, (int)getpid(), d, remote);
    fclose(f);
    free(www);
    free(port);
    free(user);
    *dir_out = d;
    return conf;
}

static char *job(const char *tag, const char *remote, char **dir_out)
{
    return job_on("", tag, remote, dir_out);
}

/* Nothing the probes wrote is left in the remote root of job tag. */
static void probe_gone(const char *pre, const char *tag)
{
    char *www = fxp(pre, "WWW"), *out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "ls -A '%s/%s-%d' | wc -l", www, tag, (int)getpid()), 0);
    cr_assert_eq(strtol(out, NULL, 10), 0, "probe files left behind in %s", www);
    free(out);
    free(www);
}

Test(check_https, steps_pass_resume_warns_strict_fails)
{
    char *pw = fx("PASSWORD_FILE"), *ca = fx("CA_FILE"), remote[9000], *d;
    snprintf(remote, sizeof(remote), "password_file = %s\nca_file = %s\n", pw, ca);
    char *conf = job("hok", remote, &d);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "[PASS] trust (TLS certificate / SSH host key)") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] authentication") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] remote root writable") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] rename supported") != NULL, "%s", out);
    cr_assert(strstr(out, "[WARN] resume supported: this server cannot resume") != NULL, "%s", out);
    char want[8300];
    snprintf(want, sizeof(want), "TLS verified against %s", ca);
    cr_assert(strstr(out, want) != NULL, "describe() after connect: %s", out);
    cr_assert(strstr(out, "0 failed, 1 warning(s)") != NULL, "%s", out);
    /* issue 11.3: every step is a probe; issue 10.4: WebDAV sets no modes */
    cr_assert(strstr(out, "[PASS] rename supported: ") != NULL, "%s", out);
    cr_assert(strstr(out, "then again over the existing file") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] mtime set: this server cannot set modification times") != NULL,
              "%s", out);
    cr_assert(strstr(out, "[SKIP] permission bits: this server cannot set permission bits: new "
                          "files get the server's defaults whatever perms says") != NULL,
              "%s", out);
    cr_assert(strstr(out, "[SKIP] server checksum: this server offers no checksum") != NULL, "%s",
              out);
    cr_assert(strstr(out, "[PASS] read back: ") != NULL, "%s", out);
    probe_gone("", "hok");
    free(out);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s check --strict %s", rslt_bin(), conf);
    cr_assert_eq(rc, 5, "%s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
    free(conf);
    free(pw);
    free(ca);
}

Test(check_https, untrusted_certificate_and_wrong_password)
{
    char *pw = fx("PASSWORD_FILE"), *ca = fx("CA_FILE"), remote[9000], *d;
    /* no ca_file: the fixture's private CA is not in the system store */
    snprintf(remote, sizeof(remote), "password_file = %s\n", pw);
    char *conf = job("hca", remote, &d);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] trust (TLS certificate / SSH host key): ") != NULL, "%s", out);
    cr_assert(strstr(out, "TLS_UNTRUSTED") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] authentication") != NULL, "%s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
    free(conf);

    char bad[8300];
    char *d0 = rslt_tmpdir("hpw");
    snprintf(bad, sizeof(bad), "%s/wrong", d0);
    rslt_write(bad, "not-the-password\n");
    snprintf(remote, sizeof(remote), "password_file = %s\nca_file = %s\n", bad, ca);
    conf = job("hpw", remote, &d);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[PASS] trust") != NULL, "%s", out);
    cr_assert(strstr(out, "[FAIL] authentication: ") != NULL, "%s", out);
    cr_assert(strstr(out, "AUTH_FAILED") != NULL, "%s", out);
    free(out);
    rslt_rmrf(d);
    rslt_rmrf(d0);
    free(d);
    free(d0);
    free(conf);
    free(pw);
    free(ca);
}

/* Apache has partial PUT: resume is claimed, so it is probed (half a temp
 * file, resume_offset, a Content-Range PUT of the rest, HEAD, GET). */
Test(check_https, apache_resume_is_probed_not_assumed)
{
    char *pw = fx("APACHE_PASSWORD_FILE"), *ca = fx("APACHE_CA_FILE"), remote[9000], *d;
    snprintf(remote, sizeof(remote), "password_file = %s\nca_file = %s\nperms = 0644\n", pw, ca);
    char *conf = job_on("APACHE_", "hap", remote, &d);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "[PASS] resume supported: wrote 100000 of 200000 bytes to ") != NULL,
              "%s", out);
    cr_assert(strstr(out, "the server kept 100000, continued from there: 200000 bytes, read back "
                          "identical") != NULL,
              "%s", out);
    /* the job names a mode WebDAV cannot set: a warning with the reason */
    cr_assert(strstr(out, "[WARN] permission bits: this server cannot set permission bits: new "
                          "files get the server's defaults whatever perms says (the https "
                          "transport has no way to set them; perms names a mode: it is not "
                          "applied)") != NULL,
              "%s", out);
    cr_assert(strstr(out, "FAIL") == NULL, "%s", out);
    probe_gone("APACHE_", "hap");
    free(out);
    rslt_rmrf(d);
    free(d);
    free(conf);
    free(pw);
    free(ca);
}
