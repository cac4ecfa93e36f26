/*
 * delayproxy.c - rsl-delayproxy, a TCP delay line on loopback for the WAN
 * benchmarks (scripts/bench-wan.sh) and tests/delayproxy/. A tool, not part of
 * rsyncd-lite: built by CMake into build/rsl-delayproxy, never installed, and
 * it links nothing from the product.
 *
 * Listens on 127.0.0.1:PORT and forwards each connection to 127.0.0.1:TARGET.
 * Every byte is held for a fixed one-way delay per direction, as a WAN link
 * would: a delay line, not stop-and-wait. The proxy keeps reading while earlier
 * bytes wait, so the throughput is bounded by the window (bytes in flight per
 * direction of a connection, counted until their ack would be back at the
 * sender, i.e. written + the other direction's delay): W / RTT, the
 * bandwidth-delay product of a real TCP connection with that window. A full
 * window stops reading, so the sender is held back by TCP backpressure and the
 * proxy's memory stays below 2 x window per connection.
 *
 * Optional rate cap per direction (--rate, --up-rate, --down-rate): the link's
 * capacity, shared by all connections (a serialisation clock: each chunk
 * departs when the link has sent the ones before it, then travels the delay).
 * A connection reads at most ~5 ms of the link ahead, so connections take
 * turns on the link.
 *
 * New connections cost one round trip as a TCP handshake would: the proxy
 * connects to the target 2 x up + down delay after accepting (SYN, SYN-ACK,
 * ACK) and delivers nothing to the target before that, holding what the client
 * sends meanwhile (--no-handshake: at once). Half-closes are passed on after the delay; a reset or
 * error closes both sides.
 *
 * Prints the listening port on stdout (one line) when ready, and writes it to
 * --port-file. SIGTERM/SIGINT: exits 0 (at once; bytes in flight are lost).
 * SIGUSR1: rewrites --stats-file (connections and bytes each way, the bytes
 * held now and the most one direction of a connection ever held, as KEY=VALUE
 * lines with a sequence number), also written at exit.
 *
 * Single-threaded: epoll, CLOCK_MONOTONIC, one absolute timerfd for the next
 * due event, signalfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define READ_MAX (1024 * 1024)
#define NS 1000000000LL

enum { UP = 0, DOWN = 1 };             /* UP: client -> target */
enum { T_WAIT, T_CONNECTING, T_OPEN }; /* target socket state */

typedef struct chunk {
    struct chunk *next;
    int64_t deliver_at; /* when the far end may have it */
    int64_t ack_at;     /* set once written: when it leaves the window */
    size_t len, off;
    int eof;
    unsigned char data[];
} chunk;

struct conn;
typedef struct endpoint { /* epoll data: which socket of which connection */
    struct conn *c;
    int which; /* 0 client, 1 target */
} endpoint;

typedef struct pipe_t { /* one direction of a connection */
    chunk *head, *tail; /* every chunk not yet acked, in order */
    chunk *out;         /* first chunk not completely written */
    size_t inflight;    /* bytes of head..tail */
    int64_t last_depart;
    int read_eof, write_blocked, done;
} pipe_t;

typedef struct conn {
    struct conn *prev, *next;
    int fd[2]; /* client, target */
    int tstate;
    int dead;
    int64_t open_at; /* target connect time (handshake model) */
    uint32_t mask[2];
    int registered[2];
    endpoint ep[2];
    pipe_t p[2];
} conn;

