/*
 * upload.h - one file to the remote, on one worker's connection: open the
 * local file (no symlink followed unless the scan followed it), re-validate
 * its size, decide between resuming (an upload record matches and the
 * transport keeps part of the temp file) and a fresh start (a durable upload
 * record first, the old temp removed), pull the bytes through the throttle,
 * check the local file did not change, then finish (size check, rename,
 * mtime). A connection error reconnects and resumes, within the retry policy.
 *
 * Owns: the upload source (rsl_source over the local file) and the per-file
 * resume decision. Resume needs the connection's RSL_CAP_RESUME and a file of
 * at least RSL_RESUME_MIN bytes; without either, the file restarts from zero
 * and leaves no upload record and no temp remove() behind.
 * Must not touch: the state db (the upload record is asked for through
 * record_begin, which returns once it is durable), other workers.
 */
#ifndef RSL_UPLOAD_H
#define RSL_UPLOAD_H

#include <stdint.h>

#include "plan.h"
#include "transports/transport.h"

typedef struct rsl_run rsl_run;
typedef struct rsl_file_result rsl_file_result;

/* One worker's side of an upload. */
typedef struct rsl_uploader {
    rsl_run *r;
    rsl_conn *conn; /* replaced by a reconnect */
    int dead;       /* a reconnect failed: this connection is gone */
    rsl_err dead_err;
    /* Makes an upload record (path, size, mtime) durable; returns once it
     * is committed. Called before the first byte of a fresh resumable upload. */
    void (*record_begin)(void *ud, const rsl_item *it, uint64_t size, int64_t mtime_ns);
    void *ud;
} rsl_uploader;

/* Uploads it; fills *res (code RSL_OK or the item's error, bytes sent, the
 * local size/mtime, attempts). On a failed reconnect sets u->dead. */
void rsl_upload_file(rsl_uploader *u, const rsl_item *it, rsl_file_result *res);

#endif
