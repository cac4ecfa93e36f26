/* Unit tests of the pipelined run against a scripted server (a carrier in
 * memory that parses our requests and answers them): what a real OpenSSH
 * server never does, but others may. No posix-rename (REMOVE + RENAME, and
 * describe says the replace is not atomic); WRITE replies in reverse order
 * (the contiguous acknowledged offset); a WRITE refused in the middle (the
 * temp file is truncated to the contiguous acknowledged offset; statvfs
 * turns FAILURE into REMOTE_NO_SPACE); a reply with id 0; silence; requests
 * queued before VERSION (defer_version) and a version other than 3. The
 * real-server tests are in test_put.c and test_faults.c. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transports/sftp_client.h"
#include "transports/sftp_put.h"

typedef struct srv {
    rsl_sftp_carrier base;
    unsigned char in[1 << 20];
    size_t inlen;
    rsl_sftp_buf out;
    size_t out_off;
    int posix, statvfs_full, id_zero;
    int reverse, silent;
    uint32_t version;     /* VERSION's; 0: 3 */
    char first_send[256]; /* the packet types of the first send, in order */
    int write_fail_at;    /* 1-based WRITE to refuse, 0: none */
    int writes;
    uint64_t size; /* bytes written, for FSTAT */
    uint32_t mtime;
    uint32_t held[4096]; /* WRITE ids answered at the end of the batch */
    int nheld;
    char log[1 << 16];
    size_t loglen;
} srv;

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

static void logf_(srv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(srv *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(v->log + v->loglen, sizeof(v->log) - v->loglen, fmt, ap);
    va_end(ap);
    if (w > 0 && (size_t)w < sizeof(v->log) - v->loglen)
        v->loglen += (size_t)w;
}

static void status(srv *v, uint32_t id, uint32_t code)
{
    rsl_sftp_wire_begin(&v->out, RSL_FXP_STATUS, v->id_zero ? 0 : id);
    rsl_sftp_wire_put_u32(&v->out, code);
    rsl_sftp_wire_put_cstr(&v->out, code ? "Failure" : "Success");
    rsl_sftp_wire_put_cstr(&v->out, "");
    rsl_sftp_wire_end(&v->out);
}

/* A string field at *p (advances it) as a NUL-terminated copy in buf. */
static void str(const unsigned char **p, char *buf, size_t n)
{
    uint32_t l = be32(*p);
    size_t k = l < n - 1 ? l : n - 1;
    memcpy(buf, *p + 4, k);
    buf[k] = '\0';
    *p += 4 + l;
}

static void on_init(srv *v)
{
    rsl_sftp_wire_begin(&v->out, RSL_FXP_VERSION, v->version ? v->version : 3);
    if (v->posix) {
        rsl_sftp_wire_put_cstr(&v->out, "posix-rename@openssh.com");
        rsl_sftp_wire_put_cstr(&v->out, "1");
    }
    rsl_sftp_wire_put_cstr(&v->out, "statvfs@openssh.com");
    rsl_sftp_wire_put_cstr(&v->out, "2");
    rsl_sftp_wire_end(&v->out);
}

static void on_write(srv *v, uint32_t id, const unsigned char *p)
{
    char h[300];
    str(&p, h, sizeof(h));
    uint64_t off = be64(p);
    uint32_t n = be32(p + 8);
    v->writes++;
    int fail = v->writes == v->write_fail_at;
    logf_(v, "WRITE %llu+%u%s\n", (unsigned long long)off, n, fail ? " refused" : "");
    if (!fail && off + n > v->size)
        v->size = off + n;
    if (fail)
        status(v, id, RSL_FX_FAILURE);
    else if (v->reverse)
        v->held[v->nheld++] = id;
    else
        status(v, id, RSL_FX_OK);
}

static void on_setstat(srv *v, uint32_t id, const unsigned char *p, int by_handle)
{
    char x[300];
    str(&p, x, sizeof(x));
    uint32_t flags = be32(p);
    p += 4;
    if (flags & RSL_SFTP_ATTR_SIZE) {
        v->size = be64(p);
        logf_(v, "%s size=%llu\n", by_handle ? "FSETSTAT" : "SETSTAT", (unsigned long long)v->size);
        p += 8;
    } else {
        logf_(v, "%s\n", by_handle ? "FSETSTAT" : "SETSTAT");
    }
    if (flags & RSL_SFTP_ATTR_PERMISSIONS)
        p += 4;
    if (flags & RSL_SFTP_ATTR_ACMODTIME)
        v->mtime = be32(p + 4);
    status(v, id, RSL_FX_OK);
}

static void on_fstat(srv *v, uint32_t id)
{
    rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_SIZE | RSL_SFTP_ATTR_ACMODTIME,
                        .size = v->size,
                        .atime = v->mtime,
                        .mtime = v->mtime};
    rsl_sftp_wire_begin(&v->out, RSL_FXP_ATTRS, id);
    rsl_sftp_wire_put_attrs(&v->out, &a);
    rsl_sftp_wire_end(&v->out);
}

