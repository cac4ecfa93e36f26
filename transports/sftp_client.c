/*
 * sftp_client.c - the SFTP v3 request engine over a carrier, the status
 * mapping and the synchronous helpers. See sftp_client.h.
 */
#define _GNU_SOURCE
#include "sftp_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rsl_sftp_ent {
    uint32_t id; /* 0: empty slot */
    rsl_sftp_cb cb;
    void *ud;
};

struct rsl_sftp_client {
    rsl_sftp_carrier *car;
    char *root, *host;
    int timeout_sec;
    size_t reply_cap;
    void (*log)(void *ud, int level, const char *msg);
    void *log_ud;
    /* what the server said */
    uint32_t version;
    unsigned exts;
    struct {
        char *name, *data;
    } * extv;
    size_t nextv;
    rsl_sftp_sizes sizes;
    rsl_sftp_stats stats;
    /* requests */
    uint32_t next_id;
    struct rsl_sftp_ent *tab;
    size_t tabcap, tabn;
    int awaiting_version;
    /* the round trip: one request at a time is timed from the pump that
     * sends it to its reply; the least of these samples is the link's. A
     * reply counts only when the pump saw it arrive (it waited for input,
     * or sent the request itself): one read from a socket where it had
     * been waiting while the caller was busy would time the caller. */
    uint32_t probe_id;
    double probe_sent_ms;  /* 0: not sent yet */
    unsigned probe_pump;   /* the pump that sent it */
    unsigned pump_seq;     /* pumps so far */
    int pump_waited;       /* this pump waited for input */
    long rtt_us;           /* -1: no sample yet */
    unsigned rtt_n;        /* samples taken */
    int limits_pending;    /* a deferred limits@openssh.com request is out */
    int limits_blind;      /* ... sent with INIT, before VERSION said whether it is offered */
    uint32_t forced_write; /* cfg->max_write, for pick_sizes when it answers */
    /* bytes */
    rsl_sftp_buf out;
    size_t out_head;   /* bytes of out already sent */
    unsigned char *in; /* input reassembly */
    size_t in_len, in_cap;
    int in_dispatch;
    const unsigned char *cur_pkt; /* the packet being dispatched */
    size_t cur_len;
    double quiet_ms; /* time spent waiting since bytes last moved */
    /* a dead session keeps its error */
    int dead;
    rsl_err err;
};

static rsl_code take_exts(rsl_sftp_client *s, rsl_sftp_str ext, uint32_t count);
static rsl_code get_limits(rsl_sftp_client *s, rsl_err *err);
static void send_limits_deferred(rsl_sftp_client *s);
static void pick_sizes(rsl_sftp_client *s, uint32_t forced_write);

#define IN_CHUNK (64u << 10)   /* bytes asked of the carrier per recv (libssh2's window rule) */
#define MAX_WRITE (255u << 10) /* OpenSSH's limit: 256 KiB packets less 1 KiB */
#define DEFAULT_WRITE 32768u   /* every server accepts this much without limits */
#define DEFAULT_TIMEOUT 60

/* ------------------------------------------------------------------ */
/* small things */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void rsl_sftp_client_log(rsl_sftp_client *s, int level, const char *fmt, ...)
{
    if (s->log == NULL)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->log(s->log_ud, level, msg);
}

rsl_code rsl_sftp_client_fail(rsl_sftp_client *s, rsl_code code, const char *fmt, ...)
{
    if (s->dead)
        return s->err.code;
    s->dead = 1;
    s->err.code = code;
    s->err.native = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err.msg, sizeof(s->err.msg), fmt, ap);
    va_end(ap);
    return code;
}

/* The carrier failed with *e: the session is dead with that error. */
static rsl_code fail_with(rsl_sftp_client *s, const rsl_err *e)
{
    if (!s->dead) {
        s->dead = 1;
        s->err = *e;
        if (s->err.code == RSL_OK)
            s->err.code = RSL_E_CONNECTION_LOST;
    }
    return s->err.code;
}

rsl_code rsl_sftp_client_error(const rsl_sftp_client *s, rsl_err *err)
{
    if (!s->dead)
        return RSL_OK;
    if (err)
        *err = s->err;
    return s->err.code;
}

unsigned rsl_sftp_client_exts(const rsl_sftp_client *s)
{
    return s->exts;
}

void rsl_sftp_client_drop_exts(rsl_sftp_client *s, unsigned bits)
{
    s->exts &= ~bits;
}

void rsl_sftp_client_set_timeout(rsl_sftp_client *s, int timeout_sec)
{
    s->timeout_sec = timeout_sec > 0 ? timeout_sec : DEFAULT_TIMEOUT;
}

