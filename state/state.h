/*
 * state.h - the state db: one SQLite file per job (WAL mode, 0600) holding
 * the manifest (what we believe is on the remote, with the local size/mtime
 * it came from), runs, per-item results, items failing now (with attempts and
 * next retry time), resumable-upload records and a small key/value cache of
 * facts learnt about the server. It never holds a secret.
 *
 * Owns: the schema, its migrations (PRAGMA user_version) and every SQL
 * statement. Must not touch: protocols, the network, the local tree.
 *
 * Paths are stored as given ('/'-separated, relative to the source root) plus
 * a sort key ("skey": the path with '/' replaced by a 0 byte), so that the
 * manifest reads back in exactly the order the scanner walks the tree
 * (depth-first, siblings by strcmp) and the plan is a merge join.
 *
 * Threading: one rsl_state is used by one thread (the engine's main thread).
 */
#ifndef RSL_STATE_H
#define RSL_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/catalog.h"

#define RSL_STATE_SCHEMA_VERSION 4

/* Bytes of a content digest (SHA-256). */
#define RSL_DIGEST_LEN 32

typedef struct rsl_state rsl_state;

enum {
    RSL_STATE_RDWR = 0,
    RSL_STATE_READONLY = 1, /* open an existing db read-only; a missing db reads as empty */
};

/* Opens (creating parent directory 0700 and file 0600 when needed) and
 * migrates. On RSL_OK the caller owns *out (rsl_state_close). */
rsl_code rsl_state_open(rsl_state **out, const char *path, int flags, rsl_err *err);
void rsl_state_close(rsl_state *st);

/* Writes the sort key of path into out (cap bytes); returns its length. */
size_t rsl_state_skey(const char *path, unsigned char *out, size_t cap);
/* memcmp-order comparison of two sort keys. */
int rsl_state_skey_cmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl);

/* Explicit transactions, for batching writes. */
rsl_code rsl_state_begin(rsl_state *st, rsl_err *err);
rsl_code rsl_state_commit(rsl_state *st, rsl_err *err);

/* ---- manifest ---- */
enum { RSL_TYPE_FILE = 'f', RSL_TYPE_DIR = 'd', RSL_TYPE_LINK = 'l' };

typedef struct rsl_manifest_row {
    const char *path; /* valid until the next iter call */
    const unsigned char *skey;
    size_t skey_len;
    int type; /* RSL_TYPE_FILE / RSL_TYPE_DIR / RSL_TYPE_LINK (symlinks = as-links) */
    uint64_t size;
    int64_t mtime_ns;
    int pending;                 /* 1: a remote change was started but its result not recorded */
    uint64_t dev, ino;           /* the local file's identity when it was sent; 0 if unknown */
    const unsigned char *digest; /* SHA-256 of the content sent (RSL_DIGEST_LEN), or NULL */
    size_t digest_len;
    const char *target; /* RSL_TYPE_LINK: what the link points to; else NULL */
} rsl_manifest_row;

/* Iterates the manifest in sort-key order. next returns 1 with *row filled,
 * 0 at the end, -1 on error (err filled). */
rsl_code rsl_state_manifest_iter_begin(rsl_state *st, rsl_err *err);
int rsl_state_manifest_iter_next(rsl_state *st, rsl_manifest_row *row, rsl_err *err);
void rsl_state_manifest_iter_end(rsl_state *st);
/* Looks one path up: 1 found (row strings valid until the next state call), 0 absent. */
int rsl_state_manifest_get(rsl_state *st, const char *path, rsl_manifest_row *row);
rsl_code rsl_state_manifest_put(rsl_state *st, const char *path, int type, uint64_t size,
                                int64_t mtime_ns, int64_t run_id, rsl_err *err);
/* Writes a complete, non-pending row: path, type, size, mtime_ns, dev, ino,
 * digest (NULL: unknown) and target from *row; row->pending is ignored. */
rsl_code rsl_state_manifest_put_row(rsl_state *st, const rsl_manifest_row *row, int64_t run_id,
                                    rsl_err *err);
