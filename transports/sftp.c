/*
 * sftp.c - the sftp:// transport on libssh2. See sftp.h.
 *
 * One rsl_conn = one TCP connection, one SSH session, one libssh2 SFTP
 * channel for everything, plus (when the server allows a second session
 * channel) a small hand-written SFTP channel for OpenSSH extensions that
 * libssh2 1.10 has no call for (sftp_side.c): posix-rename@openssh.com, which
 * replaces the final name atomically. Without it, finish() falls back to a
 * two-step rename (documented in docs/transport-sftp.md and in describe()).
 * Host-key trust and authentication are sftp_auth.c; the shared state, TCP
 * and error mapping sftp_conn.c.
 *
 * Blocking libssh2 with libssh2_session_set_timeout(): every wait is bounded
 * by opts->timeout_sec. Uploads hand libssh2_sftp_write() a large buffer so
 * it keeps ~INFLIGHT / 30000 write requests in flight (as OpenSSH's 64 x
 * 32 KiB), and send keepalives as they go.
 */
#define _GNU_SOURCE
#include "sftp.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keys.h"
#include "knownhosts.h"
#include "sftp_auth.h"
#include "sftp_conn.h"
#include "sftp_side.h"

#ifndef INFLIGHT
#define INFLIGHT (4u << 20) /* most bytes of write requests awaiting an ack */
#endif
#define TAIL_CHECK (64u << 10) /* bytes of a temp file's tail checked before resuming */
#define SMALL_MAX (256u << 10) /* uploads up to this size go in one batch */
#ifndef READ_CHUNK
#define READ_CHUNK (1u << 20) /* bytes pulled from the source at a time */
#endif
#define KEEPALIVE_MIN 5

/* ------------------------------------------------------------------ */
/* settings */

static const rsl_key sftp_keys[] = {
    {.name = "identity_file",
     .type = RSL_KEY_PATH,
     .off = offsetof(rsl_sftp_cfg, identity_file),
     .secret = 1},
    {.name = "passphrase_file",
     .type = RSL_KEY_PATH,
     .off = offsetof(rsl_sftp_cfg, passphrase_file),
     .secret = 1},
    {.name = "known_hosts", .type = RSL_KEY_PATH, .off = offsetof(rsl_sftp_cfg, known_hosts)},
    {.name = "host_key_fingerprint",
     .type = RSL_KEY_STR,
     .off = offsetof(rsl_sftp_cfg, host_key_fingerprint)},
    {.name = "strict_host_key_checking",
     .type = RSL_KEY_BOOL,
     .off = offsetof(rsl_sftp_cfg, strict_host_key_checking)},
    {.name = "use_agent", .type = RSL_KEY_BOOL, .off = offsetof(rsl_sftp_cfg, use_agent)},
};

static const rsl_sftp_cfg sftp_defaults = {.strict_host_key_checking = 1, .use_agent = 1};

void rsl_sftp_cfg_init(rsl_sftp_cfg *cfg)
{
    *cfg = sftp_defaults;
}

static void cfg_init(void *cfg)
{
    rsl_sftp_cfg_init(cfg);
}

