/* Tests for transports/file through the ops table (the reference transport). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "transports/transport.h"

typedef struct mem {
    const char *data;
    size_t len, pos;
    size_t pulled;
} mem;

static ssize_t mread(rsl_source *s, void *buf, size_t n, rsl_err *err)
{
    (void)err;
    mem *m = s->ud;
    if (m->pos >= m->len)
        return 0;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    m->pulled += n;
    return (ssize_t)n;
}

static ssize_t mpread(rsl_source *s, void *buf, size_t n, uint64_t off, rsl_err *err)
{
    (void)err;
    mem *m = s->ud;
    if (off >= m->len)
        return 0;
    if (n > m->len - off)
        n = m->len - (size_t)off;
    memcpy(buf, m->data + off, n);
    return (ssize_t)n;
}

static const rsl_transport_ops *ops(void)
{
    const rsl_transport_ops *o = rsl_transport_find("file");
    cr_assert_not_null(o);
    return o;
}

static rsl_conn *conn_to(const char *dir)
{
    char url[4096];
    snprintf(url, sizeof(url), "file://%s", dir);
    rsl_endpoint ep;
    rsl_err e;
    cr_assert_eq(rsl_endpoint_parse(&ep, url, &e), RSL_OK, "%s", e.msg);
    rsl_remote_opts o = {0};
    rsl_conn *c = NULL;
    cr_assert_eq(ops()->connect(&c, &ep, &o, &e), RSL_OK, "%s", e.msg);
    rsl_endpoint_free(&ep);
    return c;
}

Test(transport_file, endpoint_parsing)
{
    rsl_endpoint ep;
    rsl_err e;
    cr_assert_eq(rsl_endpoint_parse(&ep, "file:///a/b%20c/", &e), RSL_OK);
    cr_assert_str_eq(ep.path, "/a/b c");
    rsl_endpoint_free(&ep);
    cr_assert_eq(rsl_endpoint_parse(&ep, "/plain/path", &e), RSL_OK);
    cr_assert_str_eq(ep.scheme, "file");
    rsl_endpoint_free(&ep);
    cr_assert_eq(rsl_endpoint_parse(&ep, "file://otherhost/x", &e), RSL_E_CONFIG_BAD_VALUE);
    cr_assert_eq(rsl_endpoint_parse(&ep, "nope://h/x", &e), RSL_E_SCHEME_UNSUPPORTED);
    cr_assert_eq(rsl_endpoint_parse(&ep, "file:///bad%zz", &e), RSL_E_CONFIG_BAD_VALUE);
}

Test(transport_file, root_missing_is_session_error)
{
    rsl_endpoint ep;
    rsl_err e;
    rsl_endpoint_parse(&ep, "file:///nonexistent/rsl-root", &e);
    rsl_remote_opts o = {0};
    rsl_conn *c = NULL;
    cr_assert_eq(ops()->connect(&c, &ep, &o, &e), RSL_E_REMOTE_ROOT_MISSING);
    cr_assert(strstr(e.msg, "/nonexistent/rsl-root") != NULL);
    rsl_endpoint_free(&ep);
}

Test(transport_file, upload_resume_finish_list_remove)
{
    char *d = rslt_tmpdir("tfile");
    rsl_conn *c = conn_to(d);
    rsl_err e;
    cr_assert_eq(ops()->mkdir(c, "sub", &e), RSL_OK);
    cr_assert_eq(ops()->mkdir(c, "sub", &e), RSL_OK); /* exists: fine */
    const char *data = "0123456789abcdefghij";
    mem m = {.data = data, .len = 20};
    rsl_source src = {.read = mread, .pread = mpread, .ud = &m};
    uint64_t have = 99;
    cr_assert_eq(ops()->resume_offset(c, "sub/f.part", 20, &src, &have, &e), RSL_OK);
    cr_assert_eq(have, 0);
    /* a first attempt that stops after 8 bytes */
    mem m8 = {.data = data, .len = 8};
    rsl_source s8 = {.read = mread, .pread = mpread, .ud = &m8};
    cr_assert_eq(ops()->upload(c, "sub/f.part", 0, 8, &s8, &e), RSL_OK);
    cr_assert_eq(ops()->resume_offset(c, "sub/f.part", 20, &src, &have, &e), RSL_OK);
    cr_assert_eq(have, 8);
    m.pos = 8;
    cr_assert_eq(ops()->upload(c, "sub/f.part", 8, 20, &src, &e), RSL_OK);
    cr_assert_eq(m.pulled, 12, "resume must send only the rest");
    cr_assert_eq(ops()->finish(c, "sub/f.part", "sub/f", 21, 1000, &e), RSL_E_REMOTE_SIZE_MISMATCH);
    cr_assert_eq(ops()->finish(c, "sub/f.part", "sub/f", 20, 1000000000, &e), RSL_OK, "%s", e.msg);
    char p[4096];
    snprintf(p, sizeof(p), "%s/sub/f", d);
    char *got = rslt_read(p, NULL);
    cr_assert_str_eq(got, data);
    free(got);
    struct stat sb;
    stat(p, &sb);
    cr_assert_eq(sb.st_mtime, 1000000000);
    rsl_rstat st;
    cr_assert_eq(ops()->stat(c, "sub/f", &st, &e), RSL_OK);
    cr_assert(st.exists && !st.is_dir && st.size == 20);
    cr_assert_eq(ops()->stat(c, "sub/none", &st, &e), RSL_OK);
    cr_assert_not(st.exists);
    /* a temp file longer than the file is not resumable */
    cr_assert_eq(ops()->upload(c, "t.part", 0, 20, &src, &e), RSL_OK);
    cr_assert_eq(ops()->resume_offset(c, "t.part", 10, &src, &have, &e), RSL_OK);
    cr_assert_eq(have, 0);
    /* mkdir over a file is a type conflict; remove of absent is fine */
    cr_assert_eq(ops()->mkdir(c, "sub/f", &e), RSL_E_REMOTE_TYPE_CONFLICT);
    cr_assert_eq(ops()->remove(c, "absent", 0, &e), RSL_OK);
    cr_assert_eq(ops()->remove(c, "sub", 1, &e), RSL_E_REMOTE_DELETE_FAILED); /* not empty */
    cr_assert_eq(ops()->remove(c, "sub/f", 0, &e), RSL_OK);
    cr_assert_eq(ops()->remove(c, "sub", 1, &e), RSL_OK);
    ops()->disconnect(c);
    rslt_rmrf(d);
    free(d);
}

