/*
 * fake_control.c - the test side of the fake transport: what the remote
 * holds and was asked (contents, call counts, upload and range logs, the
 * order of calls) and the faults a test sets (failures by call, path or
 * count, cut connections, hooks, held ops; what the pipelined run saw). See
 * fake_transport.h. The remote itself and its transport ops are in
 * fake_transport.c, the pipelined run() in fake_pipeline.c.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_internal.h"
#include "fake_transport.h"

char *rslt_fake_get(const char *rel, size_t *len)
{
    pthread_mutex_lock(&g.mu);
    node *n = fk_find(rel);
    char *out = NULL;
    if (n && !n->is_dir) {
        if ((out = malloc(n->len + 1)) == NULL)
            abort();
        if (n->len)
            memcpy(out, n->data, n->len);
        out[n->len] = '\0';
        if (len)
            *len = n->len;
    }
    pthread_mutex_unlock(&g.mu);
    return out;
}

int rslt_fake_type(const char *rel)
{
    pthread_mutex_lock(&g.mu);
    node *n = fk_find(rel);
    int t = n == NULL ? 0 : n->is_dir ? 'd' : 'f';
    pthread_mutex_unlock(&g.mu);
    return t;
}

long long rslt_fake_size(const char *rel)
{
    pthread_mutex_lock(&g.mu);
    node *n = fk_find(rel);
    long long s = n && !n->is_dir ? (long long)n->len : -1;
    pthread_mutex_unlock(&g.mu);
    return s;
}

int64_t rslt_fake_mtime(const char *rel)
{
    pthread_mutex_lock(&g.mu);
    node *n = fk_find(rel);
    int64_t m = n ? n->mtime : -1;
    pthread_mutex_unlock(&g.mu);
    return m;
}

int rslt_fake_calls(rslt_fake_op op)
{
    pthread_mutex_lock(&g.mu);
    int n = g.counts[op];
    pthread_mutex_unlock(&g.mu);
    return n;
}

int rslt_fake_calls_for(rslt_fake_op op, const char *rel)
{
    int n = 0;
    pthread_mutex_lock(&g.mu);
    for (size_t i = 0; i < g.n_calls; i++) {
        const call *c = &g.calls[i];
        n += c->op == op &&
             ((c->rel && strcmp(c->rel, rel) == 0) || (c->rel2 && strcmp(c->rel2, rel) == 0));
    }
    pthread_mutex_unlock(&g.mu);
    return n;
}

int rslt_fake_open_connections(void)
{
    pthread_mutex_lock(&g.mu);
    int n = g.open_conns;
    pthread_mutex_unlock(&g.mu);
    return n;
}

static size_t log_of(rslt_fake_op op, rslt_fake_upload *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&g.mu);
    for (size_t i = 0; i < g.n_calls; i++) {
        const call *c = &g.calls[i];
        if (c->op != op)
            continue;
        if (n < max) {
            snprintf(out[n].path, sizeof(out[n].path), "%s", c->rel ? c->rel : "");
            out[n].offset = c->offset;
            out[n].total = c->total;
            out[n].conn = c->conn;
            out[n].start_seq = c->start_seq;
            out[n].end_seq = c->end_seq;
        }
        n++;
    }
    pthread_mutex_unlock(&g.mu);
    return n;
}

size_t rslt_fake_uploads(rslt_fake_upload *out, size_t max)
{
    return log_of(RSLT_FAKE_UPLOAD, out, max);
}

size_t rslt_fake_ranges(int check, rslt_fake_upload *out, size_t max)
{
    return log_of(check ? RSLT_FAKE_CHECK_RANGE : RSLT_FAKE_WRITE_RANGE, out, max);
}

void rslt_fake_poke(const char *rel, uint64_t off, unsigned char b)
{
    pthread_mutex_lock(&g.mu);
    node *n = fk_find(rel);
    if (n && !n->is_dir && off < n->len)
        n->data[off] = b;
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_set_rtt(long us)
{
    pthread_mutex_lock(&g.mu);
    g.rtt_us = us;
    pthread_mutex_unlock(&g.mu);
}

int rslt_fake_rtt_calls(void)
{
    pthread_mutex_lock(&g.mu);
    int n = g.rtt_calls;
    pthread_mutex_unlock(&g.mu);
    return n;
}

void rslt_fake_set_caps(unsigned caps)
{
    pthread_mutex_lock(&g.mu);
    g.caps = caps;
    pthread_mutex_unlock(&g.mu);
}

static void add_rule(rslt_fake_op op, int nth, const char *rel, rsl_code code)
{
    pthread_mutex_lock(&g.mu);
    if (g.n_rules == MAX_RULES)
        abort();
    g.rules[g.n_rules++] =
        (rule){.op = op, .nth = nth, .rel = rel ? strdup(rel) : NULL, .code = code};
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_fail_nth(rslt_fake_op op, int nth, rsl_code code)
{
    add_rule(op, nth, NULL, code);
}

void rslt_fake_fail_path(rslt_fake_op op, const char *rel, rsl_code code)
{
    add_rule(op, 0, rel, code);
}

void rslt_fake_fail_every(rslt_fake_op op, rsl_code code)
{
    add_rule(op, -1, NULL, code);
}

void rslt_fake_fail_connect(int times, rsl_code code)
{
    pthread_mutex_lock(&g.mu);
    g.connect_fails = times;
    g.connect_code = code;
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_cut_after(uint64_t bytes, int times)
{
    pthread_mutex_lock(&g.mu);
    g.cut_bytes = bytes;
    g.cut_times = times;
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_on_call(void (*fn)(void *ud, rslt_fake_op op, const char *rel), void *ud)
{
    pthread_mutex_lock(&g.mu);
    g.hook = fn;
    g.hook_ud = ud;
    pthread_mutex_unlock(&g.mu);
}

char *rslt_fake_early(void)
{
    pthread_mutex_lock(&g.mu);
    char *t = strdup(g.early ? g.early : "");
    pthread_mutex_unlock(&g.mu);
    if (t == NULL)
        abort();
    return t;
}

int rslt_fake_probes(void)
{
    return __atomic_load_n(&g.probes, __ATOMIC_RELAXED);
}

int rslt_fake_max_in_flight(void)
{
    pthread_mutex_lock(&g.mu);
    int n = g.max_in_flight;
    pthread_mutex_unlock(&g.mu);
    return n;
}

int rslt_fake_out_of_order(void)
{
    pthread_mutex_lock(&g.mu);
    int n = g.out_of_order;
    pthread_mutex_unlock(&g.mu);
    return n;
}

/* The first (first = 1) or last successful call of op for rel. */
static const call *find_call(rslt_fake_op op, const char *rel, int first)
{
    const call *hit = NULL;
    for (size_t i = 0; i < g.n_calls; i++) {
        const call *c = &g.calls[i];
        if (c->op != op ||
            !((c->rel && strcmp(c->rel, rel) == 0) || (c->rel2 && strcmp(c->rel2, rel) == 0)))
            continue;
        if (first)
            return c;
        if (c->end_seq > 0)
            hit = c;
    }
    return hit;
}

