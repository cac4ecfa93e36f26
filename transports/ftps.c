/*
 * ftps.c - the FTPS transport on libcurl. See ftps.h and docs/transport-ftps.md.
 *
 * One CURL easy handle per rsl_conn, driven by the connection's own multi handle
 * (whose connection cache holds the control connection between performs); curl
 * opens a new control connection (and logs in again) when it was lost. The
 * control connection (login, command batches, deadlines, error mapping) is
 * ftps_session.c; uploads (classic calls and one PUT of the pipelined path)
 * are ftps_put.c; listings, file reads and digests are ftps_get.c; this
 * file is the settings, connect, the metadata operations and run().
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
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dircache.h"
#include "ftpctl.h"
#include "ftplist.h"
#include "ftps_get.h"
#include "ftps_put.h"
#include "ftps_session.h"
#include "xfer.h"

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

#define FTPS_DIGESTS (RSL_FTP_FEAT_HASH_SHA256 | RSL_FTP_FEAT_XSHA256 | RSL_FTP_FEAT_XMD5)

/* No permission bits: FTP has no standard command for them (SITE CHMOD is
 * a vsftpd/ProFTPD extension many servers refuse), so none is claimed. */
static unsigned ftps_caps_of(rsl_conn *c)
{
    /* RNFR/RNTO moves files and directories; APPE writes a growing file's tail */
    unsigned caps = RSL_CAP_RESUME | RSL_CAP_NO_MULTIPLEX | RSL_CAP_MOVE | RSL_CAP_APPEND;
    if (c->rename_overwrites)
        caps |= RSL_CAP_ATOMIC_RENAME;
    if (c->has_mfmt || c->mdtm_write >= 0)
        caps |= RSL_CAP_SET_MTIME;
    if (c->feat & FTPS_DIGESTS)
        caps |= RSL_CAP_CHECKSUM;
    return caps;
}

static void ftps_describe(rsl_conn *c, char *buf, size_t n)
{
    snprintf(buf, n,
             "%s %s:%d: %s; passive mode (%s); one control connection, one operation at a time "
             "(no multiplexing); resume: SIZE + APPE; rename: RNFR/RNTO%s; mtime: %s; "
             "permission bits: not set; digest: %s; list: %s%s",
             c->insecure ? "ftp" : "ftps", c->host, c->port,
             c->insecure        ? "PLAIN FTP, unencrypted"
             : c->cfg->implicit ? "implicit TLS, TLS 1.2"
                                : "explicit TLS (AUTH TLS), TLS 1.2",
             c->epsv ? "EPSV, then PASV" : "PASV (EPSV refused)",
             c->rename_overwrites ? "" : " (no overwrite: DELE first, not atomic)",
             c->has_mfmt          ? "MFMT"
             : c->mdtm_write > 0  ? "MDTM (2-argument form)"
             : c->mdtm_write == 0 ? "MDTM if accepted"
                                  : "not settable",
             (c->feat & RSL_FTP_FEAT_HASH_SHA256) ? "HASH SHA-256"
             : (c->feat & RSL_FTP_FEAT_XSHA256)   ? "XSHA256"
             : (c->feat & RSL_FTP_FEAT_XMD5)      ? "XMD5"
                                                  : "none (read back)",
             c->has_mlsd ? "MLSD" : "LIST", c->has_utf8 ? "; UTF-8 names" : "");
}

/* ---- stat / mkdir --------------------------------------------------------------------- */

