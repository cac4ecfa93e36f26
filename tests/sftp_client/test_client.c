/* Tests for transports/sftp_client.c and sftp_sync.c over both carriers
 * against the fixture's real sshd: INIT/VERSION and the extensions, the
 * limits, the synchronous helpers and their status mapping, many requests
 * in flight, and the cap on a reply packet. */
#include "client_test.h"

/* Each test body runs once per carrier. */
#define BOTH(name)                                                                                 \
    static void name##_body(int kind);                                                             \
    Test(sftp_client_ssh2, name, .timeout = 120)                                                   \
    {                                                                                              \
        name##_body(CAR_SSH2);                                                                     \
    }                                                                                              \
    Test(sftp_client_exec, name, .timeout = 120)                                                   \
    {                                                                                              \
        name##_body(CAR_EXEC);                                                                     \
    }                                                                                              \
    static void name##_body(int kind)

static void open_main(tconn *c, int kind, const char *root)
{
    rsl_err err = {0};
    int port = fx_int("SSH_PORT");
    rsl_code rc = topen(c, kind, port, port, root, 20, &err);
    cr_assert_eq(rc, RSL_OK, "%s: %s", rsl_code_name(rc), err.msg);
}

BOTH(version_extensions_and_limits)
{
    char *root = mkroot("ver");
    tconn c;
    open_main(&c, kind, root);
    cr_assert_eq(rsl_sftp_client_server_version(c.s), 3);
    unsigned want = RSL_SFTP_EXT_POSIX_RENAME | RSL_SFTP_EXT_STATVFS | RSL_SFTP_EXT_HARDLINK |
                    RSL_SFTP_EXT_FSYNC | RSL_SFTP_EXT_LIMITS;
    cr_assert_eq(rsl_sftp_client_exts(c.s) & want, want, "extensions 0x%x",
                 rsl_sftp_client_exts(c.s));
    cr_assert_str_eq(rsl_sftp_client_ext_data(c.s, "posix-rename@openssh.com"), "1");
    cr_assert_null(rsl_sftp_client_ext_data(c.s, "no-such@example.com"));
    const rsl_sftp_sizes *z = rsl_sftp_client_get_sizes(c.s);
    /* OpenSSH: 256 KiB packets, reads and writes of 256 KiB less 1 KiB */
    cr_assert_eq(z->server.max_packet, 256 * 1024);
    cr_assert_eq(z->server.max_write, 255 * 1024);
    cr_assert_eq(z->write_len, 255 * 1024);
    cr_assert_eq(z->read_len, 255 * 1024);
    cr_assert_gt(z->handles, 8);
    char d[1024];
    rsl_sftp_client_describe(c.s, d, sizeof(d));
    cr_assert(strstr(d, "posix-rename") && strstr(d, "writes of 261120 bytes"), "%s", d);
    cr_assert(strstr(d, kind == CAR_SSH2 ? "libssh2" : "OpenSSH's ssh"), "%s", d);
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

/* defer_limits (what sftp:// uses): the limits@openssh.com request is out
 * when open returns, the sizes are the defaults until its answer, which
 * arrives with the caller's first requests (one round trip less per
 * connection); settle waits for it. */
BOTH(deferred_limits_come_with_the_first_requests)
{
    char *root = mkroot("defer");
    tconn c;
    tconn_defer_next = 1;
    open_main(&c, kind, root);
    cr_assert_eq(rsl_sftp_client_outstanding(c.s), 1, "limits@openssh.com not waited for");
    cr_assert_eq(rsl_sftp_client_get_sizes(c.s)->write_len, 32768u, "defaults until it answers");
    rsl_err err = {0};
    rsl_sftp_attrs a;
    int exists = 0;
    cr_assert_eq(rsl_sftp_sync_stat(c.s, "", 1, &a, &exists, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_sftp_client_settle(c.s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_sftp_client_outstanding(c.s), 0);
    const rsl_sftp_sizes *z = rsl_sftp_client_get_sizes(c.s);
    cr_assert_eq(z->server.max_write, 255 * 1024);
    cr_assert_eq(z->write_len, 255 * 1024, "picked again from the answer");
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

typedef struct stat_wait {
    int done;
    uint8_t type;
    uint32_t status;
} stat_wait;

static void on_stat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    stat_wait *w = ud;
    w->done++;
    w->type = r->type;
    w->status = r->status;
}

/* defer_version (what sftp:// uses): open returns before VERSION is read,
 * with INIT and a limits@openssh.com request queued; requests queued then
 * leave with them, and the real server answers them all, in order. */
BOTH(deferred_version_requests_leave_with_init)
{
    char *root = mkroot("defver");
    tconn c;
    tconn_defer_next = 2;
    open_main(&c, kind, root);
    cr_assert_eq(rsl_sftp_client_outstanding(c.s), 2, "INIT and limits are out, unanswered");
    cr_assert_eq(rsl_sftp_client_get_stats(c.s)->replies, 0, "open read nothing");
    char wire[4200];
    stat_wait have = {0}, missing = {0};
    rsl_sftp_client_path(c.s, "", wire, sizeof(wire));
    rsl_sftp_wire_stat(rsl_sftp_client_out(c.s), rsl_sftp_client_request(c.s, on_stat, &have),
                       wire);
    rsl_sftp_client_path(c.s, "nope", wire, sizeof(wire));
    rsl_sftp_wire_lstat(rsl_sftp_client_out(c.s), rsl_sftp_client_request(c.s, on_stat, &missing),
                        wire);
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_client_wait_version(c.s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_sftp_client_server_version(c.s), 3);
    cr_assert(rsl_sftp_client_exts(c.s) & RSL_SFTP_EXT_POSIX_RENAME);
    cr_assert_eq(rsl_sftp_client_settle(c.s, &err), RSL_OK, "%s", err.msg);
    while (have.done + missing.done < 2)
        cr_assert_eq(rsl_sftp_client_pump(c.s, 1, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(have.type, RSL_FXP_ATTRS);
    cr_assert_eq(missing.type, RSL_FXP_STATUS);
    cr_assert_eq(missing.status, RSL_FX_NO_SUCH_FILE);
    cr_assert_eq(rsl_sftp_client_get_sizes(c.s)->write_len, 255 * 1024, "limits answered");
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

typedef struct names {
    char seen[8][64];
    int n;
    int dirs;
} names;

static int collect(void *ud, const char *name, const rsl_sftp_attrs *a)
{
    names *x = ud;
    if (x->n < 8)
        snprintf(x->seen[x->n++], 64, "%s", name);
    x->dirs += rsl_sftp_client_attrs_is_dir(a);
    return 0;
}

BOTH(sync_helpers_round_trip)
{
    char *root = mkroot("sync");
    tconn c;
    open_main(&c, kind, root);
    rsl_err err = {0};
    rsl_sftp_attrs a;
    int exists = -1;
    cr_assert_eq(rsl_sftp_sync_mkdir(c.s, "d", 0750, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_sftp_sync_stat(c.s, "d", 1, &a, &exists, &err), RSL_OK, "%s", err.msg);
    cr_assert(exists && rsl_sftp_client_attrs_is_dir(&a));
    cr_assert_eq(a.perm & 0777, 0750);
    /* OpenSSH reports EEXIST as plain FAILURE: REMOTE_IO before refinement */
    cr_assert_eq(rsl_sftp_sync_mkdir(c.s, "d", 0, &err), RSL_E_REMOTE_IO);
    cr_assert(strstr(err.msg, "mkdir 'd' on 127.0.0.1:") && strstr(err.msg, "FAILURE"), "%s",
              err.msg);
    cr_assert_eq(rsl_sftp_sync_stat(c.s, "nope", 1, &a, &exists, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(exists, 0, "a missing item is RSL_OK with exists = 0");
    char p[4200];
    snprintf(p, sizeof(p), "%s/d/f.txt", root);
    rslt_write(p, "hello");
    char *user = fx("SSH_USER");
    rslt_sh(NULL, NULL, "chown %s '%s'", user, p);
    cr_assert_eq(rsl_sftp_sync_rename(c.s, "d/f.txt", "d/g.txt", 1, &err), RSL_OK, "%s", err.msg);
    cr_assert(rslt_exists(p) == 0);
    snprintf(p, sizeof(p), "%s/d/h.txt", root);
    rslt_write(p, "other");
    rslt_sh(NULL, NULL, "chown %s '%s'", user, p);
    free(user);
    /* posix-rename replaces the target; v3 RENAME refuses to */
    cr_assert_eq(rsl_sftp_sync_rename(c.s, "d/g.txt", "d/h.txt", 0, &err), RSL_E_REMOTE_IO);
    cr_assert_eq(rsl_sftp_sync_rename(c.s, "d/g.txt", "d/h.txt", 1, &err), RSL_OK, "%s", err.msg);
    char *got = rslt_read(p, NULL);
    cr_assert_str_eq(got, "hello");
    free(got);
    rsl_sftp_attrs t = {.flags = RSL_SFTP_ATTR_ACMODTIME, .atime = 1000, .mtime = 1234567890};
    cr_assert_eq(rsl_sftp_sync_setstat(c.s, "d/h.txt", &t, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_sftp_sync_stat(c.s, "d/h.txt", 0, &a, &exists, &err), RSL_OK);
    cr_assert_eq(a.mtime, 1234567890);
    cr_assert_eq(a.size, 5);
    cr_assert_eq(rsl_sftp_sync_mkdir(c.s, "d/sub", 0, &err), RSL_OK, "%s", err.msg);
    names x = {.n = 0};
    cr_assert_eq(rsl_sftp_sync_readdir(c.s, "d", collect, &x, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(x.n, 2, "entries but . and ..");
    cr_assert_eq(x.dirs, 1);
    char *real = NULL;
    cr_assert_eq(rsl_sftp_sync_realpath(c.s, "d/../d/sub", &real, &err), RSL_OK, "%s", err.msg);
    snprintf(p, sizeof(p), "%s/d/sub", root);
    cr_assert_str_eq(real, p);
    free(real);
    rsl_sftp_statvfs v;
    cr_assert_eq(rsl_sftp_sync_statvfs(c.s, "", &v, &err), RSL_OK, "%s", err.msg);
    cr_assert_gt(v.blocks, 0);
    cr_assert_eq(rsl_sftp_sync_rmdir(c.s, "d", &err), RSL_E_REMOTE_IO, "not empty");
    cr_assert_eq(rsl_sftp_sync_remove(c.s, "d/h.txt", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_sftp_sync_rmdir(c.s, "d/sub", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_sftp_sync_rmdir(c.s, "d", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_sftp_sync_remove(c.s, "d", &err), RSL_E_REMOTE_NOT_FOUND);
    cr_assert_eq(rsl_sftp_client_error(c.s, &err), RSL_OK,
                 "per-item errors leave the session alive");
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

BOTH(status_codes_map_onto_the_catalog)
{
    int can = fx_int("SSH_CAN_CHMOD");
    char *root = mkroot("map");
    tconn c;
    open_main(&c, kind, root);
    rsl_err err = {0};
    char p[4200];
    if (can) {
        snprintf(p, sizeof(p), "%s/ro", root);
        char *user = fx("SSH_USER");
        cr_assert_eq(
            rslt_sh(NULL, NULL, "mkdir '%s' && chown %s '%s' && chmod 0555 '%s'", p, user, p, p),
            0);
        free(user);
        cr_assert_eq(rsl_sftp_sync_mkdir(c.s, "ro/x", 0, &err), RSL_E_REMOTE_PERMISSION, "%s",
                     err.msg);
        cr_assert(strstr(err.msg, "PERMISSION_DENIED") != NULL, "%s", err.msg);
    }
    char name[400];
    memset(name, 'n', 300);
    name[300] = '\0';
    cr_assert_eq(rsl_sftp_sync_mkdir(c.s, name, 0, &err), RSL_E_REMOTE_NAME_REFUSED, "%s: %s",
                 rsl_code_name(err.code), err.msg);
    cr_assert_eq(rsl_sftp_sync_mkdir(c.s, "missing/parent", 0, &err), RSL_E_REMOTE_NOT_FOUND);
    char *longp = malloc(5000);
    memset(longp, 'a', 4999);
    longp[4999] = '\0';
    cr_assert_eq(rsl_sftp_sync_remove(c.s, longp, &err), RSL_E_REMOTE_NAME_REFUSED);
    cr_assert(strstr(err.msg, "longer than") != NULL, "%s", err.msg);
    free(longp);
    cr_assert_eq(rsl_sftp_client_error(c.s, &err), RSL_OK);
    tclose(&c);
    rslt_sh(NULL, NULL, "chmod -R u+w '%s'", root);
    rslt_rmrf(root);
    free(root);
}

typedef struct counter {
    int ok, bad;
} counter;

static void count_cb(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    counter *k = ud;
    if (r->type == RSL_FXP_ATTRS)
        k->ok++;
    else
        k->bad++;
}

BOTH(many_requests_in_flight)
{
    char *root = mkroot("many");
    tconn c;
    open_main(&c, kind, root);
    counter k = {0};
    char path[4200];
    rsl_sftp_client_path(c.s, "", path, sizeof(path));
    for (int i = 0; i < 2000; i++)
        rsl_sftp_wire_lstat(rsl_sftp_client_out(c.s), rsl_sftp_client_request(c.s, count_cb, &k),
                            path);
    cr_assert_eq(rsl_sftp_client_outstanding(c.s), 2000);
    rsl_err err = {0};
    while (rsl_sftp_client_outstanding(c.s) > 0)
        cr_assert_eq(rsl_sftp_client_pump(c.s, 1, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(k.ok, 2000);
    cr_assert_eq(k.bad, 0);
    cr_assert_geq(rsl_sftp_client_get_stats(c.s)->max_outstanding, 2000);
    tclose(&c);
    rslt_rmrf(root);
    free(root);
}

static int never(void *ud, const char *name, const rsl_sftp_attrs *a)
{
    (void)ud;
    (void)name;
    (void)a;
    return 0;
}

/* A real reply over the cap ends the session with PROTOCOL, naming sizes. */
BOTH(reply_over_the_cap_is_protocol)
{
    char *root = mkroot("cap");
    char p[4200];
    for (int i = 0; i < 60; i++) {
        snprintf(p, sizeof(p), "%s/%0200d", root, i);
        rslt_write(p, "x");
    }
    tconn c;
    rsl_err err = {0};
    int port = fx_int("SSH_PORT");
    /* open normally, then reopen with a small cap over the same carrier kind */
    cr_assert_eq(topen(&c, kind, port, port, root, 20, &err), RSL_OK, "%s", err.msg);
    tclose(&c);
    rsl_sftp_carrier *car = NULL;
    tsess t = {.sock = -1};
    char *kh = fx("SSH_KNOWN_HOSTS");
    if (kind == CAR_SSH2) {
        tsess_open(&t, port, port, 20);
        cr_assert_eq(rsl_sftp_carrier_ssh2(&car, t.ss, t.sock, 20, &err), RSL_OK, "%s", err.msg);
    } else {
        rsl_sftp_exec_cfg x;
        exec_cfg(&x, port, kh, 20);
        cr_assert_eq(rsl_sftp_carrier_exec(&car, &x, &err), RSL_OK, "%s", err.msg);
    }
    free(kh);
    rsl_sftp_client_cfg cfg = {
        .root = root, .host = "capped", .timeout_sec = 20, .reply_cap = 4096};
    rsl_sftp_client *s = NULL;
    cr_assert_eq(rsl_sftp_client_open(&s, car, &cfg, &err), RSL_OK, "%s", err.msg);
    rsl_code rc = rsl_sftp_sync_readdir(s, "", never, NULL, &err);
    cr_assert_eq(rc, RSL_E_PROTOCOL, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "over the 4096-byte limit") != NULL, "%s", err.msg);
    cr_assert_eq(rsl_sftp_sync_mkdir(s, "x", 0, &err), RSL_E_PROTOCOL, "the session stays dead");
    rsl_sftp_client_close(s);
    tsess_close(&t);
    rslt_rmrf(root);
    free(root);
}