typedef struct proxy {
    int epfd, lfd, tfd, sfd;
    int target_port;
    int64_t delay[2], rate[2], busy[2]; /* ns, bytes/s, ns */
    int64_t handshake;                  /* ns from accept to target connect */
    size_t window;
    int max_conns, nconns;
    conn *conns;
    int64_t armed;
    unsigned long long bytes[2], accepted, refused, stats_seq;
    size_t held, held_max; /* bytes in chunks now; most one direction ever held */
    const char *stats_file;
    endpoint lep, tep, sep;
    unsigned char scratch[READ_MAX];
} proxy;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static void die(const char *what)
{
    fprintf(stderr, "rsl-delayproxy: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- rate model ---- */

static size_t rate_chunk(const proxy *px, int dir)
{
    if (px->rate[dir] == 0)
        return READ_MAX;
    int64_t c = px->rate[dir] / 200; /* 5 ms of the link */
    if (c < 1024)
        c = 1024;
    return c > READ_MAX ? READ_MAX : (size_t)c;
}

static int64_t rate_burst_ns(const proxy *px, int dir)
{
    return (int64_t)rate_chunk(px, dir) * NS / px->rate[dir];
}

/* ---- connections ---- */

static void set_interest(proxy *px, conn *c, int which, uint32_t want)
{
    if (c->registered[which] && want == c->mask[which])
        return;
    struct epoll_event ev = {.events = want, .data.ptr = &c->ep[which]};
    if (want == 0) { /* deregister: a paused socket that hung up must not spin */
        if (c->registered[which])
            epoll_ctl(px->epfd, EPOLL_CTL_DEL, c->fd[which], NULL);
        c->registered[which] = 0;
    } else if (!c->registered[which]) {
        if (epoll_ctl(px->epfd, EPOLL_CTL_ADD, c->fd[which], &ev) != 0)
            die("epoll_ctl add");
        c->registered[which] = 1;
    } else if (epoll_ctl(px->epfd, EPOLL_CTL_MOD, c->fd[which], &ev) != 0) {
        die("epoll_ctl mod");
    }
    c->mask[which] = want;
}

static void conn_kill(proxy *px, conn *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    for (int i = 0; i < 2; i++) {
        if (c->fd[i] >= 0) {
            if (c->registered[i])
                epoll_ctl(px->epfd, EPOLL_CTL_DEL, c->fd[i], NULL);
            close(c->fd[i]);
            c->fd[i] = -1;
        }
        c->registered[i] = 0;
    }
}

static void conn_free(proxy *px, conn *c)
{
    for (int d = 0; d < 2; d++) {
        px->held -= c->p[d].inflight;
        chunk *k = c->p[d].head;
        while (k) {
            chunk *n = k->next;
            free(k);
            k = n;
        }
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        px->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    px->nconns--;
    free(c);
}

static int pipe_from(int dir)
{
    return dir == UP ? 0 : 1;
}

static int pipe_to(int dir)
{
    return dir == UP ? 1 : 0;
}

/* 1 when the pipe may read now; *wake gets when it may (rate pause) */
static int can_read(const proxy *px, const conn *c, int dir, int64_t now, int64_t *wake)
{
    const pipe_t *p = &c->p[dir];
    *wake = -1;
    if (p->read_eof || p->inflight >= px->window)
        return 0;
    if (dir == DOWN && c->tstate != T_OPEN)
        return 0;
    if (px->rate[dir] && p->last_depart > now + rate_burst_ns(px, dir)) {
        *wake = p->last_depart - rate_burst_ns(px, dir);
        return 0;
    }
    return 1;
}

static void pipe_append(proxy *px, conn *c, int dir, chunk *k, int64_t now)
{
    pipe_t *p = &c->p[dir];
    int64_t t = now;
    if (px->rate[dir] && k->len) {
        int64_t start = max64(now, px->busy[dir]);
        t = start + (int64_t)k->len * NS / px->rate[dir];
        px->busy[dir] = t;
        p->last_depart = t;
    }
    k->deliver_at = t + px->delay[dir];
    if (dir == UP)
        k->deliver_at = max64(k->deliver_at, c->open_at);
    if (p->tail)
        k->deliver_at = max64(k->deliver_at, p->tail->deliver_at);
    k->ack_at = INT64_MAX;
    k->next = NULL;
    if (p->tail)
        p->tail->next = k;
    else
        p->head = k;
    p->tail = k;
    if (p->out == NULL)
        p->out = k;
    p->inflight += k->len;
    px->held += k->len;
    if (p->inflight > px->held_max)
        px->held_max = p->inflight;
    px->bytes[dir] += k->len;
}

/* Writes what is due; returns -1 when the connection died. */
static int pipe_flush(proxy *px, conn *c, int dir, int64_t now)
{
    pipe_t *p = &c->p[dir];
    int to = c->fd[pipe_to(dir)];
    if (dir == UP && c->tstate != T_OPEN)
        return 0;
    while (p->out && !p->write_blocked && p->out->deliver_at <= now) {
        chunk *k = p->out;
        if (k->eof) {
            shutdown(to, SHUT_WR);
            p->done = 1;
            p->out = NULL;
            break;
        }
        ssize_t n = send(to, k->data + k->off, k->len - k->off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            p->write_blocked = 1;
            break;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            conn_kill(px, c);
            return -1;
        }
        k->off += (size_t)n;
        if (k->off == k->len) {
            k->ack_at = max64(k->deliver_at, now) + px->delay[1 - dir];
            p->out = k->next;
        }
    }
    return 0;
}

static void pipe_acks(proxy *px, pipe_t *p, int64_t now)
{
    while (p->head && p->head != p->out && p->head->ack_at <= now) {
        chunk *k = p->head;
        p->head = k->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->inflight -= k->len;
        px->held -= k->len;
        free(k);
    }
}

/* Zero delay and no rate, nothing waiting: bytes read may go straight out. */
static int direct_ok(const proxy *px, const conn *c, int dir)
{
    return !c->p[dir].out && !px->rate[dir] && !px->delay[UP] && !px->delay[DOWN] &&
           (dir == DOWN || c->tstate == T_OPEN);
}

/* Sends n bytes of buf at once when direct_ok. Returns how many went; -1
 * when the connection died. */
static ssize_t pipe_direct(proxy *px, conn *c, int dir, const void *buf, size_t n)
{
    if (!direct_ok(px, c, dir))
        return 0;
    ssize_t w;
    do {
        w = send(c->fd[pipe_to(dir)], buf, n, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (w <= 0) {
        conn_kill(px, c);
        return -1;
    }
    px->bytes[dir] += (size_t)w;
    return w;
}

/* Queues n bytes of buf (n == 0: the end of the stream) and writes what is due. */
static int pipe_queue(proxy *px, conn *c, int dir, const void *buf, size_t n, int64_t now)
{
    chunk *k = malloc(sizeof(*k) + n);
    if (k == NULL)
        die("malloc");
    memcpy(k->data, buf, n);
    k->len = n;
    k->off = 0;
    k->eof = n == 0;
    pipe_append(px, c, dir, k, now);
    return pipe_flush(px, c, dir, now);
}

/* One recv straight into a new chunk (no copy on a delayed link: the copy
 * cost as much CPU as the recv). 1: read (or the end) and queued; 0: nothing
 * to read now; -1: the connection died. */
static int read_chunk(proxy *px, conn *c, int dir, size_t want, int64_t now)
{
    chunk *k = malloc(sizeof(*k) + want);
    if (k == NULL)
        die("malloc");
    ssize_t n;
    do
        n = recv(c->fd[pipe_from(dir)], k->data, want, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        free(k);
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        conn_kill(px, c);
        return -1;
    }
    if ((size_t)n + 65536 < want) { /* give back what a short read left unused */
        chunk *s = realloc(k, sizeof(*k) + (size_t)n);
        if (s != NULL)
            k = s;
    }
    c->p[dir].read_eof = n == 0;
    k->len = (size_t)n;
    k->off = 0;
    k->eof = n == 0;
    pipe_append(px, c, dir, k, now);
    if (pipe_flush(px, c, dir, now) != 0)
        return -1;
    return (size_t)n < want || n == 0 ? 0 : 1;
}

/* Reads what the window and the rate allow, then writes what is due. */
static void pipe_read(proxy *px, conn *c, int dir, int64_t now)
{
    pipe_t *p = &c->p[dir];
    int from = c->fd[pipe_from(dir)];
    int64_t wake;
    pipe_acks(px, p, now);
    while (!c->dead && can_read(px, c, dir, now, &wake)) {
        size_t want = px->window - p->inflight;
        if (want > rate_chunk(px, dir))
            want = rate_chunk(px, dir);
        if (!direct_ok(px, c, dir)) {
            if (read_chunk(px, c, dir, want, now) != 1)
                return;
            continue;
        }
        ssize_t n = recv(from, px->scratch, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            conn_kill(px, c);
            return;
        }
        p->read_eof = n == 0;
        ssize_t sent = n > 0 ? pipe_direct(px, c, dir, px->scratch, (size_t)n) : 0;
        if (sent < 0)
            return;
        if ((sent < n || n == 0) &&
            pipe_queue(px, c, dir, px->scratch + sent, (size_t)(n - sent), now) != 0)
            return;
        if ((size_t)n < want)
            break;
    }
}

static void target_connect(proxy *px, conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_kill(px, c);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)px->target_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd[1] = fd;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
        c->tstate = T_OPEN;
    else if (errno == EINPROGRESS)
        c->tstate = T_CONNECTING;
    else
        conn_kill(px, c);
}

static void target_connected(proxy *px, conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        conn_kill(px, c);
        return;
    }
    c->tstate = T_OPEN;
}

static void conn_accept(proxy *px, int fd, int64_t now)
{
    if (px->nconns >= px->max_conns) {
        px->refused++;
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        die("calloc");
    c->fd[0] = fd;
    c->fd[1] = -1;
    c->tstate = T_WAIT;
    c->open_at = now + px->handshake;
    for (int i = 0; i < 2; i++)
        c->ep[i] = (endpoint){.c = c, .which = i};
    c->next = px->conns;
    if (px->conns)
        px->conns->prev = c;
    px->conns = c;
    px->nconns++;
    px->accepted++;
}

static void accept_all(proxy *px, int64_t now)
{
    for (;;) {
        int fd = accept(px->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or EMFILE: try again on the next event */
        }
        if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
            close(fd);
            continue;
        }
        conn_accept(px, fd, now);
    }
}

/* ---- the timed work, once per loop: returns the next due time or -1 ---- */

static void take_min(int64_t *next, int64_t t)
{
    if (t >= 0 && (*next < 0 || t < *next))
        *next = t;
}

static int64_t pipe_service(proxy *px, conn *c, int dir, int64_t now)
{
    pipe_t *p = &c->p[dir];
    int64_t next = -1, wake;
    pipe_acks(px, p, now);
    if (pipe_flush(px, c, dir, now) != 0)
        return -1;
    pipe_acks(px, p, now);
    int open = dir == DOWN || c->tstate == T_OPEN;
    if (p->out && !p->write_blocked && open)
        take_min(&next, p->out->deliver_at);
    int r = can_read(px, c, dir, now, &wake);
    take_min(&next, wake);
    if (!r && p->inflight >= px->window && p->head && p->head != p->out)
        take_min(&next, p->head->ack_at);
    return next;
}

static int64_t conn_service(proxy *px, conn *c, int64_t now)
{
    int64_t next = -1, w;
    if (c->tstate == T_WAIT && now >= c->open_at) {
        target_connect(px, c);
        if (c->dead)
            return -1;
    }
    if (c->tstate == T_WAIT) /* the client may send already: read it, hold it */
        take_min(&next, c->open_at);
    for (int d = 0; d < 2 && !c->dead; d++)
        take_min(&next, pipe_service(px, c, d, now));
    if (c->dead)
        return -1;
    if (c->p[UP].done && c->p[DOWN].done) {
        conn_kill(px, c);
        return -1;
    }
    int r0 = can_read(px, c, UP, now, &w), r1 = can_read(px, c, DOWN, now, &w);
    set_interest(px, c, 0, (r0 ? EPOLLIN : 0) | (c->p[DOWN].write_blocked ? EPOLLOUT : 0));
    if (c->fd[1] >= 0) {
        uint32_t tm = c->tstate == T_CONNECTING
                          ? EPOLLOUT
                          : (r1 ? EPOLLIN : 0) | (c->p[UP].write_blocked ? EPOLLOUT : 0);
        set_interest(px, c, 1, tm);
    }
    return next;
}

static void arm_timer(proxy *px, int64_t next)
{
    if (next == px->armed)
        return;
    struct itimerspec its = {0};
    if (next >= 0) {
        if (next == 0)
            next = 1;
        its.it_value.tv_sec = next / NS;
        its.it_value.tv_nsec = next % NS;
    }
    if (timerfd_settime(px->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        die("timerfd_settime");
    px->armed = next;
}

static void service_all(proxy *px)
{
    int64_t now = now_ns(), next = -1;
    conn *c = px->conns;
    while (c) {
        conn *n = c->next;
        if (!c->dead)
            take_min(&next, conn_service(px, c, now));
        if (c->dead)
            conn_free(px, c);
        c = n;
    }
    arm_timer(px, next);
}

/* ---- events ---- */

static void on_conn_event(proxy *px, endpoint *e, uint32_t ev)
{
    conn *c = e->c;
    int64_t now = now_ns();
    if (c->dead)
        return;
    if (e->which == 1 && c->tstate == T_CONNECTING) {
        target_connected(px, c);
        return;
    }
    if (ev & EPOLLERR) {
        conn_kill(px, c);
        return;
    }
    int in = e->which == 0 ? UP : DOWN; /* the pipe this socket feeds */
    if (ev & EPOLLOUT) {
        c->p[1 - in].write_blocked = 0;
        if (pipe_flush(px, c, 1 - in, now) != 0)
            return;
    }
    if ((ev & (EPOLLIN | EPOLLHUP)) && (c->mask[e->which] & EPOLLIN))
        pipe_read(px, c, in, now);
}

static void write_stats(proxy *px)
{
    if (px->stats_file == NULL)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", px->stats_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return;
    fprintf(f,
            "seq=%llu\nconnections=%llu\nactive=%d\nrefused=%llu\nbytes_up=%llu\nbytes_down=%llu\n"
            "held_bytes=%zu\nheld_max_per_direction=%zu\n",
            ++px->stats_seq, px->accepted, px->nconns, px->refused, px->bytes[UP], px->bytes[DOWN],
            px->held, px->held_max);
    if (fclose(f) == 0)
        rename(tmp, px->stats_file);
}

/* returns 1 to stop */
static int on_signal(proxy *px)
{
    struct signalfd_siginfo si;
    while (read(px->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGUSR1)
            write_stats(px);
        else
            return 1;
    }
    return 0;
}

static void run(proxy *px, double lifetime)
{
    struct epoll_event evs[128];
    int64_t end = lifetime > 0 ? now_ns() + (int64_t)(lifetime * 1e9) : -1;
    for (;;) {
        int n = epoll_wait(px->epfd, evs, 128, end < 0 ? -1 : 1000);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            endpoint *e = evs[i].data.ptr;
            if (e == &px->lep) {
                accept_all(px, now_ns());
            } else if (e == &px->tep) {
                uint64_t x;
                if (read(px->tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
                    die("timerfd read");
                px->armed = -2; /* fired: re-arm whatever is next */
            } else if (e == &px->sep) {
                if (on_signal(px))
                    return;
            } else {
                on_conn_event(px, e, evs[i].events);
            }
        }
        service_all(px);
        if (end >= 0 && now_ns() >= end)
            return;
    }
}

/* ---- setup ---- */

static int64_t parse_size(const char *s, const char *what)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    int64_t m = 1;
    switch (*end) {
    case 'k':
    case 'K':
        m = 1024;
        end++;
        break;
    case 'm':
    case 'M':
        m = 1024 * 1024;
        end++;
        break;
    case 'g':
    case 'G':
        m = 1024LL * 1024 * 1024;
        end++;
        break;
    default:
        break;
    }
    if (errno != 0 || end == s || *end != '\0' || v < 0) {
        fprintf(stderr, "rsl-delayproxy: %s: '%s' is not a number (K/M/G = 1024)\n", what, s);
        exit(2);
    }
    return (int64_t)(v * (double)m);
}

static int64_t parse_ms(const char *s, const char *what)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 600000) {
        fprintf(stderr, "rsl-delayproxy: %s: '%s' is not a delay in ms\n", what, s);
        exit(2);
    }
    return (int64_t)(v * 1e6);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rsl-delayproxy --target PORT [--listen PORT] [--delay MS]\n"
               "         [--up-delay MS] [--down-delay MS] [--rate B/s] [--up-rate B/s]\n"
               "         [--down-rate B/s] [--window BYTES] [--no-handshake]\n"
               "         [--max-conns N] [--port-file F] [--stats-file F] [--lifetime S]\n"
               "  A TCP delay line on 127.0.0.1: --delay is one way (RTT = up + down).\n"
               "  --rate caps each direction of the link (shared by all connections);\n"
               "  --window (default 16M) is the bytes in flight per direction of a\n"
               "  connection (throughput <= window / RTT). K/M/G = 1024.\n"
               "  A new connection costs one RTT (the handshake) unless --no-handshake.\n"
               "  Prints the port when ready; SIGUSR1 (and exit) writes --stats-file;\n"
               "  SIGTERM exits; --lifetime S exits after S seconds.\n");
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("bind");
    if (listen(fd, 512) != 0)
        die("listen");
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("getsockname");
    return ntohs(a.sin_port);
}

static void add_fd(proxy *px, int fd, endpoint *e)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = e};
    if (epoll_ctl(px->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll_ctl");
}

static void setup_fds(proxy *px, int listen_port)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    px->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    px->epfd = epoll_create1(EPOLL_CLOEXEC);
    px->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (px->sfd < 0 || px->epfd < 0 || px->tfd < 0)
        die("signalfd/epoll/timerfd");
    px->lfd = listen_on(listen_port);
    add_fd(px, px->lfd, &px->lep);
    add_fd(px, px->tfd, &px->tep);
    add_fd(px, px->sfd, &px->sep);
}

static void announce(int port, const char *port_file)
{
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
            rename(tmp, port_file) != 0)
            die(port_file);
    }
    printf("%d\n", port);
    fflush(stdout);
}

