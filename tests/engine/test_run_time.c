/* Engine tests on the fake transport: max_run_time bounds a whole run. When
 * it is reached the run takes no new file, the upload in flight stops and
 * keeps its temp file and record, the run ends RUN_TIME_EXCEEDED (exit 30,
 * outcome "interrupted"), and the next run resumes where it stopped. A run
 * that finishes in time is not touched by a bound it did not reach. */
#include "engine_test.h"

#include "engine/stop.h"

#define TMP(name) name ".rsl-part"

Test(engine_run_time, the_run_stops_at_max_run_time_and_the_next_run_resumes, .timeout = 60)
{
    eng e;
    eng_setup(&e, "rt-stop");
    const uint64_t size = 8 * MIB;
    eng_put_random(&e, "big.bin", size, 11);
    eng_put_random(&e, "later.bin", 2 * MIB, 12); /* queued behind it */
    e.job.bwlimit = 2 * MIB;                      /* a slow link: 4 s for the big file */
    e.job.max_run_time = 1;

    double t0 = rsl_stop_mono();
    int x = eng_run(&e);
    double took = rsl_stop_mono() - t0;
    cr_assert_eq(x, RSL_EXIT_TIMEOUT, "exit %d: %s", x, e.err.msg);
    cr_assert_eq(e.rec.code, RSL_E_RUN_TIME_EXCEEDED, "%s", rsl_code_name(e.rec.code));
    cr_assert_str_eq(e.rec.outcome, "interrupted");
    cr_assert(strstr(e.err.msg, "max_run_time = 1s reached") != NULL, "%s", e.err.msg);
    cr_assert_lt(took, 3.0, "stopped %.1f s after the start with max_run_time = 1s", took);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, TMP("later.bin")), 0,
                 "no file is started after the deadline");
    const eng_result *r = eng_result_of(&e, "big.bin");
    cr_assert_not_null(r);
    cr_assert_str_eq(r->outcome, "interrupted", "the file in flight is checkpointed, not failed");
    long long part = rslt_fake_size(TMP("big.bin"));
    cr_assert_gt(part, 0, "the temp keeps what was sent");
    cr_assert_lt(part, (long long)size);
    cr_assert(eng_upload_rec(&e, "big.bin", NULL), "the upload record stays for the resume");
    cr_assert_eq(rslt_fake_type("big.bin"), 0, "nothing under the final name");
    rsl_failure f;
    cr_assert_not(eng_failure(&e, "big.bin", &f), "an interrupted file is not a failure");

    /* the next run, without the bound: resumes at the kept prefix */
    e.job.bwlimit = 0;
    e.job.max_run_time = 0;
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_upload up[4];
    cr_assert_eq(rslt_fake_uploads(up, 4), 2);
    int big = strcmp(up[0].path, TMP("big.bin")) == 0 ? 0 : 1;
    cr_assert_eq(up[big].offset, (uint64_t)part, "resumed at %llu, the temp had %lld",
                 (unsigned long long)up[big].offset, part);
    cr_assert(eng_same(&e, "big.bin"));
    cr_assert(eng_same(&e, "later.bin"));
    eng_teardown(&e);
}

Test(engine_run_time, a_run_that_ends_in_time_is_not_touched)
{
    eng e;
    eng_setup(&e, "rt-fits");
    eng_put(&e, "a.txt", "alpha");
    e.job.max_run_time = 3600;
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_str_eq(e.rec.outcome, "success");
    cr_assert(eng_same(&e, "a.txt"));
    eng_teardown(&e);
}

/* The catalog's exit column: 30, like rsync's --stop-after; not a
 * partial failure even after changes were applied. */
Test(engine_run_time, run_time_exceeded_exits_30)
{
    cr_assert_eq(rsl_sync_exit_code(RSL_E_RUN_TIME_EXCEEDED, 0, 0, 0), RSL_EXIT_TIMEOUT);
    cr_assert_eq(rsl_sync_exit_code(RSL_E_RUN_TIME_EXCEEDED, 12, 0, 0), RSL_EXIT_TIMEOUT);
    cr_assert_eq(rsl_code_class(RSL_E_RUN_TIME_EXCEEDED), RSL_CLASS_SESSION);
    cr_assert_eq(rsl_code_handling(RSL_E_RUN_TIME_EXCEEDED), RSL_HANDLE_STOP);
}

/* The stop condition: the caller's flag wins over the deadline. */
Test(engine_run_time, stop_reasons)
{
    volatile sig_atomic_t flag = 0;
    rsl_stop s = {.cancel = &flag, .deadline = 0};
    cr_assert_eq(rsl_stop_check(NULL), RSL_STOP_NO);
    cr_assert_eq(rsl_stop_check(&s), RSL_STOP_NO);
    s.deadline = rsl_stop_mono() - 1;
    cr_assert_eq(rsl_stop_check(&s), RSL_STOP_DEADLINE);
    flag = 1;
    cr_assert_eq(rsl_stop_check(&s), RSL_STOP_CANCEL);
    cr_assert_eq(rsl_stop_code(RSL_STOP_DEADLINE), RSL_E_RUN_TIME_EXCEEDED);
    cr_assert_eq(rsl_stop_code(RSL_STOP_CANCEL), RSL_E_INTERRUPTED);
}
