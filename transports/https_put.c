/*
 * https_put.c - the PUT operation as non-blocking steps. See https_put.h.
 *
 * Where the bytes come from: h->src_pos is how far src->read got in this
 * operation (it starts at op->offset). A request for [pos, pos+len) takes
 * the bytes below src_pos from src->pread and the rest from src->read
 * (https_req.c), so a retried chunk, a rewound body or a restart from 0
 * never pulls a byte through read() twice.
 */
#define _GNU_SOURCE
#include "https_put.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "https_probe.h"
#include "resume_sample.h"

enum {
    P_HEAD = RSL_HTTPS_PUT_STEPS, /* resume: HEAD of the temp */
    P_HEAD_STATED,                /* ... its size by PROPFIND (no Content-Length) */
    P_SAMPLE,                     /* resume: a ranged GET of a block of the temp */
    P_PUT,                        /* the whole file, or one chunk */
    P_PARENT_STATED,              /* after a 500: does the parent exist? */
    P_SIZE,                       /* size check: HEAD of the temp */
    P_SIZE_STATED,                /* ... its size by PROPFIND */
    P_MOVE,                       /* MOVE Overwrite: F */
    P_MOVE_STATED,                /* after 412/409: what is at the destination? */
    P_MOVE_T                      /* MOVE Overwrite: T */
};

/* Blocks of a temp file compared before a resume keeps it (resume_sample.h):
 * a prefix of up to 5 x 64 KiB whole, else 5 blocks spread over all of it,
 * the first at byte 0 and the last ending at its end (so the places the
 * older tail + 1/4, 1/2, 3/4 check looked at are all still covered); one
 * ranged GET each. */
#define HTTPS_RESUME_SAMPLES 5

