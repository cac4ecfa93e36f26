/*
 * transport.c - destination URL parsing and the scheme registry.
 * See transport.h. Each protocol lives in its own file (file.c, sftp.c, ...).
 */
#include "transport.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file.h"
#include "sftp.h"
#include "ftps.h"
#include "https.h"

static const rsl_scheme builtin[] = {
    {"file", &rsl_transport_file, 0, RSL_SCHEME_LOCAL},
    {"sftp", &rsl_transport_sftp, 22, RSL_SCHEME_SECURE},
    {"ftps", &rsl_transport_ftps, 21, RSL_SCHEME_SECURE},
    {"ftp", &rsl_transport_ftps, 21, RSL_SCHEME_INSECURE},
    {"https", &rsl_transport_https, 443, RSL_SCHEME_SECURE},
    {"http", &rsl_transport_https, 80, RSL_SCHEME_INSECURE},
};

/* Schemes registered at run time (tests). Registration happens before any
 * run starts; lookups only read. */
#define MAX_EXTRA 8
static const rsl_scheme *extra[MAX_EXTRA];
static pthread_mutex_t extra_mu = PTHREAD_MUTEX_INITIALIZER;

const rsl_scheme *rsl_scheme_find(const char *scheme)
{
    if (scheme == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (strcasecmp(builtin[i].name, scheme) == 0)
            return &builtin[i];
    const rsl_scheme *found = NULL;
    pthread_mutex_lock(&extra_mu);
    for (size_t i = 0; i < MAX_EXTRA && found == NULL; i++)
        if (extra[i] && strcasecmp(extra[i]->name, scheme) == 0)
            found = extra[i];
    pthread_mutex_unlock(&extra_mu);
    return found;
}

int rsl_scheme_register(const rsl_scheme *s)
{
    if (s == NULL || s->ops == NULL || s->ops->version != RSL_TRANSPORT_VERSION ||
        rsl_scheme_find(s->name) != NULL)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&extra_mu);
    for (size_t i = 0; i < MAX_EXTRA && rc != 0; i++)
        if (extra[i] == NULL) {
            extra[i] = s;
            rc = 0;
        }
    pthread_mutex_unlock(&extra_mu);
    return rc;
}

void rsl_scheme_unregister(const char *name)
{
    pthread_mutex_lock(&extra_mu);
    for (size_t i = 0; i < MAX_EXTRA; i++)
        if (extra[i] && strcasecmp(extra[i]->name, name) == 0)
            extra[i] = NULL;
    pthread_mutex_unlock(&extra_mu);
}

const rsl_transport_ops *rsl_transport_find(const char *scheme)
{
    const rsl_scheme *s = rsl_scheme_find(scheme);
    return s && s->ops->version == RSL_TRANSPORT_VERSION ? s->ops : NULL;
}

int rsl_endpoint_port(const rsl_endpoint *ep, const rsl_remote_opts *opts)
{
    if (ep->port > 0)
        return ep->port;
    const rsl_scheme *s = rsl_scheme_find(ep->scheme);
    if (s == NULL)
        return 0;
    if (s->ops->default_port && opts)
        return s->ops->default_port(s, opts);
    return s->default_port;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into a new string; NULL on a bad escape or "%00". */
static char *pct_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n) {
                free(out);
                return NULL;
            }
            int a = hexval((unsigned char)s[i + 1]), b = hexval((unsigned char)s[i + 2]);
            if (a < 0 || b < 0 || (a == 0 && b == 0)) {
                free(out);
                return NULL;
            }
            out[j++] = (char)(a * 16 + b);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

void rsl_endpoint_free(rsl_endpoint *ep)
{
    if (ep == NULL)
        return;
    free(ep->scheme);
    free(ep->user);
    free(ep->host);
    free(ep->path);
    memset(ep, 0, sizeof(*ep));
}

static void strip_trailing_slashes(char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
}

rsl_code rsl_endpoint_parse(rsl_endpoint *out, const char *url, rsl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (url == NULL || *url == '\0')
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "destination is empty");
    if (url[0] == '/') {
        out->scheme = strdup("file");
        out->path = strdup(url);
        if (!out->scheme || !out->path)
            goto nomem;
        strip_trailing_slashes(out->path);
        return RSL_OK;
    }
    const char *sep = strstr(url, "://");
    if (sep == NULL || sep == url)
        return rsl_err_set(
            err, RSL_E_CONFIG_BAD_VALUE, 0,
            "destination '%s' is not a URL: expected scheme://[user@]host[:port]/path "
            "or an absolute path",
            url);
    out->scheme = strndup(url, (size_t)(sep - url));
    if (out->scheme == NULL)
        goto nomem;
    for (char *p = out->scheme; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *auth = sep + 3;
    const char *slash = strchr(auth, '/');
    const char *auth_end = slash ? slash : auth + strlen(auth);
    /* user@ : the last '@' before the path separates userinfo */
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *hostp = auth;
    if (at) {
        if (memchr(auth, ':', (size_t)(at - auth)) != NULL) {
            rsl_endpoint_free(out);
            return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                               "destination: a password in the URL is not allowed (it would be "
                               "logged); use password_file or RSYNCD_LITE_PASSWORD");
        }
        out->user = pct_decode(auth, (size_t)(at - auth));
        if (out->user == NULL)
            goto bad;
        hostp = at + 1;
    }
    const char *host_end = auth_end;
    const char *portp = NULL;
    if (*hostp == '[') { /* IPv6 literal */
        const char *rb = memchr(hostp, ']', (size_t)(auth_end - hostp));
        if (rb == NULL)
            goto bad;
        out->host = strndup(hostp + 1, (size_t)(rb - hostp - 1));
        if (rb + 1 < auth_end) {
            if (rb[1] != ':')
                goto bad;
            portp = rb + 2;
        }
    } else {
        const char *colon = memchr(hostp, ':', (size_t)(auth_end - hostp));
        if (colon) {
            host_end = colon;
            portp = colon + 1;
        }
        out->host = strndup(hostp, (size_t)(host_end - hostp));
    }
    if (out->host == NULL)
        goto nomem;
    if (portp) {
        char *e = NULL;
        long port = strtol(portp, &e, 10);
        if (e != auth_end || port < 1 || port > 65535 || portp == auth_end)
            goto bad;
        out->port = (int)port;
    }
    if (strcmp(out->scheme, "file") != 0 && out->host[0] == '\0') {
        rsl_endpoint_free(out);
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "destination '%s' names no host", url);
    }
    if (strcmp(out->scheme, "file") == 0 && out->host[0] != '\0' &&
        strcmp(out->host, "localhost") != 0) {
        rsl_endpoint_free(out);
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "destination '%s': file:// takes no host (write file:///abs/path)", url);
    }
    if (slash == NULL)
        out->path = strdup("/");
    else
        out->path = pct_decode(slash, strlen(slash));
    if (out->path == NULL)
        goto bad;
    strip_trailing_slashes(out->path);
    if (rsl_transport_find(out->scheme) == NULL) {
        rsl_err_set(err, RSL_E_SCHEME_UNSUPPORTED, 0, "destination scheme '%s://' is not supported",
                    out->scheme);
        rsl_endpoint_free(out);
        return RSL_E_SCHEME_UNSUPPORTED;
    }
    return RSL_OK;
bad:
    rsl_endpoint_free(out);
    return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                       "destination '%s' is not a valid URL (scheme://[user@]host[:port]/path)",
                       url);
nomem:
    rsl_endpoint_free(out);
    return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
}