static void on_extended(srv *v, uint32_t id, const unsigned char *p)
{
    char name[100], a[300], b[300];
    str(&p, name, sizeof(name));
    if (strcmp(name, "statvfs@openssh.com") == 0) {
        logf_(v, "STATVFS\n");
        rsl_sftp_wire_begin(&v->out, RSL_FXP_EXTENDED_REPLY, id);
        for (int i = 0; i < 11; i++)
            rsl_sftp_wire_put_u64(&v->out, i == 4 && v->statvfs_full ? 0 : 1000);
        rsl_sftp_wire_end(&v->out);
        return;
    }
    if (strcmp(name, "limits@openssh.com") == 0) { /* not offered: as v3 says */
        logf_(v, "EXT %s\n", name);
        status(v, id, RSL_FX_OP_UNSUPPORTED);
        return;
    }
    str(&p, a, sizeof(a));
    str(&p, b, sizeof(b));
    logf_(v, "EXT %s %s %s\n", name, a, b);
    status(v, id, RSL_FX_OK);
}

/* Answers one request (type + id + fields at p). */
static void answer(srv *v, uint8_t type, uint32_t id, const unsigned char *p)
{
    char a[300], b[300];
    if (type == RSL_FXP_WRITE) {
        on_write(v, id, p);
    } else if (type == RSL_FXP_SETSTAT || type == RSL_FXP_FSETSTAT) {
        on_setstat(v, id, p, type == RSL_FXP_FSETSTAT);
    } else if (type == RSL_FXP_FSTAT) {
        logf_(v, "FSTAT\n");
        on_fstat(v, id);
    } else if (type == RSL_FXP_EXTENDED) {
        on_extended(v, id, p);
    } else if (type == RSL_FXP_OPEN) {
        str(&p, a, sizeof(a));
        logf_(v, "OPEN %s%s\n", a, (be32(p) & RSL_SFTP_PF_TRUNC) ? " trunc" : "");
        rsl_sftp_wire_begin(&v->out, RSL_FXP_HANDLE, id);
        rsl_sftp_wire_put_str(&v->out, "H", 1);
        rsl_sftp_wire_end(&v->out);
    } else if (type == RSL_FXP_LSTAT || type == RSL_FXP_REMOVE) {
        str(&p, a, sizeof(a));
        logf_(v, "%s %s\n", rsl_sftp_wire_type_name(type), a);
        status(v, id, RSL_FX_NO_SUCH_FILE);
    } else if (type == RSL_FXP_RENAME) {
        str(&p, a, sizeof(a));
        str(&p, b, sizeof(b));
        logf_(v, "RENAME %s %s\n", a, b);
        status(v, id, RSL_FX_OK);
    } else {
        logf_(v, "%s\n", rsl_sftp_wire_type_name(type));
        status(v, id, RSL_FX_OK);
    }
}

