/*
 * fuzz_sftp_reply.c - the SFTP reply decoder and everything that consumes
 * replies, fed what a hostile server could send.
 *
 * Input: byte 0 picks how the stream is cut into reads (0: as large as
 * asked; else at most that many bytes per read) and, when odd, opens the
 * client as sftp:// does (defer_limits and defer_version: INIT, a blind
 * limits@openssh.com and a first LSTAT leave before VERSION is read); the
 * rest is the server's
 * side of an SFTP session. Two passes:
 *   1. every packet framed in the stream goes through every decoder of
 *      sftp_wire.h (reply, VERSION, NAME entries, extension pairs, the
 *      extended replies), and each decoded string is read end to end;
 *   2. the stream is the server of a real rsl_sftp_client (memory carrier): open
 *      (INIT/VERSION, limits), the synchronous helpers, a burst of
 *      asynchronous requests, then a pipelined run of a MKDIR, a STAT, a
 *      REMOVE and two PUTs (one resuming). The memory carrier never
 *      blocks: when the input ends, the session ends.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "transports/sftp_client.h"
#include "transports/sftp_put.h"
#include "transports/sftp_sync.h"
#include "transports/sftp_wire.h"

static volatile unsigned sink; /* decoded bytes are read into it */

static void touch(rsl_sftp_str s)
{
    unsigned x = 0;
    for (uint32_t i = 0; i < s.len; i++)
        x += s.p[i];
    sink += x;
}

static void touch_attrs(const rsl_sftp_attrs *a)
{
    rsl_sftp_str rest = a->ext, k, v;
    while (rsl_sftp_wire_pair_next(&rest, &k, &v) == 1) {
        touch(k);
        touch(v);
    }
}

static void decode_ext(rsl_sftp_str ext)
{
    char why[200];
    rsl_sftp_limits l;
    rsl_sftp_statvfs v;
    rsl_sftp_str alg, hash;
    if (rsl_sftp_wire_limits_reply(&l, ext, why, sizeof(why)) == 0)
        sink += (unsigned)l.max_write;
    if (rsl_sftp_wire_statvfs_reply(&v, ext, why, sizeof(why)) == 0)
        sink += (unsigned)v.bavail;
    if (rsl_sftp_wire_check_file_reply(&alg, &hash, ext, why, sizeof(why)) == 0) {
        touch(alg);
        touch(hash);
    }
    if (rsl_sftp_wire_md5_hash_reply(&hash, ext, why, sizeof(why)) == 0)
        touch(hash);
}

static void decode_one(const uint8_t *p, size_t n)
{
    char why[200];
    rsl_sftp_hello h;
    if (rsl_sftp_wire_version(&h, p, n, why, sizeof(why)) == 0) {
        rsl_sftp_str rest = h.ext, k, v;
        while (rsl_sftp_wire_pair_next(&rest, &k, &v) == 1) {
            touch(k);
            touch(v);
        }
    }
    rsl_sftp_reply r;
    if (rsl_sftp_wire_reply(&r, p, n, why, sizeof(why)) != 0)
        return;
    touch(r.msg);
    touch(r.lang);
    touch(r.handle);
    touch(r.data);
    touch_attrs(&r.attrs);
    rsl_sftp_str rest = r.names;
    rsl_sftp_name e;
    while (rsl_sftp_wire_name_next(&rest, &e) == 1) {
        touch(e.name);
        touch(e.longname);
        touch_attrs(&e.attrs);
    }
    if (r.type == RSL_FXP_EXTENDED_REPLY)
        decode_ext(r.ext);
}

static void decode_all(const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        uint32_t body = 0;
        char why[200];
        if (rsl_sftp_wire_frame(p + off, n - off, RSL_SFTP_REPLY_CAP, &body, why, sizeof(why)) <= 0)
            break;
        decode_one(p + off + 4, body);
        off += 4 + (size_t)body;
    }
}

