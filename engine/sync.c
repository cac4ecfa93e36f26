/*
 * sync.c - one run of a job. See sync.h.
 *
 * Threads: the main thread owns the state db. It plans, creates directories
 * and performs replacements on its own connection, then hands that connection
 * to worker 0 and starts the other workers, each with its own connection.
 * Workers take files from a shared index and post events; the main thread
 * records them (batched transactions) and acknowledges upload-record writes
 * synchronously, so a record is durable before the first byte of its temp
 * file is written. Deletes run last, deepest first, on one connection.
 */
#define _GNU_SOURCE
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "plan.h"
#include "remote.h"
#include "transports/transport.h"
#include "validate.h"

/* Files smaller than this restart from zero instead of resuming: they need no
 * upload record (no extra db write or remote round trip per small file). */
#define RESUME_MIN (1u << 20)
#define MAX_ATTEMPTS 3
#define COMMIT_EVERY 512
/* consecutive "no space"/"permission denied" uploads, none succeeding, before
 * the run stops as a session error (ALL_WRITES_FAILED) */
#define ALL_FAIL_LIMIT 8

typedef enum { EV_BEGIN, EV_DONE, EV_DEAD } ev_kind;

typedef struct event {
    struct event *next;
    ev_kind kind;
    size_t idx;
    rsl_code code;
    char msg[512];
    int64_t bytes_sent;
    uint64_t size;
    int64_t mtime_ns;
    int attempts;
    int acked;
} event;

typedef struct kv {
    char *k, *v;
} kv;

typedef struct sync_ctx sync_ctx;

typedef struct worker {
    sync_ctx *c;
    pthread_t th;
    rsl_conn *conn;
    int started;
    int dead;
    rsl_err dead_err;
} worker;

