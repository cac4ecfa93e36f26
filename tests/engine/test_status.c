/* Engine tests on the fake transport: what the status trusts. A failure row
 * whose path is gone from the source (renamed, deleted, now excluded) is
 * resolved by the run that notices, with a result saying so; a failed delete
 * clears its row once it succeeds; `unchanged` counts files only; a dry run
 * whose deletions exceed max_delete shows its plan, then says the run would
 * refuse. */
#include "engine_test.h"

/* The result of the last run for path with outcome, or NULL. */
static const eng_result *outcome_of(const eng *e, const char *path, const char *outcome)
{
    for (int i = 0; i < e->n_results; i++)
        if (strcmp(e->results[i].path, path) == 0 && strcmp(e->results[i].outcome, outcome) == 0)
            return &e->results[i];
    return NULL;
}

typedef struct msgs {
    char last[ENG_MAX_RESULTS][160];
    int n;
} msgs;

static msgs g_msgs;

static void on_result_msg(void *ud, const rsl_item_result *r, const char *cls)
{
    eng_on_result(ud, r, cls);
    if (g_msgs.n < ENG_MAX_RESULTS)
        snprintf(g_msgs.last[g_msgs.n++], sizeof(g_msgs.last[0]), "%s %s: %s", r->outcome, r->path,
                 r->message);
}

static int saw(const char *line)
{
    for (int i = 0; i < g_msgs.n; i++)
        if (strcmp(g_msgs.last[i], line) == 0)
            return 1;
    return 0;
}

/* The README's advice for a forbidden character is to rename the file: the
 * old name's failure goes with the run that sees it gone. */
Test(engine_status, a_failure_for_a_renamed_file_is_resolved)
{
    eng e;
    eng_setup(&e, "st-rename");
    free(e.job.forbidden_chars);
    e.job.forbidden_chars = strdup(":");
    e.o.on_result = on_result_msg;
    eng_put(&e, "ok.txt", "ok");
    eng_put(&e, "d/b:ad.txt", "bad name");
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL, "%s", e.err.msg);
    rsl_failure f;
    cr_assert(eng_failure(&e, "d/b:ad.txt", &f));
    cr_assert_eq(f.code, RSL_E_NAME_FORBIDDEN_CHAR);

    char a[8192], b[8192];
    snprintf(a, sizeof(a), "%s/d/b:ad.txt", e.src);
    snprintf(b, sizeof(b), "%s/d/bad.txt", e.src);
    cr_assert_eq(rename(a, b), 0);
    g_msgs.n = 0;
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(e.rec.counts.item_errors, 0);
    cr_assert_str_eq(e.rec.outcome, "success");
    cr_assert_not(eng_failure(&e, "d/b:ad.txt", &f), "the old name's failure row is gone");
    cr_assert_not_null(outcome_of(&e, "d/b:ad.txt", "resolved"));
    cr_assert(saw("resolved d/b:ad.txt: gone from the source"), "a result line says why");
    cr_assert(eng_same(&e, "d/bad.txt"), "the new name is sent");

    /* and nothing about it on the next run */
    g_msgs.n = 0;
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(eng_results_for(&e, "d/b:ad.txt"), 0);
    eng_teardown(&e);
}

Test(engine_status, failures_of_vanished_and_excluded_items_are_resolved)
{
    eng e;
    eng_setup(&e, "st-gone");
    e.o.on_result = on_result_msg;
    eng_put(&e, "keep.txt", "keep");
    eng_put(&e, "gone.txt", "gone");
    eng_put(&e, "logs/x.log", "log");
    rslt_fake_fail_path(RSLT_FAKE_UPLOAD, "gone.txt", RSL_E_REMOTE_PERMISSION);
    rslt_fake_fail_path(RSLT_FAKE_UPLOAD, "logs/x.log", RSL_E_REMOTE_PERMISSION);
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL);
    rsl_failure f;
    cr_assert(eng_failure(&e, "gone.txt", &f));
    cr_assert(eng_failure(&e, "logs/x.log", &f));

    char p[8192];
    snprintf(p, sizeof(p), "%s/gone.txt", e.src);
    cr_assert_eq(unlink(p), 0);
    char **ex = calloc(1, sizeof(*ex));
    ex[0] = strdup("logs/");
    e.job.excludes = ex;
    e.job.n_excludes = 1;
    g_msgs.n = 0;
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_not(eng_failure(&e, "gone.txt", &f));
    cr_assert_not(eng_failure(&e, "logs/x.log", &f));
    cr_assert(saw("resolved gone.txt: gone from the source"));
    cr_assert(saw("resolved logs/x.log: excluded now (exclude = logs/)"));
    eng_teardown(&e);
}

