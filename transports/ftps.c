/*
 * ftps.c - the FTPS transport on libcurl. See ftps.h and docs/transport-ftps.md.
 *
 * One CURL easy handle per rsl_conn, driven by the connection's own multi handle
 * (whose connection cache holds the control connection between performs); curl
 * opens a new control connection (and logs in again) when it was lost. The
 * control connection (login, command batches, error mapping) is
 * ftps_session.c; this file is the operations.
 * Metadata operations are performs on the remote root URL with CURLOPT_NOBODY
 * and a CURLOPT_QUOTE list of commands, each prefixed with '*' so curl runs all
 * of them whatever they answer; the replies are read back from a transcript
 * (ftpctl.h) fed by the debug callback (command sent -> reply code and text), and
 * interpreted here. Uploads are STOR (offset 0) or APPE (resume) on the file's
 * URL, pulling bytes from the rsl_source through CURLOPT_READFUNCTION.
 *
 * TLS is capped at 1.2: libcurl 7.88 with TLS 1.3 loses the session on the
 * second upload over a reused control connection and vsftpd, with its default
 * require_ssl_reuse=YES, refuses that data connection with 522 (see the doc).
 */
#define _GNU_SOURCE
#include "ftps.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "dircache.h"
#include "ftpctl.h"
#include "ftplist.h"
#include "ftps_session.h"

#define FTPS_LIST_CAP (64u << 20) /* a directory listing larger than this is refused */

/* ---- settings ----------------------------------------------------------------------- */

static const char *const ftps_modes[] = {"explicit", "implicit", NULL};

static const rsl_key ftps_keys[] = {
    {.type = RSL_KEY_GROUP,
     .off = offsetof(rsl_ftps_cfg, tls),
     .group = rsl_tls_keys,
     .n_group = RSL_TLS_NKEYS},
    {.name = "ftps_mode",
     .type = RSL_KEY_CHOICE,
     .off = offsetof(rsl_ftps_cfg, implicit),
     .choices = ftps_modes},
};

static const rsl_ftps_cfg ftps_defaults = {.tls = RSL_TLS_CFG_DEFAULTS, .implicit = 0};

void rsl_ftps_cfg_init(rsl_ftps_cfg *cfg)
{
    *cfg = ftps_defaults;
}

static void cfg_init(void *cfg)
{
    rsl_ftps_cfg_init(cfg);
}

static const rsl_ftps_cfg *cfg_of(const rsl_remote_opts *opts)
{
    return opts != NULL && opts->cfg != NULL ? opts->cfg : &ftps_defaults;
}

static const char *ftps_unverified(const rsl_scheme *s, const void *cfg)
{
    (void)s;
    const rsl_ftps_cfg *f = cfg;
    return f != NULL ? rsl_tls_unverified(&f->tls) : NULL;
}

static rsl_code oom(rsl_err *err)
{
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

static rsl_code ftps_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                             rsl_err *err)
{
    static const rsl_remote_opts no_opts;
    if (opts == NULL)
        opts = &no_opts;
    return rsl_ftps_open(out, ep, opts, cfg_of(opts), err);
}

static void ftps_disconnect(rsl_conn *c)
{
    rsl_ftps_close(c);
}

static unsigned ftps_caps_of(rsl_conn *c)
{
    unsigned caps = RSL_CAP_RESUME;
    if (c->rename_overwrites)
        caps |= RSL_CAP_ATOMIC_RENAME;
    if (c->has_mfmt || c->mdtm_write >= 0)
        caps |= RSL_CAP_SET_MTIME;
    return caps;
}

static void ftps_describe(rsl_conn *c, char *buf, size_t n)
{
    snprintf(buf, n,
             "%s %s:%d: %s; passive mode (EPSV, then PASV); one control connection reused; "
             "resume: SIZE of the temp file + APPE; rename: RNFR/RNTO%s; mtime: %s; list: %s%s",
             c->insecure ? "ftp" : "ftps", c->host, c->port,
             c->insecure        ? "PLAIN FTP, unencrypted"
             : c->cfg->implicit ? "implicit TLS, TLS 1.2"
                                : "explicit TLS (AUTH TLS), TLS 1.2",
             c->rename_overwrites ? " (replaces in place)"
                                  : " (server refuses to overwrite: DELE first)",
             c->has_mfmt          ? "MFMT"
             : c->mdtm_write > 0  ? "MDTM (2-argument form)"
             : c->mdtm_write == 0 ? "MDTM if accepted"
                                  : "not settable",
             c->has_mlsd ? "MLSD" : "LIST", c->has_utf8 ? "; UTF-8 names (OPTS UTF8 ON)" : "");
}

