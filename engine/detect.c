/*
 * detect.c - moves, appends, links and directory times in the plan. See
 * detect.h.
 */
#define _GNU_SOURCE
#include "detect.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/beneath.h"
#include "pathset.h"
#include "scan.h"
#include "source.h"
#include "spool.h"

#define MAX_REGIONS 64

/* A directory moved as a whole whose new subtree the walk is in. */
typedef struct region {
    char *to, *from;
} region;

struct rsl_detect {
    const rsl_plan_ctx *c;
    rsl_plan *p;
    int rootfd;
    int moves;   /* moves may be planned */
    int appends; /* appends may be planned */
    region reg[MAX_REGIONS];
    int n_reg;
    char from[PATH_MAX * 2]; /* the last MOVE's old path (it->from points here) */
};

static int is_under(const char *path, const char *dir)
{
    size_t l = strlen(dir);
    return strncmp(path, dir, l) == 0 && path[l] == '/';
}

int rsl_detect_moved(const rsl_plan *p, const char *path)
{
    return p->moved_from != NULL &&
           (rsl_pathset_has(p->moved_from, path) || rsl_pathset_has_ancestor(p->moved_from, path));
}

rsl_code rsl_detect_new(rsl_detect **out, const rsl_plan_ctx *c, rsl_plan *p, rsl_err *err)
{
    *out = NULL;
    const rsl_job *job = c->job;
    int moves = job->delete_ && (c->caps & RSL_CAP_MOVE) && !c->only_failed && !c->ignore_manifest;
    int appends = job->n_appends > 0 && (c->caps & RSL_CAP_APPEND) && !c->ignore_manifest;
    int links = job->symlinks == RSL_SYMLINKS_AS_LINKS;
    int times = (c->caps & RSL_CAP_DIR_MTIME) != 0;
    if (!moves && !appends && !links && !times)
        return RSL_OK;
    rsl_detect *d = calloc(1, sizeof(*d));
    if (d == NULL || (p->moved_from = calloc(1, sizeof(*p->moved_from))) == NULL) {
        free(d);
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    }
    rsl_pathset_init(p->moved_from);
    d->c = c;
    d->p = p;
    d->moves = moves;
    d->appends = appends;
    d->rootfd = -1;
    if ((moves || appends) && (d->rootfd = rsl_source_root_open(job->source, err)) < 0) {
        /* the walk reports a missing source itself */
        d->moves = d->appends = 0;
        rsl_err_clear(err);
    }
    *out = d;
    return RSL_OK;
}

void rsl_detect_free(rsl_detect *d)
{
    if (d == NULL)
        return;
    for (int i = 0; i < d->n_reg; i++) {
        free(d->reg[i].to);
        free(d->reg[i].from);
    }
    if (d->rootfd >= 0)
        close(d->rootfd);
    free(d);
}

/* ---- looking at the local tree ---- */

/* 1 when rel does not exist locally (beneath the root, no link followed). */
static int gone_locally(const rsl_detect *d, const char *rel)
{
    struct stat sb;
    return rsl_source_lstat_beneath(d->rootfd, rel, &sb) != 0 &&
           (errno == ENOENT || errno == ENOTDIR);
}

/* 1 when the local file rel (as the scan saw it) has the SHA-256 digest. */
static int same_content(const rsl_detect *d, const char *rel, uint64_t size, int64_t mtime_ns,
                        uint64_t dev, uint64_t ino, const unsigned char *digest)
{
    unsigned char got[RSL_SOURCE_DIGEST_LEN];
    rsl_err e;
    if (digest == NULL ||
        rsl_source_digest(d->rootfd, rel, size, mtime_ns, dev, ino, size, got, &e) != RSL_OK)
        return 0;
    return memcmp(got, digest, RSL_SOURCE_DIGEST_LEN) == 0;
}

static int64_t mtime_ns_of(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
}

/* readlink of rel beneath the root into buf: its length, or -1. */
static ssize_t read_link(int rootfd, const char *rel, char *buf, size_t n)
{
    const char *leaf;
    int dfd = rsl_beneath_parent(rootfd, rel, &leaf);
    if (dfd < 0)
        return -1;
    ssize_t r = readlinkat(dfd, leaf, buf, n - 1);
    close(dfd);
    if (r >= 0)
        buf[r] = '\0';
    return r;
}

/* ---- files moved ---- */