static const char *sftp_unverified(const rsl_scheme *s, const void *cfg)
{
    (void)s;
    const rsl_sftp_cfg *f = cfg;
    if (f == NULL || f->strict_host_key_checking)
        return NULL;
    return "strict_host_key_checking = no: the server's identity is NOT verified";
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void do_init(void)
{
    init_rc = libssh2_init(0);
}

/* ------------------------------------------------------------------ */
/* connect / disconnect */

static void conn_free(rsl_conn *c)
{
    if (c == NULL)
        return;
    if (c->dead && c->sock >= 0)
        shutdown(c->sock, SHUT_RDWR); /* every libssh2 call below fails fast */
    rsl_sftp_side_close(c);
    for (int i = 0; i < c->nstash; i++)
        free(c->stash[i].pkt);
    if (c->sftp != NULL)
        libssh2_sftp_shutdown(c->sftp);
    if (c->ss != NULL) {
        if (!c->dead)
            libssh2_session_disconnect(c->ss, "rsyncd-lite done");
        libssh2_session_free(c->ss);
    }
    if (c->sock >= 0)
        close(c->sock);
    rsl_dircache_clear(&c->dirs);
    free(c->last_tmp);
    free(c->buf);
    free(c->root);
    free(c->host);
    free(c->user);
    free(c);
}

static void attrs_to_rstat(const LIBSSH2_SFTP_ATTRIBUTES *a, rsl_rstat *st)
{
    st->exists = 1;
    st->is_dir = (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
                 (a->permissions & LIBSSH2_SFTP_S_IFMT) == LIBSSH2_SFTP_S_IFDIR;
    st->size = (a->flags & LIBSSH2_SFTP_ATTR_SIZE) ? a->filesize : 0;
    st->mtime = (a->flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ? (int64_t)a->mtime : -1;
}

/* A connection with its names from the endpoint (no I/O yet). */
static rsl_code conn_new(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                         rsl_err *err)
{
    rsl_conn *c = *out = calloc(1, sizeof(*c));
    if (c == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    c->sock = -1;
    c->o = *opts;
    c->opts = &c->o;
    c->cfg = opts->cfg ? opts->cfg : &sftp_defaults;
    c->strict = c->cfg->strict_host_key_checking != 0;
    c->port = rsl_endpoint_port(ep, opts);
    const char *user = opts->username && opts->username[0] ? opts->username : ep->user;
    char pwbuf[4096];
    struct passwd pwd, *pw = NULL;
    if (user == NULL || user[0] == '\0') /* as ssh: the local login name */
        getpwuid_r(getuid(), &pwd, pwbuf, sizeof(pwbuf), &pw);
    c->user = strdup(user && user[0] ? user : pw ? pw->pw_name : "root");
    c->host = strdup(ep->host ? ep->host : "");
    c->root = strdup(ep->path && ep->path[0] ? ep->path : "/");
    if (c->user == NULL || c->host == NULL || c->root == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    if (c->host[0] == '\0')
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "sftp destination has no host");
    return RSL_OK;
}

/* The SSH session over c->sock: algorithms (host key types known_hosts
 * holds first), the handshake. */
static rsl_code handshake(rsl_conn *c, const char *khfile, int tsec, rsl_err *err)
{
    c->ss = libssh2_session_init_ex(NULL, NULL, NULL, c);
    if (c->ss == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "libssh2_session_init failed");
    libssh2_session_set_blocking(c->ss, 1);
    libssh2_session_set_timeout(c->ss, (long)tsec * 1000);
    libssh2_session_flag(c->ss, LIBSSH2_FLAG_COMPRESS, 0);
    char known[256], prefs[256];
    rsl_knownhosts_types(khfile, c->host, c->port, known, sizeof(known));
    rsl_sftp_hostkey_prefs(c->cfg->host_key_fingerprint ? "" : known, prefs, sizeof(prefs));
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_HOSTKEY, prefs);
    /* fastest first (AES-NI); libssh2 1.10 has no AES-GCM or chacha20 */
    static const char ciphers[] = "aes128-ctr,aes192-ctr,aes256-ctr,aes256-cbc,aes128-cbc";
    static const char macs[] = "hmac-sha2-256,hmac-sha2-512,hmac-sha1";
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_CRYPT_CS, ciphers);
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_CRYPT_SC, ciphers);
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_MAC_CS, macs);
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_MAC_SC, macs);
    if (libssh2_session_handshake(c->ss, c->sock) == 0)
        return RSL_OK;
    int e = libssh2_session_last_errno(c->ss);
    if (e != LIBSSH2_ERROR_SOCKET_DISCONNECT && e != LIBSSH2_ERROR_SOCKET_RECV &&
        e != LIBSSH2_ERROR_BANNER_RECV)
        return rsl_sftp_map_ssh(c, err, "SSH handshake with", c->host);
    c->dead = 1;
    return rsl_err_set(err, RSL_E_CONNECT_REFUSED, e,
                       "%s:%d closed the connection during the SSH handshake (not an SSH "
                       "server, or it refuses this client: allow-list, MaxStartups)",
                       c->host, c->port);
}