/* ---- stat / mkdir --------------------------------------------------------------------- */

static rsl_code ftps_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    char *p = NULL, size[RSL_FTPS_CMD_BUF], mdtm[RSL_FTPS_CMD_BUF], cwd[RSL_FTPS_CMD_BUF];
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    rsl_code rc = rsl_ftps_path(c, rel, &p, err);
    if (rc != RSL_OK)
        return rc;
    const char *cmds[] = {rsl_ftps_cmd(size, "SIZE", p), rsl_ftps_cmd(mdtm, "MDTM", p),
                          rsl_ftps_cmd(cwd, "CWD", p)};
    if ((rc = rsl_ftps_run(c, cmds, 3, "stat", rel, err)) != RSL_OK)
        goto done;
    uint64_t sz = 0;
    const char *t = NULL;
    if (rsl_ftps_code(c, cwd, NULL) == 250) {
        st->exists = 1;
        st->is_dir = 1;
    } else if (rsl_ftps_size(c, size, &sz)) {
        st->exists = 1;
        st->size = sz;
        if (rsl_ftps_code(c, mdtm, &t) == 213 && strlen(t) > 4)
            st->mtime = rsl_ftplist_time(t + 4);
    } else {
        int code = rsl_ftps_code(c, size, &t);
        if (code == 421 || code == 530)
            rc = rsl_ftpctl_map(err, code, t, "stat", rel);
    }
done:
    free(p);
    return rc;
}

/* MKD answered `code` with text mt: 550 may mean "exists": a directory is
 * fine, a file is a conflict. */
static rsl_code mkdir_refused(rsl_conn *c, const char *rel, const char *p, int code, const char *mt,
                              rsl_err *err)
{
    char size[RSL_FTPS_CMD_BUF], cwd[RSL_FTPS_CMD_BUF];
    const char *chk[] = {rsl_ftps_cmd(cwd, "CWD", p), rsl_ftps_cmd(size, "SIZE", p)};
    rsl_code rc = rsl_ftps_run(c, chk, 2, "mkdir", rel, err);
    if (rc != RSL_OK)
        return rc;
    if (rsl_ftps_code(c, cwd, NULL) == 250)
        return RSL_OK;
    if (rsl_ftps_code(c, size, NULL) == 213)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, code,
                           "mkdir '%s': a file of that name exists on the remote", rel);
    return rsl_ftpctl_map(err, code, mt, "mkdir", rel);
}

static rsl_code ftps_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    char *p = NULL, *mt = NULL, mkd[RSL_FTPS_CMD_BUF];
    rsl_code rc = rsl_ftpctl_check_name(rel, err);
    if (rc != RSL_OK || rel[0] == '\0' || rsl_dircache_has(&c->made, rel))
        return rc;
    if ((rc = rsl_ftps_path(c, rel, &p, err)) != RSL_OK)
        return rc;
    const char *cmds[] = {rsl_ftps_cmd(mkd, "MKD", p)};
    if ((rc = rsl_ftps_run(c, cmds, 1, "mkdir", rel, err)) != RSL_OK)
        goto done;
    const char *t = NULL;
    int code = rsl_ftps_code(c, mkd, &t);
    if (code != 257 && code != 250) {
        if ((mt = strdup(t ? t : "")) == NULL)
            rc = oom(err);
        else
            rc = mkdir_refused(c, rel, p, code, mt, err);
    }
    if (rc == RSL_OK)
        rsl_dircache_add(&c->made, rel);
    else if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_dircache_missing(&c->made, rel);
done:
    free(mt);
    free(p);
    return rc;
}

/* ---- upload --------------------------------------------------------------------------- */

static rsl_code ftps_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                   rsl_source *src, uint64_t *have, rsl_err *err)
{
    (void)src;
    *have = 0;
    char *p = NULL;
    rsl_code rc = rsl_ftps_path(c, tmp_rel, &p, err);
    if (rc != RSL_OK)
        return rc;
    int exists = 0;
    uint64_t sz = 0;
    rc = rsl_ftps_remote_size(c, tmp_rel, p, &exists, &sz, err);
    if (rc == RSL_OK && exists && sz <= total)
        *have = sz;
    free(p);
    return rc;
}

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
    return (size_t)n;
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

