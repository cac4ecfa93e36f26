/*
 * https.c - the https:// WebDAV transport. See https.h.
 *
 * Every request goes through perform(): it sets the per-request options on
 * the connection's one easy handle (method, URL, headers, body source, body
 * sink), runs it, and returns either a CURLcode mapped by map_curl() or the
 * HTTP status, which callers map with map_http() (the one place that decides
 * what a status means). Options common to all requests (TLS, auth, timeouts,
 * HTTP version) are set once at connect.
 */
#define _GNU_SOURCE
#include "https.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "webdav_xml.h"
#include "base/buf.h"

#define DEFAULT_CHUNK (16ull << 20)
#define MIN_CHUNK (64ull << 10)
#define TAIL_CHECK (64u << 10)
#define ERRBODY_CAP 2048
#define EARLY_ANSWER_MAX (256u << 10)
#define PROPFIND_CAP (256u << 20)
#define SECRET_MAX 4096

/* PROPFIND requests carry no body (allprop, RFC 4918 9.1): a body would
 * race with servers that answer 401/403/405 before reading it and then reset
 * the HTTP/2 stream. Apache's allprop answer is ~1 KiB per entry. */

struct rsl_conn {
    CURL *h;
    const rsl_remote_opts *opts; /* = &opts_copy */
    rsl_remote_opts opts_copy;   /* the caller's struct may not outlive connect;
                                    the strings it points to do (transport.h) */
    char *origin;                /* "https://host:port" */
    char *root_enc;              /* percent-encoded root path without trailing '/' ("" for "/") */
    char *root_raw;              /* decoded root path, as in the endpoint ("/" or "/a/b") */
    char *host;                  /* for messages and the cache key */
    char *cache_key;             /* "https:<host>:<port><root>:partial-put" */
    char *auth_desc;             /* "basic (user rsl)", "bearer token", "none" */
    int port;
    int has_auth;
    int partial_put;         /* 1: Content-Range PUT applied by the server */
    const char *partial_how; /* "probed", "cached", "probe failed" */
    uint64_t chunk;
    long http_version;
    char errbuf[CURL_ERROR_SIZE];
    /* response capture */
    rsl_buf body;
    /* upload body */
    rsl_source *src;
    rsl_err *src_err;
    int src_failed;
    uint64_t up_left, up_sent;
    uint64_t body_off, body_len; /* the body's place in the source file */
    int replay;                  /* re-read the body with src->pread */
    uint64_t replay_pos;
    const char *mem;
    size_t mem_len, mem_off;
    /* ETag of the temp file last seen by resume_offset (for If-Match) */
    char *etag_rel;
    char etag[256];
    /* directories known to exist: open-addressing hash set */
    char **dirs;
    size_t ndirs, capdirs;
};

/* ---------------------------------------------------------------- helpers */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void say(rsl_conn *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(rsl_conn *c, int level, const char *fmt, ...)
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

static int is_unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* Percent-encodes a '/'-separated path: every byte but unreserved ones and
 * '/' becomes %XX (so space, '#', '%', '?', and UTF-8 bytes are all encoded). */
static char *path_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1);
    if (out == NULL)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (is_unreserved(ch) || ch == '/') {
            out[j++] = (char)ch;
        } else {
            out[j++] = '%';
            out[j++] = hex[ch >> 4];
            out[j++] = hex[ch & 15];
        }
    }
    out[j] = '\0';
    return out;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes in place; returns -1 on a bad escape or %00. */
static int pct_decode_inplace(char *s)
{
    size_t j = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '%') {
            int a = s[i + 1] ? hexval((unsigned char)s[i + 1]) : -1;
            int b = a >= 0 && s[i + 2] ? hexval((unsigned char)s[i + 2]) : -1;
            if (a < 0 || b < 0 || (a == 0 && b == 0))
                return -1;
            s[j++] = (char)(a * 16 + b);
            i += 2;
        } else {
            s[j++] = s[i];
        }
    }
    s[j] = '\0';
    return 0;
}

/* origin + root + "/" + enc(rel) [+ "/" when coll and rel != ""]; NULL on OOM */
static char *url_for(rsl_conn *c, const char *rel, int coll)
{
    char *enc = path_encode(rel);
    if (enc == NULL)
        return NULL;
    char *u = NULL;
    int tail = coll && rel[0] != '\0';
    if (asprintf(&u, "%s%s/%s%s", c->origin, c->root_enc, enc, tail ? "/" : "") < 0)
        u = NULL;
    free(enc);
    return u;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    size_t n = size * nmemb;
    if (rsl_buf_append(ud, ptr, n) == RSL_BUF_NOMEM)
        return 0;
    return n; /* keep the connection: excess is dropped but flagged (body.truncated),
                 and every caller that reads the body checks the flag */
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

/* ------------------------------------------------------------ error maps */

/* Maps a libcurl failure. `what` names the operation, rel the item. */
static rsl_code map_curl(rsl_conn *c, rsl_err *err, CURLcode cc, const char *what, const char *rel)
{
    rsl_code code;
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
    if (c->src_failed && (cc == CURLE_ABORTED_BY_CALLBACK || cc == CURLE_READ_ERROR ||
                          cc == CURLE_SEND_ERROR || cc == CURLE_UPLOAD_FAILED))
        return err->code; /* the source filled err: pass it through unchanged */
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        code = RSL_E_DNS_FAILED;
        break;
    case CURLE_COULDNT_CONNECT:
        code = RSL_E_CONNECT_REFUSED;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        code = RSL_E_TIMEOUT;
        break;
    case CURLE_PEER_FAILED_VERIFICATION: {
        long vr = 0;
        curl_easy_getinfo(c->h, CURLINFO_SSL_VERIFYRESULT, &vr);
        if (vr == 9 || vr == 10) /* X509_V_ERR_CERT_NOT_YET_VALID, _HAS_EXPIRED */
            code = RSL_E_TLS_EXPIRED;
        else if (vr == 62 || strstr(detail, "subject name") || strstr(detail, "does not match"))
            code = RSL_E_TLS_NAME_MISMATCH;
        else
            code = RSL_E_TLS_UNTRUSTED;
        break;
    }
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        code = RSL_E_TLS_UNTRUSTED;
        break;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
        code = RSL_E_CONFIG_BAD_VALUE;
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_USE_SSL_FAILED:
        code = RSL_E_TLS_FAILED;
        break;
    case CURLE_LOGIN_DENIED:
        code = RSL_E_AUTH_FAILED;
        break;
    case CURLE_OUT_OF_MEMORY:
        code = RSL_E_NO_MEMORY;
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        code = RSL_E_PROTOCOL;
        break;
    default: /* SEND/RECV errors, GOT_NOTHING, PARTIAL_FILE, HTTP2, rewind, ... */
        code = RSL_E_CONNECTION_LOST;
        break;
    }
    return rsl_err_set(err, code, (long)cc, "%s '%s' on %s: %s", what, rel, c->host, detail);
}

