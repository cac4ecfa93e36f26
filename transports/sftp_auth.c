/*
 * sftp_auth.c - host-key trust and authentication. See sftp_auth.h.
 */
#define _GNU_SOURCE
#include "sftp_auth.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knownhosts.h"
#include "secret.h"

/* ------------------------------------------------------------------ */
/* host key trust */

static char *default_known_hosts(void)
{
    const char *home = getenv("HOME");
    char pwbuf[4096];
    struct passwd pwd, *pw = NULL;
    if (home == NULL || home[0] == '\0') {
        getpwuid_r(getuid(), &pwd, pwbuf, sizeof(pwbuf), &pw);
        home = pw ? pw->pw_dir : "/";
    }
    char *p = NULL;
    if (asprintf(&p, "%s/.ssh/known_hosts", home) < 0)
        return NULL;
    return p;
}

char *rsl_sftp_known_hosts(const rsl_sftp_cfg *cfg)
{
    const char *kh = cfg->known_hosts;
    if (kh == NULL || kh[0] == '\0')
        return default_known_hosts();
    if (strncmp(kh, "~/", 2) == 0) {
        const char *home = getenv("HOME");
        char *p = NULL;
        if (asprintf(&p, "%s/%s", home ? home : "", kh + 2) < 0)
            return NULL;
        return p;
    }
    return strdup(kh);
}

/* 1 if the comma-separated list holds m. */
static int in_list(const char *list, const char *m)
{
    size_t l = strlen(m);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t pl = e ? (size_t)(e - p) : strlen(p);
        if (pl == l && strncmp(p, m, l) == 0)
            return 1;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return 0;
}

void rsl_sftp_hostkey_prefs(const char *known, char *buf, size_t n)
{
    static const char *const all[] = {"ssh-ed25519",
                                      "ecdsa-sha2-nistp256",
                                      "ecdsa-sha2-nistp384",
                                      "ecdsa-sha2-nistp521",
                                      "ssh-rsa",
                                      "ssh-dss"};
    size_t used = 0;
    buf[0] = '\0';
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
            if (in_list(known, all[i]) != (pass == 0))
                continue;
            int w = snprintf(buf + used, n - used, "%s%s", used ? "," : "", all[i]);
            if (w > 0 && (size_t)w < n - used)
                used += (size_t)w;
        }
    }
}

/* The pinned fingerprint decides (trailing '=' padding ignored). */
static rsl_code check_pin(rsl_conn *c, const char *pin, const char *hostport, char *why,
                          size_t whysz)
{
    size_t pl = strlen(pin);
    while (pl > 0 && pin[pl - 1] == '=')
        pl--;
    if (strlen(c->hostfp) == pl && strncmp(pin, c->hostfp, pl) == 0) {
        snprintf(c->trust, sizeof(c->trust), "verified by the pinned host_key_fingerprint");
        return RSL_OK;
    }
    snprintf(why, whysz, "host key of %s is %s %s, not the pinned host_key_fingerprint %s",
             hostport, c->keytype, c->hostfp, pin);
    return RSL_E_HOSTKEY_CHANGED;
}

/* known_hosts decides: match, unknown (with the line to add), changed or
 * revoked. The line to add goes into the error message once; only when it
 * is too long for the message (RSA) does the run log get it instead (a
 * debug copy otherwise, for -v). */
static rsl_code check_known_hosts(rsl_conn *c, const unsigned char *k, size_t klen,
                                  const char *khfile, const char *hostport, char *why, size_t whysz)
{
    int line = 0, missing = 0;
    rsl_kh_result r = rsl_knownhosts_check(khfile, c->host, c->port, k, klen, &line, &missing);
    char add[2048], hint[400];
    int addok = rsl_knownhosts_line(c->host, c->port, k, klen, add, sizeof(add)) == 0;
    /* err->msg is 512 bytes: a long (RSA) line goes to the log only */
    int fits = addok && strlen(add) + strlen(khfile) < 300;
    if (fits)
        memcpy(hint, add, strlen(add) + 1);
    else
        snprintf(hint, sizeof(hint),
                 "the line in the run log (or the output of: ssh-keyscan -p %d %s)", c->port,
                 c->host);
    if (r == RSL_KH_MATCH) {
        snprintf(c->trust, sizeof(c->trust), "verified by known_hosts %.100s:%d", khfile, line);
        return RSL_OK;
    }
    if (r == RSL_KH_CHANGED || r == RSL_KH_REVOKED) {
        snprintf(why, whysz,
                 "host key of %s %s: the server offers %s %s but %s line %d %s; possible "
                 "man-in-the-middle attack, not connecting",
                 hostport, r == RSL_KH_REVOKED ? "is REVOKED" : "has CHANGED", c->keytype,
                 c->hostfp, khfile, line,
                 r == RSL_KH_REVOKED ? "marks it @revoked" : "holds a different key");
        return RSL_E_HOSTKEY_CHANGED;
    }
    snprintf(why, whysz,
             "host key of %s is unknown%s (%s %s)%s; if the administrator confirms this "
             "fingerprint, add this line to %s: %s",
             hostport, r == RSL_KH_OTHER_TYPE ? " (only keys of other types are known)" : "",
             c->keytype, c->hostfp, missing ? " and known_hosts does not exist" : "", khfile, hint);
    if (addok)
        rsl_sftp_log(c, fits ? RSL_LOG_DEBUG : RSL_LOG_ERROR,
                     "sftp: to trust %s add this line to %s: %s", hostport, khfile, add);
    return RSL_E_HOSTKEY_UNKNOWN;
}