/* MLST p (RFC 3659): type, size and mtime in one command. */
static rsl_code stat_mlst(rsl_conn *c, const char *rel, const char *p, rsl_rstat *st, rsl_err *err)
{
    rsl_ftps_cmds b = {0};
    rsl_code rc = rsl_ftps_add(&b, NULL, rel, err, "MLST %s", p);
    if (rc == RSL_OK)
        rc = rsl_ftps_send(c, &b, "stat", rel, err);
    const char *t = NULL;
    int code = rc == RSL_OK ? rsl_ftps_code(c, b.v[0], &t) : 0;
    const rsl_ftpctl_reply *r = rc == RSL_OK ? rsl_ftpctl_find(&c->rep, b.v[0]) : NULL;
    if (code == 250 && r && r->text.p) {
        /* "250-Listing p\n type=file;size=5;modify=...; p\n250 End" */
        char *line = strstr(r->text.p, "\n ");
        char *end = line ? strchr(line + 2, '\n') : NULL;
        const char *name = NULL;
        if (end)
            *end = '\0';
        rsl_rstat got = {.mtime = -1};
        if (line && rsl_ftplist_mlsd(line + 2, &name, &got))
            *st = got; /* a file or directory; anything else counts as absent */
    } else if (rc == RSL_OK && (code == 421 || code == 530 || code == 0)) {
        rc = rsl_ftpctl_map(err, code, t, "stat", rel);
    }
    rsl_ftps_cmds_free(&b);
    return rc;
}

/* SIZE, MDTM and CWD in one request, for servers without MLST. */
static rsl_code stat_probe(rsl_conn *c, const char *rel, const char *p, rsl_rstat *st, rsl_err *err)
{
    rsl_ftps_cmds b = {0};
    rsl_code rc = rsl_ftps_add(&b, NULL, rel, err, "SIZE %s", p);
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&b, NULL, rel, err, "MDTM %s", p);
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&b, NULL, rel, err, "CWD %s", p);
    if (rc == RSL_OK)
        rc = rsl_ftps_send(c, &b, "stat", rel, err);
    uint64_t sz = 0;
    const char *t = NULL;
    if (rc != RSL_OK) {
    } else if (rsl_ftps_code(c, b.v[2], NULL) == 250) {
        st->exists = 1;
        st->is_dir = 1;
    } else if (rsl_ftps_size(c, b.v[0], &sz)) {
        st->exists = 1;
        st->size = sz;
        if (rsl_ftps_code(c, b.v[1], &t) == 213 && strlen(t) > 4)
            st->mtime = rsl_ftplist_time(t + 4);
    } else {
        int code = rsl_ftps_code(c, b.v[0], &t);
        if (code == 421 || code == 530)
            rc = rsl_ftpctl_map(err, code, t, "stat", rel);
    }
    rsl_ftps_cmds_free(&b);
    return rc;
}

static rsl_code ftps_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    char *p = NULL;
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    rsl_code rc = rsl_ftps_path(c, rel, &p, err);
    if (rc == RSL_OK)
        rc = c->has_mlst ? stat_mlst(c, rel, p, st, err) : stat_probe(c, rel, p, st, err);
    free(p);
    return rc;
}

/* MKD answered `code` with text mt: 550 may mean "exists": a directory is
 * fine, a file is a conflict. */
static rsl_code mkdir_refused(rsl_conn *c, const char *rel, const char *p, int code, const char *mt,
                              rsl_err *err)
{
    int kind = 0;
    rsl_code rc = rsl_ftps_kind_of(c, rel, p, "mkdir", &kind, err);
    if (rc != RSL_OK || kind == 'd')
        return rc;
    if (kind == 'f')
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, code,
                           "mkdir '%s': a file of that name exists on the remote", rel);
    return rsl_ftpctl_map(err, code, mt, "mkdir", rel);
}

static rsl_code ftps_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    char *p = NULL, *mt = NULL;
    rsl_ftps_cmds b = {0};
    rsl_code rc = rsl_ftpctl_check_name(rel, err);
    if (rc != RSL_OK || rel[0] == '\0' || rsl_dircache_has(&c->made, rel))
        return rc;
    if ((rc = rsl_ftps_path(c, rel, &p, err)) != RSL_OK ||
        (rc = rsl_ftps_add(&b, NULL, rel, err, "MKD %s", p)) != RSL_OK ||
        (rc = rsl_ftps_send(c, &b, "mkdir", rel, err)) != RSL_OK)
        goto done;
    const char *t = NULL;
    int code = rsl_ftps_code(c, b.v[0], &t);
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
    rsl_ftps_cmds_free(&b);
    free(mt);
    free(p);
    return rc;
}

