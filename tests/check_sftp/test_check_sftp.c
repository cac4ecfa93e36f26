/* `check` and `verify` against a real SFTP server (the fixture's sshd):
 * every step passes with a good job; an unknown host key fails the trust
 * step, a key the server does not accept fails authentication, a closed port
 * fails TCP connect, a missing root fails that step, each with its fix and
 * exit 5; verify finds a file deleted on the server, --repair and run put it
 * back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

typedef struct sj {
    char *dir;
    char conf[4096], root[4096], src[4096];
} sj;

static char *fx(const char *k)
{
    char *v = rslt_fixture_get(k);
    cr_assert_not_null(v, "fixture key %s missing", k);
    return v;
}

/* A job on the fixture's sshd; remote_extra replaces the [remote] defaults
 * when given. port 0: the fixture's. */
static sj make(const char *tag, int port, const char *root_sub, const char *remote_extra)
{
    sj j;
    j.dir = rslt_tmpdir(tag);
    char *base = fx("SSH_ROOT"), *user = fx("SSH_USER"), *key = fx("SSH_KEY");
    char *kh = fx("SSH_KNOWN_HOSTS"), *p = fx("SSH_PORT");
    snprintf(j.root, sizeof(j.root), "%s/%s-%d", base, tag, (int)getpid());
    rslt_rmrf(j.root);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p '%s'", j.root), 0);
    rslt_rm_at_exit(j.root);
    snprintf(j.src, sizeof(j.src), "%s/src", j.dir);
    char f[8300];
    snprintf(f, sizeof(f), "%s/a.txt", j.src);
    rslt_write(f, "alpha\n");
    snprintf(f, sizeof(f), "%s/sub/b.txt", j.src);
    rslt_write(f, "bravo\n");
    snprintf(j.conf, sizeof(j.conf), "%s/job.conf", j.dir);
    FILE *c = fopen(j.conf, "w");
    fprintf(c,
            "[job]\nname = %s\nsource = %s\ndestination = sftp://%s@127.0.0.1:%d%s%s\n"
            "state = %s/state.db\n[remote]\nuse_agent = no\n",
            tag, j.src, user, port ? port : (int)strtol(p, NULL, 10), j.root,
            root_sub ? root_sub : "", j.dir);
    if (remote_extra)
        fputs(remote_extra, c);
    else
        fprintf(c, "identity_file = %s\nknown_hosts = %s\n", key, kh);
    fclose(c);
    free(base);
    free(user);
    free(key);
    free(kh);
    free(p);
    return j;
}

static void done(sj *j)
{
    rslt_rmrf(j->root);
    rslt_rmrf(j->dir);
    free(j->dir);
}

Test(check_sftp, every_step_passes)
{
    sj j = make("chk-ok", 0, NULL, NULL);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "[PASS] DNS: 127.0.0.1 -> 127.0.0.1") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] TCP connect: connected to 127.0.0.1 port") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] trust (TLS certificate / SSH host key): server identity "
                          "verified") != NULL,
              "%s", out);
    cr_assert(strstr(out, "[PASS] authentication: logged in to 127.0.0.1") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] remote root exists") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] remote root writable") != NULL, "%s", out);
    cr_assert(strstr(out, "rename supported") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] resume supported") != NULL, "%s", out);
    /* issue 11.3: resume is probed at an offset, the mtime read back */
    cr_assert(strstr(out, "[PASS] resume supported: wrote 100000 of 200000 bytes to ") != NULL,
              "%s", out);
    cr_assert(strstr(out, "the server kept 100000, continued from there: 200000 bytes") != NULL,
              "%s", out);
    cr_assert(strstr(out, "[PASS] mtime set: set 2009-02-13 23:31:30Z on ") != NULL, "%s", out);
    cr_assert(strstr(out, "over the existing file (atomic replace)") != NULL, "%s", out);
    cr_assert(strstr(out, "FAIL") == NULL, "%s", out);
    free(out);
    /* the probe is gone */
    out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "ls -A '%s' | wc -l", j.root), 0);
    cr_assert_eq(strtol(out, NULL, 10), 0, "probe left behind");
    free(out);
    done(&j);
}

