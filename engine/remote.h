/*
 * remote.h - the way to a job's destination: parse the URL, find its row in
 * the scheme table, build the transport options from the job, connect. The
 * run, `verify` and `check` all connect through here.
 *
 * Owns: the endpoint and the options a connection borrows (an rsl_remote
 * must outlive every connection made from it).
 * Must not touch: the state db, the terminal. Prints nothing.
 */
#ifndef RSL_REMOTE_H
#define RSL_REMOTE_H

#include "base/catalog.h"
#include "job.h"
#include "transports/transport.h"

enum {
    RSL_REMOTE_READONLY = 0x01 /* the caller only reads: nothing is written to the remote */
};

typedef struct rsl_remote {
    const rsl_scheme *scheme;
    const rsl_transport_ops *ops;
    rsl_endpoint ep;
    rsl_remote_opts opts; /* strings borrowed from the job; callers may set log/cache/ud */
} rsl_remote;

/* Parses job->destination and finds its transport. Returns RSL_OK, or
 * CONFIG_BAD_VALUE / SCHEME_UNSUPPORTED with err naming the destination.
 * rsl_remote_free releases *r either way. */
rsl_code rsl_remote_init(rsl_remote *r, const rsl_job *job, unsigned flags, rsl_err *err);
/* Opens one connection (trust, auth, remote root checked by the transport).
 * On RSL_OK the caller owns *out: rsl_remote_disconnect. */
rsl_code rsl_remote_connect(rsl_remote *r, rsl_conn **out, rsl_err *err);
void rsl_remote_disconnect(rsl_remote *r, rsl_conn *c);
/* The port a connection goes to (0 for file://). */
int rsl_remote_port(const rsl_remote *r);
void rsl_remote_free(rsl_remote *r);

#endif
