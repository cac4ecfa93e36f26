/*
 * xfer.h - the pipelined path of the transport interface: a connection
 * carries many operations at once. The engine feeds a stream of operations
 * (rsl_op) through an rsl_feed; the transport starts as many as its window
 * allows, and hands each one back through feed->done as it completes, in
 * any order. Over a 50 ms link this is the difference between three round
 * trips per small file and a full pipe.
 *
 * Owns: the operation and feed types, and rsl_xfer_run_serial(), the
 * adapter that runs a feed one operation at a time through the classic
 * per-call functions (for transports without a pipelined run(), and as the
 * reference behaviour).
 * Must not touch: SQLite, the engine's plan or the terminal (as transport.h).
 *
 * Ordering: a transport may run the ops it has taken in any order and
 * concurrently. The engine only feeds an op once everything it depends on
 * is done (a file after its parent directory's MKDIR completed; a REMOVE of
 * a directory after the removes inside it). Ops touching different paths
 * are independent.
 *
 * Failure isolation: an op that fails on its own (the server refused this
 * name, permission, no space) completes with its per-item code and the
 * others go on. When the connection itself fails, run() completes every op
 * it had taken with the session code (ops not yet taken stay with the
 * engine) and returns that code; the engine reconnects and feeds again.
 */
#ifndef RSL_XFER_H
#define RSL_XFER_H

#include <stdint.h>

#include "transport.h"

typedef enum rsl_op_kind {
    RSL_OP_MKDIR = 1, /* create directory `path` (parent exists); existing dir is OK */
    RSL_OP_PUT,       /* upload src to `tmp`, then finish into `path` (see below) */
    RSL_OP_REMOVE,    /* remove file (is_dir 0) or empty directory (is_dir 1); absent is OK */
    RSL_OP_STAT,      /* fill st for `path` as ops->stat does (missing: st.exists = 0, RSL_OK) */
    RSL_OP_MOVE,      /* move `from` to `path` (a file, or a directory with is_dir 1 and all it
                         holds) on the remote: see below */
    RSL_OP_SYMLINK,   /* create symbolic link `path` pointing to `target` (path absent) */
    RSL_OP_SETTIME,   /* set the mtime of directory `path` to `mtime` */
    RSL_OP_APPEND,    /* write src bytes [old_size, size) at old_size of the final file `path`,
                         in place (no temp): see below */
    RSL_OP_PUT_RANGE, /* write src bytes [range_off, range_off + range_len) into `tmp` at
                         range_off; no truncate, no rename (see below; RSL_CAP_WRITE_AT) */
    RSL_OP_FINISH     /* the end of a PUT whose bytes came as PUT_RANGE ops (see below) */
} rsl_op_kind;

/*
 * RSL_OP_MOVE: one remote request where the protocol has one (SFTP RENAME,
 * FTP RNFR/RNTO, WebDAV MOVE, renameat). The target's parent exists (the
 * engine creates it first). An existing target is REMOTE_EXISTS unless
 * `overwrite` is set (then it is replaced, as a PUT's rename would); a
 * missing `from` is REMOTE_NOT_FOUND. A transport that cannot move completes
 * the op with REMOTE_UNSUPPORTED; the engine then uploads `path` and
 * deletes `from` instead.
 *
 * RSL_OP_SYMLINK: `target` is relative and stays inside the tree (the engine
 * checked it). An item at `path` is REMOTE_EXISTS (the engine removes it
 * first). REMOTE_UNSUPPORTED where the protocol has no links (FTP, WebDAV).
 *
 * RSL_OP_SETTIME: for directories, after everything inside them is done.
 * REMOTE_UNSUPPORTED where the protocol cannot.
 *
 * RSL_OP_APPEND, step by step (a growing file whose first old_size bytes
 * the remote already holds):
 *   1. the remote file must hold old_size bytes (REMOTE_SIZE_MISMATCH
 *      otherwise: nothing is written);
 *   2. src->start(src, old_size) once (it may fail: the local head changed,
 *      HEAD_CHANGED; nothing is written then), then src->read until 0, each
 *      byte written at its offset of the final file: the file never loses
 *      its head, it briefly holds the old content plus part of the tail;
 *   3. src->verify(src), the size check against `size`, then the mtime
 *      (mtime >= 0) where the protocol can.
 * op->offset is set to old_size, op->sent to the tail bytes sent. Where the
 * protocol cannot write in place (WebDAV without partial PUT) the op
 * completes with REMOTE_UNSUPPORTED before anything is sent, and the engine
 * sends the whole file through the temp name.
 */

