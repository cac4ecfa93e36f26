/*
 * throttle.h - the bandwidth limit (bwlimit): one token bucket shared by
 * every worker of a run. Each read of an upload source takes its bytes from
 * the bucket and, when the bucket is empty, sleeps with
 * clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) to the exact moment its
 * bytes are paid for.
 *
 * The bucket fills at `rate` bytes/s up to `burst` bytes: at most ~10 ms
 * worth of tokens (RSL_THROTTLE_BURST_SEC), and never less than one read
 * (slice). A read takes at most one slice. Takers go into debt in the order
 * they arrive (under the lock), so each one's deadline comes after the
 * previous one's: a FIFO, fair across workers, and exact in the long run (a
 * wake-up later than the deadline loses no budget as long as it is late by
 * less than the bucket holds: the schedule is virtual).
 *
 * Owns: the bucket. Must not touch: files, connections, the state db.
 * Threading: rsl_throttle_take and rsl_throttle_reserve are thread-safe.
 */
#ifndef RSL_THROTTLE_H
#define RSL_THROTTLE_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "stop.h"

/* Tokens the bucket holds at most, in seconds of the rate. */
#define RSL_THROTTLE_BURST_SEC 0.010
/* The smallest read a limited source makes (a slow limit still reads whole
 * pages, paid for with a longer wait). */
#define RSL_THROTTLE_MIN_SLICE 4096

typedef struct rsl_throttle {
    pthread_mutex_t mu;
    uint64_t rate; /* bytes/s; 0 = unlimited */
    size_t slice;  /* most bytes one take gets */
    double burst;  /* bucket size in bytes */
    double tokens; /* bytes in the bucket at `last`; negative: debt */
    double last;   /* monotonic seconds of the last update; < 0: never */
} rsl_throttle;

/* max_read: the largest read the caller makes (the slice never exceeds it). */
void rsl_throttle_init(rsl_throttle *t, uint64_t rate, size_t max_read);
void rsl_throttle_destroy(rsl_throttle *t);

/* The most bytes one read may take: n when unlimited, else at most a slice. */
size_t rsl_throttle_slice(const rsl_throttle *t, size_t n);

/* Pure arithmetic (no clock, no sleep): takes n bytes at monotonic time
 * `now` and returns the monotonic time at which they may be sent (<= now:
 * at once). Unit-tested with made-up times. */
double rsl_throttle_reserve(rsl_throttle *t, size_t n, double now);

/* Takes up to n bytes (returns how many: a slice at most) and sleeps until
 * they are paid for. Returns 0 without sleeping to the end when the run
 * stops (stop.h; stop may be NULL); the bytes taken are then spent. */
size_t rsl_throttle_take(rsl_throttle *t, size_t n, const rsl_stop *stop);

/* Monotonic seconds. */
double rsl_throttle_now(void);
/* Sleeps until monotonic time `deadline` (absolute), waking every 100 ms to
 * look at the stop condition (may be NULL). Returns 0, or -1 when the run
 * stops. */
int rsl_throttle_sleep_until(double deadline, const rsl_stop *stop);

#endif
