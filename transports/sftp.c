/*
 * sftp.c - the sftp:// transport over our SFTP client. See sftp.h.
 *
 * One rsl_conn = one SFTP session over one carrier: a channel of a libssh2
 * session that we connected (TCP), verified (host key) and authenticated
 * ourselves under one deadline (sftp_auth.c), or OpenSSH's ssh as a child
 * (ssh_command), which does all of that itself. Everything after that is
 * our client: the simple operations here (sftp_sync.h), the data calls in
 * sftp_io.c (writing) and sftp_get.c (reading), the pipelined run in
 * sftp_put.c. No libssh2 SFTP call is made.
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
#include "sftp_carrier.h"
#include "sftp_conn.h"
#include "sftp_get.h"
#include "sftp_io.h"
#include "sftp_put.h"
#include "sftp_sync.h"
#include "xfer.h"

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
    {.name = "ssh_command", .type = RSL_KEY_STR, .off = offsetof(rsl_sftp_cfg, ssh_command)},
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

static int set(const char *v)
{
    return v != NULL && v[0] != '\0';
}

/* ssh_command with what ssh in batch mode cannot use: password_file,
 * passphrase_file, host_key_fingerprint. *key names the key to change. */
static rsl_code sftp_cfg_check(const void *cfgp, const rsl_remote_opts *opts, const char **key,
                               rsl_err *err)
{
    const rsl_sftp_cfg *cfg = cfgp;
    if (cfg == NULL || cfg->ssh_command == NULL)
        return RSL_OK;
    const char *pw = opts ? opts->password_file : NULL;
    *key = set(pw)                          ? "password_file"
           : set(cfg->passphrase_file)      ? "passphrase_file"
           : set(cfg->host_key_fingerprint) ? "host_key_fingerprint"
                                            : "ssh_command";
    return rsl_sftp_exec_check_opts(cfg->ssh_command, pw, cfg->passphrase_file,
                                    cfg->host_key_fingerprint, err);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void do_init(void)
{
    init_rc = libssh2_init(0);
}

/* ------------------------------------------------------------------ */
/* the connection's life */

static void conn_free(rsl_conn *c)
{
    if (c == NULL)
        return;
    if (c->cl != NULL && rsl_sftp_client_dead(c->cl))
        c->dead = 1;
    if (c->cl != NULL && c->ss != NULL && !c->dead && rsl_sftp_client_outstanding(c->cl) == 0) {
        /* a healthy libssh2 session with nothing in flight: the goodbye is
         * one DISCONNECT, sent without waiting for the server to close the
         * channel (a round trip at the end of every run); then the socket
         * is shut so that nothing below waits on it */
        libssh2_session_set_blocking(c->ss, 1);
        libssh2_session_disconnect(c->ss, "rsyncd-lite done");
        shutdown(c->sock, SHUT_RDWR);
        c->dead = 1;
    }
    if (c->cl != NULL)
        rsl_sftp_client_close(c->cl); /* before the session: the carrier uses it */
    if (c->dead && c->sock >= 0)
        shutdown(c->sock, SHUT_RDWR); /* every libssh2 call below fails fast */
    if (c->ss != NULL) {
        if (!c->dead) {
            libssh2_session_set_blocking(c->ss, 1); /* bounded by the session's timeout */
            libssh2_session_disconnect(c->ss, "rsyncd-lite done");
        }
        libssh2_session_free(c->ss);
    }
    if (c->sock >= 0)
        close(c->sock);
    rsl_dircache_clear(&c->dirs);
    for (size_t i = 0; i < c->n_early; i++)
        free(c->early[i].path);
    free(c->early);
    free(c->last_tmp);
    free(c->root);
    free(c->host);
    free(c->user);
    free(c);
}

/* The user: the username key, else the URL's; NULL when neither (the
 * libssh2 carrier then uses the local login name, as ssh does; ssh finds
 * its own). */
static const char *user_of(const rsl_endpoint *ep, const rsl_remote_opts *opts)
{
    if (opts->username != NULL && opts->username[0] != '\0')
        return opts->username;
    return ep->user != NULL && ep->user[0] != '\0' ? ep->user : NULL;
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
    c->exec = c->cfg->ssh_command != NULL;
    c->port = rsl_endpoint_port(ep, opts);
    c->tsec = opts->timeout_sec > 0 ? opts->timeout_sec : 60;
    c->deadline = rsl_sftp_now() + c->tsec;
    const char *user = user_of(ep, opts);
    int want_user = user != NULL || !c->exec; /* ssh finds its own */
    char pwbuf[4096];
    struct passwd pwd, *pw = NULL;
    if (user == NULL && !c->exec) /* as ssh: the local login name */
        getpwuid_r(getuid(), &pwd, pwbuf, sizeof(pwbuf), &pw);
    if (want_user)
        c->user = strdup(user ? user : pw ? pw->pw_name : "root");
    c->host = strdup(ep->host ? ep->host : "");
    c->root = strdup(ep->path && ep->path[0] ? ep->path : "/");
    if ((want_user && c->user == NULL) || c->host == NULL || c->root == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    snprintf(c->hostport, sizeof(c->hostport), "%s:%d", c->host, c->port);
    if (c->host[0] == '\0')
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "sftp destination has no host");
    return RSL_OK;
}

static void client_cfg(rsl_conn *c, rsl_sftp_client_cfg *cc, int timeout)
{
    *cc = (rsl_sftp_client_cfg){.root = c->root,
                                .host = c->hostport,
                                .timeout_sec = timeout,
                                .log = c->opts->log,
                                .defer_limits = 1,
                                .defer_version = 1,
                                .ud = c->opts->ud};
}

/* ---- the libssh2 carrier ---- */

/* The SSH session over c->sock, non-blocking: algorithms (host key types
 * known_hosts holds first), the handshake, under the deadline. */
static rsl_code handshake(rsl_conn *c, const char *khfile, rsl_err *err)
{
    c->ss = libssh2_session_init_ex(NULL, NULL, NULL, c);
    if (c->ss == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "libssh2_session_init failed");
    libssh2_session_set_blocking(c->ss, 0);
    libssh2_session_set_timeout(c->ss, (long)c->tsec * 1000); /* the blocking goodbye */
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
    int r;
    while ((r = libssh2_session_handshake(c->ss, c->sock)) == LIBSSH2_ERROR_EAGAIN)
        if (rsl_sftp_wait(c) != 0)
            return rsl_sftp_timed_out(c, err, "SSH handshake with");
    if (r == 0)
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

/* Seconds left before the deadline, at least 1. */
static int left_s(const rsl_conn *c)
{
    int ms = rsl_sftp_left_ms(c);
    return ms > 1000 ? (ms + 999) / 1000 : 1;
}

static rsl_code open_ssh2(rsl_conn *c, rsl_err *err)
{
    char *khfile = rsl_sftp_known_hosts(c->cfg);
    if (khfile == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    rsl_code rc = rsl_sftp_tcp_connect(c, err);
    if (rc == RSL_OK)
        rc = handshake(c, khfile, err);
    if (rc == RSL_OK)
        rc = rsl_sftp_verify_hostkey(c, khfile, err);
    free(khfile);
    if (rc == RSL_OK)
        rc = rsl_sftp_authenticate(c, err);
    if (rc != RSL_OK)
        return rc;
    int ka = c->tsec / 4 > KEEPALIVE_MIN ? c->tsec / 4 : KEEPALIVE_MIN;
    libssh2_keepalive_config(c->ss, 1, (unsigned)ka);
    rsl_sftp_carrier *car = NULL;
    if (rsl_sftp_left_ms(c) <= 0)
        return rsl_sftp_timed_out(c, err, "SFTP channel to");
    if ((rc = rsl_sftp_carrier_ssh2(&car, c->ss, c->sock, left_s(c), err)) != RSL_OK) {
        if (rc == RSL_E_TIMEOUT || rc == RSL_E_CONNECTION_LOST)
            c->dead = 1;
        return rc;
    }
    rsl_sftp_client_cfg cc;
    client_cfg(c, &cc, left_s(c));
    if ((rc = rsl_sftp_client_open(&c->cl, car, &cc, err)) != RSL_OK)
        c->dead = 1; /* the carrier was closed with abort: the session can only be freed */
    return rc;
}

/* ---- the exec carrier ---- */

static rsl_code open_exec(rsl_conn *c, const rsl_endpoint *ep, rsl_err *err)
{
    const rsl_sftp_cfg *cfg = c->cfg;
    const char *key = NULL;
    rsl_code rc = sftp_cfg_check(cfg, c->opts, &key, err);
    if (rc != RSL_OK)
        return rc;
    if (set(c->opts->password_env))
        rsl_sftp_log(c, RSL_LOG_WARN,
                     "sftp: RSYNCD_LITE_PASSWORD is set but password auth is not possible with "
                     "ssh_command: it is not used");
    char *kh = cfg->known_hosts ? rsl_sftp_known_hosts(cfg) : NULL;
    rsl_sftp_exec_cfg x = {.ssh_command = cfg->ssh_command,
                           .host = c->host,
                           .port = ep->port, /* 0: ssh's own (~/.ssh/config, else 22) */
                           .user = c->user,
                           .identity_file = cfg->identity_file,
                           .known_hosts = kh,
                           .strict = c->strict,
                           .no_agent = !cfg->use_agent,
                           .timeout_sec = c->tsec,
                           .log = c->opts->log,
                           .ud = c->opts->ud};
    rsl_sftp_carrier *car = NULL;
    rc = rsl_sftp_carrier_exec(&car, &x, err);
    free(kh);
    if (rc != RSL_OK)
        return rc;
    snprintf(c->auth, sizeof(c->auth), "by ssh (ssh_command)");
    snprintf(c->trust, sizeof(c->trust), "%s",
             c->strict ? "checked by ssh against known_hosts"
                       : "NOT VERIFIED (strict_host_key_checking = no)");
    rsl_sftp_client_cfg cc;
    client_cfg(c, &cc, c->tsec);
    return rsl_sftp_client_open(&c->cl, car, &cc, err);
}

/* ---- after the carrier: the root, refused extensions, facts ---- */

typedef struct first_look {
    int left;
    rsl_err root_err;
    rsl_sftp_attrs root;
    uint32_t rename_status;
} first_look;

static void on_root(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    first_look *f = ud;
    f->left--;
    if (rsl_sftp_client_expect(s, r, RSL_FXP_ATTRS, "destination directory", "", &f->root_err) ==
        RSL_OK)
        f->root = r->attrs;
}

static void on_rename_probe(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    (void)s;
    first_look *f = ud;
    f->left--;
    f->rename_status = r->type == RSL_FXP_STATUS ? r->status : RSL_FX_OK;
}

/* ---- the caller's early stats (opts->early_stat), with the first look ---- */

static void on_early(rsl_sftp_client *s, void *ud, const rsl_sftp_reply *r)
{
    rsl_sftp_early *e = ud;
    (*e->left)--;
    e->answered = 1;
    memset(&e->st, 0, sizeof(e->st));
    e->st.mtime = -1;
    rsl_code rc = rsl_sftp_client_expect(s, r, RSL_FXP_ATTRS, "stat", e->path, &e->err);
    if (rc == RSL_OK)
        rsl_sftp_client_attrs_to_rstat(&r->attrs, &e->st);
    else if (rc == RSL_E_REMOTE_NOT_FOUND)
        rsl_err_clear(&e->err); /* absent: exists = 0, as a STAT op says it */
}

/* Sends an LSTAT per early path (the root's answer is the first look's own
 * STAT, filled in by early_root); *left counts them. Out of memory or a path
 * too long: that path is simply not early. */
static void early_send(rsl_conn *c, int *left)
{
    const rsl_remote_opts *o = c->opts;
    const char *const *paths = NULL;
    size_t n = o->early_stat != NULL ? o->early_stat(o->ud, &paths) : 0;
    if (n > RSL_SFTP_EARLY_MAX)
        n = RSL_SFTP_EARLY_MAX;
    if (n == 0 || paths == NULL || (c->early = calloc(n, sizeof(*c->early))) == NULL)
        return;
    char wire[RSL_SFTP_PATH_BUF];
    for (size_t i = 0; i < n; i++) {
        const char *rel = paths[i];
        rsl_sftp_early *e = &c->early[c->n_early];
        if (rel == NULL || (e->path = strdup(rel)) == NULL)
            continue;
        c->n_early++;
        if (rel[0] == '\0')
            continue;
        if (rsl_sftp_client_path(c->cl, rel, wire, sizeof(wire)) < 0) {
            e->used = 1; /* never answered: the STAT op goes the normal way */
            continue;
        }
        e->left = left;
        rsl_sftp_wire_lstat(rsl_sftp_client_out(c->cl), rsl_sftp_client_request(c->cl, on_early, e),
                            wire);
        (*left)++;
    }
}

/* The root's early answer is the first look's STAT (it follows a link, as
 * the STAT op of "" does). */
static void early_root(rsl_conn *c, const rsl_sftp_attrs *root)
{
    for (size_t i = 0; i < c->n_early; i++)
        if (c->early[i].path[0] == '\0') {
            rsl_sftp_early *e = &c->early[i];
            rsl_err_clear(&e->err);
            rsl_sftp_client_attrs_to_rstat(root, &e->st);
            e->answered = 1;
        }
}

/* A STAT op whose path was stat'ed early takes that answer (once). */
static int early_take(rsl_conn *c, rsl_op *op)
{
    if (op->kind != RSL_OP_STAT)
        return 0;
    for (size_t i = 0; i < c->n_early; i++) {
        rsl_sftp_early *e = &c->early[i];
        if (e->answered && !e->used && strcmp(e->path, op->path) == 0) {
            e->used = 1;
            op->st = e->st;
            op->err = e->err;
            return 1;
        }
    }
    return 0;
}

/* Whether to probe posix-rename: not when the server does not list it, nor
 * when the cache remembers its answer (dropped at once if that was "no"). */
static int rename_probe_needed(rsl_conn *c)
{
    if (!(rsl_sftp_client_exts(c->cl) & RSL_SFTP_EXT_POSIX_RENAME))
        return 0;
    int known = rsl_sftp_rename_fact(c);
    if (known == 0)
        rsl_sftp_client_drop_exts(c->cl, RSL_SFTP_EXT_POSIX_RENAME);
    return known < 0;
}

/* No round trip of its own: STAT of the root and the early STATs leave
 * with INIT (defer_version). Then, once VERSION is read, when posix-rename
 * is offered and its answer not remembered (one more round trip, the first
 * time only), a posix-rename of a name that does not exist
 * (NO_SUCH_FILE where it works; a server that lists it but refuses it, as
 * older OpenSSH sftp-servers started with -P posix-rename did, answers
 * PERMISSION_DENIED: then it is not used). */
static rsl_code first_look_at(rsl_conn *c, first_look *f, rsl_err *err)
{
    rsl_sftp_client *s = c->cl;
    char root[RSL_SFTP_PATH_BUF], a[RSL_SFTP_PATH_BUF + 64], b[RSL_SFTP_PATH_BUF + 80];
    rsl_sftp_client_path(s, "", root, sizeof(root));
    rsl_sftp_wire_stat(rsl_sftp_client_out(s), rsl_sftp_client_request(s, on_root, f), root);
    f->left = 1;
    early_send(c, &f->left);
    /* these went with INIT (defer_version): what follows needs VERSION */
    rsl_code vrc = rsl_sftp_client_wait_version(s, err);
    if (vrc != RSL_OK)
        return vrc;
    int probe = rename_probe_needed(c);
    if (probe) {
        snprintf(a, sizeof(a), "%s/.rsl-no-such-file-%ld", strcmp(root, "/") ? root : "",
                 (long)getpid());
        snprintf(b, sizeof(b), "%s.x", a);
        rsl_sftp_wire_posix_rename(rsl_sftp_client_out(s),
                                   rsl_sftp_client_request(s, on_rename_probe, f), a, b);
        f->left++;
    }
    while (f->left > 0) {
        rsl_code rc = rsl_sftp_client_pump(s, 1, err);
        if (rc != RSL_OK)
            return rc;
    }
    if (probe && f->rename_status == RSL_FX_NO_SUCH_FILE)
        rsl_sftp_rename_fact_set(c, "yes");
    if (f->rename_status == RSL_FX_PERMISSION_DENIED || f->rename_status == RSL_FX_OP_UNSUPPORTED) {
        rsl_sftp_rename_fact_set(c, "no");
        rsl_sftp_client_drop_exts(s, RSL_SFTP_EXT_POSIX_RENAME);
        rsl_sftp_log(c, RSL_LOG_INFO,
                     "sftp: %s lists posix-rename@openssh.com but refuses it (%s): files are "
                     "replaced without it",
                     c->hostport, rsl_sftp_wire_status_name(f->rename_status));
    }
    return RSL_OK;
}

/* The remote root must exist and be a directory. */
static rsl_code check_root(rsl_conn *c, const first_look *f, rsl_err *err)
{
    rsl_code rc = f->root_err.code;
    if (rc == RSL_E_REMOTE_NOT_FOUND || rc == RSL_E_REMOTE_PERMISSION)
        return rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, f->root_err.native,
                           "destination directory '%s' on %s: %s", c->root, c->host,
                           rc == RSL_E_REMOTE_NOT_FOUND ? "does not exist" : "permission denied");
    if (rc != RSL_OK) {
        *err = f->root_err;
        return rc;
    }
    if (!rsl_sftp_client_attrs_is_dir(&f->root))
        return rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, 0,
                           "destination '%s' on %s is not a directory", c->root, c->host);
    return RSL_OK;
}

static rsl_code after_open(rsl_conn *c, rsl_err *err)
{
    first_look f = {.left = 0};
    rsl_code rc = first_look_at(c, &f, err);
    if (rc == RSL_OK) /* the limits answer came with the first look's */
        rc = rsl_sftp_client_settle(c->cl, err);
    if (rc == RSL_OK)
        rc = check_root(c, &f, err);
    if (rc != RSL_OK)
        return rsl_sftp_after(c, rc);
    early_root(c, &f.root);
    rsl_sftp_client_set_timeout(c->cl, c->tsec);
    if (!rsl_sftp_facts_load(c) && !c->opts->readonly && c->opts->cache_get == NULL)
        rsl_sftp_io_probe_seek(c); /* nothing remembers an answer: ask now (check) */
    if (rsl_sftp_client_dead(c->cl))
        return rsl_sftp_after(c, rsl_sftp_client_error(c->cl, err));
    return RSL_OK;
}

rsl_code rsl_sftp_conn_adopt(rsl_conn **out, rsl_sftp_client *cl, const rsl_endpoint *ep,
                             const rsl_remote_opts *opts, rsl_err *err)
{
    static const rsl_remote_opts no_opts;
    rsl_conn *c = NULL;
    *out = NULL;
    rsl_code rc = conn_new(&c, ep, opts ? opts : &no_opts, err);
    if (c != NULL)
        c->cl = cl;
    else
        rsl_sftp_client_close(cl);
    if (rc == RSL_OK)
        rc = after_open(c, err);
    if (rc != RSL_OK) {
        conn_free(c);
        return rc;
    }
    *out = c;
    return RSL_OK;
}

static rsl_code sftp_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                             rsl_err *err)
{
    static const rsl_remote_opts no_opts;
    rsl_conn *c = NULL;
    *out = NULL;
    if (opts == NULL)
        opts = &no_opts;
    pthread_once(&init_once, do_init);
    if (init_rc != 0)
        return rsl_err_set(err, RSL_E_INTERNAL, init_rc, "libssh2_init failed");
    rsl_code rc = conn_new(&c, ep, opts, err);
    if (rc == RSL_OK)
        rc = c->exec ? open_exec(c, ep, err) : open_ssh2(c, err);
    if (rc == RSL_OK)
        rc = after_open(c, err);
    if (rc != RSL_OK) {
        if (c != NULL && (rc == RSL_E_TIMEOUT || rc == RSL_E_CONNECTION_LOST))
            c->dead = 1;
        conn_free(c);
        return rc;
    }
    *out = c;
    return RSL_OK;
}

