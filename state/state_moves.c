/*
 * state_moves.c - the manifest's subtrees and the rows of a remote move
 * (send less). See state.h, "moves".
 *
 * A subtree is the range of sort keys strictly between KEY 0x00 and
 * KEY 0x01 (a '/' is a 0 byte in the key), read in batches by the last key
 * seen, so the callback may write while nothing is being stepped.
 */
#include "state_db.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 256
#define KEYCAP 8192

/* An owned copy of a manifest row. */
typedef struct rowcopy {
    rsl_manifest_row r;
    char *path, *target;
    unsigned char *skey;
    unsigned char digest[RSL_DIGEST_LEN];
} rowcopy;

static int copy_row(rowcopy *c, const rsl_manifest_row *r)
{
    memset(c, 0, sizeof(*c));
    c->r = *r;
    c->path = strdup(r->path ? r->path : "");
    c->target = r->target ? strdup(r->target) : NULL;
    c->skey = malloc(r->skey_len + 1);
    if (c->path == NULL || (r->target && c->target == NULL) || c->skey == NULL)
        return -1;
    memcpy(c->skey, r->skey, r->skey_len);
    c->r.path = c->path;
    c->r.target = c->target;
    c->r.skey = c->skey;
    if (r->digest) {
        memcpy(c->digest, r->digest, RSL_DIGEST_LEN);
        c->r.digest = c->digest;
    }
    return 0;
}

static void free_rows(rowcopy *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].target);
        free(v[i].skey);
    }
}

/* Up to BATCH rows with lo < skey < hi into v. Returns how many, or -1. */
static long read_batch(rsl_state *st, const unsigned char *lo, size_t lol, const unsigned char *hi,
                       size_t hil, rowcopy *v, rsl_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(rsl_state_db(st),
                           "SELECT " RSL_STATE_MAN_COLS " FROM manifest WHERE skey > ?1 AND "
                           "skey < ?2 ORDER BY skey LIMIT 256",
                           -1, &s, NULL) != SQLITE_OK) {
        rsl_state_db_err(st, err, "manifest subtree");
        return -1;
    }
    sqlite3_bind_blob(s, 1, lo, (int)lol, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, hi, (int)hil, SQLITE_STATIC);
    long n = 0;
    int r = SQLITE_DONE;
    while (n < BATCH && (r = sqlite3_step(s)) == SQLITE_ROW) {
        rsl_manifest_row row;
        rsl_state_db_fill_row(s, &row);
        if (copy_row(&v[n], &row) != 0) {
            free_rows(v, (size_t)n + 1);
            sqlite3_finalize(s);
            rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
            return -1;
        }
        n++;
    }
    if (n < BATCH && r != SQLITE_DONE) {
        rsl_state_db_err(st, err, "manifest subtree");
        free_rows(v, (size_t)n);
        n = -1;
    }
    sqlite3_finalize(s);
    return n;
}

