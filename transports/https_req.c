/*
 * https_req.c - requests on an https connection. See https_req.h.
 *
 * Every request is an easy handle copied from the connection's template
 * (TLS, auth, timeouts set once at connect, https.c) and added to the
 * connection's multi handle; rsl_https_step() moves them along, enforces
 * the deadlines and hands finished ones to their callback. What a finished
 * request came to is decided by rsl_https_io_result() (libcurl failures,
 * deadlines, the source's errors) and rsl_https_map_http() (statuses).
 */
#define _GNU_SOURCE
#include "https_req.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curlmap.h"
#include "pct.h"

enum { IO_IDLE = 0, IO_ACTIVE, IO_STASHED, IO_DONE };

int64_t rsl_https_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rsl_https_log(rsl_conn *c, int level, const char *fmt, ...)
{
    if (c->opts == NULL || c->opts->log == NULL)
        return;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->opts->log(c->opts->ud, level, msg);
}

void rsl_https_sanitize(char *buf, size_t bufsz, const char *s, size_t cap)
{
    size_t i = 0;
    if (bufsz == 0)
        return;
    for (; s != NULL && s[i] != '\0' && i < cap && i + 1 < bufsz; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    buf[i] = '\0';
    if (s != NULL && s[i] != '\0' && i >= 3 && (i == cap || i + 1 == bufsz))
        memcpy(buf + i - 3, "...", 3);
}

char *rsl_https_url(const rsl_conn *c, const char *rel, int coll)
{
    char *enc = rsl_pct_encode_path(rel);
    if (enc == NULL)
        return NULL;
    char *u = NULL;
    int tail = coll && rel[0] != '\0';
    if (asprintf(&u, "%s%s/%s%s", c->origin, c->root_enc, enc, tail ? "/" : "") < 0)
        u = NULL;
    free(enc);
    return u;
}

struct curl_slist *rsl_https_hdr(struct curl_slist *l, const char *line)
{
    struct curl_slist *n = curl_slist_append(l, line);
    if (n == NULL)
        curl_slist_free_all(l);
    return n;
}

int rsl_https_io_header(rsl_https_io *io, const char *name, char *buf, size_t bufsz)
{
    struct curl_header *hd = NULL;
    if (curl_easy_header(io->h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || hd == NULL)
        return 0;
    snprintf(buf, bufsz, "%s", hd->value);
    return 1;
}

/* ------------------------------------------------------------ callbacks */

static size_t body_max(const rsl_https_io *io)
{
    if (io->r.body_max)
        return io->r.body_max;
    return io->r.body_keep > RSL_HTTPS_ERRBODY_MAX ? io->r.body_keep : RSL_HTTPS_ERRBODY_MAX;
}

/* A 207 to the parser, a 2xx to the sink, anything else into io->body (up
 * to body_keep; past body_max the transfer is cut: capped). */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    rsl_https_io *io = ud;
    size_t n = size * nmemb;
    long st = 0;
    curl_easy_getinfo(io->h, CURLINFO_RESPONSE_CODE, &st);
    if (io->r.dav != NULL && st == 207) {
        io->down += n;
        int pr = rsl_webdav_parser_feed(io->r.dav, ptr, n);
        if (pr < 0) {
            io->dav_failed = 1;
            return 0;
        }
        /* the parser has what it wanted: the rest is read (keeping the
         * connection) only while it stays small */
        if (pr > 0 && (io->dav_rest += n) > RSL_HTTPS_ERRBODY_MAX) {
            io->sink_stopped = 1;
            return 0;
        }
        return n;
    }
    if (io->r.sink != NULL && st >= 200 && st <= 299) {
        io->down += n;
        if (io->r.sink(io->r.sink_ud, ptr, n) != 0) {
            io->sink_stopped = 1;
            return 0;
        }
        return n;
    }
    if (io->down + n > body_max(io)) {
        io->capped = 1;
        return 0;
    }
    io->down += n;
    /* beyond body_keep the bytes are dropped (b->truncated says so) */
    return rsl_buf_append(&io->body, ptr, n) == RSL_BUF_NOMEM ? 0 : n;
}

static uint64_t *src_pos(rsl_https_io *io)
{
    return io->r.src_pos ? io->r.src_pos : &io->own_pos;
}

/* One read of the upload source: below *src_pos a re-read with pread,
 * at it a read() (timed: its sleeps do not count against deadlines). */
static ssize_t pull(rsl_https_io *io, char *buf, size_t n)
{
    rsl_source *s = io->r.src;
    uint64_t *sp = src_pos(io);
    if (io->up_pos < *sp) {
        if (n > *sp - io->up_pos)
            n = (size_t)(*sp - io->up_pos);
        return s->pread(s, buf, n, io->up_pos, io->r.src_err);
    }
    if (io->up_pos > *sp) {
        rsl_err_set(io->r.src_err, RSL_E_INTERNAL, 0,
                    "upload body at %" PRIu64 " but the source was read to %" PRIu64 " only",
                    io->up_pos, *sp);
        return -1;
    }
    int64_t t0 = rsl_https_now_ms();
    ssize_t r = s->read(s, buf, n, io->r.src_err);
    io->c->src_wait_ms += rsl_https_now_ms() - t0;
    if (r > 0)
        *sp += (uint64_t)r;
    return r;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    rsl_https_io *io = ud;
    size_t n = size * nitems;
    if (io->r.mem != NULL) {
        size_t left = io->r.mem_len - io->mem_off;
        if (n > left)
            n = left;
        memcpy(buf, io->r.mem + io->mem_off, n);
        io->mem_off += n;
        return n;
    }
    uint64_t end = io->r.src_off + io->r.src_len;
    if (io->r.src == NULL || io->up_pos >= end)
        return 0;
    if (n > end - io->up_pos)
        n = (size_t)(end - io->up_pos);
    ssize_t r = pull(io, buf, n);
    if (r < 0) {
        io->src_failed = 1;
        return CURL_READFUNC_ABORT;
    }
    if (r == 0) {
        io->src_failed = 1;
        rsl_err_set(io->r.src_err, RSL_E_LOCAL_CHANGED, 0,
                    "the local file ended %" PRIu64 " bytes early while uploading",
                    end - io->up_pos);
        return CURL_READFUNC_ABORT;
    }
    io->up_pos += (uint64_t)r;
    return (size_t)r;
}

/* libcurl rewinds a body when it must send it again (a reused connection
 * the server had closed). Bytes already pulled are not re-sent behind the
 * engine's back (libcurl would send the whole request again on a fresh
 * connection): the request fails instead, and the engine reconnects and
 * resumes. A body that has not started yet can be rewound. */
static int seek_cb(void *ud, curl_off_t offset, int origin)
{
    rsl_https_io *io = ud;
    if (origin != SEEK_SET || offset < 0)
        return CURL_SEEKFUNC_CANTSEEK;
    if (io->r.mem != NULL) {
        if ((size_t)offset > io->r.mem_len)
            return CURL_SEEKFUNC_CANTSEEK;
        io->mem_off = (size_t)offset;
        return CURL_SEEKFUNC_OK;
    }
    if (offset == 0 && io->up_pos == io->r.src_off)
        return CURL_SEEKFUNC_OK;
    return CURL_SEEKFUNC_CANTSEEK;
}

void rsl_https_req_setup(rsl_conn *c)
{
    curl_easy_setopt(c->tmpl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c->tmpl, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c->tmpl, CURLOPT_SEEKFUNCTION, seek_cb);
    /* wait for the HTTP/2 connection rather than opening another */
    curl_easy_setopt(c->tmpl, CURLOPT_PIPEWAIT, 1L);
}

/* ------------------------------------------------------------ requests */

rsl_https_io *rsl_https_io_get(rsl_conn *c)
{
    rsl_https_io *io = c->pool;
    if (io != NULL) {
        c->pool = io->next;
        io->next = NULL;
        return io;
    }
    if ((io = calloc(1, sizeof(*io))) == NULL)
        return NULL;
    if ((io->h = curl_easy_duphandle(c->tmpl)) == NULL) {
        free(io);
        return NULL;
    }
    io->c = c;
    curl_easy_setopt(io->h, CURLOPT_PRIVATE, io);
    curl_easy_setopt(io->h, CURLOPT_ERRORBUFFER, io->errbuf);
    curl_easy_setopt(io->h, CURLOPT_WRITEDATA, io);
    curl_easy_setopt(io->h, CURLOPT_READDATA, io);
    curl_easy_setopt(io->h, CURLOPT_SEEKDATA, io);
    return io;
}

static void unlink_from(rsl_https_io **head, rsl_https_io **tail, rsl_https_io *io)
{
    rsl_https_io *prev = NULL;
    for (rsl_https_io *p = *head; p != NULL; prev = p, p = p->next) {
        if (p != io)
            continue;
        if (prev)
            prev->next = p->next;
        else
            *head = p->next;
        if (tail != NULL && *tail == p)
            *tail = prev;
        p->next = NULL;
        return;
    }
}

void rsl_https_io_put(rsl_conn *c, rsl_https_io *io)
{
    if (io == NULL)
        return;
    if (io->state == IO_ACTIVE) {
        unlink_from(&c->active, NULL, io);
        curl_multi_remove_handle(c->m, io->h);
    } else if (io->state == IO_STASHED) {
        unlink_from(&c->stash, &c->stash_tail, io);
    }
    if (c->last == io)
        c->last = NULL;
    io->state = IO_IDLE;
    io->fn = NULL;
    io->ud = NULL;
    memset(&io->r, 0, sizeof(io->r));
    io->next = c->pool;
    c->pool = io;
}

/* The per-request options of r on io->h. */
static void set_request(rsl_https_io *io, const rsl_https_req *r)
{
    CURL *h = io->h;
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* resets upload / nobody / post */
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(h, CURLOPT_RANGE, r->range);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
    int has_body = r->mem != NULL || r->src != NULL;
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(r->mem ? (uint64_t)r->mem_len : r->src_len));
    } else if (has_body) {
        /* a method with an XML body: upload with a custom verb */
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->mem_len);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

