/*
 * client_test.h - helpers for the SFTP client tests: fixture values (from
 * fixture-setup.sh's env), a private remote root per test, an
 * authenticated libssh2 session made directly with libssh2 (the production
 * connect/auth/host-key code stays in sftp.c), and opening our client over
 * either carrier. Tests run against the real sshd of the fixture.
 * Owns: what each helper returns (the caller frees / closes).
 */
#ifndef RSL_TEST_SFTP_CLIENT_H
#define RSL_TEST_SFTP_CLIENT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libssh2.h>

#include "tests/support/harness.h"
#include "transports/sftp_carrier.h"
#include "transports/sftp_client.h"
#include "transports/sftp_sync.h"

enum { CAR_SSH2 = 0, CAR_EXEC = 1 };

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

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* An authenticated libssh2 session (blocking, with a timeout). */
typedef struct tsess {
    int sock;
    LIBSSH2_SESSION *ss;
} tsess;

static inline int tcp_to(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0, "connect :%d: %s", port,
                 strerror(errno));
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return s;
}

/* Connects to 127.0.0.1:port, checks the host key against known_hosts for
 * [127.0.0.1]:key_port and authenticates with the fixture's key. */
static inline void tsess_open(tsess *t, int port, int key_port, int timeout_sec)
{
    static int inited;
    if (!inited) {
        cr_assert_eq(libssh2_init(0), 0);
        inited = 1;
    }
    t->sock = tcp_to(port);
    t->ss = libssh2_session_init();
    cr_assert_not_null(t->ss);
    libssh2_session_set_blocking(t->ss, 1);
    libssh2_session_set_timeout(t->ss, (long)timeout_sec * 1000);
    libssh2_session_method_pref(t->ss, LIBSSH2_METHOD_HOSTKEY, "ssh-ed25519");
    cr_assert_eq(libssh2_session_handshake(t->ss, t->sock), 0, "handshake");
    char *kh = fx("SSH_KNOWN_HOSTS"), *user = fx("SSH_USER"), *key = fx("SSH_KEY");
    LIBSSH2_KNOWNHOSTS *k = libssh2_knownhost_init(t->ss);
    cr_assert_gt(libssh2_knownhost_readfile(k, kh, LIBSSH2_KNOWNHOST_FILE_OPENSSH), 0);
    size_t klen = 0;
    int ktype = 0;
    const char *hk = libssh2_session_hostkey(t->ss, &klen, &ktype);
    struct libssh2_knownhost *found = NULL;
    int r = libssh2_knownhost_checkp(k, "127.0.0.1", key_port, hk, klen,
                                     LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW,
                                     &found);
    cr_assert_eq(r, LIBSSH2_KNOWNHOST_CHECK_MATCH, "host key not in %s (%d)", kh, r);
    libssh2_knownhost_free(k);
    cr_assert_eq(libssh2_userauth_publickey_fromfile(t->ss, user, NULL, key, NULL), 0,
                 "publickey auth");
    libssh2_keepalive_config(t->ss, 1, 5);
    free(kh);
    free(user);
    free(key);
}

static inline void tsess_close(tsess *t)
{
    if (t->ss != NULL) {
        libssh2_session_set_blocking(t->ss, 1);
        libssh2_session_disconnect(t->ss, "bye");
        libssh2_session_free(t->ss);
    }
    if (t->sock >= 0)
        close(t->sock);
    t->ss = NULL;
    t->sock = -1;
}

/* What the test connected: the client, and the session behind it. */
typedef struct tconn {
    int kind;
    tsess t;
    rsl_sftp_client *s;
    pid_t pid; /* exec carrier: the ssh child */
} tconn;

/* Set to 1 before topen(): that open defers limits@openssh.com (cfg);
 * 2: VERSION too (defer_version, what sftp:// uses). */
static int tconn_defer_next;

/* The exec carrier's config for the fixture (the machine's ssh config is
 * kept out with -F /dev/null). */
static inline void exec_cfg(rsl_sftp_exec_cfg *x, int port, const char *known_hosts, int timeout)
{
    static char *user, *key;
    if (user == NULL) {
        user = fx("SSH_USER");
        key = fx("SSH_KEY");
    }
    memset(x, 0, sizeof(*x));
    x->ssh_command = "ssh -F /dev/null";
    x->host = "127.0.0.1";
    x->port = port;
    x->user = user;
    x->identity_file = key;
    x->known_hosts = known_hosts;
    x->strict = 1;
    x->timeout_sec = timeout;
}

/* Opens our client over carrier `kind` to port (the fixture's known_hosts
 * lists key_port; kh: the known_hosts ssh reads, NULL for the fixture's),
 * rooted at root. Returns the code; *c is filled on OK. */
static inline rsl_code topen_kh(tconn *c, int kind, int port, int key_port, const char *khfile,
                                const char *root, int timeout, rsl_err *err)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->t.sock = -1;
    c->pid = -1;
    rsl_sftp_carrier *car = NULL;
    rsl_code rc;
    char *kh = khfile ? strdup(khfile) : fx("SSH_KNOWN_HOSTS");
    if (kind == CAR_SSH2) {
        tsess_open(&c->t, port, key_port, timeout);
        rc = rsl_sftp_carrier_ssh2(&car, c->t.ss, c->t.sock, timeout, err);
    } else {
        rsl_sftp_exec_cfg x;
        exec_cfg(&x, port, kh, timeout);
        rc = rsl_sftp_carrier_exec(&car, &x, err);
        if (rc == RSL_OK)
            c->pid = rsl_sftp_carrier_exec_pid(car);
    }
    free(kh);
    if (rc != RSL_OK) {
        tsess_close(&c->t);
        return rc;
    }
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", port);
    rsl_sftp_client_cfg cfg = {.root = root,
                               .host = host,
                               .timeout_sec = timeout,
                               .defer_limits = tconn_defer_next != 0,
                               .defer_version = tconn_defer_next == 2};
    tconn_defer_next = 0;
    rc = rsl_sftp_client_open(&c->s, car, &cfg, err);
    if (rc != RSL_OK)
        tsess_close(&c->t);
    return rc;
}

static inline rsl_code topen(tconn *c, int kind, int port, int key_port, const char *root,
                             int timeout, rsl_err *err)
{
    return topen_kh(c, kind, port, key_port, NULL, root, timeout, err);
}

/* A known_hosts file naming the fixture's host key for [127.0.0.1]:port
 * (a proxy's port); caller frees the path. */
static inline char *kh_for_port(int port)
{
    char *pub = fx("SSH_HOST_PUB");
    char *p = rslt_known_hosts_for(pub, port);
    free(pub);
    return p;
}

static inline void tclose(tconn *c)
{
    rsl_sftp_client_close(c->s);
    c->s = NULL;
    tsess_close(&c->t);
}

/* 1 if pid is a live process (not a zombie). */
static inline int alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp != NULL && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* How many processes are children of this process (zombies included). */
static inline int children(void)
{
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *rp = strrchr(buf, ')');
        char st;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &st, &ppid) == 2 && ppid == (int)getpid())
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

#endif
