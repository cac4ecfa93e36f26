/*
 * End-to-end tests of what the binary prints, with stdout and stderr on
 * pipes as under cron: silence after a success, one line per new failure and
 * one line for everything still failing from earlier runs (issue 11.7); no
 * raw control character in any text output, also for messages replayed from
 * the state db (10.11); every JSON record of every command in the one schema
 * of docs/json.md, checked by tests/output/json_check.py (11.13); a run is
 * not dumpable and keeps no password in its environment (10.16).
 * When the suite runs as root the binary runs as `nobody` (setpriv).
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

/* Runs the binary in e->dir with args, stdout and stderr on pipes (never a
 * terminal); returns the exit code. */
static int run(env *e, char **out, char **err, const char *args)
{
    fix_owner(e);
    return rslt_sh(out, err, "cd '%s' && %s'%s' %s </dev/null", e->dir, as_user(), e->bin, args);
}

static void put(env *e, const char *rel, const char *content)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", e->src, rel);
    rslt_write(p, content);
}

/* The number of lines of s that start with prefix (all lines: ""). */
static int lines(const char *s, const char *prefix)
{
    int n = 0;
    size_t pl = strlen(prefix);
    for (const char *p = s; p && *p;) {
        if (strncmp(p, prefix, pl) == 0)
            n++;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

/* No byte that acts on a terminal: C0 but '\n', DEL, C1 as UTF-8. */
static int clean(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if ((*p < 0x20 && *p != '\n') || *p == 0x7F)
            return 0;
        if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            return 0;
    }
    return 1;
}

/* Runs tests/output/json_check.py over text; asserts it accepts every line
 * and that it saw at least one record of `type`. */
static void json_ok(const char *text, const char *type)
{
    char *d = rslt_tmpdir("json");
    char p[8300];
    snprintf(p, sizeof(p), "%s/in.jsonl", d);
    rslt_write(p, text);
    char *out = NULL;
    int rc =
        rslt_sh(&out, NULL, "python3 '%s/tests/output/json_check.py' < '%s'", rslt_srcdir(), p);
    cr_assert_eq(rc, 0, "%s\n--- input:\n%s", out, text);
    char want[64];
    snprintf(want, sizeof(want), " %s=", type);
    cr_assert(strstr(out, want) != NULL, "no %s record: %s\n%s", type, out, text);
    free(out);
    rslt_rmrf(d);
    free(d);
}

/* ---- 11.7: cron ---- */

Test(output, a_successful_run_prints_nothing_unless_asked)
{
    env e;
    env_new(&e, "quiet", NULL, NULL);
    put(&e, "a.txt", "a");
    put(&e, "d/b.txt", "b");
    char *out = NULL, *err = NULL;
    cr_assert_eq(run(&e, &out, &err, "run job.conf"), 0, "%s%s", out, err);
    cr_assert_str_eq(out, "");
    cr_assert_str_eq(err, "");
    free(out);
    free(err);
    /* nothing changed, a retry, a push: silent too */
    const char *again[] = {"run job.conf", "retry job.conf", "run --quiet job.conf"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(run(&e, &out, &err, again[i]), 0);
        cr_assert_str_eq(out, "", "%s", again[i]);
        cr_assert_str_eq(err, "", "%s", again[i]);
        free(out);
        free(err);
    }
    char args[8300];
    snprintf(args, sizeof(args), "push src file://%s/dst --state state/p.db", e.dir);
    cr_assert(rslt_sh(NULL, NULL, "rm -rf '%s'/* && mkdir -p '%s'", e.dst, e.dst) == 0);
    cr_assert_eq(run(&e, &out, &err, args), 0);
    cr_assert_str_eq(out, "");
    cr_assert_str_eq(err, "");
    free(out);
    free(err);
    /* -v: every item and the summary, on stdout */
    put(&e, "c.txt", "c");
    cr_assert_eq(run(&e, &out, &err, "run -v job.conf"), 0);
    cr_assert(strstr(out, "create   ok          c.txt\n") != NULL, "%s", out);
    cr_assert(strstr(out, "): success, exit 0\n") != NULL, "%s", out);
    cr_assert_str_eq(err, "");
    free(out);
    free(err);
    env_free(&e);
}

Test(output, failures_are_one_line_each_once_then_one_line_per_run)
{
    env e;
    env_new(&e, "fails", NULL, "forbidden_chars = :");
    put(&e, "ok.txt", "fine");
    put(&e, "b:1.txt", "x");
    put(&e, "b:2.txt", "y");
    char *out = NULL, *err = NULL;
    cr_assert_eq(run(&e, &out, &err, "run job.conf"), 23);
    cr_assert_str_eq(out, "", "a failed run writes to stderr only");
    cr_assert_eq(lines(err, "rsyncd-lite: failed: create b:"), 2, "%s", err);
    cr_assert(strstr(err, "rsyncd-lite: failed: create b:1.txt: NAME_FORBIDDEN_CHAR (201, "
                          "persistent), attempt 1: name contains ':'") != NULL,
              "%s", err);
    /* 2 failures, the 5-line summary, the hint */
    cr_assert_eq(lines(err, ""), 8, "%s", err);
    cr_assert_eq(lines(err, "run 1 (normal): partial_failure, exit 23"), 1, "%s", err);
    cr_assert_eq(lines(err, "rsyncd-lite: 2 item(s) failed: `rsyncd-lite log job.conf --failed`"),
                 1, "%s", err);
    free(out);
    free(err);
    /* the next runs: the same names fail again (re-checked every run), one line in all */
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(run(&e, &out, &err, "run job.conf"), 23);
        cr_assert_str_eq(out, "");
        cr_assert_str_eq(err, "rsyncd-lite: 2 item(s) failed again with the persistent error of an "
                              "earlier run; `rsyncd-lite status job.conf` lists them\n");
        free(out);
        free(err);
    }
    /* -v still shows every item */
    cr_assert_eq(run(&e, &out, &err, "run -v job.conf"), 23);
    cr_assert_eq(lines(out, "create   failed      b:"), 2, "%s", out);
    free(out);
    free(err);
    env_free(&e);
}

