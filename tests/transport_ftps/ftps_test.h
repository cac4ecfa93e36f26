/*
 * ftps_test.h - helpers shared by the FTPS transport tests: the fixture's
 * settings (fixture-setup.sh -> DIR/env), options with a log capture, sources
 * over memory or a local file that count what the transport pulled, and
 * connecting through the registry (rsl_transport_find + rsl_endpoint_parse).
 */
#ifndef RSL_FTPS_TEST_H
#define RSL_FTPS_TEST_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "transports/ftps.h"
#include "transports/transport.h"

typedef struct logcap {
    pthread_mutex_t mu;
    int nwarn;
    int ninfo;
    char text[8192];
} logcap;

static inline void logcap_cb(void *ud, int level, const char *msg)
{
    logcap *l = ud;
    pthread_mutex_lock(&l->mu);
    if (level == RSL_LOG_WARN)
        l->nwarn++;
    if (level == RSL_LOG_INFO)
        l->ninfo++;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof(l->text) - n, "%s\n", msg);
    pthread_mutex_unlock(&l->mu);
}

typedef struct fx {
    char *host, *user, *pwfile, *ca, *pin, *datadir, *chroot;
    int port, busy_port, implicit_port, expired_port, kill_port, kill_pid, idle_port, idle_pid,
        stall_port, stall_pid, plain_port, nopasv_port;
    rsl_remote_opts o;
    rsl_ftps_cfg cfg; /* o.cfg points here */
    logcap log;
} fx;

static inline int fx_int(const char *k)
{
    char *v = rslt_fixture_get(k);
    cr_assert_not_null(v, "fixture key %s missing (did fixture-setup.sh run?)", k);
    int r = (int)strtol(v, NULL, 10);
    free(v);
    return r;
}

static inline void fx_load(fx *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->log.mu, NULL);
    f->host = rslt_fixture_get("FTP_HOST");
    f->user = rslt_fixture_get("FTP_USER");
    f->pwfile = rslt_fixture_get("FTP_PASSWORD_FILE");
    f->ca = rslt_fixture_get("FTP_CA_FILE");
    f->pin = rslt_fixture_get("FTP_PIN");
    f->datadir = rslt_fixture_get("FTP_DATA_DIR");
    f->chroot = rslt_fixture_get("FTP_CHROOT");
    cr_assert(f->host && f->user && f->pwfile && f->ca && f->datadir, "fixture env incomplete");
    f->port = fx_int("FTP_MAIN_PORT");
    f->busy_port = fx_int("FTP_BUSY_PORT");
    f->implicit_port = fx_int("FTP_IMPLICIT_PORT");
    f->expired_port = fx_int("FTP_EXPIRED_PORT");
    f->kill_port = fx_int("FTP_KILL_PORT");
    f->kill_pid = fx_int("FTP_KILL_PID");
    f->idle_port = fx_int("FTP_IDLE_PORT");
    f->idle_pid = fx_int("FTP_IDLE_PID");
    f->nopasv_port = fx_int("FTP_NOPASV_PORT");
    f->stall_port = fx_int("FTP_STALL_PORT");
    f->stall_pid = fx_int("FTP_STALL_PID");
    f->plain_port = fx_int("FTP_PLAIN_PORT");
    f->o.password_file = f->pwfile;
    rsl_ftps_cfg_init(&f->cfg);
    f->cfg.tls.ca_file = f->ca;
    f->cfg.tls.tls_verify = 1;
    f->o.cfg = &f->cfg;
    f->o.timeout_sec = 20;
    f->o.temp_suffix = ".rsl-part";
    f->o.log = logcap_cb;
    f->o.ud = &f->log;
}

static inline void fx_free(fx *f)
{
    free(f->host);
    free(f->user);
    free(f->pwfile);
    free(f->ca);
    free(f->pin);
    free(f->datadir);
    free(f->chroot);
}

/* Connects with scheme://user@host:port/path. */
static inline rsl_code fx_connect_url(fx *f, const char *scheme, const char *host, int port,
                                      const char *path, rsl_conn **c, rsl_err *err)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s://%s@%s:%d%s", scheme, f->user, host, port, path);
    rsl_endpoint ep;
    rsl_code rc = rsl_endpoint_parse(&ep, url, err);
    if (rc != RSL_OK)
        return rc;
    const rsl_transport_ops *ops = rsl_transport_find(ep.scheme);
    cr_assert_not_null(ops);
    rc = ops->connect(c, &ep, &f->o, err);
    rsl_endpoint_free(&ep);
    return rc;
}

/* A private directory under the remote root for one test: /data/<name>, emptied. */
static inline rsl_conn *fx_connect_dir(fx *f, const char *name)
{
    char local[4096];
    snprintf(local, sizeof(local), "%s/%s", f->datadir, name);
    rslt_rmrf(local);
    rsl_conn *c = NULL;
    rsl_err err = {0};
    rsl_code rc = fx_connect_url(f, "ftps", f->host, f->port, "/data", &c, &err);
    cr_assert_eq(rc, RSL_OK, "connect: %s %s", rsl_code_name(rc), err.msg);
    rc = rsl_transport_ftps.mkdir(c, name, &err);
    cr_assert_eq(rc, RSL_OK, "mkdir %s: %s %s", name, rsl_code_name(rc), err.msg);
    rsl_transport_ftps.disconnect(c);
    c = NULL;
    char path[512];
    snprintf(path, sizeof(path), "/data/%s", name);
    rc = fx_connect_url(f, "ftps", f->host, f->port, path, &c, &err);
    cr_assert_eq(rc, RSL_OK, "connect %s: %s %s", path, rsl_code_name(rc), err.msg);
    return c;
}

