/*
 * throttle.c - the shared token bucket. See throttle.h.
 */
#include "throttle.h"

#include <errno.h>
#include <time.h>

void rsl_throttle_init(rsl_throttle *t, uint64_t rate, size_t max_read)
{
    pthread_mutex_init(&t->mu, NULL);
    t->rate = rate;
    double per_burst = (double)rate * RSL_THROTTLE_BURST_SEC;
    size_t slice = per_burst < RSL_THROTTLE_MIN_SLICE ? RSL_THROTTLE_MIN_SLICE : (size_t)per_burst;
    if (max_read > 0 && slice > max_read)
        slice = max_read;
    t->slice = slice;
    t->burst = per_burst > (double)slice ? per_burst : (double)slice;
    t->tokens = t->burst; /* a full bucket at the start */
    t->last = -1;
}

void rsl_throttle_destroy(rsl_throttle *t)
{
    pthread_mutex_destroy(&t->mu);
}

size_t rsl_throttle_slice(const rsl_throttle *t, size_t n)
{
    if (t->rate == 0 || n <= t->slice)
        return n;
    return t->slice;
}

double rsl_throttle_reserve(rsl_throttle *t, size_t n, double now)
{
    if (t->rate == 0)
        return now;
    pthread_mutex_lock(&t->mu);
    if (t->last >= 0 && now > t->last)
        t->tokens += (now - t->last) * (double)t->rate;
    if (t->last < 0 || now > t->last)
        t->last = now;
    if (t->tokens > t->burst)
        t->tokens = t->burst;
    t->tokens -= (double)n;
    /* in debt: the bytes are paid for once the bucket is back at zero */
    double at = t->tokens >= 0 ? now : t->last + -t->tokens / (double)t->rate;
    pthread_mutex_unlock(&t->mu);
    return at;
}

double rsl_throttle_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec to_ts(double t)
{
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    } else if (ts.tv_nsec < 0) {
        ts.tv_nsec = 0;
    }
    return ts;
}

int rsl_throttle_sleep_until(double deadline, const rsl_stop *stop)
{
    for (;;) {
        if (rsl_stop_check(stop))
            return -1;
        double now = rsl_throttle_now();
        if (now >= deadline)
            return 0;
        /* the exact deadline, or a look at the stop condition every 100 ms */
        double until = deadline - now > 0.1 ? now + 0.1 : deadline;
        struct timespec ts = to_ts(until);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            if (rsl_stop_check(stop))
                return -1;
    }
}

size_t rsl_throttle_take(rsl_throttle *t, size_t n, const rsl_stop *stop)
{
    if (t->rate == 0 || n == 0)
        return n;
    n = rsl_throttle_slice(t, n);
    double at = rsl_throttle_reserve(t, n, rsl_throttle_now());
    if (rsl_throttle_sleep_until(at, stop) != 0)
        return 0;
    return n;
}
