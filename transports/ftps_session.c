/*
 * ftps_session.c - the control connection of an ftps connection. See
 * ftps_session.h and ftps.c.
 */
#define _GNU_SOURCE
#include "ftps_session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "curlmap.h"
#include "secret.h"

#define FTPS_UPLOAD_BUF (1L << 20)
#define FTPS_DEFAULT_TIMEOUT 60
#define FTPS_POLL_CAP_MS 5
#define FTPS_SPINS 8 /* multi_perform calls in a row while curl keeps moving on */

/* ---- small helpers ---------------------------------------------------------------- */

void rsl_ftps_log(const rsl_conn *c, int level, const char *fmt, ...)
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

static rsl_code oom(rsl_err *err)
{
    return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
}

rsl_code rsl_ftps_path(const rsl_conn *c, const char *rel, char **out, rsl_err *err)
{
    *out = NULL;
    rsl_code rc = rsl_ftpctl_check_name(rel, err);
    if (rc != RSL_OK)
        return rc;
    if (rel[0] == '\0')
        *out = strdup(c->root[0] ? c->root : "/");
    else if (asprintf(out, "%s/%s", c->root, rel) < 0)
        *out = NULL;
    return *out ? RSL_OK : oom(err);
}

rsl_code rsl_ftps_fits(const char *verb, const char *p, const char *rel, rsl_err *err)
{
    size_t n = strlen(verb) + 1 + strlen(p) + 2;
    if (n <= RSL_FTPCTL_LINE_MAX)
        return RSL_OK;
    char ab[200];
    return rsl_err_set(err, RSL_E_PATH_TOO_LONG, ENAMETOOLONG,
                       "the FTP command '%s <path>' would be %zu bytes, more than the %d an FTP "
                       "server accepts in one command line (vsftpd closes the session beyond "
                       "it): shorten the path (or set max_path_length): '%s'",
                       verb, n, RSL_FTPCTL_LINE_MAX, rsl_ftpctl_abbrev(rel, ab, sizeof(ab)));
}

rsl_code rsl_ftps_add(rsl_ftps_cmds *b, size_t *idx, const char *rel, rsl_err *err, const char *fmt,
                      ...)
{
    if (b->n >= RSL_FTPS_CMDS_MAX)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "ftps: more than %d commands in one batch",
                           RSL_FTPS_CMDS_MAX);
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (r < 0)
        return oom(err);
    rsl_code rc = rsl_ftpctl_fits(line, rel, err);
    if (rc != RSL_OK) {
        free(line);
        return rc;
    }
    if (idx)
        *idx = b->n;
    b->v[b->n++] = line;
    return RSL_OK;
}

void rsl_ftps_cmds_free(rsl_ftps_cmds *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i]);
    b->n = 0;
}

int64_t rsl_ftps_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rsl_ftps_code(const rsl_conn *c, const char *cmd, const char **text)
{
    return rsl_ftpctl_code(&c->rep, cmd, text);
}

int rsl_ftps_size(const rsl_conn *c, const char *cmd, uint64_t *size)
{
    return rsl_ftpctl_size(rsl_ftpctl_find(&c->rep, cmd), size);
}

/* ---- transcript (debug callback) ---------------------------------------------------- */

static void count_tls(rsl_conn *c, const char *data, size_t size)
{
    /* "TLSv1.2 (IN), TLS handshake, Server hello (2):" */
    if (size > 20 && memmem(data, size, "(IN), TLS handshake, ", 21) != NULL) {
        if (memmem(data, size, "Server hello (2)", 16) != NULL)
            c->stats.tls_handshakes++;
        else if (memmem(data, size, "Certificate (11)", 16) != NULL)
            c->stats.tls_full_handshakes++;
    }
}

static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    rsl_conn *c = ud;
    c->activity++;
    if (type == CURLINFO_TEXT)
        count_tls(c, data, size);
    if (type == CURLINFO_HEADER_OUT) {
        size_t before = c->rep.n;
        int logins = rsl_ftpctl_sent_data(&c->rep, data, size);
        c->stats.commands += (long)(c->rep.n - before);
        if (logins > 0) { /* a login: a new control connection */
            c->stats.control_connects += logins;
            c->ascii = 0;
        }
    } else if (type == CURLINFO_HEADER_IN) {
        for (size_t i = 0; i < size;) {
            size_t e = i;
            while (e < size && data[e] != '\r' && data[e] != '\n')
                e++;
            if (e > i)
                rsl_ftpctl_recv(&c->rep, data + i, e - i);
            while (e < size && (data[e] == '\r' || data[e] == '\n'))
                e++;
            i = e;
        }
    }
    return 0;
}