static void sftp_disconnect(rsl_conn *c)
{
    conn_free(c);
}

static unsigned sftp_caps_of(rsl_conn *c)
{
    unsigned caps = rsl_sftp_put_caps(c->cl) | RSL_CAP_SET_MODE | RSL_CAP_MOVE | RSL_CAP_SYMLINK |
                    RSL_CAP_DIR_MTIME | RSL_CAP_APPEND;
    /* writing at an offset is what a kept prefix, a range and an append need */
    if (c->no_seek)
        caps &= ~(unsigned)(RSL_CAP_RESUME | RSL_CAP_APPEND | RSL_CAP_WRITE_AT);
    if (rsl_sftp_get_can_hash(c))
        caps |= RSL_CAP_CHECKSUM;
    return caps;
}

/* A sample under RTT_LAN_US is a LAN's or loopback's, one over RTT_WAN_US
 * a WAN's: no need to look further. Between them, up to RTT_SAMPLES are
 * taken (one busy moment of a loaded machine must not make a loopback look
 * like a WAN). */
#define RTT_LAN_US 2000
#define RTT_WAN_US 20000
#define RTT_SAMPLES 5

/* The round trip, timed on this connection's requests: the timed reply on
 * its way, then STATs of the root one after another (each one round trip)
 * until the least sample says LAN or WAN or RTT_SAMPLES were taken. */
