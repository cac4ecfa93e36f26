/*
 * buf.h - a growable byte buffer with a size cap (for server replies and
 * listings), and a bounded read of a small file (job files, daemon.conf).
 *
 * The cap is never silent: an append that does not fit keeps what fits, sets
 * `truncated` and returns RSL_BUF_TRUNCATED, and the caller must say so (a
 * server reply longer than the cap is a protocol error naming the cap, a file
 * larger than its cap is refused). rsl_buf_append is warn_unused_result.
 *
 * Owns: the buffer's memory (rsl_buf_free). Must not touch: anything else.
 */
#ifndef RSL_BUF_H
#define RSL_BUF_H

#include <stddef.h>

typedef struct rsl_buf {
    char *p;       /* NUL-terminated after every append; NULL before the first */
    size_t n;      /* bytes held */
    size_t cap;    /* bytes allocated */
    size_t limit;  /* most bytes kept (always capped; 0 keeps nothing) */
    int truncated; /* 1 once an append was cut at the limit (until reset) */
} rsl_buf;

/* rsl_buf_append's results. */
enum {
    RSL_BUF_OK = 0,        /* everything was appended */
    RSL_BUF_TRUNCATED = 1, /* only what fits under the limit was kept */
    RSL_BUF_NOMEM = -1     /* out of memory: nothing was appended */
};

/* Empties the buffer (keeping its memory), clears `truncated`, sets the cap. */
void rsl_buf_reset(rsl_buf *b, size_t limit);
/* Appends what fits under the limit. Returns RSL_BUF_OK, RSL_BUF_TRUNCATED
 * (and sets b->truncated) when bytes beyond the limit were dropped, or
 * RSL_BUF_NOMEM. */
int rsl_buf_append(rsl_buf *b, const void *data, size_t n) __attribute__((warn_unused_result));
void rsl_buf_free(rsl_buf *b);

/* Reads a whole file of at most max bytes into a NUL-terminated malloc'd
 * string (caller frees); *len gets its length. NULL with errno set on error,
 * EFBIG when the file is larger than max (never a cut copy). */
char *rsl_read_file(const char *path, size_t max, size_t *len);

#endif
