/*
 * retry.c - the retry policy. See retry.h.
 */
#include "retry.h"

#include <stddef.h>

rsl_retry_policy rsl_retry_default(void)
{
    return (rsl_retry_policy){.max_attempts = RSL_RETRY_MAX_ATTEMPTS,
                              .first_delay_ms = RSL_RETRY_FIRST_DELAY_MS};
}

int rsl_retry_reconnects(rsl_code rc)
{
    return rsl_code_reconnects(rc);
}

int rsl_retry_stops_run(rsl_code rc)
{
    return rc != RSL_OK && rsl_code_handling(rc) == RSL_HANDLE_STOP;
}

int64_t rsl_retry_delay_ms(const rsl_retry_policy *p, int i)
{
    int64_t d = p->first_delay_ms;
    for (int k = 0; k < i && d < RSL_RETRY_ITEM_MAX_MS; k++)
        d *= 2;
    return d;
}

int64_t rsl_retry_next_ms(rsl_class cls, int attempts, int64_t now_ms)
{
    if (cls != RSL_CLASS_PERSISTENT)
        return now_ms;
    int64_t d = RSL_RETRY_ITEM_MIN_MS;
    for (int i = 1; i < attempts && d < RSL_RETRY_ITEM_MAX_MS; i++)
        d *= 2;
    if (d > RSL_RETRY_ITEM_MAX_MS)
        d = RSL_RETRY_ITEM_MAX_MS;
    return now_ms + d;
}

int rsl_retry_is_deferred(const rsl_failure *f, uint64_t size, int64_t mtime_ns, int64_t now_ms)
{
    if (f == NULL || rsl_code_class((rsl_code)f->code) != RSL_CLASS_PERSISTENT)
        return 0;
    if (f->local_size != size || f->local_mtime_ns != mtime_ns)
        return 0; /* the file changed: retry now */
    return now_ms < f->next_retry_ms;
}
