/* Every run checks the remote (remote_check = every-run, the default), also
 * one with nothing to send, against the fixture's real sshd: the built
 * binary runs job files over sftp://. A remote folder moved away, a file
 * changed or removed behind the job's back, a changed host key and a key
 * the server no longer accepts all stop a no-change run with exit 5 and
 * their own code; `verify --repair` puts a changed remote right; a new job
 * with an empty source and a missing destination does not say success;
 * remote_check = never keeps the old, trusting behaviour. */
#include "sftp_test.h"

struct job {
    char *dir, *src, *conf, *root;
};

static char *sub(const char *a, const char *b)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

/* A job file: job_extra in [job], known_hosts kh and identity key (NULL:
 * the fixture's). */
static void write_conf(const struct job *j, const char *job_extra, const char *kh, const char *key)
{
    char *user = fx("SSH_USER"), *fkey = fx("SSH_KEY"), *fkh = fx("SSH_KNOWN_HOSTS");
    char *text = NULL;
    cr_assert(asprintf(&text,
                       "[job]\nname = rcheck\nsource = %s\ndestination = sftp://%s@127.0.0.1:%d%s\n"
                       "state = %s/state.db\n%s\n[remote]\nidentity_file = %s\nknown_hosts = %s\n",
                       j->src, user, fx_int("SSH_PORT"), j->root, j->dir,
                       job_extra ? job_extra : "", key ? key : fkey, kh ? kh : fkh) > 0);
    rslt_write(j->conf, text);
    free(text);
    free(user);
    free(fkey);
    free(fkh);
}

/* A job whose first run sent a.txt, b.txt and d/c.bin (the sample is all
 * of a manifest this small). */
static struct job pushed_job(const char *tag)
{
    struct job j;
    j.dir = rslt_tmpdir(tag);
    j.root = mkroot(tag);
    j.src = sub(j.dir, "src");
    j.conf = sub(j.dir, "job.conf");
    cr_assert_eq(mkdir(j.src, 0755), 0);
    rslt_write(sub(j.src, "a.txt"), "alpha\n");
    rslt_write(sub(j.src, "b.txt"), "bravo\n");
    rslt_write_random(sub(j.src, "d/c.bin"), 100000, 7);
    write_conf(&j, NULL, NULL, NULL);
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "first run: exit %d\n%s\n%s", rc, out, err);
    rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "no-change run, remote intact: exit %d\n%s\n%s", rc, out, err);
    free(out);
    free(err);
    return j;
}

/* Runs `rsyncd-lite ARGS` and returns the exit code; *text gets stdout and
 * stderr. */
static int run(char **text, const char *args, const struct job *j)
{
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' %s '%s'", rslt_bin(), args, j->conf);
    cr_assert(asprintf(text, "%s\n%s", out ? out : "", err ? err : "") > 0);
    free(out);
    free(err);
    return rc;
}

Test(sftp_remote_check, a_remote_folder_moved_away_stops_a_no_change_run)
{
    struct job j = pushed_job("rc-moved");
    char *moved = NULL, *t = NULL;
    cr_assert(asprintf(&moved, "%s.moved", j.root) > 0);
    cr_assert_eq(rename(j.root, moved), 0);
    int rc = run(&t, "run", &j);
    cr_assert_eq(rc, 5, "exit %d\n%s", rc, t);
    cr_assert(strstr(t, "REMOTE_ROOT_MISSING") != NULL, "%s", t);
    free(t);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s status '%s' >/dev/null", rslt_bin(), j.conf), 2,
                 "status is CRITICAL, not Healthy");
    cr_assert_eq(rename(moved, j.root), 0);
    rc = run(&t, "run", &j);
    cr_assert_eq(rc, 0, "back in place: exit %d\n%s", rc, t);
    free(t);
}

/* The destination names a symlink to a directory (a common layout: ~/www
 * -> /var/www): the check follows the root as connect does, so a no-change
 * run passes (it said "the remote root is no longer a directory" before);
 * nothing beneath the root is followed. */
