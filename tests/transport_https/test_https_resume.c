/*
 * test_https_resume.c - real faults in the middle of a large upload, then the
 * engine's sequence (reconnect, resume_offset, upload from there, finish):
 *   - the connection cut after N bytes by scripts/cutproxy.py;
 *   - the server SIGKILLed mid-upload (a private instance), then restarted;
 *   - the server frozen (SIGSTOP) mid-upload: TIMEOUT after `timeout`, then
 *     SIGCONT and resume.
 * Apache (partial PUT): the second attempt pulls from src at most what the
 * server lacks plus one chunk. nginx (no partial PUT): the whole file is sent
 * again and arrives intact. Either way the final file is byte-identical.
 */
#define _GNU_SOURCE /* asprintf */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "https_test_util.h"

#define TOTAL (40ull << 20)
#define CHUNK (1ull << 20)
#define FAULT_AT (16ull << 20)

static const rsl_transport_ops *ops = &rsl_transport_https;

/* A source that runs a shell command once when `trigger_at` bytes were pulled. */
typedef struct ksrc {
    tsrc t;
    uint64_t trigger_at;
    const char *cmd;
    int fired;
} ksrc;

static ssize_t ksrc_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    ksrc *k = (ksrc *)s;
    if (k->cmd && !k->fired && k->t.pulled >= k->trigger_at) {
        k->fired = 1;
        cr_assert_eq(rslt_sh(NULL, NULL, "%s", k->cmd), 0, "%s", k->cmd);
    }
    return tsrc_read(s, buf, n, err);
}

typedef struct server {
    const char *srv; /* "APACHE" / "NGINX" */
    char *dir;       /* private instance dir, or NULL for the shared fixture */
    char *port, *ca, *pw, *www;
} server;

static char *env_in(const char *dir, const char *key)
{
    char *path = NULL, *all = NULL, *v = NULL;
    cr_assert(asprintf(&path, "%s/env", dir) > 0);
    all = rslt_read(path, NULL);
    cr_assert(all != NULL, "%s", path);
    size_t kl = strlen(key);
    for (char *line = all; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, key, kl) == 0 && line[kl] == '=')
            v = strdup(line + kl + 1);
        line = nl ? nl + 1 : NULL;
    }
    free(all);
    free(path);
    cr_assert(v != NULL, "%s missing in %s/env", key, dir);
    return v;
}

static void server_private(server *s, const char *srv)
{
    memset(s, 0, sizeof(*s));
    s->srv = srv;
    s->dir = rslt_tmpdir(is_apache(srv) ? "apache-kill" : "nginx-kill");
    char *scripts = rslt_fixture_get("SCRIPTS");
    cr_assert_eq(rslt_sh(NULL, NULL, "bash '%s/%s-start.sh' '%s'", scripts,
                         is_apache(srv) ? "apache" : "nginx", s->dir),
                 0);
    free(scripts);
    s->port = env_in(s->dir, "PORT");
    s->ca = env_in(s->dir, "CA_FILE");
    s->pw = env_in(s->dir, "PASSWORD_FILE");
    s->www = env_in(s->dir, "WWW");
}

static void server_shared(server *s, const char *srv)
{
    memset(s, 0, sizeof(*s));
    s->srv = srv;
    s->port = fx(srv, "PORT");
    s->ca = fx(srv, "CA_FILE");
    s->pw = fx(srv, "PASSWORD_FILE");
    s->www = fx(srv, "WWW");
}

static void server_free(server *s)
{
    if (s->dir) {
        char *scripts = rslt_fixture_get("SCRIPTS");
        rslt_sh(NULL, NULL, "bash '%s/%s-stop.sh' '%s'", scripts,
                is_apache(s->srv) ? "apache" : "nginx", s->dir);
        free(scripts);
        rslt_rmrf(s->dir);
        free(s->dir);
    }
    free(s->port);
    free(s->ca);
    free(s->pw);
    free(s->www);
}

enum fault { CUT, KILL, FREEZE };

