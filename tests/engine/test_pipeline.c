/* Engine tests on the fake transport's pipelined run(): a connection carries
 * a window of ops that complete out of order. Every result is recorded once,
 * a refused file fails alone, a cut with a full window in flight reconnects
 * and converges without a manifest row or a final name for what did not
 * land, directories are created before what is in them, deletes go deepest
 * first, and no connection has more ops than its window. */
#include "engine_test.h"

#include "engine/queue.h"

/* n files <dir>/f<i>.txt (dir "" for the top), each holding its own name. */
static void put_files(eng *e, const char *dir, int n)
{
    char name[128];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%sf%03d.txt", dir, dir[0] ? "/" : "", i);
        eng_put(e, name, name);
    }
}

/* Every file of the fake remote, checked against the local tree and the
 * manifest. */
typedef struct audit {
    eng *e;
    rsl_state *st;
    int files, partial, unknown, temps;
} audit;

static void audit_one(void *ud, const char *rel, int type)
{
    audit *a = ud;
    size_t l = strlen(rel);
    if (type != 'f')
        return;
    if (l > 9 && strcmp(rel + l - 9, ".rsl-part") == 0) {
        a->temps++;
        return;
    }
    a->files++;
    a->partial += !eng_same(a->e, rel); /* a final name holds the whole file or nothing */
    rsl_manifest_row row;
    a->unknown += !rsl_state_manifest_get(a->st, rel, &row); /* pending counts: known */
}

/* Manifest rows that claim a file is in sync: its bytes must be there. */
static int synced_but_missing(eng *e, rsl_state *st)
{
    rsl_err err;
    rsl_manifest_row row;
    int bad = 0;
    cr_assert_eq(rsl_state_manifest_iter_begin(st, &err), RSL_OK);
    while (rsl_state_manifest_iter_next(st, &row, &err) == 1)
        if (row.type == RSL_TYPE_FILE && !row.pending)
            bad += !eng_same(e, row.path);
    rsl_state_manifest_iter_end(st);
    return bad;
}

Test(engine_pipeline, ops_complete_out_of_order_and_every_result_is_recorded_once)
{
    eng e;
    eng_setup(&e, "eng-p1");
    rslt_fake_pipeline(16);
    /* one connection: with two, the other could drain the queue while the
     * held one waits for its 16th op (a race that made this test flaky) */
    e.job.transfers = 1;
    put_files(&e, "", 180);
    rslt_fake_hold(16);

    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert(rslt_fake_hold_reached(), "16 ops in flight on one connection");
    cr_assert_gt(rslt_fake_out_of_order(), 0, "ops completed out of order");
    cr_assert_leq(rslt_fake_max_in_flight(), 16);
    cr_assert_eq(e.n_results, 180);
    char name[64];
    for (int i = 0; i < 180; i++) {
        snprintf(name, sizeof(name), "f%03d.txt", i);
        cr_assert_eq(eng_results_for(&e, name), 1, "%s", name);
        cr_assert(eng_same(&e, name), "%s", name);
    }
    cr_assert_eq(e.rec.counts.files_applied, 180);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 180, "each file once");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1);
    rsl_state *st = eng_state(&e);
    cr_assert_eq(synced_but_missing(&e, st), 0);
    int pending = 1;
    cr_assert(eng_manifest(st, "f179.txt", &pending, NULL));
    cr_assert_eq(pending, 0);
    rsl_state_close(st);
    cr_assert_eq(rslt_fake_open_connections(), 0);
    eng_teardown(&e);
}

