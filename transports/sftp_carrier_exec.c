/*
 * sftp_carrier_exec.c - the exec carrier: OpenSSH's ssh as a child process
 * speaking the "sftp" subsystem on its stdin/stdout. See sftp_carrier.h.
 *
 * The child's stdin and stdout are one end of a socket pair (as rsync
 * does): our end is non-blocking and written with MSG_NOSIGNAL, so a dead
 * child is an error, never a SIGPIPE. Its stderr is a pipe we drain on
 * every call (kept up to STDERR_CAP bytes) and read after it exits to tell
 * a host-key, auth, DNS, refused or timeout failure apart. The child runs
 * in its own process group with a default signal mask and dispositions and
 * a clean environment; close() ends it (EOF, then SIGTERM, then SIGKILL to
 * the group) and reaps it: no process is ever left behind.
 */
#define _GNU_SOURCE
#include "sftp_carrier.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "transport.h" /* RSL_LOG_* */

#define STDERR_CAP 8192 /* bytes of ssh's stderr kept for messages */
#define MAX_WORDS 64
#define MAX_ARGS (MAX_WORDS + 40)
#define SOCK_BUF (1 << 20)

extern char **environ;

typedef struct exec_car {
    rsl_sftp_carrier base;
    pid_t pid;  /* -1 once reaped */
    int status; /* wait status, valid once reaped */
    int fd;     /* our end of the socket pair, -1 once closed */
    int efd;    /* stderr pipe, -1 at EOF */
    char err[STDERR_CAP + 1];
    size_t errlen;
    int failed;
    rsl_err ferr; /* why the stream ended */
    char host[256];
    int port;
    int timeout_sec;
    void (*log)(void *ud, int level, const char *msg);
    void *ud;
} exec_car;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */
/* splitting ssh_command (no shell) */

void rsl_sftp_exec_argv_free(char **argv)
{
    if (argv == NULL)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

/* One word from *pp: '...' literal, "..." with \" \\ \$ \` escapes, and \
 * escaping any character outside quotes. Returns the word's length, or -1
 * with why set. */
static int next_word(const char **pp, char *out, size_t cap, const char **why)
{
    const char *p = *pp;
    size_t n = 0;
    for (; *p && *p != ' ' && *p != '\t'; p++) {
        char q = *p;
        if (q == '\'' || q == '"') {
            for (p++; *p && *p != q; p++) {
                if (q == '"' && *p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                    p++;
                if (n + 1 >= cap)
                    return (*why = "a word is too long", -1);
                out[n++] = *p;
            }
            if (*p != q)
                return (*why = "a quote is not closed", -1);
            continue;
        }
        if (q == '\\') {
            if (!p[1])
                return (*why = "it ends with a backslash", -1);
            p++;
        }
        if ((unsigned char)*p < 0x20)
            return (*why = "it contains a control character", -1);
        if (n + 1 >= cap)
            return (*why = "a word is too long", -1);
        out[n++] = *p;
    }
    out[n] = '\0';
    *pp = p;
    return (int)n;
}

rsl_code rsl_sftp_exec_split(const char *cmd, char ***argv, int *argc, rsl_err *err)
{
    *argv = NULL;
    *argc = 0;
    char **v = calloc(MAX_WORDS + 1, sizeof(*v));
    char word[4096];
    const char *why = NULL, *p = cmd ? cmd : "";
    int n = 0;
    if (v == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (n == MAX_WORDS) {
            why = "it has too many words";
            break;
        }
        if (next_word(&p, word, sizeof(word), &why) < 0)
            break;
        if ((v[n++] = strdup(word)) == NULL) {
            rsl_sftp_exec_argv_free(v);
            return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
        }
    }
    if (why == NULL && (n == 0 || v[0][0] == '\0'))
        why = "it names no program";
    if (why != NULL) {
        rsl_sftp_exec_argv_free(v);
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "ssh_command '%.200s': %s",
                           cmd ? cmd : "", why);
    }
    *argv = v;
    *argc = n;
    return RSL_OK;
}

rsl_code rsl_sftp_exec_check_opts(const char *ssh_command, const char *password_file,
                                  const char *passphrase_file, const char *host_key_fingerprint,
                                  rsl_err *err)
{
    static const char tail[] = "ssh_command runs OpenSSH's ssh in batch mode, which cannot use it";
    if (password_file != NULL && password_file[0] != '\0')
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "password_file cannot be used with ssh_command: password auth is "
                           "not possible with ssh_command (OpenSSH's ssh runs in batch mode, "
                           "where password authentication is impossible); use identity_file "
                           "or ssh-agent, or remove ssh_command to use the embedded SSH client");
    if (passphrase_file != NULL && passphrase_file[0] != '\0')
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "passphrase_file cannot be used with ssh_command: %s; load the key "
                           "into ssh-agent, or remove ssh_command",
                           tail);
    if (host_key_fingerprint != NULL && host_key_fingerprint[0] != '\0')
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "host_key_fingerprint cannot be used with ssh_command: ssh checks "
                           "known_hosts only; put the host's key line in known_hosts");
    char **v = NULL;
    int n = 0;
    rsl_code rc = rsl_sftp_exec_split(ssh_command ? ssh_command : "ssh", &v, &n, err);
    rsl_sftp_exec_argv_free(v);
    return rc;
}