static long retry_after(rsl_conn *c)
{
    curl_off_t ra = 0;
    if (curl_easy_getinfo(c->h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
        return 0;
    return (long)ra;
}

enum { CTX_ITEM = 0, CTX_CONNECT = 1 };

/*
 * Maps an HTTP status that is not a success for this request. ctx says
 * whether the request was the connect-time check of the remote root (403 and
 * 404 then mean "bad credentials" and "root missing").
 */
static rsl_code map_http(rsl_conn *c, rsl_err *err, long st, const char *what, const char *rel,
                         int ctx)
{
    const char *name = rel[0] ? rel : "/";
    switch (st) {
    case 301:
    case 302:
    case 303:
    case 307:
    case 308: {
        char *loc = NULL;
        curl_easy_getinfo(c->h, CURLINFO_REDIRECT_URL, &loc);
        return rsl_err_set(err, RSL_E_REDIRECT, st,
                           "%s '%s' on %s: HTTP %ld redirect to %s (not followed)", what, name,
                           c->host, st, loc ? loc : "(no Location header)");
    }
    case 401:
        if (!c->has_auth)
            return rsl_err_set(err, RSL_E_SECRET_MISSING, st,
                               "%s: HTTP 401, the server wants credentials and none are set "
                               "(username + password_file, or token_file)",
                               c->host);
        return rsl_err_set(err, RSL_E_AUTH_FAILED, st,
                           "%s: HTTP 401, the server rejected the credentials (%s)", c->host,
                           c->auth_desc);
    case 403:
        if (ctx == CTX_CONNECT)
            return rsl_err_set(err, RSL_E_AUTH_FAILED, st,
                               "%s: HTTP 403 on the remote root %s: access denied for %s", c->host,
                               c->root_raw, c->auth_desc);
        return rsl_err_set(err, RSL_E_REMOTE_PERMISSION, st, "%s '%s' on %s: HTTP 403 Forbidden",
                           what, name, c->host);
    case 404:
        if (ctx == CTX_CONNECT)
            return rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, st,
                               "%s: the remote root %s does not exist (HTTP 404)", c->host,
                               c->root_raw);
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, st, "%s '%s' on %s: HTTP 404 Not Found",
                           what, name, c->host);
    case 409:
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, st,
                           "%s '%s' on %s: HTTP 409 Conflict (a parent collection is missing)",
                           what, name, c->host);
    case 405:
    case 501:
        return rsl_err_set(err, RSL_E_METHOD_NOT_ALLOWED, st,
                           "%s '%s' on %s: HTTP %ld, the server does not allow %s here (WebDAV "
                           "off for this path?)",
                           what, name, c->host, st, what);
    case 400:
    case 414:
        return rsl_err_set(err, rel[0] ? RSL_E_REMOTE_NAME_REFUSED : RSL_E_PROTOCOL, st,
                           "%s '%s' on %s: HTTP %ld, the server refused the request or name", what,
                           name, c->host, st);
    case 412:
        return rsl_err_set(err, RSL_E_REMOTE_IO, st,
                           "%s '%s' on %s: HTTP 412, the remote file changed meanwhile (ETag); "
                           "it is uploaded again",
                           what, name, c->host);
    case 413:
        return rsl_err_set(err, RSL_E_REMOTE_TOO_LARGE, st,
                           "%s '%s' on %s: HTTP 413, request body too large", what, name, c->host);
    case 423:
        return rsl_err_set(err, RSL_E_REMOTE_LOCKED, st, "%s '%s' on %s: HTTP 423 Locked", what,
                           name, c->host);
    case 507:
        return rsl_err_set(err, RSL_E_REMOTE_NO_SPACE, st,
                           "%s '%s' on %s: HTTP 507 Insufficient Storage", what, name, c->host);
    case 429:
    case 502:
    case 503:
    case 504: {
        long ra = retry_after(c);
        if (ra > 0)
            return rsl_err_set(err, RSL_E_REMOTE_BUSY, ra,
                               "%s '%s' on %s: HTTP %ld, server busy; Retry-After %ld s", what,
                               name, c->host, st, ra);
        return rsl_err_set(err, RSL_E_REMOTE_BUSY, st, "%s '%s' on %s: HTTP %ld, server busy", what,
                           name, c->host, st);
    }
    default:
        if (st >= 500)
            return rsl_err_set(err, RSL_E_REMOTE_IO, st,
                               "%s '%s' on %s: HTTP %ld, server error (see the server's log)", what,
                               name, c->host, st);
        if (ctx == CTX_CONNECT)
            return rsl_err_set(err, RSL_E_PROTOCOL, st, "%s '%s' on %s: unexpected HTTP %ld", what,
                               name, c->host, st);
        return rsl_err_set(err, RSL_E_REMOTE_IO, st, "%s '%s' on %s: unexpected HTTP %ld", what,
                           name, c->host, st);
    }
}

/* -------------------------------------------------------------- requests */

typedef struct req {
    const char *method; /* "GET", "HEAD", "PUT", "PROPFIND", ... */
    const char *url;
    struct curl_slist *hdrs;
    /* request body: exactly one of mem / src (or none) */
    const char *mem;
    size_t mem_len;
    rsl_source *src;
    uint64_t src_off; /* offset of the body in the source (for pread replays) */
    uint64_t src_len;
    /* response */
    size_t body_limit; /* bytes of the response body kept in c->body */
    const char *range; /* "a-b" for GET, or NULL */
} req;

static CURLcode perform_once(rsl_conn *c, const req *r);

/* Runs one request. Returns RSL_OK with *status set when an HTTP answer came
 * back (any status), else a mapped libcurl failure (or the source's error). */
static rsl_code perform(rsl_conn *c, const req *r, long *status, const char *rel, rsl_err *err)
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
        c->body_off = r->src_off;
        c->body_len = r->src_len;
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
static CURLcode perform_once(rsl_conn *c, const req *r)
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

/* Appends a header line; returns the new list or NULL (and frees) on OOM. */
static struct curl_slist *hdr_add(struct curl_slist *l, const char *line)
{
    struct curl_slist *n = curl_slist_append(l, line);
    if (n == NULL)
        curl_slist_free_all(l);
    return n;
}

