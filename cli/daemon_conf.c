/*
 * daemon_conf.c - JOBDIR/daemon.conf. See daemon_conf.h.
 */
#include "daemon_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "cli/ini.h"

typedef struct conf_ctx {
    rsl_daemon_conf *c;
    const char *path, *jobdir;
} conf_ctx;

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A duration of at least 1 s into *out. Returns 0 or -1. */
static int parse_secs(const char *s, long *out)
{
    long v = rsl_config_parse_duration(s);
    if (v < 1)
        return -1;
    *out = v;
    return 0;
}

/* log_file, relative to JOBDIR like a job file's paths; empty: unset. */
static int set_log_file(conf_ctx *x, const char *v)
{
    if (*v == '\0')
        return 0;
    int n = snprintf(x->c->log_file, sizeof(x->c->log_file), "%s%s%s", v[0] == '/' ? "" : x->jobdir,
                     v[0] == '/' ? "" : "/", v);
    if (n < 0 || (size_t)n >= sizeof(x->c->log_file)) {
        x->c->log_file[0] = '\0';
        return -1; /* too long */
    }
    return 0;
}

/* rsl_ini_fn: one line of daemon.conf. */
static rsl_code on_item(void *ud, const char *section, const char *key, const char *v, int line,
                        rsl_err *err)
{
    (void)section; /* sections are allowed and mean nothing */
    conf_ctx *x = ud;
    if (key == NULL)
        return RSL_OK;
    int bad;
    if (strcmp(key, "max_parallel_jobs") == 0)
        bad = parse_long(v, 1, 256, &x->c->max_parallel);
    else if (strcmp(key, "stop_timeout") == 0)
        bad = parse_secs(v, &x->c->stop_timeout);
    else if (strcmp(key, "retry_min") == 0)
        bad = parse_secs(v, &x->c->retry_min);
    else if (strcmp(key, "retry_max") == 0)
        bad = parse_secs(v, &x->c->retry_max);
    else if (strcmp(key, "log_file") == 0)
        bad = set_log_file(x, v);
    else
        return rsl_err_set(err, RSL_E_CONFIG_UNKNOWN_KEY, 0,
                           "%s:%d: %s: unknown key (known: max_parallel_jobs, log_file, "
                           "stop_timeout, retry_min, retry_max)",
                           x->path, line, key);
    if (bad)
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "%s:%d: %s: bad value '%s'", x->path,
                           line, key, v);
    return RSL_OK;
}

void rsl_daemon_conf_init(rsl_daemon_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->max_parallel = -1;
    c->stop_timeout = -1;
    c->retry_min = 30;
    c->retry_max = 3600;
}

rsl_code rsl_daemon_conf_parse(rsl_daemon_conf *c, const char *path, const char *jobdir,
                               const char *text, rsl_err *err)
{
    conf_ctx x = {.c = c, .path = path, .jobdir = jobdir};
    return rsl_ini_parse(path, text, on_item, &x, err);
}

rsl_code rsl_daemon_conf_load(rsl_daemon_conf *c, const char *jobdir, rsl_err *err)
{
    rsl_daemon_conf_init(c);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/daemon.conf", jobdir);
    rsl_err e;
    char *text = rsl_ini_read(path, 2u << 20, "daemon.conf", &e);
    if (text == NULL)
        return RSL_OK; /* optional: missing or unreadable means the defaults, as before */
    rsl_code rc = rsl_daemon_conf_parse(c, path, jobdir, text, err);
    free(text);
    return rc;
}
