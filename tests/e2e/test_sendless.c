/*
 * End-to-end over file:// (issue 12, "send less"): renames and moves become
 * remote moves (the remote inode is kept, nothing is sent), a refused move
 * falls back to upload, growing files send only their tail, directory
 * mtimes are set, symbolic links are made as links; a run SIGKILLed at any
 * point while it moves converges on the next run. The scenarios are shared
 * with the SFTP tests (tests/support/sendless_cases.h).
 */
#include "tests/support/sendless_cases.h"

static sl_env file_env(const char *tag)
{
    sl_env e = {0};
    e.dir = rslt_tmpdir(tag);
    e.src = sl_path(e.dir, "src");
    e.root = sl_path(e.dir, "dst");
    e.conf = sl_path(e.dir, "job.conf");
    cr_assert(asprintf(&e.dest, "file://%s", e.root) > 0);
    cr_assert_eq(mkdir(e.src, 0755), 0);
    cr_assert_eq(mkdir(e.root, 0755), 0);
    return e;
}

#define FILE_CASE(name)                                                                            \
    Test(e2e_sendless, name, .timeout = 60)                                                        \
    {                                                                                              \
        sl_env e = file_env("sl-" #name);                                                          \
        sl_case_##name(&e);                                                                        \
        sl_free(&e);                                                                               \
    }

FILE_CASE(file_rename)
FILE_CASE(dir_rename)
FILE_CASE(move_across_dirs)
FILE_CASE(rename_and_change)
FILE_CASE(same_inode_other_content)
FILE_CASE(refused_move_falls_back)
FILE_CASE(no_delete_uploads)
FILE_CASE(append)
FILE_CASE(append_remote_changed)
FILE_CASE(dir_mtimes)
FILE_CASE(links)
FILE_CASE(crash_window)

/* A move that would replace an item on the remote (a stray file where the
 * new name goes) is refused (REMOTE_EXISTS): the new path is uploaded over
 * it and the old one deleted. */
Test(e2e_sendless, move_onto_an_existing_remote_item_falls_back, .timeout = 60)
{
    sl_env e = file_env("sl-exists");
    sl_conf(&e, "delete = yes");
    rslt_write(sl_path(e.src, "a.txt"), "the content\n");
    free(sl_json(&e));
    SL_SH("mv '%s/a.txt' '%s/b.txt'", e.src, e.src);
    rslt_write(sl_path(e.root, "b.txt"), "a stray file\n");
    char *out = sl_json(&e);
    cr_assert_eq(sl_num(out, "moves"), 0, "%s", out);
    cr_assert(strstr(out, "\"outcome\":\"skipped\",\"code\":\"REMOTE_EXISTS\"") != NULL, "%s", out);
    free(out);
    sl_same_tree(&e);
    sl_free(&e);
}

/* A run of this size takes about 15 ms to file://: killed at 0, 3, ... 15 ms. */
Test(e2e_sendless, sigkill_while_moving, .timeout = 120)
{
    sl_env e = file_env("sl-kill");
    sl_case_sigkill_while_moving(&e, 3000000L);
    sl_free(&e);
}

/* A refused move's fallback deletes count against max_delete: with
 * max_delete = 0 the old path stays on the remote (said so); the next run
 * plans its delete and is refused as any run over the limit would be; run
 * once with --max-delete 1, it goes. */
Test(e2e_sendless, fallback_deletes_stay_within_max_delete, .timeout = 60)
{
    sl_env e = file_env("sl-maxdel");
    sl_conf(&e, "delete = yes\nmax_delete = 0");
    rslt_write(sl_path(e.src, "a.txt"), "the content\n");
    free(sl_json(&e));
    SL_SH("mv '%s/a.txt' '%s/b.txt'", e.src, e.src);
    rslt_write(sl_path(e.root, "b.txt"), "a stray file\n"); /* the move is refused */
    char *out = sl_json(&e);
    cr_assert_eq(sl_num(out, "deletes_applied"), 0, "%s", out);
    cr_assert(strstr(out, "until a run within max_delete deletes it") != NULL, "%s", out);
    free(out);
    cr_assert(sl_has(e.root, "a.txt"), "deleted past max_delete = 0");
    char *got = rslt_read(sl_path(e.root, "b.txt"), NULL);
    cr_assert_str_eq(got, "the content\n");
    free(got);
    cr_assert_eq(sl_run(&e, NULL, NULL), 5, "the pending old path is a delete over the limit");
    cr_assert_eq(sl_run(&e, "--max-delete 1", NULL), 0);
    cr_assert_not(sl_has(e.root, "a.txt"));
    sl_same_tree(&e);
    sl_free(&e);
}

/* A run killed mid-upload of a small file leaves its temp and a pending
 * row; once the file's directory is gone locally, the next run removes the
 * temp before the file and the directory: nothing is left, exit 0. */
Test(e2e_sendless, a_pending_files_temp_goes_before_its_directory, .timeout = 60)
{
    sl_env e = file_env("sl-temp");
    sl_conf(&e, "delete = yes");
    rslt_write(sl_path(e.src, "d/x.txt"), "x\n");
    rslt_write(sl_path(e.src, "keep.txt"), "k\n");
    free(sl_json(&e));
    rslt_write(sl_path(e.root, "d/y.txt.rsl-part"), "half of y"); /* the killed upload */
    char *db = sl_path(e.dir, "state.db");
    SL_SH("sqlite3 '%s' \"INSERT INTO manifest(skey, path, type, size, mtime_ns, run_id, pending) "
          "VALUES(X'6400792E747874', 'd/y.txt', 102, 0, 0, 2, 1);\"",
          db);
    SL_SH("rm -r '%s/d'", e.src);
    char *out = sl_json(&e);
    cr_assert_eq(sl_num(out, "item_errors"), 0, "%s", out);
    free(out);
    cr_assert_not(sl_has(e.root, "d"), "the directory (and the temp in it) stayed");
    sl_same_tree(&e);
    free(db);
    sl_free(&e);
}
