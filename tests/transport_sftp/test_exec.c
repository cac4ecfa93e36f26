/* The sftp transport over OpenSSH's ssh (ssh_command) against the fixture's
 * sshd: the same operations as over libssh2 (mkdir, upload, finish, stat,
 * read, run with modes), describe names the carrier; unknown and changed
 * host keys give HOSTKEY_UNKNOWN / HOSTKEY_CHANGED as over libssh2; a
 * password cannot be used there; ssh's connection sharing (ControlMaster,
 * ControlPersist) outlives a run and carries the next one. ssh -F /dev/null keeps the machine's ssh
 * config out. */
#include "sftp_test.h"

#include "transports/xfer.h"

static void exec_opts(rsl_remote_opts *o, tlog *log)
{
    opts_init(o, log);
    scfg(o)->ssh_command = "ssh -F /dev/null";
}

static char *at(const char *root, const char *rel)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", root, rel) > 0);
    return p;
}

static int count_cb(void *ud, const void *p, size_t n)
{
    (void)p;
    *(size_t *)ud += n;
    return 0;
}

static rsl_op *one_next(void *ud, int wait)
{
    (void)wait;
    rsl_op **op = ud, *r = *op;
    *op = NULL;
    return r;
}

static void one_done(void *ud, rsl_op *op)
{
    (void)ud;
    (void)op;
}

Test(sftp_exec, operations_over_openssh)
{
    char *root = mkroot("exec");
    rsl_remote_opts o;
    exec_opts(&o, NULL);
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root, &o, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    const rsl_transport_ops *ops = sftp_ops();
    char d[2048];
    ops->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "OpenSSH's ssh") && strstr(d, "by ssh (ssh_command)"), "%s", d);
    cr_assert(strstr(d, "posix-rename@openssh.com"), "%s", d);
    unsigned caps = ops->caps_of(c);
    cr_assert(caps & RSL_CAP_RESUME && caps & RSL_CAP_ATOMIC_RENAME && caps & RSL_CAP_SET_MODE);
    unsigned char *data = random_bytes(3u << 20, 5);
    cr_assert_eq(ops->mkdir(c, "sub", &err), RSL_OK, "%s", err.msg);
    rc = put_file(c, "sub/f.bin", data, 3u << 20, 1500000000, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(same_content(at(root, "sub/f.bin"), data, 3u << 20));
    rsl_rstat st;
    cr_assert_eq(ops->stat(c, "sub/f.bin", &st, &err), RSL_OK);
    cr_assert(st.exists && st.size == (3u << 20) && st.mtime == 1500000000);
    size_t got = 0;
    cr_assert_eq(ops->read(c, "sub/f.bin", count_cb, &got, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(got, 3u << 20);
    msrc m;
    msrc_init(&m, "secret", 6);
    rsl_op op = {.kind = RSL_OP_PUT,
                 .path = "s",
                 .tmp = "s.rsl-part",
                 .size = 6,
                 .mtime = -1,
                 .mode = 0600,
                 .src = &m.s};
    rsl_op *pending = &op;
    rsl_feed feed = {.next = one_next, .done = one_done, .ud = &pending};
    cr_assert_eq(ops->run(c, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    struct stat sb;
    cr_assert_eq(stat(at(root, "s"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0600);
    ops->disconnect(c);
    free(data);
}

Test(sftp_exec, host_keys_checked_by_ssh)
{
    char *root = mkroot("exec-hk");
    rsl_remote_opts o;
    exec_opts(&o, NULL);
    char *d = rslt_tmpdir("exec-kh");
    char *empty = at(d, "empty"), *other = at(d, "changed");
    rslt_write(empty, "");
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "ssh-keygen -q -t ed25519 -N '' -f '%s/k' && "
                         "printf '[127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1,2 '%s/k.pub')\" > '%s'",
                         d, fx_int("SSH_PORT"), d, other),
                 0);
    rsl_conn *c = NULL;
    rsl_err err;
    scfg(&o)->known_hosts = empty;
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root, &o, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_UNKNOWN, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_null(c);
    scfg(&o)->known_hosts = other;
    rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root, &o, &err);
    cr_assert_eq(rc, RSL_E_HOSTKEY_CHANGED, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "CHANGED"), "%s", err.msg);
}

Test(sftp_exec, no_password_with_ssh_command)
{
    char *root = mkroot("exec-pw");
    rsl_remote_opts o;
    tlog log;
    exec_opts(&o, &log);
    o.password_file = fx("SSH_PASSWORD_FILE");
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root, &o, &err);
    cr_assert_eq(rc, RSL_E_CONFIG_BAD_VALUE, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "password auth is not possible with ssh_command"), "%s", err.msg);
    /* the environment's password is not refused (the daemon may hand it to
     * every job) but not used either: said once */
    o.password_file = NULL;
    o.password_env = "Some-Env-Secret-45";
    rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root, &o, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(log.text, "password auth is not possible with ssh_command"), "%s", log.text);
    cr_assert_null(strstr(log.text, "Some-Env-Secret-45"));
    sftp_ops()->disconnect(c);
}

/* ssh's connection sharing through ssh_command (the operator's choice, for
 * cron runs over a long link): the master ssh starts with the first run and
 * outlives it (the carrier ends its own child, never the master, which ssh
 * puts in a session of its own); the next run goes through it. */
Test(sftp_exec, a_shared_ssh_connection_outlives_the_run)
{
    char *root = mkroot("exec-mux");
    char *dir = rslt_tmpdir("exec-mux");
    char cmd[1024], check[2048];
    snprintf(cmd, sizeof(cmd),
             "ssh -F /dev/null -o ControlMaster=auto -o ControlPath=%s/cm-%%C "
             "-o ControlPersist=60",
             dir);
    snprintf(check, sizeof(check), "ssh -F /dev/null -o ControlPath=%s/cm-%%C -p %d -l %s", dir,
             fx_int("SSH_PORT"), fx("SSH_USER"));
    rsl_remote_opts o;
    opts_init(&o, NULL);
    scfg(&o)->ssh_command = cmd;
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root, &o, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(sftp_ops()->mkdir(c, "one", &err), RSL_OK, "%s", err.msg);
    sftp_ops()->disconnect(c);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s -O check 127.0.0.1", check), 0,
                 "the master ssh is still there after the run");
    rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root, &o, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    rsl_rstat st;
    cr_assert_eq(sftp_ops()->stat(c, "one", &st, &err), RSL_OK, "%s", err.msg);
    cr_assert(st.exists && st.is_dir, "the second run sees the first one's directory");
    sftp_ops()->disconnect(c);
    rslt_sh(NULL, NULL, "%s -O exit 127.0.0.1", check);
    cr_assert_neq(rslt_sh(NULL, NULL, "%s -O check 127.0.0.1", check), 0, "stopped");
}