static long sftp_link_rtt_us(rsl_conn *c)
{
    rsl_err e;
    unsigned n = 0;
    long us = rsl_sftp_client_rtt_us(c->cl, &n);
    if (c->dead || rsl_sftp_client_dead(c->cl))
        return us;
    rsl_code rc = rsl_sftp_client_wait_rtt(c->cl, &e);
    for (int i = 0; rc == RSL_OK && i < RTT_SAMPLES; i++) {
        us = rsl_sftp_client_rtt_us(c->cl, &n);
        if (us >= 0 && (us < RTT_LAN_US || us > RTT_WAN_US || n >= RTT_SAMPLES))
            break;
        rsl_sftp_attrs a;
        int exists;
        rc = rsl_sftp_sync_stat(c->cl, "", 0, &a, &exists, &e);
    }
    rsl_sftp_after(c, rc);
    return rsl_sftp_client_rtt_us(c->cl, NULL);
}

static void sftp_describe(rsl_conn *c, char *buf, size_t n)
{
    char hash[120], cl[400], key[300];
    rsl_sftp_get_hash_describe(c, hash, sizeof(hash));
    if (c->keytype[0] != '\0')
        snprintf(key, sizeof(key), "%s %s %s", c->keytype, c->hostfp, c->trust);
    else
        snprintf(key, sizeof(key), "%s", c->trust);
    rsl_sftp_client_describe(c->cl, cl, sizeof(cl));
    int posix = (rsl_sftp_client_exts(c->cl) & RSL_SFTP_EXT_POSIX_RENAME) != 0;
    snprintf(buf, n,
             "sftp: %s@%s%s; auth %s; host key %s; %s; resume %s; permission bits set; "
             "server-side hash: %s; %s",
             c->user ? c->user : "(ssh's)", c->hostport, c->root, c->auth, key,
             posix ? "atomic replace via posix-rename@openssh.com"
                   : "NO atomic replace (server lacks posix-rename@openssh.com): the old file is "
                     "moved aside, then the new one renamed in",
             c->no_seek ? c->seek_note : "continues at the temp file's verified size", hash, cl);
}

