/*
 * https_probe.c - see https_probe.h.
 */
#define _GNU_SOURCE
#include "https_probe.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "https_ops.h"

/* One request of the probe; -1 with why set when no HTTP answer came. */
static int probe_req(rsl_conn *c, const rsl_https_req *r, const char *name, long *st, char *why,
                     size_t whysz)
{
    rsl_err e = {0};
    if (rsl_https_perform(c, r, st, name, &e) == RSL_OK)
        return 0;
    snprintf(why, whysz, "%s", e.msg);
    return -1;
}

/* The two PUTs (10 bytes, then 10 more at 10-19/20), the GET back and the
 * verdict: 1 (the exact concatenation came back), 0 (refused or misapplied),
 * -1 (could not tell). *created once the probe file exists. */
static int probe_steps(rsl_conn *c, const char *url, const char *name, struct curl_slist *h,
                       struct curl_slist *hr, int *created, char *why, size_t whysz)
{
    static const char first[] = "rsl-probe-", second[] = "0123456789";
    static const char want[] = "rsl-probe-0123456789";
    long st = 0;
    rsl_https_req put1 = {.method = "PUT", .url = url, .hdrs = h, .mem = first, .mem_len = 10};
    if (probe_req(c, &put1, name, &st, why, whysz) != 0)
        return -1;
    if (st < 200 || st > 299) {
        snprintf(why, whysz, "HTTP %ld on PUT of a probe file in the remote root", st);
        return -1;
    }
    *created = 1;
    rsl_https_req put2 = {.method = "PUT", .url = url, .hdrs = hr, .mem = second, .mem_len = 10};
    if (probe_req(c, &put2, name, &st, why, whysz) != 0)
        return -1;
    if (st < 200 || st > 299) {
        snprintf(why, whysz, "HTTP %ld to a PUT with Content-Range", st);
        return 0;
    }
    rsl_https_req get = {.method = "GET", .url = url, .body_keep = 64, .body_max = 64};
    if (probe_req(c, &get, name, &st, why, whysz) != 0)
        return -1;
    const rsl_buf *b = &c->last->body;
    int more = c->last->capped || b->truncated;
    if (st == 200 && !more && b->n == 20 && memcmp(b->p, want, 20) == 0) {
        snprintf(why, whysz, "a PUT with Content-Range appended to the probe file");
        return 1;
    }
    snprintf(why, whysz,
             "the server accepted a PUT with Content-Range but the probe file then had %s%zu "
             "bytes instead of the 20 expected (header ignored or misapplied)",
             more ? "more than " : "", b->n);
    return 0;
}

/* Writes 10 bytes to a probe file, sends 10 more with Content-Range: bytes
 * 10-19/20, reads the file back and accepts only the exact concatenation (a
 * server that ignores the header and replaces the file is caught here), then
 * deletes it. Returns 1 (yes), 0 (no) or -1 (could not tell; why says why). */
static int probe_partial_put(rsl_conn *c, char *why, size_t whysz)
{
    char name[96];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof(name), "rsl-probe-%ld-%lx%lx.tmp", (long)getpid(), (long)ts.tv_sec,
             (unsigned long)ts.tv_nsec ^ (unsigned long)(uintptr_t)c);
    int result = -1, created = 0;
    struct curl_slist *h = NULL, *hr = NULL;
    char *url = rsl_https_url(c, name, 0);
    if (url == NULL || (h = rsl_https_hdr(NULL, "Expect:")) == NULL ||
        (hr = rsl_https_hdr(NULL, "Expect:")) == NULL ||
        (hr = rsl_https_hdr(hr, "Content-Range: bytes 10-19/20")) == NULL)
        snprintf(why, whysz, "out of memory");
    else
        result = probe_steps(c, url, name, h, hr, &created, why, whysz);
    if (created) {
        long st = 0;
        rsl_err e = {0};
        rsl_https_req del = {.method = "DELETE", .url = url};
        (void)rsl_https_perform(c, &del, &st, name, &e);
    }
    curl_slist_free_all(h);
    curl_slist_free_all(hr);
    free(url);
    return result;
}

/* "<fact_base>:<name>" into buf. */
static const char *fact_key(const rsl_conn *c, const char *name, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%s:%s", c->fact_base, name);
    return buf;
}

