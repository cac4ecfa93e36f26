/*
 * End-to-end tests: the built binary on temp trees with a file:// remote.
 * Each test makes its own tree. When the suite runs as root, the binary runs
 * as `nobody` (setpriv), so permission faults are real.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state/state.h"
#include "tests/support/harness.h"

typedef struct env {
    char *dir;
    char src[4096], dst[4096], conf[4096], db[4096], bin[4096];
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
    snprintf(e->db, sizeof(e->db), "%s/state/t.db", e->dir);
    snprintf(e->bin, sizeof(e->bin), "%s/rsyncd-lite", e->dir);
    mkdir(e->src, 0755);
    mkdir(e->dst, 0755);
    chmod(e->dir, 0755);
    cr_assert_eq(rslt_sh(NULL, NULL, "cp '%s' '%s'", rslt_bin(), e->bin), 0);
    write_conf(e, job_extra, remote_extra);
}

static void env_free(env *e)
{
    rslt_rmrf(e->dir);
    free(e->dir);
}

static void fix_owner(env *e)
{
    if (geteuid() == 0)
        rslt_sh(NULL, NULL, "chown -R 65534:65534 '%s'", e->dir);
}

/* Runs the binary in e->dir with args; returns the exit code. */
static int run(env *e, char **out, char **err, const char *args)
{
    fix_owner(e);
    return rslt_sh(out, err, "cd '%s' && %s'%s' %s", e->dir, as_user(), e->bin, args);
}

static void put(env *e, const char *rel, const char *content)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", e->src, rel);
    rslt_write(p, content);
}

static char *path_in(const char *base, const char *rel)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", base, rel);
    return p;
}

static int exists_in(const char *base, const char *rel)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    return rslt_exists(p);
}

/* The number after "key": in the summary object (the line with "summary":true). */
static long long summary_num(const char *out, const char *key)
{
    const char *line = strstr(out, "{\"summary\":true");
    cr_assert_not_null(line, "no summary in: %s", out);
    char k[128];
    snprintf(k, sizeof(k), "\"%s\":", key);
    const char *p = strstr(line, k);
    cr_assert_not_null(p, "no %s in summary", key);
    return strtoll(p + strlen(k), NULL, 10);
}

static int trees_equal(env *e)
{
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "diff -r --no-dereference '%s' '%s'", e->src, e->dst);
    if (rc != 0)
        fprintf(stderr, "trees differ:\n%s", out);
    free(out);
    return rc == 0;
}

static int integrity_ok(env *e)
{
    rsl_state *st;
    rsl_err er;
    if (rsl_state_open(&st, e->db, RSL_STATE_READONLY, &er) != RSL_OK)
        return 0;
    int ok = rsl_state_integrity_ok(st);
    rsl_state_close(st);
    return ok;
}

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts the binary in the background; returns its pid. */
static pid_t run_bg(env *e, const char *args)
{
    fix_owner(e);
    char *out = NULL;
    rslt_sh(&out, NULL, "cd '%s' && { %s'%s' %s >bg.out 2>bg.err & echo $!; }", e->dir, as_user(),
            e->bin, args);
    pid_t pid = (pid_t)strtol(out, NULL, 10);
    free(out);
    cr_assert_gt(pid, 0);
    return pid;
}

static int wait_pid_exit(pid_t pid, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 20; i++) {
        if (kill(pid, 0) != 0)
            return 1;
        msleep(20);
    }
    return 0;
}

/* Waits until path exists with at least min bytes. */
static long long wait_size(const char *path, long long min, int timeout_ms)
{
    long long s = -1;
    for (int i = 0; i < timeout_ms / 10; i++) {
        s = rslt_size(path);
        if (s >= min)
            return s;
        msleep(10);
    }
    return s;
}

/* ---- 3. first run, symlinks, type changes; 4. no-change run ---- */

