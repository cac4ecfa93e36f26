/*
 * sftp_get.c - what the sftp transport reads of single files over our SFTP
 * client: read (pipelined READs), the resume offset (sampled blocks of the
 * temp file read back, resume_sample.h) and hash (check-file, md5-hash). See sftp_get.h.
 *
 * Every request sent here is answered before the function returns (or the
 * session failed: then no callback runs any more), so no reply reaches
 * freed memory.
 */
#define _GNU_SOURCE
#include "sftp_get.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resume_sample.h"
#include "sftp_io.h"
#include "sftp_sync.h"

/* blocks of a temp file read back before resuming (resume_sample.h): all
 * of a prefix up to 5 x 64 KiB, else 5 spread over it from byte 0 to its end
 * (the tail and the quarter points included) */
#define RESUME_SAMPLES 5
#define READ_BYTES (4u << 20) /* read bytes in flight (and buffered) per read */
#define READ_SLOTS 64

/* ------------------------------------------------------------------ */
/* reading: READs in a window of slots, delivered in order */

typedef struct rd rd;

typedef struct rslot {
    rd *R;
    uint64_t off;
    uint32_t len, got;
    int state; /* 0 waiting, 1 complete, 2 at the end of the file */
    unsigned char *buf;
} rslot;

struct rd {
    rsl_sftp_client *s;
    const rsl_sftp_handle *h;
    const char *rel;
    rslot slot[READ_SLOTS];
    uint32_t nslots, head, n, outstanding, read_len;
    uint64_t next, end; /* end: stop before this offset (UINT64_MAX: the file's end) */
    int eof, stop, failed;
    rsl_err err;
    rsl_read_cb cb;
    void *ud;
};

static void send_read(rslot *m);

static void on_rd(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    rslot *m = ud;
    rd *R = m->R;
    R->outstanding--;
    if (r->type == RSL_FXP_DATA && r->data.len > 0 && r->data.len <= m->len - m->got) {
        memcpy(m->buf + m->got, r->data.p, r->data.len);
        m->got += r->data.len;
        if (m->got < m->len && !R->stop && !R->failed)
            send_read(m); /* a short read: ask for the rest */
        else
            m->state = 1;
    } else if (r->type == RSL_FXP_STATUS && r->status == RSL_FX_EOF) {
        m->state = 2;
    } else if (r->type == RSL_FXP_DATA) {
        rsl_sftp_client_fail(s, RSL_E_PROTOCOL,
                             "read '%s' on %s: %u bytes of DATA for a READ of %u", R->rel,
                             rsl_sftp_client_host(s), r->data.len, m->len - m->got);
    } else {
        rsl_err e = {0};
        if (rsl_sftp_client_expect(s, r, RSL_FXP_DATA, "read", R->rel, &e) != RSL_OK &&
            !R->failed) {
            R->failed = 1;
            R->err = e;
        }
        m->state = 1;
    }
}

static void send_read(rslot *m)
{
    rd *R = m->R;
    rsl_sftp_wire_read(rsl_sftp_client_out(R->s), rsl_sftp_client_request(R->s, on_rd, m), R->h,
                       m->off + m->got, m->len - m->got);
    R->outstanding++;
}

/* Hands complete slots to cb in file order. */
static void deliver(rd *R)
{
    while (R->n > 0 && R->slot[R->head].state != 0) {
        rslot *m = &R->slot[R->head];
        if (m->got > 0 && !R->stop && !R->failed && R->cb(R->ud, m->buf, m->got) != 0)
            R->stop = 1;
        if (m->state == 2 || m->got < m->len)
            R->eof = 1;
        R->head = (R->head + 1) % R->nslots;
        R->n--;
    }
}

/* Reads [off, end) of open handle h to cb. Returns RSL_OK (at the end of
 * the file or of the range, or when cb stopped), the server's refusal, or
 * the session's error. */
