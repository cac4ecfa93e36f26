/*
 * spans.h - byte ranges of one file: the set of ranges of a temp file that
 * are written and acknowledged (the upload record's `done` column,
 * "START-END[,START-END...]", END exclusive, ascending, no overlap), and
 * the pieces a big file is cut into to go over several connections.
 *
 * Owns: the text format of `done` (parse, format) and the arithmetic of a
 * set of ranges (add, remove, coverage), and the size of a piece. Pure: no
 * I/O, no state db, no threads; unit-tested in tests/engine/test_spans.c.
 */
#ifndef RSL_SPANS_H
#define RSL_SPANS_H

#include <stddef.h>
#include <stdint.h>

/* A range of bytes [off, end). */
typedef struct rsl_span {
    uint64_t off, end;
} rsl_span;

/* A set of ranges, kept sorted and merged (adjacent ranges become one). */
typedef struct rsl_spans {
    rsl_span *v;
    size_t n, cap;
} rsl_spans;

/* Pieces of a file at least this big, at most RSL_SPAN_PIECE_MAX. */
#define RSL_SPAN_PIECE_MIN (16ull << 20)
#define RSL_SPAN_PIECE_MAX (64ull << 20)
/* Pieces per connection a file is cut into when that stays within the
 * bounds above: enough for the connections to finish together, few enough
 * that each piece's round trips (open, last acknowledgements) stay small
 * next to its bytes. */
#define RSL_SPAN_PIECES_PER_CONN 4

void rsl_spans_init(rsl_spans *s);
void rsl_spans_free(rsl_spans *s);
/* Parses text (the `done` format) for a file of size bytes into s (emptied
 * first). "" is the empty set. Returns 0, or -1 when the text is not in
 * the format, a range is empty or reversed, overlaps or is out of order,
 * or ends beyond size (s is then empty): such a record is not trusted. */
int rsl_spans_parse(rsl_spans *s, const char *text, uint64_t size);
/* Adds [off, end) (off < end), merging. Returns 0, or -1 when out of memory. */
int rsl_spans_add(rsl_spans *s, uint64_t off, uint64_t end);
/* Removes [off, end) from the set. Returns 0, or -1 when out of memory. */
int rsl_spans_remove(rsl_spans *s, uint64_t off, uint64_t end);
/* 1 when [off, end) is wholly in the set. */
int rsl_spans_covers(const rsl_spans *s, uint64_t off, uint64_t end);
/* The bytes the set holds. */
uint64_t rsl_spans_bytes(const rsl_spans *s);
/* The set in the `done` format ("" when empty); the caller frees it. NULL
 * when out of memory. */
char *rsl_spans_format(const rsl_spans *s);

/* The piece size for a file of size bytes over conns connections:
 * size / (conns * RSL_SPAN_PIECES_PER_CONN), rounded up to a MiB, within
 * [RSL_SPAN_PIECE_MIN, RSL_SPAN_PIECE_MAX]. */
uint64_t rsl_spans_piece(uint64_t size, int conns);

#endif