Test(e2e, first_run_copies_tree_then_no_change_run_touches_nothing)
{
    env e;
    env_new(&e, "first", NULL, NULL);
    put(&e, "a/b/c.txt", "ccc");
    put(&e, "top.txt", "top");
    char *empty = path_in(e.src, "empty/inner");
    rslt_sh(NULL, NULL, "mkdir -p '%s' && touch -d '2001-02-03 04:05:06' '%s/top.txt'", empty,
            e.src);
    rslt_sh(NULL, NULL, "ln -s top.txt '%s/link'", e.src);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    cr_assert_eq(summary_num(out, "files_applied"), 2);
    cr_assert_eq(summary_num(out, "dirs_applied"), 4); /* a, a/b, empty, empty/inner */
    cr_assert_eq(summary_num(out, "skipped"), 1);
    cr_assert(strstr(out, "\"path\":\"link\",\"action\":\"skip\",\"outcome\":\"skipped\","
                          "\"code\":\"SYMLINK_SKIPPED\"") != NULL,
              "%s", out);
    free(out);
    char *dtop = path_in(e.dst, "top.txt"), *dempty = path_in(e.dst, "empty/inner");
    struct stat sb;
    cr_assert_eq(stat(dtop, &sb), 0);
    cr_assert_eq(sb.st_mtime, 981173106); /* 2001-02-03 04:05:06 UTC */
    cr_assert_eq(stat(dempty, &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));
    cr_assert_not(exists_in(e.dst, "link"));
    /* state files are private */
    cr_assert_eq(stat(e.db, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);

    /* no change: nothing read, nothing written to the remote. Make every
     * source file unreadable and the remote read-only: any read or remote
     * write would now fail (the remote check only stats the root and the
     * files, which is allowed). */
    rslt_sh(NULL, NULL, "chmod 000 '%s/top.txt' '%s/a/b/c.txt'", e.src, e.src);
    fix_owner(&e);
    rslt_sh(NULL, NULL, "chmod -R a-w '%s'", e.dst);
    cr_assert_eq(rslt_sh(NULL, NULL, "cd '%s' && %s touch dst/w", e.dir, as_user()), 1,
                 "the remote is read-only for the run's user");
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    cr_assert_eq(summary_num(out, "transferred_bytes"), 0);
    cr_assert_eq(summary_num(out, "files_applied"), 0);
    /* files only (top.txt, a/b/c.txt): directories are not "unchanged files" */
    cr_assert_eq(summary_num(out, "unchanged"), 2, "%s", out);
    cr_assert_eq(summary_num(out, "scanned_dirs"), 4);
    free(out);
    rslt_sh(NULL, NULL, "chmod -R u+w '%s'", e.dst);
    free(dtop);
    free(dempty);
    free(empty);
    env_free(&e);
}

Test(e2e, follow_symlinks_inside_root_only)
{
    env e;
    env_new(&e, "follow", "follow_symlinks = yes", NULL);
    put(&e, "real/f.txt", "inside");
    char *outside = path_in(e.dir, "outside.txt");
    rslt_write(outside, "secret");
    rslt_sh(NULL, NULL,
            "cd '%s' && ln -s real/f.txt in.txt && ln -s real dirlink && ln -s '%s' out", e.src,
            outside);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    cr_assert(strstr(out, "\"path\":\"out\",\"action\":\"skip\",\"outcome\":\"skipped\","
                          "\"code\":\"SYMLINK_OUTSIDE\"") != NULL,
              "%s", out);
    char *p = path_in(e.dst, "in.txt"), *q = path_in(e.dst, "dirlink/f.txt");
    char *got = rslt_read(p, NULL), *got2 = rslt_read(q, NULL);
    cr_assert_str_eq(got, "inside");
    cr_assert_str_eq(got2, "inside");
    cr_assert_not(exists_in(e.dst, "out"));
    free(got);
    free(got2);
    free(p);
    free(q);
    free(out);
    free(outside);
    env_free(&e);
}

Test(e2e, change_add_delete_applies_exactly_three)
{
    env e;
    env_new(&e, "three", "delete = yes", NULL);
    for (int i = 0; i < 20; i++) {
        char n[64];
        snprintf(n, sizeof(n), "d%d/f%d.txt", i % 4, i);
        put(&e, n, "same");
    }
    put(&e, "change.txt", "v1");
    put(&e, "gone.txt", "bye");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    put(&e, "change.txt", "version two");
    put(&e, "new.txt", "new");
    char *g = path_in(e.src, "gone.txt");
    unlink(g);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    cr_assert_eq(rslt_count(out, "\"path\":"), 3, "%s", out);
    cr_assert(strstr(
        out,
        "{\"type\":\"item\",\"path\":\"change.txt\",\"action\":\"update\",\"outcome\":\"ok\""));
    cr_assert(strstr(
        out, "{\"type\":\"item\",\"path\":\"new.txt\",\"action\":\"create\",\"outcome\":\"ok\""));
    cr_assert(strstr(
        out, "{\"type\":\"item\",\"path\":\"gone.txt\",\"action\":\"delete\",\"outcome\":\"ok\""));
    cr_assert_eq(summary_num(out, "deletes_applied"), 1);
    cr_assert_eq(summary_num(out, "transferred_bytes"), 14);
    cr_assert(trees_equal(&e));
    free(out);
    free(g);
    env_free(&e);
}

Test(e2e, type_changes_both_ways)
{
    env e;
    env_new(&e, "types", NULL, NULL);
    put(&e, "x", "a file");
    put(&e, "y/inner/deep.txt", "deep");
    put(&e, "y/z.txt", "z");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    rslt_sh(NULL, NULL,
            "cd '%s' && rm x && mkdir x && echo now-a-dir > x/f && rm -r y && "
            "echo now-a-file > y",
            e.src);
    char *out = NULL, *err = NULL;
    int rc = run(&e, &out, &err, "run job.conf --json");
    cr_assert_eq(rc, 0, "%s %s", out, err);
    cr_assert(trees_equal(&e), "%s", out);
    free(out);
    free(err);
    /* and a quiet run afterwards */
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0);
    cr_assert_eq(summary_num(out, "transferred_bytes"), 0);
    free(out);
    env_free(&e);
}

