/*
 * spool.h - the plan's items on disk instead of in memory: an unlinked
 * temp file of compact records (about 70 bytes plus the path each), written
 * while the scan runs and read back in order (or in reverse, for deletes)
 * as often as the run needs. A first run of a million files keeps a few
 * buffers in memory, not a million items.
 *
 * Each record is framed by its length at both ends, so a cursor can walk
 * forward or backward. The file lives beside the state db (the disk the
 * operator gave the job's state; private, 0700) or, when that directory is
 * not writable (a dry run of a new job), in $TMPDIR or /tmp. It is unlinked
 * from the start (O_TMPFILE), so nothing is left behind, even after SIGKILL.
 *
 * Owns: the file and its write buffer; each cursor owns its read buffer.
 * Must not touch: the state db, the network. Main thread only.
 */
#ifndef RSL_SPOOL_H
#define RSL_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/catalog.h"
#include "plan.h"

typedef struct rsl_spool rsl_spool;

/* Creates an empty spool in dir (NULL or unusable: $TMPDIR, then /tmp).
 * Returns RSL_OK, or STATE_WRITE with err set. */
rsl_code rsl_spool_open(rsl_spool **out, const char *dir, rsl_err *err);
void rsl_spool_free(rsl_spool *s);
/* Appends one item (path, src_rel, from and target copied). STATE_WRITE
 * when the disk is full. Not after rsl_spool_seal. */
rsl_code rsl_spool_put(rsl_spool *s, const rsl_item *it, rsl_err *err);
/* Flushes what is buffered; cursors read only a sealed spool. */
rsl_code rsl_spool_seal(rsl_spool *s, rsl_err *err);
/* Records appended. */
uint64_t rsl_spool_count(const rsl_spool *s);

#define RSL_SPOOL_BUFSZ (64u << 10)

typedef struct rsl_spool_cursor {
    const rsl_spool *s;
    int backward;
    uint64_t off; /* forward: next record starts here; backward: previous one ends here */
    uint64_t idx; /* the index of the record next() returns next (0-based, spool order) */
    unsigned char *buf;
    uint64_t buf_off; /* file offset of buf[0] */
    size_t buf_len;
    char *path, *src_rel, *from, *target; /* the last record's strings (owned by the cursor) */
    size_t path_cap, src_cap, from_cap, target_cap;
} rsl_spool_cursor;

/* A cursor at the start (backward: at the end) of a sealed spool. */
rsl_code rsl_spool_cursor_init(rsl_spool_cursor *c, const rsl_spool *s, int backward, rsl_err *err);
void rsl_spool_cursor_free(rsl_spool_cursor *c);
/* The next record: 1 with *it filled (its strings valid until the next call)
 * and *idx its index in the spool (may be NULL), 0 at the end, -1 on error
 * (STATE_IO, err set). */
int rsl_spool_next(rsl_spool_cursor *c, rsl_item *it, uint64_t *idx, rsl_err *err);

#endif