static int collect(void *ud, const void *buf, size_t n)
{
    mem *m = ud; /* data is a buffer of len bytes here; pos counts */
    if (m->pos + n > m->len)
        return 1;
    memcpy((char *)m->data + m->pos, buf, n);
    m->pos += n;
    return 0;
}

static int stop_at_once(void *ud, const void *buf, size_t n)
{
    (void)buf;
    *(size_t *)ud += n;
    return 1;
}

Test(transport_file, read_and_hash_for_verify)
{
    char *d = rslt_tmpdir("tfread");
    char p[4096], out[4096];
    snprintf(p, sizeof(p), "%s/sub/f.txt", d);
    rslt_write(p, "hello, verify\n");
    snprintf(p, sizeof(p), "%s/big.bin", d);
    rslt_write_random(p, 3u << 20, 5);
    rsl_conn *c = conn_to(d);
    const rsl_transport_ops *o = ops();
    cr_assert_not_null(o->read);
    cr_assert_not_null(o->hash);
    rsl_err e;
    char buf[64] = {0};
    mem m = {.data = buf, .len = sizeof(buf)};
    cr_assert_eq(o->read(c, "sub/f.txt", collect, &m, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(m.pos, 14);
    cr_assert_str_eq(buf, "hello, verify\n");
    /* a callback that has enough stops the read */
    size_t got = 0;
    cr_assert_eq(o->read(c, "big.bin", stop_at_once, &got, &e), RSL_OK, "%s", e.msg);
    cr_assert(got > 0 && got < (3u << 20), "%zu", got);
    /* sha256 by default, the others on request; the digest is the file's */
    rsl_rhash h;
    cr_assert_eq(o->hash(c, "big.bin", NULL, &h, &e), RSL_OK, "%s", e.msg);
    cr_assert_str_eq(h.alg, "sha256");
    char *sum = NULL;
    cr_assert_eq(rslt_sh(&sum, NULL, "sha256sum '%s' | cut -c1-64", p), 0);
    cr_assert(strncmp(sum, h.hex, 64) == 0 && strlen(h.hex) == 64, "%s vs %s", sum, h.hex);
    free(sum);
    cr_assert_eq(o->hash(c, "big.bin", "md5", &h, &e), RSL_OK, "%s", e.msg);
    cr_assert_eq(rslt_sh(&sum, NULL, "md5sum '%s' | cut -c1-32", p), 0);
    cr_assert(strncmp(sum, h.hex, 32) == 0 && strlen(h.hex) == 32, "%s vs %s", sum, h.hex);
    free(sum);
    cr_assert_eq(o->hash(c, "big.bin", "crc32c", &h, &e), RSL_E_CHECKSUM_UNAVAILABLE);
    /* absent, a directory, a FIFO (no hang), symlinks (never followed) */
    cr_assert_eq(o->read(c, "nope", collect, &m, &e), RSL_E_REMOTE_NOT_FOUND, "%d", e.code);
    cr_assert_eq(o->hash(c, "nope", NULL, &h, &e), RSL_E_REMOTE_NOT_FOUND, "%d", e.code);
    cr_assert_eq(o->read(c, "sub", collect, &m, &e), RSL_E_REMOTE_TYPE_CONFLICT, "%d", e.code);
    snprintf(p, sizeof(p), "%s/fifo", d);
    cr_assert(mkfifo(p, 0644) == 0);
    cr_assert_eq(o->read(c, "fifo", collect, &m, &e), RSL_E_REMOTE_TYPE_CONFLICT, "%d", e.code);
    char *outside = rslt_tmpdir("tfout");
    snprintf(p, sizeof(p), "%s/secret", outside);
    rslt_write(p, "outside the root");
    snprintf(out, sizeof(out), "%s/link", d);
    cr_assert(symlink(p, out) == 0);
    cr_assert_eq(o->read(c, "link", collect, &m, &e), RSL_E_REMOTE_TYPE_CONFLICT, "%d %s", e.code,
                 e.msg);
    snprintf(out, sizeof(out), "%s/dirlink", d);
    cr_assert(symlink(outside, out) == 0);
    m.pos = 0;
    rsl_code rc = o->read(c, "dirlink/secret", collect, &m, &e);
    cr_assert_neq(rc, RSL_OK, "read through a symlinked directory: %.*s", (int)m.pos, buf);
    cr_assert_eq(m.pos, 0);
    ops()->disconnect(c);
    rslt_rmrf(outside);
    free(outside);
    rslt_rmrf(d);
    free(d);
}
