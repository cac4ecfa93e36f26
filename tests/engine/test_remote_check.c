/* Engine tests on the fake transport: every run, also one with nothing to
 * send, connects and stats the remote root and a random sample of the
 * manifest (pipelined STAT ops, never a listing). A sampled file gone or of
 * another size stops the run with REMOTE_CHANGED before anything is uploaded
 * or deleted; remote_check = never and an interval are honoured; the sample
 * is drawn uniformly, not from the first rows. */
#include "engine_test.h"

#include "engine/remote_check.h"

static void put_n(eng *e, int n)
{
    char name[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "f%03d.txt", i);
        eng_put(e, name, name);
    }
}

/* Calls of op for paths other than the root and temp names. */
static int stats_of_files(void)
{
    return rslt_fake_calls(RSLT_FAKE_STAT) - rslt_fake_calls_for(RSLT_FAKE_STAT, "");
}

Test(engine_remote_check, a_no_change_run_connects_and_stats_the_root_and_the_sample)
{
    eng e;
    eng_setup(&e, "rc-nochange");
    put_n(&e, 3);
    eng_put(&e, "d/in.txt", "inside");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1, "a no-change run connects");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_STAT, ""), 1, "the root is stat'ed");
    cr_assert_eq(stats_of_files(), 4, "all 4 files of a small manifest are checked");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_STAT, "d/in.txt"), 1);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_LIST), 0, "never a listing");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD) + rslt_fake_calls(RSLT_FAKE_MKDIR) +
                     rslt_fake_calls(RSLT_FAKE_REMOVE),
                 0, "nothing changed on the remote");
    cr_assert_eq(rslt_fake_open_connections(), 0);
    eng_teardown(&e);
}

/* The remote's copy of a sampled file changed size behind our back: the run
 * stops before its work (a new file, a delete) is done. */
Test(engine_remote_check, a_changed_size_in_the_sample_stops_the_run_before_any_change)
{
    eng e;
    eng_setup(&e, "rc-size");
    e.job.delete_ = 1;
    put_n(&e, 3);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_put("f001.txt", "truncated!", 10); /* 8 bytes in the manifest */
    eng_put(&e, "new.txt", "new");
    char p[8192];
    snprintf(p, sizeof(p), "%s/f002.txt", e.src);
    cr_assert_eq(unlink(p), 0);
    rslt_fake_clear_counts();

    int x = eng_run(&e);
    cr_assert_eq(x, RSL_EXIT_SESSION, "exit %d", x);
    cr_assert_eq(e.rec.code, RSL_E_REMOTE_CHANGED, "%s", rsl_code_name(e.rec.code));
    cr_assert_eq(e.err.code, RSL_E_REMOTE_CHANGED);
    cr_assert(strstr(e.err.msg, "1 of 3 checked files are gone or differ") != NULL, "%s",
              e.err.msg);
    cr_assert(strstr(e.err.msg, "first: f001.txt: manifest 8 bytes, remote 10 bytes") != NULL, "%s",
              e.err.msg);
    cr_assert(strstr(e.err.msg, "verify JOB.conf --repair") != NULL, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 0, "nothing uploaded");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_REMOVE), 0, "nothing deleted");
    cr_assert_eq(rslt_fake_type("new.txt"), 0);
    cr_assert_eq(rslt_fake_type("f002.txt"), 'f', "the delete did not happen");
    cr_assert_str_eq(e.rec.outcome, "failure");
    eng_teardown(&e);
}

Test(engine_remote_check, a_file_gone_from_the_remote_is_noticed_on_a_no_change_run)
{
    eng e;
    eng_setup(&e, "rc-gone");
    put_n(&e, 5);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rsl_err err;
    rsl_conn *c = NULL;
    /* removed behind our back, through the transport as another client would */
    rsl_endpoint ep;
    cr_assert_eq(rsl_endpoint_parse(&ep, RSLT_FAKE_URL, &err), RSL_OK);
    const rsl_transport_ops *ops = rsl_transport_find("fake");
    cr_assert_eq(ops->connect(&c, &ep, NULL, &err), RSL_OK);
    cr_assert_eq(ops->remove(c, "f004.txt", 0, &err), RSL_OK);
    ops->disconnect(c);
    rsl_endpoint_free(&ep);
    cr_assert_eq(eng_run(&e), RSL_EXIT_SESSION);
    cr_assert_eq(e.rec.code, RSL_E_REMOTE_CHANGED);
    cr_assert(strstr(e.err.msg, "first: f004.txt: gone") != NULL, "%s", e.err.msg);
    eng_teardown(&e);
}

/* The stats go through the connection's run() as one feed: in flight
 * together, not one round trip each. */
