/*
 * test_https_hostile.c - the https transport against a misbehaving server
 * (hostile_dav.py, plain http:// on 127.0.0.1, started by each test):
 * deadlines (a body trickled at 2 bytes/s fails with TIMEOUT within about
 * `timeout`), response caps (an endless PROPFIND answer is cut at the
 * parser's bound with PROTOCOL, fast), the request size limit learnt from
 * 413 and kept for the next connection and the next run, a 413 that cannot
 * be chunked (persistent), and a cached partial-PUT fact that the server
 * contradicts later (probed again, the upload still succeeds).
 */
#define _GNU_SOURCE /* asprintf */
#include <openssl/sha.h>
#include <stdarg.h>

#include "base/buf.h"

#include "feed_util.h"
#include "https_test_util.h"

static const rsl_transport_ops *ops = &rsl_transport_https;

typedef struct hostile {
    pid_t pid;
    char *dir, *root, *log, *flip;
    int port;
} hostile;

/* Starts hostile_dav.py with the extra arguments (NULL-terminated). */
static void hostile_start(hostile *h, const char *arg, ...)
{
    memset(h, 0, sizeof(*h));
    h->dir = rslt_tmpdir("hostile");
    char *pf = NULL, *script = NULL;
    cr_assert(asprintf(&h->root, "%s/root", h->dir) > 0);
    cr_assert(asprintf(&h->log, "%s/log", h->dir) > 0);
    cr_assert(asprintf(&h->flip, "%s/flip", h->dir) > 0);
    cr_assert(asprintf(&pf, "%s/port", h->dir) > 0);
    cr_assert(asprintf(&script, "%s/tests/transport_https/hostile_dav.py", rslt_srcdir()) > 0);
    cr_assert(mkdir(h->root, 0755) == 0);
    const char *argv[32] = {"python3",     script, "--root",      h->root, "--log",      h->log,
                            "--port-file", pf,     "--flip-file", h->flip, "--lifetime", "120"};
    int n = 12;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 31; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    h->pid = fork();
    if (h->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    cr_assert(h->pid > 0);
    char *v = NULL;
    for (int i = 0; i < 500 && (v = rslt_read(pf, NULL)) == NULL; i++)
        sleep_ms(20); /* polling for the port file */
    cr_assert(v != NULL, "hostile_dav.py did not start");
    h->port = (int)strtol(v, NULL, 10);
    free(v);
    free(pf);
    free(script);
}

static void hostile_stop(hostile *h)
{
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
    rslt_rmrf(h->dir);
    free(h->dir);
    free(h->root);
    free(h->log);
    free(h->flip);
}

/* Requests in the server's log whose line contains all of a and b. */
static int log_count(const hostile *h, const char *a, const char *b)
{
    char *all = rslt_read(h->log, NULL);
    int n = 0;
    for (char *line = all; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strstr(line, a) && (b == NULL || strstr(line, b)))
            n++;
        line = nl ? nl + 1 : NULL;
    }
    free(all);
    return n;
}

/* Plain http://, no credentials. */
static topts *hopts(int timeout)
{
    topts *t = topts_new("NGINX");
    t->o.username = NULL;
    t->o.password_file = NULL;
    t->cfg.tls.allow_insecure = 1;
    t->o.timeout_sec = timeout;
    return t;
}

static rsl_code hconnect(rsl_conn **c, const hostile *h, const char *path, topts *t, rsl_err *err)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/dav%s", h->port, path);
    return t_connect(c, url, t, err);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_cb(void *ud, const void *buf, size_t n)
{
    (void)buf;
    *(size_t *)ud += n;
    return 0;
}

