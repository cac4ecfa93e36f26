/*
 * feed_util.h - helpers for the tests of the https transport's pipelined
 * run() (header-only, static functions): a feed over an array of
 * operations that hands out an operation only once the one it depends on
 * completed (as the engine does: a file after its directory's MKDIR),
 * records the completion order and counts done() calls per operation; and
 * in-memory upload sources that count what passed read() and pread() and
 * the start/verify hooks.
 */
#ifndef RSL_HTTPS_FEED_UTIL_H
#define RSL_HTTPS_FEED_UTIL_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transports/xfer.h"

/* ---- an upload source over memory ---- */
typedef struct msrc {
    rsl_source s;
    char *data;
    size_t len, pos;
    uint64_t pulled, preads; /* bytes through read() / pread() */
    int started, verified;
    uint64_t start_at;
} msrc;

static ssize_t ms_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    if (m->pos >= m->len)
        return 0;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    m->pulled += n;
    return (ssize_t)n;
}

static ssize_t ms_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    if (off >= m->len)
        return 0;
    if (n > m->len - off)
        n = m->len - (size_t)off;
    memcpy(buf, m->data + off, n);
    m->preads += n;
    return (ssize_t)n;
}

static rsl_code ms_start(rsl_source *s, uint64_t offset, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    m->started++;
    m->start_at = offset;
    m->pos = (size_t)offset;
    return RSL_OK;
}

static rsl_code ms_verify(rsl_source *s, rsl_err *err)
{
    (void)err;
    ((msrc *)s->ud)->verified++;
    return RSL_OK;
}

/* Takes ownership of data (malloc'd, len bytes). */
static __attribute__((unused)) void msrc_init(msrc *m, char *data, size_t len)
{
    memset(m, 0, sizeof(*m));
    m->data = data;
    m->len = len;
    m->s = (rsl_source){
        .read = ms_read, .pread = ms_pread, .start = ms_start, .verify = ms_verify, .ud = m};
}

/* len pseudo-random bytes from seed (malloc'd). */
static __attribute__((unused)) char *mrandom(size_t len, unsigned seed)
{
    char *p = malloc(len ? len : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (char)(x >> 24);
    }
    return p;
}

/* ---- a feed over an array of operations ---- */
typedef struct tfeed {
    rsl_op *ops;
    int n;
    int *dep;   /* index of the op that must have completed first, or -1 */
    int *state; /* 0 waiting, 1 taken, 2 completed */
    int *dones; /* done() calls per op */
    int *order; /* op indexes in completion order */
    int first;  /* no op below is waiting */
    int taken, completed, inflight, max_inflight, next_calls;
} tfeed;

static rsl_op *tf_next(void *ud, int wait)
{
    (void)wait;
    tfeed *f = ud;
    f->next_calls++;
    while (f->first < f->n && f->state[f->first] != 0)
        f->first++;
    for (int i = f->first; i < f->n; i++) {
        if (f->state[i] != 0 || (f->dep[i] >= 0 && f->state[f->dep[i]] != 2))
            continue;
        f->state[i] = 1;
        f->taken++;
        if (++f->inflight > f->max_inflight)
            f->max_inflight = f->inflight;
        return &f->ops[i];
    }
    return NULL; /* wait = 1 only comes with nothing in flight: then the end */
}

static void tf_done(void *ud, rsl_op *op)
{
    tfeed *f = ud;
    int i = (int)(op - f->ops);
    cr_assert(i >= 0 && i < f->n, "done() with an op that is not ours");
    cr_assert_eq(f->state[i], 1, "done() for op %d that was not taken (state %d)", i, f->state[i]);
    f->state[i] = 2;
    f->dones[i]++;
    f->order[f->completed++] = i;
    f->inflight--;
}

static __attribute__((unused)) void tfeed_init(tfeed *f, rsl_op *ops, int n)
{
    memset(f, 0, sizeof(*f));
    f->ops = ops;
    f->n = n;
    f->dep = malloc(sizeof(int) * (size_t)n);
    f->state = calloc((size_t)n, sizeof(int));
    f->dones = calloc((size_t)n, sizeof(int));
    f->order = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n; i++)
        f->dep[i] = -1;
}

/* Makes the ops that completed with a code of class cls waiting again (a
 * retry on the next connection); returns how many. */
static __attribute__((unused)) int tfeed_requeue(tfeed *f, rsl_class cls)
{
    int k = 0;
    for (int i = 0; i < f->n; i++)
        if (f->state[i] == 2 && f->ops[i].err.code != RSL_OK &&
            rsl_code_class(f->ops[i].err.code) == cls) {
            f->state[i] = 0;
            k++;
        }
    f->first = 0;
    f->completed = 0;
    f->inflight = 0;
    f->max_inflight = 0;
    return k;
}

static __attribute__((unused)) rsl_feed tfeed_feed(tfeed *f)
{
    return (rsl_feed){.next = tf_next, .done = tf_done, .ud = f};
}

static __attribute__((unused)) void tfeed_free(tfeed *f)
{
    free(f->dep);
    free(f->state);
    free(f->dones);
    free(f->order);
}

#endif