Test(engine_remote_check, the_stats_are_pipelined)
{
    eng e;
    eng_setup(&e, "rc-pipe");
    rslt_fake_pipeline(64);
    put_n(&e, 10);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_STAT), 11);
    cr_assert_eq(rslt_fake_max_in_flight(), 11, "the root and 10 files in flight at once");
    eng_teardown(&e);
}

Test(engine_remote_check, never_means_no_connection_on_a_no_change_run)
{
    eng e;
    eng_setup(&e, "rc-never");
    put_n(&e, 3);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    e.job.remote_check = RSL_RCHECK_NEVER;
    rslt_fake_put("f001.txt", "changed behind our back", 23);
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 0);
    /* with work to do it connects, but checks nothing */
    eng_put(&e, "new.txt", "new");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_STAT), 0);
    eng_teardown(&e);
}

/* Moves the last check's time back by `secs`. */
static void age_check(eng *e, int64_t secs)
{
    rsl_state *st = NULL;
    rsl_err err;
    char buf[32];
    cr_assert_eq(rsl_state_open(&st, e->db, RSL_STATE_RDWR, &err), RSL_OK, "%s", err.msg);
    cr_assert(rsl_state_kv_get(st, RSL_RCHECK_KV, buf, sizeof(buf)), "the check's time is kept");
    snprintf(buf, sizeof(buf), "%lld", strtoll(buf, NULL, 10) - secs * 1000);
    cr_assert_eq(rsl_state_kv_set(st, RSL_RCHECK_KV, buf, &err), RSL_OK);
    rsl_state_close(st);
}

Test(engine_remote_check, an_interval_is_honoured)
{
    eng e;
    eng_setup(&e, "rc-interval");
    e.job.remote_check = 3600; /* remote_check = 1h */
    put_n(&e, 3);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg); /* the first run checks (nothing to sample) */
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg); /* checks: 3 files now in the manifest */
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 0, "checked less than 1h ago");
    age_check(&e, 3599);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 0, "1 s left");
    age_check(&e, 2);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1, "due after 1h");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_STAT), 4);
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 0, "the new check's time was kept");
    eng_teardown(&e);
}

/* Auth failures and the like surface on a run with nothing to send. */
Test(engine_remote_check, a_connect_failure_surfaces_on_a_no_change_run)
{
    eng e;
    eng_setup(&e, "rc-auth");
    put_n(&e, 2);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_fail_connect(-1, RSL_E_AUTH_FAILED);
    cr_assert_eq(eng_run(&e), RSL_EXIT_SESSION);
    cr_assert_eq(e.rec.code, RSL_E_AUTH_FAILED);
    eng_teardown(&e);
}

static void plan_cb(void *ud, const char *verb, const char *path, const char *detail)
{
    (void)verb;
    (void)path;
    (void)detail;
    (*(int *)ud)++;
}

/* A dry run checks too (read-only), after printing its plan. */
Test(engine_remote_check, a_dry_run_checks_after_its_plan)
{
    eng e;
    eng_setup(&e, "rc-dry");
    put_n(&e, 3);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_put("f000.txt", "", 0);
    eng_put(&e, "new.txt", "new");
    int lines = 0;
    e.o.dry_run = 1;
    e.o.on_plan = plan_cb;
    e.o.ud = &lines;
    e.o.on_result = NULL;
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), RSL_EXIT_SESSION);
    cr_assert_eq(e.err.code, RSL_E_REMOTE_CHANGED, "%s", e.err.msg);
    cr_assert_eq(e.rec.code, RSL_E_REMOTE_CHANGED);
    cr_assert_eq(lines, 1, "the plan (create new.txt) was printed first");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_STAT), 4);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 0);
    eng_teardown(&e);
}

/* ---- the sample (pure) ---- */

Test(engine_remote_check, due_rules)
{
    cr_assert(rsl_rcheck_due(RSL_RCHECK_EVERY_RUN, 1000, 1000));
    cr_assert_not(rsl_rcheck_due(RSL_RCHECK_NEVER, 0, 1000));
    cr_assert(rsl_rcheck_due(60, 0, 1000), "never checked");
    cr_assert_not(rsl_rcheck_due(60, 1000, 60999));
    cr_assert(rsl_rcheck_due(60, 1000, 61000));
    cr_assert(rsl_rcheck_due(60, 90000, 1000), "a clock that went back checks");
    cr_assert_eq(rsl_rcheck_sample_size(3), 3);
    cr_assert_eq(rsl_rcheck_sample_size(16), 16);
    cr_assert_eq(rsl_rcheck_sample_size(10000), 16);
    cr_assert_eq(rsl_rcheck_sample_size(10001), 24);
    cr_assert_eq(rsl_rcheck_sample_size(2000000), 48);
}