static void resume_after_fault(const char *srv, enum fault fault)
{
    server s;
    if (fault == KILL || fault == FREEZE)
        server_private(&s, srv);
    else
        server_shared(&s, srv);
    /* remote root on the server's disk */
    char *rootdisk = NULL, *rootpath = NULL;
    cr_assert(asprintf(&rootdisk, "%s/resume-%d-%ld", s.www, (int)fault, (long)getpid()) > 0);
    cr_assert(asprintf(&rootpath, "/dav/resume-%d-%ld", (int)fault, (long)getpid()) > 0);
    rslt_rmrf(rootdisk);
    cr_assert(mkdir(rootdisk, 0755) == 0);
    cr_assert_eq(rslt_sh(NULL, NULL, "chown --reference='%s' '%s'", s.www, rootdisk), 0);

    pid_t proxy = -1;
    int port = (int)strtol(s.port, NULL, 10);
    if (fault == CUT)
        proxy = start_cutproxy(s.port, FAULT_AT, &port);
    char url[512];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, rootpath);

    topts *t = topts_new(srv);
    t->cfg.tls.ca_file = s.ca;
    t->o.password_file = s.pw;
    t->cfg.chunk_size = CHUNK;
    t->o.timeout_sec = fault == FREEZE ? 3 : 15;

    char *ldir = rslt_tmpdir("resume"), *local = NULL, *tmpdisk = NULL, *finaldisk = NULL;
    cr_assert(asprintf(&local, "%s/big.bin", ldir) > 0);
    cr_assert(asprintf(&tmpdisk, "%s/big.bin.rsl-part", rootdisk) > 0);
    cr_assert(asprintf(&finaldisk, "%s/big.bin", rootdisk) > 0);
    rslt_write_random(local, TOTAL, 42);

    /* attempt 1: the fault hits mid-upload */
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    int partial = (ops->caps_of(c) & RSL_CAP_RESUME) != 0;
    cr_assert_eq(partial, is_apache(srv), "partial PUT detection");
    char *killcmd = NULL;
    if (fault == KILL || fault == FREEZE)
        cr_assert(asprintf(&killcmd, "kill -%s -$(cat '%s/run/%s.pid')",
                           fault == KILL ? "9" : "STOP", s.dir,
                           is_apache(srv) ? "apache" : "nginx") > 0);
    ksrc k = {.trigger_at = FAULT_AT, .cmd = killcmd};
    tsrc_open(&k.t, local);
    k.t.s.read = ksrc_read;
    uint64_t have = 99;
    cr_assert_eq(ops->resume_offset(c, "big.bin.rsl-part", TOTAL, &k.t.s, &have, &err), RSL_OK,
                 "%s", err.msg);
    cr_assert_eq(have, 0);
    rsl_code rc = ops->upload(c, "big.bin.rsl-part", 0, TOTAL, &k.t.s, &err);
    /* lost mid-request; or, with the server killed, whatever libcurl met
     * when it retried a request that had not pulled a byte yet on a fresh
     * connection (refused, TLS handshake cut): always a session error */
    if (fault == FREEZE)
        cr_assert_eq(rc, RSL_E_TIMEOUT, "attempt 1 gave %d %s", rc, err.msg);
    if (fault == CUT)
        cr_assert(rc == RSL_E_CONNECTION_LOST || rc == RSL_E_TIMEOUT, "attempt 1 gave %d %s", rc,
                  err.msg);
    cr_assert_eq(rsl_code_class(rc), RSL_CLASS_SESSION, "attempt 1 gave %d %s", rc, err.msg);
    uint64_t pulled1 = k.t.pulled;
    cr_assert(pulled1 < TOTAL, "the fault did not stop the upload");
    ops->disconnect(c);
    tsrc_close(&k.t);
    if (fault == FREEZE)
        cr_assert_eq(rslt_sh(NULL, NULL, "kill -CONT -$(cat '%s/run/%s.pid')", s.dir,
                             is_apache(srv) ? "apache" : "nginx"),
                     0);
    if (fault == KILL) {
        char *scripts = rslt_fixture_get("SCRIPTS");
        cr_assert_eq(rslt_sh(NULL, NULL, "bash '%s/%s-start.sh' '%s'", scripts,
                             is_apache(srv) ? "apache" : "nginx", s.dir),
                     0);
        char *np = env_in(s.dir, "PORT");
        cr_assert_str_eq(np, s.port, "restarted on another port");
        free(np);
        free(scripts);
    }
    long long server_had = rslt_size(tmpdisk); /* what the server kept */
    if (server_had < 0)
        server_had = 0;

    /* attempt 2: reconnect, resume, finish */
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    tsrc src;
    tsrc_open(&src, local);
    cr_assert_eq(ops->resume_offset(c, "big.bin.rsl-part", TOTAL, &src.s, &have, &err), RSL_OK,
                 "%s", err.msg);
    src.pos = have;
    cr_assert_eq(ops->upload(c, "big.bin.rsl-part", have, TOTAL, &src.s, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(ops->finish(c, "big.bin.rsl-part", "big.bin", TOTAL, -1, &err), RSL_OK, "%s",
                 err.msg);
    uint64_t pulled2 = src.pulled;
    tsrc_close(&src);
    ops->disconnect(c);
    cr_assert(files_equal(local, finaldisk), "final file differs");
    cr_assert(!rslt_exists(tmpdisk));
    if (is_apache(srv)) {
        cr_assert(server_had >= (long long)(4 * CHUNK), "the server kept only %lld bytes",
                  server_had);
        cr_assert(have > 0 && have >= (uint64_t)server_had - CHUNK,
                  "resumed at %llu, server had %lld", (unsigned long long)have, server_had);
        cr_assert(pulled2 <= TOTAL - (uint64_t)server_had + CHUNK,
                  "pulled %llu on the second attempt; remaining was %llu",
                  (unsigned long long)pulled2, (unsigned long long)(TOTAL - (uint64_t)server_had));
    } else {
        cr_assert_eq(have, 0);
        cr_assert_eq(pulled2, TOTAL);
    }
    if (proxy > 0) {
        kill(proxy, SIGTERM);
        waitpid(proxy, NULL, 0);
    }
    rslt_rmrf(rootdisk);
    rslt_rmrf(ldir);
    free(killcmd);
    free(ldir);
    free(local);
    free(tmpdisk);
    free(finaldisk);
    free(rootdisk);
    free(rootpath);
    topts_free(t);
    server_free(&s);
}

BOTH_SERVERS(resume_after_connection_cut, .timeout = 180)
{
    resume_after_fault(srv, CUT);
}

BOTH_SERVERS(resume_after_server_killed, .timeout = 180)
{
    resume_after_fault(srv, KILL);
}

BOTH_SERVERS(server_frozen_mid_upload_times_out_then_resume, .timeout = 180)
{
    resume_after_fault(srv, FREEZE);
}

/* A changed temp file on the server is never trusted: its tail no longer
 * matches the local bytes, so resume_offset says 0 (restart). */
Test(https_apache, resume_tail_mismatch_restarts, .timeout = 60)
{
    topts *t = topts_new("APACHE");
    char *up = NULL, *disk = make_remote_root("APACHE", "tail", &up);
    char *url = url_of("APACHE", "https", up);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char *ldir = rslt_tmpdir("tail"), *local = NULL, *tmpd = NULL;
    cr_assert(asprintf(&local, "%s/f", ldir) > 0);
    cr_assert(asprintf(&tmpd, "%s/f.rsl-part", disk) > 0);
    rslt_write_random(local, 300000, 5);
    /* a temp holding the right first 200000 bytes: kept */
    cr_assert_eq(rslt_sh(NULL, NULL, "head -c 200000 '%s' > '%s' && chown --reference='%s' '%s'",
                         local, tmpd, disk, tmpd),
                 0);
    tsrc s;
    tsrc_open(&s, local);
    uint64_t have = 0;
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", 300000, &s.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 200000);
    /* one byte changed near its end: restart */
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "printf Z | dd of='%s' bs=1 seek=199990 conv=notrunc 2>/dev/null", tmpd),
                 0);
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", 300000, &s.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 0);
    /* larger than the file: restart */
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", 1000, &s.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 0);
    /* and the upload from 0 replaces it whole */
    s.pos = 0;
    cr_assert_eq(ops->upload(c, "f.rsl-part", 0, 300000, &s.s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->finish(c, "f.rsl-part", "f", 300000, -1, &err), RSL_OK, "%s", err.msg);
    char *fd = NULL;
    cr_assert(asprintf(&fd, "%s/f", disk) > 0);
    cr_assert(files_equal(local, fd));
    tsrc_close(&s);
    ops->disconnect(c);
    rslt_rmrf(disk);
    rslt_rmrf(ldir);
    free(fd);
    free(ldir);
    free(local);
    free(tmpd);
    free(disk);
    free(up);
    free(url);
    topts_free(t);
}

