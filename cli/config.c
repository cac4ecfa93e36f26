/*
 * config.c - the job file parser. See config.h.
 *
 * The lines are read by cli/ini.c (sections, "key = value", comments,
 * quotes, line numbers); this file knows the keys. Relative paths are taken
 * relative to the job file's directory.
 *
 * Keys: the [job] keys and the [remote] keys every transport shares are in
 * the table below. Every other [remote] key belongs to a transport: it is
 * kept with its line number while the file is read and handed to the
 * destination's transport (its key table, transports/keys.h) once the file
 * is read, since `destination` may come after [remote].
 */
#include "config.h"

#include "cli/ini.h"
#include "cli/secret_env.h"
#include "engine/schedule.h"
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
    K_STR,   /* any string */
    K_PATH,  /* a path, made absolute against the job file's directory */
    K_URL,   /* destination */
    K_BOOL,  /* yes/no */
    K_LONG,  /* integer with range */
    K_SIZE,  /* bytes with K/M/G suffixes */
    K_SECS,  /* duration */
    K_LIST,  /* repeated string (exclude, append; the count is the n_ field beside it) */
    K_LNK,   /* symlinks = skip | follow | as-links; follow_symlinks = yes/no */
    K_PERMS, /* source | server | octal mode */
    K_RCHECK /* every-run | never | a duration */
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
    {"job", "exclude", K_LIST, OFF(excludes), 0, 0},
    {"job", "append", K_LIST, OFF(appends), 0, 0},
    {"job", "bwlimit", K_SIZE, OFF(bwlimit), 0, 0},
    {"job", "symlinks", K_LNK, OFF(symlinks), 0, 0},
    {"job", "follow_symlinks", K_LNK, OFF(follow_symlinks), 0, 0},
    {"job", "transfers", K_LONG, OFF(transfers), 1, 64},
    {"job", "max_connections", K_LONG, OFF(max_connections), 1, 64},
    {"job", "multi_connection_min", K_SIZE, OFF(multi_connection_min), 0, 0},
    {"job", "timeout", K_SECS, OFF(timeout_sec), 1, 86400},
    {"job", "max_run_time", K_SECS, OFF(max_run_time), 0, RSL_MAX_RUN_TIME_MAX},
    {"job", "remote_check", K_RCHECK, OFF(remote_check), 1, RSL_MAX_RUN_TIME_MAX},
    {"job", "schedule", K_STR, OFF(schedule), 0, 0},
    {"job", "metrics_file", K_PATH, OFF(metrics_file), 0, 0},
    {"remote", "forbidden_chars", K_STR, OFF(forbidden_chars), 0, 0},
    {"remote", "max_name_length", K_LONG, OFF(max_name_length), 1, 65535},
    {"remote", "max_path_length", K_LONG, OFF(max_path_length), 1, 1000000},
    {"remote", "temp_suffix", K_STR, OFF(temp_suffix), 0, 0},
    {"remote", "max_file_size", K_SIZE, OFF(max_file_size), 0, 0},
    {"remote", "allow_empty_files", K_BOOL, OFF(allow_empty_files), 0, 0},
    {"remote", "perms", K_PERMS, OFF(perms), 0, 07777},
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

/* perms = source | server | an octal mode such as 0640 */
static rsl_code set_perms(rsl_job *job, const key_def *k, const char *val, const char *path,
                          int line, rsl_err *err)
{
    if (strcasecmp(val, "source") == 0) {
        job->perms = RSL_PERMS_SOURCE;
        return RSL_OK;
    }
    if (strcasecmp(val, "server") == 0) {
        job->perms = RSL_PERMS_SERVER;
        return RSL_OK;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(val, &end, 8);
    if (errno != 0 || end == val || *end != '\0' || v < k->min || v > k->max)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: %s: '%s' is not source, server or an octal mode (e.g. 0640)",
                           path, line, k->key, val);
    job->perms = (int)v;
    return RSL_OK;
}

