/*
 * config.c - the job file parser. See config.h.
 *
 * Syntax: "[section]", "key = value", comments from ';' or '#' at the start
 * of a line or after whitespace. A value may be double-quoted to keep ';' or
 * '#' or surrounding spaces ("..." with \" and \\ escapes). Relative paths
 * are taken relative to the job file's directory.
 *
 * Keys: the [job] keys and the [remote] keys every transport shares are in
 * the table below. Every other [remote] key belongs to a transport: it is
 * kept with its line number while the file is read and handed to the
 * destination's transport (its key table, transports/keys.h) once the file
 * is read, since `destination` may come after [remote].
 */
#include "config.h"

#include "base/buf.h"
#include "transports/keys.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum {
    K_STR,  /* any string */
    K_PATH, /* a path, made absolute against the job file's directory */
    K_URL,  /* destination */
    K_BOOL, /* yes/no */
    K_LONG, /* integer with range */
    K_SIZE, /* bytes with K/M/G suffixes */
    K_SECS, /* duration */
    K_LIST  /* repeated string (exclude) */
} ktype;

typedef struct key_def {
    const char *section;
    const char *key;
    ktype type;
    size_t off; /* offset in rsl_job */
    long min, max;
} key_def;

#define OFF(f) offsetof(rsl_job, f)
static const key_def keys[] = {
    {"job", "name", K_STR, OFF(name), 0, 0},
    {"job", "source", K_PATH, OFF(source), 0, 0},
    {"job", "destination", K_URL, OFF(destination), 0, 0},
    {"job", "state", K_PATH, OFF(state_path), 0, 0},
    {"job", "delete", K_BOOL, OFF(delete_), 0, 0},
    {"job", "max_delete", K_LONG, OFF(max_delete), 0, LONG_MAX},
    {"job", "exclude", K_LIST, 0, 0, 0},
    {"job", "bwlimit", K_SIZE, OFF(bwlimit), 0, 0},
    {"job", "follow_symlinks", K_BOOL, OFF(follow_symlinks), 0, 0},
    {"job", "transfers", K_LONG, OFF(transfers), 1, 64},
    {"job", "timeout", K_SECS, OFF(timeout_sec), 1, 86400},
    {"job", "schedule", K_STR, OFF(schedule), 0, 0},
    {"job", "metrics_file", K_PATH, OFF(metrics_file), 0, 0},
    {"remote", "forbidden_chars", K_STR, OFF(forbidden_chars), 0, 0},
    {"remote", "max_name_length", K_LONG, OFF(max_name_length), 1, 65535},
    {"remote", "max_path_length", K_LONG, OFF(max_path_length), 1, 1000000},
    {"remote", "temp_suffix", K_STR, OFF(temp_suffix), 0, 0},
    {"remote", "max_file_size", K_SIZE, OFF(max_file_size), 0, 0},
    {"remote", "allow_empty_files", K_BOOL, OFF(allow_empty_files), 0, 0},
    {"remote", "username", K_STR, OFF(username), 0, 0},
    {"remote", "password_file", K_PATH, OFF(password_file), 0, 0},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

int rsl_config_parse_bool(const char *s)
{
    return rsl_keys_parse_bool(s);
}

int rsl_config_parse_size(const char *s, uint64_t *out)
{
    return rsl_keys_parse_size(s, out);
}

long rsl_config_parse_duration(const char *s)
{
    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || v < 0)
        return -1;
    long mult = 1;
    if (*end == 's' || *end == 'S')
        end++;
    else if (*end == 'm' || *end == 'M')
        mult = 60, end++;
    else if (*end == 'h' || *end == 'H')
        mult = 3600, end++;
    if (*end != '\0' || v > LONG_MAX / mult)
        return -1;
    return v * mult;
}

