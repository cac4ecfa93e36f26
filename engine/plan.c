/*
 * plan.c - the merge join of the local walk with the manifest. See plan.h.
 */
#include "plan.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "plan_fail.h"
#include "detect.h"
#include "pathset.h"
#include "retry.h"
#include "spool.h"

const char *rsl_action_name(rsl_action a)
{
    switch (a) {
    case RSL_ACT_NONE:
        return "none";
    case RSL_ACT_CREATE:
        return "create";
    case RSL_ACT_UPDATE:
        return "update";
    case RSL_ACT_MKDIR:
        return "mkdir";
    case RSL_ACT_REPLACE:
        return "replace";
    case RSL_ACT_DELETE:
        return "delete";
    case RSL_ACT_MOVE:
        return "move";
    case RSL_ACT_APPEND:
        return "append";
    case RSL_ACT_SETTIME:
        return "settime";
    }
    return "?";
}

rsl_action rsl_plan_decide(int local_type, uint64_t size, int64_t mtime_ns,
                           const rsl_manifest_row *m)
{
    if (m == NULL)
        return local_type == RSL_TYPE_DIR ? RSL_ACT_MKDIR : RSL_ACT_CREATE;
    if (m->type != local_type)
        return RSL_ACT_REPLACE;
    if (m->pending) /* maybe on the remote, never known to be in sync */
        return local_type == RSL_TYPE_DIR ? RSL_ACT_MKDIR : RSL_ACT_CREATE;
    if (local_type == RSL_TYPE_DIR)
        return RSL_ACT_NONE;
    if (m->size == size && m->mtime_ns == mtime_ns)
        return RSL_ACT_NONE;
    return RSL_ACT_UPDATE;
}

static void vec_free(rsl_item_vec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->v[i].path);
        free(v->v[i].src_rel);
    }
    free(v->v);
    memset(v, 0, sizeof(*v));
}

void rsl_plan_free(rsl_plan *p)
{
    rsl_spool_free(p->items);
    rsl_spool_free(p->deletes);
    p->items = p->deletes = NULL;
    vec_free(&p->replace_del);
    vec_free(&p->stale_temps);
    if (p->moved_from) {
        rsl_pathset_free(p->moved_from);
        free(p->moved_from);
        p->moved_from = NULL;
    }
}

static rsl_item *vec_push(rsl_item_vec *v, const char *path)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 64;
        rsl_item *nv = realloc(v->v, nc * sizeof(*nv));
        if (nv == NULL)
            return NULL;
        v->v = nv;
        v->cap = nc;
    }
    rsl_item *it = &v->v[v->n];
    memset(it, 0, sizeof(*it));
    if ((it->path = strdup(path)) == NULL)
        return NULL;
    v->n++;
    return it;
}

typedef struct merger {
    const rsl_plan_ctx *ctx;
    rsl_plan *p;
    rsl_err *err;
    rsl_code rc;
    /* the current manifest row (owned copy) */
    int have_m;
    char *m_path;
    unsigned char *m_skey;
    size_t m_skey_len, m_skey_cap;
    int m_type;
    int m_pending;
    uint64_t m_size;
    int64_t m_mtime;
    /* a directory replaced by a file: its remote subtree goes */
    unsigned char rp[8192];
    size_t rp_len;
    int rp_active;
    unsigned char ekey[8192];
    char full[8192];
    unsigned char *ups_planned; /* per upload record: its file is planned this run */
    rsl_plan_fail fails;        /* the failure rows the walk saw */
    rsl_detect *det;            /* send less: moves, appends, links, dir times (detect.h) */
    int del_temp;               /* the delete being spooled is of a pending file (plan.h) */
} merger;