struct sync_ctx {
    const rsl_job *job;
    const rsl_run_opts *o;
    rsl_state *st;
    rsl_remote rm;                /* destination, transport, options */
    const rsl_transport_ops *ops; /* = rm.ops */
    rsl_limits limits;
    rsl_plan plan;
    rsl_run_record rec;
    int64_t run_id;
    int64_t now_ms;
    int writes; /* writes in the open transaction */
    int64_t last_commit_ms;
    /* work distribution and events */
    pthread_mutex_t mu;
    pthread_cond_t cv_main, cv_ack;
    size_t *files; /* indices into plan.items of files to upload */
    size_t n_files, next_file;
    event *ev_head, *ev_tail;
    int workers_running;
    /* failed directories: their contents are not attempted */
    char **failed_dirs;
    size_t n_failed_dirs;
    /* bandwidth limit, shared by all workers */
    pthread_mutex_t bw_mu;
    double bw_next;
    /* server facts cache (rsl_remote_opts.cache_get/set) */
    pthread_mutex_t kv_mu;
    kv *kvs;
    size_t n_kvs;
    int kv_dirty;
    /* session error */
    int session_failed;
    rsl_err session_err;
    int64_t files_done;
    int64_t bytes_done;
    /* every write failing (disk full, no permission): stop early */
    size_t current_idx; /* the file most recently handed to a worker */
    int have_current;
    int write_fail_streak;
    int any_file_ok;
    volatile int abort_files;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cancelled(const sync_ctx *c)
{
    return c->o->cancel && *c->o->cancel;
}

static void logf_(sync_ctx *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(sync_ctx *c, int level, const char *fmt, ...)
{
    if (c->o->on_log == NULL)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->o->on_log(c->o->ud, level, buf);
}

/* ---- transport callbacks ---- */

static void t_log(void *ud, int level, const char *msg)
{
    sync_ctx *c = ud;
    if (c->o->on_log)
        c->o->on_log(c->o->ud, level, msg);
}

static int t_cache_get(void *ud, const char *key, char *buf, size_t bufsz)
{
    sync_ctx *c = ud;
    int found = 0;
    pthread_mutex_lock(&c->kv_mu);
    for (size_t i = 0; i < c->n_kvs; i++)
        if (strcmp(c->kvs[i].k, key) == 0) {
            snprintf(buf, bufsz, "%s", c->kvs[i].v);
            found = 1;
            break;
        }
    pthread_mutex_unlock(&c->kv_mu);
    return found;
}

static void kv_put_locked(sync_ctx *c, const char *key, const char *value)
{
    for (size_t i = 0; i < c->n_kvs; i++)
        if (strcmp(c->kvs[i].k, key) == 0) {
            char *nv = strdup(value);
            if (nv) {
                free(c->kvs[i].v);
                c->kvs[i].v = nv;
            }
            return;
        }
    kv *n = realloc(c->kvs, (c->n_kvs + 1) * sizeof(*n));
    if (n == NULL)
        return;
    c->kvs = n;
    c->kvs[c->n_kvs].k = strdup(key);
    c->kvs[c->n_kvs].v = strdup(value);
    if (c->kvs[c->n_kvs].k && c->kvs[c->n_kvs].v)
        c->n_kvs++;
}

static void t_cache_set(void *ud, const char *key, const char *value)
{
    sync_ctx *c = ud;
    pthread_mutex_lock(&c->kv_mu);
    kv_put_locked(c, key, value);
    c->kv_dirty = 1;
    pthread_mutex_unlock(&c->kv_mu);
}

static void kv_load_cb(void *ud, const char *k, const char *v)
{
    kv_put_locked(ud, k, v ? v : "");
}

/* ---- recording (main thread only) ---- */

static void db_write_begin(sync_ctx *c)
{
    if (c->o->dry_run)
        return;
    rsl_err e;
    if (c->writes == 0 && rsl_state_begin(c->st, &e) != RSL_OK)
        logf_(c, RSL_LOG_ERROR, "%s", e.msg);
    c->writes++;
}

static void db_commit(sync_ctx *c)
{
    if (c->writes == 0)
        return;
    rsl_err e;
    if (rsl_state_commit(c->st, &e) != RSL_OK)
        logf_(c, RSL_LOG_ERROR, "%s", e.msg);
    c->writes = 0;
    c->last_commit_ms = now_ms();
}

static void db_maybe_commit(sync_ctx *c)
{
    if (c->writes >= COMMIT_EVERY || (c->writes > 0 && now_ms() - c->last_commit_ms > 1000))
        db_commit(c);
}

/* Records one result row and tells the CLI. */
static void emit_result(sync_ctx *c, const char *path, const char *action, const char *outcome,
                        int code, const char *msg, int attempts, int64_t bytes)
{
    rsl_item_result r = {.path = path,
                         .action = action,
                         .outcome = outcome,
                         .code = code,
                         .message = msg ? msg : "",
                         .attempts = attempts,
                         .bytes = bytes,
                         .ts_ms = now_ms()};
    if (!c->o->dry_run) {
        rsl_err e;
        db_write_begin(c);
        if (rsl_state_result_add(c->st, c->run_id, &r, &e) != RSL_OK)
            logf_(c, RSL_LOG_ERROR, "%s", e.msg);
    }
    if (c->o->on_result)
        c->o->on_result(c->o->ud, &r, rsl_class_name(rsl_code_class((rsl_code)code)));
}

/* An item failed: result row, failure row with backoff, counters. */
static void record_failure(sync_ctx *c, const char *path, const char *action, rsl_code code,
                           const char *msg, int prev_attempts, int64_t first_ms, uint64_t size,
                           int64_t mtime_ns, int attempts_now, int64_t bytes)
{
    c->rec.counts.item_errors++;
    if (code == RSL_E_LOCAL_VANISHED)
        c->rec.counts.vanished++;
    emit_result(c, path, action, "failed", code, msg, prev_attempts + 1, bytes);
    if (c->o->dry_run)
        return;
    rsl_failure f;
    memset(&f, 0, sizeof(f));
    f.path = (char *)path;
    snprintf(f.action, sizeof(f.action), "%s", action);
    f.code = code;
    snprintf(f.message, sizeof(f.message), "%s", msg ? msg : "");
    f.attempts = prev_attempts + 1;
    f.first_ms = first_ms > 0 ? first_ms : c->now_ms;
    f.last_ms = now_ms();
    f.next_retry_ms = rsl_plan_next_retry(rsl_code_class(code), f.attempts, f.last_ms);
    f.local_size = size;
    f.local_mtime_ns = mtime_ns;
    (void)attempts_now;
    rsl_err e;
    db_write_begin(c);
    if (rsl_state_failure_put(c->st, &f, &e) != RSL_OK)
        logf_(c, RSL_LOG_ERROR, "%s", e.msg);
}

static void clear_failure(sync_ctx *c, const char *path)
{
    if (c->o->dry_run)
        return;
    rsl_err e;
    db_write_begin(c);
    if (rsl_state_failure_del(c->st, path, &e) != RSL_OK)
        logf_(c, RSL_LOG_ERROR, "%s", e.msg);
}

/* Plan notes: validation failures, skips, deferrals, resolved failures. */
static void plan_note(void *ud, const char *path, const char *action, const char *outcome,
                      const rsl_err *e, const rsl_item *it, const rsl_failure *prev)
{
    sync_ctx *c = ud;
    if (strcmp(outcome, "resolved") == 0) {
        clear_failure(c, path);
        return;
    }
    if (c->o->dry_run && c->o->on_plan) {
        char d[700];
        snprintf(d, sizeof(d), "%s: %s", rsl_code_name(e->code), e->msg);
        c->o->on_plan(c->o->ud,
                      strcmp(outcome, "skipped") == 0    ? "skip"
                      : strcmp(outcome, "deferred") == 0 ? "defer"
                                                         : "fail",
                      path, d);
        return;
    }
    if (strcmp(outcome, "failed") == 0) {
        record_failure(c, path, action, e->code, e->msg, prev ? prev->attempts : 0,
                       prev ? prev->first_ms : 0, it ? it->size : 0, it ? it->mtime_ns : 0, 1, 0);
    } else if (strcmp(outcome, "deferred") == 0) {
        c->rec.counts.item_errors++;
        emit_result(c, path, action, "deferred", e->code, e->msg, prev ? prev->attempts : 0, 0);
    } else { /* skipped: informational */
        emit_result(c, path, action, "skipped", e->code, e->msg, 0, 0);
        if (prev)
            clear_failure(c, path);
    }
}

/* ---- connections ---- */

/* The catalog's handling column decides: reconnect and resume, or stop. */
static int is_connection_error(rsl_code rc)
{
    return rsl_code_reconnects(rc);
}

static void sleep_cancellable(sync_ctx *c, double secs)
{
    double end = mono() + secs;
    while (!cancelled(c) && mono() < end) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static rsl_code reconnect(sync_ctx *c, rsl_conn **conn, rsl_err *err)
{
    c->ops->disconnect(*conn);
    *conn = NULL;
    rsl_code rc = RSL_E_CONNECTION_LOST;
    double backoff = 0.5;
    for (int i = 0; i < MAX_ATTEMPTS && !cancelled(c); i++) {
        sleep_cancellable(c, backoff);
        backoff *= 2;
        rc = rsl_remote_connect(&c->rm, conn, err);
        if (rc == RSL_OK || !rsl_code_reconnects(rc))
            return rc;
    }
    if (cancelled(c))
        rc = rsl_err_set(err, RSL_E_INTERRUPTED, 0, "interrupted while reconnecting");
    return rc;
}

/* ---- the upload source ---- */

typedef struct src_ud {
    sync_ctx *c;
    int fd;
    uint64_t pos, total;
    int64_t sent;
    const char *path;
} src_ud;

static void throttle(sync_ctx *c, size_t n)
{
    double rate = (double)c->job->bwlimit;
    pthread_mutex_lock(&c->bw_mu);
    double now = mono();
    double start = c->bw_next > now ? c->bw_next : now;
    c->bw_next = start + (double)n / rate;
    pthread_mutex_unlock(&c->bw_mu);
    if (start > now)
        sleep_cancellable(c, start - now);
}

static ssize_t src_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    src_ud *u = s->ud;
    sync_ctx *c = u->c;
    if (cancelled(c)) {
        rsl_err_set(err, RSL_E_INTERRUPTED, 0, "'%s': interrupted; the upload resumes next run",
                    u->path);
        return -1;
    }
    if (u->pos >= u->total)
        return 0;
    if (n > u->total - u->pos)
        n = (size_t)(u->total - u->pos);
    if (c->job->bwlimit) {
        size_t slice = (size_t)(c->job->bwlimit / 10);
        if (slice < 4096)
            slice = 4096;
        if (n > slice)
            n = slice;
        throttle(c, n);
        if (cancelled(c)) {
            rsl_err_set(err, RSL_E_INTERRUPTED, 0, "'%s': interrupted; the upload resumes next run",
                        u->path);
            return -1;
        }
    }
    ssize_t r;
    do {
        r = read(u->fd, buf, n);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "'%s': read failed: %s", u->path,
                    strerror(errno));
        return -1;
    }
    if (r == 0) {
        rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                    "'%s': the file shrank while it was being uploaded (at byte %llu of %llu)",
                    u->path, (unsigned long long)u->pos, (unsigned long long)u->total);
        return -1;
    }
    u->pos += (uint64_t)r;
    u->sent += r;
    __atomic_add_fetch(&c->bytes_done, r, __ATOMIC_RELAXED);
    return r;
}

