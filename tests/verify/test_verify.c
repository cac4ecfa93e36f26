/* End-to-end tests for `rsyncd-lite verify JOB.conf` on file://: identical
 * after a run (exit 0); a remote file deleted, another modified, one touched,
 * an extra file and a leftover temp are reported (exit 23); --repair then
 * `run` restores the remote and verify is clean again. Issue 11.2: bytes
 * changed on the remote with the same size and mtime are caught by
 * --checksum (file://'s hash) and by --read-back, and nothing is called
 * "identical" that was not compared. Issue 11.8: --repair --delete-extra
 * removes what the manifest does not know, within max_delete. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/state.h"
#include "tests/support/harness.h"
#include "tests/verify/verify_test.h"

Test(verify, detects_and_repairs_remote_drift)
{
    char *d = rslt_tmpdir("verify");
    char p[8300], conf[4096];
    snprintf(p, sizeof(p), "%s/src/a.txt", d);
    rslt_write(p, "alpha\n");
    snprintf(p, sizeof(p), "%s/src/sub/b.txt", d);
    rslt_write(p, "bravo\n");
    snprintf(p, sizeof(p), "%s/src/sub/deeper/c.txt", d);
    rslt_write(p, "charlie\n");
    snprintf(p, sizeof(p), "%s/src/keep.txt", d);
    rslt_write(p, "kilo\n");
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s/dst", d), 0);
    snprintf(conf, sizeof(conf), "%s/job.conf", d);
    FILE *f = fopen(conf, "w");
    fprintf(f, "[job]\nname = v\nsource = %s/src\ndestination = file://%s/dst\nstate = %s/s.db\n",
            d, d, d);
    fclose(f);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), conf), 0);

    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s verify %s", rslt_bin(), conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "identical in size and mtime: 0 missing, 0 different, 0 extra") != NULL,
              "%s", out);
    cr_assert(strstr(out, "content: not compared (verify --checksum compares it)") != NULL, "%s",
              out);
    free(out);

    /* drift behind our back */
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "cd %s/dst && rm sub/deeper/c.txt && printf 'EDITED!\\n' > a.txt && "
                         "printf 'kilo\\n' > keep.txt && touch -d '2001-01-01' keep.txt && "
                         "echo x > stray.txt && echo part > sub/b.txt.rsl-part",
                         d),
                 0);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s verify %s --checksum", rslt_bin(), conf);
    cr_assert_eq(rc, 23, "%s", out);
    cr_assert(strstr(out, "missing  sub/deeper/c.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "size     a.txt  (manifest 6 bytes, remote 8 bytes)") != NULL, "%s", out);
    cr_assert(strstr(out, "mtime    keep.txt  (manifest 20") != NULL, "%s", out);
    cr_assert(strstr(out, "extra    stray.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "temp     sub/b.txt.rsl-part") != NULL, "%s", out);
    cr_assert(strstr(out, "extra    sub/b.txt.rsl-part") == NULL, "a temp is not an extra");
    /* file:// hashes on the remote side: the one file that agrees in size and
     * mtime (sub/b.txt) had its content compared too */
    cr_assert(strstr(out, "content: 1 file(s) compared (1 by server checksum, 0 read back), 0 "
                          "different, 0 not compared") != NULL,
              "%s", out);
    cr_assert(strstr(out, "DIFFERENT: 1 missing, 2 different, 1 extra, 1 leftover") != NULL, "%s",
              out);
    free(out);

    /* JSON */
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s verify %s --json", rslt_bin(), conf);
    cr_assert_eq(rc, 23);
    cr_assert(strstr(out, "{\"type\":\"verify_entry\",\"kind\":\"missing\",\"path\":\"sub/deeper/"
                          "c.txt\"") != NULL,
              "%s", out);
    cr_assert(strstr(out, "\"identical\":false") != NULL, "%s", out);
    free(out);

    /* a plain run notices (its remote check samples every file of a manifest
     * this small) and stops before changing anything: REMOTE_CHANGED */
    out = NULL;
    rc = rslt_sh(NULL, &out, "%s run %s", rslt_bin(), conf);
    cr_assert_eq(rc, 5, "%s", out);
    cr_assert(strstr(out, "REMOTE_CHANGED") != NULL, "%s", out);
    free(out);
    snprintf(p, sizeof(p), "%s/dst/sub/deeper/c.txt", d);
    cr_assert(!rslt_exists(p));

    /* --repair, then run: restored */
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s verify %s --repair", rslt_bin(), conf);
    cr_assert_eq(rc, 23, "%s", out);
    cr_assert(strstr(out, "repair: 3 item(s) forgotten by the manifest") != NULL, "%s", out);
    free(out);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), conf), 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp %s/src/sub/deeper/c.txt %s/dst/sub/deeper/c.txt", d, d),
                 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp %s/src/a.txt %s/dst/a.txt", d, d), 0);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s verify %s", rslt_bin(), conf);
    cr_assert(strstr(out, "0 missing, 0 different, 1 extra") != NULL, "%s", out);
    free(out);
    /* without the stray file (a run leaves extras alone) and once the temp is gone: identical */
    cr_assert_eq(rslt_sh(NULL, NULL, "rm -f %s/dst/stray.txt %s/dst/sub/b.txt.rsl-part", d, d), 0);
    out = NULL;
    rc = rslt_sh(&out, NULL, "%s verify %s", rslt_bin(), conf);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
}