static rsl_code read_range(rsl_sftp_client *s, const rsl_sftp_handle *h, const char *rel,
                           uint64_t off, uint64_t end, rsl_read_cb cb, void *ud, rsl_err *err)
{
    rd *R = calloc(1, sizeof(*R));
    uint32_t rl = rsl_sftp_client_get_sizes(s)->read_len;
    uint32_t ns = READ_BYTES / rl < READ_SLOTS ? READ_BYTES / rl : READ_SLOTS;
    unsigned char *mem = R ? malloc((size_t)(ns ? ns : 1) * rl) : NULL;
    if (R == NULL || mem == NULL) {
        free(R);
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    }
    *R = (rd){.s = s,
              .h = h,
              .rel = rel,
              .nslots = ns ? ns : 1,
              .read_len = rl,
              .next = off,
              .end = end,
              .cb = cb,
              .ud = ud};
    rsl_code rc = RSL_OK;
    for (;;) {
        while (!R->eof && !R->stop && !R->failed && R->n < R->nslots && R->next < R->end) {
            rslot *m = &R->slot[(R->head + R->n++) % R->nslots];
            uint64_t len = R->end - R->next < rl ? R->end - R->next : rl;
            *m = (rslot){.R = R,
                         .off = R->next,
                         .len = (uint32_t)len,
                         .buf = mem + (size_t)(m - R->slot) * rl};
            R->next += len;
            send_read(m);
        }
        deliver(R);
        if (R->outstanding == 0 && (R->n == 0 || R->stop || R->failed))
            break;
        if ((rc = rsl_sftp_client_pump(s, 1, err)) != RSL_OK)
            break;
    }
    if (rc == RSL_OK && R->failed) {
        *err = R->err;
        rc = err->code;
    }
    free(mem);
    free(R);
    return rc;
}

/* Opens rel for reading; a directory is REMOTE_TYPE_CONFLICT. */
static rsl_code open_read(rsl_conn *c, const char *rel, rsl_sftp_handle *h, rsl_sftp_attrs *a,
                          rsl_err *err)
{
    rsl_code rc = rsl_sftp_sync_open(c->cl, rel, RSL_SFTP_PF_READ, NULL, h, err);
    if (rc == RSL_OK && (rc = rsl_sftp_sync_fstat(c->cl, h, rel, a, err)) == RSL_OK &&
        rsl_sftp_client_attrs_is_dir(a)) {
        rsl_err e2 = {0};
        rsl_sftp_sync_close(c->cl, h, rel, &e2);
        rc = rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, 0, "read '%s' on %s: a directory", rel,
                         c->hostport);
    }
    if (rc == RSL_E_REMOTE_IO) {
        rsl_sftp_io_refine(c, rel, err);
        rc = err->code;
    }
    return rc;
}

rsl_code rsl_sftp_get_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err)
{
    rsl_sftp_handle h;
    rsl_sftp_attrs a;
    rsl_code rc = open_read(c, rel, &h, &a, err);
    if (rc != RSL_OK)
        return rsl_sftp_after(c, rc);
    rc = read_range(c->cl, &h, rel, 0, UINT64_MAX, cb, ud, err);
    if (!rsl_sftp_client_dead(c->cl)) {
        rsl_err e2 = {0};
        rsl_sftp_sync_close(c->cl, &h, rel, &e2);
    }
    if (rsl_sftp_client_dead(c->cl))
        rc = rsl_sftp_client_error(c->cl, err);
    return rsl_sftp_after(c, rc);
}

/* ------------------------------------------------------------------ */
/* resume offset: the temp file's size, sampled blocks of it checked */

typedef struct tail {
    unsigned char *buf;
    size_t len, cap;
} tail;

static int tail_cb(void *ud, const void *p, size_t n)
{
    tail *t = ud;
    if (n > t->cap - t->len)
        n = t->cap - t->len;
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    return 0;
}

/* 1 when every sampled block of the first `size` bytes of tmp_rel equals
 * the source's (resume_sample.h: spread over the whole prefix, not only its
 * tail), 0 when one does not (or it is unreadable: *at gets its offset),
 * -1 with *err when the session failed. */
