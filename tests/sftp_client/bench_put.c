/*
 * bench_put.c - pushes a local tree through rsl_sftp_put_run over one
 * connection and prints the seconds, for measuring the pipelined client
 * (not a test; built on demand: cmake --build build --target sftp_put_bench).
 *
 *   sftp_put_bench CARRIER PORT USER KEY KNOWN_HOSTS REMOTE_ROOT LOCAL_DIR [SSH_COMMAND]
 *
 * CARRIER libssh2 or exec: the client alone; sftp: the whole sftp://
 * transport (its connect, then ops->run(): what the engine's pipelined path
 * calls), over libssh2, or over ssh when SSH_COMMAND is given.
 *
 * Env: RSL_BENCH_OPS (operations in flight), RSL_BENCH_MIB (write budget),
 * RSL_BENCH_FSYNC (set: fsync@openssh.com before each close).
 *
 * CARRIER is libssh2 or exec. The remote root must exist (empty). Every
 * directory becomes a MKDIR (its files wait for it), every file a PUT from
 * a file-backed source, as the engine would feed them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>

#include "transports/sftp_carrier.h"
#include "transports/sftp_client.h"
#include "transports/sftp.h"
#include "transports/sftp_put.h"

typedef struct fsrc {
    rsl_source s;
    char *path;
    int fd;
    uint64_t size;
    int64_t mtime;
} fsrc;

static int fs_open(fsrc *f, rsl_err *err)
{
    if (f->fd < 0 && (f->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0) {
        rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "%s: %s", f->path, strerror(errno));
        return -1;
    }
    return 0;
}

static ssize_t fs_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    fsrc *f = s->ud;
    if (fs_open(f, err) != 0)
        return -1;
    ssize_t r = read(f->fd, buf, n);
    if (r < 0)
        rsl_err_set(err, RSL_E_LOCAL_UNREADABLE, errno, "%s: %s", f->path, strerror(errno));
    return r;
}

static ssize_t fs_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    fsrc *f = s->ud;
    if (fs_open(f, err) != 0)
        return -1;
    return pread(f->fd, buf, n, (off_t)off);
}

static rsl_code fs_start(rsl_source *s, uint64_t off, rsl_err *err)
{
    fsrc *f = s->ud;
    if (fs_open(f, err) != 0)
        return err->code;
    lseek(f->fd, (off_t)off, SEEK_SET);
    return RSL_OK;
}

static rsl_code fs_verify(rsl_source *s, rsl_err *err)
{
    fsrc *f = s->ud;
    struct stat st;
    int bad = f->fd < 0 || fstat(f->fd, &st) != 0 || (uint64_t)st.st_size != f->size;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (bad)
        return rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0, "%s changed", f->path);
    return RSL_OK;
}

typedef struct list {
    rsl_op *ops;
    fsrc *src;
    int *dep, *done, *taken;
    int n, cap, next_free, ndone, failed;
} list;

static void grow(list *l)
{
    if (l->n < l->cap)
        return;
    l->cap = l->cap ? l->cap * 2 : 1024;
    l->ops = realloc(l->ops, sizeof(*l->ops) * (size_t)l->cap);
    l->src = realloc(l->src, sizeof(*l->src) * (size_t)l->cap);
    l->dep = realloc(l->dep, sizeof(int) * (size_t)l->cap);
    if (l->ops == NULL || l->src == NULL || l->dep == NULL)
        abort();
}

/* Adds the entries of local dir (relative rel, made by op parent). */
static void walk(list *l, const char *local, const char *rel, int parent)
{
    DIR *d = opendir(local);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char lp[4096], rp[4096];
        snprintf(lp, sizeof(lp), "%s/%s", local, de->d_name);
        snprintf(rp, sizeof(rp), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        struct stat st;
        if (lstat(lp, &st) != 0)
            continue;
        grow(l);
        int i = l->n++;
        memset(&l->ops[i], 0, sizeof(rsl_op));
        l->ops[i].path = strdup(rp);
        l->dep[i] = parent;
        if (S_ISDIR(st.st_mode)) {
            l->ops[i].kind = RSL_OP_MKDIR;
            walk(l, lp, rp, i);
        } else if (S_ISREG(st.st_mode)) {
            l->ops[i].kind = RSL_OP_PUT;
            char *tmp = NULL;
            if (asprintf(&tmp, "%s.rsl-part", rp) < 0)
                abort();
            l->ops[i].tmp = tmp;
            l->ops[i].size = (uint64_t)st.st_size;
            l->ops[i].mtime = st.st_mtime;
            l->ops[i].mode = st.st_mode & 0777;
            fsrc *f = &l->src[i];
            memset(f, 0, sizeof(*f));
            f->path = strdup(lp);
            f->fd = -1;
            f->size = (uint64_t)st.st_size;
        } else {
            l->n--;
        }
    }
    if (d)
        closedir(d);
}

