/*
 * state.c - the SQLite state db. See state.h.
 */
#include "state.h"

#include "state_db.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The manifest columns every read returns, in fill_row()'s order. */
#define MAN_COLS RSL_STATE_MAN_COLS

enum {
    S_MAN_ITER,
    S_MAN_GET,
    S_MAN_INO,
    S_MAN_PUT,
    S_MAN_DEL,
    S_RESULT_ADD,
    S_FAIL_PUT,
    S_FAIL_DEL,
    S_UP_PUT,
    S_UP_DEL,
    S_UP_DONE,
    S_KV_GET,
    S_KV_SET,
    S_COUNT
};

static const char *const sql_text[S_COUNT] = {
    [S_MAN_ITER] = "SELECT " MAN_COLS " FROM manifest ORDER BY skey",
    [S_MAN_GET] = "SELECT " MAN_COLS " FROM manifest WHERE skey = ?1",
    [S_MAN_INO] = "SELECT " MAN_COLS " FROM manifest WHERE dev = ?1 AND ino = ?2 AND type = ?3 "
                  "AND pending = 0 LIMIT 1",
    [S_MAN_PUT] = "INSERT OR REPLACE INTO manifest(skey, path, type, size, mtime_ns, run_id, "
                  "pending, dev, ino, digest, target) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                  "?10, ?11)",
    [S_MAN_DEL] = "DELETE FROM manifest WHERE skey = ?1",
    [S_RESULT_ADD] =
        "INSERT INTO results(run_id, skey, path, action, outcome, code, message, "
        "attempts, bytes, ts_ms, from_path) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
        "?10, ?11)",
    [S_FAIL_PUT] = "INSERT OR REPLACE INTO failures(skey, path, action, code, message, attempts, "
                   "first_ms, last_ms, next_retry_ms, local_size, local_mtime_ns) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [S_FAIL_DEL] = "DELETE FROM failures WHERE skey = ?1",
    [S_UP_PUT] = ("INSERT OR REPLACE INTO uploads(skey, path, local_size, local_mtime_ns, "
                  "started_ms, done) VALUES(?1, ?2, ?3, ?4, ?5, NULL)"),
    [S_UP_DONE] = "UPDATE uploads SET done = ?2 WHERE skey = ?1",
    [S_UP_DEL] = "DELETE FROM uploads WHERE skey = ?1",
    [S_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
    [S_KV_SET] = "INSERT OR REPLACE INTO kv(key, value) VALUES(?1, ?2)",
};

/* Migrations: index i brings the schema from version i to i+1. Append only. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE manifest(skey BLOB PRIMARY KEY, path TEXT NOT NULL, type INTEGER NOT NULL,"
    "  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, run_id INTEGER) WITHOUT ROWID;"
    "CREATE TABLE runs(id INTEGER PRIMARY KEY, started_ms INTEGER, ended_ms INTEGER,"
    "  mode TEXT, outcome TEXT, exit_code INTEGER, code INTEGER, message TEXT,"
    "  files_applied INTEGER DEFAULT 0, dirs_applied INTEGER DEFAULT 0,"
    "  deletes_applied INTEGER DEFAULT 0, bytes_applied INTEGER DEFAULT 0,"
    "  item_errors INTEGER DEFAULT 0, transferred_files INTEGER DEFAULT 0,"
    "  transferred_bytes INTEGER DEFAULT 0, failed_files INTEGER DEFAULT 0,"
    "  failed_bytes INTEGER DEFAULT 0, scanned_files INTEGER DEFAULT 0,"
    "  scanned_dirs INTEGER DEFAULT 0, unchanged INTEGER DEFAULT 0, skipped INTEGER DEFAULT 0,"
    "  vanished INTEGER DEFAULT 0);"
    "CREATE TABLE results(run_id INTEGER NOT NULL, skey BLOB NOT NULL, path TEXT NOT NULL,"
    "  action TEXT, outcome TEXT, code INTEGER, message TEXT, attempts INTEGER,"
    "  bytes INTEGER, ts_ms INTEGER);"
    "CREATE INDEX results_run ON results(run_id, skey);"
    "CREATE TABLE failures(skey BLOB PRIMARY KEY, path TEXT NOT NULL, action TEXT,"
    "  code INTEGER, message TEXT, attempts INTEGER, first_ms INTEGER, last_ms INTEGER,"
    "  next_retry_ms INTEGER, local_size INTEGER, local_mtime_ns INTEGER) WITHOUT ROWID;"
    "CREATE TABLE uploads(skey BLOB PRIMARY KEY, path TEXT NOT NULL, local_size INTEGER,"
    "  local_mtime_ns INTEGER, started_ms INTEGER) WITHOUT ROWID;"
    "CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;",
    /* 1 -> 2: pending rows, written before a remote change, so that an item
     * created remotely by a run killed before it recorded the result is still
     * known (and deleted if it is gone locally). */
    "ALTER TABLE manifest ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;",
    /* 2 -> 3: the local file's identity (device, inode) for rename detection,
     * the SHA-256 of the content that was sent (end-to-end integrity), and the
     * byte ranges of a resumable upload the server acknowledged. */
    "ALTER TABLE manifest ADD COLUMN dev INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE manifest ADD COLUMN ino INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE manifest ADD COLUMN digest BLOB;"
    "CREATE INDEX manifest_inode ON manifest(dev, ino) WHERE ino != 0;"
    "ALTER TABLE uploads ADD COLUMN done TEXT;",
    /* 3 -> 4: send less: a symbolic link's target (type 'l'), moves counted
     * apart from deletes, and the old path of a move in its result. */
    "ALTER TABLE manifest ADD COLUMN target TEXT;"
    "ALTER TABLE runs ADD COLUMN moves INTEGER DEFAULT 0;"
    "ALTER TABLE results ADD COLUMN from_path TEXT;",
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