/* The SFTP subsystem, and the remote root: it must exist and be a directory. */
static rsl_code open_sftp(rsl_conn *c, rsl_err *err)
{
    c->sftp = libssh2_sftp_init(c->ss);
    if (c->sftp == NULL) {
        rsl_code rc = rsl_sftp_map_ssh(c, err, "start SFTP subsystem on", c->host);
        if (rc != RSL_E_CONNECTION_LOST || rsl_sftp_broken(c))
            return rc;
        c->dead = 0;
        return rsl_err_set(err, RSL_E_PROTOCOL, libssh2_session_last_errno(c->ss),
                           "%s:%d refused the SFTP subsystem (SFTP disabled for this account?)",
                           c->host, c->port);
    }
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (libssh2_sftp_stat_ex(c->sftp, c->root, (unsigned)strlen(c->root), LIBSSH2_SFTP_STAT, &a) !=
        0) {
        rsl_code rc = rsl_sftp_map_ssh(c, err, "destination directory", c->root);
        if (rc == RSL_E_REMOTE_NOT_FOUND || rc == RSL_E_REMOTE_PERMISSION)
            rc = rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, err->native,
                             "destination directory '%s' on %s: %s", c->root, c->host,
                             rc == RSL_E_REMOTE_NOT_FOUND ? "does not exist" : "permission denied");
        return rc;
    }
    rsl_rstat st;
    attrs_to_rstat(&a, &st);
    if (!st.is_dir)
        return rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, 0,
                           "destination '%s' on %s is not a directory", c->root, c->host);
    return RSL_OK;
}

static rsl_code sftp_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                             rsl_err *err)
{
    static const rsl_remote_opts no_opts;
    rsl_conn *c = NULL;
    char *khfile = NULL;
    *out = NULL;
    if (opts == NULL)
        opts = &no_opts;
    pthread_once(&init_once, do_init);
    if (init_rc != 0)
        return rsl_err_set(err, RSL_E_INTERNAL, init_rc, "libssh2_init failed");
    int tsec = opts->timeout_sec > 0 ? opts->timeout_sec : 60;
    rsl_code rc = conn_new(&c, ep, opts, err);
    if (rc == RSL_OK && (khfile = rsl_sftp_known_hosts(c->cfg)) == NULL)
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    if (rc == RSL_OK)
        rc = rsl_sftp_tcp_connect(c, tsec * 1000, err);
    if (rc == RSL_OK)
        rc = handshake(c, khfile, tsec, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_verify_hostkey(c, khfile, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_authenticate(c, err);
    if (rc == RSL_OK)
        rc = open_sftp(c, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_side_open(c, err);
    free(khfile);
    if (rc != RSL_OK) {
        if (c != NULL && (rc == RSL_E_TIMEOUT || rc == RSL_E_CONNECTION_LOST))
            c->dead = 1;
        conn_free(c);
        return rc;
    }
    int ka = tsec / 4 > KEEPALIVE_MIN ? tsec / 4 : KEEPALIVE_MIN;
    libssh2_keepalive_config(c->ss, 1, (unsigned)ka);
    *out = c;
    return RSL_OK;
}

static void sftp_disconnect(rsl_conn *c)
{
    conn_free(c);
}

static unsigned sftp_caps_of(rsl_conn *c)
{
    return RSL_CAP_RESUME | RSL_CAP_SET_MTIME | (c->posix_rename ? RSL_CAP_ATOMIC_RENAME : 0);
}

static void sftp_describe(rsl_conn *c, char *buf, size_t n)
{
    const char *cs = libssh2_session_methods(c->ss, LIBSSH2_METHOD_CRYPT_CS);
    const char *mac = libssh2_session_methods(c->ss, LIBSSH2_METHOD_MAC_CS);
    snprintf(buf, n,
             "sftp: %s@%s:%d%s; auth %s; host key %s %s %s; cipher %s/%s; "
             "resume at temp size, %u KiB of writes in flight; %s; mtime set",
             c->user, c->host, c->port, c->root, c->auth, c->keytype, c->hostfp, c->trust,
             cs ? cs : "?", mac ? mac : "?", INFLIGHT >> 10,
             c->posix_rename ? "atomic replace via posix-rename@openssh.com"
                             : "NO atomic replace (server lacks posix-rename@openssh.com): the "
                               "old file is moved aside, then the new one renamed in");
}
/* ------------------------------------------------------------------ */
/* operations */

static rsl_code sftp_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    char path[RSL_SFTP_PATH_BUF];
    int pl = rsl_sftp_path(c, rel, path, sizeof(path));
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    if (pl < 0)
        return rsl_sftp_path_too_long(c, err, rel);
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (libssh2_sftp_stat_ex(c->sftp, path, (unsigned)pl, LIBSSH2_SFTP_LSTAT, &a) != 0) {
        rsl_code rc = rsl_sftp_map_ssh(c, err, "stat", rel);
        if (rc == RSL_E_REMOTE_NOT_FOUND) {
            rsl_err_clear(err);
            return RSL_OK;
        }
        return rc;
    }
    attrs_to_rstat(&a, st);
    return RSL_OK;
}

static rsl_code sftp_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    if (rel[0] == '\0' || rsl_dircache_has(&c->dirs, rel))
        return RSL_OK;
    char path[RSL_SFTP_PATH_BUF];
    int pl = rsl_sftp_path(c, rel, path, sizeof(path));
    if (pl < 0)
        return rsl_sftp_path_too_long(c, err, rel);
    if (libssh2_sftp_mkdir_ex(c->sftp, path, (unsigned)pl, 0755) == 0) {
        rsl_dircache_add(&c->dirs, rel);
        return RSL_OK;
    }
    rsl_code rc = rsl_sftp_map_ssh(c, err, "mkdir", rel);
    if (rc != RSL_E_REMOTE_IO && rc != RSL_E_REMOTE_TYPE_CONFLICT && rc != RSL_E_REMOTE_PERMISSION)
        return rc;
    /* FAILURE is how OpenSSH says EEXIST (and EACCES may hide an existing dir) */
    rsl_err e2;
    rsl_rstat st;
    if (sftp_stat(c, rel, &st, &e2) != RSL_OK) {
        if (rsl_code_class(e2.code) == RSL_CLASS_SESSION) {
            *err = e2;
            return e2.code;
        }
        return rc;
    }
    if (st.exists && st.is_dir) {
        rsl_err_clear(err);
        rsl_dircache_add(&c->dirs, rel);
        return RSL_OK;
    }
    if (st.exists)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, err->native,
                           "mkdir '%s' on %s: a file of that name exists", rel, c->host);
    if (rc == RSL_E_REMOTE_NOT_FOUND) /* the parent is gone */
        rsl_dircache_missing(&c->dirs, rel);
    return rc;
}