/* ---- 5. temp name, SIGKILL, resume ---- */

Test(e2e, sigkill_mid_upload_leaves_no_final_name_and_resumes, .timeout = 120)
{
    env e;
    env_new(&e, "kill", "bwlimit = 2M", NULL);
    char *big = path_in(e.src, "big.bin");
    const long long total = 8ll << 20;
    rslt_write_random(big, (uint64_t)total, 7);
    char *tmp = path_in(e.dst, "big.bin.rsl-part"), *fin = path_in(e.dst, "big.bin");
    pid_t pid = run_bg(&e, "run job.conf");
    cr_assert_geq(wait_size(tmp, 2ll << 20, 20000), 2ll << 20, "temp file never grew");
    kill(pid, SIGKILL);
    cr_assert(wait_pid_exit(pid, 5000));
    long long partial = rslt_size(tmp);
    cr_assert_lt(partial, total);
    cr_assert_not(rslt_exists(fin), "a partial file under the final name");
    cr_assert(integrity_ok(&e));
    /* resume without the limit */
    write_conf(&e, NULL, NULL);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    long long sent = summary_num(out, "transferred_bytes");
    cr_assert_leq(sent, total - partial, "sent %lld, remote had %lld of %lld", sent, partial,
                  total);
    cr_assert_gt(sent, 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s' '%s'", big, fin), 0);
    cr_assert_not(rslt_exists(tmp));
    free(out);
    free(big);
    free(tmp);
    free(fin);
    env_free(&e);
}

Test(e2e, sigkill_at_many_points_keeps_db_intact_and_converges, .timeout = 180)
{
    env e;
    env_new(&e, "chaos", "delete = yes\nbwlimit = 6M\ntransfers = 3", NULL);
    for (int i = 0; i < 150; i++) {
        char n[64], c[64];
        snprintf(n, sizeof(n), "d%d/s%d/f%03d.txt", i % 5, i % 3, i);
        snprintf(c, sizeof(c), "content %d", i);
        put(&e, n, c);
    }
    char *big = path_in(e.src, "d0/big.bin");
    rslt_write_random(big, 3u << 20, 3);
    srand(42);
    for (int round = 0; round < 6; round++) {
        /* churn: change, add and delete between kills */
        char n[8192];
        snprintf(n, sizeof(n), "d1/new%d.txt", round);
        put(&e, n, "new");
        snprintf(n, sizeof(n), "%s/d2/s%d/f%03d.txt", e.src, round % 3, 2 + round * 15);
        unlink(n);
        pid_t pid = run_bg(&e, "run job.conf");
        msleep(20 + rand() % 400);
        kill(pid, SIGKILL);
        cr_assert(wait_pid_exit(pid, 5000));
        cr_assert(integrity_ok(&e), "state db damaged after kill in round %d", round);
    }
    write_conf(&e, "delete = yes", NULL);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    free(out);
    cr_assert(trees_equal(&e));
    /* no temp files left behind */
    char *found = NULL;
    rslt_sh(&found, NULL, "find '%s' -name '*.rsl-part'", e.dst);
    cr_assert_str_eq(found, "");
    free(found);
    free(big);
    env_free(&e);
}

/* ---- 6. validation ---- */

Test(e2e, validation_breaches_fail_alone_with_rule_limit_and_value)
{
    env e;
    env_new(&e, "valid", NULL,
            "forbidden_chars = \\:*?\"<>|\nmax_name_length = 30\nmax_file_size = 1K\n"
            "allow_empty_files = no\nmax_path_length = 4096");
    put(&e, "ok.txt", "fine");
    put(&e, "co:lon.txt", "x");
    put(&e, "cr\rname.txt", "x");
    put(&e, "bad\xff.txt", "x");
    put(&e, "this-name-is-definitely-longer-than-thirty.txt", "x");
    put(&e, "empty.txt", "");
    char *big = path_in(e.src, "big.bin");
    rslt_write_random(big, 2048, 1);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 23, "%s", out);
    const char *want[][2] = {
        {"co:lon.txt", "NAME_FORBIDDEN_CHAR"},
        {"cr\\rname.txt", "NAME_CONTROL_CHAR"},
        /* not UTF-8: U+FFFD in "path", the exact bytes in "path_bytes" */
        {"bad\xef\xbf\xbd.txt\",\"path_bytes\":\"YmFk/y50eHQ=", "NAME_INVALID_UTF8"},
        {"this-name-is-definitely-longer-than-thirty.txt", "NAME_TOO_LONG"},
        {"empty.txt", "FILE_EMPTY"},
        {"big.bin", "FILE_TOO_LARGE"},
    };
    for (size_t i = 0; i < 6; i++) {
        char needle[512];
        snprintf(needle, sizeof(needle),
                 "\"path\":\"%s\",\"action\":\"create\",\"outcome\":\"failed\",\"code\":\"%s\"",
                 want[i][0], want[i][1]);
        cr_assert(strstr(out, needle) != NULL, "missing %s in %s", needle, out);
    }
    cr_assert(strstr(out, "rule: max_name_length = 30") != NULL);
    cr_assert(strstr(out, "2.0 KiB (2048 bytes) (rule: max_file_size = 1.0 KiB (1024 bytes))"));
    cr_assert_eq(summary_num(out, "files_applied"), 1);
    cr_assert_eq(summary_num(out, "item_errors"), 6);
    char *ok = path_in(e.dst, "ok.txt");
    cr_assert(rslt_exists(ok));
    free(ok);
    free(out);
    /* path length counted with the remote root and the temp suffix */
    char remote[8192];
    snprintf(remote, sizeof(remote), "max_path_length = %zu", strlen(e.dst) + 1 + 6 + 5);
    /* "ok.txt" fits only without ".rsl-part"; the remote is emptied behind
     * the manifest's back below, which the remote check would stop at */
    write_conf(&e, "remote_check = never", remote);
    rslt_sh(NULL, NULL, "rm -f '%s'/*; echo changed > '%s/ok.txt'", e.dst, e.src);
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 23);
    cr_assert(strstr(out, "\"path\":\"ok.txt\",\"action\":\"update\",\"outcome\":\"failed\","
                          "\"code\":\"PATH_TOO_LONG\"") != NULL,
              "%s", out);
    cr_assert(strstr(out, "temp suffix '.rsl-part'") != NULL);
    free(out);
    free(big);
    env_free(&e);
}

