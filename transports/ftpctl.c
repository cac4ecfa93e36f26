/*
 * ftpctl.c - see ftpctl.h.
 */
#define _GNU_SOURCE /* strcasestr */
#include "ftpctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pct.h"

int rsl_ftpctl_has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

rsl_code rsl_ftpctl_check_name(const char *rel, rsl_err *err)
{
    if (rel == NULL)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "ftps: NULL path");
    if (rsl_ftpctl_has_ctl(rel))
        return rsl_err_set(err, RSL_E_NAME_CONTROL_CHAR, 0,
                           "'%s': a control character (CR/LF) in the name; refused before it "
                           "could reach the FTP control connection",
                           rel);
    return RSL_OK;
}

char *rsl_ftpctl_url(const char *base, const char *abs, int dir)
{
    char *enc = rsl_pct_encode_path(abs + (abs[0] == '/'));
    if (enc == NULL)
        return NULL;
    size_t el = strlen(enc), n = strlen(base) + el + 8;
    char *u = malloc(n);
    if (u != NULL)
        snprintf(u, n, "%s/%%2F%s%s", base, enc, dir && (el == 0 || enc[el - 1] != '/') ? "/" : "");
    free(enc);
    return u;
}

const char *rsl_ftpctl_abbrev(const char *s, char *buf, size_t bufsz)
{
    size_t n = strlen(s);
    if (n <= 160)
        return s;
    snprintf(buf, bufsz, "%.60s...%s (%zu bytes)", s, s + n - 60, n);
    return buf;
}

rsl_code rsl_ftpctl_fits(const char *line, const char *rel, rsl_err *err)
{
    size_t n = strlen(line) + 2;
    if (n <= RSL_FTPCTL_LINE_MAX)
        return RSL_OK;
    const char *sp = strchr(line, ' ');
    int vl = sp ? (int)(sp - line) : (int)strlen(line);
    char ab[200];
    return rsl_err_set(err, RSL_E_PATH_TOO_LONG, ENAMETOOLONG,
                       "the FTP command '%.*s <path>' would be %zu bytes, more than the %d an FTP "
                       "server accepts in one command line (vsftpd closes the session beyond "
                       "it): shorten the path (or set max_path_length): '%s'",
                       vl > 8 ? 8 : vl, line, n, RSL_FTPCTL_LINE_MAX,
                       rsl_ftpctl_abbrev(rel, ab, sizeof(ab)));
}

/* ---- transcript ---- */

static rsl_ftpctl_reply *new_entry(rsl_ftpctl_log *l, const char *cmd, size_t n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        rsl_ftpctl_reply *r = realloc(l->rep, cap * sizeof(*r));
        if (r == NULL)
            return NULL;
        memset(r + l->cap, 0, (cap - l->cap) * sizeof(*r));
        l->rep = r;
        l->cap = cap;
    }
    rsl_ftpctl_reply *r = &l->rep[l->n];
    if (n >= 5 && strncasecmp(cmd, "PASS ", 5) == 0) { /* the secret is never copied */
        cmd = "PASS ****";
        n = 9;
    }
    free(r->cmd);
    if ((r->cmd = strndup(cmd, n)) == NULL)
        return NULL;
    r->code = 0;
    r->partial = 0;
    rsl_buf_reset(&r->text, RSL_FTPCTL_REPLY_CAP);
    l->n++;
    return r;
}

void rsl_ftpctl_sent(rsl_ftpctl_log *l, const char *line, size_t n)
{
    if (new_entry(l, line, n) == NULL)
        l->nomem = 1;
}

int rsl_ftpctl_sent_data(rsl_ftpctl_log *l, const char *data, size_t size)
{
    int logins = 0;
    for (size_t i = 0; i < size;) {
        size_t e = i;
        while (e < size && data[e] != '\r' && data[e] != '\n')
            e++;
        if (e > i) {
            rsl_ftpctl_reply *r = new_entry(l, data + i, e - i);
            if (r == NULL)
                l->nomem = 1;
            else
                r->partial = e == size; /* no line end: curl sends the rest unseen */
            logins += e - i > 5 && strncasecmp(data + i, "USER ", 5) == 0;
        }
        while (e < size && (data[e] == '\r' || data[e] == '\n'))
            e++;
        i = e;
    }
    return logins;
}

