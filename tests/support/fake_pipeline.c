/*
 * fake_pipeline.c - the fake transport's pipelined run() and its ranged
 * writes. See fake_transport.h and fake_internal.h.
 */
#define _GNU_SOURCE
#include "fake_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- ranges: PUT_RANGE and FINISH (transports/xfer.h) ---- */

/* *same = 1 when bytes [off, off + len) of rel equal src's (all of them
 * compared), 0 when not or rel is shorter. Returns the source's code. */
static rsl_code range_same(const char *rel, uint64_t off, uint64_t len, rsl_source *src, int *same,
                           rsl_err *err)
{
    *same = 0;
    pthread_mutex_lock(&g.mu);
    node *n = fk_find(rel);
    unsigned char *remote = NULL;
    if (n != NULL && !n->is_dir && n->len >= off + len) {
        if ((remote = malloc(len + 1)) == NULL)
            abort();
        memcpy(remote, n->data + off, len);
    }
    pthread_mutex_unlock(&g.mu);
    if (remote == NULL)
        return RSL_OK;
    unsigned char *buf = malloc(CHUNK);
    if (buf == NULL)
        abort();
    rsl_code rc = RSL_OK;
    uint64_t at = 0;
    while (at < len) {
        size_t want = len - at < CHUNK ? (size_t)(len - at) : CHUNK;
        ssize_t got = src->pread(src, buf, want, off + at, err);
        if (got < 0) {
            rc = err->code;
            break;
        }
        if (got == 0 || memcmp(buf, remote + at, (size_t)got) != 0)
            break;
        at += (uint64_t)got;
    }
    *same = rc == RSL_OK && at == len;
    free(buf);
    free(remote);
    return rc;
}

/* A range's call logged (and the temp created for a write); unlocked. */
static rsl_code range_enter(rsl_conn *c, const char *tmp, uint64_t off, uint64_t len, int check,
                            size_t *cidx, rsl_err *err)
{
    rsl_code rc =
        fk_enter(check ? RSLT_FAKE_CHECK_RANGE : RSLT_FAKE_WRITE_RANGE, c, tmp, NULL, err);
    *cidx = tl_call;
    g.calls[tl_call].offset = off;
    g.calls[tl_call].total = off + len;
    if (rc == RSL_OK && !check)
        rc = fk_range_temp(tmp, err);
    pthread_mutex_unlock(&g.mu);
    return rc;
}

/* The call `call` succeeded now. */
static void range_ended(size_t cidx)
{
    pthread_mutex_lock(&g.mu);
    if (cidx < g.n_calls)
        g.calls[cidx].end_seq = ++g.seq;
    pthread_mutex_unlock(&g.mu);
}

/* got bytes of a range at off, unless the connection is gone. */
static rsl_code range_store(rsl_conn *c, const char *tmp, uint64_t off, const unsigned char *buf,
                            size_t got, rsl_err *err)
{
    pthread_mutex_lock(&g.mu);
    rsl_code rc =
        c->dead ? rsl_err_set(err, RSL_E_CONNECTION_LOST, 0, "fake: connection %d is gone", c->id)
                : fk_store_at(c, tmp, off, buf, got, err);
    pthread_mutex_unlock(&g.mu);
    return rc;
}

rsl_code f_write_range(rsl_conn *c, const char *tmp_rel, uint64_t off, uint64_t len, int check,
                       rsl_source *src, uint64_t *kept, uint64_t *sent, rsl_err *err)
{
    size_t cidx = 0;
    *kept = *sent = 0;
    rsl_code rc = range_enter(c, tmp_rel, off, len, check, &cidx, err);
    if (rc != RSL_OK)
        return rc;
    if (check) {
        int same = 0;
        if ((rc = range_same(tmp_rel, off, len, src, &same, err)) == RSL_OK) {
            *kept = same ? len : 0;
            range_ended(cidx);
        }
        return rc;
    }
    unsigned char *buf = malloc(CHUNK);
    if (buf == NULL)
        abort();
    uint64_t pos = off;
    while (pos < off + len && rc == RSL_OK) {
        ssize_t got = src->read(src, buf, CHUNK, err);
        if (got <= 0) {
            rc = got < 0 ? err->code
                         : rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0, "fake: the source ended");
            break;
        }
        rc = range_store(c, tmp_rel, pos, buf, (size_t)got, err);
        pos += (uint64_t)got;
        *sent += (uint64_t)got;
    }
    free(buf);
    if (rc == RSL_OK)
        range_ended(cidx);
    return rc;
}

/* ---- the pipelined path (transports/xfer.h) ---- */

typedef struct flight {
    rsl_op *op;
    int state; /* PUT, PUT_RANGE: 0 not started, 1 sending, 2 every byte sent */
    uint64_t pos;
    long taken;  /* the order in which the op was taken */
    size_t call; /* PUT: its UPLOAD call; PUT_RANGE: its WRITE_RANGE call */
} flight;

