/*
 * End-to-end over file://: what `status` says can be trusted (issue 11).
 * A run with nothing to send still confirms the remote (a remote folder
 * moved away, a file changed behind our back, a new job whose destination
 * does not exist: exit 5); failures of items gone from the source clear;
 * `retry` on a still unreadable directory fails it again; a dry run over
 * max_delete shows its plan, then refuses; the depth limit has its own code;
 * a changed destination is named as the operator wrote it. When the suite
 * runs as root the binary runs as `nobody` (setpriv), so permission faults
 * are real.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"

typedef struct env {
    char *dir;
    char src[4096], dst[4096], conf[4096];
} env;

static const char *as_user(void)
{
    return geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
}

static void write_conf(env *e, const char *job_extra, const char *remote_extra)
{
    char buf[8192];
    snprintf(buf, sizeof(buf),
             "[job]\nname = t\nsource = src\ndestination = file://%s\nstate = state/t.db\n%s\n"
             "[remote]\n%s\n",
             e->dst, job_extra ? job_extra : "", remote_extra ? remote_extra : "");
    rslt_write(e->conf, buf);
}

static void env_new(env *e, const char *tag, const char *job_extra, const char *remote_extra)
{
    e->dir = rslt_tmpdir(tag);
    snprintf(e->src, sizeof(e->src), "%s/src", e->dir);
    snprintf(e->dst, sizeof(e->dst), "%s/dst", e->dir);
    snprintf(e->conf, sizeof(e->conf), "%s/job.conf", e->dir);
    mkdir(e->src, 0755);
    mkdir(e->dst, 0755);
    chmod(e->dir, 0755);
    write_conf(e, job_extra, remote_extra);
}

static void env_free(env *e)
{
    rslt_sh(NULL, NULL, "chmod -R u+rwx '%s'", e->dir);
    rslt_rmrf(e->dir);
    free(e->dir);
}

/* Runs the binary in e->dir with args (as nobody under root); returns the
 * exit code. */
static int run(env *e, char **out, char **err, const char *args)
{
    if (geteuid() == 0)
        rslt_sh(NULL, NULL, "chown -R 65534:65534 '%s'", e->dir);
    return rslt_sh(out, err, "cd '%s' && %s'%s' %s", e->dir, as_user(), rslt_bin(), args);
}

static void put(env *e, const char *rel, const char *content)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", e->src, rel);
    rslt_write(p, content);
}

/* ---- 11.1: every run confirms the remote ---- */

Test(e2e_trust, a_remote_folder_moved_away_fails_a_no_change_run)
{
    env e;
    env_new(&e, "trust-moved", NULL, NULL);
    put(&e, "a.txt", "a");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "mv '%s' '%s.away'", e.dst, e.dst), 0);
    char *err = NULL, *out = NULL;
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 5, "%s", err);
    cr_assert(strstr(err, "REMOTE_ROOT_MISSING") != NULL, "%s", err);
    free(err);
    cr_assert_eq(run(&e, &out, NULL, "status job.conf"), 2, "%s", out);
    cr_assert(strstr(out, "job t: Error") != NULL, "%s", out);
    free(out);
    rslt_sh(NULL, NULL, "mv '%s.away' '%s'", e.dst, e.dst);
    env_free(&e);
}

Test(e2e_trust, a_new_job_with_an_empty_source_and_no_destination_fails)
{
    env e;
    env_new(&e, "trust-new", NULL, NULL);
    rmdir(e.dst);
    char *err = NULL;
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 5, "%s", err);
    cr_assert(strstr(err, "REMOTE_ROOT_MISSING") != NULL, "%s", err);
    free(err);
    /* remote_check = never: nothing to send, nothing asked */
    write_conf(&e, "remote_check = never", NULL);
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    env_free(&e);
}

/* A manifest of 3 files: the sample is all of it, so the changed file is
 * always among the checked ones. */
