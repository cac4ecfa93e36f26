/* Before resuming, the kept prefix of a temp file is checked at sampled
 * blocks spread over all of it, not only at its tail: a temp whose early
 * prefix was zeroed on the server between two runs (as a server's write
 * cache did) is re-sent, never resumed. Through the transport's
 * resume_offset and through two real runs of the built binary (the first
 * stopped by max_run_time, which leaves the temp). */
#include "sftp_test.h"

#include <fcntl.h>

static void zero_prefix(const char *path, size_t n)
{
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0, "%s", path);
    char *z = calloc(1, n);
    cr_assert_eq(pwrite(fd, z, n, 0), (ssize_t)n);
    free(z);
    close(fd);
}

Test(sftp_resume_sample, resume_offset_checks_the_whole_prefix)
{
    char *root = mkroot("rsample");
    rsl_conn *c = NULL;
    rsl_err err = {0};
    rsl_remote_opts *o = malloc(sizeof(*o)); /* must outlive the connection */
    opts_init(o, NULL);
    cr_assert_eq(sconnect(&c, fx_int("SSH_PORT"), NULL, root, o, &err), RSL_OK, "%s", err.msg);
    const rsl_transport_ops *ops = sftp_ops();
    const uint64_t total = 4u << 20, part = 3u << 20;
    unsigned char *data = random_bytes(total, 11);
    msrc m;
    msrc_init(&m, data, part);
    cr_assert_eq(put_file(c, "f.rsl-part", data, part, -1, &err), RSL_OK, "%s", err.msg);
    msrc_init(&m, data, total);
    uint64_t have = 0;
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", total, &m.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, part, "an intact temp is kept");
    char *tmp = NULL;
    cr_assert(asprintf(&tmp, "%s/f.rsl-part", root) > 0);
    zero_prefix(tmp, 100 << 10);
    have = 1;
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", total, &m.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 0, "zeroed at its start: not kept (kept %llu)", (unsigned long long)have);
    ops->disconnect(c);
    free(o);
    free(tmp);
    free(data);
    rslt_rmrf(root);
    free(root);
}

static long long sent_bytes(const char *out)
{
    const char *p = strstr(out, "transferred:");
    cr_assert(p != NULL, "%s", out);
    p = strchr(p, '(');
    cr_assert(p != NULL, "%s", out);
    return strtoll(p + 1, NULL, 10);
}

Test(sftp_resume_sample, a_temp_zeroed_at_its_start_between_two_runs_is_re_sent, .timeout = 120)
{
    char *dir = rslt_tmpdir("rsample-e2e"), *root = mkroot("rsample-e2e");
    char *src = NULL, *conf = NULL, *big = NULL, *tmp = NULL, *text = NULL;
    cr_assert(asprintf(&src, "%s/src", dir) > 0);
    cr_assert(asprintf(&conf, "%s/job.conf", dir) > 0);
    cr_assert(asprintf(&big, "%s/big.bin", src) > 0);
    cr_assert(asprintf(&tmp, "%s/big.bin.rsl-part", root) > 0);
    const long long size = 8ll << 20;
    rslt_write_random(big, (uint64_t)size, 21);
    char *user = fx("SSH_USER"), *key = fx("SSH_KEY"), *kh = fx("SSH_KNOWN_HOSTS");
    cr_assert(asprintf(&text,
                       "[job]\nname = rs\nsource = %s\ndestination = sftp://%s@127.0.0.1:%d%s\n"
                       "state = %s/state.db\nbwlimit = 2M\nmax_run_time = 1s\n"
                       "[remote]\nidentity_file = %s\nknown_hosts = %s\n",
                       src, user, fx_int("SSH_PORT"), root, dir, key, kh) > 0);
    rslt_write(conf, text);
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "'%s' run -v '%s'", rslt_bin(), conf);
    cr_assert_eq(rc, 30, "stopped by max_run_time: exit %d\n%s\n%s", rc, out, err);
    long long kept = rslt_size(tmp);
    cr_assert(kept > (128 << 10) && kept < size, "a temp was left: %lld bytes", kept);
    zero_prefix(tmp, 64 << 10);
    /* no bound now: the next run finishes, re-sending the whole file */
    text[0] = '\0';
    cr_assert(asprintf(&text,
                       "[job]\nname = rs\nsource = %s\ndestination = sftp://%s@127.0.0.1:%d%s\n"
                       "state = %s/state.db\n[remote]\nidentity_file = %s\nknown_hosts = %s\n",
                       src, user, fx_int("SSH_PORT"), root, dir, key, kh) > 0);
    rslt_write(conf, text);
    rc = rslt_sh(&out, &err, "'%s' run -v '%s'", rslt_bin(), conf);
    cr_assert_eq(rc, 0, "exit %d\n%s\n%s", rc, out, err);
    cr_assert_eq(sent_bytes(out), size, "re-sent whole, not resumed at %lld:\n%s", kept, out);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp '%s' '%s/big.bin'", big, root), 0, "byte-identical");
    rslt_rmrf(root);
    rslt_rmrf(dir);
}
