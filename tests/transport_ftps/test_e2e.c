/* End to end: the built binary (RSL_BIN) runs job files with an ftps:// destination
 * against the fixture's vsftpd: a tree pushed and updated, and a run killed with
 * SIGKILL in the middle of a large upload, then resumed by the next run. */
#include "ftps_test.h"

static void fresh_remote(fx *f, const char *name, char *local, size_t n)
{
    snprintf(local, n, "%s/%s", f->datadir, name);
    rslt_rmrf(local);
    cr_assert_eq(mkdir(local, 0755), 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "chown %s '%s'", f->user, local), 0);
}

static void write_job(fx *f, const char *path, const char *name, const char *src,
                      const char *remote, const char *state, const char *extra)
{
    char buf[8192];
    snprintf(buf, sizeof(buf),
             "[job]\nname = %s\nsource = %s\ndestination = ftps://%s@%s:%d/data/%s\n"
             "state = %s\n%s\n[remote]\npassword_file = %s\nca_file = %s\n",
             name, src, f->user, f->host, f->port, remote, state, extra ? extra : "", f->pwfile,
             f->ca);
    rslt_write(path, buf);
}

static long long json_num(const char *json, const char *key)
{
    char k[128];
    snprintf(k, sizeof(k), "\"%s\":", key);
    const char *p = strstr(json, k);
    cr_assert_not_null(p, "%s not in %s", key, json);
    return strtoll(p + strlen(k), NULL, 10);
}

