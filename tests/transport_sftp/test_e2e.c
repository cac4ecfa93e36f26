/* End to end: the built binary (RSL_BIN) runs job files whose destination is
 * sftp:// on the fixture's sshd: a first push and a no-change re-run, an
 * unknown host key (exit 5, fingerprint printed), a silent server (exit 30),
 * and a run SIGKILLed mid-upload whose next run sends only the rest; then
 * over OpenSSH's ssh (ssh_command): a push, unknown and changed host keys
 * (exit 5), and a job with password_file refused with its line (exit 1,
 * and check says why). */
#include "sftp_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <netinet/in.h>
#include <sys/socket.h>

struct job {
    char *dir, *src, *conf, *root;
};

static struct job make_job(const char *tag, int port, const char *extra)
{
    struct job j;
    j.dir = rslt_tmpdir(tag);
    j.root = mkroot(tag);
    cr_assert(asprintf(&j.src, "%s/src", j.dir) > 0);
    cr_assert(asprintf(&j.conf, "%s/job.conf", j.dir) > 0);
    cr_assert_eq(mkdir(j.src, 0755), 0);
    char *user = fx("SSH_USER"), *key = fx("SSH_KEY"), *kh = fx("SSH_KNOWN_HOSTS");
    char *text = NULL;
    cr_assert(asprintf(&text,
                       "[job]\nname = %s\nsource = %s\ndestination = sftp://%s@127.0.0.1:%d%s\n"
                       "state = %s/state.db\n%s\n[remote]\nidentity_file = %s\nknown_hosts = %s\n",
                       tag, j.src, user, port, j.root, j.dir, extra ? extra : "", key, kh) > 0);
    rslt_write(j.conf, text);
    free(text);
    return j;
}

static char *sub(const char *a, const char *b)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

Test(sftp_e2e, push_then_no_change_rerun)
{
    struct job j = make_job("e2e-push", fx_int("SSH_PORT"), NULL);
    rslt_write_random(sub(j.src, "a/b/big.bin"), 3u << 20, 5);
    rslt_write(sub(j.src, "a/small.txt"), "small\n");
    rslt_write(sub(j.src, "top.txt"), "top\n");
    rslt_write(sub(j.src, "empty/.keep"), "k");
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    cr_assert_eq(rslt_sh(NULL, NULL, "diff -r '%s' '%s'", j.src, j.root), 0, "trees differ");
    cr_assert_eq(rslt_sh(&out, NULL, "find '%s' -name '*.rsl-part' | wc -l", j.root), 0);
    cr_assert_eq(strtol(out, NULL, 10), 0, "temp files left");
    /* -v: a successful run prints its summary only when asked (cron) */
    rc = rslt_sh(&out, &err, "'%s' run -v '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    cr_assert(strstr(out, "applied: 0 files") != NULL, "%s", out);
    /* a change is picked up and replaces the remote file */
    rslt_write(sub(j.src, "top.txt"), "changed\n");
    rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    cr_assert(same_content(sub(j.root, "top.txt"), "changed\n", 8));
}

Test(sftp_e2e, unknown_host_key_exits_5_with_fingerprint)
{
    struct job j = make_job("e2e-unknown", fx_int("SSH_PORT"), NULL);
    char *empty = sub(j.dir, "empty_known_hosts");
    rslt_write(empty, "");
    char *text = rslt_read(j.conf, NULL);
    char *conf2 = sub(j.dir, "job2.conf");
    char *k = strstr(text, "known_hosts = ");
    *k = '\0';
    char *t2 = NULL;
    cr_assert(asprintf(&t2, "%sknown_hosts = %s\n", text, empty) > 0);
    rslt_write(conf2, t2);
    rslt_write(sub(j.src, "f"), "x");
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), conf2);
    cr_assert_eq(rc, 5, "exit %d\n%s\n%s", rc, out, err);
    char *fp = fx("SSH_HOSTKEY_FP");
    cr_assert(strstr(err, fp) != NULL || strstr(out, fp) != NULL, "%s\n%s", out, err);
    cr_assert(strstr(err, "HOSTKEY_UNKNOWN") != NULL || strstr(err, "405") != NULL, "%s", err);
    cr_assert_eq(rslt_exists(sub(j.root, "f")), 0, "nothing uploaded");
}