static ssize_t src_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    src_ud *u = s->ud;
    ssize_t r = pread(u->fd, buf, n, (off_t)off);
    if (r < 0)
        rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "'%s': read failed: %s", u->path,
                    strerror(errno));
    return r;
}

/* ---- events ---- */

static void post(sync_ctx *c, event *ev)
{
    pthread_mutex_lock(&c->mu);
    ev->next = NULL;
    if (c->ev_tail)
        c->ev_tail->next = ev;
    else
        c->ev_head = ev;
    c->ev_tail = ev;
    pthread_cond_signal(&c->cv_main);
    if (ev->kind == EV_BEGIN)
        while (!ev->acked)
            pthread_cond_wait(&c->cv_ack, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static int take_file(sync_ctx *c, size_t *idx)
{
    int ok = 0;
    pthread_mutex_lock(&c->mu);
    if (!cancelled(c) && !c->abort_files && c->next_file < c->n_files) {
        *idx = c->files[c->next_file++];
        c->current_idx = *idx;
        c->have_current = 1;
        ok = 1;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

/* Workers: when the first uploads are all refused for lack of space or
 * permission, stop handing out files (the main thread then fails the session
 * with ALL_WRITES_FAILED): going on would fail the same way for every file. */
static void note_write_result(sync_ctx *c, rsl_code rc)
{
    pthread_mutex_lock(&c->mu);
    if (rc == RSL_OK) {
        c->any_file_ok = 1;
        c->write_fail_streak = 0;
    } else if (rc == RSL_E_REMOTE_NO_SPACE || rc == RSL_E_REMOTE_PERMISSION) {
        if (++c->write_fail_streak >= ALL_FAIL_LIMIT && !c->any_file_ok)
            c->abort_files = 1;
    } else {
        c->write_fail_streak = 0;
    }
    pthread_mutex_unlock(&c->mu);
}

static int parent_failed(const sync_ctx *c, const char *path)
{
    for (size_t i = 0; i < c->n_failed_dirs; i++) {
        size_t l = strlen(c->failed_dirs[i]);
        if (strncmp(path, c->failed_dirs[i], l) == 0 && path[l] == '/')
            return 1;
    }
    return 0;
}

/* Uploads one file: open, (resume | fresh start with a durable record),
 * upload, check the local file did not change, finish (size check, rename,
 * mtime). Reconnects and resumes on connection errors. */
static rsl_code upload_one(worker *w, size_t idx, event *ev, rsl_err *err)
{
    sync_ctx *c = w->c;
    const rsl_item *it = &c->plan.items.v[idx];
    char full[PATH_MAX * 2], tmp[PATH_MAX * 2];
    snprintf(full, sizeof(full), "%s/%s", c->job->source, it->path);
    snprintf(tmp, sizeof(tmp), "%s%s", it->path, c->job->temp_suffix);
    int fd = open(full, O_RDONLY | O_CLOEXEC | (it->followed ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return rsl_err_set(err, RSL_E_LOCAL_VANISHED, e,
                               "'%s' vanished between the scan and its upload", it->path);
        if (e == ELOOP)
            return rsl_err_set(err, RSL_E_TYPE_CHANGED, e, "'%s' became a symbolic link", it->path);
        return rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, e, "'%s' cannot be opened: %s", it->path,
                           strerror(e));
    }
    rsl_code rc = RSL_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = rsl_err_set(err, RSL_E_TYPE_CHANGED, 0, "'%s' is no longer a regular file", it->path);
        goto done;
    }
    uint64_t size = (uint64_t)sb.st_size;
    int64_t mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    ev->size = size;
    ev->mtime_ns = mtime_ns;
    if ((rc = rsl_validate(&c->limits, it->path, 0, size, err)) != RSL_OK)
        goto done;
    src_ud su = {.c = c, .fd = fd, .total = size, .path = it->path};
    rsl_source src = {.read = src_read, .pread = src_pread, .ud = &su};
    int record_ok = it->upload_rec_matches && it->size == size && it->mtime_ns == mtime_ns;
    int attempt = 0;
    for (;;) {
        attempt++;
        uint64_t offset = 0;
        rc = RSL_OK;
        if (size >= RESUME_MIN) {
            if (record_ok)
                rc = c->ops->resume_offset(w->conn, tmp, size, &src, &offset, err);
            if (rc == RSL_OK && offset == 0) {
                /* a fresh start: no old temp may survive under the new record */
                rc = c->ops->remove(w->conn, tmp, 0, err);
                if (rc == RSL_OK && !record_ok) {
                    event b = {.kind = EV_BEGIN, .idx = idx, .size = size, .mtime_ns = mtime_ns};
                    post(c, &b);
                    record_ok = 1;
                }
            } else if (rc == RSL_OK) {
                logf_(c, RSL_LOG_INFO, "'%s': resuming at byte %llu of %llu", it->path,
                      (unsigned long long)offset, (unsigned long long)size);
            }
        }
        if (rc == RSL_OK) {
            if (lseek(fd, (off_t)offset, SEEK_SET) < 0) {
                rc = rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "'%s': seek failed: %s",
                                 it->path, strerror(errno));
                break;
            }
            su.pos = offset;
            rc = c->ops->upload(w->conn, tmp, offset, size, &src, err);
        }
        if (rc == RSL_OK) {
            struct stat a, b;
            if (stat(full, &b) != 0) {
                rc = rsl_err_set(err, RSL_E_LOCAL_VANISHED, errno,
                                 "'%s' was deleted while it was being uploaded", it->path);
                break;
            }
            if (fstat(fd, &a) != 0 || (uint64_t)a.st_size != size ||
                a.st_mtim.tv_sec != sb.st_mtim.tv_sec || a.st_mtim.tv_nsec != sb.st_mtim.tv_nsec ||
                b.st_ino != sb.st_ino) {
                rc = rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                                 "'%s' changed while it was being uploaded", it->path);
                break;
            }
            rc = c->ops->finish(w->conn, tmp, it->path, size, (int64_t)sb.st_mtim.tv_sec, err);
        }
        if (rc == RSL_OK || !is_connection_error(rc) || attempt >= MAX_ATTEMPTS || cancelled(c))
            break;
        logf_(c, RSL_LOG_WARN, "'%s': %s; reconnecting to resume", it->path, err->msg);
        rsl_err rerr;
        rsl_code r2 = reconnect(c, &w->conn, &rerr);
        if (r2 != RSL_OK) {
            w->dead = 1;
            w->dead_err = rerr;
            break;
        }
    }
    ev->bytes_sent = su.sent;
    ev->attempts = attempt;
done:
    close(fd);
    return rc;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sync_ctx *c = w->c;
    if (w->conn == NULL) {
        rsl_code rc = rsl_remote_connect(&c->rm, &w->conn, &w->dead_err);
        if (rc != RSL_OK) {
            w->dead = 1;
            event *ev = calloc(1, sizeof(*ev));
            if (ev) {
                ev->kind = EV_DEAD;
                ev->code = rc;
                snprintf(ev->msg, sizeof(ev->msg), "%s", w->dead_err.msg);
                post(c, ev);
            }
            return NULL;
        }
    }
    size_t idx;
    while (!w->dead && take_file(c, &idx)) {
        event *ev = calloc(1, sizeof(*ev));
        if (ev == NULL)
            break;
        ev->kind = EV_DONE;
        ev->idx = idx;
        rsl_err err;
        rsl_err_clear(&err);
        const rsl_item *it = &c->plan.items.v[idx];
        if (parent_failed(c, it->path)) {
            ev->code = RSL_E_PARENT_FAILED;
            snprintf(ev->msg, sizeof(ev->msg), "'%s': its parent directory was not created",
                     it->path);
            ev->size = it->size;
            ev->mtime_ns = it->mtime_ns;
        } else {
            ev->code = upload_one(w, idx, ev, &err);
            if (ev->code != RSL_OK)
                snprintf(ev->msg, sizeof(ev->msg), "%s", err.msg);
        }
        note_write_result(c, ev->code);
        post(c, ev);
    }
    if (w->dead) {
        event *ev = calloc(1, sizeof(*ev));
        if (ev) {
            ev->kind = EV_DEAD;
            ev->code = w->dead_err.code;
            snprintf(ev->msg, sizeof(ev->msg), "%s", w->dead_err.msg);
            post(c, ev);
        }
    }
    return NULL;
}

static void session_error(sync_ctx *c, rsl_code code, const char *msg)
{
    if (c->session_failed)
        return;
    c->session_failed = 1;
    rsl_err_set(&c->session_err, code, 0, "%s", msg);
}

/* Main thread: one event. */
static void handle_event(sync_ctx *c, event *ev)
{
    if (ev->kind == EV_BEGIN) {
        const rsl_item *it = &c->plan.items.v[ev->idx];
        db_commit(c); /* the record must be durable on its own */
        rsl_err e;
        if (rsl_state_upload_put(c->st, it->path, ev->size, ev->mtime_ns, now_ms(), &e) != RSL_OK)
            logf_(c, RSL_LOG_ERROR, "%s", e.msg);
        return;
    }
    if (ev->kind == EV_DEAD) {
        logf_(c, RSL_LOG_WARN, "a transfer connection failed: %s", ev->msg);
        /* only a session error if no worker is left to do the work */
        if (c->workers_running <= 1)
            session_error(c, ev->code, ev->msg);
        else
            c->session_err.code = c->session_err.code ? c->session_err.code : ev->code;
        return;
    }
    const rsl_item *it = &c->plan.items.v[ev->idx];
    const char *action =
        rsl_action_name(it->action == RSL_ACT_REPLACE ? RSL_ACT_REPLACE : it->action);
    c->rec.counts.transferred_bytes += ev->bytes_sent;
    c->files_done++;
    if (ev->code == RSL_OK) {
        rsl_err e;
        db_write_begin(c);
        if (rsl_state_manifest_put(c->st, it->path, RSL_TYPE_FILE, ev->size, ev->mtime_ns,
                                   c->run_id, &e) != RSL_OK)
            logf_(c, RSL_LOG_ERROR, "%s", e.msg);
        if (it->has_upload_rec || ev->size >= RESUME_MIN)
            rsl_state_upload_del(c->st, it->path, &e);
        if (it->prev_attempts > 0)
            clear_failure(c, it->path);
        c->rec.counts.files_applied++;
        c->rec.counts.transferred_files++;
        c->rec.counts.bytes_applied += (int64_t)ev->size;
        emit_result(c, it->path, action, "ok", 0, "", it->prev_attempts + 1, ev->bytes_sent);
    } else if (ev->code == RSL_E_INTERRUPTED) {
        emit_result(c, it->path, action, "interrupted", ev->code, ev->msg, it->prev_attempts,
                    ev->bytes_sent);
    } else {
        c->rec.counts.failed_files++;
        c->rec.counts.failed_bytes += (int64_t)(ev->size ? ev->size : it->size);
        if (c->abort_files && !c->session_failed) {
            char m[600];
            snprintf(m, sizeof(m), "the first %d uploads all failed (last: %s: %s); stopped early",
                     ALL_FAIL_LIMIT, rsl_code_name(ev->code), ev->msg);
            session_error(c, RSL_E_ALL_WRITES_FAILED, m);
        }
        record_failure(c, it->path, action, ev->code, ev->msg, it->prev_attempts,
                       it->first_failed_ms, ev->size ? ev->size : it->size,
                       ev->mtime_ns ? ev->mtime_ns : it->mtime_ns, ev->attempts, ev->bytes_sent);
    }
}

static void report_progress(sync_ctx *c, const char *current)
{
    if (c->o->on_progress == NULL)
        return;
    rsl_progress p = {.files_done = c->files_done,
                      .files_total = (int64_t)c->n_files,
                      .bytes_done = __atomic_load_n(&c->bytes_done, __ATOMIC_RELAXED),
                      .bytes_total = (int64_t)c->plan.bytes_to_send,
                      .totals_final = 1,
                      .current = current};
    c->o->on_progress(c->o->ud, &p);
}

/* Runs the workers until every file is done or no worker is left. */
static void run_workers(sync_ctx *c, rsl_conn **conn0)
{
    int n = c->job->transfers;
    if ((size_t)n > c->n_files)
        n = (int)c->n_files;
    if (n < 1)
        return;
    worker *ws = calloc((size_t)n, sizeof(*ws));
    if (ws == NULL) {
        session_error(c, RSL_E_NO_MEMORY, "out of memory");
        return;
    }
    c->workers_running = 0;
    for (int i = 0; i < n; i++) {
        ws[i].c = c;
        if (i == 0) {
            ws[i].conn = *conn0;
            *conn0 = NULL;
        }
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) == 0) {
            ws[i].started = 1;
            pthread_mutex_lock(&c->mu);
            c->workers_running++;
            pthread_mutex_unlock(&c->mu);
        } else if (i == 0) {
            *conn0 = ws[i].conn;
            ws[i].conn = NULL;
        }
    }
    /* drain events until all workers have finished */
    int live = c->workers_running;
    size_t done_events = 0;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->ev_head) {
            event *ev = c->ev_head;
            c->ev_head = ev->next;
            if (c->ev_head == NULL)
                c->ev_tail = NULL;
            pthread_mutex_unlock(&c->mu);
            handle_event(c, ev);
            pthread_mutex_lock(&c->mu);
            if (ev->kind == EV_BEGIN) {
                ev->acked = 1;
                pthread_cond_broadcast(&c->cv_ack);
            } else {
                if (ev->kind == EV_DONE)
                    done_events++;
                if (ev->kind == EV_DEAD)
                    c->workers_running--;
                free(ev);
            }
        }
        int all_taken = c->next_file >= c->n_files || cancelled(c) || c->abort_files;
        if ((all_taken && done_events >= c->next_file) || c->workers_running <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv_main, &c->mu, &ts);
        const char *current = c->have_current ? c->plan.items.v[c->current_idx].path : NULL;
        pthread_mutex_unlock(&c->mu);
        db_maybe_commit(c);
        report_progress(c, current);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    (void)live;
    for (int i = 0; i < n; i++)
        if (ws[i].started)
            pthread_join(ws[i].th, NULL);
    /* events posted after the loop ended (a late EV_DEAD) */
    while (c->ev_head) {
        event *ev = c->ev_head;
        c->ev_head = ev->next;
        handle_event(c, ev);
        if (ev->kind != EV_BEGIN)
            free(ev);
    }
    c->ev_tail = NULL;
    /* keep one live connection for the deletes */
    for (int i = 0; i < n; i++) {
        if (ws[i].conn && *conn0 == NULL && !ws[i].dead)
            *conn0 = ws[i].conn;
        else if (ws[i].conn)
            c->ops->disconnect(ws[i].conn);
    }
    free(ws);
}