/* ------------------------------------------------------------------ */
/* the simple operations */

static rsl_code sftp_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    rsl_sftp_attrs a;
    int exists = 0;
    /* the root is what the URL names: a link to a directory is fine there */
    rsl_code rc = rsl_sftp_sync_stat(c->cl, rel, rel[0] != '\0', &a, &exists, err);
    if (rc == RSL_OK && exists)
        rsl_sftp_client_attrs_to_rstat(&a, st);
    return rsl_sftp_after(c, rc);
}

static rsl_code sftp_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    if (rel[0] == '\0' || rsl_dircache_has(&c->dirs, rel))
        return RSL_OK;
    rsl_code rc = rsl_sftp_sync_mkdir(c->cl, rel, 0755, err);
    if (rc == RSL_OK) {
        rsl_dircache_add(&c->dirs, rel);
        return RSL_OK;
    }
    if (rc == RSL_E_REMOTE_NOT_FOUND) /* the parent is gone */
        rsl_dircache_missing(&c->dirs, rel);
    if (rc != RSL_E_REMOTE_IO && rc != RSL_E_REMOTE_TYPE_CONFLICT && rc != RSL_E_REMOTE_PERMISSION)
        return rsl_sftp_after(c, rc);
    /* FAILURE is how OpenSSH says EEXIST (and EACCES may hide an existing dir) */
    rsl_err e2 = {0};
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
                           "mkdir '%s' on %s: a file of that name exists", rel, c->hostport);
    return rc;
}

