/*
 * https_req.h - requests on an https connection: one libcurl multi handle
 * per connection that every request goes through (so the HTTP/2 connection
 * opened at connect carries the pipelined run's streams too), the requests
 * themselves (rsl_https_io: an easy handle copied from the connection's
 * template with its body source and response sink), their deadlines, and
 * the one place that decides what a libcurl result (curlmap.h) or an HTTP
 * status means. Internal to the https transport: only https*.c include it;
 * its functions are named rsl_https_* because they are the transport's
 * inner half, not a module of their own.
 *
 * Two ways to run a request:
 *   - rsl_https_start() adds it to the multi handle and returns; fn is
 *     called with the finished request from rsl_https_step() (the pipelined
 *     run and the operation machines, https_ops.h);
 *   - rsl_https_perform() runs one to its end (the classic calls, the
 *     probe, list). It may be called from inside a start()ed request's fn:
 *     requests that finish meanwhile are kept (the stash) and handed to
 *     their fn by the next rsl_https_step() at the outer level, never inside
 *     the nested wait.
 *
 * Deadlines (the same for every request): a request fails with TIMEOUT when
 * it has run longer than `timeout` seconds plus one second per
 * RSL_HTTPS_MIN_RATE bytes it moved (sent + received), not counting the
 * time the upload source spent in read() (bwlimit sleeps); plus libcurl's
 * connect timeout (`timeout`) and low-speed limit (no byte for `timeout`
 * seconds). A response body beyond its cap ends the transfer at once (the
 * write callback refuses it) instead of being read and discarded.
 *
 * Response bodies: a 207 goes to the request's multistatus parser
 * (webdav_xml.h) when it has one, a 2xx to its sink when it has one, any
 * other body into io->body up to body_keep bytes; at most body_max bytes
 * are read (io->capped then says the transfer was cut there).
 *
 * Upload bodies: [src_off, src_off + src_len) of an rsl_source. Bytes below
 * *src_pos (what read() already delivered in this operation) are re-read
 * with pread (a retried chunk, an early answer sent again, a restart); the
 * rest come from read(), so each byte passes read() (bwlimit, the content
 * digest) exactly once. libcurl may rewind a body only before its first
 * byte was pulled (https_req.c seek_cb).
 *
 * Owns: struct rsl_conn of the https transport (https.c creates and frees
 * it), the requests' easy handles (recycled through the connection's pool).
 * Must not touch: the engine, the terminal.
 */
#ifndef RSL_HTTPS_REQ_H
#define RSL_HTTPS_REQ_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "dircache.h"
#include "https_events.h"
#include "https.h"
#include "webdav_xml.h"

#define RSL_HTTPS_MIN_RATE 4096u          /* bytes per second a request must average past timeout */
#define RSL_HTTPS_ERRBODY_MAX (64u << 10) /* bytes of an unwanted body read before cutting */
#define RSL_HTTPS_EARLY_ANSWER_MAX (256u << 10)

typedef struct rsl_https_io rsl_https_io;
typedef void (*rsl_https_done_fn)(void *ud, rsl_https_io *io);

/* One request. Pointers are borrowed until the request finished. */
typedef struct rsl_https_req {
    const char *method; /* "GET", "HEAD", "PUT", "PROPFIND", ... */
    const char *url;
    struct curl_slist *hdrs;
    /* request body: exactly one of mem / src (or none) */
    const char *mem;
    size_t mem_len;
    rsl_source *src;
    uint64_t src_off; /* the body is [src_off, src_off + src_len) of the source */
    uint64_t src_len;
    uint64_t *src_pos; /* how far read() got; NULL: src_off (nothing read before) */
    rsl_err *src_err;  /* where the source reports its failure */
    /* response */
    size_t body_keep;    /* bytes of a non-207, non-sunk body kept in io->body */
    size_t body_max;     /* bytes read at most; 0: max(body_keep, RSL_HTTPS_ERRBODY_MAX) */
    const char *range;   /* "a-b" for GET, or NULL */
    rsl_dav_parser *dav; /* a 207 is fed here when set */
    int (*sink)(void *ud, const void *p, size_t n); /* a 2xx body; non-zero stops */
    void *sink_ud;
} rsl_https_req;

struct rsl_https_io {
    CURL *h;
    struct rsl_conn *c;
    rsl_https_io *next; /* pool, active list or stash */
    rsl_https_req r;
    char errbuf[CURL_ERROR_SIZE];
    /* upload body */
    uint64_t up_pos;  /* next body byte, absolute in the source */
    uint64_t own_pos; /* used when r.src_pos is NULL */
    size_t mem_off;
    int src_failed; /* the source failed: r.src_err says why */
    /* response body */
    rsl_buf body;
    uint64_t down;     /* body bytes received */
    int capped;        /* cut at body_max */
    int sink_stopped;  /* the sink asked to stop */
    int dav_failed;    /* the parser refused the answer */
    uint64_t dav_rest; /* bytes after the parser stopped (it had its entry) */
    /* deadline */
    int64_t t0_ms;
    int64_t src_wait0_ms; /* the connection's source wait at the start */
    int deadline_hit;
    /* result */
    CURLcode cc;
    long status; /* HTTP status, 0 when no answer came */
    int state;   /* internal: idle, active, stashed, done */
    rsl_https_done_fn fn;
    void *ud;
};