/* ------------------------------------------------------------------ */
/* building the child's argv and environment */

typedef struct argb {
    char *v[MAX_ARGS + 1];
    int n;
    int oom;
} argb;

static void arg_add(argb *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg_add(argb *a, const char *fmt, ...)
{
    if (a->n >= MAX_ARGS) {
        a->oom = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&a->v[a->n], fmt, ap);
    va_end(ap);
    if (r < 0) {
        a->v[a->n] = NULL;
        a->oom = 1;
        return;
    }
    a->n++;
}

static void arg_free(argb *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

/* A file name as ssh reads it in -o values and -i: '%' doubled (ssh
 * expands %-tokens there); quotes, "${" and control characters refused.
 * Returns 0, or -1. */
static int ssh_path(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == '"' || (*p == '$' && p[1] == '{'))
            return -1;
        if (n + 3 >= cap)
            return -1;
        if (*p == '%')
            out[n++] = '%';
        out[n++] = *p;
    }
    out[n] = '\0';
    return 0;
}

static int bad_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || s[0] == '-')
        return 1;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* Our options: first on the command line, so that neither the operator's
 * arguments nor ~/.ssh/config can turn them off (ssh keeps the first value
 * it sees for an option). */
static rsl_code our_options(argb *a, const rsl_sftp_exec_cfg *cfg, rsl_err *err)
{
    char kh[4096];
    arg_add(a, "-oBatchMode=yes");
    if (cfg->strict) {
        arg_add(a, "-oStrictHostKeyChecking=yes");
        if (cfg->known_hosts != NULL && cfg->known_hosts[0] != '\0') {
            if (ssh_path(cfg->known_hosts, kh, sizeof(kh)) != 0)
                return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                                   "known_hosts '%.200s' cannot be passed to ssh (quote, "
                                   "\"${\" or control character in it)",
                                   cfg->known_hosts);
            arg_add(a, "-oUserKnownHostsFile=\"%s\"", kh);
            arg_add(a, "-oGlobalKnownHostsFile=/dev/null");
        }
    } else { /* strict_host_key_checking = no: not verified (warned) */
        arg_add(a, "-oStrictHostKeyChecking=no");
        arg_add(a, "-oUserKnownHostsFile=/dev/null");
        arg_add(a, "-oGlobalKnownHostsFile=/dev/null");
    }
    int t = cfg->timeout_sec > 0 ? cfg->timeout_sec : 60;
    arg_add(a, "-oUpdateHostKeys=no");
    arg_add(a, "-oCheckHostIP=no");
    arg_add(a, "-oLogLevel=ERROR"); /* the messages we classify, not less */
    arg_add(a, "-oPasswordAuthentication=no");
    arg_add(a, "-oKbdInteractiveAuthentication=no");
    arg_add(a, "-oForwardX11=no");
    arg_add(a, "-oForwardAgent=no");
    arg_add(a, "-oClearAllForwardings=yes");
    arg_add(a, "-oPermitLocalCommand=no");
    if (cfg->no_agent)
        arg_add(a, "-oIdentityAgent=none");
    arg_add(a, "-oRequestTTY=no");
    arg_add(a, "-oConnectTimeout=%d", t);
    arg_add(a, "-oServerAliveInterval=%d", t / 3 > 5 ? t / 3 : 5);
    arg_add(a, "-oServerAliveCountMax=3");
    return RSL_OK;
}

