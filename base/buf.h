/*
 * buf.h - a growable byte buffer with a size cap (for server replies and
 * listings), and a bounded read of a small file (job files, daemon.conf).
 * Owns: the buffer's memory (rsl_buf_free). Must not touch: anything else.
 */
#ifndef RSL_BUF_H
#define RSL_BUF_H

#include <stddef.h>

typedef struct rsl_buf {
    char *p;      /* NUL-terminated after every append; NULL before the first */
    size_t n;     /* bytes held */
    size_t cap;   /* bytes allocated */
    size_t limit; /* most bytes kept (always capped; 0 keeps nothing) */
    int overflow; /* 1 once an append was cut at the limit */
} rsl_buf;

/* Empties the buffer (keeping its memory) and sets its cap. */
void rsl_buf_reset(rsl_buf *b, size_t limit);
/* Appends what fits under the limit; sets overflow if something did not.
 * Returns 0, or -1 when out of memory. */
int rsl_buf_append(rsl_buf *b, const void *data, size_t n);
void rsl_buf_free(rsl_buf *b);

/* Reads a whole file of at most max bytes into a NUL-terminated malloc'd
 * string (caller frees); *len gets its length. NULL with errno set on error,
 * EFBIG when the file is larger than max. */
char *rsl_read_file(const char *path, size_t max, size_t *len);

#endif