static rsl_code oom(rsl_err *err)
{
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

/* Reads a response header of the last request into buf; 0 if absent. */
static int get_header(rsl_conn *c, const char *name, char *buf, size_t bufsz)
{
    struct curl_header *hd = NULL;
    if (curl_easy_header(c->h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || hd == NULL)
        return 0;
    snprintf(buf, bufsz, "%s", hd->value);
    return 1;
}

typedef struct stat_ctx {
    rsl_rstat *st;
    char etag[256];
    int got;
} stat_ctx;

static int stat_entry_cb(void *ud, const rsl_dav_entry *e)
{
    stat_ctx *s = ud;
    s->st->exists = 1;
    s->st->is_dir = e->is_collection;
    s->st->size = e->has_length ? e->length : 0;
    s->st->mtime = e->mtime;
    if (e->etag)
        snprintf(s->etag, sizeof(s->etag), "%s", e->etag);
    s->got = 1;
    return 1; /* Depth 0: the first response is the item */
}

/* PROPFIND Depth 0 of rel (as a collection URL when coll). On success *status
 * is the HTTP status; st is filled when it was 207. */
static rsl_code propfind0(rsl_conn *c, const char *rel, int coll, rsl_rstat *st, long *status,
                          rsl_err *err)
{
    rsl_code rc = RSL_OK;
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    char *url = url_for(c, rel, coll);
    struct curl_slist *h = NULL;
    if (url == NULL || (h = hdr_add(NULL, "Depth: 0")) == NULL) {
        rc = oom(err);
        goto done;
    }
    req r = {.method = "PROPFIND", .url = url, .hdrs = h, .body_limit = 1 << 20};
    rc = perform(c, &r, status, rel, err);
    if (rc != RSL_OK || *status != 207)
        goto done;
    stat_ctx sc = {.st = st};
    int pr =
        rsl_webdav_parse_multistatus(c->body.p ? c->body.p : "", c->body.n, stat_entry_cb, &sc);
    if (pr != 0 || !sc.got || c->body.truncated) {
        rc = rsl_err_set(err, RSL_E_PROTOCOL, 207,
                         "PROPFIND '%s' on %s: the multistatus answer cannot be parsed",
                         rel[0] ? rel : "/", c->host);
        goto done;
    }
done:
    curl_slist_free_all(h);
    free(url);
    return rc;
}

/* ---------------------------------------------------------- dir cache */

static uint64_t fnv1a(const char *s)
{
    uint64_t x = 1469598103934665603ull;
    for (; *s; s++) {
        x ^= (unsigned char)*s;
        x *= 1099511628211ull;
    }
    return x;
}

static size_t dir_slot(rsl_conn *c, const char *rel)
{
    size_t i = (size_t)(fnv1a(rel) & (c->capdirs - 1));
    while (c->dirs[i] != NULL && strcmp(c->dirs[i], rel) != 0)
        i = (i + 1) & (c->capdirs - 1);
    return i;
}

static int dir_known(rsl_conn *c, const char *rel)
{
    return c->capdirs > 0 && c->dirs[dir_slot(c, rel)] != NULL;
}

static void dir_add(rsl_conn *c, const char *rel)
{
    if (c->ndirs * 2 >= c->capdirs) {
        size_t cap = c->capdirs ? c->capdirs * 2 : 64;
        char **old = c->dirs;
        size_t oldcap = c->capdirs;
        char **nd = calloc(cap, sizeof(*nd));
        if (nd == NULL)
            return; /* a cache: failing to remember is harmless */
        c->dirs = nd;
        c->capdirs = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i])
                c->dirs[dir_slot(c, old[i])] = old[i];
        free(old);
    }
    size_t i = dir_slot(c, rel);
    if (c->dirs[i] == NULL && (c->dirs[i] = strdup(rel)) != NULL)
        c->ndirs++;
}

static void dir_forget_all(rsl_conn *c)
{
    for (size_t i = 0; i < c->capdirs; i++)
        free(c->dirs[i]);
    free(c->dirs);
    c->dirs = NULL;
    c->capdirs = c->ndirs = 0;
}

/* ------------------------------------------------------------- secrets */

/* Reads a secret file into a malloc'd string without its trailing newline.
 * The caller wipes and frees it. */
static rsl_code read_secret(const char *path, const char *what, char **out, rsl_err *err)
{
    *out = NULL;
    rsl_code rc = RSL_OK;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, errno, "%s '%s' cannot be read: %s", what,
                           path, strerror(errno));
    buf = malloc(SECRET_MAX + 1);
    if (buf == NULL) {
        rc = oom(err);
        goto done;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, SECRET_MAX - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = rsl_err_set(err, RSL_E_SECRET_UNREADABLE, errno, "%s '%s' cannot be read: %s",
                             what, path, strerror(errno));
            goto done;
        }
        if (r == 0 || n + (size_t)r == SECRET_MAX) {
            n += (size_t)r;
            break;
        }
        n += (size_t)r;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (n == 0 || memchr(buf, '\n', n) != NULL) {
        rc = rsl_err_set(err, RSL_E_SECRET_UNREADABLE, 0,
                         "%s '%s' is empty or has more than one line", what, path);
        goto done;
    }
    *out = buf;
    buf = NULL;
