/*
 * fake_transport.c - the in-memory remote for engine tests. See
 * fake_transport.h.
 *
 * The test side (queries, fault setters) is fake_control.c, the pipelined
 * run() fake_pipeline.c.
 *
 * One global remote under one mutex. Nodes are kept in a flat array keyed by
 * their path relative to the root ("" is the root); tests hold a few hundred
 * at most, so lookups are linear.
 */
#define _GNU_SOURCE
#include "fake_transport.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "transports/transport.h"
#include "transports/xfer.h"

#include "fake_internal.h"

struct rslt_fake_g rslt_fake_g = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The call the current thread is in (its index in g.calls). */
__thread size_t rslt_fake_tl_call;
/* read/hash and lying capabilities (under g.mu; cleared by setup) */
static struct {
    char hash_alg[16]; /* "" : no digest offered */
    int hash_lies;
    rslt_fake_resume resume;
    int ignore_mtime;
} lie;

/* ---- the tree (callers hold g.mu) ---- */

node *fk_find(const char *rel)
{
    for (size_t i = 0; i < g.n_nodes; i++)
        if (strcmp(g.nodes[i].rel, rel) == 0)
            return &g.nodes[i];
    return NULL;
}

static node *add(const char *rel, int is_dir)
{
    node *n = realloc(g.nodes, (g.n_nodes + 1) * sizeof(*n));
    if (n == NULL)
        abort();
    g.nodes = n;
    n = &g.nodes[g.n_nodes++];
    memset(n, 0, sizeof(*n));
    if ((n->rel = strdup(rel)) == NULL)
        abort();
    n->is_dir = is_dir;
    n->mtime = (int64_t)time(NULL);
    return n;
}

static void drop(node *n)
{
    free(n->rel);
    free(n->data);
    *n = g.nodes[--g.n_nodes];
}

/* The parent directory of rel exists. */
int fk_parent_ok(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    if (slash == NULL)
        return 1; /* the root */
    char p[4096];
    snprintf(p, sizeof(p), "%.*s", (int)(slash - rel), rel);
    node *n = fk_find(p);
    return n && n->is_dir;
}

static int has_children(const char *rel)
{
    size_t l = strlen(rel);
    for (size_t i = 0; i < g.n_nodes; i++)
        if (strncmp(g.nodes[i].rel, rel, l) == 0 && g.nodes[i].rel[l] == '/')
            return 1;
    return 0;
}

void fk_set_len(node *n, size_t len)
{
    if (len > n->cap) {
        size_t cap = n->cap ? n->cap : CHUNK;
        while (cap < len)
            cap *= 2;
        unsigned char *d = realloc(n->data, cap);
        if (d == NULL)
            abort();
        n->data = d;
        n->cap = cap;
    }
    if (len > n->len)
        memset(n->data + n->len, 0, len - n->len);
    n->len = len;
}

static void append(node *n, const void *buf, size_t len)
{
    if (len == 0)
        return;
    size_t at = n->len;
    fk_set_len(n, at + len);
    memcpy(n->data + at, buf, len);
}

/* ---- the call log and fault rules (callers hold g.mu) ---- */

static int for_item(const char *rule_rel, const char *rel, const char *suffix)
{
    size_t l = strlen(rule_rel);
    if (rel == NULL || strncmp(rel, rule_rel, l) != 0)
        return 0;
    return rel[l] == '\0' || (suffix[0] && strcmp(rel + l, suffix) == 0);
}

/* Logs a call and returns the code it must fail with (RSL_OK: none). */
static rsl_code log_call(rslt_fake_op op, rsl_conn *c, const char *rel, const char *rel2)
{
    call *n = realloc(g.calls, (g.n_calls + 1) * sizeof(*n));
    if (n == NULL)
        abort();
    g.calls = n;
    n = &g.calls[g.n_calls++];
    memset(n, 0, sizeof(*n));
    n->op = op;
    n->rel = rel ? strdup(rel) : NULL;
    n->rel2 = rel2 ? strdup(rel2) : NULL;
    n->conn = c ? c->id : 0;
    n->start_seq = ++g.seq;
    tl_call = g.n_calls - 1;
    int nth = ++g.counts[op];
    if (c && c->dead)
        return RSL_E_CONNECTION_LOST;
    const char *sfx = c ? c->suffix : "";
    for (size_t i = 0; i < g.n_rules; i++) {
        const rule *r = &g.rules[i];
        if (r->op != op)
            continue;
        if (r->nth < 0 || (r->nth > 0 && r->nth == nth) ||
            (r->nth == 0 && (for_item(r->rel, rel, sfx) || for_item(r->rel, rel2, sfx))))
            return r->code;
    }
    return RSL_OK;
}

