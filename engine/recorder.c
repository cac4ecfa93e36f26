/*
 * recorder.c - the one writer of a run. See recorder.h.
 */
#include "recorder.h"

#include <stdio.h>
#include <string.h>

#include "retry.h"
#include "run_ctx.h"

/* A state db write failed: the run stops with its code (the first one is
 * kept; later failures are only logged). */
static rsl_code check(rsl_run *r, rsl_code rc, const rsl_err *e)
{
    if (rc == RSL_OK)
        return RSL_OK;
    rsl_run_log(r, RSL_LOG_ERROR, "%s", e->msg);
    rsl_run_session_error(r, rc, e->msg);
    return rc;
}

void rsl_recorder_begin(rsl_run *r)
{
    if (r->o->dry_run)
        return;
    rsl_err e;
    if (r->writes == 0)
        check(r, rsl_state_begin(r->st, &e), &e);
    r->writes++;
}

rsl_code rsl_recorder_commit(rsl_run *r)
{
    if (r->writes == 0)
        return RSL_OK;
    rsl_err e;
    r->writes = 0;
    r->last_commit_ms = rsl_run_now_ms();
    return check(r, rsl_state_commit(r->st, &e), &e);
}

void rsl_recorder_maybe_commit(rsl_run *r)
{
    if (r->writes >= RSL_COMMIT_EVERY ||
        (r->writes > 0 && rsl_run_now_ms() - r->last_commit_ms > 1000))
        rsl_recorder_commit(r);
}

static void result_row(rsl_run *r, const char *path, const char *from, const char *action,
                       const char *outcome, int code, const char *msg, int attempts, int64_t bytes)
{
    rsl_item_result res = {.path = path,
                           .from = from,
                           .action = action,
                           .outcome = outcome,
                           .code = code,
                           .message = msg ? msg : "",
                           .attempts = attempts,
                           .bytes = bytes,
                           .ts_ms = rsl_run_now_ms()};
    if (!r->o->dry_run) {
        rsl_err e;
        rsl_recorder_begin(r);
        check(r, rsl_state_result_add(r->st, r->run_id, &res, &e), &e);
    }
    if (r->o->on_result)
        r->o->on_result(r->o->ud, &res, rsl_class_name(rsl_code_class((rsl_code)code)));
}

void rsl_recorder_result(rsl_run *r, const char *path, const char *action, const char *outcome,
                         int code, const char *msg, int attempts, int64_t bytes)
{
    result_row(r, path, NULL, action, outcome, code, msg, attempts, bytes);
}

void rsl_recorder_result_from(rsl_run *r, const char *path, const char *from, const char *action,
                              const char *outcome, int code, const char *msg, int attempts)
{
    result_row(r, path, from, action, outcome, code, msg, attempts, 0);
}

void rsl_recorder_failure(rsl_run *r, const char *path, const char *action, rsl_code code,
                          const char *msg, int prev_attempts, int64_t first_ms, uint64_t size,
                          int64_t mtime_ns, int64_t bytes)
{
    r->rec.counts.item_errors++;
    if (code == RSL_E_LOCAL_VANISHED)
        r->rec.counts.vanished++;
    rsl_recorder_result(r, path, action, "failed", code, msg, prev_attempts + 1, bytes);
    if (r->o->dry_run)
        return;
    rsl_failure f;
    memset(&f, 0, sizeof(f));
    f.path = (char *)path;
    snprintf(f.action, sizeof(f.action), "%s", action);
    f.code = code;
    snprintf(f.message, sizeof(f.message), "%s", msg ? msg : "");
    f.attempts = prev_attempts + 1;
    f.first_ms = first_ms > 0 ? first_ms : r->now_ms;
    f.last_ms = rsl_run_now_ms();
    f.next_retry_ms = rsl_retry_next_ms(rsl_code_class(code), f.attempts, f.last_ms);
    f.local_size = size;
    f.local_mtime_ns = mtime_ns;
    rsl_err e;
    rsl_recorder_begin(r);
    check(r, rsl_state_failure_put(r->st, &f, &e), &e);
}