/* ---- 7. failure isolation ---- */

Test(e2e, unreadable_file_is_persistent_then_deferred_then_retried)
{
    env e;
    env_new(&e, "unread", NULL, NULL);
    put(&e, "a.txt", "a");
    put(&e, "secret.txt", "s");
    put(&e, "z.txt", "z");
    char *s = path_in(e.src, "secret.txt");
    fix_owner(&e);
    chmod(s, 0);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 23, "%s", out);
    cr_assert(strstr(out, "\"path\":\"secret.txt\",\"action\":\"create\",\"outcome\":\"failed\","
                          "\"code\":\"LOCAL_UNREADABLE\",\"code_number\":211,\"class\":"
                          "\"persistent\"") != NULL,
              "%s", out);
    cr_assert_eq(summary_num(out, "files_applied"), 2);
    cr_assert_eq(summary_num(out, "failed_files"), 1);
    cr_assert_str_eq(strstr(out, "\"outcome\":\"partial_failure\"") ? "y" : "n", "y");
    free(out);
    /* a normal run does not hammer it: deferred until the retry interval */
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 23);
    cr_assert(strstr(out, "\"path\":\"secret.txt\",\"action\":\"create\",\"outcome\":\"deferred\","
                          "\"code\":\"RETRY_DEFERRED\"") != NULL,
              "%s", out);
    free(out);
    char *st = NULL;
    cr_assert_eq(run(&e, &st, NULL, "status job.conf"), 1, "Partial is a WARNING");
    cr_assert(strstr(st, "job t: Partial") != NULL, "%s", st);
    cr_assert(strstr(st, "LOCAL_UNREADABLE (211, persistent), 1 attempt(s), next retry 20") != NULL,
              "%s", st);
    free(st);
    /* the operator fixes it; `retry` re-attempts only the failing item */
    chmod(s, 0644);
    cr_assert_eq(run(&e, &out, NULL, "retry job.conf --json"), 0, "%s", out);
    cr_assert_eq(rslt_count(out, "\"path\":"), 1, "%s", out);
    cr_assert(strstr(out, "\"path\":\"secret.txt\",\"action\":\"create\",\"outcome\":\"ok\""));
    free(out);
    cr_assert(trees_equal(&e));
    cr_assert_eq(run(&e, &st, NULL, "status job.conf"), 0);
    cr_assert(strstr(st, "job t: Healthy") != NULL, "%s", st);
    cr_assert(strstr(st, "failing now: 0 item(s)") != NULL);
    free(st);
    free(s);
    env_free(&e);
}

Test(e2e, persistent_failure_retried_at_once_when_the_file_changes)
{
    env e;
    env_new(&e, "chg", NULL, NULL);
    put(&e, "secret.txt", "s");
    char *s = path_in(e.src, "secret.txt");
    fix_owner(&e);
    chmod(s, 0);
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 23);
    chmod(s, 0644);
    put(&e, "secret.txt", "changed content");
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    cr_assert(strstr(out, "\"path\":\"secret.txt\",\"action\":\"create\",\"outcome\":\"ok\""));
    free(out);
    free(s);
    env_free(&e);
}