/* remote_check = every-run | never | a duration (at most once per interval) */
static rsl_code set_rcheck(rsl_job *job, const key_def *k, const char *val, const char *path,
                           int line, rsl_err *err)
{
    if (strcasecmp(val, "every-run") == 0) {
        job->remote_check = RSL_RCHECK_EVERY_RUN;
        return RSL_OK;
    }
    if (strcasecmp(val, "never") == 0) {
        job->remote_check = RSL_RCHECK_NEVER;
        return RSL_OK;
    }
    long v = rsl_config_parse_duration(val);
    if (v < k->min || v > k->max)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: %s: '%s' is not every-run, never or a duration of 1s..%ldh "
                           "(e.g. 6h)",
                           path, line, k->key, val, k->max / 3600);
    job->remote_check = (int)v;
    return RSL_OK;
}

/* symlinks = skip | follow | as-links, and its old spelling follow_symlinks
 * = yes (follow) / no (skip). */
static rsl_code set_links(rsl_job *job, const key_def *k, const char *val, const char *path,
                          int line, rsl_err *err)
{
    int v = -1;
    if (strcmp(k->key, "follow_symlinks") == 0) {
        int b = rsl_config_parse_bool(val);
        v = b < 0 ? -1 : b ? RSL_SYMLINKS_FOLLOW : RSL_SYMLINKS_SKIP;
        if (v < 0)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: %s: '%s' is not yes or no",
                               path, line, k->key, val);
    } else if (strcasecmp(val, "skip") == 0) {
        v = RSL_SYMLINKS_SKIP;
    } else if (strcasecmp(val, "follow") == 0) {
        v = RSL_SYMLINKS_FOLLOW;
    } else if (strcasecmp(val, "as-links") == 0) {
        v = RSL_SYMLINKS_AS_LINKS;
    } else {
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: %s: '%s' is not skip, follow or as-links", path, line, k->key,
                           val);
    }
    job->symlinks = v;
    job->follow_symlinks = v == RSL_SYMLINKS_FOLLOW;
    return RSL_OK;
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
    case K_PERMS:
        return set_perms(job, k, val, path, line, err);
    case K_RCHECK:
        return set_rcheck(job, k, val, path, line, err);
    case K_LNK:
        return set_links(job, k, val, path, line, err);
    case K_LIST: {
        if (val[0] == '\0')
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: %s: pattern is empty", path,
                               line, k->key);
        char ***list = (char ***)(void *)field;
        size_t *count = k->off == OFF(appends) ? &job->n_appends : &job->n_excludes;
        char **n = realloc(*list, (*count + 1) * sizeof(*n));
        if (n == NULL)
            return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        *list = n;
        if ((n[*count] = strdup(val)) == NULL)
            return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
        (*count)++;
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

/* A [remote] key that belongs to a transport, kept (copied) until the
 * destination is known. */
typedef struct tkey {
    char *key, *val;
    int line;
} tkey;

typedef struct tkeys {
    tkey *v;
    size_t n, cap;
} tkeys;

static void tkeys_free(tkeys *tk)
{
    for (size_t i = 0; i < tk->n; i++) {
        free(tk->v[i].key);
        free(tk->v[i].val);
    }
    free(tk->v);
    memset(tk, 0, sizeof(*tk));
}

/* What the parse keeps while it reads: the current section, and the line each
 * key was set on, so that a check made after reading names that line. */
typedef struct parse_ctx {
    rsl_job *job;
    const char *path;
    char *base_dir;
    const char *section; /* "job", "remote", or NULL before the first header */
    int job_line;        /* the [job] header's line */
    int seen[NKEYS];     /* the line keys[i] was set on; 0 if not set */
    tkeys tk;            /* the transport's keys, applied in the finish step */
} parse_ctx;

/* The line `key` was set on; the [job] header's line when it was not set (a
 * missing key, a default); 0 for a job built in code (c == NULL). */