done:
    if (buf) {
        explicit_bzero(buf, SECRET_MAX + 1);
        free(buf);
    }
    close(fd);
    return rc;
}

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Sets Basic or bearer credentials on the handle; secrets are wiped here. */
static rsl_code setup_auth(rsl_conn *c, const rsl_endpoint *ep, rsl_err *err)
{
    const rsl_remote_opts *o = c->opts;
    const char *user = o->username && o->username[0] ? o->username : ep->user;
    char *secret = NULL;
    rsl_code rc = RSL_OK;
    if (o->token_file) {
        if ((rc = read_secret(o->token_file, "token_file", &secret, err)) != RSL_OK)
            goto done;
        curl_easy_setopt(c->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(c->h, CURLOPT_XOAUTH2_BEARER, secret);
        c->has_auth = 1;
        c->auth_desc = strdup("bearer token from token_file");
    } else if (user && user[0]) {
        if (o->password_file) {
            if ((rc = read_secret(o->password_file, "password_file", &secret, err)) != RSL_OK)
                goto done;
        } else if (o->password_env && o->password_env[0]) {
            secret = strdup(o->password_env);
            if (secret == NULL) {
                rc = oom(err);
                goto done;
            }
        } else {
            rc = rsl_err_set(err, RSL_E_SECRET_MISSING, 0,
                             "%s: user '%s' is set but no password (password_file or "
                             "RSYNCD_LITE_PASSWORD) and no token_file",
                             c->host, user);
            goto done;
        }
        curl_easy_setopt(c->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c->h, CURLOPT_USERNAME, user);
        curl_easy_setopt(c->h, CURLOPT_PASSWORD, secret);
        c->has_auth = 1;
        if (asprintf(&c->auth_desc, "basic auth as user '%s'", user) < 0)
            c->auth_desc = NULL;
    } else {
        c->auth_desc = strdup("no credentials");
    }
    if (c->auth_desc == NULL)
        rc = oom(err);
done:
    wipe_free(secret);
    return rc;
}

/* --------------------------------------------------------------- probe */

/* Decides whether the server applies Content-Range on PUT: writes 10 bytes
 * to a probe file, sends 10 more with Content-Range: bytes 10-19/20, reads the
 * file back and accepts only the exact concatenation (a server that ignores
 * the header and replaces the file is caught here), then deletes it.
 * Returns 1 (yes), 0 (no) or -1 (could not tell; *why says why). */
static int probe_partial_put(rsl_conn *c, char *why, size_t whysz)
{
    static const char first[] = "rsl-probe-", second[] = "0123456789";
    const char want[] = "rsl-probe-0123456789";
    char name[96];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, sizeof(name), "rsl-probe-%ld-%lx%lx.tmp", (long)getpid(), (long)ts.tv_sec,
             (unsigned long)ts.tv_nsec ^ (unsigned long)(uintptr_t)c);
    rsl_err e = {0};
    long st = 0;
    int result = -1, created = 0;
    struct curl_slist *h = NULL, *hr = NULL;
    char *url = url_for(c, name, 0);
    if (url == NULL || (h = hdr_add(NULL, "Expect:")) == NULL ||
        (hr = hdr_add(NULL, "Expect:")) == NULL ||
        (hr = hdr_add(hr, "Content-Range: bytes 10-19/20")) == NULL) {
        snprintf(why, whysz, "out of memory");
        goto done;
    }
    req put1 = {.method = "PUT",
                .url = url,
                .hdrs = h,
                .mem = first,
                .mem_len = 10,
                .body_limit = ERRBODY_CAP};
    if (perform(c, &put1, &st, name, &e) != RSL_OK) {
        snprintf(why, whysz, "%s", e.msg);
        goto done;
    }
    if (st < 200 || st > 299) {
        snprintf(why, whysz, "HTTP %ld on PUT of a probe file in the remote root", st);
        goto done;
    }
    created = 1;
    req put2 = {.method = "PUT",
                .url = url,
                .hdrs = hr,
                .mem = second,
                .mem_len = 10,
                .body_limit = ERRBODY_CAP};
    if (perform(c, &put2, &st, name, &e) != RSL_OK) {
        snprintf(why, whysz, "%s", e.msg);
        goto done;
    }
    if (st < 200 || st > 299) {
        snprintf(why, whysz, "HTTP %ld to a PUT with Content-Range", st);
        result = 0;
        goto done;
    }
    req get = {.method = "GET", .url = url, .body_limit = 64};
    if (perform(c, &get, &st, name, &e) != RSL_OK) {
        snprintf(why, whysz, "%s", e.msg);
        goto done;
    }
    if (st == 200 && c->body.n == 20 && memcmp(c->body.p, want, 20) == 0) {
        snprintf(why, whysz, "a PUT with Content-Range appended to the probe file");
        result = 1;
    } else {
        snprintf(why, whysz,
                 "the server accepted a PUT with Content-Range but the probe file then had %zu "
                 "bytes instead of the 20 expected (header ignored or misapplied)",
                 c->body.n);
        result = 0;
    }
done:
    if (created) {
        req del = {.method = "DELETE", .url = url, .body_limit = ERRBODY_CAP};
        (void)perform(c, &del, &st, name, &e);
    }
    curl_slist_free_all(h);
    curl_slist_free_all(hr);
    free(url);
    return result;
}

static void decide_partial_put(rsl_conn *c)
{
    const rsl_remote_opts *o = c->opts;
    char val[16];
    if (o->cache_get && o->cache_get(o->ud, c->cache_key, val, sizeof(val))) {
        if (strcmp(val, "yes") == 0 || strcmp(val, "no") == 0) {
            c->partial_put = strcmp(val, "yes") == 0;
            c->partial_how = "cached";
            return;
        }
    }
    if (o->readonly) {
        /* a read-only caller (verify) gets no probe file in its remote root */
        c->partial_put = 0;
        c->partial_how = "not probed: read-only connection";
        return;
    }
    char why[600];
    int r = probe_partial_put(c, why, sizeof(why));
    if (r < 0) {
        c->partial_put = 0;
        c->partial_how = "probe failed";
        say(c, RSL_LOG_WARN,
            "%s%s: could not probe partial PUT support (%s); using whole-file PUT to the temp name "
            "for this run",
            c->host, c->root_raw, why);
        return;
    }
    c->partial_put = r;
    c->partial_how = "probed";
    say(c, RSL_LOG_INFO, "%s%s: partial PUT %s: %s", c->host, c->root_raw,
        r ? "supported" : "unsupported", why);
    if (o->cache_set)
        o->cache_set(o->ud, c->cache_key, r ? "yes" : "no");
}

/* ------------------------------------------------------------- connect */

static void https_disconnect(rsl_conn *c)
{
    if (c == NULL)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    free(c->origin);
    free(c->root_enc);
    free(c->root_raw);
    free(c->host);
    free(c->cache_key);
    free(c->auth_desc);
    rsl_buf_free(&c->body);
    free(c->etag_rel);
    dir_forget_all(c);
    free(c);
}

