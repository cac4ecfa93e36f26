/*
 * preconnect.h - the connections of a run opened at once. On a long link an
 * SSH or TLS connection costs about ten round trips; opened one after the
 * other, every worker but the first would wait for the first connection and
 * the remote check before it even starts connecting. Here all of them
 * connect in parallel threads from the start: the first to succeed is the
 * one the run checks the remote on (so a server that takes one connection
 * only, answering the others "busy", still runs the job), and each worker
 * then takes one of the others, or the failure its connect met.
 *
 * Nothing is sent over a taken connection before its owner sends it; a
 * connection never taken is disconnected by rsl_preconn_end.
 *
 * Owns: the connecting threads, and the connections until taken.
 * Must not touch: the queue, the plan, the state db.
 */
#ifndef RSL_PRECONNECT_H
#define RSL_PRECONNECT_H

#include "base/catalog.h"
#include "transports/transport.h"

typedef struct rsl_run rsl_run;
typedef struct rsl_preconn rsl_preconn;

/* Starts n (>= 1) connects (rsl_connect_open) in parallel threads. NULL when
 * that cannot be done (out of memory, no thread): connect one by one then. */
rsl_preconn *rsl_preconn_start(rsl_run *r, int n);
/* Waits until one connect succeeded (RSL_OK, *out owned by the caller) or
 * every one failed: then the first failure that is not REMOTE_BUSY (a
 * server's "too many connections" says less than an auth or host-key
 * failure), else the first one. */
rsl_code rsl_preconn_first(rsl_preconn *p, rsl_conn **out, rsl_err *err);
/* For a worker: 1 with the next connect not yet taken (waiting for it if it
 * is still under way): *rc RSL_OK and *out, or its failure in *rc and *err;
 * 0 when none is left (the worker connects itself). NULL-safe (0). Any
 * thread. */
int rsl_preconn_next(rsl_preconn *p, rsl_conn **out, rsl_code *rc, rsl_err *err);
/* Joins the threads, disconnects the connections nobody took, frees.
 * NULL-safe. */
void rsl_preconn_end(rsl_preconn *p);

#endif