/* A new file: the recorded file it was, if it moved here. */
static int file_move(rsl_detect *d, rsl_item *it, const rsl_manifest_row *mr)
{
    rsl_manifest_row r;
    if (!rsl_state_manifest_find_inode_of(d->c->st, it->dev, it->ino, RSL_TYPE_FILE, &r))
        return 0;
    if (strcmp(r.path, it->path) == 0 || r.size != it->size || r.mtime_ns != it->mtime_ns ||
        r.digest == NULL || strlen(r.path) >= sizeof(d->from))
        return 0;
    unsigned char digest[RSL_DIGEST_LEN];
    memcpy(digest, r.digest, RSL_DIGEST_LEN);
    snprintf(d->from, sizeof(d->from), "%s", r.path); /* r is gone at the next state call */
    if (rsl_detect_moved(d->p, d->from) || !gone_locally(d, d->from) ||
        !same_content(d, it->src_rel ? it->src_rel : it->path, it->size, it->mtime_ns, it->dev,
                      it->ino, digest))
        return 0;
    if (rsl_pathset_add(d->p->moved_from, d->from) != 0)
        return -1;
    it->action = RSL_ACT_MOVE;
    it->from = d->from;
    it->overwrite = mr != NULL && mr->pending;
    return 1;
}

/* ---- directories moved ---- */

typedef struct verify {
    rsl_detect *d;
    const char *from, *to;
    int ok;
    char local[PATH_MAX * 2];
    char link[PATH_MAX];
} verify;

/* One recorded row below the old directory: is it, unchanged, at the same
 * place below the new one? */
static int verify_row(void *ud, const rsl_manifest_row *x)
{
    verify *v = ud;
    struct stat sb;
    const char *rest = x->path + strlen(v->from);
    if ((size_t)snprintf(v->local, sizeof(v->local), "%s%s", v->to, rest) >= sizeof(v->local) ||
        x->pending || rsl_source_lstat_beneath(v->d->rootfd, v->local, &sb) != 0) {
        v->ok = 0;
        return 1;
    }
    if (x->type == RSL_TYPE_DIR)
        v->ok = S_ISDIR(sb.st_mode);
    else if (x->type == RSL_TYPE_LINK)
        v->ok = S_ISLNK(sb.st_mode) && x->target &&
                read_link(v->d->rootfd, v->local, v->link, sizeof(v->link)) >= 0 &&
                strcmp(v->link, x->target) == 0;
    else
        v->ok = S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == x->size &&
                mtime_ns_of(&sb) == x->mtime_ns &&
                (x->ino == 0 || ((uint64_t)sb.st_ino == x->ino && (uint64_t)sb.st_dev == x->dev)) &&
                same_content(v->d, v->local, x->size, x->mtime_ns, (uint64_t)sb.st_dev,
                             (uint64_t)sb.st_ino, x->digest);
    return !v->ok;
}

/* A new directory: the recorded directory it was, if it moved here whole. */
static int dir_move(rsl_detect *d, rsl_item *it)
{
    rsl_manifest_row r;
    if (d->n_reg == MAX_REGIONS || it->followed ||
        !rsl_state_manifest_find_inode_of(d->c->st, it->dev, it->ino, RSL_TYPE_DIR, &r))
        return 0;
    if (strcmp(r.path, it->path) == 0 || is_under(it->path, r.path) ||
        strlen(r.path) >= sizeof(d->from))
        return 0;
    snprintf(d->from, sizeof(d->from), "%s", r.path);
    if (rsl_detect_moved(d->p, d->from) || !gone_locally(d, d->from))
        return 0;
    verify v = {.d = d, .from = d->from, .to = it->path, .ok = 1};
    rsl_err e;
    if (rsl_state_manifest_subtree(d->c->st, d->from, verify_row, &v, &e) != RSL_OK || !v.ok)
        return 0;
    region *g = &d->reg[d->n_reg];
    if ((g->to = strdup(it->path)) == NULL || (g->from = strdup(d->from)) == NULL ||
        rsl_pathset_add(d->p->moved_from, d->from) != 0) {
        free(g->to);
        free(g->from);
        return -1;
    }
    d->n_reg++;
    it->action = RSL_ACT_MOVE;
    it->from = d->from;
    return 1;
}

/* The walk left the directories moved whole that path is not below. */
static void leave_regions(rsl_detect *d, const char *path)
{
    while (d->n_reg > 0 && !is_under(path, d->reg[d->n_reg - 1].to)) {
        d->n_reg--;
        free(d->reg[d->n_reg].to);
        free(d->reg[d->n_reg].from);
    }
}

/* An item below a directory moved whole: carried along when a row was
 * recorded at its old place. */
static int covered(rsl_detect *d, rsl_item *it)
{
    if (d->n_reg == 0)
        return 0;
    const region *g = &d->reg[d->n_reg - 1];
    const char *rest = it->path + strlen(g->to);
    if ((size_t)snprintf(d->from, sizeof(d->from), "%s%s", g->from, rest) >= sizeof(d->from))
        return 0;
    rsl_manifest_row r;
    if (!rsl_state_manifest_get(d->c->st, d->from, &r) || r.pending || r.type != it->type)
        return 0;
    it->action = RSL_ACT_MOVE;
    it->from = d->from;
    it->covered = 1;
    return 1;
}