static ssize_t s_send(rsl_sftp_carrier *c, const void *p, size_t n, rsl_err *err)
{
    (void)err;
    srv *v = (srv *)c;
    cr_assert_leq(v->inlen + n, sizeof(v->in));
    memcpy(v->in + v->inlen, p, n);
    v->inlen += n;
    size_t off = 0;
    while (v->inlen - off >= 4 && v->inlen - off - 4 >= be32(v->in + off)) {
        const unsigned char *q = v->in + off;
        uint32_t len = be32(q);
        if (v->first_send[0] != '.' && strlen(v->first_send) + 20 < sizeof(v->first_send))
            snprintf(v->first_send + strlen(v->first_send), 20, "%s ",
                     rsl_sftp_wire_type_name(q[4]));
        if (v->silent)
            ;
        else if (q[4] == RSL_FXP_INIT)
            on_init(v);
        else
            answer(v, q[4], be32(q + 5), q + 9);
        off += 4 + len;
    }
    memmove(v->in, v->in + off, v->inlen - off);
    v->inlen -= off;
    if (off > 0 && v->first_send[0] != '.') { /* "." + the first send's types */
        memmove(v->first_send + 1, v->first_send, sizeof(v->first_send) - 1);
        v->first_send[0] = '.';
    }
    while (v->nheld > 0) /* the batch's WRITEs, last first */
        status(v, v->held[--v->nheld], RSL_FX_OK);
    return (ssize_t)n;
}

static ssize_t s_recv(rsl_sftp_carrier *c, void *p, size_t n, rsl_err *err)
{
    (void)err;
    srv *v = (srv *)c;
    size_t k = v->out.len - v->out_off;
    if (k > n)
        k = n;
    memcpy(p, v->out.p + v->out_off, k);
    v->out_off += k;
    return (ssize_t)k;
}

static int s_wait_fds(rsl_sftp_carrier *c, int want_send, struct pollfd *fds, int max)
{
    (void)c;
    (void)want_send;
    if (max < 1)
        return 0;
    fds[0].fd = -1; /* nothing to wait for: poll sleeps until the tick */
    fds[0].events = 0;
    return 1;
}

static int s_tick_ms(rsl_sftp_carrier *c)
{
    (void)c;
    return 50;
}

static void s_close(rsl_sftp_carrier *c, int abort_)
{
    (void)c;
    (void)abort_;
}

static const rsl_sftp_carrier_ops srv_ops = {.name = "script",
                                             .send = s_send,
                                             .recv = s_recv,
                                             .wait_fds = s_wait_fds,
                                             .tick_ms = s_tick_ms,
                                             .close = s_close};

static srv *srv_new(void)
{
    srv *v = calloc(1, sizeof(*v));
    v->base.ops = &srv_ops;
    return v;
}

static rsl_sftp_client *client(srv *v, int timeout, uint32_t max_write)
{
    rsl_sftp_client_cfg cfg = {
        .root = "/r", .host = "script", .timeout_sec = timeout, .max_write = max_write};
    rsl_sftp_client *s = NULL;
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_client_open(&s, &v->base, &cfg, &err), RSL_OK, "%s", err.msg);
    return s;
}

static void srv_end(rsl_sftp_client *s, srv *v)
{
    rsl_sftp_client_close(s);
    rsl_sftp_buf_free(&v->out);
    free(v);
}

static unsigned char data[1 << 21];

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

static size_t pos;

static ssize_t m_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    size_t size = *(size_t *)s->ud;
    size_t k = size - pos < n ? size - pos : n;
    memcpy(buf, data + pos, k);
    pos += k;
    return (ssize_t)k;
}

static rsl_code m_start(rsl_source *s, uint64_t off, rsl_err *err)
{
    (void)s;
    (void)err;
    pos = (size_t)off;
    return RSL_OK;
}

