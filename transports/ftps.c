/*
 * ftps.c - the FTPS transport on libcurl. See ftps.h and docs/transport-ftps.md.
 *
 * One CURL easy handle per rsl_conn, driven by the connection's own multi handle
 * (whose connection cache holds the control connection between performs); curl
 * opens a new control connection (and logs in again) when it was lost.
 * Metadata operations are performs on the remote root URL with CURLOPT_NOBODY
 * and a CURLOPT_QUOTE list of commands, each prefixed with '*' so curl runs all
 * of them whatever they answer; the replies are read back from a transcript
 * built by the debug callback (command sent -> reply code and text), and
 * interpreted here. Uploads are STOR (offset 0) or APPE (resume) on the file's
 * URL, pulling bytes from the rsl_source through CURLOPT_READFUNCTION.
 *
 * TLS is capped at 1.2: libcurl 7.88 with TLS 1.3 loses the session on the
 * second upload over a reused control connection and vsftpd, with its default
 * require_ssl_reuse=YES, refuses that data connection with 522 (see the doc).
 */
#define _GNU_SOURCE
#include "ftps.h"

#include "base/buf.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FTPS_UPLOAD_BUF (1L << 20)
#define FTPS_REPLY_CAP (64 * 1024) /* bytes of reply text kept per command */
#define FTPS_LIST_CAP (64u << 20)  /* a directory listing larger than this is refused */
#define FTPS_DEFAULT_TIMEOUT 60
#define FTPS_POLL_CAP_MS 5

typedef struct reply {
    char cmd[512]; /* the command line as sent ("" for the greeting); PASS is masked */
    int code;      /* final reply code, 0 if none came */
    char *text;    /* every reply line, '\n'-separated, without CRLF */
    size_t len;
} reply;

typedef struct dirset {
    char **slot;
    size_t cap, n;
} dirset;

struct rsl_conn {
    CURL *h;
    CURLM *m;                    /* drives h; owns the connection cache (the control connection) */
    rsl_remote_opts o;           /* a copy: the caller's struct may not outlive connect */
    const rsl_remote_opts *opts; /* = &o; its strings are borrowed for the connection */
    char *base;                  /* "ftp://127.0.0.1:2121" (implicit: "ftps://...") */
    char *typeurl; /* the remote root as a file URL: NOBODY on it makes curl send TYPE I */
    char *root;    /* absolute remote root without trailing '/', "" for "/" */
    char *host;    /* for messages */
    char *user;    /* for messages */
    int port;
    int insecure; /* plain ftp:// */
    int timeout;  /* seconds */
    /* FEAT facts */
    int has_mlsd, has_mlst, has_mfmt, has_utf8;
    int mdtm_write;        /* 1 yes, 0 unknown, -1 no: "MDTM time path" sets mtime (vsftpd) */
    int need_setup;        /* the control connection in use lacks OPTS UTF8 ON / TYPE I */
    int ascii;             /* curl left the session in TYPE A (after a listing) */
    int rename_overwrites; /* 1: RNTO replaces an existing file; 0 once a server refused */
    /* SIZE of the temp file asked right after its upload (POSTQUOTE), for finish */
    char *after_upload_path;
    uint64_t after_upload_size;
    int after_upload_ok;
    dirset made; /* directories known to exist */
    /* transcript of the current perform */
    reply *rep;
    size_t nrep, caprep;
    char errbuf[CURL_ERROR_SIZE];
    /* upload state */
    rsl_source *src;
    uint64_t to_send, sent;
    rsl_err src_err;
    int src_failed;
    /* listing state */
    rsl_buf list; /* a listing's raw text, capped at FTPS_LIST_CAP */
    rsl_ftps_stats stats;
};

/* ---- small helpers ---------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void logf_(const rsl_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(const rsl_conn *c, int level, const char *fmt, ...)
{
    if (c->opts == NULL || c->opts->log == NULL)
        return;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->opts->log(c->opts->ud, level, msg);
}

/* 1 if the name holds a byte that must never reach an FTP control connection
 * (CR and LF end a command: a name with them could inject commands). */
static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static rsl_code check_name(const char *rel, rsl_err *err)
{
    if (rel == NULL)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "ftps: NULL path");
    if (has_ctl(rel))
        return rsl_err_set(err, RSL_E_NAME_CONTROL_CHAR, 0,
                           "'%s': a control character (CR/LF) in the name; refused before it "
                           "could reach the FTP control connection",
                           rel);
    return RSL_OK;
}

/* Absolute remote path of rel (malloc'd). */
static char *full_path(const rsl_conn *c, const char *rel)
{
    size_t n = strlen(c->root) + strlen(rel) + 3;
    char *p = malloc(n);
    if (p == NULL)
        return NULL;
    if (rel[0] == '\0')
        snprintf(p, n, "%s", c->root[0] ? c->root : "/");
    else
        snprintf(p, n, "%s/%s", c->root, rel);
    return p;
}

/* URL of absolute path `abs`: every byte but unreserved ones and '/' is
 * percent-encoded; the leading '/' becomes "%2F" so curl uses it as absolute. */
static char *url_of(const rsl_conn *c, const char *abs, int dir)
{
    size_t n = strlen(c->base) + 3 * strlen(abs) + 8;
    char *u = malloc(n);
    if (u == NULL)
        return NULL;
    size_t j = (size_t)snprintf(u, n, "%s/%%2F", c->base);
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)abs + (abs[0] == '/'); *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '/') {
            u[j++] = (char)*p;
        } else {
            u[j++] = '%';
            u[j++] = hex[*p >> 4];
            u[j++] = hex[*p & 15];
        }
    }
    if (dir && j > 0 && u[j - 1] != '/')
        u[j++] = '/';
    u[j] = '\0';
    return u;
}

/* ---- directory cache (open addressing, FNV-1a) -------------------------------------- */

static size_t fnv(const char *s)
{
    size_t h = (size_t)1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * (size_t)1099511628211ull;
    return h;
}

static size_t dirset_find(const dirset *d, const char *k)
{
    size_t i = fnv(k) & (d->cap - 1);
    while (d->slot[i] != NULL && strcmp(d->slot[i], k) != 0)
        i = (i + 1) & (d->cap - 1);
    return i;
}

static int dirset_has(const dirset *d, const char *k)
{
    return d->cap > 0 && d->slot[dirset_find(d, k)] != NULL;
}

static int dirset_add(dirset *d, const char *k)
{
    if ((d->n + 1) * 2 > d->cap) {
        dirset g = {.cap = d->cap ? d->cap * 2 : 64};
        g.slot = calloc(g.cap, sizeof(char *));
        if (g.slot == NULL)
            return -1;
        for (size_t i = 0; i < d->cap; i++)
            if (d->slot[i])
                g.slot[dirset_find(&g, d->slot[i])] = d->slot[i];
        g.n = d->n;
        free(d->slot);
        *d = g;
    }
    size_t i = dirset_find(d, k);
    if (d->slot[i] != NULL)
        return 0;
    if ((d->slot[i] = strdup(k)) == NULL)
        return -1;
    d->n++;
    return 0;
}

