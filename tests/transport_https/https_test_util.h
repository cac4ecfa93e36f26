/*
 * https_test_util.h - helpers for the https transport tests (header-only,
 * static functions): fixture lookup per server (APACHE_ / NGINX_ keys of
 * $RSL_FIXTURE_DIR/env), options with a recording log and an in-memory cache
 * that counts calls, an rsl_source over a local file that counts the bytes
 * pulled, and per-test remote directories created on the server's disk.
 * Each suite is defined twice, once per server, with BOTH_SERVERS().
 */
#ifndef RSL_HTTPS_TEST_UTIL_H
#define RSL_HTTPS_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "transports/https.h"
#include "transports/transport.h"

/* Defines Test(https_apache, name) and Test(https_nginx, name) running body(srv). */
#define BOTH_SERVERS(name, ...)                                                                    \
    static void name##_body(const char *srv);                                                      \
    Test(https_apache, name, __VA_ARGS__)                                                          \
    {                                                                                              \
        name##_body("APACHE");                                                                     \
    }                                                                                              \
    Test(https_nginx, name, __VA_ARGS__)                                                           \
    {                                                                                              \
        name##_body("NGINX");                                                                      \
    }                                                                                              \
    static void name##_body(const char *srv)

static __attribute__((unused)) char *fx(const char *srv, const char *key)
{
    char k[128];
    snprintf(k, sizeof(k), "%s_%s", srv, key);
    char *v = rslt_fixture_get(k);
    cr_assert(v != NULL, "fixture key %s missing (is fixture-setup.sh run?)", k);
    return v;
}

static __attribute__((unused)) int is_apache(const char *srv)
{
    return strcmp(srv, "APACHE") == 0;
}

/* ---- options with a recording log and a counting cache ---- */
typedef struct topts {
    rsl_remote_opts o;
    rsl_https_cfg cfg; /* o.cfg points here */
    pthread_mutex_t mu;
    char log[16384];
    int nwarn, ninfo;
    char keys[8][160], vals[8][48];
    int nkeys, gets, hits, sets;
    char *owned[8];
    int nowned;
} topts;

static void t_log(void *ud, int level, const char *msg)
{
    topts *t = ud;
    pthread_mutex_lock(&t->mu);
    if (level >= RSL_LOG_WARN)
        t->nwarn++;
    else
        t->ninfo++;
    size_t n = strlen(t->log);
    snprintf(t->log + n, sizeof(t->log) - n, "[%d] %s\n", level, msg);
    pthread_mutex_unlock(&t->mu);
}

static int t_cache_get(void *ud, const char *key, char *buf, size_t bufsz)
{
    topts *t = ud;
    t->gets++;
    for (int i = 0; i < t->nkeys; i++)
        if (strcmp(t->keys[i], key) == 0) {
            snprintf(buf, bufsz, "%s", t->vals[i]);
            t->hits++;
            return 1;
        }
    return 0;
}

static void t_cache_set(void *ud, const char *key, const char *val)
{
    topts *t = ud;
    t->sets++;
    for (int i = 0; i < t->nkeys; i++)
        if (strcmp(t->keys[i], key) == 0) {
            snprintf(t->vals[i], sizeof(t->vals[i]), "%s", val);
            return;
        }
    if (t->nkeys < 8) {
        snprintf(t->keys[t->nkeys], sizeof(t->keys[0]), "%s", key);
        snprintf(t->vals[t->nkeys], sizeof(t->vals[0]), "%s", val);
        t->nkeys++;
    }
}

static __attribute__((unused)) char *own(topts *t, char *s)
{
    if (t->nowned < 8)
        t->owned[t->nowned++] = s;
    return s;
}

/* Options for server srv: user + password_file + ca_file, verification on. */
static __attribute__((unused)) topts *topts_new(const char *srv)
{
    topts *t = calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    rsl_https_cfg_init(&t->cfg);
    t->o.cfg = &t->cfg;
    t->o.username = own(t, fx(srv, "USER"));
    t->o.password_file = own(t, fx(srv, "PASSWORD_FILE"));
    t->cfg.tls.ca_file = own(t, fx(srv, "CA_FILE"));
    t->cfg.tls.tls_verify = 1;
    t->o.timeout_sec = 20;
    t->o.temp_suffix = ".rsl-part";
    t->o.log = t_log;
    t->o.cache_get = t_cache_get;
    t->o.cache_set = t_cache_set;
    t->o.ud = t;
    return t;
}