static int line_of(const parse_ctx *c, const char *key)
{
    if (c == NULL)
        return 0;
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].key, key) == 0 && c->seen[i] > 0)
            return c->seen[i];
    return c->job_line;
}

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
    tkey k = {.key = strdup(key), .val = strdup(val), .line = line};
    if (k.key == NULL || k.val == NULL) {
        free(k.key);
        free(k.val);
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    }
    tk->v[tk->n++] = k;
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
 * the transport keys of the file (tk may be NULL: a job built in code). */
static rsl_code apply_transport_keys(rsl_job *job, const tkeys *tk, const char *path,
                                     const char *base_dir, rsl_err *err)
{
    rsl_endpoint ep;
    rsl_code rc = rsl_endpoint_parse(&ep, job->destination, err);
    if (rc != RSL_OK)
        return rc;
    const rsl_transport_ops *ops = rsl_transport_find(ep.scheme);
    rsl_transport_cfg_free(job->transport, job->transport_cfg);
    job->transport_cfg = NULL;
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

/* The transport's check of its settings as a whole (with the shared keys);
 * the error names the line of the key it is about. */
static rsl_code check_transport_keys(rsl_job *job, const parse_ctx *c, const char *path,
                                     rsl_err *err)
{
    rsl_remote_opts shared = {.username = job->username, .password_file = job->password_file};
    const char *key = NULL;
    rsl_err e;
    rsl_err_clear(&e);
    if (rsl_transport_cfg_check(job->transport, job->transport_cfg, &shared, &key, &e) == RSL_OK)
        return RSL_OK;
    int line = key ? line_of(c, key) : 0;
    for (size_t i = 0; c != NULL && key != NULL && i < c->tk.n; i++)
        if (strcmp(c->tk.v[i].key, key) == 0)
            line = c->tk.v[i].line;
    return rsl_err_set(err, e.code, 0, "%s:%d: %s: %s", path, line, key ? key : "[remote]", e.msg);
}

/* A schedule the daemon could not follow is a config error for every
 * command; "schedule =" (empty) means none. */
static rsl_code check_schedule(rsl_job *job, const char *path, int line, rsl_err *err)
{
    if (job->schedule != NULL && job->schedule[0] == '\0') {
        free(job->schedule);
        job->schedule = NULL;
    }
    if (job->schedule == NULL)
        return RSL_OK;
    rsl_schedule s;
    char why[256];
    if (rsl_schedule_parse(&s, job->schedule, why, sizeof(why)) != 0)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: schedule: %s", path, line, why);
    /* from a fixed time (2000-01-01), not the clock: a date that does not
     * exist (Feb 30) never comes, whenever the job is loaded */
    if (rsl_schedule_next(&s, 946684800) < 0)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: schedule: '%s' never fires (no such date)", path, line,
                           job->schedule);
    return RSL_OK;
}

/* Required keys and cross-key checks; each error names the line of the key
 * it is about (c: what the parse saw; NULL for a job built in code). */
static rsl_code rsl_config_finish_at(rsl_job *job, const char *path, const parse_ctx *c,
                                     rsl_err *err)
{
    static const struct {
        const char *key;
        size_t off;
    } req[] = {{"name", OFF(name)}, {"source", OFF(source)}, {"destination", OFF(destination)}};
    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
        if (*(char **)(void *)((char *)job + req[i].off) == NULL)
            return rsl_err_set(err, RSL_E_CONFIG_MISSING_KEY, 0,
                               "%s:%d: %s: required key is missing from [job]", path,
                               c ? c->job_line : 0, req[i].key);
    if (!valid_name(job->name))
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: name: '%s' must be 1-100 of A-Z a-z 0-9 . _ - and not start "
                           "with '.'",
                           path, line_of(c, "name"), job->name);
    if (job->temp_suffix[0] == '\0' || strchr(job->temp_suffix, '/') != NULL)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: temp_suffix: must be non-empty and contain no '/'", path,
                           line_of(c, "temp_suffix"));
    rsl_code rc = apply_transport_keys(job, c ? &c->tk : NULL, path, c ? c->base_dir : NULL, err);
    if (rc == RSL_OK)
        rc = check_transport_keys(job, c, path, err);
    if (rc != RSL_OK)
        return rc;
    rc = check_schedule(job, path, line_of(c, "schedule"), err);
    if (rc != RSL_OK)
        return rc;
    if (job->state_path == NULL &&
        (job->state_path = rsl_job_default_state_path(job->name)) == NULL)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: state: cannot derive a path",
                           path, line_of(c, "name"));
    /* the password the environment gave at start-up (NULL if none) */
    job->password_env = rsl_secret_env_password();
    return RSL_OK;
}

