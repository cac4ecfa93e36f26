/*
 * ranges.c - one big file over several connections. See ranges.h.
 */
#include "ranges.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "recorder.h"
#include "run_ctx.h"
#include "spans.h"
#include "upload.h"

typedef struct rsl_piece {
    uint64_t off, len;
    int check; /* written by an earlier run: compare sampled blocks, send nothing */
} rsl_piece;

typedef struct rsl_ranges rsl_ranges;

struct rsl_ranges {
    rsl_spans done; /* pieces written and acknowledged (the record's `done`) */
    rsl_piece *p;   /* the pieces, fed in order from `next` */
    size_t n, cap, next;
    size_t busy;     /* RANGE tasks not finished (queued or in flight) */
    size_t max_busy; /* at most this many at once: one per connection */
    int64_t sent;    /* bytes the pieces sent */
    rsl_err fail;    /* the first failure: no new piece once set */
};

/* The fact that remembers the link: "link:" + the destination URL. */
static void link_key(const rsl_run *r, char *k, size_t n)
{
    snprintf(k, n, "link:%s", r->job->destination ? r->job->destination : "");
}

int rsl_ranges_link_was_short(rsl_run *r)
{
    char k[4200], v[16];
    link_key(r, k, sizeof(k));
    return rsl_facts_get(&r->facts, k, v, sizeof(v)) && strcmp(v, "short") == 0;
}

void rsl_ranges_probe_link(rsl_run *r, rsl_conn *conn)
{
    uint64_t min = r->job->multi_connection_min;
    if (r->ops->link_rtt_us == NULL || min == 0 || r->plan.biggest < min ||
        !(r->caps & RSL_CAP_WRITE_AT))
        return;
    r->link_rtt_us = r->ops->link_rtt_us(conn);
    if (r->link_rtt_us < 0)
        return;
    char k[4200];
    link_key(r, k, sizeof(k));
    rsl_facts_set(&r->facts, k, rsl_ranges_link_long(r) ? "long" : "short");
    rsl_run_log(r, RSL_LOG_INFO, "the link's round trip is %.1f ms: big files %s (cut from %d ms)",
                (double)r->link_rtt_us / 1000.0,
                rsl_ranges_link_long(r) ? "are cut over several connections"
                                        : "go whole over one connection each",
                RSL_RANGES_MIN_RTT_US / 1000);
}

int rsl_ranges_link_long(const rsl_run *r)
{
    return r->link_rtt_us < 0 || r->link_rtt_us >= RSL_RANGES_MIN_RTT_US;
}

int rsl_ranges_wanted(const rsl_run *r, const rsl_item *it)
{
    uint64_t min = r->job->multi_connection_min;
    if (min == 0 || it->size < min || !(r->caps & RSL_CAP_WRITE_AT) || r->conns < 2 ||
        !rsl_ranges_link_long(r))
        return 0;
    uint64_t piece = r->o->piece_size ? r->o->piece_size : rsl_spans_piece(it->size, r->conns);
    return it->size > piece; /* at least two pieces */
}

void rsl_ranges_free(struct rsl_ranges *g)
{
    if (g == NULL)
        return;
    rsl_spans_free(&g->done);
    free(g->p);
    free(g);
}

int64_t rsl_ranges_sent(const rsl_task *t)
{
    return t->rg ? t->rg->sent : 0;
}

static int add_piece(rsl_ranges *g, uint64_t off, uint64_t len, int check)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        rsl_piece *p = realloc(g->p, cap * sizeof(*p));
        if (p == NULL)
            return -1;
        g->p = p;
        g->cap = cap;
    }
    g->p[g->n++] = (rsl_piece){off, len, check};
    return 0;
}

/* Segment [off, end), all written before (check) or not: pieces of at most
 * `piece` bytes. */
static int add_segment(rsl_ranges *g, uint64_t off, uint64_t end, uint64_t piece, int check)
{
    for (uint64_t at = off; at < end; at += piece)
        if (add_piece(g, at, end - at < piece ? end - at : piece, check) != 0)
            return -1;
    return 0;
}

/* The pieces of a file of size bytes: what `done` holds is checked, the
 * rest written, in file order. */