void rsl_recorder_clear_failure(rsl_run *r, const char *path)
{
    if (r->o->dry_run)
        return;
    rsl_err e;
    rsl_recorder_begin(r);
    check(r, rsl_state_failure_del(r->st, path, &e), &e);
}

/* A failure row that no longer applies goes. When the item is gone (e says
 * why: "gone from the source", "excluded now ...") a result says so, since
 * the item itself is never mentioned again. */
static void resolved(rsl_run *r, const char *path, const rsl_failure *prev, const rsl_err *e)
{
    if (e == NULL || e->msg[0] == '\0') {
        rsl_recorder_clear_failure(r, path);
        return;
    }
    if (r->o->dry_run) {
        if (r->o->on_plan)
            r->o->on_plan(r->o->ud, "resolve", path, e->msg);
        return;
    }
    rsl_recorder_clear_failure(r, path);
    rsl_recorder_result(r, path, prev ? prev->action : "none", "resolved", 0, e->msg,
                        prev ? prev->attempts : 0, 0);
}

/* A dry run prints what the plan noted instead of recording it. */
static void dry_run_note(rsl_run *r, const char *path, const char *outcome, const rsl_err *e)
{
    char d[700];
    snprintf(d, sizeof(d), "%s: %s", rsl_code_name(e->code), e->msg);
    const char *verb = strcmp(outcome, "skipped") == 0    ? "skip"
                       : strcmp(outcome, "deferred") == 0 ? "defer"
                                                          : "fail";
    r->o->on_plan(r->o->ud, verb, path, d);
}

void rsl_recorder_plan_note(void *ud, const char *path, const char *action, const char *outcome,
                            const rsl_err *e, const rsl_item *it, const rsl_failure *prev)
{
    rsl_run *r = ud;
    if (strcmp(outcome, "resolved") == 0) {
        resolved(r, path, prev, e);
    } else if (r->o->dry_run && r->o->on_plan) {
        dry_run_note(r, path, outcome, e);
    } else if (strcmp(outcome, "failed") == 0) {
        rsl_recorder_failure(r, path, action, e->code, e->msg, prev ? prev->attempts : 0,
                             prev ? prev->first_ms : 0, it ? it->size : 0, it ? it->mtime_ns : 0,
                             0);
    } else if (strcmp(outcome, "deferred") == 0) {
        r->rec.counts.item_errors++;
        rsl_recorder_result(r, path, action, "deferred", e->code, e->msg, prev ? prev->attempts : 0,
                            0);
    } else { /* skipped: informational */
        rsl_recorder_result(r, path, action, "skipped", e->code, e->msg, 0, 0);
        if (prev)
            rsl_recorder_clear_failure(r, path);
    }
}

/* Write-ahead: if the process dies after a remote change but before its
 * result is recorded, the next run still knows the item may exist remotely
 * (and deletes it if it is gone locally) instead of leaving an orphan.
 * Replacements keep their old row until the old remote item is removed
 * (rsl_recorder_pending_one then). The rows go in batches of
 * RSL_PENDING_BATCH spool records, each batch committed before an op it
 * guards is fed. */
rsl_code rsl_recorder_pending_upto(rsl_run *r, uint64_t idx)
{
    rsl_err e;
    if (!r->pend_open) {
        if (check(r, rsl_spool_cursor_init(&r->pend, r->plan.items, 0, &e), &e) != RSL_OK)
            return e.code;
        r->pend_open = 1;
    }
    while (r->pend_done <= idx && !r->session_failed) {
        for (int n = 0; n < RSL_PENDING_BATCH && !r->session_failed; n++) {
            rsl_item it;
            int k = rsl_spool_next(&r->pend, &it, NULL, &e);
            if (k < 0)
                check(r, e.code, &e);
            if (k <= 0) {
                r->pend_done = UINT64_MAX;
                break;
            }
            r->pend_done++;
            if (it.action == RSL_ACT_MOVE && !it.covered) { /* both paths, and all below */
                rsl_recorder_begin(r);
                check(r, rsl_state_move_pending(r->st, it.from, it.path, r->run_id, &e), &e);
            }
            if (it.action != RSL_ACT_CREATE && it.action != RSL_ACT_MKDIR)
                continue;
            rsl_recorder_begin(r);
            check(r, rsl_state_manifest_put_pending(r->st, it.path, it.type, r->run_id, &e), &e);
        }
        rsl_recorder_commit(r);
    }
    return r->session_failed ? r->session_err.code : RSL_OK;
}

