/* Tests for state/state: schema, permissions, WAL, order, records, migrations. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "state/state.h"
#include "tests/support/harness.h"

static char *db_path(const char *dir)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/sub/dir/job.db", dir);
    return p;
}

Test(state, creates_0600_db_in_0700_dir_with_wal_and_version)
{
    char *d = rslt_tmpdir("state");
    char *p = db_path(d);
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    rsl_state_close(st);
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/sub/dir", d);
    cr_assert_eq(stat(dir, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0700);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    sqlite3_step(s);
    cr_assert_eq(sqlite3_column_int(s, 0), RSL_STATE_SCHEMA_VERSION);
    sqlite3_finalize(s);
    /* a db from the future is refused, not damaged */
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_E_STATE_TOO_NEW);
    free(p);
    rslt_rmrf(d);
    free(d);
}

Test(state, not_a_database_is_state_corrupt)
{
    char *d = rslt_tmpdir("state");
    char p[4096];
    snprintf(p, sizeof(p), "%s/junk.db", d);
    rslt_write(p, "this is definitely not an SQLite database, it is a text file of some length.");
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_E_STATE_CORRUPT, "%d %s", e.code,
                 e.msg);
    rslt_rmrf(d);
    free(d);
}

Test(state, manifest_reads_back_in_walk_order)
{
    char *d = rslt_tmpdir("state");
    char *p = db_path(d);
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK);
    /* inserted in byte order, which differs from walk order */
    const char *in[] = {"a b", "a.txt", "a/x", "a", "a/x/y", "b", "a-"};
    for (size_t i = 0; i < 7; i++)
        cr_assert_eq(rsl_state_manifest_put(st, in[i], RSL_TYPE_FILE, i, 0, 1, &e), RSL_OK);
    /* walk order: dir "a" then its subtree, then siblings by strcmp */
    const char *want[] = {"a", "a/x", "a/x/y", "a b", "a-", "a.txt", "b"};
    cr_assert_eq(rsl_state_manifest_iter_begin(st, &e), RSL_OK);
    rsl_manifest_row r;
    for (size_t i = 0; i < 7; i++) {
        cr_assert_eq(rsl_state_manifest_iter_next(st, &r, &e), 1);
        cr_assert_str_eq(r.path, want[i]);
    }
    cr_assert_eq(rsl_state_manifest_iter_next(st, &r, &e), 0);
    rsl_state_manifest_iter_end(st);
    cr_assert_eq(rsl_state_manifest_del(st, "a/x", &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_get(st, "a/x", &r), 0);
    cr_assert_eq(rsl_state_manifest_get(st, "a/x/y", &r), 1);
    cr_assert(rsl_state_integrity_ok(st));
    rsl_state_close(st);
    free(p);
    rslt_rmrf(d);
    free(d);
}