rsl_code rsl_sftp_verify_hostkey(rsl_conn *c, const char *khfile, rsl_err *err)
{
    size_t klen = 0;
    int ktype = 0;
    const char *key = libssh2_session_hostkey(c->ss, &klen, &ktype);
    if (key == NULL)
        return rsl_sftp_map_ssh(c, err, "host key of", c->host);
    const unsigned char *k = (const unsigned char *)key;
    rsl_knownhosts_fingerprint(k, klen, c->hostfp, sizeof(c->hostfp));
    rsl_knownhosts_keytype(k, klen, c->keytype, sizeof(c->keytype));
    char hostport[300], why[4096] = "";
    if (c->port == 22)
        snprintf(hostport, sizeof(hostport), "%s", c->host);
    else
        snprintf(hostport, sizeof(hostport), "[%s]:%d", c->host, c->port);
    const char *pin = c->cfg->host_key_fingerprint;
    rsl_code rc = pin != NULL && pin[0] != '\0'
                      ? check_pin(c, pin, hostport, why, sizeof(why))
                      : check_known_hosts(c, k, klen, khfile, hostport, why, sizeof(why));
    if (c->strict)
        return rc == RSL_OK ? RSL_OK : rsl_err_set(err, rc, 0, "%s", why);
    rsl_sftp_log(c, RSL_LOG_WARN,
                 "sftp: strict_host_key_checking = no: host key of %s (%s %s) is not verified%s%s",
                 hostport, c->keytype, c->hostfp, rc != RSL_OK ? ": " : "",
                 rc != RSL_OK ? why : "");
    if (rc != RSL_OK || c->trust[0] == '\0')
        snprintf(c->trust, sizeof(c->trust), "NOT VERIFIED (strict_host_key_checking = no)");
    return RSL_OK;
}

/* ------------------------------------------------------------------ */
/* authentication: every libssh2 call non-blocking, waiting on the socket
 * until the connect deadline (a server that stops answering mid-auth gives
 * TIMEOUT, never a hang) */

static void kbd_cb(const char *name, int name_len, const char *instruction, int instruction_len,
                   int num_prompts, const LIBSSH2_USERAUTH_KBDINT_PROMPT *prompts,
                   LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses, void **abstract)
{
    (void)name;
    (void)name_len;
    (void)instruction;
    (void)instruction_len;
    rsl_conn *c = *abstract;
    for (int i = 0; i < num_prompts; i++) {
        responses[i].text = NULL;
        responses[i].length = 0;
        /* answer only hidden prompts ("Password:"); never echo the secret */
        if (c->kbd_password != NULL && !prompts[i].echo) {
            responses[i].text = strdup(c->kbd_password);
            if (responses[i].text != NULL)
                responses[i].length = (unsigned int)strlen(c->kbd_password);
        }
    }
}

/* What one authentication attempt sequence saw. */
typedef struct auth_state {
    const char *offered; /* the server's method list */
    char tried[256];     /* what we tried, for the message */
    size_t tl;
    char keynote[400]; /* why identity_file did not do */
    int timed_out;     /* the deadline passed in a call */
} auth_state;

static void tried(auth_state *a, const char *what)
{
    int w = snprintf(a->tried + a->tl, sizeof(a->tried) - a->tl, "%s%s", a->tl ? ", " : "", what);
    if (w > 0 && (size_t)w < sizeof(a->tried) - a->tl)
        a->tl += (size_t)w;
}

/* Waits after LIBSSH2_ERROR_EAGAIN; 0 to call again, -1 at the deadline. */
static int again(rsl_conn *c, auth_state *a, int r)
{
    if (r != LIBSSH2_ERROR_EAGAIN)
        return -1;
    if (rsl_sftp_wait(c) == 0)
        return 0;
    a->timed_out = 1;
    return -1;
}

