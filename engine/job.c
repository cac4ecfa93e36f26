/*
 * job.c - job defaults and ownership. See job.h.
 */
#include "job.h"

#include "transports/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rsl_job_init(rsl_job *job)
{
    memset(job, 0, sizeof(*job));
    job->max_delete = RSL_DEFAULT_MAX_DELETE;
    job->transfers = RSL_DEFAULT_TRANSFERS;
    job->max_connections = RSL_DEFAULT_MAX_CONNECTIONS;
    job->multi_connection_min = RSL_DEFAULT_MULTI_CONNECTION_MIN;
    job->timeout_sec = RSL_DEFAULT_TIMEOUT;
    job->max_name_length = 255;
    job->max_path_length = 4096;
    job->allow_empty_files = 1;
    job->perms = RSL_PERMS_SOURCE;
    job->temp_suffix = strdup(RSL_DEFAULT_TEMP_SUFFIX);
    job->forbidden_chars = strdup("");
    return job->temp_suffix && job->forbidden_chars ? 0 : -1;
}

void rsl_job_free(rsl_job *job)
{
    if (job == NULL)
        return;
    char **strs[] = {&job->conf_path,   &job->name,     &job->source,       &job->destination,
                     &job->state_path,  &job->schedule, &job->metrics_file, &job->forbidden_chars,
                     &job->temp_suffix, &job->username, &job->password_file};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    for (size_t i = 0; i < job->n_excludes; i++)
        free(job->excludes[i]);
    free(job->excludes);
    job->excludes = NULL;
    job->n_excludes = 0;
    for (size_t i = 0; i < job->n_appends; i++)
        free(job->appends[i]);
    free(job->appends);
    job->appends = NULL;
    job->n_appends = 0;
    rsl_transport_cfg_free(job->transport, job->transport_cfg);
    job->transport = NULL;
    job->transport_cfg = NULL;
}

char *rsl_job_default_state_path(const char *name)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char buf[4096];
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, sizeof(buf), "%s/rsyncd-lite/%s.db", xdg, name);
    else
        n = snprintf(buf, sizeof(buf), "%s/.local/state/rsyncd-lite/%s.db",
                     home && *home ? home : "/root", name);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NULL;
    return strdup(buf);
}

void rsl_job_remote_opts(const rsl_job *job, rsl_remote_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->username = job->username;
    o->password_file = job->password_file;
    o->password_env = job->password_env; /* never getenv: the CLI took it out of the environment */
    o->timeout_sec = job->timeout_sec;
    o->temp_suffix = job->temp_suffix;
    o->cfg = job->transport_cfg;
}

const char *rsl_job_unverified(const rsl_job *job)
{
    rsl_endpoint ep;
    rsl_err err;
    if (job->destination == NULL || rsl_endpoint_parse(&ep, job->destination, &err) != RSL_OK)
        return NULL;
    const rsl_scheme *s = rsl_scheme_find(ep.scheme);
    rsl_endpoint_free(&ep);
    if (s == NULL || (job->transport_cfg != NULL && s->ops != job->transport))
        return NULL;
    return rsl_scheme_unverified(s, job->transport_cfg);
}

uint32_t rsl_job_remote_mode(const rsl_job *job, uint32_t local, int is_dir)
{
    if (job->perms == RSL_PERMS_SERVER)
        return 0;
    if (job->perms == RSL_PERMS_SOURCE || job->perms < 0)
        return local & 07777;
    uint32_t m = (uint32_t)job->perms & 07777;
    if (is_dir)
        m |= (m & 0444) >> 2; /* r -> x: a readable directory must be searchable */
    return m;
}

typedef struct secret_ctx {
    void (*warn)(void *ud, const char *msg);
    void *ud;
} secret_ctx;

static void check_secret(void *ud, const char *key, const char *path)
{
    secret_ctx *c = ud;
    char msg[1024];
    if (rsl_secret_exposed(path, key, msg, sizeof(msg)))
        c->warn(c->ud, msg);
}

void rsl_job_secret_warnings(const rsl_job *job, void (*warn)(void *ud, const char *msg), void *ud)
{
    secret_ctx c = {.warn = warn, .ud = ud};
    if (job->password_file != NULL)
        check_secret(&c, "password_file", job->password_file);
    rsl_transport_secret_paths(job->transport, job->transport_cfg, check_secret, &c);
}