typedef struct options {
    int listen_port, handshake;
    const char *port_file;
    double lifetime;
} options;

/* one command-line option; -1 when it is not one */
static int set_option(proxy *px, options *o, int opt, const char *a)
{
    switch (opt) {
    case 't':
        px->target_port = (int)parse_size(a, "--target");
        break;
    case 'l':
        o->listen_port = (int)parse_size(a, "--listen");
        break;
    case 'd':
        px->delay[UP] = px->delay[DOWN] = parse_ms(a, "--delay");
        break;
    case 'u':
        px->delay[UP] = parse_ms(a, "--up-delay");
        break;
    case 'D':
        px->delay[DOWN] = parse_ms(a, "--down-delay");
        break;
    case 'r':
        px->rate[UP] = px->rate[DOWN] = parse_size(a, "--rate");
        break;
    case 'U':
        px->rate[UP] = parse_size(a, "--up-rate");
        break;
    case 'R':
        px->rate[DOWN] = parse_size(a, "--down-rate");
        break;
    case 'w':
        px->window = (size_t)parse_size(a, "--window");
        break;
    case 'n':
        o->handshake = 0;
        break;
    case 'm':
        px->max_conns = (int)parse_size(a, "--max-conns");
        break;
    case 'p':
        o->port_file = a;
        break;
    case 's':
        px->stats_file = a;
        break;
    case 'L':
        o->lifetime = (double)parse_size(a, "--lifetime");
        break;
    default:
        return -1;
    }
    return 0;
}

