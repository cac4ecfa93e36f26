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
#include <unistd.h>

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
/* error mapping: the one place libssh2 and SFTP codes become catalog codes */

static const char *fx_name(unsigned long fx)
{
    static const char *const names[] = {"OK",
                                        "EOF",
                                        "NO_SUCH_FILE",
                                        "PERMISSION_DENIED",
                                        "FAILURE",
                                        "BAD_MESSAGE",
                                        "NO_CONNECTION",
                                        "CONNECTION_LOST",
                                        "OP_UNSUPPORTED",
                                        "INVALID_HANDLE",
                                        "NO_SUCH_PATH",
                                        "FILE_ALREADY_EXISTS",
                                        "WRITE_PROTECT",
                                        "NO_MEDIA",
                                        "NO_SPACE_ON_FILESYSTEM",
                                        "QUOTA_EXCEEDED",
                                        "UNKNOWN_PRINCIPAL",
                                        "LOCK_CONFLICT",
                                        "DIR_NOT_EMPTY",
                                        "NOT_A_DIRECTORY",
                                        "INVALID_FILENAME",
                                        "LINK_LOOP"};
    return fx < sizeof(names) / sizeof(names[0]) ? names[fx] : "UNKNOWN";
}

rsl_code rsl_sftp_map_fx(rsl_conn *c, rsl_err *err, unsigned long fx, const char *what,
                         const char *rel)
{
    rsl_code code;
    switch (fx) {
    case LIBSSH2_FX_NO_SUCH_FILE:
    case LIBSSH2_FX_NO_SUCH_PATH:
        code = RSL_E_REMOTE_NOT_FOUND;
        break;
    case LIBSSH2_FX_PERMISSION_DENIED:
    case LIBSSH2_FX_WRITE_PROTECT:
        code = RSL_E_REMOTE_PERMISSION;
        break;
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
    case LIBSSH2_FX_QUOTA_EXCEEDED:
        code = RSL_E_REMOTE_NO_SPACE;
        break;
    case LIBSSH2_FX_INVALID_FILENAME:
    case LIBSSH2_FX_BAD_MESSAGE: /* OpenSSH: ENAMETOOLONG, EINVAL */
        code = RSL_E_REMOTE_NAME_REFUSED;
        break;
    case LIBSSH2_FX_FILE_ALREADY_EXISTS:
    case LIBSSH2_FX_NOT_A_DIRECTORY:
    case 24: /* FX_FILE_IS_A_DIRECTORY (v6) */
        code = RSL_E_REMOTE_TYPE_CONFLICT;
        break;
    case LIBSSH2_FX_LOCK_CONFLICT:
        code = RSL_E_REMOTE_LOCKED;
        break;
    case LIBSSH2_FX_NO_CONNECTION:
    case LIBSSH2_FX_CONNECTION_LOST:
        code = RSL_E_CONNECTION_LOST;
        c->dead = 1;
        break;
    default:
        code = RSL_E_REMOTE_IO;
        break;
    }
    return rsl_err_set(err, code, (long)fx, "%s '%s' on %s: SFTP status %s (%lu)", what, rel,
                       c->host, fx_name(fx), fx);
}

/* Maps the session's last error after a failed libssh2 call. SFTP status
 * errors go to rsl_sftp_map_fx; everything else means the session is unusable. */
rsl_code rsl_sftp_map_ssh(rsl_conn *c, rsl_err *err, const char *what, const char *rel)
{
    char *m = NULL;
    int e = libssh2_session_last_error(c->ss, &m, NULL, 0);
    if (e == LIBSSH2_ERROR_SFTP_PROTOCOL && c->sftp != NULL)
        return rsl_sftp_map_fx(c, err, libssh2_sftp_last_error(c->sftp), what, rel);
    if (e == LIBSSH2_ERROR_BUFFER_TOO_SMALL) /* a name longer than our buffer */
        return rsl_err_set(err, RSL_E_REMOTE_NAME_REFUSED, e, "%s '%s' on %s: a name is too long",
                           what, rel, c->host);
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
    default: /* socket errors, closed channel, bad MAC, ... */
        code = RSL_E_CONNECTION_LOST;
        break;
    }
    c->dead = 1;
    if (code == RSL_E_TIMEOUT)
        return rsl_err_set(err, code, e, "%s '%s' on %s:%d: no answer within %d s (%s)", what, rel,
                           c->host, c->port, c->opts->timeout_sec > 0 ? c->opts->timeout_sec : 60,
                           m ? m : "timeout");
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
/* paths */

int rsl_sftp_path(rsl_conn *c, const char *rel, char *buf, size_t n)
{
    int w;
    if (rel[0] == '\0')
        w = snprintf(buf, n, "%s", c->root);
    else if (strcmp(c->root, "/") == 0)
        w = snprintf(buf, n, "/%s", rel);
    else
        w = snprintf(buf, n, "%s/%s", c->root, rel);
    return (w < 0 || (size_t)w >= n) ? -1 : w;
}

rsl_code rsl_sftp_path_too_long(rsl_conn *c, rsl_err *err, const char *rel)
{
    return rsl_err_set(err, RSL_E_REMOTE_NAME_REFUSED, ENAMETOOLONG,
                       "'%s' on %s: remote path longer than %d bytes", rel, c->host,
                       RSL_SFTP_PATH_BUF - 1);
}

/* ------------------------------------------------------------------ */
/* TCP */

rsl_code rsl_sftp_tcp_connect(rsl_conn *c, int timeout_ms, rsl_err *err)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", c->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(c->host, portstr, &hints, &res);
    if (g != 0)
        return rsl_err_set(err, RSL_E_DNS_FAILED, g, "cannot resolve '%s': %s", c->host,
                           gai_strerror(g));
    rsl_code rc = RSL_E_CONNECT_REFUSED;
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int s =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (s < 0) {
            last = errno;
            continue;
        }
        int r = connect(s, ai->ai_addr, ai->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = s, .events = POLLOUT};
            int p;
            do
                p = poll(&pfd, 1, timeout_ms);
            while (p < 0 && errno == EINTR);
            if (p == 0) {
                close(s);
                last = ETIMEDOUT;
                rc = RSL_E_TIMEOUT;
                continue;
            }
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            r = soerr ? -1 : 0;
            errno = soerr;
        }
        if (r != 0) {
            last = errno;
            close(s);
            continue;
        }
        int one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        c->sock = s;
        rc = RSL_OK;
        break;
    }
    freeaddrinfo(res);
    if (rc == RSL_E_TIMEOUT && c->sock < 0)
        return rsl_err_set(err, RSL_E_TIMEOUT, last, "connect to %s:%d: no answer within %d ms",
                           c->host, c->port, timeout_ms);
    if (c->sock < 0)
        return rsl_err_set(err, RSL_E_CONNECT_REFUSED, last, "connect to %s:%d: %s", c->host,
                           c->port, strerror(last));
    return RSL_OK;
}
