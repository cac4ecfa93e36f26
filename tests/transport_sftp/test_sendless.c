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
SFTP_CASE(dir_mtimes)
SFTP_CASE(links)