/* A failed delete is retried by the next run; once it works its row goes
 * (it used to stay for ever: the delete did not carry its attempts). */
Test(engine_status, a_failed_delete_clears_its_row_once_deleted)
{
    eng e;
    eng_setup(&e, "st-del");
    e.job.delete_ = 1;
    eng_put(&e, "a.txt", "a");
    eng_put(&e, "old.txt", "old");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    char p[8192];
    snprintf(p, sizeof(p), "%s/old.txt", e.src);
    cr_assert_eq(unlink(p), 0);
    rslt_fake_fail_path(RSLT_FAKE_REMOVE, "old.txt", RSL_E_REMOTE_DELETE_FAILED);
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL);
    rsl_failure f;
    cr_assert(eng_failure(&e, "old.txt", &f), "the failed delete is recorded");
    cr_assert_eq(f.attempts, 1);
    rslt_fake_clear_faults();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_type("old.txt"), 0, "deleted now");
    cr_assert_not(eng_failure(&e, "old.txt", &f), "and its failure row is gone");
    const eng_result *r = eng_result_of(&e, "old.txt");
    cr_assert(r && strcmp(r->outcome, "ok") == 0 && r->attempts == 2, "attempt 2 worked");
    eng_teardown(&e);
}

Test(engine_status, unchanged_counts_files_only)
{
    eng e;
    eng_setup(&e, "st-unch");
    eng_put(&e, "a/b/c.txt", "c");
    eng_put(&e, "a/d.txt", "d");
    eng_put(&e, "top.txt", "top");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(e.rec.counts.unchanged, 3, "3 files (a and a/b are directories): %lld",
                 (long long)e.rec.counts.unchanged);
    cr_assert_eq(e.rec.counts.scanned_dirs, 2);
    eng_teardown(&e);
}

typedef struct plan_log {
    char lines[64][300];
    int n;
} plan_log;

static void plan_cb(void *ud, const char *verb, const char *path, const char *detail)
{
    plan_log *l = ud;
    if (l->n < 64)
        snprintf(l->lines[l->n++], sizeof(l->lines[0]), "%s %s (%s)", verb, path, detail);
}

static int has_line(const plan_log *l, const char *prefix)
{
    for (int i = 0; i < l->n; i++)
        if (strncmp(l->lines[i], prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

Test(engine_status, a_dry_run_over_max_delete_shows_the_plan_then_refuses)
{
    eng e;
    eng_setup(&e, "st-maxdel");
    e.job.delete_ = 1;
    e.job.max_delete = 1;
    eng_put(&e, "a.txt", "a");
    eng_put(&e, "b.txt", "b");
    eng_put(&e, "c.txt", "c");
    eng_put(&e, "keep.txt", "keep");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_sh(NULL, NULL, "cd '%s' && rm a.txt b.txt c.txt && echo new > new.txt", e.src);

    plan_log l = {0};
    e.o.dry_run = 1;
    e.o.on_plan = plan_cb;
    e.o.on_result = NULL;
    e.o.ud = &l;
    rslt_fake_clear_counts();
    int x = eng_run(&e);
    cr_assert_eq(x, RSL_EXIT_SESSION, "the real run's exit code: %d", x);
    cr_assert_eq(e.err.code, RSL_E_MAX_DELETE);
    cr_assert_eq(e.rec.code, RSL_E_MAX_DELETE);
    cr_assert_str_eq(e.err.msg,
                     "the run would refuse: 3 deletions > max_delete = 1 (use --max-delete 3 "
                     "once if intended)");
    cr_assert_eq(l.n, 4, "the whole plan: %d lines", l.n);
    cr_assert(has_line(&l, "create new.txt"));
    cr_assert(has_line(&l, "delete a.txt"));
    cr_assert(has_line(&l, "delete b.txt"));
    cr_assert(has_line(&l, "delete c.txt"));
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_REMOVE) + rslt_fake_calls(RSLT_FAKE_UPLOAD), 0);

    /* the real run refuses with its own message, before changing anything */
    e.o.dry_run = 0;
    e.o.on_plan = NULL;
    e.o.ud = &e;
    cr_assert_eq(eng_run(&e), RSL_EXIT_SESSION);
    cr_assert_eq(e.rec.code, RSL_E_MAX_DELETE);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_REMOVE) + rslt_fake_calls(RSLT_FAKE_UPLOAD), 0);
    eng_teardown(&e);
}
