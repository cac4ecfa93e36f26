/*
 * cmd_verify.c - `verify JOB.conf [--checksum] [--repair] [--json]`: lists
 * the remote (recursively, through the transport's list()) and compares it
 * with the manifest (what the state db believes is there): items missing on
 * the remote, extra items, size, type and mtime differences, and leftover
 * temp files of interrupted uploads. A remote restored from an older backup
 * or edited behind our back shows up here. --repair forgets the manifest
 * rows of missing and different items so the next run sends them again.
 *
 * Owns: the comparison and its report. Must not touch: remote content (it
 * only lists), the manifest except in --repair (under the job's lock).
 * Exit: 0 identical, 23 differences, 5 session error, 75 locked (--repair).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/config.h"
#include "cli/output.h"
#include "engine/lock.h"
#include "engine/remote.h"
#include "state/state.h"
#include "transports/transport.h"

typedef struct ventry {
    char *path;
    int is_dir;
    uint64_t size;
    int64_t mtime; /* seconds; -1 unknown */
    int pending;   /* manifest: a change was started, its result not recorded */
} ventry;

typedef struct vlist {
    ventry *v;
    size_t n, cap;
} vlist;

static int vlist_add(vlist *l, const char *path, int is_dir, uint64_t size, int64_t mtime)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        ventry *nv = realloc(l->v, nc * sizeof(*nv));
        if (nv == NULL)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    if ((l->v[l->n].path = strdup(path)) == NULL)
        return -1;
    l->v[l->n].is_dir = is_dir;
    l->v[l->n].size = size;
    l->v[l->n].mtime = mtime;
    l->v[l->n].pending = 0;
    l->n++;
    return 0;
}

static void vlist_free(vlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const ventry *)a)->path, ((const ventry *)b)->path);
}

/* ---- the remote walk ---- */
typedef struct walk {
    vlist *remote, *temps;
    const char *dir; /* the directory being listed ("" = root) */
    const char *suffix;
    int oom;
} walk;

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a > b && strcmp(s + a - b, suf) == 0;
}

static int on_entry(void *ud, const char *name, const rsl_rstat *st)
{
    walk *w = ud;
    char path[8192];
    if (snprintf(path, sizeof(path), "%s%s%s", w->dir, w->dir[0] ? "/" : "", name) >=
        (int)sizeof(path))
        return 0;
    vlist *to = !st->is_dir && ends_with(name, w->suffix) ? w->temps : w->remote;
    if (vlist_add(to, path, st->is_dir, st->size, st->mtime) != 0) {
        w->oom = 1;
        return 1;
    }
    return 0;
}

/* Lists the whole remote tree, breadth first. */
static rsl_code walk_remote(const rsl_transport_ops *ops, rsl_conn *c, const char *suffix,
                            vlist *remote, vlist *temps, rsl_err *err)
{
    walk w = {.remote = remote, .temps = temps, .dir = "", .suffix = suffix};
    rsl_code rc = ops->list(c, "", on_entry, &w, err);
    for (size_t i = 0; rc == RSL_OK && i < remote->n; i++) {
        if (!remote->v[i].is_dir)
            continue;
        char *dir = strdup(remote->v[i].path); /* remote->v may move */
        if (dir == NULL)
            return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        w.dir = dir;
        rc = ops->list(c, dir, on_entry, &w, err);
        if (rc == RSL_E_REMOTE_NOT_FOUND) /* vanished while we walked */
            rc = RSL_OK;
        free(dir);
    }
    if (rc == RSL_OK && w.oom)
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    return rc;
}

/* ---- output ---- */
typedef struct vui {
    int json;
    int64_t missing, extra, different, temps, pending;
} vui;