Test(output, items_deferred_from_earlier_runs_are_one_line_per_run)
{
    if (geteuid() != 0 && access("/", W_OK) == 0)
        cr_skip_test("needs a user that cannot read a mode-0 file");
    env e;
    env_new(&e, "deferred", NULL, NULL);
    put(&e, "a.txt", "a");
    put(&e, "s1.txt", "1");
    put(&e, "s2.txt", "2");
    fix_owner(&e);
    char p[8300];
    for (int i = 1; i <= 2; i++) {
        snprintf(p, sizeof(p), "%s/s%d.txt", e.src, i);
        chmod(p, 0);
    }
    char *out = NULL, *err = NULL;
    cr_assert_eq(run(&e, &out, &err, "run job.conf"), 23);
    cr_assert_eq(lines(err, "rsyncd-lite: failed: create s"), 2, "%s", err);
    cr_assert(strstr(err, "LOCAL_UNREADABLE (211, persistent), attempt 1") != NULL, "%s", err);
    free(out);
    free(err);
    /* blocked until their retry interval: not one line each, one line per run */
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(run(&e, &out, &err, "run job.conf"), 23);
        cr_assert_str_eq(out, "");
        cr_assert_eq(lines(err, ""), 1, "%s", err);
        const char *head = "rsyncd-lite: 2 item(s) still deferred from earlier runs (next retry 20";
        cr_assert(strncmp(err, head, strlen(head)) == 0, "%s", err);
        cr_assert(strstr(err, "Z); `rsyncd-lite status job.conf` lists them\n") != NULL, "%s", err);
        free(out);
        free(err);
    }
    for (int i = 1; i <= 2; i++) {
        snprintf(p, sizeof(p), "%s/s%d.txt", e.src, i);
        chmod(p, 0644);
    }
    cr_assert_eq(run(&e, &out, &err, "retry job.conf"), 0, "%s", err);
    cr_assert_str_eq(out, "");
    cr_assert_str_eq(err, "");
    free(out);
    free(err);
    env_free(&e);
}