Test(e2e_trust, a_file_changed_on_the_remote_is_noticed)
{
    env e;
    env_new(&e, "trust-changed", NULL, NULL);
    put(&e, "a.txt", "alpha");
    put(&e, "b.txt", "bravo");
    put(&e, "sub/c.txt", "charlie");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    /* same size, another mtime (file:// sets mtimes: compared in seconds) */
    cr_assert_eq(rslt_sh(NULL, NULL, "touch -d '2001-01-01 00:00:00' '%s/sub/c.txt'", e.dst), 0);
    char *err = NULL;
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 5, "%s", err);
    cr_assert(strstr(err, "REMOTE_CHANGED (428)") != NULL, "%s", err);
    cr_assert(strstr(err, "1 of 3 checked files are gone or differ (first: sub/c.txt: manifest "
                          "mtime ") != NULL,
              "%s", err);
    cr_assert(strstr(err, "verify JOB.conf --repair") != NULL, "%s", err);
    free(err);
    /* another size: noticed too; the repair and a run converge */
    cr_assert_eq(rslt_sh(NULL, NULL, "echo longer > '%s/b.txt'", e.dst), 0);
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 5, "%s", err);
    cr_assert(strstr(err, "2 of 3 checked files") != NULL, "%s", err);
    free(err);
    cr_assert_eq(run(&e, NULL, NULL, "verify job.conf --repair"), 23);
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 0, "%s", err);
    free(err);
    cr_assert_eq(rslt_sh(NULL, NULL, "diff -r '%s' '%s'", e.src, e.dst), 0);
    env_free(&e);
}

/* ---- 11.4: failures of items gone from the source clear ---- */

Test(e2e_trust, renaming_a_file_with_a_forbidden_character_clears_its_failure)
{
    env e;
    env_new(&e, "trust-rename", NULL, "forbidden_chars = :");
    put(&e, "ok.txt", "ok");
    put(&e, "b:ad.txt", "bad name");
    char *out = NULL, *err = NULL;
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 23, "%s", err);
    free(err);
    cr_assert_eq(run(&e, &out, NULL, "status job.conf"), 1);
    cr_assert(strstr(out, "job t: Partial") != NULL, "%s", out);
    free(out);
    cr_assert_eq(rslt_sh(NULL, NULL, "mv '%s/b:ad.txt' '%s/bad.txt'", e.src, e.src), 0);
    cr_assert_eq(run(&e, &out, &err, "run -v job.conf"), 0, "%s", err);
    cr_assert(strstr(out, "create   resolved    b:ad.txt\n         gone from the source\n") != NULL,
              "%s", out);
    free(out);
    free(err);
    cr_assert_eq(run(&e, &out, NULL, "status job.conf"), 0, "%s", out);
    cr_assert(strstr(out, "job t: Healthy") != NULL, "%s", out);
    cr_assert(strstr(out, "b:ad.txt") == NULL, "%s", out);
    free(out);
    cr_assert_eq(run(&e, &out, NULL, "log job.conf --failed"), 0);
    cr_assert(strstr(out, "b:ad.txt") == NULL, "%s", out);
    free(out);
    env_free(&e);
}

/* ---- 11.5: retry on a directory that is still unreadable ---- */

Test(e2e_trust, retry_fails_a_still_unreadable_directory_again)
{
    cr_assert(geteuid() != 0 || rslt_sh(NULL, NULL, "command -v setpriv") == 0);
    env e;
    env_new(&e, "trust-retry", NULL, NULL);
    put(&e, "ok.txt", "ok");
    put(&e, "locked/inside.txt", "inside");
    char *out = NULL, *err = NULL;
    if (geteuid() == 0)
        rslt_sh(NULL, NULL, "chown -R 65534:65534 '%s'", e.dir);
    cr_assert_eq(rslt_sh(NULL, NULL, "chmod 000 '%s/locked'", e.src), 0);
    cr_assert_eq(
        rslt_sh(NULL, NULL, "cd '%s' && %s'%s' run job.conf --json", e.dir, as_user(), rslt_bin()),
        23);
    const char *cmds[] = {"retry job.conf --json", "run job.conf --only-failed --json",
                          "run job.conf --json"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(
            rslt_sh(&out, &err, "cd '%s' && %s'%s' %s", e.dir, as_user(), rslt_bin(), cmds[i]), 23,
            "%s: %s%s", cmds[i], out, err);
        char want[200];
        snprintf(want, sizeof(want),
                 "\"path\":\"locked\",\"action\":\"read\",\"outcome\":\"failed\","
                 "\"code\":\"LOCAL_UNREADABLE\"");
        cr_assert(strstr(out, want) != NULL, "%s: %s", cmds[i], out);
        snprintf(want, sizeof(want), "\"attempts\":%d,", i + 2);
        cr_assert(strstr(out, want) != NULL, "%s: attempt %d expected: %s", cmds[i], i + 2, out);
        cr_assert(strstr(out, "\"path\":\"locked\",\"action\":\"mkdir\",\"outcome\":\"ok\"") ==
                      NULL,
                  "never mkdir ok: %s", out);
        free(out);
        free(err);
    }
    cr_assert_eq(access(e.dst, F_OK), 0);
    char p[8192];
    snprintf(p, sizeof(p), "%s/locked", e.dst);
    cr_assert(!rslt_exists(p), "the unreadable directory is not created remotely");
    env_free(&e);
}

