/* The pipelined run against a scripted server that cannot write at an
 * offset (script_srv.h): as rclone's SFTP server without a write cache, it
 * refuses a write away from the handle's position with FAILURE and
 * truncates the file; or it acknowledges such writes and drops them. A
 * resumed PUT is then sent again from zero in the same run and arrives
 * whole; the run says it learnt so (once), and a run told so does not try
 * to resume at all. */
#include "script_srv.h"

#include "transports/sftp_client.h"
#include "transports/sftp_put.h"

#define SIZE (3u << 20)
#define KEPT (1u << 20)

static unsigned char data[SIZE];

typedef struct src {
    rsl_source s;
    size_t pos;
} src;

static ssize_t m_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    src *m = s->ud;
    size_t k = SIZE - m->pos < n ? SIZE - m->pos : n;
    memcpy(buf, data + m->pos, k);
    m->pos += k;
    return (ssize_t)k;
}

static ssize_t m_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)s;
    (void)err;
    if (off >= SIZE)
        return 0;
    size_t k = SIZE - off < n ? SIZE - (size_t)off : n;
    memcpy(buf, data + off, k);
    return (ssize_t)k;
}

static rsl_code m_start(rsl_source *s, uint64_t off, rsl_err *err)
{
    (void)err;
    ((src *)s->ud)->pos = (size_t)off;
    return RSL_OK;
}

typedef struct one {
    rsl_op *op;
    int taken, done;
} one;

static rsl_op *one_next(void *ud, int wait)
{
    (void)wait;
    one *o = ud;
    if (o->taken)
        return NULL;
    o->taken = 1;
    return o->op;
}

static void one_done(void *ud, rsl_op *op)
{
    (void)op;
    ((one *)ud)->done++;
}

typedef struct learnt {
    int calls;
    char why[200];
} learnt;

static void on_learnt(void *ud, const char *why)
{
    learnt *l = ud;
    l->calls++;
    snprintf(l->why, sizeof(l->why), "%s", why);
}

static rsl_sftp_client *client(ssrv *v)
{
    rsl_sftp_client_cfg cfg = {
        .root = "/r", .host = "script", .timeout_sec = 5, .max_write = 32768};
    rsl_sftp_client *s = NULL;
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_client_open(&s, &v->base, &cfg, &err), RSL_OK, "%s", err.msg);
    return s;
}

/* One resumable PUT of data as "f" (temp "f.part"). */
static rsl_op put(rsl_sftp_client *s, rsl_sftp_put_opts *o)
{
    static src m;
    m = (src){.s = {.read = m_read, .pread = m_pread, .start = m_start, .ud = &m}};
    rsl_op op = {.kind = RSL_OP_PUT,
                 .path = "f",
                 .tmp = "f.part",
                 .size = SIZE,
                 .mtime = 1234,
                 .resume = 1,
                 .src = &m.s};
    one w = {.op = &op};
    rsl_feed feed = {.next = one_next, .done = one_done, .ud = &w};
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_put_run(s, o, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(w.done, 1);
    return op;
}

static void fill(void)
{
    for (size_t i = 0; i < SIZE; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 13);
}

static void check_whole(ssrv *v)
{
    sfile *f = ssrv_find(v, "/r/f");
    cr_assert_not_null(f, "%s", v->log);
    cr_assert_eq(f->len, SIZE);
    cr_assert(memcmp(f->data, data, SIZE) == 0, "content differs");
    cr_assert_null(ssrv_find(v, "/r/f.part"));
}

Test(sftp_seek, refused_write_at_offset_restarts_from_zero_in_the_same_run)
{
    fill();
    ssrv *v = ssrv_new();
    v->posix = 1;
    v->noseek = 1;
    ssrv_put(v, "/r/f.part", data, KEPT, 0); /* an earlier run's first MiB */
    rsl_sftp_client *s = client(v);
    learnt l = {0};
    rsl_sftp_put_opts o = {.no_seek_learnt = on_learnt, .ud = &l};
    rsl_op op = put(s, &o);
    cr_assert_eq(op.err.code, RSL_OK, "%s: %s\n%s", rsl_code_name(op.err.code), op.err.msg, v->log);
    check_whole(v);
    /* it did try: the kept prefix was read back, the write at its end refused */
    cr_assert(strstr(v->log, "READ "), "%s", v->log);
    cr_assert(strstr(v->log, "WRITE 1048576+32768 refused\n"), "%s", v->log);
    cr_assert(strstr(v->log, "OPEN /r/f.part trunc write\n"), "sent again from zero: %s", v->log);
    cr_assert_eq(op.offset, 0, "nothing kept in the end");
    cr_assert_eq(op.sent, SIZE, "every byte sent in this run");
    cr_assert_eq(l.calls, 1, "learnt once");
    cr_assert(strstr(l.why, "write at offset 1048576") && strstr(l.why, "FAILURE"), "%s", l.why);
    cr_assert_eq(o.no_seek, 0, "the caller's options are not changed");

    /* the next run, told so, does not look at the temp file at all */
    ssrv_put(v, "/r/f.part", data, KEPT, 0);
    v->loglen = 0;
    v->log[0] = '\0';
    rsl_sftp_put_opts o2 = {.no_seek = 1, .no_seek_learnt = on_learnt, .ud = &l};
    op = put(s, &o2);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    check_whole(v);
    cr_assert_null(strstr(v->log, "LSTAT /r/f.part"), "%s", v->log);
    cr_assert_null(strstr(v->log, "READ "), "%s", v->log);
    cr_assert_null(strstr(v->log, "refused"), "%s", v->log);
    cr_assert(strncmp(v->log, "OPEN /r/f.part trunc write\n", 27) == 0, "%s", v->log);
    cr_assert_eq(l.calls, 1, "nothing new learnt");
    rsl_sftp_client_close(s);
    ssrv_free(v);
}

Test(sftp_seek, dropped_writes_show_in_the_size_and_restart_from_zero)
{
    fill();
    ssrv *v = ssrv_new();
    v->posix = 1;
    v->dropseek = 1;
    ssrv_put(v, "/r/f.part", data, KEPT, 0);
    rsl_sftp_client *s = client(v);
    learnt l = {0};
    rsl_sftp_put_opts o = {.no_seek_learnt = on_learnt, .ud = &l};
    rsl_op op = put(s, &o);
    cr_assert_eq(op.err.code, RSL_OK, "%s: %s\n%s", rsl_code_name(op.err.code), op.err.msg, v->log);
    check_whole(v);
    cr_assert(strstr(v->log, "dropped"), "%s", v->log);
    cr_assert_eq(l.calls, 1);
    cr_assert(strstr(l.why, "1048576 bytes after its last write"), "%s", l.why);
    rsl_sftp_client_close(s);
    ssrv_free(v);
}

Test(sftp_seek, a_server_that_seeks_resumes_and_learns_nothing)
{
    fill();
    ssrv *v = ssrv_new();
    v->posix = 1;
    ssrv_put(v, "/r/f.part", data, KEPT, 0);
    rsl_sftp_client *s = client(v);
    learnt l = {0};
    rsl_sftp_put_opts o = {.no_seek_learnt = on_learnt, .ud = &l};
    rsl_op op = put(s, &o);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    check_whole(v);
    cr_assert_eq(op.offset, KEPT, "resumed at the kept prefix");
    cr_assert_eq(op.sent, SIZE - KEPT);
    cr_assert_null(strstr(v->log, "trunc"), "%s", v->log);
    cr_assert_eq(l.calls, 0);
    rsl_sftp_client_close(s);
    ssrv_free(v);
}
