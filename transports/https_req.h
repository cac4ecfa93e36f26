/*
 * https_req.h - one HTTP request on an https connection's easy handle: the
 * per-request options (method, URL, headers, the body pulled from memory or
 * from the upload source, the response sink), the retry of an early refusal
 * over HTTP/1.1, and the one place that decides what a libcurl result
 * (curlmap.h) or an HTTP status means. Internal to the https transport: only
 * https.c and https_req.c include it; its functions are named rsl_https_*
 * because they are the transport's other half, not a module of their own.
 *
 * Response bodies: a PROPFIND answer (207) goes to the connection's
 * streaming multistatus parser (webdav_xml.h) when one is set, never into
 * memory; any other body is kept up to the request's body_limit, and the cut
 * is flagged (c->body.truncated) for the callers that read it.
 *
 * Owns: struct rsl_conn of the https transport (https.c frees it).
 * Must not touch: the engine, the terminal.
 */
#ifndef RSL_HTTPS_REQ_H
#define RSL_HTTPS_REQ_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "dircache.h"
#include "https.h"
#include "webdav_xml.h"

struct rsl_conn {
    CURL *h;
    const rsl_remote_opts *opts; /* = &opts_copy */
    rsl_remote_opts opts_copy;   /* the caller's struct may not outlive connect;
                                    the strings it points to do (transport.h) */
    const rsl_https_cfg *cfg;    /* opts->cfg, or the defaults */
    char *origin;                /* "https://host:port" */
    char *root_enc;              /* percent-encoded root path without trailing '/' ("" for "/") */
    char *root_raw;              /* decoded root path, as in the endpoint ("/" or "/a/b") */
    char *host;                  /* "host:port", for messages and the cache key */
    char *cache_key;             /* "https:<host>:<port><root>:partial-put" */
    char *auth_desc;             /* "basic (user rsl)", "bearer token", "none" */
    int port;
    int timeout;
    int has_auth;
    int partial_put;         /* 1: Content-Range PUT applied by the server */
    const char *partial_how; /* "probed", "cached", "probe failed" */
    uint64_t chunk;
    long http_version;
    char errbuf[CURL_ERROR_SIZE];
    /* response capture: a 207 to the parser when set, else the capped body */
    rsl_dav_parser *dav;
    rsl_buf body;
    /* upload body */
    rsl_source *src;
    rsl_err *src_err;
    int src_failed;
    uint64_t up_left, up_sent;
    int replay; /* re-read the body with src->pread */
    uint64_t replay_pos;
    const char *mem;
    size_t mem_len, mem_off;
    /* ETag of the temp file last seen by resume_offset (for If-Match) */
    char *etag_rel;
    char etag[256];
    rsl_dircache dirs; /* directories known to exist */
};

/* One request. */
typedef struct rsl_https_req {
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
} rsl_https_req;

/* Sets the options every request shares on c->h (callbacks, timeouts). */
void rsl_https_req_setup(rsl_conn *c);
/* Runs one request. Returns RSL_OK with *status set when an HTTP answer came
 * back (any status), else a mapped libcurl failure (or the source's error,
 * passed through unchanged). */
rsl_code rsl_https_perform(rsl_conn *c, const rsl_https_req *r, long *status, const char *rel,
                           rsl_err *err);

enum { RSL_HTTPS_CTX_ITEM = 0, RSL_HTTPS_CTX_CONNECT = 1 };
/* Maps an HTTP status that is not a success for this request. ctx says
 * whether the request was the connect-time check of the remote root (403 and
 * 404 then mean "bad credentials" and "root missing"). */
rsl_code rsl_https_map_http(rsl_conn *c, rsl_err *err, long st, const char *what, const char *rel,
                            int ctx);

/* origin + root + "/" + enc(rel) [+ "/" when coll and rel != ""]; NULL on OOM */
char *rsl_https_url(const rsl_conn *c, const char *rel, int coll);
/* Appends a header line; returns the new list or NULL (and frees) on OOM. */
struct curl_slist *rsl_https_hdr(struct curl_slist *l, const char *line);
/* A response header of the last request into buf; 0 if absent. */
int rsl_https_header(rsl_conn *c, const char *name, char *buf, size_t bufsz);
/* A line for the run log (opts->log), when there is one. */
void rsl_https_log(rsl_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
