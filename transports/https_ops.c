/*
 * https_ops.c - the https operations as non-blocking steps. See
 * https_ops.h; the PUT's steps are in https_put.c.
 *
 * A step reads the answer of the operation's request (h->io), then either
 * starts the next request (rsl_https_op_issue) or completes the operation
 * (rsl_https_op_complete), and returns: nothing after either may touch h.
 */
#define _GNU_SOURCE
#include "https_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "https_put.h"
#include "pct.h"

enum {
    SUB_PF = 1, /* the PROPFIND Depth 0 of rsl_https_op_stat */
    MK_MKCOL,
    MK_STATED,
    ST_STATED,
    RM_LISTED,
    RM_DELETED,
    MV_MOVED
};

/* A Depth 0 answer describes one item: a few KiB at most. */
#define DEPTH0_MAX_BYTES (1u << 20)
#define DEPTH0_MAX_ENTRIES 16

static rsl_code oom(rsl_err *err)
{
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

void rsl_https_op_reset(rsl_https_op *h)
{
    curl_slist_free_all(h->hdrs);
    h->hdrs = NULL;
    free(h->url);
    free(h->url2);
    free(h->line);
    h->url = h->url2 = h->line = NULL;
    rsl_webdav_parser_free(h->dav);
    h->dav = NULL;
}

static void advance(rsl_https_op *h);

static void io_done(void *ud, rsl_https_io *io)
{
    (void)io;
    advance(ud);
}

static void release_io(rsl_https_op *h)
{
    if (h->io != NULL) {
        rsl_https_io_put(h->c, h->io);
        h->io = NULL;
    }
}

void rsl_https_op_issue(rsl_https_op *h, int step, const rsl_https_req *r)
{
    rsl_conn *c = h->c;
    release_io(h);
    h->step = step;
    rsl_https_io *io = rsl_https_io_get(c);
    if (io == NULL) {
        rsl_https_op_complete(h, oom(&h->op->err));
        return;
    }
    h->io = io;
    rsl_code rc = rsl_https_start(c, io, r, io_done, h, &h->op->err);
    if (rc != RSL_OK) {
        release_io(h);
        rsl_https_op_complete(h, rc);
    }
}

void rsl_https_op_complete(rsl_https_op *h, rsl_code rc)
{
    rsl_op *op = h->op;
    if (rc == RSL_OK)
        rsl_err_clear(&op->err);
    else if (op->err.code == RSL_OK)
        rsl_err_set(&op->err, rc, 0, "%s '%s' on %s failed", rsl_op_kind_name(op->kind), op->path,
                    h->c->host);
    else
        op->err.code = rc;
    release_io(h);
    rsl_https_op_reset(h);
    h->finished = 1;
    if (h->done)
        h->done(h);
}

/* ------------------------------------------------------------ stat */

static int stat_entry_cb(void *ud, const rsl_dav_entry *e)
{
    rsl_https_op *h = ud;
    if (h->st_got)
        return 0; /* Depth 0: the first response is the item; the answer is
                     still read to its end (and so to its bounds) */
    h->st.exists = 1;
    h->st.is_dir = e->is_collection;
    h->st.size = e->has_length ? e->length : 0;
    h->st.mtime = e->mtime;
    h->st_got = 1;
    return 0;
}

static void stat_issue(rsl_https_op *h)
{
    rsl_conn *c = h->c;
    rsl_dav_limits lim = {.max_entries = DEPTH0_MAX_ENTRIES, .max_bytes = DEPTH0_MAX_BYTES};
    rsl_https_op_reset(h);
    memset(&h->st, 0, sizeof(h->st));
    h->st.mtime = -1;
    h->st_got = 0;
    h->url = rsl_https_url(c, h->st_rel, h->st_coll);
    h->hdrs = rsl_https_hdr(NULL, "Depth: 0");
    h->dav = rsl_webdav_parser_new(&lim, stat_entry_cb, h);
    if (h->url == NULL || h->hdrs == NULL || h->dav == NULL) {
        rsl_https_op_complete(h, oom(&h->op->err));
        return;
    }
    rsl_https_req r = {.method = "PROPFIND", .url = h->url, .hdrs = h->hdrs, .dav = h->dav};
    rsl_https_op_issue(h, SUB_PF, &r);
}

void rsl_https_op_stat(rsl_https_op *h, const char *rel, int ret)
{
    h->st_rel = rel;
    h->st_coll = 0;
    h->ret = ret;
    stat_issue(h);
}

/* A 207 parsed, a 404 absent, a 3xx asked again as a collection ("dir/"). */
static void stat_answer(rsl_https_op *h)
{
    rsl_https_io *io = h->io;
    const char *rel = h->st_rel, *name = rel[0] ? rel : "/";
    rsl_err *err = &h->op->err;
    rsl_code rc = rsl_https_io_result(io, rel, err);
    long status = io->status;
    if (rc == RSL_OK && status == 207) {
        int pr = rsl_webdav_parser_finish(h->dav);
        if (pr < 0)
            rc = rsl_err_set(err, pr == -2 ? RSL_E_NO_MEMORY : RSL_E_PROTOCOL, 207,
                             "PROPFIND '%s' on %s: the multistatus answer cannot be read: %s", name,
                             h->c->host, rsl_webdav_parser_error(h->dav));
        else if (!h->st_got)
            rc = rsl_err_set(err, RSL_E_PROTOCOL, 207,
                             "PROPFIND '%s' on %s: the multistatus answer names no item", name,
                             h->c->host);
    } else if (rc == RSL_OK && status >= 300 && status < 400 && rel[0] && !h->st_coll) {
        h->st_coll = 1;
        stat_issue(h);
        return;
    } else if (rc == RSL_OK) {
        memset(&h->st, 0, sizeof(h->st));
        h->st.mtime = -1;
        if (status != 404)
            rc = rsl_https_map_http(io, err, status, "PROPFIND", rel, RSL_HTTPS_CTX_ITEM);
    }
    h->st_rc = rc;
    release_io(h);
    rsl_https_op_reset(h);
    h->step = h->ret;
    advance(h);
}

static void stat_done(rsl_https_op *h)
{
    if (h->st_rc == RSL_OK)
        h->op->st = h->st;
    rsl_https_op_complete(h, h->st_rc);
}

/* ------------------------------------------------------------ mkdir */

static void mkdir_begin(rsl_https_op *h)
{
    const char *rel = h->op->path;
    if (rel[0] == '\0' || rsl_dircache_has(&h->c->dirs, rel)) {
        rsl_https_op_complete(h, RSL_OK);
        return;
    }
    if ((h->url = rsl_https_url(h->c, rel, 1)) == NULL) {
        rsl_https_op_complete(h, oom(&h->op->err));
        return;
    }
    rsl_https_req r = {.method = "MKCOL", .url = h->url};
    rsl_https_op_issue(h, MK_MKCOL, &r);
}

static void mkdir_answer(rsl_https_op *h)
{
    rsl_conn *c = h->c;
    const char *rel = h->op->path;
    rsl_err *err = &h->op->err;
    rsl_code rc = rsl_https_io_result(h->io, rel, err);
    long status = h->io->status;
    if (rc != RSL_OK) {
        rsl_https_op_complete(h, rc);
        return;
    }
    if (status == 201 || status == 200 || status == 204) {
        rsl_dircache_add(&c->dirs, rel);
        rsl_https_op_complete(h, RSL_OK);
        return;
    }
    rc = rsl_https_map_http(h->io, err, status, "MKCOL", rel, RSL_HTTPS_CTX_ITEM);
    if (status == 405 || status == 301 || status == 400) {
        /* 405: something exists at that name (RFC 4918 9.3.1); Apache says
         * 400 when a file stands where "name/" was asked for. Look at it. */
        h->saved_err = *err;
        rsl_https_op_stat(h, rel, MK_STATED);
        return;
    }
    if (rc == RSL_E_REMOTE_NOT_FOUND) /* 409: the parent is gone */
        rsl_dircache_missing(&c->dirs, rel);
    rsl_https_op_complete(h, rc);
}

static void mkdir_stated(rsl_https_op *h)
{
    const char *rel = h->op->path;
    if (h->st_rc != RSL_OK) {
        rsl_https_op_complete(h, h->st_rc);
    } else if (h->st.exists && h->st.is_dir) {
        rsl_dircache_add(&h->c->dirs, rel);
        rsl_https_op_complete(h, RSL_OK);
    } else if (h->st.exists) {
        rsl_https_op_complete(h, rsl_err_set(&h->op->err, RSL_E_REMOTE_TYPE_CONFLICT,
                                             h->saved_err.native,
                                             "mkdir '%s' on %s: a file of that name exists on "
                                             "the remote",
                                             rel, h->c->host));
    } else {
        h->op->err = h->saved_err;
        rsl_https_op_complete(h, h->saved_err.code);
    }
}

/* ------------------------------------------------------------ remove */

static int child_cb(void *ud, const rsl_dav_entry *e)
{
    rsl_https_op *h = ud;
    char *name = NULL;
    int k = rsl_https_href_child(h->self, e->href, &name);
    free(name);
    if (k == 0)
        return 0;
    h->children++; /* an href that cannot be read counts: never delete blind */
    return 1;
}

static void delete_issue(rsl_https_op *h)
{
    const char *rel = h->op->path;
    int is_dir = h->op->is_dir;
    rsl_https_op_reset(h);
    h->url = rsl_https_url(h->c, rel, is_dir);
    /* Depth: 0 on a file: a server finding a collection there refuses (400)
     * instead of deleting a tree */
    h->hdrs = rsl_https_hdr(NULL, is_dir ? "Depth: infinity" : "Depth: 0");
    if (h->url == NULL || h->hdrs == NULL) {
        rsl_https_op_complete(h, oom(&h->op->err));
        return;
    }
    rsl_https_req r = {.method = "DELETE", .url = h->url, .hdrs = h->hdrs};
    rsl_https_op_issue(h, RM_DELETED, &r);
}

static void remove_begin(rsl_https_op *h)
{
    const char *rel = h->op->path;
    if (rel[0] == '\0') {
        rsl_https_op_complete(h, rsl_err_set(&h->op->err, RSL_E_REMOTE_DELETE_FAILED, 0,
                                             "delete: refusing to delete the remote root on %s",
                                             h->c->host));
        return;
    }
    if (!h->op->is_dir) {
        delete_issue(h);
        return;
    }
    /* WebDAV DELETE of a collection is recursive: only delete it empty */
    h->url = rsl_https_url(h->c, rel, 1);
    h->hdrs = rsl_https_hdr(NULL, "Depth: 1");
    h->self = rsl_https_self_path(h->c, rel);
    h->dav = rsl_webdav_parser_new(NULL, child_cb, h);
    if (h->url == NULL || h->hdrs == NULL || h->self == NULL || h->dav == NULL) {
        rsl_https_op_complete(h, oom(&h->op->err));
        return;
    }
    rsl_https_req r = {.method = "PROPFIND", .url = h->url, .hdrs = h->hdrs, .dav = h->dav};
    rsl_https_op_issue(h, RM_LISTED, &r);
}

static void remove_listed(rsl_https_op *h)
{
    const char *rel = h->op->path;
    rsl_err *err = &h->op->err;
    rsl_code rc = rsl_https_io_result(h->io, rel, err);
    long status = h->io->status;
    if (rc == RSL_OK && status == 207) {
        int pr = rsl_webdav_parser_finish(h->dav);
        if (pr < 0)
            rc = rsl_err_set(err, pr == -2 ? RSL_E_NO_MEMORY : RSL_E_PROTOCOL, 207,
                             "PROPFIND '%s' on %s: the multistatus answer cannot be read: %s", rel,
                             h->c->host, rsl_webdav_parser_error(h->dav));
        else if (h->children > 0)
            rc = rsl_err_set(err, RSL_E_REMOTE_DELETE_FAILED, 0,
                             "delete '%s' on %s: the directory is not empty on the remote", rel,
                             h->c->host);
    } else if (rc == RSL_OK) {
        rc = rsl_https_map_http(h->io, err, status, "PROPFIND", rel, RSL_HTTPS_CTX_ITEM);
        if (rc == RSL_E_REMOTE_NOT_FOUND) { /* already absent */
            rsl_dircache_forget(&h->c->dirs, rel);
            rsl_https_op_complete(h, RSL_OK);
            return;
        }
    }
    if (rc != RSL_OK) {
        rsl_https_op_complete(h, rc);
        return;
    }
    delete_issue(h);
}

static void remove_deleted(rsl_https_op *h)
{
    const char *rel = h->op->path;
    rsl_err *err = &h->op->err;
    rsl_code rc = rsl_https_io_result(h->io, rel, err);
    long status = h->io->status;
    if (rc == RSL_OK) {
        if (status == 200 || status == 204 || status == 404) {
            if (h->op->is_dir)
                rsl_dircache_forget(&h->c->dirs, rel); /* and everything under it */
        } else {
            rc = rsl_https_map_http(h->io, err, status, "DELETE", rel, RSL_HTTPS_CTX_ITEM);
            if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_NAME_REFUSED ||
                rc == RSL_E_REMOTE_NOT_FOUND)
                err->code = rc = RSL_E_REMOTE_DELETE_FAILED;
        }
    }
    rsl_https_op_complete(h, rc);
}