/* Resets io's per-request state for (another run of) its request. */
static void io_rewind(rsl_https_io *io)
{
    io->up_pos = io->r.src_off;
    io->mem_off = 0;
    io->src_failed = 0;
    io->down = 0;
    io->capped = 0;
    io->sink_stopped = 0;
    io->dav_failed = 0;
    io->dav_rest = 0;
    io->deadline_hit = 0;
    io->errbuf[0] = '\0';
    io->status = 0;
    io->cc = CURLE_OK;
    rsl_buf_reset(&io->body, io->r.body_keep);
}

rsl_code rsl_https_start(rsl_conn *c, rsl_https_io *io, const rsl_https_req *r,
                         rsl_https_done_fn fn, void *ud, rsl_err *err)
{
    io->r = *r;
    io->own_pos = r->src_off;
    io_rewind(io);
    set_request(io, r);
    io->t0_ms = rsl_https_now_ms();
    io->src_wait0_ms = c->src_wait_ms;
    io->fn = fn;
    io->ud = ud;
    CURLMcode mc = curl_multi_add_handle(c->m, io->h);
    if (mc != CURLM_OK)
        return rsl_err_set(err, mc == CURLM_OUT_OF_MEMORY ? RSL_E_NO_MEMORY : RSL_E_INTERNAL,
                           (long)mc, "%s '%s' on %s: cannot start the request: %s", r->method,
                           r->url, c->host, curl_multi_strerror(mc));
    io->state = IO_ACTIVE;
    io->next = c->active;
    c->active = io;
    return RSL_OK;
}

