/*
 * config.c - the job file parser. See config.h.
 *
 * The lines are read by cli/ini.c (sections, "key = value", comments,
 * quotes, line numbers); this file knows the keys. Relative paths are taken
 * relative to the job file's directory.
 */
#include "config.h"

#include "cli/ini.h"
#include "cli/secret_env.h"
#include "engine/schedule.h"

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
    K_LIST, /* repeated string (exclude) */
    K_FTPSMODE
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
    {"remote", "identity_file", K_PATH, OFF(identity_file), 0, 0},
    {"remote", "passphrase_file", K_PATH, OFF(passphrase_file), 0, 0},
    {"remote", "password_file", K_PATH, OFF(password_file), 0, 0},
    {"remote", "token_file", K_PATH, OFF(token_file), 0, 0},
    {"remote", "known_hosts", K_PATH, OFF(known_hosts), 0, 0},
    {"remote", "host_key_fingerprint", K_STR, OFF(host_key_fingerprint), 0, 0},
    {"remote", "strict_host_key_checking", K_BOOL, OFF(strict_host_key_checking), 0, 0},
    {"remote", "use_agent", K_BOOL, OFF(use_agent), 0, 0},
    {"remote", "ca_file", K_PATH, OFF(ca_file), 0, 0},
    {"remote", "pinned_pubkey", K_STR, OFF(pinned_pubkey), 0, 0},
    {"remote", "tls_verify", K_BOOL, OFF(tls_verify), 0, 0},
    {"remote", "allow_insecure", K_BOOL, OFF(allow_insecure), 0, 0},
    {"remote", "ftps_mode", K_FTPSMODE, OFF(ftps_implicit), 0, 0},
    {"remote", "chunk_size", K_SIZE, OFF(chunk_size), 0, 0},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

int rsl_config_parse_bool(const char *s)
{
    static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

int rsl_config_parse_size(const char *s, uint64_t *out)
{
    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case '\0':
        break;
    case 'K':
        shift = 10;
        end++;
        break;
    case 'M':
        shift = 20;
        end++;
        break;
    case 'G':
        shift = 30;
        end++;
        break;
    case 'T':
        shift = 40;
        end++;
        break;
    case 'B':
        break;
    default:
        return -1;
    }
    if (strcasecmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
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

static char *absolutize(const char *base_dir, const char *p)
{
    char buf[PATH_MAX];
    if (p[0] == '/')
        return strdup(p);
    if (p[0] == '~' && p[1] == '/') {
        const char *home = getenv("HOME");
        if (snprintf(buf, sizeof(buf), "%s%s", home ? home : "", p + 1) >= (int)sizeof(buf))
            return NULL;
        return strdup(buf);
    }
    char cwd[PATH_MAX];
    const char *b = base_dir;
    if (b == NULL || b[0] != '/') {
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return NULL;
        if (b && strcmp(b, ".") != 0) {
            size_t l = strlen(cwd);
            snprintf(cwd + l, sizeof(cwd) - l, "/%s", b);
        }
        b = cwd;
    }
    if (snprintf(buf, sizeof(buf), "%s/%s", b, p) >= (int)sizeof(buf))
        return NULL;
    return strdup(buf);
}

static void strip_trailing_slashes(char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
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
        char *v = k->type == K_PATH ? absolutize(base_dir, val) : strdup(val);
        if (v == NULL)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: %s: path too long", path,
                               line, k->key);
        if (k->type == K_PATH)
            strip_trailing_slashes(v);
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
        if (k->off == OFF(chunk_size) && v < 4096)
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                               "%s:%d: %s: chunk size must be at least 4K", path, line, k->key);
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
    case K_FTPSMODE:
        if (strcasecmp(val, "explicit") == 0)
            job->ftps_implicit = 0;
        else if (strcasecmp(val, "implicit") == 0)
            job->ftps_implicit = 1;
        else
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                               "%s:%d: %s: '%s' is not explicit or implicit", path, line, k->key,
                               val);
        return RSL_OK;
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

/* What the parse keeps while it reads: the current section, and the line each
 * key was set on, so that a check made after reading names that line. */
typedef struct parse_ctx {
    rsl_job *job;
    const char *path;
    char *base_dir;
    const char *section; /* "job", "remote", or NULL before the first header */
    int job_line;        /* the [job] header's line */
    int seen[NKEYS];     /* the line keys[i] was set on; 0 if not set */
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
    rsl_code rc = check_schedule(job, path, line_of(c, "schedule"), err);
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

static rsl_code unknown_key(const parse_ctx *c, const char *key, int line, rsl_err *err)
{
    const char *hint = "";
    for (size_t j = 0; j < NKEYS; j++)
        if (strcmp(keys[j].key, key) == 0)
            hint = strcmp(keys[j].section, "job") == 0 ? " (it belongs in [job])"
                                                       : " (it belongs in [remote])";
    return rsl_err_set(err, RSL_E_CONFIG_UNKNOWN_KEY, 0,
                       "%s:%d: %s: unknown key in [%s]%s; see job.conf(5)", c->path, line, key,
                       c->section, hint);
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
    size_t i;
    for (i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, c->section) == 0 && strcmp(keys[i].key, key) == 0)
            break;
    if (i == NKEYS)
        return unknown_key(c, key, line, err);
    if (c->seen[i] && keys[i].type != K_LIST)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "%s:%d: %s: set twice (first at line %d)", c->path, line, key,
                           c->seen[i]);
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
