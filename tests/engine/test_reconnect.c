/* Engine tests on the fake transport: what a failed call does to the
 * connection. A code whose catalog handling is RECONNECT reconnects at most
 * RSL_RETRY_MAX_ATTEMPTS times; STOP codes (AUTH_FAILED, NO_MEMORY) never
 * reconnect and stop the run, even from a single item; the run's exit code
 * comes from the catalog's exit column. */
#include "engine_test.h"

/* The upload is cut, and every reconnect times out: one connect for the run,
 * then exactly MAX_ATTEMPTS more, and the run fails with TIMEOUT's exit code. */
Test(engine_reconnect, a_lost_connection_reconnects_at_most_max_attempts_then_fails)
{
    eng e;
    eng_setup(&e, "eng-rc1");
    eng_put(&e, "a.txt", "alpha");
    rslt_fake_fail_nth(RSLT_FAKE_UPLOAD, 1, RSL_E_CONNECTION_LOST);
    for (int i = 2; i <= 10; i++)
        rslt_fake_fail_nth(RSLT_FAKE_CONNECT, i, RSL_E_TIMEOUT);

    int x = eng_run(&e);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1 + RSL_RETRY_MAX_ATTEMPTS, "connects: %d",
                 rslt_fake_calls(RSLT_FAKE_CONNECT));
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 1, "no upload without a connection");
    cr_assert_eq(e.rec.code, RSL_E_TIMEOUT, "the session error is the reconnect's: %s",
                 rsl_code_name(e.rec.code));
    cr_assert_eq(x, RSL_EXIT_TIMEOUT, "exit %d: the catalog's exit column for TIMEOUT", x);
    cr_assert_eq(x, (int)rsl_code_exit(RSL_E_TIMEOUT));
    cr_assert_str_eq(e.rec.outcome, "failure");
    const eng_result *r = eng_result_of(&e, "a.txt");
    cr_assert_not_null(r, "the item in flight is recorded too");
    cr_assert_eq(r->code, RSL_E_CONNECTION_LOST);
    cr_assert_eq(rslt_fake_open_connections(), 0);
    eng_teardown(&e);
}

/* As above after a directory was created: something was applied, so a
 * session error whose exit is 5 becomes a partial failure (23). */
Test(engine_reconnect, a_session_lost_after_changes_is_a_partial_failure)
{
    eng e;
    eng_setup(&e, "eng-rc2");
    eng_put(&e, "d/a.txt", "alpha");
    rslt_fake_fail_nth(RSLT_FAKE_UPLOAD, 1, RSL_E_CONNECTION_LOST);
    for (int i = 2; i <= 10; i++)
        rslt_fake_fail_nth(RSLT_FAKE_CONNECT, i, RSL_E_CONNECT_REFUSED);

    int x = eng_run(&e);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1 + RSL_RETRY_MAX_ATTEMPTS);
    cr_assert_eq(rslt_fake_type("d"), 'd');
    cr_assert_eq(e.rec.code, RSL_E_CONNECT_REFUSED);
    cr_assert_eq(x, RSL_EXIT_PARTIAL, "exit %d", x);
    cr_assert_str_eq(e.rec.outcome, "partial_failure");
    eng_teardown(&e);
}

/* A connection that drops on every upload of one file: that file is tried
 * MAX_ATTEMPTS times (reconnecting in between), then fails alone; the next
 * file goes through on the same worker. */
Test(engine_reconnect, a_dropping_item_is_tried_max_attempts_times_then_fails_alone)
{
    eng e;
    eng_setup(&e, "eng-rc3");
    eng_put(&e, "a.txt", "alpha");
    eng_put(&e, "b.txt", "beta");
    rslt_fake_fail_path(RSLT_FAKE_UPLOAD, "a.txt", RSL_E_CONNECTION_LOST);

    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "a.txt.rsl-part"), RSL_RETRY_MAX_ATTEMPTS);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), RSL_RETRY_MAX_ATTEMPTS,
                 "the first connection plus one reconnect per retry");
    const eng_result *a = eng_result_of(&e, "a.txt");
    cr_assert_str_eq(a->outcome, "failed");
    cr_assert_eq(a->code, RSL_E_CONNECTION_LOST);
    cr_assert_str_eq(eng_result_of(&e, "b.txt")->outcome, "ok");
    cr_assert(eng_same(&e, "b.txt"));
    cr_assert_eq(rslt_fake_open_connections(), 0);
    eng_teardown(&e);
}