Test(verify, session_errors_and_usage)
{
    char *d = rslt_tmpdir("verify-err");
    char conf[4096];
    snprintf(conf, sizeof(conf), "%s/job.conf", d);
    FILE *f = fopen(conf, "w");
    fprintf(f, "[job]\nname = v\nsource = %s\ndestination = file://%s/missing\nstate = %s/s.db\n",
            d, d, d);
    fclose(f);
    char *err = NULL;
    int rc = rslt_sh(NULL, &err, "%s verify %s", rslt_bin(), conf);
    cr_assert_eq(rc, 5);
    cr_assert(strstr(err, "REMOTE_ROOT_MISSING") != NULL, "%s", err);
    free(err);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s verify", rslt_bin()), 1);
    char *out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "%s verify --help", rslt_bin()), 0);
    cr_assert(strstr(out, "--repair") != NULL);
    free(out);
    rslt_rmrf(d);
    free(d);
}

Test(verify, pending_rows_of_a_killed_run_are_not_drift)
{
    char *d = rslt_tmpdir("verify-pending");
    char p[8300], conf[4096], state[4096];
    snprintf(p, sizeof(p), "%s/src/a.txt", d);
    rslt_write(p, "alpha\n");
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s/dst", d), 0);
    snprintf(conf, sizeof(conf), "%s/job.conf", d);
    snprintf(state, sizeof(state), "%s/s.db", d);
    FILE *f = fopen(conf, "w");
    fprintf(f, "[job]\nname = v\nsource = %s/src\ndestination = file://%s/dst\nstate = %s\n", d, d,
            state);
    fclose(f);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), conf), 0);
    /* what a run killed mid-change leaves: rows marked pending */
    rsl_state *st = NULL;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, state, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(rsl_state_manifest_put_pending(st, "a.txt", RSL_TYPE_FILE, 1, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_put_pending(st, "ghost.txt", RSL_TYPE_FILE, 1, &e), RSL_OK);
    rsl_state_close(st);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "%s verify %s", rslt_bin(), conf);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "pending  a.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "pending  ghost.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "identical in size and mtime: 0 missing, 0 different, 0 extra") != NULL,
              "%s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
}

/* A synced file:// job: src/ (a.txt, sub/b.txt, big.bin of 3 MiB), dst/. */
typedef struct fjob {
    char *d;
    char conf[4096], state[4096], src[4096], dst[4096];
} fjob;

