/*
 * put_test.h - a feed and in-memory sources for driving rsl_sftp_put_run
 * like the engine does: ops become ready when the op they depend on (a
 * parent MKDIR) is done; sources count the bytes pulled, can run a hook
 * once a given byte is reached (to inject a fault mid-upload), and can
 * fail their final verify.
 * Owns: what each helper returns (the caller frees).
 */
#ifndef RSL_TEST_PUT_H
#define RSL_TEST_PUT_H

#include "client_test.h"
#include "transports/sftp_put.h"

typedef struct msrc {
    rsl_source s;
    const unsigned char *data;
    uint64_t size, pos, pulled, start_at;
    int started, verified, fail_verify;
    uint64_t hook_at;
    void (*hook)(void *arg);
    void *hook_arg;
    int hooked;
} msrc;

static inline ssize_t msrc_read(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    if (m->hook && !m->hooked && m->pos >= m->hook_at) {
        m->hooked = 1;
        m->hook(m->hook_arg);
    }
    uint64_t left = m->size - m->pos;
    if (n > left)
        n = (size_t)left;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    m->pulled += n;
    return (ssize_t)n;
}

static inline ssize_t msrc_pread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    if (off >= m->size)
        return 0;
    if (n > m->size - off)
        n = (size_t)(m->size - off);
    memcpy(buf, m->data + off, n);
    return (ssize_t)n;
}

static inline rsl_code msrc_start(rsl_source *s, uint64_t off, rsl_err *err)
{
    (void)err;
    msrc *m = s->ud;
    m->started++;
    m->start_at = off;
    m->pos = off;
    m->pulled = 0;
    return RSL_OK;
}

static inline rsl_code msrc_verify(rsl_source *s, rsl_err *err)
{
    msrc *m = s->ud;
    m->verified++;
    if (m->fail_verify)
        return rsl_err_set(err, RSL_E_LOCAL_CHANGED, 0, "test: changed while being uploaded");
    return RSL_OK;
}

static inline void msrc_init(msrc *m, const void *data, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    m->data = data;
    m->size = size;
    m->s.read = msrc_read;
    m->s.pread = msrc_pread;
    m->s.start = msrc_start;
    m->s.verify = msrc_verify;
    m->s.ud = m;
}

static inline unsigned char *random_bytes(uint64_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    cr_assert(p != NULL);
    uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)(x >> 24);
    }
    return p;
}

/* The feed: ops in order; dep[i] >= 0 names the op that must be done
 * before op i is handed out. */
typedef struct tfeed {
    rsl_op *ops;
    int *dep;
    int n, taken_n, done_n;
    int *taken, *done;
    int order[4096];
    int cancel_after; /* > 0: cancelled() says 1 once this many are done */
    void (*on_done)(struct tfeed *f, rsl_op *op);
    void *ud;
} tfeed;

static inline int tfeed_index(tfeed *f, rsl_op *op)
{
    return (int)(op - f->ops);
}

static inline rsl_op *tfeed_next(void *ud, int wait)
{
    (void)wait;
    tfeed *f = ud;
    for (int i = 0; i < f->n; i++) {
        if (f->taken[i])
            continue;
        if (f->dep != NULL && f->dep[i] >= 0 && !f->done[f->dep[i]])
            continue;
        f->taken[i] = 1;
        f->taken_n++;
        return &f->ops[i];
    }
    return NULL;
}

static inline void tfeed_done(void *ud, rsl_op *op)
{
    tfeed *f = ud;
    int i = tfeed_index(f, op);
    cr_assert(i >= 0 && i < f->n);
    cr_assert(f->taken[i], "op %d done without being taken", i);
    cr_assert_not(f->done[i], "op %d done twice", i);
    f->done[i] = 1;
    if (f->done_n < 4096)
        f->order[f->done_n] = i;
    f->done_n++;
    if (f->on_done)
        f->on_done(f, op);
}

static inline int tfeed_cancelled(void *ud)
{
    tfeed *f = ud;
    return f->cancel_after > 0 && f->done_n >= f->cancel_after;
}

static inline void tfeed_init(tfeed *f, rsl_op *ops, int n)
{
    memset(f, 0, sizeof(*f));
    f->ops = ops;
    f->n = n;
    f->taken = calloc((size_t)n, sizeof(int));
    f->done = calloc((size_t)n, sizeof(int));
    f->dep = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++)
        f->dep[i] = -1;
}

static inline void tfeed_free(tfeed *f)
{
    free(f->taken);
    free(f->done);
    free(f->dep);
}

static inline rsl_feed tfeed_feed(tfeed *f)
{
    rsl_feed x = {.next = tfeed_next, .done = tfeed_done, .cancelled = tfeed_cancelled, .ud = f};
    return x;
}

/* A PUT op for rel (temp name rel.rsl-part, owned strings leak to the
 * test's end: tests free them with put_op_free). */
static inline void put_op(rsl_op *op, msrc *m, const char *rel, const void *data, uint64_t n,
                          int64_t mtime, uint32_t mode)
{
    memset(op, 0, sizeof(*op));
    msrc_init(m, data, n);
    op->kind = RSL_OP_PUT;
    op->path = strdup(rel);
    char *tmp = NULL;
    cr_assert(asprintf(&tmp, "%s.rsl-part", rel) > 0);
    op->tmp = tmp;
    op->size = n;
    op->mtime = mtime;
    op->mode = mode;
    op->src = &m->s;
}

static inline void op_free(rsl_op *op)
{
    free((char *)op->path);
    free((char *)op->tmp);
}

/* 1 if the file at path has exactly these bytes. */
static inline int same_content(const char *path, const void *data, uint64_t n)
{
    size_t len = 0;
    char *got = rslt_read(path, &len);
    int ok = got != NULL && len == n && (n == 0 || memcmp(got, data, n) == 0);
    free(got);
    return ok;
}

/* Writes data as the remote user's file root/rel (for resume tests). */
static inline void remote_put_local(const char *root, const char *rel, const void *data, uint64_t n)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f, "%s", p);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    char *user = fx("SSH_USER");
    cr_assert_eq(rslt_sh(NULL, NULL, "chown %s '%s'", user, p), 0);
    free(user);
}

#endif
