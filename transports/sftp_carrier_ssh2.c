/*
 * sftp_carrier_ssh2.c - the libssh2 carrier: the "sftp" subsystem on a
 * channel of an authenticated session, driven non-blocking. See
 * sftp_carrier.h.
 *
 * libssh2 1.10 in non-blocking mode keeps at most one outgoing transport
 * packet half-sent, and refuses (LIBSSH2_ERROR_BAD_USE) any other packet
 * until that one is finished by the same call that started it. Two of our
 * calls can leave one: a channel write (a data packet) and a channel read
 * (its receive-window adjustment). So the carrier remembers which call has
 * a packet in flight and makes only that call until it completes:
 *   w_pending: channel_write returned EAGAIN with window left, i.e. mid
 *              packet (with no window it sends nothing);
 *   r_pending: channel_read returned EAGAIN while it had to adjust the
 *              window and the window did not grow.
 * Keepalives are sent only when neither is pending and the socket's send
 * queue is nearly empty, so that they always leave whole.
 */
#define _GNU_SOURCE
#include "sftp_carrier.h"

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <libssh2.h>

typedef struct ssh2_car {
    rsl_sftp_carrier base;
    LIBSSH2_SESSION *ss;
    LIBSSH2_CHANNEL *ch;
    int sock;
    int was_blocking;
    int timeout_sec;
    int w_pending, r_pending;
    int win_blocked; /* the last write found no window: wait for input, not POLLOUT */
} ssh2_car;

/* Maps a failed libssh2 call (rc) onto a session code. */
static rsl_code map_ssh2(ssh2_car *c, int rc, const char *what, rsl_err *err)
{
    char *m = NULL;
    libssh2_session_last_error(c->ss, &m, NULL, 0);
    rsl_code code;
    switch (rc) {
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
        code = RSL_E_TIMEOUT;
        break;
    case LIBSSH2_ERROR_ALLOC:
        code = RSL_E_NO_MEMORY;
        break;
    case LIBSSH2_ERROR_PROTO:
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_BAD_USE:
        code = RSL_E_PROTOCOL;
        break;
    default: /* socket errors, closed channel, bad MAC, ... */
        code = RSL_E_CONNECTION_LOST;
        break;
    }
    return rsl_err_set(err, code, rc, "%s: %s (libssh2 error %d)", what,
                       m && *m ? m : "the SSH session failed", rc);
}

static ssize_t c_send(rsl_sftp_carrier *base, const void *p, size_t n, rsl_err *err)
{
    ssh2_car *c = (ssh2_car *)base;
    if (c->r_pending)
        return 0; /* the read's window adjustment must leave first */
    c->win_blocked = 0;
    ssize_t w = libssh2_channel_write(c->ch, p, n);
    if (w > 0) {
        c->w_pending = 0;
        return w;
    }
    if (w == 0 || w == LIBSSH2_ERROR_EAGAIN) {
        unsigned long win = libssh2_channel_window_write_ex(c->ch, NULL);
        c->w_pending = w == LIBSSH2_ERROR_EAGAIN && win > 0;
        c->win_blocked = win == 0;
        return 0;
    }
    map_ssh2(c, (int)w, "SFTP channel write", err);
    return -1;
}

static ssize_t c_recv(rsl_sftp_carrier *base, void *p, size_t n, rsl_err *err)
{
    ssh2_car *c = (ssh2_car *)base;
    if (c->w_pending)
        return 0; /* the data packet must leave first */
    unsigned long init = 0;
    unsigned long before = libssh2_channel_window_read_ex(c->ch, NULL, &init);
    int adjusts = c->r_pending || before < init / 4 * 3 + n;
    ssize_t r = libssh2_channel_read(c->ch, p, n);
    if (r > 0) {
        c->r_pending = 0;
        return r;
    }
    if (r == LIBSSH2_ERROR_EAGAIN) {
        c->r_pending = adjusts && libssh2_channel_window_read_ex(c->ch, NULL, NULL) <= before;
        return 0;
    }
    if (r == 0) {
        c->r_pending = 0;
        if (libssh2_channel_eof(c->ch)) {
            rsl_err_set(err, RSL_E_CONNECTION_LOST, 0, "the server closed the SFTP channel");
            return -1;
        }
        return 0;
    }
    map_ssh2(c, (int)r, "SFTP channel read", err);
    return -1;
}

static int c_wait_fds(rsl_sftp_carrier *base, int want_send, struct pollfd *fds, int max)
{
    ssh2_car *c = (ssh2_car *)base;
    if (max < 1)
        return 0;
    fds[0].fd = c->sock;
    fds[0].revents = 0;
    if (c->w_pending || c->r_pending)
        fds[0].events = POLLOUT;
    else
        fds[0].events = POLLIN | (want_send && !c->win_blocked ? POLLOUT : 0);
    return 1;
}

static int c_tick_ms(rsl_sftp_carrier *base)
{
    (void)base;
    return 1000;
}

/* 1 when a small packet is sure to leave whole now. */
static int send_queue_empty(ssh2_car *c)
{
    int outq = 0, sndbuf = 0;
    socklen_t sl = sizeof(sndbuf);
    struct pollfd pfd = {.fd = c->sock, .events = POLLOUT};
    if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT))
        return 0;
    if (ioctl(c->sock, SIOCOUTQ, &outq) != 0 ||
        getsockopt(c->sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) != 0)
        return 0;
    return outq + 8192 < sndbuf;
}

