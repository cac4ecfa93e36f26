/* Engine tests: the state db's disk fills up mid-run (a small tmpfs holding
 * it; needs root to mount, skipped otherwise). The first failed write stops
 * the run as a session error with STATE_WRITE: nothing more is fed, and
 * every file on the remote is one the manifest knows about (a pending row
 * that could not be written means its upload was never fed). A later run
 * with space makes remote, local tree and manifest agree. */
#include "engine_test.h"

#define NFILES 3000

typedef struct audit {
    eng *e;
    rsl_state *st;
    int files, unknown, pending, temps, partial;
} audit;

static void audit_one(void *ud, const char *rel, int type)
{
    audit *a = ud;
    size_t l = strlen(rel);
    if (type != 'f')
        return;
    if (l > 9 && strcmp(rel + l - 9, ".rsl-part") == 0) {
        a->temps++;
        return;
    }
    a->files++;
    a->partial += !eng_same(a->e, rel);
    rsl_manifest_row row;
    if (!rsl_state_manifest_get(a->st, rel, &row))
        a->unknown++;
    else
        a->pending += row.pending;
}

static audit audit_remote(eng *e)
{
    audit a = {.e = e, .st = eng_state(e)};
    rslt_fake_foreach(audit_one, &a);
    rsl_state_close(a.st);
    return a;
}

static void fill_tree(eng *e)
{
    char name[256];
    for (int i = 0; i < NFILES; i++) {
        snprintf(name, sizeof(name), "dir%02d/a-rather-long-file-name-to-fill-rows-%05d.txt",
                 i % 30, i);
        eng_put(e, name, name);
    }
}

static void run_until_full(int window)
{
    eng e;
    eng_setup(&e, "eng-full");
    if (window)
        rslt_fake_pipeline(window);
    e.job.transfers = 2;
    char sdir[4200];
    snprintf(sdir, sizeof(sdir), "%s/state", e.dir);
    cr_assert_eq(mkdir(sdir, 0700), 0);
    if (rslt_sh(NULL, NULL, "mount -t tmpfs -o size=1m,mode=0700 tmpfs '%s' 2>/dev/null", sdir) !=
        0)
        cr_skip_test("cannot mount a tmpfs (needs root)");
    fill_tree(&e);

    int x = eng_run(&e);
    cr_assert_eq(e.rec.code, RSL_E_STATE_WRITE, "%s: %s", rsl_code_name(e.rec.code), e.rec.message);
    cr_assert_eq(x,
                 e.rec.counts.files_applied + e.rec.counts.dirs_applied > 0 ? RSL_EXIT_PARTIAL
                                                                            : RSL_EXIT_SESSION,
                 "exit %d", x);
    cr_assert(strstr(e.rec.message, "state db") != NULL, "%s", e.rec.message);
    audit a = audit_remote(&e);
    cr_log_info("full disk: %d of %d files on the remote, %lld applied", a.files, NFILES,
                (long long)e.rec.counts.files_applied);
    cr_assert_lt(a.files, NFILES, "the run stopped early");
    cr_assert_eq(a.unknown, 0, "%d remote file(s) the manifest does not know", a.unknown);
    cr_assert_eq(a.partial, 0);

    /* space again: the next run converges */
    cr_assert_eq(rslt_sh(NULL, NULL, "mount -o remount,size=64m '%s'", sdir), 0);
    rslt_fake_clear_counts();
    x = eng_run(&e);
    cr_assert_eq(x, 0, "%s", e.err.msg);
    a = audit_remote(&e);
    cr_assert_eq(a.files, NFILES);
    cr_assert_eq(a.unknown, 0);
    cr_assert_eq(a.pending, 0, "every remote file is in sync in the manifest");
    cr_assert_eq(a.temps, 0);
    cr_assert_eq(a.partial, 0);
    rslt_sh(NULL, NULL, "umount '%s'", sdir);
    eng_teardown(&e);
}

Test(engine_state_full, a_full_state_disk_stops_the_run_serial, .timeout = 120)
{
    run_until_full(0);
}

Test(engine_state_full, a_full_state_disk_stops_the_run_pipelined, .timeout = 120)
{
    run_until_full(16);
}