/* With HTTP/2, a server that answers before reading the body (403, 413,
 * 500 ...) resets the stream, and libcurl 7.88 may report the reset without
 * the answer. When at most RSL_HTTPS_EARLY_ANSWER_MAX bytes of the body had
 * gone (an early refusal, not a transfer cut off in the middle), the request
 * is sent once more over HTTP/1.1 on a connection of its own, where an early
 * answer is reported reliably, to learn the status. */
static void retry_early_answer(rsl_conn *c, rsl_https_io *io)
{
    if (io->cc != CURLE_HTTP2_STREAM || io->status != 0 || io->src_failed ||
        (io->r.mem == NULL &&
         (io->r.src == NULL || io->up_pos - io->r.src_off > RSL_HTTPS_EARLY_ANSWER_MAX)))
        return;
    io_rewind(io);
    uint64_t len = io->r.mem ? io->r.mem_len : io->r.src_len;
    curl_easy_setopt(io->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(io->h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(io->h, CURLOPT_TIMEOUT_MS,
                     (long)c->timeout * 1000L + (long)(len * 1000 / RSL_HTTPS_MIN_RATE));
    io->cc = curl_easy_perform(io->h);
    curl_easy_setopt(io->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(io->h, CURLOPT_FORBID_REUSE, 0L);
    curl_easy_setopt(io->h, CURLOPT_TIMEOUT_MS, 0L);
    curl_easy_getinfo(io->h, CURLINFO_RESPONSE_CODE, &io->status);
    long n = 0;
    if (curl_easy_getinfo(io->h, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK && n > 0)
        c->nconnects += (unsigned long)n;
}

static void sync_done(void *ud, rsl_https_io *io)
{
    (void)io;
    *(int *)ud = 1;
}

/* io finished with cc: out of the multi handle, its facts recorded, then
 * handed to its fn (kept in the stash during a nested wait). */
static void finish_io(rsl_conn *c, rsl_https_io *io, CURLcode cc)
{
    unlink_from(&c->active, NULL, io);
    curl_multi_remove_handle(c->m, io->h);
    io->cc = cc;
    curl_easy_getinfo(io->h, CURLINFO_RESPONSE_CODE, &io->status);
    long n = 0, v = 0;
    if (curl_easy_getinfo(io->h, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK && n > 0)
        c->nconnects += (unsigned long)n;
    /* the version this connection speaks, not that of a retry over
     * HTTP/1.1 on a connection of its own */
    if (curl_easy_getinfo(io->h, CURLINFO_HTTP_VERSION, &v) == CURLE_OK && v != 0 && io->status > 0)
        c->http_version = v;
    retry_early_answer(c, io);
    if (c->depth > 0 && io->fn != sync_done) {
        io->state = IO_STASHED;
        io->next = NULL;
        if (c->stash_tail)
            c->stash_tail->next = io;
        else
            c->stash = io;
        c->stash_tail = io;
        return;
    }
    io->state = IO_DONE;
    io->fn(io->ud, io);
}

/* The first running request past its deadline, or NULL. */
static rsl_https_io *overdue(rsl_conn *c, int64_t now)
{
    for (rsl_https_io *io = c->active; io != NULL; io = io->next) {
        curl_off_t ul = 0, dl = 0;
        curl_easy_getinfo(io->h, CURLINFO_SIZE_UPLOAD_T, &ul);
        curl_easy_getinfo(io->h, CURLINFO_SIZE_DOWNLOAD_T, &dl);
        int64_t spent = now - io->t0_ms - (c->src_wait_ms - io->src_wait0_ms);
        int64_t allowed = (int64_t)c->timeout * 1000 +
                          (int64_t)(((uint64_t)ul + (uint64_t)dl) * 1000 / RSL_HTTPS_MIN_RATE);
        if (spent > allowed)
            return io;
    }
    return NULL;
}

/* Hands libcurl what its sockets and timer say (waiting at most wait_ms),
 * then finishes the requests that ended and those past their deadline;
 * *got counts them. */
static rsl_code drive(rsl_conn *c, int wait_ms, int *got, rsl_err *err)
{
    CURLMcode mc = rsl_https_events_drive(&c->ev, c->m, wait_ms);
    if (mc != CURLM_OK)
        return rsl_err_set(err, mc == CURLM_OUT_OF_MEMORY ? RSL_E_NO_MEMORY : RSL_E_INTERNAL,
                           (long)mc, "%s: libcurl multi: %s", c->host, curl_multi_strerror(mc));
    int msgs = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(c->m, &msgs)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        rsl_https_io *io = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&io);
        if (io == NULL || io->state != IO_ACTIVE)
            continue;
        finish_io(c, io, msg->data.result);
        (*got)++;
    }
    rsl_https_io *late;
    int64_t now = rsl_https_now_ms();
    while ((late = overdue(c, now)) != NULL) {
        late->deadline_hit = 1;
        finish_io(c, late, CURLE_OPERATION_TIMEDOUT);
        (*got)++;
    }
    return RSL_OK;
}

rsl_code rsl_https_step(rsl_conn *c, int wait_ms, rsl_err *err)
{
    if (c->depth == 0 && c->stash != NULL) {
        while (c->depth == 0 && c->stash != NULL) {
            rsl_https_io *io = c->stash;
            c->stash = io->next;
            if (c->stash == NULL)
                c->stash_tail = NULL;
            io->next = NULL;
            io->state = IO_DONE;
            io->fn(io->ud, io);
        }
        return RSL_OK;
    }
    /* what is ready now; when that finished nothing, wait for more */
    int got = 0;
    rsl_code rc = drive(c, 0, &got, err);
    if (rc == RSL_OK && got == 0 && wait_ms > 0 && c->active != NULL)
        rc = drive(c, wait_ms, &got, err);
    return rc;
}

rsl_code rsl_https_perform(rsl_conn *c, const rsl_https_req *r, long *status, const char *rel,
                           rsl_err *err)
{
    *status = 0;
    if (c->last != NULL)
        rsl_https_io_put(c, c->last);
    rsl_https_io *io = rsl_https_io_get(c);
    if (io == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    int done = 0;
    rsl_code rc = rsl_https_start(c, io, r, sync_done, &done, err);
    c->depth++;
    while (rc == RSL_OK && !done)
        rc = rsl_https_step(c, 1000, err);
    c->depth--;
    if (!done) {
        rsl_https_io_put(c, io);
        return rc;
    }
    c->last = io;
    rc = rsl_https_io_result(io, rel, err);
    if (rc == RSL_OK)
        *status = io->status;
    return rc;
}

/* ------------------------------------------------------------ error maps */

static rsl_code deadline_err(rsl_https_io *io, const char *rel, rsl_err *err)
{
    rsl_conn *c = io->c;
    curl_off_t ul = 0, dl = 0;
    curl_easy_getinfo(io->h, CURLINFO_SIZE_UPLOAD_T, &ul);
    curl_easy_getinfo(io->h, CURLINFO_SIZE_DOWNLOAD_T, &dl);
    double secs = (double)(rsl_https_now_ms() - io->t0_ms) / 1000.0;
    return rsl_err_set(err, RSL_E_TIMEOUT, CURLE_OPERATION_TIMEDOUT,
                       "%s '%s' on %s: not done within its deadline (timeout %d s plus 1 s per "
                       "%u bytes moved): %" PRIu64 " bytes moved in %.1f s",
                       io->r.method, rel[0] ? rel : "/", c->host, c->timeout, RSL_HTTPS_MIN_RATE,
                       (uint64_t)ul + (uint64_t)dl, secs);
}

rsl_code rsl_https_io_result(rsl_https_io *io, const char *rel, rsl_err *err)
{
    rsl_conn *c = io->c;
    CURLcode cc = io->cc;
    if (io->deadline_hit)
        return deadline_err(io, rel, err);
    if (io->src_failed && io->r.src_err != NULL && io->r.src_err->code != RSL_OK &&
        (cc == CURLE_ABORTED_BY_CALLBACK || cc == CURLE_READ_ERROR || cc == CURLE_SEND_ERROR ||
         cc == CURLE_UPLOAD_FAILED)) {
        if (err != io->r.src_err)
            *err = *io->r.src_err; /* the source's own error, unchanged */
        return err->code;
    }
    if (io->dav_failed)
        return rsl_err_set(err, RSL_E_PROTOCOL, 207,
                           "%s '%s' on %s: the multistatus answer cannot be read: %s", io->r.method,
                           rel[0] ? rel : "/", c->host, rsl_webdav_parser_error(io->r.dav));
    if (cc == CURLE_OK)
        return RSL_OK;
    if (cc == CURLE_WRITE_ERROR && io->status > 0 && (io->sink_stopped || io->capped))
        return RSL_OK; /* we stopped reading: the answer is known */
    /* A server may answer an error (401, 403, 413, ...) before reading the
     * request body and then reset the HTTP/2 stream or close the
     * connection: the answer it gave is what counts. */
    int early = cc == CURLE_HTTP2_STREAM || cc == CURLE_HTTP2 || cc == CURLE_SEND_ERROR ||
                cc == CURLE_RECV_ERROR;
    if (early && io->status >= 300 && !io->src_failed)
        return RSL_OK;
    io->status = 0;
    rsl_curlmap_ctx x = {
        .h = io->h, .errbuf = io->errbuf, .host = c->host, .timeout_sec = c->timeout};
    return rsl_curlmap_err(err, &x, cc, io->r.method, rel[0] ? rel : "/");
}

static long retry_after(rsl_https_io *io)
{
    curl_off_t ra = 0;
    if (curl_easy_getinfo(io->h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
        return 0;
    return (long)ra;
}

/* Statuses that mean the same whatever the request. */
static const struct {
    long status;
    rsl_code code;
    const char *text;
} simple[] = {
    {409, RSL_E_REMOTE_NOT_FOUND, "HTTP 409 Conflict (a parent collection is missing)"},
    {412, RSL_E_REMOTE_IO,
     "HTTP 412, the remote file changed meanwhile (ETag); it is uploaded again"},
    {413, RSL_E_REMOTE_TOO_LARGE, "HTTP 413, request body too large"},
    {423, RSL_E_REMOTE_LOCKED, "HTTP 423 Locked"},
    {507, RSL_E_REMOTE_NO_SPACE, "HTTP 507 Insufficient Storage"},
};

/* 401/403/404: credentials, access and existence; at connect they are about
 * the remote root. Returns RSL_OK when st is none of those. */
static rsl_code map_access(rsl_conn *c, rsl_err *err, long st, const char *what, const char *name,
                           int ctx)
{
    int at_connect = ctx == RSL_HTTPS_CTX_CONNECT;
    if (st == 401 && !c->has_auth)
        return rsl_err_set(err, RSL_E_SECRET_MISSING, st,
                           "%s: HTTP 401, the server wants credentials and none are set "
                           "(username + password_file, or token_file)",
                           c->host);
    if (st == 401)
        return rsl_err_set(err, RSL_E_AUTH_FAILED, st,
                           "%s: HTTP 401, the server rejected the credentials (%s)", c->host,
                           c->auth_desc);
    if (st == 403 && at_connect)
        return rsl_err_set(err, RSL_E_AUTH_FAILED, st,
                           "%s: HTTP 403 on the remote root %s: access denied for %s", c->host,
                           c->root_raw, c->auth_desc);
    if (st == 403)
        return rsl_err_set(err, RSL_E_REMOTE_PERMISSION, st, "%s '%s' on %s: HTTP 403 Forbidden",
                           what, name, c->host);
    if (st == 404 && at_connect)
        return rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, st,
                           "%s: the remote root %s does not exist (HTTP 404)", c->host,
                           c->root_raw);
    if (st == 404)
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, st, "%s '%s' on %s: HTTP 404 Not Found",
                           what, name, c->host);
    return RSL_OK;
}

/* 429 and 502-504: the server is busy; Retry-After says for how long. */
static rsl_code map_busy(rsl_https_io *io, rsl_err *err, long st, const char *what,
                         const char *name)
{
    long ra = retry_after(io);
    if (ra > 0)
        return rsl_err_set(err, RSL_E_REMOTE_BUSY, ra,
                           "%s '%s' on %s: HTTP %ld, server busy; Retry-After %ld s", what, name,
                           io->c->host, st, ra);
    return rsl_err_set(err, RSL_E_REMOTE_BUSY, st, "%s '%s' on %s: HTTP %ld, server busy", what,
                       name, io->c->host, st);
}

/* 3xx: never followed; the target is named, as far as a message needs it
 * (printable ASCII, at most 200 characters: it is the server's text). */
static rsl_code map_redirect(rsl_https_io *io, rsl_err *err, long st, const char *what,
                             const char *name)
{
    char *loc = NULL, safe[208];
    curl_easy_getinfo(io->h, CURLINFO_REDIRECT_URL, &loc);
    rsl_https_sanitize(safe, sizeof(safe), loc ? loc : "(no Location header)", 200);
    return rsl_err_set(err, RSL_E_REDIRECT, st,
                       "%s '%s' on %s: HTTP %ld redirect to %s (not followed)", what, name,
                       io->c->host, st, safe);
}

rsl_code rsl_https_map_http(rsl_https_io *io, rsl_err *err, long st, const char *what,
                            const char *rel, int ctx)
{
    rsl_conn *c = io->c;
    const char *name = rel[0] ? rel : "/";
    rsl_code rc = map_access(c, err, st, what, name, ctx);
    if (rc != RSL_OK)
        return rc;
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
        if (simple[i].status == st)
            return rsl_err_set(err, simple[i].code, st, "%s '%s' on %s: %s", what, name, c->host,
                               simple[i].text);
    if (st == 301 || st == 302 || st == 303 || st == 307 || st == 308)
        return map_redirect(io, err, st, what, name);
    if (st == 405 || st == 501)
        return rsl_err_set(err, RSL_E_METHOD_NOT_ALLOWED, st,
                           "%s '%s' on %s: HTTP %ld, the server does not allow %s here (WebDAV "
                           "off for this path?)",
                           what, name, c->host, st, what);
    if (st == 400 || st == 414)
        return rsl_err_set(err, rel[0] ? RSL_E_REMOTE_NAME_REFUSED : RSL_E_PROTOCOL, st,
                           "%s '%s' on %s: HTTP %ld, the server refused the request or name", what,
                           name, c->host, st);
    if (st == 429 || st == 502 || st == 503 || st == 504)
        return map_busy(io, err, st, what, name);
    if (st >= 500)
        return rsl_err_set(err, RSL_E_REMOTE_IO, st,
                           "%s '%s' on %s: HTTP %ld, server error (see the server's log)", what,
                           name, c->host, st);
    return rsl_err_set(err, ctx == RSL_HTTPS_CTX_CONNECT ? RSL_E_PROTOCOL : RSL_E_REMOTE_IO, st,
                       "%s '%s' on %s: unexpected HTTP %ld", what, name, c->host, st);
}
