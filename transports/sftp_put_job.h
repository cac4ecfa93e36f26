/*
 * sftp_put_job.h - the inside of the pipelined run (sftp_put.h), shared by
 * its two files: sftp_put.c (the run loop, MKDIR/REMOVE/STAT, PUT's open,
 * writes, trailer and rename) and sftp_put_resume.c (PUT's resume: the
 * sampled blocks of a kept temp file, and the fresh start when the server
 * cannot write at an offset). Internal to sftp_put; nothing else includes it.
 *
 * sftp_put_more.c holds the send-less ops (MOVE, SYMLINK, SETTIME, and
 * APPEND, which reuses the PUT's writes and trailer on the final file).
 *
 * Owns: the job and run types, and the helpers both files use. Must not
 * touch: anything sftp_put.h's module must not.
 */
#ifndef RSL_SFTP_PUT_JOB_H
#define RSL_SFTP_PUT_JOB_H

#include <stdint.h>

#include "sftp_put.h"

#define PATH_BUF 4096

enum phase {
    P_SIMPLE,  /* MKDIR / REMOVE / STAT: one request (and maybe a refining stat) */
    P_RSTAT,   /* resume: LSTAT of the temp file */
    P_ROPEN,   /* resume: OPEN of the temp file for reading */
    P_SAMPLE,  /* resume: READs of the sampled blocks */
    P_OPEN,    /* OPEN of the temp file for writing */
    P_DATA,    /* WRITEs */
    P_TRAILER, /* FSETSTAT, [fsync], FSTAT, CLOSE sent */
    P_RENAME,  /* posix-rename (or REMOVE + RENAME) sent */
    P_FIXUP,   /* after a failure: truncate and close sent */
    P_RCLOSE   /* PUT_RANGE: every byte written, CLOSE sent */
};

typedef struct wslot {
    uint32_t id, len;
    uint64_t off;
    int state; /* 0 in flight, 1 acknowledged, 2 failed */
} wslot;

typedef struct sample {
    uint32_t id, len, got, good;
    uint64_t off;
    int bad;
} sample;

typedef struct run run;

typedef struct job {
    struct job *prev, *next;
    run *R;
    rsl_op *op;
    int phase, inflight, failed;
    char *wpath, *wtmp; /* wire paths of op->path and op->tmp */
    rsl_sftp_handle h, rh;
    int hopen, rhopen, close_sent, truncated, refine_rename, refined;
    uint64_t tmp_size, kept, next_off, acked, wbytes;
    uint64_t end; /* PUT: op->size; PUT_RANGE: the range's end (bytes written up to it) */
    wslot *ring;
    uint32_t rcap, rhead, rn;
    rsl_sftp_attrs fattrs;
    int have_fstat;
    sample smp[RSL_SFTP_RESUME_SAMPLES + 4];
    int nsmp, whole;
    int redo, redone; /* sent again from zero: the server cannot write at an offset */
    char why[160];    /* what it did */
    /* send less (sftp_put_more.c) */
    int posix;         /* the last rename sent was a posix-rename */
    int append;        /* an APPEND: wtmp is the final file, no rename, never redone */
    int sized, opened; /* APPEND: the LSTAT and the OPEN answered */
    char *wfrom;       /* MOVE: the wire path of op->from */
} job;

struct run {
    rsl_sftp_client *s;
    const rsl_feed *feed;
    rsl_sftp_put_opts o;
    uint32_t write_len, read_len, max_ops;
    job *head, *tail, *done_head, *done_tail;
    size_t njobs;
    uint64_t wbytes;
    unsigned char *scratch;
    int cancelled;
};

/* ---- helpers of sftp_put.c ---- */

/* Fails the job with *e (the first failure stays). */
void rsl_sftp_put_fail(job *j, const rsl_err *e);
/* Registers a request of job j (counted in j->inflight until its reply). */
uint32_t rsl_sftp_put_req(job *j, rsl_sftp_cb cb);
rsl_sftp_buf *rsl_sftp_put_out(job *j);
/* A reply that needs nothing but counting. */
void rsl_sftp_put_ignore(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r);
/* Moves job j on once no reply of it is outstanding. */
void rsl_sftp_put_step(job *j);
/* OPENs the temp file for writing, keeping `kept` bytes (0: truncated). */
void rsl_sftp_put_open_write(job *j, uint64_t kept);

static inline uint32_t req(job *j, rsl_sftp_cb cb)
{
    return rsl_sftp_put_req(j, cb);
}

static inline rsl_sftp_buf *out(job *j)
{
    return rsl_sftp_put_out(j);
}

static inline void step(job *j)
{
    rsl_sftp_put_step(j);
}

/* The wire path of rel (malloc'd) into *out; fails the job (0 / -1). */
int rsl_sftp_put_wire_path(job *j, const char *rel, char **out);
/* The OPEN of an APPEND answered (the PUT's on_open otherwise). */
void rsl_sftp_put_opened(job *j, const rsl_sftp_reply *r);
/* A posix-rename of job j was answered r: when the server refused it as
 * one that does not do it (PERMISSION_DENIED, OP_UNSUPPORTED), tells the
 * run's owner (o.rename_refused); on OP_UNSUPPORTED also stops using the
 * extension. Returns 1 when the rename should be sent again the plain way. */
int rsl_sftp_put_posix_refused(job *j, const rsl_sftp_reply *r);
/* After a failure mapped to REMOTE_IO/TYPE_CONFLICT: what is in the way. */
void rsl_sftp_put_refine(job *j, const char *wire_path, int rename);

/* ---- sftp_put_more.c ---- */

/* Starts op's requests for MOVE, SYMLINK, SETTIME or APPEND. */
void rsl_sftp_put_more(job *j);

/* ---- sftp_put_resume.c ---- */

/* op->resume: LSTAT of the temp file, then sampled READs (P_RSTAT..P_SAMPLE). */
void rsl_sftp_put_resume_begin(job *j);
/* PUT_RANGE with op->resume: the same for the range's own bytes; the op
 * completes with offset = range_len when every sample matches, else 0. */
void rsl_sftp_put_range_check(job *j);
/* Every sample is in: keep the verified prefix and open for writing. */
void rsl_sftp_put_sampling_done(job *j);
/* A resumed job met a refusal or a wrong size (why): when it can be sent
 * again from zero, marks it for that (j->redo) and returns 1; 0 when not
 * (the failure stands). */
int rsl_sftp_put_suspect_seek(job *j, uint32_t fx, const char *why);
/* Once a job marked j->redo has no reply outstanding: close its handle if
 * open, then start it over from zero. */
void rsl_sftp_put_redo(job *j);
/* A job that was sent again from zero completed: the server cannot write
 * at an offset (the run's no_seek, the caller's callback). */
void rsl_sftp_put_learnt(job *j);

#endif