/* ---- phases on the main connection ---- */

/* Runs a remote call on the main connection, reconnecting once on a
 * connection error. op: 0 mkdir, 1 remove file, 2 remove dir. */
static rsl_code main_op(sync_ctx *c, rsl_conn **conn, int op, const char *path, rsl_err *err)
{
    for (int attempt = 0;; attempt++) {
        if (*conn == NULL) {
            rsl_code rc = reconnect(c, conn, err);
            if (rc != RSL_OK)
                return rc;
        }
        rsl_code rc = op == 0   ? c->ops->mkdir(*conn, path, err)
                      : op == 1 ? c->ops->remove(*conn, path, 0, err)
                                : c->ops->remove(*conn, path, 1, err);
        if (rc == RSL_OK || !is_connection_error(rc) || attempt >= MAX_ATTEMPTS - 1)
            return rc;
        logf_(c, RSL_LOG_WARN, "%s; reconnecting", err->msg);
        c->ops->disconnect(*conn);
        *conn = NULL;
    }
}

static int add_failed_dir(sync_ctx *c, const char *path)
{
    char **n = realloc(c->failed_dirs, (c->n_failed_dirs + 1) * sizeof(*n));
    if (n == NULL)
        return -1;
    c->failed_dirs = n;
    if ((n[c->n_failed_dirs] = strdup(path)) == NULL)
        return -1;
    c->n_failed_dirs++;
    return 0;
}

