/*
 * https.c - the https:// WebDAV transport: its settings, connect (TLS,
 * credentials, the remote root, the server facts), describe, list, and the
 * classic per-call operations, which run the same non-blocking operation
 * steps as the pipelined run() (https_ops.c, https_put.c, https_run.c),
 * one at a time. See https.h.
 *
 * Options common to all requests (TLS, auth, timeouts, HTTP version) are
 * set once at connect on the template handle every request is copied from.
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
#include <unistd.h>

#include "curlmap.h"
#include "dircache.h"
#include "https_ops.h"
#include "https_probe.h"
#include "https_read.h"
#include "https_req.h"
#include "https_run.h"
#include "pct.h"
#include "secret.h"
#include "webdav_xml.h"

/* PROPFIND requests carry no body (allprop, RFC 4918 9.1): a body would
 * race with servers that answer 401/403/405 before reading it and then reset
 * the HTTP/2 stream. Apache's allprop answer is ~1 KiB per entry; it is
 * parsed as it arrives (webdav_xml.h), never kept. A Depth 0 answer over
 * DEPTH0_MAX_BYTES is refused (PROTOCOL) as soon as it passes the bound. */
#define DEPTH0_MAX_BYTES (1u << 20)

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
 * (bounded by lim, NULL: the defaults) calling cb. On RSL_OK *status is the
 * HTTP status; for a 207, the document was complete and valid (else
 * PROTOCOL naming why). */
