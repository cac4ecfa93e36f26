/*
 * https_probe.h - the facts the https transport learns about a server and
 * keeps through the engine's cache (opts->cache_get / cache_set, the state
 * db), per server location:
 *
 *   https:<host>:<port><root>:partial-put = "yes" | "no"
 *       whether the server applies Content-Range on PUT (resumable,
 *       chunked uploads). Decided at the first connect by a probe file in
 *       the remote root (plain PUT, ranged PUT, GET, DELETE; only the exact
 *       concatenation counts as yes). Probed again when an upload
 *       contradicts a cached "yes": a ranged PUT answered 400, 405, 416 or
 *       501, or a chunked upload left a temp file of the wrong size.
 *   https:<host>:<port><root>:max-body = "<bytes> <unix time learnt>"
 *       the chunk size to use after the server answered 413 to a larger
 *       body (below chunk_size). Used by every later connection until it is
 *       older than RSL_HTTPS_FACT_MAX_AGE, then chunk_size is tried again
 *       (a server whose limit was raised is noticed within a week).
 *
 * A read-only connection never probes (nothing is written to its root).
 * Internal to the https transport.
 *
 * Owns: the probe file's life (it is always deleted once created), the
 * connection's partial_put, chunk and their descriptions. Must not touch:
 * anything in the remote root but its own probe file.
 */
#ifndef RSL_HTTPS_PROBE_H
#define RSL_HTTPS_PROBE_H

#include "https_req.h"

#define RSL_HTTPS_FACT_MAX_AGE (7 * 24 * 3600)

/* At connect: partial PUT (cache, else probe) and the chunk size (chunk_size,
 * or a cached max-body below it). Logs what it decided. */
void rsl_https_facts_load(rsl_conn *c);
/* A 413 for a `refused`-byte body: chunks of `chunk` bytes from now on, on
 * this connection and (through the cache) every later one. */
void rsl_https_fact_chunk(rsl_conn *c, uint64_t chunk, uint64_t refused);
/* The cached partial-PUT "yes" was contradicted (why says how): probe again,
 * keep the answer. Returns the new c->partial_put. */
int rsl_https_facts_reprobe(rsl_conn *c, const char *why);

#endif
