/* End-to-end tests for `rsyncd-lite verify JOB.conf`: identical after a run
 * (exit 0); a remote file deleted, another modified, one touched, an extra
 * file and a leftover temp are reported (exit 23); --repair then `run`
 * restores the remote and verify is clean again. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/state.h"
#include "tests/support/harness.h"

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
    cr_assert(strstr(out, "identical: 0 missing, 0 different, 0 extra") != NULL, "%s", out);
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
    cr_assert(strstr(out, "checksum: not supported by this transport") != NULL, "%s", out);
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
    cr_assert(strstr(out, "identical: 0 missing, 0 different, 0 extra") != NULL, "%s", out);
    free(out);
    rslt_rmrf(d);
    free(d);
}
