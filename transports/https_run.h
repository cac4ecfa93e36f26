/*
 * https_run.h - the pipelined run() of the https transport (xfer.h): one
 * connection carries a window of operations at once over libcurl's multi
 * interface.
 *
 *   HTTP/2 (the server offered h2 at connect): one TCP+TLS connection
 *     (CURLMOPT_MAX_HOST_CONNECTIONS 1, CURLPIPE_MULTIPLEX), up to
 *     RSL_HTTPS_WINDOW_H2 operations in flight as concurrent streams.
 *   HTTP/1.1 only: up to RSL_HTTPS_WINDOW_H1 operations, each on its own
 *     kept-alive connection (as many connections as the window).
 * Of these, at most RSL_HTTPS_BIG_MAX are PUTs of files over
 * RSL_HTTPS_BIG_SIZE bytes (a few large bodies share the link with the
 * small ones instead of starving them); further large ones wait, taken.
 *
 * Each operation completes through feed->done in completion order. An
 * operation failing on its own (403, 409, 413, 423, 507 ...) completes with
 * its per-item code and the others go on. A failure of the connection (or
 * any code of the SESSION class, e.g. a deadline, an answer over its cap,
 * 401) completes every operation in flight with that code and is returned:
 * the engine reconnects and feeds again.
 *
 * Owns: the window and the operations it took. Must not touch: the engine.
 */
#ifndef RSL_HTTPS_RUN_H
#define RSL_HTTPS_RUN_H

#include "https_req.h"
#include "xfer.h"

#define RSL_HTTPS_WINDOW_H2 64
#define RSL_HTTPS_WINDOW_H1 8
#define RSL_HTTPS_BIG_SIZE (1u << 20)
#define RSL_HTTPS_BIG_MAX 4

/* ops->run of the https transport. */
rsl_code rsl_https_run(rsl_conn *c, const rsl_feed *feed, rsl_err *err);

#endif