Test(e2e, file_vanishing_between_scan_and_upload_exits_24, .timeout = 60)
{
    env e;
    env_new(&e, "vanish", "transfers = 1\nbwlimit = 1M", NULL);
    char *big = path_in(e.src, "a.big");
    rslt_write_random(big, 2u << 20, 5);
    char *tmp = path_in(e.dst, "a.big.rsl-part"), *z = path_in(e.src, "z.txt");
    /* z.txt is big too (1.5 MiB): its first step is also the removal of a
     * stale temp, so its upload starts after a.big's (the next step of an
     * item already started goes first), while a.big is under way */
    rslt_write_random(z, 3u << 19, 6);
    pid_t pid = run_bg(&e, "run job.conf --json");
    cr_assert_geq(wait_size(tmp, 1, 20000), 1);
    unlink(z);
    cr_assert(wait_pid_exit(pid, 30000));
    char *out = NULL, *code = NULL;
    char *bo = path_in(e.dir, "bg.out");
    out = rslt_read(bo, NULL);
    cr_assert(strstr(out, "\"path\":\"z.txt\",\"action\":\"create\",\"outcome\":\"failed\","
                          "\"code\":\"LOCAL_VANISHED\"") != NULL,
              "%s", out);
    cr_assert_eq(summary_num(out, "exit_code"), 24);
    cr_assert_eq(summary_num(out, "files_applied"), 1);
    free(out);
    free(code);
    free(bo);
    /* next run: it is simply gone, nothing failing */
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    free(out);
    free(big);
    free(tmp);
    free(z);
    env_free(&e);
}

Test(e2e, file_changing_during_upload_is_transient_and_retried, .timeout = 60)
{
    env e;
    env_new(&e, "grow", "bwlimit = 1M", NULL);
    char *big = path_in(e.src, "log.bin");
    rslt_write_random(big, 2u << 20, 9);
    char *tmp = path_in(e.dst, "log.bin.rsl-part");
    pid_t pid = run_bg(&e, "run job.conf --json");
    cr_assert_geq(wait_size(tmp, 1, 20000), 1);
    rslt_sh(NULL, NULL, "echo appended >> '%s'", big);
    cr_assert(wait_pid_exit(pid, 30000));
    char *bo = path_in(e.dir, "bg.out");
    char *out = rslt_read(bo, NULL);
    cr_assert(strstr(out,
                     "\"path\":\"log.bin\",\"action\":\"create\",\"outcome\":\"failed\","
                     "\"code\":\"LOCAL_CHANGED\",\"code_number\":213,\"class\":\"transient\"") !=
                  NULL,
              "%s", out);
    cr_assert_eq(summary_num(out, "exit_code"), 23);
    free(out);
    char *fin = path_in(e.dst, "log.bin");
    cr_assert_not(rslt_exists(fin));
    /* transient: retried on the very next run */
    write_conf(&e, NULL, NULL);
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s' '%s'", big, fin), 0);
    free(out);
    free(bo);
    free(fin);
    free(big);
    free(tmp);
    env_free(&e);
}

/* ---- 9. log, status ---- */

Test(e2e, log_run_failed_json)
{
    env e;
    env_new(&e, "log", NULL, "forbidden_chars = :");
    put(&e, "good.txt", "g");
    put(&e, "b:ad.txt", "b");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 23);
    put(&e, "good2.txt", "g2");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 23);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "log job.conf --run 1 --json"), 0);
    cr_assert_eq(rslt_count(out, "\n"), 2, "%s", out);
    cr_assert(strstr(out, "{\"type\":\"item\",\"path\":\"b:ad.txt\",\"action\":\"create\","
                          "\"outcome\":\"failed\","
                          "\"code\":\"NAME_FORBIDDEN_CHAR\",\"code_number\":201,\"class\":"
                          "\"persistent\",\"message\":") != NULL,
              "%s", out);
    cr_assert(strstr(out, "\"attempts\":1,\"bytes\":0,") != NULL);
    cr_assert(strstr(out, "{\"type\":\"item\",\"path\":\"good.txt\",\"action\":\"create\","
                          "\"outcome\":\"ok\",\"code\":\"OK\",\"code_number\":0,\"class\":null,"
                          "\"message\":null,\"detail\":null,\"attempts\":1,\"bytes\":1,") != NULL,
              "%s", out);
    free(out);
    cr_assert_eq(run(&e, &out, NULL, "log job.conf --failed"), 0);
    cr_assert(strstr(out, "# run 2") != NULL, "%s", out);
    cr_assert(strstr(out, "b:ad.txt") != NULL);
    cr_assert(strstr(out, "good2.txt") == NULL);
    cr_assert(strstr(out, "NAME_FORBIDDEN_CHAR (201, persistent), attempt 2") != NULL, "%s", out);
    free(out);
    cr_assert_eq(run(&e, &out, NULL, "log job.conf --run 99"), 1);
    free(out);
    cr_assert_eq(run(&e, &out, NULL, "status job.conf --json"), 1, "Partial is a WARNING");
    cr_assert(strstr(out, "\"health\":\"Partial\",\"severity\":\"warning\",\"exit_code\":1") !=
                  NULL,
              "%s", out);
    cr_assert(strstr(out, "\"failing\":[{\"path\":\"b:ad.txt\"") != NULL, "%s", out);
    free(out);
    env_free(&e);
}

