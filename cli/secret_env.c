/*
 * secret_env.c - see secret_env.h.
 */
#include "secret_env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

extern char **environ;

static char *g_page;      /* the locked page, or NULL */
static size_t g_page_len; /* its size */
static int g_have;        /* a password is in g_page */
static int g_done;        /* init ran */

/* Zeroes n bytes where the compiler cannot drop the stores. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void protect_process(void)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
}

static int page_alloc(void)
{
    if (g_page != NULL)
        return 0;
    long ps = sysconf(_SC_PAGESIZE);
    g_page_len = ps > 0 ? (size_t)ps : 4096;
    void *p = mmap(NULL, g_page_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    g_page = p;
    (void)mlock(g_page, g_page_len); /* best effort: RLIMIT_MEMLOCK may be tight */
#ifdef MADV_DONTDUMP
    (void)madvise(g_page, g_page_len, MADV_DONTDUMP);
#endif
#ifdef MADV_WIPEONFORK
    (void)madvise(g_page, g_page_len, MADV_WIPEONFORK);
#endif
    return 0;
}

/* Reads the password from fd (up to a page, one trailing newline dropped)
 * and closes it. Returns 0 or -1 with msg. */
static int read_fd(int fd, char *msg, size_t n)
{
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, g_page + len, g_page_len - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(msg, n, "%s=%d: %s", RSL_PASSWORD_FD_ENV, fd, strerror(errno));
            close(fd);
            wipe(g_page, g_page_len);
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == g_page_len - 1) {
            snprintf(msg, n, "%s=%d: the password is longer than %zu bytes", RSL_PASSWORD_FD_ENV,
                     fd, g_page_len - 2);
            close(fd);
            wipe(g_page, g_page_len);
            return -1;
        }
    }
    close(fd);
    if (len > 0 && g_page[len - 1] == '\n')
        len--;
    g_page[len] = '\0';
    g_have = 1;
    return 0;
}

/* The password from RSYNCD_LITE_PASSWORD_FD, if set. Returns 0 (also when
 * unset) or -1 with msg. */
static int from_fd(char *msg, size_t n)
{
    const char *v = getenv(RSL_PASSWORD_FD_ENV);
    if (v == NULL)
        return 0;
    char *end = NULL;
    errno = 0;
    long fd = strtol(v, &end, 10);
    int bad = errno || end == v || *end || fd < 0 || fd > 65535 || fcntl((int)fd, F_GETFD) < 0;
    if (bad) {
        snprintf(msg, n, "%s=%s: not an open file descriptor", RSL_PASSWORD_FD_ENV, v);
        unsetenv(RSL_PASSWORD_FD_ENV);
        return -1;
    }
    unsetenv(RSL_PASSWORD_FD_ENV);
    return read_fd((int)fd, msg, n);
}

/* The password from RSYNCD_LITE_PASSWORD, if set (and none came from a
 * descriptor); the variable goes and its string is zeroed either way. */
static int from_env(char *msg, size_t n)
{
    static const char name[] = RSL_PASSWORD_ENV "=";
    char *entry = NULL;
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, name, sizeof(name) - 1) == 0) {
            entry = *e;
            break;
        }
    if (entry == NULL)
        return 0;
    const char *val = entry + sizeof(name) - 1;
    size_t len = strlen(val);
    int rc = 0;
    if (!g_have && len >= g_page_len) {
        snprintf(msg, n, "%s: the password is longer than %zu bytes", RSL_PASSWORD_ENV,
                 g_page_len - 1);
        rc = -1;
    } else if (!g_have) {
        memcpy(g_page, val, len + 1);
        g_have = 1;
    }
    unsetenv(RSL_PASSWORD_ENV); /* drops the pointer from environ ... */
    wipe(entry, strlen(entry)); /* ... and this the bytes (/proc/PID/environ) */
    return rc;
}

int rsl_secret_env_init(char *msg, size_t n)
{
    if (g_done)
        return 0;
    g_done = 1;
    protect_process();
    int need = getenv(RSL_PASSWORD_FD_ENV) != NULL || getenv(RSL_PASSWORD_ENV) != NULL;
    if (!need)
        return 0;
    if (page_alloc() != 0) {
        snprintf(msg, n, "cannot keep the password: %s", strerror(errno));
        unsetenv(RSL_PASSWORD_FD_ENV);
        unsetenv(RSL_PASSWORD_ENV);
        return -1;
    }
    int rc = from_fd(msg, n);
    if (from_env(rc == 0 ? msg : NULL, rc == 0 ? n : 0) != 0)
        rc = -1;
    return rc;
}

const char *rsl_secret_env_password(void)
{
    return g_have ? g_page : NULL;
}

int rsl_secret_env_pipe(void)
{
    if (!g_have)
        return -1;
    size_t len = strlen(g_page);
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    /* at most a page: fits in the pipe's buffer, so the write cannot block */
    ssize_t w = write(p[1], g_page, len);
    close(p[1]);
    if (w != (ssize_t)len) {
        close(p[0]);
        return -1;
    }
    return p[0];
}

void rsl_secret_env_wipe(void)
{
    if (g_page == NULL)
        return;
    wipe(g_page, g_page_len);
    munlock(g_page, g_page_len);
    munmap(g_page, g_page_len);
    g_page = NULL;
    g_have = 0;
}