static rsl_code propfind(rsl_conn *c, const char *url, const char *depth, const char *rel,
                         const rsl_dav_limits *lim, rsl_dav_entry_cb cb, void *ud, long *status,
                         rsl_err *err)
{
    struct curl_slist *h = rsl_https_hdr(NULL, depth);
    rsl_dav_parser *p = NULL;
    if (h == NULL || (p = rsl_webdav_parser_new(lim, cb, ud)) == NULL) {
        curl_slist_free_all(h);
        return oom(err);
    }
    rsl_https_req r = {.method = "PROPFIND", .url = url, .hdrs = h, .dav = p};
    rsl_code rc = rsl_https_perform(c, &r, status, rel, err);
    int pr = rc == RSL_OK && *status == 207 ? rsl_webdav_parser_finish(p) : 0;
    if (pr < 0)
        rc = rsl_err_set(err, pr == -2 ? RSL_E_NO_MEMORY : RSL_E_PROTOCOL, 207,
                         "PROPFIND '%s' on %s: the multistatus answer cannot be read: %s",
                         rel[0] ? rel : "/", c->host, rsl_webdav_parser_error(p));
    if (c->last != NULL) { /* what it pointed to is freed here */
        c->last->r.dav = NULL;
        c->last->r.hdrs = NULL;
    }
    rsl_webdav_parser_free(p);
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
    if (s->got)
        return 0; /* Depth 0: the first response is the item; the answer is
                     still read to its end (and so to its bounds) */
    s->st->exists = 1;
    s->st->is_dir = e->is_collection;
    s->st->size = e->has_length ? e->length : 0;
    s->st->mtime = e->mtime;
    s->got = 1;
    return 0;
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
    rsl_dav_limits lim = {.max_entries = 16, .max_bytes = DEPTH0_MAX_BYTES};
    rsl_code rc = propfind(c, url, "Depth: 0", rel, &lim, stat_entry_cb, &sc, status, err);
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
    curl_easy_setopt(c->tmpl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c->tmpl, CURLOPT_USERNAME, user);
    curl_easy_setopt(c->tmpl, CURLOPT_PASSWORD, secret); /* curl keeps its own copy */
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
        curl_easy_setopt(c->tmpl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(c->tmpl, CURLOPT_XOAUTH2_BEARER, secret);
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
    rsl_https_io *io;
    if (c->last != NULL)
        rsl_https_io_put(c, c->last);
    while (c->active != NULL)
        rsl_https_io_put(c, c->active);
    while (c->stash != NULL)
        rsl_https_io_put(c, c->stash);
    while ((io = c->pool) != NULL) {
        c->pool = io->next;
        curl_easy_cleanup(io->h);
        rsl_buf_free(&io->body);
        free(io);
    }
    if (c->m)
        curl_multi_cleanup(c->m);
    rsl_https_events_free(&c->ev);
    if (c->tmpl)
        curl_easy_cleanup(c->tmpl);
    free(c->origin);
    free(c->root_enc);
    free(c->root_raw);
    free(c->host);
    free(c->fact_base);
    free(c->auth_desc);
    free(c->etag_rel);
    rsl_dircache_clear(&c->dirs);
    free(c);
}

/* A connection with its names: host, origin, root, the server facts' key. */
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
    if (c->chunk < RSL_HTTPS_MIN_CHUNK)
        c->chunk = RSL_HTTPS_MIN_CHUNK;
    c->chunk_how = "chunk_size";
    const char *root = ep->path && ep->path[0] ? ep->path : "/";
    const char *host = ep->host ? ep->host : "";
    int v6 = strchr(host, ':') != NULL;
    c->root_raw = strdup(root);
    c->root_enc = rsl_pct_encode_path(strcmp(root, "/") == 0 ? "" : root);
    if (asprintf(&c->host, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", c->port) < 0)
        c->host = NULL;
    if (c->host == NULL || c->root_raw == NULL || c->root_enc == NULL ||
        asprintf(&c->origin, "%s://%s", plain ? "http" : "https", c->host) < 0 ||
        asprintf(&c->fact_base, "https:%s%s", c->host, strcmp(root, "/") == 0 ? "" : root) < 0) {
        c->origin = c->fact_base = NULL;
        return oom(err);
    }
    if ((c->tmpl = curl_easy_init()) == NULL || (c->m = curl_multi_init()) == NULL)
        return oom(err);
    rsl_https_events_attach(&c->ev, c->m);
    /* connect's requests go one at a time over one connection; run() sets
     * the limits for its window (https_run.c) */
    curl_multi_setopt(c->m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(c->m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    c->max_host_conns = 1;
    return RSL_OK;
}

/* The options every request shares: protocol, timeouts, TLS trust. */
static rsl_code setup_handle(rsl_conn *c, int plain, rsl_err *err)
{
    CURL *h = c->tmpl;
    const rsl_tls_cfg *t = &c->cfg->tls;
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
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L << 10);
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
        return rsl_https_map_http(c->last, err, status, "PROPFIND", "", RSL_HTTPS_CTX_CONNECT);
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
        rsl_https_facts_load(c);
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
    /* no permission bits (WebDAV has none), no mtime (see docs), no links; MOVE
     * moves; a growing file's tail is written in place only with partial PUT */
    return RSL_CAP_ATOMIC_RENAME | RSL_CAP_MOVE |
           (c->partial_put ? RSL_CAP_RESUME | RSL_CAP_APPEND : 0) |
           (c->saw_checksum ? RSL_CAP_CHECKSUM : 0);
}

static const char *version_name(long v)
{
    return v == CURL_HTTP_VERSION_2_0   ? "HTTP/2"
           : v == CURL_HTTP_VERSION_1_1 ? "HTTP/1.1"
           : v == CURL_HTTP_VERSION_1_0 ? "HTTP/1.0"
                                        : "HTTP";
}

static void https_describe(rsl_conn *c, char *buf, size_t n)
{
    const char *ver = version_name(c->http_version);
    const rsl_tls_cfg *o = &c->cfg->tls;
    char trust[512], pipe[128];
    if (strncmp(c->origin, "http:", 5) == 0)
        snprintf(trust, sizeof(trust), "plain http (allow_insecure): NOT encrypted");
    else if (!o->tls_verify)
        snprintf(trust, sizeof(trust), "TLS NOT verified (tls_verify = no)");
    else
        snprintf(trust, sizeof(trust), "TLS verified against %s%s",
                 o->ca_file ? o->ca_file : "the system CA store",
                 o->pinned_pubkey ? " + pinned public key" : "");
    if (c->http_version == CURL_HTTP_VERSION_2_0)
        snprintf(pipe, sizeof(pipe), "up to %d requests at once as streams of one connection",
                 RSL_HTTPS_WINDOW_H2);
    else
        snprintf(pipe, sizeof(pipe), "up to %d requests at once on as many connections",
                 RSL_HTTPS_WINDOW_H1);
    if (c->partial_put)
        snprintf(buf, n,
                 "https: %s%s over %s (%s); %s; %s; partial PUT supported (%s): resumable "
                 "uploads in %" PRIu64 "-byte Content-Range chunks (%s); MOVE into place; mtime "
                 "and permission bits not set (WebDAV cannot set them)",
                 c->origin, c->root_raw, ver, pipe, trust, c->auth_desc, c->partial_how, c->chunk,
                 c->chunk_how);
    else
        snprintf(buf, n,
                 "https: %s%s over %s (%s); %s; %s; partial PUT unsupported (%s): whole-file PUT "
                 "to the temp name, an interrupted upload restarts; MOVE into place; mtime and "
                 "permission bits not set (WebDAV cannot set them)",
                 c->origin, c->root_raw, ver, pipe, trust, c->auth_desc, c->partial_how);
}

unsigned long rsl_https_connections(const rsl_conn *c)
{
    return c->nconnects;
}

/* ----------------------------------------------------------------- ops */

/* The classic calls: one operation, run to its end. */
static rsl_code run_one(rsl_conn *c, rsl_op *op, unsigned phases, rsl_err *err)
{
    rsl_code rc = rsl_https_op_run(c, op, phases);
    if (rc != RSL_OK)
        *err = op->err;
    return rc;
}

static rsl_code https_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    rsl_op op = {.kind = RSL_OP_STAT, .path = rel};
    rsl_code rc = run_one(c, &op, 0, err);
    *st = op.st;
    return rc;
}

static rsl_code https_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    rsl_op op = {.kind = RSL_OP_MKDIR, .path = rel};
    return run_one(c, &op, 0, err);
}

static rsl_code https_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    rsl_op op = {.kind = RSL_OP_REMOVE, .path = rel, .is_dir = is_dir};
    return run_one(c, &op, 0, err);
}

