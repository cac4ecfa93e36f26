/*
 * cmd_verify.c - `verify JOB.conf [--checksum] [--read-back] [--repair
 * [--delete-extra] [--max-delete N]] [--json]`: lists the remote
 * (recursively, through the transport's list()) and compares it with the
 * manifest (what the state db believes is there): items missing on the
 * remote, extra items, size, type and mtime differences, and leftover temp
 * files of interrupted uploads. A remote restored from an older backup or
 * edited behind our back shows up here. --checksum compares the content of
 * every file that agrees in size and mtime (cli/verify_content.h: the
 * server's digest, or the bytes read back with --read-back) and never calls
 * content "identical" that it did not compare. --repair forgets the manifest
 * rows of missing and different items so the next run sends them again;
 * --delete-extra also removes what the manifest does not know
 * (cli/verify_extra.h).
 *
 * Owns: the comparison and its report. Must not touch: remote content (it
 * lists, hashes and reads; only --delete-extra removes), the manifest except
 * in --repair (under the job's lock).
 * Exit: 0 identical, 23 differences, 5 session error or a refused
 * --delete-extra, 75 locked (--repair).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/beneath.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/output.h"
#include "cli/verify_content.h"
#include "cli/verify_extra.h"
#include "cli/verify_list.h"
#include "engine/lock.h"
#include "engine/remote.h"
#include "state/state.h"
#include "transports/transport.h"

/* Text output lists at most this many "not compared" files (JSON lists all). */
#define UNCHECKED_TEXT_MAX 20
/* Reconnects (after a dropped connection) in one verify. */
#define VERIFY_RECONNECTS 3

static int by_path(const void *a, const void *b)
{
    return strcmp(((const rsl_ventry *)a)->path, ((const rsl_ventry *)b)->path);
}

/* ---- the remote walk ---- */
typedef struct walk {
    rsl_vlist *remote, *temps;
    const char *dir; /* the directory being listed ("" = root) */
    const char *suffix;
    int oom;
    long unsafe; /* names that cannot be a path beneath the root */
    char unsafe_name[128];
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
    if (name[0] == '\0' || strchr(name, '/') != NULL || !rsl_beneath_valid(path)) {
        /* "..", ".", "a/b" from a server: never a path we compare or remove */
        if (w->unsafe++ == 0)
            snprintf(w->unsafe_name, sizeof(w->unsafe_name), "%.100s", path);
        return 0;
    }
    rsl_vlist *to = !st->is_dir && ends_with(name, w->suffix) ? w->temps : w->remote;
    if (rsl_vlist_add(to, path, st->is_dir, st->size, st->mtime) == NULL) {
        w->oom = 1;
        return 1;
    }
    return 0;
}

/* Lists the whole remote tree, breadth first. */
static rsl_code walk_remote(const rsl_transport_ops *ops, rsl_conn *c, const char *suffix,
                            rsl_vlist *remote, rsl_vlist *temps, rsl_err *err)
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
    if (w.unsafe > 0)
        rsl_out_line(stderr,
                     "rsyncd-lite verify: warning: ignored %ld remote name(s) that cannot be a "
                     "path beneath the remote root (e.g. '%s')",
                     w.unsafe, w.unsafe_name);
    return rc;
}

/* ---- output ---- */

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

static const char verify_usage[] =
    "usage: rsyncd-lite verify JOB.conf [--checksum] [--read-back] [--repair [--delete-extra]\n"
    "                          [--max-delete N]] [--json]\n"
    "  Lists the remote and compares it with the manifest (what the last runs sent):\n"
    "  missing    in the manifest, not on the remote (deleted or restored behind our back)\n"
    "  extra      on the remote, not in the manifest\n"
    "  size       a file's size differs; mtime: its modification time differs\n"
    "  type       a file on one side is a directory on the other\n"
    "  content    same size and mtime, other bytes (--checksum)\n"
    "  unchecked  --checksum could not compare this file's content (the reason is given)\n"
    "  temp       a leftover temp file (<name><temp_suffix>) of an interrupted upload\n"
    "  pending    a change a killed run started; the next run redoes it (not drift)\n"
    "  --checksum     compare the content of files that agree in size and mtime with the\n"
    "                 server's checksum where it offers one (SFTP check-file, FTP HASH,\n"
    "                 WebDAV checksum headers); other files are reported as not compared\n"
    "  --read-back    (implies --checksum) read every file back and hash it here\n"
    "  --repair       forget the manifest rows of missing and different items, so the next\n"
    "                 `rsyncd-lite run` sends them again (takes the job's lock); extra\n"
    "                 items are left alone\n"
    "  --delete-extra (with --repair) also remove the extra items and leftover temps from\n"
    "                 the remote: files first, then directories, deepest first; refused\n"
    "                 when more than max_delete\n"
    "  --max-delete N the limit for --delete-extra (default: the job's max_delete)\n"
    "  --json         one JSON object per entry, then a summary (docs/json.md: "
    "\"verify_entry\")\n"
    "exit: 0 identical, 23 differences found, 5 session error or refused deletion, 75 job "
    "locked\n";