struct rsl_state {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    int readonly;
    int in_txn;
};

static rsl_code db_err(rsl_state *st, rsl_err *err, const char *what)
{
    int ec = sqlite3_extended_errcode(st->db);
    int pc = ec & 0xff;
    rsl_code c = RSL_E_STATE_IO;
    if (pc == SQLITE_CORRUPT || pc == SQLITE_NOTADB)
        c = RSL_E_STATE_CORRUPT;
    else if (pc == SQLITE_CANTOPEN)
        c = RSL_E_STATE_OPEN;
    else if (pc == SQLITE_FULL || pc == SQLITE_READONLY || ec == SQLITE_IOERR_WRITE ||
             ec == SQLITE_IOERR_FSYNC || ec == SQLITE_IOERR_DIR_FSYNC ||
             ec == SQLITE_IOERR_TRUNCATE)
        c = RSL_E_STATE_WRITE; /* the disk said no to a write: full, read-only, failing */
    return rsl_err_set(err, c, ec, "state db: %s: %s", what, sqlite3_errmsg(st->db));
}

static sqlite3_stmt *prep(rsl_state *st, int which)
{
    if (st->stmt[which] == NULL &&
        sqlite3_prepare_v3(st->db, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[which],
                           NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(st->stmt[which]);
    sqlite3_clear_bindings(st->stmt[which]);
    return st->stmt[which];
}

size_t rsl_state_skey(const char *path, unsigned char *out, size_t cap)
{
    size_t n = strlen(path);
    if (n > cap)
        n = cap;
    for (size_t i = 0; i < n; i++)
        out[i] = path[i] == '/' ? 0 : (unsigned char)path[i];
    return n;
}

int rsl_state_skey_cmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

/* Binds the sort key of path to parameter idx (SQLITE_TRANSIENT copy). */
static int bind_skey(sqlite3_stmt *s, int idx, const char *path)
{
    unsigned char buf[8192];
    size_t n = rsl_state_skey(path, buf, sizeof(buf));
    return sqlite3_bind_blob(s, idx, n ? (const void *)buf : (const void *)"", (int)n,
                             SQLITE_TRANSIENT);
}

static rsl_code exec(rsl_state *st, const char *sql, rsl_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        rsl_code c = db_err(st, err, msg ? msg : sql);
        sqlite3_free(msg);
        return c;
    }
    return RSL_OK;
}

static int user_version(rsl_state *st)
{
    sqlite3_stmt *s = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* A read-only open of a db written by an older version (a dry run right
 * after an upgrade): the file is left as it is and a copy in memory is
 * migrated and read instead. */
static rsl_code copy_to_memory(rsl_state *st, rsl_err *err)
{
    sqlite3 *mem = NULL;
    if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(mem);
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "state db: cannot make an in-memory copy");
    }
    sqlite3_backup *b = sqlite3_backup_init(mem, "main", st->db, "main");
    int r = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    sqlite3_backup_finish(b);
    if (r != SQLITE_DONE) {
        rsl_code c = db_err(st, err, "copying an older schema to memory");
        sqlite3_close(mem);
        return c;
    }
    sqlite3_close(st->db);
    st->db = mem;
    st->readonly = 0;
    return RSL_OK;
}

