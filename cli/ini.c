/*
 * ini.c - the INI reader. See ini.h.
 */
#include "ini.h"

#include "base/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Trims spaces in place, returns the start. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* A comment starts at p: ';' or '#' at the start of the text or after
 * whitespace. */
static int comment_at(const char *start, const char *p)
{
    return (*p == ';' || *p == '#') && (p == start || isspace((unsigned char)p[-1]));
}

/* Cuts s at its first comment. */
static void cut_comment(char *s)
{
    for (char *p = s; *p; p++)
        if (comment_at(s, p)) {
            *p = '\0';
            return;
        }
}

/* The value after '=': quoted or plain, comment removed. Returns 0, or -1 on
 * an unterminated quote or text after the closing quote. */
static int parse_value(char *raw, char **out)
{
    char *v = raw;
    while (isspace((unsigned char)*v))
        v++;
    if (*v != '"') {
        cut_comment(v);
        *out = trim(v);
        return 0;
    }
    char *w = v, *r = v + 1;
    for (;; r++) {
        if (*r == '\0')
            return -1;
        if (*r == '\\' && (r[1] == '"' || r[1] == '\\')) {
            *w++ = *++r;
            continue;
        }
        if (*r == '"')
            break;
        *w++ = *r;
    }
    *w = '\0';
    char *rest = trim(r + 1);
    if (*rest != '\0' && *rest != ';' && *rest != '#')
        return -1;
    *out = v;
    return 0;
}

/* The first '=' of s that comes before any comment, or NULL. */
static char *find_eq(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '=')
            return p;
        if (comment_at(s, p))
            return NULL;
    }
    return NULL;
}

typedef struct ini_state {
    const char *path;
    rsl_ini_fn fn;
    void *ud;
    char *section; /* points into the copy */
} ini_state;

static rsl_code on_header(ini_state *st, char *s, int line, rsl_err *err)
{
    char *rb = strchr(s, ']');
    /* "[a] ; x" ends in a comment; in "[a]#x" the '#' is text: no space before it */
    if (rb != NULL && (rb[1] == '\0' || isspace((unsigned char)rb[1]))) {
        char *rest = rb + 1;
        cut_comment(rest);
        if (*trim(rest) == '\0') {
            *rb = '\0';
            st->section = trim(s + 1);
            return st->fn(st->ud, st->section, NULL, NULL, line, err);
        }
    }
    return rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0,
                       "%s:%d: [section]: missing ']' or text after it", st->path, line);
}

static rsl_code on_line(ini_state *st, char *ln, int line, rsl_err *err)
{
    size_t l = strlen(ln);
    if (l > 0 && ln[l - 1] == '\r')
        ln[l - 1] = '\0';
    char *s = trim(ln);
    if (*s == '\0' || *s == ';' || *s == '#')
        return RSL_OK;
    if (*s == '[')
        return on_header(st, s, line, err);
    char *eq = find_eq(s);
    if (eq == NULL || eq == s) {
        cut_comment(s);
        return rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0, "%s:%d: %.40s: expected 'key = value'",
                           st->path, line, trim(s));
    }
    *eq = '\0';
    char *key = trim(s);
    char *val = NULL;
    if (parse_value(eq + 1, &val) != 0)
        return rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0,
                           "%s:%d: %s: unterminated or malformed quoted value", st->path, line,
                           key);
    return st->fn(st->ud, st->section, key, val, line, err);
}

rsl_code rsl_ini_parse(const char *path, const char *text, rsl_ini_fn fn, void *ud, rsl_err *err)
{
    char *copy = strdup(text);
    if (copy == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    ini_state st = {.path = path, .fn = fn, .ud = ud, .section = NULL};
    rsl_code rc = RSL_OK;
    int line = 0;
    /* walk lines by hand so empty lines keep the count right */
    for (char *ln = copy, *next = NULL; ln != NULL && rc == RSL_OK; ln = next) {
        line++;
        char *nl = strchr(ln, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        rc = on_line(&st, ln, line, err);
    }
    free(copy);
    return rc;
}

static void fmt_bytes(char *buf, size_t n, size_t bytes)
{
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
        snprintf(buf, n, "%zu MiB", bytes >> 20);
    else if (bytes >= 1024 && bytes % 1024 == 0)
        snprintf(buf, n, "%zu KiB", bytes >> 10);
    else
        snprintf(buf, n, "%zu bytes", bytes);
}

char *rsl_ini_read(const char *path, size_t max_bytes, const char *what, rsl_err *err)
{
    size_t n = 0;
    char *buf = rsl_read_file(path, max_bytes, &n);
    if (buf == NULL) {
        int e = errno;
        if (e == EFBIG) {
            char lim[32];
            fmt_bytes(lim, sizeof(lim), max_bytes);
            rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0, "%s: %s larger than %s", path, what, lim);
        } else {
            rsl_err_set(err, RSL_E_CONFIG_UNREADABLE, e, "%s: cannot read %s: %s", path, what,
                        strerror(e));
        }
        return NULL;
    }
    if (memchr(buf, '\0', n) != NULL) {
        free(buf);
        rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0, "%s: %s contains NUL bytes", path, what);
        return NULL;
    }
    return buf;
}
