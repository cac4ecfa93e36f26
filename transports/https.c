/*
 * https.c - the https:// WebDAV transport. See https.h.
 *
 * Requests go through rsl_https_perform() (https_req.c), which returns the
 * HTTP status or a mapped libcurl failure; callers here map statuses with
 * rsl_https_map_http(). Options common to all requests (TLS, auth, timeouts,
 * HTTP version) are set once at connect.
 */
#define _GNU_SOURCE
#include "https.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "curlmap.h"
#include "dircache.h"
#include "https_probe.h"
#include "https_req.h"
#include "pct.h"
#include "secret.h"
#include "webdav_xml.h"

#define MIN_CHUNK (64ull << 10)
#define TAIL_CHECK (64u << 10)
#define ERRBODY_CAP 2048

/* PROPFIND requests carry no body (allprop, RFC 4918 9.1): a body would
 * race with servers that answer 401/403/405 before reading it and then reset
 * the HTTP/2 stream. Apache's allprop answer is ~1 KiB per entry; it is
 * parsed as it arrives (webdav_xml.h), never kept. */

/* ---------------------------------------------------------------- settings */

static const rsl_key https_keys[] = {
    {.type = RSL_KEY_GROUP,
     .off = offsetof(rsl_https_cfg, tls),
     .group = rsl_tls_keys,
     .n_group = RSL_TLS_NKEYS},
    {.name = "token_file",
     .type = RSL_KEY_PATH,
     .off = offsetof(rsl_https_cfg, token_file),
     .secret = 1},
    {.name = "chunk_size",
     .type = RSL_KEY_SIZE,
     .off = offsetof(rsl_https_cfg, chunk_size),
     .min = 4096},
};

static const rsl_https_cfg https_defaults = {
    .tls = RSL_TLS_CFG_DEFAULTS, .token_file = NULL, .chunk_size = RSL_HTTPS_DEFAULT_CHUNK};

void rsl_https_cfg_init(rsl_https_cfg *cfg)
{
    *cfg = https_defaults;
}

static void cfg_init(void *cfg)
{
    rsl_https_cfg_init(cfg);
}

static const char *https_unverified(const rsl_scheme *s, const void *cfg)
{
    (void)s;
    const rsl_https_cfg *h = cfg;
    return h != NULL ? rsl_tls_unverified(&h->tls) : NULL;
}