/* ------------------------------------------------------------ move */

/* MOVE from -> path in one request; never replacing unless told. */
static void move_begin(rsl_https_op *h)
{
    rsl_op *op = h->op;
    rsl_https_op_reset(h);
    h->url = rsl_https_url(h->c, op->from, op->is_dir);
    h->url2 = rsl_https_url(h->c, op->path, op->is_dir);
    if (h->url == NULL || h->url2 == NULL || asprintf(&h->line, "Destination: %s", h->url2) < 0 ||
        (h->hdrs = rsl_https_hdr(NULL, h->line)) == NULL ||
        (h->hdrs = rsl_https_hdr(h->hdrs, op->overwrite ? "Overwrite: T" : "Overwrite: F")) ==
            NULL) {
        rsl_https_op_complete(h, oom(&op->err));
        return;
    }
    rsl_https_req r = {.method = "MOVE", .url = h->url, .hdrs = h->hdrs};
    rsl_https_op_issue(h, MV_MOVED, &r);
}

static void move_answer(rsl_https_op *h)
{
    rsl_op *op = h->op;
    rsl_conn *c = h->c;
    rsl_https_io *io = h->io;
    rsl_code rc = rsl_https_io_result(io, op->path, &op->err);
    long st = io->status;
    if (rc == RSL_OK && (st == 201 || st == 204)) {
        if (op->is_dir) { /* what the cache knew of both places */
            rsl_dircache_forget(&c->dirs, op->from);
            rsl_dircache_forget(&c->dirs, op->path);
        }
    } else if (rc != RSL_OK) {
        /* the request's own failure */
    } else if (st == 412) {
        rc = rsl_err_set(&op->err, RSL_E_REMOTE_EXISTS, st,
                         "MOVE '%s' -> '%s' on %s: the target exists", op->from, op->path, c->host);
    } else if (st == 404) {
        rc = rsl_err_set(&op->err, RSL_E_REMOTE_NOT_FOUND, st, "MOVE '%s' on %s: not there",
                         op->from, c->host);
    } else if (st == 405 || st == 501 || st == 502) { /* 502: another server's Destination */
        rc = rsl_err_set(&op->err, RSL_E_REMOTE_UNSUPPORTED, st,
                         "MOVE '%s' -> '%s' on %s: HTTP %ld, the server does not move here",
                         op->from, op->path, c->host, st);
    } else {
        rc = rsl_https_map_http(io, &op->err, st, "MOVE", op->path, RSL_HTTPS_CTX_ITEM);
        if (rc == RSL_E_METHOD_NOT_ALLOWED)
            op->err.code = rc = RSL_E_REMOTE_UNSUPPORTED;
    }
    rsl_https_op_complete(h, rc);
}