void rsl_ftpctl_recv(rsl_ftpctl_log *l, const char *line, size_t n)
{
    rsl_ftpctl_reply *r = l->n ? &l->rep[l->n - 1] : NULL;
    if (r == NULL || r->code != 0) /* a reply with no command: greeting, or a late 4xx */
        r = new_entry(l, "", 0);
    if (r == NULL) {
        l->nomem = 1;
        return;
    }
    int a = r->text.n ? rsl_buf_append(&r->text, "\n", 1) : RSL_BUF_OK;
    if (a == RSL_BUF_OK)
        a = rsl_buf_append(&r->text, line, n);
    if (a == RSL_BUF_NOMEM)
        l->nomem = 1;
    else if (a == RSL_BUF_TRUNCATED && l->too_long == NULL)
        l->too_long = r->cmd;
    /* "NNN text" ends a reply; "NNN-text" and other lines continue it */
    if (n >= 3 && isdigit((unsigned char)line[0]) && isdigit((unsigned char)line[1]) &&
        isdigit((unsigned char)line[2]) && (n == 3 || line[3] == ' '))
        r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

rsl_code rsl_ftpctl_check(const rsl_ftpctl_log *l, rsl_err *err)
{
    if (l->nomem)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory (FTP reply transcript)");
    if (l->too_long != NULL)
        return rsl_err_set(err, RSL_E_PROTOCOL, 0,
                           "the server's reply to '%.200s' is longer than %d KiB (the cap on one "
                           "reply): refused",
                           l->too_long[0] ? l->too_long : "(greeting)",
                           RSL_FTPCTL_REPLY_CAP / 1024);
    return RSL_OK;
}

const rsl_ftpctl_reply *rsl_ftpctl_find(const rsl_ftpctl_log *l, const char *cmd)
{
    for (size_t i = l->n; i-- > 0;) {
        const rsl_ftpctl_reply *r = &l->rep[i];
        if (strcmp(r->cmd, cmd) == 0 ||
            (r->partial && r->cmd[0] && strncmp(r->cmd, cmd, strlen(r->cmd)) == 0))
            return r;
    }
    return NULL;
}

const rsl_ftpctl_reply *rsl_ftpctl_last(const rsl_ftpctl_log *l)
{
    for (size_t i = l->n; i-- > 0;)
        if (l->rep[i].code != 0)
            return &l->rep[i];
    return NULL;
}

const char *rsl_ftpctl_text(const rsl_ftpctl_reply *r)
{
    if (r == NULL || r->text.p == NULL)
        return "";
    const char *nl = strrchr(r->text.p, '\n');
    return nl ? nl + 1 : r->text.p;
}

int rsl_ftpctl_code(const rsl_ftpctl_log *l, const char *cmd, const char **text)
{
    const rsl_ftpctl_reply *r = rsl_ftpctl_find(l, cmd);
    if (text)
        *text = rsl_ftpctl_text(r);
    return r ? r->code : 0;
}

void rsl_ftpctl_clear(rsl_ftpctl_log *l)
{
    l->n = 0;
    l->nomem = 0;
    l->too_long = NULL;
}

void rsl_ftpctl_free(rsl_ftpctl_log *l)
{
    for (size_t i = 0; i < l->cap; i++) {
        free(l->rep[i].cmd);
        rsl_buf_free(&l->rep[i].text);
    }
    free(l->rep);
    memset(l, 0, sizeof(*l));
}

/* ---- meanings ---- */

static int text_has(const char *t, const char *needle)
{
    return t != NULL && strcasestr(t, needle) != NULL;
}

/* 421 "too many users/connections, try later" is load; anything else
 * ("Timeout", "shutting down") closed this session. 501/553 name a refused
 * name or a refusal; 550 "no such file" or a refusal. */
static rsl_code code_of_reply(int code, const char *text)
{
    switch (code) {
    case 421:
        return text_has(text, "too many") || text_has(text, "later") ||
                       text_has(text, "connections") || text_has(text, "busy")
                   ? RSL_E_REMOTE_BUSY
                   : RSL_E_CONNECTION_LOST;
    case 425:
        return RSL_E_PASSIVE_FAILED;
    case 426:
        return RSL_E_CONNECTION_LOST;
    case 450:
        return RSL_E_REMOTE_LOCKED;
    case 451:
        return RSL_E_REMOTE_IO;
    case 452:
    case 552:
        return RSL_E_REMOTE_NO_SPACE;
    case 500:
    case 501:
        if (text_has(text, "too long"))
            return RSL_E_REMOTE_NAME_REFUSED; /* vsftpd: "500 Input line too long." */
        if (code == 500)
            return RSL_E_PROTOCOL;
        /* fall through */
    case 553:
        return text_has(text, "name") || text_has(text, "invalid") || text_has(text, "syntax")
                   ? RSL_E_REMOTE_NAME_REFUSED
                   : RSL_E_REMOTE_PERMISSION;
    case 530:
    case 532:
        return RSL_E_AUTH_FAILED;
    case 522:
    case 534:
    case 536:
        return RSL_E_TLS_FAILED;
    case 550:
        return text_has(text, "no such") || text_has(text, "not found") ||
                       text_has(text, "not exist") || text_has(text, "failed to open")
                   ? RSL_E_REMOTE_NOT_FOUND
               : text_has(text, "filename") || text_has(text, "file name")
                   ? RSL_E_REMOTE_NAME_REFUSED /* ProFTPD: "Forbidden filename" */
                   : RSL_E_REMOTE_PERMISSION;
    case 502:
    case 504:
        return RSL_E_PROTOCOL;
    default:
        return code >= 400 && code < 500 ? RSL_E_REMOTE_IO : RSL_E_PROTOCOL;
    }
}

rsl_code rsl_ftpctl_map(rsl_err *err, int code, const char *text, const char *what,
                        const char *path)
{
    rsl_code rc = code_of_reply(code, text);
    char ab[200];
    path = rsl_ftpctl_abbrev(path ? path : "", ab, sizeof(ab));
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

/* The facts of one FEAT line (leading spaces removed, n bytes). */
static unsigned feat_line(const char *l, size_t n)
{
    static const struct {
        const char *name;
        unsigned bits;
    } tab[] = {{"MLSD", RSL_FTP_FEAT_MLSD},
               {"MLST", RSL_FTP_FEAT_MLST | RSL_FTP_FEAT_MLSD}, /* MLSD comes with MLST */
               {"MFMT", RSL_FTP_FEAT_MFMT},
               {"UTF8", RSL_FTP_FEAT_UTF8},
               {"MDTM", RSL_FTP_FEAT_MDTM},
               {"XSHA256", RSL_FTP_FEAT_XSHA256},
               {"XSHA1", RSL_FTP_FEAT_XSHA1},
               {"XMD5", RSL_FTP_FEAT_XMD5},
               {"HASH", RSL_FTP_FEAT_HASH}};
    size_t w = 0;
    while (w < n && l[w] != ' ')
        w++;
    unsigned f = 0;
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (w == strlen(tab[i].name) && strncasecmp(l, tab[i].name, w) == 0)
            f = tab[i].bits;
    if (f != RSL_FTP_FEAT_HASH)
        return f;
    /* " HASH SHA-1;SHA-256*;MD5": the algorithms ('*' marks the selected one) */
    for (size_t i = w; i < n;) {
        while (i < n && (l[i] == ' ' || l[i] == ';'))
            i++;
        size_t e = i;
        while (e < n && l[e] != ';' && l[e] != ' ' && l[e] != '*')
            e++;
        if (e - i == 7 && strncasecmp(l + i, "SHA-256", 7) == 0)
            f |= RSL_FTP_FEAT_HASH_SHA256;
        else if (e - i == 5 && strncasecmp(l + i, "SHA-1", 5) == 0)
            f |= RSL_FTP_FEAT_HASH_SHA1;
        else if (e - i == 3 && strncasecmp(l + i, "MD5", 3) == 0)
            f |= RSL_FTP_FEAT_HASH_MD5;
        while (e < n && l[e] != ';')
            e++;
        i = e;
    }
    return f;
}

unsigned rsl_ftpctl_feat(const char *text)
{
    unsigned f = 0;
    for (const char *l = text; l && *l;) {
        const char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        while (n > 0 && *l == ' ') {
            l++;
            n--;
        }
        f |= feat_line(l, n);
        l = e ? e + 1 : NULL;
    }
    return f;
}

int rsl_ftpctl_size(const rsl_ftpctl_reply *r, uint64_t *size)
{
    const char *t = rsl_ftpctl_text(r);
    if (r == NULL || r->code != 213 || strlen(t) < 5)
        return 0;
    char *e = NULL;
    errno = 0;
    unsigned long long v = strtoull(t + 4, &e, 10);
    if (errno != 0 || e == t + 4)
        return 0;
    *size = v;
    return 1;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Decodes exactly 2 * want hex digits at t (followed by the end or a space)
 * into out. */
static int hex_token(const char *t, unsigned char *out, size_t want)
{
    for (size_t i = 0; i < want; i++) {
        int hi = hexval((unsigned char)t[2 * i]),
            lo = hi < 0 ? -1 : hexval((unsigned char)t[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return t[2 * want] == '\0' || t[2 * want] == ' ';
}

int rsl_ftpctl_digest(const rsl_ftpctl_reply *r, int is_hash, const char *alg, unsigned char *out,
                      size_t want_len, size_t *len)
{
    const char *t = rsl_ftpctl_text(r);
    if (r == NULL || r->code < 200 || r->code >= 300 || strlen(t) < 5 || want_len == 0)
        return 0;
    t += 4;
    if (is_hash) { /* "SHA-256 0-49 <hex> name" */
        size_t al = strlen(alg);
        if (strncasecmp(t, alg, al) != 0 || t[al] != ' ')
            return 0;
        t += al + 1;
        const char *sp = strchr(t, ' '); /* the byte range */
        if (sp == NULL)
            return 0;
        t = sp + 1;
    }
    while (*t == ' ')
        t++;
    if (!hex_token(t, out, want_len))
        return 0;
    *len = want_len;
    return 1;
}