static __attribute__((unused)) void topts_free(topts *t)
{
    for (int i = 0; i < t->nowned; i++)
        free(t->owned[i]);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* ---- a per-test remote root, made on the server's disk ---- */

/* Creates WWW/<name>-<pid> owned like WWW; returns the URL path "/dav/<...>"
 * in *urlpath and the disk path as the return value. */
static __attribute__((unused)) char *make_remote_root(const char *srv, const char *name,
                                                      char **urlpath)
{
    char *www = fx(srv, "WWW");
    char *disk = NULL, *up = NULL;
    cr_assert(asprintf(&disk, "%s/%s-%ld", www, name, (long)getpid()) > 0);
    cr_assert(asprintf(&up, "/dav/%s-%ld", name, (long)getpid()) > 0);
    rslt_rmrf(disk);
    cr_assert(mkdir(disk, 0755) == 0, "mkdir %s: %s", disk, strerror(errno));
    struct stat sb;
    cr_assert(stat(www, &sb) == 0);
    cr_assert(chown(disk, sb.st_uid, sb.st_gid) == 0);
    free(www);
    *urlpath = up;
    return disk;
}

static __attribute__((unused)) char *url_of(const char *srv, const char *scheme, const char *path)
{
    char *port = fx(srv, "PORT"), *u = NULL;
    cr_assert(asprintf(&u, "%s://127.0.0.1:%s%s", scheme, port, path) > 0);
    free(port);
    return u;
}

static __attribute__((unused)) rsl_code t_connect(rsl_conn **c, const char *url, topts *t,
                                                  rsl_err *err)
{
    rsl_endpoint ep;
    memset(err, 0, sizeof(*err));
    rsl_code rc = rsl_endpoint_parse(&ep, url, err);
    cr_assert_eq(rc, RSL_OK, "parse %s: %s", url, err->msg);
    const rsl_transport_ops *ops = rsl_transport_find(ep.scheme);
    cr_assert(ops != NULL);
    rc = ops->connect(c, &ep, &t->o, err);
    rsl_endpoint_free(&ep);
    return rc;
}

/* ---- a source over a local file, counting the bytes pulled ---- */
typedef struct tsrc {
    rsl_source s;
    int fd;
    uint64_t pos;
    uint64_t pulled; /* via read() */
} tsrc;

static ssize_t tsrc_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    tsrc *t = (tsrc *)s;
    ssize_t r = pread(t->fd, buf, n, (off_t)t->pos);
    if (r < 0)
        return rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "read: %s", strerror(errno)), -1;
    t->pos += (uint64_t)r;
    t->pulled += (uint64_t)r;
    return r;
}

static ssize_t tsrc_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    tsrc *t = (tsrc *)s;
    ssize_t r = pread(t->fd, buf, n, (off_t)off);
    if (r < 0)
        return rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "pread: %s", strerror(errno)), -1;
    return r;
}

static __attribute__((unused)) void tsrc_open(tsrc *t, const char *path)
{
    memset(t, 0, sizeof(*t));
    t->fd = open(path, O_RDONLY);
    cr_assert(t->fd >= 0, "open %s", path);
    t->s.read = tsrc_read;
    t->s.pread = tsrc_pread;
    t->s.ud = t;
}

static __attribute__((unused)) void tsrc_close(tsrc *t)
{
    close(t->fd);
}

/* Uploads local file `path` as tmp then finishes to final (engine order). */
static __attribute__((unused)) rsl_code push_file(const rsl_transport_ops *ops, rsl_conn *c,
                                                  const char *path, const char *final_rel,
                                                  rsl_err *err)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s.rsl-part", final_rel);
    long long size = rslt_size(path);
    cr_assert(size >= 0);
    tsrc s;
    tsrc_open(&s, path);
    uint64_t have = 0;
    rsl_code rc = ops->resume_offset(c, tmp, (uint64_t)size, &s.s, &have, err);
    if (rc == RSL_OK) {
        s.pos = have;
        rc = ops->upload(c, tmp, have, (uint64_t)size, &s.s, err);
    }
    if (rc == RSL_OK)
        rc = ops->finish(c, tmp, final_rel, (uint64_t)size, -1, err);
    tsrc_close(&s);
    return rc;
}

static __attribute__((unused)) void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts cutproxy in front of 127.0.0.1:port; returns its pid, *pport its port. */
static __attribute__((unused)) pid_t start_cutproxy(const char *port, unsigned long long cut_after,
                                                    int *pport)
{
    char *proxy = rslt_fixture_get("CUTPROXY");
    cr_assert(proxy != NULL);
    char *dir = rslt_tmpdir("cut"), *pf = NULL, target[64], cut[32];
    cr_assert(asprintf(&pf, "%s/port", dir) > 0);
    snprintf(target, sizeof(target), "127.0.0.1:%s", port);
    snprintf(cut, sizeof(cut), "%llu", cut_after);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
        execlp("python3", "python3", proxy, "--target", target, "--cut-after", cut, "--cut-count",
               "1", "--port-file", pf, "--lifetime", "300", (char *)NULL);
        _exit(127);
    }
    cr_assert(pid > 0);
    char *v = NULL;
    for (int i = 0; i < 500 && (v = rslt_read(pf, NULL)) == NULL; i++)
        sleep_ms(20); /* polling for the port file */
    cr_assert(v != NULL, "cutproxy did not start");
    *pport = (int)strtol(v, NULL, 10);
    free(v);
    rslt_rmrf(dir);
    free(dir);
    free(pf);
    free(proxy);
    return pid;
}

static __attribute__((unused)) int files_equal(const char *a, const char *b)
{
    return rslt_sh(NULL, NULL, "cmp -s '%s' '%s'", a, b) == 0;
}

#endif