/* Compares the last `n` bytes before `end` of the remote temp file with the
 * source (pread). Returns 1 if equal, 0 if not (or unreadable), or -1 with
 * *err set when the session failed. */
static int tail_matches(rsl_conn *c, const char *tmp_rel, uint64_t end, size_t n, rsl_source *src,
                        rsl_err *err)
{
    char path[RSL_SFTP_PATH_BUF];
    int pl = rsl_sftp_path(c, tmp_rel, path, sizeof(path));
    unsigned char *remote = malloc(2 * n), *local = remote + n;
    int ok = 0;
    if (pl < 0 || remote == NULL) {
        free(remote);
        return 0;
    }
    LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_open_ex(c->sftp, path, (unsigned)pl, LIBSSH2_FXF_READ, 0,
                                                  LIBSSH2_SFTP_OPENFILE);
    if (h == NULL) {
        rsl_sftp_map_ssh(c, err, "read", tmp_rel);
        ok = c->dead ? -1 : 0;
        goto done;
    }
    libssh2_sftp_seek64(h, end - n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = libssh2_sftp_read(h, (char *)remote + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < n && c->dead) {
        rsl_sftp_map_ssh(c, err, "read", tmp_rel);
        ok = -1;
    } else if (got == n) {
        rsl_err lerr;
        size_t lgot = 0;
        while (lgot < n) {
            ssize_t r = src->pread(src, local + lgot, n - lgot, end - n + lgot, &lerr);
            if (r <= 0)
                break;
            lgot += (size_t)r;
        }
        ok = lgot == n && memcmp(remote, local, n) == 0;
    }
    if (c->dead)
        shutdown(c->sock, SHUT_RDWR);
    libssh2_sftp_close_handle(h);
done:
    free(remote);
    return ok;
}

static rsl_code sftp_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                   rsl_source *src, uint64_t *have, rsl_err *err)
{
    *have = 0;
    rsl_rstat st;
    rsl_code rc = sftp_stat(c, tmp_rel, &st, err);
    if (rc != RSL_OK)
        return rc;
    if (!st.exists || st.is_dir || st.size > total || st.size == 0)
        return RSL_OK;
    /* the temp file must end with the bytes the source has there: else it
     * belongs to another version of the file and is not resumed */
    if (src != NULL && src->pread != NULL) {
        size_t n = st.size < TAIL_CHECK ? (size_t)st.size : TAIL_CHECK;
        int m = tail_matches(c, tmp_rel, st.size, n, src, err);
        if (m < 0)
            return err->code;
        if (m == 0) {
            rsl_sftp_log(
                c, RSL_LOG_INFO,
                "sftp: '%s': the last %zu bytes of the %llu-byte temp file differ from the "
                "local file: not resuming",
                tmp_rel, n, (unsigned long long)st.size);
            rsl_err_clear(err);
            return RSL_OK;
        }
    }
    *have = st.size;
    return RSL_OK;
}