Test(sftp_e2e, silent_server_exits_30)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s, 4), 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    struct job j = make_job("e2e-timeout", ntohs(a.sin_port), "timeout = 1");
    rslt_write(sub(j.src, "f"), "x");
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    close(s);
    cr_assert_eq(rc, 30, "exit %d\n%s\n%s", rc, out, err);
}

static long long sent_bytes(const char *out)
{
    const char *p = strstr(out, "transferred:");
    cr_assert(p != NULL, "%s", out);
    p = strchr(p, '(');
    cr_assert(p != NULL, "%s", out);
    return strtoll(p + 1, NULL, 10);
}

Test(sftp_e2e, run_killed_mid_upload_resumes, .timeout = 120)
{
    /* bwlimit keeps the upload slow enough to be caught in the middle */
    struct job j = make_job("e2e-kill", fx_int("SSH_PORT"), "bwlimit = 16M");
    const long long total = 40ll << 20;
    rslt_write_random(sub(j.src, "big.bin"), (uint64_t)total, 9);
    char *tmp = sub(j.root, "big.bin.rsl-part");
    pid_t kid = fork();
    cr_assert(kid >= 0);
    if (kid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(rslt_bin(), rslt_bin(), "run", j.conf, (char *)NULL);
        _exit(127);
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) { /* poll the remote temp file until a third has arrived */
        if (rslt_size(tmp) >= total / 3)
            break;
        int st;
        cr_assert_eq(waitpid(kid, &st, WNOHANG), 0, "run ended before it was killed");
        clock_gettime(CLOCK_MONOTONIC, &now);
        cr_assert_lt(now.tv_sec - t0.tv_sec, 60, "upload did not start");
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    long long kept = rslt_size(tmp);
    cr_assert_lt(kept, total);
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run -v '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    long long sent = sent_bytes(out);
    cr_log_info("killed with %lld of %lld bytes on the remote; the next run sent %lld", kept, total,
                sent);
    cr_assert_leq(sent, total - kept + (4ll << 20), "sent %lld, %lld were remaining", sent,
                  total - kept);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s/big.bin' '%s/big.bin'", j.src, j.root), 0);
}

Test(sftp_e2e, remote_disk_full_fails_each_item_exit_23)
{
    char *full = rslt_fixture_get("SSH_FULL_DIR_E2E");
    if (full == NULL || full[0] == '\0')
        cr_skip_test("no small file system (needs root to mount a tmpfs)");
    char *user = fx("SSH_USER");
    rslt_sh(NULL, NULL, "rm -rf '%s'/*", full);
    /* fill it as the server's user, then push 3 files */
    rslt_sh(NULL, NULL, "su -s /bin/sh %s -c \"head -c 3M /dev/zero > '%s/filler'\"", user, full);
    struct job j = make_job("e2e-full", fx_int("SSH_PORT"), NULL);
    char *text = rslt_read(j.conf, NULL);
    char *dest = strstr(text, j.root);
    cr_assert(dest != NULL);
    char *t2 = NULL;
    *dest = '\0';
    cr_assert(asprintf(&t2, "%s%s%s", text, full, dest + strlen(j.root)) > 0);
    rslt_write(j.conf, t2);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        rslt_write_random(sub(j.src, name), 300000, (unsigned)i);
    }
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    rslt_sh(NULL, NULL, "rm -rf '%s'/*", full);
    cr_assert_eq(rc, 23, "exit %d\n%s\n%s", rc, out, err);
    char *all = NULL;
    cr_assert(asprintf(&all, "%s%s", out, err) > 0);
    cr_assert_eq(rslt_count(all, "REMOTE_NO_SPACE"), 3, "%s", all);
}

/* ---- the same over OpenSSH's ssh (ssh_command) ---- */

