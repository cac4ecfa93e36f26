/* Engine tests on the fake transport: failed items across runs. A transient
 * failure is retried by the next run; a persistent one waits for its retry
 * interval (30 min, doubling), unless the file changes or the operator runs
 * --only-failed. */
#include "engine_test.h"

#define MIN30 (30LL * 60 * 1000)

/* Run 1: t.txt fails with a transient code, p.txt with a persistent one. */
static void fail_one_of_each(eng *e)
{
    eng_put(e, "p.txt", "persistent");
    eng_put(e, "t.txt", "transient");
    eng_put(e, "z.txt", "fine");
    rslt_fake_fail_path(RSLT_FAKE_UPLOAD, "p.txt", RSL_E_REMOTE_PERMISSION);
    rslt_fake_fail_path(RSLT_FAKE_UPLOAD, "t.txt", RSL_E_REMOTE_BUSY);
    cr_assert_eq(eng_run(e), RSL_EXIT_PARTIAL, "%s", e->err.msg);
    cr_assert_eq(e->rec.counts.item_errors, 2);
    rslt_fake_clear_faults();
    rslt_fake_clear_counts();
}

Test(engine_retry, a_transient_failure_is_retried_by_the_next_run)
{
    eng e;
    eng_setup(&e, "eng-rt1");
    fail_one_of_each(&e);
    rsl_failure f = {0};
    cr_assert(eng_failure(&e, "t.txt", &f));
    cr_assert_eq(f.attempts, 1);
    cr_assert_eq(f.next_retry_ms, f.last_ms, "transient: due at once");

    eng_run(&e);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "t.txt.rsl-part"), 1);
    cr_assert_str_eq(eng_result_of(&e, "t.txt")->outcome, "ok");
    cr_assert(eng_same(&e, "t.txt"));
    cr_assert_not(eng_failure(&e, "t.txt", &f), "the failure row is gone once it worked");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "z.txt.rsl-part"), 0, "z.txt is in sync");
    eng_teardown(&e);
}

Test(engine_retry, a_persistent_failure_is_not_retried_before_its_interval)
{
    eng e;
    eng_setup(&e, "eng-rt2");
    fail_one_of_each(&e);
    rsl_failure f = {0};
    cr_assert(eng_failure(&e, "p.txt", &f));
    cr_assert_eq(f.next_retry_ms - f.last_ms, MIN30, "first interval: 30 minutes, got %lld ms",
                 (long long)(f.next_retry_ms - f.last_ms));

    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL, "a deferred item still counts as failing");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "p.txt.rsl-part"), 0, "not retried yet");
    const eng_result *r = eng_result_of(&e, "p.txt");
    cr_assert_not_null(r);
    cr_assert_str_eq(r->outcome, "deferred");
    cr_assert_eq(r->code, RSL_E_RETRY_DEFERRED);

    /* its interval passed (as a later run would see it) */
    eng_failure_due(&e, "p.txt", f.last_ms - 1);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "p.txt.rsl-part"), 1, "retried once due");
    cr_assert(eng_same(&e, "p.txt"));
    eng_teardown(&e);
}

Test(engine_retry, a_second_persistent_failure_doubles_the_interval)
{
    eng e;
    eng_setup(&e, "eng-rt3");
    fail_one_of_each(&e);
    rsl_failure f = {0};
    cr_assert(eng_failure(&e, "p.txt", &f));
    eng_failure_due(&e, "p.txt", f.last_ms - 1);
    rslt_fake_fail_path(RSLT_FAKE_UPLOAD, "p.txt", RSL_E_REMOTE_PERMISSION);
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "p.txt.rsl-part"), 1);
    cr_assert(eng_failure(&e, "p.txt", &f));
    cr_assert_eq(f.attempts, 2);
    cr_assert_eq(f.next_retry_ms - f.last_ms, 2 * MIN30, "second interval: 60 minutes");
    eng_teardown(&e);
}

Test(engine_retry, a_persistent_failure_is_retried_when_the_file_changes)
{
    eng e;
    eng_setup(&e, "eng-rt4");
    fail_one_of_each(&e);
    eng_put(&e, "p.txt", "persistent, renamed and fixed");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "p.txt.rsl-part"), 1);
    cr_assert(eng_same(&e, "p.txt"));
    eng_teardown(&e);
}

Test(engine_retry, only_failed_retries_at_once_and_nothing_else)
{
    eng e;
    eng_setup(&e, "eng-rt5");
    fail_one_of_each(&e);
    eng_put(&e, "new.txt", "not failing, so not part of a retry");
    e.o.only_failed = 1;
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_str_eq(e.rec.mode, "only-failed");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "p.txt.rsl-part"), 1,
                 "the interval is ignored");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "t.txt.rsl-part"), 1);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "new.txt.rsl-part"), 0);
    cr_assert_eq(rslt_fake_type("new.txt"), 0);
    eng_teardown(&e);
}