/* Sockets curl opens for this connection (control and data), so that an
 * abort can shut them down: curl then reads nothing more from them. */
static curl_socket_t open_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    rsl_conn *c = ud;
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd >= 0 && c->nsocks < RSL_FTPS_SOCKS)
        c->socks[c->nsocks++] = fd;
    return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

static int close_cb(void *ud, curl_socket_t fd)
{
    rsl_conn *c = ud;
    for (int i = 0; i < c->nsocks; i++)
        if (c->socks[i] == fd) {
            c->socks[i] = c->socks[--c->nsocks];
            break;
        }
    return close(fd);
}

/* ---- error mapping ------------------------------------------------------------------ */

int rsl_ftps_conn_error(CURLcode e)
{
    /* a refused STOR (UPLOAD_FAILED) or EPSV/PASV keeps the connection */
    return e == CURLE_SEND_ERROR || e == CURLE_RECV_ERROR || e == CURLE_GOT_NOTHING ||
           e == CURLE_PARTIAL_FILE || e == CURLE_OPERATION_TIMEDOUT ||
           e == CURLE_FTP_WEIRD_SERVER_REPLY || e == CURLE_SSL_CONNECT_ERROR ||
           e == CURLE_COULDNT_CONNECT || e == CURLE_ABORTED_BY_CALLBACK;
}

static int is_verb(const char *cmd, const char *verb)
{
    size_t n = strlen(verb);
    return strncasecmp(cmd, verb, n) == 0 && (cmd[n] == ' ' || cmd[n] == '\0');
}

/* The last reply to a command naming a file or listing (STOR, APPE, RETR,
 * LIST, MLSD, NLST) or to EPSV/PASV (then *pasv = 1), or NULL. */
static const rsl_ftpctl_reply *transfer_reply(const rsl_conn *c, int *pasv)
{
    static const char *const verbs[] = {"STOR", "APPE", "RETR", "LIST", "MLSD", "NLST"};
    for (size_t i = c->rep.n; i-- > 0;) {
        const rsl_ftpctl_reply *r = &c->rep.rep[i];
        *pasv = is_verb(r->cmd, "EPSV") || is_verb(r->cmd, "PASV");
        if (*pasv)
            return r;
        for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
            if (is_verb(r->cmd, verbs[k]))
                return r;
    }
    *pasv = 0;
    return NULL;
}

/* Passive mode: a data connection that could not be opened (the firewall
 * hint), or EPSV and PASV refused (the server said so: no firewall hint;
 * per item when passive mode already worked on this connection: the server
 * refuses this one transfer). RSL_OK when it is not about passive mode. */
static rsl_code map_passive(rsl_conn *c, CURLcode e, const rsl_ftpctl_reply *r, int pasv,
                            rsl_err *err, const char *what, const char *path, const char *eb)
{
    int code = r ? r->code : 0;
    if (e == CURLE_COULDNT_CONNECT && pasv && (code == 229 || code == 227))
        return rsl_err_set(err, RSL_E_PASSIVE_FAILED, e,
                           "%s '%s': the passive data connection to %s could not be opened "
                           "(%s); a firewall may block the server's passive port range",
                           what, path, c->host, eb);
    if (e != CURLE_FTP_WEIRD_PASV_REPLY || !pasv || code < 400)
        return RSL_OK;
    if (c->data_ok && code != 421 && code != 500 && code != 502) {
        rsl_code rc = rsl_ftpctl_map(err, code, rsl_ftpctl_text(r), what, path);
        if (rsl_code_class(rc) != RSL_CLASS_SESSION)
            return rc;
    }
    return rsl_err_set(err, RSL_E_PASSIVE_FAILED, code,
                       "%s '%s': %s refuses passive mode (%s answered \"%s\"): the server must "
                       "allow EPSV or PASV (vsftpd: pasv_enable=YES)",
                       what, path, c->hostport, r->cmd, rsl_ftpctl_text(r));
}