Test(https_hostile, trickled_answers_time_out_within_timeout, .timeout = 90)
{
    hostile h;
    hostile_start(&h, "--trickle", "slow", NULL);
    topts *t = hopts(2);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(hconnect(&c, &h, "", t, &err), RSL_OK, "%s", err.msg);
    /* a GET (read) whose body comes at 2 bytes/s */
    size_t got = 0;
    double t0 = now_s();
    rsl_code rc = ops->read(c, "slow/file", count_cb, &got, &err);
    double dt = now_s() - t0;
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%d %s", rc, err.msg);
    cr_assert(dt >= 1.5 && dt < 5.0, "TIMEOUT after %.1f s (timeout 2 s)", dt);
    cr_assert(got < 64, "%zu bytes", got);
    ops->disconnect(c);
    /* a PROPFIND (stat) likewise, inside a pipelined run with other ops */
    cr_assert_eq(hconnect(&c, &h, "", t, &err), RSL_OK, "%s", err.msg);
    rsl_op v[3] = {{.kind = RSL_OP_MKDIR, .path = "d"},
                   {.kind = RSL_OP_STAT, .path = "slow/x"},
                   {.kind = RSL_OP_STAT, .path = "d"}};
    tfeed f;
    tfeed_init(&f, v, 3);
    f.dep[2] = 0;
    rsl_feed feed = tfeed_feed(&f);
    t0 = now_s();
    rc = ops->run(c, &feed, &err);
    dt = now_s() - t0;
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%d %s", rc, err.msg);
    cr_assert(dt >= 1.5 && dt < 5.0, "TIMEOUT after %.1f s (timeout 2 s)", dt);
    cr_assert_eq(f.completed, f.taken);
    cr_assert_eq(v[1].err.code, RSL_E_TIMEOUT, "%s", v[1].err.msg);
    cr_assert(strstr(v[1].err.msg, "deadline") != NULL, "%s", v[1].err.msg);
    ops->disconnect(c);
    /* connect itself: the remote root's PROPFIND trickles */
    t0 = now_s();
    rc = hconnect(&c, &h, "/slow", t, &err);
    dt = now_s() - t0;
    cr_assert_eq(rc, RSL_E_TIMEOUT, "%d %s", rc, err.msg);
    cr_assert(dt >= 1.5 && dt < 5.0, "TIMEOUT after %.1f s (timeout 2 s)", dt);
    tfeed_free(&f);
    topts_free(t);
    hostile_stop(&h);
}

Test(https_hostile, endless_propfind_is_cut_at_its_cap, .timeout = 90)
{
    hostile h;
    hostile_start(&h, "--endless", "big", NULL);
    topts *t = hopts(30);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(hconnect(&c, &h, "", t, &err), RSL_OK, "%s", err.msg);
    rsl_rstat st;
    double t0 = now_s();
    rsl_code rc = ops->stat(c, "big/x", &st, &err);
    double dt = now_s() - t0;
    cr_assert_eq(rc, RSL_E_PROTOCOL, "%d %s", rc, err.msg);
    cr_assert(strstr(err.msg, "more than 16 responses in one answer") != NULL, "%s", err.msg);
    cr_assert(dt < 5.0, "took %.1f s", dt);
    ops->disconnect(c);
    /* connect to it as the remote root: the same, at connect */
    t0 = now_s();
    rc = hconnect(&c, &h, "/big", t, &err);
    dt = now_s() - t0;
    cr_assert_eq(rc, RSL_E_PROTOCOL, "%d %s", rc, err.msg);
    cr_assert(strstr(err.msg, "cannot be read") != NULL, "%s", err.msg);
    cr_assert(dt < 5.0, "took %.1f s", dt);
    /* what the server got to send: the cap plus what kernel buffers hold */
    sleep_ms(300);
    char *all = rslt_read(h.log, NULL), *p = all;
    int seen = 0;
    while (p && (p = strstr(p, " endless - ")) != NULL) {
        p += strlen(" endless - ");
        long long sent = strtoll(p, NULL, 10);
        cr_assert(sent < (12ll << 20), "the server sent %lld bytes", sent);
        seen++;
    }
    cr_assert_eq(seen, 2, "%s", all);
    free(all);
    topts_free(t);
    hostile_stop(&h);
}

/* One file of n random bytes through run() as `name`. */
static rsl_code put_one(rsl_conn *c, const char *name, size_t n, unsigned seed, msrc *m, rsl_op *op,
                        char *tmp, size_t tmpsz, rsl_err *err)
{
    snprintf(tmp, tmpsz, "%s.rsl-part", name);
    msrc_init(m, mrandom(n, seed), n);
    *op = (rsl_op){.kind = RSL_OP_PUT,
                   .path = name,
                   .tmp = tmp,
                   .size = n,
                   .mtime = -1,
                   .src = &m->s,
                   .err = {.code = RSL_E_INTERNAL}};
    tfeed f;
    tfeed_init(&f, op, 1);
    rsl_feed feed = tfeed_feed(&f);
    rsl_code rc = ops->run(c, &feed, err);
    cr_assert_eq(f.dones[0], 1);
    tfeed_free(&f);
    return rc;
}

static int same_as(const hostile *h, const char *name, const msrc *m)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", h->root, name) > 0);
    size_t len = 0;
    char *got = rslt_read(p, &len);
    int same = got != NULL && len == m->len && memcmp(got, m->data, len) == 0;
    free(got);
    free(p);
    return same;
}

