/*
 * facts.h - the server-facts cache of a run: small key/value facts a
 * transport learnt about the server (e.g. "https:partial-put=no"), loaded
 * from the state db at the start and written back at the end of the run, so
 * a probe is not repeated on every run.
 *
 * Owns: the in-memory copy and its "changed" flag. Must not touch: the
 * network; the state db only through rsl_facts_load/rsl_facts_save (main
 * thread). Threading: get and set are thread-safe (transports call them from
 * worker threads through rsl_remote_opts.cache_get/cache_set).
 */
#ifndef RSL_FACTS_H
#define RSL_FACTS_H

#include <pthread.h>
#include <stddef.h>

#include "state/state.h"

typedef struct rsl_fact {
    char *k, *v;
} rsl_fact;

typedef struct rsl_facts {
    pthread_mutex_t mu;
    rsl_fact *v;
    size_t n;
    int dirty; /* a value changed since the load: save writes them back */
} rsl_facts;

void rsl_facts_init(rsl_facts *f);
void rsl_facts_free(rsl_facts *f);
/* Reads every pair from the state db's key/value table. */
rsl_code rsl_facts_load(rsl_facts *f, rsl_state *st, rsl_err *err);
/* Writes the pairs back when one was set during the run (inside the
 * caller's transaction); a failing write is returned, the rest still go. */
rsl_code rsl_facts_save(rsl_facts *f, rsl_state *st, rsl_err *err);
/* Returns 1 and copies the value into buf when the key exists, else 0. */
int rsl_facts_get(rsl_facts *f, const char *key, char *buf, size_t bufsz);
void rsl_facts_set(rsl_facts *f, const char *key, const char *value);

#endif
