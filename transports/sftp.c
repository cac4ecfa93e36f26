/*
 * sftp.c - the sftp:// transport on libssh2. See sftp.h.
 *
 * One rsl_conn = one TCP connection, one SSH session, one libssh2 SFTP
 * channel for everything, plus (when the server allows a second session
 * channel) a small hand-written SFTP channel for OpenSSH extensions that
 * libssh2 1.10 has no call for: posix-rename@openssh.com, which replaces the
 * final name atomically. Without it, finish() falls back to a two-step
 * rename (documented in docs/transport-sftp.md and in describe()).
 *
 * Blocking libssh2 with libssh2_session_set_timeout(): every wait is bounded
 * by opts->timeout_sec. Uploads hand libssh2_sftp_write() a large buffer so
 * it keeps ~INFLIGHT / 30000 write requests in flight (as OpenSSH's 64 x
 * 32 KiB), and send keepalives as they go.
 */
#define _GNU_SOURCE
#include "sftp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "knownhosts.h"

#ifndef INFLIGHT
#define INFLIGHT (4u << 20) /* most bytes of write requests awaiting an ack */
#endif
#define TAIL_CHECK (64u << 10) /* bytes of a temp file's tail checked before resuming */
#define SMALL_MAX (256u << 10) /* uploads up to this size go in one batch */
#ifndef READ_CHUNK
#define READ_CHUNK (1u << 20) /* bytes pulled from the source at a time */
#endif
#define PATH_BUF 4096               /* longest remote path we send */
#define XCH_MAX_PACKET (256u << 10) /* cap on a reply packet on the side channel */
#define KEEPALIVE_MIN 5
#define XCH_STASH 64 /* > the replies of one batch (SMALL_MAX / 32 KiB + 3) */