/* Forgets k and every cached path under it (a removed directory). */
static void dirset_forget(dirset *d, const char *k)
{
    size_t kl = strlen(k);
    int any = 0;
    for (size_t i = 0; i < d->cap; i++)
        if (d->slot[i] && strncmp(d->slot[i], k, kl) == 0 &&
            (d->slot[i][kl] == '\0' || d->slot[i][kl] == '/')) {
            free(d->slot[i]);
            d->slot[i] = NULL;
            d->n--;
            any = 1;
        }
    if (!any)
        return;
    /* rebuild so probe chains stay intact */
    dirset g = {.cap = d->cap, .n = 0};
    g.slot = calloc(g.cap, sizeof(char *));
    if (g.slot == NULL) { /* keep a smaller but valid cache: forget everything */
        for (size_t i = 0; i < d->cap; i++)
            free(d->slot[i]);
        memset(d->slot, 0, d->cap * sizeof(char *));
        d->n = 0;
        return;
    }
    for (size_t i = 0; i < d->cap; i++)
        if (d->slot[i]) {
            g.slot[dirset_find(&g, d->slot[i])] = d->slot[i];
            g.n++;
        }
    free(d->slot);
    *d = g;
}

static void dirset_free(dirset *d)
{
    for (size_t i = 0; i < d->cap; i++)
        free(d->slot[i]);
    free(d->slot);
    memset(d, 0, sizeof(*d));
}

/* ---- transcript (debug callback) ---------------------------------------------------- */

static void rep_clear(rsl_conn *c)
{
    for (size_t i = 0; i < c->nrep; i++)
        free(c->rep[i].text);
    c->nrep = 0;
}

static reply *rep_new(rsl_conn *c, const char *cmd, size_t n)
{
    if (c->nrep == c->caprep) {
        size_t cap = c->caprep ? c->caprep * 2 : 16;
        reply *r = realloc(c->rep, cap * sizeof(*r));
        if (r == NULL)
            return NULL;
        c->rep = r;
        c->caprep = cap;
    }
    reply *r = &c->rep[c->nrep++];
    memset(r, 0, sizeof(*r));
    if (n >= 5 && strncasecmp(cmd, "PASS ", 5) == 0) { /* the secret is never copied */
        snprintf(r->cmd, sizeof(r->cmd), "PASS ****");
        return r;
    }
    if (n >= sizeof(r->cmd))
        n = sizeof(r->cmd) - 1;
    memcpy(r->cmd, cmd, n);
    r->cmd[n] = '\0';
    return r;
}

static void rep_line(rsl_conn *c, const char *line, size_t n)
{
    reply *r = c->nrep ? &c->rep[c->nrep - 1] : NULL;
    if (r == NULL || r->code != 0) /* a reply with no command: greeting, or a late 4xx */
        r = rep_new(c, "", 0);
    if (r == NULL)
        return;
    if (r->len + n + 2 <= FTPS_REPLY_CAP) {
        char *t = realloc(r->text, r->len + n + 2);
        if (t != NULL) {
            r->text = t;
            if (r->len)
                r->text[r->len++] = '\n';
            memcpy(r->text + r->len, line, n);
            r->len += n;
            r->text[r->len] = '\0';
        }
    }
    /* "NNN text" ends a reply; "NNN-text" and other lines continue it */
    if (n >= 3 && isdigit((unsigned char)line[0]) && isdigit((unsigned char)line[1]) &&
        isdigit((unsigned char)line[2]) && (n == 3 || line[3] == ' '))
        r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    rsl_conn *c = ud;
    if (type == CURLINFO_TEXT) {
        /* "TLSv1.2 (IN), TLS handshake, Server hello (2):" */
        if (size > 20 && memmem(data, size, "(IN), TLS handshake, ", 21) != NULL) {
            if (memmem(data, size, "Server hello (2)", 16) != NULL)
                c->stats.tls_handshakes++;
            else if (memmem(data, size, "Certificate (11)", 16) != NULL)
                c->stats.tls_full_handshakes++;
        }
        return 0;
    }
    if (type != CURLINFO_HEADER_OUT && type != CURLINFO_HEADER_IN)
        return 0;
    size_t i = 0;
    while (i < size) {
        size_t e = i;
        while (e < size && data[e] != '\r' && data[e] != '\n')
            e++;
        if (e > i) {
            if (type == CURLINFO_HEADER_OUT) {
                if (e - i > 5 && strncasecmp(data + i, "USER ", 5) == 0) {
                    c->stats.control_connects++; /* a login: a new control connection */
                    c->ascii = 0;
                }
                rep_new(c, data + i, e - i);
            } else
                rep_line(c, data + i, e - i);
        }
        while (e < size && (data[e] == '\r' || data[e] == '\n'))
            e++;
        i = e;
    }
    return 0;
}

/* Last transcript entry for command `cmd` (as sent, without the '*'). */
static const reply *rep_find(const rsl_conn *c, const char *cmd)
{
    for (size_t i = c->nrep; i-- > 0;)
        if (strcmp(c->rep[i].cmd, cmd) == 0)
            return &c->rep[i];
    return NULL;
}

/* The last reply of the perform that came with a code (for curl-level errors). */
static const reply *rep_last(const rsl_conn *c)
{
    for (size_t i = c->nrep; i-- > 0;)
        if (c->rep[i].code != 0)
            return &c->rep[i];
    return NULL;
}

/* Last line of a reply's text, for messages. */
static const char *rep_text(const reply *r)
{
    if (r == NULL || r->text == NULL)
        return "";
    const char *nl = strrchr(r->text, '\n');
    return nl ? nl + 1 : r->text;
}

/* ---- error mapping ------------------------------------------------------------------ */

static int text_has(const char *t, const char *needle)
{
    return t != NULL && strcasestr(t, needle) != NULL;
}

/* Maps an FTP reply code (and its text) onto the catalog: one place decides. */
static rsl_code map_reply(rsl_err *err, int code, const char *text, const char *what,
                          const char *path)
{
    rsl_code rc;
    switch (code) {
    case 421:
        /* "too many users/connections, try later" is load; anything else ("Timeout",
         * "shutting down") closed this session */
        if (text_has(text, "too many") || text_has(text, "later") ||
            text_has(text, "connections") || text_has(text, "busy"))
            rc = RSL_E_REMOTE_BUSY;
        else
            rc = RSL_E_CONNECTION_LOST;
        break;
    case 425:
        rc = RSL_E_PASSIVE_FAILED;
        break;
    case 426:
        rc = RSL_E_CONNECTION_LOST;
        break;
    case 450:
        rc = RSL_E_REMOTE_LOCKED;
        break;
    case 452:
    case 552:
        rc = RSL_E_REMOTE_NO_SPACE;
        break;
    case 501:
    case 553:
        if (text_has(text, "name") || text_has(text, "invalid") || text_has(text, "syntax"))
            rc = RSL_E_REMOTE_NAME_REFUSED;
        else
            rc = RSL_E_REMOTE_PERMISSION;
        break;
    case 530:
    case 532:
        rc = RSL_E_AUTH_FAILED;
        break;
    case 522:
    case 534:
    case 536:
        rc = RSL_E_TLS_FAILED;
        break;
    case 550:
        if (text_has(text, "no such") || text_has(text, "not found") ||
            text_has(text, "not exist") || text_has(text, "failed to open"))
            rc = RSL_E_REMOTE_NOT_FOUND;
        else
            rc = RSL_E_REMOTE_PERMISSION;
        break;
    case 451:
        rc = RSL_E_REMOTE_IO;
        break;
    case 500:
    case 502:
    case 504:
        rc = RSL_E_PROTOCOL;
        break;
    default:
        rc = code >= 400 && code < 500 ? RSL_E_REMOTE_IO : RSL_E_PROTOCOL;
        break;
    }
    if (code == 522)
        return rsl_err_set(err, rc, code,
                           "%s '%s': server answered \"%s\" (the data connection's TLS "
                           "session was not resumed; see require_ssl_reuse in "
                           "docs/transport-ftps.md)",
                           what, path, text ? text : "522");
    if (text == NULL || text[0] == '\0')
        return rsl_err_set(err, rc, code, "%s '%s': server answered %d", what, path, code);
    return rsl_err_set(err, rc, code, "%s '%s': server answered \"%s\"", what, path, text);
}