uint32_t rsl_sftp_client_server_version(const rsl_sftp_client *s)
{
    return s->version;
}

const rsl_sftp_sizes *rsl_sftp_client_get_sizes(const rsl_sftp_client *s)
{
    return &s->sizes;
}

const rsl_sftp_stats *rsl_sftp_client_get_stats(const rsl_sftp_client *s)
{
    return &s->stats;
}

const char *rsl_sftp_client_host(const rsl_sftp_client *s)
{
    return s->host;
}

int rsl_sftp_client_timeout(const rsl_sftp_client *s)
{
    return s->timeout_sec;
}

const char *rsl_sftp_client_ext_data(const rsl_sftp_client *s, const char *name)
{
    for (size_t i = 0; i < s->nextv; i++)
        if (strcmp(s->extv[i].name, name) == 0)
            return s->extv[i].data;
    return NULL;
}

int rsl_sftp_client_path(const rsl_sftp_client *s, const char *rel, char *buf, size_t n)
{
    int w;
    if (rel[0] == '\0')
        w = snprintf(buf, n, "%s", s->root);
    else if (strcmp(s->root, "/") == 0)
        w = snprintf(buf, n, "/%s", rel);
    else
        w = snprintf(buf, n, "%s/%s", s->root, rel);
    return (w < 0 || (size_t)w >= n) ? -1 : w;
}

/* ------------------------------------------------------------------ */
/* the table of outstanding requests: open addressing on the id, linear
 * probing, deletion by backward shift; id 0 marks an empty slot */

static size_t slot_of(uint32_t id, size_t mask)
{
    return (size_t)(id * 2654435761u) & mask;
}

static struct rsl_sftp_ent *tab_find(rsl_sftp_client *s, uint32_t id)
{
    if (s->tabcap == 0 || id == 0) /* 0 marks empty slots: never an id we sent */
        return NULL;
    size_t mask = s->tabcap - 1;
    for (size_t i = slot_of(id, mask);; i = (i + 1) & mask) {
        if (s->tab[i].id == id)
            return &s->tab[i];
        if (s->tab[i].id == 0)
            return NULL;
    }
}

static int tab_grow(rsl_sftp_client *s)
{
    size_t ncap = s->tabcap ? s->tabcap * 2 : 256;
    struct rsl_sftp_ent *nt = calloc(ncap, sizeof(*nt));
    if (nt == NULL)
        return -1;
    for (size_t i = 0; i < s->tabcap; i++) {
        if (s->tab[i].id == 0)
            continue;
        size_t j = slot_of(s->tab[i].id, ncap - 1);
        while (nt[j].id != 0)
            j = (j + 1) & (ncap - 1);
        nt[j] = s->tab[i];
    }
    free(s->tab);
    s->tab = nt;
    s->tabcap = ncap;
    return 0;
}

static int tab_add(rsl_sftp_client *s, uint32_t id, rsl_sftp_cb cb, void *ud)
{
    if ((s->tabn + 1) * 2 > s->tabcap && tab_grow(s) != 0)
        return -1;
    size_t mask = s->tabcap - 1, i = slot_of(id, mask);
    while (s->tab[i].id != 0)
        i = (i + 1) & mask;
    s->tab[i].id = id;
    s->tab[i].cb = cb;
    s->tab[i].ud = ud;
    s->tabn++;
    return 0;
}

static void tab_del(rsl_sftp_client *s, struct rsl_sftp_ent *e)
{
    size_t mask = s->tabcap - 1, i = (size_t)(e - s->tab), j = i;
    s->tab[i].id = 0;
    s->tabn--;
    for (;;) {
        j = (j + 1) & mask;
        if (s->tab[j].id == 0)
            return;
        size_t k = slot_of(s->tab[j].id, mask);
        /* the entry at j stays unless its home k lies cyclically outside (i, j] */
        int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            s->tab[i] = s->tab[j];
            s->tab[j].id = 0;
            i = j;
        }
    }
}

uint32_t rsl_sftp_client_request(rsl_sftp_client *s, rsl_sftp_cb cb, void *ud)
{
    uint32_t id;
    do {
        id = ++s->next_id;
    } while (id == 0 || tab_find(s, id) != NULL);
    if (tab_add(s, id, cb, ud) != 0)
        s->out.bad = 1; /* the next pump fails the session with NO_MEMORY */
    /* a request sent with INIT (defer_version) is not timed: its answer
     * waits for the server to start, or for ssh to connect and log in */
    if (s->probe_id == 0 && !s->awaiting_version) {
        s->probe_id = id;
        s->probe_sent_ms = 0;
    }
    s->stats.requests++;
    if (s->tabn > s->stats.max_outstanding)
        s->stats.max_outstanding = (uint32_t)s->tabn;
    return id;
}