/* ---- 11, 12. push, dry run ---- */

Test(e2e, push_dry_run_changes_nothing_then_push_and_delete)
{
    env e;
    env_new(&e, "push", NULL, NULL);
    put(&e, "a/1.txt", "1");
    put(&e, "2.txt", "2");
    char *out = NULL;
    char args[8192];
    snprintf(args, sizeof(args), "push src file://%s --state pstate/p.db --dry-run", e.dst);
    cr_assert_eq(run(&e, &out, NULL, args), 0, "%s", out);
    cr_assert(strstr(out, "mkdir    a  (directory)") != NULL, "%s", out);
    cr_assert(strstr(out, "create   a/1.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "create   2.txt") != NULL, "%s", out);
    free(out);
    char *pst = path_in(e.dir, "pstate/p.db");
    cr_assert_not(rslt_exists(pst), "dry run created the state db");
    char *listing = NULL;
    rslt_sh(&listing, NULL, "ls -A '%s'", e.dst);
    cr_assert_str_eq(listing, "");
    free(listing);
    snprintf(args, sizeof(args), "push src file://%s --state pstate/p.db --json", e.dst);
    cr_assert_eq(run(&e, &out, NULL, args), 0, "%s", out);
    cr_assert_eq(summary_num(out, "files_applied"), 2);
    free(out);
    cr_assert(trees_equal(&e));
    char *two = path_in(e.src, "2.txt");
    unlink(two);
    /* dry run of a delete: planned, not done */
    snprintf(args, sizeof(args), "push src file://%s --state pstate/p.db --delete --dry-run",
             e.dst);
    cr_assert_eq(run(&e, &out, NULL, args), 0);
    cr_assert(strstr(out, "delete   2.txt") != NULL, "%s", out);
    free(out);
    char *d2 = path_in(e.dst, "2.txt");
    cr_assert(rslt_exists(d2));
    snprintf(args, sizeof(args), "push src file://%s --state pstate/p.db --delete", e.dst);
    cr_assert_eq(run(&e, &out, NULL, args), 0);
    cr_assert_not(rslt_exists(d2));
    cr_assert(trees_equal(&e));
    free(out);
    free(two);
    free(d2);
    free(pst);
    env_free(&e);
}

/* ---- 14. exit codes; 2. config errors ---- */

Test(e2e, exit_codes_config_session_lock)
{
    env e;
    env_new(&e, "codes", "bogus_key = 1", NULL);
    char *err = NULL;
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 1);
    cr_assert(strstr(err, "job.conf:6: bogus_key: unknown key in [job]") != NULL, "%s", err);
    free(err);
    cr_assert_eq(run(&e, NULL, &err, "run"), 1);
    free(err);
    write_conf(&e, NULL, NULL);
    put(&e, "f.txt", "f");
    rmdir(e.dst);
    char *out = NULL;
    cr_assert_eq(run(&e, &out, &err, "run job.conf"), 5);
    cr_assert(strstr(err, "REMOTE_ROOT_MISSING (411)") != NULL, "%s", err);
    cr_assert(strstr(err, "fix: Create the destination directory") != NULL, "%s", err);
    free(err);
    free(out);
    mkdir(e.dst, 0755);
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    /* another run holds the lock: exit 75 at once */
    char lock[4200];
    snprintf(lock, sizeof(lock), "%s.lock", e.db);
    pid_t holder = 0;
    char *pid = NULL;
    rslt_sh(&pid, NULL, "{ flock -x '%s' sleep 30 >/dev/null 2>&1 & echo $!; }", lock);
    holder = (pid_t)strtol(pid, NULL, 10);
    free(pid);
    msleep(300);
    time_t t0 = time(NULL);
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 75);
    cr_assert_leq(time(NULL) - t0, 5);
    cr_assert(strstr(err, "JOB_LOCKED") != NULL, "%s", err);
    free(err);
    kill(holder, SIGTERM);
    rslt_sh(NULL, NULL, "pkill -f 'sleep 30' 2>/dev/null; true");
    env_free(&e);
}

/* ---- 15. deletion safety ---- */