struct rsl_conn {
    int sock;
    LIBSSH2_SESSION *ss;
    LIBSSH2_SFTP *sftp;
    LIBSSH2_CHANNEL *xch; /* side SFTP channel for extensions, or NULL */
    uint32_t xid;         /* request id on the side channel */
    int posix_rename;     /* server offers posix-rename@openssh.com (on xch) */
    int dead;             /* session unusable: disconnect without a goodbye */
    int strict;
    char *root;
    char *host;
    char *user;
    int port;
    char hostfp[64];
    char keytype[64];
    char trust[160];
    char auth[64];
    const char *kbd_password; /* only during keyboard-interactive auth */
    /* created-directory cache: open addressing, NULL = empty slot */
    char **dirs;
    size_t ndirs, capdirs;
    struct {
        uint32_t id, len;
        unsigned char *pkt;
    } stash[XCH_STASH]; /* side-channel replies that arrived before their turn */
    int nstash;
    char *last_tmp;     /* temp file of the last upload and its size after the */
    uint64_t last_size; /* last write (fstat), for finish()'s size check */
    unsigned char *buf; /* upload buffer, INFLIGHT + READ_CHUNK bytes, allocated on first upload */
    rsl_remote_opts o;  /* a copy; its strings are borrowed (valid while connected) */
    const rsl_remote_opts *opts; /* = &o */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

static void do_init(void)
{
    init_rc = libssh2_init(0);
}

static void logf_(rsl_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(rsl_conn *c, int level, const char *fmt, ...)
{
    if (c->opts == NULL || c->opts->log == NULL)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->opts->log(c->opts->ud, level, msg);
}

/* ------------------------------------------------------------------ */
/* error mapping: the one place libssh2 and SFTP codes become catalog codes */

static const char *fx_name(unsigned long fx)
{
    static const char *const names[] = {"OK",
                                        "EOF",
                                        "NO_SUCH_FILE",
                                        "PERMISSION_DENIED",
                                        "FAILURE",
                                        "BAD_MESSAGE",
                                        "NO_CONNECTION",
                                        "CONNECTION_LOST",
                                        "OP_UNSUPPORTED",
                                        "INVALID_HANDLE",
                                        "NO_SUCH_PATH",
                                        "FILE_ALREADY_EXISTS",
                                        "WRITE_PROTECT",
                                        "NO_MEDIA",
                                        "NO_SPACE_ON_FILESYSTEM",
                                        "QUOTA_EXCEEDED",
                                        "UNKNOWN_PRINCIPAL",
                                        "LOCK_CONFLICT",
                                        "DIR_NOT_EMPTY",
                                        "NOT_A_DIRECTORY",
                                        "INVALID_FILENAME",
                                        "LINK_LOOP"};
    return fx < sizeof(names) / sizeof(names[0]) ? names[fx] : "UNKNOWN";
}

/* Maps an SFTP status (FX_*) of an operation on rel. OpenSSH's sftp-server
 * reports ENOSPC/EEXIST/ENOTEMPTY/EISDIR as plain FAILURE and
 * ENAMETOOLONG/EINVAL as BAD_MESSAGE; callers refine FAILURE by context. */
static rsl_code map_fx(rsl_conn *c, rsl_err *err, unsigned long fx, const char *what,
                       const char *rel)
{
    rsl_code code;
    switch (fx) {
    case LIBSSH2_FX_NO_SUCH_FILE:
    case LIBSSH2_FX_NO_SUCH_PATH:
        code = RSL_E_REMOTE_NOT_FOUND;
        break;
    case LIBSSH2_FX_PERMISSION_DENIED:
    case LIBSSH2_FX_WRITE_PROTECT:
        code = RSL_E_REMOTE_PERMISSION;
        break;
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
    case LIBSSH2_FX_QUOTA_EXCEEDED:
        code = RSL_E_REMOTE_NO_SPACE;
        break;
    case LIBSSH2_FX_INVALID_FILENAME:
    case LIBSSH2_FX_BAD_MESSAGE: /* OpenSSH: ENAMETOOLONG, EINVAL */
        code = RSL_E_REMOTE_NAME_REFUSED;
        break;
    case LIBSSH2_FX_FILE_ALREADY_EXISTS:
    case LIBSSH2_FX_NOT_A_DIRECTORY:
    case 24: /* FX_FILE_IS_A_DIRECTORY (v6) */
        code = RSL_E_REMOTE_TYPE_CONFLICT;
        break;
    case LIBSSH2_FX_LOCK_CONFLICT:
        code = RSL_E_REMOTE_LOCKED;
        break;
    case LIBSSH2_FX_NO_CONNECTION:
    case LIBSSH2_FX_CONNECTION_LOST:
        code = RSL_E_CONNECTION_LOST;
        c->dead = 1;
        break;
    default:
        code = RSL_E_REMOTE_IO;
        break;
    }
    return rsl_err_set(err, code, (long)fx, "%s '%s' on %s: SFTP status %s (%lu)", what, rel,
                       c->host, fx_name(fx), fx);
}

/* Maps the session's last error after a failed libssh2 call. SFTP status
 * errors go to map_fx; everything else means the session is unusable. */
static rsl_code map_ssh(rsl_conn *c, rsl_err *err, const char *what, const char *rel)
{
    char *m = NULL;
    int e = libssh2_session_last_error(c->ss, &m, NULL, 0);
    if (e == LIBSSH2_ERROR_SFTP_PROTOCOL && c->sftp != NULL)
        return map_fx(c, err, libssh2_sftp_last_error(c->sftp), what, rel);
    if (e == LIBSSH2_ERROR_BUFFER_TOO_SMALL) /* a name longer than our buffer */
        return rsl_err_set(err, RSL_E_REMOTE_NAME_REFUSED, e, "%s '%s' on %s: a name is too long",
                           what, rel, c->host);
    rsl_code code;
    switch (e) {
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
        code = RSL_E_TIMEOUT;
        break;
    case LIBSSH2_ERROR_ALLOC:
        code = RSL_E_NO_MEMORY;
        break;
    case LIBSSH2_ERROR_KEX_FAILURE:
    case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
    case LIBSSH2_ERROR_METHOD_NONE:
    case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
    case LIBSSH2_ERROR_PROTO:
        code = RSL_E_PROTOCOL;
        break;
    default: /* socket errors, closed channel, bad MAC, ... */
        code = RSL_E_CONNECTION_LOST;
        break;
    }
    c->dead = 1;
    if (code == RSL_E_TIMEOUT)
        return rsl_err_set(err, code, e, "%s '%s' on %s:%d: no answer within %d s (%s)", what, rel,
                           c->host, c->port, c->opts->timeout_sec > 0 ? c->opts->timeout_sec : 60,
                           m ? m : "timeout");
    return rsl_err_set(err, code, e, "%s '%s' on %s:%d: %s (libssh2 error %d)", what, rel, c->host,
                       c->port, m && *m ? m : "session failed", e);
}

/* ------------------------------------------------------------------ */
/* paths and the directory cache */

/* Writes root + "/" + rel into buf; returns its length or -1 if too long. */
static int mkpath(rsl_conn *c, const char *rel, char *buf, size_t n)
{
    int w;
    if (rel[0] == '\0')
        w = snprintf(buf, n, "%s", c->root);
    else if (strcmp(c->root, "/") == 0)
        w = snprintf(buf, n, "/%s", rel);
    else
        w = snprintf(buf, n, "%s/%s", c->root, rel);
    return (w < 0 || (size_t)w >= n) ? -1 : w;
}

static rsl_code path_too_long(rsl_conn *c, rsl_err *err, const char *rel)
{
    return rsl_err_set(err, RSL_E_REMOTE_NAME_REFUSED, ENAMETOOLONG,
                       "'%s' on %s: remote path longer than %d bytes", rel, c->host, PATH_BUF - 1);
}

static size_t str_hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int dir_cached(rsl_conn *c, const char *rel)
{
    if (c->capdirs == 0)
        return 0;
    for (size_t i = str_hash(rel) & (c->capdirs - 1);; i = (i + 1) & (c->capdirs - 1)) {
        if (c->dirs[i] == NULL)
            return 0;
        if (strcmp(c->dirs[i], rel) == 0)
            return 1;
    }
}

static void dir_cache_clear(rsl_conn *c)
{
    for (size_t i = 0; i < c->capdirs; i++)
        free(c->dirs[i]);
    free(c->dirs);
    c->dirs = NULL;
    c->ndirs = c->capdirs = 0;
}

/* Best effort: a failed insert only costs a round trip later. */
static void dir_cache_add(rsl_conn *c, const char *rel)
{
    if (dir_cached(c, rel))
        return;
    if ((c->ndirs + 1) * 2 > c->capdirs) {
        size_t ncap = c->capdirs ? c->capdirs * 2 : 64;
        char **nd = calloc(ncap, sizeof(*nd));
        if (nd == NULL)
            return;
        for (size_t i = 0; i < c->capdirs; i++) {
            if (c->dirs[i] == NULL)
                continue;
            size_t j = str_hash(c->dirs[i]) & (ncap - 1);
            while (nd[j] != NULL)
                j = (j + 1) & (ncap - 1);
            nd[j] = c->dirs[i];
        }
        free(c->dirs);
        c->dirs = nd;
        c->capdirs = ncap;
    }
    char *s = strdup(rel);
    if (s == NULL)
        return;
    size_t j = str_hash(rel) & (c->capdirs - 1);
    while (c->dirs[j] != NULL)
        j = (j + 1) & (c->capdirs - 1);
    c->dirs[j] = s;
    c->ndirs++;
}

/* ------------------------------------------------------------------ */
/* secrets */

/* Reads the first line of a secret file into a new buffer (caller wipes and
 * frees with secret_free). */
static rsl_code secret_read(const char *path, const char *what, char **out, rsl_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, errno, "%s '%s' cannot be read: %s", what,
                           path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    rsl_code rc = RSL_OK;
    if (buf == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = rsl_err_set(err, RSL_E_SECRET_UNREADABLE, errno, "%s '%s' cannot be read: %s",
                             what, path, strerror(errno));
            goto done;
        }
        if (n == 0 || (len += (size_t)n) == cap - 1)
            break;
    }
    buf[len] = '\0';
    len = strcspn(buf, "\r\n");
    buf[len] = '\0';
    if (len == 0)
        rc = rsl_err_set(err, RSL_E_SECRET_UNREADABLE, 0, "%s '%s' is empty", what, path);
done:
    close(fd);
    if (rc != RSL_OK && buf != NULL) {
        explicit_bzero(buf, cap);
        free(buf);
        buf = NULL;
    }
    *out = buf;
    return rc;
}

static void secret_free(char *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

/* ------------------------------------------------------------------ */
/* TCP */

static rsl_code tcp_connect(rsl_conn *c, int timeout_ms, rsl_err *err)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", c->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(c->host, portstr, &hints, &res);
    if (g != 0)
        return rsl_err_set(err, RSL_E_DNS_FAILED, g, "cannot resolve '%s': %s", c->host,
                           gai_strerror(g));
    rsl_code rc = RSL_E_CONNECT_REFUSED;
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int s =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (s < 0) {
            last = errno;
            continue;
        }
        int r = connect(s, ai->ai_addr, ai->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = s, .events = POLLOUT};
            int p;
            do
                p = poll(&pfd, 1, timeout_ms);
            while (p < 0 && errno == EINTR);
            if (p == 0) {
                close(s);
                last = ETIMEDOUT;
                rc = RSL_E_TIMEOUT;
                continue;
            }
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            r = soerr ? -1 : 0;
            errno = soerr;
        }
        if (r != 0) {
            last = errno;
            close(s);
            continue;
        }
        int one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        c->sock = s;
        rc = RSL_OK;
        break;
    }
    freeaddrinfo(res);
    if (rc == RSL_E_TIMEOUT && c->sock < 0)
        return rsl_err_set(err, RSL_E_TIMEOUT, last, "connect to %s:%d: no answer within %d ms",
                           c->host, c->port, timeout_ms);
    if (c->sock < 0)
        return rsl_err_set(err, RSL_E_CONNECT_REFUSED, last, "connect to %s:%d: %s", c->host,
                           c->port, strerror(last));
    return RSL_OK;
}

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

/* The known_hosts path to use ("~/" expanded); caller frees. */
static char *known_hosts_path(const rsl_remote_opts *o)
{
    if (o->known_hosts == NULL || o->known_hosts[0] == '\0')
        return default_known_hosts();
    if (strncmp(o->known_hosts, "~/", 2) == 0) {
        const char *home = getenv("HOME");
        char *p = NULL;
        if (asprintf(&p, "%s/%s", home ? home : "", o->known_hosts + 2) < 0)
            return NULL;
        return p;
    }
    return strdup(o->known_hosts);
}

/* Host key algorithms libssh2 1.10 negotiates, ordered so that the types
 * known_hosts holds for this host come first (as OpenSSH does). */