static char *dirname_of(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

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

/* Extracts the value: handles quotes and inline comments. Returns 0 or -1. */
static int parse_value(char *raw, char **out)
{
    char *v = raw;
    while (isspace((unsigned char)*v))
        v++;
    if (*v == '"') {
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
    for (char *p = v; *p; p++) {
        if ((*p == ';' || *p == '#') && (p == v || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            break;
        }
    }
    *out = trim(v);
    return 0;
}

static rsl_code set_key(rsl_job *job, const key_def *k, const char *val, const char *base_dir,
                        const char *path, int line, rsl_err *err)
{
    char *field = (char *)job + k->off;
    switch (k->type) {
    case K_STR:
    case K_URL:
    case K_PATH: {
        char **slot = (char **)(void *)field;
        if (val[0] == '\0' && k->type != K_STR)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: %s: value is empty", path,
                               line, k->key);
        char *v = k->type == K_PATH ? rsl_keys_abspath(base_dir, val) : strdup(val);
        if (v == NULL)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: %s: path too long", path,
                               line, k->key);
        if (k->type == K_URL) {
            rsl_endpoint ep;
            rsl_err e2;
            if (rsl_endpoint_parse(&ep, v, &e2) != RSL_OK) {
                free(v);
                return rsl_err_set(
                    err, e2.code == RSL_E_SCHEME_UNSUPPORTED ? e2.code : RSL_E_CONFIG_BAD_VALUE, 0,
                    "%s:%d: %s: %s", path, line, k->key, e2.msg);
            }
            rsl_endpoint_free(&ep);
        }
        free(*slot);
        *slot = v;
        return RSL_OK;
    }
    case K_BOOL: {
        int b = rsl_config_parse_bool(val);
        if (b < 0)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: %s: '%s' is not yes or no",
                               path, line, k->key, val);
        *(int *)(void *)field = b;
        return RSL_OK;
    }
    case K_LONG:
    case K_SECS: {
        long v;
        char *end = NULL;
        if (k->type == K_SECS) {
            v = rsl_config_parse_duration(val);
            end = v < 0 ? NULL : (char *)"";
        } else {
            errno = 0;
            v = strtol(val, &end, 10);
            if (errno != 0 || end == val)
                end = NULL;
        }
        if (end == NULL || *end != '\0')
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: %s: '%s' is not a %s", path,
                               line, k->key, val,
                               k->type == K_SECS ? "duration (e.g. 60, 90s, 5m)" : "whole number");
        if (v < k->min || v > k->max)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                               "%s:%d: %s: %ld is out of range (%ld..%ld)", path, line, k->key, v,
                               k->min, k->max);
        if (k->off == OFF(max_delete))
            *(long *)(void *)field = v;
        else
            *(int *)(void *)field = (int)v;
        return RSL_OK;
    }
    case K_SIZE: {
        uint64_t v;
        if (rsl_config_parse_size(val, &v) != 0)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                               "%s:%d: %s: '%s' is not a size (e.g. 0, 512K, 100M, 2G)", path, line,
                               k->key, val);
        *(uint64_t *)(void *)field = v;
        return RSL_OK;
    }
    case K_LIST: {
        if (val[0] == '\0')
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: %s: pattern is empty", path,
                               line, k->key);
        char **n = realloc(job->excludes, (job->n_excludes + 1) * sizeof(*n));
        if (n == NULL)
            return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        job->excludes = n;
        if ((n[job->n_excludes] = strdup(val)) == NULL)
            return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        job->n_excludes++;
        return RSL_OK;
    }
    }
    return RSL_E_INTERNAL;
}

static int valid_name(const char *n)
{
    if (n == NULL || *n == '\0' || strlen(n) > 100 || n[0] == '.')
        return 0;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return 0;
    return 1;
}

/* A [remote] key that belongs to a transport, kept until the destination is
 * known. key and val point into the parser's copy of the text. */
typedef struct tkey {
    const char *key, *val;
    int line;
} tkey;

typedef struct tkeys {
    tkey *v;
    size_t n, cap;
} tkeys;

/* An unknown key: the error names where it belongs when we know. */
static rsl_code unknown_key(const char *path, int line, const char *key, const char *section,
                            rsl_err *err)
{
    const char *hint = "";
    char owners[128];
    for (size_t j = 0; j < NKEYS; j++)
        if (strcmp(keys[j].key, key) == 0)
            hint = strcmp(keys[j].section, "job") == 0 ? " (it belongs in [job])"
                                                       : " (it belongs in [remote])";
    if (hint[0] == '\0' && rsl_scheme_key_owners(key, owners, sizeof(owners)) > 0)
        hint = " (it belongs in [remote])";
    return rsl_err_set(err, RSL_E_CONFIG_UNKNOWN_KEY, 0,
                       "%s:%d: %s: unknown key in [%s]%s; see job.conf(5)", path, line, key,
                       section, hint);
}