rsl_sftp_buf *rsl_sftp_client_out(rsl_sftp_client *s)
{
    return &s->out;
}

size_t rsl_sftp_client_mark(const rsl_sftp_client *s)
{
    return s->out.len;
}

void rsl_sftp_client_cancel(rsl_sftp_client *s, uint32_t id, size_t mark)
{
    struct rsl_sftp_ent *e = tab_find(s, id);
    if (e != NULL) {
        tab_del(s, e);
        s->stats.requests--;
    }
    if (id == s->probe_id)
        s->probe_id = 0;
    if (mark >= s->out_head && mark <= s->out.len)
        s->out.len = mark;
}

long rsl_sftp_client_rtt_us(const rsl_sftp_client *s, unsigned *samples)
{
    if (samples != NULL)
        *samples = s->rtt_n;
    return s->rtt_us;
}

rsl_code rsl_sftp_client_wait_rtt(rsl_sftp_client *s, rsl_err *err)
{
    while (s->rtt_us < 0 && s->probe_id != 0 && !s->dead) {
        rsl_code rc = rsl_sftp_client_pump(s, 1, err);
        if (rc != RSL_OK)
            return rc;
    }
    return s->dead ? rsl_sftp_client_error(s, err) : RSL_OK;
}

size_t rsl_sftp_client_outstanding(const rsl_sftp_client *s)
{
    return s->tabn + (s->awaiting_version ? 1 : 0);
}

size_t rsl_sftp_client_unsent(const rsl_sftp_client *s)
{
    return s->out.len - s->out_head;
}

/* ------------------------------------------------------------------ */
/* the pump */

/* Sends what is queued until the carrier would block. */
static rsl_code flush_out(rsl_sftp_client *s, int *moved)
{
    rsl_err e = {0};
    while (s->out_head < s->out.len) {
        ssize_t w = s->car->ops->send(s->car, s->out.p + s->out_head, s->out.len - s->out_head, &e);
        if (w < 0)
            return fail_with(s, &e);
        if (w == 0)
            break;
        s->out_head += (size_t)w;
        s->stats.bytes_out += (uint64_t)w;
        *moved = 1;
    }
    if (s->out_head == s->out.len) {
        s->out.len = s->out_head = 0;
    } else if (s->out_head > (1u << 20) && s->out_head * 2 > s->out.len) {
        memmove(s->out.p, s->out.p + s->out_head, s->out.len - s->out_head);
        s->out.len -= s->out_head;
        s->out_head = 0;
    }
    return RSL_OK;
}

/* Handles the VERSION reply that answers INIT. */
static rsl_code take_version(rsl_sftp_client *s, const unsigned char *p, size_t n)
{
    char why[200];
    rsl_sftp_hello v;
    if (rsl_sftp_wire_version(&v, p, n, why, sizeof(why)) != 0)
        return rsl_sftp_client_fail(s, RSL_E_PROTOCOL, "%s: not an SFTP server? %s", s->host, why);
    s->awaiting_version = 0;
    s->version = v.version;
    if (s->version != RSL_SFTP_PROTO_VERSION)
        return rsl_sftp_client_fail(s, RSL_E_PROTOCOL,
                                    "%s speaks SFTP version %u; version 3 is needed", s->host,
                                    s->version);
    return take_exts(s, v.ext, v.count);
}

/* The timed request answered: one more sample of the round trip. */
static void rtt_sample(rsl_sftp_client *s)
{
    if (s->probe_sent_ms > 0 && (s->pump_waited || s->probe_pump == s->pump_seq)) {
        long us = (long)((now_ms() - s->probe_sent_ms) * 1000.0);
        if (s->rtt_us < 0 || us < s->rtt_us)
            s->rtt_us = us;
        s->rtt_n++;
    }
    s->probe_id = 0;
}