static int blocks_match(rsl_conn *c, const char *tmp_rel, uint64_t size, rsl_source *src,
                        uint64_t *at, rsl_err *err)
{
    rsl_resume_block blk[RESUME_SAMPLES];
    size_t nb = rsl_resume_blocks(size, RESUME_SAMPLES, blk);
    unsigned char *mem = malloc(2 * (size_t)RSL_RESUME_BLOCK);
    rsl_sftp_handle h;
    int ok = 0;
    *at = 0;
    if (mem == NULL)
        return 0;
    rsl_err e2 = {0};
    if (rsl_sftp_sync_open(c->cl, tmp_rel, RSL_SFTP_PF_READ, NULL, &h, &e2) == RSL_OK) {
        ok = 1;
        for (size_t i = 0; i < nb && ok; i++) {
            tail t = {.buf = mem, .cap = blk[i].len};
            rsl_code rc = read_range(c->cl, &h, tmp_rel, blk[i].off, blk[i].off + blk[i].len,
                                     tail_cb, &t, &e2);
            rsl_err le = {0};
            ok = rc == RSL_OK &&
                 rsl_resume_compare(src, &blk[i], mem, t.len, mem + RSL_RESUME_BLOCK, &le) == 1;
            *at = blk[i].off;
        }
        if (!rsl_sftp_client_dead(c->cl))
            rsl_sftp_sync_close(c->cl, &h, tmp_rel, &e2);
    }
    free(mem);
    if (rsl_sftp_client_dead(c->cl)) {
        rsl_sftp_client_error(c->cl, err);
        return -1;
    }
    return ok;
}

rsl_code rsl_sftp_get_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                    rsl_source *src, uint64_t *have, rsl_err *err)
{
    *have = 0;
    if (c->no_seek)
        return RSL_OK; /* it would only be refused: start over */
    rsl_sftp_attrs a;
    int exists = 0;
    rsl_code rc = rsl_sftp_sync_stat(c->cl, tmp_rel, 1, &a, &exists, err);
    if (rc != RSL_OK)
        return rsl_sftp_after(c, rc);
    int regular =
        !(a.flags & RSL_SFTP_ATTR_PERMISSIONS) || (a.perm & RSL_SFTP_S_IFMT) == RSL_SFTP_S_IFREG;
    if (!exists || !regular || !(a.flags & RSL_SFTP_ATTR_SIZE) || a.size == 0 || a.size > total)
        return RSL_OK;
    /* the temp file must hold the bytes the source has at sampled places
     * over all of it: else it belongs to another version of the file, or the
     * server lost part of it, and it is not resumed */
    if (src != NULL && src->pread != NULL) {
        uint64_t at = 0;
        int m = blocks_match(c, tmp_rel, a.size, src, &at, err);
        if (m < 0)
            return rsl_sftp_after(c, err->code);
        if (m == 0) {
            rsl_sftp_log(c, RSL_LOG_INFO,
                         "sftp: '%s': the %llu-byte temp file differs from the local file at "
                         "its block at %llu: not resuming",
                         tmp_rel, (unsigned long long)a.size, (unsigned long long)at);
            return RSL_OK;
        }
    }
    *have = a.size;
    return RSL_OK;
}

/* ------------------------------------------------------------------ */
/* hash: check-file (strongest first), md5-hash */

static const struct {
    const char *name;
    size_t len;
} hash_algs[] = {{"sha512", 64}, {"sha384", 48}, {"sha256", 32},
                 {"sha224", 28}, {"sha1", 20},   {"md5", 16}};

/* The algorithm list a check-file extension's data names, or NULL when
 * its data is not such a list (a version number: every algorithm may do). */
static const char *check_file_list(rsl_conn *c)
{
    static const char *const names[] = {"check-file", "check-file-name", "check-file-handle"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *d = rsl_sftp_client_ext_data(c->cl, names[i]);
        for (size_t k = 0; d != NULL && k < sizeof(hash_algs) / sizeof(hash_algs[0]); k++)
            if (strcasestr(d, hash_algs[k].name) != NULL)
                return d;
    }
    return NULL;
}

static int offers(rsl_conn *c, const char *alg)
{
    if (!(rsl_sftp_client_exts(c->cl) & RSL_SFTP_EXT_CHECK_FILE))
        return 0;
    const char *list = check_file_list(c);
    return list == NULL || strcasestr(list, alg) != NULL;
}

int rsl_sftp_get_can_hash(rsl_conn *c)
{
    return offers(c, "sha256");
}