/* ---- upload (ftps_put.c) ------------------------------------------------------------- */

static rsl_code ftps_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                   rsl_source *src, uint64_t *have, rsl_err *err)
{
    return rsl_ftps_resume_offset(c, tmp_rel, total, src, have, err);
}

static rsl_code ftps_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                            rsl_source *src, rsl_err *err)
{
    return rsl_ftps_upload(c, tmp_rel, offset, total, src, err);
}

static rsl_code ftps_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                            int64_t mtime, rsl_err *err)
{
    return rsl_ftps_finish(c, tmp_rel, final_rel, size, mtime, err);
}

/* ---- remove --------------------------------------------------------------------------- */

/* DELE/RMD was refused with `code`: SIZE and CWD tell "already absent" from
 * "refused". */
static rsl_code remove_refused(rsl_conn *c, const char *rel, const char *p, int code, const char *t,
                               rsl_err *err)
{
    rsl_ftps_cmds b = {0};
    char *said = strdup(t ? t : "");
    rsl_code rc = said ? rsl_ftps_add(&b, NULL, rel, err, "SIZE %s", p) : oom(err);
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&b, NULL, rel, err, "CWD %s", p);
    if (rc == RSL_OK)
        rc = rsl_ftps_send(c, &b, "delete", rel, err);
    if (rc != RSL_OK ||
        (rsl_ftps_code(c, b.v[0], NULL) != 213 && rsl_ftps_code(c, b.v[1], NULL) != 250))
        goto done; /* already absent (or the probe failed: its code) */
    rc = rsl_ftpctl_map(err, code, said, "delete", rel);
    /* a bare 550 on an item that is still there: not empty, or refused; only a
     * reply that says "permission" is reported as such */
    if (rsl_code_class(rc) != RSL_CLASS_SESSION &&
        !(rc == RSL_E_REMOTE_PERMISSION &&
          (strcasestr(said, "permission") || strcasestr(said, "denied"))))
        err->code = rc = RSL_E_REMOTE_DELETE_FAILED;
done:
    rsl_ftps_cmds_free(&b);
    free(said);
    return rc;
}

static rsl_code ftps_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    char *p = NULL;
    rsl_ftps_cmds b = {0};
    if (rel[0] == '\0')
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "remove: refusing to remove the remote root");
    rsl_code rc = rsl_ftps_path(c, rel, &p, err);
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&b, NULL, rel, err, "%s %s", is_dir ? "RMD" : "DELE", p);
    if (rc != RSL_OK)
        goto done;
    if (is_dir)
        rsl_dircache_forget(&c->made, rel);
    /* one command when it works; the probes only after a refusal */
    if ((rc = rsl_ftps_send(c, &b, "delete", rel, err)) != RSL_OK)
        goto done;
    const char *t = NULL;
    int code = rsl_ftps_code(c, b.v[0], &t);
    if (code == 421 || code == 530 || code == 0)
        rc = rsl_ftpctl_map(err, code, t, "delete", rel);
    else if (code != 250 && code != 200)
        rc = remove_refused(c, rel, p, code, t, err);
done:
    rsl_ftps_cmds_free(&b);
    free(p);
    return rc;
}

/* ---- the pipelined path ------------------------------------------------------------- */