static rsl_code build_argv(argb *a, const rsl_sftp_exec_cfg *cfg, rsl_err *err)
{
    char **words = NULL;
    int nw = 0;
    rsl_code rc =
        rsl_sftp_exec_split(cfg->ssh_command ? cfg->ssh_command : "ssh", &words, &nw, err);
    if (rc != RSL_OK)
        return rc;
    if (bad_name(cfg->host)) {
        rsl_sftp_exec_argv_free(words);
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "host '%.200s' cannot be passed to ssh",
                           cfg->host ? cfg->host : "");
    }
    arg_add(a, "%s", words[0]);
    if ((rc = our_options(a, cfg, err)) != RSL_OK) {
        rsl_sftp_exec_argv_free(words);
        return rc;
    }
    for (int i = 1; i < nw; i++)
        arg_add(a, "%s", words[i]);
    rsl_sftp_exec_argv_free(words);
    if (cfg->identity_file != NULL && cfg->identity_file[0] != '\0') {
        char id[4096];
        if (ssh_path(cfg->identity_file, id, sizeof(id)) != 0)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                               "identity_file '%.200s' cannot be passed to ssh",
                               cfg->identity_file);
        arg_add(a, "-i");
        arg_add(a, "%s", id);
    }
    if (cfg->port > 0)
        arg_add(a, "-p%d", cfg->port);
    if (cfg->user != NULL && cfg->user[0] != '\0') {
        if (bad_name(cfg->user))
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                               "user '%.200s' cannot be passed to ssh", cfg->user);
        arg_add(a, "-l");
        arg_add(a, "%s", cfg->user);
    }
    arg_add(a, "-s");
    arg_add(a, "--");
    arg_add(a, "%s", cfg->host);
    arg_add(a, "sftp");
    if (a->oom)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory (ssh arguments)");
    a->v[a->n] = NULL;
    return RSL_OK;
}

/* The child's environment: only what ssh needs to find the user's files
 * and agent. Secrets (RSYNCD_LITE_PASSWORD) and everything else stay out. */
static void build_env(argb *e)
{
    static const char *const keep[] = {"HOME", "PATH", "SSH_AUTH_SOCK", "USER", "LOGNAME"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        const char *v = getenv(keep[i]);
        if (v != NULL)
            arg_add(e, "%s=%s", keep[i], v);
        else if (strcmp(keep[i], "PATH") == 0)
            arg_add(e, "PATH=/usr/local/bin:/usr/bin:/bin");
    }
    e->v[e->n] = NULL;
}

/* ------------------------------------------------------------------ */
/* what ssh said */

static const struct {
    const char *needle;
    rsl_code code;
} rules[] = {
    /* order matters: a changed key also says "verification failed" */
    {"REMOTE HOST IDENTIFICATION HAS CHANGED", RSL_E_HOSTKEY_CHANGED},
    {"REVOKED HOST KEY", RSL_E_HOSTKEY_CHANGED},
    {"POSSIBLE DNS SPOOFING", RSL_E_HOSTKEY_CHANGED},
    {"host key is known for", RSL_E_HOSTKEY_UNKNOWN},
    {"Host key verification failed", RSL_E_HOSTKEY_UNKNOWN},
    {"Could not resolve hostname", RSL_E_DNS_FAILED},
    {"Temporary failure in name resolution", RSL_E_DNS_FAILED},
    {"Connection refused", RSL_E_CONNECT_REFUSED},
    {"No route to host", RSL_E_CONNECT_REFUSED},
    {"Network is unreachable", RSL_E_CONNECT_REFUSED},
    {"kex_exchange_identification", RSL_E_CONNECT_REFUSED},
    {"timed out", RSL_E_TIMEOUT},
    {"Timeout, server", RSL_E_TIMEOUT},
    {"Permission denied", RSL_E_AUTH_FAILED},
    {"Too many authentication failures", RSL_E_AUTH_FAILED},
    {"No more authentication methods", RSL_E_AUTH_FAILED},
    {"subsystem request failed", RSL_E_PROTOCOL},
    {"Unable to negotiate", RSL_E_PROTOCOL},
    {"Bad configuration option", RSL_E_CONFIG_BAD_VALUE},
    {"command-line line", RSL_E_CONFIG_BAD_VALUE},
    {"Unsupported option", RSL_E_CONFIG_BAD_VALUE},
    {"unknown option", RSL_E_CONFIG_BAD_VALUE},
    {"illegal option", RSL_E_CONFIG_BAD_VALUE},
    {"usage: ssh", RSL_E_CONFIG_BAD_VALUE},
    {"Bad port", RSL_E_CONFIG_BAD_VALUE},
    {"Connection reset", RSL_E_CONNECTION_LOST},
    {"Connection closed", RSL_E_CONNECTION_LOST},
    {"Broken pipe", RSL_E_CONNECTION_LOST},
};

