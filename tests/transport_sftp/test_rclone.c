/* The server of issue 10 item 9, for real: rclone's SFTP server without a
 * write cache (`rclone serve sftp`, started here on 127.0.0.1:0) refuses a
 * write at an offset with FAILURE and truncates the file. A resumed upload
 * is sent again from zero in the same call and arrives whole, the fact is
 * remembered through the cache and the next connection does not resume; a
 * connection without a cache (check) probes and says so; and `rsyncd-lite
 * check` no longer prints "[PASS] resume supported" for it. Skipped when
 * rclone is not installed (scripts/deps.sh installs it). */
#include "sftp_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct rcl {
    pid_t pid;
    int port;
    char *dir, *root, *id, *fp;
} rcl;

static rcl srv;

static void start_rclone(void)
{
    if (rslt_sh(NULL, NULL, "command -v rclone >/dev/null") != 0)
        cr_skip_test("rclone is not installed");
    srv.dir = rslt_tmpdir("rclone");
    cr_assert(asprintf(&srv.root, "%s/root", srv.dir) > 0);
    cr_assert(asprintf(&srv.id, "%s/id", srv.dir) > 0);
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "cd '%s' && mkdir -p root && ssh-keygen -q -t ed25519 -N '' -f hk && "
                         "ssh-keygen -q -t ed25519 -N '' -f id && cp id.pub ak",
                         srv.dir),
                 0);
    rslt_sh(&srv.fp, NULL, "ssh-keygen -l -E sha256 -f '%s/hk.pub' | cut -d' ' -f2 | tr -d '\\n'",
            srv.dir);
    char log[4096];
    snprintf(log, sizeof(log), "%s/log", srv.dir);
    srv.pid = fork();
    cr_assert(srv.pid >= 0);
    if (srv.pid == 0) {
        if (freopen(log, "w", stderr) == NULL)
            _exit(126);
        char hk[4096], ak[4096], cfg[4096];
        snprintf(hk, sizeof(hk), "%s/hk", srv.dir);
        snprintf(ak, sizeof(ak), "%s/ak", srv.dir);
        snprintf(cfg, sizeof(cfg), "%s/rclone.conf", srv.dir);
        execlp("rclone", "rclone", "serve", "sftp", srv.root, "--addr", "127.0.0.1:0", "--key", hk,
               "--authorized-keys", ak, "--user", "u", "--config", cfg, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && srv.port == 0; i++) { /* until it says where it listens */
        char *text = rslt_read(log, NULL);
        const char *p = text ? strstr(text, "listening on 127.0.0.1:") : NULL;
        if (p)
            srv.port = (int)strtol(p + strlen("listening on 127.0.0.1:"), NULL, 10);
        free(text);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_gt(srv.port, 0, "rclone serve sftp did not start");
}

static void stop_rclone(void)
{
    if (srv.pid > 0) {
        kill(srv.pid, SIGTERM);
        waitpid(srv.pid, NULL, 0);
    }
}

TestSuite(sftp_rclone, .init = start_rclone, .fini = stop_rclone);

typedef struct cache {
    char key[4][200], val[4][100];
    int n;
} cache;

static int c_get(void *ud, const char *key, char *buf, size_t n)
{
    cache *c = ud;
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->key[i], key) == 0)
            return snprintf(buf, n, "%s", c->val[i]) >= 0;
    return 0;
}

static void c_set(void *ud, const char *key, const char *val)
{
    cache *c = ud;
    int i = 0;
    while (i < c->n && strcmp(c->key[i], key) != 0)
        i++;
    if (i == c->n && c->n < 4)
        c->n++;
    snprintf(c->key[i], sizeof(c->key[i]), "%s", key);
    snprintf(c->val[i], sizeof(c->val[i]), "%s", val);
}

static rsl_code rconnect(rsl_conn **c, cache *k, rsl_err *err)
{
    rsl_remote_opts *o = calloc(1, sizeof(*o)); /* outlives the connection */
    opts_init(o, NULL);
    scfg(o)->identity_file = srv.id;
    scfg(o)->host_key_fingerprint = srv.fp;
    if (k != NULL) {
        o->cache_get = c_get;
        o->cache_set = c_set;
        o->ud = k;
    }
    return sconnect(c, srv.port, "u", "/", o, err);
}