/* Runs one PUT of size bytes as "f" (temp "f.part"); returns the op. */
static rsl_op put(rsl_sftp_client *s, size_t size, rsl_code want_run)
{
    static size_t sz;
    sz = size;
    static rsl_source src;
    src = (rsl_source){.read = m_read, .start = m_start, .ud = &sz};
    rsl_op op = {
        .kind = RSL_OP_PUT, .path = "f", .tmp = "f.part", .size = size, .mtime = 1234, .src = &src};
    one o = {.op = &op};
    rsl_feed feed = {.next = one_next, .done = one_done, .ud = &o};
    rsl_err err = {0};
    rsl_code rc = rsl_sftp_put_run(s, NULL, &feed, &err);
    cr_assert_eq(rc, want_run, "%s: %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(o.done, 1);
    return op;
}

Test(sftp_script, without_posix_rename_remove_then_rename)
{
    srv *v = srv_new();
    rsl_sftp_client *s = client(v, 5, 0);
    cr_assert_eq(rsl_sftp_put_caps(s) & RSL_CAP_ATOMIC_RENAME, 0);
    char d[1024];
    rsl_sftp_put_describe(s, NULL, d, sizeof(d));
    cr_assert(strstr(d, "NO atomic replace") != NULL, "%s", d);
    rsl_op op = put(s, 5000, RSL_OK);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    const char *rm = strstr(v->log, "REMOVE /r/f\n"),
               *mv = strstr(v->log, "RENAME /r/f.part /r/f\n");
    cr_assert(rm && mv && rm < mv, "%s", v->log);
    cr_assert_null(strstr(v->log, "posix-rename"), "%s", v->log);
    srv_end(s, v);
}

Test(sftp_script, with_posix_rename_one_request)
{
    srv *v = srv_new();
    v->posix = 1;
    rsl_sftp_client *s = client(v, 5, 0);
    rsl_op op = put(s, 5000, RSL_OK);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    cr_assert(strstr(v->log, "EXT posix-rename@openssh.com /r/f.part /r/f\n"), "%s", v->log);
    cr_assert_null(strstr(v->log, "REMOVE"), "%s", v->log);
    /* a small file: OPEN, one WRITE, the trailer, the rename; nothing else */
    cr_assert_str_eq(v->log, "OPEN /r/f.part trunc\nWRITE 0+5000\nFSETSTAT\nFSTAT\nCLOSE\n"
                             "EXT posix-rename@openssh.com /r/f.part /r/f\n");
    srv_end(s, v);
}

Test(sftp_script, write_replies_in_reverse_order)
{
    srv *v = srv_new();
    v->posix = 1;
    v->reverse = 1;
    rsl_sftp_client *s = client(v, 5, 32768);
    const size_t N = 2u << 20;
    rsl_op op = put(s, N, RSL_OK);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    cr_assert_eq(op.sent, N, "every byte acknowledged, whatever the order");
    cr_assert_eq(v->size, N);
    srv_end(s, v);
}

Test(sftp_script, refused_write_truncates_to_contiguous_ack)
{
    srv *v = srv_new();
    v->posix = 1;
    v->write_fail_at = 5;
    v->statvfs_full = 1;
    rsl_sftp_client *s = client(v, 5, 32768);
    rsl_op op = put(s, 1u << 20, RSL_OK);
    cr_assert_eq(op.err.code, RSL_E_REMOTE_NO_SPACE, "%s: %s", rsl_code_name(op.err.code),
                 op.err.msg);
    cr_assert_eq(op.sent, 4 * 32768, "the contiguous acknowledged end: 4 WRITEs");
    cr_assert(strstr(v->log, "WRITE 131072+32768 refused\n"), "%s", v->log);
    cr_assert(strstr(v->log, "STATVFS\n"), "FAILURE is refined by statvfs: %s", v->log);
    /* later WRITEs were acknowledged, but the temp file is cut back */
    cr_assert(strstr(v->log, "SETSTAT size=131072\n"), "%s", v->log);
    cr_assert_eq(v->size, 131072);
    cr_assert_null(strstr(v->log, "posix-rename"), "no rename after a failure: %s", v->log);
    srv_end(s, v);
}

Test(sftp_script, reply_id_zero_is_protocol)
{
    srv *v = srv_new();
    v->posix = 1;
    rsl_sftp_client *s = client(v, 5, 0);
    v->id_zero = 1;
    rsl_op op = put(s, 100, RSL_E_PROTOCOL);
    cr_assert_eq(op.err.code, RSL_E_PROTOCOL, "%s", op.err.msg);
    cr_assert(strstr(op.err.msg, "request 0, which is not outstanding"), "%s", op.err.msg);
    srv_end(s, v);
}

Test(sftp_script, silence_is_timeout)
{
    srv *v = srv_new();
    v->posix = 1;
    rsl_sftp_client *s = client(v, 1, 0);
    v->silent = 1;
    rsl_op op = put(s, 100, RSL_E_TIMEOUT);
    cr_assert_eq(op.err.code, RSL_E_TIMEOUT, "%s", op.err.msg);
    cr_assert(strstr(op.err.msg, "did not answer within 1 s"), "%s", op.err.msg);
    srv_end(s, v);
}

static void log_to(void *ud, int level, const char *msg)
{
    (void)level;
    snprintf(ud, 512, "%s", msg);
}

static rsl_sftp_client *client_deferred(srv *v, char *logged)
{
    rsl_sftp_client_cfg cfg = {.root = "/r",
                               .host = "script",
                               .timeout_sec = 5,
                               .defer_limits = 1,
                               .defer_version = 1,
                               .log = log_to,
                               .ud = logged};
    rsl_sftp_client *s = NULL;
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_client_open(&s, &v->base, &cfg, &err), RSL_OK, "%s", err.msg);
    return s;
}