/* A non-pending file row whose local identity was (dev, ino): 1 found (row
 * strings valid until the next state call), 0 none (or ino == 0). For rename
 * detection: a new path with the inode of a recorded one may be a move. */
int rsl_state_manifest_find_inode(rsl_state *st, uint64_t dev, uint64_t ino, rsl_manifest_row *row);
/* The same for a row of `type` (RSL_TYPE_DIR: a renamed directory keeps its
 * inode). */
int rsl_state_manifest_find_inode_of(rsl_state *st, uint64_t dev, uint64_t ino, int type,
                                     rsl_manifest_row *row);
/* Records, before a remote change, that `path` may exist remotely as `type`
 * once the change is done. A pending row is never taken as "in sync": the
 * next run re-uploads it, or deletes it remotely when it is gone locally. */
rsl_code rsl_state_manifest_put_pending(rsl_state *st, const char *path, int type, int64_t run_id,
                                        rsl_err *err);
rsl_code rsl_state_manifest_del(rsl_state *st, const char *path, rsl_err *err);
/* Number of files and directories in the manifest. */
rsl_code rsl_state_manifest_count(rsl_state *st, int64_t *files, int64_t *dirs, rsl_err *err);

/* ---- moves (send less) ---- */

/* Calls cb for every manifest row strictly below directory `path` (its
 * subtree), in sort-key order; cb returns non-zero to stop. The row's
 * strings are valid during the call only. Reads a snapshot in batches, so
 * cb may write to the state db. */
rsl_code rsl_state_manifest_subtree(rsl_state *st, const char *path,
                                    int (*cb)(void *ud, const rsl_manifest_row *row), void *ud,
                                    rsl_err *err);
/* Write-ahead for a remote move of `from` (and, for a directory, all the
 * rows below it) to `to`: a pending row at each new path, and the old rows
 * marked pending (their other columns kept). A crash after the remote move
 * leaves both sides pending: the next run uploads the new paths and deletes
 * the old ones, whichever the remote holds. */
rsl_code rsl_state_move_pending(rsl_state *st, const char *from, const char *to, int64_t run_id,
                                rsl_err *err);
/* The remote move is done: every row at or below `from` is written at its
 * new path under `to` with its size, mtime, device, inode, digest and
 * target, not pending, and the old row deleted. */
rsl_code rsl_state_move_commit(rsl_state *st, const char *from, const char *to, int64_t run_id,
                               rsl_err *err);
/* Sets the recorded mtime of the row at path (a directory whose remote
 * mtime was set). */
rsl_code rsl_state_manifest_set_mtime(rsl_state *st, const char *path, int64_t mtime_ns,
                                      rsl_err *err);

/* ---- runs ---- */
typedef struct rsl_counts {
    int64_t files_applied, dirs_applied, deletes_applied, bytes_applied;
    int64_t item_errors;
    int64_t transferred_files, transferred_bytes; /* bytes actually sent */
    int64_t failed_files, failed_bytes;
    int64_t scanned_files, scanned_dirs, unchanged, skipped, vanished;
    int64_t moves; /* remote moves (a directory moved as a whole counts once); not deletes */
} rsl_counts;

typedef struct rsl_run_record {
    int64_t id;
    int64_t started_ms, ended_ms;
    char mode[16];    /* "normal", "only-failed", "push" */
    char outcome[24]; /* "running", "success", "partial_failure", "failure", "interrupted" */
    int exit_code;
    int code; /* session error code, 0 if none */
    char message[512];
    rsl_counts counts;
} rsl_run_record;

rsl_code rsl_state_run_begin(rsl_state *st, const char *mode, int64_t now_ms, int64_t *run_id,
                             rsl_err *err);
rsl_code rsl_state_run_end(rsl_state *st, const rsl_run_record *rec, rsl_err *err);
/* Fetches run `id`, or the latest run when id <= 0. Returns 1 found, 0 none, -1 error. */
int rsl_state_run_get(rsl_state *st, int64_t id, rsl_run_record *rec, rsl_err *err);
/* Marks runs left "running" by a killed process as "interrupted". */
rsl_code rsl_state_runs_close_stale(rsl_state *st, int64_t now_ms, rsl_err *err);