/* One verify's state. */
typedef struct verify_ctx {
    rsl_vui u;
    const char *conf;
    int checksum, read_back, repair, delete_extra;
    long max_delete; /* -1: the job's */
    rsl_job job;
    rsl_err err;
    rsl_state *st;
    rsl_remote rm;
    rsl_conn *conn;
    unsigned caps;
    rsl_vlist man, remote, temps;
    size_t repaired;
    rsl_vc vc;
    int reconnects;
    int refused;   /* --delete-extra refused: nothing changed */
    char fix[400]; /* the refusal's fix */
} verify_ctx;

static int parse_max_delete(verify_ctx *v, const char *s)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < 0)
        return -1;
    v->max_delete = n;
    return 0;
}

/* Returns 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_args(verify_ctx *v, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(verify_usage, stdout);
            return 1;
        } else if (strcmp(a, "--json") == 0) {
            v->u.json = 1;
        } else if (strcmp(a, "--checksum") == 0) {
            v->checksum = 1;
        } else if (strcmp(a, "--read-back") == 0) {
            v->checksum = v->read_back = 1;
        } else if (strcmp(a, "--repair") == 0) {
            v->repair = 1;
        } else if (strcmp(a, "--delete-extra") == 0) {
            v->delete_extra = 1;
        } else if (strcmp(a, "--max-delete") == 0) {
            if (i + 1 >= argc || parse_max_delete(v, argv[++i]) != 0)
                return -1;
        } else if (a[0] != '-' && v->conf == NULL) {
            v->conf = a;
        } else {
            return -1;
        }
    }
    if (v->delete_extra && !v->repair) {
        fputs("rsyncd-lite verify: --delete-extra needs --repair (it changes the remote)\n",
              stderr);
        return -1;
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
        rsl_ventry *e = rsl_vlist_add(&v->man, row.path, row.type == RSL_TYPE_DIR, row.size,
                                      row.mtime_ns >= 0 ? row.mtime_ns / 1000000000 : -1);
        if (e == NULL) {
            r = -1;
            rsl_err_set(&v->err, RSL_E_NO_MEMORY, 0, "out of memory");
            break;
        }
        e->pending = row.pending;
        e->is_link = row.type == RSL_TYPE_LINK;
        e->mtime_ns = row.mtime_ns;
        if (row.digest != NULL && row.digest_len == RSL_DIGEST_LEN) {
            memcpy(e->digest, row.digest, RSL_DIGEST_LEN);
            e->has_digest = 1;
        }
    }
    rsl_state_manifest_iter_end(v->st);
    return r < 0 ? (v->err.code ? v->err.code : RSL_E_INTERNAL) : RSL_OK;
}

/* Connects (read-only unless --delete-extra: then nothing but the removals
 * is written) and lists the whole remote into v->remote and v->temps. */