static rsl_code migrate(rsl_state *st, rsl_err *err)
{
    int v = user_version(st);
    if (v < 0)
        return db_err(st, err, "reading schema version");
    if (v > N_MIGRATIONS)
        return rsl_err_set(err, RSL_E_STATE_TOO_NEW, v,
                           "state db schema version %d is newer than this rsyncd-lite's %d", v,
                           N_MIGRATIONS);
    if (v == N_MIGRATIONS)
        return RSL_OK;
    rsl_code rc;
    if (st->readonly && (rc = copy_to_memory(st, err)) != RSL_OK)
        return rc;
    if ((rc = exec(st, "BEGIN IMMEDIATE", err)) != RSL_OK)
        return rc;
    for (int i = v; i < N_MIGRATIONS; i++)
        if ((rc = exec(st, migrations[i], err)) != RSL_OK)
            goto fail;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", N_MIGRATIONS);
    if ((rc = exec(st, sql, err)) != RSL_OK)
        goto fail;
    return exec(st, "COMMIT", err);
fail:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* mkdir -p with mode 0700 for the directories we create. */
static int mkdirs(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* The SQLite side of an open: the connection, WAL for a writer, a check
 * that the file is a db at all, and the schema brought up to date. */
static rsl_code connect_db(rsl_state *st, const char *path, const char *open_path, int oflags,
                           rsl_err *err)
{
    if (sqlite3_open_v2(open_path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rsl_code rc =
            st->db ? db_err(st, err, path)
                   : rsl_err_set(err, RSL_E_STATE_OPEN, 0, "state db: cannot open '%s'", path);
        if (rc == RSL_E_STATE_IO)
            err->code = rc = RSL_E_STATE_OPEN;
        return rc;
    }
    sqlite3_busy_timeout(st->db, 5000);
    rsl_code rc;
    if (!st->readonly) {
        if ((rc = exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err)) != RSL_OK)
            return rc;
        /* WAL and SHM files take the db file's mode; make sure it is 0600 */
        if (strcmp(open_path, ":memory:") != 0)
            chmod(path, 0600);
    }
    /* a file that is not a db fails here, before we trust it */
    if ((rc = exec(st, "SELECT count(*) FROM sqlite_schema", err)) != RSL_OK)
        return rc;
    return migrate(st, err);
}

/* Builds a whole new db in the side file rsl_state_db_create() hands us:
 * WAL mode and the schema committed, the WAL folded into the file. */
static rsl_code build_new(const char *side, rsl_err *err)
{
    rsl_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    rsl_code rc = connect_db(st, side, side, SQLITE_OPEN_READWRITE, err);
    if (rc == RSL_OK)
        rc = exec(st, "PRAGMA wal_checkpoint(TRUNCATE)", err);
    rsl_state_close(st);
    return rc;
}

/* The writer's way in: the directories, then the db itself made whole
 * under a side name and renamed into place (a kill at any point of a first
 * open leaves no db or a whole one, never a file with a hot journal that a
 * read-only opener such as `status` cannot roll back). */
static rsl_code prepare_rw(const char *path, rsl_err *err)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdirs(dir) != 0)
            return rsl_err_set(err, RSL_E_STATE_OPEN, errno,
                               "state db: cannot create directory '%s': %s", dir, strerror(errno));
    }
    rsl_code rc = rsl_state_db_create(path, build_new, err);
    if (rc != RSL_OK)
        return rc;
    /* the file exists (0600 from its first byte); refuse what cannot open */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return rsl_err_set(err, RSL_E_STATE_OPEN, errno, "state db: cannot open '%s': %s", path,
                           strerror(errno));
    close(fd);
    return RSL_OK;
}

rsl_code rsl_state_open(rsl_state **out, const char *path, int flags, rsl_err *err)
{
    *out = NULL;
    rsl_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    st->readonly = (flags & RSL_STATE_READONLY) != 0;
    rsl_code rc;
    int oflags = SQLITE_OPEN_READWRITE;
    const char *open_path = path;
    if (st->readonly) {
        oflags = SQLITE_OPEN_READONLY;
        if (access(path, F_OK) != 0) { /* no db yet: an empty in-memory one */
            open_path = ":memory:";
            oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
            st->readonly = 0;
        }
    } else if ((rc = prepare_rw(path, err)) != RSL_OK) {
        goto fail;
    }
    if ((rc = connect_db(st, path, open_path, oflags, err)) != RSL_OK)
        goto fail;
    *out = st;
    return RSL_OK;
fail:
    rsl_state_close(st);
    return rc;
}