static rsl_code sftp_set_mode(rsl_conn *c, const char *rel, uint32_t mode, rsl_err *err)
{
    rsl_sftp_attrs a = {.flags = RSL_SFTP_ATTR_PERMISSIONS, .perm = mode & 07777};
    return rsl_sftp_after(c, rsl_sftp_sync_setstat(c->cl, rel, &a, err));
}

static rsl_code sftp_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    rsl_code rc =
        is_dir ? rsl_sftp_sync_rmdir(c->cl, rel, err) : rsl_sftp_sync_remove(c->cl, rel, err);
    if (is_dir)
        rsl_dircache_forget(&c->dirs, rel); /* and everything under it */
    if (rc == RSL_E_REMOTE_NOT_FOUND) {
        rsl_err_clear(err);
        return RSL_OK;
    }
    if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_TYPE_CONFLICT)
        err->code = rc = RSL_E_REMOTE_DELETE_FAILED;
    return rsl_sftp_after(c, rc);
}

typedef struct list_ud {
    rsl_list_cb cb;
    void *ud;
} list_ud;

static int list_entry(void *ud, const char *name, const rsl_sftp_attrs *a)
{
    list_ud *l = ud;
    rsl_rstat st;
    rsl_sftp_client_attrs_to_rstat(a, &st);
    return l->cb(l->ud, name, &st);
}