static int is_under_path(const char *path, const char *dir)
{
    size_t l = strlen(dir);
    return strncmp(path, dir, l) == 0 && path[l] == '/';
}

/* Deletes one remote item recorded in the manifest; records the result. */
static int delete_item(sync_ctx *c, rsl_conn **conn, const rsl_item *d, const char *action)
{
    rsl_err e;
    rsl_code rc = main_op(c, conn, d->old_type == RSL_TYPE_DIR ? 2 : 1, d->path, &e);
    if (rc == RSL_OK) {
        db_write_begin(c);
        rsl_err e2;
        if (rsl_state_manifest_del(c->st, d->path, &e2) != RSL_OK)
            logf_(c, RSL_LOG_ERROR, "%s", e2.msg);
        if (d->prev_attempts > 0)
            clear_failure(c, d->path);
        c->rec.counts.deletes_applied++;
        emit_result(c, d->path, action, "ok", 0, "", d->prev_attempts + 1, 0);
        return 0;
    }
    if (is_connection_error(rc)) {
        session_error(c, rc, e.msg);
        return -1;
    }
    record_failure(c, d->path, action, rc, e.msg, d->prev_attempts, 0, d->size, 0, 1, 0);
    return 0;
}

/* Write-ahead: before any remote change, every item this run may create is
 * recorded as a pending manifest row, in one transaction. If the process dies
 * after the remote change but before its result is recorded, the next run
 * still knows the item may exist remotely (and deletes it if it is gone
 * locally) instead of leaving an orphan. Replacements keep their old row until
 * the old remote item is removed (phase_dirs writes the pending row then). */
