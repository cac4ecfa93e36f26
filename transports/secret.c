/*
 * secret.c - see secret.h.
 */
#define _GNU_SOURCE /* explicit_bzero */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads up to RSL_SECRET_MAX + 1 bytes (one more tells "too large"). */
static rsl_code read_all(int fd, char *buf, size_t *len, const char *what, const char *path,
                         rsl_err *err)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, RSL_SECRET_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, errno, "%s '%s' cannot be read: %s",
                               what, path, strerror(errno));
        n += (size_t)r;
        if (r == 0 || n == RSL_SECRET_MAX + 1)
            break;
    }
    if (n > RSL_SECRET_MAX)
        return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, EFBIG,
                           "%s '%s' is larger than %d bytes: not a secret file", what, path,
                           RSL_SECRET_MAX);
    *len = n;
    return RSL_OK;
}

/* Applies the rule to buf[0..n): the first line, and nothing but empty
 * lines after it. */
static rsl_code first_line(char *buf, size_t n, const char *what, const char *path, rsl_err *err)
{
    buf[n] = '\0';
    const char *nl = memchr(buf, '\n', n);
    size_t l = nl ? (size_t)(nl - buf) : n;
    size_t rest = l < n ? l + 1 : n;
    for (size_t i = rest; i < n; i++)
        if (buf[i] != '\n' && buf[i] != '\r')
            return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, 0,
                               "%s '%s' has more than one line (the secret is the first line "
                               "alone)",
                               what, path);
    if (l > 0 && buf[l - 1] == '\r')
        l--;
    explicit_bzero(buf + l, n - l);
    if (l == 0 || memchr(buf, '\0', l) != NULL)
        return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, 0, "%s '%s' is %s", what, path,
                           l == 0 ? "empty" : "binary (NUL bytes)");
    return RSL_OK;
}

rsl_code rsl_secret_read(const char *path, const char *what, char **out, rsl_err *err)
{
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return rsl_err_set(err, RSL_E_SECRET_MISSING, 0, "%s is not set", what);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return rsl_err_set(err, RSL_E_SECRET_UNREADABLE, errno, "%s '%s' cannot be read: %s", what,
                           path, strerror(errno));
    char *buf = malloc(RSL_SECRET_MAX + 2);
    rsl_code rc;
    size_t n = 0;
    if (buf == NULL)
        rc = rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    else if ((rc = read_all(fd, buf, &n, what, path, err)) == RSL_OK)
        rc = first_line(buf, n, what, path, err);
    close(fd);
    if (rc != RSL_OK) {
        if (buf != NULL)
            explicit_bzero(buf, RSL_SECRET_MAX + 2);
        free(buf);
        return rc;
    }
    *out = buf;
    return RSL_OK;
}

rsl_code rsl_secret_password(const char *file, const char *env, char **out, rsl_err *err)
{
    *out = NULL;
    if (file != NULL && file[0] != '\0')
        return rsl_secret_read(file, "password_file", out, err);
    if (env == NULL || env[0] == '\0')
        return rsl_err_set(err, RSL_E_SECRET_MISSING, 0,
                           "no password: set password_file or RSYNCD_LITE_PASSWORD");
    if ((*out = strdup(env)) == NULL)
        return rsl_err_set(err, RSL_E_NO_MEMORY, ENOMEM, "out of memory");
    return RSL_OK;
}

int rsl_secret_exposed(const char *path, const char *what, char *msg, size_t n)
{
    struct stat sb;
    if (path == NULL || stat(path, &sb) != 0 || (sb.st_mode & 077) == 0)
        return 0;
    snprintf(msg, n,
             "%s '%s' can be read or written by group or others (mode %04o): anyone with that "
             "access has the secret; run chmod 600 '%s' (OpenSSH refuses such keys)",
             what, path, (unsigned)(sb.st_mode & 07777), path);
    return 1;
}

void rsl_secret_free(char *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}