/* Adds lines to the job's [remote] section (the file ends with it). */
static void remote_add(const struct job *j, const char *lines)
{
    char *text = rslt_read(j->conf, NULL), *t2 = NULL;
    cr_assert(asprintf(&t2, "%s%s", text, lines) > 0);
    rslt_write(j->conf, t2);
    free(text);
    free(t2);
}

Test(sftp_e2e, run_over_ssh_command)
{
    struct job j = make_job("e2e-exec", fx_int("SSH_PORT"), NULL);
    remote_add(&j, "ssh_command = ssh -F /dev/null\nuse_agent = no\n");
    rslt_write_random(sub(j.src, "a/b/big.bin"), 3u << 20, 6);
    rslt_write(sub(j.src, "top.txt"), "top\n");
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    cr_assert_eq(rslt_sh(NULL, NULL, "diff -r '%s' '%s'", j.src, j.root), 0, "trees differ");
    rc = rslt_sh(&out, &err, "'%s' run -v '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    cr_assert(strstr(out, "applied: 0 files") != NULL, "%s", out);
}

Test(sftp_e2e, ssh_command_host_keys_exit_5)
{
    struct job j = make_job("e2e-exec-hk", fx_int("SSH_PORT"), NULL);
    rslt_write(sub(j.src, "f"), "x");
    char *kh = sub(j.dir, "kh");
    rslt_write(kh, "");
    char *lines = NULL;
    cr_assert(asprintf(&lines, "ssh_command = ssh -F /dev/null\n") > 0);
    remote_add(&j, lines);
    /* known_hosts appears once in make_job's [remote]: point it elsewhere */
    char *text = rslt_read(j.conf, NULL), *k = strstr(text, "known_hosts = "), *t2 = NULL;
    cr_assert_not_null(k);
    *k = '\0';
    char *rest = strchr(k + 1, '\n');
    cr_assert(asprintf(&t2, "%sknown_hosts = %s%s", text, kh, rest) > 0);
    rslt_write(j.conf, t2);
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 5, "exit %d\n%s\n%s", rc, out, err);
    cr_assert(strstr(err, "HOSTKEY_UNKNOWN") != NULL, "%s", err);
    cr_assert(strstr(err, "ssh-keyscan") != NULL, "says how to get the line: %s", err);
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "ssh-keygen -q -t ed25519 -N '' -f '%s/k' && "
                         "printf '[127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1,2 '%s/k.pub')\" > '%s'",
                         j.dir, fx_int("SSH_PORT"), j.dir, kh),
                 0);
    rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 5, "exit %d\n%s\n%s", rc, out, err);
    cr_assert(strstr(err, "HOSTKEY_CHANGED") != NULL, "%s", err);
    cr_assert_eq(rslt_exists(sub(j.root, "f")), 0, "nothing uploaded");
}

Test(sftp_e2e, ssh_command_with_password_file_is_refused)
{
    struct job j = make_job("e2e-exec-pw", fx_int("SSH_PORT"), NULL);
    char *pw = sub(j.dir, "pw");
    rslt_write(pw, "secret\n");
    chmod(pw, 0600);
    char *lines = NULL;
    cr_assert(asprintf(&lines, "ssh_command = ssh\npassword_file = %s\n", pw) > 0);
    remote_add(&j, lines);
    char *text = rslt_read(j.conf, NULL);
    int line = 1;
    for (const char *p = text; (p = strchr(p, '\n')) && strncmp(p + 1, "password_file", 13); p++)
        line++;
    char want[4096];
    snprintf(want, sizeof(want), "%s:%d: password_file: ", j.conf, line + 1);
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 1, "exit %d\n%s\n%s", rc, out, err);
    cr_assert(strstr(err, want) != NULL, "%s\nwant %s", err, want);
    cr_assert(strstr(err, "password auth is not possible with ssh_command") != NULL, "%s", err);
    rc = rslt_sh(&out, &err, "'%s' check '%s'", rslt_bin(), j.conf);
    cr_assert_eq(rc, 1, "exit %d\n%s\n%s", rc, out, err);
    cr_assert(strstr(out, "[FAIL] config valid") != NULL, "%s", out);
    cr_assert(strstr(out, "password auth is not possible with ssh_command") != NULL, "%s", out);
}
