/* Permission bits and the pipelined run against the fixture's OpenSSH sshd:
 * a 0600 source arrives 0600 and a 0640 one 0640 (OPEN attributes, then
 * FSETSTAT for a temp file left with other bits), mode 0 leaves the
 * server's default, set_mode and MKDIR modes reach directories; and
 * ops->run() carries MKDIR, PUT, STAT and REMOVE ops, with the directory
 * cache in front of it. Checked on disk (same machine). */
#include "sftp_test.h"

#include "transports/xfer.h"

static rsl_conn *conn_main(const char *root)
{
    rsl_remote_opts *o = malloc(sizeof(*o)); /* must outlive the connection */
    opts_init(o, NULL);
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, fx_int("SSH_PORT"), NULL, root, o, &err);
    cr_assert_eq(rc, RSL_OK, "connect: %s (%s)", rsl_code_name(rc), err.msg);
    return c;
}

static char *at(const char *root, const char *rel)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", root, rel) > 0);
    return p;
}

static unsigned mode_of(const char *path)
{
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "%s", path);
    return (unsigned)(sb.st_mode & 07777);
}

/* Uploads data as rel with permission bits mode (0: the server's). */
static rsl_code put_mode(rsl_conn *c, const char *rel, const void *data, uint64_t n, uint32_t mode,
                         rsl_err *err)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s.rsl-part", rel);
    msrc m;
    msrc_init(&m, data, n);
    m.s.mode = mode;
    rsl_code rc = sftp_ops()->upload(c, tmp, 0, n, &m.s, err);
    return rc != RSL_OK ? rc : sftp_ops()->finish(c, tmp, rel, n, -1, err);
}

