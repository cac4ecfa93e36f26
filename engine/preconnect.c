/*
 * preconnect.c - the connections of a run opened at once. See preconnect.h.
 */
#include "preconnect.h"

#include <pthread.h>
#include <stdlib.h>

#include "connect.h"
#include "run_ctx.h"

enum { S_PENDING, S_DONE, S_TAKEN };

typedef struct slot {
    rsl_preconn *p;
    pthread_t th;
    int started;
    int state;
    rsl_code rc;
    rsl_conn *conn;
    rsl_err err;
} slot;

struct rsl_preconn {
    rsl_run *r;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot *s;
    int n;
};

static void *connect_main(void *arg)
{
    slot *s = arg;
    rsl_preconn *p = s->p;
    rsl_conn *conn = NULL;
    rsl_err err;
    rsl_err_clear(&err);
    rsl_code rc = rsl_connect_open(p->r, &conn, &err);
    pthread_mutex_lock(&p->mu);
    s->rc = rc;
    s->conn = rc == RSL_OK ? conn : NULL;
    s->err = err;
    s->state = S_DONE;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

rsl_preconn *rsl_preconn_start(rsl_run *r, int n)
{
    rsl_preconn *p = calloc(1, sizeof(*p));
    if (p == NULL || n < 1 || (p->s = calloc((size_t)n, sizeof(*p->s))) == NULL) {
        free(p);
        return NULL;
    }
    p->r = r;
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int started = 0;
    for (int i = 0; i < n; i++) {
        slot *s = &p->s[i];
        s->p = p;
        s->state = S_PENDING;
        if (pthread_create(&s->th, NULL, connect_main, s) == 0) {
            s->started = 1;
            started++;
        } else {
            s->state = S_TAKEN; /* nothing to hand out */
        }
    }
    if (started == 0) {
        rsl_preconn_end(p);
        return NULL;
    }
    return p;
}

/* Under the lock: a done slot with a connection, else -1. */
static int ready_ok(const rsl_preconn *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->s[i].state == S_DONE && p->s[i].rc == RSL_OK)
            return i;
    return -1;
}

/* Under the lock: slots still connecting. */
static int pending(const rsl_preconn *p)
{
    int k = 0;
    for (int i = 0; i < p->n; i++)
        k += p->s[i].state == S_PENDING;
    return k;
}

rsl_code rsl_preconn_first(rsl_preconn *p, rsl_conn **out, rsl_err *err)
{
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    int i;
    while ((i = ready_ok(p)) < 0 && pending(p) > 0)
        pthread_cond_wait(&p->cv, &p->mu);
    if (i >= 0) {
        p->s[i].state = S_TAKEN;
        *out = p->s[i].conn;
        p->s[i].conn = NULL;
        pthread_mutex_unlock(&p->mu);
        return RSL_OK;
    }
    /* every connect failed: the most telling failure, taken */
    int pick = -1;
    for (int k = 0; k < p->n; k++) {
        const slot *s = &p->s[k];
        if (s->state != S_DONE)
            continue;
        if (pick < 0 || (p->s[pick].rc == RSL_E_REMOTE_BUSY && s->rc != RSL_E_REMOTE_BUSY))
            pick = k;
    }
    rsl_code rc = RSL_E_CONNECTION_LOST;
    if (pick >= 0) {
        rc = p->s[pick].rc;
        *err = p->s[pick].err;
        p->s[pick].state = S_TAKEN;
    } else {
        rsl_err_set(err, rc, 0, "no connection could be started");
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int rsl_preconn_next(rsl_preconn *p, rsl_conn **out, rsl_code *rc, rsl_err *err)
{
    *out = NULL;
    if (p == NULL)
        return 0;
    pthread_mutex_lock(&p->mu);
    int i;
    while ((i = ready_ok(p)) < 0 && pending(p) > 0)
        pthread_cond_wait(&p->cv, &p->mu);
    if (i < 0) /* no connection: a failure not yet handed out */
        for (int k = 0; k < p->n && i < 0; k++)
            if (p->s[k].state == S_DONE)
                i = k;
    if (i >= 0) {
        slot *s = &p->s[i];
        s->state = S_TAKEN;
        *rc = s->rc;
        *err = s->err;
        *out = s->conn;
        s->conn = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    return i >= 0;
}

void rsl_preconn_end(rsl_preconn *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->n; i++) {
        slot *s = &p->s[i];
        if (s->started)
            pthread_join(s->th, NULL);
        if (s->conn != NULL)
            p->r->ops->disconnect(s->conn);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->s);
    free(p);
}
