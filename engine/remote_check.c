/*
 * remote_check.c - the root and a sample of the manifest, stat'ed every run.
 * See remote_check.h.
 */
#define _GNU_SOURCE
#include "remote_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "transports/xfer.h"

/* ---- the sample ---- */

static uint64_t next_rand(rsl_rcheck *c)
{
    uint64_t x = c->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n) (n > 0; the modulo bias is below 2^-40 for our n). */
static uint64_t below(rsl_rcheck *c, uint64_t n)
{
    return next_rand(c) % n;
}

void rsl_rcheck_init(rsl_rcheck *c, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    if (seed == 0 && getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)c;
    }
    c->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

void rsl_rcheck_free(rsl_rcheck *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].path);
    c->n = 0;
}

static void put(rsl_rcheck *c, size_t i, const rsl_manifest_row *row)
{
    char *p = strdup(row->path);
    if (p == NULL) {
        c->oom = 1;
        return;
    }
    if (i == c->n)
        c->n++;
    else
        free(c->v[i].path);
    c->v[i] = (rsl_rcheck_entry){.path = p, .size = row->size, .mtime_ns = row->mtime_ns};
}

/* Algorithm R: after n offers every file is in the reservoir with the same
 * probability, RESERVOIR / n. */
void rsl_rcheck_offer(rsl_rcheck *c, const rsl_manifest_row *row)
{
    if (row->type != RSL_TYPE_FILE || row->pending || c->drawn)
        return;
    c->seen++;
    if (c->seen <= RSL_RCHECK_RESERVOIR) {
        put(c, c->n, row);
        return;
    }
    uint64_t j = below(c, c->seen);
    if (j < RSL_RCHECK_RESERVOIR && j < c->n)
        put(c, (size_t)j, row);
}

rsl_code rsl_rcheck_collect(rsl_rcheck *c, rsl_state *st, rsl_err *err)
{
    rsl_code rc = rsl_state_manifest_iter_begin(st, err);
    if (rc != RSL_OK)
        return rc;
    rsl_manifest_row row;
    int k;
    while ((k = rsl_state_manifest_iter_next(st, &row, err)) > 0)
        rsl_rcheck_offer(c, &row);
    rsl_state_manifest_iter_end(st);
    return k < 0 ? err->code : RSL_OK;
}

size_t rsl_rcheck_sample_size(uint64_t n)
{
    size_t k = n > 1000000 ? 48 : n > 100000 ? 32 : n > 10000 ? 24 : 16;
    return n < k ? (size_t)n : k;
}

int rsl_rcheck_due(int remote_check, int64_t last_ms, int64_t now_ms)
{
    if (remote_check < 0)
        return 0;
    if (remote_check == 0 || last_ms <= 0 || now_ms < last_ms)
        return 1;
    return now_ms - last_ms >= (int64_t)remote_check * 1000;
}

/* The reservoir holds a uniform subset; its first k slots are not one (the
 * first files stay in the first slots), so k slots are drawn (a partial
 * Fisher-Yates) into the front. */
size_t rsl_rcheck_draw(rsl_rcheck *c)
{
    if (c->drawn)
        return c->k;
    size_t k = rsl_rcheck_sample_size(c->seen);
    if (k > c->n)
        k = c->n;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)below(c, c->n - i);
        rsl_rcheck_entry t = c->v[i];
        c->v[i] = c->v[j];
        c->v[j] = t;
    }
    c->drawn = 1;
    c->k = k;
    return k;
}

const char *const *rsl_rcheck_early(rsl_rcheck *c, size_t *n)
{
    size_t k = rsl_rcheck_draw(c);
    *n = 0;
    if (k == 0)
        return NULL;
    c->early[0] = "";
    for (size_t i = 0; i < k; i++)
        c->early[i + 1] = c->v[i].path;
    *n = k + 1;
    return c->early;
}

/* ---- the check ---- */

typedef struct feed_ctx {
    rsl_op *ops;
    size_t n, next, done;
    const rsl_stop *stop;
} feed_ctx;

static rsl_op *f_next(void *ud, int wait)
{
    (void)wait; /* every op is ready from the start: NULL is the end */
    feed_ctx *f = ud;
    if (f->next >= f->n || rsl_stop_check(f->stop) != RSL_STOP_NO)
        return NULL;
    return &f->ops[f->next++];
}

static void f_done(void *ud, rsl_op *op)
{
    (void)op;
    feed_ctx *f = ud;
    f->done++;
}

static int f_cancelled(void *ud)
{
    feed_ctx *f = ud;
    return rsl_stop_check(f->stop) != RSL_STOP_NO;
}

