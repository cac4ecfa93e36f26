/* Engine tests on the fake transport: resumable uploads. A connection cut
 * mid-file resumes exactly where the remote's temp file ends, within a run
 * and across runs (the upload record), and a server without resume gets no
 * upload record and no temp remove(). */
#include "engine_test.h"

#define TMP(name) name ".rsl-part"

Test(engine_resume, a_cut_mid_upload_resumes_once_at_the_cut)
{
    eng e;
    eng_setup(&e, "eng-cut");
    const uint64_t cut = MIB + 12345;
    eng_put_random(&e, "big.bin", 3 * MIB, 1);
    rslt_fake_cut_after(cut, 1);

    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);

    rslt_fake_upload up[8];
    size_t n = rslt_fake_uploads(up, 8);
    cr_assert_eq(n, 2, "one upload, cut, then exactly one resumed upload (got %zu)", n);
    cr_assert_eq(up[0].offset, 0);
    cr_assert_eq(up[1].offset, cut, "resumed at byte %llu, not at the cut",
                 (unsigned long long)up[1].offset);
    cr_assert_str_eq(up[1].path, TMP("big.bin"));
    cr_assert_neq(up[1].conn, up[0].conn, "resumed on a new connection");
    cr_assert(eng_same(&e, "big.bin"), "byte-identical after the resume");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_REMOVE, TMP("big.bin")), 1,
                 "the temp was cleared once, before the fresh start only");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_CONNECT), 2);
    cr_assert_eq(rslt_fake_open_connections(), 0, "every connection was closed");
    cr_assert_not(eng_upload_rec(&e, "big.bin", NULL), "the record goes once the file is synced");
    cr_assert_eq(rslt_fake_type(TMP("big.bin")), 0, "no temp left");
    eng_teardown(&e);
}

Test(engine_resume, the_upload_record_is_honoured_by_the_next_run)
{
    eng e;
    eng_setup(&e, "eng-rec");
    eng_put_random(&e, "big.bin", 4 * MIB, 2);
    rslt_fake_cut_after(MIB, -1); /* every connection drops after 1 MiB */

    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL, "%s", e.err.msg);
    rslt_fake_upload up[8];
    cr_assert_eq(rslt_fake_uploads(up, 8), RSL_RETRY_MAX_ATTEMPTS, "one upload per attempt");
    for (int i = 0; i < RSL_RETRY_MAX_ATTEMPTS; i++)
        cr_assert_eq(up[i].offset, (uint64_t)i * MIB, "attempt %d resumed at the cut", i + 1);
    const eng_result *r = eng_result_of(&e, "big.bin");
    cr_assert_not_null(r);
    cr_assert_str_eq(r->outcome, "failed");
    cr_assert_eq(r->code, RSL_E_CONNECTION_LOST);
    uint64_t recsize = 0;
    cr_assert(eng_upload_rec(&e, "big.bin", &recsize), "the record survives the failed run");
    cr_assert_eq(recsize, 4 * MIB);
    cr_assert_eq(rslt_fake_size(TMP("big.bin")), 3 * MIB, "the remote kept 3 MiB");

    /* the next run: the connection holds */
    rslt_fake_clear_faults();
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    cr_assert_eq(rslt_fake_uploads(up, 8), 1, "exactly one upload");
    cr_assert_eq(up[0].offset, 3 * MIB, "at the offset the remote kept");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_RESUME_OFFSET, TMP("big.bin")), 1);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_REMOVE, TMP("big.bin")), 0,
                 "a resumed temp is never removed");
    cr_assert(eng_same(&e, "big.bin"));
    cr_assert_not(eng_upload_rec(&e, "big.bin", NULL));
    eng_teardown(&e);
}

Test(engine_resume, a_changed_file_starts_over_instead_of_resuming)
{
    eng e;
    eng_setup(&e, "eng-chg");
    eng_put_random(&e, "big.bin", 4 * MIB, 3);
    rslt_fake_cut_after(MIB, -1);
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL);
    cr_assert_eq(rslt_fake_size(TMP("big.bin")), 3 * MIB);

    rslt_fake_clear_faults();
    rslt_fake_clear_counts();
    eng_put_random(&e, "big.bin", 4 * MIB + 5, 4); /* another version */
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_upload up[4];
    cr_assert_eq(rslt_fake_uploads(up, 4), 1);
    cr_assert_eq(up[0].offset, 0, "bytes of the old version are never kept");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_RESUME_OFFSET, TMP("big.bin")), 0,
                 "no resume asked for: the record is for the old version");
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_REMOVE, TMP("big.bin")), 1,
                 "the old temp is removed before the fresh start");
    cr_assert(eng_same(&e, "big.bin"));
    eng_teardown(&e);
}

Test(engine_resume, small_files_restart_from_zero_without_a_record)
{
    eng e;
    eng_setup(&e, "eng-small");
    eng_put_random(&e, "small.bin", MIB - 1, 5);
    rslt_fake_fail_path(RSLT_FAKE_FINISH, "small.bin", RSL_E_REMOTE_IO);
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_REMOVE), 0, "no temp cleanup round trip");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_RESUME_OFFSET), 0);
    cr_assert_not(eng_upload_rec(&e, "small.bin", NULL), "no db write per small file");
    eng_teardown(&e);
}

/* The contrast for the next test: a big file that fails after its upload
 * keeps its record and had its temp cleared first. */
Test(engine_resume, a_server_with_resume_gets_a_record_and_a_temp_remove)
{
    eng e;
    eng_setup(&e, "eng-caps1");
    eng_put_random(&e, "big.bin", 2 * MIB, 6);
    rslt_fake_fail_path(RSLT_FAKE_FINISH, "big.bin", RSL_E_REMOTE_IO);
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_REMOVE, TMP("big.bin")), 1);
    cr_assert(eng_upload_rec(&e, "big.bin", NULL));
    eng_teardown(&e);
}

Test(engine_resume, a_server_without_resume_gets_no_record_and_no_temp_remove)
{
    eng e;
    eng_setup(&e, "eng-caps0");
    rslt_fake_set_caps(RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME);
    eng_put_random(&e, "big.bin", 2 * MIB, 6);
    rslt_fake_fail_path(RSLT_FAKE_FINISH, "big.bin", RSL_E_REMOTE_IO);
    cr_assert_eq(eng_run(&e), RSL_EXIT_PARTIAL);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_REMOVE), 0, "no temp remove() per big file");
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_RESUME_OFFSET), 0);
    cr_assert_not(eng_upload_rec(&e, "big.bin", NULL), "no upload record committed");

    rslt_fake_clear_faults();
    rslt_fake_clear_counts();
    cr_assert_eq(eng_run(&e), 0, "%s", e.err.msg);
    rslt_fake_upload up[4];
    cr_assert_eq(rslt_fake_uploads(up, 4), 1);
    cr_assert_eq(up[0].offset, 0, "from the start: the upload itself truncates the temp");
    cr_assert(eng_same(&e, "big.bin"));
    eng_teardown(&e);
}