static fjob fjob_new(const char *tag, const char *extra_job)
{
    fjob j;
    j.d = rslt_tmpdir(tag);
    snprintf(j.src, sizeof(j.src), "%s/src", j.d);
    snprintf(j.dst, sizeof(j.dst), "%s/dst", j.d);
    snprintf(j.conf, sizeof(j.conf), "%s/job.conf", j.d);
    snprintf(j.state, sizeof(j.state), "%s/s.db", j.d);
    char p[8300];
    snprintf(p, sizeof(p), "%s/a.txt", j.src);
    rslt_write(p, "alpha\n");
    snprintf(p, sizeof(p), "%s/sub/b.txt", j.src);
    rslt_write(p, "bravo\n");
    snprintf(p, sizeof(p), "%s/big.bin", j.src);
    rslt_write_random(p, 3u << 20, 11);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p %s", j.dst), 0);
    FILE *f = fopen(j.conf, "w");
    fprintf(f, "[job]\nname = v\nsource = %s\ndestination = file://%s\nstate = %s\n%s\n", j.src,
            j.dst, j.state, extra_job ? extra_job : "");
    fclose(f);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), j.conf), 0);
    return j;
}

static void fjob_free(fjob *j)
{
    rslt_rmrf(j->d);
    free(j->d);
}

static int verify(const fjob *j, char **out, const char *args)
{
    return rslt_sh(out, NULL, "%s verify %s %s", rslt_bin(), j->conf, args);
}