/* PUT, first step: resume offset, the temp opened, the source started. */
static rsl_code put_begin(rsl_conn *c, flight *f)
{
    rsl_op *op = f->op;
    uint64_t offset = 0;
    rsl_code rc = RSL_OK;
    if (op->resume && (f_caps_of(c) & RSL_CAP_RESUME))
        rc = f_resume_offset(c, op->tmp, op->size, op->src, &offset, &op->err);
    if (rc != RSL_OK)
        return rc;
    rc = fk_enter(RSLT_FAKE_UPLOAD, c, op->tmp, NULL, &op->err);
    f->call = tl_call;
    g.calls[tl_call].offset = offset;
    g.calls[tl_call].total = op->size;
    if (rc == RSL_OK)
        rc = fk_open_temp(op->tmp, offset, &op->err);
    pthread_mutex_unlock(&g.mu);
    if (rc == RSL_OK && op->src->start)
        rc = op->src->start(op->src, offset, &op->err);
    op->offset = offset;
    f->pos = offset;
    f->state = f->pos >= op->size ? 2 : 1;
    return rc;
}

/* PUT, one chunk of bytes; buf holds CHUNK bytes. */
static rsl_code put_chunk(rsl_conn *c, flight *f, unsigned char *buf)
{
    rsl_op *op = f->op;
    size_t want = op->size - f->pos < CHUNK ? (size_t)(op->size - f->pos) : CHUNK;
    ssize_t got = op->src->read(op->src, buf, want, &op->err);
    if (got < 0)
        return op->err.code;
    if (got == 0) { /* as file://: finish finds the size wrong */
        f->state = 2;
        return RSL_OK;
    }
    pthread_mutex_lock(&g.mu);
    rsl_code rc = c->dead ? rsl_err_set(&op->err, RSL_E_CONNECTION_LOST, 0,
                                        "fake: connection %d is gone", c->id)
                          : fk_store(c, op->tmp, buf, (size_t)got, &op->err);
    if (rc == RSL_OK && f->pos + (uint64_t)got >= op->size && f->call < g.n_calls)
        g.calls[f->call].end_seq = ++g.seq;
    pthread_mutex_unlock(&g.mu);
    f->pos += (uint64_t)got;
    op->sent += (uint64_t)got;
    if (f->pos >= op->size)
        f->state = 2;
    return rc;
}

/* PUT_RANGE, one step: the check (whole), or the start, or one chunk.
 * Returns 1 when it completed. */
static int range_step(rsl_conn *c, flight *f, unsigned char *buf, rsl_code *rc)
{
    rsl_op *op = f->op;
    uint64_t end = op->range_off + op->range_len;
    if (f->state == 0) {
        *rc = range_enter(c, op->tmp, op->range_off, op->range_len, op->resume, &f->call, &op->err);
        if (*rc == RSL_OK && op->resume) {
            int same = 0;
            if ((*rc = range_same(op->tmp, op->range_off, op->range_len, op->src, &same,
                                  &op->err)) == RSL_OK) {
                op->offset = same ? op->range_len : 0;
                range_ended(f->call);
            }
            return 1;
        }
        if (*rc == RSL_OK && op->src->start)
            *rc = op->src->start(op->src, op->range_off, &op->err);
        f->pos = op->range_off;
        f->state = 1;
        return *rc != RSL_OK;
    }
    size_t want = end - f->pos < CHUNK ? (size_t)(end - f->pos) : CHUNK;
    ssize_t got = want ? op->src->read(op->src, buf, want, &op->err) : 0;
    if (got < 0 || (got == 0 && want > 0)) {
        *rc = got < 0 ? op->err.code
                      : rsl_err_set(&op->err, RSL_E_LOCAL_CHANGED, 0, "fake: the source ended");
        return 1;
    }
    *rc = got ? range_store(c, op->tmp, f->pos, buf, (size_t)got, &op->err) : RSL_OK;
    f->pos += (uint64_t)got;
    op->sent += (uint64_t)got;
    if (*rc == RSL_OK && f->pos >= end)
        range_ended(f->call);
    return *rc != RSL_OK || f->pos >= end;
}

/* FINISH: the source's start at the end (its digest) and checks, then the
 * size check and rename. */
static rsl_code finish_step(rsl_conn *c, rsl_op *op)
{
    rsl_code rc = op->src->start ? op->src->start(op->src, op->size, &op->err) : RSL_OK;
    if (rc == RSL_OK && op->src->verify)
        rc = op->src->verify(op->src, &op->err);
    if (rc == RSL_OK)
        rc = f_finish(c, op->tmp, op->path, op->size, op->mtime, &op->err);
    return rc;
}

