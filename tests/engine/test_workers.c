/* Engine tests on the fake transport: several workers at once (these are the
 * runs ThreadSanitizer watches: scripts/test.sh --tsan). Every file arrives
 * exactly once, each worker has its own connection and closes it, resumes
 * after cuts never restart from zero, and the shared bandwidth limit and
 * server-facts cache are used from every worker. */
#include "engine_test.h"

/* n files named <prefix><i><suffix>, each holding its own name. */
static void put_files(eng *e, int n, const char *prefix, const char *suffix)
{
    char name[64];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%02d%s", prefix, i, suffix);
        eng_put(e, name, name);
    }
}

Test(engine_workers, every_file_arrives_once_over_four_connections)
{
    eng e;
    eng_setup(&e, "eng-w1");
    e.job.transfers = 4;
    put_files(&e, 60, "d", "/x/f.txt");
    put_files(&e, 40, "top", ".txt");

    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 4, "one connection per worker");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_UPLOAD), 100, "each file once");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_FINISH), 100);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_MKDIR), 120, "d<n> and d<n>/x, parents first");
    cr_assert_eq(e.rec.counts.files_applied, 100);
    cr_assert_eq(e.rec.counts.dirs_applied, 120);
    cr_assert(eng_same(&e, "d59/x/f.txt"));
    cr_assert(eng_same(&e, "top39.txt"));
    cr_assert_eq(rslt_fake_open_connections(), 0);
    eng_teardown(&e);
}

Test(engine_workers, cuts_on_several_connections_resume_without_restarting)
{
    eng e;
    eng_setup(&e, "eng-w2");
    e.job.transfers = 4;
    const int n = 4;
    char name[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "big%d.bin", i);
        eng_put_random(&e, name, 2 * MIB, 10 + (unsigned)i);
    }
    /* 8 MiB over 4 connections: at least one carries more than 1.5 MiB */
    rslt_fake_cut_after(3 * MIB / 2, n);

    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_upload up[32];
    size_t k = rslt_fake_uploads(up, 32);
    cr_assert_gt(k, (size_t)n, "at least one cut happened");
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "big%d.bin.rsl-part", i);
        int fresh = 0, resumed = 0;
        for (size_t j = 0; j < k; j++) {
            if (strcmp(up[j].path, name) != 0)
                continue;
            if (up[j].offset == 0)
                fresh++;
            else
                resumed++;
        }
        cr_assert_eq(fresh, 1, "%s started from zero %d times", name, fresh);
        cr_assert_leq(resumed, 1, "%s", name);
        snprintf(name, sizeof(name), "big%d.bin", i);
        cr_assert(eng_same(&e, name), "%s", name);
        cr_assert_not(eng_upload_rec(&e, name, NULL));
    }
    cr_assert_eq(rslt_fake_open_connections(), 0);
    eng_teardown(&e);
}

Test(engine_workers, a_bandwidth_limit_is_shared_and_still_delivers_everything)
{
    eng e;
    eng_setup(&e, "eng-w3");
    e.job.transfers = 3;
    e.job.bwlimit = 8 * MIB; /* about 0.1 s for these 768 KiB */
    char name[32];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "f%d.bin", i);
        eng_put_random(&e, name, 128 * 1024, 20 + (unsigned)i);
    }
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "f%d.bin", i);
        cr_assert(eng_same(&e, name), "%s", name);
    }
    cr_assert_eq(e.rec.counts.transferred_bytes, 6 * 128 * 1024);
    eng_teardown(&e);
}

Test(engine_workers, a_server_fact_is_learnt_once_and_kept_for_the_next_run)
{
    eng e;
    eng_setup(&e, "eng-w4");
    e.job.transfers = 3;
    put_files(&e, 9, "f", ".txt");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_geq(rslt_fake_probes(), 1);
    rsl_state *st = eng_state(&e);
    char v[16] = "";
    cr_assert(rsl_state_kv_get(st, "fake:probed", v, sizeof(v)), "the fact was saved");
    cr_assert_str_eq(v, "yes");
    rsl_state_close(st);

    int before = rslt_fake_probes();
    eng_put(&e, "new.txt", "new");
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_geq(rslt_fake_calls(RSLT_FAKE_CONNECT), 2);
    cr_assert_eq(rslt_fake_probes(), before, "the next run reads it from the state db");
    eng_teardown(&e);
}
