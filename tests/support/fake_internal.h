/*
 * fake_internal.h - the inside of the fake transport (fake_transport.h),
 * shared by its two files: fake_transport.c (the tree, the call log and
 * faults, the classic calls, the test side) and fake_pipeline.c (run()
 * and the ranged writes: PUT_RANGE, FINISH, write_range). Nothing else
 * includes it.
 *
 * Owns: the remote's types and its one global state (under g.mu).
 */
#ifndef RSL_TEST_FAKE_INTERNAL_H
#define RSL_TEST_FAKE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_transport.h"
#include "transports/transport.h"
#include "transports/xfer.h"

#define CHUNK 65536
#define MAX_RULES 32

typedef struct node {
    char *rel;
    int is_dir;
    unsigned char *data;
    size_t len, cap;
    int64_t mtime;
} node;

typedef struct call {
    rslt_fake_op op;
    char *rel, *rel2; /* finish: temp and final name */
    uint64_t offset, total;
    int conn;
    int64_t start_seq, end_seq; /* end_seq: when it succeeded (0: not, or not yet) */
} call;

typedef struct rule {
    rslt_fake_op op;
    int nth;   /* > 0: the nth call; < 0: every call */
    char *rel; /* nth == 0: calls for this item */
    rsl_code code;
} rule;

struct rsl_conn {
    int id;
    int dead;         /* cut: every later call fails */
    uint64_t carried; /* upload bytes on this connection */
    char suffix[64];
    const rsl_remote_opts *opts; /* the engine's, valid while connected */
    int asked_early;             /* rslt_fake_record_early ran for it */
};

struct rslt_fake_g {
    pthread_mutex_t mu;
    int live;
    node *nodes;
    size_t n_nodes;
    call *calls;
    size_t n_calls;
    int counts[RSLT_FAKE_NOPS];
    rule rules[MAX_RULES];
    size_t n_rules;
    unsigned caps;
    long rtt_us;       /* what link_rtt_us() answers (-1: unknown) */
    int rtt_calls;     /* link_rtt_us() calls */
    int connect_fails; /* < 0: always */
    rsl_code connect_code;
    uint64_t cut_bytes;
    int cut_times; /* < 0: always; 0: never */
    int next_conn, open_conns;
    int probes;  /* atomic */
    char *early; /* the last connect's opts->early_stat, one per line */
    void (*hook)(void *, rslt_fake_op, const char *);
    void *hook_ud;
    int64_t seq;       /* one clock for the starts and ends of calls */
    int window;        /* > 0: the pipelined table (run()) is registered */
    int max_in_flight; /* most ops one connection had taken and not done */
    int out_of_order;  /* ops completed while one taken earlier was still in flight */
    int hold;          /* run() completes nothing before it has taken this many ops */
    int hold_reached;
};

extern struct rslt_fake_g rslt_fake_g;
/* The call the current thread is in (its index in g.calls). */
extern __thread size_t rslt_fake_tl_call;
#define g rslt_fake_g
#define tl_call rslt_fake_tl_call

/* ---- the tree and the call log (callers hold g.mu) ---- */
node *fk_find(const char *rel);
int fk_parent_ok(const char *rel);
void fk_set_len(node *n, size_t len);
/* Runs the hook, then logs the call under the lock; returns with g.mu held
 * and the injected code (RSL_OK: go on). */
rsl_code fk_enter(rslt_fake_op op, rsl_conn *c, const char *rel, const char *rel2, rsl_err *err);
/* The current call succeeded (callers hold g.mu). */
void fk_ended(rsl_code rc);
/* fk_ended, then unlocks. */
rsl_code fk_leave(rsl_code rc);
/* The temp file an upload writes to, created or cut to `offset` bytes. */
rsl_code fk_open_temp(const char *rel, uint64_t offset, rsl_err *err);
/* Stores got bytes of an upload at the end of rel, or only those before
 * the cut (CONNECTION_LOST when the connection was cut). */
rsl_code fk_store(rsl_conn *c, const char *rel, const unsigned char *buf, size_t got, rsl_err *err);
/* ... at offset off (the gap before it zero-filled). */
rsl_code fk_store_at(rsl_conn *c, const char *rel, uint64_t off, const unsigned char *buf,
                     size_t got, rsl_err *err);
/* The temp file a range is written into: created when absent, never cut. */
rsl_code fk_range_temp(const char *rel, rsl_err *err);

/* ---- the classic calls (fake_transport.c) ---- */
unsigned f_caps_of(rsl_conn *c);
rsl_code f_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err);
rsl_code f_mkdir(rsl_conn *c, const char *rel, rsl_err *err);
rsl_code f_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total, rsl_source *src,
                         uint64_t *have, rsl_err *err);
rsl_code f_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                  int64_t mtime, rsl_err *err);
rsl_code f_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err);

/* ---- fake_pipeline.c ---- */
rsl_code f_run(rsl_conn *c, const rsl_feed *feed, rsl_err *err);
rsl_code f_write_range(rsl_conn *c, const char *tmp_rel, uint64_t off, uint64_t len, int check,
                       rsl_source *src, uint64_t *kept, uint64_t *sent, rsl_err *err);

/* Asks opts->early_stat once for connection c (its first run) and keeps
 * the answer for rslt_fake_early(). */
void rslt_fake_record_early(rsl_conn *c);

#endif