/* Draws the sample of a manifest of n files with seed, as a run would. */
static void draw(uint64_t seed, int n, int *hits)
{
    rsl_rcheck c;
    rsl_rcheck_init(&c, seed);
    char path[32];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "f%04d", i);
        rsl_manifest_row row = {.path = path, .type = RSL_TYPE_FILE, .size = 1};
        rsl_rcheck_offer(&c, &row);
        rsl_manifest_row dir = {.path = "d", .type = RSL_TYPE_DIR};
        rsl_rcheck_offer(&c, &dir); /* directories never join */
    }
    size_t k = rsl_rcheck_draw(&c);
    cr_assert_eq(c.seen, (uint64_t)n);
    cr_assert_eq(k, rsl_rcheck_sample_size((uint64_t)n));
    for (size_t i = 0; i < k; i++)
        hits[strtol(c.v[i].path + 1, NULL, 10)]++;
    rsl_rcheck_free(&c);
}

Test(engine_remote_check, the_sample_is_uniform_over_the_whole_manifest)
{
    enum { N = 200, TRIALS = 2000 };
    static int hits[N];
    for (int t = 0; t < TRIALS; t++)
        draw((uint64_t)t * 7919 + 1, N, hits);
    /* each file is checked with probability 16/200: 160 times expected */
    int lo = TRIALS, hi = 0;
    for (int i = 0; i < N; i++) {
        lo = hits[i] < lo ? hits[i] : lo;
        hi = hits[i] > hi ? hits[i] : hi;
    }
    cr_assert_gt(lo, 100, "some file was checked only %d times in %d runs", lo, TRIALS);
    cr_assert_lt(hi, 230, "some file was checked %d times in %d runs", hi, TRIALS);
    int first = 0, last = 0;
    for (int i = 0; i < 16; i++) {
        first += hits[i];
        last += hits[N - 16 + i];
    }
    cr_assert_lt(abs(first - last), 400, "the first and last rows alike: %d vs %d", first, last);
}

/* The check's paths (the root, then the sample) are handed to the connect
 * (rsl_remote_opts.early_stat), so a transport can stat them with its own
 * first requests; the check still asks for each through run() and judges
 * its answer. A connect for the work alone (a changed file, check = never)
 * gets none. */
Test(engine_remote_check, the_sample_is_offered_to_the_connect)
{
    eng e;
    eng_setup(&e, "rc-early");
    put_n(&e, 3);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    char *early = rslt_fake_early();
    cr_assert_eq(early[0], '\n', "the root first: %s", early);
    cr_assert_eq(rslt_count(early, "\n"), 4, "the root and the 3 files: %s", early);
    cr_assert(strstr(early, "\nf000.txt\n") && strstr(early, "\nf001.txt\n") &&
                  strstr(early, "\nf002.txt\n"),
              "%s", early);
    free(early);
    cr_assert_eq(stats_of_files(), 3, "the check's stats still go through run()");
    e.job.remote_check = RSL_RCHECK_NEVER;
    eng_put(&e, "f000.txt", "changed");
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    early = rslt_fake_early();
    cr_assert_str_eq(early, "", "no check, nothing early: %s", early);
    free(early);
    eng_teardown(&e);
}

/* A run whose check is due connects while it plans (the connect's round
 * trips overlap the scan): a run refused after its plan (max_delete) has
 * already connected, and changes nothing with that connection; the
 * connection is closed. A run with the check off does not connect before
 * its plan says there is work. */
Test(engine_remote_check, the_connect_overlaps_the_plan)
{
    eng e;
    eng_setup(&e, "rc-ahead");
    e.job.delete_ = 1;
    e.job.max_delete = 1;
    put_n(&e, 3);
    eng_put(&e, "keep.txt", "keep");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_sh(NULL, NULL, "rm '%s'/f00*.txt", e.src);
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), RSL_EXIT_SESSION);
    cr_assert_eq(e.err.code, RSL_E_MAX_DELETE, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1, "connected during the plan");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_REMOVE) + rslt_fake_calls(RSLT_FAKE_STAT), 0,
                 "nothing done with it");
    cr_assert_eq(rslt_fake_open_connections(), 0, "closed");
    e.job.remote_check = RSL_RCHECK_NEVER;
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), RSL_EXIT_SESSION);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 0, "no check: no connect before the plan");
    /* a missing source fails the plan at once: nothing is connected ahead
     * (a run ending early waits for a connect under way) */
    e.job.remote_check = RSL_RCHECK_EVERY_RUN;
    rslt_rmrf(e.src);
    rslt_fake_clear_counts();
    cr_assert_neq(eng_run(&e), 0);
    cr_assert_eq(e.err.code, RSL_E_SOURCE_MISSING, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 0, "no connect for a missing source");
    eng_teardown(&e);
}
