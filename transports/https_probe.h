/*
 * https_probe.h - whether an https server applies Content-Range on PUT
 * (partial PUT, which makes resumable uploads possible), decided once per
 * server location: from the cache (opts->cache_get, key
 * "https:<host>:<port><root>:partial-put"), else by a probe file in the
 * remote root (plain PUT, ranged PUT, GET, DELETE) whose answer is cached.
 * A read-only connection never probes. Internal to the https transport.
 *
 * Owns: the probe file's life (it is always deleted once created).
 * Must not touch: anything in the remote root but its own probe file.
 */
#ifndef RSL_HTTPS_PROBE_H
#define RSL_HTTPS_PROBE_H

#include "https_req.h"

/* Sets c->partial_put and c->partial_how; logs what it decided. */
void rsl_https_probe_decide(rsl_conn *c);

#endif