Test(engine_pipeline, a_refused_file_in_the_middle_of_a_window_fails_alone)
{
    eng e;
    eng_setup(&e, "eng-p2");
    rslt_fake_pipeline(32);
    put_files(&e, "", 60);
    rslt_fake_fail_path(RSLT_FAKE_UPLOAD, "f030.txt", RSL_E_REMOTE_PERMISSION);
    rslt_fake_hold(32);

    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL, "%s", e.err.msg);
    cr_assert(rslt_fake_hold_reached(), "f000 to f031 were in flight together");
    const eng_result *r = eng_result_of(&e, "f030.txt");
    cr_assert_str_eq(r->outcome, "failed");
    cr_assert_eq(r->code, RSL_E_REMOTE_PERMISSION);
    cr_assert_eq(eng_results_for(&e, "f030.txt"), 1);
    cr_assert_eq(e.rec.counts.files_applied, 59);
    cr_assert_eq(e.rec.counts.item_errors, 1);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 1, "the connection was never in doubt");
    cr_assert(eng_same(&e, "f029.txt") && eng_same(&e, "f031.txt"));
    cr_assert_eq(rslt_fake_type("f030.txt"), 0);
    eng_teardown(&e);
}

Test(engine_pipeline, a_cut_with_64_ops_in_flight_reconnects_and_converges)
{
    eng e;
    eng_setup(&e, "eng-p3");
    rslt_fake_pipeline(64);
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "f%03d.bin", i);
        eng_put_random(&e, name, 4096, 100 + (unsigned)i);
    }
    rslt_fake_cut_after(256 * 1024, 1);
    rslt_fake_hold(RSL_PIPE_WINDOW);

    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert(rslt_fake_hold_reached(), "a full window was in flight");
    cr_assert_eq(rslt_fake_max_in_flight(), RSL_PIPE_WINDOW);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 2, "one reconnect");
    cr_assert_eq(e.rec.counts.files_applied, 300);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "f%03d.bin", i);
        cr_assert(eng_same(&e, name), "%s", name);
        cr_assert_eq(eng_results_for(&e, name), 1, "%s recorded once", name);
        cr_assert_str_eq(eng_result_of(&e, name)->outcome, "ok",
                         "%s: a connection error is tried again, not recorded", name);
    }
    rsl_state *st = eng_state(&e);
    audit a = {.e = &e, .st = st};
    rslt_fake_foreach(audit_one, &a);
    cr_assert_eq(a.temps, 0, "no temp left");
    rsl_state_close(st);
    eng_teardown(&e);
}

/* The cut, and no reconnect: what did not land has no manifest row that
 * claims it, no final name holds part of a file, and the next run
 * converges. */
Test(engine_pipeline, after_a_cut_nothing_unlanded_is_recorded_and_the_next_run_converges)
{
    eng e;
    eng_setup(&e, "eng-p4");
    rslt_fake_pipeline(64);
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "f%03d.bin", i);
        eng_put_random(&e, name, 4096, 300 + (unsigned)i);
    }
    rslt_fake_cut_after(256 * 1024, 1);
    for (int i = 2; i <= 10; i++)
        rslt_fake_fail_nth(RSLT_FAKE_CONNECT, i, RSL_E_CONNECT_REFUSED);

    int x = eng_run(&e);
    cr_assert_eq(e.rec.code, RSL_E_CONNECT_REFUSED, "%s", rsl_code_name(e.rec.code));
    cr_assert_eq(x, RSL_EXIT_PARTIAL, "exit %d: some files landed", x);
    cr_assert_lt(e.rec.counts.files_applied, 200);
    rsl_state *st = eng_state(&e);
    audit a = {.e = &e, .st = st};
    rslt_fake_foreach(audit_one, &a);
    cr_assert_eq(a.partial, 0, "a final name holds a partial file");
    cr_assert_eq(a.unknown, 0, "a remote file the manifest does not know");
    cr_assert_eq(a.files, e.rec.counts.files_applied);
    cr_assert_eq(synced_but_missing(&e, st), 0, "a manifest row for a file that did not land");
    rsl_state_close(st);

    rslt_fake_clear_faults();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "f%03d.bin", i);
        cr_assert(eng_same(&e, name), "%s", name);
    }
    st = eng_state(&e);
    a = (audit){.e = &e, .st = st};
    rslt_fake_foreach(audit_one, &a);
    cr_assert_eq(a.files, 200);
    cr_assert_eq(a.temps, 0);
    rsl_state_close(st);
    eng_teardown(&e);
}