static int plan_pieces(rsl_ranges *g, uint64_t size, uint64_t piece)
{
    uint64_t at = 0;
    for (size_t i = 0; i < g->done.n; i++) {
        const rsl_span *s = &g->done.v[i];
        if (add_segment(g, at, s->off, piece, 0) != 0 ||
            add_segment(g, s->off, s->end, piece, 1) != 0)
            return -1;
        at = s->end;
    }
    return add_segment(g, at, size, piece, 0);
}

/* The task of one piece of t's file: its own source (its own descriptor,
 * reading that piece only). */
static rsl_task *piece_task(rsl_task *t, const rsl_piece *p)
{
    rsl_task *rt = rsl_task_new(RSL_TASK_RANGE, &t->it);
    if (rt == NULL)
        return NULL;
    rt->parent = t;
    rsl_local_src_init(&rt->src, &t->src.cfg, rt->it.path, rt->it.src_rel, rt->it.size,
                       rt->it.mtime_ns, rt->it.dev, rt->it.ino);
    rsl_local_src_range(&rt->src, p->off, p->len);
    rt->opened = 1;
    rsl_task_op(rt, RSL_OP_PUT_RANGE, rt->it.path, 0);
    rt->op.tmp = t->tmp;
    rt->op.resume = p->check;
    rt->op.size = rt->it.size;
    rt->op.range_off = p->off;
    rt->op.range_len = p->len;
    rt->op.src = &rt->src.src;
    return rt;
}

/* t is over: recorded with its first failure, or (nothing failed, the run
 * stopping) forgotten, as a dropped PUT is. */
static void parent_end(rsl_disp *d, rsl_task *t)
{
    rsl_ranges *g = t->rg;
    if (g->fail.code == RSL_OK) {
        rsl_disp_finish(d, t);
        return;
    }
    t->op.err = g->fail;
    rsl_upload_done(d, t, rsl_retry_reconnects(g->fail.code));
}

/* Queues pieces while connections are free for them; once every piece is
 * written, the FINISH op; once the file cannot go on, its end. */
static void feed(rsl_disp *d, rsl_task *t)
{
    rsl_ranges *g = t->rg;
    int stop = g->fail.code != RSL_OK;
    while (!stop && g->busy < g->max_busy && g->next < g->n) {
        rsl_task *rt = piece_task(t, &g->p[g->next]);
        if (rt == NULL) {
            rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
            stop = 1;
            break;
        }
        rsl_disp_adopt(d, rt);
        if (rsl_disp_push_next(d, rt) != 0) { /* stopping: rt was finished */
            stop = 1;
            break;
        }
        g->next++;
        g->busy++;
    }
    if (g->busy > 0)
        return;
    if (stop || g->next < g->n) {
        parent_end(d, t);
        return;
    }
    if (!rsl_spans_covers(&g->done, 0, t->it.size)) { /* cannot happen: every piece was written */
        rsl_err_set(&g->fail, RSL_E_INTERNAL, 0, "'%s': pieces missing after the last one",
                    t->it.path);
        parent_end(d, t);
        return;
    }
    rsl_upload_finish_op(d, t);
}

void rsl_ranges_begin(rsl_disp *d, rsl_task *t, const char *done)
{
    rsl_run *r = d->r;
    rsl_ranges *g = calloc(1, sizeof(*g));
    uint64_t piece = r->o->piece_size ? r->o->piece_size : rsl_spans_piece(t->it.size, r->conns);
    t->rg = g;
    if (g != NULL) {
        rsl_spans_init(&g->done);
        g->max_busy = r->conns > 0 ? (size_t)r->conns : 1;
    }
    if (g != NULL && done != NULL && rsl_spans_parse(&g->done, done, t->it.size) != 0)
        rsl_run_log(r, RSL_LOG_INFO,
                    "'%s': the upload record's pieces ('%.60s') are not valid; "
                    "every piece is sent",
                    t->it.path, done);
    if (g == NULL || plan_pieces(g, t->it.size, piece) != 0) {
        rsl_run_session_error(r, RSL_E_NO_MEMORY, "out of memory");
        rsl_disp_finish(d, t);
        return;
    }
    /* the pieces change the remote: the item's pending row comes first */
    if (t->idx >= 0 && rsl_recorder_pending_upto(r, (uint64_t)t->idx) != RSL_OK) {
        rsl_disp_finish(d, t);
        return;
    }
    if (done != NULL)
        rsl_run_log(r, RSL_LOG_INFO,
                    "'%s': %llu of %llu bytes were written by an earlier run: "
                    "checked, not sent",
                    t->it.path, (unsigned long long)rsl_spans_bytes(&g->done),
                    (unsigned long long)t->it.size);
    feed(d, t);
}