/* One STOR/APPE of [offset, total) from src, with the temp file's SIZE asked
 * on the same round (POSTQUOTE) for finish. Returns the CURLcode. */
static CURLcode store(rsl_conn *c, const char *url, const char *p, const char *tmp_rel,
                      uint64_t offset, uint64_t total, rsl_source *src)
{
    char sizecmd[RSL_FTPS_CMD_BUF + 2];
    snprintf(sizecmd, sizeof(sizecmd), "*SIZE %s", p);
    rsl_ftps_reset(c);
    struct curl_slist *q = NULL, *pq = curl_slist_append(NULL, sizecmd);
    if (c->need_setup && c->has_utf8)
        q = curl_slist_append(NULL, "*OPTS UTF8 ON");
    if (pq == NULL || (c->need_setup && c->has_utf8 && q == NULL)) {
        curl_slist_free_all(q);
        curl_slist_free_all(pq);
        return CURLE_OUT_OF_MEMORY;
    }
    curl_easy_setopt(c->h, CURLOPT_QUOTE, q);
    curl_easy_setopt(c->h, CURLOPT_POSTQUOTE, pq);
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
    curl_slist_free_all(q);
    curl_slist_free_all(pq);
    uint64_t sz = 0;
    if (e == CURLE_OK && !c->src_failed && rsl_ftps_size(c, sizecmd + 1, &sz)) {
        free(c->after_upload_path);
        if ((c->after_upload_path = strdup(tmp_rel)) != NULL) {
            c->after_upload_size = sz;
            c->after_upload_ok = 1;
        }
    }
    c->stats.data_transfers++;
    c->src = NULL;
    c->need_setup = e != CURLE_OK && rsl_ftps_conn_error(e);
    return e;
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
        return RSL_OK;
    }
    return rc;
}

static rsl_code ftps_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                            rsl_source *src, rsl_err *err)
{
    char *p = NULL, *url = NULL;
    int done = 0;
    if (offset > total)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "upload '%s': offset %llu > size %llu", tmp_rel,
                           (unsigned long long)offset, (unsigned long long)total);
    rsl_code rc = rsl_ftps_path(c, tmp_rel, &p, err);
    if (rc != RSL_OK)
        return rc;
    if ((url = rsl_ftpctl_url(c->base, p, 0)) == NULL) {
        rc = oom(err);
        goto out;
    }
    /* APPE appends at the server's end of file: it must be exactly offset */
    if (offset > 0 &&
        ((rc = check_resume(c, tmp_rel, p, offset, total, &done, err)) != RSL_OK || done))
        goto out;
    /* binary mode set by curl before the data connection opens (see rsl_ftps_run) */
    if ((c->need_setup || c->ascii) &&
        (rc = rsl_ftps_run(c, NULL, 0, "upload", tmp_rel, err)) != RSL_OK)
        goto out;
    CURLcode e = store(c, url, p, tmp_rel, offset, total, src);
    if (e != CURLE_OK || c->src_failed)
        rc = store_failed(c, e, tmp_rel, p, total, err);
    if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_dircache_missing(&c->made, tmp_rel);
out:
    free(url);
    free(p);
    return rc;
}

/* ---- finish / remove ------------------------------------------------------------------ */

/* The size check: the server's SIZE asked right after the upload's 226, else
 * asked now. */
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

/* The commands of one finish: mtime on the temp file, then the rename. */
typedef struct fin_cmds {
    char mt[RSL_FTPS_CMD_BUF + 32], rnfr[RSL_FTPS_CMD_BUF], rnto[RSL_FTPS_CMD_BUF],
        dele[RSL_FTPS_CMD_BUF], cwd[RSL_FTPS_CMD_BUF], fsize[RSL_FTPS_CMD_BUF];
} fin_cmds;

static void fin_cmds_init(const rsl_conn *c, fin_cmds *f, const char *tp, const char *fp,
                          int64_t mtime)
{
    f->mt[0] = '\0';
    if (mtime >= 0 && (c->has_mfmt || c->mdtm_write >= 0)) {
        time_t tt = (time_t)mtime;
        struct tm tm;
        char ts[32];
        gmtime_r(&tt, &tm);
        strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
        snprintf(f->mt, sizeof(f->mt), "%s %s %s", c->has_mfmt ? "MFMT" : "MDTM", ts, tp);
    }
    rsl_ftps_cmd(f->rnfr, "RNFR", tp);
    rsl_ftps_cmd(f->rnto, "RNTO", fp);
    rsl_ftps_cmd(f->dele, "DELE", fp);
    rsl_ftps_cmd(f->cwd, "CWD", fp);
    rsl_ftps_cmd(f->fsize, "SIZE", fp);
}