static int is_conn_error(CURLcode e)
{
    return e == CURLE_SEND_ERROR || e == CURLE_RECV_ERROR || e == CURLE_GOT_NOTHING ||
           e == CURLE_PARTIAL_FILE || e == CURLE_OPERATION_TIMEDOUT ||
           e == CURLE_FTP_WEIRD_SERVER_REPLY || e == CURLE_SSL_CONNECT_ERROR ||
           e == CURLE_UPLOAD_FAILED || e == CURLE_COULDNT_CONNECT;
}

/* Maps a CURLcode from a perform onto the catalog: one place decides. `what`
 * names the operation and `path` the item (or the host for connect). */
static rsl_code map_curl(rsl_conn *c, CURLcode e, rsl_err *err, const char *what, const char *path)
{
    const char *eb = c->errbuf[0] ? c->errbuf : curl_easy_strerror(e);
    const reply *last = rep_last(c);
    int code = last ? last->code : 0;
    long vr = 0;
    if (code == 421) /* whatever curl made of it, the server said why */
        return map_reply(err, code, rep_text(last), what, path);
    switch (e) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return rsl_err_set(err, RSL_E_DNS_FAILED, e, "%s: cannot resolve host '%s': %s", what,
                           c->host, eb);
    case CURLE_COULDNT_CONNECT:
        if (last != NULL && (last->code == 229 || last->code == 227))
            return rsl_err_set(err, RSL_E_PASSIVE_FAILED, e,
                               "%s '%s': the passive data connection to %s could not be opened "
                               "(%s); a firewall may block the server's passive port range",
                               what, path, c->host, eb);
        return rsl_err_set(err, RSL_E_CONNECT_REFUSED, e, "%s: cannot connect to %s:%d: %s", what,
                           c->host, c->port, eb);
    case CURLE_FTP_WEIRD_PASV_REPLY:
    case CURLE_FTP_WEIRD_227_FORMAT:
    case CURLE_FTP_CANT_GET_HOST:
    case CURLE_FTP_ACCEPT_FAILED:
    case CURLE_FTP_ACCEPT_TIMEOUT:
        return rsl_err_set(err, RSL_E_PASSIVE_FAILED, e,
                           "%s '%s': passive mode (EPSV/PASV) failed on %s: %s; a firewall may "
                           "block the server's passive port range",
                           what, path, c->host, eb);
    case CURLE_OPERATION_TIMEDOUT:
        return rsl_err_set(err, RSL_E_TIMEOUT, e, "%s '%s': no progress from %s for %d s: %s", what,
                           path, c->host, c->timeout, eb);
    case CURLE_LOGIN_DENIED:
        /* the reply text names the reason; the password is never in the transcript */
        return rsl_err_set(err, RSL_E_AUTH_FAILED, code ? (long)code : (long)e,
                           "login to %s:%d as '%s' refused: %s", c->host, c->port, c->user,
                           last ? rep_text(last) : eb);
    case CURLE_PEER_FAILED_VERIFICATION:
        curl_easy_getinfo(c->h, CURLINFO_SSL_VERIFYRESULT, &vr);
        if (vr == X509_V_ERR_CERT_HAS_EXPIRED || vr == X509_V_ERR_CERT_NOT_YET_VALID)
            return rsl_err_set(err, RSL_E_TLS_EXPIRED, vr,
                               "TLS certificate of %s:%d is expired or not yet valid: %s", c->host,
                               c->port, eb);
        if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH ||
            text_has(eb, "subject name") || text_has(eb, "does not match"))
            return rsl_err_set(err, RSL_E_TLS_NAME_MISMATCH, vr,
                               "TLS certificate of %s:%d does not name '%s': %s", c->host, c->port,
                               c->host, eb);
        return rsl_err_set(err, RSL_E_TLS_UNTRUSTED, vr,
                           "TLS certificate of %s:%d is not trusted: %s", c->host, c->port, eb);
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return rsl_err_set(err, RSL_E_TLS_UNTRUSTED, e,
                           "TLS key of %s:%d does not match pinned_pubkey: %s", c->host, c->port,
                           eb);
    case CURLE_USE_SSL_FAILED:
        return rsl_err_set(err, RSL_E_TLS_FAILED, code ? (long)code : (long)e,
                           "%s:%d refused AUTH TLS (\"%s\"): the server does not offer explicit "
                           "FTPS (try ftps_mode = implicit)",
                           c->host, c->port, last ? rep_text(last) : eb);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
        return rsl_err_set(err, RSL_E_TLS_FAILED, e, "%s: TLS with %s:%d failed: %s", what, c->host,
                           c->port, eb);
    case CURLE_REMOTE_DISK_FULL:
        return rsl_err_set(err, RSL_E_REMOTE_NO_SPACE, code ? (long)code : (long)e,
                           "%s '%s': remote disk full or quota exceeded: %s", what, path,
                           last ? rep_text(last) : eb);
    case CURLE_OUT_OF_MEMORY:
        return rsl_err_set(err, RSL_E_NO_MEMORY, e, "out of memory");
    default:
        break;
    }
    /* the server said something: its reply code decides */
    if (code >= 400 && (e == CURLE_UPLOAD_FAILED || e == CURLE_QUOTE_ERROR ||
                        e == CURLE_REMOTE_ACCESS_DENIED || e == CURLE_REMOTE_FILE_NOT_FOUND ||
                        e == CURLE_FTP_COULDNT_RETR_FILE || e == CURLE_FTP_PORT_FAILED))
        return map_reply(err, code, rep_text(last), what, path);
    if (code == 522 || code == 425 || code == 426)
        return map_reply(err, code, rep_text(last), what, path);
    if (is_conn_error(e))
        return rsl_err_set(err, RSL_E_CONNECTION_LOST, e, "%s '%s': connection to %s:%d lost: %s",
                           what, path, c->host, c->port, eb);
    return rsl_err_set(err, RSL_E_PROTOCOL, e, "%s '%s' on %s:%d: %s (last reply \"%s\")", what,
                       path, c->host, c->port, eb, rep_text(last));
}

/* ---- performs ------------------------------------------------------------------------- */