Test(check_sftp, unknown_host_key_fails_trust)
{
    char *key = fx("SSH_KEY");
    sj j = make("chk-hk", 0, NULL, NULL);
    char kh[8300], extra[9000];
    snprintf(kh, sizeof(kh), "%s/empty_known_hosts", j.dir);
    rslt_write(kh, "");
    snprintf(extra, sizeof(extra), "identity_file = %s\nknown_hosts = %s\n", key, kh);
    done(&j);
    j = make("chk-hk", 0, NULL, extra);
    rslt_write(kh, "");
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[PASS] TCP connect") != NULL, "%s", out);
    cr_assert(strstr(out, "[FAIL] trust (TLS certificate / SSH host key): ") != NULL, "%s", out);
    cr_assert(strstr(out, "HOSTKEY_UNKNOWN") != NULL, "%s", out);
    cr_assert(strstr(out, "       fix: ") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] authentication") != NULL, "%s", out);
    free(out);
    free(key);
    done(&j);
}

Test(check_sftp, rejected_key_fails_authentication)
{
    char *kh = fx("SSH_KNOWN_HOSTS");
    char *d = rslt_tmpdir("chk-key");
    cr_assert_eq(rslt_sh(NULL, NULL, "ssh-keygen -q -t ed25519 -N '' -f %s/other", d), 0);
    char extra[9000];
    snprintf(extra, sizeof(extra), "identity_file = %s/other\nknown_hosts = %s\n", d, kh);
    sj j = make("chk-auth", 0, NULL, extra);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[PASS] trust") != NULL, "%s", out);
    cr_assert(strstr(out, "[FAIL] authentication: ") != NULL, "%s", out);
    cr_assert(strstr(out, "AUTH_FAILED") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] remote root exists") != NULL, "%s", out);
    free(out);
    free(kh);
    rslt_rmrf(d);
    free(d);
    done(&j);
}

Test(check_sftp, closed_port_and_missing_root)
{
    /* a port nobody listens on: bind one, note it, close it */
    char *port_s = NULL;
    cr_assert_eq(rslt_sh(&port_s, NULL,
                         "python3 -c 'import socket; s=socket.socket(); "
                         "s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'"),
                 0);
    sj j = make("chk-port", (int)strtol(port_s, NULL, 10), NULL, NULL);
    free(port_s);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[PASS] DNS") != NULL, "%s", out);
    cr_assert(strstr(out, "[FAIL] TCP connect: 127.0.0.1 port") != NULL, "%s", out);
    cr_assert(strstr(out, "Connection refused") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] trust") != NULL, "%s", out);
    free(out);
    done(&j);

    j = make("chk-root", 0, "/not-there", NULL);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s check %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "[PASS] authentication") != NULL, "%s", out);
    cr_assert(strstr(out, "[FAIL] remote root exists") != NULL, "%s", out);
    cr_assert(strstr(out, "REMOTE_ROOT_MISSING") != NULL, "%s", out);
    free(out);
    done(&j);
}

Test(check_sftp, verify_finds_and_repairs_a_file_deleted_on_the_server)
{
    sj j = make("vfy", 0, NULL, NULL);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), j.conf), 0);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s verify %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    cr_assert_eq(rslt_sh(NULL, NULL, "rm '%s/sub/b.txt'", j.root), 0);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s verify %s --repair", rslt_bin(), j.conf);
    cr_assert_eq(rc, 23, "%s", out);
    cr_assert(strstr(out, "missing  sub/b.txt") != NULL, "%s", out);
    free(out);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), j.conf), 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s/sub/b.txt' '%s/sub/b.txt'", j.src, j.root), 0);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s verify %s", rslt_bin(), j.conf);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    done(&j);
}