/* Decodes one packet and calls its request's callback. */
static rsl_code dispatch(rsl_sftp_client *s, const unsigned char *p, size_t n)
{
    s->stats.replies++;
    if (s->awaiting_version)
        return take_version(s, p, n);
    char why[200];
    rsl_sftp_reply r;
    if (rsl_sftp_wire_reply(&r, p, n, why, sizeof(why)) != 0)
        return rsl_sftp_client_fail(s, RSL_E_PROTOCOL, "%s sent a malformed SFTP reply: %s",
                                    s->host, why);
    struct rsl_sftp_ent *e = tab_find(s, r.id);
    if (e == NULL)
        return rsl_sftp_client_fail(
            s, RSL_E_PROTOCOL, "%s sent an SFTP %s reply to request %u, which is not outstanding",
            s->host, rsl_sftp_wire_type_name(r.type), r.id);
    rsl_sftp_cb cb = e->cb;
    void *ud = e->ud;
    tab_del(s, e);
    if (r.id == s->probe_id)
        rtt_sample(s);
    if (cb != NULL) {
        s->cur_pkt = p;
        s->cur_len = n;
        cb(s, ud, &r);
        s->cur_pkt = NULL;
    }
    return s->dead ? s->err.code : RSL_OK;
}

/* Dispatches every whole packet in the input buffer, then keeps the rest. */
static rsl_code parse_in(rsl_sftp_client *s)
{
    size_t pos = 0;
    rsl_code rc = RSL_OK;
    s->in_dispatch = 1;
    for (;;) {
        uint32_t body = 0;
        char why[200];
        int f = rsl_sftp_wire_frame(s->in + pos, s->in_len - pos, s->reply_cap, &body, why,
                                    sizeof(why));
        if (f < 0) {
            rc = rsl_sftp_client_fail(s, RSL_E_PROTOCOL, "%s sent an SFTP %s", s->host, why);
            break;
        }
        if (f == 0)
            break;
        rc = dispatch(s, s->in + pos + 4, body);
        pos += 4 + (size_t)body;
        if (rc != RSL_OK)
            break;
    }
    s->in_dispatch = 0;
    if (pos > 0) {
        memmove(s->in, s->in + pos, s->in_len - pos);
        s->in_len -= pos;
    }
    return rc;
}

/* Reads what the carrier has (a bounded number of times) and dispatches. */
static rsl_code fill_in(rsl_sftp_client *s, int *moved)
{
    rsl_err e = {0};
    for (int round = 0; round < 32; round++) {
        size_t room = s->in_cap - s->in_len;
        if (room > IN_CHUNK)
            room = IN_CHUNK;
        ssize_t r = s->car->ops->recv(s->car, s->in + s->in_len, room, &e);
        if (r < 0)
            return fail_with(s, &e);
        if (r == 0)
            break;
        s->in_len += (size_t)r;
        s->stats.bytes_in += (uint64_t)r;
        *moved = 1;
        s->quiet_ms = 0;
        rsl_code rc = parse_in(s);
        if (rc != RSL_OK)
            return rc;
    }
    return RSL_OK;
}

/* Waits for the carrier (bounded by the deadline and the carrier's tick). */
static rsl_code wait_io(rsl_sftp_client *s)
{
    struct pollfd fds[4];
    int nfd = s->car->ops->wait_fds(s->car, s->out_head < s->out.len, fds, 4);
    double limit = (double)s->timeout_sec * 1000.0;
    double left = limit - s->quiet_ms;
    int tick = s->car->ops->tick_ms ? s->car->ops->tick_ms(s->car) : -1;
    int to = left > 0 ? (int)left + 1 : 0;
    if (tick > 0 && tick < to)
        to = tick;
    double t0 = now_ms();
    int pr = poll(fds, (nfds_t)nfd, to);
    if (pr < 0 && errno != EINTR)
        return rsl_sftp_client_fail(s, RSL_E_INTERNAL, "poll: %s", strerror(errno));
    s->quiet_ms += now_ms() - t0;
    rsl_err e = {0};
    if (s->car->ops->tick && s->car->ops->tick(s->car, &e) < 0)
        return fail_with(s, &e);
    if (pr == 0 && s->quiet_ms >= limit)
        return rsl_sftp_client_fail(s, RSL_E_TIMEOUT,
                                    "%s did not answer within %d s (%zu SFTP requests outstanding)",
                                    s->host, s->timeout_sec, rsl_sftp_client_outstanding(s));
    return RSL_OK;
}