/* ---- 10.11: control characters ---- */

/* Records, as a transport would, a failed item whose message quotes a
 * server reply with terminal escapes, and a session error that does too. */
static void store_hostile_run(const char *db)
{
    rsl_state *st = NULL;
    rsl_err err;
    cr_assert_eq(rsl_state_open(&st, db, RSL_STATE_RDWR, &err), RSL_OK, "%s", err.msg);
    int64_t now = (int64_t)time(NULL) * 1000, id = 0;
    cr_assert_eq(rsl_state_run_begin(st, "normal", now, &id, &err), RSL_OK);
    const char *msg = "server said \x1b[2J\x1b]0;owned\a\r550 x.txt: \xc2\x9b"
                      "31mdenied";
    rsl_item_result r = {.path = "x\x1b[1m.txt",
                         .action = "create",
                         .outcome = "failed",
                         .code = RSL_E_REMOTE_PERMISSION,
                         .message = msg,
                         .attempts = 1,
                         .ts_ms = now};
    cr_assert_eq(rsl_state_result_add(st, id, &r, &err), RSL_OK);
    rsl_failure f;
    memset(&f, 0, sizeof(f));
    f.path = (char *)"x\x1b[1m.txt";
    snprintf(f.action, sizeof(f.action), "create");
    f.code = RSL_E_REMOTE_PERMISSION;
    snprintf(f.message, sizeof(f.message), "%s", msg);
    f.attempts = 1;
    f.first_ms = f.last_ms = now;
    f.next_retry_ms = now + 1800000;
    cr_assert_eq(rsl_state_failure_put(st, &f, &err), RSL_OK);
    rsl_run_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.id = id;
    rec.started_ms = now;
    rec.ended_ms = now + 5;
    snprintf(rec.mode, sizeof(rec.mode), "normal");
    snprintf(rec.outcome, sizeof(rec.outcome), "failure");
    rec.exit_code = 5;
    rec.code = RSL_E_AUTH_FAILED;
    snprintf(rec.message, sizeof(rec.message), "530 \x1b[31mLogin incorrect\r\n");
    rec.counts.item_errors = 1;
    cr_assert_eq(rsl_state_run_end(st, &rec, &err), RSL_OK);
    rsl_state_close(st);
}

Test(output, no_raw_control_character_in_log_status_or_run)
{
    env e;
    env_new(&e, "ctl", NULL, NULL);
    put(&e, "ok.txt", "fine");
    put(&e, "evil\x1b[2J\rname.txt", "x");
    char *out = NULL, *err = NULL;
    cr_assert_eq(run(&e, &out, &err, "run job.conf"), 23);
    cr_assert(clean(out) && clean(err), "raw control bytes:\n%s\n%s", out, err);
    cr_assert(
        strstr(err, "rsyncd-lite: failed: create evil\\x1b[2J\\rname.txt: NAME_CONTROL_CHAR") !=
            NULL,
        "%s", err);
    free(out);
    free(err);

    store_hostile_run(e.db);
    cr_assert_eq(run(&e, &out, &err, "log job.conf"), 0, "%s", err);
    cr_assert(clean(out) && clean(err), "log replays raw control bytes:\n%s", out);
    cr_assert(strstr(out, "# session error AUTH_FAILED (") != NULL, "%s", out);
    cr_assert(strstr(out, "530 \\x1b[31mLogin incorrect\\r\\n\n") != NULL, "%s", out);
    cr_assert(strstr(out, "create   failed      x\\x1b[1m.txt\n") != NULL, "%s", out);
    cr_assert(
        strstr(out, "server said \\x1b[2J\\x1b]0;owned\\x07\\r550 x.txt: \\u009b31mdenied\n") !=
            NULL,
        "%s", out);
    free(out);
    free(err);
    cr_assert_eq(run(&e, &out, &err, "status job.conf"), 2, "the last run failed: CRITICAL");
    cr_assert(clean(out) && clean(err), "status prints raw control bytes:\n%s", out);
    cr_assert(strstr(out, "  x\\x1b[1m.txt\n") != NULL, "%s", out);
    cr_assert(strstr(out, "server said \\x1b[2J") != NULL, "%s", out);
    free(out);
    free(err);
    /* JSON escapes them too, and stays parseable */
    cr_assert_eq(run(&e, &out, &err, "log job.conf --json"), 0);
    cr_assert(clean(out), "%s", out);
    cr_assert(strstr(out, "\"message\":\"server said \\u001b[2J\\u001b]0;owned\\u0007\\r550 x.txt: "
                          "\\u009b31mdenied\"") != NULL,
              "%s", out);
    json_ok(out, "item");
    free(out);
    free(err);
    cr_assert_eq(run(&e, &out, &err, "status job.conf --json"), 2);
    cr_assert(clean(out), "%s", out);
    json_ok(out, "status");
    free(out);
    free(err);
    env_free(&e);
}