static size_t discard_cb(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

/* Resets the per-operation options of the handle. */
static void reset_op(rsl_conn *c)
{
    curl_easy_setopt(c->h, CURLOPT_UPLOAD, 0L);
    curl_easy_setopt(c->h, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c->h, CURLOPT_APPEND, 0L);
    curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c->h, CURLOPT_QUOTE, NULL);
    curl_easy_setopt(c->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(c->h, CURLOPT_POSTQUOTE, NULL);
    c->errbuf[0] = '\0';
    c->after_upload_ok = 0; /* whatever it described is stale after another command */
    rep_clear(c);
}

/* Runs one transfer. Driven through the connection's own multi handle rather
 * than curl_easy_perform: libcurl 7.88 sometimes does not wake itself after the
 * EPSV reply and sits in its internal poll until the 1 s fallback timeout (seen
 * as a 1 s pause before "Trying ..." on a data connection); polling with a short
 * cap bounds that pause to FTPS_POLL_CAP_MS. The control connection lives in
 * this multi handle's connection cache between transfers. */
static CURLcode do_perform(rsl_conn *c, const char *url)
{
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    CURLcode e = CURLE_OK;
    if (curl_multi_add_handle(c->m, c->h) != CURLM_OK)
        return CURLE_OUT_OF_MEMORY;
    int running = 1;
    while (running) {
        CURLMcode mc = curl_multi_perform(c->m, &running);
        if (mc == CURLM_OK && running)
            mc = curl_multi_poll(c->m, NULL, 0, FTPS_POLL_CAP_MS, NULL);
        if (mc != CURLM_OK) {
            e = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_RECV_ERROR;
            break;
        }
    }
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(c->m, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->h)
            e = msg->data.result;
    curl_multi_remove_handle(c->m, c->h);
    if (e != CURLE_OK && is_conn_error(e))
        c->need_setup = 1; /* curl drops that connection; the next one needs setup */
    return e;
}

/* Sends commands (without '*') on the control connection, in order, whatever
 * each answers; the replies are then in the transcript (rep_find). Prepends the
 * session setup when the connection in use may lack it, and runs the list again
 * once if curl had to open a new connection for it (a fresh login may be in
 * ASCII mode or without UTF-8). Returns RSL_OK when the server answered. */
static rsl_code run_cmds(rsl_conn *c, const char *const *cmds, size_t n, const char *what,
                         const char *path, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    struct curl_slist *q = NULL;
    char line[4200];
    for (int attempt = 0; attempt < 2; attempt++) {
        curl_slist_free_all(q);
        q = NULL;
        /* setup: OPTS UTF8 ON, and TYPE I sent by curl itself (the NOBODY perform on
         * a file URL sends TYPE I, SIZE, REST 0): curl then knows the session is
         * binary. A TYPE I of our own would leave curl to send one more right
         * after opening the next upload's data connection, and curl 7.88 waits for
         * that reply only when its 200 ms connect timer fires. */
        int setup = c->need_setup || c->ascii;
        if (setup && c->has_utf8 && (q = curl_slist_append(q, "*OPTS UTF8 ON")) == NULL)
            goto nomem;
        for (size_t i = 0; i < n; i++) {
            snprintf(line, sizeof(line), "*%s", cmds[i]);
            struct curl_slist *t = curl_slist_append(q, line);
            if (t == NULL)
                goto nomem;
            q = t;
        }
        reset_op(c);
        curl_easy_setopt(c->h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c->h, CURLOPT_QUOTE, q);
        long before = c->stats.control_connects;
        CURLcode e = do_perform(c, setup ? c->typeurl : c->base);
        if (setup && e == CURLE_REMOTE_FILE_NOT_FOUND)
            e = CURLE_OK; /* the SIZE of the root directory: 550 as expected */
        curl_easy_setopt(c->h, CURLOPT_QUOTE, NULL);
        if (e != CURLE_OK) {
            rc = map_curl(c, e, err, what, path);
            goto done;
        }
        if (setup) {
            c->need_setup = 0;
            c->ascii = 0;
        }
        if (c->stats.control_connects == before || setup)
            goto done;
        c->need_setup = 1; /* new connection without setup: run once more with it */
    }
done:
    curl_slist_free_all(q);
    return rc;
nomem:
    curl_slist_free_all(q);
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

/* Reply code of command `cmd` after run_cmds, 0 if it was not answered. */
static int code_of(const rsl_conn *c, const char *cmd, const char **text)
{
    const reply *r = rep_find(c, cmd);
    if (text)
        *text = rep_text(r);
    return r ? r->code : 0;
}

/* SIZE reply -> value; returns 1 if 213 with a number. */
static int parse_size(const rsl_conn *c, const char *cmd, uint64_t *size)
{
    const char *t = NULL;
    if (code_of(c, cmd, &t) != 213 || strlen(t) < 5)
        return 0;
    char *e = NULL;
    errno = 0;
    unsigned long long v = strtoull(t + 4, &e, 10);
    if (errno != 0 || e == t + 4)
        return 0;
    *size = v;
    return 1;
}

/* "YYYYMMDDHHMMSS[.sss]" (UTC) -> epoch seconds, -1 if malformed */
static int64_t parse_ftp_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (strlen(s) < 14)
        return -1;
    for (int i = 0; i < 14; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1;
    int v[6], w[6] = {4, 2, 2, 2, 2, 2}, o = 0;
    for (int k = 0; k < 6; k++) {
        v[k] = 0;
        for (int i = 0; i < w[k]; i++)
            v[k] = v[k] * 10 + (s[o++] - '0');
    }
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    return (int64_t)timegm(&tm);
}

/* ---- connect -------------------------------------------------------------------------- */

static rsl_code read_password(const rsl_remote_opts *o, char **out, rsl_err *err)
{
    *out = NULL;
    if (o->password_file != NULL) {
        FILE *f = fopen(o->password_file, "r");
        if (f == NULL)
            return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, errno,
                               "password_file '%s' cannot be read: %s", o->password_file,
                               strerror(errno));
        char buf[1024];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        if (n == 0) {
            explicit_bzero(buf, sizeof(buf));
            return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, 0, "password_file '%s' is empty",
                               o->password_file);
        }
        *out = strdup(buf);
        explicit_bzero(buf, sizeof(buf));
    } else if (o->password_env != NULL && o->password_env[0] != '\0') {
        *out = strdup(o->password_env);
    } else {
        return rsl_err_set(err, RSL_E_SECRET_MISSING, 0,
                           "ftps: no password: set password_file or RSYNCD_LITE_PASSWORD");
    }
    if (*out == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    return RSL_OK;
}

static void ftps_disconnect(rsl_conn *c)
{
    if (c == NULL)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    if (c->m)
        curl_multi_cleanup(c->m); /* closes the cached control connection (QUIT) */
    rep_clear(c);
    free(c->rep);
    rsl_buf_free(&c->list);
    dirset_free(&c->made);
    free(c->base);
    free(c->typeurl);
    free(c->after_upload_path);
    free(c->root);
    free(c->host);
    free(c->user);
    free(c);
}

/* Reads FEAT's answer into the connection's facts. */
static void parse_feat(rsl_conn *c, const char *text)
{
    for (const char *l = text; l && *l;) {
        const char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        while (n > 0 && *l == ' ') {
            l++;
            n--;
        }
        if (n >= 4 && strncasecmp(l, "MLSD", 4) == 0)
            c->has_mlsd = 1;
        else if (n >= 4 && strncasecmp(l, "MLST", 4) == 0)
            c->has_mlst = c->has_mlsd = 1; /* MLSD comes with MLST (RFC 3659) */
        else if (n >= 4 && strncasecmp(l, "MFMT", 4) == 0)
            c->has_mfmt = 1;
        else if (n >= 4 && strncasecmp(l, "UTF8", 4) == 0)
            c->has_utf8 = 1;
        l = e ? e + 1 : NULL;
    }
}

static rsl_code ftps_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                             rsl_err *err)
{
    static const rsl_remote_opts no_opts = {.tls_verify = 1};
    rsl_code rc = RSL_OK;
    char *pw = NULL;
    rsl_conn *c = NULL;
    *out = NULL;
    if (opts == NULL)
        opts = &no_opts;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return rsl_err_set(err, RSL_E_INTERNAL, curl_init_rc, "curl_global_init failed");
    int insecure = strcasecmp(ep->scheme, "ftp") == 0;
    if (insecure && !opts->allow_insecure)
        return rsl_err_set(err, RSL_E_INSECURE_REFUSED, 0,
                           "ftp://%s: plain FTP sends the password and files in clear text; use "
                           "ftps:// (or set allow_insecure = yes)",
                           ep->host ? ep->host : "");
    const char *user = opts->username ? opts->username : ep->user;
    if (user == NULL || user[0] == '\0')
        return rsl_err_set(err, RSL_E_SECRET_MISSING, 0,
                           "ftps://%s: no user name: put it in the URL (ftps://user@host/path) or "
                           "set username",
                           ep->host ? ep->host : "");
    if (has_ctl(user) || has_ctl(ep->host ? ep->host : "") || has_ctl(ep->path ? ep->path : ""))
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "ftps: a control character in the user, host or path of destination");
    if ((rc = read_password(opts, &pw, err)) != RSL_OK)
        return rc;
    if (has_ctl(pw)) { /* CR/LF would end the PASS command and start another */
        explicit_bzero(pw, strlen(pw));
        free(pw);
        return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, 0,
                           "ftps: the password contains a control character (CR, LF, ...): "
                           "an FTP server cannot receive it");
    }

    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto nomem;
    c->o = *opts;
    c->opts = &c->o;
    c->insecure = insecure;
    c->rename_overwrites = 1;
    c->timeout = opts->timeout_sec > 0 ? opts->timeout_sec : FTPS_DEFAULT_TIMEOUT;
    int implicit = !insecure && opts->ftps_implicit;
    c->port = rsl_endpoint_port(ep, opts);
    c->host = strdup(ep->host ? ep->host : "");
    c->root = strdup(ep->path && strcmp(ep->path, "/") != 0 ? ep->path : "");
    c->user = strdup(user);
    if (c->host == NULL || c->root == NULL || c->user == NULL)
        goto nomem;
    {
        int v6 = strchr(c->host, ':') != NULL;
        size_t n = strlen(c->host) + 32;
        if ((c->base = malloc(n)) == NULL)
            goto nomem;
        snprintf(c->base, n, "%s://%s%s%s:%d", implicit ? "ftps" : "ftp", v6 ? "[" : "", c->host,
                 v6 ? "]" : "", c->port);
    }
    if ((c->typeurl = url_of(c, c->root[0] ? c->root : "/", 0)) == NULL)
        goto nomem;
    if ((c->h = curl_easy_init()) == NULL || (c->m = curl_multi_init()) == NULL)
        goto nomem;
    curl_multi_setopt(c->m, CURLMOPT_MAXCONNECTS, 1L);
    CURL *h = c->h;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "ftp,ftps");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* feeds debug_cb: the reply transcript */
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, c);
    curl_easy_setopt(h, CURLOPT_USERNAME, user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, pw); /* curl keeps its own copy */
    explicit_bzero(pw, strlen(pw));
    free(pw);
    pw = NULL;
    if (!insecure) {
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        curl_easy_setopt(h, CURLOPT_FTPSSLAUTH, (long)CURLFTPAUTH_TLS);
        /* TLS 1.2 only: see the file comment and docs/transport-ftps.md */
        curl_easy_setopt(h, CURLOPT_SSLVERSION,
                         (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
        curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 1L);
        /* the bundle file only (ca_file, or curl's default bundle): without a CA
         * directory, curl 7.88 caches the parsed store in the multi handle instead
         * of reading and parsing the bundle again for every data connection */
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        if (opts->ca_file)
            curl_easy_setopt(h, CURLOPT_CAINFO, opts->ca_file);
        if (opts->pinned_pubkey) {
            curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, opts->pinned_pubkey);
            /* a pin without ca_file trusts exactly that key (a self-signed server):
             * the chain is not checked, the key is */
            if (opts->ca_file == NULL)
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        }
        if (!opts->tls_verify) {
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
            logf_(c, RSL_LOG_WARN,
                  "ftps://%s:%d: tls_verify = no: the server's certificate is NOT verified; "
                  "anyone on the path can read the password and the files",
                  c->host, c->port);
        }
    } else {
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
        logf_(c, RSL_LOG_WARN,
              "ftp://%s:%d: plain FTP (allow_insecure = yes): the password and the files cross "
              "the network unencrypted",
              c->host, c->port);
    }
    curl_easy_setopt(h, CURLOPT_FTP_USE_EPSV, 1L); /* EPSV, then PASV if refused */
    curl_easy_setopt(h, CURLOPT_FTP_SKIP_PASV_IP, 1L);
    curl_easy_setopt(h, CURLOPT_FTP_FILEMETHOD, (long)CURLFTPMETHOD_NOCWD);
    curl_easy_setopt(h, CURLOPT_FTP_CREATE_MISSING_DIRS, (long)CURLFTP_CREATE_DIR_NONE);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->timeout);
    curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)c->timeout);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->timeout);
    /* the control connection sits idle during long uploads: keep NATs and
     * firewalls from forgetting it */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, FTPS_UPLOAD_BUF);
    curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L);

    /* login + facts + root check in one perform */
    char cwd[4200];
    snprintf(cwd, sizeof(cwd), "CWD %s", c->root[0] ? c->root : "/");
    const char *first[] = {"FEAT", cwd};
    c->need_setup = 1; /* TYPE I with the first commands */
    if ((rc = run_cmds(c, first, 2, "connect", c->host, err)) != RSL_OK)
        goto fail;
    const reply *feat = rep_find(c, "FEAT");
    if (feat && feat->code == 211)
        parse_feat(c, feat->text);
    const char *t = NULL;
    int cc = code_of(c, cwd, &t);
    if (cc == 421) {
        rc = map_reply(err, cc, t, "connect", c->host);
        goto fail;
    }
    if (cc != 250) {
        rc = rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, cc,
                         "destination directory '%s' on %s does not exist or is not a directory "
                         "(\"%s\")",
                         c->root[0] ? c->root : "/", c->host, cc ? t : "no reply");
        goto fail;
    }
    c->need_setup = 0;
    if (c->has_utf8) { /* names are raw UTF-8: tell servers that would transcode them */
        const char *utf8[] = {"OPTS UTF8 ON"};
        if ((rc = run_cmds(c, utf8, 1, "connect", c->host, err)) != RSL_OK)
            goto fail;
    }
    *out = c;
    return RSL_OK;
