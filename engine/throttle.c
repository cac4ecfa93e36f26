/*
 * throttle.c - the shared bandwidth budget. See throttle.h.
 */
#include "throttle.h"

void rsl_throttle_init(rsl_throttle *t, uint64_t rate)
{
    pthread_mutex_init(&t->mu, NULL);
    t->rate = rate;
    t->next = 0;
}

void rsl_throttle_destroy(rsl_throttle *t)
{
    pthread_mutex_destroy(&t->mu);
}

size_t rsl_throttle_slice(const rsl_throttle *t, size_t n)
{
    if (t->rate == 0)
        return n;
    size_t slice = (size_t)(t->rate / 10);
    if (slice < 4096)
        slice = 4096;
    return n > slice ? slice : n;
}

double rsl_throttle_reserve(rsl_throttle *t, size_t n, double now)
{
    if (t->rate == 0)
        return 0;
    pthread_mutex_lock(&t->mu);
    double start = t->next > now ? t->next : now;
    t->next = start + (double)n / (double)t->rate;
    pthread_mutex_unlock(&t->mu);
    return start - now;
}