void rsl_sftp_get_hash_describe(rsl_conn *c, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(hash_algs) / sizeof(hash_algs[0]); i++) {
        if (!offers(c, hash_algs[i].name))
            continue;
        int w =
            snprintf(buf + used, n - used, "%s%s", used ? ", " : "check-file (", hash_algs[i].name);
        if (w > 0 && (size_t)w < n - used)
            used += (size_t)w;
    }
    if (used > 0 && used + 2 < n)
        snprintf(buf + used, n - used, ")");
    if (rsl_sftp_client_exts(c->cl) & RSL_SFTP_EXT_MD5_HASH)
        snprintf(buf + strlen(buf), n - strlen(buf), "%smd5-hash", used ? ", " : "");
    if (buf[0] == '\0')
        snprintf(buf, n, "none (no check-file or md5-hash extension)");
}

static void to_hex(const unsigned char *d, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[2 * n] = '\0';
}

static rsl_code unavailable(rsl_conn *c, const char *rel, const char *want, rsl_err *err)
{
    char have[120];
    rsl_sftp_get_hash_describe(c, have, sizeof(have));
    return rsl_err_set(err, RSL_E_CHECKSUM_UNAVAILABLE, 0,
                       "hash of '%s' on %s: the server computes no %s (it offers: %s)", rel,
                       c->hostport, want ? want : "digest", have);
}

/* check-file with the algorithms we want. RSL_OK with *out, UNAVAILABLE to
 * try md5-hash, or another error to return. */
static rsl_code check_file(rsl_conn *c, const char *rel, const char *want, rsl_rhash *out,
                           rsl_err *err)
{
    char list[80] = "";
    size_t used = 0, dlen = 0;
    for (size_t i = 0; i < sizeof(hash_algs) / sizeof(hash_algs[0]); i++) {
        if (!offers(c, hash_algs[i].name) || (want && strcasecmp(want, hash_algs[i].name) != 0))
            continue;
        int w =
            snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "", hash_algs[i].name);
        if (w > 0 && (size_t)w < sizeof(list) - used)
            used += (size_t)w;
    }
    if (used == 0)
        return RSL_E_CHECKSUM_UNAVAILABLE;
    char alg[32];
    unsigned char d[64];
    rsl_code rc = rsl_sftp_sync_check_file(c->cl, rel, list, alg, sizeof(alg), d, &dlen, err);
    if (rc == RSL_E_REMOTE_IO && err->native == RSL_FX_OP_UNSUPPORTED)
        return RSL_E_CHECKSUM_UNAVAILABLE;
    if (rc != RSL_OK)
        return rc;
    for (size_t i = 0; i < sizeof(hash_algs) / sizeof(hash_algs[0]); i++) {
        if (strcasecmp(alg, hash_algs[i].name) != 0 || strstr(list, hash_algs[i].name) == NULL)
            continue;
        if (dlen != hash_algs[i].len)
            break;
        snprintf(out->alg, sizeof(out->alg), "%s", hash_algs[i].name);
        to_hex(d, dlen, out->hex);
        return RSL_OK;
    }
    rsl_sftp_log(c, RSL_LOG_INFO, "sftp: check-file of '%s' answered %.20s with %zu bytes", rel,
                 alg, dlen);
    return RSL_E_CHECKSUM_UNAVAILABLE;
}

rsl_code rsl_sftp_get_hash(rsl_conn *c, const char *rel, const char *want, rsl_rhash *out,
                           rsl_err *err)
{
    memset(out, 0, sizeof(*out));
    rsl_code rc = check_file(c, rel, want, out, err);
    if (rc != RSL_E_CHECKSUM_UNAVAILABLE)
        return rsl_sftp_after(c, rc);
    if ((rsl_sftp_client_exts(c->cl) & RSL_SFTP_EXT_MD5_HASH) &&
        (want == NULL || strcasecmp(want, "md5") == 0)) {
        unsigned char d[16];
        rc = rsl_sftp_sync_md5(c->cl, rel, d, err);
        if (rc == RSL_OK) {
            snprintf(out->alg, sizeof(out->alg), "md5");
            to_hex(d, 16, out->hex);
        }
        if (rc != RSL_E_REMOTE_IO || err->native != RSL_FX_OP_UNSUPPORTED)
            return rsl_sftp_after(c, rc);
    }
    return unavailable(c, rel, want, err);
}