rsl_code rsl_sftp_client_pump(rsl_sftp_client *s, int block, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    if (s->in_dispatch)
        rc = rsl_sftp_client_fail(s, RSL_E_INTERNAL, "SFTP pump called from a reply callback");
    else if (s->out.bad)
        rc = rsl_sftp_client_fail(s, RSL_E_NO_MEMORY, "out of memory building SFTP requests");
    s->pump_seq++;
    s->pump_waited = 0;
    if (s->probe_id != 0 && s->probe_sent_ms == 0) { /* the timed request leaves now */
        s->probe_sent_ms = now_ms();
        s->probe_pump = s->pump_seq;
    }
    while (!s->dead) {
        int moved = 0;
        if ((rc = flush_out(s, &moved)) != RSL_OK || (rc = fill_in(s, &moved)) != RSL_OK)
            break;
        if (s->out.bad) {
            rc = rsl_sftp_client_fail(s, RSL_E_NO_MEMORY, "out of memory building SFTP requests");
            break;
        }
        if (moved) {
            s->quiet_ms = 0;
            return RSL_OK;
        }
        if (!block || (rsl_sftp_client_outstanding(s) == 0 && rsl_sftp_client_unsent(s) == 0))
            return RSL_OK;
        s->pump_waited = 1;
        if ((rc = wait_io(s)) != RSL_OK)
            break;
    }
    return rsl_sftp_client_error(s, err);
}

/* ------------------------------------------------------------------ */
/* open / close */

static void pick_sizes(rsl_sftp_client *s, uint32_t forced_write)
{
    const rsl_sftp_limits *l = &s->sizes.server;
    uint64_t w = l->max_write ? l->max_write : DEFAULT_WRITE;
    uint64_t r = l->max_read ? l->max_read : DEFAULT_WRITE;
    if (w > MAX_WRITE)
        w = MAX_WRITE;
    if (r > MAX_WRITE)
        r = MAX_WRITE;
    if (l->max_packet > 2048 && w > l->max_packet - 1024)
        w = l->max_packet - 1024;
    if (r > s->reply_cap - 1024)
        r = s->reply_cap - 1024;
    if (w < 1024)
        w = 1024;
    if (r < 1024)
        r = 1024;
    s->sizes.write_len = forced_write ? forced_write : (uint32_t)w;
    s->sizes.read_len = (uint32_t)r;
    /* leave a few handles for whatever else the server does for us */
    uint64_t h = l->max_handles;
    s->sizes.handles = h == 0 ? 0 : h > 1024 ? 1024 : h > 8 ? (uint32_t)h - 4 : 1;
}

static rsl_code start(rsl_sftp_client *s, const rsl_sftp_client_cfg *cfg, rsl_err *err)
{
    rsl_sftp_wire_init(&s->out, RSL_SFTP_PROTO_VERSION);
    s->awaiting_version = 1;
    s->forced_write = cfg->max_write;
    if (cfg->defer_version) {
        /* an unknown extended request is answered OP_UNSUPPORTED (v3, 8) */
        s->limits_blind = 1;
        send_limits_deferred(s);
        pick_sizes(s, cfg->max_write); /* the defaults until it answers */
        return RSL_OK;
    }
    rsl_code rc;
    while (s->awaiting_version)
        if ((rc = rsl_sftp_client_pump(s, 1, err)) != RSL_OK)
            return rc;
    if ((s->exts & RSL_SFTP_EXT_LIMITS) && cfg->defer_limits) {
        send_limits_deferred(s); /* answered with the caller's first requests */
    } else if (s->exts & RSL_SFTP_EXT_LIMITS) {
        if ((rc = get_limits(s, err)) != RSL_OK) {
            if (s->dead)
                return rc;
            rsl_sftp_client_log(s, RSL_LOG_INFO,
                                "sftp: %s: limits@openssh.com failed (%s); defaults used", s->host,
                                err->msg);
            rsl_err_clear(err);
        }
    }
    pick_sizes(s, cfg->max_write);
    return RSL_OK;
}

rsl_code rsl_sftp_client_open(rsl_sftp_client **out, rsl_sftp_carrier *car,
                              const rsl_sftp_client_cfg *cfg, rsl_err *err)
{
    *out = NULL;
    rsl_sftp_client *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        car->ops->close(car, 1);
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    }
    s->car = car;
    s->rtt_us = -1;
    s->timeout_sec = cfg->timeout_sec > 0 ? cfg->timeout_sec : DEFAULT_TIMEOUT;
    s->reply_cap = cfg->reply_cap ? cfg->reply_cap : RSL_SFTP_REPLY_CAP;
    if (s->reply_cap < 4096)
        s->reply_cap = 4096;
    s->log = cfg->log;
    s->log_ud = cfg->ud;
    s->root = strdup(cfg->root && cfg->root[0] ? cfg->root : "/");
    s->host = strdup(cfg->host && cfg->host[0] ? cfg->host : "the server");
    s->in_cap = s->reply_cap + 4 + IN_CHUNK;
    s->in = malloc(s->in_cap);
    rsl_code rc;
    if (s->root == NULL || s->host == NULL || s->in == NULL)
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    else
        rc = start(s, cfg, err);
    if (rc != RSL_OK) {
        s->dead = 1;
        rsl_sftp_client_close(s);
        return rc;
    }
    *out = s;
    return RSL_OK;
}

