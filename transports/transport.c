/*
 * transport.c - destination URL parsing, the scheme registry and a
 * transport's settings. See transport.h. Each protocol lives in its own file
 * (file.c, sftp.c, ...); adding one is that file plus one row in `builtin`.
 */
#include "transport.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys.h"
#include "pct.h"

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

/* "[user@]host[:port]" in [auth, end): fills user, host and port. -1 when
 * malformed, -2 when out of memory. */
static int parse_authority(rsl_endpoint *out, const char *auth, const char *end)
{
    const char *at = NULL; /* the last '@' before the path separates userinfo */
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    const char *hostp = auth, *portp = NULL;
    if (at) {
        if ((out->user = rsl_pct_decode(auth, (size_t)(at - auth))) == NULL)
            return -1;
        hostp = at + 1;
    }
    if (*hostp == '[') { /* IPv6 literal */
        const char *rb = memchr(hostp, ']', (size_t)(end - hostp));
        if (rb == NULL)
            return -1;
        out->host = strndup(hostp + 1, (size_t)(rb - hostp - 1));
        if (rb + 1 < end && rb[1] != ':')
            return -1;
        portp = rb + 1 < end ? rb + 2 : NULL;
    } else {
        const char *colon = memchr(hostp, ':', (size_t)(end - hostp));
        out->host = strndup(hostp, (size_t)((colon ? colon : end) - hostp));
        portp = colon ? colon + 1 : NULL;
    }
    if (out->host == NULL)
        return -2;
    if (portp) {
        char *e = NULL;
        long port = strtol(portp, &e, 10);
        if (e != end || port < 1 || port > 65535 || portp == end)
            return -1;
        out->port = (int)port;
    }
    return 0;
}

/* A plain absolute path: file://. */
static rsl_code parse_plain_path(rsl_endpoint *out, const char *url, rsl_err *err)
{
    out->scheme = strdup("file");
    out->path = strdup(url);
    if (!out->scheme || !out->path) {
        rsl_endpoint_free(out);
        return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
    }
    strip_trailing_slashes(out->path);
    return RSL_OK;
}

/* The destination as messages may show it: not at all when it has an '@'
 * (a password may stand before it, whatever the URL looks like otherwise). */
static const char *shown(const char *url)
{
    return strchr(url, '@') ? "(not shown: it has an '@')" : url;
}

/* Host rules per scheme, and a transport for it. */
static rsl_code check_endpoint(rsl_endpoint *out, const char *url, rsl_err *err)
{
    int is_file = strcmp(out->scheme, "file") == 0;
    rsl_code rc = RSL_OK;
    if (!is_file && out->host[0] == '\0')
        rc = rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "destination '%s' names no host",
                         shown(url));
    else if (is_file && out->host[0] != '\0' && strcmp(out->host, "localhost") != 0)
        rc = rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                         "destination '%s': file:// takes no host (write file:///abs/path)",
                         shown(url));
    else if (rsl_transport_find(out->scheme) == NULL)
        rc = rsl_err_set(err, RSL_E_SCHEME_UNSUPPORTED, 0,
                         "destination scheme '%s://' is not supported", out->scheme);
    if (rc != RSL_OK)
        rsl_endpoint_free(out);
    return rc;
}

/* 1 when the text after "scheme://" may hold "user:password@": a ':'
 * anywhere before the last '@'. The '@' may stand after a '/' (a password
 * with a '/' in it: "alice:12/34pw@host/path" is not host "alice", port 12),
 * so the whole URL is searched, not only the authority RFC 3986 would cut at
 * the first '/'. A path with both ':' and a later '@' is refused too: it
 * cannot be told from a password, and %40 says '@' unambiguously. Such a
 * destination is never echoed in a message. */
static int has_password(const char *auth)
{
    const char *at = strrchr(auth, '@');
    return at != NULL && memchr(auth, ':', (size_t)(at - auth)) != NULL;
}