static rsl_code oom(rsl_err *err)
{
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

/* ---------------------------------------------------------------- PROPFIND */

/* A PROPFIND of url with `depth` whose 207 answer is streamed into a parser
 * calling cb. On RSL_OK *status is the HTTP status; for a 207, the document
 * was complete and valid (else PROTOCOL naming why). */
static rsl_code propfind(rsl_conn *c, const char *url, const char *depth, const char *rel,
                         rsl_dav_entry_cb cb, void *ud, long *status, rsl_err *err)
{
    struct curl_slist *h = rsl_https_hdr(NULL, depth);
    if (h == NULL || (c->dav = rsl_webdav_parser_new(NULL, cb, ud)) == NULL) {
        curl_slist_free_all(h);
        return oom(err);
    }
    rsl_https_req r = {.method = "PROPFIND", .url = url, .hdrs = h, .body_limit = ERRBODY_CAP};
    rsl_code rc = rsl_https_perform(c, &r, status, rel, err);
    /* a parser that failed mid-answer stopped the transfer (rc is then a
     * libcurl error and *status 0): its reason is the one that counts */
    int failed = rsl_webdav_parser_feed(c->dav, NULL, 0) < 0;
    int pr = failed || (rc == RSL_OK && *status == 207) ? rsl_webdav_parser_finish(c->dav) : 0;
    if (pr < 0)
        rc = rsl_err_set(err, pr == -2 ? RSL_E_NO_MEMORY : RSL_E_PROTOCOL, 207,
                         "PROPFIND '%s' on %s: the multistatus answer cannot be read: %s",
                         rel[0] ? rel : "/", c->host, rsl_webdav_parser_error(c->dav));
    rsl_webdav_parser_free(c->dav);
    c->dav = NULL;
    curl_slist_free_all(h);
    return rc;
}

typedef struct stat_ctx {
    rsl_rstat *st;
    int got;
} stat_ctx;

static int stat_entry_cb(void *ud, const rsl_dav_entry *e)
{
    stat_ctx *s = ud;
    s->st->exists = 1;
    s->st->is_dir = e->is_collection;
    s->st->size = e->has_length ? e->length : 0;
    s->st->mtime = e->mtime;
    s->got = 1;
    return 1; /* Depth 0: the first response is the item */
}

/* PROPFIND Depth 0 of rel (as a collection URL when coll). On success *status
 * is the HTTP status; st is filled when it was 207. */
static rsl_code propfind0(rsl_conn *c, const char *rel, int coll, rsl_rstat *st, long *status,
                          rsl_err *err)
{
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    char *url = rsl_https_url(c, rel, coll);
    if (url == NULL)
        return oom(err);
    stat_ctx sc = {.st = st};
    rsl_code rc = propfind(c, url, "Depth: 0", rel, stat_entry_cb, &sc, status, err);
    if (rc == RSL_OK && *status == 207 && !sc.got)
        rc = rsl_err_set(err, RSL_E_PROTOCOL, 207,
                         "PROPFIND '%s' on %s: the multistatus answer names no item",
                         rel[0] ? rel : "/", c->host);
    free(url);
    return rc;
}

/* ------------------------------------------------------------------- auth */

/* Basic credentials of user: password_file, else RSYNCD_LITE_PASSWORD. */
static rsl_code basic_auth(rsl_conn *c, const char *user, rsl_err *err)
{
    const rsl_remote_opts *o = c->opts;
    char *secret = NULL;
    if ((o->password_file == NULL || o->password_file[0] == '\0') &&
        (o->password_env == NULL || o->password_env[0] == '\0'))
        return rsl_err_set(err, RSL_E_SECRET_MISSING, 0,
                           "%s: user '%s' is set but no password (password_file or "
                           "RSYNCD_LITE_PASSWORD) and no token_file",
                           c->host, user);
    rsl_code rc = rsl_secret_password(o->password_file, o->password_env, &secret, err);
    if (rc != RSL_OK)
        return rc;
    curl_easy_setopt(c->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c->h, CURLOPT_USERNAME, user);
    curl_easy_setopt(c->h, CURLOPT_PASSWORD, secret); /* curl keeps its own copy */
    rsl_secret_free(secret);
    c->has_auth = 1;
    if (asprintf(&c->auth_desc, "basic auth as user '%s'", user) < 0)
        c->auth_desc = NULL;
    return c->auth_desc ? RSL_OK : oom(err);
}

/* Sets bearer (token_file) or Basic credentials on the handle, or none. */
static rsl_code setup_auth(rsl_conn *c, const rsl_endpoint *ep, rsl_err *err)
{
    const rsl_remote_opts *o = c->opts;
    const char *user = o->username && o->username[0] ? o->username : ep->user;
    if (c->cfg->token_file != NULL) {
        char *secret = NULL;
        rsl_code rc = rsl_secret_read(c->cfg->token_file, "token_file", &secret, err);
        if (rc != RSL_OK)
            return rc;
        curl_easy_setopt(c->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(c->h, CURLOPT_XOAUTH2_BEARER, secret);
        rsl_secret_free(secret);
        c->has_auth = 1;
        c->auth_desc = strdup("bearer token from token_file");
    } else if (user && user[0]) {
        return basic_auth(c, user, err);
    } else {
        c->auth_desc = strdup("no credentials");
    }
    return c->auth_desc ? RSL_OK : oom(err);
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
    rsl_dircache_clear(&c->dirs);
    free(c);
}

/* A connection with its names: host, origin, root, the probe's cache key. */
static rsl_code conn_new(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                         int plain, rsl_err *err)
{
    rsl_conn *c = *out = calloc(1, sizeof(*c));
    if (c == NULL)
        return oom(err);
    c->opts_copy = *opts;
    c->opts = &c->opts_copy;
    c->cfg = opts->cfg ? opts->cfg : &https_defaults;
    c->port = rsl_endpoint_port(ep, opts);
    c->timeout = opts->timeout_sec > 0 ? opts->timeout_sec : 60;
    c->chunk = c->cfg->chunk_size ? c->cfg->chunk_size : RSL_HTTPS_DEFAULT_CHUNK;
    if (c->chunk < MIN_CHUNK)
        c->chunk = MIN_CHUNK;
    const char *root = ep->path && ep->path[0] ? ep->path : "/";
    const char *host = ep->host ? ep->host : "";
    int v6 = strchr(host, ':') != NULL;
    c->root_raw = strdup(root);
    c->root_enc = rsl_pct_encode_path(strcmp(root, "/") == 0 ? "" : root);
    if (asprintf(&c->host, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", c->port) < 0)
        c->host = NULL;
    if (c->host == NULL || c->root_raw == NULL || c->root_enc == NULL ||
        asprintf(&c->origin, "%s://%s", plain ? "http" : "https", c->host) < 0 ||
        asprintf(&c->cache_key, "https:%s%s:partial-put", c->host,
                 strcmp(root, "/") == 0 ? "" : root) < 0) {
        c->origin = c->cache_key = NULL;
        return oom(err);
    }
    if ((c->h = curl_easy_init()) == NULL)
        return oom(err);
    return RSL_OK;
}

/* The options every request shares: protocol, timeouts, TLS trust. */
static rsl_code setup_handle(rsl_conn *c, int plain, rsl_err *err)
{
    CURL *h = c->h;
    const rsl_tls_cfg *t = &c->cfg->tls;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, plain ? "http" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->timeout);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->timeout);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "rsyncd-lite/" RSL_VERSION);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L << 10);
    rsl_https_req_setup(c);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, t->tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, t->tls_verify ? 2L : 0L);
    if (t->ca_file) {
        if (access(t->ca_file, R_OK) != 0)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, errno,
                               "ca_file '%s' cannot be read: %s", t->ca_file, strerror(errno));
        curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
    }
    if (t->pinned_pubkey)
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, t->pinned_pubkey);
    return RSL_OK;
}