/* ---- 11.13: one JSON schema ---- */

Test(output, every_json_record_follows_the_schema)
{
    env e;
    env_new(&e, "schema", NULL, "forbidden_chars = :");
    put(&e, "ok.txt", "fine");
    put(&e, "sub/two.txt", "2");
    put(&e, "co:lon.txt", "x");
    put(&e, "\xff\xfe", "not UTF-8");
    put(&e, "\xc3\xbf\xc3\xbe", "a real \xc3\xbf\xc3\xbe");
    char *out = NULL, *err = NULL;
    /* dry run: plan lines are item records like the results */
    cr_assert_eq(run(&e, &out, &err, "run --dry-run --json job.conf"), 0, "%s", err);
    json_ok(out, "item");
    json_ok(out, "run");
    cr_assert(strstr(out,
                     "{\"type\":\"item\",\"path\":\"ok.txt\",\"action\":\"create\","
                     "\"outcome\":\"planned\",\"code\":\"OK\",\"code_number\":0,\"class\":null,"
                     "\"message\":null,\"detail\":\"4 bytes\",") != NULL,
              "%s", out);
    cr_assert(strstr(out, "\"path\":\"co:lon.txt\",\"action\":null,\"outcome\":\"failed\","
                          "\"code\":\"NAME_FORBIDDEN_CHAR\"") != NULL,
              "%s", out);
    cr_assert(strstr(out, "\"path\":\"\xef\xbf\xbd\xef\xbf\xbd\",\"path_bytes\":\"//4=\",") != NULL,
              "%s", out);
    cr_assert(strstr(out, "\"path\":\"\xc3\xbf\xc3\xbe\",\"action\"") != NULL, "%s", out);
    cr_assert(strstr(out, "\"run\":null,\"dry_run\":true,") != NULL, "%s", out);
    cr_assert(strstr(out, "\"ended\":null,") != NULL, "%s", out);
    cr_assert(strstr(out, "\"-\"") == NULL, "%s", out);
    free(out);
    free(err);
    const struct {
        const char *args, *type;
        int rc;
    } cmds[] = {{"run --json job.conf", "item", 23},        {"run --json job.conf", "run", 23},
                {"log --json job.conf", "item", 0},         {"status --json job.conf", "status", 1},
                {"check --json job.conf", "check_step", 0}, {"check --json job.conf", "check", 0},
                {"verify --json job.conf", "verify", 0}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        cr_assert_eq(run(&e, &out, &err, cmds[i].args), cmds[i].rc, "%s: %s", cmds[i].args, err);
        json_ok(out, cmds[i].type);
        free(out);
        free(err);
    }
    /* drift shows as verify_entry records */
    char p[8300];
    snprintf(p, sizeof(p), "%s/extra.txt", e.dst);
    rslt_write(p, "stray");
    cr_assert_eq(run(&e, &out, &err, "verify --json job.conf"), 23);
    json_ok(out, "verify_entry");
    cr_assert(strstr(out,
                     "{\"type\":\"verify_entry\",\"kind\":\"extra\",\"path\":\"extra.txt\","
                     "\"manifest_type\":null,\"manifest_size\":null,\"manifest_mtime\":null,"
                     "\"remote_type\":\"file\",\"remote_size\":5,\"remote_mtime\":\"20") != NULL,
              "%s", out);
    free(out);
    free(err);
    env_free(&e);
}

