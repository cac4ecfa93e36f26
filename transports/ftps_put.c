/*
 * ftps_put.c - uploads of the ftps transport. See ftps_put.h and
 * docs/transport-ftps.md ("Commands per file").
 *
 * A fresh upload (offset 0) is STOR of the temp name; the server's 226 after
 * exactly `total` bytes (curl refuses to go on when it sent another count)
 * is the size check, so no SIZE follows it. A resumed upload keeps the
 * temp's prefix only after sampled blocks of it were read back and matched
 * (resume_offset), then is APPE after a SIZE that must equal the offset, with a SIZE after it (the
 * server's end of file is what counts when appending). Every command is built whole and checked
 * against the command-line bound: a path that does not fit is a per-item PATH_TOO_LONG before
 * anything is sent.
 */
#define _GNU_SOURCE
#include "ftps_put.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dircache.h"
#include "ftpctl.h"
#include "ftps_get.h"
#include "ftps_session.h"
#include "resume_sample.h"

#define NONE SIZE_MAX

static rsl_code oom(rsl_err *err)
{
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

/* ---- resume ---------------------------------------------------------------------- */

/* One sampled block of the temp read back (REST + RETR) and compared with
 * the source: 1 same; 0 different, or failed with *rc set. */
static int sample_same(rsl_conn *c, const char *tmp_rel, uint64_t size, const rsl_resume_block *b,
                       rsl_source *src, unsigned char *buf, rsl_code *rc, rsl_err *err)
{
    size_t got = 0;
    int to_eof = b->off + b->len == size; /* the tail: no cut-short transfer */
    *rc = rsl_ftps_read_range(c, tmp_rel, b->off, b->len, to_eof, buf, &got, err);
    if (*rc != RSL_OK)
        return 0;
    int same = rsl_resume_compare(src, b, buf, got, buf + b->len, err);
    if (same < 0)
        *rc = err->code;
    return same > 0;
}

/* Whether the temp's `size` bytes are kept (*have = size) or not (0):
 * sampled blocks spread over all of it are read back and compared
 * (resume_sample.h): a small prefix in one RETR to its end, else
 * FTPS_RESUME_SAMPLES blocks, each but the tail a RETR cut short, which
 * costs a new login (docs/transport-ftps.md). All or nothing: APPE
 * continues at the server's end of file and FTP cannot truncate, so a temp
 * with a block that differs, or one the server will not let us read, is
 * not kept at all (the STOR from 0 replaces it). */
static rsl_code check_kept(rsl_conn *c, const char *tmp_rel, uint64_t size, rsl_source *src,
                           uint64_t *have, rsl_err *err)
{
    rsl_resume_block blk[FTPS_RESUME_SAMPLES];
    size_t n = 1;
    if (size <= (uint64_t)FTPS_RESUME_SAMPLES * RSL_RESUME_BLOCK)
        blk[0] = (rsl_resume_block){.off = 0, .len = (size_t)size};
    else
        n = rsl_resume_blocks(size, FTPS_RESUME_SAMPLES, blk);
    unsigned char *buf = malloc(2 * (size_t)(n == 1 ? size : RSL_RESUME_BLOCK));
    if (buf == NULL)
        return oom(err);
    rsl_code rc = RSL_OK;
    *have = size;
    for (size_t i = 0; i < n; i++) {
        if (sample_same(c, tmp_rel, size, &blk[i], src, buf, &rc, err))
            continue;
        *have = 0;
        if (rc != RSL_OK && rsl_code_class(rc) != RSL_CLASS_SESSION) {
            rsl_ftps_log(c, RSL_LOG_INFO,
                         "%s: '%s' restarts from 0: its temp file cannot be read back to check "
                         "it (%s)",
                         c->hostport, tmp_rel, err->msg);
            rc = RSL_OK; /* unchecked bytes are never kept */
        } else if (rc == RSL_OK) {
            rsl_ftps_log(c, RSL_LOG_INFO,
                         "%s: '%s' restarts from 0: its block at %llu differs from the local "
                         "file",
                         c->hostport, tmp_rel, (unsigned long long)blk[i].off);
        }
        break;
    }
    free(buf);
    return rc;
}

rsl_code rsl_ftps_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total, rsl_source *src,
                                uint64_t *have, rsl_err *err)
{
    *have = 0;
    char *p = NULL;
    rsl_code rc = rsl_ftps_path(c, tmp_rel, &p, err);
    if (rc != RSL_OK)
        return rc;
    int exists = 0;
    uint64_t sz = 0;
    rc = rsl_ftps_remote_size(c, tmp_rel, p, &exists, &sz, err);
    free(p);
    if (rc != RSL_OK || !exists || sz == 0 || sz > total || src == NULL || src->pread == NULL)
        return rc;
    rc = check_kept(c, tmp_rel, sz, src, have, err);
    if (rc != RSL_OK)
        *have = 0;
    return rc;
}