static rsl_code injected(rsl_err *err, rsl_code code, rslt_fake_op op, const char *rel)
{
    return rsl_err_set(err, code, 0, "fake: injected %s on op %d for '%s'", rsl_code_name(code),
                       (int)op, rel ? rel : "");
}

/* Runs the hook, then logs the call under the lock; returns with g.mu held
 * and the injected code (RSL_OK: go on). */
rsl_code fk_enter(rslt_fake_op op, rsl_conn *c, const char *rel, const char *rel2, rsl_err *err)
{
    if (c != NULL && op != RSLT_FAKE_CONNECT)
        rslt_fake_record_early(c);
    pthread_mutex_lock(&g.mu);
    void (*hook)(void *, rslt_fake_op, const char *) = g.hook;
    void *ud = g.hook_ud;
    pthread_mutex_unlock(&g.mu);
    if (hook)
        hook(ud, op, rel ? rel : "");
    pthread_mutex_lock(&g.mu);
    rsl_code rc = log_call(op, c, rel, rel2);
    if (rc != RSL_OK && err)
        injected(err, rc, op, rel);
    return rc;
}

/* The current call succeeded (callers hold g.mu). */
void fk_ended(rsl_code rc)
{
    if (rc == RSL_OK && tl_call < g.n_calls)
        g.calls[tl_call].end_seq = ++g.seq;
}

rsl_code fk_leave(rsl_code rc)
{
    fk_ended(rc);
    pthread_mutex_unlock(&g.mu);
    return rc;
}

/* ---- the transport ---- */

/* What the engine offers to stat early (rsl_remote_opts.early_stat), asked
 * once per connection where a transport would send its first requests (its
 * first op: the engine may still be planning while a fake connect is long
 * over), for rslt_fake_early(). */
void rslt_fake_record_early(rsl_conn *c)
{
    if (c->asked_early)
        return;
    c->asked_early = 1;
    const rsl_remote_opts *opts = c->opts;
    const char *const *paths = NULL;
    size_t n = opts && opts->early_stat ? opts->early_stat(opts->ud, &paths) : 0;
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(paths[i]) + 1;
    char *t = calloc(1, len);
    if (t == NULL)
        abort();
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(t + at, len - at, "%s\n", paths[i]);
    pthread_mutex_lock(&g.mu);
    free(g.early);
    g.early = t;
    pthread_mutex_unlock(&g.mu);
}

static rsl_code f_connect(rsl_conn **out, const rsl_endpoint *ep, const rsl_remote_opts *opts,
                          rsl_err *err)
{
    *out = NULL;
    /* a fact learnt once per server, as https learns partial-PUT support */
    char fact[16];
    if (opts && opts->cache_get && !opts->cache_get(opts->ud, "fake:probed", fact, sizeof(fact))) {
        __atomic_add_fetch(&g.probes, 1, __ATOMIC_RELAXED);
        opts->cache_set(opts->ud, "fake:probed", "yes");
    }
    rsl_code rc = fk_enter(RSLT_FAKE_CONNECT, NULL, "", NULL, err);
    if (rc == RSL_OK && g.connect_fails != 0) {
        if (g.connect_fails > 0)
            g.connect_fails--;
        rc = injected(err, g.connect_code, RSLT_FAKE_CONNECT, "");
    }
    if (rc != RSL_OK)
        return fk_leave(rc);
    if (strcmp(ep->path, RSLT_FAKE_ROOT) != 0)
        return fk_leave(rsl_err_set(err, RSL_E_REMOTE_ROOT_MISSING, 0,
                                    "fake: the root is %s, not '%s'", RSLT_FAKE_ROOT, ep->path));
    rsl_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->id = ++g.next_conn;
    snprintf(c->suffix, sizeof(c->suffix), "%s",
             opts && opts->temp_suffix ? opts->temp_suffix : "");
    c->opts = opts;
    g.open_conns++;
    *out = c;
    return fk_leave(RSL_OK);
}