rsl_code rsl_config_finish(rsl_job *job, const char *path, rsl_err *err)
{
    return rsl_config_finish_at(job, path, NULL, err);
}

static rsl_code on_section(parse_ctx *c, const char *name, int line, rsl_err *err)
{
    if (strcmp(name, "job") == 0) {
        c->section = "job";
        c->job_line = line;
    } else if (strcmp(name, "remote") == 0) {
        c->section = "remote";
    } else {
        return rsl_err_set(err, RSL_E_CONFIG_UNKNOWN_KEY, 0,
                           "%s:%d: [%s]: unknown section (known: [job], [remote])", c->path, line,
                           name);
    }
    return RSL_OK;
}

/* rsl_ini_fn: one header or one "key = value" line of the job file. */
static rsl_code on_item(void *ud, const char *section, const char *key, const char *val, int line,
                        rsl_err *err)
{
    parse_ctx *c = ud;
    if (key == NULL)
        return on_section(c, section, line, err);
    if (c->section == NULL)
        return rsl_err_set(err, RSL_E_CONFIG_SYNTAX, 0,
                           "%s:%d: %s: key outside a section (start with [job])", c->path, line,
                           key);
    size_t i, in_job = 0;
    for (i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, c->section) == 0 && strcmp(keys[i].key, key) == 0)
            break;
    for (size_t j = 0; j < NKEYS; j++)
        in_job |= strcmp(keys[j].section, "job") == 0 && strcmp(keys[j].key, key) == 0;
    if (i == NKEYS && strcmp(c->section, "remote") == 0 && !in_job)
        /* a transport's key: applied once the destination is known */
        return defer_transport_key(&c->tk, key, val, line, c->path, err);
    if (i == NKEYS)
        return unknown_key(c->path, line, key, c->section, err);
    if (c->seen[i] && keys[i].type != K_LIST)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: %s: set twice (first at line %d)", c->path, line, key,
                           c->seen[i]);
    for (size_t j = 0; keys[i].type == K_LNK && j < NKEYS; j++)
        if (j != i && keys[j].type == K_LNK && c->seen[j])
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                               "%s:%d: %s: %s was set at line %d (follow_symlinks is the old "
                               "spelling of symlinks; keep one)",
                               c->path, line, key, keys[j].key, c->seen[j]);
    c->seen[i] = line;
    return set_key(c->job, &keys[i], val, c->base_dir, c->path, line, err);
}

rsl_code rsl_config_parse(rsl_job *job, const char *path, const char *text, rsl_err *err)
{
    if (rsl_job_init(job) != 0)
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    parse_ctx c;
    memset(&c, 0, sizeof(c));
    c.job = job;
    c.path = path;
    c.base_dir = dirname_of(path);
    job->conf_path = strdup(path);
    rsl_code rc;
    if (c.base_dir == NULL || job->conf_path == NULL)
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    else if ((rc = rsl_ini_parse(path, text, on_item, &c, err)) == RSL_OK)
        rc = rsl_config_finish_at(job, path, &c, err);
    tkeys_free(&c.tk);
    free(c.base_dir);
    return rc;
}

rsl_code rsl_config_load(rsl_job *job, const char *path, rsl_err *err)
{
    char *text = rsl_ini_read(path, 1u << 20, "job file", err);
    if (text == NULL) {
        rsl_job_init(job);
        return err->code;
    }
    rsl_code rc = rsl_config_parse(job, path, text, err);
    free(text);
    return rc;
}