void rsl_sftp_client_close(rsl_sftp_client *s)
{
    if (s == NULL)
        return;
    if (s->car != NULL)
        s->car->ops->close(s->car, s->dead);
    for (size_t i = 0; i < s->nextv; i++) {
        free(s->extv[i].name);
        free(s->extv[i].data);
    }
    free(s->extv);
    free(s->tab);
    free(s->in);
    rsl_sftp_buf_free(&s->out);
    free(s->root);
    free(s->host);
    free(s);
}

void rsl_sftp_client_describe(rsl_sftp_client *s, char *buf, size_t n)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{RSL_SFTP_EXT_POSIX_RENAME, "posix-rename"},
                 {RSL_SFTP_EXT_FSYNC, "fsync"},
                 {RSL_SFTP_EXT_LIMITS, "limits"},
                 {RSL_SFTP_EXT_STATVFS, "statvfs"},
                 {RSL_SFTP_EXT_HARDLINK, "hardlink"},
                 {RSL_SFTP_EXT_CHECK_FILE, "check-file"},
                 {RSL_SFTP_EXT_MD5_HASH, "md5-hash"}};
    char ext[200] = "", car[200] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(s->exts & names[i].bit))
            continue;
        int w = snprintf(ext + used, sizeof(ext) - used, "%s%s", used ? " " : "", names[i].name);
        if (w > 0 && (size_t)w < sizeof(ext) - used)
            used += (size_t)w;
    }
    if (s->car->ops->describe)
        s->car->ops->describe(s->car, car, sizeof(car));
    const rsl_sftp_limits *l = &s->sizes.server;
    snprintf(buf, n,
             "SFTP v%u over %s; extensions: %s; server limits: packet %llu, read %llu, write %llu, "
             "handles %llu (0 = not stated); writes of %u bytes",
             s->version, car[0] ? car : s->car->ops->name, used ? ext : "none",
             (unsigned long long)l->max_packet, (unsigned long long)l->max_read,
             (unsigned long long)l->max_write, (unsigned long long)l->max_handles,
             s->sizes.write_len);
}

/* ------------------------------------------------------------------ */
/* extensions */

static const struct {
    const char *name;
    unsigned bit;
} known_exts[] = {
    {"posix-rename@openssh.com", RSL_SFTP_EXT_POSIX_RENAME},
    {"statvfs@openssh.com", RSL_SFTP_EXT_STATVFS},
    {"fstatvfs@openssh.com", RSL_SFTP_EXT_FSTATVFS},
    {"hardlink@openssh.com", RSL_SFTP_EXT_HARDLINK},
    {"fsync@openssh.com", RSL_SFTP_EXT_FSYNC},
    {"limits@openssh.com", RSL_SFTP_EXT_LIMITS},
    {"lsetstat@openssh.com", RSL_SFTP_EXT_LSETSTAT},
    {"check-file", RSL_SFTP_EXT_CHECK_FILE},
    {"check-file-handle", RSL_SFTP_EXT_CHECK_FILE},
    {"check-file-name", RSL_SFTP_EXT_CHECK_FILE},
    {"md5-hash", RSL_SFTP_EXT_MD5_HASH},
    {"md5-hash-handle", RSL_SFTP_EXT_MD5_HASH},
    {"copy-data", RSL_SFTP_EXT_COPY_DATA},
};

/* Learns the extension pairs of VERSION: bits, and the data of each (at
 * most 64 kept; a server offering more is odd but not wrong). */
static rsl_code take_exts(rsl_sftp_client *s, rsl_sftp_str ext, uint32_t count)
{
    size_t keep = count < 64 ? count : 64;
    if (keep && (s->extv = calloc(keep, sizeof(*s->extv))) == NULL)
        return rsl_sftp_client_fail(s, RSL_E_NO_MEMORY, "out of memory");
    rsl_sftp_str name, data;
    while (rsl_sftp_wire_pair_next(&ext, &name, &data) == 1) {
        for (size_t i = 0; i < sizeof(known_exts) / sizeof(known_exts[0]); i++)
            if (rsl_sftp_str_eq(name, known_exts[i].name))
                s->exts |= known_exts[i].bit;
        if (s->nextv == keep)
            continue;
        s->extv[s->nextv].name = rsl_sftp_str_dup(name);
        s->extv[s->nextv].data = rsl_sftp_str_dup(data);
        if (s->extv[s->nextv].name == NULL || s->extv[s->nextv].data == NULL) {
            free(s->extv[s->nextv].name);
            free(s->extv[s->nextv].data);
            return rsl_sftp_client_fail(s, RSL_E_NO_MEMORY, "out of memory");
        }
        s->nextv++;
    }
    return RSL_OK;
}