/* ---- growing files ---- */

static int grows(rsl_detect *d, rsl_item *it, const rsl_manifest_row *mr)
{
    const rsl_job *job = d->c->job;
    const char *name = strrchr(it->path, '/');
    name = name ? name + 1 : it->path;
    /* an empty file has no head to keep: it is sent whole */
    if (mr == NULL || mr->pending || mr->type != RSL_TYPE_FILE || mr->size == 0 ||
        it->size <= mr->size || !rsl_scan_excluded(job->appends, job->n_appends, it->path, name, 0))
        return 0;
    rsl_manifest_row r;
    if (!rsl_state_manifest_get(d->c->st, it->path, &r) || r.digest == NULL || r.size != mr->size)
        return 0;
    it->action = RSL_ACT_APPEND;
    it->old_size = mr->size;
    return 1;
}

/* ---- the hooks ---- */

/* A link the destination cannot create: reported, not spooled. */
static int link_unsupported(rsl_detect *d, const rsl_item *it)
{
    rsl_err e;
    rsl_err_set(&e, RSL_E_REMOTE_UNSUPPORTED, 0,
                "'%s' is a symbolic link (-> %s) and this destination cannot create links "
                "(symlinks = as-links)",
                it->path, it->target ? it->target : "");
    d->p->failing++;
    if (d->c->note)
        d->c->note(d->c->ud, it->path, rsl_action_name(it->action), "failed", &e, it,
                   rsl_failures_find(d->c->failures, d->c->n_failures, it->path));
    return 1;
}

int rsl_detect_item(rsl_detect *d, rsl_item *it, const rsl_manifest_row *mr, rsl_err *err)
{
    if (d == NULL)
        return 0;
    leave_regions(d, it->path);
    if (it->type == RSL_TYPE_LINK && !(d->c->caps & RSL_CAP_SYMLINK))
        return link_unsupported(d, it);
    int r = 0;
    if (d->moves && (it->action == RSL_ACT_CREATE || it->action == RSL_ACT_MKDIR) && covered(d, it))
        r = 1;
    else if (d->moves && it->action == RSL_ACT_CREATE && it->type == RSL_TYPE_FILE)
        r = file_move(d, it, mr);
    else if (d->moves && it->action == RSL_ACT_MKDIR && mr == NULL)
        r = dir_move(d, it);
    else if (d->appends && it->action == RSL_ACT_UPDATE && it->type == RSL_TYPE_FILE)
        r = grows(d, it, mr);
    if (r < 0) {
        rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        return -1;
    }
    if (it->action == RSL_ACT_MOVE && !it->covered)
        d->p->n_moves++;
    else if (it->action == RSL_ACT_MOVE)
        d->p->n_covered++;
    return 0;
}

int rsl_detect_dir_time(const rsl_detect *d, const rsl_item *local, const rsl_manifest_row *mr)
{
    return d != NULL && (d->c->caps & RSL_CAP_DIR_MTIME) && mr != NULL && !mr->pending &&
           mr->type == RSL_TYPE_DIR && mr->mtime_ns != local->mtime_ns;
}

int rsl_detect_link(const rsl_plan_ctx *c, const char *path, rsl_item *it, char *buf, size_t n)
{
    int rootfd = rsl_source_root_open(c->job->source, &(rsl_err){0});
    struct stat sb;
    int ok = rootfd >= 0 && rsl_source_lstat_beneath(rootfd, path, &sb) == 0 &&
             S_ISLNK(sb.st_mode) && read_link(rootfd, path, buf, n) > 0 &&
             rsl_scan_link_inside(path, buf);
    if (rootfd >= 0)
        close(rootfd);
    if (!ok)
        return -1;
    memset(it, 0, sizeof(*it));
    it->path = (char *)path;
    it->type = RSL_TYPE_LINK;
    it->target = buf;
    it->size = strlen(buf);
    it->mtime_ns = mtime_ns_of(&sb);
    it->dev = (uint64_t)sb.st_dev;
    it->ino = (uint64_t)sb.st_ino;
    return 0;
}

rsl_code rsl_detect_finish(rsl_detect *d, rsl_err *err)
{
    if (d == NULL || d->p->n_moves == 0 || d->p->deletes == NULL)
        return RSL_OK;
    rsl_spool_cursor cur;
    rsl_item it;
    rsl_code rc = rsl_spool_cursor_init(&cur, d->p->deletes, 0, err);
    int k = 0;
    while (rc == RSL_OK && (k = rsl_spool_next(&cur, &it, NULL, err)) > 0)
        if (rsl_detect_moved(d->p, it.path))
            d->p->n_deletes--;
    if (rc == RSL_OK && k < 0)
        rc = err->code;
    rsl_spool_cursor_free(&cur);
    return rc;
}