/* Maps a CURLcode from a perform. See ftps_session.h. */
rsl_code rsl_ftps_map_curl(rsl_conn *c, CURLcode e, rsl_err *err, const char *what,
                           const char *path)
{
    const char *eb = c->errbuf[0] ? c->errbuf : curl_easy_strerror(e);
    const rsl_ftpctl_reply *last = rsl_ftpctl_last(&c->rep);
    const char *said = last ? rsl_ftpctl_text(last) : eb;
    int code = last ? last->code : 0, pasv = 0;
    long native = code ? (long)code : (long)e;
    if (c->abort_why == RSL_FTPS_ABORT_REPLY_CAP || c->rep.too_long || c->rep.nomem)
        return rsl_ftpctl_check(&c->rep, err);
    if (c->abort_why == RSL_FTPS_ABORT_DEADLINE)
        return rsl_err_set(err, RSL_E_TIMEOUT, e, "%s '%s' on %s: not complete within its deadline",
                           what, path, c->hostport);
    if (code == 421) /* whatever curl made of it, the server said why */
        return rsl_ftpctl_map(err, code, said, what, path);
    const rsl_ftpctl_reply *tr = transfer_reply(c, &pasv);
    rsl_code rc = map_passive(c, e, tr, pasv, err, what, path, eb);
    if (rc != RSL_OK)
        return rc;
    /* the server refused the transfer command itself: that decides */
    if (tr && !pasv && tr->code >= 400 && e != CURLE_OPERATION_TIMEDOUT)
        return rsl_ftpctl_map(err, tr->code, rsl_ftpctl_text(tr), what, path);
    if (e == CURLE_REMOTE_FILE_NOT_FOUND) { /* curl read a 550 to SIZE/CWD as "absent" */
        char ab[200];
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, native,
                           "%s '%s': not found on the server (\"%s\")", what,
                           rsl_ftpctl_abbrev(path, ab, sizeof(ab)), said);
    }
    if (e == CURLE_LOGIN_DENIED) /* the password is never in the transcript */
        return rsl_err_set(err, RSL_E_AUTH_FAILED, native, "login to %s as '%s' refused: %s",
                           c->hostport, c->user, said);
    if (e == CURLE_USE_SSL_FAILED)
        return rsl_err_set(err, RSL_E_TLS_FAILED, native,
                           "%s refused AUTH TLS (\"%s\"): the server does not offer explicit "
                           "FTPS (try ftps_mode = implicit)",
                           c->hostport, said);
    if (e == CURLE_REMOTE_DISK_FULL)
        return rsl_err_set(err, RSL_E_REMOTE_NO_SPACE, native,
                           "%s '%s': remote disk full or quota exceeded: %s", what, path, said);
    rsl_code table = rsl_curlmap_code(e, 0, NULL);
    if ((table == RSL_E_CONNECTION_LOST || table == RSL_E_PROTOCOL) &&
        ((code >= 400 && (e == CURLE_UPLOAD_FAILED || e == CURLE_QUOTE_ERROR ||
                          e == CURLE_REMOTE_ACCESS_DENIED || e == CURLE_REMOTE_FILE_NOT_FOUND ||
                          e == CURLE_FTP_COULDNT_RETR_FILE || e == CURLE_FTP_PORT_FAILED)) ||
         code == 522 || code == 425 || code == 426))
        return rsl_ftpctl_map(err, code, said, what, path);
    rsl_curlmap_ctx x = {
        .h = c->h, .errbuf = c->errbuf, .host = c->hostport, .timeout_sec = c->timeout};
    return rsl_curlmap_err(err, &x, e, what, path);
}

/* ---- performs ------------------------------------------------------------------------- */