static rsl_code https_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                              rsl_err *err)
{
    static const rsl_remote_opts no_opts = {.tls_verify = 1};
    *out = NULL;
    rsl_code rc = RSL_OK;
    if (opts == NULL)
        opts = &no_opts;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return rsl_err_set(err, RSL_E_INTERNAL, (long)curl_init_rc, "libcurl init failed: %s",
                           curl_easy_strerror(curl_init_rc));
    int plain = ep->scheme && strcasecmp(ep->scheme, "http") == 0;
    if (plain && !opts->allow_insecure)
        return rsl_err_set(err, RSL_E_INSECURE_REFUSED, 0,
                           "http://%s: plain HTTP sends credentials and data unencrypted; use "
                           "https:// or set allow_insecure = yes",
                           ep->host ? ep->host : "");
    rsl_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return oom(err);
    c->opts_copy = *opts;
    c->opts = opts = &c->opts_copy;
    c->port = rsl_endpoint_port(ep, opts);
    c->chunk = opts->chunk_size ? opts->chunk_size : DEFAULT_CHUNK;
    if (c->chunk < MIN_CHUNK)
        c->chunk = MIN_CHUNK;
    const char *root = ep->path && ep->path[0] ? ep->path : "/";
    int v6 = ep->host && strchr(ep->host, ':') != NULL;
    c->host = NULL;
    if (asprintf(&c->host, "%s%s%s:%d", v6 ? "[" : "", ep->host ? ep->host : "", v6 ? "]" : "",
                 c->port) < 0)
        c->host = NULL;
    c->root_raw = strdup(root);
    c->root_enc = path_encode(strcmp(root, "/") == 0 ? "" : root);
    if (c->host == NULL || c->root_raw == NULL || c->root_enc == NULL ||
        asprintf(&c->origin, "%s://%s", plain ? "http" : "https", c->host) < 0 ||
        asprintf(&c->cache_key, "https:%s%s:partial-put", c->host,
                 strcmp(root, "/") == 0 ? "" : root) < 0) {
        c->origin = NULL;
        rc = oom(err);
        goto done;
    }
    if (plain)
        say(c, RSL_LOG_WARN,
            "%s: plain http:// (allow_insecure = yes): credentials and data travel unencrypted",
            c->host);
    if (!plain && !opts->tls_verify)
        say(c, RSL_LOG_WARN,
            "%s: tls_verify = no: the server's certificate is NOT checked; anyone on the path "
            "can read and change this transfer",
            c->host);
    if ((c->h = curl_easy_init()) == NULL) {
        rc = oom(err);
        goto done;
    }
    CURL *h = c->h;
    long tmo = opts->timeout_sec > 0 ? opts->timeout_sec : 60;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, plain ? "http" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, tmo);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, tmo);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "rsyncd-lite/" RSL_VERSION);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L << 10);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->body);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, c);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, c);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, opts->tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, opts->tls_verify ? 2L : 0L);
    if (opts->ca_file) {
        if (access(opts->ca_file, R_OK) != 0) {
            rc = rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, errno, "ca_file '%s' cannot be read: %s",
                             opts->ca_file, strerror(errno));
            goto done;
        }
        curl_easy_setopt(h, CURLOPT_CAINFO, opts->ca_file);
    }
    if (opts->pinned_pubkey)
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, opts->pinned_pubkey);
    if ((rc = setup_auth(c, ep, err)) != RSL_OK)
        goto done;

    /* the remote root must exist and be a collection; this also checks TLS
     * trust and the credentials */
    rsl_rstat st;
    long status = 0;
    if ((rc = propfind0(c, "", 1, &st, &status, err)) != RSL_OK)
        goto done;
    if ((status == 400 || status == 409) && strcmp(c->root_raw, "/") != 0) {
        /* Apache answers 400 to "file/": look at the name without the slash */
        char *saved = c->root_enc, *parent = strdup(c->root_raw);
        if (parent == NULL) {
            rc = oom(err);
            goto done;
        }
        char *slash = strrchr(parent, '/');
        *slash = '\0';
        c->root_enc = path_encode(parent);
        if (c->root_enc == NULL) {
            c->root_enc = saved;
            free(parent);
            rc = oom(err);
            goto done;
        }
        rc = propfind0(c, slash + 1, 0, &st, &status, err);
        free(c->root_enc);
        c->root_enc = saved;
        free(parent);
        if (rc != RSL_OK)
            goto done;
        if (status == 207 && !st.is_dir)
            status = 404;
    }
    if (status != 207) {
        rc = map_http(c, err, status, "PROPFIND", "", CTX_CONNECT);
        goto done;
    }
    if (!st.is_dir) {
        rc = rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, 0,
                         "%s: the remote root %s is not a collection (directory)", c->host,
                         c->root_raw);
        goto done;
    }
    decide_partial_put(c);
    if (!c->partial_put && !opts->readonly)
        say(c, RSL_LOG_INFO,
            "%s%s: partial PUT unsupported (%s): whole-file PUT to the temp name; an interrupted "
            "upload restarts from the beginning",
            c->host, c->root_raw, c->partial_how);
    *out = c;
    c = NULL;
done:
    https_disconnect(c);
    return rc;
}

static unsigned https_caps_of(rsl_conn *c)
{
    return RSL_CAP_ATOMIC_RENAME | (c->partial_put ? RSL_CAP_RESUME : 0);
}

static void https_describe(rsl_conn *c, char *buf, size_t n)
{
    const char *ver = c->http_version == CURL_HTTP_VERSION_2_0   ? "HTTP/2"
                      : c->http_version == CURL_HTTP_VERSION_1_1 ? "HTTP/1.1"
                      : c->http_version == CURL_HTTP_VERSION_1_0 ? "HTTP/1.0"
                                                                 : "HTTP";
    const rsl_remote_opts *o = c->opts;
    char trust[512];
    if (strncmp(c->origin, "http:", 5) == 0)
        snprintf(trust, sizeof(trust), "plain http (allow_insecure): NOT encrypted");
    else if (!o->tls_verify)
        snprintf(trust, sizeof(trust), "TLS NOT verified (tls_verify = no)");
    else
        snprintf(trust, sizeof(trust), "TLS verified against %s%s",
                 o->ca_file ? o->ca_file : "the system CA store",
                 o->pinned_pubkey ? " + pinned public key" : "");
    if (c->partial_put)
        snprintf(buf, n,
                 "https: %s%s over %s; %s; %s; partial PUT supported (%s): resumable uploads in "
                 "%" PRIu64 "-byte Content-Range chunks; MOVE Overwrite:T into place; mtime not "
                 "set (WebDAV cannot set getlastmodified)",
                 c->origin, c->root_raw, ver, trust, c->auth_desc, c->partial_how, c->chunk);
    else
        snprintf(buf, n,
                 "https: %s%s over %s; %s; %s; partial PUT unsupported (%s): whole-file PUT to "
                 "the temp name, an interrupted upload restarts; MOVE Overwrite:T into place; "
                 "mtime not set (WebDAV cannot set getlastmodified)",
                 c->origin, c->root_raw, ver, trust, c->auth_desc, c->partial_how);
}