static void decide_partial_put(rsl_conn *c)
{
    const rsl_remote_opts *o = c->opts;
    char val[16], key[1200];
    fact_key(c, "partial-put", key, sizeof(key));
    if (o->cache_get && o->cache_get(o->ud, key, val, sizeof(val)) &&
        (strcmp(val, "yes") == 0 || strcmp(val, "no") == 0)) {
        c->partial_put = strcmp(val, "yes") == 0;
        c->partial_how = "cached";
        return;
    }
    if (o->readonly) {
        /* a read-only caller (verify) gets no probe file in its remote root */
        c->partial_put = 0;
        c->partial_how = "not probed: read-only connection";
        return;
    }
    char why[600];
    int r = probe_partial_put(c, why, sizeof(why));
    if (r < 0) {
        c->partial_put = 0;
        c->partial_how = "probe failed";
        rsl_https_log(c, RSL_LOG_WARN,
                      "%s%s: could not probe partial PUT support (%s); using whole-file PUT to "
                      "the temp name for this run",
                      c->host, c->root_raw, why);
        return;
    }
    c->partial_put = r;
    c->partial_how = "probed";
    rsl_https_log(c, RSL_LOG_INFO, "%s%s: partial PUT %s: %s", c->host, c->root_raw,
                  r ? "supported" : "unsupported", why);
    if (o->cache_set)
        o->cache_set(o->ud, key, r ? "yes" : "no");
}

/* A cached max-body below chunk_size and younger than the fact's age. */
static void decide_chunk(rsl_conn *c)
{
    const rsl_remote_opts *o = c->opts;
    char val[64], key[1200];
    unsigned long long bytes = 0;
    long long when = 0;
    if (o->cache_get == NULL ||
        !o->cache_get(o->ud, fact_key(c, "max-body", key, sizeof(key)), val, sizeof(val)) ||
        sscanf(val, "%llu %lld", &bytes, &when) != 2 || bytes < RSL_HTTPS_MIN_CHUNK ||
        bytes >= c->chunk)
        return;
    long long age = (long long)time(NULL) - when;
    if (age > RSL_HTTPS_FACT_MAX_AGE || age < -3600) {
        rsl_https_log(c, RSL_LOG_INFO,
                      "%s%s: the %llu-byte chunk limit learnt from HTTP 413 is %lld days old; "
                      "trying chunk_size %" PRIu64 " again",
                      c->host, c->root_raw, bytes, age / 86400, c->chunk);
        return;
    }
    c->chunk = bytes;
    c->chunk_how = "kept from an earlier HTTP 413";
}

void rsl_https_facts_load(rsl_conn *c)
{
    decide_partial_put(c);
    decide_chunk(c);
}

void rsl_https_fact_chunk(rsl_conn *c, uint64_t chunk, uint64_t refused)
{
    const rsl_remote_opts *o = c->opts;
    char key[1200], val[64];
    c->chunk = chunk;
    c->chunk_how = "learnt from HTTP 413";
    rsl_https_log(c, RSL_LOG_INFO,
                  "%s%s: HTTP 413 for a %" PRIu64 "-byte body: chunks of %" PRIu64
                  " bytes from now on (kept for this server)",
                  c->host, c->root_raw, refused, chunk);
    snprintf(val, sizeof(val), "%" PRIu64 " %lld", chunk, (long long)time(NULL));
    if (o->cache_set)
        o->cache_set(o->ud, fact_key(c, "max-body", key, sizeof(key)), val);
}

int rsl_https_facts_reprobe(rsl_conn *c, const char *why)
{
    const rsl_remote_opts *o = c->opts;
    if (o->readonly)
        return c->partial_put;
    char res[600], key[1200];
    int r = probe_partial_put(c, res, sizeof(res));
    if (r < 0) {
        c->partial_put = 0;
        c->partial_how = "probe failed";
        rsl_https_log(c, RSL_LOG_WARN,
                      "%s%s: partial PUT contradicted (%s) and it could not be probed again "
                      "(%s); whole-file PUT for this connection",
                      c->host, c->root_raw, why, res);
        return 0;
    }
    c->partial_put = r;
    c->partial_how = "probed again";
    rsl_https_log(c, RSL_LOG_WARN, "%s%s: partial PUT contradicted (%s); probed again: %s (%s)",
                  c->host, c->root_raw, why, r ? "supported" : "unsupported", res);
    if (o->cache_set)
        o->cache_set(o->ud, fact_key(c, "partial-put", key, sizeof(key)), r ? "yes" : "no");
    return r;
}
