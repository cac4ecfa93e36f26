/*
 * workers.c - the worker pool. See workers.h.
 */
#include "workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "connect.h"
#include "preconnect.h"
#include "ranges.h"
#include "run_ctx.h"
#include "spans.h"
#include "transports/xfer.h"

typedef struct worker {
    rsl_run *r;
    rsl_qworker qw;
    rsl_conn *conn;
    pthread_t th;
    int started;
} worker;

struct rsl_workers {
    rsl_run *r;
    worker *w;
    int n;
};

int rsl_workers_window(int n)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)n * RSL_PIPE_WINDOW + 64;
    if (n < 1 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return RSL_PIPE_WINDOW;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        struct rlimit nl = {want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
            rl.rlim_cur = want;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return RSL_PIPE_WINDOW;
    long w = ((long)rl.rlim_cur - 64) / n;
    return w < 1 ? 1 : (int)w;
}

int rsl_workers_size(rsl_run *r)
{
    const rsl_job *job = r->job;
    const rsl_plan *p = &r->plan;
    int no_mux = (r->caps & RSL_CAP_NO_MULTIPLEX) != 0;
    int cap = job->max_connections > 0 ? job->max_connections : RSL_DEFAULT_MAX_CONNECTIONS;
    int n = job->transfers < 1 ? 1 : job->transfers;
    if (no_mux && p->n_files > 0 && p->bytes_to_send / (uint64_t)p->n_files < RSL_SMALL_FILES_MEAN)
        n *= RSL_SMALL_FILES_FACTOR;
    if (n > cap)
        n = cap;
    if (n > RSL_QUEUE_MAX_WORKERS)
        n = RSL_QUEUE_MAX_WORKERS;
    /* items a directory's move carries need no connection of their own */
    int64_t ops = p->n_items - p->n_covered + p->n_replace_del + (int64_t)p->stale_temps.n +
                  (job->delete_ ? p->n_deletes : 0);
    if ((r->caps & RSL_CAP_WRITE_AT) && job->multi_connection_min > 0 &&
        p->bytes_to_send >= job->multi_connection_min && rsl_ranges_link_long(r))
        ops += (int64_t)(p->bytes_to_send /
                         (r->o->piece_size ? r->o->piece_size : RSL_SPAN_PIECE_MIN));
    if (ops < n)
        n = ops < 1 ? 1 : (int)ops;
    r->conns = n;
    /* without multiplexing a connection runs one op at a time: a deeper
     * window would only hold ops back from the other connections */
    r->q.window = no_mux ? 1 : rsl_workers_window(n);
    r->q.cap = (size_t)n * (size_t)(no_mux ? 8 : r->q.window);
    return n;
}

/* One pass of the transport over the feed. */
static rsl_code run_feed(worker *w, rsl_err *err)
{
    const rsl_transport_ops *ops = w->r->ops;
    rsl_feed feed = rsl_queue_feed(&w->qw);
    rsl_err_clear(err);
    rsl_code rc =
        ops->run ? ops->run(w->conn, &feed, err) : rsl_xfer_run_serial(ops, w->conn, &feed, err);
    if (w->qw.taken) /* a transport must complete what it took; if not, do it here */
        rsl_queue_reclaim(&w->qw, err);
    return rc;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    rsl_run *r = w->r;
    rsl_queue *q = &r->q;
    rsl_err err;
    rsl_err_clear(&err);
    rsl_code crc = RSL_OK;
    if (w->conn == NULL && !rsl_preconn_next(r->pre, &w->conn, &crc, &err))
        crc = rsl_connect_open(r, &w->conn, &err); /* none opened ahead for it */
    if (crc != RSL_OK) {
        if (err.code == RSL_E_REMOTE_BUSY) /* back off: the others go on */
            rsl_run_log(r, RSL_LOG_INFO,
                        "the server refused connection %d as busy (%s); going on with fewer",
                        w->qw.id + 1, err.msg);
        else
            rsl_queue_event(q, RSL_QEV_DEAD, w->qw.id, &err);
        goto out;
    }
    for (;;) {
        rsl_code rc = run_feed(w, &err);
        if (rc == RSL_OK)
            break; /* the stream ended */
        if (!rsl_retry_reconnects(rc)) {
            if (rc != RSL_E_INTERRUPTED)
                rsl_queue_event(q, RSL_QEV_STOP, w->qw.id, &err);
            break;
        }
        /* reconnect once there is work for the connection */
        r->ops->disconnect(w->conn);
        w->conn = NULL;
        if (!rsl_queue_wait_work(&w->qw))
            break;
        rsl_run_log(r, RSL_LOG_WARN, "%s; reconnecting", err.msg);
        if (rsl_connect_again(r, &w->conn, &err) != RSL_OK) {
            rsl_queue_event(q, RSL_QEV_DEAD, w->qw.id, &err);
            break;
        }
    }
out:
    rsl_queue_worker_exit(q);
    return NULL;
}

rsl_code rsl_workers_start(rsl_workers **out, rsl_run *r, int n, rsl_conn **conn0, rsl_err *err)
{
    *out = NULL;
    rsl_workers *ws = calloc(1, sizeof(*ws));
    if (ws == NULL || (ws->w = calloc((size_t)n, sizeof(*ws->w))) == NULL) {
        free(ws);
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    }
    ws->r = r;
    ws->n = n;
    rsl_queue_set_running(&r->q, n);
    int started = 0;
    for (int i = 0; i < n; i++) {
        worker *w = &ws->w[i];
        *w = (worker){.r = r, .qw = {.q = &r->q, .id = i}};
        if (i == 0) {
            w->conn = *conn0;
            *conn0 = NULL;
        }
        if (pthread_create(&w->th, NULL, worker_main, w) == 0) {
            w->started = 1;
            started++;
        } else {
            rsl_queue_worker_exit(&r->q);
        }
    }
    *out = ws;
    if (started == 0)
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "cannot start a transfer thread");
    return RSL_OK;
}

void rsl_workers_join(rsl_workers *ws)
{
    if (ws == NULL)
        return;
    for (int i = 0; i < ws->n; i++) {
        if (ws->w[i].started)
            pthread_join(ws->w[i].th, NULL);
        if (ws->w[i].conn)
            ws->r->ops->disconnect(ws->w[i].conn);
    }
    free(ws->w);
    free(ws);
}