/* ----------------------------------------------------------------- ops */

/* PROPFIND Depth 0 that tolerates a server redirecting "dir" to "dir/". */
static rsl_code stat_item(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    long status = 0;
    rsl_code rc = propfind0(c, rel, 0, st, &status, err);
    if (rc == RSL_OK && status >= 300 && status < 400 && rel[0])
        rc = propfind0(c, rel, 1, st, &status, err);
    if (rc != RSL_OK)
        return rc;
    if (status == 207)
        return RSL_OK;
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    if (status == 404)
        return RSL_OK;
    return map_http(c, err, status, "PROPFIND", rel, CTX_ITEM);
}

static rsl_code https_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    return stat_item(c, rel, st, err);
}

static rsl_code https_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    if (rel[0] == '\0' || dir_known(c, rel))
        return RSL_OK;
    rsl_code rc = RSL_OK;
    long status = 0;
    char *url = url_for(c, rel, 1);
    if (url == NULL)
        return oom(err);
    req r = {.method = "MKCOL", .url = url, .body_limit = ERRBODY_CAP};
    if ((rc = perform(c, &r, &status, rel, err)) != RSL_OK)
        goto done;
    if (status == 201 || status == 200 || status == 204) {
        dir_add(c, rel);
        goto done;
    }
    if (status == 405 || status == 301 || status == 400) {
        /* 405: something exists at that name (RFC 4918 9.3.1); Apache says
         * 400 when a file stands where "name/" was asked for. Look at it. */
        rsl_rstat st;
        if ((rc = stat_item(c, rel, &st, err)) != RSL_OK)
            goto done;
        if (st.exists && st.is_dir) {
            dir_add(c, rel);
            goto done;
        }
        if (st.exists) {
            rc = rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, status,
                             "mkdir '%s' on %s: a file of that name exists on the remote", rel,
                             c->host);
            goto done;
        }
    }
    rc = map_http(c, err, status, "MKCOL", rel, CTX_ITEM);
done:
    free(url);
    return rc;
}

/* HEAD of rel: *exists, *size and the strong ETag (if any) into c->etag. */
static rsl_code head_item(rsl_conn *c, const char *rel, int *exists, uint64_t *size, rsl_err *err)
{
    long status = 0;
    *exists = 0;
    *size = 0;
    char *url = url_for(c, rel, 0);
    if (url == NULL)
        return oom(err);
    req r = {.method = "HEAD", .url = url, .body_limit = 0};
    rsl_code rc = perform(c, &r, &status, rel, err);
    free(url);
    if (rc != RSL_OK)
        return rc;
    if (status == 404)
        return RSL_OK;
    if (status != 200)
        return map_http(c, err, status, "HEAD", rel, CTX_ITEM);
    char v[64];
    curl_off_t cl = -1;
    if (get_header(c, "Content-Length", v, sizeof(v))) {
        char *e = NULL;
        unsigned long long x = strtoull(v, &e, 10);
        if (e != v && v[0] != '-')
            cl = (curl_off_t)x;
    }
    c->etag[0] = '\0';
    char et[256];
    if (get_header(c, "ETag", et, sizeof(et)) && strncmp(et, "W/", 2) != 0)
        snprintf(c->etag, sizeof(c->etag), "%s", et);
    if (cl < 0) {
        /* Apache over HTTP/2 sends no Content-Length for an empty file */
        rsl_rstat st;
        rsl_code rc2 = propfind0(c, rel, 0, &st, &status, err);
        if (rc2 != RSL_OK)
            return rc2;
        if (status != 207 || st.is_dir)
            return rsl_err_set(err, RSL_E_PROTOCOL, status,
                               "HEAD '%s' on %s: no Content-Length in the answer", rel, c->host);
        cl = (curl_off_t)st.size;
    }
    *exists = 1;
    *size = (uint64_t)cl;
    return RSL_OK;
}

static void remember_etag(rsl_conn *c, const char *rel)
{
    free(c->etag_rel);
    c->etag_rel = c->etag[0] ? strdup(rel) : NULL;
}

static rsl_code https_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                    rsl_source *src, uint64_t *have, rsl_err *err)
{
    *have = 0;
    free(c->etag_rel);
    c->etag_rel = NULL;
    if (!c->partial_put)
        return RSL_OK; /* whole-file PUT: nothing can be kept */
    int exists = 0;
    uint64_t size = 0;
    rsl_code rc = head_item(c, tmp_rel, &exists, &size, err);
    if (rc != RSL_OK || !exists || size == 0 || size > total)
        return rc;
    remember_etag(c, tmp_rel);
    /* compare the remote tail below `size` with the local bytes */
    uint64_t tail = size < TAIL_CHECK ? size : TAIL_CHECK;
    uint64_t from = size - tail;
    char range[64];
    snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, from, size - 1);
    char *url = url_for(c, tmp_rel, 0);
    unsigned char *local = malloc((size_t)tail);
    if (url == NULL || local == NULL) {
        free(url);
        free(local);
        return oom(err);
    }
    long status = 0;
    req r = {.method = "GET", .url = url, .range = range, .body_limit = (size_t)tail};
    rc = perform(c, &r, &status, tmp_rel, err);
    if (rc != RSL_OK)
        goto done;
    if (status != 206 || c->body.n != tail || c->body.truncated) {
        say(c, RSL_LOG_INFO,
            "%s: '%s' restarts from 0: the ranged GET of its tail answered HTTP %ld with %zu bytes",
            c->host, tmp_rel, status, c->body.n);
        goto done;
    }
    size_t got = 0;
    while (got < tail) {
        ssize_t n = src->pread(src, local + got, (size_t)tail - got, from + got, err);
        if (n < 0) {
            rc = err->code;
            goto done;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got == tail && memcmp(local, c->body.p, (size_t)tail) == 0)
        *have = size;
    else
        say(c, RSL_LOG_INFO,
            "%s: '%s' restarts from 0: its remote tail differs from the local file", c->host,
            tmp_rel);
done:
    free(local);
    free(url);
    return rc;
}