static void fmt_mtime(char *buf, size_t n, int64_t secs)
{
    if (secs < 0) {
        snprintf(buf, n, "-");
        return;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* One side of an entry (prefix "manifest" or "remote"): type, size, mtime;
 * all null when the side has no such item. */
static void side_json(rsl_json *j, const char *prefix, const ventry *e)
{
    char k[40];
    snprintf(k, sizeof(k), "%s_type", prefix);
    rsl_json_str(j, k, e ? (e->is_dir ? "dir" : "file") : NULL);
    snprintf(k, sizeof(k), "%s_size", prefix);
    if (e)
        rsl_json_int(j, k, (long long)e->size);
    else
        rsl_json_null(j, k);
    snprintf(k, sizeof(k), "%s_mtime", prefix);
    if (e && e->mtime >= 0) {
        char t[40];
        rsl_json_format_time(t, sizeof(t), e->mtime * 1000);
        rsl_json_str(j, k, t);
    } else {
        rsl_json_null(j, k);
    }
}

static void report(vui *u, const char *kind, const char *path, const ventry *m, const ventry *r,
                   const char *note)
{
    if (u->json) {
        rsl_json j;
        rsl_json_begin(&j, stdout, "verify_entry");
        rsl_json_str(&j, "kind", kind);
        rsl_json_name(&j, "path", path);
        side_json(&j, "manifest", m);
        side_json(&j, "remote", r);
        rsl_json_str(&j, "detail", note && *note ? note : NULL);
        rsl_json_end(&j);
        return;
    }
    if (note)
        rsl_out_line(stdout, "%-8s %s  (%s)", kind, path, note);
    else
        rsl_out_line(stdout, "%-8s %s", kind, path);
}

static const char verify_usage[] =
    "usage: rsyncd-lite verify JOB.conf [--checksum] [--repair] [--json]\n"
    "  Lists the remote and compares it with the manifest (what the last runs sent):\n"
    "  missing    in the manifest, not on the remote (deleted or restored behind our back)\n"
    "  extra      on the remote, not in the manifest\n"
    "  size       a file's size differs; mtime: its modification time differs\n"
    "  type       a file on one side is a directory on the other\n"
    "  temp       a leftover temp file (<name><temp_suffix>) of an interrupted upload\n"
    "  pending    a change a killed run started; the next run redoes it (not drift)\n"
    "  --checksum compare contents too, where the transport can (none can yet)\n"
    "  --repair   forget the manifest rows of missing and different items, so the next\n"
    "             `rsyncd-lite run` sends them again (takes the job's lock)\n"
    "  --json     one JSON object per entry, then a summary (docs/json.md: \"verify_entry\")\n"
    "exit: 0 identical, 23 differences found, 5 session error, 75 job locked\n";

/* One verify's state. */
typedef struct verify_ctx {
    vui u;
    const char *conf;
    int checksum, repair;
    rsl_job job;
    rsl_err err;
    rsl_state *st;
    rsl_remote rm;
    rsl_conn *conn;
    unsigned caps;
    vlist man, remote, temps;
    size_t repaired;
} verify_ctx;

/* Returns 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_args(verify_ctx *v, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(verify_usage, stdout);
            return 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            v->u.json = 1;
        } else if (strcmp(argv[i], "--checksum") == 0) {
            v->checksum = 1;
        } else if (strcmp(argv[i], "--repair") == 0) {
            v->repair = 1;
        } else if (argv[i][0] != '-' && v->conf == NULL) {
            v->conf = argv[i];
        } else {
            return -1;
        }
    }
    return v->conf == NULL ? -1 : 0;
}

/* The manifest (what the state db believes is on the remote) into v->man. */
static rsl_code load_manifest(verify_ctx *v)
{
    rsl_code rc = rsl_state_manifest_iter_begin(v->st, &v->err);
    if (rc != RSL_OK)
        return rc;
    rsl_manifest_row row;
    int r;
    while ((r = rsl_state_manifest_iter_next(v->st, &row, &v->err)) == 1) {
        if (vlist_add(&v->man, row.path, row.type == RSL_TYPE_DIR, row.size,
                      row.mtime_ns >= 0 ? row.mtime_ns / 1000000000 : -1) != 0) {
            r = -1;
            rsl_err_set(&v->err, RSL_E_NO_MEMORY, 0, "out of memory");
            break;
        }
        v->man.v[v->man.n - 1].pending = row.pending;
    }
    rsl_state_manifest_iter_end(v->st);
    return r < 0 ? (v->err.code ? v->err.code : RSL_E_INTERNAL) : RSL_OK;
}

/* Connects read-only (the transport writes nothing, not even a probe) and
 * lists the whole remote into v->remote and v->temps. */
static rsl_code load_remote(verify_ctx *v)
{
    rsl_code rc;
    if ((rc = rsl_remote_init(&v->rm, &v->job, RSL_REMOTE_READONLY, &v->err)) != RSL_OK ||
        (rc = rsl_remote_connect(&v->rm, &v->conn, &v->err)) != RSL_OK)
        return rc;
    if ((rc = walk_remote(v->rm.ops, v->conn, v->job.temp_suffix, &v->remote, &v->temps,
                          &v->err)) != RSL_OK)
        return rc;
    v->caps = v->rm.ops->caps_of(v->conn);
    if (v->man.n > 1)
        qsort(v->man.v, v->man.n, sizeof(*v->man.v), by_path);
    if (v->remote.n > 1)
        qsort(v->remote.v, v->remote.n, sizeof(*v->remote.v), by_path);
    if (v->temps.n > 1)
        qsort(v->temps.v, v->temps.n, sizeof(*v->temps.v), by_path);
    return RSL_OK;
}

static void print_header(const verify_ctx *v)
{
    if (v->u.json)
        return;
    rsl_out_line(stdout, "verify %s: %s (%zu item(s) in the manifest, %zu on the remote)",
                 v->job.name, v->job.destination, v->man.n, v->remote.n);
    if (v->checksum && !(v->caps & RSL_CAP_CHECKSUM))
        printf("checksum: not supported by this transport (%s); sizes and mtimes compared\n",
               v->rm.ops->name);
    else if (v->checksum)
        printf("checksum: not implemented yet; sizes and mtimes compared\n");
}

/* How manifest entry m and remote entry r (either may be NULL, not both)
 * differ: "missing", "extra", "type", "size", "mtime", or NULL when they
 * agree. note gets the detail. */
static const char *difference(const ventry *m, const ventry *r, int cmp_mtime, char *note, size_t n)
{
    if (r == NULL) {
        snprintf(note, n, "in the manifest, not on the remote");
        return "missing";
    }
    if (m == NULL) {
        snprintf(note, n, "on the remote, not in the manifest");
        return "extra";
    }
    if (m->is_dir != r->is_dir) {
        snprintf(note, n, "manifest: %s, remote: %s", m->is_dir ? "dir" : "file",
                 r->is_dir ? "dir" : "file");
        return "type";
    }
    if (!m->is_dir && m->size != r->size) {
        snprintf(note, n, "manifest %llu bytes, remote %llu bytes", (unsigned long long)m->size,
                 (unsigned long long)r->size);
        return "size";
    }
    if (!m->is_dir && cmp_mtime && r->mtime >= 0 && m->mtime >= 0 &&
        (r->mtime - m->mtime > 1 || m->mtime - r->mtime > 1)) {
        char a[40], b[40];
        fmt_mtime(a, sizeof(a), m->mtime);
        fmt_mtime(b, sizeof(b), r->mtime);
        snprintf(note, n, "manifest %s, remote %s", a, b);
        return "mtime";
    }
    return NULL;
}

/* One step of the merge: manifest entry m and/or remote entry r with the
 * same path. Returns RSL_OK or the state db's error (--repair). */
static rsl_code compare_one(verify_ctx *v, const ventry *m, const ventry *r)
{
    if (m != NULL && m->pending) {
        /* the next run redoes it whatever the remote holds: not drift */
        report(&v->u, "pending", m->path, m, r,
               "a change was started but not recorded; the next run redoes it");
        v->u.pending++;
        return RSL_OK;
    }
    char note[200] = "";
    const char *kind = difference(m, r, (v->caps & RSL_CAP_SET_MTIME) != 0, note, sizeof(note));
    if (kind == NULL)
        return RSL_OK;
    report(&v->u, kind, m ? m->path : r->path, m, r, note);
    if (m == NULL)
        v->u.extra++;
    else if (r == NULL)
        v->u.missing++;
    else
        v->u.different++;
    if (v->repair && m != NULL) {
        rsl_code rc = rsl_state_manifest_del(v->st, m->path, &v->err);
        if (rc != RSL_OK)
            return rc;
        v->repaired++;
    }
    return RSL_OK;
}

/* Walks the sorted manifest and remote side by side, then lists the
 * leftover temps; --repair forgets the manifest rows of what differs, in one
 * transaction. */
static rsl_code compare(verify_ctx *v)
{
    rsl_code rc;
    if (v->repair && (rc = rsl_state_begin(v->st, &v->err)) != RSL_OK)
        return rc;
    const vlist *man = &v->man, *remote = &v->remote;
    size_t i = 0, j = 0;
    while (i < man->n || j < remote->n) {
        int c = i >= man->n ? 1 : j >= remote->n ? -1 : strcmp(man->v[i].path, remote->v[j].path);
        if ((rc = compare_one(v, c <= 0 ? &man->v[i] : NULL, c >= 0 ? &remote->v[j] : NULL)) !=
            RSL_OK)
            return rc;
        i += c <= 0;
        j += c >= 0;
    }
    for (size_t k = 0; k < v->temps.n; k++) {
        char note[160];
        snprintf(note, sizeof(note),
                 "leftover temp file, %llu bytes: the next run resumes or removes it",
                 (unsigned long long)v->temps.v[k].size);
        report(&v->u, "temp", v->temps.v[k].path, NULL, &v->temps.v[k], note);
        v->u.temps++;
    }
    if (v->repair && (rc = rsl_state_commit(v->st, &v->err)) != RSL_OK)
        return rc;
    return RSL_OK;
}

/* The summary; returns the exit code (0 identical, 23 differences). */
static int print_report(const verify_ctx *v)
{
    const vui *u = &v->u;
    int identical = u->missing + u->extra + u->different == 0;
    int code = identical ? RSL_EXIT_OK : RSL_EXIT_PARTIAL;
    if (u->json) {
        rsl_json j;
        rsl_json_begin_summary(&j, stdout, "verify");
        rsl_json_bool(&j, "identical", identical);
        rsl_json_int(&j, "manifest_items", (long long)v->man.n);
        rsl_json_int(&j, "remote_items", (long long)v->remote.n);
        rsl_json_int(&j, "missing", u->missing);
        rsl_json_int(&j, "extra", u->extra);
        rsl_json_int(&j, "different", u->different);
        rsl_json_int(&j, "temps", u->temps);
        rsl_json_int(&j, "pending", u->pending);
        rsl_json_int(&j, "repaired", (long long)v->repaired);
        rsl_json_bool(&j, "checksum", v->checksum && (v->caps & RSL_CAP_CHECKSUM));
        rsl_json_int(&j, "exit_code", code);
        rsl_json_end(&j);
        return code;
    }
    printf("%s: %lld missing, %lld different, %lld extra, %lld leftover temp(s)\n",
           identical ? "identical" : "DIFFERENT", (long long)u->missing, (long long)u->different,
           (long long)u->extra, (long long)u->temps);
    if (v->repair && v->repaired)
        rsl_out_line(stdout,
                     "repair: %zu item(s) forgotten by the manifest; the next `rsyncd-lite run %s` "
                     "sends them again",
                     v->repaired, v->conf);
    else if (!identical && !v->repair && (u->missing || u->different))
        rsl_out_line(stdout,
                     "to send them again: rsyncd-lite verify %s --repair, then rsyncd-lite run %s",
                     v->conf, v->conf);
    return code;
}

/* Lock (--repair), state db, manifest, remote, comparison, report. Returns
 * the exit code. */
static int run_verify(verify_ctx *v, int *lockfd)
{
    if (v->repair && rsl_lock_acquire(v->job.state_path, lockfd, &v->err) != RSL_OK) {
        rsl_out_error(stderr, &v->err);
        return v->err.code == RSL_E_JOB_LOCKED ? RSL_EXIT_LOCKED : RSL_EXIT_SESSION;
    }
    if (rsl_state_open(&v->st, v->job.state_path, v->repair ? RSL_STATE_RDWR : RSL_STATE_READONLY,
                       &v->err) != RSL_OK ||
        load_manifest(v) != RSL_OK || load_remote(v) != RSL_OK)
        goto fail;
    print_header(v);
    if (compare(v) != RSL_OK)
        goto fail;
    return print_report(v);
fail:
    rsl_out_error(stderr, &v->err);
    return RSL_EXIT_SESSION;
}

int rsl_cmd_verify(int argc, char **argv)
{
    static verify_ctx v; /* not on the stack */
    memset(&v, 0, sizeof(v));
    int r = parse_args(&v, argc, argv);
    if (r != 0) {
        if (r < 0)
            fputs(verify_usage, stderr);
        return r < 0 ? RSL_EXIT_USAGE : 0;
    }
    signal(SIGPIPE, SIG_IGN);
    if (rsl_config_load(&v.job, v.conf, &v.err) != RSL_OK) {
        rsl_out_line(stderr, "%s", v.err.msg);
        rsl_job_free(&v.job);
        return RSL_EXIT_USAGE;
    }
    int lockfd = -1;
    int code = run_verify(&v, &lockfd);
    rsl_remote_disconnect(&v.rm, v.conn);
    rsl_remote_free(&v.rm);
    vlist_free(&v.man);
    vlist_free(&v.remote);
    vlist_free(&v.temps);
    rsl_state_close(v.st);
    if (lockfd >= 0)
        rsl_lock_release(lockfd);
    rsl_job_free(&v.job);
    return code;
}