/* ------------------------------------------------------------ driving */

static void advance(rsl_https_op *h)
{
    if (h->step >= RSL_HTTPS_PUT_STEPS) {
        rsl_https_put_step(h);
        return;
    }
    switch (h->step) {
    case SUB_PF:
        stat_answer(h);
        return;
    case MK_MKCOL:
        mkdir_answer(h);
        return;
    case MK_STATED:
        mkdir_stated(h);
        return;
    case ST_STATED:
        stat_done(h);
        return;
    case RM_LISTED:
        remove_listed(h);
        return;
    case RM_DELETED:
        remove_deleted(h);
        return;
    case MV_MOVED:
        move_answer(h);
        return;
    }
    rsl_https_op_complete(
        h, rsl_err_set(&h->op->err, RSL_E_INTERNAL, h->step, "https: unknown step %d", h->step));
}

rsl_https_op *rsl_https_op_new(rsl_conn *c, rsl_op *op, unsigned phases)
{
    rsl_https_op *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->c = c;
    h->op = op;
    h->phases = phases;
    return h;
}

void rsl_https_op_start(rsl_https_op *h)
{
    rsl_op *op = h->op;
    rsl_err_clear(&op->err);
    switch (op->kind) {
    case RSL_OP_MKDIR:
        mkdir_begin(h);
        return;
    case RSL_OP_STAT:
        memset(&op->st, 0, sizeof(op->st));
        op->st.mtime = -1;
        rsl_https_op_stat(h, op->path, ST_STATED);
        return;
    case RSL_OP_REMOVE:
        remove_begin(h);
        return;
    case RSL_OP_PUT:
        rsl_https_put_begin(h);
        return;
    case RSL_OP_MOVE:
        move_begin(h);
        return;
    case RSL_OP_APPEND:
        rsl_https_append_begin(h);
        return;
    case RSL_OP_SYMLINK: /* WebDAV has no links, and no settable mtimes */
    case RSL_OP_SETTIME:
        rsl_https_op_complete(h, rsl_err_set(&op->err, RSL_E_REMOTE_UNSUPPORTED, 0,
                                             "%s '%s': WebDAV cannot", rsl_op_kind_name(op->kind),
                                             op->path));
        return;
    case RSL_OP_PUT_RANGE: /* no RSL_CAP_WRITE_AT: the engine never sends these */
    case RSL_OP_FINISH:
        break;
    }
    rsl_https_op_complete(h, rsl_err_set(&op->err, RSL_E_INTERNAL, op->kind,
                                         "unknown operation %d on '%s'", (int)op->kind, op->path));
}