static void hostkey_prefs(const char *known, char *buf, size_t n)
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
            int in_known = 0;
            size_t l = strlen(all[i]);
            for (const char *p = known; p && *p;) {
                const char *e = strchr(p, ',');
                size_t pl = e ? (size_t)(e - p) : strlen(p);
                if (pl == l && strncmp(p, all[i], l) == 0)
                    in_known = 1;
                if (e == NULL)
                    break;
                p = e + 1;
            }
            if (in_known != (pass == 0))
                continue;
            int w = snprintf(buf + used, n - used, "%s%s", used ? "," : "", all[i]);
            if (w > 0 && (size_t)w < n - used)
                used += (size_t)w;
        }
    }
}

static rsl_code verify_hostkey(rsl_conn *c, const char *khfile, rsl_err *err)
{
    size_t klen = 0;
    int ktype = 0;
    const char *key = libssh2_session_hostkey(c->ss, &klen, &ktype);
    if (key == NULL)
        return map_ssh(c, err, "host key of", c->host);
    const unsigned char *k = (const unsigned char *)key;
    rsl_knownhosts_fingerprint(k, klen, c->hostfp, sizeof(c->hostfp));
    rsl_knownhosts_keytype(k, klen, c->keytype, sizeof(c->keytype));
    char hostport[300];
    if (c->port == 22)
        snprintf(hostport, sizeof(hostport), "%s", c->host);
    else
        snprintf(hostport, sizeof(hostport), "[%s]:%d", c->host, c->port);

    const char *pin = c->opts->host_key_fingerprint;
    rsl_code rc = RSL_OK;
    char why[4096] = "";
    if (pin != NULL && pin[0] != '\0') {
        size_t pl = strlen(pin);
        while (pl > 0 && pin[pl - 1] == '=')
            pl--;
        if (strlen(c->hostfp) == pl && strncmp(pin, c->hostfp, pl) == 0) {
            snprintf(c->trust, sizeof(c->trust), "verified by the pinned host_key_fingerprint");
        } else {
            rc = RSL_E_HOSTKEY_CHANGED;
            snprintf(why, sizeof(why),
                     "host key of %s is %s %s, not the pinned host_key_fingerprint %s", hostport,
                     c->keytype, c->hostfp, pin);
        }
    } else {
        int line = 0, missing = 0;
        rsl_kh_result r = rsl_knownhosts_check(khfile, c->host, c->port, k, klen, &line, &missing);
        char add[2048];
        int addok = rsl_knownhosts_line(c->host, c->port, k, klen, add, sizeof(add)) == 0;
        /* err->msg is 512 bytes: a long (RSA) line goes to the log only */
        char hint[400];
        if (addok && strlen(add) + strlen(khfile) < 300)
            memcpy(hint, add, strlen(add) + 1);
        else
            snprintf(hint, sizeof(hint),
                     "the line in the run log (or the output of: ssh-keyscan -p %d %s)", c->port,
                     c->host);
        switch (r) {
        case RSL_KH_MATCH:
            snprintf(c->trust, sizeof(c->trust), "verified by known_hosts %.100s:%d", khfile, line);
            break;
        case RSL_KH_UNKNOWN:
        case RSL_KH_OTHER_TYPE:
            rc = RSL_E_HOSTKEY_UNKNOWN;
            snprintf(why, sizeof(why),
                     "host key of %s is unknown%s (%s %s)%s; if the administrator confirms this "
                     "fingerprint, add this line to %s: %s",
                     hostport,
                     r == RSL_KH_OTHER_TYPE ? " (only keys of other types are known)" : "",
                     c->keytype, c->hostfp, missing ? " and known_hosts does not exist" : "",
                     khfile, hint);
            break;
        case RSL_KH_CHANGED:
        case RSL_KH_REVOKED:
            rc = RSL_E_HOSTKEY_CHANGED;
            snprintf(why, sizeof(why),
                     "host key of %s %s: the server offers %s %s but %s line %d %s; possible "
                     "man-in-the-middle attack, not connecting",
                     hostport, r == RSL_KH_REVOKED ? "is REVOKED" : "has CHANGED", c->keytype,
                     c->hostfp, khfile, line,
                     r == RSL_KH_REVOKED ? "marks it @revoked" : "holds a different key");
            break;
        }
        if (rc == RSL_E_HOSTKEY_UNKNOWN && addok)
            logf_(c, RSL_LOG_ERROR, "sftp: to trust %s add this line to %s: %s", hostport, khfile,
                  add);
    }
    if (!c->strict) {
        logf_(c, RSL_LOG_WARN,
              "sftp: strict_host_key_checking = no: host key of %s (%s %s) is not verified%s%s",
              hostport, c->keytype, c->hostfp, rc != RSL_OK ? ": " : "", rc != RSL_OK ? why : "");
        if (rc != RSL_OK || c->trust[0] == '\0')
            snprintf(c->trust, sizeof(c->trust), "NOT VERIFIED (strict_host_key_checking = no)");
        return RSL_OK;
    }
    if (rc != RSL_OK)
        return rsl_err_set(err, rc, 0, "%s", why);
    return RSL_OK;
}

/* ------------------------------------------------------------------ */
/* authentication */

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

static int has_method(const char *list, const char *m)
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

/* 1 if the last libssh2 error means the session died (not just "rejected"). */
static int session_broken(rsl_conn *c)
{
    int e = libssh2_session_last_errno(c->ss);
    return e == LIBSSH2_ERROR_TIMEOUT || e == LIBSSH2_ERROR_SOCKET_SEND ||
           e == LIBSSH2_ERROR_SOCKET_RECV || e == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
           e == LIBSSH2_ERROR_SOCKET_TIMEOUT || e == LIBSSH2_ERROR_BAD_SOCKET;
}

static rsl_code try_agent(rsl_conn *c, int *tried)
{
    LIBSSH2_AGENT *ag = libssh2_agent_init(c->ss);
    rsl_code rc = RSL_E_AUTH_FAILED;
    if (ag == NULL)
        return rc;
    if (libssh2_agent_connect(ag) != 0 || libssh2_agent_list_identities(ag) != 0)
        goto done;
    struct libssh2_agent_publickey *id = NULL, *prev = NULL;
    while (libssh2_agent_get_identity(ag, &id, prev) == 0) {
        *tried = 1;
        if (libssh2_agent_userauth(ag, c->user, id) == 0) {
            rc = RSL_OK;
            break;
        }
        if (session_broken(c))
            break;
        prev = id;
    }
    libssh2_agent_disconnect(ag);
done:
    libssh2_agent_free(ag);
    return rc;
}

