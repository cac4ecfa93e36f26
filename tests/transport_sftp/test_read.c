/* read() and hash() against the fixture's OpenSSH sshd: the content comes
 * back whole and in order through pipelined READs (a large file, a small
 * one, an empty one), a missing file is REMOTE_NOT_FOUND and a directory
 * REMOTE_TYPE_CONFLICT, the callback can stop early and the connection
 * goes on, a read cut by the server's death is a session code; OpenSSH
 * computes no hash: CHECKSUM_UNAVAILABLE and no RSL_CAP_CHECKSUM. */
#include "sftp_test.h"

#include <signal.h>

static rsl_conn *conn_port(int port, const char *root)
{
    rsl_remote_opts *o = malloc(sizeof(*o)); /* must outlive the connection */
    opts_init(o, NULL);
    o->readonly = 1; /* verify's connection */
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = sconnect(&c, port, NULL, root, o, &err);
    cr_assert_eq(rc, RSL_OK, "connect: %s (%s)", rsl_code_name(rc), err.msg);
    return c;
}

static char *at(const char *root, const char *rel)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", root, rel) > 0);
    return p;
}

typedef struct sink {
    unsigned char *buf;
    size_t len, cap, calls, stop_after;
    void (*hook)(void);
} sink;

static int sink_cb(void *ud, const void *p, size_t n)
{
    sink *s = ud;
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->buf = realloc(s->buf, s->cap);
        cr_assert_not_null(s->buf);
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->calls++;
    if (s->hook && s->calls == 1)
        s->hook();
    return s->stop_after && s->calls >= s->stop_after;
}

Test(sftp_read, content_whole_and_in_order)
{
    char *root = mkroot("read");
    const size_t big = (9u << 20) + 12345;
    unsigned char *data = random_bytes(big, 31);
    FILE *f = fopen(at(root, "big"), "w");
    cr_assert(f && fwrite(data, 1, big, f) == big);
    fclose(f);
    rslt_write(at(root, "small"), "hello, world\n");
    rslt_write(at(root, "empty"), "");
    rsl_conn *c = conn_port(fx_int("SSH_PORT"), root);
    rsl_err err;
    sink s = {0};
    cr_assert_eq(sftp_ops()->read(c, "big", sink_cb, &s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(s.len, big);
    cr_assert(memcmp(s.buf, data, big) == 0, "bytes differ");
    cr_assert_gt(s.calls, 2, "delivered in pieces, not all at once");
    s.len = s.calls = 0;
    cr_assert_eq(sftp_ops()->read(c, "small", sink_cb, &s, &err), RSL_OK, "%s", err.msg);
    cr_assert(s.len == 13 && memcmp(s.buf, "hello, world\n", 13) == 0);
    s.len = s.calls = 0;
    cr_assert_eq(sftp_ops()->read(c, "empty", sink_cb, &s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(s.calls, 0);
    /* the callback stops: RSL_OK, and the connection goes on */
    s.len = s.calls = 0;
    s.stop_after = 1;
    cr_assert_eq(sftp_ops()->read(c, "big", sink_cb, &s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(s.calls, 1);
    rsl_rstat st;
    cr_assert_eq(sftp_ops()->stat(c, "big", &st, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(st.size, big);
    s.stop_after = 0;
    rsl_code rc = sftp_ops()->read(c, "nope", sink_cb, &s, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NOT_FOUND, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(mkdir(at(root, "dir"), 0755), 0);
    rc = sftp_ops()->read(c, "dir", sink_cb, &s, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_TYPE_CONFLICT, "%s %s", rsl_code_name(rc), err.msg);
    sftp_ops()->disconnect(c);
    free(s.buf);
    free(data);
}

Test(sftp_read, openssh_offers_no_hash)
{
    char *root = mkroot("hash");
    rslt_write(at(root, "f"), "x");
    rsl_conn *c = conn_port(fx_int("SSH_PORT"), root);
    cr_assert_eq(sftp_ops()->caps_of(c) & RSL_CAP_CHECKSUM, 0);
    rsl_rhash h;
    rsl_err err;
    rsl_code rc = sftp_ops()->hash(c, "f", "sha256", &h, &err);
    cr_assert_eq(rc, RSL_E_CHECKSUM_UNAVAILABLE, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert(strstr(err.msg, "no check-file or md5-hash"), "%s", err.msg);
    rc = sftp_ops()->hash(c, "f", NULL, &h, &err);
    cr_assert_eq(rc, RSL_E_CHECKSUM_UNAVAILABLE, "%s", rsl_code_name(rc));
    char d[2048];
    sftp_ops()->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "server-side hash: none"), "%s", d);
    sftp_ops()->disconnect(c);
}

/* Kills the session processes of the "kill" instance (children of its
 * listener), as test_faults.c does. */
static void kill_sessions(void)
{
    char *pf = fx("SSH_PID_FILE_KILL");
    char *pid = rslt_read(pf, NULL);
    cr_assert_not_null(pid);
    /* the whole tree under the listener (monitor, session, sftp), by pid */
    rslt_sh(NULL, NULL,
            "t() { for k in $(pgrep -P $1); do echo $k; t $k; done; }; kill -KILL $(t %ld)",
            strtol(pid, NULL, 10));
    free(pid);
    free(pf);
}

Test(sftp_read, a_read_cut_by_the_server_is_a_session_code)
{
    char *root = mkroot("readcut");
    const size_t big = 64u << 20;
    cr_assert_eq(rslt_sh(NULL, NULL, "head -c %zu /dev/urandom > '%s'", big, at(root, "big")), 0);
    rsl_conn *c = conn_port(fx_int("SSH_PORT_KILL"), root);
    rsl_err err;
    sink s = {.hook = kill_sessions};
    rsl_code rc = sftp_ops()->read(c, "big", sink_cb, &s, &err);
    cr_assert_eq(rsl_code_class(rc), RSL_CLASS_SESSION, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_lt(s.len, big, "not the whole file");
    sftp_ops()->disconnect(c);
    free(s.buf);
}
