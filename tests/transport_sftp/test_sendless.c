/*
 * End to end over sftp:// on the fixture's sshd (issue 12, "send less"): the
 * same scenarios as over file:// (tests/support/sendless_cases.h), the
 * remote root being a local directory the sshd writes: a remote move keeps
 * the remote inode and sends nothing (SFTP RENAME of a file or a whole
 * directory), a refused move falls back to upload, a growing log sends only
 * its tail (writes at the old size), directory mtimes are set (SETSTAT) and
 * links are made as links (SYMLINK), one pointing outside refused.
 */
#include "sftp_test.h"

#include "tests/support/sendless_cases.h"

static sl_env sftp_env(const char *tag)
{
    sl_env e = {0};
    e.dir = rslt_tmpdir(tag);
    e.src = sl_path(e.dir, "src");
    e.root = mkroot(tag);
    e.conf = sl_path(e.dir, "job.conf");
    cr_assert_eq(mkdir(e.src, 0755), 0);
    char *user = fx("SSH_USER"), *key = fx("SSH_KEY"), *kh = fx("SSH_KNOWN_HOSTS");
    cr_assert(asprintf(&e.dest, "sftp://%s@127.0.0.1:%d%s", user, fx_int("SSH_PORT"), e.root) > 0);
    cr_assert(asprintf(&e.remote, "identity_file = %s\nknown_hosts = %s", key, kh) > 0);
    free(user);
    free(key);
    free(kh);
    return e;
}

#define SFTP_CASE(name)                                                                            \
    Test(sftp_sendless, name, .timeout = 90)                                                       \
    {                                                                                              \
        sl_env e = sftp_env("sl-" #name);                                                          \
        sl_case_##name(&e);                                                                        \
        sl_free(&e);                                                                               \
    }

SFTP_CASE(file_rename)
SFTP_CASE(dir_rename)
SFTP_CASE(move_across_dirs)
SFTP_CASE(rename_and_change)
SFTP_CASE(same_inode_other_content)
SFTP_CASE(refused_move_falls_back)
SFTP_CASE(no_delete_uploads)
SFTP_CASE(append)
SFTP_CASE(append_remote_changed)
SFTP_CASE(dir_mtimes)
SFTP_CASE(links)

/* The server refuses the move (the old directory is read-only for the SSH
 * user): recorded as a refused move, the file sent to its new path, the
 * old one's delete fails alone (exit 23); once the directory is writable
 * again, the next run deletes it and converges. */
Test(sftp_sendless, server_refuses_the_move, .timeout = 90)
{
    if (fx_int("SSH_CAN_CHMOD") == 0)
        cr_skip_test("the SSH user is root: nothing is refused");
    sl_env e = sftp_env("sl-refuse");
    sl_conf(&e, "delete = yes");
    rslt_write_random(sl_path(e.src, "a/f.bin"), 20000, 12);
    rslt_write(sl_path(e.src, "b/keep.txt"), "k\n");
    free(sl_json(&e));
    SL_SH("mv '%s/a/f.bin' '%s/b/f.bin'", e.src, e.src);
    SL_SH("chmod 555 '%s/a'", e.root);
    char *out = NULL;
    cr_assert_eq(sl_run(&e, "--json", &out), 23, "%s", out);
    cr_assert_eq(sl_num(out, "moves"), 0, "%s", out);
    cr_assert_eq(sl_num(out, "transferred_files"), 1, "%s", out);
    cr_assert(strstr(out, "\"path\":\"b/f.bin\",\"from\":\"a/f.bin\",\"action\":\"move\","
                          "\"outcome\":\"skipped\",\"code\":\"REMOTE_PERMISSION\"") != NULL,
              "%s", out);
    free(out);
    char *want = rslt_read(sl_path(e.src, "b/f.bin"), NULL), *got = NULL;
    size_t n = 0;
    got = rslt_read(sl_path(e.root, "b/f.bin"), &n);
    cr_assert(got && n == 20000 && memcmp(got, want, n) == 0, "b/f.bin was not sent");
    free(want);
    free(got);
    cr_assert(sl_has(e.root, "a/f.bin"), "the refused directory kept its file");
    SL_SH("chmod 755 '%s/a'", e.root);
    free(sl_json(&e));
    sl_same_tree(&e);
    sl_free(&e);
}

SFTP_CASE(crash_window)

/* A run of this size takes about 240 ms over SFTP here: killed at 0, 45, ... 225 ms,
 * from before the connection to the last moves. */
Test(sftp_sendless, sigkill_while_moving, .timeout = 120)
{
    sl_env e = sftp_env("sl-kill");
    sl_case_sigkill_while_moving(&e, 45000000L);
    sl_free(&e);
}