nomem:
    rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
fail:
    if (pw) {
        explicit_bzero(pw, strlen(pw));
        free(pw);
    }
    ftps_disconnect(c);
    return rc;
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
             c->insecure              ? "PLAIN FTP, unencrypted"
             : c->opts->ftps_implicit ? "implicit TLS, TLS 1.2"
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
    rsl_code rc;
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    if ((rc = check_name(rel, err)) != RSL_OK)
        return rc;
    char *p = full_path(c, rel);
    if (p == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    char size[4200], mdtm[4200], cwd[4200];
    snprintf(size, sizeof(size), "SIZE %s", p);
    snprintf(mdtm, sizeof(mdtm), "MDTM %s", p);
    snprintf(cwd, sizeof(cwd), "CWD %s", p);
    const char *cmds[] = {size, mdtm, cwd};
    if ((rc = run_cmds(c, cmds, 3, "stat", rel, err)) != RSL_OK)
        goto done;
    uint64_t sz = 0;
    const char *t = NULL;
    if (code_of(c, cwd, NULL) == 250) {
        st->exists = 1;
        st->is_dir = 1;
    } else if (parse_size(c, size, &sz)) {
        st->exists = 1;
        st->size = sz;
        if (code_of(c, mdtm, &t) == 213 && strlen(t) > 4)
            st->mtime = parse_ftp_time(t + 4);
    } else {
        int code = code_of(c, size, &t);
        if (code == 421 || code == 530)
            rc = map_reply(err, code, t, "stat", rel);
    }
done:
    free(p);
    return rc;
}