static rsl_code authenticate(rsl_conn *c, rsl_err *err)
{
    const rsl_remote_opts *o = c->opts;
    unsigned ulen = (unsigned)strlen(c->user);
    char *list = libssh2_userauth_list(c->ss, c->user, ulen);
    if (list == NULL) {
        if (libssh2_userauth_authenticated(c->ss)) {
            snprintf(c->auth, sizeof(c->auth), "none");
            return RSL_OK;
        }
        return map_ssh(c, err, "authentication as", c->user);
    }
    char offered[256];
    snprintf(offered, sizeof(offered), "%s", list);
    char tried[256] = "";
    char keynote[300] = "";
    size_t tl = 0;
    rsl_code rc = RSL_E_AUTH_FAILED;
    char *secret = NULL;

    if (o->identity_file != NULL && o->identity_file[0] != '\0') {
        if (access(o->identity_file, R_OK) != 0) {
            rc = rsl_err_set(err, RSL_E_SECRET_UNREADABLE, errno,
                             "identity_file '%s' cannot be read: %s", o->identity_file,
                             strerror(errno));
            goto done;
        }
        if (o->passphrase_file != NULL && o->passphrase_file[0] != '\0' &&
            (rc = secret_read(o->passphrase_file, "passphrase_file", &secret, err)) != RSL_OK)
            goto done;
        rc = RSL_E_AUTH_FAILED;
        tl += (size_t)snprintf(tried + tl, sizeof(tried) - tl, "%spublickey (identity_file)",
                               tl ? ", " : "");
        int r = libssh2_userauth_publickey_fromfile_ex(c->ss, c->user, ulen, NULL, o->identity_file,
                                                       secret);
        secret_free(secret);
        secret = NULL;
        if (r == 0) {
            snprintf(c->auth, sizeof(c->auth), "publickey (identity_file)");
            rc = RSL_OK;
            goto done;
        }
        if (session_broken(c)) {
            rc = map_ssh(c, err, "authentication as", c->user);
            goto done;
        }
        if (r == LIBSSH2_ERROR_FILE || r == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED ||
            r == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED)
            snprintf(keynote, sizeof(keynote),
                     "; identity_file '%s' could not be used (wrong or missing passphrase_file, "
                     "or a key format libssh2 cannot read)",
                     o->identity_file);
    }
    if (o->use_agent && getenv("SSH_AUTH_SOCK") != NULL && has_method(list, "publickey")) {
        int any = 0;
        if (try_agent(c, &any) == RSL_OK) {
            snprintf(c->auth, sizeof(c->auth), "publickey (ssh-agent)");
            rc = RSL_OK;
            goto done;
        }
        if (session_broken(c)) {
            rc = map_ssh(c, err, "authentication as", c->user);
            goto done;
        }
        if (any)
            tl += (size_t)snprintf(tried + tl, sizeof(tried) - tl, "%sssh-agent", tl ? ", " : "");
    }
    if ((o->password_file != NULL && o->password_file[0] != '\0') || o->password_env != NULL) {
        if (o->password_file != NULL && o->password_file[0] != '\0') {
            if ((rc = secret_read(o->password_file, "password_file", &secret, err)) != RSL_OK)
                goto done;
        } else if ((secret = strdup(o->password_env)) == NULL) {
            rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
            goto done;
        }
        rc = RSL_E_AUTH_FAILED;
        if (has_method(list, "password")) {
            tl += (size_t)snprintf(tried + tl, sizeof(tried) - tl, "%spassword", tl ? ", " : "");
            if (libssh2_userauth_password_ex(c->ss, c->user, ulen, secret, (unsigned)strlen(secret),
                                             NULL) == 0) {
                snprintf(c->auth, sizeof(c->auth), "password");
                rc = RSL_OK;
                goto done;
            }
            if (session_broken(c)) {
                rc = map_ssh(c, err, "authentication as", c->user);
                goto done;
            }
        }
        if (has_method(list, "keyboard-interactive")) {
            tl += (size_t)snprintf(tried + tl, sizeof(tried) - tl, "%skeyboard-interactive",
                                   tl ? ", " : "");
            c->kbd_password = secret;
            int r = libssh2_userauth_keyboard_interactive_ex(c->ss, c->user, ulen, kbd_cb);
            c->kbd_password = NULL;
            if (r == 0) {
                snprintf(c->auth, sizeof(c->auth), "keyboard-interactive");
                rc = RSL_OK;
                goto done;
            }
            if (session_broken(c)) {
                rc = map_ssh(c, err, "authentication as", c->user);
                goto done;
            }
        }
    }
    if (tl == 0)
        rc = rsl_err_set(err, RSL_E_SECRET_MISSING, 0,
                         "no credentials usable for %s@%s:%d (server accepts: %s; ssh-agent %s)",
                         c->user, c->host, c->port, offered,
                         !o->use_agent                     ? "disabled"
                         : getenv("SSH_AUTH_SOCK") == NULL ? "not running"
                                                           : "has no keys");
    else
        rc = rsl_err_set(err, RSL_E_AUTH_FAILED, libssh2_session_last_errno(c->ss),
                         "%s:%d rejected user '%s' (tried: %s; server accepts: %s)%s", c->host,
                         c->port, c->user, tried, offered, keynote);
done:
    secret_free(secret);
    return rc;
}

/* ------------------------------------------------------------------ */
/* side channel: a minimal SFTP v3 client for OpenSSH extensions */

