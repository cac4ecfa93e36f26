/*
 * dircache.h - the per-connection cache of remote directories known to
 * exist, so mkdir of a directory made (or found) before costs no round trip.
 *
 * The rule, the same for every transport:
 *   - remember a directory once mkdir created it or found it there;
 *   - forget a directory and everything under it when the transport removes
 *     it, or when an operation on an item inside it answers "not found"
 *     (someone removed it behind our back: the next mkdir creates it again);
 *   - a new connection starts with an empty cache (after a reconnect nothing
 *     is assumed).
 * Paths are the transport's "rel" paths ('/'-separated, no leading '/');
 * "" (the root) is never stored: it always exists.
 *
 * A cache: failing to remember (out of memory) only costs a round trip later,
 * so adding never fails.
 *
 * Owns: its strings and table (rsl_dircache_clear). Must not touch: the
 * network. One cache belongs to one connection (no locking).
 */
#ifndef RSL_TRANSPORT_DIRCACHE_H
#define RSL_TRANSPORT_DIRCACHE_H

#include <stddef.h>

typedef struct rsl_dircache {
    char **slot; /* open addressing; NULL = empty */
    size_t cap;  /* 0 or a power of two */
    size_t n;
} rsl_dircache; /* zero-initialised = empty */

/* 1 if rel is known to exist. */
int rsl_dircache_has(const rsl_dircache *d, const char *rel);
/* Remembers rel (best effort). */
void rsl_dircache_add(rsl_dircache *d, const char *rel);
/* Forgets rel and every cached directory under it. */
void rsl_dircache_forget(rsl_dircache *d, const char *rel);
/* An operation on item rel answered "not found": forgets rel's parent
 * directory and everything under it. */
void rsl_dircache_missing(rsl_dircache *d, const char *rel);
/* Forgets everything and frees the table (the cache stays usable). */
void rsl_dircache_clear(rsl_dircache *d);

#endif