static rsl_code ftps_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    rsl_code rc;
    if ((rc = check_name(rel, err)) != RSL_OK)
        return rc;
    if (rel[0] == '\0' || dirset_has(&c->made, rel))
        return RSL_OK;
    char *p = full_path(c, rel);
    if (p == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    char mkd[4200], size[4200], cwd[4200];
    snprintf(mkd, sizeof(mkd), "MKD %s", p);
    snprintf(size, sizeof(size), "SIZE %s", p);
    snprintf(cwd, sizeof(cwd), "CWD %s", p);
    const char *cmds[] = {mkd};
    if ((rc = run_cmds(c, cmds, 1, "mkdir", rel, err)) != RSL_OK)
        goto done;
    const char *t = NULL;
    int code = code_of(c, mkd, &t);
    if (code != 257 && code != 250) {
        /* 550 also means "exists": a directory is fine, a file is a conflict */
        char *mt = strdup(t ? t : "");
        const char *chk[] = {cwd, size};
        if (mt == NULL) {
            rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
            goto done;
        }
        rc = run_cmds(c, chk, 2, "mkdir", rel, err);
        if (rc == RSL_OK) {
            if (code_of(c, cwd, NULL) == 250)
                rc = RSL_OK;
            else if (code_of(c, size, NULL) == 213)
                rc = rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, code,
                                 "mkdir '%s': a file of that name exists on the remote", rel);
            else
                rc = map_reply(err, code, mt, "mkdir", rel);
        }
        free(mt);
        if (rc != RSL_OK)
            goto done;
    }
    if (dirset_add(&c->made, rel) != 0)
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
done:
    free(p);
    return rc;
}

/* ---- upload --------------------------------------------------------------------------- */

static rsl_code remote_size(rsl_conn *c, const char *rel, const char *p, int *exists,
                            uint64_t *size, rsl_err *err)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "SIZE %s", p);
    const char *cmds[] = {cmd};
    rsl_code rc = run_cmds(c, cmds, 1, "size", rel, err);
    if (rc != RSL_OK)
        return rc;
    *exists = parse_size(c, cmd, size);
    if (!*exists) {
        const char *t = NULL;
        int code = code_of(c, cmd, &t);
        if (code == 421 || code == 530 || code == 0)
            return map_reply(err, code, t, "size", rel);
    }
    return RSL_OK;
}

static rsl_code ftps_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total,
                                   rsl_source *src, uint64_t *have, rsl_err *err)
{
    (void)src;
    *have = 0;
    rsl_code rc = check_name(tmp_rel, err);
    if (rc != RSL_OK)
        return rc;
    char *p = full_path(c, tmp_rel);
    if (p == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    int exists = 0;
    uint64_t sz = 0;
    rc = remote_size(c, tmp_rel, p, &exists, &sz, err);
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

static rsl_code ftps_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                            rsl_source *src, rsl_err *err)
{
    rsl_code rc = check_name(tmp_rel, err);
    if (rc != RSL_OK)
        return rc;
    if (offset > total)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "upload '%s': offset %llu > size %llu", tmp_rel,
                           (unsigned long long)offset, (unsigned long long)total);
    char *p = full_path(c, tmp_rel);
    char *url = p ? url_of(c, p, 0) : NULL;
    if (url == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
    }
    int exists = 0;
    uint64_t sz = 0;
    if (offset > 0) {
        /* APPE appends at the server's end of file: it must be exactly offset */
        if ((rc = remote_size(c, tmp_rel, p, &exists, &sz, err)) != RSL_OK)
            goto done;
        if (!exists || sz != offset) {
            rc = rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                             "upload '%s': cannot resume at %llu: the remote temp file has %s%llu "
                             "bytes now",
                             tmp_rel, (unsigned long long)offset, exists ? "" : "(absent) ",
                             (unsigned long long)sz);
            goto done;
        }
        if (offset == total)
            goto done; /* every byte is there already */
    }
    if (c->need_setup || c->ascii) {
        /* binary mode set by curl before the data connection opens (see run_cmds) */
        if ((rc = run_cmds(c, NULL, 0, "upload", tmp_rel, err)) != RSL_OK)
            goto done;
    }
    reset_op(c);
    struct curl_slist *q = NULL;
    if (c->need_setup && c->has_utf8)
        q = curl_slist_append(NULL, "*OPTS UTF8 ON");
    /* the size check finish needs, asked on the same round (saves a request per file) */
    char sizecmd[4200];
    snprintf(sizecmd, sizeof(sizecmd), "*SIZE %s", p);
    struct curl_slist *pq = curl_slist_append(NULL, sizecmd);
    if (pq == NULL) {
        curl_slist_free_all(q);
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
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
    CURLcode e = do_perform(c, url);
    curl_easy_setopt(c->h, CURLOPT_QUOTE, NULL);
    curl_easy_setopt(c->h, CURLOPT_POSTQUOTE, NULL);
    curl_easy_setopt(c->h, CURLOPT_UPLOAD, 0L);
    curl_slist_free_all(q);
    curl_slist_free_all(pq);
    if (e == CURLE_OK && !c->src_failed && parse_size(c, sizecmd + 1, &sz)) {
        free(c->after_upload_path);
        if ((c->after_upload_path = strdup(tmp_rel)) != NULL) {
            c->after_upload_size = sz;
            c->after_upload_ok = 1;
        }
    }
    c->stats.data_transfers++;
    c->src = NULL;
    c->need_setup = e != CURLE_OK && is_conn_error(e);
    if (c->src_failed) {
        if (err)
            *err = c->src_err;
        rc = c->src_err.code != RSL_OK ? c->src_err.code : RSL_E_LOCAL_UNREADABLE;
        goto done;
    }
    if (e == CURLE_OK)
        goto done;
    rc = map_curl(c, e, err, "upload", tmp_rel);
    if (c->sent == c->to_send && rsl_code_class(rc) == RSL_CLASS_SESSION &&
        rc != RSL_E_AUTH_FAILED) {
        /* every byte left but the final 226 never came (timeout, cut): the file may
         * well be complete. Ask before deciding anything (never restart a nearly
         * complete file); curl opens a new control connection if needed. */
        rsl_err e2;
        rsl_err_clear(&e2);
        if (remote_size(c, tmp_rel, p, &exists, &sz, &e2) == RSL_OK && exists && sz == total) {
            logf_(c, RSL_LOG_INFO,
                  "upload '%s': no final reply (%s) but the remote has all %llu bytes", tmp_rel,
                  rsl_code_name(rc), (unsigned long long)total);
            rc = RSL_OK;
        }
    }
done:
    free(url);
    free(p);
    return rc;
}