Test(sftp_remote_check, a_symlinked_remote_root_passes_the_check)
{
    struct job j;
    j.dir = rslt_tmpdir("rc-link");
    char *real = mkroot("rc-link-real");
    j.root = sub(j.dir, "remote-link");
    cr_assert_eq(symlink(real, j.root), 0);
    j.src = sub(j.dir, "src");
    j.conf = sub(j.dir, "job.conf");
    cr_assert_eq(mkdir(j.src, 0755), 0);
    cr_assert_eq(chmod(j.dir, 0755), 0); /* the test user follows the link */
    rslt_write(sub(j.src, "a.txt"), "alpha\n");
    write_conf(&j, NULL, NULL, NULL);
    char *t = NULL;
    int rc = run(&t, "run", &j);
    cr_assert_eq(rc, 0, "first run: exit %d\n%s", rc, t);
    free(t);
    cr_assert(rslt_exists(sub(real, "a.txt")), "sent through the link");
    rc = run(&t, "run", &j);
    cr_assert_eq(rc, 0, "no-change run through a linked root: exit %d\n%s", rc, t);
    free(t);
}

Test(sftp_remote_check, a_file_changed_or_gone_on_the_remote_stops_the_run_and_verify_repairs)
{
    struct job j = pushed_job("rc-changed");
    /* a different size */
    rslt_write(sub(j.root, "b.txt"), "bravo, edited by hand\n");
    char *t = NULL;
    int rc = run(&t, "run", &j);
    cr_assert_eq(rc, 5, "exit %d\n%s", rc, t);
    cr_assert(strstr(t, "REMOTE_CHANGED") != NULL, "%s", t);
    cr_assert(strstr(t, "b.txt") != NULL, "names the file: %s", t);
    cr_assert(strstr(t, "verify") != NULL && strstr(t, "--repair") != NULL, "the fix: %s", t);
    free(t);
    /* the same size, another mtime (the sftp transport sets mtimes) */
    cr_assert_eq(rc = run(&t, "verify --repair", &j), 23, "differences found: exit %d\n%s", rc, t);
    cr_assert(strstr(t, "repair:") != NULL, "%s", t);
    free(t);
    cr_assert_eq(run(&t, "run", &j), 0, "repaired: %s", t);
    free(t);
    cr_assert_eq(rslt_sh(NULL, NULL, "touch -d '2001-01-01' '%s/a.txt'", j.root), 0);
    rc = run(&t, "run", &j);
    cr_assert_eq(rc, 5, "exit %d\n%s", rc, t);
    cr_assert(strstr(t, "REMOTE_CHANGED") != NULL && strstr(t, "mtime") != NULL, "%s", t);
    free(t);
    cr_assert_eq(rc = run(&t, "verify --repair", &j), 23, "differences found: exit %d\n%s", rc, t);
    cr_assert(strstr(t, "repair:") != NULL, "%s", t);
    free(t);
    cr_assert_eq(run(&t, "run", &j), 0, "repaired: %s", t);
    free(t);
    /* gone */
    cr_assert_eq(unlink(sub(j.root, "d/c.bin")), 0);
    rc = run(&t, "run", &j);
    cr_assert_eq(rc, 5, "exit %d\n%s", rc, t);
    cr_assert(strstr(t, "REMOTE_CHANGED") != NULL && strstr(t, "gone") != NULL, "%s", t);
    free(t);
    cr_assert_eq(rc = run(&t, "verify --repair", &j), 23, "differences found: exit %d\n%s", rc, t);
    cr_assert(strstr(t, "repair:") != NULL, "%s", t);
    free(t);
    cr_assert_eq(rc = run(&t, "run", &j), 0, "repaired: exit %d\n%s", rc, t);
    free(t);
    cr_assert_eq(rslt_sh(NULL, NULL, "diff -r '%s' '%s'", j.src, j.root), 0, "trees differ");
}