/* Before an APPE at offset: the server's end of file must be exactly offset.
 * *done = 1 when every byte is there already. */
static rsl_code check_resume(rsl_conn *c, const char *tmp_rel, const char *p, uint64_t offset,
                             uint64_t total, int *done, rsl_err *err)
{
    int exists = 0;
    uint64_t sz = 0;
    *done = 0;
    rsl_code rc = rsl_ftps_remote_size(c, tmp_rel, p, &exists, &sz, err);
    if (rc != RSL_OK)
        return rc;
    if (!exists || sz != offset)
        return rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                           "upload '%s': cannot resume at %llu: the remote temp file has %s%llu "
                           "bytes now",
                           tmp_rel, (unsigned long long)offset, exists ? "" : "(absent) ",
                           (unsigned long long)sz);
    *done = offset == total;
    return RSL_OK;
}

/* ---- the data connection ------------------------------------------------------------ */

static size_t read_cb(char *buf, size_t sz, size_t nitems, void *ud)
{
    rsl_conn *c = ud;
    size_t want = sz * nitems;
    uint64_t left = c->to_send - c->sent;
    if (left == 0)
        return 0;
    if (want > left)
        want = (size_t)left;
    ssize_t n = c->src->read(c->src, buf, want, &c->src_err);
    if (n < 0) {
        c->src_failed = 1;
        return CURL_READFUNC_ABORT;
    }
    if (n == 0) { /* the local file ended before `total`: it shrank */
        c->src_failed = 1;
        rsl_err_set(&c->src_err, RSL_E_LOCAL_CHANGED, 0,
                    "the local file ended %llu bytes early (it changed during the upload)",
                    (unsigned long long)left);
        return CURL_READFUNC_ABORT;
    }
    c->sent += (uint64_t)n;
    /* the last byte is read: the local file must not have changed (before
     * the rename the same request carries) */
    if (c->sent == c->to_send && c->verify_at_end && c->src->verify &&
        c->src->verify(c->src, &c->src_err) != RSL_OK) {
        c->src_failed = 1;
        return CURL_READFUNC_ABORT;
    }
    return (size_t)n;
}

/* The QUOTE list of an upload: the session setup when the connection needs it. */
static int setup_quote(rsl_conn *c, struct curl_slist **q)
{
    *q = NULL;
    if (!(c->need_setup && c->has_utf8))
        return 0;
    *q = curl_slist_append(NULL, "*OPTS UTF8 ON");
    return *q == NULL ? -1 : 0;
}

/* One STOR/APPE of [offset, total) from src on url, then the commands of
 * `post` (POSTQUOTE: sent only after the server's 226). Returns the CURLcode. */
static CURLcode store(rsl_conn *c, const char *url, uint64_t offset, uint64_t total,
                      rsl_source *src, struct curl_slist *post)
{
    struct curl_slist *q = NULL;
    long logins = c->stats.control_connects;
    rsl_ftps_reset(c);
    if (setup_quote(c, &q) < 0)
        return CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(c->h, CURLOPT_QUOTE, q);
    curl_easy_setopt(c->h, CURLOPT_POSTQUOTE, post);
    curl_easy_setopt(c->h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c->h, CURLOPT_APPEND, offset > 0 ? 1L : 0L);
    curl_easy_setopt(c->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(total - offset));
    curl_easy_setopt(c->h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c->h, CURLOPT_READDATA, c);
    c->src = src;
    c->to_send = total - offset;
    c->sent = 0;
    c->src_failed = 0;
    rsl_err_clear(&c->src_err);
    CURLcode e = rsl_ftps_perform(c, url);
    curl_easy_setopt(c->h, CURLOPT_QUOTE, NULL);
    curl_easy_setopt(c->h, CURLOPT_POSTQUOTE, NULL);
    curl_easy_setopt(c->h, CURLOPT_UPLOAD, 0L);
    c->stats.data_transfers++;
    c->src = NULL;
    c->verify_at_end = 0;
    if ((e == CURLE_OK || e == CURLE_QUOTE_ERROR) && q != NULL)
        c->need_setup = 0; /* the QUOTE setup ran */
    if (c->stats.control_connects != logins && q == NULL)
        c->need_setup = 1; /* curl logged in again on its own: set that session up next time */
    curl_slist_free_all(q);
    return e;
}