/* Directories go over the main connection: the same limit applies there. */
Test(engine_reconnect, a_main_connection_call_reconnects_at_most_max_attempts)
{
    eng e;
    eng_setup(&e, "eng-rc4");
    eng_put(&e, "d/a.txt", "alpha");
    rslt_fake_fail_every(RSLT_FAKE_MKDIR, RSL_E_CONNECTION_LOST);

    int x = eng_run(&e);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_MKDIR), RSL_RETRY_MAX_ATTEMPTS);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), RSL_RETRY_MAX_ATTEMPTS);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 0, "a session error stops the run");
    cr_assert_eq(e.rec.code, RSL_E_CONNECTION_LOST);
    cr_assert_eq(x, RSL_EXIT_SESSION);
    eng_teardown(&e);
}

Test(engine_reconnect, auth_failed_at_connect_is_not_retried)
{
    eng e;
    eng_setup(&e, "eng-rc5");
    eng_put(&e, "a.txt", "alpha");
    rslt_fake_fail_connect(-1, RSL_E_AUTH_FAILED);

    int x = eng_run(&e);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1, "credentials do not get better");
    cr_assert_eq(e.rec.code, RSL_E_AUTH_FAILED);
    cr_assert_eq(x, RSL_EXIT_SESSION);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 0);
    eng_teardown(&e);
}

/* The connection drops; the reconnect is refused for the credentials: no
 * further connect attempt, the run fails with AUTH_FAILED. */
Test(engine_reconnect, auth_failed_on_reconnect_stops_at_once)
{
    eng e;
    eng_setup(&e, "eng-rc6");
    eng_put(&e, "a.txt", "alpha");
    rslt_fake_fail_nth(RSLT_FAKE_UPLOAD, 1, RSL_E_CONNECTION_LOST);
    for (int i = 2; i <= 10; i++)
        rslt_fake_fail_nth(RSLT_FAKE_CONNECT, i, RSL_E_AUTH_FAILED);

    int x = eng_run(&e);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 2, "one reconnect attempt, not %d",
                 rslt_fake_calls(RSLT_FAKE_CONNECT) - 1);
    cr_assert_eq(e.rec.code, RSL_E_AUTH_FAILED);
    cr_assert_eq(x, RSL_EXIT_SESSION);
    eng_teardown(&e);
}

/* A STOP code from an item call (the catalog's handling column) stops the
 * run as a session error: no reconnect, no new op fed (b.txt is never
 * started), the outcome and exit code come from that code. */
Test(engine_reconnect, no_memory_from_an_item_stops_the_run_without_a_reconnect)
{
    eng e;
    eng_setup(&e, "eng-rc7");
    eng_put(&e, "a.txt", "alpha");
    eng_put(&e, "b.txt", "beta");
    rslt_fake_fail_nth(RSLT_FAKE_UPLOAD, 1, RSL_E_NO_MEMORY);

    int x = eng_run(&e);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1, "never reconnected");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "a.txt.rsl-part"), 1, "tried once");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 1, "b.txt was not started");
    cr_assert_eq(eng_result_of(&e, "a.txt")->code, RSL_E_NO_MEMORY);
    cr_assert_null(eng_result_of(&e, "b.txt"));
    cr_assert_eq(e.rec.code, RSL_E_NO_MEMORY);
    cr_assert_eq(x, RSL_EXIT_SESSION, "exit %d: the catalog's exit column for NO_MEMORY", x);
    cr_assert_str_eq(e.rec.outcome, "failure");
    cr_assert_eq(rslt_fake_type("b.txt"), 0);
    eng_teardown(&e);
}

/* A worker that cannot connect leaves its share to the others: every file
 * arrives, and it is not a session error while a worker is left. The remote
 * check is off so that all three connects start together for the workers
 * (with it, one starts during the plan; which of them is the second to
 * reach the server then depends on the scheduler, and when the refused one
 * is that early one, a worker rightly connects a fourth time). */
Test(engine_reconnect, a_worker_that_cannot_connect_leaves_its_share)
{
    eng e;
    eng_setup(&e, "eng-rc8");
    e.job.transfers = 3;
    e.job.remote_check = RSL_RCHECK_NEVER;
    char name[32];
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof(name), "f%02d.txt", i);
        eng_put(&e, name, name);
    }
    rslt_fake_fail_nth(RSLT_FAKE_CONNECT, 2, RSL_E_CONNECT_REFUSED);

    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 3, "connects: %d",
                 rslt_fake_calls(RSLT_FAKE_CONNECT));
    cr_assert_eq(e.rec.counts.files_applied, 12);
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof(name), "f%02d.txt", i);
        cr_assert(eng_same(&e, name), "%s", name);
    }
    cr_assert_eq(rslt_fake_open_connections(), 0);
    eng_teardown(&e);
}
