/* The sftp transport over the scripted server of tests/sftp_client
 * (script_srv.h), for what OpenSSH never does: a server that cannot write
 * at an offset (the fact learnt, remembered through the engine's cache,
 * resume dropped for the next connections, forgotten when old), the
 * check-file and md5-hash extensions (hash()), and posix-rename listed but
 * refused (the probe's answer remembered, and forgotten when a rename
 * contradicts it). The connection is built with rsl_sftp_conn_adopt over the
 * scripted carrier; everything after that is the transport's own code. */
#include "tests/sftp_client/script_srv.h"

#include <openssl/evp.h>
#include <time.h>

#include "transports/sftp.h"
#include "transports/sftp_conn.h"
#include "transports/transport.h"
#include "transports/xfer.h"

#define SIZE (3u << 20)
#define KEPT (1u << 20)

static unsigned char data[SIZE];

/* ---- the engine's fact cache, in memory ---- */

typedef struct cache {
    char key[8][200], val[8][100];
    int n, sets;
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
    if (i == c->n)
        c->n++;
    snprintf(c->key[i], sizeof(c->key[i]), "%s", key);
    snprintf(c->val[i], sizeof(c->val[i]), "%s", val);
    c->sets++;
}

static rsl_remote_opts opts_with(cache *c)
{
    rsl_remote_opts o = {.timeout_sec = 5, .cache_get = c_get, .cache_set = c_set, .ud = c};
    return o;
}

static rsl_conn *adopt(ssrv *v, const rsl_remote_opts *o)
{
    rsl_sftp_client_cfg cfg = {
        .root = "/r", .host = "script", .timeout_sec = 5, .max_write = 32768};
    rsl_sftp_client *s = NULL;
    rsl_err err = {0};
    cr_assert_eq(rsl_sftp_client_open(&s, &v->base, &cfg, &err), RSL_OK, "%s", err.msg);
    rsl_endpoint ep;
    cr_assert_eq(rsl_endpoint_parse(&ep, "sftp://u@script.example:2222/r", &err), RSL_OK);
    rsl_conn *c = NULL;
    rsl_code rc = rsl_sftp_conn_adopt(&c, s, &ep, o, &err);
    rsl_endpoint_free(&ep);
    cr_assert_eq(rc, RSL_OK, "%s: %s", rsl_code_name(rc), err.msg);
    return c;
}

static const rsl_transport_ops *ops(void)
{
    return rsl_transport_find("sftp");
}

/* ---- a source over data ---- */

typedef struct src {
    rsl_source s;
    size_t pos;
} src;

static ssize_t m_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    src *m = s->ud;
    size_t k = SIZE - m->pos < n ? SIZE - m->pos : n;
    memcpy(buf, data + m->pos, k);
    m->pos += k;
    return (ssize_t)k;
}

static ssize_t m_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)s;
    (void)err;
    if (off >= SIZE)
        return 0;
    size_t k = SIZE - off < n ? SIZE - (size_t)off : n;
    memcpy(buf, data + off, k);
    return (ssize_t)k;
}

static rsl_code m_start(rsl_source *s, uint64_t off, rsl_err *err)
{
    (void)err;
    ((src *)s->ud)->pos = (size_t)off;
    return RSL_OK;
}

static void src_init(src *m)
{
    *m = (src){.s = {.read = m_read, .pread = m_pread, .start = m_start}};
    m->s.ud = m;
}

static void fill(void)
{
    for (size_t i = 0; i < SIZE; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 11);
}

static void check_whole(ssrv *v)
{
    sfile *f = ssrv_find(v, "/r/f");
    cr_assert_not_null(f, "%s", v->log);
    cr_assert_eq(f->len, SIZE);
    cr_assert(memcmp(f->data, data, SIZE) == 0, "content differs");
}

static void clear_log(ssrv *v)
{
    v->loglen = 0;
    v->log[0] = '\0';
}

/* ---- writing at an offset ---- */

