/*
 * netcheck.c - see netcheck.h.
 */
#include "netcheck.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

int rsl_netcheck_resolve(const char *host, int port, struct addrinfo **out, char *detail, size_t n)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    char serv[16];
    snprintf(serv, sizeof(serv), "%d", port);
    *out = NULL;
    int g = getaddrinfo(host, serv, &hints, out);
    if (g != 0) {
        snprintf(detail, n, "%s: %s", host, g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
        *out = NULL;
        return -1;
    }
    char first[128] = "?";
    getnameinfo((*out)->ai_addr, (*out)->ai_addrlen, first, sizeof(first), NULL, 0, NI_NUMERICHOST);
    snprintf(detail, n, "%s -> %s", host, first);
    return 0;
}

int rsl_netcheck_tcp(const struct addrinfo *ai, int timeout_sec, char *detail, size_t n)
{
    int last = 0;
    for (const struct addrinfo *a = ai; a; a = a->ai_next) {
        char host[128] = "?", serv[16] = "?";
        getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV);
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            rc = poll(&pf, 1, timeout_sec * 1000);
            if (rc == 0) {
                last = ETIMEDOUT;
                snprintf(detail, n, "%s port %s: no answer within %d s", host, serv, timeout_sec);
                close(fd);
                continue;
            }
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            rc = soerr ? -1 : 0;
            errno = soerr;
        }
        if (rc == 0) {
            snprintf(detail, n, "connected to %s port %s", host, serv);
            close(fd);
            return 0;
        }
        last = errno;
        snprintf(detail, n, "%s port %s: %s", host, serv, strerror(errno));
        close(fd);
    }
    return last ? last : -1;
}