Test(state, runs_results_failures_uploads_kv)
{
    char *d = rslt_tmpdir("state");
    char *p = db_path(d);
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK);
    int64_t id;
    cr_assert_eq(rsl_state_run_begin(st, "normal", 1000, &id, &e), RSL_OK);
    rsl_run_record rec = {.id = id, .ended_ms = 2000, .exit_code = 23, .code = 0};
    snprintf(rec.outcome, sizeof(rec.outcome), "partial_failure");
    rec.counts.files_applied = 3;
    rec.counts.transferred_bytes = 12345;
    cr_assert_eq(rsl_state_run_end(st, &rec, &e), RSL_OK);
    rsl_run_record got;
    cr_assert_eq(rsl_state_run_get(st, 0, &got, &e), 1);
    cr_assert_eq(got.id, id);
    cr_assert_str_eq(got.outcome, "partial_failure");
    cr_assert_eq(got.counts.transferred_bytes, 12345);
    /* a run left "running" (killed) is closed as interrupted */
    int64_t id2;
    rsl_state_run_begin(st, "normal", 3000, &id2, &e);
    cr_assert_eq(rsl_state_runs_close_stale(st, 4000, &e), RSL_OK);
    rsl_state_run_get(st, id2, &got, &e);
    cr_assert_str_eq(got.outcome, "interrupted");

    rsl_failure f = {.path = "z/b",
                     .code = RSL_E_REMOTE_PERMISSION,
                     .attempts = 2,
                     .next_retry_ms = 99,
                     .local_size = 5};
    snprintf(f.action, sizeof(f.action), "create");
    snprintf(f.message, sizeof(f.message), "denied");
    cr_assert_eq(rsl_state_failure_put(st, &f, &e), RSL_OK);
    f.path = "z";
    cr_assert_eq(rsl_state_failure_put(st, &f, &e), RSL_OK);
    f.path = "z.c";
    cr_assert_eq(rsl_state_failure_put(st, &f, &e), RSL_OK);
    rsl_failure *fs;
    size_t nf;
    cr_assert_eq(rsl_state_failures_load(st, &fs, &nf, &e), RSL_OK);
    cr_assert_eq(nf, 3);
    cr_assert_str_eq(fs[0].path, "z");
    cr_assert_str_eq(fs[1].path, "z/b");
    cr_assert_str_eq(fs[2].path, "z.c");
    cr_assert_not_null(rsl_failures_find(fs, nf, "z.c"));
    cr_assert_not_null(rsl_failures_find(fs, nf, "z/b"));
    cr_assert_null(rsl_failures_find(fs, nf, "y"));
    cr_assert_eq(fs[1].attempts, 2);
    cr_assert_str_eq(fs[1].message, "denied");
    rsl_failures_free(fs, nf);

    cr_assert_eq(rsl_state_upload_put(st, "big", 100, 7, 1, &e), RSL_OK);
    rsl_upload_rec *u;
    size_t nu;
    cr_assert_eq(rsl_state_uploads_load(st, &u, &nu, &e), RSL_OK);
    cr_assert_eq(nu, 1);
    cr_assert_eq(u[0].local_size, 100);
    rsl_uploads_free(u, nu);
    cr_assert_eq(rsl_state_upload_del(st, "big", &e), RSL_OK);

    char buf[64];
    cr_assert_eq(rsl_state_kv_get(st, "k", buf, sizeof(buf)), 0);
    cr_assert_eq(rsl_state_kv_set(st, "k", "v1", &e), RSL_OK);
    cr_assert_eq(rsl_state_kv_get(st, "k", buf, sizeof(buf)), 1);
    cr_assert_str_eq(buf, "v1");
    rsl_state_close(st);
    free(p);
    rslt_rmrf(d);
    free(d);
}

Test(state, readonly_open_of_missing_db_creates_nothing)
{
    char *d = rslt_tmpdir("state");
    char p[4096];
    snprintf(p, sizeof(p), "%s/none.db", d);
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_READONLY, &e), RSL_OK, "%s", e.msg);
    rsl_run_record r;
    cr_assert_eq(rsl_state_run_get(st, 0, &r, &e), 0);
    rsl_state_close(st);
    cr_assert_not(rslt_exists(p));
    rslt_rmrf(d);
    free(d);
}

