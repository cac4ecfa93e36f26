/* Every run checks the remote, also one with nothing to send, against the
 * fixture's vsftpd (ftps://): the remote root and the sampled files are
 * stat'ed (MLST, or SIZE/MDTM/CWD; never a listing); a file changed or gone
 * behind the job's back and a remote folder moved away stop a no-change run
 * with exit 5 and their code, and verify --repair puts it right. */
#include "ftps_test.h"

static void write_job(fx *f, const char *path, const char *src, const char *remote,
                      const char *state)
{
    char buf[8192];
    snprintf(buf, sizeof(buf),
             "[job]\nname = rcheck\nsource = %s\ndestination = ftps://%s@%s:%d/data/%s\n"
             "state = %s\n[remote]\npassword_file = %s\nca_file = %s\n",
             src, f->user, f->host, f->port, remote, state, f->pwfile, f->ca);
    rslt_write(path, buf);
}

static int run(char **out, const char *args, const char *job)
{
    return rslt_sh(out, NULL, "'%s' %s '%s' 2>&1", rslt_bin(), args, job);
}

Test(ftps_remote_check, a_no_change_run_notices_changes_behind_its_back, .timeout = 120)
{
    fx f;
    fx_load(&f);
    char local[4096];
    snprintf(local, sizeof(local), "%s/rcheck", f.datadir);
    rslt_rmrf(local);
    cr_assert_eq(mkdir(local, 0755), 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "chown %s '%s'", f.user, local), 0);
    char *d = rslt_tmpdir("ftps-rcheck");
    char src[4200], p[4400], job[4200], state[4200], moved[4200];
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(p, sizeof(p), "%s/a.txt", src);
    rslt_write(p, "alpha\n");
    snprintf(p, sizeof(p), "%s/sub/b.txt", src);
    rslt_write(p, "bravo\n");
    snprintf(job, sizeof(job), "%s/job.conf", d);
    snprintf(state, sizeof(state), "%s/state.db", d);
    write_job(&f, job, src, "rcheck", state);
    char *out = NULL;
    cr_assert_eq(run(&out, "run", job), 0, "first run: %s", out);
    free(out);
    cr_assert_eq(run(&out, "run", job), 0, "no change, remote intact: %s", out);
    free(out);

    /* a file changed on the server (another size) */
    snprintf(p, sizeof(p), "%s/sub/b.txt", local);
    rslt_write(p, "bravo, edited on the server\n");
    int st = run(&out, "run", job);
    cr_assert_eq(st, 5, "exit %d: %s", st, out);
    cr_assert(strstr(out, "REMOTE_CHANGED") != NULL && strstr(out, "sub/b.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "--repair") != NULL, "%s", out);
    free(out);
    st = run(&out, "verify --repair", job);
    cr_assert_eq(st, 23, "differences found and repaired: exit %d: %s", st, out);
    free(out);
    cr_assert_eq(run(&out, "run", job), 0, "repaired: %s", out);
    free(out);
    cr_assert_eq(rslt_sh(NULL, NULL, "diff -r '%s' '%s'", src, local), 0, "trees differ");

    /* the remote folder moved away */
    snprintf(moved, sizeof(moved), "%s.moved", local);
    rslt_rmrf(moved);
    cr_assert_eq(rename(local, moved), 0);
    st = run(&out, "run", job);
    cr_assert_eq(st, 5, "exit %d: %s", st, out);
    cr_assert(strstr(out, "REMOTE_ROOT_MISSING") != NULL, "%s", out);
    free(out);
    rslt_rmrf(moved);
    rslt_rmrf(d);
    free(d);
    fx_free(&f);
}
