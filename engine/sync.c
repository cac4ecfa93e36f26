/*
 * sync.c - one run of a job: the order of its phases, its outcome and exit
 * code. See sync.h.
 *
 * A run, and where each phase lives:
 *   open      destination (connect.c), lock (lock.c), state db, run row
 *   plan      destination check, failures/uploads/facts loaded, scan + merge
 *             join (plan.c; the remote check's sample drawn on the way),
 *             deletion guard; a dry run prints the plan, checks the remote
 *             read-only and stops
 *   check     the first connection (also on a run with nothing to send):
 *             the remote root and a sample of the manifest (remote_check.c)
 *   apply     that connection (its capabilities), then the dispatcher
 *             (dispatch.c) feeds N workers (workers.c) a stream of ops
 *             through the queue (queue.c): directories and replacements
 *             (apply.c), files (upload.c, source.c, throttle.c), deletes and
 *             stale temps (apply.c); write-ahead pending rows and results
 *             (recorder.c)
 *   end       outcome, exit code, run row (recorder.c)
 * Threads: the main thread owns the state db. It hands its connection to
 * worker 0; the workers only see ops.
 */
#define _GNU_SOURCE
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connect.h"
#include "detect.h"
#include "dispatch.h"
#include "lock.h"
#include "preconnect.h"
#include "ranges.h"
#include "recorder.h"
#include "run_ctx.h"
#include "source.h"
#include "workers.h"

static rsl_run *run_new(const rsl_job *job, const rsl_run_opts *o)
{
    rsl_run *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->job = job;
    r->o = o;
    r->retry = o->retry ? *o->retry : rsl_retry_default();
    r->lockfd = -1;
    r->srcfd = -1;
    r->link_rtt_us = -1;
    r->now_ms = rsl_run_now_ms();
    r->last_commit_ms = r->now_ms;
    r->stop.cancel = o->cancel;
    if (job->max_run_time > 0)
        r->stop.deadline = rsl_stop_mono() + (double)job->max_run_time;
    rsl_queue_init(&r->q, (size_t)(job->transfers > 0 ? job->transfers : 1) * RSL_PIPE_WINDOW,
                   RSL_PIPE_WINDOW, &r->stop);
    rsl_throttle_init(&r->bw, job->bwlimit, RSL_SOURCE_READ_MAX);
    rsl_facts_init(&r->facts);
    rsl_rcheck_init(&r->rcheck, 0);
    snprintf(r->rec.mode, sizeof(r->rec.mode), "%s",
             o->mode ? o->mode : (o->only_failed ? "only-failed" : "normal"));
    r->rec.started_ms = r->now_ms;
    pthread_mutex_init(&r->early_mu, NULL);
    return r;
}

static void run_free(rsl_run *r)
{
    rsl_preconn_end(r->ahead); /* a run that ended before it used it */
    rsl_recorder_pending_free(r);
    rsl_plan_free(&r->plan);
    rsl_failures_free(r->fails, r->n_fails);
    rsl_uploads_free(r->ups, r->n_ups);
    rsl_state_close(r->st);
    rsl_lock_release(r->lockfd);
    rsl_remote_free(&r->rm);
    rsl_facts_free(&r->facts);
    rsl_rcheck_free(&r->rcheck);
    if (r->srcfd >= 0)
        close(r->srcfd);
    rsl_queue_destroy(&r->q);
    rsl_throttle_destroy(&r->bw);
    pthread_mutex_destroy(&r->early_mu);
    free(r);
}

/* Destination, lock, state db, and (not for a dry run) the run row. */
static rsl_code run_open(rsl_run *r, rsl_err *err)
{
    const rsl_job *job = r->job;
    rsl_code rc;
    if ((rc = rsl_connect_setup(r, err)) != RSL_OK)
        return rc;
    r->rm.opts.readonly = r->o->dry_run; /* a dry run's remote check writes nothing */
    r->limits = (rsl_limits){.forbidden_chars = job->forbidden_chars,
                             .max_name_length = job->max_name_length,
                             .max_path_length = job->max_path_length,
                             .temp_suffix = job->temp_suffix,
                             .remote_root = r->rm.ep.path,
                             .remote_root_len = strlen(r->rm.ep.path),
                             .max_file_size = job->max_file_size,
                             .allow_empty_files = job->allow_empty_files};
    if ((rc = rsl_lock_acquire(job->state_path, &r->lockfd, err)) != RSL_OK ||
        (rc = rsl_state_open(&r->st, job->state_path,
                             r->o->dry_run ? RSL_STATE_READONLY : RSL_STATE_RDWR, err)) != RSL_OK)
        return rc;
    if (r->o->dry_run)
        return RSL_OK;
    if ((rc = rsl_state_runs_close_stale(r->st, r->now_ms, err)) != RSL_OK ||
        (rc = rsl_state_run_begin(r->st, r->rec.mode, r->now_ms, &r->run_id, err)) != RSL_OK)
        return rc;
    r->rec.id = r->run_id;
    return RSL_OK;
}