/* After a refused attempt: the session's failure, TIMEOUT, or AUTH_FAILED
 * to go on. */
static rsl_code refused(rsl_conn *c, auth_state *a, rsl_err *err)
{
    if (a->timed_out)
        return rsl_sftp_timed_out(c, err, "authentication on");
    return rsl_sftp_broken(c) ? rsl_sftp_map_ssh(c, err, "authentication as", c->user)
                              : RSL_E_AUTH_FAILED;
}

/* Why identity_file did not do, from libssh2's answer r: the key could not
 * be loaded (no server involved), or the server did not accept it. */
static void key_note(rsl_conn *c, auth_state *a, int r)
{
    const char *id = c->cfg->identity_file;
    if (r == LIBSSH2_ERROR_FILE)
        snprintf(a->keynote, sizeof(a->keynote),
                 "; identity_file '%s' could not be loaded (a wrong or missing passphrase_file, "
                 "or a key format libssh2 cannot read)",
                 id);
    else if (r == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED || r == LIBSSH2_ERROR_AUTHENTICATION_FAILED)
        snprintf(a->keynote, sizeof(a->keynote),
                 "; the server did not accept key %s for user %s: add its public key (%s.pub) "
                 "to ~/.ssh/authorized_keys there",
                 id, c->user, id);
    else if (r == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED)
        snprintf(a->keynote, sizeof(a->keynote),
                 "; identity_file '%s': its key type is not one libssh2 can sign with", id);
}

/* identity_file (+ passphrase_file). RSL_OK, AUTH_FAILED to go on, or an
 * error to stop with. */
static rsl_code try_identity(rsl_conn *c, auth_state *a, rsl_err *err)
{
    const rsl_sftp_cfg *cfg = c->cfg;
    char *secret = NULL;
    if (access(cfg->identity_file, R_OK) != 0)
        return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, errno,
                           "identity_file '%s' cannot be read: %s", cfg->identity_file,
                           strerror(errno));
    rsl_code rc;
    if (cfg->passphrase_file != NULL && cfg->passphrase_file[0] != '\0' &&
        (rc = rsl_secret_read(cfg->passphrase_file, "passphrase_file", &secret, err)) != RSL_OK)
        return rc;
    tried(a, "publickey (identity_file)");
    int r;
    do
        r = libssh2_userauth_publickey_fromfile_ex(c->ss, c->user, (unsigned)strlen(c->user), NULL,
                                                   cfg->identity_file, secret);
    while (again(c, a, r) == 0);
    rsl_secret_free(secret);
    if (r == 0) {
        snprintf(c->auth, sizeof(c->auth), "publickey (identity_file)");
        return RSL_OK;
    }
    key_note(c, a, r);
    return refused(c, a, err);
}

/* Every key the agent holds, in turn. */
static rsl_code try_agent(rsl_conn *c, auth_state *a, rsl_err *err)
{
    LIBSSH2_AGENT *ag = libssh2_agent_init(c->ss);
    rsl_code rc = RSL_E_AUTH_FAILED;
    int any = 0;
    if (ag == NULL)
        return rc;
    if (libssh2_agent_connect(ag) == 0 && libssh2_agent_list_identities(ag) == 0) {
        struct libssh2_agent_publickey *id = NULL, *prev = NULL;
        while (rc != RSL_OK && !a->timed_out && libssh2_agent_get_identity(ag, &id, prev) == 0) {
            any = 1;
            int r;
            do
                r = libssh2_agent_userauth(ag, c->user, id);
            while (again(c, a, r) == 0);
            if (r == 0)
                rc = RSL_OK;
            else if (rsl_sftp_broken(c))
                break;
            prev = id;
        }
        libssh2_agent_disconnect(ag);
    }
    libssh2_agent_free(ag);
    if (rc == RSL_OK) {
        snprintf(c->auth, sizeof(c->auth), "publickey (ssh-agent)");
        return RSL_OK;
    }
    if (any)
        tried(a, "ssh-agent");
    return refused(c, a, err);
}

/* keyboard-interactive with the password: hidden prompts get it. */
static int kbd_with(rsl_conn *c, auth_state *a, const char *secret)
{
    int r;
    c->kbd_password = secret;
    do
        r = libssh2_userauth_keyboard_interactive_ex(c->ss, c->user, (unsigned)strlen(c->user),
                                                     kbd_cb);
    while (again(c, a, r) == 0);
    c->kbd_password = NULL;
    return r;
}

