/*
 * workers.h - the worker pool of a run: N threads, each owning one
 * connection, each feeding its connection a stream of ops from the run's
 * queue (queue.h) through the transport's pipelined run() where it has one,
 * else through rsl_xfer_run_serial() (transports/xfer.h). Every completed op
 * goes back to the main thread through the queue.
 *
 * A connection error (a code whose catalog handling is RECONNECT) ends
 * run(): the ops it had taken come back with that code (the dispatcher
 * retries them), and the worker reconnects (retry.h: bounded, with backoff)
 * once there is work again. A worker whose first connect or whose reconnect
 * fails leaves its share to the others (an event tells the main thread,
 * which fails the run when no worker is left or the code stops runs). A
 * server that refuses one more connection as busy (REMOTE_BUSY: FTP's 421)
 * makes the worker leave quietly: the run goes on with fewer connections
 * (and one that loses its connection later and gets 421 on reconnecting
 * leaves too, so the count only goes down). A code
 * whose handling is STOP ends the worker and stops the run.
 *
 * A worker's first connection is one opened ahead with the run's first
 * (preconnect.h, r->pre) when there is one for it, else its own connect.
 *
 * Owns: the threads and their connections. Must not touch: the state db,
 * the plan (workers only see ops).
 */
#ifndef RSL_WORKERS_H
#define RSL_WORKERS_H

#include "base/catalog.h"
#include "queue.h"
#include "transports/transport.h"

typedef struct rsl_run rsl_run;
typedef struct rsl_workers rsl_workers;

/* Files smaller than this on average make a run over a transport that
 * carries one operation at a time (RSL_CAP_NO_MULTIPLEX: FTP) open more
 * connections than `transfers`: each one waits a round trip or more per
 * file, so more of them hide more round trips. */
#define RSL_SMALL_FILES_MEAN (1u << 20)
/* ... that many times `transfers`, within the job's max_connections. */
#define RSL_SMALL_FILES_FACTOR 2

/* How many connections run r opens (r->plan and r->caps known): transfers,
 * times RSL_SMALL_FILES_FACTOR for small files over a transport without
 * multiplexing, at most max_connections, and no more than there is work
 * for (a file going over several connections counts its pieces). Sets
 * r->conns, the queue's window (1 without multiplexing, else
 * rsl_workers_window) and its bound. Returns the count. */
int rsl_workers_size(rsl_run *r);
/* The per-connection window for n workers: RSL_PIPE_WINDOW, lowered when
 * the open-file limit cannot hold n windows of open sources (the soft limit
 * is raised towards the hard one first). */
int rsl_workers_window(int n);
/* Starts n workers on r's queue; worker 0 takes *conn0 (set to NULL). On
 * RSL_OK the caller owns *out (rsl_workers_join). */
rsl_code rsl_workers_start(rsl_workers **out, rsl_run *r, int n, rsl_conn **conn0, rsl_err *err);
/* Waits for every worker (close or stop the queue first) and disconnects
 * their connections. NULL-safe. */
void rsl_workers_join(rsl_workers *ws);

#endif