enum { FXP_INIT = 1, FXP_VERSION = 2, FXP_STATUS = 101, FXP_EXTENDED = 200 };

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int xch_write(rsl_conn *c, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = libssh2_channel_write(c->xch, (const char *)p, n);
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Waits (bounded by timeout_sec) until the socket is readable, but only when
 * libssh2 says it needs more data from it: otherwise it may already hold
 * packets for this channel and must be asked again at once. Returns 0, or -1
 * on a timeout or a poll error. */
static int xch_wait(rsl_conn *c)
{
    if (!(libssh2_session_block_directions(c->ss) & LIBSSH2_SESSION_BLOCK_INBOUND))
        return 0;
    int tsec = c->opts->timeout_sec > 0 ? c->opts->timeout_sec : 60;
    struct pollfd pfd = {.fd = c->sock, .events = POLLIN};
    int p;
    do
        p = poll(&pfd, 1, tsec * 1000);
    while (p < 0 && errno == EINTR);
    return p > 0 ? 0 : -1;
}

static int xch_read_full(rsl_conn *c, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = libssh2_channel_read(c->xch, (char *)p, n);
        if (r < 0)
            return -1;
        if (r == 0) {
            /* the session read packets, none for this channel (the main SFTP
             * channel's replies, window adjusts): wait instead of spinning */
            if (libssh2_channel_eof(c->xch) || xch_wait(c) != 0)
                return -1;
            continue;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads one packet; *out (malloc'd) holds type + payload. */
static int xch_read_packet(rsl_conn *c, unsigned char **out, uint32_t *len)
{
    unsigned char hdr[4];
    *out = NULL;
    if (xch_read_full(c, hdr, 4) != 0)
        return -1;
    uint32_t l = get32(hdr);
    if (l < 1 || l > XCH_MAX_PACKET)
        return -1;
    unsigned char *p = malloc(l);
    if (p == NULL || xch_read_full(c, p, l) != 0) {
        free(p);
        return -1;
    }
    *out = p;
    *len = l;
    return 0;
}

static void xch_close(rsl_conn *c)
{
    if (c->xch == NULL)
        return;
    if (!c->dead)
        libssh2_channel_close(c->xch);
    libssh2_channel_free(c->xch);
    c->xch = NULL;
}

/* Opens the side channel and learns the server's extensions. A server that
 * refuses a second channel is not an error: finish() then uses the
 * fallback. Returns a session code only when the session itself failed. */
static rsl_code xch_open(rsl_conn *c, rsl_err *err)
{
    unsigned char *pkt = NULL;
    uint32_t len = 0;
    c->xch = libssh2_channel_open_session(c->ss);
    if (c->xch == NULL)
        goto refused;
    if (libssh2_channel_subsystem(c->xch, "sftp") != 0)
        goto refused;
    unsigned char init[9];
    put32(init, 5);
    init[4] = FXP_INIT;
    put32(init + 5, 3);
    if (xch_write(c, init, sizeof(init)) != 0 || xch_read_packet(c, &pkt, &len) != 0)
        goto refused;
    if (pkt[0] == FXP_VERSION && len >= 5) {
        size_t off = 5; /* type + version */
        while (off + 4 <= len) {
            uint32_t nl = get32(pkt + off);
            if (nl > len - off - 4)
                break;
            const unsigned char *name = pkt + off + 4;
            off += 4 + nl;
            if (off + 4 > len)
                break;
            uint32_t dl = get32(pkt + off);
            if (dl > len - off - 4)
                break;
            off += 4 + dl;
            if (nl == 24 && memcmp(name, "posix-rename@openssh.com", 24) == 0)
                c->posix_rename = 1;
        }
    }
    free(pkt);
    if (!c->posix_rename)
        xch_close(c);
    return RSL_OK;
refused:
    free(pkt);
    if (session_broken(c))
        return map_ssh(c, err, "SFTP extension channel to", c->host);
    xch_close(c);
    c->posix_rename = 0;
    return RSL_OK;
}

/* Requests are built back to back in one buffer and sent with one write,
 * so a batch costs one round trip (OpenSSH answers in order). */
enum {
    FXP_OPEN = 3,
    FXP_CLOSE = 4,
    FXP_WRITE = 6,
    FXP_LSTAT = 7,
    FXP_FSTAT = 8,
    FXP_SETSTAT = 9,
    FXP_FSETSTAT = 10,
    FXP_HANDLE = 102,
    FXP_ATTRS = 105
};
enum { PF_WRITE = 0x02, PF_CREAT = 0x08, PF_TRUNC = 0x10 };
#define XCH_WRITE_MAX 32768u /* data bytes per WRITE: every server accepts 32 KiB */

typedef struct xbuf {
    unsigned char *p;
    size_t len, cap, start;
    int oom;
} xbuf;

static void xb_put(xbuf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n)
            ncap *= 2;
        unsigned char *np = realloc(b->p, ncap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void xb_u32(xbuf *b, uint32_t v)
{
    unsigned char q[4];
    put32(q, v);
    xb_put(b, q, 4);
}

static void xb_u64(xbuf *b, uint64_t v)
{
    xb_u32(b, (uint32_t)(v >> 32));
    xb_u32(b, (uint32_t)v);
}

static void xb_str(xbuf *b, const void *s, size_t n)
{
    xb_u32(b, (uint32_t)n);
    xb_put(b, s, n);
}

/* Starts a request of `type`; returns its id. */
static uint32_t xb_begin(rsl_conn *c, xbuf *b, unsigned char type)
{
    b->start = b->len;
    xb_u32(b, 0);
    xb_put(b, &type, 1);
    uint32_t id = ++c->xid;
    xb_u32(b, id);
    return id;
}

static void xb_end(xbuf *b)
{
    if (!b->oom)
        put32(b->p + b->start, (uint32_t)(b->len - b->start - 4));
}

/* The side channel failed mid-request: the session is unusable. */
static rsl_code xch_broken(rsl_conn *c, rsl_err *err, const char *what, const char *rel)
{
    rsl_code rc;
    if (session_broken(c))
        rc = map_ssh(c, err, what, rel);
    else
        rc = rsl_err_set(err, RSL_E_CONNECTION_LOST, 0, "%s '%s' on %s: the SFTP channel closed",
                         what, rel, c->host);
    c->dead = 1;
    return rc;
}

static rsl_code xch_send(rsl_conn *c, xbuf *b, const char *what, const char *rel, rsl_err *err)
{
    if (b->oom)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    if (xch_write(c, b->p, b->len) != 0)
        return xch_broken(c, err, what, rel);
    return RSL_OK;
}

/* Reads the reply to request id (type + payload in *pkt, caller frees). */
static rsl_code xch_reply(rsl_conn *c, uint32_t id, unsigned char **pkt, uint32_t *len,
                          const char *what, const char *rel, rsl_err *err)
{
    /* servers may answer out of order (the protocol allows it): replies to
     * other requests of the batch wait in a small stash */
    for (int i = 0; i < c->nstash; i++) {
        if (c->stash[i].id == id) {
            *pkt = c->stash[i].pkt;
            *len = c->stash[i].len;
            c->stash[i] = c->stash[--c->nstash];
            return RSL_OK;
        }
    }
    for (;;) {
        if (xch_read_packet(c, pkt, len) != 0)
            return xch_broken(c, err, what, rel);
        if (*len >= 5 && get32(*pkt + 1) == id)
            return RSL_OK;
        if (*len < 5 || c->nstash == XCH_STASH) {
            unsigned type = (*pkt)[0];
            free(*pkt);
            *pkt = NULL;
            c->dead = 1;
            return rsl_err_set(err, RSL_E_PROTOCOL, (long)type,
                               "%s '%s' on %s: unexpected SFTP reply (type %u)", what, rel, c->host,
                               type);
        }
        c->stash[c->nstash].id = get32(*pkt + 1);
        c->stash[c->nstash].pkt = *pkt;
        c->stash[c->nstash].len = *len;
        c->nstash++;
    }
}

/* Reads a STATUS reply; FX_OK is RSL_OK, anything else goes to map_fx. */
static rsl_code xch_status(rsl_conn *c, uint32_t id, const char *what, const char *rel,
                           rsl_err *err)
{
    unsigned char *pkt = NULL;
    uint32_t len = 0;
    rsl_code rc = xch_reply(c, id, &pkt, &len, what, rel, err);
    if (rc == RSL_OK) {
        if (pkt[0] != FXP_STATUS || len < 9) {
            c->dead = 1;
            rc = rsl_err_set(err, RSL_E_PROTOCOL, pkt[0], "%s '%s' on %s: unexpected reply %d",
                             what, rel, c->host, pkt[0]);
        } else if (get32(pkt + 5) != 0) {
            rc = map_fx(c, err, get32(pkt + 5), what, rel);
        }
    }
    free(pkt);
    return rc;
}

/* Reads an ATTRS reply and returns the size in it. */
static rsl_code xch_attrs_size(rsl_conn *c, uint32_t id, uint64_t *size, const char *what,
                               const char *rel, rsl_err *err)
{
    unsigned char *pkt = NULL;
    uint32_t len = 0;
    rsl_code rc = xch_reply(c, id, &pkt, &len, what, rel, err);
    if (rc != RSL_OK)
        return rc;
    if (pkt[0] == FXP_STATUS && len >= 9)
        rc = map_fx(c, err, get32(pkt + 5), what, rel);
    else if (pkt[0] != FXP_ATTRS || len < 9 || !(get32(pkt + 5) & LIBSSH2_SFTP_ATTR_SIZE) ||
             len < 17)
        rc = rsl_err_set(err, RSL_E_PROTOCOL, pkt[0], "%s '%s' on %s: no size in the reply", what,
                         rel, c->host);
    else
        *size = ((uint64_t)get32(pkt + 9) << 32) | get32(pkt + 13);
    free(pkt);
    return rc;
}

/* Uploads [offset, total) of a small file held in data with two round
 * trips: OPEN, then the WRITEs + FSTAT + CLOSE as one batch. The FSTAT size
 * is kept for finish()'s size check. */
static rsl_code xch_upload(rsl_conn *c, const char *path, const char *rel, uint64_t offset,
                           uint64_t total, const unsigned char *data, rsl_err *err)
{
    xbuf b = {0};
    unsigned char *pkt = NULL;
    uint32_t len = 0;
    rsl_code rc, first = RSL_OK;
    rsl_err ferr = {0};
    uint32_t id = xb_begin(c, &b, FXP_OPEN);
    xb_str(&b, path, strlen(path));
    xb_u32(&b, PF_WRITE | PF_CREAT | (offset == 0 ? PF_TRUNC : 0));
    xb_u32(&b, LIBSSH2_SFTP_ATTR_PERMISSIONS);
    xb_u32(&b, 0644);
    xb_end(&b);
    if ((rc = xch_send(c, &b, "open", rel, err)) != RSL_OK ||
        (rc = xch_reply(c, id, &pkt, &len, "open", rel, err)) != RSL_OK)
        goto done;
    if (pkt[0] == FXP_STATUS && len >= 9) {
        rc = map_fx(c, err, get32(pkt + 5), "open", rel);
        goto done;
    }
    uint32_t hl = len >= 9 ? get32(pkt + 5) : 0;
    if (pkt[0] != FXP_HANDLE || hl == 0 || hl > len - 9 || hl > 256) {
        c->dead = 1;
        rc = rsl_err_set(err, RSL_E_PROTOCOL, pkt[0], "open '%s' on %s: no handle in the reply",
                         rel, c->host);
        goto done;
    }
    unsigned char handle[256];
    memcpy(handle, pkt + 9, hl);
    b.len = 0;
    uint32_t id_trunc = 0, id_first_write = 0, nwrites = 0;
    if (offset > 0) { /* keep exactly the first `offset` bytes */
        id_trunc = xb_begin(c, &b, FXP_FSETSTAT);
        xb_str(&b, handle, hl);
        xb_u32(&b, LIBSSH2_SFTP_ATTR_SIZE);
        xb_u64(&b, offset);
        xb_end(&b);
    }
    for (uint64_t off = offset; off < total; off += XCH_WRITE_MAX) {
        uint64_t n = total - off < XCH_WRITE_MAX ? total - off : XCH_WRITE_MAX;
        uint32_t wid = xb_begin(c, &b, FXP_WRITE);
        if (nwrites++ == 0)
            id_first_write = wid;
        xb_str(&b, handle, hl);
        xb_u64(&b, off);
        xb_str(&b, data + (off - offset), (size_t)n);
        xb_end(&b);
    }
    uint32_t id_fstat = xb_begin(c, &b, FXP_FSTAT);
    xb_str(&b, handle, hl);
    xb_end(&b);
    uint32_t id_close = xb_begin(c, &b, FXP_CLOSE);
    xb_str(&b, handle, hl);
    xb_end(&b);
    if ((rc = xch_send(c, &b, "write", rel, err)) != RSL_OK)
        goto done;
    /* read every reply (keeps the channel in step); the first error wins,
     * unless the session itself dies */
    uint32_t ids[4] = {id_trunc, 0, id_fstat, id_close};
    uint64_t size = 0;
    for (int step = 0; step < 4; step++) {
        uint32_t count = step == 1 ? nwrites : ids[step] != 0;
        for (uint32_t k = 0; k < count; k++) {
            rsl_err scratch = {0};
            if (step == 0)
                rc = xch_status(c, id_trunc, "truncate", rel, &scratch);
            else if (step == 1)
                rc = xch_status(c, id_first_write + k, "write", rel, &scratch);
            else if (step == 2)
                rc = xch_attrs_size(c, id_fstat, &size, "stat", rel, &scratch);
            else
                rc = xch_status(c, id_close, "close", rel, &scratch);
            if (c->dead) {
                *err = scratch;
                goto done;
            }
            if (rc != RSL_OK && first == RSL_OK) {
                first = rc;
                ferr = scratch;
            }
        }
    }
    if (first != RSL_OK) {
        *err = ferr;
        rc = first;
        goto done;
    }
    free(c->last_tmp);
    c->last_tmp = strdup(rel);
    c->last_size = size;
    rc = RSL_OK;
done:
    free(pkt);
    free(b.p);
    return rc;
}

/* SETSTAT (mtime) of the temp file and posix-rename@openssh.com (rename(2)
 * semantics: replaces newpath atomically) as one batch. */
static rsl_code xch_finish(rsl_conn *c, const char *from, const char *to, int64_t mtime,
                           const char *tmp_rel, const char *rel, rsl_err *err)
{
    static const char ext[] = "posix-rename@openssh.com";
    xbuf b = {0};
    uint32_t id_set = 0;
    if (mtime >= 0) {
        id_set = xb_begin(c, &b, FXP_SETSTAT);
        xb_str(&b, from, strlen(from));
        xb_u32(&b, LIBSSH2_SFTP_ATTR_ACMODTIME);
        xb_u32(&b, (uint32_t)mtime);
        xb_u32(&b, (uint32_t)mtime);
        xb_end(&b);
    }
    uint32_t id_ren = xb_begin(c, &b, FXP_EXTENDED);
    xb_str(&b, ext, sizeof(ext) - 1);
    xb_str(&b, from, strlen(from));
    xb_str(&b, to, strlen(to));
    xb_end(&b);
    rsl_code rc = xch_send(c, &b, "rename to", rel, err);
    free(b.p);
    if (rc != RSL_OK)
        return rc;
    rsl_err serr = {0};
    rsl_code src = id_set ? xch_status(c, id_set, "set mtime", tmp_rel, &serr) : RSL_OK;
    if (c->dead) {
        *err = serr;
        return src;
    }
    rc = xch_status(c, id_ren, "rename to", rel, err);
    if (rc == RSL_OK && src != RSL_OK) {
        *err = serr; /* in place, but without its mtime: the item is retried */
        rc = src;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* connect / disconnect */

static void conn_free(rsl_conn *c)
{
    if (c == NULL)
        return;
    if (c->dead && c->sock >= 0)
        shutdown(c->sock, SHUT_RDWR); /* every libssh2 call below fails fast */
    xch_close(c);
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
    dir_cache_clear(c);
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

static rsl_code sftp_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                             rsl_err *err)
{
    *out = NULL;
    pthread_once(&init_once, do_init);
    if (init_rc != 0)
        return rsl_err_set(err, RSL_E_INTERNAL, init_rc, "libssh2_init failed");
    rsl_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    c->sock = -1;
    c->o = *opts;
    c->opts = &c->o;
    c->strict = opts->strict_host_key_checking != 0;
    c->port = rsl_endpoint_port(ep, opts);
    rsl_code rc = RSL_OK;
    char *khfile = NULL;
    const char *user = opts->username && opts->username[0] ? opts->username : ep->user;
    char pwbuf[4096];
    struct passwd pwd, *pw = NULL;
    if (user == NULL || user[0] == '\0') /* as ssh: the local login name */
        getpwuid_r(getuid(), &pwd, pwbuf, sizeof(pwbuf), &pw);
    c->user = strdup(user && user[0] ? user : pw ? pw->pw_name : "root");
    c->host = strdup(ep->host ? ep->host : "");
    c->root = strdup(ep->path && ep->path[0] ? ep->path : "/");
    if (c->user == NULL || c->host == NULL || c->root == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
    }
    if (c->host[0] == '\0') {
        rc = rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "sftp destination has no host");
        goto done;
    }
    int tsec = opts->timeout_sec > 0 ? opts->timeout_sec : 60;
    if ((rc = tcp_connect(c, tsec * 1000, err)) != RSL_OK)
        goto done;

    c->ss = libssh2_session_init_ex(NULL, NULL, NULL, c);
    if (c->ss == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "libssh2_session_init failed");
        goto done;
    }
    libssh2_session_set_blocking(c->ss, 1);
    libssh2_session_set_timeout(c->ss, (long)tsec * 1000);
    libssh2_session_flag(c->ss, LIBSSH2_FLAG_COMPRESS, 0);

    khfile = known_hosts_path(opts);
    if (khfile == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
    }
    char known[256], prefs[256];
    rsl_knownhosts_types(khfile, c->host, c->port, known, sizeof(known));
    hostkey_prefs(opts->host_key_fingerprint ? "" : known, prefs, sizeof(prefs));
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_HOSTKEY, prefs);
    /* fastest first (AES-NI); libssh2 1.10 has no AES-GCM or chacha20 */
    static const char ciphers[] = "aes128-ctr,aes192-ctr,aes256-ctr,aes256-cbc,aes128-cbc";
    static const char macs[] = "hmac-sha2-256,hmac-sha2-512,hmac-sha1";
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_CRYPT_CS, ciphers);
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_CRYPT_SC, ciphers);
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_MAC_CS, macs);
    libssh2_session_method_pref(c->ss, LIBSSH2_METHOD_MAC_SC, macs);

    if (libssh2_session_handshake(c->ss, c->sock) != 0) {
        int e = libssh2_session_last_errno(c->ss);
        if (e == LIBSSH2_ERROR_SOCKET_DISCONNECT || e == LIBSSH2_ERROR_SOCKET_RECV ||
            e == LIBSSH2_ERROR_BANNER_RECV) {
            c->dead = 1;
            rc = rsl_err_set(err, RSL_E_CONNECT_REFUSED, e,
                             "%s:%d closed the connection during the SSH handshake (not an SSH "
                             "server, or it refuses this client: allow-list, MaxStartups)",
                             c->host, c->port);
        } else {
            rc = map_ssh(c, err, "SSH handshake with", c->host);
        }
        goto done;
    }
    if ((rc = verify_hostkey(c, khfile, err)) != RSL_OK)
        goto done;
    if ((rc = authenticate(c, err)) != RSL_OK)
        goto done;

    c->sftp = libssh2_sftp_init(c->ss);
    if (c->sftp == NULL) {
        rc = map_ssh(c, err, "start SFTP subsystem on", c->host);
        if (rc == RSL_E_CONNECTION_LOST && !session_broken(c)) {
            c->dead = 0;
            rc = rsl_err_set(err, RSL_E_PROTOCOL, libssh2_session_last_errno(c->ss),
                             "%s:%d refused the SFTP subsystem (SFTP disabled for this account?)",
                             c->host, c->port);
        }
        goto done;
    }
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (libssh2_sftp_stat_ex(c->sftp, c->root, (unsigned)strlen(c->root), LIBSSH2_SFTP_STAT, &a) !=
        0) {
        rc = map_ssh(c, err, "destination directory", c->root);
        if (rc == RSL_E_REMOTE_NOT_FOUND || rc == RSL_E_REMOTE_PERMISSION)
            rc = rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, err->native,
                             "destination directory '%s' on %s: %s", c->root, c->host,
                             rc == RSL_E_REMOTE_NOT_FOUND ? "does not exist" : "permission denied");
        goto done;
    }
    rsl_rstat st;
    attrs_to_rstat(&a, &st);
    if (!st.is_dir) {
        rc = rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, 0,
                         "destination '%s' on %s is not a directory", c->root, c->host);
        goto done;
    }
    if ((rc = xch_open(c, err)) != RSL_OK)
        goto done;
    int ka = tsec / 4 > KEEPALIVE_MIN ? tsec / 4 : KEEPALIVE_MIN;
    libssh2_keepalive_config(c->ss, 1, (unsigned)ka);