Test(sftp_rclone, resume_refused_sent_whole_and_remembered, .timeout = 120)
{
    const uint64_t size = 3u << 20, kept = 1u << 20;
    unsigned char *data = random_bytes(size, 41);
    char path[4096];
    snprintf(path, sizeof(path), "%s/f.rsl-part", srv.root);
    FILE *f = fopen(path, "w");
    cr_assert(f && fwrite(data, 1, kept, f) == kept);
    fclose(f);
    cache k = {0};
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = rconnect(&c, &k, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    const rsl_transport_ops *ops = sftp_ops();
    cr_assert(ops->caps_of(c) & RSL_CAP_RESUME, "not known yet");
    msrc m;
    msrc_init(&m, data, size);
    uint64_t have = 0;
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", size, &m.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, kept);
    msrc_seek(&m, have);
    rc = ops->upload(c, "f.rsl-part", have, size, &m.s, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(ops->finish(c, "f.rsl-part", "f", size, -1, &err), RSL_OK, "%s", err.msg);
    snprintf(path, sizeof(path), "%s/f", srv.root);
    cr_assert(same_content(path, data, size), "arrived whole in the same call");
    cr_assert_eq(ops->caps_of(c) & RSL_CAP_RESUME, 0);
    int seek = -1;
    for (int i = 0; i < k.n; i++)
        if (strstr(k.key[i], ":seek") != NULL)
            seek = i;
    cr_assert_geq(seek, 0, "the seek fact is remembered");
    cr_assert(strncmp(k.val[seek], "no ", 3) == 0, "%s = %s", k.key[seek], k.val[seek]);
    ops->disconnect(c);
    rc = rconnect(&c, &k, &err);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->caps_of(c) & RSL_CAP_RESUME, 0, "the next connection does not resume");
    ops->disconnect(c);
    free(data);
}

Test(sftp_rclone, a_connection_without_memory_probes)
{
    rsl_conn *c = NULL;
    rsl_err err;
    rsl_code rc = rconnect(&c, NULL, &err);
    cr_assert_eq(rc, RSL_OK, "%s %s", rsl_code_name(rc), err.msg);
    cr_assert_eq(sftp_ops()->caps_of(c) & RSL_CAP_RESUME, 0);
    char d[2048];
    sftp_ops()->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "cannot write at an offset"), "%s", d);
    sftp_ops()->disconnect(c);
    char *out = NULL;
    /* this process's probe (the other tests' processes may be probing now) */
    rslt_sh(&out, NULL, "ls -A '%s' | grep -c 'rsl-probe-%ld-'", srv.root, (long)getpid());
    cr_assert_eq(strtol(out, NULL, 10), 0, "probe file left");
}

Test(sftp_rclone, check_does_not_claim_resume)
{
    char *d = rslt_tmpdir("rclone-check"), *conf = NULL;
    cr_assert(asprintf(&conf, "%s/job.conf", d) > 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "mkdir -p '%s/src' && echo x > '%s/src/x'", d, d), 0);
    char *text = NULL;
    cr_assert(asprintf(&text,
                       "[job]\nname = rcl\nsource = %s/src\ndestination = sftp://u@127.0.0.1:%d/\n"
                       "state = %s/state.db\n[remote]\nidentity_file = %s\n"
                       "host_key_fingerprint = %s\nuse_agent = no\n",
                       d, srv.port, d, srv.id, srv.fp) > 0);
    rslt_write(conf, text);
    char *out = NULL;
    int rc = rslt_sh(&out, NULL, "'%s' check '%s'", rslt_bin(), conf);
    cr_assert_eq(rc, 0, "a WARN is not a failure: %s", out);
    cr_assert_null(strstr(out, "[PASS] resume supported"), "%s", out);
    cr_assert(strstr(out, "[WARN] resume supported") && strstr(out, "cannot write at an offset"),
              "%s", out);
    rc = rslt_sh(&out, NULL, "'%s' check --strict '%s'", rslt_bin(), conf);
    cr_assert_eq(rc, 5, "%s", out);
}