struct rsl_conn {
    CURLM *m;
    rsl_https_events ev;  /* the sockets and timer m asks us to watch */
    CURL *tmpl;           /* the options every request shares; requests are copies */
    rsl_https_io *pool;   /* idle requests */
    rsl_https_io *active; /* requests in the multi handle */
    rsl_https_io *stash;  /* finished during a nested wait (FIFO via stash_tail) */
    rsl_https_io *stash_tail;
    rsl_https_io *last;          /* the last rsl_https_perform()'s request, kept until the next */
    int depth;                   /* nested waits in progress */
    int max_host_conns;          /* CURLMOPT_MAX_HOST_CONNECTIONS as last set */
    unsigned long nconnects;     /* TCP connections opened (CURLINFO_NUM_CONNECTS summed) */
    int64_t src_wait_ms;         /* time spent inside src->read (bwlimit), all requests */
    const rsl_remote_opts *opts; /* = &opts_copy */
    rsl_remote_opts opts_copy;   /* the caller's struct may not outlive connect;
                                    the strings it points to do (transport.h) */
    const rsl_https_cfg *cfg;    /* opts->cfg, or the defaults */
    char *origin;                /* "https://host:port" */
    char *root_enc;              /* percent-encoded root path without trailing '/' ("" for "/") */
    char *root_raw;              /* decoded root path, as in the endpoint ("/" or "/a/b") */
    char *host;                  /* "host:port", for messages */
    char *fact_base;             /* "https:<host>:<port><root>": the server facts' key prefix */
    char *auth_desc;             /* "basic (user rsl)", "bearer token", "none" */
    int port;
    int timeout;
    int has_auth;
    int partial_put;         /* 1: Content-Range PUT applied by the server */
    const char *partial_how; /* "probed", "cached", "probe failed", "probed again" */
    uint64_t chunk;          /* ranged-PUT chunk size now */
    const char *chunk_how;   /* "chunk_size", "learnt from HTTP 413", "kept from an earlier ..." */
    long http_version;
    int saw_checksum; /* a server-side checksum was seen (RSL_CAP_CHECKSUM) */
    /* ETag of the temp file last seen by resume_offset (for If-Match) */
    char *etag_rel;
    char etag[256];
    rsl_dircache dirs; /* directories known to exist */
};

/* Sets the options every request shares on the template handle c->tmpl. */
void rsl_https_req_setup(rsl_conn *c);

/* A request ready to start (from the pool, or a copy of the template);
 * NULL when out of memory. rsl_https_io_put gives it back (any state:
 * a running one is taken out of the multi handle first). */
rsl_https_io *rsl_https_io_get(rsl_conn *c);
void rsl_https_io_put(rsl_conn *c, rsl_https_io *io);

/* Starts r on io; fn(ud, io) is called once it finished (from
 * rsl_https_step). RSL_OK, or NO_MEMORY / INTERNAL when it could not be
 * added (fn is then not called). */
rsl_code rsl_https_start(rsl_conn *c, rsl_https_io *io, const rsl_https_req *r,
                         rsl_https_done_fn fn, void *ud, rsl_err *err);
/* Moves the requests along for at most wait_ms, enforces deadlines, and
 * hands finished ones to their fn. Returns RSL_OK or INTERNAL (the multi
 * handle failed). */
rsl_code rsl_https_step(rsl_conn *c, int wait_ms, rsl_err *err);

/* What a finished request came to: RSL_OK when an HTTP answer came back
 * (io->status; io->capped when its body was cut at body_max), else the
 * mapped failure: the source's error unchanged, TIMEOUT for a deadline,
 * PROTOCOL for a multistatus the parser refused (its reason), libcurl's
 * code through curlmap.h. `what` names the method, rel the item. */
rsl_code rsl_https_io_result(rsl_https_io *io, const char *rel, rsl_err *err);

/* Runs one request to its end (see the file comment). Returns RSL_OK with
 * *status set when an HTTP answer came back (any status), else the mapped
 * failure. The request stays readable as c->last until the next call. */
rsl_code rsl_https_perform(rsl_conn *c, const rsl_https_req *r, long *status, const char *rel,
                           rsl_err *err);

enum { RSL_HTTPS_CTX_ITEM = 0, RSL_HTTPS_CTX_CONNECT = 1 };
/* Maps an HTTP status that is not a success for this request. ctx says
 * whether the request was the connect-time check of the remote root (403 and
 * 404 then mean "bad credentials" and "root missing"). */
rsl_code rsl_https_map_http(rsl_https_io *io, rsl_err *err, long st, const char *what,
                            const char *rel, int ctx);

/* origin + root + "/" + enc(rel) [+ "/" when coll and rel != ""]; NULL on OOM */
char *rsl_https_url(const rsl_conn *c, const char *rel, int coll);
/* Appends a header line; returns the new list or NULL (and frees) on OOM. */
struct curl_slist *rsl_https_hdr(struct curl_slist *l, const char *line);
/* A response header of a finished request into buf; 0 if absent. */
int rsl_https_io_header(rsl_https_io *io, const char *name, char *buf, size_t bufsz);
/* A line for the run log (opts->log), when there is one. */
void rsl_https_log(rsl_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies server-sent text into buf for a message: at most bufsz - 1 bytes
 * and `cap` characters, anything but printable ASCII as '?'. */
void rsl_https_sanitize(char *buf, size_t bufsz, const char *s, size_t cap);
/* Milliseconds on the monotonic clock. */
int64_t rsl_https_now_ms(void);

#endif