done:
    free(khfile);
    if (rc != RSL_OK) {
        if (rc == RSL_E_TIMEOUT || rc == RSL_E_CONNECTION_LOST)
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
    char path[PATH_BUF];
    int pl = mkpath(c, rel, path, sizeof(path));
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    if (pl < 0)
        return path_too_long(c, err, rel);
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (libssh2_sftp_stat_ex(c->sftp, path, (unsigned)pl, LIBSSH2_SFTP_LSTAT, &a) != 0) {
        rsl_code rc = map_ssh(c, err, "stat", rel);
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
    if (rel[0] == '\0' || dir_cached(c, rel))
        return RSL_OK;
    char path[PATH_BUF];
    int pl = mkpath(c, rel, path, sizeof(path));
    if (pl < 0)
        return path_too_long(c, err, rel);
    if (libssh2_sftp_mkdir_ex(c->sftp, path, (unsigned)pl, 0755) == 0) {
        dir_cache_add(c, rel);
        return RSL_OK;
    }
    rsl_code rc = map_ssh(c, err, "mkdir", rel);
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
        dir_cache_add(c, rel);
        return RSL_OK;
    }
    if (st.exists)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, err->native,
                           "mkdir '%s' on %s: a file of that name exists", rel, c->host);
    return rc;
}