rsl_code rsl_endpoint_parse(rsl_endpoint *out, const char *url, rsl_err *err)
{
    memset(out, 0, sizeof(*out));
    if (url == NULL || *url == '\0')
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0, "destination is empty");
    if (url[0] == '/')
        return parse_plain_path(out, url, err);
    const char *sep = strstr(url, "://");
    if (sep == NULL || sep == url)
        return rsl_err_set(
            err, RSL_E_CONFIG_BAD_VALUE, 0,
            "destination '%s' is not a URL: expected scheme://[user@]host[:port]/path "
            "or an absolute path",
            shown(url));
    const char *auth = sep + 3, *slash = strchr(auth, '/');
    const char *auth_end = slash ? slash : auth + strlen(auth);
    if (has_password(auth))
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "destination: a password in the URL is not allowed (it would be "
                           "logged); use password_file or RSYNCD_LITE_PASSWORD. If '@' is part "
                           "of the path, write it as %%40");
    if ((out->scheme = strndup(url, (size_t)(sep - url))) == NULL)
        goto nomem;
    for (char *p = out->scheme; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    int r = parse_authority(out, auth, auth_end);
    if (r == -2)
        goto nomem;
    if (r == 0 && (out->path = slash ? rsl_pct_decode(slash, strlen(slash)) : strdup("/")) == NULL)
        r = -1;
    if (r != 0) {
        rsl_endpoint_free(out);
        return rsl_err_set(err, RSL_E_CONFIG_BAD_VALUE, 0,
                           "destination '%s' is not a valid URL (scheme://[user@]host[:port]/path)",
                           shown(url));
    }
    strip_trailing_slashes(out->path);
    return check_endpoint(out, url, err);
nomem:
    rsl_endpoint_free(out);
    return rsl_err_set(err, RSL_E_NO_MEMORY, 0, "out of memory");
}

/* ---- a transport's own settings ---- */

rsl_code rsl_transport_cfg_new(const rsl_transport_ops *ops, void **out, rsl_err *err)
{
    *out = NULL;
    if (ops == NULL || ops->cfg_size == 0)
        return RSL_OK;
    void *cfg = calloc(1, ops->cfg_size);
    if (cfg == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    if (ops->cfg_init != NULL)
        ops->cfg_init(cfg);
    *out = cfg;
    return RSL_OK;
}

rsl_code rsl_transport_cfg_set(const rsl_transport_ops *ops, void *cfg, const char *key,
                               const char *value, const char *base_dir, rsl_err *err)
{
    if (ops == NULL || cfg == NULL || ops->keys == NULL)
        return rsl_err_set(err, RSL_E_CONFIG_UNKNOWN_KEY, 0, "unknown key");
    return rsl_keys_set(ops->keys, ops->n_keys, cfg, key, value, base_dir, err);
}

void rsl_transport_cfg_free(const rsl_transport_ops *ops, void *cfg)
{
    if (ops == NULL || cfg == NULL)
        return;
    if (ops->keys != NULL)
        rsl_keys_free(ops->keys, ops->n_keys, cfg);
    if (ops->cfg_free != NULL)
        ops->cfg_free(cfg);
    free(cfg);
}

rsl_code rsl_transport_cfg_check(const rsl_transport_ops *ops, const void *cfg,
                                 const rsl_remote_opts *opts, const char **key, rsl_err *err)
{
    *key = NULL;
    if (ops == NULL || ops->cfg_check == NULL)
        return RSL_OK;
    return ops->cfg_check(cfg, opts, key, err);
}

void rsl_transport_secret_paths(const rsl_transport_ops *ops, const void *cfg,
                                void (*cb)(void *ud, const char *key, const char *path), void *ud)
{
    if (ops != NULL && ops->keys != NULL)
        rsl_keys_secret_paths(ops->keys, ops->n_keys, cfg, cb, ud);
}

/* Appends s's name to buf when its transport has `key`. */
static int add_owner(const rsl_scheme *s, const char *key, char *buf, size_t bufsz, int n)
{
    if (s == NULL || s->ops->keys == NULL ||
        rsl_keys_find(s->ops->keys, s->ops->n_keys, key, NULL) == NULL)
        return n;
    size_t used = strlen(buf);
    snprintf(buf + used, bufsz - used, "%s%s", n ? ", " : "", s->name);
    return n + 1;
}

int rsl_scheme_key_owners(const char *key, char *buf, size_t bufsz)
{
    int n = 0;
    if (bufsz == 0)
        return 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        n = add_owner(&builtin[i], key, buf, bufsz, n);
    pthread_mutex_lock(&extra_mu);
    for (size_t i = 0; i < MAX_EXTRA; i++)
        n = add_owner(extra[i], key, buf, bufsz, n);
    pthread_mutex_unlock(&extra_mu);
    return n;
}

const char *rsl_scheme_unverified(const rsl_scheme *s, const void *cfg)
{
    if (s == NULL || s->ops->unverified == NULL)
        return NULL;
    return s->ops->unverified(s, cfg);
}