/* Apache answers 400 (or 409) to "file/": look at the root's name without
 * the slash, from its parent. */
static rsl_code stat_root_as_file(rsl_conn *c, rsl_rstat *st, long *status, rsl_err *err)
{
    char *saved = c->root_enc, *parent = strdup(c->root_raw);
    if (parent == NULL)
        return oom(err);
    char *slash = strrchr(parent, '/');
    *slash = '\0';
    if ((c->root_enc = rsl_pct_encode_path(parent)) == NULL) {
        c->root_enc = saved;
        free(parent);
        return oom(err);
    }
    rsl_code rc = propfind0(c, slash + 1, 0, st, status, err);
    free(c->root_enc);
    c->root_enc = saved;
    free(parent);
    if (rc == RSL_OK && *status == 207 && !st->is_dir)
        *status = 404;
    return rc;
}

/* The remote root must exist and be a collection; this also checks TLS
 * trust and the credentials. */
static rsl_code check_root(rsl_conn *c, rsl_err *err)
{
    rsl_rstat st;
    long status = 0;
    rsl_code rc = propfind0(c, "", 1, &st, &status, err);
    if (rc == RSL_OK && (status == 400 || status == 409) && strcmp(c->root_raw, "/") != 0)
        rc = stat_root_as_file(c, &st, &status, err);
    if (rc != RSL_OK)
        return rc;
    if (status != 207)
        return rsl_https_map_http(c, err, status, "PROPFIND", "", RSL_HTTPS_CTX_CONNECT);
    if (!st.is_dir)
        return rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, 0,
                           "%s: the remote root %s is not a collection (directory)", c->host,
                           c->root_raw);
    return RSL_OK;
}

