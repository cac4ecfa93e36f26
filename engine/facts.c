/*
 * facts.c - the server-facts cache. See facts.h.
 */
#define _GNU_SOURCE
#include "facts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rsl_facts_init(rsl_facts *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
}

void rsl_facts_free(rsl_facts *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].k);
        free(f->v[i].v);
    }
    free(f->v);
    pthread_mutex_destroy(&f->mu);
}

/* Replaces or appends; on out of memory the fact is simply not cached.
 * Returns 1 when the value changed (or is new). */
static int put_locked(rsl_facts *f, const char *key, const char *value)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].k, key) == 0) {
            if (strcmp(f->v[i].v, value) == 0)
                return 0;
            char *nv = strdup(value);
            if (nv) {
                free(f->v[i].v);
                f->v[i].v = nv;
            }
            return 1;
        }
    rsl_fact *n = realloc(f->v, (f->n + 1) * sizeof(*n));
    if (n == NULL)
        return 0;
    f->v = n;
    f->v[f->n].k = strdup(key);
    f->v[f->n].v = strdup(value);
    if (f->v[f->n].k && f->v[f->n].v) {
        f->n++;
        return 1;
    }
    free(f->v[f->n].k);
    free(f->v[f->n].v);
    return 0;
}

static void load_cb(void *ud, const char *k, const char *v)
{
    rsl_facts *f = ud;
    pthread_mutex_lock(&f->mu);
    put_locked(f, k, v ? v : "");
    pthread_mutex_unlock(&f->mu);
}

rsl_code rsl_facts_load(rsl_facts *f, rsl_state *st, rsl_err *err)
{
    return rsl_state_kv_foreach(st, load_cb, f, err);
}

rsl_code rsl_facts_save(rsl_facts *f, rsl_state *st, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; f->dirty && i < f->n; i++) {
        rsl_err e;
        if (rsl_state_kv_set(st, f->v[i].k, f->v[i].v, &e) != RSL_OK && rc == RSL_OK) {
            rc = e.code;
            *err = e;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int rsl_facts_get(rsl_facts *f, const char *key, char *buf, size_t bufsz)
{
    int found = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].k, key) == 0) {
            snprintf(buf, bufsz, "%s", f->v[i].v);
            found = 1;
            break;
        }
    pthread_mutex_unlock(&f->mu);
    return found;
}

void rsl_facts_set(rsl_facts *f, const char *key, const char *value)
{
    pthread_mutex_lock(&f->mu);
    if (put_locked(f, key, value)) /* a fact learnt again is not written again */
        f->dirty = 1;
    pthread_mutex_unlock(&f->mu);
}