/* The first continued chunk carries If-Match with the temp's ETag from
 * resume_offset: a temp changed in between is refused (412), not appended to. */
Test(https_apache, resume_if_match_guards_the_temp, .timeout = 60)
{
    topts *t = topts_new("APACHE");
    char *up = NULL, *disk = make_remote_root("APACHE", "ifmatch", &up);
    char *url = url_of("APACHE", "https", up);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char *ldir = rslt_tmpdir("ifm"), *local = NULL, *tmpd = NULL;
    cr_assert(asprintf(&local, "%s/f", ldir) > 0);
    cr_assert(asprintf(&tmpd, "%s/f.rsl-part", disk) > 0);
    rslt_write_random(local, 300000, 8);
    /* an old temp (Apache hands out strong ETags for files older than 1 s) */
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "head -c 200000 '%s' > '%s' && chown --reference='%s' '%s' && "
                         "touch -d '1 hour ago' '%s'",
                         local, tmpd, disk, tmpd, tmpd),
                 0);
    tsrc s;
    tsrc_open(&s, local);
    uint64_t have = 0;
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", 300000, &s.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 200000);
    /* someone touches the temp meanwhile: its ETag changes */
    cr_assert_eq(rslt_sh(NULL, NULL, "touch -d '2 hours ago' '%s'", tmpd), 0);
    s.pos = have;
    cr_assert_eq(ops->upload(c, "f.rsl-part", have, 300000, &s.s, &err), RSL_E_REMOTE_IO, "%d %s",
                 err.code, err.msg);
    cr_assert_eq(err.native, 412);
    cr_assert_eq(rslt_size(tmpd), 200000, "the guarded chunk was written anyway");
    /* the engine's retry: resume_offset again, then upload and finish */
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", 300000, &s.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 200000);
    s.pos = have;
    cr_assert_eq(ops->upload(c, "f.rsl-part", have, 300000, &s.s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->finish(c, "f.rsl-part", "f", 300000, -1, &err), RSL_OK, "%s", err.msg);
    char *fd = NULL;
    cr_assert(asprintf(&fd, "%s/f", disk) > 0);
    cr_assert(files_equal(local, fd));
    tsrc_close(&s);
    ops->disconnect(c);
    rslt_rmrf(disk);
    rslt_rmrf(ldir);
    free(fd);
    free(ldir);
    free(local);
    free(tmpd);
    free(disk);
    free(up);
    free(url);
    topts_free(t);
}