Test(sftp_perms, files_get_the_source_bits)
{
    char *root = mkroot("perms");
    rsl_conn *c = conn_main(root);
    cr_assert(sftp_ops()->caps_of(c) & RSL_CAP_SET_MODE);
    rsl_err err;
    cr_assert_eq(put_mode(c, "secret", "s3cret", 6, 0600, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(mode_of(at(root, "secret")), 0600);
    cr_assert_eq(put_mode(c, "group", "g", 1, 0640, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(mode_of(at(root, "group")), 0640);
    cr_assert_eq(put_mode(c, "plain", "p", 1, 0, &err), RSL_OK, "%s", err.msg);
    mode_t um = umask(022);
    umask(um);
    cr_assert_eq(mode_of(at(root, "plain")), 0666 & ~(unsigned)um, "server default (umask %03o)",
                 (unsigned)um);
    /* a temp file left with other bits by an earlier attempt gets them set */
    char *stale = at(root, "again.rsl-part");
    rslt_write(stale, "old");
    char *user = fx("SSH_USER");
    cr_assert_eq(rslt_sh(NULL, NULL, "chown %s '%s' && chmod 0666 '%s'", user, stale, stale), 0);
    cr_assert_eq(put_mode(c, "again", "new", 3, 0600, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(mode_of(at(root, "again")), 0600);
    cr_assert(same_content(at(root, "again"), "new", 3));
    sftp_ops()->disconnect(c);
}

Test(sftp_perms, directories_by_set_mode)
{
    char *root = mkroot("dmode");
    rsl_conn *c = conn_main(root);
    rsl_err err;
    cr_assert_eq(sftp_ops()->mkdir(c, "d", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(sftp_ops()->set_mode(c, "d", 0750, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(mode_of(at(root, "d")), 0750);
    rsl_code rc = sftp_ops()->set_mode(c, "nope", 0700, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NOT_FOUND, "%s", rsl_code_name(rc));
    sftp_ops()->disconnect(c);
}

/* ---- run() ---- */

typedef struct feed_ud {
    rsl_op *ops;
    int n, next, done;
    char order[16][32];
} feed_ud;

static rsl_op *f_next(void *ud, int wait)
{
    (void)wait;
    feed_ud *f = ud;
    return f->next < f->n ? &f->ops[f->next++] : NULL;
}

static void f_done(void *ud, rsl_op *op)
{
    feed_ud *f = ud;
    snprintf(f->order[f->done++], 32, "%s", op->path);
}

static rsl_code run_ops(rsl_conn *c, rsl_op *ops, int n, rsl_err *err)
{
    feed_ud f = {.ops = ops, .n = n};
    rsl_feed feed = {.next = f_next, .done = f_done, .ud = &f};
    rsl_code rc = sftp_ops()->run(c, &feed, err);
    cr_assert_eq(f.done, f.next, "every op taken was handed back");
    return rc;
}

Test(sftp_perms, run_carries_modes_and_every_op_kind)
{
    char *root = mkroot("run");
    rslt_write(at(root, "gone"), "x");
    char *user = fx("SSH_USER");
    cr_assert_eq(rslt_sh(NULL, NULL, "chown %s '%s'", user, at(root, "gone")), 0);
    rsl_conn *c = conn_main(root);
    unsigned char *big = random_bytes(2u << 20, 9);
    msrc a, b;
    msrc_init(&a, "alpha", 5);
    msrc_init(&b, big, 2u << 20);
    a.s.start = NULL;
    rsl_op mk[] = {{.kind = RSL_OP_MKDIR, .path = "d", .mode = 0700}};
    rsl_err err;
    cr_assert_eq(run_ops(c, mk, 1, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(mk[0].err.code, RSL_OK, "%s", mk[0].err.msg);
    cr_assert_eq(mode_of(at(root, "d")), 0700);
    rsl_op ops[] = {
        {.kind = RSL_OP_MKDIR, .path = "d"}, /* made on this connection: no request */
        {.kind = RSL_OP_PUT,
         .path = "d/a",
         .tmp = "d/a.rsl-part",
         .size = 5,
         .mtime = 1400000000,
         .mode = 0600,
         .src = &a.s},
        {.kind = RSL_OP_PUT,
         .path = "big",
         .tmp = "big.rsl-part",
         .size = 2u << 20,
         .mtime = -1,
         .mode = 0640,
         .src = &b.s},
        {.kind = RSL_OP_STAT, .path = "gone"},
        {.kind = RSL_OP_REMOVE, .path = "gone"},
    };
    cr_assert_eq(run_ops(c, ops, 5, &err), RSL_OK, "%s", err.msg);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(ops[i].err.code, RSL_OK, "op %d (%s): %s", i, ops[i].path, ops[i].err.msg);
    cr_assert(same_content(at(root, "d/a"), "alpha", 5));
    cr_assert(same_content(at(root, "big"), big, 2u << 20));
    cr_assert_eq(mode_of(at(root, "d/a")), 0600);
    cr_assert_eq(mode_of(at(root, "big")), 0640);
    struct stat sb;
    cr_assert_eq(stat(at(root, "d/a"), &sb), 0);
    cr_assert_eq(sb.st_mtime, 1400000000);
    cr_assert(ops[3].st.exists && ops[3].st.size == 1);
    cr_assert_eq(rslt_exists(at(root, "gone")), 0);
    /* a PUT into a directory removed behind our back: REMOTE_NOT_FOUND, and
     * the next MKDIR goes to the server again (the cache forgot it) */
    cr_assert_eq(rslt_sh(NULL, NULL, "rm -rf '%s'", at(root, "d")), 0);
    msrc_init(&a, "alpha", 5);
    rsl_op put2[] = {{.kind = RSL_OP_PUT,
                      .path = "d/a",
                      .tmp = "d/a.rsl-part",
                      .size = 5,
                      .mtime = -1,
                      .src = &a.s}};
    cr_assert_eq(run_ops(c, put2, 1, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(put2[0].err.code, RSL_E_REMOTE_NOT_FOUND, "%s", put2[0].err.msg);
    rsl_op mk2[] = {{.kind = RSL_OP_MKDIR, .path = "d"}};
    cr_assert_eq(run_ops(c, mk2, 1, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rslt_exists(at(root, "d")), 1, "made again");
    sftp_ops()->disconnect(c);
    free(big);
}
