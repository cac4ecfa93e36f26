/* Engine tests on the fake transport: how many connections a run opens
 * (engine/workers.h rsl_workers_size). A transport that carries one
 * operation at a time (RSL_CAP_NO_MULTIPLEX, as FTP) gets twice `transfers`
 * connections for small files, within max_connections, and `transfers` for
 * big ones; a server that refuses the extra ones as busy leaves the run on
 * fewer connections, not failed. */
#include "engine_test.h"

#include <time.h>

#define CAPS (RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME)

static void put_small(eng *e, int n)
{
    char name[64];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "s%03d.txt", i);
        eng_put(e, name, name);
    }
}

Test(engine_conns, small_files_without_multiplexing_get_twice_the_connections)
{
    eng e;
    eng_setup(&e, "eng-c1");
    rslt_fake_set_caps(CAPS | RSL_CAP_NO_MULTIPLEX);
    e.job.transfers = 3;
    put_small(&e, 40);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 6, "2 x transfers");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 40);
    cr_assert(eng_same(&e, "s039.txt"));
    eng_teardown(&e);
}

Test(engine_conns, max_connections_caps_the_extra_ones)
{
    eng e;
    eng_setup(&e, "eng-c2");
    rslt_fake_set_caps(CAPS | RSL_CAP_NO_MULTIPLEX);
    e.job.transfers = 3;
    e.job.max_connections = 4;
    put_small(&e, 40);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 4);
    eng_teardown(&e);
}

Test(engine_conns, multiplexing_transports_and_big_files_keep_transfers)
{
    eng e;
    eng_setup(&e, "eng-c3");
    e.job.transfers = 3;
    put_small(&e, 40);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 3, "the transport multiplexes");
    eng_teardown(&e);

    eng_setup(&e, "eng-c4");
    rslt_fake_set_caps(CAPS | RSL_CAP_NO_MULTIPLEX);
    e.job.transfers = 3;
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof(name), "big%d.bin", i);
        eng_put_random(&e, name, 2 * MIB, (unsigned)i);
    }
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 3, "files of 2 MiB: no extra connections");
    eng_teardown(&e);
}

/* From the second connect on, the server says it is busy (FTP's 421). */
static void busy_after_first(void *ud, rslt_fake_op op, const char *rel)
{
    (void)ud;
    (void)rel;
    static int n;
    if (op == RSLT_FAKE_CONNECT && __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED) == 2)
        rslt_fake_fail_connect(-1, RSL_E_REMOTE_BUSY);
}

Test(engine_conns, a_server_busy_for_the_extra_connections_leaves_the_run_on_fewer)
{
    eng e;
    eng_setup(&e, "eng-c5");
    rslt_fake_set_caps(CAPS | RSL_CAP_NO_MULTIPLEX);
    e.job.transfers = 2;
    put_small(&e, 30);
    rslt_fake_on_call(busy_after_first, NULL);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 30, "every file over the one connection");
    cr_assert_eq(e.rec.counts.files_applied, 30);
    cr_assert(eng_same(&e, "s029.txt"));
    eng_teardown(&e);
}

/* Every connect waits (at most 3 s) until `want` connects are under way at
 * once, and records the most it saw: opened one after another, the first
 * connect would wait alone. */
typedef struct overlap {
    int want, now, most;
} overlap;

static void wait_for_the_others(void *ud, rslt_fake_op op, const char *rel)
{
    (void)rel;
    overlap *o = ud;
    if (op != RSLT_FAKE_CONNECT)
        return;
    int k = __atomic_add_fetch(&o->now, 1, __ATOMIC_SEQ_CST);
    for (int most = __atomic_load_n(&o->most, __ATOMIC_SEQ_CST); k > most;
         most = __atomic_load_n(&o->most, __ATOMIC_SEQ_CST))
        if (__atomic_compare_exchange_n(&o->most, &most, k, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            break;
    for (int i = 0; i < 300 && __atomic_load_n(&o->most, __ATOMIC_SEQ_CST) < o->want; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    __atomic_sub_fetch(&o->now, 1, __ATOMIC_SEQ_CST);
}

Test(engine_conns, every_connection_of_a_run_connects_at_once)
{
    eng e;
    eng_setup(&e, "eng-c6");
    e.job.transfers = 4;
    put_small(&e, 40);
    overlap o = {.want = 4};
    rslt_fake_on_call(wait_for_the_others, &o);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 4);
    cr_assert_eq(o.most, 4, "the first connection was opened alone (%d at once)", o.most);
    cr_assert_eq(e.rec.counts.files_applied, 40);
    eng_teardown(&e);
}

/* Only the first connect gets through; the run checks and works on it. */
Test(engine_conns, the_connection_that_gets_through_first_is_the_one_the_run_uses)
{
    eng e;
    eng_setup(&e, "eng-c7");
    e.job.transfers = 4;
    put_small(&e, 12);
    rslt_fake_on_call(busy_after_first, NULL);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(e.rec.counts.files_applied, 12);
    cr_assert(eng_same(&e, "s011.txt"));
    eng_teardown(&e);
}
