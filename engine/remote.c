/*
 * remote.c - see remote.h.
 */
#include "remote.h"

#include <string.h>

rsl_code rsl_remote_init(rsl_remote *r, const rsl_job *job, unsigned flags, rsl_err *err)
{
    memset(r, 0, sizeof(*r));
    rsl_code rc = rsl_endpoint_parse(&r->ep, job->destination, err);
    if (rc != RSL_OK)
        return rc;
    r->scheme = rsl_scheme_find(r->ep.scheme);
    r->ops = rsl_transport_find(r->ep.scheme);
    if (r->scheme == NULL || r->ops == NULL)
        return rsl_err_set(err, RSL_E_SCHEME_UNSUPPORTED, 0, "no transport for '%s://'",
                           r->ep.scheme);
    if (job->transport_cfg != NULL && job->transport != r->ops)
        return rsl_err_set(err, RSL_E_INTERNAL, 0,
                           "the job's transport settings are for %s, the destination is %s://",
                           job->transport ? job->transport->name : "?", r->ep.scheme);
    rsl_job_remote_opts(job, &r->opts);
    r->opts.readonly = (flags & RSL_REMOTE_READONLY) != 0;
    return RSL_OK;
}

rsl_code rsl_remote_connect(rsl_remote *r, rsl_conn **out, rsl_err *err)
{
    *out = NULL;
    if (r->ops == NULL)
        return rsl_err_set(err, RSL_E_INTERNAL, 0, "connect before the destination was parsed");
    return r->ops->connect(out, &r->ep, &r->opts, err);
}

void rsl_remote_disconnect(rsl_remote *r, rsl_conn *c)
{
    if (c && r->ops)
        r->ops->disconnect(c);
}

int rsl_remote_port(const rsl_remote *r)
{
    return rsl_endpoint_port(&r->ep, &r->opts);
}

void rsl_remote_free(rsl_remote *r)
{
    rsl_endpoint_free(&r->ep);
    memset(r, 0, sizeof(*r));
}