/* RNTO was refused (with `code` and text): a directory in the way, or a
 * server that does not overwrite. Remove-then-rename only when an existing
 * file is what stands in the way: any other refusal must not cost the old
 * version. */
static rsl_code rnto_refused(rsl_conn *c, const fin_cmds *f, const char *tmp_rel,
                             const char *final_rel, int code, const char *text, rsl_err *err)
{
    char *said = strdup(text ? text : "");
    if (said == NULL)
        return oom(err);
    const char *probe[] = {f->cwd, f->fsize};
    rsl_code rc = rsl_ftps_run(c, probe, 2, "rename", final_rel, err);
    if (rc != RSL_OK)
        goto done;
    if (rsl_ftps_code(c, f->cwd, NULL) == 250) {
        rc = rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, code,
                         "rename '%s' -> '%s': a directory of that name exists on the remote",
                         tmp_rel, final_rel);
        goto done;
    }
    if (c->rename_overwrites && rsl_ftps_code(c, f->fsize, NULL) == 213) {
        const char *again[] = {f->dele, f->rnfr, f->rnto}, *t = NULL;
        if ((rc = rsl_ftps_run(c, again, 3, "rename", final_rel, err)) != RSL_OK)
            goto done;
        if ((code = rsl_ftps_code(c, f->rnto, &t)) == 250) {
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
    rc = rsl_ftpctl_map(err, code, said, "rename into place", final_rel);
    if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_PERMISSION || rc == RSL_E_REMOTE_NOT_FOUND)
        err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
done:
    free(said);
    return rc;
}

/* MFMT/MDTM (when settable), then RNFR/RNTO (DELE first on a server that
 * does not overwrite), in one round of commands. */
static rsl_code rename_into_place(rsl_conn *c, const fin_cmds *f, const char *tmp_rel,
                                  const char *final_rel, rsl_err *err)
{
    const char *cmds[4];
    size_t n = 0;
    if (f->mt[0])
        cmds[n++] = f->mt;
    if (!c->rename_overwrites)
        cmds[n++] = f->dele;
    cmds[n++] = f->rnfr;
    cmds[n++] = f->rnto;
    rsl_code rc = rsl_ftps_run(c, cmds, n, "rename", final_rel, err);
    if (rc != RSL_OK)
        return rc;
    if (f->mt[0] && !c->has_mfmt && c->mdtm_write == 0)
        c->mdtm_write = rsl_ftps_code(c, f->mt, NULL) == 213 ? 1 : -1;
    const char *t = NULL;
    int code = rsl_ftps_code(c, f->rnto, &t);
    if (code == 250)
        return RSL_OK;
    int fcode = rsl_ftps_code(c, f->rnfr, NULL);
    if (fcode != 350) {
        rc = rsl_ftpctl_map(err, fcode, t, "rename (RNFR)", tmp_rel);
        if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_PERMISSION)
            err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
        return rc;
    }
    return rnto_refused(c, f, tmp_rel, final_rel, code, t, err);
}

static rsl_code ftps_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                            int64_t mtime, rsl_err *err)
{
    char *tp = NULL, *fp = NULL;
    fin_cmds *f = NULL;
    rsl_code rc = rsl_ftps_path(c, tmp_rel, &tp, err);
    if (rc == RSL_OK)
        rc = rsl_ftps_path(c, final_rel, &fp, err);
    if (rc == RSL_OK && (f = malloc(sizeof(*f))) == NULL)
        rc = oom(err);
    if (rc == RSL_OK)
        rc = check_temp_size(c, tmp_rel, tp, size, err);
    if (rc == RSL_OK) {
        /* mtime on the temp file first: the final name appears with it (rename keeps it) */
        fin_cmds_init(c, f, tp, fp, mtime);
        rc = rename_into_place(c, f, tmp_rel, final_rel, err);
    }
    if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_dircache_missing(&c->made, tmp_rel);
    free(f);
    free(tp);
    free(fp);
    return rc;
}