static rsl_code load_remote(verify_ctx *v)
{
    rsl_code rc;
    unsigned flags = v->delete_extra ? 0 : RSL_REMOTE_READONLY;
    if ((rc = rsl_remote_init(&v->rm, &v->job, flags, &v->err)) != RSL_OK ||
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
    const char *t = v->rm.ops->name;
    if (v->read_back && v->rm.ops->read == NULL)
        rsl_out_line(stdout,
                     "content: this transport (%s) cannot read files back: contents are not "
                     "compared",
                     t);
    else if (v->read_back)
        printf("content: every file that agrees in size and mtime is read back and hashed "
               "(SHA-256)\n");
    else if (v->checksum && v->rm.ops->hash == NULL)
        rsl_out_line(stdout,
                     "content: this transport (%s) offers no server checksum: contents are not "
                     "compared; --read-back reads them back",
                     t);
    else if (v->checksum)
        printf("content: compared with the server's checksum where it offers one; files "
               "without one are listed as not compared (--read-back reads them back)\n");
}

/* How manifest entry m and remote entry r (either may be NULL, not both)
 * differ: "missing", "extra", "type", "size", "mtime", or NULL when they
 * agree. note gets the detail. */
static const char *difference(const rsl_ventry *m, const rsl_ventry *r, int cmp_mtime, char *note,
                              size_t n)
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
    if (!m->is_dir && !m->is_link && cmp_mtime && r->mtime >= 0 && m->mtime >= 0 &&
        (r->mtime - m->mtime > 1 || m->mtime - r->mtime > 1)) {
        char a[40], b[40];
        fmt_mtime(a, sizeof(a), m->mtime);
        fmt_mtime(b, sizeof(b), r->mtime);
        snprintf(note, n, "manifest %s, remote %s", a, b);
        return "mtime";
    }
    return NULL;
}

/* A dropped connection during --checksum: reconnect (a few times per
 * verify). Returns RSL_OK when connected again. */
static rsl_code reconnect(verify_ctx *v, rsl_code why)
{
    if (rsl_code_handling(why) != RSL_HANDLE_RECONNECT || v->reconnects >= VERIFY_RECONNECTS)
        return why;
    v->reconnects++;
    rsl_remote_disconnect(&v->rm, v->conn);
    v->conn = NULL;
    rsl_err e = {0};
    rsl_code rc = rsl_remote_connect(&v->rm, &v->conn, &e);
    if (rc != RSL_OK)
        v->err = e;
    v->vc.conn = v->conn;
    return rc;
}

/* --checksum: the content of manifest file m, which agrees with the
 * listing in size and mtime. Returns RSL_OK or a session code. */
static rsl_code content_one(verify_ctx *v, rsl_ventry *m, const rsl_ventry *r)
{
    rsl_vc_file f = {.path = m->path,
                     .size = m->size,
                     .mtime_ns = m->mtime_ns,
                     .digest = m->has_digest ? m->digest : NULL};
    rsl_vc_result res;
    rsl_code rc;
    while ((rc = rsl_vc_compare(&v->vc, &f, &res, &v->err)) != RSL_OK)
        if (reconnect(v, rc) != RSL_OK)
            return v->err.code ? v->err.code : rc;
    rsl_vui *u = &v->u;
    u->by_read_back += res.verdict != RSL_VC_UNCHECKED && res.method == RSL_VC_BY_READ_BACK;
    u->by_server += res.verdict != RSL_VC_UNCHECKED && res.method == RSL_VC_BY_SERVER;
    if (res.verdict == RSL_VC_SAME) {
        u->content_same++;
    } else if (res.verdict == RSL_VC_DIFFERENT) {
        u->content_different++;
        u->different++;
        m->mark = 1;
        rsl_verify_report(u, "content", m->path, m, r, &res, res.detail);
    } else {
        u->unchecked++;
        u->why[res.why]++;
        if (u->json || u->unchecked <= UNCHECKED_TEXT_MAX)
            rsl_verify_report(u, "unchecked", m->path, m, r, &res, res.detail);
    }
    return RSL_OK;
}

/* One step of the merge: manifest entry m and/or remote entry r with the
 * same path. Marks what --repair forgets (m) and the extras (r). Returns
 * RSL_OK or a session code (--checksum). */
static rsl_code compare_one(verify_ctx *v, rsl_ventry *m, rsl_ventry *r)
{
    if (m != NULL && m->pending) {
        /* the next run redoes it whatever the remote holds: not drift */
        rsl_verify_report(&v->u, "pending", m->path, m, r, NULL,
                          "a change was started but not recorded; the next run redoes it");
        v->u.pending++;
        return RSL_OK;
    }
    char note[200] = "";
    const char *kind = difference(m, r, (v->caps & RSL_CAP_SET_MTIME) != 0, note, sizeof(note));
    if (kind == NULL)
        return v->checksum && !m->is_dir && !m->is_link ? content_one(v, m, r) : RSL_OK;
    rsl_verify_report(&v->u, kind, m ? m->path : r->path, m, r, NULL, note);
    if (m == NULL) {
        v->u.extra++;
        r->mark = 1;
    } else {
        m->mark = 1;
        if (r == NULL)
            v->u.missing++;
        else
            v->u.different++;
    }
    return RSL_OK;
}