static int64_t floor_sec(int64_t ns)
{
    int64_t s = ns / 1000000000LL;
    return ns % 1000000000LL < 0 ? s - 1 : s;
}

/* What differs between entry e and what the remote said (into why), or 0. */
static int differs(const rsl_rcheck_entry *e, const rsl_op *op, unsigned caps, char *why, size_t n)
{
    const rsl_rstat *st = &op->st;
    if (op->err.code != RSL_OK)
        snprintf(why, n, "cannot be stat'ed (%s: %s)", rsl_code_name(op->err.code), op->err.msg);
    else if (!st->exists)
        snprintf(why, n, "gone");
    else if (st->is_dir)
        snprintf(why, n, "now a directory");
    else if (st->size != e->size)
        snprintf(why, n, "manifest %llu bytes, remote %llu bytes", (unsigned long long)e->size,
                 (unsigned long long)st->size);
    else if ((caps & RSL_CAP_SET_MTIME) && st->mtime >= 0 && st->mtime != floor_sec(e->mtime_ns))
        snprintf(why, n, "manifest mtime %lld, remote mtime %lld (seconds since the epoch)",
                 (long long)floor_sec(e->mtime_ns), (long long)st->mtime);
    else
        return 0;
    return 1;
}

/* The verdict over the completed ops (ops[0]: the root). */
static rsl_code judge(rsl_rcheck *c, const rsl_op *ops, size_t k, unsigned caps, rsl_err *err)
{
    for (size_t i = 0; i <= k; i++) /* a broken connection says nothing about the files */
        if (ops[i].err.code != RSL_OK && rsl_code_class(ops[i].err.code) == RSL_CLASS_SESSION) {
            *err = ops[i].err;
            return err->code;
        }
    if (ops[0].err.code != RSL_OK || !ops[0].st.exists || !ops[0].st.is_dir)
        return rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, 0,
                           "the remote root is %s; the manifest lists files there",
                           ops[0].err.code != RSL_OK ? "unreadable"
                           : ops[0].st.exists        ? "no longer a directory"
                                                     : "gone");
    char first[700] = "", why[600];
    c->checked = k;
    c->differ = 0;
    for (size_t i = 0; i < k; i++) {
        if (!differs(&c->v[i], &ops[i + 1], caps, why, sizeof(why)))
            continue;
        if (c->differ++ == 0)
            snprintf(first, sizeof(first), "%s: %s", c->v[i].path, why);
    }
    if (c->differ == 0)
        return RSL_OK;
    return rsl_err_set(err, RSL_E_REMOTE_CHANGED, 0,
                       "the remote changed behind our back: %zu of %zu checked files are gone or "
                       "differ (first: %s); run `rsyncd-lite verify JOB.conf --repair`, then run "
                       "again",
                       c->differ, k, first);
}

rsl_code rsl_rcheck_run(rsl_rcheck *c, const rsl_transport_ops *ops, rsl_conn *conn, unsigned caps,
                        const rsl_stop *stop, rsl_err *err)
{
    size_t k = rsl_rcheck_draw(c);
    c->checked = c->differ = 0;
    if (k == 0)
        return RSL_OK; /* nothing recorded: connecting checked the root */
    rsl_op *v = calloc(k + 1, sizeof(*v));
    if (v == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    v[0] = (rsl_op){.kind = RSL_OP_STAT, .path = "", .mtime = -1};
    for (size_t i = 0; i < k; i++)
        v[i + 1] = (rsl_op){.kind = RSL_OP_STAT, .path = c->v[i].path, .mtime = -1};
    feed_ctx fc = {.ops = v, .n = k + 1, .stop = stop};
    rsl_feed feed = {.next = f_next, .done = f_done, .cancelled = f_cancelled, .ud = &fc};
    rsl_err_clear(err);
    rsl_code rc =
        ops->run ? ops->run(conn, &feed, err) : rsl_xfer_run_serial(ops, conn, &feed, err);
    int why = rsl_stop_check(stop);
    if (rc == RSL_OK && why != RSL_STOP_NO)
        rc = rsl_err_set(err, rsl_stop_code(why), 0, "stopped during the remote check");
    else if (rc == RSL_OK && fc.done < fc.n)
        rc = rsl_err_set(err, RSL_E_INTERNAL, 0,
                         "the transport completed %zu of the remote check's %zu stats", fc.done,
                         fc.n);
    if (rc == RSL_OK)
        rc = judge(c, v, k, caps, err);
    free(v);
    return rc;
}
