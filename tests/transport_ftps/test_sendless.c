/*
 * End to end over ftps:// on the fixture's vsftpd (issue 12, "send less"):
 * renames and directory renames become RNFR/RNTO (the remote inode kept,
 * nothing sent), a refused move falls back, a growing log is appended with
 * APPE (only the tail sent, in place), a rotated one sent whole; links are a
 * per-item error (FTP has none). Scenarios: tests/support/sendless_cases.h.
 */
#define _GNU_SOURCE /* asprintf */
#include "ftps_test.h"

#include "tests/support/sendless_cases.h"

static sl_env ftps_env(const char *tag)
{
    fx f;
    fx_load(&f);
    sl_env e = {0};
    e.dir = rslt_tmpdir(tag);
    e.src = sl_path(e.dir, "src");
    cr_assert(asprintf(&e.root, "%s/%s-%d", f.datadir, tag, (int)getpid()) > 0);
    rslt_rmrf(e.root);
    cr_assert_eq(mkdir(e.root, 0755), 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "chown %s '%s'", f.user, e.root), 0);
    e.conf = sl_path(e.dir, "job.conf");
    cr_assert_eq(mkdir(e.src, 0755), 0);
    cr_assert(asprintf(&e.dest, "ftps://%s@%s:%d/data/%s-%d", f.user, f.host, f.port, tag,
                       (int)getpid()) > 0);
    cr_assert(asprintf(&e.remote, "password_file = %s\nca_file = %s", f.pwfile, f.ca) > 0);
    fx_free(&f);
    return e;
}

#define FTPS_CASE(name)                                                                            \
    Test(ftps_sendless, name, .timeout = 90)                                                       \
    {                                                                                              \
        sl_env e = ftps_env("sl-" #name);                                                          \
        sl_case_##name(&e);                                                                        \
        sl_free(&e);                                                                               \
    }

FTPS_CASE(file_rename)
FTPS_CASE(dir_rename)
FTPS_CASE(move_across_dirs)
FTPS_CASE(refused_move_falls_back)
FTPS_CASE(append)
FTPS_CASE(append_remote_changed)

/* symlinks = as-links over FTP: each link is a per-item error, the rest goes. */
Test(ftps_sendless, links_are_an_item_error, .timeout = 60)
{
    sl_env e = ftps_env("sl-links");
    sl_conf(&e, "symlinks = as-links");
    rslt_write(sl_path(e.src, "a.txt"), "a\n");
    SL_SH("cd '%s' && ln -s a.txt top", e.src);
    char *out = NULL;
    cr_assert_eq(sl_run(&e, "--json", &out), 23, "%s", out);
    cr_assert(strstr(out, "\"path\":\"top\",\"action\":\"create\",\"outcome\":\"failed\","
                          "\"code\":\"REMOTE_UNSUPPORTED\"") != NULL,
              "%s", out);
    free(out);
    cr_assert(sl_has(e.root, "a.txt"));
    cr_assert_not(sl_has(e.root, "top"));
    sl_free(&e);
}