/* ---- 10.16: a run holds the password only in its own protected memory ---- */

static char *proc_read(long pid, const char *what)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%ld/%s", pid, what);
    size_t len = 0;
    char *t = rslt_read(p, &len);
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) /* environ is NUL-separated */
        if (t[i] == '\0')
            t[i] = '\n';
    return t;
}

Test(output, a_run_is_not_dumpable_and_has_no_password_in_its_environment, .timeout = 60)
{
    env e;
    env_new(&e, "secret", "bwlimit = 1M", NULL);
    char p[8300];
    snprintf(p, sizeof(p), "%s/big.bin", e.src);
    rslt_write_random(p, 6u << 20, 3);
    setenv("RSYNCD_LITE_PASSWORD", "Pw-7f3a9-do-not-leak", 1);
    fix_owner(&e);
    char *o = NULL;
    rslt_sh(&o, NULL, "cd '%s' && { %s'%s' run job.conf >bg.out 2>bg.err & echo $!; }", e.dir,
            as_user(), e.bin);
    long pid = strtol(o, NULL, 10);
    free(o);
    unsetenv("RSYNCD_LITE_PASSWORD");
    cr_assert_gt(pid, 0);
    snprintf(p, sizeof(p), "%s/big.bin.rsl-part", e.dst);
    for (int i = 0; i < 1000 && rslt_size(p) < (1 << 20); i++)
        usleep(10000);
    cr_assert_geq(rslt_size(p), 1 << 20, "the run did not get going");

    /* not dumpable: the kernel hands its /proc files to root */
    char sp[64];
    snprintf(sp, sizeof(sp), "/proc/%ld/status", pid);
    struct stat sb;
    cr_assert_eq(stat(sp, &sb), 0);
    char *status = proc_read(pid, "status");
    long uid = -1;
    const char *u = strstr(status, "\nUid:\t");
    cr_assert_not_null(u);
    uid = strtol(u + 6, NULL, 10);
    cr_assert_neq(uid, 0, "the run must not be root for this check");
    cr_assert_eq(sb.st_uid, 0, "/proc/%ld/status is owned by %ld, the process's uid: dumpable", pid,
                 (long)sb.st_uid);
    free(status);
    char *limits = proc_read(pid, "limits");
    cr_assert_not_null(limits);
    cr_assert(strstr(limits, "Max core file size        0                    0 ") != NULL, "%s",
              limits);
    free(limits);
    /* the password is no longer in its environment, not even its bytes */
    char *environ_ = proc_read(pid, "environ");
    if (geteuid() == 0) {
        cr_assert_not_null(environ_);
        cr_assert(strstr(environ_, "Pw-7f3a9-do-not-leak") == NULL, "%s", environ_);
        cr_assert(strstr(environ_, "RSYNCD_LITE_PASSWORD") == NULL, "%s", environ_);
        cr_assert(strstr(environ_, "PATH=") != NULL, "%s", environ_);
    } else {
        cr_assert_null(environ_, "a non-dumpable process's environ is not readable");
    }
    free(environ_);
    kill((pid_t)pid, SIGTERM);
    for (int i = 0; i < 500 && kill((pid_t)pid, 0) == 0; i++)
        usleep(10000);
    env_free(&e);
}

Test(output, a_bad_password_fd_is_a_usage_error)
{
    env e;
    env_new(&e, "pwfd", NULL, NULL);
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "cd '%s' && RSYNCD_LITE_PASSWORD_FD=57 '%s' check job.conf", e.dir,
                     e.bin);
    cr_assert_eq(rc, 1, "%s%s", out, err);
    cr_assert_str_eq(err, "rsyncd-lite: RSYNCD_LITE_PASSWORD_FD=57: not an open file descriptor\n");
    free(out);
    free(err);
    env_free(&e);
}