static rsl_code sftp_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    list_ud l = {.cb = cb, .ud = ud};
    return rsl_sftp_after(c, rsl_sftp_sync_readdir(c->cl, rel, list_entry, &l, err));
}

/* ------------------------------------------------------------------ */
/* the pipelined run: sftp_put.c, with this connection's directory cache
 * and facts around it */

typedef struct run_feed {
    rsl_conn *c;
    const rsl_feed *in;
} run_feed;

/* A MKDIR of a directory this connection made or found, and a STAT
 * answered early, complete at once. */
static rsl_op *rf_next(void *ud, int wait)
{
    run_feed *f = ud;
    for (;;) {
        rsl_op *op = f->in->next(f->in->ud, wait);
        if (op == NULL)
            return NULL;
        if (op->kind == RSL_OP_MKDIR && rsl_dircache_has(&f->c->dirs, op->path))
            rsl_err_clear(&op->err);
        else if (!early_take(f->c, op))
            return op;
        f->in->done(f->in->ud, op);
    }
}

static void rf_done(void *ud, rsl_op *op)
{
    run_feed *f = ud;
    rsl_dircache *d = &f->c->dirs;
    if (op->err.code == RSL_OK && op->kind == RSL_OP_MKDIR)
        rsl_dircache_add(d, op->path);
    else if (op->kind == RSL_OP_REMOVE && op->is_dir)
        rsl_dircache_forget(d, op->path);
    else if (op->err.code == RSL_OK && op->kind == RSL_OP_MOVE && op->is_dir) {
        rsl_dircache_forget(d, op->from); /* what it knew of both places */
        rsl_dircache_forget(d, op->path);
    } else if (op->err.code == RSL_E_REMOTE_NOT_FOUND && op->kind != RSL_OP_STAT)
        rsl_dircache_missing(d, op->path);
    f->in->done(f->in->ud, op); /* the engine's from here on */
}