/* The classic move (run() does the same as one op of its window). A
 * growing file's append has no classic call here: run() carries it. */
static rsl_code https_move(rsl_conn *c, const char *from, const char *to, int is_dir, int overwrite,
                           rsl_err *err)
{
    rsl_op op = {
        .kind = RSL_OP_MOVE, .path = to, .from = from, .is_dir = is_dir, .overwrite = overwrite};
    return run_one(c, &op, 0, err);
}

/* HEAD of the temp, then ranged GETs of sampled blocks spread over all of it
 * (resume_sample.h) compared with src->pread: any difference, a size
 * larger than the file, or an unexpected answer = 0 (restart). */
static rsl_code https_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                    rsl_source *src, uint64_t *have, rsl_err *err)
{
    rsl_op op = {.kind = RSL_OP_PUT, .path = tmp_rel, .tmp = tmp_rel, .size = total, .src = src};
    rsl_code rc = run_one(c, &op, RSL_HTTPS_PH_RESUME, err);
    *have = rc == RSL_OK ? op.offset : 0;
    return rc;
}

static rsl_code https_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                             rsl_source *src, rsl_err *err)
{
    rsl_op op = {.kind = RSL_OP_PUT,
                 .path = tmp_rel,
                 .tmp = tmp_rel,
                 .size = total,
                 .offset = offset,
                 .src = src};
    return run_one(c, &op, RSL_HTTPS_PH_SEND, err);
}

static rsl_code https_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                             int64_t mtime, rsl_err *err)
{
    (void)mtime; /* WebDAV servers refuse PROPPATCH of getlastmodified: see docs */
    rsl_op op = {.kind = RSL_OP_PUT, .path = final_rel, .tmp = tmp_rel, .size = size};
    return run_one(c, &op, RSL_HTTPS_PH_FINISH, err);
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

/* Keeps a direct child of the listed collection (skips the collection
 * itself, "/dav/x/" vs "/dav/x", and anything deeper). */
static int list_entry_cb(void *ud, const rsl_dav_entry *e)
{
    list_ctx *l = ud;
    char *name = NULL;
    int k = rsl_https_href_child(l->self, e->href, &name);
    if (k < 0) {
        l->bad = 1;
        return 1;
    }
    if (k == 0)
        return 0;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        lent *g = realloc(l->v, ncap * sizeof(*g));
        if (g == NULL) {
            free(name);
            l->bad = 1;
            return 1;
        }
        l->v = g;
        l->cap = ncap;
    }
    l->v[l->n].name = name;
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
    char *url = rsl_https_url(c, rel, 1), *self = rsl_https_self_path(c, rel);
    list_ctx l = {0};
    rsl_code rc = RSL_OK;
    if (url == NULL || self == NULL) {
        rc = oom(err);
        goto done;
    }
    l.self = self;
    rc = propfind(c, url, "Depth: 1", rel, NULL, list_entry_cb, &l, &status, err);
    if (rc != RSL_OK)
        goto done;
    if (status != 207)
        rc = rsl_https_map_http(c->last, err, status, "PROPFIND", rel, RSL_HTTPS_CTX_ITEM);
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

const rsl_transport_ops rsl_transport_https = {
    .version = RSL_TRANSPORT_VERSION,
    .name = "https",
    .caps =
        RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_CHECKSUM | RSL_CAP_MOVE | RSL_CAP_APPEND,
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
    .run = rsl_https_run,
    .read = rsl_https_read,
    .hash = rsl_https_hash,
    .move = https_move,
};