/* Walks the sorted manifest and remote side by side, then lists the
 * leftover temps. */
static rsl_code compare(verify_ctx *v)
{
    rsl_code rc;
    rsl_vlist *man = &v->man, *remote = &v->remote;
    size_t i = 0, j = 0;
    while (i < man->n || j < remote->n) {
        int c = i >= man->n ? 1 : j >= remote->n ? -1 : strcmp(man->v[i].path, remote->v[j].path);
        if ((rc = compare_one(v, c <= 0 ? &man->v[i] : NULL, c >= 0 ? &remote->v[j] : NULL)) !=
            RSL_OK)
            return rc;
        i += c <= 0;
        j += c >= 0;
    }
    if (!v->u.json && v->u.unchecked > UNCHECKED_TEXT_MAX)
        printf("...      and %lld more file(s) not compared (counted below; --json lists every "
               "one)\n",
               (long long)(v->u.unchecked - UNCHECKED_TEXT_MAX));
    for (size_t k = 0; k < v->temps.n; k++) {
        char note[160];
        snprintf(note, sizeof(note),
                 "leftover temp file, %llu bytes: the next run resumes or removes it",
                 (unsigned long long)v->temps.v[k].size);
        rsl_verify_report(&v->u, "temp", v->temps.v[k].path, NULL, &v->temps.v[k], NULL, note);
        v->u.temps++;
    }
    return RSL_OK;
}

/* --repair: forgets the marked manifest rows in one transaction. */
static rsl_code repair(verify_ctx *v)
{
    rsl_code rc = rsl_state_begin(v->st, &v->err);
    for (size_t i = 0; rc == RSL_OK && i < v->man.n; i++) {
        if (!v->man.v[i].mark)
            continue;
        if ((rc = rsl_state_manifest_del(v->st, v->man.v[i].path, &v->err)) == RSL_OK)
            v->repaired++;
    }
    if (rc == RSL_OK)
        rc = rsl_state_commit(v->st, &v->err);
    return rc;
}

/* The content line of --checksum: what was compared and why the rest was not. */
static void print_content(const verify_ctx *v)
{
    const rsl_vui *u = &v->u;
    long long compared = u->content_same + u->content_different;
    rsl_out_line(stdout,
                 "content: %lld file(s) compared (%lld by server checksum, %lld read back), "
                 "%lld different, %lld not compared",
                 compared, u->by_server, u->by_read_back, u->content_different, u->unchecked);
    for (int w = 1; w < RSL_VC_NWHY; w++)
        if (u->why[w] > 0)
            rsl_out_line(stdout, "  not compared: %lld file(s): %s", u->why[w],
                         rsl_vc_why_text((rsl_vc_why)w));
}

/* The summary as text. */
static void print_text(const verify_ctx *v, int identical)
{
    const rsl_vui *u = &v->u;
    char counts[200];
    snprintf(
        counts, sizeof(counts), "%lld missing, %lld different, %lld extra, %lld leftover temp(s)",
        (long long)u->missing, (long long)u->different, (long long)u->extra, (long long)u->temps);
    if (!identical)
        printf("DIFFERENT: %s\n", counts);
    else if (!v->checksum)
        printf("identical in size and mtime: %s\ncontent: not compared (verify --checksum "
               "compares it)\n",
               counts);
    else if (u->unchecked == 0)
        printf("identical: %s; content of %lld file(s) compared\n", counts,
               (long long)u->content_same);
    else
        printf("sizes and mtimes match: %s; content not compared for %lld of %lld file(s)\n",
               counts, (long long)u->unchecked, (long long)(u->unchecked + u->content_same));
    if (v->checksum)
        print_content(v);
    if (v->repair && v->repaired)
        rsl_out_line(stdout,
                     "repair: %zu item(s) forgotten by the manifest; the next `rsyncd-lite run %s` "
                     "sends them again",
                     v->repaired, v->conf);
    else if (!identical && !v->repair && (u->missing || u->different))
        rsl_out_line(stdout,
                     "to send them again: rsyncd-lite verify %s --repair, then rsyncd-lite run %s",
                     v->conf, v->conf);
    rsl_verify_extra_advice(u, v->repair, v->delete_extra, v->conf);
}