static void f_disconnect(rsl_conn *c)
{
    if (c == NULL)
        return;
    fk_enter(RSLT_FAKE_DISCONNECT, c, "", NULL, NULL);
    g.open_conns--;
    fk_leave(RSL_OK);
    free(c);
}

unsigned f_caps_of(rsl_conn *c)
{
    fk_enter(RSLT_FAKE_CAPS_OF, c, "", NULL, NULL);
    unsigned caps = g.caps;
    fk_leave(RSL_OK);
    return caps;
}

static long f_link_rtt_us(rsl_conn *c)
{
    (void)c;
    pthread_mutex_lock(&g.mu);
    g.rtt_calls++;
    long us = g.rtt_us;
    pthread_mutex_unlock(&g.mu);
    return us;
}

static void f_describe(rsl_conn *c, char *buf, size_t n)
{
    fk_enter(RSLT_FAKE_DESCRIBE, c, "", NULL, NULL);
    snprintf(buf, n, "fake: in-memory remote %s, connection %d, caps 0x%x", RSLT_FAKE_ROOT, c->id,
             g.caps);
    fk_leave(RSL_OK);
}

rsl_code f_stat(rsl_conn *c, const char *rel, rsl_rstat *st, rsl_err *err)
{
    memset(st, 0, sizeof(*st));
    st->mtime = -1;
    rsl_code rc = fk_enter(RSLT_FAKE_STAT, c, rel, NULL, err);
    node *n = rc == RSL_OK ? fk_find(rel) : NULL;
    if (n) {
        st->exists = 1;
        st->is_dir = n->is_dir;
        st->size = n->len;
        st->mtime = n->mtime;
    }
    return fk_leave(rc);
}

rsl_code f_mkdir(rsl_conn *c, const char *rel, rsl_err *err)
{
    rsl_code rc = fk_enter(RSLT_FAKE_MKDIR, c, rel, NULL, err);
    if (rc != RSL_OK)
        return fk_leave(rc);
    node *n = fk_find(rel);
    if (n && n->is_dir)
        return fk_leave(RSL_OK);
    if (n)
        return fk_leave(rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, 0,
                                    "fake: mkdir '%s': a file of that name exists", rel));
    if (!fk_parent_ok(rel))
        return fk_leave(
            rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 0, "fake: mkdir '%s': no parent", rel));
    add(rel, 1);
    return fk_leave(RSL_OK);
}

rsl_code f_resume_offset(rsl_conn *c, const char *tmp_rel, uint64_t total, rsl_source *src,
                         uint64_t *have, rsl_err *err)
{
    (void)src;
    *have = 0;
    rsl_code rc = fk_enter(RSLT_FAKE_RESUME_OFFSET, c, tmp_rel, NULL, err);
    node *n = rc == RSL_OK ? fk_find(tmp_rel) : NULL;
    if (n && !n->is_dir && n->len <= total && (g.caps & RSL_CAP_RESUME) &&
        lie.resume != RSLT_FAKE_RESUME_FORGETS)
        *have = n->len;
    return fk_leave(rc);
}

