/*
 * test_https_remote_check.c - every run checks the remote, also one with
 * nothing to send, against the real Apache and nginx (https://, WebDAV):
 * the root and the sampled files are stat'ed with PROPFIND Depth 0, never a
 * listing; a file changed or gone behind the job's back and a remote folder
 * moved away stop a no-change run with exit 5 and their code; verify
 * --repair puts it right.
 */
#define _GNU_SOURCE /* asprintf */
#include "https_test_util.h"

static int run_bin(const char *dir, char **out, const char *args)
{
    return rslt_sh(out, NULL, "cd '%s' && '%s' %s 2>&1", dir, rslt_bin(), args);
}

BOTH_SERVERS(a_no_change_run_notices_changes_behind_its_back, .timeout = 120)
{
    char *dir = rslt_tmpdir("https-rcheck"), *up = NULL,
         *disk = make_remote_root(srv, "rcheck", &up);
    char *url = url_of(srv, "https", up), *pw = fx(srv, "PASSWORD_FILE"), *ca = fx(srv, "CA_FILE");
    char *conf = NULL, *p = NULL, *moved = NULL;
    cr_assert(asprintf(&conf,
                       "[job]\nname = rc\nsource = src\ndestination = %s\nstate = state/rc.db\n"
                       "[remote]\nusername = rsl\npassword_file = %s\nca_file = %s\n",
                       url, pw, ca) > 0);
    cr_assert(asprintf(&p, "%s/job.conf", dir) > 0);
    rslt_write(p, conf);
    free(p);
    cr_assert(asprintf(&p, "%s/src/a.txt", dir) > 0);
    rslt_write(p, "alpha\n");
    free(p);
    cr_assert(asprintf(&p, "%s/src/sub/b.txt", dir) > 0);
    rslt_write(p, "bravo\n");
    free(p);
    char *out = NULL;
    cr_assert_eq(run_bin(dir, &out, "run job.conf"), 0, "first run: %s", out);
    free(out);
    cr_assert_eq(run_bin(dir, &out, "run job.conf"), 0, "no change, remote intact: %s", out);
    free(out);

    /* a file changed on the server (another size) */
    cr_assert(asprintf(&p, "%s/sub/b.txt", disk) > 0);
    rslt_write(p, "bravo, edited on the server\n");
    free(p);
    int st = run_bin(dir, &out, "run job.conf");
    cr_assert_eq(st, 5, "exit %d: %s", st, out);
    cr_assert(strstr(out, "REMOTE_CHANGED") != NULL && strstr(out, "sub/b.txt") != NULL, "%s", out);
    free(out);
    st = run_bin(dir, &out, "verify job.conf --repair");
    cr_assert_eq(st, 23, "differences found and repaired: exit %d: %s", st, out);
    free(out);
    cr_assert_eq(run_bin(dir, &out, "run job.conf"), 0, "repaired: %s", out);
    free(out);

    /* a file gone */
    cr_assert(asprintf(&p, "%s/a.txt", disk) > 0);
    cr_assert_eq(unlink(p), 0);
    free(p);
    st = run_bin(dir, &out, "run job.conf");
    cr_assert_eq(st, 5, "exit %d: %s", st, out);
    cr_assert(strstr(out, "REMOTE_CHANGED") != NULL && strstr(out, "gone") != NULL, "%s", out);
    free(out);
    st = run_bin(dir, &out, "verify job.conf --repair");
    cr_assert_eq(st, 23, "exit %d: %s", st, out);
    free(out);

    /* the remote folder moved away */
    cr_assert(asprintf(&moved, "%s.moved", disk) > 0);
    rslt_rmrf(moved);
    cr_assert_eq(rename(disk, moved), 0);
    st = run_bin(dir, &out, "run job.conf");
    cr_assert_eq(st, 5, "exit %d: %s", st, out);
    cr_assert(strstr(out, "REMOTE_ROOT_MISSING") != NULL, "%s", out);
    free(out);
    rslt_rmrf(moved);
    rslt_rmrf(dir);
    free(moved);
    free(conf);
    free(url);
    free(pw);
    free(ca);
    free(disk);
    free(up);
    free(dir);
}