rsl_code rsl_state_manifest_subtree(rsl_state *st, const char *path,
                                    int (*cb)(void *ud, const rsl_manifest_row *row), void *ud,
                                    rsl_err *err)
{
    unsigned char lo[KEYCAP + 1], hi[KEYCAP + 1];
    size_t kl = rsl_state_skey(path, lo, KEYCAP);
    memcpy(hi, lo, kl);
    lo[kl] = 0;
    hi[kl] = 1;
    size_t lol = kl + 1;
    rowcopy *v = calloc(BATCH, sizeof(*v));
    if (v == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    rsl_code rc = RSL_OK;
    int stop = 0;
    while (!stop) {
        long n = read_batch(st, lo, lol, hi, kl + 1, v, err);
        if (n < 0) {
            rc = err->code;
            break;
        }
        for (long i = 0; i < n && !stop; i++)
            stop = cb(ud, &v[i].r) != 0;
        if (n > 0) { /* the next batch starts after the last key */
            lol = v[n - 1].r.skey_len < KEYCAP ? v[n - 1].r.skey_len : KEYCAP;
            memcpy(lo, v[n - 1].r.skey, lol);
        }
        free_rows(v, (size_t)n);
        if (n < BATCH)
            break;
    }
    free(v);
    return rc;
}

/* ---- the rows of a move ---- */

typedef struct mover {
    rsl_state *st;
    const char *from, *to;
    size_t from_len;
    int64_t run_id;
    int commit; /* 0: write-ahead (pending), 1: the move is done */
    rsl_err *err;
    rsl_code rc;
} mover;

static rsl_code exec_key(rsl_state *st, const char *sql, const char *path, int64_t v, rsl_err *err)
{
    unsigned char key[KEYCAP];
    size_t kl = rsl_state_skey(path, key, sizeof(key));
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(rsl_state_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        return rsl_state_db_err(st, err, "manifest write");
    sqlite3_bind_blob(s, 1, kl ? (const void *)key : (const void *)"", (int)kl, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(s) >= 2)
        sqlite3_bind_int64(s, 2, v);
    int r = sqlite3_step(s);
    sqlite3_finalize(s);
    return r == SQLITE_DONE ? RSL_OK : rsl_state_db_err(st, err, "manifest write");
}

/* One row at or below `from`, at its new place. */
static int move_row(void *ud, const rsl_manifest_row *row)
{
    mover *m = ud;
    const char *rest = row->path + m->from_len; /* "" or "/..." */
    size_t n = strlen(m->to) + strlen(rest) + 1;
    char *np = malloc(n);
    if (np == NULL) {
        m->rc = rsl_err_set(m->err, RSL_E_NO_MEMORY, 0, "out of memory");
        return 1;
    }
    memcpy(np, m->to, strlen(m->to));
    memcpy(np + strlen(m->to), rest, strlen(rest) + 1);
    if (m->commit) {
        rsl_manifest_row r = *row;
        r.path = np;
        m->rc = rsl_state_manifest_put_row(m->st, &r, m->run_id, m->err);
        if (m->rc == RSL_OK)
            m->rc = rsl_state_manifest_del(m->st, row->path, m->err);
    } else {
        m->rc = rsl_state_manifest_put_pending(m->st, np, row->type, m->run_id, m->err);
        if (m->rc == RSL_OK)
            m->rc = exec_key(m->st, "UPDATE manifest SET pending = 1 WHERE skey = ?1", row->path, 0,
                             m->err);
    }
    free(np);
    return m->rc != RSL_OK;
}

static rsl_code move_rows(rsl_state *st, const char *from, const char *to, int64_t run_id,
                          int commit, rsl_err *err)
{
    mover m = {.st = st,
               .from = from,
               .to = to,
               .from_len = strlen(from),
               .run_id = run_id,
               .commit = commit,
               .err = err,
               .rc = RSL_OK};
    rsl_manifest_row row;
    rowcopy top;
    if (!rsl_state_manifest_get(st, from, &row))
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "manifest: no row for '%s' to move", from);
    if (copy_row(&top, &row) != 0) {
        free_rows(&top, 1);
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    }
    rsl_code rc = RSL_OK;
    if (top.r.type == RSL_TYPE_DIR)
        rc = rsl_state_manifest_subtree(st, from, move_row, &m, err);
    if (rc == RSL_OK && m.rc == RSL_OK)
        move_row(&m, &top.r);
    free_rows(&top, 1);
    return rc != RSL_OK ? rc : m.rc;
}

rsl_code rsl_state_move_pending(rsl_state *st, const char *from, const char *to, int64_t run_id,
                                rsl_err *err)
{
    return move_rows(st, from, to, run_id, 0, err);
}

rsl_code rsl_state_move_commit(rsl_state *st, const char *from, const char *to, int64_t run_id,
                               rsl_err *err)
{
    return move_rows(st, from, to, run_id, 1, err);
}

rsl_code rsl_state_manifest_set_mtime(rsl_state *st, const char *path, int64_t mtime_ns,
                                      rsl_err *err)
{
    return exec_key(st, "UPDATE manifest SET mtime_ns = ?2 WHERE skey = ?1", path, mtime_ns, err);
}