static rsl_code https_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                              rsl_err *err)
{
    static const rsl_remote_opts no_opts;
    rsl_conn *c = NULL;
    *out = NULL;
    if (opts == NULL)
        opts = &no_opts;
    const rsl_https_cfg *cfg = opts->cfg ? opts->cfg : &https_defaults;
    int plain = ep->scheme && strcasecmp(ep->scheme, "http") == 0;
    rsl_code rc = rsl_curlmap_init(err);
    if (rc == RSL_OK && plain && !cfg->tls.allow_insecure)
        rc = rsl_err_set(err, RSL_E_INSECURE_REFUSED, 0,
                         "http://%s: plain HTTP sends credentials and data unencrypted; use "
                         "https:// or set allow_insecure = yes",
                         ep->host ? ep->host : "");
    if (rc == RSL_OK)
        rc = conn_new(&c, ep, opts, plain, err);
    if (rc == RSL_OK && plain)
        rsl_https_log(c, RSL_LOG_WARN,
                      "%s: plain http:// (allow_insecure = yes): credentials and data travel "
                      "unencrypted",
                      c->host);
    if (rc == RSL_OK && !plain && !cfg->tls.tls_verify)
        rsl_https_log(c, RSL_LOG_WARN,
                      "%s: tls_verify = no: the server's certificate is NOT checked; anyone on "
                      "the path can read and change this transfer",
                      c->host);
    if (rc == RSL_OK && (rc = setup_handle(c, plain, err)) == RSL_OK &&
        (rc = setup_auth(c, ep, err)) == RSL_OK && (rc = check_root(c, err)) == RSL_OK) {
        rsl_https_probe_decide(c);
        if (!c->partial_put && !opts->readonly)
            rsl_https_log(c, RSL_LOG_INFO,
                          "%s%s: partial PUT unsupported (%s): whole-file PUT to the temp name; "
                          "an interrupted upload restarts from the beginning",
                          c->host, c->root_raw, c->partial_how);
        *out = c;
        return RSL_OK;
    }
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
    const rsl_tls_cfg *o = &c->cfg->tls;
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
    return rsl_https_map_http(c, err, status, "PROPFIND", rel, RSL_HTTPS_CTX_ITEM);
}

static rsl_code https_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    return stat_item(c, rel, st, err);
}

static rsl_code https_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    if (rel[0] == '\0' || rsl_dircache_has(&c->dirs, rel))
        return RSL_OK;
    rsl_code rc = RSL_OK;
    long status = 0;
    char *url = rsl_https_url(c, rel, 1);
    if (url == NULL)
        return oom(err);
    rsl_https_req r = {.method = "MKCOL", .url = url, .body_limit = ERRBODY_CAP};
    if ((rc = rsl_https_perform(c, &r, &status, rel, err)) != RSL_OK)
        goto done;
    if (status == 201 || status == 200 || status == 204) {
        rsl_dircache_add(&c->dirs, rel);
        goto done;
    }
    if (status == 405 || status == 301 || status == 400) {
        /* 405: something exists at that name (RFC 4918 9.3.1); Apache says
         * 400 when a file stands where "name/" was asked for. Look at it. */
        rsl_rstat st;
        if ((rc = stat_item(c, rel, &st, err)) != RSL_OK)
            goto done;
        if (st.exists && st.is_dir) {
            rsl_dircache_add(&c->dirs, rel);
            goto done;
        }
        if (st.exists) {
            rc = rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, status,
                             "mkdir '%s' on %s: a file of that name exists on the remote", rel,
                             c->host);
            goto done;
        }
    }
    rc = rsl_https_map_http(c, err, status, "MKCOL", rel, RSL_HTTPS_CTX_ITEM);
    if (rc == RSL_E_REMOTE_NOT_FOUND) /* 409: the parent is gone */
        rsl_dircache_missing(&c->dirs, rel);
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
    char *url = rsl_https_url(c, rel, 0);
    if (url == NULL)
        return oom(err);
    rsl_https_req r = {.method = "HEAD", .url = url, .body_limit = 0};
    rsl_code rc = rsl_https_perform(c, &r, &status, rel, err);
    free(url);
    if (rc != RSL_OK)
        return rc;
    if (status == 404)
        return RSL_OK;
    if (status != 200)
        return rsl_https_map_http(c, err, status, "HEAD", rel, RSL_HTTPS_CTX_ITEM);
    char v[64];
    curl_off_t cl = -1;
    if (rsl_https_header(c, "Content-Length", v, sizeof(v))) {
        char *e = NULL;
        unsigned long long x = strtoull(v, &e, 10);
        if (e != v && v[0] != '-')
            cl = (curl_off_t)x;
    }
    c->etag[0] = '\0';
    char et[256];
    if (rsl_https_header(c, "ETag", et, sizeof(et)) && strncmp(et, "W/", 2) != 0)
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

