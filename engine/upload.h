/*
 * upload.h - the files phase: each file of the plan becomes a PUT task for
 * the dispatcher (dispatch.h). The PUT uploads to the temp name and renames
 * into place; the local side is an rsl_local_src (source.h: opened beneath
 * the source root when the transport starts the op, checked against what
 * the scan saw, hashed while it is read).
 *
 * Resume: a file of at least RSL_RESUME_MIN bytes on a connection with
 * RSL_CAP_RESUME gets an upload record (path, size, mtime). When a record
 * for this version exists, the PUT is fed with op.resume = 1 (the transport
 * keeps what the temp file holds). Otherwise the old temp is removed first
 * (a REMOVE op), then the record is committed, and only then is the PUT fed
 * (resume = 0): a record never describes bytes of another version. Smaller
 * files, and every file on a server that cannot resume, get no record and
 * no temp remove: they restart from zero.
 *
 * Growing files (`append`, an APPEND item of the plan): one APPEND op
 * writes the new tail in place, after the source checked that the head
 * still has the digest recorded (HEAD_CHANGED otherwise). Refused (the head
 * changed, the remote size is not the recorded one, the server cannot
 * write in place), the task goes on as the PUT chain: the whole file
 * through the temp name.
 *
 * A file of at least the job's multi_connection_min bytes, on a connection
 * that can write at an offset (RSL_CAP_WRITE_AT), goes over several
 * connections as pieces (ranges.h) instead of one PUT, then one FINISH op;
 * its upload record lists the pieces written. A record of the other kind
 * (pieces for a PUT, a prefix for pieces) is not continued: the temp is
 * removed and the file starts over.
 *
 * On success the manifest row gets the file's size, mtime, device, inode
 * and the SHA-256 of what was sent (of the whole file, for an APPEND too).
 *
 * Owns: the PUT chain and the file's result. Must not touch: the workers,
 * the transport.
 */
#ifndef RSL_UPLOAD_H
#define RSL_UPLOAD_H

#include "dispatch.h"

/* Feeds the files phase: PUT tasks here; moves (moves.h) and links
 * (links.h) go to their modules. */
rsl_feed_state rsl_upload_feed(rsl_disp *d);
/* Starts the PUT (or APPEND) task of a file item with spool index idx
 * (next: ahead of the others, for an item already begun, e.g. a move that
 * fell back). A file that is not attempted is recorded. */
void rsl_upload_start(rsl_disp *d, const rsl_item *it, uint64_t idx, int next);
/* A PUT task's op completed (or, conn_err set, ended with a connection
 * error that is not retried; also for a task dropped after one). */
void rsl_upload_done(rsl_disp *d, rsl_task *t, int conn_err);
/* A PUT task goes again after a connection error: resume from the temp. */
void rsl_upload_retry(rsl_disp *d, rsl_task *t);
/* Every piece of PUT task t (sent over several connections, ranges.h) is
 * written: queues its FINISH op. */
void rsl_upload_finish_op(rsl_disp *d, rsl_task *t);

#endif