Test(e2e, deletion_guards)
{
    env e;
    env_new(&e, "guard", "delete = no", NULL);
    put(&e, "a.txt", "a");
    put(&e, "b.txt", "b");
    put(&e, "c.txt", "c");
    put(&e, "d.txt", "d");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    /* delete = no: nothing deleted remotely */
    rslt_sh(NULL, NULL, "rm '%s/d.txt'", e.src);
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    char *dd = path_in(e.dst, "d.txt");
    cr_assert(rslt_exists(dd));
    free(dd);
    /* an empty source while the manifest lists files: refused */
    write_conf(&e, "delete = yes", NULL);
    rslt_sh(NULL, NULL, "mkdir -p '%s/../hold' && mv '%s'/* '%s/../hold/'", e.src, e.src, e.src);
    char *err = NULL;
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 5);
    cr_assert(strstr(err, "SOURCE_EMPTY") != NULL, "%s", err);
    free(err);
    /* a missing source: refused */
    rslt_sh(NULL, NULL, "rmdir '%s'", e.src);
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 5);
    cr_assert(strstr(err, "SOURCE_MISSING") != NULL, "%s", err);
    free(err);
    char *listing = NULL;
    rslt_sh(&listing, NULL, "ls '%s' | wc -l", e.dst);
    cr_assert_eq(strtol(listing, NULL, 10), 4, "something was deleted");
    free(listing);
    /* more than max_delete: refused naming both numbers; --max-delete overrides once */
    rslt_sh(NULL, NULL, "mkdir '%s' && mv '%s/../hold/a.txt' '%s/'", e.src, e.src, e.src);
    write_conf(&e, "delete = yes\nmax_delete = 2", NULL);
    cr_assert_eq(run(&e, NULL, &err, "run job.conf"), 5);
    cr_assert(strstr(err, "would delete 3 remote item(s) but max_delete = 2") != NULL, "%s", err);
    free(err);
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf --max-delete 3"), 0);
    cr_assert(trees_equal(&e));
    env_free(&e);
}

/* ---- 13. run --json summary ---- */

Test(e2e, json_summary_is_the_last_line)
{
    env e;
    env_new(&e, "json", NULL, NULL);
    put(&e, "x", "1");
    char *out = NULL;
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0);
    char *last = strrchr(out, '{');
    cr_assert_not_null(last);
    const char *head = "{\"summary\":true,\"type\":\"run\",\"run\":1,\"dry_run\":false,"
                       "\"mode\":\"normal\",\"outcome\":\"success\"";
    cr_assert(strncmp(last, head, strlen(head)) == 0, "%s", last);
    const char *keys[] = {"files_applied",     "dirs_applied", "deletes_applied",
                          "bytes_applied",     "item_errors",  "transferred_files",
                          "transferred_bytes", "failed_files", "failed_bytes"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        cr_assert(strstr(last, keys[i]) != NULL, "%s missing", keys[i]);
    free(out);
    env_free(&e);
}

/* SIGTERM: stop, keep the resume record, record the run as interrupted. */
Test(e2e, sigterm_interrupts_cleanly_and_the_next_run_resumes, .timeout = 60)
{
    env e;
    env_new(&e, "term", "bwlimit = 2M", NULL);
    char *big = path_in(e.src, "big.bin");
    const long long total = 6ll << 20;
    rslt_write_random(big, (uint64_t)total, 11);
    char *tmp = path_in(e.dst, "big.bin.rsl-part");
    pid_t pid = run_bg(&e, "run job.conf --json");
    cr_assert_geq(wait_size(tmp, 1ll << 20, 20000), 1ll << 20);
    kill(pid, SIGTERM);
    cr_assert(wait_pid_exit(pid, 5000), "did not stop within 5 s of SIGTERM");
    char *bo = path_in(e.dir, "bg.out");
    char *out = rslt_read(bo, NULL);
    cr_assert(strstr(out, "\"outcome\":\"interrupted\",\"exit_code\":20") != NULL, "%s", out);
    cr_assert(strstr(out, "\"code\":\"INTERRUPTED\"") != NULL, "%s", out);
    free(out);
    long long partial = rslt_size(tmp);
    cr_assert_gt(partial, 0);
    write_conf(&e, NULL, NULL);
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    cr_assert_leq(summary_num(out, "transferred_bytes"), total - partial);
    free(out);
    char *fin = path_in(e.dst, "big.bin");
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s' '%s'", big, fin), 0);
    free(fin);
    free(bo);
    free(big);
    free(tmp);
    env_free(&e);
}

/* Every write refused: per-item errors first, then the run stops as a session error. */
Test(e2e, every_write_refused_stops_early_as_session_error)
{
    if (geteuid() != 0 && access("/", W_OK) == 0)
        cr_skip_test("needs a user that cannot write the remote");
    env e;
    env_new(&e, "refused", "transfers = 1", NULL);
    for (int i = 0; i < 20; i++) {
        char n[64];
        snprintf(n, sizeof(n), "f%02d.txt", i);
        put(&e, n, "x");
    }
    fix_owner(&e);
    chmod(e.dst, 0555);
    char *out = NULL, *err = NULL;
    int rc = run(&e, &out, &err, "run job.conf --json");
    cr_assert_eq(rc, 5, "%s %s", out, err);
    cr_assert(strstr(out, "\"code\":\"ALL_WRITES_FAILED\"") != NULL, "%s", out);
    cr_assert_eq(rslt_count(out, "\"code\":\"REMOTE_PERMISSION\""), 8, "%s", out);
    cr_assert(strstr(err, "fix: Look at the per-item errors") != NULL, "%s", err);
    free(out);
    free(err);
    chmod(e.dst, 0755);
    env_free(&e);
}