Test(sftp_script, classic_resume_on_a_server_that_cannot_seek)
{
    fill();
    ssrv *v = ssrv_new();
    v->posix = 1;
    v->noseek = 1;
    ssrv_put(v, "/r/f.part", data, KEPT, 0);
    cache k = {0};
    rsl_remote_opts o = opts_with(&k);
    rsl_conn *c = adopt(v, &o);
    cr_assert(ops()->caps_of(c) & RSL_CAP_RESUME, "nothing known yet");
    src m;
    src_init(&m);
    uint64_t have = 0;
    rsl_err err = {0};
    cr_assert_eq(ops()->resume_offset(c, "f.part", SIZE, &m.s, &have, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(have, KEPT, "the tail matches: it would be kept");
    m.pos = (size_t)have; /* as the engine positions the source */
    rsl_code rc = ops()->upload(c, "f.part", have, SIZE, &m.s, &err);
    cr_assert_eq(rc, RSL_OK, "%s: %s\n%s", rsl_code_name(rc), err.msg, v->log);
    cr_assert(strstr(v->log, "WRITE 1048576+32768 refused\n"), "%s", v->log);
    cr_assert(strstr(v->log, "OPEN /r/f.part trunc write\n"), "%s", v->log);
    cr_assert_eq(ops()->finish(c, "f.part", "f", SIZE, 1500000000, &err), RSL_OK, "%s", err.msg);
    check_whole(v);
    /* learnt, remembered, no resume on this connection any more */
    char key[200], val[100];
    snprintf(key, sizeof(key), RSL_SFTP_SEEK_FACT, "script.example", 2222);
    cr_assert(c_get(&k, key, val, sizeof(val)), "fact %s not cached", key);
    cr_assert(strncmp(val, "no ", 3) == 0, "%s", val);
    cr_assert_eq(ops()->caps_of(c) & RSL_CAP_RESUME, 0);
    char d[2048];
    ops()->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "cannot write at an offset"), "%s", d);
    ops()->disconnect(c);
    ssrv_free(v);

    /* a new connection to that server: no resume, the temp is not even looked at */
    v = ssrv_new();
    v->posix = 1;
    v->noseek = 1;
    ssrv_put(v, "/r/f.part", data, KEPT, 0);
    c = adopt(v, &o);
    cr_assert_eq(ops()->caps_of(c) & RSL_CAP_RESUME, 0);
    clear_log(v);
    cr_assert_eq(ops()->resume_offset(c, "f.part", SIZE, &m.s, &have, &err), RSL_OK);
    cr_assert_eq(have, 0);
    cr_assert_eq(v->loglen, 0, "no request: %s", v->log);
    ops()->disconnect(c);
    ssrv_free(v);
}

typedef struct one {
    rsl_op *op;
    int taken, done;
} one;

static rsl_op *one_next(void *ud, int wait)
{
    (void)wait;
    one *o = ud;
    if (o->taken)
        return NULL;
    o->taken = 1;
    return o->op;
}

static void one_done(void *ud, rsl_op *op)
{
    (void)op;
    ((one *)ud)->done++;
}