/* ---- finish / remove ------------------------------------------------------------------ */

static rsl_code ftps_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                            int64_t mtime, rsl_err *err)
{
    rsl_code rc;
    if ((rc = check_name(tmp_rel, err)) != RSL_OK || (rc = check_name(final_rel, err)) != RSL_OK)
        return rc;
    char *tp = full_path(c, tmp_rel), *fp = full_path(c, final_rel);
    char *tmtext = NULL;
    if (tp == NULL || fp == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
    }
    int exists = 0;
    uint64_t sz = 0;
    if (c->after_upload_ok && strcmp(c->after_upload_path, tmp_rel) == 0) {
        exists = 1; /* the server's SIZE, asked right after the upload's 226 */
        sz = c->after_upload_size;
    } else if ((rc = remote_size(c, tmp_rel, tp, &exists, &sz, err)) != RSL_OK) {
        goto done;
    }
    if (!exists) {
        rc = rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 550,
                         "finish '%s': the uploaded temp file is missing on the remote", tmp_rel);
        goto done;
    }
    if (sz != size) {
        rc = rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                         "'%s': remote temp file has %llu bytes, expected %llu", tmp_rel,
                         (unsigned long long)sz, (unsigned long long)size);
        goto done;
    }
    /* mtime on the temp file first: the final name appears with it (rename keeps it) */
    char mt[4300] = "", rnfr[4200], rnto[4200], dele[4200], cwd[4200];
    if (mtime >= 0 && (c->has_mfmt || c->mdtm_write >= 0)) {
        time_t tt = (time_t)mtime;
        struct tm tm;
        char ts[32];
        gmtime_r(&tt, &tm);
        strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
        snprintf(mt, sizeof(mt), "%s %s %s", c->has_mfmt ? "MFMT" : "MDTM", ts, tp);
    }
    snprintf(rnfr, sizeof(rnfr), "RNFR %s", tp);
    snprintf(rnto, sizeof(rnto), "RNTO %s", fp);
    snprintf(dele, sizeof(dele), "DELE %s", fp);
    snprintf(cwd, sizeof(cwd), "CWD %s", fp);
    const char *cmds[4];
    size_t n = 0;
    if (mt[0])
        cmds[n++] = mt;
    if (!c->rename_overwrites)
        cmds[n++] = dele;
    cmds[n++] = rnfr;
    cmds[n++] = rnto;
    if ((rc = run_cmds(c, cmds, n, "rename", final_rel, err)) != RSL_OK)
        goto done;
    if (mt[0] && !c->has_mfmt && c->mdtm_write == 0)
        c->mdtm_write = code_of(c, mt, NULL) == 213 ? 1 : -1;
    const char *t = NULL;
    int code = code_of(c, rnto, &t);
    if (code == 250)
        goto done;
    int fcode = code_of(c, rnfr, NULL);
    if (fcode != 350) {
        rc = map_reply(err, fcode, t, "rename (RNFR)", tmp_rel);
        if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_PERMISSION)
            err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
        goto done;
    }
    /* RNTO refused: a directory in the way, or a server that does not overwrite */
    if ((tmtext = strdup(t ? t : "")) == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
    }
    char fsize[4200];
    snprintf(fsize, sizeof(fsize), "SIZE %s", fp);
    const char *probe[] = {cwd, fsize};
    if ((rc = run_cmds(c, probe, 2, "rename", final_rel, err)) != RSL_OK)
        goto done;
    if (code_of(c, cwd, NULL) == 250) {
        rc = rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, code,
                         "rename '%s' -> '%s': a directory of that name exists on the remote",
                         tmp_rel, final_rel);
        goto done;
    }
    /* remove-then-rename only when an existing file is what stands in the way: any
     * other refusal must not cost the old version */
    if (c->rename_overwrites && code_of(c, fsize, NULL) == 213) {
        const char *again[] = {dele, rnfr, rnto};
        if ((rc = run_cmds(c, again, 3, "rename", final_rel, err)) != RSL_OK)
            goto done;
        if (code_of(c, rnto, NULL) == 250) {
            c->rename_overwrites = 0;
            logf_(c, RSL_LOG_INFO,
                  "%s: RNTO does not replace existing files; replacing with DELE + RNTO "
                  "(not atomic)",
                  c->host);
            goto done;
        }
        code = code_of(c, rnto, &t);
        free(tmtext);
        if ((tmtext = strdup(t ? t : "")) == NULL) {
            rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
            goto done;
        }
    }
    rc = map_reply(err, code, tmtext, "rename into place", final_rel);
    if (rc == RSL_E_REMOTE_IO || rc == RSL_E_REMOTE_PERMISSION || rc == RSL_E_REMOTE_NOT_FOUND)
        err->code = rc = RSL_E_REMOTE_RENAME_FAILED;
done:
    free(tmtext);
    free(tp);
    free(fp);
    return rc;
}