/* The manifest describes one remote: pointing the job elsewhere sends everything again. */
Test(e2e, changed_destination_forgets_the_old_manifest)
{
    env e;
    env_new(&e, "newdst", NULL, NULL);
    put(&e, "a/1.txt", "1");
    put(&e, "2.txt", "2");
    cr_assert_eq(run(&e, NULL, NULL, "run job.conf"), 0);
    /* same destination written differently: not a change */
    char job[8192];
    snprintf(job, sizeof(job),
             "[job]\nname = t\nsource = src\ndestination = file://%s/\n"
             "state = state/t.db\n",
             e.dst);
    rslt_write(e.conf, job);
    char *out = NULL, *err = NULL;
    cr_assert_eq(run(&e, &out, &err, "run job.conf --json"), 0);
    cr_assert_eq(summary_num(out, "transferred_files"), 0, "%s", out);
    free(out);
    free(err);
    /* a new destination */
    char *dst2 = path_in(e.dir, "dst2");
    mkdir(dst2, 0755);
    snprintf(job, sizeof(job),
             "[job]\nname = t\nsource = src\ndestination = file://%s\n"
             "state = state/t.db\n",
             dst2);
    rslt_write(e.conf, job);
    cr_assert_eq(run(&e, &out, &err, "run job.conf --dry-run"), 0);
    cr_assert(strstr(out, "create   2.txt") != NULL, "%s", out);
    free(out);
    free(err);
    cr_assert_eq(run(&e, &out, &err, "run job.conf --json"), 0, "%s", err);
    cr_assert(strstr(err, "the destination changed") != NULL, "%s", err);
    cr_assert_eq(summary_num(out, "files_applied"), 2, "%s", out);
    cr_assert_eq(rslt_sh(NULL, NULL, "diff -r '%s' '%s'", e.src, dst2), 0);
    free(out);
    free(err);
    free(dst2);
    env_free(&e);
}

/* The disk holding the state db fills up mid-run (a small tmpfs; needs root
 * to mount): the run stops with STATE_WRITE and a non-zero exit, every file
 * on the remote is known to the manifest, and a run with space converges. */
Test(e2e, a_full_state_disk_stops_the_run_and_the_next_run_converges, .timeout = 180)
{
    env e;
    env_new(&e, "statefull", NULL, NULL);
    char *sdir = path_in(e.dir, "state");
    mkdir(sdir, 0700);
    if (rslt_sh(NULL, NULL, "mount -t tmpfs -o size=1m tmpfs '%s' 2>/dev/null", sdir) != 0)
        cr_skip_test("cannot mount a tmpfs (needs root)");
    for (int i = 0; i < 3000; i++) {
        char n[128];
        snprintf(n, sizeof(n), "d%02d/a-rather-long-file-name-to-fill-rows-%05d.txt", i % 30, i);
        put(&e, n, n);
    }
    char *out = NULL;
    int rc = run(&e, &out, NULL, "run job.conf --json");
    cr_assert(rc == 5 || rc == 23, "exit %d: %s", rc, out);
    const char *sum = strstr(out, "{\"summary\":true");
    cr_assert_not_null(sum, "%s", out);
    cr_assert(strstr(sum, "\"code\":\"STATE_WRITE\"") != NULL, "%s", sum);
    free(out);
    /* every file on the remote has a manifest row (pending or in sync) */
    char *list = NULL;
    rslt_sh(&list, NULL, "cd '%s' && find . -type f | cut -c3-", e.dst);
    rsl_state *st;
    rsl_err er;
    cr_assert_eq(rsl_state_open(&st, e.db, RSL_STATE_READONLY, &er), RSL_OK, "%s", er.msg);
    int files = 0;
    for (char *line = list, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        *nl = '\0';
        rsl_manifest_row row;
        cr_assert(rsl_state_manifest_get(st, line, &row), "%s is not in the manifest", line);
        files++;
    }
    rsl_state_close(st);
    free(list);
    cr_assert_lt(files, 3000, "the run stopped early");
    /* space again */
    cr_assert_eq(rslt_sh(NULL, NULL, "mount -o remount,size=64m '%s'", sdir), 0);
    cr_assert_eq(run(&e, &out, NULL, "run job.conf --json"), 0, "%s", out);
    free(out);
    cr_assert(trees_equal(&e));
    cr_assert(integrity_ok(&e));
    rslt_sh(NULL, NULL, "umount '%s'", sdir);
    free(sdir);
    env_free(&e);
}
