/*
 * engine_test.h - helpers for the engine tests: a job built in the test
 * (source tree in a temp dir, state db beside it, destination the fake
 * transport), rsl_sync_run() in-process, and reads of the state db through
 * its API. Each Criterion test runs in its own process, so the fake remote
 * (one per process) starts empty for every test.
 */
#ifndef RSL_ENGINE_TEST_H
#define RSL_ENGINE_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/job.h"
#include "engine/retry.h"
#include "engine/sync.h"
#include "state/state.h"
#include "tests/support/fake_transport.h"
#include "tests/support/harness.h"

#define MIB (1u << 20)
#define ENG_MAX_RESULTS 1024

typedef struct eng_result {
    char path[256];
    char outcome[16];
    int code;
    int attempts;
} eng_result;

typedef struct eng {
    char *dir;
    char src[4096], db[4096];
    rsl_job job;
    rsl_retry_policy retry; /* the default attempts, without the waits */
    rsl_run_opts o;
    volatile sig_atomic_t cancel;
    rsl_run_record rec;
    rsl_err err;
    eng_result results[ENG_MAX_RESULTS];
    int n_results;
} eng;

static inline void eng_on_result(void *ud, const rsl_item_result *r, const char *cls)
{
    (void)cls;
    eng *e = ud;
    if (e->n_results == ENG_MAX_RESULTS)
        return;
    eng_result *x = &e->results[e->n_results++];
    snprintf(x->path, sizeof(x->path), "%s", r->path);
    snprintf(x->outcome, sizeof(x->outcome), "%s", r->outcome);
    x->code = r->code;
    x->attempts = r->attempts;
}

static inline void eng_on_log(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level >= RSL_LOG_WARN)
        cr_log_info("engine: %s", msg);
}

/* A job with one worker, pushing e->src to the fake remote. */
static inline void eng_setup(eng *e, const char *tag)
{
    memset(e, 0, sizeof(*e));
    e->dir = rslt_tmpdir(tag);
    snprintf(e->src, sizeof(e->src), "%s/src", e->dir);
    snprintf(e->db, sizeof(e->db), "%s/state/t.db", e->dir);
    cr_assert_eq(mkdir(e->src, 0755), 0);
    cr_assert_eq(rsl_job_init(&e->job), 0);
    e->job.name = strdup("t");
    e->job.source = strdup(e->src);
    e->job.destination = strdup(RSLT_FAKE_URL);
    e->job.state_path = strdup(e->db);
    e->job.transfers = 1;
    e->retry = rsl_retry_default();
    e->retry.first_delay_ms = 0;
    e->o = (rsl_run_opts){.max_delete_override = -1,
                          .cancel = &e->cancel,
                          .retry = &e->retry,
                          .on_result = eng_on_result,
                          .on_log = eng_on_log,
                          .ud = e};
    rslt_fake_setup();
}

static inline void eng_teardown(eng *e)
{
    rslt_fake_teardown();
    rsl_job_free(&e->job);
    rslt_rmrf(e->dir);
    free(e->dir);
}

/* One run; returns its exit code. Results of earlier runs are forgotten. */
static inline int eng_run(eng *e)
{
    e->n_results = 0;
    return rsl_sync_run(&e->job, &e->o, &e->rec, &e->err);
}

static inline void eng_put(eng *e, const char *rel, const char *content)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", e->src, rel);
    rslt_write(p, content);
}

static inline void eng_put_random(eng *e, const char *rel, uint64_t size, unsigned seed)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", e->src, rel);
    rslt_write_random(p, size, seed);
}

/* 1 when the fake remote's rel holds exactly the local file's bytes. */
static inline int eng_same(eng *e, const char *rel)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/%s", e->src, rel);
    size_t a = 0, b = 0;
    char *local = rslt_read(p, &a);
    char *remote = rslt_fake_get(rel, &b);
    int same = local && remote && a == b && memcmp(local, remote, a) == 0;
    free(local);
    free(remote);
    return same;
}

/* The last result recorded for path in the last run, or NULL. */
static inline const eng_result *eng_result_of(const eng *e, const char *path)
{
    for (int i = e->n_results; i-- > 0;)
        if (strcmp(e->results[i].path, path) == 0)
            return &e->results[i];
    return NULL;
}

/* How many results the last run recorded for path. */
static inline int eng_results_for(const eng *e, const char *path)
{
    int n = 0;
    for (int i = 0; i < e->n_results; i++)
        n += strcmp(e->results[i].path, path) == 0;
    return n;
}

static inline rsl_state *eng_state(eng *e)
{
    rsl_state *st = NULL;
    rsl_err err;
    cr_assert_eq(rsl_state_open(&st, e->db, RSL_STATE_READONLY, &err), RSL_OK, "%s", err.msg);
    return st;
}

/* The failures-table row for path: 1 and *out filled, or 0. */
static inline int eng_failure(eng *e, const char *path, rsl_failure *out)
{
    rsl_state *st = eng_state(e);
    rsl_failure *f = NULL;
    size_t n = 0;
    rsl_err err;
    cr_assert_eq(rsl_state_failures_load(st, &f, &n, &err), RSL_OK, "%s", err.msg);
    rsl_failure *hit = rsl_failures_find(f, n, path);
    if (hit) {
        *out = *hit;
        out->path = NULL;
    }
    rsl_failures_free(f, n);
    rsl_state_close(st);
    return hit != NULL;
}

/* Moves a failure's retry time: the state API, as a later run would see it. */
static inline void eng_failure_due(eng *e, const char *path, int64_t next_retry_ms)
{
    rsl_failure f;
    cr_assert(eng_failure(e, path, &f), "no failure row for %s", path);
    f.path = (char *)path;
    f.next_retry_ms = next_retry_ms;
    rsl_state *st = NULL;
    rsl_err err;
    cr_assert_eq(rsl_state_open(&st, e->db, RSL_STATE_RDWR, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_state_failure_put(st, &f, &err), RSL_OK, "%s", err.msg);
    rsl_state_close(st);
}

/* The upload record for path: 1 and *size filled, or 0. */
static inline int eng_upload_rec(eng *e, const char *path, uint64_t *size)
{
    rsl_state *st = eng_state(e);
    rsl_upload_rec *u = NULL;
    size_t n = 0;
    rsl_err err;
    cr_assert_eq(rsl_state_uploads_load(st, &u, &n, &err), RSL_OK, "%s", err.msg);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].path, path) == 0) {
            found = 1;
            if (size)
                *size = u[i].local_size;
        }
    rsl_uploads_free(u, n);
    rsl_state_close(st);
    return found;
}

/* The manifest row for path: 1 found (pending and type filled), 0 absent. */
static inline int eng_manifest(rsl_state *st, const char *path, int *pending, int *type)
{
    rsl_manifest_row row;
    if (!rsl_state_manifest_get(st, path, &row))
        return 0;
    if (pending)
        *pending = row.pending;
    if (type)
        *type = row.type;
    return 1;
}

#endif