/* The resume check samples the whole kept prefix, from byte 0, not only its
 * tail: a temp whose first 100 KiB were zeroed on the server's disk (as a
 * server's write cache did) is re-sent, never resumed. */
Test(https_apache, resume_zeroed_early_prefix_restarts, .timeout = 60)
{
    topts *t = topts_new("APACHE");
    char *up = NULL, *disk = make_remote_root("APACHE", "zeroed", &up);
    char *url = url_of("APACHE", "https", up);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char *ldir = rslt_tmpdir("zeroed"), *local = NULL, *tmpd = NULL;
    cr_assert(asprintf(&local, "%s/f", ldir) > 0);
    cr_assert(asprintf(&tmpd, "%s/f.rsl-part", disk) > 0);
    rslt_write_random(local, 4u << 20, 9);
    cr_assert_eq(rslt_sh(NULL, NULL, "head -c 3145728 '%s' > '%s' && chown --reference='%s' '%s'",
                         local, tmpd, disk, tmpd),
                 0);
    tsrc s;
    tsrc_open(&s, local);
    uint64_t have = 0;
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", 4u << 20, &s.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 3145728, "an intact temp is kept");
    cr_assert_eq(rslt_sh(NULL, NULL,
                         "dd if=/dev/zero of='%s' bs=1024 count=100 conv=notrunc 2>/dev/null",
                         tmpd),
                 0);
    cr_assert_eq(ops->resume_offset(c, "f.rsl-part", 4u << 20, &s.s, &have, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(have, 0, "a temp zeroed at its start is not kept (kept %llu)",
                 (unsigned long long)have);
    s.pos = 0;
    cr_assert_eq(ops->upload(c, "f.rsl-part", 0, 4u << 20, &s.s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->finish(c, "f.rsl-part", "f", 4u << 20, -1, &err), RSL_OK, "%s", err.msg);
    char *fd = NULL;
    cr_assert(asprintf(&fd, "%s/f", disk) > 0);
    cr_assert(files_equal(local, fd), "re-sent whole");
    tsrc_close(&s);
    ops->disconnect(c);
    rslt_rmrf(disk);
    rslt_rmrf(ldir);
    free(fd);
    free(ldir);
    free(local);
    free(tmpd);
    free(disk);
    free(up);
    free(url);
    topts_free(t);
}