static size_t discard_cb(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

/* Resets the per-operation options of the handle. */
void rsl_ftps_reset(rsl_conn *c)
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
    curl_easy_setopt(c->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    c->deadline_ms = 0;
    c->errbuf[0] = '\0';
    c->after_upload_ok = 0; /* whatever it described is stale after another command */
    rsl_ftpctl_clear(&c->rep);
}

/* Shuts down every socket of the connection: curl reads nothing more from
 * them and drops the connection (an abort, never a wait). */
static void abort_perform(rsl_conn *c, int why)
{
    c->abort_why = why;
    for (int i = 0; i < c->nsocks; i++)
        shutdown(c->socks[i], SHUT_RDWR);
}

/* After a perform: what it taught about passive mode. */
static void learn_passive(rsl_conn *c, CURLcode e)
{
    int pasv = rsl_ftpctl_code(&c->rep, "PASV", NULL);
    if (rsl_ftpctl_code(&c->rep, "EPSV", NULL) == 229 || pasv == 227)
        c->data_ok |= e == CURLE_OK;
    if (c->epsv && rsl_ftpctl_code(&c->rep, "EPSV", NULL) >= 500 && pasv == 227) {
        c->epsv = 0; /* EPSV refused, PASV works: PASV directly from now on */
        curl_easy_setopt(c->h, CURLOPT_FTP_USE_EPSV, 0L);
    }
}

/* Runs one transfer. Driven through the connection's own multi handle rather
 * than curl_easy_perform: libcurl 7.88 sometimes does not wake itself after the
 * EPSV reply and sits in its internal poll until the 1 s fallback timeout (seen
 * as a 1 s pause before "Trying ..." on a data connection). While curl keeps
 * moving on (the debug callback saw something) it is called again at once;
 * otherwise the poll is capped at FTPS_POLL_CAP_MS. The control connection
 * lives in this multi handle's connection cache between transfers. */
CURLcode rsl_ftps_perform(rsl_conn *c, const char *url)
{
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    CURLcode e = CURLE_OK;
    c->abort_why = RSL_FTPS_ABORT_NONE;
    c->stats.performs++;
    if (curl_multi_add_handle(c->m, c->h) != CURLM_OK)
        return CURLE_OUT_OF_MEMORY;
    int running = 1, spins = 0;
    while (running) {
        long seen = c->activity;
        CURLMcode mc = curl_multi_perform(c->m, &running);
        if (c->abort_why == RSL_FTPS_ABORT_NONE && (c->rep.too_long || c->rep.nomem))
            abort_perform(c, RSL_FTPS_ABORT_REPLY_CAP);
        else if (c->abort_why == RSL_FTPS_ABORT_NONE && c->deadline_ms > 0 &&
                 rsl_ftps_now_ms() > c->deadline_ms)
            abort_perform(c, RSL_FTPS_ABORT_DEADLINE);
        if (mc == CURLM_OK && running) {
            if (c->activity != seen && spins++ < FTPS_SPINS)
                continue; /* curl moved on: let it take its next step now */
            spins = 0;
            mc = curl_multi_poll(c->m, NULL, 0, FTPS_POLL_CAP_MS, NULL);
        }
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
    if (c->abort_why == RSL_FTPS_ABORT_DEADLINE)
        e = CURLE_OPERATION_TIMEDOUT;
    else if (c->abort_why == RSL_FTPS_ABORT_REPLY_CAP && e == CURLE_OK)
        e = CURLE_WEIRD_SERVER_REPLY;
    if (e != CURLE_OK && (rsl_ftps_conn_error(e) || c->abort_why != RSL_FTPS_ABORT_NONE))
        c->need_setup = 1; /* curl drops that connection; the next one needs setup */
    learn_passive(c, e);
    return e;
}

/* The QUOTE list for cmds (each prefixed with '*': run whatever it answers),
 * after OPTS UTF8 ON when `setup`. NULL with *nomem set on failure. */
static struct curl_slist *quote_list(const rsl_conn *c, const char *const *cmds, size_t n,
                                     int setup, int *nomem)
{
    struct curl_slist *q = NULL, *t;
    char *line = NULL;
    *nomem = 0;
    if (setup && c->has_utf8 && (q = curl_slist_append(q, "*OPTS UTF8 ON")) == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (asprintf(&line, "*%s", cmds[i]) < 0)
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
    *nomem = 1;
    return NULL;
}

/* Sends commands (without '*') on the control connection, in order, whatever
 * each answers; the replies are then in the transcript (rsl_ftps_code). Prepends the
 * session setup when the connection in use may lack it, and runs the list again
 * once if curl had to open a new connection for it (a fresh login may be in
 * ASCII mode or without UTF-8). Returns RSL_OK when the server answered.
 *
 * Setup is OPTS UTF8 ON, and TYPE I sent by curl itself (the NOBODY perform on
 * a file URL sends TYPE I, SIZE, REST 0): curl then knows the session is
 * binary. A TYPE I of our own would leave curl to send one more right after
 * opening the next upload's data connection, and curl 7.88 waits for that
 * reply only when its 200 ms connect timer fires. */
rsl_code rsl_ftps_run(rsl_conn *c, const char *const *cmds, size_t n, const char *what,
                      const char *path, rsl_err *err)
{
    rsl_code rc = RSL_OK;
    struct curl_slist *q = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int setup = c->need_setup || c->ascii, nomem = 0;
        curl_slist_free_all(q);
        if ((q = quote_list(c, cmds, n, setup, &nomem)) == NULL && nomem)
            return oom(err);
        rsl_ftps_reset(c);
        curl_easy_setopt(c->h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c->h, CURLOPT_QUOTE, q);
        long before = c->stats.control_connects;
        CURLcode e = rsl_ftps_perform(c, setup ? c->typeurl : c->base);
        if (setup && e == CURLE_REMOTE_FILE_NOT_FOUND)
            e = CURLE_OK; /* the SIZE of the root directory: 550 as expected */
        curl_easy_setopt(c->h, CURLOPT_QUOTE, NULL);
        if (e != CURLE_OK) {
            rc = rsl_ftps_map_curl(c, e, err, what, path);
            break;
        }
        if ((rc = rsl_ftpctl_check(&c->rep, err)) != RSL_OK)
            break;
        if (setup) {
            c->need_setup = 0;
            c->ascii = 0;
        }
        if (c->stats.control_connects == before || setup)
            break;
        c->need_setup = 1; /* new connection without setup: run once more with it */
    }
    curl_slist_free_all(q);
    return rc;
}

rsl_code rsl_ftps_send(rsl_conn *c, const rsl_ftps_cmds *b, const char *what, const char *path,
                       rsl_err *err)
{
    return rsl_ftps_run(c, (const char *const *)b->v, b->n, what, path, err);
}

/* SIZE of absolute path p (item rel): *exists and *size. */
rsl_code rsl_ftps_remote_size(rsl_conn *c, const char *rel, const char *p, int *exists,
                              uint64_t *size, rsl_err *err)
{
    rsl_ftps_cmds b = {0};
    rsl_code rc = rsl_ftps_add(&b, NULL, rel, err, "SIZE %s", p);
    if (rc == RSL_OK)
        rc = rsl_ftps_send(c, &b, "size", rel, err);
    if (rc == RSL_OK) {
        *exists = rsl_ftps_size(c, b.v[0], size);
        const char *t = NULL;
        int code = rsl_ftps_code(c, b.v[0], &t);
        if (!*exists && (code == 421 || code == 530 || code == 0))
            rc = rsl_ftpctl_map(err, code, t, "size", rel);
    }
    rsl_ftps_cmds_free(&b);
    return rc;
}

/* ---- connect -------------------------------------------------------------------------- */

void rsl_ftps_close(rsl_conn *c)
{
    if (c == NULL)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    if (c->m)
        curl_multi_cleanup(c->m); /* closes the cached control connection (QUIT) */
    rsl_ftpctl_free(&c->rep);
    rsl_buf_free(&c->list);
    rsl_dircache_clear(&c->made);
    free(c->base);
    free(c->typeurl);
    free(c->after_upload_path);
    free(c->root);
    free(c->host);
    free(c->hostport);
    free(c->user);
    free(c);
}

/* What must hold before anything is sent: plain FTP allowed, a user name,
 * no control character in the destination. */
static rsl_code check_destination(const rsl_endpoint *ep, const rsl_remote_opts *opts,
                                  const rsl_ftps_cfg *cfg, int insecure, rsl_err *err)
{
    const char *host = ep->host ? ep->host : "";
    if (insecure && !cfg->tls.allow_insecure)
        return rsl_err_set(err, RSL_E_INSECURE_REFUSED, 0,
                           "ftp://%s: plain FTP sends the password and files in clear text; use "
                           "ftps:// (or set allow_insecure = yes)",
                           host);
    const char *user = opts->username ? opts->username : ep->user;
    if (user == NULL || user[0] == '\0')
        return rsl_err_set(err, RSL_E_SECRET_MISSING, 0,
                           "ftps://%s: no user name: put it in the URL (ftps://user@host/path) or "
                           "set username",
                           host);
    if (rsl_ftpctl_has_ctl(user) || rsl_ftpctl_has_ctl(host) ||
        rsl_ftpctl_has_ctl(ep->path ? ep->path : ""))
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "ftps: a control character in the user, host or path of destination");
    return RSL_OK;
}

/* The connection's names and URLs from the endpoint. */
static rsl_code conn_new(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                         const rsl_ftps_cfg *cfg, int insecure, rsl_err *err)
{
    rsl_conn *c = *out = calloc(1, sizeof(*c));
    if (c == NULL)
        return oom(err);
    c->o = *opts;
    c->opts = &c->o;
    c->cfg = cfg;
    c->insecure = insecure;
    c->rename_overwrites = 1;
    c->epsv = 1;
    c->hash_login = -1;
    c->timeout = opts->timeout_sec > 0 ? opts->timeout_sec : FTPS_DEFAULT_TIMEOUT;
    c->port = rsl_endpoint_port(ep, opts);
    const char *host = ep->host ? ep->host : "";
    int v6 = strchr(host, ':') != NULL;
    int implicit = !insecure && c->cfg->implicit;
    c->host = strdup(host);
    c->root = strdup(ep->path && strcmp(ep->path, "/") != 0 ? ep->path : "");
    c->user = strdup(opts->username ? opts->username : ep->user);
    if (c->host == NULL || c->root == NULL || c->user == NULL ||
        asprintf(&c->hostport, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", c->port) < 0 ||
        asprintf(&c->base, "%s://%s", implicit ? "ftps" : "ftp", c->hostport) < 0) {
        c->hostport = c->base = NULL;
        return oom(err);
    }
    if ((c->typeurl = rsl_ftpctl_url(c->base, c->root[0] ? c->root : "/", 0)) == NULL ||
        (c->h = curl_easy_init()) == NULL || (c->m = curl_multi_init()) == NULL)
        return oom(err);
    curl_multi_setopt(c->m, CURLMOPT_MAXCONNECTS, 1L);
    return RSL_OK;
}

/* TLS options: everything protected, TLS 1.2, trust from ca_file / the pin. */
static void setup_tls(rsl_conn *c)
{
    CURL *h = c->h;
    const rsl_tls_cfg *t = &c->cfg->tls;
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
        rsl_ftps_log(c, RSL_LOG_WARN,
                     "ftp://%s: plain FTP (allow_insecure = yes): the password and the files cross "
                     "the network unencrypted",
                     c->hostport);
        return;
    }
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
    if (t->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
    if (t->pinned_pubkey) {
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, t->pinned_pubkey);
        /* a pin without ca_file trusts exactly that key (a self-signed server):
         * the chain is not checked, the key is */
        if (t->ca_file == NULL)
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    }
    if (!t->tls_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        rsl_ftps_log(c, RSL_LOG_WARN,
                     "ftps://%s: tls_verify = no: the server's certificate is NOT verified; "
                     "anyone on the path can read the password and the files",
                     c->hostport);
    }
}

/* Options for every perform: transcript, login, passive mode, timeouts. The
 * password is handed to curl (which keeps its own copy). */
static void setup_handle(rsl_conn *c, const char *pw)
{
    CURL *h = c->h;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "ftp,ftps");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L); /* feeds debug_cb: the reply transcript */
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, c);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, c);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, pw);
    setup_tls(c);
    curl_easy_setopt(h, CURLOPT_FTP_USE_EPSV, 1L); /* EPSV, then PASV if refused */
    curl_easy_setopt(h, CURLOPT_FTP_SKIP_PASV_IP, 1L);
    curl_easy_setopt(h, CURLOPT_FTP_FILEMETHOD, (long)CURLFTPMETHOD_NOCWD);
    curl_easy_setopt(h, CURLOPT_FTP_CREATE_MISSING_DIRS, (long)CURLFTP_CREATE_DIR_NONE);
    /* deadlines (docs/transport-ftps.md, "Deadlines"): connecting (TCP, TLS,
     * greeting, login) within timeout; each reply within timeout of its
     * command (curl counts from the send: a trickled reply does not reset
     * it); a data transfer without progress for timeout seconds fails */
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
}