Test(https_hostile, limit_from_413_is_learnt_and_kept, .timeout = 90)
{
    hostile h;
    hostile_start(&h, "--max-body", "1048576", NULL);
    topts *t = hopts(20);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(hconnect(&c, &h, "", t, &err), RSL_OK, "%s", err.msg);
    cr_assert(rsl_transport_https.caps_of(c) & RSL_CAP_RESUME, "partial PUT not detected");
    /* 5 MiB (below the 16 MiB chunk_size): 413, 413, 413, then 640 KiB
     * chunks, all in this one operation */
    msrc m;
    rsl_op op;
    char tmp[64];
    cr_assert_eq(put_one(c, "a.bin", 5u << 20, 1, &m, &op, tmp, sizeof(tmp), &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    cr_assert(same_as(&h, "a.bin", &m));
    cr_assert_eq(m.pulled, m.len, "each byte read once: %llu", (unsigned long long)m.pulled);
    int refused = log_count(&h, "PUT /dav/a.bin.rsl-part 413", NULL);
    cr_assert_eq(refused, 3, "%d 413s", refused);
    free(m.data);
    char d[1024];
    ops->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "655360-byte Content-Range chunks (learnt from HTTP 413)") != NULL, "%s",
              d);
    ops->disconnect(c);
    /* kept: the next connection (the next run reads the same cache) starts
     * at the learnt size and meets no 413 */
    char key[128];
    snprintf(key, sizeof(key), "https:127.0.0.1:%d/dav:max-body", h.port);
    int k = -1;
    for (int i = 0; i < t->nkeys; i++)
        if (strcmp(t->keys[i], key) == 0)
            k = i;
    cr_assert(k >= 0, "no %s fact", key);
    cr_assert(strncmp(t->vals[k], "655360 ", 7) == 0, "%s", t->vals[k]);
    topts *t2 = hopts(20); /* "the next run": a new job whose cache holds the facts */
    for (int i = 0; i < t->nkeys; i++)
        t_cache_set(t2, t->keys[i], t->vals[i]);
    t2->sets = 0;
    cr_assert_eq(hconnect(&c, &h, "", t2, &err), RSL_OK, "%s", err.msg);
    ops->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "655360-byte Content-Range chunks (kept from an earlier HTTP 413)") != NULL,
              "%s", d);
    cr_assert_eq(put_one(c, "b.bin", 3u << 20, 2, &m, &op, tmp, sizeof(tmp), &err), RSL_OK, "%s",
                 err.msg);
    cr_assert(same_as(&h, "b.bin", &m));
    cr_assert_eq(log_count(&h, "PUT /dav/b.bin.rsl-part 413", NULL), 0);
    cr_assert_eq(t2->sets, 0, "a fact was learnt again");
    free(m.data);
    ops->disconnect(c);
    topts_free(t2);
    topts_free(t);
    hostile_stop(&h);
}