int64_t rslt_fake_seq_start(rslt_fake_op op, const char *rel)
{
    pthread_mutex_lock(&g.mu);
    const call *c = find_call(op, rel, 1);
    int64_t s = c ? c->start_seq : -1;
    pthread_mutex_unlock(&g.mu);
    return s;
}

int64_t rslt_fake_seq_end(rslt_fake_op op, const char *rel)
{
    pthread_mutex_lock(&g.mu);
    const call *c = find_call(op, rel, 0);
    int64_t s = c ? c->end_seq : -1;
    pthread_mutex_unlock(&g.mu);
    return s;
}

void rslt_fake_foreach(void (*cb)(void *ud, const char *rel, int type), void *ud)
{
    pthread_mutex_lock(&g.mu);
    size_t n = g.n_nodes;
    char **rels = calloc(n + 1, sizeof(*rels));
    int *types = calloc(n + 1, sizeof(*types));
    if (rels == NULL || types == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        rels[i] = strdup(g.nodes[i].rel);
        types[i] = g.nodes[i].is_dir ? 'd' : 'f';
    }
    pthread_mutex_unlock(&g.mu);
    for (size_t i = 0; i < n; i++) {
        if (rels[i][0] != '\0')
            cb(ud, rels[i], types[i]);
        free(rels[i]);
    }
    free(rels);
    free(types);
}

void rslt_fake_hold(int n)
{
    pthread_mutex_lock(&g.mu);
    g.hold = n;
    g.hold_reached = 0;
    pthread_mutex_unlock(&g.mu);
}

int rslt_fake_hold_reached(void)
{
    pthread_mutex_lock(&g.mu);
    int r = g.hold_reached;
    pthread_mutex_unlock(&g.mu);
    return r;
}
