/*
 * run_ctx.c - helpers shared by the engine's modules. See run_ctx.h.
 */
#include "run_ctx.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int64_t rsl_run_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double rsl_run_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int rsl_run_cancelled(const rsl_run *r)
{
    return rsl_stop_check(&r->stop) != RSL_STOP_NO;
}

void rsl_run_sleep(const rsl_run *r, double secs)
{
    rsl_throttle_sleep_until(rsl_throttle_now() + secs, &r->stop);
}

void rsl_run_log(const rsl_run *r, int level, const char *fmt, ...)
{
    if (r->o->on_log == NULL)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    r->o->on_log(r->o->ud, level, buf);
}

void rsl_run_session_error(rsl_run *r, rsl_code code, const char *msg)
{
    if (r->session_failed)
        return;
    r->session_failed = 1;
    rsl_err_set(&r->session_err, code, 0, "%s", msg);
    rsl_queue_stop(&r->q); /* the workers take no queued op from now on */
}

int rsl_run_stopping(const rsl_run *r)
{
    return r->session_failed || rsl_run_cancelled(r);
}