/* Moves one op on by a step. Returns 1 when it completed (op->err set). */
static int step(rsl_conn *c, flight *f, unsigned char *buf)
{
    rsl_op *op = f->op;
    rsl_code rc;
    int done = 1;
    switch (op->kind) {
    case RSL_OP_MKDIR:
        rc = f_mkdir(c, op->path, &op->err);
        break;
    case RSL_OP_REMOVE:
        rc = f_remove(c, op->path, op->is_dir, &op->err);
        break;
    case RSL_OP_STAT:
        rc = f_stat(c, op->path, &op->st, &op->err);
        break;
    case RSL_OP_PUT:
        if (f->state < 2) {
            rc = f->state == 0 ? put_begin(c, f) : put_chunk(c, f, buf);
            done = rc != RSL_OK;
        } else if ((rc = op->src->verify ? op->src->verify(op->src, &op->err) : RSL_OK) == RSL_OK) {
            rc = f_finish(c, op->tmp, op->path, op->size, op->mtime, &op->err);
        }
        break;
    case RSL_OP_PUT_RANGE:
        done = range_step(c, f, buf, &rc);
        break;
    case RSL_OP_FINISH:
        rc = finish_step(c, op);
        break;
    default:
        rc = rsl_err_set(&op->err, RSL_E_INTERNAL, 0, "fake: unknown op %d", (int)op->kind);
    }
    if (!done)
        return 0;
    if (rc == RSL_OK)
        rsl_err_clear(&op->err);
    else if (op->err.code == RSL_OK)
        rsl_err_set(&op->err, rc, 0, "fake: %s '%s' failed", rsl_op_kind_name(op->kind), op->path);
    return 1;
}

/* Takes ops up to the window (blocking only when none is in flight). */
static void take(const rsl_feed *feed, flight *fl, int *n, int window, long *taken)
{
    while (*n < window && !(feed->cancelled && feed->cancelled(feed->ud))) {
        rsl_op *op = feed->next(feed->ud, *n == 0);
        if (op == NULL)
            return;
        rsl_err_clear(&op->err);
        op->sent = op->offset = 0;
        fl[(*n)++] = (flight){.op = op, .taken = (*taken)++};
        pthread_mutex_lock(&g.mu);
        if (*n > g.max_in_flight)
            g.max_in_flight = *n;
        pthread_mutex_unlock(&g.mu);
    }
}

/* The connection failed: every op taken completes with its code. */
static rsl_code fail_all(const rsl_feed *feed, flight *fl, int n, const rsl_err *why, rsl_err *err)
{
    for (int i = 0; i < n; i++) {
        fl[i].op->err = *why;
        feed->done(feed->ud, fl[i].op);
    }
    *err = *why;
    return why->code;
}

/* rslt_fake_hold: takes ops (without blocking) until `hold` are in flight,
 * for at most 30 s, before anything completes. */
static void hold_first(const rsl_feed *feed, flight *fl, int *n, int window, long *taken)
{
    pthread_mutex_lock(&g.mu);
    int hold = g.hold < window ? g.hold : window;
    g.hold = 0;
    pthread_mutex_unlock(&g.mu);
    if (hold <= 0)
        return;
    for (int ms = 0; *n < hold && ms < 30000; ms++) {
        int before = *n;
        while (*n < window) {
            rsl_op *op = feed->next(feed->ud, 0);
            if (op == NULL)
                break;
            rsl_err_clear(&op->err);
            op->sent = op->offset = 0;
            fl[(*n)++] = (flight){.op = op, .taken = (*taken)++};
        }
        if (*n == before) {
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    pthread_mutex_lock(&g.mu);
    g.hold_reached = *n >= hold;
    if (*n > g.max_in_flight)
        g.max_in_flight = *n;
    pthread_mutex_unlock(&g.mu);
}

/* A window of ops in flight, moved on a step at a time in a pseudo-random
 * order, so they complete out of order (and PUTs interleave their bytes). */
rsl_code f_run(rsl_conn *c, const rsl_feed *feed, rsl_err *err)
{
    rslt_fake_record_early(c);
    pthread_mutex_lock(&g.mu);
    int window = g.window > 0 ? g.window : 1;
    pthread_mutex_unlock(&g.mu);
    flight *fl = calloc((size_t)window, sizeof(*fl));
    unsigned char *buf = malloc(CHUNK);
    if (fl == NULL || buf == NULL)
        abort();
    unsigned seed = (unsigned)c->id * 2654435761u;
    long taken = 0;
    int n = 0;
    rsl_code rc = RSL_OK;
    hold_first(feed, fl, &n, window, &taken);
    for (;;) {
        take(feed, fl, &n, window, &taken);
        if (n == 0)
            break; /* the stream ended */
        int k = (int)(rand_r(&seed) % (unsigned)n);
        if (!step(c, &fl[k], buf))
            continue;
        flight f = fl[k];
        fl[k] = fl[--n];
        rsl_err e = f.op->err; /* the op is the engine's once done */
        pthread_mutex_lock(&g.mu);
        for (int i = 0; i < n; i++)
            if (fl[i].taken < f.taken) {
                g.out_of_order++;
                break;
            }
        pthread_mutex_unlock(&g.mu);
        feed->done(feed->ud, f.op);
        if (e.code != RSL_OK && rsl_code_class(e.code) == RSL_CLASS_SESSION) {
            rc = fail_all(feed, fl, n, &e, err);
            break;
        }
    }
    free(fl);
    free(buf);
    return rc;
}