Test(state, migrates_a_version_1_db_in_place)
{
    char *d = rslt_tmpdir("state");
    char *p = db_path(d);
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_put(st, "kept.txt", RSL_TYPE_FILE, 5, 9, 1, &e), RSL_OK);
    rsl_state_close(st);
    /* turn it back into what version 1 wrote */
    sqlite3 *db;
    sqlite3_open(p, &db);
    cr_assert_eq(sqlite3_exec(db,
                              "DROP INDEX manifest_inode; ALTER TABLE manifest DROP COLUMN target;"
                              "ALTER TABLE runs DROP COLUMN moves;"
                              "ALTER TABLE results DROP COLUMN from_path;"
                              "ALTER TABLE manifest DROP COLUMN digest;"
                              "ALTER TABLE manifest DROP COLUMN ino;"
                              "ALTER TABLE manifest DROP COLUMN dev;"
                              "ALTER TABLE uploads DROP COLUMN done;"
                              "ALTER TABLE manifest DROP COLUMN pending; PRAGMA user_version = 1;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    rsl_manifest_row r;
    cr_assert_eq(rsl_state_manifest_get(st, "kept.txt", &r), 1, "data lost in migration");
    cr_assert_eq(r.size, 5);
    cr_assert_eq(r.pending, 0);
    cr_assert_eq(rsl_state_manifest_put_pending(st, "p.txt", RSL_TYPE_FILE, 2, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_get(st, "p.txt", &r), 1);
    cr_assert_eq(r.pending, 1);
    rsl_state_close(st);
    free(p);
    rslt_rmrf(d);
    free(d);
}

/* Schema 3: the local identity and content digest of each file, looked up by
 * inode for rename detection; acknowledged ranges of a resumable upload. */
Test(state, digest_inode_and_upload_ranges)
{
    char *d = rslt_tmpdir("state");
    char *p = db_path(d);
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    unsigned char dg[RSL_DIGEST_LEN];
    for (int i = 0; i < RSL_DIGEST_LEN; i++)
        dg[i] = (unsigned char)(i * 7);
    rsl_manifest_row w = {.path = "a/b.txt",
                          .type = RSL_TYPE_FILE,
                          .size = 42,
                          .mtime_ns = 1000,
                          .dev = 77,
                          .ino = 123456,
                          .digest = dg,
                          .digest_len = RSL_DIGEST_LEN,
                          .pending = 1};
    cr_assert_eq(rsl_state_manifest_put_row(st, &w, 3, &e), RSL_OK, "%s", e.msg);
    rsl_manifest_row r;
    cr_assert_eq(rsl_state_manifest_get(st, "a/b.txt", &r), 1);
    cr_assert_eq(r.pending, 0, "put_row writes a complete row");
    cr_assert_eq(r.dev, 77);
    cr_assert_eq(r.ino, 123456);
    cr_assert_eq(r.digest_len, RSL_DIGEST_LEN);
    cr_assert_eq(memcmp(r.digest, dg, RSL_DIGEST_LEN), 0);
    cr_assert_eq(rsl_state_manifest_find_inode(st, 77, 123456, &r), 1);
    cr_assert_str_eq(r.path, "a/b.txt");
    cr_assert_eq(rsl_state_manifest_find_inode(st, 78, 123456, &r), 0, "other device");
    cr_assert_eq(rsl_state_manifest_find_inode(st, 77, 0, &r), 0, "inode 0 is unknown");
    /* a pending row at the same inode is no evidence */
    cr_assert_eq(rsl_state_manifest_put_pending(st, "a/b.txt", RSL_TYPE_FILE, 4, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_find_inode(st, 77, 123456, &r), 0);
    /* the old writer leaves the new columns empty */
    cr_assert_eq(rsl_state_manifest_put(st, "c", RSL_TYPE_FILE, 1, 2, 5, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_get(st, "c", &r), 1);
    cr_assert_null(r.digest);
    cr_assert_eq(r.ino, 0);
    /* upload ranges */
    cr_assert_eq(rsl_state_upload_put(st, "big", 100, 5, 6, &e), RSL_OK);
    cr_assert_eq(rsl_state_upload_progress(st, "big", "0-40,60-80", &e), RSL_OK);
    rsl_upload_rec *u = NULL;
    size_t n = 0;
    cr_assert_eq(rsl_state_uploads_load(st, &u, &n, &e), RSL_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(u[0].done, "0-40,60-80");
    rsl_uploads_free(u, n);
    /* a new record starts with nothing acknowledged */
    cr_assert_eq(rsl_state_upload_put(st, "big", 100, 7, 8, &e), RSL_OK);
    cr_assert_eq(rsl_state_uploads_load(st, &u, &n, &e), RSL_OK);
    cr_assert_null(u[0].done);
    rsl_uploads_free(u, n);
    rsl_state_close(st);
    free(p);
    rslt_rmrf(d);
    free(d);
}

/* A version-2 db (before dev/ino/digest) gains the columns and keeps its rows. */
Test(state, migrates_a_version_2_db_in_place)
{
    char *d = rslt_tmpdir("state");
    char *p = db_path(d);
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_put(st, "kept.txt", RSL_TYPE_FILE, 5, 9, 1, &e), RSL_OK);
    cr_assert_eq(rsl_state_upload_put(st, "big", 100, 5, 6, &e), RSL_OK);
    rsl_state_close(st);
    sqlite3 *db;
    sqlite3_open(p, &db);
    cr_assert_eq(sqlite3_exec(db,
                              "DROP INDEX manifest_inode; ALTER TABLE manifest DROP COLUMN target;"
                              "ALTER TABLE runs DROP COLUMN moves;"
                              "ALTER TABLE results DROP COLUMN from_path;"
                              "ALTER TABLE manifest DROP COLUMN digest;"
                              "ALTER TABLE manifest DROP COLUMN ino;"
                              "ALTER TABLE manifest DROP COLUMN dev;"
                              "ALTER TABLE uploads DROP COLUMN done; PRAGMA user_version = 2;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    rsl_manifest_row r;
    cr_assert_eq(rsl_state_manifest_get(st, "kept.txt", &r), 1, "data lost in migration");
    cr_assert_eq(r.size, 5);
    cr_assert_eq(r.ino, 0);
    cr_assert_null(r.digest);
    rsl_upload_rec *u = NULL;
    size_t n = 0;
    cr_assert_eq(rsl_state_uploads_load(st, &u, &n, &e), RSL_OK);
    cr_assert_eq(n, 1);
    cr_assert_null(u[0].done);
    rsl_uploads_free(u, n);
    rsl_state_close(st);
    free(p);
    rslt_rmrf(d);
    free(d);
}

/* A full disk is STATE_WRITE (the engine stops the run on it), not the
 * generic STATE_IO. Needs root to mount a small tmpfs; CI runs as root. */
Test(state, full_disk_is_state_write)
{
    char *d = rslt_tmpdir("state-full");
    if (rslt_sh(NULL, NULL, "mount -t tmpfs -o size=192k tmpfs '%s' 2>/dev/null", d) != 0)
        cr_skip_test("cannot mount a tmpfs (needs root)");
    char p[4200];
    snprintf(p, sizeof(p), "%s/s.db", d);
    rsl_state *st;
    rsl_err e;
    rsl_code rc = rsl_state_open(&st, p, RSL_STATE_RDWR, &e);
    cr_assert_eq(rc, RSL_OK, "%s", e.msg);
    char path[600];
    memset(path, 'x', 500);
    rc = RSL_OK;
    for (int i = 0; i < 5000 && rc == RSL_OK; i++) {
        snprintf(path + 500, sizeof(path) - 500, "%d", i);
        rc = rsl_state_manifest_put(st, path, RSL_TYPE_FILE, 1, 2, 1, &e);
    }
    rsl_state_close(st);
    rslt_sh(NULL, NULL, "umount '%s'", d);
    cr_assert_eq(rc, RSL_E_STATE_WRITE, "%s: %s", rsl_code_name(rc), e.msg);
    cr_assert(strstr(e.msg, "manifest write") != NULL, "%s", e.msg);
    rslt_rmrf(d);
    free(d);
}

/* Schema 4, moves: the write-ahead rows of a directory move (new paths
 * pending, old rows marked pending with their columns kept), then the
 * commit (every row at its new path with its digest, the old ones gone);
 * a subtree is what is strictly below a directory, nothing beside it. */
static int count_row(void *ud, const rsl_manifest_row *row)
{
    (void)row;
    (*(int *)ud)++;
    return 0;
}

Test(state, move_rows_pending_then_commit)
{
    char *d = rslt_tmpdir("state");
    char *p = db_path(d);
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    unsigned char dg[RSL_DIGEST_LEN];
    memset(dg, 0xab, sizeof(dg));
    rsl_manifest_row dir = {.path = "d1", .type = RSL_TYPE_DIR, .ino = 5, .dev = 1};
    rsl_manifest_row f = {.path = "d1/sub/f",
                          .type = RSL_TYPE_FILE,
                          .size = 9,
                          .mtime_ns = 7,
                          .dev = 1,
                          .ino = 6,
                          .digest = dg,
                          .digest_len = RSL_DIGEST_LEN};
    rsl_manifest_row l = {.path = "d1/l", .type = RSL_TYPE_LINK, .target = "sub/f", .size = 5};
    rsl_manifest_row side = {.path = "d1x", .type = RSL_TYPE_FILE, .size = 1};
    cr_assert_eq(rsl_state_manifest_put_row(st, &dir, 1, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_put(st, "d1/sub", RSL_TYPE_DIR, 0, 0, 1, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_put_row(st, &f, 1, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_put_row(st, &l, 1, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_put_row(st, &side, 1, &e), RSL_OK);
    int n = 0;
    cr_assert_eq(rsl_state_manifest_subtree(st, "d1", count_row, &n, &e), RSL_OK);
    cr_assert_eq(n, 3, "d1/sub, d1/sub/f and d1/l; not d1 itself nor d1x (got %d)", n);
    rsl_manifest_row r;
    cr_assert_eq(rsl_state_manifest_find_inode_of(st, 1, 5, RSL_TYPE_DIR, &r), 1);
    cr_assert_str_eq(r.path, "d1");
    /* write-ahead */
    cr_assert_eq(rsl_state_move_pending(st, "d1", "d2", 2, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(rsl_state_manifest_get(st, "d2/sub/f", &r), 1);
    cr_assert_eq(r.pending, 1);
    cr_assert_eq(rsl_state_manifest_get(st, "d1/sub/f", &r), 1);
    cr_assert_eq(r.pending, 1, "the old row is marked pending too");
    cr_assert_eq(r.size, 9, "with its columns kept");
    cr_assert_eq(rsl_state_manifest_get(st, "d1x", &r), 1);
    cr_assert_eq(r.pending, 0, "a neighbour is untouched");
    /* commit */
    cr_assert_eq(rsl_state_move_commit(st, "d1", "d2", 2, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(rsl_state_manifest_get(st, "d1/sub/f", &r), 0);
    cr_assert_eq(rsl_state_manifest_get(st, "d1", &r), 0);
    cr_assert_eq(rsl_state_manifest_get(st, "d2/sub/f", &r), 1);
    cr_assert_eq(r.pending, 0);
    cr_assert_eq(r.size, 9);
    cr_assert_eq(r.ino, 6);
    cr_assert_not_null(r.digest);
    cr_assert_eq(memcmp(r.digest, dg, RSL_DIGEST_LEN), 0);
    cr_assert_eq(rsl_state_manifest_get(st, "d2/l", &r), 1);
    cr_assert_eq(r.type, RSL_TYPE_LINK);
    cr_assert_str_eq(r.target, "sub/f");
    cr_assert_eq(rsl_state_manifest_get(st, "d2", &r), 1);
    cr_assert_eq(r.ino, 5);
    int64_t files = 0, dirs = 0;
    cr_assert_eq(rsl_state_manifest_count(st, &files, &dirs, &e), RSL_OK);
    cr_assert_eq(dirs, 2);
    rsl_state_close(st);
    free(p);
    rslt_rmrf(d);
    free(d);
}

/* A read-only open (a dry run) of a db an older version wrote: the file is
 * left as it is (still version 3) and its rows are read through a migrated
 * copy in memory. */
Test(state, read_only_open_of_an_older_db_reads_a_migrated_copy)
{
    char *d = rslt_tmpdir("state");
    char *p = db_path(d);
    rsl_state *st;
    rsl_err e;
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK);
    cr_assert_eq(rsl_state_manifest_put(st, "kept.txt", RSL_TYPE_FILE, 5, 9, 1, &e), RSL_OK);
    rsl_state_close(st);
    sqlite3 *db;
    sqlite3_open(p, &db);
    cr_assert_eq(sqlite3_exec(db,
                              "ALTER TABLE manifest DROP COLUMN target;"
                              "ALTER TABLE runs DROP COLUMN moves;"
                              "ALTER TABLE results DROP COLUMN from_path; PRAGMA user_version = 3;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_READONLY, &e), RSL_OK, "%s", e.msg);
    rsl_manifest_row r;
    cr_assert_eq(rsl_state_manifest_get(st, "kept.txt", &r), 1);
    cr_assert_eq(r.size, 5);
    cr_assert_null(r.target);
    rsl_state_close(st);
    char *out = NULL;
    cr_assert_eq(rslt_sh(&out, NULL, "sqlite3 '%s' 'PRAGMA user_version'", p), 0);
    cr_assert_eq(strtol(out, NULL, 10), 3, "the file was migrated by a read-only open");
    free(out);
    free(p);
    rslt_rmrf(d);
    free(d);
}

/* Busy-waits about `us` microseconds (a sleep would round up to the timer slack). */
static void spin_us(long us)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

/* SIGKILL lands at many points while a new db is being made (its first open:
 * the file, WAL mode, the schema). Whatever the point, a reader (status,
 * failures) opens what is there and finds it whole: no db yet, or a complete
 * one; never a half-made file with a hot journal a reader cannot roll back. */
Test(state, a_kill_while_the_db_is_made_leaves_none_or_a_whole_one, .timeout = 120)
{
    char *d = rslt_tmpdir("state");
    /* how long a first open takes here, to spread the kills over it */
    struct timespec a, b;
    char p[4096];
    snprintf(p, sizeof(p), "%s/probe.db", d);
    rsl_state *st;
    rsl_err e;
    clock_gettime(CLOCK_MONOTONIC, &a);
    cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK, "%s", e.msg);
    clock_gettime(CLOCK_MONOTONIC, &b);
    rsl_state_close(st);
    long span = (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 + 200;
    int cut = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(p, sizeof(p), "%s/k%d/job.db", d, i);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            if (rsl_state_open(&st, p, RSL_STATE_RDWR, &e) == RSL_OK)
                rsl_state_close(st);
            _exit(0);
        }
        spin_us(span * i / 200);
        kill(pid, SIGKILL);
        int ws;
        waitpid(pid, &ws, 0);
        cut += WIFSIGNALED(ws);
        cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_READONLY, &e), RSL_OK,
                     "kill %d (%ld of %ld us): %s", i, span * i / 200, span, e.msg);
        cr_assert(rsl_state_integrity_ok(st), "kill %d", i);
        rsl_state_close(st);
        /* and the next run carries on from it */
        cr_assert_eq(rsl_state_open(&st, p, RSL_STATE_RDWR, &e), RSL_OK, "kill %d: %s", i, e.msg);
        cr_assert(rsl_state_integrity_ok(st));
        rsl_state_close(st);
        char side[4200];
        snprintf(side, sizeof(side), "%s.creating", p);
        cr_assert_not(rslt_exists(side), "kill %d left %s", i, side);
    }
    cr_assert_gt(cut, 5, "only %d of 200 opens were cut short", cut);
    rslt_rmrf(d);
    free(d);
}