/* The facts FEAT listed (feat: its reply), into c. */
static void take_feat(rsl_conn *c, const rsl_ftpctl_reply *feat)
{
    unsigned f = feat && feat->code == 211 ? rsl_ftpctl_feat(feat->text.p) : 0;
    c->feat = f;
    c->has_mlsd = (f & RSL_FTP_FEAT_MLSD) != 0;
    c->has_mlst = (f & RSL_FTP_FEAT_MLST) != 0;
    c->has_mfmt = (f & RSL_FTP_FEAT_MFMT) != 0;
    c->has_utf8 = (f & RSL_FTP_FEAT_UTF8) != 0;
    /* vsftpd's 2-argument MDTM sets the mtime: tried only where FEAT lists MDTM */
    c->mdtm_write = (f & RSL_FTP_FEAT_MDTM) ? 0 : -1;
}

/* Login, FEAT and the root check in one perform, then OPTS UTF8 ON. */
static rsl_code login(rsl_conn *c, rsl_err *err)
{
    rsl_ftps_cmds b = {0};
    const char *root = c->root[0] ? c->root : "/";
    rsl_code rc = rsl_ftps_add(&b, NULL, root, err, "FEAT");
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&b, NULL, root, err, "CWD %s", root);
    if (rc != RSL_OK)
        goto done;
    c->need_setup = 1; /* TYPE I with the first commands */
    if ((rc = rsl_ftps_send(c, &b, "connect", c->host, err)) != RSL_OK)
        goto done;
    take_feat(c, rsl_ftpctl_find(&c->rep, "FEAT"));
    const char *t = NULL;
    int cc = rsl_ftps_code(c, b.v[1], &t);
    if (cc == 421) {
        rc = rsl_ftpctl_map(err, cc, t, "connect", c->host);
        goto done;
    }
    if (cc != 250) {
        rc = rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, cc,
                         "destination directory '%s' on %s does not exist or is not a "
                         "directory (\"%s\")",
                         root, c->host, cc ? t : "no reply");
        goto done;
    }
    c->need_setup = 0;
    if (c->has_utf8) { /* names are raw UTF-8: tell servers that would transcode them */
        const char *utf8[] = {"OPTS UTF8 ON"};
        rc = rsl_ftps_run(c, utf8, 1, "connect", c->host, err);
    }