/* The temp file an upload writes to, created or cut to `offset` bytes. */
rsl_code fk_open_temp(const char *rel, uint64_t offset, rsl_err *err)
{
    node *n = fk_find(rel);
    if (n && n->is_dir)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, 0, "fake: '%s' is a directory", rel);
    if (n == NULL && !fk_parent_ok(rel))
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 0, "fake: upload '%s': no parent", rel);
    if (offset > 0 && (n == NULL || n->len < offset))
        return rsl_err_set(err, RSL_E_REMOTE_IO, 0,
                           "fake: upload '%s' at %llu: the temp file has only %llu bytes", rel,
                           (unsigned long long)offset, (unsigned long long)(n ? n->len : 0));
    if (n == NULL)
        n = add(rel, 0);
    fk_set_len(n, (size_t)offset);
    if (offset > 0 && lie.resume == RSLT_FAKE_RESUME_RESTARTS)
        fk_set_len(n, 0);
    if (offset > 0 && lie.resume == RSLT_FAKE_RESUME_ZEROFILLS)
        memset(n->data, 0, n->len);
    n->mtime = (int64_t)time(NULL);
    return RSL_OK;
}

rsl_code fk_range_temp(const char *rel, rsl_err *err)
{
    node *n = fk_find(rel);
    if (n && n->is_dir)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, 0, "fake: '%s' is a directory", rel);
    if (n == NULL && !fk_parent_ok(rel))
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 0, "fake: write '%s': no parent", rel);
    if (n == NULL)
        n = add(rel, 0);
    n->mtime = (int64_t)time(NULL);
    return RSL_OK;
}

rsl_code fk_store(rsl_conn *c, const char *rel, const unsigned char *buf, size_t got, rsl_err *err)
{
    return fk_store_at(c, rel, UINT64_MAX, buf, got, err);
}

rsl_code fk_store_at(rsl_conn *c, const char *rel, uint64_t off, const unsigned char *buf,
                     size_t got, rsl_err *err)
{
    size_t keep = got;
    int cut = 0;
    if (g.cut_times != 0 && g.cut_bytes > 0 && c->carried + got > g.cut_bytes) {
        keep = (size_t)(g.cut_bytes - c->carried);
        cut = 1;
    }
    node *n = fk_find(rel);
    if (n == NULL) /* removed by another connection meanwhile */
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 0, "fake: '%s' vanished", rel);
    if (off == UINT64_MAX) {
        append(n, buf, keep);
    } else if (keep > 0) {
        if (off + keep > n->len)
            fk_set_len(n, (size_t)(off + keep));
        memcpy(n->data + off, buf, keep);
    }
    c->carried += keep;
    if (!cut)
        return RSL_OK;
    c->dead = 1;
    if (g.cut_times > 0)
        g.cut_times--;
    return rsl_err_set(err, RSL_E_CONNECTION_LOST, 0, "fake: connection %d cut after %llu bytes",
                       c->id, (unsigned long long)c->carried);
}

static rsl_code f_upload(rsl_conn *c, const char *tmp_rel, uint64_t offset, uint64_t total,
                         rsl_source *src, rsl_err *err)
{
    rsl_code rc = fk_enter(RSLT_FAKE_UPLOAD, c, tmp_rel, NULL, err);
    g.calls[tl_call].offset = offset;
    g.calls[tl_call].total = total;
    if (rc != RSL_OK || (rc = fk_open_temp(tmp_rel, offset, err)) != RSL_OK)
        return fk_leave(rc);
    pthread_mutex_unlock(&g.mu);
    unsigned char *buf = malloc(CHUNK);
    if (buf == NULL)
        abort();
    for (uint64_t pos = offset; pos < total && rc == RSL_OK;) {
        size_t want = total - pos < CHUNK ? (size_t)(total - pos) : CHUNK;
        ssize_t got = src->read(src, buf, want, err);
        if (got < 0) {
            rc = err->code;
            break;
        }
        if (got == 0)
            break; /* as file://: finish finds the size wrong */
        pthread_mutex_lock(&g.mu);
        rc = fk_store(c, tmp_rel, buf, (size_t)got, err);
        pthread_mutex_unlock(&g.mu);
        pos += (uint64_t)got;
    }
    free(buf);
    pthread_mutex_lock(&g.mu);
    fk_ended(rc);
    pthread_mutex_unlock(&g.mu);
    return rc;
}