/* Refines a write failure: OpenSSH reports ENOSPC/EDQUOT as plain FAILURE,
 * so ask statvfs@openssh.com (on the file, else the root) whether the file
 * system is full. */
static void refine_no_space(rsl_conn *c, rsl_err *err, const char *rel)
{
    if (err->code != RSL_E_REMOTE_IO || c->dead)
        return;
    char path[RSL_SFTP_PATH_BUF];
    int pl = rsl_sftp_path(c, rel, path, sizeof(path));
    LIBSSH2_SFTP_STATVFS vfs;
    if ((pl < 0 || libssh2_sftp_statvfs(c->sftp, path, (size_t)pl, &vfs) != 0) &&
        libssh2_sftp_statvfs(c->sftp, c->root, strlen(c->root), &vfs) != 0)
        return;
    if (vfs.f_bavail == 0 || (vfs.f_favail == 0 && vfs.f_files > 0))
        rsl_err_set(err, RSL_E_REMOTE_NO_SPACE, err->native,
                    "write '%s' on %s: the remote file system is full (%llu blocks free)", rel,
                    c->host, (unsigned long long)vfs.f_bavail);
}

/* An open for writing failed with rc: a directory in the way is a type
 * conflict (OpenSSH says FAILURE for EISDIR). */
static rsl_code open_failed(rsl_conn *c, rsl_code rc, const char *rel, rsl_err *err)
{
    if (rc != RSL_E_REMOTE_IO)
        return rc;
    rsl_rstat st;
    rsl_err e2;
    if (sftp_stat(c, rel, &st, &e2) == RSL_OK && st.exists && st.is_dir)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, err->native,
                           "open '%s' on %s: a directory of that name exists", rel, c->host);
    refine_no_space(c, err, rel);
    return err->code;
}

/* Pulls exactly n bytes from src into buf; LOCAL_CHANGED when it ends
 * early (at `pos` of `total`). */
static rsl_code pull(rsl_source *src, unsigned char *buf, size_t n, const char *tmp_rel,
                     uint64_t pos, uint64_t total, rsl_err *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = src->read(src, buf + got, n - got, err);
        if (r < 0)
            return err->code;
        if (r == 0)
            return rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                               "'%s': local file ended at %llu of %llu bytes", tmp_rel,
                               (unsigned long long)(pos + got), (unsigned long long)total);
        got += (size_t)r;
    }
    return RSL_OK;
}

/* Streams [offset, total) through an open handle. libssh2_sftp_write()
 * copies what it is given into write requests and keeps them queued until
 * acknowledged; on the next call it skips (never reads) the first `queued`
 * bytes of the buffer it is passed. So fresh bytes always land at
 * c->buf + INFLIGHT and the call is handed c->buf + INFLIGHT - queued: no
 * copying of unacknowledged data. Requests in flight stay between
 * INFLIGHT - READ_CHUNK and INFLIGHT bytes. */
