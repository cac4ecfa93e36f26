/*
 * https_run.c - the pipelined run() of the https transport. See
 * https_run.h.
 */
#include "https_run.h"

#include <stdio.h>
#include <string.h>

#include "https_ops.h"

enum { F_BIG = 1, F_WAITING = 2 };

typedef struct run {
    rsl_conn *c;
    const rsl_feed *feed;
    rsl_https_op *head, *tail; /* taken, not yet done (in the order taken) */
    int n, big, window;
    int broken;
    rsl_err berr;
    unsigned long done_ok, done_failed;
} run;

static void unlink_op(run *r, rsl_https_op *h)
{
    rsl_https_op *prev = NULL;
    for (rsl_https_op *p = r->head; p != NULL; prev = p, p = p->next) {
        if (p != h)
            continue;
        if (prev)
            prev->next = p->next;
        else
            r->head = p->next;
        if (r->tail == p)
            r->tail = prev;
        p->next = NULL;
        return;
    }
}

/* An operation completed: out of the window, to the engine. A code of the
 * SESSION class means the connection (or the session) is gone. */
static void op_done(rsl_https_op *h)
{
    run *r = h->ud;
    rsl_op *op = h->op;
    unlink_op(r, h);
    r->n--;
    if (h->flags & F_BIG)
        r->big--;
    if (op->err.code != RSL_OK && rsl_code_class(op->err.code) == RSL_CLASS_SESSION && !r->broken) {
        r->broken = 1;
        r->berr = op->err;
    }
    if (op->err.code == RSL_OK)
        r->done_ok++;
    else
        r->done_failed++;
    rsl_https_op_free(h);
    r->feed->done(r->feed->ud, op);
}

static int is_big(const rsl_op *op)
{
    return (op->kind == RSL_OP_PUT && op->size > RSL_HTTPS_BIG_SIZE) ||
           (op->kind == RSL_OP_APPEND && op->size - op->old_size > RSL_HTTPS_BIG_SIZE);
}

static void take(run *r, rsl_op *op)
{
    rsl_err_clear(&op->err);
    op->sent = 0;
    rsl_https_op *h = rsl_https_op_new(r->c, op,
                                       RSL_HTTPS_PH_RESUME | RSL_HTTPS_PH_SEND |
                                           RSL_HTTPS_PH_FINISH | RSL_HTTPS_PH_PIPE);
    if (h == NULL) {
        rsl_err_set(&op->err, RSL_E_NO_MEMORY, 0, "out of memory");
        if (!r->broken) {
            r->broken = 1;
            r->berr = op->err;
        }
        r->feed->done(r->feed->ud, op);
        return;
    }
    h->done = op_done;
    h->ud = r;
    if (r->tail)
        r->tail->next = h;
    else
        r->head = h;
    r->tail = h;
    r->n++;
    if (is_big(op)) {
        h->flags = F_BIG | F_WAITING;
        return; /* started by start_waiting when a slot is free */
    }
    rsl_https_op_start(h);
}

/* Starts waiting large PUTs while slots are free (oldest first). */
static void start_waiting(run *r)
{
    for (;;) {
        rsl_https_op *h = r->head;
        while (h != NULL && !(h->flags & F_WAITING))
            h = h->next;
        if (h == NULL || r->big >= RSL_HTTPS_BIG_MAX || r->broken)
            return;
        h->flags &= ~F_WAITING;
        r->big++;
        rsl_https_op_start(h); /* may complete (and unlink h) at once */
    }
}

/* The connection failed: every operation taken completes with its code. */
static void abort_all(run *r)
{
    rsl_https_op *h;
    while ((h = r->head) != NULL) {
        rsl_op *op = h->op;
        r->head = h->next;
        rsl_https_op_free(h); /* takes its request out of the multi handle */
        op->err = r->berr;
        snprintf(op->err.msg, sizeof(op->err.msg), "%s '%.100s' not done: %.380s",
                 rsl_op_kind_name(op->kind), op->path, r->berr.msg);
        r->done_failed++;
        r->feed->done(r->feed->ud, op);
    }
    r->tail = NULL;
    r->n = r->big = 0;
}

/* One TCP connection carrying many streams over HTTP/2; over HTTP/1.1, as
 * many kept-alive connections as the window. */
static int configure(rsl_conn *c)
{
    int h2 = c->http_version == CURL_HTTP_VERSION_2_0;
    int window = h2 ? RSL_HTTPS_WINDOW_H2 : RSL_HTTPS_WINDOW_H1;
    long conns = h2 ? 1 : RSL_HTTPS_WINDOW_H1;
    curl_multi_setopt(c->m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (c->max_host_conns != conns) {
        curl_multi_setopt(c->m, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
        c->max_host_conns = (int)conns;
    }
    return window;
}

rsl_code rsl_https_run(rsl_conn *c, const rsl_feed *feed, rsl_err *err)
{
    run r = {.c = c, .feed = feed};
    r.window = configure(c);
    unsigned long conns0 = c->nconnects;
    for (;;) {
        int cancelled = feed->cancelled != NULL && feed->cancelled(feed->ud);
        start_waiting(&r);
        while (!r.broken && !cancelled && r.n < r.window) {
            rsl_op *op = feed->next(feed->ud, r.n == 0);
            if (op == NULL)
                break;
            take(&r, op);
        }
        if (r.broken || r.n == 0)
            break; /* the feed ended, or it was cancelled with nothing in flight */
        rsl_err e;
        rsl_err_clear(&e);
        if (rsl_https_step(c, r.n < r.window ? 20 : 1000, &e) != RSL_OK && !r.broken) {
            r.broken = 1;
            r.berr = e;
        }
    }
    if (r.broken)
        abort_all(&r);
    rsl_https_log(c, RSL_LOG_DEBUG,
                  "%s: run: %lu operation(s) done, %lu failed, over %s with a window of %d; %lu "
                  "new connection(s)",
                  c->host, r.done_ok, r.done_failed,
                  c->http_version == CURL_HTTP_VERSION_2_0 ? "HTTP/2" : "HTTP/1.1", r.window,
                  c->nconnects - conns0);
    if (!r.broken)
        return RSL_OK;
    *err = r.berr;
    return r.berr.code;
}