void rsl_https_op_cancel(rsl_https_op *h)
{
    release_io(h);
    rsl_https_op_reset(h);
}

void rsl_https_op_free(rsl_https_op *h)
{
    if (h == NULL)
        return;
    rsl_https_op_cancel(h);
    free(h->self);
    free(h->aux);
    free(h);
}

static void run_done(rsl_https_op *h)
{
    *(int *)h->ud = 1;
}

rsl_code rsl_https_op_run(rsl_conn *c, rsl_op *op, unsigned phases)
{
    rsl_https_op *h = rsl_https_op_new(c, op, phases);
    if (h == NULL)
        return oom(&op->err);
    int fin = 0;
    h->done = run_done;
    h->ud = &fin;
    rsl_https_op_start(h);
    while (!fin) {
        rsl_err e;
        rsl_err_clear(&e);
        if (rsl_https_step(c, 1000, &e) != RSL_OK) {
            rsl_https_op_cancel(h);
            op->err = e;
            break;
        }
    }
    rsl_https_op_free(h);
    return op->err.code;
}

/* ------------------------------------------------------------ hrefs */

/* The href's path, decoded, without trailing '/' (malloc'd), or NULL. */
static char *href_path(const char *h)
{
    const char *sep = strstr(h, "://");
    if (sep && strchr(h, '/') > sep) { /* absolute URI: drop scheme://authority */
        h = strchr(sep + 3, '/');
        if (h == NULL)
            h = "/";
    }
    char *p = rsl_pct_decode(h, strlen(h));
    if (p == NULL)
        return NULL;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    return p;
}

int rsl_https_href_child(const char *self, const char *href, char **name)
{
    *name = NULL;
    char *p = href_path(href);
    if (p == NULL)
        return -1;
    size_t sn = strlen(self);
    const char *nm = strrchr(p, '/');
    nm = nm ? nm + 1 : p;
    int is_self = strncmp(p, self, sn - 1) == 0 && p[sn - 1] == '\0';
    int child = strncmp(p, self, sn) == 0 && strchr(p + sn, '/') == NULL && nm[0] != '\0';
    if (is_self || !child) {
        free(p);
        return 0;
    }
    memmove(p, nm, strlen(nm) + 1);
    *name = p;
    return 1;
}

char *rsl_https_self_path(const rsl_conn *c, const char *rel)
{
    const char *root = strcmp(c->root_raw, "/") == 0 ? "" : c->root_raw;
    char *self = NULL;
    if (asprintf(&self, "%s/%s%s", root, rel, rel[0] ? "/" : "") < 0)
        return NULL;
    return self;
}