void rsl_state_close(rsl_state *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    if (st->db)
        sqlite3_close(st->db);
    free(st);
}

rsl_code rsl_state_begin(rsl_state *st, rsl_err *err)
{
    if (st->in_txn)
        return RSL_OK;
    rsl_code rc = exec(st, "BEGIN IMMEDIATE", err);
    if (rc == RSL_OK)
        st->in_txn = 1;
    return rc;
}

rsl_code rsl_state_commit(rsl_state *st, rsl_err *err)
{
    if (!st->in_txn)
        return RSL_OK;
    st->in_txn = 0;
    return exec(st, "COMMIT", err);
}

/* Runs a prepared write statement to completion. */
static rsl_code step_done(rsl_state *st, sqlite3_stmt *s, rsl_err *err, const char *what)
{
    if (s == NULL)
        return db_err(st, err, what);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    if (r != SQLITE_DONE)
        return db_err(st, err, what);
    return RSL_OK;
}

/* ---- manifest ---- */

rsl_code rsl_state_manifest_iter_begin(rsl_state *st, rsl_err *err)
{
    if (prep(st, S_MAN_ITER) == NULL)
        return db_err(st, err, "manifest scan");
    return RSL_OK;
}

static void fill_row(sqlite3_stmt *s, rsl_manifest_row *row)
{
    row->path = (const char *)sqlite3_column_text(s, 0);
    row->skey = sqlite3_column_blob(s, 1);
    row->skey_len = (size_t)sqlite3_column_bytes(s, 1);
    row->type = sqlite3_column_int(s, 2);
    row->size = (uint64_t)sqlite3_column_int64(s, 3);
    row->mtime_ns = sqlite3_column_int64(s, 4);
    row->pending = sqlite3_column_int(s, 5);
    row->dev = (uint64_t)sqlite3_column_int64(s, 6);
    row->ino = (uint64_t)sqlite3_column_int64(s, 7);
    row->digest = sqlite3_column_blob(s, 8);
    row->digest_len = row->digest ? (size_t)sqlite3_column_bytes(s, 8) : 0;
    if (row->digest_len != RSL_DIGEST_LEN) {
        row->digest = NULL;
        row->digest_len = 0;
    }
    row->target = (const char *)sqlite3_column_text(s, 9);
}

void rsl_state_db_fill_row(sqlite3_stmt *s, rsl_manifest_row *row)
{
    fill_row(s, row);
}

int rsl_state_manifest_iter_next(rsl_state *st, rsl_manifest_row *row, rsl_err *err)
{
    sqlite3_stmt *s = st->stmt[S_MAN_ITER];
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        fill_row(s, row);
        return 1;
    }
    if (r == SQLITE_DONE)
        return 0;
    db_err(st, err, "manifest scan");
    return -1;
}

void rsl_state_manifest_iter_end(rsl_state *st)
{
    if (st->stmt[S_MAN_ITER])
        sqlite3_reset(st->stmt[S_MAN_ITER]);
}

int rsl_state_manifest_get(rsl_state *st, const char *path, rsl_manifest_row *row)
{
    sqlite3_stmt *s = prep(st, S_MAN_GET);
    if (s == NULL)
        return 0;
    bind_skey(s, 1, path);
    if (sqlite3_step(s) == SQLITE_ROW) {
        fill_row(s, row);
        return 1;
    }
    return 0;
}

static rsl_code manifest_put(rsl_state *st, const rsl_manifest_row *r, int64_t run_id, rsl_err *err)
{
    sqlite3_stmt *s = prep(st, S_MAN_PUT);
    if (s) {
        bind_skey(s, 1, r->path);
        sqlite3_bind_text(s, 2, r->path, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3, r->type);
        sqlite3_bind_int64(s, 4, (sqlite3_int64)r->size);
        sqlite3_bind_int64(s, 5, r->mtime_ns);
        sqlite3_bind_int64(s, 6, run_id);
        sqlite3_bind_int(s, 7, r->pending);
        sqlite3_bind_int64(s, 8, (sqlite3_int64)r->dev);
        sqlite3_bind_int64(s, 9, (sqlite3_int64)r->ino);
        if (r->digest && r->digest_len == RSL_DIGEST_LEN)
            sqlite3_bind_blob(s, 10, r->digest, RSL_DIGEST_LEN, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 10);
        if (r->target)
            sqlite3_bind_text(s, 11, r->target, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 11);
    }
    return step_done(st, s, err, "manifest write");
}