/* Keeps [remote] key `key` for the destination's transport. */
static rsl_code defer_transport_key(tkeys *tk, const char *key, const char *val, int line,
                                    const char *path, rsl_err *err)
{
    for (size_t i = 0; i < tk->n; i++)
        if (strcmp(tk->v[i].key, key) == 0)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                               "%s:%d: %s: set twice (first at line %d)", path, line, key,
                               tk->v[i].line);
    if (tk->n == tk->cap) {
        size_t cap = tk->cap ? tk->cap * 2 : 16;
        tkey *g = realloc(tk->v, cap * sizeof(*g));
        if (g == NULL)
            return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        tk->v = g;
        tk->cap = cap;
    }
    tk->v[tk->n++] = (tkey){.key = key, .val = val, .line = line};
    return RSL_OK;
}

/* One transport key the destination's transport refused. */
static rsl_code transport_key_error(const tkey *k, const char *scheme, const rsl_err *e,
                                    const char *path, rsl_err *err)
{
    char owners[128];
    if (e->code != RSL_E_CONFIG_UNKNOWN_KEY)
        return rsl_err_set(err, e->code, 0, "%s:%d: %s: %s", path, k->line, k->key, e->msg);
    if (rsl_scheme_key_owners(k->key, owners, sizeof(owners)) > 0)
        return rsl_err_set(err, RSL_E_CONFIG_UNKNOWN_KEY, 0,
                           "%s:%d: %s: a key for %s destinations, not %s:// (see job.conf(5))",
                           path, k->line, k->key, owners, scheme);
    return unknown_key(path, k->line, k->key, "remote", err);
}

/* Makes the destination transport's settings (its defaults) and hands it
 * the transport keys of the file. */
static rsl_code apply_transport_keys(rsl_job *job, const tkeys *tk, const char *path,
                                     const char *base_dir, rsl_err *err)
{
    rsl_endpoint ep;
    rsl_code rc = rsl_endpoint_parse(&ep, job->destination, err);
    if (rc != RSL_OK)
        return rc;
    const rsl_transport_ops *ops = rsl_transport_find(ep.scheme);
    rsl_transport_cfg_free(job->transport, job->transport_cfg);
    job->transport = ops;
    rc = rsl_transport_cfg_new(ops, &job->transport_cfg, err);
    for (size_t i = 0; rc == RSL_OK && tk != NULL && i < tk->n; i++) {
        rsl_err e;
        rsl_err_clear(&e);
        if (rsl_transport_cfg_set(ops, job->transport_cfg, tk->v[i].key, tk->v[i].val, base_dir,
                                  &e) != RSL_OK)
            rc = transport_key_error(&tk->v[i], ep.scheme, &e, path, err);
    }
    rsl_endpoint_free(&ep);
    return rc;
}

/* Required keys and cross-key checks; `line` is the [job] header's line;
 * tk (may be NULL) the transport keys read, base_dir the job file's
 * directory. */
static rsl_code rsl_config_finish_at(rsl_job *job, const char *path, int line, const tkeys *tk,
                                     const char *base_dir, rsl_err *err)
{
    static const struct {
        const char *key;
        size_t off;
    } req[] = {{"name", OFF(name)}, {"source", OFF(source)}, {"destination", OFF(destination)}};
    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
        if (*(char **)(void *)((char *)job + req[i].off) == NULL)
            return rsl_err_set(err, RSL_E_CONFIG_MISSING_KEY, 0,
                               "%s:%d: %s: required key is missing from [job]", path, line,
                               req[i].key);
    if (!valid_name(job->name))
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: name: '%s' must be 1-100 of A-Z a-z 0-9 . _ - and not start "
                           "with '.'",
                           path, line, job->name);
    if (job->temp_suffix[0] == '\0' || strchr(job->temp_suffix, '/') != NULL)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: temp_suffix: must be non-empty and contain no '/'", path, line);
    rsl_code rc = apply_transport_keys(job, tk, path, base_dir, err);
    if (rc != RSL_OK)
        return rc;
    if (job->state_path == NULL &&
        (job->state_path = rsl_job_default_state_path(job->name)) == NULL)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: state: cannot derive a path",
                           path, line);
    return RSL_OK;
}

rsl_code rsl_config_finish(rsl_job *job, const char *path, rsl_err *err)
{
    return rsl_config_finish_at(job, path, 0, NULL, NULL, err);
}