static rsl_op run_put(rsl_conn *c)
{
    static src m;
    src_init(&m);
    rsl_op op = {.kind = RSL_OP_PUT,
                 .path = "f",
                 .tmp = "f.part",
                 .size = SIZE,
                 .mtime = 1234,
                 .resume = 1,
                 .src = &m.s};
    one w = {.op = &op};
    rsl_feed feed = {.next = one_next, .done = one_done, .ud = &w};
    rsl_err err = {0};
    cr_assert_eq(ops()->run(c, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(w.done, 1);
    return op;
}

Test(sftp_script, run_learns_in_one_run_and_the_next_run_does_not_resume)
{
    fill();
    ssrv *v = ssrv_new();
    v->posix = 1;
    v->noseek = 1;
    ssrv_put(v, "/r/f.part", data, KEPT, 0);
    cache k = {0};
    rsl_remote_opts o = opts_with(&k);
    rsl_conn *c = adopt(v, &o);
    rsl_op op = run_put(c);
    cr_assert_eq(op.err.code, RSL_OK, "%s\n%s", op.err.msg, v->log);
    check_whole(v);
    cr_assert(strstr(v->log, "refused"), "it tried to resume: %s", v->log);
    cr_assert_eq(k.sets, 2, "remembered once (beside the posix-rename probe's answer)");
    cr_assert_eq(ops()->caps_of(c) & RSL_CAP_RESUME, 0);
    ops()->disconnect(c);
    ssrv_free(v);

    /* the next run: the engine would not ask for resume; even if it did,
     * the temp file is neither stat'ed nor read */
    v = ssrv_new();
    v->posix = 1;
    v->noseek = 1;
    ssrv_put(v, "/r/f.part", data, KEPT, 0);
    c = adopt(v, &o);
    cr_assert_eq(ops()->caps_of(c) & RSL_CAP_RESUME, 0);
    clear_log(v);
    op = run_put(c);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    check_whole(v);
    cr_assert_null(strstr(v->log, "refused"), "%s", v->log);
    cr_assert_null(strstr(v->log, "READ"), "%s", v->log);
    cr_assert(strncmp(v->log, "OPEN /r/f.part trunc write\n", 27) == 0, "%s", v->log);
    ops()->disconnect(c);
    ssrv_free(v);
}

Test(sftp_script, an_old_fact_is_tried_again)
{
    cache k = {0};
    char key[200], val[100];
    snprintf(key, sizeof(key), RSL_SFTP_SEEK_FACT, "script.example", 2222);
    snprintf(val, sizeof(val), "no %lld", (long long)time(NULL) - RSL_SFTP_FACT_MAX_AGE - 10);
    c_set(&k, key, val);
    ssrv *v = ssrv_new();
    rsl_remote_opts o = opts_with(&k);
    rsl_conn *c = adopt(v, &o);
    cr_assert(ops()->caps_of(c) & RSL_CAP_RESUME, "a fact older than 30 days is forgotten");
    ops()->disconnect(c);
    snprintf(val, sizeof(val), "no %lld", (long long)time(NULL) - 86400);
    c_set(&k, key, val);
    c = adopt(v, &o);
    cr_assert_eq(ops()->caps_of(c) & RSL_CAP_RESUME, 0, "a day-old one holds");
    ops()->disconnect(c);
    ssrv_free(v);
}

Test(sftp_script, a_connection_without_a_cache_probes)
{
    /* check has no fact cache: connect probes, and the probe file is gone */
    ssrv *v = ssrv_new();
    v->noseek = 1;
    rsl_remote_opts o = {.timeout_sec = 5};
    rsl_conn *c = adopt(v, &o);
    cr_assert_eq(ops()->caps_of(c) & RSL_CAP_RESUME, 0, "%s", v->log);
    cr_assert(strstr(v->log, "WRITE 4+4 refused"), "%s", v->log);
    for (int i = 0; i < SSRV_FILES; i++)
        cr_assert(!v->f[i].used || strcmp(v->f[i].path, "/r") == 0, "left %s", v->f[i].path);
    ops()->disconnect(c);
    ssrv_free(v);
    v = ssrv_new();
    c = adopt(v, &o);
    cr_assert(ops()->caps_of(c) & RSL_CAP_RESUME, "%s", v->log);
    cr_assert(strstr(v->log, "WRITE 4+4\n"), "%s", v->log);
    ops()->disconnect(c);
    ssrv_free(v);
    o.readonly = 1; /* verify: never a probe */
    v = ssrv_new();
    c = adopt(v, &o);
    cr_assert_null(strstr(v->log, "WRITE"), "%s", v->log);
    ops()->disconnect(c);
    ssrv_free(v);
}

/* ---- hash ---- */

static void digest_hex(const EVP_MD *md, const void *p, size_t n, char *hex)
{
    unsigned char d[64];
    unsigned dl = 0;
    cr_assert_eq(EVP_Digest(p, n, d, &dl, md, NULL), 1);
    for (unsigned i = 0; i < dl; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

Test(sftp_script, hash_by_check_file_and_md5_hash)
{
    fill();
    ssrv *v = ssrv_new();
    v->check_file = 1;
    v->cf_data = "sha256,md5";
    ssrv_put(v, "/r/h.bin", data, 100000, 0);
    rsl_remote_opts o = {.timeout_sec = 5, .readonly = 1};
    rsl_conn *c = adopt(v, &o);
    cr_assert(ops()->caps_of(c) & RSL_CAP_CHECKSUM);
    rsl_rhash h;
    rsl_err err = {0};
    char want[200];
    cr_assert_eq(ops()->hash(c, "h.bin", NULL, &h, &err), RSL_OK, "%s", err.msg);
    digest_hex(EVP_sha256(), data, 100000, want);
    cr_assert_str_eq(h.alg, "sha256");
    cr_assert_str_eq(h.hex, want);
    cr_assert(strstr(v->log, "EXT check-file-name /r/h.bin sha256,md5\n"), "%s", v->log);
    cr_assert_eq(ops()->hash(c, "h.bin", "md5", &h, &err), RSL_OK, "%s", err.msg);
    digest_hex(EVP_md5(), data, 100000, want);
    cr_assert_str_eq(h.alg, "md5");
    cr_assert_str_eq(h.hex, want);
    rsl_code rc = ops()->hash(c, "h.bin", "sha512", &h, &err);
    cr_assert_eq(rc, RSL_E_CHECKSUM_UNAVAILABLE, "not in its list: %s", rsl_code_name(rc));
    rc = ops()->hash(c, "nope", "sha256", &h, &err);
    cr_assert_eq(rc, RSL_E_REMOTE_NOT_FOUND, "%s %s", rsl_code_name(rc), err.msg);
    char d[2048];
    ops()->describe(c, d, sizeof(d));
    cr_assert(strstr(d, "check-file (sha256, md5)"), "%s", d);
    ops()->disconnect(c);
    ssrv_free(v);

    /* md5-hash only: md5 when asked for it or for anything, nothing else */
    v = ssrv_new();
    v->md5_hash = 1;
    ssrv_put(v, "/r/h.bin", data, 5000, 0);
    c = adopt(v, &o);
    cr_assert_eq(ops()->caps_of(c) & RSL_CAP_CHECKSUM, 0, "md5 is not what verify compares");
    cr_assert_eq(ops()->hash(c, "h.bin", NULL, &h, &err), RSL_OK, "%s", err.msg);
    digest_hex(EVP_md5(), data, 5000, want);
    cr_assert_str_eq(h.alg, "md5");
    cr_assert_str_eq(h.hex, want);
    rc = ops()->hash(c, "h.bin", "sha256", &h, &err);
    cr_assert_eq(rc, RSL_E_CHECKSUM_UNAVAILABLE, "%s", rsl_code_name(rc));
    cr_assert(strstr(err.msg, "md5-hash"), "names what it offers: %s", err.msg);
    ops()->disconnect(c);
    ssrv_free(v);
}

/* ---- an extension listed but refused ---- */

Test(sftp_script, posix_rename_listed_but_refused_is_not_used)
{
    ssrv *v = ssrv_new();
    v->posix = 1;
    v->posix_refused = RSL_FX_PERMISSION_DENIED;
    ssrv_put(v, "/r/doc", "old", 3, 0);
    rsl_remote_opts o = {.timeout_sec = 5, .readonly = 1};
    rsl_conn *c = adopt(v, &o);
    cr_assert_eq(ops()->caps_of(c) & RSL_CAP_ATOMIC_RENAME, 0, "%s", v->log);
    cr_assert(strstr(v->log, "POSIX-RENAME /r/.rsl-no-such-file"), "probed: %s", v->log);
    src m;
    src_init(&m);
    fill();
    rsl_err err = {0};
    cr_assert_eq(ops()->upload(c, "doc.part", 0, 7, &m.s, &err), RSL_OK, "%s", err.msg);
    clear_log(v);
    cr_assert_eq(ops()->finish(c, "doc.part", "doc", 7, -1, &err), RSL_OK, "%s", err.msg);
    cr_assert_null(strstr(v->log, "POSIX-RENAME"), "%s", v->log);
    cr_assert(strstr(v->log, "RENAME /r/doc /r/doc.rsl-old\nRENAME /r/doc.part /r/doc\n"), "%s",
              v->log);
    sfile *f = ssrv_find(v, "/r/doc");
    cr_assert(f && f->len == 7 && memcmp(f->data, data, 7) == 0);
    cr_assert_null(ssrv_find(v, "/r/doc.rsl-old"), "the old file is gone");
    ops()->disconnect(c);
    ssrv_free(v);
}

/* The probe's answer is a fact: the next connection with the same cache
 * sends no probe and uses (or leaves) the extension as the first learnt. */
Test(sftp_script, the_posix_rename_answer_is_remembered)
{
    for (int refused = 0; refused <= 1; refused++) {
        ssrv *v = ssrv_new();
        v->posix = 1;
        v->posix_refused = refused ? RSL_FX_PERMISSION_DENIED : 0;
        cache k = {0};
        rsl_remote_opts o = opts_with(&k);
        rsl_conn *c = adopt(v, &o);
        cr_assert(strstr(v->log, "POSIX-RENAME /r/.rsl-no-such-file"), "probed: %s", v->log);
        cr_assert_eq(k.n, 1, "one fact learnt");
        cr_assert_str_eq(k.key[0], "sftp:u@script.example:2222:posix-rename");
        cr_assert(strncmp(k.val[0], refused ? "no " : "yes ", refused ? 3 : 4) == 0, "%s",
                  k.val[0]);
        ops()->disconnect(c);
        clear_log(v);
        c = adopt(v, &o);
        cr_assert_null(strstr(v->log, "POSIX-RENAME"), "not probed again: %s", v->log);
        cr_assert_eq(ops()->caps_of(c) & RSL_CAP_ATOMIC_RENAME,
                     refused ? 0u : (unsigned)RSL_CAP_ATOMIC_RENAME);
        ops()->disconnect(c);
        ssrv_free(v);
    }
}

/* The cache says posix-rename works, the server (changed since) refuses it
 * as one without it: the file is still replaced, the plain way; the fact is
 * forgotten and the next connection probes again. An old fact is probed. */
Test(sftp_script, a_remembered_posix_rename_contradicted_is_forgotten)
{
    ssrv *v = ssrv_new();
    v->posix = 1;
    v->posix_refused = RSL_FX_OP_UNSUPPORTED;
    fill();
    cache k = {.n = 1, .key = {"sftp:u@script.example:2222:posix-rename"}};
    snprintf(k.val[0], sizeof(k.val[0]), "yes %lld", (long long)time(NULL) - 60);
    rsl_remote_opts o = opts_with(&k);
    rsl_conn *c = adopt(v, &o);
    cr_assert_null(strstr(v->log, "POSIX-RENAME"), "a fresh fact: no probe: %s", v->log);
    rsl_op op = run_put(c);
    cr_assert_eq(op.err.code, RSL_OK, "%s", op.err.msg);
    cr_assert(strstr(v->log, "POSIX-RENAME /r/f.part /r/f\n"), "%s", v->log);
    cr_assert(strstr(v->log, "RENAME /r/f.part /r/f\n"), "then the plain way: %s", v->log);
    sfile *f = ssrv_find(v, "/r/f");
    cr_assert(f && f->len == SIZE && memcmp(f->data, data, SIZE) == 0);
    cr_assert(strncmp(k.val[0], "unknown ", 8) == 0, "forgotten: %s", k.val[0]);
    ops()->disconnect(c);
    clear_log(v);
    c = adopt(v, &o);
    cr_assert(strstr(v->log, "POSIX-RENAME /r/.rsl-no-such-file"), "probed again: %s", v->log);
    cr_assert(strncmp(k.val[0], "no ", 3) == 0, "%s", k.val[0]);
    ops()->disconnect(c);
    /* a "yes" older than the facts' age limit is probed too */
    v->posix_refused = 0;
    snprintf(k.val[0], sizeof(k.val[0]), "yes %lld",
             (long long)time(NULL) - RSL_SFTP_FACT_MAX_AGE - 10);
    clear_log(v);
    c = adopt(v, &o);
    cr_assert(strstr(v->log, "POSIX-RENAME /r/.rsl-no-such-file"), "old: probed: %s", v->log);
    ops()->disconnect(c);
    ssrv_free(v);
}

/* ---- the caller's early stats ---- */

typedef struct many {
    rsl_op *ops;
    size_t n, taken, done;
} many;

static rsl_op *many_next(void *ud, int wait)
{
    (void)wait;
    many *m = ud;
    return m->taken < m->n ? &m->ops[m->taken++] : NULL;
}

static void many_done(void *ud, rsl_op *op)
{
    (void)op;
    ((many *)ud)->done++;
}

static size_t four_early(void *ud, const char *const **paths)
{
    (void)ud;
    static const char *const early[] = {"", "a", "gone", "d"};
    *paths = early;
    return 4;
}

/* The remote check's paths given at connect (opts.early_stat) are stat'ed
 * with the first look; the run's STAT ops of those paths then complete
 * with those answers and nothing more goes on the wire; another path, or
 * the same one asked twice, is sent as usual. */
Test(sftp_script, early_stats_go_with_the_first_look)
{
    ssrv *v = ssrv_new();
    ssrv_put(v, "/r/a", "alpha", 5, 0);
    ssrv_put(v, "/r/d", "", 0, 1);
    rsl_remote_opts o = {.timeout_sec = 5, .early_stat = four_early};
    rsl_conn *c = adopt(v, &o);
    cr_assert(strstr(v->log, "STAT /r\n"), "%s", v->log);
    cr_assert(strstr(v->log, "LSTAT /r/a\n") && strstr(v->log, "LSTAT /r/gone\n") &&
                  strstr(v->log, "LSTAT /r/d\n"),
              "with the first look: %s", v->log);
    clear_log(v);
    rsl_op st[6];
    const char *paths[] = {"", "a", "gone", "d", "a", "other"};
    for (int i = 0; i < 6; i++)
        st[i] = (rsl_op){.kind = RSL_OP_STAT, .path = paths[i], .mtime = -1};
    many m = {.ops = st, .n = 6};
    rsl_feed feed = {.next = many_next, .done = many_done, .ud = &m};
    rsl_err err = {0};
    cr_assert_eq(ops()->run(c, &feed, &err), RSL_OK, "%s", err.msg);
    cr_assert_eq(m.done, 6);
    cr_assert(st[0].st.exists && st[0].st.is_dir, "the root");
    cr_assert(st[1].st.exists && !st[1].st.is_dir && st[1].st.size == 5);
    cr_assert_eq(st[2].err.code, RSL_OK, "%s", st[2].err.msg);
    cr_assert(!st[2].st.exists, "absent: exists = 0");
    cr_assert(st[3].st.exists && st[3].st.is_dir);
    cr_assert(st[4].st.exists && st[4].st.size == 5);
    cr_assert_str_eq(v->log, "LSTAT /r/a\nLSTAT /r/other\n",
                     "only the second 'a' and the other path went out");
    ops()->disconnect(c);
    ssrv_free(v);
}