static int rf_cancelled(void *ud)
{
    run_feed *f = ud;
    return f->in->cancelled != NULL && f->in->cancelled(f->in->ud);
}

static void rf_no_seek(void *ud, const char *why)
{
    rsl_sftp_learn_no_seek(ud, why);
}

/* A posix-rename refused: the cache's "it works" may be stale. */
static void rf_rename_refused(void *ud, uint32_t fx)
{
    rsl_conn *c = ud;
    rsl_sftp_rename_fact_set(c, NULL);
    if (fx == RSL_FX_OP_UNSUPPORTED)
        rsl_sftp_log(c, RSL_LOG_INFO,
                     "sftp: %s refused posix-rename@openssh.com (OP_UNSUPPORTED): files are "
                     "replaced without it from now on",
                     c->hostport);
}

static rsl_code sftp_run(rsl_conn *c, const rsl_feed *feed, rsl_err *err)
{
    run_feed f = {.c = c, .in = feed};
    rsl_feed wrapped = {.next = rf_next, .done = rf_done, .cancelled = rf_cancelled, .ud = &f};
    rsl_sftp_put_opts o = {.no_seek = c->no_seek,
                           .no_seek_learnt = rf_no_seek,
                           .rename_refused = rf_rename_refused,
                           .ud = c};
    return rsl_sftp_after(c, rsl_sftp_put_run(c->cl, &o, &wrapped, err));
}