/* Remembers that tmp_rel has `size` bytes on the server (for finish). */
static void after_upload(rsl_conn *c, const char *tmp_rel, uint64_t size)
{
    free(c->after_upload_path);
    c->after_upload_ok = 0;
    if ((c->after_upload_path = strdup(tmp_rel)) != NULL) {
        c->after_upload_size = size;
        c->after_upload_ok = 1;
    }
}

/* The upload ended with e: the source's error, or the mapped one. When every
 * byte left but the final 226 never came (timeout, cut), the file may well be
 * complete: ask before deciding anything (never restart a nearly complete
 * file); curl opens a new control connection if needed. */
static rsl_code store_failed(rsl_conn *c, CURLcode e, const char *tmp_rel, const char *p,
                             uint64_t total, rsl_err *err)
{
    if (c->src_failed) {
        *err = c->src_err;
        return c->src_err.code != RSL_OK ? c->src_err.code : RSL_E_LOCAL_UNREADABLE;
    }
    rsl_code rc = rsl_ftps_map_curl(c, e, err, "upload", tmp_rel);
    if (c->sent != c->to_send || rsl_code_class(rc) != RSL_CLASS_SESSION || rc == RSL_E_AUTH_FAILED)
        return rc;
    rsl_err e2;
    int exists = 0;
    uint64_t sz = 0;
    rsl_err_clear(&e2);
    if (rsl_ftps_remote_size(c, tmp_rel, p, &exists, &sz, &e2) == RSL_OK && exists && sz == total) {
        rsl_ftps_log(c, RSL_LOG_INFO,
                     "upload '%s': no final reply (%s) but the remote has all %llu bytes", tmp_rel,
                     rsl_code_name(rc), (unsigned long long)total);
        rsl_err_clear(err);
        after_upload(c, tmp_rel, total);
        return RSL_OK;
    }
    return rc;
}

/* Checks and builds what an upload of tmp_rel needs: its absolute path *p,
 * its URL *url, the STOR/APPE line fits. */
static rsl_code upload_target(rsl_conn *c, const char *tmp_rel, uint64_t offset, char **p,
                              char **url, rsl_err *err)
{
    *url = NULL;
    rsl_code rc = rsl_ftps_path(c, tmp_rel, p, err);
    if (rc == RSL_OK)
        rc = rsl_ftps_fits(offset > 0 ? "APPE" : "STOR", *p, tmp_rel, err);
    if (rc == RSL_OK && (*url = rsl_ftpctl_url(c->base, *p, 0)) == NULL)
        rc = oom(err);
    /* binary mode set by curl before the data connection opens (see rsl_ftps_run) */
    if (rc == RSL_OK && (c->need_setup || c->ascii))
        rc = rsl_ftps_run(c, NULL, 0, "upload", tmp_rel, err);
    return rc;
}

rsl_code rsl_ftps_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                         rsl_source *src, rsl_err *err)
{
    char *p = NULL, *url = NULL, *sizecmd = NULL;
    struct curl_slist *post = NULL;
    int done = 0;
    c->sent = c->to_send = 0; /* nothing sent yet in this call */
    if (offset > total)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "upload '%s': offset %llu > size %llu", tmp_rel,
                           (unsigned long long)offset, (unsigned long long)total);
    rsl_code rc = upload_target(c, tmp_rel, offset, &p, &url, err);
    /* APPE appends at the server's end of file: it must be exactly offset */
    if (rc != RSL_OK ||
        (offset > 0 &&
         ((rc = check_resume(c, tmp_rel, p, offset, total, &done, err)) != RSL_OK || done)))
        goto out;
    /* after an APPE the server's SIZE is the check; after a STOR its 226 */
    if (offset > 0 && (asprintf(&sizecmd, "*SIZE %s", p) < 0 ||
                       (post = curl_slist_append(NULL, sizecmd)) == NULL)) {
        rc = oom(err);
        goto out;
    }
    CURLcode e = store(c, url, offset, total, src, post);
    uint64_t sz = 0;
    if (e != CURLE_OK || c->src_failed)
        rc = store_failed(c, e, tmp_rel, p, total, err);
    else if (offset == 0)
        after_upload(c, tmp_rel, total);
    else if (rsl_ftps_size(c, sizecmd + 1, &sz))
        after_upload(c, tmp_rel, sz);
    if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_dircache_missing(&c->made, tmp_rel);