void rsl_recorder_pending_free(rsl_run *r)
{
    if (r->pend_open)
        rsl_spool_cursor_free(&r->pend);
    r->pend_open = 0;
}

void rsl_recorder_pending_one(rsl_run *r, const char *path, int type)
{
    rsl_err e;
    rsl_recorder_begin(r);
    check(r, rsl_state_manifest_put_pending(r->st, path, type, r->run_id, &e), &e);
    rsl_recorder_commit(r);
}

void rsl_recorder_dir_ok(rsl_run *r, const rsl_item *it)
{
    rsl_err e;
    /* the identity too: a directory renamed later keeps its inode (detect.h) */
    rsl_manifest_row row = {.path = it->path,
                            .type = RSL_TYPE_DIR,
                            .mtime_ns = it->mtime_ns,
                            .dev = it->dev,
                            .ino = it->ino};
    rsl_recorder_begin(r);
    check(r, rsl_state_manifest_put_row(r->st, &row, r->run_id, &e), &e);
    if (it->prev_attempts > 0)
        rsl_recorder_clear_failure(r, it->path);
    r->rec.counts.dirs_applied++;
    rsl_recorder_result(r, it->path, rsl_action_name(it->action), "ok", 0, "",
                        it->prev_attempts + 1, 0);
}

void rsl_recorder_deleted(rsl_run *r, const rsl_item *d, const char *action)
{
    rsl_err e;
    rsl_recorder_begin(r);
    check(r, rsl_state_manifest_del(r->st, d->path, &e), &e);
    if (d->prev_attempts > 0)
        rsl_recorder_clear_failure(r, d->path);
    r->rec.counts.deletes_applied++;
    rsl_recorder_result(r, d->path, action, "ok", 0, "", d->prev_attempts + 1, 0);
}

rsl_code rsl_recorder_upload_begin(rsl_run *r, const rsl_item *it, uint64_t size, int64_t mtime_ns)
{
    rsl_code rc = rsl_recorder_commit(r); /* the record must be durable on its own */
    rsl_err e;
    if (rc == RSL_OK)
        rc = check(r, rsl_state_upload_put(r->st, it->path, size, mtime_ns, rsl_run_now_ms(), &e),
                   &e);
    return rc;
}

rsl_code rsl_recorder_upload_progress(rsl_run *r, const char *path, const char *done)
{
    rsl_code rc = rsl_recorder_commit(r); /* durable before the next piece goes */
    rsl_err e;
    if (rc == RSL_OK)
        rc = check(r, rsl_state_upload_progress(r->st, path, done, &e), &e);
    return rc;
}

void rsl_recorder_upload_end(rsl_run *r, const char *path)
{
    rsl_err e;
    rsl_recorder_begin(r);
    check(r, rsl_state_upload_del(r->st, path, &e), &e);
}

/* The file is on the remote under its final name. */
static void file_ok(rsl_run *r, const rsl_file_result *res, const char *action)
{
    const rsl_item *it = res->it;
    rsl_err e;
    rsl_manifest_row row = {.path = it->path,
                            .type = RSL_TYPE_FILE,
                            .size = res->size,
                            .mtime_ns = res->mtime_ns,
                            .dev = it->dev,
                            .ino = it->ino,
                            .digest = res->digest,
                            .digest_len = res->digest ? RSL_DIGEST_LEN : 0};
    rsl_recorder_begin(r);
    check(r, rsl_state_manifest_put_row(r->st, &row, r->run_id, &e), &e);
    if (it->has_upload_rec || res->upload_recorded)
        check(r, rsl_state_upload_del(r->st, it->path, &e), &e);
    if (it->prev_attempts > 0)
        rsl_recorder_clear_failure(r, it->path);
    r->rec.counts.files_applied++;
    r->rec.counts.transferred_files++;
    r->rec.counts.bytes_applied += (int64_t)res->size;
    rsl_recorder_result(r, it->path, action, "ok", 0, "", it->prev_attempts + 1, res->bytes_sent);
}