/* A destination as an operator writes it, scheme://[user@]host[:port]/path
 * ("file:///x" for a local one), from the canonical form the state db keeps
 * for comparison ("scheme://user@host:port/path"). */
static void shown_destination(const char *canon, char *out, size_t n)
{
    const char *sep = strstr(canon, "://");
    const char *at = sep ? strchr(sep + 3, '@') : NULL;
    const char *path = at ? strchr(at + 1, '/') : NULL;
    if (path == NULL) {
        snprintf(out, n, "%s", canon);
        return;
    }
    const char *colon = path;
    while (colon > at + 1 && colon[-1] != ':')
        colon--;
    const char *host_end = colon > at + 1 ? colon - 1 : path;
    int port_set = colon > at + 1 && !(path - colon == 1 && *colon == '0');
    int user_len = (int)(at - (sep + 3)), host_len = (int)(host_end - (at + 1));
    int v6 = memchr(at + 1, ':', (size_t)host_len) != NULL;
    snprintf(out, n, "%.*s://%.*s%s%s%.*s%s%s%.*s%s", (int)(sep - canon), canon, user_len, sep + 3,
             user_len ? "@" : "", v6 ? "[" : "", host_len, at + 1, v6 ? "]" : "",
             port_set ? ":" : "", port_set ? (int)(path - colon) : 0, colon, path);
}

/* The manifest describes one remote. When the job now points at another
 * one, what it says is worthless there: forget it (after a dry run: only
 * plan as if it were empty) and say so loudly. The destination is compared in
 * canonical form, so "file:///x/" and "file:///x" are the same. */
static rsl_code check_destination(rsl_run *r, int *changed, rsl_err *err)
{
    const rsl_endpoint *ep = &r->rm.ep;
    char now[4200], before[4200];
    snprintf(now, sizeof(now), "%s://%s@%s:%d%s", ep->scheme, ep->user ? ep->user : "",
             ep->host ? ep->host : "", ep->port, ep->path);
    *changed = 0;
    int known = rsl_state_kv_get(r->st, "job:destination", before, sizeof(before));
    if (known && strcmp(before, now) != 0) {
        char was[4200], is[4200];
        shown_destination(before, was, sizeof(was));
        shown_destination(now, is, sizeof(is));
        *changed = 1;
        rsl_run_log(r, RSL_LOG_WARN,
                    "the destination changed (was %s, now %s): what was sent to the old one is "
                    "forgotten and everything is sent again",
                    was, is);
    }
    if (r->o->dry_run || (known && !*changed))
        return RSL_OK;
    rsl_code rc = RSL_OK;
    if (*changed && (rc = rsl_state_forget_remote(r->st, err)) != RSL_OK)
        return rc;
    return rsl_state_kv_set(r->st, "job:destination", now, err);
}

static long max_delete(const rsl_run *r)
{
    return r->o->max_delete_override >= 0 ? r->o->max_delete_override : r->job->max_delete;
}

/* Deletion guard, before anything touches the remote. A dry run shows the
 * whole plan first, then says the run would refuse. */
static rsl_code check_max_delete(rsl_run *r, rsl_err *err)
{
    long limit = max_delete(r);
    long long n_del = (r->job->delete_ ? r->plan.n_deletes : 0) + r->plan.n_replace_del;
    if (n_del <= limit)
        return RSL_OK;
    if (r->o->dry_run)
        return rsl_err_set(err, RSL_E_MAX_DELETE, (long)n_del,
                           "the run would refuse: %lld deletions > max_delete = %ld (use "
                           "--max-delete %lld once if intended)",
                           n_del, limit, n_del);
    return rsl_err_set(err, RSL_E_MAX_DELETE, (long)n_del,
                       "this run would delete %lld remote item(s) but max_delete = %ld; nothing "
                       "was deleted or uploaded (check the source, or run once with "
                       "--max-delete %lld)",
                       n_del, limit, n_del);
}