static rsl_code write_stream(rsl_conn *c, LIBSSH2_SFTP_HANDLE *h, const char *tmp_rel,
                             uint64_t offset, uint64_t total, rsl_source *src, rsl_err *err)
{
    size_t queued = 0;
    uint64_t pos = offset, pulled = offset;
    rsl_code rc;
    while (pos < total) {
        size_t fresh = 0;
        if (queued + READ_CHUNK <= INFLIGHT && pulled < total) {
            fresh = total - pulled > READ_CHUNK ? READ_CHUNK : (size_t)(total - pulled);
            if ((rc = pull(src, c->buf + INFLIGHT, fresh, tmp_rel, pulled, total, err)) != RSL_OK)
                return rc;
            pulled += fresh;
        }
        ssize_t w = libssh2_sftp_write(h, (const char *)c->buf + INFLIGHT - queued, queued + fresh);
        if (w < 0) {
            rsl_sftp_map_ssh(c, err, "write", tmp_rel);
            refine_no_space(c, err, tmp_rel);
            return err->code;
        }
        queued = queued + fresh - (size_t)w;
        pos += (uint64_t)w;
        int next = 0;
        if (libssh2_keepalive_send(c->ss, &next) != 0)
            return rsl_sftp_map_ssh(c, err, "keepalive during", tmp_rel);
    }
    return RSL_OK;
}

/* Closes the handle after an upload that ended with rc; on success keeps the
 * size after the last write (fstat) for finish()'s size check. */
static rsl_code close_upload(rsl_conn *c, LIBSSH2_SFTP_HANDLE *h, const char *tmp_rel, rsl_code rc,
                             rsl_err *err)
{
    if (c->dead) {
        /* fail every further I/O at once; close_handle still frees the
         * handle and its queued write requests */
        shutdown(c->sock, SHUT_RDWR);
        libssh2_sftp_close_handle(h);
        return rc;
    }
    if (rc == RSL_OK) {
        LIBSSH2_SFTP_ATTRIBUTES a;
        if (libssh2_sftp_fstat(h, &a) == 0 && (a.flags & LIBSSH2_SFTP_ATTR_SIZE)) {
            c->last_tmp = strdup(tmp_rel);
            c->last_size = a.filesize;
        } else if (c->dead) {
            return rsl_sftp_map_ssh(c, err, "stat", tmp_rel);
        }
    }
    if (libssh2_sftp_close_handle(h) != 0 && rc == RSL_OK) {
        rsl_sftp_map_ssh(c, err, "close", tmp_rel);
        refine_no_space(c, err, tmp_rel);
        rc = err->code;
        free(c->last_tmp);
        c->last_tmp = NULL;
    }
    return rc;
}

/* A large upload on the main channel: open, keep exactly `offset` bytes,
 * stream the rest, close. */
static rsl_code upload_main(rsl_conn *c, const char *path, int pl, const char *tmp_rel,
                            uint64_t offset, uint64_t total, rsl_source *src, rsl_err *err)
{
    unsigned long flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT;
    if (offset == 0)
        flags |= LIBSSH2_FXF_TRUNC;
    LIBSSH2_SFTP_HANDLE *h =
        libssh2_sftp_open_ex(c->sftp, path, (unsigned)pl, flags, 0644, LIBSSH2_SFTP_OPENFILE);
    if (h == NULL)
        return open_failed(c, rsl_sftp_map_ssh(c, err, "open", tmp_rel), tmp_rel, err);
    rsl_code rc = RSL_OK;
    if (offset > 0) {
        /* keep exactly the first `offset` bytes: anything beyond is unverified */
        LIBSSH2_SFTP_ATTRIBUTES a = {.flags = LIBSSH2_SFTP_ATTR_SIZE, .filesize = offset};
        if (libssh2_sftp_fsetstat(h, &a) != 0)
            rc = rsl_sftp_map_ssh(c, err, "truncate", tmp_rel);
        else
            libssh2_sftp_seek64(h, offset);
    }
    if (rc == RSL_OK)
        rc = write_stream(c, h, tmp_rel, offset, total, src, err);
    return close_upload(c, h, tmp_rel, rc, err);
}

