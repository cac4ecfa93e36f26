/*
 * ranges.h - one big file over several connections. A file of at least the
 * job's multi_connection_min bytes, on a connection whose caps have
 * RSL_CAP_WRITE_AT, when the run has more than one connection, is cut into
 * pieces (spans.h) that go as PUT_RANGE ops (transports/xfer.h) to
 * different connections at once, into the same temp file; once every piece
 * is written, one FINISH op of the file's PUT task (upload.c) checks the
 * size, renames, and sets mtime and mode. One channel's window (OpenSSH's
 * caps one SFTP connection at about 40 MB/s at 50 ms) then no longer
 * bounds a big file.
 *
 * The upload record (state.h) says which pieces are written: its `done`
 * column is "" from the start (never NULL, so a plain resume never takes a
 * temp with holes for a contiguous prefix) and is committed after each
 * piece completes (main thread). A later run of the same version feeds
 * the pieces in `done` as checks (PUT_RANGE with resume: sampled blocks
 * compared with the local file, nothing sent) and the others as writes; a
 * piece whose check fails leaves `done` (committed) before it is written
 * again. The queue hands a connection its next piece only once its last
 * one is recorded (queue.h), so a SIGKILL costs at most the pieces in
 * flight: one per connection.
 *
 * The digest: pieces are read out of order on several threads and SHA-256
 * cannot be combined from parts, so the FINISH op's source start hashes
 * the whole file in one extra sequential read (source.c, on the worker
 * that runs the FINISH; from the page cache when the file fits in it).
 *
 * A piece that fails (after its connection-error retries) stops the file:
 * no new piece is fed, those in flight complete, and the file is recorded
 * with that piece's code; its record keeps the pieces written.
 *
 * Owns: the pieces of such a file (struct rsl_ranges, on its PUT task),
 * its RANGE tasks and its `done` text. Must not touch: the transport
 * except through queued ops; the state db except through recorder.h.
 */
#ifndef RSL_RANGES_H
#define RSL_RANGES_H

#include <stdint.h>

#include "task.h"

typedef struct rsl_disp rsl_disp;
typedef struct rsl_run rsl_run;

/* One SSH channel's window (OpenSSH: 2 MiB) or a TCP window caps one
 * connection at about a window per round trip: at 50 ms, 40 MiB/s, so a
 * big file is cut over several connections. Below this round trip (µs) a
 * connection's window carries more than one core encrypts (400 MiB/s at
 * 5 ms): cutting would only add connections competing for the CPU, so
 * big files go whole. */
#define RSL_RANGES_MIN_RTT_US 5000

/* On the first connection, when the plan has a file of at least
 * multi_connection_min and the server writes at an offset: the link's
 * round trip (transport op link_rtt_us; a few round trips at most, once
 * per run) into r->link_rtt_us, logged with the choice. */
void rsl_ranges_probe_link(rsl_run *r, struct rsl_conn *conn);
/* 1 unless the link's round trip is known and below RSL_RANGES_MIN_RTT_US. */
int rsl_ranges_link_long(const rsl_run *r);
/* 1 when the last run that measured this destination's link found it short
 * (a fact kept in the state db by rsl_ranges_probe_link): the run then
 * opens ahead only the connections a short link needs. A guess for that
 * count only; the cut is decided on this run's own measurement. */
int rsl_ranges_link_was_short(rsl_run *r);
/* 1 when file `it` goes over several connections in this run. */
int rsl_ranges_wanted(const rsl_run *r, const rsl_item *it);
/* Feeds the pieces of PUT task t, whose upload record is committed. done:
 * the record's `done` text when it describes this version (the pieces in
 * it are checked, not sent), NULL for a fresh temp. On failure (out of
 * memory, the pending row or the record could not be written) t is
 * finished or recorded. */
void rsl_ranges_begin(rsl_disp *d, rsl_task *t, const char *done);
/* A RANGE task's op completed (conn_err: with a connection error that is
 * not retried any more). */
void rsl_ranges_done(rsl_disp *d, rsl_task *rt, int conn_err);
/* A RANGE task was dropped without running (the run is stopping). */
void rsl_ranges_dropped(rsl_disp *d, rsl_task *rt);
/* Bytes PUT task t's pieces sent in this run (0 when it has none). */
int64_t rsl_ranges_sent(const rsl_task *t);
/* Frees a task's pieces. NULL-safe. */
void rsl_ranges_free(struct rsl_ranges *g);

#endif
