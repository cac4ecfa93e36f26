/*
 * https_req.c - one request on an https connection. See https_req.h.
 *
 * Every request goes through rsl_https_perform(): it sets the per-request
 * options on the connection's one easy handle (method, URL, headers, body
 * source, body sink), runs it, and returns either a libcurl failure mapped by
 * map_curl() or the HTTP status, which callers map with
 * rsl_https_map_http() (the one place that decides what a status means).
 * Options common to all requests (TLS, auth, timeouts, HTTP version) are set
 * once at connect (https.c).
 */
#define _GNU_SOURCE
#include "https_req.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curlmap.h"
#include "pct.h"

#define EARLY_ANSWER_MAX (256u << 10)

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

/* A 207 goes to the multistatus parser when one is set (streamed, never
 * kept); anything else into c->body up to its limit: the excess is dropped
 * but flagged (c->body.truncated), and the connection kept. A parse error
 * aborts the transfer (the caller reads why from the parser). */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    rsl_conn *c = ud;
    size_t n = size * nmemb;
    long st = 0;
    if (c->dav != NULL && curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &st) == CURLE_OK &&
        st == 207)
        return rsl_webdav_parser_feed(c->dav, ptr, n) < 0 ? 0 : n;
    return rsl_buf_append(&c->body, ptr, n) == RSL_BUF_NOMEM ? 0 : n;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    rsl_conn *c = ud;
    size_t n = size * nitems;
    if (c->mem != NULL) {
        size_t left = c->mem_len - c->mem_off;
        if (n > left)
            n = left;
        memcpy(buf, c->mem + c->mem_off, n);
        c->mem_off += n;
        return n;
    }
    if (c->src == NULL || c->up_left == 0)
        return 0;
    if (n > c->up_left)
        n = (size_t)c->up_left;
    ssize_t r;
    if (c->replay) {
        r = c->src->pread(c->src, buf, n, c->replay_pos, c->src_err);
        if (r > 0)
            c->replay_pos += (uint64_t)r;
    } else {
        r = c->src->read(c->src, buf, n, c->src_err);
    }
    if (r < 0) {
        c->src_failed = 1;
        return CURL_READFUNC_ABORT;
    }
    if (r == 0) {
        c->src_failed = 1;
        rsl_err_set(c->src_err, RSL_E_LOCAL_CHANGED, 0,
                    "the local file ended %" PRIu64 " bytes early while uploading", c->up_left);
        return CURL_READFUNC_ABORT;
    }
    c->up_left -= (uint64_t)r;
    c->up_sent += (uint64_t)r;
    return (size_t)r;
}

/* libcurl rewinds a body when it must resend it (a reused connection the
 * server had closed). */
static int seek_cb(void *ud, curl_off_t offset, int origin)
{
    rsl_conn *c = ud;
    if (origin != SEEK_SET || offset < 0)
        return CURL_SEEKFUNC_CANTSEEK;
    if (c->mem != NULL && (size_t)offset <= c->mem_len) {
        c->mem_off = (size_t)offset;
        return CURL_SEEKFUNC_OK;
    }
    if (c->mem == NULL && offset == 0 && c->up_sent == 0)
        return CURL_SEEKFUNC_OK;
    /* Bytes already pulled are not re-sent behind the engine's back (libcurl
     * retries a request on a fresh connection when a reused one died): the
     * request fails instead, the engine reconnects and resumes. */
    return CURL_SEEKFUNC_CANTSEEK;
}

void rsl_https_req_setup(rsl_conn *c)
{
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c->h, CURLOPT_READDATA, c);
    curl_easy_setopt(c->h, CURLOPT_SEEKFUNCTION, seek_cb);
    curl_easy_setopt(c->h, CURLOPT_SEEKDATA, c);
}

/* ------------------------------------------------------------ error maps */

/* Maps a libcurl failure (curlmap.h). `what` names the operation, rel the
 * item. A failure of the upload source passes the source's error through. */
static rsl_code map_curl(rsl_conn *c, rsl_err *err, CURLcode cc, const char *what, const char *rel)
{
    if (c->src_failed && (cc == CURLE_ABORTED_BY_CALLBACK || cc == CURLE_READ_ERROR ||
                          cc == CURLE_SEND_ERROR || cc == CURLE_UPLOAD_FAILED))
        return err->code; /* the source filled err: pass it through unchanged */
    rsl_curlmap_ctx x = {
        .h = c->h, .errbuf = c->errbuf, .host = c->host, .timeout_sec = c->timeout};
    return rsl_curlmap_err(err, &x, cc, what, rel);
}