out:
    curl_slist_free_all(post);
    free(sizecmd);
    free(url);
    free(p);
    return rc;
}

/* ---- finish ------------------------------------------------------------------------- */

/* The size check: the size known right after the upload (its 226, or SIZE
 * after an APPE), else SIZE asked now. */
static rsl_code check_temp_size(rsl_conn *c, const char *tmp_rel, const char *tp, uint64_t size,
                                rsl_err *err)
{
    int exists = 0;
    uint64_t sz = 0;
    if (c->after_upload_ok && strcmp(c->after_upload_path, tmp_rel) == 0) {
        exists = 1;
        sz = c->after_upload_size;
    } else {
        rsl_code rc = rsl_ftps_remote_size(c, tmp_rel, tp, &exists, &sz, err);
        if (rc != RSL_OK)
            return rc;
    }
    if (!exists)
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 550,
                           "finish '%s': the uploaded temp file is missing on the remote", tmp_rel);
    if (sz != size)
        return rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                           "'%s': remote temp file has %llu bytes, expected %llu", tmp_rel,
                           (unsigned long long)sz, (unsigned long long)size);
    return RSL_OK;
}

/* The commands of one finish, in the order sent: the mtime on the temp name,
 * DELE of the final name (servers whose RNTO does not replace), RNFR, RNTO. */
typedef struct fin {
    rsl_ftps_cmds b;
    size_t mt, dele, rnfr, rnto; /* indices into b, NONE when not sent */
    const char *tmp_rel, *final_rel, *tp, *fp;
} fin;

static rsl_code fin_build(const rsl_conn *c, fin *f, int64_t mtime, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    f->mt = f->dele = NONE;
    if (mtime >= 0 && (c->has_mfmt || c->mdtm_write >= 0)) {
        time_t tt = (time_t)mtime;
        struct tm tm;
        char ts[32];
        gmtime_r(&tt, &tm);
        strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
        rc = rsl_ftps_add(&f->b, &f->mt, f->tmp_rel, err, "%s %s %s", c->has_mfmt ? "MFMT" : "MDTM",
                          ts, f->tp);
    }
    if (rc == RSL_OK && !c->rename_overwrites)
        rc = rsl_ftps_add(&f->b, &f->dele, f->final_rel, err, "DELE %s", f->fp);
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&f->b, &f->rnfr, f->tmp_rel, err, "RNFR %s", f->tp);
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&f->b, &f->rnto, f->final_rel, err, "RNTO %s", f->fp);
    return rc;
}

static const char *fin_cmd(const fin *f, size_t i)
{
    return i == NONE ? "" : f->b.v[i];
}

/* RNTO was refused (with `code` and text): a directory in the way, or a
 * server that does not overwrite. Remove-then-rename only when an existing
 * file is what stands in the way: any other refusal must not cost the old
 * version. */