/* ------------------------------------------------------------------ */
/* a carrier that plays the input as the server: like a server, it answers
 * one packet per request received (a reply cannot come before its
 * request); it never blocks: with nothing to say it says so, and if the
 * client would wait anyway, the session ends */

typedef struct mem {
    rsl_sftp_carrier base;
    const uint8_t *p;
    size_t n, off, chunk;
    size_t owed;     /* packets the client asked for and did not get yet */
    size_t pkt_left; /* bytes left of the packet being delivered */
    int stuck;
    unsigned char sent[5]; /* a partial request header seen in send */
    size_t sent_n, skip;
} mem;

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Counts the requests in what the client sends (they are well formed). */
static ssize_t m_send(rsl_sftp_carrier *c, const void *p, size_t n, rsl_err *err)
{
    (void)err;
    mem *m = (mem *)c;
    const unsigned char *b = p;
    for (size_t i = 0; i < n;) {
        if (m->skip > 0) {
            size_t k = m->skip < n - i ? m->skip : n - i;
            m->skip -= k;
            i += k;
            continue;
        }
        m->sent[m->sent_n++] = b[i++];
        if (m->sent_n == 4) {
            m->skip = be32(m->sent);
            m->sent_n = 0;
            m->owed++;
        }
    }
    return (ssize_t)n;
}

static ssize_t m_recv(rsl_sftp_carrier *c, void *p, size_t n, rsl_err *err)
{
    mem *m = (mem *)c;
    size_t left = m->n - m->off;
    if (left == 0 || m->stuck) {
        rsl_err_set(err, RSL_E_CONNECTION_LOST, 0, "end of input");
        return -1;
    }
    if (m->pkt_left == 0) {
        if (m->owed == 0)
            return 0;
        m->owed--;
        m->pkt_left = left < 4 ? left : 4 + (size_t)be32(m->p + m->off);
        if (m->pkt_left > left || m->pkt_left < 4)
            m->pkt_left = left;
    }
    size_t k = m->pkt_left < n ? m->pkt_left : n;
    if (m->chunk && k > m->chunk)
        k = m->chunk;
    memcpy(p, m->p + m->off, k);
    m->off += k;
    m->pkt_left -= k;
    return (ssize_t)k;
}

/* The client is about to wait: make poll return at once, end next time. */
static int m_wait_fds(rsl_sftp_carrier *c, int want_send, struct pollfd *fds, int max)
{
    (void)want_send;
    mem *m = (mem *)c;
    m->stuck = 1;
    if (max < 1)
        return 0;
    fds[0].fd = -1; /* ignored by poll, which then returns at once with 0 */
    fds[0].events = 0;
    return 1;
}

static int m_tick_ms(rsl_sftp_carrier *c)
{
    (void)c;
    return 1;
}

static void m_close(rsl_sftp_carrier *c, int abort_)
{
    (void)abort_;
    free(c);
}

static const rsl_sftp_carrier_ops mem_ops = {.name = "memory",
                                             .send = m_send,
                                             .recv = m_recv,
                                             .wait_fds = m_wait_fds,
                                             .tick_ms = m_tick_ms,
                                             .close = m_close};

/* ------------------------------------------------------------------ */
/* a source and a feed for the pipelined run */

static const unsigned char content[3000] = {1, 2, 3};

static ssize_t s_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    size_t *pos = s->ud;
    size_t k = sizeof(content) - *pos < n ? sizeof(content) - *pos : n;
    memcpy(buf, content + *pos, k);
    *pos += k;
    return (ssize_t)k;
}

static ssize_t s_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)s;
    (void)err;
    if (off >= sizeof(content))
        return 0;
    size_t k = sizeof(content) - off < n ? sizeof(content) - (size_t)off : n;
    memcpy(buf, content + off, k);
    return (ssize_t)k;
}

static rsl_code s_start(rsl_source *s, uint64_t off, rsl_err *err)
{
    (void)err;
    *(size_t *)s->ud = (size_t)off;
    return RSL_OK;
}

typedef struct feed {
    rsl_op *ops;
    int n, next;
} feed;

