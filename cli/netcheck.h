/*
 * netcheck.h - the network steps of `rsyncd-lite check`, kept apart so they
 * can be tested on loopback: name resolution and a plain TCP connect, each
 * with a one-line human detail.
 *
 * Owns: sockets it opens and closes within a call. Must not touch: the
 * transports (which do the real protocol), the state db.
 */
#ifndef RSL_CLI_NETCHECK_H
#define RSL_CLI_NETCHECK_H

#include <stddef.h>
#include <netdb.h>

/* Resolves host:port (TCP). Returns 0 with *out (freeaddrinfo) and detail
 * "host -> first address", or -1 with detail "host: reason". */
int rsl_netcheck_resolve(const char *host, int port, struct addrinfo **out, char *detail, size_t n);
/* Connects to the addresses in turn, each within timeout_sec. Returns 0 with
 * detail "connected to ADDR port P", or the errno of the last failure
 * (ETIMEDOUT when none answered) with detail "ADDR port P: reason". */
int rsl_netcheck_tcp(const struct addrinfo *ai, int timeout_sec, char *detail, size_t n);

#endif
