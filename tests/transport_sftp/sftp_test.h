/*
 * sftp_test.h - helpers for the SFTP transport tests: fixture values (from
 * fixture-setup.sh's env), a private remote root per test, connecting through
 * the ops table, in-memory sources that count the bytes pulled and can run a
 * hook at a given byte (to inject a fault mid-upload), and a log collector.
 * Owns: what each helper returns (the caller frees).
 */
#ifndef RSL_TEST_SFTP_H
#define RSL_TEST_SFTP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "transports/sftp.h"
#include "transports/transport.h"

static inline char *fx(const char *key)
{
    char *v = rslt_fixture_get(key);
    cr_assert(v != NULL, "fixture value %s missing (did fixture-setup.sh run?)", key);
    return v;
}

static inline int fx_int(const char *key)
{
    char *v = fx(key);
    int n = (int)strtol(v, NULL, 10);
    free(v);
    return n;
}

/* A fresh remote root SSH_ROOT/<tag>-<pid>-<n>, owned by the test user,
 * removed when the test ends. */
static inline char *mkroot(const char *tag)
{
    static int n;
    char *base = fx("SSH_ROOT"), *user = fx("SSH_USER");
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s-%d-%d", base, tag, (int)getpid(), n++) > 0);
    rslt_rmrf(p);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p '%s' && chown %s '%s'", p, user, p), 0);
    rslt_rm_at_exit(p);
    free(base);
    free(user);
    return p;
}

/* Log collector for opts->log. */
typedef struct tlog {
    pthread_mutex_t mu;
    char text[16384];
    size_t len;
    int warns;
} tlog;

static inline void tlog_cb(void *ud, int level, const char *msg)
{
    tlog *l = ud;
    pthread_mutex_lock(&l->mu);
    if (level >= RSL_LOG_WARN)
        l->warns++;
    int w = snprintf(l->text + l->len, sizeof(l->text) - l->len, "%d %s\n", level, msg);
    if (w > 0 && (size_t)w < sizeof(l->text) - l->len)
        l->len += (size_t)w;
    pthread_mutex_unlock(&l->mu);
}

/* The sftp settings of options made by opts_init (rsl_remote_opts.cfg). */
static inline rsl_sftp_cfg *scfg(rsl_remote_opts *o)
{
    return (rsl_sftp_cfg *)(uintptr_t)o->cfg;
}

/* Options with the fixture's client key and known_hosts, strict trust. */
static inline void opts_init(rsl_remote_opts *o, tlog *log)
{
    memset(o, 0, sizeof(*o));
    rsl_sftp_cfg *cfg = calloc(1, sizeof(*cfg)); /* lives as long as the test, as fx()'s strings */
    cr_assert(cfg != NULL);
    rsl_sftp_cfg_init(cfg);
    o->cfg = cfg;
    cfg->identity_file = fx("SSH_KEY");
    cfg->known_hosts = fx("SSH_KNOWN_HOSTS");
    cfg->strict_host_key_checking = 1;
    cfg->use_agent = 0;
    o->timeout_sec = 20;
    o->temp_suffix = ".rsl-part";
    if (log != NULL) {
        memset(log, 0, sizeof(*log));
        pthread_mutex_init(&log->mu, NULL);
        o->log = tlog_cb;
        o->ud = log;
    }
}

static inline const rsl_transport_ops *sftp_ops(void)
{
    const rsl_transport_ops *ops = rsl_transport_find("sftp");
    cr_assert(ops != NULL, "sftp not registered");
    return ops;
}

/* Connects to sftp://USER@127.0.0.1:port/root (user NULL: fixture user). */
static inline rsl_code sconnect(rsl_conn **c, int port, const char *user, const char *root,
                                const rsl_remote_opts *o, rsl_err *err)
{
    char *u = user ? strdup(user) : fx("SSH_USER");
    char url[4096];
    snprintf(url, sizeof(url), "sftp://%s@127.0.0.1:%d%s", u, port, root);
    free(u);
    rsl_endpoint ep;
    rsl_err e2;
    cr_assert_eq(rsl_endpoint_parse(&ep, url, &e2), RSL_OK, "%s: %s", url, e2.msg);
    memset(err, 0, sizeof(*err));
    rsl_code rc = sftp_ops()->connect(c, &ep, o, err);
    rsl_endpoint_free(&ep);
    return rc;
}

/* An in-memory source; counts pulled bytes; `hook` runs once when `hook_at`
 * bytes have been pulled; `fail_at` makes read fail there (LOCAL_CHANGED). */
typedef struct msrc {
    rsl_source s;
    const unsigned char *data;
    uint64_t size, pos, pulled;
    uint64_t hook_at, fail_at;
    void (*hook)(void *arg);
    void *hook_arg;
    int hooked;
} msrc;

static inline ssize_t msrc_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    msrc *m = s->ud;
    if (m->fail_at && m->pos >= m->fail_at) {
        rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0, "test: source fails at %llu",
                    (unsigned long long)m->pos);
        return -1;
    }
    if (m->hook && !m->hooked && m->pos >= m->hook_at) {
        m->hooked = 1;
        m->hook(m->hook_arg);
    }
    uint64_t left = m->size - m->pos;
    if (n > left)
        n = (size_t)left;
    if (m->fail_at && m->pos + n > m->fail_at)
        n = (size_t)(m->fail_at - m->pos);
    if (m->hook && !m->hooked && m->pos + n > m->hook_at && m->hook_at > m->pos)
        n = (size_t)(m->hook_at - m->pos);
    if (n > 1048576)
        n = 1048576; /* like a real file read */
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    m->pulled += n;
    return (ssize_t)n;
}

static inline ssize_t msrc_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    if (off >= m->size)
        return 0;
    if (n > m->size - off)
        n = (size_t)(m->size - off);
    memcpy(buf, m->data + off, n);
    return (ssize_t)n;
}

static inline void msrc_init(msrc *m, const void *data, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    m->data = data;
    m->size = size;
    m->s.read = msrc_read;
    m->s.pread = msrc_pread;
    m->s.ud = m;
}

/* The engine positions the source at the upload offset. */
static inline void msrc_seek(msrc *m, uint64_t off)
{
    m->pos = off;
    m->pulled = 0;
}

static inline unsigned char *random_bytes(uint64_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    cr_assert(p != NULL);
    uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)(x >> 24);
    }
    return p;
}

/* Uploads data as rel (temp name + finish) in one go. */
static inline rsl_code put_file(rsl_conn *c, const char *rel, const void *data, uint64_t n,
                                int64_t mtime, rsl_err *err)
{
    const rsl_transport_ops *ops = sftp_ops();
    char tmp[2048];
    snprintf(tmp, sizeof(tmp), "%s.rsl-part", rel);
    msrc m;
    msrc_init(&m, data, n);
    uint64_t have = 0;
    rsl_code rc = ops->resume_offset(c, tmp, n, &m.s, &have, err);
    if (rc != RSL_OK)
        return rc;
    msrc_seek(&m, have);
    if ((rc = ops->upload(c, tmp, have, n, &m.s, err)) != RSL_OK)
        return rc;
    return ops->finish(c, tmp, rel, n, mtime, err);
}

/* 1 if the file at path has exactly these bytes. */
static inline int same_content(const char *path, const void *data, uint64_t n)
{
    size_t len = 0;
    char *got = rslt_read(path, &len);
    int ok = got != NULL && len == n && memcmp(got, data, n) == 0;
    free(got);
    return ok;
}

#endif