/* One PUT of [pos, pos+len) of src into url; ranged when `ranged`. */
static rsl_code put_part(rsl_conn *c, const char *url, const char *rel, rsl_source *src,
                         uint64_t pos, uint64_t len, uint64_t total, int ranged,
                         const char *if_match, long *status, rsl_err *err)
{
    char line[160];
    struct curl_slist *h = hdr_add(NULL, "Expect:");
    if (h == NULL)
        return oom(err);
    if (ranged) {
        snprintf(line, sizeof(line), "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, pos,
                 pos + len - 1, total);
        if ((h = hdr_add(h, line)) == NULL)
            return oom(err);
    }
    if (if_match && if_match[0]) {
        snprintf(line, sizeof(line), "If-Match: %s", if_match);
        if ((h = hdr_add(h, line)) == NULL)
            return oom(err);
    }
    static const char empty[] = "";
    req r = {.method = "PUT",
             .url = url,
             .hdrs = h,
             .src = len ? src : NULL,
             .src_off = pos,
             .src_len = len,
             .mem = len ? NULL : empty,
             .mem_len = 0,
             .body_limit = ERRBODY_CAP};
    rsl_code rc = perform(c, &r, status, rel, err);
    curl_slist_free_all(h);
    return rc;
}

/* Maps a failed PUT; a 500 may hide a missing parent (nginx with
 * create_full_put_path off), which is worth saying precisely. */
static rsl_code put_failed(rsl_conn *c, long status, const char *rel, rsl_err *err)
{
    rsl_code rc = map_http(c, err, status, "PUT", rel, CTX_ITEM);
    const char *slash = strrchr(rel, '/');
    if (status != 500 || slash == NULL)
        return rc;
    char *parent = strndup(rel, (size_t)(slash - rel));
    if (parent == NULL)
        return rc;
    rsl_rstat st;
    rsl_err e2 = {0};
    if (stat_item(c, parent, &st, &e2) == RSL_OK && !st.exists)
        rc = rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, status,
                         "PUT '%s' on %s: HTTP 500; the parent directory '%s' does not exist", rel,
                         c->host, parent);
    free(parent);
    return rc;
}

static rsl_code https_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                             rsl_source *src, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    long status = 0;
    char *url = url_for(c, tmp_rel, 0);
    if (url == NULL)
        return oom(err);
    if (offset > total || (offset > 0 && !c->partial_put)) {
        rc = rsl_err_set(err, RSL_E_INTERNAL, 0,
                         "upload '%s': offset %" PRIu64 " cannot be continued on %s", tmp_rel,
                         offset, c->host);
        goto done;
    }
    if (!c->partial_put || total == 0) {
        /* whole file in one request */
        if ((rc = put_part(c, url, tmp_rel, src, 0, total, total, 0, NULL, &status, err)) != RSL_OK)
            goto done;
        if (status < 200 || status > 299) {
            rc = put_failed(c, status, tmp_rel, err);
            if (rc == RSL_E_REMOTE_TOO_LARGE)
                snprintf(err->msg, sizeof(err->msg),
                         "PUT '%s' on %s: HTTP 413, the server refuses a %" PRIu64
                         "-byte body and does not support partial PUT, so it cannot be chunked",
                         tmp_rel, c->host, total);
        }
        goto done;
    }
    const char *if_match = NULL;
    if (offset > 0 && c->etag_rel && strcmp(c->etag_rel, tmp_rel) == 0 && c->etag[0])
        if_match = c->etag;
    for (uint64_t pos = offset; pos < total;) {
        uint64_t len = total - pos < c->chunk ? total - pos : c->chunk;
        rc = put_part(c, url, tmp_rel, src, pos, len, total, pos > 0, if_match, &status, err);
        if (rc != RSL_OK)
            goto done;
        if (status < 200 || status > 299) {
            rc = put_failed(c, status, tmp_rel, err);
            if (rc == RSL_E_REMOTE_TOO_LARGE && c->chunk / 2 >= MIN_CHUNK) {
                c->chunk /= 2;
                snprintf(err->msg, sizeof(err->msg),
                         "PUT '%s' on %s: HTTP 413 for a %" PRIu64
                         "-byte chunk; chunk size lowered to %" PRIu64 " for the retry",
                         tmp_rel, c->host, len, c->chunk);
            }
            goto done;
        }
        pos += len;
        /* later chunks: If-Match only while the server hands out strong ETags */
        char et[256];
        if (get_header(c, "ETag", et, sizeof(et)) && strncmp(et, "W/", 2) != 0) {
            snprintf(c->etag, sizeof(c->etag), "%s", et);
            if_match = c->etag;
        } else {
            if_match = NULL;
        }
    }
done:
    free(c->etag_rel);
    c->etag_rel = NULL;
    free(url);
    return rc;
}

static rsl_code move_item(rsl_conn *c, const char *from_rel, const char *to_rel, int overwrite,
                          long *status, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    char *src = url_for(c, from_rel, 0), *dst = url_for(c, to_rel, 0), *line = NULL;
    struct curl_slist *h = NULL;
    if (src == NULL || dst == NULL || asprintf(&line, "Destination: %s", dst) < 0) {
        line = NULL;
        rc = oom(err);
        goto done;
    }
    if ((h = hdr_add(NULL, line)) == NULL ||
        (h = hdr_add(h, overwrite ? "Overwrite: T" : "Overwrite: F")) == NULL) {
        rc = oom(err);
        goto done;
    }
    req r = {.method = "MOVE", .url = src, .hdrs = h, .body_limit = ERRBODY_CAP};
    rc = perform(c, &r, status, from_rel, err);
done:
    curl_slist_free_all(h);
    free(line);
    free(src);
    free(dst);
    return rc;
}

static rsl_code https_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                             int64_t mtime, rsl_err *err)
{
    (void)mtime; /* WebDAV servers refuse PROPPATCH of getlastmodified: see docs */
    int exists = 0;
    uint64_t have = 0;
    long status = 0;
    rsl_code rc = head_item(c, tmp_rel, &exists, &have, err);
    if (rc != RSL_OK)
        return rc;
    if (!exists)
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 404,
                           "finish '%s' on %s: the uploaded temp file is gone", tmp_rel, c->host);
    if (have != size)
        return rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                           "'%s' on %s: remote temp file has %" PRIu64 " bytes, expected %" PRIu64,
                           tmp_rel, c->host, have, size);
    /* Overwrite: F first: a new name needs one request, and an existing
     * collection is never replaced (Apache's MOVE with Overwrite: T deletes a
     * directory tree standing at the destination). */
    if ((rc = move_item(c, tmp_rel, final_rel, 0, &status, err)) != RSL_OK)
        return rc;
    if (status == 201 || status == 204)
        return RSL_OK;
    if (status == 412 || status == 409) {
        rsl_rstat st;
        if ((rc = stat_item(c, final_rel, &st, err)) != RSL_OK)
            return rc;
        if (st.exists && st.is_dir)
            return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, status,
                               "MOVE '%s' -> '%s' on %s: a directory of that name exists on the "
                               "remote",
                               tmp_rel, final_rel, c->host);
        if (st.exists || status == 412) {
            if ((rc = move_item(c, tmp_rel, final_rel, 1, &status, err)) != RSL_OK)
                return rc;
            if (status == 201 || status == 204)
                return RSL_OK;
        }
    }
    rc = map_http(c, err, status, "MOVE", final_rel, CTX_ITEM);
    if (rc == RSL_E_REMOTE_IO)
        err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
    return rc;
}