static rsl_op *f_next(void *ud, int wait)
{
    (void)wait;
    feed *f = ud;
    return f->next < f->n ? &f->ops[f->next++] : NULL;
}

static void f_done(void *ud, rsl_op *op)
{
    (void)ud;
    sink += (unsigned)op->err.code;
}

static void run_ops(rsl_sftp_client *s)
{
    size_t pos[2] = {0, 0};
    rsl_source src[2];
    for (int i = 0; i < 2; i++) {
        memset(&src[i], 0, sizeof(src[i]));
        src[i].read = s_read;
        src[i].pread = s_pread;
        src[i].start = s_start;
        src[i].ud = &pos[i];
    }
    rsl_op ops[5];
    memset(ops, 0, sizeof(ops));
    ops[0].kind = RSL_OP_MKDIR;
    ops[0].path = "d";
    ops[1].kind = RSL_OP_STAT;
    ops[1].path = "d/x";
    ops[2].kind = RSL_OP_REMOVE;
    ops[2].path = "old";
    for (int i = 3; i < 5; i++) {
        ops[i].kind = RSL_OP_PUT;
        ops[i].path = i == 3 ? "a" : "b";
        ops[i].tmp = i == 3 ? "a.part" : "b.part";
        ops[i].size = sizeof(content);
        ops[i].mtime = 1000;
        ops[i].mode = 0600;
        ops[i].resume = i == 4;
        ops[i].src = &src[i - 3];
    }
    feed f = {ops, 5, 0};
    rsl_feed fd = {.next = f_next, .done = f_done, .ud = &f};
    rsl_err err;
    rsl_sftp_put_opts o = {.fsync = 1};
    rsl_sftp_put_run(s, &o, &fd, &err);
}

static void count_cb(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)ud;
    rsl_err e;
    rsl_sftp_client_expect(s, r, RSL_FXP_ATTRS, "stat", "x", &e);
}

static int dir_cb(void *ud, const char *name, const rsl_sftp_attrs *a)
{
    (void)ud;
    sink += (unsigned)strlen(name) + a->perm;
    return 0;
}

static void drive(const uint8_t *p, size_t n, size_t chunk, int deferred)
{
    mem *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return;
    m->base.ops = &mem_ops;
    m->p = p;
    m->n = n;
    m->chunk = chunk;
    rsl_sftp_client_cfg cfg = {.root = "/r",
                               .host = "fuzz",
                               .timeout_sec = 1,
                               .defer_limits = deferred,
                               .defer_version = deferred};
    rsl_sftp_client *s = NULL;
    rsl_err err;
    if (rsl_sftp_client_open(&s, &m->base, &cfg, &err) != RSL_OK)
        return;
    if (deferred) {
        rsl_sftp_wire_lstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, count_cb, NULL),
                            "/r/first");
        rsl_sftp_client_wait_version(s, &err);
        rsl_sftp_client_settle(s, &err);
    }
    rsl_sftp_attrs a;
    int exists;
    char *real = NULL;
    rsl_sftp_statvfs v;
    rsl_sftp_sync_stat(s, "a", 1, &a, &exists, &err);
    rsl_sftp_sync_readdir(s, "", dir_cb, NULL, &err);
    rsl_sftp_sync_realpath(s, ".", &real, &err);
    free(real);
    rsl_sftp_sync_statvfs(s, "", &v, &err);
    for (int i = 0; i < 8; i++)
        rsl_sftp_wire_lstat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, count_cb, NULL),
                            "/r/x");
    while (!rsl_sftp_client_dead(s) && rsl_sftp_client_outstanding(s) > 0)
        if (rsl_sftp_client_pump(s, 1, &err) != RSL_OK)
            break;
    run_ops(s);
    char d[600];
    rsl_sftp_client_describe(s, d, sizeof(d));
    rsl_sftp_client_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = data[0];
    decode_all(data + 1, size - 1);
    drive(data + 1, size - 1, chunk, data[0] & 1);
    return 0;
}