/* The line of text holding at, printable, at most cap - 1 bytes. */
static void line_at(const char *text, const char *at, char *out, size_t cap)
{
    const char *b = at, *e = at;
    while (b > text && b[-1] != '\n' && b[-1] != '\r')
        b--;
    while (*e && *e != '\n' && *e != '\r')
        e++;
    while (b < e && (*b == '@' || *b == ' '))
        b++;
    while (e > b && (e[-1] == '@' || e[-1] == ' '))
        e--;
    size_t n = 0;
    for (const char *p = b; p < e && n + 1 < cap; p++)
        out[n++] = ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f) ? *p : '?';
    out[n] = '\0';
}

/* The last line with text in it. */
static void last_line(const char *text, char *out, size_t cap)
{
    const char *last = NULL;
    for (const char *p = text; *p; p++)
        if (*p != '\n' && *p != '\r' && *p != '@' && *p != ' ' &&
            (p == text || p[-1] == '\n' || p[-1] == '\r'))
            last = p;
    if (last == NULL)
        out[0] = '\0';
    else
        line_at(text, last, out, cap);
}

rsl_code rsl_sftp_exec_classify(const char *text, int exit_status, const char *host, int port,
                                rsl_err *err)
{
    char hp[300], line[200], fp[80] = "", pflag[24] = "";
    if (port > 0) {
        snprintf(hp, sizeof(hp), "%s:%d", host, port);
        snprintf(pflag, sizeof(pflag), " -p %d", port);
    } else {
        snprintf(hp, sizeof(hp), "%s", host);
    }
    text = text ? text : "";
    const char *at = NULL;
    rsl_code code = RSL_E_CONNECTION_LOST;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && at == NULL; i++)
        if ((at = strstr(text, rules[i].needle)) != NULL)
            code = rules[i].code;
    if (at != NULL)
        line_at(text, at, line, sizeof(line));
    else
        last_line(text, line, sizeof(line));
    const char *f = strstr(text, "SHA256:");
    if (f != NULL)
        snprintf(fp, sizeof(fp), " %.*s", (int)strcspn(f, " \r\n."), f);
    switch (code) {
    case RSL_E_HOSTKEY_CHANGED:
        return rsl_err_set(err, code, exit_status,
                           "host key of %s has CHANGED (ssh: %s;%s); possible man-in-the-middle "
                           "attack, not connecting; if the administrator confirms the change, "
                           "update known_hosts",
                           hp, line, fp[0] ? fp : " no fingerprint shown");
    case RSL_E_HOSTKEY_UNKNOWN:
        return rsl_err_set(err, code, exit_status,
                           "host key of %s is unknown (ssh: %s); verify its fingerprint with the "
                           "administrator, then add its line to known_hosts (ssh-keyscan%s %s "
                           "prints it)",
                           hp, line, pflag, host);
    case RSL_E_AUTH_FAILED:
        return rsl_err_set(err, code, exit_status,
                           "%s rejected the credentials (ssh: %s); check identity_file or the keys "
                           "in ssh-agent (password authentication is impossible with ssh_command)",
                           hp, line);
    default:
        break;
    }
    if (line[0] == '\0')
        return rsl_err_set(err, code, exit_status,
                           "ssh to %s ended the SFTP session (exit status %d, nothing on stderr)",
                           hp, exit_status);
    return rsl_err_set(err, code, exit_status, "ssh to %s: %s (exit status %d)", hp, line,
                       exit_status);
}

/* ------------------------------------------------------------------ */
/* the child */