static rsl_code ftps_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    char *p = NULL, cmd[RSL_FTPS_CMD_BUF], size[RSL_FTPS_CMD_BUF], cwd[RSL_FTPS_CMD_BUF];
    if (rel[0] == '\0')
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "remove: refusing to remove the remote root");
    rsl_code rc = rsl_ftps_path(c, rel, &p, err);
    if (rc != RSL_OK)
        return rc;
    const char *cmds[] = {rsl_ftps_cmd(cmd, is_dir ? "RMD" : "DELE", p),
                          rsl_ftps_cmd(size, "SIZE", p), rsl_ftps_cmd(cwd, "CWD", p)};
    if (is_dir)
        rsl_dircache_forget(&c->made, rel);
    /* the probes after the delete tell "already absent" from "refused" */
    if ((rc = rsl_ftps_run(c, cmds, 3, "delete", rel, err)) != RSL_OK)
        goto done;
    const char *t = NULL;
    int code = rsl_ftps_code(c, cmd, &t);
    if (code == 250 || code == 200)
        goto done;
    if (rsl_ftps_code(c, size, NULL) != 213 && rsl_ftps_code(c, cwd, NULL) != 250)
        goto done; /* already absent */
    rc = rsl_ftpctl_map(err, code, t, "delete", rel);
    /* a bare 550 on an item that is still there: not empty, or refused; only a
     * reply that says "permission" is reported as such */
    if (rsl_code_class(rc) != RSL_CLASS_SESSION &&
        !(rc == RSL_E_REMOTE_PERMISSION && t &&
          (strcasestr(t, "permission") || strcasestr(t, "denied"))))
        err->code = rc = RSL_E_REMOTE_DELETE_FAILED;
done:
    free(p);
    return rc;
}

/* ---- list ----------------------------------------------------------------------------- */

static size_t list_cb(char *d, size_t sz, size_t n, void *ud)
{
    rsl_conn *c = ud;
    size_t k = sz * n;
    if (rsl_buf_append(&c->list, d, k) != RSL_BUF_OK)
        return 0; /* out of memory, or larger than the cap: abort the transfer */
    return k;
}

typedef struct lent {
    const char *name;
    rsl_rstat st;
} lent;

typedef struct lents {
    lent *v;
    size_t n, cap;
} lents;

#define FTPS_MDTM_ROUND 256 /* MDTM commands per request */

/* One round of at most FTPS_MDTM_ROUND MDTM commands for the files among
 * ents from *i on; fills their exact mtime. */
static rsl_code mdtm_round(rsl_conn *c, const char *dir, const char *rel, lents *ents, size_t *i,
                           char **cmds, size_t *idx, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    size_t k = 0;
    for (; *i < ents->n && k < FTPS_MDTM_ROUND && rc == RSL_OK; (*i)++) {
        const lent *e = &ents->v[*i];
        if (e->st.is_dir || rsl_ftpctl_has_ctl(e->name))
            continue;
        if (asprintf(&cmds[k], "MDTM %s%s%s", dir, strcmp(dir, "/") ? "/" : "", e->name) < 0) {
            cmds[k] = NULL;
            rc = oom(err);
            break;
        }
        idx[k++] = *i;
    }
    if (rc == RSL_OK && k > 0 &&
        (rc = rsl_ftps_run(c, (const char *const *)cmds, k, "list", rel, err)) == RSL_OK) {
        for (size_t j = 0; j < k; j++) {
            const char *t = NULL;
            if (rsl_ftps_code(c, cmds[j], &t) == 213 && strlen(t) > 4)
                ents->v[idx[j]].st.mtime = rsl_ftplist_time(t + 4);
        }
    }
    for (size_t j = 0; j < k; j++) {
        free(cmds[j]);
        cmds[j] = NULL;
    }
    return rc;
}

/* LIST says "Nov 22 03:17" (minutes, or only the day for old files): ask MDTM
 * for the exact second of each file, in rounds of commands on the control
 * connection. */
static rsl_code list_mdtm(rsl_conn *c, const char *dir, const char *rel, lents *ents, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    char **cmds = calloc(FTPS_MDTM_ROUND, sizeof(char *));
    size_t *idx = calloc(FTPS_MDTM_ROUND, sizeof(size_t));
    if (cmds == NULL || idx == NULL)
        rc = oom(err);
    for (size_t i = 0; rc == RSL_OK && i < ents->n;)
        rc = mdtm_round(c, dir, rel, ents, &i, cmds, idx, err);
    free(cmds);
    free(idx);
    return rc;
}

