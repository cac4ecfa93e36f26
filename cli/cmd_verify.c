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

static void report(vui *u, const char *kind, const char *path, const ventry *m, const ventry *r,
                   const char *note)
{
    if (u->json) {
        fputs("{\"kind\":", stdout);
        rsl_out_json_str(stdout, kind);
        fputs(",\"path\":", stdout);
        rsl_out_json_str(stdout, path);
        if (m)
            printf(",\"manifest_type\":\"%s\",\"manifest_size\":%llu,\"manifest_mtime\":%lld",
                   m->is_dir ? "dir" : "file", (unsigned long long)m->size, (long long)m->mtime);
        if (r)
            printf(",\"remote_type\":\"%s\",\"remote_size\":%llu,\"remote_mtime\":%lld",
                   r->is_dir ? "dir" : "file", (unsigned long long)r->size, (long long)r->mtime);
        fputs("}\n", stdout);
        return;
    }
    printf("%-8s ", kind);
    rsl_out_path(stdout, path);
    if (note)
        printf("  (%s)", note);
    fputc('\n', stdout);
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
    "  --json     one JSON object per difference, then a summary object\n"
    "exit: 0 identical, 23 differences found, 5 session error, 75 job locked\n";

int rsl_cmd_verify(int argc, char **argv)
{
    const char *conf = NULL;
    int checksum = 0, repair = 0;
    vui u = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(verify_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            u.json = 1;
        } else if (strcmp(argv[i], "--checksum") == 0) {
            checksum = 1;
        } else if (strcmp(argv[i], "--repair") == 0) {
            repair = 1;
        } else if (argv[i][0] != '-' && conf == NULL) {
            conf = argv[i];
        } else {
            fputs(verify_usage, stderr);
            return RSL_EXIT_USAGE;
        }
    }
    if (conf == NULL) {
        fputs(verify_usage, stderr);
        return RSL_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    rsl_job job;
    rsl_err err;
    memset(&err, 0, sizeof(err));
    if (rsl_config_load(&job, conf, &err) != RSL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        rsl_job_free(&job);
        return RSL_EXIT_USAGE;
    }
    int code = RSL_EXIT_SESSION;
    int lockfd = -1;
    rsl_state *st = NULL;
    rsl_conn *conn = NULL;
    rsl_remote rm;
    memset(&rm, 0, sizeof(rm));
    vlist man = {0}, remote = {0}, temps = {0};

    if (repair && rsl_lock_acquire(job.state_path, &lockfd, &err) != RSL_OK) {
        rsl_out_error(stderr, &err);
        code = err.code == RSL_E_JOB_LOCKED ? RSL_EXIT_LOCKED : RSL_EXIT_SESSION;
        goto done;
    }
    if (rsl_state_open(&st, job.state_path, repair ? RSL_STATE_RDWR : RSL_STATE_READONLY, &err) !=
        RSL_OK)
        goto fail;
    /* the manifest */
    if (rsl_state_manifest_iter_begin(st, &err) != RSL_OK)
        goto fail;
    rsl_manifest_row row;
    int r;
    while ((r = rsl_state_manifest_iter_next(st, &row, &err)) == 1)
        if (vlist_add(&man, row.path, row.type == RSL_TYPE_DIR, row.size,
                      row.mtime_ns >= 0 ? row.mtime_ns / 1000000000 : -1) != 0) {
            r = -1;
            rsl_err_set(&err, RSL_E_NO_MEMORY, 0, "out of memory");
            break;
        } else {
            man.v[man.n - 1].pending = row.pending;
        }
    rsl_state_manifest_iter_end(st);
    if (r < 0)
        goto fail;
    /* the remote */
    /* verify only reads: the transport writes nothing, not even a probe */
    if (rsl_remote_init(&rm, &job, RSL_REMOTE_READONLY, &err) != RSL_OK ||
        rsl_remote_connect(&rm, &conn, &err) != RSL_OK)
        goto fail;
    const rsl_transport_ops *ops = rm.ops;
    if (walk_remote(ops, conn, job.temp_suffix, &remote, &temps, &err) != RSL_OK)
        goto fail;
    unsigned caps = ops->caps_of(conn);
    int cmp_mtime = (caps & RSL_CAP_SET_MTIME) != 0;
    if (man.n > 1)
        qsort(man.v, man.n, sizeof(*man.v), by_path);
    if (remote.n > 1)
        qsort(remote.v, remote.n, sizeof(*remote.v), by_path);
    if (temps.n > 1)
        qsort(temps.v, temps.n, sizeof(*temps.v), by_path);

    if (!u.json) {
        printf("verify %s: ", job.name);
        rsl_out_path(stdout, job.destination);
        printf(" (%zu item(s) in the manifest, %zu on the remote)\n", man.n, remote.n);
    }
    if (checksum && !(caps & RSL_CAP_CHECKSUM) && !u.json)
        printf("checksum: not supported by this transport (%s); sizes and mtimes compared\n",
               ops->name);
    else if (checksum && !u.json)
        printf("checksum: not implemented yet; sizes and mtimes compared\n");
    if (repair && rsl_state_begin(st, &err) != RSL_OK)
        goto fail;
    size_t i = 0, j = 0, repaired = 0;
    while (i < man.n || j < remote.n) {
        int c = i >= man.n ? 1 : j >= remote.n ? -1 : strcmp(man.v[i].path, remote.v[j].path);
        const ventry *m = c <= 0 ? &man.v[i] : NULL;
        const ventry *rv = c >= 0 ? &remote.v[j] : NULL;
        const char *kind = NULL;
        char note[200] = "";
        if (c <= 0 && m->pending) {
            /* the next run redoes it whatever the remote holds: not drift */
            report(&u, "pending", m->path, m, rv,
                   "a change was started but not recorded; the next run redoes it");
            u.pending++;
        } else if (c < 0) {
            kind = "missing";
            snprintf(note, sizeof(note), "in the manifest, not on the remote");
        } else if (c > 0) {
            kind = "extra";
            snprintf(note, sizeof(note), "on the remote, not in the manifest");
        } else if (m->is_dir != rv->is_dir) {
            kind = "type";
            snprintf(note, sizeof(note), "manifest: %s, remote: %s", m->is_dir ? "dir" : "file",
                     rv->is_dir ? "dir" : "file");
        } else if (!m->is_dir && m->size != rv->size) {
            kind = "size";
            snprintf(note, sizeof(note), "manifest %llu bytes, remote %llu bytes",
                     (unsigned long long)m->size, (unsigned long long)rv->size);
        } else if (!m->is_dir && cmp_mtime && rv->mtime >= 0 && m->mtime >= 0 &&
                   (rv->mtime - m->mtime > 1 || m->mtime - rv->mtime > 1)) {
            kind = "mtime";
            char a[40], b[40];
            fmt_mtime(a, sizeof(a), m->mtime);
            fmt_mtime(b, sizeof(b), rv->mtime);
            snprintf(note, sizeof(note), "manifest %s, remote %s", a, b);
        }
        if (kind) {
            report(&u, kind, c <= 0 ? m->path : rv->path, m, rv, note);
            if (c > 0)
                u.extra++;
            else if (c < 0)
                u.missing++;
            else
                u.different++;
            if (repair && c <= 0) {
                if (rsl_state_manifest_del(st, m->path, &err) != RSL_OK)
                    goto fail;
                repaired++;
            }
        }
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    for (size_t k = 0; k < temps.n; k++) {
        char note[160];
        snprintf(note, sizeof(note),
                 "leftover temp file, %llu bytes: the next run resumes or "
                 "removes it",
                 (unsigned long long)temps.v[k].size);
        report(&u, "temp", temps.v[k].path, NULL, &temps.v[k], note);
        u.temps++;
    }
    if (repair && rsl_state_commit(st, &err) != RSL_OK)
        goto fail;
    int identical = u.missing + u.extra + u.different == 0;
    if (u.json) {
        printf("{\"summary\":true,\"identical\":%s,\"manifest_items\":%zu,\"remote_items\":%zu,"
               "\"missing\":%lld,\"extra\":%lld,\"different\":%lld,\"temps\":%lld,"
               "\"pending\":%lld,\"repaired\":%zu,\"checksum\":%s}\n",
               identical ? "true" : "false", man.n, remote.n, (long long)u.missing,
               (long long)u.extra, (long long)u.different, (long long)u.temps, (long long)u.pending,
               repaired, checksum && (caps & RSL_CAP_CHECKSUM) ? "true" : "false");
    } else {
        printf("%s: %lld missing, %lld different, %lld extra, %lld leftover temp(s)\n",
               identical ? "identical" : "DIFFERENT", (long long)u.missing, (long long)u.different,
               (long long)u.extra, (long long)u.temps);
        if (repair && repaired)
            printf("repair: %zu item(s) forgotten by the manifest; the next `rsyncd-lite run %s` "
                   "sends them again\n",
                   repaired, conf);
        else if (!identical && !repair && (u.missing || u.different))
            printf("to send them again: rsyncd-lite verify %s --repair, then rsyncd-lite run %s\n",
                   conf, conf);
    }
    code = identical ? RSL_EXIT_OK : RSL_EXIT_PARTIAL;
    goto done;
fail:
    rsl_out_error(stderr, &err);
    code = RSL_EXIT_SESSION;
done:
    rsl_remote_disconnect(&rm, conn);
    rsl_remote_free(&rm);
    vlist_free(&man);
    vlist_free(&remote);
    vlist_free(&temps);
    rsl_state_close(st);
    if (lockfd >= 0)
        rsl_lock_release(lockfd);
    rsl_job_free(&job);
    return code;
}
