/*
 * source.h - the local side of an upload: a file opened beneath the source
 * root without following a symbolic link in any component, checked to be
 * the file the scan saw, and read for the transport (bwlimit, byte counts,
 * SHA-256 of the content in the same pass).
 *
 * Beneath the root: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the
 * kernel has it, else a walk from the root's descriptor, one component at a
 * time with openat(O_NOFOLLOW | O_DIRECTORY). A directory swapped for a
 * symlink between the scan and the upload therefore cannot lead outside the
 * tree. Items the scan reached through a followed link (follow_symlinks =
 * yes) are opened by the path the scan resolved, under the same rule.
 *
 * The file is opened with O_NONBLOCK (a FIFO swapped in does not block),
 * then fstat'ed: not a regular file is TYPE_CHANGED; another device/inode,
 * size or mtime than the scan saw is LOCAL_CHANGED (transient). O_NONBLOCK
 * is cleared after the check.
 *
 * Owns: the descriptor and the digest state of one file (rsl_local_src).
 * Must not touch: the state db, the remote (the transport pulls through
 * src.read / pread / start / verify), other files.
 * Threading: one rsl_local_src is used by one thread at a time (the worker
 * running its op, then the main thread once the op is done).
 */
#ifndef RSL_SOURCE_H
#define RSL_SOURCE_H

#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>

#include "base/catalog.h"
#include "throttle.h"
#include "transports/transport.h"

/* The most bytes one read() returns: big reads let a pipelined transport
 * keep many writes in flight. */
#define RSL_SOURCE_READ_MAX (1u << 20)
#define RSL_SOURCE_DIGEST_LEN 32

/* ---- opening beneath the root ---- */

/* Opens the source root (a symlink as the root itself is followed: the
 * job names it). Returns the descriptor, or -1 with err set (SOURCE_MISSING). */
int rsl_source_root_open(const char *root, rsl_err *err);
/* Opens rel beneath rootfd with flags (O_RDONLY, O_PATH, ...) by the one
 * beneath-root rule (base/beneath.h: openat2 where the kernel has it, else a
 * component walk). Returns the descriptor or -1 with errno (ELOOP: a symlink
 * in the path; EXDEV: ".." or an absolute path; ENOENT, ENOTDIR, EACCES as
 * open(2)). */
int rsl_source_open_beneath(int rootfd, const char *rel, int flags);
/* lstat of rel beneath rootfd (its directories resolved as above, the last
 * component not followed). 0, or -1 with errno. */
int rsl_source_lstat_beneath(int rootfd, const char *rel, struct stat *sb);

/* ---- one file ---- */

typedef struct rsl_local_src_cfg {
    int rootfd;           /* rsl_source_root_open */
    rsl_throttle *bw;     /* shared bwlimit, or NULL */
    const rsl_stop *stop; /* the run's stop condition (stop.h), or NULL */
    int64_t *bytes_total; /* bytes read by every source (atomic add), or NULL */
} rsl_local_src_cfg;

typedef struct rsl_local_src {
    rsl_source src; /* what the transport pulls from (src.ud = this) */
    rsl_local_src_cfg cfg;
    const char *name; /* the item's path, for messages (borrowed) */
    const char *rel;  /* the path opened beneath the root (borrowed) */
    uint64_t size;    /* as the scan saw it: */
    int64_t mtime_ns;
    uint64_t dev, ino;
    int fd;          /* -1 until opened */
    uint64_t pos;    /* the next byte read() returns */
    int64_t sent;    /* bytes read() returned, every attempt together */
    void *md;        /* EVP_MD_CTX */
    uint64_t hashed; /* bytes hashed since the last start() */
    /* append: start(head_len) checks that the first head_len bytes still
     * have this digest (HEAD_CHANGED otherwise); head_len 0: no check */
    uint64_t head_len;
    unsigned char head[RSL_SOURCE_DIGEST_LEN];
    int ahead; /* the digest was taken ahead by rsl_local_src_hash_to */
    /* a range of the file only (rsl_local_src_range): [range_off, end) */
    int range;
    uint64_t range_off, end;
} rsl_local_src;

/* Prepares s for the file `name` (opened as `rel`, NULL: name), as the scan
 * saw it. Opens nothing yet. */
void rsl_local_src_init(rsl_local_src *s, const rsl_local_src_cfg *cfg, const char *name,
                        const char *rel, uint64_t size, int64_t mtime_ns, uint64_t dev,
                        uint64_t ino);
/* Makes s the source of bytes [off, off + len) of its file only (one range
 * of a file sent over several connections): start() must be given off and
 * positions read() there without hashing (a range has no digest of its
 * own: the file's is computed once by the finishing op's start(size));
 * read() ends at off + len. Call after rsl_local_src_init. */
void rsl_local_src_range(rsl_local_src *s, uint64_t off, uint64_t len);
/* Hashes the file's bytes up to end (pread, from where the digest is), ahead
 * of start(): a file sent in pieces (ranges.h) gets its digest as its
 * pieces complete, so its FINISH op's start(size) has little left to read.
 * start(offset) continues from there when offset is at or past it. Returns
 * its code (the local file's); on failure start() hashes from zero. */
rsl_code rsl_local_src_hash_to(rsl_local_src *s, uint64_t end, rsl_err *err);
/* Opens and checks the file (start and pread call it when needed). RSL_OK,
 * or LOCAL_VANISHED, TYPE_CHANGED, LOCAL_CHANGED, LOCAL_UNREADABLE with err
 * set. */
rsl_code rsl_local_src_open(rsl_local_src *s, rsl_err *err);
/* The SHA-256 of the content read since the last start(): 1 and out filled
 * when it covers the whole file (size bytes), else 0. Once only. */
int rsl_local_src_digest(rsl_local_src *s, unsigned char out[RSL_SOURCE_DIGEST_LEN]);
/* Closes the file and frees the digest state. NULL-safe, idempotent. */
void rsl_local_src_close(rsl_local_src *s);
/* The next start(len) checks that the file's first len bytes have the
 * SHA-256 `digest` (what the remote holds of a growing file); a mismatch is
 * HEAD_CHANGED, before any byte is read for sending. */
void rsl_local_src_expect_head(rsl_local_src *s, uint64_t len,
                               const unsigned char digest[RSL_SOURCE_DIGEST_LEN]);

/* The SHA-256 of the first len bytes of rel beneath rootfd (the file the
 * scan saw: size, mtime, device and inode are checked as for an upload),
 * read once, without bwlimit (for rename detection: cheap next to sending).
 * RSL_OK with out filled, or the open's code (LOCAL_VANISHED,
 * LOCAL_CHANGED, ...) with err set. */
rsl_code rsl_source_digest(int rootfd, const char *rel, uint64_t size, int64_t mtime_ns,
                           uint64_t dev, uint64_t ino, uint64_t len,
                           unsigned char out[RSL_SOURCE_DIGEST_LEN], rsl_err *err);

#endif
