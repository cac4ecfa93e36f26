/*
 * test_https_ops.c - mkdir, upload + finish, stat, list, remove, names and the
 * per-item error mappings of the https transport, against real Apache and
 * nginx. Every check that matters is made on the server's disk too.
 */
#define _GNU_SOURCE /* asprintf */
#include "https_test_util.h"

typedef struct env {
    topts *t;
    rsl_conn *c;
    char *disk; /* the remote root on the server's disk */
    char *up;   /* its URL path */
    char *local;
} env;

static const rsl_transport_ops *ops = &rsl_transport_https;

static void env_open(env *e, const char *srv, const char *name)
{
    memset(e, 0, sizeof(*e));
    e->t = topts_new(srv);
    e->disk = make_remote_root(srv, name, &e->up);
    char *url = url_of(srv, "https", e->up);
    rsl_err err;
    cr_assert_eq(t_connect(&e->c, url, e->t, &err), RSL_OK, "%s", err.msg);
    free(url);
    e->local = rslt_tmpdir("https-ops");
}

static void env_close(env *e)
{
    ops->disconnect(e->c);
    rslt_rmrf(e->disk);
    rslt_rmrf(e->local);
    free(e->disk);
    free(e->up);
    free(e->local);
    topts_free(e->t);
}

/* Files written on the server's disk by the test belong to its user. */
static void disk_own(env *e)
{
    cr_assert_eq(rslt_sh(NULL, NULL, "chown -R --reference='%s' '%s'", e->disk, e->disk), 0);
}

