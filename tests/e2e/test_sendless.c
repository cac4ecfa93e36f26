/*
 * End-to-end over file:// (issue 12, "send less"): renames and moves become
 * remote moves (the remote inode is kept, nothing is sent), a refused move
 * falls back to upload, growing files send only their tail, directory
 * mtimes are set, symbolic links are made as links; a run SIGKILLed at any
 * point while it moves converges on the next run. The scenarios are shared
 * with the SFTP tests (tests/support/sendless_cases.h).
 */
#include "tests/support/sendless_cases.h"

#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>

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
FILE_CASE(dir_mtimes)
FILE_CASE(links)

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

/* Runs that rename 200 files and a directory are SIGKILLed at spread
 * moments (between remote moves and their manifest rows, among others); a
 * final run always converges: the remote is the source, nothing pending. */
Test(e2e_sendless, sigkill_while_moving_converges, .timeout = 120)
{
    sl_env e = file_env("sl-kill");
    sl_conf(&e, "delete = yes\ntransfers = 2");
    for (int i = 0; i < 200; i++) {
        char name[64];
        snprintf(name, sizeof(name), "f/%03d.txt", i);
        char body[64];
        snprintf(body, sizeof(body), "file %d\n", i);
        rslt_write(sl_path(e.src, name), body);
    }
    rslt_write(sl_path(e.src, "dir/a/x.txt"), "x\n");
    free(sl_json(&e));
    for (int round = 0; round < 6; round++) {
        /* every file and the directory get a new name */
        SL_SH("cd '%s/f' && for f in *; do mv \"$f\" \"r%d-$f\"; done", e.src, round);
        SL_SH("cd '%s' && mv dir dir%d", e.src, round);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            int null = open("/dev/null", 1);
            dup2(null, 1);
            dup2(null, 2);
            execl(rslt_bin(), rslt_bin(), "run", e.conf, (char *)NULL);
            _exit(127);
        }
        struct timespec ts = {0, (long)round * 3000000L}; /* 0..15 ms */
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        SL_SH("cd '%s' && mv dir%d dir", e.src, round);
    }
    char *out = NULL;
    cr_assert_eq(sl_run(&e, "--json", &out), 0, "%s", out);
    free(out);
    sl_same_tree(&e);
    out = sl_json(&e);
    cr_assert_eq(sl_num(out, "transferred_files") + sl_num(out, "moves") +
                     sl_num(out, "deletes_applied"),
                 0, "a converged run does nothing more: %s", out);
    free(out);
    char *db = sl_path(e.dir, "state.db");
    cr_assert_eq(
        rslt_sh(&out, NULL, "sqlite3 '%s' 'SELECT count(*) FROM manifest WHERE pending'", db), 0);
    cr_assert_eq(strtol(out, NULL, 10), 0, "pending rows left: %s", out);
    free(out);
    sl_free(&e);
}

/* The exact crash window: the remote move done and its write-ahead rows
 * committed (the new path pending, the old row marked pending), the
 * process gone before the manifest was updated. The next run converges:
 * the new path is on the remote with the right content, the old one gone,
 * nothing pending; the run after it does nothing. */
Test(e2e_sendless, crash_between_remote_move_and_manifest_converges, .timeout = 60)
{
    sl_env e = file_env("sl-window");
    sl_conf(&e, "delete = yes");
    rslt_write(sl_path(e.src, "a.txt"), "content of a\n");
    free(sl_json(&e));
    SL_SH("mv '%s/a.txt' '%s/b.txt'", e.src, e.src);
    SL_SH("mv '%s/a.txt' '%s/b.txt'", e.root, e.root); /* the remote move */
    char *db = sl_path(e.dir, "state.db");
    SL_SH("sqlite3 '%s' \"UPDATE manifest SET pending = 1 WHERE path = 'a.txt'; INSERT INTO "
          "manifest(skey, path, type, size, mtime_ns, run_id, pending) VALUES(CAST('b.txt' AS "
          "BLOB), 'b.txt', 102, 0, 0, 2, 1);\"",
          db);
    char *out = sl_json(&e);
    cr_assert_eq(sl_num(out, "item_errors"), 0, "%s", out);
    free(out);
    sl_same_tree(&e);
    cr_assert_eq(
        rslt_sh(&out, NULL, "sqlite3 '%s' 'SELECT count(*) FROM manifest WHERE pending'", db), 0);
    cr_assert_eq(strtol(out, NULL, 10), 0, "pending rows left: %s", out);
    free(out);
    out = sl_json(&e);
    cr_assert_eq(sl_num(out, "transferred_files") + sl_num(out, "moves") +
                     sl_num(out, "deletes_applied"),
                 0, "%s", out);
    free(out);
    free(db);
    sl_free(&e);
}
