/* `check` in-process against the fake transport (tests/support), which can
 * claim a capability and fail it: each capability step reports what its
 * probe did, not what the capability bits say. A claimed resume that
 * forgets the temp file, restarts it, or zero-fills its kept part (rclone's
 * write cache) is FAIL with the fix; so is a claimed mtime the server
 * ignores and a claimed checksum that is missing or wrong. Every probe file
 * is removed, after a failure too. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "tests/support/fake_transport.h"
#include "tests/support/harness.h"
#include "tests/verify/verify_test.h"
#include "transports/transport.h"

#define CAPS_BASE (RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME)

typedef struct ck {
    char *d;
    char conf[4096];
    char final[64], tmp[80], rtmp[96];
} ck;

static ck ck_new(const char *tag, unsigned caps, const char *extra_remote)
{
    rslt_fake_setup();
    rslt_fake_set_caps(caps);
    ck c;
    c.d = rslt_tmpdir(tag);
    char p[8300];
    snprintf(p, sizeof(p), "%s/src/a.txt", c.d);
    rslt_write(p, "alpha\n");
    snprintf(c.conf, sizeof(c.conf), "%s/job.conf", c.d);
    FILE *f = fopen(c.conf, "w");
    fprintf(f, "[job]\nname = ck\nsource = %s/src\ndestination = %s\nstate = %s/s.db\n%s\n", c.d,
            RSLT_FAKE_URL, c.d, extra_remote ? extra_remote : "");
    fclose(f);
    snprintf(c.final, sizeof(c.final), ".rsyncd-lite-check-%ld", (long)getpid());
    snprintf(c.tmp, sizeof(c.tmp), "%s.rsl-part", c.final);
    snprintf(c.rtmp, sizeof(c.rtmp), "%s-resume.rsl-part", c.final);
    return c;
}

static int check(ck *c, char **out, const char *arg)
{
    char *argv[] = {"check", c->conf, (char *)arg, NULL};
    return capture(rsl_cmd_check, argv, out);
}

/* Nothing the probes wrote is left on the fake remote. */
static void nothing_left(ck *c)
{
    cr_assert_eq(rslt_fake_type(c->final), 0, "%s left behind", c->final);
    cr_assert_eq(rslt_fake_type(c->tmp), 0, "%s left behind", c->tmp);
    cr_assert_eq(rslt_fake_type(c->rtmp), 0, "%s left behind", c->rtmp);
}

static void ck_free(ck *c)
{
    rslt_rmrf(c->d);
    free(c->d);
    rslt_fake_teardown();
}

Test(check_probe, a_working_resume_is_probed_at_an_offset)
{
    ck c = ck_new("ckp-ok", CAPS_BASE | RSL_CAP_RESUME, NULL);
    char *out = NULL;
    cr_assert_eq(check(&c, &out, NULL), 0, "%s", out);
    cr_assert(strstr(out, "[PASS] resume supported: wrote 100000 of 200000 bytes to ") != NULL,
              "%s", out);
    cr_assert(strstr(out, "the server kept 100000, continued from there: 200000 bytes, read back "
                          "identical") != NULL,
              "%s", out);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_RESUME_OFFSET, c.rtmp), 1);
    rslt_fake_upload up[8];
    size_t n = rslt_fake_uploads(up, 8);
    int at_offset = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        at_offset +=
            strcmp(up[i].path, c.rtmp) == 0 && up[i].offset == 100000 && up[i].total == 200000;
    cr_assert_eq(at_offset, 1, "one upload continued at the kept offset");
    cr_assert(strstr(out, "[PASS] rename supported: ") != NULL, "%s", out);
    cr_assert(strstr(out, "then again over the existing file (atomic replace)") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] mtime set: set 2009-02-13 23:31:30Z on ") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] read back: ") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] server checksum: this server offers no checksum") != NULL, "%s",
              out);
    nothing_left(&c);
    free(out);
    cr_assert_eq(check(&c, &out, "--json"), 0, "%s", out);
    json_valid(out);
    free(out);
    ck_free(&c);
}

