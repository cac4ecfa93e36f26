/*
 * https_ops.h - the https transport's operations (xfer.h's rsl_op: MKDIR,
 * PUT, REMOVE, STAT) as request sequences that never block: each step
 * starts one request (https_req.h) and the next step runs when it answered,
 * so a connection carries many operations at once (the pipelined run,
 * https_run.c) and the classic calls (https.c) are the same code run one at
 * a time (rsl_https_op_run).
 *
 * Requests per operation:
 *   MKDIR   MKCOL dir/ (none when the directory cache knows it); a 405 (or
 *           Apache's 400/301) is followed by PROPFIND Depth 0: collection =
 *           OK, file = REMOTE_TYPE_CONFLICT.
 *   STAT    PROPFIND Depth 0 (again as "dir/" after a 3xx).
 *   REMOVE  file: DELETE Depth 0; directory: PROPFIND Depth 1 (only an
 *           empty one is deleted), DELETE dir/ Depth infinity.
 *   PUT     [resume: HEAD of the temp, ranged GETs of sampled blocks of it
 *           compared with src->pread], one PUT of the whole file (or chunks
 *           with Content-Range where partial PUT works), [a HEAD size check
 *           when it took more than one request], MOVE Overwrite: F to the
 *           final name (on 412: PROPFIND of the destination, never replacing
 *           a collection, then MOVE Overwrite: T).
 *   MOVE    MOVE from -> path (dir/ for a directory), Overwrite: F unless
 *           op->overwrite: 412 is REMOTE_EXISTS, 404 REMOTE_NOT_FOUND, 405
 *           and 501 REMOTE_UNSUPPORTED (the engine uploads instead).
 *   APPEND  only where partial PUT works (else REMOTE_UNSUPPORTED before any
 *           request): HEAD of the final file (its size must be old_size),
 *           the tail as Content-Range PUTs on it, a HEAD size check.
 *   SYMLINK, SETTIME: REMOTE_UNSUPPORTED (WebDAV has neither).
 * Rare turns (a 500 whose parent may be missing, a contradicted server
 * fact) make a synchronous request in the middle (rsl_https_perform).
 *
 * Owns: an operation's requests, header lists and URLs while it runs.
 * Must not touch: the feed (https_run.c), the engine.
 */
#ifndef RSL_HTTPS_OPS_H
#define RSL_HTTPS_OPS_H

#include "https_req.h"
#include "xfer.h"

#define RSL_HTTPS_MIN_CHUNK (64ull << 10)

/* Which parts of a PUT run. The pipelined PUT is RESUME|SEND|FINISH|PIPE;
 * the classic calls run one part each (resume_offset, upload, finish). */
enum {
    RSL_HTTPS_PH_RESUME = 1, /* how much of the temp is kept: op->offset */
    RSL_HTTPS_PH_SEND = 2,   /* the bytes [op->offset, op->size) */
    RSL_HTTPS_PH_FINISH = 4, /* size check, MOVE into place */
    RSL_HTTPS_PH_PIPE = 8    /* src->start/verify; size check only when chunked;
                                a 413 is retried at once with the learnt size */
};

typedef struct rsl_https_op rsl_https_op;
struct rsl_https_op {
    rsl_conn *c;
    rsl_op *op; /* results go to op->err, op->st, op->offset, op->sent */
    unsigned phases;
    int step, ret; /* the step now; the step a stat returns to */
    rsl_https_io *io;
    struct curl_slist *hdrs;
    char *url, *url2, *line;
    rsl_dav_parser *dav;
    /* the stat a step asked for */
    const char *st_rel;
    int st_coll;
    rsl_rstat st;
    rsl_code st_rc;
    int st_got;
    long saved_status;
    rsl_err saved_err;
    /* PUT, APPEND */
    const char *tgt; /* the file written: op->tmp (PUT), op->path (APPEND, in place) */
    int append;
    uint64_t pos, len, src_pos, head_size;
    int ranged, requests, restarted, sample;
    char *aux; /* a path a step needs beyond the request (the parent to stat) */
    char etag[256];
    /* REMOVE of a directory */
    char *self;
    int children;
    /* the caller's */
    void (*done)(rsl_https_op *h); /* called once, when the op completed */
    void *ud;
    rsl_https_op *next;
    int flags; /* the caller's */
    int finished;
};

/* A new operation for op (its err/st/offset/sent are results); NULL when out
 * of memory. */
rsl_https_op *rsl_https_op_new(rsl_conn *c, rsl_op *op, unsigned phases);
/* Starts it; h->done is called when it completed (maybe before this
 * returns: a cached MKDIR needs no request). */
void rsl_https_op_start(rsl_https_op *h);
/* Stops its request, if any, without calling h->done. */
void rsl_https_op_cancel(rsl_https_op *h);
void rsl_https_op_free(rsl_https_op *h);
/* Runs op to its end on c (the classic calls). Returns op->err.code. */
rsl_code rsl_https_op_run(rsl_conn *c, rsl_op *op, unsigned phases);

/* ---- for the steps of an operation (https_ops.c, https_put.c) ---- */

/* Starts r as h's request; the operation's step function runs again with
 * h->io set when it answered. On failure to start, h completes. */
void rsl_https_op_issue(rsl_https_op *h, int step, const rsl_https_req *r);
/* Ends h with rc (op->err filled by the caller, or a generic message). */
void rsl_https_op_complete(rsl_https_op *h, rsl_code rc);
/* PROPFIND Depth 0 of rel into h->st / h->st_rc (rel borrowed); then the
 * step function runs again at step `ret` (h->io NULL). A missing item is
 * st_rc RSL_OK with st.exists 0. */
void rsl_https_op_stat(rsl_https_op *h, const char *rel, int ret);
/* Frees h's header list and URLs of the last request. */
void rsl_https_op_reset(rsl_https_op *h);
/* Steps from here on are the PUT's (https_put.h). */
#define RSL_HTTPS_PUT_STEPS 100

/* The name of href's item when it is a direct child of the collection whose
 * decoded path (with trailing '/') is self: *name malloc'd, returns 1; 0
 * when it is self or not a direct child; -1 when out of memory or href
 * cannot be decoded. */
int rsl_https_href_child(const char *self, const char *href, char **name);
/* "<root>/<rel>/" decoded (the path listed entries are matched against);
 * NULL when out of memory. */
char *rsl_https_self_path(const rsl_conn *c, const char *rel);

#endif