/* The summary; returns the exit code: 0 identical, 23 differences, or
 * `failed` when not 0 (a refused or failed --repair). */
static int print_report(const verify_ctx *v, int failed)
{
    const rsl_vui *u = &v->u;
    int identical = u->missing + u->extra + u->different == 0;
    int code = failed ? failed : identical ? RSL_EXIT_OK : RSL_EXIT_PARTIAL;
    if (!u->json) {
        print_text(v, identical);
        return code;
    }
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
    rsl_json_bool(&j, "checksum", v->checksum && u->unchecked == 0);
    rsl_json_bool(&j, "read_back", v->read_back);
    if (v->checksum) {
        rsl_json_int(&j, "content_compared", u->content_same + u->content_different);
        rsl_json_int(&j, "content_different", u->content_different);
        rsl_json_int(&j, "content_unchecked", u->unchecked);
    } else {
        rsl_json_null(&j, "content_compared");
        rsl_json_null(&j, "content_different");
        rsl_json_null(&j, "content_unchecked");
    }
    rsl_json_int(&j, "extra_removed", u->removed);
    rsl_json_int(&j, "exit_code", code);
    rsl_json_end(&j);
    return code;
}

/* The content comparer's view of the connection and the source. */
static void content_init(verify_ctx *v)
{
    v->vc.ops = v->rm.ops;
    v->vc.conn = v->conn;
    v->vc.read_back = v->read_back;
    v->vc.srcfd = open(v->job.source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* --repair and --delete-extra once the comparison is done: the guard
 * first (a refused deletion changes nothing), then the manifest, then the
 * remote. Returns RSL_OK, or a code with v->err set. */
static rsl_code apply(verify_ctx *v)
{
    rsl_code rc;
    rsl_verify_extra ex = {.ops = v->rm.ops,
                           .conn = v->conn,
                           .u = &v->u,
                           .man = &v->man,
                           .remote = &v->remote,
                           .temps = &v->temps,
                           .limit = v->max_delete >= 0 ? v->max_delete : v->job.max_delete,
                           .limit_is_flag = v->max_delete >= 0,
                           .conf = v->conf};
    if (v->delete_extra && (rc = rsl_verify_extra_guard(&ex, &v->err)) != RSL_OK) {
        v->refused = 1;
        snprintf(v->fix, sizeof(v->fix), "%s", ex.fix);
        return rc;
    }
    if ((rc = repair(v)) != RSL_OK)
        return rc;
    return v->delete_extra ? rsl_verify_extra_remove(&ex, &v->err) : RSL_OK;
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
    content_init(v);
    if (compare(v) != RSL_OK)
        goto fail;
    if (v->repair && apply(v) != RSL_OK) {
        /* the report of what was found, then why nothing (refused) or not
         * everything (the connection or the state db failed) was applied */
        print_report(v, RSL_EXIT_SESSION);
        if (v->refused) {
            rsl_out_line(stderr, "rsyncd-lite: error %s (%d): %s", rsl_code_name(v->err.code),
                         (int)v->err.code, v->err.msg);
            rsl_out_line(stderr, "  fix: %s", v->fix);
        } else {
            rsl_out_error(stderr, &v->err);
        }
        return RSL_EXIT_SESSION;
    }
    return print_report(v, 0);
fail:
    rsl_out_error(stderr, &v->err);
    return RSL_EXIT_SESSION;
}

int rsl_cmd_verify(int argc, char **argv)
{
    static verify_ctx v; /* not on the stack */
    memset(&v, 0, sizeof(v));
    v.max_delete = -1;
    v.vc.srcfd = -1;
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
    if (v.vc.srcfd >= 0)
        close(v.vc.srcfd);
    rsl_vlist_free(&v.man);
    rsl_vlist_free(&v.remote);
    rsl_vlist_free(&v.temps);
    rsl_state_close(v.st);
    if (lockfd >= 0)
        rsl_lock_release(lockfd);
    rsl_job_free(&v.job);
    return code;
}
