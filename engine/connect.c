/*
 * connect.c - a run's connections. See connect.h.
 */
#include "connect.h"

#include "run_ctx.h"

static void t_log(void *ud, int level, const char *msg)
{
    rsl_run *r = ud;
    if (r->o->on_log)
        r->o->on_log(r->o->ud, level, msg);
}

static int t_cache_get(void *ud, const char *key, char *buf, size_t bufsz)
{
    rsl_run *r = ud;
    return rsl_facts_get(&r->facts, key, buf, bufsz);
}

static void t_cache_set(void *ud, const char *key, const char *value)
{
    rsl_run *r = ud;
    rsl_facts_set(&r->facts, key, value);
}

/* The remote check's paths, to the first connection that asks once they
 * are drawn (rsl_connect_publish_early). */
static size_t t_early_stat(void *ud, const char *const **paths)
{
    rsl_run *r = ud;
    size_t n = 0;
    pthread_mutex_lock(&r->early_mu);
    if (r->early != NULL && !r->early_given) {
        r->early_given = 1;
        *paths = r->early;
        n = r->n_early;
    }
    pthread_mutex_unlock(&r->early_mu);
    return n;
}

void rsl_connect_publish_early(rsl_run *r)
{
    size_t n = 0;
    const char *const *p = rsl_rcheck_early(&r->rcheck, &n);
    pthread_mutex_lock(&r->early_mu);
    r->early = p;
    r->n_early = n;
    pthread_mutex_unlock(&r->early_mu);
}

rsl_code rsl_connect_setup(rsl_run *r, rsl_err *err)
{
    rsl_code rc = rsl_remote_init(&r->rm, r->job, 0, err);
    if (rc != RSL_OK)
        return rc;
    r->ops = r->rm.ops;
    r->rm.opts.log = t_log;
    r->rm.opts.cache_get = t_cache_get;
    r->rm.opts.cache_set = t_cache_set;
    r->rm.opts.early_stat = t_early_stat;
    r->rm.opts.ud = r;
    return RSL_OK;
}

rsl_code rsl_connect_open(rsl_run *r, rsl_conn **out, rsl_err *err)
{
    return rsl_remote_connect(&r->rm, out, err);
}

rsl_code rsl_connect_again(rsl_run *r, rsl_conn **conn, rsl_err *err)
{
    r->ops->disconnect(*conn);
    *conn = NULL;
    rsl_code rc = RSL_E_CONNECTION_LOST;
    for (int i = 0; i < r->retry.max_attempts && !rsl_run_cancelled(r); i++) {
        rsl_run_sleep(r, (double)rsl_retry_delay_ms(&r->retry, i) / 1000.0);
        rc = rsl_connect_open(r, conn, err);
        if (rc == RSL_OK || !rsl_retry_reconnects(rc))
            return rc;
    }
    int why = rsl_stop_check(&r->stop);
    if (why != RSL_STOP_NO)
        rc = rsl_err_set(err, rsl_stop_code(why), 0, "%s while reconnecting",
                         why == RSL_STOP_CANCEL ? "interrupted" : "max_run_time reached");
    return rc;
}