/* exits on --help (0) and on a usage error (2) */
static void parse_args(int argc, char **argv, proxy *px, options *o)
{
    static const struct option opts[] = {{"target", 1, 0, 't'},     {"listen", 1, 0, 'l'},
                                         {"delay", 1, 0, 'd'},      {"up-delay", 1, 0, 'u'},
                                         {"down-delay", 1, 0, 'D'}, {"rate", 1, 0, 'r'},
                                         {"up-rate", 1, 0, 'U'},    {"down-rate", 1, 0, 'R'},
                                         {"window", 1, 0, 'w'},     {"no-handshake", 0, 0, 'n'},
                                         {"max-conns", 1, 0, 'm'},  {"port-file", 1, 0, 'p'},
                                         {"stats-file", 1, 0, 's'}, {"lifetime", 1, 0, 'L'},
                                         {"help", 0, 0, 'h'},       {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "t:l:d:r:w:h", opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            exit(0);
        }
        if (set_option(px, o, opt, optarg) != 0) {
            usage(stderr);
            exit(2);
        }
    }
    if (px->target_port <= 0 || px->target_port > 65535 || o->listen_port > 65535 ||
        optind != argc || px->window < 1024 || px->max_conns < 1) {
        usage(stderr);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    static proxy px = {.window = 16u << 20, .max_conns = 1024, .armed = -2, .target_port = -1};
    options o = {.handshake = 1};
    parse_args(argc, argv, &px, &o);
    /* chunks of up to READ_MAX come and go all the time: from the heap, kept
     * (no mmap, munmap and zeroed pages per chunk) */
    mallopt(M_MMAP_THRESHOLD, 4 * READ_MAX);
    mallopt(M_TRIM_THRESHOLD, 64 * READ_MAX);
    if (o.handshake)
        px.handshake = 2 * px.delay[UP] + px.delay[DOWN];
    px.lep.which = px.tep.which = px.sep.which = -1;
    setup_fds(&px, o.listen_port);
    announce(bound_port(px.lfd), o.port_file);
    run(&px, o.lifetime);
    write_stats(&px);
    fprintf(stderr, "rsl-delayproxy: %llu connections, %llu bytes up, %llu bytes down\n",
            px.accepted, px.bytes[UP], px.bytes[DOWN]);
    while (px.conns) {
        conn_kill(&px, px.conns);
        conn_free(&px, px.conns);
    }
    return 0;
}