/* ---- per-item results of a run ---- */
typedef struct rsl_item_result {
    const char *path;
    const char *action;  /* "create", "update", "mkdir", "delete", "skip", "replace", "move",
                            "append", "link" */
    const char *outcome; /* "ok", "failed", "skipped", "deferred" */
    int code;            /* catalog code, 0 for ok */
    const char *message;
    int attempts;
    int64_t bytes; /* bytes sent for this item in this run */
    int64_t ts_ms;
    const char *from; /* "move": the old path; else NULL */
} rsl_item_result;

rsl_code rsl_state_result_add(rsl_state *st, int64_t run_id, const rsl_item_result *r,
                              rsl_err *err);
typedef int (*rsl_result_cb)(void *ud, const rsl_item_result *r);
/* Calls cb for each result of run_id in path order (failed_only: outcome not ok). */
rsl_code rsl_state_results_foreach(rsl_state *st, int64_t run_id, int failed_only, rsl_result_cb cb,
                                   void *ud, rsl_err *err);

/* ---- items failing now ---- */
typedef struct rsl_failure {
    char *path;
    char action[16];
    int code;
    char message[512];
    int attempts;
    int64_t first_ms, last_ms, next_retry_ms;
    uint64_t local_size;
    int64_t local_mtime_ns;
} rsl_failure;

/* Loads all failing items sorted by sort key; caller frees with rsl_failures_free. */
rsl_code rsl_state_failures_load(rsl_state *st, rsl_failure **out, size_t *n, rsl_err *err);
void rsl_failures_free(rsl_failure *f, size_t n);
/* Binary search in a loaded, sorted array. NULL if absent. */
rsl_failure *rsl_failures_find(rsl_failure *f, size_t n, const char *path);
rsl_code rsl_state_failure_put(rsl_state *st, const rsl_failure *f, rsl_err *err);
rsl_code rsl_state_failure_del(rsl_state *st, const char *path, rsl_err *err);

/* ---- resumable uploads ---- */
typedef struct rsl_upload_rec {
    char *path;
    uint64_t local_size;
    int64_t local_mtime_ns;
    int64_t started_ms;
    char *done; /* byte ranges the server acknowledged, "START-END[,START-END...]" (END
                   exclusive, ascending), or NULL when only the temp file's size is known */
} rsl_upload_rec;

rsl_code rsl_state_uploads_load(rsl_state *st, rsl_upload_rec **out, size_t *n, rsl_err *err);
void rsl_uploads_free(rsl_upload_rec *u, size_t n);
rsl_code rsl_state_upload_put(rsl_state *st, const char *path, uint64_t size, int64_t mtime_ns,
                              int64_t now_ms, rsl_err *err);
/* Records which byte ranges of the temp file are acknowledged (the format of
 * rsl_upload_rec.done; NULL clears it), for uploads split over several
 * connections or resumed exactly. */
rsl_code rsl_state_upload_progress(rsl_state *st, const char *path, const char *done, rsl_err *err);
rsl_code rsl_state_upload_del(rsl_state *st, const char *path, rsl_err *err);

/* ---- key/value cache (facts about the server) ---- */
int rsl_state_kv_get(rsl_state *st, const char *key, char *buf, size_t bufsz);
rsl_code rsl_state_kv_set(rsl_state *st, const char *key, const char *value, rsl_err *err);
/* Calls cb for every key/value pair. */
rsl_code rsl_state_kv_foreach(rsl_state *st, void (*cb)(void *ud, const char *k, const char *v),
                              void *ud, rsl_err *err);

/* Forgets everything known about the remote (manifest, upload records,
 * failures), for a job whose destination changed. One transaction. */
rsl_code rsl_state_forget_remote(rsl_state *st, rsl_err *err);

/* PRAGMA integrity_check; returns 1 when "ok". */
int rsl_state_integrity_ok(rsl_state *st);

#endif