rsl_code rsl_state_manifest_put(rsl_state *st, const char *path, int type, uint64_t size,
                                int64_t mtime_ns, int64_t run_id, rsl_err *err)
{
    rsl_manifest_row r = {.path = path, .type = type, .size = size, .mtime_ns = mtime_ns};
    return manifest_put(st, &r, run_id, err);
}

rsl_code rsl_state_manifest_put_row(rsl_state *st, const rsl_manifest_row *row, int64_t run_id,
                                    rsl_err *err)
{
    rsl_manifest_row r = *row;
    r.pending = 0;
    return manifest_put(st, &r, run_id, err);
}

rsl_code rsl_state_manifest_put_pending(rsl_state *st, const char *path, int type, int64_t run_id,
                                        rsl_err *err)
{
    rsl_manifest_row r = {.path = path, .type = type, .mtime_ns = -1, .pending = 1};
    return manifest_put(st, &r, run_id, err);
}

int rsl_state_manifest_find_inode(rsl_state *st, uint64_t dev, uint64_t ino, rsl_manifest_row *row)
{
    return rsl_state_manifest_find_inode_of(st, dev, ino, RSL_TYPE_FILE, row);
}

int rsl_state_manifest_find_inode_of(rsl_state *st, uint64_t dev, uint64_t ino, int type,
                                     rsl_manifest_row *row)
{
    if (ino == 0)
        return 0;
    sqlite3_stmt *s = prep(st, S_MAN_INO);
    if (s == NULL)
        return 0;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)dev);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)ino);
    sqlite3_bind_int(s, 3, type);
    if (sqlite3_step(s) == SQLITE_ROW) {
        fill_row(s, row);
        return 1;
    }
    return 0;
}

rsl_code rsl_state_manifest_del(rsl_state *st, const char *path, rsl_err *err)
{
    sqlite3_stmt *s = prep(st, S_MAN_DEL);
    if (s)
        bind_skey(s, 1, path);
    return step_done(st, s, err, "manifest delete");
}

rsl_code rsl_state_manifest_count(rsl_state *st, int64_t *files, int64_t *dirs, rsl_err *err)
{
    sqlite3_stmt *s = NULL;
    *files = *dirs = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT type, count(*) FROM manifest GROUP BY type", -1, &s,
                           NULL) != SQLITE_OK)
        return db_err(st, err, "manifest count");
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (sqlite3_column_int(s, 0) == RSL_TYPE_DIR)
            *dirs = sqlite3_column_int64(s, 1);
        else
            *files = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return RSL_OK;
}

/* ---- runs ---- */

rsl_code rsl_state_run_begin(rsl_state *st, const char *mode, int64_t now_ms, int64_t *run_id,
                             rsl_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO runs(started_ms, mode, outcome, exit_code, code, message) "
                           "VALUES(?1, ?2, 'running', 0, 0, '')",
                           -1, &s, NULL) != SQLITE_OK)
        return db_err(st, err, "run start");
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_text(s, 2, mode, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    sqlite3_finalize(s);
    if (r != SQLITE_DONE)
        return db_err(st, err, "run start");
    *run_id = sqlite3_last_insert_rowid(st->db);
    return RSL_OK;
}

rsl_code rsl_state_run_end(rsl_state *st, const rsl_run_record *r, rsl_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(
            st->db,
            "UPDATE runs SET ended_ms=?2, outcome=?3, exit_code=?4, code=?5, message=?6,"
            " files_applied=?7, dirs_applied=?8, deletes_applied=?9, bytes_applied=?10,"
            " item_errors=?11, transferred_files=?12, transferred_bytes=?13, failed_files=?14,"
            " failed_bytes=?15, scanned_files=?16, scanned_dirs=?17, unchanged=?18, skipped=?19,"
            " vanished=?20, moves=?21 WHERE id=?1",
            -1, &s, NULL) != SQLITE_OK)
        return db_err(st, err, "run end");
    const rsl_counts *c = &r->counts;
    sqlite3_bind_int64(s, 1, r->id);
    sqlite3_bind_int64(s, 2, r->ended_ms);
    sqlite3_bind_text(s, 3, r->outcome, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, r->exit_code);
    sqlite3_bind_int(s, 5, r->code);
    sqlite3_bind_text(s, 6, r->message, -1, SQLITE_STATIC);
    int64_t v[] = {c->files_applied,     c->dirs_applied, c->deletes_applied,
                   c->bytes_applied,     c->item_errors,  c->transferred_files,
                   c->transferred_bytes, c->failed_files, c->failed_bytes,
                   c->scanned_files,     c->scanned_dirs, c->unchanged,
                   c->skipped,           c->vanished,     c->moves};
    for (int i = 0; i < 15; i++)
        sqlite3_bind_int64(s, 7 + i, v[i]);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return db_err(st, err, "run end");
    return RSL_OK;
}