static rsl_code ftps_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    rsl_code rc = check_name(rel, err);
    if (rc != RSL_OK)
        return rc;
    if (rel[0] == '\0')
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "remove: refusing to remove the remote root");
    char *p = full_path(c, rel);
    if (p == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    char cmd[4200], size[4200], cwd[4200];
    snprintf(cmd, sizeof(cmd), "%s %s", is_dir ? "RMD" : "DELE", p);
    snprintf(size, sizeof(size), "SIZE %s", p);
    snprintf(cwd, sizeof(cwd), "CWD %s", p);
    const char *cmds[] = {cmd, size, cwd};
    if (is_dir)
        dirset_forget(&c->made, rel);
    /* the probes after the delete tell "already absent" from "refused" */
    if ((rc = run_cmds(c, cmds, 3, "delete", rel, err)) != RSL_OK)
        goto done;
    const char *t = NULL;
    int code = code_of(c, cmd, &t);
    if (code == 250 || code == 200)
        goto done;
    if (code_of(c, size, NULL) != 213 && code_of(c, cwd, NULL) != 250)
        goto done; /* already absent */
    rc = map_reply(err, code, t, "delete", rel);
    /* a bare 550 on an item that is still there: not empty, or refused; only a
     * reply that says "permission" is reported as such */
    if (rsl_code_class(rc) != RSL_CLASS_SESSION &&
        !(rc == RSL_E_REMOTE_PERMISSION && (text_has(t, "permission") || text_has(t, "denied"))))
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

/* One MLSD line: "fact=v;fact=v; name". Returns 1 with *name set, 0 to skip. */
static int parse_mlsd(char *line, const char **name, rsl_rstat *st)
{
    char *sp = strstr(line, "; ");
    if (sp == NULL)
        return 0;
    *sp = '\0';
    *name = sp + 2;
    st->exists = 1;
    int type_ok = 0;
    char *save = NULL;
    for (char *f = strtok_r(line, ";", &save); f; f = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(f, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcasecmp(f, "type") == 0) {
            if (strcasecmp(v, "file") == 0) {
                type_ok = 1;
            } else if (strcasecmp(v, "dir") == 0) {
                type_ok = 1;
                st->is_dir = 1;
            } /* cdir, pdir, OS.unix=symlink...: skipped */
        } else if (strcasecmp(f, "size") == 0) {
            st->size = strtoull(v, NULL, 10);
        } else if (strcasecmp(f, "modify") == 0) {
            st->mtime = parse_ftp_time(v);
        }
    }
    return type_ok;
}

static int month_of(const char *m)
{
    static const char *mon[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; i++)
        if (strncasecmp(m, mon[i], 3) == 0)
            return i;
    return -1;
}

/* One Unix-style LIST line: "drwxr-xr-x 2 u g 4096 Nov 22 02:33 name". */
static int parse_list(char *line, const char **name, rsl_rstat *st)
{
    char *f[8];
    char *p = line;
    if (line[0] != '-' && line[0] != 'd')
        return 0; /* "total N", links, devices */
    for (int i = 0; i < 8; i++) {
        while (*p == ' ')
            p++;
        f[i] = p;
        while (*p && *p != ' ')
            p++;
        if (*p == '\0')
            return 0;
        *p++ = '\0';
    }
    if (*p == ' ')
        p++; /* exactly one separator before the name */
    *name = p;
    st->exists = 1;
    st->is_dir = line[0] == 'd';
    st->size = strtoull(f[4], NULL, 10);
    st->mtime = -1;
    int mon = month_of(f[5]);
    if (mon >= 0) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        tm.tm_mon = mon;
        tm.tm_mday = (int)strtol(f[6], NULL, 10);
        if (strchr(f[7], ':') != NULL) {
            time_t now = time(NULL);
            struct tm nt;
            gmtime_r(&now, &nt);
            tm.tm_year = nt.tm_year;
            tm.tm_hour = (int)strtol(f[7], NULL, 10);
            tm.tm_min = (int)strtol(strchr(f[7], ':') + 1, NULL, 10);
            int64_t t = (int64_t)timegm(&tm);
            if (t > (int64_t)now + 86400) { /* "Dec 31 10:00" seen in January */
                tm.tm_year--;
                t = (int64_t)timegm(&tm);
            }
            st->mtime = t;
        } else {
            tm.tm_year = (int)strtol(f[7], NULL, 10) - 1900;
            st->mtime = (int64_t)timegm(&tm);
        }
    }
    return 1;
}

typedef struct lent {
    const char *name;
    rsl_rstat st;
} lent;

#define FTPS_MDTM_ROUND 256 /* MDTM commands per request */

/* Fills the exact mtime of the files among ents (in directory dir) with MDTM. */
static rsl_code list_mdtm(rsl_conn *c, const char *dir, const char *rel, lent *ents, size_t n,
                          rsl_err *err)
{
    rsl_code rc = RSL_OK;
    char **cmds = calloc(FTPS_MDTM_ROUND, sizeof(char *));
    size_t *idx = calloc(FTPS_MDTM_ROUND, sizeof(size_t));
    if (cmds == NULL || idx == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && rc == RSL_OK;) {
        size_t k = 0;
        for (; i < n && k < FTPS_MDTM_ROUND; i++) {
            if (ents[i].st.is_dir || has_ctl(ents[i].name))
                continue;
            size_t len = strlen(dir) + strlen(ents[i].name) + 8;
            if ((cmds[k] = malloc(len)) == NULL) {
                rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
                break;
            }
            snprintf(cmds[k], len, "MDTM %s%s%s", dir, strcmp(dir, "/") ? "/" : "", ents[i].name);
            idx[k++] = i;
        }
        if (rc == RSL_OK && k > 0 &&
            (rc = run_cmds(c, (const char *const *)cmds, k, "list", rel, err)) == RSL_OK) {
            for (size_t j = 0; j < k; j++) {
                const char *t = NULL;
                if (code_of(c, cmds[j], &t) == 213 && strlen(t) > 4)
                    ents[idx[j]].st.mtime = parse_ftp_time(t + 4);
            }
        }
        for (size_t j = 0; j < k; j++) {
            free(cmds[j]);
            cmds[j] = NULL;
        }
    }
done:
    free(cmds);
    free(idx);
    return rc;
}

static rsl_code ftps_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    lent *ents = NULL;
    size_t n = 0, cap = 0;
    rsl_code rc = check_name(rel, err);
    if (rc != RSL_OK)
        return rc;
    char *p = full_path(c, rel);
    char *url = p ? url_of(c, p, 1) : NULL;
    if (url == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        goto done;
    }
    reset_op(c);
    rsl_buf_reset(&c->list, FTPS_LIST_CAP - 1);
    if (c->has_mlsd)
        curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, "MLSD");
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, list_cb);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    CURLcode e = do_perform(c, url);
    c->ascii = 1; /* curl lists in TYPE A */
    c->stats.data_transfers++;
    curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, NULL);
    if (e != CURLE_OK) {
        if (c->list.truncated)
            rc = rsl_err_set(err, RSL_E_PROTOCOL, 0, "list '%s': listing larger than %u MiB", rel,
                             FTPS_LIST_CAP >> 20);
        else
            rc = map_curl(c, e, err, "list", rel);
        goto done;
    }
    if (c->list.n == 0)
        goto done;
    /* parse every line first: names point into c->list.p, which the MDTM rounds below
     * leave alone */
    char *save = NULL;
    for (char *line = strtok_r(c->list.p, "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save)) {
        rsl_rstat st = {.mtime = -1};
        const char *name = NULL;
        int ok = c->has_mlsd ? parse_mlsd(line, &name, &st) : parse_list(line, &name, &st);
        if (!ok || name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            lent *g = realloc(ents, ncap * sizeof(*g));
            if (g == NULL) {
                rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
                goto done;
            }
            ents = g;
            cap = ncap;
        }
        ents[n].name = name;
        ents[n].st = st;
        n++;
    }
    /* LIST says "Nov 22 03:17" (minutes, or only the day for old files): ask MDTM for
     * the exact second of each file, in rounds of commands on the control connection */
    if (!c->has_mlsd && (rc = list_mdtm(c, p, rel, ents, n, err)) != RSL_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (cb(ud, ents[i].name, &ents[i].st) != 0)
            break;
done:
    free(ents);
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
    return (s->flags & RSL_SCHEME_SECURE) && opts->ftps_implicit ? 990 : s->default_port;
}

const rsl_transport_ops rsl_transport_ftps = {
    .default_port = ftps_default_port,
    .version = RSL_TRANSPORT_VERSION,
    .name = "ftps",
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME,
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