static rsl_code rnto_refused(rsl_conn *c, const fin *f, int code, const char *text, rsl_err *err)
{
    rsl_ftps_cmds probe = {0}, again = {0};
    char *said = strdup(text ? text : "");
    if (said == NULL)
        return oom(err);
    rsl_code rc = rsl_ftps_add(&probe, NULL, f->final_rel, err, "CWD %s", f->fp);
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&probe, NULL, f->final_rel, err, "SIZE %s", f->fp);
    if (rc == RSL_OK)
        rc = rsl_ftps_send(c, &probe, "rename", f->final_rel, err);
    if (rc != RSL_OK)
        goto done;
    if (rsl_ftps_code(c, probe.v[0], NULL) == 250) {
        rc = rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, code,
                         "rename '%s' -> '%s': a directory of that name exists on the remote",
                         f->tmp_rel, f->final_rel);
        goto done;
    }
    if (c->rename_overwrites && rsl_ftps_code(c, probe.v[1], NULL) == 213) {
        const char *t = NULL;
        if ((rc = rsl_ftps_add(&again, NULL, f->final_rel, err, "DELE %s", f->fp)) != RSL_OK ||
            (rc = rsl_ftps_add(&again, NULL, f->tmp_rel, err, "RNFR %s", f->tp)) != RSL_OK ||
            (rc = rsl_ftps_add(&again, NULL, f->final_rel, err, "RNTO %s", f->fp)) != RSL_OK ||
            (rc = rsl_ftps_send(c, &again, "rename", f->final_rel, err)) != RSL_OK)
            goto done;
        if ((code = rsl_ftps_code(c, again.v[2], &t)) == 250) {
            c->rename_overwrites = 0;
            rsl_ftps_log(c, RSL_LOG_INFO,
                         "%s: RNTO does not replace existing files; replacing with DELE + RNTO "
                         "(not atomic)",
                         c->host);
            goto done;
        }
        free(said);
        if ((said = strdup(t ? t : "")) == NULL) {
            rc = oom(err);
            goto done;
        }
    }
    rc = rsl_ftpctl_map(err, code, said, "rename into place", f->final_rel);
    if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_PERMISSION || rc == RSL_E_REMOTE_NOT_FOUND)
        err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
done:
    rsl_ftps_cmds_free(&probe);
    rsl_ftps_cmds_free(&again);
    free(said);
    return rc;
}

/* What the server answered to f's commands (sent by finish, or after a STOR
 * in the same request): RSL_OK when RNTO succeeded. */
static rsl_code rename_result(rsl_conn *c, const fin *f, rsl_err *err)
{
    if (f->mt != NONE && !c->has_mfmt && c->mdtm_write == 0)
        c->mdtm_write = rsl_ftps_code(c, fin_cmd(f, f->mt), NULL) == 213 ? 1 : -1;
    const char *t = NULL, *ft = NULL;
    int code = rsl_ftps_code(c, fin_cmd(f, f->rnto), &t);
    if (code == 250)
        return RSL_OK;
    int fcode = rsl_ftps_code(c, fin_cmd(f, f->rnfr), &ft);
    if (fcode != 350) {
        rsl_code rc = rsl_ftpctl_map(err, fcode, ft, "rename (RNFR)", f->tmp_rel);
        if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_PERMISSION)
            err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
        return rc;
    }
    return rnto_refused(c, f, code, t, err);
}

/* The paths of tmp_rel and final_rel into f (freed by fin_free). */
static rsl_code fin_paths(const rsl_conn *c, fin *f, const char *tmp_rel, const char *final_rel,
                          rsl_err *err)
{
    char *tp = NULL, *fp = NULL;
    memset(f, 0, sizeof(*f));
    f->tmp_rel = tmp_rel;
    f->final_rel = final_rel;
    rsl_code rc = rsl_ftps_path(c, tmp_rel, &tp, err);
    if (rc == RSL_OK)
        rc = rsl_ftps_path(c, final_rel, &fp, err);
    f->tp = tp;
    f->fp = fp;
    return rc;
}

static void fin_free(fin *f)
{
    rsl_ftps_cmds_free(&f->b);
    free((char *)f->tp);
    free((char *)f->fp);
}

rsl_code rsl_ftps_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                         int64_t mtime, rsl_err *err)
{
    fin f;
    rsl_code rc = fin_paths(c, &f, tmp_rel, final_rel, err);
    /* mtime on the temp file first: the final name appears with it (rename keeps it) */
    if (rc == RSL_OK)
        rc = fin_build(c, &f, mtime, err);
    if (rc == RSL_OK)
        rc = check_temp_size(c, tmp_rel, f.tp, size, err);
    if (rc == RSL_OK && (rc = rsl_ftps_send(c, &f.b, "rename", final_rel, err)) == RSL_OK)
        rc = rename_result(c, &f, err);
    if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_dircache_missing(&c->made, tmp_rel);
    fin_free(&f);
    return rc;
}

/* ---- one PUT of the pipelined path ----------------------------------------------------- */

/* f's commands as a POSTQUOTE list: the mtime and the DELE whatever they
 * answer ('*'), RNFR and RNTO stopping at a refusal. */