static rsl_code sftp_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                            rsl_source *src, rsl_err *err)
{
    char path[RSL_SFTP_PATH_BUF];
    int pl = rsl_sftp_path(c, tmp_rel, path, sizeof(path));
    if (pl < 0)
        return rsl_sftp_path_too_long(c, err, tmp_rel);
    if (c->buf == NULL && (c->buf = malloc(INFLIGHT + READ_CHUNK)) == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    free(c->last_tmp);
    c->last_tmp = NULL;
    rsl_code rc;
    if (c->xch != NULL && total - offset <= SMALL_MAX) {
        /* small: the whole rest in one batch on the side channel */
        rc = pull(src, c->buf, (size_t)(total - offset), tmp_rel, offset, total, err);
        if (rc == RSL_OK)
            rc = rsl_sftp_side_upload(c, path, tmp_rel, offset, total, c->buf, err);
        if (rc == RSL_E_REMOTE_IO)
            rc = open_failed(c, rc, tmp_rel, err);
    } else {
        rc = upload_main(c, path, pl, tmp_rel, offset, total, src, err);
    }
    if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_dircache_missing(&c->dirs, tmp_rel);
    return rc;
}

/* Renames without posix-rename: SFTP v3 rename refuses an existing target
 * on OpenSSH, so move the old file aside, rename in, then remove the old.
 * Window: between the two renames the final name is briefly absent (never
 * half-written). */
static rsl_code rename_fallback(rsl_conn *c, const char *from, const char *to,
                                const char *final_rel, rsl_err *err)
{
    long flags =
        LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE;
    if (libssh2_sftp_rename_ex(c->sftp, from, (unsigned)strlen(from), to, (unsigned)strlen(to),
                               flags) == 0)
        return RSL_OK;
    rsl_code rc = rsl_sftp_map_ssh(c, err, "rename to", final_rel);
    if (rc != RSL_E_REMOTE_IO && rc != RSL_E_REMOTE_TYPE_CONFLICT)
        return rc;
    char aside[RSL_SFTP_PATH_BUF];
    int al = snprintf(aside, sizeof(aside), "%s.rsl-old", to);
    if (al < 0 || (size_t)al >= sizeof(aside))
        return rsl_sftp_path_too_long(c, err, final_rel);
    libssh2_sftp_unlink_ex(c->sftp, aside, (unsigned)al); /* stale from a crash */
    if (libssh2_sftp_rename_ex(c->sftp, to, (unsigned)strlen(to), aside, (unsigned)al, flags) != 0)
        return rsl_sftp_map_ssh(c, err, "move aside", final_rel);
    if (libssh2_sftp_rename_ex(c->sftp, from, (unsigned)strlen(from), to, (unsigned)strlen(to),
                               flags) != 0) {
        rc = rsl_sftp_map_ssh(c, err, "rename to", final_rel);
        if (!c->dead) /* put the old file back */
            libssh2_sftp_rename_ex(c->sftp, aside, (unsigned)al, to, (unsigned)strlen(to), flags);
        return rc;
    }
    libssh2_sftp_unlink_ex(c->sftp, aside, (unsigned)al);
    return RSL_OK;
}

static rsl_code sftp_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                            int64_t mtime, rsl_err *err)
{
    char from[RSL_SFTP_PATH_BUF], to[RSL_SFTP_PATH_BUF];
    int fl = rsl_sftp_path(c, tmp_rel, from, sizeof(from)),
        tl = rsl_sftp_path(c, final_rel, to, sizeof(to));
    if (fl < 0 || tl < 0)
        return rsl_sftp_path_too_long(c, err, final_rel);
    /* the size check: upload() fstat'ed the temp file after its last write;
     * otherwise (finish without upload on this connection) lstat it now */
    uint64_t have = 0;
    int known = c->last_tmp != NULL && strcmp(c->last_tmp, tmp_rel) == 0;
    have = c->last_size;
    free(c->last_tmp);
    c->last_tmp = NULL;
    if (!known) {
        LIBSSH2_SFTP_ATTRIBUTES a;
        if (libssh2_sftp_stat_ex(c->sftp, from, (unsigned)fl, LIBSSH2_SFTP_LSTAT, &a) != 0)
            return rsl_sftp_map_ssh(c, err, "stat", tmp_rel);
        have = (a.flags & LIBSSH2_SFTP_ATTR_SIZE) ? a.filesize : UINT64_MAX;
    }
    if (have != size)
        return rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                           "'%s' on %s: remote temp file has %llu bytes, expected %llu", tmp_rel,
                           c->host, (unsigned long long)have, (unsigned long long)size);
    rsl_code rc;
    if (c->xch != NULL) {
        /* mtime on the temp file (the final name never shows a wrong one)
         * and the atomic rename, in one round trip */
        rc = rsl_sftp_side_finish(c, from, to, mtime, tmp_rel, final_rel, err);
    } else {
        if (mtime >= 0) {
            LIBSSH2_SFTP_ATTRIBUTES m = {.flags = LIBSSH2_SFTP_ATTR_ACMODTIME,
                                         .atime = (unsigned long)mtime,
                                         .mtime = (unsigned long)mtime};
            if (libssh2_sftp_stat_ex(c->sftp, from, (unsigned)fl, LIBSSH2_SFTP_SETSTAT, &m) != 0)
                return rsl_sftp_map_ssh(c, err, "set mtime", tmp_rel);
        }
        rc = rename_fallback(c, from, to, final_rel, err);
    }
    if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_TYPE_CONFLICT) {
        rsl_rstat st;
        rsl_err e2;
        if (sftp_stat(c, final_rel, &st, &e2) == RSL_OK && st.exists && st.is_dir)
            return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, err->native,
                               "rename '%s' -> '%s' on %s: a directory of that name exists",
                               tmp_rel, final_rel, c->host);
        err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
    }
    return rc;
}