static int m_next(merger *m)
{
    rsl_manifest_row row;
    int r = rsl_state_manifest_iter_next(m->ctx->st, &row, m->err);
    free(m->m_path);
    m->m_path = NULL;
    m->have_m = 0;
    if (r < 0) {
        m->rc = m->err->code;
        return -1;
    }
    if (r == 0)
        return 0;
    if (row.skey_len > m->m_skey_cap) {
        unsigned char *nk = realloc(m->m_skey, row.skey_len + 64);
        if (nk == NULL) {
            m->rc = rsl_err_set(m->err, RSL_E_NO_MEMORY, 0, "out of memory");
            return -1;
        }
        m->m_skey = nk;
        m->m_skey_cap = row.skey_len + 64;
    }
    memcpy(m->m_skey, row.skey, row.skey_len);
    m->m_skey_len = row.skey_len;
    m->m_path = strdup(row.path);
    m->m_type = row.type;
    m->m_pending = row.pending;
    m->m_size = row.size;
    m->m_mtime = row.mtime_ns;
    if (m->ctx->on_row)
        m->ctx->on_row(m->ctx->row_ud, &row);
    if (m->m_path == NULL) {
        m->rc = rsl_err_set(m->err, RSL_E_NO_MEMORY, 0, "out of memory");
        return -1;
    }
    m->have_m = 1;
    return 1;
}

/* 1 when key starts with prefix followed by a separator (a descendant). */
static int is_under(const unsigned char *key, size_t kl, const unsigned char *pre, size_t pl)
{
    return kl > pl && memcmp(key, pre, pl) == 0 && key[pl] == 0;
}

static int local_exists(merger *m, const char *path)
{
    struct stat sb;
    snprintf(m->full, sizeof(m->full), "%s/%s", m->ctx->job->source, path);
    return lstat(m->full, &sb) == 0 || errno != ENOENT;
}

/* A remote item to delete: spooled (deletes), or kept in memory up to the
 * limit (replace_del; beyond it the run is refused anyway, so only counted). */
static int add_delete(merger *m, int replaced, const char *path, int type, uint64_t size,
                      int prev_attempts)
{
    rsl_item d = {.path = (char *)path,
                  .action = RSL_ACT_DELETE,
                  .type = type,
                  .old_type = type,
                  .size = size,
                  .prev_attempts = prev_attempts,
                  .overwrite = m->del_temp};
    if (!replaced) {
        m->p->n_deletes++;
        if ((m->rc = rsl_spool_put(m->p->deletes, &d, m->err)) != RSL_OK)
            return -1;
        return 0;
    }
    if ((size_t)m->p->n_replace_del++ >= m->ctx->keep_deletes)
        return 0;
    rsl_item *it = vec_push(&m->p->replace_del, path);
    if (it == NULL) {
        m->rc = rsl_err_set(m->err, RSL_E_NO_MEMORY, 0, "out of memory");
        return -1;
    }
    char *keep = it->path;
    *it = d;
    it->path = keep;
    return 0;
}

/* A manifest row with no local entry. A delete that will be made carries
 * the attempts of the item's failure row, so its result settles the row;
 * with delete = no the row is left to be resolved as gone. */
static int missing_row(merger *m)
{
    int replaced = m->rp_active && is_under(m->m_skey, m->m_skey_len, m->rp, m->rp_len);
    if (!replaced)
        m->rp_active = 0;
    /* the walk is the evidence, but a delete is irreversible: check once more */
    if (!replaced && local_exists(m, m->m_path))
        return 0;
    rsl_failure *f =
        replaced || m->ctx->job->delete_ ? rsl_plan_fail_find(&m->fails, m->m_path) : NULL;
    /* a pending file may have left its temp (a run killed mid-upload) */
    m->del_temp = !replaced && m->m_pending && m->m_type == RSL_TYPE_FILE;
    int r = add_delete(m, replaced, m->m_path, m->m_type, m->m_size, f ? f->attempts : 0);
    m->del_temp = 0;
    return r;
}