Test(sftp_remote_check, never_trusts_the_manifest)
{
    struct job j = pushed_job("rc-never");
    write_conf(&j, "remote_check = never", NULL, NULL);
    cr_assert_eq(unlink(sub(j.root, "a.txt")), 0);
    char *t = NULL;
    int rc = run(&t, "run", &j);
    cr_assert_eq(rc, 0, "remote_check = never: exit %d\n%s", rc, t);
    free(t);
}

Test(sftp_remote_check, a_changed_host_key_is_noticed_on_a_no_change_run)
{
    struct job j = pushed_job("rc-hostkey");
    /* known_hosts now holds another key for the server */
    char *kh = sub(j.dir, "other_known_hosts"), *k = sub(j.dir, "otherkey");
    cr_assert_eq(rslt_sh(NULL, NULL, "ssh-keygen -q -t ed25519 -N '' -f '%s'", k), 0);
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "printf '[127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1,2 '%s.pub')\" > '%s'",
                         fx_int("SSH_PORT"), k, kh),
                 0);
    write_conf(&j, NULL, kh, NULL);
    char *t = NULL;
    int rc = run(&t, "run", &j);
    cr_assert_eq(rc, 5, "exit %d\n%s", rc, t);
    cr_assert(strstr(t, "HOSTKEY_CHANGED") != NULL, "%s", t);
    free(t);
}

Test(sftp_remote_check, a_key_the_server_no_longer_accepts_is_noticed_on_a_no_change_run)
{
    struct job j = pushed_job("rc-auth");
    char *k = sub(j.dir, "otherkey");
    cr_assert_eq(rslt_sh(NULL, NULL, "ssh-keygen -q -t ed25519 -N '' -f '%s'", k), 0);
    write_conf(&j, NULL, NULL, k);
    char *t = NULL;
    int rc = run(&t, "run", &j);
    cr_assert_eq(rc, 5, "exit %d\n%s", rc, t);
    cr_assert(strstr(t, "AUTH_FAILED") != NULL, "%s", t);
    cr_assert(strstr(t, "passphrase") == NULL, "not a passphrase problem: %s", t);
    free(t);
}

Test(sftp_remote_check, an_empty_source_and_a_missing_destination_is_not_success)
{
    struct job j;
    j.dir = rslt_tmpdir("rc-empty");
    j.root = mkroot("rc-empty");
    rslt_rmrf(j.root); /* the destination does not exist */
    j.src = sub(j.dir, "src");
    j.conf = sub(j.dir, "job.conf");
    cr_assert_eq(mkdir(j.src, 0755), 0);
    write_conf(&j, NULL, NULL, NULL);
    char *t = NULL;
    int rc = run(&t, "run", &j);
    cr_assert_eq(rc, 5, "exit %d\n%s", rc, t);
    cr_assert(strstr(t, "REMOTE_ROOT_MISSING") != NULL, "%s", t);
    free(t);
}

/* HOSTKEY_UNKNOWN: the known_hosts line to add is printed once (the run's
 * summary refers to the error above instead of repeating it). */
Test(sftp_remote_check, an_unknown_host_key_prints_the_line_to_add_once)
{
    struct job j = pushed_job("rc-unknown");
    char *kh = sub(j.dir, "empty_known_hosts");
    rslt_write(kh, "");
    write_conf(&j, NULL, kh, NULL);
    char *t = NULL;
    int rc = run(&t, "run", &j);
    cr_assert_eq(rc, 5, "exit %d\n%s", rc, t);
    cr_assert(strstr(t, "HOSTKEY_UNKNOWN") != NULL, "%s", t);
    const char *first = strstr(t, "add this line");
    cr_assert(first != NULL, "%s", t);
    cr_assert_null(strstr(first + 1, "add this line"), "printed twice:\n%s", t);
    char *line = NULL;
    cr_assert(asprintf(&line, "[127.0.0.1]:%d ssh-ed25519 ", fx_int("SSH_PORT")) > 0);
    first = strstr(t, line);
    cr_assert(first != NULL, "%s", t);
    cr_assert_null(strstr(first + 1, line), "the line twice:\n%s", t);
    free(line);
    free(t);
}