static rsl_code sftp_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    char path[RSL_SFTP_PATH_BUF];
    int pl = rsl_sftp_path(c, rel, path, sizeof(path));
    if (pl < 0)
        return rsl_sftp_path_too_long(c, err, rel);
    int r = is_dir ? libssh2_sftp_rmdir_ex(c->sftp, path, (unsigned)pl)
                   : libssh2_sftp_unlink_ex(c->sftp, path, (unsigned)pl);
    if (is_dir)
        rsl_dircache_forget(&c->dirs, rel); /* and everything under it */
    if (r == 0)
        return RSL_OK;
    rsl_code rc = rsl_sftp_map_ssh(c, err, "delete", rel);
    if (rc == RSL_E_REMOTE_NOT_FOUND) {
        rsl_err_clear(err);
        return RSL_OK;
    }
    if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_TYPE_CONFLICT)
        err->code = rc = RSL_E_REMOTE_DELETE_FAILED;
    return rc;
}

static rsl_code sftp_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    char path[RSL_SFTP_PATH_BUF];
    int pl = rsl_sftp_path(c, rel, path, sizeof(path));
    if (pl < 0)
        return rsl_sftp_path_too_long(c, err, rel);
    LIBSSH2_SFTP_HANDLE *h =
        libssh2_sftp_open_ex(c->sftp, path, (unsigned)pl, 0, 0, LIBSSH2_SFTP_OPENDIR);
    if (h == NULL)
        return rsl_sftp_map_ssh(c, err, "list", rel);
    rsl_code rc = RSL_OK;
    char name[4096];
    for (;;) {
        LIBSSH2_SFTP_ATTRIBUTES a;
        int n = libssh2_sftp_readdir_ex(h, name, sizeof(name), NULL, 0, &a);
        if (n == 0)
            break;
        if (n < 0) {
            rc = rsl_sftp_map_ssh(c, err, "list", rel);
            break;
        }
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        rsl_rstat st;
        attrs_to_rstat(&a, &st);
        if (cb(ud, name, &st) != 0)
            break;
    }
    if (c->dead)
        shutdown(c->sock, SHUT_RDWR); /* fail fast; closedir still frees h */
    libssh2_sftp_closedir(h);
    return rc;
}

const rsl_transport_ops rsl_transport_sftp = {
    .version = RSL_TRANSPORT_VERSION,
    .name = "sftp",
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME,
    .keys = sftp_keys,
    .n_keys = sizeof(sftp_keys) / sizeof(sftp_keys[0]),
    .cfg_size = sizeof(rsl_sftp_cfg),
    .cfg_init = cfg_init,
    .unverified = sftp_unverified,
    .connect = sftp_connect,
    .disconnect = sftp_disconnect,
    .caps_of = sftp_caps_of,
    .describe = sftp_describe,
    .stat = sftp_stat,
    .mkdir = sftp_mkdir,
    .resume_offset = sftp_resume_offset,
    .upload = sftp_upload,
    .finish = sftp_finish,
    .remove = sftp_remove,
    .list = sftp_list,
};