/* Parses every line of c->list into ents (names point into c->list.p, which
 * the MDTM rounds leave alone). */
static rsl_code parse_listing(rsl_conn *c, lents *ents, rsl_err *err)
{
    char *save = NULL;
    time_t now = time(NULL);
    for (char *line = strtok_r(c->list.p, "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save)) {
        rsl_rstat st = {.mtime = -1};
        const char *name = NULL;
        int ok = c->has_mlsd ? rsl_ftplist_mlsd(line, &name, &st)
                             : rsl_ftplist_unix(line, &name, &st, now);
        if (!ok || name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (ents->n == ents->cap) {
            size_t ncap = ents->cap ? ents->cap * 2 : 64;
            lent *g = realloc(ents->v, ncap * sizeof(*g));
            if (g == NULL)
                return oom(err);
            ents->v = g;
            ents->cap = ncap;
        }
        ents->v[ents->n].name = name;
        ents->v[ents->n].st = st;
        ents->n++;
    }
    return RSL_OK;
}

/* MLSD (or LIST) of directory url into c->list. */
static rsl_code fetch_listing(rsl_conn *c, const char *url, const char *rel, rsl_err *err)
{
    rsl_ftps_reset(c);
    rsl_buf_reset(&c->list, FTPS_LIST_CAP - 1);
    if (c->has_mlsd)
        curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, "MLSD");
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, list_cb);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    CURLcode e = rsl_ftps_perform(c, url);
    c->ascii = 1; /* curl lists in TYPE A */
    c->stats.data_transfers++;
    curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, NULL);
    if (e == CURLE_OK)
        return rsl_ftpctl_check(&c->rep, err);
    if (c->list.truncated)
        return rsl_err_set(err, RSL_E_PROTOCOL, 0, "list '%s': listing larger than %u MiB", rel,
                           FTPS_LIST_CAP >> 20);
    return rsl_ftps_map_curl(c, e, err, "list", rel);
}

static rsl_code ftps_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    lents ents = {0};
    char *p = NULL, *url = NULL;
    rsl_code rc = rsl_ftps_path(c, rel, &p, err);
    if (rc != RSL_OK)
        return rc;
    if ((url = rsl_ftpctl_url(c->base, p, 1)) == NULL)
        rc = oom(err);
    if (rc == RSL_OK)
        rc = fetch_listing(c, url, rel, err);
    if (rc == RSL_OK && c->list.n > 0)
        rc = parse_listing(c, &ents, err);
    if (rc == RSL_OK && !c->has_mlsd)
        rc = list_mdtm(c, p, rel, &ents, err);
    for (size_t i = 0; rc == RSL_OK && i < ents.n; i++)
        if (cb(ud, ents.v[i].name, &ents.v[i].st) != 0)
            break;
    free(ents.v);
    free(url);
    free(p);
    return rc;
}

void rsl_ftps_stats_get(rsl_conn *c, rsl_ftps_stats *out)
{
    *out = c->stats;
}

/* Implicit FTPS listens on its own port (990); explicit FTPS and plain FTP
 * on the scheme's (21). */
static int ftps_default_port(const rsl_scheme *s, const rsl_remote_opts *opts)
{
    return (s->flags & RSL_SCHEME_SECURE) && cfg_of(opts)->implicit ? 990 : s->default_port;
}

const rsl_transport_ops rsl_transport_ftps = {
    .version = RSL_TRANSPORT_VERSION,
    .name = "ftps",
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME,
    .keys = ftps_keys,
    .n_keys = sizeof(ftps_keys) / sizeof(ftps_keys[0]),
    .cfg_size = sizeof(rsl_ftps_cfg),
    .cfg_init = cfg_init,
    .unverified = ftps_unverified,
    .default_port = ftps_default_port,
    .connect = ftps_connect,
    .disconnect = ftps_disconnect,
    .caps_of = ftps_caps_of,
    .describe = ftps_describe,
    .stat = ftps_stat,
    .mkdir = ftps_mkdir,
    .resume_offset = ftps_resume_offset,
    .upload = ftps_upload,
    .finish = ftps_finish,
    .remove = ftps_remove,
    .list = ftps_list,
};