/* ------------------------------------------------------------------ */
/* status mapping */

/* Copies the printable ASCII of a server's message (at most 120 bytes):
 * nothing a hostile server sends reaches a log as control characters. */
static void sanitize(rsl_sftp_str m, char *buf, size_t n)
{
    size_t o = 0;
    for (uint32_t i = 0; i < m.len && o + 1 < n && o < 120; i++)
        buf[o++] = (m.p[i] >= 0x20 && m.p[i] < 0x7f) ? (char)m.p[i] : '?';
    buf[o] = '\0';
}

rsl_code rsl_sftp_client_map_status(uint32_t fx, rsl_sftp_str srvmsg, const char *what,
                                    const char *rel, const char *host, rsl_err *err)
{
    rsl_code code;
    switch (fx) {
    case RSL_FX_NO_SUCH_FILE:
    case RSL_FX_NO_SUCH_PATH:
        code = RSL_E_REMOTE_NOT_FOUND;
        break;
    case RSL_FX_PERMISSION_DENIED:
    case RSL_FX_WRITE_PROTECT:
        code = RSL_E_REMOTE_PERMISSION;
        break;
    case RSL_FX_NO_SPACE_ON_FILESYSTEM:
    case RSL_FX_QUOTA_EXCEEDED:
        code = RSL_E_REMOTE_NO_SPACE;
        break;
    case RSL_FX_INVALID_FILENAME:
    case RSL_FX_BAD_MESSAGE: /* OpenSSH: ENAMETOOLONG, EINVAL */
        code = RSL_E_REMOTE_NAME_REFUSED;
        break;
    case RSL_FX_FILE_ALREADY_EXISTS:
    case RSL_FX_NOT_A_DIRECTORY:
    case RSL_FX_FILE_IS_A_DIRECTORY:
        code = RSL_E_REMOTE_TYPE_CONFLICT;
        break;
    case RSL_FX_LOCK_CONFLICT:
        code = RSL_E_REMOTE_LOCKED;
        break;
    case RSL_FX_NO_CONNECTION:
    case RSL_FX_CONNECTION_LOST:
        code = RSL_E_CONNECTION_LOST;
        break;
    default: /* FAILURE above all: callers refine it by context */
        code = RSL_E_REMOTE_IO;
        break;
    }
    char m[128];
    sanitize(srvmsg, m, sizeof(m));
    return rsl_err_set(err, code, (long)fx, "%s '%s'%s%s: SFTP status %s (%u)%s%s", what, rel,
                       host ? " on " : "", host ? host : "", rsl_sftp_wire_status_name(fx), fx,
                       m[0] ? ": " : "", m);
}

rsl_code rsl_sftp_client_status(rsl_sftp_client *s, const rsl_sftp_reply *r, const char *what,
                                const char *rel, rsl_err *err)
{
    if (r->type != RSL_FXP_STATUS) {
        rsl_sftp_client_fail(s, RSL_E_PROTOCOL,
                             "%s '%s' on %s: SFTP %s reply where STATUS was expected", what, rel,
                             s->host, rsl_sftp_wire_type_name(r->type));
        return rsl_sftp_client_error(s, err);
    }
    if (r->status == RSL_FX_OK)
        return RSL_OK;
    rsl_code rc = rsl_sftp_client_map_status(r->status, r->msg, what, rel, s->host, err);
    if (rc == RSL_E_CONNECTION_LOST)
        fail_with(s, err);
    return rc;
}

rsl_code rsl_sftp_client_expect(rsl_sftp_client *s, const rsl_sftp_reply *r, uint8_t want,
                                const char *what, const char *rel, rsl_err *err)
{
    if (r->type == want)
        return RSL_OK;
    if (r->type == RSL_FXP_STATUS && r->status != RSL_FX_OK)
        return rsl_sftp_client_status(s, r, what, rel, err);
    rsl_sftp_client_fail(s, RSL_E_PROTOCOL, "%s '%s' on %s: SFTP %s reply where %s was expected",
                         what, rel, s->host, rsl_sftp_wire_type_name(r->type),
                         rsl_sftp_wire_type_name(want));
    return rsl_sftp_client_error(s, err);
}

