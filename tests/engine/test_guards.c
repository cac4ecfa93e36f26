/* Engine tests on the fake transport: the guards. Every write refused stops
 * the run early (ALL_WRITES_FAILED) instead of failing every file the same
 * way; pending manifest rows are written ahead of the first remote change. */
#include "engine_test.h"

#include "engine/workers.h"

static void put_files(eng *e, int n)
{
    char name[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "f%02d.txt", i);
        eng_put(e, name, name);
    }
}

Test(engine_guards, every_write_refused_stops_after_the_limit)
{
    eng e;
    eng_setup(&e, "eng-g1");
    put_files(&e, 20);
    rslt_fake_fail_every(RSLT_FAKE_UPLOAD, RSL_E_REMOTE_NO_SPACE);

    int x = eng_run(&e);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), RSL_ALL_FAIL_LIMIT,
                 "stopped after %d refused writes, not %d", RSL_ALL_FAIL_LIMIT,
                 rslt_fake_calls(RSLT_FAKE_UPLOAD));
    cr_assert_eq(e.rec.code, RSL_E_ALL_WRITES_FAILED);
    cr_assert_eq(x, RSL_EXIT_SESSION);
    cr_assert_eq(e.rec.counts.item_errors, RSL_ALL_FAIL_LIMIT, "each refused file is recorded");
    eng_teardown(&e);
}

/* With several workers the files in flight when the guard trips still
 * finish; no new file is handed out after it. */
Test(engine_guards, every_write_refused_stops_early_with_several_workers)
{
    eng e;
    eng_setup(&e, "eng-g1b");
    e.job.transfers = 4;
    put_files(&e, 40);
    rslt_fake_fail_every(RSLT_FAKE_UPLOAD, RSL_E_REMOTE_PERMISSION);

    int x = eng_run(&e);
    int n = rslt_fake_calls(RSLT_FAKE_UPLOAD);
    cr_assert_geq(n, RSL_ALL_FAIL_LIMIT);
    cr_assert_lt(n, RSL_ALL_FAIL_LIMIT + 4, "at most one file in flight per other worker: %d", n);
    cr_assert_eq(e.rec.code, RSL_E_ALL_WRITES_FAILED);
    cr_assert_eq(x, RSL_EXIT_SESSION);
    cr_assert_eq(e.rec.counts.item_errors, n);
    eng_teardown(&e);
}

Test(engine_guards, one_write_that_worked_disarms_the_guard)
{
    eng e;
    eng_setup(&e, "eng-g2");
    put_files(&e, 20);
    char name[32];
    for (int i = 1; i < 20; i++) {
        snprintf(name, sizeof(name), "f%02d.txt", i);
        rslt_fake_fail_path(RSLT_FAKE_UPLOAD, name, RSL_E_REMOTE_PERMISSION);
    }
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 20, "every file was tried");
    cr_assert_eq(e.rec.code, 0);
    eng_teardown(&e);
}

/* What the state db says at the moment of the first remote change. */
typedef struct ahead {
    const char *db;
    int checked;
    int dir_pending, file_pending, deep_pending, rows_missing;
} ahead;

static void check_pending(void *ud, rslt_fake_op op, const char *rel)
{
    (void)rel;
    ahead *a = ud;
    if (a->checked || !(op == RSLT_FAKE_MKDIR || op == RSLT_FAKE_UPLOAD || op == RSLT_FAKE_FINISH ||
                        op == RSLT_FAKE_REMOVE))
        return;
    a->checked = 1;
    rsl_state *st = NULL;
    rsl_err err;
    if (rsl_state_open(&st, a->db, RSL_STATE_READONLY, &err) != RSL_OK) {
        a->rows_missing = -1;
        return;
    }
    int p = 0;
    a->rows_missing += !eng_manifest(st, "d", &p, NULL);
    a->dir_pending = p;
    p = 0;
    a->rows_missing += !eng_manifest(st, "top.txt", &p, NULL);
    a->file_pending = p;
    p = 0;
    a->rows_missing += !eng_manifest(st, "d/in.txt", &p, NULL);
    a->deep_pending = p;
    rsl_state_close(st);
}

Test(engine_guards, pending_rows_exist_before_the_first_remote_change)
{
    eng e;
    eng_setup(&e, "eng-g3");
    eng_put(&e, "d/in.txt", "inside");
    eng_put(&e, "top.txt", "top");
    ahead a = {.db = e.db};
    rslt_fake_on_call(check_pending, &a);

    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert(a.checked, "the remote was changed");
    cr_assert_eq(a.rows_missing, 0, "every item to create has a manifest row before the change");
    cr_assert(a.dir_pending && a.file_pending && a.deep_pending, "... and it is pending");

    rsl_state *st = eng_state(&e);
    int p = 1;
    cr_assert(eng_manifest(st, "d/in.txt", &p, NULL));
    cr_assert_eq(p, 0, "in sync once recorded");
    rsl_state_close(st);
    eng_teardown(&e);
}