rsl_code f_finish(rsl_conn *c, const char *tmp_rel, const char *final_rel, uint64_t size,
                  int64_t mtime, rsl_err *err)
{
    rsl_code rc = fk_enter(RSLT_FAKE_FINISH, c, tmp_rel, final_rel, err);
    if (rc != RSL_OK)
        return fk_leave(rc);
    node *t = fk_find(tmp_rel);
    if (t == NULL || t->is_dir)
        return fk_leave(rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 0, "fake: no temp '%s'", tmp_rel));
    if (t->len != size)
        return fk_leave(rsl_err_set(err, RSL_E_REMOTE_SIZE_MISMATCH, 0,
                                    "fake: '%s' has %zu bytes, expected %llu", tmp_rel, t->len,
                                    (unsigned long long)size));
    node *f = fk_find(final_rel);
    if (f && f->is_dir)
        return fk_leave(rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, 0,
                                    "fake: rename to '%s': a directory exists", final_rel));
    if (f)
        drop(f);
    t = fk_find(tmp_rel); /* drop moved the array */
    char *name = strdup(final_rel);
    if (name == NULL)
        abort();
    free(t->rel);
    t->rel = name;
    if (mtime >= 0 && (g.caps & RSL_CAP_SET_MTIME) && !lie.ignore_mtime)
        t->mtime = mtime;
    return fk_leave(RSL_OK);
}

rsl_code f_remove(rsl_conn *c, const char *rel, int is_dir, rsl_err *err)
{
    rsl_code rc = fk_enter(RSLT_FAKE_REMOVE, c, rel, NULL, err);
    if (rc != RSL_OK)
        return fk_leave(rc);
    node *n = fk_find(rel);
    if (n == NULL)
        return fk_leave(RSL_OK);
    if (n->is_dir != is_dir || (is_dir && has_children(rel)))
        return fk_leave(rsl_err_set(err, RSL_E_REMOTE_DELETE_FAILED, 0,
                                    "fake: cannot delete '%s' (%s)", rel,
                                    n->is_dir != is_dir ? "other type" : "not empty"));
    drop(n);
    return fk_leave(RSL_OK);
}

static rsl_code f_list(rsl_conn *c, const char *rel, rsl_list_cb cb, void *ud, rsl_err *err)
{
    rsl_code rc = fk_enter(RSLT_FAKE_LIST, c, rel, NULL, err);
    node *d = rc == RSL_OK ? fk_find(rel) : NULL;
    if (rc == RSL_OK && (d == NULL || !d->is_dir))
        rc = rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 0, "fake: list '%s': no directory", rel);
    /* a snapshot, so cb runs without the lock */
    size_t n = 0, l = strlen(rel);
    char **names = calloc(g.n_nodes + 1, sizeof(*names));
    rsl_rstat *sts = calloc(g.n_nodes + 1, sizeof(*sts));
    for (size_t i = 0; rc == RSL_OK && i < g.n_nodes; i++) {
        const char *p = g.nodes[i].rel;
        const char *name = l == 0 ? p : (strncmp(p, rel, l) == 0 && p[l] == '/' ? p + l + 1 : NULL);
        if (name == NULL || name[0] == '\0' || strchr(name, '/'))
            continue;
        names[n] = strdup(name);
        sts[n] = (rsl_rstat){.exists = 1,
                             .is_dir = g.nodes[i].is_dir,
                             .size = g.nodes[i].len,
                             .mtime = g.nodes[i].mtime};
        n++;
    }
    fk_leave(RSL_OK);
    int stop = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == RSL_OK && !stop)
            stop = cb(ud, names[i], &sts[i]) != 0; /* stopped early: still RSL_OK */
        free(names[i]);
    }
    free(names);
    free(sts);
    return rc;
}

/* A copy of file rel's bytes (caller frees), or NULL with err set. Holds g.mu. */
static unsigned char *snapshot(const char *rel, size_t *len, rsl_err *err)
{
    node *n = fk_find(rel);
    if (n == NULL)
        return rsl_err_set(err, RSL_E_REMOTE_NOT_FOUND, 0, "fake: no '%s'", rel), NULL;
    if (n->is_dir)
        return rsl_err_set(err, RSL_E_REMOTE_TYPE_CONFLICT, 0, "fake: '%s' is a directory", rel),
               NULL;
    unsigned char *d = malloc(n->len + 1);
    if (d == NULL)
        abort();
    if (n->len)
        memcpy(d, n->data, n->len);
    *len = n->len;
    return d;
}