/* 1 when the last n bytes below `end` of tmp_rel equal the source's; 0
 * when not (or the server could not tell); -1 with err set when the request
 * or the source failed. */
static int tail_matches(rsl_conn *c, const char *tmp_rel, uint64_t end, uint64_t n, rsl_source *src,
                        rsl_err *err)
{
    uint64_t from = end - n;
    char range[64];
    snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, from, end - 1);
    char *url = rsl_https_url(c, tmp_rel, 0);
    unsigned char *local = malloc((size_t)n);
    int match = -1;
    long status = 0;
    if (url == NULL || local == NULL) {
        oom(err);
        goto done;
    }
    rsl_https_req r = {.method = "GET", .url = url, .range = range, .body_limit = (size_t)n};
    if (rsl_https_perform(c, &r, &status, tmp_rel, err) != RSL_OK)
        goto done;
    match = 0;
    if (status != 206 || c->body.n != n || c->body.truncated) {
        rsl_https_log(c, RSL_LOG_INFO,
                      "%s: '%s' restarts from 0: the ranged GET of its tail answered HTTP %ld "
                      "with %zu bytes",
                      c->host, tmp_rel, status, c->body.n);
        goto done;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = src->pread(src, local + got, (size_t)n - got, from + got, err);
        if (k < 0) {
            match = -1;
            goto done;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    match = got == n && memcmp(local, c->body.p, (size_t)n) == 0;
    if (!match)
        rsl_https_log(c, RSL_LOG_INFO,
                      "%s: '%s' restarts from 0: its remote tail differs from the local file",
                      c->host, tmp_rel);
done:
    free(local);
    free(url);
    return match;
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
    int m = tail_matches(c, tmp_rel, size, size < TAIL_CHECK ? size : TAIL_CHECK, src, err);
    if (m < 0)
        return err->code;
    if (m > 0)
        *have = size;
    return RSL_OK;
}

/* One PUT of [pos, pos+len) of src into url; ranged when `ranged`. */
static rsl_code put_part(rsl_conn *c, const char *url, const char *rel, rsl_source *src,
                         uint64_t pos, uint64_t len, uint64_t total, int ranged,
                         const char *if_match, long *status, rsl_err *err)
{
    char line[320]; /* "If-Match: " + an ETag of up to 255 bytes */
    struct curl_slist *h = rsl_https_hdr(NULL, "Expect:");
    if (h == NULL)
        return oom(err);
    if (ranged) {
        snprintf(line, sizeof(line), "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, pos,
                 pos + len - 1, total);
        if ((h = rsl_https_hdr(h, line)) == NULL)
            return oom(err);
    }
    if (if_match && if_match[0]) {
        snprintf(line, sizeof(line), "If-Match: %s", if_match);
        if ((h = rsl_https_hdr(h, line)) == NULL)
            return oom(err);
    }
    static const char empty[] = "";
    rsl_https_req r = {.method = "PUT",
                       .url = url,
                       .hdrs = h,
                       .src = len ? src : NULL,
                       .src_off = pos,
                       .src_len = len,
                       .mem = len ? NULL : empty,
                       .mem_len = 0,
                       .body_limit = ERRBODY_CAP};
    rsl_code rc = rsl_https_perform(c, &r, status, rel, err);
    curl_slist_free_all(h);
    return rc;
}

/* Maps a failed PUT; a 500 may hide a missing parent (nginx with
 * create_full_put_path off), which is worth saying precisely. */
static rsl_code put_failed(rsl_conn *c, long status, const char *rel, rsl_err *err)
{
    rsl_code rc = rsl_https_map_http(c, err, status, "PUT", rel, RSL_HTTPS_CTX_ITEM);
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

/* The whole file in one PUT (no partial PUT, or an empty file). */
static rsl_code put_whole(rsl_conn *c, const char *url, const char *tmp_rel, uint64_t total,
                          rsl_source *src, rsl_err *err)
{
    long status = 0;
    rsl_code rc = put_part(c, url, tmp_rel, src, 0, total, total, 0, NULL, &status, err);
    if (rc != RSL_OK || (status >= 200 && status <= 299))
        return rc;
    rc = put_failed(c, status, tmp_rel, err);
    if (rc == RSL_E_REMOTE_TOO_LARGE)
        snprintf(err->msg, sizeof(err->msg),
                 "PUT '%s' on %s: HTTP 413, the server refuses a %" PRIu64
                 "-byte body and does not support partial PUT, so it cannot be chunked",
                 tmp_rel, c->host, total);
    return rc;
}

/* [offset, total) in chunks of c->chunk with Content-Range; If-Match on the
 * ETag while the server hands out strong ones. A 413 halves the chunk size
 * for the retry. */
static rsl_code put_chunks(rsl_conn *c, const char *url, const char *tmp_rel, uint64_t offset,
                           uint64_t total, rsl_source *src, rsl_err *err)
{
    const char *if_match = NULL;
    if (offset > 0 && c->etag_rel && strcmp(c->etag_rel, tmp_rel) == 0 && c->etag[0])
        if_match = c->etag;
    for (uint64_t pos = offset; pos < total;) {
        uint64_t len = total - pos < c->chunk ? total - pos : c->chunk;
        long status = 0;
        rsl_code rc =
            put_part(c, url, tmp_rel, src, pos, len, total, pos > 0, if_match, &status, err);
        if (rc != RSL_OK)
            return rc;
        if (status < 200 || status > 299) {
            rc = put_failed(c, status, tmp_rel, err);
            if (rc == RSL_E_REMOTE_TOO_LARGE && c->chunk / 2 >= MIN_CHUNK) {
                c->chunk /= 2;
                snprintf(err->msg, sizeof(err->msg),
                         "PUT '%s' on %s: HTTP 413 for a %" PRIu64
                         "-byte chunk; chunk size lowered to %" PRIu64 " for the retry",
                         tmp_rel, c->host, len, c->chunk);
            }
            return rc;
        }
        pos += len;
        char et[256];
        if (rsl_https_header(c, "ETag", et, sizeof(et)) && strncmp(et, "W/", 2) != 0) {
            snprintf(c->etag, sizeof(c->etag), "%s", et);
            if_match = c->etag;
        } else {
            if_match = NULL;
        }
    }
    return RSL_OK;
}

static rsl_code https_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                             rsl_source *src, rsl_err *err)
{
    rsl_code rc;
    char *url = rsl_https_url(c, tmp_rel, 0);
    if (url == NULL)
        rc = oom(err);
    else if (offset > total || (offset > 0 && !c->partial_put))
        rc = rsl_err_set(err, RSL_E_INTERNAL, 0,
                         "upload '%s': offset %" PRIu64 " cannot be continued on %s", tmp_rel,
                         offset, c->host);
    else if (!c->partial_put || total == 0)
        rc = put_whole(c, url, tmp_rel, total, src, err);
    else
        rc = put_chunks(c, url, tmp_rel, offset, total, src, err);
    if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_dircache_missing(&c->dirs, tmp_rel);
    free(c->etag_rel);
    c->etag_rel = NULL;
    free(url);
    return rc;
}

static rsl_code move_item(rsl_conn *c, const char *from_rel, const char *to_rel, int overwrite,
                          long *status, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    char *src = rsl_https_url(c, from_rel, 0), *dst = rsl_https_url(c, to_rel, 0), *line = NULL;
    struct curl_slist *h = NULL;
    if (src == NULL || dst == NULL || asprintf(&line, "Destination: %s", dst) < 0) {
        line = NULL;
        rc = oom(err);
        goto done;
    }
    if ((h = rsl_https_hdr(NULL, line)) == NULL ||
        (h = rsl_https_hdr(h, overwrite ? "Overwrite: T" : "Overwrite: F")) == NULL) {
        rc = oom(err);
        goto done;
    }
    rsl_https_req r = {.method = "MOVE", .url = src, .hdrs = h, .body_limit = ERRBODY_CAP};
    rc = rsl_https_perform(c, &r, status, from_rel, err);
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
    rc = rsl_https_map_http(c, err, status, "MOVE", final_rel, RSL_HTTPS_CTX_ITEM);
    if (rc == RSL_E_REMOTE_IO)
        err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
    return rc;
}

/* One entry of a listing, kept until the answer is complete. */
typedef struct lent {
    char *name;
    rsl_rstat st;
} lent;

typedef struct list_ctx {
    const char *self; /* decoded path of the listed collection, with trailing '/' */
    lent *v;
    size_t n, cap;
    int bad; /* an href that cannot be decoded, or out of memory */
} list_ctx;

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

/* Keeps a direct child of the listed collection (skips the collection
 * itself, "/dav/x/" vs "/dav/x", and anything deeper). */
static int list_entry_cb(void *ud, const rsl_dav_entry *e)
{
    list_ctx *l = ud;
    char *p = href_path(e->href);
    if (p == NULL) {
        l->bad = 1;
        return 1;
    }
    size_t sn = strlen(l->self);
    const char *name = strrchr(p, '/');
    name = name ? name + 1 : p;
    int self = strncmp(p, l->self, sn - 1) == 0 && p[sn - 1] == '\0';
    int child = strncmp(p, l->self, sn) == 0 && strchr(p + sn, '/') == NULL && name[0] != '\0';
    if (self || !child) {
        free(p);
        return 0;
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        lent *g = realloc(l->v, ncap * sizeof(*g));
        if (g == NULL) {
            free(p);
            l->bad = 1;
            return 1;
        }
        l->v = g;
        l->cap = ncap;
    }
    memmove(p, name, strlen(name) + 1);
    l->v[l->n].name = p;
    l->v[l->n].st = (rsl_rstat){.exists = 1,
                                .is_dir = e->is_collection,
                                .size = e->has_length ? e->length : 0,
                                .mtime = e->mtime};
    l->n++;
    return 0;
}

/* PROPFIND Depth 1 of rel: the entries are collected as the answer streams
 * in and handed to cb once it was complete and valid (cb may then use the
 * connection). */
static rsl_code https_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    long status = 0;
    char *url = rsl_https_url(c, rel, 1), *self = NULL;
    const char *root = strcmp(c->root_raw, "/") == 0 ? "" : c->root_raw;
    list_ctx l = {0};
    rsl_code rc = RSL_OK;
    if (url == NULL || asprintf(&self, "%s/%s%s", root, rel, rel[0] ? "/" : "") < 0) {
        self = NULL;
        rc = oom(err);
        goto done;
    }
    l.self = self;
    if ((rc = propfind(c, url, "Depth: 1", rel, list_entry_cb, &l, &status, err)) != RSL_OK)
        goto done;
    if (status != 207)
        rc = rsl_https_map_http(c, err, status, "PROPFIND", rel, RSL_HTTPS_CTX_ITEM);
    else if (l.bad)
        rc = rsl_err_set(err, RSL_E_PROTOCOL, 207,
                         "PROPFIND '%s' on %s: an href in the answer cannot be decoded",
                         rel[0] ? rel : "/", c->host);
    for (size_t i = 0; rc == RSL_OK && i < l.n; i++)
        if (cb(ud, l.v[i].name, &l.v[i].st) != 0)
            break;
done:
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].name);
    free(l.v);
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
    char *url = rsl_https_url(c, rel, is_dir);
    struct curl_slist *h = NULL;
    if (url == NULL || (h = rsl_https_hdr(NULL, is_dir ? "Depth: infinity" : "Depth: 0")) == NULL) {
        free(url);
        return oom(err);
    }
    /* Depth: 0 on a file: a server finding a collection there refuses (400)
     * instead of deleting a tree */
    rsl_https_req r = {.method = "DELETE", .url = url, .hdrs = h, .body_limit = ERRBODY_CAP};
    rc = rsl_https_perform(c, &r, &status, rel, err);
    if (rc == RSL_OK) {
        if (status == 200 || status == 204 || status == 404) {
            if (is_dir)
                rsl_dircache_forget(&c->dirs, rel); /* and everything under it */
        } else {
            rc = rsl_https_map_http(c, err, status, "DELETE", rel, RSL_HTTPS_CTX_ITEM);
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
    .keys = https_keys,
    .n_keys = sizeof(https_keys) / sizeof(https_keys[0]),
    .cfg_size = sizeof(rsl_https_cfg),
    .cfg_init = cfg_init,
    .unverified = https_unverified,
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