typedef struct list_ctx {
    rsl_conn *c;
    const char *self; /* decoded path of the listed collection, with trailing '/' */
    rsl_list_cb cb;
    void *ud;
    int stopped;
    int bad;
} list_ctx;

static int list_entry_cb(void *ud, const rsl_dav_entry *e)
{
    list_ctx *l = ud;
    char *p = NULL;
    const char *h = e->href;
    const char *sep = strstr(h, "://");
    if (sep && strchr(h, '/') > sep) { /* absolute URI: drop scheme://authority */
        h = strchr(sep + 3, '/');
        if (h == NULL)
            h = "/";
    }
    if ((p = strdup(h)) == NULL || pct_decode_inplace(p) != 0) {
        l->bad = 1;
        free(p);
        return 1;
    }
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    size_t sn = strlen(l->self);
    int rc = 0;
    /* skip the collection itself ("/dav/x/" vs "/dav/x") */
    if (strncmp(p, l->self, sn - 1) == 0 && p[sn - 1] == '\0')
        goto done;
    const char *name = strrchr(p, '/');
    name = name ? name + 1 : p;
    if (strncmp(p, l->self, sn) != 0 || strchr(p + sn, '/') != NULL || name[0] == '\0')
        goto done; /* not a direct child: ignore */
    rsl_rstat st = {.exists = 1,
                    .is_dir = e->is_collection,
                    .size = e->has_length ? e->length : 0,
                    .mtime = e->mtime};
    if (l->cb(l->ud, name, &st) != 0) {
        l->stopped = 1;
        rc = 1;
    }
done:
    free(p);
    return rc;
}

static rsl_code https_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    long status = 0;
    char *url = url_for(c, rel, 1), *self = NULL;
    struct curl_slist *h = NULL;
    const char *root = strcmp(c->root_raw, "/") == 0 ? "" : c->root_raw;
    if (url == NULL || asprintf(&self, "%s/%s%s", root, rel, rel[0] ? "/" : "") < 0 ||
        (h = hdr_add(NULL, "Depth: 1")) == NULL) {
        self = NULL;
        rc = oom(err);
        goto done;
    }
    req r = {.method = "PROPFIND", .url = url, .hdrs = h, .body_limit = PROPFIND_CAP};
    if ((rc = perform(c, &r, &status, rel, err)) != RSL_OK)
        goto done;
    if (status != 207) {
        rc = map_http(c, err, status, "PROPFIND", rel, CTX_ITEM);
        goto done;
    }
    if (c->body.truncated) {
        rc = rsl_err_set(err, RSL_E_PROTOCOL, 207,
                         "PROPFIND '%s' on %s: the listing is larger than %u MiB", rel, c->host,
                         PROPFIND_CAP >> 20);
        goto done;
    }
    list_ctx l = {.c = c, .self = self, .cb = cb, .ud = ud};
    int pr = rsl_webdav_parse_multistatus(c->body.p ? c->body.p : "", c->body.n, list_entry_cb, &l);
    if ((pr != 0 && !l.stopped) || l.bad)
        rc = rsl_err_set(err, RSL_E_PROTOCOL, 207,
                         "PROPFIND '%s' on %s: the multistatus answer cannot be parsed",
                         rel[0] ? rel : "/", c->host);
done:
    curl_slist_free_all(h);
    free(self);
    free(url);
    return rc;
}

typedef struct count_ctx {
    int n;
} count_ctx;

static int count_cb(void *ud, const char *name, const rsl_rstat *st)
{
    (void)name;
    (void)st;
    ((count_ctx *)ud)->n++;
    return 1;
}

static rsl_code https_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    long status = 0;
    if (rel[0] == '\0')
        return rsl_err_set(err, RSL_E_REMOTE_DELETE_FAILED, 0,
                           "delete: refusing to delete the remote root on %s", c->host);
    if (is_dir) {
        /* WebDAV DELETE of a collection is recursive: only delete it empty */
        count_ctx cnt = {0};
        rc = https_list(c, rel, count_cb, &cnt, err);
        if (rc == RSL_E_REMOTE_NOT_FOUND)
            return RSL_OK;
        if (rc != RSL_OK)
            return rc;
        if (cnt.n > 0)
            return rsl_err_set(err, RSL_E_REMOTE_DELETE_FAILED, 0,
                               "delete '%s' on %s: the directory is not empty on the remote", rel,
                               c->host);
    }
    char *url = url_for(c, rel, is_dir);
    struct curl_slist *h = NULL;
    if (url == NULL || (h = hdr_add(NULL, is_dir ? "Depth: infinity" : "Depth: 0")) == NULL) {
        free(url);
        return oom(err);
    }
    /* Depth: 0 on a file: a server finding a collection there refuses (400)
     * instead of deleting a tree */
    req r = {.method = "DELETE", .url = url, .hdrs = h, .body_limit = ERRBODY_CAP};
    rc = perform(c, &r, &status, rel, err);
    if (rc == RSL_OK) {
        if (status == 200 || status == 204 || status == 404) {
            if (is_dir)
                dir_forget_all(c); /* cheap and safe: children are gone too */
        } else {
            rc = map_http(c, err, status, "DELETE", rel, CTX_ITEM);
            if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_NAME_REFUSED ||
                rc == RSL_E_REMOTE_NOT_FOUND)
                err->code = rc = RSL_E_REMOTE_DELETE_FAILED;
        }
    }
    curl_slist_free_all(h);
    free(url);
    return rc;
}

const rsl_transport_ops rsl_transport_https = {
    .version = RSL_TRANSPORT_VERSION,
    .name = "https",
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME,
    .connect = https_connect,
    .disconnect = https_disconnect,
    .caps_of = https_caps_of,
    .describe = https_describe,
    .stat = https_stat,
    .mkdir = https_mkdir,
    .resume_offset = https_resume_offset,
    .upload = https_upload,
    .finish = https_finish,
    .remove = https_remove,
    .list = https_list,
};