static char *pjoin(const char *a, const char *b)
{
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

BOTH_SERVERS(mkdir_nested_cached_exists_conflict, .timeout = 60)
{
    env e;
    env_open(&e, srv, "mkdir");
    rsl_err err;
    cr_assert_eq(ops->mkdir(e.c, "a", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->mkdir(e.c, "a/b", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->mkdir(e.c, "a/b/c d", &err), RSL_OK, "%s", err.msg);
    char *p = pjoin(e.disk, "a/b/c d");
    struct stat sb;
    cr_assert(stat(p, &sb) == 0 && S_ISDIR(sb.st_mode));
    /* cached: removed behind our back, mkdir answers from the cache and
     * sends nothing (the directory is not recreated) */
    cr_assert(rmdir(p) == 0);
    cr_assert_eq(ops->mkdir(e.c, "a/b/c d", &err), RSL_OK, "%s", err.msg);
    cr_assert(stat(p, &sb) != 0, "mkdir was not answered from the cache");
    /* a new connection (empty cache) on an existing directory: OK */
    rsl_conn *c2 = NULL;
    char *url = url_of(srv, "https", e.up);
    cr_assert_eq(t_connect(&c2, url, e.t, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->mkdir(c2, "a/b", &err), RSL_OK, "%s", err.msg);
    /* a file of that name: type conflict */
    char *f = pjoin(e.disk, "a/file");
    rslt_write(f, "x");
    cr_assert_eq(ops->mkdir(c2, "a/file", &err), RSL_E_REMOTE_TYPE_CONFLICT, "%d %s", err.code,
                 err.msg);
    /* missing parent: never created implicitly */
    cr_assert_eq(ops->mkdir(c2, "nope/child", &err), RSL_E_REMOTE_NOT_FOUND, "%d %s", err.code,
                 err.msg);
    char *np = pjoin(e.disk, "nope");
    cr_assert(stat(np, &sb) != 0);
    ops->disconnect(c2);
    free(url);
    free(np);
    free(f);
    free(p);
    env_close(&e);
}

BOTH_SERVERS(readonly_dir_is_permission_denied, .timeout = 60)
{
    topts *t = topts_new(srv);
    char *url = url_of(srv, "https", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char name[64];
    snprintf(name, sizeof(name), "readonly/d-%ld", (long)getpid());
    cr_assert_eq(ops->mkdir(c, name, &err), RSL_E_REMOTE_PERMISSION, "%d %s", err.code, err.msg);
    cr_assert(strstr(err.msg, name) != NULL, "%s", err.msg);
    /* a PUT there: both servers answer 500 (EACCES on the file), a server
     * error, retried later */
    char *dir = rslt_tmpdir("ro"), *f = pjoin(dir, "f");
    rslt_write(f, "hello");
    snprintf(name, sizeof(name), "readonly/f-%ld", (long)getpid());
    rsl_code rc = push_file(ops, c, f, name, &err);
    cr_assert(rc == RSL_E_REMOTE_PERMISSION || rc == RSL_E_REMOTE_IO, "%d %s", rc, err.msg);
    ops->disconnect(c);
    rslt_rmrf(dir);
    free(dir);
    free(f);
    free(url);
    topts_free(t);
}

typedef struct seen {
    char names[16][256];
    rsl_rstat st[16];
    int n;
} seen;

static int collect(void *ud, const char *name, const rsl_rstat *st)
{
    seen *s = ud;
    if (s->n < 16) {
        snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
        s->st[s->n] = *st;
        s->n++;
    }
    return 0;
}

static int find_name(const seen *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return i;
    return -1;
}

BOTH_SERVERS(names_round_trip_upload_list_stat, .timeout = 60)
{
    env e;
    env_open(&e, srv, "names");
    rsl_err err;
    const char *dir = "dir x#%?\xc3\xa9";
    const char *names[] = {"a b.txt",
                           "hash#tag",
                           "50% off",
                           "what?.txt",
                           "caf\xc3\xa9 \xe2\x82\xac",
                           "plus+semi;amp&eq=quote'",
                           "[br]{ce}"};
    size_t nn = sizeof(names) / sizeof(names[0]);
    cr_assert_eq(ops->mkdir(e.c, dir, &err), RSL_OK, "%s", err.msg);
    for (size_t i = 0; i < nn; i++) {
        char *l = pjoin(e.local, names[i]), rel[512];
        char content[64];
        snprintf(content, sizeof(content), "content %zu of %s", i, names[i]);
        rslt_write(l, content);
        snprintf(rel, sizeof(rel), "%s/%s", dir, names[i]);
        cr_assert_eq(push_file(ops, e.c, l, rel, &err), RSL_OK, "%s: %s", names[i], err.msg);
        /* on the server's disk under the exact raw name */
        char *d = pjoin(e.disk, rel);
        cr_assert(files_equal(l, d), "%s differs on disk", rel);
        rsl_rstat st;
        cr_assert_eq(ops->stat(e.c, rel, &st, &err), RSL_OK, "%s", err.msg);
        cr_assert(st.exists && !st.is_dir);
        cr_assert_eq(st.size, strlen(content));
        cr_assert(st.mtime > 1700000000, "mtime %lld", (long long)st.mtime);
        free(d);
        free(l);
    }
    seen s = {0};
    cr_assert_eq(ops->list(e.c, dir, collect, &s, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(s.n, (int)nn, "listed %d", s.n);
    for (size_t i = 0; i < nn; i++) {
        int k = find_name(&s, names[i]);
        cr_assert(k >= 0, "'%s' not listed", names[i]);
        cr_assert(!s.st[k].is_dir);
    }
    /* the root lists the directory with its raw name, as a directory */
    seen r = {0};
    cr_assert_eq(ops->list(e.c, "", collect, &r, &err), RSL_OK, "%s", err.msg);
    int k = find_name(&r, dir);
    cr_assert(k >= 0 && r.st[k].is_dir && r.n == 1, "root listing n=%d", r.n);
    rsl_rstat st;
    cr_assert_eq(ops->stat(e.c, dir, &st, &err), RSL_OK, "%s", err.msg);
    cr_assert(st.exists && st.is_dir);
    cr_assert_eq(ops->stat(e.c, "no such", &st, &err), RSL_OK, "%s", err.msg);
    cr_assert(!st.exists);
    /* no temp file left behind */
    cr_assert_eq(rslt_sh(NULL, NULL, "find '%s' -name '*.rsl-part' | grep -q .", e.disk), 1);
    env_close(&e);
}

BOTH_SERVERS(finish_replaces_checks_size_and_never_clobbers_a_dir, .timeout = 60)
{
    env e;
    env_open(&e, srv, "finish");
    rsl_err err;
    char *l = pjoin(e.local, "f"), *d = pjoin(e.disk, "f");
    rslt_write(l, "version one");
    cr_assert_eq(push_file(ops, e.c, l, "f", &err), RSL_OK, "%s", err.msg);
    cr_assert(files_equal(l, d));
    /* replace an existing final (MOVE with Overwrite: T) */
    rslt_write(l, "version two, longer than the first");
    cr_assert_eq(push_file(ops, e.c, l, "f", &err), RSL_OK, "%s", err.msg);
    cr_assert(files_equal(l, d));
    /* size check */
    tsrc s;
    tsrc_open(&s, l);
    long long sz = rslt_size(l);
    cr_assert_eq(ops->upload(e.c, "g.rsl-part", 0, (uint64_t)sz, &s.s, &err), RSL_OK, "%s",
                 err.msg);
    cr_assert_eq(ops->finish(e.c, "g.rsl-part", "g", (uint64_t)sz + 1, -1, &err),
                 RSL_E_REMOTE_SIZE_MISMATCH, "%d %s", err.code, err.msg);
    tsrc_close(&s);
    /* a directory at the final name is never replaced (Apache's MOVE with
     * Overwrite: T would delete the tree) */
    char *sub = pjoin(e.disk, "adir/keep.txt");
    rslt_write(sub, "precious");
    cr_assert_eq(ops->finish(e.c, "g.rsl-part", "adir", (uint64_t)sz, -1, &err),
                 RSL_E_REMOTE_TYPE_CONFLICT, "%d %s", err.code, err.msg);
    cr_assert(rslt_exists(sub), "the directory tree was deleted");
    /* zero-byte file */
    char *z = pjoin(e.local, "zero"), *zd = pjoin(e.disk, "zero");
    rslt_write(z, "");
    cr_assert_eq(push_file(ops, e.c, z, "zero", &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(rslt_size(zd), 0);
    /* upload into a missing directory: REMOTE_NOT_FOUND, nothing created */
    cr_assert_eq(push_file(ops, e.c, l, "missing/f", &err), RSL_E_REMOTE_NOT_FOUND, "%d %s",
                 err.code, err.msg);
    free(z);
    free(zd);
    free(sub);
    free(l);
    free(d);
    env_close(&e);
}

BOTH_SERVERS(remove_files_and_empty_dirs_only, .timeout = 60)
{
    env e;
    env_open(&e, srv, "remove");
    rsl_err err;
    char *f = pjoin(e.disk, "d/f"), *g = pjoin(e.disk, "d/sub/g"), *dd = pjoin(e.disk, "d");
    rslt_write(f, "1");
    rslt_write(g, "2");
    disk_own(&e);
    cr_assert_eq(ops->remove(e.c, "d/f", 0, &err), RSL_OK, "%s", err.msg);
    cr_assert(!rslt_exists(f));
    cr_assert_eq(ops->remove(e.c, "d/f", 0, &err), RSL_OK, "absent is OK: %s", err.msg);
    /* a non-empty directory is refused, its content kept */
    cr_assert_eq(ops->remove(e.c, "d", 1, &err), RSL_E_REMOTE_DELETE_FAILED, "%d %s", err.code,
                 err.msg);
    cr_assert(rslt_exists(g));
    /* deleting "a file" that is a directory never deletes the tree */
    rsl_code rc = ops->remove(e.c, "d/sub", 0, &err);
    cr_assert_neq(rc, RSL_OK);
    cr_assert(rslt_exists(g));
    cr_assert_eq(ops->remove(e.c, "d/sub/g", 0, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->remove(e.c, "d/sub", 1, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(ops->remove(e.c, "d", 1, &err), RSL_OK, "%s", err.msg);
    cr_assert(!rslt_exists(dd));
    cr_assert_eq(ops->remove(e.c, "d", 1, &err), RSL_OK, "absent dir is OK: %s", err.msg);
    /* mkdir after a remove really creates it again */
    cr_assert_eq(ops->mkdir(e.c, "d", &err), RSL_OK, "%s", err.msg);
    cr_assert(rslt_exists(dd));
    free(f);
    free(g);
    free(dd);
    env_close(&e);
}

BOTH_SERVERS(too_large_413, .timeout = 60)
{
    env e;
    env_open(&e, srv, "large");
    rsl_err err;
    /* /dav/small/ limits request bodies to 100 KiB */
    topts *t = topts_new(srv);
    t->cfg.chunk_size = 128 * 1024;
    rsl_conn *c = NULL;
    char *url = url_of(srv, "https", "/dav/small");
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    char *l = pjoin(e.local, "big"), name[64];
    rslt_write_random(l, 300 * 1024, 9);
    snprintf(name, sizeof(name), "big-%ld", (long)getpid());
    rsl_code rc = push_file(ops, c, l, name, &err);
    /* Apache: a chunk too large (transient: smaller chunks get it across);
     * nginx: the whole file in one PUT is the only way, so it is persistent */
    cr_assert_eq(rc, is_apache(srv) ? RSL_E_REMOTE_TOO_LARGE : RSL_E_REMOTE_BODY_LIMIT, "%d %s", rc,
                 err.msg);
    cr_assert_eq(rsl_code_class(rc), is_apache(srv) ? RSL_CLASS_TRANSIENT : RSL_CLASS_PERSISTENT);
    cr_assert_eq(err.native, 413);
    char *www = fx(srv, "WWW"), *d = NULL;
    cr_assert(asprintf(&d, "%s/small/%s", www, name) > 0);
    if (is_apache(srv)) {
        /* partial PUT: the chunk was halved; the retry (as the engine does
         * it: resume_offset, upload, finish) gets the file across */
        cr_assert(strstr(err.msg, "chunk size lowered to 65536") != NULL, "%s", err.msg);
        cr_assert_eq(push_file(ops, c, l, name, &err), RSL_OK, "%s", err.msg);
        cr_assert(files_equal(l, d));
    } else {
        cr_assert(strstr(err.msg, "does not support partial PUT") != NULL, "%s", err.msg);
        cr_assert(!rslt_exists(d));
    }
    unlink(d);
    ops->disconnect(c);
    free(www);
    free(d);
    free(l);
    free(url);
    topts_free(t);
    env_close(&e);
}

Test(https_nginx, busy_503_retry_after, .timeout = 60)
{
    topts *t = topts_new("NGINX");
    char *url = url_of("NGINX", "https", "/dav");
    rsl_conn *c = NULL;
    rsl_err err;
    cr_assert_eq(t_connect(&c, url, t, &err), RSL_OK, "%s", err.msg);
    rsl_rstat st;
    cr_assert_eq(ops->stat(c, "busy/x", &st, &err), RSL_E_REMOTE_BUSY, "%d %s", err.code, err.msg);
    cr_assert_eq(err.native, 7);
    cr_assert(strstr(err.msg, "Retry-After 7 s") != NULL, "%s", err.msg);
    cr_assert_eq(rsl_code_class(err.code), RSL_CLASS_TRANSIENT);
    ops->disconnect(c);
    free(url);
    topts_free(t);
}

BOTH_SERVERS(many_small_files_one_connection, .timeout = 120)
{
    env e;
    env_open(&e, srv, "many");
    rsl_err err;
    cr_assert_eq(ops->mkdir(e.c, "m", &err), RSL_OK, "%s", err.msg);
    for (int i = 0; i < 200; i++) {
        char name[64], rel[80], content[64];
        snprintf(name, sizeof(name), "f%03d", i);
        snprintf(rel, sizeof(rel), "m/%s", name);
        snprintf(content, sizeof(content), "file %d\n", i);
        char *l = pjoin(e.local, name);
        rslt_write(l, content);
        cr_assert_eq(push_file(ops, e.c, l, rel, &err), RSL_OK, "%s: %s", rel, err.msg);
        free(l);
    }
    cr_assert_eq(rslt_sh(NULL, NULL, "diff -r '%s' '%s/m' >/dev/null", e.local, e.disk), 0);
    char d[1024];
    ops->describe(e.c, d, sizeof(d));
    cr_assert(strstr(d, "HTTP/2") != NULL, "%s", d);
    env_close(&e);
}
