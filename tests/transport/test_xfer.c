/* Tests for transports/xfer.c: the serial adapter of the pipelined
 * interface, driven through the real file:// transport. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/support/harness.h"
#include "transports/xfer.h"

typedef struct msrc {
    const char *data;
    size_t len, pos;
    int started, verified;
    uint64_t start_at;
    int fail_verify;
} msrc;

static ssize_t m_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    if (m->pos >= m->len)
        return 0;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static ssize_t m_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    if (off >= m->len)
        return 0;
    if (n > m->len - off)
        n = m->len - (size_t)off;
    memcpy(buf, m->data + off, n);
    return (ssize_t)n;
}

static rsl_code m_start(rsl_source *s, uint64_t offset, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    m->started++;
    m->start_at = offset;
    m->pos = (size_t)offset;
    return RSL_OK;
}

static rsl_code m_verify(rsl_source *s, rsl_err *err)
{
    msrc *m = s->ud;
    m->verified++;
    if (m->fail_verify)
        return rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0, "changed while it was being uploaded");
    return RSL_OK;
}

typedef struct q {
    rsl_op *ops;
    size_t n, next, done;
    rsl_op *order[16];
} q;

static rsl_op *q_next(void *ud, int wait)
{
    (void)wait;
    q *x = ud;
    return x->next < x->n ? &x->ops[x->next++] : NULL;
}

static void q_done(void *ud, rsl_op *op)
{
    q *x = ud;
    x->order[x->done++] = op;
}

Test(transport_xfer, serial_adapter_runs_each_kind_over_file_transport)
{
    umask(022);
    char *d = rslt_tmpdir("xfer");
    char url[4200];
    snprintf(url, sizeof(url), "file://%s", d);
    rsl_endpoint ep;
    rsl_err err;
    cr_assert_eq(rsl_endpoint_parse(&ep, url, &err), RSL_OK, "%s", err.msg);
    const rsl_transport_ops *ops = rsl_transport_find("file");
    rsl_remote_opts o;
    memset(&o, 0, sizeof(o));
    o.temp_suffix = ".part";
    rsl_conn *c = NULL;
    cr_assert_eq(ops->connect(&c, &ep, &o, &err), RSL_OK, "%s", err.msg);

    msrc good = {.data = "hello, world", .len = 12};
    msrc bad = {.data = "changing", .len = 8, .fail_verify = 1};
    rsl_source sg = {.read = m_read,
                     .pread = m_pread,
                     .start = m_start,
                     .verify = m_verify,
                     .mode = 0640,
                     .ud = &good};
    rsl_source sb = {
        .read = m_read, .pread = m_pread, .start = m_start, .verify = m_verify, .ud = &bad};
    rsl_op list[] = {
        {.kind = RSL_OP_MKDIR, .path = "dir"},
        {.kind = RSL_OP_PUT,
         .path = "dir/a.txt",
         .tmp = "dir/a.txt.part",
         .size = 12,
         .mtime = 1000000000,
         .src = &sg},
        {.kind = RSL_OP_PUT,
         .path = "dir/b.txt",
         .tmp = "dir/b.txt.part",
         .size = 8,
         .mtime = -1,
         .src = &sb},
        {.kind = RSL_OP_STAT, .path = "dir/a.txt"},
        {.kind = RSL_OP_STAT, .path = "nope"},
        {.kind = RSL_OP_REMOVE, .path = "gone-already"},
    };
    q x = {.ops = list, .n = sizeof(list) / sizeof(list[0])};
    rsl_feed feed = {.next = q_next, .done = q_done, .ud = &x};
    cr_assert_eq(rsl_xfer_run_serial(ops, c, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(x.done, x.n, "every op completes exactly once");
    cr_assert_eq(list[1].err.code, RSL_OK, "%s", list[1].err.msg);
    cr_assert_eq(good.started, 1);
    cr_assert_eq(good.start_at, 0);
    cr_assert_eq(good.verified, 1, "verify runs before the rename");
    char p[8300];
    snprintf(p, sizeof(p), "%s/dir/a.txt", d);
    char *got = rslt_read(p, NULL);
    cr_assert_str_eq(got, "hello, world");
    free(got);
    struct stat fst;
    cr_assert_eq(stat(p, &fst), 0);
    cr_assert_eq(fst.st_mode & 0777, 0640 & ~(mode_t)022, "src->mode reaches the new file");
    /* a failed verify leaves the final name alone and the temp in place */
    cr_assert_eq(list[2].err.code, RSL_E_LOCAL_CHANGED);
    snprintf(p, sizeof(p), "%s/dir/b.txt", d);
    cr_assert_not(rslt_exists(p), "no file under its final name after a failed verify");
    snprintf(p, sizeof(p), "%s/dir/b.txt.part", d);
    cr_assert(rslt_exists(p));
    cr_assert(list[3].st.exists);
    cr_assert_eq(list[3].st.size, 12);
    cr_assert_eq(list[3].st.mtime, 1000000000);
    cr_assert_eq(list[4].err.code, RSL_OK);
    cr_assert_not(list[4].st.exists);
    cr_assert_eq(list[5].err.code, RSL_OK, "removing what is absent is OK");
    ops->disconnect(c);
    rsl_endpoint_free(&ep);
    rslt_rmrf(d);
    free(d);
}