static void on_lstat(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    *(uint32_t *)ud = r->type == RSL_FXP_STATUS ? r->status : 1000;
}

/* defer_version: open sends nothing and reads nothing; the caller's first
 * request leaves in the same send as INIT and the limits@openssh.com
 * request (asked blind: this server does not list it and answers
 * OP_UNSUPPORTED, which leaves the defaults, with no complaint). */
Test(sftp_script, deferred_version_first_request_leaves_with_init)
{
    srv *v = srv_new();
    v->posix = 1;
    char logged[512] = "";
    rsl_sftp_client *s = client_deferred(v, logged);
    cr_assert_str_empty(v->first_send, "open sent nothing");
    uint32_t st = 0;
    rsl_sftp_wire_lstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_lstat, &st), "/r/x");
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_client_wait_version(s, &err), RSL_OK, "%s", err.msg);
    cr_assert_str_eq(v->first_send, ".INIT EXTENDED LSTAT ", "one send, in this order");
    cr_assert(rsl_sftp_client_exts(s) & RSL_SFTP_EXT_POSIX_RENAME);
    cr_assert_eq(rsl_sftp_client_settle(s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(st, RSL_FX_NO_SUCH_FILE, "the LSTAT was answered");
    cr_assert(strstr(v->log, "EXT limits@openssh.com"), "%s", v->log);
    cr_assert_eq(rsl_sftp_client_get_sizes(s)->write_len, 32768u, "the defaults");
    cr_assert_str_empty(logged, "no complaint about limits: %s", logged);
    cr_assert_eq(rsl_sftp_client_outstanding(s), 0);
    /* what went with INIT was not timed (over ssh, its answer waits for ssh
     * to connect and log in: 400 ms on loopback); the next request is */
    unsigned samples = 9;
    cr_assert_lt(rsl_sftp_client_rtt_us(s, &samples), 0);
    cr_assert_eq(samples, 0, "no round trip sample from the requests sent with INIT");
    rsl_sftp_wire_lstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_lstat, &st), "/r/y");
    cr_assert_eq(rsl_sftp_client_wait_rtt(s, &err), RSL_OK, "%s", err.msg);
    cr_assert_geq(rsl_sftp_client_rtt_us(s, &samples), 0);
    cr_assert_eq(samples, 1, "the first request after VERSION is timed");
    srv_end(s, v);
}

/* A server that speaks another version is refused when VERSION is read,
 * with the requests that went with INIT: the session fails. */
Test(sftp_script, deferred_version_other_than_3_fails_the_session)
{
    srv *v = srv_new();
    v->version = 2;
    char logged[512] = "";
    rsl_sftp_client *s = client_deferred(v, logged);
    uint32_t st = 0;
    rsl_sftp_wire_lstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_lstat, &st), "/r/x");
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_client_wait_version(s, &err), RSL_E_PROTOCOL);
    cr_assert(strstr(err.msg, "speaks SFTP version 2; version 3 is needed"), "%s", err.msg);
    cr_assert_eq(st, 0, "no callback after the session failed");
    cr_assert(rsl_sftp_client_dead(s));
    srv_end(s, v);
}
