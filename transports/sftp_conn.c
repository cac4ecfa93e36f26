/*
 * sftp_conn.c - what the files of the sftp transport share. See sftp_conn.h.
 */
#define _GNU_SOURCE
#include "sftp_conn.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sftp_carrier.h"

void rsl_sftp_log(rsl_conn *c, int level, const char *fmt, ...)
{
    if (c->opts == NULL || c->opts->log == NULL)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->opts->log(c->opts->ud, level, msg);
}

/* ------------------------------------------------------------------ */
/* the connect deadline */

double rsl_sftp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int rsl_sftp_left_ms(const rsl_conn *c)
{
    double left = c->deadline - rsl_sftp_now();
    return left > 0 ? (int)(left * 1000.0) + 1 : 0;
}

int rsl_sftp_wait(rsl_conn *c)
{
    int ms = rsl_sftp_left_ms(c);
    if (ms <= 0)
        return -1;
    struct pollfd pfd = rsl_sftp_ssh2_pollfd(c->ss, c->sock);
    int r;
    do
        r = poll(&pfd, 1, ms);
    while (r < 0 && errno == EINTR && (ms = rsl_sftp_left_ms(c)) > 0);
    return r == 0 && rsl_sftp_left_ms(c) <= 0 ? -1 : 0;
}

rsl_code rsl_sftp_timed_out(rsl_conn *c, rsl_err *err, const char *what)
{
    c->dead = 1;
    return rsl_err_set(err, RSL_E_TIMEOUT, ETIMEDOUT, "%s %s:%d: no answer within %d s", what,
                       c->host, c->port, c->tsec);
}

/* ------------------------------------------------------------------ */
/* libssh2 errors: the one place they become catalog codes */

rsl_code rsl_sftp_map_ssh(rsl_conn *c, rsl_err *err, const char *what, const char *rel)
{
    char *m = NULL;
    int e = libssh2_session_last_error(c->ss, &m, NULL, 0);
    rsl_code code;
    switch (e) {
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
        code = RSL_E_TIMEOUT;
        break;
    case LIBSSH2_ERROR_ALLOC:
        code = RSL_E_NO_MEMORY;
        break;
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
    case LIBSSH2_ERROR_METHOD_NONE:
    case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
    case LIBSSH2_ERROR_PROTO:
        code = RSL_E_PROTOCOL;
        break;
    default: /* socket errors, closed connection, bad MAC, ... */
        code = RSL_E_CONNECTION_LOST;
        break;
    }
    c->dead = 1;
    if (code == RSL_E_TIMEOUT)
        return rsl_err_set(err, code, e, "%s '%s' on %s:%d: no answer within %d s (%s)", what, rel,
                           c->host, c->port, c->tsec, m ? m : "timeout");
    return rsl_err_set(err, code, e, "%s '%s' on %s:%d: %s (libssh2 error %d)", what, rel, c->host,
                       c->port, m && *m ? m : "session failed", e);
}

int rsl_sftp_broken(rsl_conn *c)
{
    int e = libssh2_session_last_errno(c->ss);
    return e == LIBSSH2_ERROR_TIMEOUT || e == LIBSSH2_ERROR_SOCKET_SEND ||
           e == LIBSSH2_ERROR_SOCKET_RECV || e == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
           e == LIBSSH2_ERROR_SOCKET_TIMEOUT || e == LIBSSH2_ERROR_BAD_SOCKET;
}

/* ------------------------------------------------------------------ */
/* after an operation, paths */

rsl_code rsl_sftp_after(rsl_conn *c, rsl_code rc)
{
    if (rc != RSL_OK && c->cl != NULL && rsl_sftp_client_dead(c->cl))
        c->dead = 1;
    return rc;
}

rsl_code rsl_sftp_path_too_long(rsl_conn *c, rsl_err *err, const char *rel)
{
    return rsl_err_set(err, RSL_E_REMOTE_NAME_REFUSED, ENAMETOOLONG,
                       "'%.200s' on %s: remote path longer than %d bytes", rel, c->host,
                       RSL_SFTP_PATH_BUF - 1);
}

/* ------------------------------------------------------------------ */
/* TCP */

/* Waits for a non-blocking connect on s; 0 or an errno (ETIMEDOUT). */
static int connect_wait(rsl_conn *c, int s)
{
    struct pollfd pfd = {.fd = s, .events = POLLOUT};
    int p, ms;
    do
        p = (ms = rsl_sftp_left_ms(c)) > 0 ? poll(&pfd, 1, ms) : 0;
    while (p < 0 && errno == EINTR);
    if (p <= 0)
        return ETIMEDOUT;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    return soerr;
}