int rsl_state_run_get(rsl_state *st, int64_t id, rsl_run_record *r, rsl_err *err)
{
    sqlite3_stmt *s = NULL;
    const char *sql =
        "SELECT id, started_ms, ended_ms, mode, outcome, exit_code, code, message,"
        " files_applied, dirs_applied, deletes_applied, bytes_applied, item_errors,"
        " transferred_files, transferred_bytes, failed_files, failed_bytes, scanned_files,"
        " scanned_dirs, unchanged, skipped, vanished, moves FROM runs";
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s %s", sql, id > 0 ? "WHERE id = ?1" : "ORDER BY id DESC LIMIT 1");
    if (sqlite3_prepare_v2(st->db, buf, -1, &s, NULL) != SQLITE_OK) {
        db_err(st, err, "run read");
        return -1;
    }
    if (id > 0)
        sqlite3_bind_int64(s, 1, id);
    int found = 0;
    memset(r, 0, sizeof(*r));
    if (sqlite3_step(s) == SQLITE_ROW) {
        found = 1;
        r->id = sqlite3_column_int64(s, 0);
        r->started_ms = sqlite3_column_int64(s, 1);
        r->ended_ms = sqlite3_column_int64(s, 2);
        snprintf(r->mode, sizeof(r->mode), "%s", (const char *)sqlite3_column_text(s, 3));
        snprintf(r->outcome, sizeof(r->outcome), "%s", (const char *)sqlite3_column_text(s, 4));
        r->exit_code = sqlite3_column_int(s, 5);
        r->code = sqlite3_column_int(s, 6);
        const unsigned char *m = sqlite3_column_text(s, 7);
        snprintf(r->message, sizeof(r->message), "%s", m ? (const char *)m : "");
        int64_t *v[] = {
            &r->counts.files_applied,     &r->counts.dirs_applied, &r->counts.deletes_applied,
            &r->counts.bytes_applied,     &r->counts.item_errors,  &r->counts.transferred_files,
            &r->counts.transferred_bytes, &r->counts.failed_files, &r->counts.failed_bytes,
            &r->counts.scanned_files,     &r->counts.scanned_dirs, &r->counts.unchanged,
            &r->counts.skipped,           &r->counts.vanished,     &r->counts.moves};
        for (int i = 0; i < 15; i++)
            *v[i] = sqlite3_column_int64(s, 8 + i);
    }
    sqlite3_finalize(s);
    return found;
}

rsl_code rsl_state_runs_close_stale(rsl_state *st, int64_t now_ms, rsl_err *err)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET outcome='interrupted', ended_ms=%lld, code=%d,"
             " message='the process stopped before the run ended (killed or crashed)'"
             " WHERE outcome='running'",
             (long long)now_ms, (int)RSL_E_INTERRUPTED);
    return exec(st, sql, err);
}

/* ---- results ---- */

rsl_code rsl_state_result_add(rsl_state *st, int64_t run_id, const rsl_item_result *r, rsl_err *err)
{
    sqlite3_stmt *s = prep(st, S_RESULT_ADD);
    if (s) {
        sqlite3_bind_int64(s, 1, run_id);
        bind_skey(s, 2, r->path);
        sqlite3_bind_text(s, 3, r->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, r->action, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, r->outcome, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 6, r->code);
        sqlite3_bind_text(s, 7, r->message ? r->message : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 8, r->attempts);
        sqlite3_bind_int64(s, 9, r->bytes);
        sqlite3_bind_int64(s, 10, r->ts_ms);
        if (r->from)
            sqlite3_bind_text(s, 11, r->from, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 11);
    }
    return step_done(st, s, err, "result write");
}