/* ------------------------------------------------------------------ */
/* the classic send-less calls: one op through the pipelined run */

typedef struct one_feed {
    rsl_op *op;
    int taken, done;
} one_feed;

static rsl_op *one_next(void *ud, int wait)
{
    (void)wait;
    one_feed *f = ud;
    if (f->taken)
        return NULL;
    f->taken = 1;
    return f->op;
}

static void one_done(void *ud, rsl_op *op)
{
    (void)op;
    ((one_feed *)ud)->done = 1;
}

static rsl_code run_one(rsl_conn *c, rsl_op *op, rsl_err *err)
{
    one_feed f = {.op = op};
    rsl_feed feed = {.next = one_next, .done = one_done, .ud = &f};
    rsl_err e = {0};
    rsl_code rc = sftp_run(c, &feed, &e);
    if (rc != RSL_OK) {
        *err = e;
        return rc;
    }
    if (op->err.code != RSL_OK)
        *err = op->err;
    return op->err.code;
}

static rsl_code sftp_move(rsl_conn *c, const char *from, const char *to, int is_dir, int overwrite,
                          rsl_err *err)
{
    rsl_op op = {
        .kind = RSL_OP_MOVE, .path = to, .from = from, .is_dir = is_dir, .overwrite = overwrite};
    return run_one(c, &op, err);
}

static rsl_code sftp_symlink(rsl_conn *c, const char *rel, const char *target, rsl_err *err)
{
    rsl_op op = {.kind = RSL_OP_SYMLINK, .path = rel, .target = target};
    return run_one(c, &op, err);
}

static rsl_code sftp_set_mtime(rsl_conn *c, const char *rel, int64_t mtime, rsl_err *err)
{
    rsl_op op = {.kind = RSL_OP_SETTIME, .path = rel, .is_dir = 1, .mtime = mtime};
    return run_one(c, &op, err);
}

/* The caller started src at old_size already (transport.h): not again. */
static rsl_code sftp_append(rsl_conn *c, const char *rel, uint64_t old_size, uint64_t total,
                            int64_t mtime, rsl_source *src, rsl_err *err)
{
    rsl_source once = *src;
    once.start = NULL;
    once.verify = NULL;
    rsl_op op = {.kind = RSL_OP_APPEND,
                 .path = rel,
                 .old_size = old_size,
                 .size = total,
                 .mtime = mtime,
                 .src = &once};
    return run_one(c, &op, err);
}

/* ------------------------------------------------------------------ */

const rsl_transport_ops rsl_transport_sftp = {
    .version = RSL_TRANSPORT_VERSION,
    .name = "sftp",
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME | RSL_CAP_SET_MODE |
            RSL_CAP_CHECKSUM | RSL_CAP_MOVE | RSL_CAP_SYMLINK | RSL_CAP_DIR_MTIME | RSL_CAP_APPEND |
            RSL_CAP_WRITE_AT,
    .keys = sftp_keys,
    .n_keys = sizeof(sftp_keys) / sizeof(sftp_keys[0]),
    .cfg_size = sizeof(rsl_sftp_cfg),
    .cfg_init = cfg_init,
    .cfg_check = sftp_cfg_check,
    .unverified = sftp_unverified,
    .connect = sftp_connect,
    .disconnect = sftp_disconnect,
    .caps_of = sftp_caps_of,
    .link_rtt_us = sftp_link_rtt_us,
    .describe = sftp_describe,
    .stat = sftp_stat,
    .mkdir = sftp_mkdir,
    .resume_offset = rsl_sftp_get_resume_offset,
    .upload = rsl_sftp_io_upload,
    .finish = rsl_sftp_io_finish,
    .remove = sftp_remove,
    .list = sftp_list,
    .run = sftp_run,
    .set_mode = sftp_set_mode,
    .read = rsl_sftp_get_read,
    .hash = rsl_sftp_get_hash,
    .move = sftp_move,
    .symlink = sftp_symlink,
    .set_mtime = sftp_set_mtime,
    .append = sftp_append,
};
