/*
 * stop.c - a run's stop condition. See stop.h.
 */
#include "stop.h"

#include <time.h>

double rsl_stop_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int rsl_stop_check(const rsl_stop *s)
{
    if (s == NULL)
        return RSL_STOP_NO;
    if (s->cancel && __atomic_load_n(s->cancel, __ATOMIC_RELAXED))
        return RSL_STOP_CANCEL;
    if (s->deadline > 0 && rsl_stop_mono() >= s->deadline)
        return RSL_STOP_DEADLINE;
    return RSL_STOP_NO;
}

rsl_code rsl_stop_code(int why)
{
    return why == RSL_STOP_CANCEL     ? RSL_E_INTERRUPTED
           : why == RSL_STOP_DEADLINE ? RSL_E_RUN_TIME_EXCEEDED
                                      : RSL_OK;
}