static struct curl_slist *post_list(const fin *f)
{
    struct curl_slist *q = NULL, *t;
    for (size_t i = 0; i < f->b.n; i++) {
        char *line = NULL;
        int star = i == f->mt || i == f->dele;
        if (asprintf(&line, "%s%s", star ? "*" : "", f->b.v[i]) < 0)
            goto fail;
        t = curl_slist_append(q, line);
        free(line);
        if (t == NULL)
            goto fail;
        q = t;
    }
    return q;
fail:
    curl_slist_free_all(q);
    return NULL;
}

/* A fresh PUT in one request. */
static rsl_code put_fresh(rsl_conn *c, rsl_op *op, fin *f, rsl_err *err)
{
    char *url = NULL;
    struct curl_slist *post = NULL;
    rsl_source *src = op->src;
    rsl_code rc = rsl_ftps_fits("STOR", f->tp, op->tmp, err);
    if (rc == RSL_OK && (rc = fin_build(c, f, op->mtime, err)) == RSL_OK &&
        ((url = rsl_ftpctl_url(c->base, f->tp, 0)) == NULL || (post = post_list(f)) == NULL))
        rc = oom(err);
    if (rc == RSL_OK && (c->need_setup || c->ascii))
        rc = rsl_ftps_run(c, NULL, 0, "upload", op->tmp, err);
    if (rc == RSL_OK && src->start)
        rc = src->start(src, 0, err);
    /* nothing to read for an empty file: its check comes first */
    if (rc == RSL_OK && op->size == 0 && src->verify)
        rc = src->verify(src, err);
    if (rc != RSL_OK)
        goto out;
    c->verify_at_end = 1;
    CURLcode e = store(c, url, 0, op->size, src, post);
    op->sent = c->sent;
    if (e == CURLE_OK || (e == CURLE_QUOTE_ERROR && !c->src_failed)) {
        c->data_ok = 1;
        after_upload(c, op->tmp, op->size); /* for a classic finish after a refused rename */
        rc = rename_result(c, f, err);
    } else if ((rc = store_failed(c, e, op->tmp, f->tp, op->size, err)) == RSL_OK) {
        rc = rsl_ftps_finish(c, op->tmp, op->path, op->size, op->mtime, err);
    }
out:
    curl_slist_free_all(post);
    free(url);
    return rc;
}

/* A resumed PUT: resume_offset, the source's start, APPE, verify, finish. */
static rsl_code put_resumed(rsl_conn *c, rsl_op *op, rsl_err *err)
{
    rsl_source *src = op->src;
    rsl_code rc = RSL_OK;
    if (op->offset > 0 && src->start)
        rc = src->start(src, op->offset, err);
    if (rc == RSL_OK)
        rc = rsl_ftps_upload(c, op->tmp, op->offset, op->size, src, err);
    op->sent = c->sent;
    if (rc == RSL_OK && src->verify)
        rc = src->verify(src, err);
    if (rc == RSL_OK)
        rc = rsl_ftps_finish(c, op->tmp, op->path, op->size, op->mtime, err);
    return rc;
}

rsl_code rsl_ftps_put(rsl_conn *c, rsl_op *op)
{
    fin f;
    op->offset = 0;
    op->sent = 0;
    rsl_code rc = fin_paths(c, &f, op->tmp, op->path, &op->err);
    if (rc == RSL_OK && op->resume)
        rc = rsl_ftps_resume_offset(c, op->tmp, op->size, op->src, &op->offset, &op->err);
    if (rc == RSL_OK)
        rc = op->offset > 0 ? put_resumed(c, op, &op->err) : put_fresh(c, op, &f, &op->err);
    if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_dircache_missing(&c->made, op->tmp);
    fin_free(&f);
    return rc;
}

/* ---- send less: APPEND and MOVE ------------------------------------------------------- */

/* The mtime of final_rel (MFMT, or vsftpd's MDTM with a time), whatever the
 * server answers: an append's content is in place already. */
static void set_mtime_of(rsl_conn *c, const char *rel, const char *p, int64_t mtime)
{
    rsl_ftps_cmds b = {0};
    rsl_err e;
    if (mtime < 0 || !(c->has_mfmt || c->mdtm_write >= 0))
        return;
    time_t tt = (time_t)mtime;
    struct tm tm;
    char ts[32];
    gmtime_r(&tt, &tm);
    strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
    if (rsl_ftps_add(&b, NULL, rel, &e, "%s %s %s", c->has_mfmt ? "MFMT" : "MDTM", ts, p) == RSL_OK)
        rsl_ftps_send(c, &b, "set mtime", rel, &e);
    rsl_ftps_cmds_free(&b);
}