static rsl_op *next(void *ud, int wait)
{
    (void)wait;
    list *l = ud;
    for (int i = l->next_free; i < l->n; i++) {
        if (l->taken[i])
            continue;
        if (l->dep[i] >= 0 && !l->done[l->dep[i]])
            return NULL; /* in order: wait for the parent */
        l->taken[i] = 1;
        l->next_free = i + 1;
        return &l->ops[i];
    }
    return NULL;
}

static void done(void *ud, rsl_op *op)
{
    list *l = ud;
    l->done[op - l->ops] = 1;
    l->ndone++;
    if (op->err.code != RSL_OK && l->failed++ < 5)
        fprintf(stderr, "%s: %s\n", op->path, op->err.msg);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static LIBSSH2_SESSION *ssh2_session(int port, const char *user, const char *key, int *sock)
{
    libssh2_init(0);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
        return NULL;
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    LIBSSH2_SESSION *ss = libssh2_session_init();
    libssh2_session_set_timeout(ss, 60000);
    /* as sftp.c: the fastest libssh2 1.10 offers */
    libssh2_session_method_pref(ss, LIBSSH2_METHOD_CRYPT_CS, "aes128-ctr");
    libssh2_session_method_pref(ss, LIBSSH2_METHOD_CRYPT_SC, "aes128-ctr");
    libssh2_session_method_pref(ss, LIBSSH2_METHOD_MAC_CS, "hmac-sha2-256");
    libssh2_session_method_pref(ss, LIBSSH2_METHOD_MAC_SC, "hmac-sha2-256");
    if (libssh2_session_handshake(ss, s) != 0 ||
        libssh2_userauth_publickey_fromfile(ss, user, NULL, key, NULL) != 0)
        return NULL;
    *sock = s;
    return ss;
}

/* The whole transport: connect, then ops->run. Returns the exit code. */
static int via_transport(int argc, char **argv, list *l)
{
    const rsl_transport_ops *ops = rsl_transport_find("sftp");
    rsl_sftp_cfg cfg;
    rsl_sftp_cfg_init(&cfg);
    cfg.identity_file = argv[4];
    cfg.known_hosts = argv[5];
    cfg.use_agent = 0;
    cfg.ssh_command = argc > 8 ? argv[8] : NULL;
    rsl_remote_opts o = {.timeout_sec = 60, .cfg = &cfg};
    char url[8192];
    snprintf(url, sizeof(url), "sftp://%s@127.0.0.1:%s%s", argv[3], argv[2], argv[6]);
    rsl_endpoint ep;
    rsl_err err = {0};
    rsl_conn *c = NULL;
    double t0 = now();
    if (rsl_endpoint_parse(&ep, url, &err) != RSL_OK || ops->connect(&c, &ep, &o, &err) != RSL_OK)
        return fprintf(stderr, "%s\n", err.msg), 1;
    double t1 = now();
    rsl_feed feed = {.next = next, .done = done, .ud = l};
    rsl_code rc = ops->run(c, &feed, &err);
    double t2 = now();
    char d[2048];
    ops->describe(c, d, sizeof(d));
    ops->disconnect(c);
    rsl_endpoint_free(&ep);
    printf("sftp transport%s: %d ops, %d failed, rc %s; connect %.2f s, run %.2f s, total %.2f s\n",
           cfg.ssh_command ? " (ssh_command)" : "", l->n, l->failed, rsl_code_name(rc), t1 - t0,
           t2 - t1, t2 - t0);
    fprintf(stderr, "%s\n", d);
    return rc == RSL_OK && l->failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr,
                "usage: %s libssh2|exec|sftp PORT USER KEY KNOWN_HOSTS REMOTE_ROOT LOCAL_DIR "
                "[SSH_COMMAND]\n",
                argv[0]);
        return 2;
    }
    int port = (int)strtol(argv[2], NULL, 10);
    list l = {.n = 0};
    walk(&l, argv[7], "", -1);
    for (int i = 0; i < l.n; i++) {
        l.src[i].s = (rsl_source){.read = fs_read,
                                  .pread = fs_pread,
                                  .start = fs_start,
                                  .verify = fs_verify,
                                  .ud = &l.src[i]};
        if (l.ops[i].kind == RSL_OP_PUT)
            l.ops[i].src = &l.src[i].s;
    }
    l.done = calloc((size_t)l.n + 1, sizeof(int));
    l.taken = calloc((size_t)l.n + 1, sizeof(int));
    if (strcmp(argv[1], "sftp") == 0)
        return via_transport(argc, argv, &l);
    double t0 = now();
    rsl_sftp_carrier *car = NULL;
    rsl_err err = {0};
    int sock = -1;
    LIBSSH2_SESSION *ss = NULL;
    if (strcmp(argv[1], "exec") == 0) {
        rsl_sftp_exec_cfg x = {.ssh_command = argc > 8 ? argv[8] : "ssh -F /dev/null",
                               .host = "127.0.0.1",
                               .port = port,
                               .user = argv[3],
                               .identity_file = argv[4],
                               .known_hosts = argv[5],
                               .strict = 1,
                               .timeout_sec = 60};
        if (rsl_sftp_carrier_exec(&car, &x, &err) != RSL_OK)
            return fprintf(stderr, "%s\n", err.msg), 1;
    } else {
        if ((ss = ssh2_session(port, argv[3], argv[4], &sock)) == NULL)
            return fprintf(stderr, "libssh2 connect/auth failed\n"), 1;
        if (rsl_sftp_carrier_ssh2(&car, ss, sock, 60, &err) != RSL_OK)
            return fprintf(stderr, "%s\n", err.msg), 1;
    }
    rsl_sftp_client *s = NULL;
    rsl_sftp_client_cfg cfg = {.root = argv[6], .host = "bench", .timeout_sec = 60};
    if (rsl_sftp_client_open(&s, car, &cfg, &err) != RSL_OK)
        return fprintf(stderr, "%s\n", err.msg), 1;
    double t1 = now();
    rsl_feed feed = {.next = next, .done = done, .ud = &l};
    /* RSL_BENCH_OPS / RSL_BENCH_MIB / RSL_BENCH_FSYNC: try other windows */
    rsl_sftp_put_opts o = {.max_ops = 0};
    if (getenv("RSL_BENCH_OPS"))
        o.max_ops = (uint32_t)strtoul(getenv("RSL_BENCH_OPS"), NULL, 10);
    if (getenv("RSL_BENCH_MIB"))
        o.inflight_bytes = strtoull(getenv("RSL_BENCH_MIB"), NULL, 10) << 20;
    o.fsync = getenv("RSL_BENCH_FSYNC") != NULL;
    rsl_code rc = rsl_sftp_put_run(s, &o, &feed, &err);
    double t2 = now();
    char d[1024];
    rsl_sftp_client_describe(s, d, sizeof(d));
    rsl_sftp_client_close(s);
    if (ss != NULL) {
        libssh2_session_disconnect(ss, "bye");
        libssh2_session_free(ss);
        close(sock);
    }
    printf("%s: %d ops, %d failed, rc %s; connect %.2f s, run %.2f s, total %.2f s\n", argv[1], l.n,
           l.failed, rsl_code_name(rc), t1 - t0, t2 - t1, t2 - t0);
    fprintf(stderr, "%s\n", d);
    return rc == RSL_OK && l.failed == 0 ? 0 : 1;
}