done:
    rsl_ftps_cmds_free(&b);
    return rc;
}

/* ---- connect ---------------------------------------------------------------------- */

rsl_code rsl_ftps_open(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                       const rsl_ftps_cfg *cfg, rsl_err *err)
{
    char *pw = NULL;
    rsl_conn *c = NULL;
    *out = NULL;
    int insecure = strcasecmp(ep->scheme, "ftp") == 0;
    rsl_code rc = rsl_curlmap_init(err);
    if (rc == RSL_OK)
        rc = check_destination(ep, opts, cfg, insecure, err);
    if (rc == RSL_OK)
        rc = rsl_secret_password(opts->password_file, opts->password_env, &pw, err);
    if (rc == RSL_OK && rsl_ftpctl_has_ctl(pw)) /* CR/LF would end PASS and start another */
        rc = rsl_err_set(err, RSL_E_SECRET_UNREADABLE, 0,
                         "ftps: the password contains a control character (CR, LF, ...): "
                         "an FTP server cannot receive it");
    if (rc == RSL_OK && (rc = conn_new(&c, ep, opts, cfg, insecure, err)) == RSL_OK) {
        setup_handle(c, pw);
        rsl_secret_free(pw); /* curl keeps its own copy */
        pw = NULL;
        rc = login(c, err);
    }
    rsl_secret_free(pw);
    if (rc != RSL_OK) {
        rsl_ftps_close(c);
        return rc;
    }
    *out = c;
    return RSL_OK;
}

rsl_code rsl_ftps_kind_of(rsl_conn *c, const char *rel, const char *p, const char *what, int *kind,
                          rsl_err *err)
{
    rsl_ftps_cmds b = {0};
    *kind = 0;
    rsl_code rc = rsl_ftps_add(&b, NULL, rel, err, "CWD %s", p);
    if (rc == RSL_OK)
        rc = rsl_ftps_add(&b, NULL, rel, err, "SIZE %s", p);
    if (rc == RSL_OK)
        rc = rsl_ftps_send(c, &b, what, rel, err);
    if (rc == RSL_OK) {
        if (rsl_ftps_code(c, b.v[0], NULL) == 250)
            *kind = 'd';
        else if (rsl_ftps_code(c, b.v[1], NULL) == 213)
            *kind = 'f';
    }
    rsl_ftps_cmds_free(&b);
    return rc;
}