Test(check_probe, claimed_resume_that_forgets_the_temp_file_fails)
{
    ck c = ck_new("ckp-forget", CAPS_BASE | RSL_CAP_RESUME, NULL);
    rslt_fake_resume_fault(RSLT_FAKE_RESUME_FORGETS);
    char *out = NULL;
    cr_assert_eq(check(&c, &out, NULL), 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] resume supported: resume does not work on this server: an "
                          "interrupted upload will restart from zero") != NULL,
              "%s", out);
    cr_assert(strstr(out, "       fix: Nothing to set in the job: large files restart") != NULL,
              "%s", out);
    cr_assert(strstr(out, "[PASS] resume supported") == NULL, "%s", out);
    nothing_left(&c);
    free(out);
    ck_free(&c);
}

Test(check_probe, claimed_resume_that_restarts_or_zero_fills_fails)
{
    ck c = ck_new("ckp-restart", CAPS_BASE | RSL_CAP_RESUME, NULL);
    rslt_fake_resume_fault(RSLT_FAKE_RESUME_RESTARTS);
    char *out = NULL;
    cr_assert_eq(check(&c, &out, NULL), 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] resume supported: resume does not work on this server: after "
                          "continuing at byte 100000 the temp file has 100000 bytes, not 200000") !=
                  NULL,
              "%s", out);
    nothing_left(&c);
    free(out);
    ck_free(&c);

    c = ck_new("ckp-zero", CAPS_BASE | RSL_CAP_RESUME, NULL);
    rslt_fake_resume_fault(RSLT_FAKE_RESUME_ZEROFILLS);
    cr_assert_eq(check(&c, &out, NULL), 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] resume supported: resume does not work on this server: after "
                          "continuing at byte 100000, the temp file's bytes differ from what was "
                          "sent from byte 0 on") != NULL,
              "%s", out);
    cr_assert(strstr(out, "fix: Report this server") != NULL, "%s", out);
    nothing_left(&c);
    free(out);
    ck_free(&c);
}

Test(check_probe, unclaimed_resume_warns_without_a_probe)
{
    ck c = ck_new("ckp-noresume", CAPS_BASE, NULL);
    char *out = NULL;
    cr_assert_eq(check(&c, &out, NULL), 0, "%s", out);
    cr_assert(strstr(out, "[WARN] resume supported: this server cannot resume") != NULL, "%s", out);
    cr_assert_eq(rslt_fake_calls(RSLT_FAKE_RESUME_OFFSET), 0);
    free(out);
    ck_free(&c);
}

Test(check_probe, claimed_mtime_the_server_ignores_fails)
{
    ck c = ck_new("ckp-mtime", CAPS_BASE | RSL_CAP_RESUME, NULL);
    rslt_fake_ignore_mtime(1);
    char *out = NULL;
    cr_assert_eq(check(&c, &out, NULL), 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] mtime set: the server did not keep the modification time set on "
                          ".rsyncd-lite-check-") != NULL,
              "%s", out);
    nothing_left(&c);
    free(out);
    ck_free(&c);
    /* not claimed: said, not failed */
    c = ck_new("ckp-nomtime", RSL_CAP_ATOMIC_RENAME | RSL_CAP_RESUME, NULL);
    cr_assert_eq(check(&c, &out, NULL), 0, "%s", out);
    cr_assert(strstr(out, "[SKIP] mtime set: this server cannot set modification times") != NULL,
              "%s", out);
    free(out);
    ck_free(&c);
}

Test(check_probe, server_checksum_is_compared_with_the_probe)
{
    ck c = ck_new("ckp-sum", CAPS_BASE | RSL_CAP_RESUME | RSL_CAP_CHECKSUM, NULL);
    char *out = NULL;
    /* claimed, none given */
    cr_assert_eq(check(&c, &out, NULL), 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] server checksum: claimed, but asking for it failed") != NULL,
              "%s", out);
    free(out);
    rslt_fake_set_hash("md5");
    cr_assert_eq(check(&c, &out, NULL), 0, "%s", out);
    cr_assert(strstr(out, "[PASS] server checksum: the server's md5 of .rsyncd-lite-check-") !=
                  NULL,
              "%s", out);
    free(out);
    rslt_fake_set_hash("sha256");
    rslt_fake_hash_lies(1);
    cr_assert_eq(check(&c, &out, NULL), 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] server checksum: the server's sha256 of ") != NULL, "%s", out);
    cr_assert(strstr(out, "its checksums are wrong") != NULL, "%s", out);
    nothing_left(&c);
    free(out);
    ck_free(&c);
}