rsl_code rsl_sftp_tcp_connect(rsl_conn *c, rsl_err *err)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", c->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(c->host, portstr, &hints, &res);
    if (g != 0)
        return rsl_err_set(err, RSL_E_DNS_FAILED, g, "cannot resolve '%s': %s", c->host,
                           gai_strerror(g));
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL && c->sock < 0; ai = ai->ai_next) {
        int s =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (s < 0) {
            last = errno;
            continue;
        }
        int e = connect(s, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
        if (e == EINPROGRESS)
            e = connect_wait(c, s);
        if (e != 0) {
            last = e;
            close(s);
            if (e == ETIMEDOUT)
                break; /* the deadline is for the whole connect */
            continue;
        }
        int one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        c->sock = s;
    }
    freeaddrinfo(res);
    if (c->sock >= 0)
        return RSL_OK;
    if (last == ETIMEDOUT)
        return rsl_err_set(err, RSL_E_TIMEOUT, last, "connect to %s:%d: no answer within %d s",
                           c->host, c->port, c->tsec);
    return rsl_err_set(err, RSL_E_CONNECT_REFUSED, last, "connect to %s:%d: %s", c->host, c->port,
                       strerror(last));
}

/* ------------------------------------------------------------------ */
/* facts */

static void fact_key(const rsl_conn *c, char *buf, size_t n)
{
    snprintf(buf, n, RSL_SFTP_SEEK_FACT, c->host, c->port);
}

static void rename_key(const rsl_conn *c, char *buf, size_t n)
{
    snprintf(buf, n, RSL_SFTP_RENAME_FACT, c->user ? c->user : "", c->host, c->port);
}

/* A fact "WHAT UNIXTIME" from the cache: the fields read (0: none, 1: what
 * only, 2: both; *age then set, seconds since it was learnt). */
static int fact_read(const rsl_conn *c, const char *key, char what[8], long long *age)
{
    const rsl_remote_opts *o = c->opts;
    char val[64];
    long long when = 0;
    what[0] = '\0';
    if (o->cache_get == NULL || !o->cache_get(o->ud, key, val, sizeof(val)))
        return 0;
    int n = sscanf(val, "%7s %lld", what, &when);
    *age = (long long)time(NULL) - when;
    return n < 0 ? 0 : n;
}

static void fact_write(const rsl_conn *c, const char *key, const char *what)
{
    const rsl_remote_opts *o = c->opts;
    if (o->cache_set == NULL)
        return;
    char val[64];
    snprintf(val, sizeof(val), "%s %lld", what, (long long)time(NULL));
    o->cache_set(o->ud, key, val);
}

int rsl_sftp_facts_load(rsl_conn *c)
{
    char key[400], what[8];
    long long age = 0;
    fact_key(c, key, sizeof(key));
    if (fact_read(c, key, what, &age) < 1)
        return 0;
    if (strcmp(what, "no") == 0 && age >= 0 && age < RSL_SFTP_FACT_MAX_AGE) {
        c->no_seek = 1;
        snprintf(c->seek_note, sizeof(c->seek_note),
                 "learnt %lld day(s) ago that it cannot write at an offset", age / 86400);
        return 1;
    }
    if (strcmp(what, "yes") == 0) {
        snprintf(c->seek_note, sizeof(c->seek_note), "writes at an offset (probed)");
        return 1;
    }
    return 0; /* an old "no": resume is tried again and the answer learnt anew */
}

static void fact_set(rsl_conn *c, const char *what)
{
    char key[400];
    fact_key(c, key, sizeof(key));
    fact_write(c, key, what);
}

void rsl_sftp_learn_no_seek(rsl_conn *c, const char *why)
{
    if (c->no_seek)
        return;
    c->no_seek = 1;
    snprintf(c->seek_note, sizeof(c->seek_note), "cannot write at an offset (%.120s)", why);
    fact_set(c, "no");
    rsl_sftp_log(c, RSL_LOG_WARN,
                 "sftp: %s cannot write at an offset (%s): resume is off for this server, an "
                 "interrupted upload restarts from zero (remembered for %d days)",
                 c->hostport, why, RSL_SFTP_FACT_MAX_AGE / 86400);
}

int rsl_sftp_rename_fact(rsl_conn *c)
{
    char key[700], what[8];
    long long age = 0;
    rename_key(c, key, sizeof(key));
    if (fact_read(c, key, what, &age) != 2 || age < 0 || age >= RSL_SFTP_FACT_MAX_AGE)
        return -1;
    return strcmp(what, "yes") == 0 ? 1 : strcmp(what, "no") == 0 ? 0 : -1;
}

void rsl_sftp_rename_fact_set(rsl_conn *c, const char *what)
{
    char key[700];
    rename_key(c, key, sizeof(key));
    fact_write(c, key, what ? what : "unknown");
}

void rsl_sftp_learn_seek_ok(rsl_conn *c)
{
    c->no_seek = 0;
    snprintf(c->seek_note, sizeof(c->seek_note), "writes at an offset (probed)");
    fact_set(c, "yes");
}
