/*
 * sftp_put.h - the pipelined run of xfer.h over our SFTP client: a window
 * of operations in flight on one connection, each completed on its own.
 *
 * Owns: the per-operation state machines (MKDIR, STAT, REMOVE as single
 * requests; PUT as OPEN -> WRITEs -> FSETSTAT -> [fsync] -> FSTAT -> CLOSE
 * -> src->verify -> posix-rename), the write window and its byte budget,
 * resume (sampled blocks of the kept prefix against src->pread), and the
 * mapping of per-operation failures onto per-item codes.
 * Must not touch: the engine's plan, SQLite, the terminal; the SFTP bytes
 * (sftp_wire.h) and the session (sftp_client.h) belong to their modules.
 *
 * Semantics are those of rsl_transport_ops.run (xfer.h):
 *   - ops are taken from feed->next while the window has room (OPENs of
 *     the next files go out while earlier ones write and close) and handed
 *     back through feed->done as each completes, in any order;
 *   - an op that fails on its own (permission, refused name, no space,
 *     local file changed) completes with its per-item code; the others go
 *     on;
 *   - when the session fails (connection lost, TIMEOUT, PROTOCOL), every
 *     op taken completes with the session code and run returns it.
 *
 * PUT results: op->offset = bytes of tmp kept from an earlier attempt
 * (resume), op->sent = bytes acknowledged contiguously from there in this
 * attempt (on failure, offset + sent is where the next attempt can resume:
 * after a write failure the temp file is truncated to it). On success the
 * final name holds exactly op->size bytes with op->mtime (and op->mode).
 *
 * Resume rule (op->resume): the temp file is stat'ed; when it is a regular
 * file no larger than op->size, RESUME_SAMPLES blocks spread over its whole
 * length (or all of it when small) are read (pipelined READs) and compared
 * with src->pread; the kept prefix ends after the last block before the
 * first mismatch (all of it when every block matches; 0 when the first
 * differs).
 */
#ifndef RSL_SFTP_PUT_H
#define RSL_SFTP_PUT_H

#include <stddef.h>
#include <stdint.h>

#include "sftp_client.h"
#include "xfer.h"

#define RSL_SFTP_RESUME_SAMPLES 16
#define RSL_SFTP_RESUME_BLOCK (32u << 10)

typedef struct rsl_sftp_put_opts {
    uint32_t max_ops; /* ops in flight at once; 0: 128 (fewer if the server has few handles) */
    uint64_t inflight_bytes; /* write bytes in flight per connection; 0: 8 MiB */
    uint32_t max_writes;     /* WRITE requests in flight per file; 0: 64 */
    int fsync;               /* 1: fsync@openssh.com before CLOSE where offered */
    uint32_t dir_mode;       /* MKDIR permission bits when op->mode is 0; 0: 0755 */
    /* 1: the server cannot write at an offset: op->resume is ignored (every
     * PUT starts from zero). Set by the run itself once it learns so. */
    int no_seek;
    /* Called (on the run's thread) when a resumed PUT showed that the server
     * cannot write at an offset (why: what it did) and was then sent whole
     * from zero. May be NULL. */
    void (*no_seek_learnt)(void *ud, const char *why);
    /* Called (on the run's thread) when the server refused a posix-rename
     * with PERMISSION_DENIED or OP_UNSUPPORTED (what a server that lists the
     * extension but does not do it answers): what was learnt of it may be
     * stale. On OP_UNSUPPORTED the run also stops using the extension and
     * renames that file the plain way. May be NULL. */
    void (*rename_refused)(void *ud, uint32_t fx);
    void *ud;
} rsl_sftp_put_opts;

/* Runs feed over s until the feed ends (RSL_OK), the run is cancelled
 * (RSL_OK, in-flight PUTs complete as INTERRUPTED, resumable) or the
 * session fails (its code, *err set; every op taken was completed with
 * it). o may be NULL (defaults). Paths are relative to s's root. */
rsl_code rsl_sftp_put_run(rsl_sftp_client *s, const rsl_sftp_put_opts *o, const rsl_feed *feed,
                          rsl_err *err);

/* RSL_CAP_RESUME | RSL_CAP_SET_MTIME, plus RSL_CAP_ATOMIC_RENAME when the
 * server offers posix-rename@openssh.com. */
unsigned rsl_sftp_put_caps(const rsl_sftp_client *s);

/* One line for describe()/check: the window, the resume rule and how the
 * final name is replaced ("NOT atomic" when posix-rename is missing). */
void rsl_sftp_put_describe(const rsl_sftp_client *s, const rsl_sftp_put_opts *o, char *buf,
                           size_t n);

#endif
