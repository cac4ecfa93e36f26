/*
 * sftp_side.c - the side channel: a minimal SFTP v3 client for the OpenSSH
 * extensions libssh2 1.10 cannot send. See sftp_side.h.
 */
#define _GNU_SOURCE
#include "sftp_side.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XCH_MAX_PACKET (256u << 10) /* cap on a reply packet on the side channel */

enum { FXP_INIT = 1, FXP_VERSION = 2, FXP_STATUS = 101, FXP_EXTENDED = 200 };

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int xch_write(rsl_conn *c, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = libssh2_channel_write(c->xch, (const char *)p, n);
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Waits (bounded by timeout_sec) until the socket is readable, but only when
 * libssh2 says it needs more data from it: otherwise it may already hold
 * packets for this channel and must be asked again at once. Returns 0, or -1
 * on a timeout or a poll error. */
static int xch_wait(rsl_conn *c)
{
    if (!(libssh2_session_block_directions(c->ss) & LIBSSH2_SESSION_BLOCK_INBOUND))
        return 0;
    int tsec = c->opts->timeout_sec > 0 ? c->opts->timeout_sec : 60;
    struct pollfd pfd = {.fd = c->sock, .events = POLLIN};
    int p;
    do
        p = poll(&pfd, 1, tsec * 1000);
    while (p < 0 && errno == EINTR);
    return p > 0 ? 0 : -1;
}

static int xch_read_full(rsl_conn *c, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = libssh2_channel_read(c->xch, (char *)p, n);
        if (r < 0)
            return -1;
        if (r == 0) {
            /* the session read packets, none for this channel (the main SFTP
             * channel's replies, window adjusts): wait instead of spinning */
            if (libssh2_channel_eof(c->xch) || xch_wait(c) != 0)
                return -1;
            continue;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads one packet; *out (malloc'd) holds type + payload. */
static int xch_read_packet(rsl_conn *c, unsigned char **out, uint32_t *len)
{
    unsigned char hdr[4];
    *out = NULL;
    if (xch_read_full(c, hdr, 4) != 0)
        return -1;
    uint32_t l = get32(hdr);
    if (l < 1 || l > XCH_MAX_PACKET)
        return -1;
    unsigned char *p = malloc(l);
    if (p == NULL || xch_read_full(c, p, l) != 0) {
        free(p);
        return -1;
    }
    *out = p;
    *len = l;
    return 0;
}

void rsl_sftp_side_close(rsl_conn *c)
{
    if (c->xch == NULL)
        return;
    if (!c->dead)
        libssh2_channel_close(c->xch);
    libssh2_channel_free(c->xch);
    c->xch = NULL;
}

rsl_code rsl_sftp_side_open(rsl_conn *c, rsl_err *err)
{
    unsigned char *pkt = NULL;
    uint32_t len = 0;
    c->xch = libssh2_channel_open_session(c->ss);
    if (c->xch == NULL)
        goto refused;
    if (libssh2_channel_subsystem(c->xch, "sftp") != 0)
        goto refused;
    unsigned char init[9];
    put32(init, 5);
    init[4] = FXP_INIT;
    put32(init + 5, 3);
    if (xch_write(c, init, sizeof(init)) != 0 || xch_read_packet(c, &pkt, &len) != 0)
        goto refused;
    if (pkt[0] == FXP_VERSION && len >= 5) {
        size_t off = 5; /* type + version */
        while (off + 4 <= len) {
            uint32_t nl = get32(pkt + off);
            if (nl > len - off - 4)
                break;
            const unsigned char *name = pkt + off + 4;
            off += 4 + nl;
            if (off + 4 > len)
                break;
            uint32_t dl = get32(pkt + off);
            if (dl > len - off - 4)
                break;
            off += 4 + dl;
            if (nl == 24 && memcmp(name, "posix-rename@openssh.com", 24) == 0)
                c->posix_rename = 1;
        }
    }
    free(pkt);
    if (!c->posix_rename)
        rsl_sftp_side_close(c);
    return RSL_OK;
refused:
    free(pkt);
    if (rsl_sftp_broken(c))
        return rsl_sftp_map_ssh(c, err, "SFTP extension channel to", c->host);
    rsl_sftp_side_close(c);
    c->posix_rename = 0;
    return RSL_OK;
}

/* Requests are built back to back in one buffer and sent with one write,
 * so a batch costs one round trip (OpenSSH answers in order). */
enum {
    FXP_OPEN = 3,
    FXP_CLOSE = 4,
    FXP_WRITE = 6,
    FXP_LSTAT = 7,
    FXP_FSTAT = 8,
    FXP_SETSTAT = 9,
    FXP_FSETSTAT = 10,
    FXP_HANDLE = 102,
    FXP_ATTRS = 105
};
enum { PF_WRITE = 0x02, PF_CREAT = 0x08, PF_TRUNC = 0x10 };
#define XCH_WRITE_MAX 32768u /* data bytes per WRITE: every server accepts 32 KiB */

typedef struct xbuf {
    unsigned char *p;
    size_t len, cap, start;
    int oom;
} xbuf;

static void xb_put(xbuf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n)
            ncap *= 2;
        unsigned char *np = realloc(b->p, ncap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void xb_u32(xbuf *b, uint32_t v)
{
    unsigned char q[4];
    put32(q, v);
    xb_put(b, q, 4);
}

static void xb_u64(xbuf *b, uint64_t v)
{
    xb_u32(b, (uint32_t)(v >> 32));
    xb_u32(b, (uint32_t)v);
}

static void xb_str(xbuf *b, const void *s, size_t n)
{
    xb_u32(b, (uint32_t)n);
    xb_put(b, s, n);
}

/* Starts a request of `type`; returns its id. */
static uint32_t xb_begin(rsl_conn *c, xbuf *b, unsigned char type)
{
    b->start = b->len;
    xb_u32(b, 0);
    xb_put(b, &type, 1);
    uint32_t id = ++c->xid;
    xb_u32(b, id);
    return id;
}

static void xb_end(xbuf *b)
{
    if (!b->oom)
        put32(b->p + b->start, (uint32_t)(b->len - b->start - 4));
}

/* The side channel failed mid-request: the session is unusable. */
static rsl_code xch_broken(rsl_conn *c, rsl_err *err, const char *what, const char *rel)
{
    rsl_code rc;
    if (rsl_sftp_broken(c))
        rc = rsl_sftp_map_ssh(c, err, what, rel);
    else
        rc = rsl_err_set(err, RSL_E_CONNECTION_LOST, 0, "%s '%s' on %s: the SFTP channel closed",
                         what, rel, c->host);
    c->dead = 1;
    return rc;
}

static rsl_code xch_send(rsl_conn *c, xbuf *b, const char *what, const char *rel, rsl_err *err)
{
    if (b->oom)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    if (xch_write(c, b->p, b->len) != 0)
        return xch_broken(c, err, what, rel);
    return RSL_OK;
}

/* Reads the reply to request id (type + payload in *pkt, caller frees). */
static rsl_code xch_reply(rsl_conn *c, uint32_t id, unsigned char **pkt, uint32_t *len,
                          const char *what, const char *rel, rsl_err *err)
{
    /* servers may answer out of order (the protocol allows it): replies to
     * other requests of the batch wait in a small stash */
    for (int i = 0; i < c->nstash; i++) {
        if (c->stash[i].id == id) {
            *pkt = c->stash[i].pkt;
            *len = c->stash[i].len;
            c->stash[i] = c->stash[--c->nstash];
            return RSL_OK;
        }
    }
    for (;;) {
        if (xch_read_packet(c, pkt, len) != 0)
            return xch_broken(c, err, what, rel);
        if (*len >= 5 && get32(*pkt + 1) == id)
            return RSL_OK;
        if (*len < 5 || c->nstash == RSL_SFTP_XCH_STASH) {
            unsigned type = (*pkt)[0];
            free(*pkt);
            *pkt = NULL;
            c->dead = 1;
            return rsl_err_set(err, RSL_E_PROTOCOL, (long)type,
                               "%s '%s' on %s: unexpected SFTP reply (type %u)", what, rel, c->host,
                               type);
        }
        c->stash[c->nstash].id = get32(*pkt + 1);
        c->stash[c->nstash].pkt = *pkt;
        c->stash[c->nstash].len = *len;
        c->nstash++;
    }
}

/* Reads a STATUS reply; FX_OK is RSL_OK, anything else goes to rsl_sftp_map_fx. */
static rsl_code xch_status(rsl_conn *c, uint32_t id, const char *what, const char *rel,
                           rsl_err *err)
{
    unsigned char *pkt = NULL;
    uint32_t len = 0;
    rsl_code rc = xch_reply(c, id, &pkt, &len, what, rel, err);
    if (rc == RSL_OK) {
        if (pkt[0] != FXP_STATUS || len < 9) {
            c->dead = 1;
            rc = rsl_err_set(err, RSL_E_PROTOCOL, pkt[0], "%s '%s' on %s: unexpected reply %d",
                             what, rel, c->host, pkt[0]);
        } else if (get32(pkt + 5) != 0) {
            rc = rsl_sftp_map_fx(c, err, get32(pkt + 5), what, rel);
        }
    }
    free(pkt);
    return rc;
}

/* Reads an ATTRS reply and returns the size in it. */
static rsl_code xch_attrs_size(rsl_conn *c, uint32_t id, uint64_t *size, const char *what,
                               const char *rel, rsl_err *err)
{
    unsigned char *pkt = NULL;
    uint32_t len = 0;
    rsl_code rc = xch_reply(c, id, &pkt, &len, what, rel, err);
    if (rc != RSL_OK)
        return rc;
    if (pkt[0] == FXP_STATUS && len >= 9)
        rc = rsl_sftp_map_fx(c, err, get32(pkt + 5), what, rel);
    else if (pkt[0] != FXP_ATTRS || len < 9 || !(get32(pkt + 5) & LIBSSH2_SFTP_ATTR_SIZE) ||
             len < 17)
        rc = rsl_err_set(err, RSL_E_PROTOCOL, pkt[0], "%s '%s' on %s: no size in the reply", what,
                         rel, c->host);
    else
        *size = ((uint64_t)get32(pkt + 9) << 32) | get32(pkt + 13);
    free(pkt);
    return rc;
}

/* OPENs path for writing (truncated when offset is 0) and copies the
 * handle into handle[256]; *hl its length. */
static rsl_code side_open_file(rsl_conn *c, const char *path, const char *rel, uint64_t offset,
                               unsigned char *handle, uint32_t *hl, rsl_err *err)
{
    xbuf b = {0};
    unsigned char *pkt = NULL;
    uint32_t len = 0;
    uint32_t id = xb_begin(c, &b, FXP_OPEN);
    xb_str(&b, path, strlen(path));
    xb_u32(&b, PF_WRITE | PF_CREAT | (offset == 0 ? PF_TRUNC : 0));
    xb_u32(&b, LIBSSH2_SFTP_ATTR_PERMISSIONS);
    xb_u32(&b, 0644);
    xb_end(&b);
    rsl_code rc = xch_send(c, &b, "open", rel, err);
    free(b.p);
    if (rc != RSL_OK || (rc = xch_reply(c, id, &pkt, &len, "open", rel, err)) != RSL_OK)
        return rc;
    *hl = len >= 9 ? get32(pkt + 5) : 0;
    if (pkt[0] == FXP_STATUS && len >= 9) {
        rc = rsl_sftp_map_fx(c, err, get32(pkt + 5), "open", rel);
    } else if (pkt[0] != FXP_HANDLE || *hl == 0 || *hl > len - 9 || *hl > 256) {
        c->dead = 1;
        rc = rsl_err_set(err, RSL_E_PROTOCOL, pkt[0], "open '%s' on %s: no handle in the reply",
                         rel, c->host);
    } else {
        memcpy(handle, pkt + 9, *hl);
    }
    free(pkt);
    return rc;
}

/* The ids of one upload batch, in the order the replies are read. */
typedef struct batch {
    uint32_t trunc, first_write, nwrites, fstat, close;
} batch;

/* FSETSTAT (keep exactly `offset` bytes), the WRITEs, FSTAT and CLOSE,
 * built back to back. */
static void build_batch(rsl_conn *c, xbuf *b, batch *ids, const unsigned char *handle, uint32_t hl,
                        uint64_t offset, uint64_t total, const unsigned char *data)
{
    memset(ids, 0, sizeof(*ids));
    if (offset > 0) {
        ids->trunc = xb_begin(c, b, FXP_FSETSTAT);
        xb_str(b, handle, hl);
        xb_u32(b, LIBSSH2_SFTP_ATTR_SIZE);
        xb_u64(b, offset);
        xb_end(b);
    }
    for (uint64_t off = offset; off < total; off += XCH_WRITE_MAX) {
        uint64_t n = total - off < XCH_WRITE_MAX ? total - off : XCH_WRITE_MAX;
        uint32_t wid = xb_begin(c, b, FXP_WRITE);
        if (ids->nwrites++ == 0)
            ids->first_write = wid;
        xb_str(b, handle, hl);
        xb_u64(b, off);
        xb_str(b, data + (off - offset), (size_t)n);
        xb_end(b);
    }
    ids->fstat = xb_begin(c, b, FXP_FSTAT);
    xb_str(b, handle, hl);
    xb_end(b);
    ids->close = xb_begin(c, b, FXP_CLOSE);
    xb_str(b, handle, hl);
    xb_end(b);
}

/* Reads every reply of the batch (keeps the channel in step); the first
 * error wins, unless the session itself dies. *size gets FSTAT's size. */
static rsl_code read_batch(rsl_conn *c, const batch *ids, const char *rel, uint64_t *size,
                           rsl_err *err)
{
    rsl_code first = RSL_OK;
    rsl_err ferr = {0};
    for (int step = 0; step < 4; step++) {
        uint32_t count = step == 1 ? ids->nwrites : step == 0 ? ids->trunc != 0 : 1;
        for (uint32_t k = 0; k < count; k++) {
            rsl_err scratch = {0};
            rsl_code rc;
            if (step == 0)
                rc = xch_status(c, ids->trunc, "truncate", rel, &scratch);
            else if (step == 1)
                rc = xch_status(c, ids->first_write + k, "write", rel, &scratch);
            else if (step == 2)
                rc = xch_attrs_size(c, ids->fstat, size, "stat", rel, &scratch);
            else
                rc = xch_status(c, ids->close, "close", rel, &scratch);
            if (c->dead) {
                *err = scratch;
                return rc;
            }
            if (rc != RSL_OK && first == RSL_OK) {
                first = rc;
                ferr = scratch;
            }
        }
    }
    if (first != RSL_OK)
        *err = ferr;
    return first;
}

rsl_code rsl_sftp_side_upload(rsl_conn *c, const char *path, const char *rel, uint64_t offset,
                              uint64_t total, const unsigned char *data, rsl_err *err)
{
    unsigned char handle[256];
    uint32_t hl = 0;
    rsl_code rc = side_open_file(c, path, rel, offset, handle, &hl, err);
    if (rc != RSL_OK)
        return rc;
    xbuf b = {0};
    batch ids;
    build_batch(c, &b, &ids, handle, hl, offset, total, data);
    rc = xch_send(c, &b, "write", rel, err);
    free(b.p);
    uint64_t size = 0;
    if (rc == RSL_OK)
        rc = read_batch(c, &ids, rel, &size, err);
    if (rc != RSL_OK)
        return rc;
    free(c->last_tmp);
    c->last_tmp = strdup(rel);
    c->last_size = size;
    return RSL_OK;
}

rsl_code rsl_sftp_side_finish(rsl_conn *c, const char *from, const char *to, int64_t mtime,
                              const char *tmp_rel, const char *rel, rsl_err *err)
{
    static const char ext[] = "posix-rename@openssh.com";
    xbuf b = {0};
    uint32_t id_set = 0;
    if (mtime >= 0) {
        id_set = xb_begin(c, &b, FXP_SETSTAT);
        xb_str(&b, from, strlen(from));
        xb_u32(&b, LIBSSH2_SFTP_ATTR_ACMODTIME);
        xb_u32(&b, (uint32_t)mtime);
        xb_u32(&b, (uint32_t)mtime);
        xb_end(&b);
    }
    uint32_t id_ren = xb_begin(c, &b, FXP_EXTENDED);
    xb_str(&b, ext, sizeof(ext) - 1);
    xb_str(&b, from, strlen(from));
    xb_str(&b, to, strlen(to));
    xb_end(&b);
    rsl_code rc = xch_send(c, &b, "rename to", rel, err);
    free(b.p);
    if (rc != RSL_OK)
        return rc;
    rsl_err serr = {0};
    rsl_code src = id_set ? xch_status(c, id_set, "set mtime", tmp_rel, &serr) : RSL_OK;
    if (c->dead) {
        *err = serr;
        return src;
    }
    rc = xch_status(c, id_ren, "rename to", rel, err);
    if (rc == RSL_OK && src != RSL_OK) {
        *err = serr; /* in place, but without its mtime: the item is retried */
        rc = src;
    }
    return rc;
}