/* Consumes manifest rows before key (they are gone locally). */
static int advance_to(merger *m, const unsigned char *key, size_t kl)
{
    while (m->have_m && rsl_state_skey_cmp(m->m_skey, m->m_skey_len, key, kl) < 0) {
        if (m->m_type == RSL_TYPE_FILE)
            m->p->manifest_files++;
        if (missing_row(m) < 0 || m_next(m) < 0)
            return -1;
    }
    return 0;
}

/* Skips the manifest row at key and its descendants: they stay as they are. */
static int keep_subtree(merger *m, const unsigned char *key, size_t kl)
{
    while (m->have_m && (rsl_state_skey_cmp(m->m_skey, m->m_skey_len, key, kl) == 0 ||
                         is_under(m->m_skey, m->m_skey_len, key, kl))) {
        if (m->m_type == RSL_TYPE_FILE)
            m->p->manifest_files++;
        if (m_next(m) < 0)
            return -1;
    }
    return 0;
}

static rsl_upload_rec *find_upload(const rsl_plan_ctx *c, const char *path)
{
    size_t lo = 0, hi = c->n_uploads;
    unsigned char a[8192], b[8192];
    size_t al = rsl_state_skey(path, a, sizeof(a));
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        size_t bl = rsl_state_skey(c->uploads[mid].path, b, sizeof(b));
        int r = rsl_state_skey_cmp(a, al, b, bl);
        if (r == 0)
            return &c->uploads[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static void note(merger *m, const char *path, const char *action, const char *outcome,
                 const rsl_err *e, const rsl_item *it, const rsl_failure *f)
{
    if (m->ctx->note)
        m->ctx->note(m->ctx->ud, path, action, outcome, e, it, f);
}

/* An unchanged directory whose mtime is to be set again (detect.h). */
static int spool_dir_time(merger *m, const rsl_item *local)
{
    rsl_item it = *local;
    it.action = RSL_ACT_SETTIME;
    m->p->n_items++;
    if ((m->rc = rsl_spool_put(m->p->items, &it, m->err)) != RSL_OK)
        return -1;
    return 0;
}

/* Plans one local file or directory against manifest row mr (NULL if none).
 * Returns 0 to descend (dirs), 1 to skip the subtree, -1 on error. */
static int plan_entry(merger *m, const rsl_item *local, const rsl_manifest_row *mr)
{
    const char *path = local->path;
    int type = local->type;
    uint64_t size = local->size;
    int64_t mtime_ns = local->mtime_ns;
    const rsl_plan_ctx *c = m->ctx;
    rsl_err verr;
    rsl_failure *f = rsl_plan_fail_find(&m->fails, path);
    rsl_item tmp = {.path = (char *)path, .type = type, .size = size, .mtime_ns = mtime_ns};
    if (rsl_validate(&c->limits, path, type == RSL_TYPE_DIR, size, &verr) != RSL_OK) {
        m->p->failing++;
        note(m, path, type == RSL_TYPE_DIR ? "mkdir" : (mr ? "update" : "create"), "failed", &verr,
             &tmp, f);
        return 1;
    }
    rsl_action a = rsl_plan_decide(type, size, mtime_ns, mr);
    if (a == RSL_ACT_NONE) {
        m->p->unchanged += type == RSL_TYPE_FILE;
        if (f != NULL)
            note(m, path, "none", "resolved", NULL, &tmp, f);
        return rsl_detect_dir_time(m->det, local, mr) ? spool_dir_time(m, local) : 0;
    }
    if (f && !c->only_failed && rsl_retry_is_deferred(f, size, mtime_ns, c->now_ms)) {
        rsl_err d;
        char when[64];
        time_t t = (time_t)(f->next_retry_ms / 1000);
        struct tm tmv;
        gmtime_r(&t, &tmv);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tmv);
        rsl_err_set(&d, RSL_E_RETRY_DEFERRED, f->code,
                    "blocked until %s after %d attempt(s); last error %s: %s", when, f->attempts,
                    rsl_code_name((rsl_code)f->code), f->message);
        m->p->failing++;
        note(m, path, rsl_action_name(a), "deferred", &d, &tmp, f);
        return 1;
    }
    rsl_item it = *local;
    it.action = a;
    it.old_type = a == RSL_ACT_REPLACE && mr ? mr->type : 0;
    if (f) {
        it.prev_attempts = f->attempts;
        it.first_failed_ms = f->first_ms;
    }
    int k = rsl_detect_item(m->det, &it, mr, m->err);
    if (k != 0) {
        if (k < 0)
            m->rc = m->err->code;
        return k;
    }
    if (it.action == RSL_ACT_MOVE || type == RSL_TYPE_LINK) {
        /* nothing to send */
    } else if (type == RSL_TYPE_FILE) {
        m->p->bytes_to_send += it.action == RSL_ACT_APPEND ? size - it.old_size : size;
        if (size > m->p->biggest)
            m->p->biggest = size;
        m->p->n_files++;
        rsl_upload_rec *u = find_upload(c, path);
        if (u) {
            it.has_upload_rec = 1;
            it.upload_rec_matches = u->local_size == size && u->local_mtime_ns == mtime_ns;
            m->ups_planned[u - c->uploads] = 1;
        }
    } else {
        m->p->n_dirs++;
    }
    m->p->n_items++;
    if ((m->rc = rsl_spool_put(m->p->items, &it, m->err)) != RSL_OK)
        return -1;
    return 0;
}

/* A file or directory of the walk (kl: its sort key's length in m->ekey,
 * match: the current manifest row is its own). 0 to descend, 1 to skip
 * the subtree, -1 on error. */
static int scan_item(merger *m, const rsl_entry *e, size_t kl, int match)
{
    if (e->kind == RSL_ENT_ERROR || e->unreadable) {
        rsl_err n;
        rsl_err_set(&n, e->code, 0, "%s: %s",
                    e->code == RSL_E_DEPTH_LIMIT ? "not descended" : "cannot read",
                    e->detail ? e->detail : "error");
        rsl_item tmp = {.path = (char *)e->path, .type = RSL_TYPE_DIR};
        m->p->failing++;
        note(m, e->path, "read", "failed", &n, &tmp, rsl_plan_fail_find(&m->fails, e->path));
        return 1;
    }
    if (e->kind == RSL_ENT_DIR)
        m->p->scanned_dirs++;
    else
        m->p->scanned_files++;
    rsl_manifest_row mr = {.path = m->m_path,
                           .type = m->m_type,
                           .size = m->m_size,
                           .mtime_ns = m->m_mtime,
                           .pending = m->m_pending};
    rsl_item local = {.path = (char *)e->path,
                      .src_rel = (char *)e->resolved,
                      .type = e->kind == RSL_ENT_DIR    ? RSL_TYPE_DIR
                              : e->kind == RSL_ENT_LINK ? RSL_TYPE_LINK
                                                        : RSL_TYPE_FILE,
                      .target = (char *)e->target,
                      .size = e->size,
                      .mtime_ns = e->mtime_ns,
                      .followed = e->followed || e->resolved != NULL,
                      .dev = e->dev,
                      .ino = e->ino,
                      .mode = e->mode};
    int r = plan_entry(m, &local, match ? &mr : NULL);
    if (r != 0 || !match)
        return r;
    if (m->m_type == RSL_TYPE_DIR && e->kind != RSL_ENT_DIR) {
        /* directory replaced by a file (or a link): its remote contents must go first */
        memcpy(m->rp, m->ekey, kl);
        m->rp_len = kl;
        m->rp_active = 1;
    }
    if (m->m_type == RSL_TYPE_FILE)
        m->p->manifest_files++;
    return m_next(m) < 0 ? -1 : 0;
}

static int scan_cb(void *ud, const rsl_entry *e)
{
    merger *m = ud;
    int why = rsl_stop_check(m->ctx->stop);
    if (why != RSL_STOP_NO) {
        m->rc = rsl_err_set(m->err, rsl_stop_code(why), 0, "%s during the scan",
                            why == RSL_STOP_CANCEL ? "interrupted" : "max_run_time reached");
        return -1;
    }
    size_t kl = rsl_state_skey(e->path, m->ekey, sizeof(m->ekey));
    if (advance_to(m, m->ekey, kl) < 0)
        return -1;
    int match = m->have_m && rsl_state_skey_cmp(m->m_skey, m->m_skey_len, m->ekey, kl) == 0;
    int r = 0;
    if (e->kind == RSL_ENT_EXCLUDED) {
        r = 1;
    } else if (e->kind == RSL_ENT_SKIPPED) {
        rsl_err n;
        rsl_err_set(&n, e->code, 0, "%s", e->detail ? e->detail : "skipped");
        m->p->skipped++;
        note(m, e->path, "skip", "skipped", &n, NULL, rsl_plan_fail_find(&m->fails, e->path));
        r = 1;
    } else if (e->kind == RSL_ENT_ERROR && e->code == RSL_E_LOCAL_VANISHED) {
        return 0; /* gone between listing and stat: as if absent */
    } else if ((r = scan_item(m, e, kl, match)) < 0) {
        return -1;
    }
    if (r == 1 && keep_subtree(m, m->ekey, kl) < 0)
        return -1;
    return r;
}

static rsl_code finish_stale_temps(rsl_plan *p, const rsl_plan_ctx *c, const unsigned char *planned,
                                   rsl_err *err)
{
    /* upload records whose path is not uploaded this run: the local file was
     * deleted, or is unchanged again. Their temp files are removed. */
    for (size_t i = 0; i < c->n_uploads; i++) {
        const char *path = c->uploads[i].path;
        if (planned[i])
            continue;
        struct stat sb;
        char full[8192];
        snprintf(full, sizeof(full), "%s/%s", c->job->source, path);
        int exists = lstat(full, &sb) == 0;
        /* still there but not planned (e.g. deferred or skipped): keep the temp */
        if (exists && !c->only_failed)
            if (rsl_failures_find(c->failures, c->n_failures, path) != NULL)
                continue;
        if (exists && c->only_failed)
            continue;
        rsl_item *it = vec_push(&p->stale_temps, path);
        if (it == NULL)
            return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    }
    return RSL_OK;
}

/* Where a failed item's local path leads when links are followed: its path
 * beneath the root with links resolved (into out; "" when it is the path
 * itself). -1 when it leads outside the root or nowhere. */
static int resolve_beneath(const char *root_real, const char *full, const char *path, char *out,
                           size_t cap)
{
    char real[PATH_MAX];
    size_t rl = strlen(root_real);
    out[0] = '\0';
    if (realpath(full, real) == NULL)
        return -1;
    if (rl == 1) /* "/" */
        rl = 0;
    if (strncmp(real, root_real, rl) != 0 || real[rl] != '/')
        return -1;
    if (strcmp(real + rl + 1, path) != 0)
        snprintf(out, cap, "%s", real + rl + 1);
    return 0;
}

/* A failed item that is a symbolic link kept as a link (as-links). */
static int failed_link(merger *m, const rsl_failure *f)
{
    rsl_item local;
    char target[PATH_MAX];
    if (rsl_detect_link(m->ctx, f->path, &local, target, sizeof(target)) != 0) {
        note(m, f->path, "none", "resolved", NULL, NULL, f); /* leads outside: not created */
        return 0;
    }
    rsl_manifest_row row;
    int in_manifest = rsl_state_manifest_get(m->ctx->st, f->path, &row);
    rsl_manifest_row mr = {.type = in_manifest ? row.type : 0,
                           .size = in_manifest ? row.size : 0,
                           .mtime_ns = in_manifest ? row.mtime_ns : 0,
                           .pending = in_manifest ? row.pending : 0};
    m->p->scanned_files++;
    return plan_entry(m, &local, in_manifest ? &mr : NULL) < 0 ? -1 : 0;
}

/* One row of the failures table, planned against the local file and the
 * manifest. Returns 0, or -1 with m->rc set. */
static int failed_item(merger *m, const rsl_failure *f, const char *root_real)
{
    const rsl_plan_ctx *c = m->ctx;
    struct stat sb;
    char resolved[PATH_MAX];
    snprintf(m->full, sizeof(m->full), "%s/%s", c->job->source, f->path);
    int r = lstat(m->full, &sb);
    resolved[0] = '\0';
    if (r == 0 && S_ISLNK(sb.st_mode) && c->job->symlinks == RSL_SYMLINKS_AS_LINKS)
        return failed_link(m, f);
    if (r == 0 && S_ISLNK(sb.st_mode) && !c->job->follow_symlinks) {
        note(m, f->path, "none", "resolved", NULL, NULL, f); /* the walk skips links */
        return 0;
    }
    if (r == 0 && c->job->follow_symlinks) {
        if (root_real == NULL ||
            resolve_beneath(root_real, m->full, f->path, resolved, sizeof(resolved)) != 0 ||
            stat(m->full, &sb) != 0) {
            note(m, f->path, "none", "resolved", NULL, NULL, f); /* leads outside the root */
            return 0;
        }
    }
    rsl_manifest_row row;
    int in_manifest = rsl_state_manifest_get(c->st, f->path, &row);
    int mtype = in_manifest ? row.type : 0;
    uint64_t msize = in_manifest ? row.size : 0;
    rsl_err why;
    rsl_err_clear(&why);
    if (r != 0) {
        if (in_manifest && c->job->delete_)
            return add_delete(m, 0, f->path, mtype, msize, f->attempts);
        rsl_err_set(&why, RSL_OK, 0, "gone from the source");
        note(m, f->path, "none", "resolved", &why, NULL, f);
        return 0;
    }
    int type = S_ISDIR(sb.st_mode) ? RSL_TYPE_DIR : S_ISREG(sb.st_mode) ? RSL_TYPE_FILE : 0;
    if (type == 0 || rsl_plan_fail_gone(c->job, f->path, why.msg, sizeof(why.msg))) {
        note(m, f->path, "none", "resolved", why.msg[0] ? &why : NULL, NULL, f);
        return 0;
    }
    rsl_item tmp = {.path = f->path, .type = type};
    if (type == RSL_TYPE_DIR && rsl_plan_fail_dir_ok(c->job->source, f->path, &why) != RSL_OK) {
        m->p->failing++; /* still unreadable: it fails again, never "mkdir ok" */
        note(m, f->path, "read", "failed", &why, &tmp, f);
        return 0;
    }
    if (type == RSL_TYPE_DIR)
        m->p->scanned_dirs++;
    else
        m->p->scanned_files++;
    rsl_manifest_row mr = {.type = mtype,
                           .size = msize,
                           .mtime_ns = in_manifest ? row.mtime_ns : 0,
                           .pending = in_manifest ? row.pending : 0};
    rsl_item local = {.path = f->path,
                      .src_rel = resolved[0] ? resolved : NULL,
                      .type = type,
                      .size = (uint64_t)sb.st_size,
                      .mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec,
                      .followed = resolved[0] != '\0',
                      .dev = (uint64_t)sb.st_dev,
                      .ino = (uint64_t)sb.st_ino,
                      .mode = (uint32_t)(sb.st_mode & 07777)};
    return plan_entry(m, &local, in_manifest ? &mr : NULL) < 0 ? -1 : 0;
}

static rsl_code plan_only_failed(merger *m)
{
    const rsl_plan_ctx *c = m->ctx;
    char root_real[PATH_MAX];
    const char *rr = realpath(c->job->source, root_real) ? root_real : NULL;
    for (size_t i = 0; i < c->n_failures; i++)
        if (failed_item(m, &c->failures[i], rr) < 0)
            return m->rc;
    return RSL_OK;
}

/* A failure row the walk did not see, whose path is gone: resolved. */
static void unseen_gone(void *ud, const rsl_failure *f, const char *why)
{
    merger *m = ud;
    rsl_err e;
    rsl_err_set(&e, RSL_OK, 0, "%s", why);
    note(m, f->path, "none", "resolved", &e, NULL, f);
}

/* The walk merged with the manifest. */
static rsl_code plan_walk(merger *m)
{
    const rsl_plan_ctx *c = m->ctx;
    rsl_plan *p = m->p;
    rsl_code rc = rsl_state_manifest_iter_begin(c->st, m->err);
    if (rc != RSL_OK)
        return rc;
    if (!c->ignore_manifest && m_next(m) < 0)
        return m->rc;
    rsl_scan_opts so = {.excludes = c->job->excludes,
                        .n_excludes = c->job->n_excludes,
                        .follow_symlinks = c->job->follow_symlinks,
                        .as_links = c->job->symlinks == RSL_SYMLINKS_AS_LINKS};
    rc = rsl_scan(c->job->source, &so, scan_cb, m, m->err);
    if (rc != RSL_OK)
        return m->rc != RSL_OK ? m->rc : rc;
    /* everything after the last local entry is gone locally */
    while (m->have_m) {
        if (m->m_type == RSL_TYPE_FILE)
            p->manifest_files++;
        if (missing_row(m) < 0 || m_next(m) < 0)
            return m->rc;
    }
    if (m->rc != RSL_OK)
        return m->rc;
    if (p->scanned_files == 0 && p->scanned_dirs == 0 && p->skipped == 0 && p->failing == 0 &&
        p->manifest_files > 0)
        return rsl_err_set(m->err, RSL_E_SOURCE_EMPTY, 0,
                           "source '%s' is empty but the manifest lists %lld file(s) on the "
                           "remote; refusing to treat that as %lld deletion(s)",
                           c->job->source, (long long)p->manifest_files,
                           (long long)p->manifest_files);
    rsl_plan_fail_unseen(&m->fails, c->job, unseen_gone, m);
    return RSL_OK;
}

rsl_code rsl_plan_build(rsl_plan *p, const rsl_plan_ctx *c, rsl_err *err)
{
    memset(p, 0, sizeof(*p));
    merger *m = calloc(1, sizeof(*m));
    if (m == NULL || (m->ups_planned = calloc(c->n_uploads + 1, 1)) == NULL ||
        rsl_plan_fail_init(&m->fails, c->failures, c->n_failures) != 0) {
        if (m)
            free(m->ups_planned);
        free(m);
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    }
    m->ctx = c;
    m->p = p;
    m->err = err;
    rsl_code rc;
    if ((rc = rsl_spool_open(&p->items, c->spool_dir, err)) != RSL_OK ||
        (rc = rsl_spool_open(&p->deletes, c->spool_dir, err)) != RSL_OK)
        goto done;
    if ((rc = rsl_detect_new(&m->det, c, p, err)) != RSL_OK)
        goto done;
    rc = c->only_failed ? plan_only_failed(m) : plan_walk(m);
    if (!c->only_failed)
        rsl_state_manifest_iter_end(c->st);
    if (rc == RSL_OK && (rc = rsl_spool_seal(p->items, err)) == RSL_OK &&
        (rc = rsl_spool_seal(p->deletes, err)) == RSL_OK &&
        (rc = rsl_detect_finish(m->det, err)) == RSL_OK)
        rc = finish_stale_temps(p, c, m->ups_planned, err);
done:
    rsl_plan_fail_free(&m->fails);
    rsl_detect_free(m->det);
    free(m->ups_planned);
    free(m->m_path);
    free(m->m_skey);
    free(m);
    return rc;
}