rsl_code rsl_state_results_foreach(rsl_state *st, int64_t run_id, int failed_only, rsl_result_cb cb,
                                   void *ud, rsl_err *err)
{
    sqlite3_stmt *s = NULL;
    const char *sql = failed_only
                          ? "SELECT path, action, outcome, code, message, attempts, bytes, ts_ms, "
                            "from_path FROM results WHERE run_id = ?1 AND outcome IN "
                            "('failed','deferred') ORDER BY skey"
                          : "SELECT path, action, outcome, code, message, attempts, bytes, ts_ms, "
                            "from_path FROM results WHERE run_id = ?1 ORDER BY skey";
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_err(st, err, "results read");
    sqlite3_bind_int64(s, 1, run_id);
    while (sqlite3_step(s) == SQLITE_ROW) {
        rsl_item_result r = {
            .path = (const char *)sqlite3_column_text(s, 0),
            .action = (const char *)sqlite3_column_text(s, 1),
            .outcome = (const char *)sqlite3_column_text(s, 2),
            .code = sqlite3_column_int(s, 3),
            .message = (const char *)sqlite3_column_text(s, 4),
            .attempts = sqlite3_column_int(s, 5),
            .bytes = sqlite3_column_int64(s, 6),
            .ts_ms = sqlite3_column_int64(s, 7),
            .from = (const char *)sqlite3_column_text(s, 8),
        };
        if (cb(ud, &r) != 0)
            break;
    }
    sqlite3_finalize(s);
    return RSL_OK;
}

/* ---- failures ---- */

static int failure_cmp(const void *a, const void *b)
{
    const char *pa = ((const rsl_failure *)a)->path, *pb = ((const rsl_failure *)b)->path;
    unsigned char ka[4096], kb[4096];
    size_t la = rsl_state_skey(pa, ka, sizeof(ka)), lb = rsl_state_skey(pb, kb, sizeof(kb));
    return rsl_state_skey_cmp(ka, la, kb, lb);
}

rsl_code rsl_state_failures_load(rsl_state *st, rsl_failure **out, size_t *n, rsl_err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT path, action, code, message, attempts, first_ms, last_ms,"
                           " next_retry_ms, local_size, local_mtime_ns FROM failures ORDER BY skey",
                           -1, &s, NULL) != SQLITE_OK)
        return db_err(st, err, "failures read");
    size_t cap = 0;
    rsl_failure *arr = NULL;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            rsl_failure *na = realloc(arr, cap * sizeof(*arr));
            if (na == NULL) {
                rsl_failures_free(arr, *n);
                sqlite3_finalize(s);
                *n = 0;
                return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
            }
            arr = na;
        }
        rsl_failure *f = &arr[*n];
        memset(f, 0, sizeof(*f));
        f->path = strdup((const char *)sqlite3_column_text(s, 0));
        snprintf(f->action, sizeof(f->action), "%s", (const char *)sqlite3_column_text(s, 1));
        f->code = sqlite3_column_int(s, 2);
        snprintf(f->message, sizeof(f->message), "%s", (const char *)sqlite3_column_text(s, 3));
        f->attempts = sqlite3_column_int(s, 4);
        f->first_ms = sqlite3_column_int64(s, 5);
        f->last_ms = sqlite3_column_int64(s, 6);
        f->next_retry_ms = sqlite3_column_int64(s, 7);
        f->local_size = (uint64_t)sqlite3_column_int64(s, 8);
        f->local_mtime_ns = sqlite3_column_int64(s, 9);
        (*n)++;
    }
    sqlite3_finalize(s);
    *out = arr;
    return RSL_OK;
}

void rsl_failures_free(rsl_failure *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].path);
    free(f);
}

rsl_failure *rsl_failures_find(rsl_failure *f, size_t n, const char *path)
{
    if (n == 0)
        return NULL;
    rsl_failure key = {.path = (char *)path};
    return bsearch(&key, f, n, sizeof(*f), failure_cmp);
}

rsl_code rsl_state_failure_put(rsl_state *st, const rsl_failure *f, rsl_err *err)
{
    sqlite3_stmt *s = prep(st, S_FAIL_PUT);
    if (s) {
        bind_skey(s, 1, f->path);
        sqlite3_bind_text(s, 2, f->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, f->action, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 4, f->code);
        sqlite3_bind_text(s, 5, f->message, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 6, f->attempts);
        sqlite3_bind_int64(s, 7, f->first_ms);
        sqlite3_bind_int64(s, 8, f->last_ms);
        sqlite3_bind_int64(s, 9, f->next_retry_ms);
        sqlite3_bind_int64(s, 10, (sqlite3_int64)f->local_size);
        sqlite3_bind_int64(s, 11, f->local_mtime_ns);
    }
    return step_done(st, s, err, "failure write");
}

rsl_code rsl_state_failure_del(rsl_state *st, const char *path, rsl_err *err)
{
    sqlite3_stmt *s = prep(st, S_FAIL_DEL);
    if (s)
        bind_skey(s, 1, path);
    return step_done(st, s, err, "failure delete");
}