/* ---- sources ---- */

typedef struct tsrc {
    rsl_source s;
    const unsigned char *buf; /* memory source */
    int fd;                   /* or a file, -1 */
    uint64_t size, pos;
    uint64_t pulled;  /* bytes handed to the transport by read() */
    uint64_t trip_at; /* when pulled crosses this, call trip (once) */
    void (*trip)(void *);
    void *trip_ud;
    int fail_at_end; /* read returns -1 (LOCAL_CHANGED) instead of 0 at the end */
} tsrc;

static inline ssize_t tsrc_read(rsl_source *s, void *b, size_t n, rsl_err *err)
{
    tsrc *t = (tsrc *)s;
    if (t->pos >= t->size) {
        if (t->fail_at_end) {
            rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0, "test: local file changed");
            return -1;
        }
        return 0;
    }
    if (n > t->size - t->pos)
        n = (size_t)(t->size - t->pos);
    ssize_t r;
    if (t->fd >= 0)
        r = pread(t->fd, b, n, (off_t)t->pos);
    else {
        memcpy(b, t->buf + t->pos, n);
        r = (ssize_t)n;
    }
    if (r < 0)
        return -1;
    t->pos += (uint64_t)r;
    t->pulled += (uint64_t)r;
    if (t->trip && t->pulled >= t->trip_at) {
        void (*fn)(void *) = t->trip;
        t->trip = NULL;
        fn(t->trip_ud);
    }
    return r;
}

static inline ssize_t tsrc_pread(rsl_source *s, void *b, size_t n, uint64_t off, rsl_err *err)
{
    (void)err;
    tsrc *t = (tsrc *)s;
    if (off >= t->size)
        return 0;
    if (n > t->size - off)
        n = (size_t)(t->size - off);
    if (t->fd >= 0)
        return pread(t->fd, b, n, (off_t)off);
    memcpy(b, t->buf + off, n);
    return (ssize_t)n;
}

static inline void tsrc_mem(tsrc *t, const void *buf, size_t n)
{
    memset(t, 0, sizeof(*t));
    t->s.read = tsrc_read;
    t->s.pread = tsrc_pread;
    t->buf = buf;
    t->fd = -1;
    t->size = n;
}

static inline void tsrc_file(tsrc *t, const char *path)
{
    memset(t, 0, sizeof(*t));
    t->s.read = tsrc_read;
    t->s.pread = tsrc_pread;
    t->fd = open(path, O_RDONLY);
    cr_assert_geq(t->fd, 0, "open %s", path);
    struct stat sb;
    fstat(t->fd, &sb);
    t->size = (uint64_t)sb.st_size;
}

/* Positions the source at off, as the engine does before upload. */
static inline void tsrc_seek(tsrc *t, uint64_t off)
{
    t->pos = off;
    t->pulled = 0;
}

/* Uploads a memory buffer to rel (tmp name rel.rsl-part), then finishes. */
static inline rsl_code fx_put(rsl_conn *c, const char *rel, const char *data, int64_t mtime,
                              rsl_err *err)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s.rsl-part", rel);
    tsrc t;
    tsrc_mem(&t, data, strlen(data));
    uint64_t have = 0;
    rsl_code rc = rsl_transport_ftps.resume_offset(c, tmp, t.size, &t.s, &have, err);
    if (rc != RSL_OK)
        return rc;
    tsrc_seek(&t, have);
    rc = rsl_transport_ftps.upload(c, tmp, have, t.size, &t.s, err);
    if (rc != RSL_OK)
        return rc;
    return rsl_transport_ftps.finish(c, tmp, rel, t.size, mtime, err);
}

/* Sends sig to every process whose parent is ppid, grandchildren first (vsftpd's
 * session processes under the listener). Returns how many got it. */
static inline int signal_children(int ppid, int sig)
{
    int n = 0;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *e = NULL;
        long pid = strtol(de->d_name, &e, 10);
        if (*e != '\0' || pid <= 0)
            continue;
        char p[64], buf[512];
        snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
        FILE *f = fopen(p, "r");
        if (f == NULL)
            continue;
        size_t r = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[r] = '\0';
        char *rp = strrchr(buf, ')');
        if (rp == NULL)
            continue;
        char state = 0;
        int pp = 0;
        if (sscanf(rp + 2, "%c %d", &state, &pp) != 2 || pp != ppid || state == 'Z')
            continue;
        n += signal_children((int)pid, sig);
        if (kill((pid_t)pid, sig) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static inline int kill_children(int ppid)
{
    return signal_children(ppid, SIGKILL);
}

#endif