static long retry_after(rsl_conn *c)
{
    curl_off_t ra = 0;
    if (curl_easy_getinfo(c->h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
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
static rsl_code map_busy(rsl_conn *c, rsl_err *err, long st, const char *what, const char *name)
{
    long ra = retry_after(c);
    if (ra > 0)
        return rsl_err_set(err, RSL_E_REMOTE_BUSY, ra,
                           "%s '%s' on %s: HTTP %ld, server busy; Retry-After %ld s", what, name,
                           c->host, st, ra);
    return rsl_err_set(err, RSL_E_REMOTE_BUSY, st, "%s '%s' on %s: HTTP %ld, server busy", what,
                       name, c->host, st);
}

rsl_code rsl_https_map_http(rsl_conn *c, rsl_err *err, long st, const char *what, const char *rel,
                            int ctx)
{
    const char *name = rel[0] ? rel : "/";
    rsl_code rc = map_access(c, err, st, what, name, ctx);
    if (rc != RSL_OK)
        return rc;
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
        if (simple[i].status == st)
            return rsl_err_set(err, simple[i].code, st, "%s '%s' on %s: %s", what, name, c->host,
                               simple[i].text);
    if (st == 301 || st == 302 || st == 303 || st == 307 || st == 308) {
        char *loc = NULL;
        curl_easy_getinfo(c->h, CURLINFO_REDIRECT_URL, &loc);
        return rsl_err_set(err, RSL_E_REDIRECT, st,
                           "%s '%s' on %s: HTTP %ld redirect to %s (not followed)", what, name,
                           c->host, st, loc ? loc : "(no Location header)");
    }
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
        return map_busy(c, err, st, what, name);
    if (st >= 500)
        return rsl_err_set(err, RSL_E_REMOTE_IO, st,
                           "%s '%s' on %s: HTTP %ld, server error (see the server's log)", what,
                           name, c->host, st);
    return rsl_err_set(err, ctx == RSL_HTTPS_CTX_CONNECT ? RSL_E_PROTOCOL : RSL_E_REMOTE_IO, st,
                       "%s '%s' on %s: unexpected HTTP %ld", what, name, c->host, st);
}

/* -------------------------------------------------------------- requests */

static CURLcode perform_once(rsl_conn *c, const rsl_https_req *r);

rsl_code rsl_https_perform(rsl_conn *c, const rsl_https_req *r, long *status, const char *rel,
                           rsl_err *err)
{
    CURL *h = c->h;
    CURLcode cc = CURLE_OK;
    for (int attempt = 0;; attempt++) {
        *status = 0;
        c->errbuf[0] = '\0';
        c->src = r->src;
        c->src_err = err;
        c->src_failed = 0;
        c->up_left = r->src_len;
        c->up_sent = 0;
        c->replay = attempt > 0;
        c->replay_pos = r->src_off;
        c->mem = r->mem;
        c->mem_len = r->mem_len;
        c->mem_off = 0;
        rsl_buf_reset(&c->body, r->body_limit);
        if (attempt > 0)
            curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        cc = perform_once(c, r);
        if (attempt > 0)
            curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        /* With HTTP/2, a server that answers before reading the body (403,
         * 413, 500 ...) resets the stream, and libcurl 7.88 may report the
         * reset without the answer. When at most EARLY_ANSWER_MAX bytes of
         * the body had gone (an early refusal, not a transfer cut off in
         * the middle), send the request once more over HTTP/1.1, where an
         * early answer is reported reliably, re-reading the body with
         * src->pread, to learn the status. */
        if (attempt == 0 && cc == CURLE_HTTP2_STREAM && *status == 0 && !c->src_failed &&
            (r->mem != NULL || (r->src != NULL && c->up_sent <= EARLY_ANSWER_MAX)))
            continue;
        break;
    }
    c->src = NULL;
    c->mem = NULL;
    c->replay = 0;
    if (cc != CURLE_OK) {
        /* A server may answer an error (401, 403, 413, ...) before reading
         * the request body and then reset the HTTP/2 stream or close the
         * connection: the answer it gave is what counts. */
        int early = cc == CURLE_HTTP2_STREAM || cc == CURLE_HTTP2 || cc == CURLE_SEND_ERROR ||
                    cc == CURLE_RECV_ERROR;
        if (!(early && *status >= 300 && !c->src_failed)) {
            *status = 0;
            return map_curl(c, err, cc, r->method, rel);
        }
    }
    long v = 0;
    if (curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &v) == CURLE_OK && v != 0)
        c->http_version = v;
    return RSL_OK;
}

/* Sets the per-request options and runs the transfer once. */
static CURLcode perform_once(rsl_conn *c, const rsl_https_req *r)
{
    CURL *h = c->h;

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
        /* a method with an XML body (PROPFIND): upload with a custom verb */
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->mem_len);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
    return curl_easy_perform(h);
}

struct curl_slist *rsl_https_hdr(struct curl_slist *l, const char *line)
{
    struct curl_slist *n = curl_slist_append(l, line);
    if (n == NULL)
        curl_slist_free_all(l);
    return n;
}

int rsl_https_header(rsl_conn *c, const char *name, char *buf, size_t bufsz)
{
    struct curl_header *hd = NULL;
    if (curl_easy_header(c->h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || hd == NULL)
        return 0;
    snprintf(buf, bufsz, "%s", hd->value);
    return 1;
}