/* password, then keyboard-interactive, with the same secret. */
static rsl_code try_password(rsl_conn *c, auth_state *a, rsl_err *err)
{
    const rsl_remote_opts *o = c->opts;
    char *secret = NULL;
    unsigned ulen = (unsigned)strlen(c->user);
    rsl_code rc = rsl_secret_password(o->password_file, o->password_env, &secret, err);
    if (rc != RSL_OK)
        return rc;
    rc = RSL_E_AUTH_FAILED;
    if (in_list(a->offered, "password")) {
        tried(a, "password");
        int r;
        do
            r = libssh2_userauth_password_ex(c->ss, c->user, ulen, secret, (unsigned)strlen(secret),
                                             NULL);
        while (again(c, a, r) == 0);
        if (r == 0) {
            snprintf(c->auth, sizeof(c->auth), "password");
            rc = RSL_OK;
        } else {
            rc = refused(c, a, err);
        }
    }
    if (rc == RSL_E_AUTH_FAILED && in_list(a->offered, "keyboard-interactive")) {
        tried(a, "keyboard-interactive");
        int r = kbd_with(c, a, secret);
        if (r == 0)
            snprintf(c->auth, sizeof(c->auth), "keyboard-interactive");
        rc = r == 0 ? RSL_OK : refused(c, a, err);
    }
    rsl_secret_free(secret);
    return rc;
}

/* Nothing worked: SECRET_MISSING when nothing was tried, else AUTH_FAILED. */
static rsl_code auth_failed(rsl_conn *c, const auth_state *a, rsl_err *err)
{
    if (a->tl == 0)
        return rsl_err_set(err, RSL_E_SECRET_MISSING, 0,
                           "no credentials usable for %s@%s:%d (server accepts: %s; ssh-agent %s)",
                           c->user, c->host, c->port, a->offered,
                           !c->cfg->use_agent                ? "disabled"
                           : getenv("SSH_AUTH_SOCK") == NULL ? "not running"
                                                             : "has no keys");
    return rsl_err_set(err, RSL_E_AUTH_FAILED, libssh2_session_last_errno(c->ss),
                       "%s:%d rejected user '%s' (tried: %s; server accepts: %s)%s", c->host,
                       c->port, c->user, a->tried, a->offered, a->keynote);
}

/* The methods the server accepts for c->user (the "none" request); NULL
 * with *rc set when already authenticated (RSL_OK) or failed. */
static char *methods(rsl_conn *c, auth_state *a, rsl_code *rc, rsl_err *err)
{
    char *list;
    for (;;) {
        list = libssh2_userauth_list(c->ss, c->user, (unsigned)strlen(c->user));
        if (list != NULL || again(c, a, libssh2_session_last_errno(c->ss)) != 0)
            break;
    }
    if (list != NULL)
        return list;
    if (a->timed_out)
        *rc = rsl_sftp_timed_out(c, err, "authentication on");
    else if (!libssh2_userauth_authenticated(c->ss))
        *rc = rsl_sftp_map_ssh(c, err, "authentication as", c->user);
    else {
        snprintf(c->auth, sizeof(c->auth), "none");
        *rc = RSL_OK;
    }
    return NULL;
}

/* With an identity_file it is tried first, without asking the server's
 * methods (the "none" request): one round trip less on every connection
 * (each run connects, for the remote check). The list is asked only when
 * the key did not do, for the other methods and the message. */
rsl_code rsl_sftp_authenticate(rsl_conn *c, rsl_err *err)
{
    const rsl_remote_opts *o = c->opts;
    auth_state a = {.offered = ""};
    rsl_code rc = RSL_E_AUTH_FAILED;
    int have_key = c->cfg->identity_file != NULL && c->cfg->identity_file[0] != '\0';
    if (have_key && (rc = try_identity(c, &a, err)) != RSL_E_AUTH_FAILED)
        return rc;
    char *list = methods(c, &a, &rc, err);
    if (list == NULL)
        return rc;
    char offered[256];
    snprintf(offered, sizeof(offered), "%s", list);
    a.offered = offered;
    rc = RSL_E_AUTH_FAILED;
    if (c->cfg->use_agent && getenv("SSH_AUTH_SOCK") != NULL && in_list(offered, "publickey"))
        rc = try_agent(c, &a, err);
    if (rc == RSL_E_AUTH_FAILED && ((o->password_file != NULL && o->password_file[0] != '\0') ||
                                    (o->password_env != NULL && o->password_env[0] != '\0')))
        rc = try_password(c, &a, err);
    return rc == RSL_E_AUTH_FAILED ? auth_failed(c, &a, err) : rc;
}
