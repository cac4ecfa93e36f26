/*
 * throttle.h - the bandwidth limit (bwlimit), one budget shared by every
 * worker of a run: each read of the upload source reserves its bytes and
 * learns how long to wait before sending them.
 *
 * Owns: the shared schedule (when the next byte may go). Must not touch:
 * files, connections, the state db. It never sleeps itself: the caller waits
 * (cancellably) for the time it is given.
 * Threading: rsl_throttle_reserve is thread-safe.
 */
#ifndef RSL_THROTTLE_H
#define RSL_THROTTLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rsl_throttle {
    pthread_mutex_t mu;
    uint64_t rate; /* bytes/s; 0 = unlimited */
    double next;   /* monotonic time at which the budget is free again */
} rsl_throttle;

void rsl_throttle_init(rsl_throttle *t, uint64_t rate);
void rsl_throttle_destroy(rsl_throttle *t);
/* The most bytes one read may take at once: a tenth of a second's worth (at
 * least 4 KiB), so the wait stays smooth; n when unlimited. */
size_t rsl_throttle_slice(const rsl_throttle *t, size_t n);
/* Reserves n bytes at monotonic time `now`; returns how many seconds the
 * caller must wait before sending them (0 when unlimited or on schedule). */
double rsl_throttle_reserve(rsl_throttle *t, size_t n, double now);

#endif