void rsl_recorder_file(rsl_run *r, const rsl_file_result *res)
{
    const rsl_item *it = res->it;
    const char *action = rsl_action_name(it->action);
    r->rec.counts.transferred_bytes += res->bytes_sent;
    r->files_done++;
    if (res->code == RSL_OK) {
        file_ok(r, res, action);
    } else if (res->code == RSL_E_INTERRUPTED) {
        rsl_recorder_result(r, it->path, action, "interrupted", res->code, res->msg,
                            it->prev_attempts, res->bytes_sent);
    } else {
        uint64_t size = res->size ? res->size : it->size;
        r->rec.counts.failed_files++;
        r->rec.counts.failed_bytes += (int64_t)size;
        rsl_recorder_failure(r, it->path, action, res->code, res->msg, it->prev_attempts,
                             it->first_failed_ms, size,
                             res->mtime_ns ? res->mtime_ns : it->mtime_ns, res->bytes_sent);
    }
}

void rsl_recorder_kv(rsl_run *r, const char *key, const char *value)
{
    if (r->o->dry_run)
        return;
    rsl_err e;
    rsl_recorder_begin(r);
    check(r, rsl_state_kv_set(r->st, key, value, &e), &e);
}

void rsl_recorder_run_end(rsl_run *r)
{
    if (r->st == NULL || r->run_id <= 0)
        return;
    rsl_err e;
    rsl_recorder_begin(r);
    if (rsl_facts_save(&r->facts, r->st, &e) != RSL_OK)
        rsl_run_log(r, RSL_LOG_ERROR, "%s", e.msg);
    if (rsl_state_run_end(r->st, &r->rec, &e) != RSL_OK)
        rsl_run_log(r, RSL_LOG_ERROR, "%s", e.msg);
    rsl_recorder_commit(r);
}

void rsl_recorder_moved(rsl_run *r, const rsl_item *it)
{
    rsl_err e;
    rsl_recorder_begin(r);
    check(r, rsl_state_move_commit(r->st, it->from, it->path, r->run_id, &e), &e);
    if (it->prev_attempts > 0)
        rsl_recorder_clear_failure(r, it->path);
    r->rec.counts.moves++;
    result_row(r, it->path, it->from, "move", "ok", 0, "", it->prev_attempts + 1, 0);
}

void rsl_recorder_link_ok(rsl_run *r, const rsl_item *it)
{
    rsl_err e;
    rsl_manifest_row row = {.path = it->path,
                            .type = RSL_TYPE_LINK,
                            .size = it->size,
                            .mtime_ns = it->mtime_ns,
                            .dev = it->dev,
                            .ino = it->ino,
                            .target = it->target};
    rsl_recorder_begin(r);
    check(r, rsl_state_manifest_put_row(r->st, &row, r->run_id, &e), &e);
    if (it->prev_attempts > 0)
        rsl_recorder_clear_failure(r, it->path);
    r->rec.counts.files_applied++;
    result_row(r, it->path, NULL, rsl_action_name(it->action), "ok", 0, "", it->prev_attempts + 1,
               0);
}

void rsl_recorder_dir_time(rsl_run *r, const char *path, int64_t mtime_ns)
{
    rsl_err e;
    if (path[0] == '\0')
        return; /* the root has no row */
    rsl_recorder_begin(r);
    check(r, rsl_state_manifest_set_mtime(r->st, path, mtime_ns, &e), &e);
}