static const char *const tree[] = {"a/b/c/f1.txt", "a/b/c/f2.txt", "a/b/g.txt", "a/x/y/z.txt",
                                   "a/x/w.txt",    "d/e.txt",      "d/h/i.txt", "top.txt"};
static const char *const dirs[] = {"a", "a/b", "a/b/c", "a/x", "a/x/y", "d", "d/h"};

static void parent_of(const char *p, char *out, size_t n)
{
    snprintf(out, n, "%s", p);
    char *s = strrchr(out, '/');
    if (s)
        *s = '\0';
    else
        out[0] = '\0';
}

Test(engine_pipeline, directories_before_their_contents_and_deletes_deepest_first)
{
    eng e;
    eng_setup(&e, "eng-p5");
    rslt_fake_pipeline(32);
    e.job.transfers = 2;
    e.job.delete_ = 1;
    for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
        eng_put(&e, tree[i], tree[i]);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);

    char parent[256], tmp[256];
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        parent_of(dirs[i], parent, sizeof(parent));
        if (parent[0])
            cr_assert_lt(rslt_fake_seq_end(RSLT_FAKE_MKDIR, parent),
                         rslt_fake_seq_start(RSLT_FAKE_MKDIR, dirs[i]), "%s before %s", parent,
                         dirs[i]);
    }
    for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
        parent_of(tree[i], parent, sizeof(parent));
        snprintf(tmp, sizeof(tmp), "%s.rsl-part", tree[i]);
        cr_assert_gt(rslt_fake_seq_start(RSLT_FAKE_UPLOAD, tmp), 0, "%s sent", tree[i]);
        if (parent[0])
            cr_assert_lt(rslt_fake_seq_end(RSLT_FAKE_MKDIR, parent),
                         rslt_fake_seq_start(RSLT_FAKE_UPLOAD, tmp), "%s before %s", parent,
                         tree[i]);
    }

    /* the whole of a/ goes */
    char p[8192];
    snprintf(p, sizeof(p), "%s/a", e.src);
    rslt_rmrf(p);
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(e.rec.counts.deletes_applied, 5 + 5);
    cr_assert_eq(rslt_fake_type("a"), 0);
    const char *gone[] = {"a/b/c/f1.txt", "a/b/c/f2.txt", "a/b/g.txt", "a/x/y/z.txt", "a/x/w.txt",
                          "a/b/c",        "a/b",          "a/x/y",     "a/x"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (dirs[i][0] != 'a')
            continue;
        int64_t start = rslt_fake_seq_start(RSLT_FAKE_REMOVE, dirs[i]);
        cr_assert_gt(start, 0, "%s removed", dirs[i]);
        size_t l = strlen(dirs[i]);
        for (size_t k = 0; k < sizeof(gone) / sizeof(gone[0]); k++)
            if (strncmp(gone[k], dirs[i], l) == 0 && gone[k][l] == '/')
                cr_assert_lt(rslt_fake_seq_end(RSLT_FAKE_REMOVE, gone[k]), start, "%s before %s",
                             gone[k], dirs[i]);
    }
    cr_assert(eng_same(&e, "d/h/i.txt"));
    eng_teardown(&e);
}

Test(engine_pipeline, directories_of_one_level_are_in_flight_together)
{
    eng e;
    eng_setup(&e, "eng-p6");
    rslt_fake_pipeline(32);
    char p[8192];
    for (int i = 0; i < 20; i++) {
        snprintf(p, sizeof(p), "%s/d%02d/sub", e.src, i);
        cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p '%s'", p), 0);
    }
    rslt_fake_hold(20);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert(rslt_fake_hold_reached(), "the 20 top directories were fed before one completed");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_MKDIR), 40);
    cr_assert_eq(e.rec.counts.dirs_applied, 40);
    eng_teardown(&e);
}