/* Reads what stderr has now (keeps STDERR_CAP bytes). */
static void drain_stderr(exec_car *c)
{
    char buf[4096];
    while (c->efd >= 0) {
        ssize_t r = read(c->efd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            close(c->efd);
            c->efd = -1;
            return;
        }
        size_t take = (size_t)r;
        if (take > STDERR_CAP - c->errlen)
            take = STDERR_CAP - c->errlen;
        memcpy(c->err + c->errlen, buf, take);
        c->errlen += take;
        c->err[c->errlen] = '\0';
    }
}

/* Waits up to ms for the child to exit; 1 when reaped. */
static int reap(exec_car *c, int ms)
{
    double end = now_s() + ms / 1000.0;
    for (;;) {
        if (c->pid < 0)
            return 1;
        pid_t r = waitpid(c->pid, &c->status, WNOHANG);
        if (r == c->pid || (r < 0 && errno == ECHILD)) {
            c->pid = -1;
            return 1;
        }
        if (now_s() >= end)
            return 0;
        nap_ms(10);
    }
}

/* Ends the child for good: TERM to its group, then KILL, and reaps it. */
static void kill_child(exec_car *c, int grace_ms)
{
    if (c->pid < 0 || reap(c, grace_ms))
        return;
    kill(-c->pid, SIGTERM);
    kill(c->pid, SIGTERM);
    if (reap(c, 1000))
        return;
    kill(-c->pid, SIGKILL);
    kill(c->pid, SIGKILL);
    while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
        ;
    c->pid = -1;
}

/* The stream ended (EOF or a send error): collect stderr and the exit
 * status (briefly), then say why in c->ferr. */
static void ended(exec_car *c)
{
    if (c->failed)
        return;
    c->failed = 1;
    double end = now_s() + 2.0;
    while (c->efd >= 0 && now_s() < end) {
        struct pollfd pfd = {.fd = c->efd, .events = POLLIN};
        poll(&pfd, 1, 100);
        drain_stderr(c);
    }
    kill_child(c, 2000);
    int st = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 128 + WTERMSIG(c->status);
    rsl_sftp_exec_classify(c->err, st, c->host, c->port, &c->ferr);
}

static ssize_t x_send(rsl_sftp_carrier *base, const void *p, size_t n, rsl_err *err)
{
    exec_car *c = (exec_car *)base;
    if (!c->failed) {
        drain_stderr(c);
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w >= 0)
            return w;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        ended(c);
    }
    *err = c->ferr;
    return -1;
}

static ssize_t x_recv(rsl_sftp_carrier *base, void *p, size_t n, rsl_err *err)
{
    exec_car *c = (exec_car *)base;
    if (!c->failed) {
        drain_stderr(c);
        ssize_t r = recv(c->fd, p, n, MSG_DONTWAIT);
        if (r > 0)
            return r;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
        ended(c);
    }
    *err = c->ferr;
    return -1;
}

static int x_wait_fds(rsl_sftp_carrier *base, int want_send, struct pollfd *fds, int max)
{
    exec_car *c = (exec_car *)base;
    int n = 0;
    if (max >= 1) {
        fds[n].fd = c->fd;
        fds[n].events = POLLIN | (want_send ? POLLOUT : 0);
        fds[n++].revents = 0;
    }
    if (max >= 2 && c->efd >= 0) {
        fds[n].fd = c->efd;
        fds[n].events = POLLIN;
        fds[n++].revents = 0;
    }
    return n;
}

static int x_tick_ms(rsl_sftp_carrier *base)
{
    (void)base;
    return 1000;
}

static int x_tick(rsl_sftp_carrier *base, rsl_err *err)
{
    (void)err;
    drain_stderr((exec_car *)base);
    return 0;
}

static void x_describe(rsl_sftp_carrier *base, char *buf, size_t n)
{
    exec_car *c = (exec_car *)base;
    snprintf(buf, n, "OpenSSH's ssh (pid %d)", (int)c->pid);
}

/* What ssh printed, on one line, without its @@@ banners, for the log. */
static void flat(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    int space = 0;
    for (const char *p = in; *p && n + 2 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '@' || ch < 0x20 || ch >= 0x7f) {
            space = 1;
            continue;
        }
        if (space && n > 0)
            out[n++] = ' ';
        space = 0;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
}