Test(verify, checksum_and_read_back_catch_bytes_changed_with_the_same_size_and_mtime)
{
    fjob j = fjob_new("verify-sum", NULL);
    cr_assert_eq(fill_digests(j.state, j.src), 3);
    char *out = NULL;
    cr_assert_eq(verify(&j, &out, "--checksum"), 0, "%s", out);
    cr_assert(strstr(out, "identical: 0 missing, 0 different, 0 extra, 0 leftover temp(s); content "
                          "of 3 file(s) compared") != NULL,
              "%s", out);
    free(out);

    /* what rclone's write cache did: the first bytes of a file zero-filled,
     * size and mtime untouched */
    char p[8300];
    snprintf(p, sizeof(p), "%s/big.bin", j.dst);
    zero_range(p, 0, 1 << 20);
    cr_assert_eq(verify(&j, &out, ""), 0, "sizes and mtimes still agree: %s", out);
    cr_assert(strstr(out, "identical in size and mtime") != NULL, "%s", out);
    cr_assert(strstr(out, "identical:") == NULL, "content was not compared: %s", out);
    free(out);

    cr_assert_eq(verify(&j, &out, "--checksum"), 23, "%s", out);
    cr_assert(strstr(out, "content  big.bin  (content differs: server's sha256 ") != NULL, "%s",
              out);
    cr_assert(strstr(out, "the digest recorded at upload") != NULL, "%s", out);
    cr_assert(strstr(out, "DIFFERENT: 0 missing, 1 different, 0 extra") != NULL, "%s", out);
    cr_assert(strstr(out, "content: 3 file(s) compared (3 by server checksum, 0 read back), 1 "
                          "different, 0 not compared") != NULL,
              "%s", out);
    free(out);

    cr_assert_eq(verify(&j, &out, "--read-back"), 23, "%s", out);
    cr_assert(strstr(out, "content  big.bin  (content differs: read-back sha256 ") != NULL, "%s",
              out);
    cr_assert(strstr(out, "(0 by server checksum, 3 read back)") != NULL, "%s", out);
    free(out);

    cr_assert_eq(verify(&j, &out, "--read-back --json"), 23, "%s", out);
    json_valid(out);
    unsigned char md[EVP_MAX_MD_SIZE];
    char hex[65];
    snprintf(p, sizeof(p), "%s/big.bin", j.src);
    sha256_file(p, md);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    char want[300];
    snprintf(want, sizeof(want),
             "\"kind\":\"content\",\"path\":\"big.bin\",\"manifest_type\":\"file\"");
    cr_assert(strstr(out, want) != NULL, "%s", out);
    snprintf(want, sizeof(want),
             "\"compared_by\":\"read_back\",\"digest_alg\":\"sha256\",\"expected_digest\":\"%s\"",
             hex);
    cr_assert(strstr(out, want) != NULL, "%s", out);
    cr_assert(strstr(out, "\"checksum\":true,\"read_back\":true,\"content_compared\":3,"
                          "\"content_different\":1,\"content_unchecked\":0") != NULL,
              "%s", out);
    free(out);

    /* --repair forgets it; the next run sends it again */
    cr_assert_eq(verify(&j, &out, "--checksum --repair"), 23, "%s", out);
    cr_assert(strstr(out, "repair: 1 item(s) forgotten by the manifest") != NULL, "%s", out);
    free(out);
    cr_assert_eq(rslt_sh(NULL, NULL, "%s run %s", rslt_bin(), j.conf), 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp %s/big.bin %s/big.bin", j.src, j.dst), 0);
    fill_digests(j.state, j.src);
    cr_assert_eq(verify(&j, &out, "--read-back"), 0, "%s", out);
    cr_assert(strstr(out, "identical: ") != NULL, "%s", out);
    free(out);
    fjob_free(&j);
}

Test(verify, rows_without_a_digest_compare_with_the_unchanged_local_file_only)
{
    fjob j = fjob_new("verify-nodigest", NULL);
    /* no digests recorded (an upload older than digests: the engine records
     * one with every upload now, so take them out) */
    cr_assert_eq(rslt_sh(NULL, NULL, "sqlite3 '%s' 'UPDATE manifest SET digest = NULL'", j.state),
                 0);
    char p[8300];
    snprintf(p, sizeof(p), "%s/big.bin", j.dst);
    zero_range(p, 4096, 100);
    char *out = NULL;
    /* the local file is unchanged since the upload: it stands for what was sent */
    cr_assert_eq(verify(&j, &out, "--read-back"), 23, "%s", out);
    cr_assert(strstr(out, "content  big.bin") != NULL, "%s", out);
    cr_assert(strstr(out, "the local file (no recorded digest; unchanged since the upload)") !=
                  NULL,
              "%s", out);
    free(out);
    /* the local file changed since (same size, other mtime): nothing to compare with */
    cr_assert_eq(rslt_sh(NULL, NULL, "touch -d '2001-01-01' %s/a.txt", j.src), 0);
    cr_assert_eq(verify(&j, &out, "--read-back"), 23, "%s", out);
    cr_assert(strstr(out, "unchecked a.txt  (not compared: no recorded digest (an older upload), "
                          "and local file changed since the upload (size or mtime))") != NULL,
              "%s", out);
    cr_assert(strstr(out, "1 not compared") != NULL, "%s", out);
    cr_assert(strstr(out, "not compared: 1 file(s): no recorded digest") != NULL, "%s", out);
    free(out);
    /* the same with a recorded digest: compared with it, whatever the local file became */
    fill_digests(j.state, j.src);
    rslt_write(p, "");
    cr_assert_eq(rslt_sh(NULL, NULL, "cp -p %s/big.bin %s/big.bin", j.src, j.dst), 0);
    cr_assert_eq(verify(&j, &out, "--read-back"), 0, "%s", out);
    cr_assert(strstr(out, "identical: 0 missing, 0 different, 0 extra, 0 leftover temp(s); "
                          "content of 3 file(s) compared") != NULL,
              "%s", out);
    free(out);
    fjob_free(&j);
}

Test(verify, delete_extra_removes_what_the_manifest_does_not_know)
{
    fjob j = fjob_new("verify-extra", "max_delete = 4");
    char p[8300];
    snprintf(p, sizeof(p), "%s/stray.txt", j.dst);
    rslt_write(p, "by hand\n");
    snprintf(p, sizeof(p), "%s/hand/made/deep.txt", j.dst);
    rslt_write(p, "by hand\n");
    snprintf(p, sizeof(p), "%s/sub/b.txt.rsl-part", j.dst);
    rslt_write(p, "part");
    /* something beside the remote root that must never be touched */
    snprintf(p, sizeof(p), "%s/outside.txt", j.d);
    rslt_write(p, "outside\n");

    char *out = NULL;
    cr_assert_eq(verify(&j, &out, ""), 23, "%s", out);
    cr_assert(strstr(out, "extra    stray.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "extra    hand/made/deep.txt") != NULL, "%s", out);
    cr_assert(strstr(out, "extra: 4 item(s) on the remote that the manifest does not know; a plain "
                          "--repair leaves them; --repair --delete-extra removes them") != NULL,
              "%s", out);
    free(out);
    /* a plain --repair leaves them and says so */
    cr_assert_eq(verify(&j, &out, "--repair"), 23, "%s", out);
    cr_assert(strstr(out, "repair: 4 extra item(s) left on the remote") != NULL, "%s", out);
    free(out);
    snprintf(p, sizeof(p), "%s/stray.txt", j.dst);
    cr_assert(rslt_exists(p));
    cr_assert_eq(verify(&j, &out, "--delete-extra"), 1, "--delete-extra alone is a usage error");
    free(out);

    /* 4 extras + 1 temp = 5 > max_delete 4: refused, nothing changed */
    char *err = NULL;
    int rc = rslt_sh(&out, &err, "%s verify %s --repair --delete-extra", rslt_bin(), j.conf);
    cr_assert_eq(rc, 5, "%s%s", out, err);
    cr_assert(strstr(err, "error MAX_DELETE (422): --delete-extra would remove 5 remote item(s)") !=
                  NULL,
              "%s", err);
    cr_assert(strstr(err, "but max_delete = 4; nothing was removed or repaired") != NULL, "%s",
              err);
    cr_assert(strstr(err, "fix: check the extra items listed above; if they are all to go: "
                          "rsyncd-lite verify") != NULL,
              "%s", err);
    cr_assert(strstr(err, "--max-delete 5") != NULL, "%s", err);
    cr_assert(rslt_exists(p), "refused, yet removed");
    free(out);
    free(err);
    rc = rslt_sh(&out, &err, "%s verify %s --repair --delete-extra --max-delete 3", rslt_bin(),
                 j.conf);
    cr_assert_eq(rc, 5, "%s%s", out, err);
    cr_assert(strstr(err, "but --max-delete = 3") != NULL, "%s", err);
    free(out);
    free(err);

    /* within the limit: files and the temp first, then directories deepest first */
    cr_assert_eq(verify(&j, &out, "--repair --delete-extra --max-delete 5"), 23, "%s", out);
    cr_assert(strstr(out, "removed  stray.txt  (removed: extra file (not in the manifest))") !=
                  NULL,
              "%s", out);
    cr_assert(strstr(out, "removed  sub/b.txt.rsl-part  (removed: leftover temp file)") != NULL,
              "%s", out);
    char *f1 = strstr(out, "removed  hand/made/deep.txt"), *d2 = strstr(out, "removed  hand/made "),
         *d1 = strstr(out, "removed  hand  ");
    cr_assert(f1 && d2 && d1 && f1 < d2 && d2 < d1, "files, then deepest directories: %s", out);
    cr_assert(strstr(out, "delete-extra: 5 item(s) removed from the remote, 0 could not be") !=
                  NULL,
              "%s", out);
    free(out);
    snprintf(p, sizeof(p), "%s/outside.txt", j.d);
    cr_assert(rslt_exists(p), "outside the remote root");
    cr_assert_eq(rslt_sh(NULL, NULL, "cmp %s/a.txt %s/a.txt && cmp %s/sub/b.txt %s/sub/b.txt",
                         j.src, j.dst, j.src, j.dst),
                 0, "synced files are left alone");
    cr_assert_eq(verify(&j, &out, ""), 0, "converged: %s", out);
    free(out);
    cr_assert_eq(verify(&j, &out, "--repair --delete-extra --json"), 0, "%s", out);
    json_valid(out);
    cr_assert(strstr(out, "\"extra_removed\":0") != NULL, "%s", out);
    free(out);
    fjob_free(&j);
}

Test(verify, delete_extra_refuses_with_an_empty_manifest)
{
    fjob j = fjob_new("verify-empty", NULL);
    cr_assert_eq(rslt_sh(NULL, NULL, "rm -f %s*", j.state), 0);
    char *out = NULL, *err = NULL;
    int rc = rslt_sh(&out, &err, "%s verify %s --repair --delete-extra", rslt_bin(), j.conf);
    cr_assert_eq(rc, 5, "%s%s", out, err);
    cr_assert(strstr(err, "the manifest is empty: --delete-extra would remove all 4 item(s)") !=
                  NULL,
              "%s", err);
    cr_assert(strstr(err, "fix: run `rsyncd-lite run ") != NULL, "%s", err);
    char p[8300];
    snprintf(p, sizeof(p), "%s/big.bin", j.dst);
    cr_assert(rslt_exists(p));
    free(out);
    free(err);
    fjob_free(&j);
}
