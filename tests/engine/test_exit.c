/* Engine tests: exit codes and outcomes. rsl_sync_exit_code on every branch
 * (a pure function), then whole runs on the fake transport ending in each
 * outcome the catalog's exit column knows. */
#include "engine_test.h"

#include "engine/lock.h"

Test(engine_exit, success_is_zero)
{
    cr_assert_eq(rsl_sync_exit_code(RSL_OK, 0, 0, 0), RSL_EXIT_OK);
    cr_assert_eq(rsl_sync_exit_code(RSL_OK, 10, 0, 0), RSL_EXIT_OK);
}

Test(engine_exit, item_errors_are_partial_and_only_vanished_is_24)
{
    cr_assert_eq(rsl_sync_exit_code(RSL_OK, 5, 2, 0), RSL_EXIT_PARTIAL);
    cr_assert_eq(rsl_sync_exit_code(RSL_OK, 0, 2, 0), RSL_EXIT_PARTIAL,
                 "nothing applied: still 23");
    cr_assert_eq(rsl_sync_exit_code(RSL_OK, 5, 2, 1), RSL_EXIT_PARTIAL, "one vanished, one not");
    cr_assert_eq(rsl_sync_exit_code(RSL_OK, 5, 2, 2), RSL_EXIT_VANISHED);
}

Test(engine_exit, a_session_error_takes_the_catalogs_exit_column)
{
    cr_assert_eq(rsl_sync_exit_code(RSL_E_CONNECT_REFUSED, 0, 0, 0), RSL_EXIT_SESSION);
    cr_assert_eq(rsl_sync_exit_code(RSL_E_AUTH_FAILED, 0, 3, 0), RSL_EXIT_SESSION);
    cr_assert_eq(rsl_sync_exit_code(RSL_E_TIMEOUT, 0, 0, 0), RSL_EXIT_TIMEOUT);
    cr_assert_eq(rsl_sync_exit_code(RSL_E_JOB_LOCKED, 0, 0, 0), RSL_EXIT_LOCKED);
    cr_assert_eq(rsl_sync_exit_code(RSL_E_INTERRUPTED, 0, 0, 0), RSL_EXIT_INTERRUPTED);
    cr_assert_eq(rsl_sync_exit_code(RSL_E_CONFIG_BAD_VALUE, 0, 0, 0), RSL_EXIT_USAGE);
    for (size_t i = 0; i < rsl_catalog_count(); i++) {
        const rsl_catalog_entry *c = rsl_catalog_at(i);
        if (c->number != 0)
            cr_assert_eq(rsl_sync_exit_code((rsl_code)c->number, 0, 0, 0), (int)c->exit_code, "%s",
                         c->name);
    }
}

Test(engine_exit, a_session_error_after_changes_is_partial_unless_its_exit_says_more)
{
    cr_assert_eq(rsl_sync_exit_code(RSL_E_CONNECTION_LOST, 1, 0, 0), RSL_EXIT_PARTIAL);
    cr_assert_eq(rsl_sync_exit_code(RSL_E_ALL_WRITES_FAILED, 4, 8, 0), RSL_EXIT_PARTIAL);
    cr_assert_eq(rsl_sync_exit_code(RSL_E_TIMEOUT, 1, 0, 0), RSL_EXIT_TIMEOUT);
    cr_assert_eq(rsl_sync_exit_code(RSL_E_INTERRUPTED, 7, 0, 0), RSL_EXIT_INTERRUPTED);
}

Test(engine_exit, a_clean_run_succeeds)
{
    eng e;
    eng_setup(&e, "eng-x1");
    eng_put(&e, "a.txt", "alpha");
    cr_assert_eq(eng_run(&e), RSL_EXIT_OK, "%s", e.err.msg);
    cr_assert_str_eq(e.rec.outcome, "success");
    cr_assert_eq(e.rec.exit_code, 0);
    cr_assert_eq(e.rec.counts.files_applied, 1);
    /* nothing changed and remote_check = never: no connection at all (the
     * default checks the remote on every run: test_remote_check.c) */
    rslt_fake_clear_counts();
    e.job.remote_check = RSL_RCHECK_NEVER;
    cr_assert_eq(eng_run(&e), RSL_EXIT_OK);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 0,
                 "a no-change run never contacts the remote");
    eng_teardown(&e);
}

/* a.txt disappears after the plan, before its upload. */
static void vanish(void *ud, rslt_fake_op op, const char *rel)
{
    (void)rel;
    if (op == RSLT_FAKE_MKDIR)
        unlink(ud);
}

Test(engine_exit, files_that_vanished_are_24)
{
    eng e;
    eng_setup(&e, "eng-x2");
    eng_put(&e, "d/keep.txt", "kept");
    eng_put(&e, "a.txt", "alpha");
    char path[8192];
    snprintf(path, sizeof(path), "%s/a.txt", e.src);
    rslt_fake_on_call(vanish, path);
    cr_assert_eq(eng_run(&e), RSL_EXIT_VANISHED, "%s", e.err.msg);
    cr_assert_eq(eng_result_of(&e, "a.txt")->code, RSL_E_LOCAL_VANISHED);
    cr_assert_str_eq(e.rec.outcome, "partial_failure");
    eng_teardown(&e);
}

/* A signal arrives during the first upload. */
static void cancel_on_upload(void *ud, rslt_fake_op op, const char *rel)
{
    (void)rel;
    if (op == RSLT_FAKE_UPLOAD)
        __atomic_store_n((volatile sig_atomic_t *)ud, 1, __ATOMIC_RELAXED);
}

Test(engine_exit, an_interrupted_run_is_20_and_takes_no_new_file)
{
    eng e;
    eng_setup(&e, "eng-x3");
    eng_put(&e, "a.txt", "alpha");
    eng_put(&e, "b.txt", "beta");
    rslt_fake_on_call(cancel_on_upload, (void *)&e.cancel);
    cr_assert_eq(eng_run(&e), RSL_EXIT_INTERRUPTED, "%s", e.err.msg);
    cr_assert_str_eq(e.rec.outcome, "interrupted");
    cr_assert_eq(e.rec.code, RSL_E_INTERRUPTED);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 1, "b.txt was not started");
    cr_assert_str_eq(eng_result_of(&e, "a.txt")->outcome, "interrupted");
    eng_teardown(&e);
}

Test(engine_exit, a_locked_job_is_75_and_records_nothing)
{
    eng e;
    eng_setup(&e, "eng-x4");
    eng_put(&e, "a.txt", "alpha");
    char dir[8192];
    snprintf(dir, sizeof(dir), "%s/state", e.dir);
    mkdir(dir, 0700);
    int fd = -1;
    rsl_err err;
    cr_assert_eq(rsl_lock_acquire(e.db, &fd, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(eng_run(&e), RSL_EXIT_LOCKED);
    cr_assert_eq(e.rec.code, RSL_E_JOB_LOCKED);
    cr_assert_str_eq(e.rec.outcome, "failure");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 0);
    rsl_lock_release(fd);
    eng_teardown(&e);
}

Test(engine_exit, an_unknown_scheme_is_a_usage_error)
{
    eng e;
    eng_setup(&e, "eng-x5");
    rslt_fake_teardown(); /* "fake" is no longer a scheme */
    cr_assert_eq(eng_run(&e), RSL_EXIT_USAGE);
    cr_assert_eq(e.rec.code, RSL_E_SCHEME_UNSUPPORTED);
    rsl_job_free(&e.job);
    rslt_rmrf(e.dir);
    free(e.dir);
}