Test(https_hostile, too_large_without_partial_put_is_persistent, .timeout = 60)
{
    hostile h;
    hostile_start(&h, "--max-body", "1048576", "--partial", "no", NULL);
    topts *t = hopts(20);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(hconnect(&c, &h, "", t, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_transport_https.caps_of(c) & RSL_CAP_RESUME, 0u);
    msrc m;
    rsl_op op;
    char tmp[64];
    cr_assert_eq(put_one(c, "big.bin", 2u << 20, 3, &m, &op, tmp, sizeof(tmp), &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(op.err.code, RSL_E_REMOTE_BODY_LIMIT, "%d %s", op.err.code, op.err.msg);
    cr_assert_eq(rsl_code_class(op.err.code), RSL_CLASS_PERSISTENT);
    cr_assert_eq(op.err.native, 413);
    cr_assert(strstr(op.err.msg, "does not support partial PUT") != NULL, "%s", op.err.msg);
    free(m.data);
    /* a file under the limit still goes */
    cr_assert_eq(put_one(c, "small.bin", 512u << 10, 4, &m, &op, tmp, sizeof(tmp), &err), RSL_OK,
                 "%s", err.msg);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    cr_assert(same_as(&h, "small.bin", &m));
    free(m.data);
    ops->disconnect(c);
    topts_free(t);
    hostile_stop(&h);
}

/* The server stops applying Content-Range after the fact was cached ("yes"):
 * how (refuse = 400 like issue 10.10, ignore = 2xx and the file replaced). */
static void flip_case(const char *how)
{
    hostile h;
    hostile_start(&h, "--partial", "flip", NULL);
    topts *t = hopts(20);
    t->cfg.chunk_size = 1u << 20;
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(hconnect(&c, &h, "", t, &err), RSL_OK, "%s", err.msg);
    cr_assert_str_eq(t->vals[0], "yes"); /* probed and cached */
    ops->disconnect(c);
    rslt_write(h.flip, how); /* the server changed */
    cr_assert_eq(hconnect(&c, &h, "", t, &err), RSL_OK, "%s", err.msg);
    cr_assert(rsl_transport_https.caps_of(c) & RSL_CAP_RESUME, "the cached fact was not used");
    msrc m;
    rsl_op op;
    char tmp[64];
    cr_assert_eq(put_one(c, "f.bin", 3u << 20, 5, &m, &op, tmp, sizeof(tmp), &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    cr_assert(same_as(&h, "f.bin", &m));
    /* each byte through read() once; the restart re-read the start by pread */
    cr_assert_eq(m.pulled, m.len);
    cr_assert(m.preads > 0);
    cr_assert_str_eq(t->vals[0], "no", "the fact was not corrected");
    cr_assert(strstr(t->log, "partial PUT contradicted") != NULL, "%s", t->log);
    cr_assert_eq(rsl_transport_https.caps_of(c) & RSL_CAP_RESUME, 0u);
    free(m.data);
    ops->disconnect(c);
    topts_free(t);
    hostile_stop(&h);
}

Test(https_hostile, partial_put_refused_after_caching_is_probed_again, .timeout = 60)
{
    flip_case("refuse");
}

Test(https_hostile, partial_put_ignored_after_caching_is_probed_again, .timeout = 60)
{
    flip_case("ignore");
}

static int collect_cb(void *ud, const void *buf, size_t n)
{
    rsl_buf *b = ud;
    return rsl_buf_append(b, buf, n) == RSL_BUF_OK ? 0 : 1;
}

Test(https_hostile, server_checksum_and_read_back, .timeout = 60)
{
    hostile h;
    hostile_start(&h, "--checksum", NULL);
    topts *t = hopts(20);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(hconnect(&c, &h, "", t, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rsl_transport_https.caps_of(c) & RSL_CAP_CHECKSUM, 0u, "claimed before seen");
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/sum.txt", h.root) > 0);
    rslt_write(p, "checksum me\n");
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)"checksum me\n", 12, md);
    char want[65];
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    rsl_rhash hs;
    cr_assert_eq(ops->hash(c, "sum.txt", "sha256", &hs, &err), RSL_OK, "%s", err.msg);
    cr_assert_str_eq(hs.alg, "sha256");
    cr_assert_str_eq(hs.hex, want);
    cr_assert_eq(ops->hash(c, "sum.txt", NULL, &hs, &err), RSL_OK, "%s", err.msg);
    cr_assert_str_eq(hs.hex, want);
    cr_assert(rsl_transport_https.caps_of(c) & RSL_CAP_CHECKSUM);
    /* an algorithm the server does not offer */
    cr_assert_eq(ops->hash(c, "sum.txt", "md5", &hs, &err), RSL_E_CHECKSUM_UNAVAILABLE, "%d %s",
                 err.code, err.msg);
    cr_assert_eq(ops->hash(c, "nope.txt", NULL, &hs, &err), RSL_E_REMOTE_NOT_FOUND);
    rsl_buf b = {0};
    rsl_buf_reset(&b, 1024);
    cr_assert_eq(ops->read(c, "sum.txt", collect_cb, &b, &err), RSL_OK, "%s", err.msg);
    cr_assert(b.n == 12 && memcmp(b.p, "checksum me\n", 12) == 0);
    rsl_buf_free(&b);
    ops->disconnect(c);
    free(p);
    topts_free(t);
    hostile_stop(&h);
}

Test(https_hostile, redirect_target_is_quoted_capped_and_printable, .timeout = 60)
{
    hostile h;
    hostile_start(&h, "--redirect", "away", NULL);
    topts *t = hopts(20);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(hconnect(&c, &h, "/away", t, &err), RSL_E_REDIRECT, "%d %s", err.code, err.msg);
    for (const char *p = err.msg; *p; p++)
        cr_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
                  "a raw byte 0x%02x from the server in the message", (unsigned char)*p);
    cr_assert(strstr(err.msg, "AAAA") != NULL || strstr(err.msg, "no Location") != NULL, "%s",
              err.msg);
    cr_assert(rslt_count(err.msg, "A") < 260, "%zu bytes: %s", strlen(err.msg), err.msg);
    topts_free(t);
    hostile_stop(&h);
}