static int c_tick(rsl_sftp_carrier *base, rsl_err *err)
{
    ssh2_car *c = (ssh2_car *)base;
    if (c->w_pending || c->r_pending || !send_queue_empty(c))
        return 0;
    int next = 0;
    int rc = libssh2_keepalive_send(c->ss, &next);
    if (rc != 0 && rc != LIBSSH2_ERROR_EAGAIN) {
        map_ssh2(c, rc, "keepalive", err);
        return -1;
    }
    if (libssh2_session_block_directions(c->ss) & LIBSSH2_SESSION_BLOCK_OUTBOUND) {
        /* never expected (the queue was empty): the session cannot go on */
        rsl_err_set(err, RSL_E_CONNECTION_LOST, 0, "a keepalive could not be sent whole");
        return -1;
    }
    return 0;
}

static void c_describe(rsl_sftp_carrier *base, char *buf, size_t n)
{
    ssh2_car *c = (ssh2_car *)base;
    const char *cs = libssh2_session_methods(c->ss, LIBSSH2_METHOD_CRYPT_CS);
    const char *mac = libssh2_session_methods(c->ss, LIBSSH2_METHOD_MAC_CS);
    snprintf(buf, n, "a libssh2 %s channel (%s, %s)", LIBSSH2_VERSION, cs ? cs : "?",
             mac ? mac : "?");
}

static void c_close(rsl_sftp_carrier *base, int abort_)
{
    ssh2_car *c = (ssh2_car *)base;
    /* a dead session: leave the channel to libssh2_session_free, and shut
     * the socket down so that nothing waits on a server that does not
     * answer (libssh2_session_free would otherwise block until its timeout
     * and give up without freeing) */
    if (abort_ || c->w_pending || c->r_pending) {
        shutdown(c->sock, SHUT_RDWR);
    } else {
        libssh2_session_set_blocking(c->ss, 1);
        libssh2_channel_close(c->ch);
        libssh2_channel_free(c->ch);
    }
    libssh2_session_set_blocking(c->ss, c->was_blocking);
    free(c);
}

static const rsl_sftp_carrier_ops ssh2_ops = {
    .name = "libssh2",
    .send = c_send,
    .recv = c_recv,
    .wait_fds = c_wait_fds,
    .tick_ms = c_tick_ms,
    .tick = c_tick,
    .describe = c_describe,
    .close = c_close,
};

struct pollfd rsl_sftp_ssh2_pollfd(struct _LIBSSH2_SESSION *ss, int sock)
{
    int dir = libssh2_session_block_directions(ss);
    struct pollfd pfd = {.fd = sock, .events = 0};
    if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
        pfd.events |= POLLIN;
    if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
        pfd.events |= POLLOUT;
    if (pfd.events == 0)
        pfd.events = POLLIN;
    return pfd;
}

/* Waits for the socket in the direction libssh2 last needed, until the
 * deadline (CLOCK_MONOTONIC seconds). Returns 0, or -1 at the deadline. */
static int wait_socket(ssh2_car *c, double deadline)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double left = deadline - ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    if (left <= 0)
        return -1;
    struct pollfd pfd = rsl_sftp_ssh2_pollfd(c->ss, c->sock);
    int r;
    do
        r = poll(&pfd, 1, (int)(left * 1000) + 1);
    while (r < 0 && errno == EINTR);
    return 0;
}

static rsl_code open_channel(ssh2_car *c, rsl_err *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double deadline = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + c->timeout_sec;
    while ((c->ch = libssh2_channel_open_session(c->ss)) == NULL) {
        int e = libssh2_session_last_errno(c->ss);
        if (e == LIBSSH2_ERROR_CHANNEL_FAILURE)
            return rsl_err_set(err, RSL_E_PROTOCOL, e,
                               "the server refused a session channel (MaxSessions?)");
        if (e != LIBSSH2_ERROR_EAGAIN)
            return map_ssh2(c, e, "open an SSH channel", err);
        if (wait_socket(c, deadline) != 0)
            return rsl_err_set(err, RSL_E_TIMEOUT, 0, "no SSH channel within %d s", c->timeout_sec);
    }
    int rc;
    while ((rc = libssh2_channel_subsystem(c->ch, "sftp")) == LIBSSH2_ERROR_EAGAIN)
        if (wait_socket(c, deadline) != 0)
            return rsl_err_set(err, RSL_E_TIMEOUT, 0, "no SFTP subsystem within %d s",
                               c->timeout_sec);
    if (rc == LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED)
        return rsl_err_set(err, RSL_E_PROTOCOL, rc,
                           "the server refused the SFTP subsystem (SFTP disabled for this "
                           "account?)");
    if (rc != 0)
        return map_ssh2(c, rc, "start the SFTP subsystem", err);
    return RSL_OK;
}

rsl_code rsl_sftp_carrier_ssh2(rsl_sftp_carrier **out, struct _LIBSSH2_SESSION *ss, int sock,
                               int timeout_sec, rsl_err *err)
{
    *out = NULL;
    ssh2_car *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    c->base.ops = &ssh2_ops;
    c->ss = ss;
    c->sock = sock;
    c->timeout_sec = timeout_sec > 0 ? timeout_sec : 60;
    c->was_blocking = libssh2_session_get_blocking(ss);
    libssh2_session_set_blocking(ss, 0);
    rsl_code rc = open_channel(c, err);
    if (rc != RSL_OK) {
        if (c->ch != NULL && rc != RSL_E_TIMEOUT) {
            libssh2_session_set_blocking(ss, 1);
            libssh2_channel_free(c->ch);
        }
        libssh2_session_set_blocking(ss, c->was_blocking);
        free(c);
        return rc;
    }
    *out = &c->base;
    return RSL_OK;
}