int rsl_sftp_client_attrs_is_dir(const rsl_sftp_attrs *a)
{
    return (a->flags & RSL_SFTP_ATTR_PERMISSIONS) &&
           (a->perm & RSL_SFTP_S_IFMT) == RSL_SFTP_S_IFDIR;
}

void rsl_sftp_client_attrs_to_rstat(const rsl_sftp_attrs *a, rsl_rstat *st)
{
    st->exists = 1;
    st->is_dir = rsl_sftp_client_attrs_is_dir(a);
    st->size = (a->flags & RSL_SFTP_ATTR_SIZE) ? a->size : 0;
    st->mtime = (a->flags & RSL_SFTP_ATTR_ACMODTIME) ? (int64_t)a->mtime : -1;
}

/* ------------------------------------------------------------------ */
/* limits@openssh.com, asked once at open */

typedef struct limits_wait {
    int done;
    rsl_err err;
} limits_wait;

static void limits_cb(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    limits_wait *w = ud;
    char why[200];
    w->done = 1;
    if (rsl_sftp_client_expect(s, r, RSL_FXP_EXTENDED_REPLY, "limits@openssh.com", "", &w->err) !=
        RSL_OK)
        return;
    if (rsl_sftp_wire_limits_reply(&s->sizes.server, r->ext, why, sizeof(why)) != 0)
        rsl_sftp_client_fail(s, RSL_E_PROTOCOL, "%s: %s", s->host, why);
}

/* Deferred: the sizes are the defaults until the answer comes, then
 * picked again; a failed answer keeps the defaults (logged). */
static void limits_deferred_cb(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)ud;
    limits_wait w = {0};
    s->limits_pending = 0;
    if (s->limits_blind && !(s->exts & RSL_SFTP_EXT_LIMITS) && r->type == RSL_FXP_STATUS) {
        pick_sizes(s, s->forced_write); /* asked blind of a server without it: the defaults */
        return;
    }
    limits_cb(s, &w, r);
    if (s->dead)
        return;
    if (w.err.code != RSL_OK) {
        memset(&s->sizes.server, 0, sizeof(s->sizes.server));
        rsl_sftp_client_log(s, RSL_LOG_INFO,
                            "sftp: %s: limits@openssh.com failed (%s); defaults used", s->host,
                            w.err.msg);
    }
    pick_sizes(s, s->forced_write);
}

static void send_limits_deferred(rsl_sftp_client *s)
{
    s->limits_pending = 1;
    rsl_sftp_wire_limits(&s->out, rsl_sftp_client_request(s, limits_deferred_cb, NULL));
}

rsl_code rsl_sftp_client_wait_version(rsl_sftp_client *s, rsl_err *err)
{
    rsl_code rc;
    while (s->awaiting_version && !s->dead)
        if ((rc = rsl_sftp_client_pump(s, 1, err)) != RSL_OK)
            return rc;
    return s->dead ? rsl_sftp_client_error(s, err) : RSL_OK;
}

rsl_code rsl_sftp_client_settle(rsl_sftp_client *s, rsl_err *err)
{
    rsl_code rc;
    while ((s->awaiting_version || s->limits_pending) && !s->dead)
        if ((rc = rsl_sftp_client_pump(s, 1, err)) != RSL_OK)
            return rc;
    return s->dead ? rsl_sftp_client_error(s, err) : RSL_OK;
}

static rsl_code get_limits(rsl_sftp_client *s, rsl_err *err)
{
    limits_wait w = {0};
    rsl_sftp_wire_limits(&s->out, rsl_sftp_client_request(s, limits_cb, &w));
    rsl_code rc;
    while (!w.done) {
        if ((rc = rsl_sftp_client_pump(s, 1, err)) != RSL_OK)
            return rc;
        if (!w.done && rsl_sftp_client_outstanding(s) == 0) {
            rsl_sftp_client_fail(s, RSL_E_INTERNAL, "the limits@openssh.com reply was lost");
            return rsl_sftp_client_error(s, err);
        }
    }
    if (s->dead)
        return rsl_sftp_client_error(s, err);
    if (w.err.code != RSL_OK) {
        *err = w.err;
        return w.err.code;
    }
    return RSL_OK;
}

const unsigned char *rsl_sftp_client_packet(const rsl_sftp_client *s, size_t *len)
{
    *len = s->cur_pkt ? s->cur_len : 0;
    return s->cur_pkt;
}

int rsl_sftp_client_dead(const rsl_sftp_client *s)
{
    return s->dead;
}
