/*
 * test_https_run.c - the pipelined run() of the https transport against the
 * real Apache and nginx: a window of 300 small files multiplexed over ONE
 * HTTP/2 connection (counted by libcurl and by ss), a refused file in the
 * middle of a window failing alone, the HTTP/1.1 fallback keeping several
 * connections busy, STAT and REMOVE in a window, a connection cut by
 * scripts/cutproxy.py with many operations in flight (all complete with a
 * session code; a second run on a new connection converges), a 413 learnt
 * and retried at once, and read()/hash().
 */
#define _GNU_SOURCE /* asprintf */
#include "feed_util.h"
#include "https_test_util.h"

static const rsl_transport_ops *ops = &rsl_transport_https;

/* Established TCP connections of this process to 127.0.0.1:port (ss). */
static int conns_to(const char *port)
{
    char *out = NULL;
    rslt_sh(&out, NULL, "ss -tnpH state established '( dport = :%s )' | grep -c 'pid=%ld,'", port,
            (long)getpid());
    int n = out ? (int)strtol(out, NULL, 10) : -1;
    free(out);
    return n;
}

typedef struct batch {
    rsl_op *ops;
    msrc *src;
    char (*path)[96];
    char (*tmp)[112];
    int n;
} batch;

/* ops[0] = MKDIR dir; ops[1..n] = PUT dir/fNNN of base to base + 1 KiB
 * bytes (random content), each after the MKDIR. Each op's err starts as
 * INTERNAL ("not done"). */
static void batch_files(batch *b, tfeed *f, const char *dir, int n, size_t base)
{
    b->n = n + 1;
    b->ops = calloc((size_t)b->n, sizeof(*b->ops));
    b->src = calloc((size_t)b->n, sizeof(*b->src));
    b->path = calloc((size_t)b->n, sizeof(*b->path));
    b->tmp = calloc((size_t)b->n, sizeof(*b->tmp));
    snprintf(b->path[0], sizeof(b->path[0]), "%s", dir);
    b->ops[0] = (rsl_op){.kind = RSL_OP_MKDIR, .path = b->path[0]};
    for (int i = 1; i <= n; i++) {
        size_t len = base + (size_t)(37 * i % 1024);
        snprintf(b->path[i], sizeof(b->path[i]), "%s/f%03d", dir, i);
        snprintf(b->tmp[i], sizeof(b->tmp[i]), "%s.rsl-part", b->path[i]);
        msrc_init(&b->src[i], mrandom(len, (unsigned)i), len);
        b->ops[i] = (rsl_op){.kind = RSL_OP_PUT,
                             .path = b->path[i],
                             .tmp = b->tmp[i],
                             .size = len,
                             .mtime = -1,
                             .src = &b->src[i].s};
    }
    for (int i = 0; i < b->n; i++)
        b->ops[i].err.code = RSL_E_INTERNAL;
    tfeed_init(f, b->ops, b->n);
    for (int i = 1; i <= n; i++)
        f->dep[i] = 0;
}

static void batch_free(batch *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->src[i].data);
    free(b->ops);
    free(b->src);
    free(b->path);
    free(b->tmp);
}

/* Every PUT of b that succeeded is on disk under disk/ with its content;
 * for the others the final name is absent or complete (never partial). */
static void check_disk(const batch *b, const char *disk, int all_ok)
{
    for (int i = 0; i < b->n; i++) {
        if (b->ops[i].kind != RSL_OP_PUT)
            continue;
        char *p = NULL;
        cr_assert(asprintf(&p, "%s/%s", disk, b->path[i]) > 0);
        size_t len = 0;
        char *got = rslt_read(p, &len);
        if (b->ops[i].err.code == RSL_OK || all_ok)
            cr_assert(got != NULL, "%s missing (%d %s)", b->path[i], b->ops[i].err.code,
                      b->ops[i].err.msg);
        if (got != NULL)
            cr_assert(len == b->src[i].len && memcmp(got, b->src[i].data, len) == 0,
                      "%s differs: %zu bytes, %zu expected", b->path[i], len, b->src[i].len);
        free(got);
        free(p);
    }
}

typedef struct rig {
    topts *t;
    rsl_conn *c;
    char *disk, *up, *port;
} rig;