static void x_close(rsl_sftp_carrier *base, int abort_)
{
    exec_car *c = (exec_car *)base;
    if (c->fd >= 0) {
        shutdown(c->fd, SHUT_RDWR); /* EOF on ssh's stdin: it ends the session */
        close(c->fd);
        c->fd = -1;
    }
    kill_child(c, abort_ || c->failed ? 200 : 3000);
    drain_stderr(c);
    if (c->errlen > 0 && !c->failed && c->log != NULL) {
        char line[1024], msg[1400];
        flat(c->err, line, sizeof(line));
        snprintf(msg, sizeof(msg), "sftp: ssh to %s said: %s", c->host, line);
        c->log(c->ud, RSL_LOG_INFO, msg);
    }
    if (c->efd >= 0)
        close(c->efd);
    free(c);
}

static const rsl_sftp_carrier_ops exec_ops = {
    .name = "exec",
    .send = x_send,
    .recv = x_recv,
    .wait_fds = x_wait_fds,
    .tick_ms = x_tick_ms,
    .tick = x_tick,
    .describe = x_describe,
    .close = x_close,
};

pid_t rsl_sftp_carrier_exec_pid(rsl_sftp_carrier *c)
{
    return c->ops == &exec_ops ? ((exec_car *)c)->pid : -1;
}

/* posix_spawn: stdin and stdout on the socket, stderr on the pipe, every
 * other descriptor closed, own process group, default signals. */
static int spawn(exec_car *c, argb *argv, argb *envp, int child_sock, int child_err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    static const int sigs[] = {SIGPIPE, SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGCHLD,
                               SIGUSR1, SIGUSR2, SIGALRM, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&dflt, sigs[i]);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, child_sock, 0);
    posix_spawn_file_actions_adddup2(&fa, child_sock, 1);
    posix_spawn_file_actions_adddup2(&fa, child_err, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    int r = posix_spawnp(&c->pid, argv->v[0], &fa, &at, argv->v, envp->v);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return r;
}

static rsl_code start_child(exec_car *c, argb *argv, argb *envp, rsl_err *err)
{
    int sv[2] = {-1, -1}, ep[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
        int e = errno;
        if (sv[0] >= 0) {
            close(sv[0]);
            close(sv[1]);
        }
        return rsl_err_set(err, RSL_E_INTERNAL, e, "socketpair/pipe for ssh: %s", strerror(e));
    }
    int r = spawn(c, argv, envp, sv[1], ep[1]);
    close(sv[1]);
    close(ep[1]);
    if (r != 0) {
        close(sv[0]);
        close(ep[0]);
        c->pid = -1;
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, r, "ssh_command: cannot run '%.200s': %s",
                           argv->v[0], strerror(r));
    }
    c->fd = sv[0];
    c->efd = ep[0];
    int big = SOCK_BUF;
    setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    fcntl(c->efd, F_SETFL, fcntl(c->efd, F_GETFL) | O_NONBLOCK);
    return RSL_OK;
}

rsl_code rsl_sftp_carrier_exec(rsl_sftp_carrier **out, const rsl_sftp_exec_cfg *cfg, rsl_err *err)
{
    *out = NULL;
    exec_car *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    c->base.ops = &exec_ops;
    c->pid = -1;
    c->fd = c->efd = -1;
    c->port = cfg->port;
    c->timeout_sec = cfg->timeout_sec > 0 ? cfg->timeout_sec : 60;
    c->log = cfg->log;
    c->ud = cfg->ud;
    snprintf(c->host, sizeof(c->host), "%s", cfg->host ? cfg->host : "");
    argb argv = {.n = 0}, envp = {.n = 0};
    rsl_code rc = build_argv(&argv, cfg, err);
    if (rc == RSL_OK) {
        build_env(&envp);
        rc = envp.oom ? rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory")
                      : start_child(c, &argv, &envp, err);
    }
    arg_free(&argv);
    arg_free(&envp);
    if (rc != RSL_OK) {
        free(c);
        return rc;
    }
    if (!cfg->strict && c->log != NULL) {
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "sftp: strict_host_key_checking = no: ssh does not verify the host key of %s",
                 c->host);
        c->log(c->ud, RSL_LOG_WARN, msg);
    }
    *out = &c->base;
    return RSL_OK;
}
