/* RSYNCD_LITE_PASSWORD (and the daemon's RSYNCD_LITE_PASSWORD_FD) against
 * the fixture's real WebDAV server, with no password_file: the CLI reads the
 * password once at start-up, takes it out of the environment and hands its
 * in-memory copy to the transport (issue 10.16); `check` authenticates with
 * it, a wrong one fails the authentication step, and `run` uploads with it. */
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

/* A job on /dav/<tag>-<pid> that names only the CA: no password_file. */
static char *job(const char *tag, char **dir_out)
{
    char *d = rslt_tmpdir(tag);
    char *www = fx("WWW"), *port = fx("PORT"), *user = fx("USER"), *ca = fx("CA_FILE");
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
            "state = %s/s.db\n[remote]\nca_file = %s\n",
            tag, d, user, port, tag, (int)getpid(), d, ca);
    fclose(f);
    free(www);
    free(port);
    free(user);
    free(ca);
    *dir_out = d;
    return conf;
}

/* The fixture's password, without its trailing newline. */
static char *password(void)
{
    char *file = fx("PASSWORD_FILE");
    char *pw = rslt_read(file, NULL);
    cr_assert_not_null(pw);
    pw[strcspn(pw, "\r\n")] = '\0';
    free(file);
    return pw;
}

Test(check_https, password_from_the_environment_or_a_descriptor)
{
    char *d, *conf = job("henv", &d);
    char *pw = password(), *out = NULL;
    int rc = rslt_sh(&out, NULL, "RSYNCD_LITE_PASSWORD='%s' %s check %s", pw, rslt_bin(), conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "[PASS] authentication") != NULL, "%s", out);
    free(out);
    /* the daemon's way: a descriptor holding it */
    char *pwfile = fx("PASSWORD_FILE");
    rc = rslt_sh(&out, NULL, "RSYNCD_LITE_PASSWORD_FD=7 %s check %s 7<'%s'", rslt_bin(), conf,
                 pwfile);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "[PASS] authentication") != NULL, "%s", out);
    free(out);
    /* a wrong one fails that step */
    rc = rslt_sh(&out, NULL, "RSYNCD_LITE_PASSWORD=not-it %s check %s", rslt_bin(), conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] authentication: ") != NULL, "%s", out);
    free(out);
    /* and a run uploads with it */
    char *err = NULL;
    rc = rslt_sh(&out, &err, "RSYNCD_LITE_PASSWORD='%s' %s run %s", pw, rslt_bin(), conf);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    cr_assert_str_eq(out, "", "a successful run is silent");
    free(out);
    free(err);
    char *www = fx("WWW"), p[8300];
    snprintf(p, sizeof(p), "%s/henv-%d/a.txt", www, (int)getpid());
    cr_assert(rslt_exists(p), "%s not uploaded", p);
    rslt_rmrf(d);
    free(d);
    free(conf);
    free(pw);
    free(pwfile);
    free(www);
}