/*
 * RSL_OP_PUT, step by step:
 *   1. offset: 0 unless `resume` is set, in which case the transport may keep
 *      a prefix of an existing `tmp` that it checked against src->pread
 *      (sampled blocks over the whole prefix); it reports the kept length in
 *      `offset`. Without `resume` an existing tmp is truncated.
 *   2. src->start(src, offset) once, then src->read until 0.
 *   3. when every byte is acknowledged by the server: src->verify(src) (the
 *      local file did not change); an error there fails the op with that
 *      code and leaves tmp in place (it can resume).
 *   4. size check of tmp against `size`, rename tmp -> path replacing what is
 *      there (atomically where caps has RSL_CAP_ATOMIC_RENAME), then mtime
 *      (mtime >= 0) and permission bits (mode != 0) where the protocol can.
 * The op succeeds only when the final name holds the complete file.
 *
 * One file over several connections (connections whose caps have
 * RSL_CAP_WRITE_AT): the engine feeds disjoint RSL_OP_PUT_RANGE ops of the
 * same `tmp` to different connections at once, then one RSL_OP_FINISH.
 *
 * RSL_OP_PUT_RANGE:
 *   1. tmp is created when absent (with `mode`) and never truncated: other
 *      connections are writing other ranges of it at the same time. Nothing
 *      outside [range_off, range_off + range_len) is written.
 *   2. `resume` set: a check, not a write: an upload record says the range
 *      was written before. The transport compares sampled blocks of the
 *      range in tmp with src->pread (its first and last block included) and
 *      writes nothing: offset = range_len when every block matches, 0 when
 *      one differs or tmp is shorter than the range's end (the engine then
 *      forgets the range before it feeds it again as a write).
 *   3. otherwise src->start(src, range_off) once, then src->read until 0
 *      (the source ends at the range's end); each byte is written at its
 *      own offset.
 *   4. done when every byte is acknowledged; on failure nothing is cut
 *      from tmp (sent = bytes acknowledged contiguously from range_off).
 * RSL_OP_FINISH: src->start(src, size) once (the engine's source reads
 *   nothing after it; it computes the file's digest there), then steps 3
 *   and 4 of PUT: src->verify, size check of tmp against `size`, rename,
 *   mtime, permission bits. A size that is wrong fails the op
 *   (REMOTE_SIZE_MISMATCH); the transport never sends bytes for it.
 */
typedef struct rsl_op {
    rsl_op_kind kind;
    const char *path;   /* relative to the remote root, as in transport.h */
    const char *tmp;    /* PUT, PUT_RANGE, FINISH: the temp name */
    const char *from;   /* MOVE: the remote item moved to `path` */
    const char *target; /* SYMLINK: what the link points to (relative) */
    int is_dir;         /* REMOVE, MOVE */
    int overwrite;      /* MOVE: an item at `path` may be replaced (else REMOTE_EXISTS) */
    uint64_t old_size;  /* APPEND: bytes the remote file holds already */
    int resume;         /* PUT: an upload record says tmp may hold a prefix of this file */
    uint64_t size;      /* PUT, PUT_RANGE, FINISH, APPEND: bytes of the local file */
    int64_t mtime;      /* PUT, FINISH, APPEND, SETTIME: seconds since the epoch, < 0 to leave it */
    uint32_t mode;      /* PUT, PUT_RANGE, FINISH, MKDIR: permission bits for the new item, 0 for
                           the server's default (the serial adapter passes it as src->mode, or
                           calls set_mode after the mkdir) */
    rsl_source *src;    /* PUT, PUT_RANGE, FINISH, APPEND: the bytes */
    void *ud;           /* the engine's */
    /* results, set by the transport before feed->done */
    rsl_err err;     /* err.code is RSL_OK on success */
    rsl_rstat st;    /* STAT */
    uint64_t offset; /* PUT: bytes kept from an earlier attempt (resume); APPEND: old_size */
    uint64_t sent;   /* PUT, APPEND: bytes sent in this attempt */
    /* PUT_RANGE: the bytes of the file it writes (set by the engine); its
     * results are offset (range_len when a checked range was kept) and sent */
    uint64_t range_off, range_len;
} rsl_op;

typedef struct rsl_feed {
    /* The next op to start, or NULL. With wait = 0, NULL means "none ready
     * now" (go on with what is in flight); with wait = 1 (the transport has
     * nothing in flight) it blocks until an op is ready or the stream ended,
     * and NULL means the end. */
    rsl_op *(*next)(void *ud, int wait);
    /* An op completed (success or failure). The transport no longer touches
     * it. Called on the thread that runs run(). */
    void (*done)(void *ud, rsl_op *op);
    /* 1 when the run is being stopped (SIGTERM, max_run_time): take no new
     * ops, finish or abandon those in flight quickly. May be NULL. */
    int (*cancelled)(void *ud);
    void *ud;
} rsl_feed;

/* Runs feed through ops' classic functions, one op at a time (mkdir, stat,
 * remove, resume_offset + upload + finish, move, symlink, set_mtime,
 * append; write_range for PUT_RANGE; finish for FINISH; an optional call the
 * transport lacks completes its op with REMOTE_UNSUPPORTED). Returns RSL_OK
 * when the feed ended, or the session code that broke the connection. */
rsl_code rsl_xfer_run_serial(const rsl_transport_ops *ops, rsl_conn *c, const rsl_feed *feed,
                             rsl_err *err);

/* The op kind's name, for logs: "mkdir", "put", "remove", "stat", "move",
 * "symlink", "settime", "append", "put-range", "finish". */
const char *rsl_op_kind_name(rsl_op_kind k);

#endif