static rsl_code register_pending(sync_ctx *c, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    for (size_t i = 0; i < c->plan.items.n && rc == RSL_OK; i++) {
        const rsl_item *it = &c->plan.items.v[i];
        if (it->action != RSL_ACT_CREATE && it->action != RSL_ACT_MKDIR)
            continue;
        db_write_begin(c);
        rc = rsl_state_manifest_put_pending(c->st, it->path, it->type, c->run_id, err);
    }
    db_commit(c);
    return rc;
}

/* Directories (parents first) and type replacements, before any file. */
static void phase_dirs(sync_ctx *c, rsl_conn **conn)
{
    for (size_t i = 0; i < c->plan.items.n && !c->session_failed && !cancelled(c); i++) {
        rsl_item *it = &c->plan.items.v[i];
        if (it->type == RSL_TYPE_FILE && it->action != RSL_ACT_REPLACE)
            continue;
        if (parent_failed(c, it->path)) {
            if (it->type == RSL_TYPE_DIR) {
                add_failed_dir(c, it->path);
                record_failure(c, it->path, "mkdir", RSL_E_PARENT_FAILED,
                               "its parent directory was not created", it->prev_attempts,
                               it->first_failed_ms, 0, it->mtime_ns, 1, 0);
            }
            continue;
        }
        rsl_err e;
        rsl_code rc = RSL_OK;
        if (it->action == RSL_ACT_REPLACE) {
            /* remove what the remote has at this path first */
            if (it->old_type == RSL_TYPE_DIR) {
                for (size_t k = c->plan.replace_del.n; k-- > 0;) {
                    rsl_item *d = &c->plan.replace_del.v[k];
                    if (is_under_path(d->path, it->path) && d->action == RSL_ACT_DELETE) {
                        if (delete_item(c, conn, d, "delete") < 0)
                            return;
                        d->action = RSL_ACT_NONE;
                    }
                }
            }
            rc = main_op(c, conn, it->old_type == RSL_TYPE_DIR ? 2 : 1, it->path, &e);
            if (rc == RSL_OK) {
                /* the old item is gone; the new one may appear: pending */
                db_write_begin(c);
                rsl_err e2;
                rsl_state_manifest_put_pending(c->st, it->path, it->type, c->run_id, &e2);
                db_commit(c);
            }
        }
        if (rc == RSL_OK && it->type == RSL_TYPE_DIR)
            rc = main_op(c, conn, 0, it->path, &e);
        if (rc == RSL_OK) {
            if (it->type == RSL_TYPE_DIR) {
                db_write_begin(c);
                rsl_err e2;
                if (rsl_state_manifest_put(c->st, it->path, RSL_TYPE_DIR, 0, it->mtime_ns,
                                           c->run_id, &e2) != RSL_OK)
                    logf_(c, RSL_LOG_ERROR, "%s", e2.msg);
                if (it->prev_attempts > 0)
                    clear_failure(c, it->path);
                c->rec.counts.dirs_applied++;
                emit_result(c, it->path, rsl_action_name(it->action), "ok", 0, "",
                            it->prev_attempts + 1, 0);
            }
            db_maybe_commit(c);
            continue;
        }
        if (is_connection_error(rc)) {
            session_error(c, rc, e.msg);
            return;
        }
        if (it->type == RSL_TYPE_DIR)
            add_failed_dir(c, it->path);
        else
            it->action = RSL_ACT_NONE; /* the file cannot be placed */
        record_failure(
            c, it->path, rsl_action_name(it->action == RSL_ACT_NONE ? RSL_ACT_REPLACE : it->action),
            rc, e.msg, it->prev_attempts, it->first_failed_ms, it->size, it->mtime_ns, 1, 0);
    }
}

static void phase_deletes(sync_ctx *c, rsl_conn **conn)
{
    if (!c->job->delete_)
        return;
    for (size_t k = c->plan.deletes.n; k-- > 0 && !c->session_failed && !cancelled(c);) {
        if (delete_item(c, conn, &c->plan.deletes.v[k], "delete") < 0)
            return;
        db_maybe_commit(c);
    }
}

static void phase_stale_temps(sync_ctx *c, rsl_conn **conn)
{
    for (size_t k = 0; k < c->plan.stale_temps.n && !c->session_failed && !cancelled(c); k++) {
        const char *path = c->plan.stale_temps.v[k].path;
        char tmp[PATH_MAX * 2];
        snprintf(tmp, sizeof(tmp), "%s%s", path, c->job->temp_suffix);
        rsl_err e;
        if (main_op(c, conn, 1, tmp, &e) == RSL_OK) {
            db_write_begin(c);
            rsl_state_upload_del(c->st, path, &e);
        }
    }
}