rsl_code rsl_ftps_append(rsl_conn *c, const char *rel, uint64_t old_size, uint64_t total,
                         int64_t mtime, rsl_source *src, rsl_err *err)
{
    char *p = NULL;
    /* SIZE == old_size, APPE of the tail, SIZE after it (rsl_ftps_upload) */
    rsl_code rc = rsl_ftps_upload(c, rel, old_size, total, src, err);
    if (rc == RSL_OK && (rc = rsl_ftps_path(c, rel, &p, err)) == RSL_OK)
        rc = check_temp_size(c, rel, p, total, err);
    if (rc == RSL_OK)
        set_mtime_of(c, rel, p, mtime);
    free(p);
    return rc;
}

rsl_code rsl_ftps_append_op(rsl_conn *c, rsl_op *op)
{
    rsl_source *src = op->src;
    rsl_code rc = RSL_OK;
    op->offset = op->old_size;
    op->sent = 0;
    c->sent = 0;
    if (src->start)
        rc = src->start(src, op->old_size, &op->err);
    if (rc == RSL_OK)
        rc = rsl_ftps_upload(c, op->path, op->old_size, op->size, src, &op->err);
    op->sent = c->sent;
    if (rc == RSL_OK && src->verify)
        rc = src->verify(src, &op->err);
    char *p = NULL;
    if (rc == RSL_OK && (rc = rsl_ftps_path(c, op->path, &p, &op->err)) == RSL_OK &&
        (rc = check_temp_size(c, op->path, p, op->size, &op->err)) == RSL_OK)
        set_mtime_of(c, op->path, p, op->mtime);
    free(p);
    return rc;
}

/* Is there an item at p (CWD: a directory, SIZE: a file)? */
static rsl_code target_exists(rsl_conn *c, const char *rel, const char *p, int *exists,
                              rsl_err *err)
{
    int kind = 0;
    rsl_code rc = rsl_ftps_kind_of(c, rel, p, "move", &kind, err);
    *exists = rc == RSL_OK && kind != 0;
    return rc;
}

rsl_code rsl_ftps_move(rsl_conn *c, const char *from, const char *to, int is_dir, int overwrite,
                       rsl_err *err)
{
    char *fp = NULL, *tp = NULL;
    rsl_ftps_cmds b = {0};
    int exists = 0;
    rsl_code rc = rsl_ftps_path(c, from, &fp, err);
    if (rc == RSL_OK)
        rc = rsl_ftps_path(c, to, &tp, err);
    /* RNTO replaces a file on most servers: a move must not, unless told */
    if (rc == RSL_OK && !overwrite && (rc = target_exists(c, to, tp, &exists, err)) == RSL_OK &&
        exists)
        rc = rsl_err_set(err, RSL_E_REMOTE_EXISTS, 0, "move '%s' -> '%s': the target exists", from,
                         to);
    if (rc == RSL_OK && (rc = rsl_ftps_add(&b, NULL, from, err, "RNFR %s", fp)) == RSL_OK &&
        (rc = rsl_ftps_add(&b, NULL, to, err, "RNTO %s", tp)) == RSL_OK)
        rc = rsl_ftps_send(c, &b, "move", to, err);
    if (rc == RSL_OK) {
        const char *t = NULL;
        int code = rsl_ftps_code(c, b.v[0], &t);
        if (code != 350)
            rc = code == 550
                     ? rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, code,
                                   "move '%s': not on the remote (RNFR: %s)", from, t ? t : "")
                     : rsl_ftpctl_map(err, code, t, "move (RNFR)", from);
        else if ((code = rsl_ftps_code(c, b.v[1], &t)) != 250)
            rc = rsl_ftpctl_map(err, code, t, "move (RNTO)", to);
    }
    if (rc == RSL_OK && is_dir) { /* what this connection knew of both places */
        rsl_dircache_forget(&c->made, from);
        rsl_dircache_forget(&c->made, to);
    }
    rsl_ftps_cmds_free(&b);
    free(fp);
    free(tp);
    return rc;
}