rsl_code rsl_config_parse(rsl_job *job, const char *path, const char *text, rsl_err *err)
{
    if (rsl_job_init(job) != 0)
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    job->conf_path = strdup(path);
    char *base_dir = dirname_of(path);
    char *copy = strdup(text);
    int seen[NKEYS];
    memset(seen, 0, sizeof(seen));
    tkeys tk = {0};
    rsl_code rc = RSL_OK;
    const char *section = NULL;
    int job_line = 0;
    int line = 0;
    char *save = NULL;
    if (copy == NULL || base_dir == NULL || job->conf_path == NULL) {
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        goto done;
    }
    /* walk lines by hand so empty lines keep the count right */
    for (char *ln = copy; ln != NULL; ln = save) {
        line++;
        char *nl = strchr(ln, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        size_t l = strlen(ln);
        if (l > 0 && ln[l - 1] == '\r')
            ln[l - 1] = '\0';
        char *s = trim(ln);
        if (*s == '\0' || *s == ';' || *s == '#')
            continue;
        if (*s == '[') {
            char *rb = strchr(s, ']');
            if (rb == NULL || *trim(rb + 1) != '\0') {
                rc = rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0,
                                 "%s:%d: [section]: missing ']' or text after it", path, line);
                goto done;
            }
            *rb = '\0';
            char *name = trim(s + 1);
            if (strcmp(name, "job") == 0) {
                section = "job";
                job_line = line;
            } else if (strcmp(name, "remote") == 0) {
                section = "remote";
            } else {
                rc = rsl_err_set(err, RSL_E_CONFIG_UNKNOWN_KEY, 0,
                                 "%s:%d: [%s]: unknown section (known: [job], [remote])", path,
                                 line, name);
                goto done;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            rc = rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0, "%s:%d: %.40s: expected 'key = value'",
                             path, line, s);
            goto done;
        }
        *eq = '\0';
        char *key = trim(s);
        char *val = NULL;
        if (parse_value(eq + 1, &val) != 0) {
            rc = rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0,
                             "%s:%d: %s: unterminated or malformed quoted value", path, line, key);
            goto done;
        }
        if (section == NULL) {
            rc =
                rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0,
                            "%s:%d: %s: key outside a section (start with [job])", path, line, key);
            goto done;
        }
        size_t i, in_job = 0;
        for (i = 0; i < NKEYS; i++)
            if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
                break;
        for (size_t j = 0; j < NKEYS; j++)
            in_job |= strcmp(keys[j].section, "job") == 0 && strcmp(keys[j].key, key) == 0;
        if (i == NKEYS && strcmp(section, "remote") == 0 && !in_job) {
            /* a transport's key: applied once the destination is known */
            if ((rc = defer_transport_key(&tk, key, val, line, path, err)) != RSL_OK)
                goto done;
            continue;
        }
        if (i == NKEYS) {
            rc = unknown_key(path, line, key, section, err);
            goto done;
        }
        if (seen[i] && keys[i].type != K_LIST) {
            rc = rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                             "%s:%d: %s: set twice (first at line %d)", path, line, key, seen[i]);
            goto done;
        }
        seen[i] = line;
        if ((rc = set_key(job, &keys[i], val, base_dir, path, line, err)) != RSL_OK)
            goto done;
    }
    rc = rsl_config_finish_at(job, path, job_line, &tk, base_dir, err);
done:
    free(tk.v);
    free(copy);
    free(base_dir);
    return rc;
}

rsl_code rsl_config_load(rsl_job *job, const char *path, rsl_err *err)
{
    size_t n = 0;
    char *buf = rsl_read_file(path, 1u << 20, &n);
    if (buf == NULL) {
        int e = errno;
        rsl_job_init(job);
        if (e == EFBIG)
            return rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0, "%s: job file larger than 1 MiB", path);
        return rsl_err_set(err, RSL_E_CONFIG_UNREADABLE, e, "%s: cannot read job file: %s", path,
                           strerror(e));
    }
    if (memchr(buf, '\0', n) != NULL) {
        free(buf);
        rsl_job_init(job);
        return rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0, "%s: job file contains NUL bytes", path);
    }
    rsl_code rc = rsl_config_parse(job, path, buf, err);
    free(buf);
    return rc;
}