Test(ftps_e2e, run_pushes_tree_and_updates, .timeout = 120)
{
    fx f;
    fx_load(&f);
    char local[4096];
    fresh_remote(&f, "e2e-tree", local, sizeof(local));
    char *d = rslt_tmpdir("ftps-e2e");
    char src[4200], p[4400], job[4200], state[4200];
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(p, sizeof(p), "%s/a.txt", src);
    rslt_write(p, "alpha\n");
    snprintf(p, sizeof(p), "%s/sub dir/\xc3\xa9t\xc3\xa9.txt", src);
    rslt_write(p, "utf-8 name\n");
    snprintf(p, sizeof(p), "%s/sub dir/deeper/big.bin", src);
    rslt_write_random(p, 3u << 20, 5);
    snprintf(job, sizeof(job), "%s/job.conf", d);
    snprintf(state, sizeof(state), "%s/state.db", d);
    write_job(&f, job, "e2e-tree", src, "e2e-tree", state, NULL);

    char *out = NULL;
    int st = rslt_sh(&out, NULL, "'%s' run '%s' 2>&1", rslt_bin(), job);
    cr_assert_eq(st, 0, "first run: %s", out);
    free(out);
    cr_assert_eq(rslt_sh(&out, NULL, "diff -r '%s' '%s'", src, local), 0, "trees differ: %s", out);
    free(out);
    /* mtime carried over (MDTM on vsftpd) */
    struct stat a, b;
    snprintf(p, sizeof(p), "%s/sub dir/deeper/big.bin", src);
    stat(p, &a);
    snprintf(p, sizeof(p), "%s/sub dir/deeper/big.bin", local);
    stat(p, &b);
    cr_assert_eq(a.st_mtime, b.st_mtime);

    /* check walks every step against the server; verify lists it (LIST + MDTM) and
     * finds it identical to the manifest, then sees a file changed behind our back */
    st = rslt_sh(&out, NULL, "'%s' check '%s' 2>&1", rslt_bin(), job);
    cr_assert_eq(st, 0, "check: %s", out);
    free(out);
    st = rslt_sh(&out, NULL, "'%s' verify '%s' 2>&1", rslt_bin(), job);
    cr_assert_eq(st, 0, "verify: %s", out);
    cr_assert(strstr(out, "identical") != NULL, "%s", out);
    free(out);
    snprintf(p, sizeof(p), "%s/sub dir/\xc3\xa9t\xc3\xa9.txt", local);
    rslt_write(p, "changed on the server\n");
    st = rslt_sh(&out, NULL, "'%s' verify '%s' 2>&1", rslt_bin(), job);
    cr_assert_neq(st, 0, "verify must see the change: %s", out);
    cr_assert(strstr(out, "size") != NULL, "%s", out);
    free(out);
    snprintf(p, sizeof(p), "%s/sub dir/\xc3\xa9t\xc3\xa9.txt", src);
    char *orig = rslt_read(p, NULL);
    snprintf(p, sizeof(p), "%s/sub dir/\xc3\xa9t\xc3\xa9.txt", local);
    rslt_write(p, orig);
    free(orig);
    snprintf(p, sizeof(p), "%s/sub dir/\xc3\xa9t\xc3\xa9.txt", src);
    stat(p, &a);
    snprintf(p, sizeof(p), "touch -d @%lld '%s/sub dir/\xc3\xa9t\xc3\xa9.txt'",
             (long long)a.st_mtime, local);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s", p), 0);

    /* change one file: the next run replaces just that one */
    snprintf(p, sizeof(p), "%s/a.txt", src);
    rslt_write(p, "alpha, second version\n");
    st = rslt_sh(&out, NULL, "'%s' run '%s' --json 2>&1", rslt_bin(), job);
    cr_assert_eq(st, 0, "second run: %s", out);
    cr_assert_eq(json_num(out, "transferred_files"), 1, "%s", out);
    free(out);
    cr_assert_eq(rslt_sh(&out, NULL, "diff -r '%s' '%s'", src, local), 0, "trees differ: %s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
    rslt_rmrf(local);
    fx_free(&f);
}

/* The resume proof: our process is SIGKILLed in the middle of a 32 MiB
 * upload; the next run sends only what the server does not have (+ at most a chunk). */
Test(ftps_e2e, sigkill_mid_upload_then_resume, .timeout = 180)
{
    fx f;
    fx_load(&f);
    char local[4096];
    fresh_remote(&f, "e2e-kill", local, sizeof(local));
    char *d = rslt_tmpdir("ftps-e2e-kill");
    char src[4200], p[4400], job[4200], job2[4200], state[4200], tmp[4400], dst[4400];
    snprintf(src, sizeof(src), "%s/src", d);
    snprintf(p, sizeof(p), "%s/big.bin", src);
    const long long total = 32ll << 20;
    rslt_write_random(p, (uint64_t)total, 9);
    snprintf(job, sizeof(job), "%s/slow.conf", d);
    snprintf(job2, sizeof(job2), "%s/fast.conf", d);
    snprintf(state, sizeof(state), "%s/state.db", d);
    /* slowed down so the kill lands mid-file */
    write_job(&f, job, "e2e-kill", src, "e2e-kill", state, "bwlimit = 4M");
    write_job(&f, job2, "e2e-kill", src, "e2e-kill", state, NULL);
    snprintf(tmp, sizeof(tmp), "%s/big.bin.rsl-part", local);
    snprintf(dst, sizeof(dst), "%s/big.bin", local);

    char *out = NULL;
    cr_assert_eq(
        rslt_sh(&out, NULL, "'%s' run '%s' >'%s/run1.log' 2>&1 & echo $!", rslt_bin(), job, d), 0);
    int pid = (int)strtol(out, NULL, 10);
    free(out);
    /* poll the server's temp file until a good part of the file is there */
    long long seen = -1;
    for (int i = 0; i < 1500 && seen < (8ll << 20); i++) {
        seen = rslt_size(tmp);
        usleep(10000);
    }
    cr_assert_geq(seen, 8ll << 20, "upload did not progress (temp %lld bytes)", seen);
    cr_assert_eq(kill(pid, SIGKILL), 0);
    /* let the server finish writing what reached it: the size stops changing */
    long long have = rslt_size(tmp), prev = -2;
    for (int i = 0; i < 100 && have != prev; i++) {
        usleep(50000);
        prev = have;
        have = rslt_size(tmp);
    }
    cr_assert_lt(have, total, "killed before the end");
    cr_assert(!rslt_exists(dst), "no half file under the final name");

    int st = rslt_sh(&out, NULL, "'%s' run '%s' --json 2>&1", rslt_bin(), job2);
    cr_assert_eq(st, 0, "resume run: %s", out);
    long long sent = json_num(out, "transferred_bytes");
    cr_log_info("killed with %lld of %lld bytes on the server; the next run sent %lld", have, total,
                sent);
    cr_assert_leq(sent, total - have + (1ll << 20), "resume sent %lld for %lld missing", sent,
                  total - have);
    cr_assert_geq(sent, total - have);
    free(out);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp -s '%s' '%s'", p, dst), 0, "byte-identical");
    cr_assert(!rslt_exists(tmp));
    rslt_rmrf(d);
    free(d);
    rslt_rmrf(local);
    fx_free(&f);
}

/* Small files over FTPS open twice `transfers` connections (engine/workers.c);
 * a server that takes one client only (the fixture's busy vsftpd,
 * max_clients=1) answers the extra ones 421: they leave, and the run
 * finishes on the one connection it has, exit 0. */
Test(ftps_e2e, extra_connections_refused_as_busy_leave_the_run_on_one, .timeout = 120)
{
    fx f;
    fx_load(&f);
    char local[4096];
    fresh_remote(&f, "e2e-busy", local, sizeof(local));
    char *d = rslt_tmpdir("ftps-busy");
    char src[4200], p[4400], job[4200], state[4200], buf[8192];
    snprintf(src, sizeof(src), "%s/src", d);
    for (int i = 0; i < 12; i++) {
        snprintf(p, sizeof(p), "%s/f%02d.txt", src, i);
        rslt_write(p, p);
    }
    snprintf(job, sizeof(job), "%s/job.conf", d);
    snprintf(state, sizeof(state), "%s/state.db", d);
    snprintf(buf, sizeof(buf),
             "[job]\nname = busy\nsource = %s\ndestination = ftps://%s@%s:%d/data/e2e-busy\n"
             "state = %s\ntransfers = 2\n[remote]\npassword_file = %s\nca_file = %s\n",
             src, f.user, f.host, f.busy_port, state, f.pwfile, f.ca);
    rslt_write(job, buf);
    char *out = NULL;
    int st = -1;
    /* another test may hold the one slot for a moment: then the first
     * connect itself is refused, and the run is tried again */
    for (int i = 0; i < 100; i++) {
        free(out);
        out = NULL;
        st = rslt_sh(&out, NULL, "'%s' run -v '%s' 2>&1", rslt_bin(), job);
        if (st == 0 || strstr(out, "going on with fewer") != NULL)
            break;
        usleep(100000);
    }
    cr_assert_eq(st, 0, "%s", out);
    cr_assert(strstr(out, "as busy") != NULL, "the extra connections were refused: %s", out);
    free(out);
    cr_assert_eq(rslt_sh(&out, NULL, "diff -r '%s' '%s'", src, local), 0, "trees differ: %s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
    rslt_rmrf(local);
    fx_free(&f);
}