/* ---- 11.12: a dry run over max_delete ---- */

Test(e2e_trust, a_dry_run_over_max_delete_shows_the_plan_then_refuses)
{
    env e;
    env_new(&e, "trust-maxdel", "delete = yes\nmax_delete = 1", NULL);
    put(&e, "a.txt", "a");
    put(&e, "b.txt", "b");
    put(&e, "keep.txt", "k");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    rslt_sh(NULL, NULL, "rm '%s/a.txt' '%s/b.txt'", e.src, e.src);
    put(&e, "new.txt", "n");
    char *out = NULL, *err = NULL;
    cr_assert_eq(run(&e, &out, &err, "run job.conf --dry-run"), 5, "%s%s", out, err);
    cr_assert(strstr(out, "create   new.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "delete   a.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "delete   b.txt") != NULL, "%s", out);
    cr_assert(strstr(err, "the run would refuse: 2 deletions > max_delete = 1 (use --max-delete "
                          "2 once if intended)") != NULL,
              "%s", err);
    free(out);
    free(err);
    cr_assert_eq(run(&e, &out, &err, "run job.conf --dry-run --max-delete 2"), 0, "%s", err);
    free(out);
    free(err);
    env_free(&e);
}

/* ---- 11.14 ---- */

Test(e2e_trust, the_depth_limit_is_reported_as_such)
{
    env e;
    env_new(&e, "trust-deep", NULL, NULL);
    char p[8192];
    size_t n = (size_t)snprintf(p, sizeof(p), "%s", e.src);
    for (int i = 0; i < 258; i++)
        n += (size_t)snprintf(p + n, sizeof(p) - n, "/d");
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p '%s'", p), 0);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 23);
    cr_assert(strstr(out, "\"code\":\"DEPTH_LIMIT\"") != NULL, "%s", out);
    cr_assert(strstr(out, "the tree is deeper than 256 levels") != NULL, "%s", out);
    cr_assert(strstr(out, "LOCAL_UNREADABLE") == NULL, "%s", out);
    free(out);
    cr_assert_eq(rslt_sh(&out, NULL, "'%s' explain DEPTH_LIMIT", rslt_bin()), 0);
    cr_assert(strstr(out, "permissions are not the cause") != NULL, "%s", out);
    free(out);
    env_free(&e);
}

Test(e2e_trust, a_changed_destination_is_named_as_written)
{
    env e;
    env_new(&e, "trust-dest", NULL, NULL);
    put(&e, "a.txt", "a");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    char old[4200];
    snprintf(old, sizeof(old), "%s", e.dst);
    snprintf(e.dst, sizeof(e.dst), "%s/dst2", e.dir);
    mkdir(e.dst, 0755);
    write_conf(&e, NULL, NULL);
    char *err = NULL, *want = NULL;
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 0, "%s", err);
    cr_assert(
        asprintf(&want, "the destination changed (was file://%s, now file://%s)", old, e.dst) > 0);
    cr_assert(strstr(err, want) != NULL, "%s", err);
    cr_assert(strstr(err, "@:0") == NULL, "%s", err);
    free(want);
    free(err);
    env_free(&e);
}