static rsl_code f_read(rsl_conn *c, const char *rel, rsl_read_cb cb, void *ud, rsl_err *err)
{
    rsl_code rc = fk_enter(RSLT_FAKE_READ, c, rel, NULL, err);
    size_t len = 0;
    unsigned char *d = rc == RSL_OK ? snapshot(rel, &len, err) : NULL;
    if (rc == RSL_OK && d == NULL)
        rc = err->code;
    fk_leave(RSL_OK);
    for (size_t at = 0; rc == RSL_OK && at < len; at += CHUNK)
        if (cb(ud, d + at, len - at < CHUNK ? len - at : CHUNK) != 0)
            break;
    free(d);
    return rc;
}

static rsl_code f_hash(rsl_conn *c, const char *rel, const char *want, rsl_rhash *out, rsl_err *err)
{
    memset(out, 0, sizeof(*out));
    rsl_code rc = fk_enter(RSLT_FAKE_HASH, c, rel, NULL, err);
    if (rc != RSL_OK)
        return fk_leave(rc);
    if (lie.hash_alg[0] == '\0' || (want && strcmp(want, lie.hash_alg) != 0))
        return fk_leave(rsl_err_set(err, RSL_E_CHECKSUM_UNAVAILABLE, 0,
                                    "fake: no %s digest of '%s'", want ? want : "", rel));
    size_t len = 0;
    unsigned char *d = snapshot(rel, &len, err), md[EVP_MAX_MD_SIZE];
    if (d == NULL)
        return fk_leave(err->code);
    if (lie.hash_lies && len > 0)
        d[0] ^= 0xff;
    unsigned mdlen = 0;
    if (EVP_Digest(d, len, md, &mdlen, EVP_get_digestbyname(lie.hash_alg), NULL) != 1)
        abort();
    free(d);
    snprintf(out->alg, sizeof(out->alg), "%s", lie.hash_alg);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(out->hex + 2 * i, 3, "%02x", md[i]);
    return fk_leave(RSL_OK);
}

static rsl_transport_ops fake_ops = {
    /* .caps: rslt_fake_set_static_caps */
    .version = RSL_TRANSPORT_VERSION,
    .name = "fake",
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME,
    .connect = f_connect,
    .disconnect = f_disconnect,
    .caps_of = f_caps_of,
    .link_rtt_us = f_link_rtt_us,
    .describe = f_describe,
    .stat = f_stat,
    .mkdir = f_mkdir,
    .resume_offset = f_resume_offset,
    .upload = f_upload,
    .finish = f_finish,
    .remove = f_remove,
    .list = f_list,
    .read = f_read,
    .hash = f_hash,
    .write_range = f_write_range,
};

static rsl_transport_ops fake_ops_pipelined = {
    .version = RSL_TRANSPORT_VERSION,
    .name = "fake",
    .caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME,
    .connect = f_connect,
    .disconnect = f_disconnect,
    .caps_of = f_caps_of,
    .link_rtt_us = f_link_rtt_us,
    .describe = f_describe,
    .stat = f_stat,
    .mkdir = f_mkdir,
    .resume_offset = f_resume_offset,
    .upload = f_upload,
    .finish = f_finish,
    .remove = f_remove,
    .list = f_list,
    .read = f_read,
    .hash = f_hash,
    .run = f_run,
    .write_range = f_write_range,
};

static const rsl_scheme fake_scheme = {"fake", &fake_ops, 0, RSL_SCHEME_LOCAL};
static const rsl_scheme fake_scheme_pipelined = {"fake", &fake_ops_pipelined, 0, RSL_SCHEME_LOCAL};

/* ---- test side ---- */

static void clear_faults_locked(void)
{
    for (size_t i = 0; i < g.n_rules; i++)
        free(g.rules[i].rel);
    g.n_rules = 0;
    g.connect_fails = 0;
    g.cut_times = 0;
    g.cut_bytes = 0;
}