Test(check_probe, permission_bits_are_said_as_they_are)
{
    ck c = ck_new("ckp-mode", CAPS_BASE | RSL_CAP_RESUME | RSL_CAP_SET_MODE, NULL);
    char *out = NULL;
    cr_assert_eq(check(&c, &out, NULL), 0, "%s", out);
    cr_assert(strstr(out, "[SKIP] permission bits: claimed, not verifiable: the fake transport "
                          "cannot show a remote file's permission bits") != NULL,
              "%s", out);
    free(out);
    ck_free(&c);
    c = ck_new("ckp-nomode", CAPS_BASE | RSL_CAP_RESUME, NULL);
    cr_assert_eq(check(&c, &out, NULL), 0, "%s", out);
    cr_assert(strstr(out, "[SKIP] permission bits: this server cannot set permission bits: new "
                          "files get the server's defaults whatever perms says") != NULL,
              "%s", out);
    free(out);
    ck_free(&c);
    /* a job that names a mode relies on it: a warning */
    c = ck_new("ckp-perms", CAPS_BASE | RSL_CAP_RESUME, "[remote]\nperms = 0640");
    cr_assert_eq(check(&c, &out, NULL), 0, "%s", out);
    cr_assert(strstr(out, "[WARN] permission bits: this server cannot set permission bits: new "
                          "files get the server's defaults whatever perms says (the fake "
                          "transport has no way to set them; perms names a mode: it is not "
                          "applied)") != NULL,
              "%s", out);
    free(out);
    ck_free(&c);
}

Test(check_probe, probe_files_are_removed_after_a_failure)
{
    ck c = ck_new("ckp-clean", CAPS_BASE | RSL_CAP_RESUME, NULL);
    rslt_fake_fail_every(RSLT_FAKE_FINISH, RSL_E_REMOTE_RENAME_FAILED);
    char *out = NULL;
    cr_assert_eq(check(&c, &out, NULL), 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] rename supported: rename of the probe: ") != NULL, "%s", out);
    cr_assert(strstr(out, "[SKIP] mtime set: needs the rename step above") != NULL, "%s", out);
    cr_assert(strstr(out, "[PASS] resume supported") != NULL, "%s", out);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_REMOVE, c.tmp), 1);
    cr_assert_eq(rslt_fake_calls_for(RSLT_FAKE_REMOVE, c.rtmp), 1);
    nothing_left(&c);
    free(out);
    /* a probe file that cannot be removed is named */
    rslt_fake_clear_faults();
    rslt_fake_fail_path(RSLT_FAKE_REMOVE, c.final, RSL_E_REMOTE_PERMISSION);
    cr_assert_eq(check(&c, &out, NULL), 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] probe removed: could not remove the probe file(s) ") != NULL,
              "%s", out);
    cr_assert(strstr(out, "; remove them by hand") != NULL, "%s", out);
    free(out);
    ck_free(&c);
}

Test(check_probe, an_unwritable_root_skips_every_capability_step)
{
    ck c = ck_new("ckp-ro", CAPS_BASE | RSL_CAP_RESUME, NULL);
    rslt_fake_fail_every(RSLT_FAKE_UPLOAD, RSL_E_REMOTE_PERMISSION);
    char *out = NULL;
    cr_assert_eq(check(&c, &out, NULL), 5, "%s", out);
    cr_assert(strstr(out, "[FAIL] remote root writable") != NULL, "%s", out);
    const char *skipped[] = {"rename supported", "mtime set",       "resume supported",
                             "permission bits",  "server checksum", "read back"};
    for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
        char want[120];
        snprintf(want, sizeof(want), "[SKIP] %s: needs the failed step above", skipped[i]);
        cr_assert(strstr(out, want) != NULL, "%s: %s", want, out);
    }
    nothing_left(&c);
    free(out);
    ck_free(&c);
}