/* ---- uploads ---- */

rsl_code rsl_state_uploads_load(rsl_state *st, rsl_upload_rec **out, size_t *n, rsl_err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT path, local_size, local_mtime_ns, started_ms, done FROM "
                           "uploads ORDER BY skey",
                           -1, &s, NULL) != SQLITE_OK)
        return db_err(st, err, "uploads read");
    size_t cap = 0;
    rsl_upload_rec *arr = NULL;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            rsl_upload_rec *na = realloc(arr, cap * sizeof(*arr));
            if (na == NULL) {
                rsl_uploads_free(arr, *n);
                sqlite3_finalize(s);
                *n = 0;
                return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
            }
            arr = na;
        }
        arr[*n].path = strdup((const char *)sqlite3_column_text(s, 0));
        arr[*n].local_size = (uint64_t)sqlite3_column_int64(s, 1);
        arr[*n].local_mtime_ns = sqlite3_column_int64(s, 2);
        arr[*n].started_ms = sqlite3_column_int64(s, 3);
        const unsigned char *done = sqlite3_column_text(s, 4);
        arr[*n].done = done ? strdup((const char *)done) : NULL;
        (*n)++;
    }
    sqlite3_finalize(s);
    *out = arr;
    return RSL_OK;
}

void rsl_uploads_free(rsl_upload_rec *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(u[i].path);
        free(u[i].done);
    }
    free(u);
}

rsl_code rsl_state_upload_put(rsl_state *st, const char *path, uint64_t size, int64_t mtime_ns,
                              int64_t now_ms, rsl_err *err)
{
    sqlite3_stmt *s = prep(st, S_UP_PUT);
    if (s) {
        bind_skey(s, 1, path);
        sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)size);
        sqlite3_bind_int64(s, 4, mtime_ns);
        sqlite3_bind_int64(s, 5, now_ms);
    }
    return step_done(st, s, err, "upload record write");
}

rsl_code rsl_state_upload_progress(rsl_state *st, const char *path, const char *done, rsl_err *err)
{
    sqlite3_stmt *s = prep(st, S_UP_DONE);
    if (s) {
        bind_skey(s, 1, path);
        if (done)
            sqlite3_bind_text(s, 2, done, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 2);
    }
    return step_done(st, s, err, "upload record write");
}

rsl_code rsl_state_upload_del(rsl_state *st, const char *path, rsl_err *err)
{
    sqlite3_stmt *s = prep(st, S_UP_DEL);
    if (s)
        bind_skey(s, 1, path);
    return step_done(st, s, err, "upload record delete");
}

/* ---- kv ---- */

int rsl_state_kv_get(rsl_state *st, const char *key, char *buf, size_t bufsz)
{
    sqlite3_stmt *s = prep(st, S_KV_GET);
    if (s == NULL)
        return 0;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int found = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        snprintf(buf, bufsz, "%s", v ? (const char *)v : "");
        found = 1;
    }
    sqlite3_reset(s);
    return found;
}

rsl_code rsl_state_kv_set(rsl_state *st, const char *key, const char *value, rsl_err *err)
{
    sqlite3_stmt *s = prep(st, S_KV_SET);
    if (s) {
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    }
    return step_done(st, s, err, "cache write");
}

rsl_code rsl_state_kv_foreach(rsl_state *st, void (*cb)(void *ud, const char *k, const char *v),
                              void *ud, rsl_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT key, value FROM kv ORDER BY key", -1, &s, NULL) !=
        SQLITE_OK)
        return db_err(st, err, "cache read");
    while (sqlite3_step(s) == SQLITE_ROW)
        cb(ud, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1));
    sqlite3_finalize(s);
    return RSL_OK;
}

rsl_code rsl_state_forget_remote(rsl_state *st, rsl_err *err)
{
    return exec(st,
                "BEGIN IMMEDIATE; DELETE FROM manifest; DELETE FROM uploads; DELETE FROM failures;"
                " COMMIT;",
                err);
}

int rsl_state_integrity_ok(rsl_state *st)
{
    sqlite3_stmt *s = NULL;
    int ok = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        ok = strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
    sqlite3_finalize(s);
    return ok;
}

/* ---- for the other files of the state module (state_db.h) ---- */

sqlite3 *rsl_state_db(rsl_state *st)
{
    return st->db;
}

rsl_code rsl_state_db_err(rsl_state *st, rsl_err *err, const char *what)
{
    return db_err(st, err, what);
}