static void clear_counts_locked(void)
{
    for (size_t i = 0; i < g.n_calls; i++) {
        free(g.calls[i].rel);
        free(g.calls[i].rel2);
    }
    free(g.calls);
    g.calls = NULL;
    g.n_calls = 0;
    memset(g.counts, 0, sizeof(g.counts));
    g.max_in_flight = 0;
    g.out_of_order = 0;
    free(g.early);
    g.early = NULL;
}

void rslt_fake_clear_faults(void)
{
    pthread_mutex_lock(&g.mu);
    clear_faults_locked();
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_clear_counts(void)
{
    pthread_mutex_lock(&g.mu);
    clear_counts_locked();
    pthread_mutex_unlock(&g.mu);
}

static void free_all(void)
{
    for (size_t i = 0; i < g.n_nodes; i++) {
        free(g.nodes[i].rel);
        free(g.nodes[i].data);
    }
    free(g.nodes);
    g.nodes = NULL;
    g.n_nodes = 0;
    clear_counts_locked();
    clear_faults_locked();
}

#define FAKE_STATIC_CAPS (RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME)

void rslt_fake_set_static_caps(unsigned caps)
{
    fake_ops.caps = caps;
    fake_ops_pipelined.caps = caps;
}

void rslt_fake_setup(void)
{
    rslt_fake_set_static_caps(FAKE_STATIC_CAPS);
    pthread_mutex_lock(&g.mu);
    free_all();
    g.caps = RSL_CAP_RESUME | RSL_CAP_ATOMIC_RENAME | RSL_CAP_SET_MTIME;
    g.rtt_us = -1;
    g.rtt_calls = 0;
    g.next_conn = 0;
    g.open_conns = 0;
    g.probes = 0;
    free(g.early);
    g.early = NULL;
    g.seq = 0;
    g.max_in_flight = 0;
    g.out_of_order = 0;
    g.hold = 0;
    g.hold_reached = 0;
    if (g.live && g.window > 0) /* back to the serial table */
        rsl_scheme_unregister("fake");
    if (g.window > 0)
        g.live = 0;
    g.window = 0;
    memset(&lie, 0, sizeof(lie));
    add("", 1);
    if (!g.live && rsl_scheme_register(&fake_scheme) != 0) {
        fprintf(stderr, "fake transport: cannot register the \"fake\" scheme\n");
        abort();
    }
    g.live = 1;
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_teardown(void)
{
    pthread_mutex_lock(&g.mu);
    if (g.live)
        rsl_scheme_unregister("fake");
    g.live = 0;
    free_all();
    g.hook = NULL;
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_mkdir(const char *rel)
{
    pthread_mutex_lock(&g.mu);
    if (fk_find(rel) == NULL)
        add(rel, 1);
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_put(const char *rel, const void *data, size_t len)
{
    pthread_mutex_lock(&g.mu);
    node *n = fk_find(rel);
    if (n == NULL)
        n = add(rel, 0);
    fk_set_len(n, 0);
    append(n, data, len);
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_set_hash(const char *alg)
{
    pthread_mutex_lock(&g.mu);
    snprintf(lie.hash_alg, sizeof(lie.hash_alg), "%s", alg ? alg : "");
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_hash_lies(int on)
{
    pthread_mutex_lock(&g.mu);
    lie.hash_lies = on;
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_resume_fault(rslt_fake_resume f)
{
    pthread_mutex_lock(&g.mu);
    lie.resume = f;
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_ignore_mtime(int on)
{
    pthread_mutex_lock(&g.mu);
    lie.ignore_mtime = on;
    pthread_mutex_unlock(&g.mu);
}

void rslt_fake_pipeline(int window)
{
    pthread_mutex_lock(&g.mu);
    if (g.live)
        rsl_scheme_unregister("fake");
    g.window = window;
    if (rsl_scheme_register(window > 0 ? &fake_scheme_pipelined : &fake_scheme) != 0) {
        fprintf(stderr, "fake transport: cannot register the \"fake\" scheme\n");
        abort();
    }
    g.live = 1;
    pthread_mutex_unlock(&g.mu);
}
