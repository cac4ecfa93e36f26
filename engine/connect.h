/*
 * connect.h - a run's connections: the destination set up once (through
 * remote.h, with the run's log and server-facts cache wired into the
 * transport options), a connection opened per worker, and the bounded
 * reconnect after a connection error (waits and attempts from retry.h,
 * cancellable).
 *
 * Owns: the transport callbacks of a run (log, cache_get, cache_set,
 * early_stat).
 * Must not touch: the state db, the plan.
 */
#ifndef RSL_CONNECT_H
#define RSL_CONNECT_H

#include "base/catalog.h"
#include "transports/transport.h"

typedef struct rsl_run rsl_run;

/* Parses the destination and finds its transport (r->rm, r->ops); the
 * transport then logs through the run and caches facts in r->facts. */
rsl_code rsl_connect_setup(rsl_run *r, rsl_err *err);
/* Draws the remote check's sample (r->rcheck) and offers its paths to the
 * next connection that asks (rsl_remote_opts.early_stat): one connection
 * gets them, then none. Main thread, once the plan is built. */
void rsl_connect_publish_early(rsl_run *r);
/* Opens one connection. On RSL_OK the caller owns *out (r->ops->disconnect). */
rsl_code rsl_connect_open(rsl_run *r, rsl_conn **out, rsl_err *err);
/* Drops *conn (may be NULL) and connects again: up to max_attempts tries,
 * waiting first_delay_ms, doubling, before each; stops at once on a code
 * that a reconnect cannot fix (the catalog's handling column), and with
 * INTERRUPTED when the run is cancelled. Any thread (for its own *conn). */
rsl_code rsl_connect_again(rsl_run *r, rsl_conn **conn, rsl_err *err);

#endif