Test(engine_pipeline, under_a_failed_directory_nothing_is_requested)
{
    eng e;
    eng_setup(&e, "eng-p7");
    rslt_fake_pipeline(16);
    eng_put(&e, "bad/sub/deep.txt", "deep");
    eng_put(&e, "bad/x.txt", "x");
    eng_put(&e, "good/y.txt", "y");
    rslt_fake_fail_path(RSLT_FAKE_MKDIR, "bad", RSL_E_REMOTE_PERMISSION);

    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL, "%s", e.err.msg);
    cr_assert_eq(eng_result_of(&e, "bad")->code, RSL_E_REMOTE_PERMISSION);
    cr_assert_eq(eng_result_of(&e, "bad/sub")->code, RSL_E_PARENT_FAILED);
    cr_assert_eq(eng_result_of(&e, "bad/x.txt")->code, RSL_E_PARENT_FAILED);
    cr_assert_eq(eng_result_of(&e, "bad/sub/deep.txt")->code, RSL_E_PARENT_FAILED);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_MKDIR, "bad/sub"), 0);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_UPLOAD, "bad/x.txt.rsl-part"), 0);
    cr_assert(eng_same(&e, "good/y.txt"));
    eng_teardown(&e);
}

Test(engine_pipeline, no_connection_takes_more_than_its_window)
{
    eng e;
    eng_setup(&e, "eng-p8");
    rslt_fake_pipeline(8);
    put_files(&e, "", 100);
    rslt_fake_hold(8);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert(rslt_fake_hold_reached());
    cr_assert_eq(rslt_fake_max_in_flight(), 8, "the transport's window, filled");
    eng_teardown(&e);

    eng_setup(&e, "eng-p8b");
    rslt_fake_pipeline(500); /* a transport that would take more: the engine's window */
    put_files(&e, "", 300);
    rslt_fake_hold(RSL_PIPE_WINDOW);
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert(rslt_fake_hold_reached());
    cr_assert_eq(rslt_fake_max_in_flight(), RSL_PIPE_WINDOW, "never more than the engine's window");
    cr_assert_eq(e.rec.counts.files_applied, 300);
    eng_teardown(&e);
}

Test(engine_pipeline, a_big_file_cut_mid_window_resumes_without_restarting)
{
    eng e;
    eng_setup(&e, "eng-p9");
    rslt_fake_pipeline(16);
    eng_put_random(&e, "big.bin", 3 * MIB, 7);
    put_files(&e, "", 20);
    rslt_fake_cut_after(2 * MIB, 1);

    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_upload up[64];
    size_t n = rslt_fake_uploads(up, 64);
    int fresh = 0, resumed = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(up[i].path, "big.bin.rsl-part") != 0)
            continue;
        if (up[i].offset == 0)
            fresh++;
        else
            resumed++;
    }
    cr_assert_eq(fresh, 1, "started from zero once");
    cr_assert_leq(resumed, 1);
    cr_assert(eng_same(&e, "big.bin"));
    cr_assert_not(eng_upload_rec(&e, "big.bin", NULL));
    eng_teardown(&e);
}

Test(engine_pipeline, every_write_refused_stops_within_a_window)
{
    eng e;
    eng_setup(&e, "eng-p10");
    rslt_fake_pipeline(16);
    put_files(&e, "", 200);
    rslt_fake_fail_every(RSLT_FAKE_UPLOAD, RSL_E_REMOTE_NO_SPACE);

    int x = eng_run(&e);
    int n = rslt_fake_calls(RSLT_FAKE_UPLOAD);
    cr_assert_geq(n, RSL_ALL_FAIL_LIMIT);
    cr_assert_leq(n, RSL_ALL_FAIL_LIMIT + 16, "at most a window more: %d", n);
    cr_assert_eq(e.rec.code, RSL_E_ALL_WRITES_FAILED);
    cr_assert_eq(x, RSL_EXIT_SESSION);
    cr_assert_eq(e.rec.counts.item_errors, n, "each refused file is recorded");
    eng_teardown(&e);
}