static rsl_code oom(rsl_err *err)
{
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

static int piped(const rsl_https_op *h)
{
    return (h->phases & RSL_HTTPS_PH_PIPE) != 0;
}

static void head_issue(rsl_https_op *h, int step)
{
    rsl_https_op_reset(h);
    if ((h->url = rsl_https_url(h->c, h->op->tmp, 0)) == NULL) {
        rsl_https_op_complete(h, oom(&h->op->err));
        return;
    }
    rsl_https_req r = {.method = "HEAD", .url = h->url};
    rsl_https_op_issue(h, step, &r);
}

/* The answer of a HEAD of the temp: *exists, *size and a strong ETag into
 * h->etag; *no_len when the server sent no Content-Length (Apache over
 * HTTP/2 for an empty file): the size must then come from PROPFIND. */
static rsl_code head_parse(rsl_https_op *h, int *exists, uint64_t *size, int *no_len)
{
    rsl_https_io *io = h->io;
    const char *rel = h->op->tmp;
    *exists = *no_len = 0;
    *size = 0;
    rsl_code rc = rsl_https_io_result(io, rel, &h->op->err);
    if (rc != RSL_OK || io->status == 404)
        return rc;
    if (io->status != 200)
        return rsl_https_map_http(io, &h->op->err, io->status, "HEAD", rel, RSL_HTTPS_CTX_ITEM);
    char v[64], et[256];
    *exists = 1;
    *no_len = 1;
    if (rsl_https_io_header(io, "Content-Length", v, sizeof(v)) && v[0] != '-') {
        char *e = NULL;
        unsigned long long x = strtoull(v, &e, 10);
        if (e != v) {
            *size = x;
            *no_len = 0;
        }
    }
    h->etag[0] = '\0';
    if (rsl_https_io_header(io, "ETag", et, sizeof(et)) && strncmp(et, "W/", 2) != 0)
        snprintf(h->etag, sizeof(h->etag), "%s", et);
    return RSL_OK;
}

/* The size from a PROPFIND when HEAD had none. */
static rsl_code head_stated(rsl_https_op *h, uint64_t *size)
{
    if (h->st_rc != RSL_OK)
        return h->st_rc;
    if (!h->st.exists || h->st.is_dir)
        return rsl_err_set(&h->op->err, RSL_E_PROTOCOL, 0,
                           "HEAD '%s' on %s: no Content-Length in the answer", h->op->tmp,
                           h->c->host);
    *size = h->st.size;
    return RSL_OK;
}

/* ------------------------------------------------------------ the bytes */

static void send_next(rsl_https_op *h);

/* Bytes of the PUT come from here on: resume decided (op->offset). */
static void start_send(rsl_https_op *h)
{
    rsl_op *op = h->op;
    rsl_conn *c = h->c;
    rsl_source *src = op->src;
    if (op->offset > op->size || (op->offset > 0 && !c->partial_put)) {
        rsl_https_op_complete(h, rsl_err_set(&op->err, RSL_E_INTERNAL, 0,
                                             "upload '%s': offset %" PRIu64
                                             " cannot be continued on %s",
                                             op->tmp, op->offset, c->host));
        return;
    }
    if (piped(h) && src->start != NULL) {
        rsl_code rc = src->start(src, op->offset, &op->err);
        if (rc != RSL_OK) {
            rsl_https_op_complete(h, rc);
            return;
        }
    }
    if (!piped(h)) { /* classic upload: If-Match with what resume_offset saw */
        h->etag[0] = '\0';
        if (op->offset > 0 && c->etag_rel && strcmp(c->etag_rel, op->tmp) == 0 && c->etag[0])
            snprintf(h->etag, sizeof(h->etag), "%s", c->etag);
        free(c->etag_rel);
        c->etag_rel = NULL;
    } else if (op->offset == 0) {
        h->etag[0] = '\0';
    }
    h->pos = h->src_pos = op->offset;
    send_next(h);
}

static void send_next(rsl_https_op *h)
{
    rsl_op *op = h->op;
    rsl_conn *c = h->c;
    int whole = !c->partial_put || (h->pos == 0 && op->size <= c->chunk);
    if (whole && h->pos > 0) { /* partial PUT was found gone meanwhile */
        h->pos = 0;
        op->offset = 0;
        h->requests = 0;
        h->etag[0] = '\0';
    }
    uint64_t len = whole ? op->size : op->size - h->pos;
    if (!whole && len > c->chunk)
        len = c->chunk;
    h->len = len;
    h->ranged = !whole && h->pos > 0;
    rsl_https_op_reset(h);
    char line[320]; /* "If-Match: " + an ETag of up to 255 bytes */
    h->url = rsl_https_url(c, op->tmp, 0);
    h->hdrs = rsl_https_hdr(NULL, "Expect:");
    if (h->ranged && h->hdrs) {
        snprintf(line, sizeof(line), "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
                 h->pos, h->pos + len - 1, op->size);
        h->hdrs = rsl_https_hdr(h->hdrs, line);
    }
    if (h->ranged && h->etag[0] && h->hdrs) {
        snprintf(line, sizeof(line), "If-Match: %s", h->etag);
        h->hdrs = rsl_https_hdr(h->hdrs, line);
    }
    if (h->url == NULL || h->hdrs == NULL) {
        rsl_https_op_complete(h, oom(&op->err));
        return;
    }
    static const char empty[] = "";
    rsl_https_req r = {.method = "PUT",
                       .url = h->url,
                       .hdrs = h->hdrs,
                       .src = len ? op->src : NULL,
                       .src_off = h->pos,
                       .src_len = len,
                       .src_pos = &h->src_pos,
                       .src_err = &op->err,
                       .mem = len ? NULL : empty};
    rsl_https_op_issue(h, P_PUT, &r);
}

/* 413: with partial PUT the chunk size is halved and kept as a server fact
 * (the pipelined PUT then sends the chunk again at once; a classic upload
 * fails and the engine's retry continues); a body that cannot get smaller
 * is a persistent failure. */
static void too_large(rsl_https_op *h)
{
    rsl_op *op = h->op;
    rsl_conn *c = h->c;
    uint64_t len = h->len;
    if (c->partial_put && len > RSL_HTTPS_MIN_CHUNK) {
        uint64_t next = (len < c->chunk ? len : c->chunk) / 2;
        next &= ~(uint64_t)4095;
        if (next < RSL_HTTPS_MIN_CHUNK)
            next = RSL_HTTPS_MIN_CHUNK;
        rsl_https_fact_chunk(c, next, len);
        if (piped(h)) {
            send_next(h);
            return;
        }
        rsl_https_op_complete(h, rsl_err_set(&op->err, RSL_E_REMOTE_TOO_LARGE, 413,
                                             "PUT '%s' on %s: HTTP 413 for a %" PRIu64
                                             "-byte chunk; chunk size lowered to %" PRIu64
                                             " for the retry",
                                             op->tmp, c->host, len, c->chunk));
        return;
    }
    if (c->partial_put)
        rsl_err_set(&op->err, RSL_E_REMOTE_BODY_LIMIT, 413,
                    "PUT '%s' on %s: HTTP 413 even for a %" PRIu64
                    "-byte chunk, the smallest this transport sends",
                    op->tmp, c->host, len);
    else
        rsl_err_set(&op->err, RSL_E_REMOTE_BODY_LIMIT, 413,
                    "PUT '%s' on %s: HTTP 413, the server refuses a %" PRIu64
                    "-byte body and does not support partial PUT, so it cannot be chunked",
                    op->tmp, c->host, len);
    rsl_https_op_complete(h, RSL_E_REMOTE_BODY_LIMIT);
}

/* The cached "partial PUT works" was contradicted (why): probe again. If it
 * no longer works, the upload restarts from 0 as one whole-file PUT and
 * returns 1; 0 when the fact held (the caller maps the answer). */
static int contradicted(rsl_https_op *h, const char *why)
{
    rsl_op *op = h->op;
    if (h->restarted || !h->c->partial_put || rsl_https_facts_reprobe(h->c, why))
        return 0;
    h->restarted = 1;
    op->offset = 0;
    h->pos = 0;
    h->requests = 0;
    h->etag[0] = '\0';
    send_next(h);
    return 1;
}

static void sent(rsl_https_op *h);

/* A 500 on PUT may hide a missing parent (nginx with create_full_put_path
 * off): worth saying precisely. */
static void parent_check(rsl_https_op *h)
{
    const char *tmp = h->op->tmp, *slash = strrchr(tmp, '/');
    h->saved_err = h->op->err;
    free(h->aux);
    if (slash == NULL || (h->aux = strndup(tmp, (size_t)(slash - tmp))) == NULL) {
        h->aux = NULL;
        rsl_https_op_complete(h, h->op->err.code);
        return;
    }
    rsl_https_op_stat(h, h->aux, P_PARENT_STATED);
}

static void put_answer(rsl_https_op *h)
{
    rsl_op *op = h->op;
    rsl_conn *c = h->c;
    rsl_https_io *io = h->io;
    rsl_code rc = rsl_https_io_result(io, op->tmp, &op->err);
    op->sent = h->src_pos - op->offset;
    if (rc != RSL_OK) {
        if (rc == RSL_E_REMOTE_NOT_FOUND)
            rsl_dircache_missing(&c->dirs, op->tmp);
        rsl_https_op_complete(h, rc);
        return;
    }
    long st = io->status;
    if (st >= 200 && st <= 299) {
        char et[256];
        h->pos += h->len;
        h->requests++;
        h->etag[0] = '\0';
        if (rsl_https_io_header(io, "ETag", et, sizeof(et)) && strncmp(et, "W/", 2) != 0)
            snprintf(h->etag, sizeof(h->etag), "%s", et);
        if (h->pos < op->size)
            send_next(h);
        else
            sent(h);
        return;
    }
    if (st == 413) {
        too_large(h);
        return;
    }
    rc = rsl_https_map_http(io, &op->err, st, "PUT", op->tmp, RSL_HTTPS_CTX_ITEM);
    if (h->ranged && (st == 400 || st == 405 || st == 416 || st == 501)) {
        char why[96];
        snprintf(why, sizeof(why), "HTTP %ld to a PUT with Content-Range", st);
        rsl_err saved = op->err;
        if (contradicted(h, why))
            return;
        op->err = saved;
    }
    if (st == 500) {
        parent_check(h);
        return;
    }
    if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_dircache_missing(&c->dirs, op->tmp);
    rsl_https_op_complete(h, rc);
}

static void parent_stated(rsl_https_op *h)
{
    rsl_op *op = h->op;
    if (h->st_rc == RSL_OK && !h->st.exists) {
        rsl_dircache_missing(&h->c->dirs, op->tmp);
        rsl_https_op_complete(h, rsl_err_set(&op->err, RSL_E_REMOTE_NOT_FOUND, 500,
                                             "PUT '%s' on %s: HTTP 500; the parent directory "
                                             "'%s' does not exist",
                                             op->tmp, h->c->host, h->aux));
        return;
    }
    op->err = h->saved_err;
    rsl_https_op_complete(h, op->err.code);
}

/* ------------------------------------------------------------ finish */

static void move_issue(rsl_https_op *h, int overwrite)
{
    rsl_op *op = h->op;
    rsl_https_op_reset(h);
    h->url = rsl_https_url(h->c, op->tmp, 0);
    h->url2 = rsl_https_url(h->c, op->path, 0);
    if (h->url == NULL || h->url2 == NULL || asprintf(&h->line, "Destination: %s", h->url2) < 0 ||
        (h->hdrs = rsl_https_hdr(NULL, h->line)) == NULL ||
        (h->hdrs = rsl_https_hdr(h->hdrs, overwrite ? "Overwrite: T" : "Overwrite: F")) == NULL) {
        rsl_https_op_complete(h, oom(&op->err));
        return;
    }
    rsl_https_req r = {.method = "MOVE", .url = h->url, .hdrs = h->hdrs};
    rsl_https_op_issue(h, overwrite ? P_MOVE_T : P_MOVE, &r);
}

/* The size check before the MOVE: every classic finish; a pipelined PUT
 * only when it took several requests or continued a temp (a single PUT of
 * `size` bytes that the server acknowledged stored exactly those). */
static void sent(rsl_https_op *h)
{
    rsl_op *op = h->op;
    if (piped(h) && op->src != NULL && op->src->verify != NULL) {
        rsl_code rc = op->src->verify(op->src, &op->err);
        if (rc != RSL_OK) {
            rsl_https_op_complete(h, rc);
            return;
        }
    }
    if (!(h->phases & RSL_HTTPS_PH_FINISH)) {
        rsl_https_op_complete(h, RSL_OK);
        return;
    }
    if (!piped(h) || h->requests > 1 || op->offset > 0)
        head_issue(h, P_SIZE);
    else
        move_issue(h, 0);
}

static void size_checked(rsl_https_op *h, int exists, uint64_t size)
{
    rsl_op *op = h->op;
    if (!exists) {
        rsl_https_op_complete(h, rsl_err_set(&op->err, RSL_E_REMOTE_NOT_FOUND, 404,
                                             "finish '%s' on %s: the uploaded temp file is gone",
                                             op->tmp, h->c->host));
        return;
    }
    if (size != op->size) {
        char why[128];
        snprintf(why, sizeof(why),
                 "the temp file had %" PRIu64 " bytes after a chunked upload of %" PRIu64, size,
                 op->size);
        if (piped(h) && h->requests > 1 && contradicted(h, why))
            return;
        rsl_https_op_complete(h, rsl_err_set(&op->err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                                             "'%s' on %s: remote temp file has %" PRIu64
                                             " bytes, expected %" PRIu64,
                                             op->tmp, h->c->host, size, op->size));
        return;
    }
    move_issue(h, 0);
}

/* Overwrite: F first: a new name needs one request, and an existing
 * collection is never replaced (Apache's MOVE with Overwrite: T deletes a
 * directory tree standing at the destination). */
static void move_answer(rsl_https_op *h, int overwrite)
{
    rsl_op *op = h->op;
    rsl_https_io *io = h->io;
    rsl_code rc = rsl_https_io_result(io, op->tmp, &op->err);
    if (rc != RSL_OK) {
        rsl_https_op_complete(h, rc);
        return;
    }
    long st = io->status;
    if (st == 201 || st == 204) {
        rsl_https_op_complete(h, RSL_OK);
        return;
    }
    rc = rsl_https_map_http(io, &op->err, st, "MOVE", op->path, RSL_HTTPS_CTX_ITEM);
    if (rc == RSL_E_REMOTE_IO)
        op->err.code = rc = RSL_E_REMOTE_RENAME_FAILED;
    if (!overwrite && (st == 412 || st == 409)) {
        h->saved_status = st;
        h->saved_err = op->err;
        rsl_https_op_stat(h, op->path, P_MOVE_STATED);
        return;
    }
    rsl_https_op_complete(h, rc);
}

static void move_stated(rsl_https_op *h)
{
    rsl_op *op = h->op;
    if (h->st_rc != RSL_OK) {
        rsl_https_op_complete(h, h->st_rc);
    } else if (h->st.exists && h->st.is_dir) {
        rsl_https_op_complete(h, rsl_err_set(&op->err, RSL_E_REMOTE_TYPE_CONFLICT, h->saved_status,
                                             "MOVE '%s' -> '%s' on %s: a directory of that name "
                                             "exists on the remote",
                                             op->tmp, op->path, h->c->host));
    } else if (h->st.exists || h->saved_status == 412) {
        move_issue(h, 1);
    } else {
        op->err = h->saved_err;
        rsl_https_op_complete(h, op->err.code);
    }
}

/* ------------------------------------------------------------ resume */

static void sample_issue(rsl_https_op *h);

/* Block k of the resume check (resume_sample.h), or 0 past the last. */
static int sample_range(const rsl_https_op *h, int k, uint64_t *from, uint64_t *n)
{
    rsl_resume_block b[HTTPS_RESUME_SAMPLES];
    size_t nb = rsl_resume_blocks(h->head_size, HTTPS_RESUME_SAMPLES, b);
    if (k < 0 || (size_t)k >= nb)
        return 0;
    *from = b[k].off;
    *n = b[k].len;
    return 1;
}

/* Resume decided: op->offset is what is kept. */
static void resumed(rsl_https_op *h)
{
    if (h->phases & RSL_HTTPS_PH_SEND)
        start_send(h);
    else
        rsl_https_op_complete(h, RSL_OK);
}

static void resume_size(rsl_https_op *h, int exists, uint64_t size)
{
    rsl_op *op = h->op;
    rsl_conn *c = h->c;
    if (!exists || size == 0 || size > op->size) {
        resumed(h);
        return;
    }
    if (!piped(h) && h->etag[0]) { /* for the classic upload's If-Match */
        snprintf(c->etag, sizeof(c->etag), "%s", h->etag);
        free(c->etag_rel);
        c->etag_rel = strdup(op->tmp);
    }
    h->head_size = size;
    h->sample = 0;
    sample_issue(h);
}

static void sample_issue(rsl_https_op *h)
{
    uint64_t from = 0, n = 0;
    if (!sample_range(h, h->sample, &from, &n)) {
        h->op->offset = h->head_size; /* every block matched */
        resumed(h);
        return;
    }
    rsl_https_op_reset(h);
    h->url = rsl_https_url(h->c, h->op->tmp, 0);
    if (h->url == NULL || asprintf(&h->line, "%" PRIu64 "-%" PRIu64, from, from + n - 1) < 0) {
        h->line = NULL;
        rsl_https_op_complete(h, oom(&h->op->err));
        return;
    }
    rsl_https_req r = {
        .method = "GET", .url = h->url, .range = h->line, .body_keep = n, .body_max = n};
    rsl_https_op_issue(h, P_SAMPLE, &r);
}

static void sample_answer(rsl_https_op *h)
{
    rsl_op *op = h->op;
    rsl_https_io *io = h->io;
    uint64_t from = 0, n = 0;
    sample_range(h, h->sample, &from, &n);
    rsl_code rc = rsl_https_io_result(io, op->tmp, &op->err);
    if (rc != RSL_OK) {
        rsl_https_op_complete(h, rc);
        return;
    }
    if (io->status != 206 || io->body.n != n || io->capped || io->body.truncated) {
        rsl_https_log(h->c, RSL_LOG_INFO,
                      "%s: '%s' restarts from 0: the ranged GET of a block of it answered HTTP "
                      "%ld with %zu bytes",
                      h->c->host, op->tmp, io->status, io->body.n);
        resumed(h);
        return;
    }
    unsigned char *local = malloc((size_t)n);
    size_t got = 0;
    while (local != NULL && got < n) {
        ssize_t k = op->src->pread(op->src, local + got, (size_t)n - got, from + got, &op->err);
        if (k < 0) {
            free(local);
            rsl_https_op_complete(h, op->err.code);
            return;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    if (local == NULL) {
        rsl_https_op_complete(h, oom(&op->err));
        return;
    }
    int same = got == n && memcmp(local, io->body.p, (size_t)n) == 0;
    free(local);
    if (!same) {
        rsl_https_log(h->c, RSL_LOG_INFO,
                      "%s: '%s' restarts from 0: its remote bytes at %" PRIu64
                      " differ from the local file",
                      h->c->host, op->tmp, from);
        resumed(h);
        return;
    }
    h->sample++;
    sample_issue(h);
}

/* ------------------------------------------------------------ driving */

void rsl_https_put_begin(rsl_https_op *h)
{
    rsl_op *op = h->op;
    rsl_conn *c = h->c;
    if (piped(h)) {
        op->offset = 0;
        op->sent = 0;
    }
    if (h->phases & RSL_HTTPS_PH_RESUME) {
        if (!piped(h)) {
            op->offset = 0;
            free(c->etag_rel);
            c->etag_rel = NULL;
        }
        if (c->partial_put && (op->resume || !piped(h))) {
            head_issue(h, P_HEAD);
            return;
        }
        resumed(h);
        return;
    }
    if (h->phases & RSL_HTTPS_PH_SEND)
        start_send(h);
    else if (h->phases & RSL_HTTPS_PH_FINISH)
        head_issue(h, P_SIZE);
    else
        rsl_https_op_complete(h, RSL_OK);
}

static void head_answer(rsl_https_op *h, int step)
{
    int exists = 0, no_len = 0;
    uint64_t size = 0;
    rsl_code rc = head_parse(h, &exists, &size, &no_len);
    if (rc != RSL_OK) {
        rsl_https_op_complete(h, rc);
    } else if (no_len) {
        rsl_https_op_stat(h, h->op->tmp, step == P_HEAD ? P_HEAD_STATED : P_SIZE_STATED);
    } else if (step == P_HEAD) {
        resume_size(h, exists, size);
    } else {
        size_checked(h, exists, size);
    }
}

static void head_fallback(rsl_https_op *h, int step)
{
    uint64_t size = 0;
    rsl_code rc = head_stated(h, &size);
    if (rc != RSL_OK)
        rsl_https_op_complete(h, rc);
    else if (step == P_HEAD_STATED)
        resume_size(h, 1, size);
    else
        size_checked(h, 1, size);
}

void rsl_https_put_step(rsl_https_op *h)
{
    switch (h->step) {
    case P_HEAD:
    case P_SIZE:
        head_answer(h, h->step);
        return;
    case P_HEAD_STATED:
    case P_SIZE_STATED:
        head_fallback(h, h->step);
        return;
    case P_SAMPLE:
        sample_answer(h);
        return;
    case P_PUT:
        put_answer(h);
        return;
    case P_PARENT_STATED:
        parent_stated(h);
        return;
    case P_MOVE:
        move_answer(h, 0);
        return;
    case P_MOVE_STATED:
        move_stated(h);
        return;
    case P_MOVE_T:
        move_answer(h, 1);
        return;
    }
    rsl_https_op_complete(h, rsl_err_set(&h->op->err, RSL_E_INTERNAL, h->step,
                                         "https: unknown PUT step %d", h->step));
}