static rsl_code run_one(rsl_conn *c, rsl_op *op)
{
    switch (op->kind) {
    case RSL_OP_MKDIR:
        return ftps_mkdir(c, op->path, &op->err);
    case RSL_OP_REMOVE:
        return ftps_remove(c, op->path, op->is_dir, &op->err);
    case RSL_OP_STAT:
        return ftps_stat(c, op->path, &op->st, &op->err);
    case RSL_OP_PUT:
        return rsl_ftps_put(c, op); /* op->mode: no permission bits over FTP */
    case RSL_OP_MOVE:
        return rsl_ftps_move(c, op->from, op->path, op->is_dir, op->overwrite, &op->err);
    case RSL_OP_APPEND:
        return rsl_ftps_append_op(c, op);
    case RSL_OP_SYMLINK: /* FTP has no links; its directories keep the server's mtimes */
    case RSL_OP_SETTIME:
        return rsl_err_set(&op->err, RSL_E_REMOTE_UNSUPPORTED, 0, "%s '%s': FTP cannot",
                           rsl_op_kind_name(op->kind), op->path);
    case RSL_OP_PUT_RANGE: /* no RSL_CAP_WRITE_AT: the engine never sends these */
    case RSL_OP_FINISH:
        break;
    }
    return rsl_err_set(&op->err, RSL_E_INTERNAL, op->kind, "unknown operation %d on '%s'",
                       (int)op->kind, op->path);
}

/* One op at a time (FTP has no pipelining on a control connection), each in
 * as few commands as the protocol allows: a fresh PUT is one request (EPSV,
 * STOR, then MDTM/MFMT, RNFR, RNTO after the 226), a STAT one MLST where the
 * server has it, a REMOVE one DELE/RMD unless refused. */
static rsl_code ftps_run(rsl_conn *c, const rsl_feed *feed, rsl_err *err)
{
    rsl_op *op;
    while ((feed->cancelled == NULL || !feed->cancelled(feed->ud)) &&
           (op = feed->next(feed->ud, 1)) != NULL) {
        rsl_err_clear(&op->err);
        op->sent = 0;
        rsl_code rc = run_one(c, op);
        if (rc == RSL_OK)
            rsl_err_clear(&op->err);
        else if (op->err.code == RSL_OK)
            rsl_err_set(&op->err, rc, 0, "%s '%s' failed", rsl_op_kind_name(op->kind), op->path);
        feed->done(feed->ud, op);
        if (rc != RSL_OK && rsl_code_class(rc) == RSL_CLASS_SESSION) {
            *err = op->err;
            return rc;
        }
    }
    return RSL_OK;
}

static rsl_code ftps_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err)
{
    return rsl_ftps_read(c, rel, cb, ud, err);
}

/* The transport's hash(): the server's digest as lower-case hex, under the
 * algorithm name transport.h uses ("sha256", "md5"). */
static rsl_code ftps_hash(rsl_conn *c, const char *rel, const char *want, rsl_rhash *out,
                          rsl_err *err)
{
    char alg[16];
    unsigned char d[64];
    size_t len = 0;
    rsl_code rc = rsl_ftps_hash(c, rel, want, alg, sizeof(alg), d, &len, err);
    if (rc != RSL_OK)
        return rc;
    if (len == 0)
        return rsl_err_set(err, RSL_E_CHECKSUM_UNAVAILABLE, 0,
                           "'%s': the server offers no %s digest (FEAT lists no HASH, XSHA256 or "
                           "XMD5 for it)",
                           rel, want ? want : "");
    size_t o = 0;
    for (const char *a = alg; *a && o + 1 < sizeof(out->alg); a++)
        if (*a != '-')
            out->alg[o++] = (char)tolower((unsigned char)*a);
    out->alg[o] = '\0';
    for (size_t i = 0; i < len; i++)
        snprintf(out->hex + 2 * i, sizeof(out->hex) - 2 * i, "%02x", d[i]);
    return RSL_OK;
}

static rsl_code ftps_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    return rsl_ftps_list(c, rel, cb, ud, err);
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
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME | RSL_CAP_CHECKSUM |
            RSL_CAP_NO_MULTIPLEX | RSL_CAP_MOVE | RSL_CAP_APPEND,
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
    .run = ftps_run,
    .read = ftps_read,
    .hash = ftps_hash,
    .move = rsl_ftps_move,
    .append = rsl_ftps_append,
};
