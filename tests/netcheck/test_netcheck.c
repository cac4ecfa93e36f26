/* Tests for cli/netcheck (the DNS and TCP steps of `check`), on loopback:
 * resolution of localhost and of a name that cannot exist, a TCP connect to
 * a listening port, and to a closed one (refused). */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/netcheck.h"

/* A listening socket on 127.0.0.1; returns the fd, its port in *port. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 4), 0);
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

Test(netcheck, resolve_localhost_and_a_bad_name)
{
    struct addrinfo *ai = NULL;
    char d[512];
    cr_assert_eq(rsl_netcheck_resolve("127.0.0.1", 22, &ai, d, sizeof(d)), 0, "%s", d);
    cr_assert_not_null(ai);
    cr_assert_str_eq(d, "127.0.0.1 -> 127.0.0.1");
    freeaddrinfo(ai);
    cr_assert_eq(rsl_netcheck_resolve("localhost", 22, &ai, d, sizeof(d)), 0, "%s", d);
    cr_assert(strncmp(d, "localhost -> ", 13) == 0, "%s", d);
    freeaddrinfo(ai);
    /* a syntactically impossible name fails without asking any server */
    cr_assert_eq(rsl_netcheck_resolve("bad..name", 22, &ai, d, sizeof(d)), -1);
    cr_assert_null(ai);
    cr_assert(strncmp(d, "bad..name: ", 11) == 0, "%s", d);
}

Test(netcheck, tcp_connect_and_refused)
{
    int port;
    int lfd = listener(&port);
    struct addrinfo *ai = NULL;
    char d[512];
    cr_assert_eq(rsl_netcheck_resolve("127.0.0.1", port, &ai, d, sizeof(d)), 0);
    cr_assert_eq(rsl_netcheck_tcp(ai, 5, d, sizeof(d)), 0, "%s", d);
    char want[64];
    snprintf(want, sizeof(want), "connected to 127.0.0.1 port %d", port);
    cr_assert_str_eq(d, want);
    close(lfd); /* now nothing listens there */
    int e = rsl_netcheck_tcp(ai, 5, d, sizeof(d));
    cr_assert_eq(e, ECONNREFUSED, "%d: %s", e, d);
    cr_assert(strstr(d, "Connection refused") != NULL, "%s", d);
    snprintf(want, sizeof(want), "127.0.0.1 port %d: ", port);
    cr_assert(strncmp(d, want, strlen(want)) == 0, "%s", d);
    freeaddrinfo(ai);
}