static void rig_open(rig *r, const char *srv, const char *name, const char *port_key)
{
    memset(r, 0, sizeof(*r));
    r->t = topts_new(srv);
    r->disk = make_remote_root(srv, name, &r->up);
    r->port = fx(srv, port_key);
    char url[512];
    snprintf(url, sizeof(url), "https://127.0.0.1:%s%s", r->port, r->up);
    rsl_err err;
    cr_assert_eq(t_connect(&r->c, url, r->t, &err), RSL_OK, "%s", err.msg);
}

static void rig_close(rig *r)
{
    ops->disconnect(r->c);
    rslt_rmrf(r->disk);
    free(r->disk);
    free(r->up);
    free(r->port);
    topts_free(r->t);
}

BOTH_SERVERS(run_multiplexes_300_files_on_one_connection, .timeout = 120)
{
    rig r;
    rig_open(&r, srv, "run300", "PORT");
    char d[1024];
    ops->describe(r.c, d, sizeof(d));
    cr_assert(strstr(d, "HTTP/2") != NULL, "%s", d);
    unsigned long conns0 = rsl_https_connections(r.c);
    cr_assert_eq(conns0, 1ul, "connect opened %lu connections", conns0);
    batch b;
    tfeed f;
    batch_files(&b, &f, "d", 300, 3584);
    rsl_feed feed = tfeed_feed(&f);
    rsl_err err;
    cr_assert_eq(ops->run(r.c, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(f.completed, b.n);
    for (int i = 0; i < b.n; i++) {
        cr_assert_eq(f.dones[i], 1, "op %d done %d times", i, f.dones[i]);
        cr_assert_eq(b.ops[i].err.code, RSL_OK, "%s: %s", b.path[i], b.ops[i].err.msg);
        if (i == 0)
            continue;
        /* pulled once through read(), hooks as xfer.h says */
        cr_assert_eq(b.src[i].started, 1);
        cr_assert_eq(b.src[i].start_at, 0u);
        cr_assert_eq(b.src[i].verified, 1);
        cr_assert_eq(b.src[i].pulled, b.src[i].len);
        cr_assert_eq(b.src[i].preads, 0u);
        cr_assert_eq(b.ops[i].sent, b.src[i].len);
    }
    /* many at once: the window was used, and not exceeded */
    cr_assert(f.max_inflight > 32 && f.max_inflight <= 64, "max in flight %d", f.max_inflight);
    /* all of it over the one connection connect opened */
    cr_assert_eq(rsl_https_connections(r.c), 1ul, "%lu connections", rsl_https_connections(r.c));
    cr_assert_eq(conns_to(r.port), 1, "ss counts %d connections", conns_to(r.port));
    check_disk(&b, r.disk, 1);
    cr_assert_eq(rslt_sh(NULL, NULL, "find '%s' -name '*.rsl-part' | grep -q .", r.disk), 1);
    tfeed_free(&f);
    batch_free(&b);
    rig_close(&r);
}

BOTH_SERVERS(run_refused_items_fail_alone, .timeout = 120)
{
    /* the remote root is /dav itself: /dav/readonly is not writable */
    topts *t = topts_new(srv);
    char *up = NULL, *disk = make_remote_root(srv, "runref", &up);
    char *url = url_of(srv, "https", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    batch b;
    tfeed f;
    batch_files(&b, &f, up + 5, 40, 2000); /* "runref-PID/fNNN" */
    /* in the middle of the window: a file and a directory the server refuses */
    char ro_file[64], ro_tmp[80], ro_dir[64];
    snprintf(ro_file, sizeof(ro_file), "readonly/f-%ld", (long)getpid());
    snprintf(ro_tmp, sizeof(ro_tmp), "%s.rsl-part", ro_file);
    snprintf(ro_dir, sizeof(ro_dir), "readonly/d-%ld", (long)getpid());
    b.ops[20].path = ro_file;
    b.ops[20].tmp = ro_tmp;
    f.dep[20] = -1;
    b.ops[21] = (rsl_op){.kind = RSL_OP_MKDIR, .path = ro_dir};
    f.dep[21] = -1;
    rsl_feed feed = tfeed_feed(&f);
    cr_assert_eq(ops->run(c, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(f.completed, b.n);
    for (int i = 0; i < b.n; i++) {
        cr_assert_eq(f.dones[i], 1);
        rsl_code rc = b.ops[i].err.code;
        if (i == 20)
            cr_assert(rc == RSL_E_REMOTE_PERMISSION || rc == RSL_E_REMOTE_IO, "%d %s", rc,
                      b.ops[i].err.msg);
        else if (i == 21)
            cr_assert_eq(rc, RSL_E_REMOTE_PERMISSION, "%d %s", rc, b.ops[i].err.msg);
        else
            cr_assert_eq(rc, RSL_OK, "%s: %s", b.path[i], b.ops[i].err.msg);
    }
    cr_assert(strstr(b.ops[21].err.msg, ro_dir) != NULL, "%s", b.ops[21].err.msg);
    b.ops[20].err.code = RSL_E_REMOTE_IO; /* not on disk: skip it */
    char *www = fx(srv, "WWW");
    check_disk(&b, www, 0);
    ops->disconnect(c);
    free(www);
    tfeed_free(&f);
    batch_free(&b);
    rslt_rmrf(disk);
    free(disk);
    free(up);
    free(url);
    topts_free(t);
}

Test(https_nginx, run_http11_keeps_several_connections_busy, .timeout = 120)
{
    /* H1_PORT: the same /dav/ without http2 in its ALPN list */
    rig r;
    rig_open(&r, "NGINX", "runh1", "H1_PORT");
    char d[1024];
    ops->describe(r.c, d, sizeof(d));
    cr_assert(strstr(d, "over HTTP/1.1") != NULL, "%s", d);
    batch b;
    tfeed f;
    batch_files(&b, &f, "h1", 120, 3000);
    rsl_feed feed = tfeed_feed(&f);
    rsl_err err;
    cr_assert_eq(ops->run(r.c, &feed, &err), RSL_OK, "%s", err.msg);
    for (int i = 0; i < b.n; i++)
        cr_assert_eq(b.ops[i].err.code, RSL_OK, "%s: %s", b.path[i], b.ops[i].err.msg);
    unsigned long n = rsl_https_connections(r.c);
    cr_assert(n >= 2 && n <= 9, "%lu connections", n);
    int open_now = conns_to(r.port);
    cr_assert(open_now >= 2 && open_now <= 8, "ss counts %d connections", open_now);
    cr_assert(f.max_inflight > 1 && f.max_inflight <= 8, "max in flight %d", f.max_inflight);
    check_disk(&b, r.disk, 1);
    tfeed_free(&f);
    batch_free(&b);
    rig_close(&r);
}

BOTH_SERVERS(run_stat_and_remove_in_a_window, .timeout = 120)
{
    rig r;
    rig_open(&r, srv, "runstat", "PORT");
    batch b;
    tfeed f;
    batch_files(&b, &f, "s", 50, 100);
    rsl_feed feed = tfeed_feed(&f);
    rsl_err err;
    cr_assert_eq(ops->run(r.c, &feed, &err), RSL_OK, "%s", err.msg);
    /* STAT every file, the directory and a missing name at once */
    int n = b.n + 1;
    rsl_op *st = calloc((size_t)n, sizeof(*st));
    for (int i = 0; i < b.n; i++)
        st[i] = (rsl_op){.kind = RSL_OP_STAT, .path = b.path[i]};
    st[b.n] = (rsl_op){.kind = RSL_OP_STAT, .path = "s/none"};
    tfeed fs;
    tfeed_init(&fs, st, n);
    feed = tfeed_feed(&fs);
    cr_assert_eq(ops->run(r.c, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert(st[0].st.exists && st[0].st.is_dir);
    for (int i = 1; i < b.n; i++) {
        cr_assert_eq(st[i].err.code, RSL_OK, "%s", st[i].err.msg);
        cr_assert(st[i].st.exists && !st[i].st.is_dir);
        cr_assert_eq(st[i].st.size, b.src[i].len);
    }
    cr_assert_eq(st[b.n].err.code, RSL_OK);
    cr_assert(!st[b.n].st.exists);
    /* REMOVE every file, then the directory (after them, as the engine orders) */
    rsl_op *rm = calloc((size_t)b.n, sizeof(*rm));
    for (int i = 1; i < b.n; i++)
        rm[i - 1] = (rsl_op){.kind = RSL_OP_REMOVE, .path = b.path[i]};
    tfeed fr;
    tfeed_init(&fr, rm, b.n - 1);
    feed = tfeed_feed(&fr);
    cr_assert_eq(ops->run(r.c, &feed, &err), RSL_OK, "%s", err.msg);
    for (int i = 0; i < b.n - 1; i++)
        cr_assert_eq(rm[i].err.code, RSL_OK, "%s", rm[i].err.msg);
    rsl_op rmdir = {.kind = RSL_OP_REMOVE, .path = "s", .is_dir = 1};
    tfeed fd;
    tfeed_init(&fd, &rmdir, 1);
    feed = tfeed_feed(&fd);
    cr_assert_eq(ops->run(r.c, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rmdir.err.code, RSL_OK, "%s", rmdir.err.msg);
    char *sd = NULL;
    cr_assert(asprintf(&sd, "%s/s", r.disk) > 0);
    cr_assert(!rslt_exists(sd));
    free(sd);
    free(st);
    free(rm);
    tfeed_free(&fs);
    tfeed_free(&fr);
    tfeed_free(&fd);
    tfeed_free(&f);
    batch_free(&b);
    rig_close(&r);
}

BOTH_SERVERS(run_connection_cut_completes_all_then_converges, .timeout = 180)
{
    char *port = fx(srv, "PORT"), *up = NULL, *disk = make_remote_root(srv, "runcut", &up);
    /* the connection is cut once ~600 KB went from us to the server: with
     * the window of 16 KiB files full (64 in flight) */
    int pport = 0;
    pid_t proxy = start_cutproxy(port, 600000, &pport);
    char url[512];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", pport, up);
    topts *t = topts_new(srv);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    batch b;
    tfeed f;
    batch_files(&b, &f, "cut", 200, 16384);
    rsl_feed feed = tfeed_feed(&f);
    rsl_code rc = ops->run(c, &feed, &err);
    cr_assert_eq(rsl_code_class(rc), RSL_CLASS_SESSION, "run gave %d %s", rc, err.msg);
    cr_assert_eq(rsl_code_handling(rc), RSL_HANDLE_RECONNECT, "run gave %d %s", rc, err.msg);
    /* everything taken completed exactly once; what failed failed with a
     * session code (none recorded as a per-item failure) */
    cr_assert_eq(f.completed, f.taken);
    cr_assert_eq(f.inflight, 0);
    int failed = 0;
    for (int i = 0; i < b.n; i++) {
        cr_assert(f.dones[i] == (f.state[i] == 2), "op %d done %d times", i, f.dones[i]);
        if (f.state[i] == 2 && b.ops[i].err.code != RSL_OK) {
            failed++;
            cr_assert_eq(rsl_code_class(b.ops[i].err.code), RSL_CLASS_SESSION, "%s: %d %s",
                         b.path[i], b.ops[i].err.code, b.ops[i].err.msg);
        }
    }
    /* the window was full when the connection went: (about) 64 operations
     * in flight, all completed with the session code (observed: 64) */
    cr_assert(failed >= 48 && failed <= 64, "%d operations were in flight at the cut", failed);
    cr_assert_eq(f.max_inflight, 64);
    check_disk(&b, disk, 0); /* nothing partial under a final name */
    ops->disconnect(c);
    /* a new connection (the proxy cuts only once) and the same feed again */
    int again = tfeed_requeue(&f, RSL_CLASS_SESSION);
    cr_assert_eq(again, failed);
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    rc = ops->run(c, &feed, &err);
    cr_assert_eq(rc, RSL_OK, "%s", err.msg);
    for (int i = 0; i < b.n; i++)
        cr_assert_eq(b.ops[i].err.code, RSL_OK, "%s: %s", b.path[i], b.ops[i].err.msg);
    check_disk(&b, disk, 1);
    cr_assert_eq(rslt_sh(NULL, NULL, "find '%s' -name '*.rsl-part' | grep -q .", disk), 1);
    ops->disconnect(c);
    kill(proxy, SIGKILL);
    waitpid(proxy, NULL, 0);
    tfeed_free(&f);
    batch_free(&b);
    rslt_rmrf(disk);
    free(disk);
    free(up);
    free(port);
    topts_free(t);
}

/* Writes the first `n` bytes of m as the temp of `rel` on the server's disk,
 * owned like the remote root, with byte `flip_at` changed (or none: -1). */
static void temp_on_disk(const char *disk, const char *rel, const msrc *m, size_t n, long flip_at)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s.rsl-part", disk, rel) > 0);
    FILE *fp = fopen(p, "wb");
    cr_assert(fp != NULL);
    cr_assert_eq(fwrite(m->data, 1, n, fp), n);
    if (flip_at >= 0) {
        fseek(fp, flip_at, SEEK_SET);
        fputc(m->data[flip_at] ^ 0x55, fp);
    }
    fclose(fp);
    cr_assert_eq(
        rslt_sh(NULL, NULL, "chown --reference='%s' '%s' && touch -d '-1 min' '%s'", disk, p, p),
        0);
    free(p);
}

BOTH_SERVERS(run_large_files_chunked_and_resumed, .timeout = 180)
{
    topts *t = topts_new(srv);
    t->cfg.chunk_size = 1u << 20;
    char *up = NULL, *disk = make_remote_root(srv, "runbig", &up), *url = url_of(srv, "https", up);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    int partial = (ops->caps_of(c) & RSL_CAP_RESUME) != 0;
    cr_assert_eq(partial, is_apache(srv));
    /* ops: 5 MiB fresh; 5 MiB with a good 2 MiB temp; 5 MiB with a temp whose
     * middle differs (its tail is right); 6 small files alongside */
    enum { N = 9 };
    size_t big = 5u << 20;
    batch b;
    tfeed f;
    batch_files(&b, &f, "big", N - 1, 1000);
    for (int i = 1; i <= 3; i++) {
        free(b.src[i].data);
        msrc_init(&b.src[i], mrandom(big, (unsigned)(100 + i)), big);
        b.ops[i].size = big;
        b.ops[i].resume = i > 1;
    }
    cr_assert_eq(ops->mkdir(c, "big", &err), RSL_OK, "%s", err.msg);
    temp_on_disk(disk, b.path[2], &b.src[2], 2u << 20, -1);
    temp_on_disk(disk, b.path[3], &b.src[3], 2u << 20, (long)(1u << 19) + 5);
    rsl_feed feed = tfeed_feed(&f);
    cr_assert_eq(ops->run(c, &feed, &err), RSL_OK, "%s", err.msg);
    for (int i = 0; i < b.n; i++)
        cr_assert_eq(b.ops[i].err.code, RSL_OK, "%s: %s", b.path[i], b.ops[i].err.msg);
    check_disk(&b, disk, 1);
    cr_assert_eq(rslt_sh(NULL, NULL, "find '%s' -name '*.rsl-part' | grep -q .", disk), 1);
    /* the fresh one: read once, from 0 */
    cr_assert_eq(b.ops[1].offset, 0u);
    cr_assert_eq(b.src[1].pulled, big);
    if (partial) {
        /* kept what matched; only the rest passed read() */
        cr_assert_eq(b.ops[2].offset, 2u << 20);
        cr_assert_eq(b.src[2].start_at, 2u << 20);
        cr_assert_eq(b.src[2].pulled, big - (2u << 20));
        /* a block in the middle differed: sampled, caught, restarted */
        cr_assert_eq(b.ops[3].offset, 0u, "resumed a temp that differs from the file");
        cr_assert_eq(b.src[3].pulled, big);
        cr_assert(strstr(t->log, "differ from the local file") != NULL, "%s", t->log);
    } else {
        for (int i = 2; i <= 3; i++) {
            cr_assert_eq(b.ops[i].offset, 0u);
            cr_assert_eq(b.src[i].pulled, big);
        }
    }
    ops->disconnect(c);
    tfeed_free(&f);
    batch_free(&b);
    rslt_rmrf(disk);
    free(disk);
    free(up);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(run_413_in_a_window, .timeout = 60)
{
    /* /dav/small/ refuses bodies over 100 KiB */
    topts *t = topts_new(srv);
    t->cfg.chunk_size = 128 * 1024;
    char *url = url_of(srv, "https", "/dav/small"), name[64], tmp[80];
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    snprintf(name, sizeof(name), "w413-%ld", (long)getpid());
    snprintf(tmp, sizeof(tmp), "%s.rsl-part", name);
    msrc m;
    msrc_init(&m, mrandom(300 * 1024, 9), 300 * 1024);
    rsl_op op = {.kind = RSL_OP_PUT, .path = name, .tmp = tmp, .size = m.len, .src = &m.s};
    tfeed f;
    tfeed_init(&f, &op, 1);
    rsl_feed feed = tfeed_feed(&f);
    cr_assert_eq(ops->run(c, &feed, &err), RSL_OK, "%s", err.msg);
    char *www = fx(srv, "WWW"), *d = NULL;
    cr_assert(asprintf(&d, "%s/small/%s", www, name) > 0);
    if (is_apache(srv)) {
        /* partial PUT: the size is learnt and the chunk sent again at once */
        cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
        size_t len = 0;
        char *got = rslt_read(d, &len);
        cr_assert(got && len == m.len && memcmp(got, m.data, len) == 0);
        free(got);
        cr_assert_eq(m.pulled, m.len);
        cr_assert(strstr(t->log, "chunks of 65536 bytes from now on") != NULL, "%s", t->log);
    } else {
        cr_assert_eq(op.err.code, RSL_E_REMOTE_BODY_LIMIT, "%d %s", op.err.code, op.err.msg);
        cr_assert_eq(op.err.native, 413);
        cr_assert(!rslt_exists(d));
    }
    unlink(d);
    ops->disconnect(c);
    tfeed_free(&f);
    free(m.data);
    free(www);
    free(d);
    free(url);
    topts_free(t);
}

static int cancel_after_20(void *ud)
{
    return ((tfeed *)ud)->completed >= 20;
}

BOTH_SERVERS(run_cancelled_takes_nothing_more, .timeout = 60)
{
    rig r;
    rig_open(&r, srv, "runcancel", "PORT");
    batch b;
    tfeed f;
    batch_files(&b, &f, "c", 200, 500);
    rsl_feed feed = tfeed_feed(&f);
    feed.cancelled = cancel_after_20;
    rsl_err err;
    cr_assert_eq(ops->run(r.c, &feed, &err), RSL_OK, "%s", err.msg);
    /* what was taken completed; nothing was taken after the stop */
    cr_assert_eq(f.completed, f.taken);
    cr_assert(f.taken >= 20 && f.taken < b.n, "taken %d of %d", f.taken, b.n);
    for (int i = 0; i < b.n; i++)
        if (f.state[i] == 2)
            cr_assert_eq(b.ops[i].err.code, RSL_OK, "%s", b.ops[i].err.msg);
    check_disk(&b, r.disk, 0);
    tfeed_free(&f);
    batch_free(&b);
    rig_close(&r);
}

/* A source slowed down as bwlimit does it (sleeping in read). */
static ssize_t slow_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    if (n > 200)
        n = 200;
    sleep_ms(100); /* 2,000 bytes/s: below the deadline's 4,096 */
    return ms_read(s, buf, n, err);
}

BOTH_SERVERS(run_bwlimit_sleeps_do_not_count_against_deadlines, .timeout = 60)
{
    /* 12,000 bytes at 2,000 bytes/s take 6 s; timeout 2 s plus 1 s per
     * 4,096 bytes would allow 5 s if the source's sleeps counted */
    topts *t = topts_new(srv);
    t->o.timeout_sec = 2;
    char *up = NULL, *disk = make_remote_root(srv, "runslow", &up), *url = url_of(srv, "https", up);
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    msrc m;
    msrc_init(&m, mrandom(12000, 3), 12000);
    m.s.read = slow_read;
    rsl_op op = {.kind = RSL_OP_PUT,
                 .path = "slow",
                 .tmp = "slow.rsl-part",
                 .size = 12000,
                 .mtime = -1,
                 .src = &m.s};
    tfeed f;
    tfeed_init(&f, &op, 1);
    rsl_feed feed = tfeed_feed(&f);
    cr_assert_eq(ops->run(c, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(op.err.code, RSL_OK, "%d %s", op.err.code, op.err.msg);
    cr_assert_eq(m.pulled, 12000u);
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/slow", disk) > 0);
    cr_assert_eq(rslt_size(p), 12000);
    ops->disconnect(c);
    free(p);
    free(m.data);
    tfeed_free(&f);
    rslt_rmrf(disk);
    free(disk);
    free(up);
    free(url);
    topts_free(t);
}