/* The manifest describes one remote. When the job now points at another
 * one, what it says is worthless there: forget it (after a dry run: only
 * plan as if it were empty) and say so loudly. The destination is compared in
 * canonical form, so "file:///x/" and "file:///x" are the same. */
static rsl_code check_destination(sync_ctx *c, int *changed, rsl_err *err)
{
    char now[4200], before[4200];
    snprintf(now, sizeof(now), "%s://%s@%s:%d%s", c->rm.ep.scheme,
             c->rm.ep.user ? c->rm.ep.user : "", c->rm.ep.host ? c->rm.ep.host : "", c->rm.ep.port,
             c->rm.ep.path);
    *changed = 0;
    int known = rsl_state_kv_get(c->st, "job:destination", before, sizeof(before));
    if (known && strcmp(before, now) != 0) {
        *changed = 1;
        logf_(c, RSL_LOG_WARN,
              "the destination changed (was %s, now %s): what was sent to the old one is "
              "forgotten and everything is sent again",
              before, now);
    }
    if (c->o->dry_run || (known && !*changed))
        return RSL_OK;
    rsl_code rc = RSL_OK;
    if (*changed && (rc = rsl_state_forget_remote(c->st, err)) != RSL_OK)
        return rc;
    return rsl_state_kv_set(c->st, "job:destination", now, err);
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

static void dry_run_report(sync_ctx *c)
{
    if (c->o->on_plan == NULL)
        return;
    char d[128];
    for (size_t i = 0; i < c->plan.items.n; i++) {
        const rsl_item *it = &c->plan.items.v[i];
        if (it->type == RSL_TYPE_FILE) {
            rsl_fmt_bytes(d, sizeof(d), it->size);
            if (it->upload_rec_matches)
                strncat(d, ", resumable", sizeof(d) - strlen(d) - 1);
        } else {
            snprintf(d, sizeof(d), "directory");
        }
        c->o->on_plan(c->o->ud, rsl_action_name(it->action), it->path, d);
    }
    for (size_t i = 0; i < c->plan.replace_del.n; i++)
        c->o->on_plan(c->o->ud, "delete", c->plan.replace_del.v[i].path,
                      "inside a directory replaced by a file");
    for (size_t i = c->plan.deletes.n; i-- > 0;)
        c->o->on_plan(c->o->ud, c->job->delete_ ? "delete" : "keep", c->plan.deletes.v[i].path,
                      c->job->delete_ ? "gone locally" : "gone locally; delete = no");
}

int rsl_sync_run(const rsl_job *job, const rsl_run_opts *o, rsl_run_record *out, rsl_err *err)
{
    sync_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        return RSL_EXIT_SESSION;
    }
    rsl_err_clear(err);
    c->job = job;
    c->o = o;
    c->now_ms = now_ms();
    c->last_commit_ms = c->now_ms;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->bw_mu, NULL);
    pthread_mutex_init(&c->kv_mu, NULL);
    pthread_cond_init(&c->cv_main, NULL);
    pthread_cond_init(&c->cv_ack, NULL);
    int lockfd = -1;
    rsl_conn *conn = NULL;
    rsl_failure *fails = NULL;
    size_t nfails = 0;
    rsl_upload_rec *ups = NULL;
    size_t nups = 0;
    rsl_code rc;
    int exit_code;
    snprintf(c->rec.mode, sizeof(c->rec.mode), "%s",
             o->mode ? o->mode : (o->only_failed ? "only-failed" : "normal"));
    c->rec.started_ms = c->now_ms;

    if ((rc = rsl_remote_init(&c->rm, job, 0, err)) != RSL_OK)
        goto fail_early;
    c->ops = c->rm.ops;
    c->rm.opts.log = t_log;
    c->rm.opts.cache_get = t_cache_get;
    c->rm.opts.cache_set = t_cache_set;
    c->rm.opts.ud = c;
    c->limits = (rsl_limits){.forbidden_chars = job->forbidden_chars,
                             .max_name_length = job->max_name_length,
                             .max_path_length = job->max_path_length,
                             .temp_suffix = job->temp_suffix,
                             .remote_root_len = strlen(c->rm.ep.path),
                             .max_file_size = job->max_file_size,
                             .allow_empty_files = job->allow_empty_files};

    if ((rc = rsl_lock_acquire(job->state_path, &lockfd, err)) != RSL_OK)
        goto fail_early;
    if ((rc = rsl_state_open(&c->st, job->state_path,
                             o->dry_run ? RSL_STATE_READONLY : RSL_STATE_RDWR, err)) != RSL_OK)
        goto fail_early;
    if (!o->dry_run) {
        if ((rc = rsl_state_runs_close_stale(c->st, c->now_ms, err)) != RSL_OK ||
            (rc = rsl_state_run_begin(c->st, c->rec.mode, c->now_ms, &c->run_id, err)) != RSL_OK)
            goto fail_early;
        c->rec.id = c->run_id;
    }
    int new_destination = 0;
    if ((rc = check_destination(c, &new_destination, err)) != RSL_OK)
        goto fail_run;
    if ((rc = rsl_state_failures_load(c->st, &fails, &nfails, err)) != RSL_OK ||
        (rc = rsl_state_uploads_load(c->st, &ups, &nups, err)) != RSL_OK ||
        (rc = rsl_state_kv_foreach(c->st, kv_load_cb, c, err)) != RSL_OK)
        goto fail_run;

    rsl_plan_ctx pc = {.job = job,
                       .st = c->st,
                       .failures = fails,
                       .n_failures = nfails,
                       .uploads = ups,
                       .n_uploads = nups,
                       .limits = c->limits,
                       .now_ms = c->now_ms,
                       .only_failed = o->only_failed,
                       .ignore_manifest = new_destination,
                       .note = plan_note,
                       .ud = c,
                       .cancel = o->cancel};
    rc = rsl_plan_build(&c->plan, &pc, err);
    c->rec.counts.scanned_files = c->plan.scanned_files;
    c->rec.counts.scanned_dirs = c->plan.scanned_dirs;
    c->rec.counts.unchanged = c->plan.unchanged;
    c->rec.counts.skipped = c->plan.skipped;
    if (rc != RSL_OK)
        goto fail_run;

    /* deletion guards, before anything touches the remote */
    long limit = o->max_delete_override >= 0 ? o->max_delete_override : job->max_delete;
    size_t n_del = (job->delete_ ? c->plan.deletes.n : 0) + c->plan.replace_del.n;
    if ((long)n_del > limit) {
        rc = rsl_err_set(err, RSL_E_MAX_DELETE, (long)n_del,
                         "this run would delete %zu remote item(s) but max_delete = %ld; nothing "
                         "was deleted or uploaded (check the source, or run once with "
                         "--max-delete %zu)",
                         n_del, limit, n_del);
        goto fail_run;
    }
    for (size_t i = 0; i < c->plan.items.n; i++)
        if (c->plan.items.v[i].type == RSL_TYPE_FILE)
            c->n_files++;
    if (o->dry_run) {
        dry_run_report(c);
        exit_code =
            rsl_sync_exit_code(RSL_OK, 0, c->rec.counts.item_errors, c->rec.counts.vanished);
        snprintf(c->rec.outcome, sizeof(c->rec.outcome), "dry_run");
        goto finish;
    }
    int work =
        c->plan.items.n > 0 || (job->delete_ && c->plan.deletes.n > 0) || c->plan.stale_temps.n > 0;
    if (work) {
        if ((rc = rsl_remote_connect(&c->rm, &conn, err)) != RSL_OK)
            goto fail_run;
        if ((rc = register_pending(c, err)) != RSL_OK)
            goto fail_run;
        phase_dirs(c, &conn);
        if (!c->session_failed && c->n_files > 0) {
            c->files = malloc(c->n_files * sizeof(*c->files));
            if (c->files == NULL) {
                rc = rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
                goto fail_run;
            }
            size_t k = 0;
            for (size_t i = 0; i < c->plan.items.n; i++) {
                const rsl_item *it = &c->plan.items.v[i];
                if (it->type == RSL_TYPE_FILE && it->action != RSL_ACT_NONE)
                    c->files[k++] = i;
            }
            c->n_files = k;
            run_workers(c, &conn);
        }
        if (!c->session_failed && !cancelled(c))
            phase_deletes(c, &conn);
        if (!c->session_failed && !cancelled(c))
            phase_stale_temps(c, &conn);
    }
    if (cancelled(c) && !c->session_failed)
        session_error(c, RSL_E_INTERRUPTED, "interrupted by a signal; the next run resumes");
    if (c->session_failed) {
        rc = c->session_err.code;
        *err = c->session_err;
    } else {
        rc = RSL_OK;
    }
    goto record;