/* The record's `done` after a change; returns its code (a failure stopped
 * the run). */
static rsl_code record(rsl_disp *d, rsl_task *t)
{
    char *text = rsl_spans_format(&t->rg->done);
    if (text == NULL) {
        rsl_run_session_error(d->r, RSL_E_NO_MEMORY, "out of memory");
        return RSL_E_NO_MEMORY;
    }
    rsl_code rc = rsl_recorder_upload_progress(d->r, t->it.path, text);
    free(text);
    return rc;
}

/* A piece completed without error: written, kept after its check, or
 * found different (then it leaves `done` and is queued to be written). */
static void piece_ok(rsl_disp *d, rsl_task *t, const rsl_op *op)
{
    rsl_ranges *g = t->rg;
    uint64_t off = op->range_off, end = off + op->range_len;
    rsl_code rc = RSL_OK;
    if (!op->resume) {
        if (rsl_spans_add(&g->done, off, end) != 0)
            rc = RSL_E_NO_MEMORY;
        else
            rc = record(d, t);
    } else if (op->offset != op->range_len) {
        rsl_run_log(d->r, RSL_LOG_INFO,
                    "'%s': bytes %llu-%llu differ from the local file; sent "
                    "again",
                    t->it.path, (unsigned long long)off, (unsigned long long)end);
        if (rsl_spans_remove(&g->done, off, end) != 0 || add_piece(g, off, end - off, 0) != 0)
            rc = RSL_E_NO_MEMORY;
        else
            rc = record(d, t);
    }
    if (rc == RSL_E_NO_MEMORY)
        rsl_run_session_error(d->r, rc, "out of memory");
    if (rc != RSL_OK && g->fail.code == RSL_OK)
        rsl_err_set(&g->fail, rc, 0, "'%s': its upload record could not be written", t->it.path);
}

/* The file's digest over the written prefix from 0, while the other pieces
 * are still on their way (the FINISH op then has little left to hash).
 * Called before feed(): t's FINISH is not queued yet (from then on its
 * worker owns t's source) and t is not ended. A failure here is not the
 * file's: its FINISH hashes from zero. */
static void hash_ahead(rsl_disp *d, rsl_task *t)
{
    rsl_ranges *g = t->rg;
    rsl_err e;
    if (g == NULL || t->op.kind == RSL_OP_FINISH || g->fail.code != RSL_OK || g->done.n == 0 ||
        g->done.v[0].off != 0)
        return;
    if (rsl_local_src_hash_to(&t->src, g->done.v[0].end, &e) != RSL_OK)
        rsl_run_log(d->r, RSL_LOG_INFO, "'%s': %s; hashed at the end instead", t->it.path, e.msg);
}

void rsl_ranges_done(rsl_disp *d, rsl_task *rt, int conn_err)
{
    (void)conn_err;
    rsl_task *t = rt->parent;
    rsl_ranges *g = t->rg;
    g->busy--;
    g->sent += rt->src.sent; /* every attempt's bytes, as a PUT counts them */
    if (rt->op.err.code == RSL_OK) {
        piece_ok(d, t, &rt->op);
        /* recorded: the connection may take its next piece (queue.h) */
        rsl_queue_range_release(&d->r->q, rt->worker);
        hash_ahead(d, t); /* before feed(): that may queue the FINISH, or end t */
    } else if (g->fail.code == RSL_OK) {
        g->fail = rt->op.err;
    }
    rsl_disp_finish(d, rt);
    feed(d, t);
}

void rsl_ranges_dropped(rsl_disp *d, rsl_task *rt)
{
    rsl_task *t = rt->parent;
    rsl_ranges *g = t->rg;
    g->busy--;
    g->sent += rt->src.sent;
    if (rt->attempts > 0 && g->fail.code == RSL_OK) /* it had a connection error */
        g->fail = rt->op.err;
    rsl_disp_finish(d, rt);
    if (g->busy == 0)
        parent_end(d, t);
}