/* Compares the last `n` bytes before `end` of the remote temp file with the
 * source (pread). Returns 1 if equal, 0 if not (or unreadable), or -1 with
 * *err set when the session failed. */
static int tail_matches(rsl_conn *c, const char *tmp_rel, uint64_t end, size_t n, rsl_source *src,
                        rsl_err *err)
{
    char path[PATH_BUF];
    int pl = mkpath(c, tmp_rel, path, sizeof(path));
    unsigned char *remote = malloc(2 * n), *local = remote + n;
    int ok = 0;
    if (pl < 0 || remote == NULL) {
        free(remote);
        return 0;
    }
    LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_open_ex(c->sftp, path, (unsigned)pl, LIBSSH2_FXF_READ, 0,
                                                  LIBSSH2_SFTP_OPENFILE);
    if (h == NULL) {
        map_ssh(c, err, "read", tmp_rel);
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
        map_ssh(c, err, "read", tmp_rel);
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
            logf_(c, RSL_LOG_INFO,
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
    char path[PATH_BUF];
    int pl = mkpath(c, rel, path, sizeof(path));
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

static rsl_code sftp_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                            rsl_source *src, rsl_err *err)
{
    char path[PATH_BUF];
    int pl = mkpath(c, tmp_rel, path, sizeof(path));
    if (pl < 0)
        return path_too_long(c, err, tmp_rel);
    if (c->buf == NULL && (c->buf = malloc(INFLIGHT + READ_CHUNK)) == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    free(c->last_tmp);
    c->last_tmp = NULL;
    if (c->xch != NULL && total - offset <= SMALL_MAX) {
        /* small: the whole rest in one batch on the side channel */
        size_t want = (size_t)(total - offset), got = 0;
        while (got < want) {
            ssize_t n = src->read(src, c->buf + got, want - got, err);
            if (n < 0)
                return err->code;
            if (n == 0)
                return rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                                   "'%s': local file ended at %llu of %llu bytes", tmp_rel,
                                   (unsigned long long)(offset + got), (unsigned long long)total);
            got += (size_t)n;
        }
        rsl_code rc = xch_upload(c, path, tmp_rel, offset, total, c->buf, err);
        if (rc == RSL_E_REMOTE_IO)
            rc = open_failed(c, rc, tmp_rel, err);
        return rc;
    }
    unsigned long flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT;
    if (offset == 0)
        flags |= LIBSSH2_FXF_TRUNC;
    LIBSSH2_SFTP_HANDLE *h =
        libssh2_sftp_open_ex(c->sftp, path, (unsigned)pl, flags, 0644, LIBSSH2_SFTP_OPENFILE);
    if (h == NULL)
        return open_failed(c, map_ssh(c, err, "open", tmp_rel), tmp_rel, err);
    rsl_code rc = RSL_OK;
    if (offset > 0) {
        /* keep exactly the first `offset` bytes: anything beyond is unverified */
        LIBSSH2_SFTP_ATTRIBUTES a = {.flags = LIBSSH2_SFTP_ATTR_SIZE, .filesize = offset};
        if (libssh2_sftp_fsetstat(h, &a) != 0) {
            rc = map_ssh(c, err, "truncate", tmp_rel);
            goto done;
        }
        libssh2_sftp_seek64(h, offset);
    }
    /* libssh2_sftp_write() copies what it is given into write requests and
     * keeps them queued until acknowledged; on the next call it skips (never
     * reads) the first `queued` bytes of the buffer it is passed. So fresh
     * bytes always land at c->buf + INFLIGHT and the call is handed
     * c->buf + INFLIGHT - queued: no copying of unacknowledged data. Requests
     * in flight stay between INFLIGHT - READ_CHUNK and INFLIGHT bytes. */
    size_t queued = 0;
    uint64_t pos = offset, pulled = offset;
    while (pos < total) {
        size_t fresh = 0;
        if (queued + READ_CHUNK <= INFLIGHT && pulled < total) {
            uint64_t want = total - pulled;
            if (want > READ_CHUNK)
                want = READ_CHUNK;
            unsigned char *dst = c->buf + INFLIGHT;
            size_t got = 0;
            while (got < want) {
                ssize_t n = src->read(src, dst + got, (size_t)want - got, err);
                if (n < 0) {
                    rc = err->code;
                    goto done;
                }
                if (n == 0) {
                    rc = rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0,
                                     "'%s': local file ended at %llu of %llu bytes", tmp_rel,
                                     (unsigned long long)(pulled + got), (unsigned long long)total);
                    goto done;
                }
                got += (size_t)n;
            }
            fresh = got;
            pulled += got;
        }
        ssize_t w = libssh2_sftp_write(h, (const char *)c->buf + INFLIGHT - queued, queued + fresh);
        if (w < 0) {
            rc = map_ssh(c, err, "write", tmp_rel);
            refine_no_space(c, err, tmp_rel);
            rc = err->code;
            goto done;
        }
        queued = queued + fresh - (size_t)w;
        pos += (uint64_t)w;
        int next = 0;
        if (libssh2_keepalive_send(c->ss, &next) != 0) {
            rc = map_ssh(c, err, "keepalive during", tmp_rel);
            goto done;
        }
    }
done:
    if (c->dead) {
        /* fail every further I/O at once; close_handle still frees the
         * handle and its queued write requests */
        shutdown(c->sock, SHUT_RDWR);
        libssh2_sftp_close_handle(h);
        return rc;
    }
    if (rc == RSL_OK) {
        /* the size after the last write, for finish()'s size check */
        LIBSSH2_SFTP_ATTRIBUTES a;
        if (libssh2_sftp_fstat(h, &a) == 0 && (a.flags & LIBSSH2_SFTP_ATTR_SIZE)) {
            c->last_tmp = strdup(tmp_rel);
            c->last_size = a.filesize;
        } else if (c->dead) {
            return map_ssh(c, err, "stat", tmp_rel);
        }
    }
    if (libssh2_sftp_close_handle(h) != 0 && rc == RSL_OK) {
        rc = map_ssh(c, err, "close", tmp_rel);
        refine_no_space(c, err, tmp_rel);
        rc = err->code;
        free(c->last_tmp);
        c->last_tmp = NULL;
    }
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
    rsl_code rc = map_ssh(c, err, "rename to", final_rel);
    if (rc != RSL_E_REMOTE_IO && rc != RSL_E_REMOTE_TYPE_CONFLICT)
        return rc;
    char aside[PATH_BUF];
    int al = snprintf(aside, sizeof(aside), "%s.rsl-old", to);
    if (al < 0 || (size_t)al >= sizeof(aside))
        return path_too_long(c, err, final_rel);
    libssh2_sftp_unlink_ex(c->sftp, aside, (unsigned)al); /* stale from a crash */
    if (libssh2_sftp_rename_ex(c->sftp, to, (unsigned)strlen(to), aside, (unsigned)al, flags) != 0)
        return map_ssh(c, err, "move aside", final_rel);
    if (libssh2_sftp_rename_ex(c->sftp, from, (unsigned)strlen(from), to, (unsigned)strlen(to),
                               flags) != 0) {
        rc = map_ssh(c, err, "rename to", final_rel);
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
    char from[PATH_BUF], to[PATH_BUF];
    int fl = mkpath(c, tmp_rel, from, sizeof(from)), tl = mkpath(c, final_rel, to, sizeof(to));
    if (fl < 0 || tl < 0)
        return path_too_long(c, err, final_rel);
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
            return map_ssh(c, err, "stat", tmp_rel);
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
        rc = xch_finish(c, from, to, mtime, tmp_rel, final_rel, err);
    } else {
        if (mtime >= 0) {
            LIBSSH2_SFTP_ATTRIBUTES m = {.flags = LIBSSH2_SFTP_ATTR_ACMODTIME,
                                         .atime = (unsigned long)mtime,
                                         .mtime = (unsigned long)mtime};
            if (libssh2_sftp_stat_ex(c->sftp, from, (unsigned)fl, LIBSSH2_SFTP_SETSTAT, &m) != 0)
                return map_ssh(c, err, "set mtime", tmp_rel);
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
    char path[PATH_BUF];
    int pl = mkpath(c, rel, path, sizeof(path));
    if (pl < 0)
        return path_too_long(c, err, rel);
    int r = is_dir ? libssh2_sftp_rmdir_ex(c->sftp, path, (unsigned)pl)
                   : libssh2_sftp_unlink_ex(c->sftp, path, (unsigned)pl);
    if (is_dir)
        dir_cache_clear(c); /* rare; keeps the cache simple and never stale */
    if (r == 0)
        return RSL_OK;
    rsl_code rc = map_ssh(c, err, "delete", rel);
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
    char path[PATH_BUF];
    int pl = mkpath(c, rel, path, sizeof(path));
    if (pl < 0)
        return path_too_long(c, err, rel);
    LIBSSH2_SFTP_HANDLE *h =
        libssh2_sftp_open_ex(c->sftp, path, (unsigned)pl, 0, 0, LIBSSH2_SFTP_OPENDIR);
    if (h == NULL)
        return map_ssh(c, err, "list", rel);
    rsl_code rc = RSL_OK;
    char name[4096];
    for (;;) {
        LIBSSH2_SFTP_ATTRIBUTES a;
        int n = libssh2_sftp_readdir_ex(h, name, sizeof(name), NULL, 0, &a);
        if (n == 0)
            break;
        if (n < 0) {
            rc = map_ssh(c, err, "list", rel);
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