fail_run:
    /* a session error after the run row exists */
    c->session_failed = 1;
    c->session_err = *err;
record:;
    int64_t applied =
        c->rec.counts.files_applied + c->rec.counts.dirs_applied + c->rec.counts.deletes_applied;
    exit_code = rsl_sync_exit_code(c->session_failed ? rc : RSL_OK, applied,
                                   c->rec.counts.item_errors, c->rec.counts.vanished);
    if (c->session_failed && rc == RSL_E_INTERRUPTED)
        snprintf(c->rec.outcome, sizeof(c->rec.outcome), "interrupted");
    else if (c->session_failed)
        snprintf(c->rec.outcome, sizeof(c->rec.outcome), "%s",
                 applied > 0 ? "partial_failure" : "failure");
    else
        snprintf(c->rec.outcome, sizeof(c->rec.outcome), "%s",
                 c->rec.counts.item_errors > 0 ? "partial_failure" : "success");
    c->rec.exit_code = exit_code;
    c->rec.code = c->session_failed ? (int)rc : 0;
    snprintf(c->rec.message, sizeof(c->rec.message), "%s", c->session_failed ? err->msg : "");
    c->rec.ended_ms = now_ms();
    if (c->st && c->run_id > 0) {
        rsl_err e;
        db_write_begin(c);
        if (c->kv_dirty)
            for (size_t i = 0; i < c->n_kvs; i++)
                rsl_state_kv_set(c->st, c->kvs[i].k, c->kvs[i].v, &e);
        if (rsl_state_run_end(c->st, &c->rec, &e) != RSL_OK)
            logf_(c, RSL_LOG_ERROR, "%s", e.msg);
        db_commit(c);
    }
    goto finish;

fail_early:
    /* nothing recorded: config/lock/state problems */
    exit_code = rsl_sync_exit_code(rc, 0, 0, 0);
    snprintf(c->rec.outcome, sizeof(c->rec.outcome), "failure");
    c->rec.exit_code = exit_code;
    c->rec.code = (int)rc;
    snprintf(c->rec.message, sizeof(c->rec.message), "%s", err->msg);
    c->rec.ended_ms = now_ms();

finish:
    if (conn)
        c->ops->disconnect(conn);
    *out = c->rec;
    rsl_plan_free(&c->plan);
    rsl_failures_free(fails, nfails);
    rsl_uploads_free(ups, nups);
    rsl_state_close(c->st);
    rsl_lock_release(lockfd);
    rsl_remote_free(&c->rm);
    for (size_t i = 0; i < c->n_kvs; i++) {
        free(c->kvs[i].k);
        free(c->kvs[i].v);
    }
    free(c->kvs);
    for (size_t i = 0; i < c->n_failed_dirs; i++)
        free(c->failed_dirs[i]);
    free(c->failed_dirs);
    free(c->files);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->bw_mu);
    pthread_mutex_destroy(&c->kv_mu);
    pthread_cond_destroy(&c->cv_main);
    pthread_cond_destroy(&c->cv_ack);
    free(c);
    return exit_code;
}