/* The spools go beside the state db (spool.h). */
static void spool_dir(const rsl_run *r, char *buf, size_t n)
{
    snprintf(buf, n, "%s", r->job->state_path);
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
        snprintf(buf, n, ".");
    else if (slash == buf)
        buf[1] = '\0';
    else
        *slash = '\0';
}

/* The plan's manifest rows, offered to the remote check's sample. */
static void offer_row(void *ud, const rsl_manifest_row *row)
{
    rsl_rcheck_offer(ud, row);
}

/* Whether this run checks the remote (remote_check, the last check's time). */
static int check_due(rsl_run *r)
{
    char buf[32];
    int64_t last = 0;
    if (rsl_state_kv_get(r->st, RSL_RCHECK_KV, buf, sizeof(buf)))
        last = strtoll(buf, NULL, 10);
    return rsl_rcheck_due(r->job->remote_check, last, r->now_ms);
}

static int source_opens(const rsl_run *r)
{
    rsl_err e;
    int fd = rsl_source_root_open(r->job->source, &e);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* What was recorded before, the scan and merge join (and the remote
 * check's sample), the guards (a dry run's come after its plan). */
static rsl_code run_plan(rsl_run *r, rsl_err *err)
{
    int new_destination = 0;
    rsl_code rc;
    r->check_due = check_due(r);
    if ((rc = check_destination(r, &new_destination, err)) != RSL_OK ||
        (rc = rsl_state_failures_load(r->st, &r->fails, &r->n_fails, err)) != RSL_OK ||
        (rc = rsl_state_uploads_load(r->st, &r->ups, &r->n_ups, err)) != RSL_OK ||
        (rc = rsl_facts_load(&r->facts, r->st, err)) != RSL_OK)
        return rc;
    /* a run that checks the remote connects anyway: while the tree is
     * scanned (on a long link a connect is ten round trips). Not when the
     * source is missing (the plan fails at once; a run that ends waits for
     * a connect under way, which a dead server makes last `timeout`). */
    if (r->check_due && !r->o->dry_run && source_opens(r))
        r->ahead = rsl_preconn_start(r, 1);
    char dir[4096];
    long limit = max_delete(r);
    spool_dir(r, dir, sizeof(dir));
    rsl_plan_ctx pc = {.job = r->job,
                       .st = r->st,
                       .failures = r->fails,
                       .n_failures = r->n_fails,
                       .uploads = r->ups,
                       .n_uploads = r->n_ups,
                       .spool_dir = dir,
                       .keep_deletes = limit < 0 ? 1 : (size_t)limit + 1,
                       .limits = r->limits,
                       .now_ms = r->now_ms,
                       .only_failed = r->o->only_failed,
                       .ignore_manifest = new_destination,
                       .note = rsl_recorder_plan_note,
                       .ud = r,
                       .on_row = r->check_due ? offer_row : NULL,
                       .row_ud = &r->rcheck,
                       .stop = &r->stop,
                       .caps = r->ops->caps};
    rc = rsl_plan_build(&r->plan, &pc, err);
    r->rec.counts.scanned_files = r->plan.scanned_files;
    r->rec.counts.scanned_dirs = r->plan.scanned_dirs;
    r->rec.counts.unchanged = r->plan.unchanged;
    r->rec.counts.skipped = r->plan.skipped;
    if (rc == RSL_OK && r->check_due && r->o->only_failed && !new_destination)
        rc = rsl_rcheck_collect(&r->rcheck, r->st, err); /* the plan read no manifest */
    if (rc == RSL_OK && r->check_due)
        rsl_connect_publish_early(r);
    if (rc != RSL_OK || r->o->dry_run)
        return rc;
    return check_max_delete(r, err);
}

/* The remote root and the sample, on conn (a dry run's is read-only); the
 * time of a good check is kept for `remote_check = INTERVAL`. */
static rsl_code remote_check(rsl_run *r, rsl_conn *conn, rsl_err *err)
{
    rsl_code rc = rsl_rcheck_run(&r->rcheck, r->ops, conn, r->ops->caps_of(conn), &r->stop, err);
    if (rc != RSL_OK)
        return rc;
    char now[32];
    snprintf(now, sizeof(now), "%lld", (long long)rsl_run_now_ms());
    rsl_recorder_kv(r, RSL_RCHECK_KV, now);
    return RSL_OK;
}

/* A planned move, as the dry run prints it ("move OLD -> NEW"). */
static void move_line(const rsl_run *r, const rsl_item *it)
{
    char d[300];
    if (it->type == RSL_TYPE_DIR) {
        snprintf(d, sizeof(d), "directory, with all it holds; nothing sent");
    } else {
        rsl_fmt_bytes(d, sizeof(d), it->size);
        strncat(d, "; nothing sent", sizeof(d) - strlen(d) - 1);
    }
    if (r->o->on_plan_move) {
        r->o->on_plan_move(r->o->ud, it->from, it->path, d);
        return;
    }
    char from[4200];
    snprintf(from, sizeof(from), "from %s", it->from);
    r->o->on_plan(r->o->ud, "move", it->path, from);
}

/* One planned item, as the dry run prints it. */
static void plan_line(const rsl_run *r, const rsl_item *it)
{
    char d[4200], tail[64];
    if (it->action == RSL_ACT_SETTIME || (it->action == RSL_ACT_MOVE && it->covered))
        return; /* a directory's mtime; an item its directory's move carries */
    if (it->action == RSL_ACT_MOVE) {
        move_line(r, it);
        return;
    }
    if (it->type == RSL_TYPE_LINK) {
        snprintf(d, sizeof(d), "symbolic link -> %s", it->target ? it->target : "");
    } else if (it->type == RSL_TYPE_FILE) {
        rsl_fmt_bytes(d, sizeof(d), it->size);
        if (it->upload_rec_matches)
            strncat(d, ", resumable", sizeof(d) - strlen(d) - 1);
        if (it->action == RSL_ACT_APPEND) {
            rsl_fmt_bytes(tail, sizeof(tail), it->size - it->old_size);
            snprintf(d + strlen(d), sizeof(d) - strlen(d),
                     "; only the new %s when the first %llu bytes are unchanged", tail,
                     (unsigned long long)it->old_size);
        }
    } else {
        snprintf(d, sizeof(d), "directory");
    }
    r->o->on_plan(r->o->ud, rsl_action_name(it->action), it->path, d);
}

/* Every record of a spool through fn, forward or backward. */
static rsl_code each_spooled(rsl_run *r, rsl_spool *s, int backward,
                             void (*fn)(const rsl_run *, const rsl_item *))
{
    rsl_spool_cursor c;
    rsl_item it;
    rsl_err e;
    rsl_code rc = rsl_spool_cursor_init(&c, s, backward, &e);
    int k = 0;
    while (rc == RSL_OK && (k = rsl_spool_next(&c, &it, NULL, &e)) > 0)
        fn(r, &it);
    if (k < 0)
        rc = e.code;
    rsl_spool_cursor_free(&c);
    return rc;
}

static void delete_line(const rsl_run *r, const rsl_item *it)
{
    if (r->job->delete_ && rsl_detect_moved(&r->plan, it->path))
        return; /* moved: its line is the move's */
    r->o->on_plan(r->o->ud, r->job->delete_ ? "delete" : "keep", it->path,
                  r->job->delete_ ? "gone locally" : "gone locally; delete = no");
}

/* A dry run prints the plan (from the spools), then checks the remote
 * (read-only) and the deletion guard; it records nothing. Returns the exit
 * code: a refusal or a failed check is the real run's (err says why). */
static int end_dry_run(rsl_run *r, rsl_err *err)
{
    const rsl_plan *p = &r->plan;
    const rsl_run_opts *o = r->o;
    if (o->on_plan) {
        each_spooled(r, p->items, 0, plan_line);
        for (size_t i = 0; i < p->replace_del.n; i++)
            o->on_plan(o->ud, "delete", p->replace_del.v[i].path,
                       "inside a directory replaced by a file");
        each_spooled(r, p->deletes, 1, delete_line);
    }
    snprintf(r->rec.outcome, sizeof(r->rec.outcome), "dry_run");
    rsl_code rc = RSL_OK;
    if (r->check_due) {
        rsl_conn *conn = NULL;
        if ((rc = rsl_connect_open(r, &conn, err)) == RSL_OK)
            rc = remote_check(r, conn, err);
        if (conn)
            r->ops->disconnect(conn);
    }
    if (rc == RSL_OK)
        rc = check_max_delete(r, err);
    if (rc != RSL_OK) {
        r->rec.code = (int)rc;
        snprintf(r->rec.message, sizeof(r->rec.message), "%s", err->msg);
        return rsl_sync_exit_code(rc, 0, 0, 0);
    }
    return rsl_sync_exit_code(RSL_OK, 0, r->rec.counts.item_errors, r->rec.counts.vanished);
}

/* The remote changes: the first connection (its capabilities decide
 * resume), then the dispatcher with its workers. */
static rsl_code apply_all(rsl_run *r, rsl_conn **conn, rsl_err *err)
{
    r->caps = r->ops->caps_of(*conn);
    rsl_ranges_probe_link(r, *conn);
    if ((r->srcfd = rsl_source_root_open(r->job->source, err)) < 0)
        return err->code;
    rsl_dispatch_run(r, rsl_workers_size(r), conn);
    return RSL_OK;
}

/* The run stopped early (SIGTERM, or max_run_time while work was left):
 * its session error. */
static void stopped_early(rsl_run *r)
{
    int why = rsl_stop_check(&r->stop);
    if (r->session_failed || why == RSL_STOP_NO || (why == RSL_STOP_DEADLINE && !r->cut_short))
        return;
    if (why == RSL_STOP_CANCEL) {
        rsl_run_session_error(r, RSL_E_INTERRUPTED,
                              "interrupted by a signal; the next run resumes");
        return;
    }
    char m[200];
    snprintf(m, sizeof(m),
             "max_run_time = %ds reached: no new item was started, the file in flight keeps its "
             "temp file; the next run resumes",
             r->job->max_run_time);
    rsl_run_session_error(r, RSL_E_RUN_TIME_EXCEEDED, m);
}

/* How many connections the run will want, judged before the first connect
 * from what the transport can ever do (its static caps): the workers'
 * count as rsl_workers_size gives it. A link not measured yet counts as
 * long (a big file may be cut over all of them), unless the last run found
 * this destination's link short: a single big file on a LAN then opens one
 * connection, not `transfers` (each SSH handshake costs CPU on both ends).
 * apply_all sizes the pool again from the first connection's caps and
 * round trip; a worker beyond these connects itself. */
static int connections_ahead(rsl_run *r)
{
    r->caps = r->ops->caps;
    long rtt = r->link_rtt_us;
    if (rtt < 0 && rsl_ranges_link_was_short(r))
        r->link_rtt_us = 0; /* for the count only */
    int n = rsl_workers_size(r);
    r->link_rtt_us = rtt;
    return n;
}

/* The connection opened during the plan (r->ahead); when it failed and
 * the work's own connections are under way, the first of those that
 * succeeds (a server that takes one connection answers the rest "busy").
 * The error is the one opened ahead's. */
static rsl_code first_connection(rsl_run *r, rsl_conn **conn, rsl_err *err)
{
    rsl_code rc = rsl_preconn_first(r->ahead, conn, err);
    rsl_err e2;
    if (rc != RSL_OK && r->pre != NULL && rsl_preconn_first(r->pre, conn, &e2) == RSL_OK) {
        rsl_err_clear(err);
        rc = RSL_OK;
    }
    return rc;
}

/* Connects when there is something to do or the remote is checked (every
 * run by default, also one with nothing to send): the check comes first,
 * on the connection the work then uses. Returns the session's code (err
 * filled) or RSL_OK. */
static rsl_code run_apply(rsl_run *r, rsl_err *err)
{
    const rsl_plan *p = &r->plan;
    int work = p->n_items > 0 || (r->job->delete_ && p->n_deletes > 0) || p->stale_temps.n > 0;
    rsl_conn *conn = NULL;
    rsl_code rc = RSL_OK;
    if (work && connections_ahead(r) > 1) /* the rest, if one is under way already */
        r->pre = rsl_preconn_start(r, r->ahead != NULL ? r->conns - 1 : r->conns);
    if (r->ahead != NULL)
        rc = first_connection(r, &conn, err);
    else if (r->pre != NULL)
        rc = rsl_preconn_first(r->pre, &conn, err);
    else if (work || r->check_due)
        rc = rsl_connect_open(r, &conn, err);
    if (rc == RSL_OK && r->check_due)
        rc = remote_check(r, conn, err);
    if (rc == RSL_OK && work)
        rc = apply_all(r, &conn, err);
    if (conn)
        r->ops->disconnect(conn);
    rsl_preconn_end(r->pre); /* the workers took theirs; the rest are closed */
    r->pre = NULL;
    rsl_preconn_end(r->ahead);
    r->ahead = NULL;
    if (rc != RSL_OK)
        return rc;
    rsl_recorder_commit(r);
    stopped_early(r);
    if (!r->session_failed)
        return RSL_OK;
    *err = r->session_err;
    return r->session_err.code;
}

/* Nothing was recorded (destination, lock or state db unusable). */
static int end_early(rsl_run *r, rsl_code rc, const rsl_err *err)
{
    int exit_code = rsl_sync_exit_code(rc, 0, 0, 0);
    snprintf(r->rec.outcome, sizeof(r->rec.outcome), "failure");
    r->rec.exit_code = exit_code;
    r->rec.code = (int)rc;
    snprintf(r->rec.message, sizeof(r->rec.message), "%s", err->msg);
    r->rec.ended_ms = rsl_run_now_ms();
    return exit_code;
}

/* The run's outcome and exit code, recorded in its row. rc: the session
 * error (err says why), or RSL_OK. */
static int end_run(rsl_run *r, rsl_code rc, const rsl_err *err)
{
    rsl_counts *n = &r->rec.counts;
    if (rc != RSL_OK && !r->session_failed) {
        r->session_failed = 1;
        r->session_err = *err;
    }
    int64_t applied = n->files_applied + n->dirs_applied + n->deletes_applied;
    int exit_code = rsl_sync_exit_code(rc, applied, n->item_errors, n->vanished);
    int stopped = rc == RSL_E_INTERRUPTED || rc == RSL_E_RUN_TIME_EXCEEDED;
    const char *outcome = stopped              ? "interrupted"
                          : rc != RSL_OK       ? (applied > 0 ? "partial_failure" : "failure")
                          : n->item_errors > 0 ? "partial_failure"
                                               : "success";
    snprintf(r->rec.outcome, sizeof(r->rec.outcome), "%s", outcome);
    r->rec.exit_code = exit_code;
    r->rec.code = (int)rc;
    snprintf(r->rec.message, sizeof(r->rec.message), "%s", rc != RSL_OK ? err->msg : "");
    r->rec.ended_ms = rsl_run_now_ms();
    rsl_recorder_run_end(r);
    return exit_code;
}

int rsl_sync_exit_code(rsl_code session_code, int64_t applied, int64_t item_errors,
                       int64_t vanished)
{
    if (session_code != RSL_OK) {
        rsl_exit x = rsl_code_exit(session_code);
        if (applied > 0 && x == RSL_EXIT_SESSION)
            return RSL_EXIT_PARTIAL;
        return x;
    }
    if (item_errors > 0)
        return item_errors == vanished ? RSL_EXIT_VANISHED : RSL_EXIT_PARTIAL;
    return RSL_EXIT_OK;
}

int rsl_sync_run(const rsl_job *job, const rsl_run_opts *o, rsl_run_record *out, rsl_err *err)
{
    rsl_err_clear(err);
    rsl_run *r = run_new(job, o);
    if (r == NULL) {
        rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        return RSL_EXIT_SESSION;
    }
    int exit_code;
    rsl_code rc = run_open(r, err);
    if (rc != RSL_OK) {
        exit_code = end_early(r, rc, err);
        goto done;
    }
    rc = run_plan(r, err);
    if (rc == RSL_OK && o->dry_run) {
        exit_code = end_dry_run(r, err);
        goto done;
    }
    if (rc == RSL_OK)
        rc = run_apply(r, err);
    exit_code = end_run(r, rc, err);
done:
    *out = r->rec;
    run_free(r);
    return exit_code;
}
